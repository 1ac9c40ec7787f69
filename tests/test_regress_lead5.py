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


def test_hessian_through_two_fields_of_a_namedtuple_in_a_list():
    # the reverse code summed the fields' adjoints with `+` (Items add item-wise at run
    # time), which srcad refused as a possible tuple concatenation when it differentiated
    # that code again, naming the generated file
    rng = np.random.default_rng(0)
    layers = [R.Layer(rng.normal(size=(3, 2)), rng.normal(size=2))]
    x = rng.normal(size=(2, 3))
    H = srcad.hessian(R.last_layer)(layers, x)
    W = layers[0].W

    def grad_b(W):
        return srcad.grad(R.last_layer)([R.Layer(W, layers[0].b)], x)[0].b
    fd = np.zeros(W.shape + (2,))
    for idx in np.ndindex(*W.shape):
        e = np.zeros_like(W)
        e[idx] = 1e-6
        fd[idx] = (grad_b(W + e) - grad_b(W - e)) / 2e-6
    np.testing.assert_allclose(H[0].W[0].b, fd, rtol=1e-6, atol=1e-8)
    check_grads(R.last_layer, layers, x)


def test_a_point_passed_where_source_takes_its_backend_is_refused_clearly():
    # srcad.source(f, "reverse", wrt, backend) with an array as backend: NumPy's
    # ambiguous-truth-value error, not srcad's
    import pytest
    with pytest.raises(srcad.SrcadError, match="unknown backend ndarray"):
        srcad.source(R.copy_then_refill, "reverse", 0, np.ones(3))


def test_the_math_modules_functions_of_floats():
    # math.asin, atan2, hypot, erf, pow, ... had no rule (only sin, cos, tan, exp, log,
    # sqrt, tanh, fabs did): a scalar loop written with math refused
    x, y = 0.33, 0.71
    check_grads(R.math_scalars, x, y)
    h = 1e-4
    fxx = (R.math_scalars(x + h, y) - 2 * R.math_scalars(x, y) + R.math_scalars(x - h, y)) / h ** 2
    np.testing.assert_allclose(srcad.grad(srcad.grad(R.math_scalars))(x, y), fxx, rtol=1e-5)
    H = srcad.hessian(R.math_scalars, wrt=(0, 1))(x, y)
    fxy = (R.math_scalars(x + h, y + h) - R.math_scalars(x + h, y - h)
           - R.math_scalars(x - h, y + h) + R.math_scalars(x - h, y - h)) / (4 * h * h)
    np.testing.assert_allclose(np.asarray(H, dtype=float)[0][1], fxy, rtol=1e-5)


def _second_derivative_by_differences(f, x, h=1e-4):
    return (f(x + h) - 2 * f(x) + f(x - h)) / h ** 2


def test_hessian_of_a_float_updated_by_a_list_entry():
    # fuzz 501:869: the optimizer moved the negation of the entry's adjoint out of
    # unindex(-g, xs, 1), a list's adjoint, which the batched tangent then lifted as one
    # array (IndexError in add_items)
    f = R.subtract_a_list_entry
    want = _second_derivative_by_differences(f, 1.0)
    np.testing.assert_allclose(srcad.hessian(f)(1.0), want, rtol=1e-6)
    np.testing.assert_allclose(srcad.grad(srcad.grad(f))(1.0), want, rtol=1e-6)


def test_hessian_where_a_helper_changes_a_float_argument_in_place():
    # fuzz 501:2037: in srcad's reverse code `v2 = None` comes before `v2 = np.sum(x)`, so
    # y (= y * v2) seemed possibly an array that the helper's `a0 -= 1.0` changes
    x, y = np.array([0.9, 1.4]), -0.4
    np.testing.assert_allclose(srcad.hessian(R.float_given_to_a_mutating_helper)(x, y),
                               2.0 * np.eye(2))


def test_hessian_where_a_helper_changes_an_array_entry_in_place():
    # fuzz 501:1931: `updated(y - v, y)` (srcad's `y -= v`) had no shape class, so y[0] of
    # the reverse code might have been a view the helper changes
    y = np.array([0.5, -0.6, 1.3])
    f = R.entry_given_to_a_mutating_helper
    H = srcad.hessian(f)(y)
    fd = numerical_grad(lambda y: srcad.grad(f)(y), (y,), 0)
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-6)
