"""Reverse-mode pass: a forward sweep, then the adjoints (`x_bar`) in reverse order.

The forward sweep is the primal. A value the reverse sweep reads and that the
primal overwrites (a variable assigned in a loop or in several places) is pushed
on its stack before it is overwritten and popped back after its adjoint, so the
reverse sweep always sees the values of the moment it undoes. Loops run
backwards (`reversed(range)`, or a recorded iteration count for loops that
`break`); branches replay from their recorded test value. Whether an adjoint is
first assigned or accumulated is decided here, statically, per name.

A full reduction's adjoint is `out_bar` broadcast over `x`; in straight-line code it
stays *lazy*: the scalar itself, which every elementwise rule and indexing adjoint
broadcasts correctly (`100.0 * g` costs nothing where `100.0 * broadcast_to(g, x)` is a
pass over x). Any other consumer, and control flow, gets it broadcast (`unreduce`) first.
"""
from __future__ import annotations

import ast

from . import ir, rules, runtime
from .activity import SEQ, Activity
from .emit import (Emitted, Emitter, assign, bound_params, call, callee_args, line_mark,
                   name_load, sum_exprs)
from .errors import UnsupportedSyntaxError
from .lower import PACK_LIST, PACK_TUPLE, UserCall
from .rules.core import LIST_APPEND
from .rules import FLOAT
from .rules.helpers import BROADCASTING, FULL_BROADCAST, SCATTER, SHAPE_OF_SECOND
from .optimize import nodes

LIVE = "live"
OWNED = "owned"          # live, and an array no other name refers to: safe to add into in place


class _Restore(ast.Expr):
    """Placeholder: pop `name` back from its stack, if it turns out to be saved."""

    def __init__(self, name):
        super().__init__(value=ast.Constant(None))
        self.name = name


def reverse(fn: ir.Function, act: Activity, wrt: list, build_callee, with_value: bool = False,
            single: bool = True, split: bool = False) -> Emitted:
    """The adjoint function: `f_grad(*params, d_out=1.0)` returns the gradient for `wrt`
    (a tuple of them unless `single`), or `(value, gradient)` `with_value`.

    `split` gives two functions instead, for a helper called from differentiated code:
    `f_fwd(*params)` returns `(value, residuals)` and `f_bwd(residuals, d_out)` the
    gradients, so the helper's primal runs once.
    """
    em = _Reverse(fn, act, build_callee)
    trees = em.function(wrt, with_value, split, single)
    return Emitted(trees, em.injected, em.adjoint_names())


