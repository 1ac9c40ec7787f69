"""ISSUE10 items 2, 6, 7: comprehensions, everyday Python, calls with no active argument.

Each construct in both modes and at second order against finite differences and, where
autograd can run the function, against autograd."""
import numpy as np
import pytest

import srcad
from srcad.testing import check_grads, numerical_grad
import srcad.lower
from conftest import autograd_twin

from fixtures import idiom_funcs as F
from conftest import line_of
from conftest import second_order as fd_second_order
from fixtures import regress_lower as R
from fixtures import regress_rules as rr
from fixtures import regress_s3py as R_s3py
from fixtures import regress_s5py as R_s5py
from fixtures import regress_s6py as R_s6py

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


# regressions: everyday Python: *args/**kwargs, max/min, modules as values, replace (idioms.py)
def test_max_of_a_list_variable():
    # refused before ISSUE10 item 6; now a loop over the two-argument rule
    assert srcad.grad(R.max_list_var, wrt=(0, 1))(0.5, 0.3) == (1.0, 0.0)
    assert srcad.grad(R.max_list_var, wrt=(0, 1))(0.2, 0.3) == (0.0, 1.0)


def test_max_of_a_list_display_is_the_max_of_its_items():
    # lowered to max(a, b): the derivative goes to the larger item
    assert srcad.grad(rr.max_of_a_list, wrt=(0, 1))(0.3, 0.5) == (0.0, 1.0)
    assert srcad.grad(rr.max_of_a_list, wrt=(0, 1))(0.7, 0.5) == (1.0, 0.0)


def against_autograd(f, args, i=0):
    import autograd
    twin = autograd_twin(f)
    np.testing.assert_allclose(srcad.grad(f, wrt=i)(*args), autograd.grad(twin, i)(*args),
                               rtol=1e-9, atol=1e-12)
    if isinstance(args[i], np.ndarray):
        np.testing.assert_allclose(srcad.hessian(f, wrt=i)(*args),
                                   autograd.hessian(twin, i)(*args), rtol=1e-7, atol=1e-9)


CASES = [R_s3py.star_params, R_s3py.star_after_named, R_s3py.spread_list, R_s3py.spread_array,
         R_s3py.kwargs_passthrough, R_s3py.kwargs_display, R_s3py.list_concat, R_s3py.tuple_concat, R_s3py.list_repeat,
         R_s3py.concat_in_loop, R_s3py.sum_with_start, R_s3py.dict_get, R_s3py.dict_update, R_s3py.dict_setdefault,
         R_s3py.dict_from_zip, R_s3py.dict_spread, R_s3py.zip_value, R_s3py.list_pop_at, R_s3py.array_plus_list]


@pytest.mark.parametrize("f", CASES, ids=[f.__name__ for f in CASES])
def test_everyday_python_gap(f):
    check_grads(f, X)
    fd_second_order(f, (X,))
    against_autograd(f, (X,))
    assert srcad.value_and_grad(f)(X)[0] == pytest.approx(f(X), rel=1e-12)


def test_star_parameters_with_a_tuple_concatenation():
    # _affine(W, *parts) stacks `parts + (ones,)`: autograd's RNN/LSTM helper pattern
    rng = np.random.default_rng(1)
    W, a, b = rng.normal(size=(6, 2)), rng.normal(size=(3, 2)), rng.normal(size=(3, 3))
    for i in range(3):
        check_grads(R_s3py.star_tuple_concat, W, a, b, wrt=i)
        against_autograd(R_s3py.star_tuple_concat, (W, a, b), i)
    fd_second_order(R_s3py.star_tuple_concat, (W, a, b), 1)


def test_a_nested_def_returning_a_pair_in_a_loop():
    # `h, c = step(x, h, c)` with step a nested def: was "name 'step' is not defined"
    rng = np.random.default_rng(2)
    params = {"W": rng.normal(size=(6, 3)) * 0.5}
    xs = rng.normal(size=(4, 2, 2))
    check_grads(R_s3py.recurrent_loss, params, xs, wrt=0)
    import autograd
    want = autograd.grad(autograd_twin(R_s3py.recurrent_loss))(params, xs)
    np.testing.assert_allclose(srcad.grad(R_s3py.recurrent_loss)(params, xs)["W"], want["W"],
                               rtol=1e-9)


