"""The numba backend: the control-flow and rule catalogues again with backend="numba"
(results equal to the Python backend's to rounding), loop-heavy user code, errors for what
Numba cannot compile, and Numba's on-disk cache serving a second process.

Numba compiles slowly (about a second per derivative here), so the catalogues run on a
representative subset: every control-flow construct the backend compiles (branches, for and
while loops, break and continue, nested loops, helpers, ranges with steps) and each rule
family once on arrays with broadcasting."""
import os
import subprocess
import sys
import inspect
import re

import numpy as np
import pytest

import srcad
from srcad.testing import numerical_grad
from srcad.errors import SrcadError, UnsupportedSyntaxError
from srcad import pipeline

from tests.fixtures import control_funcs as cf
from tests.fixtures import core_funcs as core
from tests.fixtures import numba_funcs as nf
from tests.fixtures.cases import CONTROL_CASES
from tests.fixtures.rule_cases import RULE_CASES
from tests.numba_shared import grad as shared_grad
from tests.fixtures import regress_s3nb as rf
from tests.fixtures import regress_s4nb as rf_s4nb
from tests.fixtures import regress_s5nb as fx
from tests.fixtures import regress_s6nb as fx_s6nb
from tests.fixtures import regress_s13nb as fx_s13nb
from tests.fixtures import regress_s13nbmax as fx_max
from tests.numba_shared import numba_cache, numba_cache_dir  # noqa: F401 (fixtures)

numba = pytest.importorskip("numba", reason="the numba backend needs Numba (pip install numba)")

pytestmark = pytest.mark.filterwarnings("ignore::numba.NumbaPerformanceWarning")


@pytest.fixture(autouse=True, scope="module")
def _cache_dir(tmp_path_factory):
    """Generated modules and Numba's cache in a directory of the test run's own."""
    old = os.environ.get("SRCAD_CACHE_DIR")
    os.environ["SRCAD_CACHE_DIR"] = str(tmp_path_factory.mktemp("srcad_numba"))
    yield
    if old is None:
        del os.environ["SRCAD_CACHE_DIR"]
    else:
        os.environ["SRCAD_CACHE_DIR"] = old


def _close(got, ref):
    got = got if isinstance(got, tuple) else (got,)
    ref = ref if isinstance(ref, tuple) else (ref,)
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        assert np.shape(g) == np.shape(r)
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14)


CONTROL_SUBSET = {cf.branch, cf.ifexp_in_loop, cf.branch_in_loop, cf.early_return,
                  cf.bool_cond, cf.range_start_stop_step, cf.range_negative_step,
                  cf.enumerate_loop, cf.zip_loop, cf.break_continue, cf.data_break,
                  cf.nested_loops, cf.nested_break, cf.while_break_continue, cf.newton_sqrt,
                  cf.calls_helper_twice, cf.empty_loop, cf.nested_ifexp, cf.mean_over_len}
_SEEN = set()


def _first_cases():
    """One case of each function of the subset (the others would only re-run the code)."""
    out = []
    for f, args in CONTROL_CASES:
        if f in CONTROL_SUBSET and f not in _SEEN:
            _SEEN.add(f)
            out.append(pytest.param(f, args, id=f.__name__))
    return out


@pytest.mark.parametrize("f, args", _first_cases())
def test_control_flow_equals_python_backend(f, args):
    wrt = tuple(i for i, a in enumerate(args) if not isinstance(a, int))
    ref = srcad.grad(f, wrt=wrt)(*args)
    _close(srcad.grad(f, wrt=wrt, backend="numba")(*args), ref)


# each rule on a vector, each binary one broadcasting a column against a row, math.sin;
# every other one of those (the rest would only compile the same templates again)
RULE_SUBSET = [c for c in RULE_CASES if c[0].endswith(("-3", "-2x1-1x3", "math_sin"))
               and "0d" not in c[0]][::2]


@pytest.mark.parametrize("case", RULE_SUBSET, ids=lambda c: c[0])
def test_rules_equal_python_backend(case):
    _, f, args = case
    wrt = tuple(range(len(args)))
    out = f(*args)
    ct = np.linspace(0.5, 1.5, np.size(out)).reshape(np.shape(out)) if np.ndim(out) else 0.7
    ref = srcad.vjp(f, *args)[1](ct)
    _close(srcad.vjp(f, *args, backend="numba")[1](ct), ref)
    assert len(ref) == len(wrt)


X9 = np.array([0.3, -0.8, 1.1, 0.5, 0.9, -0.2, 0.4, 0.7, -1.3])


