"""Forward mode: jvp, jacfwd, derivative(mode="forward")."""
import math

import numpy as np
import pytest

import srcad
from srcad.testing import check_grads, numerical_grad

from conftest import autograd_grad, autograd_twin, fwd_grad
from fixtures import core_funcs as cf
from fixtures.cases import CORE_CASES as STRAIGHT
from fixtures.rule_cases import AUTOGRAD_CASES, RULE_CASES


# ------------------------------------------------------------ the worked examples

def test_ex1_jvp():
    out, dout = srcad.jvp(cf.ex1, (3.0, 5.0), (1.0, 0.0))
    assert out == pytest.approx(16 + 2 / 3, rel=1e-15)
    assert dout == pytest.approx(4 + 4 / 9, rel=1e-14)
    out, dout = srcad.jvp(cf.ex1, (3.0, 5.0), (0.0, 1.0))
    assert dout == pytest.approx(3 + 1 / 3, rel=1e-14)
    out, dout = srcad.jvp(cf.ex1, (3.0, 5.0), (2.0, -1.0))
    assert dout == pytest.approx(2 * (4 + 4 / 9) - (3 + 1 / 3), rel=1e-14)


def test_ex2_jvp():
    _, d1 = srcad.jvp(cf.ex2, (2.0, 5.0), (1.0, 0.0))
    _, d2 = srcad.jvp(cf.ex2, (2.0, 5.0), (0.0, 1.0))
    assert d1 == pytest.approx(5.5, rel=1e-14)
    assert d2 == pytest.approx(2.0 - math.cos(5.0), rel=1e-14)


def test_ex3_forward_derivative():
    args = (0.9, 0.4, 1.3)
    for i, want in enumerate([1.52, 1.17, 2.96]):
        df = srcad.derivative(cf.ex3, mode="forward", wrt=i)
        out, dout = df(*args, 1.0)
        assert out == cf.ex3(*args)
        assert dout == pytest.approx(want, rel=1e-14)
    df = srcad.derivative(cf.ex3, mode="forward", wrt=(0, 1, 2))
    out, dout = df(*args, 1.0, 1.0, 1.0)
    assert dout == pytest.approx(1.52 + 1.17 + 2.96, rel=1e-14)


@pytest.mark.parametrize("f", [cf.ex4, cf.ex4_matmul])
def test_ex4_forward_gives_4x(f):
    x = np.arange(4.0)
    np.testing.assert_allclose(fwd_grad(f, (x,), 0), 4 * x, rtol=1e-15)
    np.testing.assert_allclose(srcad.jacfwd(f)(x), 4 * x, rtol=1e-15)


@pytest.mark.parametrize("f, args", [(cf.ex1, (3.0, 5.0)), (cf.ex2, (2.0, 5.0)),
                                     (cf.ex3, (0.9, 0.4, 1.3)), (cf.ex4, (np.arange(4.0),))])
def test_worked_examples_forward_vs_autograd(f, args):
    for i in range(len(args)):
        np.testing.assert_allclose(fwd_grad(f, args, i), autograd_grad(f, args, i),
                                   rtol=1e-13, atol=1e-15)


# ------------------------------------------------------------ straight-line Python

@pytest.mark.parametrize("f, args", STRAIGHT, ids=[f.__name__ for f, _ in STRAIGHT])
def test_straight_line_forward_vs_finite_differences(f, args):
    check_grads(f, *args, modes=("forward",))


STRAIGHT_SCALAR = [c for c in STRAIGHT if c[0] is not cf.matrix_out]


@pytest.mark.parametrize("f, args", STRAIGHT_SCALAR,
                         ids=[f.__name__ for f, _ in STRAIGHT_SCALAR])
def test_straight_line_forward_vs_autograd(f, args):
    if f is cf.math_funcs:
        pytest.skip("math.* does not take autograd boxes")
    for i, a in enumerate(args):
        if isinstance(a, int):
            continue
        np.testing.assert_allclose(fwd_grad(f, args, i), autograd_grad(f, args, i),
                                   rtol=1e-12, atol=1e-14)


def test_module_constant_read_when_forward_derivative_runs(monkeypatch):
    df = srcad.derivative(cf.uses_global, mode="forward")
    assert df(1.5, 1.0)[1] == pytest.approx(2 * cf.SCALE * 1.5)
    monkeypatch.setattr(cf, "SCALE", 5.0)
    monkeypatch.setattr(cf, "OFFSET", -1.0)
    out, dout = df(1.5, 1.0)
    assert out == 5.0 * 1.5 * 1.5 - 1.0
    assert dout == pytest.approx(2 * 5.0 * 1.5)
    assert srcad.jvp(cf.uses_global, (1.5,), (1.0,))[1] == pytest.approx(15.0)


def test_closure_variable_read_when_forward_derivative_runs():
    closed, set_k = cf.make_closure(2.0)
    df = srcad.derivative(closed, mode="forward")
    assert df(1.5, 1.0)[1] == pytest.approx(2 * 2.0 * 1.5)
    set_k(-3.0)
    assert df(1.5, 1.0) == pytest.approx((-3.0 * 2.25, 2 * -3.0 * 1.5))
    assert srcad.jvp(closed, (1.5,), (1.0,))[1] == pytest.approx(-9.0)


