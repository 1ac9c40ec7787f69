"""Evaluation traces: every SSA value of one run beside its tangent or adjoint.

The trace runs srcad's own derivative code, unoptimized (one statement per SSA
operation) and instrumented: the forward emitter's statements are followed by a
call recording the value and its tangent; the reverse emitter's adjoint updates
are preceded by one recording the contribution and followed by one recording
the adjoint's new value. So the table shows exactly what srcad computes, in the
order it computes it (Baydin et al., "Automatic differentiation in machine
learning: a survey", Tables 2 and 3).
"""
from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field

import numpy as np

from .. import activity, api, codegen, forward, ir, lower, pipeline, reverse, rules
from ..errors import SrcadError
from ..rules import ANY, FLOAT, INT

DEFAULT_LIMIT = 500


# ---------------------------------------------------------------- the passes, unoptimized

@dataclass
class Prepared:
    """What pipeline.build computes before the emitters: SSA, activity, the wrt names."""
    parsed: object
    fn: ir.Function
    act: activity.Activity
    wrt: list                   # parameter names
    positions: tuple
    single: bool
    kinds: tuple


def prepare(f, wrt, kinds=None, all_tangents=False) -> Prepared:
    """Lower `f` to SSA and analyse it for derivatives with respect to `wrt`;
    `all_tangents` makes every varied value active, also those the output does not need."""
    positions, single = api._positions(f, wrt)
    kinds = tuple(kinds) if kinds is not None else pipeline.static_kinds(f)
    parsed = pipeline.parse(f, kinds)
    fn = lower.lower(parsed)
    ir.verify(fn)
    names = [fn.params[i] for i in positions]
    kinds = tuple(FLOAT if (i in positions and k == INT) else k for i, k in enumerate(kinds))
    kinds = kinds + (ANY,) * (len(fn.params) - len(kinds))
    act = activity.analyze(fn, names, dict(zip(fn.params, kinds)))
    if all_tangents:
        assigned = {t for s in ir.walk(fn.body) for t in ir.targets(s)} | set(fn.params)
        act = activity.Activity(kinds=act.kinds, varied=act.varied, useful=act.useful | assigned,
                                shapes=act.shapes, seqs=act.seqs,
                                changed_args=act.changed_args)
    return Prepared(parsed, fn, act, names, positions, single, kinds)


def build_callee(func, mode, wrt, kinds, line, name=None):
    """A helper's derivative, from srcad's cache (as pipeline.build builds callees)."""
    return pipeline.get(func, mode, wrt, kinds, single=False, name=name).func


def _call(name: str, *args) -> ast.stmt:
    return ast.Expr(ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args),
                             keywords=[]))


def _load(name: str) -> ast.expr:
    return ast.Name(id=name, ctx=ast.Load())


VALUE, CONTRIB, ADJOINT = "_srcad_trace_value", "_srcad_trace_contrib", "_srcad_trace_adjoint"


class TracingForward(forward._Forward):
    """The forward emitter, each assignment followed by `VALUE(site, value, tangent)`."""

    def __init__(self, fn, act, callee):
        super().__init__(fn, act, callee)
        self.sites: list = []              # site -> (statement, target)

    def site(self, s, target) -> ast.expr:
        self.sites.append((s, target))
        return ast.Constant(len(self.sites) - 1)

    def stmt(self, s) -> list:
        out = super().stmt(s)
        if isinstance(s, ir.Assign):
            for t in ir.targets(s):
                dot = _load(self.d(t)) if t in self.act.active else ast.Constant(None)
                out.append(_call(VALUE, self.site(s, t), _load(t), dot))
        elif isinstance(s, ir.For):
            out[0].body.insert(0, _call(VALUE, self.site(s, s.target), _load(s.target),
                                        ast.Constant(None)))
        return out


