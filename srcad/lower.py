"""Lowering pass: a gast function to SSA three-address form (`ir.Function`).

Each expression becomes one statement per operation on atoms; temporaries are
`v0, v1, ...` (recorded in `Function.temps`: a user's `v3` is a user variable). A
user's variable keeps its name; reassigned at the top level it gets a new version
(`x`, `x_1`, ...), reassigned inside control flow it keeps its name. `for` loops
become loops over a `range` object (`for x in xs` reads `xs[i]`, xs as it was at
loop entry), `while c:` becomes `while True:` with a `break`, `a and b` and
`a if c else b` become branches, and early returns become a result variable
plus `break`s, so each path through the function ends at its last statement.
Calls without a derivative rule stay as opaque calls; `check_rules` refuses them
once activity shows a derivative would flow into one.
"""
from __future__ import annotations

import ast
import builtins
import copy
import dataclasses
import functools
import inspect
import operator
import textwrap
import types

import gast
import numpy as np

from . import funcs, idioms, ir, rules, runtime, runtime_arrays
from .funcs import walk_own
from .optimize import nodes
from .errors import NonDifferentiableError, UnsupportedSyntaxError
from .frontend import Parsed
from .funcs import FuncList, FuncVal

_BINOPS = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
           gast.Div: operator.truediv, gast.Pow: operator.pow, gast.MatMult: operator.matmul,
           gast.FloorDiv: operator.floordiv, gast.Mod: operator.mod, gast.BitOr: operator.or_,
           gast.BitAnd: operator.and_, gast.BitXor: operator.xor, gast.LShift: operator.lshift,
           gast.RShift: operator.rshift}
_CMPOPS = {gast.Lt: operator.lt, gast.LtE: operator.le, gast.Gt: operator.gt,
           gast.GtE: operator.ge, gast.Eq: operator.eq, gast.NotEq: operator.ne,
           gast.Is: operator.is_, gast.IsNot: operator.is_not, gast.In: operator.contains}
_UNOPS = {gast.USub: operator.neg, gast.UAdd: operator.pos, gast.Not: operator.not_,
          gast.Invert: operator.invert}

_CONSTRUCT_NAMES = {
    gast.Lambda: "lambda", gast.ListComp: "list comprehension", gast.SetComp: "set comprehension",
    gast.DictComp: "dict comprehension", gast.GeneratorExp: "generator expression",
    gast.Yield: "yield", gast.YieldFrom: "yield from", gast.Await: "await",
    gast.NamedExpr: "assignment expression (:=)", gast.JoinedStr: "f-string",
    gast.Dict: "dict display", gast.Set: "set display", gast.Starred: "starred expression",
    gast.Try: "try/except", gast.With: "with", gast.AsyncWith: "async with",
    gast.AsyncFor: "async for", gast.Global: "global", gast.Nonlocal: "nonlocal",
    gast.Raise: "raise", gast.Delete: "del", gast.Import: "import", gast.ImportFrom: "import",
    gast.ClassDef: "class definition", gast.AsyncFunctionDef: "async def", gast.Assert: "assert",
}
if hasattr(gast, "TryStar"):
    _CONSTRUCT_NAMES[gast.TryStar] = "try/except*"
if hasattr(gast, "Match"):
    _CONSTRUCT_NAMES[gast.Match] = "match"


class UserCall:
    """A call to one of the user's own functions; its derivatives are built recursively."""

    def __init__(self, func, name: str):
        self.func = func
        self.name = name
        self.differentiable = True
        self.kind = "call"

    def emit(self, args, kwargs, static, names):
        return ast.Call(func=ast.Name(id=self.name, ctx=ast.Load()), args=list(args),
                        keywords=[ast.keyword(arg=k, value=v) for k, v in kwargs.items()])

    def __repr__(self):
        return f"UserCall({self.name})"


class _Pack:
    """Build a tuple or list from atoms: `(a, b)`; the emitters treat it element by element."""

    def __init__(self, kind):
        self.kind, self.differentiable, self.name = kind, True, kind

    def emit(self, args, kwargs, static, names):
        cls = ast.Tuple if self.kind == "tuple" else ast.List
        return cls(elts=list(args), ctx=ast.Load())


PACK_TUPLE, PACK_LIST = _Pack("tuple"), _Pack("list")


class _LiveAttr:
    """`obj.name` of a constant object (a global or a bound method's self), read when the
    derivative runs; never differentiated (its root is not an argument)."""

    def __init__(self, attr):
        self.name, self.differentiable, self.kind = attr, False, rules.ANY

    def emit(self, args, kwargs, static, names):
        return ast.Attribute(value=args[0], attr=self.name, ctx=ast.Load())


class _Opaque:
    """A call srcad has no derivative rule for (`print`, `rng.normal`): emitted as written
    through an injected name (so later passes keep it: it may be impure), never reused, and
    its result gets no derivative; `check_rules` refuses it when a derivative flows into it.
    `message` says why it is not differentiable (None: never refused, e.g. `print`), `error`
    is the SrcadError class it is refused with; `when_varied`, an _Opaque to call instead
    of refusing (one that checks at run time that no derivative is lost)."""

    def __init__(self, name, message=None, kind=rules.ANY, error=NonDifferentiableError,
                 when_varied=None):
        self.name, self.message, self.kind, self.differentiable = name, message, kind, False
        self.error, self.when_varied = error, when_varied

    def emit(self, args, kwargs, static, names):
        return ast.Call(func=ast.Name(id=self.name, ctx=ast.Load()), args=list(args),
                        keywords=[ast.keyword(arg=k, value=v) for k, v in kwargs.items()])


_DISPATCH_LIMIT = 16        # functions `fs[key](x)` picks among, a branch each (dispatch)


class TryBlock(_Opaque):
    """A try/except statement run as one call of itself (idioms.try_), kept as written in
    the primal part of the derivative. `assigned`: the variables it assigns, in the order
    of the tuple it returns; `changes`: the variables (and how) it may change in place.
    check_rules refuses it when a value carrying a derivative flows in and it assigns a
    variable the result depends on, or it changes one in place (see check_rules)."""

    def __init__(self, name, assigned=(), changes=(), params=(), sources=None):
        super().__init__(name, "a try/except block", rules.ANY, UnsupportedSyntaxError)
        self.assigned, self.changes = tuple(assigned), tuple(changes)
        # its parameters (the variables it reads), and for each variable it assigns the
        # parameters whose values may flow into it (None: any)
        self.params, self.sources = tuple(params), sources


class _Raise(_Opaque, ir.Raises):
    """`raise exc`: the call of `raise_exception` a raise statement is (see idioms.raise_)."""


def _method_caller(attr):
    """A function calling method `attr` of its first argument: how generated code spells a
    method srcad has no rule for (a name of its own marks the call as one to keep)."""
    def call(obj, *args, **kwargs):
        return getattr(obj, attr)(*args, **kwargs)
    call.__name__ = f"{attr}_method"
    return call


def _method_into(attr):
    """A function calling method `attr` of its second argument with `out=` a copy of its
    first, returned (`rng.random(out=y)` on a copy of y)."""
    def call(out, obj, *args, **kwargs):
        return runtime_arrays.called_into(getattr(obj, attr), out, *args, **kwargs)
    call.__name__ = f"{attr}_into"
    return call


def _ufunc_at(ufunc):
    """`ufunc.at(y, ...)` on a copy of y (runtime_arrays.ufunc_at_copy), one per ufunc."""
    return functools.partial(runtime_arrays.ufunc_at_copy, ufunc.at)


def _str_method_caller(attr_where):
    """`_method_caller` for a method only strings have (`k.startswith("W")` on a dict's key):
    its result carries no derivative when the receiver is a str, as srcad assumed when it
    built the derivative; any other receiver is refused when the derivative runs."""
    attr, where = attr_where

    def call(obj, *args, **kwargs):
        if not isinstance(obj, (str, bytes)):
            from .errors import NonDifferentiableError
            raise NonDifferentiableError(f"{where}: srcad has no derivative rule for the "
                                         f"method .{attr}() of a {type(obj).__name__} (it "
                                         "takes it for a str method)")
        return getattr(obj, attr)(*args, **kwargs)
    call.__name__ = f"{attr}_method"
    return call


# methods of str that no number, array, list, tuple or dict has: a call of one of them
# on a value srcad cannot type at build time (a dict's key) is a string operation
_STR_ONLY = frozenset(m for m in dir(str) if not m.startswith("_") and not any(
    hasattr(t, m) for t in (float, int, np.ndarray, list, tuple, dict)))

# ndarray and list methods that change their receiver in place and have no rule above
_CHANGING_METHODS = frozenset({"partition", "resize", "itemset", "setfield", "byteswap",
                               "setflags", "clear", "remove", "__setitem__", "__delitem__",
                               "__iadd__", "__isub__", "__imul__", "__itruediv__",
                               "__ifloordiv__", "__imod__", "__ipow__", "__imatmul__"})

_ACCESSORS: dict = {}


def _accessor(make, attr):
    """One function per (maker, attribute), the same in every build: injected objects are
    part of what a derivative depends on."""
    key = (make, attr)
    if key not in _ACCESSORS:
        _ACCESSORS[key] = make(attr)
    return _ACCESSORS[key]


class _Everything:
    def __contains__(self, name):
        return True


_ALL = _Everything()


def _try_block_error(fn: ir.Function, s, varied: set, useful: set, unpacks: dict):
    """The error a try/except block a derivative flows into (`s`, the call of TryBlock) is
    refused with, or None: it is kept as written when nothing it assigns is one the result
    depends on (`useful`) and it changes no variable in place, since then no derivative
    goes through it (which branch runs, and what it computes, are the primal's)."""
    prim = s.value.prim
    where = "a try/except block is kept as written in the derivative (its exceptions " \
        "and handlers run as in the primal) and computes no derivative; it reads a value " \
        "that carries one"
    if prim.changes:
        shown = ", ".join(f"{n} ({how})" for n, how in prim.changes)
        return UnsupportedSyntaxError(
            f"{where} and may change {shown} in place, which the derivative would not "
            "see; srcad differentiates try/except only when it assigns no variable that "
            "carries a derivative and changes none in place: move that work out of the "
            "try statement", fn.filename, s.line)
    unpack = unpacks.get(s.target)
    targets = ir.targets(unpack) if unpack is not None else ()
    args = s.value.args
    varied_params = {p for p, a in zip(prim.params, args)
                     if isinstance(a, ir.Name) and a.id in varied} \
        if len(args) == len(prim.params) and prim.sources is not None else None
    active = [w for k, (w, t) in enumerate(zip(prim.assigned, targets)) if t in useful and
              (varied_params is None or varied_params & set(prim.sources[k]))]
    if not active:
        return None
    many = len(active) > 1
    return UnsupportedSyntaxError(
        f"{where} and assigns {', '.join(active)}, which the result depends on (so "
        f"{'they carry' if many else 'it carries'} a derivative); srcad differentiates "
        "try/except only when no variable it assigns carries a derivative: compute "
        f"{'them' if many else 'it'} outside the try statement", fn.filename, s.line)


def check_rules(fn: ir.Function, varied: set, mode: str = "", useful=None) -> None:
    """Refuse a call srcad has no derivative rule for when a derivative flows into it (an
    argument is `varied`: it depends on a differentiated input), and in reverse `mode` a
    call whose rule has tangents only (Rule.reverse_error). Run after activity. A
    try/except block (TryBlock) a derivative flows into is refused only where what it
    assigns is `useful` (None: every name is) or it changes a variable in place."""
    stmts = list(ir.walk(fn.body))
    unpacks = {s.value.id: s for s in stmts if isinstance(s, ir.Assign) and
               isinstance(s.value, ir.Name) and isinstance(s.target, tuple)}
    for s in stmts:
        if not (isinstance(s, ir.Assign) and isinstance(s.value, ir.Call)):
            continue
        v = s.value
        if isinstance(v.prim, TryBlock):
            if any(isinstance(a, ir.Name) and a.id in varied
                   for a in list(v.args) + list(v.kwargs.values())):
                err = _try_block_error(fn, s, varied, useful if useful is not None else _ALL,
                                       unpacks)
                if err is not None:
                    raise err
            continue
        opaque = isinstance(v.prim, _Opaque) and v.prim.message is not None
        forward_only = mode in ("reverse", "split") and isinstance(v.prim, rules.Rule) and \
            v.prim.reverse_error is not None
        if (opaque or forward_only) and any(isinstance(a, ir.Name) and a.id in varied
                                            for a in list(v.args) + list(v.kwargs.values())):
            if forward_only:
                raise v.prim.reverse_error()
            if v.prim.when_varied is not None:
                v.prim = v.prim.when_varied
                continue
            raise v.prim.error(v.prim.message, fn.filename, s.line)


def lower(parsed: Parsed, kinds=()) -> ir.Function:
    """Lower a parsed function to SSA form; `kinds`, its arguments' (a parameter called
    with a list or tuple makes `p + q` a concatenation, not arithmetic)."""
    low = _Lowerer(parsed)
    low.seq_names |= {p for p, k in zip(low.params, kinds)
                      if k in ("seq", "seq:seqs") or isinstance(k, funcs.ObjArg)}
    low.classes.update({p: k for p, k in zip(low.params, kinds)
                        if isinstance(k, funcs.ObjArg)})
    return low.run()


