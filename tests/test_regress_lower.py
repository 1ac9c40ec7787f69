"""Regression tests for the lowering pass (issue 9): each program once gave a wrong value, a
wrong derivative or an internal error. Values are checked against Python's own, first
derivatives in both modes against finite differences and autograd, second derivatives
against autograd."""
import inspect

import numpy as np
import pytest

import srcad
import srcad.frontend
import srcad.ir
import srcad.lower
from srcad.testing import check_grads

from conftest import autograd_twin
from fixtures import regress_lower as R

autograd = pytest.importorskip("autograd")


def line_of(func, text):
    """The file line of the first line of `func` containing `text`."""
    lines, first = inspect.getsourcelines(func)
    return next(first + k for k, line in enumerate(lines) if text in line)


def check_values_and_grads(f, *args, second=False):
    """srcad's value (both modes) is Python's; both modes' gradients match finite
    differences and autograd; with `second`, grad(grad) and hessian match autograd's."""
    want = f(*args)
    floats = [i for i, a in enumerate(args) if isinstance(a, (float, np.ndarray))]
    for i in floats:
        value, g = srcad.value_and_grad(f, wrt=i)(*args)
        assert value == want, (f.__name__, "reverse value")
        tangents = [np.ones_like(a) * (k == i) if isinstance(a, np.ndarray) else float(k == i)
                    for k, a in enumerate(args)]
        fvalue, _ = srcad.jvp(f, args, tangents)
        assert fvalue == want, (f.__name__, "forward value")
        ag = autograd.grad(autograd_twin(f), i)(*args)
        np.testing.assert_allclose(g, ag, rtol=1e-9, atol=1e-12)
    check_grads(f, *args, wrt=floats)
    if second:
        twin = autograd_twin(f)
        for i in floats:
            d2 = srcad.grad(srcad.grad(f, wrt=i), wrt=i)(*args)
            want2 = autograd.grad(autograd.grad(twin, i), i)(*args)
            np.testing.assert_allclose(d2, want2, rtol=1e-7, atol=1e-9)
        if all(isinstance(args[i], float) for i in floats) and len(floats) == len(args):
            h = srcad.hessian(f)(*args)
            np.testing.assert_allclose(np.reshape(h, -1), np.reshape(
                autograd.hessian(twin)(*args), -1), rtol=1e-7, atol=1e-9)


# ------------------------------------------------------------ 1. tuple assignments
# (the second element read the first target after it was overwritten)

def test_swap_in_loop_reads_the_old_values():
    assert srcad.value_and_grad(R.swap_in_loop)(-0.35) == (-0.35, 1.0)
    check_values_and_grads(R.swap_in_loop, -0.35, second=True)


