"""Regression tests for bugs the lead fixed while merging issue 9's work."""
import numpy as np
import pytest

import srcad
from srcad.testing import check_grads

from fixtures import regress_lead as R


def test_a_branch_that_sets_its_own_test_replays_the_value_tested():
    x = np.array([1.0, 2.0, -0.5])
    value, g = srcad.value_and_grad(R.return_after_inner_loop)(x)
    assert value == R.return_after_inner_loop(x)
    np.testing.assert_array_equal(g, np.ones(3))
    check_grads(R.return_after_inner_loop, x)
    check_grads(srcad.grad(lambda y: R.return_after_inner_loop(y) ** 2), x)


def test_early_returns_in_while_loops_keep_their_gradient():
    for n in (1, 3):
        want = 2 * 0.7 * 2 if n >= 2 else 1.0
        assert srcad.grad(R.return_in_while_after_loop)(0.7, n) == want
        check_grads(R.return_in_while_after_loop, 0.7, n)
    assert srcad.hessian(R.return_in_while_after_loop)(0.7, 3) == 4.0


def test_an_adjoint_accumulated_in_an_inner_loop_keeps_its_zero_start():
    x, y = np.ones((2, 3)), np.full((2, 3), 0.5)
    value, grads = srcad.value_and_grad(R.accumulated_in_inner_loop, wrt=(0, 1, 2))(x, y, -0.3)
    assert value == 1.0
    for g, like in zip(grads, (x, y, -0.3)):
        np.testing.assert_array_equal(g, np.zeros_like(like))
    check_grads(R.read_after_inner_accumulation, np.array([0.3, -1.2]), np.array([2.0, 0.7]))


def test_matmul_adjoint_of_a_vector_operand_matches_the_entrywise_sum():
    # X (..., n, k) @ w (k,): w_bar = sum over X's leading axes of g[..., None] * X
    from srcad import runtime
    rng = np.random.default_rng(0)
    for shape in [(5, 3), (2, 4, 3), (1, 3)]:
        X, w = rng.normal(size=shape), rng.normal(size=3)
        g = rng.normal(size=shape[:-1])
        want = (g[..., None] * X).reshape(-1, 3).sum(axis=0)
        np.testing.assert_allclose(runtime.matmul_vjp_y(g, X, w), want, rtol=1e-12)
        # a g that broadcasts (a lazy scalar adjoint) still sums back
        np.testing.assert_allclose(runtime.matmul_vjp_y(2.0, X, w),
                                   (2.0 * X).reshape(-1, 3).sum(axis=0), rtol=1e-12)


def test_second_order_through_constant_tests():
    assert srcad.grad(srcad.grad(R.constant_test_elif))(0.4) == 0.0
    assert srcad.hessian(R.constant_test_elif)(0.4) == 0.0
    x = np.array([0.3, -0.8])
    H = srcad.hessian(R.constant_test_return_in_loop)(x)
    t = np.tanh(x)
    np.testing.assert_allclose(H, np.diag(-2 * t * (1 - t ** 2)), rtol=1e-12)
    check_grads(srcad.grad(R.constant_test_return_in_loop), x)


def test_outer_adjoint_of_a_scalar_or_zero_cotangent():
    y = np.array([0.1, -0.3])
    np.testing.assert_array_equal(srcad.grad(R.unused_outer)(y), [2.0, 2.0])
    check_grads(R.unused_outer, y)


def test_reshape_adjoints_take_the_zero_of_any_shape():
    y = np.array([0.5, -1.5])
    gx, gy = srcad.grad(R.array_zero_at_join, wrt=(0, 1))(0.5, y)
    assert gx == pytest.approx(1.0 + 2 * 0.5)    # d/dx (1 + x) x
    np.testing.assert_array_equal(gy, [1.0, 1.0])
    check_grads(R.array_zero_at_join, 0.5, y)
    assert srcad.hessian(R.array_zero_at_join)(0.5, y) == pytest.approx(2.0)


def test_constant_boolean_tests_are_constant():
    assert srcad.grad(R.constant_and_test)(0.3) == pytest.approx(4 * 0.3)
    assert srcad.grad(srcad.grad(R.constant_and_test))(0.3) == pytest.approx(4.0)
    x = 0.3
    t = np.tanh(x)
    assert srcad.grad(R.constant_or_test)(x) == pytest.approx(t + x * (1 - t * t))
    assert srcad.hessian(R.constant_or_test)(x) == \
        pytest.approx(2 * (1 - t * t) - 2 * x * t * (1 - t * t))
    check_grads(srcad.grad(R.constant_or_test), x)
    assert srcad.grad(R.constant_not_test)(0.3) == pytest.approx(0.6)
    assert "if True:" in srcad.ssa(R.constant_and_test)      # a constant test, as written


def test_second_order_of_swaps_through_loops():
    x, y = np.array([1.0, -0.6, 0.9]), np.array([0.2, -1.5, -0.3])
    np.testing.assert_allclose(srcad.hessian(R.swap_through_loop)(x, y), 2 * np.eye(3),
                               rtol=1e-12)
    check_grads(srcad.grad(R.swap_through_loop), x, y)
    x, y = np.array([1.5, 1.4, 0.1]), np.array([-0.1, -0.5, -0.8])
    # three swaps leave x = x + y
    np.testing.assert_allclose(srcad.hessian(R.swap_in_loop_over_array)(x, y),
                               np.diag(-np.cos(x + y)), rtol=1e-12)
    check_grads(srcad.grad(R.swap_in_loop_over_array), x, y)


def test_sum_of_a_float_list_is_a_float():
    # x + z once, then z = x: f = (x + z)^2 + x
    x, z = -1.2, 1.2
    assert srcad.grad(R.sum_of_float_list, wrt=(0, 1))(x, z) == \
        pytest.approx((2 * (x + z) + 1.0, 2 * (x + z)))
    assert srcad.hessian(R.sum_of_float_list)(x, z) == pytest.approx(2.0)
    assert srcad.grad(srcad.grad(R.sum_of_float_list))(0.5, 0.25) == pytest.approx(2.0)


def test_grad_made_once_per_function_and_wrt():
    # a derivative called inside a loop (`srcad.grad(p)(x)`) pays for its wrapper once
    assert srcad.grad(R.constant_not_test) is srcad.grad(R.constant_not_test)
    assert srcad.grad(R.swap_through_loop, wrt=1) is not srcad.grad(R.swap_through_loop)
    assert srcad.value_and_grad(R.constant_not_test) is not srcad.grad(R.constant_not_test)
    assert srcad.grad(R.constant_not_test)(0.25) == pytest.approx(0.5)


def test_a_decorated_function_gets_its_own_gradient():
    # grad(cube) made first: the wrapper functools.wraps made shares cube's __dict__, and
    # must not reuse cube's gradient
    assert srcad.grad(R.cube)(2.0) == pytest.approx(12.0)
    assert srcad.grad(R.cube_twice)(2.0) == pytest.approx(24.0)
    with pytest.raises(srcad.SrcadError, match="jacfwd"):
        srcad.grad(srcad.jacfwd(R.cube))(1.5)
