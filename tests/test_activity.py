import pytest
"""Activity analysis: kinds, shape classes and which names get derivative code."""
from srcad import activity, frontend, lower
from srcad.rules import ANY, FLOAT, INT

from fixtures import lazy_funcs as lf
from fixtures import pass_funcs as pf
from srcad.testing import check_grads
import inspect
from srcad import ir
import numpy as np
from srcad.testing import numerical_grad
from fixtures import regress_alias as ra
import srcad
from fixtures import regress_fixes as rf
from fixtures import regress_fuzz as rf_fuzz
from fixtures import regress_lead as R
from fixtures import regress_lead5 as R_lead5
from fixtures import regress_lead6 as R_lead6
from fixtures import regress_s3gb as rs
from fixtures import regress_s3lead as R_s3lead
from fixtures import regress_s4fz as R_s4fz
from srcad import runtime
import time
from fixtures import regress_s6fz as R_s6fz
from fixtures import regress_s6gb as fx
from fixtures import regress_s6py as R_s6py
from conftest import second_order
from conftest import fd_of_copies
from conftest import second_derivatives
from conftest import second_derivatives_of_copies


def analyze(f, wrt, kinds):
    fn = lower.lower(frontend.parse(f))
    return activity.analyze(fn, wrt, dict(zip(fn.params, kinds)))


def test_integers_and_stopped_values_are_never_active():
    act = analyze(pf.mixed, ["x"], ["any:0", INT, FLOAT])
    assert act.kinds["k"] == INT and "k" not in act.active
    assert "c" not in act.varied            # stop_gradient cuts the dependence
    assert {"y", "z"} <= act.active


def test_values_that_do_not_reach_the_output_are_not_active():
    act = analyze(pf.mixed, ["x", "w"], ["any:0", INT, "any:1"])
    assert "dead" in act.varied and "dead" not in act.useful and "dead" not in act.active


def test_shape_classes_follow_elementwise_operations():
    act = analyze(pf.mixed, ["x"], ["any:0", INT, FLOAT])
    # x * w with a float w keeps x's shape; y[0] is a new, unknown shape
    assert act.same_shape(activity.ir.Name("y"), activity.ir.Name("x"))
    assert not act.same_shape(activity.ir.Name("z"), activity.ir.Name("x"))


def test_arrays_of_unknown_shapes_are_not_assumed_equal():
    act = analyze(pf.mixed, ["x"], [ANY, INT, ANY])
    assert not act.same_shape(activity.ir.Name("y"), activity.ir.Name("x"))


def test_frontend_reads_decorated_functions_and_lambdas():
    tree = frontend.parse(pf.decorated.__wrapped__).tree
    assert tree.name == "decorated"
    lam = frontend.parse(pf.square)
    assert [a.id for a in lam.tree.args.args] == ["t"]
    ns = {}
    exec(compile(lower.ir.to_source(lower.lower(lam)), "<lambda>", "exec"), ns)
    assert ns["lambda_"](3.0) == 9.0


# ------------------------------------------------------------ constant-trim slices

def _same(act, a, b):
    return act.same_shape(activity.ir.Name(a), activity.ir.Name(b))


def test_constant_trim_slices_share_shape_classes():
    act = analyze(lf.trim_classes, ["x"], ["any:0"])
    # each pair loses the same number of entries on each axis: max(n - k, 0) of them
    for a, b in [("a", "b"), ("c", "d"), ("e", "f"), ("r", "s"), ("a", "m"), ("a", "y"),
                 ("a", "z"), ("p", "x"), ("q", "x")]:
        assert _same(act, a, b), (a, b)
    # different trims, different axes, or the untrimmed array
    for a, b in [("a", "x"), ("a", "c"), ("c", "w"), ("a", "e"), ("a", "n"), ("e", "r"),
                 ("m", "n"), ("d", "w")]:
        assert not _same(act, a, b), (a, b)


def test_other_slices_get_no_shape_class():
    act = analyze(lf.trim_classes, ["x"], ["any:0"])
    # a step, a negative start, a non-negative stop, an integer, None, Ellipsis
    for name in ["g", "h", "k", "t", "u", "o", "ell"]:
        assert act.shapes[name] is None, name
        assert not _same(act, name, name)
    act = analyze(lf.trim_variable, ["x"], ["any:0", INT])
    assert act.shapes["a"] is None and act.shapes["c"] is None      # bounds not constant
    assert not _same(act, "a", "b") and not _same(act, "c", "b")


def test_trim_slices_of_arguments_and_reassigned_names():
    # x[1:] and y[:-1] are equal only when x and y have equal shapes
    assert _same(analyze(lf.trim_pair, ["x"], ["any:0", "any:0"]), "a", "b")
    assert not _same(analyze(lf.trim_pair, ["x"], ["any:0", "any:1"]), "a", "b")
    # of an array of unknown shape, nothing is known
    assert not _same(analyze(lf.trim_pair, ["x"], [ANY, ANY]), "a", "b")
    # x[1:] of the argument is not x[1:] of the shorter x that replaces it
    act = analyze(lf.trim_reassigned, ["x"], ["any:0"])
    assert not _same(act, "a", "b")


# ------------------------------------------------------------ kinds joined, storage shared

def test_a_float_that_becomes_an_array_in_a_loop_is_any_everywhere():
    from fixtures import regress_alias as ra
    act = analyze(ra.float_then_array_nested, ["x"], ["any:0"])
    assert act.kinds["acc"] == ANY and act.shapes["acc"] is None


def test_aliases_name_the_storage_each_value_may_share():
    from fixtures import regress_alias as ra
    act = analyze(ra.rebound_after_view, ["x"], ["any:0"])       # v = y.reshape(-1)
    assert act.may_share("v", "y") and not act.may_share("y", "x")
    # floats and ints never share storage; arguments are taken not to share each other's
    act = analyze(pf.mixed, ["x"], ["any:0", INT, FLOAT])
    assert not act.aliases.get("w") and not act.aliases.get("k")
    act = analyze(ra.unpacked_arrays, ["x"], ["any:0", "any:0"])
    assert not act.may_share("x", "y") and not act.may_share("p", "q")
    assert act.may_share("p", "p_1")            # p += q: in Python still p's array


def test_joined_paths_keep_apart_the_names_a_conflict_involves():
    # srcad's own reverse sweep of a rotation in nested loops adds to s1_bar in place
    # where z_bar held s1_bar's array only on another path: hessian and grad(grad) build
    from conftest import second_order
    from fixtures import regress_alias as ra
    second_order(ra.rotation_in_nested_loops, (1.5, 0.3))


# ------------------------------------------------------------ kinds of reductions

