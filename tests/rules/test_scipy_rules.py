"""Table-driven tests of the SciPy rules (srcad/rules/scipy_*.py) on the samples of
tests/rules/fixtures_scipy.py: every rule has a sample; every sample agrees with central
differences in both modes, with autograd.scipy where it has the function, and keeps
float32; the scalar functions' second derivatives agree with differences of the gradient;
a Bayesian model's log-likelihood is checked whole. Skipped without SciPy."""
import types

import numpy as np
import pytest

pytest.importorskip("scipy")
import fixtures_scipy as fx  # noqa: E402
import scipy_model_funcs as model  # noqa: E402
from test_rule_table import _float32, _float_positions, _fresh, describe, rules_used  # noqa: E402

import srcad  # noqa: E402
from srcad import pipeline, rules  # noqa: E402
from fixtures import regress_lead6 as R
from srcad.testing import numerical_grad

CASES = [(f, args) for f, argsets in fx.SAMPLES for args in argsets]
IDS = [f"{f.__name__}-{i}" for f, argsets in fx.SAMPLES for i in range(len(argsets))]


def test_every_scipy_rule_has_a_sample():
    covered = set()
    for f, _ in fx.SAMPLES:
        covered |= rules_used(f)
    missing = sorted(describe(r) for r in rules.load_scipy()
                     if id(r) not in covered and describe(r) not in fx.UNREACHABLE)
    assert not missing, "SciPy rules without a sample in fixtures_scipy.py: " + ", ".join(missing)


def test_import_srcad_does_not_import_scipy():
    import subprocess
    import sys
    code = "import sys, srcad; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------ finite differences
@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("f, args", CASES, ids=IDS)
def test_check_grads(f, args, mode):
    with np.errstate(all="ignore"):
        srcad.testing.check_grads(f, *args, modes=(mode,))


# ------------------------------------------------------------ autograd.scipy
_TWIN = {}


def autograd_twin(f):
    """`f` from a copy of fixtures_scipy executed under autograd.numpy and autograd.scipy."""
    pytest.importorskip("autograd")
    if not _TWIN:
        import inspect
        src = inspect.getsource(fx)
        for old, new in [("import numpy as np", "import autograd.numpy as np"),
                         ("import scipy.linalg as sl", "import autograd.scipy.linalg as sl"),
                         ("import scipy.signal as ss", "import autograd.scipy.signal as ss"),
                         ("import scipy.special as sp", "import autograd.scipy.special as sp"),
                         ("import scipy.stats as st", "import autograd.scipy.stats as st")]:
            assert old in src
            src = src.replace(old, new)
        module = types.ModuleType("fixtures_scipy_autograd")
        module.__file__ = fx.__file__
        exec(compile(src, fx.__file__, "exec"), module.__dict__)
        _TWIN["module"] = module
    return getattr(_TWIN["module"], f.__name__)


@pytest.mark.parametrize("f, args", CASES, ids=IDS)
def test_against_autograd(f, args):
    why = fx.AUTOGRAD_LACKS.get(f.__name__)
    if why:
        pytest.skip(f"autograd: {why}")
    autograd = pytest.importorskip("autograd")
    twin = autograd_twin(f)
    for i in fx.AUTOGRAD_WRT.get(f.__name__, _float_positions(args)):
        with np.errstate(all="ignore"):
            want = np.asarray(autograd.jacobian(twin, i)(*args), dtype=np.float64)
            got = np.asarray(srcad.jacrev(f, wrt=i)(*args), dtype=np.float64)
        np.testing.assert_allclose(got, want.reshape(got.shape), rtol=1e-6, atol=1e-9,
                                   err_msg=f"{f.__name__}: argument {i}")


# ------------------------------------------------------------ float32 stays float32
FLOAT32_REFUSED = {"st_dirichlet": "SciPy's dirichlet refuses a float32 point (its sum is 1 to "
                                   "float32 precision only)",
                   "st_dirichlet_pdf": "SciPy's dirichlet refuses a float32 point",
                   "st_dirichlet_pdf_columns": "SciPy's dirichlet refuses a float32 point"}