class TracingReverse(reverse._Reverse):
    """The reverse emitter, its forward sweep recording values and each adjoint update
    recording its contribution (before) and the adjoint's new value (after)."""

    def __init__(self, fn, act, callee):
        super().__init__(fn, act, callee)
        self.sites: list = []              # site -> (statement, name)
        self.site_exprs: dict = {}         # site -> the contribution's expression
        self.current = None                # the statement whose adjoint is being emitted

    def site(self, s, name) -> ast.expr:
        self.sites.append((s, name))
        return ast.Constant(len(self.sites) - 1)

    def fwd_block(self, stmts, in_loop=False) -> list:
        out = []
        for s in stmts:
            emitted = super().fwd_block([s], in_loop)
            if isinstance(s, ir.Assign):
                emitted += [_call(VALUE, self.site(s, t), _load(t), ast.Constant(None))
                            for t in ir.targets(s)]
            elif isinstance(s, ir.For):
                loop = next(x for x in emitted if isinstance(x, ast.For))
                loop.body.insert(0, _call(VALUE, self.site(s, s.target), _load(s.target),
                                          ast.Constant(None)))
            out += emitted
        return out

    def rev_stmt(self, s, state) -> list:
        outer, self.current = self.current, s
        try:
            return super().rev_stmt(s, state)
        finally:
            self.current = outer

    def accumulate(self, name, expr, state, out, lazy=False, wide=False):
        k = self.site(self.current, name)
        self.site_exprs[k.value] = contribution = rules.clone(expr)
        out.append(_Contribution(k.value, contribution))
        super().accumulate(name, expr, state, out, lazy=lazy, wide=wide)
        out.append(_call(ADJOINT, k, _load(self.d(name))))


class _Contribution(ast.Expr):
    """Where `CONTRIB(site, expr)` goes once the emitter is done: until then its reads are
    hidden (not an AST field), so the emitter's account of what the reverse sweep reads,
    and so keeps, is that of srcad's own derivative."""

    def __init__(self, site: int, expr: ast.expr):
        super().__init__(value=ast.Constant(None))
        self.site, self.expr = site, expr


class _PlaceContributions(ast.NodeTransformer):
    """Replace each `_Contribution` by its recording call; a value the reverse sweep
    recomputes (rematerializes) is read under the name the sweep gives it."""

    def __init__(self, rename: dict):
        self.rename = rename

    def visit__Contribution(self, node):
        expr = rules.clone(node.expr)
        for n in ast.walk(expr):
            if isinstance(n, ast.Name) and n.id in self.rename:
                n.id = self.rename[n.id]
        return _call(CONTRIB, ast.Constant(node.site), expr)


def emit(prep: Prepared, mode: str):
    """The instrumented emitter's derivative tree (unoptimized) and the emitter. The one
    place that calls an emitter's `function` (whose signature follows the emitters)."""
    if mode == "forward":
        em = TracingForward(prep.fn, prep.act, build_callee)
        return em.function(prep.wrt), em
    if mode == "reverse":
        em = TracingReverse(prep.fn, prep.act, build_callee)
        tree = em.function(prep.wrt, False, False, prep.single)[0]
        rename = {n: em.derived[("remat", n)] for n in em.facts.remat if ("remat", n) in em.derived}
        return _PlaceContributions(rename).visit(tree), em
    raise SrcadError(f"unknown mode {mode!r}: use 'forward' or 'reverse'")


def compile_traced(prep: Prepared, mode: str, recorder):
    """The instrumented derivative of `prep`'s function, compiled, and its emitter."""
    fn = prep.fn
    tree, em = emit(prep, mode)
    tree.name = f"{fn.name}_traced"
    injected = dict(fn.injected)
    injected.update(em.injected)
    injected.update({VALUE: recorder.value, CONTRIB: recorder.contrib,
                     ADJOINT: recorder.adjoint})
    body = codegen.render([tree], fn.source_lines, fn.filename)
    used = codegen.names_used([tree])
    (func,) = codegen.compile_functions([tree], used, body, body, prep.parsed.globals,
                                        prep.parsed.closure, injected, [None],
                                        f"{fn.name} {mode} trace")
    return func, em


# ---------------------------------------------------------------- recording

@dataclass
class Row:
    """One line of the table. Primal rows: `value` and `tangent` (forward mode; None where
    the value carries none). Adjoint rows: `contribution` added to the adjoint of `name`,
    and `value`, the adjoint afterwards."""
    section: str                 # "primal" or "adjoint"
    name: str                    # the SSA name (a user's variable keeps its name)
    op: str                      # the operation, as the SSA prints it
    value: object = None
    tangent: object = None
    contribution: object = None
    line: int | None = None
    role: str = "Operator"       # Variable, Placeholder, Constant, Operator, loop index, seed...
    adjoint_name: str = ""       # adjoint rows: the name srcad's code gives the adjoint


