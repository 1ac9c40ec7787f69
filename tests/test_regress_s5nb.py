"""The numba backend, fifth session: the elementwise pass (runs of elementwise array
statements as one loop over the entries in Numba), Numba versions of the runtime helpers a
derivative inside the differentiated function calls (cast_adjoint, cast_tangent,
unreshape). (Functions passed as values, refused then, compile: tests/test_regress_s6nb.py.)"""

import numpy as np
import pytest

import srcad
from srcad.testing import numerical_grad

from tests.fixtures import regress_s5nb as fx
from tests.numba_shared import grad as _grad
from tests.numba_shared import numba_cache, numba_cache_dir  # noqa: F401 (fixtures)

numba = pytest.importorskip("numba", reason="the numba backend needs Numba (pip install numba)")

pytestmark = [pytest.mark.filterwarnings("ignore::numba.NumbaPerformanceWarning"),
              pytest.mark.usefixtures("numba_cache")]

RNG = np.random.default_rng(5)


def _against_python_and_fd(f, args, wrt):
    want = srcad.grad(f, wrt=wrt)(*args)
    want = want if isinstance(want, tuple) else (want,)
    got = _grad(f, wrt=wrt)(*args)
    got = got if isinstance(got, tuple) else (got,)
    for k, (g, w) in zip(wrt, zip(got, want)):
        np.testing.assert_allclose(w, numerical_grad(f, args, k), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_elementwise_loop_of_one_shape():
    """An ode-like loop: the pass writes `elementwise` defs (one loop over the entries in
    Numba), the gradient equals the Python backend's and finite differences'."""
    assert "@elementwise" in srcad.source(fx.rk_like, backend="numba")
    _against_python_and_fd(fx.rk_like, (RNG.uniform(0.5, 1.5, 6), 3), (0,))


def test_elementwise_statements_that_broadcast_or_not():
    """Operands of three shapes (matrix, row, number: the statements as written) and
    matrices of one shape (the entries of C-contiguous arrays, one loop)."""
    _against_python_and_fd(fx.mixed_chain, (RNG.normal(size=(3, 4)), RNG.normal(size=4), 0.3,
                                            RNG.normal(size=(3, 4))), (0, 1, 2, 3))


def test_split_helpers_stacks_are_buffers():
    """The stacks a split helper's forward half hands its backward half (GradBench det's
    recursive helper) are typed buffers with a top index too, not lists (no `.pop()` is left
    in the compiled source: there were 8); the gradients: tests/test_regress_s4nb.py."""
    from tests.fixtures import regress_s4nb as rf
    text = srcad.source(rf.det, backend="numba")
    assert "stack_push(" in text and "stack_pop(" in text
    assert ".pop()" not in text


@pytest.fixture(scope="module")
def ew_jit():
    from srcad.backends.numba_runtime import elementwise
    elementwise(fx.ew_statements)
    return numba.njit(fx.call_ew_statements)


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


def test_cast_helpers_and_unreshape_compile():
    """cast_adjoint, cast_tangent and unreshape (called by the derivative of a derivative)
    compiled by Numba equal the runtime's Python versions."""
    g, like_f, like_i = RNG.normal(size=4), RNG.normal(size=(2, 2)), np.arange(4)
    got = numba.njit(fx.cast_helpers)(g, like_f, like_i)
    want = fx.cast_helpers(g, like_f, like_i)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_derivative_inside_the_differentiated_function():
    """A gradient inside the differentiated function (GradBench particle's force): its
    derivative calls cast_adjoint and unreshape, refused before (no Numba versions)."""
    _against_python_and_fd(fx.inner_grad, (RNG.normal(size=3),), (0,))


def test_numba_reasons_without_generated_names():
    from srcad.backends.numba import _without_generated
    assert _without_generated(
        "Cannot unify Tuple() and UniTuple(int64 x 1) for '$276call.9', defined at "
        "/tmp/c/srcad_numba_0a1b.py (247)") == "Cannot unify Tuple() and UniTuple(int64 x 1)"