class _Lowerer:
    def __init__(self, parsed: Parsed):
        self.p = parsed
        # comprehension variables renamed apart (Python's scoping); the generator
        # expressions consumed where they stand
        # (each of these reads the nodes of the function: walked once per tree)
        own = list(walk_own(parsed.tree))
        tree = idioms.constant_modules(parsed.tree, parsed, own)
        if tree is not parsed.tree:
            own = list(walk_own(tree))
        self.tree, self.consumed = idioms.prepare(tree, own)
        if self.tree is not tree:
            own = list(walk_own(self.tree))
        self.temps = 0                   # counters of the numbered names v<k> and phi<k>
        self.merges = 0
        self.cse: dict = {}              # key of a pure rule call -> the atom holding it
        self.changing = False            # lowering a call that changes an argument in place
        self.cse_reads: dict = {}        # name -> keys of the cse entries that read it
        self.temp_names: set = set()
        self.version: dict = {}          # user variable -> its current SSA name
        self.versions: dict = {}         # SSA name -> user variable
        self.depth = 0                   # control-flow nesting
        self.loops = 0                   # ... of which loops
        self.injected: dict = {}         # emitted name -> object (user callees)
        self.merge_names: set = set()
        self.deleted: set = set()        # user variables unbound by `del` (not assigned since)
        self.funcvals: dict = {}         # name -> the function value it holds (funcs.FuncVal)
        self.picks: dict = {}            # variable -> (list, key) variables: see pick_of
        self.seq_names: set = set()      # SSA names a list- or tuple-making operation assigns
        self.seq_len: dict = {}          # SSA name -> the length of the display it holds
        self.dict_keys: dict = {}        # SSA name -> the constant keys of the dict it holds
        # SSA name -> what srcad knows of the objects it holds (funcs.ObjArg: an argument's,
        # a method's self, an item or field of one)
        self.classes: dict = dict(funcs.classes_of(parsed.func))
        self.objects: set = set()        # every name self.classes knew (ir.Function.objects)
        # names unpacked from a helper's result (`v, v_res = h_fwd(m)`): what srcad knows
        # of the objects they hold, for their adjoints only (not to resolve methods: the
        # helpers they are passed to are srcad's own halves of a derivative)
        self.held: dict = {}
        self.free_descs: dict = {}       # free name -> funcs.ObjArg of its value, or None
        self.returned: list = []         # what srcad knows of the objects each return returns
        for p, obj in parsed.statics.items():
            self.funcvals[p] = FuncVal(obj, label=p, root=ir.Name(p))
        self.body: list = []
        self.line = parsed.lineno(parsed.tree)
        fn = self.tree
        params = [a.id for a in list(fn.args.posonlyargs or []) + list(fn.args.args)
                  + list(fn.args.kwonlyargs)]
        self.params = params
        self.locals = set(params) | {n.id for n in own
                                     if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        self.containers = _local_containers(fn, set(params), own)
        # names a new name must avoid: every name the user wrote, and the runtime's
        self.reserved = set(self.locals) | {n.id for n in nodes(fn) if n.__class__ is gast.Name}
        self.reserved |= set(rules.runtime_namespace())
        self.used_versions = set(params)   # SSA names of user variables
        self.taken = self.reserved | self.used_versions

    # ------------------------------------------------------------ names
    def error(self, cls, msg, node):
        return cls(msg, self.p.filename, self.p.lineno(node))

    def fresh_temp(self) -> str:
        name = ir.unique_name("v", self.taken, start=self.temps)
        self.temps += 1
        self.temp_names.add(name)
        return name

    def fresh_merge(self) -> str:
        """A variable several branches assign (an SSA phi): `phi0, phi1, ...`."""
        name = ir.unique_name("phi", self.taken, start=self.merges)
        self.merges += 1
        self.merge_names.add(name)
        return name

    def new_local(self, base: str) -> str:
        """A user-style variable of srcad's own (a comprehension's list), named apart."""
        name = ir.unique_name(base, self.taken)
        self.locals.add(name)
        return name

    def opaque(self, func, base: str, message=None, kind=rules.ANY,
               error=NonDifferentiableError):
        """The primitive calling `func` as the primal does, with no derivative."""
        return _Opaque(self.inject(base, func), message, kind, error)

    def try_block(self, func, assigned, changes, params=(), sources=None):
        """The primitive of a try/except statement run as one call (see TryBlock)."""
        return TryBlock(self.inject("try_block", func), assigned, changes, params, sources)

    def raising(self, func):
        """The primitive of `raise exc`: `func(exc)` raises it (see ir.Raises)."""
        return _Raise(self.inject("raise_exception", func), "an exception made from a value "
                      "that carries a derivative is not supported")

    def fresh_name(self, base: str) -> str:
        name = ir.unique_name(base, self.taken)
        self.used_versions.add(name)
        return name

    def run(self) -> ir.Function:
        fn = self.tree
        if fn.args.vararg or fn.args.kwarg:
            raise self.error(UnsupportedSyntaxError, "a function with *args or **kwargs has "
                             "a derivative per call shape: srcad.grad, jvp, vjp, jacfwd, jacrev "
                             "and hessian build it at the call; derivative, source and ssa need "
                             "the parameters listed explicitly", fn)
        self.version = {p: p for p in self.params}
        body = self.block(fn.body)
        body = _pin_tests(_eliminate_returns(body, self, fn), self)
        out = ir.Function(name=fn.name, params=self.params, body=body, filename=self.p.filename,
                          firstline=self.p.lineno(fn), source_lines=self.p.source_lines,
                          env=self.p, injected=self.injected, merge_names=self.merge_names,
                          temps=self.temp_names, reserved=set(self.taken),
                          versions={v: u for v, u in self.versions.items() if v != u},
                          objects=self.objects | set(self.classes))
        self.p.free_names = {n for n in self.reserved
                             if n not in self.locals and n not in self.used_versions}
        return out

    # ------------------------------------------------------------ statements
    def block(self, stmts) -> list:
        saved, self.body = self.body, []
        for s in stmts:
            self.stmt(s)
        out, self.body = self.body, saved
        return out

    def nested(self, stmts) -> list:
        self.depth += 1
        try:
            return self.block(stmts)
        finally:
            self.depth -= 1

    def emit(self, s):
        """Append `s`; reused values that read a name `s` reassigns are forgotten."""
        for t in ir.targets(s):
            for key in self.cse_reads.pop(t, ()):
                self.cse.pop(key, None)
            self.seq_names.discard(t)
            self.seq_len.pop(t, None)
            self.dict_keys.pop(t, None)
            self.classes.pop(t, None)
            self.held.pop(t, None)
        if isinstance(s, ir.Assign) and isinstance(s.target, str) and \
                isinstance(s.value, ir.Name) and s.value.id in self.seq_names:
            self.seq_names.add(s.target)           # a copy of a list or tuple
            if s.value.id in self.seq_len:
                self.seq_len[s.target] = self.seq_len[s.value.id]
        if isinstance(s, ir.Assign) and isinstance(s.target, str) and \
                isinstance(s.value, ir.Name) and s.value.id in self.dict_keys:
            self.dict_keys[s.target] = self.dict_keys[s.value.id]
        if isinstance(s, ir.Assign) and isinstance(s.target, str) and \
                isinstance(s.value, ir.Name) and s.value.id in self.classes:
            self.classes[s.target] = self.classes[s.value.id]
        self.body.append(s)

    def forget_reuse(self):
        self.cse.clear()
        self.cse_reads.clear()

    def stmt(self, s):
        if idioms.has_walrus(idioms.own_exprs(s)):
            for h in idioms.walrus_statement(self, s):
                self.stmt(h)
            return
        if isinstance(s, gast.While):       # its test runs again after the body reassigns
            for n in _stored(s):
                self.picks.pop(n, None)
        if self.picks:
            s = _picked(s, self.picks)
        if isinstance(s, gast.For):         # (its iterable is read once, before the body)
            for n in _stored(s):            # a back edge: the body may reassign a name
                self.picks.pop(n, None)     # before an earlier statement reads it again
        pick = self.pick_of(s)
        self.lower_stmt(s)
        for n in _stored(s):          # a name reassigned (anywhere in s) holds its own value
            self.picks.pop(n, None)
        if pick is not None:
            self.picks[s.targets[0].id] = pick

    def pick_of(self, s):
        """For `layer = layers[k]`, `layers` a list or tuple of objects of different classes
        and k known only when the derivative runs: (the list, the key) in variables of
        srcad's own, read now, which later reads of `layer` stand for (`layers[k].apply(x)`
        then picks the method by k: see dispatch), until layer is reassigned. Else None."""
        if not (isinstance(s, gast.Assign) and len(s.targets) == 1 and
                isinstance(s.targets[0], gast.Name) and isinstance(s.value, gast.Subscript) and
                not isinstance(s.value.slice, (gast.Constant, gast.Slice, gast.Tuple)) and
                _const_int(s.value.slice) is None and self.mixed(s.value.value) is not None):
            return None
        out = []
        for base, value in (("picked_from", s.value.value), ("picked_key", s.value.slice)):
            name = self.new_local(base)
            self.stmt(idioms._at(gast.Assign(targets=[idioms._name(name, store=True)],
                                             value=value, type_comment=None), s))
            out.append(name)
        return tuple(out)

    def lower_stmt(self, s):
        visit = _VISITORS.get(type(s))
        if visit is None:
            what = _CONSTRUCT_NAMES.get(type(s), type(s).__name__)
            raise self.error(UnsupportedSyntaxError, f"{what} is not supported in a "
                             "differentiated function", s)
        # what srcad knows of the object a name holds (its class) holds where paths meet only
        # when it is the same on each: a loop's back edge, after a loop or a branch
        entry = None
        if isinstance(s, (gast.For, gast.While, gast.Try)):
            self.forget_classes(s, keep_replaced=not isinstance(s, gast.Try))
            entry = dict(self.classes)
        if isinstance(s, (gast.If, gast.For, gast.While, gast.FunctionDef)):
            self.forget_reuse()                 # names may be reassigned in there
            visit(self, s, self.p.lineno(s))
            self.forget_reuse()                 # ... and a test's values read the old ones
        else:
            visit(self, s, self.p.lineno(s))
        self.objects.update(self.classes)
        if entry is not None:
            for n in _stored(s):
                v = self.version.get(n)
                if v is not None and self.classes.get(v) != entry.get(v):
                    self.classes.pop(v, None)

    def forget_classes(self, s, keep_replaced=False):
        """Drop the classes known for the user variables `s` assigns (their versions now);
        `keep_replaced`, but for those it assigns only records replaced from themselves
        (`p = p._replace(W=w)`, `m = dataclasses.replace(m, b=v)`), of the same class."""
        same = _self_replaced(s) if keep_replaced else set()
        for n in _stored(s):
            if n in self.version and n not in same:
                self.classes.pop(self.version[n], None)

    def visit_Expr(self, s, line):
        if isinstance(s.value, gast.Constant):
            return                               # a docstring
        if isinstance(s.value, gast.Call):
            func = s.value.func
            if isinstance(func, gast.Attribute) and func.attr in ("extend", "insert") and \
                    isinstance(func.value, gast.Name) and func.value.id in self.locals:
                (idioms.extend if func.attr == "extend" else idioms.insert)(
                    self, s.value, func.value.id)
                return
            if isinstance(func, gast.Attribute) and func.attr == "append" and \
                    isinstance(func.value, gast.Name) and func.value.id in self.locals:
                if len(s.value.args) != 1 or s.value.keywords:
                    raise self.error(UnsupportedSyntaxError, "list.append takes one argument", s)
                from .rules.core import LIST_APPEND
                xs = self.name(func.value)
                v = self.expr(s.value.args[0])
                self.call_prim(LIST_APPEND, [xs, v], dest=self.target_name(func.value.id))
                self.mark_inplace(func.value.id, xs)
                return
            if isinstance(func, gast.Attribute) and func.attr == "pop" and \
                    not s.value.args and not s.value.keywords and \
                    isinstance(func.value, gast.Name) and func.value.id in self.locals:
                # xs.pop() as a statement  ->  xs = xs[:-1]
                from .rules.core import GETITEM
                xs = self.name(func.value)
                self.call_prim(GETITEM, [xs, ir.Const(None), ir.Const(-1)],
                               static=("slice", 1, 2, None),
                               dest=self.target_name(func.value.id))
                self.mark_inplace(func.value.id, xs)
                return
            if self.out_call(s.value) or self.ufunc_at(s.value) or \
                    self.inplace_call(s.value) or self.inplace_method(s.value) or \
                    idioms.dict_method(self, s.value) or idioms.pop_at(self, s.value):
                return
            self.expr(s.value)
            return
        what = _CONSTRUCT_NAMES.get(type(s.value))
        if what:
            raise self.error(UnsupportedSyntaxError, f"{what} is not supported in a "
                             "differentiated function", s)
        raise self.error(UnsupportedSyntaxError, "an expression statement that is not a call "
                         "has no effect; remove it", s)

    def out_call(self, call) -> bool:
        """`f(..., out=y)` as a statement, y a local name: `y = copied_into(y, f(...))` (the
        result cast into y's dtype, as NumPy writes it), so that values computed from the old
        y keep it; y's sharing is checked as for `y += e`. `where=` beside `out=` (entries
        of y kept where it is false) is refused."""
        out = [k for k in call.keywords if k.arg == "out"]
        if not out or isinstance(out[0].value, gast.Constant) and out[0].value.value is None:
            return False
        target = out[0].value
        if isinstance(target, gast.Tuple) and len(target.elts) == 1:
            target = target.elts[0]
        text = _describe(call.func)
        if not (isinstance(target, gast.Name) and target.id in self.locals):
            raise self.error(UnsupportedSyntaxError, f"{text}(..., out=...) writes into an "
                             "array srcad cannot rebind; it differentiates out= only into a "
                             f"local name (`{text}(..., out=y)`), or write `y = {text}(...)`",
                             call)
        func = call.func
        obj = self.callee(func) if isinstance(func, (gast.Name, gast.Attribute)) else None
        if any(k.arg == "where" for k in call.keywords):
            if _masked_form(obj) is None:
                raise self.error(UnsupportedSyntaxError, f"{text}(..., out=..., where=...) "
                                 "keeps the entries of out where the condition is false; "
                                 "srcad differentiates that for NumPy's elementwise ufuncs; "
                                 "write it with np.where", call)
            old = self.name(target)
            new = self.new_target(target.id)        # (its arguments read the old version)
            self.masked_call(obj, call, old, new, text)
            self.version[target.id] = new
            self.mark_inplace(target.id, old)
            return True
        ruled = rules.lookup(obj) is not None if obj is not None else \
            isinstance(func, gast.Attribute) and rules.lookup_method(func.attr) is not None
        old = self.name(target)
        if ruled:         # a primitive: its result, cast into out's dtype
            plain = gast.copy_location(gast.Call(func=func, args=call.args, keywords=[
                k for k in call.keywords if k.arg != "out"]), call)
            value = self.expr(plain)
            self.call_prim(rules.lookup(runtime_arrays.copied_into), [old, value],
                           dest=self.target_name(target.id))
        else:             # rng.random(out=y): out may decide the result's shape; no derivative
            message = f"srcad has no derivative rule for {text}()"
            if obj is None and isinstance(func, gast.Attribute):    # a local's method
                opaque = _Opaque(self.inject(f"{func.attr}_into", _accessor(
                    _method_into, func.attr)), message)
                head = [old, self.expr(func.value)]
            elif obj is not None:
                opaque = _Opaque(self.inject("called_into", runtime_arrays.called_into),
                                 message)
                head = [self.expr(func), old]
            else:
                raise self.error(UnsupportedSyntaxError, f"{text}(..., out=...) is not "
                                 "supported", call)
            args = [self.expr(a) for a in call.args]
            kwargs = {k.arg: self.expr(k.value) for k in call.keywords if k.arg != "out"}
            self.call_prim(opaque, head + args, kwargs, dest=self.target_name(target.id))
        self.mark_inplace(target.id, old)
        return True

    def masked_call(self, obj, call, into, dest, text):
        """`f(..., out=into, where=m)` of a ufunc f: its MaskedRule form (f's value where m
        holds, into's entries elsewhere, on a copy of into) with `into` the atom given."""
        args = [self.expr(a) for a in call.args]
        kwargs = {k.arg: self.expr(k.value) for k in call.keywords if k.arg != "out"}
        kwargs["into"] = into
        rule = rules.lookup(obj).for_call(len(args), list(kwargs))
        bound = rule.bind(len(args), list(kwargs))
        if isinstance(bound, str) or not isinstance(rule, rules.MaskedRule):
            known = "where=, casting=" if isinstance(bound, str) and "'dtype'" in bound else \
                "where= and casting="
            raise self.error(UnsupportedSyntaxError, f"in {text}(..., out=..., where=...): "
                             f"{bound if isinstance(bound, str) else ''}; srcad "
                             f"differentiates out= with {known} only", call)
        return self.call_prim(rule, args, kwargs, dest=dest)

    def ufunc_keywords(self, obj, node, dest, text):
        """An elementwise ufunc's call with out= or where= in an expression (a statement
        `f(..., out=y)` is `out_call`'s): out= a fresh array (`np.zeros_like(x)`, a copy: no
        other name holds it) is written as NumPy does, with where= by the MaskedRule form;
        where= without out= is refused (NumPy leaves the other entries uninitialised), as is
        out= another array (refuse_out). None where neither keyword is given."""
        kws = {k.arg: k.value for k in node.keywords}
        out = kws.get("out")
        if isinstance(out, gast.Constant) and out.value is None:
            out = None
        if out is None and "where" not in kws and "into" not in kws:
            return None
        if _masked_form(obj) is None:
            return None
        if "into" in kws:
            raise self.error(UnsupportedSyntaxError, f"in {text}(): {text} has no argument "
                             "'into'", node)
        if out is None:
            raise self.error(UnsupportedSyntaxError, f"{text}(..., where=...) without out= "
                             "leaves the entries where the condition is false uninitialised "
                             "(NumPy does not set them); pass out= the array they should keep "
                             f"(`{text}(..., out=np.zeros_like(x), where=m)`) or write "
                             f"`np.where(m, {text}(...), 0.0)`", node)
        if isinstance(out, gast.Tuple) and len(out.elts) == 1:
            out = out.elts[0]
        if not self.fresh_array(out):
            return None                    # refused by refuse_out, naming the out= array
        into = self.expr(out)
        if "where" in kws:
            return self.masked_call(obj, node, into, dest, text)
        plain = gast.copy_location(gast.Call(func=node.func, args=node.args, keywords=[
            k for k in node.keywords if k.arg != "out"]), node)
        value = self.expr(plain)
        return self.call_prim(rules.lookup(runtime_arrays.copied_into), [into, value],
                              dest=dest)

    def fresh_array(self, node) -> bool:
        """Whether expression `node` makes a new array no name holds: a call of a rule whose
        result is new (np.zeros_like(x), np.full(n, c), np.copy(y), y.copy())."""
        if not isinstance(node, gast.Call) or not isinstance(node.func, (gast.Name,
                                                                         gast.Attribute)):
            return False
        try:
            obj = self.callee(node.func)
        except UnsupportedSyntaxError:
            return False
        if obj is None and isinstance(node.func, gast.Attribute):
            rule = rules.lookup_method(node.func.attr)
        else:
            rule = rules.lookup(obj) if obj is not None else None
        return rule is not None and type(rule) is not rules.SetItemRule and \
            rule.storage == "new" and not rule.inplace and not rule.returns_seq

    def refuse_out(self, kwargs, node, text):
        """A call writing into `out=` (an array changed in place) that is not a statement
        `out_call` rebinds: Python would change that array, generated code would not."""
        out = kwargs.get("out")
        if out is not None and not (isinstance(out, ir.Const) and out.value is None):
            raise self.error(UnsupportedSyntaxError, f"{text}(..., out=...) changes an array in "
                             "place; srcad differentiates out= only in a statement "
                             f"`{text}(..., out=y)` with y a local name (or write "
                             f"`y = {text}(...)`)", node)

    def ufunc_at(self, call) -> bool:
        """`np.multiply.at(y, idx, v)` (a ufunc's `at` with no rule of its own, unlike
        np.add.at) as a statement on a local y: the change made on a copy and y rebound, with
        no derivative through it (refused where one would flow)."""
        func, args = call.func, call.args
        if not (isinstance(func, gast.Attribute) and func.attr == "at" and args and
                isinstance(args[0], gast.Name) and args[0].id in self.locals):
            return False
        obj = self.callee(func)
        if not isinstance(getattr(obj, "__self__", None), np.ufunc) or \
                rules.lookup(obj) is not None:
            return False
        text = _describe(func)
        if call.keywords:
            raise self.error(UnsupportedSyntaxError, f"{text}() takes its arguments "
                             "positionally", call)
        old = self.name(args[0])
        rest = [self.expr(a) for a in args[1:]]
        ufunc = obj.__self__
        opaque = _Opaque(self.inject(f"{ufunc.__name__}_at_copy", _accessor(_ufunc_at, ufunc)),
                         f"srcad has no derivative through {text}() (np.add.at and "
                         "np.subtract.at have one)")
        self.call_prim(opaque, [old] + rest, {}, dest=self.target_name(args[0].id))
        self.mark_inplace(args[0].id, old)
        return True

    def inplace_call(self, call) -> bool:
        """`np.add.at(y, idx, v)` as a statement: a rule that changes its first argument in
        place (`Rule.inplace`) and returns it, on a local name, rebinds that name."""
        func, args = call.func, call.args
        if not isinstance(func, (gast.Name, gast.Attribute)) or not args or \
                not isinstance(args[0], gast.Name) or args[0].id not in self.locals:
            return False
        obj = self.callee(func)
        rule = rules.lookup(obj) if obj is not None else None
        if rule is None or not rule.inplace:
            return False
        old = self.name(args[0])
        new = self.new_target(args[0].id)          # (its arguments read the old version)
        self.changing, outer = True, self.changing
        try:
            self.expr(call, dest=new)
        finally:
            self.changing = outer
        self.version[args[0].id] = new
        self.mark_inplace(args[0].id, old)
        return True

    def inplace_method(self, call) -> bool:
        """A statement calling a method that changes its receiver (or, for a shuffle, its
        argument) in place: `y.fill(v)`, `y.sort()` (a rule declared `inplace`: a copy
        changed, y rebound), `xs.sort()`/`xs.reverse()` of a list (its sorted or reversed
        value), `rng.shuffle(y)` (a shuffled copy, no derivative). Any other method NumPy
        documents as changing an array in place is refused: generated code keeps earlier
        values of the array, which such a change would corrupt."""
        func = call.func
        if not isinstance(func, gast.Attribute):
            return False
        text = _describe(func)
        if func.attr == "shuffle" and len(call.args) == 1 and not call.keywords and \
                isinstance(call.args[0], gast.Name) and call.args[0].id in self.locals:
            shuffle = self.expr(func)
            old = self.name(call.args[0])
            opaque = _Opaque(self.inject("shuffled", runtime_arrays.shuffled),
                             f"srcad has no derivative through {text}() (its permutation is "
                             "drawn when it runs): shuffle indices and index with them")
            self.call_prim(opaque, [shuffle, old], {}, dest=self.target_name(call.args[0].id))
            self.mark_inplace(call.args[0].id, old)
            return True
        if not (isinstance(func.value, gast.Name) and func.value.id in self.locals):
            return False
        name = func.value.id
        if func.attr in ("sort", "reverse") and name in self.seq_names:
            old = self.name(func.value)
            if func.attr == "reverse":
                if call.args or call.keywords:
                    raise self.error(UnsupportedSyntaxError, "list.reverse takes no arguments",
                                     call)
                from .rules.core import GETITEM
                self.call_prim(GETITEM, [old, ir.Const(None), ir.Const(None), ir.Const(-1)],
                               static=("slice", 1, 2, 3), dest=self.target_name(name))
            else:
                if call.args:
                    raise self.error(UnsupportedSyntaxError, "list.sort takes keyword "
                                     "arguments only", call)
                node = gast.copy_location(gast.Call(func=gast.Name(
                    id="sorted", ctx=gast.Load(), annotation=None, type_comment=None),
                    args=[func.value], keywords=call.keywords), call)
                self.assign(gast.Name(id=name, ctx=gast.Store(), annotation=None,
                                      type_comment=None), node, self.line)
            self.mark_inplace(name, old)
            return True
        if func.attr in _CHANGING_METHODS:
            raise self.error(UnsupportedSyntaxError, f"{text}() changes {name} in place, which "
                             "srcad does not differentiate (generated code keeps earlier values "
                             f"of {name}); write it with a new value, e.g. `{name}[...] = ...`",
                             call)
        rule = rules.lookup_method(func.attr)
        if rule is None or not rule.inplace:
            return False
        old = self.name(func.value)
        args = [old] + [self.expr(a) for a in call.args]
        self.prim_call(rule, args, call, self.target_name(name), text)
        self.mark_inplace(name, old)
        return True

    def refuse_overwrite(self, rule, args, kwargs, node, text):
        """SciPy's `overwrite_a=True` (any `overwrite_*` argument not False) lets the library
        destroy that input, which generated code may still read: refused."""
        names = [p for p, _ in rule.params]
        given = dict(zip(names, args))
        given.update(kwargs)
        for p, a in given.items():
            if p.startswith("overwrite_") and not (isinstance(a, ir.Const) and
                                                   a.value in (False, 0, None)):
                raise self.error(UnsupportedSyntaxError, f"{text}(): {p}= lets it overwrite "
                                 "that input, which the derivative still reads; leave it "
                                 "False", node)

    def refuse_changing(self, rule, node, text):
        """A call of a rule that changes its first argument in place where srcad cannot
        rebind that argument (not a statement on a local name: `params["W"].fill(0.0)`, or
        its result used): Python would change the array, srcad's copy would not."""
        from .rules.arrays import CHANGING
        if not self.changing and any(rule is r for r in CHANGING):
            raise self.error(UnsupportedSyntaxError, f"{text}() changes its array in place; "
                             "srcad differentiates that only as a statement on a local name "
                             "(`y.fill(v)`, `np.copyto(y, x)` with y a variable)", node)

    def visit_Assign(self, s, line):
        t = s.targets[0]
        if len(s.targets) == 1 and isinstance(t, gast.Name) and t.id in self.locals and \
                isinstance(s.value, gast.Call) and _out_name(s.value) == t.id and \
                self.out_call(s.value):
            return             # y = f(..., out=y): f's result is y itself, as the statement
        if len(s.targets) == 1:
            self.assign(s.targets[0], s.value, line)
        else:
            a = self.expr(s.value)
            for t in s.targets:
                self.assign_atom(t, a, line)

    def visit_AnnAssign(self, s, line):
        if s.value is not None:
            self.assign(s.target, s.value, line)

    def visit_AugAssign(self, s, line):
        if isinstance(s.target, gast.Subscript) and isinstance(s.target.value, gast.Name) and \
                s.target.value.id in self.containers:
            raise self.error(UnsupportedSyntaxError, f"augmented assignment to "
                             f"{_describe(s.target)} may change an array the container holds "
                             f"in place; write `{_describe(s.target)} = "
                             f"{_describe(s.target)} + ...`", s.target)
        if isinstance(s.target, gast.Subscript):
            # y[i] += e is y[i] = y[i] + e, the index evaluated once and y[i] read before e
            # (NumPy's buffered semantics: with a repeated fancy index the last write wins)
            y, index, layout = self.update_target(s.target)
            from .rules.core import GETITEM
            old = self.call_prim(GETITEM, [y] + index, static=_shift(layout, 1))
            new = self.call_prim(_BINOPS[type(s.op)], [old, self.expr(s.value)])
            self.update_item(s.target, y, new, index, layout, line)
            return
        if not isinstance(s.target, gast.Name):
            raise self.error(UnsupportedSyntaxError, "augmented assignment to "
                             f"{_describe(s.target)} mutates it in place; srcad supports "
                             "`name op= value` and `name[index] op= value`", s)
        load = gast.Name(id=s.target.id, ctx=gast.Load(), annotation=None, type_comment=None)
        value = gast.BinOp(left=load, op=s.op, right=s.value)
        gast.copy_location(value, s)
        old = self.name(load)
        self.assign(s.target, value, line)
        self.mark_inplace(s.target.id, old)

    def visit_Return(self, s, line):
        a = self.expr(s.value) if s.value is not None else ir.Const(None)
        self.returned.append(self.classes.get(a.id) if isinstance(a, ir.Name) else None)
        self.emit(ir.Return(a, line))

    def visit_If(self, s, line):
        test = self.expr(s.test)
        before = dict(self.classes)
        body = self.nested(s.body)
        after_body, self.classes = self.classes, before      # the else branch starts anew
        orelse = self.nested(s.orelse)
        # after the if, what both branches agree on
        self.classes = {k: d for k, d in self.classes.items() if after_body.get(k) == d}
        self.emit(ir.If(test, body, orelse, line))

    def visit_For(self, s, line):
        if s.orelse:
            return idioms.loop_else(self, s)
        if not idioms.zip_star(self, s, line):
            self.for_(s, line)

    def visit_While(self, s, line):
        if s.orelse:
            return idioms.loop_else(self, s)
        self.depth += 1
        self.loops += 1
        saved, self.body = self.body, []
        test = self.expr(s.test)
        head = self.body
        self.body = saved
        body = self.block(s.body)
        self.depth -= 1
        self.loops -= 1
        self.emit(ir.While(head + [ir.If(test, body, [ir.Break(line)], line)], line))

    def visit_Match(self, s, line):
        idioms.match(self, s)

    def visit_Break(self, s, line):
        self.emit(ir.Break(line))

    def visit_Continue(self, s, line):
        self.emit(ir.Continue(line))

    def visit_Pass(self, s, line):
        pass

    def visit_Assert(self, s, line):
        idioms.assert_(self, s, line)

    def visit_With(self, s, line):
        idioms.with_(self, s, line)

    def visit_Delete(self, s, line):
        idioms.delete(self, s, line)

    def visit_Raise(self, s, line):
        idioms.raise_(self, s, line)

    def visit_Try(self, s, line):
        idioms.try_(self, s, line)

    def mark_inplace(self, name, old):
        """The statement that just wrote user variable `name` changes `old` in place in Python
        (so values computed earlier from anything sharing it may be stale: no reuse)."""
        self.forget_reuse()
        new = self.version[name]
        for st in reversed(self.body):
            if isinstance(st, ir.Assign) and st.target == new:
                st.inplace_of = old.id
                break

    def lift(self, node, name=None) -> FuncVal:
        """A nested `def g(...)` (or a lambda, as a def): compile it as a helper whose extra
        trailing parameters are the enclosing function's variables it reads (passed at each
        call, as Python reads them when g runs); a def binds its name to that value."""
        if isinstance(node, gast.Lambda):
            ret = gast.copy_location(gast.Return(value=node.body), node.body)
            node = gast.copy_location(gast.FunctionDef(
                name=name or "lambda_", args=node.args, body=[ret], decorator_list=[],
                returns=None, type_comment=None, type_params=[]), node)
        if node.decorator_list:
            raise self.error(UnsupportedSyntaxError, "a decorated nested def is not supported",
                             node.decorator_list[0])
        args = node.args
        if args.posonlyargs:
            raise self.error(UnsupportedSyntaxError, "a nested def or lambda with "
                             "positional-only parameters is not supported", node)
        starred = bool(args.vararg or args.kwarg or args.kwonlyargs)
        if starred:
            for d in list(args.defaults) + [d for d in args.kw_defaults if d is not None]:
                try:
                    ast.literal_eval(gast.gast_to_ast(d))
                except ValueError:
                    raise self.error(UnsupportedSyntaxError, "a nested def or lambda with "
                                     "*args, **kwargs or keyword-only parameters takes "
                                     "constant defaults only", d) from None
        own = {a.id for a in list(args.args) + list(args.kwonlyargs)} | \
            {a.id for a in (args.vararg, args.kwarg) if a is not None} | \
            {n.id for n in walk_own(node) if isinstance(n, gast.Name)
             and isinstance(n.ctx, gast.Store)}
        outer = self.locals | set(self.p.closure) | set(self.funcvals)
        extras = sorted({n.id for n in gast.walk(node) if isinstance(n, gast.Name)
                         and isinstance(n.ctx, gast.Load) and n.id in outer and n.id not in own})
        if starred:         # h(*xs): a call of it binds its own parameters (unstarred_call)
            func = funcs.compile_lifted(node, self.p, extras, self.tree.name, starred=True)
            return FuncVal(func, extras=extras, nown=len(args.args),
                           names=tuple(a.id for a in args.args), label=node.name,
                           starred=True)
        defaults = tuple(self.default_value(d, node) for d in args.defaults)
        func = funcs.compile_lifted(node, self.p, extras, self.tree.name)
        return FuncVal(func, extras=extras, nown=len(args.args),
                       names=tuple(a.id for a in args.args), defaults=defaults,
                       label=node.name)

    def default_value(self, node, where):
        """A nested def's or lambda's default, evaluated where the def stands as Python does
        (`lambda t, k=k: ...` takes k now): a constant, or the atom of a copy taken now."""
        try:
            return ast.literal_eval(gast.gast_to_ast(node))
        except ValueError:
            pass
        if self.depth:
            raise self.error(UnsupportedSyntaxError, "a nested def or lambda inside if/for/"
                             "while with a default that is no constant (srcad unrolls a loop "
                             "over a constant range or list that makes functions)", where)
        a = self.expr(node)
        if isinstance(a, ir.Const):
            return a.value
        return _Taken(self.copy(a, self.line))

    def visit_ClassDef(self, s, line):
        """`class L: ...` in the function: the class made once from its source, as Python
        makes it, in the function's globals (bases and decorators may name classes the
        function defined before), then known by its name like a global class. Its code may
        not read the function's variables (it would close over them)."""
        if self.depth:
            raise self.error(UnsupportedSyntaxError, f"class {s.name} defined inside "
                             "if/for/while is not supported; define it at the top level of "
                             "the function", s)
        bound = {n.id for n in gast.walk(s) if isinstance(n, gast.Name) and
                 not isinstance(n.ctx, gast.Load)} | \
            {n.name for n in gast.walk(s) if isinstance(n, (gast.FunctionDef, gast.ClassDef))}
        heads = [n for e in list(s.bases) + [k.value for k in s.keywords] +
                 list(s.decorator_list) for n in gast.walk(e)]
        outer = self.locals | set(self.funcvals) | set(self.p.local_classes)
        for n in gast.walk(s):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and n.id in outer \
                    and n.id not in bound and not (n in heads and n.id in self.p.local_classes):
                raise self.error(UnsupportedSyntaxError, f"class {s.name} reads {n.id!r}, a "
                                 "variable of the function it is defined in; pass it to the "
                                 "constructor (or define the class at module level)", n)
        import linecache
        first = self.p.lineno(s.decorator_list[0] if s.decorator_list else s)
        last = getattr(s, "end_lineno", None)
        lines = linecache.getlines(self.p.filename)
        if last is None or not lines:
            raise self.error(UnsupportedSyntaxError, f"class {s.name}: srcad cannot read its "
                             "source", s)
        text = textwrap.dedent("".join(lines[first - 1:last + self.p.line_offset]))
        key = (self.p.filename, first, text, id(self.p.globals),
               tuple((k, id(v)) for k, v in self.p.local_classes.items()))
        cls = _LOCAL_CLASSES.get(key)
        if cls is None:
            tree = ast.parse(text)
            ast.increment_lineno(tree, first - 1)
            space = dict(self.p.local_classes)
            exec(compile(tree, self.p.filename, "exec"), self.p.globals, space)
            cls = _LOCAL_CLASSES[key] = space[s.name]
        self.p.local_classes[s.name] = cls

    def visit_FunctionDef(self, s, line):
        self.bind_funcval(s.name, self.lift(s), s)

    def bind_funcval(self, name, fv, node):
        """`name` holds function value `fv` from here on (it is no SSA variable)."""
        if name in self.version or name in self.params and name not in self.funcvals:
            raise self.error(UnsupportedSyntaxError, f"{name!r} holds a function here and a "
                             "value elsewhere; use two names", node)
        if self.depth and name in self.funcvals:
            raise self.error(UnsupportedSyntaxError, f"{name!r} is bound to different functions "
                             "inside if/for/while; give each its own name", node)
        self.funcvals[name] = fv

    def func_value(self, node):
        """The function value (FuncVal, or FuncList of them) `node` stands for, known at
        build time, or None when it is no function: a lambda, a name holding a function, a
        function of a module, `acts[k]` of a list of functions, `functools.partial(h, ...)`,
        `srcad.grad(g)` and the other transforms. Lowers what the value captures."""
        if isinstance(node, gast.Lambda):
            return self.lift(node)
        if isinstance(node, gast.Name):
            if node.id in self.funcvals:
                return self.funcvals[node.id]
            if node.id in self.locals:
                return None
        stored = self.stored_func(node)
        if stored is not None:                  # self.act, self.acts: functions an object holds
            return stored
        if isinstance(node, (gast.Name, gast.Attribute)):
            found = self.member(node, called=False) if isinstance(node, gast.Attribute) \
                else None
            if found is not None and found[0] != "property":    # model.apply as a value
                kind, func, cls, _ = found
                pre = [self.expr(node.value)] if kind == "method" else []
                return FuncVal(func, pre, label=_describe(node))
            root = node
            while isinstance(root, gast.Attribute):
                root = root.value
            if not isinstance(root, gast.Name) or root.id in self.locals or \
                    root.id in self.funcvals:
                return None
            try:
                obj = self.callee(node)
            except UnsupportedSyntaxError:
                return None
            if funcs.is_function(obj):
                root = ir.Name(node.id) if isinstance(node, gast.Name) else \
                    self.expr(node) if isinstance(obj, functools.partial) else None
                return FuncVal(obj, label=_describe(node), root=root)
            if isinstance(obj, dict) and obj and all(map(funcs.is_function, obj.values())) and \
                    all(type(k) in (str, int) for k in obj):
                # a global dict of functions (ACTS["tanh"], ACTS[name]): a dict may change in
                # place, so the derivative compares its items on every call (never stale)
                self.p.contents[(root.id, _chain(node))] = dict(obj)

                def item(k, o):
                    root_atom = self.getitem(self.expr(node), ir.Const(k)) \
                        if isinstance(o, functools.partial) else None
                    return FuncVal(o, label=f"{_describe(node)}[{k!r}]", root=root_atom)
                return FuncList({k: item(k, o) for k, o in obj.items()}, _describe(node))
            if isinstance(obj, (list, tuple)) and obj and all(map(funcs.is_function, obj)):
                if not isinstance(obj, tuple):
                    # a list may change in place: the derivative checks its items on every
                    # call (a tuple is checked as a callee is, by identity)
                    self.p.contents[(root.id, _chain(node))] = tuple(obj)
                return FuncList([FuncVal(o, label=_describe(node)) for o in obj])
            return None
        if isinstance(node, gast.ListComp):
            return self.function_list(node)
        if isinstance(node, (gast.List, gast.Tuple)) and node.elts:
            items = [self.func_value(e) if not isinstance(e, gast.Starred) else None
                     for e in node.elts]
            if all(isinstance(i, FuncVal) for i in items):
                return FuncList(items, display=tuple if isinstance(node, gast.Tuple) else list)
            return None
        if isinstance(node, gast.Dict) and node.keys and \
                all(isinstance(k, gast.Constant) for k in node.keys):
            items = [self.func_value(v) for v in node.values]
            if all(isinstance(i, FuncVal) for i in items):
                return FuncList({k.value: i for k, i in zip(node.keys, items)})
            return None
        if isinstance(node, gast.Subscript):
            fl = self.func_value(node.value)
            if not isinstance(fl, FuncList):
                return None
            if not isinstance(node.slice, gast.Constant):
                raise self.error(UnsupportedSyntaxError, f"{_describe(node)}: a list or dict of "
                                 "functions is indexed by a constant, iterated with for, or "
                                 "indexed where it is called (fs[i](x))", node)
            try:
                return fl.items[node.slice.value]
            except (IndexError, KeyError, TypeError):
                raise self.error(UnsupportedSyntaxError, f"{_describe(node)} does not exist",
                                 node) from None
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute):
            found = self.member(node.func)
            if found is not None and found[0] in ("method", "static"):
                kind, method, cls, receiver = found     # self.make_layer(W): a factory
                made = funcs.factory(method)
                if made is not None:
                    pre = [self.expr(receiver)] if kind == "method" else []
                    return self.factory_call(method, made, node, pre)
                return None
        if isinstance(node, gast.Call):
            if not isinstance(node.func, (gast.Name, gast.Attribute)) or \
                    isinstance(node.func, gast.Name) and \
                    (node.func.id in self.locals or node.func.id in self.funcvals):
                return None
            try:
                head = self.callee(node.func)
            except UnsupportedSyntaxError:
                return None
            if isinstance(head, funcs.Maker):
                atoms = [self.arg(a) for a in node.args]       # the helper's parameters
                return head.funcval(atoms, [a.id for a in node.args])
            if head is functools.partial:
                return self.partial(node)
            made = funcs.factory(head)
            if made is not None:
                return self.factory_call(head, made, node)
            return self.transform(node)
        return None

    def factory_call(self, head, made, node, pre=()) -> FuncVal:
        """`make_loss(c)`, a call of a user function returning a function value
        (funcs.Factory): a call of its copy returning what the value captures, taken into
        variables of srcad's own, and the value rebuilt from them (so derivatives flow
        through what it captures, as through any helper's result)."""
        _depends_on(head)
        text = _describe(node.func)
        if made.count == 0:
            return made.funcval([], [])
        args = list(pre) + [self.arg(a) for a in node.args]
        kwargs = {k.arg: self.arg(k.value) for k in node.keywords}
        tup = self.call_object(made.captures, args, kwargs, node, None, text)
        from .rules.core import GETITEM
        atoms, names = [], []
        base = getattr(head, "__name__", "made")
        for k in range(made.count):
            item = self.known_item(self.call_prim(GETITEM, [tup, ir.Const(k)],
                                                  static=("atom", 1)), tup, ir.Const(k))
            name = self.new_local(f"{base}_{k}")
            self.emit(ir.Assign(self.target_name(name), item, self.line))
            atoms.append(ir.Name(self.version[name]))
            names.append(name)
        return made.funcval(atoms, names)

    def member(self, node, called=True):
        """What `obj.attr` (or, `called`, `obj` called: `node` a name, an item or a field)
        runs when srcad knows obj's class (an argument's, a method's self, an item or field
        of one): (kind, function, class, obj's node) with the function ready to call (a
        method's copy for the class, `funcs.for_class`), recorded so the derivative is
        rebuilt if the class changes it; else None."""
        tries = []
        if isinstance(node, gast.Attribute):
            tries.append((node.value, node.attr))
        if called and isinstance(node, (gast.Name, gast.Subscript, gast.Attribute)):
            tries.append((node, "__call__"))
        for receiver, attr in tries:
            desc = self.desc_of(receiver)
            if desc is None or desc.container:
                continue
            cls = desc.cls
            found = funcs.member(cls, attr)
            if found is None:
                continue
            kind, func = found
            self.p.members[(cls, attr)] = getattr(cls, attr)
            if kind == "class":
                _depends_on(func.__func__)
                return kind, func, cls, receiver
            _depends_on(func)
            return kind, (func if kind == "static" else funcs.for_class(func, desc)), cls, \
                receiver
        return None

    def desc_of(self, node):
        """What srcad knows of the objects `node` holds (funcs.ObjArg), without lowering it:
        a name's, `x.field` and `x[k]` (k a constant, or any index of a list whose items
        are all alike) of one; None when nothing."""
        d = self.stored(node)
        return d if isinstance(d, funcs.ObjArg) else None

    def funcs_of(self, node):
        """func_value of `node`, or the FuncList a variable holding a list, tuple or dict of
        functions stands for (`acts`, an argument: `for act in acts`, `acts.items()`)."""
        fv = self.func_value(node)
        return self.stored_func(node) if fv is None and isinstance(node, gast.Name) else fv

    def stored_func(self, node):
        """The function value `node` reads from an object or container srcad knows the
        functions of (`self.act` of `self.act = np.tanh`, `self.acts` of a tuple of them,
        `cfg["act"]`): a FuncVal of the function itself (a partial's arguments read from
        the object when the derivative runs), a FuncList; else None."""
        if not isinstance(node, (gast.Attribute, gast.Subscript, gast.Name)):
            return None
        d = self.stored(node)
        if isinstance(node, gast.Name) and not (isinstance(d, funcs.ObjArg) and d.container):
            return None                 # acts, a list or dict of functions: an argument's
        if isinstance(d, funcs.FuncArg) and isinstance(node, gast.Subscript) and \
                not isinstance(node.slice, (gast.Constant, gast.Slice)) and \
                _const_int(node.slice) is None:
            # acts[i] of functions all alike: still picked by dispatch, which checks the key
            # as Python does (IndexError, KeyError), unless there are too many to pick among
            fl = self.stored_func(node.value)
            if isinstance(fl, FuncList) and len(fl.items) <= _DISPATCH_LIMIT:
                return None
        if isinstance(d, funcs.FuncArg):
            root = self.expr(node) if isinstance(d.obj, functools.partial) else None
            return FuncVal(d.obj, label=_describe(node), root=root)
        if isinstance(d, funcs.ObjArg) and d.container and d.items and not d.each:
            ds = d.items if d.cls is not dict else [v for _, v in d.items]
            if not all(isinstance(v, funcs.FuncArg) for v in ds):
                return None
            if any(isinstance(v.obj, functools.partial) for v in ds):
                seq = self.expr(node)
                roots = [self.getitem(seq, ir.Const(k if d.cls is not dict else d.items[k][0]))
                         for k in range(len(ds))]
            else:
                roots = [None] * len(ds)
            fvs = [FuncVal(v.obj, label=f"{_describe(node)}[{k!r}]", root=r)
                   for k, v, r in zip(range(len(ds)) if d.cls is not dict else
                                      [k for k, _ in d.items], ds, roots)]
            return FuncList(fvs if d.cls is not dict else
                            dict(zip([k for k, _ in d.items], fvs)), _describe(node))
        return None

    def stored(self, node):
        """desc_of's lookup, a function item's funcs.FuncArg included."""
        if isinstance(node, gast.Name):
            if node.id in self.funcvals:
                return None
            if node.id not in self.version:
                return self.free_desc(node.id)
            return self.classes.get(self.version[node.id])
        if isinstance(node, gast.Attribute):
            d = self.desc_of(node.value)
            return d.item(node.attr) if d is not None and not d.container else None
        if isinstance(node, gast.Subscript):
            d = self.desc_of(node.value)
            if d is not None and d.cls in (list, tuple) and isinstance(node.slice, gast.Slice):
                return _sliced(d, node.slice)           # layers[:-1], layers[1:]
            if d is None or not d.container or isinstance(node.slice, (gast.Slice, gast.Tuple)):
                return None
            k = _const_int(node.slice)
            if isinstance(node.slice, gast.Constant) or k is not None:
                return d.item(node.slice.value if k is None else k)     # layers[-1] too
            return d.uniform()
        return None

    def free_desc(self, name):
        """What srcad knows of the objects the value of free name `name` (a global, a
        closure variable, a bound method's self) holds when it builds the derivative: the
        funcs.ObjArg of an object of a class of yours or of a list, tuple or dict holding
        some (`model`, `self.layers`, `layer_specs`), else None. Recorded in the parse, so
        the derivative checks it on every call (a list grown, shrunk or given an item of
        another class rebuilds it); the objects' arrays are read when it runs."""
        if name in self.free_descs:
            return self.free_descs[name]
        d = None
        if name not in self.locals and name not in self.p.local_classes:
            try:
                value = self.p.resolve(name)
            except KeyError:
                value = None
            if isinstance(value, (list, tuple, dict)) or runtime._is_record(value):
                d = funcs.holding(value)
                # checked even when it holds no object now (`xs[0](x)` of an item turned
                # into an object must not run the derivative built for a list of arrays)
                self.p.held[name] = d
                if not _holds_object(d):
                    d = None            # functions only: func_value's checks cover them
        self.free_descs[name] = d
        return d

    def checked_free(self, out, d, node):
        """`out`, which holds a list, tuple or dict of objects read from a free name (a
        global's `layers`, a bound self's `self.layers[:-1]`) srcad resolves methods on, as
        `held_as(out, kind, where)`: checked when the derivative runs, so a change while it
        runs (`layers.append(...)`) raises rather than calling the wrong methods; any other
        atom as it is."""
        if not d.container:
            return out
        if isinstance(node, (gast.Attribute, gast.Subscript)):
            inner = self.desc_of(node.value)
            if inner is not None and inner.container:
                return out          # an item or slice of a list checked as a whole
        root = node
        while isinstance(root, (gast.Attribute, gast.Subscript)):
            root = root.value
        if not isinstance(root, gast.Name) or root.id in self.version or \
                self.free_desc(root.id) is None:
            return out
        from .rules.containers import HELD_AS
        kind = self.inject("held_kind", d)
        self.reserved.add(kind)
        return self.call_prim(HELD_AS, [out, ir.Name(kind),
                                        ir.Const(f"{self.p.filename}:{self.p.lineno(node)}")])

    def known_item(self, out, value, key):
        """`out` holds item or field `key` (an atom) of `value`: what srcad knows of it."""
        d = self.classes.get(value.id) if isinstance(value, ir.Name) else None
        if d is None and isinstance(value, ir.Name) and value.id in self.held and \
                isinstance(out, ir.Name) and isinstance(key, ir.Const):
            found = self.held[value.id].item(key.value) if self.held[value.id].container \
                else None
            if isinstance(found, funcs.ObjArg):
                self.held[out.id] = found
                self.objects.add(out.id)
            return out
        if d is None or not isinstance(out, ir.Name):
            return out
        if isinstance(key, ir.Const):
            found = d.item(key.value) if d.container or isinstance(key.value, str) else None
        else:
            found = d.uniform()
        if isinstance(found, funcs.ObjArg):     # (a function item is no object)
            self.classes[out.id] = found
        return out

    def partial(self, node) -> FuncVal:
        """`functools.partial(h, a, k=b)`: h with a and b bound (taken now, as Python does)."""
        if not node.args or any(isinstance(a, gast.Starred) for a in node.args) or \
                any(k.arg is None for k in node.keywords):
            raise self.error(UnsupportedSyntaxError, "functools.partial(h, ...) needs the "
                             "function first and no *args or **kwargs", node)
        fv = self.func_value(node.args[0])
        if fv is None:
            raise self.error(UnsupportedSyntaxError, f"functools.partial of "
                             f"{_describe(node.args[0])}, which is not a function srcad knows",
                             node)

        def now(a):
            a = self.arg(a)
            return self.copy(a, self.line) if isinstance(a, ir.Name) else a
        pre = [now(a) for a in node.args[1:]]
        kw = {k.arg: now(k.value) for k in node.keywords}
        if fv.starred:          # a def with *args: binds them itself, extras by keyword
            return dataclasses.replace(fv, pre=fv.pre + pre, kw={**fv.kw, **kw},
                                       label=f"partial({fv.label})")
        if fv.extras and (fv.kw or kw):
            raise self.error(UnsupportedSyntaxError, "functools.partial with keywords of a "
                             "nested def or lambda is not supported; bind them positionally",
                             node)
        return FuncVal(fv.obj, fv.pre + pre, {**fv.kw, **kw}, fv.extras, fv.nown, fv.names,
                       fv.defaults, f"partial({fv.label})", fv.tail)

    def unpartial(self, fv):
        """A functools.partial object given as a value: its function, with its arguments
        read from the object when the derivative runs (constants: never differentiated)."""
        part = fv.obj
        if not isinstance(part, functools.partial):
            return fv
        if fv.root is None or fv.extras:
            raise UnsupportedSyntaxError(f"the functools.partial {fv.label} must be a global "
                                         "name or an argument", self.p.filename, self.line)
        from .rules.containers import PARTIAL_ARG
        pre = [self.call_prim(PARTIAL_ARG, [fv.root, ir.Const(k)]) for k in range(len(part.args))]
        kw = {k: self.call_prim(PARTIAL_ARG, [fv.root, ir.Const(k)]) for k in part.keywords}
        if not funcs.is_function(part.func) or isinstance(part.func, functools.partial):
            raise UnsupportedSyntaxError(f"{fv.label} is a partial of what srcad cannot call",
                                         self.p.filename, self.line)
        return FuncVal(part.func, pre + list(fv.pre), {**kw, **fv.kw}, label=fv.label)

    def arg(self, node):
        """A call's argument: a function value, or an atom."""
        fv = self.func_value(node)
        return fv if fv is not None else self.expr(node)

    def call_funcval(self, fv, node, dest):
        """A call of function value `fv` with `node`'s arguments."""
        if isinstance(fv, FuncList):
            raise self.error(UnsupportedSyntaxError, f"calling the {fv.label} "
                             f"{_describe(node.func)} (index it first)", node)
        fv = self.unpartial(fv)
        args = list(fv.pre) + [self.arg(a) for a in node.args]
        kwargs = {**fv.kw, **{k.arg: self.arg(k.value) for k in node.keywords}}
        if fv.starred:          # a def with *args: the outer variables it reads by keyword
            kwargs.update({x: self.captured(fv.renamed.get(x, x), node) for x in fv.extras})
            return self.call_object(fv.obj, args, kwargs, node, dest, fv.label)
        if fv.extras or fv.defaults:            # a lifted def: its own parameters completed
            for k in range(len(args), fv.nown):
                name = fv.names[k]
                if name in kwargs:
                    args.append(kwargs.pop(name))
                elif k >= fv.nown - len(fv.defaults):
                    args.append(_default_atom(fv.defaults[k - (fv.nown - len(fv.defaults))]))
                else:
                    raise self.error(UnsupportedSyntaxError, f"{fv.label}() is missing "
                                     f"argument {name!r}", node)
            if kwargs:
                raise self.error(UnsupportedSyntaxError, f"{fv.label}() got unexpected keyword "
                                 f"arguments {sorted(kwargs)}", node)
            if fv.tail and len(args) > fv.nown:       # a derivative's tangents or d_out
                extras = [self.captured(x, node) for x in fv.extras]
                return self.call_object(fv.obj, args[:fv.nown] + extras + args[fv.nown:],
                                        kwargs, node, dest, fv.label)
            if len(args) > fv.nown:
                raise self.error(UnsupportedSyntaxError, f"{fv.label}() takes {fv.nown} "
                                 f"arguments, {len(args)} given", node)
            args += [self.captured(x, node) for x in fv.extras]
        return self.call_object(fv.obj, args, kwargs, node, dest, fv.label)

    def captured(self, name, node):
        """The outer variable `name` a closure reads, now."""
        if name in self.funcvals:
            return self.funcvals[name]
        return self.name(gast.Name(id=name, ctx=gast.Load(), annotation=None,
                                   type_comment=None))

    def new_target(self, name: str) -> str:
        """The SSA name an assignment to user variable `name` writes: a new version at the
        top level, the variable itself inside control flow."""
        self.deleted.discard(name)
        if name in self.funcvals:
            raise UnsupportedSyntaxError(f"{name!r} holds a function here and a value "
                                         "elsewhere; use two names", self.p.filename, self.line)
        if name in self.version and self.depth:
            return self.version[name]
        base = name + "_" if name in rules.runtime_namespace() else name
        new = base if base not in self.used_versions else ir.unique_name(base, self.taken)
        self.used_versions.add(new)
        self.taken.add(new)
        self.versions[new] = name
        return new

    def target_name(self, name: str) -> str:
        new = self.new_target(name)
        self.version[name] = new
        return new

    def copy(self, a, line) -> ir.Name:
        """`a`'s value now, in a temporary of its own (for when `a`'s name is reassigned)."""
        t = self.fresh_temp()
        self.emit(ir.Assign(t, a, line))
        return ir.Name(t)

    def assign(self, target, value, line):
        if isinstance(target, gast.Name):
            fv = self.lift(value, target.id) if isinstance(value, gast.Lambda) else \
                self.func_value(value)
            if fv is not None:
                if self.depth:
                    raise self.error(UnsupportedSyntaxError, f"a function value assigned to "
                                     f"{target.id!r} inside if/for/while is not supported; "
                                     "assign it before", target)
                self.bind_funcval(target.id, fv, target)
                return
        if isinstance(target, (gast.Tuple, gast.List)) and len(target.elts) == 2 and \
                all(isinstance(t, gast.Name) for t in target.elts) and \
                isinstance(value, gast.Call) and self.is_vjp(value.func):
            return self.nested_vjp(target.elts, value, line)
        if isinstance(target, gast.Name) and isinstance(value, gast.Call) and \
                isinstance(value.func, gast.Attribute) and value.func.attr == "pop" and \
                not value.args and isinstance(value.func.value, gast.Name) and \
                value.func.value.id in self.locals:
            # v = xs.pop()  ->  v = xs[-1]; xs = xs[:-1]
            xs = self.name(value.func.value)
            last = self.getitem(xs, ir.Const(-1))
            self.assign_atom(target, last, line)
            from .rules.core import GETITEM
            self.call_prim(GETITEM, [xs, ir.Const(None), ir.Const(-1)], static=("slice", 1, 2, None),
                           dest=self.target_name(value.func.value.id))
            self.mark_inplace(value.func.value.id, xs)
            return
        if isinstance(target, gast.Name) and isinstance(value, gast.Call) and \
                (idioms.dict_method(self, value, target) or idioms.pop_at(self, value, target)):
            return
        if isinstance(target, gast.Name) and isinstance(value, (gast.ListComp, gast.DictComp)) \
                and target.id not in {n.id for n in gast.walk(value) if isinstance(n, gast.Name)}:
            idioms.lower_comprehension(self, value, target.id)     # ys = []; for ...: ys.append
            return
        if isinstance(target, gast.Name):
            new = self.new_target(target.id)
            a = self.expr(value, dest=new)
            self.version[target.id] = new
            if a != ir.Name(new):
                self.emit(ir.Assign(new, a, line))
            return
        if isinstance(target, (gast.Tuple, gast.List)) and \
                sum(isinstance(t, gast.Starred) for t in target.elts) == 1:
            return idioms.starred_target(self, target, value, line)
        if isinstance(target, (gast.Tuple, gast.List)) and isinstance(value, (gast.Tuple, gast.List)) \
                and len(target.elts) == len(value.elts) and \
                not any(isinstance(e, gast.Starred) for e in target.elts + value.elts):
            atoms = [self.expr(v) for v in value.elts]
            # inside control flow a target keeps its name: the values it reads come first
            written = {self.version[n.id] for t in target.elts for n in gast.walk(t)
                       if isinstance(n, gast.Name) and n.id in self.version} if self.depth else set()
            atoms = [self.copy(a, line) if isinstance(a, ir.Name) and a.id in written else a
                     for a in atoms]
            for t, a in zip(target.elts, atoms):
                self.assign_atom(t, a, line)
            return
        self.assign_atom(target, self.expr(value), line)

    def assign_atom(self, target, a, line):
        if isinstance(target, gast.Name):
            self.emit(ir.Assign(self.target_name(target.id), a, line))
        elif isinstance(target, (gast.Tuple, gast.List)):
            if any(not isinstance(t, gast.Name) for t in target.elts):
                parts = [self.fresh_temp() for _ in target.elts]
                self.emit(ir.Assign(tuple(parts), a, line))
                self.unpacked_classes(a, parts)
                for t, p in zip(target.elts, parts):
                    self.assign_atom(t, ir.Name(p), line)
                return
            names = tuple(self.target_name(t.id) for t in target.elts)
            self.emit(ir.Assign(names, a, line))
            self.unpacked_classes(a, names)
        elif isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name) and \
                target.value.id in self.containers:
            self.set_item(target, a, line)              # a list or dict the function built
        elif isinstance(target, gast.Subscript):
            y, index, layout = self.update_target(target)
            self.update_item(target, y, a, index, layout, line)
        else:
            raise self.error(UnsupportedSyntaxError, f"assignment to {_describe(target)} mutates "
                             "a value in place; build a new value instead (for arrays: np.where, "
                             "np.concatenate)", target)

    def unpacked_classes(self, a, names):
        """`names` unpacked from `a`: what srcad knows of the objects among a's items."""
        d = self.classes.get(a.id, self.held.get(a.id)) if isinstance(a, ir.Name) else None
        if d is None or d.cls not in (list, tuple):
            return
        for k, n in enumerate(names):
            item = d.item(k)
            if item is not None:
                self.held[n] = item
                self.objects.add(n)

    def update_target(self, target):
        """The array variable, index atoms and index layout (positions into the index
        atoms) of the target `y[index]` of an in-place update."""
        base = target.value
        if not isinstance(base, gast.Name):
            raise self.error(UnsupportedSyntaxError, f"assignment to {_describe(target)} is not "
                             "supported: only an item of a local array variable can be assigned "
                             "(`y[i, j] = v`, not `y[i][j] = v` or `obj.a[i] = v`)", target)
        if base.id not in self.locals:
            raise self.error(UnsupportedSyntaxError, f"assignment to {_describe(target)} changes "
                             f"the global {base.id!r} in place; copy it into a local array first "
                             f"(`y = {base.id}.copy()`)", target)
        y = self.name(base)
        atoms: list = []
        layout = self.index_layout(target.slice, atoms)
        return y, atoms, layout

    def update_item(self, target, y, a, index, layout, line):
        """`y[index] = a`: an update of the array y in place, a statement that assigns y's
        own SSA name (Python's y is the same object, now changed)."""
        from .rules.core import SETITEM
        if not isinstance(y, ir.Name):
            raise self.error(UnsupportedSyntaxError, f"assignment to {_describe(target)}: "
                             f"{_describe(target.value)} is not an array variable", target)
        if a == y:                         # y[...] = y: the value written, as it is now
            a = self.copy(a, line)
        self.emit(ir.Assign(y.id, ir.Call(SETITEM, [y, a] + index, {}, _shift(layout, 2)), line))
        self.forget_reuse()               # values computed from y, or from views of it, are stale

    def for_(self, s, line):
        """`for` over range, enumerate, zip, reversed or a sequence, as a loop over a range:
        what Python evaluates once at loop entry (the sequences, enumerate's start) is read
        from values taken there, even when the body rebinds the names that held them. What
        is iterated goes through `items_of`, so a dict gives its keys, not `d[0], d[1]`."""
        if s.orelse:
            raise self.error(UnsupportedSyntaxError, "for/else is not supported", s)
        it = s.iter
        if self.unroll(s, line) or self.unroll_makers(s, line):
            return
        func = self.callee(it.func) if isinstance(it, gast.Call) else None
        rebound, grown = _rebound_names(s.body)
        for node in gast.walk(it):
            if isinstance(node, gast.Name) and node.id in grown:
                raise self.error(UnsupportedSyntaxError, f"the loop changes the list "
                                 f"{node.id!r} it iterates over; iterate over a copy", s)
        rebound_now = {self.version[n] for n in rebound if n in self.version}

        def at_entry(a):
            return self.copy(a, line) if isinstance(a, ir.Name) and a.id in rebound_now else a

        own_index = isinstance(s.target, gast.Name) and s.target.id in rebound
        marker = None
        if func is runtime.checkpoint:
            it, marker = self.checkpoint_marker(it)
            func = self.callee(it.func)
        if func is builtins.range:
            rng = self.expr(it)
            self.emit_loop(s, line, rng, lambda i: [(s.target, ir.Name(i))],
                           index_is_target=isinstance(s.target, gast.Name) and not own_index,
                           checkpoint=marker)
            return
        if func is builtins.enumerate or func is builtins.zip:
            if it.keywords and func is builtins.zip:
                raise self.error(UnsupportedSyntaxError, "zip(..., strict=) is not supported", it)
            # enumerate(zip(xs, ys)) unpacked `i, (x, y)`: one loop over xs and ys
            targets, zipped = idioms.enumerated_zip(self, s)
            seqs = [at_entry(self.expr(a)) for a in zipped + it.args[1 if zipped else 0:]]
            start = ir.Const(0)
            if func is builtins.enumerate:
                width = max(len(zipped), 1)
                if len(seqs) == width + 1 or it.keywords:
                    start = seqs[width] if len(seqs) == width + 1 else \
                        at_entry(self.expr(it.keywords[0].value))
                seqs = seqs[:width]
            seqs = [self.items_of(q) for q in seqs]
            n = self.call_prim(builtins.len, [seqs[0]])
            for q in seqs[1:]:
                n = self.call_prim(builtins.min, [n, self.call_prim(builtins.len, [q])])
            rng = self.call_prim(builtins.range, [n])
            if targets is None or len(targets) != len(seqs) + (func is builtins.enumerate):
                raise self.error(UnsupportedSyntaxError, f"unpack the items of {func.__name__}() "
                                 "into one name each: `for i, x in enumerate(xs)`", s)

            def reads(i):
                out, rest = [], targets
                if func is builtins.enumerate:
                    idx = ir.Name(i) if start == ir.Const(0) else \
                        self.call_prim(operator.add, [ir.Name(i), start])
                    out.append((rest[0], idx))
                    rest = rest[1:]
                for t, q in zip(rest, seqs):
                    out.append((t, self.getitem(q, ir.Name(i))))
                return out
            self.emit_loop(s, line, rng, reads)
            return
        if func is builtins.reversed and len(it.args) == 1:
            from .rules.core import GETITEM
            # reversed(s) reads s[::-1]
            inner = self.items_of(self.expr(it.args[0]), ir.Const(True))
            seq = self.call_prim(GETITEM, [inner, ir.Const(-1)], static=("slice", None, None, 1))
        else:
            seq = self.items_of(at_entry(self.expr(it)))
        rng = self.call_prim(builtins.range, [self.call_prim(builtins.len, [seq])])
        self.emit_loop(s, line, rng, lambda i: [(s.target, self.getitem(seq, ir.Name(i)))])

    def unroll(self, s, line) -> bool:
        """`for act in acts:` (or `for i, act in enumerate(acts):`) over a list of functions
        known at build time, `for k, act in acts.items():` or `for act in acts.values():`
        over a dict of them: the body once per function, `act` bound to it. False when
        the loop is no such loop."""
        it, target, index, keys = s.iter, s.target, None, None
        desc = self.desc_of(it) if self.stored_func(it) is None else None
        if desc is not None and desc.cls in (list, tuple) and desc.uniform() is None:
            return self.unroll_objects(s, line, desc, it, s.target)
        if self.unroll_zip(s) or self.unroll_indices(s, line):
            return True
        if isinstance(it, gast.Call) and len(it.args) == 1 and not it.keywords and \
                isinstance(it.func, gast.Name) and it.func.id not in self.locals and \
                isinstance(target, (gast.Tuple, gast.List)) and len(target.elts) == 2 and \
                self.callee(it.func) is builtins.enumerate:
            desc = self.desc_of(it.args[0]) if self.stored_func(it.args[0]) is None else None
            if desc is not None and desc.cls in (list, tuple) and desc.uniform() is None:
                return self.unroll_objects(s, line, desc, it.args[0], target.elts[1],
                                           target.elts[0])
        if isinstance(it, gast.Call) and len(it.args) == 1 and not it.keywords and \
                isinstance(it.func, gast.Name) and it.func.id not in self.locals and \
                self.callee(it.func) is builtins.enumerate:
            fl = self.funcs_of(it.args[0])
            if not isinstance(fl, FuncList):
                return False
            if not (isinstance(target, (gast.Tuple, gast.List)) and len(target.elts) == 2):
                raise self.error(UnsupportedSyntaxError, "unpack enumerate() of a list of "
                                 "functions into two names: `for i, f in enumerate(fs)`", s)
            index, target = target.elts
        elif isinstance(it, gast.Call) and not it.args and not it.keywords and \
                isinstance(it.func, gast.Attribute) and it.func.attr in ("items", "values"):
            # for name, f in acts.items(): / for f in acts.values(): of a dict of functions
            fl = self.funcs_of(it.func.value)
            if not isinstance(fl, FuncList) or not isinstance(fl.items, dict):
                return False
            if it.func.attr == "items":
                if not (isinstance(target, (gast.Tuple, gast.List)) and len(target.elts) == 2):
                    raise self.error(UnsupportedSyntaxError, "unpack .items() of a dict of "
                                     "functions into two names: `for k, f in fs.items()`", s)
                index, target = target.elts
            fl, keys = FuncList(list(fl.items.values()), fl.label), list(fl.items)
        else:
            fl = self.funcs_of(it)
            if not isinstance(fl, FuncList):
                return False
        if not isinstance(target, gast.Name) or isinstance(fl.items, dict):
            raise self.error(UnsupportedSyntaxError, "a loop over a list of functions binds "
                             "one name to each (`for f in fs:`); a dict of functions is "
                             "indexed by constant keys or iterated by .items() or .values()", s)
        self.no_jumps(s, "a list of functions")
        for k, fv in enumerate(fl.items):
            self.funcvals.pop(target.id, None)
            self.bind_funcval(target.id, fv, s)
            if index is not None:
                self.assign_atom(index, ir.Const(k if keys is None else keys[k]), line)
            for st in s.body:
                self.stmt(st)
        return True

    def unroll_objects(self, s, line, desc, seq, target, index=None) -> bool:
        """`for layer in layers:` (or `for k, layer in enumerate(layers):`) over a list or
        tuple of objects of different classes (or some no objects): the body once per item,
        `layer` bound to `layers[k]`, so each copy calls its item's methods."""
        self.no_jumps(s, "a list of objects of different classes")
        seq = self.expr(seq)
        for k in range(len(desc.items)):
            if index is not None:
                self.assign_atom(index, ir.Const(k), line)
            self.assign_atom(target, self.getitem(seq, ir.Const(k)), line)
            for st in s.body:
                self.stmt(st)
        return True

    def mixed(self, node):
        """The description of the list or tuple of objects of different classes `node`
        holds (`layers = [Dense(...), Scale(...)]`), else None."""
        if self.stored_func(node) is not None:
            return None
        d = self.desc_of(node)
        return d if d is not None and d.cls in (list, tuple) and d.container and d.items and \
            not d.each and d.uniform() is None else None

    def unroll_zip(self, s) -> bool:
        """`for layer, k in zip(layers, ks):` with `layers` a list of objects of different
        classes: the body once per item of it, each name bound to its sequence's item k,
        the sequences read once, at loop entry. A sequence whose length srcad does not know
        guards the copies from its length on (`if len(ks) > 1:`): zip stops at the
        shortest, as Python's does."""
        it, target = s.iter, s.target
        if not (isinstance(it, gast.Call) and isinstance(it.func, gast.Name) and it.args and
                it.func.id not in self.locals and not it.keywords and
                not any(isinstance(a, gast.Starred) for a in it.args) and
                isinstance(target, (gast.Tuple, gast.List)) and
                len(target.elts) == len(it.args) and self.callee(it.func) is builtins.zip):
            return False
        descs = [self.mixed(a) for a in it.args]
        if all(d is None for d in descs):
            return False
        self.no_jumps(s, "a list of objects of different classes")
        idioms._builtin_names(self, s, "len")
        lengths = []
        for a, d in zip(it.args, descs):
            known = self.desc_of(a)
            lengths.append(len(d.items) if d is not None else
                           len(known.items) if known is not None and known.container and
                           not known.each and known.items else None)
        n = min(k for k in lengths if k is not None)
        seqs = []
        for a in it.args:           # read once, at loop entry, as zip reads them
            name = self.new_local("zipped")
            self.stmt(idioms._at(gast.Assign(targets=[idioms._name(name, store=True)],
                                             value=a, type_comment=None), s))
            seqs.append(name)
        guarded = [q for q, k in zip(seqs, lengths) if k is None]
        inner: list = []
        for k in reversed(range(n)):
            copy = [gast.Assign(targets=[t], value=gast.Subscript(
                value=idioms._name(q), slice=gast.Constant(value=k, kind=None),
                ctx=gast.Load()), type_comment=None) for t, q in zip(target.elts, seqs)]
            copy += list(s.body) + inner
            if guarded:
                tests = [gast.Compare(left=gast.Call(func=idioms._name("len"), args=[
                    idioms._name(q)], keywords=[]), ops=[gast.Gt()], comparators=[
                    gast.Constant(value=k, kind=None)]) for q in guarded]
                copy = [gast.If(test=tests[0] if len(tests) == 1 else gast.BoolOp(
                    op=gast.And(), values=tests), body=copy, orelse=[])]
            inner = copy
        for st in inner:
            for node in gast.walk(st):
                if isinstance(node, (gast.stmt, gast.expr)) and \
                        getattr(node, "lineno", None) is None:
                    gast.copy_location(node, s)
            self.stmt(st)
        return True

    def unroll_indices(self, s, line) -> bool:
        """`for i in range(len(layers)):` whose body reads `layers[i]`, `layers` a list of
        objects of different classes: the body once per item, i a constant in each copy
        (so `layer = layers[i]` knows its class)."""
        it, target = s.iter, s.target
        if not (isinstance(target, gast.Name) and isinstance(it, gast.Call) and
                isinstance(it.func, gast.Name) and it.func.id not in self.locals and
                len(it.args) == 1 and not it.keywords and
                isinstance(it.args[0], gast.Call) and
                isinstance(it.args[0].func, gast.Name) and
                it.args[0].func.id not in self.locals and len(it.args[0].args) == 1 and
                not it.args[0].keywords and self.callee(it.func) is builtins.range and
                self.callee(it.args[0].func) is builtins.len):
            return False
        seq = it.args[0].args[0]
        d = self.mixed(seq)
        if d is None or not isinstance(seq, gast.Name):
            return False
        rebound, _ = _rebound_names(s.body)
        if seq.id in rebound or target.id in rebound:
            return False
        if not any(isinstance(n, gast.Subscript) and isinstance(n.value, gast.Name) and
                   n.value.id == seq.id and isinstance(n.slice, gast.Name) and
                   n.slice.id == target.id for n in gast.walk(gast.Module(
                       body=list(s.body), type_ignores=[]))):
            return False
        self.no_jumps(s, "a list of objects of different classes")
        for k in range(len(d.items)):
            self.assign_atom(target, ir.Const(k), line)
            for st in _with_constant(s.body, target.id, k):
                self.stmt(st)
        return True

    def no_jumps(self, s, what):
        """Refuse break and continue in loop `s`, which srcad unrolls."""
        todo = list(s.body)
        while todo:
            node = todo.pop()
            if isinstance(node, (gast.Break, gast.Continue)):
                raise self.error(UnsupportedSyntaxError, f"break or continue in a loop over {what} "
                                 "is not supported", node)
            if not isinstance(node, (gast.For, gast.While, gast.FunctionDef, gast.Lambda)):
                todo.extend(gast.iter_child_nodes(node))

    def constant_items(self, it):
        """The values of `it` when they are known at build time (`range` of constants, a
        list or tuple display of constants), else None."""
        if isinstance(it, (gast.List, gast.Tuple)):
            try:
                return [ast.literal_eval(gast.gast_to_ast(e)) for e in it.elts]
            except ValueError:
                return None
        if isinstance(it, gast.Call) and isinstance(it.func, gast.Name) and \
                it.func.id not in self.locals and not it.keywords:
            try:
                if self.callee(it.func) is not builtins.range:
                    return None
                return list(range(*[ast.literal_eval(gast.gast_to_ast(a)) for a in it.args]))
            except (ValueError, TypeError, UnsupportedSyntaxError):
                return None
        return None

    def makes_function(self, stmts) -> bool:
        """Whether `stmts` (not nested defs' bodies) bind a name to a function value: a
        lambda, a def, or `functools.partial(...)`."""
        todo = list(stmts)
        while todo:
            node = todo.pop()
            if isinstance(node, gast.FunctionDef):
                return True
            if isinstance(node, gast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], gast.Name):
                v = node.value
                if isinstance(v, gast.Lambda):
                    return True
                if isinstance(v, gast.Call) and isinstance(v.func, (gast.Name, gast.Attribute)):
                    try:
                        if self.callee(v.func) is functools.partial:
                            return True
                    except UnsupportedSyntaxError:
                        pass
            if isinstance(node, (gast.If, gast.For, gast.While, gast.With, gast.Try)):
                todo.extend(gast.iter_child_nodes(node))
        return False

    def function_list(self, node):
        """`[lambda t, k=k: t ** k for k in range(3)]` (or `partial(h, k)` for k in a
        constant list): the FuncList of one function value per item, the comprehension's
        variable that constant where the element evaluates it when it is made (a lambda's
        defaults, a partial's arguments); None for a comprehension of no functions."""
        elt = node.elt
        if not (isinstance(elt, gast.Lambda) or isinstance(elt, gast.Call) and
                isinstance(elt.func, (gast.Name, gast.Attribute)) and
                not (isinstance(elt.func, gast.Name) and elt.func.id in self.locals)):
            return None
        if isinstance(elt, gast.Call):
            try:
                if self.callee(elt.func) is not functools.partial:
                    return None
            except UnsupportedSyntaxError:
                return None
        gen = node.generators[0] if len(node.generators) == 1 else None
        values = self.constant_items(gen.iter) if gen is not None and not gen.ifs and \
            isinstance(gen.target, gast.Name) else None
        if values is None or len(values) > _UNROLL_MAX:
            raise self.error(UnsupportedSyntaxError, "a list comprehension of functions "
                             "iterates over a constant range or list with one `for` and no "
                             "`if`", node)
        var = gen.target.id
        if isinstance(elt, gast.Lambda):
            own = {a.id for a in elt.args.args}
            if var not in own and any(isinstance(n, gast.Name) and n.id == var
                                      for n in gast.walk(elt.body)):
                raise self.error(UnsupportedSyntaxError, f"the lambda reads the "
                                 f"comprehension's variable {var!r} when it is called (its "
                                 f"last value, in Python): bind it now with {var}={var}", node)
        items = []
        for v in values:
            made = copy.deepcopy(elt)
            if isinstance(made, gast.Lambda):
                made.args.defaults = [_substitute(d, var, v) for d in made.args.defaults]
            else:
                made.args = [_substitute(a, var, v) for a in made.args]
                for k in made.keywords:
                    k.value = _substitute(k.value, var, v)
            items.append(self.func_value(made))
        return FuncList(items, "list of functions", display=list)

    def unroll_makers(self, s, line) -> bool:
        """`for k in range(3): g = lambda t, k=k: ...` (or a def, or `functools.partial(h,
        k)`) at the top level, over values known at build time: the body once per value, k
        that constant, so each function value is one the lowering knows. False when the
        loop is no such loop."""
        if self.depth or not isinstance(s.target, gast.Name) or not self.makes_function(s.body):
            return False
        values = self.constant_items(s.iter)
        if values is None or len(values) > _UNROLL_MAX:
            return False
        for node in gast.walk(gast.Module(body=s.body, type_ignores=[])):
            if isinstance(node, (gast.Break, gast.Continue)):
                raise self.error(UnsupportedSyntaxError, "break or continue in a loop that "
                                 "makes functions is not supported", node)
        for v in values:
            self.assign_atom(s.target, ir.Const(v), line)
            for st in s.body:
                self.stmt(st)
        return True

    def checkpoint_marker(self, it):
        """`srcad.checkpoint(range(...), snapshots=k)`: the range call and the atom of k."""
        args = list(it.args) + [k.value for k in it.keywords if k.arg == "snapshots"]
        inner = args[0] if args else None
        if len(args) > 2 or any(k.arg != "snapshots" for k in it.keywords) or \
                not isinstance(inner, gast.Call) or self.callee(inner.func) is not builtins.range:
            raise self.error(UnsupportedSyntaxError, "srcad.checkpoint takes a range(...) and "
                             "snapshots=: `for i in srcad.checkpoint(range(n), snapshots=k):`",
                             it)
        return inner, self.expr(args[1]) if len(args) == 2 else ir.Const(None)

    def emit_loop(self, s, line, rng, reads, index_is_target=False, checkpoint=None):
        """The loop over range `rng`; `reads(i)` gives the (target, atom) pairs assigned
        from index `i` at the top of each iteration (unless the index is the target);
        `checkpoint`: see ir.For."""
        self.depth += 1
        self.loops += 1
        saved, self.body = self.body, []
        if index_is_target:
            index = self.target_name(s.target.id)
        else:
            index = self.fresh_temp()
            for target, a in reads(index):
                self.assign_atom(target, a, line)
        head = self.body
        self.body = saved
        body = head + self.block(s.body)
        self.depth -= 1
        self.loops -= 1
        self.emit(ir.For(index, rng, body, line, checkpoint))

    # ------------------------------------------------------------ expressions
    def call_prim(self, prim, args, kwargs=None, static=None, dest=None) -> ir.Name:
        rule = prim if not callable(prim) or isinstance(prim, rules.Rule) else rules.lookup(prim)
        atoms = list(args) + list((kwargs or {}).values())
        key = self.cse_key(rule, args, kwargs, static)
        if key is not None and key in self.cse and dest is None:
            # the same pure operation on the same values, earlier in straight-line code;
            # never into a variable (`a = x * 2.0; b = x * 2.0`): b would share a's array,
            # which Python's b does not (`a += 1.0` would then have to be refused)
            return self.cse[key]
        name = self.fresh_temp() if dest is None or ir.Name(dest) in atoms else dest
        self.emit(ir.Assign(name, ir.Call(rule, list(args), dict(kwargs or {}), static),
                            self.line))
        if not isinstance(rule, rules.Rule):
            self.forget_reuse()        # a user's helper or opaque call may change its arguments
        if key is not None:
            self.cse[key] = ir.Name(name)
            for n in {a.id for a in atoms if isinstance(a, ir.Name)} | {name}:
                self.cse_reads.setdefault(n, []).append(key)
        if rule is PACK_TUPLE or rule is PACK_LIST or \
                isinstance(rule, rules.Rule) and rule.returns_seq:
            self.seq_names.add(name)
        if rule is PACK_TUPLE or rule is PACK_LIST:
            self.seq_len[name] = len(args)
        elif isinstance(rule, rules.Rule) and rule.key is runtime.make_dict and \
                isinstance(args[0], ir.Const):
            self.dict_keys[name] = args[0].value
        if dest is not None and name != dest:
            self.emit(ir.Assign(dest, ir.Name(name), self.line))
            return ir.Name(dest)
        return ir.Name(name)

    def is_seq(self, node) -> bool:
        """Whether `node` surely makes a list or tuple: a display, a list comprehension,
        `list(...)`, a name whose value here some list-making operation computed, or a
        slice of one."""
        if isinstance(node, (gast.List, gast.Tuple, gast.ListComp)):
            return True
        if isinstance(node, gast.Subscript) and isinstance(node.slice, gast.Slice):
            return self.is_seq(node.value)             # a slice of one
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
                node.func.id not in self.locals and node.func.id not in self.funcvals and \
                len(node.args) == 1 and self.callee(node.func) is builtins.list:
            return True                                 # list(p)
        return isinstance(node, gast.Name) and node.id in self.version and \
            self.version[node.id] in self.seq_names

    def seq_binop(self, node, dest):
        """`xs + ys` of lists or tuples (a concatenation, `seq_concat`) and `xs * n` (the
        items repeated: a display and a constant count unrolled), or None for arithmetic."""
        from .rules.containers import SEQ_CONCAT
        left, right = node.left, node.right
        if isinstance(node.op, gast.Add) and (self.is_seq(left) or self.is_seq(right)):
            return self.call_prim(SEQ_CONCAT, [self.expr(left), self.expr(right)], dest=dest)
        if isinstance(node.op, gast.Mult):
            if isinstance(right, (gast.List, gast.Tuple)):
                left, right = right, left
            if isinstance(left, (gast.List, gast.Tuple)) and \
                    not any(isinstance(e, gast.Starred) for e in left.elts) and \
                    isinstance(right, gast.Constant) and type(right.value) is int:
                atoms = [self.expr(e) for e in left.elts]
                pack = PACK_TUPLE if isinstance(left, gast.Tuple) else PACK_LIST
                return self.call_prim(pack, atoms * max(right.value, 0), dest=dest)
            if self.is_seq(node.right) and not self.is_seq(node.left):
                left, right = node.right, node.left
            else:
                left, right = node.left, node.right
            if self.is_seq(left):
                from .rules.containers import SEQ_REPEAT
                return self.call_prim(SEQ_REPEAT, [self.expr(left), self.expr(right)], dest=dest)
        return None

    def cse_key(self, rule, args, kwargs, static):
        """A key for reusing a pure rule call in top-level straight-line code, else None.
        An entry is forgotten when a name it reads or holds is reassigned (`emit`) and
        after each compound statement."""
        if self.depth or not isinstance(rule, rules.Rule) or not rule.pure or rule.inplace:
            return None
        try:
            key = (id(rule), tuple(args), tuple(sorted((kwargs or {}).items())), repr(static))
            hash(key)
        except TypeError:
            return None
        return key

    def getitem(self, seq, index) -> ir.Name:
        from .rules.core import GETITEM
        return self.known_item(self.call_prim(GETITEM, [seq, index], static=("atom", 1)),
                               seq, index)

    def items_of(self, a, *more) -> ir.Name:
        """`runtime.items_of(a)`, what a for loop over `a` indexes (a list or tuple itself:
        what srcad knows of its objects holds for it too)."""
        out = self.call_prim(runtime.items_of, [a, *more])
        d = self.classes.get(a.id) if isinstance(a, ir.Name) else None
        if d is not None and d.cls in (list, tuple) and isinstance(out, ir.Name):
            self.classes[out.id] = d
        return out

    def expr(self, node, dest=None) -> ir.Name | ir.Const:
        """Lower `node` to an atom; the last operation writes `dest` when given."""
        if hasattr(node, "lineno"):
            self.line = self.p.lineno(node)
        if isinstance(node, gast.Constant):
            return ir.Const(node.value)
        if isinstance(node, gast.Name):
            return self.name(node)
        if isinstance(node, gast.BinOp):
            joined = self.seq_binop(node, dest)
            if joined is not None:
                return joined
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise self.error(UnsupportedSyntaxError, f"the operator {type(node.op).__name__} is "
                                 "not differentiable", node)
            left, right = self.expr(node.left), self.expr(node.right)
            return self.call_prim(op, [left, right], dest=dest)
        if isinstance(node, gast.UnaryOp):
            op = _UNOPS.get(type(node.op))
            if op is None:
                raise self.error(UnsupportedSyntaxError, "the operator ~ is not differentiable", node)
            operand = self.expr(node.operand)
            if op is operator.neg and isinstance(operand, ir.Const) and \
                    isinstance(operand.value, (int, float)):
                return ir.Const(-operand.value)
            if op is operator.not_ and isinstance(operand, ir.Const):
                return ir.Const(not operand.value)      # `not True`: a constant test
            return self.call_prim(op, [operand], dest=dest)
        if isinstance(node, gast.Compare):
            if len(node.ops) > 1:
                parts, left = [], node.left
                for op, right in zip(node.ops, node.comparators):
                    parts.append(gast.Compare(left=left, ops=[op], comparators=[right]))
                    left = right
                return self.expr(gast.copy_location(gast.BoolOp(op=gast.And(), values=parts),
                                                    node), dest=dest)
            if isinstance(node.ops[0], gast.NotIn):       # a not in b: not (a in b)
                inside = gast.Compare(left=node.left, ops=[gast.In()], comparators=node.comparators)
                return self.expr(gast.copy_location(gast.UnaryOp(op=gast.Not(), operand=gast.copy_location(
                    inside, node)), node), dest=dest)
            op = _CMPOPS[type(node.ops[0])]
            left, right = self.expr(node.left), self.expr(node.comparators[0])
            if op is operator.contains:
                left, right = right, left
            return self.call_prim(op, [left, right], dest=dest)
        if isinstance(node, gast.BoolOp):
            return self.boolop(node, dest)
        if isinstance(node, gast.IfExp):
            test = self.expr(node.test)
            out = dest or self.fresh_merge()
            if test == ir.Name(out):               # the branches assign it: test a copy
                test = self.copy(test, self.p.lineno(node))
            body, orelse = self.lower_into(out, node.body), self.lower_into(out, node.orelse)
            self.emit(ir.If(test, body, orelse, self.p.lineno(node)))
            return ir.Name(out)
        if isinstance(node, gast.Call):
            return self.call(node, dest)
        if isinstance(node, (gast.Subscript, gast.Attribute)):
            out = self.subscript(node, dest) if isinstance(node, gast.Subscript) else \
                self.attribute(node, dest)
            if isinstance(out, ir.Name) and out.id not in self.classes:
                d = self.desc_of(node)      # (a global's self.layers[:-1], read live)
                if d is not None:
                    out = self.checked_free(out, d, node)
                    self.classes[out.id] = d
            return out
        if isinstance(node, (gast.List, gast.Tuple)):
            node = idioms.splice_starred(node)
        if isinstance(node, gast.List) and len(node.elts) == 2 and \
                isinstance(node.elts[0], gast.Starred) and \
                not isinstance(node.elts[1], gast.Starred):
            from .rules.core import LIST_APPEND          # [*xs, v]: xs with v appended
            xs, v = self.expr(node.elts[0].value), self.expr(node.elts[1])
            return self.call_prim(LIST_APPEND, [xs, v], dest=dest)
        if isinstance(node, (gast.List, gast.Tuple)) and \
                any(isinstance(e, gast.Starred) for e in node.elts):
            return idioms.starred_display(self, node, dest)
        if isinstance(node, gast.Dict):
            if any(k is None for k in node.keys):
                return idioms.spread_dict(self, node, dest)
            return self.make_dict(node.keys, node.values, dest)
        if isinstance(node, idioms.COMPREHENSIONS):
            return idioms.lower_comprehension(self, node)
        if isinstance(node, gast.JoinedStr):
            return idioms.fstring(self, node, dest)
        if isinstance(node, (gast.Tuple, gast.List)):
            atoms = [self.expr(e) for e in node.elts]
            if all(isinstance(a, ir.Const) for a in atoms) and isinstance(node, gast.Tuple):
                return ir.Const(tuple(a.value for a in atoms))
            pack = PACK_TUPLE if isinstance(node, gast.Tuple) else PACK_LIST
            return self.known_items(self.call_prim(pack, atoms, dest=dest), atoms,
                                    tuple if isinstance(node, gast.Tuple) else list)
        if isinstance(node, gast.Lambda):
            raise self.error(UnsupportedSyntaxError, "a lambda used as data (returned, stored or "
                             "compared) is not supported; call it or pass it to your own "
                             "function", node)
        what = _CONSTRUCT_NAMES.get(type(node), type(node).__name__)
        raise self.error(UnsupportedSyntaxError, f"{what} is not supported in a differentiated "
                         "function", node)

    def name(self, node) -> ir.Name | ir.Const:
        n = node.id
        if n in self.deleted:
            raise self.error(UnsupportedSyntaxError, f"{n!r} is read after `del {n}`", node)
        if n in self.funcvals:
            raise self.error(UnsupportedSyntaxError, f"the function value {n!r} used as data: "
                             "srcad calls function values and passes them to your own "
                             "functions, but does not store, return or compare them", node)
        if n in self.version:
            return ir.Name(self.version[n])
        if n in self.locals:
            # assigned somewhere (e.g. in a loop body seen later): read the variable itself
            self.version[n] = self.fresh_name(n) if n in self.used_versions else n
            self.used_versions.add(self.version[n])
            self.versions[self.version[n]] = n
            return ir.Name(self.version[n])
        if n in self.p.local_classes:           # a class the function defines
            name = self.inject(n, self.p.local_classes[n])
            self.reserved.add(name)
            return ir.Name(name)
        try:
            value = self.p.resolve(n)
        except KeyError:
            raise self.error(UnsupportedSyntaxError, f"name {n!r} is not defined", node) from None
        if isinstance(value, (bool, type(None))):
            return ir.Const(value)
        if isinstance(value, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType)):
            extra = " (a module is read as a value when a name is assigned it once at the top " \
                "of the function, `xp = np`, and by getattr or hasattr with a constant name)" \
                if isinstance(value, types.ModuleType) else ""
            raise self.error(UnsupportedSyntaxError, f"{n!r} ({type(value).__name__}) used as a "
                             f"value; srcad can only call it{extra}", node)
        read = n
        if n in rules.runtime_namespace() and rules.runtime_namespace()[n] is not value:
            # named like one of srcad's helpers (`unreduce = [...]`): generated code reads it
            # by a name of its own, bound when built; rebinding the global rebuilds it
            read = self.inject(n, value)
            self.reserved.add(read)
            self.p.pinned.add(n)
        d = self.free_desc(n)
        if d is not None:                           # a global object: its class known
            out = self.checked_free(ir.Name(read), d, node)
            self.classes[out.id] = d
            return out
        return ir.Name(read)                        # a global or closure value, read live

    def lower_into(self, out: str, node) -> list:
        """The statements computing `node` into `out`, as a nested block."""
        self.depth += 1
        saved, self.body = self.body, []
        a = self.expr(node, dest=out)
        if a != ir.Name(out):
            self.emit(ir.Assign(out, a, self.p.lineno(node)))
        block, self.body = self.body, saved
        self.depth -= 1
        return block

    def boolop(self, node, dest):
        """`a or b` (`a and b`) as a branch on a's value, which no branch reassigns; the
        result goes to `out`, assigned on every path (`out = a` on the short cut)."""
        first = self.expr(node.values[0])
        rest = node.values[1:]
        second = rest[0] if len(rest) == 1 else \
            gast.copy_location(gast.BoolOp(op=node.op, values=rest), node)
        if isinstance(first, ir.Const):       # `True and t`: t, as Python decides it here
            decided = bool(first.value) != isinstance(node.op, gast.And)
            return first if decided else self.expr(second, dest=dest)
        out = dest or self.fresh_merge()
        line = self.p.lineno(node)
        if first == ir.Name(out):
            first = self.copy(first, line)
        shortcut = [ir.Assign(out, first, line)]
        other = self.lower_into(out, second)
        if isinstance(node.op, gast.And):
            self.emit(ir.If(first, other, shortcut, line))
        else:
            self.emit(ir.If(first, shortcut, other, line))
        return ir.Name(out)

    def callee(self, func):
        """The object a call's function expression refers to, or None for a method call."""
        chain = []
        while isinstance(func, gast.Attribute):
            chain.append(func.attr)
            func = func.value
        if not isinstance(func, gast.Name) or func.id in self.locals:
            return None
        try:
            return self.p.lookup(func.id, tuple(reversed(chain)))   # recorded: see pipeline
        except KeyError:
            raise self.error(UnsupportedSyntaxError, f"name {func.id!r} is not defined",
                             func) from None
        except AttributeError:
            raise self.error(UnsupportedSyntaxError, f"{func.id}.{'.'.join(reversed(chain))} "
                             "does not exist", func) from None

    def transform(self, node):
        """`srcad.grad(h)` & co. made on the spot (`srcad.value_and_grad(h)(x)[0]`): the
        derivative made at build time from constant arguments and a function value (a
        global function, or a nested def or lambda, whose outer variables stay explicit
        arguments: the outer derivative sees them), as a FuncVal; else None."""
        from . import api              # (api imports the pipeline, which imports this module)
        make = self.callee(node.func) if isinstance(node.func, (gast.Name, gast.Attribute)) \
            else None
        if not any(make is t for t in (api.grad, api.value_and_grad, api.jacfwd, api.jacrev,
                                       api.hessian, api.derivative)):
            return None
        if not node.args:
            return None

        def static(a):
            if isinstance(a, gast.Constant):
                return a.value
            if isinstance(a, gast.Tuple) and all(isinstance(e, gast.Constant) for e in a.elts):
                return tuple(e.value for e in a.elts)
            raise _NotStatic
        fv = self.func_value(node.args[0])
        if not isinstance(fv, FuncVal):
            return None
        self.refuse_starred(fv, f"srcad.{make.__name__}", node)
        fv = self.unpartial(fv)
        try:
            args = [static(a) for a in node.args[1:]]
            kwargs = {k.arg: static(k.value) for k in node.keywords}
        except _NotStatic:
            return None
        if fv.kw:
            raise self.error(UnsupportedSyntaxError, f"srcad.{make.__name__} of a "
                             "functools.partial with keywords is not supported; bind them "
                             "positionally", node)
        if make in (api.jacfwd, api.jacrev, api.hessian):
            # a Jacobian inside: a helper written with jvp / vjp / grad (funcs.JacobianOf)
            if set(kwargs) - {"wrt"} or len(args) > 1:
                return None
            wrt = kwargs.get("wrt", args[0] if args else 0)
            if type(wrt) is not int:
                raise self.error(UnsupportedSyntaxError, f"srcad.{make.__name__} inside a "
                                 "differentiated function takes one wrt position (an int)", node)
            return FuncVal(funcs.JacobianOf(make.__name__, wrt + len(fv.pre), fv),
                           label=f"srcad.{make.__name__}({fv.label})")
        if fv.pre:                      # wrt counts the parameters the partial leaves
            slot = 1 if make is api.derivative else 0
            wrt = kwargs.get("wrt", args[slot] if len(args) > slot else 0)
            shift = len(fv.pre)
            if isinstance(wrt, int):
                wrt = wrt + shift
            elif isinstance(wrt, tuple) and all(isinstance(w, int) for w in wrt):
                wrt = tuple(w + shift for w in wrt)
            if len(args) > slot:
                args[slot] = wrt
            else:
                kwargs["wrt"] = wrt
        try:
            obj = make(fv.obj, *args, **kwargs)
        except TypeError:
            return None
        return FuncVal(obj, list(fv.pre), {}, list(fv.extras), fv.nown, fv.names, fv.defaults,
                       f"srcad.{make.__name__}({fv.label})", tail=make is api.derivative)

    def nested_jvp(self, node, dest):
        """`srcad.jvp(g, (a, ...), (ta, ...))` inside a differentiated function: a call of
        g's forward derivative (generated code the outer derivative differentiates)."""
        from . import api
        if len(node.args) != 3 or node.keywords or \
                not all(isinstance(a, (gast.Tuple, gast.List)) for a in node.args[1:]):
            raise self.error(UnsupportedSyntaxError, "srcad.jvp inside a differentiated "
                             "function is written srcad.jvp(g, (a, ...), (ta, ...)) with the "
                             "tuples spelled out", node)
        fv = self.func_value(node.args[0])
        fv = self.unpartial(fv) if isinstance(fv, FuncVal) else fv
        primals, tangents = node.args[1].elts, node.args[2].elts
        if not isinstance(fv, FuncVal) or fv.kw or len(primals) != len(tangents):
            raise self.error(UnsupportedSyntaxError, "srcad.jvp(g, primals, tangents) inside a "
                             "differentiated function needs a function g (no partial with "
                             "keywords) and as many tangents as primals", node)
        full = self.full_args(fv, [self.arg(a) for a in primals], node)
        positions = tuple(range(len(fv.pre), len(fv.pre) + len(primals)))
        wrapper = api.jvp_transform(fv.obj, positions, len(full))
        args = full + [self.expr(t) for t in tangents]
        return self.call_object(wrapper, args, {}, node, dest, f"srcad.jvp({fv.label})")

    def nested_vjp(self, targets, node, line):
        """`out, pullback = srcad.vjp(g, a, ...)` inside a differentiated function: out is
        g's value; pullback a function value calling g's reverse derivative at a, ..."""
        from . import api
        fv = self.func_value(node.args[0]) if node.args else None
        fv = self.unpartial(fv) if isinstance(fv, FuncVal) else fv
        if not isinstance(fv, FuncVal) or fv.kw or node.keywords:
            raise self.error(UnsupportedSyntaxError, "srcad.vjp(g, a, ...) inside a "
                             "differentiated function needs a function g (no partial with "
                             "keywords)", node)
        given = [self.arg(a) for a in node.args[1:]]
        given = [self.copy(a, line) if isinstance(a, ir.Name) else a for a in given]
        full = self.full_args(fv, given, node)
        positions = tuple(range(len(fv.pre), len(fv.pre) + len(given)))
        new = self.new_target(targets[0].id)
        out = self.call_object(fv.obj, list(full), {}, node, new, fv.label)
        self.version[targets[0].id] = new
        if out != ir.Name(new):
            self.emit(ir.Assign(new, out, line))
        wrapper = api.vjp_transform(fv.obj, positions, len(full))
        self.bind_funcval(targets[1].id, FuncVal(wrapper, full, label="pullback"), node)

    def is_vjp(self, func) -> bool:
        from . import api
        if not isinstance(func, (gast.Name, gast.Attribute)) or \
                isinstance(func, gast.Name) and (func.id in self.locals or
                                                 func.id in self.funcvals):
            return False
        return self.callee(func) is api.vjp

    def refuse_starred(self, fv, what, node):
        """A nested def with *args, **kwargs or keyword-only parameters is called and
        passed to your functions, not differentiated by a transform inside."""
        if isinstance(fv, FuncVal) and fv.starred:
            raise self.error(UnsupportedSyntaxError, f"{what} of {fv.label}, a nested def or "
                             "lambda with *args, **kwargs or keyword-only parameters, is not "
                             "supported; give it positional parameters only", node)

    def full_args(self, fv, given, node) -> list:
        """The arguments of `fv.obj` for a call of fv with `given` (its own parameters
        completed from defaults, then what it captures)."""
        self.refuse_starred(fv, "srcad.jvp/vjp", node)
        args = list(fv.pre) + list(given)
        if fv.extras:
            for k in range(len(args), fv.nown):
                if k >= fv.nown - len(fv.defaults):
                    args.append(_default_atom(fv.defaults[k - (fv.nown - len(fv.defaults))]))
                else:
                    raise self.error(UnsupportedSyntaxError, f"{fv.label}() is missing "
                                     f"argument {fv.names[k]!r}", node)
            args += [self.captured(x, node) for x in fv.extras]
        return args

    def spread(self, node):
        """`f(*xs, **d)` as `f(xs[0], xs[1], k=d['k'])` where xs holds a display of known
        length and d a dict of constant keys (a helper's own `*args` and `**kwargs` are
        such); refused for another sequence or mapping."""
        args, keywords = [], []
        for a in node.args:
            if not isinstance(a, gast.Starred):
                args.append(a)
                continue
            v = a.value
            n = self.seq_len.get(self.version.get(v.id)) if isinstance(v, gast.Name) else None
            if n is None and a is node.args[-1]:
                v, n = self.spread_last(node, v, len(args))
            if n is None:
                raise self.error(UnsupportedSyntaxError, f"*{_describe(v)} in a call: srcad "
                                 "spreads a tuple or list whose length it knows (a display, or "
                                 "a function's own *args); pass the items explicitly", node)
            args += [gast.copy_location(gast.Subscript(value=v, slice=gast.Constant(
                value=k, kind=None), ctx=gast.Load()), a) for k in range(n)]
        for k in node.keywords:
            if k.arg is not None:
                keywords.append(k)
                continue
            v = k.value
            keys = self.dict_keys.get(self.version.get(v.id)) if isinstance(v, gast.Name) else None
            if keys is None or not all(isinstance(key, str) for key in keys):
                raise self.error(UnsupportedSyntaxError, f"**{_describe(v)} in a call: srcad "
                                 "spreads a dict whose keys it knows (a display, or a "
                                 "function's own **kwargs); pass the keywords explicitly", node)
            keywords += [gast.keyword(arg=key, value=gast.copy_location(gast.Subscript(
                value=v, slice=gast.Constant(value=key, kind=None), ctx=gast.Load()), v))
                for key in keys]
        return gast.copy_location(gast.Call(func=node.func, args=args, keywords=keywords), node)

    def spread_last(self, node, v, given):
        """`h(a, *xs)` of a user function h without `*args`: xs fills h's other positional
        parameters, checked for length when the derivative runs (`require_len`, the
        TypeError Python raises); (a local holding xs, their number), or (v, None)."""
        from .rules.containers import REQUIRE_LEN
        obj = self.callee(node.func) if isinstance(node.func, (gast.Name, gast.Attribute)) \
            else None
        named = {k.arg for k in node.keywords}
        rule = rules.lookup(obj) if obj is not None else None
        if isinstance(rule, rules.Rule) and obj not in (builtins.max, builtins.min):
            # np.hypot(*x): a primitive whose positional parameters left all have no default
            # (else how many xs fills is not known until it runs); Python's TypeError for
            # another length (a ufunc would take a third item as `out=`: srcad raises)
            params = [p for p, d in rule.params[given:] if p != "*" and p not in rule.kwonly]
            if any(d is not rules._REQUIRED for p, d in rule.params[given:]
                   if p in params) or any(p in named for p in params) or not params:
                return v, None
            n, what = len(params), f"{_describe(node.func)}() (as srcad spreads *{_describe(v)})"
        elif not isinstance(obj, types.FunctionType) or rule is not None or \
                hasattr(obj, "__srcad_transform__") or obj.__code__.co_flags & inspect.CO_VARARGS:
            return v, None
        else:
            code = obj.__code__
            params = code.co_varnames[:code.co_argcount][given:]
            n, what = len([p for p in params if p not in named]), f"{obj.__name__}()"
        checked = self.new_local("spread")
        self.emit(ir.Assign(self.target_name(checked), self.call_prim(REQUIRE_LEN, [
            self.expr(v), ir.Const(n), ir.Const(what)]), self.line))
        return _gname(checked), n

    def call(self, node, dest):
        node = idioms.splice_starred(node)
        if isinstance(node.func, gast.Name) and node.func.id == "zip" and \
                node.func.id not in self.locals and node.func.id not in self.funcvals and \
                self.callee(node.func) is builtins.zip:
            columns = idioms.zip_star_value(self, node, dest)   # zip(*pairs) of any length
            if columns is not None:
                return columns
        if any(isinstance(a, gast.Starred) for a in node.args) or \
                any(k.arg is None for k in node.keywords):
            node = self.spread(node)
        func = node.func
        text = _describe(func)
        if isinstance(func, gast.Attribute) and self.is_super(func.value):
            return self.call_member(self.super_member(func), func, node, dest, text)
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Call):
            return self.through_name(node, func.value, dest)    # make(W).apply(x)
        stored = self.stored_func(func)
        if isinstance(stored, FuncVal):                     # self.act(z), cfg["act"](z)
            return self.call_funcval(stored, node, dest)
        if isinstance(func, gast.Subscript) and not isinstance(func.slice, gast.Constant):
            fl = self.func_value(func.value) if self.desc_of(func.value) is None else \
                self.stored_func(func.value)                # (an argument's list: its desc)
            if isinstance(fl, FuncList):                    # ACTS[name](x), acts[i](x)
                return self.dispatch(fl, func, node)
            objs = self.mixed_objects(func.value)
            if objs is not None:                            # layers[i](x), two classes
                return self.dispatch(objs, func, node)
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Subscript) and \
                not isinstance(func.value.slice, gast.Constant):
            objs = self.mixed_objects(func.value.value)
            if objs is not None:                            # layers[i].apply(x)
                return self.dispatch(objs, func.value, node, attr=func.attr)
        found = self.member(func) if isinstance(func, gast.Subscript) else None
        if found is not None and found[0] != "property":    # layers[0](x)
            return self.call_member(found, func, node, dest, text)
        if isinstance(func, gast.Name) and isinstance(self.funcvals.get(func.id), FuncVal) and \
                isinstance(self.funcvals[func.id].obj, types.FunctionType):
            picked = self.picked_argument(node)
            if picked is not None:                          # inner(layers[k], x), a def's
                return picked
        if isinstance(func, (gast.Lambda, gast.Subscript, gast.Call)) or \
                isinstance(func, gast.Name) and func.id in self.funcvals:
            fv = self.func_value(func)
            if fv is None and isinstance(func, gast.Call) and self.returns_object(func):
                return self.through_name(node, func, dest)       # make(W)(x): its __call__
            if fv is None and isinstance(func, gast.Call):
                raise self.error(UnsupportedSyntaxError, f"calling the result of {text} is not "
                                 f"supported: {_KNOWN_FUNCTIONS}", node)
            if fv is None:
                raise self.error(UnsupportedSyntaxError, f"calling the local value {text} is "
                                 f"not supported: {_KNOWN_FUNCTIONS}", node)
            return self.call_funcval(fv, node, dest)
        obj = self.callee(func)
        if isinstance(obj, functools.partial) and isinstance(func, (gast.Name, gast.Attribute)):
            # P(x), MODEL.act(x), self.act(x) of a global or a bound method's self: its arguments
            # read when the derivative runs (constants), the partial checked by identity
            return self.call_funcval(FuncVal(obj, label=text, root=self.expr(func)), node, dest)
        if isinstance(obj, types.FunctionType) and not hasattr(obj, "__srcad_transform__"):
            picked = self.picked_argument(node)
            if picked is not None:                          # apply(layers[k], x)
                return picked
        from . import api
        if obj is api.jvp:
            return self.nested_jvp(node, dest)
        marks = getattr(obj, "__srcad_try_block__", None)
        if marks is not None and not node.keywords and \
                not any(isinstance(a, gast.Starred) for a in node.args):
            # a try/except block srcad lifted (generated code differentiated again)
            return self.call_prim(self.try_block(obj, *marks),
                                  [self.expr(a) for a in node.args], dest=dest)
        if obj is api.vjp:
            raise self.error(UnsupportedSyntaxError, "srcad.vjp inside a differentiated "
                             "function is written `out, pullback = srcad.vjp(g, a, ...)`", node)
        if obj is dataclasses.replace or obj is None and isinstance(func, gast.Attribute) and \
                func.attr == "_replace":
            return self.replace_record(node, dest, text)
        found = self.member(func) if obj is None else None
        if found is not None and found[0] != "property":    # model.apply(x), model(x)
            return self.call_member(found, func, node, dest, text)
        if obj is None and isinstance(func, gast.Attribute):
            got = idioms.dict_get(self, node, dest)
            if got is not None:
                return got
            receiver = self.expr(func.value)
            args = [receiver] + [self.expr(a) for a in node.args]
            rule = rules.lookup_method(func.attr)
            if rule is not None:
                self.refuse_changing(rule, node, text)
                return self.prim_call(rule, args, node, dest, text)
            kwargs = {k.arg: self.expr(k.value) for k in node.keywords}
            self.refuse_out(kwargs, node, text)
            name = self.inject(f"{func.attr}_method", _accessor(_method_caller, func.attr))
            if isinstance(func.value, gast.JoinedStr) or isinstance(func.value, gast.Constant) \
                    and isinstance(func.value.value, (str, bytes)):
                # "loss {:.3f}".format(loss): a str's method makes no derivative
                return self.call_prim(_Opaque(name, None, rules.NONE), args, kwargs, dest=dest)
            checked = None
            if func.attr in _STR_ONLY:      # a dict's key: typed at run time, not now
                where = f"{self.p.filename}:{self.p.lineno(node)}"
                checked = _Opaque(self.inject(f"{func.attr}_str_method", _accessor(
                    _str_method_caller, (func.attr, where))), None, rules.NONE)
            opaque = _Opaque(name, f"srcad has no derivative rule for the method .{func.attr}() "
                                   f"in {text}()", when_varied=checked)
            return self.call_prim(opaque, args, kwargs, dest=dest)
        if obj is None:
            raise self.error(UnsupportedSyntaxError, f"calling the local value {text} is not "
                             f"supported: {_KNOWN_FUNCTIONS}", node)
        if obj is builtins.reversed and len(node.args) == 1 and not node.keywords:
            # reversed(xs) outside a for loop's head: the items of xs[::-1] (its rule says no
            # derivative flows, which holds only for a range)
            from .rules.core import GETITEM
            inner = self.items_of(self.expr(node.args[0]), ir.Const(True))
            return self.call_prim(GETITEM, [inner, ir.Const(-1)],
                                  static=("slice", None, None, 1), dest=dest)
        if (obj is builtins.max or obj is builtins.min) and \
                (len(node.args) != 2 or node.keywords):
            return self.min_max(obj, node, dest)
        if isinstance(obj, type) and (dataclasses.is_dataclass(obj) or
                                      issubclass(obj, tuple) and hasattr(obj, "_fields")):
            return self.make_record(obj, node, dest, text)
        if funcs.plain_class(obj):
            return self.make_object(obj, node, dest, text)
        if obj is builtins.dict and not node.args:           # dict(W=w, b=b): a display
            keys = [gast.Constant(value=k.arg, kind=None) for k in node.keywords]
            return self.make_dict(keys, [k.value for k in node.keywords], dest)
        if obj is builtins.dict and len(node.args) == 1 and isinstance(node.args[0], gast.Name) \
                and all(k.arg is not None for k in node.keywords) and \
                self.version.get(node.args[0].id) in self.dict_keys:
            # dict(d, b=v) of a dict whose keys srcad knows: a display of its items (a copy)
            given = {k.arg: k.value for k in node.keywords}
            keys = [k for k in self.dict_keys[self.version[node.args[0].id]] if k not in given]
            values = [gast.Subscript(value=node.args[0], slice=gast.Constant(value=k, kind=None),
                                     ctx=gast.Load()) for k in keys] + list(given.values())
            return self.make_dict([gast.Constant(value=k, kind=None) for k in keys + list(given)],
                                  values, dest)
        special = idioms.call(self, obj, node, dest)
        if special is not None:
            return special
        masked = self.ufunc_keywords(obj, node, dest, text)
        if masked is not None:
            return masked
        args = [self.arg(a) for a in node.args]
        kwargs = {k.arg: self.arg(k.value) for k in node.keywords}
        return self.call_object(obj, args, kwargs, node, dest, text)

    def returns_object(self, call) -> bool:
        """Whether `call` (no function value) is a call of a user function or class srcad
        knows returns an object of a class (a factory of objects, `Lin(W)`)."""
        func = call.func
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Call):
            return True                                     # a method of what a call returns
        found = self.member(func, called=False) if isinstance(func, gast.Attribute) else None
        if found is not None:
            return found[0] in ("method", "static", "class")
        if not isinstance(func, (gast.Name, gast.Attribute)):
            return False
        try:
            obj = self.callee(func)
        except UnsupportedSyntaxError:
            return False
        return funcs.plain_class(obj) or isinstance(obj, types.FunctionType) and \
            funcs.names_class(obj)

    def through_name(self, node, inner, dest):
        """`node` with its call `inner` (its function, or the object of its method) lowered
        first and read through a name of srcad's own, so what srcad knows of the object it
        returns (its class: `Model(p).loss(x)`, `make(W)(x)`) resolves the call."""
        a = self.expr(inner)
        if not isinstance(a, ir.Name):
            raise self.error(UnsupportedSyntaxError, f"calling {_describe(inner)}, a constant, "
                             "is not supported", node)
        name = a.id
        ref = gast.copy_location(gast.Name(id=name, ctx=gast.Load(), annotation=None,
                                           type_comment=None), inner)
        new = copy.copy(node)
        if node.func is inner:
            new.func = ref
        else:
            new.func = gast.copy_location(gast.Attribute(value=ref, attr=node.func.attr,
                                                         ctx=gast.Load()), node.func)
        fresh = name not in self.version
        self.version.setdefault(name, name)
        known = name in self.locals
        self.locals.add(name)
        try:
            return self.call(new, dest)
        finally:
            if fresh:
                del self.version[name]
            if not known:
                self.locals.discard(name)

    def mixed_objects(self, node):
        """A list or tuple (or dict) of objects of more than one class srcad knows (its
        length and each item's class: in the cache key for an argument, compared on every
        call for a global's and checked by held_as where it is read) as a FuncList of its
        keys, for `dispatch` (one arm per item); else None."""
        d = self.desc_of(node)
        if d is None or not d.container or d.each or not d.items:
            return None
        ds = d.items if d.cls is not dict else [v for _, v in d.items]
        if not all(isinstance(v, funcs.ObjArg) and not v.container for v in ds) or \
                len({v.cls for v in ds}) < 2:
            return None
        return FuncList([None] * len(ds) if d.cls is not dict else
                        {k: None for k, _ in d.items}, _describe(node))

    def picked_argument(self, node):
        """A call of a function of yours passed `objs[key]`, objects of different classes
        and the key known only when the derivative runs (`apply(layers[k], x)`, or `layer`
        of `layer = layers[k]`, which reads as that): the call dispatched on the key, one
        arm per item, each calling the function built for its item's class; else None."""
        for where, a in [(k, a) for k, a in enumerate(node.args)] + \
                [(k.arg, k.value) for k in node.keywords]:
            objs = self.mixed_objects(a.value) if isinstance(a, gast.Subscript) and \
                not isinstance(a.slice, (gast.Constant, gast.Slice)) else None
            if objs is not None:
                return self.dispatch(objs, a, node, arg=where)
        return None

    def dispatch(self, fl, func, node, attr=None, arg=None):
        """`fs[key](args)` of a list or dict of functions srcad knows, the key known only
        when the derivative runs: the if/elif chain over the keys it has, each arm a call
        of one function (`if key == 'tanh': picked = fs['tanh'](x) elif ...`), the key
        checked first as Python does (a list's index is range(n)[i], a dict's str or int
        key `{'tanh': 'tanh', ...}[name]`: IndexError or KeyError for another), so the last
        arm is the chain's `else`; a dict's other keys end the chain in a raise. With `arg`
        (a position or keyword of `node`'s), `func` is that argument, `objs[key]` of objects
        of different classes passed to a function of yours (`apply(layers[k], x)`): each
        arm passes one item (`apply(layers[0], x)`), the function built for its class."""
        limit = _DISPATCH_LIMIT
        keys = list(fl.items) if isinstance(fl.items, dict) else list(range(len(fl.items)))
        if len(keys) > limit:
            raise self.error(UnsupportedSyntaxError, f"{_describe(func)}(...): a key known "
                             f"only when the derivative runs picks among at most {limit} "
                             "functions (srcad writes one branch per function); index by a "
                             "constant", node)
        index = func.slice
        if not isinstance(fl.items, dict):  # range(n)[i]: Python's index (i < 0 and the error)
            idioms._builtin_names(self, node, "range")
            index = gast.Subscript(value=gast.Call(func=_gname("range"), args=[gast.Constant(
                value=len(keys), kind=None)], keywords=[]), slice=index, ctx=gast.Load())
            gast.copy_location(index.value, node)
            gast.copy_location(index, node)
        # a dict's str or int keys: {'tanh': 'tanh', ...}[name], Python's KeyError(name)
        checked = not isinstance(fl.items, dict) or all(type(k) in (str, int) for k in keys)
        if isinstance(fl.items, dict) and checked:
            index = gast.Subscript(value=gast.Dict(
                keys=[gast.Constant(value=k, kind=None) for k in keys],
                values=[gast.Constant(value=k, kind=None) for k in keys]), slice=index,
                ctx=gast.Load())
            for n_ in gast.walk(index):
                if isinstance(n_, gast.expr):
                    gast.copy_location(n_, node)
        key = idioms._local_list(self, index, node, "key")
        out = self.new_local("picked")
        error = "KeyError" if isinstance(fl.items, dict) else "IndexError"
        self.reserved.add(error)
        what = gast.Call(func=_gname("str"), args=[_gname(key)], keywords=[]) \
            if error == "KeyError" else gast.Constant(value="list index out of range", kind=None)
        arm = [gast.Raise(exc=gast.Call(func=_gname(error), args=[what], keywords=[]),
                          cause=None)]
        for j, k in enumerate(reversed(keys)):
            test = gast.Compare(left=_gname(key), ops=[gast.Eq()],
                                comparators=[gast.Constant(value=k, kind=None)])
            picked = gast.Subscript(value=func.value, slice=gast.Constant(value=k, kind=None),
                                    ctx=gast.Load())
            if attr is not None:
                picked = gast.Attribute(value=picked, attr=attr, ctx=gast.Load())
            if arg is None:
                call = gast.Call(func=picked, args=node.args, keywords=node.keywords)
            elif isinstance(arg, int):
                call = gast.Call(func=node.func, args=node.args[:arg] + [picked] +
                                 node.args[arg + 1:], keywords=node.keywords)
            else:
                call = gast.Call(func=node.func, args=node.args, keywords=[
                    gast.keyword(arg=w.arg, value=picked) if w.arg == arg else w
                    for w in node.keywords])
            body = [gast.Assign(targets=[gast.Name(id=out, ctx=gast.Store(), annotation=None,
                                                   type_comment=None)], value=call,
                                type_comment=None)]
            # the last key needs no test: range(n)[i] (the dict display) raised for any other
            # (when it is read: with one key, the test reads it, or nothing would)
            arm = body if j == 0 and checked and len(keys) > 1 else \
                [gast.If(test=test, body=body, orelse=arm)]
        for n_ in gast.walk(arm[0]):
            if isinstance(n_, (gast.stmt, gast.expr)):
                gast.copy_location(n_, node)
        self.stmt(arm[0])
        return self.name(_gname(out))

    def is_super(self, node) -> bool:
        """Whether `node` is `super()` (or `super(Cls, self)`), Python's own super."""
        return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
            node.func.id == "super" and node.func.id not in self.locals and \
            not node.keywords and self.callee(node.func) is builtins.super

    def super_member(self, func):
        """What `super().attr` runs in a method: attr found on the object's class after the
        class the method is defined in (its `__class__` cell, or `super(Cls, self)`'s Cls),
        on the class srcad knows the object has (an argument's, one built inside, a bound
        method's self), as `member` finds it (a method's copy for that class)."""
        call = func.value
        own = list(self.tree.args.posonlyargs or []) + list(self.tree.args.args)
        first = self.p.bound or (own[0].id if own else None)
        if call.args:
            if len(call.args) != 2 or not isinstance(call.args[1], gast.Name):
                raise self.error(UnsupportedSyntaxError, "super(...) takes no arguments or "
                                 "(Class, self)", call)
            start = self.callee(call.args[0]) if isinstance(call.args[0], gast.Name) else None
            first = call.args[1].id
        else:
            cell = self.p.closure.get("__class__")
            start = cell.cell_contents if cell is not None else None
        if not isinstance(start, type) or first is None:
            raise self.error(UnsupportedSyntaxError, "super() outside a method of a class "
                             "srcad can see", call)
        receiver = _gname(first)
        desc = self.desc_of(receiver) if first != self.p.bound else None
        if desc is None and first == self.p.bound:
            desc = funcs.ObjArg(type(self.p.resolve(first)))
        if desc is None or desc.container or start not in desc.cls.__mro__:
            raise self.error(UnsupportedSyntaxError, f"super().{func.attr}: srcad does not "
                             f"know the class of {first!r} here (pass the object as an argument, "
                             "or build it in the function)", call)
        mro = desc.cls.__mro__
        after = mro[mro.index(start) + 1:]
        found = funcs.member_in(after, func.attr, desc.cls)
        if found is None or found[0] == "property":
            raise self.error(UnsupportedSyntaxError, f"super().{func.attr} is no method srcad "
                             "can read the source of", call)
        kind, method = found
        klass = next(k for k in after if func.attr in vars(k))
        self.p.members[(klass, func.attr)] = getattr(klass, func.attr)
        if kind == "class":
            _depends_on(method.__func__)
            return kind, method, desc.cls, receiver
        _depends_on(method)
        return kind, (method if kind == "static" else funcs.for_class(method, desc)), \
            desc.cls, receiver

    def call_member(self, found, func, node, dest, text):
        """A call of what `self.member(func)` found: a method with its object first."""
        kind, method, cls, receiver = found
        pre = [self.expr(receiver)] if kind == "method" else []
        return self.call_funcval(FuncVal(method, pre, label=text), node, dest)

    def call_object(self, obj, args, kwargs, node, dest, text):
        """A call of the callable `obj` on atoms (and function values, for a user helper)."""
        if isinstance(obj, funcs.JacobianOf):
            if kwargs or any(isinstance(a, (FuncVal, FuncList)) for a in args):
                raise self.error(UnsupportedSyntaxError, f"{text}() inside a differentiated "
                                 "function takes its arguments positionally, none a function",
                                 node)
            inner = obj.inner
            n = len(inner.pre) + len(args)
            if not 0 <= obj.wrt < n:
                raise self.error(UnsupportedSyntaxError, f"{text}(): wrt={obj.wrt - len(inner.pre)}"
                                 f" is not one of its {len(args)} arguments", node)
            if not isinstance(inner.obj, (types.FunctionType, types.MethodType)):
                raise self.error(UnsupportedSyntaxError, f"{text}(): srcad differentiates "
                                 "your own Python functions here; wrap the callable in a "
                                 "lambda or def", node)
            x = (list(inner.pre) + list(args))[obj.wrt]
            if isinstance(x, ir.Name) and (x.id in self.seq_names or x.id in self.dict_keys):
                raise self.error(UnsupportedSyntaxError, f"srcad.{obj.kind} inside a "
                                 "differentiated function takes an array or float argument, "
                                 f"not a container as {text}() is passed here; differentiate "
                                 "with respect to its arrays one by one", node)
            helper = funcs.jacobian_helper(obj.kind, obj.wrt, n)
            g = FuncVal(inner.obj, [], inner.kw, inner.extras, inner.nown, inner.names,
                        inner.defaults, inner.label, inner.tail, inner.root)
            where = ir.Const((self.p.filename, self.p.lineno(node)))
            return self.call_object(helper, [where, g] + list(inner.pre) + list(args), {}, node,
                                    dest, text)
        rule = rules.lookup(obj)
        dunder = getattr(type(obj), "__call__", None)
        if rule is None and isinstance(dunder, types.FunctionType) and \
                not hasattr(obj, "__srcad_transform__"):
            obj = types.MethodType(dunder, obj)   # model(x) of an object srcad sees: its
            #                                       __call__, bound (self read live)
        if obj is runtime.partial_arg and args and isinstance(args[0], FuncVal) and \
                args[0].root is not None:
            args = [args[0].root] + list(args[1:])     # what a partial an object holds binds
        if obj is runtime.record_of and len(args) == 3 and not kwargs and \
                isinstance(args[2], FuncList) and len(node.args) == 3:
            # srcad's own record_of of an object holding constant functions (a derivative's
            # code differentiated again: `record_of(Layer, ('act',), [tanh])`): the list of
            # them as data, as make_object stored it
            const = self.function_constant(args[2], node.args[2])
            if const is not None:
                args = list(args[:2]) + [const[0]]
        method = isinstance(obj, types.MethodType) and isinstance(obj.__func__, types.FunctionType)
        user = rule is None and (isinstance(obj, types.FunctionType) or
                                 hasattr(obj, "__srcad_transform__") or method)
        if user and isinstance(obj, types.FunctionType) and \
                not hasattr(obj, "__srcad_transform__"):
            args = self.constant_function_lists(args, node)
        values = list(args) + list(kwargs.values())
        fvs = [a for a in values if isinstance(a, (FuncVal, FuncList))]
        if isinstance(rule, rules.FunctionRule):     # odeint(func, ...): the rule lowers it
            return rule.lower_call(self, args, kwargs, node, dest, text)
        if fvs and not (user and isinstance(obj, types.FunctionType) and
                        not hasattr(obj, "__srcad_transform__")):
            raise self.error(UnsupportedSyntaxError, f"the function value {fvs[0].label} passed "
                             f"to {text}(): srcad passes function values only to your own "
                             "functions (defined with def in a file)", node)
        if not user:
            self.refuse_out(kwargs, node, text)
        if rule is not None:
            self.refuse_changing(rule, node, text)
            self.refuse_overwrite(rule, args, kwargs, node, text)
            rule = rule.for_call(len(args), list(kwargs))
            bound = rule.bind(len(args), list(kwargs))
            if isinstance(bound, str):
                raise self.error(UnsupportedSyntaxError, f"in {text}(): {bound}", node)
            out = self.call_prim(rule, args, kwargs, dest=dest)
            if obj is runtime.record_of and args and isinstance(args[0], ir.Name) and \
                    isinstance(out, ir.Name):        # srcad's own record_of (a derivative's
                try:                                 # code differentiated again)
                    cls = self.p.resolve(args[0].id)
                except KeyError:
                    cls = None
                if isinstance(cls, type):
                    self.classes[out.id] = funcs.ObjArg(cls)
            return out
        if obj is builtins.print:
            return self.call_prim(_Opaque(self.inject("print", obj), None, rules.NONE), args,
                                  kwargs, dest=dest)
        if user:
            if funcs.is_generator(obj):
                obj = self.generator_call(obj, node, text)
            if isinstance(obj, types.FunctionType) and not hasattr(obj, "__srcad_transform__") \
                    and obj.__code__.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
                return self.unstarred_call(obj, args, kwargs, node, dest, text)
            if fvs or _function_defaulted(obj, len(args), kwargs):
                return self.specialized_call(obj, args, kwargs, node, dest, text)
            obj = self.with_classes(obj, args, kwargs)
            name = getattr(obj, "__name__", "helper")
            if not (isinstance(name, str) and name.isidentifier()):   # a lambda: <lambda>
                name = "lambda_" if name == "<lambda>" else "helper"
            if name in self.funcvals and self.funcvals[name].obj is obj and \
                    self.injected.get(name, obj) is obj:
                self.injected[name] = obj        # a nested def, called by its own name
            else:
                name = self.inject(name, obj)
            out = self.call_prim(UserCall(obj, name), args, kwargs, dest=dest)
            desc = self.returned_desc(obj, args, kwargs)
            if desc is not None and isinstance(out, ir.Name):
                self.classes[out.id] = desc     # m = make_model(W); m(x): m's class known
            return out
        base = getattr(obj, "__name__", None)
        name = self.inject(base if isinstance(base, str) and base.isidentifier() else "call", obj)
        opaque = _Opaque(name, f"srcad has no derivative rule for {text}() (a "
                               f"{type(obj).__name__}) and cannot read its source; register one "
                               "with srcad.custom_rule or wrap the value in srcad.stop_gradient")
        return self.call_prim(opaque, args, kwargs, dest=dest)

    def generator_call(self, obj, node, text):
        """A call of the user generator `obj`: its list-returning copy (funcs.eager), run
        to its end where it is called. Refused where a variable passed to it is changed in
        place in this function (a lazy generator would read the changed value)."""
        from .frontend import parse
        passed = {a.id for a in list(node.args) + [k.value for k in node.keywords]
                  if isinstance(a, gast.Name)} if isinstance(node, gast.Call) else set()
        changed = _changed_in_place(self.p.tree) & passed
        if changed:
            raise self.error(UnsupportedSyntaxError, f"the generator {text}() is run to its end "
                             f"where it is called, and {sorted(changed)[0]!r}, passed to it, is "
                             "changed in place in this function; build a list first", node)
        _depends_on(obj)
        try:
            return funcs.eager(obj, parse(obj))
        except UnsupportedSyntaxError as e:
            raise self.error(UnsupportedSyntaxError, f"{text}(): {e}", node) from None

    def unstarred_call(self, obj, args, kwargs, node, dest, text):
        """A call of user function `obj` that has `*args` or `**kwargs` parameters: a call
        of its copy taking them positionally (funcs.unstar), passed the items of the tuple
        and the dict Python would bind, every other parameter given or defaulted."""
        try:
            sig = inspect.signature(obj)
            bound = sig.bind(*args, **kwargs)
        except (TypeError, ValueError) as e:
            raise self.error(UnsupportedSyntaxError, f"{text}(): {e}", node) from None
        full, nvar, kwnames = [], 0, ()
        for p in sig.parameters.values():
            given = bound.arguments.get(p.name, inspect.Parameter.empty)
            if p.kind is p.VAR_POSITIONAL:
                given = list(given) if given is not inspect.Parameter.empty else []
                self.refuse_funcvals(given, p.name, node)
                full += given
                nvar = len(given)
            elif p.kind is p.VAR_KEYWORD:
                given = dict(given) if given is not inspect.Parameter.empty else {}
                self.refuse_funcvals(list(given.values()), p.name, node)
                full += list(given.values())
                kwnames = tuple(given)
            elif given is not inspect.Parameter.empty:
                full.append(given)
            elif isinstance(p.default, (int, float, str, bool, type(None), tuple)):
                full.append(ir.Const(p.default))
            else:
                raise self.error(UnsupportedSyntaxError, f"call of {text}(): pass argument "
                                 f"{p.name!r} explicitly (its default is no constant)", node)
        spec = funcs.fixed(obj, nvar, kwnames)
        if "__srcad_star__" not in vars(obj):
            _depends_on(obj)
        return self.call_object(spec, full, {}, node, dest, text)

    def refuse_funcvals(self, atoms, param, node):
        for a in atoms:
            if isinstance(a, (FuncVal, FuncList)):
                raise self.error(UnsupportedSyntaxError, f"the function value {a.label} passed "
                                 f"in *{param} or **{param}: pass function values to named "
                                 "parameters", node)

    def specialized_call(self, obj, args, kwargs, node, dest, text):
        """A call of user function `obj` with function values among its arguments: a call
        of `obj` specialised on them (funcs.specialize), what they capture passed along."""
        import inspect
        from .frontend import parse
        try:
            sig = inspect.signature(obj)
            bound = sig.bind(*args, **kwargs)
        except (TypeError, ValueError) as e:
            raise self.error(UnsupportedSyntaxError, f"{text}(): {e}", node) from None
        full = []
        for p in sig.parameters.values():
            if p.name in bound.arguments:
                full.append((p.name, bound.arguments[p.name]))
            elif isinstance(p.default, (int, float, str, bool, type(None))):
                full.append((p.name, ir.Const(p.default)))
            elif funcs.is_function(p.default):       # def f(x, act=relu): fixed at def time
                full.append((p.name, FuncVal(p.default, label=f"{p.name}'s default")))
            else:
                raise self.error(UnsupportedSyntaxError, f"{text}() takes a function value: "
                                 f"pass its argument {p.name!r} explicitly", node)
        fparams = {}
        for a in list(args) + list(kwargs.values()):
            if isinstance(a, FuncVal) and any(isinstance(d, _Taken) for d in a.defaults):
                raise self.error(UnsupportedSyntaxError, f"{a.label}, a function whose "
                                 "default is no constant, passed to a function: bind the "
                                 "value with functools.partial instead", node)
        for n, a in full:
            if isinstance(a, FuncList):
                raise self.error(UnsupportedSyntaxError, f"the {a.label} passed to {text}(): "
                                 "pass the functions one by one", node)
            if isinstance(a, FuncVal):
                fparams[n] = self.unpartial(a)
        spec = funcs.specialize(obj, parse(obj), fparams, self.p.lineno(node))
        _depends_on(obj)
        atoms = [a for n, a in full if n not in fparams]
        for n, a in full:
            if n in fparams:
                atoms += list(a.pre) + list(a.kw.values()) + \
                    [self.captured(x, node) for x in a.extras]
        fvs = [a for a in atoms if isinstance(a, (FuncVal, FuncList))]
        if fvs:                    # a closure reading a function value: specialise again
            return self.call_object(spec, atoms, {}, node, dest, text)
        name = self.inject(getattr(obj, "__name__", "helper"), spec)
        return self.call_prim(UserCall(spec, name), atoms, {}, dest=dest)

    def min_max(self, func, node, dest):
        """`max(a, b, c)` and `max([a, b, c])` as nested calls of the two-argument rule."""
        name = func.__name__
        items = node.args
        if len(items) == 1 and isinstance(items[0], (gast.List, gast.Tuple)) and \
                not any(isinstance(e, gast.Starred) for e in items[0].elts):
            items = items[0].elts
        elif len(items) == 1 and not node.keywords:
            return idioms.reduce_items(self, func, items[0], node, dest)
        if any(k.arg == "key" for k in node.keywords):
            return idioms.keyed_min_max(self, func, node, dest)
        if node.keywords:
            raise self.error(UnsupportedSyntaxError, f"{name}() with keyword arguments "
                             f"({', '.join(k.arg + '=' for k in node.keywords)}) is not supported",
                             node)
        if not items:
            raise self.error(UnsupportedSyntaxError, f"{name}() of nothing raises ValueError",
                             node)
        acc = self.expr(items[0])
        for k, e in enumerate(items[1:]):
            acc = self.call_prim(func, [acc, self.expr(e)],
                                 dest=dest if k == len(items) - 2 else None)
        if dest is not None and acc != ir.Name(dest):
            self.emit(ir.Assign(dest, acc, self.line))
            return ir.Name(dest)
        return acc

    def prim_call(self, rule, args, node, dest, text):
        kwnames = [k.arg for k in node.keywords]
        rule = rule.for_call(len(args), kwnames)
        bound = rule.bind(len(args), kwnames)
        if isinstance(bound, str):
            raise self.error(UnsupportedSyntaxError, f"in {text}(): {bound}", node)
        kwargs = {k.arg: self.expr(k.value) for k in node.keywords}
        return self.call_prim(rule, args, kwargs, dest=dest)

    def module_attribute(self, node) -> bool:
        """Whether `node` is `module.name...` (a global or closure module, not a local)."""
        root = node.value
        while isinstance(root, gast.Attribute):
            root = root.value
        if not isinstance(root, gast.Name) or root.id in self.locals:
            return False
        try:
            return isinstance(self.p.resolve(root.id), types.ModuleType)
        except KeyError:
            return False

    def inject(self, base, obj) -> str:
        """The name generated code calls `obj` by: the user's own when it is free."""
        for name, known in self.injected.items():
            if known is obj:
                return name
        try:
            if self.p.resolve(base) is obj and base not in self.locals and \
                    rules.runtime_namespace().get(base, obj) is obj:   # not one of srcad's
                self.injected[base] = obj            # the user's own name for it
                return base
        except KeyError:
            pass
        name = ir.unique_name(base, self.taken)
        self.injected[name] = obj
        if base in rules.runtime_namespace() and base not in self.locals and \
                base in self.p.resolved and self.p.resolved[base] is obj:
            self.p.aliases[name] = base             # the user's, named like srcad's own
        return name

    def make_dict(self, keys, values, dest):
        """`{k0: v0, ...}` as `make_dict((k0, ...), [v0, ...])`, keys and values in order."""
        from .rules.containers import MAKE_DICT
        ks = [self.expr(k) for k in keys]
        vs = [self.expr(v) for v in values]
        katom = ir.Const(tuple(k.value for k in ks)) if all(isinstance(k, ir.Const) for k in ks) \
            else self.call_prim(PACK_TUPLE, ks)
        out = self.call_prim(MAKE_DICT, [katom, self.call_prim(PACK_LIST, vs)], dest=dest)
        if isinstance(katom, ir.Const):
            self.known_items(out, list(zip(katom.value, vs)), dict)
        return out

    def known_items(self, out, atoms, cls):
        """`out`, a list, tuple (`atoms` its items) or dict (`atoms` (key, item) pairs) the
        function builds: what srcad knows of the objects among its items."""
        def desc(a):
            return self.classes.get(a.id) if isinstance(a, ir.Name) else None
        items = tuple((k, desc(a)) for k, a in atoms) if cls is dict else \
            tuple(desc(a) for a in atoms)
        found = [d for d in (items if cls is not dict else [d for _, d in items])
                 if d is not None]
        if found and isinstance(out, ir.Name):
            self.classes[out.id] = funcs.ObjArg(cls, items)
        return out

    def make_record(self, cls, node, dest, text):
        """`Cls(x, b=y)` of a NamedTuple or dataclass: `record_of(Cls, ('a', 'b'), [x, y])`,
        every field given or a constant default. A dataclass with fields its `__init__`
        does not take, or a `__post_init__`, computes them by code srcad does not read:
        refused."""
        from .rules.containers import MAKE_RECORD
        if dataclasses.is_dataclass(cls) and (
                hasattr(cls, "__post_init__") or
                any(not f.init for f in dataclasses.fields(cls))):
            raise self.error(UnsupportedSyntaxError, f"{text}(): a dataclass with "
                             "__post_init__ or init=False fields is not supported", node)
        try:
            bound = inspect.signature(cls).bind(*node.args, **{k.arg: k.value
                                                               for k in node.keywords})
        except TypeError as e:
            raise self.error(UnsupportedSyntaxError, f"{text}(): {e}", node) from None
        keys, values = [], []
        for name, p in inspect.signature(cls).parameters.items():
            keys.append(name)
            if name in bound.arguments:
                values.append(self.expr(bound.arguments[name]))
            elif isinstance(p.default, (int, float, str, bool, type(None))):
                values.append(ir.Const(p.default))
            else:
                raise self.error(UnsupportedSyntaxError, f"{text}(): pass the field {name!r} "
                                 "explicitly (its default is no constant)", node)
        cname = self.inject(cls.__name__, cls)
        self.reserved.add(cname)            # a free name (the class a replace builds)
        out = self.call_prim(MAKE_RECORD, [ir.Name(cname), ir.Const(tuple(keys)),
                                           self.call_prim(PACK_LIST, values)], dest=dest)
        # its methods and properties resolve on cls, its fields' on theirs
        self.classes[out.id] = funcs.ObjArg(cls, tuple(
            (k, self.classes[v.id]) for k, v in zip(keys, values)
            if isinstance(v, ir.Name) and v.id in self.classes))
        return out

    def make_object(self, cls, node, dest, text):
        """`Cls(a, b)` of a plain class of the user's: the record of what its `__init__`
        assigns to self (`record_of(Cls, ('W', 'b'), Cls_fields(a, b))`, Cls_fields srcad's
        copy of `__init__` returning those attributes: funcs.init_fields), so the object
        is a container of its attributes and its methods resolve on Cls."""
        from .rules.containers import MAKE_RECORD
        from .rules.core import GETITEM
        made = funcs.init_fields(cls)
        for klass in cls.__mro__[:-1]:      # its __init__ and those super().__init__ runs
            init = vars(klass).get("__init__")
            if isinstance(init, types.FunctionType) and made.fields is not None:
                _depends_on(init)
                self.p.members[(klass, "__init__")] = init
        args = [self.arg(a) for a in node.args]
        kwargs = {k.arg: self.arg(k.value) for k in node.keywords}
        # a function value given (Dense(W, act=np.tanh), Stack((np.tanh, np.sin))) becomes
        # the function object itself, stored as data; srcad knows which function each field
        # holds (funcs.FuncArg) where __init__ stores its parameter as it is (self.act = act)
        given = {}                  # atom name -> what it holds (FuncArg, ObjArg of them)
        funcs_given = []
        exprs = list(node.args) + [k.value for k in node.keywords]
        values = args + list(kwargs.values())
        for k, (a, e) in enumerate(zip(values, exprs)):
            if not isinstance(a, (FuncVal, FuncList)):
                continue
            const = self.function_constant(a, e)
            if const is None:
                funcs_given.append(a.label)
                reads = self.captured_names(a)
                if reads:
                    what = "a lambda" if isinstance(e, gast.Lambda) else f"{a.label}"
                    raise self.error(UnsupportedSyntaxError, f"{text}(): {what} reading the "
                                     f"local variable{'s' if len(reads) > 1 else ''} "
                                     f"{', '.join(map(repr, reads))} of {self.tree.name}() "
                                     "cannot be stored in an object (srcad stores only "
                                     "functions it knows when it builds the derivative); "
                                     f"pass {', '.join(reads)} to the function where it is "
                                     "called instead, or call it here", node)
                continue
            given[const[0].id] = const[1]
            if k < len(args):
                args[k] = const[0]
            else:
                kwargs[list(kwargs)[k - len(args)]] = const[0]
        stored = {}                 # field -> what function it holds
        into = {}                   # field -> the atom holding it
        if made.fields is not None and not funcs_given:
            try:
                bound = inspect.signature(made.fields).bind(*args, **kwargs)
            except TypeError as e:
                raise self.error(UnsupportedSyntaxError, f"{text}(): {e}", node) from None
            holds = {p: given[a.id] for p, a in bound.arguments.items()
                     if isinstance(a, ir.Name) and a.id in given}
            defaults = {}           # a parameter defaulting to a function: the function
            for p in inspect.signature(made.fields).parameters.values():
                if p.name not in bound.arguments and funcs.is_function(p.default):
                    const = self.function_constant(FuncVal(p.default, label=p.name), None)
                    if const is None:
                        funcs_given.append(p.name)
                        continue
                    defaults[p.name], holds[p.name] = const
            stored = {key: holds[p] for key, p in made.passes.items() if p in holds}
            funcs_given += [f"{p}" for p in holds if p not in made.passes.values()]
            # the function goes into the object as it is, not through the copy of __init__
            # (which stores its parameter and reads it nowhere else: it gets None)
            into = {key: bound.arguments[p] if p in bound.arguments else defaults[p]
                    for key, p in made.passes.items() if p in holds}
            for p in holds:
                if p in bound.arguments:
                    bound.arguments[p] = ir.Const(None)
            args, kwargs = list(bound.args), dict(bound.kwargs)
            kwargs.update({p: ir.Const(None) for p in holds if p not in bound.arguments})
        if funcs_given:
            raise self.error(UnsupportedSyntaxError, f"{text}(): the function value "
                             f"{funcs_given[0]} would be stored in the object other than as "
                             "itself: srcad stores a function srcad knows when it builds the "
                             "derivative (a global function, np.tanh, a functools.partial of "
                             "constants, a tuple of them) by `self.act = act` in __init__; or "
                             "call the function in a method (def act(self, z): return "
                             "np.tanh(z))", node)
        if made.fields is None:
            if args or kwargs:
                raise self.error(UnsupportedSyntaxError, f"{text}() takes no arguments", node)
            values, descs = [], []
        else:
            tup = self.call_object(made.fields, args, kwargs, node, None, text)
            inner = self.classes.get(tup.id) if isinstance(tup, ir.Name) else None
            values, descs = [], []
            for k in range(len(made.keys)):
                item = into.get(made.keys[k]) or \
                    self.call_prim(GETITEM, [tup, ir.Const(k)], static=("atom", 1))
                values.append(item)
                descs.append(stored.get(made.keys[k], inner.item(k) if inner is not None and
                                        inner.container else None))
        cname = self.inject(cls.__name__, cls)
        self.reserved.add(cname)
        out = self.call_prim(MAKE_RECORD, [ir.Name(cname), ir.Const(made.keys),
                                           self.call_prim(PACK_LIST, values)], dest=dest)
        self.classes[out.id] = funcs.ObjArg(cls, tuple(
            (k, d) for k, d in zip(made.keys, descs) if d is not None))
        return out

    def constant_function_lists(self, args, node) -> list:
        """`args` with each list or tuple display of constant functions among them
        (`mlp([np.tanh, sq], x)`) passed as data, the list itself, which srcad knows the
        functions of (as it knows an argument's): the helper is built per list of
        functions, as for an argument holding one."""
        out = list(args)
        exprs = node.args if isinstance(node, gast.Call) else []
        for k, a in enumerate(out):
            if isinstance(a, FuncList) and k < len(exprs) and \
                    isinstance(exprs[k], (gast.List, gast.Tuple, gast.Name)):
                const = self.function_constant(a, exprs[k])
                if const is not None:
                    out[k] = const[0]
                    self.classes[const[0].id] = const[1]
        return out

    def captured_names(self, fv) -> list:
        """The user variables of this function a function value reads (a lambda's or
        nested def's outer variables, a partial's bound values held in variables), in
        order, each once."""
        items = fv.items.values() if isinstance(fv, FuncList) and \
            isinstance(fv.items, dict) else fv.items if isinstance(fv, FuncList) else [fv]
        out = []
        for f in items:
            if not isinstance(f, FuncVal):
                continue
            names = list(f.extras) + [a.id for a in list(f.pre) + list(f.kw.values())
                                      if isinstance(a, ir.Name)]
            for n in names:
                user = self.versions.get(n, n)
                if user in self.locals and user not in self.temp_names and user not in out:
                    out.append(user)
        return out

    def function_constant(self, fv, node):
        """A function value that is a constant (a global or library function, a
        functools.partial of constants, a list or tuple display of them) as (an atom holding
        the function object, its funcs.FuncArg or an ObjArg of them); else None."""
        if isinstance(fv, FuncList):
            cls = fv.display
            if isinstance(fv.items, dict) or cls is None:
                return None
            made = [self.function_constant(i, None) for i in fv.items]
            if any(m is None for m in made):
                return None
            pack = PACK_TUPLE if cls is tuple else PACK_LIST
            return self.call_prim(pack, [m[0] for m in made]), \
                funcs.ObjArg(cls, tuple(m[1] for m in made))
        if fv.extras or fv.tail or not funcs.is_function(fv.obj) or \
                not all(isinstance(a, ir.Const) for a in list(fv.pre) + list(fv.kw.values())):
            return None
        obj = fv.obj
        base = getattr(obj.func if isinstance(obj, functools.partial) else obj, "__name__",
                       "function")
        if fv.pre or fv.kw:
            obj = functools.partial(obj, *[a.value for a in fv.pre],
                                    **{k: a.value for k, a in fv.kw.items()})
            base += "_partial"
        elif isinstance(obj, types.FunctionType):
            # a def of yours, as a value the derivative's own derivative may store too (a
            # name bound to a def is only called)
            obj, base = functools.partial(obj), base + "_fn"
        name = self.inject(base, obj)
        self.reserved.add(name)
        return ir.Name(name), funcs.FuncArg(obj)

    def returned_desc(self, obj, args, kwargs):
        """What srcad knows of the objects user function `obj` returns when called on these
        atoms (funcs.ObjArg), from a lowering of it with their classes, or None. Only for a
        function that may return an object (it names a class, or is passed objects)."""
        if not isinstance(obj, types.FunctionType) or hasattr(obj, "__srcad_transform__"):
            return None
        code = obj.__code__
        if code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
            return None
        params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
        given = dict(zip(params, args))
        given.update({k: a for k, a in kwargs.items() if k in params})

        def kind(a):
            if isinstance(a, ir.Name) and a.id in self.classes:
                return self.classes[a.id]
            if isinstance(a, ir.Name) and a.id in self.seq_names:
                return "seq"
            return rules.ANY
        kinds = tuple(kind(given[p]) if p in given else rules.ANY for p in params)
        known = funcs.classes_of(obj)
        if not known and not any(isinstance(k, funcs.ObjArg) for k in kinds) and \
                not funcs.names_class(obj):
            return None
        return _returned(obj, kinds)

    def with_classes(self, obj, args, kwargs):
        """User function `obj` called with objects whose classes srcad knows: its copy that
        knows them too (`funcs.for_classes`), so their methods resolve inside."""
        if not isinstance(obj, types.FunctionType) or hasattr(obj, "__srcad_transform__"):
            return obj
        code = obj.__code__
        params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
        given = list(zip(params, args)) + [(k, a) for k, a in kwargs.items() if k in params]
        classes = {p: self.classes[a.id] for p, a in given
                   if isinstance(a, ir.Name) and a.id in self.classes}
        if not classes:
            return obj
        _depends_on(obj)
        return funcs.for_classes(obj, classes)

    def replace_record(self, node, dest, text):
        """`p._replace(W=w)` of a NamedTuple, `dataclasses.replace(m, W=w)` of a dataclass,
        whose class srcad knows (an argument's, a record the function built): the record
        `Cls(W=w, b=p.b)`, the fields not given read from the old one."""
        named_tuple = isinstance(node.func, gast.Attribute) and node.func.attr == "_replace"
        if named_tuple:
            old, extra = node.func.value, node.args
        else:
            old, extra = (node.args[0] if node.args else None), node.args[1:]
        desc = self.desc_of(old) if old is not None else None
        cls = desc.cls if desc is not None and not desc.container else None
        if cls is None or extra or any(k.arg is None for k in node.keywords) or not (
                issubclass(cls, tuple) and hasattr(cls, "_fields") if named_tuple else
                dataclasses.is_dataclass(cls)):
            raise self.error(UnsupportedSyntaxError, f"{text}() of "
                             f"{_describe(old) if old is not None else 'nothing'}: srcad "
                             "replaces fields of a NamedTuple or dataclass argument, or of one "
                             "the function built, given by keyword", node)
        given = {k.arg: k.value for k in node.keywords}
        fields = cls._fields if not dataclasses.is_dataclass(cls) else \
            [f.name for f in dataclasses.fields(cls) if f.init]
        unknown = set(given) - set(fields)
        if unknown:
            raise self.error(UnsupportedSyntaxError, f"{text}(): {cls.__name__} has no field "
                             f"{sorted(unknown)[0]!r}", node)
        keywords = [gast.keyword(arg=f, value=given[f] if f in given else gast.copy_location(
            gast.Attribute(value=old, attr=f, ctx=gast.Load()), node)) for f in fields]
        made = gast.copy_location(gast.Call(func=node.func, args=[], keywords=keywords), node)
        return self.make_record(cls, made, dest, text)

    def set_item(self, target, value, line):
        """`d[k] = v` on a local list or dict (`self.containers`): `d = set_item(d, k, v)`, a
        new value, as `xs.append(v)` is; the alias analysis refuses it where another name
        may share d."""
        from .rules.containers import SET_ITEM
        name = target.value.id
        xs = self.name(target.value)
        if isinstance(target.slice, (gast.Slice, gast.Tuple)):
            raise self.error(UnsupportedSyntaxError, f"assignment to {_describe(target)}: only "
                             "one item of a list or dict may be assigned", target)
        key = self.expr(target.slice)
        self.call_prim(SET_ITEM, [xs, key, value], dest=self.target_name(name))
        self.mark_inplace(name, xs)

    def subscript(self, node, dest):
        joined = self.index_maker(node, dest)
        if joined is not None:
            return joined
        value = self.expr(node.value)
        atoms = [value]
        layout = self.index_layout(node.slice, atoms)
        from .rules.core import GETITEM
        out = self.call_prim(GETITEM, atoms, static=layout, dest=dest)
        return self.known_item(out, value, atoms[1]) if layout == ("atom", 1) else out

    def index_layout(self, sl, atoms):
        """The layout of index `sl`, its atoms appended to `atoms` (positions into it)."""
        def part(e):
            if isinstance(e, gast.Slice):
                ks = []
                for b in (e.lower, e.upper, e.step):
                    if b is None:
                        ks.append(None)
                    else:
                        atoms.append(self.expr(b))
                        ks.append(len(atoms) - 1)
                return ("slice", *ks)
            if isinstance(e, gast.Constant) and e.value is None:
                return ("none",)
            if isinstance(e, gast.Constant) and e.value is Ellipsis:
                return ("ellipsis",)
            atoms.append(self.expr(e))
            return ("atom", len(atoms) - 1)
        return ("tuple", [part(e) for e in sl.elts]) if isinstance(sl, gast.Tuple) else part(sl)

    def index_maker(self, node, dest):
        """`np.r_[a, b[1:], 0:3]`, `np.c_[...]`: a global object whose indexing has a rule
        (keyed `("index", obj)`) takes the items as a list (slices as slice objects); None
        for any other subscript."""
        root = node.value
        while isinstance(root, gast.Attribute):
            root = root.value
        if not isinstance(root, gast.Name) or root.id in self.locals:
            return None
        rule = rules.lookup(("index", self.callee(node.value)))
        if rule is None:
            return None
        items = []
        for e in node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]:
            if isinstance(e, gast.Slice):
                bounds = [ir.Const(None) if b is None else self.expr(b)
                          for b in (e.lower, e.upper, e.step)]
                items.append(self.call_prim(builtins.slice, bounds))
            elif isinstance(e, gast.Constant) and isinstance(e.value, str):
                raise self.error(UnsupportedSyntaxError, f"{_describe(node.value)}[...] with a "
                                 f"directive string ({e.value!r}) is not supported", node)
            else:
                items.append(self.expr(e))
        return self.call_prim(rule, [self.call_prim(PACK_LIST, items)], dest=dest)

    def attribute(self, node, dest):
        obj = self.callee(node)
        if obj is None and self.module_attribute(node):
            return ir.Const(None)                   # np.newaxis
        if isinstance(obj, type) and self.module_attribute(node) and _numpy_ref(obj) is None:
            name = self.inject(obj.__name__, obj)       # np.ndarray in isinstance(x, ...)
            self.reserved.add(name)                     # a free name of the function
            return ir.Name(name)
        if obj is not None:
            root = node.value
            while isinstance(root, gast.Attribute):
                root = root.value
            if not isinstance(self.p.resolve(root.id), types.ModuleType):
                # an attribute of an object (a bound method's self): a constant, read live
                return self.call_prim(_LiveAttr(node.attr), [self.expr(node.value)], dest=dest)
            if isinstance(obj, (int, float, complex)) and not isinstance(obj, bool):
                return ir.Const(obj)                # math.pi, np.e, module constants
            ref = _numpy_ref(obj)
            if ref is not None:
                return ir.Const(ref)                # np.float32, np.newaxis, np.inf ...
            raise self.error(UnsupportedSyntaxError, f"{_describe(node)} used as a value is not "
                             "supported", node)
        found = self.member(node, called=False)
        if found is not None and found[0] == "property":    # of an object of a known class
            kind, func, cls, _ = found
            return self.call_object(func, [self.expr(node.value)], {}, node, dest,
                                    _describe(node))
        if isinstance(self.stored(node.value), funcs.FuncArg):
            # `self.act.keywords` of a partial an object holds: a constant, read live
            return self.call_prim(_LiveAttr(node.attr), [self.expr(node.value)], dest=dest)
        rule = rules.lookup(("attr", node.attr))
        value = self.expr(node.value)
        if rule is not None:
            return self.call_prim(rule, [value], dest=dest)
        # a field of a local container (a dataclass, NamedTuple or object): differentiated
        # field by field (an array's attribute without a rule is refused: check_rules)
        from .rules.containers import GETATTR
        return self.known_item(self.call_prim(GETATTR, [value, ir.Const(node.attr)], dest=dest),
                               value, ir.Const(node.attr))


