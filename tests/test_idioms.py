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


@pytest.mark.parametrize("f, what", [(F.comp_gen_stored, "generator expression")])
def test_comprehension_refusals(f, what):
    with pytest.raises(srcad.SrcadError, match=what) as e:
        srcad.grad(f)(X)
    assert e.value.filename.endswith("idiom_funcs.py") and e.value.lineno > 1


def test_dict_comprehension_builds_a_dict():
    # {i: x[i] for i in range(3)}: d[0] * d[1]
    check_grads(F.comp_dict, X)
    g = np.zeros_like(X)
    g[0], g[1] = X[1], X[0]
    np.testing.assert_allclose(srcad.grad(F.comp_dict)(X), g)
    H = np.zeros((3, 3))
    H[0, 1] = H[1, 0] = 1.0
    np.testing.assert_allclose(srcad.hessian(F.comp_dict)(X), H, atol=1e-12)


# ---------------------------------------------------------------- item 6: everyday Python

IDIOMS = [(F.uses_assert, (X,), True), (F.uses_print, (X,), False),
          (F.uses_fstring, (X,), True), (F.uses_errstate, (X,), True),
          (F.uses_not_in, (X,), True), (F.uses_isinstance, (X,), False),
          (F.uses_del, (X,), True), (F.uses_star_display, (X,), True),
          (F.uses_zip_star, (X,), True), (F.uses_enumerate_zip, (X, Y), True),
          (F.uses_list_tuple, (X,), True), (F.uses_extend_insert, (X,), True),
          (F.uses_min_max, (X,), True), (F.uses_sorted, (X,), True),
          (F.uses_sorted_const, (X,), True), (F.uses_newaxis, (X,), True),
          (F.uses_float_types, (X,), False), (F.uses_real_imag, (X,), False),
          (F.no_active_args, (X,), True)]


@pytest.mark.parametrize("f, args, ag", IDIOMS, ids=[f.__name__ for f, _, _ in IDIOMS])
def test_everyday_python(f, args, ag):
    first_order(f, args, autograd=ag)
    second_order(f, args, autograd=ag)
    assert srcad.value_and_grad(f)(*args)[0] == pytest.approx(f(*args), rel=1e-12)


def test_assert_keeps_the_primal_check():
    bad = np.ones(4)
    for run in (lambda: srcad.grad(F.uses_assert)(bad),
                lambda: srcad.jvp(F.uses_assert, (bad,), (bad,)),
                lambda: srcad.hessian(F.uses_assert)(bad)):
        with pytest.raises(AssertionError, match="x has 4 entries"):
            run()
    with pytest.raises(AssertionError):
        srcad.grad(F.uses_assert)(np.array([1.0, np.nan, 2.0]))


def test_print_runs_once_in_the_forward_sweep(capsys):
    srcad.grad(F.uses_print)(X)
    srcad.jvp(F.uses_print, (X,), (Y,))
    srcad.vjp(F.uses_print, X)[1](1.0)
    srcad.grad(srcad.grad(F.print_scalar))(0.5)
    out = capsys.readouterr().out.splitlines()
    F.uses_print(X)
    want = capsys.readouterr().out.splitlines()
    assert out == want * 3 + ["a = 0.50"]
    assert srcad.grad(srcad.grad(F.print_scalar))(0.5) == pytest.approx(6 * 0.5)


