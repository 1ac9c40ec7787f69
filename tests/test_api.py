"""The public surface of srcad (API.md): names, decorators, argument handling, testing helpers."""
import math

import numpy as np
import pytest

import srcad
import srcad.api
import srcad.testing

from fixtures import core_funcs as cf

API_NAMES = {"grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "hessian", "derivative",
             "stop_gradient", "ssa", "source", "SrcadError", "UnsupportedSyntaxError",
             "NonDifferentiableError", "testing"}


def test_public_names():
    for name in API_NAMES:
        assert hasattr(srcad, name), name
    assert callable(srcad.testing.check_grads)
    assert callable(srcad.testing.numerical_grad)


# ------------------------------------------------------------ decorators

@srcad.grad
def d_square(x):
    return x * x * 3.0


@srcad.grad(wrt=("x", "y"))
def d_product(x, y):
    return x * y * y


@srcad.grad(wrt=1)
def d_second(x, y):
    return np.sin(x) * np.cos(y)


@srcad.value_and_grad
def vg_cube(x):
    return x ** 3


@srcad.value_and_grad(wrt=("a", "b"))
def vg_pair(a, b):
    return a / b


def test_grad_decorator():
    assert d_square(2.0) == pytest.approx(12.0)
    assert type(d_square(2.0)) is float
    assert float(d_square(np.array(2.0))) == pytest.approx(12.0)
    with pytest.raises(srcad.SrcadError, match="scalar output.*vjp"):
        d_square(np.array([1.0, 2.0]))          # not the gradient of the sum


def test_grad_decorator_with_wrt_tuple():
    gx, gy = d_product(2.0, 3.0)
    assert (gx, gy) == pytest.approx((9.0, 12.0))


def test_grad_decorator_with_wrt_position():
    assert d_second(0.3, 0.4) == pytest.approx(-math.sin(0.3) * math.sin(0.4))


def test_value_and_grad_decorators():
    assert vg_cube(2.0) == (8.0, pytest.approx(12.0))
    value, (ga, gb) = vg_pair(3.0, 4.0)
    assert value == 0.75
    assert (ga, gb) == pytest.approx((0.25, -3.0 / 16))


def test_decorated_function_keeps_name_and_doc():
    assert d_square.__name__ == "d_square"
    g = srcad.grad(cf.ex1)
    assert g.__name__ == "ex1"


# ------------------------------------------------------------ arguments

def test_grad_accepts_keyword_call():
    g = srcad.grad(cf.ex1, wrt="x1")
    assert g(x0=3.0, x1=5.0) == pytest.approx(3 + 1 / 3)
    assert g(3.0, x1=5.0) == pytest.approx(3 + 1 / 3)


def test_grad_of_mixed_float_and_array_arguments():
    x = np.array([0.5, 1.0, 1.5])
    g = srcad.grad(cf.two_arrays, wrt=(0, 1))(x, 2.0)
    assert isinstance(g[0], np.ndarray) and g[0].shape == (3,)
    assert type(g[1]) is float
    np.testing.assert_allclose(g[0], np.cos(x) * 2.0 + 2 * x / 3)
    assert g[1] == pytest.approx(np.sum(np.sin(x)))


def test_bad_wrt_is_srcad_error():
    for wrt in ("nope", 5, -3, (0, "nope"), 1.5):
        with pytest.raises(srcad.SrcadError):
            srcad.grad(cf.ex1, wrt=wrt)
    with pytest.raises(srcad.SrcadError):
        srcad.derivative(cf.ex1, mode="sideways")


def test_jvp_length_mismatch_is_srcad_error():
    with pytest.raises(srcad.SrcadError):
        srcad.jvp(cf.ex1, (1.0, 2.0), (1.0,))


def test_derivative_is_cached_per_mode_and_wrt():
    assert srcad.derivative(cf.ex2) is srcad.derivative(cf.ex2)
    assert srcad.derivative(cf.ex2, mode="forward") is srcad.derivative(cf.ex2, mode="forward")
    assert srcad.derivative(cf.ex2, wrt=1) is not srcad.derivative(cf.ex2, wrt=0)
    assert srcad.derivative(cf.ex2, mode="forward") is not srcad.derivative(cf.ex2)


def test_derivative_is_plain_python_function():
    import types
    df = srcad.derivative(cf.ex1)
    assert isinstance(df, types.FunctionType)
    dfw = srcad.derivative(cf.ex1, mode="forward")
    assert isinstance(dfw, types.FunctionType)


def test_one_grad_object_serves_several_argument_kinds():
    g = srcad.grad(cf.ex1)
    want = 4 + 4 / 9
    assert type(g(3.0, 5.0)) is float and g(3.0, 5.0) == pytest.approx(want)
    assert type(g(3, 5)) is float and g(3, 5) == pytest.approx(want)
    g0 = g(np.array(3.0), np.array(5.0))
    assert isinstance(g0, np.ndarray) and g0.shape == () and float(g0) == pytest.approx(want)
    assert type(g(3.0, 5.0)) is float


# ------------------------------------------------------------ testing helpers

def test_numerical_grad_matches_closed_form():
    g = srcad.testing.numerical_grad(cf.ex1, (3.0, 5.0), 0)
    assert float(g) == pytest.approx(4 + 4 / 9, rel=1e-8)
    J = srcad.testing.numerical_grad(cf.returns_array, (np.array([0.1, 0.2]),), 0)
    np.testing.assert_allclose(J, np.diag(2 * np.cos([0.1, 0.2])), rtol=1e-8)


def test_check_grads_passes_on_correct_derivatives():
    srcad.testing.check_grads(cf.ex3, 0.9, 0.4, 1.3)
    srcad.testing.check_grads(cf.matrix_out, np.array([0.3, -0.2, 0.5]),
                              np.arange(6.0).reshape(2, 3) / 5.0)


@pytest.mark.parametrize("mode, target", [("reverse", "jacrev"), ("forward", "jacfwd")])
def test_check_grads_detects_a_wrong_derivative(monkeypatch, mode, target):
    real = getattr(srcad.api, target)

    def wrong(f, wrt=0):
        j = real(f, wrt)
        return lambda *a, **k: np.asarray(j(*a, **k)) * 1.01
    monkeypatch.setattr(srcad.api, target, wrong)
    with pytest.raises(AssertionError) as info:
        srcad.testing.check_grads(cf.ex1, 3.0, 5.0, modes=(mode,))
    assert "argument 0" in str(info.value) and mode in str(info.value)


def test_stop_gradient_is_identity_at_run_time():
    x = np.arange(3.0)
    assert srcad.stop_gradient(x) is x
