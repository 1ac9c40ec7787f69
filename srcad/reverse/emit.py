"""Reverse-mode pass: a forward sweep, then the adjoints (`x_bar`) in reverse order.

The forward sweep is the primal. A value the reverse sweep reads and that the
primal overwrites (a variable assigned in a loop or in several places) is pushed
on its stack before it is overwritten and popped back after its adjoint, so the
reverse sweep always sees the values of the moment it undoes. Loops run
backwards (`reversed(range)`, or a recorded iteration count for loops that
`break`); branches replay from their recorded test value. Whether an adjoint is
first assigned or accumulated is decided statically, per name, by the transfer
functions of analysis.Adjoints, which this emitter applies once per statement; a
loop's body is emitted once, from the adjoint state the analysis's fixpoint gives.

A full reduction's adjoint is `out_bar` broadcast over `x`; in straight-line code it
stays *lazy*: the scalar itself, which every elementwise rule and indexing adjoint
broadcasts correctly (`100.0 * g` costs nothing where `100.0 * broadcast_to(g, x)` is a
pass over x). Any other consumer, and control flow, gets it broadcast (`unreduce`) first.
"""
from __future__ import annotations

import ast

from .. import ir, rules, runtime
from ..activity import Activity
from ..emit import (Emitted, Emitter, assign, bound_params, call, callee_args, line_mark,
                   name_load, sum_exprs)
from ..errors import UnsupportedSyntaxError
from ..lower import PACK_LIST, PACK_TUPLE, UserCall
from ..rules.core import LIST_APPEND
from ..rules.helpers import BROADCASTING, FULL_BROADCAST, SCATTER, SHAPE_OF_SECOND
from ..optimize import nodes
from .analysis import _HELD, LIVE, OWNED, Adjoints, Term, facts




def _may_be_none(stmts) -> set:
    """Names that may hold None somewhere in `stmts`: assigned the constant None, a name
    that may hold None, or an item of a list or tuple that may hold one (a stack a None was
    pushed on), by a fixpoint. Only rules that pass values through (indexing, packing,
    appending) carry a None on; a numeric rule would have raised on one."""
    names: set = set()
    seqs: set = set()                    # lists and tuples that may hold a None item
    assigns = [s for s in ir.walk(stmts) if isinstance(s, ir.Assign)]
    changed = True
    while changed:
        changed = False
        for s in assigns:
            targets = list(s.target) if isinstance(s.target, tuple) else [s.target]
            v = s.value
            none = seq = False
            if isinstance(v, ir.Const):
                none = v.value is None
            elif isinstance(v, ir.Name):
                none, seq = v.id in names, v.id in seqs
            elif isinstance(v, ir.Call):
                args = [a.id for a in v.args if isinstance(a, ir.Name)]
                if v.prim is PACK_LIST or v.prim is PACK_TUPLE or v.prim is LIST_APPEND:
                    seq = any(a in names or a in seqs for a in args) or any(
                        isinstance(a, ir.Const) and a.value is None for a in v.args)
                elif isinstance(v.prim, rules.IndexRule) and args:
                    none = seq = args[0] in seqs
            for t in targets:
                if none and t not in names or seq and t not in seqs:
                    names |= {t} if none else set()
                    seqs |= {t} if seq else set()
                    changed = True
            if isinstance(s.target, tuple) and isinstance(v, ir.Name) and v.id in seqs:
                for t in targets:              # `a, b = pair`: an item may be None
                    if t not in names:
                        names.add(t)
                        changed = True
    return names


def _container_valued(expr: ast.expr) -> bool:
    """Whether adjoint term `expr` is a container of per-item adjoints: a tuple or list
    display, or a call of a rule declared to return one (`unattr`'s fields of a NamedTuple):
    such terms add item by item, never with `+` (which would concatenate)."""
    if isinstance(expr, (ast.Tuple, ast.List)):
        return True
    if isinstance(expr, ast.Call):
        rule = rules.lookup_name(ast.unparse(expr.func))
        return rule is not None and rule.returns_seq
    return False

class _Restore(ast.Expr):
    """Placeholder: pop `name` back from its stack, if it turns out to be saved."""

    def __init__(self, name):
        super().__init__(value=ast.Constant(None))
        self.name = name


class _RestorePart(ast.Expr):
    """Placeholder: put back the entries in-place update `s` overwrote, if the reverse sweep
    turns out to read the array's earlier values."""

    def __init__(self, s):
        super().__init__(value=ast.Constant(None))
        self.s = s


class _Mark(ast.Expr):
    """Placeholder: a comment quoting user line `line`, unless the line before it in the
    order the reverse sweep runs is the same (see _resolve_marks)."""

    def __init__(self, line):
        super().__init__(value=ast.Constant(None))
        self.line = line


def reverse(fn: ir.Function, act: Activity, wrt: list, build_callee, with_value: bool = False,
            single: bool = True, split: bool = False, avoid=None,
            typed_zeros: bool = False) -> Emitted:
    """The adjoint function: `f_grad(*params, d_out=1.0)` returns the gradient for `wrt`
    (a tuple of them unless `single`), or `(value, gradient)` `with_value`.

    `split` gives two functions instead, for a helper called from differentiated code:
    `f_fwd(*params)` returns `(value, residuals)` and `f_bwd(residuals, d_out)` the
    gradients, so the helper's primal runs once.

    `typed_zeros` (backend="numba"): the zero of a saved name's adjoint where the name may
    not be assigned yet is zeros_like of it (None there: see Adjoints.zero), not 0.0.
    """
    em = _Reverse(fn, act, build_callee)
    em.an.typed_zeros = typed_zeros
    em.avoid = avoid
    trees = em.function(wrt, with_value, split, single)
    return Emitted(trees, em.injected, em.adjoint_names(), set(act.seqs or ()))


