"""The public transformations: grad, value_and_grad, jvp, vjp, jacfwd, jacrev, hessian."""
from __future__ import annotations

import functools
import inspect
import numbers
import types

import numpy as np

from . import pipeline, runtime
from .errors import SrcadError
from .frontend import describe
from .rules import FLOAT, INT

_SCALAR_KINDS = (FLOAT, INT)


def _name(f) -> str:
    transform = getattr(f, "__srcad_transform__", None)
    if transform is not None:
        return f"srcad.{transform[0]}({_name(transform[1])})"
    name = getattr(f, "__qualname__", None)
    return name if isinstance(name, str) else describe(f)


def _positions(f, wrt) -> tuple[tuple, bool]:
    """`wrt` (int, name or tuple of them) as parameter positions, and whether it was a tuple.
    Positions and names are those of `f`'s own signature (a bound method's without self)."""
    try:
        params = pipeline.params_of(f)
    except (TypeError, ValueError):
        raise SrcadError(f"cannot differentiate {describe(f)}: not a Python function") from None
    single = not isinstance(wrt, (tuple, list))
    items = (wrt,) if single else tuple(wrt)
    if not items:
        raise SrcadError(f"wrt=() names no parameter of {_name(f)}")
    out = []
    for w in items:
        if isinstance(w, str):
            if w not in params:
                raise SrcadError(f"{_name(f)} has no parameter {w!r}")
            out.append(params.index(w))
        elif isinstance(w, int) and not isinstance(w, bool) and -len(params) <= w < len(params):
            out.append(w % len(params))
        else:
            shown = repr(w) if isinstance(w, (int, float, str)) else type(w).__name__
            raise SrcadError(f"wrt={shown} does not name a parameter of {_name(f)}")
    return tuple(out), single


class _NoArg:
    """The default of a fast wrapper's parameter: the call left it to `f`'s own default."""

    def __repr__(self):
        return "<default>"


_NOARG = _NoArg()


class _Binder:
    """Turns a call's arguments into the full positional list the derivative takes,
    with `f`'s defaults as they are at the call (not when grad(f) was made)."""

    def __init__(self, f):
        self.f = f
        self.func = f.__func__ if isinstance(f, types.MethodType) else f
        self.state = None
        self.sig = self.signature()
        self.n = len(self.sig.parameters)

    def signature(self):
        state = (getattr(self.func, "__defaults__", None),        # f may be any callable
                 getattr(self.func, "__kwdefaults__", None))
        if self.state is None or any(a is not b for a, b in zip(state, self.state)):
            self.state, self.sig = state, inspect.signature(self.f)
        return self.sig

    def default(self, i):
        """The current default of positional parameter `i` (for a call that left it out)."""
        dflt = self.func.__defaults__ or ()
        k = i - (self.n - len(dflt))
        if k < 0:
            raise TypeError(f"{_name(self.f)}() missing argument "
                            f"'{list(self.sig.parameters)[i]}'")
        return dflt[k]

    def __call__(self, args, kwargs):
        if not kwargs and len(args) == self.n and not any(a is _NOARG for a in args):
            return args
        sig = self.signature()
        if any(a is _NOARG for a in args):
            given = {}
            for p, a in zip(sig.parameters.values(), args):
                if a is not _NOARG:
                    given[p.name] = a
            try:
                b = sig.bind(**given, **kwargs)
            except TypeError as e:
                raise TypeError(f"{_name(self.f)}(): {e}") from None
        else:
            try:
                b = sig.bind(*args, **kwargs)
            except TypeError as e:
                raise TypeError(f"{_name(self.f)}(): {e}") from None
        b.apply_defaults()
        return tuple(b.arguments.values())


def _prepare(args, positions):
    """Argument kinds for the cache key; integer `wrt` arguments become floats."""
    kinds = pipeline.kinds_of(args)
    if any(kinds[i] == INT for i in positions):
        args = tuple(float(a) if i in positions and kinds[i] == INT else a
                     for i, a in enumerate(args))
        kinds = pipeline.kinds_of(args)
    return args, kinds


