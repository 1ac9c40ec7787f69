"""What Numba-compiled derivatives call: Numba versions (`numba.extending.overload`) of the
srcad.runtime helpers scalar and array code needs, specialised when Numba types a call by
the kinds of their arguments (a float or an array of n dimensions), and `reversed_item`,
the i-th item of what a loop iterated (a range's without indexing it).

The generated code imports the helpers from srcad.runtime as the Python backend does:
inside a compiled function Numba calls these versions instead. Importing this module
imports numba."""
from __future__ import annotations

import ast
import inspect
import textwrap
import weakref

import numpy as np
from llvmlite import ir as llvm_ir
from numba import objmode as _objmode, types
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


def stack_push(buf, top, v, cap):
    """The stack `buf` (None before its first push) with `v` pushed as its item `top`
    (Numba: for numbers, flags and counters an int64 array of `cap` items at least, grown
    by doubling; nothing for the shapes of numbers; a list for other values)."""
    if buf is None:
        buf = []
    buf.append(v)
    return buf


def stack_room(buf, top, v):
    """Whether `v` can be pushed on `buf` as its item `top` in place (`stack_put`), with no
    new buffer: a loop's push then assigns no name (Numba: a name assigned an array each
    iteration costs its reference counting, about twice a scalar loop's own time)."""
    return buf is not None


def stack_put(buf, top, v):
    """`v` pushed on `buf` as its item `top`, in place (where `stack_room` says it fits)."""
    buf.append(v)


def stack_pop(buf, top, like):
    """The stack's item `top` (the top index already lowered past it), popped into the
    name `like` (which gives Numba the item's type while it types the stack; Numba: read
    by index, see _stack_pop)."""
    return buf.pop()


def stack_arrays(xs, axis=0):
    """`np.stack(xs, axis)` (Numba's np.stack takes tuples only: a list of arrays is
    stacked here along axis 0)."""
    return np.stack(xs, axis)


def sum_items(xs):
    """`sum(xs)` (Numba's builtin sum takes no list of arrays nor a tuple of mixed items)."""
    return sum(xs)


def expand_dims(x, axis):
    """`np.expand_dims(x, axis)` (Numba's takes arrays only: a number is a 1-vector)."""
    return np.expand_dims(x, axis)


def optional_zeros(x):
    """`zeros_like(x)` of a name declared None before a loop assigns it (the zero of its
    adjoint; Numba: of its optional type, never None)."""
    return runtime.zeros_like(x)


def reduce_along(x, axis, keepdims, op):
    """`np.max/min/sum/mean(x, axis=axis, keepdims=keepdims)`, op naming which ("max",
    "min", "sum", "mean"; Numba's np.max and np.min take no axis, and none of them keepdims:
    Numba, with axis None or a literal integer and a literal keepdims)."""
    return {"max": np.max, "min": np.min, "sum": np.sum, "mean": np.mean}[op](
        x, axis=axis, keepdims=keepdims)


def present(x):
    """`x` (Numba: an optional value, a name that was None before a loop assigned it, as the
    value it holds)."""
    return x


def trip_count(xs):
    """How many items a loop over `xs` runs (0 where Numba knows no length: the stack
    then grows as it is pushed)."""
    return len(xs)


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


def _stack_kind(v):
    """How a stack of values of Numba type `v` is stored: 'none' (empty tuples, the shapes
    of numbers: nothing), 'numbers' (floats, integers and flags: their 64 bits in an int64
    array, whatever type Numba gives the value while it is still typing the loop), or
    'list' (arrays, shapes, anything else: references in a list)."""
    t = _plain_type(v)
    if isinstance(t, types.BaseTuple) and len(t) == 0:
        return "none"
    if _scalar(t):
        return "numbers"
    return "list"


@intrinsic
def _float_bits(typingctx, x):
    """The 64 bits of a float (as float64) as an int64."""
    def codegen(context, builder, signature, args):
        v = context.cast(builder, args[0], x, types.float64)
        return builder.bitcast(v, llvm_ir.IntType(64))
    return types.int64(x), codegen


@intrinsic
def _bits_float(typingctx, b):
    """The float64 whose bits the int64 `b` holds."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvm_ir.DoubleType())
    return types.float64(b), codegen


_CONVERSIONS: dict = {}     # (direction, Numba type) -> its jitted conversion, made once


def _to_bits(t):
    """A jitted function storing a number of type t (None: 0) as an int64."""
    key = ("to", t)
    if key not in _CONVERSIONS:
        plain = _plain_type(t)
        if isinstance(plain, types.Float):
            conv = _float_bits
        else:
            conv = register_jitable(lambda v: np.int64(v))
        if isinstance(t, types.Optional):       # a value not assigned yet: a zero stands in
            optional_conv = conv
            conv = register_jitable(lambda v: 0 if v is None else optional_conv(_some(v)))
        _CONVERSIONS[key] = conv
    return _CONVERSIONS[key]


def _from_bits(t):
    """A jitted function reading a number of type t back from its int64."""
    plain = _plain_type(t)
    key = ("from", plain)
    if key not in _CONVERSIONS:
        if isinstance(plain, types.Float) and plain.bitwidth == 64:
            conv = _bits_float
        elif isinstance(plain, types.Float):
            conv = register_jitable(lambda b: np.float32(_bits_float(b)))
        elif isinstance(plain, types.Boolean):
            conv = register_jitable(lambda b: b != 0)
        else:
            cast = getattr(np, str(plain))
            conv = register_jitable(lambda b: cast(b))
        _CONVERSIONS[key] = conv
    return _CONVERSIONS[key]


@register_jitable
def _list_store(out, top, v):
    """A list stack's item `top` set to v, the list grown (with v) to reach it."""
    while len(out) < top:
        out.append(v)
    if len(out) == top:
        out.append(v)
    else:
        out[top] = v


