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
import dataclasses
import sys
from dataclasses import dataclass, field

import numpy as np

# kinds of values, as the activity pass infers them
FLOAT, INT, ANY, NONE = "float", "int", "any", "none"

def runtime_namespace() -> dict:
    """The names generated code may use besides the user's: numpy, math, the runtime, and
    the functions of custom rules (USER_RULES; `srcad.source` imports those from the user's
    modules, not from the runtime). Read-only: one dict, made again only when a table or a
    custom rule brought names (the lowering asks for each name it makes)."""
    from .. import runtime
    # the three only grow: runtime.__all__ and LAZY_NAMES by tables loaded (a name taken is
    # refused, add_lazy_names), USER_RULES by names no rule had (custom._free_name)
    key = (len(runtime.__all__), len(USER_RULES), len(LAZY_NAMES))
    if _NAMESPACE and _NAMESPACE[0] == key:
        return _NAMESPACE[1]
    import math
    names = {"np": np, "math": math, **{n: getattr(runtime, n) for n in runtime.__all__},
             **USER_RULES, **{n: obj for n, (obj, _) in LAZY_NAMES.items()}}
    _NAMESPACE[:] = [key, names]
    return names


_NAMESPACE: list = []    # [key, runtime_namespace()]: the last one made, and what it was made of


USER_RULES: dict = {}    # the functions srcad.custom_rule rules bring into generated code, by
#                          the names it calls them (imported from the user's modules, see custom.py)
LAZY_NAMES: dict = {}    # name -> (object, its import line): names lazily loaded tables bring


