"""The pass list, in one place, and the cache of built derivatives.

`build` runs `PASSES` in order for one function, mode, `wrt` and argument kinds:

    frontend   the function's gast tree and environment (frontend.py)
    lower      SSA three-address form, an ir.Function (lower.py)
    verify     ir.verify: the SSA invariants
    activity   kinds, shape classes, varied/useful/active names (activity.py)
    checkpoint reverse mode: checkpointed loops become calls of their schedules, their
               bodies compiled as step functions (reverse/checkpoint.py); activity again
    emit       the derivative tree, Python ast (forward.py or reverse/, by mode)
    check      srcad.check of the tree (when SRCAD_CHECKS=1; the test suite sets it)
    optimize   exact simplification of the tree (optimize.py)
    check      srcad.check again
    numba      for backend="numba" only: the tree rewritten into code Numba compiles
               (backends/numba.py)
    codegen    source text and the compiled function (codegen.py; for backend="numba",
               numba.njit of that text, backends/numba.py)

`SRCAD_DEBUG=<name>[,<name>...]` (or `build(debug=...)`) prints the program after each
named pass: the parsed function, the SSA, an activity summary, the tree before and after
optimize, the source text. `source` is `codegen`; `forward` and `reverse` print only the
source a call in that mode compiles, with no header. An unknown name raises SrcadError.
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import os
import sysconfig
import threading
import types
from dataclasses import dataclass, field

import gast
import numpy as np

from . import (activity, backends, check, codegen, forward, frontend, funcs, ir, lists, lower,
               optimize, reverse, rules, runtime)
from .errors import SrcadError, UnsupportedSyntaxError
from .rules import ANY, FLOAT, INT

COMPLEX = "complex"      # the kind of a complex argument, which srcad refuses


@dataclass
class Derivative:
    func: object          # the compiled derivative
    text: str             # its source, as `srcad.source` shows it
    params: list          # the primal's parameter names
    out_kind: str = ANY   # the kind of the primal's output (FLOAT: a scalar for sure)
    valid: object = None  # () -> bool: whether it still is the derivative of the function got
    # positions of the parameters Python's f may change in place: the derivative may too
    # (it calls helpers that do), so the API hands it copies of those arguments
    mutates: tuple = ()
    backend: str = "python"   # what compiled it (backends.BACKENDS)
    # (filename, line) of a loop it checkpoints (not differentiated again), else ()
    checkpointed: tuple = ()


class _Built:
    """A cached derivative with what it baked in: the function's binding (globals, closure
    cells, bound object) and defaults, and a check of every name it resolved."""
    __slots__ = ("d", "binding", "state", "check", "conds", "cells", "bound")

    def __init__(self, d, binding, state, check, conds, cells, bound):
        self.d, self.binding, self.state, self.check, self.conds = \
            d, binding, state, check, conds
        self.cells = cells            # free name -> the cell the derivative reads it from
        self.bound = bound            # a bound method's self parameter, or None


# code object (or srcad transform) -> {key: [_Built, ...]}. An entry goes with its code, or
# when it is the least recently used of more than _CODES_KEPT: a derivative refers to its
# function's globals, which may refer to the function, so collection alone cannot free it.
_CODES_KEPT = 512
_CACHE = frontend.IdWeakMap(limit=_CODES_KEPT)
_BINDINGS_KEPT = 4        # derivatives kept per key for different bindings of one code
_BUILDING = threading.local()


def kind_of(value) -> str:
    t = type(value)
    if t is float:
        return FLOAT
    if t is int or t is bool:
        return INT
    return ANY


def kinds_of(args) -> tuple:
    """Each argument's kind; arrays as `any:k:n`, k the first argument of the same shape
    and n its number of dimensions, so that the generated code may rely on which arguments
    have equal shapes."""
    try:
        return tuple([_SIMPLE[type(a)] for a in args])      # the common all-scalar case
    except KeyError:
        pass
    out = []
    shapes = []
    for a in args:
        t = type(a)
        if t is float:
            out.append(FLOAT)
        elif t is int or t is bool:
            out.append(INT)
        elif t is list or t is tuple:
            out.append(COMPLEX if any(type(v) is not float and is_complex(v) for v in a)
                       else funcs.holding(a) or _seq_kind(a))
        elif t is np.ndarray:
            if a.dtype.kind == "c":
                out.append(COMPLEX)
                continue
            shape = a.shape
            for k, s in enumerate(shapes):
                if s == shape:
                    break
            else:
                k = len(shapes)
                shapes.append(shape)
            nd = a.ndim
            out.append(_ARRAY_KINDS[k][nd] if k < len(_ARRAY_KINDS) and nd < 8 else ANY)
        elif funcs.is_function(a):
            out.append(funcs.FuncArg(a))    # specialised on: the function itself
        elif is_container(a):
            # an object's class is part of its kind: its methods resolve on it
            out.append(funcs.holding(a) or "seq" if t is dict else
                       funcs.holding(a) or funcs.ObjArg(t))
        else:
            out.append(COMPLEX if is_complex(a) else ANY)
    return tuple(out)


def _seq_kind(a) -> str:
    """`seq:seqs` for a list or tuple of lists or tuples (`[(W, b), ...]`: unpacking an item
    unpacks a tuple, its adjoint the tuple of the parts'), else `seq`."""
    for v in a:
        if type(v) is not tuple and type(v) is not list:
            return activity.SEQ
    return activity.SEQS if a else activity.SEQ


def is_container(a) -> bool:
    """Whether srcad differentiates `a` item by item or field by field, its derivative of
    the same structure: a list, tuple (a NamedTuple too), dict, dataclass instance, or an
    instance of a user's class."""
    return isinstance(a, (list, tuple)) or runtime._is_mapping(a)


def is_complex(a) -> bool:
    return isinstance(a, (complex, np.complexfloating)) or \
        (isinstance(a, np.ndarray) and a.dtype.kind == "c")


_SIMPLE = {float: FLOAT, int: INT, bool: INT}
# `any:k:n`: the k-th distinct shape, of n dimensions (so x[0] of a vector is known a scalar)
_ARRAY_KINDS = tuple(tuple(f"any:{k}:{n}" for n in range(8)) for k in range(16))


def static_kinds(f) -> tuple:
    """Argument kinds guessed without arguments: `float` annotations and float defaults."""
    kinds = []
    for p in inspect.signature(f).parameters.values():
        ann = p.annotation
        if ann is float or ann == "float" or isinstance(p.default, float):
            kinds.append(FLOAT)
        elif ann is int or ann == "int" or (type(p.default) is int):
            kinds.append(INT)
        else:
            kinds.append(ANY)
    return tuple(kinds)


def params_of(f) -> list:
    """`f`'s parameter names (a bound method's without its first), as its signature shows
    them; read from the code object where that is the same, since inspect is slow."""
    func = f.__func__ if isinstance(f, types.MethodType) else f
    if isinstance(func, types.FunctionType) and "__wrapped__" not in func.__dict__:
        code = func.__code__
        if not code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
            names = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
            return names[1:] if func is not f else names
    return list(inspect.signature(f).parameters)


def _identity(f):
    """(cache owner, binding, state) of `f`: the code it runs (or the srcad transform
    itself), the namespaces the derivative is bound to, and the defaults it bakes in."""
    if getattr(f, "__srcad_transform__", None) is not None:
        return f, (), ()
    if isinstance(f, types.MethodType):
        func = f.__func__
        if isinstance(func, types.FunctionType):
            return func.__code__, (func.__globals__, func.__closure__, f.__self__), \
                (True, func.__defaults__, func.__kwdefaults__)
    if isinstance(f, types.FunctionType):
        return f.__code__, (f.__globals__, f.__closure__, None), \
            (False, f.__defaults__, f.__kwdefaults__)
    frontend.parse(f)                    # raises the frontend's error for what is no function
    raise SrcadError(f"cannot differentiate {frontend.describe(f)}")


def _same_binding(a, b) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def get(f, mode: str, wrt: tuple, kinds: tuple, single: bool = True,
        with_value: bool = False, name: str | None = None,
        backend: str = "python", checkpoint=None) -> Derivative:
    """The cached derivative of `f`, built on first use; `name` names the generated def,
    `backend` what compiles it; `checkpoint` is the reverse-mode option of that name (see
    reverse/checkpoint.py).

    The cache is per code object, so a lambda re-created with the same code reuses it; a
    derivative is reused only while everything it baked in (defaults, the objects the
    names it called resolved to, its helpers' code) is unchanged, else it is rebuilt."""
    owner, binding, state = _identity(f)
    key = (mode, wrt, kinds, single, with_value, name, backend, _checkpoint_key(checkpoint))
    per_code = _CACHE.get(owner)
    if per_code is None:
        per_code = {}
        _CACHE[owner] = per_code
    builds = per_code.setdefault(key, [])
    built = None
    for b in builds:
        if _same_binding(b.binding, binding) and _same_binding(b.state, state):
            if b.check(*_NO_FUNC):        # f's own code and defaults: compared above
                built = b
            else:
                builds.remove(b)          # stale: something it baked in changed
            break
    else:
        for b in builds:
            if b.binding[0] is binding[0] and _same_binding(b.state, state):
                built = _rebound(b, f, binding)
                if built is not None:
                    builds.insert(0, built)
                    del builds[_BINDINGS_KEPT:]
                break
    if built is None:
        pending = _pending()
        if (id(owner), key) in pending:    # recursion: this very derivative, being built
            return Derivative(func=pending[(id(owner), key)], text="", params=[])
        for i, k in enumerate(kinds):
            if isinstance(k, funcs.FuncArg) and i in wrt:
                params = params_of(f)
                raise SrcadError(f"argument {params[i] if i < len(params) else i!r} of "
                                 f"{frontend.describe(f)} is a function: srcad differentiates "
                                 "with respect to numbers and arrays (choose wrt=)")
            if k == COMPLEX:
                params = params_of(f)
                raise SrcadError(f"argument {params[i] if i < len(params) else i!r} of "
                                 f"{frontend.describe(f)} is complex: srcad differentiates "
                                 "real-valued functions of real arguments only")
        frames = _frames()
        frame = {"parsed": None, "callees": []}
        frames.append(frame)
        slots = tuple(_Slot() for _ in range(2 if mode == "split" else 1))
        pending[(id(owner), key)] = slots if mode == "split" else slots[0]
        try:
            d = build(f, mode, wrt, kinds, single, with_value, name=name, backend=backend,
                      checkpoint=checkpoint)
        except SrcadError as e:
            if len(frames) == 1 and _in_own_code(e):      # the outermost build
                raise _relocated(e, f) from e
            raise
        finally:
            frames.pop()
            del pending[(id(owner), key)]
        for slot, func in zip(slots, d.func if isinstance(d.func, tuple) else (d.func,)):
            slot.fill(func)
        conds = _conditions(frame)
        parsed = frame["parsed"]
        built = _Built(d, binding, state, _checker(conds), conds,
                       dict(parsed.closure) if parsed is not None else {},
                       parsed.bound if parsed is not None else None)
        builds.insert(0, built)
        del builds[_BINDINGS_KEPT:]
    frames = _frames()
    if frames:
        frames[-1]["callees"].append((f, state, built))
    return _valid_for(f, built)


def depends_on(func):
    """The derivative being built copied `func`'s code (a helper specialised on a function
    value): it is valid while `func` keeps its code and defaults."""
    frames = _frames()
    if frames and isinstance(func, types.FunctionType):
        frames[-1]["callees"].append((func, (False, func.__defaults__, func.__kwdefaults__),
                                      _NO_CONDS))


class _NoConds:
    conds = ()


_NO_CONDS = _NoConds()


def _checkpoint_key(option):
    """The `checkpoint=` option as a cache key (True and 1 differ)."""
    check_checkpoint(option)
    return option if option is None or isinstance(option, bool) else ("snapshots", option)


def check_checkpoint(option):
    """Refuse a `checkpoint=` option that is not True, False, None or an int >= 1."""
    if option is None or isinstance(option, bool) or (type(option) is int and option >= 1):
        return
    raise SrcadError(f"checkpoint= takes True, False, None or a number of snapshots >= 1, "
                     f"not {option!r}")


def _rebound(b, f, binding):
    """`b`'s derivative for a function with the same code and globals but other closure
    cells (a lambda re-created in a function called again, another instance's method):
    the same compiled code with `f`'s cells, if everything it baked in holds for them."""
    if b.d.backend != "python":
        return None                   # compiled code has the old cells' values compiled in
    func = f.__func__ if isinstance(f, types.MethodType) else f
    cells = dict(zip(func.__code__.co_freevars, func.__closure__ or ()))
    if b.bound is not None:
        if not isinstance(f, types.MethodType):
            return None
        cells[b.bound] = types.CellType(f.__self__)
    if set(cells) != set(b.cells):
        return None
    swap = {id(b.cells[n]): cells[n] for n in cells}

    def sub(x):
        if isinstance(x, tuple):
            return tuple(sub(v) for v in x)
        return swap.get(id(x), x) if isinstance(x, types.CellType) else x
    conds = [sub(c) for c in b.conds]
    check = _checker(conds)
    if not check(*_NO_FUNC):
        return None

    def rebind(g):
        new = types.FunctionType(g.__code__, g.__globals__, g.__name__, g.__defaults__,
                                 tuple(swap.get(id(c), c) for c in g.__closure__ or ()))
        new.__doc__ = g.__doc__
        new.__kwdefaults__ = g.__kwdefaults__
        new.__dict__.update(vars(g))      # what srcad knows of its own code (__srcad_derivative__)
        return new
    d = b.d
    funcs = tuple(map(rebind, d.func)) if isinstance(d.func, tuple) else rebind(d.func)
    return _Built(dataclasses.replace(d, func=funcs), binding, b.state, check, conds, cells,
                  b.bound)


class _Slot:
    """Stands for a derivative still being built where a recursive call reaches it again:
    generated code calls it through the cells it is bound to, which `fill` sets to the
    derivative once it is compiled."""

    def __init__(self):
        self.cells = []
        self.func = None

    def fill(self, func):
        self.func = func
        for cell in self.cells:
            cell.cell_contents = func

    def __call__(self, *args):
        raise SrcadError("a recursive derivative was called before it was built")


def _bind_slots(funcs_):
    """Point the cells of compiled derivatives that hold a _Slot at what will fill it."""
    for func in funcs_:
        for cell in func.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, _Slot):
                if value.func is not None:
                    cell.cell_contents = value.func
                else:
                    value.cells.append(cell)


