"""Sums, means, std and var (srcad/rules/reductions.py) at the edges: length-one axes,
constants, ddof, higher orders, against finite differences and closed forms."""
import warnings

import numpy as np
import pytest

import srcad
from srcad.testing import check_grads

from fixtures import regress_fixes as rf
from fixtures import regress_rules as rr
from conftest import second_derivatives
from conftest import second_order_in_both_modes


@pytest.mark.parametrize("f", [rf.sum_axis, rf.mean_axis, rf.mean_keepdims, rf.sum_and_mean,
                               rf.sum_axis_slope, rf.mean_keepdims_slope])
def test_second_and_third_order_of_sums_and_means(f):
    x = np.array([[0.3, -0.7, 1.1], [0.5, 0.2, -0.4]])
    got, want = second_derivatives(f, (x,))
    for g in got:
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-6)


RNG = np.random.default_rng(9)


def rand(*shape):
    return RNG.uniform(0.5, 1.5, size=shape)


# ------------------------------------------------------------ 2. std and var at zero spread
def test_std_over_a_length_one_axis_and_of_a_scalar():
    # std along a length-1 axis, and of a float, is identically 0: derivative exactly 0
    x = rand(3, 1)
    np.testing.assert_array_equal(srcad.grad(rr.std_axis_one)(x), np.ones((3, 1)))
    assert srcad.jvp(rr.std_axis_one, (x,), (np.ones((3, 1)),))[1] == 3.0
    assert srcad.grad(rr.std_scalar)(2.0) == 1.0
    assert srcad.jvp(rr.std_scalar, (2.0,), (1.0,))[1] == 1.0
    assert srcad.hessian(rr.std_scalar)(2.0) == 0.0


def test_std_of_a_constant_array_takes_the_least_subgradient():
    # a kink (std of [a, b] is |a - b| / 2): 0, as abs'(0) = 0 (at entries whose mean
    # rounds to them exactly: std is then exactly 0)
    x = np.full(3, 0.75)
    np.testing.assert_array_equal(srcad.grad(rr.std_constant)(x), 2 * x)
    assert np.all(np.isfinite(srcad.hessian(rr.std_constant)(x)))


def test_var_and_std_with_ddof():
    x = rand(6)
    check_grads(rr.var_std_ddof, x)
    second_order_in_both_modes(rr.var_std_ddof, x)


def test_var_with_ddof_beyond_the_count_behaves_like_the_primal():
    # NumPy divides by max(N - ddof, 0) = 0: the value is inf, and so are the derivatives
    x = np.array([0.5, 1.0, 2.0])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isinf(rr.var_ddof_too_large(x))
        g = srcad.grad(rr.var_ddof_too_large)(x)
        assert np.isinf(g[0]) and np.isinf(g[2])
        assert not np.any(np.isfinite(g) & (g != 0))


# ------------------------------------------------------------ 5. empty reductions
def test_mean_of_an_empty_array_gives_an_empty_gradient():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isnan(rr.mean_of(np.zeros(0)))
        g = srcad.grad(rr.mean_of)(np.zeros(0))
        assert g.shape == (0,)
        assert srcad.grad(rr.mean_axis)(np.zeros((2, 0))).shape == (2, 0)
        out, t = srcad.jvp(rr.mean_of, (np.zeros(0),), (np.zeros(0),))
        assert np.isnan(out) and np.isnan(t)


def test_prod_where_tangent_masks_no_copy_of_the_tangent():
    """np.prod(x, where=m)'s tangent passes where= to prod_jvp's sums instead of a masked copy
    of x_dot beside the masked x and the quotient (3.14 times x's bytes at its peak before,
    2.14 now: the masked x and the quotient), and agrees with finite differences."""
    from conftest import temporary_ratio

    def f(x):
        return np.prod(x, axis=-1, where=x > 0.8)
    x = np.random.default_rng(0).uniform(0.5, 1.5, (400, 100))
    t = np.ones_like(x)
    srcad.jvp(f, (x,), (t,))
    assert temporary_ratio(lambda: srcad.jvp(f, (x,), (t,)), x) < 2.6
    srcad.testing.check_grads(f, x[:3, :5])