def add_lazy_names(module) -> None:
    """Bring `module.__all__` into generated code's names (imported from that module). A
    name the runtime or another table already uses for something else is refused at import:
    a template would silently call the other function (scipy.linalg's cholesky_jvp once
    replaced np.linalg's)."""
    from .. import runtime
    from ..errors import SrcadError
    for n in module.__all__:
        obj = getattr(module, n)
        other = getattr(runtime, n) if n in runtime.__all__ else LAZY_NAMES.get(n, (obj,))[0]
        if other is not obj:
            raise SrcadError(f"{module.__name__}.{n}: the name is already one of srcad's "
                             "helpers; give it another")
        LAZY_NAMES[n] = (obj, f"from {module.__name__} import {n}")


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
_CALLEES: dict = {}      # a rule's printed name -> its expression (`np.linalg.det`), parsed once


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
    pure: bool = True              # False: a call may differ each time (never reused)
    kwonly: tuple = ()             # parameters passed only by keyword (after `*` in the spec)
    # False: raises on some values srcad differentiates (`~x` or `x << 1` on a float, int()
    # of nan, math.log(-1.0)), so a derivative keeps its primal statement even where
    # nothing reads it, and raises as the primal does
    total: bool = True
    # the adjoints of all differentiable parameters as one tuple (a custom rule's VJP): the
    # reverse emitter computes it once per call and `vjp` templates index it as `SHARED[k]`
    vjp_shared: Template | None = None
    # the tangent as one template over every parameter's `<param>_dot` (a custom rule's JVP,
    # called once per call): the forward emitter passes 0.0 for inactive arguments' tangents
    jvp_shared: Template | None = None
    # how the tangent batches (a leading axis of directions, see forward.py's batch mode):
    # "elementwise" says every `jvp` template broadcasts its tangents elementwise (checked
    # here: only operators and BATCH_ELEMENTWISE calls stand between a tangent and the
    # result), so the tangents lifted to the result's rank give the batched tangent;
    # `jvp_batched` gives a parameter's batched template itself (its `<param>_dot` is the
    # batched tangent, BATCH the number of directions). Without either, the forward emitter
    # maps the unbatched template over the directions.
    batch: str = ""
    jvp_batched: dict = field(default_factory=dict)

    def __post_init__(self):
        for p, t in self.jvp.items():      # the tangent passed on as it is batches as it is
            if p not in self.jvp_batched and isinstance(t.tree, ast.Name) and \
                    t.tree.id == f"{p}_dot":
                self.jvp_batched[p] = t
        _check_templates(self)
        if not self.table:
            self.table = _declaring_module()

    @property
    def label(self) -> str:
        """How messages name the primitive: its printed name, operator or qualified name."""
        if self.name:
            return self.name
        if self.primal is not None:
            return self.primal.text
        keys = self.key if isinstance(self.key, list) else [self.key]
        return ", ".join(getattr(k, "__qualname__", None) or str(k) for k in keys)
    # storage facts, read by the alias analysis (activity.py)
    storage: str = "new"           # the result is a "new" object, a "view" of one of
    storage_args: tuple = ()       # these parameters, or may be the "same" object as one
    copy_flag: str | None = None   # a parameter that, passed the constant True, makes it new
    holds: tuple = ()              # parameters the result holds as items ("*p": p's items)
    returns_seq: bool = False      # the result is a list or tuple (adjoints add item-wise)
    # a parameter which, holding a list or tuple, makes the result a container (index_add's
    # g: an item of a list's adjoint that is itself a tuple, as for a list of (W, b) pairs)
    seq_item: str = ""
    inplace: bool = False          # the call changes its first storage_args in place
    shape_args: tuple = ()         # parameters read only for their shape (`like` in unbroadcast)
    # the result is the first argument's value (same kind, shape class and sequence-ness;
    # the object itself where it is a list, tuple or array), as for `items_of`
    passthrough: bool = False
    # an elementwise primitive that, given numbers, returns a 0-d array rather than a NumPy
    # scalar (np.where(c, 1.0, 2.0), np.i0(0.5)): a mutable object, which `a += x` changes
    # in place (so its kind is ANY, not FLOAT: a name sharing it sees the change)
    array_of_numbers: bool = False
    # (a parameter, and maybe the parameter giving a least number of dimensions) the result
    # stacks the items of, a list or tuple of values of one number of dimensions, along a new
    # first axis: one dimension more than the items (np.array([a, b, c]) of numbers is 1-D);
    # an array there keeps its number of dimensions (its rows are the items)
    stacks: tuple = ()
    # list facts, read by lists.py (which lists may grow in place): the call reads a list
    # argument's items and keeps no reference to the list (`reads_items`), or returns a new
    # list no other name holds (`new_list`)
    reads_items: bool = False
    new_list: bool = False
    # the result has the first argument's shape (its shape class) where that argument has
    # at least this many dimensions, as its shape class knows (np.triu of a matrix: 2)
    keeps_shape: int | None = None
    shaped_like: str = ""          # a parameter whose shape (class) the result always has
    # a parameter holding the result's whole shape (an int or a tuple, as np.zeros's
    # `shape`): its length is the result's number of dimensions (the alias analysis tells
    # `xs[t, 1]` of such an array, one entry and so a new scalar, from a view)
    ndim_of: str = ""
    # a rule with tangents and no adjoints: the SrcadError, made with no arguments, that
    # reverse mode raises where a derivative flows into a call (at the line it names)
    reverse_error: object = None
    zero_in: tuple = ()            # parameters the result is piecewise constant in (no derivative)
    linear: bool = False           # linear in its first parameter (`deflinear`): f(-g) == -f(g)
    table: str = ""                # the table module that declared it (srcad.rules.core, ...)
    # a wider form of the primitive, for the calls this rule cannot bind (np.sum's where=
    # and dtype=, whose templates cost more): see `for_call`
    variant: Rule | None = None

    def for_call(self, nargs: int, kwnames) -> Rule:
        """The rule differentiating a call of `nargs` positional arguments and these keyword
        names: this one, or its `variant` where only that binds them."""
        forms = [self]
        while forms[-1].variant is not None:      # (a wider form may have a wider one still)
            forms.append(forms[-1].variant)
        for r in forms:
            if not isinstance(r.bind(nargs, kwnames), str):
                return r
        # none binds: the message of the narrowest form that knows every keyword (a missing
        # argument, as the user wrote it), else the widest's (which names the unknown one)
        names = set(kwnames)
        return next((r for r in forms if names <= {p for p, _ in r.params}), forms[-1])
    # False: srcad's numba backend cannot compile a call of it (Numba has no version of it,
    # nor srcad.backends.numba_runtime): a derivative calling it is refused at build time
    numba: bool = True
    # what the Python operator means when an operand is a list or tuple ("concatenation"):
    # srcad differentiates the call as arithmetic, so such a call on a list or tuple is
    # refused (the lowering turns the cases it can tell, a display or a list argument, into
    # a concatenation before)
    on_seqs: str = ""

    @property
    def diff_params(self) -> list:
        return [p for p, _ in self.params if p in self.vjp or p in self.jvp]

    def emit(self, args, kwargs, static, names) -> ast.expr:
        """The primal call as an expression over argument ASTs."""
        if self.primal is not None:
            mapping = dict(zip([p for p, _ in self.params], args))
            mapping.update(kwargs)
            for p, default in self.params:      # (a keyword form's defaults, as constants)
                if p not in mapping and default is not _REQUIRED:
                    mapping[p] = ast.Constant(default)
            return self.primal.instantiate({**names, **mapping})
        parsed = _CALLEES.get(self.name)
        if parsed is None:
            parsed = _CALLEES[self.name] = ast.parse(self.name, mode="eval").body
        func = clone(parsed)                 # the name's expression, a tree of its own
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
        positional = [p for p in names if p not in self.kwonly]
        if nargs > len(positional):
            return f"{self.label} takes at most {len(positional)} arguments"
        bound = {names[i]: ("arg", i) for i in range(nargs)}
        for k in kwnames:
            if k not in names:
                return f"{self.label} has no argument {k!r} srcad knows"
            if k in bound:
                return f"{self.label} got {k!r} twice"
            bound[k] = ("kw", k)
        for p, default in self.params:
            if p not in bound and default is _REQUIRED:
                return (f"{self.label} is missing argument {p!r}: srcad "
                        f"differentiates it called as {self.signature()}")
        return bound

    def signature(self) -> str:
        """The call this rule differentiates, as `max(x, y)` or `np.sum(x, axis=None, *, ...)`."""
        parts = [p if d is _REQUIRED else f"{p}={d!r}" for p, d in self.params
                 if p not in self.kwonly]
        if self.kwonly:
            parts += ["*"] + [f"{p}={d!r}" for p, d in self.params if p in self.kwonly]
        return f"{self.label}({', '.join(parts)})"