_KNOWN_FUNCTIONS = ("srcad calls the functions it knows when it builds the derivative (a "
                    "lambda, a def, a functools.partial, a srcad transform, a function your "
                    "helper returns by one return at its end, a method of an object whose "
                    "class the arguments show, and which no if/for/while may have "
                    "rebound to an object of another class)")


# statement type -> the _Lowerer method lowering it (`visit_If` lowers gast.If)
_VISITORS = {getattr(gast, name[len("visit_"):]): method for name, method in vars(_Lowerer).items()
             if name.startswith("visit_")}


def _gname(name: str):
    return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)


def _substitute(expr, var: str, value):
    """`expr` with each read of `var` the constant `value` (not inside a lambda's body)."""
    class Sub(gast.NodeTransformer):
        def visit_Name(self, n):
            if n.id != var:
                return n
            return gast.copy_location(gast.Constant(value=value, kind=None), n)

        def visit_Lambda(self, n):
            n.args.defaults = [self.visit(d) for d in n.args.defaults]
            return n
    return Sub().visit(expr)


_UNROLL_MAX = 64       # the most iterations a loop making functions is unrolled for


class _Taken:
    """A nested def's default that is no constant: the atom holding its value, taken where
    the def stands."""

    def __init__(self, atom):
        self.atom = atom


