"""Sample calls for every SciPy derivative rule (srcad/rules/scipy_*.py), as small functions
srcad reads; tests/rules/test_scipy_rules.py checks each against finite differences in both
modes, against autograd.scipy where it has the function, and with float32 inputs.
Inputs stay inside each function's domain and away from its poles."""
import numpy as np
import scipy.integrate as si
import scipy.linalg as sl
import scipy.signal as ss
import scipy.special as sp
import scipy.stats as st
from fixtures_numpy import big, binary, d0, pos, registrars, sym, unary, unit

from srcad import runtime_scipy as rs
from srcad.runtime_scipy import conv_vjp1, conv_vjp2

SAMPLES = []                      # (function, [argument tuples])
AUTOGRAD_LACKS = {}               # function name -> why autograd is no oracle for it
AUTOGRAD_WRT = {}                 # function name -> the arguments autograd differentiates
UNREACHABLE = {"lead_axis": "called only by generated code (dirichlet's derivative)",
               "keep_axes": "called only by generated code (logsumexp's derivative)",
               "scipy.integrate.odeint": "lowered to odeint_call (the sample si_odeint calls)",
               "odeint_vjp": "called only by generated code (odeint's adjoint)",
               "odeint_jvp": "called only by generated code (odeint's tangent)",
               "odeint_vjp_vjp": "called only by generated code (reverse over odeint's "
                                 "adjoint)",
               "sqrtm_sylvester": "called only by generated code (sqrtm's derivatives)",
               "lu_perm": "called only by the LU helpers srcad reads at second order",
               "mvpolygamma": "called only by generated code (multigammaln's derivatives)"}


sample, lacks, _ = registrars(SAMPLES, AUTOGRAD_LACKS, {})


def well_spd(n):
    """A well-conditioned symmetric positive definite matrix."""
    a = sym(n, n) * 0.3
    return a @ a.T + np.eye(n)


def half(*shape):
    """Values in (0.1, 0.9): inside (0, 1)."""
    return pos(*shape) * 0.8 - 0.3


# ============================================================ scipy.special, one argument
@sample(*unary(sym))
def sp_expit(x):
    return sp.expit(x)


@sample(*unary(half))
def sp_logit(x):
    return sp.logit(x)


@sample(*unary(pos), (sym(3) - 2.5,))
def sp_gammaln(x):
    return sp.gammaln(x)


@sample(*unary(pos))
def sp_gamma(x):
    return sp.gamma(x)


@sample(*unary(pos))
def sp_digamma(x):
    return sp.digamma(x) + sp.psi(x)


@sample(*unary(pos))
def sp_rgamma(x):
    return sp.rgamma(x)


@sample(*unary(sym))
def sp_erf(x):
    return sp.erf(x) + sp.erfc(x) * 2.0


@sample(*unary(unit))
def sp_erfinv(x):
    return sp.erfinv(x) + sp.erfcinv(x + 1.0)


@sample(*unary(sym))
def sp_ndtr(x):
    return sp.ndtr(x) + sp.log_ndtr(x) + sp.log_ndtr(x - 5.0)


@sample(*unary(half))
def sp_ndtri(x):
    return sp.ndtri(x)


@sample(*unary(pos))
def sp_entr(x):
    return sp.entr(x)


@sample(*unary(sym))
def sp_bessel_i(x):
    return sp.i0(x) + sp.i1(x) * 2.0 + sp.i0e(x) * 3.0 + sp.i1e(x) * 4.0


@sample(*unary(sym))
def sp_bessel_j(x):
    return sp.j0(x) + sp.j1(x) * 2.0


@sample(*unary(pos))
def sp_bessel_y(x):
    return sp.y0(x) + sp.y1(x) * 2.0


# ============================================================ two arguments
@sample(*binary(pos))
def sp_betaln(a, b):
    return sp.betaln(a, b)


@sample(*binary(pos))
def sp_xlogy(x, y):
    return sp.xlogy(x, y) + sp.xlog1py(x, y)


SHAPES = np.array([[0.7], [1.0], [2.5]])           # gammainc's a: below, at and above 1


@sample((pos(3) * 2.0,), (pos(2, 1, 3) * 2.0,), (pos() * 2.0,))
def sp_gammainc(x):
    return sp.gammainc(SHAPES, x) + sp.gammaincc(SHAPES, x) * 2.0 + sp.gammainc(2.0, x)


@sample(*unary(big))
def sp_polygamma(x):
    return sp.polygamma(0, x) + sp.polygamma(1, x) + sp.polygamma(2, x) + sp.zeta(3.0, x)


