"""The handbook of NumPy's array functions: differences, products of arrays, interpolation,
averages and order statistics, sorting, moving entries (take, insert, delete, pad, block,
...), selections, angles and complex parts, and the ufunc methods `np.add.reduce` & co.
Their helpers live in srcad/runtime_arrays.py (imported by generated code from there).

Functions that only move entries (take, take_along_axis, insert, delete, append, pad, block,
rot90, rollaxis, atleast_*d, the splits and stacks) have the same function of the tangent
as tangent, and adjoints that send each entry of `out_bar` back, repeats adding up.
Functions of several arrays broadcast as NumPy does; `axis` and `keepdims` are taken where
NumPy takes them.

Conventions where a derivative does not exist or a parameter is not differentiated:
  sort and partition send the derivative along the permutation they apply (ties: the order
  of a stable sort); median, percentile and quantile (method 'linear' only) weight the two
  order statistics they interpolate, ties as sort's; their `q` is not differentiated
  (an active q is refused); ptp's ties split as max's and min's do.
  heaviside(x1, x2) has derivative 0 in x1 (also at 0, a jump) and 1 in x2 where x1 == 0;
  mod, remainder and fmod have slope 1 in x and -(x // y) (fmod: -trunc(x / y)) in y, the
  jumps taken as constant pieces; nan_to_num has slope 1 at finite entries and gives the
  replaced entries' derivative to nan/posinf/neginf; sinc'(0) = 0.
  interp has the slope of the segment x lies in (the right one at a knot, the last one at
  xp[-1]) and 0 outside [xp[0], xp[-1]], where left/right take the derivative; xp and fp
  are differentiated too (period= is not supported).
  np.gradient is differentiated with a scalar spacing along one axis (a 1-d f or an int
  axis), in f and in the spacing (the result is G(f) / h); np.cross for 3-vectors; np.pad for modes constant, edge, reflect, symmetric and
  wrap (constant_values is not differentiated); np.average without returned=.
  real inputs: imag and angle are constant (zero derivative), real, conj and real_if_close
  the identity; a complex value's parts follow autograd's conventions.
  ufunc methods: np.add.reduce, multiply.reduce, maximum.reduce (ties split), minimum.reduce,
  logaddexp.reduce (the softmax), add.accumulate, multiply.accumulate and np.add.at (on a
  copy the function made: it adds in place) differentiate as sum, prod, max, cumsum, cumprod
  and index_add.
  copysign has slope sign(x) sign(out) in x (0 at x = 0) and none in y; float_power's are
  **'s; ldexp is linear in x1 (x2 integer); modf's fractional part and divmod's remainder
  have slope 1 (and -(x // y) in y), their integral and floor parts none, frexp's mantissa
  2**-e and its exponent none (the jumps at integers, multiples and powers of two taken as
  constant pieces); i0' = I1 (SciPy's i1, or its series without SciPy), i0'(0) = 0;
  around is constant. math.prod and math.fsum of a list or tuple; math.dist of two points
  is nan where they coincide (0/0, as np.linalg.norm at 0); x.item() is float(x) and
  x.tolist() its entries as nested lists.
  nansum, nanmean, nanprod, nanvar, nanstd, nanmax, nanmin, nanmedian (ties as median's),
  nancumsum and nancumprod differentiate as the plain reductions of the entries that are not nan (axis, keepdims,
  ddof as theirs): a nan entry has zero derivative; a slice of nan entries only has a nan
  value and gives nan (or zero) derivatives.
  NumPy 2's array-API names differentiate as the functions they compose: vecdot (real
  operands) as sum(x1 x2, axis); vector_norm as np.linalg.norm's vector norms over all the
  axes it reduces (never a matrix norm; nan at 0); matrix_norm as norm over the last two
  axes ('fro', 'nuc', 2, -2: norm's conventions on ties and zero singular values); svdvals
  as svd's values (repeated singular values: svd's convention); linalg.cross, outer,
  diagonal, trace, matrix_transpose, cumulative_sum, cumulative_prod (include_initial's
  first slice is a constant) and unstack as cross, outer, diagonal, trace, .mT, cumsum,
  cumprod and indexing. cond (p=None or 2: s_max / s_min; other p raise NotImplementedError) through the
  singular values' derivatives (nan or inf where s_max or s_min is repeated). logspace and
  geomspace in start and stop (their base, num and axis constant). multi_dot as its chain
  of products; cov (m, y, rowvar, bias, ddof; fweights and aweights refused) and corrcoef
  (x, y, rowvar; its clip to [-1, 1] taken as the identity, nan where a variable is
  constant, as its value). tensorinv and tensorsolve (axes=None; axes= is refused) as inv
  and solve of the matrix NumPy reshapes a to. unique (no return_* arguments) gives each
  distinct value the derivative of its first occurrence (tied entries get none).
"""
import math
import operator

import numpy as np

from .. import runtime, runtime_arrays as ra
from .methods import MethodRule, defmethod
from . import ANY, FLOAT, NONE, add_lazy_names, defalias, deflinear, defpartials, defrule, \
    defunary, defvariant, lookup, refuse

add_lazy_names(ra)

# ------------------------------------------------------------ elementwise
defunary(np, "np", {"deg2rad": "0.017453292519943295", "radians": "0.017453292519943295",
                    "rad2deg": "57.29577951308232", "degrees": "57.29577951308232",
                    # sinc(x) = sin(pi x) / (pi x): (cos(pi x) - sinc(x)) / x, 0 at 0, a
                    # helper whose derivative has the limit at 0 too (the quotient's is 0)
                    "sinc": "sinc_slope(x)"})
defrule(ra.sinc_slope, "x", name="sinc_slope", jvp="x_dot * sinc_curvature(x)",
        vjp="out_bar * sinc_curvature(x)")
# a third derivative of sinc is refused (its limits at 0 are not written)
refuse(defrule(ra.sinc_curvature, "x", name="sinc_curvature", jvp={}, vjp={}), "x")
defpartials(np.logaddexp2, "x, y", name="np.logaddexp2",
            partials={"x": "np.exp2(x - out)", "y": "np.exp2(y - out)"})
defrule(np.heaviside, "x1, x2", name="np.heaviside",
        jvp={"x2": "bcast(x2_dot * (x1 == 0), out)"},
        vjp={"x2": "unbroadcast(out_bar * (x1 == 0), x2)"}, zero_in="x1")
defalias(np.mod, lookup(operator.mod), "np.mod")      # np.remainder is np.mod
defrule(np.fmod, "x, y", name="np.fmod",
        jvp={"x": "bcast(x_dot, out)", "y": "-(y_dot * np.trunc(x / y))"},
        vjp={"x": "unbroadcast(out_bar, x)", "y": "unbroadcast(-(out_bar * np.trunc(x / y)), y)"})
defrule(np.nan_to_num, "x, *, nan=0.0, posinf=None, neginf=None", name="np.nan_to_num",
        jvp={"x": "np.where(np.isfinite(x), x_dot, 0.0)", "nan": "nan_dot * np.isnan(x)",
             "posinf": "posinf_dot * np.isposinf(x)", "neginf": "neginf_dot * np.isneginf(x)"},
        vjp={"x": "np.where(np.isfinite(x), out_bar, 0.0)",
             "nan": "unbroadcast(out_bar * np.isnan(x), nan)",
             "posinf": "unbroadcast(out_bar * np.isposinf(x), posinf)",
             "neginf": "unbroadcast(out_bar * np.isneginf(x), neginf)"})
for _f in (np.isposinf, np.isneginf):
    defrule(_f, "x", name=f"np.{_f.__name__}", kind=ANY, differentiable=False)

# ------------------------------------------------------------ real and complex parts
# an adjoint reaching a real value may be complex (Re(g t) pairs it with the real tangent t),
# so a real output's rules read only out_bar's real part: for a complex x, out_bar's imaginary part
# would otherwise pair with x's
deflinear(np.real, "x", name="np.real", vjp="np.real(out_bar)", storage="view")
defrule(np.imag, "x", name="np.imag", kind=ANY, jvp="np.imag(x_dot)", vjp="imag_vjp(out_bar, x)")
# the attributes .real and .imag are these functions (a complex intermediate's parts carry
# derivatives; of a real value .imag is a constant zero)
defrule(("attr", "real"), "x", primal="x.real", kind="first", storage="view",
        jvp="x_dot.real", vjp="np.real(out_bar)")
defrule(("attr", "imag"), "x", primal="x.imag", kind=ANY, jvp="np.imag(x_dot)",
        vjp="imag_vjp(out_bar, x)")
deflinear(np.conj, "x", name="np.conj", vjp="np.conj(out_bar)")
defrule(np.angle, "x", name="np.angle", kind=ANY, jvp="angle_jvp(x_dot, x)",
        vjp="angle_vjp(out_bar, x)")