def _default_atom(value):
    return value.atom if isinstance(value, _Taken) else ir.Const(value)


_RETURNED: dict = {}
# (file, line, source, globals, classes before) -> a class a differentiated function defines
_LOCAL_CLASSES: dict = {}


def _returned(func, kinds):
    """The ObjArg every return of user function `func` lowered with `kinds` returns, or
    None (memoised; None while it is lowered, for a recursion)."""
    key = (func, func.__code__, kinds)
    try:
        if key in _RETURNED:
            return _RETURNED[key]
    except TypeError:
        return None
    _RETURNED[key] = None
    from .frontend import parse
    from .errors import SrcadError
    try:
        low = _Lowerer(parse(func))
        low.seq_names |= {p for p, k in zip(low.params, kinds)
                          if k in ("seq", "seq:seqs") or isinstance(k, funcs.ObjArg)}
        low.classes.update({p: k for p, k in zip(low.params, kinds)
                            if isinstance(k, funcs.ObjArg)})
        low.run()
    except SrcadError:
        return None
    found = low.returned
    desc = found[0] if found and found[0] is not None and all(d == found[0] for d in found) \
        else None
    _RETURNED[key] = desc
    return desc


_MUTATORS = {"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
             "update", "setdefault", "popitem", "fill", "resize", "put", "itemset", "add",
             "discard"}


