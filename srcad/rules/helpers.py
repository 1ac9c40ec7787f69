"""Rules for the runtime helpers that generated derivative code calls (`unbroadcast`,
`uncumsum`, `inner_vjp_x`, ...), so srcad differentiates its own output: `grad(grad(f))`,
`hessian` (forward over reverse), through loops too (their stacks are lists).

Most are linear in their first argument (an adjoint or a tangent) and use the others
only for shapes; the products' adjoints are bilinear. Weights that are piecewise constant
(clip's slope, fmax's share, linspace's fractions) have zero derivative. Helpers without a
rule here (prod_others, cumprod_jvp/vjp, norm_weight, solve_*, einsum_*_pair) are
differentiated by reading their source where srcad can, or fail at build time naming them.
"""
import builtins

from .. import runtime
from . import _NAMES, ANY, FLOAT, NONE, all_rules, defrule, deflinear, lookup
from .linalg import EINSUM_ARGS

_BEFORE = {id(r) for r in all_rules()}


def _helper_rules() -> list:
    """The rules this table declares (those not in the tables loaded before it)."""
    return [r for r in all_rules() if id(r) not in _BEFORE]

# ------------------------------------------------------------ what every derivative uses
# (a helper may return its argument itself or a view of it: storage "same" or "view")
deflinear(runtime.unbroadcast, "g, like", vjp="bcast(out_bar, g)", storage="same",
          shape_args="like", jvp_batched="bunbroadcast(g_dot, like, BATCH)")
deflinear(runtime.bcast, "t, like", vjp="unbroadcast(out_bar, t)", storage="view",
          shape_args="like", jvp_batched="bbcast_like(t_dot, like, BATCH)")
# unreduce returns a g that already has like's shape as it is: its adjoint sums out_bar back
# to g's shape, whichever it is
deflinear(runtime.unreduce, "g, like, axis=None, keepdims=False", storage="view",
          shape_args="like", jvp_batched="bunreduce(g_dot, like, axis, keepdims, BATCH)",
          vjp="unreduce_vjp(out_bar, g, axis, keepdims)", zero_in="axis, keepdims")
deflinear(runtime.unreduce_vjp, "h, g, axis=None, keepdims=False", shape_args="g",
          vjp="unreduce(out_bar, h, axis, keepdims)", zero_in="axis, keepdims")
deflinear(runtime.grad_like, "g, x", vjp="unbroadcast(out_bar, g)", kind="like",
          storage="same", shape_args="x", jvp_batched="bgrad_like(g_dot, x, BATCH)")
# g may be smaller than x[idx] and broadcast into it (a sum's adjoint left as a scalar)
deflinear(runtime.unindex, "g, x, idx", vjp="unbroadcast(out_bar[idx], g)", shape_args="x",
          reads_items=True, new_list=True,
          jvp_batched="bunindex(g_dot, x, idx, BATCH)", zero_in="idx")
# generated code writes `acc = index_add(acc, idx, g)`: a value update (it adds in place);
# srcad's derivative of such code adds on a copy (`index_added`), as its reverse sweep may
# read the acc of before the update (reverse over reverse: d(g / v)/dv reads g)
_INDEX_ADD = defrule(runtime.index_add, "acc, idx, g", name="index_add", kind=ANY, pure=False,
        storage="same", inplace=True, primal="index_added(acc, idx, g)", seq_item="g",
        jvp={"acc": "bcast(acc_dot, out)", "g": "unindex(g_dot, acc, idx)"},
        jvp_batched={"acc": "bbcast_like(acc_dot, out, BATCH)",
                     "g": "bunindex(g_dot, acc, idx, BATCH)"},
        vjp={"acc": "out_bar", "g": "unbroadcast(out_bar[idx], g)"}, zero_in="idx")
_NAMES.setdefault("index_add", _INDEX_ADD)         # (generated code prints it by name)
defrule(runtime.index_added, "acc, idx, g", name="index_added", kind=ANY, seq_item="g",
        jvp={"acc": "bcast(acc_dot, out)", "g": "unindex(g_dot, acc, idx)"},
        jvp_batched={"acc": "bbcast_like(acc_dot, out, BATCH)",
                     "g": "bunindex(g_dot, acc, idx, BATCH)"},
        vjp={"acc": "out_bar", "g": "unbroadcast(out_bar[idx], g)"}, zero_in="idx")