defrule(np.real_if_close, "x, tol=100", name="np.real_if_close", kind=ANY,
        jvp="np.real_if_close(x_dot, tol)", vjp="real_like(out_bar, out)", storage="view",
        zero_in="tol")

# ------------------------------------------------------------ new shapes, same entries
for _f in (np.atleast_1d, np.atleast_2d, np.atleast_3d):
    deflinear(_f, "x", name=f"np.{_f.__name__}", storage="view",
              vjp="np.reshape(out_bar, np.shape(x))")
defrule(np.rot90, "m, k=1, axes=None", name="np.rot90", kind=ANY, storage="view",
        jvp="np.rot90(m_dot, k, rot90_axes(axes))", vjp="np.rot90(out_bar, -k, rot90_axes(axes))")
deflinear(np.rollaxis, "a, axis, start=0", name="np.rollaxis", storage="view",
          vjp="untranspose(out_bar, rollaxis_axes(np.ndim(a), axis, start))")
# triu and tril keep a matrix's (a stack's) shape, and make a vector v the matrix of rows
# v masked: its adjoint sums the masked rows back
deflinear(np.triu, "m, k=0", name="np.triu", vjp="unbroadcast(np.triu(out_bar, k), m)",
          keeps_shape=2)
deflinear(np.tril, "m, k=0", name="np.tril", vjp="unbroadcast(np.tril(out_bar, k), m)",
          keeps_shape=2)

# ------------------------------------------------------------ joining and splitting
deflinear(np.column_stack, "tup", name="np.column_stack", vjp="uncolumn_stack(out_bar, tup)")
defalias(np.row_stack, lookup(np.vstack), "np.vstack")       # deprecated: printed as vstack
deflinear(np.array_split, "x, indices_or_sections, axis=0", name="np.array_split", holds="x",
          returns_seq=True, vjp="unarray_split(out_bar, x, indices_or_sections, axis)")
for _f, _axis in ((np.hsplit, "int(np.ndim(x) > 1)"), (np.vsplit, "0"), (np.dsplit, "2")):
    deflinear(_f, "x, indices_or_sections", name=f"np.{_f.__name__}", holds="x",
              returns_seq=True, vjp=f"unsplit(out_bar, x, indices_or_sections, {_axis})")
deflinear(np.block, "arrays", name="np.block", vjp="unblock(out_bar, arrays)")
defrule(np.append, "arr, values, axis=None", name="np.append", kind=ANY,
        jvp={"arr": "np.append(arr_dot, zeros_like(values), axis)",
             "values": "np.append(zeros_like(arr), values_dot, axis)"},
        vjp_shared="unappend(out_bar, arr, values, axis)",
        vjp={"arr": "SHARED[0]", "values": "SHARED[1]"})
defrule(np.insert, "arr, obj, values, axis=None", name="np.insert", kind=ANY,
        jvp={"arr": "np.insert(arr_dot, obj, zeros_like(values), axis)",
             "values": "np.insert(zeros_like(arr), obj, values_dot, axis)"},
        vjp_shared="uninsert(out_bar, arr, obj, values, axis)",
        vjp={"arr": "SHARED[0]", "values": "SHARED[1]"})
deflinear(np.delete, "arr, obj, axis=None", name="np.delete",
          vjp="undelete(out_bar, arr, obj, axis)")
deflinear(np.take, "a, indices, axis=None", name="np.take", method="take",
          vjp="untake(out_bar, a, indices, axis)")
# np.compress(condition, a, axis) is np.take(a, np.flatnonzero(condition), axis)
defrule(np.compress, "condition, a, axis=None", name="np.compress", kind=ANY,
        jvp={"a": "np.compress(condition, a_dot, axis)"},
        vjp={"a": "untake(out_bar, a, np.flatnonzero(condition), axis)"}, zero_in="condition")
defmethod("compress", "x, condition, axis=None", kind=ANY,
          jvp="np.compress(condition, x_dot, axis)",
          vjp="untake(out_bar, x, np.flatnonzero(condition), axis)", zero_in="condition")
deflinear(np.take_along_axis, "arr, indices, axis=-1", name="np.take_along_axis",
          vjp="untake_along(out_bar, arr, indices, axis)")
refuse(defrule(np.pad, "array, pad_width, mode='constant', *, constant_values=0", name="np.pad",
               kind=ANY, jvp="pad_linear(array_dot, pad_width, mode)",
               vjp="unpad(out_bar, array, pad_width, mode)"), "constant_values")
defrule(np.meshgrid, "x1, x2=None, x3=None, x4=None, *, indexing='xy', sparse=False",
        name="np.meshgrid", kind=ANY, returns_seq=True,
        jvp={p: f"meshgrid_jvp({k}, {p}_dot, x1, x2, x3, x4, indexing, sparse)"
             for k, p in enumerate(["x1", "x2", "x3", "x4"])},
        vjp={p: f"unmeshgrid(out_bar, {k}, {p}, len(out), indexing)"
             for k, p in enumerate(["x1", "x2", "x3", "x4"])})

# ------------------------------------------------------------ selections
defrule(np.select, "condlist, choicelist, default=0", name="np.select", kind=ANY,
        jvp={"choicelist": "bcast(np.select(condlist, choicelist_dot, 0.0), out)",
             "default": "bcast(np.where(select_none(condlist), default_dot, 0.0), out)"},
        vjp={"choicelist": "unselect(out_bar, condlist, choicelist)",
             "default": "unbroadcast(np.where(select_none(condlist), out_bar, 0.0), default)"},
        zero_in="condlist")

# ------------------------------------------------------------ differences
deflinear(np.diff, "a, n=1, axis=-1", name="np.diff", vjp="undiff(out_bar, a, n, axis)")
defrule(np.gradient, "f, spacing=1.0, *, axis=None, edge_order=1", name="np.gradient", kind=ANY,
        jvp={"f": "gradient_jvp(f_dot, f, spacing, axis, edge_order)",
             "spacing": "-(out * (spacing_dot / spacing))"},
        vjp={"f": "ungradient(out_bar, f, spacing, axis, edge_order)",
             "spacing": "-(np.sum(out_bar * out) / spacing)"})

# ------------------------------------------------------------ products of arrays
defrule(np.kron, "a, b", name="np.kron", kind=ANY,
        jvp={"a": "np.kron(a_dot, b)", "b": "np.kron(a, b_dot)"},
        vjp={"a": "kron_vjp_a(out_bar, a, b)", "b": "kron_vjp_b(out_bar, a, b)"})
# with axisa/axisb/axisc (or axis for all three): the adjoint of a is b x g with the vectors
# moved last, summed over what a broadcast along there, and moved back to a's vector axis
_XA, _XB, _XC = "cross_axis(axisa, axis)", "cross_axis(axisb, axis)", "cross_axis(axisc, axis)"
_XG = f"np.moveaxis(out_bar, {_XC}, -1)"
defrule(np.cross, "a, b, axisa=-1, axisb=-1, axisc=-1, axis=None", name="np.cross", kind=ANY,
        jvp={"a": "np.cross(a_dot, b, axisa, axisb, axisc, axis)",
             "b": "np.cross(a, b_dot, axisa, axisb, axisc, axis)"},
        vjp={"a": f"np.moveaxis(unbroadcast(cross_vjp({_XG}, np.moveaxis(b, {_XB}, -1)), "
                  f"np.moveaxis(a, {_XA}, -1)), -1, {_XA})",
             "b": f"np.moveaxis(unbroadcast(-cross_vjp({_XG}, np.moveaxis(a, {_XA}, -1)), "
                  f"np.moveaxis(b, {_XB}, -1)), -1, {_XB})"})
defrule(np.convolve, "a, v, mode='full'", name="np.convolve", kind=ANY,
        jvp={"a": "np.convolve(a_dot, v, mode)", "v": "np.convolve(a, v_dot, mode)"},
        vjp={"a": "conv_vjp_a(out_bar, a, v, mode)", "v": "conv_vjp_v(out_bar, a, v, mode)"})
# correlate(a, v, mode) is convolve(a, v[::-1], mode)
defrule(np.correlate, "a, v, mode='valid'", name="np.correlate", kind=ANY,
        jvp={"a": "np.correlate(a_dot, v, mode)", "v": "np.correlate(a, v_dot, mode)"},
        vjp={"a": "conv_vjp_a(out_bar, a, v[::-1], mode)",
             "v": "conv_vjp_v(out_bar, a, v[::-1], mode)[::-1]"})

