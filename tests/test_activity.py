import pytest
"""Activity analysis: kinds, shape classes and which names get derivative code."""
from srcad import activity, frontend, lower
from srcad.rules import ANY, FLOAT, INT

from fixtures import lazy_funcs as lf
from fixtures import pass_funcs as pf


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
