"""Regression tests for what the differential fuzzer (tests/fuzz, issue 9 section 4) found on
branch s4fz: a value off in its last bit, a silently wrong gradient, second-order crashes
on srcad's own code, a build that took 14 s. Oracles: Python's own value (bit for bit),
closed forms, finite differences."""
import time

import numpy as np
import pytest

import srcad
from srcad import runtime
from srcad.testing import check_grads, numerical_grad

from fixtures import regress_s4fz as R


def test_an_update_in_place_keeps_the_arrays_layout():
    # m = (...).T is Fortran-ordered; Python's `m -= x` keeps it so, srcad's `m - x` was a
    # C-ordered array and np.sum added in another order: the value differed in its last bit
    x = np.outer(1.5 * np.linspace(-1.0, 1.0, 2), np.linspace(-1.0, 1.0, 3) * 1.5)
    want = np.float64(R.transposed_update(x.copy())).tobytes()
    assert np.float64(srcad.value_and_grad(R.transposed_update)(x)[0]).tobytes() == want
    assert np.float64(srcad.jvp(R.transposed_update, (x,), (x,))[0]).tobytes() == want
    check_grads(R.transposed_update, x)


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
    gx, gy = srcad.grad(R.swapped_then_bumped, wrt=(0, 1))(x.copy(), y.copy())
    np.testing.assert_allclose(gx, np.cos(x) * y, rtol=1e-12)
    np.testing.assert_allclose(gy, np.sin(x), rtol=1e-12)
    _, t = srcad.jvp(R.swapped_then_bumped, (x.copy(), y.copy()), (np.ones(3), np.zeros(3)))
    assert t == pytest.approx(np.sum(np.cos(x) * y), rel=1e-12)
    np.testing.assert_allclose(srcad.hessian(R.swapped_then_bumped)(x.copy(), y.copy()),
                               np.diag(-np.sin(x) * y), atol=1e-12)


def test_a_helper_changing_an_array_in_place_in_a_loop():
    x = np.array([0.3, -0.2, 0.5])

    def f(v):                                   # f changes its argument: a copy per call
        return R.halved_after_read(v.copy())
    want = numerical_grad(f, [x], 0)
    np.testing.assert_allclose(srcad.grad(R.halved_after_read)(x.copy()), want, rtol=1e-7)
    _, t = srcad.jvp(R.halved_after_read, (x.copy(),), (np.ones(3),))
    assert t == pytest.approx(np.sum(want), rel=1e-7)


def test_conditional_expressions_on_one_test_at_second_order():
    # the reverse sweep tests `-0.25 <= 0.5` again and reads the second expression's
    # temporary there: the SSA check knew only what the first `if` on that test assigned
    x = np.array([0.3, 1.2, -0.7])
    want = np.diag(2.0 * np.cos(x) - x * np.sin(x))        # of sum(x * sin(x))
    np.testing.assert_allclose(srcad.hessian(R.two_conditionals)(x), want, rtol=1e-10)
    g = srcad.grad(R.two_conditionals)
    np.testing.assert_allclose(srcad.jacrev(g)(x), numerical_grad(g, [x], 0), rtol=1e-6)


def test_alias_analysis_of_a_loop_of_branches_builds_quickly():
    # each statement in a loop aged every name of every alias state (24 per point here):
    # 11 s of CPU before this refusal, about 1 s now
    x = np.array([0.69247723, -1.45509282, 0.71373773])
    y = np.array([-0.09829301, -1.09422362, -1.39491245])
    start = time.process_time()
    with pytest.raises(srcad.UnsupportedSyntaxError, match=r"regress_s4fz.py:\d+: an augmented "
                       r"assignment changes the array in 'y' in place, and 'x' may share"):
        srcad.grad(R.branchy_loop, wrt=(0, 1))(x, y)
    assert time.process_time() - start < 5.0


def test_second_order_through_a_helper_returning_a_list_made_in_a_branch():
    g = srcad.grad(R.tuple_of_pieces)
    assert srcad.grad(g)(0.9) == pytest.approx(numerical_grad(g, [0.9], 0), rel=1e-6)


def test_hessian_of_a_negated_concatenation():
    x = np.array([1.1, -0.0, -0.7])
    g = srcad.grad(R.negated_pieces)
    np.testing.assert_allclose(srcad.hessian(R.negated_pieces)(x), numerical_grad(g, [x], 0),
                               rtol=1e-6, atol=1e-8)
