"""Lowering to SSA three-address form: `srcad.ssa(f)` and `srcad.lower.lower`."""
import ast
import collections
import inspect
import textwrap

import numpy as np
import pytest

import srcad
import srcad.frontend
import srcad.ir
import srcad.lower
from srcad.testing import check_grads
from srcad.testing import numerical_grad

from fixtures import control_funcs as cf
from fixtures import core_funcs as core
from fixtures.cases import CONTROL_CASES, CORE_CASES
from fixtures.catalog import ALL
from conftest import check_values_and_grads
from conftest import line_of
from conftest import second_derivatives
from conftest import second_order
from fixtures import regress_fixes as rf
from fixtures import regress_fuzz as rf_fuzz
from fixtures import regress_lead as R
from fixtures import regress_lead6 as R_lead6
from fixtures import regress_lower as R_lower
from fixtures import regress_rules as rr
from fixtures import regress_s3lead as R_s3lead
from fixtures import regress_s3py as R_s3py
from fixtures import regress_s4fz as R_s4fz
from fixtures import regress_s4py as R_s4py
from fixtures import regress_s6fz as R_s6fz


def _fn(text):
    tree = ast.parse(text)
    assert len(tree.body) == 1 and isinstance(tree.body[0], ast.FunctionDef)
    return tree.body[0]


def _assigns(fn):
    return [n for n in ast.walk(fn) if isinstance(n, ast.Assign)]


def _target_names(node):
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]


def _is_atom(e):
    if isinstance(e, (ast.Name, ast.Constant)):
        return True
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub) and \
            isinstance(e.operand, ast.Constant):
        return True                                # a negative literal
    if isinstance(e, ast.Tuple):
        return all(_is_atom(x) for x in e.elts)    # a constant tuple such as axis=(0, 1)
    return False


def _is_dotted(e):
    while isinstance(e, ast.Attribute):
        e = e.value
    return isinstance(e, ast.Name)


def _index_is_atoms(s):
    if isinstance(s, ast.Slice):
        return all(p is None or _is_atom(p) for p in (s.lower, s.upper, s.step))
    if isinstance(s, ast.Tuple):
        return all(_index_is_atoms(x) for x in s.elts)
    return _is_atom(s)


def _one_operation(e):
    """True when `e` is an atom or one operation whose operands are all atoms."""
    if _is_atom(e):
        return True
    if isinstance(e, ast.BinOp):
        return _is_atom(e.left) and _is_atom(e.right)
    if isinstance(e, ast.UnaryOp):
        return _is_atom(e.operand)
    if isinstance(e, ast.Compare):
        return len(e.ops) == 1 and _is_atom(e.left) and _is_atom(e.comparators[0])
    if isinstance(e, ast.Call):
        return _is_dotted(e.func) and all(_is_atom(a) for a in e.args) and \
            all(_is_atom(k.value) for k in e.keywords)
    if isinstance(e, ast.Subscript):
        return _is_atom(e.value) and _index_is_atoms(e.slice)
    if isinstance(e, ast.Attribute):
        return _is_atom(e.value)
    if isinstance(e, ast.List) and len(e.elts) == 2 and isinstance(e.elts[0], ast.Starred):
        return _is_atom(e.elts[0].value) and _is_atom(e.elts[1])   # append: `[*xs, v]`
    if isinstance(e, (ast.Tuple, ast.List)):
        return all(_is_atom(x) for x in e.elts)
    return False


def _user_names(f):
    """Every name in `f`'s own source: parameters, locals, globals it reads."""
    tree = _fn(textwrap.dedent(inspect.getsource(f)))
    names = {a.arg for a in tree.args.args + tree.args.kwonlyargs}
    return names | {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


# ------------------------------------------------------------ ssa(f) on every fixture

@pytest.mark.parametrize("f", ALL, ids=[f.__name__ for f in ALL])
def test_ssa_is_valid_python(f):
    text = srcad.ssa(f)
    compile(text, "<ssa>", "exec")
    fn = _fn(text)
    assert fn.name == f.__name__
    assert [a.arg for a in fn.args.args] == list(inspect.signature(f).parameters)


@pytest.mark.parametrize("f", ALL, ids=[f.__name__ for f in ALL])
def test_ssa_one_operation_per_line(f):
    fn = _fn(srcad.ssa(f))
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign):
            assert len(node.targets) == 1
            assert _one_operation(node.value), ast.unparse(node)
        elif isinstance(node, ast.If):
            assert _is_atom(node.test), ast.unparse(node.test)
        elif isinstance(node, ast.For):
            assert isinstance(node.target, ast.Name) and _is_atom(node.iter), ast.unparse(node.iter)
        elif isinstance(node, ast.While):
            assert isinstance(node.test, ast.Constant) and node.test.value is True
        elif isinstance(node, ast.Return):
            assert node.value is None or _is_atom(node.value)
        elif isinstance(node, ast.Expr):
            assert _one_operation(node.value), ast.unparse(node)
        elif isinstance(node, ast.stmt):
            assert isinstance(node, (ast.FunctionDef, ast.Break, ast.Continue, ast.Pass)), \
                ast.unparse(node)


def _lowered(f):
    return srcad.lower.lower(srcad.frontend.parse(f))


@pytest.mark.parametrize("f", ALL, ids=[f.__name__ for f in ALL])
def test_ssa_temporaries_are_recorded_numbered_and_assigned_once(f):
    # the lowering's own record says which names are its temporaries, never their spelling
    fn = _lowered(f)
    user = _user_names(f)
    counts = collections.Counter(t for s in srcad.ir.walk(fn.body) for t in srcad.ir.targets(s))
    for name, k in counts.items():
        if name in fn.temps:
            assert k == 1 and name not in user, name
        elif name in fn.merge_names:
            assert name not in user, name                 # result, returned, phi<k>
        else:
            assert fn.versions.get(name, name) in user, name
    assert fn.temps <= {f"v{k}" for k in range(len(fn.temps) + len(user))}
    if fn.temps:
        assert "v0" in fn.temps


def test_ssa_of_worked_example():
    fn = _fn(srcad.ssa(core.ex1))
    body = fn.body
    assert [type(s) for s in body] == [ast.Assign] * 3 + [ast.Return]
    ops = [type(s.value.op) for s in body[:3]]
    assert ops == [ast.Mult, ast.Div, ast.Add]
    names = [s.targets[0].id for s in body[:3]]
    temps = _lowered(core.ex1).temps
    assert names[0] in temps and names[1] in temps and names[0] != names[1]
    assert names[2] == "y"                                   # the user's name is kept
    assert ast.unparse(body[2].value) == f"{names[0]} + {names[1]}"
    assert ast.unparse(body[3]) == "return y"


def test_ssa_temporaries_count_from_v0_in_order():
    fn = _fn(srcad.ssa(core.loop_free_scalar))
    record = _lowered(core.loop_free_scalar).temps
    temps = [s.targets[0].id for s in fn.body if isinstance(s, ast.Assign)
             and s.targets[0].id in record]
    assert temps == [f"v{i}" for i in range(len(temps))]
    assert len(temps) >= 5


