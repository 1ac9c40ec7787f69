"""The runtime helpers that derivatives of NumPy's array functions call (srcad/rules/arrays.py):
each undoes or weights one function. Most are written in NumPy calls that have rules, so
srcad reads them for second derivatives; derivatives keep the floating dtype of the values
they come from. Functions that only move entries (take, insert, delete, append, block, pad)
send each adjoint entry back through an index map: the function itself applied to the
entries' flat positions, so the map follows NumPy's own semantics exactly."""
from __future__ import annotations

import math

import numpy as np

from .runtime import Items, _weight_dtype, max_weight, norm_weight, svd_jvp, svd_vjp, \
    unbroadcast, unindex, unreduce, zeros_like

__all__ = ["undiff", "gradient_jvp", "ungradient", "kron_vjp_a", "kron_vjp_b", "cross_vjp",
           "conv_vjp_a", "conv_vjp_v", "interp_slope", "interp_vjp_fp", "interp_slope_vjp", "interp_zero",
           "unpolyder", "polyval_vjp_p", "average_weight", "average_jvp_w", "average_vjp_w",
           "quantile_jvp", "quantile_vjp", "ptp_weight", "ptp_vjp", "ptp_jvp", "sort_take", "unsort", "partition_take",
           "unpartition", "untake", "untake_along", "pad_linear", "unpad", "unblock", "reblock", "sinc_slope", "sinc_curvature",
           "meshgrid_jvp", "unmeshgrid", "uncolumn_stack", "unappend", "uninsert", "undelete",
           "unarray_split", "rot90_axes", "select_none", "unselect", "rollaxis_axes", "cross_axis", "angle_jvp",
           "angle_vjp", "imag_vjp", "where_weight", "reduce_axis", "logaddexp_weight",
           "r_items", "c_items", "concat_items_jvp", "unconcat_items",
           "mean_where_weight", "vander_powers", "bessel_i1", "bessel_i1_slope", "untolist",
           "nan_inv_count", "not_nan", "vector_norm_weight", "initial_dropped",
           "initial_zero_added", "ununstack", "cond_jvp", "cond_vjp", "multi_dot_jvp",
           "multi_dot_vjp", "cov_jvp", "cov_vjp", "corrcoef_jvp", "corrcoef_vjp",
           "nanmedian_weight", "tensorinv_jvp", "tensorinv_vjp", "tensorsolve_jvp",
           "tensorsolve_vjp_a", "tensorsolve_vjp_b", "unique_index", "unique_take", "ununique"]


def _zero(g) -> bool:
    """Whether `g` is the scalar 0.0 that stands for a zero adjoint of any shape."""
    return type(g) is float and g == 0.0


def _flat_ids(x):
    """The flat positions of `x`'s entries, shaped like `x` (an index map's input)."""
    return np.arange(np.size(x)).reshape(np.shape(x))


def _gather_back(g, ids, like):
    """The adjoint of a function that moved `like`'s entries to where `ids` (its index map,
    the function applied to `_flat_ids(like)`) says: `g`'s entries added back at their
    positions, repeats adding up."""
    flat = unindex(np.ravel(g), np.zeros(np.size(like), dtype=_weight_dtype(g)), np.ravel(ids))
    return np.reshape(flat, np.shape(like))


# ------------------------------------------------------------ differences
def _undiff1(g, axis):
    """Adjoint of one `np.diff(x, axis=axis)`: x_bar[j] = g[j-1] - g[j] (zero beyond g)."""
    g = np.moveaxis(np.asarray(g), axis, -1)
    m = g.shape[-1]
    out = np.zeros(g.shape[:-1] + (m + 1,), dtype=_weight_dtype(g))
    if m:
        out[..., 0] = -g[..., 0]
        np.subtract(g[..., :-1], g[..., 1:], out=out[..., 1:-1])
        out[..., -1] = g[..., -1]
    return np.moveaxis(out, -1, axis)


def undiff(g, x, n=1, axis=-1):
    """Adjoint of `np.diff(x, n, axis)`: the transposed difference, `n` times."""
    if _zero(g):
        return zeros_like(x)
    g = np.broadcast_to(g, np.shape(np.diff(np.zeros(np.shape(x), dtype=bool), n, axis)))
    for _ in range(n):
        g = _undiff1(g, axis)
    return g


def _gradient_check(f, spacing, axis):
    if np.ndim(spacing) != 0:
        raise NotImplementedError("srcad differentiates np.gradient with one scalar spacing "
                                  "only, not coordinate arrays")
    if np.ndim(f) > 1 and (axis is None or not isinstance(axis, (int, np.integer))):
        raise NotImplementedError("srcad differentiates np.gradient of one axis (a 1-d array, "
                                  "or axis= an int), which returns one array, not a list")


def gradient_jvp(t, f, spacing=1.0, axis=None, edge_order=1):
    """Tangent of `np.gradient(f, spacing, axis=axis, edge_order=edge_order)` (linear)."""
    _gradient_check(f, spacing, axis)
    return np.gradient(np.broadcast_to(t, np.shape(f)), spacing, axis=axis, edge_order=edge_order)


def ungradient(g, f, spacing=1.0, axis=None, edge_order=1):
    """Adjoint of `np.gradient(f, spacing, axis=axis, edge_order=edge_order)` for one axis:
    central differences inside, one-sided ones (of first or second order) at the ends."""
    _gradient_check(f, spacing, axis)
    if _zero(g):
        return zeros_like(f)
    ax = 0 if axis is None else axis
    g = np.moveaxis(np.broadcast_to(g, np.shape(f)), ax, 0) / spacing
    res = np.zeros(g.shape, dtype=_weight_dtype(g))
    mid = 0.5 * g[1:-1]
    res[2:] += mid
    res[:-2] -= mid
    if edge_order == 1:
        res[1] += g[0]
        res[0] -= g[0]
        res[-1] += g[-1]
        res[-2] -= g[-1]
    else:
        res[0] -= 1.5 * g[0]
        res[1] += 2.0 * g[0]
        res[2] -= 0.5 * g[0]
        res[-1] += 1.5 * g[-1]
        res[-2] -= 2.0 * g[-1]
        res[-3] += 0.5 * g[-1]
    return np.moveaxis(res, 0, ax)


# ------------------------------------------------------------ products
def _kron_parts(g, a, b):
    """`g`, the adjoint of `np.kron(a, b)`, with its axes split into interleaved (a, b)
    pairs; and a's and b's shapes padded to the same number of axes."""
    nd = max(np.ndim(a), np.ndim(b))
    sa = (1,) * (nd - np.ndim(a)) + np.shape(a)
    sb = (1,) * (nd - np.ndim(b)) + np.shape(b)
    g = np.broadcast_to(g, tuple(p * q for p, q in zip(sa, sb)))
    return np.reshape(g, [n for pair in zip(sa, sb) for n in pair]), sa, sb, nd


def kron_vjp_a(g, a, b):
    """Adjoint of `np.kron(a, b)` with respect to `a`: each block of `g` contracted with b."""
    g4, sa, sb, nd = _kron_parts(g, a, b)
    r = np.tensordot(g4, np.reshape(b, sb), axes=(list(range(1, 2 * nd, 2)), list(range(nd))))
    return np.reshape(r, np.shape(a))


def kron_vjp_b(g, a, b):
    """Adjoint of `np.kron(a, b)` with respect to `b`: the blocks of `g` weighted by a."""
    g4, sa, sb, nd = _kron_parts(g, a, b)
    r = np.tensordot(np.reshape(a, sa), g4, axes=(list(range(nd)), list(range(0, 2 * nd, 2))))
    return np.reshape(r, np.shape(b))


def cross_vjp(g, other, axis=None):
    """`np.cross(other, g, axis=axis)`: the adjoint of `np.cross(x, other)` with respect to
    x (of 3-vectors along `axis`, the last one for None; the adjoint for `other` is
    `-cross_vjp(g, x)`)."""
    if np.shape(other)[-1 if axis is None else axis] != 3:
        raise NotImplementedError("srcad differentiates np.cross of 3-vectors only")
    return np.cross(other, g, axis=axis)


def _conv_full(g, n, m, mode):
    """`g`, the adjoint of `np.convolve(a, v, mode)` for len(a) = n, len(v) = m, placed in
    the full convolution's n + m - 1 entries (zero where the mode cut them off)."""
    full = n + m - 1
    g = np.broadcast_to(g, (np.size(np.convolve(np.ones(n), np.ones(m), mode)),))
    if g.shape[0] == full:
        return g
    off = (full - g.shape[0]) // 2
    out = np.zeros(full, dtype=_weight_dtype(g))
    out[off:off + g.shape[0]] = g
    return out


def conv_vjp_a(g, a, v, mode="full"):
    """Adjoint of `np.convolve(a, v, mode)` with respect to `a`: a correlation of g with v."""
    return np.correlate(_conv_full(g, np.size(a), np.size(v), mode), v, "valid")


def conv_vjp_v(g, a, v, mode="full"):
    """Adjoint of `np.convolve(a, v, mode)` with respect to `v`: a correlation of g with a."""
    return np.correlate(_conv_full(g, np.size(a), np.size(v), mode), a, "valid")


# ------------------------------------------------------------ interpolation, polynomials
def _interp_plan(x, xp, fraction=True):
    """The segment of `xp` each `x` lies in (the right one at a knot, the last one at the
    end), the fraction of the way along it (when `fraction`), and whether x lies inside
    [xp[0], xp[-1]]. In place where it can: a few arrays of x's size, not ten."""
    x = np.asarray(x)
    if not x.ndim:                               # one point: 0-d arrays (in place works)
        i, j, t, inside = _interp_plan(np.reshape(x, (1,)), xp, fraction)
        return i[0], None if j is None else j[0], None if t is None else t.reshape(()), \
            inside.reshape(())
    n = np.shape(xp)[0]
    i = np.searchsorted(xp, x, "right")
    i -= 1
    np.clip(i, 0, max(n - 2, 0), out=i)
    j = None if n >= 2 else i                    # j is i + 1 then (made where it is read)
    inside = (x >= xp[0]) & (x <= xp[-1])
    if not fraction:
        return i, j, None, inside
    t = np.asarray(np.take(xp, i), dtype=np.result_type(x, xp, 1.0))
    np.subtract(x, t, out=t)                     # x - xp[i], one array
    if n >= 2:
        width = np.diff(xp)
        flat = width == 0
        width[flat] = 1.0
        t /= width[i]
        if flat.any():
            t[flat[i]] = 0.0
    else:
        t[...] = 0.0
    return i, j, t, inside


def interp_slope(x, xp, fp):
    """d np.interp(x, xp, fp)/dx: the slope of the segment x lies in (the right one at a
    knot, the last one at xp[-1]), 0 outside [xp[0], xp[-1]]."""
    if np.shape(xp)[0] >= 2:                     # each segment's slope, then x's segment's
        i, _, _, inside = _interp_plan(x, xp, fraction=False)
        width = np.diff(xp)
        width[width == 0] = 1.0
        slope = (np.diff(fp) / width).astype(_weight_dtype(x, fp), copy=False)[i]
        slope *= inside
        return slope
    i, _, _, inside = _interp_plan(x, xp, fraction=False)    # one knot: no slope
    return np.zeros(np.shape(i), dtype=_weight_dtype(x, fp)) * inside


