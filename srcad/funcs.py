"""Functions as values: what the lowering knows about a callable at build time.

A function value (a lambda, a nested def, a function argument, `functools.partial(h, a)`,
`srcad.grad(g)`) is never data in srcad's SSA: the lowering knows the callable it stands
for and lowers each call of it as a call of that callable. What the value captures (a
closure's outer variables, a partial's arguments) is passed explicitly, so derivatives
flow through it. A user helper called with a function value is specialised: a helper of
its own (`specialize`) whose function parameter is replaced by parameters for what the
value captures; the function value is rebuilt inside it by a `Maker`.
"""
from __future__ import annotations

import ast
import functools
import textwrap
import types
from dataclasses import dataclass, field

import gast
import numpy as np

from . import ir
from .errors import UnsupportedSyntaxError


@dataclass
class FuncVal:
    """A callable known at build time. A call `fv(*a, **k)` is `obj(*pre, *a', *extras,
    **kw, **k)`, where `a'` is `a` completed to `nown` arguments from `names`/`defaults`
    when there are extras (a lifted def's trailing parameters for the outer variables it
    reads, `extras` naming them: read when the value is called, as Python reads a closure)."""
    obj: object
    pre: list = field(default_factory=list)      # atoms bound first (partial)
    kw: dict = field(default_factory=dict)       # keyword atoms (partial)
    extras: list = field(default_factory=list)   # variable names passed after own parameters
    nown: int = 0                                # own positional parameters (with extras)
    names: tuple = ()                            # their names
    defaults: tuple = ()                         # the defaults of the last of them
    label: str = "function"                      # for messages
    tail: bool = False        # a derivative: arguments after its own go after the extras
    root: object = None       # for a functools.partial object: the atom holding it

    def layout(self) -> tuple:
        """What a Maker needs to rebuild this value from its captured atoms."""
        return (self.obj, len(self.pre), tuple(self.kw), len(self.extras), self.nown,
                self.names, self.defaults, self.label, self.tail)


@dataclass
class FuncList:
    """A list, tuple or dict of function values known at build time (`[np.tanh, h]`)."""
    items: object            # list of FuncVal, or dict key -> FuncVal
    label: str = "list of functions"


class Maker:
    """Rebuilds a function value inside a specialised helper from the atoms it captured;
    called when the helper runs as plain Python, it makes a real callable."""

    def __init__(self, layout):
        self.layout = layout

    def __call__(self, *captured):
        return Bound(self.layout, captured)

    def funcval(self, atoms, names) -> FuncVal:
        """The value for the lowering: `atoms` the captured atoms, `names` their variables."""
        obj, npre, kwnames, nextras, nown, own, defaults, label, tail = self.layout
        pre = list(atoms[:npre])
        kw = dict(zip(kwnames, atoms[npre:npre + len(kwnames)]))
        extras = list(names[npre + len(kwnames):])
        return FuncVal(obj, pre, kw, extras, nown, own, defaults, label, tail)


class Bound:
    """A function value as a Python callable (a specialised helper run as the primal)."""

    def __init__(self, layout, captured):
        self.layout, self.captured = layout, captured

    def __call__(self, *args, **kwargs):
        obj, npre, kwnames, nextras, nown, own, defaults, label, tail = self.layout
        c = self.captured
        pre, kw = list(c[:npre]), dict(zip(kwnames, c[npre:npre + len(kwnames)]))
        extras = list(c[npre + len(kwnames):])
        args = pre + list(args)
        if nextras and tail and len(args) > nown:
            args = args[:nown] + extras + args[nown:]
        elif nextras:
            for k in range(len(args), nown):
                name = own[k]
                if name in kwargs:
                    args.append(kwargs.pop(name))
                else:
                    args.append(defaults[k - (nown - len(defaults))])
            args += extras
        return obj(*args, **kw, **kwargs)


def is_function(obj) -> bool:
    """Whether an argument is a function value (specialised on, never differentiated)."""
    return isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                            np.ufunc, functools.partial))


class FuncArg:
    """The kind of a function argument: the function itself, compared by identity, so a
    derivative is built per function and another function never reuses it."""
    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return isinstance(other, FuncArg) and other.obj is self.obj

    def __hash__(self):
        return hash(id(self.obj))

    def __repr__(self):
        from .frontend import describe
        return f"fn:{describe(self.obj)}"


_SPECS: dict = {}


