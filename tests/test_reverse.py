"""Reverse mode: grad, value_and_grad, vjp, jacrev, derivative(mode="reverse")."""
import math

import numpy as np
import pytest

import srcad
from srcad.testing import check_grads, numerical_grad

from conftest import autograd_grad
from fixtures import core_funcs as cf
from fixtures import summed_funcs
from fixtures.cases import CORE_CASES as STRAIGHT
from fixtures.rule_cases import AUTOGRAD_CASES, RULE_CASES


# ------------------------------------------------------------ the worked examples

def test_ex1_values():
    x0, x1 = 3.0, 5.0
    value, (g0, g1) = srcad.value_and_grad(cf.ex1, wrt=(0, 1))(x0, x1)
    assert value == pytest.approx(16 + 2 / 3, rel=1e-15)
    assert g0 == pytest.approx(4 + 4 / 9, rel=1e-14)          # x1 - x1 / x0**2
    assert g1 == pytest.approx(3 + 1 / 3, rel=1e-14)          # x0 + 1 / x0


def test_ex2_values():
    g1, g2 = srcad.grad(cf.ex2, wrt=(0, 1))(2.0, 5.0)
    assert g1 == pytest.approx(5.5, rel=1e-14)                # 1/x1 + x2
    assert g2 == pytest.approx(2.0 - math.cos(5.0), rel=1e-14)  # x1 - cos x2


def test_ex3_values():
    gx, gy, gc = srcad.grad(cf.ex3, wrt=(0, 1, 2))(0.9, 0.4, 1.3)
    assert gx == pytest.approx(1.52, rel=1e-14)               # y c + 1
    assert gy == pytest.approx(1.17, rel=1e-14)               # x c
    assert gc == pytest.approx(2.96, rel=1e-14)               # x y + 2 c


@pytest.mark.parametrize("f", [cf.ex4, cf.ex4_matmul])
def test_ex4_gradient_is_4x(f):
    x = np.arange(4.0)
    g = srcad.grad(f)(x)
    assert isinstance(g, np.ndarray) and g.shape == (4,) and g.dtype == np.float64
    np.testing.assert_allclose(g, 4 * x, rtol=1e-15)


@pytest.mark.parametrize("f, args", [(cf.ex1, (3.0, 5.0)), (cf.ex2, (2.0, 5.0)),
                                     (cf.ex3, (0.9, 0.4, 1.3)), (cf.ex4, (np.arange(4.0),))])
def test_worked_examples_match_finite_differences(f, args):
    check_grads(f, *args, modes=("reverse",))


@pytest.mark.parametrize("f, args", [(cf.ex1, (3.0, 5.0)), (cf.ex2, (2.0, 5.0)),
                                     (cf.ex3, (0.9, 0.4, 1.3)), (cf.ex4, (np.arange(4.0),))])
def test_worked_examples_match_autograd(f, args):
    for i in range(len(args)):
        np.testing.assert_allclose(srcad.grad(f, wrt=i)(*args), autograd_grad(f, args, i),
                                   rtol=1e-13, atol=1e-15)


# ------------------------------------------------------------ straight-line Python

@pytest.mark.parametrize("f, args", STRAIGHT, ids=[f.__name__ for f, _ in STRAIGHT])
def test_straight_line_vs_finite_differences(f, args):
    check_grads(f, *args, modes=("reverse",))


STRAIGHT_SCALAR = [c for c in STRAIGHT if c[0] is not cf.matrix_out]


@pytest.mark.parametrize("f, args", STRAIGHT_SCALAR,
                         ids=[f.__name__ for f, _ in STRAIGHT_SCALAR])
def test_straight_line_vs_autograd(f, args):
    if f is cf.math_funcs:
        pytest.skip("math.* does not take autograd boxes")
    wrt = tuple(i for i, a in enumerate(args) if not isinstance(a, int))
    got = srcad.grad(f, wrt=wrt)(*args)
    for k, i in enumerate(wrt):
        np.testing.assert_allclose(got[k], autograd_grad(f, args, i), rtol=1e-12, atol=1e-14)


