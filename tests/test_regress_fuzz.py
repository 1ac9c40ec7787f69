"""Regressions found by the differential fuzzer (tests/fuzz), each its minimised program
(tests/fixtures/regress_fuzz.py), checked against closed forms or finite differences of
copies of the arguments (some programs change their arguments in place, as Python allows)."""
import numpy as np
import pytest

import srcad

from fixtures import regress_fuzz as rf


def _copies(args):
    return [np.array(a) if isinstance(a, np.ndarray) else a for a in args]


def _fd(f, args, i=0, h=1e-6):
    """Central differences of `f` (scalar or array output) w.r.t. argument `i`, each call on
    fresh copies of `args`."""
    x = np.asarray(args[i], dtype=float)
    out = np.asarray(f(*_copies(args)), dtype=float)
    J = np.zeros(out.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        parts = []
        for sign in (1, -1):
            a = _copies(args)
            if x.shape:
                a[i] = x.copy()
                a[i][idx] += sign * h
            else:
                a[i] = float(x) + sign * h
            parts.append(np.asarray(f(*a), dtype=float))
        J[(...,) + idx] = (parts[0] - parts[1]) / (2 * h)
    return J


def _second(f, args, i=0):
    """srcad's hessian (and grad(grad) for a float argument), and finite differences of
    srcad's gradient, itself checked against finite differences of f."""
    g = srcad.grad(f, wrt=i)
    np.testing.assert_allclose(g(*_copies(args)), _fd(f, args, i), rtol=1e-6, atol=1e-8)
    want = _fd(g, args, i, h=1e-5)
    got = [srcad.hessian(f, wrt=i)(*_copies(args))]
    if isinstance(args[i], float):
        got.append(srcad.grad(g, wrt=i)(*_copies(args)))
    return got, want


# ------------------------------------------------------------ the user's f changes its argument
def test_hessian_of_a_function_that_scales_its_argument_in_place():
    # hessian = jacfwd(grad f) checked f's output by calling f on the caller's array, which
    # f scales in place: every column was then taken at the scaled point
    x = np.array([[1.1, 1.1, -1.4], [-1.3, 0.3, -1.2]])
    y = np.array([0.9, 0.9])
    given = x.copy()
    c = np.tanh(1.0)
    t = np.tanh(c * x)
    want = np.diag((-2.0 * t * (1.0 - t * t) * c * c).ravel()).reshape(x.shape + x.shape)
    np.testing.assert_allclose(srcad.hessian(rf.scale_in_place)(x, y), want, rtol=1e-12)
    np.testing.assert_array_equal(x, given)         # nor does the derivative change x


def test_derivatives_of_a_function_that_rotates_its_argument_in_place():
    x = np.array([1.2, -0.9])
    given = x.copy()
    hess, want = _second(rf.rotate_in_place, (x,))
    np.testing.assert_allclose(hess[0], want, rtol=1e-6, atol=1e-8)
    jac = srcad.jacrev(srcad.grad(rf.rotate_in_place))(x)
    np.testing.assert_allclose(jac, want, rtol=1e-6, atol=1e-8)
    out, pullback = srcad.vjp(rf.rotate_in_place, x)
    assert out == rf.rotate_in_place(given.copy())
    np.testing.assert_allclose(pullback(1.0)[0], _fd(rf.rotate_in_place, (given,)), rtol=1e-6)
    np.testing.assert_array_equal(x, given)


# ------------------------------------------------------------ zero adjoints of array items
def test_one_item_of_a_tuple_holding_floats_and_an_array():
    # the adjoint of `h(...)[0]` had 0.0 for the array item, which np.array's adjoint in the
    # helper's backward half reshaped: ValueError at first order
    for x in (-0.6, 0.4):
        got, want = _second(rf.first_item_then_unpack, (x,))
        for g in got:
            assert g == pytest.approx(float(want), abs=1e-6)


def test_second_order_when_a_helper_ignores_its_array_argument():
    # grad_like(0.0, array) was typed a float, so its tangent was 0.0, reshaped at
    # second order: ValueError in hessian
    for x in (0.6, -1.1):
        got, want = _second(rf.array_argument_unused, (x,))
        for g in got:
            assert g == pytest.approx(float(want), abs=1e-6)


# ------------------------------------------------------------ shapes that change in a loop
def test_gradient_when_a_loop_replaces_an_argument_by_another_shape():
    # the reverse sweep zeroed y's adjoint with the later value's shape, before popping the
    # earlier y back: ValueError in value_and_grad
    y = np.array([[0.3, 0.8, -0.9], [0.2, -0.5, -0.4]])
    value, g = srcad.value_and_grad(rf.loop_changes_shape)(y)
    assert value == 2.0
    np.testing.assert_array_equal(g, np.zeros_like(y))


def test_gradient_when_a_loop_replaces_a_maybe_unbound_value_by_another_shape():
    x, y = 0.1, np.array([[0.3, 0.8, -0.9], [0.2, -0.5, -0.4]])
    value, (gx, gy) = srcad.value_and_grad(rf.loop_changes_shape_twice, (0, 1))(x, y.copy())
    assert value == rf.loop_changes_shape_twice(x, y.copy())
    assert gx == pytest.approx(float(_fd(rf.loop_changes_shape_twice, (x, y), 0)), rel=1e-6)
    np.testing.assert_allclose(gy, _fd(rf.loop_changes_shape_twice, (x, y), 1), rtol=1e-6)


# ------------------------------------------------------------ second order
def test_grad_grad_after_a_loop_and_a_swap_that_never_runs():
    # the optimizer dropped `z_bar_1 = zeros_like(z)` as unread, counting `z_bar_1 += e`
    # as a store only: UnboundLocalError in grad(grad)
    args = (0.3, 1.5, -0.7)
    got, want = _second(rf.loop_then_unused_swap, args)
    for g in got:
        assert g == pytest.approx(float(want), abs=1e-6)
    for i in (1, 2):
        g = srcad.grad(srcad.grad(rf.loop_then_unused_swap, wrt=i), wrt=i)(*args)
        assert g == pytest.approx(float(_fd(srcad.grad(rf.loop_then_unused_swap, wrt=i),
                                            args, i, h=1e-5)), abs=1e-6)


@pytest.mark.parametrize("f, args, want", [
    # sum((x, x)**2 over 3 entries each) = 3 x^2 + 3; d/dx = 6x, d2 = 6
    (rf.square_of_a_tuple, (1.2, np.array([0.5, -0.9, -1.4])), (7.2, 6.0)),
    # x^2 + y^2 x^2: 2x (1 + y^2), 2 (1 + y^2)
    (rf.square_of_a_list, (0.5, 1.5), (3.25, 6.5)),
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
    hess, want = _second(rf.helper_changes_an_entry, (y,))
    np.testing.assert_allclose(hess[0], want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(hess[0], np.diag(6.0 * y + 2.0 * (y + 1.0 > 1.0)), rtol=1e-12)


def test_second_order_through_a_loop_calling_a_helper_that_scales_a_float():
    # grad f pops x back from its stack (`x = x_stack[-1]`): an entry of a list was of any
    # kind, so x, and s6 (`s6 = x` in the branch not taken), were taken for arrays the
    # helper's `s4 *= c` might change: the build of grad(grad f) refused srcad's own code
    for x in (1.0, -0.4):
        got, want = _second(rf.loop_calls_a_scaling_helper, (x,))
        for g in got:
            assert g == pytest.approx(float(want), abs=1e-6)


def test_entries_of_lists_built_on_each_other_keep_the_kind_of_every_item():
    # the kind of a list's entry joins what was put into any list made from it
    f = rf.list_built_on_another_gets_an_array
    for x in (0.7, -0.3):
        t = np.tanh(x * x)
        assert srcad.grad(f)(x) == pytest.approx(2.0 * x * (3.0 * (1.0 - t * t) + 1.0),
                                                 rel=1e-12)
        got, fd = _second(f, (x,))
        for g in got:
            assert g == pytest.approx(float(fd), rel=1e-6)


def test_derivatives_leave_an_argument_a_helper_changes_in_place_alone():
    # f's helper adds tanh(1) to y in place (Python's f changes the caller's y); the
    # derivatives ran it on the caller's y, once per hessian column
    x, y = -0.6, np.array([1.3, 0.8, 0.4])
    given = y.copy()
    f = rf.helper_changes_the_other_argument
    assert srcad.grad(f)(x, y) == pytest.approx(3.0 * x * x, rel=1e-12)
    assert srcad.grad(srcad.grad(f))(x, y) == pytest.approx(6.0 * x, rel=1e-12)
    assert srcad.hessian(f)(x, y) == pytest.approx(6.0 * x, rel=1e-12)
    assert srcad.jvp(f, (x, y), (1.0, np.zeros(3)))[1] == pytest.approx(3.0 * x * x, rel=1e-12)
    assert srcad.vjp(f, x, y)[1](1.0)[0] == pytest.approx(3.0 * x * x, rel=1e-12)
    np.testing.assert_array_equal(y, given)


def test_equal_expressions_assigned_to_two_names_are_two_arrays():
    # the lowering reused `x * 2.0` for b (b = a), so `a += 1.0` seemed to change b too:
    # refused for the user's code, and at second order for srcad's own (x_bar, c6_bar)
    x = np.array([-0.6, 1.4, 0.1])
    np.testing.assert_allclose(srcad.grad(rf.equal_expressions_then_one_changes)(x),
                               8.0 * x + 2.0, rtol=1e-12)
    want = 2.0 * np.exp(np.sin(x)) * (np.cos(x) ** 2 - np.sin(x))
    np.testing.assert_allclose(srcad.hessian(rf.three_names_for_x)(x), np.diag(want),
                               rtol=1e-12, atol=1e-15)


def test_second_order_when_a_loop_rebinds_an_array_to_a_float_a_helper_changes():
    # in grad f, x (the array argument, then np.sin(y)) is one variable of any kind, so the
    # helper's `a0 -= 1.0` on the float np.sin(y) was taken for a change of an array x
    # holds: the build of the hessian refused srcad's own code
    x, y = np.array([-0.5, -1.0, -1.2]), 0.4
    f = rf.loop_rebinds_an_array_to_a_float
    want = np.exp(y) * (np.sin(y) + 2.0 * np.cos(y) - np.sin(y))    # d2/dy2 e^y sin y
    assert srcad.grad(srcad.grad(f, wrt=1), wrt=1)(x, y) == pytest.approx(want, rel=1e-12)
    assert srcad.hessian(f, wrt=1)(x, y) == pytest.approx(want, rel=1e-12)
    np.testing.assert_array_equal(srcad.hessian(f)(x, y), np.zeros((3, 3)))


def test_matmul_adjoint_of_a_value_whose_return_is_not_taken():
    # the adjoint of m3 on the path without the early return is the 0.0 that stands for a
    # zero of any shape: matmul_vjp_x computed 0.0 @ y.T (ValueError)
    for x in (-0.2, 0.7):
        assert srcad.grad(rf.loop_with_a_return_never_taken)(x) == pytest.approx(2.0 * x,
                                                                                 rel=1e-12)
        assert srcad.hessian(rf.loop_with_a_return_never_taken)(x) == pytest.approx(2.0,
                                                                                    rel=1e-12)


def test_second_order_when_grad_f_saves_a_float_argument_as_its_shape():
    # grad f pops x back as np.shape(x), so x's kind there joins a float and a shape: the
    # float argument was taken for an array that s6 shares and the helper changes
    for x in (1.0, -0.3):
        got, want = _second(rf.float_argument_later_a_shape, (x,))
        for g in got:
            assert g == pytest.approx(2.0, rel=1e-9)
        assert float(want) == pytest.approx(2.0, rel=1e-6)


@pytest.mark.parametrize("x, want", [
    (np.array([1.1, 1.2, -1.4]), lambda x: 2.0 * x),
])
def test_return_in_a_loop_after_an_empty_loop(x, want):
    # `if returned: break else: ...; returned = True`: the reverse sweep tested `returned`
    # after the branch had set it, took the other branch, and gave a zero gradient
    f = rf.return_in_a_loop_after_an_empty_loop
    np.testing.assert_allclose(srcad.grad(f)(x), want(x), rtol=1e-12)
    np.testing.assert_allclose(srcad.hessian(f)(x), 2.0 * np.eye(3), rtol=1e-12)


@pytest.mark.parametrize("x", [np.array([0.5, -0.2]), np.array([-0.5, 0.3])])
def test_a_branch_that_resets_its_own_test(x):
    want = np.full(2, 3.0) if x[0] > 0 else 2.0 * x
    np.testing.assert_allclose(srcad.grad(rf.flag_reset_in_its_branch)(x), want, rtol=1e-12)
    np.testing.assert_allclose(srcad.value_and_grad(rf.flag_reset_in_its_branch)(x)[1], want,
                               rtol=1e-12)


def test_hessian_when_an_entry_of_the_argument_goes_to_a_helper_that_changes_it():
    # x[0] of the 1-D argument is a NumPy scalar; in grad f, x is also swapped with another
    # name, so its shape class was unknown and x[0] was taken for a view of x
    x = np.array([-0.2, 0.1, 0.1])
    hess, want = _second(rf.entry_then_swap, (x,))
    np.testing.assert_allclose(hess[0], np.diag(6.0 * x), rtol=1e-12)
    np.testing.assert_allclose(hess[0], want, atol=1e-6)


def test_concatenate_adjoint_when_its_use_is_in_a_branch_not_taken():
    # v6's adjoint on the path not using it is the 0.0 that stands for any zero:
    # unconcatenate split it (TypeError)
    x, y = np.array([-0.9, 0.9, -0.0]), 1.3
    gx, gy = srcad.grad(rf.concatenate_in_a_branch_not_taken, (0, 1))(x, y)
    np.testing.assert_allclose(gx, np.full(3, y), rtol=1e-12)
    assert gy == pytest.approx(np.sum(x), abs=1e-15)
