"""The runtime helpers that derivatives of SciPy functions call (see srcad/rules/scipy_*.py);
generated code imports them from here only when it uses them. Imports SciPy lazily."""
from __future__ import annotations

import numpy as np

__all__ = ["lead_axis"]


def lead_axis(a, x):
    """`a` (one entry per row of `x`) shaped to broadcast along `x`'s trailing axes:
    Dirichlet's parameters against points stacked as columns."""
    return np.reshape(a, np.shape(a) + (1,) * (np.ndim(x) - 1))


def _mvn_cov(cov, d):
    """The (d, d) covariance SciPy uses: a scalar or a diagonal widened, and only the lower
    triangle of a matrix read (as scipy.stats.multivariate_normal does)."""
    c = np.asarray(cov, dtype=float) if np.ndim(cov) < 2 else np.asarray(cov)
    if c.ndim == 0:
        return np.eye(d) * c
    if c.ndim == 1:
        return np.diag(np.broadcast_to(c, (d,)))
    return np.tril(c) + np.tril(c, -1).T


def mvn_solve(x, mean, cov):
    """cov^-1 (x - mean) for each point of `x` (points along the last axis)."""
    r = np.asarray(x) - (0.0 if mean is None else mean)
    c = _mvn_cov(cov, r.shape[-1])
    return np.linalg.solve(c, r[..., None])[..., 0]


def mvn_cov_vjp(g, x, mean, cov):
    """The adjoint of multivariate_normal.logpdf with respect to `cov`, in `cov`'s form: for
    a matrix, on the lower triangle SciPy reads (off-diagonal entries count twice)."""
    s = mvn_solve(x, mean, cov)
    d = s.shape[-1]
    w = np.broadcast_to(g, s.shape[:-1])
    s2 = np.reshape(s, (-1, d))
    w2 = np.reshape(w, (-1,))
    sym = 0.5 * ((s2.T * w2) @ s2 - np.sum(w2) * np.linalg.inv(_mvn_cov(cov, d)))
    if np.ndim(cov) == 0:
        return np.trace(sym)
    if np.ndim(cov) == 1:
        return np.diagonal(sym).copy()
    return 2.0 * np.tril(sym) - np.diag(np.diagonal(sym))


def mvn_cov_jvp(t, x, mean, cov):
    """The tangent of multivariate_normal.logpdf along `t`, a tangent of `cov`."""
    s = mvn_solve(x, mean, cov)
    d = s.shape[-1]
    ts = _mvn_cov(t, d)
    c = _mvn_cov(cov, d)
    return 0.5 * np.einsum("...i,ij,...j->...", s, ts, s) - 0.5 * np.trace(np.linalg.solve(c, ts))


__all__ += ["mvn_solve", "mvn_cov_vjp", "mvn_cov_jvp"]
