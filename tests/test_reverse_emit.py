"""The reverse emitter (srcad/reverse/emit.py) and the forward one over its code, against
finite differences of srcad's own first-order derivatives and closed forms."""
import numpy as np
import pytest

import srcad
from srcad import reverse
from srcad.reverse import analysis
from srcad.testing import check_grads
from srcad.testing import numerical_grad

from fixtures import regress_fixes as rf
from fixtures import regress_lead as R
from fixtures import regress_lead5 as R_lead5
from fixtures import regress_lead6 as R_lead6
from fixtures import regress_reverse as rr
from fixtures import regress_rules as rr_rules
from fixtures import regress_s3gb as rs
from fixtures import regress_s4fz as R_s4fz
from fixtures import regress_s5fz as R_s5fz
from conftest import second_derivatives


# ------------------------------------------------------------ 3. nested tuples at second order
def test_second_order_through_nested_tuples_of_helpers_on_an_array():
    # grad_like(array, 0.0): a tuple's zero item (0.0 standing for an array) met the
    # adjoint the second derivative computes for it: float(array) TypeError
    x = np.array([0.6, -0.3, 0.2])
    check_grads(rf.nested_tuple_helpers, x)
    got, want = second_derivatives(rf.nested_tuple_helpers, (x,))
    for g in got:
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-6)


def test_second_order_of_swaps_through_loops():
    x, y = np.array([1.0, -0.6, 0.9]), np.array([0.2, -1.5, -0.3])
    np.testing.assert_allclose(srcad.hessian(R.swap_through_loop)(x, y), 2 * np.eye(3),
                               rtol=1e-12)
    check_grads(srcad.grad(R.swap_through_loop), x, y)
    x, y = np.array([1.5, 1.4, 0.1]), np.array([-0.1, -0.5, -0.8])
    # three swaps leave x = x + y
    np.testing.assert_allclose(srcad.hessian(R.swap_in_loop_over_array)(x, y),
                               np.diag(-np.cos(x + y)), rtol=1e-12)
    check_grads(srcad.grad(R.swap_in_loop_over_array), x, y)


def test_hessian_through_two_fields_of_a_namedtuple_in_a_list():
    # the reverse code summed the fields' adjoints with `+` (Items add item-wise at run
    # time), which srcad refused as a possible tuple concatenation when it differentiated
    # that code again, naming the generated file
    rng = np.random.default_rng(0)
    layers = [R_lead5.Layer(rng.normal(size=(3, 2)), rng.normal(size=2))]
    x = rng.normal(size=(2, 3))
    H = srcad.hessian(R_lead5.last_layer)(layers, x)
    W = layers[0].W

    def grad_b(W):
        return srcad.grad(R_lead5.last_layer)([R_lead5.Layer(W, layers[0].b)], x)[0].b
    fd = np.zeros(W.shape + (2,))
    for idx in np.ndindex(*W.shape):
        e = np.zeros_like(W)
        e[idx] = 1e-6
        fd[idx] = (grad_b(W + e) - grad_b(W - e)) / 2e-6
    np.testing.assert_allclose(H[0].W[0].b, fd, rtol=1e-6, atol=1e-8)
    check_grads(R_lead5.last_layer, layers, x)


def test_reverse_over_reverse_reads_an_adjoint_from_before_index_add():
    # fuzz 901:857: the first-order code adds in place (`y_bar_1 = index_add(y_bar, 0, g)`)
    # and its own derivative read y_bar afterwards (d(g / v)/dv): grad(grad) gave 0.845 for
    # 0.264; srcad's derivative of its code now adds on a copy
    y = np.array([-0.8, 0.5])
    gg = srcad.grad(srcad.grad(R_lead6.rebinds_its_parameter))(0.8, y)
    fd = numerical_grad(srcad.grad(R_lead6.rebinds_its_parameter), (0.8, y), 0)
    np.testing.assert_allclose(gg, fd, rtol=1e-6)
    np.testing.assert_allclose(srcad.hessian(R_lead6.rebinds_its_parameter)(0.8, y), fd, rtol=1e-6)


