"""srcad.check, the internal checker of generated code, and the pipeline's named passes."""
import ast
import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import fixtures
import srcad
from fixtures import regress_check as rc
from fixtures import regress_s3lead as R
from srcad import check, pipeline
from srcad.errors import SrcadError
from srcad.testing import check_grads


def tree_of(src: str) -> ast.FunctionDef:
    return ast.parse(src).body[0]


def fn_of(temps=()):
    """A stand-in for the lowered function the checked trees come from."""
    from srcad import ir
    fn = ir.Function(name="f", params=["x"], body=[], filename="user.py", firstline=3)
    fn.temps, fn.merge_names = set(temps), set()
    return fn


def run_check(src, temps=(), env=()):
    check.check([tree_of(src)], fn_of(temps), (set(env),), "reverse")


# ---------------------------------------------------------------- each defect is caught

def test_read_before_assignment_on_one_branch():
    src = """
def f_grad(x, d_out=1.0):
    if x > 0.0:
        t = x * 2.0
    return t * d_out
"""
    with pytest.raises(SrcadError, match=r"internal check after reverse: f_grad.*'t' may be "
                                         r"read before it is assigned in `return t \* d_out`"):
        run_check(src)


def test_read_after_a_loop_that_may_not_run():
    src = """
def f_grad(x, n):
    for i in range(n):
        t = x * i
    return t
"""
    with pytest.raises(SrcadError, match="'t' may be read before"):
        run_check(src)


def test_unknown_free_name():
    with pytest.raises(SrcadError, match="'helper_grad' is not defined"):
        run_check("def f_grad(x):\n    return helper_grad(x)\n")
    run_check("def f_grad(x):\n    return helper_grad(x)\n", env={"helper_grad"})
    run_check("def f_grad(x):\n    return np.sin(x) + unbroadcast(x, x) + float(x)\n")


def test_shared_node():
    tree = tree_of("def f_grad(x):\n    a = x\n    return a\n")
    tree.body[1].value = tree.body[0].value           # one Name node, two parents
    with pytest.raises(SrcadError, match=r"AST node `x` appears twice: in `a = x` and in "
                                         r"`return x`"):
        check.check([tree], fn_of(), (), "optimize")


def test_shared_node_across_two_functions():
    fwd = tree_of("def f_fwd(x):\n    return x\n")
    bwd = tree_of("def f_bwd(x):\n    return x\n")
    bwd.body[0].value = fwd.body[0].value
    with pytest.raises(SrcadError, match="appears twice"):
        check.check([fwd, bwd], fn_of(), (), "reverse")


def test_temporary_assigned_twice():
    src = """
def f_grad(x):
    v0 = x * 2.0
    v0 = x * 3.0
    return v0
"""
    with pytest.raises(SrcadError, match=r"temporary 'v0' is assigned twice: `v0 = x \* 2.0` "
                                         r"and `v0 = x \* 3.0`"):
        run_check(src, temps={"v0"})
    run_check(src)              # a user variable (or an adjoint) may be reassigned


def test_temporary_bound_by_two_different_loops():
    src = """
def f_grad(x, n):
    for v1 in range(n):
        x = x * 2.0
    for v1 in range(3):
        x = x * 2.0
    return x
"""
    with pytest.raises(SrcadError, match="temporary 'v1' is assigned twice"):
        run_check(src, temps={"v1"})


def test_tree_that_does_not_compile():
    tree = tree_of("def f_grad(x):\n    if x:\n        pass\n    return x\n")
    tree.body[0].body = []                              # an empty block
    with pytest.raises(SrcadError, match="does not compile"):
        check.check([tree], fn_of(), (), "optimize")


# ---------------------------------------------------------------- and what srcad writes passes

