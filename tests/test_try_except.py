"""try/except blocks (issue 10 item 6): kept as written in the derivative, exceptions and
handlers run as Python runs them at the evaluation point, when nothing they assign
carries a derivative; refused at the user's line when something does."""
import inspect

import numpy as np
import pytest

import srcad
from srcad.testing import check_grads, numerical_grad
from conftest import second_order
from fixtures import regress_s13try as T

X = np.array([0.3, 1.2, -0.7])
Y = np.array([0.5, -0.4, 0.9])


def hessian_vs_fd(f, args):
    want = numerical_grad(srcad.grad(f), list(args), 0)
    for got in (srcad.hessian(f)(*args), srcad.jacfwd(srcad.grad(f))(*args),
                srcad.jacrev(srcad.grad(f))(*args)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opts, text, seen", [({"k": 2.0}, "4", (2.0, 5)),
                                              ({}, "four", (1.5, 2)),
                                              ({"k": 0.5}, "x", (0.5, 2))])
def test_constant_blocks_around_active_math(opts, text, seen):
    f = T.parse_then_math
    T.BRANCHES.clear()
    value, g = srcad.value_and_grad(f)(X, opts, text)
    assert value == pytest.approx(f(X, opts, text), rel=1e-14)
    # the branch taken is Python's at the evaluation point, the same in the derivative
    assert set(T.BRANCHES) == {seen} and len(T.BRANCHES) == 2
    want = numerical_grad(f, [X, opts, text], 0)
    np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(srcad.jacfwd(f)(X, opts, text), want, rtol=1e-6, atol=1e-8)
    hessian_vs_fd(f, (X, opts, text))
    check_grads(f, X, opts, text, wrt=[0])


@pytest.mark.parametrize("k, label", [(2, "1.200"), (0, "empty")])
def test_block_reading_an_active_value(k, label):
    """The block reads x, which carries a derivative, and assigns only a label the result
    does not depend on: kept as written (was refused: a derivative flowed into it)."""
    f = T.try_reads_active
    T.SEEN.clear()
    value, g = srcad.value_and_grad(f)(X, k)
    assert value == pytest.approx(f(X, k), rel=1e-14)
    assert T.SEEN == [label, label]          # the handler ran (or not) as in Python
    want = numerical_grad(f, [X, k], 0)
    np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(srcad.jacfwd(f)(X, k), want, rtol=1e-6, atol=1e-8)
    hessian_vs_fd(f, (X, k))
    second_order(f, (X, k))


def test_block_in_a_loop():
    f = T.try_in_loop
    words = ["2.0", "oops", "-1.5"]
    value, g = srcad.value_and_grad(f)(X, words)
    assert value == pytest.approx(f(X, words), rel=1e-14)
    want = numerical_grad(f, [X, words], 0)
    np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(srcad.jacfwd(f)(X, words), want, rtol=1e-6, atol=1e-8)
    hessian_vs_fd(f, (X, words))


@pytest.mark.parametrize("name, args, words", [
    ("try_assigns_active", ("2.0",), ["assigns a, b, which", "try/except block"]),
    ("try_appends_active", (), ["ys (.append(...))", "try/except block"]),
    ("try_adds_in_place", (), ["acc (an augmented assignment)", "try/except block"]),
    # the old y, carrying a derivative, is what the block leaves in y when int() succeeds
    ("try_keeps_old_value", ("3",), ["assigns y, which", "try/except block"]),
    ("try_helper_changes", (), ["y (passed to a function that may change it)",
                                "try/except block"]),
    # a library function with no rule may change what it is passed (was taken as reading:
    # np's, not on a list of writing names, so the derivative missed y's change)
    ("try_fills_through_numpy", (), ["y (passed to a function that may change it)",
                                     "try/except block"]),
    # .sort() (its rule inplace) of what np.asarray(y) returns, y itself (was missed: the
    # receiver is a call, not a variable)
    ("try_sorts_through_a_call", (), ["y (.sort(...))", "try/except block"])])
def test_active_assignment_refused_at_the_users_line(name, args, words):
    f = getattr(T, name)
    lines, first = inspect.getsourcelines(f)
    line = first + next(k for k, t in enumerate(lines) if "# ERR" in t)
    for build in (lambda: srcad.grad(f)(X, *args), lambda: srcad.jacfwd(f)(X, *args),
                  lambda: srcad.hessian(f)(X, *args)):
        with pytest.raises(srcad.SrcadError) as e:
            build()
        assert e.value.lineno == line and e.value.filename == T.__file__
        for w in words:
            assert w in str(e.value)


def test_container_wrt_flowing_into_the_block_is_refused():
    """cfg = opts["k"] carries a derivative when the derivative is taken w.r.t. opts."""
    f = T.parse_then_math
    with pytest.raises(srcad.SrcadError, match="assigns cfg, which") as e:
        srcad.grad(f, wrt=1)(X, {"k": 2.0}, "4")
    assert e.value.filename == T.__file__
    assert open(T.__file__).read().splitlines()[e.value.lineno - 1].strip() == "try:"


@pytest.mark.parametrize("name, args", [("try_useful_constant_beside_active", ("3.0",)),
                                        ("try_useful_constant_beside_active", ("zz",)),
                                        ("try_in_loop_reading_active", ())])
def test_block_reading_active_values_assigning_constants(name, args):
    """What the result uses of the block comes from constants only (k from text), what
    reads x is unused: kept as written, both modes and second order."""
    f = getattr(T, name)
    assert srcad.value_and_grad(f)(X, *args)[0] == pytest.approx(f(X, *args), rel=1e-14)
    want = numerical_grad(f, [X, *args], 0)
    np.testing.assert_allclose(srcad.grad(f)(X, *args), want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(srcad.jacfwd(f)(X, *args), want, rtol=1e-6, atol=1e-8)
    hessian_vs_fd(f, (X, *args))


def test_block_in_a_checkpointed_loop():
    for f, args in ((T.try_in_loop_reading_active, ()), (T.try_in_loop, (["2", "zz", "1"],))):
        want = numerical_grad(f, [X, *args], 0)
        np.testing.assert_allclose(srcad.grad(f, checkpoint=True)(X, *args), want,
                                   rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("text", ["2.0", "zz"])
def test_block_assigning_a_shape_is_kept(text):
    """n = x.shape[0] (or len(x) - 1) reads x but carries no derivative by the rules of
    .shape and len (not differentiable): kept as written, both modes and second order
    (was refused: x flows into n)."""
    f = T.try_reads_shape
    value, g = srcad.value_and_grad(f)(X, text)
    assert value == pytest.approx(f(X, text), rel=1e-14)
    want = numerical_grad(f, [X, text], 0)
    np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(srcad.jacfwd(f)(X, text), want, rtol=1e-6, atol=1e-8)
    hessian_vs_fd(f, (X, text))
    second_order(f, (X, text))
    check_grads(f, X, text, wrt=[0])