def _second_reverse(f, args, i=0):
    """grad(grad f) (or jacrev of it), hessian, and finite differences of grad f."""
    g = srcad.grad(f, wrt=i)
    want = numerical_grad(g, args, i)
    if isinstance(args[i], float):
        twice = srcad.grad(g, wrt=i)(*args)
    else:
        twice = srcad.jacrev(g, wrt=i)(*args)
    return twice, srcad.hessian(f, wrt=i)(*args), want


@pytest.mark.parametrize("a", [1.5, -1.5, 2.0, -0.3])
def test_grad_grad_when_a_branch_with_temporaries_is_not_taken(a):
    # the reverse-over-reverse code zero-initialised the adjoint of the other branch's
    # temporary with zeros_like(temporary): UnboundLocalError for a > 0
    twice, hess, want = _second_reverse(rr.square_signed, (a,))
    assert twice == pytest.approx(2.0 if a >= 0 else -2.0, rel=1e-12)
    assert hess == pytest.approx(float(want), rel=1e-6)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_second_order_when_an_array_branch_is_not_taken(sign):
    x = sign * np.array([0.4, 1.3, 0.2])
    twice, hess, want = _second_reverse(rr.square_signed_array, (x,))
    np.testing.assert_allclose(twice, want, atol=1e-6)
    np.testing.assert_allclose(hess, want, atol=1e-6)


def test_one_item_of_a_helpers_tuple_whose_other_item_is_an_array():
    # the other item's adjoint is 0.0, which unbroadcast reshaped to the array's shape
    x = np.array([0.3, -0.7, 1.1])
    check_grads(rr.first_of_pair, x)
    twice, hess, want = _second_reverse(rr.first_of_pair, (x,))
    np.testing.assert_allclose(twice, want, atol=1e-6)
    np.testing.assert_allclose(hess, want, atol=1e-6)


