"""Functions of SciPy calls srcad differentiates in tests/rules/test_scipy_rules.py: sums for
second derivatives, Bayesian models whole, and calls srcad must refuse."""
import numpy as np
import scipy.linalg as sl
import scipy.special as sp
import scipy.stats as st
from scipy.special import gammaln, logsumexp

import fixtures_scipy as fx


def make_summed(f):
    """sum(f(x)): a scalar to take second derivatives of."""
    def summed(x):
        return np.sum(f(x))
    return summed


SUMMED = {f.__name__: make_summed(f) for f, _ in fx.SAMPLES}


def norm_params(x, loc, scale):
    return np.sum(st.norm.logpdf(x, loc, scale) * st.norm.cdf(x, loc, scale))


def t_params(x, df, scale):
    return np.sum(st.t.logpdf(x, df, 0.2, scale))


def gamma_params(x, a, scale):
    return np.sum(st.gamma.logpdf(x, a, scale=scale) + st.beta.logpdf(x / 3.0, a, 2.0))


PARAMS = {"norm_params": (np.array([0.3, -0.5, 1.1]), np.array(0.2), np.array([0.8, 1.2, 1.5])),
          "t_params": (np.array([0.3, -0.5, 1.1]), 3.5, 1.3),
          "gamma_params": (np.array([0.6, 1.5, 2.1]), 2.5, 1.2)}


def hessian_sample(x):
    return np.sum(gammaln(x) * sp.erf(x) + sp.expit(x) ** 2) + logsumexp(x * x) \
        + np.sum(st.norm.logpdf(x, 0.5, 2.0) * sp.i0(x))


def poisson_log_joint(w, log_sigma, X, y):
    """Poisson regression with a normal prior of unknown scale on the weights."""
    rate = X @ w
    loglik = np.sum(y * rate - np.exp(rate) - gammaln(y + 1.0))
    prior = np.sum(st.norm.logpdf(w, 0.0, np.exp(log_sigma)))
    hyper = st.norm.logpdf(log_sigma, 0.0, 1.0)
    return loglik + prior + hyper


def logistic_mixture_log_joint(W, logits, X, y):
    """A mixture of two logistic regressions: log p(y) = logsumexp over the components."""
    z = X @ W.T                                    # (n, 2)
    per = y[:, None] * np.log(sp.expit(z)) + (1.0 - y[:, None]) * np.log(sp.expit(-z))
    mix = sp.log_softmax(logits)
    return np.sum(logsumexp(per + mix, axis=1)) + np.sum(st.norm.logpdf(W, 0.0, 2.0)) \
        + np.sum(gammaln(np.exp(logits) + 1.0))


def gammainc_in_a(a, x):
    return sp.gammainc(a, x) * a


def logsumexp_weighted(x):
    return logsumexp(x, b=np.array([1.0, 2.0]))


def logsumexp_signed(x):
    return logsumexp(x, b=np.array([1.0, -2.0]), return_sign=True)[0]


# ------------------------------------------------------------ the same under autograd
def hessian_sample_autograd(x):
    import autograd.numpy as anp
    import autograd.scipy.special as asp
    import autograd.scipy.stats as ast
    return anp.sum(asp.gammaln(x) * asp.erf(x) + asp.expit(x) ** 2) + asp.logsumexp(x * x) \
        + anp.sum(ast.norm.logpdf(x, 0.5, 2.0) * asp.i0(x))


def logistic_mixture_autograd(W, logits, X, y):
    import autograd.numpy as anp
    import autograd.scipy.special as asp
    import autograd.scipy.stats as ast
    z = anp.dot(X, W.T)
    per = y[:, None] * anp.log(asp.expit(z)) + (1.0 - y[:, None]) * anp.log(asp.expit(-z))
    mix = logits - asp.logsumexp(logits)
    return anp.sum(asp.logsumexp(per + mix, axis=1)) + anp.sum(ast.norm.logpdf(W, 0.0, 2.0)) \
        + anp.sum(asp.gammaln(anp.exp(logits) + 1.0))


def cholesky_weighted(a, w):
    return np.sum(sl.cholesky(a, lower=True) * w)


def cholesky_weighted_autograd(a, w):
    import autograd.numpy as anp
    return anp.sum(anp.linalg.cholesky(a) * w)


def two_argument_functions(x):
    """betaln, xlogy, xlog1py and poisson in mu, for second derivatives."""
    return np.sum(sp.betaln(x, x[::-1] + 0.5) + sp.xlogy(x, x + 1.0) + sp.xlog1py(x, x * x)) \
        + np.sum(st.poisson.logpmf(np.array([0, 2, 3]), x) + st.chi2.logpdf(x + 1.0, x + 2.0))


def _log_total(a):
    return sp.logsumexp(a, axis=None, keepdims=True)


def lse_kept_of_float(a):
    # of a float, logsumexp(keepdims=True) is an array of shape (1,) (np.sum's is a float)
    return np.sum(np.sin(_log_total(a)) * a)


W3 = np.array([0.3, -1.2, 0.7])


def lu_linear_in_b(a, b):
    # linear in b: grad in b is two lu_solve_vjp_b calls, whose adjoints in the factor
    # (a tuple) the reverse pass added with `+`, concatenating (jacrev in a read the first)
    f = sl.lu_factor(a)
    return np.sum(sl.lu_solve(f, b) * W3) + np.sum(sl.lu_solve(f, b, trans=1) * W3[::-1])


def lu_squares(a, b):
    f = sl.lu_factor(a)
    return np.sum(sl.lu_solve(f, b) ** 2) + np.sum(sl.lu_solve(f, b, trans=1) ** 3 * b) \
        + np.sum(f[0] ** 3)


def cho_linear_in_b(a, b):
    c = sl.cho_factor(a)
    return np.sum(sl.cho_solve(c, b) * W3) + np.sum(sl.cho_solve(c, b * 2.0) * W3[::-1])
