"""What the reverse sweep needs to know about the primal before it emits anything.

`facts` reads the SSA once: which names are overwritten (so their values go on stacks),
which assignments overwrite nothing, which values a loop recomputes instead of saving,
which names a branch may leave unassigned, which sequences are ragged, and per
control-flow statement what it touches and whether it runs inside a loop or breaks.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import ir, rules
from ..activity import SEQ, Activity
from ..lower import PACK_LIST, PACK_TUPLE
from ..rules import FLOAT
from ..rules.core import LIST_APPEND


@dataclass
class Facts:
    """Static facts about the primal the reverse emitter reads (none depends on adjoints)."""
    overwritten: set      # names assigned more than once, in a loop, or parameters reassigned
    first_defs: set       # id(statement): top-level first definitions (overwrite nothing)
    for_targets: set      # loop variables (the reverse loop rebinds them itself)
    maybe_unbound: set    # names some path leaves unassigned
    ragged: set           # sequences whose items' shapes may differ, and what comes of them
    remat: dict           # name -> (statement, expression): recomputed, never saved
    defined_early: set    # names assigned at the top level before any control flow
    touched: dict         # id(control flow) -> the names it reads or assigns inside
    lines: dict           # id(control flow) -> the user lines of the statements inside
    nested: set           # id(loop) of loops inside loops
    breaks: set           # id(loop) of loops that may stop early (while, break)


def facts(fn: ir.Function, act: Activity) -> Facts:
    defs: dict = {}
    in_loop: set = set()
    first_defs: set = set()

    def count(stmts, depth):
        for s in stmts:
            for t in ir.targets(s):
                if not depth and t not in defs and t not in fn.params:
                    first_defs.add(id(s))          # overwrites nothing: never saved
                defs[t] = defs.get(t, 0) + 1
                if depth:
                    in_loop.add(t)
            for b in ir.blocks(s):
                count(b, depth + isinstance(s, (ir.For, ir.While)))
    count(fn.body, 0)

    touched, lines, nested, breaks = {}, {}, set(), set()

    def control(stmts, loops):
        for s in stmts:
            blocks = ir.blocks(s)
            if not blocks:
                continue
            inner = [x for b in blocks for x in ir.walk(b)]
            touched[id(s)] = {n for x in inner for n in [*ir.reads(x), *ir.targets(x)]}
            lines[id(s)] = {x.line for x in inner}
            is_loop = isinstance(s, (ir.For, ir.While))
            if is_loop and loops:
                nested.add(id(s))
            if isinstance(s, ir.While) or (isinstance(s, ir.For) and _has_break(s.body)):
                breaks.add(id(s))
            for b in blocks:
                control(b, loops + is_loop)
    control(fn.body, 0)

    early = set(fn.params)
    for s in fn.body:
        if isinstance(s, ir.Assign):
            early |= set(ir.targets(s))
        elif ir.blocks(s):
            break
    return Facts(
        overwritten={n for n, c in defs.items() if c > 1 or n in in_loop}
        | {p for p in fn.params if p in defs},
        first_defs=first_defs,
        for_targets={s.target for s in ir.walk(fn.body) if isinstance(s, ir.For)},
        maybe_unbound={t for st in ir.walk(fn.body) for t in ir.targets(st)}
        - _assigned(fn.body, set(fn.params)),
        ragged=_ragged(fn, act),
        remat=_rematerialized(fn, act, fn.body[:-1], defs),
        defined_early=early, touched=touched, lines=lines, nested=nested, breaks=breaks)


def _rematerialized(fn: ir.Function, act: Activity, body, defs) -> dict:
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
    for y in ir.walk(fn.body):
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
            if defs.get(n) != 1 or act.kinds.get(n) != FLOAT or \
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