@pytest.mark.parametrize("f, args", CASES, ids=IDS)
def test_float32(f, args):
    """With float32 inputs and a float32 result, tangents and gradients are float32 and agree
    with the float64 ones; so they are where SciPy computes the value in float64 from
    float32 inputs (UPCASTS: scipy.stats), with a float32 cotangent."""
    args32 = tuple(map(_float32, args))
    positions = [i for i in _float_positions(args32) if isinstance(args32[i], np.ndarray)]
    if f.__name__ in FLOAT32_REFUSED:
        pytest.skip(FLOAT32_REFUSED[f.__name__])
    with np.errstate(all="ignore"):
        out = f(*args32)
    upcast = f.__name__ in getattr(fx, "UPCASTS", {})
    if not positions or np.result_type(out) != np.float32 and not upcast:
        pytest.skip("no float32 array argument, or SciPy itself leaves float32")
    kinds = tuple(map(pipeline.kind_of, args32))
    fresh = _fresh(f)
    for i in positions:
        t = np.ones_like(args32[i])
        with np.errstate(all="ignore"):
            _, out_dot = pipeline.get(fresh, "forward", (i,), kinds).func(*args32, t)
            _, out_dot64 = pipeline.get(f, "forward", (i,), tuple(map(pipeline.kind_of, args))
                                        ).func(*args, t.astype(np.float64))
            grad = pipeline.get(fresh, "reverse", (i,), kinds).func(
                *args32, np.ones_like(np.asarray(out), dtype=np.float32) if np.ndim(out) else
                np.float32(1.0))
        assert np.result_type(out_dot) == np.float32, f"tangent along argument {i}"
        np.testing.assert_allclose(out_dot, out_dot64, rtol=2e-3, atol=2e-3)
        assert np.result_type(grad) == np.float32, f"gradient of argument {i}"


def test_float32_cases_exist():
    """The float32 test is not skipped everywhere: most of scipy.special keeps float32."""
    kept = [f for f, args in CASES if _float_positions(args) and f.__name__ not in FLOAT32_REFUSED and
            np.result_type(f(*map(_float32, args))) == np.float32]
    assert len(kept) > 20


# ------------------------------------------------------------ second order
SCALAR = [(f, args) for f, args in CASES
          if len(args) == 1 and isinstance(args[0], np.ndarray) and args[0].ndim == 1
          and f.__name__ not in ("st_dirichlet", "st_dirichlet_pdf")]


@pytest.mark.parametrize("f, args", SCALAR, ids=[f.__name__ for f, _ in SCALAR])
def test_second_order(f, args):
    g = model.SUMMED[f.__name__]
    with np.errstate(all="ignore"):
        srcad.testing.check_grads(srcad.grad(g), *args, rtol=1e-4, atol=1e-5)


def test_second_order_of_stats():
    for g in (model.norm_params, model.t_params, model.gamma_params):
        for wrt in range(g.__code__.co_argcount):
            args = model.PARAMS[g.__name__]
            srcad.testing.check_grads(srcad.grad(g, wrt=wrt), *args, rtol=1e-4, atol=1e-5)


def test_second_order_of_two_argument_functions():
    srcad.testing.check_grads(srcad.grad(model.two_argument_functions), np.array([0.6, 1.3, 2.2]),
                              rtol=1e-4, atol=1e-5)


def test_hessian_matches_autograd():
    autograd = pytest.importorskip("autograd")
    x = np.array([0.6, 1.3, 2.2])
    np.testing.assert_allclose(srcad.hessian(model.hessian_sample)(x),
                               autograd.hessian(model.hessian_sample_autograd)(x),
                               rtol=1e-7, atol=1e-10)


LU_A = np.array([[3.2, 0.4, -0.5], [1.1, -0.3, 2.6], [0.2, 3.9, 0.8]])   # pivots rows
LU_B = np.array([0.6, -1.1, 0.4])


@pytest.mark.parametrize("f", [model.lu_linear_in_b, model.lu_squares, model.cho_linear_in_b],
                         ids=lambda f: f.__name__)