def interp_zero(v):
    """The tangent of np.interp's `left`/`right` value as np.interp's own bound: None (the
    end value of fp, whose tangent follows fp's) stays None, a number becomes 0."""
    return None if v is None else 0.0


def interp_vjp_fp(g, x, xp, fp, left=None, right=None):
    """Adjoint of `np.interp(x, xp, fp, left, right)` with respect to `fp` (linear in fp):
    each g split between its segment's two ends, and the ends' values where x lies outside
    and no left/right value replaces them."""
    i, j, t, inside = _interp_plan(x, xp)
    g = np.broadcast_to(g, np.shape(t))
    n = np.shape(fp)[0]
    t = np.asarray(t, dtype=np.result_type(t, g))
    t *= inside                                  # in place: t becomes hi's weights
    t *= g
    if n >= 2:                                   # j is i + 1: its count, shifted by one
        res = np.zeros(n, dtype=np.result_type(t, np.float64))
        res[1:] = np.bincount(np.ravel(i), np.ravel(t), n - 1)
    else:
        res = np.bincount(np.ravel(j), np.ravel(t), n)
    np.negative(t, out=t)                        # lo's: (1 - t) g inside = g inside - hi's
    t += g
    t *= inside
    res += np.bincount(np.ravel(i), np.ravel(t), n)
    del t
    if left is None:
        res[0] += np.sum(g[np.asarray(x) < xp[0]])
    if right is None:
        res[-1] += np.sum(g[np.asarray(x) > xp[-1]])
    return res.astype(_weight_dtype(g, fp))


def interp_slope_vjp(g, x, xp, fp):
    """Adjoint of `interp_slope(x, xp, fp)` with respect to `fp` (linear in fp): g / width
    to the segment's right end, minus that to its left end."""
    i, j, _, inside = _interp_plan(x, xp, fraction=False)
    n = np.shape(fp)[0]
    if j is not None:                            # one knot: no slope
        return np.zeros(n, dtype=_weight_dtype(g, fp))
    width = np.diff(xp)
    width[width == 0] = 1.0
    w = np.ravel(np.where(inside, np.broadcast_to(g, np.shape(inside)), 0.0) / width[i])
    per = np.bincount(np.ravel(i), w, n - 1)     # at segment i's left end (-) and right (+)
    res = np.zeros(n, dtype=np.result_type(per, np.float64))
    res[1:] += per
    res[:-1] -= per
    return res.astype(_weight_dtype(g, fp))


def unpolyder(g, p, m=1):
    """Adjoint of `np.polyder(p, m)` (linear): the adjoint of each derivative's coefficient
    times the power it came down from, m times, zero for the constant terms."""
    n = np.shape(p)[0]
    res = np.zeros(n, dtype=_weight_dtype(g))
    res[:max(n - m, 0)] = g
    for k in range(m):
        res = res * np.append(np.arange(n - 1 - k, 0, -1.0), np.zeros(k + 1))
    return res


def polyval_vjp_p(g, p, x):
    """Adjoint of `np.polyval(p, x)` with respect to `p`: p_bar[k] = sum(g x^(n-1-k))."""
    n = np.shape(p)[0]
    acc = np.broadcast_to(g, np.shape(np.polyval(p, x)))
    parts = []
    for _ in range(n):
        parts.append(np.sum(acc))
        acc = acc * x
    return np.array(parts[::-1])


# ------------------------------------------------------------ averages and order statistics
def reduce_axis(x, axis):
    """`axis` of a reduction of `x`, as a tuple of non-negative axes (all for None)."""
    nd = np.ndim(x)
    if axis is None:
        return tuple(range(nd))
    return tuple((np.atleast_1d(axis) % max(nd, 1)).tolist())


def _weights_along(w, a, axis):
    """np.average's weights shaped to broadcast against `a` (a 1-d w runs along `axis`)."""
    if np.shape(w) == np.shape(a) or axis is None:
        return w
    k = reduce_axis(a, axis)[0]
    return np.reshape(w, (1,) * k + (-1,) + (1,) * (np.ndim(a) - 1 - k))


def average_weight(a, weights=None, axis=None):
    """d np.average(a, axis, weights)/da, broadcast against `a`: w / sum(w) along the axis
    (1 / N for no weights, as a Python float so float32 stays float32)."""
    if weights is None:
        n = np.size(a) // max(np.size(np.sum(np.zeros(np.shape(a)), axis=axis)), 1)
        return 1.0 / n
    w = _weights_along(weights, a, axis)
    return w / np.sum(w, axis=axis, keepdims=True)


def _keep(v, a, axis, keepdims):
    """A reduction's result `v` over `axis` of `a`, with the reduced axes kept as length 1."""
    if keepdims or np.ndim(a) == 0:
        return v
    return np.expand_dims(v, reduce_axis(a, axis))


def average_jvp_w(t, a, weights, out, axis=None, keepdims=False):
    """Tangent of `np.average(a, axis, weights)` along the weights' tangent `t`:
    sum(t (a - out)) / sum(w) along the axis."""
    w = _weights_along(weights, a, axis)
    tw = _weights_along(np.broadcast_to(t, np.shape(weights)), a, axis)
    num = np.sum(tw * (a - _keep(out, a, axis, keepdims)), axis=axis, keepdims=keepdims)
    return num / np.sum(np.broadcast_to(w, np.shape(a)), axis=axis, keepdims=keepdims)


def average_vjp_w(g, a, weights, out, axis=None, keepdims=False):
    """Adjoint of `np.average(a, axis, weights)` with respect to the weights:
    g (a - out) / sum(w), summed back to the weights' shape."""
    w = _weights_along(weights, a, axis)
    total = np.sum(np.broadcast_to(w, np.shape(a)), axis=axis, keepdims=True)
    gk = _keep(g, a, axis, keepdims)
    full = gk * (a - _keep(out, a, axis, keepdims)) / total
    if np.shape(weights) == np.shape(a) or axis is None:
        return unbroadcast(full, weights)
    k = reduce_axis(a, axis)[0]
    return np.sum(full, axis=tuple(np.delete(np.arange(np.ndim(a)), k).tolist()))


def _quantile_plan(a, q, axis):
    """np.quantile's (method 'linear') reduced axes moved last and merged: for each q the
    positions (along that merged axis) of its two neighbouring order statistics, and the
    weight of the upper one. The positions come from one np.argpartition (linear time, no
    sorted order of a's size kept) unless an order statistic is tied, where a stable
    sort's first entry takes it (the convention)."""
    a = np.asarray(a)
    axes = reduce_axis(a, axis)
    rest = [d for d in range(a.ndim) if d not in axes]
    moved = np.transpose(a, rest + list(axes))
    moved = np.reshape(moved, moved.shape[:len(rest)] + (-1,))
    n = moved.shape[-1]
    v = np.ravel(np.asarray(q, dtype=np.float64)) * (n - 1)
    lo = np.clip(np.floor(v).astype(np.intp), 0, n - 1)
    hi = np.minimum(lo + 1, n - 1)
    frac = (v - lo).astype(_weight_dtype(a))
    kth = np.unique(np.concatenate([lo, hi]))
    order = np.argpartition(moved, kth, axis=-1) if n else np.zeros(moved.shape, np.intp)
    pos_lo, pos_hi = order[..., lo], order[..., hi]
    del order
    tied = False
    for pos in (pos_lo, pos_hi):
        for k in range(pos.shape[-1]):
            val = np.take_along_axis(moved, pos[..., k:k + 1], -1)
            if np.any(np.count_nonzero(moved == val, axis=-1) > 1) or np.isnan(val).any():
                tied = True
                break
        if tied:
            break
    if tied:
        order = np.argsort(moved, axis=-1, kind="stable")
        pos_lo, pos_hi = order[..., lo], order[..., hi]
    return axes, rest, moved.shape, pos_lo, pos_hi, frac


def _quantile_method(method):
    if method != "linear":
        raise NotImplementedError(f"srcad differentiates quantiles with method='linear' only, "
                                  f"not {method!r}")


def quantile_jvp(t, a, q, axis=None, keepdims=False, method="linear"):
    """Tangent of `np.quantile(a, q, axis, method='linear', keepdims=keepdims)`: the
    tangents of the two order statistics each q lies between, weighted as they are."""
    _quantile_method(method)
    axes, rest, shape, pos_lo, pos_hi, frac = _quantile_plan(a, q, axis)
    a = np.asarray(a)
    moved = np.reshape(np.transpose(np.broadcast_to(t, a.shape), rest + list(axes)), shape)
    res = np.take_along_axis(moved, pos_lo, -1) * (1.0 - frac) + \
        np.take_along_axis(moved, pos_hi, -1) * frac          # rest + q's entries
    res = np.reshape(res, res.shape[:-1] + np.shape(q))
    nq, nr = np.ndim(q), len(rest)
    res = np.moveaxis(res, list(range(nr, nr + nq)), list(range(nq)))
    if keepdims:
        res = np.expand_dims(res, tuple(nq + d for d in axes))
    return res


def quantile_vjp(g, a, q, axis=None, keepdims=False, method="linear"):
    """Adjoint of `np.quantile(a, q, axis, method='linear', keepdims=keepdims)`: each g
    split between its two order statistics, sent back to where they sit in `a` (ties: the
    entry a stable sort puts first)."""
    _quantile_method(method)
    axes, rest, shape, pos_lo, pos_hi, frac = _quantile_plan(a, q, axis)
    a = np.asarray(a)
    nq, nr = np.ndim(q), len(rest)
    out_shape = np.shape(q) + tuple(a.shape[d] for d in rest)
    if keepdims:
        g = np.reshape(np.broadcast_to(g, np.shape(q) + tuple(
            1 if d in axes else a.shape[d] for d in range(a.ndim))), out_shape)
    g = np.broadcast_to(g, out_shape)
    g = np.reshape(np.moveaxis(g, list(range(nq)), list(range(nr, nr + nq))),
                   shape[:-1] + (-1,))
    res = np.zeros(shape, dtype=_weight_dtype(g, a))
    for k in range(frac.shape[0]):
        for pos, w in ((pos_lo[..., k:k + 1], 1.0 - frac[k]), (pos_hi[..., k:k + 1], frac[k])):
            np.put_along_axis(res, pos, np.take_along_axis(res, pos, -1) + g[..., k:k + 1] * w,
                              -1)
    perm = rest + list(axes)
    res = np.reshape(res, tuple(a.shape[d] for d in perm))
    return np.transpose(res, np.argsort(perm))


def _sort_order(a, axis):
    return np.argsort(np.ravel(a) if axis is None else a, axis=-1 if axis is None else axis,
                      kind="stable")


def sort_take(t, a, axis=-1):
    """Tangent of `np.sort(a, axis)` (linear in t): t in a's sorted order."""
    t = np.broadcast_to(t, np.shape(a))
    if axis is None:
        return np.ravel(t)[_sort_order(a, None)]
    return np.take_along_axis(t, _sort_order(a, axis), axis)