# ------------------------------------------------------------ interpolation and polynomials
# (np.interp computes in float64 whatever its inputs' dtype: its tangents are cast back to
# x's and fp's precision, as interp_slope's and interp_vjp_fp's weights are)
defrule(np.interp, "x, xp, fp, left=None, right=None", name="np.interp", kind=ANY,
        jvp={"x": "x_dot * interp_slope(x, xp, fp)",
             "xp": "-(interp_slope(x, xp, fp) * in_dtype_of(np.interp(x, xp, xp_dot), x, xp_dot))",
             "fp": "in_dtype_of(np.interp(x, xp, fp_dot, interp_zero(left), interp_zero(right)), "
                   "x, fp_dot)",
             "left": "in_dtype_of(left_dot * (x < xp[0]), x, fp, left_dot)",
             "right": "in_dtype_of(right_dot * (x > xp[-1]), x, fp, right_dot)"},
        vjp={"x": "out_bar * interp_slope(x, xp, fp)",
             "xp": "-interp_vjp_fp(out_bar * interp_slope(x, xp, fp), x, xp, fp, left, right)",
             "fp": "interp_vjp_fp(out_bar, x, xp, fp, left, right)",
             "left": "unbroadcast(out_bar * (x < xp[0]), left)",
             "right": "unbroadcast(out_bar * (x > xp[-1]), right)"})
# interp_slope is piecewise constant in x and linear in fp; interp_vjp_fp linear in g (its
# transpose is np.interp itself); their derivatives in xp are refused
refuse(defrule(ra.interp_slope, "x, xp, fp", name="interp_slope", kind=ANY,
               jvp={"fp": "interp_slope(x, xp, fp_dot)"},
               vjp={"fp": "interp_slope_vjp(out_bar, x, xp, fp)"}, zero_in="x"), "xp")
refuse(defrule(ra.interp_vjp_fp, "g, x, xp, fp, left=None, right=None", name="interp_vjp_fp",
               kind=ANY, shape_args="fp",
               jvp={"g": "interp_vjp_fp(g_dot, x, xp, fp, left, right)"},
               vjp={"g": "in_dtype_of(np.interp(x, xp, out_bar, interp_zero(left), "
                         "interp_zero(right)), out_bar)"},
               zero_in="left, right"),
       "x", "xp")
deflinear(np.polyder, "p, m=1", name="np.polyder", vjp="unpolyder(out_bar, p, m)")
deflinear(ra.unpolyder, "g, p, m=1", vjp="np.polyder(out_bar, m)", shape_args="p", zero_in="m")
# np.vander(x, N, increasing): out[i, j] = x[i] ** p[j], slope p x^(p-1) (vander_powers)
_VANDER_SLOPE = "vander_powers(x, N, increasing) * x[:, None] ** vander_powers(x, N, increasing, 1)"
defrule(ra.vander_powers, "x, N=None, increasing=False, less=0", name="vander_powers",
        kind=ANY, differentiable=False)
defrule(np.vander, "x, N=None, increasing=False", name="np.vander", kind=ANY,
        jvp={"x": f"x_dot[:, None] * {_VANDER_SLOPE}"},
        vjp={"x": f"np.sum(out_bar * {_VANDER_SLOPE}, axis=1)"})
# np.polyfit: the least-squares fit's derivative where it has full rank (rcond does not
# change it there); full= and cov= change what it returns and are refused as unknown
defrule(np.polyfit, "x, y, deg, rcond=None, *, w=None", name="np.polyfit", kind=ANY,
        jvp_shared="polyfit_jvp(x_dot, y_dot, x, y, deg, out, w)",
        vjp={"x": "polyfit_vjp_x(out_bar, x, y, deg, out, w)",
             "y": "polyfit_vjp_y(out_bar, x, y, deg, out, w)"}, zero_in="rcond")
# G^-1 h (G = V^T W^2 V, polyfit's normal equations): linear in h, G symmetric; the weights
# are not differentiated (np.polyfit's are not)
defrule(ra.gram_solve, "h, x, w, deg", name="gram_solve", kind=ANY, zero_in="w, deg",
        jvp={"h": "gram_solve(h_dot, x, w, deg)", "x": "gram_solve_jvp_x(x_dot, x, w, deg, out)"},
        vjp={"h": "gram_solve(out_bar, x, w, deg)",
             "x": "gram_solve_vjp_x(out_bar, x, w, deg, out)"})
defrule(np.polyval, "p, x", name="np.polyval", kind=ANY,
        jvp={"p": "np.polyval(p_dot, x)", "x": "x_dot * np.polyval(np.polyder(p), x)"},
        vjp={"p": "polyval_vjp_p(out_bar, p, x)",
             "x": "unbroadcast(out_bar * np.polyval(np.polyder(p), x), x)"})

# ------------------------------------------------------------ averages and order statistics
defrule(np.ptp, "x, axis=None, *, keepdims=False", name="np.ptp", kind="reduce",
        jvp="ptp_jvp(x_dot, x, axis, keepdims)", vjp="ptp_vjp(out_bar, x, axis, keepdims)")
# (linear in their first argument; the weights they read from x are piecewise constant)
deflinear(ra.ptp_vjp, "g, x, axis=None, keepdims=False", shape_args="x",
          vjp="unreduce_vjp(out_bar * ptp_weight(x, axis, keepdims), g, axis, keepdims)",
          zero_in="axis, keepdims")
deflinear(ra.ptp_jvp, "t, x, axis=None, keepdims=False", shape_args="x",
          vjp="unbroadcast(ptp_vjp(out_bar, x, axis, keepdims), t)", zero_in="axis, keepdims")
defrule(ra.ptp_weight, "x, axis=None, keepdims=False", name="ptp_weight", kind=ANY,
        differentiable=False)
defrule(np.average, "a, axis=None, weights=None, *, keepdims=False", name="np.average",
        kind="reduce",
        jvp={"a": "np.sum(a_dot * average_weight(a, weights, axis), axis=axis, keepdims=keepdims)",
             "weights": "average_jvp_w(weights_dot, a, weights, out, axis, keepdims)"},
        vjp={"a": "unreduce(out_bar, a, axis, keepdims) * average_weight(a, weights, axis)",
             "weights": "average_vjp_w(out_bar, a, weights, out, axis, keepdims)"})
defrule(np.median, "a, axis=None, *, keepdims=False", name="np.median", kind="reduce",
        jvp="quantile_jvp(a_dot, a, 0.5, axis, keepdims)",
        vjp="quantile_vjp(out_bar, a, 0.5, axis, keepdims)")
for _f, _q in ((np.quantile, "q"), (np.percentile, "np.divide(q, 100.0)")):
    refuse(defrule(_f, "a, q, axis=None, *, method='linear', keepdims=False",
                   name=f"np.{_f.__name__}", kind=ANY,
                   jvp={"a": f"quantile_jvp(a_dot, a, {_q}, axis, keepdims, method)"},
                   vjp={"a": f"quantile_vjp(out_bar, a, {_q}, axis, keepdims, method)"}), "q")
deflinear(ra.quantile_jvp, "t, a, q, axis=None, keepdims=False, method='linear'", shape_args="a",
          vjp="quantile_vjp(out_bar, a, q, axis, keepdims, method)",
          zero_in="q, axis, keepdims, method")
deflinear(ra.quantile_vjp, "g, a, q, axis=None, keepdims=False, method='linear'", shape_args="a",
          vjp="quantile_jvp(out_bar, a, q, axis, keepdims, method)",
          zero_in="q, axis, keepdims, method")

# ------------------------------------------------------------ sorting
defrule(np.sort, "a, axis=-1", name="np.sort", kind=ANY, jvp="sort_take(a_dot, a, axis)",
        vjp="unsort(out_bar, a, axis)")
defrule(np.partition, "a, kth, axis=-1", name="np.partition", kind=ANY,
        jvp="partition_take(a_dot, a, kth, axis)", vjp="unpartition(out_bar, a, kth, axis)")
# (each linear in its first argument; the order they read from `a` is piecewise constant)
deflinear(ra.sort_take, "t, a, axis=-1", vjp="unsort(out_bar, a, axis)", shape_args="a",
          zero_in="axis")
deflinear(ra.unsort, "g, a, axis=-1", vjp="sort_take(out_bar, a, axis)", shape_args="a",
          zero_in="axis")
deflinear(ra.partition_take, "t, a, kth, axis=-1", vjp="unpartition(out_bar, a, kth, axis)",
          shape_args="a", zero_in="kth, axis")
deflinear(ra.unpartition, "g, a, kth, axis=-1", vjp="partition_take(out_bar, a, kth, axis)",
          shape_args="a", zero_in="kth, axis")

