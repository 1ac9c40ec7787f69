"""The small runtime that generated derivative code calls; imports nothing from the compiler."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["unbroadcast", "bcast", "zeros_like", "grad_like", "stop_gradient", "unindex",
           "unreduce", "unreduce_vjp", "untranspose", "matmul_vjp_x", "matmul_vjp_y", "dot_vjp_x",
           "dot_vjp_y", "tie_weight", "items_of",
           "max_weight", "index_add", "list_append", "add_items", "repeat_items", "Stack"]


def items_of(x, reversible=False):
    """What a `for` loop over `x` iterates, indexable by position: `x` itself when it is a
    list, tuple, array, range or str (indexing reads its items in order), else `list(x)`
    (a dict's keys, a set's items, a view or iterator). `reversible`: x is reversed()'s
    argument, which raises as Python does where x cannot be reversed (a set)."""
    if isinstance(x, (list, tuple, np.ndarray, range, str)):
        return x
    if reversible:
        reversed(x)
    return list(x)


def stop_gradient(x):
    """Return `x`; every derivative treats the result as a constant."""
    return x


def unbroadcast(g, like):
    """Sum the adjoint `g` back to the shape of `like` (an array, a scalar, a shape tuple,
    or a list or tuple of values, whose adjoint goes back item by item)."""
    if type(like) is float:
        return g if type(g) is float else np.sum(g)
    if type(g) is np.ndarray:                     # the common case, without np.* dispatch
        tl = type(like)
        shape = like.shape if tl is np.ndarray else like if _is_shape(like) else _shape(like)
        gshape = g.shape
        if shape is None or gshape == shape:
            return g
        lead = len(gshape) - len(shape)
        if lead >= 0:
            if lead:
                g = g.sum(axis=tuple(range(lead)))
            axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
            if axes:
                g = g.sum(axis=axes, keepdims=True)
            return g if g.shape == shape else g.reshape(shape)
    if _is_shape(like):
        shape = like
    elif isinstance(g, (list, tuple)) and isinstance(like, (list, tuple)):
        # the adjoint of a list or tuple value: item by item
        return Items(unbroadcast(gk, lk) for gk, lk in zip(g, like))
    else:
        shape = _shape(like)
        if shape is None:                         # a sequence of unlike items: g is its zero
            return g
    gshape = np.shape(g)
    if gshape == shape:
        return g
    if not shape:
        return np.sum(g)
    if not gshape and g == 0:                     # a zero item of a list's adjoint
        return np.broadcast_to(g, shape)
    lead = len(gshape) - len(shape)
    if lead < 0 and type(g) is float and g == 0.0:
        return np.zeros(shape)    # a sequence's zero item (unindex's 0.0): a zero of any shape
    if lead:
        g = np.sum(g, axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and np.shape(g)[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return np.reshape(g, shape)


def _is_shape(like) -> bool:
    """Whether `like` is a shape tuple (reverse loops save the shape of values that only
    `unbroadcast` reads), not a tuple of values."""
    return type(like) is tuple and all(type(n) is int or isinstance(n, np.integer) for n in like)


def _shape(value):
    """`np.shape(value)`, or None for a list or tuple of items of unlike shapes."""
    try:
        return np.shape(value)
    except ValueError:
        return None


def bcast(t, like):
    """Broadcast the tangent `t` to the shape of `like` (the primal output; a list or tuple
    value gets its tangent item by item)."""
    if type(like) is float:
        return t
    if isinstance(t, (list, tuple)) and isinstance(like, (list, tuple)):
        return Items(bcast(tk, lk) for tk, lk in zip(t, like))
    shape = _shape(like)
    if shape is None or np.shape(t) == shape:
        return t
    return np.broadcast_to(t, shape)


def zeros_like(x):
    """A zero derivative for `x`: 0.0 for a Python scalar, a zero array for an array, a
    list of zeros, item by item, for a list or tuple (its items may differ in shape)."""
    if type(x) is float or type(x) is int:
        return 0.0
    if isinstance(x, (list, tuple)):
        return Items(zeros_like(v) for v in x)
    return np.zeros_like(x, dtype=_float_dtype(x))


def _foreign(a) -> bool:
    """Whether `a` is an array of another library dispatching NumPy's functions (NEP 18:
    Dask, CuPy), which the runtime keeps as it is."""
    return hasattr(type(a), "__array_function__") and not isinstance(a, (np.ndarray,
                                                                          np.generic))


def _float_dtype(x):
    dt = x.dtype if isinstance(x, (np.ndarray, np.generic)) or _foreign(x) else \
        np.asarray(x).dtype
    return dt if np.issubdtype(dt, np.inexact) else np.float64


def grad_like(g, x):
    """Give the derivative `g` the type, shape and dtype of the argument `x`. A float `x`
    with an array `g` is a zero item of a tuple's adjoint (0.0 standing for an array, which
    a second derivative differentiates), or a float broadcast: g sums to its float."""
    if type(x) is float:
        return float(g) if type(g) is float or np.ndim(g) == 0 else float(np.sum(g))
    if isinstance(x, np.ndarray):
        dt = _float_dtype(x)
        if type(g) is np.ndarray and g.shape == x.shape and g.dtype == dt:
            return g
        if _foreign(g):             # a Dask or CuPy array stays one (never pulled to NumPy)
            g = g if g.shape == x.shape else np.broadcast_to(g, x.shape)
            return g if g.dtype == dt else g.astype(dt)
        return np.array(np.broadcast_to(g, x.shape), dtype=dt)
    if _foreign(x):                 # an argument of another array library: its own type
        like = np.zeros_like(x, dtype=_float_dtype(x))
        return like + g if np.shape(g) != x.shape or not _foreign(g) else g
    if isinstance(x, (float, int)) and not isinstance(x, bool):
        return float(g) if np.ndim(g) == 0 else float(np.sum(g))
    if isinstance(x, np.generic):
        return np.asarray(g, dtype=_float_dtype(x))[()]
    if isinstance(x, (tuple, list)):             # one derivative per item; zero as 0.0
        zero = type(g) is float and g == 0.0
        return tuple(grad_like(0.0 if zero else gk, xk) for gk, xk in
                     zip([None] * len(x) if zero else g, x))
    return g


def unindex(g, x, idx):
    """Adjoint of `x[idx]`: a zero array shaped like `x` with `g` added at `idx` (repeats add up).
    For a list or tuple `x`, a list of per-item adjoints, zeros shaped like the items where
    nothing flows (rules may reshape or index an array item's adjoint)."""
    if isinstance(x, (list, tuple)):
        return index_add(Items(0.0 if type(v) is float else zeros_like(v) for v in x), idx, g)
    # at least x's own float dtype, so later terms added in place keep their precision
    dt = np.result_type(_float_dtype(np.asarray(g)), _float_dtype(x)) if np.ndim(x) else np.float64
    box = _box(idx, np.ndim(x))
    if box is not None:
        # x[a:b, c:d]: write g, zero only the rest (one pass over the array, not two)
        out = np.empty(np.shape(x), dtype=dt)
        out[idx] = g
        for k, s in enumerate(box):
            lo, hi, _ = s.indices(out.shape[k])
            hi = max(hi, lo)
            outer = tuple(box[:k])
            out[outer + (slice(0, lo),)] = 0
            out[outer + (slice(hi, None),)] = 0
        return out
    out = np.zeros(np.shape(x), dtype=dt)
    if _basic(idx):
        out[idx] = g                 # basic indexing selects each element at most once
    else:
        np.add.at(out, idx, g)
    return out


def index_add(acc, idx, g):
    """`acc[idx] += g` in place, adding repeated indices up; returns `acc`."""
    if isinstance(acc, list):                     # the adjoint of a list, item by item
        if isinstance(idx, slice):
            if type(g) is float and g == 0.0:         # a zero adjoint of the slice adds nothing
                return acc
            for k, gk in zip(range(*idx.indices(len(acc))), g):
                acc[k] = add_items(acc[k], gk)
        else:
            acc[idx] = add_items(acc[idx], g)
        return acc
    if _basic(idx):
        acc[idx] += g
    else:
        np.add.at(acc, idx, g)
    return acc


def _box(idx, ndim):
    """`idx` as a tuple of step-1 slices, one per leading axis, or None (then unindex
    zeros the whole array first)."""
    items = idx if type(idx) is tuple else (idx,)
    if not items or len(items) > ndim or any(
            type(s) is not slice or s.step not in (None, 1) for s in items):
        return None
    return items


def _basic(idx) -> bool:
    items = idx if type(idx) is tuple else (idx,)
    return all(i is None or i is Ellipsis or type(i) in (int, slice) or isinstance(i, np.integer)
               for i in items)


def unreduce(g, like, axis=None, keepdims=False):
    """Adjoint of a reduction over `axis`: `g` broadcast back to the shape of `like`."""
    if axis is None and type(like) is np.ndarray and like.size <= 4096 and np.ndim(g) == 0:
        # a small full array, not a broadcast view: cheaper to make and to compute with
        dt = like.dtype if like.dtype.kind == "f" else np.result_type(g, np.float64)
        out = np.empty(like.shape, dtype=dt)
        out.fill(g)
        return out
    shape = np.shape(like)
    if type(g) is np.ndarray and g.shape == shape:
        return g                      # already whole (a lazy adjoint that was not)
    axes = _reduced_axes(np.ndim(g), len(shape), axis, keepdims)
    if axes:
        g = np.expand_dims(g, axes)
    if _foreign(like) and not _foreign(g):
        # like's own array type (Dask: its chunks), not a NumPy array of like's size
        return np.zeros_like(like, dtype=_float_dtype(like)) + g
    return np.broadcast_to(g, shape)


def _reduced_axes(ndim_g, ndim, axis, keepdims) -> tuple:
    """The axes `unreduce` puts back into a `g` of `ndim_g` dimensions: the reduction's
    `axis` (non-negative) when g has the reduced shape of a reduction without keepdims, else
    none (g already broadcasts: a scalar, keepdims' shape, or the whole shape)."""
    if axis is None or keepdims:
        return ()
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if ndim_g != ndim - len(axes):
        return ()
    return tuple(a % ndim for a in axes)


def unreduce_vjp(h, g, axis=None, keepdims=False):
    """Adjoint of `unreduce(g, like, axis, keepdims)` with respect to `g`: the adjoint `h`
    (like's shape) summed back to the shape `g` has, whichever it is (the reduced shape, a
    scalar, keepdims' shape, or like's own shape, which unreduce returns as it is)."""
    gshape = np.shape(g)
    if np.shape(h) == gshape:
        return h
    axes = _reduced_axes(len(gshape), np.ndim(h), axis, keepdims)
    if axes:
        h = np.sum(h, axis=axes)
    return unbroadcast(h, g)


class Items(list):
    """The derivative of a list or tuple value, one per item: `+` (and `+=`) adds item by
    item, as derivatives add, and never concatenates, whichever code adds them."""

    def __add__(self, other):
        return add_items(self, other)

    def __radd__(self, other):
        return add_items(other, self)

    def __iadd__(self, other):
        return add_items(self, other)


def add_items(a, b):
    """The sum of two adjoints of a list or tuple, item by item (`+` would concatenate)."""
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        if not isinstance(a, (list, tuple)) and type(a) is float and a == 0.0:
            return b                                      # a zero adjoint adds nothing
        if not isinstance(b, (list, tuple)) and type(b) is float and b == 0.0:
            return a
        n = len(a) if isinstance(a, (list, tuple)) else len(b)
        return Items(add_items(a[k], b[k]) for k in range(n))
    return a + b


def repeat_items(g, xs):
    """The adjoint of `sum(xs)` for each item of `xs`: `g`, once per item."""
    return Items([g] * len(xs))


def list_append(xs, v):
    """`xs + [v]`: srcad's value form of `xs.append(v)`."""
    return xs + [v]


class Stack(list):
    """A list used as a stack by reverse-mode loops (append to push, pop to pop)."""


def _matmul_t(a):
    return a if np.ndim(a) < 2 else np.swapaxes(a, -1, -2)


def matmul_vjp_x(g, x, y):
    """Adjoint of `x @ y` (and of `np.dot` for up to 2-d operands) with respect to `x`."""
    if type(g) is float and g == 0.0:          # the zero adjoint of any shape
        return zeros_like(x)
    if type(y) is np.ndarray and type(x) is np.ndarray and x.ndim == 2 == y.ndim:
        return g @ y.T                            # matrices: no broadcasting to undo
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        return unbroadcast(g * y, x)
    if np.ndim(y) == 1:
        return g * y if np.ndim(x) == 1 else unbroadcast(np.expand_dims(g, -1) * y, x)
    if np.ndim(x) == 1:
        return unbroadcast(np.squeeze(y @ np.expand_dims(g, -1), -1), x)
    return unbroadcast(g @ _matmul_t(y), x)


def matmul_vjp_y(g, x, y):
    """Adjoint of `x @ y` (and `np.dot` for up to 2-d operands) with respect to `y`."""
    if type(g) is float and g == 0.0:          # the zero adjoint of any shape
        return zeros_like(y)
    if type(y) is np.ndarray and type(x) is np.ndarray and x.ndim == 2 == y.ndim:
        return x.T @ g
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        return unbroadcast(x * g, y)
    if np.ndim(x) == 1:
        if np.ndim(y) == 1:
            return g * x
        return unbroadcast(np.expand_dims(x, -1) * np.expand_dims(g, -2), y)
    if np.ndim(y) == 1:
        if np.shape(g) == np.shape(x)[:-1]:     # contract g with x: no temporary of x's size
            return np.reshape(g, (-1,)) @ np.reshape(x, (-1, np.shape(x)[-1]))
        return unbroadcast(np.expand_dims(g, -1) * x, y)
    return unbroadcast(_matmul_t(x) @ g, y)


def dot_vjp_x(g, x, y):
    """Adjoint of `np.dot(x, y)` with respect to `x`: as for `x @ y` up to 2-d operands;
    beyond, np.dot sums over the last axis of x and the second-to-last of y (the only
    axis of a 1-d y), a tensordot without broadcasting."""
    nx, ny = np.ndim(x), np.ndim(y)
    if (nx <= 2 and ny <= 2) or nx == 0 or ny == 0:
        return matmul_vjp_x(g, x, y)
    return tensordot_vjp_x(g, x, y, ([nx - 1], [max(ny - 2, 0)]))


def dot_vjp_y(g, x, y):
    """Adjoint of `np.dot(x, y)` with respect to `y` (see `dot_vjp_x`)."""
    nx, ny = np.ndim(x), np.ndim(y)
    if (nx <= 2 and ny <= 2) or nx == 0 or ny == 0:
        return matmul_vjp_y(g, x, y)
    return tensordot_vjp_y(g, x, y, ([nx - 1], [max(ny - 2, 0)]))


def tie_weight(x, y):
    """1 where x beats y, 0.5 where they tie, 0 where y wins: how maximum splits its adjoint."""
    w = (x > y) + 0.5 * (x == y)
    return w.astype(_weight_dtype(x, y)) if type(w) is np.ndarray else w


def max_weight(x, out, axis=None, keepdims=False):
    """Which entries of `x` attain the reduction `out`, ties sharing the derivative equally."""
    hit = x == unreduce(out, x, axis, keepdims)
    w = hit / unreduce(np.sum(hit, axis=axis, keepdims=keepdims), x, axis, keepdims)
    return w.astype(_weight_dtype(x, x)) if type(w) is np.ndarray else w


def untranspose(g, axes=None):
    """Adjoint of `np.transpose(x, axes)` (axes may be negative)."""
    if axes is None:
        return np.transpose(g)
    return np.transpose(g, np.argsort([a % np.ndim(g) for a in axes]))


# ---------------------------------------------------------------- helpers of the rule tables
# (elementwise, reductions, linalg, shapes, methods, constants): each undoes or weights one
# NumPy operation; derivatives keep the floating dtype of the values they come from.

def _weight_dtype(*xs):
    """The floating dtype a weight of `xs` takes: float32 stays float32, ints become float64."""
    dt = np.result_type(*xs, 1.0)
    return dt if np.issubdtype(dt, np.inexact) else np.float64


def pow_log(x):
    """log(x), and 0 where x == 0: d(x ** y)/dy = x ** y * pow_log(x) (at x = 0 the power
    does not vary with y > 0). A Python number gives a Python float, so float32 stays float32."""
    if type(x) is float or type(x) is int:
        return float(np.log(x)) if x != 0 else 0.0
    return np.log(np.where(x == 0, 1.0, x))


def inv_count(x, out, ddof=0):
    """1 / (N - ddof), N the entries of `x` each entry of the reduction `out` sums (mean's
    weight, var's and std's divisor, at least 0 as NumPy takes it), as a Python float: inf
    where NumPy divides by zero, nan when there are no entries (the gradient is empty)."""
    nx, nout = np.size(x), np.size(out)
    if nx == 0 or nout == 0:
        return math.nan
    d = nx / nout - ddof
    return 1.0 / d if d > 0 else math.inf


def recip_or_zero(x):
    """1 / x, and 0 where x == 0: std's derivative is (x - mean) / (N std), and 0 where
    std == 0 (there x - mean is 0 too; the least subgradient, and exact when N - ddof is 1)."""
    if type(x) is float:
        return 1.0 / x if x != 0 else 0.0
    with np.errstate(divide="ignore"):
        r = np.where(x == 0, 0.0, 1.0 / x)
    return r if type(x) is np.ndarray else r[()]


def fmax_weight(x, y):
    """The share of `np.fmax(x, y)`'s derivative going to `x`: 1 where x wins or y is NaN,
    0.5 on ties, else 0."""
    w = np.where(x == y, 0.5, (x > y) | (np.isnan(y) & ~np.isnan(x)))
    return w.astype(_weight_dtype(x, y))


def clip_weight(x, lo=None, hi=None):
    """1 where `lo <= x <= hi` (bounds inclusive; None is no bound), else 0: `np.clip`'s slope."""
    inside = np.ones(np.shape(x), dtype=bool)
    if lo is not None:
        inside = inside & (x >= lo)
    if hi is not None:
        inside = inside & (x <= hi)
    return inside.astype(_weight_dtype(x))


def prod_others(x, axis=None):
    """The derivative of `np.prod(x, axis)` by each entry: the product of the other entries
    along `axis` (exact also where `x` has zeros)."""
    x = np.asarray(x)
    nd = x.ndim
    axes = tuple(range(nd)) if axis is None else \
        tuple(a % nd for a in ((axis,) if isinstance(axis, (int, np.integer)) else axis))
    if not axes or x.size == 0:
        return np.ones_like(x, dtype=_weight_dtype(x))
    rest = [a for a in range(nd) if a not in axes]
    moved = np.transpose(x, rest + list(axes))
    flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), dtype=_weight_dtype(x))
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = (left * right).reshape(moved.shape)
    return np.transpose(others, np.argsort(rest + list(axes)))


