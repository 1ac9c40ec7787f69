"""The rule tables' conventions where a derivative does not exist, checked in both modes:
abs'(0) = 0; sign' = 0; ties of max/min and maximum/minimum split equally; clip has slope 1
on [lo, hi] inclusive; sqrt'(0) = inf; products and scans are exact at zeros; integers and
booleans carry no derivative; float32 stays float32.
"""
import math

import numpy as np
import pytest

import srcad
from srcad.testing import check_grads

from fixtures import regress_rules as rr
from fixtures import regress_s3lead as R


def both(f, *args, wrt=0):
    """The derivative of `f` w.r.t. argument `wrt` in reverse and in forward mode."""
    with np.errstate(all="ignore"):
        rev = np.asarray(srcad.jacrev(f, wrt=wrt)(*args), dtype=float)
        fwd = np.asarray(srcad.jacfwd(f, wrt=wrt)(*args), dtype=float)
    return rev, fwd


def assert_both(f, args, want, wrt=0):
    for got in both(f, *args, wrt=wrt):
        np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------ kinks
def np_abs(x):
    return np.abs(x) + np.fabs(x) + abs(x)


def math_fabs(x):
    return math.fabs(x)


def test_abs_at_zero_is_zero():
    assert_both(np_abs, (np.array([-1.0, 0.0, 2.0]),), np.diag([-3.0, 0.0, 3.0]))
    assert_both(math_fabs, (0.0,), 0.0)


def np_sign(x):
    return np.sign(x) * 3.0


def test_sign_has_zero_derivative():
    assert_both(np_sign, (np.array([-1.0, 0.0, 2.0]),), np.zeros((3, 3)))


def np_max(x):
    return np.max(x)


def np_max_rows(x):
    return np.max(x, axis=-1)


def np_min_columns(x):
    return np.min(x, axis=0, keepdims=True)


def test_max_ties_split_equally():
    assert_both(np_max, (np.array([1.0, 3.0, 3.0, 0.0]),), [0.0, 0.5, 0.5, 0.0])
    x = np.array([[2.0, 2.0, 1.0], [1.0, 5.0, 1.0]])
    rows = np.zeros((2, 2, 3))
    rows[0, 0] = [0.5, 0.5, 0.0]                   # a tie in row 0
    rows[1, 1] = [0.0, 1.0, 0.0]
    assert_both(np_max_rows, (x,), rows)
    columns = np.zeros((1, 3, 2, 3))
    columns[0, 0, 1, 0] = 1.0
    columns[0, 1, 0, 1] = 1.0
    columns[0, 2, :, 2] = 0.5                      # a tie in column 2
    assert_both(np_min_columns, (x,), columns)


def np_maximum(x, y):
    return np.maximum(x, y) + np.minimum(x, y) * 2.0 + np.fmax(x, y) * 4.0 + np.fmin(x, y) * 8.0


def test_maximum_minimum_ties_split_equally():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 5.0])
    assert_both(np_maximum, (x, y), np.diag([7.5, 5.0, 10.0]))
    assert_both(np_maximum, (x, y), np.diag([7.5, 10.0, 5.0]), wrt=1)


def np_fmax_fmin(x, y):
    return np.fmax(x, y) + 2.0 * np.fmin(x, y)


def test_fmax_gives_nan_entries_derivative_to_the_other_argument():
    x, y = np.array([np.nan, 2.0]), np.array([1.0, np.nan])
    assert_both(np_fmax_fmin, (x, y), np.diag([3.0, 0.0]), wrt=1)
    assert_both(np_fmax_fmin, (x, y), np.diag([0.0, 3.0]), wrt=0)


def np_clip(x):
    return np.clip(x, -1.0, 1.0) + x.clip(min=-1.0, max=1.0)


def np_clip_bounds(x, lo, hi):
    return np.clip(x, lo, hi)


def test_clip_slope_is_one_on_the_closed_interval():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    assert_both(np_clip, (x,), np.diag([0.0, 2.0, 2.0, 2.0, 0.0]))
    # the bounds take the derivative where x lies outside them
    assert_both(np_clip_bounds, (x, -1.0, 1.0), [1.0, 0.0, 0.0, 0.0, 0.0], wrt=1)
    assert_both(np_clip_bounds, (x, -1.0, 1.0), [0.0, 0.0, 0.0, 0.0, 1.0], wrt=2)


