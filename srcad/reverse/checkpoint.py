"""Checkpointed loops in reverse mode.

A checkpointed loop is not taped: its body becomes a function of its own, `step` (a
block of iterations of the primal, a `for` loop over a part of the range, from the loop's
invariants and carried state to the loop's outputs; one iteration of a while loop) and
`back` (the same and its adjoint, built by the reverse emitter like any derivative: it
tapes one block), and the loop statement becomes one call of a runtime
schedule (`checkpointed_loop`: binomial checkpointing of a `for` loop over a range;
`checkpointed_while`: periodic snapshots of a `while` loop) that keeps snapshots of the
carried state only. The call is an ordinary rule call to the reverse emitter, whose adjoint
is `checkpoint_reverse`. `plan` makes the calls; the pipeline builds the functions.
"""
from __future__ import annotations

import ast

from .. import activity, ir, rules, runtime
from ..errors import UnsupportedSyntaxError
from ..lower import PACK_LIST, PACK_TUPLE, UserCall, _LiveAttr
from .analysis import _assigned


class LoopRule(rules.Rule):
    """The rule of one checkpointed loop's call: `checkpointed_loop(step, back, steps,
    *invariants, *state, ...)` (or `checkpointed_while`), whose result is the tuple of the
    loop's outputs; the adjoints of the arguments it differentiates come from
    `checkpoint_reverse`. `static` = (step, back, invariants, outputs, wrt)."""

    def emit(self, args, kwargs, static, names) -> ast.expr:
        step, back, n_inv, n_out, wrt = static
        head = [ast.Name(id=step, ctx=ast.Load()), ast.Name(id=back, ctx=ast.Load())]
        loop = self.name == "checkpointed_loop"
        rest = ([args[0]] if loop else []) + list(args[2 if loop else 1:])
        snapshots = args[1 if loop else 0]
        keywords = [ast.keyword(arg="invariants", value=ast.Constant(n_inv)),
                    ast.keyword(arg="outputs", value=ast.Constant(n_out)),
                    ast.keyword(arg="wrt", value=ir.const_ast(tuple(wrt)))]
        if not (isinstance(snapshots, ast.Constant) and snapshots.value is None):
            keywords.append(ast.keyword(arg="snapshots", value=snapshots))
        return ast.Call(func=ast.Name(id=self.name, ctx=ast.Load()), args=head + rest,
                        keywords=keywords)


def _loop_rule(loop: bool, n_args: int, wrt: list) -> LoopRule:
    names = [f"a{j}" for j in range(n_args)]
    params = ([("steps", rules._REQUIRED)] if loop else []) + \
        [("snapshots", rules._REQUIRED)] + [(n, rules._REQUIRED) for n in names]
    return LoopRule(key=[], params=params,
                    name="checkpointed_loop" if loop else "checkpointed_while",
                    vjp={names[w]: rules.Template(f"SHARED[{m}]") for m, w in enumerate(wrt)},
                    vjp_shared=rules.Template("checkpoint_reverse(out, out_bar)"),
                    kind=rules.ANY, pure=False, returns_seq=True, holds=tuple(names))


class _Skip(Exception):
    """This loop cannot be checkpointed: the message says why."""