def _snapshot(v):
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, (list, dict)):
        return copy.deepcopy(v)
    return v


class Recorder:
    def __init__(self, limit: int, zero):
        self.limit = limit
        self.zero = zero                   # (name, value) -> its tangent when not varied
        self.sites: list = []
        self.rows: dict = {"primal": [], "adjoint": []}
        self.dropped: dict = {"primal": 0, "adjoint": 0}
        self.pending: dict = {}
        self.exprs: dict = {}
        self.bar_names: dict = {}          # primal name -> its adjoint's name

    def _keep(self, section) -> bool:
        if len(self.rows[section]) < self.limit:
            return True
        self.dropped[section] += 1
        return False

    def value(self, k, v, dot):
        if not self._keep("primal"):
            return
        s, name = self.sites[k]
        role = "loop index" if isinstance(s, ir.For) else (
            "Constant" if isinstance(s, ir.Assign) and isinstance(s.value, ir.Const) else "Operator")
        if dot is None and self.zero is not None and role == "Operator":
            dot = self.zero(name, v)
        self.rows["primal"].append(Row("primal", name, self.exprs[k], _snapshot(v), _snapshot(dot),
                                       line=s.line, role=role))

    def contrib(self, k, c):
        self.pending[k] = _snapshot(c)

    def adjoint(self, k, bar):
        c = self.pending.pop(k)
        if not self._keep("adjoint"):
            return
        s, name = self.sites[k]
        self.rows["adjoint"].append(Row("adjoint", name, _stmt_text(s), _snapshot(bar),
                                        contribution=c, line=s.line,
                                        adjoint_name=self.bar_names[name]))


def _stmt_text(s) -> str:
    """`v1 = x1 * x2`: the SSA statement an adjoint update undoes."""
    if isinstance(s, ir.Assign):
        target = ", ".join(s.target) if isinstance(s.target, tuple) else s.target
        return f"{target} = {ast.unparse(ir.expr_ast(s.value))}"
    return _op_text(s, None)


def _op_text(s, target) -> str:
    """A statement as the SSA prints it: `x1 * x2`, `for i in v0`."""
    if isinstance(s, ir.For):
        return f"for {s.target} in {ast.unparse(ir.atom_ast(s.iter))}"
    if isinstance(s, ir.Assign):
        text = ast.unparse(ir.expr_ast(s.value))
        if isinstance(s.target, tuple) and target in s.target:
            text += f"  (item {s.target.index(target)})"
        return text
    return type(s).__name__


# ---------------------------------------------------------------- the public object

