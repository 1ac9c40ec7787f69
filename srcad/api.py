"""The public transformations: grad, value_and_grad, jvp, vjp, jacfwd, jacrev, hessian."""
from __future__ import annotations

import functools
import gc
import inspect
import numbers
import types
import weakref

import numpy as np

from . import backends, pipeline, runtime
from .errors import SrcadError
from .frontend import describe
from .activity import SEQ, SEQS
from . import funcs
from .funcs import is_function
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
        items = [_copied(v) for v in value]
        return type(value)(*items) if hasattr(type(value), "_fields") else type(value)(items)
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------- containers as trees
# A container argument (list, tuple, NamedTuple, dict, dataclass, object: pipeline.is_container)
# is a tree whose leaves are its floats and arrays; its derivatives have its structure, leaf
# by leaf (runtime.grad_like builds them in generated code: ints and bools get 0.0, what is
# no number None). The API checks tangents and cotangents and builds Jacobians leaf by leaf.

def _children(x) -> list:
    """(key, item) pairs of container `x`: positions, dict keys or field names."""
    if isinstance(x, (list, tuple)):
        return list(enumerate(x))
    return list(runtime._fields(x).items())


def _leaves(x, path=(), every_leaf=False) -> list:
    """(path, leaf) for every float or real-array leaf of `x` (every leaf that is no
    container), in order (x itself when it is no container: path ())."""
    if pipeline.is_container(x):
        return [pl for k, v in _children(x) for pl in _leaves(v, path + (k,), every_leaf)]
    if every_leaf or _differentiable_leaf(x):
        return [(path, x)]
    return []


def _differentiable_leaf(x) -> bool:
    return (isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_, numbers.Integral))) \
        or (isinstance(x, (np.ndarray, np.floating)) and np.asarray(x).dtype.kind == "f")


def _at(x, path):
    """The item of derivative `x` at `path` (0.0 inside a zero derivative)."""
    for k in path:
        if type(x) is float and x == 0.0:
            return x
        x = x[k] if isinstance(x, (list, tuple, dict)) else runtime._fields(x)[k]
    return x


def _rebuilt(like, leaf, every_leaf=False):
    """`like`'s structure with each leaf replaced by `leaf(path, value)`; leaves that are
    not differentiated get 0.0 (ints, bools) or None (what is no number), unless
    `every_leaf`."""
    def go(x, path):
        if pipeline.is_container(x):
            items = {k: go(v, path + (k,)) for k, v in _children(x)}
            if isinstance(x, (list, tuple)):
                vals = list(items.values())
                if type(x) is list:
                    return vals
                return type(x)(*vals) if hasattr(type(x), "_fields") else tuple(vals)
            return runtime._rebuild(x, items)
        if every_leaf or _differentiable_leaf(x):
            return leaf(path, x)
        return 0.0 if isinstance(x, (numbers.Integral, np.bool_)) else None
    return go(like, ())


def _primal(f, args):
    """`f(*args)` on copies of the arguments: Python's `f` may change its arguments in place,
    and the derivative called next must still see the point the user gave. `args` is the
    full list a derivative takes (_Binder's): keyword-only parameters go by keyword."""
    args = [_copied(a) for a in args]
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return f(*args)
    if len(params) == len(args) and any(p.kind is p.KEYWORD_ONLY for p in params):
        return f(*(a for p, a in zip(params, args) if p.kind is not p.KEYWORD_ONLY),
                 **{p.name: a for p, a in zip(params, args) if p.kind is p.KEYWORD_ONLY})
    return f(*args)


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


def _backend(backend) -> str:
    """`backend`, checked: a known one, and for "numba", Numba installed."""
    backends.check(backend)
    if backend == "numba":
        from .backends import numba
        numba.require()
    return backend


def _has_star(f) -> bool:
    """`f` is a user function with `*args` or `**kwargs` (its derivative is built per call
    shape), or a srcad transform of one."""
    if not isinstance(f, types.FunctionType):
        return False
    own = vars(f)
    if "__srcad_star__" in own:
        return True
    return "__srcad_transform__" not in own and "__wrapped__" not in own and \
        bool(f.__code__.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS))


