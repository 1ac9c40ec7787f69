"""The runtime helpers that derivatives of SciPy functions call (see srcad/rules/scipy_*.py);
generated code imports them from here only when it uses them. srcad imports this module
only once SciPy is imported (rules.load_scipy); `scipy.linalg` and `scipy.signal` load on
first use. No helper imports inside its body: at second order srcad reads their source."""
from __future__ import annotations

import numpy as np
import scipy

__all__ = ["lead_axis", "keep_axes", "mvpolygamma"]


def keep_axes(g, x, axis=None, keepdims=False):
    """A reduction's result `g` with the reduced axes of `x` put back as length 1, so it
    broadcasts against `x` (without `unreduce`'s full-size view, slower to compute with)."""
    if keepdims or axis is None or np.ndim(x) == 0:
        return g
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return np.expand_dims(g, tuple(a % np.ndim(x) for a in axes))


def mvpolygamma(n, a, d):
    """sum_j polygamma(n, a - j / 2) for j < d: the (n+1)-th derivative of
    scipy.special.multigammaln(a, d)."""
    return sum(scipy.special.polygamma(n, a - 0.5 * j) for j in range(int(d)))


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


# ------------------------------------------------------------ scipy.linalg
def _mT(a):
    return np.swapaxes(a, -1, -2)


def _tri_mask(g, lower, unit=False):
    """`g` restricted to a triangle (without the diagonal when `unit`)."""
    return (np.tril(g, -1 if unit else 0) if lower else np.triu(g, 1 if unit else 0))


def _sym_from(t, lower):
    """The symmetric matrix a routine reading only one triangle of `t` sees."""
    tri = np.tril(t) if lower else np.triu(t)
    return tri + _mT(tri) - tri * np.eye(t.shape[-1], dtype=t.dtype)


def _on_triangle(sym, lower):
    """A symmetric gradient as the gradient of the one triangle read: off-diagonal twice."""
    return 2.0 * _tri_mask(sym, lower) - sym * np.eye(sym.shape[-1], dtype=sym.dtype)


def _phi(x):
    """The lower triangle of `x` with half its diagonal."""
    return np.tril(x) - 0.5 * x * np.eye(x.shape[-1], dtype=x.dtype)


def _lsolve(l, b, trans=False):
    """l^-1 b (l^-T b with `trans`) for lower triangular l, stacks too."""
    return scipy.linalg.solve_triangular(l, b, trans=1 if trans else 0, lower=True)


def sl_cholesky_jvp(t, out, lower):
    """The tangent of scipy.linalg.cholesky along `t` (its read triangle)."""
    l = out if lower else _mT(out)
    x = _lsolve(l, _mT(_lsolve(l, _sym_from(t, bool(lower)))))      # l^-1 t l^-T
    dl = l @ _phi(x)
    return dl if lower else _mT(dl)


def sl_cholesky_vjp(g, out, lower):
    """The adjoint of scipy.linalg.cholesky, on the triangle of `a` it reads."""
    l = out if lower else _mT(out)
    lbar = np.tril(g if lower else _mT(g))
    p = _phi(_mT(l) @ lbar)
    s = _lsolve(l, _mT(_lsolve(l, p, trans=True)), trans=True)        # l^-T p l^-1
    return _on_triangle(0.5 * (s + _mT(s)), bool(lower))


def _trans(trans) -> bool:
    return trans not in (0, "N", "n")


def tri_solve_vjp_b(g, a, trans=0, lower=False, unit_diagonal=False):
    """The adjoint of scipy.linalg.solve_triangular(a, b, ...) with respect to b."""
    return scipy.linalg.solve_triangular(a, g, trans=0 if _trans(trans) else 1, lower=lower,
                                         unit_diagonal=unit_diagonal)


def tri_solve_vjp_a(g, a, x, trans=0, lower=False, unit_diagonal=False):
    """The adjoint of x = solve_triangular(a, b, ...) with respect to a's read triangle."""
    bbar = tri_solve_vjp_b(g, a, trans, lower, unit_diagonal)
    x2, b2 = (x[..., None], bbar[..., None]) if np.ndim(x) == np.ndim(a) - 1 else (x, bbar)
    grad = -(x2 @ _mT(b2)) if _trans(trans) else -(b2 @ _mT(x2))
    return _tri_mask(grad, lower, unit_diagonal)


def tri_solve_jvp_a(t, a, x, trans=0, lower=False, unit_diagonal=False):
    """The tangent of x = solve_triangular(a, b, ...) along `t`, a tangent of a."""
    dt = _tri_mask(t, lower, unit_diagonal)
    dt = _mT(dt) if _trans(trans) else dt
    return -scipy.linalg.solve_triangular(a, dt @ x, trans=trans, lower=lower,
                                          unit_diagonal=unit_diagonal)