@register_jitable
def _room(n, top, cap):
    """A buffer's new length: double, at least the capacity reserved and 8."""
    return max(2 * n, cap, top + 1, 8)


@_numba_overload(stack_push)
def _stack_push(buf, top, v, cap):
    kind = _stack_kind(v)
    if kind == "none":
        return lambda buf, top, v, cap: None
    if isinstance(v, types.NoneType):       # typed before its assignments are: no buffer yet
        return lambda buf, top, v, cap: buf
    if kind == "list":           # item `top` set (the items of pushes of a value that was
        if _none(buf):           # None, which store nothing, stand-ins: see stack_pop)
            def first_list(buf, top, v, cap):
                out = [v]
                for _ in range(top):
                    out.append(v)
                return out
            return first_list

        def grow_list(buf, top, v, cap):
            if buf is None:
                out = [v]
                for _ in range(top):
                    out.append(v)
                return out
            out = _some(buf)
            _list_store(out, top, v)
            return out
        return grow_list
    bits = _to_bits(v)
    if _none(buf):
        def first(buf, top, v, cap):
            out = np.empty(_room(0, top, cap), np.int64)
            out[top] = bits(v)
            return out
        return first

    def push(buf, top, v, cap):
        if buf is None:
            out = np.empty(_room(0, top, cap), np.int64)
        else:
            out = _some(buf)
            if top >= out.shape[0]:
                new = np.empty(_room(out.shape[0], top, cap), np.int64)
                for j in range(top):        # (a slice assignment takes Numba seconds to compile)
                    new[j] = out[j]
                out = new
        out[top] = bits(v)
        return out
    return push


@_numba_overload(stack_room)
def _stack_room(buf, top, v):
    kind = _stack_kind(v)
    if kind == "none":
        return lambda buf, top, v: True
    if _none(buf) or isinstance(v, types.NoneType):
        return lambda buf, top, v: False
    if kind == "list":
        return lambda buf, top, v: buf is not None
    return lambda buf, top, v: buf is not None and top < _some(buf).shape[0]


@_numba_overload(stack_put)
def _stack_put(buf, top, v):
    kind = _stack_kind(v)
    if kind == "none" or _none(buf) or isinstance(v, types.NoneType):
        return lambda buf, top, v: None
    if kind == "list":
        def put_list(buf, top, v):
            _list_store(_some(buf), top, v)
        return put_list
    bits = _to_bits(v)

    def put(buf, top, v):
        _some(buf)[top] = bits(v)
    return put


@_numba_overload(stack_pop)
def _stack_pop(buf, top, like):
    kind = _stack_kind(like)
    if kind == "none":
        return lambda buf, top, like: ()
    if _none(buf) or isinstance(like, types.NoneType):   # typed before the pushes are
        return lambda buf, top, like: like
    t = _plain_type(buf)
    # a push of a value Numba types as None (None on every path there: a name's first
    # value, saved before a branch that assigns it and leaves the loop) stores nothing: its
    # pop gives the value the name holds (a list's stand-in, a number's zero), which the
    # reverse sweep reads only as that None's (a zero's shape), as the items it pushed
    # are read by their index
    if isinstance(t, types.List):
        def pop_list(buf, top, like):
            if top < 0:
                raise IndexError("pop from empty list")
            if buf is None:
                return like
            out = _some(buf)
            if top >= len(out):
                return like
            return out[top]
        return pop_list
    if _array(t) and t.ndim == 1 and kind == "numbers":
        value = _from_bits(like)

        def pop(buf, top, like):
            if top < 0:
                raise IndexError("pop from empty list")
            if buf is None:
                return value(np.int64(0))
            out = _some(buf)
            if top >= out.shape[0]:
                return value(np.int64(0))
            return value(out[top])
        return pop
    _refuse("stack_pop", buf, like)


@_numba_overload(sum_items)
def _sum_items(xs):
    items = list(xs.types) if isinstance(xs, types.LiteralList) else \
        list(xs) if isinstance(xs, types.BaseTuple) else None
    if items and all(_scalar(x) or _array(x) for x in items):    # (a list of mixed items)
        terms = " + ".join(f"xs[{k}]" for k in range(len(items)))
        ns = {}
        exec(f"def impl(xs):\n    return 0 + {terms}\n", ns)
        return ns["impl"]
    if isinstance(xs, types.List) and (_scalar(xs.dtype) or _array(xs.dtype)):
        def add_up(xs):
            total = 0 + xs[0]
            for k in range(1, len(xs)):
                total = total + xs[k]
            return total
        return add_up
    _refuse("sum", xs)


@_numba_overload(expand_dims)
def _expand_dims(x, axis):
    if _scalar(x):
        return lambda x, axis: np.full(1, x)
    if _array(x):
        return lambda x, axis: np.expand_dims(x, axis)
    _refuse("np.expand_dims", x, axis)


@_numba_overload(optional_zeros)
def _optional_zeros(x):
    # Numba types the call for each type it infers for x on the way, None first (before
    # the loop's assignment is typed): a zero of None would join the adjoint's type as an
    # optional; no version for None leaves only the optional's, an array
    if isinstance(x, types.NoneType):
        return None
    return _zeros_like(x)


@_numba_overload(present)
def _present(x):
    return lambda x: _some(x)