def _flat(sig, name, args, kwargs):
    """A call's arguments bound as Python binds them to `sig`, defaults applied, as one
    positional list (the `*args` items in place, then keyword-only parameters, then the
    `**kwargs` values), with the number of `*args` items and the `**kwargs` keys."""
    try:
        b = sig.bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{name}(): {e}") from None
    b.apply_defaults()
    flat, nvar, kwnames = [], 0, ()
    for p in sig.parameters.values():
        v = b.arguments[p.name]
        if p.kind is p.VAR_POSITIONAL:
            flat += v
            nvar = len(v)
        elif p.kind is p.VAR_KEYWORD:
            flat += v.values()
            kwnames = tuple(v)
        else:
            flat.append(v)
    return tuple(flat), nvar, kwnames


def _star(f, make):
    """`make(f)` for `f` with `*args` or `**kwargs`: each call binds its arguments as Python
    does and calls `make` of f's copy taking them all positionally (funcs.fixed), made once
    per call shape; `wrt` positions count the arguments as the call passes them."""
    sig = inspect.signature(f)
    made: dict = {}

    def fixed(nvar, kwnames):
        w = made.get((nvar, kwnames))
        if w is None:
            w = made[nvar, kwnames] = make(funcs.fixed(f, nvar, kwnames))
        return w

    @functools.wraps(f)
    def star(*args, **kwargs):
        flat, nvar, kwnames = _flat(sig, _name(f), args, kwargs)
        return fixed(nvar, kwnames)(*flat)
    star.__dict__.pop("__srcad_transforms__", None)
    star.__srcad_star__ = fixed
    return star


def _star_primals(f, primals):
    """jvp and vjp of `f` with `*args`: (f's positional copy for this call, all its
    arguments), the defaults of parameters left out appended."""
    flat, nvar, kwnames = _flat(inspect.signature(f), _name(f), primals, {})
    return funcs.fixed(f, nvar, kwnames), flat


def _transform(f, wrt, with_value, kind, backend="python", checkpoint=None):
    """The wrapper `grad(f, wrt)` returns: made once per function, `wrt` and backend (a
    derivative called inside a loop, `srcad.grad(p)(x)`, pays for it once), then reused."""
    key = (kind, wrt, backend, checkpoint)
    if isinstance(f, types.FunctionType):
        # kept on the function itself (a cycle the collector frees with it, where a global
        # table would keep every function and its derivatives alive), and only for `f`
        # itself: functools.wraps copies `__dict__` into a decorator's wrapper
        made = f.__dict__.get("__srcad_transforms__")
        if made is None or made[0] is not f:
            made = f.__dict__["__srcad_transforms__"] = (f, {})
        try:
            w = made[1].get(key)
        except TypeError:                # an unhashable wrt (a list): not kept
            return _make_transform(f, wrt, with_value, kind, backend, checkpoint)
        if w is None:
            w = made[1][key] = _make_transform(f, wrt, with_value, kind, backend, checkpoint)
        return w
    return _make_transform(f, wrt, with_value, kind, backend, checkpoint)


def _make_transform(f, wrt, with_value, kind, backend="python", checkpoint=None):
    backend = _backend(backend)
    if _has_star(f):
        return _star(f, lambda g: _transform(g, wrt, with_value, kind, backend, checkpoint))
    pipeline.check_checkpoint(checkpoint)
    positions, single = _positions(f, wrt)
    pipeline.check_checkpoint(checkpoint)
    bind = _Binder(f)
    cache: dict = {}
    scalar_cache: dict = {}       # argument types -> (df, valid): all-scalar, scalar output
    kinds_of = pipeline.kinds_of
    n = bind.n

    def entry(args, kinds):
        args2, kinds2 = _prepare(args, positions)
        d = pipeline.get(f, "reverse", positions, kinds2, single, with_value, backend=backend,
                             checkpoint=checkpoint)
        checked = d.out_kind not in _SCALAR_KINDS
        if checked and not with_value:
            d = pipeline.get(f, "reverse", positions, kinds2, single, True, backend=backend,
                             checkpoint=checkpoint)
        df = _func(d)
        if any(kinds2[i] in (SEQ, SEQS) or isinstance(kinds2[i], funcs.ObjArg) for i in positions):
            df = _public_grads(df, positions, single, with_value or checked)
        return args2, kinds2, (df, d.valid, checked, _scalar_inside(f, kinds2))

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
        # the cyclic collector paused while the derivative runs: its tape (stacks, residual
        # tuples, per helper call) holds no cycles, yet each collection walks all of it
        # (3x the time of a derivative of a recursion a million calls deep)
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            if checked:
                return _run_checked(f, df, args, with_value)
            if inner is None and all(k in _SCALAR_KINDS for k in kinds) and \
                    kinds == kinds_of(args):
                scalar_cache[tuple(map(type, args))] = e
            return df(*args)
        finally:
            if paused:
                gc.enable()

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
    wrapper.__dict__.pop("__srcad_transforms__", None)    # f's own, copied by functools.wraps
    wrapper.__srcad_transform__ = (kind, f, positions, single)
    return wrapper