def prod_others_jvp(x, t, axis=None):
    """Tangent of `prod_others(x, axis)` along `t`: sum over j != i of t[j] times the product
    of the entries other than i and j, by the exclusive products' recurrences (exact at
    zeros). The map is symmetric, so it is also its own adjoint."""
    x = np.asarray(x)
    nd = x.ndim
    axes = tuple(range(nd)) if axis is None else \
        tuple(a % nd for a in ((axis,) if isinstance(axis, (int, np.integer)) else axis))
    if not axes or x.size == 0:
        return np.zeros(np.shape(x), dtype=_weight_dtype(x, t))
    rest = [a for a in range(nd) if a not in axes]
    perm = rest + list(axes)

    def flat(a):
        moved = np.transpose(np.broadcast_to(a, x.shape), perm)
        return moved.reshape(moved.shape[:len(rest)] + (-1,))
    xs, ts = flat(x), flat(t)
    n = xs.shape[-1]
    lv, ld = np.ones(xs.shape, _weight_dtype(x, t)), np.zeros(xs.shape, _weight_dtype(x, t))
    rv, rd = lv.copy(), ld.copy()
    for i in range(1, n):                # left: products of x[:i]; right: of x[n-i:]
        lv[..., i] = lv[..., i - 1] * xs[..., i - 1]
        ld[..., i] = ld[..., i - 1] * xs[..., i - 1] + lv[..., i - 1] * ts[..., i - 1]
        j = n - 1 - i
        rv[..., j] = rv[..., j + 1] * xs[..., j + 1]
        rd[..., j] = rd[..., j + 1] * xs[..., j + 1] + rv[..., j + 1] * ts[..., j + 1]
    res = (ld * rv + lv * rd).reshape(np.transpose(x, perm).shape)
    return np.transpose(res, np.argsort(perm))