def _pending() -> dict:
    """(id of the owner, key) of the derivatives being built in this thread -> their _Slot(s)."""
    pending = getattr(_BUILDING, "pending", None)
    if pending is None:
        pending = _BUILDING.pending = {}
    return pending


_OWN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_LIBRARY_DIRS = tuple(sorted({os.path.abspath(sysconfig.get_paths()[k]) + os.sep
                              for k in ("stdlib", "platstdlib", "purelib", "platlib")}))


def _in_library(filename) -> bool:
    """Whether `filename` is installed library code (the standard library, site-packages)."""
    return bool(filename) and os.path.abspath(filename).startswith(_LIBRARY_DIRS)


def _in_own_code(e) -> bool:
    """Whether error `e` names srcad's own code: a runtime helper srcad read to
    differentiate it again (second order and up), or generated code."""
    where = e.filename or ""
    return where.startswith(_OWN_DIR) or where.startswith("<srcad")


def _relocated(e, f):
    """`e` located at the user's function behind `f` (through srcad's transforms), the
    place in srcad's own code it names kept in its message."""
    user = f
    while getattr(user, "__srcad_transform__", None) is not None:
        user = user.__srcad_transform__[1]
    code = getattr(getattr(user, "__func__", user), "__code__", None)
    if code is None or code.co_filename.startswith(_OWN_DIR) or \
            code.co_filename.startswith("<srcad"):
        return e
    inner = f"{os.path.basename(e.filename)}:{e.lineno}" if e.lineno else e.filename
    return type(e)(f"{e.bare_message} (in srcad's own code, {inner}, which the derivative of "
                   f"{frontend.describe(user)} differentiates again: a limit of srcad at this "
                   "order)", code.co_filename, code.co_firstlineno)