def _other(t, lower):
    """The strict triangle of `t` opposite the factor's: cho_factor copies a's entries there."""
    return np.triu(t, 1) if lower else np.tril(t, -1)


def cho_factor_jvp(t, c, lower):
    """The tangent of cho_factor's c: the factor's on its triangle, t's on the other."""
    f = np.tril(c) if lower else np.triu(c)
    return sl_cholesky_jvp(t, f, lower) + _other(t, lower)


def cho_factor_vjp(g, c, lower):
    """The adjoint of cho_factor's c with respect to a."""
    f = np.tril(c) if lower else np.triu(c)
    gf = np.tril(g) if lower else np.triu(g)
    return sl_cholesky_vjp(gf, f, lower) + _other(g, lower)


def cho_solve_vjp_c(g, c_and_lower, x):
    """The adjoint of x = cho_solve((c, lower), b) with respect to c (its factor's triangle)."""
    c, lower = c_and_lower
    bbar = scipy.linalg.cho_solve(c_and_lower, g)
    x2, b2 = (x[:, None], bbar[:, None]) if np.ndim(x) == 1 else (x, bbar)
    abar = -(b2 @ x2.T)
    s = abar + abar.T
    return np.tril(s @ np.tril(c)) if lower else np.triu(np.triu(c) @ s)


def cho_solve_jvp_c(t, c_and_lower, x):
    """The tangent of x = cho_solve((c, lower), b) along `t`, a tangent of c."""
    c, lower = c_and_lower
    if lower:
        f, df = np.tril(c), np.tril(t)
        da = df @ f.T + f @ df.T
    else:
        f, df = np.triu(c), np.triu(t)
        da = df.T @ f + f.T @ df
    return -scipy.linalg.cho_solve(c_and_lower, da @ x)


__all__ += ["cho_factor_jvp", "cho_factor_vjp", "cho_solve_vjp_c", "cho_solve_jvp_c"]
__all__ += ["sl_cholesky_jvp", "sl_cholesky_vjp", "tri_solve_vjp_b", "tri_solve_vjp_a",
            "tri_solve_jvp_a"]


# ------------------------------------------------------------ LU: p a = l u, lu = (l - 1) + u
def lu_perm(piv):
    """The row order `perm` with a[perm] = l @ u from lu_factor's pivots (row i swapped with
    row piv[i], in turn), and its inverse (x[perm][inv] = x): integers, no derivative."""
    perm = np.arange(len(piv))
    for i, p in enumerate(piv):
        perm[i], perm[p] = perm[p], perm[i]
    return perm, np.argsort(perm)


def _lu(lu, piv):
    """l (unit lower), u (upper), the row order `perm` with a[perm] = l @ u and its inverse
    (no item assignment: srcad reads these helpers at second order)."""
    n = lu.shape[-1]
    perm, inv = lu_perm(piv)
    return np.tril(lu, -1) + np.eye(n, dtype=lu.dtype), np.triu(lu), perm, inv


def _tsolve(t, b, lower, trans=False, unit=False):
    return scipy.linalg.solve_triangular(t, b, trans=1 if trans else 0, lower=lower,
                                         unit_diagonal=unit)


def lu_factor_jvp(t, lu, piv):
    """The tangent of lu_factor's lu along `t`: f = l^-1 p t u^-1, dl = l tril(f, -1),
    du = triu(f) u."""
    l, u, perm, _ = _lu(lu, piv)
    g = _tsolve(l, t[perm], lower=True, unit=True)
    f = _tsolve(u, g.T, lower=False, trans=True).T
    return l @ np.tril(f, -1) + np.triu(f) @ u


def lu_factor_vjp(g, lu, piv):
    """The adjoint of lu_factor's lu with respect to a."""
    l, u, _, inv = _lu(lu, piv)
    fbar = np.tril(l.T @ np.tril(g, -1), -1) + np.triu(np.triu(g) @ u.T)
    h = _tsolve(l, fbar, lower=True, trans=True, unit=True)
    return _tsolve(u, h.T, lower=False).T[inv]


def lu_solve_vjp_b(g, lu_and_piv, trans=0):
    """The adjoint of lu_solve((lu, piv), b, trans) with respect to b."""
    return scipy.linalg.lu_solve(lu_and_piv, g, trans=0 if _trans(trans) else 1)


