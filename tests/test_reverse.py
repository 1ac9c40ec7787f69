"""Reverse mode: grad, value_and_grad, vjp, jacrev, derivative(mode="reverse")."""
import math

import numpy as np
import pytest

import srcad
from srcad.testing import check_grads, numerical_grad

from conftest import autograd_grad
from fixtures import core_funcs as cf
from fixtures import lazy_funcs as lf
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


# ------------------------------------------------------------ lazy adjoints of full reductions
# A full sum's adjoint stays the scalar in straight-line code (elementwise rules and indexing
# broadcast it); every other consumer and control flow must get it broadcast first. Trim
# slices (x[1:], x[:-1]) share shape classes, so their unbroadcasts are dropped. Oracles:
# closed forms, finite differences, autograd; never srcad's own numbers.

def _rosen_grad(x):
    x = np.asarray(x, dtype=np.float64)
    xa = x[:-1]
    t = x[1:] - xa * xa
    g = np.zeros_like(x)
    g[:-1] = -400 * t * xa - 2 * (1 - xa)
    g[1:] += 200 * t
    return g


def _rosen_hess(x):
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    H = np.zeros((n, n))
    i = np.arange(n - 1)
    H[i, i] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    H[i + 1, i + 1] += 200
    H[i, i + 1] = H[i + 1, i] = -400 * x[:-1]
    return H


def _rosen_x(n, dtype=np.float64):
    return np.random.default_rng(n).uniform(-1.2, 1.2, n).astype(dtype)