def np_sqrt(x):
    return np.sqrt(x)


def sum_sqrt(x):
    return np.sum(np.sqrt(x))


def test_sqrt_at_zero_is_inf():
    x = np.array([0.0, 4.0])
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(srcad.grad(sum_sqrt)(x), [np.inf, 0.25])
        np.testing.assert_array_equal(srcad.jvp(np_sqrt, (x,), (np.array([1.0, 0.0]),))[1],
                                      [np.inf, 0.0])


# ------------------------------------------------------------ exact at zeros
def np_prod(x):
    return np.prod(x)


def np_cumprod(x):
    return np.cumprod(x)


def test_prod_and_cumprod_are_exact_at_zeros():
    assert_both(np_prod, (np.array([0.0, 2.0, 3.0]),), [6.0, 0.0, 0.0])
    assert_both(np_prod, (np.array([0.0, 2.0, 0.0]),), [0.0, 0.0, 0.0])
    x = np.array([2.0, 0.0, 3.0])
    want = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 6.0, 0.0]])
    assert_both(np_cumprod, (x,), want)


# ------------------------------------------------------------ integers and booleans
def casts(x):
    return x.astype(int) * 1.0 + np.floor(x) + (x > 1.0) * 1.0 + np.array(x, dtype=int)


def masked(x, mask):
    return np.sum(np.where(mask, x, 0.0)) + np.sum(x * mask)


def test_integers_and_booleans_carry_no_derivative():
    x = np.array([0.5, 1.5, 2.5])
    assert_both(casts, (x,), np.zeros((3, 3)))
    mask = np.array([True, False, True])
    assert_both(masked, (x, mask), [2.0, 0.0, 2.0])


def times_int(x, n):
    return np.sum(x * n)


def test_integer_arguments_are_constants():
    n = np.array([1, 2, 3])
    assert_both(times_int, (np.ones(3), n), [1.0, 2.0, 3.0])
    g = srcad.grad(times_int)(np.ones(3, dtype=np.float32), n)
    assert g.dtype == np.float32


# ------------------------------------------------------------ float32
def float32_mix(x, y):
    a = np.sum(np.tanh(x) * np.log1p(y) / np.hypot(x, y), axis=-1, keepdims=True)
    return np.sum(np.cumsum(a * np.var(x, axis=0, ddof=1), axis=0) + np.linalg.norm(y))


@pytest.mark.parametrize("i", [0, 1])
def test_float32_inputs_give_float32_derivatives(i):
    args = (np.linspace(0.5, 1.5, 6, dtype=np.float32).reshape(2, 3),
            np.linspace(0.2, 0.9, 3, dtype=np.float32))
    tangents = [np.zeros_like(a) for a in args]
    tangents[i] = np.ones_like(args[i])
    assert np.result_type(srcad.jvp(float32_mix, args, tangents)[1]) == np.float32
    assert np.result_type(srcad.grad(float32_mix, wrt=i)(*args)) == np.float32
    args64 = tuple(a.astype(np.float64) for a in args)
    for jac in (srcad.jacfwd, srcad.jacrev):
        np.testing.assert_allclose(jac(float32_mix, wrt=i)(*args), jac(float32_mix, wrt=i)(*args64),
                                   rtol=1e-3, atol=1e-4)


def test_session7_conventions():
    """copysign'(0) = 0 in x (as abs'); np.i0'(0) = I1(0) = 0; frexp's mantissa slopes
    2**-e; modf's integral part and divmod's floor part carry none."""
    for f in (lambda x: math.copysign(x, -2.0), lambda x: np.sum(np.copysign(x, -2.0))):
        assert all(np.all(d == 0.0) for d in both(f, 0.0))
    x = np.array([0.0, 3.0, -0.3])
    for d in both(lambda x: np.sum(np.i0(x)), x):
        np.testing.assert_allclose(d, [0.0, 3.9533702174026093, -0.15169384000359984])
    for d in both(lambda x: np.sum(np.frexp(x)[0]), x):
        np.testing.assert_allclose(d, [1.0, 0.25, 2.0])
    for d in both(lambda x: np.sum(np.modf(x)[1] + divmod(x, 0.7)[0]), x):
        assert np.all(d == 0.0)