def _frames() -> list:
    frames = getattr(_BUILDING, "frames", None)
    if frames is None:
        frames = _BUILDING.frames = []
    return frames


def _valid_for(f, built) -> Derivative:
    """`built`'s derivative with a cheap check that it is still `f`'s (api calls it on
    every call of a cached derivative): `f`'s code and defaults, then `built.check`."""
    func = f.__func__ if isinstance(f, types.MethodType) else f
    if not isinstance(func, types.FunctionType):
        func = _always
    return dataclasses.replace(built.d, valid=functools.partial(
        built.check, func, func.__code__, func.__defaults__, func.__kwdefaults__))


def _baked(obj) -> bool:
    """Whether generated code depends on what `obj` is (a callee, a module, a constant
    folded in) rather than reading it when it runs (data: arrays, numbers, objects)."""
    return obj is None or isinstance(obj, (bool, types.ModuleType, type)) or callable(obj) or \
        (isinstance(obj, tuple) and bool(obj) and all(map(funcs.is_function, obj)))


def _conditions(frame) -> list:
    """What must still hold for a derivative to be valid: `(kind, *objects)` tuples."""
    conds = []
    parsed = frame["parsed"]
    if parsed is not None:
        g, closure = parsed.globals, parsed.closure
        roots = {}
        for n, obj in parsed.resolved.items():
            if n in closure:
                roots[n] = ("cell", closure[n])
            elif n in g:
                roots[n] = ("global", g, n)
            else:
                roots[n] = ("builtin", g, parsed.builtins(), n)
            if _baked(obj) or n in parsed.pinned:
                conds.append(roots[n] + (obj,))
        for (n, attrs), obj in parsed.chains.items():
            root = parsed.resolved.get(n)
            if _baked(obj) or isinstance(root, types.ModuleType):
                conds.append(("chain", roots[n], attrs, obj))
        for (n, attrs), items in parsed.contents.items():   # a global list of functions
            conds.append(("items", roots[n], attrs, items))
        for n, desc in parsed.held.items():     # a global object: the classes it holds
            conds.append(("held", roots[n], desc))
        for (cls, attr), obj in parsed.members.items():   # an argument's method or property
            conds.append(("chain", ("cell", types.CellType(cls)), (attr,), obj))
    for func, state, built in frame["callees"]:
        if isinstance(func, types.MethodType):
            func = func.__func__
        if state:
            conds.append(("func", func, func.__code__, state[1], state[2]))
        conds.extend(built.conds)
    return conds