def _check_scalar(f, value, what="grad"):
    """Refuse what `grad` cannot differentiate: a non-numeric, complex or non-scalar output
    (an array of size 1 counts as a scalar, as in autograd)."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        return
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu" and value.size == 1:
        return
    if runtime._foreign(value) and value.dtype.kind in "fiu" and value.size == 1:
        return                        # a Dask (lazy) or CuPy scalar
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu":
        shown = f"an array of shape {value.shape}"
        hint = "; for a non-scalar output use srcad.vjp or srcad.jacrev"
    elif isinstance(value, (complex, np.complexfloating)) or \
            (isinstance(value, np.ndarray) and value.dtype.kind == "c"):
        shown, hint = "a complex value", ""
    elif isinstance(value, (tuple, list)):
        shown = f"a {type(value).__name__}"
        transform = getattr(f, "__srcad_transform__", None)
        hint = ("; srcad.value_and_grad(f) returns a (value, gradient) pair: differentiate "
                "srcad.grad(f), or index its result inside a function of your own"
                if transform is not None and transform[0] == "value_and_grad"
                else "; for a non-scalar output use srcad.vjp or srcad.jacrev")
    else:
        shown, hint = f"a {type(value).__name__}", ""
    raise SrcadError(f"{what} requires a real scalar output, but {_name(f)} returns {shown}{hint}")


def _copied(value):
    """`value` with its arrays, lists, tuples and dicts copied (recursively), other objects
    shared."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_copied(v) for v in value)
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    return value


def _primal(f, args):
    """`f(*args)` on copies of the arguments: Python's `f` may change its arguments in place,
    and the derivative called next must still see the point the user gave."""
    return f(*(_copied(a) for a in args))


def _func(d):
    """`d`'s compiled function, called on copies of the arguments the function may change
    in place: a derivative computes at the point it was given, each time it is called."""
    if not d.mutates:
        return d.func
    func, positions = d.func, d.mutates

    @functools.wraps(func)
    def fresh(*args):
        return func(*(_copied(a) if i in positions else a for i, a in enumerate(args)))
    return fresh


def _run_checked(f, df, args, with_value):
    """Call a derivative that also returns the value, and check the value is a scalar.
    A size-1 array output gets a cotangent of its own shape."""
    try:
        value, g = df(*args)
    except Exception:
        out = _primal(f, args)            # the primal's own error, if it has one
        _check_scalar(f, out, "value_and_grad" if with_value else "grad")
        if not isinstance(out, np.ndarray) or out.ndim == 0:
            raise
        value, g = df(*args, np.ones(out.shape, dtype=_float_dtype(out)))
    else:
        _check_scalar(f, value, "value_and_grad" if with_value else "grad")
    return (value, g) if with_value else g


def _scalar_inside(f, kinds):
    """For `f` = srcad.grad(g) (or of grad(g), ...): g if its output is not a scalar for
    sure, so each call must check it (the derivative of g's derivative has no check of its
    own); else None."""
    inner = None
    transform = getattr(f, "__srcad_transform__", None)
    while transform is not None and transform[0] in ("grad", "value_and_grad"):
        inner = transform
        transform = getattr(transform[1], "__srcad_transform__", None)
    if inner is None:
        return None
    kind, g, positions, single = inner
    ikinds = tuple(FLOAT if (i in positions and k == INT) else k for i, k in enumerate(kinds))
    d = pipeline.get(g, "reverse", positions, ikinds, single, kind == "value_and_grad")
    return None if d.out_kind in _SCALAR_KINDS else g


def _transform(f, wrt, with_value, kind, checkpoint=None):
    positions, single = _positions(f, wrt)
    pipeline.check_checkpoint(checkpoint)
    bind = _Binder(f)
    cache: dict = {}
    scalar_cache: dict = {}       # argument types -> (df, valid): all-scalar, scalar output
    kinds_of = pipeline.kinds_of
    n = bind.n

    def entry(args, kinds):
        args2, kinds2 = _prepare(args, positions)
        d = pipeline.get(f, "reverse", positions, kinds2, single, with_value,
                         checkpoint=checkpoint)
        checked = d.out_kind not in _SCALAR_KINDS
        if checked and not with_value:
            d = pipeline.get(f, "reverse", positions, kinds2, single, True,
                             checkpoint=checkpoint)
        return args2, kinds2, (_func(d), d.valid, checked, _scalar_inside(f, kinds2))

    def call(args):
        if len(args) != n or any(a is _NOARG for a in args):
            args = bind(args, {})
        kinds = kinds_of(args)
        e = cache.get(kinds)
        if e is None or not e[1]():
            scalar_cache.clear()
            args2, kinds2, e = entry(args, kinds)
            if kinds2 != kinds:
                args = args2
            else:
                cache[kinds] = e
        df, _, checked, inner = e
        if inner is not None:
            _check_scalar(inner, _primal(inner, args))
        if checked:
            return _run_checked(f, df, args, with_value)
        if inner is None and all(k in _SCALAR_KINDS for k in kinds) and kinds == kinds_of(args):
            scalar_cache[tuple(map(type, args))] = e
        return df(*args)

    wrapper = _fast_wrapper(f, bind, scalar_cache, call)
    if wrapper is None:
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            if kwargs or len(args) != n:
                args = bind(args, kwargs)
            e = scalar_cache.get(tuple(map(type, args)))    # all-scalar calls: no kinds needed
            if e is not None and e[1]():
                return e[0](*args)
            return call(args)
    wrapper.__srcad_transform__ = (kind, f, positions, single)
    return wrapper