class _Reverse(Emitter):
    suffix = "bar"

    def __init__(self, fn: ir.Function, act: Activity, build_callee):
        super().__init__(fn, act, build_callee)
        self.facts = facts(fn, act)
        self.overwritten = set(self.facts.overwritten)   # and the residuals of overwritten calls
        self.counters: dict = {}           # loop -> its iteration counter (loops that break)
        self.saved_counters: set = set()   # counters of loops inside loops, kept on stacks
        self.zero_on_consume: set = set()  # in a loop's body: Loop.consumed, see analysis
        self.lazy: set = set()             # names whose adjoint may be lazy (see the docstring)
        self.wide: set = set()             # names whose adjoint's dtype is at least the primal's
        self.lazy_def: dict = {}           # lazy name -> the statement that assigned it
        self.d_out = self.new_name("d_out")
        self.splits: dict = {}             # id(statement) -> its helper call's split halves
        self.rule_parts: dict = {}         # id(statement) -> its rule's adjoint terms
        self.term_cache: dict = {}         # id(statement) -> its (name, Term) pairs
        self.an = Adjoints(self.facts, act, self.seqs, self.terms)
        self.saved: set = set()            # primal values kept for the reverse sweep
        self.shape_only: set = set()       # ... of which only the shape is kept
        self.unsaved_shapes: set = set()   # read only for a shape every value of theirs has
        # in-place updates (`y[i] = v`): what each statement's adjoint code reads of primal
        # values (not only their shapes), the updates whose overwritten entries the reverse
        # sweep puts back, and the names (value, stack or None) keeping those entries
        self.content_read: dict = {}       # id(statement) -> names
        self.restoring: set = set()        # id(update)
        self.part_names: dict = {}         # id(update) -> (name, stack name or None)
        self.view_copies: set = set()      # views of updated arrays the reverse sweep reads
        self.in_loop = {id(x) for st in ir.walk(fn.body) if isinstance(st, (ir.For, ir.While))
                        for x in ir.walk(st.body)}

    def function(self, wrt, with_value, split, single) -> list:
        fn = self.fn
        ret = fn.body[-1]
        assert isinstance(ret, ir.Return)
        primal_body = fn.body[:-1]
        for st in ir.walk(primal_body):
            if isinstance(st, ir.Assign) and isinstance(st.value, ir.Call) and \
                    isinstance(st.value.prim, UserCall) and st.target in self.act.active:
                self.prepare_split(st)

        # reverse sweep first: it tells which primal values it reads
        state: dict = {}
        seed = []
        if self.active(ret.value):
            seed = [assign(self.d(ret.value.id), name_load(self.d_out))]
            state[ret.value.id] = LIVE
        rev = [line_mark(0)] + seed + self.rev_block(primal_body, state)
        grads = []
        for p in wrt:
            pa = ir.Name(p)
            if state.get(p) in _HELD:
                g = name_load(self.d(p))
                grads.append(call("float", g) if self.is_float(pa)
                             else call("grad_like", g, name_load(p)))
            else:
                grads.append(ast.Constant(0.0) if self.is_float(pa)
                             else call("grad_like", ast.Constant(0.0), name_load(p)))
        primal_names = set(fn.params) | {t for s in ir.walk(fn.body) for t in ir.targets(s)} \
            | {sp[2] for sp in self.splits.values()}
        rev_names = [n for st in rev + grads for n in nodes(st)]
        needed = {n.id for n in rev_names if isinstance(n, ast.Name) and n.id in primal_names}
        buffers = set(self.facts.updates.values())
        read = needed           # (even a read of its shape keeps a view alive)
        self.view_copies = {st.target for st in ir.walk(primal_body)
                            if isinstance(st, ir.Assign) and isinstance(st.value, ir.Call)
                            and isinstance(st.value.prim, rules.IndexRule)
                            and isinstance(st.value.args[0], ir.Name)
                            and st.value.args[0].id in buffers and st.target in read}
        self.restoring = self.restored_updates()
        for st in ir.walk(primal_body):
            if id(st) in self.restoring:      # the put-back reads the array and its index
                needed |= {a.id for a in [st.value.args[0]] + st.value.args[2:]
                           if isinstance(a, ir.Name)}
        counters = self.saved_counters
        self.saved = ((needed & self.overwritten) - self.facts.for_targets
                      - set(self.facts.remat)) | counters
        self.shape_only = self.shape_only_reads(rev_names, self.saved)
        # a value read only for its shape, whose shape class every assignment shares (a
        # number, an array shaped like an argument): its last value has the shape of each
        # earlier one, so nothing is saved (a shape pushed per step, popped per step)
        # (None joins every shape class, but np.shape(None) is (): a name that may hold None
        # keeps its shape saved, as `y = None` then `y = y_stack.pop()` at second order does)
        fixed = {n for n in self.shape_only if self.act.shape(ir.Name(n)) is not None} \
            - _may_be_none(primal_body)
        self.saved -= fixed
        self.shape_only -= fixed
        self.unsaved_shapes = fixed
        rev = self.replace_restores(_resolve_marks(rev, None)[0])

        fwd = self.fwd_block(primal_body)
        if split:
            return self.split_functions(wrt, fwd, rev, grads, ret, counters)
        pre = self.stacks(counters)
        body = pre + fwd
        value = ir.atom_ast(ret.value)
        if with_value and isinstance(ret.value, ir.Name) and ret.value.id in self.saved:
            keep = self.new_name("value")
            body.append(assign(keep, value))
            value = name_load(keep)
        elif with_value and isinstance(ret.value, ir.Name) and any(
                self.act.may_share(ret.value.id, self.facts.updates[k]) for k in self.restoring):
            keep = self.new_name("value")      # the reverse sweep puts back earlier entries
            body.append(assign(keep, call("snapshot", value)))
            value = name_load(keep)
        body += rev
        result = grads[0] if len(wrt) == 1 and single else \
            ast.Tuple(elts=grads, ctx=ast.Load())
        if with_value:
            result = ast.Tuple(elts=[value, result], ctx=ast.Load())
        body.append(ast.Return(result))
        args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in fn.params]
                             + [ast.arg(arg=self.d_out)], vararg=None, kwonlyargs=[],
                             kw_defaults=[], kwarg=None, defaults=[ast.Constant(1.0)])
        doc = (f"Reverse-mode derivative of {fn.name} ({fn.filename}:{fn.firstline}): the gradient "
               f"with respect to {', '.join(wrt)}, scaled by {self.d_out}.")
        tree = ast.FunctionDef(name=f"{fn.name}_grad", args=args,
                               body=[ast.Expr(ast.Constant(doc))] + body, decorator_list=[],
                               returns=None, type_comment=None, type_params=[])
        return [tree]

    def adjoint_names(self) -> set:
        """The variables holding adjoints (for the optimizer's sign and factor rewrites)."""
        return {v for k, v in self.derived.items() if isinstance(k, str)} | {self.d_out}

    # ------------------------------------------------------------ helper calls
    def prepare_split(self, s: ir.Assign):
        """A call of the user's helper with active arguments: its forward half runs in the
        forward sweep and hands its residuals to its backward half in the reverse sweep."""
        v = s.value
        err = lambda m: UnsupportedSyntaxError(m, self.fn.filename, s.line)  # noqa: E731
        atoms = callee_args(s, v.prim.func, err)
        wrt = tuple(i for i, a in enumerate(atoms) if self.active(a))
        if not wrt:
            return
        kinds = self.callee_kinds(atoms)
        fwd = self.callee_name(v.prim, "fwd", wrt, kinds)
        bwd = self.callee_name(v.prim, "bwd", wrt, kinds)
        if fwd not in self.injected:
            f_fwd, f_bwd = self.build_callee(v.prim.func, "split", wrt, kinds, s.line, (fwd, bwd))
            self.injected[fwd], self.injected[bwd] = f_fwd, f_bwd
        res = self.new_name(f"{s.target}_res")
        if s.target in self.overwritten:
            self.overwritten.add(res)
        self.splits[id(s)] = (fwd, bwd, res, atoms, wrt)

    def recompute(self, out: list) -> list:
        """Statements recomputing the rematerialized values `out` reads (and those they
        need), in program order, under names of their own (the forward sweep's stay single
        use); `out` is renamed to read them."""
        read = {n.id for st in out for n in nodes(st) if isinstance(n, ast.Name)}
        todo, want = list(read & set(self.facts.remat)), set()
        while todo:
            n = todo.pop()
            if n not in want:
                want.add(n)
                todo += [m.id for m in nodes(self.facts.remat[n][1])
                         if isinstance(m, ast.Name) and m.id in self.facts.remat]
        rename = {n: self._remat_name(n) for n in want}
        for node in (x for st in out for x in nodes(st)):
            if isinstance(node, ast.Name) and node.id in rename:
                node.id = rename[node.id]
        made = []
        for n in self.facts.remat:
            if n in want:
                expr = rules.clone(self.facts.remat[n][1])
                for node in nodes(expr):
                    if isinstance(node, ast.Name) and node.id in rename:
                        node.id = rename[node.id]
                made.append(assign(rename[n], expr))
        return made

    def _remat_name(self, n: str) -> str:
        key = ("remat", n)
        if key not in self.derived:
            self.derived[key] = self.new_name(n)
        return self.derived[key]

    def stacks(self, counters) -> list:
        """The empty stacks of the saved values (and a None for a value that may not exist
        yet when it is first pushed)."""
        pre = []
        kept = self.saved | self.unsaved_shapes      # (None: a split's residuals hold them)
        never_defined = (kept - self.facts.defined_early) - counters
        for n in sorted(kept, key=self._order):
            if n in never_defined:
                pre.append(assign(n, ast.Constant(None)))
            if n in self.saved:
                pre.append(assign(self.stack(n), ast.List(elts=[], ctx=ast.Load())))
        for k in sorted(self.restoring, key=lambda k: self.part_names[k][0]):
            stack = self.part_names[k][1]
            if stack is not None:
                pre.append(assign(stack, ast.List(elts=[], ctx=ast.Load())))
        return pre

    # ------------------------------------------------------------ in-place updates
    def restored_updates(self) -> set:
        """The in-place updates whose overwritten entries the reverse sweep must put back:
        those some statement's adjoint code reads the array's values before (the statement
        comes before the update, or they share a loop), through its name or one that may
        share its storage (a view: one taken by indexing is a copy instead, see
        `view_copies`). Only the overwritten entries are kept."""
        order, loops, renewed = {}, {}, {}

        def visit(stmts, enclosing):
            for st in stmts:
                order[id(st)] = len(order)
                loops[id(st)] = enclosing
                inner = enclosing + (id(st),) if isinstance(st, (ir.For, ir.While)) else enclosing
                for b in ir.blocks(st):
                    visit(b, inner)
                if isinstance(st, (ir.For, ir.While)):
                    # the arrays each iteration makes anew, before what comes after in it
                    renewed[id(st)] = {(x.target, order[id(x)]) for x in st.body
                                       if isinstance(x, ir.Assign) and id(x) not in
                                       self.facts.updates and isinstance(x.target, str)}
        visit(self.fn.body, ())

        def before(r, k, y) -> bool:
            """Whether statement r may run before update k of y on y's same array."""
            if order[r] < order[k]:
                return True
            common = [lp for lp in loops[k] if lp in loops[r]]
            # later in a loop's body: the next iteration's update, unless the iteration
            # makes y anew before it
            return bool(common) and not any(t == y and o < order[k]
                                            for t, o in renewed[common[-1]])
        out = set()
        for k, y in self.facts.updates.items():
            for r, names in self.content_read.items():
                if before(r, k, y) and \
                        any(n == y or self.act.may_share(n, y) and n not in self.view_copies
                            for n in names):
                    out.add(k)
                    break
        for st in ir.walk(self.fn.body):
            if id(st) in out:
                y = st.target
                base = self.new_name(f"{self.fn.versions.get(y, y)}_old")
                stack = self.new_name(f"{base}_stack") if id(st) in self.in_loop else None
                self.part_names[id(st)] = (base, stack)
        return out

    def content_reads(self, stmts) -> set:
        """The primal names the adjoint code `stmts` reads the values of (an argument a
        helper reads only for its shape does not count; a helper call's residuals count as
        its arguments)."""
        shaped = set()
        every = [n for st in stmts for n in nodes(st)]        # one walk for both
        for node in every:
            func = self.helper_of(node) if node.__class__ is ast.Call else None
            rule = rules.lookup(func) if func is not None else None
            if rule is not None and rule.shape_args:
                names = [p for p, _ in rule.params]
                shaped |= {id(a) for k, a in enumerate(node.args)
                           if k < len(names) and names[k] in rule.shape_args}
        reads = {n.id for n in every if n.__class__ is ast.Name and
                 n.ctx.__class__ is ast.Load and id(n) not in shaped}
        for _, _, res, atoms, _ in self.splits.values():
            if res in reads:
                reads |= {a.id for a in atoms if isinstance(a, ir.Name)}
        return reads

    def part(self, s: ir.Assign, ctx=ast.Load) -> ast.expr:
        """`y[index]` of in-place update `s`."""
        v = s.value
        return ast.Subscript(value=name_load(s.target),
                             slice=rules.index_ast(v.static, [ir.atom_ast(a) for a in v.args],
                                                   True), ctx=ctx())

    def save_part(self, s: ir.Assign) -> ast.stmt:
        """Before update `s`: keep a copy of the entries it overwrites."""
        name, stack = self.part_names[id(s)]
        copy = ast.Call(func=ast.Attribute(value=name_load("np"), attr="copy", ctx=ast.Load()),
                        args=[self.part(s)], keywords=[])
        if stack is None:
            return assign(name, copy)
        return ast.Expr(ast.Call(func=ast.Attribute(value=name_load(stack), attr="append",
                                                    ctx=ast.Load()), args=[copy], keywords=[]))

    def restore_part(self, s: ir.Assign) -> list:
        """After the adjoint of update `s`: the entries it overwrote, put back."""
        name, stack = self.part_names[id(s)]
        out = []
        if stack is not None:
            out.append(assign(name, ast.Call(func=ast.Attribute(
                value=name_load(stack), attr="pop", ctx=ast.Load()), args=[], keywords=[])))
        out.append(ast.Assign(targets=[self.part(s, ast.Store)], value=name_load(name), lineno=0))
        return out

    def update_adjoint(self, s: ir.Assign, state, out):
        """The adjoint of y's earlier value, for update `s` of y: y's adjoint with zeros
        where `s` wrote, in place when the adjoint is y's own array, else a new one."""
        y, v = s.target, s.value
        bar = self.d(y)
        if state.get(y) == OWNED:
            out.append(v.prim.emit_stmt([name_load(bar), ast.Constant(0.0)]
                                        + [ir.atom_ast(a) for a in v.args[2:]], v.static))
        else:
            x = v.prim.storage_args[0]
            out.append(assign(bar, self.template(v.prim.vjp[x], s, {"out_bar": name_load(bar)})))
        self.an.updated(y, state, self.wide)
        self.lazy.discard(y)
        self.lazy_def.pop(y, None)

    def split_functions(self, wrt, fwd, rev, grads, ret, counters):
        fn = self.fn
        pre = self.stacks(counters)
        forward_part = pre + fwd
        stored = set(fn.params) | {n.id for st in forward_part for n in ast.walk(st)
                                   if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        result = ast.Tuple(elts=grads, ctx=ast.Load())
        residuals = sorted({n.id for st in rev + [result] for n in ast.walk(st)
                            if isinstance(n, ast.Name) and n.id in stored
                            and n.id not in self.facts.for_targets}, key=self._order)
        res = self.new_name("residuals")
        pack = ast.Tuple(elts=[name_load(n) for n in residuals], ctx=ast.Load())
        always = set(fn.params) | {n.id for st in forward_part if isinstance(st, ast.Assign)
                                   for t in st.targets for n in ast.walk(t)
                                   if isinstance(n, ast.Name)}
        maybe = [n for n in residuals if n not in always]   # set only on some branch
        if maybe:
            forward_part = [assign(tuple(maybe) if len(maybe) > 1 else maybe[0],
                                   ast.Tuple(elts=[ast.Constant(None) for _ in maybe],
                                             ctx=ast.Load()) if len(maybe) > 1
                                   else ast.Constant(None))] + forward_part
        where = f"{fn.name} ({fn.filename}:{fn.firstline})"
        f_tree = ast.FunctionDef(
            name=f"{fn.name}_fwd", args=_args(fn.params),
            body=[ast.Expr(ast.Constant(f"Forward half of the derivative of {where}: the value "
                                        "and what the backward half needs."))] + forward_part
            + [ast.Return(ast.Tuple(elts=[ir.atom_ast(ret.value), pack], ctx=ast.Load()))],
            decorator_list=[], returns=None, type_comment=None, type_params=[])
        unpack = [assign(tuple(residuals), name_load(res))] if residuals else []
        b_tree = ast.FunctionDef(
            name=f"{fn.name}_bwd", args=_args([res, self.d_out]),
            body=[ast.Expr(ast.Constant(f"Backward half of the derivative of {where}: the "
                                        f"gradient with respect to {', '.join(wrt)}."))]
            + unpack + rev + [ast.Return(result)],
            decorator_list=[], returns=None, type_comment=None, type_params=[])
        return [f_tree, b_tree]

    # ------------------------------------------------------------ analysis helpers
    def _order(self, n):
        return (n not in self.fn.params, n)

    def stack(self, n: str) -> str:
        key = ("stack", n)
        if key not in self.derived:
            self.derived[key] = self.new_name(f"{n}_stack")
        return self.derived[key]

    # ------------------------------------------------------------ forward sweep
    def fwd_block(self, stmts, in_loop=False) -> list:
        out = []
        buffers = set(self.facts.updates.values())
        for s in stmts:
            self.mark(s, out)
            if isinstance(s, ir.Assign) and id(s) in self.facts.updates:
                if id(s) in self.restoring:
                    out.append(self.save_part(s))
                out.append(ir.assign_stmt_ast(s))
            elif isinstance(s, ir.Assign):
                split = self.splits.get(id(s))
                for t in ir.targets(s) + ((split[2],) if split else ()):
                    if t in self.saved and id(s) not in self.facts.first_defs:
                        # only the shape of a value some adjoint unbroadcasts to is kept
                        kept = ast.Call(func=ast.Attribute(value=name_load("np"), attr="shape",
                                                           ctx=ast.Load()),
                                        args=[name_load(t)], keywords=[]) \
                            if t in self.shape_only else name_load(t)
                        if t in buffers and t not in self.shape_only:
                            kept = call("snapshot", kept)   # its entries change in place later
                        out.append(ast.Expr(ast.Call(
                            func=ast.Attribute(value=name_load(self.stack(t)), attr="append",
                                               ctx=ast.Load()), args=[kept], keywords=[])))
                if split:
                    fwd, _, res, atoms, _ = split
                    out.append(assign((s.target, res), call(fwd, *map(ir.atom_ast, atoms))))
                elif s.target in self.view_copies:
                    # a view of an array updated in place later, read by the reverse sweep:
                    # a copy, which keeps the values it had (Python's view is not read after
                    # the update: the alias analysis refuses that)
                    out.append(assign(s.target, ast.Call(
                        func=ast.Attribute(value=name_load("np"), attr="copy", ctx=ast.Load()),
                        args=[self.primal_value(s)], keywords=[])))
                else:
                    out.append(self.primal_stmt(s))
            elif isinstance(s, ir.If):
                out.append(ast.If(test=ir.atom_ast(s.test), body=self.fwd_block(s.body, in_loop)
                                  or [ast.Pass()], orelse=self.fwd_block(s.orelse, in_loop)))
            elif isinstance(s, (ir.For, ir.While)):
                out += self.fwd_loop(s, in_loop)
            elif isinstance(s, ir.Break):
                out.append(ast.Break())
            elif isinstance(s, ir.Continue):
                out.append(ast.Continue())
        return out

    def fwd_loop(self, s, in_loop) -> list:
        body = self.fwd_block(s.body, True) or [ast.Pass()]
        count = self.counters.get(id(s))
        pre, post = [], []
        if count:
            pre.append(assign(count, ast.Constant(0)))
            body.insert(0, assign(count, ast.BinOp(left=name_load(count), op=ast.Add(),
                                                   right=ast.Constant(1))))
            if in_loop:
                post.append(ast.Expr(ast.Call(func=ast.Attribute(
                    value=name_load(self.stack(count)), attr="append", ctx=ast.Load()),
                    args=[name_load(count)], keywords=[])))
        if isinstance(s, ir.For):
            loop = ast.For(target=ir.target_ast(s.target), iter=ir.atom_ast(s.iter), body=body,
                           orelse=[], lineno=0)
        else:
            loop = ast.While(test=ast.Constant(True), body=body, orelse=[])
        return pre + [loop] + post

    # ------------------------------------------------------------ reverse sweep
    def rev_block(self, stmts, state) -> list:
        out = []
        for s in reversed(stmts):
            out += self.rev_stmt(s, state)
        return out

    def accumulate(self, name: str, expr: ast.expr, state, out: list, lazy: bool = False,
                   wide: bool = False):
        """Add `expr` to the adjoint of `name`, as the analysis's transfer function says;
        `lazy` (see the module docstring) and `wide` (its dtype is at least the primal's,
        see `_wide`) describe `expr`."""
        bar = self.d(name)
        first = state.get(name) not in _HELD
        how, lazy = self.an.accumulate(name, self.term_of(expr), state, self.wide, self.lazy,
                                       lazy, wide)
        if how == "index_add":
            g, idx = self.unindex_parts(expr)  # x_bar[idx] += g, without a zero array of x's size
            out.append(assign(bar, self.helper_call(runtime.index_add, name_load(bar), idx, g)))
            return
        if how == "augassign":
            out.append(ast.AugAssign(target=ast.Name(id=bar, ctx=ast.Store()), op=ast.Add(),
                                     value=expr))
            return
        if how == "add_items":
            expr = call("add_items", name_load(bar), expr)
        elif how == "add":
            expr = ast.BinOp(left=name_load(bar), op=ast.Add(), right=expr)
        node = assign(bar, expr)
        if lazy and first:
            self.lazy_def[name] = node     # materialize() may broadcast right here
        else:
            self.lazy_def.pop(name, None)
        out.append(node)

    def term_of(self, expr: ast.expr, via_bar: bool = False) -> Term:
        """What the analysis needs of `expr` (see Term)."""
        return Term(frozenset(n.id for n in _operands(expr) if isinstance(n, ast.Name)),
                    self.unindex_parts(expr) is not None, _container_valued(expr),
                    isinstance(expr, (ast.BinOp, ast.UnaryOp)), via_bar)

    def terms(self, s: ir.Assign) -> list:
        """The (name, Term) pairs of what the adjoint code of `s` adds, for the analysis (it
        names those adjoints, in the order the reverse sweep first meets them)."""
        hit = self.term_cache.get(id(s))
        if hit is not None:
            return hit
        v = s.value
        out = []
        if isinstance(s.target, tuple):
            if self.active(v):
                out.append((v.id, Term(literal=True)))
        elif not isinstance(v, ir.Call):
            if self.active(v):
                out.append((v.id, Term(frozenset([self.d(s.target)]), via_bar=True)))
        elif isinstance(v.prim, UserCall):
            if id(s) in self.splits:
                _, _, _, atoms, wrt = self.splits[id(s)]
                out += [(atoms[i].id, Term(frozenset([part])))
                        for i, part in zip(wrt, self.parts(s))]
        elif v.prim is PACK_TUPLE or v.prim is PACK_LIST:
            out += [(a.id, Term()) for a in v.args if self.active(a)]
        else:
            _, parts = self.rule_terms(s)
            bar = self.d(s.target)
            by_bar = isinstance(v.prim, rules.IndexRule) or v.prim.kind == "elementwise"
            for name, expr, _ in parts:
                t = self.term_of(expr)
                out.append((name, Term(t.operands, t.index, t.literal, t.arith,
                                       by_bar and bar in t.operands)))
        for name, _ in out:
            self.d(name)
        self.term_cache[id(s)] = out
        return out

    def _wide(self, expr: ast.expr, target: str, also: str = None) -> bool:
        """Whether `expr` is arithmetic on the primal `target` itself (or on `also`, a wide
        adjoint of an elementwise result of target), so its dtype is at least target's:
        arithmetic promotes, never narrows, and an elementwise result's dtype is at
        least each array operand's."""
        return any(isinstance(n, ast.Name) and n.id in (target, also) for n in _operands(expr))

    def consume(self, names, state, out: list, restore=True):
        """After a definition's adjoint: the earlier value of each name is popped back and
        its adjoint starts at zero (a zero shaped like that value, which a loop may have
        reassigned with another shape)."""
        for n in names:
            self.lazy_def.pop(n, None)
            restored = restore and n in self.overwritten and \
                n not in self.facts.for_targets and n not in self.facts.remat
            if restored:                     # first: the zero is shaped like it
                out.append(_Restore(n))
            if self.an.consumes(n, state, self.wide, self.lazy, self.zero_on_consume,
                                bound=restored):
                out.append(self.zero_stmt(n, state, bound=restored, current=not restored))

    def rev_stmt(self, s, state) -> list:
        out: list = []
        if isinstance(s, ir.Assign):
            targets = ir.targets(s)
            live = [t for t in targets if state.get(t) in _HELD and t in self.act.active]
            if live:
                self.rev_assign(s, state, out)
            if self.facts.remat and out:
                out[:0] = self.recompute(out)
            self.content_read[id(s)] = self.content_reads(out)
            if id(s) in self.facts.updates:
                out.append(_RestorePart(s))   # y's earlier value is y itself: not consumed
                if live:
                    self.mark_rev(s, out)
                return out
            if id(s) in self.splits:
                targets = targets + (self.splits[id(s)][2],)
            self.consume(targets, state, out, restore=id(s) not in self.facts.first_defs)
            if out:
                self.mark_rev(s, out)
            return out
        if isinstance(s, ir.If):
            return self.rev_if(s, state)
        if isinstance(s, (ir.For, ir.While)):
            return self.rev_loop(s, state)
        return out                                       # break, continue: nothing to undo

    def mark_rev(self, s, out):
        if s.line in self.fn.source_lines:
            out.insert(0, _Mark(s.line))

    def rev_assign(self, s: ir.Assign, state, out):
        v = s.value
        if isinstance(s.target, tuple):
            for t in s.target:
                self.materialize(t, out)
            elts = [name_load(self.d(t)) if state.get(t) in _HELD and t in self.act.active
                    else self.zeros(ir.Name(t)) for t in s.target]
            if self.active(v):
                bar = ast.Tuple(elts=elts, ctx=ast.Load())
                # a list's or tuple's items stay a tuple of adjoints, an array's rows make
                # an array; where activity does not know which, `unpacked` tells them
                # apart when it runs
                known = (self.act.unpacks or {}).get(v.id)
                if known == "array":
                    bar = call("unpacked_rows", bar, name_load(v.id))
                elif v.id not in self.seqs and known != "seq":
                    bar = call("unpacked", bar, name_load(v.id))
                self.accumulate(v.id, bar, state, out)
            return
        out_bar = name_load(self.d(s.target))
        if not isinstance(v, ir.Call):
            if self.active(v):
                self.accumulate(v.id, out_bar, state, out, lazy=s.target in self.lazy,
                                wide=s.target in self.wide)
            return
        prim = v.prim
        if isinstance(prim, UserCall):
            self.materialize(s.target, out)
            return self.rev_user_call(s, state, out)
        if prim is PACK_TUPLE or prim is PACK_LIST:
            self.materialize(s.target, out)
            for k, a in enumerate(v.args):
                if self.active(a):
                    item = ast.Subscript(value=name_load(self.d(s.target)),
                                         slice=ast.Constant(k), ctx=ast.Load())
                    self.accumulate(a.id, item, state, out)
            return
        shared, parts = self.rule_terms(s)
        if shared is not None:
            out.append(shared)
        lazy_in = s.target in self.lazy
        if lazy_in and not self._lazy_safe(v, [e for _, e, _ in parts]):
            self.materialize(s.target, out)
            lazy_in = False
        wide_bar = out_bar.id if s.target in self.wide and (
            isinstance(prim, rules.IndexRule) or prim.kind == "elementwise") else None
        for name, expr, made_lazy in parts:
            lazy = (lazy_in or made_lazy) and not self._full(expr, name)
            self.accumulate(name, expr, state, out, lazy=lazy,
                            wide=self._wide(expr, name, wide_bar))
        if id(s) in self.facts.updates:
            self.update_adjoint(s, state, out)

    def rule_terms(self, s: ir.Assign):
        """A rule call's adjoint terms, instantiated once (the analysis reads them, the
        emitter emits them): the statement computing a shared vjp (or None), and per
        active input, in order, its summed term and whether lazify dropped a broadcast."""
        hit = self.rule_parts.get(id(s))
        if hit is not None:
            return hit
        v = s.value
        prim = v.prim
        bound = bound_params(v)
        extra = {"out_bar": name_load(self.d(s.target))}
        shared_stmt = None
        if prim.vjp_shared is not None:      # the adjoints of all arguments at once: once
            shared = self.template(prim.vjp_shared, s, extra)
            if sum(self.active(bound.get(p)) for p in prim.diff_params) > 1:
                name = self.new_name(f"{s.target}_vjp")
                shared_stmt = assign(name, shared)
                shared = name_load(name)
            extra["SHARED"] = shared
        contributions: dict = {}             # one statement per input, even for x * x
        replaced = prim.storage_args[0] if id(s) in self.facts.updates else None
        for p, a, tmpl in self.active_rules(s, bound, prim.vjp, "reverse"):
            if p == replaced:
                continue                     # the updated array's adjoint: update_adjoint
            expr, made_lazy = self.lazify(self.template(tmpl, s, extra), a.id, s)
            contributions.setdefault(a.id, []).append((expr, made_lazy))
        parts = [(n, sum_exprs([e for e, _ in c]), any(m for _, m in c))
                 for n, c in contributions.items()]
        self.rule_parts[id(s)] = hit = (shared_stmt, parts)
        return hit

    # ------------------------------------------------------------ lazy adjoints
    def materialize(self, name: str, out: list):
        """Broadcast a lazy adjoint to its primal's shape, for a consumer that needs it."""
        if name in self.lazy:
            bar = self.d(name)
            node = self.lazy_def.pop(name, None)
            if node is not None:             # straight-line code: name is the same value there
                node.value = self.helper_call(FULL_BROADCAST, node.value, name_load(name))
            else:
                out.append(assign(bar, self.helper_call(FULL_BROADCAST, name_load(bar),
                                                        name_load(name))))
            self.lazy.discard(name)

    def lazify(self, expr: ast.expr, target: str, s: ir.Assign):
        """Drop a full reduction's `unreduce(E, x)` where only elementwise arithmetic
        surrounds it, in straight-line code (`s` outside control flow): E then broadcasts to
        the adjoint of `target` (an array, not a list).
        Returns the expression and whether it dropped one."""
        if id(s) in self.facts.inside or self.act.kind(ir.Name(target)) != rules.ANY or \
                target in self.seqs or target in self.an.seq_bars:
            return expr, False

        def strip(node):
            if self.helper_of(node) is FULL_BROADCAST and not node.keywords and \
                    2 <= len(node.args) <= 4 and (len(node.args) == 2 or (
                        isinstance(node.args[2], ast.Constant) and node.args[2].value is None)):
                return node.args[0], True
            if isinstance(node, ast.BinOp) and isinstance(node.op, _ELEMENTWISE_OPS):
                left, a = strip(node.left)
                right, b = strip(node.right)
                return ast.BinOp(left=left, op=node.op, right=right), a or b
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
                operand, a = strip(node.operand)
                return ast.UnaryOp(op=node.op, operand=operand), a
            return node, False
        return strip(expr)

    def _lazy_safe(self, call_: ir.Call, exprs) -> bool:
        """Whether a rule's adjoint expressions stay right when `out_bar` is lazy: an
        elementwise rule whose broadcasting helpers shape classes all removed, or indexing
        into an array (`x_bar[idx] = g` broadcasts g)."""
        prim = call_.prim
        if isinstance(prim, rules.IndexRule):
            x = call_.args[0]
            return isinstance(x, ir.Name) and x.id not in self.seqs
        if prim.kind != "elementwise":
            return False
        return not any(self.helper_of(n) in BROADCASTING for e in exprs for n in ast.walk(e))

    def _full(self, expr: ast.expr, target: str) -> bool:
        """Whether elementwise arithmetic in `expr` combines an array with the shape of
        `target` (a primal of its shape class, or a full adjoint of one): the result is
        then the whole adjoint, not a lazy one."""
        primal_of = {bar: n for n, bar in self.derived.items() if isinstance(n, str)}
        want = ir.Name(target)

        def full(node) -> bool:
            if isinstance(node, ast.Call):                 # unindex: zeros shaped like x
                return self.helper_of(node) is SCATTER
            if isinstance(node, ast.Name):
                n = primal_of.get(node.id)
                if n is not None and n in self.lazy:
                    return False
                n = node.id if n is None else n
                return self.act.kinds.get(n) == rules.ANY and self.act.same_shape(ir.Name(n), want)
            return False
        return any(full(n) for n in _operands(expr))

    def unindex_parts(self, expr):
        """(g, idx) when `expr` is `unindex(g, x, idx)`, else None."""
        if self.helper_of(expr) is SCATTER and len(expr.args) == 3:
            return expr.args[0], expr.args[2]
        return None

    def shape_only_reads(self, nodes, names) -> set:
        """Names among `names` that the reverse sweep (all its `nodes`) reads only as
        `unbroadcast(g, name)`, and that may not hold a list or tuple (np.shape of one is no
        shape: unbroadcast goes back item by item, by the items' shapes)."""
        total: dict = {}
        shape: dict = {}
        for node in nodes:
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in names:
                total[node.id] = total.get(node.id, 0) + 1
            if self.helper_of(node) is SHAPE_OF_SECOND and len(node.args) == 2 and \
                    isinstance(node.args[1], ast.Name):
                shape[node.args[1].id] = shape.get(node.args[1].id, 0) + 1
        seqs = self.act.seqs or set()
        return {n for n in total if shape.get(n) == total[n] and n not in seqs}

    def rev_user_call(self, s, state, out):
        if id(s) not in self.splits:
            return
        fwd, bwd, res, atoms, wrt = self.splits[id(s)]
        parts = self.parts(s)
        out.append(assign(tuple(parts), call(bwd, name_load(res), name_load(self.d(s.target)))))
        for i, part in zip(wrt, parts):
            self.accumulate(atoms[i].id, name_load(part), state, out)

    def parts(self, s: ir.Assign) -> list:
        """The names of the adjoints a helper call's backward half returns, one per input."""
        key = ("parts", id(s))
        if key not in self.derived:
            _, _, _, atoms, wrt = self.splits[id(s)]
            self.derived[key] = [self.new_name(f"{atoms[i].id}_bar_{s.value.prim.name}")
                                 for i in wrt]
        return self.derived[key]

    def reconcile(self, state, want, out, bound=frozenset()):
        """Make every name LIVE in `want` LIVE in `state`, by zero-initialising it (`stacks`
        gives n a None first where n may not exist on this path: zeros_like(None) is a zero
        no one reads, since n's own adjoint code runs only where n was assigned). `bound`:
        names assigned on every path here, whose zero is an array shaped like them (the
        branch that assigns them and this one give the adjoint one type: Numba's need)."""
        for n in self.an.missing(state, want):
            self.zero(n, state, out, n in bound)

    def zero(self, n: str, state, out: list, bound: bool = False):
        out.append(self.zero_stmt(n, state, bound))

    def zero_stmt(self, n: str, state, bound: bool = False, current: bool = False) -> ast.stmt:
        """Set the adjoint of `n` to a new zero: an array of n's shape and dtype, which only
        this adjoint holds; or 0.0, which reads nothing and every adjoint operation takes as
        a zero of any shape, where `n` may be unassigned on this path (unless `bound`: n was
        just popped back, None where it was unassigned) or its shape may differ
        from one item of a sequence to the next; for a sequence whose items' shapes may
        differ (`[W, b]`: zeros_like cannot make an array of it), one 0.0 per item where n
        holds the later value its earlier one's zero is for (`current`), else zeros_like(n)
        item by item (n may hold no sequence there: None before its first assignment).
        Neither is owned: terms add to them item by item (add_items), never in place."""
        if self.an.zero(n, state, self.wide, bound):
            zero = ast.Constant(0.0)
            if n in self.facts.ragged and n in self.seqs and (
                    bound or n not in self.facts.maybe_unbound):
                zero = ast.BinOp(left=ast.List(elts=[zero], ctx=ast.Load()), op=ast.Mult(),
                                 right=call("len", name_load(n))) if current else \
                    self.helper_call(runtime.zeros_like, name_load(n))
            return assign(self.d(n), zero)
        return assign(self.d(n), self.zeros(ir.Name(n)))

    def materialize_for(self, s, state) -> list:
        """Lazy adjoints a control-flow statement touches, broadcast before it."""
        pre: list = []
        if self.lazy:
            for n in sorted(self.lazy & self.facts.touched[id(s)] & set(state)):
                self.materialize(n, pre)
        return pre

    def rev_if(self, s: ir.If, state) -> list:
        pre = self.materialize_for(s, state)
        entry = self.an.wide_entry(s, self.wide)
        s_body, s_else = dict(state), dict(state)
        self.wide = set(entry)
        body = self.rev_block(s.body, s_body)
        self.wide = set(entry)
        orelse = self.rev_block(s.orelse, s_else)
        merged = self.an.merged(s_body, s_else)
        bound = self.facts.bound_before.get(id(s), frozenset())
        self.reconcile(s_body, merged, body, bound)
        self.reconcile(s_else, merged, orelse, bound)
        state.clear()
        state.update(merged)
        self.wide = self.an.wide_after(s, entry, state)
        if not body and not orelse:
            return pre
        return pre + [ast.If(test=ir.atom_ast(s.test), body=body or [ast.Pass()], orelse=orelse)]

    def rev_loop(self, s, state) -> list:
        """A loop's reverse sweep, emitted once from the analysis's fixpoint (see Loop)."""
        pre = self.materialize_for(s, state)
        entry = self.an.wide_entry(s, self.wide)
        info = self.an.loop(s, state, entry, self.zero_on_consume)
        self.reconcile(state, info.entry, pre)
        for y in sorted(info.owned_before):          # see Loop.owned_before
            pre.append(assign(self.d(y), self.helper_call(runtime.owned, name_load(self.d(y)),
                                                          name_load(y))))
            state[y] = OWNED
        outer_zero = self.zero_on_consume
        self.zero_on_consume = outer_zero | info.consumed
        body_state = dict(info.entry)
        self.wide = set(entry)
        body = self.rev_block(s.body, body_state)
        self.reconcile(body_state, info.entry, body)
        self.zero_on_consume = outer_zero
        state.clear()
        state.update(info.entry)
        self.wide = self.an.wide_after(s, entry, state)
        if not body:
            return pre
        breaks = id(s) in self.facts.breaks
        if breaks:
            count = self.counters.get(id(s)) or self.new_name("count")
            self.counters[id(s)] = count
            if id(s) in self.facts.nested:
                pre.append(assign(count, ast.Call(func=ast.Attribute(
                    value=name_load(self.stack(count)), attr="pop", ctx=ast.Load()), args=[],
                    keywords=[])))
                self.saved_counters.add(count)
        if isinstance(s, ir.For):
            it = ir.atom_ast(s.iter)
            if breaks:
                it = ast.Subscript(value=it, slice=ast.Slice(upper=name_load(count)),
                                   ctx=ast.Load())
            loop = ast.For(target=ir.target_ast(s.target), iter=call("reversed", it), body=body,
                           orelse=[], lineno=0)
        else:
            loop = ast.For(target=ast.Name(id="_", ctx=ast.Store()),
                           iter=call("range", name_load(count)), body=body, orelse=[], lineno=0)
        return pre + [loop]

    def replace_restores(self, stmts) -> list:
        out = []
        for st in stmts:
            if isinstance(st, _RestorePart):
                if id(st.s) in self.restoring:
                    out += self.restore_part(st.s)
                continue
            if isinstance(st, _Restore):
                if st.name in self.saved:
                    out.append(assign(st.name, ast.Call(func=ast.Attribute(
                        value=name_load(self.stack(st.name)), attr="pop", ctx=ast.Load()),
                        args=[], keywords=[])))
                continue
            for field in ("body", "orelse"):
                if isinstance(getattr(st, field, None), list):
                    new = self.replace_restores(getattr(st, field))
                    setattr(st, field, new or ([ast.Pass()] if field == "body" else []))
            out.append(st)
        return out


_ELEMENTWISE_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)


