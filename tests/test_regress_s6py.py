"""Regression tests for the issue 10 gaps fixed on branch s6py: closures, lambdas and
partials returned by helpers; methods of objects taken from containers and attributes,
classmethods and staticmethods; hessians with respect to an object passed on; modules as
values; the user's lines in copies of functions. Each against finite differences in both
modes (check_grads) and at second order."""
import traceback

import numpy as np
import pytest

import srcad
from srcad import funcs
from srcad.testing import check_grads, numerical_grad

from fixtures import regress_s6py as R

RNG = np.random.default_rng(6)
X = RNG.normal(size=(4, 3))


def second_order(f, args, i=0):
    """hessian (forward over reverse) and jacrev of grad (reverse over reverse) against
    finite differences of the gradient."""
    g = srcad.grad(f, wrt=i)
    want = numerical_grad(g, list(args), i)
    for got in (srcad.hessian(f, wrt=i)(*args), srcad.jacrev(g, wrt=i)(*args)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def line_of(func, text):
    """The file line of `func`'s source holding `text`."""
    import inspect
    lines, first = inspect.getsourcelines(func)
    return first + next(k for k, s in enumerate(lines) if text in s)


# ---------------------------------------------------------------- 5. the user's lines

def test_a_method_copy_runs_at_the_users_lines():
    # was: the copy's code was compiled with its leading lines stripped (lstrip) under a
    # scope written as text, so a traceback from it named line 4 for the user's line 75
    copy = funcs.for_class(R.Dense.__call__, R.Dense)
    assert copy is not R.Dense.__call__
    with pytest.raises(ValueError) as e:
        copy(R.Dense(np.ones((2, 2)), np.ones(2)), np.ones(3))
    frame = traceback.extract_tb(e.value.__traceback__)[-1]
    assert frame.filename == R.__file__
    assert frame.lineno == line_of(R.Dense.__call__, "return np.tanh")


# ---------------------------------------------------------------- 1. returned function values

V = RNG.normal(size=3)
C = RNG.normal(size=3)


@pytest.mark.parametrize("f, args", [
    (R.closure_returned, (V, C)),        # def loss(w) returned, called
    (R.closure_capturing_x, (V,)),       # what it captures depends on x
    (R.lambda_returned, (V, C)),         # a returned lambda, called on the spot too
    (R.partial_returned, (V, C)),        # functools.partial returned from a helper
    (R.factory_chain, (V, C)),           # a factory returning another factory's result
])
def test_function_values_returned_by_helpers(f, args):
    # was: "calling the local value g is not supported" (and "calling the result of
    # make_shifted(c)")
    for i in range(len(args)):
        check_grads(f, *args, wrt=i)
        second_order(f, args, i)


def test_returned_closure_is_differentiated_through_what_it_captures():
    # d/dx sum((2x - sin x)^2) = 2 (2x - sin x)(2 - cos x): the captured sin(x) is no constant
    want = 2 * (2 * V - np.sin(V)) * (2 - np.cos(V))
    np.testing.assert_allclose(srcad.grad(R.closure_capturing_x)(V), want, rtol=1e-12)
    _, dot = srcad.jvp(R.closure_capturing_x, (V,), (np.ones(3),))
    assert dot == pytest.approx(np.sum(want), rel=1e-12)
