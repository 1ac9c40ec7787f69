"""The small runtime that generated derivative code calls; imports nothing from the compiler."""
from __future__ import annotations

import numpy as np

__all__ = ["unbroadcast", "bcast", "zeros_like", "grad_like", "stop_gradient", "unindex",
           "unreduce", "untranspose", "matmul_vjp_x", "matmul_vjp_y", "dot", "tie_weight",
           "max_weight", "index_add", "list_append", "Stack"]


def stop_gradient(x):
    """Return `x`; every derivative treats the result as a constant."""
    return x


def unbroadcast(g, like):
    """Sum the adjoint `g` back to the shape of `like` (an array, a scalar, or a shape tuple)."""
    if type(like) is float:
        return g if type(g) is float else np.sum(g)
    if type(g) is np.ndarray and type(like) is np.ndarray and g.shape == like.shape:
        return g
    shape = like if type(like) is tuple else np.shape(like)
    gshape = np.shape(g)
    if gshape == shape:
        return g
    if not shape:
        return np.sum(g)
    lead = len(gshape) - len(shape)
    if lead:
        g = np.sum(g, axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and np.shape(g)[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return np.reshape(g, shape)


def bcast(t, like):
    """Broadcast the tangent `t` to the shape of `like` (the primal output)."""
    if type(like) is float:
        return t
    shape = np.shape(like)
    if np.shape(t) == shape:
        return t
    return np.broadcast_to(t, shape)


def zeros_like(x):
    """A zero derivative for `x`: 0.0 for a Python scalar, a zero array for an array."""
    if type(x) is float or type(x) is int:
        return 0.0
    return np.zeros_like(x, dtype=_float_dtype(x))


def _float_dtype(x):
    dt = x.dtype if isinstance(x, (np.ndarray, np.generic)) else np.asarray(x).dtype
    return dt if np.issubdtype(dt, np.inexact) else np.float64


def grad_like(g, x):
    """Give the derivative `g` the type, shape and dtype of the argument `x`."""
    if type(x) is float:
        return float(g)
    if isinstance(x, np.ndarray):
        dt = _float_dtype(x)
        if type(g) is np.ndarray and g.shape == x.shape and g.dtype == dt:
            return g
        return np.array(np.broadcast_to(g, x.shape), dtype=dt)
    if isinstance(x, (float, int)) and not isinstance(x, bool):
        return float(g)
    if isinstance(x, np.generic):
        return np.asarray(g, dtype=_float_dtype(x))[()]
    return g


def unindex(g, x, idx):
    """Adjoint of `x[idx]`: a zero array shaped like `x` with `g` added at `idx` (repeats add up)."""
    out = np.zeros(np.shape(x), dtype=_float_dtype(np.asarray(g)) if np.ndim(x) else np.float64)
    if _basic(idx):
        out[idx] = g                 # basic indexing selects each element at most once
    else:
        np.add.at(out, idx, g)
    return out


def index_add(acc, idx, g):
    """`acc[idx] += g` in place, adding repeated indices up; returns `acc`."""
    if _basic(idx):
        acc[idx] += g
    else:
        np.add.at(acc, idx, g)
    return acc


def _basic(idx) -> bool:
    items = idx if type(idx) is tuple else (idx,)
    return all(i is None or i is Ellipsis or type(i) in (int, slice) or isinstance(i, np.integer)
               for i in items)


def unreduce(g, like, axis=None, keepdims=False):
    """Adjoint of a reduction over `axis`: `g` broadcast back to the shape of `like`."""
    shape = np.shape(like)
    if axis is not None and not keepdims:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        axes = tuple(a % len(shape) for a in axes)
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


def list_append(xs, v):
    """`xs + [v]`: srcad's value form of `xs.append(v)`."""
    return xs + [v]


class Stack(list):
    """A list used as a stack by reverse-mode loops (append to push, pop to pop)."""


def _matmul_t(a):
    return a if np.ndim(a) < 2 else np.swapaxes(a, -1, -2)


def matmul_vjp_x(g, x, y):
    """Adjoint of `x @ y` (and `np.dot` for up to 2-d operands) with respect to `x`."""
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        return unbroadcast(g * y, x)
    if np.ndim(y) == 1:
        return g * y if np.ndim(x) == 1 else unbroadcast(np.expand_dims(g, -1) * y, x)
    if np.ndim(x) == 1:
        return unbroadcast(np.squeeze(y @ np.expand_dims(g, -1), -1), x)
    return unbroadcast(g @ _matmul_t(y), x)


def matmul_vjp_y(g, x, y):
    """Adjoint of `x @ y` (and `np.dot` for up to 2-d operands) with respect to `y`."""
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        return unbroadcast(x * g, y)
    if np.ndim(x) == 1:
        if np.ndim(y) == 1:
            return g * x
        return unbroadcast(np.expand_dims(x, -1) * np.expand_dims(g, -2), y)
    if np.ndim(y) == 1:
        return unbroadcast(np.expand_dims(g, -1) * x, y)
    return unbroadcast(_matmul_t(x) @ g, y)


def dot(x, y):
    """`np.dot` restricted to what srcad differentiates (operands of at most 2 dimensions)."""
    if np.ndim(x) > 2 or np.ndim(y) > 2:
        raise NotImplementedError("srcad differentiates np.dot of operands with at most 2 "
                                  "dimensions; use np.matmul or np.tensordot")
    return np.dot(x, y)


def tie_weight(x, y):
    """1 where x beats y, 0.5 where they tie, 0 where y wins: how maximum splits its adjoint."""
    return (x > y) + 0.5 * (x == y)


def max_weight(x, out, axis=None, keepdims=False):
    """Which entries of `x` attain the reduction `out`, ties sharing the derivative equally."""
    hit = x == unreduce(out, x, axis, keepdims)
    return hit / unreduce(np.sum(hit, axis=axis, keepdims=keepdims), x, axis, keepdims)


def untranspose(g, axes=None):
    """Adjoint of `np.transpose(x, axes)`."""
    return np.transpose(g) if axes is None else np.transpose(g, np.argsort(axes))