def plan(fn: ir.Function, act: activity.Activity, option, build_loop) -> ir.Function | None:
    """`fn` with its checkpointed loops replaced by calls of their schedules, or None when
    it has none. `option` is grad's `checkpoint=`: None checkpoints the loops marked with
    srcad.checkpoint, False none, True (or a number of snapshots) every loop at the top of
    the function that can be. `build_loop(sub, kinds, wrt, step_name, back_name)` compiles a
    loop's body function and returns its (step, back) functions. A marked loop that cannot
    be checkpointed is refused, naming why."""
    body = list(fn.body)
    changed = False
    taken = set(fn.reserved) | {t for s in ir.walk(fn.body) for t in ir.targets(s)} | \
        set(fn.params)
    injected = dict(fn.injected)
    temps = set(fn.temps)
    count = 0
    for k, s in enumerate(fn.body):
        marked = isinstance(s, ir.For) and s.checkpoint is not None and option is not False
        chosen = marked or (isinstance(s, (ir.For, ir.While)) and option not in (None, False))
        if not chosen:
            _refuse_nested_markers([s], fn, option)
            continue
        try:
            made = _loop(fn, act, k, s, option, taken, temps)
        except _Skip as e:
            if marked:
                raise UnsupportedSyntaxError(f"this loop cannot be checkpointed: {e}",
                                             fn.filename, s.line) from None
            _refuse_nested_markers([s], fn, option)
            continue
        if made is None:
            continue
        sub, kinds, wrt, call_args, static_parts, outs = made
        count += 1
        step_name = ir.unique_name(f"{fn.name}_loop{count}_step", taken)
        back_name = ir.unique_name(f"{fn.name}_loop{count}_back", taken)
        step, back = build_loop(sub, kinds, wrt, step_name, back_name)
        injected[step_name], injected[back_name] = step, back
        n_inv, n_out, arg_wrt = static_parts
        rule = _loop_rule(isinstance(s, ir.For), len(call_args) - (2 if isinstance(s, ir.For)
                                                                      else 1), arg_wrt)
        v = ir.unique_name("v", taken, start=len(temps))
        temps.add(v)
        body[k] = [
            ir.Assign(v, ir.Call(rule, call_args, {}, (step_name, back_name, n_inv, n_out,
                                                       arg_wrt)), s.line),
            ir.Assign(tuple(outs), ir.Name(v), s.line)]
        changed = True
    if not changed:
        return None
    flat = []
    for s in body:
        flat += s if isinstance(s, list) else [s]
    return ir.Function(name=fn.name, params=fn.params, body=flat, filename=fn.filename,
                       firstline=fn.firstline, source_lines=fn.source_lines, env=fn.env,
                       injected=injected, merge_names=fn.merge_names, temps=temps,
                       reserved=taken, versions=fn.versions, objects=fn.objects)


def _refuse_nested_markers(stmts, fn, option):
    """A srcad.checkpoint marker on a loop inside a loop or a branch (not at the top of the
    function or of a checkpointed loop's body) is refused: it would be ignored."""
    if option is False:
        return
    for s in stmts:
        for b in ir.blocks(s):
            for x in ir.walk(b):
                if isinstance(x, ir.For) and x.checkpoint is not None:
                    raise UnsupportedSyntaxError(
                        "srcad.checkpoint marks a loop inside a loop or a branch; only loops "
                        "at the top of the function, or at the top of a checkpointed loop's "
                        "body, are checkpointed", fn.filename, x.line)