@sample(*unary(big))
def sp_bessel_orders(x):
    return sp.jn(2, x) + sp.jv(1.5, x) + sp.yn(2, x) + sp.iv(1.5, x) + sp.ive(2.0, x)


@sample(*unary(big))
def sp_bessel_jv_negative(x):
    return sp.ive(1.0, -x) + sp.yn(0, x) + sp.jn(0, x) + sp.jn(-1, x)


# ============================================================ along an axis
@sample((sym(4),), (sym(2, 3),), (sym(),), (d0(sym()),))
def sp_logsumexp(x):
    return sp.logsumexp(x)


@sample((sym(2, 3),), (sym(2, 3, 2),))
def sp_logsumexp_axis(x):
    a = np.sum(sp.logsumexp(x, axis=0) * 2.0) + np.sum(sp.logsumexp(x, axis=-1, keepdims=True))
    return a + np.sum(sp.logsumexp(x, (0, 1)) * sp.logsumexp(x, axis=(0, 1), keepdims=True))


@sample((sym(4),), (sym(2, 3),))
def sp_softmax(x):
    return sp.softmax(x) + sp.softmax(x, axis=-1) * 2.0 + sp.softmax(x, 0) * 3.0


@sample((sym(4),), (sym(2, 3),))
def sp_log_softmax(x):
    return sp.log_softmax(x) + sp.log_softmax(x, axis=-1) * 2.0 + sp.log_softmax(x, 0) * 3.0


# ============================================================ scipy.stats
@sample((sym(3),), (sym(2, 3),), (sym(),))
def st_norm_standard(x):
    return st.norm.logpdf(x) + st.norm.pdf(x) + st.norm.cdf(x) + st.norm.logcdf(x) + st.norm.sf(x)


@sample((sym(3), sym(3), pos(3)), (sym(2, 3), sym(3), pos()), (sym(), sym(2), pos(2)))
def st_norm(x, loc, scale):
    a = st.norm.logpdf(x, loc, scale) + st.norm.pdf(x, loc=loc, scale=scale)
    return a + st.norm.cdf(x, loc, scale) + st.norm.logcdf(x, loc, scale) + st.norm.sf(x, loc, scale)


@sample((sym(3), big(3), sym(3), pos(3)), (sym(2, 3), big(), sym(3), pos()))
def st_t(x, df, loc, scale):
    return st.t.logpdf(x, df, loc, scale) + st.t.pdf(x, df, loc=loc, scale=scale)


@sample((big(3), pos(3) + 1.0), (big(2, 3), big()))
def st_gamma_standard(x, a):
    return st.gamma.logpdf(x, a) + st.gamma.pdf(x, a)


@sample((sym(3), sym(3), pos(3)), (sym(2, 3), sym(3), pos()), (sym(), sym(2), pos(2)))
def st_norm_positional(x, loc, scale):
    a = st.norm.logpdf(x, loc, scale) + st.norm.pdf(x, loc, scale)
    return a + st.norm.cdf(x, loc, scale) + st.norm.logcdf(x, loc, scale) + st.norm.sf(x, loc, scale)


@sample((big(3), pos(3) + 1.0, pos(3) * 0.5, pos(3)), (big(2, 3), big(), pos(3) * 0.5, pos()))
def st_gamma(x, a, loc, scale):
    return st.gamma.logpdf(x, a, loc, scale) + st.gamma.pdf(x, a, loc=loc, scale=scale)


@sample((half(3), big(3), big(3)), (half(2, 3), big(), big(3)))
def st_beta(x, a, b):
    return st.beta.logpdf(x, a, b) + st.beta.pdf(x, a, b)


@sample((half(3) + 1.0, np.full(3, 0.95), pos(3) + 0.5))
def st_beta_loc_scale(x, loc, scale):
    return st.beta.logpdf(x, 2.5, 1.5, loc, scale) + st.beta.pdf(x, 2.5, 1.5, loc=loc, scale=scale)


@sample((big(3), big(3)), (big(2, 3), big()))
def st_chi2(x, df):
    return st.chi2.logpdf(x, df) + st.chi2.pdf(x, df)


@sample((big(3) + 1.0, big(3), pos(3) * 0.5, pos(3)))
def st_chi2_loc_scale(x, df, loc, scale):
    return st.chi2.logpdf(x, df, loc, scale) + st.chi2.pdf(x, df, loc=loc, scale=scale)


@sample((np.array([0, 1, 3]), pos(3) * 2.0), (np.array([[0, 1, 2], [3, 1, 0]]), pos(3) * 2.0),
        (2, pos()))
def st_poisson(k, mu):
    return st.poisson.logpmf(k, mu) + st.poisson.pmf(k, mu) + st.poisson.cdf(k, mu)