def unsort(g, a, axis=-1):
    """Adjoint of `np.sort(a, axis)`: g put back where each sorted entry came from (ties
    in a stable sort's order)."""
    if _zero(g):
        return zeros_like(a)
    order = _sort_order(a, axis)
    res = np.empty(np.shape(order), dtype=_weight_dtype(g, a))
    np.put_along_axis(res, order, np.broadcast_to(g, np.shape(order)), -1 if axis is None else axis)
    return np.reshape(res, np.shape(a))


def _partition_order(a, kth, axis):
    """Where each entry of `np.partition(a, kth, axis)` comes from in `a`."""
    flat = np.ravel(a) if axis is None else np.asarray(a)
    ax = -1 if axis is None else axis
    order = np.argpartition(flat, kth, axis=ax)
    part = np.partition(flat, kth, axis=ax)
    if not np.array_equal(np.take_along_axis(flat, order, ax), part):
        # argpartition's arrangement differs (beyond ~1000 entries NumPy partitions floats
        # by another algorithm): match the entries by value, the i-th smallest of `part`
        # coming from the i-th smallest of `a`; a quicksort's order unless there are ties
        # (then a stable sort's, the convention; a stable argsort costs 7x a quicksort).
        # At most three arrays of a's size live at once (argpartition's order is dropped and
        # made again at the end). Ties are seen in part arranged by its own quicksort's order
        # (a take, not a second sort), which is then redone stable only where there are ties
        del order
        dst = np.argsort(part, axis=ax)
        ordered = np.moveaxis(np.take_along_axis(part, dst, ax), ax, -1)
        kind = "stable" if np.any(ordered[..., 1:] == ordered[..., :-1]) else None
        del ordered
        if kind is not None:
            del dst
            dst = np.argsort(part, axis=ax, kind=kind)
        del part
        order = np.empty_like(dst)
        np.put_along_axis(order, dst, np.argsort(flat, axis=ax, kind=kind), ax)
    return order, ax


def partition_take(t, a, kth, axis=-1):
    """Tangent of `np.partition(a, kth, axis)` (linear in t)."""
    order, ax = _partition_order(a, kth, axis)
    t = np.broadcast_to(t, np.shape(a))
    return np.take_along_axis(np.ravel(t) if axis is None else t, order, ax)


def unpartition(g, a, kth, axis=-1):
    """Adjoint of `np.partition(a, kth, axis)`: g put back where each entry came from."""
    if _zero(g):
        return zeros_like(a)
    order, ax = _partition_order(a, kth, axis)
    res = np.empty(np.shape(order), dtype=_weight_dtype(g, a))
    np.put_along_axis(res, order, np.broadcast_to(g, np.shape(order)), ax)
    return np.reshape(res, np.shape(a))


def ptp_weight(x, axis=None, keepdims=False):
    """d np.ptp(x, axis, keepdims) / dx: max's weights less min's (ties split), made in
    place (one array of x's size, not three)."""
    if type(x) is np.ndarray and x.dtype.kind == "f" and x.ndim:
        hi = np.max(x, axis=axis, keepdims=True)
        lo = np.min(x, axis=axis, keepdims=True)
        hit_hi, hit_lo = x == hi, x == lo
        if np.count_nonzero(hit_hi) == hi.size == np.count_nonzero(hit_lo) and \
                not np.isnan(hi).any():          # no ties: the hits themselves
            w = hit_hi.astype(x.dtype)
            np.subtract(w, hit_lo, out=w)
            return w
        del hit_hi, hit_lo
    w = max_weight(x, np.max(x, axis=axis, keepdims=keepdims), axis, keepdims)
    lo = max_weight(x, np.min(x, axis=axis, keepdims=keepdims), axis, keepdims)
    if type(w) is np.ndarray and w.flags.writeable and np.shape(lo) == w.shape and \
            np.result_type(w, lo) == w.dtype:
        w -= lo
        return w
    return w - lo


def ptp_vjp(g, x, axis=None, keepdims=False):
    """Adjoint of `np.ptp(x, axis, keepdims)`: g spread back, times ptp_weight (in place)."""
    w = ptp_weight(x, axis, keepdims)
    g = unreduce(g, x, axis, keepdims)
    if type(w) is np.ndarray and np.result_type(w, g) == w.dtype and \
            np.broadcast_shapes(np.shape(g), w.shape) == w.shape:
        w *= g
        return w
    return w * g


def ptp_jvp(t, x, axis=None, keepdims=False):
    """Tangent of `np.ptp(x, axis, keepdims)` along t (ptp_weight times t, in place)."""
    w = ptp_weight(x, axis, keepdims)
    if type(w) is np.ndarray and np.result_type(w, t) == w.dtype and \
            np.broadcast_shapes(np.shape(t), w.shape) == w.shape:
        w *= t
        return np.sum(w, axis=axis, keepdims=keepdims)
    return np.sum(w * t, axis=axis, keepdims=keepdims)


# ------------------------------------------------------------ moving entries
def untake(g, a, indices, axis=None):
    """Adjoint of `np.take(a, indices, axis)`: g added back at the taken entries (an index
    of a, not the taken entries of an id map of a's size)."""
    a = np.asarray(a)
    if _zero(g):
        return zeros_like(a)
    if axis is None:
        return np.reshape(unindex(g, np.ravel(a), np.asarray(indices)), a.shape)
    ax = axis % a.ndim
    return unindex(g, a, (slice(None),) * ax + (np.asarray(indices),))


def untake_along(g, arr, indices, axis=-1):
    """Adjoint of `np.take_along_axis(arr, indices, axis)`."""
    return _gather_back(g, np.take_along_axis(_flat_ids(arr) if axis is not None else
                                              np.arange(np.size(arr)), indices, axis), arr)


_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _pad_check(mode):
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"srcad differentiates np.pad with mode in "
                                  f"{', '.join(_PAD_MODES)}, not {mode!r}")


def pad_linear(t, pad_width, mode="constant"):
    """Tangent of `np.pad(x, pad_width, mode)` along `t` for the modes that copy entries
    (a constant pad's tangent is 0 there)."""
    _pad_check(mode)
    return np.pad(t, pad_width, mode)


def unpad(g, x, pad_width, mode="constant"):
    """Adjoint of `np.pad(x, pad_width, mode)`: the middle of g for a constant pad, else
    every copy of an entry added back to it."""
    _pad_check(mode)
    if _zero(g):
        return zeros_like(x)
    if mode == "constant":
        pw = np.broadcast_to(np.asarray(pad_width), (np.ndim(x), 2))
        return g[tuple(slice(int(b), int(b) + n) for (b, _), n in zip(pw, np.shape(x)))]
    return _gather_back(g, np.pad(_flat_ids(x), pad_width, mode), x)


def _nested_ids(arrays, start):
    """`arrays` (nested lists) with each array replaced by the flat positions its entries
    take in one numbering, from `start`; and the next free position."""
    if isinstance(arrays, (list, tuple)):
        out = []
        for a in arrays:
            ids, start = _nested_ids(a, start)
            out.append(ids)
        return out, start
    n = np.size(arrays)
    return np.arange(start, start + n).reshape(np.shape(arrays)), start + n


def _nested_pieces(flat, arrays, start):
    if isinstance(arrays, (list, tuple)):
        out = Items()
        for a in arrays:
            piece, start = _nested_pieces(flat, a, start)
            out.append(piece)
        return out, start
    n = np.size(arrays)
    return np.reshape(flat[start:start + n], np.shape(arrays)), start + n


def unblock(g, arrays):
    """Adjoint of `np.block(arrays)`: the pieces of g shaped and nested like `arrays`."""
    ids, total = _nested_ids(arrays, 0)
    flat = np.zeros(total, dtype=_weight_dtype(g))
    flat[np.ravel(np.block(ids))] = np.ravel(np.broadcast_to(g, np.shape(np.block(ids))))
    return _nested_pieces(flat, arrays, 0)[0]


def reblock(gs, arrays):
    """`np.block` of the adjoints `gs`, nested like `arrays` (a zero adjoint, 0.0, stands for
    zeros of its piece's shape): unblock's transpose, which its derivatives call."""
    def fill(g, a):
        if isinstance(a, (list, tuple)):
            return [fill(0.0 if _zero(g) else gk, ak) for gk, ak in
                    zip([g] * len(a) if _zero(g) else g, a)]
        return np.broadcast_to(g, np.shape(a))
    return np.block(fill(gs, arrays))


def _mesh_axis(k, n, indexing):
    """The output axis along which np.meshgrid's k-th of n inputs runs."""
    if indexing == "xy" and n >= 2 and k < 2:
        return 1 - k
    return k


def meshgrid_jvp(k, t, *args):
    """The tangent of `np.meshgrid(*xs, indexing=..., sparse=...)` along `t`, the tangent of
    input k: its grid at output k, zeros at the others (args are the inputs, None for absent
    ones, then indexing and sparse)."""
    *xs, indexing, sparse = args
    xs = [x for x in xs if x is not None]
    outs = np.meshgrid(*xs, indexing=indexing, sparse=sparse)
    grid = np.meshgrid(*[t if i == k else np.zeros(1) for i, x in enumerate(xs)],
                       indexing=indexing, sparse=True)[k]
    return Items(np.array(np.broadcast_to(grid, np.shape(o)), dtype=_weight_dtype(t)) if i == k
                 else np.zeros(np.shape(o), dtype=_weight_dtype(t)) for i, o in enumerate(outs))


def unmeshgrid(gs, k, x, n, indexing="xy"):
    """Adjoint of `np.meshgrid`'s k-th input `x` (of n inputs): output k's adjoint summed
    over every axis but the one x runs along."""
    g = gs[k]
    if _zero(g):
        return zeros_like(x)
    ax = _mesh_axis(k, n, indexing)
    rest = tuple(np.delete(np.arange(np.ndim(g)), ax).tolist())
    return np.reshape(np.sum(g, axis=rest), np.shape(x))


def uncolumn_stack(g, xs):
    """Adjoint of `np.column_stack(xs)`: g cut back into columns shaped like `xs`."""
    if _zero(g):
        return Items(zeros_like(x) for x in xs)
    sizes = [1 if np.ndim(x) < 2 else np.shape(x)[1] for x in xs]
    return Items(np.reshape(p, np.shape(x))
                 for p, x in zip(np.split(g, np.cumsum(sizes)[:-1], axis=1), xs))


def unappend(g, arr, values, axis=None):
    """Adjoints of `np.append(arr, values, axis)` for (arr, values): g cut in two along
    axis (flat for axis None; views of g, as np.append concatenates without broadcasting),
    not the entries' ids of g's size that np.insert's adjoint matches."""
    n = np.shape(arr)[axis] if axis is not None and np.ndim(arr) else np.size(arr)
    if _zero(g):
        return zeros_like(arr), zeros_like(values)
    shape = np.shape(np.append(np.empty(np.shape(arr), dtype=bool),
                               np.empty(np.shape(values), dtype=bool), axis))
    g = np.broadcast_to(g, shape)
    if axis is None:
        g = np.ravel(g)
        return np.reshape(g[:n], np.shape(arr)), np.reshape(g[n:], np.shape(values))
    ax = axis % g.ndim
    head = (slice(None),) * ax
    return g[head + (slice(None, n),)], g[head + (slice(n, None),)]


