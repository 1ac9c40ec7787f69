"""Regressions of issue 12's GradBench work, fifth session: unbroadcast's sums by matrix
products, max_weight's tie test along an axis, and the optimizer moving a single-use
adjoint's negation or power-of-two factor into the statement that reads it."""
import numpy as np
import pytest

import srcad
from conftest import autograd_grad
from fixtures import regress_s5gb as fx
from srcad import runtime
from srcad.testing import check_grads

RNG = np.random.default_rng(5)


@pytest.mark.parametrize("shape, axes, keepdims", [
    ((3, 7, 2), (1,), True), ((3, 7, 2), (0,), False), ((3, 7, 2), (2,), True),
    ((3, 7, 2), (0, 1), False), ((3, 7, 2), (1, 2), True), ((70, 7, 3), (1,), True),
    ((3, 7, 2), (0, 2), True)])
def test_sum_axes_matches_numpy(shape, axes, keepdims):
    """The matrix-vector sums give NumPy's sum, shape and keepdims, on every path (a run of
    adjacent axes, one side empty, many small matrices, non-adjacent axes)."""
    g = RNG.standard_normal(shape)
    for arr in (g, g.astype(np.float32), np.asfortranarray(g)):
        out = runtime._sum_axes(arr, axes, keepdims)
        want = arr.sum(axis=axes, keepdims=keepdims)
        assert out.shape == want.shape and out.dtype == want.dtype
        np.testing.assert_allclose(out, want, rtol=1e-6 if arr.dtype == np.float32 else 1e-13)


def test_unbroadcast_middle_axis_gradient():
    """gmm's broadcast over a middle axis: the gradient by unbroadcast's matrix products
    against finite differences, both modes."""
    check_grads(fx.middle_axis, RNG.standard_normal((3, 2)), RNG.standard_normal((3, 5, 2)))


def test_max_weight_axis_ties_and_nan():
    """Along an axis, as many hits as reduced values means no tie only where every value is
    attained (no nan): a nan row (no hit) and a tied row (two) also count two, and must
    still share the tie, as hit / count does."""
    x = np.array([[np.nan, 1.0], [2.0, 2.0]])
    out = np.max(x, axis=1)
    hit = x == out[:, None]
    with np.errstate(invalid="ignore"):
        want = hit / hit.sum(axis=1, keepdims=True)
        got = runtime.max_weight(x, out, 1)
    np.testing.assert_array_equal(got, want)          # [[nan, nan], [0.5, 0.5]]
    y = np.array([[3.0, 1.0, 3.0], [0.0, 2.0, 1.0]])
    for keepdims in (False, True):
        o = np.max(y, axis=1, keepdims=keepdims)
        np.testing.assert_array_equal(runtime.max_weight(y, o, 1, keepdims),
                                      [[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]])


def test_axis_max_gradient_with_and_without_ties():
    """A max along an axis: without ties against finite differences, with a tie in every
    row against autograd (which shares a tie equally, as srcad does)."""
    check_grads(fx.lse_rows, RNG.standard_normal((4, 3)))
    tied = np.array([[1.0, 1.0, 0.0], [0.5, 2.0, 2.0]])
    np.testing.assert_allclose(srcad.grad(fx.lse_rows)(tied),
                               autograd_grad(fx.lse_rows, (tied,), 0), rtol=1e-12)


def test_kmeans_negation_and_factor_end_on_the_product():
    """`v9_bar = -unbroadcast(..)` read once by `2.0 * v9_bar`, read once by a matrix
    product: the -2.0 ends on the product's (k, d) result, no pass of its own over the
    k x n adjoint; the gradient and the Hessian diagonal (forward over reverse) against
    finite differences."""
    p, c = RNG.standard_normal((6, 2)), RNG.standard_normal((3, 2))
    text = srcad.source(fx.nearest, wrt=1)
    assert "-2.0 * matmul_vjp_x(" in text and "-unbroadcast(" not in text
    check_grads(fx.nearest, p, c)
    grad = srcad.grad(fx.nearest, wrt=1)
    _, hdiag = srcad.jvp(grad, (p, c), (np.zeros_like(p), np.ones_like(c)))
    eps = 1e-6
    fd = (grad(p, c + eps) - grad(p, c - eps)) / (2 * eps)
    np.testing.assert_allclose(hdiag, fd, rtol=1e-6, atol=1e-6)


def test_power_of_two_out_of_a_list_adjoint():
    """A power of two moved out of a linear helper whose result is a list's adjoint scales
    it item by item (Items and Fields multiply by a number)."""
    check_grads(fx.scaled_items, RNG.standard_normal(3), RNG.standard_normal(3))
    items = 2.0 * runtime.Items([np.ones(2), 3.0])
    assert type(items) is runtime.Items and items[1] == 6.0
    np.testing.assert_array_equal(items[0], [2.0, 2.0])
    fields = -4.0 * runtime.Fields(a=np.ones(1), b=0.5)
    assert type(fields) is runtime.Fields and fields["b"] == -2.0


def test_full_max_adjoint_with_and_without_ties():
    """A full max's adjoint is g at the one entry attaining it (no weights array); ties
    share g equally (autograd's convention); forward over reverse through it (the Hessian
    along a direction) against finite differences of the gradient."""
    x = np.array([0.3, -1.2, 2.5, 0.7])
    check_grads(fx.lse, x)
    check_grads(fx.max_plus_min, x)
    tied = np.array([2.0, -1.0, 2.0, -1.0])
    np.testing.assert_allclose(srcad.grad(fx.max_plus_min)(tied),
                               autograd_grad(fx.max_plus_min, (tied,), 0), rtol=1e-12)
    grad = srcad.grad(fx.max_plus_min)
    v = np.array([1.0, -0.5, 0.25, 2.0])
    _, hv = srcad.jvp(grad, (x,), (v,))
    eps = 1e-6
    np.testing.assert_allclose(hv, (grad(x + eps * v) - grad(x - eps * v)) / (2 * eps),
                               rtol=1e-6, atol=1e-6)
    assert runtime.max_vjp(3.0, np.array([1.0, 5.0, 2.0]), 5.0).tolist() == [0.0, 3.0, 0.0]