@sample((sym(3), sym(3), well_spd(3)), (sym(4, 3), sym(3), well_spd(3)), (sym(1, 2), sym(2), well_spd(2)))
def st_mvn(x, mean, cov):
    return st.multivariate_normal.logpdf(x, mean, cov) + st.multivariate_normal.pdf(x, mean, cov)


@sample((sym(4, 1), pos()), (sym(4, 1), pos(1)))
def st_mvn_cov_forms(x, cov):
    return st.multivariate_normal.logpdf(x, None, cov) + st.multivariate_normal.pdf(x, cov=cov)


@sample((sym(4, 2), pos()), (sym(4, 2), pos(2)))
def st_mvn_cov_forms_mean(x, cov):
    return st.multivariate_normal.logpdf(x, np.zeros(2), cov) * 2.0


@sample((sym(3), big(3)), (sym(3, 2), big(3)))
def st_dirichlet(u, alpha):
    return st.dirichlet.logpdf(sp.softmax(u, axis=0), alpha)


# ============================================================ scipy.linalg
def lower_tri(n):
    """A well-conditioned matrix whose lower triangle is the one to use (the upper is noise)."""
    return np.tril(well_spd(n)) + np.triu(sym(n, n), 1)


@sample((well_spd(3),), (well_spd(1),), (well_spd(4) + np.tril(sym(4, 4), -1),))
def sl_cholesky(a):
    return sl.cholesky(a) * 2.0


@sample((well_spd(3),), (np.tril(well_spd(4)) + np.triu(sym(4, 4), 1),))
def sl_cholesky_lower(a):
    return sl.cholesky(a, lower=True) @ sl.cholesky(a, True)


@sample((lower_tri(3), sym(3)), (lower_tri(3), sym(3, 2)))
def sl_solve_triangular(a, b):
    x = sl.solve_triangular(a, b, lower=True)
    y = sl.solve_triangular(a, b, trans=1, lower=True)
    return x + y * 2.0 + sl.solve_triangular(a.T, b) * 4.0


@sample((lower_tri(3), sym(3)), (lower_tri(3), sym(3, 2)))
def sl_solve_triangular_unit(a, b):
    return sl.solve_triangular(a.T, b, trans="T", unit_diagonal=True) + \
        sl.solve_triangular(a, b, 2, True, True)


@sample((sym(5, 2), sym(5), pos(2) + 0.5))
def gp_log_marginal(X, y, lengths):
    """A Gaussian process's log marginal likelihood through cholesky and solve_triangular."""
    d = (X[:, None, :] - X[None, :, :]) / lengths
    K = np.exp(-0.5 * np.sum(d * d, axis=-1)) + 0.1 * np.eye(5)
    L = sl.cholesky(K, lower=True)
    alpha = sl.solve_triangular(L, y, lower=True)
    return -0.5 * np.sum(alpha ** 2) - np.sum(np.log(np.diagonal(L)))


@sample((well_spd(3) + np.tril(sym(3, 3), -1), sym(3)), (well_spd(3), sym(3, 2)))
def sl_cho_solve(a, b):
    c = sl.cho_factor(a)
    x = sl.cho_solve(c, b)
    d, low = sl.cho_factor(a.T, lower=True)
    return x + sl.cho_solve((d, low), b * 2.0) + np.sum(c[0] * d)


@sample((well_spd(3), sym(3)))
def sl_cho_solve_lower(a, b):
    return sl.cho_solve(sl.cho_factor(a, True), b)


@sample((sym(3, 3) * 0.5,), (sym(1, 1),))
def sl_expm(a):
    return sl.expm(a)


@sample((well_spd(3),), (well_spd(3) + 0.2 * sym(3, 3),))
def sl_sqrtm(a):
    return sl.sqrtm(a)


@sample((well_spd(3), well_spd(3) + 0.2 * sym(3, 3), sym(3, 3)), (well_spd(2), well_spd(2), sym(2, 2)))
def sl_solve_sylvester(a, b, q):
    return sl.solve_sylvester(a, b, q)


@sample((sym(3, 3) + np.diag([0.0, 3.0, 0.0]), sym(3)), (well_spd(3) + 0.3 * sym(3, 3), sym(3, 2)))
def sl_lu(a, b):
    f = sl.lu_factor(a)
    return sl.lu_solve(f, b) + sl.lu_solve(f, b, trans=1) * 2.0 + np.sum(f[0]) * b


@sample((np.vstack([sym(5), pos(5) + 2.0, sym(5), sym(5)]), sym(5)))
def sl_solve_banded(ab, b):
    return sl.solve_banded((2, 1), ab, b)


