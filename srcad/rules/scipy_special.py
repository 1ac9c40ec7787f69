"""The handbook of scipy.special: f'(x) for each function, tangent and adjoint together.

Loaded on the first call srcad meets of a SciPy function (see `lookup`), never at
`import srcad`. Calls print as `scipy.special.name(...)`; generated code binds `scipy`
(and `srcad.source` imports scipy.special). Derivatives are written in SciPy's own
functions, each of which has a rule here, so second derivatives work; constants are
Python floats, so float32 stays float32 (polygamma, yn and the stats computing in float64
as their primal does).

Functions of an order or shape parameter are differentiated in their argument only:
polygamma(n, x), jn(n, x), yn(n, x), iv(v, z), ive(v, z), zeta(s, q) in x/z/q, and
gammainc(a, x), gammaincc(a, x) in x (their derivative in `a` has no closed form SciPy
computes): an active order raises UnsupportedSyntaxError at the user's line.
logsumexp takes axis, keepdims and b= (scale factors, differentiated too), not return_sign=
(refused as an unknown argument).

Conventions at non-differentiable points and domain edges (derivatives are what the
formula gives there, as the primal's own value is): logit' and entr' at 0 and 1 are
inf; erfinv', erfcinv', ndtri' at the ends of their domain are inf; digamma, gamma,
gammaln, rgamma at the poles (0, -1, ...) give inf or nan; xlogy(x, y) and xlog1py
differentiate x as log(y) (so -inf at y = 0) and y as x / y (nan at x = y = 0);
i0e'(0) and ive'(v, 0) take sign(0) = 0 (the average of the two one-sided slopes);
gammainc'(a, 0) is 0 for a > 1, 1 for a = 1 and inf for a < 1. Outside a domain the
derivative is nan where the primal is nan.
"""
import scipy
import scipy.linalg  # noqa: F401  (what generated code may call)
import scipy.special as sp
import scipy.stats  # noqa: F401

from .. import runtime_scipy
from . import ANY, LAZY_NAMES, PartialRule, add_lazy_names, deflinear, defpartials, defrule, \
    defunary, defvariant, lookup, refuse  # noqa: F401

LAZY_NAMES["scipy"] = (scipy, "import scipy.linalg\nimport scipy.special\nimport scipy.stats")
add_lazy_names(runtime_scipy)


S = "scipy.special"
# ------------------------------------------------------------ one argument: f'(x)
# in terms of the argument `x` and the result `out`
_UNARY = {
    "expit": "out * (1.0 - out)",
    "log_expit": f"{S}.expit(-x)",                        # 1 - expit(x), exact for x >> 0
    "logit": "1.0 / (x * (1.0 - x))",
    "gammaln": f"{S}.digamma(x)",
    "gamma": f"out * {S}.digamma(x)",
    "digamma": f"{S}.zeta(2.0, x)",                       # polygamma(1, x), float32 kept
    "rgamma": f"-(out * {S}.digamma(x))",
    "erf": "1.1283791670955126 * np.exp(-(x ** 2))",       # 2 / sqrt(pi)
    "erfc": "-1.1283791670955126 * np.exp(-(x ** 2))",
    "erfinv": "0.886226925452758 * np.exp(out ** 2)",      # sqrt(pi) / 2
    "erfcinv": "-0.886226925452758 * np.exp(out ** 2)",
    "ndtr": "0.3989422804014327 * np.exp(-0.5 * x ** 2)",  # 1 / sqrt(2 pi)
    "ndtri": "2.5066282746310002 * np.exp(0.5 * out ** 2)",
    "log_ndtr": "0.3989422804014327 * np.exp(-0.5 * x ** 2 - out)",
    "entr": "-(np.log(x) + 1.0)",
    "i0": f"{S}.i1(x)",
    "i1": f"0.5 * ({S}.i0(x) + {S}.iv(2.0, x))",
    "i0e": f"{S}.i1e(x) - np.sign(x) * out",
    "i1e": f"0.5 * ({S}.i0e(x) + {S}.ive(2.0, x)) - np.sign(x) * out",
    "j0": f"-{S}.j1(x)",
    "j1": f"0.5 * ({S}.j0(x) - {S}.jv(2.0, x))",
    "y0": f"-{S}.y1(x)",
    "y1": f"{S}.y0(x) - out / x",
    "expm1": "out + 1.0",
    "log1p": "1.0 / (1.0 + x)",
    "cbrt": "1.0 / (3.0 * out ** 2)",
    "erfcx": "2.0 * (x * out) - 1.1283791670955126",       # erfcx = exp(x^2) erfc(x)
    "dawsn": "1.0 - 2.0 * (x * out)",
}
defunary(sp, S, _UNARY)