def test_pow_of_three_arguments_is_refused():
    def f(x):
        return pow(x, 2, 5)
    with pytest.raises(srcad.SrcadError, match="pow"):
        srcad.grad(f)(3.0)


def test_cond_of_other_norms_raises():
    """np.linalg.cond's derivative is the 2-norm's: another p raises, not a wrong value."""
    def f(x):
        return np.linalg.cond(x, 1)
    x = np.eye(2) * 2.0 + 0.1
    for mode in (srcad.jacrev, srcad.jacfwd):
        with pytest.raises(NotImplementedError, match="cond"):
            mode(f)(x)


def test_bessel_i1_without_scipy(monkeypatch):
    """np.i0's derivative I1 by its power series where SciPy is absent agrees with SciPy's."""
    special = pytest.importorskip("scipy.special")
    import sys

    from srcad.runtime_arrays import bessel_i1
    x = np.array([0.0, 1e-3, -0.7, 2.5, -9.0, 30.0])
    monkeypatch.setitem(sys.modules, "scipy.special", None)      # import raises ImportError
    np.testing.assert_allclose(bessel_i1(x), special.i1(x), rtol=1e-13)
    assert bessel_i1(1.5) == pytest.approx(float(special.i1(1.5)), rel=1e-13)


def test_unique_ties_first_occurrence():
    """np.unique of repeated values: the first occurrence of each takes its derivative."""
    x = np.array([0.5, -1.2, 0.5, 2.0, -1.2])
    for d in both(lambda x: np.unique(x) * np.array([1.0, 2.0, 3.0]), x):
        np.testing.assert_array_equal(d, [[0, 1, 0, 0, 0], [2, 0, 0, 0, 0], [0, 0, 0, 3, 0]])


def complex_attributes(x):
    z = x * np.exp(1j * x)
    return np.sum(z.imag * x) + np.sum(z.real ** 2) + np.sum((x + 0.0).imag + (x * 2.0).real)


def test_real_and_imag_attributes_of_complex_values_have_derivatives():
    # a complex intermediate's .imag was taken as a constant: a silently wrong gradient
    x = np.array([[0.3, -0.8, 1.1], [0.5, 1.2, -0.4]])
    srcad.testing.check_grads(complex_attributes, x)
    srcad.testing.check_grads(srcad.grad(complex_attributes), x, rtol=1e-4, atol=1e-5)


def _cz(x):
    return (np.exp(1j * x) * x).reshape(2, 2) + 2.0 * np.eye(2)


COMPLEX_REFUSED = [
    lambda x: np.linalg.norm(np.exp(1j * x) * x),
    lambda x: np.linalg.norm(_cz(x), "nuc"),
    lambda x: np.sum(np.linalg.svd(_cz(x), compute_uv=False)),
    lambda x: np.sum(np.linalg.eigvalsh(_cz(x) + np.conj(_cz(x).T)) ** 2),
    lambda x: np.sum(np.linalg.eigh(_cz(x) + np.conj(_cz(x).T))[0] * x[:2]),
    lambda x: np.sum(np.real(np.linalg.cholesky(_cz(x) @ np.conj(_cz(x).T)))),
    lambda x: np.sum(np.real(np.linalg.qr(_cz(x))[1])),
    lambda x: np.var(np.exp(1j * x) * x),
    lambda x: np.std(np.exp(1j * x) * x, axis=0)]


@pytest.mark.parametrize("k", range(len(COMPLEX_REFUSED)))
def test_real_only_rules_refuse_complex_intermediates(k):
    # their real formulas lack the conjugates a complex value needs: the derivative of
    # np.linalg.norm(z), svd, eigh, cholesky, qr and var/std of a complex z was silently wrong
    f, x = COMPLEX_REFUSED[k], np.array([0.5, 1.3, -0.7, 2.1])
    for d in (srcad.grad(f), lambda x: srcad.jvp(f, (x,), (np.ones(4),))):
        with pytest.raises(NotImplementedError, match="of real values only"):
            d(x)