def uninsert(g, arr, obj, values, axis=None):
    """Adjoints of `np.insert(arr, obj, values, axis)` for (arr, values): the entries of g
    that came from arr, and those that came from values (added up where they broadcast)."""
    ids = np.insert(_flat_ids(arr), obj, -1 - _flat_ids(values), axis)
    return _split_back(g, ids, arr, values)


def _split_back(g, ids, arr, values):
    """The adjoints of a function that moved `arr`'s entries to where `ids` holds their flat
    positions and `values`' entries to where it holds -1 - their positions."""
    g = np.ravel(np.broadcast_to(g, np.shape(ids)))
    ids = np.ravel(ids)
    mine = ids >= 0
    a = np.reshape(unindex(g[mine], np.zeros(np.size(arr), dtype=g.dtype), ids[mine]),
                   np.shape(arr))
    v = np.reshape(unindex(g[~mine], np.zeros(np.size(values), dtype=g.dtype), -1 - ids[~mine]),
                   np.shape(values))
    return a, v


def undelete(g, arr, obj, axis=None):
    """Adjoint of `np.delete(arr, obj, axis)`: g at the entries kept, zero at the deleted."""
    return _gather_back(g, np.delete(_flat_ids(arr), obj, axis), arr)


def unarray_split(gs, x, indices_or_sections, axis=0):
    """Adjoint of `np.array_split(x, indices_or_sections, axis)`: the pieces' adjoints
    joined (a piece with a zero adjoint may come as a scalar 0)."""
    pieces = np.array_split(np.asarray(x), indices_or_sections, axis)
    return np.concatenate([np.broadcast_to(g, p.shape) for g, p in zip(gs, pieces)], axis)


def _concat(xs, ndmin):
    """np.r_ (ndmin 1: axis 0) or np.c_ (ndmin 2: the last axis, 1-d items as columns) of
    the items `xs`."""
    return (np.r_ if ndmin == 1 else np.c_)[tuple(xs)]


def r_items(xs):
    """`np.r_[a, b, 0:3]` as `r_items([a, b, slice(0, 3)])`."""
    return np.r_[tuple(xs)]


def c_items(xs):
    """`np.c_[a, b]` as `c_items([a, b])`."""
    return np.c_[tuple(xs)]


def _concat_sizes(xs, ndmin):
    return [np.shape(_concat([x], ndmin))[0 if ndmin == 1 else -1] for x in xs]


def concat_items_jvp(ts, xs, ndmin=1):
    """Tangent of np.r_/np.c_ of the items `xs` (ndmin 1 or 2), of their tangents `ts`
    (a slice's range is a constant)."""
    dt = _weight_dtype(*[t for t, x in zip(ts, xs) if not isinstance(x, slice)])
    ts = [np.zeros(np.shape(_concat([x], ndmin)), dtype=dt) if isinstance(x, slice)
          else np.broadcast_to(t, np.shape(x)) for t, x in zip(ts, xs)]
    return _concat(ts, ndmin)


def unconcat_items(g, xs, ndmin=1):
    """Adjoint of np.r_/np.c_ of the items `xs`: g cut into the items' pieces, each shaped
    like its item (0.0 for a slice's range)."""
    if _zero(g):
        return Items(0.0 if isinstance(x, slice) else zeros_like(x) for x in xs)
    pieces = np.split(g, np.cumsum(_concat_sizes(xs, ndmin))[:-1], axis=0 if ndmin == 1 else -1)
    return Items(0.0 if isinstance(x, slice) else np.reshape(p, np.shape(x))
                 for p, x in zip(pieces, xs))


def mean_where_weight(where, x, axis=None):
    """d np.mean(x, axis, where=where)/dx: the mask over its count along the axis."""
    w = np.broadcast_to(np.asarray(where, dtype=_weight_dtype(x)), np.shape(x))
    return w / np.sum(w, axis=axis, keepdims=True)


# ------------------------------------------------------------ selections
def vander_powers(x, N=None, increasing=False, less=0):
    """The powers of np.vander(x, N, increasing)'s columns, less `less` and at least 0
    (the rule's slope is `p * x ** max(p - 1, 0)`: 0, not nan, for the power 0 at x = 0)."""
    p = np.arange(len(x) if N is None else N)
    return np.maximum((p if increasing else p[::-1]) - less, 0)


def select_none(condlist):
    """Where no condition of np.select's `condlist` holds (the default's entries)."""
    hit = np.zeros((), dtype=bool)
    for c in condlist:
        hit = hit | np.asarray(c, dtype=bool)
    return ~hit


def unselect(g, condlist, choicelist):
    """Adjoints of np.select's choices: g where the choice's condition is the first to hold,
    summed back to each choice's shape."""
    taken = np.zeros((), dtype=bool)
    out = Items()
    for c, x in zip(condlist, choicelist):
        mask = np.asarray(c, dtype=bool) & ~taken
        taken = taken | mask
        out.append(unbroadcast(np.where(mask, g, 0.0), x))
    return out


def where_weight(where, x):
    """np.sum's `where=` mask as a weight of x's float dtype (1.0 where counted)."""
    return np.asarray(where, dtype=_weight_dtype(x))


def _extreme_hits(x, out, axis, keepdims, initial, where):
    """Which entries of `x` (counted by `where`) attain `out = np.max(x, axis, initial=initial,
    where=where)` (or np.min), whether `initial` does, and how many of them tie."""
    hit = np.logical_and(x == unreduce(out, x, axis, keepdims), where)
    tie = np.zeros(np.shape(out), dtype=bool) if initial is None else np.equal(initial, out)
    return hit, tie, np.sum(hit, axis=axis, keepdims=keepdims) + tie


def extreme_where_weight(x, out, axis=None, keepdims=False, initial=None, where=True):
    """d out/dx of `out = np.max(x, axis, keepdims=keepdims, initial=initial, where=where)`
    (or np.min): the counted entries that attain out, ties (initial among them) sharing
    the derivative equally."""
    hit, _, count = _extreme_hits(x, out, axis, keepdims, initial, where)
    return np.asarray(hit / unreduce(count, x, axis, keepdims), dtype=_weight_dtype(x))


def extreme_initial_weight(x, out, axis=None, keepdims=False, initial=None, where=True):
    """d out/d initial of that max (or min): 1 where initial alone attains out, its share of
    a tie with entries of x, 0 where an entry of x is larger."""
    _, tie, count = _extreme_hits(x, out, axis, keepdims, initial, where)
    return np.asarray(tie / count, dtype=_weight_dtype(x))[()]


def where_spread_inv_count(where, x, axis=None, ddof=0, keepdims=False):
    """1 / (N - ddof) with N the entries `where` counts along `axis`, shaped like the
    reduction's result (`keepdims` as it): np.var's and np.std's divisor with where= (inf
    where N - ddof is 0 or less, as NumPy divides); real x only, as for spread_inv_count."""
    if np.iscomplexobj(x):
        raise NotImplementedError("srcad differentiates np.var and np.std of real values "
                                  "only; this one is complex")
    d = np.sum(np.broadcast_to(where, np.shape(x)), axis=axis, keepdims=keepdims) - ddof
    with np.errstate(divide="ignore"):
        return np.where(d > 0, np.true_divide(1.0, d, dtype=_weight_dtype(x)), np.inf).astype(
            _weight_dtype(x))[()]


__all__ += ["extreme_where_weight", "extreme_initial_weight", "where_spread_inv_count"]


# ------------------------------------------------------------ axes, complex numbers
def rot90_axes(axes=None):
    """np.rot90's `axes`, (0, 1) when not given."""
    return (0, 1) if axes is None else axes


def cross_axis(ax, axis=None):
    """The axis of one of np.cross's operands or of its result: `axis` overrides axisa,
    axisb and axisc when given."""
    return ax if axis is None else axis


def rollaxis_axes(nd, axis, start=0):
    """The axes of `np.rollaxis(x, axis, start)` for an x of nd axes, as np.transpose takes."""
    axis = axis % nd
    start = start + nd if start < 0 else start
    if axis < start:
        start -= 1
    axes = [d for d in range(nd) if d != axis]
    axes.insert(start, axis)
    return tuple(axes)


def sinc_slope(x):
    """np.sinc'(x) = (cos(pi x) - sinc(x)) / x, its limit 0 at x = 0: in place on cos(pi x)
    and sin(pi x) (np.sinc's own temporaries and the masked copies held four more arrays)."""
    if np.ndim(x) == 0 or not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        xs = np.where(x == 0, 1.0, x)
        # [()]: a NumPy scalar of a number, as np.sinc gives (np.where's 0-d array is mutable)
        return np.where(x == 0, 0.0, (np.cos(math.pi * x) - np.sinc(x)) / xs)[()]
    s = np.multiply(x, math.pi)
    c = np.cos(s)
    np.sin(s, out=s)
    nonzero = x != 0
    np.divide(s, x, out=s, where=nonzero)             # pi sinc(x), where x != 0
    s /= math.pi
    c -= s
    np.divide(c, x, out=c, where=nonzero)
    c[~nonzero] = 0.0
    return c


def sinc_curvature(x):
    """np.sinc''(x) = -(pi sin(pi x) + 2 sinc'(x)) / x, its limit -pi^2/3 at x = 0 (the
    quotient of the slope's own formula would give 0 there)."""
    xs = np.where(x == 0, 1.0, x)
    return np.where(x == 0, -math.pi ** 2 / 3.0,
                    -(math.pi * np.sin(math.pi * x) + 2.0 * sinc_slope(x)) / xs)[()]


def angle_jvp(t, x):
    """Tangent of `np.angle(x)`: Im(t conj(x)) / |x|^2 (0 for a real x and t)."""
    if not np.iscomplexobj(x) and not np.iscomplexobj(t):
        return np.zeros(np.shape(x), dtype=_weight_dtype(x))
    return np.imag(t * np.conj(x)) / np.abs(x) ** 2


def angle_vjp(g, x):
    """Adjoint of `np.angle(x)`: zero for real x, else g conj(1j x) / |x|^2 (as autograd)."""
    if not np.iscomplexobj(x):
        return np.zeros(np.shape(x), dtype=_weight_dtype(x))
    return np.real(g) * np.conj(x * 1j) / np.abs(x) ** 2    # the real output reads Re(g)


def imag_vjp(g, x):
    """Adjoint of `np.imag(x)`: zero for real x, -1j g for complex x (as autograd)."""
    if not np.iscomplexobj(x):
        return np.zeros(np.shape(x), dtype=_weight_dtype(x))
    return -1j * np.real(g)                       # the real output reads Re(g)


def logaddexp_weight(x, out, axis=0, keepdims=False):
    """d np.logaddexp.reduce(x, axis)/dx: the softmax of x along the axis."""
    return np.exp(x - _keep(out, x, axis, keepdims))


def record_index(x, m, axis=0):
    """For each entry of np.maximum.accumulate(x, axis) (or minimum's), `m`, the index
    along `axis` of the entry of x it equals: the latest that reached the running extreme
    (a tie takes the later entry, as a new record would)."""
    xm, om = np.moveaxis(np.asarray(x), axis, 0), np.moveaxis(np.asarray(m), axis, 0)
    pos = np.arange(xm.shape[0]).reshape((-1,) + (1,) * (xm.ndim - 1))
    idx = np.maximum.accumulate(np.where(xm == om, pos, 0), axis=0)
    return np.moveaxis(idx, 0, axis)