def _fast_wrapper(f, bind, scalar_cache, call):
    """A wrapper with `f`'s own parameters, so a call costs a dict lookup on the argument
    types, a validity check and no *args/**kwargs packing. None when the signature is not
    plain. Defaulted parameters default to a marker, replaced by `f`'s default at the call."""
    params = list(bind.sig.parameters.values())
    if not params or any(p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params):
        return None
    names = [p.name for p in params]
    if any(n.startswith("_srcad") for n in names):
        return None
    defaults = tuple(_NOARG for p in params if p.default is not inspect.Parameter.empty)
    if defaults and any(p.default is inspect.Parameter.empty
                        for p in params[len(params) - len(defaults):]):
        return None
    args = ", ".join(names)
    fill = "".join(f"        if {n} is _srcad_noarg:\n            {n} = _srcad_default({i})\n"
                   for i, n in enumerate(names) if i >= len(names) - len(defaults))
    src = (f"def _srcad_make(_srcad_cache, _srcad_call, _srcad_noarg, _srcad_default):\n"
           f"    def wrapper({args}):\n{fill}"
           f"        _srcad_e = _srcad_cache.get(({', '.join(f'type({n})' for n in names)},))\n"
           f"        if _srcad_e is not None and _srcad_e[1]():\n"
           f"            return _srcad_e[0]({args})\n"
           f"        return _srcad_call(({args},))\n"
           f"    return wrapper\n")
    namespace: dict = {}
    exec(compile(src, f"<srcad wrapper of {_name(f)}>", "exec"), namespace)
    wrapper = namespace["_srcad_make"](scalar_cache, call, _NOARG, bind.default)
    wrapper.__defaults__ = defaults or None
    functools.update_wrapper(wrapper, f)
    return wrapper


def grad(f=None, wrt=0, checkpoint=None):
    """The gradient of scalar `f` with respect to argument(s) `wrt`; also a decorator.
    `checkpoint`: True (or a number of snapshots) checkpoints f's loops instead of keeping
    every value they overwrite; False not even those marked with srcad.checkpoint."""
    if f is None:
        return lambda g: grad(g, wrt, checkpoint)
    if isinstance(f, (int, str, tuple, list)):
        return lambda g: grad(g, f, checkpoint)
    return _transform(f, wrt, False, "grad", checkpoint)


def value_and_grad(f=None, wrt=0, checkpoint=None):
    """Like `grad`, returning `(value, gradient)`."""
    if f is None:
        return lambda g: value_and_grad(g, wrt, checkpoint)
    if isinstance(f, (int, str, tuple, list)):
        return lambda g: value_and_grad(g, f, checkpoint)
    return _transform(f, wrt, True, "value_and_grad", checkpoint)


def derivative(f, mode: str = "reverse", wrt=0, checkpoint=None):
    """The compiled derivative function of `f` (generated code), cached.

    reverse: `df(*args, d_out=1.0)` returns the gradient(s); forward: `df(*args, *d_args)`
    returns `(out, d_out)`. Argument kinds are assumed from annotations and defaults
    (float where a parameter is annotated or defaulted as float), else generic.
    """
    positions, single = _positions(f, wrt)
    _check_mode(mode)
    return pipeline.get(f, mode, positions, pipeline.static_kinds(f), single,
                        checkpoint=_reverse_only(mode, checkpoint)).func


def _reverse_only(mode, checkpoint):
    """`checkpoint=` is a reverse-mode option: forward mode keeps nothing to checkpoint."""
    pipeline.check_checkpoint(checkpoint)
    if mode != "reverse" and checkpoint not in (None, False):
        raise SrcadError("checkpoint= is an option of reverse mode; forward mode keeps no "
                         "values to checkpoint")
    return checkpoint if mode == "reverse" else None


