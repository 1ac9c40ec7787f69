"""The derivative rule tables and their registry.

A rule declares, once per primitive, how to print the primal call and its
tangent and adjoint as small Python expression templates over fixed
placeholder names: the primitive's parameters (`x`, `y`, `axis`, ...), `out`,
`out_bar` and `<param>_dot`. The emitters parse nothing else: they substitute
names into these templates. Rules live in the table modules of this package
(`core`, ...); adding a primitive touches one of them.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field

import numpy as np

# kinds of values, as the activity pass infers them
FLOAT, INT, ANY, NONE = "float", "int", "any", "none"

def runtime_namespace() -> dict:
    """The names generated code may use besides the user's: numpy, math and the runtime."""
    import math

    import numpy as np

    from .. import runtime
    return {"np": np, "math": math, **{n: getattr(runtime, n) for n in runtime.__all__},
            **EXTRA_NAMES, **{n: obj for n, (obj, _) in LAZY_NAMES.items()}}


EXTRA_NAMES: dict = {}   # names user-defined rules bring into generated code (see custom.py)
LAZY_NAMES: dict = {}    # name -> (object, its import line): names lazily loaded tables bring


@dataclass(frozen=True, eq=False)
class Template:
    """A Python expression with placeholder names, parsed once."""
    text: str
    tree: ast.expr = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "tree", ast.parse(self.text, mode="eval").body)

    def instantiate(self, mapping: dict) -> ast.expr:
        """The template with each placeholder Name replaced by `mapping[name]` (an AST)."""
        return _Substitute(mapping).visit(clone(self.tree))

    @property
    def names(self) -> set:
        return {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name)}


def clone(node):
    """A deep copy of an AST, much faster than copy.deepcopy (Load/Store markers shared)."""
    cls = node.__class__
    if cls is ast.Name:
        return ast.Name(id=node.id, ctx=node.ctx)
    if cls is list:
        return [clone(x) for x in node]
    if not isinstance(node, ast.AST) or cls in _CONTEXTS:
        return node
    new = cls.__new__(cls)
    d = new.__dict__
    for f in cls._fields:
        d[f] = clone(getattr(node, f, None))
    return new


_CONTEXTS = {ast.Load, ast.Store, ast.Del}


class _Substitute(ast.NodeTransformer):
    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, node):
        if node.id in self.mapping:
            new = self.mapping[node.id]
            return clone(new) if isinstance(new, ast.AST) else ast.Name(id=new, ctx=ast.Load())
        return node


@dataclass(eq=False)
class Rule:
    """One primitive: how to print it, its kind, and its tangent and adjoint templates."""
    key: object                    # the Python callable, or ("method", name), or an operator
    params: list                   # [(name, default or _REQUIRED)]
    name: str = ""                 # printed call name, e.g. "np.sin"
    primal: Template | None = None  # printed form for operators, e.g. "x * y"
    jvp: dict = field(default_factory=dict)    # param -> contribution to out_dot
    vjp: dict = field(default_factory=dict)    # param -> contribution to param_bar
    kind: str = "elementwise"      # how the output kind follows the inputs
    differentiable: bool = True    # False: output is never active (comparisons, shape, ...)

    @property
    def diff_params(self) -> list:
        return [p for p, _ in self.params if p in self.vjp or p in self.jvp]

    def emit(self, args, kwargs, static, names) -> ast.expr:
        """The primal call as an expression over argument ASTs."""
        if self.primal is not None:
            mapping = dict(zip([p for p, _ in self.params], args))
            mapping.update(kwargs)
            return self.primal.instantiate({**names, **mapping})
        func = ast.parse(self.name, mode="eval").body
        head = func
        while isinstance(head, ast.Attribute):
            head = head.value
        if isinstance(head, ast.Name) and head.id in names:
            head.id = names[head.id] if isinstance(names[head.id], str) else head.id
        return ast.Call(func=func, args=list(args),
                        keywords=[ast.keyword(arg=k, value=v) for k, v in kwargs.items()])

    def bind(self, nargs: int, kwnames) -> dict | str:
        """Map positional count and keyword names onto params: {param: ('arg', i) | ('kw', k)}.

        Returns an error message instead when the call does not fit.
        """
        names = [p for p, _ in self.params]
        if nargs > len(names):
            return f"{self.name or self.key} takes at most {len(names)} arguments"
        bound = {names[i]: ("arg", i) for i in range(nargs)}
        for k in kwnames:
            if k not in names:
                return f"{self.name or self.key} has no argument {k!r} srcad knows"
            if k in bound:
                return f"{self.name or self.key} got {k!r} twice"
            bound[k] = ("kw", k)
        for p, default in self.params:
            if p not in bound and default is _REQUIRED:
                return f"{self.name or self.key} is missing argument {p!r}"
        return bound


class IndexRule(Rule):
    """`x[index]`: the index's layout is static, its atoms are the call's extra arguments.

    Templates name the whole index `IDX`.
    """

    def emit(self, args, kwargs, static, names) -> ast.expr:
        return ast.Subscript(value=args[0], slice=index_ast(static, args, True), ctx=ast.Load())


def index_ast(layout, atoms, subscript: bool) -> ast.expr:
    """The index expression of `layout` over the call's `atoms` (the indexed value first): `a, 1:n, None` inside a subscript,
    `(a, slice(1, n, None), None)` as a value."""
    def part(item):
        kind = item[0]
        if kind == "atom":
            return atoms[item[1]]
        if kind == "none":
            return ast.Constant(None)
        if kind == "ellipsis":
            return ast.Constant(...)
        lo, hi, st = (None if k is None else atoms[k] for k in item[1:])
        if subscript:
            return ast.Slice(lower=lo, upper=hi, step=st)
        return ast.Call(func=ast.Name(id="slice", ctx=ast.Load()),
                        args=[x if x is not None else ast.Constant(None) for x in (lo, hi, st)],
                        keywords=[])
    if layout[0] == "tuple":
        return ast.Tuple(elts=[part(i) for i in layout[1]], ctx=ast.Load())
    return part(layout)


