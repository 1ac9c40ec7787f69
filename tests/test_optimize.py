"""The optimizer's rewrites keep values bit for bit, and do what they say."""
import ast
import math
import inspect

import numpy as np
import pytest

from srcad import optimize
import srcad
from srcad import runtime
from srcad.testing import check_grads

from fixtures import regress_lead as R
from fixtures import regress_s3lead as R_s3lead
from fixtures import regress_s5gb as fx


def run(src, *args, impure=()):
    """The function in `src`, before and after optimize(): (before, after, optimized text)."""
    tree = ast.parse(src).body[0]
    ns1, ns2 = {"np": np, "math": math}, {"np": np, "math": math}
    exec(compile(src, "<before>", "exec"), ns1)
    opt = optimize.optimize(tree, set(impure))
    text = ast.unparse(ast.fix_missing_locations(ast.Module(body=[opt], type_ignores=[])))
    exec(compile(text, "<after>", "exec"), ns2)
    return ns1[tree.name](*args), ns2[tree.name](*args), text


CASES = [
    # folding, products with one, division by one, powers of one
    ("def f(x):\n    v0 = x * (2 - 1)\n    v1 = v0 / 1\n    return v1 ** 1\n", "(2 - 1)"),
    # x * y + y * x -> 2 * (x * y)
    ("def f(x, y):\n    v0_bar = x * y + y * x\n    return v0_bar\n", "y * x"),
    # a + -b -> a - b; a + (-b) / c -> a - b / c
    ("def f(a, b, c):\n    v0 = a + -b\n    v1 = v0 + -b / c\n    return v1\n", "+ -"),
    # a * (1.0 / b) stays: a / b rounds differently, and primal values must not change
    ("def f(a, b):\n    v0 = a * (1.0 / b)\n    return v0\n", "a / b"),
    # copies propagate, single-use temporaries inline, dead code goes
    ("def f(x):\n    v0 = x\n    v1 = v0 * 2.0\n    v2 = np.sin(x)\n    v3 = v1 + 1.0\n"
     "    return v3\n", "np.sin"),
]


@pytest.mark.parametrize("src, gone", CASES)
@pytest.mark.parametrize("args", [(0.7, -1.3, 2.9), (np.linspace(-2, 3, 5), np.arange(1.0, 6.0),
                                                    np.full(5, 0.3))])
def test_rewrites_keep_values_bit_for_bit(src, gone, args):
    nargs = len(ast.parse(src).body[0].args.args)
    before, after, text = run(src, *args[:nargs])
    assert np.array_equal(before, after), text
    assert gone not in text, text


def test_single_use_temporaries_inline_into_the_users_expression():
    src = ("def f(a, b, x):\n    v1 = math.sin(x)\n    v2 = a * v1\n    v3 = b * x\n"
           "    v4 = v3 * 0.5\n    v5 = v2 + v4\n    x = v5 + 0.1\n    return x\n")
    before, after, text = run(src, 0.7, 0.3, 0.5)
    assert before == after
    assert "x = a * math.sin(x) + b * x * 0.5 + 0.1" in text, text


def test_nothing_moves_past_a_statement_that_changes_its_inputs():
    src = ("def f(x, s):\n    v1 = x * 2.0\n    x = x + 1.0\n    s.append(x)\n"
           "    return v1 + x\n")
    before, after, text = run(src, 0.5, [])
    assert before == after and "v1 = x * 2.0" in text, text


def test_calls_of_impure_functions_stay():
    src = "def f(x):\n    v0 = helper(x)\n    return x\n"
    tree = ast.parse(src).body[0]
    text = ast.unparse(optimize.optimize(tree, {"helper"}))
    assert "helper(x)" in text


def test_axis_none_kept_where_it_is_not_the_default():
    src = ("def f(a, b):\n    v0 = np.concatenate([a, b], axis=None)\n"
           "    return np.sum(v0, axis=None, keepdims=False)\n")
    before, after, text = run(src, np.ones((2, 2)), np.ones((2, 2)))
    assert np.array_equal(before, after)
    assert "np.concatenate([a, b], axis=None)" in text and "keepdims" not in text, text
    assert "np.sum(np.concatenate([a, b], axis=None))" in text, text