@pytest.mark.parametrize("x", [0.7, np.array([0.3, -0.4])])
def test_second_order_through_helpers_returning_tuples_that_call_each_other(x):
    # grad(grad): tuple + list TypeError; hessian: the tangent of a tuple's adjoint was
    # a list concatenation, a silently wrong second derivative
    check_grads(rr.tuple_helpers, x)
    twice, hess, want = _second_reverse(rr.tuple_helpers, (x,))
    np.testing.assert_allclose(twice, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(hess, want, rtol=1e-6, atol=1e-6)


def test_grad_grad_through_nested_tuples_of_helpers():
    check_grads(rr.nested_tuple_helpers, 0.6)
    twice, hess, want = _second_reverse(rr.nested_tuple_helpers, (0.6,))
    assert twice == pytest.approx(float(want), rel=1e-6)
    assert hess == pytest.approx(float(want), rel=1e-6)


@pytest.mark.parametrize("i", [0, 1])
def test_loop_over_a_list_of_differently_shaped_arrays(i):
    # zeros_like([W, b]) cannot make one array of them
    W, b = np.arange(6.0).reshape(2, 3) * 0.1, np.array([0.5, -0.2])
    check_grads(rr.sum_over_params, W, b)
    twice, hess, want = _second_reverse(rr.sum_over_params, (W, b), i)
    np.testing.assert_allclose(twice, want, atol=1e-6)
    np.testing.assert_allclose(hess, want, atol=1e-6)


@pytest.mark.parametrize("i", [0, 1])
def test_second_order_of_a_list_of_unlike_items_appended_to_in_nested_loops(i):
    args = (0.4, 0.2)
    twice, hess, want = _second_reverse(rr.fuzz_147, args, i)
    assert twice == pytest.approx(float(want), rel=1e-6, abs=1e-6)
    assert hess == pytest.approx(float(want), rel=1e-6, abs=1e-6)


def test_reverse_sweep_of_a_loop_nest_is_built_a_few_times_per_loop(monkeypatch):
    # each level's fixpoints used to rebuild every loop inside it: 3x the work per level;
    # the analysis walks each body a few times, the emitter emits each loop once
    walks, emitted = [], []
    block, rev_loop = analysis.Adjoints.block, reverse._Reverse.rev_loop
    monkeypatch.setattr(analysis.Adjoints, "block",
                        lambda self, stmts, *a: walks.append(stmts) or block(self, stmts, *a))
    monkeypatch.setattr(reverse._Reverse, "rev_loop",
                        lambda self, s, *a: emitted.append(s) or rev_loop(self, s, *a))
    d = srcad.derivative(rr.nest7, mode="reverse", wrt=(0, 1))
    assert len(walks) <= 8 * 7                # 45: linear in depth (3x per level was 3**7)
    assert len(emitted) == 7 == len({id(s) for s in emitted})
    gx, ga = d(1.0, 0.5)
    assert gx == pytest.approx(0.5 ** 128, rel=1e-12)
    assert ga == pytest.approx(float(numerical_grad(rr.nest7, (1.0, 0.5), 1)), rel=1e-6)


# ------------------------------------------------------------ 7. helpers at higher order
def test_third_derivative_through_a_helper():
    # f = (x sin x + x^2) x = x^2 sin x + x^3
    x = 0.7
    want = (6 - x * x) * np.cos(x) - 6 * x * np.sin(x) + 6.0
    got = srcad.grad(srcad.grad(srcad.grad(rr_rules.through_helper)))(x)
    assert got == pytest.approx(want, rel=1e-12)
    h = srcad.hessian(rr_rules.sum_through_helper)(np.array([0.7, 0.3]))
    d2 = lambda x: (2 - x * x) * np.sin(x) + 4 * x * np.cos(x) + 6 * x  # noqa: E731
    np.testing.assert_allclose(np.diag(h), [d2(0.7), d2(0.3)], rtol=1e-12)


def test_hessian_through_helpers_that_return_constants():
    assert srcad.hessian(rr_rules.uses_constant_helper)(0.7) == pytest.approx(4.0, rel=1e-14)
    assert srcad.hessian(rr_rules.uses_constant_nested)(0.7) == pytest.approx(6.0 - np.sin(0.7),
                                                                        rel=1e-12)
    h = srcad.hessian(rr_rules.sum_uses_constant_helper)(np.array([0.7, 0.2]))
    np.testing.assert_allclose(h, 4.0 * np.eye(2))
    g3 = srcad.grad(srcad.grad(srcad.grad(rr_rules.uses_constant_nested)))(0.7)
    assert g3 == pytest.approx(-np.cos(0.7), rel=1e-12)
    assert float(numerical_grad(srcad.grad(rr_rules.uses_constant_helper), (0.7,), 0)) == \
        pytest.approx(4.0, rel=1e-6)


def test_third_derivative_through_a_helper_returning_a_tuple():
    # x^3 + x^2: the third derivative is 6
    assert srcad.grad(srcad.grad(srcad.grad(rr_rules.uses_pair)))(0.7) == pytest.approx(6.0, rel=1e-12)
    assert srcad.hessian(rr_rules.uses_pair)(0.7) == pytest.approx(6 * 0.7 + 2, rel=1e-12)


rng = np.random.default_rng(12)


@pytest.mark.parametrize("f", [rs.mask_index, rs.entry_times_row])
@pytest.mark.parametrize("i", [True, 1])
def test_an_entry_is_indexed_by_an_int_never_a_bool(f, i):
    """An int-kind name may hold a bool, which indexes as a mask: only sums and products of
    ints, and loop counters, make an entry a float (its adjoint then a number)."""
    check_grads(f, rng.normal(size=3), i, wrt=(0,))


def test_second_order_through_a_helper_returning_a_list_made_in_a_branch():
    g = srcad.grad(R_s4fz.tuple_of_pieces)
    assert srcad.grad(g)(0.9) == pytest.approx(numerical_grad(g, [0.9], 0), rel=1e-6)


def test_second_order_through_a_helpers_consumed_residuals():
    # k1_grad calls h1's backward half, which pops the stacks in h1's residuals; the
    # derivative of k1_grad read those residuals later (zeros of their structure for the
    # residuals' adjoint), found them empty and popped past their end (IndexError)
    x, y = 1.2, np.array([1.5, -1.2, -0.0])
    check_grads(R_s5fz.k1, x, y)
    g = srcad.grad(R_s5fz.k1)
    want = numerical_grad(g, [x, y], 0)
    np.testing.assert_allclose(srcad.grad(g)(x, y), want, rtol=1e-6)
    np.testing.assert_allclose(srcad.hessian(R_s5fz.k1)(x, y), want, rtol=1e-6)
    gy = srcad.grad(R_s5fz.k1, 1)
    np.testing.assert_allclose(srcad.hessian(R_s5fz.k1, 1)(x, y), numerical_grad(gy, [x, y], 1),
                               rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------ tuple unpacking of known values
def test_unpacking_known_values_emits_no_runtime_check():
    """`for W, b in layers` of a list of pairs: the adjoint is the tuple (W_bar, b_bar)
    (it was `unpacked((W_bar, b_bar), v4)`, which checks the value's type when it runs);
    `x, v = xs[t]` of an array: `unpacked_rows`, no check and no zeros; a value srcad cannot
    tell keeps `unpacked`."""
    from fixtures import idiom_funcs as I
    rng = np.random.default_rng(1)
    layers = [(rng.normal(size=(3, 3)), rng.normal(size=3)), (rng.normal(size=(3, 2)),
                                                              rng.normal(size=2))]
    x = rng.normal(size=3)
    text = srcad.source(I.unpack_pairs, args=(layers, x))
    assert "unpacked" not in text and "(W_bar, b_bar)" in text
    assert "unpacked" not in srcad.source(I.unpack_stack_pairs)
    xs = rng.normal(size=(4, 2))
    text = srcad.source(I.unpack_rows, wrt=(0, 1), args=(xs, 0.7))
    assert "unpacked_rows((x_bar, v_bar), v2)" in text and "unpacked(" not in text
    assert "unpacked((" in srcad.source(I.unpack_rows, wrt=(0, 1))      # kinds unknown
    # at second order too: the first-order code's own `v2 = None`, stacks and pops
    text = srcad.source(lambda h, xs: np.sum(srcad.grad(I.unpack_rows)(xs, h) ** 2),
                        args=(0.7, xs))
    assert "unpacked_rows(" in text and "unpacked(" not in text


def test_unpacking_known_values_differentiates_to_third_order():
    from conftest import second_order
    from fixtures import idiom_funcs as I
    rng = np.random.default_rng(2)
    layers = [(rng.normal(size=(3, 3)), rng.normal(size=3)), (rng.normal(size=(3, 2)),
                                                              rng.normal(size=2))]
    x = rng.normal(size=3)
    check_grads(I.unpack_pairs, layers, x)
    second_order(I.unpack_pairs, (layers, x), 1)
    check_grads(lambda x, layers: np.sum(srcad.grad(I.unpack_pairs)(layers, x)[0][0] ** 2),
                x, layers, modes=("reverse",))
    xs = rng.normal(size=(4, 2))
    check_grads(lambda h, xs: np.sum(srcad.grad(I.unpack_rows)(xs, h) ** 2), 0.7, xs,
                modes=("reverse",))
    for arg in (xs, [tuple(r) for r in xs], [list(r) for r in xs]):
        check_grads(I.unpack_rows, arg, 0.7)
        check_grads(lambda h, xs: sum(a * a + b for a, b in srcad.grad(I.unpack_rows)(xs, h)),
                    0.7, arg, modes=("reverse",))
    second_order(I.unpack_rows, (xs, 0.7))
    second_order(I.unpack_rows, (xs, 0.7), 1)
    g2 = srcad.grad(lambda h, xs: np.sum(srcad.grad(I.unpack_rows)(xs, h) ** 2))
    check_grads(g2, 0.7, xs, modes=("reverse",))                        # third order
    check_grads(I.unpack_stack_pairs, x)
    second_order(I.unpack_stack_pairs, (x,))


def test_a_derivative_for_pairs_is_not_reused_for_arrays():
    """A list of pairs and a list of 2-row arrays unpack alike in Python; their derivatives
    differ (a tuple adjoint, an array's rows), so each argument kind has its own."""
    from fixtures import idiom_funcs as I
    rng = np.random.default_rng(3)
    g = srcad.grad(I.unpack_rows)
    for xs in ([tuple(r) for r in rng.normal(size=(4, 2))], list(rng.normal(size=(4, 2, 3))),
               [tuple(r) for r in rng.normal(size=(4, 2))]):
        got = g(xs, 0.7)
        for k, item in enumerate(xs):
            want = numerical_grad(lambda r: I.unpack_rows(xs[:k] + [r] + xs[k + 1:], 0.7),
                                  [np.array(item)], 0)
            np.testing.assert_allclose(np.array(got[k]), want, rtol=1e-6, atol=1e-8)