def test_ssa_reassignment_gets_new_versions():
    fn = _fn(srcad.ssa(core.reassign))
    targets = [s.targets[0].id for s in fn.body if isinstance(s, ast.Assign)]
    assert len(targets) == len(set(targets)), targets    # each name assigned once
    versions = _lowered(core.reassign).versions
    ys = [t for t in targets if versions.get(t, t) == "y"]
    assert len(ys) == 3 and "y" in ys
    fn = _fn(srcad.ssa(core.aug_assign))
    targets = [s.targets[0].id for s in fn.body if isinstance(s, ast.Assign)]
    assert len(targets) == len(set(targets)), targets


def test_ssa_keeps_control_flow_structured():
    assert any(isinstance(n, ast.If) for n in ast.walk(_fn(srcad.ssa(cf.branch))))
    loop = _fn(srcad.ssa(cf.range_stop))
    assert any(isinstance(n, ast.For) for n in ast.walk(loop))
    assert any(isinstance(n, ast.While) for n in ast.walk(_fn(srcad.ssa(cf.halve))))
    # the loop-carried user variable keeps its name inside the loop
    assert "s" in {n.id for n in ast.walk(loop) if isinstance(n, ast.Name)}


def test_ssa_is_deterministic():
    for f in (core.ex1, cf.rnn, cf.nested_break, cf.return_in_loop):
        assert srcad.ssa(f) == srcad.ssa(f)


def _namespace(f):
    ns = dict(f.__globals__)
    ns["items_of"] = srcad.runtime.items_of      # what a for loop iterates (a dict's keys)
    ns.update({k: c.cell_contents for k, c in zip(f.__code__.co_freevars, f.__closure__ or ())})
    return ns


EXEC_CASES = [(f, a) for f, a in CORE_CASES + CONTROL_CASES]


@pytest.mark.parametrize("f, args", EXEC_CASES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(EXEC_CASES)])
def test_ssa_computes_the_function(f, args):
    """The printed SSA, run in the function's own module namespace, computes f."""
    ns = _namespace(f)
    exec(compile(srcad.ssa(f), "<ssa>", "exec"), ns)
    got = ns[f.__name__](*args)
    np.testing.assert_array_equal(got, f(*args))


# ------------------------------------------------------------ the lower pass itself

def test_lower_returns_named_ir_function():
    fn = srcad.lower.lower(srcad.frontend.parse(core.ex1))
    assert isinstance(fn, srcad.ir.Function)
    assert fn.name == "ex1" and fn.params == ["x0", "x1"]
    assert fn.filename == core.__file__
    assert isinstance(fn.body[-1], srcad.ir.Return)
    assigns = [s for s in fn.body if isinstance(s, srcad.ir.Assign)]
    assert len(assigns) == 3
    assert all(isinstance(s.value, srcad.ir.Call) for s in assigns)
    lines = {s.line for s in assigns}
    assert lines == {inspect.getsourcelines(core.ex1)[1] + 1}    # the user's line numbers


def test_lower_for_loop_over_range_object():
    fn = srcad.lower.lower(srcad.frontend.parse(cf.iter_rows))
    loops = [s for s in srcad.ir.walk(fn.body) if isinstance(s, srcad.ir.For)]
    assert len(loops) == 1
    # `for row in A` iterates over a range object and reads A[i]
    assert isinstance(loops[0].iter, srcad.ir.Name)


def test_lower_while_becomes_while_true_with_break():
    fn = srcad.lower.lower(srcad.frontend.parse(cf.halve))
    loops = [s for s in srcad.ir.walk(fn.body) if isinstance(s, srcad.ir.While)]
    assert len(loops) == 1
    assert any(isinstance(s, srcad.ir.Break) for s in srcad.ir.walk(loops[0].body))


def test_lower_early_return_has_single_exit():
    for f in (cf.early_return, cf.return_in_loop, cf.return_in_while):
        fn = srcad.lower.lower(srcad.frontend.parse(f))
        returns = [s for s in srcad.ir.walk(fn.body) if isinstance(s, srcad.ir.Return)]
        assert len(returns) == 1 and fn.body[-1] is returns[0], f.__name__


def test_ssa_keeps_the_signature_defaults():
    """The printed SSA can be called the way f is: parameters keep their defaults."""
    ns = _namespace(core.with_defaults)
    exec(compile(srcad.ssa(core.with_defaults), "<ssa>", "exec"), ns)
    assert ns["with_defaults"](1.5) == core.with_defaults(1.5)
    assert ns["with_defaults"](1.5, scale=2.0) == core.with_defaults(1.5, scale=2.0)


# regressions: the lowering: reuse, tuple assignments, loops, branches, raises (lower.py)
# ------------------------------------------------------------ 2. iterating dicts and sets
D = {"u": 2.0, "vw": 5.0}


DICT_CASES = [(rf.keys_of_int_dict, ()), (rf.keys_in_insertion_order, ()),
              (rf.dict_argument, (D,)), (rf.dict_items, (D,)), (rf.dict_values, ()),
              (rf.set_items, ()), (rf.enumerate_dict, (D,)), (rf.zip_dict, (D,)),
              (rf.reversed_dict, (D,)), (rf.dict_argument, ({1: 4.0, 0: -1.0},))]


@pytest.mark.parametrize("f, rest", DICT_CASES, ids=[f.__name__ for f, _ in DICT_CASES])
def test_a_loop_over_a_dict_or_set_iterates_what_python_does(f, rest):
    # srcad read d[0], d[1], ...: a KeyError, or for int keys a silently wrong value
    args = (0.7,) + rest
    value, grad = srcad.value_and_grad(f)(*args)
    assert value == f(*args)                                     # bit for bit
    assert grad == pytest.approx(float(numerical_grad(f, args, 0)), rel=1e-7)
    assert srcad.jacfwd(f)(*args) == pytest.approx(grad, rel=1e-12)
    assert srcad.grad(srcad.grad(f))(*args) == pytest.approx(
        float(numerical_grad(srcad.grad(f), args, 0)), rel=1e-6, abs=1e-7)


def test_reversed_of_a_set_raises_as_python_does():
    with pytest.raises(TypeError, match="not reversible"):
        rf.reversed_set(0.5)
    with pytest.raises(TypeError, match="not reversible"):
        srcad.grad(rf.reversed_set)(0.5)


@pytest.mark.parametrize("f", [rf.array_rows, rf.list_of_arrays])
def test_loops_over_arrays_and_lists_still_index_them(f):
    x = np.array([[0.3, -0.7], [1.1, 0.4]])
    check_grads(f, x)
    got, want = second_derivatives(f, (x,))
    for g in got:
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("x, want", [
    (np.array([1.1, 1.2, -1.4]), lambda x: 2.0 * x),
])
def test_return_in_a_loop_after_an_empty_loop(x, want):
    # `if returned: break else: ...; returned = True`: the reverse sweep tested `returned`
    # after the branch had set it, took the other branch, and gave a zero gradient
    f = rf_fuzz.return_in_a_loop_after_an_empty_loop
    np.testing.assert_allclose(srcad.grad(f)(x), want(x), rtol=1e-12)
    np.testing.assert_allclose(srcad.hessian(f)(x), 2.0 * np.eye(3), rtol=1e-12)