def accumulate_extreme_jvp(t, x, m, axis=0):
    """The tangent of a running maximum or minimum: t at each entry's record."""
    t = np.broadcast_to(t, np.shape(x))
    return np.take_along_axis(t, record_index(x, m, axis), axis)


def accumulate_extreme_vjp(g, x, m, axis=0):
    """The adjoint of a running maximum or minimum: each entry's g added at its record."""
    idx = np.moveaxis(record_index(x, m, axis), axis, 0)
    g = np.moveaxis(np.broadcast_to(g, np.shape(x)), axis, 0)
    res = np.zeros(idx.shape, dtype=_weight_dtype(g))
    np.add.at(res, (idx,) + tuple(np.indices(idx.shape)[1:]), g)
    return np.moveaxis(res, 0, axis)


__all__ += ["record_index", "accumulate_extreme_jvp", "accumulate_extreme_vjp"]


def unslide(g, x, window_shape, axis=None):
    """Adjoint of `sliding_window_view(x, window_shape, axis)`: each window's entries added
    back where they were read (a position is in as many windows as overlap it)."""
    shape = np.shape(x)
    ws = (window_shape,) if np.ndim(window_shape) == 0 else tuple(window_shape)
    axes = tuple(range(len(shape))) if axis is None else \
        (axis,) if np.ndim(axis) == 0 else tuple(axis)
    axes = tuple(a % len(shape) for a in axes)
    if len(set(axes)) == len(axes):
        # one pass per position in the window: the slice of x that position reads in every
        # window gets that position's cotangents (views; no array but the result)
        width = dict(zip(axes, ws))
        full = tuple(n - width[k] + 1 if k in width else n for k, n in enumerate(shape)) + ws
        g = np.broadcast_to(g, full)
        out = np.zeros(shape, dtype=_weight_dtype(g))
        for offs in np.ndindex(*ws):
            idx = [slice(None)] * len(shape)
            for a, w, o in zip(axes, ws, offs):
                idx[a] = slice(o, o + shape[a] - w + 1)
            out[tuple(idx)] += g[(Ellipsis,) + offs]
        return out
    size = int(np.prod(shape))          # an axis windowed twice: count by index
    where = np.lib.stride_tricks.sliding_window_view(np.arange(size).reshape(shape),
                                                     window_shape, axis)
    g = np.broadcast_to(g, where.shape)
    flat = np.bincount(where.ravel(), weights=np.real(g).ravel(), minlength=size)
    if np.iscomplexobj(g):
        flat = flat + 1j * np.bincount(where.ravel(), weights=np.imag(g).ravel(), minlength=size)
    return flat.reshape(shape).astype(_weight_dtype(g), copy=False)


__all__ += ["unslide"]


# ------------------------------------------------------------ NumPy's in-place changes, as values
# `y.fill(v)`, `y.sort()`, `np.copyto(y, x)`, `np.fill_diagonal(y, v)` and `np.add.at(y, i, v)`
# change y in place. Generated code keeps the values it saved of y, so it calls these instead:
# each changes a copy (in y's memory layout) and returns it, and the name y is rebound.

def filled(x, value):
    """`x.fill(value)` on a copy of x."""
    r = np.empty_like(x)
    r.fill(value)
    return r


def sorted_in_place(x, axis=-1):
    """`x.sort(axis)` on a copy of x."""
    r = x.copy(order="K")
    r.sort(axis)
    return r


def copied_into(dst, src):
    """`np.copyto(dst, src)` on a copy of dst: src broadcast and cast to dst's dtype."""
    r = np.empty_like(dst)
    np.copyto(r, src, casting="same_kind")
    return r


def diagonal_filled(a, val, wrap=False):
    """`np.fill_diagonal(a, val, wrap)` on a copy of a."""
    r = np.array(a, copy=True, order="K")
    np.fill_diagonal(r, val, wrap)
    return r


def called_into(f, out, *args, **kwargs):
    """`f(*args, out=out, **kwargs)` writing into a copy of out, returned."""
    r = np.array(out, copy=True, order="K")
    f(*args, out=r, **kwargs)
    return r


def _cycled(picked, v):
    """The adjoint of v repeated cyclically over the entries `picked` came from (np.put,
    np.place, np.putmask): picked[k] added to v.flat[k % v.size]; a 0-d v gets the sum."""
    picked = np.asarray(picked)
    if np.ndim(v) == 0:
        return np.sum(picked)
    n = int(np.size(v))
    out = np.zeros(n, dtype=_weight_dtype(picked))
    np.add.at(out, np.arange(picked.size) % n, picked)
    return out.reshape(np.shape(v))


def fill_diagonal_vjp(g, a, val, wrap=False):
    """The adjoint of `diagonal_filled(a, val, wrap)` with respect to `val`: the entries of g
    it wrote, each added to the item of val written there (val repeats cyclically)."""
    mask = np.zeros(np.shape(a), dtype=bool)
    np.fill_diagonal(mask, True, wrap)
    return _cycled(np.asarray(g)[mask] if np.ndim(g) else np.full(int(mask.sum()), g), val)


def added_at(y, idx, v):
    """`np.add.at(y, idx, v)` on a copy of y."""
    r = np.array(y, copy=True, order="K")
    np.add.at(r, idx, v)
    return r


def shuffled(shuffle, x):
    """`shuffle(x)` (a generator's or np.random's shuffle) on a copy of x: the same draw."""
    r = x.copy() if isinstance(x, (np.ndarray, list)) else x
    shuffle(r)
    return r


def subtracted_at(y, idx, v):
    """`np.subtract.at(y, idx, v)` on a copy of y."""
    r = np.array(y, copy=True, order="K")
    np.subtract.at(r, idx, v)
    return r


def ufunc_at_copy(at, y, *args):
    """`ufunc.at(y, *args)` (the bound method `at`) on a copy of y: no derivative flows."""
    r = np.array(y, copy=True, order="K")
    at(r, *args)
    return r


def put_copy(a, ind, v, mode="raise"):
    """`np.put(a, ind, v, mode)` on a copy of a."""
    r = np.array(a, copy=True, order="K")
    np.put(r, ind, v, mode)
    return r


def _put_winners(shape, ind, mode):
    """The flat entries `np.put(., ind, ., mode)` writes, each once per position of ind,
    and which positions' writes stay (a repeated entry keeps the last)."""
    targets = np.take(np.arange(int(np.prod(shape))), np.ravel(ind), mode=mode)
    owner = np.full(int(np.prod(shape)), -1, dtype=np.intp)
    owner[targets] = np.arange(targets.size)
    return targets, owner[targets] == np.arange(targets.size)


def put_vjp(g, ind, v, mode="raise"):
    """The adjoint of `put_copy(a, ind, v, mode)` with respect to v: the entries of g each
    position of ind wrote (where a later position did not overwrite it), added to the item
    of v written there (v repeats cyclically)."""
    targets, kept = _put_winners(np.shape(g), ind, mode)
    return _cycled(np.ravel(g)[targets] * kept, v)


def placed(arr, mask, vals):
    """`np.place(arr, mask, vals)` on a copy of arr."""
    r = np.array(arr, copy=True, order="K")
    np.place(r, mask, vals)
    return r


def place_vjp(g, mask, vals):
    """The adjoint of `placed(arr, mask, vals)` with respect to vals: g where mask is true,
    in order, each added to the item of vals written there (vals repeats cyclically)."""
    return _cycled(np.asarray(g)[np.asarray(mask, dtype=bool)], vals)


def putmasked(a, mask, values):
    """`np.putmask(a, mask, values)` on a copy of a."""
    r = np.array(a, copy=True, order="K")
    np.putmask(r, mask, values)
    return r


def putmask_vjp(g, mask, values):
    """The adjoint of `putmasked(a, mask, values)` with respect to values: a.flat[n] takes
    values.flat[n % values.size] where mask.flat[n]."""
    at = np.flatnonzero(np.broadcast_to(mask, np.shape(g)))
    if np.ndim(values) == 0:
        return np.sum(np.ravel(g)[at])
    n = int(np.size(values))
    picked = np.ravel(g)[at]
    out = np.zeros(n, dtype=_weight_dtype(picked))
    np.add.at(out, at % n, picked)
    return out.reshape(np.shape(values))


def put_along(arr, indices, values, axis):
    """`np.put_along_axis(arr, indices, values, axis)` on a copy of arr."""
    r = np.array(arr, copy=True, order="K")
    np.put_along_axis(r, indices, values, axis)
    return r


def put_along_vjp(g, indices, values, axis):
    """The adjoint of `put_along(arr, indices, values, axis)` with respect to values: g at
    the entries written (where no later write along the axis overwrote them), summed back
    to values' shape."""
    picked = np.take_along_axis(np.asarray(g), indices, axis)
    ids = np.arange(picked.size).reshape(picked.shape)
    owner = np.full(np.shape(g), -1, dtype=np.intp)
    np.put_along_axis(owner, indices, ids, axis)
    kept = np.take_along_axis(owner, indices, axis) == ids
    return unbroadcast(picked * kept, values)


__all__ += ["filled", "sorted_in_place", "copied_into", "diagonal_filled", "fill_diagonal_vjp",
            "added_at", "shuffled", "subtracted_at", "ufunc_at_copy", "called_into", "put_copy", "put_vjp",
            "placed", "place_vjp", "putmasked", "putmask_vjp", "put_along", "put_along_vjp"]


def bessel_i1(x):
    """The modified Bessel function I1 (np.i0's derivative): SciPy's where SciPy is
    installed (imported at the first call), else its power series, sum over k of
    (x/2)^(2k+1) / (k! (k+1)!), summed until the terms vanish (all x; slow for |x| > 50)."""
    try:
        from scipy.special import i1
    except ImportError:
        i1 = None
    if i1 is not None:
        r = i1(x)
        return r.astype(_weight_dtype(x, x), copy=False) if isinstance(r, np.ndarray) else \
            float(r)
    x = np.asarray(x)
    h = x / 2.0
    term = h.copy()
    total = term.copy()
    for k in range(1, 500):
        term = term * (h * h) / (k * (k + 1))
        total = total + term
        if not np.any(np.abs(term) > 1e-17 * np.abs(total)):
            break
    return total if total.ndim else float(total)


def bessel_i1_slope(x):
    """I1'(x) = I0(x) - I1(x) / x, and 1/2 at x = 0: in place on I0 (SciPy's ufunc where
    installed: NumPy's np.i0 holds nine copies of x while it runs), one more array for the
    quotient."""
    try:
        from scipy.special import i0
    except ImportError:
        i0 = np.i0
    x = np.asarray(x)
    r = np.array(i0(x), dtype=_weight_dtype(x, x), copy=None)
    if r.ndim == 0:
        return r.dtype.type(0.5 if x == 0 else r - bessel_i1(x) / x)
    q = np.asarray(bessel_i1(x), dtype=r.dtype)
    nonzero = x != 0
    np.divide(q, x, out=q, where=nonzero)
    r -= q
    r[~nonzero] = 0.5
    return r