def run_adjoint(src, adjoints, *args):
    """Like run(), with `adjoints` naming the variables the reverse pass made for adjoints."""
    tree = ast.parse(src).body[0]
    ns1, ns2 = {"np": np}, {"np": np}
    exec(compile(src, "<before>", "exec"), ns1)
    opt = optimize.optimize(tree, set(), set(adjoints))
    text = ast.unparse(ast.fix_missing_locations(ast.Module(body=[opt], type_ignores=[])))
    exec(compile(text, "<after>", "exec"), ns2)
    return ns1[tree.name](*args), ns2[tree.name](*args), text


ADJOINT_CASES = [
    # a negation moves onto the scalar adjoint; doubling joins the factor on its left
    ("def f(g, x):\n    v0_bar = -(g * (2 * x))\n    return v0_bar, v0_bar\n", "v0_bar = -g * 2 * x"),
    ("def f(a_bar, b_bar, x):\n    v1_bar = a_bar + -(b_bar * x)\n    return v1_bar, v1_bar\n",
     "v1_bar = a_bar - b_bar * x"),
    ("def f(a_bar, b_bar, x):\n    v1_bar = a_bar - -2.0 * x / b_bar\n    return v1_bar, v1_bar\n",
     "v1_bar = a_bar + 2.0 * x / b_bar"),
    # += of a negated term becomes -=, after the single-use temporary is inlined into it
    ("def f(a_bar, b_bar, x):\n    v1_bar = a_bar * x\n    v2_bar = -b_bar\n"
     "    v1_bar += v2_bar * (2 * x)\n    return v1_bar, v1_bar\n", "v1_bar -= b_bar * 2 * x"),
    ("def f(a_bar, b_bar, x):\n    v1_bar = a_bar + b_bar * -np.sin(x)\n    return v1_bar, v1_bar\n",
     "v1_bar = a_bar - b_bar * np.sin(x)"),
    # g = e1; g = g + e2 -> g = e1 + e2 (the same additions in the same order)
    ("def f(a_bar, b_bar, x):\n    v1_bar = a_bar * x\n    v2_bar = b_bar * 3.0\n"
     "    v1_bar = v1_bar + v2_bar * x\n    return v1_bar, v1_bar\n",
     "v1_bar = a_bar * x + b_bar * 3.0 * x"),
    # ... but not past a statement that changes e1's inputs
    ("def f(a_bar, b_bar, x):\n    v1_bar = a_bar * x\n    x = x + b_bar\n"
     "    v1_bar = v1_bar + x\n    return v1_bar, v1_bar\n", "v1_bar = a_bar * x\n"),
    # 3 is not a power of two: g * (3 * x) and g * 3 * x may round differently
    ("def f(g, x):\n    v0_bar = g * (3 * x)\n    return v0_bar, v0_bar\n", "v0_bar = g * (3 * x)"),
]


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")     # inf on both sides
@pytest.mark.parametrize("src, expected", ADJOINT_CASES)
@pytest.mark.parametrize("args", [
    (0.7, -1.3, 2.9),
    (np.linspace(-2, 3, 7), np.geomspace(1e-300, 1e300, 7), np.array([0.1, -5, 1e-310, 3e7,
                                                                      -2.5, 1e150, 7.0]))])
def test_adjoint_rewrites_keep_values_bit_for_bit(src, expected, args):
    names = {"g", "a_bar", "b_bar", "v0_bar", "v1_bar", "v2_bar"}
    nargs = len(ast.parse(src).body[0].args.args)
    before, after, text = run_adjoint(src, names, *args[:nargs])
    assert np.array_equal(before[0], after[0]), text
    assert expected in text, text


def test_adjoint_rewrites_leave_the_users_values_alone():
    # k may be unsigned: -k would wrap around, so only adjoints get the negation moved
    src = "def f(k, x):\n    y = -(k * (2 * x))\n    return y\n"
    k = np.array([1, 2, 3], dtype=np.uint8)
    before, after, text = run_adjoint(src, {"g"}, k, np.ones(3))
    assert np.array_equal(before, after) and "-(k * (2 * x))" in text, text


def test_returned_gradients_get_the_same_rewrites():
    src = "def f(g, x):\n    v0_bar = -(g * (2 * x))\n    return grad_like(v0_bar, x)\n"
    tree = ast.parse(src).body[0]
    text = ast.unparse(optimize.optimize(tree, set(), {"g", "v0_bar"}))
    assert "return grad_like(-g * 2 * x, x)" in text, text