@_numba_overload(trip_count)
def _trip_count(xs):
    if isinstance(xs, (types.RangeType, types.Array, types.List, types.BaseTuple)):
        return lambda xs: len(xs)
    return lambda xs: 0


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
    if isinstance(x, types.NoneType):    # the tangent of a name before its first value
        return lambda x: None            # (`result = None` above a loop's `return`)
    if isinstance(x, types.Optional) and _scalar(x.type):
        return lambda x: 0.0
    if isinstance(x, types.Optional) and _array(x.type):
        # None: the value before a loop's first assignment, popped by the reverse sweep
        # of that assignment (the sweep reads its adjoint no more). The Python backend's
        # zero is a 0-d one; Numba's must have the array's type: zeros of size 1 per axis
        # (which broadcast as that 0-d zero would)
        ones = (1,) * x.type.ndim
        dt = x.type.dtype if isinstance(x.type.dtype, types.Float) else types.float64

        def optional_zeros(x):
            if x is None:
                return np.zeros(ones, dtype=dt)
            return np.zeros_like(_some(x), dtype=dt)
        return optional_zeros
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
    if not _none(axis) and not isinstance(axis, types.Integer):
        _refuse("unreduce along several axes", g, like, axis)
    if _scalar(like):
        return lambda g, like, axis=None, keepdims=False: g
    if _array(like) and _scalar(g):
        return lambda g, like, axis=None, keepdims=False: np.full(like.shape, g)
    if _array(like) and _array(g) and g.ndim == 0:
        return lambda g, like, axis=None, keepdims=False: np.full(like.shape, g[()])
    if _array(like) and _array(g) and g.ndim <= like.ndim:
        if _none(axis):             # a whole adjoint already (or one broadcasting to it)
            return lambda g, like, axis=None, keepdims=False: \
                np.ascontiguousarray(g) if g.shape == like.shape else \
                g + np.zeros(like.shape)
        return lambda g, like, axis=None, keepdims=False: _spread(g, like, axis)
    _refuse("unreduce", g, like)


@register_jitable
def _spread(g, like, axis):
    """g (one entry per reduced value, or like's whole shape) back over like's shape along
    the reduced `axis`."""
    if g.size == like.size and g.ndim == like.ndim:
        return np.ascontiguousarray(g).reshape(like.shape)
    pre, n, post = _reduced_layout(like.shape, axis)
    gf = np.ascontiguousarray(g).ravel()
    if gf.size != pre * post:
        raise ValueError("unreduce: the adjoint's shape does not match the reduction's")
    out = np.empty(pre * n * post, dtype=gf.dtype)
    for i in range(pre):
        for j in range(n):
            for k in range(post):
                out[(i * n + j) * post + k] = gf[i * post + k]
    return out.reshape(like.shape)


def _literal(t):
    """The value of a literal Numba type (an Omitted default's too), else _MISSING."""
    if isinstance(t, types.Omitted):
        return t.value
    if isinstance(t, types.Literal):
        return t.literal_value
    if _none(t):
        return None
    return _MISSING


_MISSING = object()
_REDUCERS: dict = {}


@register_jitable
def _reduce_rows(x, axis, op):
    """x reduced along `axis` by op (0 max, 1 min, 2 sum, 3 mean), flat, one entry per
    reduced value in row-major order (a max or min with a nan is nan, as NumPy's)."""
    pre, n, post = _reduced_layout(x.shape, axis)
    xf = np.ascontiguousarray(x).ravel()
    out = np.empty(pre * post)
    for i in range(pre):
        for k in range(post):
            if op >= 2:
                acc = 0.0
                for j in range(n):
                    acc += xf[(i * n + j) * post + k]
                out[i * post + k] = (acc / n if n else np.nan) if op == 3 else acc
            else:
                if n == 0:
                    raise ValueError("zero-size array to reduction operation with no identity")
                acc = xf[i * n * post + k]
                for j in range(1, n):
                    v = xf[(i * n + j) * post + k]
                    if v != v or acc != acc:
                        acc = np.nan
                    elif (v > acc) if op == 0 else (v < acc):
                        acc = v
                out[i * post + k] = acc
    return out


@overload(reduce_along)
def _reduce_along(x, axis, keepdims, op):
    a, kd, name = _literal(axis), _literal(keepdims), _literal(op)
    if not _array(x) or not isinstance(x.dtype, types.Float) or a is _MISSING or \
            kd is _MISSING or name not in ("max", "min", "sum", "mean") or \
            not (a is None or isinstance(a, int)):
        _refuse(f"np.{name if isinstance(name, str) else 'max'} with axis and keepdims "
                "(a literal integer axis or None, a literal keepdims, a float array)",
                x, axis, keepdims)
    nd = x.ndim
    code = {"max": 0, "min": 1, "sum": 2, "mean": 3}[name]
    if a is not None:
        a = a + nd if a < 0 else a
        if not 0 <= a < nd:
            _refuse("a reduction along an axis out of range", x, axis)
    key = (nd, a, bool(kd), code)
    if key not in _REDUCERS:
        if a is None:
            shape = "(" + "1, " * nd + ")" if kd else None
        else:
            dims = [("1" if d == a else f"x.shape[{d}]") for d in range(nd)
                    if kd or d != a]
            shape = "(" + "".join(f"{d}, " for d in dims) + ")" if dims else None
        body = "_reduce_rows(x, AXIS, CODE)".replace("AXIS", str(a)).replace("CODE", str(code))
        ret = f"{body}.reshape({shape})" if shape else f"{body}[0]"
        ns = {"_reduce_rows": _reduce_rows, "np": np}
        exec(f"def impl(x, axis, keepdims, op):\n    return {ret}\n", ns)
        _REDUCERS[key] = ns["impl"]
    return _REDUCERS[key]


@overload(runtime.matmul_vjp_x)
def _matmul_vjp_x(g, x, y):
    if _array(g) and _array(x) and _array(y):
        if x.ndim == 2 and y.ndim == 2:
            return lambda g, x, y: g @ y.T       # BLAS takes the transpose as it is
        if x.ndim == 1 and y.ndim == 2:
            return lambda g, x, y: y @ g
        if x.ndim == 2 and y.ndim == 1:
            return lambda g, x, y: np.outer(g, y)
    if _array(x) and _array(y) and x.ndim == 1 and y.ndim == 1 and _scalar(g):
        return lambda g, x, y: g * y
    _refuse("matmul_vjp_x", g, x, y)