_REQUIRED = object()
_TABLE: dict = {}
_METHODS: dict = {}


def _parse_params(spec: str) -> list:
    params = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if "=" in part:
            name, default = (s.strip() for s in part.split("=", 1))
            params.append((name, ast.literal_eval(default)))
        else:
            params.append((part, _REQUIRED))
    return params


def defrule(keys, params: str, *, name: str = "", primal: str | None = None, jvp=None, vjp=None,
            kind: str = "elementwise", method: str | None = None, differentiable: bool = True):
    """Declare a primitive's rule. `jvp`/`vjp` are one template (for the first parameter)
    or a dict of templates per differentiable parameter."""
    plist = _parse_params(params)
    first = plist[0][0] if plist else None

    def tdict(t):
        if t is None:
            return {}
        if isinstance(t, str):
            return {first: Template(t)}
        return {k: Template(v) for k, v in t.items()}

    rule = Rule(key=keys, params=plist, name=name, primal=Template(primal) if primal else None,
                jvp=tdict(jvp), vjp=tdict(vjp), kind=kind, differentiable=differentiable)
    for key in keys if isinstance(keys, list) else (keys,):
        _TABLE[_ident(key)] = rule
    if method:
        _METHODS[method] = rule
    return rule


def _scaled(g: str, deriv: str) -> str:
    """`g * f'(x)`, written `g / d` when f'(x) is `1.0 / d` (one operation fewer)."""
    return f"{g} / {deriv[6:]}" if deriv.startswith("1.0 / ") else f"{g} * ({deriv})"


def defunary(module, prefix: str, table: dict, kind: str = "elementwise"):
    """One rule per `name: f'(x)` entry of `table`, for `module.name` (f'(x) may use `out`)."""
    for name, deriv in table.items():
        defrule(getattr(module, name), "x", name=f"{prefix}.{name}", kind=kind,
                jvp=_scaled("x_dot", deriv), vjp=_scaled("out_bar", deriv))


def defpartials(keys, params: str, *, name: str, partials: dict, unbroadcast: bool = True,
                kind: str = "elementwise"):
    """An elementwise function of several arguments from its partial derivatives
    `{param: df/dparam}`: tangents scale each partial, adjoints sum back to each input."""
    jvp = {p: f"{p}_dot * {d}" for p, d in partials.items()}
    vjp = {p: f"unbroadcast(out_bar * {d}, {p})" if unbroadcast else f"out_bar * {d}"
           for p, d in partials.items()}
    return defrule(keys, params, name=name, jvp=jvp, vjp=vjp, kind=kind)


def deflinear(func, params: str, vjp: str, kind: str = ANY, name: str | None = None,
              method: str | None = None):
    """A function linear in its first parameter (an array, an adjoint or a tangent): its
    tangent is the function applied to that parameter's tangent; `vjp` is its transpose."""
    name = name or func.__name__
    names = [p for p, _ in _parse_params(params)]
    jvp = f"{name}({', '.join([names[0] + '_dot'] + names[1:])})"
    return defrule(func, params, name=name, kind=kind, jvp=jvp, vjp=vjp, method=method)


def defalias(keys, rule: Rule, name: str):
    """`keys` differentiate as `rule` does (np.add as +) but print as calls of `name`."""
    alias = Rule(key=keys, params=rule.params, name=name, jvp=rule.jvp, vjp=rule.vjp,
                 kind=rule.kind, differentiable=rule.differentiable)
    for key in keys if isinstance(keys, list) else (keys,):
        _TABLE[_ident(key)] = alias
    return alias


def _ident(obj):
    try:
        hash(obj)
        return obj
    except TypeError:
        return id(obj)


def lookup(obj) -> Rule | None:
    """The rule for a callable, or None. A miss on what may be a SciPy function (a ufunc,
    or an object of a scipy module) loads the SciPy tables once and looks again."""
    try:
        rule = _TABLE.get(_ident(obj))
    except TypeError:
        return None
    if rule is None and not LAZY_RULES and "scipy" in sys.modules and (
            isinstance(obj, np.ufunc) or str(getattr(obj, "__module__", "")).startswith("scipy")):
        load_scipy()
        return lookup(obj)
    return rule


LAZY_RULES: list = []    # the rules of the SciPy tables, once loaded


def load_scipy() -> list:
    """Load the SciPy rule tables (importing SciPy) once; their rules."""
    if not LAZY_RULES:
        before = {id(r) for r in all_rules()}
        from . import scipy_linalg, scipy_special, scipy_stats  # noqa: F401
        LAZY_RULES.extend(r for r in all_rules() if id(r) not in before)
    return LAZY_RULES


def lookup_method(name: str) -> Rule | None:
    """The rule for an ndarray method `x.name(...)`, or None."""
    return _METHODS.get(name)


def all_rules() -> list:
    seen, out = set(), []
    for r in list(_TABLE.values()) + list(_METHODS.values()):
        if id(r) not in seen:
            seen.add(id(r))
            out.append(r)
    return out


from . import core  # noqa: E402,F401  (fills the tables)
from . import elementwise  # noqa: E402,F401
from . import reductions  # noqa: E402,F401
from . import linalg  # noqa: E402,F401
from . import shapes  # noqa: E402,F401
from . import methods  # noqa: E402,F401
from . import constants  # noqa: E402,F401
from . import helpers  # noqa: E402,F401  (the runtime's own helpers, last)