@pytest.mark.parametrize("x", [np.array([0.5, -0.2]), np.array([-0.5, 0.3])])
def test_a_branch_that_resets_its_own_test(x):
    want = np.full(2, 3.0) if x[0] > 0 else 2.0 * x
    np.testing.assert_allclose(srcad.grad(rf_fuzz.flag_reset_in_its_branch)(x), want, rtol=1e-12)
    np.testing.assert_allclose(srcad.value_and_grad(rf_fuzz.flag_reset_in_its_branch)(x)[1], want,
                               rtol=1e-12)


def test_a_branch_that_sets_its_own_test_replays_the_value_tested():
    x = np.array([1.0, 2.0, -0.5])
    value, g = srcad.value_and_grad(R.return_after_inner_loop)(x)
    assert value == R.return_after_inner_loop(x)
    np.testing.assert_array_equal(g, np.ones(3))
    check_grads(R.return_after_inner_loop, x)
    check_grads(srcad.grad(lambda y: R.return_after_inner_loop(y) ** 2), x)


def test_early_returns_in_while_loops_keep_their_gradient():
    for n in (1, 3):
        want = 2 * 0.7 * 2 if n >= 2 else 1.0
        assert srcad.grad(R.return_in_while_after_loop)(0.7, n) == want
        check_grads(R.return_in_while_after_loop, 0.7, n)
    assert srcad.hessian(R.return_in_while_after_loop)(0.7, 3) == 4.0


def test_constant_boolean_tests_are_constant():
    assert srcad.grad(R.constant_and_test)(0.3) == pytest.approx(4 * 0.3)
    assert srcad.grad(srcad.grad(R.constant_and_test))(0.3) == pytest.approx(4.0)
    x = 0.3
    t = np.tanh(x)
    assert srcad.grad(R.constant_or_test)(x) == pytest.approx(t + x * (1 - t * t))
    assert srcad.hessian(R.constant_or_test)(x) == \
        pytest.approx(2 * (1 - t * t) - 2 * x * t * (1 - t * t))
    check_grads(srcad.grad(R.constant_or_test), x)
    assert srcad.grad(R.constant_not_test)(0.3) == pytest.approx(0.6)
    assert "if True:" in srcad.ssa(R.constant_and_test)      # a constant test, as written


def test_str_methods_of_a_dicts_keys():
    # `k.startswith("W")` on a key from `params.items()` was refused: srcad cannot type a
    # dict's keys at build time and had no rule for the method
    p = {"W1": np.array([1.0, -2.0]), "W2": np.array([[0.5]]), "b": np.array([3.0, 4.0])}
    g = srcad.grad(R_lead6.l2_of_weights)(p)
    np.testing.assert_allclose(g["W1"], 2 * p["W1"])
    np.testing.assert_allclose(g["W2"], 2 * p["W2"])
    np.testing.assert_allclose(g["b"], np.ones(2))
    fd = numerical_grad(R_lead6.l2_of_weights, (p,), 0, path=("W1",))
    np.testing.assert_allclose(g["W1"], fd, rtol=1e-6)
    H = srcad.hessian(R_lead6.l2_of_weights)(p)
    np.testing.assert_allclose(H["W1"]["W1"], 2 * np.eye(2))


def test_a_str_method_name_on_an_object_of_a_known_class_is_its_method():
    # `.lower()` of an item of a list of objects: srcad knows the item's class (s6py), so the
    # name is the class's method, not str.lower
    objs, x = [R_lead6.Scaled(np.array([1.0, 3.0]))], np.ones(2)
    np.testing.assert_allclose(srcad.grad(R_lead6.lower_of_items, wrt=1)(objs, x), [0.5, 1.5])
    np.testing.assert_allclose(srcad.grad(R_lead6.lower_of_items, wrt=0)(objs, x)[0].a, [0.5, 0.5])


def test_swap_in_loop_reads_the_old_values():
    assert srcad.value_and_grad(R_lower.swap_in_loop)(-0.35) == (-0.35, 1.0)
    check_values_and_grads(R_lower.swap_in_loop, -0.35, second=True)