@overload(runtime.matmul_vjp_y)
def _matmul_vjp_y(g, x, y):
    if _array(g) and _array(x) and _array(y):
        if x.ndim == 2 and y.ndim == 2:
            return lambda g, x, y: x.T @ g
        if x.ndim == 1 and y.ndim == 2:
            return lambda g, x, y: np.outer(x, g)
        if x.ndim == 2 and y.ndim == 1:
            return lambda g, x, y: g @ x
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


@overload(runtime.items_tangent)
def _items_tangent(t, x):
    if isinstance(x, types.RangeType) or _array(x) or isinstance(x, (types.List, types.BaseTuple)):
        return lambda t, x: t
    _refuse("items_tangent", x)


@overload(runtime.items_adjoint)
def _items_adjoint(g, x):
    if isinstance(x, types.RangeType) or _array(x) or isinstance(x, (types.List, types.BaseTuple)):
        return lambda g, x: g
    _refuse("items_adjoint", x)


def _basic_index(t) -> bool:
    """An index selecting each entry at most once: an int, a slice, or a tuple of those."""
    if isinstance(t, types.BaseTuple):
        return all(_basic_index(e) for e in t)
    return isinstance(t, (types.Integer, types.SliceType))


def _one_entry(x, idx) -> bool:
    """Whether basic index `idx` of array type x selects one entry (a number, not a view)."""
    ints = list(idx) if isinstance(idx, types.BaseTuple) else [idx]
    return len(ints) == x.ndim and all(isinstance(i, types.Integer) for i in ints)


# (a view's entries are added to in place, `sub += g`, rather than assigned, `out[idx] = g`:
# Numba's array assignment compiles its shape-mismatch message, seconds of each compile)
@overload(runtime.index_add)
def _index_add(acc, idx, g):
    if _array(acc) and _basic_index(idx):     # each entry at most once: += is exact
        if _one_entry(acc, idx):
            def entry(acc, idx, g):
                acc[idx] += g
                return acc
            return entry

        def impl(acc, idx, g):
            sub = acc[idx]
            sub += g
            return acc
        return impl
    _refuse("index_add", acc, idx, g)


@overload(runtime.index_added)
def _index_added(acc, idx, g):
    """index_add on a copy of acc (how srcad's derivative of its own code adds: its reverse
    sweep may still read the acc it was given; a derivative taken inside the differentiated
    function, GradBench saddle's inner gradient, calls it)."""
    if _array(acc) and _basic_index(idx):
        if _one_entry(acc, idx):
            def entry(acc, idx, g):
                out = acc.copy()
                out[idx] += g
                return out
            return entry

        def impl(acc, idx, g):
            out = acc.copy()
            sub = out[idx]
            sub += g
            return out
        return impl
    _refuse("index_added", acc, idx, g)


@overload(runtime.unindex)
def _unindex(g, x, idx):
    if _array(x) and (_array(g) or _scalar(g)) and _basic_index(idx):
        if _one_entry(x, idx):
            def entry(g, x, idx):
                out = np.zeros(x.shape)
                out[idx] = g
                return out
            return entry

        def impl(g, x, idx):
            out = np.zeros(x.shape)
            sub = out[idx]
            sub += g
            return out
        return impl
    _refuse("unindex", g, x, idx)


@overload(runtime.tie_weight)
def _tie_weight(x, y):
    if (_scalar(x) or _array(x)) and (_scalar(y) or _array(y)):
        return lambda x, y: (x > y) + 0.5 * (x == y)
    _refuse("tie_weight", x, y)


@register_jitable
def _reduced_layout(shape, axis):
    """x's entries seen as (before, along, after) the reduced axis: their counts (axis
    None: all along one axis; a negative axis counts from the end)."""
    size = 1
    for n in shape:
        size *= n
    if axis is None:
        return 1, size, 1
    a = axis + len(shape) if axis < 0 else axis
    if a < 0 or a >= len(shape):
        raise ValueError("max_vjp: axis out of range")
    pre = 1
    for d in range(a):
        pre *= shape[d]
    return pre, shape[a], size // (pre * shape[a]) if pre * shape[a] else 0


@register_jitable
def _flat_of(v):
    """An array's entries or a number's as a flat float64 array (their row-major order)."""
    return np.ascontiguousarray(np.asarray(v, dtype=np.float64)).ravel()


@register_jitable
def _max_weighted(g, x, m, axis):
    """g's entries (one per reduced value) times the weights of the entries of x attaining
    the reduction m along `axis` (None: all), shaped like x: `hit / count` (ties share the
    derivative equally; a reduced value attained nowhere, nan, gives nan weights), g
    times that, as the runtime's `unreduce(g, ...) * max_weight(...)` computes it."""
    pre, n, post = _reduced_layout(x.shape, axis)
    xf = np.ascontiguousarray(x).ravel()
    mf = _flat_of(m)
    gf = _flat_of(g)
    if mf.size != pre * post and not (mf.size == 1 and pre * post == 1):
        raise ValueError("max_vjp: the reduction's shape does not match x's")
    one_g = gf.size == 1
    if not one_g and gf.size != pre * post:
        raise ValueError("max_vjp: the adjoint's shape does not match the reduction's")
    out = np.empty(xf.size)
    for i in range(pre):
        for k in range(post):
            r = i * post + k
            mv = mf[r]
            gv = gf[0] if one_g else gf[r]
            count = 0
            for j in range(n):
                if xf[(i * n + j) * post + k] == mv:
                    count += 1
            for j in range(n):
                e = (i * n + j) * post + k
                h = 1.0 if xf[e] == mv else 0.0
                out[e] = gv * (h / count) if count else gv * np.nan
    return out.reshape(x.shape)