def test_rosen_closed_forms_agree_with_finite_differences():
    x = _rosen_x(6)                          # the oracles themselves, checked once
    np.testing.assert_allclose(_rosen_grad(x), numerical_grad(lf.rosen, (x,), 0),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(_rosen_hess(x), numerical_grad(_rosen_grad, (x,), 0),
                               rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("n", [1, 2, 3, 8])
def test_lazy_rosen_gradient_closed_form(n):
    x = _rosen_x(n)
    g = srcad.grad(lf.rosen)(x)
    assert isinstance(g, np.ndarray) and g.shape == (n,) and g.dtype == np.float64
    np.testing.assert_allclose(g, _rosen_grad(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g, numerical_grad(lf.rosen, (x,), 0), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("n", [2, 8])
def test_lazy_rosen_gradient_vs_autograd(n):
    x = _rosen_x(n)
    np.testing.assert_allclose(srcad.grad(lf.rosen)(x), autograd_grad(lf.rosen, (x,), 0),
                               rtol=1e-12, atol=1e-12)


def test_lazy_rosen_float32_keeps_float32():
    x = _rosen_x(7, np.float32)
    g = srcad.grad(lf.rosen)(x)
    assert g.dtype == np.float32 and g.shape == (7,)
    np.testing.assert_allclose(g, _rosen_grad(x), rtol=2e-5, atol=2e-4)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_lazy_rosen_hessian(n):
    x = _rosen_x(n)
    H = srcad.hessian(lf.rosen)(x)
    assert H.shape == (n, n)
    np.testing.assert_allclose(H, numerical_grad(_rosen_grad, (x,), 0), rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(H, _rosen_hess(x), rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(srcad.jacrev(srcad.grad(lf.rosen))(x), H, rtol=1e-12,
                               atol=1e-10)


def test_lazy_rosen_grad_of_grad():
    x, v = _rosen_x(5), np.linspace(-1.0, 1.5, 5)
    assert lf.rosen_grad_dot(x, v) == pytest.approx(float(np.sum(_rosen_grad(x) * v)), rel=1e-12)
    gx, gv = srcad.grad(lf.rosen_grad_dot, wrt=(0, 1))(x, v)
    np.testing.assert_allclose(gx, _rosen_hess(x) @ v, rtol=1e-11, atol=1e-10)
    np.testing.assert_allclose(gx, numerical_grad(lambda x, v: np.sum(_rosen_grad(x) * v),
                                                  (x, v), 0), rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(gv, _rosen_grad(x), rtol=1e-12, atol=1e-12)


def test_lazy_rosen_value_and_grad():
    x = _rosen_x(6)
    value, g = srcad.value_and_grad(lf.rosen)(x)
    assert value == lf.rosen(x)
    np.testing.assert_allclose(g, _rosen_grad(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ct", [3, -2, 0])
def test_lazy_rosen_integer_cotangent(ct):
    x = _rosen_x(5)
    out, pullback = srcad.vjp(lf.rosen, x)
    assert out == lf.rosen(x)
    (g,) = pullback(ct)
    assert isinstance(g, np.ndarray) and g.dtype == np.float64 and g.shape == (5,)
    np.testing.assert_allclose(g, ct * _rosen_grad(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(srcad.derivative(lf.rosen)(x, d_out=ct), ct * _rosen_grad(x),
                               rtol=1e-12, atol=1e-12)


def _reverse_text(f, kinds):
    return srcad.pipeline.get(f, "reverse", (0,), kinds, True).text


@pytest.mark.parametrize("f", [lf.rosen, lf.slices_2d, lf.trim_two, lf.sums_lazy_and_full,
                               lf.sums_sin_and_plain])
def test_lazy_reverse_code_has_no_broadcast_helpers(f):
    # the code shape the features promise (not timing): trims need no unbroadcast, and a
    # sum's adjoint consumed only elementwise or by indexing is never broadcast
    text = _reverse_text(f, ("any:0",))
    assert "unreduce" not in text and "unbroadcast" not in text, text


def test_lazy_reverse_code_broadcasts_for_other_consumers():
    # the converse: a matmul consumer needs the broadcast adjoint
    assert "unreduce" in _reverse_text(lf.sin_matmul, ("any:0", "any:1"))


@pytest.mark.parametrize("f, kinds", [
    (lf.sin_matmul, ("any:0", "any:1")), (lf.sum_of_reshape, ("any:0",)),
    (lf.sum_then_astype, ("any:0",))])
def test_lazy_adjoints_broadcast_where_they_are_made(f, kinds):
    # a lazy adjoint that a consumer needs whole is broadcast in the statement that made
    # it (`v_bar = unreduce(d_out, v)`), not reassigned afterwards
    import re
    text = srcad.source(f) if kinds is None else _reverse_text(f, kinds)
    assert "unreduce(" in text
    assert not re.search(r"(\w+_bar) = unreduce\(\1,", text), text


def _lazy_case(name, f, *args, wrt=(0,), marks=()):
    return pytest.param(f, args, wrt, id=name, marks=marks)


# autograd cannot differentiate these (broadcast_to with new leading axes)
_NO_AUTOGRAD = {"sum_of_broadcast_to"}


def _rng(seed=0):
    return np.random.default_rng(seed)


_IDX = np.array([0, 3, 3, 1, 3, 5])
_X6 = np.array([0.31, 0.72, 0.15, 0.93, 0.57, 0.44])        # distinct, tie-free, away from kinks
_Y6 = np.array([0.62, 0.25, 0.81, 0.38, 0.69, 0.12])

LAZY_CASES = [
    _lazy_case(f"slices_2d_{r}x{c}", lf.slices_2d, _rng(r * 10 + c).normal(size=(r, c)))
    for r, c in [(3, 4), (1, 4), (4, 1), (1, 1), (2, 2), (2, 5)]
] + [
    _lazy_case(f"trim_two_{n}", lf.trim_two, _rng(n).normal(size=n)) for n in [1, 2, 3, 6]
] + [
    _lazy_case(f"other_slices_{n}", lf.other_slices, _X6[:n]) for n in [1, 2, 4, 6]
] + [
    _lazy_case("trim_two_4x3", lf.trim_two, _rng(1).normal(size=(4, 3))),
    _lazy_case("trim_two_2x3", lf.trim_two, _rng(2).normal(size=(2, 3))),
    _lazy_case("trim_pair", lf.trim_pair, _X6, _Y6, wrt=(0, 1)),
    _lazy_case("trim_elementwise", lf.trim_elementwise, _X6),
    _lazy_case("trim_elementwise_2", lf.trim_elementwise, _X6[:2]),
    _lazy_case("trim_reassigned", lf.trim_reassigned, _X6),
    _lazy_case("trim_reassigned_2", lf.trim_reassigned, _X6[:2]),
    _lazy_case("trim_in_loop", lf.trim_in_loop, _X6),
    _lazy_case("trim_in_loop_1", lf.trim_in_loop, _X6[:1]),
    _lazy_case("trim_in_loop_2", lf.trim_in_loop, _X6[:2]),
    _lazy_case("sin_matmul", lf.sin_matmul, _X6, _rng(3).normal(size=(6, 3)), wrt=(0, 1)),
    _lazy_case("sum_of_reshape", lf.sum_of_reshape, _rng(4).normal(size=(2, 3))),
    _lazy_case("broadcast_3x1_4", lf.broadcast_pair, _rng(5).normal(size=(3, 1)),
               _rng(6).normal(size=4), wrt=(0, 1)),
    _lazy_case("broadcast_4_3x1", lf.broadcast_pair, _rng(7).normal(size=4),
               _rng(8).normal(size=(3, 1)), wrt=(0, 1)),
    _lazy_case("transposed", lf.transposed, _rng(9).normal(size=(2, 3)),
               _rng(10).normal(size=(3, 2)), wrt=(0, 1)),
    _lazy_case("sum_then_astype", lf.sum_then_astype, _X6),
    _lazy_case("sum_of_helper", lf.sum_of_helper, _X6),
    _lazy_case("sum_of_unpacked", lf.sum_of_unpacked, _X6),
    _lazy_case("sum_of_list_items", lf.sum_of_list_items, _X6),
    _lazy_case("outer_calls_in_loop", lf.outer_calls_in_loop, _X6),
    _lazy_case("pow_float", lf.pow_float, _X6, 1.7, wrt=(0, 1)),
    _lazy_case("where_clip_abs", lf.where_clip_abs, _X6, _Y6, wrt=(0, 1)),
    _lazy_case("sum_of_cumsum", lf.sum_of_cumsum, _X6),
    _lazy_case("sum_of_repeat_tile", lf.sum_of_repeat_tile, _X6),
    _lazy_case("sum_of_concat", lf.sum_of_concat, _X6),
    _lazy_case("sum_of_broadcast_to", lf.sum_of_broadcast_to, _X6),
    _lazy_case("sum_of_cumsum_helper", lf.sum_of_cumsum_helper, _X6),
    _lazy_case("sum_of_helper_scaled", lf.sum_of_helper_scaled, _X6),
    _lazy_case("sum_of_cumsum_list", lf.sum_of_cumsum_list, _X6),
    _lazy_case("axis_sum_square", lf.axis_sum_square, _rng(11).normal(size=(3, 3)),
               _rng(12).normal(size=3), wrt=(0, 1)),
    _lazy_case("keepdims_then_full", lf.keepdims_then_full, _X6),
    _lazy_case("sum_after_loop", lf.sum_after_loop, _X6),
    _lazy_case("sum_after_branch_true", lf.sum_after_branch, _X6, True),
    _lazy_case("sum_after_branch_false", lf.sum_after_branch, _X6, False),
    _lazy_case("sum_read_in_loop", lf.sum_read_in_loop, _X6),
    _lazy_case("branch_sums_then_cumsum_true", lf.branch_sums_then_cumsum, _X6, True),
    _lazy_case("branch_sums_then_cumsum_false", lf.branch_sums_then_cumsum, _X6, False),
    _lazy_case("loop_sums_then_cumsum", lf.loop_sums_then_cumsum, _X6),
    _lazy_case("while_break", lf.while_break, _X6),
    _lazy_case("sum_indexed_then_branch_false", lf.sum_indexed_then_branch, _X6, _IDX, False),
    _lazy_case("sum_indexed_then_branch_true", lf.sum_indexed_then_branch, _X6, _IDX, True),
    _lazy_case("sum_indexed_then_loop", lf.sum_indexed_then_loop, _X6, _IDX),
    _lazy_case("mean_sq", lf.mean_sq, _X6),
    _lazy_case("max_sq", lf.max_sq, _X6),
    _lazy_case("mean_keepdims_1d", lf.mean_keepdims, _X6),
    _lazy_case("mean_keepdims_2d", lf.mean_keepdims, _X6.reshape(2, 3)),
    _lazy_case("sum_keepdims_2d", lf.sum_keepdims, _X6.reshape(3, 2)),
    _lazy_case("sum_keepdims_1d", lf.sum_keepdims, _X6),
    _lazy_case("sum_axis_none", lf.sum_axis_none, _X6.reshape(2, 3)),
    _lazy_case("sums_lazy_and_full", lf.sums_lazy_and_full, _X6),
    _lazy_case("sums_sin_and_plain", lf.sums_sin_and_plain, _X6),
    _lazy_case("sums_plain_first", lf.sums_plain_first, _X6),
    _lazy_case("sum_squared", lf.sum_squared, _X6),
    _lazy_case("with_float", lf.with_float, _X6, 0.7, wrt=(0, 1)),
    _lazy_case("sum_indexed_repeats", lf.sum_indexed, _X6, _IDX),
    _lazy_case("sum_indexed_mask", lf.sum_indexed, _X6, _X6 > 0.5),
    _lazy_case("sum_indexed_2d_rows", lf.sum_indexed, _X6.reshape(3, 2), np.array([2, 0, 2])),
    _lazy_case("sq_of_indexed_sum", lf.sq_of_indexed_sum, _X6, _IDX),
    _lazy_case("sq_of_indexed_sum_mask", lf.sq_of_indexed_sum, _X6, _X6 > 0.5),
    _lazy_case("indexed_and_full", lf.indexed_and_full, _X6, _IDX),
    _lazy_case("index_after_full", lf.index_after_full, _X6, _IDX),
    _lazy_case("index_after_full_mask", lf.index_after_full, _X6, _X6 < 0.5),
]


def _check_gradient_type(g, a):
    if isinstance(a, float):
        assert type(g) is float
    else:
        assert isinstance(g, np.ndarray) and g.shape == a.shape and g.dtype == a.dtype


@pytest.mark.parametrize("f, args, wrt", LAZY_CASES)
def test_lazy_adjoints_vs_finite_differences(f, args, wrt):
    for i in wrt:
        g = srcad.grad(f, wrt=i)(*args)
        _check_gradient_type(g, args[i])
        np.testing.assert_allclose(g, numerical_grad(f, args, i), rtol=1e-6, atol=1e-8)
    check_grads(f, *args, wrt=list(wrt), modes=("reverse",))


@pytest.mark.parametrize("f, args, wrt", LAZY_CASES)
def test_lazy_adjoints_vs_autograd(f, args, wrt, request):
    if request.node.callspec.id in _NO_AUTOGRAD:
        pytest.skip("autograd has no derivative here")
    got = srcad.grad(f, wrt=tuple(wrt))(*args)
    for g, i in zip(got, wrt):
        np.testing.assert_allclose(g, autograd_grad(f, args, i), rtol=1e-12, atol=1e-13)


def test_lazy_list_argument_closed_form():
    xs = [np.array([0.3, -1.1, 0.8]), np.arange(4.0).reshape(2, 2)]
    g0, g1 = srcad.grad(lf.list_arg)(xs)
    np.testing.assert_allclose(g0, 2.0 + np.cos(xs[0]), rtol=1e-14)
    np.testing.assert_array_equal(g1, np.ones((2, 2)))


# closed forms, also past the size where unreduce makes a broadcast view instead of an array
@pytest.mark.parametrize("n", [5, 5000])
def test_lazy_sums_closed_forms(n):
    x = np.linspace(-1.0, 1.3, n)
    s2 = np.sum(x * x)
    cases = [(lf.sums_lazy_and_full, 3.0 + 2 * x), (lf.sums_sin_and_plain, np.cos(x) + 1.0),
             (lf.sums_plain_first, 1.0 + 2 * x + np.exp(x)), (lf.sum_squared, 4 * s2 * x + 1.0),
             (lf.sum_read_in_loop, np.cos(x) + 6 * x),
             (lf.mean_keepdims, 2 * x / n * np.sum(x) + s2 / n),
             (lf.mean_sq, (2 * x + np.cos(x)) / n)]
    for f, want in cases:
        g = srcad.grad(f)(x)
        assert g.shape == (n,) and g.dtype == np.float64, f.__name__
        np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-12, err_msg=f.__name__)
        out, pullback = srcad.vjp(f, x)
        np.testing.assert_allclose(pullback(-2.5)[0], -2.5 * want, rtol=1e-12, atol=1e-12,
                                   err_msg=f.__name__)
    idx = np.arange(0, n, 2)
    np.testing.assert_allclose(srcad.grad(lf.sum_indexed)(x, idx),
                               np.cos(x) + 2.0 * (np.arange(n) % 2 == 0), rtol=1e-12)


@pytest.mark.parametrize("f", [lf.sums_lazy_and_full, lf.sums_sin_and_plain, lf.sum_squared,
                               lf.mean_sq, lf.rosen])
def test_lazy_float32_gradient_keeps_float32(f):
    x = np.linspace(-0.9, 1.1, 7, dtype=np.float32)
    g = srcad.grad(f)(x)
    assert g.dtype == np.float32 and g.shape == (7,)
    np.testing.assert_allclose(g, srcad.grad(f)(x.astype(np.float64)), rtol=1e-4, atol=1e-4)




@pytest.mark.parametrize("f", [lf.mixed_precision,
                               lf.mixed_precision_swapped])
@pytest.mark.parametrize("wdtype", [np.float32, np.float16])
def test_lazy_mixed_precision_gradient_is_float64_accurate(f, wdtype):
    x = np.array([0.3, -1.7, 2.9, 0.011, -0.4])
    w = np.array([1.3, 0.7, -2.1, 0.05, 3.3]).astype(wdtype)
    want = 2 * x + w.astype(np.float64)                      # exact in float64
    g = srcad.grad(f)(x, w)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, want, rtol=1e-14, atol=0)


def test_lazy_mixed_precision_vs_autograd():
    x = np.array([0.3, -1.7, 2.9, 0.011, -0.4])
    w = np.array([1.3, 0.7, -2.1, 0.05, 3.3]).astype(np.float32)
    np.testing.assert_allclose(autograd_grad(lf.mixed_precision, (x, w), 0),
                               2 * x + w.astype(np.float64), rtol=1e-14, atol=0)




@pytest.mark.parametrize("f, args, want", [
    (lf.sums_lazy_and_full, (_X6,), lambda x: 3.0 + 2 * x),
    (lf.sums_sin_and_plain, (_X6,), lambda x: np.cos(x) + 1.0),
    (lf.sum_indexed, (_X6, _IDX), lambda x: np.cos(x) + 2.0 * np.bincount(_IDX, minlength=6)),
    (lf.with_float, (_X6, 0.7), lambda x: 0.7 + 0.7 * np.cos(x)),
    (lf.int_weights, (_X6, np.array([1, 2, 3, 4, 5, 6])), lambda x: 2 * x + np.arange(1.0, 7.0)),
], ids=["sums_lazy_and_full", "sums_sin_and_plain", "sum_indexed", "with_float", "int_weights"])
def test_lazy_integer_cotangent(f, args, want):
    out, pullback = srcad.vjp(f, *args)
    g = pullback(2)[0]
    assert isinstance(g, np.ndarray) and g.dtype == np.float64
    np.testing.assert_allclose(g, 2 * want(args[0]), rtol=1e-12, atol=1e-12)


# second order through unindex / index_add whose g is a scalar broadcast into x[idx]
def _counts(idx, n):
    return np.bincount(idx, minlength=n).astype(float) if idx.dtype != bool else idx * 1.0


@pytest.mark.parametrize("idx", [_IDX, _X6 > 0.5], ids=["repeats", "mask"])
def test_lazy_indexed_second_order_closed_forms(idx):
    x = _X6
    c = _counts(idx, 6)
    s = float(np.sum(x[idx]))
    cases = [(lf.sq_of_indexed_sum, 2 * s * c, 2 * np.outer(c, c)),
             (lf.index_after_full, 2 * s * c + 2 * x, 2 * np.outer(c, c) + 2 * np.eye(6)),
             (lf.indexed_and_full, 2 * s * c + 2 * x, 2 * np.outer(c, c) + 2 * np.eye(6))]
    for f, grad, hess in cases:
        np.testing.assert_allclose(srcad.grad(f)(x, idx), grad, rtol=1e-13, atol=1e-13,
                                   err_msg=f.__name__)
        np.testing.assert_allclose(srcad.hessian(f)(x, idx), hess, rtol=1e-12, atol=1e-12,
                                   err_msg=f.__name__)
        np.testing.assert_allclose(srcad.jacrev(srcad.grad(f))(x, idx), hess, rtol=1e-12,
                                   atol=1e-12, err_msg=f.__name__)
    v = np.linspace(-1.0, 2.0, 6)
    H = 4 * np.outer(c, c) + 2 * np.eye(6)
    np.testing.assert_allclose(srcad.grad(lf.indexed_grads_dot)(x, idx, v), H @ v,
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(numerical_grad(lf.indexed_grads_dot, (x, idx, v), 0), H @ v,
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("f, args, want", [
    (lf.branch_mixed_precision, (True,), lambda x, w: w + 2 * x),
    (lf.branch_mixed_precision, (False,), lambda x, w: 2 * w + 2 * x),
    (lf.loop_mixed_precision, (), lambda x, w: 3 * w + 4 * x),
], ids=["branch_true", "branch_false", "loop"])
def test_mixed_precision_through_control_flow_stays_float64_accurate(f, args, want):
    x = np.array([0.3, -1.7, 2.9, 0.011, -0.4])
    w = np.array([1.3, 0.7, -2.1, 0.05, 3.3]).astype(np.float16)
    g = srcad.grad(f)(x, w, *args)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, want(x, w.astype(np.float64)), rtol=1e-14, atol=0)


def _scaled_pairs(params):
    out = [W * b for W, b in params]
    return (out,)


def list_of_pairs_through_a_helper(W, x):
    (ls,) = _scaled_pairs([(W, 0.1), (W.T, 0.2)])
    return np.sum(ls[0] @ x) + np.sum(np.sin(ls[1]))


def test_reverse_over_reverse_of_a_helper_looping_over_pairs():
    """The helper's backward half adds each pair's adjoint into the list's
    (`v0_bar = index_add(v0_bar, k, (W_bar, b_bar))`): differentiated again, srcad kept
    only `np.shape(v0_bar)` for the reverse sweep, a ValueError on a list of pairs; an
    index_add of a tuple item makes a list adjoint (the rule's seq_item), kept whole."""
    W = np.eye(3) * 0.5 + 0.1
    x = np.array([0.3, -0.7, 1.1])
    g = srcad.grad(list_of_pairs_through_a_helper)
    np.testing.assert_allclose(srcad.jacrev(g)(W, x), numerical_grad(g, (W, x), 0),
                               rtol=1e-5, atol=1e-6)


def _unpacks_an_expression(x0):
    s = 0.0
    for t in range(2):
        x, v = x0 * (t + 1.0)
        s = s + x * v * x
    return s


def test_unpacking_an_array_expression():
    """`x, v = x0 * 2.0`: the adjoint of the unpacked array is an array of its items'
    adjoints (it was the tuple `(x_bar, v_bar)`, then multiplied: a TypeError in the
    generated code)."""
    from conftest import second_order
    from srcad.testing import numerical_grad
    x0 = np.array([0.7, 1.3])
    np.testing.assert_allclose(srcad.grad(_unpacks_an_expression)(x0),
                               numerical_grad(_unpacks_an_expression, [x0], 0), rtol=1e-6)
    second_order(_unpacks_an_expression, (x0,))