def uncumsum(g, x, axis=None):
    """Adjoint of `np.cumsum(x, axis)`: sums of `g` from each position to the end."""
    if type(g) is float and g == 0.0:          # the zero adjoint of any shape
        return zeros_like(x)
    if axis is None:
        g = np.ravel(g)
        return np.reshape(np.cumsum(g[::-1])[::-1], np.shape(x))
    g = np.flip(g, axis)
    return np.flip(np.cumsum(g, axis), axis)


def _along(a, axis):
    """`a` with `axis` moved to the front (flattened first when `axis` is None)."""
    return np.ravel(a)[..., None] if axis is None else np.moveaxis(np.asarray(a), axis, 0)


def cumprod_jvp(t, x, p, axis=None):
    """Tangent of `p = np.cumprod(x, axis)` along `t`: p'[i] = p'[i-1] x[i] + p[i-1] t[i]."""
    t, xs, outs = _along(np.broadcast_to(t, np.shape(x)), axis), _along(x, axis), \
        _along(p, axis)
    res = np.empty(np.shape(outs), dtype=np.result_type(t, outs))
    for i in range(len(xs)):
        res[i] = t[i] if i == 0 else res[i - 1] * xs[i] + outs[i - 1] * t[i]
    return res[:, 0] if axis is None else np.moveaxis(res, 0, axis)


