"""Control flow: branches, loops, early returns, while loops, lists, builtins, exact semantics."""
import inspect
import math

import numpy as np
import pytest

import srcad
from srcad.testing import check_grads

from conftest import autograd_grad, fwd_grad
from fixtures import control_funcs as cf
from fixtures.cases import CONTROL_CASES as CASES, X3, Y3

IDS = [f"{f.__name__}-{i}" for i, (f, _) in enumerate(CASES)]


@pytest.mark.parametrize("f, args", CASES, ids=IDS)
def test_reverse_vs_finite_differences(f, args):
    check_grads(f, *args, modes=("reverse",))


@pytest.mark.parametrize("f, args", CASES, ids=IDS)
def test_forward_vs_finite_differences(f, args):
    check_grads(f, *args, modes=("forward",))


def _float_positions(args):
    return [i for i, a in enumerate(args) if isinstance(a, (float, np.ndarray))]


# math.* and float() do not take autograd's boxes
AUTOGRAD = [(f, a) for f, a in CASES if f not in (cf.math_loop, cf.builtins_mix)]
AUTOGRAD_IDS = [f"{f.__name__}-{i}" for i, (f, _) in enumerate(AUTOGRAD)]


@pytest.mark.parametrize("f, args", AUTOGRAD, ids=AUTOGRAD_IDS)
def test_grad_vs_autograd(f, args):
    wrt = tuple(_float_positions(args))
    got = srcad.grad(f, wrt=wrt)(*args)
    for k, i in enumerate(wrt):
        np.testing.assert_allclose(got[k], autograd_grad(f, args, i), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("f, args", AUTOGRAD, ids=AUTOGRAD_IDS)
def test_jvp_vs_autograd(f, args):
    for i in _float_positions(args):
        np.testing.assert_allclose(fwd_grad(f, args, i), autograd_grad(f, args, i),
                                   rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------ closed forms

def test_branch_closed_form():
    for x, want in [(2.0, 4.0), (0.5, math.cos(0.5)), (-1.0, -3.0)]:
        assert srcad.grad(cf.branch)(x) == pytest.approx(want, rel=1e-14)
        assert srcad.derivative(cf.branch, mode="forward")(x, 1.0)[1] == \
            pytest.approx(want, rel=1e-14)


def test_ifexp_closed_form():
    assert srcad.grad(cf.ifexp)(0.7) == pytest.approx(4 * 0.7)
    assert srcad.grad(cf.ifexp)(-0.7) == pytest.approx(6 * 0.49)
    assert srcad.jvp(cf.ifexp, (-0.7,), (1.0,))[1] == pytest.approx(6 * 0.49)


def test_early_return_closed_form():
    assert srcad.grad(cf.early_return)(-0.6) == pytest.approx(1.2)
    assert srcad.grad(cf.early_return)(0.6) == pytest.approx(math.exp(0.6) * 1.6)
    assert srcad.jvp(cf.early_return, (-0.6,), (1.0,))[1] == pytest.approx(1.2)
    assert srcad.jvp(cf.early_return, (0.6,), (1.0,))[1] == pytest.approx(math.exp(0.6) * 1.6)


def test_return_in_loop_closed_form():
    x = 1.1
    k = 0
    while True:                      # s = 1.5^k x, return s x once s > 10
        k += 1
        if 1.5 ** k * x > 10.0:
            break
    want = 2 * 1.5 ** k * x
    assert srcad.grad(cf.return_in_loop)(x) == pytest.approx(want, rel=1e-13)
    assert srcad.jvp(cf.return_in_loop, (x,), (1.0,))[1] == pytest.approx(want, rel=1e-13)
    # 1.5^100 x <= 10: the loop ends without the early return, f = 1.5^100 x
    tiny = 1e-30
    assert srcad.grad(cf.return_in_loop)(tiny) == pytest.approx(1.5 ** 100, rel=1e-13)
    assert srcad.jvp(cf.return_in_loop, (tiny,), (1.0,))[1] == pytest.approx(1.5 ** 100, rel=1e-13)


def test_bool_conditions_closed_form():
    g = srcad.grad(cf.bool_cond, wrt=(0, 1))
    assert g(0.5, 0.7) == pytest.approx((0.7, 0.5))      # x y
    assert g(-0.5, 0.7) == pytest.approx((1.0, 2.0))     # x + 2y (not x > 0)
    assert g(0.5, -2.0) == pytest.approx((1.0, 2.0))     # x + 2y (y < -1)
    assert g(0.5, -0.5) == pytest.approx((1.0, -1.0))    # x - y


def test_range_variants_closed_form():
    x = 0.9
    # sum_{i<5} x^i
    want = sum(i * x ** (i - 1) for i in range(1, 5))
    assert srcad.grad(cf.range_stop)(x, 5) == pytest.approx(want)
    # i in 2, 5, 8, 11
    want = sum(i * x ** (i - 1) for i in range(2, 12, 3))
    assert srcad.grad(cf.range_start_stop_step)(x, 12) == pytest.approx(want)
    assert srcad.derivative(cf.range_start_stop_step, mode="forward")(x, 12, 1.0)[1] == \
        pytest.approx(want)
    # prod over i in 5, 3, 1 of (x + i)
    x = 0.4
    p = (x + 5) * (x + 3) * (x + 1)
    assert srcad.grad(cf.range_negative_step)(x) == pytest.approx(
        p / (x + 5) + p / (x + 3) + p / (x + 1))


def test_range_bound_from_shape_and_len():
    g = srcad.grad(cf.range_shape)(X3)
    np.testing.assert_allclose(g, 2 * X3 * np.arange(1, 4), rtol=1e-15)
    assert g.shape == X3.shape
    np.testing.assert_allclose(srcad.grad(cf.range_len)(X3), np.cos(X3), rtol=1e-15)
    x5 = np.linspace(0.0, 1.0, 5)
    np.testing.assert_allclose(srcad.grad(cf.range_len)(x5), np.cos(x5), rtol=1e-15)


def test_iteration_over_sequences_closed_form():
    A = np.arange(6.0).reshape(3, 2) / 4.0
    w = np.array([0.5, -1.5])
    r = A @ w
    gA, gw = srcad.grad(cf.iter_rows, wrt=(0, 1))(A, w)
    np.testing.assert_allclose(gA, 2 * r[:, None] * w[None, :], rtol=1e-14)
    np.testing.assert_allclose(gw, 2 * A.T @ r, rtol=1e-14)
    assert srcad.grad(cf.iter_list)(0.8) == pytest.approx(2 * 6.0 * 0.8)
    gx, gy = srcad.grad(cf.iter_tuple, wrt=(0, 1))(0.8, -1.3)      # x^2 + y^2 + x^2 y^2
    assert (gx, gy) == pytest.approx((2 * 0.8 + 2 * 0.8 * 1.69, -2 * 1.3 - 2 * 1.3 * 0.64))


def test_enumerate_and_zip_closed_form():
    np.testing.assert_allclose(srcad.grad(cf.enumerate_loop)(X3), 2 * np.arange(3) * X3)
    np.testing.assert_allclose(srcad.grad(cf.enumerate_start)(X3), np.arange(1, 4) * np.cos(X3))
    gx, gy = srcad.grad(cf.zip_loop, wrt=(0, 1))(X3, Y3)
    np.testing.assert_allclose(gx, Y3 * Y3)
    np.testing.assert_allclose(gy, 2 * X3 * Y3)
    y4 = np.array([0.9, 0.4, -0.6, 2.0])                  # zip stops at the shorter
    gx, gy = srcad.grad(cf.zip_loop, wrt=(0, 1))(X3, y4)
    np.testing.assert_allclose(gy, np.append(2 * X3 * y4[:3], 0.0))
    assert gy.shape == (4,)


def test_break_continue_closed_form():
    # i in 0, 2, 4: 6 x^2
    assert srcad.grad(cf.break_continue)(0.8) == pytest.approx(12 * 0.8)
    assert srcad.jvp(cf.break_continue, (0.8,), (1.0,))[1] == pytest.approx(12 * 0.8)
    # j <= i: sum (i+1)(j+1) over j<=i<4 = 1 + 2(1+2) + 3(1+2+3) + 4(1+2+3+4) = 65
    assert srcad.grad(cf.nested_break)(0.8) == pytest.approx(65.0)
    assert srcad.jvp(cf.nested_break, (0.8,), (1.0,))[1] == pytest.approx(65.0)


def test_halve_until_below_one():
    # x / 2^k with k the number of halvings: derivative 2^-k
    for x, k in [(5.0, 3), (0.7, 0), (1.0, 1), (1000.0, 10)]:
        assert srcad.grad(cf.halve)(x) == 2.0 ** -k
        out, dout = srcad.jvp(cf.halve, (x,), (1.0,))
        assert out == cf.halve(x) and dout == 2.0 ** -k


@pytest.mark.parametrize("a", [2.0, 0.3, 17.0])
def test_newton_sqrt_derivative(a):
    want = 1 / (2 * math.sqrt(a))
    assert srcad.grad(cf.newton_sqrt)(a) == pytest.approx(want, rel=1e-9)
    assert srcad.jvp(cf.newton_sqrt, (a,), (1.0,))[1] == pytest.approx(want, rel=1e-9)
    assert srcad.value_and_grad(cf.newton_sqrt)(a)[0] == pytest.approx(math.sqrt(a), rel=1e-12)


def test_thousand_iteration_scalar_loop():
    # s -> 1.0005 s + 0.001 a thousand times: ds/dx = 1.0005^1000
    want = 1.0005 ** 1000
    assert srcad.grad(cf.long_linear_loop)(0.3, 1000) == pytest.approx(want, rel=1e-12)
    assert srcad.jvp(cf.long_linear_loop, (0.3, 1000), (1.0, 0.0))[1] == \
        pytest.approx(want, rel=1e-12)
    assert srcad.derivative(cf.long_linear_loop, mode="forward")(0.3, 1000, 1.0)[1] == \
        pytest.approx(want, rel=1e-12)


def test_thousand_iteration_nonlinear_loop():
    g = srcad.grad(cf.long_nonlinear_loop)(0.7, 1000)
    assert g == pytest.approx(autograd_grad(cf.long_nonlinear_loop, (0.7, 1000), 0), rel=1e-11)
    check_grads(cf.long_nonlinear_loop, 0.7, 1000)


def _rnn_args(T=50, H=3, D=2):
    rng = np.random.default_rng(1)
    return (rng.normal(size=(H, H)) * 0.5, rng.normal(size=(H, D)) * 0.5, rng.normal(size=H) * 0.1,
            rng.normal(size=(T, D)), rng.normal(size=H) * 0.1)


def test_rnn_50_steps_vs_autograd():
    args = _rnn_args()
    grads = srcad.grad(cf.rnn, wrt=(0, 1, 2, 3, 4))(*args)
    for i, g in enumerate(grads):
        assert g.shape == args[i].shape
        np.testing.assert_allclose(g, autograd_grad(cf.rnn, args, i), rtol=1e-10, atol=1e-13)


def test_rnn_50_steps_vs_finite_differences():
    check_grads(cf.rnn, *_rnn_args(), wrt=[0, 2, 4])


def test_rnn_forward_matches_reverse():
    args = _rnn_args()
    np.testing.assert_allclose(fwd_grad(cf.rnn, args, 0), srcad.grad(cf.rnn)(*args),
                               rtol=1e-11, atol=1e-14)


# ------------------------------------------------------------ lists and builtins

def test_lists_built_in_function_closed_form():
    n, x = 5, 0.4
    vs, dvs = [], []
    v, dv = x, 1.0
    for _ in range(n):
        v, dv = math.sin(v) + x, math.cos(v) * dv + 1.0
        vs.append(v)
        dvs.append(dv)
    want = dvs[0] * vs[-1] + vs[0] * dvs[-1] + sum(dvs) + dvs[n // 2]
    assert srcad.grad(cf.build_list)(x, n) == pytest.approx(want, rel=1e-13)
    assert srcad.jvp(cf.build_list, (x, n), (1.0, 0.0))[1] == pytest.approx(want, rel=1e-13)


def test_builtins_closed_form():
    gx, gy = srcad.grad(cf.builtins_mix, wrt=(0, 1))(1.3, 0.4)
    # abs(x-y) -> 1, -1; max*min = x y -> y, x; float(x)*2 -> 2; int(3.9) y = 3 y -> 0, 3
    assert gx == pytest.approx(1 + 0.4 + 2) and gy == pytest.approx(-1 + 1.3 + 3)
    gx, gy = srcad.grad(cf.builtins_mix, wrt=(0, 1))(0.4, 1.3)
    # int(1.2) = 1
    assert gx == pytest.approx(-1 + 1.3 + 2) and gy == pytest.approx(1 + 0.4 + 1)


def test_int_argument_used_as_index():
    g = srcad.grad(cf.int_index)(X3, 2)
    np.testing.assert_allclose(g, [X3[2], 0.0, X3[0]])
    g = srcad.grad(cf.int_index)(X3, 0)
    np.testing.assert_allclose(g, [2 * X3[0], 0.0, 0.0])


# ------------------------------------------------------------ exact semantics

EXACT = [(f, a) for f, a in CASES] + [
    (cf.long_nonlinear_loop, (0.7, 1000)),
    (cf.rnn, _rnn_args()),
]


def _tangents(args):
    return tuple(0.0 if isinstance(a, (int, float)) else np.zeros(np.shape(a)) for a in args)


EXACT_IDS = [f"{f.__name__}-{i}" for i, (f, _) in enumerate(EXACT)]


@pytest.mark.parametrize("f, args", EXACT, ids=EXACT_IDS)
def test_value_and_grad_value_is_bit_for_bit_the_primal(f, args):
    want = f(*args)
    value, _ = srcad.value_and_grad(f)(*args)
    assert value == want and type(value) is type(want)


@pytest.mark.parametrize("f, args", EXACT, ids=EXACT_IDS)
def test_jvp_value_is_bit_for_bit_the_primal(f, args):
    want = f(*args)
    t = list(_tangents(args))
    i = _float_positions(args)[0]
    t[i] = 1.0 if isinstance(args[i], float) else np.ones(np.shape(args[i]))
    out, _ = srcad.jvp(f, args, t)
    assert out == want and type(out) is type(want)


@pytest.mark.parametrize("f, args", EXACT, ids=EXACT_IDS)
def test_forward_derivative_value_is_bit_for_bit_the_primal(f, args):
    want = f(*args)
    i = _float_positions(args)[0]
    t = 1.0 if isinstance(args[i], float) else np.ones(np.shape(args[i]))
    out, _ = srcad.derivative(f, mode="forward", wrt=i)(*args, t)
    assert out == want and type(out) is type(want)


def test_print_runs_once_per_derivative_call(capsys):
    srcad.grad(cf.with_print)(3.0)
    assert capsys.readouterr().out == "called 3.0\n"
    assert srcad.value_and_grad(cf.with_print)(3.0) == (9.0, 6.0)
    assert capsys.readouterr().out == "called 3.0\n"
    assert srcad.jvp(cf.with_print, (3.0,), (1.0,)) == (9.0, 6.0)
    assert capsys.readouterr().out == "called 3.0\n"
    srcad.derivative(cf.with_print)(2.0)
    assert capsys.readouterr().out == "called 2.0\n"
    srcad.derivative(cf.with_print, mode="forward")(2.0, 1.0)
    assert capsys.readouterr().out == "called 2.0\n"


def test_print_in_loop_runs_once_per_iteration(capsys):
    want = "".join(f"step {i}\n" for i in range(3))
    assert srcad.grad(cf.print_in_loop)(1.5, 3) == pytest.approx(4 * 1.5 ** 3)
    assert capsys.readouterr().out == want
    assert srcad.jvp(cf.print_in_loop, (1.5, 3), (1.0, 0.0))[1] == pytest.approx(4 * 1.5 ** 3)
    assert capsys.readouterr().out == want


def test_recursion_works_or_is_refused_at_build_time():
    # recursive(x, n) = recursive(x^2, n-1) + x; n = 2: x^4 + x^2 + x
    x = 0.7
    want = 4 * x ** 3 + 2 * x + 1
    for mode in ("reverse", "forward"):
        try:
            df = srcad.derivative(cf.recursive, mode=mode)
        except srcad.UnsupportedSyntaxError as e:
            lines, first = inspect.getsourcelines(cf.recursive)
            call = first + next(k for k, s in enumerate(lines) if "recursive(x * x" in s)
            assert e.lineno == call and e.filename == cf.__file__
            assert f"control_funcs.py:{call}" in str(e)
            continue
        out = df(x, 2) if mode == "reverse" else df(x, 2, 1.0)[1]
        assert out == pytest.approx(want)
    try:
        g = srcad.grad(cf.recursive)(x, 2)
    except srcad.UnsupportedSyntaxError:
        pass
    else:
        assert g == pytest.approx(want)
