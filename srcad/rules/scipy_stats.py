"""The handbook of scipy.stats: the log-densities, densities and distribution functions
models use, differentiated in the point and in every parameter.

Keys are the distributions' bound methods (`scipy.stats.norm.logpdf`: a fresh bound method
on each attribute access, equal to and hashing as the others), so `st.norm.logpdf`,
`from scipy.stats import norm; norm.logpdf` and `scipy.stats.norm.logpdf` all find the
rule; frozen distributions (`norm(0, 1).logpdf`) have none and are refused. Location-scale
families are written in z = (x - loc) / scale: with h the standard log-density,
d/dx = h'(z) / scale, d/dloc = -h'(z) / scale, d/dscale = -(z h'(z) + 1) / scale; a pdf's
derivative is pdf times its log-density's. Parameters broadcast against x (adjoints are
summed back with `unbroadcast`); the rules are of kind ANY, not elementwise, because
parameters passed by keyword broadcast too.

Conventions and domain edges: outside a distribution's support (logpdf = -inf) and at
invalid parameters (nan) derivatives are what the formulas give (nan or inf), as the
primal's value is; gamma, beta, chi2 at the support's edge are inf or -inf. The cdfs of
t, gamma, beta and chi2 are differentiated in x, loc and scale only (an active shape
parameter is refused, as autograd has no derivative there either). poisson
is differentiated in mu only (k and loc are integers: an active one is refused), its
cdf as -pmf(floor(k), mu). multivariate_normal takes the points along x's last axis and
reads only cov's lower triangle, as SciPy does: its adjoint for a matrix cov lies on that
triangle (off-diagonal entries count twice) and its tangent reads the tangent's lower
triangle; cov may also be a scalar or a diagonal vector. dirichlet takes the components
along x's first axis, as SciPy does; its x-derivative is the formula's ((alpha - 1) / x),
though SciPy accepts only points on the simplex (differentiate through e.g. a softmax).
"""
import scipy.stats as st

from . import ANY, defpartials, defrule
from .scipy_special import refuse

Z = "((x - loc) / scale)"
SP = "scipy.special"


def deflocscale(dist, name: str, shapes: str, dz: str, dshapes: dict):
    """logpdf and pdf of the location-scale family `dist` whose standard log-density has
    derivative `dz` in z and `dshapes` in its shape parameters."""
    params = f"x, {shapes + ', ' if shapes else ''}loc=0.0, scale=1.0"
    partials = {"x": f"(({dz}) / scale)", "loc": f"(-({dz}) / scale)",
                "scale": f"(-({Z} * ({dz}) + 1.0) / scale)", **dshapes}
    defpartials(dist.logpdf, params, name=f"scipy.stats.{name}.logpdf", partials=partials,
                kind=ANY)
    args = f"x, {shapes + ', ' if shapes else ''}loc, scale"
    defpartials(dist.pdf, params, name=f"scipy.stats.{name}.pdf", kind=ANY,
                partials={p: f"(in_dtype_of(out, {args}) * {d})" for p, d in partials.items()})


deflocscale(st.norm, "norm", "", f"-{Z}", {})
deflocscale(st.t, "t", "df", f"-((df + 1.0) * {Z} / (df + {Z} ** 2))",
            {"df": f"(0.5 * ({SP}.digamma(0.5 * (df + 1.0)) - {SP}.digamma(0.5 * df)) - 0.5 / df"
                   f" - 0.5 * np.log1p({Z} ** 2 / df)"
                   f" + 0.5 * (df + 1.0) * {Z} ** 2 / (df * (df + {Z} ** 2)))"})
deflocscale(st.gamma, "gamma", "a", f"(a - 1.0) / {Z} - 1.0",
            {"a": f"(np.log({Z}) - {SP}.digamma(a))"})
deflocscale(st.beta, "beta", "a, b", f"(a - 1.0) / {Z} - (b - 1.0) / (1.0 - {Z})",
            {"a": f"(np.log({Z}) - {SP}.digamma(a) + {SP}.digamma(a + b))",
             "b": f"(np.log1p(-{Z}) - {SP}.digamma(b) + {SP}.digamma(a + b))"})
deflocscale(st.chi2, "chi2", "df", f"(0.5 * df - 1.0) / {Z} - 0.5",
            {"df": f"(0.5 * (np.log({Z}) - {SP}.digamma(0.5 * df)) - 0.34657359027997264)"})