_MAKERS: dict = {}      # wrapper source -> its compiled maker (the source names no function)
def _public_grads(df, positions, single, with_value):
    """`df` returning each container argument's gradient as the public rule has it: the
    container's structure, float and float-array leaves differentiated, int and bool
    leaves 0.0, and None for what is no number (a str, None, a function)."""
    @functools.wraps(df)
    def public(*args):
        out = df(*args)
        value, grads = out if with_value else (None, out)
        gs = (grads,) if single else grads
        gs = tuple(_rebuilt(args[p], lambda path, _, g=g: _at(g, path))
                   if pipeline.is_container(args[p]) else g for p, g in zip(positions, gs))
        grads = gs[0] if single else gs
        return (value, grads) if with_value else grads
    return public


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
    make = _MAKERS.get(src)
    if make is None:                   # one compile per signature, not per grad(f) call
        namespace: dict = {}
        exec(compile(src, "<srcad wrapper>", "exec"), namespace)
        make = _MAKERS[src] = namespace["_srcad_make"]
    wrapper = make(scalar_cache, call, _NOARG, bind.default)
    wrapper.__defaults__ = defaults or None
    functools.update_wrapper(wrapper, f)
    return wrapper


def grad(f=None, wrt=0, backend="python", checkpoint=None):
    """The gradient of scalar `f` with respect to argument(s) `wrt`; also a decorator.
    `backend="numba"` compiles the derivative with Numba; `checkpoint`: True (or a number
    of snapshots) checkpoints f's loops instead of keeping every value they overwrite;
    False not even those marked with srcad.checkpoint."""
    if f is None:
        return lambda g: grad(g, wrt, backend, checkpoint)
    if isinstance(f, (int, str, tuple, list)):
        return lambda g: grad(g, f, backend, checkpoint)
    return _transform(f, wrt, False, "grad", backend, checkpoint)


def value_and_grad(f=None, wrt=0, backend="python", checkpoint=None):
    """Like `grad`, returning `(value, gradient)`."""
    if f is None:
        return lambda g: value_and_grad(g, wrt, backend, checkpoint)
    if isinstance(f, (int, str, tuple, list)):
        return lambda g: value_and_grad(g, f, backend, checkpoint)
    return _transform(f, wrt, True, "value_and_grad", backend, checkpoint)


def derivative(f, mode: str = "reverse", wrt=0, backend="python", checkpoint=None):
    """The compiled derivative function of `f` (generated code), cached.

    reverse: `df(*args, d_out=1.0)` returns the gradient(s); forward: `df(*args, *d_args)`
    returns `(out, d_out)`. Argument kinds are assumed from annotations and defaults
    (float where a parameter is annotated or defaulted as float), else generic.
    """
    backend = _backend(backend)
    positions, single = _positions(f, wrt)
    _check_mode(mode)
    return pipeline.get(f, mode, positions, pipeline.static_kinds(f), single,
                        backend=backend, checkpoint=_reverse_only(mode, checkpoint)).func


def _reverse_only(mode, checkpoint):
    """`checkpoint=` is a reverse-mode option: forward mode keeps nothing to checkpoint."""
    pipeline.check_checkpoint(checkpoint)
    if mode != "reverse" and checkpoint not in (None, False):
        raise SrcadError("checkpoint= is an option of reverse mode; forward mode keeps no "
                         "values to checkpoint")
    return checkpoint if mode == "reverse" else None