# ------------------------------------------------------------ the helpers' own rules
# (linear in their first argument, the others read for shapes or as constants; helpers
# without a rule are read from their source for second derivatives)
deflinear(ra.undiff, "g, x, n=1, axis=-1", vjp="np.diff(out_bar, n, axis)", shape_args="x",
          zero_in="n, axis")
# np.gradient's helpers are linear in their first argument and in 1 / spacing (a varied
# spacing reaches them at second order)
for _f, _t, _other in ((ra.gradient_jvp, "t", "ungradient"), (ra.ungradient, "g", "gradient_jvp")):
    defrule(_f, f"{_t}, f, spacing=1.0, axis=None, edge_order=1", name=_f.__name__, kind=ANY,
            shape_args="f", zero_in="axis, edge_order",
            jvp={_t: f"{_f.__name__}({_t}_dot, f, spacing, axis, edge_order)",
                 "spacing": "-(out * (spacing_dot / spacing))"},
            vjp={_t: f"{_other}(out_bar, f, spacing, axis, edge_order)",
                 "spacing": "-(np.sum(out_bar * out) / spacing)"}).linear = True
# kron_vjp_a(g, a, b) is bilinear in (g, b) and kron_vjp_b(g, a, b) in (g, a)
defrule(ra.kron_vjp_a, "g, a, b", name="kron_vjp_a", kind=ANY, shape_args="a",
        jvp={"g": "kron_vjp_a(g_dot, a, b)", "b": "kron_vjp_a(g, a, b_dot)"},
        vjp={"g": "np.kron(out_bar, b)", "b": "kron_vjp_b(g, out_bar, b)"})
defrule(ra.kron_vjp_b, "g, a, b", name="kron_vjp_b", kind=ANY, shape_args="b",
        jvp={"g": "kron_vjp_b(g_dot, a, b)", "a": "kron_vjp_b(g, a_dot, b)"},
        vjp={"g": "np.kron(a, out_bar)", "a": "kron_vjp_a(g, a, out_bar)"})
# cross_vjp(g, o) = o x g: bilinear; <h, o x g> = g . (h x o) = o . (g x h)
defrule(ra.cross_vjp, "g, other, axis=None", name="cross_vjp", kind=ANY,
        jvp={"g": "cross_vjp(g_dot, other, axis)", "other": "cross_vjp(g, other_dot, axis)"},
        vjp={"g": "unbroadcast(np.cross(out_bar, other, axis=axis), g)",
             "other": "unbroadcast(np.cross(g, out_bar, axis=axis), other)"}, zero_in="axis")
# conv_vjp_a(g, a, v) is bilinear in (g, v), conv_vjp_v(g, a, v) in (g, a)
defrule(ra.conv_vjp_a, "g, a, v, mode='full'", name="conv_vjp_a", kind=ANY, shape_args="a",
        jvp={"g": "conv_vjp_a(g_dot, a, v, mode)", "v": "conv_vjp_a(g, a, v_dot, mode)"},
        vjp={"g": "np.convolve(out_bar, v, mode)", "v": "conv_vjp_v(g, out_bar, v, mode)"},
        zero_in="mode")
defrule(ra.conv_vjp_v, "g, a, v, mode='full'", name="conv_vjp_v", kind=ANY, shape_args="v",
        jvp={"g": "conv_vjp_v(g_dot, a, v, mode)", "a": "conv_vjp_v(g, a_dot, v, mode)"},
        vjp={"g": "np.convolve(a, out_bar, mode)", "a": "conv_vjp_a(g, a, out_bar, mode)"},
        zero_in="mode")
deflinear(ra.untake, "g, a, indices, axis=None", shape_args="a",
          vjp="np.take(out_bar, indices, axis)", zero_in="indices, axis")
deflinear(ra.untake_along, "g, arr, indices, axis=-1", shape_args="arr",
          vjp="np.take_along_axis(out_bar, indices, axis)", zero_in="indices, axis")
deflinear(ra.undelete, "g, arr, obj, axis=None", shape_args="arr",
          vjp="np.delete(out_bar, obj, axis)", zero_in="obj, axis")
deflinear(ra.pad_linear, "t, pad_width, mode='constant'", vjp="unpad(out_bar, t, pad_width, mode)",
          zero_in="pad_width, mode")
deflinear(ra.unpad, "g, x, pad_width, mode='constant'", shape_args="x", storage="view",
          vjp="pad_linear(out_bar, pad_width, mode)", zero_in="pad_width, mode")
# unblock builds new arrays (no views of g); reblock is its transpose, np.block of adjoints
deflinear(ra.unblock, "g, arrays", returns_seq=True, shape_args="arrays",
          vjp="unbroadcast(reblock(out_bar, arrays), g)")
deflinear(ra.reblock, "gs, arrays", shape_args="arrays", vjp="unblock(out_bar, arrays)")
deflinear(ra.uncolumn_stack, "g, xs", holds="g", returns_seq=True, shape_args="xs",
          vjp="np.column_stack(out_bar)")
deflinear(ra.unarray_split, "gs, x, indices_or_sections, axis=0", shape_args="x",
          vjp="np.array_split(out_bar, indices_or_sections, axis)",
          zero_in="indices_or_sections, axis")
deflinear(ra.unselect, "g, condlist, choicelist", holds="g", returns_seq=True,
          shape_args="choicelist", vjp="bcast(np.select(condlist, out_bar, 0.0), g)",
          zero_in="condlist")
for _f in (ra.select_none, ra.interp_zero, ra.rot90_axes, ra.rollaxis_axes, ra.where_weight,
           ra.cross_axis):
    defrule(_f, "x, y=None, z=None", name=_f.__name__, kind=ANY, differentiable=False)

# ------------------------------------------------------------ reductions with where=, initial=, dtype=
# (the wider forms of np.sum, mean, prod, var, std, max and min, used only by calls that
# pass them: a masked entry has derivative 0, the mask none (it is piecewise constant), an
# integer dtype carries none; sum's `initial` is added (slope 1), prod's multiplies (slope
# the product of the counted entries), and max's and min's takes part in the selection:
# where it attains the result it gets the derivative, shared equally on a tie)
defvariant(lookup(np.sum), "x, axis=None, dtype=None, *, keepdims=False, initial=0.0, where=True",
           jvp={"x": "cast_tangent(np.sum(x_dot, axis=axis, keepdims=keepdims, where=where), out)",
                "initial": "cast_tangent(bcast(initial_dot, out), out)"},
           vjp={"x": "np.where(where, unreduce(cast_adjoint(out_bar, out), x, axis, keepdims), 0.0)",
                "initial": "unbroadcast(cast_adjoint(out_bar, out), initial)"},
           zero_in="where")
defvariant(lookup(np.mean), "x, axis=None, dtype=None, *, keepdims=False, where=True",
           jvp="cast_tangent(np.mean(x_dot, axis=axis, keepdims=keepdims, where=where), out)",
           vjp="unreduce(cast_adjoint(out_bar, out), x, axis, keepdims) * "
               "mean_where_weight(where, x, axis)", zero_in="where")
# prod: without where= (the cheaper form), then with it (masked entries taken as 1)
_PROD = "np.prod(x, axis=axis, keepdims=keepdims)"          # d prod / d initial
defvariant(lookup(np.prod), "x, axis=None, dtype=None, *, keepdims=False, initial=1.0",
           jvp={"x": f"cast_tangent(prod_jvp(x_dot, x, {_PROD}, axis, keepdims) * initial, out)",
                "initial": f"cast_tangent(bcast(initial_dot * {_PROD}, out), out)"},
           vjp={"x": f"prod_vjp(cast_adjoint(out_bar, out) * initial, x, {_PROD}, axis, keepdims)",
                "initial": f"unbroadcast(cast_adjoint(out_bar, out) * {_PROD}, initial)"})
_PROD_W = "np.prod(x, axis=axis, keepdims=keepdims, where=where)"
defvariant(lookup(np.prod), "x, axis=None, dtype=None, *, keepdims=False, initial=1.0, where=True",
           jvp={"x": f"cast_tangent(prod_jvp(x_dot, np.where(where, x, 1.0), {_PROD_W}, axis, "
                     "keepdims, where) * initial, out)",
                "initial": f"cast_tangent(bcast(initial_dot * {_PROD_W}, out), out)"},
           vjp={"x": "np.where(where, prod_vjp(cast_adjoint(out_bar, out) * initial, np.where("
                     f"where, x, 1.0), {_PROD_W}, axis, keepdims), 0.0)",
                "initial": f"unbroadcast(cast_adjoint(out_bar, out) * {_PROD_W}, initial)"},
           zero_in="where")
