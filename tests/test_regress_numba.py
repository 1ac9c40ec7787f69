"""The numba backend's stacks (typed arrays reserved before a for loop, grown in while
loops), the Numba versions of the list helpers (stack, concatenate, their adjoints), and the
refusal of mutually recursive reverse mode: derivatives equal to the Python backend's, which is
checked against finite differences."""

import numpy as np
import pytest

import srcad
from srcad.testing import numerical_grad

from tests.fixtures import regress_s3nb as rf

numba = pytest.importorskip("numba", reason="the numba backend needs Numba (pip install numba)")

pytestmark = pytest.mark.filterwarnings("ignore::numba.NumbaPerformanceWarning")


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(tmp_path))


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
    recomputes instead (tests/test_regress_s4nb.py); helpers calling each other are refused
    at the user's call."""
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
