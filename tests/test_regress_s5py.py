"""Regression tests for the issue 10 gaps fixed on branch s5py: methods, `__call__` and
properties of argument objects (the class is part of the argument's kind), lambdas with
defaults and partials made in loops, lists grown in loops with a linear reverse sweep,
records replaced, np.vander, and a batch of programs as people write them. Each against
finite differences in both modes (check_grads) and at second order."""
import functools

import numpy as np
import pytest

import srcad
from srcad.testing import check_grads

from conftest import second_order
from fixtures import regress_s5py as R

RNG = np.random.default_rng(5)
X = RNG.normal(size=(4, 3))




def linear():
    return R.Linear(RNG.normal(size=(3, 2)), RNG.normal(size=2))


# ---------------------------------------------------------------- 1. methods of argument objects

@pytest.mark.parametrize("f", [R.model_apply, R.model_call, R.model_property])
def test_method_call_and_property_of_an_argument_object(f):
    # was: "no derivative rule for the method .apply()", "calling the local value model",
    # and a bare KeyError 'l2' for the property
    m = linear()
    check_grads(f, m, X, wrt=0)
    check_grads(f, m, X, wrt=1)                    # the model a constant, read live
    g = srcad.grad(f)(m, X)
    assert type(g) is R.Linear
    second_order(f, (m, X), 1)


def test_jvp_vjp_and_jacobians_through_a_method():
    m, t = linear(), linear()
    out, dot = srcad.jvp(R.model_call, (m, X), (t, np.zeros_like(X)))
    eps = 1e-6
    plus = R.Linear(m.W + eps * t.W, m.b + eps * t.b)
    minus = R.Linear(m.W - eps * t.W, m.b - eps * t.b)
    assert dot == pytest.approx((R.model_call(plus, X) - R.model_call(minus, X)) / (2 * eps),
                                rel=1e-6)
    out, pull = srcad.vjp(R.model_call, m, X)
    gm, gx = pull(1.0)
    np.testing.assert_allclose(gm.W, srcad.grad(R.model_call)(m, X).W)
    np.testing.assert_allclose(srcad.jacfwd(R.model_call, wrt=1)(m, X), gx)
    np.testing.assert_allclose(srcad.jacrev(R.model_call, wrt=1)(m, X), gx)


def test_self_helper_calls_and_a_plain_class_with_call():
    # a plain class whose __call__ loops over self.layer(...): the object was no container
    # (callable), so it was neither differentiated nor callable
    net = R.MLP([3, 4, 2], RNG)
    y = RNG.normal(size=(4, 2))
    check_grads(R.mlp_object_loss, net, X, y, wrt=0)
    g = srcad.grad(R.mlp_object_loss)(net, X, y)
    assert type(g) is R.MLP and g.name is None and len(g.weights) == 2
    second_order(R.mlp_object_loss, (net, X, y), 1)


def test_gaussian_process_class_with_a_kernel_method():
    gp = R.GP(0.1, -0.2, 0.3)
    x, y = RNG.normal(size=5), RNG.normal(size=5)
    check_grads(R.gp_loss, gp, x, y, wrt=0)
    g = srcad.grad(R.gp_loss)(gp, x, y)
    assert type(g) is R.GP
    second_order(R.gp_loss, (gp, x, y), 1)


def test_method_passed_as_a_bound_method_and_a_local_record():
    m = linear()
    check_grads(R.bound_loss, m.apply, X, wrt=1)
    W, b = RNG.normal(size=(3, 2)), RNG.normal(size=2)
    for i in range(3):
        check_grads(R.local_model, W, b, X, wrt=i)


def test_a_helper_given_the_same_object_twice():
    # was: TypeError "unsupported operand type(s) for +: 'Linear' and 'Linear'" (the two
    # adjoints of the object added with +)
    check_grads(R.helper_twice, linear(), X)


def test_a_method_redefined_after_the_build_rebuilds_the_derivative():
    m = linear()
    d = srcad.grad(R.model_property)
    g1 = d(m, X)
    old = R.Linear.__dict__["l2"]
    try:
        R.Linear.l2 = property(lambda self: np.sum(self.W))
        np.testing.assert_allclose(d(m, X).W, np.full((3, 2), np.sum(X ** 2)))
    finally:
        R.Linear.l2 = old
    np.testing.assert_allclose(d(m, X).W, g1.W)


# ---------------------------------------------------------------- 2. functions made in loops

T = np.array([0.3, 0.9])


@pytest.mark.parametrize("f", [R.lambda_defaults_list, R.lambda_default_in_loop,
                               R.partial_in_loop, R.partial_list])
