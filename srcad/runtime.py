"""The small runtime that generated derivative code calls; imports nothing from the compiler."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["unbroadcast", "bcast", "zeros_like", "grad_like", "stop_gradient", "unindex",
           "unreduce", "unreduce_vjp", "unreshape", "transposed", "untranspose", "matmul_vjp_x",
           "matmul_vjp_y", "dot_vjp_x",
           "dot_vjp_y", "tie_weight", "items_of",
           "max_weight", "index_add", "index_added", "list_append", "add_items", "repeat_items", "Stack",
           "Fields", "attr_of", "unattr", "make_dict", "undict", "dict_values", "dict_items", "dict_keys", "dict_values_of", "undict_values",
           "dict_pairs_of", "undict_items", "set_item", "unset_item", "record_of", "record_dot",
           "unrecord", "seq_concat", "tuple_of", "concat_place", "concat_tangent", "concat_part", "require_len",
           "seq_repeat", "repeat_seq_tangent", "unrepeat_seq"]


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


def items_tangent(t, x):
    """The tangent of `items_of(x)` from x's tangent `t`: `t` where the loop iterates `x`
    itself (a list, tuple, array, range or str), else 0.0 per item (a dict's keys, a set's
    items: the keys carry no derivative, whatever the values' tangents are)."""
    if isinstance(x, (list, tuple, np.ndarray, range, str)):
        return t
    return [0.0] * len(x)


def items_adjoint(g, x):
    """The adjoint of `x` from the adjoint `g` of `items_of(x)` (items_tangent's transpose):
    `g` where the loop iterates `x` itself, else a zero for x (its keys carry no derivative)."""
    if isinstance(x, (list, tuple, np.ndarray, range, str)):
        return g
    return zeros_like(x)


__all__ += ["items_tangent", "items_adjoint"]


def stop_gradient(x):
    """Return `x`; every derivative treats the result as a constant."""
    return x


def updated(r, x):
    """`r`, the value of `x op= y` computed as `x op y`, with the memory layout and dtype of
    the array `x`, which Python's in-place update keeps: a transposed x stays in Fortran
    order (so a later reduction adds in Python's order, bit for bit), a float32 x float32
    (an int x and a float r raise, as `x += 0.5` does)."""
    if type(x) is not np.ndarray or type(r) is not np.ndarray or r.shape != x.shape or \
            r.dtype == x.dtype and (x.ndim < 2 or x.flags.c_contiguous):
        return r
    out = np.empty_like(x)
    if out.strides == r.strides and out.dtype == r.dtype:
        return r
    np.copyto(out, r, casting="same_kind")
    return out


__all__ += ["updated"]


_ONES: dict = {}      # n -> a read-only vector of n float64 ones (_sum_axes' factor)


def _ones(n):
    """A read-only vector of n ones, kept for the first 256 lengths asked for."""
    v = _ONES.get(n)
    if v is None:
        v = np.ones(n)
        v.flags.writeable = False
        if len(_ONES) < 256:
            _ONES[n] = v
    return v


def _sum_axes(g, axes, keepdims=False):
    """`g.sum(axis=axes, keepdims=keepdims)`, by a matrix-vector product with ones where
    the axes are one run of adjacent axes of a C-contiguous float64 array: NumPy's
    reduction over a middle axis or a short last axis goes entry by entry (measured 5-20x
    slower, (5, 1000, 2) summed over axis 1: 71 us against 3 us)."""
    if type(g) is not np.ndarray or g.dtype is not _F64 or not g.flags.c_contiguous or \
            not axes or axes[-1] - axes[0] != len(axes) - 1:
        return g.sum(axis=axes, keepdims=keepdims)
    shape = g.shape
    pre, n, post = (math.prod(shape[:axes[0]]), math.prod(shape[axes[0]:axes[-1] + 1]),
                    math.prod(shape[axes[-1] + 1:]))
    if n <= 1 or pre * post == 0 or pre == 1 and post == 1 or pre > 64 and post > 1:
        # nothing to add, a full sum, or many small matrices: NumPy's own reduction, the
        # ufunc's (g.sum's Python wrapper costs more than a small array's sum)
        return _ADD_REDUCE(g, axis=axes, keepdims=keepdims)
    ones = _ones(n)                                   # small matrices: NumPy's own reduction
    if post == 1:
        r = g.reshape(pre, n) @ ones
    elif pre == 1:
        r = ones @ g.reshape(n, post)
    else:
        r = ones @ g.reshape(pre, n, post)
    kept = shape[:axes[0]] + ((1,) * len(axes) if keepdims else ()) + shape[axes[-1] + 1:]
    return r.reshape(kept)


def unbroadcast(g, like):
    """Sum the adjoint `g` back to the shape of `like` (an array, a scalar, a shape tuple,
    or a list or tuple of values, whose adjoint goes back item by item)."""
    tl = type(like)
    tg = type(g)
    if tg is np.ndarray:
        if tl is np.ndarray:
            if g.shape == like.shape:
                return g                          # the most common case, first
        elif tl is tuple:
            if len(like) == g.ndim and _is_shape(like) and g.shape == like:
                return g                          # a shape a reverse loop saved, matched
        elif (tl is np.float64 or tl is float) and g.dtype is _F64:
            return g.sum()                        # a number's adjoint: one sum, no axes
    if tl is float:
        return g if tg is float else np.sum(g)
    if (tg is float or tg is np.float64) and (tl is np.float64 or tl is int or
                                              tl is np.ndarray and not like.shape):
        return g                                  # a scalar's adjoint, already one
    if tg is np.ndarray:                          # the common case, without np.* dispatch
        shape = like.shape if tl is np.ndarray else () if tl is np.float64 else \
            like if _is_shape(like) else _shape(like)
        gshape = g.shape
        if shape is None or gshape == shape:
            return g
        lead = len(gshape) - len(shape)
        if lead >= 0:
            if lead:
                g = _sum_axes(g, tuple(range(lead)))
            axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
            if axes:
                g = _sum_axes(g, axes, keepdims=True)
            return g if g.shape == shape else g.reshape(shape)
    if _is_shape(like):
        shape = like
    elif isinstance(g, (list, tuple)) and isinstance(like, (list, tuple)):
        # the adjoint of a list or tuple value: item by item
        return Items(unbroadcast(gk, lk) for gk, lk in zip(g, like))
    elif _is_mapping(like):                       # a dict, dataclass or object: field by field
        if type(g) is float and g == 0.0:
            return g
        g, fields = _fields(g), _fields(like)
        return Fields((k, unbroadcast(g[k], v)) for k, v in fields.items())
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
    if lead < 0:      # a size-1 output's float seed (`x * b`, b of shape (1,)): unit axes
        g = np.reshape(g, (1,) * -lead + gshape)
        lead = 0
    if lead:
        g = np.sum(g, axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and np.shape(g)[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return np.reshape(g, shape)


def _is_shape(like) -> bool:
    """Whether `like` is a shape tuple (reverse loops save the shape of values that only
    `unbroadcast` reads), not a tuple of values."""
    if type(like) is not tuple:
        return False
    for n in like:                      # a loop: cheaper than all() of a generator
        if type(n) is not int and not isinstance(n, np.integer):
            return False
    return True


def _shape(value):
    """`np.shape(value)`, or None for a list or tuple of items of unlike shapes."""
    try:
        return np.shape(value)
    except ValueError:
        return None


def bcast(t, like):
    """Broadcast the tangent `t` to the shape of `like` (the primal output; a list or tuple
    value gets its tangent item by item)."""
    if type(t) is np.ndarray and type(like) is np.ndarray and t.shape == like.shape:
        return t                                  # the common case, first
    if type(like) is float:
        return t
    if isinstance(t, (list, tuple)) and isinstance(like, (list, tuple)):
        if len(t) != len(like):
            raise ValueError(
                f"a list or tuple of {len(t)} items added to another (a concatenation of "
                f"{len(like)} items) was differentiated as arithmetic: srcad could not tell "
                "the operands are lists; write list(a) + list(b)")
        return Items(bcast(tk, lk) for tk, lk in zip(t, like))
    if _is_mapping(like):
        if type(t) is float and t == 0.0:
            return t
        t = _fields(t)
        return Fields((k, bcast(t[k], v)) for k, v in _fields(like).items())
    shape = _shape(like)
    if shape is None or np.shape(t) == shape:
        return t
    return np.broadcast_to(t, shape)


def zeros_like(x):
    """A zero derivative for `x`: 0.0 for a Python scalar, a zero array for an array, a
    list of zeros, item by item, for a list or tuple (its items may differ in shape)."""
    if type(x) is float or type(x) is int:
        return 0.0
    if type(x) is np.ndarray:
        dt = x.dtype if x.dtype.kind in "fc" else np.float64
        return np.zeros(x.shape, dt) if x.flags.c_contiguous else np.zeros_like(x, dtype=dt)
    if isinstance(x, (list, tuple)):
        return Items(zeros_like(v) for v in x)
    if _is_mapping(x):                            # a dict, dataclass or object: per field
        return Fields((k, zeros_like(v)) for k, v in _fields(x).items())
    return np.zeros_like(x, dtype=_float_dtype(x))


def _foreign(a) -> bool:
    """Whether `a` is an array of another library dispatching NumPy's functions (NEP 18:
    Dask, CuPy), which the runtime keeps as it is."""
    return hasattr(type(a), "__array_function__") and not isinstance(a, (np.ndarray,
                                                                          np.generic))


def _float_dtype(x):
    dt = x.dtype if isinstance(x, (np.ndarray, np.generic)) or _foreign(x) else \
        np.asarray(x).dtype
    return dt if dt.kind in "fc" else np.float64      # inexact (np.issubdtype, cheaper)


def grad_like(g, x):
    """Give the derivative `g` the type, shape and dtype of the argument `x`. A float `x`
    with an array `g` is a zero item of a tuple's adjoint (0.0 standing for an array, which
    a second derivative differentiates), or a float broadcast: g sums to its float."""
    if type(x) is np.ndarray and type(g) is np.ndarray and g.dtype is x.dtype and \
            g.shape == x.shape and x.dtype.kind in "fc":
        return g                                     # the common case, already right
    tx = type(x)
    if (tx is float or tx is np.float64) and (type(g) is float or type(g) is np.float64):
        return float(g)                              # a number's: a Python float
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
    zero = type(g) is float and g == 0.0
    if isinstance(x, (tuple, list)):             # one derivative per item; zero as 0.0
        items = [grad_like(0.0 if zero else gk, xk) for gk, xk in
                 zip([None] * len(x) if zero else g, x)]
        if type(x) is list:
            return items
        if hasattr(type(x), "_fields"):          # a NamedTuple: the same type
            return type(x)(*items)
        return tuple(items)
    if _is_mapping(x):                           # a dict, dataclass or object: the same type
        fields = _fields(x)
        g = {} if zero else _fields(g)
        grads = {k: grad_like(g[k] if k in g else 0.0, v) for k, v in fields.items()}
        return _rebuild(x, grads)
    return g


def _is_mapping(x) -> bool:
    """Whether `x` is a container srcad differentiates field by field: a dict, a dataclass
    instance or an instance of a user's class (its `__dict__`)."""
    if isinstance(x, dict):
        return True
    if hasattr(type(x), "__dataclass_fields__"):
        return True
    return _user_object(x)


def _is_record(x) -> bool:
    """A dataclass instance or a user object (a helper's adjoint of one, `grad_like`'s)."""
    return not isinstance(x, (np.ndarray, float, tuple, list)) and _is_mapping(x)


def _dataclass_fields(t) -> list:
    """The fields of dataclass `t` (not its ClassVar or InitVar pseudo-fields), as
    dataclasses.fields gives them (without importing dataclasses: exported code needs
    NumPy only)."""
    return [f for f in t.__dataclass_fields__.values() if repr(f._field_type) == "_FIELD"]


def _user_object(x) -> bool:
    """An instance of a class defined outside NumPy and the standard types, with a `__dict__`,
    and no array of another library (Dask, CuPy: NumPy's dispatch protocols make it an
    array, differentiated as one)."""
    t = type(x)
    mod = t.__module__ or ""
    if hasattr(t, "__array_function__") or hasattr(t, "__array_ufunc__"):
        return False
    return hasattr(x, "__dict__") and not isinstance(
        x, (type, np.ndarray, np.generic, Items, Fields)) and \
        (not callable(x) or type(_class_attr(t, "__call__")).__name__ == "function") and \
        mod != "builtins" and not mod.startswith(("numpy", "types"))


def _class_attr(t, name):
    """`name` as class `t` or the first of its bases defining it has it (an inherited
    `__call__` too), or None."""
    for klass in t.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    return None


def _fields(x) -> dict:
    """A dict, dataclass or object as a dict of its fields (a derivative as it is)."""
    if isinstance(x, dict):
        return x
    if hasattr(type(x), "__dataclass_fields__"):
        return {f.name: getattr(x, f.name) for f in _dataclass_fields(type(x))}
    return vars(x)


def _rebuild(x, grads: dict):
    """An object like `x` holding `grads`: a dict with x's keys in x's order, a dataclass of
    x's type constructed with the gradient fields, an instance of x's class whose `__dict__`
    is the gradients (its `__init__` not called)."""
    if isinstance(x, dict):
        return grads
    t = type(x)
    if hasattr(t, "__dataclass_fields__"):
        fs = _dataclass_fields(t)
        out = t(**{f.name: grads[f.name] for f in fs if f.init})
        for f in fs:
            if not f.init:
                object.__setattr__(out, f.name, grads[f.name])
        return out
    out = object.__new__(t)
    out.__dict__.update(grads)
    return out


class _Summed:
    """Derivatives of containers add part by part (`add_items`), whichever code adds them:
    `+` never concatenates or merges."""

    def __add__(self, other):
        return add_items(self, other)

    def __radd__(self, other):
        return add_items(other, self)

    def __iadd__(self, other):
        return add_items(self, other)


class Fields(_Summed, dict):
    """The derivative of a dict, a dataclass or an object, one per key or attribute: `+`
    adds key by key, as derivatives add."""

    def __neg__(self):
        """Key by key (the optimizer moves a negation out of a linear helper's argument)."""
        return Fields((k, -v) for k, v in self.items())

    def __rmul__(self, c):
        """Key by key (the optimizer moves a power-of-two factor out of a linear helper)."""
        return Fields((k, c * v) for k, v in self.items())


def attr_of(t, x, name):
    """The tangent of `x.name` in the tangent `t` of x: a field of a dataclass or object
    (a dict of fields), or an item of a NamedTuple (a list of items)."""
    if isinstance(t, dict):
        return t[name]
    if isinstance(t, (list, tuple)) and hasattr(type(x), "_fields"):
        return t[type(x)._fields.index(name)]
    if type(t) is float and t == 0.0:
        return 0.0
    _check_attr(x, name)
    return getattr(t, name)


def unattr(g, x, name):
    """The adjoint of `x.name`: x's zero derivative with `g` at the field `name`."""
    _check_attr(x, name)
    if isinstance(x, tuple):
        return index_add(zeros_like(x), type(x)._fields.index(name), g)
    zero = zeros_like(x)
    zero[name] = add_items(zero[name], g)
    return zero


def _check_attr(x, name):
    """Refuse an attribute srcad cannot differentiate through: one of an array or number,
    or a property (computed by code srcad has not read)."""
    if isinstance(x, tuple) and hasattr(type(x), "_fields") and name in type(x)._fields:
        return
    if _is_mapping(x) and not isinstance(x, dict) and name in _fields(x):
        return
    what = "a property" if isinstance(getattr(type(x), name, None), property) else \
        "no field"
    raise NotImplementedError(f"srcad cannot differentiate through the attribute .{name} "
                                 f"of a {type(x).__name__} ({what}: srcad differentiates the "
                                 "fields of dataclasses, NamedTuples and objects, read "
                                 "directly)")


def make_dict(keys, values):
    """`{k0: v0, k1: v1, ...}`: srcad's form of a dict display."""
    return dict(zip(keys, values))


def undict(g, keys):
    """The adjoint of `make_dict(keys, values)` for `values`: g's items at `keys`, in order."""
    if type(g) is float and g == 0.0:
        return g
    g = _fields(g)
    return Items(g[k] if k in g else 0.0 for k in keys)


def dict_values(d):
    """`d.values()`, as a list."""
    return list(d.values())


def dict_items(d):
    """`d.items()`, as a list of (key, value) pairs."""
    return list(d.items())


def dict_keys(d):
    """`d.keys()`, as a list."""
    return list(d.keys())


def dict_values_of(t, d):
    """`list(t.values())` for a derivative `t` of the dict `d`, in d's order."""
    if type(t) is float and t == 0.0:
        return Items(0.0 for _ in d)
    t = _fields(t)
    return Items(t[k] if k in t else 0.0 for k in d)      # a key left out: a zero derivative


def undict_values(g, d):
    """The adjoint of `list(d.values())`: a dict derivative, item k of `g` at d's k-th key."""
    if type(g) is float and g == 0.0:
        return g
    return Fields(zip(d, g))


def dict_pairs_of(t, d):
    """The tangent of `list(d.items())`: (0.0, t[k]) pairs, in d's order (a key has none)."""
    if type(t) is float and t == 0.0:
        return Items(Items((0.0, 0.0)) for _ in d)
    t = _fields(t)
    return Items(Items((0.0, t[k] if k in t else 0.0)) for k in d)   # left out: zero


def undict_items(g, d):
    """The adjoint of `list(d.items())`: the value part of each pair's adjoint, by key."""
    if type(g) is float and g == 0.0:
        return g
    return Fields((k, 0.0 if type(gk) is float and gk == 0.0 else gk[1]) for k, gk in zip(d, g))


def record_of(cls, keys, values):
    """`cls(k0=v0, k1=v1, ...)`: a NamedTuple or dataclass built in the function; for a
    plain class, an instance whose attributes are `keys` (what its `__init__` assigns,
    computed by srcad's copy of it: `__init__` itself is not called again)."""
    if hasattr(cls, "_fields") or hasattr(cls, "__dataclass_fields__"):
        return cls(**dict(zip(keys, values)))
    out = object.__new__(cls)
    out.__dict__.update(zip(keys, values))
    return out


def record_dot(cls, keys, values):
    """A derivative of `cls(k0=v0, ...)` from its fields' derivatives: a list of items for
    a NamedTuple, a dict of fields for a dataclass."""
    if hasattr(cls, "_fields"):
        return Items(values)
    return Fields(zip(keys, values))


def unrecord(g, cls, keys):
    """The adjoint of `record_of(cls, keys, values)` for `values`: g's fields at `keys`."""
    if type(g) is float and g == 0.0:
        return g
    if isinstance(g, (list, tuple)):
        return Items(g)
    g = _fields(g)
    return Items(g[k] for k in keys)


def set_item(xs, key, v):
    """`xs[key] = v` on a local list or dict, as a new value (srcad's value form); a
    derivative of one keeps its type (Items, Fields)."""
    out = type(xs)(xs) if isinstance(xs, (list, dict)) else Items(xs)
    out[key] = v
    return out


def unset_item(g, xs, key):
    """The adjoint of `set_item(xs, key, v)` for `xs`: g without the item at key (0.0 there),
    restricted to xs's keys (a key the assignment added is not xs's)."""
    if type(g) is float and g == 0.0:
        return g
    if isinstance(xs, dict):
        g = _fields(g)
        return Fields((k, 0.0 if k == key else g[k] if k in g else 0.0) for k in xs)
    out = Items(g)
    out[key] = 0.0
    return out


_F64 = np.dtype(np.float64)
_ADD_REDUCE = np.add.reduce


def unindex(g, x, idx):
    """Adjoint of `x[idx]`: a zero array shaped like `x` with `g` added at `idx` (repeats add up).
    For a list or tuple `x`, a list of per-item adjoints, zeros shaped like the items where
    nothing flows (rules may reshape or index an array item's adjoint)."""
    if type(x) is np.ndarray and x.dtype is _F64 and (
            type(g) is np.ndarray and g.dtype is _F64 or type(g) is float or
            type(g) is np.float64) and (type(idx) is int or type(idx) is slice and
                                        x.size <= 4096):
        out = np.zeros(x.shape, dtype=_F64)          # the most common case, first: an entry
        out[idx] = g                                 # or a slice of a small float array
        return out
    if isinstance(x, (list, tuple)):
        return index_add(Items(0.0 if type(v) is float else zeros_like(v) for v in x), idx, g)
    if isinstance(x, dict):
        return index_add(Fields((k, 0.0 if type(v) is float else zeros_like(v))
                                for k, v in x.items()), idx, g)
    # at least x's own float dtype, so later terms added in place keep their precision
    if type(x) is np.ndarray and x.dtype == np.float64 and (
            type(g) is float or type(g) is np.float64 or
            type(g) is np.ndarray and g.dtype == np.float64):
        dt = np.float64                              # the common case, without result_type
        if type(idx) is int or type(idx) is np.intp or type(idx) is slice and x.size <= 4096:
            out = np.zeros(x.shape, dtype=dt)        # one entry, or a slice of a small array
            out[idx] = g                             # (zeroing it all costs less than _box)
            return out
    else:
        dt = np.result_type(_float_dtype(np.asarray(g)), _float_dtype(x)) if np.ndim(x) \
            else np.float64
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


def index_added(acc, idx, g):
    """`index_add(acc, idx, g)` on a copy of `acc`: how srcad's derivative of its own code
    calls index_add, whose reverse sweep may still read the `acc` it was given."""
    if type(acc) is np.ndarray:
        acc = acc.copy(order="K")
    elif isinstance(acc, (list, dict)):
        acc = acc.copy()
    return index_add(acc, idx, g)


def index_add(acc, idx, g):
    """`acc[idx] += g` in place, adding repeated indices up; returns `acc`."""
    if (type(idx) is int or type(idx) is slice) and type(acc) is np.ndarray:
        acc[idx] += g                                 # the common case: an entry, row or slice
        return acc
    if isinstance(acc, list):                     # the adjoint of a list, item by item
        if isinstance(idx, slice):
            if type(g) is float and g == 0.0:         # a zero adjoint of the slice adds nothing
                return acc
            for k, gk in zip(range(*idx.indices(len(acc))), g):
                acc[k] = add_items(acc[k], gk)
        else:
            acc[idx] = add_items(acc[idx], g)
        return acc
    if isinstance(acc, dict):                     # the adjoint of a dict, key by key
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
    if type(like) is np.ndarray and like.size <= 4096 and (
            type(g) is float or type(g) is np.float64 or np.ndim(g) == 0):
        # a small full array, not a broadcast view: cheaper to make and to compute with (a
        # number goes back over any axes the same way)
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
    if axis is None and not keepdims and type(h) is np.ndarray and h.ndim and (
            type(g) is float or type(g) is np.float64):
        return h.sum()                                # a full reduction's, the common case
    gshape = np.shape(g)
    if np.shape(h) == gshape:
        return h
    axes = _reduced_axes(len(gshape), np.ndim(h), axis, keepdims)
    if axes:
        h = np.sum(h, axis=axes)
    return unbroadcast(h, g)


class Items(_Summed, list):
    """The derivative of a list or tuple value, one per item: `+` (and `+=`) adds item by
    item, as derivatives add, and never concatenates, whichever code adds them."""

    def __neg__(self):
        """Item by item (the optimizer moves a negation out of a linear helper's argument:
        `-unindex(g, ...)` of a tuple's adjoint)."""
        return Items(-v for v in self)

    def __rmul__(self, c):
        """Item by item (the optimizer moves a power-of-two factor out of a linear helper)."""
        return Items(c * v for v in self)


def add_items(a, b):
    """The sum of two adjoints of a list or tuple, item by item (`+` would concatenate), or
    of a dict, dataclass or object, key by key."""
    if type(a) is Fields or type(b) is Fields or isinstance(a, dict) or isinstance(b, dict) \
            or _is_record(a) or _is_record(b):
        if type(a) is float and a == 0.0:
            return b
        if type(b) is float and b == 0.0:
            return a
        a, b = _fields(a), _fields(b)
        out = Fields((k, add_items(a[k], b[k]) if k in b else a[k]) for k in a)
        out.update((k, v) for k, v in b.items() if k not in a)
        return out
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        if not isinstance(a, (list, tuple)) and type(a) is float and a == 0.0:
            return b                                      # a zero adjoint adds nothing
        if not isinstance(b, (list, tuple)) and type(b) is float and b == 0.0:
            return a
        n = len(a) if isinstance(a, (list, tuple)) else len(b)
        return Items(add_items(a[k], b[k]) for k in range(n))
    return a + b


def repeat_items(g, xs):
    """The adjoint of `sum(xs)` for each item of `xs`: `g`, summed back to the item's shape
    (the items broadcast against each other: `sum((0.5, x))`)."""
    return Items([unbroadcast(g, x) if type(x) is not list and type(x) is not tuple else g
                  for x in xs])


def list_append(xs, v):
    """`xs + [v]`: srcad's value form of `xs.append(v)`."""
    return xs + [v]


def unpacked(gs, like):
    """Adjoint of `a, b = like` from its items' adjoints `gs`: where `like` is an array,
    an array of its shape with item k's adjoint in row k (`(a_bar, b_bar) * 2.0` would
    repeat a tuple); where it is a list or tuple, the items' adjoints as they are."""
    if isinstance(like, (list, tuple)) or not hasattr(like, "shape"):
        return Items(gs)                     # a new object: adjoints of items, added so
    out = zeros_like(like)
    for k, g in enumerate(gs):
        if not (type(g) is float and g == 0.0):
            out[k] = out[k] + g
    return out


def unpacked_items(g, like):
    """Transpose of `unpacked`: the items' adjoints of the array `like` from its adjoint
    `g` (its rows), or `g` itself where `like` is a list or tuple."""
    if isinstance(like, (list, tuple)) or not hasattr(like, "shape"):
        return Items(g) if isinstance(g, (list, tuple)) else g
    if type(g) is float:
        return Items(g for _ in range(len(like)))
    return Items(g[k] for k in range(len(like)))


def unpacked_rows(gs, like):
    """`unpacked` where `like` is known to be an array: its rows' adjoints `gs` as an array
    of its shape (and dtype)."""
    out = np.empty_like(like)
    for k, g in enumerate(gs):
        out[k] = g
    return out


__all__ += ["unpacked", "unpacked_items", "unpacked_rows"]


def tuple_of(xs):
    """`(*a, b)`: the tuple of the list srcad builds it as (`list(a) + [b]`)."""
    return tuple(xs)


def seq_concat(xs, ys):
    """`xs + ys` where srcad sees a list or tuple operand: a concatenation of two lists or
    tuples, Python's `+` otherwise (`x + [1.0, 2.0]` of an array adds): its derivatives
    tell the two apart when they run."""
    return xs + ys


def _both_seqs(xs, ys) -> bool:
    return isinstance(xs, (list, tuple)) and isinstance(ys, (list, tuple))


def concat_place(t, xs, ys, which):
    """The tangent of `seq_concat(xs, ys)` from the tangent `t` of one operand (`which`: 0
    for xs, 1 for ys): t's items at that operand's positions, zeros at the other's; for
    an addition, t broadcast to the sum's shape."""
    if not _both_seqs(xs, ys):
        shape = np.broadcast_shapes(np.shape(xs), np.shape(ys))
        return t if np.shape(t) == shape else np.broadcast_to(t, shape)
    n = len(xs)
    out = list(zeros_like(xs)) + list(zeros_like(ys))
    if not (type(t) is float and t == 0.0):
        lo = 0 if which == 0 else n
        for k in range(n if which == 0 else len(ys)):
            out[lo + k] = t[k]
    return Items(out)


def concat_tangent(t, u, xs, ys):
    """The tangent of `seq_concat(xs, ys)` from the tangents `t` of xs and `u` of ys: their
    items one after the other (linear in the length, where placing each in zeros is not);
    for an addition, their sum broadcast to its shape."""
    if not _both_seqs(xs, ys):
        return add_items(concat_place(t, xs, ys, 0), concat_place(u, xs, ys, 1))
    if type(t) is float and t == 0.0:
        t = zeros_like(xs)
    if type(u) is float and u == 0.0:
        u = zeros_like(ys)
    return Items([*t, *u])


def concat_part(g, xs, ys, which):
    """The adjoint of one operand of `seq_concat(xs, ys)` (`which`: 0 for xs, 1 for ys):
    its part of g; for an addition, g summed back to that operand's shape."""
    if not _both_seqs(xs, ys):
        return unbroadcast(g, xs if which == 0 else ys)
    if type(g) is float and g == 0.0:
        return g
    n = len(xs)
    return Items(g[:n] if which == 0 else g[n:n + len(ys)])


def seq_repeat(xs, n):
    """`xs * n` where srcad sees a list or tuple operand: its items n times over for an int
    n, Python's `*` otherwise (`[1.0, 2.0] * x` of an array multiplies)."""
    return xs * n


def _repeats(xs, n) -> bool:
    return isinstance(xs, (list, tuple)) and isinstance(n, (int, np.integer))


def repeat_seq_tangent(t, xs, n):
    """The tangent of `seq_repeat(xs, n)` from xs's tangent: its items n times over (for a
    product, t * n)."""
    if not _repeats(xs, n):
        return t * n
    if type(t) is float and t == 0.0:
        return t
    return Items(list(t) * max(int(n), 0))


def unrepeat_seq(g, xs, n):
    """The adjoint of `seq_repeat(xs, n)` for xs: the adjoints of each item's n copies,
    added (for a product, g * n summed back to xs's shape)."""
    if not _repeats(xs, n):
        return unbroadcast(g * n, xs)
    if type(g) is float and g == 0.0:
        return g
    m = len(xs)
    out = zeros_like(xs)
    for k in range(m * max(int(n), 0)):
        out[k % m] = add_items(out[k % m], g[k])
    return Items(out)


def partial_arg(p, key):
    """What functools.partial `p` binds: its positional argument `key` (an int) or its
    keyword `key` (a str), read when the derivative runs (a constant: no derivative)."""
    return p.args[key] if type(key) is int else p.keywords[key]


__all__ += ["partial_arg"]


def require_len(xs, n, what):
    """`xs`, which a call spreads (`f(*xs)`) into `n` parameters: Python raises TypeError
    when it has another length, so does srcad's form of the call."""
    if len(xs) != n:
        raise TypeError(f"{what} takes {n} positional arguments from *, but {len(xs)} were given")
    return xs


def held_as(xs, kind, where):
    """`xs`, a list, tuple or dict of objects a global, a closure variable or a bound
    method's self holds, after `kind` (what srcad found it holds when it built the
    derivative) checks it still holds objects of those classes: the derivative calls their
    methods as it found them, so a list grown, shrunk or given an item of another class
    while it runs (`layers.append(...)` in the function or a helper) raises instead of
    calling the wrong ones."""
    kind.check(xs, where)
    return xs


__all__ += ["held_as"]


class Stack(list):
    """A list used as a stack by reverse-mode loops (append to push, pop to pop)."""


def _matmul_t(a):
    return a if np.ndim(a) < 2 else np.swapaxes(a, -1, -2)


def _matmul_sum(a, b, like):
    """`unbroadcast(a @ b, like)` for a and b of 2 or more dimensions, without the product
    over the batch axes `like` lacks (x @ y of x (32, 1, 32, 48) and y (48, 48, 32): x's
    adjoint g @ y.T would be 48 times x's size before its sum): one tensordot contracting
    those axes too, where no batch axis `like` keeps is both a's and b's (else the product
    is made and summed)."""
    shape = np.shape(like)
    nb = max(a.ndim, b.ndim) - 2
    if len(shape) < 2 or nb == 0:
        return unbroadcast(a @ b, like)
    a = np.reshape(a, (1,) * (nb + 2 - a.ndim) + a.shape)
    b = np.reshape(b, (1,) * (nb + 2 - b.ndim) + b.shape)
    lb = (1,) * (nb + 2 - len(shape)) + tuple(shape[:-2])
    keep = [n != 1 and max(p, q) != 1 for n, p, q in zip(lb, a.shape, b.shape)]
    if all(k or max(p, q) == 1 for k, p, q in zip(keep, a.shape, b.shape)) or \
            any(k and p != 1 and q != 1 for k, p, q in zip(keep, a.shape, b.shape)):
        return unbroadcast(a @ b, like)
    # axes summed away that only one operand has: sum them first (that operand shrinks)
    only_a = tuple(d for d in range(nb) if not keep[d] and a.shape[d] != 1 and b.shape[d] == 1)
    only_b = tuple(d for d in range(nb) if not keep[d] and b.shape[d] != 1 and a.shape[d] == 1)
    if only_a:
        a = np.sum(a, axis=only_a, keepdims=True)
    if only_b:
        b = np.sum(b, axis=only_b, keepdims=True)
    both = [d for d in range(nb) if not keep[d] and a.shape[d] != 1]
    free_a = [d for d in range(nb) if keep[d] and a.shape[d] != 1]
    free_b = [d for d in range(nb) if keep[d] and b.shape[d] != 1]
    ones_a = [d for d in range(nb) if a.shape[d] == 1]
    ones_b = [d for d in range(nb) if b.shape[d] == 1]
    a2 = np.squeeze(a, tuple(ones_a)) if ones_a else a
    b2 = np.squeeze(b, tuple(ones_b)) if ones_b else b
    pos_a = {d: k for k, d in enumerate(d for d in range(nb) if d not in ones_a)}
    pos_b = {d: k for k, d in enumerate(d for d in range(nb) if d not in ones_b)}
    na, nbb = a2.ndim, b2.ndim
    out = np.tensordot(a2, b2, axes=([pos_a[d] for d in both] + [na - 1],
                                     [pos_b[d] for d in both] + [nbb - 2]))
    # out's axes: free_a, i, free_b, k; wanted: the kept batch axes in order, i, k
    names = free_a + ["i"] + free_b + ["k"]
    want = sorted(free_a + free_b) + ["i", "k"]
    out = np.transpose(out, [names.index(w) for w in want])
    return np.reshape(out, shape)


def matmul_vjp_x(g, x, y):
    """Adjoint of `x @ y` (and of `np.dot` for up to 2-d operands) with respect to `x`."""
    if type(g) is float and g == 0.0:          # the zero adjoint of any shape
        return zeros_like(x)
    if type(y) is np.ndarray and type(x) is np.ndarray:
        if x.ndim == 2 == y.ndim:
            return g @ y.T                        # matrices: no broadcasting to undo
        if type(g) is np.ndarray and x.ndim + y.ndim == 3:
            return y @ g if x.ndim == 1 else g[:, None] * y     # vector and matrix
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        return unbroadcast(g * y, x)
    if np.ndim(y) == 1:
        return g * y if np.ndim(x) == 1 else unbroadcast(np.expand_dims(g, -1) * y, x)
    if np.ndim(x) == 1:
        return unbroadcast(np.squeeze(y @ np.expand_dims(g, -1), -1), x)
    if type(g) is np.ndarray and type(y) is np.ndarray and type(x) is np.ndarray:
        return _matmul_sum(g, _matmul_t(y), x)
    return unbroadcast(g @ _matmul_t(y), x)


def matmul_vjp_y(g, x, y):
    """Adjoint of `x @ y` (and `np.dot` for up to 2-d operands) with respect to `y`."""
    if type(g) is float and g == 0.0:          # the zero adjoint of any shape
        return zeros_like(y)
    if type(y) is np.ndarray and type(x) is np.ndarray:
        if x.ndim == 2 == y.ndim:
            return x.T @ g
        if type(g) is np.ndarray and x.ndim + y.ndim == 3:
            return x[:, None] * g if y.ndim == 2 else g @ x     # vector and matrix
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
    if type(g) is np.ndarray and type(y) is np.ndarray and type(x) is np.ndarray:
        return _matmul_sum(_matmul_t(x), g, y)
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


def _axes_of(axis) -> tuple:
    """A reduction's `axis` argument as a tuple of axes."""
    return (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)


def max_weight(x, out, axis=None, keepdims=False):
    """Which entries of `x` attain the reduction `out`, ties sharing the derivative equally."""
    if axis is None and type(x) is np.ndarray:
        # a full reduction: one comparison, a count and one conversion (a scaling if tied)
        hit = x == out
        n = np.count_nonzero(hit)
        if n == 1:                                    # no tie: the weights are the hits
            return hit.astype(_weight_dtype(x, x))
        return np.multiply(hit, np.true_divide(1.0, n), dtype=_weight_dtype(x, x))
    if type(x) is np.ndarray and type(out) is np.ndarray and out.ndim == (
            x.ndim if keepdims else x.ndim - len(_axes_of(axis))):
        # out broadcasts against x once its reduced axes are back (no broadcast view made)
        hit = x == (out if keepdims else np.expand_dims(out, axis))
    else:
        hit = x == unreduce(out, x, axis, keepdims)
    if type(hit) is np.ndarray and hit.ndim and type(out) is np.ndarray:
        # no tie anywhere (the hits themselves) when there are as many hits as reduced values,
        # each attained at least once (no nan): a count along an axis would cost 5x more
        if np.count_nonzero(hit) == out.size and not (out.dtype.kind in "fc" and
                                                      np.isnan(out).any()):
            return hit.astype(_weight_dtype(x, x))
    w = hit / unreduce(np.sum(hit, axis=axis, keepdims=keepdims), x, axis, keepdims)
    return w.astype(_weight_dtype(x, x), copy=False) if type(w) is np.ndarray else w


def max_vjp(g, x, m, axis=None, keepdims=False):
    """Adjoint of a max or min reduction `m` of `x`: `unreduce(g, ...) * max_weight(...)`;
    for a full reduction without a tie (the common case) zeros with g at the one entry
    that attains it, without weights of x's size and their product (lse at n=640000:
    0.07 ms against 0.25 ms; NumPy's product of booleans and a number, cast as it goes,
    costs more than the two passes)."""
    if axis is None and type(x) is np.ndarray and x.dtype is _F64 and (
            type(g) is float or type(g) is np.float64):
        hit = x == m
        if np.count_nonzero(hit) == 1:
            w = np.zeros(x.shape)
            w.flat[int(np.argmax(hit))] = g
            return w
    if type(axis) is int and not keepdims and type(x) is np.ndarray and x.dtype is _F64 and \
            type(m) is np.ndarray and m.ndim == x.ndim - 1 and (
                type(g) is float or type(g) is np.float64 or type(g) is np.ndarray and
                g.dtype is _F64 and g.shape == m.shape):
        # along one axis without a tie (as many hits as reduced values, no nan): the hits
        # as weights scaled in place by g, not g broadcast to x's shape and a product
        # (kmeans' min over the centroids, k=10, n=1000: 20 us against 33 us)
        hit = x == np.expand_dims(m, axis)
        if np.count_nonzero(hit) == m.size:
            total = _ADD_REDUCE(m, axis=None)         # nan where m holds one (or inf - inf:
            if total == total:                        # the slow path then)
                w = hit.astype(_F64)
                w *= np.expand_dims(g, axis) if type(g) is np.ndarray else g
                return w
    if type(axis) is int and keepdims and type(x) is np.ndarray and x.dtype is _F64 and \
            type(m) is np.ndarray and m.ndim == x.ndim and m.shape[axis] == 1 and \
            m.size * x.shape[axis] == x.size and (
                type(g) is float or type(g) is np.float64 or type(g) is np.ndarray and
                g.dtype is _F64 and g.shape == m.shape):
        # the same with keepdims (logsumexp's `np.max(a, axis=1, keepdims=True)`): m
        # broadcasts against x as it is (gmm's alpha, 5 entries: 41 us through the weights)
        hit = x == m
        if np.count_nonzero(hit) == m.size:
            total = _ADD_REDUCE(m, axis=None)         # as above: no nan in m
            if total == total:
                w = hit.astype(_F64)
                w *= g
                return w
    return unreduce(g, x, axis, keepdims) * max_weight(x, m, axis, keepdims)


__all__ += ["max_vjp"]


def unreshape(g, like, order="C"):
    """`g` reshaped to `like`'s shape: the adjoint of a reshape of `like`. A 0-d `g` where
    `like` has several items is the 0.0 that stands for a zero of any shape (broadcast); a
    `g` with several items where `like` has one is summed (the adjoint of that broadcast)."""
    if type(g) is np.ndarray:                         # the common cases, without np.shape
        if type(like) is np.ndarray:
            if g.size == like.size:
                return g.reshape(like.shape, order=order)
        elif type(like) is list and g.ndim == 1 and g.shape[0] == len(like) and \
                all(type(v) is float or type(v) is int or type(v) is np.float64 for v in like):
            return g.reshape(g.shape, order=order)    # a list of numbers (np.array([a, b]))
    elif (type(g) is float or type(g) is np.float64) and type(like) is np.ndarray and \
            like.size == 1:
        return np.full(like.shape, g)                 # a number back into a 1-item array
    shape = np.shape(like)
    size = math.prod(shape)
    if np.size(g) == size:
        return np.reshape(g, shape, order=order)
    if np.ndim(g) == 0:
        return np.broadcast_to(g, shape)
    return np.reshape(np.sum(g), shape)


def transposed(x, axes=None):
    """`np.transpose(x, axes)`, keeping a number a number (`.T` of a NumPy scalar is itself;
    its tangent or adjoint may be a Python float, which has no `.T`)."""
    return x if np.ndim(x) == 0 else np.transpose(x, axes)


def untranspose(g, axes=None):
    """Adjoint of `np.transpose(x, axes)` (axes may be negative)."""
    if np.ndim(g) == 0:
        return g
    if axes is None:
        return np.transpose(g)
    return np.transpose(g, np.argsort([a % np.ndim(g) for a in axes]))


# ---------------------------------------------------------------- helpers of the rule tables
# (elementwise, reductions, linalg, shapes, methods, constants): each undoes or weights one
# NumPy operation; derivatives keep the floating dtype of the values they come from.

def _weight_dtype(*xs):
    """The floating dtype a weight of `xs` takes: float32 stays float32, ints become float64."""
    if all(type(x) is np.ndarray and x.dtype is _F64 for x in xs):
        return _F64                                   # the common case, without result_type
    # a list or tuple (np.sort([a, b])) has its array's dtype (result_type reads it as a
    # structured dtype's fields)
    dt = np.result_type(*(np.asarray(x) if type(x) in (list, tuple) else x for x in xs), 1.0)
    return dt if np.issubdtype(dt, np.inexact) else np.float64


def pow_log(x):
    """log(x), and 0 where x == 0: d(x ** y)/dy = x ** y * pow_log(x) (at x = 0 the power
    does not vary with y > 0). A Python number gives a Python float, so float32 stays float32."""
    if type(x) is float or type(x) is int:
        return float(np.log(x)) if x > 0 else 0.0 if x == 0 else math.nan
    with np.errstate(invalid="ignore"):      # nan at a negative base, as the slope is
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


def spread_inv_count(x, out, ddof=0):
    """inv_count(x, out, ddof) as var's and std's divisor, which differentiate real x only
    (a complex x's spread is of |x - mean|: its derivative needs conjugates)."""
    if np.iscomplexobj(x):
        raise NotImplementedError("srcad differentiates np.var and np.std of real values "
                                  "only; this one is complex")
    return inv_count(x, out, ddof)


def times_or_zero(t, w):
    """t * w, and 0 where t == 0: the exponent's term y_dot * x ** y * log(x) of a power
    whose exponent does not vary (a helper's constant k, given a zero tangent at second
    order) is 0, not 0 * nan at a negative base."""
    if np.ndim(t) == 0 and np.ndim(w) == 0:
        return t * w if t != 0 else 0.0 * t
    with np.errstate(invalid="ignore"):
        return np.where(t == 0, 0.0, t * w)


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
    dt = _weight_dtype(x)
    left = np.empty(flat.shape, dtype=dt)      # the products before each entry, and after
    left[..., :1] = 1.0
    np.cumprod(flat[..., :-1], axis=-1, dtype=dt, out=left[..., 1:])
    right = np.empty(flat.shape, dtype=dt)
    right[..., -1:] = 1.0
    np.cumprod(flat[..., :0:-1], axis=-1, dtype=dt, out=right[..., -2::-1])
    left *= right
    return np.transpose(left.reshape(moved.shape), np.argsort(rest + list(axes)))


def _prod_divides(x, p) -> bool:
    """Whether the products of the other entries of x are `p / x` (p = np.prod(x, ...)),
    exactly enough: a float array without zeros whose products neither overflowed nor
    underflowed to 0."""
    return type(x) is np.ndarray and x.dtype.kind == "f" and bool(np.all(x)) and \
        bool(np.all(np.isfinite(p))) and bool(np.all(p))


def prod_vjp(g, x, p, axis=None, keepdims=False):
    """Adjoint of `p = np.prod(x, axis, keepdims=keepdims)`: g times the product of the
    other entries, as (g p) / x in one pass where x has no zero (and the product is
    finite and nonzero), else by `prod_others` (exact at zeros)."""
    if _prod_divides(x, p):
        return unreduce(g * p, x, axis, keepdims) / x
    spread, others = unreduce(g, x, axis, keepdims), prod_others(x, axis)
    if np.result_type(spread, others) != others.dtype:
        return spread * others
    others *= spread                        # prod_others' result is this adjoint's own
    return others


def prod_jvp(t, x, p, axis=None, keepdims=False, where=True):
    """Tangent of `p = np.prod(x, axis, keepdims=keepdims)` along `t`: p sum(t / x)
    where x has no zero, else the sum of t times the other entries' products. `where`:
    only the entries it selects are counted (np.prod(..., where=) with x 1 at the others),
    so t need not be masked: the sums skip the others (no masked copy of t)."""
    if _prod_divides(x, p):
        return p * np.sum(t / x, axis=axis, keepdims=keepdims, where=where)
    return np.sum(t * prod_others(x, axis), axis=axis, keepdims=keepdims, where=where)


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


def _zero_float(v) -> bool:
    return type(v) is float and v == 0.0


def tensordot_jvp(tx, ty, x, y, axes=2):
    """Tangent of `np.tensordot(x, y, axes)` along x's tangent `tx` and y's `ty` (either
    0.0: inactive). With both, one tensordot of [tx, x] and [y, ty] joined along a
    contracted axis: the sum of both products, with no second array of the product's size
    (np_tensordot_pairs' tangent made two and their sum: 2.85x its inputs and output)."""
    zx, zy = _zero_float(tx), _zero_float(ty)
    if zx and zy:
        nx, ny = np.ndim(x), np.ndim(y)
        ax, ay = _tensordot_axes(nx, ny, axes)
        shape = tuple(n for i, n in enumerate(np.shape(x)) if i not in ax) + \
            tuple(n for i, n in enumerate(np.shape(y)) if i not in ay)
        return np.zeros(shape, dtype=np.result_type(x, y, 1.0))
    if zx:
        return np.tensordot(x, ty, axes)
    if zy:
        return np.tensordot(tx, y, axes)
    ax, ay = _tensordot_axes(np.ndim(x), np.ndim(y), axes)
    if not ax or np.shape(tx) != np.shape(x) or np.shape(ty) != np.shape(y):
        return np.tensordot(tx, y, axes) + np.tensordot(x, ty, axes)
    return np.tensordot(np.concatenate([tx, x], axis=ax[0]),
                        np.concatenate([y, ty], axis=ay[0]), axes=(ax, ay))


def tensordot_vjp_x(g, x, y, axes=2):
    """Adjoint of `np.tensordot(x, y, axes)` with respect to `x` (y 0.0: zero)."""
    if type(g) is float and g == 0.0 or _zero_float(y):      # the zero adjoint of any shape
        return zeros_like(x)
    nx, ny = np.ndim(x), np.ndim(y)
    ax, ay = _tensordot_axes(nx, ny, axes)
    free_x = [i for i in range(nx) if i not in ax]
    free_y = [i for i in range(ny) if i not in ay]
    r = np.tensordot(g, y, axes=(list(range(len(free_x), len(free_x) + len(free_y))), free_y))
    order = free_x + [ax[ay.index(j)] for j in sorted(ay)]
    return np.transpose(r, np.argsort(order))


def tensordot_vjp_y(g, x, y, axes=2):
    """Adjoint of `np.tensordot(x, y, axes)` with respect to `y` (x 0.0: zero)."""
    if type(g) is float and g == 0.0 or _zero_float(x):      # the zero adjoint of any shape
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


def _einsum_operand(args, j) -> bool:
    """Whether argument position `j` of np.einsum(*args) holds an operand, not subscripts
    (a sublist can reach a derivative as a zero tangent: an item of an active tuple of
    saved values; its derivative is zero)."""
    return j in _einsum_split(args)[2]


def einsum_jvp(k, t, *args):
    """Tangent of `np.einsum(*args)` along `t`, the tangent of the argument at position `k`:
    einsum is linear in each operand, so that operand is replaced by `t`."""
    spec, ops, index = _einsum_split(args)
    i = index[k]
    ops[i] = np.broadcast_to(t, np.shape(ops[i]))
    return np.einsum(spec, *ops, optimize=len(ops) > 2)


def einsum_jvp_pair(k, t, j, s, *args):
    """`einsum_jvp(k, t, *args)` with the argument at position `j` replaced by `s` as well:
    its derivative along `s` (zero when j is k, whose value the tangent does not read)."""
    if not _einsum_operand(args, j):
        return np.zeros_like(einsum_jvp(k, t, *args), dtype=_weight_dtype(t))
    if j == k:
        return np.zeros_like(einsum_jvp(k, t, *args), dtype=_weight_dtype(t, s))
    args = list(args)
    args[j] = s
    return einsum_jvp(k, t, *args)


def einsum_vjp_pair(k, g, j, s, *args):
    """`einsum_vjp(k, g, *args)` with the argument at position `j` replaced by `s`: its
    derivative along `s` (zero when j is k, of which the adjoint reads only the shape)."""
    if not (_einsum_operand(args, j) and _einsum_operand(args, k)):
        return np.zeros(np.shape(args[k]), dtype=_weight_dtype(g))
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
    # (contracted pairwise for three operands or more, as the primal's optimize=True
    # does: one einsum over all letters at once costs their product)
    r = np.einsum(spec, g, *[o for _, o in others], optimize=len(others) > 1)
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
    require_real(x, "np.linalg.norm")
    nd = np.ndim(x)
    matrix = (axis is None and nd == 2 and ord is not None) or \
        (axis is not None and not isinstance(axis, (int, np.integer)) and len(axis) == 2)
    if matrix and ord in ("nuc", 2, -2):
        return _spectral_norm_weight(x, ord, axis)
    if matrix and ord not in (None, "fro"):
        raise NotImplementedError(f"srcad differentiates np.linalg.norm of matrices for "
                                  f"ord=None, 'fro', 'nuc', 2 or -2 only, not ord={ord!r}")
    if isinstance(ord, str) and ord != "fro":
        raise NotImplementedError(f"srcad does not differentiate np.linalg.norm(ord={ord!r})")
    scale = _norm_scale(x, n, axis, keepdims)
    p = _norm_power(ord)
    if p == 2:
        return x / scale
    if p == 1:                                   # sign(x), in x's float dtype
        return np.sign(x).astype(_weight_dtype(x, scale), copy=False)
    if p is not None:                            # in place: two arrays of x's size at most
        w = np.abs(x) / scale
        w **= p - 1
        w *= np.sign(x)
        return w
    if ord == 0:                                 # the count of nonzeros: piecewise constant
        return np.zeros(np.shape(x), dtype=_weight_dtype(x))
    w = np.abs(x).astype(_weight_dtype(x), copy=False)
    hit = w == scale                             # +-inf: the largest (smallest) |x| takes it
    count = _norm_scale(x, np.sum(hit, axis=axis, keepdims=keepdims), axis, keepdims)
    np.sign(x, out=w)                            # in place: one array of x's size
    w *= hit
    w /= count
    return w


def _spectral_norm_weight(x, ord, axis):
    """The derivative of a matrix norm of the singular values, ord 'nuc' (their sum), 2
    (the largest) or -2 (the smallest), as u diag(w) vh: w is 1 for each singular value the
    norm sums, split equally among tied largest (smallest) ones, and 0 for zero singular
    values (as abs'(0) = 0)."""
    axes, xm, (u, s, vh), w = _spectral_parts(x, ord, axis)
    return np.moveaxis((u * np.expand_dims(w, -2)) @ vh, (-2, -1), axes)


def _spectral_parts(x, ord, axis):
    """The matrix axes of a spectral norm, x with them last, its reduced svd and the
    weights w (piecewise constant in x) of `_spectral_norm_weight`."""
    axes = (-2, -1) if axis is None else tuple(axis)
    xm = np.moveaxis(x, axes, (-2, -1))
    u, s, vh = np.linalg.svd(xm, full_matrices=False)
    if ord == "nuc":
        w = (s > 0).astype(_weight_dtype(x))
    else:
        pick = np.max(s, axis=-1, keepdims=True) if ord == 2 else \
            np.min(s, axis=-1, keepdims=True)
        hit = (s == pick) & (s > 0)
        w = (hit / np.maximum(np.sum(hit, axis=-1, keepdims=True), 1)).astype(_weight_dtype(x))
    return axes, xm, (u, s, vh), w


def _spectral(x, ord, axis) -> bool:
    """Whether norm(x, ord, axis) is a matrix norm of x's singular values."""
    nd = np.ndim(x)
    matrix = (axis is None and nd == 2) or \
        (axis is not None and not isinstance(axis, (int, np.integer)) and len(axis) == 2)
    return matrix and ord in ("nuc", 2, -2)


def norm_weight_jvp(t, x, n, ord=None, axis=None, keepdims=False):
    """The tangent of norm_weight(x, n, ...) along x's tangent `t`: entry by entry for
    vector norms; for a spectral norm, of u diag(w) vh through the svd's tangent (w is
    piecewise constant)."""
    if not _spectral(x, ord, axis):
        return t * norm_weight_dx(x, n, ord, axis, keepdims)
    axes, xm, out, w = _spectral_parts(x, ord, axis)
    u, s, vh = out
    du, ds, dvh = svd_jvp(np.moveaxis(t, axes, (-2, -1)), xm, out, False)
    w = np.expand_dims(w, -2)
    return np.moveaxis((du * w) @ vh + (u * w) @ dvh, (-2, -1), axes)


def norm_weight_vjp(g, x, n, ord=None, axis=None, keepdims=False):
    """The adjoint of norm_weight(x, n, ...) for x (see `norm_weight_jvp`): for a spectral
    norm, u's and vh's adjoints of u diag(w) vh through the svd's adjoint."""
    if not _spectral(x, ord, axis):
        return g * norm_weight_dx(x, n, ord, axis, keepdims)
    axes, xm, out, w = _spectral_parts(x, ord, axis)
    u, s, vh = out
    gm = np.moveaxis(g, axes, (-2, -1))
    gu = (gm @ np.swapaxes(vh, -1, -2)) * np.expand_dims(w, -2)
    gvh = np.expand_dims(w, -1) * (np.swapaxes(u, -1, -2) @ gm)
    return np.moveaxis(svd_vjp((gu, np.zeros_like(s), gvh), xm, out, False), (-2, -1), axes)


def norm_weight_dx(x, n, ord=None, axis=None, keepdims=False):
    """d norm_weight(x, n, ...)/dx, entry by entry (entry i's weight reads x[i] and n): of
    a vector norm (a spectral norm's weight reads every entry: see `norm_weight_jvp`)."""
    p = _norm_power(ord)
    if p is None:
        return np.zeros(np.shape(x), dtype=_weight_dtype(x))
    scale = _norm_scale(x, n, axis, keepdims)
    return (p - 1) * (np.abs(x) / scale) ** (p - 2) / scale


def norm_weight_dn(x, n, ord=None, axis=None, keepdims=False):
    """d norm_weight(x, n, ...)/dn, broadcast to x's shape (0 for a spectral norm, whose
    weight u diag(w) vh reads no n)."""
    p = _norm_power(ord)
    if p is None or _spectral(x, ord, axis):
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
    if axis == 0 and type(g) is np.ndarray and g.ndim:
        out, start = Items(), 0                  # the common case: pieces along the first axis
        for x in xs:
            stop = start + (x.shape[0] if type(x) is np.ndarray else np.shape(x)[0])
            out.append(g[start:stop])
            start = stop
        return out
    # slices of g (views, as np.split gives, without its per-piece Python overhead)
    g = np.asarray(g)
    axis = axis % g.ndim
    lead = (slice(None),) * axis
    out, start = [], 0
    for x in xs:
        stop = start + np.shape(x)[axis]
        out.append(g[lead + (slice(start, stop),)])
        start = stop
    return Items(out)


def rejoin(bars, like, axis=0):
    """Adjoint of `unconcatenate(like, xs, axis)`: the pieces' adjoints joined back into
    `like`'s shape."""
    if axis is None:
        return np.reshape(np.concatenate([np.ravel(b) for b in bars]), np.shape(like))
    return np.concatenate(list(bars), axis)


def unstack(g, axis=0):
    """Adjoint of `np.stack(xs, axis)`: the slices of `g` along `axis`."""
    if axis == 0 and type(g) is np.ndarray:
        return Items(g)                           # its rows, without moveaxis' overhead
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


def in_dtype_of(w, a=None, b=None, c=None, d=None, e=None):
    """`w` in the floating dtype of `a` ... `e` (None left out; float32 stays float32, ints
    become float64, as for weights): the derivative of a function that computes in float64
    whatever its inputs' dtype (np.interp, scipy.stats' distributions) keeps its inputs'
    precision, as every other rule's does. `w` itself where it has that dtype already."""
    like = [v for v in (a, b, c, d, e) if v is not None]
    dt = _weight_dtype(*like)
    if type(w) is np.ndarray:
        return w if w.dtype is dt or w.dtype == dt else w.astype(dt)
    if _foreign(w):
        return w if w.dtype == dt else w.astype(dt)
    if type(w) is float and dt == _F64 or isinstance(w, np.generic) and w.dtype == dt:
        return w
    return np.asarray(w, dtype=dt)[()] if isinstance(w, (np.generic, float)) else \
        np.asarray(w, dtype=dt)


def cast_adjoint(g, like):
    """The adjoint through a cast to `like`'s dtype: `g`, or zero when `like` is not floating
    (integers and booleans carry no derivative)."""
    if type(like) is float or type(like) is np.ndarray and like.dtype.kind in "fc":
        return g                                      # the common case, without result_type
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


__all__ += ["pow_log", "times_or_zero", "inv_count", "spread_inv_count", "recip_or_zero", "fmax_weight", "clip_weight", "prod_others",
            "prod_others_jvp", "prod_vjp", "prod_jvp", "uncumsum",
            "cumprod_jvp", "cumprod_vjp", "cumprod_vjp_jvp", "cumprod_vjp_vjp", "inner_vjp_x",
            "inner_vjp_y", "tensordot_vjp_x", "tensordot_vjp_y", "tensordot_jvp", "einsum_jvp", "einsum_jvp_pair",
            "einsum_vjp_pair", "einsum_vjp", "undiagonal", "undiag", "norm_weight",
            "norm_weight_dx", "norm_weight_dn", "norm_weight_jvp", "norm_weight_vjp",
            "solve_jvp_a", "solve_vjp_b", "solve_vjp_a",
            "unconcatenate", "rejoin", "unstack", "unhstack", "unvstack", "unsplit", "untile",
            "unrepeat", "star_args", "cast_tangent", "cast_adjoint", "in_dtype_of", "linspace_weight"]


# ------------------------------------------------------------ np.linalg decompositions
# Written in the NumPy srcad differentiates (no comprehensions, masks from np.tri instead
# of np.tril), so second derivatives are built by reading this source. `g` is an output's
# adjoint, `t` an input's tangent; a decomposition's adjoint `g` is a tuple with one
# adjoint per output, an unused output's a zero array.
def _symmetric_from(t, upper):
    """The symmetric matrix a routine reading only one triangle of `t` sees (np.tril and
    np.triu, not products with n x n masks)."""
    if upper:
        return np.triu(t) + np.swapaxes(np.triu(t, 1), -1, -2)
    return np.tril(t) + np.swapaxes(np.tril(t, -1), -1, -2)


def _on_triangle(g, upper):
    """The adjoint of `_symmetric_from(., upper)`: `g + g^T` on the strict triangle read,
    `g`'s diagonal, zero on the other triangle."""
    if upper:
        return np.triu(g + np.swapaxes(np.tril(g, -1), -1, -2))
    return np.tril(g + np.swapaxes(np.triu(g, 1), -1, -2))


def _nonzero(g) -> bool:
    """Whether the adjoint `g` has a nonzero entry (an unused output's adjoint is zero)."""
    if np.size(g) == 0:
        return False
    return np.max(np.abs(g)) > 0.0


def _gaps(w):
    """F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it: inf where eigenvalues repeat."""
    eye = np.eye(np.shape(w)[-1], dtype=w.dtype)
    return 1.0 / (np.expand_dims(w, -2) - np.expand_dims(w, -1) + eye) - eye


def _diag_part(c):
    """The diagonal of each matrix of a stack, as a new array."""
    return np.diagonal(c, 0, -2, -1) * 1.0


def eigh_jvp(t, out, UPLO="L"):
    """The tangent of `(w, v) = np.linalg.eigh(a, UPLO)` along `t`, a's tangent."""
    w, v = out
    require_real(v, "np.linalg.eigh")
    c = np.swapaxes(v, -1, -2) @ _symmetric_from(t, UPLO != "L") @ v
    return _diag_part(c), v @ (_gaps(w) * c)


def eigh_vjp(g, out, UPLO="L"):
    """The adjoint of `np.linalg.eigh(a, UPLO)` with respect to the triangle of `a` it
    reads: v (diag(w_bar) + F * (v^T v_bar)) v^T, the F term skipped when v_bar is zero."""
    w, v = out
    require_real(v, "np.linalg.eigh")
    gw, gv = g
    vt = np.swapaxes(v, -1, -2)
    left = np.expand_dims(gw, -2) * v                 # v diag(w_bar)
    if _nonzero(gv):
        left = left + v @ (_gaps(w) * (vt @ gv))
    return _on_triangle(left @ vt, UPLO != "L")


def eigvalsh_jvp(t, a, UPLO="L"):
    """The tangent of `np.linalg.eigvalsh(a, UPLO)`: the diagonal of v^T t v."""
    require_real(a, "np.linalg.eigvalsh")
    v = np.linalg.eigh(a, UPLO)[1]
    return np.sum(v * (_symmetric_from(t, UPLO != "L") @ v), axis=-2)


def eigvalsh_vjp(g, a, UPLO="L"):
    """The adjoint of `np.linalg.eigvalsh(a, UPLO)`: v diag(g) v^T on the triangle read (v
    freed before the triangle is taken)."""
    require_real(a, "np.linalg.eigvalsh")
    return _on_triangle(_weighted_gram(np.linalg.eigh(a, UPLO)[1], g), UPLO != "L")


def _weighted_gram(v, g):
    """v diag(g) v^T."""
    return np.expand_dims(g, -2) * v @ np.swapaxes(v, -1, -2)


def _phi(x):
    """The lower triangle of `x` with half its diagonal."""
    return 0.5 * (np.tril(x) + np.tril(x, -1))


def cholesky_jvp(t, out, upper=False):
    """The tangent of `np.linalg.cholesky(a, upper=upper)` along `t` (its read triangle):
    dl = l phi(l^-1 t l^-T)."""
    require_real(out, "np.linalg.cholesky")
    l = np.swapaxes(out, -1, -2) if upper else out
    s = np.linalg.solve(l, np.swapaxes(np.linalg.solve(l, _symmetric_from(t, upper)), -1, -2))
    dl = l @ _phi(s)
    return np.swapaxes(dl, -1, -2) if upper else dl


def cholesky_vjp(g, out, upper=False):
    """The adjoint of `np.linalg.cholesky(a, upper=upper)` on the triangle of `a` it reads
    (Murray 2016): l^-T phi(l^T l_bar) l^-1, l_bar the adjoint's lower triangle."""
    require_real(out, "np.linalg.cholesky")
    l = np.swapaxes(out, -1, -2) if upper else out
    lt = np.swapaxes(l, -1, -2)
    p = _phi(lt @ np.tril(np.swapaxes(g, -1, -2) if upper else g))
    return _on_triangle(_sandwich_solve(lt, p), upper)


def _sandwich_solve(lt, p):
    """lt^-1 p lt^-T (each temporary freed as the next is made)."""
    return np.linalg.solve(lt, np.swapaxes(np.linalg.solve(lt, np.swapaxes(p, -1, -2)), -1, -2))


def _nan_like(x):
    """A derivative that does not exist: nan, shaped and typed like `x`."""
    return np.full(np.shape(x), np.nan, dtype=x.dtype)


def _svd_reduced_jvp(t, u, s, vh):
    """(du, ds, dvh) of the reduced SVD a = u diag(s) vh along `t`."""
    v = np.swapaxes(vh, -1, -2)
    ut = np.swapaxes(u, -1, -2)
    tv = t @ v
    dp = ut @ tv
    ds = _diag_part(dp)
    f = _gaps(s * s)
    dpt = np.swapaxes(dp, -1, -2)
    se = np.expand_dims(s, -2)
    sc = np.expand_dims(s, -1)
    du = u @ (f * (dp * se + sc * dpt))
    dv = v @ (f * (sc * dp + dpt * se))
    if np.shape(u)[-2] > np.shape(u)[-1]:          # tall: the part outside u's span
        du = du + (tv - u @ dp) / se
    if np.shape(v)[-2] > np.shape(v)[-1]:          # wide: the part outside v's span
        tu = np.swapaxes(t, -1, -2) @ u
        dv = dv + (tu - v @ dpt) / se
    return du, ds, np.swapaxes(dv, -1, -2)


def _svd_reduced_vjp(gu, gs, gvh, a, u, s, vh):
    """The adjoint of the reduced SVD (Townsend 2016); the singular vectors' terms are
    skipped when their adjoints are zero (only s used: no 1/(s_i^2 - s_j^2), no 1/s)."""
    v = np.swapaxes(vh, -1, -2)
    ut = np.swapaxes(u, -1, -2)
    core = np.expand_dims(gs, -1) * np.eye(np.shape(s)[-1], dtype=s.dtype)
    if not (_nonzero(gu) or _nonzero(gvh)):
        return u @ core @ vh
    gv = np.swapaxes(gvh, -1, -2)
    f = _gaps(s * s)
    se = np.expand_dims(s, -2)
    sc = np.expand_dims(s, -1)
    j = ut @ gu
    k = vh @ gv
    core = core + (f * (j - np.swapaxes(j, -1, -2))) * se + sc * (f * (k - np.swapaxes(k, -1, -2)))
    out = u @ core @ vh
    if np.shape(u)[-2] > np.shape(u)[-1]:
        gus = gu / se
        out = out + (gus - u @ (ut @ gus)) @ vh
    if np.shape(v)[-2] > np.shape(v)[-1]:
        gvs = gv / se
        out = out + u @ np.swapaxes(gvs - v @ (vh @ gvs), -1, -2)
    return out


def svd_jvp(t, a, out, full_matrices=True, compute_uv=True):
    """The tangent of `np.linalg.svd(a, full_matrices, compute_uv)` along `t`. The columns
    of a full u (rows of a full vh) beyond min(m, n) are no function of `a` srcad can
    differentiate: their tangent is nan."""
    require_real(a, "np.linalg.svd")
    if not compute_uv:
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return np.sum(u * (t @ np.swapaxes(vh, -1, -2)), axis=-2)
    u, s, vh = out
    k = np.shape(s)[-1]
    du, ds, dvh = _svd_reduced_jvp(t, u[..., :k], s, vh[..., :k, :])
    if full_matrices and np.shape(u)[-1] > k:
        du = np.concatenate([du, _nan_like(u[..., k:])], axis=-1)
    if full_matrices and np.shape(vh)[-2] > k:
        dvh = np.concatenate([dvh, _nan_like(vh[..., k:, :])], axis=-2)
    return du, ds, dvh


def svd_vjp(g, a, out, full_matrices=True, compute_uv=True):
    """The adjoint of `np.linalg.svd(a, full_matrices, compute_uv)`: nan where a full
    u's or vh's extra columns (rows) have a nonzero adjoint (see `svd_jvp`)."""
    require_real(a, "np.linalg.svd")
    if not compute_uv:
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return (u * np.expand_dims(g, -2)) @ vh
    u, s, vh = out
    gu, gs, gvh = g
    k = np.shape(s)[-1]
    if full_matrices and (_nonzero(gu[..., k:]) or _nonzero(gvh[..., k:, :])):
        return _nan_like(a)
    return _svd_reduced_vjp(gu[..., :k], gs, gvh[..., :k, :], a, u[..., :k], s, vh[..., :k, :])


def _copyltu(m):
    """`m`'s lower triangle mirrored onto its upper one."""
    return _symmetric_from(m, False)


def _right_solve(b, r):
    """b r^-1 for square r."""
    return np.swapaxes(np.linalg.solve(np.swapaxes(r, -1, -2), np.swapaxes(b, -1, -2)), -1, -2)


def _qr_square_jvp(t, q, r):
    """(dq, dr) of a = q r, q (m, n) with orthonormal columns, r (n, n), m >= n."""
    dx = _right_solve(t, r)
    qt = np.swapaxes(q, -1, -2) @ dx
    low = np.tril(qt, -1)
    do = low - np.swapaxes(low, -1, -2)
    return q @ (do - qt) + dx, (qt - do) @ r


def _qr_square_vjp(gq, gr, q, r):
    """The adjoint of a = q r (m >= n): (q_bar + q copyltu(M)) r^-T, M = r r_bar^T - q_bar^T q."""
    m = r @ np.swapaxes(gr, -1, -2) - np.swapaxes(gq, -1, -2) @ q
    b = gq + q @ _copyltu(m)
    return np.swapaxes(np.linalg.solve(r, np.swapaxes(b, -1, -2)), -1, -2)


def _qr_check(mode):
    if mode not in ("reduced", "complete", "r"):
        raise NotImplementedError(f"srcad differentiates np.linalg.qr with mode 'reduced', "
                                  f"'complete' or 'r', not {mode!r}")


def qr_jvp(t, a, out, mode="reduced"):
    """The tangent of `np.linalg.qr(a, mode)` along `t`. A wide a = [x y] is q [r1 r2] with
    x square; a complete q's columns beyond n (m > n) get a nan tangent (no function of a
    srcad differentiates)."""
    _qr_check(mode)
    require_real(a, "np.linalg.qr")
    q, r = np.linalg.qr(a) if mode == "r" else out
    m, n = np.shape(a)[-2], np.shape(a)[-1]
    k = min(m, n)
    qk = q[..., :k]
    dq, dr = _qr_square_jvp(t[..., :k], qk, r[..., :k, :k])
    if n > m:
        dr = np.concatenate([dr, np.swapaxes(dq, -1, -2) @ a[..., m:] +
                             np.swapaxes(qk, -1, -2) @ t[..., m:]], axis=-1)
    if mode == "r":
        return dr
    if np.shape(q)[-1] > k:
        dq = np.concatenate([dq, _nan_like(q[..., k:])], axis=-1)
        dr = np.concatenate([dr, np.zeros(np.shape(r[..., k:, :]), dtype=r.dtype)],
                            axis=-2)
    return dq, dr


def qr_vjp(g, a, out, mode="reduced"):
    """The adjoint of `np.linalg.qr(a, mode)` (see `qr_jvp`): nan where a complete q's
    extra columns have a nonzero adjoint."""
    _qr_check(mode)
    require_real(a, "np.linalg.qr")
    if mode == "r":
        q, r = np.linalg.qr(a)
        gq, gr = np.zeros(np.shape(q), dtype=q.dtype), g
    else:
        q, r = out
        gq, gr = g
    m, n = np.shape(a)[-2], np.shape(a)[-1]
    k = min(m, n)
    if np.shape(q)[-1] > k and _nonzero(gq[..., k:]):
        return _nan_like(a)
    qk, gqk = q[..., :k], gq[..., :k]
    if n > m:
        gy = qk @ gr[..., :k, m:]
        gx = _qr_square_vjp(gqk + a[..., m:] @ np.swapaxes(gr[..., :k, m:], -1, -2),
                            gr[..., :k, :k], qk, r[..., :k, :k])
        return np.concatenate([gx, gy], axis=-1)
    return _qr_square_vjp(gqk, gr[..., :k, :], qk, r[..., :k, :k])


def _pinv_tall_jvp(t, a, p):
    """dP of P = pinv(a) for m >= n along `t`; temporaries at most (n, n) and (n, m)."""
    pa = p @ a
    ppt = p @ np.swapaxes(p, -1, -2)
    tt = np.swapaxes(t, -1, -2)
    z = ppt @ tt
    x = (tt @ np.swapaxes(p, -1, -2)) @ p
    return -((p @ t) @ p) + z - (z @ a) @ p + x - pa @ x


def _pinv_tall_vjp(g, a, p):
    """The adjoint of P = pinv(a) for m >= n (the transpose of `_pinv_tall_jvp`): each
    (m, n) term made in its own helper, so its temporaries go when it returns."""
    pt = np.swapaxes(p, -1, -2)
    gt = np.swapaxes(g, -1, -2)
    return _minus_a_p(gt @ (p @ pt), a, p) + _minus_p_a(pt @ (p @ gt), p, a) - \
        pt @ (g @ pt)


def _minus_a_p(y, a, p):
    """y - a (p y)."""
    return y - a @ (p @ y)


def _minus_p_a(w, p, a):
    """w - w (p a)."""
    return w - w @ (p @ a)


def pinv_jvp(t, a, out):
    """The tangent of `np.linalg.pinv(a)` along `t` (where a's rank is locally constant)."""
    if np.shape(a)[-2] >= np.shape(a)[-1]:
        return _pinv_tall_jvp(t, a, out)
    return np.swapaxes(_pinv_tall_jvp(np.swapaxes(t, -1, -2), np.swapaxes(a, -1, -2),
                                      np.swapaxes(out, -1, -2)), -1, -2)


def pinv_vjp(g, a, out):
    """The adjoint of `np.linalg.pinv(a)` (where a's rank is locally constant)."""
    if np.shape(a)[-2] >= np.shape(a)[-1]:
        return _pinv_tall_vjp(g, a, out)
    return np.swapaxes(_pinv_tall_vjp(np.swapaxes(g, -1, -2), np.swapaxes(a, -1, -2),
                                      np.swapaxes(out, -1, -2)), -1, -2)


def _lstsq_parts(a, b, rcond):
    """(u, s, vh, P, b as a matrix): a's reduced SVD and the pseudo-inverse lstsq applies
    (singular values at most rcond * max(s) count as zero, as np.linalg.lstsq counts them)."""
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    big = max(np.shape(a)[-2], np.shape(a)[-1])
    cut = (np.finfo(s.dtype).eps * big if rcond is None else rcond) * np.max(s)
    keep = s > cut
    sinv = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
    p = (np.swapaxes(vh, -1, -2) * sinv) @ np.swapaxes(u, -1, -2)
    return u, s, vh, p, b if np.ndim(b) == 2 else np.expand_dims(b, -1)


def lstsq_jvp(ta, tb, a, b, out, rcond=None):
    """The tangent of `(x, residuals, rank, s) = np.linalg.lstsq(a, b, rcond)` along a's
    tangent `ta` and b's `tb` (either may be 0.0, inactive), where a's rank is locally
    constant; the rank has none."""
    x, res, rank, s = out
    u, s, vh, p, b2 = _lstsq_parts(a, b, rcond)
    x2 = x if np.ndim(x) == 2 else np.expand_dims(x, -1)
    r = b2 - a @ x2
    dt = np.zeros(np.shape(r), dtype=r.dtype)
    if np.ndim(tb) > 0:
        dt = dt + (tb if np.ndim(tb) == 2 else np.expand_dims(tb, -1))
    ds = np.zeros(np.shape(s), dtype=s.dtype)
    dx = 0.0
    if np.ndim(ta) > 0:
        dt = dt - ta @ x2
        tat = np.swapaxes(ta, -1, -2)
        w = tat @ (np.swapaxes(p, -1, -2) @ x2)
        dx = (p @ np.swapaxes(p, -1, -2)) @ (tat @ r) + w - p @ (a @ w)
        ds = np.sum(u * (ta @ np.swapaxes(vh, -1, -2)), axis=-2)
    dx = dx + p @ dt
    dres = 2.0 * np.sum(r * dt, axis=0) if np.size(res) else res * 0.0
    return (dx if np.ndim(x) == 2 else dx[..., 0], dres, 0.0, ds)


def lstsq_vjp_a(g, a, b, out, rcond=None):
    """The adjoint of `np.linalg.lstsq(a, b, rcond)` with respect to `a`."""
    x, res, rank, s = out
    gx, gres, grank, gs = g
    u, s, vh, p, b2 = _lstsq_parts(a, b, rcond)
    x2 = x if np.ndim(x) == 2 else np.expand_dims(x, -1)
    gx2 = gx if np.ndim(gx) == 2 else np.expand_dims(gx, -1)
    if np.ndim(gx) == 0:
        gx2 = gx * np.ones(np.shape(x2), dtype=x2.dtype)
    r = b2 - a @ x2
    pt = np.swapaxes(p, -1, -2)
    gb = pt @ gx2
    xt = np.swapaxes(x2, -1, -2)
    out_a = -(gb @ xt) + r @ np.swapaxes((p @ pt) @ gx2, -1, -2) + \
        (pt @ x2) @ np.swapaxes(gx2 - np.swapaxes(a, -1, -2) @ gb, -1, -2)
    if np.size(res):
        out_a = out_a - 2.0 * (r * gres) @ xt
    if _nonzero(gs):
        out_a = out_a + (u * np.expand_dims(gs, -2)) @ vh
    return out_a


def lstsq_vjp_b(g, a, b, out, rcond=None):
    """The adjoint of `np.linalg.lstsq(a, b, rcond)` with respect to `b`."""
    x, res, rank, s = out
    gx, gres, grank, gs = g
    u, s, vh, p, b2 = _lstsq_parts(a, b, rcond)
    gb = np.swapaxes(p, -1, -2) @ (gx if np.ndim(gx) == np.ndim(b2) else np.expand_dims(gx, -1))
    if np.size(res):
        x2 = x if np.ndim(x) == 2 else np.expand_dims(x, -1)
        gb = gb + 2.0 * (b2 - a @ x2) * gres
    return unbroadcast(gb if np.ndim(b) == 2 else gb[..., 0], b)


def matrix_power_jvp(t, a, n):
    """The tangent of `np.linalg.matrix_power(a, n)` along `t`: with b = a (a^-1 for n < 0),
    d b^k = db b^(k-1) + b d b^(k-1), k up to |n|."""
    if n == 0:
        return t * 0.0
    b = a if n > 0 else np.linalg.inv(a)
    db = t if n > 0 else -(b @ t @ b)
    d = db
    pw = b
    for _ in range(abs(n) - 1):
        d = db @ pw + b @ d
        pw = b @ pw
    return d


def matrix_power_vjp(g, a, n):
    """The adjoint of `np.linalg.matrix_power(a, n)`: sum over k of (b^T)^k g (b^T)^(|n|-1-k),
    then through the inverse for n < 0."""
    if n == 0:
        return g * 0.0
    b = a if n > 0 else np.linalg.inv(a)
    c = np.swapaxes(b, -1, -2)
    acc = g
    pw = c
    for _ in range(abs(n) - 1):
        acc = c @ acc + g @ pw
        pw = c @ pw
    if n > 0:
        return acc
    return -(c @ acc @ c)



def require_real(x, what):
    """Raise unless `x` is real: srcad differentiates `what` of real values only (of a complex
    intermediate, an fft's, its derivative needs conjugates the real formulas leave out, and
    would be silently wrong)."""
    if np.iscomplexobj(x):
        raise NotImplementedError(f"srcad differentiates {what} of real values only; this "
                                  "one is complex")


def require_real_eig(w):
    """Raise unless the eigenvalues `w` of np.linalg.eig are real (NumPy then returns real
    arrays): srcad differentiates real-valued eigendecompositions only."""
    if np.iscomplexobj(w):
        raise NotImplementedError("srcad differentiates np.linalg.eig only where all the "
                                  "eigenvalues are real; these are complex")


def eig_jvp(t, out):
    """The tangent of `(w, v) = np.linalg.eig(a)` (real eigenvalues, unit eigenvectors):
    c = v^-1 t v, dw = diag(c), dv = v (F * c) minus each column's part along itself."""
    w, v = out
    require_real_eig(w)
    c = np.linalg.solve(v, t @ v)
    dv = v @ (_gaps(w) * c)
    return _diag_part(c), dv - v * np.sum(v * dv, axis=-2, keepdims=True)


def eig_vjp(g, out):
    """The adjoint of `np.linalg.eig(a)` (real eigenvalues): v^-T (diag(w_bar) +
    F * (v^T v_bar - v^T v diag(v^T v_bar))) v^T, the F term skipped when v_bar is zero."""
    w, v = out
    gw, gv = g
    require_real_eig(w)
    vt = np.swapaxes(v, -1, -2)
    eye = np.eye(np.shape(w)[-1], dtype=w.dtype)
    core = np.expand_dims(gw, -1) * eye
    if _nonzero(gv):
        vtg = vt @ gv
        core = core + _gaps(w) * (vtg - (vt @ v) * np.expand_dims(_diag_part(vtg), -2))
    return np.linalg.solve(vt, core) @ vt


__all__ += ["require_real", "eigh_jvp", "eigh_vjp", "eigvalsh_jvp", "eigvalsh_vjp", "cholesky_jvp", "cholesky_vjp"]
__all__ += ["svd_jvp", "svd_vjp", "qr_jvp", "qr_vjp", "pinv_jvp", "pinv_vjp", "lstsq_jvp",
            "lstsq_vjp_a", "lstsq_vjp_b", "matrix_power_jvp", "matrix_power_vjp"]
__all__ += ["require_real_eig", "eig_jvp", "eig_vjp"]


# ------------------------------------------------------------ complex values
# A complex value's adjoint g pairs with its tangent t as Re(sum(g * t)) (autograd's
# convention): a holomorphic rule's adjoint is the real one's formula (no conjugates), and
# a real value's adjoint is the real part of what reaches it.
def _abs_slope(x):
    """d|x|/dx as an adjoint's factor: sign(x) for real x, conj(x)/|x| for complex x (0 at 0)."""
    if np.iscomplexobj(x):
        r = np.abs(x)
        return np.conj(x) / np.where(r == 0, 1.0, r)
    return np.sign(x)


def abs_jvp(t, x):
    """The tangent of |x| along `t`: t sign(x), or Re(t conj(x)) / |x| for complex x."""
    if np.iscomplexobj(x):
        return np.real(t * _abs_slope(x))
    return t * np.sign(x)


def abs_vjp(g, x):
    """The adjoint of |x|: g sign(x), or Re(g) conj(x) / |x| for complex x (|x| is real, so
    only the real part of an adjoint reaching it counts)."""
    if np.iscomplexobj(x):
        return np.real(g) * _abs_slope(x)
    return g * np.sign(x)


def abs_slope_jvp(x, t):
    """J(t), the derivative of conj(x)/|x| along `t`: 0 for real x (sign is piecewise
    constant); for complex x, conj(t)/r - conj(x) Re(conj(x) t)/r^3 (r = |x|, 0 at r = 0).
    Re(a J(b)) is |x|'s second derivative along (a, b); J is its own transpose."""
    if np.iscomplexobj(x):
        r = np.abs(x)
        r = np.where(r == 0, np.inf, r)
        return np.conj(t) / r - np.conj(x) * np.real(np.conj(x) * t) / r ** 3
    return np.zeros(np.shape(x), dtype=_weight_dtype(x))


def abs_slope_d2(x, t):
    """The derivative of `abs_slope_jvp` in x: 0 for real x; refused for complex x."""
    if np.iscomplexobj(x):
        raise NotImplementedError("srcad does not build third derivatives of abs of a "
                                  "complex value")
    return np.zeros(np.shape(x), dtype=_weight_dtype(x))


def real_part(t):
    """np.real(t), as the derivative helpers of abs write it."""
    return np.real(t)


def real_like(t, like):
    """`t` as the tangent of the real value `like` (its real part), `t` itself when `like`
    is complex or `t` real."""
    if np.iscomplexobj(t) and not np.iscomplexobj(like):
        return np.real(t)
    return t


# ------------------------------------------------------------ np.fft
def _fft_plan(func, shape, n, axes):
    """The 1-d transforms np.fft.<func>(a, n, axes) applies to an `a` of `shape`, in order, as
    [(kind, n, axis, length before)], kind fft, ifft, rfft or irfft (as NumPy does it)."""
    nd = len(shape)
    if func in ("fft", "ifft", "rfft", "irfft"):
        axes = -1 if axes is None else axes
        m = shape[axes % nd] if nd else 1
        if n is None:
            n = 2 * (m - 1) if func == "irfft" else m
        return [(func, n, axes % nd, m)]
    if axes == "last2":           # the 2-d forms' default (fft2, ifft2, rfft2, irfft2)
        axes = (-2, -1)
    if n is None:
        axes = list(range(nd)) if axes is None else [a % nd for a in axes]
        s = [shape[a] for a in axes]
        if func == "irfftn":
            s[-1] = 2 * (shape[axes[-1]] - 1)
    else:
        s = list(n)
        axes = list(range(nd - len(s), nd)) if axes is None else [a % nd for a in axes]
    order = list(range(len(axes)))
    if func in ("fftn", "fft2"):
        ops = [("fft", s[i], axes[i]) for i in reversed(order)]
    elif func in ("ifftn", "ifft2"):
        ops = [("ifft", s[i], axes[i]) for i in reversed(order)]
    elif func == "rfftn":
        ops = [("rfft", s[-1], axes[-1])] + [("fft", s[i], axes[i]) for i in reversed(order[:-1])]
    else:
        ops = [("ifft", s[i], axes[i]) for i in order[:-1]] + [("irfft", s[-1], axes[-1])]
    cur = list(shape)
    plan = []
    for kind, size, axis in ops:
        plan.append((kind, size, axis, cur[axis]))
        cur[axis] = size // 2 + 1 if kind == "rfft" else size
    return plan


def _fit(t, length, axis):
    """`t` cut or zero-padded to `length` along `axis`."""
    m = t.shape[axis]
    if m > length:
        return np.take(t, np.arange(length), axis=axis)
    if m < length:
        shape = list(t.shape)
        shape[axis] = length
        out = np.zeros(shape, dtype=t.dtype)
        out[(slice(None),) * (axis % t.ndim) + (slice(0, m),)] = t
        return out
    return t


_SWAP_NORM = {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}


def _half_weights(n, axis, like, value):
    """Along `axis` of `like`, length n // 2 + 1: 1 at 0 (and at n / 2 for even n), `value`
    elsewhere: how rfft's half spectrum stands for the full one (in like's precision)."""
    ndim = np.ndim(like)
    w = np.full(n // 2 + 1, value, dtype=np.finfo(like.dtype).dtype)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    shape = [1] * ndim
    shape[axis] = n // 2 + 1
    return np.reshape(w, shape)


def fft_apply(a, func, n=None, axes=None, norm=None):
    """np.fft.<func>(a, n, axes, norm), with fft2's and ifft2's default axes given as
    'last2': the tangent of a transform (each is linear), and the adjoint of `fft_vjp`."""
    if axes == "last2":
        axes = (-2, -1)
    if func in ("fft", "ifft", "rfft", "irfft") and axes is None:
        axes = -1
    return getattr(np.fft, func)(a, n, axes, norm)


def fft_vjp(g, x, func, n=None, axes=None, norm=None):
    """The adjoint of `np.fft.<func>(x, n, axes, norm)`: each 1-d transform's transpose in
    reverse order (fft's and ifft's matrices are symmetric; rfft's and irfft's transposes
    are irfft and rfft of the conjugate, weighted by how the half spectrum stands for the
    full one), cut or padded back to x's shape, real when x is (the real part taken before
    the last padding: no complex array of x's shape)."""
    g = np.asarray(g)
    plan = _fft_plan(func, np.shape(x), n, axes)
    real = not np.iscomplexobj(x)
    for k, (kind, size, axis, length) in enumerate(reversed(plan)):
        if kind == "fft":
            g = np.fft.fft(g, size, axis, norm)
        elif kind == "ifft":
            g = np.fft.ifft(g, size, axis, norm)
        elif kind == "rfft":
            h = np.conj(g)
            h *= _half_weights(size, axis, h, 0.5)
            g = np.fft.irfft(h, size, axis, _SWAP_NORM[norm])
        else:                            # irfft's output is real: so is its adjoint
            g = np.fft.rfft(np.real(g), size, axis, _SWAP_NORM[norm])
            np.conjugate(g, out=g)
            g *= _half_weights(size, axis, g, 2.0)
        if real and k == len(plan) - 1 and np.iscomplexobj(g):
            g = np.ascontiguousarray(_fit(np.real(g), length, axis))
        else:
            g = _fit(g, length, axis)
    return g


__all__ += ["abs_jvp", "abs_vjp", "abs_slope_jvp", "abs_slope_d2", "real_part", "real_like",
            "fft_apply", "fft_vjp"]
# ------------------------------------------------------------ in-place updates `x[idx] = v`

def setitem(x, idx, v):
    """`x[idx] = v` in place; returns `x` (the expression form of the update)."""
    x[idx] = v
    return x


def unassign(g, x, idx):
    """Adjoint of `x[idx] = v` with respect to x's earlier value: the adjoint `g` of the
    result with zeros at `idx` (what was overwritten had no effect), as a new array of x's
    shape (g is left as it is)."""
    if isinstance(x, (list, tuple)):
        raise TypeError("srcad differentiates item assignment on arrays, not on a list or tuple")
    shape = np.shape(x)
    if type(g) is float or np.shape(g) != shape:       # a zero, or a lazy scalar
        out = np.empty(shape, dtype=np.result_type(_float_dtype(np.asarray(g)), _float_dtype(x)))
        out[...] = g
    else:
        out = np.array(g)
    out[idx] = 0
    return out


def written(t, x):
    """The tangent of a value written into array `x` (`x[idx] = v`): `t`, or zero where x
    is not floating (an integer array truncates what it is given: no derivative)."""
    return t if np.issubdtype(np.result_type(x), np.inexact) else 0.0


def owned(g, x):
    """The adjoint `g` of array `x` as a new array of x's shape (g may be a zero, or a
    scalar that broadcasts), which in-place updates may then change."""
    out = np.empty(np.shape(x), dtype=np.result_type(_float_dtype(np.asarray(g)), _float_dtype(x)))
    out[...] = g
    return out


def assigned_bar(g, v, idx, x=None):
    """Adjoint of `x[idx] = v` with respect to v: `g[idx]` (a copy), summed back to v's
    shape; where a fancy index repeats an entry only its last write counts, as in NumPy.
    Zero where x (read for its dtype) is not floating: it truncates what it is given."""
    if type(g) is float or x is not None and not np.issubdtype(np.result_type(x), np.inexact):
        return 0.0 if type(g) is float else np.zeros(np.shape(v))
    picked = np.array(g[idx])
    if not _basic(idx):
        order = np.arange(picked.size).reshape(picked.shape)
        last = np.zeros(np.shape(g), dtype=np.intp)
        last[idx] = order                              # the last write of each entry wins
        picked = np.where(last[idx] == order, picked, 0.0)
    extra = np.ndim(v) - picked.ndim
    if extra > 0:                                      # v may have more (length-1) axes
        picked = picked.reshape((1,) * extra + picked.shape)
    return unbroadcast(picked, v)


def assign_scatter(u, g, idx, x=None):
    """Adjoint of `assigned_bar(g, v, idx, x)` with respect to g: zeros shaped like g with
    `u` written (broadcast) at idx, the last write of a repeated entry winning (all zeros
    where x is not floating)."""
    out = np.zeros(np.shape(g), dtype=_float_dtype(np.asarray(u)))
    if x is None or np.issubdtype(np.result_type(x), np.inexact):
        out[idx] = u
    return out


__all__ += ["setitem", "unassign", "assigned_bar", "assign_scatter", "written", "owned"]


def snapshot(v):
    """`v` with its arrays copied (item by item in a list or tuple): a value returned after
    a reverse sweep that puts overwritten entries back."""
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, (list, tuple)):
        return type(v)(snapshot(x) for x in v)
    return v


__all__ += ["snapshot"]
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


# ------------------------------------------------------------ batched tangents
# In a batched forward derivative (`jvp(..., batched=True)`, jacfwd) every tangent carries a
# leading axis of the batch size: an array or float value's tangent is an array of shape
# (batch,) + its shape; a list's, tuple's or dict's is its items' (Items, Fields). 0.0 still
# stands for a zero of any shape, for every direction.

def _is_zero(t) -> bool:
    return type(t) is float and t == 0.0


def bzeros(x, batch):
    """The zero tangent of `x` for `batch` directions (as zeros_like: 0.0, a zero of any
    shape, for a Python scalar)."""
    if type(x) is float or type(x) is int:
        return 0.0
    if isinstance(x, (list, tuple)):
        return Items(bzeros(v, batch) for v in x)
    if _is_mapping(x):
        return Fields((k, bzeros(v, batch)) for k, v in _fields(x).items())
    return np.zeros((batch,) + np.shape(x), dtype=_float_dtype(x))


def bslice(t, k):
    """Direction `k` of the batched tangent `t` (an unbatched tangent)."""
    if type(t) is np.ndarray:
        return t[k]
    if isinstance(t, (list, tuple)):
        return Items(bslice(v, k) for v in t)
    if _is_mapping(t):
        return Fields((n, bslice(v, k)) for n, v in _fields(t).items())
    if isinstance(t, np.generic) or _foreign(t):
        return t[k]
    return t                                     # 0.0: a zero in every direction


def bjoin(outs):
    """The batched tangent whose directions are the unbatched tangents `outs`."""
    first = outs[0]
    if isinstance(first, (list, tuple)):
        return Items(bjoin([o[i] for o in outs]) for i in range(len(first)))
    if _is_mapping(first):
        fields = [_fields(o) for o in outs]
        return Fields((n, bjoin([f[n] for f in fields])) for n in fields[0])
    if all(_is_zero(o) for o in outs):
        return 0.0
    return np.stack(np.broadcast_arrays(*outs))


def badd_items(a, b):
    """`add_items` of two batched tangents: an array's item k is `t[:, k]` (its first axis
    is the directions'), where an adjoint of a list is a list on one side and one array on
    the other (`add_items(xs_bar, g)` with `g` an array of the list's shape)."""
    if type(a) is Fields or type(b) is Fields or isinstance(a, dict) or isinstance(b, dict) \
            or _is_record(a) or _is_record(b):
        return add_items(a, b)
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        if _is_zero(a) and not isinstance(a, (list, tuple)):
            return b
        if _is_zero(b) and not isinstance(b, (list, tuple)):
            return a
        n = len(a) if isinstance(a, (list, tuple)) else len(b)
        return Items(badd_items(_bitem(a, k), _bitem(b, k)) for k in range(n))
    return a + b


def _bitem(t, k):
    """Item k of a batched tangent: of a list, its item; of an array, `t[:, k]`."""
    return t[:, k] if type(t) is np.ndarray else t[k]


def bunpack(t, n):
    """`a_dot, b_dot = t` of the batched tangent `t` of a value unpacked into n names:
    item k of a list or tuple, `t[:, k]` of an array (not the batch axis's rows)."""
    if type(t) is float:
        return (t,) * n
    return tuple(_bitem(t, k) for k in range(n))


__all__ += ["bunpack"]


def bmap(fn, batch, *dots):
    """A rule's unbatched tangent `fn` applied to each direction of the batched tangents
    `dots`, stacked: the batched tangent of a rule that declares no batched form."""
    return bjoin([fn(*[bslice(d, k) for d in dots]) for k in range(batch)])


def basarray(t, x=None, batch=None):
    """The batched tangent `t` of a (nested) list or tuple `x` of values as one array
    ((batch,) + np.shape(x)): what np.asarray makes of the items, with the batch axis
    first; zero items (0.0) as zeros of their item's shape."""
    if isinstance(t, (list, tuple)):
        xs = x if isinstance(x, (list, tuple)) else [None] * len(t)
        items = [basarray(tk, xk, batch) for tk, xk in zip(t, xs)]
        if any(type(i) is float for i in items):
            raise ValueError("a zero tangent item of unknown shape")
        return np.stack(items, axis=1) if items else np.zeros((batch, 0))
    if _is_zero(t) and batch is not None:
        return np.zeros((batch,) + np.shape(x), dtype=_float_dtype(x))
    return t if type(t) is np.ndarray or type(t) is float else np.asarray(t)


def blift(t, like, batch):
    """The batched tangent `t` of an operand with unit axes inserted after the batch axis up
    to the rank of the result `like`, so that it broadcasts against the primal operands as
    the operand does (0.0 becomes zeros of that rank)."""
    if type(t) is not np.ndarray:
        if _is_zero(t):
            return np.zeros((batch,) + (1,) * np.ndim(like), dtype=_float_dtype(like))
        t = basarray(t, None, batch)
    k = np.ndim(like) + 1 - t.ndim
    return t.reshape(t.shape[:1] + (1,) * k + t.shape[1:]) if k > 0 else t


def bbcast(t, like):
    """`bcast` of a batched (lifted) tangent: `t` broadcast to (batch,) + like's shape."""
    if type(like) is float:
        return t
    shape = t.shape[:1] + np.shape(like)
    return t if t.shape == shape else np.broadcast_to(t, shape)


def baxis(axis, ndim):
    """The axis (or axes) of a batched tangent for a reduction's `axis` over `ndim`
    dimensions (None: all but the batch axis)."""
    if axis is None:
        return tuple(range(1, ndim + 1))
    if isinstance(axis, (tuple, list)):
        return tuple(a % ndim + 1 for a in axis)
    return axis % ndim + 1


def _batched_array(t, x, batch):
    """`t` as a batched array for the value `x` (lists stacked, 0.0 as zeros)."""
    if type(t) is np.ndarray:
        return t
    return basarray(t, x, batch)


def bsum(t, x, axis, keepdims, batch):
    """np.sum(x, axis, keepdims=keepdims)'s batched tangent."""
    if _is_zero(t):
        return 0.0
    t = _batched_array(t, x, batch)
    return np.sum(t, axis=baxis(axis, t.ndim - 1), keepdims=keepdims)


def bmean(t, x, axis, keepdims, batch):
    """np.mean(x, axis, keepdims=keepdims)'s batched tangent."""
    if _is_zero(t):
        return 0.0
    t = _batched_array(t, x, batch)
    return np.mean(t, axis=baxis(axis, t.ndim - 1), keepdims=keepdims)


def _advanced(i) -> bool:
    return not (i is None or i is Ellipsis or type(i) is slice)


def bindex(t, idx):
    """`x[idx]`'s batched tangent: `t[:, idx]` (a list's or dict's: `t[idx]`); where the
    index's advanced (array or integer) parts are not side by side, NumPy would move the
    batch axis, so then direction by direction."""
    if type(t) is not np.ndarray:
        if _is_zero(t):
            return t
        if isinstance(t, (list, tuple)) or _is_mapping(t):
            return t[idx]
        t = np.asarray(t)
    items = idx if type(idx) is tuple else (idx,)
    adv = [k for k, i in enumerate(items) if _advanced(i)]
    if adv and (adv[-1] - adv[0] + 1 != len(adv)) and \
            any(not isinstance(items[k], (int, np.integer)) for k in adv):
        return np.stack([s[idx] for s in t])
    return t[(slice(None),) + items]


def bsetitem(t, idx, v, x):
    """`x[idx] = v`'s batched tangent update, in place: `t[:, idx] = v_dot` with v's
    tangent lifted to the rank of x[idx] (0.0: zeros written)."""
    if _is_zero(v):
        for s in t:
            s[idx] = 0.0
        return
    items = idx if type(idx) is tuple else (idx,)
    adv = [k for k, i in enumerate(items) if _advanced(i)]
    if adv and (adv[-1] - adv[0] + 1 != len(adv)) and \
            any(not isinstance(items[k], (int, np.integer)) for k in adv):
        for s, vk in zip(t, v if np.ndim(v) else [v] * len(t)):
            s[idx] = vk
        return
    full = (slice(None),) + items
    slot_ndim = np.ndim(x[idx]) if np.ndim(x) else 0
    t[full] = blift(v, np.empty((0,) * slot_ndim), len(t))


def bmatmul_x(t, y):
    """`x @ y`'s batched tangent along x's: x_dot @ y, the batch axis kept first."""
    if _is_zero(t):
        return 0.0
    t = t if type(t) is np.ndarray else basarray(t)
    yn = np.ndim(y)
    if t.ndim == 2:                                   # x a vector
        if yn <= 2:
            return t @ y
        return np.matmul(t.reshape(t.shape[:1] + (1,) * (yn - 2) + (1, t.shape[1])), y)[..., 0, :]
    if yn == 1:
        return t @ y
    if yn == 2 and t.flags.c_contiguous:          # a stack times one matrix: one product
        return (t.reshape(-1, t.shape[-1]) @ y).reshape(t.shape[:-1] + y.shape[1:])
    k = yn - (t.ndim - 1)
    if k > 0:
        t = t.reshape(t.shape[:1] + (1,) * k + t.shape[1:])
    return np.matmul(t, y)


def bmatmul_y(x, t):
    """`x @ y`'s batched tangent along y's: x @ y_dot, the batch axis kept first."""
    if _is_zero(t):
        return 0.0
    t = t if type(t) is np.ndarray else basarray(t)
    xn = np.ndim(x)
    if t.ndim == 2:                                   # y a vector
        if xn == 1:
            return t @ x
        col = t.reshape(t.shape[:1] + (1,) * (xn - 2) + (t.shape[1], 1))
        return np.matmul(x, col)[..., 0]
    if xn == 1:
        return np.matmul(x, t)
    k = xn - (t.ndim - 1)
    if k > 0:
        t = t.reshape(t.shape[:1] + (1,) * k + t.shape[1:])
    return np.matmul(x, t)


def btranspose(t, axes):
    """np.transpose(x, axes)'s batched tangent."""
    if _is_zero(t):
        return 0.0
    n = t.ndim - 1
    perm = reversed(range(n)) if axes is None else (a % n for a in axes)
    return np.transpose(t, (0,) + tuple(a + 1 for a in perm))


def breshape(t, like, order="C", batch=None, x=None):
    """A reshape's batched tangent: `t` shaped (batch,) + like's shape (the batch axis
    stays apart in C and in F order); orders 'A' and 'K', which follow the memory layout,
    take the layout of the primal `x` (the tangent's is not its)."""
    if _is_zero(t):
        return 0.0
    t = _batched_array(t, None, batch)
    if order not in ("C", "F"):
        a = np.asarray(x)
        if a.flags.c_contiguous or a.ndim <= 1:
            order = "C"
        elif a.flags.f_contiguous:
            order = "F"
        elif order == "A":
            order = "C"
        else:
            raise NotImplementedError("srcad's batched tangent of a reshape in order 'K' of an "
                                      "array neither C nor F contiguous")
    return np.reshape(t, t.shape[:1] + np.shape(like), order=order)


def bjoin_axis(ts, xs, axis, batch, how):
    """np.concatenate(xs, axis) (`how` "concatenate") or np.stack(xs, axis) ("stack") of
    the batched tangents `ts` (zero items as zeros of their item's shape; the tangent of
    an array `xs` is split along its first axis after the batch axis)."""
    if type(ts) is np.ndarray:
        ts = [ts[:, i] for i in range(ts.shape[1])]
    items = [_batched_array(t, x, batch) if not _is_zero(t) else
             np.zeros((batch,) + np.shape(x), dtype=_float_dtype(x)) for t, x in zip(ts, xs)]
    if how == "stack":
        nd = np.ndim(xs[0]) + 1
        return np.stack(items, axis=axis % nd + 1)
    if axis is None:
        return np.concatenate([np.reshape(i, (batch, -1)) for i in items], axis=1)
    return np.concatenate(items, axis=axis % np.ndim(xs[0]) + 1)


def bbroadcast_to(t, like, batch):
    """np.broadcast_to(x, shape)'s batched tangent."""
    t = blift(t, like, batch)
    return np.broadcast_to(t, t.shape[:1] + np.shape(like))


def bcast_tangent(t, like, batch):
    """`cast_tangent` of a batched tangent: cast to like's dtype, zeros where like is not
    floating."""
    dt = np.result_type(like)
    if np.issubdtype(dt, np.inexact):
        return t if _is_zero(t) else np.asarray(t, dtype=dt)
    return np.zeros((batch,) + np.shape(like))


__all__ += ["bzeros", "bslice", "bjoin", "bmap", "badd_items", "basarray", "blift", "bbcast", "baxis", "bsum",
            "bmean", "bindex", "bsetitem", "bmatmul_x", "bmatmul_y", "btranspose", "breshape",
            "bjoin_axis", "bbroadcast_to", "bcast_tangent"]


# ------------------------------------------------------------ batched forms of the helpers
# (forward over srcad's own reverse code: hessian); each handles the common case and maps
# the unbatched helper over the directions otherwise

def _lift_to(t, ndim):
    """Batched `t` with unit axes after the batch axis up to `ndim` value dimensions."""
    k = ndim + 1 - t.ndim
    return t.reshape(t.shape[:1] + (1,) * k + t.shape[1:]) if k > 0 else t


def bunbroadcast(t, like, batch):
    """unbroadcast(g, like)'s batched form: `t` summed back to (batch,) + like's shape."""
    if type(t) is np.ndarray:
        tl = type(like)
        if tl is float:
            return t if t.ndim == 1 else t.reshape(len(t), -1).sum(axis=1)
        shape = like.shape if tl is np.ndarray else like if _is_shape(like) else None
        if shape is not None:
            gshape = t.shape[1:]
            if gshape == shape:
                return t
            lead = len(gshape) - len(shape)
            if lead >= 0:
                if lead:
                    t = t.sum(axis=tuple(range(1, lead + 1)))
                axes = tuple(i + 1 for i, n in enumerate(shape) if n == 1 and t.shape[i + 1] != 1)
                if axes:
                    t = t.sum(axis=axes, keepdims=True)
                return t if t.shape[1:] == shape else t.reshape(t.shape[:1] + shape)
    return bmap(lambda g: unbroadcast(g, like), batch, t)


def bbcast_like(t, like, batch):
    """bcast(t, like)'s batched form: `t` broadcast to (batch,) + like's shape."""
    if type(like) is float:
        return t
    if type(t) is np.ndarray and type(like) is np.ndarray:
        t = _lift_to(t, like.ndim)
        shape = t.shape[:1] + like.shape
        return t if t.shape == shape else np.broadcast_to(t, shape)
    return bmap(lambda g: bcast(g, like), batch, t)


def bgrad_like(t, x, batch):
    """grad_like(g, x)'s batched form: (batch,) + x's shape, in x's float dtype."""
    if type(t) is np.ndarray:
        if type(x) is float:
            t = t if t.ndim == 1 else t.reshape(len(t), -1).sum(axis=1)
            return t if t.dtype == np.float64 else t.astype(np.float64)
        if type(x) is np.ndarray:
            dt = _float_dtype(x)
            shape = t.shape[:1] + x.shape
            if t.shape == shape and t.dtype == dt:
                return t
            return np.array(np.broadcast_to(_lift_to(t, x.ndim), shape), dtype=dt)
    return bmap(lambda g: grad_like(g, x), batch, t)


def _apart(items) -> bool:
    """Whether an index has advanced parts (arrays, or integers with arrays) that are not
    side by side (NumPy then moves their axes first)."""
    adv = [k for k, i in enumerate(items) if _advanced(i)]
    return bool(adv) and adv[-1] - adv[0] + 1 != len(adv) and \
        any(not isinstance(items[k], (int, np.integer)) for k in adv)


def bunindex(t, x, idx, batch):
    """unindex(g, x, idx)'s batched form: zeros of (batch,) + x's shape with `t` added at
    [:, idx]."""
    items = idx if type(idx) is tuple else (idx,)
    if type(t) is np.ndarray and type(x) is np.ndarray and x.ndim and not _apart(items) and \
            not any(getattr(i, "dtype", None) == bool for i in items):
        dt = np.result_type(_float_dtype(t), _float_dtype(x))
        out = np.zeros((len(t),) + x.shape, dtype=dt)
        full = (slice(None),) + items
        if _basic(idx):
            slot = out[full]
            slot[...] = _lift_to(t, slot.ndim - 1)
        else:
            np.add.at(out, full, _lift_to(t, np.ndim(x[idx])))
        return out
    return bmap(lambda g: unindex(g, x, idx), batch, t)


def bunreduce(t, like, axis, keepdims, batch):
    """unreduce(g, like, axis, keepdims)'s batched form: `t` broadcast back to (batch,) +
    like's shape."""
    if type(t) is np.ndarray and not _foreign(like):
        shape = np.shape(like)
        gshape = t.shape[1:]
        if axis is None and type(like) is np.ndarray and like.size <= 4096 and not gshape:
            dt = like.dtype if like.dtype.kind == "f" else np.result_type(t.dtype, np.float64)
            out = np.empty(t.shape[:1] + shape, dtype=dt)
            out[...] = _lift_to(t, len(shape))
            return out
        if gshape == shape:
            return t
        axes = _reduced_axes(len(gshape), len(shape), axis, keepdims)
        t = np.expand_dims(t, tuple(a + 1 for a in axes)) if axes else _lift_to(t, len(shape))
        return np.broadcast_to(t, t.shape[:1] + shape)
    return bmap(lambda g: unreduce(g, like, axis, keepdims), batch, t)


def bmatmul_vjp(which, g, x, y, batched, batch):
    """matmul_vjp_x (`which` "x": g @ y.T) or matmul_vjp_y ("y": x.T @ g) with one batched
    operand (`batched`: "g", "x" or "y"), for matrices; other shapes direction by
    direction."""
    ops = {"g": g, "x": x, "y": y}
    t = ops[batched]
    if type(t) is np.ndarray and all(type(v) is np.ndarray and v.ndim == 2 + (k == batched)
                                     for k, v in ops.items()):
        if which == "x":
            return np.matmul(g, np.swapaxes(y, -1, -2))
        return np.matmul(np.swapaxes(x, -1, -2), g)
    helper = matmul_vjp_x if which == "x" else matmul_vjp_y

    def one(s):
        return helper(*(s if k == batched else ops[k] for k in ("g", "x", "y")))
    return bmap(one, batch, t)


__all__ += ["bunbroadcast", "bbcast_like", "bgrad_like", "bunindex", "bunreduce", "bmatmul_vjp"]


# ------------------------------------------------------------ np.arange
__all__ += ["arange_tangent", "arange_vjp_start", "arange_vjp_step"]


def arange_tangent(start_dot, step_dot, out, stop):
    """The tangent of `out = np.arange(start, stop, step)`: start' + i step' (zero for
    np.arange(n): its one argument is the stop; zero too for an integer result)."""
    if stop is None:
        return np.zeros(np.shape(out))
    return cast_tangent(start_dot + step_dot * np.arange(np.shape(out)[0]), out)


def arange_vjp_start(g, start, out, stop):
    """The adjoint of `np.arange(start, stop, step)` with respect to start: sum(g)."""
    if stop is None:
        return 0.0 * start
    return cast_adjoint(np.sum(g), out) + 0.0 * start


def arange_vjp_step(g, step, out, stop):
    """The adjoint of `np.arange(start, stop, step)` with respect to step: sum(i g)."""
    return cast_adjoint(np.sum(g * np.arange(np.shape(out)[0])), out) + 0.0 * step