def _changed_in_place(tree) -> set:
    """Names whose value `tree` changes in place: `x[i] = v`, `x += v`, `x.attr = v`,
    `x.append(v)` and the other mutating methods."""
    out = set()

    def base(t):
        while isinstance(t, (gast.Subscript, gast.Attribute)):
            t = t.value
        return t.id if isinstance(t, gast.Name) else None
    for n in gast.walk(tree):
        if isinstance(n, gast.Assign):
            out |= {base(t) for t in n.targets if isinstance(t, (gast.Subscript, gast.Attribute))}
        elif isinstance(n, gast.AugAssign):
            out.add(base(n.target))
        elif isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute) and \
                n.func.attr in _MUTATORS:
            out.add(base(n.func.value))
    return out - {None}


def _depends_on(func):
    """The derivative being built depends on `func`'s code and defaults (it was copied)."""
    from . import pipeline                # (the pipeline imports this module)
    pipeline.depends_on(func)


class _NotStatic(Exception):
    """An argument of a transform called on the spot that is not a build-time constant."""


def _local_containers(fn, params: set, own=None) -> set:
    """Local names every assignment binds to a new list or dict (a display, `[v] * n`, a
    comprehension, `dict(...)`, `list(...)`, or set_item's value form of `d[k] = v`): item assignment on
    them is differentiated as a new value."""
    displays = (gast.Dict, gast.List, gast.ListComp, gast.DictComp)
    made, other = set(), set(params)
    for n in walk_own(fn) if own is None else own:     # (own: list(walk_own(fn)))
        if isinstance(n, (gast.AugAssign, gast.For, gast.AnnAssign)) or \
                isinstance(n, gast.Assign) and len(n.targets) != 1:
            targets = [n.target] if not isinstance(n, gast.Assign) else n.targets
            other |= {t.id for tg in targets for t in gast.walk(tg) if isinstance(t, gast.Name)}
        elif isinstance(n, gast.Assign):
            t, v = n.targets[0], n.value
            if not isinstance(t, gast.Name):
                if not isinstance(t, gast.Subscript):
                    other |= {x.id for x in gast.walk(t) if isinstance(x, gast.Name) and
                              isinstance(x.ctx, gast.Store)}
                continue
            if isinstance(v, gast.BinOp) and isinstance(v.op, gast.Mult) and \
                    isinstance(v.left, gast.List):
                v = v.left                             # [0.0] * n: a new list too
            fresh = isinstance(v, displays) or isinstance(v, gast.Call) and \
                isinstance(v.func, gast.Name) and v.func.id in ("dict", "list")
            (made if fresh else other).add(t.id)
    return made - other