@sample((np.vstack([pos(4) + 2.0, sym(4)]), sym(4, 2)))
def sl_solve_banded_columns(ab, b):
    return sl.solve_banded((1, 0), ab, b)


# ============================================================ scipy.signal
@sample((sym(5), sym(3)), (sym(3), sym(5)), (sym(3, 4), sym(2, 2)), (sym(2, 4), sym(3, 2)))
def sig_convolve(x, y):
    return ss.convolve(x, y) + np.sum(ss.convolve(x, y, mode="same") ** 2)


@sample((sym(5), sym(3)), (sym(3, 4), sym(2, 2)))
def sig_convolve_valid(x, y):
    return ss.convolve(x, y, mode="valid") * ss.convolve(y * y, x, mode="valid")


@sample((sym(8), sym(6), sym(3)))
def sig_convolve_helpers(g, x, y):
    a = conv_vjp1(g, x, y) + conv_vjp1(g[1:7], x, y, "same") * conv_vjp2(g, x, y)[0]
    return a * conv_vjp2(g[:4], x, y, mode="valid")[1]


lacks("autograd's cholesky gradient is the symmetric one; SciPy reads one triangle "
      "(checked against finite differences)", sl_cholesky, sl_cholesky_lower, sl_cho_solve,
      sl_cho_solve_lower)
lacks("autograd.scipy.linalg.cholesky has no VJP", gp_log_marginal)
lacks("srcad's runtime helpers call SciPy directly, which autograd cannot trace",
      sig_convolve_helpers)
lacks("autograd.scipy.linalg.expm has no VJP", sl_expm)
lacks("autograd.scipy.linalg has no lu_factor/lu_solve VJP", sl_lu)
lacks("autograd's solve_banded VJP fails for a matrix right-hand side", sl_solve_banded_columns)

lacks("autograd's solve_triangular gradient ignores unit_diagonal", sl_solve_triangular_unit)
lacks("autograd.scipy.special has no softmax, log_softmax, ndtr, ndtri, log_ndtr, xlogy, "
      "xlog1py, entr, i0e, i1e, jv, zeta", sp_softmax, sp_log_softmax, sp_ndtr, sp_ndtri, sp_xlogy,
      sp_entr, sp_bessel_i, sp_polygamma, sp_bessel_orders, sp_bessel_jv_negative, st_dirichlet)
lacks("autograd's mvn gradient in cov is the symmetric one; SciPy reads only cov's lower "
      "triangle (checked against finite differences)", st_mvn, st_mvn_cov_forms,
      st_mvn_cov_forms_mean)
lacks("autograd's chi2 gradient is zero for a non-integer df", st_chi2, st_chi2_loc_scale)
lacks("autograd differentiates beta only in x, at loc=0 and scale=1", st_beta_loc_scale)
lacks("autograd does not unbox keyword arguments of scipy.stats (st_norm_positional is "
      "checked)", st_norm)
lacks("autograd's gamma takes no loc or scale (st_gamma_standard is checked)", st_gamma)
AUTOGRAD_WRT.update(st_t=[0], st_gamma_standard=[0], st_beta=[0], st_poisson=[])


# ============================================================ scipy.integrate
def _decay(y, t, k, w):
    return -k * y + np.sin(w * t) * y[::-1]


@sample((np.array([1.0, 0.5]), 0.7, 1.3, np.linspace(0.0, 1.0, 4)))
def si_odeint(y0, k, w, t):
    return si.odeint(_decay, y0, t, args=(k, w), rtol=1e-10, atol=1e-10)


lacks("its odeint is autograd.scipy.integrate's, compared in tests/rules/test_odeint.py",
      si_odeint)


# ============================================================ added later (at the end: drawing
# their points moves no other sample's)
@sample(*unary(sym), (sym(4) * 30.0,))
def sp_log_expit(x):
    return sp.log_expit(x)


lacks("autograd.scipy.special has no log_expit", sp_log_expit)


@sample(*unary(sym))
def st_cdfs_standard(x):
    return st.t.cdf(x, 3.5) + st.gamma.cdf(x + 2.0, 2.5) + st.chi2.cdf(x + 2.0, 3.0) + \
        st.beta.cdf((x + 1.5) / 3.0, 2.5, 1.5)


@sample((sym(3), sym(3), pos(3)), (sym(2, 3), sym(3), pos()))
def st_cdfs(x, loc, scale):
    a = st.t.cdf(x, 3.5, loc, scale) + st.gamma.cdf(x + 3.0, 2.5, loc, scale=scale)
    return a + st.chi2.cdf(x + 3.0, 3.0, loc, scale) + \
        st.beta.cdf(x / 3.0 + 0.5, 2.5, 1.5, loc / 9.0, scale + 1.5)


