"""Lowering pass: a gast function to SSA three-address form (`ir.Function`).

Each expression becomes one statement per operation on atoms; temporaries are
`v0, v1, ...`. A user's variable keeps its name; reassigned at the top level it
gets a new version (`x`, `x_1`, ...), reassigned inside control flow it keeps its
name. `for` loops become loops over a `range` object (`for x in xs` reads
`xs[i]`), `while c:` becomes `while True:` with a `break`, `a and b` and
`a if c else b` become branches, and early returns become a result variable
plus `break`s, so each path through the function ends at its last statement.
"""
from __future__ import annotations

import ast
import builtins
import copy
import operator
import textwrap
import types

import gast

from . import ir, rules
from .errors import NonDifferentiableError, UnsupportedSyntaxError
from .frontend import Parsed

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


class _Opaque:
    """A call kept for its side effect only (`print`): runs once, never differentiated."""

    def __init__(self, name):
        self.name, self.differentiable, self.kind = name, False, rules.NONE

    def emit(self, args, kwargs, static, names):
        return ast.Call(func=ast.Name(id=self.name, ctx=ast.Load()), args=list(args),
                        keywords=[ast.keyword(arg=k, value=v) for k, v in kwargs.items()])


def lower(parsed: Parsed) -> ir.Function:
    """Lower a parsed function to SSA form."""
    return _Lowerer(parsed).run()


