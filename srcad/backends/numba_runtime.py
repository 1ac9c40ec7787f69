"""What Numba-compiled derivatives call: Numba versions (`numba.extending.overload`) of the
srcad.runtime helpers scalar and array code needs, specialised when Numba types a call by
the kinds of their arguments (a float or an array of n dimensions), and `reversed_item`,
the i-th item of what a loop iterated (a range's without indexing it).

The generated code imports the helpers from srcad.runtime as the Python backend does:
inside a compiled function Numba calls these versions instead. Importing this module
imports numba."""
from __future__ import annotations

import inspect

import numpy as np
from numba import types
from numba.core.imputils import impl_ret_borrowed
from numba.core.errors import TypingError
from numba.extending import intrinsic, register_jitable
from numba.extending import overload as _numba_overload

from .. import runtime


def reversed_item(xs, k):
    """`xs[k]`: the item of the k-th iteration of a loop over `xs` (a range, list, tuple or
    array), which a reverse sweep counting down from len(xs) - 1 reads back."""
    return xs[k]


def shape_of(v):
    """`np.shape(v)`; for None (a value not assigned yet, saved before the loop's first
    assignment), the shape of no entries (Numba: zeros, of the dimensions v will have)."""
    return () if v is None else np.shape(v)


@intrinsic
def _some(typingctx, x):
    """An optional value (a name that was None before a loop) as the value it holds."""
    if isinstance(x, types.Optional):
        def codegen(context, builder, signature, args):
            value = context.cast(builder, args[0], x, x.type)
            return impl_ret_borrowed(context, builder, x.type, value)
        return x.type(x), codegen

    def same(context, builder, signature, args):
        return impl_ret_borrowed(context, builder, x, args[0])
    return x(x), same


def overload(func):
    """numba's overload of `func`, where an optional argument (a value saved in a loop
    before its first assignment, popped back) is typed as the value it holds."""
    def deco(typer):
        params = list(inspect.signature(typer).parameters.values())
        spec = ", ".join(map(str, params))
        names = ", ".join(p.name for p in params)
        ns = {"_typer": typer, "_some": _some, "_plain": _plain_type, "_jit": register_jitable,
              "__name__": __name__}
        exec(f"def typer({spec}):\n"
             f"    ts = ({names},)\n"
             f"    if not any(_plain(t) is not t for t in ts):\n"
             f"        return _typer({names})\n"
             f"    inner = _jit(_typer(*map(_plain, ts)))\n"
             f"    def impl({spec}):\n"
             f"        return inner({', '.join(f'_some({p.name})' for p in params)})\n"
             f"    return impl\n", ns)
        return _numba_overload(func)(ns["typer"])
    return deco


def _plain_type(t):
    return t.type if isinstance(t, types.Optional) else t


def _scalar(t) -> bool:
    return isinstance(t, (types.Float, types.Integer, types.Boolean))


def _array(t) -> bool:
    return isinstance(t, types.Array)


def _none(t) -> bool:
    return t is None or isinstance(t, (types.NoneType, types.Omitted))


def _refuse(name, *ts):
    raise TypingError(f"srcad's numba backend has no {name} for arguments of types "
                      f"{', '.join(str(t) for t in ts)}")


@overload(reversed_item)
def _reversed_item(xs, k):
    if isinstance(xs, types.RangeType):
        return lambda xs, k: xs.start + k * xs.step
    return lambda xs, k: xs[k]


@_numba_overload(shape_of)              # sees the optional itself: None has a shape too
def _shape_of(v):
    if isinstance(v, types.Optional) and _array(v.type):
        zeros = (0,) * v.type.ndim

        def impl(v):
            if v is None:
                return zeros
            return v.shape
        return impl
    if _array(v):
        return lambda v: v.shape
    if _scalar(v) or (isinstance(v, types.Optional) and _scalar(v.type)):
        return lambda v: ()
    _refuse("shape_of", v)


@register_jitable
def _sum_to(g, shape):
    """`g` summed over the axes broadcasting added to an array of `shape` (numba's np.sum
    has no keepdims): entry by entry, with the offsets of both shapes."""
    size = 1
    for n in shape:
        size *= n
    out = np.zeros(size, dtype=g.dtype)
    flat = np.ascontiguousarray(g).ravel()
    gshape = g.shape
    lead = len(gshape) - len(shape)
    for i in range(flat.size):
        rest = i
        j = 0
        scale = 1
        for d in range(len(gshape) - 1, lead - 1, -1):
            idx = rest % gshape[d]
            rest //= gshape[d]
            n = shape[d - lead]
            if n != 1:
                j += idx * scale
            scale *= n
        out[j] += flat[i]
    return out.reshape(shape)