def _declaring_module() -> str:
    """The module outside this one whose code is declaring a rule (its table)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    return frame.f_globals.get("__name__", "") if frame is not None else ""


# builtins a template may call besides the runtime namespace's names
TEMPLATE_BUILTINS = {"float", "int", "len", "list", "range", "slice", "sum", "tuple", "isinstance"}


def _check_templates(rule: Rule):
    """Fail when the rule is declared, not at its first use, if a template names what it
    cannot: every name must be a parameter, `out`, `out_bar`, `<param>_dot`, `IDX` (an
    index's rule), `SHARED` (a vjp template of a rule with `vjp_shared`), a runtime name or
    one of TEMPLATE_BUILTINS; and `jvp`/`vjp` give templates for parameters only."""
    params = [p for p, _ in rule.params]
    what = rule.label
    clash = set(params) & {"out", "out_bar", "IDX", "SHARED"}
    if clash and (rule.jvp or rule.vjp or rule.vjp_shared or rule.jvp_shared):
        # a template's `out` would be the result, not the argument
        raise ValueError(f"rule {what}: parameter {', '.join(sorted(clash))} is a template "
                         "placeholder's name; rename it")
    if rule.batch not in ("", "elementwise"):
        raise ValueError(f"rule {what}: batch must be '' or 'elementwise', not {rule.batch!r}")
    if rule.batch:
        for p, t in rule.jvp.items():
            bad = _not_elementwise(t.tree, {f"{q}_dot" for q in params})
            if bad:
                raise ValueError(f"rule {what}: its jvp template {t.text!r} is declared "
                                 f"elementwise in its tangents, but {bad} is not")
    known = set(params) | {"out", "out_bar"} | {f"{p}_dot" for p in params} | \
        set(runtime_namespace()) | TEMPLATE_BUILTINS | \
        ({"IDX"} if isinstance(rule, (IndexRule, SetItemRule)) else set())
    shared = {"SHARED"} if rule.vjp_shared is not None else set()
    checks = [("jvp", t, known) for t in rule.jvp.values()] + \
        [("vjp", t, known | shared) for t in rule.vjp.values()] + \
        [("vjp_shared", rule.vjp_shared, known)] * bool(shared) + \
        [("jvp_shared", rule.jvp_shared, known)] * (rule.jvp_shared is not None) + \
        [("primal", rule.primal, known)] * (rule.primal is not None) + \
        [("jvp_batched", t, known | {"BATCH"}) for t in rule.jvp_batched.values()]
    for kind, t, allowed in checks:
        bad = t.names - allowed
        if bad:
            raise ValueError(f"rule {what}: its {kind} template {t.text!r} names "
                             f"{', '.join(sorted(bad))}: no parameter, placeholder or runtime "
                             "name")
    for kind, table in (("jvp", rule.jvp), ("vjp", rule.vjp), ("jvp_batched", rule.jvp_batched)):
        if set(table) - set(params):
            raise ValueError(f"rule {what}: {kind} templates for {sorted(set(table) - set(params))}"
                             f", not parameters of ({', '.join(params)})")
    # a tuple-valued tangent says the result is a tuple: its adjoints add item by item,
    # which the reverse pass knows only from returns_seq (`+` of two adjoint tuples
    # concatenated them, and the factor's adjoint then read the first term only)
    if not rule.returns_seq and any(isinstance(t.tree, ast.Tuple) for t in
                                    (*rule.jvp.values(), rule.jvp_shared) if t is not None):
        raise ValueError(f"rule {what}: its tangent is a tuple; declare returns_seq=True")


# calls a template declared elementwise (Rule.batch) may apply to a tangent: each broadcasts
# its arguments elementwise (bcast widens to the result: the batch mode's own bbcast)
BATCH_ELEMENTWISE = {"bcast", "abs_jvp", "np.where", "np.real", "np.conj", "written", "times_or_zero"}


def _not_elementwise(tree, tangents: set) -> str | None:
    """The text of the first part of template `tree` between a tangent and the result that
    is no elementwise operation (an operator other than @, a BATCH_ELEMENTWISE call with the
    tangent as an argument, np.where's not as its condition), else None."""
    def mentions(node):
        return any(isinstance(n, ast.Name) and n.id in tangents for n in ast.walk(node))

    def walk(node):
        if not mentions(node) or isinstance(node, ast.Name):
            return None
        if isinstance(node, ast.BinOp) and not isinstance(node.op, ast.MatMult):
            return walk(node.left) or walk(node.right)
        if isinstance(node, ast.UnaryOp):
            return walk(node.operand)
        if isinstance(node, ast.Call) and ast.unparse(node.func) in BATCH_ELEMENTWISE and \
                not node.keywords and not (ast.unparse(node.func) == "np.where" and
                                           mentions(node.args[0])):
            return next(filter(None, map(walk, node.args)), None)
        return ast.unparse(node)
    return walk(tree)


class IndexRule(Rule):
    """`x[index]`: the index's layout is static, its atoms are the call's extra arguments.

    Templates name the whole index `IDX`.
    """

    def emit(self, args, kwargs, static, names) -> ast.expr:
        return ast.Subscript(value=args[0], slice=index_ast(static, args, True), ctx=ast.Load())


class SetItemRule(Rule):
    """`x[index] = v`: changes the array `x` in place (its call's first two atoms are x and
    v, the index's layout is static over the atoms after them, as for IndexRule). In the
    IR its statement assigns x's own name (`y = SETITEM(y, v, i)`: the same object, now
    changed), printed as the statement `y[i] = v`. Templates name the whole index `IDX`;
    the vjp of `x` is x's whole new adjoint (it replaces, not adds to, the adjoint of the
    name the statement assigns), and the tangent is the same update of the tangents."""

    def emit(self, args, kwargs, static, names) -> ast.expr:
        return ast.Call(func=ast.Name(id="setitem", ctx=ast.Load()),
                        args=[args[0], index_ast(static, args, False), args[1]], keywords=[])

    def emit_stmt(self, args, static) -> ast.stmt:
        """The update as a statement: `x[index] = v` over the call's argument ASTs."""
        target = ast.Subscript(value=args[0], slice=index_ast(static, args, True),
                               ctx=ast.Store())
        return ast.Assign(targets=[target], value=args[1], lineno=0)

    def emit_batched_stmt(self, args, static, x) -> ast.stmt:
        """The update of batched tangents (see forward.py): `bsetitem(x_dot, index, v_dot,
        x)` over the call's argument ASTs (x_dot, v_dot, the index atoms) and the updated
        array `x`."""
        return ast.Expr(value=ast.Call(func=ast.Name(id="bsetitem", ctx=ast.Load()),
                                       args=[args[0], index_ast(static, args, False), args[1], x],
                                       keywords=[]))


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
_NAMES: dict = {}            # printed call name -> rule


def _parse_params(spec: str) -> list:
    """`"x, axis=None"` as [(name, default or _REQUIRED)]; a `*` entry is kept as ("*", None)."""
    params = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if part == "*":
            params.append(("*", None))
        elif "=" in part:
            name, default = (s.strip() for s in part.split("=", 1))
            params.append((name, ast.literal_eval(default)))
        else:
            params.append((part, _REQUIRED))
    return params


def defrule(keys, params: str, *, name: str = "", primal: str | None = None, jvp=None, vjp=None,
            kind: str = "elementwise", method: str | None = None, differentiable: bool = True,
            total: bool = True, vjp_shared: str | None = None, jvp_shared: str | None = None,
            pure: bool = True, batch: str = "", jvp_batched=None,
            storage: str = "new", storage_arg: str | None = None, copy_flag: str | None = None,
            holds: str = "", returns_seq: bool = False, inplace: bool = False,
            shape_args: str = "", passthrough: bool = False, numba: bool = True,
            on_seqs: str = "", keeps_shape: int | None = None, shaped_like: str = "",
            reads_items: bool = False, new_list: bool = False, seq_item: str = "",
            zero_in: str = "", ndim_of: str = "", array_of_numbers: bool = False,
            stacks: str = ""):
    """Declare a primitive's rule. `jvp`/`vjp` are one template (for the first parameter)
    or a dict of templates per differentiable parameter. The storage facts: `storage` is
    "new", "view" or "same" (of `storage_arg`, comma-separated names, default the first
    parameter); `holds` names the parameters the result holds as items; `inplace` says the
    call changes its `storage_arg` in place; `shape_args` names parameters read only for
    their shape; `passthrough` says the result is the first argument's value;
    `keeps_shape` (a number of dimensions) that the result has the first argument's shape
    where that has at least as many dimensions; `shaped_like` the parameter whose shape the
    result always has (updated(r, x): x's); `reads_items` and `new_list` the list facts
    (see Rule.reads_items); `seq_item` the parameter which, a list or tuple, makes the
    result a container; `numba`
    False says the numba backend cannot compile a call of it. `batch` and `jvp_batched`
    (templates as `jvp`'s) say how the tangent batches (see Rule.batch); `on_seqs`, what
    the operator does to lists (see Rule.on_seqs); `zero_in` the parameters the result is
    piecewise constant in (a condition, a sign, a cutoff): any other parameter without a
    template is refused where a varied value is passed to it; `ndim_of` the parameter
    holding the result's whole shape; `array_of_numbers` that numbers give a 0-d array (see
    Rule.array_of_numbers); `stacks` the parameter whose items the result stacks (and the
    one giving a least number of dimensions, see Rule.stacks)."""
    plist = _parse_params(params)
    star = [p for p, _ in plist].index("*") if ("*", None) in plist else len(plist)
    kwonly = tuple(p for p, _ in plist[star + 1:])
    plist = [p for p in plist if p[0] != "*"]
    first = plist[0][0] if plist else None
    if storage not in ("new", "view", "same"):
        raise ValueError(f"storage must be 'new', 'view' or 'same', not {storage!r}")
    shares = tuple(filter(None, (p.strip() for p in (storage_arg or "").split(",")))) or \
        ((first,) if storage != "new" or inplace else ())
    held = tuple(filter(None, (p.strip() for p in holds.split(","))))
    shaped = tuple(filter(None, (p.strip() for p in shape_args.split(","))))
    zeros = tuple(filter(None, (p.strip() for p in zero_in.split(","))))
    stacked = tuple(filter(None, (p.strip() for p in stacks.split(","))))
    names = {p for p, _ in plist}
    for p in shares + held + shaped + zeros + stacked + tuple(filter(None, (copy_flag, shaped_like,
                                                                  ndim_of))):
        if p.lstrip("*") not in names:
            raise ValueError(f"{name or keys}: storage fact names {p!r}, not a parameter")

    def tdict(t):
        if t is None:
            return {}
        if isinstance(t, str):
            return {first: Template(t)}
        return {k: Template(v) for k, v in t.items()}

    rule = Rule(key=keys, params=plist, name=name, primal=Template(primal) if primal else None,
                jvp=tdict(jvp), vjp=tdict(vjp), kind=kind, differentiable=differentiable,
                kwonly=kwonly, total=total,
                vjp_shared=Template(vjp_shared) if vjp_shared else None,
                jvp_shared=Template(jvp_shared) if jvp_shared else None, pure=pure,
                storage=storage, storage_args=shares, copy_flag=copy_flag, holds=held,
                returns_seq=returns_seq, inplace=inplace, shape_args=shaped,
                passthrough=passthrough, numba=numba, batch=batch,
                jvp_batched=tdict(jvp_batched), on_seqs=on_seqs, keeps_shape=keeps_shape,
                shaped_like=shaped_like, reads_items=reads_items, new_list=new_list,
                seq_item=seq_item, zero_in=zeros, ndim_of=ndim_of,
                array_of_numbers=array_of_numbers, stacks=stacked)
    for key in keys if isinstance(keys, list) else (keys,):
        _TABLE[_ident(key)] = rule
    if name and primal is None and keys != []:
        _NAMES.setdefault(name, rule)
    if method:
        _METHODS[method] = rule
    if not total:
        _PARTIAL.clear()
    return rule


def _scaled(g: str, deriv: str) -> str:
    """`g * f'(x)`, written `g / d` when f'(x) is `1.0 / d` (one operation fewer)."""
    d = ast.parse(deriv, mode="eval").body
    if isinstance(d, ast.BinOp) and isinstance(d.op, ast.Div) and \
            isinstance(d.left, ast.Constant) and d.left.value == 1.0 and \
            type(d.left.value) is float:
        scaled = ast.BinOp(left=ast.Name(id=g, ctx=ast.Load()), op=ast.Div(), right=d.right)
    else:
        scaled = ast.BinOp(left=ast.Name(id=g, ctx=ast.Load()), op=ast.Mult(), right=d)
    return ast.unparse(scaled)


def defunary(module, prefix: str, table: dict, kind: str = "elementwise", partial=(),
             array_of_numbers=()):
    """One rule per `name: f'(x)` entry of `table`, for `module.name` (f'(x) may use `out`);
    the functions named in `partial` are not total (see `Rule.total`), those named in
    `array_of_numbers` give a 0-d array of a number (see `Rule.array_of_numbers`)."""
    for name, deriv in table.items():
        defrule(getattr(module, name), "x", name=f"{prefix}.{name}", kind=kind,
                jvp=_scaled("x_dot", deriv), vjp=_scaled("out_bar", deriv),
                total=name not in partial, batch="elementwise",
                array_of_numbers=name in array_of_numbers)


def defpartials(keys, params: str, *, name: str, partials: dict, unbroadcast: bool = True,
                kind: str = "elementwise", **facts):
    """An elementwise function of several arguments from its partial derivatives
    `{param: df/dparam}`: tangents scale each partial, adjoints sum back to each input;
    `facts` are defrule's."""
    jvp = {p: f"{p}_dot * {d}" for p, d in partials.items()}
    vjp = {p: f"unbroadcast(out_bar * {d}, {p})" if unbroadcast else f"out_bar * {d}"
           for p, d in partials.items()}
    return defrule(keys, params, name=name, jvp=jvp, vjp=vjp, kind=kind, batch="elementwise",
                   **facts)


def deflinear(func, params: str, vjp: str, kind: str = ANY, name: str | None = None,
              method: str | None = None, **facts):
    """A function linear in its first parameter (an array, an adjoint or a tangent): its
    tangent is the function applied to that parameter's tangent; `vjp` is its transpose.
    `facts` are defrule's storage facts."""
    name = name or func.__name__
    names = [p for p, _ in _parse_params(params)]
    jvp = f"{name}({', '.join([names[0] + '_dot'] + names[1:])})"
    rule = defrule(func, params, name=name, kind=kind, jvp=jvp, vjp=vjp, method=method, **facts)
    rule.linear = True
    return rule


def defvariant(rule: Rule, params: str, **templates) -> Rule:
    """Give `rule` a wider form over `params` (its `variant`, or the variant of its widest
    form so far), printed and named alike, with the tangent and adjoint `templates` (jvp=,
    vjp=) of defrule."""
    while rule.variant is not None:
        rule = rule.variant
    rule.variant = defrule([], params, name=rule.name, kind=rule.kind, **templates)
    return rule.variant


def defdtype(rule: Rule) -> Rule:
    """Give a NumPy ufunc's rule its `dtype=` form (its `variant`): `np.exp(x, dtype=d)`
    computes in d, so the tangent is cast to the result's dtype and the adjoint starts from
    the cotangent cast alike (an integer or boolean result carries none, as for `astype`;
    NumPy refuses to cast a float input to one under its default casting)."""
    out_bar = ast.parse("cast_adjoint(out_bar, out)", mode="eval").body

    def adjoint(t: Template) -> str:
        return ast.unparse(_Substitute({"out_bar": out_bar}).visit(clone(t.tree)))
    params = [p for p in rule.params if p[0] not in rule.kwonly]
    kwonly = [p for p in rule.params if p[0] in rule.kwonly] + [("dtype", None),
                                                                 ("casting", "same_kind")]
    rule.variant = dataclasses.replace(
        rule, key=[], params=params + kwonly, kwonly=tuple(p for p, _ in kwonly),
        jvp={p: Template(f"cast_tangent({t.text}, out)") for p, t in rule.jvp.items()},
        vjp={p: Template(adjoint(t)) for p, t in rule.vjp.items()},
        batch="", jvp_batched={}, variant=None)
    return rule.variant


class MaskedRule(Rule):
    """A ufunc called as `f(x, y, out=into, where=where)`: f's value where the condition holds,
    `into`'s entries where it does not, in into's dtype (NumPy writes f's value into out
    there and leaves out's other entries alone). The lowering passes out= as the parameter
    `into` (a local array the statement rebinds, or a fresh array, see lower.py). f's
    tangents and adjoints are computed on the entries the condition selects alone
    (`masked_take` gathers them, `masked_put` scatters the result back, zeros elsewhere), so
    the nan or inf f's derivative is at an entry the condition excludes (log's x = 0) never
    enters a derivative, not even a second one; into's derivatives are kept where the
    condition is false."""


def defmasked(rule: Rule) -> Rule:
    """Give a NumPy ufunc's rule its `out=..., where=...` form (a MaskedRule, its widest
    `variant`), printed `f(x, y, out=np.copy(into), where=where, casting=casting)` so that
    into itself, which earlier values may share, is left as it was. In each of f's tangent
    and adjoint templates every parameter, tangent, `out` and `out_bar` becomes its selected
    entries (an adjoint's unbroadcast is taken off first: the sum back to the parameter's
    shape comes after the scatter, so a scalar written into a larger into gets the sum);
    the result is cast to into's dtype (an integer into carries no derivative)."""
    params = [p for p in rule.params if p[0] not in rule.kwonly]
    names = [p for p, _ in params]
    extra = [("where", _REQUIRED), ("into", _REQUIRED), ("casting", "same_kind")]
    picked = {n: ast.parse(f"masked_take({n}, where, out)", mode="eval").body
              for n in names + [f"{p}_dot" for p in names] + ["out", "out_bar"]}

    def selected(t: Template, adjoint: bool) -> str:
        tree = t.tree
        if adjoint and isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and \
                tree.func.id == "unbroadcast" and len(tree.args) == 2:
            tree = tree.args[0]
        return ast.unparse(_Substitute(picked).visit(clone(tree)))
    jvp = {p: f"cast_tangent(masked_put({selected(t, False)}, where, out), out)"
           for p, t in rule.jvp.items()}
    vjp = {p: f"unbroadcast(cast_adjoint(masked_put({selected(t, True)}, where, out), out), {p})"
           for p, t in rule.vjp.items()}
    jvp["into"] = "cast_tangent(np.where(where, 0.0, into_dot), out)"    # (np.sign's too:
    vjp["into"] = "np.where(where, 0.0, out_bar)"                         # into's entries)
    flat = () if rule.differentiable else tuple(names)
    masked = Rule(key=[], params=params + extra, name=rule.name,
                  primal=Template(f"{rule.name}({', '.join(names)}, out=np.copy(into), "
                                  "where=where, casting=casting)"),
                  jvp={p: Template(t) for p, t in jvp.items()},
                  vjp={p: Template(t) for p, t in vjp.items()},
                  kind=ANY, shaped_like="into", kwonly=("where", "into", "casting"),
                  total=rule.total, zero_in=tuple(rule.zero_in) + flat + ("where",),
                  numba=False)
    masked.__class__ = MaskedRule
    while rule.variant is not None:
        rule = rule.variant
    rule.variant = masked
    return masked


def _ufunc_dtypes() -> None:
    """The `dtype=` and `out=..., where=...` forms of every NumPy ufunc's rule (see
    `defdtype`, `defmasked`); `casting=` is a keyword of both (it only permits or refuses
    the cast dtype= or out= asks for, which the primal checks: it never changes a value).
    Generalized ufuncs (np.matmul, np.vecdot: not elementwise) get the dtype= form only."""
    for r in all_rules():
        keys = r.key if isinstance(r.key, list) else [r.key]
        ufuncs = [k for k in keys if isinstance(k, np.ufunc)]
        if type(r) is Rule and r.variant is None and r.primal is None and not r.returns_seq \
                and r.vjp_shared is None and r.jvp_shared is None and r.name.startswith("np.") \
                and ufuncs:
            defdtype(r)
            if all(k.signature is None for k in ufuncs):
                defmasked(r)


def defalias(keys, rule: Rule, name: str):
    """`keys` differentiate as `rule` does (np.add as +) but print as calls of `name`."""
    alias = Rule(key=keys, params=rule.params, name=name, jvp=rule.jvp, vjp=rule.vjp,
                 kind=rule.kind, differentiable=rule.differentiable, kwonly=rule.kwonly,
                 total=rule.total, vjp_shared=rule.vjp_shared, jvp_shared=rule.jvp_shared,
                 pure=rule.pure,
                 storage=rule.storage,
                 storage_args=rule.storage_args, copy_flag=rule.copy_flag, holds=rule.holds,
                 returns_seq=rule.returns_seq, inplace=rule.inplace, shape_args=rule.shape_args,
                 passthrough=rule.passthrough, numba=rule.numba, batch=rule.batch,
                 jvp_batched=rule.jvp_batched, keeps_shape=rule.keeps_shape,
                 shaped_like=rule.shaped_like, seq_item=rule.seq_item)
    for key in keys if isinstance(keys, list) else (keys,):
        _TABLE[_ident(key)] = alias
    _NAMES.setdefault(name, alias)
    return alias


class PartialRule(Rule):
    """A rule differentiated in some parameters only: an active argument for one of
    `refused` (an order, a shape, a quantile's q) makes the emitters refuse at the user's
    line."""
    refused: tuple = ()

    @property
    def diff_params(self) -> list:
        return [p for p, _ in self.params
                if p in self.vjp or p in self.jvp or p in self.refused]


class FunctionRule(Rule):
    """A function taking the user's function as its first argument (scipy.integrate.odeint):
    the lowering hands each call, with the function value srcad knows (funcs.FuncVal), to
    `lower_call`, which lowers it to calls of ordinary rules; the rule has no templates."""

    def lower_call(self, low, args: list, kwargs: dict, node, dest, text):
        raise NotImplementedError


def refuse(rule: Rule, *params: str) -> Rule:
    """`rule`, refusing to differentiate `params`."""
    rule.__class__ = PartialRule
    rule.refused = params
    return rule


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
        from . import scipy_special  # noqa: F401  (first: it names the SciPy helpers)
        from . import scipy_linalg, scipy_stats  # noqa: F401
        from . import scipy_signal  # noqa: F401
        from . import scipy_integrate  # noqa: F401
        LAZY_RULES.extend(r for r in all_rules() if id(r) not in before)
        for r in LAZY_RULES:          # Numba compiles no SciPy function
            r.numba = False
    return LAZY_RULES


def lookup_name(text: str) -> Rule | None:
    """The rule of a function printed as `text(...)` (e.g. "np.sum", "unbroadcast"), for
    passes that read generated code; None for other names."""
    return _NAMES.get(text)


def lookup_method(name: str) -> Rule | None:
    """The rule for an ndarray method `x.name(...)`, or None."""
    return _METHODS.get(name)


def may_raise(expr: ast.AST) -> bool:
    """Whether generated code `expr` calls a primitive whose rule is not total (see
    `Rule.total`): the optimizer never drops such a statement as dead."""
    ops, names = _partial_forms()
    for n in ast.walk(expr):
        cls = n.__class__
        if (cls is ast.BinOp or cls is ast.UnaryOp) and n.op.__class__ in ops:
            return True
        if cls is ast.Call and ast.unparse(n.func) in names:
            return True
    return False


_PARTIAL: list = []          # the printed forms of the rules that are not total, once built


def _partial_forms() -> tuple:
    """(operator classes, printed call names) of the rules that are not total."""
    if not _PARTIAL:
        ops, names = set(), set()
        for r in all_rules():
            if r.total:
                continue
            if r.primal is not None:
                if isinstance(r.primal.tree, (ast.BinOp, ast.UnaryOp)):
                    ops.add(r.primal.tree.op.__class__)
            elif r.name:
                names.add(r.name)
        _PARTIAL.append((ops, names))
    return _PARTIAL[0]


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
from . import fft  # noqa: E402,F401
from . import shapes  # noqa: E402,F401
from . import methods  # noqa: E402,F401
from . import constants  # noqa: E402,F401
from . import idioms  # noqa: E402,F401
from . import containers  # noqa: E402,F401
from . import helpers  # noqa: E402,F401  (the runtime's own helpers)
from . import arrays  # noqa: E402,F401  (NumPy's array functions: it names index_add's rule)
_ufunc_dtypes()     # noqa: E305  (once every NumPy table is filled)