def _checker(conds):
    """`check(F, C, D, K)`: whether function F still has code C and defaults D, K and every
    condition still holds. It is generated code (one boolean expression), so checking
    costs well under a microsecond."""
    env: dict = {"_missing": _MISSING, "_holding": funcs.holding}
    seen = {}

    def const(obj):
        k = id(obj)
        if k not in seen:
            seen[k] = f"o{len(seen)}"
            env[seen[k]] = obj
        return seen[k]

    def root_expr(root):
        if root[0] == "cell":
            return f"{const(root[1])}.cell_contents"
        if root[0] == "global":
            return f"{const(root[1])}.get({root[2]!r}, _missing)"
        return f"{const(root[1])}.get({root[3]!r}, {const(root[2])}.get({root[3]!r}, _missing))"

    terms = ["F.__code__ is C", "F.__defaults__ is D", "F.__kwdefaults__ is K"]
    checked = {}                       # root -> its object, checked by an earlier term
    for c in conds:
        if c[0] in ("cell", "global", "builtin"):
            t = f"{root_expr(c[:-1])} is {const(c[-1])}"
            checked[tuple(map(id, c[:-1]))] = c[-1]
        elif c[0] == "chain":
            rid = tuple(map(id, c[1]))
            root = const(checked[rid]) if rid in checked else root_expr(c[1])
            expr = root + "".join(f".{a}" for a in c[2])
            # (a bound method, `np.add.reduce` too, is a new object at each access)
            same = "==" if isinstance(c[3], (types.MethodType, types.BuiltinMethodType)) else "is"
            t = f"{expr} {same} {const(c[3])}"
        elif c[0] == "items":
            # a list (or dict) may change in place: its items, compared one by one
            rid = tuple(map(id, c[1]))
            root = const(checked[rid]) if rid in checked else root_expr(c[1])
            expr = root + "".join(f".{a}" for a in c[2])
            items = f"tuple({expr}.items())" if isinstance(c[3], dict) else f"tuple({expr})"
            snap = tuple(c[3].items()) if isinstance(c[3], dict) else c[3]
            t = f"{items} == {const(snap)}"
        elif c[0] == "held":
            # the classes (and functions) an object or list of them holds, item by item
            rid = tuple(map(id, c[1]))
            root = const(checked[rid]) if rid in checked else root_expr(c[1])
            t = f"_holding({root}) == {const(c[2])}"
        else:
            _, func, code, dflt, kwd = c
            t = (f"{const(func)}.__code__ is {const(code)} and {const(func)}.__defaults__ is "
                 f"{const(dflt)} and {const(func)}.__kwdefaults__ is {const(kwd)}")
        if t not in terms:
            terms.append(t)
    src = ("def check(F, C, D, K):\n    try:\n        return " + " and ".join(terms)
           + "\n    except Exception:\n        return False\n")
    exec(compile(src, "<srcad validity check>", "exec"), env)
    return env["check"]