def trace(f, *args, mode: str = "forward", wrt=0, seed=None, limit: int = DEFAULT_LIMIT):
    """The evaluation trace of `f` at `args`: each SSA value in evaluation order with its
    tangent (`mode="forward"`, along `seed`, default 1 for each `wrt` argument), or the
    primals then every adjoint update in reverse order (`mode="reverse"`, output adjoint
    `seed`, default 1). A loop gives one row per executed step; each of the two parts keeps
    at most `limit` rows (raise it to see more)."""
    if mode not in ("forward", "reverse"):
        raise SrcadError(f"unknown mode {mode!r}: use 'forward' or 'reverse'")
    if not isinstance(limit, int) or limit < 0:
        raise SrcadError(f"limit must be a non-negative int, not {limit!r}")
    args = api._Binder(f)(args, {})
    positions, _ = api._positions(f, wrt)
    args, kinds = api._prepare(tuple(args), positions)
    prep = prepare(f, wrt, kinds, all_tangents=mode == "forward")
    rec = Recorder(limit, (lambda n, v: _zero(v, n, prep)) if mode == "forward" else None)
    func, em = compile_traced(prep, mode, rec)
    rec.sites = em.sites
    rec.exprs = {k: _op_text(s, t) for k, (s, t) in enumerate(em.sites)}
    rec.bar_names = {p: d for p, d in em.derived.items() if isinstance(p, str)}
    fn = prep.fn
    table = Trace(f, fn, mode, args, prep.wrt)
    if mode == "forward":
        seeds = _forward_seeds(seed, [args[i] for i in positions], prep.wrt)
        dots = dict(zip(prep.wrt, seeds))
        for p, a in zip(fn.params, args):
            table.inputs.append(Row("primal", p, "input", _snapshot(a), dots.get(p, _zero(a, p, prep)),
                                    line=fn.firstline,
                                    role="Variable" if p in dots else "Placeholder"))
        table.seed = dots
        out, out_dot = func(*args, *seeds)
        table.output, table.result = out, out_dot
    else:
        for p, a in zip(fn.params, args):
            table.inputs.append(Row("primal", p, "input", _snapshot(a), line=fn.firstline,
                                    role="Variable" if p in prep.wrt else "Placeholder"))
        d_out = seed
        if d_out is None:
            value = f(*args)
            d_out = 1.0 if np.ndim(value) == 0 else np.ones(np.shape(value))
        table.seed = {"d_out": d_out}
        grads = func(*args, d_out)
        ret = fn.body[-1]
        if isinstance(ret.value, ir.Name) and ret.value.id in prep.act.active:
            table.adjoint_seed = Row("adjoint", ret.value.id, "seed (d_out)", _snapshot(d_out),
                                     contribution=_snapshot(d_out), line=ret.line, role="seed",
                                     adjoint_name=em.d(ret.value.id))
        table.result = grads
        table.output = f(*args)
    table.rows = rec.rows["primal"]
    table.adjoint_rows = ([table.adjoint_seed] if table.adjoint_seed else []) + rec.rows["adjoint"]
    table.dropped = rec.dropped
    table.limit = limit
    return table


def _zero(a, p, prep):
    """The tangent of a value that does not depend on the `wrt` arguments: exactly zero
    (None for integers, booleans and other values that carry no derivative)."""
    if prep.act.kinds.get(p) in (INT, rules.NONE) or isinstance(a, (bool, int, np.bool_)):
        return None
    if isinstance(a, float) or (isinstance(a, (np.ndarray, np.floating))
                                and np.issubdtype(a.dtype, np.inexact)):
        return 0.0 if np.ndim(a) == 0 else np.zeros(np.shape(a))
    return None


def _forward_seeds(seed, wrt_args, names) -> list:
    if seed is None:
        return [1.0 if np.ndim(a) == 0 else np.ones(np.shape(a)) for a in wrt_args]
    seeds = list(seed) if isinstance(seed, (tuple, list)) and len(names) > 1 else [seed]
    if len(seeds) != len(names):
        raise SrcadError(f"seed needs one tangent per wrt argument ({', '.join(names)}), "
                         f"got {len(seeds)}")
    out = []
    for s, a, n in zip(seeds, wrt_args, names):
        if np.shape(s) != np.shape(a):
            raise SrcadError(f"the seed for {n} has shape {np.shape(s)}, {n} has {np.shape(a)}")
        out.append(float(s) if np.ndim(a) == 0 else np.asarray(s, dtype=float))
    return out