# ------------------------------------------------------------ two arguments: df/dx, df/dy
defpartials(sp.betaln, "a, b", name=f"{S}.betaln",
            partials={"a": f"({S}.digamma(a) - {S}.digamma(a + b))",
                      "b": f"({S}.digamma(b) - {S}.digamma(a + b))"})
defpartials(sp.xlogy, "x, y", name=f"{S}.xlogy", partials={"x": "np.log(y)", "y": "(x / y)"})
defpartials(sp.xlog1py, "x, y", name=f"{S}.xlog1py",
            partials={"x": "np.log1p(y)", "y": "(x / (1.0 + y))"})

defpartials(sp.beta, "a, b", name=f"{S}.beta",
            partials={"a": f"(out * ({S}.digamma(a) - {S}.digamma(a + b)))",
                      "b": f"(out * ({S}.digamma(b) - {S}.digamma(a + b)))"})
# the sign of Gamma(x): piecewise constant
defrule(sp.gammasgn, "x", name=f"{S}.gammasgn", kind="elementwise", differentiable=False)
# multigammaln(a, d) = log Gamma_d(a): d/da = sum_j digamma(a - j / 2), j < d (mvdigamma)
refuse(defrule(sp.multigammaln, "a, d", name=f"{S}.multigammaln", kind=ANY,
               jvp={"a": "a_dot * mvpolygamma(0, a, d)"},
               vjp={"a": "unbroadcast(out_bar * mvpolygamma(0, a, d), a)"}), "d")
refuse(defrule(runtime_scipy.mvpolygamma, "n, a, d", name="mvpolygamma", kind=ANY,
               jvp={"a": "a_dot * mvpolygamma(n + 1, a, d)"},
               vjp={"a": "unbroadcast(out_bar * mvpolygamma(n + 1, a, d), a)"}), "n", "d")
# betainc(a, b, x) in x: x^(a-1) (1-x)^(b-1) / B(a, b)
refuse(defpartials(sp.betainc, "a, b, x", name=f"{S}.betainc",
                   partials={"x": f"(np.exp({S}.xlogy(a - 1.0, x) + {S}.xlog1py(b - 1.0, -x) - "
                                  f"{S}.betaln(a, b)))"}), "a", "b")

# ------------------------------------------------------------ in the argument, not the order
# d/dx gammainc(a, x) = x^(a-1) e^-x / Gamma(a); gammaincc = 1 - gammainc
_DENSITY = f"np.exp({S}.xlogy(a - 1.0, x) - x - {S}.gammaln(a))"
refuse(defpartials(sp.gammainc, "a, x", name=f"{S}.gammainc", partials={"x": f"({_DENSITY})"}),
       "a")
refuse(defpartials(sp.gammaincc, "a, x", name=f"{S}.gammaincc",
                   partials={"x": f"(-{_DENSITY})"}), "a")
# d/dq zeta(s, q) = -s zeta(s + 1, q); polygamma(n, x)' = polygamma(n + 1, x)
refuse(defpartials(sp.zeta, "s, q", name=f"{S}.zeta",
                   partials={"q": f"(-s * {S}.zeta(s + 1.0, q))"}), "s")