def test_closed_forms_of_straight_line_functions():
    x, y = 1.3, -0.7
    gx, gy = srcad.grad(cf.chain, wrt=(0, 1))(x, y)
    b = x * y + x
    assert gx == pytest.approx(2 * b * (y + 1)) and gy == pytest.approx(2 * b * x)
    gx, gy = srcad.grad(cf.tuple_unpack, wrt=(0, 1))(x, y)          # (x+y) x y
    assert gx == pytest.approx(2 * x * y + y * y) and gy == pytest.approx(x * x + 2 * x * y)
    g = srcad.grad(cf.literals)(0.9)
    assert g == pytest.approx(3 + 5.0 * 0.9 - 12.0 * 0.9 ** 2)
    g = srcad.grad(cf.reassign)(0.8)                                # sin(x^2) x
    assert g == pytest.approx(math.cos(0.64) * 2 * 0.8 * 0.8 + math.sin(0.64))


def test_module_constant_read_when_derivative_runs(monkeypatch):
    g = srcad.grad(cf.uses_global)
    assert g(1.5) == pytest.approx(2 * cf.SCALE * 1.5)
    df = srcad.derivative(cf.uses_global)
    monkeypatch.setattr(cf, "SCALE", 5.0)
    assert g(1.5) == pytest.approx(2 * 5.0 * 1.5)
    assert df(1.5) == pytest.approx(2 * 5.0 * 1.5)
    assert srcad.value_and_grad(cf.uses_global)(1.5)[0] == pytest.approx(5.0 * 2.25 + cf.OFFSET)


def test_closure_variable_read_when_derivative_runs():
    closed, set_k = cf.make_closure(2.0)
    g = srcad.grad(closed)
    df = srcad.derivative(closed)
    assert g(1.5) == pytest.approx(2 * 2.0 * 1.5)
    set_k(7.0)
    assert closed(1.0) == 7.0
    assert g(1.5) == pytest.approx(2 * 7.0 * 1.5)
    assert df(1.5) == pytest.approx(2 * 7.0 * 1.5)


def test_keyword_arguments_and_defaults():
    # scale * x * y + y
    assert srcad.grad(cf.with_defaults)(1.5) == pytest.approx(3.0 * 2.0)
    assert srcad.grad(cf.with_defaults)(1.5, scale=4.0) == pytest.approx(4.0 * 2.0)
    assert srcad.grad(cf.with_defaults)(1.5, y=0.5) == pytest.approx(3.0 * 0.5)
    assert srcad.grad(cf.with_defaults)(x=1.5, y=0.5, scale=1.0) == pytest.approx(0.5)
    assert srcad.grad(cf.with_defaults, wrt="y")(1.5) == pytest.approx(3.0 * 1.5 + 1.0)
    assert srcad.grad(cf.with_defaults, wrt="scale")(1.5, y=3.0) == pytest.approx(4.5)
    df = srcad.derivative(cf.with_defaults)
    assert df(1.5) == pytest.approx(6.0)
    assert df(1.5, 2.0, 3.0, d_out=2.0) == pytest.approx(12.0)
    assert df(1.5, scale=1.0) == pytest.approx(2.0)


# ------------------------------------------------------------ core rules

