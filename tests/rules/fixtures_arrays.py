"""Sample calls for the array-function table (srcad/rules/arrays.py) and the reductions'
`where=`/`dtype=` forms, as fixtures_numpy.py has them for the other tables: each sample
is checked in both modes against central differences, against autograd where autograd
has the function, and with float32 inputs (tests/rules/test_rule_table.py), and the
second-order samples at the end through srcad's own derivative code."""
import math

import numpy as np

from fixtures_numpy import apart, big, binary, d0, pos, registrars, sym, unary, unit, well  # noqa: F401
from srcad.runtime import index_added, prod_jvp, prod_vjp, times_or_zero, unpacked, unpacked_items
from srcad.runtime_arrays import (unblock, reblock, unique_take, ununique, nanmedian_weight, bessel_i1, untolist, nan_inv_count, not_nan, initial_dropped, initial_zero_added, ununstack, put_vjp, place_vjp, putmask_vjp, put_along_vjp, put_copy, placed, putmasked, put_along, subtracted_at, accumulate_extreme_jvp, accumulate_extreme_vjp, unslide, added_at, copied_into, diagonal_filled, fill_diagonal_vjp, filled, sorted_in_place, interp_slope, interp_vjp_fp, concat_items_jvp, conv_vjp_a, conv_vjp_v, cross_vjp, gradient_jvp, kron_vjp_a,
                                  kron_vjp_b, pad_linear, partition_take, quantile_jvp,
                                  quantile_vjp, sort_take, unarray_split, uncolumn_stack, undelete,
                                  undiff, ungradient, unpad, unpartition, unpolyder, unselect,
                                  unsort, untake, untake_along, unconcat_items, select_none,
                                  interp_zero, rot90_axes, rollaxis_axes, where_weight,
                                  mean_where_weight, vander_powers, extreme_where_weight,
                                  extreme_initial_weight, where_spread_inv_count)

SAMPLES = []                      # (function, [argument tuples])
AUTOGRAD_LACKS = {}               # "name" or "name-k" -> why autograd is no oracle
UNREACHABLE = {                  # rules no source reaches, with why
    "ptp_jvp": "called only by generated code (np.ptp's tangent; np_ptp reaches it)",
    "ptp_vjp": "called only by generated code (np.ptp's adjoint; np_ptp reaches it)",
    "ptp_weight": "called only by generated code (ptp_vjp's and ptp_jvp's derivatives)",
    "tensordot_jvp": "called only by generated code (np.tensordot's tangent)",
    "sinc_slope": "called only by generated code (np.sinc's derivative; np_sinc reaches it)",
    "sinc_curvature": "called only by generated code (sinc_slope's derivative; the second-order "
                      "test's sinc_at_zero reaches it)",
    "cross_axis": "called only by generated code (np.cross's adjoint; np_cross_axes reaches it)"}
KNOWN = {}                        # function name -> (tests, why it fails today)

_rng = np.random.default_rng(1)


sample, lacks, known = registrars(SAMPLES, AUTOGRAD_LACKS, KNOWN)


def spaced(*shape):
    """Sorted distinct knots, at least 0.3 apart."""
    n = int(np.prod(shape))
    return np.sort(_rng.permutation(n) * 0.4 + _rng.uniform(0, 0.1, n)).reshape(shape)


# ============================================================ elementwise
@sample(*unary(sym))
def np_deg_rad(x):
    return np.deg2rad(x) * np.rad2deg(x) + np.radians(x) + np.degrees(x)


@sample(*unary(sym), (np.array([0.0, 0.5, -0.7]),))
def np_sinc(x):
    return np.sinc(x)


lacks("its sinc'(0) is nan (srcad: 0, the limit)", np_sinc, cases=[4])


@sample(*binary(sym))
def np_logaddexp2(x, y):
    return np.logaddexp2(x, y)


@sample((sym(3), pos(3)), (np.array([0, 1, -1]), pos(2, 3)), (sym(2, 3), pos()))
def np_heaviside(x1, x2):
    return np.heaviside(x1, x2) * x2 + np.heaviside(x1, 0.5) * x1


lacks("no VJP of np.heaviside", np_heaviside)


@sample(*[(x + 2.0, y) for x, y in binary(pos)])
def np_mod_remainder(x, y):
    return np.mod(x, y) + np.remainder(x, 0.7) * y


@sample(*[(x * 3.0, y) for x, y in binary(sym)])
def np_fmod(x, y):
    return np.fmod(x, y)


lacks("no VJP of np.fmod", np_fmod)


@sample((np.array([0.5, np.nan, np.inf, -np.inf, 2.0]), 0.3),
        (np.array([[0.5, np.nan], [1.5, 2.0]]), 1.2))
def np_nan_to_num(x, v):
    a = np.nan_to_num(x) * v + np.nan_to_num(x + v, nan=v, posinf=2.0 * v, neginf=-v)
    return a + v * np.logical_or(np.isposinf(x), np.isneginf(x))   # (not `|`: see the report)


lacks("no VJP of nan_to_num's replacement values, nor of isposinf/isneginf", np_nan_to_num)


@sample(*unary(sym))
def np_real_parts(x):
    return np.real(x) * 2.0 + np.imag(x) + np.conj(x) * x + np.real_if_close(x) + np.angle(x) * x


# ============================================================ shapes
@sample((pos(),), (pos(3),), (pos(2, 3),))
def np_atleast(x):
    return np.sum(np.atleast_1d(x) ** 2) + np.sum(np.atleast_2d(x) * 3.0) + \
        np.sum(np.atleast_3d(x) ** 3)


@sample((pos(2, 3),), (pos(2, 3, 4),))
def np_rot90(x):
    return np.rot90(x)[:1] + np.rot90(x, 2)[:1, :2] + np.rot90(x, -1, (0, 1))[:1]


lacks("np.rot90 with axes given positionally", np_rot90)


@sample((pos(2, 3, 4),))
def np_rollaxis(x):
    return np.rollaxis(x, 2)[0] + np.rollaxis(x, 0, 3)[:, 0, :].T + np.rollaxis(x, -1, 1)[:, 0]


lacks("np.rollaxis with a negative axis", np_rollaxis)


@sample((pos(3, 3),), (pos(2, 3, 4),))
def np_triu_tril(x):
    return np.triu(x) * 2.0 + np.tril(x, -1) + np.triu(x, k=1)


@sample((pos(3), pos(3)), (pos(3, 2), pos(3)))
def np_column_stack(x, y):
    return np.column_stack([x, y, y * y])


lacks("np.column_stack", np_column_stack)


@sample((pos(3), pos(3)), (pos(2, 3), pos(1, 3)))
def np_row_stack(x, y):
    return np.vstack((x, y)) + np.row_stack((y, x))[::-1][-np.shape(np.atleast_2d(y))[0] - 1:][:1]


lacks("np.row_stack", np_row_stack)


@sample((pos(5),), (pos(2, 5),))
def np_array_split(x):
    a, b = np.array_split(x, 2, axis=-1)
    return np.sum(a ** 2) * np.sum(b)


@sample((pos(4),), (pos(2, 4),), (pos(2, 4, 2),))
def np_hvd_split(x):
    a, b = np.hsplit(x, 2)
    s = np.sum(a * b)
    if np.ndim(x) >= 2:
        c, d = np.vsplit(x, 2)
        s = s + np.sum(c ** 2 * d)
    if np.ndim(x) >= 3:
        e, f = np.dsplit(x, 2)
        s = s + np.sum(e * f ** 3)
    return s


lacks("np.hsplit of a 1-d array", np_hvd_split, cases=[0])


@sample((pos(2, 2), pos(2, 3)))
def np_block(x, y):
    return np.block([x, y]) * 2.0