# var and std over the counted entries: x - mean is taken as 0 where not counted, and the
# divisor 1 / (N - ddof) is shaped like the result (weighing the cotangent before it spreads)
_CENTERED = "np.where(where, x - np.mean(x, axis=axis, keepdims=True, where=where), 0.0)"
_WINV = "where_spread_inv_count(where, x, axis, ddof, keepdims)"
defvariant(lookup(np.var), "x, axis=None, dtype=None, *, ddof=0, keepdims=False, where=True",
           jvp=f"cast_tangent(np.sum(x_dot * {_CENTERED}, axis=axis, keepdims=keepdims) * "
               f"(2.0 * {_WINV}), out)",
           vjp=f"unreduce(cast_adjoint(out_bar, out) * (2.0 * {_WINV}), x, axis, keepdims) * "
               f"{_CENTERED}", zero_in="where")
defvariant(lookup(np.std), "x, axis=None, dtype=None, *, ddof=0, keepdims=False, where=True",
           jvp=f"cast_tangent(np.sum(x_dot * {_CENTERED}, axis=axis, keepdims=keepdims) * "
               f"(recip_or_zero(out) * {_WINV}), out)",
           vjp=f"unreduce(cast_adjoint(out_bar, out) * (recip_or_zero(out) * {_WINV}), x, axis, "
               f"keepdims) * {_CENTERED}", zero_in="where")
_EXT = "x, out, axis, keepdims, initial, where"
for _f in (np.max, np.min):
    defvariant(lookup(_f), "x, axis=None, *, keepdims=False, initial=None, where=True",
               jvp={"x": f"np.sum(x_dot * extreme_where_weight({_EXT}), axis=axis, "
                         "keepdims=keepdims)",
                    "initial": f"bcast(initial_dot * extreme_initial_weight({_EXT}), out)"},
               vjp={"x": f"unreduce(out_bar, x, axis, keepdims) * extreme_where_weight({_EXT})",
                    "initial": f"unbroadcast(out_bar * extreme_initial_weight({_EXT}), initial)"},
               zero_in="where")
defrule(ra.where_spread_inv_count, "where, x, axis=None, ddof=0, keepdims=False", name="where_spread_inv_count",
        kind=ANY, differentiable=False)
for _f in (ra.extreme_where_weight, ra.extreme_initial_weight):
    defrule(_f, "x, out, axis=None, keepdims=False, initial=None, where=True", name=_f.__name__,
            kind=ANY, differentiable=False)

# ------------------------------------------------------------ ufunc methods (axis 0 by default)
_REDUCE = "x, axis=0, dtype=None, *, keepdims=False"
defrule(np.add.reduce, _REDUCE, name="np.add.reduce", kind="reduce",
        jvp="cast_tangent(np.add.reduce(x_dot, axis, keepdims=keepdims), out)",
        vjp="unreduce(cast_adjoint(out_bar, out), x, axis, keepdims)")
defrule(np.multiply.reduce, _REDUCE, name="np.multiply.reduce", kind="reduce",
        jvp="cast_tangent(prod_jvp(x_dot, x, out, axis, keepdims), out)",
        vjp="prod_vjp(cast_adjoint(out_bar, out), x, out, axis, keepdims)")
for _u in (np.maximum, np.minimum):
    defrule(_u.reduce, "x, axis=0, *, keepdims=False", name=f"np.{_u.__name__}.reduce",
            kind="reduce",
            jvp="np.sum(x_dot * max_weight(x, out, axis, keepdims), axis=axis, keepdims=keepdims)",
            vjp="max_vjp(out_bar, x, out, axis, keepdims)")
defrule(np.logaddexp.reduce, "x, axis=0, *, keepdims=False", name="np.logaddexp.reduce",
        kind="reduce",
        jvp="np.sum(x_dot * logaddexp_weight(x, out, axis, keepdims), axis=axis, "
            "keepdims=keepdims)",
        vjp="unreduce(out_bar, x, axis, keepdims) * logaddexp_weight(x, out, axis, keepdims)")
defrule(np.add.accumulate, "x, axis=0, dtype=None", name="np.add.accumulate", kind=ANY,
        jvp="cast_tangent(np.add.accumulate(x_dot, axis), out)",
        vjp="uncumsum(cast_adjoint(out_bar, out), x, axis)")
defrule(np.multiply.accumulate, "x, axis=0", name="np.multiply.accumulate", kind=ANY,
        jvp="cumprod_jvp(x_dot, x, out, axis)", vjp="cumprod_vjp(out_bar, x, out, axis)")
# a running maximum or minimum is its entries' records (piecewise constant: the records'
# positions add no derivative); linear in the tangent or adjoint, each the other's transpose
for _u in (np.maximum, np.minimum):
    defrule(_u.accumulate, "x, axis=0", name=f"np.{_u.__name__}.accumulate", kind=ANY,
            jvp="accumulate_extreme_jvp(x_dot, x, out, axis)",
            vjp="accumulate_extreme_vjp(out_bar, x, out, axis)")
deflinear(ra.accumulate_extreme_jvp, "t, x, m, axis=0", shape_args="x",
          vjp="accumulate_extreme_vjp(out_bar, x, m, axis)", zero_in="m, axis")
deflinear(ra.accumulate_extreme_vjp, "g, x, m, axis=0", shape_args="x",
          vjp="accumulate_extreme_jvp(out_bar, x, m, axis)", zero_in="m, axis")
# the windows are a read-only view of x; the adjoint adds each window back
deflinear(np.lib.stride_tricks.sliding_window_view, "x, window_shape, axis=None",
          name="np.lib.stride_tricks.sliding_window_view", storage="view",
          vjp="unslide(out_bar, x, window_shape, axis)")
deflinear(ra.unslide, "g, x, window_shape, axis=None", shape_args="x",
          vjp="np.lib.stride_tricks.sliding_window_view(out_bar, window_shape, axis)",
          zero_in="window_shape, axis")
# NumPy's in-place changes: srcad calls a helper that changes a copy and returns it, and
# rebinds the name (lowering's `inplace_call` and `inplace_method`). The user's call is
# declared `inplace` (the argument's storage changes, as in Python: refused where another
# name may share it); the helper itself, as generated code calls it, is a pure function.
CHANGING = []          # the users' forms: valid only as statements the lowering rebinds


def _changing(helper, params, user=(), method=None, **templates):
    first = params.split(",")[0]
    defrule(helper, params, name=helper.__name__, kind=ANY, shaped_like=first, **templates)
    CHANGING.append(defrule(list(user), params, name=helper.__name__, kind=ANY, method=method,
                            shaped_like=first, pure=False, storage="same", inplace=True,
                            **templates))


_changing(ra.added_at, "y, idx, v", user=[np.add.at],
          jvp={"y": "bcast(y_dot, out)", "v": "unindex(v_dot, y, idx)"},
          vjp={"y": "out_bar", "v": "unbroadcast(out_bar[idx], v)"}, zero_in="idx")
_changing(ra.filled, "x, value", method="fill",
          jvp={"value": "cast_tangent(np.broadcast_to(value_dot, np.shape(out)), out)"},
          vjp={"value": "cast_adjoint(unbroadcast(out_bar, value), out)"}, zero_in="x")
_changing(ra.sorted_in_place, "x, axis=-1", method="sort",
          jvp={"x": "sort_take(x_dot, x, axis)"}, vjp={"x": "unsort(out_bar, x, axis)"},
          zero_in="axis")
_changing(ra.copied_into, "dst, src", user=[np.copyto],
          jvp={"src": "cast_tangent(np.broadcast_to(src_dot, np.shape(out)), out)"},
          vjp={"src": "unbroadcast(cast_adjoint(out_bar, out), src)"}, zero_in="dst")
_changing(ra.diagonal_filled, "a, val, wrap=False", user=[np.fill_diagonal],
          jvp={"a": "diagonal_filled(a_dot, 0.0, wrap)",
               "val": "diagonal_filled(zeros_like(out), val_dot, wrap)"},
          vjp={"a": "diagonal_filled(out_bar, 0.0, wrap)",
               "val": "fill_diagonal_vjp(out_bar, a, val, wrap)"}, zero_in="wrap")
deflinear(ra.fill_diagonal_vjp, "g, a, val, wrap=False", shape_args="a",
          vjp="diagonal_filled(zeros_like(a), out_bar, wrap)", zero_in="val, wrap")
_changing(ra.subtracted_at, "y, idx, v", user=[np.subtract.at],
          jvp={"y": "bcast(y_dot, out)", "v": "-unindex(v_dot, y, idx)"},
          vjp={"y": "out_bar", "v": "unbroadcast(-out_bar[idx], v)"}, zero_in="idx")