@register_jitable
def _sum_shape(g, shape):
    if g.shape == shape:
        return np.ascontiguousarray(g)
    return _sum_to(g, shape)


@overload(runtime.unbroadcast)
def _unbroadcast(g, like):
    if _scalar(like):
        if _array(g):
            return lambda g, like: np.sum(g)
        if _scalar(g):
            return lambda g, like: g
    if _array(like) and _array(g) and g.ndim >= like.ndim:
        if like.ndim == 0:
            return lambda g, like: np.full(like.shape, np.sum(g))
        if g.ndim == like.ndim:
            return lambda g, like: _sum_shape(g, like.shape)
        if g.ndim == 2 and like.ndim == 1:          # a bias row's adjoint: a column sum
            def rows(g, like):
                if g.shape[1] == like.shape[0]:
                    return np.sum(g, axis=0)
                return _sum_to(g, like.shape)
            return rows
        return lambda g, like: _sum_to(g, like.shape)
    if _array(like) and _scalar(g):
        return lambda g, like: np.full(like.shape, g)
    if isinstance(like, types.UniTuple) and isinstance(like.dtype, types.Integer) and \
            _array(g) and g.ndim >= len(like):
        if g.ndim == len(like):
            return lambda g, like: _sum_shape(g, like)
        return lambda g, like: _sum_to(g, like)
    if isinstance(like, types.Tuple) and len(like) == 0:
        if _array(g):
            return lambda g, like: np.sum(g)
        return lambda g, like: g
    _refuse("unbroadcast", g, like)


@overload(runtime.bcast)
def _bcast(t, like):
    if _scalar(like):
        return lambda t, like: t
    if _array(like):
        if _array(t) and t.ndim == like.ndim:
            def impl(t, like):
                if t.shape == like.shape:
                    return np.ascontiguousarray(t)
                return np.zeros(like.shape, dtype=t.dtype) + t
            return impl
        if _array(t) or _scalar(t):
            return lambda t, like: np.zeros(like.shape) + t
    _refuse("bcast", t, like)


@_numba_overload(runtime.zeros_like)     # a number's zero needs no value (None too)
def _zeros_like(x):
    if isinstance(x, types.Optional) and _scalar(x.type):
        return lambda x: 0.0
    if isinstance(x, types.Optional) and _array(x.type):
        return lambda x: np.zeros_like(_some(x))
    if _scalar(x):
        return lambda x: 0.0
    if _array(x):
        if isinstance(x.dtype, types.Float):
            return lambda x: np.zeros(x.shape, dtype=x.dtype)
        return lambda x: np.zeros(x.shape)
    if isinstance(x, (types.UniTuple, types.List)) and _scalar(x.dtype):
        return lambda x: np.zeros(len(x))     # a sequence of numbers: one adjoint each
    _refuse("zeros_like", x)


@overload(runtime.grad_like)
def _grad_like(g, x):
    if _scalar(x):
        if _array(g):
            return lambda g, x: float(np.sum(g))
        return lambda g, x: float(g)
    if _array(x):
        dt = x.dtype if isinstance(x.dtype, types.Float) else types.float64
        if _array(g) and g.ndim == x.ndim and g.dtype == dt:
            def impl(g, x):
                if g.shape == x.shape:
                    return np.ascontiguousarray(g)
                return np.zeros(x.shape, dtype=dt) + g
            return impl
        if _array(g) or _scalar(g):
            return lambda g, x: np.zeros(x.shape, dtype=dt) + g
    _refuse("grad_like", g, x)


@overload(runtime.unreduce)
def _unreduce(g, like, axis=None, keepdims=False):
    if not _none(axis):
        _refuse("unreduce along an axis", g, like, axis)
    if _scalar(like):
        return lambda g, like, axis=None, keepdims=False: g
    if _array(like) and _scalar(g):
        return lambda g, like, axis=None, keepdims=False: np.full(like.shape, g)
    if _array(like) and _array(g) and g.ndim == 0:
        return lambda g, like, axis=None, keepdims=False: np.full(like.shape, g[()])
    _refuse("unreduce", g, like)