def cumprod_vjp(g, x, p, axis=None):
    """Adjoint of `p = np.cumprod(x, axis)`, run backwards without dividing by `x`."""
    gs, xs, outs = _along(g, axis), _along(x, axis), _along(p, axis)
    res = np.empty(np.shape(outs), dtype=np.result_type(gs, outs))
    acc = None                                   # adjoint of p[i], all uses included
    for i in reversed(range(len(xs))):
        acc = gs[i] if acc is None else gs[i] + acc * xs[i + 1]
        res[i] = acc if i == 0 else acc * outs[i - 1]
    res = res[:, 0] if axis is None else np.moveaxis(res, 0, axis)
    return np.reshape(res, np.shape(x))


def cumprod_vjp_jvp(g, x, p, axis=None, x_dot=0.0, p_dot=0.0):
    """Tangent of `cumprod_vjp(g, x, p, axis)` along `x_dot` and `p_dot` (it is linear in g),
    by differentiating its backward recurrence."""
    gs, xs, outs = _along(g, axis), _along(x, axis), _along(p, axis)
    xd = _along(np.broadcast_to(np.asarray(x_dot, _weight_dtype(x, x_dot)), np.shape(x)), axis)
    pd = _along(np.broadcast_to(np.asarray(p_dot, _weight_dtype(p, p_dot)), np.shape(p)), axis)
    res = np.empty(np.shape(outs), dtype=np.result_type(gs, outs, xd, pd))
    acc = dacc = None
    for i in reversed(range(len(xs))):
        if acc is None:
            acc, dacc = gs[i], np.zeros_like(gs[i], dtype=res.dtype)
        else:
            acc, dacc = gs[i] + acc * xs[i + 1], dacc * xs[i + 1] + acc * xd[i + 1]
        res[i] = dacc if i == 0 else dacc * outs[i - 1] + acc * pd[i - 1]
    res = res[:, 0] if axis is None else np.moveaxis(res, 0, axis)
    return np.reshape(res, np.shape(x))


def cumprod_vjp_vjp(u, g, x, p, axis=None):
    """Adjoints of `cumprod_vjp(g, x, p, axis)` for `x` and for `p`, given `u`, the adjoint
    of its result: with r = cumprod_jvp(u, x, p) and a the backward sums of g,
    x_bar[i] = a[i] r[i-1] and p_bar[i-1] = a[i] u[i]."""
    gs, xs, us = _along(g, axis), _along(x, axis), _along(np.broadcast_to(u, np.shape(x)), axis)
    rs = _along(cumprod_jvp(u, x, p, axis), axis)
    xb = np.zeros(np.shape(rs), dtype=np.result_type(gs, rs))
    pb = np.zeros(np.shape(rs), dtype=np.result_type(gs, rs))
    acc = None
    for i in reversed(range(len(xs))):
        acc = gs[i] if acc is None else gs[i] + acc * xs[i + 1]
        if i:
            xb[i] = acc * rs[i - 1]
            pb[i - 1] = acc * us[i]
    if axis is None:
        return np.reshape(xb[:, 0], np.shape(x)), pb[:, 0]
    return np.moveaxis(xb, 0, axis), np.moveaxis(pb, 0, axis)


def inner_vjp_x(g, x, y):
    """Adjoint of `np.inner(x, y)` with respect to `x`."""
    if type(g) is float and g == 0.0:          # the zero adjoint of any shape
        return zeros_like(x)
    if np.ndim(x) == 0:
        return np.sum(g * y)
    if np.ndim(y) == 0:
        return g * y
    nx, ny = np.ndim(x) - 1, np.ndim(y) - 1
    return np.tensordot(g, y, axes=(list(range(nx, nx + ny)), list(range(ny))))


def inner_vjp_y(g, x, y):
    """Adjoint of `np.inner(x, y)` with respect to `y`."""
    if type(g) is float and g == 0.0:          # the zero adjoint of any shape
        return zeros_like(y)
    if np.ndim(y) == 0:
        return np.sum(g * x)
    if np.ndim(x) == 0:
        return g * x
    nx = np.ndim(x) - 1
    return np.tensordot(g, x, axes=(list(range(nx)), list(range(nx))))


def _tensordot_axes(nx, ny, axes):
    if isinstance(axes, (int, np.integer)):
        return list(range(nx - axes, nx)), list(range(axes))
    ax, ay = axes
    ax = [ax] if isinstance(ax, (int, np.integer)) else list(ax)
    ay = [ay] if isinstance(ay, (int, np.integer)) else list(ay)
    return [a % nx for a in ax], [a % ny for a in ay]