# ------------------------------------------------------------ the normal's distribution functions
# with phi = norm.pdf(x, loc, scale) (the 1 / scale included), in the arguments' precision
# (SciPy computes in float64: a float32 x keeps float32 derivatives, as logpdf's are)
_PHI = "in_dtype_of(scipy.stats.norm.pdf(x, loc, scale), x, loc, scale)"
_RATIO = "in_dtype_of(np.exp(scipy.stats.norm.logpdf(x, loc, scale) - out), x, loc, scale)"
for _f, _name, _w in [(st.norm.cdf, "cdf", _PHI), (st.norm.sf, "sf", f"-{_PHI}"),
                      (st.norm.logcdf, "logcdf", _RATIO), (st.norm.logsf, "logsf", f"-{_RATIO}")]:
    defpartials(_f, "x, loc=0.0, scale=1.0", name=f"scipy.stats.norm.{_name}", kind=ANY,
                partials={"x": f"({_w})", "loc": f"(-({_w}))", "scale": f"(-({_w}) * {Z})"})

# ------------------------------------------------------------ other distribution functions
# t, gamma, beta, chi2 cdf in the point, loc and scale (d/dx = pdf, with the 1 / scale
# included); their shape parameters are refused, as autograd has no derivative in them
# (an incomplete beta or gamma function's derivative in its parameters has no closed form).
# The densities are written out in scipy.special (a scipy.stats pdf call makes ~10
# temporaries of x's size checking and placing its arguments: st_cdfs' adjoint held 4.6x
# its inputs and output); outside the support (z <= 0 for gamma and chi2, z outside (0, 1)
# for beta) the density is 0, as SciPy's
_DENSITY = {
    "t": f"np.exp({SP}.gammaln(0.5 * (df + 1.0)) - {SP}.gammaln(0.5 * df) - 0.5 * np.log(df * "
         f"np.pi) - 0.5 * (df + 1.0) * np.log1p({Z} ** 2 / df)) / scale",
    "gamma": f"np.where({Z} > 0.0, np.exp({SP}.xlogy(a - 1.0, {Z}) - {Z} - {SP}.gammaln(a)), "
             f"0.0) / scale",
    "beta": f"np.where(({Z} > 0.0) & ({Z} < 1.0), np.exp({SP}.xlogy(a - 1.0, {Z}) + "
            f"{SP}.xlog1py(b - 1.0, -{Z}) - {SP}.betaln(a, b)), 0.0) / scale",
    "chi2": f"np.where({Z} > 0.0, np.exp({SP}.xlogy(0.5 * df - 1.0, {Z}) - 0.5 * {Z} - "
            f"{SP}.gammaln(0.5 * df) - 0.34657359027997264 * df), 0.0) / scale",
}
for _dist, _name, _shapes in [(st.t, "t", "df"), (st.gamma, "gamma", "a"),
                              (st.beta, "beta", "a, b"), (st.chi2, "chi2", "df")]:
    _pdf = f"in_dtype_of({_DENSITY[_name]}, x, {_shapes}, loc, scale)"   # (gammaln(df) of a
    # float df is a float64 scalar, which NumPy does not take for a Python float)
    refuse(defpartials(_dist.cdf, f"x, {_shapes}, loc=0.0, scale=1.0",
                       name=f"scipy.stats.{_name}.cdf", kind=ANY,
                       partials={"x": f"({_pdf})", "loc": f"(-({_pdf}))",
                                 "scale": f"(-({_pdf}) * {Z})"}),
           *_shapes.split(", "))

# t.logcdf: pdf / cdf in the point, loc and scale
_W = f"in_dtype_of(({_DENSITY['t']}) * np.exp(-out), x, df, loc, scale)"
refuse(defpartials(st.t.logcdf, "x, df, loc=0.0, scale=1.0", name="scipy.stats.t.logcdf",
                   kind=ANY, partials={"x": f"({_W})", "loc": f"(-({_W}))",
                                       "scale": f"(-({_W}) * {Z})"}), "df")

# ------------------------------------------------------------ poisson, in mu
refuse(defpartials(st.poisson.logpmf, "k, mu, loc=0", name="scipy.stats.poisson.logpmf", kind=ANY,
                   partials={"mu": "(k / mu - 1.0)"}), "k", "loc")
refuse(defpartials(st.poisson.pmf, "k, mu, loc=0", name="scipy.stats.poisson.pmf", kind=ANY,
                   partials={"mu": "(out * (k / mu - 1.0))"}), "k", "loc")
refuse(defpartials(st.poisson.cdf, "k, mu, loc=0", name="scipy.stats.poisson.cdf", kind=ANY,
                   partials={"mu": "(-scipy.stats.poisson.pmf(np.floor(k), mu, loc))"}),
       "k", "loc")