@pytest.mark.parametrize("f, args", [
    (nf.det_loops, (X9,)),
    (nf.rk4_decay, (0.7, 1.2)),
    (nf.lstm_step, (0.3, -0.4, 0.5, 0.6, 0.8, 0.1, 0.2)),
    (nf.uses_helper_and_global, (0.7, 1.3)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_loop_heavy_code_against_finite_differences(f, args):
    wrt = tuple(range(len(args)))
    got = shared_grad(f, wrt=wrt)(*args)    # (built once: the tests below call it again)
    _close(got, srcad.grad(f, wrt=wrt)(*args))
    for i, g in zip(wrt, got):
        np.testing.assert_allclose(g, numerical_grad(f, args, i), rtol=1e-5, atol=1e-7)


def test_det_gradient_is_the_cofactor_matrix():
    got, = shared_grad(nf.det_loops, wrt=(0,))(X9)     # (compiled once with the test above)
    a = X9.reshape(3, 3)
    np.testing.assert_allclose(got, (np.linalg.det(a) * np.linalg.inv(a).T).ravel(),
                               rtol=1e-12)


def test_forward_mode_jvp_and_jacobians():
    out, t = srcad.jvp(nf.rk4_decay, (0.7, 1.2), (1.0, 0.0), backend="numba")
    ref = srcad.jvp(nf.rk4_decay, (0.7, 1.2), (1.0, 0.0))
    _close((out, t), ref)
    x = np.array([0.3, -0.8, 1.1])
    _close(srcad.jacfwd(core.np_sin, backend="numba")(x), np.diag(np.cos(x)))
    _close(srcad.jacrev(core.np_sin, backend="numba")(x), np.diag(np.cos(x)))


def test_value_and_grad_derivative_and_hessian():
    v, g = srcad.value_and_grad(nf.rk4_decay, backend="numba")(0.7, 1.2)
    _close((v, g), srcad.value_and_grad(nf.rk4_decay)(0.7, 1.2))
    df = srcad.derivative(nf.rk4_decay, wrt=(0, 1), backend="numba")
    _close(df(0.7, 1.2), srcad.grad(nf.rk4_decay, wrt=(0, 1))(0.7, 1.2))
    _close(srcad.hessian(cf.math_loop, backend="numba")(0.8), srcad.hessian(cf.math_loop)(0.8))


def test_rebinding_a_global_compiles_again(monkeypatch):
    """Numba compiles the global's value in: a call after it changes must see the new one."""
    g = shared_grad(nf.uses_helper_and_global, wrt=(0, 1))   # (compiled by a test above)
    before = g(0.7, 1.3)
    monkeypatch.setattr(nf, "SCALE", 3.0)
    after = g(0.7, 1.3)
    for a, b, r in zip(after, before, srcad.grad(nf.uses_helper_and_global, wrt=(0, 1))(0.7, 1.3)):
        np.testing.assert_allclose(a, b * 1.5, rtol=1e-12)
        np.testing.assert_allclose(a, r, rtol=1e-12)


def test_source_shows_the_compiled_code():
    text = srcad.source(nf.rk4_decay, wrt=(0, 1), backend="numba")
    assert "numba.njit(cache=True)" in text
    assert "reversed(" not in text            # replays count down a range
    assert "reversed(" in srcad.source(nf.rk4_decay, wrt=(0, 1))


def test_cli_dump_backend_numba(capsys):
    from srcad import cli
    path = nf.__file__
    assert cli.main(["dump", f"{path}:rk4_decay", "--backend", "numba"]) in (0, None)
    assert "numba.njit(cache=True)" in capsys.readouterr().out


def test_what_numba_cannot_compile_is_refused_at_the_users_line():
    with pytest.raises(UnsupportedSyntaxError, match=r"numba_funcs\.py:\d+: backend=\"numba\" "
                                                     r"cannot compile uncumsum"):
        srcad.grad(nf.not_numba, backend="numba")(np.array([0.3, 0.5, 0.9]))
    # (np.mean along an axis with keepdims, refused here before, compiles: reduce_along)
    x = np.arange(1.0, 7.0).reshape(2, 3)
    _close(srcad.grad(nf.mean_axis, backend="numba")(x), srcad.grad(nf.mean_axis)(x))
    with pytest.raises(SrcadError, match=r"regress_s13nbmax\.py:\d+: backend=\"numba\" "
                                         r"cannot compile") as e:
        srcad.grad(fx_max.max_two_axes, backend="numba")(x)
    assert "0x" not in str(e.value)


def test_numba_typing_error_names_the_users_line():
    """What Numba itself cannot type (a list of arrays' adjoint) comes back as a SrcadError
    at the user's line, not an error in generated code."""
    f = cf.loop_over_list_of_arrays
    args = next(a for g, a in CONTROL_CASES if g is f)
    with pytest.raises(SrcadError, match=r"control_funcs\.py:\d+: backend=\"numba\" cannot "
                                         r"compile `") as e:
        srcad.grad(f, wrt=(0, 1), backend="numba")(*args)
    assert "0x" not in str(e.value) and "srcad_numba_" not in str(e.value)


def test_unknown_backend_and_missing_numba(monkeypatch):
    with pytest.raises(SrcadError, match=r"unknown backend 'jax': use 'python' or 'numba'"):
        srcad.grad(nf.rk4_decay, backend="jax")
    monkeypatch.setitem(sys.modules, "numba", None)         # import numba raises ImportError
    with pytest.raises(SrcadError, match=r'backend="numba" needs Numba, which is not '
                                         r'installed: pip install "srcad\[numba\]"'):
        srcad.grad(nf.rk4_decay, backend="numba")


_SECOND = """
import sys, time
sys.path.insert(0, {root!r})
import srcad
from tests.fixtures import numba_funcs as nf
g = srcad.grad(nf.rk4_decay, wrt=(0, 1), backend="numba")
print(repr(g(0.7, 1.2)))
d = srcad.pipeline.get(nf.rk4_decay, "reverse", (0, 1), ("float", "float"), False,
                       backend="numba")
disp = d.func.__srcad_numba__["disp"]
print(sum(disp.stats.cache_hits.values()), sum(disp.stats.cache_misses.values()))
"""


def test_second_process_reads_numbas_disk_cache(tmp_path):
    """Two processes: the first compiles and writes Numba's cache, the second loads it."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, SRCAD_CACHE_DIR=str(tmp_path), PYTHONPATH=root)
    runs = [subprocess.run([sys.executable, "-c", _SECOND.format(root=root)], env=env,
                           capture_output=True, text=True, timeout=300) for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    (v1, s1), (v2, s2) = [r.stdout.split("\n")[:2] for r in runs]
    assert v1 == v2
    assert s1.split() == ["0", "1"]           # compiled
    assert s2.split() == ["1", "0"]           # read from the disk cache


@pytest.mark.parametrize("gshape, like", [
    ((2, 3), (3,)), ((2, 3), (1, 3)), ((2, 3), (2, 1)), ((2, 3), (1,)), ((4, 2, 3), (2, 1)),
    ((2, 3), None)], ids=str)
def test_numba_unbroadcast_sums_like_the_runtime(gshape, like):
    """The Numba version of unbroadcast (specialised by the arguments' dimensions) sums
    over the same axes as srcad.runtime's."""
    from srcad import runtime
    from srcad.backends import numba_runtime  # noqa: F401  (registers the Numba versions)

    @numba.njit
    def compiled(g, x):
        return runtime.unbroadcast(g, x)
    g = np.arange(float(np.prod(gshape))).reshape(gshape)
    x = 1.5 if like is None else np.ones(like)
    np.testing.assert_array_equal(compiled(g, x), runtime.unbroadcast(g, x))


def test_slices_and_entries_of_an_array():
    """x[a:b] and x[k] of an array: the Numba version of unindex."""
    w, x = np.array([0.3, -0.8, 1.1, 0.5]), np.array([0.9, 0.4, -0.6, 1.2])
    _close(srcad.grad(nf.sliced_gates, wrt=(0, 1), backend="numba")(w, x),
           srcad.grad(nf.sliced_gates, wrt=(0, 1))(w, x))


# regressions: stacks, recursion, the elementwise pass, function values (backends/numba.py)
@pytest.mark.parametrize("f, args", [
    (rf.branchy_range, (0.7, 40)),
    (rf.range_break, (0.9, 50)),
    (rf.long_while, (0.4, 300)),         # past the first buffer's 8 items: grown
    (rf.nested_ranges, (0.3, 12)),       # the inner loop reserves again each time
    (rf.int_then_float, (0.6, 20)),
    (rf.integer_factors, (0.5, 30)),
    (rf.array_steps, (np.linspace(0.1, 0.9, 5), 15)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_stacks_give_the_python_backends_gradient(f, args):
    ref = srcad.grad(f)(*args)
    np.testing.assert_allclose(ref, numerical_grad(f, args, 0), rtol=1e-6, atol=1e-8)
    got = srcad.grad(f, backend="numba")(*args)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14)


def test_range_loop_stacks_are_reserved_arrays():
    text = srcad.source(rf.branchy_range, backend="numba")
    assert "_stack = []" not in text          # no list left for the saved numbers
    assert "trip_count(" in text and "stack_push(" in text and "stack_pop(" in text
    # a push where the buffer has room stores in place, assigning no name (an array
    # assigned per iteration cost Numba's reference counting: scalar_loop 50 us -> 31 us)
    assert "if stack_room(" in text and "stack_put(" in text


@pytest.mark.parametrize("value", [0.25, 3, np.array([1.5, -2.0])], ids=repr)
def test_push_in_place_where_there_is_room(value):
    """stack_room/stack_put: pushes past the first buffer (grown by stack_push) and in place,
    popped back in order, for numbers and arrays (a list)."""
    from srcad.backends.numba_runtime import stack_pop, stack_push, stack_put, stack_room

    @numba.njit
    def run(v, n, cap):
        buf = None
        top = 0
        for i in range(n):
            w = v * (i + 1)
            if stack_room(buf, top, w):
                stack_put(buf, top, w)
            else:
                buf = stack_push(buf, top, w, cap)
            top += 1
        out = []
        w = v * 0
        for i in range(n):
            top -= 1
            w = stack_pop(buf, top, w)
            out.append(w)
        return out
    for cap in (0, 30):
        got = run(value, 30, cap)
        for i, g in enumerate(got):
            np.testing.assert_array_equal(g, value * (30 - i))


def _roundtrip(value):
    """`value` pushed on a stack and popped back, in a Numba-compiled function."""
    from srcad.backends.numba_runtime import stack_pop, stack_push

    @numba.njit
    def run(v):
        buf = None
        top = 0
        for i in range(20):              # past the first allocation: grown once
            buf = stack_push(buf, top, v, 0)
            top += 1
        out = v
        for i in range(20):
            top -= 1
            out = stack_pop(buf, top, out)
        return out
    return run(value)


@pytest.mark.parametrize("value", [
    2.0 ** 62 + 1.0, -0.0, np.inf, 1e-310, np.float32(1.1), 2 ** 62 + 1, -7, True, False,
    np.int32(-5),
], ids=repr)
def test_stack_keeps_every_bit_and_kind(value):
    got = _roundtrip(value)            # Numba returns numbers as Python's bool, int, float
    kind = bool if isinstance(value, (bool, np.bool_)) else \
        int if isinstance(value, (int, np.integer)) else float
    assert type(got) is kind
    assert got == value and np.signbit(got) == np.signbit(value)


def test_nan_survives_a_stack():
    assert np.isnan(_roundtrip(np.nan))


def test_a_changed_runtime_compiles_anew(monkeypatch):
    """Numba's disk cache does not see the runtime's Numba versions change: the runtime's
    hash is part of the module's name (the cache key), so a changed runtime compiles anew."""
    from srcad.backends import numba as backend
    text = srcad.source(rf.branchy_range, backend="numba")
    before = backend.module_name(text, {"np": np})
    assert backend.module_name(text, {"np": np}) == before
    monkeypatch.setattr(backend, "_RUNTIME_HASH", "another runtime")
    assert backend.module_name(text, {"np": np}) != before


def test_recursive_reverse_mode_is_refused_at_the_recursive_call():
    """A recursive helper's forward half kept its recursive calls' residuals (a type of
    unbounded depth): Numba never finished typing det's. A helper calling only itself now
    recomputes instead (test_self_recursive_scalar_helper_compiles); helpers calling each
    other are refused at the user's call."""
    import inspect
    from tests.fixtures import regress_s4nb as mutual
    with pytest.raises(srcad.UnsupportedSyntaxError) as e:
        srcad.grad(mutual.pinged, backend="numba")(0.5, 3)
    lines, first = inspect.getsourcelines(mutual.pinged)
    call = first + next(i for i, l in enumerate(lines) if "ping(x, n)" in l)
    assert e.value.filename == mutual.__file__ and e.value.lineno == call
    assert "recursive" in str(e.value)
    assert srcad.grad(rf.rec_top)(0.5, 3) == pytest.approx(3 * 0.25 + 1)


def test_stack_and_concatenate_and_their_adjoints():
    """np.stack (stack_arrays), the adjoints of stack and concatenate (unstack,
    unconcatenate) and add_items, compiled: the Python backend's gradient."""
    x, y = np.linspace(0.2, 1.0, 4), np.linspace(-0.5, 0.7, 4)
    ref = srcad.grad(rf.stack_and_concat, wrt=(0, 1))(x, y)
    np.testing.assert_allclose(ref[0], numerical_grad(rf.stack_and_concat, (x, y), 0),
                               rtol=1e-6)
    got = srcad.grad(rf.stack_and_concat, wrt=(0, 1), backend="numba")(x, y)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("h, g", [(np.arange(6.0).reshape(2, 3), 1.5),
                                  (np.arange(6.0).reshape(2, 3), np.ones((1, 1))),
                                  (np.arange(6.0).reshape(2, 3), np.ones((2, 3))),
                                  (2.5, 1.0)], ids=["scalar", "keepdims", "same", "numbers"])
def test_numba_unreduce_vjp_and_list_helpers_match_the_runtime(h, g):
    from srcad import runtime
    from srcad.backends import numba_runtime   # noqa: F401  (registers the Numba versions)

    @numba.njit
    def compiled(h, g):
        return runtime.unreduce_vjp(h, g)
    np.testing.assert_array_equal(compiled(h, g), runtime.unreduce_vjp(h, g))

    @numba.njit
    def pieces(a):
        return runtime.unstack(a), numba_runtime.stack_arrays(runtime.unstack(a))
    a = np.arange(12.0).reshape(3, 4)
    rows, back = pieces(a)
    assert [list(r) for r in rows] == [list(r) for r in runtime.unstack(a)]
    np.testing.assert_array_equal(back, a)


def _line_of(func, text):
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, l in enumerate(lines) if text in l)


@pytest.mark.usefixtures("numba_cache")
@pytest.mark.parametrize("n", [3, 4])
def test_determinant_by_minors_compiles(n):
    """det by recursive minors (GradBench det): refused before (a type nested without
    bound); the gradient is det(A) inv(A)^T."""
    a = np.random.default_rng(n).normal(size=n * n)
    m = a.reshape(n, n)
    got = shared_grad(rf_s4nb.det)(a, n)
    np.testing.assert_allclose(got, (np.linalg.det(m) * np.linalg.inv(m).T).ravel(),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.usefixtures("numba_cache")
def test_self_recursive_scalar_helper_compiles():
    """A scalar helper calling itself (was refused at its recursive call)."""
    got = shared_grad(rf.rec_top)(0.5, 3)
    assert got == pytest.approx(3 * 0.25 + 1, rel=1e-12)


@pytest.mark.usefixtures("numba_cache")
def test_list_grown_by_append_then_stacked():
    """GradBench lstm's `s2.append(h)` then `np.stack(s2)`: Numba types no `[*s2, h]`
    (the lowering's new list); appended in place, the Python backend's gradient."""
    w, x = np.array([0.5, -0.3, 1.2]), np.array([0.3, -0.2, 0.9])
    ref = srcad.grad(rf_s4nb.grown)(w, x, 4)
    np.testing.assert_allclose(ref, numerical_grad(rf_s4nb.grown, (w, x, 4), 0), rtol=1e-6)
    np.testing.assert_allclose(shared_grad(rf_s4nb.grown)(w, x, 4), ref, rtol=1e-12, atol=1e-14)
    text = srcad.source(rf_s4nb.grown, backend="numba")
    assert "hs.append(" in text and "[*hs" not in text


@pytest.mark.usefixtures("numba_cache")
def test_nested_derivative_compiles():
    """GradBench particle: an inner derivative whose derivative called helpers without Numba
    versions (an array's cast_adjoint, unreshape of a list) was refused at a line of srcad's
    generated code, then at the user's line; they have Numba versions now (session 5), and
    the gradient equals the Python backend's and finite differences'."""
    x = np.array([0.3, 0.4])
    want = srcad.grad(rf_s4nb.nested_array, wrt=1)(x, 0.5)
    assert want == pytest.approx(numerical_grad(rf_s4nb.nested_array, (x, 0.5), 1), rel=1e-6)
    assert srcad.grad(rf_s4nb.nested_array, wrt=1, backend="numba")(x, 0.5) == \
        pytest.approx(want, rel=1e-12)


@pytest.mark.usefixtures("numba_cache")
def test_recursive_helper_changing_its_argument_is_refused():
    """Running such a helper again (the recomputation) would read the changed values: it
    stays refused, at the recursive call (the Python backend's gradient is right)."""
    x = np.array([0.3, 0.5, 0.7, 1.1])
    np.testing.assert_allclose(srcad.grad(rf_s4nb.doubled)(x), 2 * x * np.array([4, 4, 4, 1.0]))
    with pytest.raises(srcad.UnsupportedSyntaxError) as e:
        srcad.grad(rf_s4nb.doubled, backend="numba")(x)
    assert e.value.filename == rf_s4nb.__file__
    assert e.value.lineno == _line_of(rf_s4nb.doubling, "return doubling(a, k - 1)")
    assert "in place" in str(e.value)


RNG = np.random.default_rng(5)


def _against_python_and_fd(f, args, wrt):
    want = srcad.grad(f, wrt=wrt)(*args)
    want = want if isinstance(want, tuple) else (want,)
    got = shared_grad(f, wrt=wrt)(*args)
    got = got if isinstance(got, tuple) else (got,)
    for k, (g, w) in zip(wrt, zip(got, want)):
        np.testing.assert_allclose(w, numerical_grad(f, args, k), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


@pytest.mark.usefixtures("numba_cache")
def test_elementwise_loop_of_one_shape():
    """An ode-like loop: the pass writes `elementwise` defs (one loop over the entries in
    Numba), the gradient equals the Python backend's and finite differences'."""
    assert "@elementwise" in srcad.source(fx.rk_like, backend="numba")
    _against_python_and_fd(fx.rk_like, (RNG.uniform(0.5, 1.5, 6), 3), (0,))


@pytest.mark.usefixtures("numba_cache")
def test_elementwise_statements_that_broadcast_or_not():
    """Operands of three shapes (matrix, row, number: the statements as written) and
    matrices of one shape (the entries of C-contiguous arrays, one loop)."""
    _against_python_and_fd(fx.mixed_chain, (RNG.normal(size=(3, 4)), RNG.normal(size=4), 0.3,
                                            RNG.normal(size=(3, 4))), (0, 1, 2, 3))


@pytest.mark.usefixtures("numba_cache")
def test_split_helpers_stacks_are_buffers():
    """The stacks a split helper's forward half hands its backward half (GradBench det's
    recursive helper) are typed buffers with a top index too, not lists (no `.pop()` is left
    in the compiled source: there were 8); the gradients: test_determinant_by_minors_compiles."""
    from tests.fixtures import regress_s4nb as rf
    text = srcad.source(rf.det, backend="numba")
    assert "stack_push(" in text and "stack_pop(" in text
    assert ".pop()" not in text


@pytest.fixture(scope="module")
def ew_jit():
    from srcad.backends.numba_runtime import elementwise
    elementwise(fx.ew_statements)
    return numba.njit(fx.call_ew_statements)


@pytest.mark.usefixtures("numba_cache")
@pytest.mark.parametrize("case", ["same", "strided", "broadcast", "ints", "zero"])
def test_elementwise_runtime_equals_python(ew_jit, case):
    """An `elementwise` def compiled by Numba gives what its statements give in Python: one
    loop (same shapes, strided entries; a division by zero: NumPy's inf, not an exception),
    or the statements as written (broadcasting, integer arrays)."""
    a, b, c = RNG.normal(size=5), RNG.normal(size=5), 0.7
    if case == "strided":
        a = RNG.normal(size=10)[::2]
    elif case == "broadcast":
        a = RNG.normal(size=(3, 5))
    elif case == "ints":
        a, b = np.arange(5), np.arange(5) + 1
    elif case == "zero":
        c = 0.0
    with np.errstate(divide="ignore"):
        want = fx.ew_statements(a, b, c)
    got = ew_jit(a, b, c)
    for g, w in zip(got, want):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=1e-14)


@pytest.mark.usefixtures("numba_cache")
def test_elementwise_loop_is_used_for_float_arrays_only():
    """The fused loop exists for float64 arrays of one dimension count (else None: the
    statements as written)."""
    import ast
    import inspect
    import textwrap
    from numba import types
    from srcad.backends.numba_runtime import _loop_body
    tree = ast.parse(textwrap.dedent(inspect.getsource(fx.ew_statements))).body[0]
    body = [s for s in tree.body if isinstance(s, ast.Assign)]
    f64 = types.Array(types.float64, 1, "C")
    assert _loop_body(fx.ew_statements, body, ["t", "w"],
                      {"a": f64, "b": f64, "c": types.float64}) is not None
    assert _loop_body(fx.ew_statements, body, ["t", "w"],
                      {"a": types.Array(types.int64, 1, "C"), "b": f64,
                       "c": types.float64}) is None
    assert _loop_body(fx.ew_statements, body, ["t", "w"],
                      {"a": types.Array(types.float64, 2, "C"), "b": f64,
                       "c": types.float64}) is None


@pytest.mark.usefixtures("numba_cache")
def test_cast_helpers_and_unreshape_compile():
    """cast_adjoint, cast_tangent and unreshape (called by the derivative of a derivative)
    compiled by Numba equal the runtime's Python versions."""
    g, like_f, like_i = RNG.normal(size=4), RNG.normal(size=(2, 2)), np.arange(4)
    got = numba.njit(fx.cast_helpers)(g, like_f, like_i)
    want = fx.cast_helpers(g, like_f, like_i)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


@pytest.mark.usefixtures("numba_cache")
def test_derivative_inside_the_differentiated_function():
    """A gradient inside the differentiated function (GradBench particle's force): its
    derivative calls cast_adjoint and unreshape, refused before (no Numba versions)."""
    _against_python_and_fd(fx.inner_grad, (RNG.normal(size=3),), (0,))


@pytest.mark.usefixtures("numba_cache")
def test_derivative_inside_reading_entries():
    """A gradient inside the differentiated function of a function reading its argument's
    entries (GradBench saddle's inner gradient): its derivative calls index_added, refused
    before ("which has no Numba version": saddle's define failed with backend="numba")."""
    args = (np.array([0.6, 1.7]), np.array([1.0, 0.5]))
    _against_python_and_fd(fx_s13nb.inner_step_over_entries, args, (0, 1))


@pytest.mark.usefixtures("numba_cache")
def test_function_values_wrapped_and_handed_on_compile():
    """Two levels of function values (saddle's argmax wraps its lambdas in lambdas of its
    own for the descent): compiled at 268cf83, refused from the merge of s6py (67410d2) to
    2026-12-04: the plain copy of the wrapping lambda sits in the derivative's own text,
    rebuilding the value it wraps from a funcs.Maker the module reads as a global, which
    the loader refused; those defs now call the functions directly."""
    _check(fx_s13nb.through_two_levels, (X2, C2), (0, 1),
           shared_grad(fx_s13nb.through_two_levels, wrt=(0, 1))(X2, C2))


@pytest.mark.usefixtures("numba_cache")
def test_values_read_by_helpers_derivatives_do_not_reload(monkeypatch):
    """A value the module reads only through a helper's derivative (the Maker of the test
    above) is not a global of the user's: `stale` took it for rebound at every call, so
    every call loaded the module again (saddle: 90 ms a call, memory growing to GBs)."""
    from srcad.backends import numba as backend
    g = srcad.grad(fx_s13nb.through_two_levels, wrt=(0, 1), backend="numba")
    want = g(X2, C2)
    loads = []
    original = backend._Loader.load
    monkeypatch.setattr(backend._Loader, "load",
                        lambda self: loads.append(self.fn.name) or original(self))
    got = g(X2, C2)
    assert loads == []
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


@pytest.mark.usefixtures("numba_cache")
def test_numba_reasons_without_generated_names():
    from srcad.backends.numba import _without_generated
    assert _without_generated(
        "Cannot unify Tuple() and UniTuple(int64 x 1) for '$276call.9', defined at "
        "/tmp/c/srcad_numba_0a1b.py (247)") == "Cannot unify Tuple() and UniTuple(int64 x 1)"


X2, C2 = np.array([1.0, 2.0]), np.array([0.3, 0.2])


def _check(f, args, wrt, got):
    want = srcad.grad(f, wrt=wrt)(*args)
    want = want if isinstance(want, tuple) else (want,)
    got = got if isinstance(got, tuple) else (got,)
    for k, g, w in zip(wrt, got, want):
        np.testing.assert_allclose(w, numerical_grad(f, args, k), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


@pytest.mark.usefixtures("numba_cache")
def test_exit_branch_values_are_not_saved():
    """Assigned once, in the branch that leaves the loop: nothing before them to save (their
    pushes were of None, whose shape Numba could not type: particle's refusal)."""
    text = srcad.source(fx_s6nb.euler_exit)
    for name in ("t", "x_f"):
        assert not re.search(rf"\b{name}_stack\b", text)
    assert "x_stack.append(x)" in text           # the loop's own values still are
    _check(fx_s6nb.euler_exit, (0.4,), (0,), srcad.grad(fx_s6nb.euler_exit)(0.4))


@pytest.mark.usefixtures("numba_cache")
def test_value_of_known_shape_saves_no_shape():
    """A value the reverse sweep reads only for its shape, which is an argument's at every
    step: no stack of its shapes (one push and one pop per step before)."""
    args = (np.array([0.3, -0.2]), 0.4)
    text = pipeline.get(fx_s6nb.known_shape_loop, "reverse", (0, 1), pipeline.kinds_of(args),
                        False).text
    assert "t_stack" not in text and "unbroadcast(u_bar, t)" in text
    _check(fx_s6nb.known_shape_loop, args, (0, 1), srcad.grad(fx_s6nb.known_shape_loop, wrt=(0, 1))(*args))


@pytest.mark.usefixtures("numba_cache")
def test_particle_shape_compiles():
    _check(fx_s6nb.euler_exit, (0.4,), (0,), shared_grad(fx_s6nb.euler_exit)(0.4))


@pytest.mark.usefixtures("numba_cache")
def test_function_values_called_compile():
    """saddle's descent: the lambdas' calls are direct calls (the helper srcad specialised
    on them calls its functions, compiled too), in reverse and forward mode; refused before."""
    _check(fx_s6nb.through_values, (X2, C2), (0, 1), shared_grad(fx_s6nb.through_values, wrt=(0, 1))(X2, C2))
    t = np.array([1.0, -0.5])
    want = srcad.jvp(fx_s6nb.through_values, (X2, C2), (t, 0 * t))
    got = srcad.jvp(fx_s6nb.through_values, (X2, C2), (t, 0 * t), backend="numba")
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.usefixtures("numba_cache")
def test_function_value_handed_on_is_refused_at_the_users_line():
    with pytest.raises(srcad.SrcadError) as e:
        shared_grad(fx_s6nb.passes_value_on)(X2, 0.5)
    msg = str(e.value)
    assert "regress_s6nb.py:" in msg and "`if _below(f, x):`" in msg and \
        "function passed as a value" in msg
    assert "srcad_numba_" not in msg and "Maker" not in msg


@pytest.mark.usefixtures("numba_cache")
def test_trace_and_sum_of_a_list_compile():
    """Numba versions of undiagonal (np.trace's adjoint) and repeat_items (sum's), and
    builtin sum of a list of arrays and numbers, np.expand_dims of a number (refused or
    Numba typing errors before)."""
    m, v = np.arange(9.0).reshape(3, 3) / 7, np.array([0.2, -0.4, 0.6])
    _check(fx_s6nb.trace_and_list_sum, (m, v), (0, 1),
           shared_grad(fx_s6nb.trace_and_list_sum, wrt=(0, 1))(m, v))


_FIRST_IN_LOOP = [
    ("first_assigned_in_loop", (np.array([0.1, 0.2, 0.3]),)),
    ("first_assigned_in_loop_number", (0.4,)),
    ("first_assigned_in_loop_matrix", (np.arange(6.0).reshape(2, 3) / 5,)),
    ("first_assigned_in_loop_of_argument_length", (np.array([0.3, -0.2]), 3)),
]


@pytest.mark.usefixtures("numba_cache")
@pytest.mark.parametrize("name,args", _FIRST_IN_LOOP, ids=[c[0] for c in _FIRST_IN_LOOP])
def test_name_first_assigned_in_a_loop(name, args):
    """A name whose first value is a loop's (srcad saves the None before it; the reverse
    sweep pops it back and takes its zero): the gradient and the tangent equal the Python
    backend's and finite differences' (a runtime `TypeError: expected array(float64, 1d,
    C), got None` from the compiled gradient before)."""
    f = getattr(fx_s13nb, name)
    _against_python_and_fd(f, args, (0,))
    t = 0.7 * np.ones_like(args[0])
    tangents = (t,) + tuple(0 for _ in args[1:])
    want = srcad.jvp(f, args, tangents)
    got = srcad.jvp(f, args, tangents, backend="numba")
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(want[1], np.sum(numerical_grad(f, args, 0) * t), rtol=1e-6)


@pytest.mark.usefixtures("numba_cache")
@pytest.mark.parametrize("name", ["first_assigned_twice_in_loop",
                                  "first_assigned_in_while_loop_growing"])
def test_name_first_assigned_in_a_loop_numba_cannot_type_is_refused(name):
    """Where Numba cannot type such a name's derivative (Numba's compiler failing on the
    stack of its values; a while loop's name whose shape changes, whose adjoint's zero
    stays the number 0.0), the first call is a SrcadError at the user's file and line
    naming the user's variable (not `'y_bar.2'`), not an error from inside Numba (an
    AssertionError before) or the generated code; the Python backend's gradient stays
    right."""
    f = getattr(fx_s13nb, name)
    x = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(srcad.grad(f)(x), numerical_grad(f, (x,), 0), rtol=1e-6)
    with pytest.raises(srcad.SrcadError) as e:
        shared_grad(f)(x)
    msg = str(e.value)
    first = inspect.getsourcelines(f)[1]
    lines = range(first, first + len(inspect.getsourcelines(f)[0]))
    assert any(f"regress_s13nb.py:{n}:" in msg for n in lines), msg
    assert 'backend="numba" cannot compile' in msg and "srcad_numba_" not in msg
    assert not _generated_named(msg), msg


def test_numba_reasons_name_the_users_variables_not_generated_ones():
    """Numba's typing errors name srcad's variables (`'y_bar.2'`: y's adjoint, Numba's SSA
    version 2; y's stack; srcad's temporaries): a refusal names the user's variable, and
    the line of the user's that assigns it."""
    from srcad.backends.numba import _user_names
    lines = {10: "    y = np.sin(x)", 11: "    v = y * 2"}
    got, named = _user_names("Cannot unify float64 and array(float64, 1d, C) for 'y_bar.2'",
                             lines)
    assert got == "Cannot unify float64 and array(float64, 1d, C) for the derivative of `y`"
    assert named == "y"
    got, named = _user_names("bad 'y_stack_top.1', 'v0' and 'v_bar_1' and 'x'", lines)
    assert got == ("bad the values of `y` saved for the reverse sweep, a value srcad "
                   "computes and the derivative of `v` and `x`")
    assert named == "y"
    assert _user_names("no names", lines) == ("no names", None)


def _generated_named(msg):
    return re.search(r"_bar|_dot\b|_stack|'v[0-9]|'\$|\.[0-9]+'", msg)


_ZERO_TYPED = [
    ("first_assigned_in_while_loop", (np.array([0.1, 0.2, 0.3]),)),
    ("first_assigned_in_inner_loop", (np.array([0.1, -0.2, 0.3]),)),
    ("first_assigned_in_inner_while_loop", (np.array([0.4, 0.2, -0.3]),)),
]


@pytest.mark.usefixtures("numba_cache")
@pytest.mark.parametrize("name,args", _ZERO_TYPED, ids=[c[0] for c in _ZERO_TYPED])
def test_name_first_assigned_in_a_while_or_inner_loop_compiles(name, args):
    """A name first assigned in a while loop or an inner loop and read after it: srcad's
    zero of its adjoint was the number 0.0 on the path where the loop may not have run and
    an array on the other (refused: `Cannot unify float64 and array(float64, 1d, C) for
    'y_bar.2'`); for Numba it is now zeros_like of the name (None there: an array of its
    type), and its reads in arithmetic read the array it holds. Gradient and tangent equal
    the Python backend's and finite differences'."""
    f = getattr(fx_s13nb, name)
    _against_python_and_fd(f, args, (0,))
    t = 0.7 * np.ones_like(args[0])
    want = srcad.jvp(f, args, (t,))
    got = srcad.jvp(f, args, (t,), backend="numba")
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(want[1], np.sum(numerical_grad(f, args, 0) * t), rtol=1e-6)


def test_python_backend_keeps_the_number_zero_of_a_name_first_assigned_in_a_while_loop():
    """The typed zero is the numba backend's alone: the Python backend's text is unchanged
    (its 0.0 reads nothing)."""
    text = srcad.source(fx_s13nb.first_assigned_in_while_loop, mode="reverse")
    assert "y_bar = 0.0" in text and "optional_zeros" not in text




def _max_jits():
    from srcad import runtime
    from srcad.backends import numba_runtime  # noqa: F401  (registers the Numba versions)

    @numba.njit
    def vjp(g, x, m, axis, keepdims):
        return runtime.max_vjp(g, x, m, axis, keepdims)

    @numba.njit
    def vjp_full(g, x, m):
        return runtime.max_vjp(g, x, m)

    @numba.njit
    def weight(x, m, axis, keepdims):
        return runtime.max_weight(x, m, axis, keepdims)

    @numba.njit
    def weight_full(x, m):
        return runtime.max_weight(x, m)
    return vjp, vjp_full, weight, weight_full


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("reduce", [np.max, np.min])
def test_numba_max_vjp_and_weight_match_the_runtime(axis, keepdims, reduce):
    """The Numba versions of max_vjp and max_weight give the runtime's values along every
    axis, with keepdims or not: ties share the derivative equally (the runtime's
    convention), a nan reduction gives nan weights along its row, a number g stands for
    g everywhere."""
    from srcad import runtime
    vjp, vjp_full, weight, weight_full = _max_jits()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5))
    x[1, 1] = x[1, 3] = x[3, 1] = reduce(x) + (1.0 if reduce is np.max else -1.0)  # ties
    x[2, 4] = np.nan
    for arr in (x, x[:, :3].T, np.floor(2 * rng.standard_normal((3, 6)))):
        m = reduce(arr, axis=axis, keepdims=keepdims)
        g = rng.standard_normal(np.shape(m)) if np.ndim(m) else 1.7
        with np.errstate(invalid="ignore", divide="ignore"):
            for gg in (g, 2.5):
                ref = runtime.max_vjp(gg, arr, m, axis, keepdims)
                got = vjp_full(gg, arr, m) if axis is None and not keepdims else \
                    vjp(gg, arr, m, axis, keepdims)
                np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)
            ref = runtime.max_weight(arr, m, axis, keepdims)
        got = weight_full(arr, m) if axis is None and not keepdims else \
            weight(arr, m, axis, keepdims)
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)
    v = rng.standard_normal(6)
    np.testing.assert_array_equal(vjp(1.5, v, reduce(v, axis=0), 0, False),
                                  runtime.max_vjp(1.5, v, reduce(v, axis=0), 0, False))


_MAX_CASES = [
    (fx_max.lse_full, lambda r: (r.standard_normal((3, 4)),)),
    (fx_max.max_min_mix, lambda r: (r.standard_normal(5), r.standard_normal(5))),
    (fx_max.mlp_full, lambda r: (r.standard_normal((3, 4)), r.standard_normal(4),
                                 r.standard_normal((5, 3)))),
    (fx_max.tied_max, lambda r: (np.array([0.2, 1.3, 1.6, -0.4]),)),
    (fx_max.max_axis0, lambda r: (r.standard_normal((4, 3)),)),
    (fx_max.max_axis1_keepdims, lambda r: (r.standard_normal((4, 3)),)),
    (fx_max.min_axis0_keepdims, lambda r: (r.standard_normal((4, 3)),)),
    (fx_max.amax_axis_neg1, lambda r: (r.standard_normal((2, 3, 4)),)),
    (fx_max.max_all_keepdims, lambda r: (r.standard_normal((3, 4)),)),
    (fx_max.mlp_rows, lambda r: (r.standard_normal((3, 4)), r.standard_normal(4),
                                 r.standard_normal((4, 2)), r.standard_normal(2),
                                 r.standard_normal((5, 3)), np.eye(2)[[0, 1, 0, 0, 1]])),
]


@pytest.mark.parametrize("f, make", _MAX_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_max_reductions_compile_reverse_and_forward(f, make):
    """Derivatives through np.max/np.min/np.amax/np.amin (max_vjp in reverse mode,
    max_weight in forward mode) compile with backend="numba" (refused before: "Numba has
    no version of it") and equal the Python backend's and finite differences (tied_max:
    a tie of two entries shares the derivative, which finite differences do not see);
    np.max/min/amax/amin/mean with an axis or keepdims (which Numba's own lack) are
    `reduce_along` calls, their adjoints `unreduce` along that axis."""
    args = make(np.random.default_rng(5))
    wrt = tuple(range(len(args)))
    got = srcad.grad(f, wrt=wrt, backend="numba")(*args)
    ref = srcad.grad(f, wrt=wrt)(*args)
    _close(got, ref)
    flat = got if isinstance(got, tuple) else (got,)
    if f is not fx_max.tied_max:
        for i, a in enumerate(args):
            np.testing.assert_allclose(flat[i], numerical_grad(f, args, i), rtol=1e-6,
                                       atol=1e-8)
    tangents = tuple(np.random.default_rng(6).standard_normal(np.shape(a)) for a in args)
    out, t = srcad.jvp(f, args, tangents, backend="numba")
    out_ref, t_ref = srcad.jvp(f, args, tangents)
    _close((out, t), (out_ref, t_ref))
    np.testing.assert_allclose(t, sum(np.sum(g * v) for g, v in zip(flat, tangents)),
                               rtol=1e-12)


@pytest.mark.parametrize("op", ["max", "min", "sum", "mean"])
def test_reduce_along_matches_numpy(op):
    """`reduce_along` (what np.max/min/sum/mean with an axis or keepdims compile to) gives
    NumPy's values and shapes, nan propagating through max and min as NumPy's does; an
    axis Numba cannot take (a tuple) is refused at the user's line."""
    from srcad.backends.numba_runtime import reduce_along
    src = "def f(x):\n    return (" + ", ".join(
        f"reduce_along(x, {a}, {k}, {op!r})" for a in (None, 0, 1, -1, -3)
        for k in (False, True)) + ")\n"
    ns = {"reduce_along": reduce_along}
    exec(src, ns)
    x = np.random.default_rng(2).standard_normal((3, 4, 2))
    x[1, 2, 0] = np.nan
    got = numba.njit(ns["f"])(x)
    ref = ns["f"](x)
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        assert np.shape(g) == np.shape(r)
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-15)
    with pytest.raises(srcad.SrcadError) as e:
        shared_grad(fx_max.max_two_axes)(np.ones((2, 3)))
    assert "regress_s13nbmax.py:" in str(e.value), str(e.value)