def tensordot_vjp_x(g, x, y, axes=2):
    """Adjoint of `np.tensordot(x, y, axes)` with respect to `x`."""
    if type(g) is float and g == 0.0:          # the zero adjoint of any shape
        return zeros_like(x)
    nx, ny = np.ndim(x), np.ndim(y)
    ax, ay = _tensordot_axes(nx, ny, axes)
    free_x = [i for i in range(nx) if i not in ax]
    free_y = [i for i in range(ny) if i not in ay]
    r = np.tensordot(g, y, axes=(list(range(len(free_x), len(free_x) + len(free_y))), free_y))
    order = free_x + [ax[ay.index(j)] for j in sorted(ay)]
    return np.transpose(r, np.argsort(order))


def tensordot_vjp_y(g, x, y, axes=2):
    """Adjoint of `np.tensordot(x, y, axes)` with respect to `y`."""
    if type(g) is float and g == 0.0:          # the zero adjoint of any shape
        return zeros_like(y)
    nx, ny = np.ndim(x), np.ndim(y)
    ax, ay = _tensordot_axes(nx, ny, axes)
    free_x = [i for i in range(nx) if i not in ax]
    free_y = [i for i in range(ny) if i not in ay]
    r = np.tensordot(x, g, axes=(free_x, list(range(len(free_x)))))
    order = [ay[ax.index(i)] for i in sorted(ax)] + free_y
    return np.transpose(r, np.argsort(order))


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _einsum_terms(subscripts, shapes):
    """The input terms and the output term of an einsum, each a list of letters, with
    `...` spelled out as letters the subscripts do not use (the same letters,
    right-aligned, in every term)."""
    spec = subscripts.replace(" ", "")
    ins, arrow, out = spec.partition("->")
    terms = ins.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum {subscripts!r} names {len(terms)} operands, got {len(shapes)}")
    if not arrow:
        letters = [c for t in terms for c in t if c.isalpha()]
        out = ("..." if any("..." in t for t in terms) else "") + \
            "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    ell = max((len(s) - (len(t) - 3) for t, s in zip(terms, shapes) if "..." in t), default=0)
    caps = [c for c in _LETTERS if c not in spec][:ell]

    def spell(t, nd):
        if "..." not in t:
            return list(t)
        head, _, tail = t.partition("...")
        k = nd - len(head) - len(tail)
        return list(head) + caps[ell - k:] + list(tail)
    return [spell(t, len(s)) for t, s in zip(terms, shapes)], spell(out, ell + len(out) - 3)


def _einsum_sublist(labels) -> str:
    """A sublist of np.einsum's second form (`[0, 1]`, `(Ellipsis, 0)`) as subscript letters."""
    return "".join("..." if k is Ellipsis else _LETTERS[k] for k in labels)


def _einsum_split(args):
    """np.einsum's arguments, in either form (`"ij,jk", a, b` or `a, [0, 1], b, [1, 2]`,
    an output sublist last), as (subscripts, operands, {argument position: operand index});
    absent trailing arguments come as None."""
    args = list(args)
    while args and args[-1] is None:
        args.pop()
    if isinstance(args[0], str):
        return args[0], args[1:], {i + 1: i for i in range(len(args) - 1)}
    n = len(args) // 2
    spec = ",".join(_einsum_sublist(args[2 * i + 1]) for i in range(n))
    if len(args) % 2:
        spec += "->" + _einsum_sublist(args[-1])
    return spec, args[0:2 * n:2], {2 * i: i for i in range(n)}


def einsum_jvp(k, t, *args):
    """Tangent of `np.einsum(*args)` along `t`, the tangent of the argument at position `k`:
    einsum is linear in each operand, so that operand is replaced by `t`."""
    spec, ops, index = _einsum_split(args)
    i = index[k]
    ops[i] = np.broadcast_to(t, np.shape(ops[i]))
    return np.einsum(spec, *ops)


def einsum_jvp_pair(k, t, j, s, *args):
    """`einsum_jvp(k, t, *args)` with the argument at position `j` replaced by `s` as well:
    its derivative along `s` (zero when j is k, whose value the tangent does not read)."""
    if j == k:
        return np.zeros_like(einsum_jvp(k, t, *args), dtype=_weight_dtype(t, s))
    args = list(args)
    args[j] = s
    return einsum_jvp(k, t, *args)


def einsum_vjp_pair(k, g, j, s, *args):
    """`einsum_vjp(k, g, *args)` with the argument at position `j` replaced by `s`: its
    derivative along `s` (zero when j is k, of which the adjoint reads only the shape)."""
    if j == k:
        return np.zeros(np.shape(args[k]), dtype=_weight_dtype(g, s))
    args = list(args)
    args[j] = s
    return einsum_vjp(k, g, *args)


def einsum_vjp(k, g, *args):
    """Adjoint of `np.einsum(*args)` with respect to the argument at position `k`: an einsum
    of `g` with the other operands, broadcast over letters only that operand has and placed
    on its diagonals where it repeats a letter; summed over axes it broadcast along."""
    subscripts, ops, index = _einsum_split(args)
    k = index[k]
    shapes = [np.shape(o) for o in ops]
    terms, out = _einsum_terms(subscripts, shapes)
    mine, shape = terms[k], shapes[k]
    others = [(t, o) for i, (t, o) in enumerate(zip(terms, ops)) if i != k]
    known = set(out).union(*[set(t) for t, _ in others])
    unique = list(dict.fromkeys(mine))
    reach = [c for c in unique if c in known]
    spec = ",".join(["".join(out)] + ["".join(t) for t, _ in others]) + "->" + "".join(reach)
    r = np.einsum(spec, g, *[o for _, o in others])
    # size of each letter as operand k sees it (1 where it broadcast)
    size = {c: n for c, n in zip(mine, shape)}
    # letters summed only inside operand k: the adjoint is constant along them
    r = np.reshape(r, [np.shape(r)[reach.index(c)] if c in reach else 1 for c in unique])
    full = [size[c] if size[c] != 1 or c not in reach else np.shape(r)[unique.index(c)]
            for c in unique]
    r = np.broadcast_to(r, full)
    # broadcast letters (size 1 in operand k, larger elsewhere) are summed back
    axes = tuple(i for i, c in enumerate(unique) if size[c] == 1 and full[i] != 1)
    if axes:
        r = np.sum(r, axis=axes, keepdims=True)
    if len(unique) == len(mine):
        return np.array(r, dtype=np.result_type(r))
    res = np.zeros(shape, dtype=np.result_type(r))
    np.einsum("".join(mine) + "->" + "".join(unique), res)[...] = r
    return res


def undiagonal(g, x, offset=0, axis1=0, axis2=1):
    """Adjoint of `np.diagonal(x, offset, axis1, axis2)`: zeros shaped like `x` with `g` on
    that diagonal (`g` broadcasts along it)."""
    shape = np.shape(x)
    nd = len(shape)
    a1, a2 = axis1 % nd, axis2 % nd
    res = np.zeros(shape, dtype=_weight_dtype(g))
    view = np.moveaxis(res, (a1, a2), (-2, -1))
    n = np.diagonal(view, offset, -2, -1).shape[-1]
    i = np.arange(n)
    view[..., i + max(-offset, 0), i + max(offset, 0)] = g
    return res