lacks("np.block", np_block)


@sample((pos(2, 2), pos(2, 3), pos(1, 5)))
def np_block_nested(x, y, z):
    return np.block([[x, y], [z]])


lacks("np.block", np_block_nested)


@sample((pos(3), pos(2)), (pos(2, 3), pos(2, 3)), (pos(3), pos()))
def np_append(x, y):
    return np.append(x, y) * 2.0 + np.append(y, x)[0]


lacks("np.append", np_append)


@sample((pos(2, 3), pos(2, 1)))
def np_append_axis(x, y):
    return np.append(x, y, axis=1) + np.append(y * y, x, 1)


lacks("np.append", np_append_axis)


@sample((pos(4), pos()), (pos(4), pos(2)), (pos(2, 3), pos(2)))
def np_insert(x, v):
    a = np.insert(x, 1, v) * 2.0
    b = np.insert(x, [0, 2], v * v)
    return np.sum(a ** 2) + np.sum(b ** 3)


@sample((pos(2, 3), pos(3)))
def np_insert_axis(x, v):
    return np.sum(np.insert(x, 1, v, axis=0) ** 2) + np.sum(np.insert(x, [1], v[:2, None], axis=1) ** 3)


lacks("np.insert", np_insert, np_insert_axis)


@sample((pos(5),), (pos(3, 4),))
def np_delete(x):
    return np.sum(np.delete(x, 1) ** 2) + np.sum(np.delete(x, [0, 2], axis=-1) ** 3)


lacks("np.delete", np_delete)


@sample((pos(5),), (pos(3, 4),))
def np_take(x):
    a = np.take(x, [0, 2, 2]) * 2.0
    return np.sum(a ** 2) + np.sum(np.take(x, [1, 0, 1], axis=-1) ** 3) + np.take(x, 1)


lacks("np.take", np_take)


@sample((pos(3, 4),))
def np_take_along_axis(x):
    i = np.array([[0, 1], [2, 2], [3, 0]])
    j = np.array([[0, 2, 1, 1]])
    return np.sum(np.take_along_axis(x, i, axis=1) ** 2) + np.sum(np.take_along_axis(x, j, 0) ** 3)


lacks("np.take_along_axis", np_take_along_axis)


@sample((pos(3),), (pos(2, 3),))
def np_pad(x):
    a = np.sum(np.pad(x, 1) ** 2) + np.sum(np.pad(x, (1, 2), mode="edge") ** 3)
    b = np.sum(np.pad(x, 2, "reflect") ** 2) + np.sum(np.pad(x, 1, mode="wrap") ** 3)
    return a + b + np.sum(np.pad(x, 1, "symmetric") ** 2) + \
        np.sum(np.pad(x, 1, mode="constant", constant_values=2.0) ** 2)


lacks("np.pad with modes other than constant", np_pad)


@sample((pos(3), pos(2)), (pos(2), pos(3)))
def np_meshgrid(x, y):
    a, b = np.meshgrid(x, y)
    c, d = np.meshgrid(x, y, indexing="ij")
    return a * b ** 2 + (c ** 3 * d).T


lacks("np.meshgrid", np_meshgrid)


@sample((pos(2), pos(3), pos(2)))
def np_meshgrid_three(x, y, z):
    a, b, c = np.meshgrid(x, y, z, indexing="ij")
    return a * b * c ** 2


lacks("np.meshgrid", np_meshgrid_three)


@sample((sym(4), pos(4), pos(4)), (sym(2, 3), pos(3), pos(2, 3)))
def np_select(c, x, y):
    return np.select([c > 0.5, c < -0.5], [x, y * y], default=0.0) + np.select([c > 0], [x], y)


lacks("np.select", np_select)


# ============================================================ differences
@sample((pos(5),), (pos(3, 4),))
def np_diff(x):
    return np.sum(np.diff(x) ** 2) + np.sum(np.diff(x, 2) ** 3) + np.sum(np.diff(x, axis=0) ** 2)


@sample((pos(5),), (pos(6),))
def np_gradient(x):
    return np.gradient(x) ** 2 + np.gradient(x, 0.5) + np.gradient(x, edge_order=2) ** 3


@sample((pos(3, 4),))
def np_gradient_axis(x):
    return np.gradient(x, axis=1) ** 2 + np.gradient(x, 2.0, axis=0, edge_order=2) ** 3


lacks("np.gradient with edge_order=2 or axis=", np_gradient, np_gradient_axis)


# ============================================================ products of arrays
@sample((pos(2, 2), pos(2, 3)), (pos(3), pos(2)), (pos(2), pos(2, 3)), (pos(2, 1, 2), pos(2, 3)))
def np_kron(a, b):
    return np.kron(a, b)


@sample((sym(3), sym(3)), (sym(2, 3), sym(3)), (sym(4, 3), sym(4, 3)))
def np_cross(a, b):
    return np.cross(a, b)


lacks("np.cross of broadcast operands", np_cross, cases=[1])


@sample((sym(3, 2), sym(3, 2)))
def np_cross_axis(a, b):
    return np.cross(a, b, axis=0)


lacks("np.cross with axis=", np_cross_axis)


@sample((sym(5), sym(3)), (sym(3), sym(5)), (sym(4), sym(4)))
def np_convolve(a, v):
    return np.convolve(a, v) + np.sum(np.convolve(a, v, "same") ** 2) + \
        np.sum(np.convolve(a, v, mode="valid") ** 3)


lacks("np.convolve", np_convolve)


@sample((sym(5), sym(3)), (sym(3), sym(5)))
def np_correlate(a, v):
    return np.sum(np.correlate(a, v) ** 2) + np.sum(np.correlate(a, v, "same") ** 3) + \
        np.sum(np.correlate(a, v, mode="full") ** 2)


lacks("np.correlate", np_correlate)


# ============================================================ interpolation, polynomials
@sample((np.array([0.15, 0.7, 1.1, -0.5, 2.5]), spaced(5), sym(5)),
        (0.55, spaced(4), sym(4)))
def np_interp(x, xp, fp):
    return np.interp(x, xp, fp) + np.interp(x, xp, fp, left=-1.0, right=2.0) * 2.0


@sample((np.array([0.15, -0.5, 2.5]), spaced(4), sym(4), 0.3, 0.7))
def np_interp_edges(x, xp, fp, lo, hi):
    return np.interp(x, xp, fp, lo, hi)


lacks("np.interp", np_interp, np_interp_edges)


@sample((sym(4), sym(3)), (sym(3), sym(2, 3)), (sym(3), sym()))
def np_polyval(p, x):
    return np.polyval(p, x) + np.polyval(np.polyder(p), x) ** 2


lacks("np.polyval, np.polyder", np_polyval)


@sample((sym(4),), (np.array([0.0, 0.5, -1.2]),))
def np_vander(x):
    return np.sum(np.vander(x) ** 2) + np.sum(np.vander(x, 5, increasing=True) *
                                              np.arange(5.0)) + np.sum(np.vander(x, N=2) ** 3)


lacks("no VJP of np.vander", np_vander)


# ============================================================ averages, order statistics
@sample((apart(5),), (apart(2, 3),))
def np_ptp(x):
    return np.ptp(x) + np.sum(np.ptp(x, axis=0) ** 2) + np.sum(np.ptp(x, axis=-1, keepdims=True))


lacks("np.ptp", np_ptp)


@sample((pos(2, 3), pos(2, 3)), (pos(2, 3), pos(3)))
def np_average(a, w):
    b = np.average(a) + np.sum(np.average(a, axis=0) ** 2)
    return b + np.sum(np.average(a, axis=-1, weights=w) ** 2) + \
        np.sum(np.average(a * a, axis=1, weights=w, keepdims=True))