class _Reverse(Emitter):
    suffix = "bar"

    def __init__(self, fn: ir.Function, act: Activity, build_callee):
        super().__init__(fn, act, build_callee)
        defs: dict = {}
        self.loop_depth_of: dict = {}
        self.first_defs: set = set()
        self._count_defs(fn.body, defs, 0)
        self.for_targets = {s.target for s in ir.walk(fn.body) if isinstance(s, ir.For)}
        self.overwritten = {n for n, c in defs.items() if c > 1 or self.loop_depth_of.get(n)} \
            | {p for p in fn.params if p in defs}
        self.counters: dict = {}           # loop -> its iteration counter (loops that break)
        self.saved_counters: set = set()   # counters of loops inside loops, kept on stacks
        self.zero_on_consume: set = set()
        self.lazy: set = set()             # names whose adjoint may be lazy (see the docstring)
        self.wide: set = set()             # names whose adjoint's dtype is at least the primal's
        self.lazy_def: dict = {}           # lazy name -> the statement that assigned it
        self.depth = 0                     # control-flow nesting in the reverse sweep
        self.last_rev_line = None          # the user line the reverse sweep marked last
        self.loop_memo: dict = {}          # see _rev_loop_once
        self.lines_in: dict = {}
        self.maybe_unbound = {t for st in ir.walk(fn.body) for t in ir.targets(st)} - \
            _assigned(fn.body, set(fn.params))
        self.ragged = _ragged(fn, act)
        self.d_out = self.new_name("d_out")
        self.splits: dict = {}             # id(statement) -> its helper call's split halves
        self.seq_bars: set = set()         # adjoints assigned a tuple or list somewhere
        self.remat = self.find_rematerialized(fn.body[:-1], defs)
        self.saved: set = set()            # primal values kept for the reverse sweep
        self.shape_only: set = set()       # ... of which only the shape is kept

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
            if state.get(p) in (LIVE, OWNED):
                g = name_load(self.d(p))
                grads.append(call("float", g) if self.is_float(pa) else call("grad_like", g, name_load(p)))
            else:
                grads.append(ast.Constant(0.0) if self.is_float(pa)
                             else call("grad_like", ast.Constant(0.0), name_load(p)))
        primal_names = set(fn.params) | {t for s in ir.walk(fn.body) for t in ir.targets(s)} \
            | {sp[2] for sp in self.splits.values()}
        rev_names = [n for st in rev + grads for n in nodes(st)]
        needed = {n.id for n in rev_names if isinstance(n, ast.Name) and n.id in primal_names}
        counters = self.saved_counters
        self.saved = ((needed & self.overwritten) - self.for_targets - set(self.remat)) | counters
        self.shape_only = self.shape_only_reads(rev_names, self.saved)
        rev = self.replace_restores(rev)

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

    def find_rematerialized(self, body, defs) -> dict:
        """Scalars a loop computes by one cheap elementwise call (`v1 = math.sin(x)`) whose
        inputs, followed back through other such values, do not change before the value's
        last use in the iteration: the reverse sweep recomputes them where it needs them
        instead of keeping them on a stack, as a careful person would."""
        out = {}

        def reads_in(x) -> set:
            return {n for y in [x] + [z for b in ir.blocks(x) for z in ir.walk(b)]
                    for n in ir.reads(y)}

        def targets_in(x) -> set:
            return {t for y in [x] + [z for b in ir.blocks(x) for z in ir.walk(b)]
                    for t in ir.targets(y)}

        total_reads: dict = {}
        for y in ir.walk(self.fn.body):
            for n in ir.reads(y):
                total_reads[n] = total_reads.get(n, 0) + 1

        def visit(stmts, in_loop):
            accepted: dict = {}                  # name -> (position, leaf inputs)
            for k, st in enumerate(stmts):
                for b in ir.blocks(st):
                    visit(b, in_loop or isinstance(st, (ir.For, ir.While)))
                if not in_loop or not isinstance(st, ir.Assign) or isinstance(st.target, tuple):
                    continue
                n, v = st.target, st.value
                if defs.get(n) != 1 or self.act.kinds.get(n) != FLOAT or \
                        not isinstance(v, ir.Call) or not isinstance(v.prim, rules.Rule) or \
                        v.prim.kind not in ("elementwise", FLOAT) or len(v.args) > 2 or v.kwargs:
                    continue
                names = {a.id for a in v.args if isinstance(a, ir.Name)}
                if n in names or any(m in out and m not in accepted for m in names):
                    continue                     # a dependency rematerialized elsewhere
                first = min([k] + [accepted[m][0] for m in names if m in accepted])
                leaves = set().union(*[accepted[m][1] if m in accepted else {m} for m in names])
                later = stmts[k + 1:]
                uses = [j for j, x in enumerate(later) if n in reads_in(x)]
                inside = sum(1 for x in later for y in [x] + [z for b in ir.blocks(x)
                                                            for z in ir.walk(b)]
                             if n in ir.reads(y))
                if inside != total_reads.get(n, 0):
                    continue                     # read outside this block
                last = k + 1 + max(uses) if uses else k
                changed = set().union(*[targets_in(x) for x in stmts[first + 1:last + 1]]) \
                    - set(accepted) - {n}
                if changed & leaves:
                    continue
                accepted[n] = (k, leaves)
                out[n] = (st, ir.expr_ast(v))
        visit(body, False)
        return out

    def recompute(self, out: list) -> list:
        """Statements recomputing the rematerialized values `out` reads (and those they
        need), in program order, under names of their own (the forward sweep's stay single
        use); `out` is renamed to read them."""
        read = {n.id for st in out for n in nodes(st) if isinstance(n, ast.Name)}
        todo, want = list(read & set(self.remat)), set()
        while todo:
            n = todo.pop()
            if n not in want:
                want.add(n)
                todo += [m.id for m in nodes(self.remat[n][1])
                         if isinstance(m, ast.Name) and m.id in self.remat]
        rename = {n: self._remat_name(n) for n in want}
        for node in (x for st in out for x in nodes(st)):
            if isinstance(node, ast.Name) and node.id in rename:
                node.id = rename[node.id]
        made = []
        for n in self.remat:
            if n in want:
                expr = rules.clone(self.remat[n][1])
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
        never_defined = self._maybe_undefined(self.saved) - counters
        for n in sorted(self.saved, key=self._order):
            if n in never_defined:
                pre.append(assign(n, ast.Constant(None)))
            pre.append(assign(self.stack(n), ast.List(elts=[], ctx=ast.Load())))
        return pre

    def split_functions(self, wrt, fwd, rev, grads, ret, counters):
        fn = self.fn
        pre = self.stacks(counters)
        forward_part = pre + fwd
        stored = set(fn.params) | {n.id for st in forward_part for n in ast.walk(st)
                                   if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        result = ast.Tuple(elts=grads, ctx=ast.Load())
        residuals = sorted({n.id for st in rev + [result] for n in ast.walk(st)
                            if isinstance(n, ast.Name) and n.id in stored
                            and n.id not in self.for_targets}, key=self._order)
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
    def _count_defs(self, stmts, defs, depth):
        for s in stmts:
            for t in ir.targets(s):
                if not depth and t not in defs and t not in self.fn.params:
                    self.first_defs.add(id(s))          # overwrites nothing: never saved
                defs[t] = defs.get(t, 0) + 1
                if depth:
                    self.loop_depth_of[t] = depth
            if isinstance(s, (ir.For, ir.While)):
                self._count_defs(s.body, defs, depth + 1)
            elif isinstance(s, ir.If):
                self._count_defs(s.body, defs, depth)
                self._count_defs(s.orelse, defs, depth)

    def _order(self, n):
        return (n not in self.fn.params, n)

    def _maybe_undefined(self, names) -> set:
        """Those of `names` with no top-level definition before their first nested one."""
        defined = set(self.fn.params)
        for s in self.fn.body:
            if isinstance(s, ir.Assign):
                defined |= set(ir.targets(s))
            elif ir.blocks(s):
                break
        return names - defined

    def stack(self, n: str) -> str:
        key = ("stack", n)
        if key not in self.derived:
            self.derived[key] = self.new_name(f"{n}_stack")
        return self.derived[key]

    # ------------------------------------------------------------ forward sweep
    def fwd_block(self, stmts, in_loop=False) -> list:
        out = []
        for s in stmts:
            self.mark(s, out)
            if isinstance(s, ir.Assign):
                split = self.splits.get(id(s))
                for t in ir.targets(s) + ((split[2],) if split else ()):
                    if t in self.saved and id(s) not in self.first_defs:
                        # only the shape of a value some adjoint unbroadcasts to is kept
                        kept = ast.Call(func=ast.Attribute(value=name_load("np"), attr="shape",
                                                           ctx=ast.Load()),
                                        args=[name_load(t)], keywords=[]) \
                            if t in self.shape_only else name_load(t)
                        out.append(ast.Expr(ast.Call(
                            func=ast.Attribute(value=name_load(self.stack(t)), attr="append",
                                               ctx=ast.Load()), args=[kept], keywords=[])))
                if split:
                    fwd, _, res, atoms, _ = split
                    out.append(assign((s.target, res), call(fwd, *map(ir.atom_ast, atoms))))
                else:
                    out.append(assign(s.target, ir.expr_ast(s.value)))
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
        """Add `expr` to the adjoint of `name`; `lazy` (see the module docstring) and
        `wide` (its dtype is at least the primal's, see `_wide`) describe `expr`."""
        bar = self.d(name)
        index = self.unindex_parts(expr)
        first = state.get(name) not in (LIVE, OWNED)
        if state.get(name) == OWNED and index is not None:
            g, idx = index                     # x_bar[idx] += g, without a zero array of x's size
            out.append(assign(bar, self.helper_call(runtime.index_add, name_load(bar), idx, g)))
            return
        literal = isinstance(expr, (ast.Tuple, ast.List))
        if literal:
            self.seq_bars.add(name)
        if state.get(name) in (LIVE, OWNED):
            if name in self.seqs or name in self.seq_bars:   # lists, tuples: item by item
                expr = call("add_items", name_load(bar), expr)
                state[name] = LIVE
            elif state[name] == OWNED and not self.is_float(ir.Name(name)):
                # an array only this adjoint holds: add into it, as a careful person would
                out.append(ast.AugAssign(target=ast.Name(id=bar, ctx=ast.Store()), op=ast.Add(),
                                         value=expr))
                return
            else:
                wide = wide or name in self.wide or self._wide(expr, name)
                expr = ast.BinOp(left=name_load(bar), op=ast.Add(), right=expr)
                lazy = lazy and name in self.lazy
                # a full sum is a new array; += into it must not narrow its dtype
                state[name] = OWNED if wide and not lazy else LIVE
                self._set(self.wide, name, wide)
        else:
            # a new array no other name holds, and at least as wide as the primal (so that
            # += of a later term neither narrows nor fails): unindex's zeros, or arithmetic
            # on the primal itself
            wide = index is not None or (not literal and isinstance(expr, (ast.BinOp, ast.UnaryOp))
                                         and (wide or self._wide(expr, name)))
            state[name] = OWNED if wide and not lazy else LIVE
            self._set(self.wide, name, wide)
        self._set(self.lazy, name, lazy)
        node = assign(bar, expr)
        if lazy and first:
            self.lazy_def[name] = node     # materialize() may broadcast right here
        else:
            self.lazy_def.pop(name, None)
        out.append(node)

    @staticmethod
    def _set(names: set, name: str, member: bool):
        if member:
            names.add(name)
        else:
            names.discard(name)

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
            self.lazy.discard(n)
            self.lazy_def.pop(n, None)
            self.wide.discard(n)
            restored = restore and n in self.overwritten and n not in self.for_targets and \
                n not in self.remat
            if restored:
                out.append(_Restore(n))
            if n in self.zero_on_consume and n in self.act.active:
                self.zero(n, state, out, bound=restored)
            else:
                state.pop(n, None)

    def rev_stmt(self, s, state) -> list:
        out: list = []
        if isinstance(s, ir.Assign):
            targets = ir.targets(s)
            live = [t for t in targets if state.get(t) in (LIVE, OWNED) and t in self.act.active]
            if live:
                self.rev_assign(s, state, out)
            if self.remat and out:
                out[:0] = self.recompute(out)
            if id(s) in self.splits:
                targets = targets + (self.splits[id(s)][2],)
            self.consume(targets, state, out, restore=id(s) not in self.first_defs)
            if out:
                self.mark_rev(s, out)
            return out
        if isinstance(s, ir.If):
            return self.rev_if(s, state)
        if isinstance(s, (ir.For, ir.While)):
            return self.rev_loop(s, state)
        return out                                       # break, continue: nothing to undo

    def mark_rev(self, s, out):
        if s.line in self.fn.source_lines and s.line != self.last_rev_line:
            self.last_rev_line = s.line
            out.insert(0, line_mark(s.line))

    def rev_assign(self, s: ir.Assign, state, out):
        v = s.value
        if isinstance(s.target, tuple):
            for t in s.target:
                self.materialize(t, out)
            elts = [name_load(self.d(t)) if state.get(t) in (LIVE, OWNED) and t in self.act.active
                    else self.zeros(ir.Name(t)) for t in s.target]
            if self.active(v):
                self.accumulate(v.id, ast.Tuple(elts=elts, ctx=ast.Load()), state, out)
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
        bound = bound_params(v)
        extra = {"out_bar": out_bar}
        if prim.vjp_shared is not None:      # the adjoints of all arguments at once: once
            shared = self.template(prim.vjp_shared, s, extra)
            if sum(self.active(bound.get(p)) for p in prim.diff_params) > 1:
                name = self.new_name(f"{s.target}_vjp")
                out.append(assign(name, shared))
                shared = name_load(name)
            extra["SHARED"] = shared
        contributions: dict = {}             # one statement per input, even for x * x
        for p in prim.diff_params:
            a = bound.get(p)
            if a is None or not self.active(a):
                continue
            tmpl = prim.vjp.get(p)
            if tmpl is None:
                raise UnsupportedSyntaxError(f"{prim.name or prim.key} has no reverse-mode rule "
                                             f"for argument {p!r}", self.fn.filename, s.line)
            expr, made_lazy = self.lazify(self.template(tmpl, s, extra), a.id)
            contributions.setdefault(a.id, []).append((expr, made_lazy))
        lazy_in = s.target in self.lazy
        if lazy_in and not self._lazy_safe(v, [e for c in contributions.values() for e, _ in c]):
            self.materialize(s.target, out)
            lazy_in = False
        wide_bar = out_bar.id if s.target in self.wide and (
            isinstance(prim, rules.IndexRule) or prim.kind == "elementwise") else None
        for name, parts in contributions.items():
            expr = sum_exprs([e for e, _ in parts])
            lazy = (lazy_in or any(m for _, m in parts)) and not self._full(expr, name)
            self.accumulate(name, expr, state, out, lazy=lazy,
                            wide=self._wide(expr, name, wide_bar))

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

    def lazify(self, expr: ast.expr, target: str):
        """Drop a full reduction's `unreduce(E, x)` where only elementwise arithmetic
        surrounds it: E then broadcasts to the adjoint of `target` (an array, not a list).
        Returns the expression and whether it dropped one."""
        if self.depth or self.act.kind(ir.Name(target)) != rules.ANY or \
                target in self.seqs or target in self.seq_bars:
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
        `unbroadcast(g, name)`."""
        total: dict = {}
        shape: dict = {}
        for node in nodes:
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in names:
                total[node.id] = total.get(node.id, 0) + 1
            if self.helper_of(node) is SHAPE_OF_SECOND and len(node.args) == 2 and \
                    isinstance(node.args[1], ast.Name):
                shape[node.args[1].id] = shape.get(node.args[1].id, 0) + 1
        return {n for n in total if shape.get(n) == total[n]}

    def rev_user_call(self, s, state, out):
        if id(s) not in self.splits:
            return
        fwd, bwd, res, atoms, wrt = self.splits[id(s)]
        v = s.value
        key = ("parts", id(s))
        if key not in self.derived:
            self.derived[key] = [self.new_name(f"{atoms[i].id}_bar_{v.prim.name}") for i in wrt]
        parts = self.derived[key]
        out.append(assign(tuple(parts), call(bwd, name_load(res), name_load(self.d(s.target)))))
        for i, part in zip(wrt, parts):
            self.accumulate(atoms[i].id, name_load(part), state, out)

    def reconcile(self, state, want, out):
        """Make every name LIVE in `want` LIVE in `state`, by zero-initialising it (`stacks`
        gives n a None first where n may not exist on this path: zeros_like(None) is a zero
        no one reads, since n's own adjoint code runs only where n was assigned)."""
        for n in sorted(want):
            if want[n] in (LIVE, OWNED) and state.get(n) not in (LIVE, OWNED):
                self.zero(n, state, out)

    def zero(self, n: str, state, out: list, bound: bool = False):
        """Set the adjoint of `n` to a new zero: an array of n's shape and dtype, which only
        this adjoint holds; or 0.0, which reads nothing and every adjoint operation takes as
        a zero of any shape, where `n` may be unassigned on this path (unless `bound`: n was
        just popped back, None where it was unassigned) or its shape may differ from one item
        of a sequence to the next; for a sequence whose items' shapes may differ (`[W, b]`:
        zeros_like cannot make an array of it), one 0.0 per item. Neither is owned: terms
        add to them item by item (add_items), never in place."""
        if (n in self.maybe_unbound and not bound) or n in self.ragged:
            zero = ast.Constant(0.0)
            if n in self.ragged and n in self.seqs and n not in self.maybe_unbound:
                zero = ast.BinOp(left=ast.List(elts=[zero], ctx=ast.Load()), op=ast.Mult(),
                                 right=call("len", name_load(n)))
            out.append(assign(self.d(n), zero))
            state[n] = LIVE
            self.wide.discard(n)
            return
        out.append(assign(self.d(n), self.zeros(ir.Name(n))))
        state[n] = OWNED                         # a new zero array, of n's dtype
        self.wide.add(n)

    @staticmethod
    def _touched(s) -> set:
        """The names a control-flow statement reads or assigns (so whose adjoints it may use)."""
        inner = [x for b in ir.blocks(s) for x in ir.walk(b)]
        return {n for x in inner for n in [*ir.reads(x), *ir.targets(x)]}

    def materialize_for(self, s, state) -> list:
        """Lazy adjoints a control-flow statement touches, broadcast before it."""
        pre: list = []
        if self.lazy:
            for n in sorted(self.lazy & self._touched(s) & set(state)):
                self.materialize(n, pre)
        return pre

    def _wide_after(self, entry: set, touched: set, state):
        """`self.wide` after control flow: what it touched is wide only where owned (owned
        adjoints are wide on every path); each path starts from `entry`."""
        self.wide = entry | {n for n in touched if state.get(n) == OWNED}

    def rev_if(self, s: ir.If, state) -> list:
        pre = self.materialize_for(s, state)
        touched = self._touched(s)
        entry = self.wide - touched
        self.depth += 1
        s_body, s_else = dict(state), dict(state)
        self.wide = set(entry)
        body = self.rev_block(s.body, s_body)
        self.wide = set(entry)
        orelse = self.rev_block(s.orelse, s_else)
        self.depth -= 1
        merged = {n: OWNED if s_body.get(n) == OWNED and s_else.get(n) == OWNED else LIVE
                  for n in set(s_body) | set(s_else)}
        self.reconcile(s_body, merged, body)
        self.reconcile(s_else, merged, orelse)
        state.clear()
        state.update(merged)
        self._wide_after(entry, touched, state)
        if not body and not orelse:
            return pre
        return pre + [ast.If(test=ir.atom_ast(s.test), body=body or [ast.Pass()], orelse=orelse)]

    def rev_loop(self, s, state) -> list:
        lazy_pre = self.materialize_for(s, state)
        touched = self._touched(s)
        entry = self.wide - touched
        self.depth += 1
        try:
            return lazy_pre + self._rev_loop_once(s, state, entry)
        finally:
            self.depth -= 1
            self._wide_after(entry, touched, state)

    def _rev_loop_once(self, s, state, wide_entry: set) -> list:
        """`_rev_loop`, memoized on everything it reads: the fixpoints of an enclosing loop
        re-run its body, and without this each level of nesting would triple the work."""
        lines = self._lines_in(s)
        line = self.last_rev_line if self.last_rev_line in lines else _ELSEWHERE
        key = (id(s), tuple(sorted(state.items())), frozenset(wide_entry),
               frozenset(self.zero_on_consume), line, frozenset(self.seq_bars),
               frozenset(self.lazy))
        hit = self.loop_memo.get(key)
        if hit is None:
            out = self._rev_loop(s, state, wide_entry)
            after = self.last_rev_line if self.last_rev_line in lines else _ELSEWHERE
            self.loop_memo[key] = hit = (out, dict(state), after, set(self.seq_bars))
        out, after, line, seq = hit
        state.clear()
        state.update(after)
        if line is not _ELSEWHERE:           # else it marked no line: the last mark stands
            self.last_rev_line = line
        self.seq_bars |= seq
        return out

    def _lines_in(self, s) -> set:
        """The user lines of the statements inside control-flow statement `s`."""
        lines = self.lines_in.get(id(s))
        if lines is None:
            lines = self.lines_in[id(s)] = {x.line for b in ir.blocks(s) for x in ir.walk(b)}
        return lines

    def _rev_loop(self, s, state, wide_entry: set) -> list:
        # fixpoint: the adjoint state at the start of the reversed body equals that at its end
        start = dict(state)
        saved_zero = set(self.zero_on_consume)
        while True:
            trial = dict(start)
            self.wide = set(wide_entry)
            self.rev_block(s.body, trial)
            grown = {n: LIVE for n in set(start) | set(trial)}
            if grown.keys() == start.keys():
                break
            start = grown
        consumed_live = {n for n in start if trial.get(n) not in (LIVE, OWNED)}
        self.zero_on_consume = saved_zero | consumed_live
        pre: list = []
        self.reconcile(state, start, pre)
        # which adjoints stay arrays of their own across iterations (so += may add into them)
        start = {n: OWNED if state.get(n) == OWNED else LIVE for n in start}
        while True:
            trial = dict(start)
            self.wide = set(wide_entry)
            self.rev_block(s.body, trial)
            lost = [n for n, v in start.items() if v == OWNED and trial.get(n) != OWNED]
            if not lost:
                break
            for n in lost:
                start[n] = LIVE
        body_state = dict(start)
        self.wide = set(wide_entry)
        body = self.rev_block(s.body, body_state)
        self.reconcile(body_state, start, body)
        self.zero_on_consume = saved_zero
        state.clear()
        state.update(start)
        if not body:
            return pre
        breaks = isinstance(s, ir.While) or _has_break(s.body)
        if breaks:
            count = self.counters.get(id(s)) or self.new_name("count")
            self.counters[id(s)] = count
            if self._in_loop(s):
                self.overwritten.add(count)
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

    def _in_loop(self, loop) -> bool:
        def find(stmts, depth):
            for x in stmts:
                if x is loop:
                    return depth > 0
                for b in ir.blocks(x):
                    r = find(b, depth + isinstance(x, (ir.For, ir.While)))
                    if r is not None:
                        return r
            return None
        return bool(find(self.fn.body, 0))

    def replace_restores(self, stmts) -> list:
        out = []
        for st in stmts:
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


_ELSEWHERE = object()              # a line outside the statement at hand
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


def _ragged(fn: ir.Function, act: Activity) -> set:
    """Sequences whose items' shapes may differ (`[W, b]`, a list argument), the items taken
    from them, and what is built from those: no single array is a zero adjoint of them."""
    out = {p for p in fn.params if act.kind(ir.Name(p)) == SEQ}
    changed = True
    while changed:
        changed = False
        for st in ir.walk(fn.body):
            if not isinstance(st, ir.Assign) or isinstance(st.target, tuple) or \
                    st.target in out:
                continue
            v = st.value
            if isinstance(v, ir.Name):
                hit = v.id in out
            elif not isinstance(v, ir.Call):
                hit = False
            elif v.prim in (PACK_LIST, PACK_TUPLE):
                hit = any(isinstance(a, ir.Name) and a.id in out for a in v.args) or \
                    not all(act.same_shape(a, v.args[0]) for a in v.args)
            elif v.prim is LIST_APPEND or isinstance(v.prim, rules.IndexRule):
                hit = any(isinstance(a, ir.Name) and a.id in out for a in v.args[:2])
            else:
                hit = False
            if hit:
                out.add(st.target)
                changed = True
    return out


def _assigned(stmts, before: set) -> set:
    """The names assigned on every path through `stmts` (a loop's body may not run)."""
    done = set(before)
    for s in stmts:
        if isinstance(s, ir.Assign):
            done |= set(ir.targets(s))
        elif isinstance(s, ir.If):
            done = _assigned(s.body, done) & _assigned(s.orelse, done)
    return done


def _has_break(stmts) -> bool:
    for s in stmts:
        if isinstance(s, ir.Break):
            return True
        if isinstance(s, ir.If) and (_has_break(s.body) or _has_break(s.orelse)):
            return True
    return False