def test_branch_replayed_from_its_recorded_test():
    run_check("""
def f_grad(x, d_out=1.0):
    v0 = x > 1.0
    if v0:
        pass
    else:
        v1 = x > 0.0
        if v1:
            pass
        else:
            v2 = -x
    if v0:
        x_bar = 2 * d_out * x
    elif v1:
        x_bar = d_out
    else:
        x_bar = v2 * d_out
    return x_bar
""", temps={"v0", "v1", "v2"})


def test_replay_after_the_test_is_reassigned_is_a_new_test():
    with pytest.raises(SrcadError, match="'t' may be read before"):
        run_check("""
def f_grad(x):
    c = x > 0.0
    if c:
        t = x
    c = x > 1.0
    if c:
        return t
    return x
""")


def test_a_test_set_in_both_arms_of_a_branch_is_replayed_under_that_branch():
    # fuzz 5:22 with SRCAD_CHECKS=1: `phi0` (an `or`'s value) is set in both arms of
    # `if v0`, all inside `if c`; replayed under `not c`, it is the value the else arm of
    # `if c` left, not the merge after it (a false "v1 may be read before it is assigned")
    src = """
def f_grad(x, c, v0):
    phi0 = None
    if c:
        pass
    else:
        if v0:
            phi0 = v0
        else:
            phi0 = True
        if phi0:
            pass
        else:
            v1 = 1.0
    if c:
        pass
    else:
        if phi0:
            pass
        else:
            return v1
    return x
"""
    run_check(src)
    with pytest.raises(SrcadError, match="'v1' may be read before"):    # reassigned: new
        run_check(src.replace("    else:\n        if phi0:\n            pass\n        else:\n"
                              "            return v1",
                              "    else:\n        phi0 = c\n        if phi0:\n            pass\n"
                              "        else:\n            return v1"))


def test_flag_set_before_a_break():
    """The lowering's early return: `returned` says whether `result` was assigned."""
    run_check("""
def f_jvp(x, x_dot):
    returned = False
    for i in range(100):
        x = x * 1.5
        if x > 10.0:
            result = x
            returned = True
            break
    if returned:
        pass
    else:
        result = x
    return result
""")
    with pytest.raises(SrcadError, match="'result' may be read before"):
        run_check("""
def f_jvp(x, x_dot):
    returned = False
    for i in range(100):
        if x > 10.0:
            returned = True
            break
        result = x
    if returned:
        pass
    else:
        result = x
    return result
""")


def test_flag_restored_from_a_stack_still_guards():
    """The reverse sweep pops the flag back (`returned = returned_stack.pop()`) in a loop
    after the test that read it; a restore says nothing of which value comes back."""
    src = """
def f_grad(x, d_out=1.0):
    returned_stack = []
    returned = False
    for i in range(3):
        if x > 1.0:
            result = x
            returned_stack.append(returned)
            returned = True
            break
    if returned:
        pass
    else:
        result = x * 2.0
    for i in range(3):
        returned = returned_stack.pop()
    return result
"""
    run_check(src)
    restored_then_tested = """
def f_grad(x, d_out=1.0):
    returned_stack = []
    returned = False
    for i in range(3):
        if x > 1.0:
            result = x
            returned_stack.append(returned)
            returned = True
            break
    for i in range(3):
        returned = returned_stack.pop()
    if returned:
        return result
    return x
"""
    with pytest.raises(SrcadError, match="'result' may be read"):
        run_check(restored_then_tested)


def test_loop_replayed_backwards_and_stack_restores():
    run_check("""
def f_grad(x, n, d_out=1.0):
    s_stack = []
    v2 = None
    v0 = range(n)
    s = x
    count = 0
    for v1 in v0:
        count = count + 1
        v2 = s * x
        s_stack.append(s)
        s = v2
        if s > 5.0:
            break
    s_bar = d_out
    x_bar = 0.0
    for v1 in reversed(v0[:count]):
        s = s_stack.pop()
        x_bar = x_bar + s * s_bar
        s_bar = s_bar * x
    return x_bar + s_bar
""", temps={"v0", "v1", "v2"})