@sample((pos(2, 3), pos(2, 3)))
def np_average_all(a, w):
    return np.average(a, weights=w) * np.average(a, None, w)


lacks("np.average", np_average, np_average_all)


@sample((apart(5),), (apart(2, 3),), (apart(4),), (apart(2, 2, 3),))
def np_median(x):
    return np.median(x) + np.sum(np.median(x, axis=0) ** 2) + \
        np.sum(np.median(x, axis=-1, keepdims=True) ** 3)


@sample((apart(5),), (apart(2, 3),), (apart(2, 2, 3),))
def np_quantile(x):
    a = np.quantile(x, 0.3) + np.sum(np.quantile(x, [0.25, 0.8], axis=-1) ** 2)
    b = np.sum(np.percentile(x, 40.0, axis=0, keepdims=True) ** 3)
    return a + b + np.sum(np.percentile(x, [10.0, 90.0], method="linear") ** 2)


@sample((apart(2, 2, 3),))
def np_quantile_axes(x):
    return np.quantile(x, [0.2, 0.6], axis=(0, 2), keepdims=True) + \
        np.median(x, axis=(0, 1))


lacks("np.median, np.quantile, np.percentile", np_median, np_quantile, np_quantile_axes)


@sample((apart(5),), (apart(2, 3),), (apart(2, 3, 2),))
def np_sort(x):
    return np.sort(x) * np.arange(np.shape(x)[-1]) + np.sort(x, axis=0) ** 2 + \
        np.sum(np.sort(x, None)[:3] ** 3)


lacks("np.sort with axis=None", np_sort)


@sample((apart(5),), (apart(2, 4),))
def np_partition(x):
    return np.partition(x, 2) * np.arange(np.shape(x)[-1]) + np.sum(np.partition(x, 1, axis=-1)[..., 1])


lacks("np.partition of a 2-d array", np_partition, cases=[1])


# ============================================================ reductions: where=, dtype=
@sample((pos(2, 3),), (pos(4),))
def np_sum_where(x):
    m = x > 1.0
    k = x >= np.min(x, axis=-1, keepdims=True)         # at least one entry of each row
    a = np.sum(x, where=m) + np.sum(np.sum(x * x, axis=0, where=m)) + np.sum(np.mean(x, where=k, axis=-1))
    return a + np.sum(np.prod(x, axis=0, where=m)) + np.sum(x, dtype=np.float64) + np.mean(x, dtype=float)


lacks("reductions with where=", np_sum_where)


@sample((pos(2, 3),))
def method_sum_where(x):
    return x.sum(where=x > 1.0) + x.mean(axis=1, where=x >= x.min()) + x.prod(where=x < 1.2)


lacks("reductions with where=", method_sum_where)


@sample((pos(2, 3) * 3.0,))
def np_sum_int_dtype(x):
    return x * np.sum(x, dtype=int) + np.sum(x ** 2, dtype=np.float64) + np.prod(x, dtype=int)


lacks("integer dtype", np_sum_int_dtype)


# ============================================================ ufunc methods
@sample((pos(2, 3),), (pos(4),))
def ufunc_reduce(x):
    a = np.add.reduce(x) * 2.0 + np.multiply.reduce(x) + np.maximum.reduce(x)
    b = np.add.reduce(x, axis=-1, keepdims=True) + np.minimum.reduce(x, axis=None)
    return np.sum(a) + np.sum(b ** 2) + np.sum(np.logaddexp.reduce(x) ** 2) + \
        np.sum(np.logaddexp.reduce(x, axis=None))


lacks("ufunc methods", ufunc_reduce)


@sample((pos(2, 3),), (pos(4),))
def ufunc_accumulate(x):
    return np.add.accumulate(x) ** 2 + np.multiply.accumulate(x, axis=-1)


lacks("ufunc methods", ufunc_accumulate)


@sample((pos(5), pos(3)))
def ufunc_add_at(x, v):
    y = x * 1.0
    np.add.at(y, [0, 2, 0], v)
    return y * x


lacks("np.add.at", ufunc_add_at)


# ============================================================ np.r_ and np.c_
@sample((pos(3), pos(2, 4)))
def index_r_c(x, y):
    a = np.r_[x, y[0, 1:], 2.0, x[:2]]
    b = np.c_[y, y[:, :1] * 2.0]
    c = np.c_[x[:2], x[1:]]
    return np.sum(a ** 2) + np.sum(b ** 3) + np.sum(c ** 2) + np.sum(np.r_[x, 0:3] * 2.0)


lacks("np.r_/np.c_", index_r_c)


# ============================================================ the table's helpers (second order)
@sample((pos(4), pos(5)), (pos(2, 3), pos(2, 4)))
def helper_undiff(g, x):
    return undiff(g, x, 1, -1) * x


@sample((pos(5), pos(5)))
def helper_gradient(g, f):
    return ungradient(g, f, 0.5, None, 2) * f + gradient_jvp(g, f, 2.0, None, 1) * f


@sample((pos(4, 6), pos(2, 2), pos(2, 3)))
def helper_kron(g, a, b):
    return np.sum(kron_vjp_a(g, a, b) * a) + np.sum(kron_vjp_b(g, a, b) * b)


@sample((sym(2, 3), sym(2, 3)))
def helper_cross(g, o):
    return cross_vjp(g, o, -1) * o


@sample((sym(7), sym(5), sym(3)), (sym(5), sym(5), sym(3)))
def helper_conv(g, a, v):
    return np.sum(conv_vjp_a(g, a, v, "same" if np.size(g) == 5 else "full") * a) + \
        np.sum(conv_vjp_v(g, a, v, "same" if np.size(g) == 5 else "full") * v)


@sample((pos(3), pos(5)))
def helper_take(g, x):
    return untake(g, x, [0, 2, 2], None) * x + untake_along(g, x, np.array([1, 1, 4]), 0) + \
        undelete(g[:2] * 1.0, x[:3], 1, None)[:3].sum()


XP = spaced(4)
X_AT = np.array([0.15, 0.7, 1.1, -0.5])


@sample((X_AT + 0.1, sym(4)))
def helper_interp(x, fp):
    # (their derivatives in xp, and interp_vjp_fp's in x, are refused)
    return interp_slope(x, XP, fp) * x + np.sum(interp_vjp_fp(fp * fp, X_AT, XP, fp, None, 0.5) * fp)




@sample((pos(5), pos(3)))
def helper_pad(g, x):
    return unpad(g, x, 1, "constant") * x + unpad(g, x, 1, "reflect") + \
        np.sum(pad_linear(x, 1, "edge") * g)


@sample((pos(4),), (pos(2, 3),))
def helper_sort(x):
    t = x * x
    return sort_take(t, x, -1) + unsort(t, x, -1) * x + partition_take(t, x, 1, -1) + \
        unpartition(t, x, 1, -1)


@sample((apart(5),), (apart(2, 3),))
def helper_quantile(x):
    t = x * x
    return np.sum(quantile_jvp(t, x, [0.3, 0.6], -1, False) ** 2) + \
        np.sum(quantile_vjp(np.sum(t, axis=-1), x, 0.5, -1, False) * x)


@sample((pos(3, 2), pos(3), pos(3)))
def helper_pieces_arrays(g, x, y):
    a, b = uncolumn_stack(g, [x, y])
    c, d = unselect(g[:, 0], [x > 1.0, x > 0.7], [y, 2.0])
    return np.sum(a * x) + np.sum(b * y ** 2) + np.sum(c * y) + \
        np.sum(unarray_split([x[:2], y[:1]], x, 2, 0) * x) + np.sum(unpolyder(x[:2], y, 1) * y)


