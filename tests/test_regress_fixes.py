"""Regressions of issue 9's leftovers, each against an oracle srcad does not provide (finite
differences, closed forms, Python's own values, an entry-by-entry reference)."""
import itertools
import sys

import numpy as np
import pytest

import srcad
from srcad import runtime
from srcad.testing import check_grads, numerical_grad

from fixtures import regress_fixes as rf


def _second(f, args, i=0):
    """jacrev(grad f), jacfwd(grad f), hessian f, and finite differences of grad f."""
    g = srcad.grad(f, wrt=i)
    want = numerical_grad(g, args, i)
    return [srcad.jacrev(g, wrt=i)(*args), srcad.jacfwd(g, wrt=i)(*args),
            srcad.hessian(f, wrt=i)(*args)], want


# ------------------------------------------------------------ 1. unreduce's adjoint
def _unreduce_cases():
    """(like's shape, axis, keepdims, g's shape) for every shape g can have: the reduced
    shape, keepdims' shape, a scalar, and like's own shape (unreduce returns it as it is)."""
    for shape, axis in [((3, 4), 0), ((3, 4), 1), ((3, 4), -1), ((2, 3, 4), (0, 2)),
                        ((2, 3, 4), (-1,)), ((5,), 0), ((3, 4), None)]:
        full = np.ones(shape)
        for keepdims in (False, True):
            reduced = np.shape(np.sum(full, axis=axis, keepdims=keepdims))
            for gshape in {reduced, (), shape}:
                yield shape, axis, keepdims, gshape


@pytest.mark.parametrize("shape, axis, keepdims, gshape", list(_unreduce_cases()))
def test_unreduce_vjp_is_the_transpose_of_unreduce_entry_by_entry(shape, axis, keepdims, gshape):
    # the rule was np.sum(out_bar, axis, keepdims): wrong (or a shape error) for a whole g
    rng = np.random.default_rng(1)
    like, h = rng.normal(size=shape), rng.normal(size=shape)
    g = rng.normal(size=gshape) if gshape else 0.7
    got = runtime.unreduce_vjp(h, g, axis, keepdims)
    want = np.zeros(gshape)
    for idx in itertools.product(*map(range, gshape)):
        e = np.zeros(gshape)
        e[idx] = 1.0
        want[idx] = np.sum(h * runtime.unreduce(e if gshape else 1.0, like, axis, keepdims))
    assert np.shape(got) == gshape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_second_order_where_unreduce_gets_a_whole_adjoint():
    # the first derivative writes v_bar = unreduce(d_out * np.cos(v), v) with a whole
    # adjoint; its reverse-mode derivative summed that to a scalar (a reshape error)
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(3, 1)), rng.normal(size=4)
    got, want = _second(rf.broadcast_helper, (x, w))
    for g in got:
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("f", [rf.sum_axis, rf.mean_axis, rf.mean_keepdims, rf.sum_and_mean,
                               rf.sum_axis_slope, rf.mean_keepdims_slope])
def test_second_and_third_order_of_sums_and_means(f):
    x = np.array([[0.3, -0.7, 1.1], [0.5, 0.2, -0.4]])
    got, want = _second(f, (x,))
    for g in got:
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-6)


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
    got, want = _second(f, (x,))
    for g in got:
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-6)


def test_items_of_keeps_sequences_and_lists_the_rest():
    x, xs = np.zeros(3), [1.0, 2.0]
    assert runtime.items_of(x) is x and runtime.items_of(xs) is xs
    assert runtime.items_of({"a": 1, "b": 2}) == ["a", "b"]
    assert runtime.items_of({"a": 1}.items()) == [("a", 1)]


# ------------------------------------------------------------ 3. nested tuples at second order
def test_second_order_through_nested_tuples_of_helpers_on_an_array():
    # grad_like(array, 0.0): a tuple's zero item (0.0 standing for an array) met the
    # adjoint the second derivative computes for it: float(array) TypeError
    x = np.array([0.6, -0.3, 0.2])
    check_grads(rf.nested_tuple_helpers, x)
    got, want = _second(rf.nested_tuple_helpers, (x,))
    for g in got:
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-6)


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


# ------------------------------------------------------------ 5. a transform called on the spot
@pytest.mark.parametrize("f", [rf.uses_value_and_grad, rf.uses_grad_on_the_spot])
def test_a_transform_called_inside_a_differentiated_function(f):
    # refused: "calling the local value srcad.value_and_grad(cubic) is not supported"
    x = np.array([0.3, -0.7, 1.1])
    check_grads(f, x)
    want = numerical_grad(f, (x,), 0)
    np.testing.assert_allclose(srcad.grad(f)(x), want, rtol=1e-6)
    np.testing.assert_allclose(srcad.jacfwd(f)(x), want, rtol=1e-6)
    got, want = _second(f, (x,))
    for g in got:
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------ 6. alias messages name user names
def test_alias_messages_name_the_users_variable_not_its_ssa_version():
    with pytest.raises(srcad.UnsupportedSyntaxError) as info:
        srcad.grad(rf.shared_after_reassignment)(np.array([1.0, 2.0]))
    msg = str(info.value)
    assert "in 'z' in place" in msg and "`z = z + ...`" in msg and "z_1" not in msg
    assert "regress_fixes.py:" in msg


# ------------------------------------------------------------ 8. lambda rules on continuation lines
def test_second_order_of_a_lambda_rule_on_a_continuation_line():
    # the vjp lambda sits on the decorator's second line: reading it found no lambda
    x = np.array([0.3, -0.7, 1.1])
    check_grads(rf.uses_cube, x)
    got, want = _second(rf.uses_cube, (x,))
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


# ------------------------------------------------------------ 9. a float made an array in a loop
@pytest.mark.parametrize("f", [rf.float_becomes_array, rf.float_becomes_array_in_a_branch])
def test_a_float_made_an_array_in_a_loop_and_reduced_in_a_nested_def(f):
    x = np.array([0.6, -0.3, 0.2])
    check_grads(f, x)
    got, want = _second(f, (x,))
    for g in got:
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-6)
