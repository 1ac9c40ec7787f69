"""Regression tests for the issue 10 gaps fixed on branch s4py: a top-level function with
*args/**kwargs, the Jacobians of a container argument inside a derivative, an `if` arm that
raises, the comprehension derivatives made linear, and a batch of everyday programs. Each
against finite differences in both modes (check_grads), at second order and against
autograd where autograd runs the function."""
import numpy as np
import pytest

import srcad
from srcad.testing import check_grads, numerical_grad
from conftest import autograd_twin

from fixtures import regress_s4py as R

X = np.array([0.3, 1.2, -0.7])
Y = np.array([0.5, -0.4, 0.9])


def second_order(f, args, i=0):
    """hessian (forward over reverse) and jacrev of grad (reverse over reverse) against
    finite differences of the gradient."""
    g = srcad.grad(f, wrt=i)
    want = numerical_grad(g, list(args), i)
    for got in (srcad.hessian(f, wrt=i)(*args), srcad.jacrev(g, wrt=i)(*args)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- 1. top-level *args

def test_star_args_at_top_level_both_modes_and_second_order():
    # was: "*args and **kwargs parameters are not supported" for every transform
    for i in range(3):
        check_grads(R.sum_squares, X, Y, 0.5, wrt=i)
    second_order(R.sum_squares, (X, Y, 0.5), 1)
    g = srcad.grad(R.sum_squares, wrt=(0, 2))(X, Y, 0.5)
    np.testing.assert_allclose(g[0], 2 * X)
    assert g[1] == pytest.approx(1.0)
    # wrt counts the positional arguments as Python passes them: 1 is rest[0]
    check_grads(R.first_and_rest, X, 0.2, Y, wrt=2)
    second_order(R.first_and_rest, (X, 0.2, Y), 2)
    import autograd
    np.testing.assert_allclose(srcad.grad(R.first_and_rest, wrt=1)(X, 0.2, Y),
                               autograd.grad(autograd_twin(R.first_and_rest), 1)(X, 0.2, Y))


def test_star_args_keyword_only_and_kwargs_at_top_level():
    f = R.scaled_by_keywords
    g = srcad.grad(f, wrt=(0, 1))(X, 1.0, 2.0, scale=3.0, shift=0.5)
    np.testing.assert_allclose(g[0], 3.0 * 2 * X * 2 - 0.5 * np.sin(X))
    assert g[1] == 0.0
    jac = srcad.jacfwd(f)(X, 1.0, shift=0.5)         # scale defaulted
    np.testing.assert_allclose(jac, 2.0 * 2 * X - 0.5 * np.sin(X))
    out, dot = srcad.jvp(f, (X, 1.0), (Y, 0.0))
    assert out == pytest.approx(f(X, 1.0)) and dot == pytest.approx(2.0 * 2 * X @ Y)
    out, pull = srcad.vjp(f, X, 1.0)
    np.testing.assert_allclose(pull(1.0)[0], 4.0 * X)


def test_grad_of_a_star_function_inside_a_derivative():
    # grad(first_and_rest, wrt=1)(x, y, y) inside: the helper built for the call's shape
    check_grads(R.grad_of_star_inside, X, 0.4)
    check_grads(R.grad_of_star_inside, X, 0.4, wrt=1)


def test_star_function_refused_where_no_call_gives_its_shape():
    with pytest.raises(srcad.UnsupportedSyntaxError, match="per call shape") as info:
        srcad.source(R.sum_squares)
    assert "regress_s4py.py:" in str(info.value)
    with pytest.raises(srcad.SrcadError, match="wrt=3"):
        srcad.grad(R.sum_squares, wrt=3)(X, Y)


# ---------------------------------------------------------------- 2. Jacobians of containers

def marked(func, tag):
    import inspect
    lines, first = inspect.getsourcelines(func)
    return next(first + k for k, line in enumerate(lines) if f"# ERR {tag}" in line)


@pytest.mark.parametrize("func,args,tag", [
    (R.jacfwd_of_a_dict, ({"w": X},), "container"),
    (R.hessian_of_a_tuple, (X, Y), "tuple"),
    (R.jacfwd_to_a_dict, (X,), "output"),
    (R.jacfwd_of_a_ufunc, (X,), "ufunc")], ids=["dict-arg", "tuple-arg", "dict-out", "ufunc"])
def test_jacobian_inside_on_no_array_names_the_users_line(func, args, tag):
    # was: a bare AssertionError (an error inside srcad's generated helper for the ufunc)
    for run in (lambda: srcad.grad(func)(*args),
                lambda: srcad.jvp(func, args, args)):
        with pytest.raises(srcad.UnsupportedSyntaxError) as info:
            run()
        assert info.value.lineno == marked(func, tag)
        assert info.value.filename == R.__file__


def test_jacobians_of_arrays_inside_still_differentiate():
    check_grads(R.jacobians_of_arrays_inside, X, modes=("reverse",))


# ---------------------------------------------------------------- 3. if arms that raise

@pytest.mark.parametrize("f,args", [
    (R.raise_in_else, (np.abs(X) + 0.1,)), (R.raise_in_elif_chain, (X, 2)),
    (R.raise_in_while, (X,))], ids=["else", "elif-loop", "while"])
def test_an_arm_that_raises_is_a_path_the_derivative_never_takes(f, args):
    # raise_in_else was "the variable 'y' may be read before it is assigned"
    check_grads(f, *args)
    second_order(f, args)


def test_the_raising_arm_raises_in_every_derivative():
    bad = -np.abs(X)
    for run in (srcad.grad(R.raise_in_else), srcad.hessian(R.raise_in_else),
                lambda x: srcad.jvp(R.raise_in_else, (x,), (x,))):
        with pytest.raises(ValueError, match="must be positive"):
            run(bad)
    with pytest.raises(RuntimeError, match="too many"):
        srcad.grad(R.raise_in_elif_chain)(X, 12)