def _check_mode(mode):
    if mode not in ("reverse", "forward"):
        shown = repr(mode) if isinstance(mode, str) else type(mode).__name__
        raise SrcadError(f"unknown mode {shown}: use 'forward' or 'reverse'")


def source(f, mode: str = "reverse", wrt=0, checkpoint=None) -> str:
    """The generated derivative source of `f`, valid standalone Python."""
    positions, single = _positions(f, wrt)
    _check_mode(mode)
    return pipeline.get(f, mode, positions, pipeline.static_kinds(f), single,
                        checkpoint=_reverse_only(mode, checkpoint)).text


def ssa(f) -> str:
    """`f` lowered to SSA three-address form."""
    return pipeline.ssa(f)


def _full_args(f, args, what):
    """`args` given positionally, completed with `f`'s defaults."""
    if len(args) == len(pipeline.params_of(f)):
        return tuple(args)
    bind = _Binder(f)
    if len(args) > bind.n:
        raise SrcadError(f"{what}: {_name(f)} takes {bind.n} arguments, {len(args)} given")
    try:
        return bind(tuple(args), {})
    except TypeError as e:
        raise SrcadError(f"{what}: {e}") from None


def _check_like(f, what, label, of, t, like):
    """A tangent or cotangent `t` (called `label`) for the value `like` (called `of`):
    same structure and shape, real."""
    if isinstance(like, (tuple, list)):
        if not isinstance(t, (tuple, list)) or len(t) != len(like):
            raise SrcadError(f"{what}: the {label} must be a {type(like).__name__} of "
                             f"{len(like)} items, like {of}")
        for k, (tk, lk) in enumerate(zip(t, like)):
            _check_like(f, what, f"{label}[{k}]", f"{of}[{k}]", tk, lk)
        return
    if pipeline.is_complex(t):
        raise SrcadError(f"{what}: the {label} is complex: srcad differentiates real-valued "
                         "functions of real arguments only")
    if not (isinstance(t, numbers.Real) or
            (isinstance(t, (np.ndarray, np.generic)) and np.asarray(t).dtype.kind in "fiub")):
        raise SrcadError(f"{what}: the {label} must be a float or a real array, not a "
                         f"{type(t).__name__}")
    if np.shape(t) != np.shape(like):
        raise SrcadError(f"{what}: the {label} has shape {np.shape(t)}, but {of} has shape "
                         f"{np.shape(like)}")


