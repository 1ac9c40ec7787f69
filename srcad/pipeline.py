"""The pass list, in one place, and the cache of built derivatives.

`build` runs `PASSES` in order for one function, mode, `wrt` and argument kinds:

    frontend   the function's gast tree and environment (frontend.py)
    lower      SSA three-address form, an ir.Function (lower.py)
    verify     ir.verify: the SSA invariants
    activity   kinds, shape classes, varied/useful/active names (activity.py)
    emit       the derivative tree, Python ast (forward.py or reverse.py, by mode)
    check      srcad.check of the tree (when SRCAD_CHECKS=1; the test suite sets it)
    optimize   exact simplification of the tree (optimize.py)
    check      srcad.check again
    codegen    source text and the compiled function (codegen.py)

`SRCAD_DEBUG=<name>[,<name>...]` (or `build(debug=...)`) prints the program after each
named pass: the parsed function, the SSA, an activity summary, the tree before and after
optimize, the source text. `source` is `codegen`; `forward` and `reverse` print only the
source a call in that mode compiles, with no header. An unknown name raises SrcadError.
"""
from __future__ import annotations

import ast
import dataclasses
import inspect
import os
import threading
import weakref
from dataclasses import dataclass, field

import gast
import numpy as np

from . import activity, check, codegen, forward, frontend, ir, lower, optimize, reverse, rules
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
    parsed: frontend.Parsed | None = None      # frontend
    fn: ir.Function | None = None              # lower
    names: list = field(default_factory=list)  # activity: the wrt parameters' names
    act: activity.Activity | None = None       # activity
    trees: list = field(default_factory=list)  # emit, optimize: the derivative functions
    callees: list = field(default_factory=list)   # emit: the helpers' derivative texts
    injected: dict = field(default_factory=dict)  # emit: names bound for the compiled code
    used: set = field(default_factory=set)     # codegen: the names the trees read
    text: str = ""                             # codegen: the source text
    funcs: list = field(default_factory=list)  # codegen: the compiled functions


def _frontend(b: Build):
    b.parsed = parse(b.f, b.kinds)


def _lower(b: Build):
    b.fn = lower.lower(b.parsed)


def _verify(b: Build):
    ir.verify(b.fn)


def _activity(b: Build):
    fn = b.fn
    b.names = [fn.params[i] for i in b.wrt]
    kinds = tuple(FLOAT if (i in b.wrt and k == INT) else k for i, k in enumerate(b.kinds))
    b.kinds = kinds + (ANY,) * (len(fn.params) - len(kinds))
    b.act = activity.analyze(fn, b.names, dict(zip(fn.params, b.kinds)))
    lower.check_rules(fn, b.act.varied)       # calls without a rule that derivatives reach


def _emit(b: Build):
    fn, f, callees = b.fn, b.f, b.callees

    def build_callee(func, cmode, cwrt, ckinds, line, cname=None):
        stack = _stack()
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

    stack = _stack()
    stack.append(f)
    try:
        if b.mode == "forward":
            tree = forward.forward(fn, b.act, b.names, build_callee)
        elif b.mode in ("reverse", "split"):
            tree = reverse.reverse(fn, b.act, b.names, build_callee, with_value=b.with_value,
                                   single=b.single, split=b.mode == "split")
        else:
            raise SrcadError(f"unknown mode {b.mode!r}: use 'forward' or 'reverse'")
    finally:
        stack.pop()
    trees = list(tree) if isinstance(tree, tuple) else [tree]
    if b.name:
        for t, n in zip(trees, (b.name,) if isinstance(b.name, str) else b.name):
            t.name = n
    injected = dict(fn.injected)
    injected.update(_injected_of(trees[0], fn))
    b.trees, b.injected = trees, injected


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
    b.trees = [optimize.optimize(t, impure) for t in b.trees]


def _codegen(b: Build):
    fn, trees = b.fn, b.trees
    body = codegen.render(trees, fn.source_lines, fn.filename)
    b.used = codegen.names_used(trees)
    b.text = codegen.source_text(b.used, body, b.callees)
    defaults = [_defaults(b.parsed, fn, b.mode)] + [None] * (len(trees) - 1)
    b.funcs = codegen.compile_functions(trees, b.used, body, b.text, b.parsed.globals,
                                        b.parsed.closure, b.injected, defaults,
                                        f"{fn.name} {b.mode}")


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
    ("emit", _emit, _show_trees),
    ("check", _check_emitted, _show_check),
    ("optimize", _optimize, _show_trees),
    ("check", _check_optimized, _show_check),
    ("codegen", _codegen, _show_text),
)
_EMITTER = {"forward": "forward", "reverse": "reverse", "split": "reverse"}
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
          checks: bool | None = None) -> Derivative:
    """Run the passes: the derivative of `f` in `mode` with respect to positions `wrt`.
    `debug` (else $SRCAD_DEBUG) names passes to print the program after; `checks` (else
    $SRCAD_CHECKS=1) runs the internal checks of generated code."""
    show = _printer(debug_names(debug), mode)
    if checks is None:
        checks = os.environ.get("SRCAD_CHECKS", "") not in ("", "0")
    b = Build(f, mode, wrt, kinds, single, with_value, name, checks)
    for pass_name, run, shown in PASSES:
        run(b)
        if pass_name in show:
            _print(b, pass_name, shown, show[pass_name])
    for func in b.funcs:
        func.__srcad_derivative__ = (f, mode, wrt)
    return Derivative(func=b.funcs[0] if len(b.funcs) == 1 else tuple(b.funcs), text=b.text,
                      params=b.fn.params)


def _print(b: Build, pass_name: str, shown, header: bool):
    if header:
        print(f"# srcad: {b.mode} derivative of {b.parsed.tree.name}, after {pass_name}")
    print(shown(b))


def _injected_of(tree, fn) -> dict:
    return getattr(tree, "injected", {})


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