def test_spread_of_an_argument_checks_its_length():
    p = (0.2, 0.5, 0.9)
    check_grads(R_s3py.spread_argument, p, X)
    for i in range(2):
        import autograd
        got = srcad.grad(R_s3py.spread_argument, wrt=i)(p, X)
        want = autograd.grad(autograd_twin(R_s3py.spread_argument), i)(p, X)
        np.testing.assert_allclose(np.array(got, dtype=float), np.array(want, dtype=float),
                                   rtol=1e-9)
    # Python raises TypeError for a tuple of another length: so does the derivative
    with pytest.raises(TypeError):
        R_s3py.spread_argument((0.2, 0.5), X)
    with pytest.raises(TypeError, match="positional argument"):
        srcad.grad(R_s3py.spread_argument, wrt=1)((0.2, 0.5), X)


def test_dict_arguments_read_with_get_and_spread():
    p = {"w": 0.7}
    check_grads(R_s3py.dict_get_argument, p, X)
    g = srcad.grad(R_s3py.dict_get_argument)(p, X)
    assert g == {"w": pytest.approx(X[0])}                  # "z" absent: the default 1.0
    np.testing.assert_allclose(srcad.grad(R_s3py.dict_get_argument, wrt=1)(p, X),
                               np.array([0.7 + 1.0, 1.0, 1.0]))
    q = {"a": 0.4, "b": np.array([0.2, -0.3])}
    check_grads(R_s3py.dict_spread_argument, q)
    g = srcad.grad(R_s3py.dict_spread_argument)(q)
    # e["a"] * e["c"] = 2 a^2, plus sum(b^2)
    assert g["a"] == pytest.approx(4 * 0.4)
    np.testing.assert_allclose(g["b"], 2 * q["b"])
    H = srcad.hessian(R_s3py.dict_spread_argument)(q)
    assert H["a"]["a"] == pytest.approx(4.0)
    np.testing.assert_allclose(H["b"]["b"], 2 * np.eye(2))


def test_list_repeated_a_variable_number_of_times():
    for n in (1, 3):
        check_grads(R_s3py.list_repeat_count, X, n)
        # sum(ys) * ys[-1] = n (x0 + x1) x1
        want = np.array([n * X[1], n * (X[0] + 2 * X[1]), 0.0])
        np.testing.assert_allclose(srcad.grad(R_s3py.list_repeat_count)(X, n), want)
        fd_second_order(R_s3py.list_repeat_count, (X, n))


def test_spread_of_unknown_length_into_star_args_is_refused():
    with pytest.raises(srcad.UnsupportedSyntaxError, match=r"\*xs in a call") as e:
        srcad.grad(R_s3py.star_unknown_length)(X)
    assert e.value.filename.endswith("regress_s3py.py") and e.value.lineno > 1


def _autograd_models():
    """tests/fixtures/autograd_style_models.py run under autograd (its imports swapped)."""
    from conftest import under_autograd
    from fixtures import autograd_style_models as M
    return under_autograd(M, "autograd_style_models_autograd")


def _char_data(rng, steps=4, batch=2, alphabet=4):
    return np.eye(alphabet)[rng.integers(0, alphabet, size=(steps, batch))]


def _compare(df, ag, params):
    if isinstance(params, dict):
        assert list(df) == list(params)
        for k in params:
            np.testing.assert_allclose(df[k], ag[k], rtol=1e-8, atol=1e-12)
    else:
        np.testing.assert_allclose(df, ag, rtol=1e-8, atol=1e-12)


def _train(loss, params, args, steps=3, rate=0.1):
    """A few steps of gradient descent on srcad's gradient: the loss goes down."""
    first = loss(params, *args)
    for _ in range(steps):
        g = srcad.grad(loss)(params, *args)
        params = {k: v - rate * g[k] for k, v in params.items()} if isinstance(params, dict) \
            else params - rate * g
    assert loss(params, *args) < first
    return params


def test_autograd_rnn_example():
    M, twin = _autograd_models()
    rng = np.random.default_rng(4)
    I, S = 4, 3
    params = {"first state": rng.normal(size=(1, S)) * 0.5,
              "state step": rng.normal(size=(I + S + 1, S)) * 0.5,
              "read out": rng.normal(size=(S + 1, I)) * 0.5}
    data = _char_data(rng)
    import autograd
    _compare(srcad.grad(M.rnn_loglik)(params, data, data),
             autograd.grad(twin.rnn_loglik)(params, data, data), params)
    check_grads(M.rnn_loglik, params, data, data, wrt=0)
    _train(lambda p, d: -M.rnn_loglik(p, d, d), params, (data,))