def test_errstate_is_around_the_primal_code():
    import warnings
    x = np.array([0.0, 1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # log(0) inside the with: silent
        out, t = srcad.jvp(F.uses_errstate, (x,), (np.array([0.0, 1.0, 1.0]),))
    assert out == pytest.approx(2 * np.log(4.0)) and t == pytest.approx(2.0 + np.log(4.0) + 2.0)
    with warnings.catch_warnings():
        # the reverse sweep runs after the with (its adjoint of log at 0 may warn)
        warnings.simplefilter("ignore")
        v, g = srcad.value_and_grad(F.uses_errstate)(x)
    assert v == pytest.approx(2 * np.log(4.0)) and g[1:] == pytest.approx([2.0, np.log(4.0) + 2.0])
    assert np.geterr()["divide"] == "warn"                  # the manager was exited


def test_del_then_read_is_refused():
    from fixtures import idiom_errors as E
    with pytest.raises(srcad.UnsupportedSyntaxError, match="read after `del y`") as e:
        srcad.grad(E.read_after_del)(X)
    assert e.value.lineno == E.read_after_del.__code__.co_firstlineno + 3


def test_float32_is_kept():
    v, g = srcad.value_and_grad(F.uses_float32)(np.float32(0.5))
    assert isinstance(v, np.float32) and v == np.float32(1.0)
    assert g == pytest.approx(2.0)
    assert srcad.jvp(F.uses_float32, (0.5,), (1.0,))[1] == pytest.approx(2.0)


def test_sorted_follows_the_permutation():
    # d/dx of the sorted values' weighted sum: each weight goes to the entry it sorted to
    x = np.array([0.9, -0.2, 0.4])
    g = srcad.grad(F.uses_sorted)(x)
    np.testing.assert_allclose(g, numerical_grad(F.uses_sorted, [x], 0), rtol=1e-6)


# ---------------------------------------------------------------- item 7: no active argument

def test_random_draw_is_made_once_per_call():
    draw = np.random.default_rng(7).normal(size=3)
    v, g = srcad.value_and_grad(F.random_draw)(X, 7)
    np.testing.assert_allclose(g, draw, rtol=1e-15)
    assert v == pytest.approx(np.sum(X * draw), rel=1e-14)
    out, t = srcad.jvp(F.random_draw, (X, 7), (Y, 0.0))
    assert out == pytest.approx(np.sum(X * draw)) and t == pytest.approx(np.sum(Y * draw))
    np.testing.assert_allclose(srcad.hessian(F.random_draw)(X, 7), np.zeros((3, 3)))


def test_legacy_random_draw_is_the_one_the_value_used():
    np.random.seed(3)
    v, g = srcad.value_and_grad(F.random_legacy)(X)
    assert v == pytest.approx(np.sum(X * g), rel=1e-14)       # the reverse sweep did not redraw
    np.random.seed(3)
    np.testing.assert_allclose(g, np.random.randn(3), rtol=1e-15)
    np.random.seed(3)
    out, t = srcad.jvp(F.random_legacy, (X,), (np.ones(3),))
    np.random.seed(3)
    assert t == pytest.approx(np.sum(np.random.randn(3)))


# ---------------------------------------------------------------- the generated code

def test_comprehension_snapshot():
    """A comprehension's derivative is the loop it is lowered to (golden file; rewrite with
    SRCAD_UPDATE_SNAPSHOTS=1 after an intended change, then read the diff)."""
    import os
    path = os.path.join(os.path.dirname(__file__), "snapshots", "comprehension_reverse.py")
    text = srcad.source(F.comp_snapshot, wrt=(0, 1)).replace(F.__file__,
                                                             os.path.basename(F.__file__))
    if os.environ.get("SRCAD_UPDATE_SNAPSHOTS") == "1":
        with open(path, "w") as fh:
            fh.write(text)
    with open(path) as fh:
        want = fh.read()
    assert text == want
    assert "for v3 in reversed(v2):" in text and "items.append(w * v6)" in text
    ns = {}
    exec(compile(want, path, "exec"), ns)
    x = np.array([0.5, -1.0, 2.0])
    gx, gw = ns["comp_snapshot_grad"](x, 1.5)
    np.testing.assert_allclose(gx, [1.5, 0.0, 6.0])          # 2 w v where v > 0
    assert gw == pytest.approx(0.25 + 4.0)


def test_vjp_pullback_uses_the_draw_of_its_value():
    # before: vjp ran f for the value and the whole derivative again in the pullback, which
    # drew other numbers (value and gradient from two different draws)
    np.random.seed(5)
    out, pullback = srcad.vjp(F.random_legacy, X)
    (g,) = pullback(1.0)
    assert out == pytest.approx(np.sum(X * g), rel=1e-14)
    (g2,) = pullback(2.0)
    np.testing.assert_allclose(g2, 2 * g, rtol=1e-15)


def test_try_except_on_constants_runs_as_the_primal():
    for text, k in (("3.0", 3.0), ("abc", 2.0)):
        assert srcad.value_and_grad(F.uses_try)(X, text)[0] == pytest.approx(F.uses_try(X, text))
        np.testing.assert_allclose(srcad.grad(F.uses_try)(X, text), 2 * k * X)
        np.testing.assert_allclose(srcad.hessian(F.uses_try)(X, text), 2 * k * np.eye(3))
    # (jvp differentiates every positional argument it is given: the default text is used)
    assert srcad.jvp(F.uses_try, (X,), (Y,))[1] == pytest.approx(2 * 3.0 * X @ Y)


@pytest.mark.parametrize("name, word", [("try_on_active", "try/except"),
                                        ("generator_stored", "generator expression"),
                                        ("set_of_active", "set comprehension")])
def test_refused_at_the_users_line(name, word):
    from fixtures import idiom_errors as E
    import inspect
    f = getattr(E, name)
    lines, first = inspect.getsourcelines(f)
    line = first + next(k for k, t in enumerate(lines) if "# ERR" in t)
    for build in (lambda: srcad.grad(f)(X), lambda: srcad.jvp(f, (X,), (Y,))):
        with pytest.raises(srcad.SrcadError, match=word) as e:
            build()
        assert e.value.lineno == line and e.value.filename == E.__file__


@pytest.mark.parametrize("f", [F.dict_pop, F.dict_copy_with])
def test_dict_pop_and_copy(f):
    for x in (0.7, -1.3):
        want = numerical_grad(f, [x], 0)
        assert np.isclose(srcad.grad(f)(x), want, rtol=1e-6)
        assert np.isclose(srcad.derivative(f)(x), want, rtol=1e-6)
        assert np.isclose(srcad.grad(srcad.grad(f))(x),
                          numerical_grad(srcad.grad(f), [x], 0), rtol=1e-5)


def test_reversed_as_a_value():
    f = F.reversed_values
    check_grads(f, X)
    second_order(f, (X,), autograd=False)


@pytest.mark.parametrize("f", [F.for_else, F.while_else])
@pytest.mark.parametrize("x", [X, np.array([0.3, 0.2, 0.1]), np.array([0.6, -0.9, 0.4])])
def test_loop_else_with_break(f, x):
    check_grads(f, x)
    second_order(f, (x,))


@pytest.mark.parametrize("x", [X, np.array([0.3, 0.2, 0.1]), np.array([-0.2, -0.3, 0.1])])
def test_walrus(x):
    check_grads(F.walrus_tests, x)
    second_order(F.walrus_tests, (x,), autograd=False)


def test_walrus_read_before_it_binds_is_refused():
    # hoisting `n := ...` out of `n + (n := ...)` would read the new n: refused, not wrong
    with pytest.raises(srcad.SrcadError, match=r"idiom_funcs.py:\d+: an assignment expression"):
        srcad.grad(F.walrus_read_before)(X)


@pytest.mark.parametrize("k", [0, [2.0, 1.0], {"s": 3.0}, 7, 2])
def test_match_statement(k):
    g = srcad.grad(F.match_cases)(X, k)
    np.testing.assert_allclose(g, numerical_grad(F.match_cases, [X, k], 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(srcad.jacfwd(F.match_cases)(X, k), g, rtol=1e-9, atol=1e-12)
    h = srcad.hessian(F.match_cases)(X, k)
    np.testing.assert_allclose(h, numerical_grad(srcad.grad(F.match_cases), [X, k], 0),
                               rtol=1e-5, atol=1e-6)


def test_match_on_a_shape():
    check_grads(F.match_shape, X)
    second_order(F.match_shape, (X,), autograd=False)


def test_zip_star_of_a_list_of_any_length():
    """`As, Bs = zip(*pairs)` of an argument (gradient: the same list of pairs) and of a
    comprehension: both modes, second order, against finite differences and autograd."""
    pairs = [(X, Y), (2.0 * X, Y - 1.0), (X * Y, X + Y)]
    first_order(F.zip_star_of_an_argument, (pairs,))
    g = srcad.grad(F.zip_star_of_an_argument)(pairs)
    assert type(g) is list and len(g) == 3 and all(type(p) is tuple for p in g)
    first_order(F.zip_star_of_a_comprehension, (X, 3), autograd=False)
    np.testing.assert_allclose(srcad.grad(F.zip_star_of_a_comprehension)(X, 3),
                               numerical_grad(F.zip_star_of_a_comprehension, (X, 3), 0),
                               rtol=1e-6)
    second_order(F.zip_star_of_a_comprehension, (X, 3), 0)
    text = srcad.source(F.zip_star_of_a_comprehension)
    assert "range(min(" in text
    first_order(F.zip_star_through_a_helper, (X, Y))
    for i in (0, 1):
        second_order(F.zip_star_through_a_helper, (X, Y), i)