def test_while_true_defines_what_every_break_does():
    run_check("""
def f(x):
    while True:
        y = x * 2.0
        if y > 1.0:
            break
        x = y
    return y
""")


def test_comprehension_names_are_its_own():
    run_check("def f(xs):\n    return [a * 2 for a in xs]\n")
    with pytest.raises(SrcadError, match="'a' may be read"):
        run_check("def f(xs):\n    ys = [a for a in xs]\n    b = a\n    a = 1\n    return b\n")


FIXTURE_MODULES = [m.name for m in pkgutil.iter_modules(fixtures.__path__)]


def fixture_functions():
    for name in FIXTURE_MODULES:
        module = importlib.import_module(f"fixtures.{name}")
        for fname, f in inspect.getmembers(module, inspect.isfunction):
            if f.__module__ == module.__name__ and inspect.signature(f).parameters:
                yield f


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_every_fixture_function_passes_the_checks(mode):
    """Every fixture function srcad differentiates gives trees that pass the checks after
    the emitter and after optimize (the builds srcad refuses raise their own error)."""
    built = 0
    for f in fixture_functions():
        try:
            pipeline.build(f, mode, (0,), pipeline.static_kinds(f), checks=True)
        except SrcadError as e:
            assert "internal check" not in str(e), str(e)
            continue
        except SyntaxError:
            continue                      # fixtures of deliberately unparsable sources
        built += 1
    assert built > 250


# ---------------------------------------------------------------- bugs the checker found

@pytest.mark.parametrize("a", [0.7, -0.7])
def test_second_derivative_through_a_branch_assigning_only_one_side(a):
    """grad(grad(f)) zero-filled the adjoint of a temporary of the branch not taken with
    `zeros_like(v2)` (UnboundLocalError for a > 0); f = a*a or -a*a, f'' = +-2."""
    assert srcad.grad(srcad.grad(rc.branch_square))(a) == pytest.approx(2.0 if a > 0 else -2.0)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_reverse_over_reverse_through_a_branch_on_an_array(sign):
    """The same zero-fill for a branch on an array, reverse over reverse: the Hessian of
    sum(sin(x) x) where the branch is taken, of sum(2 x) where not."""
    x = sign * np.array([0.3, 0.5])
    got = srcad.jacrev(srcad.grad(rc.branch_then_replay))(x)
    want = np.diag(2 * np.cos(x) - x * np.sin(x)) if sign > 0 else np.zeros((2, 2))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("y", [0.3, 1.5])
def test_nested_and_tests_with_an_early_return(y):
    """A test nested in another `if` names a version merged after the outer one: the check
    resolved it on the outer arm only one level deep and flagged `v2` (np.exp(y)) as maybe
    unassigned in the reverse sweep (fuzz 1106:43). f = exp(y) for |y| < 1, else 1."""
    pipeline.build(rc.nested_and_tests_return, "reverse", (0,), ("float",), checks=True)
    want = np.exp(y) if abs(y) < 1.0 else 0.0
    assert srcad.value_and_grad(rc.nested_and_tests_return)(y)[1] == pytest.approx(want)


@pytest.mark.parametrize("y", [0.3, 1.5])
def test_nested_and_tests_with_an_early_return_at_second_order(y):
    """The same at second order: a merge's arm literal names a version merged after an outer
    `if` (its test read it), so it is resolved on the path too (fuzz 1106:43 grad2)."""
    want = np.exp(y) if abs(y) < 1.0 else 0.0
    assert srcad.grad(srcad.grad(rc.nested_and_tests_return))(y) == pytest.approx(want)
    assert srcad.hessian(rc.nested_and_tests_return)(y) == pytest.approx(want)


