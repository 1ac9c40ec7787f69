"""What the reverse sweep needs to know before it emits anything.

`facts` reads the SSA once: which names are overwritten (so their values go on stacks),
which assignments overwrite nothing, which values a loop recomputes instead of saving,
which names a branch may leave unassigned, which sequences are ragged, and per
control-flow statement what it touches, whether it runs inside a loop or breaks, and
which statements are inside control flow.

`Adjoints` is what each adjoint is at each point of the reverse sweep: absent, LIVE
(assigned), or OWNED (live, and an array no other name holds, so `+=` may add into it),
whether it is *wide* (its dtype at least its primal's) and which adjoints have been
assigned a tuple or list. Its transfer functions work on sets of names, given each
statement's `Term`s; a loop's state (what is live at the start of each reversed
iteration, what the body must zero when it consumes it) is their fixpoint, memoized on
its inputs, so nested loops cost linear time. The emitter applies the same transfer
functions once per statement while it emits, and reads the loops' fixpoints from here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .. import ir, rules
from ..activity import SEQ, SEQS, Activity
from ..lower import PACK_LIST, PACK_TUPLE
from ..rules import FLOAT
from ..rules.core import LIST_APPEND


LIVE = "live"
OWNED = "owned"          # live, and an array no other name refers to: safe to add into in place
_HELD = (LIVE, OWNED)


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
    nested: set           # id(loop) of loops inside loops
    inside: set           # id(statement) of statements inside control flow
    breaks: set           # id(loop) of loops that may stop early (while, break)
    bound_before: dict    # id(if statement) -> the names every path to it has assigned
    # id(statement) -> the array an in-place update (`y[i] = v`, see rules.SetItemRule)
    # changes: its statement assigns that name itself, whose adjoint it replaces (the
    # adjoint of y's earlier value is y's adjoint with the overwritten part zeroed)
    updates: dict


def facts(fn: ir.Function, act: Activity) -> Facts:
    """The static facts of `fn` (see Facts), read from its SSA once."""
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
    _run_once_defs(fn, fn.body, 0, False, defs, first_defs)

    touched, nested, breaks = {}, set(), set()
    inside = {id(x) for s in fn.body for b in ir.blocks(s) for x in ir.walk(b)}

    def control(stmts, loops):
        for s in stmts:
            blocks = ir.blocks(s)
            if not blocks:
                continue
            inner = [x for b in blocks for x in ir.walk(b)]
            touched[id(s)] = {n for x in inner for n in [*ir.reads(x), *ir.targets(x)]}
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
        defined_early=early, touched=touched, nested=nested, breaks=breaks,
        inside=inside, updates=updates(fn.body), bound_before=_bound_before(fn))


def updates(body) -> dict:
    """id(statement) -> the array it updates in place, for the in-place updates in `body`."""
    return {id(s): s.target for s in ir.walk(body) if isinstance(s, ir.Assign) and
            isinstance(s.value, ir.Call) and isinstance(s.value.prim, rules.SetItemRule)}


@dataclass(frozen=True)
class Term:
    """What the analysis needs of an expression added to the adjoint of a name."""
    operands: frozenset = frozenset()  # names among its elementwise operands (see _wide)
    index: bool = False                # a scatter (unindex): new zeros of x's size, g at idx
    literal: bool = False              # a container of per-item adjoints (_container_valued)
    arith: bool = False                # arithmetic at its top: a new array
    via_bar: bool = False              # wide where the statement's target's adjoint is


@dataclass(frozen=True)
class Loop:
    """A loop's reverse sweep: the adjoints live at the start (and end) of each reversed
    iteration, and the adjoints its body zeroes when it consumes them (live across
    iterations: the previous iteration's value of the name starts at zero)."""
    entry: dict
    consumed: frozenset
    # adjoints of arrays the body updates in place (`y[i] = v`) that are not arrays of
    # their own before the loop: each is copied once there, so that every iteration zeroes
    # the overwritten entries in place rather than copying the whole adjoint
    owned_before: frozenset = frozenset()


class Adjoints:
    """The transfer functions of the reverse sweep over adjoint states (see the module
    docstring). `terms(s)` gives an assignment's (name, Term) pairs: what its adjoint
    code adds to which adjoint, in order, when its target's adjoint is live."""

    def __init__(self, facts: Facts, act: Activity, seqs: set,
                 terms: Callable[[ir.Assign], list]):
        self.facts = facts
        self.act = act
        self.seqs = seqs
        self.terms = terms
        self.seq_bars: set = set()         # adjoints assigned a tuple or list somewhere
        self.loops: dict = {}              # (id(loop), its context) -> Loop
        # backend="numba": one type per adjoint (Numba unifies no number with an array), so
        # the zero of a name that may be unassigned yet is zeros_like of its value (it is
        # declared None before: the optional-aware zero of numba_runtime), not 0.0
        self.typed_zeros: bool = False

    # -------------------------------------------------------------- one adjoint
    def accumulate(self, name: str, term: Term, state: dict, wide: set, lazy: set,
                   is_lazy: bool = False, is_wide: bool = False):
        """Add a term to the adjoint of `name`. Returns how ("index_add", "augassign",
        "add_items", "add", "assign") and whether the adjoint is then lazy; `is_lazy`
        and `is_wide` describe the term (see the emitter's docstring and `_wide`)."""
        held = state.get(name)
        if held == OWNED and term.index:
            return "index_add", False          # x_bar[idx] += g: no zeros of x's size
        if term.literal:
            self.seq_bars.add(name)
        if held in _HELD:
            if name in self.seqs or name in self.seq_bars:   # lists, tuples: item by item
                state[name] = LIVE
                how = "add_items"
            elif held == OWNED and self.act.kind(ir.Name(name)) != FLOAT:
                return "augassign", False     # an array only this adjoint holds: add into it
            else:
                w = is_wide or name in wide or name in term.operands
                is_lazy = is_lazy and name in lazy
                # a full sum is a new array; += into it must not narrow its dtype
                state[name] = OWNED if w and not is_lazy else LIVE
                _set(wide, name, w)
                how = "add"
        else:
            # a new array no other name holds, and at least as wide as the primal (so that
            # += of a later term neither narrows nor fails): unindex's zeros, or arithmetic
            # on the primal itself
            w = term.index or (not term.literal and term.arith and
                               (is_wide or name in term.operands))
            state[name] = OWNED if w and not is_lazy else LIVE
            _set(wide, name, w)
            how = "assign"
        _set(lazy, name, is_lazy)
        return how, is_lazy

    def zero(self, n: str, state: dict, wide: set, bound: bool = False) -> bool:
        """The adjoint of `n` set to a new zero; whether that zero is 0.0 (where n may be
        unbound, unless `bound`: just popped back, or ragged: LIVE, not wide) rather than a
        new array of n's (OWNED, wide)."""
        f = self.facts
        if self.typed_zeros and n in f.overwritten and n not in f.for_targets and \
                n not in f.remat and n not in self.seqs and \
                self.act.shape(ir.Name(n)) is not None:
            # saved, so declared None before its first assignment; every value of n has
            # one shape, so whichever n holds here (a later one, on a path not assigning
            # it) gives its zero the right shape
            bound = True
        if (n in self.facts.maybe_unbound and not bound) or n in self.facts.ragged:
            state[n] = LIVE
            wide.discard(n)
            return True
        state[n] = OWNED
        wide.add(n)
        return False

    def consumes(self, n: str, state: dict, wide: set, lazy: set, zeroed: set,
                 bound: bool = False) -> bool:
        """After the adjoint of n's definition: n's earlier value's adjoint starts at zero
        (where it is live across loop iterations, `zeroed`) or is absent. Whether zeroed.
        `bound`: n's earlier value was just popped back (see `restored`)."""
        lazy.discard(n)
        wide.discard(n)
        if n in zeroed and n in self.act.active:
            self.zero(n, state, wide, bound)
            return True
        state.pop(n, None)
        return False

    def missing(self, state: dict, want: dict) -> list:
        """The names live in `want` but not in `state`, in order: to zero-initialise."""
        return [n for n in sorted(want) if want[n] in _HELD and state.get(n) not in _HELD]

    @staticmethod
    def merged(a: dict, b: dict) -> dict:
        """The state after a branch: owned where both paths own it, else live."""
        return {n: OWNED if a.get(n) == OWNED and b.get(n) == OWNED else LIVE
                for n in set(a) | set(b)}

    def wide_entry(self, s, wide: set) -> set:
        """What is wide on entry to every path through control flow `s`."""
        return wide - self.facts.touched[id(s)]

    def wide_after(self, s, entry: set, state: dict) -> set:
        """What is wide after control flow `s`: what it touched only where owned (owned
        adjoints are wide on every path); each path starts from `entry`."""
        return entry | {n for n in self.facts.touched[id(s)] if state.get(n) == OWNED}

    # -------------------------------------------------------------- statements
    def block(self, stmts, state: dict, wide: set, zeroed: set):
        for s in reversed(stmts):
            if isinstance(s, ir.Assign):
                self.assign(s, state, wide, zeroed)
            elif isinstance(s, ir.If):
                self.branch(s, state, wide, zeroed)
            elif isinstance(s, (ir.For, ir.While)):
                self.loop_after(s, state, wide, zeroed)

    def assign(self, s: ir.Assign, state: dict, wide: set, zeroed: set):
        targets = ir.targets(s)
        if any(state.get(t) in _HELD and t in self.act.active for t in targets):
            target_wide = not isinstance(s.target, tuple) and s.target in wide
            for name, term in self.terms(s):
                self.accumulate(name, term, state, wide, set(),
                                is_wide=name in term.operands or (term.via_bar and target_wide))
            if id(s) in self.facts.updates:
                self.updated(s.target, state, wide)
        if id(s) in self.facts.updates:
            return                     # y's earlier value is y itself: its adjoint goes on
        for t in targets:
            self.consumes(t, state, wide, set(), zeroed, bound=self.restored(s, t))

    def updated(self, y: str, state: dict, wide: set):
        """After the adjoint of an in-place update of y: y's adjoint, its overwritten part
        zeroed in place or in a new copy, is an array of its own, at least as wide as y."""
        state[y] = OWNED
        wide.add(y)

    def restored(self, s: ir.Assign, n: str) -> bool:
        """Whether the reverse sweep pops n's earlier value back after s's adjoint."""
        f = self.facts
        return id(s) not in f.first_defs and n in f.overwritten and n not in f.for_targets \
            and n not in f.remat

    def branch(self, s: ir.If, state: dict, wide: set, zeroed: set):
        entry = self.wide_entry(s, wide)
        a, b = dict(state), dict(state)
        self.block(s.body, a, set(entry), zeroed)
        self.block(s.orelse, b, set(entry), zeroed)
        state.clear()
        state.update(self.merged(a, b))
        wide.clear()
        wide.update(self.wide_after(s, entry, state))

    def loop_after(self, s, state: dict, wide: set, zeroed: set):
        entry = self.wide_entry(s, wide)
        info = self.loop(s, state, entry, zeroed)
        state.clear()
        state.update(info.entry)
        wide.clear()
        wide.update(self.wide_after(s, entry, state))

    def loop(self, s, state: dict, wide_entry: set, zeroed: set) -> Loop:
        """The fixpoint of loop `s`'s reversed body from `state` (see Loop)."""
        key = (id(s), tuple(sorted(state.items())), frozenset(wide_entry), frozenset(zeroed),
               frozenset(self.seq_bars))
        hit = self.loops.get(key)
        if hit is not None:
            return hit
        # which adjoints are live: the state at the start of the body equals that at its end
        start = dict(state)
        while True:
            trial = dict(start)
            self.block(s.body, trial, set(wide_entry), zeroed)
            grown = {n: LIVE for n in set(start) | set(trial)}
            if grown.keys() == start.keys():
                break
            start = grown
        consumed = frozenset(n for n in start if trial.get(n) not in _HELD)
        before = dict(state)
        for n in self.missing(before, start):          # zeroed before the loop
            self.zero(n, before, set())
        owned_before = frozenset(
            y for y in {self.facts.updates[id(x)] for x in ir.walk(s.body)
                        if id(x) in self.facts.updates}
            if before.get(y) == LIVE and y in self.act.active)
        for y in owned_before:
            before[y] = OWNED
        # which adjoints stay arrays of their own across iterations (so += may add into them)
        start = {n: OWNED if before.get(n) == OWNED else LIVE for n in start}
        while True:
            trial = dict(start)
            self.block(s.body, trial, set(wide_entry), zeroed | consumed)
            lost = [n for n, v in start.items() if v == OWNED and trial.get(n) != OWNED]
            if not lost:
                break
            for n in lost:
                start[n] = LIVE
        self.loops[key] = hit = Loop(start, consumed, owned_before)
        return hit


def _set(names: set, name: str, member: bool):
    if member:
        names.add(name)
    else:
        names.discard(name)


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
    def named(atoms, out):
        return any(isinstance(a, ir.Name) and a.id in out for a in atoms)

    def reaches(v, out):
        if isinstance(v, ir.Name):
            return v.id in out
        if not isinstance(v, ir.Call):
            return False
        if v.prim in (PACK_LIST, PACK_TUPLE):
            return named(v.args, out) or not all(act.same_shape(a, v.args[0]) for a in v.args)
        if v.prim is LIST_APPEND or isinstance(v.prim, rules.IndexRule):
            return named(v.args[:2], out)
        return False
    return ir.grow(fn.body, {p for p in fn.params if act.kind(ir.Name(p)) in (SEQ, SEQS)}, reaches)


def _assigned(stmts, before: set) -> set:
    """The names assigned on every path through `stmts` (a loop's body may not run)."""
    done = set(before)
    for s in stmts:
        if isinstance(s, ir.Assign):
            done |= set(ir.targets(s))
        elif isinstance(s, ir.If):
            done = _assigned(s.body, done) & _assigned(s.orelse, done)
    return done


def _bound_before(fn) -> dict:
    """id(if statement) -> the names assigned on every path reaching it (in a loop's body:
    before it in the same iteration; a branch's names only where both branches assign
    them)."""
    out: dict = {}

    def walk(stmts, bound: set) -> set:
        for s in stmts:
            if isinstance(s, ir.If):
                out[id(s)] = frozenset(bound)
                bound = bound | (walk(s.body, set(bound)) & walk(s.orelse, set(bound)))
            elif isinstance(s, (ir.For, ir.While)):
                for b in ir.blocks(s):
                    walk(b, set(bound) | ({s.target} if isinstance(s, ir.For) and
                                          isinstance(s.target, str) else set()))
            else:
                bound = bound | set(ir.targets(s))
        return bound
    walk(fn.body, set(fn.params))
    return out


def _run_once_defs(fn, stmts, depth, leaves, defs, first_defs):
    """Add to `first_defs` the only definition of a name that stands in a loop inside no
    other loop and runs at most once per call: the loop's break follows it on every path (a
    `while True` loop's exit branch, `return` in a loop), so the name held nothing before
    it and its earlier value (or shape) needs no saving. `leaves`: whether the statements
    after `stmts`' own block reach that break with no continue."""
    for i, s in enumerate(stmts):
        rest = stmts[i + 1:]
        here = depth == 1 and (_breaks_after(rest) or (leaves and not _continues(rest)))
        if here:
            for t in ir.targets(s):
                if defs.get(t) == 1 and t not in fn.params:
                    first_defs.add(id(s))
        if isinstance(s, ir.If):
            for b in ir.blocks(s):
                _run_once_defs(fn, b, depth, here, defs, first_defs)
        elif isinstance(s, (ir.For, ir.While)):
            for b in ir.blocks(s):
                _run_once_defs(fn, b, depth + 1, False, defs, first_defs)


def _breaks_after(stmts) -> bool:
    """Whether `stmts` reach a break of their own block with no continue before it."""
    for j, s in enumerate(stmts):
        if isinstance(s, ir.Break):
            return not _continues(stmts[:j])
    return False


def _continues(stmts) -> bool:
    """Whether a continue stands anywhere in `stmts` (an inner loop's too: conservative)."""
    return any(isinstance(x, ir.Continue) for x in ir.walk(stmts))


def _has_break(stmts) -> bool:
    for s in stmts:
        if isinstance(s, ir.Break):
            return True
        if isinstance(s, ir.If) and (_has_break(s.body) or _has_break(s.orelse)):
            return True
    return False