def undiag(g, v, k=0):
    """Adjoint of `np.diag(v, k)`: the k-th diagonal of `g` for a vector `v`, for a matrix
    `v` zeros with `g` on its k-th diagonal."""
    if np.ndim(v) == 1:
        return np.diagonal(g, k).copy()
    return undiagonal(g, v, k)


def _norm_power(ord):
    """The p of np.linalg.norm's vector p-norm (2 for ord None and 'fro'), None for 0, +-inf."""
    if ord is None or ord == "fro":
        return 2
    return None if ord == 0 or ord == np.inf or ord == -np.inf else ord


def _norm_scale(x, n, axis, keepdims):
    """The norm `n` broadcast back against `x`."""
    if isinstance(axis, (tuple, list)) and len(axis) == 1:
        axis = axis[0]
    return unreduce(n, x, axis, keepdims)


def norm_weight(x, n, ord=None, axis=None, keepdims=False):
    """The derivative of `n = np.linalg.norm(x, ord, axis, keepdims)` by each entry of `x`,
    shaped like `x`. Supports the 2-norm of vectors and the Frobenius norm of matrices
    (ord None, 2 or 'fro'), and vector p-norms (ord a number, inf or -inf)."""
    nd = np.ndim(x)
    matrix = (axis is None and nd == 2 and ord is not None) or \
        (axis is not None and not isinstance(axis, (int, np.integer)) and len(axis) == 2)
    if matrix and ord not in (None, "fro"):
        raise NotImplementedError(f"srcad differentiates np.linalg.norm of matrices for "
                                  f"ord=None or 'fro' only, not ord={ord!r}")
    if isinstance(ord, str) and ord != "fro":
        raise NotImplementedError(f"srcad does not differentiate np.linalg.norm(ord={ord!r})")
    scale = _norm_scale(x, n, axis, keepdims)
    p = _norm_power(ord)
    if p == 2:
        return x / scale
    if p is not None:
        return np.sign(x) * (np.abs(x) / scale) ** (p - 1)
    if ord == 0:                                 # the count of nonzeros: piecewise constant
        return np.zeros(np.shape(x), dtype=_weight_dtype(x))
    hit = np.abs(x) == scale                     # +-inf: the largest (smallest) |x| takes it
    count = _norm_scale(x, np.sum(hit, axis=axis, keepdims=keepdims), axis, keepdims)
    return (np.sign(x) * hit / count).astype(_weight_dtype(x))


def norm_weight_dx(x, n, ord=None, axis=None, keepdims=False):
    """d norm_weight(x, n, ...)/dx, entry by entry (entry i's weight reads x[i] and n)."""
    p = _norm_power(ord)
    if p is None:
        return np.zeros(np.shape(x), dtype=_weight_dtype(x))
    scale = _norm_scale(x, n, axis, keepdims)
    return (p - 1) * (np.abs(x) / scale) ** (p - 2) / scale


def norm_weight_dn(x, n, ord=None, axis=None, keepdims=False):
    """d norm_weight(x, n, ...)/dn, broadcast to x's shape."""
    p = _norm_power(ord)
    if p is None:
        return np.zeros(np.shape(x), dtype=_weight_dtype(x))
    return -(p - 1) * norm_weight(x, n, ord, axis, keepdims) / _norm_scale(x, n, axis, keepdims)


def solve_jvp_a(a, t, z, b):
    """Tangent of `z = np.linalg.solve(a, b)` along `t`, a's tangent: -solve(a, t @ z)."""
    if np.ndim(b) == 1:
        return -np.linalg.solve(a, (t @ z[..., None]))[..., 0]
    return -np.linalg.solve(a, t @ z)


def solve_vjp_b(g, a, b):
    """Adjoint of `np.linalg.solve(a, b)` with respect to `b`: solve(a^T, g)."""
    at = np.swapaxes(a, -1, -2)
    if np.ndim(b) == 1:
        return unbroadcast(np.linalg.solve(at, g[..., None])[..., 0], b)
    return unbroadcast(np.linalg.solve(at, g), b)


def solve_vjp_a(g, a, b, z):
    """Adjoint of `z = np.linalg.solve(a, b)` with respect to `a`: -solve(a^T, g) @ z^T."""
    at = np.swapaxes(a, -1, -2)
    if np.ndim(b) == 1:
        gb = np.linalg.solve(at, g[..., None])
        return unbroadcast(-gb * z[..., None, :], a)
    gb = np.linalg.solve(at, g)
    return unbroadcast(-gb @ np.swapaxes(z, -1, -2), a)


def unconcatenate(g, xs, axis=0):
    """Adjoint of `np.concatenate(xs, axis)`: `g` cut back into pieces shaped like `xs`."""
    if type(g) is float and g == 0.0:          # the zero adjoint of any shape
        return Items(zeros_like(x) for x in xs)
    if axis is None:
        sizes = [np.size(x) for x in xs]
        return Items(np.reshape(p, np.shape(x))
                     for p, x in zip(np.split(np.ravel(g), np.cumsum(sizes)[:-1]), xs))
    sizes = [np.shape(x)[axis] for x in xs]
    return Items(np.split(g, np.cumsum(sizes)[:-1], axis=axis))


def rejoin(bars, like, axis=0):
    """Adjoint of `unconcatenate(like, xs, axis)`: the pieces' adjoints joined back into
    `like`'s shape."""
    if axis is None:
        return np.reshape(np.concatenate([np.ravel(b) for b in bars]), np.shape(like))
    return np.concatenate(list(bars), axis)


def unstack(g, axis=0):
    """Adjoint of `np.stack(xs, axis)`: the slices of `g` along `axis`."""
    return Items(np.moveaxis(g, axis, 0))


def unhstack(g, xs):
    """Adjoint of `np.hstack(xs)`: pieces of `g` shaped like `xs`."""
    if type(g) is float and g == 0.0:          # the zero adjoint of any shape
        return Items(zeros_like(x) for x in xs)
    axis = 0 if np.ndim(np.atleast_1d(xs[0])) == 1 else 1
    sizes = [np.shape(np.atleast_1d(x))[axis] for x in xs]
    return Items(np.reshape(p, np.shape(x))
                 for p, x in zip(np.split(g, np.cumsum(sizes)[:-1], axis=axis), xs))


def unvstack(g, xs):
    """Adjoint of `np.vstack(xs)`: pieces of `g` shaped like `xs`."""
    if type(g) is float and g == 0.0:          # the zero adjoint of any shape
        return Items(zeros_like(x) for x in xs)
    sizes = [np.shape(np.atleast_2d(x))[0] for x in xs]
    return Items(np.reshape(p, np.shape(x))
                 for p, x in zip(np.split(g, np.cumsum(sizes)[:-1]), xs))