def _max_axis_ok(axis) -> bool:
    return _none(axis) or isinstance(axis, types.Integer)


@overload(runtime.max_vjp)
def _max_vjp(g, x, m, axis=None, keepdims=False):
    # (keepdims changes only m's and g's shapes: their entries are read flat, one per
    # reduced value)
    if _array(x) and isinstance(x.dtype, (types.Float, types.Integer, types.Boolean)) and \
            (_scalar(m) or _array(m)) and (_scalar(g) or _array(g)) and _max_axis_ok(axis):
        if _none(axis):
            return lambda g, x, m, axis=None, keepdims=False: _max_weighted(g, x, m, None)
        return lambda g, x, m, axis=None, keepdims=False: _max_weighted(g, x, m, axis)
    if _scalar(x) and _scalar(m) and _scalar(g):      # a number's max is itself
        return lambda g, x, m, axis=None, keepdims=False: \
            g * (1.0 if x == m else np.nan)
    _refuse("max_vjp", g, x, m, axis)


@overload(runtime.max_weight)
def _max_weight(x, out, axis=None, keepdims=False):
    if _array(x) and isinstance(x.dtype, (types.Float, types.Integer, types.Boolean)) and \
            (_scalar(out) or _array(out)) and _max_axis_ok(axis):
        if _none(axis):
            return lambda x, out, axis=None, keepdims=False: _max_weighted(1.0, x, out, None)
        return lambda x, out, axis=None, keepdims=False: _max_weighted(1.0, x, out, axis)
    if _scalar(x) and _scalar(out):
        return lambda x, out, axis=None, keepdims=False: 1.0 if x == out else np.nan
    _refuse("max_weight", x, out, axis)


@overload(runtime.pow_log)
def _pow_log(x):
    if _scalar(x):
        return lambda x: np.log(x) if x != 0 else 0.0
    if _array(x):
        return lambda x: np.log(np.where(x == 0, 1.0, x))
    _refuse("pow_log", x)


@overload(runtime.times_or_zero)
def _times_or_zero(t, w):
    if _scalar(t) and _scalar(w):
        return lambda t, w: t * w if t != 0 else 0.0
    if (_scalar(t) or _array(t)) and (_scalar(w) or _array(w)):
        return lambda t, w: np.where(t == 0, 0.0, t * w)
    _refuse("times_or_zero", t, w)


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
def _tuple_impl(params, body_of, n, ns):
    """A jitted-to-be function of `params` returning a tuple of `n` items, item k the
    expression body_of(k) (for tuples of any length: Numba indexes a tuple statically)."""
    items = ", ".join(body_of(k) for k in range(n)) + ("," if n == 1 else "")
    exec(f"def impl({params}):\n    return ({items})\n", ns)
    return ns["impl"]


def _axis_zero(axis) -> bool:
    """Whether `axis` is 0: left out (its default), or the literal 0."""
    if isinstance(axis, types.Omitted):
        return axis.value == 0
    return (isinstance(axis, int) and axis == 0) or \
        (isinstance(axis, types.IntegerLiteral) and axis.literal_value == 0)


@overload(runtime.unconcatenate)
def _unconcatenate(g, xs, axis=0):
    if not _axis_zero(axis):
        _refuse("unconcatenate along an axis other than 0", g, xs, axis)
    if isinstance(xs, types.BaseTuple) and all(_array(x) for x in xs):
        n = len(xs)
        if _scalar(g):                   # the zero adjoint of any shape
            return _tuple_impl("g, xs, axis=0", lambda k: f"np.zeros(xs[{k}].shape)", n,
                               {"np": np})
        if _array(g):
            offs = "\n".join(f"    o{k + 1} = o{k} + xs[{k}].shape[0]" for k in range(n))
            items = ", ".join(f"g[o{k}:o{k + 1}]" for k in range(n)) + ("," if n == 1 else "")
            ns = {}
            exec(f"def impl(g, xs, axis=0):\n    o0 = 0\n{offs}\n    return ({items})\n", ns)
            return ns["impl"]
    if isinstance(xs, types.List) and _array(xs.dtype) and _array(g):
        def pieces(g, xs, axis=0):
            out = []
            o = 0
            for x in xs:
                out.append(g[o:o + x.shape[0]])
                o += x.shape[0]
            return out
        return pieces
    _refuse("unconcatenate", g, xs, axis)


@_numba_overload(stack_arrays)
def _stack_arrays(xs, axis=0):
    if isinstance(xs, types.List) and _array(xs.dtype) and xs.dtype.ndim >= 1 and \
            _axis_zero(axis):
        def stack_list(xs, axis=0):
            first = xs[0]
            out = np.zeros((len(xs),) + first.shape, first.dtype)
            for k in range(len(xs)):
                if xs[k].shape != first.shape:
                    raise ValueError("all input arrays must have the same shape")
                sub = out[k]          # (added in place: see _index_add)
                sub += xs[k]
            return out
        return stack_list
    if isinstance(xs, types.BaseTuple):
        if _axis_zero(axis):
            return lambda xs, axis=0: np.stack(xs)
        return lambda xs, axis=0: np.stack(xs, axis)
    _refuse("np.stack", xs, axis)


@overload(runtime.unstack)
def _unstack(g, axis=0):
    if _axis_zero(axis) and _array(g) and g.ndim >= 1:
        return lambda g, axis=0: [g[k] for k in range(g.shape[0])]
    _refuse("unstack", g, axis)