# unreshape(g, like) is g with like's shape (like gives only its shape); its transpose
# reshapes back to g's shape
deflinear(runtime.unreshape, "g, like, order='C'", vjp="unreshape(out_bar, g, order)",
          storage="view", shape_args="like", zero_in="order")
# the adjoints of `x[idx] = v` (see core.SETITEM): linear in their first argument
deflinear(runtime.unassign, "g, x, idx", vjp="unbroadcast(unassign(out_bar, x, idx), g)",
          shape_args="x", zero_in="idx")
deflinear(runtime.assigned_bar, "g, v, idx, x=None", vjp="assign_scatter(out_bar, g, idx, x)",
          shape_args="v, x", zero_in="idx")
deflinear(runtime.written, "t, x", vjp="written(out_bar, x)", shape_args="x")
deflinear(runtime.owned, "g, x", vjp="unbroadcast(out_bar, g)", shape_args="x")
deflinear(runtime.assign_scatter, "u, g, idx, x=None", vjp="assigned_bar(out_bar, u, idx, x)",
          shape_args="g, x", zero_in="idx")
# `x op= y` of the primal, printed `updated(x op y, x)`: the value in x's layout and dtype
# (x gives only those); the result may be r itself
_UPDATED = defrule(runtime.updated, "r, x", name="updated", kind="first", storage="same",
                   shape_args="x", shaped_like="x", jvp="r_dot", vjp="out_bar")
_UPDATED.linear = True
# a copy of a value (arrays copied, None and numbers as they are): the stacks of arrays
# updated in place keep these
deflinear(runtime.snapshot, "v", vjp="out_bar", kind="first")
deflinear(runtime.untranspose, "g, axes=None", vjp="transposed(out_bar, axes)",
          storage="view", zero_in="axes")
deflinear(runtime.transposed, "x, axes=None", vjp="untranspose(out_bar, axes)", storage="view",
          zero_in="axes")
# matmul_vjp_x(g, x, y) = g @ y.T is bilinear in (g, y); x gives only its shape
defrule(runtime.matmul_vjp_x, "g, x, y", name="matmul_vjp_x", kind=ANY,
        jvp={"g": "matmul_vjp_x(g_dot, x, y)", "y": "matmul_vjp_x(g, x, y_dot)"},
        jvp_batched={"g": "bmatmul_vjp('x', g_dot, x, y, 'g', BATCH)",
                     "y": "bmatmul_vjp('x', g, x, y_dot, 'y', BATCH)"},
        vjp={"g": "unbroadcast(np.matmul(out_bar, y), g)", "y": "matmul_vjp_y(g, out_bar, y)"},
        zero_in="x")
# matmul_vjp_y(g, x, y) = x.T @ g is bilinear in (x, g); y gives only its shape
defrule(runtime.matmul_vjp_y, "g, x, y", name="matmul_vjp_y", kind=ANY,
        jvp={"g": "matmul_vjp_y(g_dot, x, y)", "x": "matmul_vjp_y(g, x_dot, y)"},
        jvp_batched={"g": "bmatmul_vjp('y', g_dot, x, y, 'g', BATCH)",
                     "x": "bmatmul_vjp('y', g, x_dot, y, 'x', BATCH)"},
        vjp={"g": "unbroadcast(np.matmul(x, out_bar), g)", "x": "matmul_vjp_x(g, x, out_bar)"},
        zero_in="y")
# dot_vjp_x(g, x, y) is bilinear in (g, y) and dot_vjp_y(g, x, y) in (g, x), as above
defrule(runtime.dot_vjp_x, "g, x, y", name="dot_vjp_x", kind=ANY,
        jvp={"g": "dot_vjp_x(g_dot, x, y)", "y": "dot_vjp_x(g, x, y_dot)"},
        vjp={"g": "unbroadcast(np.dot(out_bar, y), g)", "y": "dot_vjp_y(g, out_bar, y)"},
        zero_in="x")
defrule(runtime.dot_vjp_y, "g, x, y", name="dot_vjp_y", kind=ANY,
        jvp={"g": "dot_vjp_y(g_dot, x, y)", "x": "dot_vjp_y(g, x_dot, y)"},
        vjp={"g": "unbroadcast(np.dot(x, out_bar), g)", "x": "dot_vjp_x(g, x, out_bar)"},
        zero_in="y")