def test_second_order_of_factorizations(f):
    """Every mixed second derivative of lu_factor/lu_solve and cho_factor/cho_solve, forward
    over reverse and reverse over reverse, against central differences of the gradient. Reverse
    over reverse in the matrix was refused (the LU helpers' pivot swap in place), and, of
    lu_linear_in_b, silently wrong in a after grad in b (the factor's tuple adjoints
    concatenated by `+`)."""
    from conftest import second_order
    from srcad.testing import numerical_grad
    a = LU_A @ LU_A.T if f is model.cho_linear_in_b else LU_A
    args = (a, LU_B)
    for i in (0, 1):
        second_order(f, args, i)
        g = srcad.grad(f, wrt=i)
        j = 1 - i
        want = numerical_grad(g, list(args), j)
        for got in (srcad.jacrev(g, wrt=j)(*args), srcad.jacfwd(g, wrt=j)(*args)):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_tuple_tangent_needs_returns_seq():
    # the reverse pass adds a tuple's adjoints item by item only where the rule says so
    with pytest.raises(ValueError, match="returns_seq"):
        rules.defrule([], "a", name="pair_sample", kind=rules.ANY, jvp="(a_dot, 0.0)",
                      vjp="out_bar[0]")


# ------------------------------------------------------------ a model, whole
def test_bayesian_poisson_regression():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    y = rng.poisson(np.exp(X @ np.array([0.3, -0.2, 0.1]))).astype(float)
    w, log_sigma = rng.normal(size=3) * 0.1, np.array(0.2)
    srcad.testing.check_grads(model.poisson_log_joint, w, log_sigma, X, y, wrt=[0, 1])


def test_bayesian_logistic_mixture():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(30, 3))
    y = (rng.uniform(size=30) < 0.5).astype(float)
    W = rng.normal(size=(2, 3)) * 0.3
    logits = rng.normal(size=2)
    srcad.testing.check_grads(model.logistic_mixture_log_joint, W, logits, X, y, wrt=[0, 1])
    autograd = pytest.importorskip("autograd")
    want = autograd.grad(model.logistic_mixture_autograd)(W, logits, X, y)
    np.testing.assert_allclose(srcad.grad(model.logistic_mixture_log_joint)(W, logits, X, y),
                               want, rtol=1e-8)


# ------------------------------------------------------------ what is refused, and where
def test_active_order_is_refused_at_the_users_line():
    with pytest.raises(srcad.SrcadError, match=r"scipy_model_funcs\.py:\d+: scipy\.special\.gammainc .*'a'"):
        srcad.grad(model.gammainc_in_a)(1.5, 2.0)
    with pytest.raises(srcad.SrcadError, match=r"'a'"):
        srcad.jvp(model.gammainc_in_a, (1.5, 2.0), (1.0, 0.0))
    # in x alone it is differentiated
    srcad.testing.check_grads(model.gammainc_in_a, 1.5, 2.0, wrt=1)


def test_logsumexp_weights_are_differentiated_and_return_sign_refused():
    x = np.array([0.1, 0.2])
    srcad.testing.check_grads(model.logsumexp_weighted, x)
    np.testing.assert_allclose(srcad.grad(model.logsumexp_weighted)(x),
                               np.array([1.0, 2.0]) * np.exp(x) / np.sum(np.array([1.0, 2.0]) * np.exp(x)))
    with pytest.raises(srcad.SrcadError, match=r"logsumexp.*'return_sign'"):
        srcad.grad(model.logsumexp_signed)(x)


def test_standalone_source_runs():
    import subprocess
    import sys
    text = srcad.source(model.poisson_log_joint)
    assert "import scipy.special" in text
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(5, 3)), np.array([0.0, 1.0, 2.0, 0.0, 1.0])
    code = text + "\nimport numpy as np\nrng = np.random.default_rng(5)\n" \
        "X, y = rng.normal(size=(5, 3)), np.array([0.0, 1.0, 2.0, 0.0, 1.0])\n" \
        "print(repr(poisson_log_joint_grad(np.full(3, 0.1), 0.2, X, y).tolist()))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    np.testing.assert_allclose(eval(out.stdout), srcad.grad(model.poisson_log_joint)(
        np.full(3, 0.1), 0.2, X, y), rtol=1e-12)


def test_cholesky_agrees_with_autograd_on_symmetric_directions():
    """SciPy reads one triangle, autograd's gradient is symmetric: along a symmetric
    direction both are the derivative of the same function."""
    autograd = pytest.importorskip("autograd")
    rng = np.random.default_rng(6)
    m = rng.normal(size=(4, 4))
    a, w, v = m @ m.T + np.eye(4), rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    v = v + v.T
    want = np.sum(autograd.grad(model.cholesky_weighted_autograd)(a, w) * v)
    np.testing.assert_allclose(np.sum(srcad.grad(model.cholesky_weighted)(a, w) * v), want,
                               rtol=1e-10)
    np.testing.assert_allclose(srcad.jvp(model.cholesky_weighted, (a, w), (v, 0.0 * w))[1], want,
                               rtol=1e-10)