def _picked(s, picks):
    """Statement `s` reading `seq[key]` where it reads a variable `picks` maps to (seq, key),
    in the expressions it evaluates itself (its blocks' statements are lowered one by one,
    each when it comes); `s` itself when it reads none."""
    exprs = idioms.own_exprs(s)
    if not any(isinstance(n, gast.Name) and n.id in picks and isinstance(n.ctx, gast.Load)
               for e in exprs for n in gast.walk(e)):
        return s
    out = copy.copy(s)
    for field, v in gast.iter_fields(s):
        if isinstance(v, gast.expr):
            setattr(out, field, _substituted(copy.deepcopy(v), picks))
        elif isinstance(v, list) and any(isinstance(e, gast.AST) and
                                         not isinstance(e, gast.stmt) for e in v):
            setattr(out, field, [_substituted(copy.deepcopy(e), picks)
                                 if isinstance(e, gast.AST) and not isinstance(e, gast.stmt)
                                 else e for e in v])
    return out


def _substituted(node, picks):
    """`node` with each load of a variable `picks` maps to (seq, key) read as `seq[key]`."""
    def sub(child):
        seq, key = picks[child.id]
        return gast.copy_location(gast.Subscript(
            value=gast.copy_location(idioms._name(seq), child),
            slice=gast.copy_location(idioms._name(key), child), ctx=gast.Load()), child)
    return _replace_loads(node, set(picks), sub)


