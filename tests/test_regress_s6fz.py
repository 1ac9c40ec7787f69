"""Regression tests for what the differential fuzzer (tests/fuzz, issue 9) found on branch
s6fz. Oracles: finite differences (srcad.testing) of the primal and of srcad's own
first-order gradient (itself checked against finite differences)."""
import numpy as np
import pytest

import srcad
from srcad.testing import check_grads, numerical_grad

from fixtures import regress_s6fz as R


def _second_order(f, args, wrt=0):
    """grad(grad(f)) (a float first argument) or hessian(f) against finite differences of
    srcad's gradient, after that gradient is checked against the primal's."""
    check_grads(f, *args)
    g = srcad.grad(f, wrt)
    want = numerical_grad(g, list(args), wrt)
    np.testing.assert_allclose(srcad.hessian(f, wrt)(*args), want, rtol=1e-5, atol=1e-8)
    if np.ndim(args[wrt]) == 0 and wrt == 0:
        np.testing.assert_allclose(srcad.grad(g)(*args), want, rtol=1e-5, atol=1e-8)


# A helper returning a tuple whose item it changed in place: at second order that tuple is
# srcad's own (value, residuals)[0], and the alias facts kept one level of tuple positions
# only, so every item of the inner tuple seemed to share every other's storage and srcad
# refused its own generated code ("h() changes its argument ... and 'p4' may share it").

@pytest.mark.parametrize("f, args", [
    (R.tuple_items_kept_apart, (0.7,)),                       # fuzz 503:498
    (R.tuple_items_kept_apart, (np.array([0.4, -0.3, 1.1]),)),
    (R.tuple_item_indexed, (np.array([0.3, 0.2, -0.5]),)),     # fuzz 503:2788
    (R.tuple_rotated_in_loop, (np.array([0.5, -0.6, 0.2]),)),  # fuzz 504:3738
    (R.tuple_item_in_while_test, (0.7,)),                     # fuzz 601:1044
    (R.tuple_item_changed_by_other_helper, (0.4, np.array([0.9, 0.3, -0.2]))),  # 601:4573
])
def test_second_order_through_nested_tuple_of_helper(f, args):
    _second_order(f, args)


def test_nested_tuple_items_do_not_share():
    # the items of t[0] were all taken to share each other's storage: a refusal
    x = np.array([0.5, -0.3])
    check_grads(R.nested_items_apart, x)


@pytest.mark.parametrize("f", [R.nested_item_shared, R.deep_item_shared,
                               R.loop_nested_shared])
def test_nested_tuple_item_shared_is_refused(f):
    with pytest.raises(srcad.SrcadError, match="may share"):
        srcad.grad(f)(np.array([0.5, -0.3]))


@pytest.mark.parametrize("f", [R.rotated_after_branch_update, R.loop_update_transposed])
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


def test_second_order_list_adjoint_popped_in_loop():
    # fuzz 804:483: f_grad pops its list adjoint in a loop (`xs_bar = xs_1_bar[:-1]`, then
    # `v_bar_last = xs_bar.pop()`); a slice of what may be a list was taken as a view of its
    # items too, so the popped item seemed to share the list: srcad refused its own code
    _second_order(R.list_adjoint_popped, (np.array([-0.7, -1.4]),))