def _check_mode(mode):
    if not isinstance(mode, str) or mode not in ("reverse", "forward"):
        shown = repr(mode) if isinstance(mode, str) else type(mode).__name__
        raise SrcadError(f"unknown mode {shown}: use 'forward' or 'reverse'")


def source(f, mode: str = "reverse", wrt=0, backend="python", checkpoint=None,
           args=None) -> str:
    """The generated derivative source of `f`, valid standalone Python (for
    `backend="numba"`, the source Numba compiles). `args`, a call's arguments: the source
    built for them, as a call builds it (their kinds: scalars, shapes, containers, the
    classes of objects whose methods `f` calls); without them, parameters annotated or
    defaulted as `float` are scalars and the rest arrays."""
    backend = _backend(backend)
    positions, single = _positions(f, wrt)
    _check_mode(mode)
    kinds = pipeline.static_kinds(f) if args is None else \
        pipeline.kinds_of(_full_args(f, tuple(args), "srcad.source"))
    return pipeline.get(f, mode, positions, kinds, single,
                        backend=backend, checkpoint=_reverse_only(mode, checkpoint)).text


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


def _public(g, like):
    """The derivative `g` of a value `like` as the API returns it (see `_public_grads`)."""
    if not pipeline.is_container(like):
        return g
    return _rebuilt(like, lambda path, leaf: runtime.grad_like(_at(g, path), leaf))


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
    if pipeline.is_container(like):             # a dict, dataclass or object: by field
        kind = "dict" if isinstance(like, dict) else type(like).__name__
        if not pipeline.is_container(t) or isinstance(t, (list, tuple)) or \
                list(runtime._fields(t)) != list(runtime._fields(like)):
            raise SrcadError(f"{what}: the {label} must be a {kind} with the keys "
                             f"{list(runtime._fields(like))}, like {of}")
        tf = runtime._fields(t)
        for k, lk in runtime._fields(like).items():
            _check_like(f, what, f"{label}[{k!r}]", f"{of}[{k!r}]", tf[k], lk)
        return
    if of.endswith("]") and not _differentiable_leaf(like):
        return                                   # an item not differentiated: any tangent
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


def jvp(f, primals, tangents, backend="python", batched=False):
    """Forward mode: `(f(*primals), J @ tangents)`. Parameters left out of `primals` take
    their defaults (and no tangent). `batched=True`: every tangent leaf has a leading axis
    of B directions (the same B for all), and so has every output tangent leaf; one pass
    pushes them all (the numba backend runs one pass per direction)."""
    backend = _backend(backend)
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise SrcadError("jvp: primals and tangents must have the same length")
    if _has_star(f):
        g, flat = _star_primals(f, primals)
        return jvp(g, flat, tangents + tuple(_zero(v) for v in flat[len(primals):]),
                   backend, batched)
    params = pipeline.params_of(f)
    full = _full_args(f, primals, "jvp")
    batch = _batch_size(primals, tangents, params) if batched else None
    for i, (p, t) in enumerate(zip(primals, tangents)):
        if is_function(p):
            continue                                 # a function carries no tangent
        if pipeline.is_complex(p):
            raise SrcadError(f"argument {params[i]!r} of {_name(f)} is complex: srcad "
                             "differentiates real-valued functions of real arguments only")
        _check_like(f, "jvp", f"tangent for {params[i]}", f"argument {params[i]}",
                    t if batch is None else runtime.bslice(t, 0), p)
    positions = _float_positions(primals)            # integers carry no tangent
    full, kinds = _prepare(full, positions)
    tangents = tuple(_rebuilt(p, lambda path, _, t=t: _at(t, path))
                     if pipeline.is_container(p) else t for p, t in zip(primals, tangents))
    if batch is not None and backend != "python":   # compiled: one pass per direction
        df = _func(pipeline.get(f, "forward", positions, kinds, False, backend=backend))
        pairs = [df(*full, *(runtime.bslice(tangents[i], k) for i in positions))
                 for k in range(batch)]
        out = pairs[0][0] if pairs else _primal(f, full)
        dots = [_public(t, out) for _, t in pairs]
        return out, _public_batched(runtime.bjoin(dots) if dots else 0.0, out, batch)
    if batch is not None:
        df = _func(pipeline.get(f, "batched", positions, kinds, False))
        out, out_dot = df(*full, *(tangents[i] for i in positions), batch)
        return out, _public_batched(out_dot, out, batch)
    df = _func(pipeline.get(f, "forward", positions, kinds, False, backend=backend))
    out, out_dot = df(*full, *(tangents[i] for i in positions))
    return out, _public(out_dot, out)