def _always():
    """Stands for the function in checks of what is no plain function (a transform)."""


_NO_FUNC = (_always, _always.__code__, None, None)


_MISSING = object()


def parse(f, kinds: tuple) -> frontend.Parsed:
    """The frontend, also for srcad's own transformations (`grad(f)` is its generated code).
    Records the parse for the derivative being built (what it resolves is checked later)."""
    transform = getattr(f, "__srcad_transform__", None)
    if transform is None:
        parsed = frontend.parse(f)
        if any(isinstance(k, funcs.FuncArg) for k in kinds):
            params = [a.id for a in parsed.tree.args.args]
            parsed.statics = {params[i]: k.obj for i, k in enumerate(kinds)
                              if isinstance(k, funcs.FuncArg) and i < len(params)}
        frames = _frames()
        if frames and frames[-1]["parsed"] is None:
            frames[-1]["parsed"] = parsed
        return parsed
    kind, inner, positions, single = transform
    if kind in ("jvp", "vjp"):
        # the generated forward (reverse) derivative of inner, differentiated as it is;
        # its arguments: inner's, then the tangents (the cotangent)
        n = len(kinds) - (len(positions) if kind == "jvp" else 1)
        ikinds = tuple(FLOAT if (i in positions and k == INT) else k
                       for i, k in enumerate(kinds[:n]))
        d = get(inner, "forward" if kind == "jvp" else "reverse", positions, ikinds, False)
        return frontend.parse(d.func)
    if kind not in ("grad", "value_and_grad"):
        raise UnsupportedSyntaxError(f"cannot differentiate srcad.{kind}(...) itself; "
                                     "differentiate srcad.grad(f) instead")
    ikinds = tuple(FLOAT if (i in positions and k == INT) else k for i, k in enumerate(kinds))
    d = get(inner, "reverse", positions, ikinds, single, kind == "value_and_grad")
    if d.checkpointed:
        raise UnsupportedSyntaxError(
            f"the derivative of {frontend.describe(inner)} checkpoints this loop, and srcad "
            "does not differentiate checkpointed loops again; for a second derivative, leave "
            "out checkpoint= and srcad.checkpoint", *d.checkpointed)
    return frontend.parse_generated(d.func, _d_out_name(d.func), 1.0)


def _d_out_name(func) -> str:
    code = func.__code__
    return code.co_varnames[code.co_argcount - 1]