def untolist(g, x):
    """Adjoint of `x.tolist()`: the items' adjoints (nested lists, 0.0 for an unused item or
    row) as an array of x's shape and dtype."""
    out = np.zeros(np.shape(x), dtype=_weight_dtype(x, x))
    if np.ndim(x) == 0:
        return out + g
    for i, gi in enumerate(g):
        if not (type(gi) is float and gi == 0.0):
            out[i] = untolist(gi, x[i]) if np.ndim(x) > 1 else gi
    return out


def nan_inv_count(x, axis=None, keepdims=False, ddof=0):
    """1 / (N - ddof), N the entries of x that are not nan along `axis` (as the reduction's
    result, keepdims as it; in x's floating dtype): nanmean's weight, nanvar's divisor."""
    n = np.sum(np.logical_not(np.isnan(x)), axis=axis, keepdims=keepdims)
    with np.errstate(divide="ignore"):
        r = 1.0 / np.maximum(n - ddof, 0).astype(_weight_dtype(x, x))
    return r if np.ndim(r) else r.dtype.type(r)


def not_nan(x):
    """1 where x is not nan, 0 where it is (x's floating dtype): the nan-aware reductions'
    mask (a nan entry carries no derivative)."""
    return np.logical_not(np.isnan(x)).astype(_weight_dtype(x, x))


def _vector_axes(x, axis):
    """The axes a vector norm of x reduces (all for None), as a tuple of non-negative ints."""
    nd = np.ndim(x)
    axes = range(nd) if axis is None else (axis,) if np.ndim(axis) == 0 else axis
    return tuple(int(a) % max(nd, 1) for a in axes)


def vector_norm_weight(x, n, ord=2, axis=None, keepdims=False):
    """The derivative of `n = np.linalg.vector_norm(x, axis=axis, keepdims=keepdims,
    ord=ord)` by each entry of x: np.linalg.norm's vector weight over the reduced axes
    flattened into one (vector_norm never takes a matrix norm)."""
    axes = _vector_axes(x, axis)
    if np.ndim(x) == 0:
        return norm_weight(np.reshape(x, (1,)), np.reshape(n, (1,)), ord, 0, True)[0]
    moved = np.moveaxis(x, axes, tuple(range(-len(axes), 0)))
    flat = np.reshape(moved, np.shape(moved)[:np.ndim(x) - len(axes)] + (-1,))
    kept = np.reshape(n, np.shape(flat)[:-1] + (1,))
    w = norm_weight(flat, kept, ord, -1, True)
    return np.moveaxis(np.reshape(w, np.shape(moved)), tuple(range(-len(axes), 0)), axes)


def initial_dropped(g, like, axis=None, include_initial=False):
    """g (broadcast to the shape of like, the result) without the leading zero slice np.cumulative_sum and
    np.cumulative_prod put first along `axis` with include_initial=True; g otherwise."""
    if not include_initial:
        return g
    g = np.broadcast_to(g, np.shape(like))
    n = np.shape(like)[0 if axis is None else axis]
    return np.take(g, np.arange(1, n), axis=0 if axis is None else axis)


def initial_zero_added(t, axis=None, include_initial=False):
    """t with a zero slice first along `axis` (include_initial=True), t otherwise: the
    transpose of initial_dropped."""
    if not include_initial:
        return t
    ax = 0 if axis is None else axis
    shape = list(np.shape(t))
    shape[ax] = 1
    return np.concatenate([np.zeros(shape, dtype=_weight_dtype(t)), t], axis=ax)


def ununstack(gs, x, axis=0):
    """Adjoint of `np.unstack(x, axis=axis)`: the items' adjoints stacked (zeros for an
    unused item's 0.0)."""
    shape = np.shape(np.take(x, 0, axis=axis))
    return np.stack([zeros_like(np.take(x, 0, axis=axis)) if type(g) is float and g == 0.0
                     else np.broadcast_to(g, shape) for g in gs], axis=axis)


def _cond_check(p):
    if p is not None and p != 2:
        raise NotImplementedError(f"srcad differentiates np.linalg.cond with p=None or 2 only "
                                  f"(the 2-norm), not p={p!r}")


def cond_jvp(t, x, out, p=None):
    """Tangent of np.linalg.cond(x) (the 2-norm condition number s_max / s_min) along t."""
    _cond_check(p)
    s = np.linalg.svd(x, compute_uv=False)
    ds = svd_jvp(t, x, s, False, False)
    return (ds[..., 0] - out * ds[..., -1]) / s[..., -1]


def cond_vjp(g, x, out, p=None):
    """Adjoint of np.linalg.cond(x): d cond = (ds_max - cond ds_min) / s_min through the
    singular values' adjoint."""
    _cond_check(p)
    s = np.linalg.svd(x, compute_uv=False)
    k = np.arange(np.shape(s)[-1])
    first, last = (k == 0) * 1.0, (k == np.shape(s)[-1] - 1) * 1.0
    gs = np.expand_dims(g / s[..., -1], -1) * (first - np.expand_dims(out, -1) * last)
    return svd_vjp(gs, x, s, False, False)


def _chain(arrays):
    """The matrices of np.linalg.multi_dot(arrays): a 1-d first one as a row, a 1-d last one
    as a column."""
    ms = list(arrays)
    if np.ndim(ms[0]) == 1:
        ms[0] = np.reshape(ms[0], (1, -1))
    if np.ndim(ms[-1]) == 1:
        ms[-1] = np.reshape(ms[-1], (-1, 1))
    return ms


def _times(a, ms, b):
    """a @ ms[0] @ ... @ b, a and b left out where None (keeping the factors' dtype)."""
    for m in ms:
        a = m if a is None else a @ m
    return a if b is None else b if a is None else a @ b


def multi_dot_jvp(ts, arrays):
    """Tangent of np.linalg.multi_dot(arrays) along the items' tangents `ts` (0.0 for an
    inactive item): the product with one factor replaced by its tangent, summed."""
    ms = _chain(arrays)
    total = 0.0
    for i in range(len(ms)):
        if type(ts[i]) is float and ts[i] == 0.0:
            continue
        t = np.reshape(np.broadcast_to(ts[i], np.shape(arrays[i])), np.shape(ms[i]))
        total = total + _times(_times(None, ms[:i], t), ms[i + 1:], None)
    shape = np.shape(np.linalg.multi_dot(arrays))
    return np.reshape(total, shape) if np.ndim(total) else total


def multi_dot_vjp(g, arrays):
    """Adjoint of np.linalg.multi_dot(arrays) for each item (a list; the rule makes it
    Items): L^T g R^T, L and R the products of the factors before and after it."""
    ms = _chain(arrays)
    rows, cols = np.shape(ms[0])[0], np.shape(ms[-1])[1]
    g = np.reshape(np.broadcast_to(g, np.shape(np.linalg.multi_dot(arrays))), (rows, cols))
    out = []
    for i in range(len(ms)):
        left = _times(None, ms[:i], None)
        right = _times(None, ms[i + 1:], None)
        gi = _times(None if left is None else left.T, [g], None if right is None else right.T)
        out.append(np.reshape(gi, np.shape(arrays[i])))
    return out


def _cov_rows(v, rowvar=True):
    """One of np.cov's arguments as rows of variables (observations along the columns): at
    least 2-d, transposed (a view) for rowvar=False."""
    x = np.atleast_2d(v)
    return x.T if not rowvar and np.shape(x)[0] != 1 else x


def _cov_centred(m, y=None, rowvar=True):
    """m's rows and y's (None without y), each less its mean: np.cov's centred data, kept
    apart (np.cov stacks them; a derivative need not copy its inputs into one array)."""
    a = _cov_rows(m, rowvar)
    ac = a - np.mean(a, axis=1, keepdims=True)
    if y is None:
        return ac, None
    b = _cov_rows(y, rowvar)
    return ac, b - np.mean(b, axis=1, keepdims=True)


def _cov_divisor(x, bias=False, ddof=None):
    return np.shape(x)[1] - (ddof if ddof is not None else 0 if bias else 1)


def _cov_products(ls, rs):
    """The matrix of blocks l r^T for the row blocks ls (down) and rs (across), None
    blocks left out: a k x k matrix (the variables'), never the data's size."""
    rows = [np.concatenate([li @ ri.T for ri in rs if ri is not None], axis=1)
            for li in ls if li is not None]
    return rows[0] if len(rows) == 1 else np.concatenate(rows, axis=0)


def _cov_dot(tm, ty, m, y, rowvar, ac, bc):
    """dX Xc^T for the tangents tm, ty of m, y (0.0 for an inactive one: its rows are zeros,
    no product): the tangent's rows need no centring, as Xc's rows sum to 0."""
    k = np.shape(ac)[0] + (0 if bc is None else np.shape(bc)[0])
    rows = []
    for t, v, c in ((tm, m, ac), (ty, y, bc)):
        if c is None:
            continue
        if isinstance(t, float) and t == 0.0 and np.ndim(v) > 0:
            rows.append(np.zeros((np.shape(c)[0], k), dtype=np.result_type(ac, 1.0)))
        else:
            rows.append(_cov_products([_cov_rows(np.broadcast_to(t, np.shape(v)), rowvar)],
                                      [ac, bc]))
    return rows[0] if len(rows) == 1 else np.concatenate(rows, axis=0)


def cov_jvp(tm, ty, m, y=None, rowvar=True, bias=False, ddof=None):
    """Tangent of np.cov(m, y, rowvar, bias, ddof) along m's and y's tangents (0.0 for an
    inactive one): (dX Xc^T + Xc dX^T) / (N - ddof), Xc the centred rows (m's and y's
    apart, the blocks of the result by products)."""
    ac, bc = _cov_centred(m, y, rowvar)
    d = _cov_dot(tm, ty, m, y, rowvar, ac, bc)
    return np.squeeze((d + d.T) / _cov_divisor(ac, bias, ddof))