# y > 1.0 somewhere in each column (mean_where_weight of an empty column is nan)
@sample((pos(3), np.array([[0.6, 1.2, 1.4], [1.3, 0.7, 1.1]])))
def helper_weights_arrays(x, y):
    a = x * select_none([x > 1.0]) + x * where_weight(x > 0.8, x) + y * mean_where_weight(y > 1.0, y, 0)
    b = np.sum(np.transpose(y, rollaxis_axes(2, 1, 0)) * np.rot90(y, 1, rot90_axes(None)))
    c = np.sum(x * vander_powers(x, None, True, 1)) + np.sum(vander_powers(y[0], 2) * x[:2])
    return a + b + c + (x if interp_zero(None) is None else 0.0)


@sample((pos(2), pos(2, 3)), (pos(2), np.array([[0.0, 2.0, 3.0], [1.5, 0.5, 1.2]])))
def helper_prod_vjp(g, x):
    p = np.prod(x, axis=1)
    return prod_vjp(g, x, p, 1, False) * x + np.sum(prod_jvp(x * x, x, p, 1, False) * g)


@sample((pos(5), pos(3), pos(2)))
def helper_concat_items(g, x, y):
    a, b, c = unconcat_items(g, [x, slice(0, 0), y], 1)
    return np.sum(a * x) + np.sum(c * y ** 2) + np.sum(concat_items_jvp([x * x, slice(0, 2), y], [x, slice(0, 2), y], 1) * g[:1])


lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_undiff, helper_gradient, helper_kron, helper_cross, helper_conv, helper_take,
      helper_pad, helper_sort, helper_quantile, helper_pieces_arrays, helper_weights_arrays,
      helper_concat_items, helper_prod_vjp, helper_interp)


# (last: the samples above draw their values first)
@sample((apart(5),), (apart(3, 4),))
def ufunc_accumulate_extremes(x):
    """Running maximum and minimum (no ties: `apart`), along the first and last axis."""
    return np.maximum.accumulate(x) * x + np.minimum.accumulate(x, axis=-1) ** 2


@sample((apart(6), np.linspace(0.2, 1.4, 4)))
def np_positions(x, bins):
    """Integer positions and counts: constants that select entries of x."""
    k = np.searchsorted(bins, 0.9) + np.digitize(0.5, bins)
    return x[k:] ** 2 + np.count_nonzero(x > 0.9) + x[np.flatnonzero(x > 0.5)].sum()


@sample((apart(5), sym(5)))
def helper_accumulate_extreme(x, t):
    """The running max's tangent and adjoint helpers, each linear in its first argument."""
    m = np.maximum.accumulate(x)
    return accumulate_extreme_jvp(t * x, x, m) + accumulate_extreme_vjp(t ** 2, x, m)


lacks("ufunc methods", ufunc_accumulate_extremes)
lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_accumulate_extreme)
lacks("no VJP of np.digitize with respect to its bins", np_positions)


@sample((sym(6),), (sym(4, 5),))
def np_sliding_window_view(x):
    """Overlapping windows (a view): along the last axis, and 2-d windows of a matrix."""
    w = np.lib.stride_tricks.sliding_window_view(x, 3, axis=-1)
    return np.sum(w * np.arange(3.0), axis=-1) ** 2 + np.sum(
        np.lib.stride_tricks.sliding_window_view(x, (2,) * np.ndim(x)) ** 3)


@sample((sym(6), sym(4, 3)))
def helper_unslide(x, g):
    """sliding_window_view's adjoint, linear in g."""
    return unslide(g * x[0], x, 3) * x
lacks("np.lib.stride_tricks.sliding_window_view", np_sliding_window_view)
lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace", helper_unslide)


@sample((sym(4), sym(4)), (sym(2, 3), sym(3)))
def np_changes_in_place(x, v):
    """NumPy's in-place changes as statements on local arrays (srcad: changed copies)."""
    y = x * 1.0
    y.sort()
    z = x * 2.0
    np.copyto(z, v)
    w = x * 1.0
    w.fill(np.sum(v))
    a = x * 0.5
    np.add.at(a, [0, 0], v[0])
    return y * z + w * x + a ** 2


@sample((sym(3, 3), sym(3)), (sym(4, 4), sym(2)))
def np_fill_diagonal(a, v):
    """np.fill_diagonal with a scalar and with values repeated along the diagonal."""
    b = a * 1.0
    np.fill_diagonal(b, v[0] ** 2)
    c = a * 2.0
    np.fill_diagonal(c, v)
    return b * c + b


@sample((sym(4), sym(4)), (sym(3, 3), sym(3)))
def helper_changed_copies(x, v):
    """The helpers srcad calls for in-place changes, as generated code calls them."""
    n = np.shape(x)[0]
    d = diagonal_filled(x, v[0], False) if np.ndim(x) == 2 else x
    g = fill_diagonal_vjp(x * v[0], x, v, False) if np.ndim(x) == 2 else v * 0.0
    return filled(x, np.sum(v)) * sorted_in_place(x * v) + copied_into(x, v * x) + \
        added_at(x, [n - 1, n - 1], v[0]) * d + np.sum(g)
lacks("in-place changes of arrays", np_changes_in_place, np_fill_diagonal)
lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_changed_copies)


@sample((sym(5), sym(2)))
def helper_index_added(acc, g):
    """index_add on a copy (srcad's derivatives of its own code call it): acc kept."""
    b = index_added(acc * 1.0, [1, 3], g)
    return b * acc + index_added(acc, 0, g[0] ** 2)


lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_index_added)



@sample((sym(3, 4), sym(4, 3)))
def np_cross_axes(a, b):
    """np.cross with the vectors along different axes of a, b and the result (given by
    name and by position)."""
    return np.cross(a, b, axisa=0, axisb=-1, axisc=0) + np.cross(a, b, 0, 1, 1).T


@sample((sym(3, 2, 1), sym(2, 4, 3)))
def np_cross_axes_broadcast(a, b):
    """np.cross of an a broadcast against b, its vectors along its first axis; axis=
    overrides axisa, axisb and axisc."""
    return np.cross(a, b, axisa=0) + np.cross(b, b[::-1], axisa=0, axis=-1)


lacks("np.cross of broadcast operands", np_cross_axes_broadcast)


@sample((sym(4, 6),), (sym(3, 4, 4),))
def np_fft_2d_real_and_shifts(x):
    """rfft2 and irfft2 (over the last two axes), fftshift and ifftshift (all axes, one)."""
    y = np.fft.rfft2(x)
    z = np.fft.irfft2(y * np.conj(y), s=x.shape[-2:])
    return np.sin(np.fft.fftshift(z) + np.fft.ifftshift(x, axes=0))


@sample((sym(6), sym(2)), (sym(2, 3), sym(3)))
def np_puts_in_place(x, v):
    """np.put (a repeated entry: the last write stays; v repeats), ndarray.put with mode
    'wrap', np.place, np.putmask, np.put_along_axis and np.subtract.at, as statements on
    local arrays (srcad: changed copies)."""
    y = x * 1.0
    np.put(y, [0, 3, 0], v * 2.0)
    z = x * 2.0
    z.put([1, 7], v[0] ** 2, mode="wrap")
    w = x * 1.5
    np.place(w, x > 0.0, v)
    m = x * 0.5
    np.putmask(m, x < 0.2, v[-1] * x)
    a = x * 1.0
    np.subtract.at(a, [0, 0], v[0])
    b = x ** 2
    np.put_along_axis(b, np.zeros((1,) * np.ndim(x), dtype=int), v[0] * 3.0, axis=-1)
    return y * z + w * x + m ** 2 + a * b