def jvp(f, primals, tangents):
    """Forward mode: `(f(*primals), J @ tangents)`. Parameters left out of `primals` take
    their defaults (and no tangent)."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise SrcadError("jvp: primals and tangents must have the same length")
    params = pipeline.params_of(f)
    full = _full_args(f, primals, "jvp")
    for i, (p, t) in enumerate(zip(primals, tangents)):
        if pipeline.is_complex(p):
            raise SrcadError(f"argument {params[i]!r} of {_name(f)} is complex: srcad "
                             "differentiates real-valued functions of real arguments only")
        _check_like(f, "jvp", f"tangent for {params[i]}", f"argument {params[i]}", t, p)
    positions = _float_positions(primals)            # integers carry no tangent
    full, kinds = _prepare(full, positions)
    df = _func(pipeline.get(f, "forward", positions, kinds, False))
    return df(*full, *(tangents[i] for i in positions))


def _float_positions(args) -> tuple:
    return tuple(i for i, a in enumerate(args) if pipeline.kind_of(a) != INT)


def vjp(f, *primals, checkpoint=None):
    """Reverse mode: `(out, pullback)`; `pullback(cotangent)` returns one gradient per
    primal given (parameters left out take their defaults). `checkpoint`: as for grad."""
    pipeline.check_checkpoint(checkpoint)
    full = _full_args(f, primals, "vjp")
    positions = _float_positions(primals)            # integers get a zero gradient
    full, kinds = _prepare(full, positions)
    df = _func(pipeline.get(f, "reverse", positions, kinds, False, True,
                            checkpoint=checkpoint))
    out = _primal(f, full)

    def pullback(cotangent):
        _check_like(f, "vjp", "cotangent", f"the output of {_name(f)}", cotangent, out)
        grads = iter(df(*full, cotangent)[1])
        return tuple(next(grads) if i in positions else 0.0 for i in range(len(primals)))
    return out, pullback


def _units(like):
    """The unit directions of `like`'s entries, each shaped and typed like `like` (a Python
    float for a Python scalar, the float dtype of an array)."""
    shape = np.shape(like)
    dt = np.result_type(like) if np.issubdtype(np.result_type(like), np.floating) else float
    for i in range(int(np.prod(shape))):
        e = np.zeros(shape, dtype=dt)
        e.flat[i] = 1
        yield float(e) if not isinstance(like, np.ndarray) and not shape else e


def _float_dtype(a):
    return a.dtype if a.dtype.kind == "f" else np.float64


def _zero(like):
    if isinstance(like, (tuple, list)):
        return type(like)(_zero(v) for v in like)
    if isinstance(like, np.ndarray):
        return np.zeros(like.shape, dtype=_float_dtype(like))
    return 0.0


def _jacobian(f, wrt, kind, label=None, checkpoint=None):
    """`jacfwd`/`jacrev`: the Jacobian, shaped `out.shape + arg.shape`, one forward pass per
    input entry or one reverse pass per output entry. A tuple `wrt` gives a tuple of
    Jacobians, a tuple output a tuple over its items (outermost), as in JAX."""
    positions, single = _positions(f, wrt)
    bind = _Binder(f)

    @functools.wraps(f)
    def jac(*args, **kwargs):
        args, kinds = _prepare(bind(args, kwargs), positions)
        inner = _scalar_inside(f, kinds)
        if inner is not None:
            _check_scalar(inner, _primal(inner, args), "hessian" if label == "hessian" else "grad")
        if kind == "jacfwd":
            per_arg = []
            out = None
            for p in positions:
                df = _func(pipeline.get(f, "forward", (p,), kinds, True))
                pairs = [df(*args, e) for e in _units(args[p])]
                if out is None:
                    out = pairs[0][0] if pairs else _primal(f, args)
                per_arg.append([t for _, t in pairs])
            items = out if isinstance(out, (tuple, list)) else (out,)
            blocks = [[_columns([c[k] if isinstance(out, (tuple, list)) else c for c in cols],
                                np.shape(o), np.shape(args[p]))
                       for cols, p in zip(per_arg, positions)] for k, o in enumerate(items)]
        else:
            df = _func(pipeline.get(f, "reverse", positions, kinds, False,
                                    checkpoint=checkpoint))
            out = _primal(f, args)
            items = out if isinstance(out, (tuple, list)) else (out,)
            blocks = []
            for k, o in enumerate(items):
                rows = []
                for e in _units(o):
                    ct = e
                    if isinstance(out, (tuple, list)):
                        ct = type(out)(e if j == k else _zero(v) for j, v in enumerate(out))
                    rows.append(df(*args, ct))
                blocks.append([_rows([r[i] for r in rows], np.shape(o), np.shape(args[p]))
                               for i, p in enumerate(positions)])
        per_out = [b[0] if single else tuple(b) for b in blocks]
        return type(out)(per_out) if isinstance(out, (tuple, list)) else per_out[0]
    jac.__srcad_transform__ = (label or kind, f, positions, single)
    return jac


def _columns(cols, out_shape, arg_shape):
    """Forward-mode columns d out / d x_j, one per entry j of the argument."""
    if not cols:
        return np.zeros(out_shape + arg_shape)
    cols = [np.broadcast_to(np.asarray(c), out_shape) for c in cols]
    return np.stack(cols, axis=-1).reshape(out_shape + arg_shape)


def _rows(rows, out_shape, arg_shape):
    """Reverse-mode rows d out_i / d x, one per entry i of the output."""
    if not rows:
        return np.zeros(out_shape + arg_shape)
    rows = [np.broadcast_to(np.asarray(r), arg_shape) for r in rows]
    return np.stack(rows).reshape(out_shape + arg_shape)


def jacfwd(f, wrt=0):
    """The Jacobian of `f` with respect to argument(s) `wrt`, one forward pass per input
    entry; a tuple `wrt` gives a tuple of Jacobians."""
    return _jacobian(f, wrt, "jacfwd")


def jacrev(f, wrt=0, checkpoint=None):
    """The Jacobian of `f` with respect to argument(s) `wrt`, one reverse pass per output
    entry; a tuple `wrt` gives a tuple of Jacobians. `checkpoint`: as for grad."""
    pipeline.check_checkpoint(checkpoint)
    return _jacobian(f, wrt, "jacrev", checkpoint=checkpoint)


def hessian(f, wrt=0):
    """The Hessian of scalar `f` (forward over reverse: the Jacobian of the gradient). A
    tuple `wrt` gives the blocks `H[i][j]`, shaped `arg_i.shape + arg_j.shape`."""
    return _jacobian(grad(f, wrt), wrt, "jacfwd", label="hessian")
