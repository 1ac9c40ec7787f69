"""The pass list, in one place, and the cache of built derivatives.

    frontend -> lower -> (verify) -> activity -> forward | reverse -> optimize -> codegen

`build` runs it for one function, mode, `wrt` and argument kinds; set
`SRCAD_DEBUG=lower,reverse,...` (or `debug=`) to print the program after a pass.
"""
from __future__ import annotations

import inspect
import os
import threading
import weakref

import numpy as np
from dataclasses import dataclass

from . import activity, codegen, forward, frontend, ir, lower, optimize, reverse, rules
from .errors import SrcadError, UnsupportedSyntaxError
from .rules import ANY, FLOAT, INT


@dataclass
class Derivative:
    func: object          # the compiled derivative
    text: str             # its source, as `srcad.source` shows it
    params: list          # the primal's parameter names


_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_BUILDING = threading.local()


def kind_of(value) -> str:
    t = type(value)
    if t is float:
        return FLOAT
    if t is int or t is bool:
        return INT
    return ANY


def kinds_of(args) -> tuple:
    """Each argument's kind; arrays as `any:k`, k the first argument of the same shape,
    so that the generated code may rely on which arguments have equal shapes."""
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
            out.append("seq")
        elif t is np.ndarray:
            shape = a.shape
            for k, s in enumerate(shapes):
                if s == shape:
                    break
            else:
                k = len(shapes)
                shapes.append(shape)
            out.append(_ARRAY_KINDS[k] if k < len(_ARRAY_KINDS) else ANY)
        else:
            out.append(ANY)
    return tuple(out)


_SIMPLE = {float: FLOAT, int: INT, bool: INT}
_ARRAY_KINDS = tuple(f"any:{k}" for k in range(16))


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
    return list(inspect.signature(f).parameters)


def get(f, mode: str, wrt: tuple, kinds: tuple, single: bool = True,
        with_value: bool = False, name: str | None = None) -> Derivative:
    """The cached derivative of `f`, built on first use; `name` names the generated def."""
    key = (mode, wrt, kinds, single, with_value, name)
    try:
        per_func = _CACHE[f]
    except KeyError:
        per_func = _CACHE[f] = {}
    except TypeError:
        per_func = {}
    d = per_func.get(key)
    if d is None:
        d = per_func[key] = build(f, mode, wrt, kinds, single, with_value, name=name)
    return d


def parse(f, kinds: tuple) -> frontend.Parsed:
    """The frontend, also for srcad's own transformations (`grad(f)` is its generated code)."""
    transform = getattr(f, "__srcad_transform__", None)
    if transform is None:
        return frontend.parse(f)
    kind, inner, positions, single = transform
    if kind not in ("grad", "value_and_grad"):
        raise UnsupportedSyntaxError(f"cannot differentiate srcad.{kind}(...) itself; "
                                     "differentiate srcad.grad(f) instead")
    ikinds = tuple(FLOAT if (i in positions and k == INT) else k for i, k in enumerate(kinds))
    d = get(inner, "reverse", positions, ikinds, single, kind == "value_and_grad")
    return frontend.parse_generated(d.func, _d_out_name(d.func), 1.0)


def _d_out_name(func) -> str:
    code = func.__code__
    return code.co_varnames[code.co_argcount - 1]


def build(f, mode: str, wrt: tuple, kinds: tuple, single: bool = True, with_value: bool = False,
          debug: str | None = None, name: str | None = None) -> Derivative:
    """Run the passes: the derivative of `f` in `mode` with respect to positions `wrt`."""
    debug = set(filter(None, (debug or os.environ.get("SRCAD_DEBUG", "")).split(",")))
    parsed = parse(f, kinds)
    fn = lower.lower(parsed)
    ir.verify(fn)
    if "lower" in debug:
        print(ir.to_source(fn))
    names = [fn.params[i] for i in wrt]
    kinds = tuple(FLOAT if (i in wrt and k == INT) else k for i, k in enumerate(kinds))
    kinds = kinds + (ANY,) * (len(fn.params) - len(kinds))
    act = activity.analyze(fn, names, dict(zip(fn.params, kinds)))
    callees: list = []

    def build_callee(func, cmode, cwrt, ckinds, line, cname=None):
        stack = getattr(_BUILDING, "stack", None)
        if stack is None:
            stack = _BUILDING.stack = []
        if any(func is g for g in stack):
            raise UnsupportedSyntaxError(f"recursive call of {func.__name__}() is not "
                                         "differentiable by srcad; write it as a loop",
                                         fn.filename, line)
        stack.append(f)
        try:
            d = get(func, cmode, cwrt, ckinds, single=False, name=cname)
        finally:
            stack.pop()
        callees.append(d.text)
        return d.func

    stack = getattr(_BUILDING, "stack", None)
    if stack is None:
        stack = _BUILDING.stack = []
    stack.append(f)
    try:
        if mode == "forward":
            emitted = forward.forward(fn, act, names, build_callee)
        elif mode in ("reverse", "split"):
            emitted = reverse.reverse(fn, act, names, build_callee, with_value=with_value,
                                      single=single, split=mode == "split")
        else:
            raise SrcadError(f"unknown mode {mode!r}: use 'forward' or 'reverse'")
    finally:
        stack.pop()
    trees = emitted.trees
    if name:
        for t, n in zip(trees, (name,) if isinstance(name, str) else name):
            t.name = n
    injected = {**fn.injected, **emitted.injected}
    impure = set(injected)
    trees = [optimize.optimize(t, impure, emitted.adjoints) for t in trees]
    body = codegen.render(trees, fn.source_lines, fn.filename)
    used = codegen.names_used(trees)
    text = codegen.source_text(used, body, callees)
    if mode in debug or (mode == "split" and "reverse" in debug):
        print(text)                       # what this call compiles, for its argument kinds
    defaults = [_defaults(parsed, fn, mode)] + [None] * (len(trees) - 1)
    funcs = codegen.compile_functions(trees, used, body, text, parsed.globals, parsed.closure,
                                      injected, defaults, f"{fn.name} {mode}")
    for func in funcs:
        func.__srcad_derivative__ = (f, mode, wrt)
    return Derivative(func=funcs[0] if len(funcs) == 1 else tuple(funcs), text=text,
                      params=fn.params)


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
    """The primal of `f` in SSA three-address form."""
    fn = lower.lower(parse(f, static_kinds(f)))
    ir.verify(fn)
    return ir.to_source(fn)


__all__ = ["build", "get", "ssa", "kind_of", "static_kinds", "Derivative", "rules"]