def test_tuple_adjoint_items_do_not_share_nodes():
    """A packed tuple's adjoint `v_bar[k]` used one Name node for all its items."""
    from fixtures import control_funcs as cf
    pipeline.build(cf.iter_tuple, "reverse", (0, 1), ("float", "float"), checks=True)
    x, y = 1.3, -0.7
    want = (2 * x + 2 * x * y * y, 2 * y + 2 * x * x * y)
    assert srcad.grad(cf.iter_tuple, wrt=(0, 1))(x, y) == pytest.approx(want)


# ---------------------------------------------------------------- the pass list and debug output

def test_pass_names_are_the_documented_ones():
    names = [p[0] for p in pipeline.PASSES]
    assert names == ["frontend", "lower", "verify", "activity", "checkpoint", "emit", "check",
                     "optimize", "check", "numba", "codegen"]
    for n in names:
        assert n in pipeline.__doc__


def test_unknown_debug_name_is_refused_with_the_valid_ones():
    with pytest.raises(SrcadError, match=r"unknown pass name optimise; the passes are "
                                         r"frontend, lower, .*codegen, source, forward, reverse"):
        pipeline.build(rc.branch_square, "reverse", (0,), ("float",), debug="lower,optimise")


def test_debug_env_var_is_read(monkeypatch, capsys):
    monkeypatch.setenv("SRCAD_DEBUG", "nope")
    with pytest.raises(SrcadError, match="unknown pass name nope"):
        pipeline.build(rc.branch_square, "reverse", (0,), ("float",))
    monkeypatch.setenv("SRCAD_DEBUG", "lower")
    pipeline.build(rc.branch_square, "forward", (0,), ("float",))
    out = capsys.readouterr().out
    assert "after lower" in out and "v0 = a >= 0" in out


def test_debug_prints_after_each_named_pass(capsys):
    d = pipeline.build(rc.branch_square, "reverse", (0,), ("float",),
                       debug="frontend,activity,emit,optimize,source")
    out = capsys.readouterr().out
    headers = [ln for ln in out.splitlines() if ln.startswith("# srcad:")]
    assert [h.rsplit(" ", 1)[1] for h in headers] == ["frontend", "activity", "emit",
                                                       "optimize", "codegen"]
    parts = out.split("# srcad:")
    assert "def branch_square(a):" in parts[1]
    activity_part = parts[2]
    for label in ("wrt: a", "kinds:", "shapes:", "varied:", "useful:", "active:"):
        assert label in activity_part
    emitted, optimized = parts[3], parts[4]
    # before optimize the tree still has the adjoint copies the optimizer propagates
    assert emitted.count("\n") > optimized.count("\n")
    assert d.text.strip() in parts[5]


def test_forward_and_reverse_debug_print_only_the_compiled_source(capsys):
    d = pipeline.build(rc.branch_square, "forward", (0,), ("float",), debug="reverse")
    assert capsys.readouterr().out == ""
    d = pipeline.build(rc.branch_square, "forward", (0,), ("float",), debug="forward")
    assert capsys.readouterr().out.strip() == d.text.strip()


def test_checks_follow_the_env_var(monkeypatch):
    calls = []
    monkeypatch.setattr(check, "check", lambda trees, fn, env, after: calls.append(after))
    monkeypatch.setenv("SRCAD_CHECKS", "0")
    pipeline.build(rc.branch_square, "reverse", (0,), ("float",))
    assert calls == []
    monkeypatch.setenv("SRCAD_CHECKS", "1")
    pipeline.build(rc.branch_square, "reverse", (0,), ("float",))
    assert calls == ["reverse", "optimize"]
    pipeline.build(rc.branch_square, "forward", (0,), ("float",), checks=False)
    assert calls == ["reverse", "optimize"]


def test_ssa_runs_the_first_passes():
    assert "v0 = a >= 0" in pipeline.ssa(rc.branch_square)