def _with_constant(stmts, name, value) -> list:
    """A copy of `stmts` reading the constant `value` where they read `name`."""
    def const(child):
        return gast.copy_location(gast.Constant(value=value, kind=None), child)
    return [_replace_loads(st, {name}, const) for st in copy.deepcopy(stmts)]


_COMPREHENSIONS = (gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp)


def _replace_loads(node, names: set, make):
    """`node` (changed in place) with each load of a variable among `names` replaced by
    `make(that Name)`; not inside a lambda or def (which read the variable when called)
    nor where a comprehension binds the name to a variable of its own."""
    if not names or not isinstance(node, gast.AST):
        return node
    if isinstance(node, gast.Name):
        return make(node) if node.id in names and isinstance(node.ctx, gast.Load) else node
    if isinstance(node, (gast.Lambda, gast.FunctionDef)):
        return node
    if isinstance(node, _COMPREHENSIONS):
        bound = {t.id for g in node.generators for t in gast.walk(g.target)
                 if isinstance(t, gast.Name)}
        if bound & names:
            inner = names - bound
            for k, g in enumerate(node.generators):
                # the first iterable is evaluated outside the comprehension's scope
                g.iter = _replace_loads(g.iter, names if k == 0 else inner, make)
                g.ifs = [_replace_loads(c, inner, make) for c in g.ifs]
            for field in ("elt", "key", "value"):
                if hasattr(node, field):
                    setattr(node, field, _replace_loads(getattr(node, field), inner, make))
            return node
    for field, old in gast.iter_fields(node):
        if isinstance(old, list):
            setattr(node, field, [_replace_loads(c, names, make) for c in old])
        elif isinstance(old, gast.AST):
            setattr(node, field, _replace_loads(old, names, make))
    return node