# the adjoint of a max or min reduction m of x, linear in g; x and m give the weights
# (piecewise constant: their tangents add nothing); its transpose sums out_bar * weights
# back to g's shape
deflinear(runtime.max_vjp, "g, x, m, axis=None, keepdims=False",
          vjp="unreduce_vjp(out_bar * max_weight(x, m, axis, keepdims), g, axis, keepdims)",
          zero_in="x, m, axis, keepdims")
# each is linear in its first parameter g (the optimizer moves -1 and powers of two out)
for _f in (runtime.matmul_vjp_x, runtime.matmul_vjp_y, runtime.dot_vjp_x, runtime.dot_vjp_y):
    lookup(_f).linear = True
for _f in (runtime.zeros_like, runtime.tie_weight, runtime.max_weight):
    defrule(_f, "x, y=None, axis=None, keepdims=False", name=_f.__name__, kind=ANY,
            differentiable=False, shape_args="x" if _f is runtime.zeros_like else "")
# what a for loop iterates: a sequence as it is, anything else (a dict's keys) as a list
defrule(runtime.items_of, "x, reversible=False", name="items_of", kind="first",
        storage="same", passthrough=True, jvp="items_tangent(x_dot, x)",
        vjp="items_adjoint(out_bar, x)", zero_in="reversible")
# a dict's keys carry no derivative: items_of's tangent and adjoint are x's only where the
# loop iterates x itself (these two are each other's transposes)
deflinear(runtime.items_tangent, "t, x", vjp="items_adjoint(out_bar, x)", kind="first",
          storage="same", shape_args="x")
deflinear(runtime.items_adjoint, "g, x", vjp="items_tangent(out_bar, x)", kind="first",
          storage="same", shape_args="x")
defrule(builtins.reversed, "x", name="reversed", kind=NONE, differentiable=False)
defrule(builtins.slice, "start, stop=None, step=None", name="slice", kind=NONE,
        differentiable=False)
# lists: adjoints of items add item by item; sum's adjoint repeats g once per item
defrule(runtime.add_items, "a, b", name="add_items", kind=ANY, storage="same",
        storage_arg="a, b", holds="*a, *b", returns_seq=True,
        jvp={"a": "a_dot", "b": "b_dot"}, vjp={"a": "out_bar", "b": "out_bar"})
deflinear(runtime.repeat_items, "g, xs", vjp="sum(out_bar)", kind="list", holds="g",
          returns_seq=True, reads_items=True, new_list=True, zero_in="xs")

# ------------------------------------------------------------ constants
for _f in (runtime.fmax_weight, runtime.clip_weight):
    defrule(_f, "x, y=None, z=None", name=_f.__name__, kind=ANY, differentiable=False)
defrule(runtime.linspace_weight, "like, num=50, endpoint=True, axis=0", name="linspace_weight",
        kind=ANY, differentiable=False)
defrule(runtime.star_args, "a=None, b=None, c=None, d=None, e=None, f=None", name="star_args",
        kind=NONE, differentiable=False)
# the dtypes helpers compute (read at second order, where their arguments vary): no derivative
defrule(runtime._weight_dtype, "a=None, b=None, c=None, d=None", name="_weight_dtype", kind=NONE,
        differentiable=False)
defrule(runtime._float_dtype, "x", name="_float_dtype", kind=NONE, differentiable=False)

# ------------------------------------------------------------ d/dx log x = 1 / x
defrule(runtime.pow_log, "x", name="pow_log", jvp="x_dot / x", vjp="out_bar / x")
# t * w, 0 where t == 0 (exact there: the term is t times a finite or nan factor)
defrule(runtime.times_or_zero, "t, w", name="times_or_zero", batch="elementwise",
        jvp={"t": "times_or_zero(t_dot, w)", "w": "times_or_zero(t, w_dot)"},
        vjp={"t": "unbroadcast(times_or_zero(out_bar, w), t)",
             "w": "unbroadcast(times_or_zero(t, out_bar), w)"})
# ------------------------------------------------------------ reductions' divisors
defrule(runtime.inv_count, "x, out, ddof=0", name="inv_count", kind=FLOAT, differentiable=False)
defrule(runtime.spread_inv_count, "x, out, ddof=0", name="spread_inv_count", kind=FLOAT,
        differentiable=False)
# d (1/x) = -dx / x^2, 0 where x == 0 (and so is the function)
defrule(runtime.recip_or_zero, "x", name="recip_or_zero", jvp="x_dot * -(out ** 2)",
        vjp="out_bar * -(out ** 2)")