# ------------------------------------------------------------ multivariate
# logpdf = -(d log 2 pi + log det cov + r^T cov^-1 r) / 2, r = x - mean; s = cov^-1 r
# entropy = (d log(2 pi e) + log det cov) / 2, the negated cov-derivative of the logpdf at
# x = mean (in cov's form: the lower triangle SciPy reads); the mean does not enter
defrule(st.multivariate_normal.entropy, "mean=None, cov=1",
        name="scipy.stats.multivariate_normal.entropy", kind=ANY,
        jvp={"cov": "-mvn_cov_jvp(cov_dot, mean, mean, cov)", "mean": "0.0 * out"},
        vjp={"cov": "-mvn_cov_vjp(out_bar, mean, mean, cov)",
             "mean": "np.zeros(np.shape(mean), dtype=np.result_type(mean, 1.0))"})
defrule(st.multivariate_normal.logpdf, "x, mean=None, cov=1, allow_singular=False",
        name="scipy.stats.multivariate_normal.logpdf", kind=ANY,
        jvp={"x": "np.reshape(-np.sum(x_dot * mvn_solve(x, mean, cov), axis=-1), np.shape(out))",
             "mean": "np.reshape(np.sum(mean_dot * mvn_solve(x, mean, cov), axis=-1), "
                     "np.shape(out))",
             "cov": "np.reshape(mvn_cov_jvp(cov_dot, x, mean, cov), np.shape(out))"},
        vjp={"x": "-(np.expand_dims(out_bar, -1) * mvn_solve(x, mean, cov))",
             "mean": "unbroadcast(np.expand_dims(out_bar, -1) * mvn_solve(x, mean, cov), mean)",
             "cov": "mvn_cov_vjp(out_bar, x, mean, cov)"})
defrule(st.multivariate_normal.pdf, "x, mean=None, cov=1, allow_singular=False",
        name="scipy.stats.multivariate_normal.pdf", kind=ANY,
        jvp={"x": "out * np.reshape(-np.sum(x_dot * mvn_solve(x, mean, cov), axis=-1), "
                  "np.shape(out))",
             "mean": "out * np.reshape(np.sum(mean_dot * mvn_solve(x, mean, cov), axis=-1), "
                     "np.shape(out))",
             "cov": "out * np.reshape(mvn_cov_jvp(cov_dot, x, mean, cov), np.shape(out))"},
        vjp={"x": "-(np.expand_dims(out_bar * out, -1) * mvn_solve(x, mean, cov))",
             "mean": "unbroadcast(np.expand_dims(out_bar * out, -1) * mvn_solve(x, mean, cov), "
                     "mean)",
             "cov": "mvn_cov_vjp(out_bar * out, x, mean, cov)"})
# dirichlet: logpdf = gammaln(sum alpha) - sum gammaln(alpha) + sum (alpha - 1) log x
# over x's first axis (one value per column of a 2-d x)
defrule(st.dirichlet.logpdf, "x, alpha", name="scipy.stats.dirichlet.logpdf", kind=ANY,
        jvp={"x": "np.sum(lead_axis(alpha - 1.0, x) * x_dot / x, axis=0)",
             "alpha": f"np.sum(alpha_dot * ({SP}.digamma(np.sum(alpha)) - {SP}.digamma(alpha)))"
                      " + np.dot(alpha_dot, np.log(x))"},
        vjp={"x": "lead_axis(alpha - 1.0, x) * out_bar / x",
             "alpha": f"np.sum(out_bar) * ({SP}.digamma(np.sum(alpha)) - {SP}.digamma(alpha))"
                      " + np.dot(np.log(x), out_bar)"})
defrule(st.dirichlet.pdf, "x, alpha", name="scipy.stats.dirichlet.pdf", kind=ANY,
        jvp={"x": "out * np.sum(lead_axis(alpha - 1.0, x) * x_dot / x, axis=0)",
             "alpha": f"out * (np.sum(alpha_dot * ({SP}.digamma(np.sum(alpha)) - "
                      f"{SP}.digamma(alpha))) + np.dot(alpha_dot, np.log(x)))"},
        vjp={"x": "lead_axis(alpha - 1.0, x) * (out_bar * out) / x",
             "alpha": f"np.sum(out_bar * out) * ({SP}.digamma(np.sum(alpha)) - "
                      f"{SP}.digamma(alpha)) + np.dot(np.log(x), out_bar * out)"})