@overload(runtime.add_items)
def _add_items(a, b):
    seq = (types.BaseTuple, types.List)
    if isinstance(a, types.BaseTuple) and isinstance(b, types.BaseTuple) and len(a) == len(b):
        return _tuple_impl("a, b", lambda k: f"add_items(a[{k}], b[{k}])", len(a),
                           {"add_items": runtime.add_items})
    if isinstance(a, types.List) and isinstance(b, types.List):
        def lists(a, b):
            return [runtime.add_items(a[k], b[k]) for k in range(len(a))]
        return lists
    if _scalar(a) and isinstance(b, seq):          # a zero adjoint adds nothing
        def zero_a(a, b):
            if a != 0:
                raise ValueError("add_items: a number added to a sequence's adjoint")
            return b
        return zero_a
    if isinstance(a, seq) and _scalar(b):
        def zero_b(a, b):
            if b != 0:
                raise ValueError("add_items: a number added to a sequence's adjoint")
            return a
        return zero_b
    if (_scalar(a) or _array(a)) and (_scalar(b) or _array(b)):
        return lambda a, b: a + b
    _refuse("add_items", a, b)


@overload(runtime.repeat_items)
def _repeat_items(g, xs):
    """sum(xs)'s adjoint: g summed back to each item's shape (items of a list share a type)."""
    unb = runtime.unbroadcast
    items = list(xs.types) if isinstance(xs, types.LiteralList) else \
        list(xs) if isinstance(xs, types.BaseTuple) else None
    if items is not None and all(_scalar(x) or _array(x) for x in items):
        return _tuple_impl("g, xs", lambda k: f"unbroadcast(g, xs[{k}])", len(items),
                           {"unbroadcast": unb})
    if isinstance(xs, types.List) and (_scalar(xs.dtype) or _array(xs.dtype)):
        return lambda g, xs: [unb(g, x) for x in xs]
    _refuse("repeat_items", g, xs)


@register_jitable
def _diag_len(x, offset):
    r0, c0 = max(-offset, 0), max(offset, 0)
    return r0, c0, max(min(x.shape[0] - r0, x.shape[1] - c0), 0)


@register_jitable
def _on_diagonal(g, x, offset):
    """Zeros shaped like the matrix x, g (a number, or one per entry: broadcast) on the
    diagonal `offset`."""
    out = np.zeros(x.shape)
    r0, c0, n = _diag_len(x, offset)
    vals = np.zeros(n) + g
    for i in range(n):
        out[r0 + i, c0 + i] = vals[i]
    return out


@overload(runtime.undiagonal)
def _undiagonal(g, x, offset=0, axis1=0, axis2=1):
    """np.trace's and np.diagonal's adjoint for a matrix (its main axes): zeros shaped like
    x with g along the diagonal `offset`."""
    def plain(a, default):
        return _none(a) or isinstance(a, (types.Integer, types.IntegerLiteral)) or a == default
    axes_ok = all(
        isinstance(a, types.Omitted) and a.value == d or
        isinstance(a, types.IntegerLiteral) and a.literal_value == d or
        isinstance(a, int) and a == d for a, d in ((axis1, 0), (axis2, 1)))
    if _array(x) and x.ndim == 2 and axes_ok and plain(offset, 0):
        if _array(g) and g.ndim == 0:
            return lambda g, x, offset=0, axis1=0, axis2=1: _on_diagonal(g[()], x, offset)
        if _scalar(g):
            return lambda g, x, offset=0, axis1=0, axis2=1: _on_diagonal(g, x, offset)
        if _array(g) and g.ndim == 1:
            return lambda g, x, offset=0, axis1=0, axis2=1: _on_diagonal(g, x, offset)
    _refuse("undiagonal", g, x, offset, axis1, axis2)


@overload(runtime.unreduce_vjp)
def _unreduce_vjp(h, g, axis=None, keepdims=False):
    if not _none(axis):
        _refuse("unreduce_vjp along an axis", h, g, axis)
    if _scalar(g):
        if _array(h):
            return lambda h, g, axis=None, keepdims=False: np.sum(h)
        if _scalar(h):
            return lambda h, g, axis=None, keepdims=False: h
    if _array(g) and _scalar(h):
        return lambda h, g, axis=None, keepdims=False: np.full(g.shape, h)
    if _array(g) and _array(h):
        if g.ndim == h.ndim:
            def same(h, g, axis=None, keepdims=False):
                if h.shape == g.shape:
                    return np.ascontiguousarray(h)
                return np.full(g.shape, np.sum(h))
            return same
        return lambda h, g, axis=None, keepdims=False: np.full(g.shape, np.sum(h))
    _refuse("unreduce_vjp", h, g, axis)


@overload(runtime.updated)
def _updated(r, x):
    return lambda r, x: r          # (Numba's arrays: the layout of a new one is its own)


@overload(runtime.stop_gradient)
def _stop_gradient(x):
    return lambda x: x


def _inexact(t) -> bool:
    """Whether a value of Numba type `t` (a number or an array) is of a floating dtype."""
    t = t.dtype if _array(t) else t
    return isinstance(t, (types.Float, types.Complex))


@overload(runtime.cast_adjoint)
def _cast_adjoint(g, like):
    if _inexact(like):
        return lambda g, like: g
    if _array(g):
        return lambda g, like: np.zeros(g.shape)
    if _scalar(g):
        return lambda g, like: 0.0
    _refuse("cast_adjoint", g, like)


@overload(runtime.cast_tangent)
def _cast_tangent(t, like):
    if _inexact(like):
        dt = like.dtype if _array(like) else like
        if _array(like) and _array(t):
            return lambda t, like: t.astype(dt)
        if _scalar(like) and _scalar(t):
            return lambda t, like: dt(t)
    elif _array(like):
        return lambda t, like: np.zeros(like.shape)
    elif _scalar(like):
        return lambda t, like: 0.0
    _refuse("cast_tangent", t, like)


