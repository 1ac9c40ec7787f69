"""Computational graphs of a function's SSA form, as DOT text (SVG/PNG through Graphviz).

Nodes use the textbooks' vocabulary: a Variable for each `wrt` parameter, a Placeholder
for each other input (parameters and globals), a Constant for each literal, an Operator
for each SSA operation (labelled with the operation and the variable it defines); loops
and branches are labelled clusters. An edge joins each definition that may reach a use
to that use (a dashed edge is carried around a loop). `mode="forward"` adds the tangent
nodes and `mode="reverse"` the adjoint nodes, both read off srcad's own emitters, and
marks the primal values the reverse sweep reads (what it keeps in memory).
"""
from __future__ import annotations

import ast
import os
from dataclasses import dataclass

from .. import ir
from ..errors import SrcadError
from ..lower import PACK_LIST, PACK_TUPLE, UserCall
from .. import rules
from . import trace as _trace

_SYMBOLS = {ast.Add: "+", ast.Sub: "\u2212", ast.Mult: "\u00d7", ast.Div: "/", ast.Pow: "**",
            ast.MatMult: "@", ast.FloorDiv: "//", ast.Mod: "%", ast.USub: "\u2212 (neg)",
            ast.UAdd: "+ (pos)", ast.Not: "not", ast.Invert: "~", ast.Lt: "<", ast.LtE: "<=",
            ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is",
            ast.IsNot: "is not", ast.In: "in", ast.BitAnd: "&", ast.BitOr: "|",
            ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>"}
_COMMUTATIVE = {ast.Add, ast.Mult}

STYLE = {
    "Variable": 'shape=ellipse, style=filled, fillcolor="#cfe2ff"',
    "Placeholder": 'shape=ellipse, style="filled,dashed", fillcolor="#eeeeee"',
    "Constant": 'shape=box, style=filled, fillcolor="#fff3cd"',
    "Operator": 'shape=ellipse, style=filled, fillcolor="#ffffff"',
    "Branch": 'shape=diamond, style=filled, fillcolor="#f8f9fa"',
    "Output": 'shape=doubleoctagon, style=filled, fillcolor="#d1e7dd"',
    "Tangent": 'shape=ellipse, style=filled, fillcolor="#e2d9f3"',
    "Adjoint": 'shape=ellipse, style=filled, fillcolor="#f8d7da"',
}


@dataclass
class Node:
    id: str
    kind: str                     # Variable, Placeholder, Constant, Operator, ...
    op: str                       # the operation (or the input's name, the constant's value)
    names: list                   # the SSA names it defines
    cluster: tuple                # the clusters (ids) it sits in, outermost first
    order: int = 0                # program order: an edge to an earlier node is loop-carried
    tooltip: str = ""
    kept: str = ""                # reverse mode: "read", "stacked" or "recomputed"

    def label(self) -> str:
        names = ", ".join(self.names)
        if self.kind in ("Variable", "Placeholder", "Output"):
            return self.op
        if not names:
            return self.op
        return f"{self.op}\n{names}"


@dataclass
class Cluster:
    id: str
    label: str
    parent: str | None
    line: int | None = None


@dataclass
class Edge:
    src: str
    dst: str
    label: str = ""
    kind: str = "data"            # data, tangent, adjoint, reads, seed, control


class _Builder:
    def __init__(self, prep: _trace.Prepared, mode: str):
        self.prep, self.fn, self.mode = prep, prep.fn, mode
        self.nodes: dict = {}
        self.edges: dict = {}                          # (src, dst, label, kind) -> Edge
        self.clusters: dict = {}
        self.cluster_keys: dict = {}
        self.stack: list = []                          # current cluster ids
        self.order = 0
        self.arg_defs: dict = {}                       # id(stmt) -> {name: definitions}
        self.env_at: dict = {}                         # id(stmt) -> definitions reaching it
        self.op_of: dict = {}                          # id(stmt) -> its node id
        self.assigned = {t for s in ir.walk(self.fn.body) for t in ir.targets(s)}
        self.loops: list = []                          # (break envs, continue envs)
        self.tangent_of: dict = {}                     # primal node -> tangent node
        if mode == "forward":
            from ..forward import _Forward
            self.fwd = _Forward(self.fn, prep.act, _trace.build_callee)

    # ------------------------------------------------------------ nodes and edges
    def node(self, nid, kind, op, names=(), tooltip="") -> Node:
        n = self.nodes.get(nid)
        if n is None:
            self.order += 1
            n = self.nodes[nid] = Node(nid, kind, op, list(names), tuple(self.stack), self.order,
                                       tooltip)
        return n

    def edge(self, src, dst, label="", kind="data"):
        key = (src, dst, label, kind)
        if key not in self.edges:
            self.edges[key] = Edge(src, dst, label, kind)

    def cluster(self, cid, label, line=None):
        if cid not in self.clusters:
            self.clusters[cid] = Cluster(cid, label, self.stack[-1] if self.stack else None, line)
        self.stack.append(cid)

    def cluster_key(self, s) -> int:
        """A number per control-flow statement, the same in every round over a loop."""
        return self.cluster_keys.setdefault(id(s), len(self.cluster_keys))

    def where(self, line) -> str:
        return f"{os.path.basename(self.fn.filename)}:{line}"

    def source(self, line) -> str:
        return self.fn.source_lines.get(line, "").strip()

    def lookup(self, name, env) -> set:
        if name in env:
            return env[name]
        if name in self.fn.params:
            return {f"in_{name}"}
        if name in self.assigned:
            return set()                               # defined later in a loop: next round
        nid = f"global_{name}"
        if nid not in self.nodes:
            outer, self.stack = self.stack, []
            self.node(nid, "Placeholder", f"{name}\n(global)", tooltip=f"the global {name}")
            self.nodes[nid].order = 0                  # an input: before every operation
            self.stack = outer
        return {nid}

    # ------------------------------------------------------------ the walk
    def build(self):
        fn, act = self.fn, self.prep.act
        env = {}
        for p in fn.params:
            kind = "Variable" if p in self.prep.wrt else "Placeholder"
            self.node(f"in_{p}", kind, p, [p], tooltip=f"parameter {p} ({kind})")
            env[p] = {f"in_{p}"}
            if self.mode == "forward" and p in act.active:
                self.node(f"dot_in_{p}", "Tangent", self.fwd.d(p), tooltip=f"tangent of {p}")
                self.tangent_of[f"in_{p}"] = f"dot_in_{p}"
        self.block(fn.body, env)
        if self.mode == "reverse":
            self.adjoints()

    def block(self, stmts, env):
        """The definitions reaching the end of `stmts` (None when every path jumps away)."""
        for s in stmts:
            if env is None:
                return None
            env = self.stmt(s, env)
        return env

    def stmt(self, s, env):
        self.env_at[id(s)] = dict(env)
        if isinstance(s, ir.Assign):
            return self.assign(s, env)
        if isinstance(s, ir.Return):
            self.node("out", "Output", "output", tooltip=f"return  [{self.where(s.line)}]")
            for src in self.atom(s.value, env, s, "out", 0):
                self.edge(src, "out")
            return env
        if isinstance(s, ir.If):
            k = self.cluster_key(s)
            inner = self.clusters[self.stack[-1]].line == s.line if self.stack else False
            text = f"if {ast.unparse(ir.atom_ast(s.test))}:" if inner else self.source(s.line)
            self.cluster(f"cluster_if{k}", f"{text}  [{self.where(s.line)}]", s.line)
            test = self.node(f"branch{k}", "Branch", f"if {ast.unparse(ir.atom_ast(s.test))}",
                             tooltip="branch on the test value")
            for src in self.atom(s.test, env, s, test.id, 0):
                self.edge(src, test.id, kind="control")
            outs = []
            for part, block in (("then", s.body), ("else", s.orelse)):
                if block:
                    self.cluster(f"cluster_if{k}_{part}", part, s.line)
                    outs.append(self.block(block, dict(env)))
                    self.stack.pop()
                else:
                    outs.append(dict(env))
            self.stack.pop()
            return _join(outs)
        if isinstance(s, (ir.For, ir.While)):
            return self.loop(s, env)
        if isinstance(s, ir.Break):
            self.loops[-1][0].append(env)
            return None
        if isinstance(s, ir.Continue):
            self.loops[-1][1].append(env)
            return None
        raise SrcadError(f"graph: unexpected statement {type(s).__name__}")

    def loop(self, s, env):
        k = self.cluster_key(s)
        label = self.source(s.line) or ("for" if isinstance(s, ir.For) else "while True")
        self.cluster(f"cluster_loop{k}", f"{label}  [{self.where(s.line)}]", s.line)
        head = dict(env)
        while True:                                    # definitions reaching the loop's head
            breaks, continues = [], []
            self.loops.append((breaks, continues))
            body_env = dict(head)
            if isinstance(s, ir.For):
                nid = self.op_node(s, "for", [s.target], f"for {s.target} in "
                                   f"{ast.unparse(ir.atom_ast(s.iter))}")
                for src in self.atom(s.iter, body_env, s, nid, 0):
                    self.edge(src, nid)
                body_env[s.target] = {nid}
            end = self.block(s.body, body_env)
            self.loops.pop()
            new = _join([head, end] + continues)
            if new == head:
                break
            head = new
        self.stack.pop()
        after = breaks + ([head] if isinstance(s, ir.For) else [])
        return _join(after)

    def op_node(self, s, op, names, text) -> str:
        nid = self.op_of.get(id(s))
        if nid is None:
            nid = self.op_of[id(s)] = f"op{len(self.op_of)}"
            self.node(nid, "Operator", op, names, tooltip=f"{text}  [{self.where(s.line)}]")
        return nid

    def atom(self, a, env, s, dst, pos) -> set:
        """The definitions of atom `a` read by statement `s` (a Constant node for a literal)."""
        if isinstance(a, ir.Const):
            cid = f"const{dst}_{pos}"
            self.node(cid, "Constant", _const_text(a.value), tooltip="constant")
            self.nodes[cid].order = self.nodes[dst].order - 0.5     # it comes before its use
            return {cid}
        srcs = self.lookup(a.id, env)
        self.arg_defs.setdefault(id(s), {}).setdefault(a.id, set()).update(srcs)
        return srcs

    def assign(self, s, env):
        targets = ir.targets(s)
        v = s.value
        if isinstance(v, ir.Name):                     # a copy: the name takes the definitions
            srcs = self.atom(v, env, s, None, 0)
            for src in srcs:
                n = self.nodes[src]
                if n.kind == "Operator" and targets[0] not in n.names:
                    n.names.append(targets[0])
            return {**env, **{t: set(srcs) for t in targets}}
        if isinstance(v, ir.Const):
            cid = self.op_of.get(id(s))
            if cid is None:
                cid = self.op_of[id(s)] = f"const_def{len(self.op_of)}"
                self.node(cid, "Constant", _const_text(v.value), targets,
                          tooltip=f"{targets[0]} = {_const_text(v.value)}  [{self.where(s.line)}]")
            return {**env, **{t: {cid} for t in targets}}
        text = f"{', '.join(targets)} = {ast.unparse(ir.expr_ast(v))}"
        nid = self.op_node(s, _op_label(v), targets, text)
        labels = _arg_labels(v)
        atoms = list(v.args) + list(v.kwargs.values())
        names = labels + list(v.kwargs)
        for pos, (a, lab) in enumerate(zip(atoms, names)):
            for src in self.atom(a, env, s, nid, pos):
                self.edge(src, nid, lab)
        if self.mode == "forward":
            self.tangent(s, nid, env)
        return {**env, **{t: {nid} for t in targets}}

    # ------------------------------------------------------------ derivative nodes
    def tangent(self, s, nid, env):
        """The tangent statement srcad emits for `s`, as a node reading tangents and primals."""
        if not any(t in self.prep.act.active for t in ir.targets(s)):
            return
        stmts = self.fwd.assign_stmt(s)[1:] if not isinstance(s.value.prim, UserCall) else \
            self.fwd.assign_stmt(s)
        primal_of = {d: p for p, d in self.fwd.derived.items() if isinstance(p, str)}
        did = f"dot_{nid}"
        t = ir.targets(s)
        self.node(did, "Tangent", ", ".join(self.fwd.d(x) for x in t if x in self.prep.act.active),
                  tooltip="; ".join(ast.unparse(x) for x in stmts))
        self.tangent_of[nid] = did
        read = {n.id for x in stmts for n in ast.walk(x.value if isinstance(x, ast.Assign) else x)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        for name in sorted(read):
            if name in primal_of:
                for src in self.lookup(primal_of[name], env):
                    if src in self.tangent_of:
                        self.edge(self.tangent_of[src], did, kind="tangent")
            elif name in self.assigned or name in self.fn.params:
                for src in self.lookup(name, env):
                    self.edge(src, did, kind="reads")

    def adjoints(self):
        """Adjoint nodes and edges from srcad's reverse emitter: each update `a_bar += expr`
        made while undoing statement s runs from the adjoint of s's result to that of a."""
        prep = self.prep
        tree, em = _trace.emit(prep, "reverse")
        primal_names = set(self.fn.params) | self.assigned
        self.mark_kept(tree, em, primal_names)
        remat = {em.derived[k]: k[1] for k in em.derived
                 if isinstance(k, tuple) and k[0] == "remat"}
        primal_of_bar = {d: p for p, d in em.derived.items() if isinstance(p, str)}

        def bar_node(primal_id, name) -> str:
            bid = f"bar_{primal_id}"
            if bid not in self.nodes:
                node = self.nodes[primal_id]
                self.stack = list(node.cluster)
                self.node(bid, "Adjoint", em.d(name), tooltip=f"adjoint of {name}")
                self.stack = []
            return bid

        ret = self.fn.body[-1]
        if isinstance(ret.value, ir.Name) and ret.value.id in prep.act.active:
            for src in self.arg_defs.get(id(ret), {}).get(ret.value.id, ()):
                if self.nodes[src].kind != "Constant":
                    self.edge("out", bar_node(src, ret.value.id), "d_out", kind="seed")
        seen = set()
        for k, expr in em.site_exprs.items():
            s, name = em.sites[k]
            if (id(s), name) in seen or id(s) not in self.op_of:
                continue
            seen.add((id(s), name))
            op = self.op_of[id(s)]
            outs = [bar_node(op, t) for t in ir.targets(s)] if self.nodes[op].kind == "Operator" \
                else []
            if isinstance(s.value, ir.Name):           # a copy: its definitions' adjoints
                outs = []
            dsts = [d for d in self.arg_defs.get(id(s), {}).get(name, ())
                    if self.nodes[d].kind in ("Operator", "Variable", "Placeholder")]
            reads = {remat.get(n.id, n.id) for n in ast.walk(expr) if isinstance(n, ast.Name)
                     and remat.get(n.id, n.id) in primal_names and n.id not in primal_of_bar}
            for d in dsts:
                if self.nodes[d].kind == "Placeholder" and d.startswith("global_"):
                    continue
                bid = bar_node(d, name)
                for o in outs:
                    if o != bid:
                        self.edge(o, bid, kind="adjoint")
                for r in sorted(reads):
                    srcs = {op} if r in ir.targets(s) else self.lookup(r, self.env_at[id(s)])
                    for src in srcs:
                        if self.nodes[src].kind != "Constant":
                            self.edge(src, bid, kind="reads")

    def mark_kept(self, tree, em, primal_names):
        """Mark the primal values the reverse sweep of `tree` reads: kept, stacked (a value
        a loop overwrites is pushed), only its shape stacked, or recomputed (rematerialized
        values and loop indices, which the reversed loop runs over again)."""
        from ..emit import LINE_MARK
        from ..optimize import nodes
        body = tree.body
        start = next(k for k, st in enumerate(body) if isinstance(st, ast.Expr)
                     and isinstance(st.value, ast.Call) and isinstance(st.value.func, ast.Name)
                     and st.value.func.id == LINE_MARK and st.value.args[0].value == 0)
        rev = [n for st in body[start:] for n in nodes(st)]
        remat = {em.derived[k]: k[1] for k in em.derived
                 if isinstance(k, tuple) and k[0] == "remat"}
        read = {n.id for n in rev if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        how = {}
        for n in read:
            if n in remat:
                how[remat[n]] = "recomputed"
            elif n in primal_names:
                how[n] = "recomputed" if n in em.facts.for_targets else "read" if n not in em.saved \
                    else "shape" if n in em.shape_only else "stacked"
        for sid, split in em.splits.items():       # a helper's residuals: its call keeps them
            if split[2] in read and sid in self.op_of:
                node = self.nodes[self.op_of[sid]]
                node.kept = _stronger(node.kept, "stacked" if split[2] in em.saved else "read")
        for node in self.nodes.values():
            if node.kind in ("Operator", "Variable", "Placeholder", "Constant"):
                for n in node.names:
                    if n in how:
                        node.kept = _stronger(node.kept, how[n])

    # ------------------------------------------------------------ DOT
    def dot(self) -> str:
        title = {"primal": "computational graph", "forward": "forward mode: tangents",
                 "reverse": "reverse mode: adjoints"}[self.mode]
        lines = [f'digraph "{_esc(self.fn.name)}" {{',
                 f'  graph [rankdir=LR, fontname="Helvetica", label="{_esc(self.fn.name)}: '
                 f'{title}", labelloc=t];',
                 '  node [fontname="Helvetica", fontsize=11];',
                 '  edge [fontname="Helvetica", fontsize=9];']
        children: dict = {}
        for c in self.clusters.values():
            children.setdefault(c.parent, []).append(c.id)
        members: dict = {}
        for n in sorted(self.nodes.values(), key=lambda n: n.order):     # topological order
            members.setdefault(n.cluster[-1] if n.cluster else None, []).append(n)

        def emit(cid, indent):
            pad = "  " * indent
            for n in members.get(cid, []):
                lines.append(pad + _node_dot(n))
            for child in children.get(cid, []):
                c = self.clusters[child]
                lines.append(f'{pad}subgraph "{c.id}" {{')
                lines.append(f'{pad}  label="{_esc(c.label)}"; style="rounded,dashed"; '
                             'fontsize=10;')
                emit(child, indent + 1)
                lines.append(pad + "}")
        emit(None, 1)
        for e in self.edges.values():
            attrs = [f'class="{e.kind}"']
            if e.label:
                attrs.append(f'label="{_esc(e.label)}"')
            if self.nodes[e.src].order >= self.nodes[e.dst].order and e.kind == "data":
                attrs += ["style=dashed", "constraint=false"]    # carried around a loop
            attrs += {"tangent": ['color="#6f42c1"'], "adjoint": ['color="#dc3545"'],
                      "reads": ['style=dotted', 'color="#888888"', "arrowhead=empty"],
                      "seed": ['color="#dc3545"', "style=bold"],
                      "control": ["style=dotted"]}.get(e.kind, [])
            lines.append(f'  "{e.src}" -> "{e.dst}" [{", ".join(attrs)}];')
        lines.append("}")
        return "\n".join(lines) + "\n"


def _stronger(old, new) -> str:
    rank = {"": 0, "shape": 1, "read": 2, "recomputed": 3, "stacked": 4}
    return new if rank[new] > rank[old] else old


def _node_dot(n: Node) -> str:
    label = n.label()
    style = STYLE[n.kind]
    extra = ""
    if n.kept:
        label += {"read": "\n(kept)", "stacked": "\n(kept, stacked)", "shape": "\n(shape stacked)",
                  "recomputed": "\n(recomputed)"}[n.kept]
        extra = ', penwidth=2.5, color="#dc3545"'
    return (f'"{n.id}" [label="{_esc(label)}", class="{n.kind}", tooltip="{_esc(n.tooltip)}", '
            f'{style}{extra}];')


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _join(envs):
    envs = [e for e in envs if e is not None]
    if not envs:
        return None
    out: dict = {}
    for e in envs:
        for k, v in e.items():
            out[k] = out.get(k, set()) | v
    return out


def _const_text(v) -> str:
    text = ast.unparse(ir.const_ast(v))
    return text if len(text) <= 30 else text[:27] + "..."


def _op_label(v: ir.Call) -> str:
    """The operation of a call: `×`, `math.log`, `[0]`, `helper()`."""
    prim = v.prim
    if isinstance(prim, UserCall):
        return f"{prim.name}()"
    if prim is PACK_TUPLE or prim is PACK_LIST:
        return prim.kind
    if isinstance(prim, rules.IndexRule):
        sub = ir.expr_ast(v)
        return f"[{ast.unparse(sub.slice)}]"
    if isinstance(prim, rules.Rule) and prim.primal is not None:
        tree = prim.primal.tree
        op = getattr(tree, "op", None) or (tree.ops[0] if isinstance(tree, ast.Compare) else None)
        if op is not None and type(op) in _SYMBOLS:
            return _SYMBOLS[type(op)]
        return prim.primal.text
    name = prim.name if isinstance(prim.name, str) else ""
    return name or ast.unparse(ir.expr_ast(v)).split("(")[0]


def _arg_labels(v: ir.Call) -> list:
    """Edge labels naming the operand of a non-commutative operator (x - y: x, y)."""
    prim = v.prim
    n = len(v.args)
    if n < 2 or not isinstance(prim, rules.Rule) or isinstance(prim, rules.IndexRule):
        return [""] * n
    tree = prim.primal.tree if prim.primal is not None else None
    if tree is not None and type(getattr(tree, "op", None)) in _COMMUTATIVE:
        return [""] * n
    names = [p for p, _ in prim.params]
    return [names[i] if i < len(names) else "" for i in range(n)]


# ---------------------------------------------------------------- the public object

class Graph:
    """A computational graph: `.dot` is its DOT text; `.save(path)` writes .dot, .svg or
    .png (the last two through Graphviz's `dot`); notebooks show `_repr_svg_`."""

    def __init__(self, dot: str, nodes: list, edges: list, mode: str):
        self.dot = dot
        self.nodes = nodes
        self.edges = edges
        self.mode = mode

    def render(self, fmt: str) -> bytes:
        """The graph rendered by Graphviz (`fmt` "svg" or "png")."""
        import shutil
        import subprocess
        exe = shutil.which("dot")
        if exe is None:
            raise SrcadError(f"rendering a graph as {fmt.upper()} needs Graphviz's `dot` program, "
                             "which is not installed: install the package `graphviz` (Debian/"
                             "Ubuntu: apt-get install graphviz; macOS: brew install graphviz), "
                             "or save the graph as .dot")
        done = subprocess.run([exe, f"-T{fmt}"], input=self.dot.encode(), capture_output=True,
                              timeout=120)
        if done.returncode:
            raise SrcadError(f"Graphviz's dot failed: {done.stderr.decode(errors='replace')}")
        return done.stdout

    def save(self, path) -> str:
        """Write the graph to `path`; its suffix (.dot, .gv, .svg, .png) picks the format."""
        path = os.fspath(path)
        ext = os.path.splitext(path)[1].lower()
        if ext in (".dot", ".gv"):
            data = self.dot.encode()
        elif ext in (".svg", ".png"):
            data = self.render(ext[1:])
        else:
            raise SrcadError(f"cannot save a graph as {ext or 'a file without a suffix'!r}: use "
                             ".dot, .svg or .png")
        with open(path, "wb") as fh:
            fh.write(data)
        return path

    def _repr_svg_(self):
        """SVG for notebooks; None (the text repr) when Graphviz is not installed."""
        import shutil
        if shutil.which("dot") is None:
            return None
        return self.render("svg").decode()

    def __repr__(self) -> str:
        return f"<srcad graph ({self.mode}): {len(self.nodes)} nodes, {len(self.edges)} edges>"


def graph(f, mode: str = "primal", wrt=0) -> Graph:
    """The computational graph of `f`'s SSA form; `mode="forward"` adds the tangents and
    `mode="reverse"` the adjoints with respect to `wrt`, and marks what the reverse sweep
    keeps in memory."""
    if mode not in ("primal", "forward", "reverse"):
        raise SrcadError(f"unknown graph mode {mode!r}: use 'primal', 'forward' or 'reverse'")
    prep = _trace.prepare(f, wrt)            # the activity srcad's own derivatives use
    b = _Builder(prep, mode)
    b.build()
    return Graph(b.dot(), list(b.nodes.values()), list(b.edges.values()), mode)
