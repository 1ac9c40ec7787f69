"""ISSUE10 items 2, 6, 7: comprehensions, everyday Python, calls with no active argument.

Each construct in both modes and at second order against finite differences and, where
autograd can run the function, against autograd."""
import numpy as np
import pytest

import srcad
from srcad.testing import check_grads, numerical_grad
from conftest import autograd_twin

from fixtures import idiom_funcs as F

X = np.array([0.3, 1.2, -0.7])
Y = np.array([0.5, -0.4, 0.9])
M = np.array([[0.3, 1.2, -0.7], [0.2, 0.1, 0.8]])


def second_order(f, args, i=0, autograd=True):
    """Hessian blocks w.r.t. argument i in two mode combinations vs finite differences of
    the (separately checked) gradient, and vs autograd's Hessian when it can run f."""
    g = srcad.grad(f, wrt=i)
    want = numerical_grad(g, list(args), i)
    for got in (srcad.hessian(f, wrt=i)(*args),                    # forward over reverse
                srcad.jacrev(srcad.grad(f, wrt=i), wrt=i)(*args)):  # reverse over reverse
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    if autograd:
        import autograd
        ag = autograd.hessian(autograd_twin(f), i)(*args)
        np.testing.assert_allclose(srcad.hessian(f, wrt=i)(*args), ag, rtol=1e-7, atol=1e-9)


def first_order(f, args, autograd=True):
    check_grads(f, *args)
    if autograd:
        import autograd
        for i in range(len(args)):
            np.testing.assert_allclose(srcad.grad(f, wrt=i)(*args),
                                       autograd.grad(autograd_twin(f), i)(*args), rtol=1e-9)


COMPS = [(F.comp_sum, (X,)), (F.comp_gen_sum, (X,)), (F.comp_nested, (X, Y)),
         (F.comp_filter, (X,)), (F.comp_nparray, (X,)), (F.comp_stack, (X,)),
         (F.comp_concat, (X,)), (F.comp_max, (X,)), (F.comp_max_list, (X,)),
         (F.comp_zip, (X, Y)), (F.comp_rows, (M,)), (F.comp_nested_list, (X,)),
         (F.comp_scope, (X,)), (F.comp_in_loop, (X,)), (F.comp_inner_shadow, (X,)),
         (F.comp_set_const, (X,)), (F.comp_self_target, (X,))]


@pytest.mark.parametrize("f, args", COMPS, ids=[f.__name__ for f, _ in COMPS])
def test_comprehension(f, args):
    first_order(f, args)
    second_order(f, args)
    assert srcad.value_and_grad(f)(*args)[0] == pytest.approx(f(*args), rel=1e-12)


def test_comprehension_variable_does_not_leak():
    # the comprehension's v is not the function's v (which stays 2.0)
    assert F.comp_scope(X) == pytest.approx(sum(X * X) * 2.0)
    assert srcad.grad(F.comp_scope)(X) == pytest.approx(2 * X * 2.0)


@pytest.mark.parametrize("f, what", [(F.comp_gen_stored, "generator expression"),
                                     (F.comp_max_key, r"max\(\) with keyword"),
                                     (F.comp_dict, "dict comprehension")])
def test_comprehension_refusals(f, what):
    with pytest.raises(srcad.SrcadError, match=what) as e:
        srcad.grad(f)(X)
    assert e.value.filename.endswith("idiom_funcs.py") and e.value.lineno > 1