def unsplit(gs, x, indices_or_sections, axis=0):
    """Adjoint of `np.split(x, indices_or_sections, axis)`: the pieces' adjoints joined
    (a piece with a zero adjoint may come as a scalar 0)."""
    pieces = np.split(np.asarray(x), indices_or_sections, axis)
    return np.concatenate([np.broadcast_to(g, p.shape) for g, p in zip(gs, pieces)], axis)


def untile(g, x, reps):
    """Adjoint of `np.tile(x, reps)`: the tiles of `g` summed."""
    shape = np.shape(x)
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    d = max(len(shape), len(reps))
    shape_d = (1,) * (d - len(shape)) + tuple(shape)
    reps_d = (1,) * (d - len(reps)) + reps
    inter = [n for pair in zip(reps_d, shape_d) for n in pair]
    g = np.reshape(g, inter)
    return np.reshape(np.sum(g, axis=tuple(range(0, 2 * d, 2))), shape)


def unrepeat(g, x, repeats, axis=None):
    """Adjoint of `np.repeat(x, repeats, axis)`: the adjoints of each entry's copies summed."""
    if axis is None:
        flat = np.zeros(np.size(x), dtype=_weight_dtype(g))
        np.add.at(flat, np.repeat(np.arange(np.size(x)), repeats), np.ravel(g))
        return np.reshape(flat, np.shape(x))
    n = np.shape(x)[axis]
    res = np.zeros(np.shape(x), dtype=_weight_dtype(g))
    np.add.at(np.moveaxis(res, axis, 0), np.repeat(np.arange(n), repeats), np.moveaxis(g, axis, 0))
    return res


def star_args(*args):
    """The arguments of a method that takes them spread or as one sequence, like
    `x.transpose(1, 0)` or `x.transpose((1, 0))`; None when there are none."""
    args = [a for a in args if a is not None]
    if not args:
        return None
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def cast_tangent(t, like):
    """The tangent of a cast to `like`'s dtype: cast alike, or zero when `like` is not
    floating (integers and booleans carry no derivative)."""
    dt = np.result_type(like)
    if np.issubdtype(dt, np.inexact):
        return np.asarray(t, dtype=dt) if isinstance(like, np.ndarray) else \
            np.asarray(t, dtype=dt)[()]
    return np.zeros(np.shape(like))


def cast_adjoint(g, like):
    """The adjoint through a cast to `like`'s dtype: `g`, or zero when `like` is not floating
    (integers and booleans carry no derivative)."""
    if np.issubdtype(np.result_type(like), np.inexact):
        return g
    return np.zeros(np.shape(g))


def linspace_weight(like, num=50, endpoint=True, axis=0):
    """How far along `like = np.linspace(start, stop, num, endpoint, axis=axis)` each sample
    lies, from 0 at start to 1 at stop, shaped to broadcast against it: d like/d stop."""
    if isinstance(like, tuple):
        raise NotImplementedError("srcad differentiates np.linspace with retstep=False only")
    t = np.linspace(0.0, 1.0, num, endpoint=endpoint).astype(_weight_dtype(like))
    shape = [1] * np.ndim(like)
    shape[axis] = num
    return np.reshape(t, shape)


__all__ += ["pow_log", "inv_count", "recip_or_zero", "fmax_weight", "clip_weight", "prod_others",
            "prod_others_jvp", "uncumsum",
            "cumprod_jvp", "cumprod_vjp", "cumprod_vjp_jvp", "cumprod_vjp_vjp", "inner_vjp_x",
            "inner_vjp_y", "tensordot_vjp_x", "tensordot_vjp_y", "einsum_jvp", "einsum_jvp_pair",
            "einsum_vjp_pair", "einsum_vjp", "undiagonal", "undiag", "norm_weight",
            "norm_weight_dx", "norm_weight_dn", "solve_jvp_a", "solve_vjp_b", "solve_vjp_a",
            "unconcatenate", "rejoin", "unstack", "unhstack", "unvstack", "unsplit", "untile",
            "unrepeat", "star_args", "cast_tangent", "cast_adjoint", "linspace_weight"]


# ---------------------------------------------------------------- checkpointed loops
# A checkpointed loop runs as two generated functions: `step(*invariants, [steps,] *state)`
# runs the iterations of `steps` (a part of a for loop's range; one iteration of a while
# loop) and returns the loop's outputs (the carried state first; a while loop's also ends
# with its test), and `back(..., d_out)` runs them and their adjoint, returning the
# adjoints of the inputs it differentiates. The schedules below drive them, keeping a few
# snapshots of the carried state instead of every value the loop overwrites. A for loop
# of n iterations goes in blocks of about sqrt(n): binomial checkpointing over the blocks,
# each block's iterations taped by `back` (so the generated code runs them without a call
# per iteration).

def checkpoint(iterable, snapshots=None):
    """`for i in srcad.checkpoint(range(n), snapshots=k):` asks reverse mode to keep k
    snapshots of the loop's carried values instead of all its intermediate values (binomial
    checkpointing); run on its own, it is `iterable` itself."""
    return iterable


class Checkpointed(tuple):
    """A checkpointed loop's outputs; `tape` holds what its reverse sweep needs."""


def _snapshots(snapshots, n):
    """The number of snapshots to keep for `n` steps: the given count (at least 1), or by
    default the fewest with which binomial checkpointing runs each step at most twice
    forward (about sqrt(2n))."""
    if snapshots is None or snapshots is True:
        s = 1
        while math.comb(s + 2, 2) < n:
            s += 1
        return s + 1
    if isinstance(snapshots, bool) or not isinstance(snapshots, (int, np.integer)) or \
            snapshots < 1:
        raise ValueError(f"snapshots must be a positive int, not {snapshots!r}")
    return int(snapshots)


def _first_snapshot(m, s):
    """Where binomial checkpointing puts its next snapshot in a segment of m >= 2 steps
    with s >= 1 free snapshots: t is the fewest repetitions with C(s+t, s) >= m, and the
    rest of the segment gets the C(s-1+t, s-1) steps that s-1 snapshots reverse in t."""
    t = 1
    while math.comb(s + t, s) < m:
        t += 1
    return max(1, m - math.comb(s - 1 + t, s - 1))