def specialize(helper, parsed, fparams: dict, line: int):
    """`helper` with each parameter in `fparams` (name -> FuncVal) replaced by parameters
    for what its value captures, rebuilt first thing by a Maker; every other parameter is
    positional and without default (the caller passes them all). Memoised per layout."""
    key = (helper, helper.__code__, helper.__defaults__,
           tuple((p, fv.layout(), tuple(fv.extras)) for p, fv in sorted(fparams.items())))
    try:
        found = _SPECS.get(key)
    except TypeError:
        found = None
    if found is not None:
        return found
    tree = parsed.tree
    args = tree.args
    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        raise UnsupportedSyntaxError(f"{helper.__qualname__} takes a function value but has "
                                     "*args, **kwargs or keyword-only parameters",
                                     parsed.filename, line)
    own = [a.id for a in args.args]
    taken = set(own) | {n.id for n in gast.walk(tree) if isinstance(n, gast.Name)}

    def fresh(base):
        return ir.unique_name(base, taken)
    new_params, makers, prelude = [], {}, []
    for p in own:
        if p not in fparams:
            new_params.append(p)
    for p in own:
        if p in fparams:
            fv = fparams[p]
            # named for what they hold: a partial's arguments, a closure's variables
            cap = [fresh(f"{p}_arg{i}") for i in range(len(fv.pre))] + \
                [fresh(f"{p}_{k}") for k in fv.kw] + [fresh(f"{p}_{x}") for x in fv.extras]
            new_params += cap
            mk = fresh(f"{p}_make")
            makers[mk] = Maker(fv.layout())
            prelude.append(f"{p} = {mk}({', '.join(cap)})")
    func = _rebuilt(helper, parsed, new_params, prelude, makers)
    try:
        _SPECS[key] = func
    except TypeError:
        pass
    return func


def unstar(helper, parsed, nvar: int, kwnames: tuple):
    """`helper` for a call passing `nvar` items to its `*args` and the keywords `kwnames`
    to its `**kwargs`: every parameter positional (`def h(a, *xs, k=1, **kw)` called as
    `h(a, u, v, k=2, c=w)` is `def h(a, xs_0, xs_1, k, kw_c)`), the tuple and the dict
    rebuilt first thing (`xs = (xs_0, xs_1); kw = {'c': kw_c}`), so their lengths and keys
    are known inside. Memoised per code and call shape."""
    key = ("unstar", helper, helper.__code__, helper.__defaults__, nvar, kwnames)
    try:
        found = _SPECS.get(key)
    except TypeError:
        found = None
    if found is not None:
        return found
    args = parsed.tree.args
    params = [a.id for a in list(args.posonlyargs) + list(args.args)]
    taken = set(params) | {n.id for n in gast.walk(parsed.tree) if isinstance(n, gast.Name)}

    def fresh(base):
        return ir.unique_name(base, taken)
    prelude = []
    if args.vararg:
        items = [fresh(f"{args.vararg.id}_{i}") for i in range(nvar)]
        params += items
        prelude.append(f"{args.vararg.id} = ({''.join(i + ', ' for i in items)})")
    params += [a.id for a in args.kwonlyargs]
    if args.kwarg:
        items = [fresh(f"{args.kwarg.id}_{k}") for k in kwnames]
        params += items
        pairs = ", ".join(f"{k!r}: {i}" for k, i in zip(kwnames, items))
        prelude.append(f"{args.kwarg.id} = {{{pairs}}}")
    func = _rebuilt(helper, parsed, params, prelude, {})
    try:
        _SPECS[key] = func
    except TypeError:
        pass
    return func


def fixed(obj, nvar: int, kwnames: tuple):
    """`obj`, a user function with `*args` or `**kwargs` or a srcad transform of one
    (`__srcad_star__`), for a call passing `nvar` items to its `*args` and the keywords
    `kwnames` to its `**kwargs`: a function taking them all positionally (`unstar`)."""
    star = vars(obj).get("__srcad_star__")
    if star is not None:
        return star(nvar, kwnames)
    from .frontend import parse
    return unstar(obj, parse(obj), nvar, kwnames)