def test_nested_elif_tests_made_by_and_are_correlated_in_the_reverse():
    x = np.array([0.3, 1.2, -0.7])
    for k in (0, [2.0, 1.0], {"s": 3.0}, 5):
        pipeline.build(rc.elif_chain_of_ands, "reverse", (0,),
                       pipeline.static_kinds(rc.elif_chain_of_ands), checks=True)
        g = srcad.grad(rc.elif_chain_of_ands)(x, k)
        from srcad.testing import numerical_grad
        np.testing.assert_allclose(g, numerical_grad(rc.elif_chain_of_ands, [x, k], 0),
                                   rtol=1e-6, atol=1e-8)


# regressions: the checker on or-tests replayed in branches (check.py)
@pytest.mark.parametrize("f", [R.or_in_untaken_elif, R.or_returning_before_a_loop])
def test_or_tests_replayed_in_branches_pass_the_internal_checks(f, monkeypatch):
    # fuzz seed 5 with SRCAD_CHECKS=1: srcad.check took the replayed `or` value for a new
    # test and reported reads of what its branch assigns (the derivatives were right)
    monkeypatch.setenv("SRCAD_CHECKS", "1")
    check_grads(f, 0.6)
    assert srcad.hessian(f)(0.6) == 0.0
    assert srcad.grad(srcad.grad(f))(0.6) == 0.0


# ---------------------------------------------------------------- a loop replayed backwards
# grad(grad) of a `return` inside a loop (fuzz 3208:253 under SRCAD_CHECKS=1): the reverse
# sweep's `for i in reversed(v0)` pops `done` back to what it was before `for i in v0`
# changed it, so `if done:` after it is the test made before both, and what its `else`
# arm assigned then is assigned
_REPLAYED = """
def f_grad_grad(x, c, d_out=1.0):
    done_stack = []
    v5_stack = []
    v5 = None
    done = c > 0.0
    if done:
        pass
    else:
        t = x * 2.0
    v0 = range(3)
    for i in v0:
        if v5:
            done_stack.append(done)
            done = x > 1.0
        v5_stack.append(v5)
        v5 = x > 2.0
    MIDDLE
    for i in reversed(v0):
        v5 = v5_stack.pop()
        if v5:
            RESTORE
    if done:
        r = x
    else:
        r = t
    return r
"""


def _replayed_src(restore="done = done_stack.pop()", middle="y = x"):
    return _REPLAYED.replace("RESTORE", restore).replace("MIDDLE", middle)


def test_a_name_a_loop_replayed_backwards_restores_keeps_its_tests():
    run_check(_replayed_src(), temps={"v0", "v5"})


@pytest.mark.parametrize("restore, middle", [
    ("x = done_stack.pop()", "y = x"),               # not restored: a new value
    ("done = done_stack.pop()\n            done = x > 3.0", "y = x"),
    ("done = done_stack.pop()", "done = x > 0.5"),   # changed between the loops
    ("done = done_stack.pop()", "done_stack.append(x)"),  # its stack touched between
])
def test_a_replay_that_does_not_restore_is_still_caught(restore, middle):
    with pytest.raises(SrcadError, match="'t' may be read before it is assigned in `r = t`"):
        run_check(_replayed_src(restore, middle), temps={"v0", "v5"})


def test_a_replay_whose_test_changed_between_the_loops_is_still_caught():
    # `w` changes between the loops: the second's `if w:` is not the first's, so its pop
    # need not take what the first pushed
    src = _replayed_src(middle="w = x > 9.0").replace("    for i in v0:\n        if v5:",
                                                       "    w = x > 0.5\n    for i in v0:\n"
                                                       "        if w:")
    src = src.replace("        v5 = v5_stack.pop()\n        if v5:", "        v5 = v5_stack.pop()\n"
                      "        if w:")
    assert src.count("if w:") == 2
    with pytest.raises(SrcadError, match="'t' may be read before it is assigned in `r = t`"):
        run_check(src, temps={"v0", "v5"})
    run_check(src.replace("w = x > 9.0", "y = x"), temps={"v0", "v5"})
