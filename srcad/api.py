"""The public transformations: grad, value_and_grad, jvp, vjp, jacfwd, jacrev, hessian."""
from __future__ import annotations

import functools
import inspect

import numpy as np

from . import pipeline
from .errors import SrcadError


def _positions(f, wrt) -> tuple[tuple, bool]:
    """`wrt` (int, name or tuple of them) as parameter positions, and whether it was a tuple."""
    params = pipeline.params_of(f)
    single = not isinstance(wrt, (tuple, list))
    items = (wrt,) if single else tuple(wrt)
    out = []
    for w in items:
        if isinstance(w, str):
            if w not in params:
                raise SrcadError(f"{getattr(f, '__name__', f)} has no parameter {w!r}")
            out.append(params.index(w))
        elif isinstance(w, int) and -len(params) <= w < len(params):
            out.append(w % len(params))
        else:
            raise SrcadError(f"wrt={w!r} does not name a parameter of {getattr(f, '__name__', f)}")
    return tuple(out), single


class _Binder:
    """Turns a call's arguments into the full positional list the derivative takes."""

    def __init__(self, f):
        self.sig = inspect.signature(f)
        self.n = len(self.sig.parameters)

    def __call__(self, args, kwargs):
        if not kwargs and len(args) == self.n:
            return args
        b = self.sig.bind(*args, **kwargs)
        b.apply_defaults()
        return tuple(b.arguments.values())


def _prepare(args, positions):
    """Argument kinds for the cache key; integer `wrt` arguments become floats."""
    kinds = pipeline.kinds_of(args)
    if any(kinds[i] == "int" for i in positions):
        args = tuple(float(a) if i in positions and kinds[i] == "int" else a
                     for i, a in enumerate(args))
        kinds = pipeline.kinds_of(args)
    return args, kinds


def _transform(f, wrt, with_value, kind):
    positions, single = _positions(f, wrt)
    bind = _Binder(f)
    cache: dict = {}
    scalar_cache: dict = {}
    kinds_of = pipeline.kinds_of

    n = bind.n

    def call(args):
        kinds = kinds_of(args)
        df = cache.get(kinds)
        if df is None:
            args2, kinds2 = _prepare(args, positions)
            df = pipeline.get(f, "reverse", positions, kinds2, single, with_value).func
            if kinds2 != kinds:
                return df(*args2)
            cache[kinds] = df
        if all(k in ("float", "int") for k in kinds):
            scalar_cache[tuple(map(type, args))] = df
        return df(*args)

    wrapper = _fast_wrapper(f, bind, scalar_cache, call)
    if wrapper is None:
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            if kwargs or len(args) != n:
                args = bind(args, kwargs)
            df = scalar_cache.get(tuple(map(type, args)))    # all-scalar calls: no kinds needed
            if df is not None:
                return df(*args)
            return call(args)
    wrapper.__srcad_transform__ = (kind, f, positions, single)
    return wrapper


def _fast_wrapper(f, bind, scalar_cache, call):
    """A wrapper with `f`'s own parameters, so a call costs a dict lookup on the argument
    types and no *args/**kwargs packing. None when the signature is not plain."""
    params = list(bind.sig.parameters.values())
    if not params or any(p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params):
        return None
    names = [p.name for p in params]
    if any(n.startswith("_srcad") for n in names):
        return None
    defaults = tuple(p.default for p in params if p.default is not inspect.Parameter.empty)
    if defaults and any(p.default is inspect.Parameter.empty
                        for p in params[len(params) - len(defaults):]):
        return None
    args = ", ".join(names)
    src = (f"def _srcad_make(_srcad_cache, _srcad_call):\n"
           f"    def wrapper({args}):\n"
           f"        _srcad_df = _srcad_cache.get(({', '.join(f'type({n})' for n in names)},))\n"
           f"        if _srcad_df is not None:\n"
           f"            return _srcad_df({args})\n"
           f"        return _srcad_call(({args},))\n"
           f"    return wrapper\n")
    namespace: dict = {}
    exec(compile(src, f"<srcad wrapper of {getattr(f, '__qualname__', f)}>", "exec"), namespace)
    wrapper = namespace["_srcad_make"](scalar_cache, call)
    wrapper.__defaults__ = defaults or None
    functools.update_wrapper(wrapper, f)
    return wrapper