def lu_solve_vjp_lu(g, lu_and_piv, x, trans=0):
    """The adjoint of x = lu_solve((lu, piv), b, trans) with respect to lu."""
    lu, piv = lu_and_piv
    l, u, perm, _ = _lu(lu, piv)
    bbar = lu_solve_vjp_b(g, lu_and_piv, trans)
    x2, b2 = (x[:, None], bbar[:, None]) if np.ndim(x) == 1 else (x, bbar)
    abar = -(x2 @ b2.T) if _trans(trans) else -(b2 @ x2.T)
    pa = abar[perm]
    return np.tril(pa @ u.T, -1) + np.triu(l.T @ pa)


def lu_solve_jvp_lu(t, lu_and_piv, x, trans=0):
    """The tangent of x = lu_solve((lu, piv), b, trans) along `t`, a tangent of lu."""
    lu, piv = lu_and_piv
    l, u, _, inv = _lu(lu, piv)
    da = (np.tril(t, -1) @ u + l @ np.triu(t))[inv]
    return -scipy.linalg.lu_solve(lu_and_piv, (da.T if _trans(trans) else da) @ x, trans=trans)


__all__ += ["lu_perm", "lu_factor_jvp", "lu_factor_vjp", "lu_solve_vjp_b", "lu_solve_vjp_lu",
            "lu_solve_jvp_lu"]


# ------------------------------------------------------------ banded: ab[u + i - j, j] = a[i, j]
def _band_transpose(ab, l, u):
    """The band storage of a^T (bandwidths (u, l)) from that of a."""
    n = ab.shape[-1]
    out = np.zeros_like(ab)
    for r in range(l + u + 1):
        s = r - u
        if s >= 0:
            out[l + u - r, s:] = ab[r, :n - s]
        else:
            out[l + u - r, :n + s] = ab[r, -s:]
    return out


def band_matmul(ab, x, l, u):
    """a @ x for the banded a stored in `ab` (x a vector or a matrix of columns)."""
    n = ab.shape[-1]
    x2 = x[:, None] if np.ndim(x) == 1 else x
    out = np.zeros(x2.shape, dtype=np.result_type(ab, x2))
    for r in range(l + u + 1):
        s = r - u                                     # i = j + s
        lo, hi = max(0, -s), min(n, n - s)            # the valid j
        out[lo + s:hi + s] += ab[r, lo:hi, None] * x2[lo:hi]
    return out[:, 0] if np.ndim(x) == 1 else out


def solve_banded_vjp_b(g, l_and_u, ab):
    """The adjoint of solve_banded((l, u), ab, b) with respect to b: a^-T g."""
    l, u = l_and_u
    return scipy.linalg.solve_banded((u, l), _band_transpose(ab, l, u), g)


def solve_banded_vjp_ab(g, l_and_u, ab, x):
    """The adjoint of x = solve_banded((l, u), ab, b) with respect to ab, on the band."""
    l, u = l_and_u
    n = ab.shape[-1]
    bbar = solve_banded_vjp_b(g, l_and_u, ab)
    x2, b2 = (x[:, None], bbar[:, None]) if np.ndim(x) == 1 else (x, bbar)
    out = np.zeros(ab.shape, dtype=np.result_type(ab, g))
    for r in range(l + u + 1):
        s = r - u
        lo, hi = max(0, -s), min(n, n - s)
        out[r, lo:hi] = -np.sum(b2[lo + s:hi + s] * x2[lo:hi], axis=-1)
    return out


def solve_banded_jvp_ab(t, l_and_u, ab, x):
    """The tangent of x = solve_banded((l, u), ab, b) along `t`, a tangent of ab."""
    l, u = l_and_u
    return -scipy.linalg.solve_banded(l_and_u, ab, band_matmul(t, x, l, u))


__all__ += ["solve_banded_vjp_b", "solve_banded_vjp_ab", "solve_banded_jvp_ab"]