@dataclass
class Build:
    """What the passes hand on while building one derivative: each pass fills its fields."""
    f: object
    mode: str
    wrt: tuple
    kinds: tuple
    single: bool = True
    with_value: bool = False
    name: object = None                        # the generated def's name(s), or None
    checks: bool = False                       # run srcad.check after emit and optimize
    backend: str = "python"                    # what compiles it (backends.BACKENDS)
    checkpoint: object = None                  # reverse mode's checkpoint= option
    parsed: frontend.Parsed | None = None      # frontend
    fn: ir.Function | None = None              # lower
    names: list = field(default_factory=list)  # activity: the wrt parameters' names
    act: activity.Activity | None = None       # activity
    trees: list = field(default_factory=list)  # emit, optimize: the derivative functions
    callees: list = field(default_factory=list)   # emit: the helpers' derivative texts
    injected: dict = field(default_factory=dict)  # emit: names bound for the compiled code
    adjoints: set = field(default_factory=set)    # emit: the names holding adjoints
    containers: set = field(default_factory=set)  # emit: the primal lists and tuples
    extra_trees: list = field(default_factory=list)  # numba: defs the entries call (rendered too)
    used: set = field(default_factory=set)     # codegen: the names the trees read
    text: str = ""                             # codegen: the source text
    funcs: list = field(default_factory=list)  # codegen: the compiled functions
    checkpointed: tuple = ()                   # checkpoint: (filename, line) of such a loop


def _frontend(b: Build):
    b.parsed = parse(b.f, b.kinds)


def _lower(b: Build):
    b.fn = lower.lower(b.parsed, b.kinds)


def _verify(b: Build):
    ir.verify(b.fn)


def _activity(b: Build):
    fn = b.fn
    b.names = [fn.params[i] for i in b.wrt]
    kinds = tuple(FLOAT if (i in b.wrt and k == INT) else
                  ANY if isinstance(k, funcs.FuncArg) else
                  activity.SEQ if isinstance(k, funcs.ObjArg) else k for i, k in enumerate(b.kinds))
    b.kinds = kinds + (ANY,) * (len(fn.params) - len(kinds))
    b.act = activity.analyze(fn, b.names, dict(zip(fn.params, b.kinds)))
    # calls without a rule derivatives reach
    lower.check_rules(fn, b.act.varied, b.mode, b.act.useful)


def _checkpoint(b: Build):
    """Reverse mode: replace the loops to checkpoint by calls of their schedules (their
    bodies compiled as step functions, see reverse/checkpoint.py), then redo activity."""
    if b.mode not in ("reverse", "split"):
        return
    new = reverse.checkpoint.plan(b.fn, b.act, b.checkpoint,
                                  functools.partial(_build_loop, b))
    if new is not None:
        line = next(s.line for s in new.body if isinstance(s, ir.Assign) and
                    isinstance(s.value, ir.Call) and
                    isinstance(s.value.prim, reverse.checkpoint.LoopRule))
        b.fn, b.checkpointed = new, (new.filename, line)
        ir.verify(new)
        b.act = activity.analyze(new, b.names, dict(zip(new.params, b.kinds)))


def _build_loop(b: Build, sub: ir.Function, kinds, wrt, step_name, back_name):
    """A checkpointed loop's body function `sub`, compiled: `step` (its primal, one
    iteration) and `back` (one iteration and its adjoint; the d_out argument is the tuple
    of its outputs' adjoints). Its text goes with `b`'s helpers' (srcad dump shows it)."""
    lb = Build(b.f, "reverse", wrt, kinds, single=False, name=back_name, checks=b.checks)
    lb.parsed, lb.fn = b.parsed, sub
    for run in (_verify, _activity, _checkpoint, _emit, _check_emitted, _optimize,
                _check_optimized):
        run(lb)
    step = ast.FunctionDef(
        name=step_name, args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in
                                                                 sub.params],
                                           vararg=None, kwonlyargs=[], kw_defaults=[],
                                           kwarg=None, defaults=[]),
        body=[ast.Expr(ast.Constant(f"The iterations of a checkpointed loop ({sub.filename}:"
                                    f"{sub.body[-1].line}) it is given: the loop's outputs."))]
        + ir.stmts_ast(sub.body), decorator_list=[], returns=None, type_comment=None,
        type_params=[])
    trees = [ast.fix_missing_locations(step)] + lb.trees
    body = codegen.render(trees, sub.source_lines, sub.filename)
    used = codegen.names_used(trees)
    text = codegen.source_text(used, body, lb.callees)
    funcs = codegen.compile_functions(trees, used, body, text, b.parsed.globals,
                                      b.parsed.closure, lb.injected, [None, None],
                                      f"{sub.name} checkpointed")
    b.callees.append(text)
    for func in funcs:
        func.__srcad_derivative__ = "reverse"
    return funcs[0], funcs[1]