def _rebound_names(stmts):
    """The user variables `stmts` may rebind (assignments, `xs.append`, `xs.pop()`), and
    those of them it grows or shrinks as lists."""
    rebound, grown = set(), set()
    for node in walk_own(gast.Module(body=stmts, type_ignores=[])):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            rebound.add(node.id)
        elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and \
                node.func.attr in ("append", "pop") and isinstance(node.func.value, gast.Name):
            rebound.add(node.func.value.id)
            grown.add(node.func.value.id)
    return rebound, grown


def _shift(layout, k):
    """An index layout whose atom positions are moved up by `k`."""
    def part(item):
        if item[0] == "atom":
            return ("atom", item[1] + k)
        if item[0] == "slice":
            return ("slice", *(None if j is None else j + k for j in item[1:]))
        return item
    return ("tuple", [part(i) for i in layout[1]]) if layout[0] == "tuple" else part(layout)


def _numpy_ref(obj):
    """`np.<name>` for NumPy's dtypes and scalar types, which generated code can name."""
    import numpy as np
    if isinstance(obj, type) and issubclass(obj, np.generic) and \
            getattr(np, obj.__name__, None) is obj:
        return ir.Ref(f"np.{obj.__name__}")
    return None


def _stored(s) -> set:
    """The user variables statement `s` assigns (in its nested statements too)."""
    return {n.id for n in nodes(s) if isinstance(n, gast.Name) and
            isinstance(n.ctx, gast.Store)}


def _self_replaced(s) -> set:
    """The variables `s` assigns only as records replaced from themselves."""
    out, other = set(), set()
    for n in nodes(s):          # (asked of every statement: ast.walk is slower)
        if isinstance(n, (gast.Assign, gast.AnnAssign, gast.AugAssign, gast.For,
                          gast.comprehension)):
            targets = n.targets if isinstance(n, gast.Assign) else [n.target]
            value = getattr(n, "value", None) if isinstance(n, (gast.Assign, gast.AnnAssign)) \
                else None
            for t in targets:
                names = {m.id for m in nodes(t) if isinstance(m, gast.Name)}
                ok = isinstance(t, gast.Name) and isinstance(value, gast.Call) and (
                    isinstance(value.func, gast.Attribute) and value.func.attr == "_replace"
                    and isinstance(value.func.value, gast.Name) and value.func.value.id == t.id
                    or _describe(value.func) in ("dataclasses.replace", "replace") and
                    value.args and isinstance(value.args[0], gast.Name) and
                    value.args[0].id == t.id)
                (out if ok else other).update(names)
    return out - other


def _function_defaulted(obj, nargs: int, kwargs) -> bool:
    """Whether a call of user function `obj` leaves a parameter whose default is a function
    (`def predict(params, x, act=relu)`) to its default: the call is then specialised on it."""
    if not isinstance(obj, types.FunctionType) or hasattr(obj, "__srcad_transform__"):
        return False
    try:
        params = list(inspect.signature(obj).parameters.values())[nargs:]
    except (TypeError, ValueError):
        return False
    return any(p.name not in kwargs and funcs.is_function(p.default) for p in params)


def _holds_object(d) -> bool:
    """Whether funcs.ObjArg `d` describes or holds an object of a class of the user's."""
    if not isinstance(d, funcs.ObjArg):
        return False
    if not d.container:
        return True
    return any(_holds_object(v[1] if d.cls is dict else v) for v in d.items)


def _const_int(node):
    """The int a constant index `3` or `-1` is, else None."""
    if isinstance(node, gast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub) and \
            isinstance(node.operand, gast.Constant) and type(node.operand.value) is int:
        return -node.operand.value
    return None


def _sliced(d, sl):
    """The funcs.ObjArg of `xs[a:b:c]` (constant bounds) of a list or tuple `d`
    describes, or None."""
    bounds = []
    for b in (sl.lower, sl.upper, sl.step):
        k = _const_int(b) if b is not None else None
        if b is not None and k is None:         # layers[:n]: of any length, alike or none
            u = d.uniform()
            return None if u is None else funcs.ObjArg(d.cls, (u,), each=True)
        bounds.append(k)
    if d.each:                  # a list of any length, every item alike
        return d if bounds[2] is None or bounds[2] != 0 else None
    if bounds[2] == 0:
        return None
    return funcs.ObjArg(d.cls, d.items[slice(*bounds)])


def _chain(node) -> tuple:
    """The attribute names of `a.b.c` after its root name: ('b', 'c')."""
    attrs = []
    while isinstance(node, gast.Attribute):
        attrs.append(node.attr)
        node = node.value
    return tuple(reversed(attrs))


def _out_name(call) -> str | None:
    """The local name a call passes as out= (`out=y` or `out=(y,)`), else None."""
    for k in call.keywords:
        if k.arg == "out":
            v = k.value
            if isinstance(v, gast.Tuple) and len(v.elts) == 1:
                v = v.elts[0]
            return v.id if isinstance(v, gast.Name) else None
    return None


def _masked_form(obj):
    """The MaskedRule form (`out=..., where=...`) of `obj`'s rule, if it is a ufunc's."""
    try:
        rule = rules.lookup(obj) if obj is not None else None
    except TypeError:
        return None
    while rule is not None and not isinstance(rule, rules.MaskedRule):
        rule = rule.variant
    return rule


def _describe(node) -> str:
    try:
        return ast.unparse(gast.gast_to_ast(node))
    except Exception:  # pragma: no cover - only for messages
        return type(node).__name__


# ---------------------------------------------------------------- returns and jumps

def _pin_tests(stmts, low) -> list:
    """`if t:` whose branch reassigns t tests a copy of t made before it: the reverse sweep
    tests it again after the branch ran (`if returned: ... else: ...; returned = True`)."""
    out = []
    for s in stmts:
        if isinstance(s, ir.If):
            s.body, s.orelse = _pin_tests(s.body, low), _pin_tests(s.orelse, low)
            if isinstance(s.test, ir.Name) and s.test.id in {
                    t for x in ir.walk(s.body + s.orelse) for t in ir.targets(x)}:
                copy = low.fresh_temp()
                out.append(ir.Assign(copy, s.test, s.line))
                s.test = ir.Name(copy)
        elif isinstance(s, (ir.For, ir.While)):
            s.body = _pin_tests(s.body, low)
        out.append(s)
    return out


def _eliminate_returns(body, lowerer, fn_node) -> list:
    """Make every path end at the function's last statement: early returns become a result
    variable (and a flag plus `break` inside loops); code after a branch that jumps moves
    into the branch that does not."""
    returns = [s for s in ir.walk(body) if isinstance(s, ir.Return)]
    if len(returns) == 1 and body and body[-1] is returns[0]:
        return _move_continuations(body, lowerer)
    if not returns:
        return _move_continuations(body, lowerer) + [ir.Return(ir.Const(None),
                                                                lowerer.p.lineno(fn_node))]
    result = lowerer.fresh_name("result")
    flag = lowerer.fresh_name("returned")
    lowerer.merge_names.update({result, flag})
    used_flag = [False]
    line = lowerer.p.lineno(fn_node)

    def rewrite(stmts, in_loop):
        out = []
        for s in stmts:
            if isinstance(s, ir.Return):
                out.append(ir.Assign(result, s.value, s.line))
                if in_loop:
                    used_flag[0] = True
                    out += [ir.Assign(flag, ir.Const(True), s.line), ir.Break(s.line)]
                else:
                    out.append(_Exit(s.line))
                return out
            if isinstance(s, ir.If):
                s.body, s.orelse = rewrite(s.body, in_loop), rewrite(s.orelse, in_loop)
                out.append(s)
            elif isinstance(s, (ir.For, ir.While)):
                had = any(isinstance(x, ir.Return) for x in ir.walk(s.body))
                s.body = rewrite(s.body, True)
                out.append(s)
                if had:
                    out.append(ir.If(ir.Name(flag), [ir.Break(s.line) if in_loop else _Exit(s.line)],
                                     [], s.line))
            else:
                out.append(s)
        return out

    body = rewrite(body, False)
    if not _always_jumps(body):
        body.append(ir.Assign(result, ir.Const(None), line))    # falling off the end
    body = _move_continuations(body, lowerer)
    _strip_exits(body)
    # a return inside a loop: the result is read after the loop on paths a flag tells
    init = [ir.Assign(flag, ir.Const(False), line), ir.Assign(result, ir.Const(None), line)] \
        if used_flag[0] else []
    return init + body + [ir.Return(ir.Name(result), line)]


class _Exit:
    """Marks the end of a path through the function (a former `return`)."""

    def __init__(self, line):
        self.line = line


_JUMPS = (ir.Break, ir.Continue, _Exit)


def _always_jumps(block) -> bool:
    if not block:
        return False
    last = block[-1]
    if isinstance(last, _JUMPS):
        return True
    return isinstance(last, ir.If) and _always_jumps(last.body) and _always_jumps(last.orelse)


def _may_jump(s) -> bool:
    if isinstance(s, _JUMPS):
        return True
    if isinstance(s, ir.If):
        return any(_may_jump(x) for x in s.body + s.orelse)
    return False


def _move_continuations(block, lowerer) -> list:
    """Statements after a branch that may jump move into its branches that fall through."""
    out = []
    for i, s in enumerate(block):
        if isinstance(s, (ir.For, ir.While)):
            s.body = _move_continuations(s.body, lowerer)
        if isinstance(s, ir.If):
            s.body = _move_continuations(s.body, lowerer)
            s.orelse = _move_continuations(s.orelse, lowerer)
        out.append(s)
        if isinstance(s, _JUMPS):
            return out                                  # the rest is unreachable
        rest = block[i + 1:]
        if isinstance(s, ir.If) and _may_jump(s) and rest:
            _append_continuation(s, _move_continuations(rest, lowerer), lowerer, first=True)
            return out
    return out


def _append_continuation(s, rest, lowerer, first):
    for block in (s.body, s.orelse):
        if _always_jumps(block):
            continue
        tail = rest if first else _renamed_copy(rest, lowerer)
        first = False
        if block and isinstance(block[-1], ir.If) and _may_jump(block[-1]):
            _append_continuation(block[-1], tail, lowerer, first=True)
        else:
            block.extend(tail)


def _renamed_copy(stmts, lowerer) -> list:
    """A copy of `stmts` whose temporaries get fresh names (they stay assigned once)."""
    # the primitives are shared, not copied: passes recognise them by identity
    keep = {id(s.value.prim): s.value.prim for s in ir.walk(stmts)
            if isinstance(s, ir.Assign) and isinstance(s.value, ir.Call)}
    stmts = copy.deepcopy(stmts, keep)
    mapping = {}
    for s in ir.walk(stmts):
        for t in ir.targets(s):
            if t in lowerer.temp_names and t not in mapping:
                mapping[t] = lowerer.fresh_temp()

    def atom(a):
        return ir.Name(mapping.get(a.id, a.id)) if isinstance(a, ir.Name) else a
    for s in ir.walk(stmts):
        if isinstance(s, ir.Assign):
            s.target = tuple(mapping.get(t, t) for t in s.target) if isinstance(s.target, tuple) \
                else mapping.get(s.target, s.target)
            v = s.value
            if isinstance(v, ir.Call):
                v.args = [atom(a) for a in v.args]
                v.kwargs = {k: atom(a) for k, a in v.kwargs.items()}
            else:
                s.value = atom(v)
        elif isinstance(s, ir.If):
            s.test = atom(s.test)
        elif isinstance(s, ir.For):
            s.target = mapping.get(s.target, s.target)
            s.iter = atom(s.iter)
        elif isinstance(s, ir.Return):
            s.value = atom(s.value)
    return stmts


def _strip_exits(block):
    block[:] = [s for s in block if not isinstance(s, _Exit)]
    for s in block:
        for b in ir.blocks(s):
            _strip_exits(b)
