"""Regression test for what the differential fuzzer (tests/fuzz, issue 9) found on branch
s5fz: at second order, the zero adjoint of a helper's residuals was built from the residuals
after srcad's backward half had popped their stacks (fuzz seed 502, program 4579). Oracle:
finite differences of srcad's own (first-order, checked) gradient."""
import numpy as np

import srcad
from srcad.testing import check_grads, numerical_grad

from fixtures import regress_s5fz as R


def test_second_order_through_a_helpers_consumed_residuals():
    # k1_grad calls h1's backward half, which pops the stacks in h1's residuals; the
    # derivative of k1_grad read those residuals later (zeros of their structure for the
    # residuals' adjoint), found them empty and popped past their end (IndexError)
    x, y = 1.2, np.array([1.5, -1.2, -0.0])
    check_grads(R.k1, x, y)
    g = srcad.grad(R.k1)
    want = numerical_grad(g, [x, y], 0)
    np.testing.assert_allclose(srcad.grad(g)(x, y), want, rtol=1e-6)
    np.testing.assert_allclose(srcad.hessian(R.k1)(x, y), want, rtol=1e-6)
    gy = srcad.grad(R.k1, 1)
    np.testing.assert_allclose(srcad.hessian(R.k1, 1)(x, y), numerical_grad(gy, [x, y], 1),
                               rtol=1e-6, atol=1e-8)