# ------------------------------------------------------------ linear in the first argument
deflinear(runtime.uncumsum, "g, x, axis=None",
          vjp="np.cumsum(out_bar, axis=axis)", zero_in="x, axis")
deflinear(runtime.undiagonal, "g, x, offset=0, axis1=0, axis2=1",
          vjp="unbroadcast(np.diagonal(out_bar, offset, axis1, axis2), g)",
          zero_in="x, offset, axis1, axis2")
deflinear(runtime.undiag, "g, v, k=0",
          vjp="np.diag(out_bar, k)", zero_in="v, k")
deflinear(runtime.untile, "g, x, reps",
          vjp="np.tile(out_bar, reps)", zero_in="x, reps")
deflinear(runtime.unrepeat, "g, x, repeats, axis=None",
          vjp="np.repeat(out_bar, repeats, axis)", zero_in="x, repeats, axis")
deflinear(runtime.cast_tangent, "t, like", storage="same",
          vjp="cast_adjoint(out_bar, like)", zero_in="like")
deflinear(runtime.cast_adjoint, "g, like", storage="same", shape_args="like",
          vjp="cast_adjoint(out_bar, like)")
# w in its arguments' precision (np.interp's and scipy.stats' derivatives): a cast, whose
# adjoint is cast back to w's dtype; a ... e give only the dtype
deflinear(runtime.in_dtype_of, "w, a=None, b=None, c=None, d=None, e=None", storage="same",
          vjp="in_dtype_of(out_bar, w)", zero_in="a, b, c, d, e")
# pieces out, pieces back: a list of adjoints joins into one
deflinear(runtime.unconcatenate, "g, xs, axis=0", holds="g",
          vjp="rejoin(out_bar, g, axis)", zero_in="xs, axis")
deflinear(runtime.unstack, "g, axis=0", holds="g", new_list=True,
          vjp="np.stack(out_bar, axis)", zero_in="axis")
deflinear(runtime.unhstack, "g, xs", holds="g", new_list=True,
          vjp="np.hstack(out_bar)", zero_in="xs")
deflinear(runtime.unvstack, "g, xs", holds="g", new_list=True,
          vjp="np.vstack(out_bar)", zero_in="xs")
deflinear(runtime.unsplit, "gs, x, indices_or_sections, axis=0",
          vjp="np.split(out_bar, indices_or_sections, axis)",
          zero_in="x, indices_or_sections, axis")
deflinear(runtime.rejoin, "bars, like, axis=0",
          vjp="unconcatenate(out_bar, bars, axis)", zero_in="like, axis")

# ------------------------------------------------------------ bilinear: the products' adjoints
# inner_vjp_x(g, x, y) contracts g with y (x gives only its shape); likewise the others
defrule(runtime.inner_vjp_x, "g, x, y", name="inner_vjp_x", kind=ANY,
        jvp={"g": "inner_vjp_x(g_dot, x, y)", "y": "inner_vjp_x(g, x, y_dot)"},
        vjp={"g": "np.inner(out_bar, y)", "y": "inner_vjp_y(g, out_bar, y)"}, zero_in="x")
defrule(runtime.inner_vjp_y, "g, x, y", name="inner_vjp_y", kind=ANY,
        jvp={"g": "inner_vjp_y(g_dot, x, y)", "x": "inner_vjp_y(g, x_dot, y)"},
        vjp={"g": "np.inner(x, out_bar)", "x": "inner_vjp_x(g, x, out_bar)"}, zero_in="y")
# np.tensordot's tangent (tx or ty may be 0.0); each derivative is a tensordot_jvp with
# one tangent 0.0 (which handles a 0.0 factor), each adjoint a tensordot's
defrule(runtime.tensordot_jvp, "tx, ty, x, y, axes=2", name="tensordot_jvp", kind=ANY,
        jvp={"tx": "tensordot_jvp(tx_dot, 0.0, x, y, axes)",
             "ty": "tensordot_jvp(0.0, ty_dot, x, y, axes)",
             "x": "tensordot_jvp(0.0, ty, x_dot, y, axes)",
             "y": "tensordot_jvp(tx, 0.0, x, y_dot, axes)"},
        vjp={"tx": "tensordot_vjp_x(out_bar, tx, y, axes)",
             "ty": "tensordot_vjp_y(out_bar, x, ty, axes)",
             "x": "tensordot_vjp_x(out_bar, x, ty, axes)",
             "y": "tensordot_vjp_y(out_bar, tx, y, axes)"}, zero_in="axes")