refuse(defrule(sp.polygamma, "n, x", name=f"{S}.polygamma",
               jvp={"x": f"x_dot * {S}.polygamma(n + 1, x)"},
               vjp={"x": f"unbroadcast(out_bar * {S}.polygamma(n + 1, x), x)"},
               array_of_numbers=True), "n")
# Bessel functions: J'_n = (J_{n-1} - J_{n+1}) / 2, Y alike, I'_v = (I_{v-1} + I_{v+1}) / 2;
# ive(v, z) = iv(v, z) exp(-|z|). sp.jn is sp.jv (any real order).
for _f, _name, _d in [
        (sp.jv, "jv", f"0.5 * ({S}.jv(n - 1.0, x) - {S}.jv(n + 1.0, x))"),
        (sp.yn, "yn", f"0.5 * ({S}.yn(n - 1, x) - {S}.yn(n + 1, x))"),
        (sp.iv, "iv", f"0.5 * ({S}.iv(n - 1.0, x) + {S}.iv(n + 1.0, x))"),
        (sp.ive, "ive", f"0.5 * ({S}.ive(n - 1.0, x) + {S}.ive(n + 1.0, x)) - np.sign(x) * out")]:
    refuse(defpartials(_f, "n, x", name=f"{S}.{_name}", partials={"x": f"({_d})"}), "n")

# ------------------------------------------------------------ along an axis
# logsumexp: d out / dx = exp(x - out) = softmax(x); softmax: out (dx - sum(out dx));
# log_softmax: dx - softmax(x) sum(dx)
defrule(sp.logsumexp, "x, axis=None, keepdims=False", name=f"{S}.logsumexp", kind="reduce",
        jvp="np.sum(x_dot * np.exp(x - keep_axes(out, x, axis, keepdims)), axis=axis, "
            "keepdims=keepdims)",
        # (shaped like x: of a float x, keepdims=True gives a result of shape (1,))
        vjp="unbroadcast(keep_axes(out_bar, x, axis, keepdims) * "
            "np.exp(x - keep_axes(out, x, axis, keepdims)), x)")
# with scale factors b: log sum b exp(x), d/dx = b exp(x - out), d/db = exp(x - out)
_LSE_W = "np.exp(x - keep_axes(out, x, axis, keepdims))"
_LSE_G = "keep_axes(out_bar, x, axis, keepdims)"
defvariant(lookup(sp.logsumexp), "x, axis=None, b=None, keepdims=False",
           jvp={"x": f"np.sum(x_dot * b * {_LSE_W}, axis=axis, keepdims=keepdims)",
                "b": f"np.sum(b_dot * {_LSE_W}, axis=axis, keepdims=keepdims)"},
           vjp={"x": f"unbroadcast({_LSE_G} * b * {_LSE_W}, x)",
                "b": f"unbroadcast({_LSE_G} * {_LSE_W}, b)"})
defrule(sp.softmax, "x, axis=None", name=f"{S}.softmax", kind="first",
        jvp="out * (x_dot - np.sum(out * x_dot, axis=axis, keepdims=True))",
        vjp="out * (out_bar - np.sum(out * out_bar, axis=axis, keepdims=True))")
defrule(sp.log_softmax, "x, axis=None", name=f"{S}.log_softmax", kind="first",
        jvp="x_dot - np.sum(np.exp(out) * x_dot, axis=axis, keepdims=True)",
        vjp="out_bar - np.exp(out) * np.sum(out_bar, axis=axis, keepdims=True)")

# ------------------------------------------------------------ the SciPy runtime's helpers
deflinear(runtime_scipy.lead_axis, "a, x", vjp="np.reshape(out_bar, np.shape(a))", zero_in="x")
deflinear(runtime_scipy.keep_axes, "g, x, axis=None, keepdims=False",
          vjp="np.reshape(unbroadcast(out_bar, np.shape(g)), np.shape(g))",
          zero_in="x, axis, keepdims")
