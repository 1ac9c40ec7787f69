"""User-defined derivative rules (srcad/custom.py): custom_jvp/custom_vjp/custom_rule, their
source and their calls, against finite differences."""
import sys

import numpy as np
import pytest

import srcad
from srcad.testing import check_grads

from fixtures import regress_fixes as rf
from fixtures import regress_rules as rr
from conftest import second_derivatives
from conftest import second_order_in_both_modes


# ------------------------------------------------------------ 4. a custom JVP once per call
@pytest.mark.parametrize("wrt", [(0, 1), (0,), (1,)])
def test_a_custom_jvp_of_two_arguments_is_called_once_per_call(wrt):
    x, y = np.array([0.5, -1.5]), np.array([2.0, 0.25])
    tx, ty = np.array([1.0, 3.0]), np.array([-2.0, 0.5])
    tangents = (tx if 0 in wrt else np.zeros(2), ty if 1 in wrt else np.zeros(2))
    f = srcad.derivative(rf.uses_product, mode="forward", wrt=wrt)
    rf.JVP_CALLS.clear()
    out, out_dot = f(x, y, *[tangents[i] for i in wrt])
    assert len(rf.JVP_CALLS) == 1                       # once, not once per argument
    want = 2.0 * (tangents[0] * y + x * tangents[1]) + tangents[0]
    np.testing.assert_allclose(out, 2.0 * x * y + x)
    np.testing.assert_allclose(out_dot, want, rtol=1e-12)


# ------------------------------------------------------------ 8. lambda rules on continuation lines
def test_second_order_of_a_lambda_rule_on_a_continuation_line():
    # the vjp lambda sits on the decorator's second line: reading it found no lambda
    x = np.array([0.3, -0.7, 1.1])
    check_grads(rf.uses_cube, x)
    got, want = second_derivatives(rf.uses_cube, (x,))
    for g in got:
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-6)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="columns of code need Python 3.11")
@pytest.mark.parametrize("f, deriv", [(rf.square_it, lambda x: 2.0 * x),
                                      (rf.sine_it, lambda x: np.cos(x) * x + np.sin(x))],
                         ids=["square_it", "sine_it"])
def test_two_lambdas_of_the_same_parameters_on_one_line(f, deriv):
    # "cannot tell which lambda on this line to differentiate"
    assert srcad.grad(f)(0.3) == pytest.approx(deriv(0.3), rel=1e-12)
    assert srcad.jacfwd(f)(0.3) == pytest.approx(deriv(0.3), rel=1e-12)


RNG = np.random.default_rng(9)


def rand(*shape):
    return RNG.uniform(0.5, 1.5, size=shape)


# ------------------------------------------------------------ 9. custom rules
def test_custom_rule_source_imports_the_users_functions():
    for f, args in ((rr.uses_mul, (0.7, 1.3)), (rr.uses_cube, (0.7,))):
        text = srcad.source(f, wrt=tuple(range(len(args))))
        assert "from fixtures.regress_rules import" in text
        head = text.split("def ")[0]
        assert not any(n in head.split("from srcad.runtime import")[-1].split("\n")[0]
                       for n in ("mul", "cube")), text
        namespace = {}
        exec(compile(text, "<source>", "exec"), namespace)
        got = namespace[f"{f.__name__}_grad"](*args)
        want = srcad.grad(f, wrt=tuple(range(len(args))))(*args)
        np.testing.assert_allclose(got, want, rtol=1e-15)


def test_custom_rule_of_a_function_that_cannot_be_imported_says_where_it_is():
    @srcad.custom_rule(jvp=lambda x, x_dot: 2.0 * x_dot, vjp=lambda x, out, out_bar: 2.0 * out_bar)
    def double(x):
        return 2.0 * x
    rr.GLOBAL_DOUBLE = double            # the fixture below calls it
    text = srcad.source(rr.uses_global_double)
    assert "# double: a srcad.custom_rule function from" in text and "not importable" in text
    assert srcad.grad(rr.uses_global_double)(0.4) == 2.0


def test_a_two_argument_vjp_runs_once_per_call():
    rr.VJP_CALLS.clear()
    x, y = 0.7, 1.3
    gx, gy = srcad.grad(rr.uses_mul, wrt=(0, 1))(x, y)
    assert len(rr.VJP_CALLS) == 1
    assert gx == pytest.approx(y * np.sin(x) + x * y * np.cos(x), rel=1e-14)
    assert gy == pytest.approx(x * np.sin(x), rel=1e-14)
    check_grads(rr.uses_mul, x, y)


def test_custom_rules_with_both_lambdas_on_one_line_at_second_order():
    # cube(x) x + cube(sin x): f' = 4 x^3 + 3 sin^2 x cos x
    x = 0.7
    d2 = 12 * x * x + 6 * np.sin(x) * np.cos(x) ** 2 - 3 * np.sin(x) ** 3
    assert srcad.grad(srcad.grad(rr.uses_cube))(x) == pytest.approx(d2, rel=1e-12)
    assert srcad.hessian(rr.uses_cube)(x) == pytest.approx(d2, rel=1e-12)
    check_grads(rr.uses_hyp, 0.7, 1.3)
    second_order_in_both_modes(rr.uses_hyp, 0.7, 1.3)
    second_order_in_both_modes(rr.uses_hyp_sum, rand(3), rand(3))