defrule(runtime.tensordot_vjp_x, "g, x, y, axes=2", name="tensordot_vjp_x", kind=ANY,
        jvp={"g": "tensordot_vjp_x(g_dot, x, y, axes)", "y": "tensordot_vjp_x(g, x, y_dot, axes)"},
        vjp={"g": "np.tensordot(out_bar, y, axes)", "y": "tensordot_vjp_y(g, out_bar, y, axes)"},
        zero_in="x, axes")
defrule(runtime.tensordot_vjp_y, "g, x, y, axes=2", name="tensordot_vjp_y", kind=ANY,
        jvp={"g": "tensordot_vjp_y(g_dot, x, y, axes)", "x": "tensordot_vjp_y(g, x_dot, y, axes)"},
        vjp={"g": "np.tensordot(x, out_bar, axes)", "x": "tensordot_vjp_x(g, x, out_bar, axes)"},
        zero_in="y, axes")

# ------------------------------------------------------------ einsum: multilinear in all operands
# einsum_jvp(k, t, *args) is np.einsum(*args) with the argument at position k replaced by t;
# einsum_vjp(k, g, *args) contracts g with the operands other than k. The *_pair helpers
# replace one more argument j (and are zero when j is k, whose value the helper reads only
# for its shape). Positions that hold subscripts are never active.
_ARGS = [f"x{i}" for i in range(EINSUM_ARGS)]
_ALL = ", ".join(_ARGS)
_SPEC = "k, t, " + ", ".join(f"{p}=None" for p in _ARGS)
defrule(runtime.einsum_jvp, _SPEC, name="einsum_jvp", kind=ANY,
        jvp={"t": f"einsum_jvp(k, t_dot, {_ALL})",
             **{p: f"einsum_jvp_pair(k, t, {i}, {p}_dot, {_ALL})" for i, p in enumerate(_ARGS)}},
        vjp={"t": f"einsum_vjp(k, out_bar, {_ALL})",
             **{p: f"einsum_vjp_pair({i}, out_bar, k, t, {_ALL})" for i, p in enumerate(_ARGS)}},
             zero_in="k")
defrule(runtime.einsum_vjp, _SPEC.replace("t, ", "g, ", 1), name="einsum_vjp", kind=ANY,
        jvp={"g": f"einsum_vjp(k, g_dot, {_ALL})",
             **{p: f"einsum_vjp_pair(k, g, {i}, {p}_dot, {_ALL})" for i, p in enumerate(_ARGS)}},
        vjp={"g": f"einsum_jvp(k, out_bar, {_ALL})",
             **{p: f"einsum_vjp_pair({i}, g, k, out_bar, {_ALL})" for i, p in enumerate(_ARGS)}},
             zero_in="k")

# ------------------------------------------------------------ the nonlinear weights
# prod_others(x) is P_i = prod_{k != i} x_k: dP_i = sum_{j != i} dx_j prod_{k != i, j} x_k,
# a symmetric map, its own adjoint
defrule(runtime.prod_others, "x, axis=None", name="prod_others", kind=ANY,
        jvp="prod_others_jvp(x, x_dot, axis)", vjp="prod_others_jvp(x, out_bar, axis)",
        zero_in="axis")
# prod_vjp(g, x, p) = unreduce(g) P(x) and prod_jvp(t, x, p) = sum(t P(x)), P = prod_others:
# linear in g (t), P differentiated as above; p is the product itself, read for speed only
_P = "x, p, axis, keepdims"
defrule(runtime.prod_vjp, "g, x, p, axis=None, keepdims=False", name="prod_vjp", kind=ANY,
        jvp={"g": f"prod_vjp(g_dot, {_P})",
             "x": "unreduce(g, x, axis, keepdims) * prod_others_jvp(x, x_dot, axis)"},
        vjp={"g": "np.sum(out_bar * prod_others(x, axis), axis=axis, keepdims=keepdims)",
             "x": "prod_others_jvp(x, out_bar * unreduce(g, x, axis, keepdims), axis)"},
             zero_in="p, axis, keepdims")