def test_forward_derivative_with_defaults():
    # scale * x * y + y
    df = srcad.derivative(cf.with_defaults, mode="forward")
    out, dout = df(1.5, 2.0, 3.0, 1.0)
    assert out == cf.with_defaults(1.5)
    assert dout == pytest.approx(6.0)
    df = srcad.derivative(cf.with_defaults, mode="forward", wrt="y")
    assert df(1.5, 2.0, 3.0, 1.0)[1] == pytest.approx(3.0 * 1.5 + 1.0)
    df = srcad.derivative(cf.with_defaults, mode="forward", wrt=("x", "scale"))
    assert df(1.5, 2.0, 3.0, 1.0, 1.0)[1] == pytest.approx(6.0 + 3.0)


def test_jacfwd_wrt_name_and_kwargs():
    assert srcad.jacfwd(cf.with_defaults)(1.5) == pytest.approx(6.0)
    assert srcad.jacfwd(cf.with_defaults, wrt="scale")(1.5, y=3.0) == pytest.approx(4.5)


# ------------------------------------------------------------ any return value

def test_forward_returns_tuple():
    out, dout = srcad.jvp(cf.returns_tuple, (0.7, 1.9), (1.0, 0.0))
    assert out == cf.returns_tuple(0.7, 1.9)
    assert len(dout) == 2
    assert dout[0] == pytest.approx(1.9) and dout[1] == pytest.approx(math.cos(0.7))
    out, dout = srcad.jvp(cf.returns_tuple, (0.7, 1.9), (0.0, 1.0))
    assert dout[0] == pytest.approx(0.7) and dout[1] == pytest.approx(0.0)


def test_forward_returns_array():
    x = np.linspace(-1.0, 1.0, 5)
    t = np.arange(5.0)
    out, dout = srcad.jvp(cf.returns_array, (x,), (t,))
    np.testing.assert_array_equal(out, cf.returns_array(x))
    np.testing.assert_allclose(dout, 2 * np.cos(x) * t, rtol=1e-15)
    J = srcad.jacfwd(cf.returns_array)(x)
    np.testing.assert_allclose(J, np.diag(2 * np.cos(x)), rtol=1e-15)


def test_forward_returns_value_and_int():
    x = np.array([0.5, -1.0])
    out, dout = srcad.jvp(cf.returns_int_and_value, (x,), (np.array([1.0, 2.0]),))
    assert out == cf.returns_int_and_value(x)
    assert len(dout) == 2
    assert dout[0] == pytest.approx(2 * 0.5 * 1.0 + 2 * -1.0 * 2.0)


def test_jacfwd_matrix_output():
    x = np.array([0.3, -0.2, 0.5])
    W = np.arange(6.0).reshape(2, 3) / 5.0
    d = 1 - np.tanh(W @ x) ** 2
    np.testing.assert_allclose(srcad.jacfwd(cf.matrix_out)(x, W), d[:, None] * W, rtol=1e-14)
    JW = srcad.jacfwd(cf.matrix_out, wrt=1)(x, W)
    assert JW.shape == (2, 2, 3)
    np.testing.assert_allclose(JW, numerical_grad(cf.matrix_out, (x, W), 1), rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------ core rules

@pytest.mark.parametrize("case", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_rule_forward_vs_finite_differences(case):
    _, f, args = case
    check_grads(f, *args, modes=("forward",))


@pytest.mark.parametrize("case", AUTOGRAD_CASES, ids=[c[0] for c in AUTOGRAD_CASES])
def test_rule_jacfwd_vs_autograd(case):
    autograd = pytest.importorskip("autograd")
    _, f, args = case
    twin = autograd_twin(f)
    for i, a in enumerate(args):
        got = srcad.jacfwd(f, wrt=i)(*args)
        want = autograd.jacobian(twin, i)(*args)
        assert np.shape(got) == np.shape(f(*args)) + np.shape(a)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("case", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_rule_jvp_tangent_type_and_shape(case):
    _, f, args = case
    tangents = tuple(0.5 if isinstance(a, float) else np.full(np.shape(a), 0.5) for a in args)
    out, dout = srcad.jvp(f, args, tangents)
    want = f(*args)
    assert np.shape(dout) == np.shape(want)
    if isinstance(want, float):
        assert isinstance(dout, float)
    np.testing.assert_allclose(
        dout, sum(0.5 * np.sum(numerical_grad(f, args, i), axis=tuple(
            range(np.ndim(want), np.ndim(want) + np.ndim(a)))) for i, a in enumerate(args)),
        rtol=1e-6, atol=1e-8)


def test_float32_forward_stays_float32():
    x = np.arange(4.0, dtype=np.float32)
    out, dout = srcad.jvp(cf.returns_array, (x,), (np.ones(4, dtype=np.float32),))
    assert out.dtype == np.float32 and dout.dtype == np.float32


# ------------------------------------------------------------ stop_gradient

def test_stop_gradient_forward():
    x, y = 1.5, -0.5
    _, dx = srcad.jvp(cf.with_stop_gradient, (x, y), (1.0, 0.0))
    _, dy = srcad.jvp(cf.with_stop_gradient, (x, y), (0.0, 1.0))
    assert dx == pytest.approx(x * y) and dy == pytest.approx(1.0)
