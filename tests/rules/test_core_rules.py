"""The operators and the math module's functions (srcad/rules/core.py): powers at zero,
primitives that raise where Python raises, against finite differences and closed forms."""
import numpy as np
import pytest

import srcad
from srcad import pipeline
from srcad.testing import check_grads

from fixtures import regress_lead5 as R
from fixtures import regress_rules as rr
from fixtures import regress_s3lead as R_s3lead
from fixtures import regress_s4cost as fx
from conftest import second_order_in_both_modes


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


RNG = np.random.default_rng(9)


def rand(*shape):
    return RNG.uniform(0.5, 1.5, size=shape)


# ------------------------------------------------------------ 3. powers at x = 0
def test_power_zero_at_zero():
    x = np.array([0.0, 0.5])
    np.testing.assert_array_equal(srcad.grad(rr.pow_zero)(x), [1.0, 1.0])
    np.testing.assert_array_equal(srcad.jacfwd(rr.pow_zero)(x), [1.0, 1.0])
    assert srcad.grad(rr.pow_zero_float)(0.0) == 1.0
    assert srcad.jvp(rr.pow_zero_float, (0.0,), (1.0,))[1] == 1.0
    assert srcad.hessian(rr.pow_zero_float)(0.0) == 0.0


@pytest.mark.parametrize("f, d1, d2", [(rr.pow_one, 1.0, 0.0), (rr.pow_two, 0.0, 2.0),
                                       (rr.pow_three, 0.0, 0.0)])
def test_integer_powers_at_zero(f, d1, d2):
    for x in (0.0, np.zeros(1)):
        assert np.all(srcad.grad(f)(x) == d1)
        assert np.all(srcad.hessian(f)(x) == d2)
        assert srcad.jvp(f, (x,), (np.ones_like(x),))[1] == d1


def test_power_partials_at_zero_base():
    # d/dy 0 ** y = 0 for y > 0; d/dx x ** y at x = 0 is 0 for y > 1 and y = 0
    assert srcad.grad(rr.pow_both, wrt=(0, 1))(0.0, 2.0) == (0.0, 0.0)
    assert srcad.grad(rr.pow_both, wrt=(0, 1))(0.0, 0.0) == (0.0, 0.0)
    assert srcad.jvp(rr.pow_both, (0.0, 0.0), (1.0, 1.0))[1] == 0.0
    x, y = np.array([0.0, 0.0, 0.7, 1.3]), np.array([0.0, 2.5, 0.0, 1.7])
    gx, gy = srcad.grad(rr.pow_array_exponent, wrt=(0, 1))(x, y)
    np.testing.assert_allclose(gx, [0.0, 0.0, 0.0, 1.7 * 1.3 ** 0.7], rtol=1e-14)
    np.testing.assert_allclose(gy, [0.0, 0.0, np.log(0.7), 1.3 ** 1.7 * np.log(1.3)],
                               rtol=1e-14)
    check_grads(rr.pow_array_exponent, rand(4), rand(4))
    second_order_in_both_modes(rr.pow_array_exponent, rand(4), rand(4))


# ------------------------------------------------------------ 8. what the primal raises
@pytest.mark.parametrize("f", [rr.invert, rr.shift, rr.bit_or, rr.dead_invert, rr.dead_in_loop])
def test_bitwise_operators_on_floats_raise_in_every_derivative(f):
    with pytest.raises(TypeError):
        f(1.5)
    for run in (lambda: srcad.grad(f)(1.5), lambda: srcad.value_and_grad(f)(1.5),
                lambda: srcad.jvp(f, (1.5,), (1.0,)), lambda: srcad.vjp(f, 1.5)[1](1.0)):
        with pytest.raises(TypeError):
            run()


@pytest.mark.parametrize("f, x, error", [(rr.dead_log, -1.0, ValueError),
                                         (rr.dead_int, float("nan"), ValueError)])
def test_dead_conversions_and_domain_errors_raise(f, x, error):
    with pytest.raises(error):
        f(x)
    with pytest.raises(error):
        srcad.grad(f)(x)
    with pytest.raises(error):
        srcad.jvp(f, (x,), (1.0,))
    assert srcad.grad(f)(2.0) == 3.0


def test_boolean_masks_still_differentiate():
    x = np.array([0.05, 0.3, 0.7, 0.9])
    np.testing.assert_allclose(srcad.grad(rr.live_mask)(x), [0.1, 0.6, 1.0, 1.0])


def test_transpose_of_a_numpy_scalar_takes_a_float_adjoint():
    # fuzz 11:587: `.T`'s adjoint was `out_bar.T`, and a float adjoint has no .T
    x = np.array([0.3, 0.7, 1.1])
    value, g = srcad.value_and_grad(R_s3lead.scalar_transpose)(x)
    assert value == R_s3lead.scalar_transpose(x)
    s = np.sum(x * x)
    np.testing.assert_allclose(g, [1.0 + 2 * x[0] * x[1], 2 * x[1] ** 2 + s, 2 * x[2] * x[1]])
    check_grads(R_s3lead.scalar_transpose, x)
    h = srcad.hessian(R_s3lead.scalar_transpose)(x)
    want = 2 * x[1] * np.eye(3)
    want[1, :] += 2 * x
    want[:, 1] += 2 * x
    np.testing.assert_allclose(h, want)


def test_pow_indicator_of_tiny_exponent():
    """The exponent y - 1 + [y == 0] was written y - 1 + 0 ** (y * y) (a second, slow power):
    a nonzero y whose square underflows counted as 0, so d/dx x ** 1e-200 at 0 was 0 (it is
    +inf, as y x ** (y - 1) and autograd give); y = 0 still gives 0 at x = 0."""
    x, y = np.array([0.0, 0.0, 2.0]), np.array([1e-200, 0.0, 1e-200])
    with np.errstate(divide="ignore"):
        gx = srcad.grad(fx.power)(x, y)
        _, tangent = srcad.jvp(fx.power, (x[1:], y[1:]), (np.array([1.0, 0.0]), np.zeros(2)))
    assert gx[0] == np.inf and gx[1] == 0.0
    np.testing.assert_allclose(gx[2], 1e-200 * 2.0 ** (1e-200 - 1), rtol=1e-14)
    assert tangent == 0.0


def test_pow_constant_exponent_folds():
    """For a constant y the comparison folds with the rest: the adjoint is one power of x."""
    text = pipeline.get(fx.power_const, "reverse", (0,), pipeline.kinds_of((np.ones(3),)),
                        True).text
    assert "x ** 1.5" in text and "==" not in text
    x = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(srcad.grad(fx.power_const)(x), 2.5 * x ** 1.5, rtol=1e-14)