@pytest.mark.parametrize("f, args", [
    (R.rotate_in_loop, (0.3, 0.7)),
    (R.swap_in_branch, (0.3, 0.7)),
    (R.swap_in_branch, (-0.3, 0.7)),
    (R.fib_in_loop, (0.3, 0.7)),
    (R.rotate_in_branch, (0.9, 0.4, 0.2)),
    (R.swap_in_while, (0.3, 0.8)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_tuple_assignment_in_control_flow(f, args):
    check_values_and_grads(f, *args, second=True)


# ------------------------------------------------------------ 2. reuse across a reassignment

def test_test_expression_not_reused_after_the_branch_reassigns_its_operand():
    assert srcad.value_and_grad(R.cse_after_branch)(0.5)[0] == R.cse_after_branch(0.5)
    check_values_and_grads(R.cse_after_branch, 0.5, second=True)
    check_values_and_grads(R.cse_after_branch, -0.5, second=True)


def test_list_sum_not_reused_after_append_in_branch():
    check_values_and_grads(R.cse_list_after_branch, 0.5)
    check_values_and_grads(R.cse_list_after_branch, -0.5)


def test_reuse_across_reassignment_at_second_order():
    for x in (0.9, 0.1):
        check_values_and_grads(R.cse_second_order, x, second=True)


def test_calls_without_rules_are_never_reused():
    # two draws from one generator: both calls stay, in order
    assert srcad.value_and_grad(R.opaque_twice)(0.7, 5)[0] == R.opaque_twice(0.7, 5)
    check_grads(R.opaque_twice, 0.7, 5, wrt=[0])


# ------------------------------------------------------------ 3. loops rebinding their iterable

@pytest.mark.parametrize("f", [R.rebind_iterable, R.rebind_enumerate, R.rebind_zip,
                               R.rebind_reversed], ids=lambda f: f.__name__)
def test_loop_iterates_the_value_at_entry(f):
    check_values_and_grads(f, np.array([1.1, 1.2, 0.9]))


def test_loop_growing_its_own_list_is_refused():
    with pytest.raises(srcad.UnsupportedSyntaxError) as info:
        srcad.grad(R.grows_iterated)(0.5)
    assert "xs" in str(info.value)
    assert info.value.lineno == line_of(R.grows_iterated, "for v in xs")


# ------------------------------------------------------------ 4. and/or in loops

@pytest.mark.parametrize("f, args", [
    (R.or_in_loop, (1.0, 2.5)),
    (R.or_in_loop, (6.0, 2.5)),
    (R.and_in_loop, (1.0, 2.5)),
    (R.or_in_while, (1.0, 3.5)),
    (R.or_in_while_break, (1.5, 6.5)),
    (R.or_in_while_break, (-0.5, 6.5)),
    (R.ifexp_reads_target, (0.7, 0.3)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_boolean_operators_in_loops(f, args):
    check_values_and_grads(f, *args, second=True)


def test_or_in_loop_gradient_counts_every_iteration():
    # x > 5 is false; i >= 2 holds for i = 2, 3, 4: acc = 3 x
    assert srcad.grad(R.or_in_loop)(1.0, 2.0) == 3.0


# ------------------------------------------------------------ 5. early returns

@pytest.mark.parametrize("x", [0.5, 0.2])
def test_nested_early_return_with_a_pack_in_the_rest(x):
    check_values_and_grads(R.nested_return_pack, x, second=True)
    check_values_and_grads(R.nested_return, x, second=True)


@pytest.mark.parametrize("x", [0.5, 1.5, 2.5])
def test_user_variable_named_like_a_temporary_in_a_copied_continuation(x):
    check_values_and_grads(R.user_temp_copy, x, second=True)


# ------------------------------------------------------------ 6. loop variable reassigned

def test_loop_variable_reassigned_in_its_body():
    check_values_and_grads(R.reassign_loop_var, 0.5, second=True)


def test_loop_and_branch_at_second_order():
    for x in (0.5, 0.9, 1.7):
        check_values_and_grads(R.loop_branch, x, second=True)


# ------------------------------------------------------------ 7. max and min of several values

def test_max_and_min_of_several_values():
    check_values_and_grads(R.max_list, 0.5, 0.3, 0.1, second=True)
    check_values_and_grads(R.max_list, 0.1, 0.3, 0.5, second=True)
    check_values_and_grads(R.min_args, 0.5, 0.3, 0.1, second=True)
    check_values_and_grads(R.min_args, 0.2, 0.3, 0.9, second=True)


def test_max_of_a_list_variable():
    # refused before ISSUE10 item 6; now a loop over the two-argument rule
    assert srcad.grad(R.max_list_var, wrt=(0, 1))(0.5, 0.3) == (1.0, 0.0)
    assert srcad.grad(R.max_list_var, wrt=(0, 1))(0.2, 0.3) == (0.0, 1.0)


# ------------------------------------------------------------ 8. messages

def test_calling_a_parameter_calls_the_function_it_is_given():
    # (was refused with "calling the local value f"; functions as values, issue 10 item 3)
    assert srcad.grad(R.call_param, wrt=1)(np.sin, 0.5) == pytest.approx(np.cos(0.5))
    assert srcad.grad(R.call_param, wrt=1)(np.exp, 0.5) == pytest.approx(np.exp(0.5))
    with pytest.raises(srcad.SrcadError) as info:
        srcad.grad(R.call_param, wrt=0)(np.sin, 0.5)
    msg = str(info.value)
    assert "is a function" in msg and " at 0x" not in msg and "<" not in msg


def test_no_rule_message_names_the_call_not_its_repr():
    with pytest.raises(srcad.NonDifferentiableError) as info:
        srcad.grad(R.opaque_active)(0.5)
    msg = str(info.value)
    assert "rng.normal()" in msg and " at 0x" not in msg
    assert info.value.lineno == line_of(R.opaque_active, "rng.normal(x)")


def test_lower_formats_no_object_with_repr():
    src = inspect.getsource(srcad.lower)
    assert "{obj!r}" not in src and "{text!r}" not in src


# ------------------------------------------------------------ 9. calls without a rule

def test_ssa_shows_calls_without_rules():
    text = srcad.ssa(R.opaque_active)
    assert "default_rng(0)" in text and "normal" in text


def test_call_without_rule_and_no_derivative_through_it_is_fine():
    check_values_and_grads(R.opaque_inactive, 0.5, 1)
    check_values_and_grads(R.opaque_constant, np.array([0.5, 1.5, -0.2]))


def test_call_without_rule_is_refused_only_when_a_derivative_reaches_it():
    for build in (lambda: srcad.grad(R.opaque_active)(0.5),
                  lambda: srcad.jvp(R.opaque_active, (0.5,), (1.0,))):
        with pytest.raises(srcad.NonDifferentiableError) as info:
            build()
        assert "no derivative rule" in str(info.value)


def test_check_rules_reads_the_varied_names():
    fn = srcad.lower.lower(srcad.frontend.parse(R.opaque_active))
    srcad.lower.check_rules(fn, set())                   # nothing varied: accepted
    with pytest.raises(srcad.NonDifferentiableError):
        srcad.lower.check_rules(fn, {"x"})


# ------------------------------------------------------------ naming and the IR checker

def test_user_variables_named_like_srcad_names():
    check_values_and_grads(R.user_temp_names, 0.5, second=True)
    check_values_and_grads(R.user_temp_names, -0.5, second=True)
    fn = srcad.lower.lower(srcad.frontend.parse(R.user_temp_names))
    user = {"v0", "v3", "phi0", "x_bar", "d_out", "result", "returned"}
    assert not user & fn.temps and not user & fn.merge_names


def test_possibly_unassigned_variable_is_refused_with_its_line():
    with pytest.raises(srcad.UnsupportedSyntaxError) as info:
        srcad.grad(R.maybe_unbound)(0.5)
    assert "'y'" in str(info.value)
    assert info.value.lineno == line_of(R.maybe_unbound, "return y")
    with pytest.raises(srcad.UnsupportedSyntaxError):
        srcad.ssa(R.maybe_unbound)


def test_custom_rule_calls_are_never_reused():
    # the user's function may be impure: two calls, two draws, as in Python
    srcad.custom_rule(vjp=R.noisy_vjp)(R.noisy)
    text = srcad.ssa(R.twice_noisy)
    assert text.count(" = noisy(x)") == 2, text


def test_variables_every_loop_iteration_assigns_are_read_after_the_loop():
    # as in Python, a loop that runs assigns them; only a branch that may skip them is refused
    check_values_and_grads(R.newton_last_iterate, 2.0)
    check_values_and_grads(R.loop_defines_result, 0.5, 3)
    with pytest.raises(srcad.UnsupportedSyntaxError) as info:
        srcad.grad(R.break_before_assign)(0.5)
    assert "'y'" in str(info.value)


def test_values_are_not_reused_across_a_call_that_may_change_its_arguments():
    # (the derivative itself is refused by the alias analysis: the helper changes y)
    x = np.array([1.0, 2.0])
    text = srcad.ssa(R.helper_changes_argument)
    assert text.count("y * 2.0") == 2, text
    with pytest.raises(srcad.UnsupportedSyntaxError, match="scale_in_place"):
        srcad.value_and_grad(R.helper_changes_argument)(x)    # the helper changes y in place


def test_loop_reading_a_variable_its_first_iteration_has_not_assigned_is_refused():
    with pytest.raises(srcad.UnsupportedSyntaxError) as info:
        srcad.grad(R.carried_unassigned)(0.5)
    assert "'t'" in str(info.value)
    assert info.value.lineno == line_of(R.carried_unassigned, "s = s + t")