@pytest.mark.parametrize("case", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_rule_reverse_vs_finite_differences(case):
    _, f, args = case
    check_grads(f, *args, modes=("reverse",))


@pytest.mark.parametrize("case", AUTOGRAD_CASES, ids=[c[0] for c in AUTOGRAD_CASES])
def test_rule_vjp_vs_autograd(case):
    autograd = pytest.importorskip("autograd")
    from conftest import autograd_twin
    _, f, args = case
    out, pullback = srcad.vjp(f, *args)
    np.testing.assert_allclose(out, f(*args), rtol=0, atol=0)
    ct = np.cos(np.arange(np.size(out)) + 1.0).reshape(np.shape(out))
    ct = float(ct) if np.ndim(out) == 0 and not isinstance(out, np.ndarray) else ct
    grads = pullback(ct)
    assert isinstance(grads, tuple) and len(grads) == len(args)
    twin = autograd_twin(f)
    for i, a in enumerate(args):
        want = autograd.make_vjp(twin, i)(*args)[0](ct)
        np.testing.assert_allclose(grads[i], want, rtol=1e-12, atol=1e-14)
        assert np.shape(grads[i]) == np.shape(a)


@pytest.mark.parametrize("case", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_rule_gradient_type_shape_dtype(case):
    _, f, args = case
    summed = getattr(summed_funcs, "sum_" + f.__name__)
    wrt = tuple(range(len(args)))
    g = srcad.grad(summed, wrt=wrt)(*args)
    assert isinstance(g, tuple) and len(g) == len(args)
    for i, (gi, a) in enumerate(zip(g, args)):
        if isinstance(a, float):
            assert type(gi) is float
        else:
            assert isinstance(gi, np.ndarray) and gi.shape == a.shape and gi.dtype == a.dtype
        np.testing.assert_allclose(gi, numerical_grad(summed, args, i), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_array_gradient_keeps_dtype(dtype):
    x = np.linspace(0.1, 1.0, 6, dtype=dtype).reshape(2, 3)
    y = np.linspace(1.0, 2.0, 3, dtype=dtype)
    gx, gy = srcad.grad(cf.two_arrays, wrt=(0, 1))(x, y)
    assert gx.dtype == dtype and gy.dtype == dtype
    assert gx.shape == (2, 3) and gy.shape == (3,)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    np.testing.assert_allclose(gx, np.cos(x64) * y64 + 2 * x64 / x.size,
                               rtol=1e-5 if dtype == np.float32 else 1e-14)
    np.testing.assert_allclose(gy, np.sum(np.sin(x64), axis=0),
                               rtol=1e-5 if dtype == np.float32 else 1e-14)


def test_float_argument_gets_python_float():
    g = srcad.grad(cf.ex1)(3.0, 5.0)
    assert type(g) is float
    g = srcad.grad(cf.ex1, wrt=(0, 1))(3.0, 5.0)
    assert type(g) is tuple and all(type(v) is float for v in g)


def test_int_argument_gets_float_gradient():
    g = srcad.grad(cf.ex1, wrt=(0, 1))(3, 5)
    assert all(type(v) is float for v in g)
    assert g[0] == pytest.approx(4 + 4 / 9) and g[1] == pytest.approx(3 + 1 / 3)


def test_float32_array_gradient_dtype_for_ex4():
    x = np.arange(4.0, dtype=np.float32)
    g = srcad.grad(cf.ex4)(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 4 * x)


# ------------------------------------------------------------ wrt, decorators, value_and_grad

def test_wrt_by_position_name_and_tuple():
    x0, x1 = 3.0, 5.0
    g0, g1 = x1 - x1 / x0 ** 2, x0 + 1 / x0
    assert srcad.grad(cf.ex1)(x0, x1) == pytest.approx(g0)
    assert srcad.grad(cf.ex1, wrt=1)(x0, x1) == pytest.approx(g1)
    assert srcad.grad(cf.ex1, wrt=-1)(x0, x1) == pytest.approx(g1)
    assert srcad.grad(cf.ex1, wrt="x1")(x0, x1) == pytest.approx(g1)
    assert srcad.grad(cf.ex1, wrt=("x1", "x0"))(x0, x1) == pytest.approx((g1, g0))
    assert srcad.grad(cf.ex1, wrt=("x0", 1))(x0, x1) == pytest.approx((g0, g1))
    single = srcad.grad(cf.ex1, wrt=(1,))(x0, x1)
    assert isinstance(single, tuple) and len(single) == 1 and single[0] == pytest.approx(g1)


def test_wrt_errors():
    with pytest.raises(srcad.SrcadError):
        srcad.grad(cf.ex1, wrt="nope")
    with pytest.raises(srcad.SrcadError):
        srcad.grad(cf.ex1, wrt=2)


def test_value_and_grad():
    value, g = srcad.value_and_grad(cf.ex2)(2.0, 5.0)
    assert value == cf.ex2(2.0, 5.0)
    assert g == pytest.approx(5.5)
    value, (g1, g2) = srcad.value_and_grad(cf.ex2, wrt=("x1", "x2"))(2.0, 5.0)
    assert value == cf.ex2(2.0, 5.0)
    assert (g1, g2) == pytest.approx((5.5, 2.0 - math.cos(5.0)))


def test_derivative_reverse_signature():
    df = srcad.derivative(cf.ex1)
    assert df(3.0, 5.0) == pytest.approx(4 + 4 / 9)
    assert df(3.0, 5.0, d_out=2.0) == pytest.approx(2 * (4 + 4 / 9))
    assert df(3.0, 5.0, 0.5) == pytest.approx(0.5 * (4 + 4 / 9))
    df2 = srcad.derivative(cf.ex1, mode="reverse", wrt=(0, 1))
    assert df2(3.0, 5.0, d_out=3.0) == pytest.approx((3 * (4 + 4 / 9), 3 * (3 + 1 / 3)))
    assert srcad.derivative(cf.ex1) is df                     # cached


def test_derivative_reverse_of_array_function():
    df = srcad.derivative(cf.ex4)
    x = np.arange(4.0)
    np.testing.assert_allclose(df(x), 4 * x)
    np.testing.assert_allclose(df(x, d_out=-0.5), -2 * x)


# ------------------------------------------------------------ vjp, jacrev

def test_vjp_with_array_output():
    x = np.array([0.3, -0.2, 0.5])
    W = np.arange(6.0).reshape(2, 3) / 5.0
    out, pullback = srcad.vjp(cf.matrix_out, x, W)
    np.testing.assert_array_equal(out, np.tanh(W @ x))
    ct = np.array([1.5, -2.0])
    gx, gW = pullback(ct)
    d = ct * (1 - np.tanh(W @ x) ** 2)
    np.testing.assert_allclose(gx, W.T @ d, rtol=1e-14)
    np.testing.assert_allclose(gW, np.outer(d, x), rtol=1e-14)


def test_vjp_of_elementwise_array_function():
    x = np.linspace(-1.0, 1.0, 5)
    out, pullback = srcad.vjp(cf.returns_array, x)
    (g,) = pullback(np.ones(5))
    np.testing.assert_allclose(g, 2 * np.cos(x), rtol=1e-15)
    (g,) = pullback(np.arange(5.0))
    np.testing.assert_allclose(g, 2 * np.cos(x) * np.arange(5.0), rtol=1e-15)


def test_vjp_scalar_output_returns_tuple():
    out, pullback = srcad.vjp(cf.ex1, 3.0, 5.0)
    assert out == cf.ex1(3.0, 5.0)
    g = pullback(1.0)
    assert isinstance(g, tuple) and len(g) == 2
    assert g == pytest.approx((4 + 4 / 9, 3 + 1 / 3))


def test_jacrev_matches_closed_form():
    x = np.array([0.3, -0.2, 0.5])
    W = np.arange(6.0).reshape(2, 3) / 5.0
    J = srcad.jacrev(cf.matrix_out)(x, W)
    d = 1 - np.tanh(W @ x) ** 2
    np.testing.assert_allclose(J, d[:, None] * W, rtol=1e-14)
    JW = srcad.jacrev(cf.matrix_out, wrt=1)(x, W)
    assert JW.shape == (2, 2, 3)
    np.testing.assert_allclose(JW, numerical_grad(cf.matrix_out, (x, W), 1), rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------ stop_gradient, higher order

def test_stop_gradient():
    x, y = 1.5, -0.5
    # a = stop(x y); f = a x + y: df/dx = a = x y, df/dy = 1
    gx, gy = srcad.grad(cf.with_stop_gradient, wrt=(0, 1))(x, y)
    assert gx == pytest.approx(x * y) and gy == pytest.approx(1.0)
    assert srcad.stop_gradient(2.5) == 2.5


def test_grad_of_grad():
    x = 0.6
    # f = sin x * x^3 + exp(x/2)
    d2 = (-math.sin(x) * x ** 3 + 6 * math.cos(x) * x ** 2 + 6 * math.sin(x) * x
          + 0.25 * math.exp(0.5 * x))
    assert srcad.grad(srcad.grad(cf.loop_free_scalar))(x) == pytest.approx(d2, rel=1e-12)


def test_grad_of_grad_two_arguments():
    # f = x0 x1 + x1/x0: d/dx0 (df/dx0) = 2 x1 / x0^3; d/dx1 (df/dx0) = 1 - 1/x0^2
    g = srcad.grad(cf.ex1, wrt=0)
    assert srcad.grad(g, wrt=0)(3.0, 5.0) == pytest.approx(10 / 27, rel=1e-12)
    assert srcad.grad(g, wrt=1)(3.0, 5.0) == pytest.approx(1 - 1 / 9, rel=1e-12)


def test_hessian_of_scalar_function():
    x = np.array([0.3, 0.7, -0.4])
    H = srcad.hessian(cf.ex4)(x)
    np.testing.assert_allclose(H, 4 * np.eye(3), rtol=1e-14, atol=1e-14)
