"""gmm: the gradient of a Gaussian mixture's log posterior (Wishart prior on the precision
matrices) with respect to alpha, mu, q and l, vectorised over points and components as a
NumPy user writes it from the eval's specification."""
import math

import numpy as np
import srcad


def multigammaln(a, p):
    """log of the multivariate gamma function (a constant here: no derivative needed)."""
    return p * (p - 1) / 4 * math.log(math.pi) + sum(math.lgamma(a - j / 2) for j in range(p))


def lower_scatter(d):
    """S with (l @ S).reshape(d, d) the strictly lower triangular matrix whose entries,
    column by column, are l."""
    S = np.zeros((d * (d - 1) // 2, d * d))
    ii = 0
    for j in range(d):
        for i in range(j + 1, d):
            S[ii, i * d + j] = 1.0
            ii += 1
    return S


def logsumexp(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(a - m), axis=axis)) + np.squeeze(m, axis=axis)


def log_posterior(alpha, mu, q, l, x, S, m, gamma, const):
    n, d = x.shape
    k = mu.shape[0]
    Qdiags = np.exp(q)
    sum_qs = np.sum(q, axis=1)
    Ls = np.reshape(l @ S, (k, d, d))
    xc = mu[:, None, :] - x[None, :, :]              # (k, n, d): component, point, axis
    Lx = Qdiags[:, None, :] * xc + xc @ np.transpose(Ls, (0, 2, 1))
    inner = alpha + sum_qs - 0.5 * np.transpose(np.sum(Lx ** 2, axis=2))
    slse = np.sum(logsumexp(inner, 1))
    prior = np.sum(0.5 * gamma * gamma * (np.sum(Qdiags ** 2, axis=1) + np.sum(l ** 2, axis=1))
                   - m * sum_qs)
    return const + slse - n * logsumexp(alpha, 0) - prior


grad_ = srcad.grad(log_posterior, wrt=(0, 1, 2, 3))


def constant(n, d, k, m, gamma):
    nw = d + m + 1
    C = nw * d * math.log(gamma / math.sqrt(2))
    return -n * d * 0.5 * math.log(2 * math.pi) + k * (C - multigammaln(0.5 * nw, d))


def define():
    d, k, n = 2, 2, 3
    args = (np.ones(k), np.ones((k, d)), np.ones((k, d)), np.ones((k, 1)), np.ones((n, d)),
            lower_scatter(d), 0, 1.0, constant(n, d, k, 0, 1.0))
    grad_(*args)


def prepare(input):
    d, k, n = input["d"], input["k"], input["n"]
    m, gamma = input["m"], float(input["gamma"])
    arr = {name: np.asarray(input[name], dtype=np.float64) for name in ("alpha", "mu", "q", "l", "x")}
    return (arr["alpha"], arr["mu"], arr["q"], arr["l"].reshape(k, d * (d - 1) // 2), arr["x"],
            lower_scatter(d), m, gamma, constant(n, d, k, m, gamma))


def post_grad(g):
    return {name: part.tolist() for name, part in zip(("alpha", "mu", "q", "l"), g)}


FUNCTIONS = {
    "objective": (prepare, lambda a: log_posterior(*a), float),
    "jacobian": (prepare, lambda a: grad_(*a), post_grad),
}