class _Lowerer:
    def __init__(self, parsed: Parsed):
        self.p = parsed
        self.tree = parsed.tree
        self.temps = 0
        self.merges = 0
        self.cse: dict = {}
        self.temp_names: set = set()
        self.version: dict = {}          # user variable -> its current SSA name
        self.depth = 0                   # control-flow nesting
        self.loops = 0
        self.injected: dict = {}         # emitted name -> object (user callees)
        self.merge_names: set = set()
        self.loop_returns = False

    # ------------------------------------------------------------ names
    def error(self, cls, msg, node):
        return cls(msg, self.p.filename, self.p.lineno(node))

    def fresh_temp(self) -> str:
        while True:
            name = f"v{self.temps}"
            self.temps += 1
            if name not in self.reserved:
                self.temp_names.add(name)
                return name

    def fresh_merge(self) -> str:
        """A variable several branches assign (an SSA phi): `phi0, phi1, ...`."""
        while True:
            name = f"phi{self.merges}"
            self.merges += 1
            if name not in self.reserved:
                self.used_versions.add(name)
                return name

    def fresh_name(self, base: str) -> str:
        name, k = base, 0
        while name in self.reserved or name in self.used_versions:
            k += 1
            name = f"{base}_{k}"
        self.used_versions.add(name)
        return name

    def run(self) -> ir.Function:
        fn = self.tree
        args = fn.args
        if args.vararg or args.kwarg:
            raise self.error(UnsupportedSyntaxError, "*args and **kwargs parameters are not "
                             "supported; list the parameters explicitly", fn)
        params = [a.id for a in list(getattr(args, "posonlyargs", []) or []) + list(args.args)
                  + list(args.kwonlyargs)]
        self.locals = set(params)
        for node in _walk_own(fn):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                self.locals.add(node.id)
        self.nested_defs: dict = {}
        self.reserved = set(self.locals) | {n.id for n in gast.walk(fn) if isinstance(n, gast.Name)}
        self.reserved |= set(rules.runtime_namespace())
        self.used_versions = set(params)
        self.version = {p: p for p in params}
        body = self.block(fn.body)
        body = _eliminate_returns(body, self, fn)
        out = ir.Function(name=fn.name, params=params, body=body, filename=self.p.filename,
                          firstline=self.p.lineno(fn), source_lines=self.p.source_lines,
                          env=self.p)
        out.injected = self.injected
        out.merge_names = self.merge_names
        out.temps = self.temp_names
        out.reserved = self.reserved | set(self.used_versions)
        self.p.free_names = {n for n in self.reserved
                             if n not in self.locals and n not in self.used_versions}
        return out

    # ------------------------------------------------------------ statements
    def block(self, stmts) -> list:
        saved, self.body = getattr(self, "body", None), []
        for s in stmts:
            self.stmt(s)
        out, self.body = self.body, saved
        return out

    def nested(self, stmts, loop=False) -> list:
        self.depth += 1
        self.loops += loop
        try:
            return self.block(stmts)
        finally:
            self.depth -= 1
            self.loops -= loop

    def emit(self, s):
        self.body.append(s)

    def stmt(self, s):
        line = self.p.lineno(s)
        if not self.depth and isinstance(s, (gast.If, gast.For, gast.While, gast.FunctionDef)):
            self.cse.clear()                      # names may be reassigned in there
        if isinstance(s, gast.Expr):
            if isinstance(s.value, gast.Constant):
                return                               # a docstring
            if isinstance(s.value, gast.Call):
                func = s.value.func
                if isinstance(func, gast.Attribute) and func.attr == "append" and \
                        isinstance(func.value, gast.Name) and func.value.id in self.locals:
                    if len(s.value.args) != 1 or s.value.keywords:
                        raise self.error(UnsupportedSyntaxError, "list.append takes one argument",
                                         s)
                    from .rules.core import LIST_APPEND
                    xs = self.name(func.value)
                    v = self.expr(s.value.args[0])
                    self.call_prim(LIST_APPEND, [xs, v], dest=self.target_name(func.value.id))
                    self.mark_inplace(func.value.id, xs)
                    return
                self.expr(s.value, statement=True)
                return
            what = _CONSTRUCT_NAMES.get(type(s.value))
            if what:
                raise self.error(UnsupportedSyntaxError, f"{what} is not supported in a "
                                 "differentiated function", s)
            raise self.error(UnsupportedSyntaxError, "an expression statement that is not a call "
                             "has no effect; remove it", s)
        if isinstance(s, gast.Assign):
            if len(s.targets) == 1:
                self.assign(s.targets[0], s.value, line)
            else:
                a = self.expr(s.value)
                for t in s.targets:
                    self.assign_atom(t, a, line)
        elif isinstance(s, gast.AnnAssign):
            if s.value is None:
                return
            self.assign(s.target, s.value, line)
        elif isinstance(s, gast.AugAssign):
            if not isinstance(s.target, gast.Name):
                raise self.error(UnsupportedSyntaxError, "augmented assignment to "
                                 f"{_describe(s.target)} mutates it in place; srcad supports only "
                                 "`name op= value`", s)
            load = gast.Name(id=s.target.id, ctx=gast.Load(), annotation=None, type_comment=None)
            value = gast.BinOp(left=load, op=s.op, right=s.value)
            gast.copy_location(value, s)
            old = self.name(load)
            self.assign(s.target, value, line)
            self.mark_inplace(s.target.id, old)
        elif isinstance(s, gast.Return):
            a = self.expr(s.value) if s.value is not None else ir.Const(None)
            self.emit(ir.Return(a, line))
        elif isinstance(s, gast.If):
            test = self.expr(s.test)
            self.emit(ir.If(test, self.nested(s.body), self.nested(s.orelse), line))
        elif isinstance(s, gast.For):
            self.for_(s, line)
        elif isinstance(s, gast.While):
            if s.orelse:
                raise self.error(UnsupportedSyntaxError, "while/else is not supported", s)
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
        elif isinstance(s, gast.Break):
            self.emit(ir.Break(line))
        elif isinstance(s, gast.Continue):
            self.emit(ir.Continue(line))
        elif isinstance(s, gast.Pass):
            pass
        elif isinstance(s, gast.FunctionDef):
            self.lift(s)
        else:
            what = _CONSTRUCT_NAMES.get(type(s), type(s).__name__)
            raise self.error(UnsupportedSyntaxError, f"{what} is not supported in a "
                             "differentiated function", s)

    def mark_inplace(self, name, old):
        """The statement that just wrote user variable `name` changes `old` in place in Python
        (so values computed earlier from anything sharing it may be stale: no reuse)."""
        self.cse.clear()
        new = self.version[name]
        for st in reversed(self.body):
            if isinstance(st, ir.Assign) and st.target == new:
                st.inplace_of = old.id
                break

    def lift(self, node):
        """A nested `def g(...)`: compile it as a helper whose extra trailing parameters are
        the enclosing function's variables it reads (passed at each call, as Python reads
        them when g runs); calls of `g` become calls of that helper."""
        if node.decorator_list:
            raise self.error(UnsupportedSyntaxError, "a decorated nested def is not supported",
                             node.decorator_list[0])
        args = node.args
        own = {a.id for a in list(args.args) + list(args.kwonlyargs)} | \
            {n.id for n in _walk_own(node) if isinstance(n, gast.Name)
             and isinstance(n.ctx, gast.Store)}
        outer = self.locals | set(self.p.closure)
        extras = sorted({n.id for n in gast.walk(node) if isinstance(n, gast.Name)
                         and isinstance(n.ctx, gast.Load) and n.id in outer and n.id not in own})
        lifted = copy.deepcopy(node)
        lifted.args.args = list(args.args) + [
            gast.Name(id=x, ctx=gast.Param(), annotation=None, type_comment=None) for x in extras]
        try:
            defaults = tuple(ast.literal_eval(gast.gast_to_ast(d)) for d in args.defaults)
        except ValueError:
            raise self.error(UnsupportedSyntaxError, "a nested def's defaults must be constants",
                             node) from None
        lifted.args.defaults = []
        tree = gast.gast_to_ast(gast.Module(body=[lifted], type_ignores=[]))
        line = self.p.lineno(node)
        text = "\n" * (line - 1) + textwrap.dedent(ast.unparse(tree)) + "\n"
        code = compile(text, self.p.filename, "exec")
        fcode = next(c for c in code.co_consts if isinstance(c, types.CodeType))
        func = types.FunctionType(fcode, self.p.globals, node.name, defaults or None)
        if defaults:                       # defaults belong to g's own trailing parameters
            func.__defaults__ = None
        from .frontend import GENERATED
        GENERATED[fcode] = text
        self.nested_defs[node.name] = (func, extras, defaults, len(args.args))

    def nested_call(self, node, dest):
        func, extras, defaults, nparams = self.nested_defs[node.func.id]
        args = [self.expr(a) for a in node.args]
        kwargs = {k.arg: self.expr(k.value) for k in node.keywords}
        names = [a.id for a in self.nested_defs_params(node.func.id)]
        for k, name in enumerate(names[len(args):nparams]):
            if name in kwargs:
                args.append(kwargs.pop(name))
            elif k + len(args) >= nparams - len(defaults):
                args.append(ir.Const(defaults[k + len(args) - (nparams - len(defaults))]))
            else:
                raise self.error(UnsupportedSyntaxError, f"{node.func.id}() is missing "
                                 f"argument {name!r}", node)
        if kwargs:
            raise self.error(UnsupportedSyntaxError, f"{node.func.id}() got unexpected keyword "
                             f"arguments {sorted(kwargs)}", node)
        args += [self.name(gast.Name(id=x, ctx=gast.Load(), annotation=None, type_comment=None))
                 for x in extras]
        if node.func.id not in self.injected or self.injected[node.func.id] is not func:
            self.injected[node.func.id] = func
        return self.call_prim(UserCall(func, node.func.id), args, dest=dest)

    def nested_defs_params(self, name):
        func = self.nested_defs[name][0]
        code = func.__code__
        return [gast.Name(id=n, ctx=gast.Param(), annotation=None, type_comment=None)
                for n in code.co_varnames[:code.co_argcount]]

    def new_target(self, name: str) -> str:
        """The SSA name an assignment to user variable `name` writes: a new version at the
        top level, the variable itself inside control flow."""
        if name in self.version and self.depth:
            return self.version[name]
        base = name + "_" if name in rules.runtime_namespace() else name
        new = base if base not in self.used_versions and base not in self.version.values() \
            else self.fresh_name(base)
        self.used_versions.add(new)
        return new

    def target_name(self, name: str) -> str:
        new = self.new_target(name)
        self.version[name] = new
        return new

    def assign(self, target, value, line):
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
        if isinstance(target, gast.Name):
            new = self.new_target(target.id)
            a = self.expr(value, dest=new)
            self.version[target.id] = new
            if a != ir.Name(new):
                self.emit(ir.Assign(new, a, line))
            return
        if isinstance(target, (gast.Tuple, gast.List)) and isinstance(value, (gast.Tuple, gast.List)) \
                and len(target.elts) == len(value.elts):
            atoms = [self.expr(v) for v in value.elts]
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
                for t, p in zip(target.elts, parts):
                    self.assign_atom(t, ir.Name(p), line)
                return
            names = tuple(self.target_name(t.id) for t in target.elts)
            self.emit(ir.Assign(names, a, line))
        else:
            raise self.error(UnsupportedSyntaxError, f"assignment to {_describe(target)} mutates "
                             "a value in place; build a new value instead (for arrays: np.where, "
                             "np.concatenate)", target)

    def for_(self, s, line):
        if s.orelse:
            raise self.error(UnsupportedSyntaxError, "for/else is not supported", s)
        it = s.iter
        func = self.callee(it.func) if isinstance(it, gast.Call) else None
        if func is builtins.range:
            if isinstance(s.target, gast.Name):
                for node in _walk_own(gast.Module(body=s.body, type_ignores=[])):
                    if isinstance(node, gast.Name) and node.id == s.target.id and \
                            isinstance(node.ctx, gast.Store):
                        raise self.error(UnsupportedSyntaxError, f"the loop variable "
                                         f"{node.id!r} is reassigned inside its for loop; use "
                                         "another name", node)
            rng = self.expr(it)
            self.emit_loop(s, line, rng, lambda i: [(s.target, ir.Name(i))], index_is_target=True)
            return
        if func is builtins.enumerate or func is builtins.zip:
            if it.keywords and func is builtins.zip:
                raise self.error(UnsupportedSyntaxError, "zip(..., strict=) is not supported", it)
            seqs = [self.expr(a) for a in it.args]
            start = ir.Const(0)
            if func is builtins.enumerate:
                if len(seqs) == 2 or it.keywords:
                    start = seqs[1] if len(seqs) == 2 else self.expr(it.keywords[0].value)
                seqs = seqs[:1]
            n = self.call_prim(builtins.len, [seqs[0]])
            for q in seqs[1:]:
                n = self.call_prim(builtins.min, [n, self.call_prim(builtins.len, [q])])
            rng = self.call_prim(builtins.range, [n])
            if not isinstance(s.target, (gast.Tuple, gast.List)) or \
                    len(s.target.elts) != len(seqs) + (func is builtins.enumerate):
                raise self.error(UnsupportedSyntaxError, f"unpack the items of {func.__name__}() "
                                 "into one name each: `for i, x in enumerate(xs)`", s)
            elts = list(s.target.elts)

            def reads(i):
                out = []
                if func is builtins.enumerate:
                    idx = ir.Name(i) if start == ir.Const(0) else \
                        self.call_prim(operator.add, [ir.Name(i), start])
                    out.append((elts.pop(0) if False else s.target.elts[0], idx))
                    rest = s.target.elts[1:]
                else:
                    rest = s.target.elts
                for t, q in zip(rest, seqs):
                    out.append((t, self.getitem(q, ir.Name(i))))
                return out
            self.emit_loop(s, line, rng, reads)
            return
        if func is builtins.reversed and len(it.args) == 1:
            from .rules.core import GETITEM
            inner = self.expr(it.args[0])             # reversed(s) reads s[::-1]
            seq = self.call_prim(GETITEM, [inner, ir.Const(-1)], static=("slice", None, None, 1))
        else:
            seq = self.expr(it)
        rng = self.call_prim(builtins.range, [self.call_prim(builtins.len, [seq])])
        self.emit_loop(s, line, rng, lambda i: [(s.target, self.getitem(seq, ir.Name(i)))])

    def emit_loop(self, s, line, rng, reads, index_is_target=False):
        self.depth += 1
        self.loops += 1
        saved, self.body = self.body, []
        if index_is_target and isinstance(s.target, gast.Name):
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
        self.emit(ir.For(index, rng, body, line))

    # ------------------------------------------------------------ expressions
    def call_prim(self, prim, args, kwargs=None, static=None, dest=None) -> ir.Name:
        rule = prim if not callable(prim) or isinstance(prim, rules.Rule) else rules.lookup(prim)
        atoms = list(args) + list((kwargs or {}).values())
        key = self.cse_key(rule, args, kwargs, static)
        if key is not None and key in self.cse:
            # the same pure operation on the same values, earlier in straight-line code
            if dest is None:
                return self.cse[key]
            self.emit(ir.Assign(dest, self.cse[key], self.line))
            return ir.Name(dest)
        name = self.fresh_temp() if dest is None or ir.Name(dest) in atoms else dest
        self.emit(ir.Assign(name, ir.Call(rule, list(args), dict(kwargs or {}), static),
                            self.line))
        if key is not None:
            self.cse[key] = ir.Name(name)
        if dest is not None and name != dest:
            self.emit(ir.Assign(dest, ir.Name(name), self.line))
            return ir.Name(dest)
        return ir.Name(name)

    def cse_key(self, rule, args, kwargs, static):
        """A key for reusing a pure rule call in top-level straight-line code, else None.
        (Top-level names are never reassigned there; control flow clears the table.)"""
        if self.depth or not isinstance(rule, rules.Rule) or rule.inplace:
            return None
        try:
            key = (id(rule), tuple(args), tuple(sorted((kwargs or {}).items())), repr(static))
            hash(key)
        except TypeError:
            return None
        return key

    def getitem(self, seq, index) -> ir.Name:
        from .rules.core import GETITEM
        return self.call_prim(GETITEM, [seq, index], static=("atom", 1))

    def expr(self, node, dest=None, statement=False) -> ir.Name | ir.Const:
        """Lower `node` to an atom; the last operation writes `dest` when given."""
        self.line = self.p.lineno(node) if hasattr(node, "lineno") else getattr(self, "line", 0)
        if isinstance(node, gast.Constant):
            return ir.Const(node.value)
        if isinstance(node, gast.Name):
            return self.name(node)
        if isinstance(node, gast.BinOp):
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
            return self.call_prim(op, [operand], dest=dest)
        if isinstance(node, gast.Compare):
            if len(node.ops) > 1:
                parts, left = [], node.left
                for op, right in zip(node.ops, node.comparators):
                    parts.append(gast.Compare(left=left, ops=[op], comparators=[right]))
                    left = right
                return self.expr(gast.copy_location(gast.BoolOp(op=gast.And(), values=parts),
                                                    node), dest=dest)
            op = _CMPOPS.get(type(node.ops[0]))
            if op is None:
                raise self.error(UnsupportedSyntaxError, "`not in` is not supported", node)
            left, right = self.expr(node.left), self.expr(node.comparators[0])
            if op is operator.contains:
                left, right = right, left
            return self.call_prim(op, [left, right], dest=dest)
        if isinstance(node, gast.BoolOp):
            return self.boolop(node, dest)
        if isinstance(node, gast.IfExp):
            test = self.expr(node.test)
            out = dest or self.fresh_merge()
            self.merge_names.add(out)
            body, orelse = self.lower_into(out, node.body), self.lower_into(out, node.orelse)
            self.emit(ir.If(test, body, orelse, self.p.lineno(node)))
            return ir.Name(out)
        if isinstance(node, gast.Call):
            return self.call(node, dest, statement)
        if isinstance(node, gast.Subscript):
            return self.subscript(node, dest)
        if isinstance(node, gast.Attribute):
            return self.attribute(node, dest)
        if isinstance(node, gast.List) and len(node.elts) == 2 and \
                isinstance(node.elts[0], gast.Starred) and \
                not isinstance(node.elts[1], gast.Starred):
            from .rules.core import LIST_APPEND          # [*xs, v]: xs with v appended
            xs, v = self.expr(node.elts[0].value), self.expr(node.elts[1])
            return self.call_prim(LIST_APPEND, [xs, v], dest=dest)
        if isinstance(node, (gast.Tuple, gast.List)):
            atoms = [self.expr(e) for e in node.elts]
            if all(isinstance(a, ir.Const) for a in atoms) and isinstance(node, gast.Tuple):
                return ir.Const(tuple(a.value for a in atoms))
            pack = PACK_TUPLE if isinstance(node, gast.Tuple) else PACK_LIST
            return self.call_prim(pack, atoms, dest=dest)
        what = _CONSTRUCT_NAMES.get(type(node), type(node).__name__)
        raise self.error(UnsupportedSyntaxError, f"{what} is not supported in a differentiated "
                         "function", node)

    def name(self, node) -> ir.Name | ir.Const:
        n = node.id
        if n in self.version:
            return ir.Name(self.version[n])
        if n in self.locals:
            # assigned somewhere (e.g. in a loop body seen later): read the variable itself
            self.version[n] = self.fresh_name(n) if n in self.used_versions else n
            self.used_versions.add(self.version[n])
            return ir.Name(self.version[n])
        try:
            value = self.p.resolve(n)
        except KeyError:
            raise self.error(UnsupportedSyntaxError, f"name {n!r} is not defined", node) from None
        if isinstance(value, (bool, type(None))):
            return ir.Const(value)
        if isinstance(value, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType)):
            raise self.error(UnsupportedSyntaxError, f"{n!r} ({type(value).__name__}) used as a "
                             "value; srcad can only call it", node)
        if n in rules.runtime_namespace() and rules.runtime_namespace()[n] is not value:
            raise self.error(UnsupportedSyntaxError, f"the global {n!r} shadows a name srcad's "
                             "generated code needs; rename it", node)
        return ir.Name(n)                           # a global or closure value, read live

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
        out = dest or self.fresh_merge()
        self.merge_names.add(out)
        first = self.expr(node.values[0])
        self.emit(ir.Assign(out, first, self.p.lineno(node)))
        rest = node.values[1:]
        if not rest:
            return ir.Name(out)
        inner = self.lower_into(out, gast.copy_location(gast.BoolOp(op=node.op, values=rest), node)
                                if len(rest) > 1 else rest[0])
        if isinstance(node.op, gast.And):
            self.emit(ir.If(ir.Name(out), inner, [], self.p.lineno(node)))
        else:
            self.emit(ir.If(ir.Name(out), [], inner, self.p.lineno(node)))
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
            obj = self.p.resolve(func.id)
        except KeyError:
            raise self.error(UnsupportedSyntaxError, f"name {func.id!r} is not defined",
                             func) from None
        for attr in reversed(chain):
            try:
                obj = getattr(obj, attr)
            except AttributeError:
                raise self.error(UnsupportedSyntaxError, f"{func.id}.{'.'.join(reversed(chain))} "
                                 "does not exist", func) from None
        return obj

    def call(self, node, dest, statement):
        if any(isinstance(a, gast.Starred) for a in node.args) or \
                any(k.arg is None for k in node.keywords):
            raise self.error(UnsupportedSyntaxError, "*args and **kwargs in a call are not "
                             "supported", node)
        text = _Lazy(node.func)
        func = node.func
        if isinstance(func, gast.Name) and func.id in self.nested_defs:
            return self.nested_call(node, dest)
        if isinstance(func, gast.Attribute) and self.callee(func) is None:
            rule = rules.lookup_method(func.attr)
            if rule is None:
                raise self.error(NonDifferentiableError, f"srcad has no derivative rule for the "
                                 f"method .{func.attr}() in {text}()", node)
            receiver = self.expr(func.value)
            args = [receiver] + [self.expr(a) for a in node.args]
            return self.prim_call(rule, args, node, dest, text)
        obj = self.callee(func)
        if obj is None:
            raise self.error(UnsupportedSyntaxError, f"calling the local value {text!r} is not "
                             "supported", node)
        args = [self.expr(a) for a in node.args]
        rule = rules.lookup(obj)
        if rule is not None:
            return self.prim_call(rule, args, node, dest, text)
        if obj is builtins.print:
            name = self.inject("print", obj)
            kwargs = {k.arg: self.expr(k.value) for k in node.keywords}
            return self.call_prim(_Opaque(name), args, kwargs, dest=dest)
        target = getattr(obj, "__srcad_transform__", None)
        if isinstance(obj, types.FunctionType) or target is not None:
            if obj is getattr(self.p.func, "__srcad_original__", self.p.func):
                pass
            kwargs = {k.arg: self.expr(k.value) for k in node.keywords}
            name = self.inject(getattr(obj, "__name__", "helper"), obj)
            return self.call_prim(UserCall(obj, name), args, kwargs, dest=dest)
        raise self.error(NonDifferentiableError, f"srcad has no derivative rule for {text}() "
                         f"({obj!r}) and cannot read its source; register one with "
                         "srcad.custom_rule or wrap the value in srcad.stop_gradient", node)

    def prim_call(self, rule, args, node, dest, text):
        kwnames = [k.arg for k in node.keywords]
        bound = rule.bind(len(args), kwnames)
        if isinstance(bound, str):
            raise self.error(UnsupportedSyntaxError, f"in {text}(): {bound}", node)
        kwargs = {k.arg: self.expr(k.value) for k in node.keywords}
        return self.call_prim(rule, args, kwargs, dest=dest)

    def inject(self, base, obj) -> str:
        for name, known in self.injected.items():
            if known is obj:
                return name
        try:
            if self.p.resolve(base) is obj and base not in self.locals:
                self.injected[base] = obj            # the user's own name for it
                return base
        except KeyError:
            pass
        name = base
        k = 0
        while name in self.reserved or name in self.injected or name in self.used_versions:
            k += 1
            name = f"{base}_{k}"
        self.injected[name] = obj
        return name

    def subscript(self, node, dest):
        value = self.expr(node.value)
        atoms = [value]

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
        sl = node.slice
        layout = ("tuple", [part(e) for e in sl.elts]) if isinstance(sl, gast.Tuple) else part(sl)
        from .rules.core import GETITEM
        return self.call_prim(GETITEM, atoms, static=layout, dest=dest)

    def attribute(self, node, dest):
        obj = self.callee(node)
        if obj is not None:
            if isinstance(obj, (int, float, complex)) and not isinstance(obj, bool):
                return ir.Const(obj)                # math.pi, np.e, module constants
            ref = _numpy_ref(obj)
            if ref is not None:
                return ir.Const(ref)                # np.float32, np.newaxis, np.inf ...
            raise self.error(UnsupportedSyntaxError, f"{_describe(node)} used as a value is not "
                             "supported", node)
        rule = rules.lookup(("attr", node.attr))
        if rule is None:
            raise self.error(NonDifferentiableError, f"srcad has no rule for the attribute "
                             f".{node.attr}", node)
        return self.call_prim(rule, [self.expr(node.value)], dest=dest)