@dataclass
class Trace:
    """An evaluation trace: `str()` is the aligned text table, `_repr_html_` the same in a
    notebook. `rows` are the primal rows (inputs first in `inputs`), `adjoint_rows` the
    reverse sweep's; `value(name)`, `tangent(name)` and `adjoint(name)` read the last
    entry of a name."""
    func: object
    fn: ir.Function
    mode: str
    args: tuple
    wrt: list
    inputs: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    adjoint_rows: list = field(default_factory=list)
    adjoint_seed: Row | None = None
    seed: dict = field(default_factory=dict)
    output: object = None
    result: object = None
    dropped: dict = field(default_factory=dict)
    limit: int = DEFAULT_LIMIT

    def _last(self, rows, name) -> Row:
        for r in reversed(rows):
            if r.name == name:
                return r
        raise KeyError(f"no row for {name!r} in this trace")

    def value(self, name):
        """The last primal value of `name`."""
        return self._last(self.inputs + self.rows, name).value

    def tangent(self, name):
        """The last tangent of `name` (forward mode)."""
        return self._last(self.inputs + self.rows, name).tangent

    def adjoint(self, name):
        """The adjoint of `name` after its last update (reverse mode)."""
        return self._last(self.adjoint_rows, name).value

    def updates(self, name) -> list:
        """Every adjoint row of `name`, in the order the reverse sweep ran them."""
        return [r for r in self.adjoint_rows if r.name == name]

    # ---------------------------------------------------------------- printing
    def title(self) -> str:
        args = ", ".join(f"{p}={a!r}" if type(a) in (float, int) else f"{p}={format_value(a)}"
                         for p, a in zip(self.fn.params, self.args))
        if self.mode == "forward":
            seed = ", ".join(f"{p}_dot = {format_value(v)}" for p, v in self.seed.items())
            return f"Forward-mode evaluation trace of {self.fn.name}({args}), seed {seed}"
        return (f"Reverse-mode evaluation trace of {self.fn.name}({args}): the primal trace, "
                f"then the adjoint trace (last statement first), d_out = "
                f"{format_value(self.seed['d_out'])}")

    def tables(self) -> list:
        """(caption, header, rows of cells, note) for each part of the trace."""
        primal = [[r.name, r.op if r.op != "input" else f"input ({r.role})", format_value(r.value)]
                  + ([format_value(r.tangent) if r.tangent is not None else "" ]
                     if self.mode == "forward" else [])
                  for r in self.inputs + self.rows]
        header = ["name", "operation", "primal"] + (["tangent"] if self.mode == "forward" else [])
        out = [("primal trace" if self.mode == "reverse" else "", header, primal,
                self._note("primal"))]
        if self.mode == "reverse":
            adj = [[r.adjoint_name, r.op if r.role == "seed" else f"from {r.op}",
                    format_value(r.contribution), format_value(r.value)]
                   for r in self.adjoint_rows]
            out.append(("adjoint trace", ["adjoint", "update", "contribution", "adjoint value"],
                        adj, self._note("adjoint")))
        return out

    def _note(self, section) -> str:
        n = self.dropped.get(section, 0)
        return (f"... {n} more rows not shown (limit={self.limit}; pass a larger limit= to see "
                "them)") if n else ""

    def __str__(self) -> str:
        lines = [self.title()]
        for caption, header, rows, note in self.tables():
            lines.append("")
            if caption:
                lines.append(caption)
            cells = [["#"] + header] + [[str(i)] + r for i, r in enumerate(rows, 1)]
            widths = [max(len(c[j]) for c in cells) for j in range(len(cells[0]))]
            for k, row in enumerate(cells):
                lines.append("  ".join(c.rjust(w) if j == 0 or j >= 3 else c.ljust(w)
                                       for j, (c, w) in enumerate(zip(row, widths))).rstrip())
                if k == 0:
                    lines.append("  ".join("-" * w for w in widths))
            if note:
                lines.append(note)
        out = self.result
        lines += ["", f"output {format_value(self.output)}; "
                  + (f"output tangent {format_value(out)}" if self.mode == "forward"
                     else f"gradient {format_value(out)}")]
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        import html
        parts = [f"<p><b>{html.escape(self.title())}</b></p>"]
        for caption, header, rows, note in self.tables():
            head = "".join(f"<th>{html.escape(h)}</th>" for h in ["#"] + header)
            body = "".join("<tr>" + "".join(
                f"<td style=\"text-align:{'left' if 0 < j < 3 else 'right'};font-family:monospace\">"
                f"{html.escape(c)}</td>" for j, c in enumerate([str(i)] + r)) + "</tr>"
                for i, r in enumerate(rows, 1))
            cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
            parts.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            if note:
                parts.append(f"<p>{html.escape(note)}</p>")
        return "\n".join(parts)


def format_value(v) -> str:
    """A value in a table cell: numbers to 6 significant digits, arrays shortened."""
    if v is None:
        return "None"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    if isinstance(v, np.ndarray):
        text = np.array2string(v, precision=4, threshold=6, edgeitems=2, max_line_width=10_000,
                               separator=" ")
        text = " ".join(text.split())
        return f"{text} {v.shape}" if v.ndim != 1 or v.size > 6 else text
    if isinstance(v, (tuple, list)):
        inner = ", ".join(format_value(x) for x in v[:4]) + (", ..." if len(v) > 4 else "")
        return f"({inner})" if isinstance(v, tuple) else f"[{inner}]"
    if isinstance(v, range):
        return repr(v)
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."
