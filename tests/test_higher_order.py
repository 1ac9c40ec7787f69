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