def _emit(b: Build):
    fn, f, callees = b.fn, b.f, b.callees

    def build_callee(func, cmode, cwrt, ckinds, line, cname=None):
        stack = _stack()
        if sum(func is g for g in stack) > _RECURSION_BUILDS:
            raise UnsupportedSyntaxError(f"recursive call of {frontend.describe(func)}() whose "
                                         "derivative srcad cannot build: each level calls it "
                                         "with other argument kinds or derivatives; write it "
                                         "as a loop", fn.filename, line)
        stack.append(f)
        try:
            d = get(func, cmode, cwrt, ckinds, single=False, name=cname, backend=b.backend)
        except SrcadError as e:
            if e.filename is None:                 # name the call in the user's code
                raise type(e)(e.bare_message, fn.filename, line) from None
            if _in_library(e.filename) and not _in_library(fn.filename):
                # inside a library function srcad read (scipy.linalg.solve): the user's call,
                # the library's line kept in the message
                raise type(e)(f"{e.bare_message} (inside {frontend.describe(func)}, at "
                              f"{e.filename}:{e.lineno})", fn.filename, line) from None
            raise
        finally:
            stack.pop()
        if d.text:
            callees.append(d.text)
        return d.func

    # the names the caller gives the derivative: no other function's derivative it calls
    # may take them (an override calling its base's method of the same name)
    avoid = (f, {b.name} if isinstance(b.name, str) else set(b.name or ()))
    stack = _stack()
    stack.append(f)
    try:
        if b.mode in ("forward", "batched"):
            emitted = forward.forward(fn, b.act, b.names, build_callee,
                                      batched=b.mode == "batched", avoid=avoid)
        elif b.mode in ("reverse", "split"):
            emitted = reverse.reverse(fn, b.act, b.names, build_callee, with_value=b.with_value,
                                      single=b.single, split=b.mode == "split", avoid=avoid,
                                      typed_zeros=b.backend == "numba")
        else:
            raise SrcadError(f"unknown mode {b.mode!r}: use 'forward' or 'reverse'")
    finally:
        stack.pop()
    trees = emitted.trees
    if b.name:
        for t, n in zip(trees, (b.name,) if isinstance(b.name, str) else b.name):
            t.name = n
    b.trees, b.injected = trees, {**fn.injected, **emitted.injected}
    b.adjoints, b.containers = emitted.adjoints, emitted.containers


def _check_emitted(b: Build):
    _check(b, _EMITTER[b.mode])


def _check_optimized(b: Build):
    _check(b, "optimize")


def _check(b: Build, after: str):
    if b.checks:
        env = (b.injected, b.parsed.closure, b.parsed.globals, b.parsed.free_names)
        check.check(b.trees, b.fn, env, after)


def _optimize(b: Build):
    impure = set(b.injected)
    b.trees = [optimize.optimize(t, impure, b.adjoints, b.containers) for t in b.trees]
    if b.backend == "python" and _appends(b.fn):
        for t in b.trees:
            lists.grow_in_place(t)       # private lists appended and popped in place


def _appends(fn) -> bool:
    """Whether `fn` appends to a list: only then has its derivative lists that grow (the
    rebuilds `xs = [*xs, v]` and their adjoints' drops) for lists.grow_in_place."""
    from .rules.core import LIST_APPEND
    return any(isinstance(s, ir.Assign) and isinstance(s.value, ir.Call) and
               s.value.prim is LIST_APPEND for s in ir.walk(fn.body))


def _numba(b: Build):
    if b.backend == "numba":
        from .backends import numba
        b.extra_trees = numba.rewrite(b.trees, b.fn, b.act.kinds,
                                      reverse=b.mode in ("reverse", "split"))


def _codegen(b: Build):
    fn, trees = b.fn, b.trees
    body = codegen.render(trees + b.extra_trees, fn.source_lines, fn.filename)
    b.used = codegen.names_used(trees + b.extra_trees)
    b.text = codegen.source_text(b.used, body,
                                 list(b.callees) + funcs.copy_sources(b.injected, b.used),
                                 b.parsed.aliases if b.parsed is not None else {})
    if b.backend == "numba":
        from .backends import numba
        b.text = numba.text_of(b.text)
        b.funcs = numba.compile_functions(trees, b.text, fn, b.parsed.globals,
                                          b.parsed.closure, b.injected)
        return
    defaults = [_defaults(b.parsed, fn, b.mode)] + [None] * (len(trees) - 1)
    b.funcs = codegen.compile_functions(trees, b.used, body, b.text, b.parsed.globals,
                                        b.parsed.closure, b.injected, defaults,
                                        f"{fn.name} {b.mode}")


_RECURSION_BUILDS = 6       # builds of one function nested in one another, at most


def _stack() -> list:
    """The functions whose derivatives are being built in this thread (to refuse recursion)."""
    stack = getattr(_BUILDING, "stack", None)
    if stack is None:
        stack = _BUILDING.stack = []
    return stack


# ---------------------------------------------------------------- what SRCAD_DEBUG prints

def _show_parsed(b):
    return ast.unparse(gast.gast_to_ast(b.parsed.tree))


def _show_ssa(b):
    return ir.to_source(b.fn)


def _show_activity(b):
    """Every field of the activity result (kinds, shape classes, varied, useful, ...)."""
    act = b.act
    lines = [f"wrt: {', '.join(b.names)}"]
    rows = [(f.name, getattr(act, f.name)) for f in dataclasses.fields(act)]
    rows.append(("active", act.active))
    for label, value in rows:
        if isinstance(value, dict):
            items = ", ".join(f"{k}: {v}" for k, v in sorted(value.items(), key=_by_name))
        elif isinstance(value, (set, frozenset)):
            items = ", ".join(sorted(map(str, value)))
        else:
            items = str(value)
        lines.append(f"{label}: {items}")
    return "\n".join(lines)