def _loop(fn, act, k, s, option, taken, temps):
    """The body function of loop `s` (statement k of fn's body) and the pieces of its call:
    (sub, kinds, wrt, call arguments, (invariants, outputs, wrt), outputs); None when the
    loop carries no derivative. Raises _Skip naming why it cannot be checkpointed."""
    if isinstance(s, ir.For):
        if _jumps(s.body):
            raise _Skip("it may leave early (break or continue); write it as a while loop")
        core, test, index = list(s.body), None, s.target
    else:
        last = s.body[-1] if s.body else None
        if not (isinstance(last, ir.If) and len(last.orelse) == 1 and
                isinstance(last.orelse[0], ir.Break)) or _jumps(s.body[:-1]) or \
                _jumps(last.body):
            raise _Skip("only a `while condition:` loop without break or continue is "
                        "checkpointed")
        core = list(s.body[:-1]) + [ir.If(last.test, list(last.body), [], last.line)]
        test, index = last.test, None
    _check_pure(fn, act, core)
    inner = list(ir.walk(core))
    assigned = {t for x in inner for t in ir.targets(x)}
    after = {n for x in ir.walk(fn.body[k + 1:]) for n in ir.reads(x)}
    if index is not None and index in after:
        raise _Skip("the loop variable is read after the loop")
    exposed = _exposed(core, {index} if index else set())
    outs = sorted((assigned & (exposed | after)) - {index})
    if not outs:
        return None
    entry = _assigned(fn.body[:k], set(fn.params))
    done = _assigned(core, set())
    state = [n for n in outs if n in exposed or n not in done or n in entry]
    for n in state:
        if n not in entry:
            raise _Skip(f"{fn.versions.get(n, n)!r} may be unassigned when it starts")
    outs = state + [n for n in outs if n not in state]
    local = set(fn.params) | {t for x in ir.walk(fn.body) for t in ir.targets(x)}
    invariants = sorted({n for x in inner for n in ir.reads(x)} & local - assigned - {index})
    line = s.line
    if index is not None:          # a block of iterations: the loop over a part of the range
        steps = ir.unique_name("steps", taken)
        core = [ir.For(index, ir.Name(steps), core, line)]
    params = invariants + ([steps] if index else []) + state
    ret = ir.unique_name("v", taken, start=len(temps))
    temps.add(ret)
    packed = [ir.Name(n) for n in outs] + ([test] if test is not None else [])
    sub_body = core + [ir.Assign(ret, ir.Call(PACK_TUPLE, packed), line),
                       ir.Return(ir.Name(ret), line)]
    sub = ir.Function(name=f"{fn.name}_loop", params=params, body=sub_body,
                      filename=fn.filename, firstline=fn.firstline,
                      source_lines=fn.source_lines, env=fn.env, injected=dict(fn.injected),
                      merge_names=fn.merge_names, temps=temps | {ret}, reserved=set(taken),
                      versions=fn.versions, objects=fn.objects)
    kinds = tuple(_kind(act, n) for n in invariants) + \
        ((_kind(act, s.iter.id),) if index else ()) + tuple(_kind(act, n) for n in state)
    wrt = tuple(i for i, n in enumerate(params) if n in act.active)
    if not wrt:
        return None
    n_inv = len(invariants)
    arg_wrt = tuple(i if i < n_inv else i - (index is not None) for i in wrt)
    snapshots = s.checkpoint if isinstance(s, ir.For) and s.checkpoint is not None else \
        ir.Const(option if type(option) is int else None)
    call_args = ([s.iter] if isinstance(s, ir.For) else []) + [snapshots] + \
        [ir.Name(n) for n in invariants + state]
    return sub, kinds, wrt, call_args, (n_inv, len(packed), arg_wrt), outs


def _kind(act, n) -> str:
    if n in act.seqs:
        return activity.SEQ
    k = act.kind(ir.Name(n))
    return k if k in (rules.FLOAT, rules.INT, rules.NONE) else rules.ANY


def _check_pure(fn, act, stmts):
    """The reverse sweep runs a checkpointed body again: refuse what it must not repeat."""
    for x in ir.walk(stmts):
        if not isinstance(x, ir.Assign):
            continue
        v = x.value
        if x.inplace_of is not None or isinstance(v, ir.Call) and \
                isinstance(v.prim, rules.Rule) and v.prim.inplace:
            raise _Skip(f"it changes a value in place (line {x.line}), which running the "
                        "body again would repeat")
        if not isinstance(v, ir.Call) or isinstance(v.prim, rules.Rule) or \
                v.prim in (PACK_TUPLE, PACK_LIST):
            continue
        if isinstance(v.prim, UserCall):
            if activity.summarize(v.prim.func, v, act.kinds, act.seqs).mutates:
                raise _Skip(f"it calls {v.prim.name}(), which changes its arguments in place "
                            f"(line {x.line})")
        elif not isinstance(v.prim, _LiveAttr):
            raise _Skip(f"it calls a function srcad cannot see into (line {x.line}), which "
                        "running the body again would call again")


def _jumps(stmts) -> bool:
    """Whether `stmts` break or continue out of the loop they are the body of."""
    for s in stmts:
        if isinstance(s, (ir.Break, ir.Continue)):
            return True
        if isinstance(s, ir.If) and (_jumps(s.body) or _jumps(s.orelse)):
            return True
    return False


def _exposed(stmts, defined: set) -> set:
    """The names `stmts` may read before assigning them (what an iteration reads of the
    previous one), given the names `defined` at their start."""
    out: set = set()

    def block(stmts, done) -> set:
        done = set(done)
        for s in stmts:
            out.update(n for n in ir.reads(s) if n not in done)
            if isinstance(s, ir.Assign):
                done |= set(ir.targets(s))
            elif isinstance(s, ir.If):
                done = block(s.body, done) & block(s.orelse, done)
            elif isinstance(s, (ir.For, ir.While)):
                block(s.body, done | set(ir.targets(s)))
        return done
    block(stmts, defined)
    return out