@sample((sym(6), sym(6), sym(2)))
def helper_put_vjps(g, x, v):
    """The adjoint helpers of np.put, np.place, np.putmask and np.put_along_axis."""
    mask = np.array([True, False, True, True, False, True])
    return put_vjp(g * x, [0, 2, 0], v, "raise") * v + place_vjp(g * x, mask, v) + \
        putmask_vjp(g, mask, v ** 2) + put_along_vjp(g * x, np.array([1, 1, 4]), v[0], 0) + \
        np.sum(put_copy(g, [1], v[0], "raise") * placed(g, mask, v) * putmasked(x, mask, v)) + \
        np.sum(put_along(g, np.array([2]), v[1], 0)) + np.sum(subtracted_at(g, [0, 0], v[0]))


lacks("in-place changes of arrays", np_puts_in_place)
lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_put_vjps)


@sample((sym(3),), (sym(2, 3),))
def np_layout_conversions(x):
    """np.ascontiguousarray, np.asfortranarray, np.asanyarray and x.view(): the identity on
    values (the same array, or a copy in the layout asked for)."""
    a = np.ascontiguousarray(x * 2.0)
    b = np.asfortranarray(x ** 2)
    c = np.asanyarray(np.sin(x))
    return a * b + c * (x * 3.0).view() + np.ascontiguousarray(x, dtype=np.float64)


lacks("x.view()", np_layout_conversions)


# ============================================================ builtins and math (session 7)
@sample((pos() + 2.0, pos()), (pos(3) + 2.0, pos(3)))
def py_pow_divmod(x, y):
    """pow of two arguments (as **); divmod: the floor part constant, the remainder as %."""
    q, r = divmod(x, y)
    return pow(x, 3) + pow(x, y) + q * x + r * y + divmod(x, 0.3)[1]


lacks("divmod of autograd's boxes", py_pow_divmod)


@sample((sym(), pos()), (sym(), -pos()))
def math_copysign_fmod_ldexp(x, y):
    return math.copysign(x * x, y) + math.copysign(x, -1.0) * y + math.fmod(x * 3.0, y) + \
        math.ldexp(x, 3) * math.ldexp(y, -1)


lacks("math functions of autograd's boxes", math_copysign_fmod_ldexp)


@sample((sym(), sym()))
def math_prod_fsum_dist(x, y):
    return math.prod([x, y, x * y]) + math.fsum([x, y * y, 0.5]) + \
        math.dist([x, 1.0], [y, x * y]) + math.dist((x, y), (0.5, -0.5)) * math.prod((y, 2.0))


lacks("math functions of autograd's boxes", math_prod_fsum_dist)


@sample((sym(4), sym(1)), (sym(2, 3), d0(sym())))
def item_tolist(x, v):
    """x.item() of a one-entry array, x.tolist() of a vector and of a matrix (nested)."""
    rows = x.reshape(2, -1).tolist()
    return v.item() * rows[0][1] + rows[1][0] ** 2 + sum(np.ravel(x * v).tolist())


lacks("x.item() and x.tolist() of autograd's boxes", item_tolist)


# ============================================================ NumPy elementwise (session 7)
@sample(*binary(sym))
def np_copysign_float_power_ldexp(x, y):
    return np.copysign(x, y) * np.float_power(np.abs(x) + 0.5, 1.5) + np.ldexp(x, 2) + \
        np.float_power(np.abs(y) + 0.5, x) + np.ldexp(y, -3)


lacks("no VJP of np.copysign", np_copysign_float_power_ldexp)


@sample(*[(x + 2.0, y) for x, y in binary(pos)])
def np_modf_divmod_frexp(x, y):
    """modf and divmod: the fractional part and remainder slope 1, the integral and floor
    parts 0; frexp's mantissa slopes 2**-e, its exponent 0."""
    f, i = np.modf(x * 3.0)
    q, r = np.divmod(x, y)
    m, e = np.frexp(x * y)
    return f * y + i * x + r * x + q * y + m * y + e * x


lacks("no VJP of np.divmod", np_modf_divmod_frexp)


@sample(*unary(sym), (np.array([0.0, 2.4, -7.1]),))
def np_i0_around(x):
    """np.i0 (its slope I1, 0 at 0) and np.around (constant)."""
    return np.i0(x) * np.sin(x) + np.around(x, 1) * x + np.around(x * 3.0)


lacks("no VJP of np.i0", np_i0_around)


@sample((sym(5),), (np.array([0.0, 1e-3, -4.0, 12.0]),))
def helper_bessel_i1(x):
    """I1 (np.i0's derivative) and its own slope, for second derivatives of np.i0."""
    return bessel_i1(x) * x


@sample((sym(2, 3), sym(2, 3)))
def helper_untolist(g, x):
    return untolist(g.tolist(), x) * x + untolist([g[0].tolist(), 0.0], x) * x


lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_bessel_i1, helper_untolist)


# ============================================================ nan-aware reductions (session 7)
def nanned(a):
    """`a` with a nan at its flat position 1 (a nan entry carries no derivative)."""
    a.flat[1] = np.nan
    return a


@sample((nanned(sym(3, 3)),), (nanned(sym(5)),), (nanned(sym(3, 2, 2)),))
def np_nan_sums(x):
    """nansum, nanmean, nanprod, nancumsum, nancumprod (axis and keepdims as the plain ones)."""
    return np.nansum(x) ** 2 + np.sum(np.nanmean(x, axis=0) ** 2) + np.nanprod(x) + \
        np.sum(np.nansum(x, axis=-1, keepdims=True) * np.nanmean(x, axis=-1, keepdims=True)) + \
        np.sum(np.nancumsum(x) ** 2) + np.sum(np.nancumprod(x, axis=0)) + \
        np.sum(np.nanprod(x, axis=0) ** 2)


@sample((nanned(apart(3, 3)),), (nanned(apart(5)),), (nanned(apart(3, 2, 2)),))
def np_nan_spread(x):
    """nanvar, nanstd (ddof), nanmax and nanmin."""
    return np.nanvar(x) + np.sum(np.nanstd(x, axis=0, ddof=1)) + np.nanmax(x) * \
        np.sum(np.nanmin(x, axis=-1, keepdims=True)) + np.sum(np.nanvar(x, axis=-1) ** 2) + \
        np.sum(np.nanmax(x, axis=0))


lacks("no VJP of autograd's nan-aware reductions", np_nan_sums, np_nan_spread)


@sample((nanned(sym(3, 3)),))
def helper_nan_weights(x):
    y = np.where(np.isnan(x), 0.0, x)
    return not_nan(x) * y + nan_inv_count(x, 0, True, 1) * y
lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace", helper_nan_weights)


# ============================================================ NumPy 2's array-API names (session 7)
@sample((sym(2, 3, 3),), (sym(3, 4),))
def np_array_api_matrices(x):
    """matrix_transpose (np and np.linalg), linalg.diagonal, linalg.trace, matrix_norm
    ('fro', 'nuc') and svdvals of matrices and stacks."""
    a = np.sum(np.matrix_transpose(x) * np.linalg.matrix_transpose(x ** 2))
    b = np.sum(np.linalg.diagonal(x, offset=1) ** 2) + np.sum(np.linalg.trace(x) ** 2)
    c = np.sum(np.linalg.matrix_norm(x)) + np.sum(np.linalg.matrix_norm(x, ord="nuc", keepdims=True))
    return a + b + c + np.sum(np.linalg.svdvals(x) ** 2)