def test_a_reduction_over_all_axes_with_keepdims_is_an_array():
    import numpy as np
    from conftest import second_order
    act = analyze(pf.kept_dims_through_helper, ["x"], ["any:0"])
    assert act.kinds["s"] == ANY and act.kinds["m"] == ANY
    # the helper was given a float kind: its derivative called float() on a (1, 1) adjoint,
    # which broke as soon as the adjoint had a batch axis (hessian)
    x = np.array([[0.3, -0.8, 1.1], [0.5, 0.2, -0.4]])
    second_order(pf.kept_dims_through_helper, [x])


# ------------------------------------------------------------ parameters without a derivative

@pytest.mark.parametrize("f, param", [(pf.weights_from_the_input, "'w'")])
def test_a_varied_value_where_a_rule_has_no_derivative_is_refused(f, param):
    # both were silently differentiated as if the argument were constant
    import numpy as np
    import srcad
    x = np.array([0.5, 0.9, 1.3, 1.6, 2.2])
    for transform in (srcad.grad, lambda f: lambda x: srcad.jvp(f, (x,), (x,))):
        with pytest.raises(srcad.SrcadError, match=param) as e:
            transform(f)(x)
        assert e.value.filename.endswith("pass_funcs.py")


def test_arguments_a_result_is_piecewise_constant_in_are_not_refused():
    import numpy as np
    import srcad
    x = np.array([0.5, -0.9, 1.3])
    srcad.testing.check_grads(pf.sign_and_condition_from_the_input, x)


def test_np_gradient_is_differentiated_in_its_spacing():
    # it was silently taken as a constant (then refused, before the rule had its derivative)
    import numpy as np
    import srcad
    x = np.array([0.5, 0.9, 1.3, 1.6, 2.2])
    srcad.testing.check_grads(pf.spacing_from_the_input, x)
    srcad.testing.check_grads(srcad.grad(pf.spacing_from_the_input), x, rtol=1e-4, atol=1e-5)


# regressions: aliasing of values changed in place, kinds and shapes of values (activity.py)
def _marked_line(func):
    lines, first = inspect.getsourcelines(func)
    hits = [first + k for k, line in enumerate(lines) if "# ERR" in line]
    assert len(hits) == 1, func.__name__
    return hits[0]