# np.put, np.place, np.putmask and np.put_along_axis write v's items (repeated cyclically,
# or broadcast along the axis) at some entries; a repeated entry keeps the last write, whose
# item alone gets the adjoint
_changing(ra.put_copy, "a, ind, v, mode='raise'", user=[np.put], method="put",
          jvp={"a": "put_copy(a_dot, ind, 0.0, mode)",
               "v": "put_copy(zeros_like(out), ind, v_dot, mode)"},
          vjp={"a": "put_copy(out_bar, ind, 0.0, mode)", "v": "put_vjp(out_bar, ind, v, mode)"},
          zero_in="ind, mode")
deflinear(ra.put_vjp, "g, ind, v, mode='raise'", shape_args="v",
          vjp="put_copy(zeros_like(g), ind, out_bar, mode)", zero_in="ind, mode")
_changing(ra.placed, "arr, mask, vals", user=[np.place],
          jvp={"arr": "placed(arr_dot, mask, 0.0)",
               "vals": "placed(zeros_like(out), mask, vals_dot)"},
          vjp={"arr": "placed(out_bar, mask, 0.0)", "vals": "place_vjp(out_bar, mask, vals)"},
          zero_in="mask")
deflinear(ra.place_vjp, "g, mask, vals", shape_args="vals",
          vjp="placed(zeros_like(g), mask, out_bar)", zero_in="mask")
_changing(ra.putmasked, "a, mask, values", user=[np.putmask],
          jvp={"a": "putmasked(a_dot, mask, 0.0)",
               "values": "putmasked(zeros_like(out), mask, values_dot)"},
          vjp={"a": "putmasked(out_bar, mask, 0.0)",
               "values": "putmask_vjp(out_bar, mask, values)"}, zero_in="mask")
deflinear(ra.putmask_vjp, "g, mask, values", shape_args="values",
          vjp="putmasked(zeros_like(g), mask, out_bar)", zero_in="mask")
_changing(ra.put_along, "arr, indices, values, axis", user=[np.put_along_axis],
          jvp={"arr": "put_along(arr_dot, indices, 0.0, axis)",
               "values": "put_along(zeros_like(out), indices, values_dot, axis)"},
          vjp={"arr": "put_along(out_bar, indices, 0.0, axis)",
               "values": "put_along_vjp(out_bar, indices, values, axis)"},
          zero_in="indices, axis")
deflinear(ra.put_along_vjp, "g, indices, values, axis", shape_args="values",
          vjp="put_along(zeros_like(g), indices, out_bar, axis)", zero_in="indices, axis")

# ------------------------------------------------------------ np.r_[...] and np.c_[...]
# (the items as a list, slices as slice objects; axis 0 and at least 1-d, or the last axis
# and at least 2-d with 1-d items as columns)
for _maker, _f, _nd in ((np.r_, ra.r_items, 1), (np.c_, ra.c_items, 2)):
    defrule([("index", _maker), _f], "xs", name=_f.__name__, kind=ANY,
            jvp=f"concat_items_jvp(xs_dot, xs, {_nd})", vjp=f"unconcat_items(out_bar, xs, {_nd})")
deflinear(ra.concat_items_jvp, "ts, xs, ndmin=1", shape_args="xs",
          vjp="unconcat_items(out_bar, xs, ndmin)", zero_in="ndmin")
deflinear(ra.unconcat_items, "g, xs, ndmin=1", shape_args="xs", holds="g", returns_seq=True,
          vjp="concat_items_jvp(out_bar, xs, ndmin)", zero_in="ndmin")
defrule(ra.mean_where_weight, "where, x, axis=None", name="mean_where_weight", kind=ANY,
        differentiable=False)

# ------------------------------------------------------------ Python's math of sequences
# math.prod and math.fsum of a list or tuple of numbers; math.dist of two points (as
# sequences), nan where they coincide (0/0, as np.linalg.norm at 0)
defrule(math.prod, "xs", name="math.prod", kind=FLOAT, reads_items=True,
        jvp="prod_jvp(concat_items_jvp(xs_dot, xs), r_items(xs), out)",
        vjp="unconcat_items(prod_vjp(out_bar, r_items(xs), out), xs)")
defrule(math.fsum, "xs", name="math.fsum", kind=FLOAT, reads_items=True,
        jvp="sum(xs_dot)", vjp="repeat_items(out_bar, xs)")
defrule(math.dist, "p, q", name="math.dist", kind=FLOAT, reads_items=True,
        jvp={"p": "np.dot(r_items(p) - r_items(q), concat_items_jvp(p_dot, p)) / out",
             "q": "np.dot(r_items(q) - r_items(p), concat_items_jvp(q_dot, q)) / out"},
        vjp={"p": "unconcat_items((r_items(p) - r_items(q)) * (out_bar / out), p)",
             "q": "unconcat_items((r_items(q) - r_items(p)) * (out_bar / out), q)"})
# x.item() (of a one-entry array) is float(x); x.tolist() the entries as (nested) lists
_item = defrule([], "x", name="item", method="item", kind=FLOAT, total=False,
                jvp="np.reshape(x_dot, ())", vjp="bcast(out_bar, x)")
_tolist = defrule([], "x", name="tolist", method="tolist", kind=ANY, returns_seq=True,
                  jvp="np.asarray(x_dot).tolist()", vjp="untolist(out_bar, x)")
for _r in (_item, _tolist):
    _r.__class__ = MethodRule
deflinear(ra.untolist, "g, x", shape_args="x", vjp="np.asarray(out_bar).tolist()")

# ------------------------------------------------------------ more elementwise functions
# copysign(x, y) = |x| with y's sign: slope sign(x) sign(out) in x (0 at x = 0, as abs'),
# none in y (a jump at y = 0)
defpartials(np.copysign, "x, y", name="np.copysign", partials={"x": "(np.sign(x) * np.sign(out))"},
            zero_in="y")
# float_power is ** computed in float64 (its derivatives as **'s)
defpartials(np.float_power, "x, y", name="np.float_power",
            partials={"x": "(y * np.float_power(x, y - 1 + (y == 0)))", "y": "(out * pow_log(x))"})
# ldexp(x1, x2) = x1 2**x2: linear in x1, the integer x2 has no derivative
defrule(np.ldexp, "x1, x2", name="np.ldexp",
        jvp={"x1": "np.ldexp(x1_dot, x2)"}, vjp={"x1": "unbroadcast(np.ldexp(out_bar, x2), x1)"},
        zero_in="x2")
# modf(x) = (fractional part, integral part): slopes 1 and 0 (the jumps at integers taken
# as constant pieces); frexp(x) = (m, e), x = m 2**e: the mantissa has slope 2**-e (its
# jumps at powers of two taken likewise), the integer e none
defrule(np.modf, "x", name="np.modf", kind=ANY, returns_seq=True,
        jvp="(bcast(x_dot, out[0]), 0.0 * out[1])", vjp="unbroadcast(out_bar[0], x)")
defrule(np.frexp, "x", name="np.frexp", kind=ANY, returns_seq=True,
        jvp="(np.ldexp(x_dot, -out[1]), 0.0 * out[0])", vjp="np.ldexp(out_bar[0], -out[1])")
# dtype= of both: the parts computed in that dtype (NumPy's frexp has loops for dtype=None
# alone), the tangent cast to it and the adjoint starting from the cotangent cast alike
defvariant(lookup(np.modf), "x, *, dtype=None, casting='same_kind'", returns_seq=True,
           jvp="(cast_tangent(bcast(x_dot, out[0]), out[0]), 0.0 * out[1])",
           vjp="unbroadcast(cast_adjoint(out_bar[0], out[0]), x)")
defvariant(lookup(np.frexp), "x, *, dtype=None, casting='same_kind'", returns_seq=True,
           jvp="(cast_tangent(np.ldexp(x_dot, -out[1]), out[0]), 0.0 * out[0])",
           vjp="np.ldexp(cast_adjoint(out_bar[0], out[0]), -out[1])")
# np.i0's derivative is I1 (SciPy's, or its series without SciPy); I1' = I0 - I1 / x
defunary(np, "np", {"i0": "bessel_i1(x)"}, array_of_numbers=("i0",))
defrule(ra.bessel_i1, "x", name="bessel_i1", batch="elementwise",
        jvp="x_dot * bessel_i1_slope(x)", vjp="out_bar * bessel_i1_slope(x)")
# np.around is np.round (piecewise constant)
defrule(np.around, "a, decimals=0", name="np.around", kind=ANY, differentiable=False)
defrule(np.round, "a, decimals=0", name="np.round", method="round", kind=ANY,
        differentiable=False)
# positions of a matrix's triangles and diagonal (integers: no derivative)
for _f in (np.triu_indices_from, np.tril_indices_from):
    defrule(_f, "arr, k=0", name=f"np.{_f.__name__}", kind=ANY, differentiable=False)
defrule(np.diag_indices_from, "arr", name="np.diag_indices_from", kind=ANY, differentiable=False)

