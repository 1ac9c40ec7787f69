"""Regression tests for the gaps of issue 10 fixed on branch s3py: `*args`/`**kwargs` in
helpers and at call sites, list/tuple concatenation and repetition, dict and list methods,
`sum(xs, start)`, a nested def returning a pair called in a loop. Each in both modes (against
finite differences), at second order (forward over reverse and reverse over reverse, against
finite differences of the gradient) and against autograd where autograd runs the function."""
import numpy as np
import pytest

import srcad
from srcad.testing import check_grads, numerical_grad
from conftest import autograd_twin

from fixtures import regress_s3py as R

X = np.array([0.3, 1.2, -0.7])


def second_order(f, args, i=0):
    g = srcad.grad(f, wrt=i)
    want = numerical_grad(g, list(args), i)
    for got in (srcad.hessian(f, wrt=i)(*args), srcad.jacrev(g, wrt=i)(*args)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def against_autograd(f, args, i=0):
    import autograd
    twin = autograd_twin(f)
    np.testing.assert_allclose(srcad.grad(f, wrt=i)(*args), autograd.grad(twin, i)(*args),
                               rtol=1e-9, atol=1e-12)
    if isinstance(args[i], np.ndarray):
        np.testing.assert_allclose(srcad.hessian(f, wrt=i)(*args),
                                   autograd.hessian(twin, i)(*args), rtol=1e-7, atol=1e-9)


CASES = [R.star_params, R.star_after_named, R.spread_list, R.spread_array,
         R.kwargs_passthrough, R.kwargs_display, R.list_concat, R.tuple_concat, R.list_repeat,
         R.concat_in_loop, R.sum_with_start, R.dict_get, R.dict_update, R.dict_setdefault,
         R.dict_from_zip, R.dict_spread, R.zip_value, R.list_pop_at, R.array_plus_list]


@pytest.mark.parametrize("f", CASES, ids=[f.__name__ for f in CASES])
def test_everyday_python_gap(f):
    check_grads(f, X)
    second_order(f, (X,))
    against_autograd(f, (X,))
    assert srcad.value_and_grad(f)(X)[0] == pytest.approx(f(X), rel=1e-12)


def test_star_parameters_with_a_tuple_concatenation():
    # _affine(W, *parts) stacks `parts + (ones,)`: autograd's RNN/LSTM helper pattern
    rng = np.random.default_rng(1)
    W, a, b = rng.normal(size=(6, 2)), rng.normal(size=(3, 2)), rng.normal(size=(3, 3))
    for i in range(3):
        check_grads(R.star_tuple_concat, W, a, b, wrt=i)
        against_autograd(R.star_tuple_concat, (W, a, b), i)
    second_order(R.star_tuple_concat, (W, a, b), 1)


def test_a_nested_def_returning_a_pair_in_a_loop():
    # `h, c = step(x, h, c)` with step a nested def: was "name 'step' is not defined"
    rng = np.random.default_rng(2)
    params = {"W": rng.normal(size=(6, 3)) * 0.5}
    xs = rng.normal(size=(4, 2, 2))
    check_grads(R.recurrent_loss, params, xs, wrt=0)
    import autograd
    want = autograd.grad(autograd_twin(R.recurrent_loss))(params, xs)
    np.testing.assert_allclose(srcad.grad(R.recurrent_loss)(params, xs)["W"], want["W"],
                               rtol=1e-9)


def test_spread_of_an_argument_checks_its_length():
    p = (0.2, 0.5, 0.9)
    check_grads(R.spread_argument, p, X)
    for i in range(2):
        import autograd
        got = srcad.grad(R.spread_argument, wrt=i)(p, X)
        want = autograd.grad(autograd_twin(R.spread_argument), i)(p, X)
        np.testing.assert_allclose(np.array(got, dtype=float), np.array(want, dtype=float),
                                   rtol=1e-9)
    # Python raises TypeError for a tuple of another length: so does the derivative
    with pytest.raises(TypeError):
        R.spread_argument((0.2, 0.5), X)
    with pytest.raises(TypeError, match="positional argument"):
        srcad.grad(R.spread_argument, wrt=1)((0.2, 0.5), X)


def test_dict_arguments_read_with_get_and_spread():
    p = {"w": 0.7}
    check_grads(R.dict_get_argument, p, X)
    g = srcad.grad(R.dict_get_argument)(p, X)
    assert g == {"w": pytest.approx(X[0])}                  # "z" absent: the default 1.0
    np.testing.assert_allclose(srcad.grad(R.dict_get_argument, wrt=1)(p, X),
                               np.array([0.7 + 1.0, 1.0, 1.0]))
    q = {"a": 0.4, "b": np.array([0.2, -0.3])}
    check_grads(R.dict_spread_argument, q)
    g = srcad.grad(R.dict_spread_argument)(q)
    # e["a"] * e["c"] = 2 a^2, plus sum(b^2)
    assert g["a"] == pytest.approx(4 * 0.4)
    np.testing.assert_allclose(g["b"], 2 * q["b"])
    H = srcad.hessian(R.dict_spread_argument)(q)
    assert H["a"]["a"] == pytest.approx(4.0)
    np.testing.assert_allclose(H["b"]["b"], 2 * np.eye(2))


def test_list_repeated_a_variable_number_of_times():
    for n in (1, 3):
        check_grads(R.list_repeat_count, X, n)
        # sum(ys) * ys[-1] = n (x0 + x1) x1
        want = np.array([n * X[1], n * (X[0] + 2 * X[1]), 0.0])
        np.testing.assert_allclose(srcad.grad(R.list_repeat_count)(X, n), want)
        second_order(R.list_repeat_count, (X, n))


def test_spread_of_unknown_length_into_star_args_is_refused():
    with pytest.raises(srcad.UnsupportedSyntaxError, match=r"\*xs in a call") as e:
        srcad.grad(R.star_unknown_length)(X)
    assert e.value.filename.endswith("regress_s3py.py") and e.value.lineno > 1


# ---------------------------------------------------------------- jacfwd / jacrev / hessian inside

INNER = [R.inner_jacfwd, R.inner_jacrev, R.inner_hessian, R.inner_jacfwd_helper,
         R.inner_jacrev_wrt]


@pytest.mark.parametrize("f", INNER, ids=[f.__name__ for f in INNER])
def test_jacobians_inside_a_differentiated_function(f):
    # the primal runs srcad's own jacfwd/jacrev/hessian: finite differences of it are the oracle
    assert srcad.value_and_grad(f)(X)[0] == pytest.approx(f(X), rel=1e-12)
    check_grads(f, X)
    second_order(f, (X,))


def test_jacobians_inside_keep_perturbations_apart():
    # Siskind and Pearlmutter's d/dx [x * d/dy (x + y)] = 1, and two closed forms, with the
    # inner derivative a Jacobian or Hessian, the outer one forward or reverse, and at order 2
    x = 0.8
    for f, d1, d2 in [(R.sp_jacfwd, 1.0, 0.0), (R.sp_jacrev, 2 * x + 1, 2.0),
                      (R.sp_hessian, 18 * x, 18.0)]:
        assert srcad.grad(f)(x) == pytest.approx(d1, rel=1e-12)
        assert srcad.jvp(f, (x,), (1.0,))[1] == pytest.approx(d1, rel=1e-12)
        assert srcad.derivative(srcad.grad(f))(x) == pytest.approx(d2, abs=1e-12)
        assert srcad.grad(srcad.grad(f))(x) == pytest.approx(d2, abs=1e-12)


def test_a_jacobian_inside_of_a_container_is_refused_when_it_runs():
    # (a build-time UnsupportedSyntaxError naming the user's line since s4py, not an assert)
    with pytest.raises(srcad.UnsupportedSyntaxError, match="array or float argument"):
        srcad.grad(R.inner_jacobian_of_dict)({"a": np.array([1.0, 2.0])})


# ---------------------------------------------------------------- autograd's example models

def _autograd_models():
    """tests/fixtures/autograd_style_models.py run under autograd (its imports swapped)."""
    import inspect
    import types
    pytest.importorskip("autograd")
    from fixtures import autograd_style_models as M
    src = inspect.getsource(M)
    for a, b in [("import numpy as np", "import autograd.numpy as np"),
                 ("from scipy.special import logsumexp",
                  "from autograd.scipy.special import logsumexp"),
                 ("from scipy.stats import multivariate_normal as mvn",
                  "import autograd.scipy.stats.multivariate_normal as mvn")]:
        assert a in src
        src = src.replace(a, b)
    twin = types.ModuleType("autograd_style_models_autograd")
    exec(compile(src, M.__file__, "exec"), twin.__dict__)
    return M, twin


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
    check_grads(R.concat_arguments, p, q)
    gp, gq = srcad.grad(R.concat_arguments, wrt=(0, 1))(p, q)
    # t0 + 2 t1 + 3 t2 t0 with t = p + q
    assert gp == (pytest.approx(1.0 + 3.0 * 0.7), pytest.approx(2.0))
    assert gq == (pytest.approx(3.0 * 0.2),)


# (autograd cannot format its boxed values: str_format is checked against it no further)
STATEMENTS = [(R.nested_def_default, True), (R.str_format, False),
              (R.raise_on_bad_input, True), (R.starred_targets, True)]


@pytest.mark.parametrize("f, ag", STATEMENTS, ids=[f.__name__ for f, _ in STATEMENTS])
def test_everyday_statements(f, ag):
    x = np.abs(X) + 0.1
    check_grads(f, x)
    second_order(f, (x,))
    if ag:
        against_autograd(f, (x,))


def test_raise_keeps_the_primal_check():
    for run in (lambda x: srcad.grad(R.raise_on_bad_input)(x),
                lambda x: srcad.jvp(R.raise_on_bad_input, (x,), (x,)),
                lambda x: srcad.hessian(R.raise_on_bad_input)(x)):
        with pytest.raises(ValueError, match="need 3 values, got 4"):
            run(np.ones(4))
        with pytest.raises(FloatingPointError):
            run(np.array([1.0, np.nan, 2.0]))


def test_raise_in_a_branch_that_assigns_nothing():
    # the else branch raises, so y is assigned on every path that returns (refused as "'y'
    # may be read before it is assigned" until s4py made a raise end its path)
    check_grads(R.raise_in_else, X)
    second_order(R.raise_in_else, (X,))
    with pytest.raises(ValueError, match="must be positive"):
        srcad.grad(R.raise_in_else)(-X)
