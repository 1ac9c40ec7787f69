"""Regression tests for what the lead fixed in the fifth session. Oracles: finite
differences (srcad.testing) and closed forms."""
import numpy as np

import srcad
from srcad.testing import check_grads, numerical_grad

from fixtures import regress_lead5 as R


def test_a_copy_made_before_an_array_is_refilled_does_not_share_it():
    # the alias analysis took `a += x`'s sum as a second object `a` might hold, so after
    # `b = a` an earlier iteration's sum seemed to be in both: a needless refusal
    x = np.array([0.9, 1.2, -1.1])
    np.testing.assert_allclose(srcad.grad(R.copy_then_refill)(x), 4.0 * np.ones(3))
    check_grads(R.copy_then_refill, x)


def test_hessian_of_names_rotated_through_nested_while_loops():
    # fuzz 44:767: the same false sharing in srcad's own reverse code (`v4_bar += z_bar`
    # after `v1_bar = v4_bar; v4_bar = zeros_like(v4)`) refused the hessian
    x = np.array([0.90436528, 1.20265248, -1.10316671])
    y = np.array([[-1.0986396, 0.85789161, 1.17211263], [0.57402425, -1.43063649, 0.26878392]])
    z = np.array([-0.28750279, 0.92434456, 0.51058996])
    H = srcad.hessian(R.rotated_in_nested_whiles)(x, y, z)
    fd = numerical_grad(lambda x: srcad.grad(R.rotated_in_nested_whiles)(x, y, z), (x,), 0)
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-6)
