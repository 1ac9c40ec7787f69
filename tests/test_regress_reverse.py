"""Regressions of the reverse emitter (and the forward one over its code), checked against
finite differences of srcad's first derivative, itself checked against finite differences."""
import numpy as np
import pytest

import srcad
from srcad import reverse
from srcad.reverse import analysis
from srcad.testing import check_grads, numerical_grad

from fixtures import regress_reverse as rr


def _second(f, args, i=0):
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
    twice, hess, want = _second(rr.square_signed, (a,))
    assert twice == pytest.approx(2.0 if a >= 0 else -2.0, rel=1e-12)
    assert hess == pytest.approx(float(want), rel=1e-6)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_second_order_when_an_array_branch_is_not_taken(sign):
    x = sign * np.array([0.4, 1.3, 0.2])
    twice, hess, want = _second(rr.square_signed_array, (x,))
    np.testing.assert_allclose(twice, want, atol=1e-6)
    np.testing.assert_allclose(hess, want, atol=1e-6)


def test_one_item_of_a_helpers_tuple_whose_other_item_is_an_array():
    # the other item's adjoint is 0.0, which unbroadcast reshaped to the array's shape
    x = np.array([0.3, -0.7, 1.1])
    check_grads(rr.first_of_pair, x)
    twice, hess, want = _second(rr.first_of_pair, (x,))
    np.testing.assert_allclose(twice, want, atol=1e-6)
    np.testing.assert_allclose(hess, want, atol=1e-6)


@pytest.mark.parametrize("x", [0.7, np.array([0.3, -0.4])])
def test_second_order_through_helpers_returning_tuples_that_call_each_other(x):
    # grad(grad): tuple + list TypeError; hessian: the tangent of a tuple's adjoint was
    # a list concatenation, a silently wrong second derivative
    check_grads(rr.tuple_helpers, x)
    twice, hess, want = _second(rr.tuple_helpers, (x,))
    np.testing.assert_allclose(twice, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(hess, want, rtol=1e-6, atol=1e-6)


def test_grad_grad_through_nested_tuples_of_helpers():
    check_grads(rr.nested_tuple_helpers, 0.6)
    twice, hess, want = _second(rr.nested_tuple_helpers, (0.6,))
    assert twice == pytest.approx(float(want), rel=1e-6)
    assert hess == pytest.approx(float(want), rel=1e-6)


@pytest.mark.parametrize("i", [0, 1])
def test_loop_over_a_list_of_differently_shaped_arrays(i):
    # zeros_like([W, b]) cannot make one array of them
    W, b = np.arange(6.0).reshape(2, 3) * 0.1, np.array([0.5, -0.2])
    check_grads(rr.sum_over_params, W, b)
    twice, hess, want = _second(rr.sum_over_params, (W, b), i)
    np.testing.assert_allclose(twice, want, atol=1e-6)
    np.testing.assert_allclose(hess, want, atol=1e-6)


@pytest.mark.parametrize("i", [0, 1])
def test_second_order_of_a_list_of_unlike_items_appended_to_in_nested_loops(i):
    args = (0.4, 0.2)
    twice, hess, want = _second(rr.fuzz_147, args, i)
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