def grad(f=None, wrt=0):
    """The gradient of scalar `f` with respect to argument(s) `wrt`; also a decorator."""
    if f is None:
        return lambda g: grad(g, wrt)
    if isinstance(f, (int, str, tuple, list)):
        return lambda g: grad(g, f)
    return _transform(f, wrt, False, "grad")


def value_and_grad(f=None, wrt=0):
    """Like `grad`, returning `(value, gradient)`."""
    if f is None:
        return lambda g: value_and_grad(g, wrt)
    return _transform(f, wrt, True, "value_and_grad")


def derivative(f, mode: str = "reverse", wrt=0):
    """The compiled derivative function of `f` (generated code), cached.

    reverse: `df(*args, d_out=1.0)` returns the gradient(s); forward: `df(*args, *d_args)`
    returns `(out, d_out)`. Argument kinds are assumed from annotations and defaults
    (float where a parameter is annotated or defaulted as float), else generic.
    """
    positions, single = _positions(f, wrt)
    return pipeline.get(f, mode, positions, pipeline.static_kinds(f), single).func


def source(f, mode: str = "reverse", wrt=0) -> str:
    """The generated derivative source of `f`, valid standalone Python."""
    positions, single = _positions(f, wrt)
    return pipeline.get(f, mode, positions, pipeline.static_kinds(f), single).text


def ssa(f) -> str:
    """`f` lowered to SSA three-address form."""
    return pipeline.ssa(f)


def jvp(f, primals, tangents):
    """Forward mode: `(f(*primals), J @ tangents)`."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise SrcadError("jvp: primals and tangents must have the same length")
    positions = _float_positions(primals)            # integers carry no tangent
    primals, kinds = _prepare(primals, positions)
    df = pipeline.get(f, "forward", positions, kinds, False).func
    return df(*primals, *(tangents[i] for i in positions))


def _float_positions(args) -> tuple:
    return tuple(i for i, a in enumerate(args) if pipeline.kind_of(a) != "int")


def vjp(f, *primals):
    """Reverse mode: `(out, pullback)`; `pullback(cotangent)` returns one gradient per argument."""
    positions = _float_positions(primals)            # integers get a zero gradient
    primals, kinds = _prepare(primals, positions)
    df = pipeline.get(f, "reverse", positions, kinds, False, True).func
    out = f(*primals)

    def pullback(cotangent):
        grads = iter(df(*primals, cotangent)[1])
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


def _jacobian(f, wrt, kind):
    """`jacfwd`/`jacrev`: the Jacobian, shaped `out.shape + arg.shape`, one forward pass per
    input entry or one reverse pass per output entry."""
    positions, single = _positions(f, wrt)
    if not single:
        raise SrcadError(f"{kind} takes a single wrt argument")
    (pos,) = positions
    bind = _Binder(f)

    @functools.wraps(f)
    def jac(*args, **kwargs):
        args, kinds = _prepare(bind(args, kwargs), positions)
        x = args[pos]
        if kind == "jacfwd":
            df = pipeline.get(f, "forward", positions, kinds, True).func
            pairs = [df(*args, e) for e in _units(x)]
            out = np.asarray(pairs[0][0] if pairs else f(*args))
            cols = [np.broadcast_to(np.asarray(t), out.shape) for _, t in pairs]
            J = np.stack(cols, axis=-1) if cols else np.zeros(out.shape + (0,))
        else:
            df = pipeline.get(f, "reverse", positions, kinds, True).func
            out = np.asarray(f(*args))
            rows = [np.asarray(df(*args, ct)) for ct in _units(out)]
            J = np.stack(rows) if rows else np.zeros((0,) + np.shape(x))
        return J.reshape(out.shape + np.shape(x))
    jac.__srcad_transform__ = (kind, f, positions, True)
    return jac


def jacfwd(f, wrt=0):
    """The Jacobian of `f` with respect to argument `wrt`, one forward pass per input entry."""
    return _jacobian(f, wrt, "jacfwd")


def jacrev(f, wrt=0):
    """The Jacobian of `f` with respect to argument `wrt`, one reverse pass per output entry."""
    return _jacobian(f, wrt, "jacrev")


def hessian(f, wrt=0):
    """The Hessian of scalar `f` (forward over reverse: the Jacobian of the gradient)."""
    return jacfwd(grad(f, wrt), wrt)