# ------------------------------------------------------------ nan-aware reductions
# np.nansum & co.: the plain reduction of the entries that are not nan; a nan entry gets a
# zero derivative (not_nan is the mask, nan_inv_count nanmean's weight and nanvar's divisor)
defrule(np.nansum, "x, axis=None, dtype=None, *, keepdims=False", name="np.nansum",
        kind="reduce",
        jvp="cast_tangent(np.sum(x_dot * not_nan(x), axis=axis, keepdims=keepdims), out)",
        vjp="unreduce(cast_adjoint(out_bar, out), x, axis, keepdims) * not_nan(x)")
defrule(np.nanmean, "x, axis=None, dtype=None, *, keepdims=False", name="np.nanmean",
        kind="reduce",
        jvp="cast_tangent(np.sum(x_dot * not_nan(x), axis=axis, keepdims=keepdims) * "
            "nan_inv_count(x, axis, keepdims), out)",
        vjp="unreduce(cast_adjoint(out_bar, out) * nan_inv_count(x, axis, keepdims), x, axis, "
            "keepdims) * not_nan(x)")
defrule(np.nanprod, "x, axis=None, dtype=None, *, keepdims=False", name="np.nanprod",
        kind="reduce",
        jvp="cast_tangent(prod_jvp(x_dot * not_nan(x), np.where(np.isnan(x), 1.0, x), out, axis, "
            "keepdims), out)",
        vjp="prod_vjp(cast_adjoint(out_bar, out), np.where(np.isnan(x), 1.0, x), out, axis, "
            "keepdims) * not_nan(x)")
# (x - nanmean) with 0 at the nan entries
_DEV = "np.where(np.isnan(x), 0.0, x - np.nanmean(x, axis=axis, keepdims=True))"
defrule(np.nanvar, "x, axis=None, dtype=None, *, ddof=0, keepdims=False", name="np.nanvar",
        kind="reduce",
        jvp=f"cast_tangent(np.sum(x_dot * {_DEV}, axis=axis, keepdims=keepdims) * "
            "(2.0 * nan_inv_count(x, axis, keepdims, ddof)), out)",
        vjp="unreduce(cast_adjoint(out_bar, out) * (2.0 * nan_inv_count(x, axis, keepdims, ddof)), "
            f"x, axis, keepdims) * {_DEV}")
defrule(np.nanstd, "x, axis=None, dtype=None, *, ddof=0, keepdims=False", name="np.nanstd",
        kind="reduce",
        jvp=f"cast_tangent(np.sum(x_dot * {_DEV}, axis=axis, keepdims=keepdims) * "
            "(recip_or_zero(out) * nan_inv_count(x, axis, keepdims, ddof)), out)",
        vjp="unreduce(cast_adjoint(out_bar, out) * (recip_or_zero(out) * "
            f"nan_inv_count(x, axis, keepdims, ddof)), x, axis, keepdims) * {_DEV}")
# nanmax and nanmin: max's and min's (a nan entry never attains the result; ties split)
for _m in ("max", "min"):
    defrule(getattr(np, "nan" + _m), "x, axis=None, *, keepdims=False", name=f"np.nan{_m}",
            kind="reduce",
            jvp="np.sum(x_dot * max_weight(x, out, axis, keepdims), axis=axis, keepdims=keepdims)",
            vjp="max_vjp(out_bar, x, out, axis, keepdims)")
defrule(np.nancumsum, "x, axis=None, dtype=None", name="np.nancumsum", kind=ANY,
        jvp="cast_tangent(np.cumsum(x_dot * not_nan(x), axis=axis), out)",
        vjp="uncumsum(cast_adjoint(out_bar, out), x, axis) * not_nan(x)")
defrule(np.nancumprod, "x, axis=None, dtype=None", name="np.nancumprod", kind=ANY,
        jvp="cast_tangent(cumprod_jvp(x_dot * not_nan(x), np.where(np.isnan(x), 1.0, x), out, "
            "axis), out)",
        vjp="cumprod_vjp(cast_adjoint(out_bar, out), np.where(np.isnan(x), 1.0, x), out, axis) * "
            "not_nan(x)")
defrule(np.nanmedian, "x, axis=None, *, keepdims=False", name="np.nanmedian", kind="reduce",
        jvp="np.sum(x_dot * nanmedian_weight(x, axis), axis=axis, keepdims=keepdims)",
        vjp="unreduce(out_bar, x, axis, keepdims) * nanmedian_weight(x, axis)")
defrule(ra.nanmedian_weight, "x, axis=None", name="nanmedian_weight", kind=ANY,
        differentiable=False)
for _f in (ra.not_nan, ra.nan_inv_count):
    defrule(_f, "x, axis=None, keepdims=False, ddof=0", name=_f.__name__, kind=ANY,
            differentiable=False)

# ------------------------------------------------------------ NumPy 2's array-API names
# (compositions of the rules above, with the array API's argument conventions)
for _f in (np.matrix_transpose, np.linalg.matrix_transpose):
    defrule(_f, "x", name=f"np.{'linalg.' * (_f is np.linalg.matrix_transpose)}matrix_transpose",
            kind=ANY, storage="view", jvp="np.matrix_transpose(x_dot)",
            vjp="np.matrix_transpose(out_bar)")
defalias(np.linalg.outer, lookup(np.outer), "np.linalg.outer")
defrule(np.linalg.diagonal, "x, *, offset=0", name="np.linalg.diagonal", kind=ANY,
        storage="view", jvp="np.linalg.diagonal(x_dot, offset=offset)",
        vjp="undiagonal(out_bar, x, offset, -2, -1)")
defrule(np.linalg.trace, "x, *, offset=0, dtype=None", name="np.linalg.trace", kind=ANY,
        jvp="cast_tangent(np.linalg.trace(x_dot, offset=offset), out)",
        vjp="undiagonal(np.expand_dims(cast_adjoint(out_bar, out), -1), x, offset, -2, -1)")
defrule(np.linalg.svdvals, "x", name="np.linalg.svdvals", kind=ANY,
        jvp="svd_jvp(x_dot, x, out, False, False)", vjp="svd_vjp(out_bar, x, out, False, False)")
# vecdot(x1, x2) = sum(x1 x2, axis) of real operands, broadcast
for _f in (np.linalg.vecdot, np.vecdot):
    defrule(_f, "x1, x2, *, axis=-1", name=f"np.{'linalg.' * (_f is np.linalg.vecdot)}vecdot",
            kind=ANY,
            jvp={"x1": "np.vecdot(x1_dot, x2, axis=axis)", "x2": "np.vecdot(x1, x2_dot, axis=axis)"},
            vjp={"x1": "unbroadcast(np.expand_dims(out_bar, axis) * x2, x1)",
                 "x2": "unbroadcast(x1 * np.expand_dims(out_bar, axis), x2)"})
defrule(np.linalg.cross, "x1, x2, *, axis=-1", name="np.linalg.cross", kind=ANY,
        jvp={"x1": "np.linalg.cross(x1_dot, x2, axis=axis)",
             "x2": "np.linalg.cross(x1, x2_dot, axis=axis)"},
        vjp={"x1": "np.moveaxis(unbroadcast(cross_vjp(np.moveaxis(out_bar, axis, -1), "
                   "np.moveaxis(x2, axis, -1)), np.moveaxis(x1, axis, -1)), -1, axis)",
             "x2": "np.moveaxis(unbroadcast(-cross_vjp(np.moveaxis(out_bar, axis, -1), "
                   "np.moveaxis(x1, axis, -1)), np.moveaxis(x2, axis, -1)), -1, axis)"})
# vector_norm never takes a matrix norm (np.linalg.norm's vector weights over the reduced
# axes); matrix_norm is np.linalg.norm over the last two axes
defrule(np.linalg.vector_norm, "x, *, axis=None, keepdims=False, ord=2",
        name="np.linalg.vector_norm", kind="reduce",
        jvp="np.sum(x_dot * vector_norm_weight(x, out, ord, axis, keepdims), axis=axis, "
            "keepdims=keepdims)",
        vjp="unreduce(out_bar, x, axis, keepdims) * vector_norm_weight(x, out, ord, axis, keepdims)")
defrule(np.linalg.matrix_norm, "x, *, keepdims=False, ord='fro'", name="np.linalg.matrix_norm",
        kind=ANY,
        jvp="np.sum(x_dot * norm_weight(x, out, ord, (-2, -1), keepdims), axis=(-2, -1), "
            "keepdims=keepdims)",
        vjp="unreduce(out_bar, x, (-2, -1), keepdims) * norm_weight(x, out, ord, (-2, -1), "
            "keepdims)")
