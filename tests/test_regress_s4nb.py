"""The numba backend on GradBench's det and lstm shapes: a helper calling itself compiles
(its backward half recomputes each call's tape), a list grown by append compiles (appended
in place where no other name sees it); a derivative taken inside the differentiated function
whose own derivative has no Numba version is refused at the user's line (helpers calling
each other recursively: tests/test_regress_numba.py)."""

import inspect

import numpy as np
import pytest

import srcad
from srcad.testing import numerical_grad

from tests.fixtures import regress_s3nb as s3
from tests.fixtures import regress_s4nb as rf
from tests.numba_shared import grad as _grad
from tests.numba_shared import numba_cache, numba_cache_dir  # noqa: F401 (fixtures)

numba = pytest.importorskip("numba", reason="the numba backend needs Numba (pip install numba)")

pytestmark = [pytest.mark.filterwarnings("ignore::numba.NumbaPerformanceWarning"),
              pytest.mark.usefixtures("numba_cache")]



def _line_of(func, text):
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, l in enumerate(lines) if text in l)


@pytest.mark.parametrize("n", [3, 4])
def test_determinant_by_minors_compiles(n):
    """det by recursive minors (GradBench det): refused before (a type nested without
    bound); the gradient is det(A) inv(A)^T."""
    a = np.random.default_rng(n).normal(size=n * n)
    m = a.reshape(n, n)
    got = _grad(rf.det)(a, n)
    np.testing.assert_allclose(got, (np.linalg.det(m) * np.linalg.inv(m).T).ravel(),
                               rtol=1e-10, atol=1e-12)


def test_self_recursive_scalar_helper_compiles():
    """A scalar helper calling itself (was refused at its recursive call)."""
    got = _grad(s3.rec_top)(0.5, 3)
    assert got == pytest.approx(3 * 0.25 + 1, rel=1e-12)


def test_list_grown_by_append_then_stacked():
    """GradBench lstm's `s2.append(h)` then `np.stack(s2)`: Numba types no `[*s2, h]`
    (the lowering's new list); appended in place, the Python backend's gradient."""
    w, x = np.array([0.5, -0.3, 1.2]), np.array([0.3, -0.2, 0.9])
    ref = srcad.grad(rf.grown)(w, x, 4)
    np.testing.assert_allclose(ref, numerical_grad(rf.grown, (w, x, 4), 0), rtol=1e-6)
    np.testing.assert_allclose(_grad(rf.grown)(w, x, 4), ref, rtol=1e-12, atol=1e-14)
    text = srcad.source(rf.grown, backend="numba")
    assert "hs.append(" in text and "[*hs" not in text


def test_nested_derivative_compiles():
    """GradBench particle: an inner derivative whose derivative called helpers without Numba
    versions (an array's cast_adjoint, unreshape of a list) was refused at a line of srcad's
    generated code, then at the user's line; they have Numba versions now (session 5), and
    the gradient equals the Python backend's and finite differences'."""
    x = np.array([0.3, 0.4])
    want = srcad.grad(rf.nested_array, wrt=1)(x, 0.5)
    assert want == pytest.approx(numerical_grad(rf.nested_array, (x, 0.5), 1), rel=1e-6)
    assert srcad.grad(rf.nested_array, wrt=1, backend="numba")(x, 0.5) == \
        pytest.approx(want, rel=1e-12)


def test_recursive_helper_changing_its_argument_is_refused():
    """Running such a helper again (the recomputation) would read the changed values: it
    stays refused, at the recursive call (the Python backend's gradient is right)."""
    x = np.array([0.3, 0.5, 0.7, 1.1])
    np.testing.assert_allclose(srcad.grad(rf.doubled)(x), 2 * x * np.array([4, 4, 4, 1.0]))
    with pytest.raises(srcad.UnsupportedSyntaxError) as e:
        srcad.grad(rf.doubled, backend="numba")(x)
    assert e.value.filename == rf.__file__
    assert e.value.lineno == _line_of(rf.doubling, "return doubling(a, k - 1)")
    assert "in place" in str(e.value)
