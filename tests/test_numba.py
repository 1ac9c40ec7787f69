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

import numpy as np
import pytest

import srcad
from srcad.testing import numerical_grad
from srcad.errors import SrcadError, UnsupportedSyntaxError

from tests.fixtures import control_funcs as cf
from tests.fixtures import core_funcs as core
from tests.fixtures import numba_funcs as nf
from tests.fixtures.cases import CONTROL_CASES
from tests.fixtures.rule_cases import RULE_CASES
from tests.numba_shared import grad as shared_grad

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
    with pytest.raises(SrcadError, match=r"numba_funcs\.py:\d+: backend=\"numba\" cannot "
                                         r"compile") as e:
        srcad.grad(nf.mean_axis, backend="numba")(np.arange(1.0, 7.0).reshape(2, 3))
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