# cumulative_sum/prod are cumsum/cumprod with, for include_initial=True, a zero (one) first
defrule(np.cumulative_sum, "x, *, axis=None, dtype=None, include_initial=False",
        name="np.cumulative_sum", kind=ANY,
        jvp="cast_tangent(np.cumulative_sum(x_dot, axis=axis, include_initial=include_initial), "
            "out)",
        vjp="uncumsum(initial_dropped(cast_adjoint(out_bar, out), out, axis, include_initial), x, "
            "axis)")
defrule(np.cumulative_prod, "x, *, axis=None, dtype=None, include_initial=False",
        name="np.cumulative_prod", kind=ANY,
        jvp="cast_tangent(initial_zero_added(cumprod_jvp(x_dot, x, initial_dropped(out, out, "
            "axis, include_initial), axis), axis, include_initial), out)",
        vjp="cumprod_vjp(initial_dropped(cast_adjoint(out_bar, out), out, axis, include_initial), "
            "x, initial_dropped(out, out, axis, include_initial), axis)")
deflinear(ra.initial_dropped, "g, like, axis=None, include_initial=False", shape_args="like",
          vjp="initial_zero_added(out_bar, axis, include_initial)", zero_in="axis, include_initial")
deflinear(ra.initial_zero_added, "t, axis=None, include_initial=False",
          vjp="initial_dropped(out_bar, out, axis, include_initial)",
          zero_in="axis, include_initial")
defrule(np.unstack, "x, *, axis=0", name="np.unstack", kind=ANY, holds="x", returns_seq=True,
        jvp="np.unstack(x_dot, axis=axis)", vjp="ununstack(out_bar, x, axis)").linear = True
deflinear(ra.ununstack, "gs, x, axis=0", shape_args="x", vjp="np.unstack(out_bar, axis=axis)",
          zero_in="axis")

# ------------------------------------------------------------ more of np.linalg and spaces
# cond (p=None or 2: s_max / s_min; other p raise NotImplementedError, an active p is refused)
refuse(defrule(np.linalg.cond, "x, p=None", name="np.linalg.cond", kind=ANY,
               jvp="cond_jvp(x_dot, x, out, p)", vjp="cond_vjp(out_bar, x, out, p)"), "p")
# logspace = base ** linspace(start, stop); geomspace = exp(linspace(log start, log stop))
_LW = "linspace_weight(out, num, endpoint, axis)"
defrule(np.logspace, "start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0",
        name="np.logspace", kind=ANY,
        jvp={"start": f"cast_tangent(out * (np.log(base) * bcast(np.expand_dims(start_dot, axis) * "
                      f"(1.0 - {_LW}), out)), out)",
             "stop": f"cast_tangent(out * (np.log(base) * bcast(np.expand_dims(stop_dot, axis) * "
                     f"{_LW}, out)), out)"},
        vjp={"start": f"unbroadcast(np.sum(cast_adjoint(out_bar, out) * out * (1.0 - {_LW}), "
                      "axis=axis) * np.log(base), start)",
             "stop": f"unbroadcast(np.sum(cast_adjoint(out_bar, out) * out * {_LW}, axis=axis) * "
                     "np.log(base), stop)"})
defrule(np.geomspace, "start, stop, num=50, endpoint=True, dtype=None, axis=0",
        name="np.geomspace", kind=ANY,
        jvp={"start": f"cast_tangent(out * bcast(np.expand_dims(start_dot / start, axis) * "
                      f"(1.0 - {_LW}), out), out)",
             "stop": f"cast_tangent(out * bcast(np.expand_dims(stop_dot / stop, axis) * {_LW}, "
                     "out), out)"},
        vjp={"start": f"unbroadcast(np.sum(cast_adjoint(out_bar, out) * out * (1.0 - {_LW}), "
                      "axis=axis) / start, start)",
             "stop": f"unbroadcast(np.sum(cast_adjoint(out_bar, out) * out * {_LW}, axis=axis) / "
                     "stop, stop)"})
# multi_dot(arrays): the chain of products (a 1-d first or last factor a row or a column)
defrule(np.linalg.multi_dot, "arrays", name="np.linalg.multi_dot", kind=ANY, reads_items=True,
        jvp="multi_dot_jvp(arrays_dot, arrays)", vjp="multi_dot_vjp(out_bar, arrays)")
# cov(m, y, rowvar, bias, ddof) = Xc Xc^T / (N - ddof) of the centred rows of variables
# (fweights and aweights are not differentiated: such a call is refused); corrcoef(x, y,
# rowvar) = c / sqrt(d d^T), d = diag(c) (its clip to [-1, 1] taken as the identity: nan
# where a variable is constant, as the value)
defrule(np.cov, "m, y=None, rowvar=True, bias=False, ddof=None", name="np.cov", kind=ANY,
        jvp={"m": "cov_jvp(m_dot, 0.0, m, y, rowvar, bias, ddof)",
             "y": "cov_jvp(0.0, y_dot, m, y, rowvar, bias, ddof)"},
        vjp={"m": "cov_vjp(out_bar, m, y, rowvar, bias, ddof, 0)",
             "y": "cov_vjp(out_bar, m, y, rowvar, bias, ddof, 1)"})
defrule(np.corrcoef, "x, y=None, rowvar=True", name="np.corrcoef", kind=ANY,
        jvp={"x": "corrcoef_jvp(x_dot, 0.0, x, y, rowvar)",
             "y": "corrcoef_jvp(0.0, y_dot, x, y, rowvar)"},
        vjp={"x": "corrcoef_vjp(out_bar, x, y, rowvar, 0)",
             "y": "corrcoef_vjp(out_bar, x, y, rowvar, 1)"})
# tensorinv(a, ind) and tensorsolve(a, b) (axes=None only) as inv and solve of a's matrix
defrule(np.linalg.tensorinv, "a, ind=2", name="np.linalg.tensorinv", kind=ANY,
        jvp="tensorinv_jvp(a_dot, a, out, ind)", vjp="tensorinv_vjp(out_bar, a, out, ind)")
defrule(np.linalg.tensorsolve, "a, b", name="np.linalg.tensorsolve", kind=ANY,
        jvp={"a": "tensorsolve_jvp(a_dot, 0.0, a, b, out)",
             "b": "tensorsolve_jvp(0.0, b_dot, a, b, out)"},
        vjp={"a": "tensorsolve_vjp_a(out_bar, a, b, out)",
             "b": "tensorsolve_vjp_b(out_bar, a, b, out)"})
# unique(ar) (no return_* arguments): each distinct value is the entry of ar where it first
# occurs, which takes its derivative (entries tied with it get none, as sort's ties); lexsort
# gives positions (no derivative)
defrule(np.unique, "ar", name="np.unique", kind=ANY,
        jvp="unique_take(ar_dot, ar)", vjp="ununique(out_bar, ar)")
deflinear(ra.unique_take, "t, ar", shape_args="ar", vjp="ununique(out_bar, ar)")
deflinear(ra.ununique, "g, ar", shape_args="ar", vjp="unique_take(out_bar, ar)")
defrule(np.lexsort, "keys, axis=-1", name="np.lexsort", kind=ANY, differentiable=False)

# a reduction's axes as a tuple of ints (srcad's helpers, read at second order): no derivative
defrule(ra.reduce_axis, "x, axis", name="reduce_axis", kind=NONE, differentiable=False)
# a ufunc's derivative with out= and where= (rules.defmasked) is computed on the entries the
# condition selects: masked_take gathers them (a vector), masked_put scatters a vector back
deflinear(ra.masked_take, "x, where, like", vjp="unbroadcast(masked_put(out_bar, where, like), x)",
          shape_args="like", zero_in="where")
deflinear(ra.masked_put, "v, where, like", vjp="masked_take(out_bar, where, like)",
          shape_args="like", zero_in="where")
# np.trapezoid(y, x, dx, axis) = sum d_i (y_i + y_(i+1)) / 2, d = diff(x) (or dx where x is
# None): linear in y and in the spacing, so its tangents are trapezoids of the tangents
if hasattr(np, "trapezoid"):
    defrule(np.trapezoid, "y, x=None, dx=1.0, axis=-1", name="np.trapezoid", kind=ANY,
            jvp={"y": "np.trapezoid(y_dot, x, dx, axis)", "x": "np.trapezoid(y, x_dot, 1.0, axis)",
                 "dx": "trapezoid_jvp_dx(dx_dot, y, x, axis)"},
            vjp={"y": "trapezoid_vjp_y(out_bar, y, x, dx, axis)",
                 "x": "trapezoid_vjp_x(out_bar, y, x, axis)",
                 "dx": "trapezoid_vjp_dx(out_bar, y, x, dx, axis)"}, zero_in="axis")
