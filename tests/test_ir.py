"""The IR checker: `srcad.ir.verify` accepts every lowered fixture and rejects broken IR."""
import operator

import pytest
import numpy as np

import srcad
import srcad.frontend
import srcad.ir as ir
import srcad.lower
import srcad.rules
from srcad.testing import check_grads

from fixtures import core_funcs as core
from fixtures.catalog import ALL
from conftest import check_values_and_grads
from conftest import line_of
from fixtures import regress_lead as R
from fixtures import regress_lower as R_lower


@pytest.mark.parametrize("f", ALL, ids=[f.__name__ for f in ALL])
def test_verify_accepts_lowered_fixture(f):
    fn = srcad.lower.lower(srcad.frontend.parse(f))
    ir.verify(fn)
    # printing the IR gives valid Python
    compile(ir.to_source(fn), "<ir>", "exec")


def _mul(a, b):
    return ir.Call(srcad.rules.lookup(operator.mul), [a, b])


def _function(body, params=("x",), temps=("v0", "v1")):
    """A hand-built function whose temporaries are `temps` (the lowering's record)."""
    return ir.Function(name="g", params=list(params), body=body, filename="g.py", firstline=1,
                       temps=set(temps))


def test_verify_accepts_hand_built_ir():
    body = [ir.Assign("v0", _mul(ir.Name("x"), ir.Name("x")), 2),
            ir.Assign("y", _mul(ir.Name("v0"), ir.Const(2.0)), 3),
            ir.Return(ir.Name("y"), 4)]
    ir.verify(_function(body))
    assert ir.to_source(_function(body)) == \
        "def g(x):\n    v0 = x * x\n    y = v0 * 2.0\n    return y\n"


def test_verify_rejects_use_before_definition():
    body = [ir.Assign("v0", _mul(ir.Name("x"), ir.Name("w")), 2),
            ir.Return(ir.Name("v0"), 3)]
    with pytest.raises(srcad.SrcadError) as info:
        ir.verify(_function(body))
    assert "w" in str(info.value)
    assert info.value.lineno == 2 and info.value.filename == "g.py"


def test_verify_rejects_temporary_assigned_twice():
    body = [ir.Assign("v0", _mul(ir.Name("x"), ir.Name("x")), 2),
            ir.Assign("v0", _mul(ir.Name("v0"), ir.Name("x")), 3),
            ir.Return(ir.Name("v0"), 4)]
    with pytest.raises(srcad.SrcadError) as info:
        ir.verify(_function(body))
    assert "v0" in str(info.value)


def test_verify_rejects_undefined_return_value():
    body = [ir.Return(ir.Name("nowhere"), 2)]
    with pytest.raises(srcad.SrcadError):
        ir.verify(_function(body))


def test_verify_rejects_temporary_used_before_definition():
    body = [ir.Assign("v0", _mul(ir.Name("v1"), ir.Name("x")), 2),
            ir.Assign("v1", _mul(ir.Name("x"), ir.Name("x")), 3),
            ir.Return(ir.Name("v0"), 4)]
    with pytest.raises(srcad.SrcadError):
        ir.verify(_function(body))


def test_verify_after_each_pass_of_the_worked_example():
    # the lowered function of the worked example is exactly its three operations
    fn = srcad.lower.lower(srcad.frontend.parse(core.ex1))
    ir.verify(fn)
    calls = [s.value.prim for s in fn.body if isinstance(s, ir.Assign)]
    assert [srcad.rules.lookup(op) for op in (operator.mul, operator.truediv, operator.add)] \
        == calls


def test_unique_name_takes_the_first_free_name_and_records_it():
    taken = {"x", "x_1", "v0", "v1"}
    assert ir.unique_name("y", taken) == "y" and "y" in taken
    assert ir.unique_name("x", taken) == "x_2" and "x_2" in taken
    assert ir.unique_name("v", taken, start=0) == "v2"
    assert ir.unique_name("v", taken, start=0) == "v3"


def _gt(a, b):
    return ir.Call(srcad.rules.lookup(operator.gt), [a, b])


def test_verify_follows_a_condition_tested_again():
    # the reverse sweep's shape: `w` is assigned under `if c:` and read under a later `if c:`
    body = [ir.Assign("c", _gt(ir.Name("x"), ir.Const(0.0)), 2),
            ir.If(ir.Name("c"), [ir.Assign("w", _mul(ir.Name("x"), ir.Name("x")), 3)], [], 3),
            ir.If(ir.Name("c"), [ir.Assign("v0", _mul(ir.Name("w"), ir.Name("x")), 4)], [], 4),
            ir.Return(ir.Name("x"), 5)]
    ir.verify(_function(body))
    # ... but not once `c` may have changed in between
    changed = body[:2] + [ir.Assign("c", ir.Const(True), 4)] + body[2:]
    with pytest.raises(srcad.SrcadError) as info:
        ir.verify(_function(changed))
    assert "'w'" in str(info.value)


def test_verify_rejects_a_user_variable_assigned_on_one_path_only():
    body = [ir.If(ir.Name("x"), [ir.Assign("w", ir.Const(1.0), 2)], [], 2),
            ir.Return(ir.Name("w"), 3)]
    with pytest.raises(srcad.SrcadError) as info:
        ir.verify(_function(body))
    assert "'w'" in str(info.value) and info.value.lineno == 3


def test_verify_accepts_a_variable_every_loop_iteration_assigns():
    loop = ir.For("i", ir.Name("x"), [ir.Assign("w", ir.Name("i"), 3)], 2)
    ir.verify(_function([loop, ir.Return(ir.Name("w"), 4)]))
    # a while loop leaves only by a break: what is assigned before each break counts
    loop = ir.While([ir.Assign("w", ir.Const(1.0), 3), ir.Break(4)], 2)
    ir.verify(_function([loop, ir.Return(ir.Name("w"), 5)]))


# regressions: ir.verify: constant tests, names assigned on every loop iteration (ir.py)
def test_second_order_through_constant_tests():
    assert srcad.grad(srcad.grad(R.constant_test_elif))(0.4) == 0.0
    assert srcad.hessian(R.constant_test_elif)(0.4) == 0.0
    x = np.array([0.3, -0.8])
    H = srcad.hessian(R.constant_test_return_in_loop)(x)
    t = np.tanh(x)
    np.testing.assert_allclose(H, np.diag(-2 * t * (1 - t ** 2)), rtol=1e-12)
    check_grads(srcad.grad(R.constant_test_return_in_loop), x)


def test_variables_every_loop_iteration_assigns_are_read_after_the_loop():
    # as in Python, a loop that runs assigns them; only a branch that may skip them is refused
    check_values_and_grads(R_lower.newton_last_iterate, 2.0)
    check_values_and_grads(R_lower.loop_defines_result, 0.5, 3)
    with pytest.raises(srcad.UnsupportedSyntaxError) as info:
        srcad.grad(R_lower.break_before_assign)(0.5)
    assert "'y'" in str(info.value)


def test_loop_reading_a_variable_its_first_iteration_has_not_assigned_is_refused():
    with pytest.raises(srcad.UnsupportedSyntaxError) as info:
        srcad.grad(R_lower.carried_unassigned)(0.5)
    assert "'t'" in str(info.value)
    assert info.value.lineno == line_of(R_lower.carried_unassigned, "s = s + t")
