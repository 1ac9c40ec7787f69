"""Calls to the user's own functions: differentiated by transforming the callee too."""
import math

import numpy as np
import pytest

import srcad
from srcad.testing import check_grads

from conftest import autograd_grad, fwd_grad
from fixtures import control_funcs as cf
from fixtures import core_funcs

X3 = np.array([0.3, -0.8, 1.1])
W23 = np.array([[0.5, -0.2, 0.1], [0.3, 0.8, -0.6]])

CALLS = [
    (cf.calls_helper_twice, (0.7, -1.2)),
    (cf.call_chain, (0.7, -1.2)),
    (cf.calls_with_kwargs, (0.7, 1.2)),
    (cf.calls_tuple_helper, (0.7, -1.2)),
    (cf.calls_loop_helper, (0.9,)),
    (cf.calls_array_helper, (X3, W23)),
    (cf.calls_other_module, (0.7, -1.2)),
    (core_funcs.tuple_unpack_call, (0.7, -1.2)),
]
IDS = [f.__name__ for f, _ in CALLS]


@pytest.mark.parametrize("f, args", CALLS, ids=IDS)
def test_calls_vs_finite_differences(f, args):
    check_grads(f, *args)


@pytest.mark.parametrize("f, args", CALLS, ids=IDS)
def test_calls_vs_autograd(f, args):
    wrt = tuple(range(len(args)))
    got = srcad.grad(f, wrt=wrt)(*args)
    for i in wrt:
        want = autograd_grad(f, args, i)
        np.testing.assert_allclose(got[i], want, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(fwd_grad(f, args, i), want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("f, args", CALLS, ids=IDS)
def test_calls_value_is_bit_for_bit(f, args):
    want = f(*args)
    assert srcad.value_and_grad(f)(*args)[0] == want
    t = tuple(0.0 if isinstance(a, float) else np.zeros_like(a) for a in args)
    assert srcad.jvp(f, args, t)[0] == want


def test_helper_called_twice_closed_form():
    # x^2 2 + 9 y + x^2 y
    x, y = 0.7, -1.2
    gx, gy = srcad.grad(cf.calls_helper_twice, wrt=(0, 1))(x, y)
    assert gx == pytest.approx(4 * x + 2 * x * y) and gy == pytest.approx(9 + x * x)
    _, d = srcad.jvp(cf.calls_helper_twice, (x, y), (1.0, 0.0))
    assert d == pytest.approx(4 * x + 2 * x * y)


def test_call_chain_closed_form():
    # (2 sin(x y) + y) x + x
    x, y = 0.7, -1.2
    gx, gy = srcad.grad(cf.call_chain, wrt=(0, 1))(x, y)
    assert gx == pytest.approx(2 * math.sin(x * y) + y + 2 * x * y * math.cos(x * y) + 1)
    assert gy == pytest.approx((2 * x * math.cos(x * y) + 1) * x)


def test_helper_kwargs_defaults_closed_form():
    # 2 x^3 + 2 y^2 + y x^3
    x, y = 0.7, 1.2
    gx, gy = srcad.grad(cf.calls_with_kwargs, wrt=(0, 1))(x, y)
    assert gx == pytest.approx(6 * x * x + 3 * y * x * x)
    assert gy == pytest.approx(4 * y + x ** 3)


def test_helper_returning_tuple_closed_form():
    x, y = 0.7, -1.2
    t = x * y
    dt = math.cos(2 * t) + math.cos(t)              # d/dt (sin t cos t + sin t)
    gx, gy = srcad.grad(cf.calls_tuple_helper, wrt=(0, 1))(x, y)
    assert gx == pytest.approx(dt * y) and gy == pytest.approx(dt * x)


def test_call_with_one_active_argument_each_time():
    # the helper is reached with a active, b active, and both active: each pattern differentiated
    x, y = 0.7, -1.2
    assert srcad.grad(cf.calls_helper_twice, wrt=1)(x, y) == pytest.approx(9 + x * x)
    assert srcad.derivative(cf.calls_helper_twice, mode="forward", wrt=1)(x, y, 1.0)[1] == \
        pytest.approx(9 + x * x)


def test_helper_in_another_module():
    # ex1(p, q) with p = x y, q = x - y
    x, y = 0.7, -1.2
    p, q = x * y, x - y
    dp, dq = q - q / p ** 2, p + 1 / p
    gx, gy = srcad.grad(cf.calls_other_module, wrt=(0, 1))(x, y)
    assert gx == pytest.approx(dp * y + dq) and gy == pytest.approx(dp * x - dq)


def test_array_helper_closed_form():
    x, W = X3, W23
    h = W @ x
    # f = sum(tanh(h) * x[:2]) + sum(tanh(x) * x)
    th = np.tanh(h)
    want = W.T @ ((1 - th ** 2) * x[:2]) + np.append(th, 0.0) + (1 - np.tanh(x) ** 2) * x \
        + np.tanh(x)
    gx, gW = srcad.grad(cf.calls_array_helper, wrt=(0, 1))(x, W)
    np.testing.assert_allclose(gx, want, rtol=1e-14)
    np.testing.assert_allclose(gW, np.outer((1 - th ** 2) * x[:2], x), rtol=1e-14)


def test_helper_called_with_floats_and_with_arrays_gets_two_derivatives():
    x, y, s, t = np.array([0.3, 0.5, 0.9]), np.array([1.0, -2.0, 3.0]), 0.7, 1.3
    got = srcad.grad(cf.helper_on_floats_and_arrays, wrt=(0, 1, 2, 3))(x, y, s, t)
    want = (y * s * t, x * s * t, t * np.sum(x * y), s * np.sum(x * y))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-14)
    assert type(got[2]) is float
    _, tangent = srcad.jvp(cf.helper_on_floats_and_arrays, (x, y, s, t),
                           (np.ones(3), np.zeros(3), 1.0, 0.0))
    assert tangent == pytest.approx(np.sum(want[0]) + want[2], rel=1e-14)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_helper_derivatives_follow_the_callers_shape_classes(mode):
    """Equal shapes at a call site let the helper's derivative drop unbroadcast; the
    same helper called on broadcasting shapes gets a derivative that keeps it."""
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(3, 1)), rng.normal(size=4)
    f = cf.helper_on_equal_and_broadcast_shapes
    check_grads(f, x, w, modes=(mode,))
    c = np.cos(x * w)                                    # f = sum(x^4) + sum(sin(x w))
    want = (4 * x ** 3 + np.sum(c * w, axis=1, keepdims=True), np.sum(c * x, axis=0))
    if mode == "reverse":
        got = srcad.grad(f, wrt=(0, 1))(x, w)
    else:
        got = (fwd_grad(f, (x, w), 0), fwd_grad(f, (x, w), 1))
    for g, want_g in zip(got, want):
        np.testing.assert_allclose(g, want_g, rtol=1e-12)
    from srcad import pipeline
    text = pipeline.get(f, mode, (0, 1), pipeline.kinds_of((x, w)), False).text
    helpers = [part for part in text.split("\n\n\n") if "def mul_helper" in part]
    assert len(helpers) == 2
    if mode == "reverse":
        assert sum("unbroadcast" in h for h in helpers) == 1