def test_autograd_lstm_example():
    M, twin = _autograd_models()
    rng = np.random.default_rng(5)
    I, S = 4, 3
    params = {"first memory": rng.normal(size=(1, S)) * 0.5,
              "first state": rng.normal(size=(1, S)) * 0.5,
              **{k: rng.normal(size=(I + S + 1, S)) * 0.5
                 for k in ("proposal", "keep", "admit", "emit")},
              "read out": rng.normal(size=(S + 1, I)) * 0.5}
    data = _char_data(rng)
    import autograd
    _compare(srcad.grad(M.lstm_loglik)(params, data, data),
             autograd.grad(twin.lstm_loglik)(params, data, data), params)
    check_grads(M.lstm_loglik, params, data, data, wrt=0)


def test_autograd_gaussian_process_example():
    M, twin = _autograd_models()
    import autograd
    params = np.array([0.1, -0.5, 0.2, -0.3])
    _compare(srcad.grad(M.gp_objective)(params), autograd.grad(twin.gp_objective)(params),
             params)
    check_grads(M.gp_objective, params)
    np.testing.assert_allclose(srcad.hessian(M.gp_objective)(params),
                               autograd.hessian(twin.gp_objective)(params), rtol=1e-6,
                               atol=1e-9)


def test_autograd_fluidsim_example(capsys):
    M, twin = _autograd_models()
    import autograd
    params = 0.3 * np.random.default_rng(6).normal(size=2 * M.SIDE * M.SIDE)
    value, g = srcad.value_and_grad(M.fluid_objective)(params)
    assert value == pytest.approx(M.fluid_objective(params), rel=1e-12)
    _compare(g, autograd.grad(twin.fluid_objective)(params), params)
    check_grads(M.fluid_objective, params)


def test_concatenation_of_arguments_written_with_list():
    p, q = (0.2, 0.5), (0.7,)
    check_grads(R_s3py.concat_arguments, p, q)
    gp, gq = srcad.grad(R_s3py.concat_arguments, wrt=(0, 1))(p, q)
    # t0 + 2 t1 + 3 t2 t0 with t = p + q
    assert gp == (pytest.approx(1.0 + 3.0 * 0.7), pytest.approx(2.0))
    assert gq == (pytest.approx(3.0 * 0.2),)


# (autograd cannot format its boxed values: str_format is checked against it no further)
STATEMENTS = [(R_s3py.nested_def_default, True), (R_s3py.str_format, False),
              (R_s3py.raise_on_bad_input, True), (R_s3py.starred_targets, True)]


@pytest.mark.parametrize("f, ag", STATEMENTS, ids=[f.__name__ for f, _ in STATEMENTS])
def test_everyday_statements(f, ag):
    x = np.abs(X) + 0.1
    check_grads(f, x)
    fd_second_order(f, (x,))
    if ag:
        against_autograd(f, (x,))


RNG = np.random.default_rng(5)


X_s5py = RNG.normal(size=(4, 3))


def linear():
    return R_s5py.Linear(RNG.normal(size=(3, 2)), RNG.normal(size=2))


def test_namedtuple_replace_and_dataclasses_replace():
    # was: "no derivative rule for the method ._replace()" / for dataclasses.replace
    p = R_s5py.Params(RNG.normal(size=(3, 2)), RNG.normal(size=2))
    for f, args in ((R_s5py.namedtuple_replace, (p, X_s5py)), (R_s5py.dataclass_replace, (linear(), X_s5py)),
                    (R_s5py.replace_in_steps, (p, X_s5py, 2))):
        check_grads(f, *args, wrt=0)
        check_grads(f, *args, wrt=1)
        assert type(srcad.grad(f)(*args)) is type(args[0])
    fd_second_order(R_s5py.namedtuple_replace, (p, X_s5py), 1)


def test_replace_of_a_value_of_unknown_class_is_refused():
    with pytest.raises(srcad.UnsupportedSyntaxError, match="replaces fields") as e:
        srcad.source(R_s5py.dataclass_replace)          # no arguments: the class is not known
    assert e.value.filename.endswith("regress_s5py.py")


RNG_s6py = np.random.default_rng(6)


X_s6py = RNG_s6py.normal(size=(4, 3))


V = RNG_s6py.normal(size=3)


C = RNG_s6py.normal(size=3)


def dense(n=3, m=3):
    return R_s6py.Dense(RNG_s6py.normal(size=(n, m)), RNG_s6py.normal(size=m))


@pytest.mark.parametrize("f", [R_s6py.module_value, R_s6py.module_getattr, R_s6py.module_hasattr,
                               R_s6py.module_in_lambda])
def test_modules_as_constant_values(f):
    # was: "'np' (module) used as a value; srcad can only call it"
    check_grads(f, V)
    fd_second_order(f, (V,))
    code = [ln for ln in srcad.source(f).splitlines() if not ln.strip().startswith("#")]
    assert not any("xp" in ln for ln in code)           # np.sum, np.tanh: as written