def test_functions_made_in_a_loop_or_comprehension(f):
    # was: "a nested def's defaults must be constants" / "a function value assigned to 'p'
    # inside if/for/while is not supported"
    x = 0.7 if f is R.lambda_defaults_list else T
    check_grads(f, x)
    second_order(f, (x,))


def test_lambda_defaults_closed_forms():
    assert srcad.grad(R.lambda_defaults_list)(0.7) == pytest.approx(1.0 + 2 * 0.7)
    np.testing.assert_allclose(srcad.grad(R.partial_in_loop)(T), 1.0 + 2 * T + 3 * T ** 2)
    np.testing.assert_allclose(srcad.grad(R.lambda_default_in_loop)(T),
                               sum(k * np.cos(k * T) for k in range(3)))


def test_a_default_taken_where_the_def_stands():
    # c=s is s's value at the def, not after `s = 2.0 * s`
    g = srcad.grad(R.default_reads_arg, wrt=(0, 1))(T, 0.4)
    np.testing.assert_allclose(g[0], np.full(2, 0.4))
    assert g[1] == pytest.approx(np.sum(T) + 2.0)
    check_grads(R.default_reads_arg, T, 0.4, wrt=1)


def test_late_binding_lambda_in_a_comprehension_is_refused():
    with pytest.raises(srcad.UnsupportedSyntaxError, match="k=k") as e:
        srcad.grad(R.late_binding)(0.5)
    assert e.value.filename.endswith("regress_s5py.py")


# ---------------------------------------------------------------- 3. lists grown in place

def test_appends_and_their_adjoints_change_private_lists_in_place():
    # was: `xs_stack.append(xs); xs = [*xs, x]` forward and `xs = xs_stack.pop();
    # xs_bar = t_bar[:-1]` backward, a copy of the list per step (O(n^2) in n appends)
    for f in (R.append_loop, R.comprehension_sum):
        text = srcad.source(f)
        assert "[*" not in text and "[:-1]" not in text and "_stack.append(xs" not in text
        assert ".append(" in text and ".pop()" in text
        check_grads(f, T, 6)
        second_order(f, (0.4, 4))          # the in-place code differentiated again
    text = srcad.source(R.rnn_history, wrt=(0, 1))
    assert "hs.append(v3)" in text and "unindex" not in text and \
        "hs_bar = index_add(hs_bar, -1," in text
    check_grads(R.rnn_history, T, 0.5 * np.eye(2) + 0.1, 5, wrt=(0, 1))


def test_a_list_another_name_sees_is_still_copied():
    text = srcad.source(R.shared_list)
    assert "xs = [*xs," in text
    check_grads(R.shared_list, T, 4)


def test_pop_as_a_statement():
    # was: "srcad has no derivative rule for the method .pop()"
    assert srcad.grad(R.popped_statement)(0.5) == pytest.approx(3.0)
    check_grads(R.popped_statement, 0.5)


# ---------------------------------------------------------------- 4. records replaced, np.vander

def test_namedtuple_replace_and_dataclasses_replace():
    # was: "no derivative rule for the method ._replace()" / for dataclasses.replace
    p = R.Params(RNG.normal(size=(3, 2)), RNG.normal(size=2))
    for f, args in ((R.namedtuple_replace, (p, X)), (R.dataclass_replace, (linear(), X)),
                    (R.replace_in_steps, (p, X, 2))):
        check_grads(f, *args, wrt=0)
        check_grads(f, *args, wrt=1)
        assert type(srcad.grad(f)(*args)) is type(args[0])
    second_order(R.namedtuple_replace, (p, X), 1)


def test_replace_of_a_value_of_unknown_class_is_refused():
    with pytest.raises(srcad.UnsupportedSyntaxError, match="replaces fields") as e:
        srcad.source(R.dataclass_replace)          # no arguments: the class is not known
    assert e.value.filename.endswith("regress_s5py.py")


def test_vander_closed_form():
    x = np.array([0.0, 0.5, -1.2])
    c = np.array([0.3, -0.2, 0.7])
    V = np.vander(x, 3)
    r = V @ c
    dV = np.stack([2 * x, np.ones(3), np.zeros(3)], axis=1)
    np.testing.assert_allclose(srcad.grad(R.vander_poly, wrt=1)(c, x),
                               2 * r * (dV @ c))
    np.testing.assert_allclose(srcad.grad(R.vander_poly)(c, x), 2 * V.T @ r)
    check_grads(R.vander_increasing, x)
    second_order(R.vander_increasing, (x,))