def test_accumulations_do_not_merge_past_in_place_updates():
    # index_add changes the array a_bar and its alias c_bar hold: c_bar * 2.0 must be
    # computed before it, as written
    from srcad.runtime import index_add
    src = ("def f(a_bar, b_bar):\n    c_bar = a_bar\n    v1_bar = c_bar * 2.0\n"
           "    a_bar = index_add(a_bar, slice(0, 3), b_bar)\n"
           "    v1_bar = v1_bar + b_bar\n    return v1_bar\n")
    tree = ast.parse(src).body[0]
    ns1, ns2 = {"index_add": index_add}, {"index_add": index_add}
    exec(compile(src, "<before>", "exec"), ns1)
    adjoints = {"a_bar", "b_bar", "c_bar", "v1_bar"}
    text = ast.unparse(ast.fix_missing_locations(optimize.optimize(tree, set(), adjoints)))
    exec(compile(text, "<after>", "exec"), ns2)
    before = ns1["f"](np.ones(3), np.full(3, 5.0))
    after = ns2["f"](np.ones(3), np.full(3, 5.0))
    assert np.array_equal(before, after), text


def run_runtime(src, adjoints, *args, impure=()):
    """Like run_adjoint(), the generated code's runtime helpers in scope."""
    from srcad import runtime
    tree = ast.parse(src).body[0]
    ns1, ns2 = {"np": np, **vars(runtime)}, {"np": np, **vars(runtime)}
    exec(compile(src, "<before>", "exec"), ns1)
    opt = optimize.optimize(tree, set(impure), set(adjoints))
    text = ast.unparse(ast.fix_missing_locations(ast.Module(body=[opt], type_ignores=[])))
    exec(compile(text, "<after>", "exec"), ns2)
    return ns1[tree.name](*args), ns2[tree.name](*args), text


def test_an_adjoint_term_added_to_itself_is_computed_once():
    # the adjoint of r * r: two alike sums (their factors in either order) -> one, doubled
    src = ("def f(g, r):\n    v1_bar = unreduce(g, r)\n"
           "    r_bar = unbroadcast(v1_bar * r, r) + unbroadcast(r * v1_bar, r)\n"
           "    return r_bar\n")
    r = np.array([0.1, -5, 1e-310, 3e7, -2.5, 1e150, 7.0])
    before, after, text = run_runtime(src, {"g", "v1_bar", "r_bar"}, 0.3, r)
    assert np.array_equal(before, after), text
    assert text.count("unbroadcast(") == 1 and "2 * " in text, text


def test_an_impure_term_added_to_itself_stays_two_calls():
    src = "def f(g, x):\n    v0_bar = helper(g * x) + helper(x * g)\n    return v0_bar\n"
    tree = ast.parse(src).body[0]
    text = ast.unparse(optimize.optimize(tree, {"helper"}, {"g", "v0_bar"}))
    assert text.count("helper(") == 2, text


def test_a_value_read_for_its_shape_is_read_from_what_it_was_squared_from():
    # v1 = r * r is of r's shape and dtype: unreduce reads r, and v1 is not computed
    src = ("def f(g, s, y):\n    r = s - y\n    v1 = r * r\n    v1_bar = unreduce(g, v1)\n"
           "    return v1_bar * r\n")
    before, after, text = run_runtime(src, {"g", "v1_bar"}, 0.5, np.arange(4.0), np.ones(4))
    assert np.array_equal(before, after), text
    assert "v1 = " not in text and "unreduce(g, r)" in text, text


def test_a_shape_source_assigned_twice_is_not_followed():
    # r changes after v1 is made from it: v1's shape is not r's at the read
    src = ("def f(g, s):\n    r = s[:2]\n    v1 = r * r\n    r = s\n    v1_bar = unreduce(g, v1)\n"
           "    return v1_bar, r\n")
    before, after, text = run_runtime(src, {"g", "v1_bar"}, 0.5, np.arange(4.0))
    assert np.array_equal(before[0], after[0]), text
    assert "unreduce(g, v1)" in text, text