def test_calling_a_grad_transformed_function():
    # dcube = 3 x^2, f = 3 x^3, f' = 9 x^2
    assert srcad.grad(cf.calls_grad)(2.0) == pytest.approx(36.0)
    assert srcad.jvp(cf.calls_grad, (2.0,), (1.0,)) == pytest.approx((24.0, 36.0))


def test_helper_print_runs_once_per_call_reverse(capsys):
    srcad.grad(cf.calls_printing_helper)(1.5)
    assert capsys.readouterr().out == "helper 1.5\nhelper 2.25\n"


def test_helper_print_runs_once_per_call_forward(capsys):
    srcad.jvp(cf.calls_printing_helper, (1.5,), (1.0,))
    assert capsys.readouterr().out == "helper 1.5\nhelper 2.25\n"


def test_callee_global_read_when_derivative_runs(monkeypatch):
    g = srcad.grad(cf.calls_gained)
    df = srcad.derivative(cf.calls_gained, mode="forward")
    assert g(1.5) == pytest.approx(2 * 3.0 * 1.5 + 1)
    monkeypatch.setattr(cf, "GAIN", 5.0)
    assert g(1.5) == pytest.approx(2 * 5.0 * 1.5 + 1)
    assert df(1.5, 1.0) == pytest.approx((5.0 * 2.25 + 1.5, 2 * 5.0 * 1.5 + 1))


def test_callee_derivatives_are_built_once_and_cached():
    d1 = srcad.derivative(cf.call_chain)
    d2 = srcad.derivative(cf.call_chain)
    assert d1 is d2
    assert srcad.source(cf.call_chain) == srcad.source(cf.call_chain)


# ---------------------------------------------------------------- nested defs
from fixtures import nested_funcs as nf  # noqa: E402


def test_nested_def_closing_over_an_argument_closed_form():
    for x in (0.3, -1.7):
        assert srcad.grad(nf.square_by_closure)(x) == pytest.approx(2 * x, rel=1e-12)
        out, t = srcad.jvp(nf.square_by_closure, (x,), (1.0,))
        assert out == nf.square_by_closure(x) and t == pytest.approx(2 * x, rel=1e-12)


def test_nested_def_reads_the_variable_when_it_runs():
    x = 0.7
    assert nf.closure_reads_latest_value(x) == pytest.approx(x + 4 * x * x)
    assert srcad.grad(nf.closure_reads_latest_value)(x) == pytest.approx(1 + 8 * x, rel=1e-12)


@pytest.mark.parametrize("f, args", [
    (nf.closure_with_default_and_loop, (0.7, 1.3)),
    (nf.nested_array_helper, (np.random.default_rng(0).normal(size=(3, 3)) * 0.5,
                              np.random.default_rng(1).normal(size=3))),
])
def test_nested_defs_vs_finite_differences(f, args):
    check_grads(f, *args)


def test_module_level_lambda_as_helper():
    from fixtures import funcs_funcs
    f = funcs_funcs.calls_module_lambda
    check_grads(f, 0.7)
    check_grads(srcad.grad(f), 0.7, modes=("reverse",))