def _by_name(item):
    return str(item[0])


def _show_trees(b):
    """The derivative functions as codegen renders them (on copies: it fills empty blocks)."""
    copies = [ast.fix_missing_locations(rules.clone(t)) for t in b.trees]
    return codegen.render(copies, b.fn.source_lines, b.fn.filename)


def _show_check(b):
    return "passed" if b.checks else "not run (set SRCAD_CHECKS=1)"


def _show_verify(b):
    return "passed"


def _show_text(b):
    return b.text


# (name, pass, what SRCAD_DEBUG=name prints after it); "check" runs after emit and optimize
PASSES = (
    ("frontend", _frontend, _show_parsed),
    ("lower", _lower, _show_ssa),
    ("verify", _verify, _show_verify),
    ("activity", _activity, _show_activity),
    ("checkpoint", _checkpoint, _show_ssa),
    ("emit", _emit, _show_trees),
    ("check", _check_emitted, _show_check),
    ("optimize", _optimize, _show_trees),
    ("check", _check_optimized, _show_check),
    ("numba", _numba, _show_trees),
    ("codegen", _codegen, _show_text),
)
_EMITTER = {"forward": "forward", "batched": "forward", "reverse": "reverse", "split": "reverse"}
# other names SRCAD_DEBUG takes: the source a call compiles (forward/reverse: in that mode)
_ALIASES = {"source": ("codegen", None), "forward": ("codegen", "forward"),
            "reverse": ("codegen", "reverse")}
DEBUG_NAMES = tuple(dict.fromkeys([p[0] for p in PASSES] + list(_ALIASES)))


def debug_names(debug: str | None) -> set:
    """The pass names in `debug` (else $SRCAD_DEBUG), comma separated; unknown ones raise."""
    names = set(filter(None, (n.strip() for n in
                              (debug or os.environ.get("SRCAD_DEBUG", "")).split(","))))
    unknown = names.difference(DEBUG_NAMES)
    if unknown:
        raise SrcadError(f"SRCAD_DEBUG: unknown pass name{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(sorted(unknown))}; the passes are "
                         f"{', '.join(DEBUG_NAMES)}")
    return names


def _printer(debug: set, mode: str):
    """pass name -> whether to print after it, and with a header line."""
    out = {}
    for n in debug:
        target, only = _ALIASES.get(n, (n, None))
        if only is None:
            out.setdefault(target, True)
        elif _EMITTER.get(mode) == only:
            out[target] = False             # as before: the compiled source only
    return out


def build(f, mode: str, wrt: tuple, kinds: tuple, single: bool = True, with_value: bool = False,
          debug: str | None = None, name: str | None = None,
          checks: bool | None = None, backend: str = "python", checkpoint=None) -> Derivative:
    """Run the passes: the derivative of `f` in `mode` with respect to positions `wrt`.
    `debug` (else $SRCAD_DEBUG) names passes to print the program after; `checks` (else
    $SRCAD_CHECKS=1) runs the internal checks of generated code; `backend` compiles it."""
    show = _printer(debug_names(debug), mode)
    if checks is None:
        checks = os.environ.get("SRCAD_CHECKS", "") not in ("", "0")
    b = Build(f, mode, wrt, kinds, single, with_value, name, checks, backends.check(backend),
              checkpoint=checkpoint)
    for pass_name, run, shown in PASSES:
        run(b)
        if pass_name in show:
            _print(b, pass_name, shown, show[pass_name])
    for func in b.funcs:              # what srcad built (the alias analysis trusts its stacks)
        func.__srcad_derivative__ = b.mode
    _bind_slots(b.funcs)
    return Derivative(func=b.funcs[0] if len(b.funcs) == 1 else tuple(b.funcs), text=b.text,
                      params=b.fn.params, out_kind=b.act.kind(b.fn.body[-1].value),
                      mutates=tuple(i for i, p in enumerate(b.fn.params) if p in b.act.mutated),
                      backend=b.backend, checkpointed=b.checkpointed)


def _print(b: Build, pass_name: str, shown, header: bool):
    if header:
        print(f"# srcad: {b.mode} derivative of {b.parsed.tree.name}, after {pass_name}")
    print(shown(b))


def _defaults(parsed, fn, mode):
    if mode != "reverse":
        return None
    vals = []
    for p in reversed(fn.params):
        if p not in parsed.defaults:
            break
        vals.append(parsed.defaults[p])
    return tuple(reversed(vals)) + (1.0,)


def ssa(f) -> str:
    """The primal of `f` in SSA three-address form (the frontend, lower and verify passes)."""
    b = Build(f, "reverse", (), static_kinds(f))
    for run in (_frontend, _lower, _verify):
        run(b)
    return ir.to_source(b.fn)


__all__ = ["build", "get", "ssa", "kind_of", "static_kinds", "Derivative", "Build", "PASSES",
           "rules"]