@pytest.mark.parametrize("f, args", [
    (R_lower.rotate_in_loop, (0.3, 0.7)),
    (R_lower.swap_in_branch, (0.3, 0.7)),
    (R_lower.swap_in_branch, (-0.3, 0.7)),
    (R_lower.fib_in_loop, (0.3, 0.7)),
    (R_lower.rotate_in_branch, (0.9, 0.4, 0.2)),
    (R_lower.swap_in_while, (0.3, 0.8)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_tuple_assignment_in_control_flow(f, args):
    check_values_and_grads(f, *args, second=True)


def test_test_expression_not_reused_after_the_branch_reassigns_its_operand():
    assert srcad.value_and_grad(R_lower.cse_after_branch)(0.5)[0] == R_lower.cse_after_branch(0.5)
    check_values_and_grads(R_lower.cse_after_branch, 0.5, second=True)
    check_values_and_grads(R_lower.cse_after_branch, -0.5, second=True)


def test_list_sum_not_reused_after_append_in_branch():
    check_values_and_grads(R_lower.cse_list_after_branch, 0.5)
    check_values_and_grads(R_lower.cse_list_after_branch, -0.5)


def test_reuse_across_reassignment_at_second_order():
    for x in (0.9, 0.1):
        check_values_and_grads(R_lower.cse_second_order, x, second=True)


def test_calls_without_rules_are_never_reused():
    # two draws from one generator: both calls stay, in order
    assert srcad.value_and_grad(R_lower.opaque_twice)(0.7, 5)[0] == R_lower.opaque_twice(0.7, 5)
    check_grads(R_lower.opaque_twice, 0.7, 5, wrt=[0])


@pytest.mark.parametrize("f", [R_lower.rebind_iterable, R_lower.rebind_enumerate, R_lower.rebind_zip,
                               R_lower.rebind_reversed], ids=lambda f: f.__name__)
def test_loop_iterates_the_value_at_entry(f):
    check_values_and_grads(f, np.array([1.1, 1.2, 0.9]))


def test_loop_growing_its_own_list_is_refused():
    with pytest.raises(srcad.UnsupportedSyntaxError) as info:
        srcad.grad(R_lower.grows_iterated)(0.5)
    assert "xs" in str(info.value)
    assert info.value.lineno == line_of(R_lower.grows_iterated, "for v in xs")


@pytest.mark.parametrize("f, args", [
    (R_lower.or_in_loop, (1.0, 2.5)),
    (R_lower.or_in_loop, (6.0, 2.5)),
    (R_lower.and_in_loop, (1.0, 2.5)),
    (R_lower.or_in_while, (1.0, 3.5)),
    (R_lower.or_in_while_break, (1.5, 6.5)),
    (R_lower.or_in_while_break, (-0.5, 6.5)),
    (R_lower.ifexp_reads_target, (0.7, 0.3)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_boolean_operators_in_loops(f, args):
    check_values_and_grads(f, *args, second=True)


def test_or_in_loop_gradient_counts_every_iteration():
    # x > 5 is false; i >= 2 holds for i = 2, 3, 4: acc = 3 x
    assert srcad.grad(R_lower.or_in_loop)(1.0, 2.0) == 3.0


@pytest.mark.parametrize("x", [0.5, 0.2])
def test_nested_early_return_with_a_pack_in_the_rest(x):
    check_values_and_grads(R_lower.nested_return_pack, x, second=True)
    check_values_and_grads(R_lower.nested_return, x, second=True)


@pytest.mark.parametrize("x", [0.5, 1.5, 2.5])
def test_user_variable_named_like_a_temporary_in_a_copied_continuation(x):
    check_values_and_grads(R_lower.user_temp_copy, x, second=True)


def test_loop_variable_reassigned_in_its_body():
    check_values_and_grads(R_lower.reassign_loop_var, 0.5, second=True)


def test_loop_and_branch_at_second_order():
    for x in (0.5, 0.9, 1.7):
        check_values_and_grads(R_lower.loop_branch, x, second=True)


def test_max_and_min_of_several_values():
    check_values_and_grads(R_lower.max_list, 0.5, 0.3, 0.1, second=True)
    check_values_and_grads(R_lower.max_list, 0.1, 0.3, 0.5, second=True)
    check_values_and_grads(R_lower.min_args, 0.5, 0.3, 0.1, second=True)
    check_values_and_grads(R_lower.min_args, 0.2, 0.3, 0.9, second=True)


def test_no_rule_message_names_the_call_not_its_repr():
    with pytest.raises(srcad.NonDifferentiableError) as info:
        srcad.grad(R_lower.opaque_active)(0.5)
    msg = str(info.value)
    assert "rng.normal()" in msg and " at 0x" not in msg
    assert info.value.lineno == line_of(R_lower.opaque_active, "rng.normal(x)")


def test_lower_formats_no_object_with_repr():
    src = inspect.getsource(srcad.lower)
    assert "{obj!r}" not in src and "{text!r}" not in src


def test_ssa_shows_calls_without_rules():
    text = srcad.ssa(R_lower.opaque_active)
    assert "default_rng(0)" in text and "normal" in text


def test_call_without_rule_and_no_derivative_through_it_is_fine():
    check_values_and_grads(R_lower.opaque_inactive, 0.5, 1)
    check_values_and_grads(R_lower.opaque_constant, np.array([0.5, 1.5, -0.2]))


def test_call_without_rule_is_refused_only_when_a_derivative_reaches_it():
    for build in (lambda: srcad.grad(R_lower.opaque_active)(0.5),
                  lambda: srcad.jvp(R_lower.opaque_active, (0.5,), (1.0,))):
        with pytest.raises(srcad.NonDifferentiableError) as info:
            build()
        assert "no derivative rule" in str(info.value)


def test_check_rules_reads_the_varied_names():
    fn = srcad.lower.lower(srcad.frontend.parse(R_lower.opaque_active))
    srcad.lower.check_rules(fn, set())                   # nothing varied: accepted
    with pytest.raises(srcad.NonDifferentiableError):
        srcad.lower.check_rules(fn, {"x"})


def test_user_variables_named_like_srcad_names():
    check_values_and_grads(R_lower.user_temp_names, 0.5, second=True)
    check_values_and_grads(R_lower.user_temp_names, -0.5, second=True)
    fn = srcad.lower.lower(srcad.frontend.parse(R_lower.user_temp_names))
    user = {"v0", "v3", "phi0", "x_bar", "d_out", "result", "returned"}
    assert not user & fn.temps and not user & fn.merge_names


def test_possibly_unassigned_variable_is_refused_with_its_line():
    with pytest.raises(srcad.UnsupportedSyntaxError) as info:
        srcad.grad(R_lower.maybe_unbound)(0.5)
    assert "'y'" in str(info.value)
    assert info.value.lineno == line_of(R_lower.maybe_unbound, "return y")
    with pytest.raises(srcad.UnsupportedSyntaxError):
        srcad.ssa(R_lower.maybe_unbound)


def test_custom_rule_calls_are_never_reused():
    # the user's function may be impure: two calls, two draws, as in Python
    srcad.custom_rule(vjp=R_lower.noisy_vjp)(R_lower.noisy)
    text = srcad.ssa(R_lower.twice_noisy)
    assert text.count(" = noisy(x)") == 2, text


def test_values_are_not_reused_across_a_call_that_may_change_its_arguments():
    # (the derivative itself is refused by the alias analysis: the helper changes y)
    x = np.array([1.0, 2.0])
    text = srcad.ssa(R_lower.helper_changes_argument)
    assert text.count("y * 2.0") == 2, text
    with pytest.raises(srcad.UnsupportedSyntaxError, match="scale_in_place"):
        srcad.value_and_grad(R_lower.helper_changes_argument)(x)    # the helper changes y in place


def test_a_call_the_rule_does_not_fit_names_the_supported_form():
    with pytest.raises(srcad.UnsupportedSyntaxError, match=r"np\.arctan2\(y, x[,)]") as e:
        srcad.grad(rr.misfit_call)(0.3, 0.5)
    assert e.value.lineno is not None and "0x" not in str(e.value)


def test_list_arguments_added_are_concatenated():
    # `p + q` of two list arguments was differentiated as arithmetic: the forward tangent of
    # [1, 2] + [3] was [0, 1] + [1] = [1, 2] (silently wrong), the gradient a ValueError
    p, q = [1.0, 2.0], [3.0]
    f = R_s3lead.concatenated_list_arguments
    _, dot = srcad.jvp(f, (p, q), ([0.0, 1.0], [1.0]))
    assert dot == 2.0 + 3.0
    gp, gq = srcad.grad(f, wrt=(0, 1))(p, q)
    assert list(gp) == [1.0, 2.0] and list(gq) == [3.0]


def test_lists_a_helper_returns_added_are_refused_not_wrong():
    # the lowering cannot tell these from arrays: srcad refuses instead of a wrong tangent
    # (jvp along y gave 2.0; the derivative is 1.0)
    with pytest.raises(srcad.UnsupportedSyntaxError, match="may be a list or tuple"):
        srcad.jvp(R_s3lead.concatenated_helper_lists, (1.0, 2.0), (0.0, 1.0))
    with pytest.raises(srcad.UnsupportedSyntaxError, match="regress_s3lead.py"):
        srcad.grad(R_s3lead.concatenated_helper_lists)(1.0, 2.0)


X = np.array([0.3, 1.2, -0.7])


def test_raise_keeps_the_primal_check():
    for run in (lambda x: srcad.grad(R_s3py.raise_on_bad_input)(x),
                lambda x: srcad.jvp(R_s3py.raise_on_bad_input, (x,), (x,)),
                lambda x: srcad.hessian(R_s3py.raise_on_bad_input)(x)):
        with pytest.raises(ValueError, match="need 3 values, got 4"):
            run(np.ones(4))
        with pytest.raises(FloatingPointError):
            run(np.array([1.0, np.nan, 2.0]))


def test_raise_in_a_branch_that_assigns_nothing():
    # the else branch raises, so y is assigned on every path that returns (refused as "'y'
    # may be read before it is assigned" until s4py made a raise end its path)
    check_grads(R_s3py.raise_in_else, X)
    second_order(R_s3py.raise_in_else, (X,))
    with pytest.raises(ValueError, match="must be positive"):
        srcad.grad(R_s3py.raise_in_else)(-X)


def test_conditional_expressions_on_one_test_at_second_order():
    # the reverse sweep tests `-0.25 <= 0.5` again and reads the second expression's
    # temporary there: the SSA check knew only what the first `if` on that test assigned
    x = np.array([0.3, 1.2, -0.7])
    want = np.diag(2.0 * np.cos(x) - x * np.sin(x))        # of sum(x * sin(x))
    np.testing.assert_allclose(srcad.hessian(R_s4fz.two_conditionals)(x), want, rtol=1e-10)
    g = srcad.grad(R_s4fz.two_conditionals)
    np.testing.assert_allclose(srcad.jacrev(g)(x), numerical_grad(g, [x], 0), rtol=1e-6)


@pytest.mark.parametrize("f,args", [
    (R_s4py.raise_in_else, (np.abs(X) + 0.1,)), (R_s4py.raise_in_elif_chain, (X, 2)),
    (R_s4py.raise_in_while, (X,))], ids=["else", "elif-loop", "while"])
def test_an_arm_that_raises_is_a_path_the_derivative_never_takes(f, args):
    # raise_in_else was "the variable 'y' may be read before it is assigned"
    check_grads(f, *args)
    second_order(f, args)


def test_the_raising_arm_raises_in_every_derivative():
    bad = -np.abs(X)
    for run in (srcad.grad(R_s4py.raise_in_else), srcad.hessian(R_s4py.raise_in_else),
                lambda x: srcad.jvp(R_s4py.raise_in_else, (x,), (x,))):
        with pytest.raises(ValueError, match="must be positive"):
            run(bad)
    with pytest.raises(RuntimeError, match="too many"):
        srcad.grad(R_s4py.raise_in_elif_chain)(X, 12)


@pytest.mark.parametrize("f", [R_s6fz.rotated_after_branch_update, R_s6fz.loop_update_transposed])
def test_inplace_update_in_branch_keeps_layout(f):
    # in a branch or loop `x += y` is lowered as `v = x + y; x = v` (x keeps its name): the
    # copy was not made `updated(v, x)`, so x lost its Fortran order and np.sum added in
    # another order than Python's (the last bit of the value differed)
    rng = np.random.default_rng(521)
    for _ in range(20):
        x, y = rng.normal(size=(3, 2)), rng.normal(size=(2, 3))
        want = f(x.copy(), y.copy())
        value, _ = srcad.value_and_grad(f, 1)(x, y)
        assert value == want
        assert srcad.jvp(f, (x, y), (x, y))[0] == want
    check_grads(f, x, y, wrt=1)


# ------------------------------------------------ objects a global, closure or self holds

class _Linear:
    def __init__(self, n_in, n_out, rs):
        self.W = rs.randn(n_in, n_out) * 0.3
        self.b = rs.randn(n_out) * 0.1

    def __call__(self, x):
        return x @ self.W + self.b

    def apply(self, x):
        return np.tanh(self(x))


class _Scale:
    def __init__(self, s):
        self.s = s

    def __call__(self, x):
        return x * self.s

    def apply(self, x):
        return np.sin(self(x))


class _MLP:
    def __init__(self, sizes, rs):
        self.layers = [_Linear(a, b, rs) for a, b in zip(sizes[:-1], sizes[1:])]

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = np.tanh(layer(x))
        return self.layers[-1](x)


class _TupleMLP(_MLP):
    def __init__(self, sizes, rs):
        self.layers = tuple(_Linear(a, b, rs) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = layer.apply(x)
        return self.layers[-1](x)


class _StaleMLP(_MLP):
    # _MLP.forward, whose derivative other tests built for _MODEL: a hessian through it
    # bound to this object reuses that code (it was refused: 'forward_bwd() changes its
    # argument residuals in place')
    pass


_MODEL = _MLP([3, 4, 2], np.random.RandomState(0))
_TMODEL = _TupleMLP([3, 4, 4, 2], np.random.RandomState(1))
_LAYERS = [_Linear(3, 4, np.random.RandomState(2)), _Scale(np.array([0.5, -1.0, 2.0, 1.5]))]
_DLAYERS = {"a": _Linear(3, 4, np.random.RandomState(3)), "b": _Linear(4, 2, np.random.RandomState(4))}
_SAME = [_Scale(np.array([1.5, -0.5, 2.0])), _Scale(np.array([0.3, 0.7, -1.2]))]
_XO = np.random.RandomState(5).randn(5, 3)


def obj_global_model(X):
    return np.sum(_MODEL.forward(X) ** 2)


def obj_tuple_attribute(X):
    return np.sum(_TMODEL.forward(X) ** 2)


def obj_global_list(X):
    for layer in _LAYERS:             # two classes: unrolled
        X = layer.apply(X)
    return np.sum(X ** 2)


def obj_global_dict(X):
    return np.sum(_DLAYERS["b"](_DLAYERS["a"].apply(X)) ** 2)


def _run_layers(layers, X):
    for layer in layers:
        X = layer.apply(X)
    return X


def obj_list_passed_on(X):
    return np.sum(_run_layers(_LAYERS, X) ** 2)


def obj_slice_any_length(X, n):
    for layer in _SAME[:n]:           # alike: a loop, whatever n is
        X = layer(X)
    return np.sum(X ** 2)


def _model_loss(model, X):
    return np.sum(model.forward(X) ** 2)


def _check_all_orders(f, args, i=0):
    from conftest import fwd_grad, second_order
    from srcad.testing import numerical_grad
    fd = numerical_grad(f, list(args), i)
    np.testing.assert_allclose(srcad.grad(f, wrt=i)(*args), fd, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fwd_grad(f, args, i), fd, rtol=1e-6, atol=1e-9)
    second_order(f, args, i)


@pytest.mark.parametrize("f", [obj_global_model, obj_tuple_attribute, obj_global_list,
                               obj_global_dict, obj_list_passed_on])
def test_objects_a_global_holds_in_a_list_tuple_or_dict(f):
    """`for layer in self.layers[:-1]: x = layer(x)`, `self.layers[-1](x)`, `layer.apply(x)`
    over a global's list (refused before: 'calling the local value layer', 'no derivative
    rule for the method .apply()'): both modes and second order against finite differences."""
    _check_all_orders(f, (_XO,))


def test_a_model_in_a_lambda_and_a_bound_method_against_autograd():
    ag = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    Ws = [(l.W, l.b) for l in _MODEL.layers]

    def twin(X):
        for W, b in Ws[:-1]:
            X = anp.tanh(X @ W + b)
        return anp.sum((X @ Ws[-1][0] + Ws[-1][1]) ** 2)
    want = ag.grad(twin)(_XO)
    np.testing.assert_allclose(srcad.grad(lambda X: np.sum(_MODEL.forward(X) ** 2))(_XO), want,
                               rtol=1e-10)
    np.testing.assert_allclose(srcad.jacrev(_MODEL.forward)(_XO[0]),
                               ag.jacobian(lambda x: _ag_forward(anp, Ws, x))(_XO[0]), rtol=1e-10)
    np.testing.assert_allclose(srcad.hessian(obj_global_model)(_XO), ag.hessian(twin)(_XO),
                               rtol=1e-8, atol=1e-12)


def _ag_forward(anp, Ws, x):
    for W, b in Ws[:-1]:
        x = anp.tanh(x @ W + b)
    return x @ Ws[-1][0] + Ws[-1][1]


def test_a_model_argument_with_a_list_of_layers_sliced():
    """self.layers[:-1] of an argument's list kept its items' class (refused before)."""
    g = srcad.grad(_model_loss)(_TMODEL, _XO)
    assert type(g) is _TupleMLP and type(g.layers) is tuple and type(g.layers[0]) is _Linear
    srcad.testing.check_grads(_model_loss, _TMODEL, _XO)
    from conftest import second_order
    from srcad.testing import numerical_grad
    fd = numerical_grad(_model_loss, [_TMODEL, _XO], 1)
    np.testing.assert_allclose(srcad.jacfwd(_model_loss, wrt=1)(_TMODEL, _XO), fd, rtol=1e-6)
    second_order(_model_loss, (_TMODEL, _XO), 1)


def test_a_slice_of_any_length_of_objects_alike():
    for n in (0, 1, 2):
        _check_all_orders(obj_slice_any_length, (_XO, n))


def test_a_global_list_of_objects_changed_rebuilds_never_stale():
    """The derivative is never reused when the list's length or an item's class changes;
    the objects' arrays are read when it runs."""
    from srcad.testing import numerical_grad
    model = _StaleMLP([3, 4, 2], np.random.RandomState(7))
    f = lambda X: np.sum(model.forward(X) ** 2)   # noqa: E731
    d, h = srcad.grad(f), srcad.hessian(f)

    def agree():
        fd = numerical_grad(f, [_XO], 0)
        np.testing.assert_allclose(d(_XO), fd, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(h(_XO), numerical_grad(d, [_XO], 0), rtol=1e-5, atol=1e-6)
    agree()
    model.layers.insert(1, _Linear(4, 4, np.random.RandomState(8)))      # grown
    agree()
    model.layers[0] = _Scale(np.array([1.0, -2.0, 0.5]))                  # another class
    model.layers.insert(1, _Linear(3, 4, np.random.RandomState(9)))
    agree()
    model.layers[0].s = np.array([0.3, 2.0, -1.0])                        # read live
    agree()
    model.layers.pop(0)                                                   # shrunk
    agree()
    model.layers = model.layers[:1] + [_Scale(np.ones(4))] + model.layers[1:]   # rebound
    agree()


def _changed_inside(X):
    _GROWN.append(_Scale(np.ones(3)))
    for layer in _GROWN:                       # ERR
        X = layer(X)
    return np.sum(X ** 2)


_GROWN = [_Linear(3, 3, np.random.RandomState(0)), _Scale(np.ones(3))]


def _break_mixed(X):
    for layer in _LAYERS:
        X = layer(X)
        if np.sum(X) > 100.0:
            break                              # ERR
    return np.sum(X)


def _zip_mixed(X):
    for layer, k in zip(_LAYERS, (1.0, 2.0)):
        X = k * layer(X)
    return np.sum(X)


_HERE = open(__file__).read().splitlines()


@pytest.mark.parametrize("f, match", [
    (_break_mixed, "break or continue in a loop over a list of objects of different classes")])
def test_what_a_global_list_of_objects_cannot_do_is_refused_at_the_users_line(f, match):
    with pytest.raises(srcad.SrcadError, match=match) as info:
        srcad.grad(f)(_XO)
    assert "# ERR" in _HERE[info.value.lineno - 1]


def test_zip_over_a_global_list_of_objects_of_several_classes_unrolls():
    # was refused ('calling the local value layer'): each copy knows its item's class
    check_grads(_zip_mixed, _XO)
    second_order(_zip_mixed, (_XO,))


def test_a_global_list_changed_while_the_derivative_runs_raises():
    """The list grown inside the function: srcad resolved its items' methods when it built
    the derivative, so it checks them where it reads the list (held_as) and raises."""
    with pytest.raises(srcad.SrcadError, match="changed while the derivative ran") as info:
        srcad.grad(_changed_inside)(_XO)
    assert "# ERR" in _HERE[info.value.lineno - 1]
    del _GROWN[2:]


# autograd's convnet example, as its authors wrote it (plain NumPy, a dense stack): layer
# objects of several classes in a list a closure holds, forward_pass inherited from
# full_layer, nonlinearity defined by each subclass, weights parsed from one vector by a
# parser object keyed by the layer objects
def _logsumexp(X, axis, keepdims=False):
    m = np.max(X, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(X - m), axis=axis, keepdims=keepdims)) + m


class _WeightsParser(object):
    def __init__(self):
        self.idxs_and_shapes = {}
        self.N = 0

    def add_weights(self, name, shape):
        start = self.N
        self.N += np.prod(shape)
        self.idxs_and_shapes[name] = (slice(start, self.N), shape)

    def get(self, vect, name):
        idxs, shape = self.idxs_and_shapes[name]
        return np.reshape(vect[idxs], shape)


class _full_layer(object):
    def __init__(self, size):
        self.size = size

    def forward_pass(self, inputs, param_vector):
        params = self.parser.get(param_vector, 'params')
        biases = self.parser.get(param_vector, 'biases')
        if inputs.ndim > 2:
            inputs = inputs.reshape((inputs.shape[0], np.prod(inputs.shape[1:])))
        return self.nonlinearity(np.dot(inputs[:, :], params) + biases)

    def build_weights_dict(self, input_shape):
        input_size = np.prod(input_shape, dtype=int)
        self.parser = _WeightsParser()
        self.parser.add_weights('params', (input_size, self.size))
        self.parser.add_weights('biases', (self.size,))
        return self.parser.N, (self.size,)


class _tanh_layer(_full_layer):
    def nonlinearity(self, x):
        return np.tanh(x)


class _softmax_layer(_full_layer):
    def nonlinearity(self, x):
        return x - _logsumexp(x, axis=1, keepdims=True)


class _halve_layer(object):
    def build_weights_dict(self, input_shape):
        return 0, input_shape

    def forward_pass(self, inputs, param_vector):
        return 0.5 * inputs


def _make_nn_funs(input_shape, layer_specs):
    parser = _WeightsParser()
    cur_shape = input_shape
    for layer in layer_specs:
        N_weights, cur_shape = layer.build_weights_dict(cur_shape)
        parser.add_weights(layer, (N_weights,))

    def predictions(W_vect, inputs):
        cur_units = inputs
        for layer in layer_specs:
            cur_weights = parser.get(W_vect, layer)
            cur_units = layer.forward_pass(cur_units, cur_weights)
        return cur_units

    def loss(W_vect, X, T):
        return -np.sum(predictions(W_vect, X) * T)
    return parser.N, predictions, loss


def test_autograds_convnet_layers_of_several_classes_calling_an_inherited_method():
    """`for layer in layer_specs: cur = layer.forward_pass(cur, w)` over a closure's list of
    layers of several classes (refused before: 'no derivative rule for the method
    .forward_pass()'): unrolled, each call its class's; both modes, second order."""
    specs = [_tanh_layer(5), _halve_layer(), _tanh_layer(4), _softmax_layer(3)]
    N, _, loss = _make_nn_funs((2, 3), specs)
    rs = np.random.RandomState(0)
    args = (rs.randn(N) * 0.3, rs.randn(7, 2, 3), np.eye(3)[rs.randint(0, 3, 7)])
    _check_all_orders(loss, args)
    text = srcad.source(loss, args=args)
    assert "forward_pass" in text and "nonlinearity" in text
    # the same code closing over other stacks (other orders of classes, another length):
    # each its own derivative, never another's
    from srcad.testing import numerical_grad
    for specs in ([_halve_layer(), _softmax_layer(4), _tanh_layer(5), _tanh_layer(3)],
                  [_tanh_layer(5), _tanh_layer(4), _softmax_layer(3)]):
        N, _, loss = _make_nn_funs((2, 3), specs)
        args = (rs.randn(N) * 0.3,) + args[1:]
        fd = numerical_grad(loss, list(args), 0)
        np.testing.assert_allclose(srcad.grad(loss)(*args), fd, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(srcad.jacfwd(loss)(*args), fd, rtol=1e-6, atol=1e-9)


def _two_nets(X):
    return np.sum(_NET_A.forward(X) ** 2) + np.sum(_NET_B.forward(X) ** 2)


class _Net:
    def __init__(self, layers):
        self.layers = layers

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


_NET_A = _Net([_Scale(np.array([1.0, 2.0, 3.0])), _Linear(3, 3, np.random.RandomState(1))])
_NET_B = _Net([_Linear(3, 3, np.random.RandomState(2)), _Scale(np.array([0.5, 1.5, -1.0]))])


def test_two_global_objects_of_one_class_holding_other_classes():
    """A.forward and B.forward (one method) over lists of other classes in other orders:
    each bound method its own unrolled derivative."""
    _check_all_orders(_two_nets, (_XO,))


# ------------------------------------------- a NumPy call spreading an array: np.hypot(*x)

def _star_pair(a, b, c):
    return a * b + np.sin(c)


def star_hypot(x):
    return np.hypot(*x)


def star_slices(x):
    return np.arctan2(*x[:2]) + np.sum(np.add(*x[1:]) * _star_pair(*x))


def star_rows(X, w):
    return np.sum(np.maximum(*X) * w) + np.sum(np.where(w > 0.0, *X))


def star_clip(x):
    return np.sum(np.clip(*x))  # ERR


@pytest.mark.parametrize("f, args", [
    (star_hypot, (np.array([0.3, -0.7]),)),
    (star_slices, (np.array([0.3, -0.7, 1.2]),)),
    (star_rows, (np.array([[0.3, -0.7, 1.2], [0.5, 0.1, -2.0]]), np.array([1.0, -2.0, 0.5]))),
])
def test_a_primitive_spreads_an_array_of_any_length(f, args):
    """np.hypot(*x) with x an array argument: its length is known only when the derivative
    runs (refused before); x fills the primitive's required parameters, checked then."""
    _check_all_orders(f, args)
    if f is star_rows:
        _check_all_orders(f, args, 1)


def test_a_primitive_spread_of_another_length_raises_typeerror():
    """Three rows: NumPy would take the third as `out=` (and write into it); srcad spreads
    into the required parameters only, and raises when the derivative runs."""
    with pytest.raises(TypeError, match=r"np\.hypot\(\) \(as srcad spreads \*x\) takes 2"):
        srcad.grad(lambda X: np.sum(star_hypot(X)))(np.ones((3, 2)))
    with pytest.raises(TypeError, match="positional"):
        srcad.grad(star_hypot)(np.array([0.3]))


def test_a_primitive_with_optional_parameters_spread_is_refused():
    """np.clip(*x): how many parameters x fills is known only when it runs."""
    with pytest.raises(srcad.SrcadError, match=r"\*x in a call") as e:
        srcad.grad(star_clip)(np.array([0.3, -0.7, 1.0]))
    assert "# ERR" in _HERE[e.value.lineno - 1]


# --------------------------------- a runtime index into a list of objects of several classes

class _Mixed:
    def __init__(self, layers):
        self.layers = layers

    def forward(self, x):
        for i in range(len(self.layers)):
            x = self.layers[i](x)
        return x

    def pick(self, x, k):
        return self.layers[k].apply(x)


_MIXED = _Mixed([_Linear(3, 4, np.random.RandomState(11)), _Scale(np.array([0.5, -1.0, 2.0, 1.5])),
                 _Linear(4, 2, np.random.RandomState(12))])


def mixed_index_loop(X):
    return np.sum(_MIXED.forward(X) ** 2)


_SQUARE = _Mixed([_Linear(3, 3, np.random.RandomState(15)), _Scale(np.array([0.5, -1.0, 2.0]))])


def mixed_index_method(X, k):
    return np.sum(_SQUARE.layers[k].apply(X) ** 2) + np.sum(_SQUARE.pick(X, k) ** 2)


def _mixed_argument(model, X, k):
    return np.sum(model.forward(X) ** 2) + np.sum(model.layers[k](X) ** 2)


def test_a_runtime_index_into_objects_of_several_classes():
    """self.layers[i](x) and layers[k].apply(x) where the items have different classes
    (refused before: 'calling the local value _LAYERS[i]'): an if/elif chain over the
    indices, each arm one item's method, as for a list of functions."""
    _check_all_orders(mixed_index_loop, (_XO,))
    for k in (0, 1, -1):
        _check_all_orders(mixed_index_method, (_XO, k))
    with pytest.raises(IndexError):
        srcad.grad(mixed_index_method)(_XO, 2)


def test_a_runtime_index_into_an_arguments_objects_of_several_classes():
    from conftest import second_order
    from srcad.testing import check_grads, numerical_grad
    model = _Mixed([_Linear(3, 3, np.random.RandomState(13)), _Scale(np.array([0.5, -1.0, 2.0]))])
    for k in (0, 1):
        np.testing.assert_allclose(srcad.grad(_mixed_argument, wrt=1)(model, _XO, k),
                                   numerical_grad(_mixed_argument, [model, _XO, k], 1),
                                   rtol=1e-6, atol=1e-9)
        check_grads(_mixed_argument, model, _XO, k)
        second_order(_mixed_argument, (model, _XO, k), 1)
    # another model of other classes: another derivative (the classes are in the cache key)
    other = _Mixed([_Scale(np.array([2.0, 1.0, -1.0])), _Linear(3, 3, np.random.RandomState(14))])
    np.testing.assert_allclose(srcad.grad(_mixed_argument, wrt=1)(other, _XO, 0),
                               numerical_grad(_mixed_argument, [other, _XO, 0], 1), rtol=1e-6,
                               atol=1e-9)


# ------------------------ an object built inside holding only functions, at second order

class _Act:
    def __init__(self, act):
        self.act = act

    def __call__(self, z):
        return self.act(z)


def built_with_functions_only(x):
    a, b = _Act(np.tanh), _Act(np.sin)
    return np.sum(a(x * 3.0) * b(x))


def test_an_object_built_inside_holding_only_functions_at_second_order():
    """_Act(np.tanh): the derivative builds it by record_of(_Act, ('act',), [tanh]), whose
    list of functions its own derivative refused ('the function value list of functions
    passed to record_of()'): the hessian was refused, the gradient right."""
    _check_all_orders(built_with_functions_only, (np.array([0.3, -0.2, 0.5]),))


def _where_without_out(x):
    return np.sum(np.add(x, 1.0, where=x > 0.45))


def _where_into_shared(x):
    y = x * 2.0
    return np.sum(np.add(x, 1.0, out=y, where=x > 0.45))


def _where_into_keyword(x):
    return np.sum(np.add(x, 1.0, where=x > 0.45, into=x))


@pytest.mark.parametrize("f, says", [
    (_where_without_out, "without out= leaves the entries where the condition is false "
                         "uninitialised"),
    (_where_into_shared, "changes an array in place"),
    (_where_into_keyword, "has no argument 'into'")])
def test_ufunc_where_refused_where_unsound(f, says):
    """A ufunc's where= is differentiated with out= a local array (a statement) or a fresh
    one; without out= NumPy leaves the other entries uninitialised, and out= an array other
    names may hold would be changed in place: both refused at the user's line, as is the
    masked form's own parameter name."""
    with pytest.raises(srcad.UnsupportedSyntaxError, match=says) as info:
        srcad.grad(f)(np.array([0.3, 0.5, 0.6]))
    assert info.value.lineno == f.__code__.co_firstlineno + 1 + (f is _where_into_shared)


def test_ufunc_out_where_keeps_the_array_it_writes_into():
    """`np.exp(x, out=y, where=m)` writes into a copy of y: a value computed from the old y
    keeps it (the derivative reads it), as Python's does before the write."""
    def f(x):
        y = x * 2.0
        old = np.sum(y * x)
        np.exp(x, out=y, where=x > 0.45)
        return old + np.sum(y ** 2)
    x = np.array([0.3, 0.5, 0.6])
    m = x > 0.45
    want = 2.0 * x * 2.0 + np.where(m, 2.0 * np.exp(2.0 * x), 8.0 * x)
    np.testing.assert_allclose(srcad.grad(f)(x), want)
    srcad.testing.check_grads(f, x)


def test_assigning_a_ufunc_with_out_its_own_target():
    """`y = np.multiply(y, x, out=y)` (and with where=): the result is y itself, so it is
    the statement `np.multiply(y, x, out=y)` (refused as an in-place change before)."""
    def f(x):
        y = x * 2.0
        z = y * 1.0
        y = np.multiply(y, x, out=y)
        y = np.log(x, out=y, where=x > 0.5)
        return np.sum(y * z)
    x = np.array([0.3, 0.7, 1.1])
    m = x > 0.5
    # y = log(x) where m, else 2 x^2; z = 2 x
    want = np.where(m, 2.0 * np.log(x) + 2.0, 12.0 * x ** 2)
    np.testing.assert_allclose(srcad.grad(f)(x), want)
    check_grads(f, x)


@pytest.mark.parametrize("name,args", [
    ("raise_in_for_then_assigned", (X,)), ("raise_in_for_last_value", (X,)),
    ("raise_in_while", (X,)), ("raise_in_nested_loops", (X, 2))])
def test_a_raise_in_a_loop_needs_no_returned_flag(name, args):
    """A raise in a loop is a `raise` statement that ends its path, not a return (a flag, a
    break and a test after the loop), whose path left the names assigned after it
    unassigned: "may be read before it is assigned" although Python never reads them."""
    from fixtures import regress_s13obj as R13
    f = getattr(R13, name)
    check_values_and_grads(f, *args)
    got, want = second_derivatives(f, list(args))
    for g in got:
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-6)
    assert "returned" not in srcad.source(f) and "raise " in srcad.source(f)
    bad = (X * 1e8,) + args[1:]
    for run in (srcad.grad(f), srcad.hessian(f), lambda *a: srcad.jvp(f, a, a)):
        with pytest.raises((ValueError, RuntimeError)):
            run(*bad)


def _layers13(R13):
    rng = np.random.default_rng(1313)
    return [R13.Dense(rng.normal(size=(3, 3)), rng.normal(size=3)), R13.Scale(0.7),
            R13.Dense(rng.normal(size=(3, 3)), rng.normal(size=3))]


@pytest.mark.parametrize("name,extra", [
    ("layer_by_index_loop", ()), ("layers_zipped", ([1.0, 2.0, 0.5],)),
    ("layers_zipped", ([1.0, 2.0],)), ("layers_enumerated_called", ()),
    ("layer_picked", (1,)), ("layer_picked", (-1,)), ("layer_picked_in_branches", (0,)),
    ("layer_picked_in_branches", (1,)), ("layer_picked_then_comprehension", (1,)),
    ("index_loop_with_comprehension", ())])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_objects_of_several_classes_bound_to_a_name(name, extra, sign):
    """`layer = layers[i]` in a range(len(layers)) loop and `for layer, k in zip(layers,
    ks)` unroll (each copy knows its item's class; zip stops at the shorter); `layer =
    layers[k]` with k known only at run time calls the method of the item k picks. All
    were refused ('no derivative rule for the method .apply()')."""
    from fixtures import regress_s13obj as R13
    f = getattr(R13, name)
    x = sign * np.array([0.3, -0.5, 0.8])
    args = (_layers13(R13),) + extra + (x,)
    w = len(args) - 1
    value, _ = srcad.value_and_grad(f, wrt=w)(*args)
    assert value == f(*args)
    check_grads(f, *args, wrt=w)
    g = srcad.grad(f, wrt=w)
    want = numerical_grad(g, list(args), w)
    for h in (srcad.hessian(f, wrt=w), srcad.jacrev(g, wrt=w), srcad.jacfwd(g, wrt=w)):
        np.testing.assert_allclose(h(*args), want, rtol=1e-5, atol=1e-6)


def test_a_picked_layer_reads_its_attributes_live_and_checks_its_key():
    from fixtures import regress_s13obj as R13
    layers = _layers13(R13)
    x = np.array([0.3, -0.5, 0.8])
    g = srcad.grad(R13.layer_picked, wrt=2)
    before = g(layers, 1, x)
    layers[1].c = 2.0                     # read live, as a constant: no rebuild needed
    np.testing.assert_allclose(g(layers, 1, x), numerical_grad(R13.layer_picked,
                                                               [layers, 1, x], 2), rtol=1e-6)
    assert not np.allclose(before, g(layers, 1, x))
    with pytest.raises(IndexError):
        g(layers, 3, x)


def test_a_picked_layer_reassigned_in_a_loop_is_refused_not_misread():
    # the loop's second iteration reads the reassigned layer: no pick across the back edge
    from fixtures import regress_s13obj as R13
    f = R13.layer_picked_reassigned_in_loop
    with pytest.raises(srcad.SrcadError, match="apply") as e:
        srcad.grad(f, wrt=2)(_layers13(R13), 1, np.array([0.3, -0.5, 0.8]))
    assert "# ERR" in open(R13.__file__).read().splitlines()[e.value.lineno - 1]