def _numpy_ref(obj):
    """`np.<name>` for NumPy's dtypes and scalar types, which generated code can name."""
    import numpy as np
    if isinstance(obj, type) and issubclass(obj, np.generic) and \
            getattr(np, obj.__name__, None) is obj:
        return ir.Ref(f"np.{obj.__name__}")
    return None


def _walk_own(fn):
    """The nodes of `fn`, not descending into nested functions or lambdas."""
    todo = list(gast.iter_child_nodes(fn))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (gast.FunctionDef, gast.Lambda, gast.AsyncFunctionDef)):
            todo.extend(gast.iter_child_nodes(node))


class _Lazy:
    """The source text of a node, worked out only if an error message needs it."""

    def __init__(self, node):
        self.node = node

    def __str__(self):
        return _describe(self.node)

    __format__ = lambda self, spec: format(str(self), spec)  # noqa: E731


def _describe(node) -> str:
    try:
        return ast.unparse(gast.gast_to_ast(node))
    except Exception:  # pragma: no cover - only for messages
        return type(node).__name__


# ---------------------------------------------------------------- returns and jumps

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
    body = _move_continuations(body, lowerer)
    _strip_exits(body)
    init = [ir.Assign(flag, ir.Const(False), line)] if used_flag[0] else []
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
    for attr in ("body", "orelse"):
        block = getattr(s, attr)
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
    stmts = copy.deepcopy(stmts)
    mapping = {}
    for s in ir.walk(stmts):
        for t in ir.targets(s):
            if ir._is_temp(t) and t not in mapping:
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