def _operands(expr):
    """The operands of the elementwise arithmetic at the top of `expr` (through + - * /,
    unary minus and NumPy's numeric ufuncs): each one's shape and dtype reach the result."""
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, _ELEMENTWISE_OPS):
        yield from _operands(expr.left)
        yield from _operands(expr.right)
    elif isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd)):
        yield from _operands(expr.operand)
    elif isinstance(expr, ast.Call) and _is_numeric_ufunc(expr.func):
        for a in expr.args:
            yield from _operands(a)
    else:
        yield expr


def _is_numeric_ufunc(func) -> bool:
    """`np.<ufunc>` that never returns booleans (np.isnan does)."""
    import numpy as np
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and
            func.value.id == "np"):
        return False
    u = getattr(np, func.attr, None)
    return isinstance(u, np.ufunc) and all(t[-1] != "?" for t in u.types)


def _args(names) -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[ast.arg(arg=n) for n in names], vararg=None,
                         kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])


def _resolve_marks(stmts, last):
    """The line comments of the reverse sweep `stmts` where the user line changes, in the
    order it runs (a reversed loop's body follows its own last line, the previous
    iteration's), given the line marked `last` before; and the line marked last after."""
    out = []
    for st in stmts:
        if isinstance(st, _Mark):
            if st.line != last:
                out.append(line_mark(st.line))
                last = st.line
            continue
        if isinstance(st, ast.If):
            st.body, last = _resolve_marks(st.body, last)
            st.orelse, last = _resolve_marks(st.orelse, last)
        elif isinstance(st, ast.For):
            lines = list(_mark_lines(st.body))
            st.body, last = _resolve_marks(st.body, lines[-1] if lines else last)
        out.append(st)
    return out, last


def _mark_lines(stmts):
    """The lines of the placeholders in `stmts`, in order."""
    for st in stmts:
        if isinstance(st, _Mark):
            yield st.line
        elif isinstance(st, ast.If):
            yield from _mark_lines(st.body)
            yield from _mark_lines(st.orelse)
        elif isinstance(st, ast.For):
            yield from _mark_lines(st.body)