def test_sinc_second_derivative_at_zero():
    # sinc'(0) = 0 came from a where() of 1.0 at 0, whose derivative made sinc''(0) 0: the
    # limit is -pi^2 / 3
    def f(x):
        return np.sum(np.sinc(x) * x + np.sinc(x))
    x = np.array([0.0, 0.5, -0.7])
    srcad.testing.check_grads(srcad.grad(f), x, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(srcad.hessian(f)(x)[0, 0], -np.pi ** 2 / 3, rtol=1e-12)


# regressions: rules checked when declared, the lazy tables' helper names (rules/__init__.py)
RNG = np.random.default_rng(9)


def rand(*shape):
    return RNG.uniform(0.5, 1.5, size=shape)


# ------------------------------------------------------------ keywords the rules accept
def test_an_integer_dtype_carries_no_derivative():
    x = np.array([1.5, 2.5, 3.5])
    np.testing.assert_array_equal(srcad.grad(rr.reductions_with_dtype)(x), np.ones(3))
    assert srcad.jvp(rr.reductions_with_dtype, (x,), (np.ones(3),))[1] == 3.0


def test_a_float_dtype_keeps_the_derivative():
    x = np.array([0.5, 0.9, 1.3])
    check_grads(rr.reductions_with_float_dtype, x, rtol=1e-4)


@pytest.mark.parametrize("f", [rr.std_positional_out, rr.sum_positional_keepdims])
def test_positions_numpy_gives_other_meanings_are_refused(f):
    # np.std(x, 0, None, None, 1) passes ddof=1 fifth (fourth is `out`); np.sum's third
    # is dtype: srcad read them as ddof and keepdims before
    with pytest.raises(srcad.UnsupportedSyntaxError, match="at most"):
        srcad.grad(f)(rand(3))


# ------------------------------------------------------------ 10. rule declarations
@pytest.mark.parametrize("decl, message", [
    (dict(jvp="x_dot * cos(x)"), "names cos"),                       # np. forgotten
    (dict(vjp={"y": "out_bar"}), "not parameters"),                  # a parameter misspelt
    (dict(vjp="SHARED[0]"), "names SHARED"),                         # no vjp_shared
    (dict(primal="x + z"), "names z"),
    (dict(jvp="y_dot * x"), "names y_dot"),
])
def test_a_template_naming_what_it_cannot_fails_when_declared(decl, message):
    from srcad import rules

    def prim(x):
        return x
    with pytest.raises(ValueError, match=message):
        rules.defrule(prim, "x", name="prim", **decl)
    assert rules.lookup(prim) is None


def test_reciprocal_derivatives_divide_on_the_tree():
    from srcad import rules
    assert rules.lookup(np.arcsin).vjp["x"].text == "out_bar / np.sqrt(1.0 - x ** 2)"
    assert rules.lookup(np.log).jvp["x"].text == "x_dot / x"
    assert rules.lookup(np.sin).vjp["x"].text == "out_bar * np.cos(x)"
    assert rules.lookup(np.cbrt).vjp["x"].text == "out_bar / (3.0 * out ** 2)"


def test_numpy_cholesky_keeps_its_rule_once_scipy_rules_are_loaded():
    # scipy.linalg's runtime had its own `cholesky_jvp`, which replaced np.linalg's in the
    # names generated code calls once SciPy's tables were loaded: a wrong forward derivative
    pytest.importorskip("scipy")
    from srcad import rules
    rules.load_scipy()
    rng = np.random.default_rng(3)
    m = rng.normal(size=(3, 3))
    a = m @ m.T + 3 * np.eye(3)
    t = rng.normal(size=(3, 3))
    t = t + t.T                                    # cholesky reads one triangle: symmetric
    eps = 1e-6
    f = R.cholesky_upper_sum
    fd = (f(a + eps * t) - f(a - eps * t)) / (2 * eps)
    _, dot = srcad.jvp(f, (a,), (t,))
    np.testing.assert_allclose(dot, fd, rtol=1e-6)
    assert np.isclose(np.sum(srcad.grad(f)(a) * t), fd, rtol=1e-6)


def test_a_lazy_table_may_not_reuse_a_runtime_helper_name():
    import types
    from srcad import rules
    clash = types.ModuleType("clash")
    clash.cholesky_jvp = lambda t, out, lower: t
    clash.__all__ = ["cholesky_jvp"]
    with pytest.raises(srcad.SrcadError, match="already one of srcad's helpers"):
        rules.add_lazy_names(clash)


# ------------------------------------------------------------ initial=, where=, dtype= (session 10)
def test_max_initial_takes_part_in_ties():
    # a tie between initial and entries shares the derivative equally among them
    x, c = np.array([[0.2, 0.7], [0.7, 0.5]]), 0.7
    f = lambda x, c: np.max(x, initial=c)                                  # noqa: E731
    for got in both(f, x, c):
        np.testing.assert_allclose(got, [[0.0, 1 / 3], [1 / 3, 0.0]], rtol=1e-15)
    for got in both(f, x, c, wrt=1):
        np.testing.assert_allclose(got, 1 / 3, rtol=1e-15)
    g = lambda x, c: np.min(x, axis=0, initial=c, where=x > 0.3)[0]        # noqa: E731
    assert_both(g, (x, c), [[0.0, 0.0], [0.5, 0.0]])       # 0.2 is not counted
    assert_both(g, (x, c), 0.5, wrt=1)
    assert_both(f, (x, 2.0), 0.0)                          # initial wins alone
    assert_both(f, (x, 2.0), 1.0, wrt=1)


def test_masked_entries_have_zero_derivative():
    x = np.array([1.0, 2.0, 4.0, np.nan])
    m = np.array([True, True, True, False])                # the nan is not counted
    for f in (lambda x: np.var(x, where=m), lambda x: np.std(x, where=m, ddof=1),
              lambda x: np.sum(x, where=m, initial=3.0), lambda x: np.max(x, where=m, initial=0.0)):
        for got in both(f, x):
            assert got[3] == 0.0 and np.all(np.isfinite(got))
    want = 2.0 * (x[:3] - np.mean(x[:3])) / 3.0
    for got in both(lambda x: np.var(x, where=m), x):
        np.testing.assert_allclose(got[:3], want)


def test_ufunc_and_reduction_dtype_casts_the_derivative():
    x = np.array([0.3, 0.5, 1.2])

    def f(x):
        return np.sum(np.exp(x, dtype=np.float32) * np.multiply(x, 2.0, dtype=np.float32),
                      dtype=np.float32)
    out, dot = srcad.jvp(f, (x,), (np.ones(3),))
    assert np.result_type(out) == np.float32 and np.result_type(dot) == np.float32
    g = srcad.grad(f)(x)
    assert g.dtype == np.float64                       # the gradient has x's dtype
    np.testing.assert_allclose(g, np.exp(x) * 2.0 * (x + 1.0), rtol=1e-6)
    np.testing.assert_allclose(dot, np.sum(np.exp(x) * 2.0 * (x + 1.0)), rtol=1e-6)


@pytest.mark.parametrize("src", ["np.exp(x, where=x > 0.0)", "np.add(x, x, order='C')",
                                 "np.divmod(x, 2.0, order='C')[1]", "np.max(x, dtype=float)",
                                 "x.sum(out=None, initial=1.0)",
                                 "np.exp(x, out=np.zeros_like(x), where=x > 0.0, dtype=float)"])
def test_unsupported_keywords_are_refused_at_the_line(src, tmp_path):
    path = tmp_path / "kw.py"
    path.write_text(f"import numpy as np\n\n\ndef f(x):\n    return np.sum({src})\n")
    import importlib.util
    spec = importlib.util.spec_from_file_location("kw_refused", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for mode in ("reverse", "forward"):
        with pytest.raises(srcad.SrcadError) as e:
            srcad.derivative(mod.f, mode=mode)
        assert f"{path}:5" in str(e.value) and e.value.lineno == 5