@_numba_overload(runtime.unreshape)
def _unreshape(g, like, order="C"):
    if not (_none(order) or order == "C" or (isinstance(order, types.StringLiteral) and
                                             order.literal_value == "C")):
        _refuse("unreshape in an order other than C", g, like, order)
    g, like = _plain_type(g), _plain_type(like)
    if _array(like):
        if _array(g):
            def impl(g, like, order="C"):
                if g.size == like.size:
                    return np.ascontiguousarray(g).reshape(like.shape)
                return np.full(like.shape, np.sum(g))    # (like has one item)
            return impl
        if _scalar(g):
            return lambda g, like, order="C": np.full(like.shape, g)
    if isinstance(like, (types.List, types.UniTuple)) and _scalar(like.dtype) and _array(g):
        def items(g, like, order="C"):       # a list of numbers: shape (len(like),)
            if g.size == len(like):
                return np.ascontiguousarray(g).reshape(len(like))
            return np.full(len(like), np.sum(g))
        return items
    if _scalar(like):
        if _array(g):
            return lambda g, like, order="C": np.sum(g)
        if _scalar(g):
            return lambda g, like, order="C": g
    _refuse("unreshape", g, like)


# ---------------------------------------------------------------- elementwise loops

_ELEMENTWISE = weakref.WeakSet()     # the functions `elementwise` made loops of


def elementwise(func):
    """Mark `func`, a def of elementwise statements over its parameters (the numba
    backend's `elementwise` pass wrote it), as run by Numba as one loop over the entries:
    where its array operands are float64 arrays of one shape (and each `unbroadcast` in it
    keeps that shape), Numba computes every statement entry by entry in one loop, writing
    only the results the caller reads, with no temporary arrays; otherwise (broadcasting,
    other dtypes) its statements as written. In Python, `func` itself."""
    _ELEMENTWISE.add(func)
    tree = ast.parse(textwrap.dedent(inspect.getsource(func))).body[0]
    params = [a.arg for a in tree.args.args]
    spec = ", ".join(params)

    def typer_impl(*ts):
        return _loop_impl(func, tree, params, ts)
    ns = {"_impl": typer_impl}
    exec(f"def typer({spec}):\n    return _impl({spec})\n", ns)
    _numba_overload(func)(ns["typer"])
    return func


def is_elementwise(func) -> bool:
    """Whether `func` is a def `elementwise` marked (the loader compiles it as an overload,
    not an njit function of its own)."""
    return func in _ELEMENTWISE


_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
# an array's entries divide and raise to a power with NumPy's semantics (inf, nan), not
# Python's (ZeroDivisionError), as the array operation does
_LOOP_OPS = {ast.Div: "__ew_np.true_divide", ast.Pow: "__ew_np.power"}


def _loop_impl(func, tree, params, ts):
    """The Numba implementation of the elementwise def `tree` for argument types `ts`: the
    fused loop under a runtime test of the shapes, and where that test fails (operands that
    broadcast) the statements run by NumPy in object mode, whose results have the loop's
    types (compiling the statements as Numba array expressions too doubled the compile
    time of every such def); the statements as written where the types leave no loop."""
    plain = {p: _plain_type(t) for p, t in zip(params, ts)}
    body = [s for s in tree.body if isinstance(s, ast.Assign)]
    ret = tree.body[-1].value
    outs = [e.id for e in ret.elts] if isinstance(ret, ast.Tuple) else [ret.id]
    head = [f"    {p} = __ew_some({p})" for p, t in zip(params, ts) if isinstance(t, types.Optional)]
    loop = _loop_body(func, body, outs, plain)
    ns = dict(func.__globals__)
    ns.update(__ew_some=_some, __ew_np=np)
    if loop is None:
        rest = [textwrap.indent(ast.unparse(s), "    ") for s in body] + \
            ["    return " + ast.unparse(ret)]
    else:
        loop, out_types = loop
        names = [f"__ew_r{k}" for k in range(len(outs))]
        kinds = ", ".join(f"{n}={_type_text(t)!r}" for n, t in zip(names, out_types))
        ns["__ew_objmode"] = _objmode
        # (object mode finds the globals it calls in the module named __name__: this one)
        ns["__name__"] = __name__
        spec = ",".join("f" if isinstance(t, types.Float) else t.layout for t in out_types)
        one = names[0] if len(names) == 1 else "(" + ", ".join(names) + ",)"
        rest = [f"    with __ew_objmode({kinds}):",
                f"        {one} = _in_python({func.__module__!r}, {func.__name__!r}, "
                f"{spec!r}, {', '.join(params)})",
                f"    return {names[0] if len(names) == 1 else '(' + ', '.join(names) + ')'}"]
    src = "\n".join([f"def impl({', '.join(params)}):"] + head + (loop or []) + rest)
    exec(src, ns)
    return ns["impl"]


def _type_text(t) -> str:
    """Numba type `t` (float64, or a float64 array) as object mode's annotation reads it."""
    if isinstance(t, types.Array):
        dims = [":"] * t.ndim
        if t.layout == "C" and t.ndim:
            dims[-1] = "::1"
        elif t.layout == "F" and t.ndim:
            dims[0] = "::1"
        return f"{t.dtype}[{', '.join(dims)}]"
    return str(t)


def _in_python(module, name, spec, *args):
    """The elementwise def `name` of `module` run by NumPy (object mode: operands that
    broadcast), its results as `spec` says: f a float, C a C-contiguous float64 array, A
    any float64 array. Found by name, so Numba's disk cache of its caller calls it too."""
    import importlib
    got = getattr(importlib.import_module(module), name)(*args)
    kinds = spec.split(",")
    got = got if len(kinds) > 1 else (got,)
    out = tuple(float(g) if k == "f" else np.ascontiguousarray(g, dtype=np.float64)
                if k == "C" else np.asarray(g, dtype=np.float64) for g, k in zip(got, kinds))
    return out if len(out) > 1 else out[0]