def _cov_vjp_rows(g, ac, bc, part):
    """(G + G^T) Xc for the rows of m (part 0) or y (part 1) alone: those rows of G + G^T
    times m's centred rows plus times y's (no stacked copy of the data, no k x k sum)."""
    k1 = np.shape(ac)[0]
    if part == 0:
        sel = g[:k1] + g[:, :k1].T
    else:
        sel = g[k1:] + g[:, k1:].T
    if bc is None:
        return sel @ ac
    n = np.shape(ac)[1]                        # an eighth of the observations at a time: the
    step = max(1, -(-n // 8))                  # second product is no array of m's size
    r = np.zeros((np.shape(sel)[0], n), dtype=np.result_type(sel, ac, bc))
    for s in range(0, n, step):
        r[:, s:s + step] = sel[:, :k1] @ ac[:, s:s + step] + sel[:, k1:] @ bc[:, s:s + step]
    return r


def _cov_laid_out(r, which, rowvar):
    """Rows r of variables laid out as np.cov's argument `which` (m or y)."""
    if not rowvar and np.shape(np.atleast_2d(which))[0] != 1:
        r = r.T
    return np.reshape(r, np.shape(which))


def cov_vjp(g, m, y=None, rowvar=True, bias=False, ddof=None, part=0):
    """Adjoint of np.cov(m, y, ...) for m (part 0) or y (part 1): (G + G^T) Xc / (N - ddof),
    the rows of the part alone, laid out as m's (y's)."""
    ac, bc = _cov_centred(m, y, rowvar)
    k = np.shape(ac)[0] + (0 if bc is None else np.shape(bc)[0])
    g = np.reshape(np.broadcast_to(g, np.shape(np.squeeze(np.zeros((k, k))))), (k, k))
    r = _cov_vjp_rows(g, ac, bc, part)
    r /= _cov_divisor(ac, bias, ddof)
    return _cov_laid_out(r, m if part == 0 else y, rowvar)


def corrcoef_jvp(tx, ty, x, y=None, rowvar=True):
    """Tangent of np.corrcoef(x, y, rowvar): r = c / sqrt(d d^T), d = diag(c), c the
    covariance: dr = (dc - c (h_i + h_j)) / (s_i s_j), h = dd / (2 d), s = sqrt(d) (the
    divisor of c cancels: c and dc are taken without it). In place on the k x k arrays it
    makes (k, the variables, may be as many as the observations)."""
    ac, bc = _cov_centred(x, y, rowvar)
    c = _cov_products([ac, bc], [ac, bc])
    dc = _cov_dot(tx, ty, x, y, rowvar, ac, bc)
    del ac, bc
    d = np.diagonal(c).copy()
    s = np.sqrt(d)
    dc = dc + dc.T
    h = np.diagonal(dc) / (2.0 * d)
    t = c * h[:, None]
    c *= h
    c += t
    del t
    dc -= c
    dc /= s[:, None]
    dc /= s
    return np.squeeze(dc)


def corrcoef_vjp(g, x, y=None, rowvar=True, part=0):
    """Adjoint of np.corrcoef(x, y, rowvar) for x (part 0) or y (part 1), through the
    covariance's adjoint (see corrcoef_jvp; c without its divisor, which cancels):
    c_bar = g / (s_i s_j) - diag(v), v_i = sum_j (g_ij + g_ji) r_ij / (2 d_i), r taken a
    block (m's and y's variables) at a time and d as the centred rows' squared norms, so no
    k x k array but g's own and c_bar is held."""
    ac, bc = _cov_centred(x, y, rowvar)
    parts = [ac] if bc is None else [ac, bc]
    k1 = np.shape(ac)[0]
    k = k1 + (0 if bc is None else np.shape(bc)[0])
    g = np.reshape(np.broadcast_to(g, np.shape(np.squeeze(np.zeros((k, k))))), (k, k))
    ds = [np.einsum("ij,ij->i", a, a) for a in parts]
    ss = [np.sqrt(d) for d in ds]
    bounds = [0, k1, k]
    vs = []
    for i in range(len(parts)):
        acc = 0.0 * ds[i]
        for j in range(len(parts)):
            r = parts[i] @ parts[j].T
            r /= ss[i][:, None]
            r /= ss[j]
            acc = acc + np.einsum("ij,ij->i", g[bounds[i]:bounds[i + 1], bounds[j]:bounds[j + 1]], r) + \
                np.einsum("ji,ij->i", g[bounds[j]:bounds[j + 1], bounds[i]:bounds[i + 1]], r)
        vs.append(acc / (2.0 * ds[i]))
    del r
    s = np.concatenate(ss)
    gc = g / s[:, None]
    gc /= s
    diag = np.arange(k)
    gc[diag, diag] -= np.concatenate(vs)
    return _cov_laid_out(_cov_vjp_rows(gc, ac, bc, part), x if part == 0 else y, rowvar)


def nanmedian_weight(x, axis=None):
    """The derivative of np.nanmedian(x, axis) by each entry of x: 1 (or 1/2 and 1/2) at the
    middle order statistic(s) of each slice's entries that are not nan, 0 elsewhere (ties:
    the order of a stable sort, as np.median's; a slice of nans only: 0)."""
    x = np.asarray(x)
    axes = reduce_axis(x, axis)
    rest = [d for d in range(x.ndim) if d not in axes]
    moved = np.transpose(x, rest + list(axes))
    tshape = moved.shape
    moved = np.reshape(moved, moved.shape[:len(rest)] + (-1,))
    order = np.argsort(moved, axis=-1, kind="stable")              # nans last
    n = np.count_nonzero(np.logical_not(np.isnan(moved)), axis=-1)[..., None]
    w = np.zeros(moved.shape, dtype=_weight_dtype(x))
    for k in (np.maximum((n - 1) // 2, 0), n // 2):
        hit = np.zeros(moved.shape, dtype=w.dtype)
        np.put_along_axis(hit, np.take_along_axis(order, np.minimum(k, moved.shape[-1] - 1), -1),
                          0.5, -1)
        w += hit
    w *= n > 0
    return np.transpose(np.reshape(w, tshape), np.argsort(rest + list(axes)))


def tensorinv_jvp(t, a, out, ind=2):
    """Tangent of out = np.linalg.tensorinv(a, ind): the inverse's -m^-1 dm m^-1 of the
    matrix m = a with its first `ind` axes merged into rows, laid out as `out`."""
    k = int(np.prod(np.shape(a)[:ind]))
    inv = np.reshape(out, (-1, k))
    dm = np.reshape(np.broadcast_to(t, np.shape(a)), (k, -1))
    return np.reshape(-(inv @ dm @ inv), np.shape(out))


def tensorinv_vjp(g, a, out, ind=2):
    """Adjoint of out = np.linalg.tensorinv(a, ind): -m^-T g m^-T, laid out as `a`."""
    k = int(np.prod(np.shape(a)[:ind]))
    inv = np.reshape(out, (-1, k))
    gm = np.reshape(np.broadcast_to(g, np.shape(out)), (-1, k))
    return np.reshape(-(inv.T @ gm @ inv.T), np.shape(a))


def _tensorsolve_matrix(a, b):
    nb = int(np.prod(np.shape(b)))
    return np.reshape(a, (nb, -1))


def tensorsolve_jvp(ta, tb, a, b, out):
    """Tangent of x = np.linalg.tensorsolve(a, b) (axes=None): m^-1 (db - dm x), m the
    matrix of a with b's axes merged into rows and x's into columns."""
    m = _tensorsolve_matrix(a, b)
    rhs = 0.0                                  # (a 0.0 tangent is no term: float32 kept)
    if not _zero(tb):
        rhs = np.ravel(np.broadcast_to(tb, np.shape(b)))
    if not _zero(ta):
        rhs = rhs - np.reshape(np.broadcast_to(ta, np.shape(a)), np.shape(m)) @ np.ravel(out)
    return np.reshape(np.linalg.solve(m, rhs), np.shape(out))


def tensorsolve_vjp_b(g, a, b, out):
    """Adjoint of x = np.linalg.tensorsolve(a, b) for b: m^-T g, laid out as b."""
    m = _tensorsolve_matrix(a, b)
    gx = np.ravel(np.broadcast_to(g, np.shape(out)))
    return np.reshape(np.linalg.solve(m.T, gx), np.shape(b))


def tensorsolve_vjp_a(g, a, b, out):
    """Adjoint of x = np.linalg.tensorsolve(a, b) for a: -(m^-T g) x^T, laid out as a."""
    gb = np.ravel(tensorsolve_vjp_b(g, a, b, out))
    return np.reshape(-np.outer(gb, np.ravel(out)), np.shape(a))


def unique_index(ar):
    """The flat position in `ar` of each value np.unique(ar) returns (its first occurrence):
    np.unique(ar, return_index=True)'s, without its copy of ar (a stable argsort of ar's
    flat view, the first of each run of equal values; NaNs, sorted last, one run, as
    np.unique's equal_nan)."""
    flat = np.ravel(ar)
    if flat.dtype.kind not in "biuf":
        return np.unique(ar, return_index=True)[1]
    perm = np.argsort(flat, kind="stable")
    srt = flat[perm]
    first = np.empty(np.shape(srt)[0], dtype=bool)
    first[:1] = True
    np.not_equal(srt[1:], srt[:-1], out=first[1:])
    if flat.dtype.kind == "f" and np.shape(srt)[0] and np.isnan(srt[-1]):
        start = int(np.argmax(np.isnan(srt)))
        first[start + 1:] = False
    return perm[first]


def unique_take(t, ar):
    """Tangent of np.unique(ar) along ar's tangent t: t at each value's first occurrence."""
    return np.ravel(np.broadcast_to(t, np.shape(ar)))[unique_index(ar)]


def ununique(g, ar):
    """Adjoint of np.unique(ar): each value's adjoint at its first occurrence in ar, zeros
    elsewhere (in ar's shape)."""
    out = np.zeros(np.size(ar), dtype=_weight_dtype(g))
    out[unique_index(ar)] = g
    return np.reshape(out, np.shape(ar))


# ------------------------------------------------------------ np.polyfit
# p = argmin |W (V p - y)|, V = vander(x, m), m = deg + 1, W the weights: the normal
# equations G p = V^T W^2 y, G = V^T W^2 V (m x m). Their derivative needs G^-1 applied to
# m-vectors (gram_solve, by a QR of W V taken a few rows at a time: never V itself) and
# products with V and V' = dV/dx written as polynomial evaluations (Horner) and power
# moments: no array larger than x's and y's (V is x's size times m, a pseudo-inverse too).
__all__ += ["polyfit_jvp", "polyfit_vjp_x", "polyfit_vjp_y", "gram_solve", "gram_solve_jvp_x",
            "gram_solve_vjp_x"]


def _pf_col(c, k):
    """Coefficient k of the polynomial(s) c, as a column against x's axis for a 2-d c."""
    return c[k] if np.ndim(c) == 1 else c[k][:, None]


def _pf_at(c, x):
    """The polynomial(s) with coefficients c (highest power first; one per column of a 2-d
    c) at x, by Horner's scheme: V c, shaped (len(x),), or (c's columns, len(x)) for a 2-d
    c (the samples along the last axis: NumPy's loops run along x, not along a few columns).
    In place on the one array it makes."""
    res = _pf_col(c, 0) + 0.0 * x
    for k in range(1, np.shape(c)[0]):
        res *= x
        res += _pf_col(c, k)
    return res


def _pf_rowsum(e, x):
    """sum_j e[j] x^(m - 1 - j) for rows e[j] of x's length (m of them): each sample's own
    polynomial at it."""
    res = e[0] + 0.0 * x
    for k in range(1, np.shape(e)[0]):
        res *= x
        res += e[k]
    return res


def _pf_slope_at(c, x):
    """The derivative of the polynomial(s) c at x: V' c (0 for a constant), as _pf_at."""
    m = np.shape(c)[0]
    if m == 1:
        return 0.0 * _pf_at(c, x)
    powers = np.arange(m - 1, 0, -1.0)
    return _pf_at(c[:-1] * (powers if np.ndim(c) == 1 else powers[:, None]), x)


def _pf_moments(u, x, m, wt=None):
    """V^T (wt u): the moments sum_i wt_i u_i x_i^(m - 1 - j), j < m, of u shaped (len(x),)
    or (k, len(x)) (then m x k); the weights wt (ones for None) go with the powers, so u is
    never copied."""
    rows = []
    xk = np.ones(np.shape(x)[0]) if wt is None else wt
    for k in range(m):
        rows.append(np.dot(u, xk))
        if k + 1 < m:
            xk = xk * x
    return np.stack(rows[::-1])


def _pf_slope_moments(u, x, m, wt=None):
    """V'^T (wt u): sum_i wt_i u_i (m - 1 - j) x_i^(m - 2 - j), j < m (0 for j = m - 1), as
    _pf_moments."""
    zero = 0.0 * np.dot(u, np.zeros(np.shape(x)[0]))
    if m == 1:
        return np.stack([zero])
    low = _pf_moments(u, x, m - 1, wt)
    powers = np.arange(m - 1, 0, -1.0)
    return np.concatenate([low * (powers if np.ndim(u) == 1 else powers[:, None]), zero[None]])


def _pf_cross(s, x, m):
    """V^T diag(s) V' (m x m), from the power sums of s: entry (j, l) is
    (m - 1 - l) sum_i s_i x_i^((m - 1 - j) + (m - 2 - l)), 0 in the last column."""
    sums = []
    xk = s
    for k in range(2 * m - 2):
        sums.append(np.sum(xk))
        xk = xk * x
    if m == 1:
        return np.zeros((1, 1))
    sums = np.stack(sums)
    j = np.arange(m)[:, None]
    col = np.arange(m - 1)[None, :]
    h = sums[(m - 1 - j) + (m - 2 - col)] * (m - 1.0 - col)
    return np.concatenate([h, np.zeros((m, 1))], axis=1)


def _pf_weights(x, w):
    """W^2 (ones without weights)."""
    return np.ones(np.shape(x)[0]) if w is None else w * w


def _pf_rows(y):
    """y with its samples along the last axis (a 2-d y's transpose, a view)."""
    return y if np.ndim(y) == 1 else np.transpose(y)


def gram_solve(h, x, w, deg):
    """G^-1 h for G = V^T W^2 V (V = vander(x, deg + 1), W = diag(w), ones for None), h an
    m-vector or m x k: R from a QR of W V taken a block of rows at a time (each block about a
    quarter of x's size: V is never formed), its columns scaled to unit norm, then two solves
    (G = S R_s^T R_s S, backward stable: as good as a pseudo-inverse where W V has full rank)."""
    n, m = np.shape(x)[0], deg + 1
    ww = np.ones(n) if w is None else np.asarray(w)
    step = max(m, n // (4 * m))
    r = np.zeros((0, m), dtype=np.result_type(x, ww, 1.0))
    for s in range(0, n, step):
        block = np.vander(x[s:s + step], m) * ww[s:s + step, None]
        r = np.linalg.qr(np.concatenate([r, block]), mode="r")
    scale = np.sqrt(np.sum(r * r, axis=0))
    scale[scale == 0] = 1.0
    rs = r / scale
    sh = h / scale if np.ndim(h) == 1 else h / scale[:, None]
    z = np.linalg.solve(rs, np.linalg.solve(rs.T, sh))
    return z / scale if np.ndim(h) == 1 else z / scale[:, None]


def gram_solve_jvp_x(t, x, w, deg, z):
    """Tangent of z = gram_solve(h, x, w, deg) along x's tangent t: -G^-1 (G' z), G' z =
    V'^T W^2 (t V z) + V^T W^2 (t V' z)."""
    m = deg + 1
    tw = _pf_weights(x, w) * t
    dg = _pf_slope_moments(tw * _pf_at(z, x), x, m) + _pf_moments(tw * _pf_slope_at(z, x), x, m)
    return -gram_solve(dg, x, w, deg)


def gram_solve_vjp_x(g, x, w, deg, z):
    """Adjoint of z = gram_solve(h, x, w, deg) with respect to x: with zeta = G^-1 g,
    -W^2 ((V z)(V' zeta) + (V' z)(V zeta)), summed over the columns."""
    zeta = gram_solve(g, x, w, deg)
    t = _pf_at(z, x) * _pf_slope_at(zeta, x) + _pf_slope_at(z, x) * _pf_at(zeta, x)
    t = t if np.ndim(z) == 1 else np.sum(t, axis=0)
    return -(_pf_weights(x, w) * t)


def polyfit_jvp(x_dot, y_dot, x, y, deg, out, w=None):
    """The tangent of `p = np.polyfit(x, y, deg, w=w)` where the fit has full rank:
    p' = G^-1 (V^T W^2 (y' - x' V' p) + V'^T W^2 (x' r)), r = y - V p (the normal
    equations' derivative). With s = W^2 x' and H = V^T diag(s) V' (m x m, from power sums
    of s), V^T W^2 (x' V' p) = H p and V'^T W^2 (x' r) = V'^T (s y) - H^T p: no array of y's
    size (y's columns meet x's powers in dot products)."""
    m = deg + 1
    w2 = _pf_weights(x, w)
    if np.ndim(x_dot) == 0:                    # y's tangent alone
        return gram_solve(_pf_moments(_pf_rows(y_dot), x, m, w2), x, w, deg)
    sx = w2 * x_dot
    cross = _pf_cross(sx, x, m)
    h = _pf_slope_moments(_pf_rows(y), x, m, sx) - (cross + cross.T) @ out
    if np.ndim(y_dot):
        h = h + _pf_moments(_pf_rows(y_dot), x, m, w2)
    return gram_solve(h, x, w, deg)


def polyfit_vjp_y(g, x, y, deg, out, w=None):
    """The adjoint of `np.polyfit(x, y, deg, w=w)` with respect to y: W^2 V G^-1 g."""
    return _pf_rows(_pf_weights(x, w) * _pf_at(gram_solve(g, x, w, deg), x))


def polyfit_vjp_x(g, x, y, deg, out, w=None):
    """The adjoint of `np.polyfit(x, y, deg, w=w)` with respect to x: with z = G^-1 g, per
    sample W^2 (r V' z - (V z)(V' p)), r = y - V p, summed over y's columns. For more columns
    than coefficients, as sum_j V'_ij (r z^T)_ij - sum_j V_ij (V' p z^T)_ij (arrays of x's size
    times deg + 1, smaller than y's)."""
    m = deg + 1
    if m == 1:                                 # a constant fit: V does not depend on x
        return 0.0 * _pf_weights(x, w)
    z = gram_solve(g, x, w, deg)
    if np.ndim(y) == 1 or np.shape(y)[1] <= m:
        t = _pf_rows(y) - _pf_at(out, x)
        t *= _pf_slope_at(z, x)
        q = _pf_at(z, x)
        q *= _pf_slope_at(out, x)
        t -= q
        t = t if np.ndim(y) == 1 else np.sum(t, axis=0)
    else:
        pz = out @ z.T
        e = z @ _pf_rows(y)
        e -= _pf_at(pz, x)                     # (r z^T)^T, m x len(x)
        t = _pf_rowsum(e[:-1] * np.arange(m - 1, 0, -1.0)[:, None], x)
        t -= _pf_rowsum(_pf_slope_at(pz, x), x)
    return _pf_weights(x, w) * t


# ------------------------------------------------------------ ufuncs with out= and where=
def masked_take(x, where, like):
    """The entries of x (broadcast to like's shape) where the condition holds, as a vector:
    a ufunc's derivative called as `f(..., out=into, where=where)` is computed on these
    alone, so that an entry the condition excludes (log's x = 0) never enters it, at any
    order."""
    shape = np.shape(like)
    return np.broadcast_to(x, shape)[np.broadcast_to(where, shape)]


def masked_put(v, where, like):
    """The vector v of masked_take(., where, like) back at its entries of an array shaped
    like `like`, zeros elsewhere (in v's floating dtype)."""
    shape = np.shape(like)
    dt = np.result_type(v)
    r = np.zeros(shape, dtype=dt if np.issubdtype(dt, np.inexact) else np.float64)
    r[np.broadcast_to(where, shape)] = v
    return r


__all__ += ["masked_take", "masked_put"]


# ------------------------------------------------------------ np.trapezoid
# out = sum_i d_i (y_i + y_(i+1)) / 2 along the axis, d the spacing (diff(x), or dx): linear
# in y and in d; second derivatives read these helpers' source
def _trapezoid_slices(nd, ax):
    """The slices of the first and last n - 1 entries along axis `ax` of `nd` axes."""
    lo = [slice(None)] * nd
    hi = [slice(None)] * nd
    lo[ax] = slice(None, -1)
    hi[ax] = slice(1, None)
    return tuple(lo), tuple(hi)


def _trapezoid_spacing(y, x, dx, ax):
    """The spacing d broadcasting against y's n - 1 intervals, as np.trapezoid computes it."""
    if x is None:
        return dx
    if np.ndim(x) == 1:
        shape = [1] * np.ndim(y)
        shape[ax] = np.shape(x)[0] - 1
        return np.reshape(np.diff(x), shape)
    return np.diff(x, axis=ax)


def trapezoid_vjp_y(g, y, x=None, dx=1.0, axis=-1):
    """Adjoint of `np.trapezoid(y, x, dx, axis)` in y: each entry gets half the spacings on
    either side of it, times the cotangent."""
    ax = axis % np.ndim(y)
    lo, hi = _trapezoid_slices(np.ndim(y), ax)
    w = np.expand_dims(g, ax) * _trapezoid_spacing(y, x, dx, ax) * 0.5
    out = np.zeros(np.shape(y), dtype=_weight_dtype(y, w))
    out[lo] += w
    out[hi] += w
    return out


def trapezoid_vjp_x(g, y, x, axis=-1):
    """Adjoint of `np.trapezoid(y, x, axis=axis)` in the sample points x: the spacing
    d_i = x_(i+1) - x_i weighs the mean of y_i and y_(i+1)."""
    ax = axis % np.ndim(y)
    lo, hi = _trapezoid_slices(np.ndim(y), ax)
    db = np.expand_dims(g, ax) * ((y[lo] + y[hi]) * 0.5)
    if np.ndim(x) == 1:
        db = np.sum(db, axis=tuple(k for k in range(np.ndim(y)) if k != ax))
        out = np.zeros(np.shape(x), dtype=_weight_dtype(x, db))
        out[:-1] -= db
        out[1:] += db
        return out
    out = np.zeros(np.broadcast_shapes(np.shape(x), np.shape(y)), dtype=_weight_dtype(x, db))
    out[lo] -= db
    out[hi] += db
    return unbroadcast(out, x)


def trapezoid_vjp_dx(g, y, x, dx, axis=-1):
    """Adjoint of `np.trapezoid(y, x, dx, axis)` in the spacing dx (none where x is given)."""
    if x is not None:
        return 0.0 * np.asarray(dx)
    ax = axis % np.ndim(y)
    lo, hi = _trapezoid_slices(np.ndim(y), ax)
    return unbroadcast(np.expand_dims(g, ax) * ((y[lo] + y[hi]) * 0.5), dx)


def trapezoid_jvp_dx(t, y, x, axis=-1):
    """Tangent of `np.trapezoid(y, x, dx, axis)` along the spacing's tangent t."""
    return np.trapezoid(y, None, t, axis) * (0.0 if x is not None else 1.0)


__all__ += ["trapezoid_vjp_y", "trapezoid_vjp_x", "trapezoid_vjp_dx", "trapezoid_jvp_dx"]