def test_a_module_bound_in_a_branch_is_refused_at_the_users_line():
    with pytest.raises(srcad.UnsupportedSyntaxError) as e:
        srcad.grad(R_s6py.module_in_branch)(V, True)
    assert f"{R_s6py.__file__}:{line_of(R_s6py.module_in_branch, 'xp = np')}" in str(e.value)
    assert "xp = np" in str(e.value) and "module" in str(e.value)


def test_what_cannot_be_rebuilt_is_refused_at_the_users_line():
    cases = [
        (R_s6py.either_called, (V, C), "g = make_either", "calling the local value g"),
        (R_s6py.pair_called, (V, C), "def outer(w):", "reads the function inner"),
    ]
    for f, args, where, what in cases:
        with pytest.raises(srcad.UnsupportedSyntaxError) as e:
            srcad.grad(f, wrt=1)(*args)
        message = str(e.value)
        fixture = R_s6py.make_pair if f is R_s6py.pair_called else f
        line = line_of(fixture, where) + (1 if where == "g = make_either" else 0)
        assert message.startswith(f"{R_s6py.__file__}:{line}:"), message
        assert what in message, message


def run_source(f, args, mode):
    """The function srcad.source(f, mode, args=args) defines, run on args."""
    space = {}
    exec(compile(srcad.source(f, mode, args=args), f"<source of {f.__name__}>", "exec"), space)
    suffix = "_grad" if mode == "reverse" else "_jvp"
    return space[f.__name__ + suffix]


@pytest.mark.parametrize("f, make", [
    (R_s6py.closure_capturing_x, lambda: (V,)),
    (R_s6py.partial_returned, lambda: (V, C)),
    (R_s6py.factory_chain, lambda: (V, C)),
    (R_s6py.layers_loop, lambda: ([dense(), R_s6py.Scale(RNG_s6py.normal(size=3))], X_s6py)),
    (R_s6py.nested_attr, lambda: (R_s6py.AutoEnc(R_s6py.Encoder(RNG_s6py.normal(size=(3, 3))), 0.7), X_s6py)),
    (R_s6py.class_and_static, lambda: (V, R_s6py.Poly())),
    (R_s6py.module_in_lambda, lambda: (V,)),
], ids=lambda x: getattr(x, "__name__", ""))
def test_source_of_such_functions_runs_standalone(f, make):
    args = make()
    wrt = 1 if f in (R_s6py.layers_loop, R_s6py.nested_attr) else 0
    want = srcad.grad(f, wrt=wrt)(*args)
    got = run_source(f, args, "reverse") if wrt == 0 else None
    if wrt == 0:
        np.testing.assert_allclose(got(*args), want, rtol=1e-12)
        out, got_dot = run_source(f, args, "forward")(*args, np.ones_like(args[0]))
        assert got_dot == pytest.approx(np.sum(want), rel=1e-12)
    else:
        space = {}
        exec(srcad.source(f, wrt=1, args=args), space)
        np.testing.assert_allclose(space[f.__name__ + "_grad"](*args), want, rtol=1e-12)


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


@pytest.mark.parametrize("name", ["try_finally_active", "try_finally_updates",
                                  "try_finally_in_loop"])
def test_try_finally_around_active_values(name):
    """The body, then the finally block, differentiated (was refused as a try/except
    block a derivative flows into); the finally block runs once per derivative call."""
    from conftest import second_order
    from fixtures import regress_s13obj as R13
    f = getattr(R13, name)
    R13.LOG.clear()
    assert srcad.value_and_grad(f)(X)[0] == f(X)
    assert len(R13.LOG) == (2 if name == "try_finally_active" else 0)
    check_grads(f, X)
    second_order(f, (X,))
    np.testing.assert_allclose(srcad.jacfwd(srcad.grad(f))(X), srcad.hessian(f)(X),
                               rtol=1e-10)


@pytest.mark.parametrize("name, word", [
    ("try_finally_return", "return inside try/finally"),
    ("try_except_else_active", "try/except block")])
def test_what_try_cannot_do_is_refused_at_the_users_line(name, word):
    from fixtures import regress_s13obj as R13
    f = getattr(R13, name)
    for build in (lambda: srcad.grad(f)(X), lambda: srcad.jvp(f, (X,), (Y,))):
        with pytest.raises(srcad.SrcadError, match=word) as e:
            build()
        assert e.value.filename == R13.__file__
        assert "# ERR" in open(R13.__file__).read().splitlines()[e.value.lineno - 1]