@sample((sym(3), big(3)), (sym(4), big(4)))
def st_dirichlet_pdf(u, alpha):
    e = np.exp(u)                 # a softmax autograd has too: onto the simplex
    return st.dirichlet.pdf(e / np.sum(e, axis=0), alpha)


@sample((sym(3, 2), big(3)))
def st_dirichlet_pdf_columns(u, alpha):
    e = np.exp(u)
    return st.dirichlet.pdf(e / np.sum(e, axis=0), alpha)


lacks("autograd's dirichlet.pdf takes one point (x of one dimension)", st_dirichlet_pdf_columns)
lacks("autograd differentiates these cdfs only in x, at loc=0 and scale=1 (st_cdfs_standard "
      "is checked)", st_cdfs)


@sample((well_spd(3) + np.tril(sym(3, 3), -1), sym(3)), (well_spd(3), sym(3, 2)))
def sl_solve(a, b):
    """scipy.linalg.solve: general, transposed, and reading one triangle (assume_a)."""
    return sl.solve(a, b) + sl.solve(a, b * 2.0, transposed=True) + \
        sl.solve(a, b, assume_a="pos") + sl.solve(a, b, assume_a="sym", lower=True)


@sample((sym(3, 3), sym(3, 3)))
def helper_solve_matrix(a, g):
    """solve_matrix and its transpose unsolve_matrix, linear in their first argument."""
    return rs.solve_matrix(a * g, "pos", True) + rs.unsolve_matrix(g * a, "sym") + \
        rs.solve_matrix(a, None, False, True) * rs.unsolve_matrix(g, None, False, True)


lacks("autograd.scipy.linalg has no solve with assume_a or transposed", sl_solve)
lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_solve_matrix)


@sample((sym(3), pos(3)), (sym(2, 3), pos(2, 3)), (sym(2, 3), pos(3)))
def sp_logsumexp_scaled(x, b):
    """logsumexp with scale factors b (broadcast against x in the last case)."""
    return sp.logsumexp(x, b=b) + sp.logsumexp(x, axis=-1, b=b * 2.0, keepdims=True)
lacks("autograd's logsumexp does not differentiate b", sp_logsumexp_scaled)


@sample((pos(3),), (pos(2, 3),))
def sp_elementary(x):
    """expm1, log1p, cbrt, erfcx and dawsn (x in (0.5, 2), away from cbrt's 0)."""
    return sp.expm1(x) * sp.log1p(x) + sp.cbrt(x) + sp.erfcx(x) * sp.dawsn(x - 1.0)


lacks("autograd.scipy.special has no expm1, log1p, cbrt, erfcx or dawsn", sp_elementary)


@sample((pos(3), pos(3)), (pos(2, 3), pos(3)))
def sp_beta_family(a, b):
    """beta, multigammaln (its order a constant), gammasgn (constant) and betainc in x."""
    x = b / (1.0 + b)
    return sp.beta(a, b) + sp.multigammaln(a + 3.0, 3) * sp.gammasgn(a) + \
        sp.betainc(2.0, 1.5, x)


lacks("autograd's betainc is differentiated only in x and multigammaln wants a scalar d",
      sp_beta_family)


@sample((sym(3), sym(3), pos(3)), (sym(2, 3), sym(3), pos(3)))
def st_tails(x, loc, scale):
    """norm.logsf and t.logcdf in the point, loc and scale."""
    return st.norm.logsf(x, loc, scale) + st.t.logcdf(x, 3.5, loc, scale)


@sample((sym(3), well_spd(3)))
def st_mvn_entropy(mean, cov):
    """multivariate_normal.entropy: of cov's lower triangle, not of the mean."""
    return st.multivariate_normal.entropy(mean, cov) * np.sum(mean ** 2)


lacks("autograd's mvn entropy reads the whole cov, SciPy (and srcad) its lower triangle",
      st_mvn_entropy)


lacks("autograd has no VJP of t.logcdf in x",
      st_tails)


# scipy.stats computes in float64 whatever its inputs' dtype: the derivatives of the
# location-scale families keep float32 (poisson's integer k and the multivariate ones
# promote as NumPy does)
UPCASTS = {name: "scipy.stats" for name in (
    "st_norm_standard", "st_norm", "st_t", "st_gamma_standard", "st_norm_positional",
    "st_gamma", "st_beta", "st_beta_loc_scale", "st_chi2", "st_chi2_loc_scale",
    "st_cdfs_standard", "st_cdfs", "st_tails")}