def _batch_size(primals, tangents, params) -> int:
    """B, the leading axis every batched tangent leaf has (checked to be the same)."""
    sizes = []

    def walk(t, like, label):
        if pipeline.is_container(like):
            if isinstance(like, (list, tuple)) and isinstance(t, (list, tuple)) and \
                    len(t) == len(like):
                for k, (tk, lk) in enumerate(zip(t, like)):
                    walk(tk, lk, f"{label}[{k}]")
            elif not isinstance(like, (list, tuple)) and pipeline.is_container(t) and \
                    not isinstance(t, (list, tuple)):
                tf = runtime._fields(t)
                for k, lk in runtime._fields(like).items():
                    if k in tf:
                        walk(tf[k], lk, f"{label}[{k!r}]")
            return                                   # a mismatch: _check_like names it
        if not _differentiable_leaf(like):
            return
        if np.ndim(t) == 0 or (sizes and np.shape(t)[0] != sizes[0][0]):
            first = f" (the {sizes[0][1]} has {sizes[0][0]})" if sizes else ""
            raise SrcadError(f"jvp(batched=True): the {label} must have a leading batch axis "
                             f"of the same size for every tangent, then the "
                             f"argument's shape {np.shape(like)}; it has shape {np.shape(t)}"
                             f"{first}")
        sizes.append((np.shape(t)[0], label))
    for i, (p, t) in enumerate(zip(primals, tangents)):
        if not is_function(p):
            walk(t, p, f"tangent for {params[i] if i < len(params) else i}")
    if not sizes:
        raise SrcadError("jvp(batched=True): no tangent with a batch axis (no float argument)")
    return sizes[0][0]


def _public_batched(g, like, batch):
    """A batched output tangent as the API returns it: each leaf (batch,) + the output
    leaf's shape, in its float dtype."""
    def one(t, x):
        dt = _float_dtype(np.asarray(x)) if isinstance(x, (np.ndarray, np.generic)) else \
            np.float64
        shape = (batch,) + np.shape(x)
        if type(t) is np.ndarray and t.shape == shape and t.dtype == dt:
            return t
        return np.array(np.broadcast_to(t, shape), dtype=dt)
    if not pipeline.is_container(like):
        return one(g, like)
    return _rebuilt(like, lambda path, leaf: one(_at(g, path), leaf))


def _float_positions(args) -> tuple:
    """The positions that carry a derivative: not integers, not functions."""
    return tuple(i for i, a in enumerate(args)
                 if pipeline.kind_of(a) != INT and not is_function(a))


def jvp_transform(f, positions, n):
    """`w(*args, *tangents)`: f's forward derivative at its `n` arguments `args` (a call
    of srcad.jvp inside a differentiated function is a call of `w`)."""
    def jvp_of(*args):
        full, kinds = _prepare(args[:n], positions)
        df = _func(pipeline.get(f, "forward", positions, kinds, False))
        return df(*full, *args[n:])
    jvp_of.__srcad_transform__ = ("jvp", f, positions, False)
    jvp_of.__qualname__ = jvp_of.__name__ = f"jvp_{getattr(f, '__name__', 'f')}"
    return jvp_of


def vjp_transform(f, positions, n):
    """`w(*args, cotangent)`: f's gradients at `args` for `positions`, scaled by the
    cotangent (a pullback of srcad.vjp inside a differentiated function calls `w`)."""
    def vjp_of(*args):
        full, kinds = _prepare(args[:n], positions)
        df = _func(pipeline.get(f, "reverse", positions, kinds, False))
        return df(*full, args[n])
    vjp_of.__srcad_transform__ = ("vjp", f, positions, False)
    vjp_of.__qualname__ = vjp_of.__name__ = f"vjp_{getattr(f, '__name__', 'f')}"
    return vjp_of