def _loop_body(func, body, outs, types_of):
    """The lines computing `body` as one loop (returning `outs`) under a test that the
    array operands share one shape, or None where the types leave nothing to fuse."""
    val = {}                  # name -> (kind, entry expression, whole value or None, temp)
    for p, t in types_of.items():
        if _array(t) and t.dtype == types.float64 and (t.ndim == 1 or t.layout == "C"):
            val[p] = ("array", f"__ew_e_{p}", p, None)
        elif isinstance(t, (types.Integer, types.Float)):
            val[p] = ("scalar", p, p, None)
        elif isinstance(t, types.UniTuple) and isinstance(t.dtype, types.Integer):
            val[p] = ("shape", None, p, len(t))
        else:
            val[p] = ("other", None, p, None)
    ndims = {types_of[p].ndim for p, v in val.items() if v[0] == "array"}
    if len(ndims) != 1:
        return None
    ndim = ndims.pop()
    used_arrays, tests = [], []
    scalar_lines, loop_lines, temps = [], [], []
    glob = func.__globals__

    def callee(node):
        if isinstance(node, ast.Name):
            return glob.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = callee(node.value)
            return getattr(owner, node.attr, None) if owner is not None else None
        return None

    class Refuse(Exception):
        pass

    def expr(node):
        """(kind, text): the entry (array kind) or value (scalar kind) of `node`."""
        if isinstance(node, ast.Name):
            kind, entry, whole, temp = val.get(node.id, ("other", None, None, None))
            if kind == "array":
                if temp is None and whole not in used_arrays:     # a parameter's entry
                    used_arrays.append(whole)
                return "array", entry
            if kind == "scalar":
                return "scalar", whole
            raise Refuse
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return "scalar", repr(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            kind, text = expr(node.operand)
            return kind, f"({'-' if isinstance(node.op, ast.USub) else '+'}{text})"
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            (ka, a), (kb, b) = expr(node.left), expr(node.right)
            if "array" not in (ka, kb):
                return "scalar", f"({a} {_OPS[type(node.op)]} {b})"
            if type(node.op) in _LOOP_OPS:
                return "array", f"{_LOOP_OPS[type(node.op)]}({a}, {b})"
            return "array", f"({a} {_OPS[type(node.op)]} {b})"
        if isinstance(node, ast.Call):
            f = callee(node.func)
            if f is runtime.unbroadcast and len(node.args) == 2:
                kind, text = expr(node.args[0])
                like = node.args[1]
                if kind != "array" or not isinstance(like, ast.Name):
                    raise Refuse
                lk = val.get(like.id, ("other", None, None, None))
                if lk[0] == "array":
                    if lk[2] is not None:
                        tests.append(f"{lk[2]}.shape == __ew_shape")
                elif lk[0] == "shape" and lk[3] == ndim:
                    tests.append(f"{lk[2]} == __ew_shape")
                else:
                    raise Refuse
                return "array", text
            if isinstance(f, np.ufunc) and f.nout == 1 and f.nin == len(node.args):
                args = [expr(a) for a in node.args]
                kind = "array" if any(k == "array" for k, _ in args) else "scalar"
                return kind, f"{ast.unparse(node.func)}({', '.join(t for _, t in args)})"
        raise Refuse

    try:
        for k, s in enumerate(body):
            target, value = s.targets[0].id, s.value
            if isinstance(value, ast.Name):      # a copy: the same object
                if value.id not in val:
                    raise Refuse
                val[target] = val[value.id]
                continue
            kind, text = expr(value)
            t = f"__ew_t{k}"
            if kind == "scalar":
                scalar_lines.append(f"    {t} = {text}")
                val[target] = ("scalar", t, t, None)
            else:
                loop_lines.append(f"            {t} = {text}")
                temps.append(t)
                val[target] = ("array", t, None, k)
    except Refuse:
        return None
    if not used_arrays:
        return None
    written = {}
    for o in outs:
        kind, entry, whole, k = val[o]
        if kind == "array" and whole is None and k not in written:
            written[k] = entry
    first = used_arrays[0]
    flat = (lambda a: a) if ndim == 1 else (lambda a: f"{a}.reshape(__ew_n)")
    lines = scalar_lines + [f"    __ew_shape = {first}.shape"]
    tests = [f"{a}.shape == __ew_shape" for a in used_arrays[1:]] + tests
    lines.append(f"    if {' and '.join(tests) if tests else 'True'}:")
    lines.append(f"        __ew_n = {first}.size")
    for a in used_arrays:
        lines.append(f"        __ew_f_{a} = {flat(a)}")
    for k in written:
        lines.append(f"        __ew_o{k} = __ew_np.empty(__ew_shape, __ew_np.float64)")
        lines.append(f"        __ew_g{k} = {flat(f'__ew_o{k}')}")
    lines.append("        for __ew_i in range(__ew_n):")
    for a in used_arrays:
        lines.append(f"            __ew_e_{a} = __ew_f_{a}[__ew_i]")
    lines += loop_lines
    for k, entry in written.items():
        lines.append(f"            __ew_g{k}[__ew_i] = {entry}")
    if any(val[o][0] not in ("array", "scalar") for o in outs):
        return None
    results, out_types = [], []
    for o in outs:
        kind, entry, whole, k = val[o]
        if kind == "array":
            results.append(whole if whole is not None else f"__ew_o{k}")
            out_types.append(types_of[whole] if whole is not None and whole in types_of
                             else types.Array(types.float64, ndim, "C"))
        else:                 # a number: float64 on both paths (the object mode's type)
            results.append(f"__ew_np.float64({whole})")
            out_types.append(types.float64)
    lines.append(f"        return {results[0] if len(results) == 1 else '(' + ', '.join(results) + ')'}")
    return lines, out_types


__all__ = ["reversed_item", "shape_of", "stack_push", "stack_room", "stack_put", "stack_pop", "trip_count", "stack_arrays",
           "present", "elementwise", "sum_items", "expand_dims"]