def _rebuilt(helper, parsed, new_params, prelude, makers):
    """`helper`'s body under the header `def name(*new_params)`, `prelude` its first line,
    compiled at the user's lines (so messages name them) with `makers` as closure cells."""
    tree = parsed.tree
    first = parsed.lineno(tree)
    fn = gast.gast_to_ast(tree)
    header = f"def {tree.name}({', '.join(new_params)}):"
    if first > 1:                      # the prelude on the def's line: the body keeps its lines
        lines = [""] * (first - 2) + [header, "    " + "; ".join(prelude or ["pass"])]
    else:
        lines = [header, "    " + "; ".join(prelude or ["pass"])]
    for s in fn.body:
        text = textwrap.indent(ast.unparse(s), "    ").splitlines()
        at = s.lineno + parsed.line_offset
        while len(lines) < at - 1:
            lines.append("")
        lines += text
    text = "\n".join(lines) + "\n"
    free = list(parsed.closure) + list(makers)
    scope = ("def __srcad_scope__():\n" + "".join(f"    {n} = None\n" for n in free)
             + textwrap.indent(text.lstrip("\n"), "    ") + f"    return {tree.name}\n")
    code = compile(scope, parsed.filename, "exec")
    outer = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    fcode = next(c for c in outer.co_consts if isinstance(c, types.CodeType)
                 and c.co_name == tree.name)
    cells = {**parsed.closure, **{m: types.CellType(obj) for m, obj in makers.items()}}
    func = types.FunctionType(fcode, parsed.globals, tree.name, None,
                              tuple(cells[n] for n in fcode.co_freevars) or None)
    func.__qualname__ = getattr(helper, "__qualname__", tree.name)
    from .frontend import GENERATED
    GENERATED[fcode] = text
    return func


class JacobianOf:
    """`srcad.jacfwd(g)`, `srcad.jacrev(g)` or `srcad.hessian(g)` as a function value inside
    a differentiated function: a call is a call of a helper written with the transforms srcad
    differentiates inside (`jvp` per input direction, `vjp`'s pullback per output entry,
    `jacfwd` of `grad`), passed g as a function value (`jacobian_helper`)."""

    def __init__(self, kind: str, wrt: int, inner: FuncVal):
        self.kind, self.wrt, self.inner = kind, wrt, inner
        self.__name__ = f"{kind}_of"


_JACOBIANS: dict = {}


def jacobian_helper(kind: str, wrt: int, nargs: int):
    """The Python function computing `srcad.<kind>(g, wrt)(a0, ..., a<nargs-1>)` for an
    array (or float) argument `a<wrt>` and an array output, as srcad differentiates it:
    columns of jvp for jacfwd, rows of the vjp pullback for jacrev, jacfwd of grad for
    hessian; `where`, the user's (file, line), names the call when the argument or output is
    no array. Compiled once per shape of call; srcad reads it from GENERATED."""
    key = (kind, wrt, nargs)
    if key in _JACOBIANS:
        return _JACOBIANS[key]
    import srcad
    from .frontend import GENERATED
    a = [f"a{i}" for i in range(nargs)]
    args, x = ", ".join(a), a[wrt]
    if kind == "jacfwd":
        seeds = ", ".join("np.reshape(eye[k], np.shape(x))" if i == wrt else f"{v} * 0.0"
                          for i, v in enumerate(a))
        text = f"""def jacfwd_of(where, g, {args}):
    out = g({args})
    x = {x}
    if not (isinstance(x, (float, np.ndarray)) and isinstance(out, (float, np.ndarray))):
        raise srcad.UnsupportedSyntaxError("srcad.jacfwd inside a differentiated function "
                                           "takes an array or float argument and output",
                                           where[0], where[1])
    n = np.size(x)
    eye = np.eye(n)
    columns = []
    for k in range(n):
        columns.append(np.ravel(srcad.jvp(g, ({args},), ({seeds},))[1]))
    return np.reshape(np.stack(columns, axis=-1), np.shape(out) + np.shape(x))
"""
        env = {}
    elif kind == "jacrev":
        text = f"""def jacrev_of(where, g, {args}):
    out, pullback = srcad.vjp(g, {args})
    if not (isinstance({x}, (float, np.ndarray)) and isinstance(out, (float, np.ndarray))):
        raise srcad.UnsupportedSyntaxError("srcad.jacrev inside a differentiated function "
                                           "takes an array or float argument and output",
                                           where[0], where[1])
    n = np.size(out)
    eye = np.eye(n)
    rows = []
    for k in range(n):
        rows.append(np.ravel(pullback(np.reshape(eye[k], np.shape(out)))[{wrt}]))
    return np.reshape(np.stack(rows), np.shape(out) + np.shape({x}))
"""
        env = {}
    else:
        text = f"""def hessian_of(where, g, {args}):
    return jacfwd_of(where, srcad.grad(g, wrt={wrt}), {args})
"""
        env = {"jacfwd_of": jacobian_helper("jacfwd", wrt, nargs)}
    namespace = {"np": np, "srcad": srcad, **env}
    code = compile(text, f"<srcad {kind} inside a derivative>", "exec")
    fcode = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    func = types.FunctionType(fcode, namespace, fcode.co_name)
    GENERATED[fcode] = text
    _JACOBIANS[key] = func
    return func