def vjp(f, *primals, backend="python", checkpoint=None):
    """Reverse mode: `(out, pullback)`; `pullback(cotangent)` returns one gradient per
    primal given (parameters left out take their defaults). `checkpoint`: as for grad."""
    backend = _backend(backend)
    pipeline.check_checkpoint(checkpoint)
    if _has_star(f):
        g, flat = _star_primals(f, primals)
        out, pull = vjp(g, *flat, backend=backend, checkpoint=checkpoint)
        return out, lambda cotangent: pull(cotangent)[:len(primals)]
    full = _full_args(f, primals, "vjp")
    positions = _float_positions(primals)            # integers get a zero gradient
    full, kinds = _prepare(full, positions)
    d = None
    if backend != "python" or checkpoint is not None:
        # compiled, or checkpointed: the reverse derivative, run at each pullback
        df = _func(pipeline.get(f, "reverse", positions, kinds, False, True, backend=backend,
                                checkpoint=checkpoint))
        out = _primal(f, full)
    else:
        d = pipeline.get(f, "split", positions, kinds, False)
    if d is not None and d.mutates:   # f changes an argument in place: run it afresh each time
        df = _func(pipeline.get(f, "reverse", positions, kinds, False, True))
        out = _primal(f, full)
    elif d is not None:
        # the forward half runs once, here: what the pullback uses is what made `out` (the
        # same random draws; a print prints once)
        fwd, bwd = d.func
        out, residuals = fwd(*full)

    def pullback(cotangent):
        _check_like(f, "vjp", "cotangent", f"the output of {_name(f)}", cotangent, out)
        grads = iter(df(*full, cotangent)[1] if d is None or d.mutates else
                     bwd(residuals, cotangent))
        return tuple(_public(next(grads), full[i]) if i in positions else 0.0
                     for i in range(len(primals)))
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
    if pipeline.is_container(like):
        return _rebuilt(like, lambda _, v: _zero(v), every_leaf=True)
    if isinstance(like, np.ndarray):
        return np.zeros(like.shape, dtype=_float_dtype(like))
    return 0.0


def _jacobian(f, wrt, kind, label=None, backend="python", checkpoint=None):
    """`jacfwd`/`jacrev`: the Jacobian, shaped `out.shape + arg.shape`, one forward pass per
    input entry or one reverse pass per output entry. A tuple `wrt` gives a tuple of
    Jacobians, a tuple output a tuple over its items (outermost), as in JAX; a container
    argument (or output) gives its structure, with a block per leaf (the output's outermost)."""
    backend = _backend(backend)
    if _has_star(f):
        return _star(f, lambda g: _jacobian(g, wrt, kind, label, backend, checkpoint))
    positions, single = _positions(f, wrt)
    bind = _Binder(f)

    @functools.wraps(f)
    def jac(*args, **kwargs):
        args, kinds = _prepare(bind(args, kwargs), positions)
        inner = _scalar_inside(f, kinds)
        if inner is not None:
            _check_scalar(inner, _primal(inner, args), "hessian" if label == "hessian" else "grad")
        ins = {p: _input_leaves(args[p]) for p in positions}
        if kind == "jacfwd" and backend == "python":
            cols = {}                      # (position, input path) -> batched output tangent
            out = None
            for p in positions:
                df = _func(pipeline.get(f, "batched", (p,), kinds, True))
                for path, leaf in ins[p]:
                    n = int(np.prod(np.shape(leaf)))
                    if n:
                        out, cols[p, path] = df(*args, _batched_seed(args[p], path, leaf, n), n)
                    else:
                        cols[p, path] = None
            if out is None:
                out = _primal(f, args)

            def block(opath, o, p, path, leaf):
                t = cols[p, path]
                shape = np.shape(o) + np.shape(leaf)
                if t is None:
                    return np.zeros(shape)
                t = _at(t, opath)
                n = int(np.prod(np.shape(leaf)))
                t = np.broadcast_to(np.asarray(t), (n,) + np.shape(o))
                return np.moveaxis(t, 0, -1).reshape(shape)
        elif kind == "jacfwd":             # compiled: one forward pass per input entry
            cols = {}                      # (position, input path) -> output tangents
            out = None
            for p in positions:
                df = _func(pipeline.get(f, "forward", (p,), kinds, True, backend=backend))
                for path, leaf in ins[p]:
                    pairs = [df(*args, _seed(args[p], path, e)) for e in _units(leaf)]
                    if pairs:
                        out = pairs[0][0]
                    cols[p, path] = [t for _, t in pairs]
            if out is None:
                out = _primal(f, args)

            def block(opath, o, p, path, leaf):
                return _columns([_at(c, opath) for c in cols[p, path]], np.shape(o),
                                np.shape(leaf))
        else:
            df = _func(pipeline.get(f, "reverse", positions, kinds, False, backend=backend,
                                    checkpoint=checkpoint))
            out = _primal(f, args)
            rows = {opath: [df(*args, _seed(out, opath, e)) for e in _units(o)]
                    for opath, o in _output_leaves(out)}

            def block(opath, o, p, path, leaf):
                i = positions.index(p)
                return _rows([_at(r[i], path) for r in rows[opath]], np.shape(o), np.shape(leaf))

        def per_output(opath, o):
            per_arg = [_rebuilt(args[p], lambda path, leaf, p=p: block(opath, o, p, path, leaf))
                       if pipeline.is_container(args[p]) else block(opath, o, p, (), args[p])
                       for p in positions]
            return per_arg[0] if single else tuple(per_arg)
        if pipeline.is_container(out):
            return _rebuilt(out, per_output, every_leaf=True)
        return per_output((), out)
    jac.__srcad_transform__ = (label or kind, f, positions, single)
    return jac