@sample((sym(3), sym(3)), (sym(2, 3), sym(3)), (sym(4, 3), sym(4, 3)))
def np_array_api_vectors(x, y):
    """vecdot (np and np.linalg), linalg.outer, linalg.cross of 3-vectors, vector_norm (over
    all axes of a matrix too, ord 2, 1, 3 and inf)."""
    a = np.sum(np.linalg.vecdot(x, y) ** 2) + np.sum(np.vecdot(x * y, y, axis=-1))
    b = np.sum(np.linalg.cross(x, y) ** 2) + np.sum(np.linalg.outer(np.ravel(x), np.ravel(y)[:2]) ** 2)
    c = np.linalg.vector_norm(x) + np.sum(np.linalg.vector_norm(y, axis=-1, ord=3, keepdims=True) *
                                          np.linalg.vector_norm(x, ord=1, axis=-1))
    return a + b + c + np.linalg.vector_norm(x * y, ord=np.inf)


@sample((sym(4),), (sym(2, 3),))
def np_cumulative_unstack(x):
    """cumulative_sum and cumulative_prod (include_initial too) and unstack (one item used)."""
    a = np.cumulative_sum(x, axis=-1) ** 2
    b = np.cumulative_sum(x, axis=0, include_initial=True) ** 3
    c = np.cumulative_prod(x, axis=-1, include_initial=True)
    return np.sum(a) + np.sum(b) + np.sum(c) + np.sum(np.unstack(x * 2.0)[0] ** 2) + \
        np.sum(np.unstack(x, axis=-1)[1])


lacks("NumPy 2's array-API functions", np_array_api_matrices, np_array_api_vectors,
      np_cumulative_unstack)


@sample((sym(3, 3), pos(), pos()), (sym(2, 3, 3), pos(), pos()))
def np_cond_spaces(x, a, b):
    """cond (the 2-norm: s_max / s_min), logspace (bases 10 and 2) and geomspace."""
    c = np.sum(np.linalg.cond(x + 2.0 * np.eye(3)))
    d = np.sum(np.logspace(a, b, 4)) + np.sum(np.logspace(a, b, 5, base=2.0, endpoint=False) ** 2)
    return c + d + np.sum(np.geomspace(a, b + 1.0, 4) ** 2)


lacks("np.linalg.cond", np_cond_spaces)


@sample((sym(5), sym(6)), (sym(2, 3), sym(3, 3)))
def helper_cumulative_initial(g, like):
    """initial_dropped and initial_zero_added (transposes), ununstack of one unused item."""
    d = initial_dropped(g * 1.0, g, 0, False) + initial_dropped(like, like, 0, True)[:np.shape(g)[0]]
    e = initial_zero_added(g ** 2, 0, True)
    return np.sum(d * g) + np.sum(e * like[:np.shape(e)[0]]) + \
        np.sum(ununstack([g[0] ** 2, 0.0], g[:2], 0) * g[:2])


lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_cumulative_initial)


# ============================================================ multi_dot, cov, corrcoef (session 7)
@sample((sym(3), sym(3, 4), sym(4, 2)), (sym(2, 3), sym(3, 4), sym(4)))
def np_multi_dot(a, b, c):
    """multi_dot of three factors, a 1-d first or last one as a row or a column; of two."""
    return np.sum(np.linalg.multi_dot([a, b, c]) ** 2) + \
        np.sum(np.linalg.multi_dot([b.T, a.T]) ** 3)


@sample((sym(3, 5), sym(5)), (sym(2, 6), sym(6)))
def np_cov_corrcoef(m, y):
    """cov (rowvar, bias, ddof, a second variable y) and corrcoef (rowvar, y)."""
    a = np.sum(np.cov(m) ** 2) + np.sum(np.cov(m, y, bias=True) * 2.0) + \
        np.sum(np.cov(m.T, rowvar=False, ddof=2) ** 2) + np.cov(y) + np.cov(y, y * y)[0, 1]
    b = np.sum(np.corrcoef(m) ** 2) + np.sum(np.corrcoef(m.T, y, rowvar=False) ** 2)
    return a + b + np.corrcoef(y, np.sin(y))[0, 1]


lacks("no VJP of np.cov", np_cov_corrcoef)


@sample((nanned(apart(3, 4)),), (nanned(apart(5)),), (nanned(apart(2, 3, 2)),))
def np_nanmedian(x):
    """nanmedian of all entries, along an axis (slices of odd and even counts), keepdims."""
    return np.nanmedian(x) ** 2 + np.sum(np.nanmedian(x, axis=0) ** 2) + \
        np.sum(np.nanmedian(x, axis=-1, keepdims=True) * x[..., :1])


@sample((nanned(apart(3, 4)),))
def helper_nanmedian_weight(x):
    return np.where(np.isnan(x), 0.0, x) * nanmedian_weight(x, 1)


lacks("no VJP of autograd's nan-aware reductions", np_nanmedian)
lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_nanmedian_weight)


@sample((well(6, 6).reshape(2, 3, 6), sym(2, 3)), (well(4, 4), sym(4)))
def np_tensorsolve_tensorinv(a, b):
    """tensorsolve (axes=None) and tensorinv (ind 1 and 2) of well-conditioned tensors."""
    m = a.reshape(np.shape(b) + (-1,))
    return np.sum(np.linalg.tensorsolve(m, b) ** 2) + \
        np.sum(np.linalg.tensorinv(m, ind=np.ndim(b)) ** 2) + \
        np.sum(np.linalg.tensorinv(np.reshape(m, (np.size(b), -1)), ind=1) * 2.0)


lacks("no VJP of np.linalg.tensorsolve", np_tensorsolve_tensorinv)


@sample((apart(6),), (sym(2, 3),))
def np_unique_lexsort(x):
    """unique (of distinct values: ties are tests/rules/test_rule_conventions.py's) and lexsort."""
    u = np.unique(x * 2.0)
    order = np.lexsort((np.ravel(x), np.ravel(x) > 0))
    return np.sum(u ** 2 * np.arange(np.size(u))) + np.sum(np.ravel(x)[order] * np.arange(np.size(x)))


lacks("no VJP of np.unique", np_unique_lexsort)


@sample((sym(6), apart(6)))
def helper_unique(g, ar):
    return np.sum(ununique(g, ar) * ar) + np.sum(unique_take(ar * 1.5, ar) * g)


lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace", helper_unique)


@sample((apart(6), sym(6)), (apart(5), sym(5, 2)))
def np_polyfit(x, y):
    """polyfit of 1-D and 2-D y, weighted and not, degrees 0 to 2 (full rank)."""
    a = np.sum(np.polyfit(x, y, 2) ** 2) + np.sum(np.polyfit(x, y, 0) * 3.0)
    return a + np.sum(np.polyfit(x, y, 1, w=np.linspace(0.5, 1.5, np.shape(x)[0])) ** 3)


lacks("no VJP of np.polyfit", np_polyfit)


@sample((sym(3, 3),), (sym(4, 4),))
def np_round_decimals_indices_from(a):
    """np.round with decimals (no derivative), and the triangles' and diagonal's positions."""
    b = a * np.round(a, 1) + a ** 2 * np.round(a)
    return np.sum(b[np.triu_indices_from(a, 1)] ** 2) + np.sum(a[np.tril_indices_from(a)] ** 3) \
        + np.sum(a[np.diag_indices_from(a)] ** 4)


lacks("autograd tries to differentiate np.triu_indices_from and the other positions (no VJP)",
      np_round_decimals_indices_from)


@sample((0.7, 0.35), (-1.3, 0.45))
def np_arange_from_values(a, h):
    """np.arange of a varied start and step: start + i step (it was taken as a constant)."""
    return np.sum(np.arange(a, a + 2.0, h) ** 2) + np.sum(np.arange(h, 3.0) * a) + \
        np.sum(np.arange(0.0, 1.0, h, dtype=float) ** 3) + np.sum(np.arange(3) * h)