class ObjArg:
    """The kind of an argument that is an object of a class (a dataclass, a NamedTuple,
    an instance of the user's class): a container whose class is part of the cache key,
    so the lowering resolves `obj.method(...)`, `obj(...)` and `obj.prop` on it."""
    __slots__ = ("cls",)

    def __init__(self, cls):
        self.cls = cls

    def __eq__(self, other):
        return isinstance(other, ObjArg) and other.cls is self.cls

    def __hash__(self):
        return hash(("obj", id(self.cls)))

    def __repr__(self):
        return f"obj:{self.cls.__qualname__}"


def member(cls, attr):
    """What `obj.attr` of an instance of `cls` runs that srcad can read the source of, as
    (kind, function): ("method", f) for a def (called with obj first), ("static", f) for a
    staticmethod, ("property", fget); None for a field, or what is no Python function."""
    if attr in ("__init__", "__new__"):
        return None
    for klass in cls.__mro__:
        if attr in vars(klass):
            found = vars(klass)[attr]
            break
    else:
        return None
    if isinstance(found, types.FunctionType):
        return "method", found
    if isinstance(found, staticmethod) and isinstance(found.__func__, types.FunctionType):
        return "static", found.__func__
    if isinstance(found, property) and isinstance(found.fget, types.FunctionType):
        return "property", found.fget
    return None


def classes_of(func) -> dict:
    """The parameters of a method copy (`for_class`) known to hold an instance of a class."""
    return vars(func).get("__srcad_classes__", {}) if isinstance(func, types.FunctionType) \
        else {}


def for_class(func, cls):
    """`func`, a method found on `cls` (or a base), as a function of its own whose first
    parameter is known to hold an instance of `cls`, so `self.helper(...)`, `self(...)` and
    `self.prop` inside resolve on `cls` (a subclass may override them)."""
    code = func.__code__
    first = code.co_varnames[0] if code.co_argcount else None
    if first is None:
        from .frontend import parse
        parsed = parse(func)
        raise UnsupportedSyntaxError(f"{func.__qualname__} has no parameter for its object",
                                     parsed.filename, parsed.lineno(parsed.tree))
    return for_classes(func, {first: cls})


def for_classes(func, classes: dict):
    """`func` (or the function a copy of it copies) as a copy whose parameters named in
    `classes` are known to hold instances of those classes (with what `func` knew): the
    same signature and defaults; memoised per code and classes. `func` itself when that
    adds nothing."""
    known = classes_of(func)
    merged = {**known, **classes}
    if merged == known:
        return func
    func = vars(func).get("__srcad_original__", func)
    key = ("class", func, func.__code__, func.__defaults__, func.__kwdefaults__,
           tuple(sorted(merged.items(), key=lambda item: item[0])))
    found = _SPECS.get(key)
    if found is not None:
        return found
    from .frontend import parse
    parsed = parse(func)
    args = copy_args(parsed.tree.args)
    new = _rebuilt(func, parsed, [ast.unparse(gast.gast_to_ast(args))], [], {})
    new.__defaults__, new.__kwdefaults__ = func.__defaults__, func.__kwdefaults__
    new.__srcad_classes__ = merged
    new.__srcad_original__ = func
    _SPECS[key] = new
    return new


def copy_args(args):
    """A function's parameters without their defaults and annotations (the copy gets the
    original's default values, evaluated once, where the def evaluated them)."""
    def bare(a):
        return gast.Name(id=a.id, ctx=gast.Param(), annotation=None, type_comment=None)
    return gast.arguments(posonlyargs=[bare(a) for a in args.posonlyargs],
                          args=[bare(a) for a in args.args],
                          vararg=bare(args.vararg) if args.vararg else None,
                          kwonlyargs=[bare(a) for a in args.kwonlyargs],
                          kw_defaults=[None] * len(args.kwonlyargs),
                          kwarg=bare(args.kwarg) if args.kwarg else None, defaults=[])
