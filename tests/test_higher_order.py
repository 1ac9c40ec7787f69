"""Second derivatives: srcad differentiating the code it generated, through loops, lists,
helpers and early returns; checked against finite differences of srcad's first
derivative (itself checked against finite differences elsewhere)."""
import numpy as np
import pytest

import srcad
from srcad.testing import numerical_grad

from fixtures import higher_funcs as hf


def test_jacobians_of_the_gradient_through_a_loop_building_a_list():
    rng = np.random.default_rng(0)
    W, x0 = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3)
    want = numerical_grad(srcad.grad(hf.stacked), (W, x0), 0)
    assert np.allclose(srcad.jacrev(srcad.grad(hf.stacked))(W, x0), want, atol=1e-5)
    assert np.allclose(srcad.jacfwd(srcad.grad(hf.stacked))(W, x0), want, atol=1e-5)
    assert np.allclose(srcad.hessian(hf.stacked)(W, x0), want, atol=1e-5)


@pytest.mark.parametrize("x", [0.4, 1.9, 6.0])
def test_grad_of_grad_through_helpers_with_early_returns_in_a_loop(x):
    d2 = srcad.grad(srcad.grad(hf.calls_in_loop))(x)
    assert d2 == pytest.approx(float(numerical_grad(srcad.grad(hf.calls_in_loop), (x,), 0)),
                               rel=1e-5, abs=1e-6)


def test_a_constant_exponent_at_a_negative_base_has_no_nan_second_derivative():
    from conftest import second_order
    x = np.array([-0.7, 0.4])
    second_order(hf.polynomial_by_helper, (x,))
    # the closed form: sum_k (k + 1) k (k - 1) x ** (k - 2) on the diagonal
    want = np.diag(sum((k + 1.0) * k * (k - 1) * x ** max(k - 2, 0) for k in range(2, 4)))
    np.testing.assert_allclose(srcad.hessian(hf.polynomial_by_helper)(x), want, rtol=1e-12)
    np.testing.assert_allclose(srcad.jacfwd(srcad.grad(hf.polynomial_by_helper))(x), want,
                               rtol=1e-12)


@pytest.mark.parametrize("name", ["none_first_helper_in_one_arm", "none_first_helper_product",
                                  "none_first_in_a_loop"])
@pytest.mark.parametrize("x0", [0.7, -0.7])
def test_a_name_first_none_then_a_helpers_result_in_one_arm(name, x0):
    """A name that is None at some point keeps its shape saved for the reverse sweep:
    np.shape(None) is (), not the shape its later values have (jacrev(grad) was ~1 off,
    silently)."""
    from conftest import autograd_twin, second_derivatives
    f = getattr(hf, name)
    x = np.array([x0, 0.3, -0.4])
    got, want = second_derivatives(f, [x])
    for g in got:
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-6)
    autograd = pytest.importorskip("autograd")
    np.testing.assert_allclose(got[0], autograd.hessian(autograd_twin(f))(x), rtol=1e-10,
                               atol=1e-12)
