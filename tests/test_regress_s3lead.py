"""Regression tests for the lead's fixes of the third session (fuzz findings of issue 9)."""
import numpy as np

import srcad
from srcad.testing import check_grads

from fixtures import regress_s3lead as R


def test_transpose_of_a_numpy_scalar_takes_a_float_adjoint():
    # fuzz 11:587: `.T`'s adjoint was `out_bar.T`, and a float adjoint has no .T
    x = np.array([0.3, 0.7, 1.1])
    value, g = srcad.value_and_grad(R.scalar_transpose)(x)
    assert value == R.scalar_transpose(x)
    s = np.sum(x * x)
    np.testing.assert_allclose(g, [1.0 + 2 * x[0] * x[1], 2 * x[1] ** 2 + s, 2 * x[2] * x[1]])
    check_grads(R.scalar_transpose, x)
    h = srcad.hessian(R.scalar_transpose)(x)
    want = 2 * x[1] * np.eye(3)
    want[1, :] += 2 * x
    want[:, 1] += 2 * x
    np.testing.assert_allclose(h, want)


def test_a_helper_updating_an_entry_of_a_vector_is_no_alias_at_second_order():
    # fuzz 11:180/182: at second order the stack pop `x = x_stack[-1]` lost x's number of
    # dimensions, so `x[0]` was taken for a view the helper's `a -= b` would change
    x = np.array([0.3, -0.9, 1.3])
    check_grads(R.entry_then_inplace_helper, x)
    h = srcad.hessian(R.entry_then_inplace_helper)(x)
    g = srcad.grad(R.entry_then_inplace_helper)
    eps = 1e-6
    fd = np.stack([(g(x + eps * e) - g(x - eps * e)) / (2 * eps) for e in np.eye(3)], axis=-1)
    np.testing.assert_allclose(h, fd, rtol=1e-5, atol=1e-6)


def test_a_helper_of_a_helper_knows_its_vector_argument_has_one_dimension():
    # a helper's derivative was built for arrays of unknown rank, so `x[0]` passed on to a
    # helper changing it in place was refused even at first order
    x = np.array([0.3, -0.9, 1.3])
    check_grads(R.calls_helper_taking_an_entry, x)
    check_grads(srcad.grad(lambda y: R.calls_helper_taking_an_entry(y) ** 2), x)