def _input_leaves(a) -> list:
    """(path, leaf) of an argument a Jacobian is taken with respect to (itself if no container)."""
    return _leaves(a) if pipeline.is_container(a) else [((), a)]


def _output_leaves(out) -> list:
    if not pipeline.is_container(out):
        return [((), out)]
    return _leaves(out, every_leaf=True)


def _batched_seed(like, path, leaf, n):
    """The unit directions of `leaf`'s n entries stacked on a leading axis, as a batched
    tangent for `like` (zeros at its other leaves)."""
    shape = np.shape(leaf)
    dt = np.result_type(leaf) if np.issubdtype(np.result_type(leaf), np.floating) else float
    e = np.eye(n, dtype=dt).reshape((n,) + shape)
    if not pipeline.is_container(like):
        return e
    return _rebuilt(like, lambda q, v: e if q == path else runtime.bzeros(v, n), every_leaf=True)


def _seed(like, path, e):
    """A tangent or cotangent for `like`: `e` at the leaf `path`, zeros elsewhere."""
    if not pipeline.is_container(like):
        return e
    return _rebuilt(like, lambda q, v: e if q == path else _zero(v), every_leaf=True)


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


def jacfwd(f, wrt=0, backend="python"):
    """The Jacobian of `f` with respect to argument(s) `wrt`, one forward pass per input
    entry; a tuple `wrt` gives a tuple of Jacobians."""
    return _jacobian(f, wrt, "jacfwd", backend=backend)


def jacrev(f, wrt=0, backend="python", checkpoint=None):
    """The Jacobian of `f` with respect to argument(s) `wrt`, one reverse pass per output
    entry; a tuple `wrt` gives a tuple of Jacobians. `checkpoint`: as for grad."""
    pipeline.check_checkpoint(checkpoint)
    return _jacobian(f, wrt, "jacrev", backend=backend, checkpoint=checkpoint)


def hessian(f, wrt=0, backend="python"):
    """The Hessian of scalar `f` (forward over reverse: the Jacobian of the gradient). A
    tuple `wrt` gives the blocks `H[i][j]`, shaped `arg_i.shape + arg_j.shape`; with
    `backend="numba"` the forward pass over srcad's gradient code is compiled by Numba."""
    return _jacobian(grad(f, wrt), wrt, "jacfwd", label="hessian", backend=backend)