lacks("autograd takes np.arange for a constant", np_arange_from_values)


@sample((sym(5),), (sym(2, 3),))
def ndarray_take_round_methods(x):
    """x.take and x.round as methods (refused as unknown methods before)."""
    return np.sum(x.take([0, 1, 1]) ** 3) + np.sum(x.take([1, 0], axis=0) ** 2) + \
        np.sum(x.round(1) * x) + np.sum(x.round() * x ** 2)


lacks("autograd has no VJP of np.take", ndarray_take_round_methods)


@sample((apart(2, 3),), (apart(3, 4),))
def positions_by_axis_and_methods(x):
    """argmax/argmin/argsort with axis=, argpartition, nonzero, all/any, searchsorted, as
    functions and methods, and compress (np.argmax(x, axis=1) was refused)."""
    rows = np.arange(np.shape(x)[0])
    a = np.sum(x[rows, np.argmax(x, axis=1)] ** 2) + np.sum(x[rows, x.argmin(axis=1)] ** 3)
    b = np.sum(np.take_along_axis(x, np.argsort(x, axis=1), axis=1) * np.arange(np.shape(x)[1]))
    f = np.ravel(x)
    c = np.sum(f[f.argsort()] * np.arange(np.size(f))) + np.sum(f[np.argpartition(f, 1)[:2]] ** 2)
    d = np.sum(f[np.nonzero(f > 0.5)] ** 2) + np.sum(f[(f > 0.7).nonzero()]) + \
        (2.0 if np.all(f > 0.0) and f.any() else 1.0) * f[np.sort(f).searchsorted(0.6) % np.size(f)]
    return a + b + c + d + np.sum(x.compress([True, False], axis=1) ** 2) + \
        np.sum(np.compress([False, True], x, axis=0) ** 3)


lacks("autograd's ArrayBox has no methods argsort, compress, nonzero", positions_by_axis_and_methods)


@sample((sym(2, 5), sym(2), sym(3), sym(5)))
def helper_block(g, x, y, z):
    """np.block's adjoint and its transpose (what grad(grad) of np.block calls)."""
    (a, b), (c,) = unblock(g, [[x, y], [np.ravel(z) * x[0]]])
    h = reblock([[x * 2.0, y ** 2], [np.ravel(z)[:3] * 0.5, 0.0]], [[x, y], [y, x]])
    return np.sum(a * x) + np.sum(b * y ** 2) + np.sum(c * np.ravel(z)) + np.sum(h * g ** 2)


lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace", helper_block)


@sample((sym(3),), (sym(2, 3),), (sym(4),))
def attr_complex_parts(x):
    """.real and .imag of complex intermediates (.imag was a constant zero, silently)."""
    z = np.fft.fft(x) * (1.0 + 0.5j)
    return z.imag ** 2 + z.real * x + z.conj().imag * x + (z * z.conj()).real


lacks("autograd's ArrayBox has no .imag", attr_complex_parts)


@sample((sym(3), sym(3), sym(2, 3)))
def helper_unpacked(g, x, m):
    """The adjoint of `a, b, c = x` (unpacked) and its transpose (what grad(grad) calls)."""
    a, b, c = x
    r = unpacked((a * g[0], b * g[1] ** 2, np.sin(c)), x)
    p, q = unpacked_items(m * g[0], m)
    return np.sum(r * x) + np.sum(p * q) + np.sum(unpacked((q, p * x), m) ** 2)


lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace", helper_unpacked)


# ============================================================ reductions: initial=, where= of each, dtype= of ufuncs
@sample((pos(2, 3), pos()), (pos(4), pos()), (pos(2, 3, 2), pos()))
def reductions_initial(x, c):
    """initial= of np.sum and np.prod, as functions and methods: a varied initial (c) is a
    derivative input (refused before)."""
    a = np.sum(x, initial=c) + np.sum(np.sum(x, axis=0, initial=2.0) ** 2) + \
        np.sum(x.sum(axis=-1, initial=c * c, keepdims=True) ** 2)
    b = np.prod(x, initial=c) + np.sum(np.prod(x, axis=-1, initial=1.5, where=x > 0.8) ** 2)
    return a + b + np.sum(x.prod(axis=0, initial=c) ** 2) + x.sum(initial=1.0, where=x < 1.2)


lacks("its adjoints of np.sum and np.prod ignore initial= and where=", reductions_initial)


@sample((pos(2, 3), pos()), (pos(5), pos()), (pos(3, 4), pos()))
def extremes_initial_where(x, c):
    """initial= and where= of np.max, np.min, np.amax, np.amin and the methods: initial
    takes part in the selection (it gets the derivative where it is the extreme)."""
    a = np.max(x, initial=c) + np.sum(np.min(x, axis=0, initial=c) ** 2) + \
        np.sum(np.amax(x, axis=-1, initial=1.0) ** 3)
    b = np.amin(x, initial=0.9, where=x > 0.7) + \
        np.sum(np.max(x, axis=0, initial=c, where=x < 1.2, keepdims=True) ** 2)
    return a + b + x.max(initial=c) * x.min(initial=c, where=x > 1.0)


lacks("its adjoints of np.max and np.min ignore initial= and where=", extremes_initial_where)


@sample((pos(2, 3),), (pos(6),), (pos(2, 4),))
def spread_where(x):
    """where= of np.var and np.std (and their methods): the spread of the counted entries."""
    k = x < np.max(x, axis=-1, keepdims=True)          # all but each row's largest entry
    a = np.sum(np.var(x, axis=-1, where=k) ** 2) + np.std(x, where=x > 0.6) + x.var(where=k, ddof=1)
    return a + np.sum(x.std(axis=-1, where=k, keepdims=True) ** 3) + np.sum(np.std(x, axis=-1, where=k, ddof=1))


lacks("its adjoints of np.var and np.std ignore where=", spread_where)


@sample((sym(2, 3), pos(2, 3)), (sym(4), pos()))
def ufunc_dtype(x, y):
    """dtype= of ufuncs (here the input's own dtype: float32 stays float32)."""
    t = x.dtype
    a = np.exp(x, dtype=t) + np.sin(x, dtype=t) * np.add(x, y, dtype=t) + np.hypot(x, y, dtype=t)
    b = np.multiply(x, y, dtype=t) ** 2 + np.abs(x, dtype=t) * np.logaddexp(x, y, dtype=t)
    return np.sum(a + b - np.square(x, dtype=t)) + np.sum(np.maximum(x, y, dtype=t), dtype=t)


@sample((pos(2, 3), pos(3)), (pos(4), pos()))
def ufunc_dtype_float64(x, y):
    """dtype= of ufuncs and reductions casting to float64 (a float32 input's derivatives
    are float64 like its result, and its gradient float32 again)."""
    a = np.sqrt(x, dtype=np.float64) * np.power(x, y, dtype=float) + np.log(x, dtype=np.float64)
    return np.sum(a, dtype=np.float64) + np.prod(np.divide(x, y, dtype=np.float64), dtype=np.float64)


lacks("its VJPs of ufuncs take no dtype=", ufunc_dtype, ufunc_dtype_float64)


@sample((pos(2, 3), pos()), (pos(4), pos()))
def helper_extreme_spread_weights(x, c):
    """The weights of the max/min and var/std forms above, as gradient code calls them."""
    m = np.max(x, axis=0, initial=c)
    a = np.sum(x * extreme_where_weight(x, m, 0, False, c, x > 0.7)) + \
        np.sum(m * extreme_initial_weight(x, m, 0, False, c, x > 0.7))
    return a + np.sum(x * where_spread_inv_count(x > 0.6, x, -1, 1, True)) + np.sum(where_spread_inv_count(x > 0.7, x, -1, 0))


lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_extreme_spread_weights)


@sample((sym(3), sym(3)), (0.7, -1.3))
def helper_times_or_zero(t, w):
    """t * w, 0 where t == 0: the exponent's tangent of a power (what second order calls)."""
    return np.sum(times_or_zero(t * w, np.sin(w)) + times_or_zero(0.0 * t, w) * 3.0)


lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_times_or_zero)


_SCALE_BY = __import__("functools").partial(np.multiply, 3.0)
from srcad.runtime import partial_arg  # noqa: E402


@sample((sym(3),))
def partial_arguments(x):
    """partial_arg: what a functools.partial an object holds binds, read live (no derivative)."""
    return x * partial_arg(_SCALE_BY, 0)


lacks("srcad's runtime helpers are no autograd primitives", partial_arguments)


class _Held:
    """An object of a class of the user's, the item held_as checks the class of."""


_HELD_ITEMS = [_Held()]
_HELD_KIND = __import__("srcad").funcs.holding([0.0, _HELD_ITEMS[0]])
from srcad.runtime import held_as  # noqa: E402


@sample((sym(3),))
def held_objects(x):
    """held_as: a global's list of objects, checked to hold the classes it held when the
    derivative was built (no derivative through the check: the list itself)."""
    xs = held_as([x * 2.0, _HELD_ITEMS[0]], _HELD_KIND, "fixtures_arrays.py:1")
    return xs[0] * x


lacks("srcad's runtime helpers are no autograd primitives", held_objects)


# ============================================================ ufuncs' out= with where=, casting= (session 11)
@sample((pos(2, 3), sym(2, 3)), (pos(4), sym(4)), (pos(2, 3), sym(3)))
def ufunc_out_where(x, y):
    """out= with where= of elementwise ufuncs: into a local array (its kept entries carry
    its own derivative), into a fresh array (zeros_like, ones_like, a copy), a scalar
    written into a larger array (its adjoint summed), np.log where its argument is
    negative or np.divide where it divides by small values left out, np.sign (no
    derivative of its own: into's entries alone), and casting=."""
    acc = x * y
    np.multiply(acc, y, out=acc, where=x > 1.0)
    np.exp(y, out=acc, where=y > 0.5)
    np.sign(y, out=acc, where=y < -0.9)
    z = np.log(y, out=np.zeros_like(acc), where=y > 0.0)
    w = np.divide(x, y, out=np.ones_like(acc), where=np.abs(y) > 0.6, casting="same_kind")
    s = np.sqrt(np.sum(x), out=np.zeros_like(acc), where=x > 0.8)
    v = np.hypot(x, y, out=(acc * 2.0).copy(), where=x < 1.2)
    return np.sum(acc * x + z * w + s) + np.sum(v ** 2) + np.sum(np.multiply(x, y, casting="unsafe"))


@sample((pos(2, 3),), (pos(4),))
def ufunc_parts_dtype(x):
    """dtype= of np.divmod, np.modf and np.frexp (None: its only loop), in the input's dtype."""
    q, r = np.divmod(x, 0.3, dtype=x.dtype)
    f, i = np.modf(x * 3.0, dtype=x.dtype)
    m, e = np.frexp(x, dtype=None)
    return np.sum(r ** 2 * x + f ** 2 + m ** 2 + np.divmod(0.7, x, dtype=x.dtype, casting="same_kind")[1] ** 2)


lacks("its ufuncs take no out=, where= or dtype=", ufunc_out_where, ufunc_parts_dtype)


from srcad.runtime_arrays import masked_put, masked_take  # noqa: E402


@sample((sym(2, 3), sym(3)), (sym(4), sym(4)))
def helper_masked_take_put(x, g):
    """The gather and scatter of a masked ufunc's derivative (what second order calls)."""
    m = x > 0.0
    v = masked_take(g * x[0], m, x) * masked_take(x, m, x)
    return masked_put(v, m, x) * x + masked_put(masked_take(x ** 2, m, x), m, x)


lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_masked_take_put)


@sample((pos(3, 4), sym(3, 4)), (pos(5), sym(5)))
def helper_prod_jvp_where(x, t):
    """prod_jvp with where= (np.prod(..., where=)'s tangent: the entries left out count for
    nothing, x 1 there), on the dividing path and, through a zero, on prod_others'."""
    m = x > 0.8
    xm = np.where(m, x, 1.0)
    p = np.prod(xm, axis=-1)
    z = np.where(np.arange(x.shape[-1]) == 1, 0.0, xm)
    return np.sum(prod_jvp(t * x, xm, p, -1, False, m) ** 2) + \
        np.sum(prod_jvp(t, z, np.prod(z, axis=-1), -1, False, m) * x[..., 0])


lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_prod_jvp_where)


@sample((pos(3, 5), spaced(5)), (pos(6), spaced(6)), (pos(2, 4), spaced(2, 4)))
def np_trapezoid(y, t):
    """np.trapezoid (NumPy 2's np.trapz) over sample points (1-d, or shaped as y), a spacing
    dx (varied) and unit spacing, along either axis."""
    a = np.trapezoid(y ** 2, t) + np.trapezoid(y, dx=t[..., 1:2] - t[..., :1])
    return np.sum(a ** 2) + np.sum(np.trapezoid(np.sin(y), axis=0))


lacks("its numpy has no np.trapezoid", np_trapezoid)


from srcad.runtime import items_adjoint, items_tangent  # noqa: E402


@sample((sym(3), sym(3)))
def iterated_tangents(t, x):
    """items_tangent, items_adjoint: items_of's tangent and adjoint (an array's own; a dict's
    keys would have none), each linear in its first argument."""
    return items_tangent(t, x) * x + items_adjoint(t * x, x) * t


lacks("srcad's runtime helpers are no autograd primitives", iterated_tangents)


from srcad.runtime import unpacked_rows  # noqa: E402


@sample((sym(3), sym(3), sym(2, 3)))
def helper_unpacked_rows(g, x, m):
    """The adjoint of `a, b, c = x` where x is known to be an array (unpacked_rows), and its
    transpose unpacked_items (what grad(grad) calls)."""
    a, b, c = x
    r = unpacked_rows((a * g[0], b * g[1] ** 2, np.sin(c)), x)
    p, q = m
    return np.sum(r * x) + np.sum(unpacked_rows((q * g[2], p * x), m) ** 2)


lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_unpacked_rows)


# np.interp computes in float64 whatever its inputs' dtype: its derivatives keep float32
UPCASTS = {"np_interp": "np.interp", "np_interp_edges": "np.interp"}


from srcad.runtime_arrays import gram_solve  # noqa: E402


@sample((apart(6), sym(3)), (apart(7), sym(3, 2)))
def helper_gram_solve(x, h):
    """gram_solve(h, x, w, deg): polyfit's G^-1 h (G = V^T W^2 V), linear in h, in x through
    V (weights constant, as np.polyfit's)."""
    w = np.linspace(0.5, 1.5, np.shape(x)[0])
    return gram_solve(h * x[:3].reshape((3,) + (1,) * (np.ndim(h) - 1)), x, None, 2) + \
        gram_solve(h, x, w, 2) ** 2


lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_gram_solve)


@sample((apart(6), sym(6, 5)), (apart(8), sym(8, 3)))
def np_polyfit_columns(x, y):
    """polyfit of more columns of y than coefficients (its adjoint in x takes products with
    x's powers, not y-sized arrays), weighted and not."""
    w = np.linspace(0.5, 1.5, np.shape(x)[0])
    return np.sum(np.polyfit(x, y, 1) ** 2) + np.sum(np.polyfit(x, y * y, 2, w=w) ** 3)


lacks("no VJP of np.polyfit", np_polyfit_columns)