# regressions: the optimizer: rule facts, zero starts, negations moved onto products (optimize.py)
# ------------------------------------------------------------ the facts live in the rules
def test_printed_names_find_their_rules_and_facts():
    from srcad import rules
    assert rules.lookup_name("index_add").inplace
    assert rules.lookup_name("unbroadcast").shape_args == ("like",)
    assert rules.lookup_name("np.reshape").storage == "view"
    assert rules.lookup_name("np.asarray").storage == "same"
    assert rules.lookup_name("np.split").returns_seq
    assert rules.lookup_name("reshape") is None          # a method, printed `x.reshape(...)`


def test_declared_axis_and_keepdims_defaults_are_the_functions_own():
    # the optimizer drops `axis`/`keepdims` arguments equal to a rule's declared default
    import builtins
    from srcad import rules
    ns = rules.runtime_namespace()
    checked = 0
    for rule in rules.all_rules():
        if rules.lookup_name(rule.name) is not rule:
            continue
        declared = dict(rule.params)
        head, *rest = rule.name.split(".")
        obj = ns.get(head, getattr(builtins, head, None))
        for part in rest:
            obj = getattr(obj, part)
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            continue
        for p in ("axis", "keepdims"):
            if p in declared and p in sig.parameters and \
                    declared[p] is not rules._REQUIRED:
                real = sig.parameters[p].default
                # (a generalized ufunc, np.vecdot: axis left out means its core axis, -1)
                assert real == declared[p] or (p == "keepdims" and declared[p] is False and
                                               real is np._NoValue) or (
                    p == "axis" and isinstance(obj, np.ufunc) and real is np._NoValue and
                    declared[p] == -1), (rule.name, p)
                checked += 1
    assert checked > 20


def test_an_adjoint_accumulated_in_an_inner_loop_keeps_its_zero_start():
    x, y = np.ones((2, 3)), np.full((2, 3), 0.5)
    value, grads = srcad.value_and_grad(R.accumulated_in_inner_loop, wrt=(0, 1, 2))(x, y, -0.3)
    assert value == 1.0
    for g, like in zip(grads, (x, y, -0.3)):
        np.testing.assert_array_equal(g, np.zeros_like(like))
    check_grads(R.read_after_inner_accumulation, np.array([0.3, -1.2]), np.array([2.0, 0.7]))


def test_a_negated_item_of_a_tuple_result_at_second_order():
    # fuzz 0:108 after the merges: the optimizer writes `-unindex(g, ...)` for
    # `unindex(-g, ...)`, and a tuple's adjoint (Items) had no unary minus
    f = R_s3lead.takes_negated_item
    assert np.isclose(srcad.grad(f)(-0.3), -np.exp(0.3))
    assert np.isclose(srcad.grad(srcad.grad(f))(-0.3), np.exp(0.3))
    assert np.isclose(srcad.hessian(f)(-0.3), np.exp(0.3))


RNG = np.random.default_rng(5)


def test_kmeans_negation_and_factor_end_on_the_product():
    """`v9_bar = -unbroadcast(..)` read once by `2.0 * v9_bar`, read once by a matrix
    product: the -2.0 ends on the product's (k, d) result, no pass of its own over the
    k x n adjoint; the gradient and the Hessian diagonal (forward over reverse) against
    finite differences."""
    p, c = RNG.standard_normal((6, 2)), RNG.standard_normal((3, 2))
    text = srcad.source(fx.nearest, wrt=1)
    assert "-2.0 * matmul_vjp_x(" in text and "-unbroadcast(" not in text
    check_grads(fx.nearest, p, c)
    grad = srcad.grad(fx.nearest, wrt=1)
    _, hdiag = srcad.jvp(grad, (p, c), (np.zeros_like(p), np.ones_like(c)))
    eps = 1e-6
    fd = (grad(p, c + eps) - grad(p, c - eps)) / (2 * eps)
    np.testing.assert_allclose(hdiag, fd, rtol=1e-6, atol=1e-6)


def test_power_of_two_out_of_a_list_adjoint():
    """A power of two moved out of a linear helper whose result is a list's adjoint scales
    it item by item (Items and Fields multiply by a number)."""
    check_grads(fx.scaled_items, RNG.standard_normal(3), RNG.standard_normal(3))
    items = 2.0 * runtime.Items([np.ones(2), 3.0])
    assert type(items) is runtime.Items and items[1] == 6.0
    np.testing.assert_array_equal(items[0], [2.0, 2.0])
    fields = -4.0 * runtime.Fields(a=np.ones(1), b=0.5)
    assert type(fields) is runtime.Fields and fields["b"] == -2.0