@overload(runtime.matmul_vjp_x)
def _matmul_vjp_x(g, x, y):
    if _array(g) and _array(x) and _array(y):
        if x.ndim == 2 and y.ndim == 2:
            return lambda g, x, y: g @ np.ascontiguousarray(y.T)
        if x.ndim == 1 and y.ndim == 2:
            return lambda g, x, y: np.ascontiguousarray(y) @ g
        if x.ndim == 2 and y.ndim == 1:
            return lambda g, x, y: np.outer(g, y)
    if _array(x) and _array(y) and x.ndim == 1 and y.ndim == 1 and _scalar(g):
        return lambda g, x, y: g * y
    _refuse("matmul_vjp_x", g, x, y)


@overload(runtime.matmul_vjp_y)
def _matmul_vjp_y(g, x, y):
    if _array(g) and _array(x) and _array(y):
        if x.ndim == 2 and y.ndim == 2:
            return lambda g, x, y: np.ascontiguousarray(x.T) @ g
        if x.ndim == 1 and y.ndim == 2:
            return lambda g, x, y: np.outer(x, g)
        if x.ndim == 2 and y.ndim == 1:
            return lambda g, x, y: g @ np.ascontiguousarray(x)
    if _array(x) and _array(y) and x.ndim == 1 and y.ndim == 1 and _scalar(g):
        return lambda g, x, y: g * x
    _refuse("matmul_vjp_y", g, x, y)


@overload(runtime.items_of)
def _items_of(x, reversible=False):
    if isinstance(x, types.RangeType):      # Numba indexes no range: its items as an array
        return lambda x, reversible=False: np.arange(x.start, x.stop, x.step)
    if _array(x) or isinstance(x, (types.List, types.BaseTuple)):
        return lambda x, reversible=False: x
    _refuse("items_of", x)


def _basic_index(t) -> bool:
    """An index selecting each entry at most once: an int, a slice, or a tuple of those."""
    if isinstance(t, types.BaseTuple):
        return all(_basic_index(e) for e in t)
    return isinstance(t, (types.Integer, types.SliceType))


@overload(runtime.index_add)
def _index_add(acc, idx, g):
    if _array(acc) and _basic_index(idx):     # each entry at most once: += is exact
        def impl(acc, idx, g):
            acc[idx] += g
            return acc
        return impl
    _refuse("index_add", acc, idx, g)


@overload(runtime.unindex)
def _unindex(g, x, idx):
    if _array(x) and (_array(g) or _scalar(g)) and _basic_index(idx):
        def impl(g, x, idx):
            out = np.zeros(x.shape)
            out[idx] = g
            return out
        return impl
    _refuse("unindex", g, x, idx)


@overload(runtime.tie_weight)
def _tie_weight(x, y):
    if (_scalar(x) or _array(x)) and (_scalar(y) or _array(y)):
        return lambda x, y: (x > y) + 0.5 * (x == y)
    _refuse("tie_weight", x, y)


@overload(runtime.pow_log)
def _pow_log(x):
    if _scalar(x):
        return lambda x: np.log(x) if x != 0 else 0.0
    if _array(x):
        return lambda x: np.log(np.where(x == 0, 1.0, x))
    _refuse("pow_log", x)


@overload(runtime.recip_or_zero)
def _recip_or_zero(x):
    if _scalar(x):
        return lambda x: 1.0 / x if x != 0 else 0.0
    if _array(x):
        return lambda x: np.where(x == 0, 0.0, 1.0 / np.where(x == 0, 1.0, x))
    _refuse("recip_or_zero", x)


@overload(runtime.inv_count)
def _inv_count(x, out, ddof=0):
    def size(t):
        return (lambda v: v.size) if _array(t) else (lambda v: 1)
    if (_array(x) or _scalar(x)) and (_array(out) or _scalar(out)):
        nx, nout = register_jitable(size(x)), register_jitable(size(out))

        def impl(x, out, ddof=0):
            a, b = nx(x), nout(out)
            if a == 0 or b == 0:
                return np.nan
            d = a / b - ddof
            return 1.0 / d if d > 0 else np.inf
        return impl
    _refuse("inv_count", x, out)


@_numba_overload(runtime.transposed)
@_numba_overload(runtime.untranspose)
def _transposed(x, axes=None):
    if _array(x) and _none(axes):
        return lambda x, axes=None: x.T
    if _scalar(x) and _none(axes):
        return lambda x, axes=None: x
    _refuse("transpose", x, axes)


@overload(runtime.stop_gradient)
def _stop_gradient(x):
    return lambda x: x


__all__ = ["reversed_item", "shape_of"]