# (with `where`, the entries it leaves out count for nothing: their t gets no adjoint)
defrule(runtime.prod_jvp, "t, x, p, axis=None, keepdims=False, where=True", name="prod_jvp",
        kind=ANY,
        jvp={"t": f"prod_jvp(t_dot, {_P}, where)",
             "x": "np.sum(t * prod_others_jvp(x, x_dot, axis), axis=axis, keepdims=keepdims, "
                  "where=where)"},
        vjp={"t": f"np.where(where, prod_vjp(out_bar, {_P}), 0.0)",
             "x": "prod_others_jvp(x, np.where(where, t, 0.0) * unreduce(out_bar, x, axis, "
                  "keepdims), axis)"},
             zero_in="p, axis, keepdims, where")
# norm_weight(x, n) = sign(x) (|x| / n)^(p-1): entry i reads x[i] and the norm n; of a
# spectral norm, u diag(w) vh of x's svd, w piecewise constant (through svd_jvp / svd_vjp)
defrule(runtime.norm_weight, "x, n, ord=None, axis=None, keepdims=False", name="norm_weight",
        kind=ANY,
        jvp={"x": "norm_weight_jvp(x_dot, x, n, ord, axis, keepdims)",
             "n": "unreduce(n_dot, x, axis, keepdims) * norm_weight_dn(x, n, ord, axis, keepdims)"},
        vjp={"x": "norm_weight_vjp(out_bar, x, n, ord, axis, keepdims)",
             "n": "np.sum(out_bar * norm_weight_dn(x, n, ord, axis, keepdims), axis=axis, "
                  "keepdims=keepdims)"}, zero_in="ord, axis, keepdims")
# cumprod_vjp(g, x, p) = L(x, p)^T g, L the linear map cumprod_jvp(., x, p): linear in g,
# its recurrence differentiated for x and p
defrule(runtime.cumprod_vjp, "g, x, p, axis=None", name="cumprod_vjp", kind=ANY,
        jvp={"g": "cumprod_vjp(g_dot, x, p, axis)",
             "x": "cumprod_vjp_jvp(g, x, p, axis, x_dot, 0.0)",
             "p": "cumprod_vjp_jvp(g, x, p, axis, 0.0, p_dot)"},
        vjp={"g": "cumprod_jvp(out_bar, x, p, axis)",
             "x": "cumprod_vjp_vjp(out_bar, g, x, p, axis)[0]",
             "p": "cumprod_vjp_vjp(out_bar, g, x, p, axis)[1]"}, zero_in="axis")

# ------------------------------------------------------------ what the emitters know of them
# Facts about the adjoint code the emitters build from these helpers, keyed by the helper
# itself (never its printed name):
# f(g, like, ...) is g where g already has like's shape, so shape classes may drop the call
BROADCASTING = frozenset({runtime.bcast, runtime.unbroadcast, runtime.unreduce})
# unreduce(g, x) (no axis): a full reduction's adjoint, g broadcast over x; g alone is the
# lazy adjoint every elementwise rule broadcasts correctly
FULL_BROADCAST = runtime.unreduce
# unindex(g, x, idx): zeros shaped like x with g at idx, a whole adjoint; index_add adds g
# into an adjoint x's shape in place instead
SCATTER = runtime.unindex
# unbroadcast(g, like) reads like only for its shape
SHAPE_OF_SECOND = runtime.unbroadcast

# ------------------------------------------------------------ the numba backend
# The helpers srcad.backends.numba_runtime has Numba versions of (specialised by the kinds
# of their arguments); every other helper's rule says the numba backend cannot compile it.
NUMBA_HELPERS = frozenset({
    runtime.unbroadcast, runtime.bcast, runtime.zeros_like, runtime.grad_like,
    runtime.unreduce, runtime.matmul_vjp_x, runtime.matmul_vjp_y, runtime.items_of,
    runtime.items_tangent, runtime.items_adjoint,
    runtime.index_add, runtime.index_added, runtime.tie_weight, runtime.pow_log, runtime.recip_or_zero,
    runtime.times_or_zero,
    runtime.transposed, runtime.untranspose,
    runtime.inv_count, runtime.unindex, runtime.unconcatenate, runtime.add_items,
    runtime.unreduce_vjp, runtime.unstack, runtime.updated, runtime.cast_adjoint,
    runtime.cast_tangent, runtime.unreshape, runtime.repeat_items, runtime.undiagonal,
    runtime.max_vjp, runtime.max_weight, builtins.reversed, builtins.slice})
for _r in _helper_rules():
    _r.numba = any(k in NUMBA_HELPERS for k in (_r.key if isinstance(_r.key, list) else [_r.key]))