def test_logsumexp_keepdims_of_a_float():
    # its (1,)-shaped result made the float's adjoint an array: float() of it failed, and
    # np.sum-like kinds called the helper's result a float
    a = 0.7
    want = np.cos(sp_lse(a)) * a + np.sin(sp_lse(a))        # d/da sin(lse(a)) a, lse(a) = a
    assert np.isclose(srcad.grad(model.lse_kept_of_float)(a), want)
    h = srcad.grad(srcad.grad(model.lse_kept_of_float))(a)
    assert np.isclose(h, -np.sin(a) * a + 2.0 * np.cos(a))


def sp_lse(a):
    return a


# regressions: scipy.linalg (cho_solve, solve, overwrite_*) and scipy.stats (rules/scipy_*.py)
def test_hessian_through_cho_solve():
    # cho_solve's adjoint helper imported scipy.linalg in its body, and srcad, reading its
    # source at second order, refused the import, naming its own runtime file
    pytest.importorskip("scipy")
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(5, 2)), rng.normal(size=5)
    p = {"log_ls": 0.1, "log_sn": -1.0}
    H = srcad.hessian(R.gp_nll)(p, X, y)
    for a in p:
        for b in p:
            def grad_a(v, a=a, b=b):
                return srcad.grad(R.gp_nll)({**p, b: v}, X, y)[a]
            fd = numerical_grad(grad_a, (p[b],), 0)
            np.testing.assert_allclose(H[a][b], fd, rtol=1e-5, atol=1e-6)


X3 = np.array([0.9, 0.2, 0.6])


def test_scipy_overwrite_arguments_are_refused():
    # with a Fortran-ordered B, cho_factor(B, overwrite_a=True) overwrote B, which the
    # reverse sweep read: a silently wrong gradient
    pytest.importorskip("scipy")
    with pytest.raises(srcad.SrcadError, match=r"regress_lead6.py:\d+: .*overwrite_a="):
        srcad.grad(R.solve_overwriting)(X3)


def test_scipy_linalg_solve_reading_one_triangle():
    # scipy.linalg.solve had no rule: srcad read SciPy's source and refused with an error
    # located in SciPy's own file
    pytest.importorskip("scipy")
    g = srcad.grad(R.solve_positive)(X3)
    np.testing.assert_allclose(g, numerical_grad(R.solve_positive, (X3,), 0), rtol=1e-6)


def test_cdf_shape_parameters_are_refused():
    """t/gamma/beta/chi2 cdf are differentiated in x, loc and scale (rules added here for
    issue 11's list); their shape parameters have no closed-form derivative and are refused
    at build time, not given a silent zero."""
    st = pytest.importorskip("scipy.stats")
    from fixtures.regress_s6mem import t_cdf_in_df
    x = np.array([0.3, -0.4])
    np.testing.assert_allclose(srcad.grad(t_cdf_in_df)(x, 3.5),
                               st.t.pdf(x, 3.5), rtol=1e-12)
    with pytest.raises(srcad.SrcadError, match="df"):
        srcad.grad(t_cdf_in_df, wrt=1)(x, 3.5)


def test_scipy_linalg_at_singular_matrices():
    """Issue 11 item 4 for scipy.linalg (srcad/rules/scipy_linalg.py's docstring): sqrtm's
    derivative at a singular matrix is no number (its Sylvester equation is singular: inf,
    or ~1/eps where LAPACK rounds), in both modes; solve_triangular of a singular matrix
    raises LinAlgError as its primal does, in both modes."""
    pytest.importorskip("scipy.linalg")
    import warnings
    from fixtures.regress_s6mem import sqrtm_sum, trisolve_sum
    sing = np.array([[1.0, 0.0], [0.0, 0.0]])
    for d in (srcad.jacrev, srcad.jacfwd):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = np.asarray(d(sqrtm_sum)(sing))
        assert not np.all(np.isfinite(got)) or np.max(np.abs(got)) > 1e12
        with pytest.raises(np.linalg.LinAlgError):
            d(trisolve_sum)(np.array([[1.0, 0.0], [1.0, 0.0]]), np.ones(2))