def _copies(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


X4 = np.array([0.3, 0.5, 0.7, 0.9])


X2 = np.array([1.0, 2.0])


# ------------------------------------------------------------ refused: a live name sees the change
REFUSED = [
    (ra.self_add_alias, (X4,), "in place"),                  # s1 = x; x += s1; sum(s1)
    (ra.view_by_reshape, (X2,), "in place"),                 # v = y.reshape(-1); v *= 2
    (ra.view_by_transpose, (X2,), "in place"),
    (ra.view_by_asarray, (X2,), "in place"),
    (ra.base_of_reshape, (X4,), "in place"),                 # v = y.reshape(2, 2); y += 1
    (ra.view_by_slice_chain, (X4,), "in place"),
    (ra.view_in_branch, (X4, 1.0), "in place"),
    (ra.view_through_loop, (X4,), "in place"),
    (ra.helper_returns_its_argument, (X4,), "in place"),
    (ra.list_alias_append, (3.0,), "list"),                  # ys = xs; ys.append(...)
    (ra.two_names_append, (3.0,), "list"),
    (ra.list_appended_and_stored, (3.0,), "outer"),
    (ra.view_of_a_global, (X4,), "global 'TABLE'"),        # the next call would see it
    (ra.item_of_a_list_changed, (X4,), "'xs'"),
    (ra.item_of_a_tuple_changed, (X4, X4 + 1.0), "'y'"),
    (ra.row_of_a_matrix, (np.arange(6.0).reshape(2, 3),), "'x'"),  # x[0] is a row view
    # np.cos(a) after y -= ...: not the np.cos(a) from before (the lowering reused it)
    (ra.reuse_after_change, (X4,), "'a'"),
    (ra.change_through_a_view_later, (X4, X4[::-1].copy()), "'z' may share"),
    (ra.view_of_a_helper_result, (X4, X4[::-1].copy()), "'c'"),
    # the entries a loop reads change: named as the loop's array, not srcad's temporary
    (ra.iterated_and_read, (X4,), "the array the for loop at line"),
]


@pytest.mark.parametrize("func,args,words", REFUSED, ids=[f.__name__ for f, _, _ in REFUSED])
def test_change_in_place_of_a_shared_value_is_refused(func, args, words):
    # the derivative srcad would build differs from Python's function: before the fix most
    # of these gave a silently wrong value and gradient (e.g. (5.0, [2, 4]) for (10, [4, 8]))
    for build in (lambda: srcad.value_and_grad(func)(*_copies(args)),
                  lambda: srcad.jvp(func, _copies(args), [np.ones_like(a) if isinstance(
                      a, np.ndarray) else 1.0 for a in args])):
        with pytest.raises(srcad.UnsupportedSyntaxError) as info:
            build()
        err = info.value
        assert err.filename == ra.__file__ and err.lineno == _marked_line(func)
        assert f"regress_alias.py:{err.lineno}" in str(err)
        assert words in str(err), str(err)


def test_helper_changing_its_argument_is_refused_at_the_call():
    # h1(a, b): a *= 0.7 changes the caller's x, which the caller reads afterwards: srcad
    # gave the gradient [1.7, 1.7] (true [1.4, 1.4]); now it names the helper and both lines
    with pytest.raises(srcad.UnsupportedSyntaxError) as info:
        srcad.grad(ra.helper_mutates_param)(X2.copy(), np.ones(2))
    err = info.value
    src, first = inspect.getsourcelines(ra.helper_mutates_param)
    assert err.filename == ra.__file__ and err.lineno == first + 1      # the call
    assert "_scale_param()" in str(err) and f"regress_alias.py:{_marked_line(ra._scale_param)}" \
        in str(err) and "'a'" in str(err)


def test_helper_appending_to_its_list_argument_is_refused():
    with pytest.raises(srcad.UnsupportedSyntaxError) as info:
        srcad.grad(ra.helper_appends)(3.0)
    assert "_push()" in str(info.value) and "'xs'" in str(info.value)
    _, first = inspect.getsourcelines(ra.helper_appends)
    assert info.value.lineno == first + 2


# ------------------------------------------------------------ no sharing: differentiated
FINE = [
    (ra.fresh_product, (X4,)),                  # y = x * 2.0; y += 1.0: y is new
    (ra.float_accumulator, (X4,)),              # acc = 0.0; acc += x * i
    (ra.unpacked_floats, (0.3, 0.8)),           # p, q = h(a, b); p += q
    (ra.unpacked_arrays, (X4, X4[::-1].copy())),
    (ra.fancy_index_is_new, (X4,)),             # x[[0, 2]] is a copy
    (ra.boolean_mask_is_new, (np.array([0.3, 0.6, 0.7, 0.9]),)),
    (ra.copy_then_update, (X4,)),
    (ra.rebound_after_view, (X4,)),
    (ra.dead_alias, (X4,)),
    (ra.rebound_in_loop, (X4,)),                # y = x, then y = y * 2 before y += 1
    (ra.previous_iteration_kept, (X4,)),
    (ra.loop_product_aug, (np.array([0.3, 0.5, 0.7]),)),
    (ra.list_fresh_append, (3.0,)),
    (ra.entry_of_a_vector, (X4,)),              # x[0] of a vector is a NumPy scalar
    # the optimizer turned `b = y * 1.0` into `b = y`, so the helper changed y (wrong value)
    (ra.fresh_copy_to_a_changing_helper, (X4, X4[::-1].copy())),
    (ra.dead_view_of_changed, (X4, X4[::-1].copy())),      # refused before: c is not needed
    (ra.iterated_then_changed, (X4,)),           # refused before: only its length is read
    (ra.unpacked_constants, (0.3, X4)),          # p, q = h(y), h returning (0.5, -0.25)
]


@pytest.mark.parametrize("func,args", FINE, ids=[f.__name__ for f, _ in FINE])
def test_change_in_place_without_sharing_is_differentiated(func, args):
    want = func(*_copies(args))
    value, _ = srcad.value_and_grad(func)(*_copies(args))
    assert np.allclose(value, want)
    check_grads(func, *_copies(args))


def test_changes_in_place_match_autograd():
    from conftest import autograd_grad
    for func, args in [(ra.fresh_product, (X4,)), (ra.rebound_in_loop, (X4,)),
                       (ra.unpacked_arrays, (X4, X4[::-1].copy()))]:
        assert np.allclose(srcad.grad(func)(*_copies(args)),
                           autograd_grad(func, _copies(args), 0))


# ------------------------------------------------------------ srcad's own code at second order
def test_hessian_of_a_loop_is_not_refused_for_its_own_adjoint_updates():
    # the generated `s_bar += ...` adds into an adjoint it owns (a new array): before the
    # fix hessian refused it, naming srcad's generated file
    x = np.array([0.3, 0.5, 0.7])
    for func in (ra.loop_product, ra.loop_product_aug):
        h = srcad.hessian(func)(x.copy())
        want = numerical_grad(srcad.grad(func), [x.copy()], 0)
        assert np.allclose(h, want, atol=1e-5)


def test_grad_of_grad_of_a_loop():
    g2 = srcad.grad(srcad.grad(ra.loop_product_scalar))
    g1 = srcad.grad(ra.loop_product_scalar)
    for a in (0.4, 1.3):
        assert np.isclose(g2(a), numerical_grad(g1, [a], 0), atol=1e-5)


# ------------------------------------------------------------ the analysis itself
def _activity(func, kinds):
    fn = lower.lower(frontend.parse(func))
    return activity.analyze(fn, [fn.params[0]], dict(zip(fn.params, kinds)))


def test_aliases_follow_the_rules_storage_facts():
    act = _activity(ra.rebound_after_view, ["any:0"])
    # y is new; v (y.reshape(-1)) views y; v * 2.0 is new again
    assert act.may_share("y", "v") and not act.may_share("y", "x")
    assert not act.may_share("v_1", "y")
    act = _activity(ra.fancy_index_is_new, ["any:0"])
    assert not act.may_share("y", "x")
    act = _activity(ra.float_accumulator, ["any:0"])
    assert not act.aliases.get("acc") or not act.may_share("acc", "x")
    act = _activity(ra.unpacked_floats, ["float", "float"])
    assert not act.aliases.get("a") and not act.may_share("p", "q")  # floats never share
    act = _activity(ra.unpacked_arrays, ["any:0", "any:0"])
    assert not act.may_share("p", "q") and not act.may_share("p", "x")


def test_alias_analysis_is_linear_in_loop_nesting():
    # the fixpoint runs whole passes over the statements (loop heads joined), not nested
    # fixpoints per loop: rounds do not grow with the depth
    src = ["def deep(x):", "    y = x * 1.0"]
    ind = "    "
    for d in range(7):
        src.append(f"{ind}for i{d} in range(2):")
        ind += "    "
        src.append(f"{ind}y += x * {d}.0")
    src.append("    return y")
    ns: dict = {}
    import linecache
    name = "<regress_alias deep>"
    text = "\n".join(src) + "\n"
    linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    exec(compile(text, name, "exec"), ns)
    fn = lower.lower(frontend.parse(ns["deep"]))
    stmts = list(ir.walk(fn.body))
    pk = {"x": "any:0"}
    kinds = activity._kinds(fn, stmts, pk)
    a = activity._aliases(fn, stmts, kinds, activity._sequences(stmts, pk))
    assert a.rounds <= 4
    del linecache.cache[name]


# ------------------------------------------------------------ random aliasing programs
_HELPERS = '''import numpy as np


def _h(u):
    return u


def _m(u):
    u *= 0.9
    return 0.0
'''


def _random_program(seed):
    """A short function of arrays x, y mixing copies, views (reshape, slices, .T, asarray),
    new values, changes in place (+=, a helper scaling its argument), loops and branches."""
    import random
    r = random.Random(seed)
    names = ["a", "b", "c", "d"]

    def expr(defined):
        v, w = r.choice(defined), r.choice(defined)
        return r.choice([v, f"{v} * 1.5", f"{v} + {w}", f"{v}.reshape(-1)", f"{v}[::-1]",
                         f"np.asarray({v})", f"{v}.T", f"np.sin({v})", f"{v}[:4] * 2.0",
                         f"{v}.copy()", f"{v}[[0, 1, 2, 3]]", f"np.reshape({v}, (-1,))",
                         f"{v}.ravel()", f"_h({v})", f"{v}[1:][::-1][:3].sum() + {v}"])

    def stmt(defined, depth, lines, ind):
        k, t = r.random(), r.choice(names)
        if k < 0.35 or (k >= 0.75 and depth >= 2):
            lines.append(f"{ind}{t} = {expr(defined)}")
            defined.append(t) if t not in defined else None
        elif k < 0.65:
            v, w = r.choice(defined), r.choice(defined)
            rhs = r.choice([w, "0.5", f"np.cos({w})"])
            lines.append(f"{ind}{v} {r.choice(['+=', '*=', '-='])} {rhs}")
        elif k < 0.75:
            lines.append(f"{ind}_m({r.choice(defined)})")
        elif k < 0.87:
            lines.append(f"{ind}for i{depth} in range(2):")
            for _ in range(r.randint(1, 3)):
                stmt(defined, depth + 1, lines, ind + "    ")
        else:
            lines.append(f"{ind}if np.sum({r.choice(defined)}) > 0.5:")
            for _ in range(r.randint(1, 2)):
                stmt(list(defined), depth + 1, lines, ind + "    ")
            lines.append(f"{ind}else:")
            lines.append(f"{ind}    {r.choice(names)} = {expr(defined)}")
    lines = [f"def p{seed}(x, y):", "    a = x", "    b = y * 1.0"]
    defined = ["a", "b", "x", "y"]
    for _ in range(r.randint(2, 6)):
        stmt(defined, 0, lines, "    ")
    u, v = r.sample(defined, 2)
    lines.append(f"    return np.sum({u} * np.sin({v})) + np.sum(x * y)")
    return "\n".join(lines)


def test_random_aliasing_programs_are_right_or_refused(tmp_path):
    import importlib.util
    n = 200
    path = tmp_path / "alias_programs.py"
    path.write_text(_HELPERS + "\n\n" + "\n\n\n".join(_random_program(s) for s in range(n)) + "\n")
    spec = importlib.util.spec_from_file_location("alias_programs", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    x = np.array([0.3, 0.5, 0.7, 0.2])
    y = np.array([0.6, -0.4, 0.9, 0.1])
    done = 0
    for s in range(n):
        f = getattr(mod, f"p{s}")
        want = f(x.copy(), y.copy())
        try:
            value, g = srcad.value_and_grad(f)(x.copy(), y.copy())
        except srcad.UnsupportedSyntaxError as e:
            assert e.filename == str(path) and "in place" in str(e), str(e)
            continue
        assert value == want, (s, value, want)
        assert srcad.jvp(f, (x.copy(), y.copy()), (np.ones(4), np.zeros(4)))[0] == want, s
        fd = numerical_grad(lambda a, b: f(a.copy(), b.copy()), [x.copy(), y.copy()], 0)
        assert np.allclose(g, fd, rtol=1e-4, atol=1e-6), (s, g, fd)
        done += 1
    assert done > n // 5                       # most changes in place here are refused


def test_a_loop_reading_only_the_length_of_its_changed_array_at_second_order():
    from conftest import second_order
    second_order(ra.iterated_then_changed, (X4,))


# ------------------------------------------------------------ 6. alias messages name user names
def test_alias_messages_name_the_users_variable_not_its_ssa_version():
    with pytest.raises(srcad.UnsupportedSyntaxError) as info:
        srcad.grad(rf.shared_after_reassignment)(np.array([1.0, 2.0]))
    msg = str(info.value)
    assert "in 'z' in place" in msg and "`z = z + ...`" in msg and "z_1" not in msg
    assert "regress_fixes.py:" in msg


# ------------------------------------------------------------ 9. a float made an array in a loop
@pytest.mark.parametrize("f", [rf.float_becomes_array, rf.float_becomes_array_in_a_branch])
def test_a_float_made_an_array_in_a_loop_and_reduced_in_a_nested_def(f):
    x = np.array([0.6, -0.3, 0.2])
    check_grads(f, x)
    got, want = second_derivatives(f, (x,))
    for g in got:
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------ zero adjoints of array items
def test_one_item_of_a_tuple_holding_floats_and_an_array():
    # the adjoint of `h(...)[0]` had 0.0 for the array item, which np.array's adjoint in the
    # helper's backward half reshaped: ValueError at first order
    for x in (-0.6, 0.4):
        got, want = second_derivatives_of_copies(rf_fuzz.first_item_then_unpack, (x,))
        for g in got:
            assert g == pytest.approx(float(want), abs=1e-6)


def test_second_order_when_a_helper_ignores_its_array_argument():
    # grad_like(0.0, array) was typed a float, so its tangent was 0.0, reshaped at
    # second order: ValueError in hessian
    for x in (0.6, -1.1):
        got, want = second_derivatives_of_copies(rf_fuzz.array_argument_unused, (x,))
        for g in got:
            assert g == pytest.approx(float(want), abs=1e-6)


# ------------------------------------------------------------ shapes that change in a loop
def test_gradient_when_a_loop_replaces_an_argument_by_another_shape():
    # the reverse sweep zeroed y's adjoint with the later value's shape, before popping the
    # earlier y back: ValueError in value_and_grad
    y = np.array([[0.3, 0.8, -0.9], [0.2, -0.5, -0.4]])
    value, g = srcad.value_and_grad(rf_fuzz.loop_changes_shape)(y)
    assert value == 2.0
    np.testing.assert_array_equal(g, np.zeros_like(y))


def test_gradient_when_a_loop_replaces_a_maybe_unbound_value_by_another_shape():
    x, y = 0.1, np.array([[0.3, 0.8, -0.9], [0.2, -0.5, -0.4]])
    value, (gx, gy) = srcad.value_and_grad(rf_fuzz.loop_changes_shape_twice, (0, 1))(x, y.copy())
    assert value == rf_fuzz.loop_changes_shape_twice(x, y.copy())
    assert gx == pytest.approx(float(fd_of_copies(rf_fuzz.loop_changes_shape_twice, (x, y), 0)), rel=1e-6)
    np.testing.assert_allclose(gy, fd_of_copies(rf_fuzz.loop_changes_shape_twice, (x, y), 1), rtol=1e-6)


# ------------------------------------------------------------ second order
def test_grad_grad_after_a_loop_and_a_swap_that_never_runs():
    # the optimizer dropped `z_bar_1 = zeros_like(z)` as unread, counting `z_bar_1 += e`
    # as a store only: UnboundLocalError in grad(grad)
    args = (0.3, 1.5, -0.7)
    got, want = second_derivatives_of_copies(rf_fuzz.loop_then_unused_swap, args)
    for g in got:
        assert g == pytest.approx(float(want), abs=1e-6)
    for i in (1, 2):
        g = srcad.grad(srcad.grad(rf_fuzz.loop_then_unused_swap, wrt=i), wrt=i)(*args)
        assert g == pytest.approx(float(fd_of_copies(srcad.grad(rf_fuzz.loop_then_unused_swap, wrt=i),
                                            args, i, h=1e-5)), abs=1e-6)


@pytest.mark.parametrize("f, args, want", [
    # sum((x, x)**2 over 3 entries each) = 3 x^2 + 3; d/dx = 6x, d2 = 6
    (rf_fuzz.square_of_a_tuple, (1.2, np.array([0.5, -0.9, -1.4])), (7.2, 6.0)),
    # x^2 + y^2 x^2: 2x (1 + y^2), 2 (1 + y^2)
    (rf_fuzz.square_of_a_list, (0.5, 1.5), (3.25, 6.5)),
])
def test_a_ufunc_of_a_tuple_or_list(f, args, want):
    # np.square's adjoint `2.0 * x` of the tuple itself: TypeError (a tuple times a float)
    assert srcad.grad(f)(*args) == pytest.approx(want[0], rel=1e-12)
    assert srcad.jvp(f, args, (1.0, np.zeros_like(args[1])))[1] == \
        pytest.approx(want[0], rel=1e-12)
    # hessian only: grad(grad) meets runtime.unreduce's adjoint of a full g (another fix)
    hess = srcad.hessian(f)(*args)
    assert hess == pytest.approx(want[1], rel=1e-12)


def test_hessian_when_a_helper_changes_an_entry_of_a_vector_in_place():
    # the entry of a 1-D array is a NumPy scalar, which `s2 += 1.0` does not change; at
    # second order srcad's own `for v2 in range(...)` indexed the range and typed the
    # entry as a non-number, so y[v2] was taken for a view of y and the build refused
    y = np.array([0.8, -1.1, 0.8])
    hess, want = second_derivatives_of_copies(rf_fuzz.helper_changes_an_entry, (y,))
    np.testing.assert_allclose(hess[0], want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(hess[0], np.diag(6.0 * y + 2.0 * (y + 1.0 > 1.0)), rtol=1e-12)


def test_second_order_through_a_loop_calling_a_helper_that_scales_a_float():
    # grad f pops x back from its stack (`x = x_stack[-1]`): an entry of a list was of any
    # kind, so x, and s6 (`s6 = x` in the branch not taken), were taken for arrays the
    # helper's `s4 *= c` might change: the build of grad(grad f) refused srcad's own code
    for x in (1.0, -0.4):
        got, want = second_derivatives_of_copies(rf_fuzz.loop_calls_a_scaling_helper, (x,))
        for g in got:
            assert g == pytest.approx(float(want), abs=1e-6)


def test_entries_of_lists_built_on_each_other_keep_the_kind_of_every_item():
    # the kind of a list's entry joins what was put into any list made from it
    f = rf_fuzz.list_built_on_another_gets_an_array
    for x in (0.7, -0.3):
        t = np.tanh(x * x)
        assert srcad.grad(f)(x) == pytest.approx(2.0 * x * (3.0 * (1.0 - t * t) + 1.0),
                                                 rel=1e-12)
        got, fd = second_derivatives_of_copies(f, (x,))
        for g in got:
            assert g == pytest.approx(float(fd), rel=1e-6)


def test_second_order_when_a_loop_rebinds_an_array_to_a_float_a_helper_changes():
    # in grad f, x (the array argument, then np.sin(y)) is one variable of any kind, so the
    # helper's `a0 -= 1.0` on the float np.sin(y) was taken for a change of an array x
    # holds: the build of the hessian refused srcad's own code
    x, y = np.array([-0.5, -1.0, -1.2]), 0.4
    f = rf_fuzz.loop_rebinds_an_array_to_a_float
    want = np.exp(y) * (np.sin(y) + 2.0 * np.cos(y) - np.sin(y))    # d2/dy2 e^y sin y
    assert srcad.grad(srcad.grad(f, wrt=1), wrt=1)(x, y) == pytest.approx(want, rel=1e-12)
    assert srcad.hessian(f, wrt=1)(x, y) == pytest.approx(want, rel=1e-12)
    np.testing.assert_array_equal(srcad.hessian(f)(x, y), np.zeros((3, 3)))


def test_second_order_when_grad_f_saves_a_float_argument_as_its_shape():
    # grad f pops x back as np.shape(x), so x's kind there joins a float and a shape: the
    # float argument was taken for an array that s6 shares and the helper changes
    for x in (1.0, -0.3):
        got, want = second_derivatives_of_copies(rf_fuzz.float_argument_later_a_shape, (x,))
        for g in got:
            assert g == pytest.approx(2.0, rel=1e-9)
        assert float(want) == pytest.approx(2.0, rel=1e-6)


def test_hessian_when_an_entry_of_the_argument_goes_to_a_helper_that_changes_it():
    # x[0] of the 1-D argument is a NumPy scalar; in grad f, x is also swapped with another
    # name, so its shape class was unknown and x[0] was taken for a view of x
    x = np.array([-0.2, 0.1, 0.1])
    hess, want = second_derivatives_of_copies(rf_fuzz.entry_then_swap, (x,))
    np.testing.assert_allclose(hess[0], np.diag(6.0 * x), rtol=1e-12)
    np.testing.assert_allclose(hess[0], want, atol=1e-6)


def test_sum_of_a_float_list_is_a_float():
    # x + z once, then z = x: f = (x + z)^2 + x
    x, z = -1.2, 1.2
    assert srcad.grad(R.sum_of_float_list, wrt=(0, 1))(x, z) == \
        pytest.approx((2 * (x + z) + 1.0, 2 * (x + z)))
    assert srcad.hessian(R.sum_of_float_list)(x, z) == pytest.approx(2.0)
    assert srcad.grad(srcad.grad(R.sum_of_float_list))(0.5, 0.25) == pytest.approx(2.0)


def test_a_user_function_is_lowered_once_per_activity_analysis(monkeypatch):
    # the result kind and storage summary of a helper were read from its SSA at every call
    # site and every fixpoint round, lowering it again each time (GradBench saddle's rf
    # nested derivative: 9,504 lowerings, 37 s of build)
    from srcad import activity, lower
    from fixtures import regress_lead4 as fx
    seen, active = [], [False]
    real_lower, real_analyze = lower.lower, activity.analyze

    def counting_lower(parsed, *args, **kwargs):
        fn = real_lower(parsed, *args, **kwargs)
        if active[0]:
            seen[-1].append(fn.name)
        return fn

    def analyze(*args, **kwargs):
        outer = not active[0]
        if outer:
            active[0] = True
            seen.append([])
        try:
            return real_analyze(*args, **kwargs)
        finally:
            if outer:
                active[0] = False

    monkeypatch.setattr(lower, "lower", counting_lower)
    monkeypatch.setattr(activity, "analyze", analyze)
    x = 0.3
    got = srcad.grad(srcad.grad(fx.f))(x)
    h = 1e-5
    fd = (srcad.grad(fx.f)(x + h) - srcad.grad(fx.f)(x - h)) / (2 * h)
    assert got == pytest.approx(fd, rel=1e-6)
    assert seen and any(seen)
    for names in seen:
        assert len(names) == len(set(names)), names


def test_a_copy_made_before_an_array_is_refilled_does_not_share_it():
    # the alias analysis took `a += x`'s sum as a second object `a` might hold, so after
    # `b = a` an earlier iteration's sum seemed to be in both: a needless refusal
    x = np.array([0.9, 1.2, -1.1])
    np.testing.assert_allclose(srcad.grad(R_lead5.copy_then_refill)(x), 4.0 * np.ones(3))
    check_grads(R_lead5.copy_then_refill, x)


def test_hessian_of_names_rotated_through_nested_while_loops():
    # fuzz 44:767: the same false sharing in srcad's own reverse code (`v4_bar += z_bar`
    # after `v1_bar = v4_bar; v4_bar = zeros_like(v4)`) refused the hessian
    x = np.array([0.90436528, 1.20265248, -1.10316671])
    y = np.array([[-1.0986396, 0.85789161, 1.17211263], [0.57402425, -1.43063649, 0.26878392]])
    z = np.array([-0.28750279, 0.92434456, 0.51058996])
    H = srcad.hessian(R_lead5.rotated_in_nested_whiles)(x, y, z)
    fd = numerical_grad(lambda x: srcad.grad(R_lead5.rotated_in_nested_whiles)(x, y, z), (x,), 0)
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-6)


def _second_derivative_by_differences(f, x, h=1e-4):
    return (f(x + h) - 2 * f(x) + f(x - h)) / h ** 2


def test_hessian_of_a_float_updated_by_a_list_entry():
    # fuzz 501:869: the optimizer moved the negation of the entry's adjoint out of
    # unindex(-g, xs, 1), a list's adjoint, which the batched tangent then lifted as one
    # array (IndexError in add_items)
    f = R_lead5.subtract_a_list_entry
    want = _second_derivative_by_differences(f, 1.0)
    np.testing.assert_allclose(srcad.hessian(f)(1.0), want, rtol=1e-6)
    np.testing.assert_allclose(srcad.grad(srcad.grad(f))(1.0), want, rtol=1e-6)


def test_hessian_where_a_helper_changes_a_float_argument_in_place():
    # fuzz 501:2037: in srcad's reverse code `v2 = None` comes before `v2 = np.sum(x)`, so
    # y (= y * v2) seemed possibly an array that the helper's `a0 -= 1.0` changes
    x, y = np.array([0.9, 1.4]), -0.4
    np.testing.assert_allclose(srcad.hessian(R_lead5.float_given_to_a_mutating_helper)(x, y),
                               2.0 * np.eye(2))


def test_hessian_where_a_helper_changes_an_array_entry_in_place():
    # fuzz 501:1931: `updated(y - v, y)` (srcad's `y -= v`) had no shape class, so y[0] of
    # the reverse code might have been a view the helper changes
    y = np.array([0.5, -0.6, 1.3])
    f = R_lead5.entry_given_to_a_mutating_helper
    H = srcad.hessian(f)(y)
    fd = numerical_grad(lambda y: srcad.grad(f)(y), (y,), 0)
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-6)


X3 = np.array([0.9, 0.2, 0.6])


@pytest.mark.parametrize("f, extra", [
    (R_lead6.fill_in_a_loop, ()), (R_lead6.sort_in_a_loop, (np.array([0.5, -1.0, 2.0]),)),
    (R_lead6.fill_after_use, ()), (R_lead6.add_at_in_a_loop, ()), (R_lead6.copyto_and_fill_diagonal, ()),
    (R_lead6.sorted_list_in_place, ())])
def test_numpys_in_place_changes_of_arrays_others_read(f, extra):
    # y.fill/y.sort/np.add.at/np.copyto/np.fill_diagonal changed y in place while the reverse
    # sweep still read values it had saved of y: silently wrong gradients (fill_in_a_loop gave
    # [3.4, 5.1, 6.8] for [1.4, 3.1, 4.8]); y.sort() and list.sort() were refused
    args = (X3,) + extra
    g = srcad.grad(f)(*args)
    np.testing.assert_allclose(g, numerical_grad(f, args, 0), rtol=1e-6, atol=1e-8)
    assert srcad.value_and_grad(f)(*args)[0] == f(*args)
    d = np.array([1.0, 0.3, -0.5])
    _, t = srcad.jvp(f, args, (d,) + tuple(0.0 * a for a in extra))
    np.testing.assert_allclose(t, g @ d, rtol=1e-6)
    if f is not R_lead6.sort_in_a_loop:     # (its second order is refused: srcad's own stacks)
        H = srcad.hessian(f)(*args)
        np.testing.assert_allclose(H, numerical_grad(srcad.grad(f), args, 0),
                                   rtol=1e-5, atol=1e-6)


def test_an_in_place_change_srcad_cannot_rebind_is_refused():
    # `params["W"].fill(0.0)` changes the caller's array; srcad's copy would not have
    with pytest.raises(srcad.SrcadError, match=r"regress_lead6.py:\d+: .*fill\(\) changes"):
        srcad.grad(R_lead6.fill_an_item_of_a_dict, wrt=1)({"W": np.ones(3)}, X3)


def test_a_helper_changing_an_array_it_is_given_twice_is_refused():
    # fuzz 901:2295: h(y, y) changes its first argument, and returns the second: Python's
    # result is the changed array, srcad's derivative of h computes a new value (gradient
    # [1, 1, 1] for [0, 0, 0], as autograd's)
    with pytest.raises(srcad.SrcadError, match=r"regress_lead6.py:\d+: _changes_first\(\) "
                                               r"changes its argument 'a0'"):
        srcad.grad(R_lead6.same_array_twice)(np.array([-0.4, -1.0, 1.0]))


rng = np.random.default_rng(12)


def test_fresh_array_filled_in_a_loop_and_kept_in_a_list():
    """`Qk = np.zeros(...)` then `Qk[j, j] = ...` in an inner loop and `Q.append(Qk)`: the
    alias analysis named each setitem's result by a root of its own, shared by every outer
    iteration, so the Qk of an earlier iteration (in Q) seemed to be the Qk being filled."""
    q, l = 0.3 * rng.normal(size=(3, 3)), 0.3 * rng.normal(size=(3, 3))
    check_grads(rs.lower_by_entries, q, l, 3, 3, wrt=(0, 1))


def test_one_array_kept_twice_is_still_refused():
    lines, first = inspect.getsourcelines(rs.one_array_kept_twice)
    line = first + next(k for k, s in enumerate(lines) if "# ERR" in s)
    with pytest.raises(srcad.UnsupportedSyntaxError, match=f"regress_s3gb.py:{line}"):
        srcad.grad(rs.one_array_kept_twice)(rng.normal(size=(2, 2)))


def test_recursive_float_result_drops_broadcasting_helpers():
    """A user function's result kind comes from its own body (recursion by a fixpoint from
    a float guess): det by minors returns a float, so its derivative has no unbroadcast
    (it had one per operation, 45-75x the primal's time)."""
    a = rng.normal(size=16)
    A = a.reshape(4, 4)
    np.testing.assert_allclose(srcad.grad(rs.det_by_minors)(a, 4),
                               (np.linalg.det(A) * np.linalg.inv(A).T).ravel(), rtol=1e-9)
    text = pipeline_text(rs.det_by_minors, a, 4)
    assert "unbroadcast" not in text


def pipeline_text(f, *args):
    from srcad import pipeline
    return pipeline.get(f, "reverse", (0,), pipeline.kinds_of(args)).text


@pytest.mark.parametrize("f", [rs.sum_power_rows, rs.mutual, rs.use_halves])
def test_user_call_results_of_other_kinds(f):
    """Recursive helpers returning arrays (the float guess fails and is widened), mutual
    recursion (each guess read by the other), a helper returning a tuple."""
    check_grads(f, rng.normal(size=4) + 1.5)


def test_a_helper_updating_an_entry_of_a_vector_is_no_alias_at_second_order():
    # fuzz 11:180/182: at second order the stack pop `x = x_stack[-1]` lost x's number of
    # dimensions, so `x[0]` was taken for a view the helper's `a -= b` would change
    x = np.array([0.3, -0.9, 1.3])
    check_grads(R_s3lead.entry_then_inplace_helper, x)
    h = srcad.hessian(R_s3lead.entry_then_inplace_helper)(x)
    g = srcad.grad(R_s3lead.entry_then_inplace_helper)
    eps = 1e-6
    fd = np.stack([(g(x + eps * e) - g(x - eps * e)) / (2 * eps) for e in np.eye(3)], axis=-1)
    np.testing.assert_allclose(h, fd, rtol=1e-5, atol=1e-6)


def test_a_helper_of_a_helper_knows_its_vector_argument_has_one_dimension():
    # a helper's derivative was built for arrays of unknown rank, so `x[0]` passed on to a
    # helper changing it in place was refused even at first order
    x = np.array([0.3, -0.9, 1.3])
    check_grads(R_s3lead.calls_helper_taking_an_entry, x)
    check_grads(srcad.grad(lambda y: R_s3lead.calls_helper_taking_an_entry(y) ** 2), x)


def test_swapped_adjoints_in_a_loop_are_told_apart_at_second_order():
    # fuzz 5:253: srcad's reverse code swaps x_bar and y_bar in a loop and then runs
    # `x_bar += ...`; told apart by every stack and flag, its paths exceeded the states the
    # alias analysis keeps, so the join refused srcad's own code. States are now told apart
    # by the names the conflict involves only.
    x = np.array([1.46547982, 1.36410344, 0.08241976])
    y = np.array([-0.11305036, -0.49930441, -0.76373227])
    f = R_s3lead.swap_in_loop_after_early_return
    check_grads(f, x, y)
    g = srcad.grad(f)
    eps = 1e-6
    fd = np.stack([(g(x + eps * e, y) - g(x - eps * e, y)) / (2 * eps) for e in np.eye(3)], -1)
    np.testing.assert_allclose(srcad.hessian(f)(x, y), fd, rtol=1e-5, atol=1e-6)


def test_an_update_in_place_keeps_the_arrays_layout():
    # m = (...).T is Fortran-ordered; Python's `m -= x` keeps it so, srcad's `m - x` was a
    # C-ordered array and np.sum added in another order: the value differed in its last bit
    x = np.outer(1.5 * np.linspace(-1.0, 1.0, 2), np.linspace(-1.0, 1.0, 3) * 1.5)
    want = np.float64(R_s4fz.transposed_update(x.copy())).tobytes()
    assert np.float64(srcad.value_and_grad(R_s4fz.transposed_update)(x)[0]).tobytes() == want
    assert np.float64(srcad.jvp(R_s4fz.transposed_update, (x,), (x,))[0]).tobytes() == want
    check_grads(R_s4fz.transposed_update, x)


@pytest.mark.parametrize("x, y", [
    (np.ones((3, 4)).T, np.linspace(0.0, 1.0, 12).reshape(4, 3)),        # layout
    (np.ones(3, dtype=np.float32), np.full(3, 0.1)),                      # dtype
    (np.ones((2, 3))[:, ::2], np.ones((2, 2))),                           # a strided view
])
def test_updated_is_pythons_in_place_result(x, y):
    want = x.copy(order="K")
    want -= y
    got = runtime.updated(x - y, x)
    assert got.dtype == want.dtype and got.strides == want.strides
    assert got.tobytes(order="A") == want.tobytes(order="A")
    with pytest.raises(TypeError):          # as `x -= 0.5` on an int array raises
        runtime.updated(np.arange(3) - 0.5, np.arange(3))


def test_a_helper_changing_an_array_in_place_after_it_was_read():
    # _bump(y) changes the caller's x (y is x after the swap) once s has read it: srcad's
    # derivative called _bump on x itself and its reverse sweep read cos of the changed x
    # (a wrong gradient, no error); hessian refused srcad's own gradient
    x, y = np.array([0.9, -0.5, -0.9]), np.array([-1.2, -0.5, -0.1])
    gx, gy = srcad.grad(R_s4fz.swapped_then_bumped, wrt=(0, 1))(x.copy(), y.copy())
    np.testing.assert_allclose(gx, np.cos(x) * y, rtol=1e-12)
    np.testing.assert_allclose(gy, np.sin(x), rtol=1e-12)
    _, t = srcad.jvp(R_s4fz.swapped_then_bumped, (x.copy(), y.copy()), (np.ones(3), np.zeros(3)))
    assert t == pytest.approx(np.sum(np.cos(x) * y), rel=1e-12)
    np.testing.assert_allclose(srcad.hessian(R_s4fz.swapped_then_bumped)(x.copy(), y.copy()),
                               np.diag(-np.sin(x) * y), atol=1e-12)


def test_a_helper_changing_an_array_in_place_in_a_loop():
    x = np.array([0.3, -0.2, 0.5])

    def f(v):                                   # f changes its argument: a copy per call
        return R_s4fz.halved_after_read(v.copy())
    want = numerical_grad(f, [x], 0)
    np.testing.assert_allclose(srcad.grad(R_s4fz.halved_after_read)(x.copy()), want, rtol=1e-7)
    _, t = srcad.jvp(R_s4fz.halved_after_read, (x.copy(),), (np.ones(3),))
    assert t == pytest.approx(np.sum(want), rel=1e-7)


def test_alias_analysis_of_a_loop_of_branches_builds_quickly():
    # each statement in a loop aged every name of every alias state (24 per point here):
    # 11 s of CPU before this refusal, about 1 s now
    x = np.array([0.69247723, -1.45509282, 0.71373773])
    y = np.array([-0.09829301, -1.09422362, -1.39491245])
    start = time.process_time()
    with pytest.raises(srcad.UnsupportedSyntaxError, match=r"regress_s4fz.py:\d+: an augmented "
                       r"assignment changes the array in 'y' in place, and 'x' may share"):
        srcad.grad(R_s4fz.branchy_loop, wrt=(0, 1))(x, y)
    assert time.process_time() - start < 5.0


def test_hessian_of_a_negated_concatenation():
    x = np.array([1.1, -0.0, -0.7])
    g = srcad.grad(R_s4fz.negated_pieces)
    np.testing.assert_allclose(srcad.hessian(R_s4fz.negated_pieces)(x), numerical_grad(g, [x], 0),
                               rtol=1e-6, atol=1e-8)


def _second_order(f, args, wrt=0):
    """grad(grad(f)) (a float first argument) or hessian(f) against finite differences of
    srcad's gradient, after that gradient is checked against the primal's."""
    check_grads(f, *args)
    g = srcad.grad(f, wrt)
    want = numerical_grad(g, list(args), wrt)
    np.testing.assert_allclose(srcad.hessian(f, wrt)(*args), want, rtol=1e-5, atol=1e-8)
    if np.ndim(args[wrt]) == 0 and wrt == 0:
        np.testing.assert_allclose(srcad.grad(g)(*args), want, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("f, args", [
    (R_s6fz.tuple_items_kept_apart, (0.7,)),                       # fuzz 503:498
    (R_s6fz.tuple_items_kept_apart, (np.array([0.4, -0.3, 1.1]),)),
    (R_s6fz.tuple_item_indexed, (np.array([0.3, 0.2, -0.5]),)),     # fuzz 503:2788
    (R_s6fz.tuple_rotated_in_loop, (np.array([0.5, -0.6, 0.2]),)),  # fuzz 504:3738
    (R_s6fz.tuple_item_in_while_test, (0.7,)),                     # fuzz 601:1044
    (R_s6fz.tuple_item_changed_by_other_helper, (0.4, np.array([0.9, 0.3, -0.2]))),  # 601:4573
])
def test_second_order_through_nested_tuple_of_helper(f, args):
    _second_order(f, args)


def test_nested_tuple_items_do_not_share():
    # the items of t[0] were all taken to share each other's storage: a refusal
    x = np.array([0.5, -0.3])
    check_grads(R_s6fz.nested_items_apart, x)


@pytest.mark.parametrize("f", [R_s6fz.nested_item_shared, R_s6fz.deep_item_shared,
                               R_s6fz.loop_nested_shared])
def test_nested_tuple_item_shared_is_refused(f):
    with pytest.raises(srcad.SrcadError, match="may share"):
        srcad.grad(f)(np.array([0.5, -0.3]))


def test_second_order_list_adjoint_popped_in_loop():
    # fuzz 804:483: f_grad pops its list adjoint in a loop (`xs_bar = xs_1_bar[:-1]`, then
    # `v_bar_last = xs_bar.pop()`); a slice of what may be a list was taken as a view of its
    # items too, so the popped item seemed to share the list: srcad refused its own code
    _second_order(R_s6fz.list_adjoint_popped, (np.array([-0.7, -1.4]),))


RNG = np.random.default_rng(6)


def test_array_argument_has_its_own_shape_class():
    """A helper's array argument the caller knows nothing of still has one shape: its
    elementwise arithmetic alone (sigmoid) needs no unbroadcast, and the two negations of
    its adjoint cancel; rosen's slices of one argument need neither unreduce nor
    unbroadcast. Both gradients against finite differences."""
    from fixtures import lazy_funcs as lf
    text = srcad.source(fx.sigmoid)
    assert "unbroadcast" not in text and "-(" not in text, text
    check_grads(fx.sigmoid_sum, RNG.standard_normal(5))
    text = srcad.source(lf.rosen)
    assert "unreduce" not in text and "unbroadcast" not in text, text
    check_grads(lf.rosen, RNG.standard_normal(6))
    check_grads(fx.sigmoid_of_slice, RNG.standard_normal(8), modes=("reverse",))


def test_own_shape_class_keeps_broadcasting_between_arguments():
    """Arguments of shapes srcad does not know equal keep their broadcasting adjoints:
    x (3, 1) times y (3, 4) sums back to x's shape."""
    check_grads(fx.product, RNG.standard_normal((3, 1)), RNG.standard_normal((3, 4)))
    check_grads(fx.helper_broadcast, RNG.standard_normal((3, 1)), RNG.standard_normal((3, 4)))


V = RNG.normal(size=3)


def test_a_recursive_helper_returning_its_own_call_is_no_factory():
    # the factory test reads `return tail_recursive(...)`, itself: it must not recurse
    check_grads(R_s6py.self_returning, V, 3, wrt=0)
    second_order(R_s6py.self_returning, (V, 3), 0)


@pytest.mark.parametrize("name", ["tuple_helper_read_twice", "tuple_helper_two_callees"])
def test_items_of_a_helpers_tuple_result_that_are_tuples_are_sequences(name):
    # `t, res = v` unpacking a (tuple, residuals) pair: t's adjoints add item by item
    import numpy as np

    import srcad
    from fixtures import funcs_funcs as F
    from srcad.testing import numerical_grad
    f = getattr(F, name)
    g = srcad.grad(f)
    want = numerical_grad(g, [0.7], 0)
    for got in (srcad.grad(g)(0.7), srcad.hessian(f)(0.7), srcad.jacrev(g)(0.7)):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_hessian_where_the_reverse_sweep_puts_back_an_entry_of_a_popped_snapshot():
    # fuzz 2202:640 (extra): srcad's own `b13 = b13_stack.pop()` then `b13[0] = b13_old`
    # was refused at second order ('b13_stack' may share it): every item of that stack is a
    # snapshot only the stack holds, so the popped one shares nothing left on it
    f = rf_fuzz.entry_update_then_swap_in_nested_ifs
    for x in (np.array([-0.95961374, -0.2384959, -0.88103012]), np.array([0.4, -0.2, 0.9])):
        got, want = second_derivatives_of_copies(f, (x,))
        for g in got:
            np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-6)


def test_a_popped_item_is_private_only_when_nothing_else_holds_it():
    x = np.array([0.3, -0.5, 0.8])
    f = rf_fuzz.popped_fresh_item_changed           # a new array, held by the list alone
    value, g = srcad.value_and_grad(f)(x.copy())
    assert value == f(x.copy())
    np.testing.assert_allclose(g, fd_of_copies(f, (x,), 0), rtol=1e-6, atol=1e-8)
    for f in (rf_fuzz.popped_item_still_held_by_a_name, rf_fuzz.popped_item_still_held_by_a_slice,
              rf_fuzz.popped_item_of_an_aliased_list):
        with pytest.raises(srcad.SrcadError, match="may share it"):
            srcad.grad(f)(x.copy())


def test_hessian_where_a_loop_and_its_replay_restore_an_array_updated_before_it():
    # fuzz 3102:159: loops over one range object run equally often, so after srcad's own
    # replay of `for r4 in b3: b3 = v1` b3 is its own array again, not v1's
    f = rf_fuzz.entry_then_rebound_in_a_loop
    for x in (0.1, -0.7):
        got, want = second_derivatives_of_copies(f, (x,))
        for g in got:
            assert g == pytest.approx(float(want), rel=1e-5, abs=1e-6)


def test_hessian_where_srcad_reads_its_own_list_of_floats_for_their_number():
    # fuzz 3108:478 (extra): repeat_items(d_out, items) in srcad's reverse sweep made the
    # kinds forget that sum(items) is a float, so the helper's `a0 -= 0.5` on it was
    # refused at second order (a float changed "in place" is a new float)
    f = rf_fuzz.sum_of_a_dict_given_to_a_changing_helper
    y = np.array([0.9, 1.5, -0.3])
    for x in (-0.1, 0.6):
        got, want = second_derivatives_of_copies(f, (x, y))
        for g in got:
            assert float(np.squeeze(g)) == pytest.approx(float(np.squeeze(want)), rel=1e-5,
                                                         abs=1e-6)