# ------------------------------------------------------------ scipy.signal.convolve
def _conv_shapes(x, y, mode):
    """(full output shape, the mode's output shape, where it starts in the full one)."""
    sx, sy = np.shape(x), np.shape(y)
    full = tuple(a + b - 1 for a, b in zip(sx, sy))
    if mode == "full":
        out = full
    elif mode == "same":
        out = tuple(sx)
    else:
        out = tuple(abs(a - b) + 1 for a, b in zip(sx, sy))
    return full, out, tuple((f - o) // 2 for f, o in zip(full, out))


def _conv_embed(g, x, y, mode):
    """The adjoint `g` of convolve(x, y, mode) placed in the full convolution's shape (zeros
    where the mode cut the full result)."""
    full, out, start = _conv_shapes(x, y, mode)
    g = np.broadcast_to(g, out)
    if full == out:
        return g
    big = np.zeros(full, dtype=np.result_type(g, np.float16))
    big[tuple(slice(s, s + n) for s, n in zip(start, out))] = g
    return big


def _conv_valid_vjp(g, a, b):
    """The adjoint with respect to `a` of convolve(a, b, 'valid'), with no array of the full
    result's shape: g convolved in full with b flipped where a is the larger input, else b
    flipped convolved with g, valid (convolution commutes: either input may be `a`)."""
    g = np.broadcast_to(g, _conv_shapes(a, b, "valid")[1])
    if all(p >= q for p, q in zip(np.shape(a), np.shape(b))):
        return scipy.signal.convolve(g, np.flip(b), "full")
    return scipy.signal.convolve(np.flip(b), g, "valid")


def conv_vjp1(g, x, y, mode="full"):
    """The adjoint of scipy.signal.convolve(x, y, mode) with respect to x: the full
    adjoint correlated with y (bilinear in g and y; x gives only its shape)."""
    if mode == "valid":
        return _conv_valid_vjp(g, x, y)
    return scipy.signal.convolve(_conv_embed(g, x, y, mode), np.flip(y), "valid")


def conv_vjp2(g, x, y, mode="full"):
    """The adjoint of scipy.signal.convolve(x, y, mode) with respect to y (bilinear in g
    and x; y gives only its shape)."""
    if mode == "valid":
        return _conv_valid_vjp(g, y, x)
    return scipy.signal.convolve(_conv_embed(g, x, y, mode), np.flip(x), "valid")


__all__ += ["conv_vjp1", "conv_vjp2"]
def sylvester_adjoints(g, a, b, x):
    """Adjoints of x = solve_sylvester(a, b, q) (a x + x b = q) for (a, b, q): y, the solve of
    the transposed equation with g, once for all three: (-y x^T, -x^T y, y)."""
    y = scipy.linalg.solve_sylvester(a.T, b.T, g)
    return -(y @ x.T), -(x.T @ y), y


__all__ += ["sylvester_adjoints"]


def sqrtm_sylvester(s, q):
    """x with s x + x s = q (sqrtm's tangent and adjoint, s its result or that transposed)
    from one Schur form of s: solve_sylvester(s, s, q) computes two, of s and of s^T."""
    t, z = scipy.linalg.schur(s, output="complex" if np.iscomplexobj(s) else "real")
    f = np.conj(z.T) @ q @ z
    trsyl, = scipy.linalg.get_lapack_funcs(("trsyl",), (t, f))
    y, scale, info = trsyl(t, t, f)
    if info < 0:
        raise np.linalg.LinAlgError(f"trsyl: illegal value in argument {-info}")
    return z @ (y / scale) @ np.conj(z.T)


def sqrtm_sylvester_adjoints(g, s, x):
    """Adjoints of x = sqrtm_sylvester(s, q) for (s, q): y, the solve of the transposed
    equation with g, once for both: (-(y x^T + x^T y), y)."""
    y = sqrtm_sylvester(s.T, g)
    return -(y @ x.T + x.T @ y), y


__all__ += ["sqrtm_sylvester", "sqrtm_sylvester_adjoints"]


# ------------------------------------------------------------ scipy.linalg.solve
_SYMMETRIC = ("sym", "her", "pos", "symmetric", "hermitian", "positive definite")


def solve_matrix(a, assume_a=None, lower=False, transposed=False):
    """The matrix scipy.linalg.solve(a, b, lower, assume_a, transposed) solves with: a, its
    transpose, or (assume_a 'sym', 'her', 'pos') the symmetric matrix of the triangle it
    reads (the lower one with `lower`, else the upper)."""
    if assume_a in _SYMMETRIC:
        t = np.tril(a) if lower else np.triu(a)
        return t + np.swapaxes(t, -1, -2) - t * np.eye(np.shape(a)[-1], dtype=bool)
    return np.swapaxes(a, -1, -2) if transposed else a


def unsolve_matrix(g, assume_a=None, lower=False, transposed=False):
    """The transpose of solve_matrix: an adjoint of the matrix solved with, as one of a
    (on the triangle read, for a symmetric assume_a)."""
    if assume_a in _SYMMETRIC:
        s = g + np.swapaxes(g, -1, -2) - g * np.eye(np.shape(g)[-1], dtype=bool)
        return np.tril(s) if lower else np.triu(s)
    return np.swapaxes(g, -1, -2) if transposed else g


__all__ += ["solve_matrix", "unsolve_matrix"]