class _Tape:
    """One checkpointed loop's run: its step functions, arguments and snapshots."""

    def __init__(self, step, back, steps, inv, n_state, n_out, wrt, block=1):
        self.step, self.back, self.steps, self.inv = step, back, steps, inv
        self.block = block                        # iterations per step of the schedule
        self.n_state, self.n_out, self.wrt = n_state, n_out, wrt
        self.acc, self.owned = [None] * len(inv), set()   # the invariants' adjoints
        ni = len(inv)
        self.to_state = [(g, w - ni) for g, w in enumerate(wrt) if w >= ni]
        self.to_inv = [(g, w) for g, w in enumerate(wrt) if w < ni]
        self.pad = (0.0,) * (n_out - n_state)     # the adjoints of the other outputs

    def state_after(self, state, lo, hi):
        """The state after blocks lo..hi-1 from `state`."""
        if lo >= hi:
            return state
        b = self.block
        out = self.step(*self.inv, self.steps[lo * b:hi * b], *state)
        return out if len(out) == self.n_state else out[:self.n_state]

    def descend(self, pos, end, state, free) -> list:
        """The snapshots binomial checkpointing keeps on its way from `pos` (where `state`
        is kept, with `free` more snapshots to use) towards `end`: (position, state, free)."""
        spine = [(pos, state, free)]
        while end - pos >= 2 and free >= 1:
            k = _first_snapshot(end - pos, free)
            state = self.state_after(state, pos, pos + k)
            pos, free = pos + k, free - 1
            spine.append((pos, state, free))
        return spine

    def unwind(self, spine, end, bars):
        """The adjoint of the steps from the first snapshot of `spine` to `end`, segment by
        segment, last first: the last has one step or no free snapshot (its steps are
        recomputed from its snapshot); each earlier one is reversed by a descent of its
        own from its snapshot (a stack, not recursion: as deep as the repetitions)."""
        todo: list = []
        while True:
            for k, (p, st, free) in enumerate(spine):
                stop = spine[k + 1][0] if k + 1 < len(spine) else end
                todo.append((p, st, free, stop, k + 1 == len(spine)))
            if not todo:
                return bars
            p, st, free, stop, last = todo.pop()
            if stop - p <= free + 1:          # enough snapshots for each state: keep them
                states = [st]
                for j in range(p, stop - 1):
                    states.append(self.state_after(states[-1], j, j + 1))
                for j in range(stop - 1, p - 1, -1):
                    bars = self.back_step(j, states.pop(), bars)
                spine = []
            elif last:
                for j in range(stop - 1, p - 1, -1):
                    bars = self.back_step(j, self.state_after(st, p, j), bars)
                spine = []
            else:
                spine, end = self.descend(p, stop, st, free), stop

    def back_step(self, j, state, bars):
        """One step's adjoint: `bars` (one per output) to the state's adjoints (one per
        state value), adding the invariants' adjoints to `acc`."""
        d = bars if len(bars) == self.n_out else tuple(bars) + self.pad
        gs = self.back(*self.inv, *state, d) if j is None else \
            self.back(*self.inv, self.steps[j * self.block:(j + 1) * self.block], *state, d)
        new = [0.0] * self.n_state
        for g, k in self.to_state:
            new[k] = gs[g]
        for g, w in self.to_inv:
            self.acc[w] = self.add(w, gs[g])
        return new

    def add(self, w, g):
        """acc[w] + g, in place once acc[w] is an array this tape made (NumPy only: other
        array types get a new array)."""
        a = self.acc[w]
        if a is None:
            return g
        if type(a) is float and type(g) is float:
            return a + g
        if w in self.owned and type(a) is np.ndarray and type(g) is np.ndarray and \
                a.shape == g.shape and a.dtype == g.dtype:
            a += g
            return a
        self.owned.add(w)
        return a + g

    def gradients(self, state_bars):
        """The adjoints of the arguments `wrt` names, in order."""
        ni = len(self.inv)
        return tuple((0.0 if self.acc[w] is None else self.acc[w]) if w < ni
                     else state_bars[w - ni] for w in self.wrt)


def checkpointed_loop(step, back, steps, *args, invariants, outputs, wrt, snapshots=None):
    """Run a checkpointed `for` loop over range `steps` (see above): `args` are the
    loop's invariants (the first `invariants`) and its carried state at entry; `outputs`
    the number of values one step returns; `wrt` which arguments `back` differentiates.
    Keeps binomial snapshots for `checkpoint_reverse`."""
    n = len(steps)
    block = math.isqrt(n - 1) + 1 if n > 1 else 1
    blocks = -(-n // block)
    inv, state = args[:invariants], args[invariants:]
    tape = _Tape(step, back, steps, inv, len(state), outputs, wrt, block)
    tape.spine = tape.descend(0, blocks, state, _snapshots(snapshots, blocks) - 1)
    pos, last, _ = tape.spine[-1]
    out = step(*inv, steps[pos * block:], *last) if pos < blocks else last
    if n == 0 and outputs > len(state):
        raise UnboundLocalError("a checkpointed loop ran no iteration, so the variables it "
                                "assigns were never assigned")
    result = Checkpointed(out)
    result.tape = (tape, n)
    return result


def checkpointed_while(step, back, *args, invariants, outputs, wrt, snapshots=None):
    """Run a checkpointed `while` loop (see above): each step returns its outputs and then
    the loop's test. A snapshot every `period` steps: when more than `snapshots` are kept
    (by default: more than the period), the period doubles and every other one goes."""
    inv, state = args[:invariants], args[invariants:]
    k = len(state)
    tape = _Tape(step, back, None, inv, k, outputs, wrt)
    limit = 2 if snapshots is None else max(2, _snapshots(snapshots, 0))
    marks, period, n = [(0, state)], 1, 0
    while True:
        out = step(*inv, *state)
        n += 1
        if not out[-1]:
            break
        state = out[:k]
        if n % period == 0:
            marks.append((n, state))
            if len(marks) > limit and (snapshots is not None or len(marks) > period):
                period *= 2
                marks = [m for m in marks if m[0] % period == 0]
    tape.marks = marks
    result = Checkpointed(out[:-1])
    result.tape = (tape, n)
    return result


def _reverse_periodic(tape, n, bars):
    """The reverse sweep of a while loop: each segment between snapshots, last first, is
    recomputed once keeping its states, then its steps' adjoints run backwards."""
    stop = n
    while tape.marks:
        p, st = tape.marks.pop()
        states = [st]
        for _ in range(p, stop - 1):
            states.append(tape.step(*tape.inv, *states[-1])[:tape.n_state])
        while states:
            bars = tape.back_step(None, states.pop(), bars)
        stop = p
    return bars


def checkpoint_reverse(out, out_bar):
    """The adjoints of a checkpointed loop's arguments (those its `wrt` names, in order)
    from the adjoints of its outputs `out_bar`."""
    tape, n = out.tape
    bars = list(out_bar)
    if tape.steps is None:
        bars = _reverse_periodic(tape, n, bars)
    else:
        spine, tape.spine = tape.spine, None
        bars = tape.unwind(spine, -(-n // tape.block), bars)
    return tape.gradients(bars)


__all__ += ["Checkpointed", "checkpointed_loop", "checkpointed_while", "checkpoint_reverse"]
