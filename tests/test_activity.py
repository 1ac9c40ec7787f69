"""Activity analysis: kinds, shape classes and which names get derivative code."""
from srcad import activity, frontend, lower
from srcad.rules import ANY, FLOAT, INT

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
