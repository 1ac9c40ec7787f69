"""srcad.graph: the DOT text parsed back and checked against the SSA and the mathematics."""
import ast
import os
import shutil
import subprocess
import sys

import pytest

import show_funcs as fx
import srcad
from srcad import ir, lower, pipeline

HERE = os.path.dirname(os.path.abspath(__file__))
needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's dot is not installed (Debian: graphviz)")


# ---------------------------------------------------------------- a parser for srcad's DOT

def _tokens(text):
    """DOT tokens: quoted strings (unescaped), identifiers, and punctuation."""
    i, out = 0, []
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c == '"':
            j, buf = i + 1, []
            while text[j] != '"':
                if text[j] == "\\":
                    buf.append({"n": "\n", '"': '"', "\\": "\\"}.get(text[j + 1], "\\" + text[j + 1]))
                    j += 2
                else:
                    buf.append(text[j])
                    j += 1
            out.append(("str", "".join(buf)))
            i = j + 1
        elif text.startswith("->", i):
            out.append(("op", "->"))
            i += 2
        elif c in "{}[];,=":
            out.append(("op", c))
            i += 1
        else:
            j = i
            while j < len(text) and (text[j].isalnum() or text[j] in "_.#-") and \
                    not text.startswith("->", j):
                j += 1
            assert j > i, f"unexpected character {c!r} in DOT text"
            out.append(("id", text[i:j]))
            i = j
    return out


class Dot:
    """Nodes (id -> attributes, with the clusters they sit in), edges and clusters."""

    def __init__(self, text):
        self.nodes, self.edges, self.clusters = {}, [], {}
        toks = _tokens(text)
        assert toks[0] == ("id", "digraph")
        k = 3                                 # digraph NAME {
        assert toks[2] == ("op", "{")
        stack = []
        while k < len(toks):
            kind, val = toks[k]
            if (kind, val) == ("op", "}"):
                if stack:
                    stack.pop()
                k += 1
            elif (kind, val) == ("op", ";"):
                k += 1
            elif (kind, val) == ("id", "subgraph"):
                cid = toks[k + 1][1]
                assert toks[k + 2] == ("op", "{")
                self.clusters[cid] = {"parent": stack[-1] if stack else None}
                stack.append(cid)
                k += 3
            elif kind == "id" and val in ("graph", "node", "edge"):
                _, k = self._attrs(toks, k + 1)
            elif toks[k + 1] == ("op", "="):      # label="..." inside a subgraph
                self.clusters[stack[-1]][val] = toks[k + 2][1]
                k += 3
            elif toks[k + 1] == ("op", "->"):
                attrs, k2 = self._attrs(toks, k + 3)
                self.edges.append((val, toks[k + 2][1], attrs))
                k = k2
            else:
                attrs, k = self._attrs(toks, k + 1)
                attrs["clusters"] = tuple(stack)
                self.nodes[val] = attrs

    @staticmethod
    def _attrs(toks, k):
        attrs = {}
        if toks[k] != ("op", "["):
            return attrs, k
        k += 1
        while toks[k] != ("op", "]"):
            if toks[k] == ("op", ","):
                k += 1
                continue
            attrs[toks[k][1]] = toks[k + 2][1]
            k += 3
        return attrs, k + 1

    def of_kind(self, kind):
        return {n for n, a in self.nodes.items() if a["class"] == kind}

    def data_edges(self):
        return {(s, d) for s, d, a in self.edges if a["class"] == "data"}

    def by_name(self, name, kind="Operator"):
        """The node of `kind` whose label's second line lists SSA name `name`."""
        found = [n for n, a in self.nodes.items() if a["class"] == kind
                 and name in (a["label"].split("\n") + [""])[1].split(", ")]
        assert len(found) == 1, (name, found)
        return found[0]


def ssa_of(f):
    fn = lower.lower(pipeline.parse(f, pipeline.static_kinds(f)))
    return fn


# ---------------------------------------------------------------- the primal graph

def test_survey_graph_nodes_and_edges_are_the_textbooks():
    g = srcad.graph(fx.survey, wrt=(0, 1))
    d = Dot(g.dot)
    assert {d.nodes[n]["label"] for n in d.of_kind("Variable")} == {"x1", "x2"}
    assert d.of_kind("Placeholder") == set() and d.of_kind("Constant") == set()
    ops = {d.nodes[n]["label"].split("\n")[0]: n for n in d.of_kind("Operator")}
    assert set(ops) == {"math.log", "\u00d7", "+", "math.sin", "\u2212"}
    x1, x2 = (n for n in d.of_kind("Variable") if d.nodes[n]["label"] == "x1"), \
        (n for n in d.of_kind("Variable") if d.nodes[n]["label"] == "x2")
    x1, x2 = next(x1), next(x2)
    out = next(iter(d.of_kind("Output")))
    # y = ln(x1) + x1 x2 - sin(x2): v1 = ln v-1, v2 = v-1 v0, v3 = sin v0, v4 = v1 + v2, v5 = v4 - v3
    want = {(x1, ops["math.log"]), (x1, ops["\u00d7"]), (x2, ops["\u00d7"]),
            (x2, ops["math.sin"]), (ops["math.log"], ops["+"]), (ops["\u00d7"], ops["+"]),
            (ops["+"], ops["\u2212"]), (ops["math.sin"], ops["\u2212"]), (ops["\u2212"], out)}
    assert d.data_edges() == want
    # the non-commutative operator names its operands
    labels = {(s, a.get("label")) for s, dst, a in d.edges if dst == ops["\u2212"]}
    assert labels == {(ops["+"], "x"), (ops["math.sin"], "y")}


@pytest.mark.parametrize("func", [fx.survey, fx.f, fx.scaled, fx.smooth, fx.model],
                         ids=lambda f: f.__name__)
def test_straight_line_nodes_and_edges_follow_the_ssa(func):
    """One Operator per SSA operation, labelled with its variable, and an edge from each
    operand's definition; the DOT lists nodes in topological order."""
    fn = ssa_of(func)
    d = Dot(srcad.graph(func).dot)
    order = list(d.nodes)
    params = {d.nodes[n]["label"]: n for n in d.of_kind("Variable") | d.of_kind("Placeholder")
              if not d.nodes[n]["label"].endswith("(global)")}
    assert set(params) == set(fn.params)
    assert {d.nodes[n]["label"] for n in d.of_kind("Variable")} == {fn.params[0]}
    defs = dict((p, params[p]) for p in fn.params)
    loops = [s for s in fn.body if isinstance(s, (ir.For, ir.While, ir.If))]
    calls = [s for s in ir.walk(fn.body) if isinstance(s, ir.Assign) and isinstance(s.value, ir.Call)]
    assert len(d.of_kind("Operator")) == len(calls) + sum(isinstance(s, ir.For) for s in ir.walk(fn.body))
    if loops:
        return                        # edges of loops: see the loop tests
    for s in fn.body:
        if not isinstance(s, ir.Assign):
            continue
        if isinstance(s.value, ir.Name):
            defs[s.target] = defs[s.value.id]
            continue
        node = d.by_name(s.target)
        defs[s.target] = node
        into = [(src, a) for src, dst, a in d.edges if dst == node and a["class"] == "data"]
        names = [a.id for a in s.value.args + list(s.value.kwargs.values()) if isinstance(a, ir.Name)]
        consts = [a for a in s.value.args + list(s.value.kwargs.values()) if isinstance(a, ir.Const)]
        srcs = sorted(src for src, _ in into)
        want = sorted([defs.get(n) or f"global_{n}" for n in set(names)]
                      + [src for src, _ in into if d.nodes[src]["class"] == "Constant"])
        assert srcs == want, s
        const_labels = sorted(d.nodes[src]["label"] for src, _ in into
                              if d.nodes[src]["class"] == "Constant")
        assert const_labels == sorted(ast.unparse(ir.const_ast(c.value)) for c in consts)
        for src, _ in into:
            assert order.index(src) < order.index(node), "not in topological order"


def test_constants_and_globals():
    d = Dot(srcad.graph(fx.scaled).dot)
    assert sorted(d.nodes[n]["label"] for n in d.of_kind("Constant")) == ["1.0", "2.0"]
    d = Dot(srcad.graph(fx.model).dot)
    glob = [n for n in d.of_kind("Placeholder") if d.nodes[n]["label"] == "W\n(global)"]
    assert len(glob) == 1
    assert {d.nodes[n]["label"] for n in d.of_kind("Placeholder")} == {"X", "W\n(global)"}
    # the helper call is one operator
    assert any(d.nodes[n]["label"].startswith("layer()\nh") for n in d.of_kind("Operator"))


def test_loop_is_a_labelled_cluster_with_a_carried_edge():
    d = Dot(srcad.graph(fx.orbit).dot)
    loops = [c for c, a in d.clusters.items() if "for i in range(4):" in a["label"]]
    assert len(loops) == 1
    (loop,) = loops
    assert "show_funcs.py:" in d.clusters[loop]["label"]
    sin = d.by_name("v1")
    x_loop = d.by_name("x")
    assert loop in d.nodes[sin]["clusters"] and loop in d.nodes[x_loop]["clusters"]
    init = d.by_name("x", "Constant")                    # x = 0.5 before the loop
    assert loop not in d.nodes[init]["clusters"]
    into_sin = {(s, a.get("style")) for s, dst, a in d.edges if dst == sin}
    assert into_sin == {(init, None), (x_loop, "dashed")}   # first round, and carried
    out = next(iter(d.of_kind("Output")))
    assert {s for s, dst, _ in d.edges if dst == out} == {init, x_loop}   # zero or more rounds


def test_while_loop_and_branch_clusters():
    d = Dot(srcad.graph(fx.halve).dot)
    labels = sorted(a["label"] for a in d.clusters.values())
    assert any(label.startswith("while x > 1.0:") for label in labels)
    assert "then" in labels
    assert len(d.of_kind("Branch")) == 1
    out = next(iter(d.of_kind("Output")))
    x = next(n for n in d.of_kind("Variable"))
    halved = d.by_name("x")
    # the loop may run zero times (x itself) or exit after halving
    assert {s for s, dst, _ in d.edges if dst == out} == {x, halved}

    d = Dot(srcad.graph(fx.branch).dot)
    (branch,) = d.of_kind("Branch")
    test = d.by_name("v0")
    assert (test, branch) in {(s, dst) for s, dst, _ in d.edges}
    then = [c for c, a in d.clusters.items() if a["label"] == "then"]
    other = [c for c, a in d.clusters.items() if a["label"] == "else"]
    assert len(then) == len(other) == 1
    ys = [n for n, a in d.nodes.items() if a["class"] == "Operator" and a["label"].endswith("\ny")]
    assert len(ys) == 2
    assert {then[0], other[0]} == {d.nodes[n]["clusters"][-1] for n in ys}
    out = next(iter(d.of_kind("Output")))
    assert {s for s, dst, _ in d.edges if dst == out} == set(ys)


# ---------------------------------------------------------------- derivative graphs

def test_forward_graph_has_a_tangent_per_varied_operation():
    d = Dot(srcad.graph(fx.survey, mode="forward", wrt=0).dot)
    tangents = {d.nodes[n]["label"] for n in d.of_kind("Tangent")}
    # sin(x2) does not depend on x1: no tangent (v3_dot = 0 in the survey's Table 2)
    assert tangents == {"x1_dot", "v0_dot", "v1_dot", "v2_dot", "v4_dot"}
    tan = {d.nodes[n]["label"]: n for n in d.of_kind("Tangent")}
    x1 = next(iter(d.of_kind("Variable")))
    reads = {(s, dst) for s, dst, a in d.edges if a["class"] == "reads"}
    flows = {(s, dst) for s, dst, a in d.edges if a["class"] == "tangent"}
    # d ln(x1) = x1_dot / x1: reads the tangent of x1 and x1 itself
    assert (tan["x1_dot"], tan["v0_dot"]) in flows and (x1, tan["v0_dot"]) in reads
    assert (tan["v0_dot"], tan["v2_dot"]) in flows and (tan["v1_dot"], tan["v2_dot"]) in flows
    assert (tan["v2_dot"], tan["v4_dot"]) in flows


def test_reverse_graph_adjoints_run_backwards_along_the_data_edges():
    for func, wrt in ((fx.f, (0, 1)), (fx.survey, (0, 1)), (fx.orbit, (0, 1)), (fx.smooth, 0)):
        d = Dot(srcad.graph(func, mode="reverse", wrt=wrt).dot)
        data = d.data_edges()
        adj = [(s, dst) for s, dst, a in d.edges if a["class"] == "adjoint"]
        assert adj
        for s, dst in adj:
            assert s.startswith("bar_") and dst.startswith("bar_")
            assert (dst[4:], s[4:]) in data, (func.__name__, s, dst)
        out = next(iter(d.of_kind("Output")))
        seeds = [dst for s, dst, a in d.edges if a["class"] == "seed"]
        assert seeds and all(s == out for s, _, a in d.edges if a["class"] == "seed")


def test_reverse_graph_marks_what_the_sweep_keeps():
    d = Dot(srcad.graph(fx.f, mode="reverse", wrt=(0, 1)).dot)
    kept = {d.nodes[n]["label"].split("\n")[0] for n, a in d.nodes.items() if "(kept" in a["label"]}
    # d(x0 x1) needs x0 and x1; d(x1 / x0) needs x1 and x0 (and the quotient or x0 again)
    assert {"x0", "x1"} <= kept
    adjoints = {d.nodes[n]["label"] for n in d.of_kind("Adjoint")}
    assert adjoints == {"x0_bar", "x1_bar", "v0_bar", "v1_bar", "v2_bar"}

    d = Dot(srcad.graph(fx.orbit, mode="reverse", wrt=(0, 1)).dot)
    x_loop = d.by_name("x")
    # x is overwritten by each round: the sweep pushes it on a stack
    assert "(kept, stacked)" in d.nodes[x_loop]["label"]
    # sin(x) is cheap and its input is kept: recomputed, not stored
    assert "(recomputed)" in d.nodes[d.by_name("v1")]["label"]

    d = Dot(srcad.graph(fx.smooth, mode="reverse", wrt=(0, 1)).dot)
    # z[i]'s adjoint reads i, which the reversed loop runs over again: not stored
    assert d.nodes[d.by_name("i")]["label"] == "for\ni\n(recomputed)"
    assert "(kept, stacked)" in d.nodes[d.by_name("v3")]["label"]      # tanh(z[i]) per round


def test_graph_modes_and_errors():
    with pytest.raises(srcad.SrcadError, match="unknown graph mode"):
        srcad.graph(fx.f, mode="sideways")
    with pytest.raises(srcad.SrcadError):
        srcad.graph(fx.f, wrt="nope")
    g = srcad.graph(fx.f)
    with pytest.raises(srcad.SrcadError, match=r"\.dot, \.svg or \.png"):
        g.save("graph.txt")
    assert "nodes" in repr(g)


def test_missing_graphviz_is_a_clear_error(monkeypatch, tmp_path):
    g = srcad.graph(fx.f)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(srcad.SrcadError, match="graphviz"):
        g.save(tmp_path / "f.svg")
    assert g._repr_svg_() is None
    g.save(tmp_path / "f.dot")                           # DOT needs nothing
    assert (tmp_path / "f.dot").read_text() == g.dot


@needs_dot
def test_png_and_svg_are_rendered(tmp_path):
    for mode in ("primal", "forward", "reverse"):
        g = srcad.graph(fx.orbit, mode=mode)
        png = tmp_path / f"orbit_{mode}.png"
        assert g.save(png) == str(png)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        svg = g._repr_svg_()
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "Operator" in svg


# ---------------------------------------------------------------- the command line

def run_cli(*args, cwd=HERE):
    return subprocess.run([sys.executable, "-m", "srcad", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(
                              [os.path.dirname(os.path.dirname(HERE)), os.environ.get(
                                  "PYTHONPATH", "")])})


def test_cli_graph_prints_dot():
    r = run_cli("graph", "show_funcs.py:f", "--mode", "reverse", "--wrt", "x0,x1")
    assert r.returncode == 0, r.stderr
    d = Dot(r.stdout)
    assert {d.nodes[n]["label"].split("\n")[0] for n in d.of_kind("Variable")} == {"x0", "x1"}
    assert d.of_kind("Adjoint")
    r = run_cli("graph", "show_funcs.py:f", "--mode", "primal")
    assert r.returncode == 0 and {Dot(r.stdout).nodes[n]["label"]
                                  for n in Dot(r.stdout).of_kind("Variable")} == {"x0"}
    r = run_cli("graph", "show_funcs.py:f", "--mode", "forward", "-o", "f.txt")
    assert r.returncode == 2 and "srcad:" in r.stderr and "Traceback" not in r.stderr


@needs_dot
def test_cli_graph_renders_png(tmp_path):
    out = tmp_path / "f.png"
    r = run_cli("graph", "show_funcs.py:f", "--mode", "reverse", "--wrt", "0,1", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:4] == b"\x89PNG"
    r = run_cli("graph", "show_funcs.py:f", "--format", "svg")
    assert r.returncode == 0 and "<svg" in r.stdout


def test_forward_graph_follows_srcads_activity():
    """Tangent nodes are those srcad's forward code computes: none for a dead end."""
    d = Dot(srcad.graph(fx.dead_end, mode="forward").dot)
    assert {d.nodes[n]["label"] for n in d.of_kind("Tangent")} == {"x_dot", "v1_dot"}


def test_importing_srcad_does_not_load_show():
    code = ("import sys, srcad; assert 'srcad.show' not in sys.modules; "
            "from srcad import graph, trace, export; assert 'srcad.show.graph' in sys.modules; "
            "assert srcad.graph is graph and 'graph' in srcad.__all__")
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(HERE))}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stderr


from fixtures import catalog  # noqa: E402


@pytest.mark.parametrize("func, wrt", [(fx.orbit, (0, 1)), (fx.smooth, (0, 1)), (fx.halve, 0),
                                       (fx.model, 0)] + [(f, 0) for f in catalog.ALL],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_stacked_marks_match_the_generated_code(func, wrt):
    """The values marked "(kept, stacked)" are those srcad's reverse code pushes on a stack."""
    try:
        srcad.source(func, mode="reverse", wrt=wrt)
    except srcad.SrcadError:
        pytest.skip("srcad refuses this function")
    main = ast.parse(srcad.source(func, mode="reverse", wrt=wrt)).body[-1]
    fn = ssa_of(func)
    ssa_names = set(fn.params) | {t for s in ir.walk(fn.body) for t in ir.targets(s)}
    pushed = {c.args[0].id for c in ast.walk(main) if isinstance(c, ast.Call)
              and isinstance(c.func, ast.Attribute) and c.func.attr == "append"
              and isinstance(c.func.value, ast.Name) and c.func.value.id.endswith("_stack")
              and isinstance(c.args[0], ast.Name)} & ssa_names     # not counters, residuals
    # a list grown in place (srcad/lists.py) is kept by popping its appends back
    pushed |= {c.func.value.id for c in ast.walk(main) if isinstance(c, ast.Call)
               and isinstance(c.func, ast.Attribute) and c.func.attr == "pop" and not c.args
               and isinstance(c.func.value, ast.Name)} & ssa_names
    d = Dot(srcad.graph(func, mode="reverse", wrt=wrt).dot)

    def names(a):           # the SSA names a node defines (an operator's second line)
        lines = a["label"].split("\n")
        if a["class"] in ("Operator", "Constant"):
            return set(lines[1].split(", ")) if len(lines) > 1 and "(" not in lines[1] else set()
        return set(lines[:1])
    marked = [names(a) for a in d.nodes.values() if a["label"].endswith("(kept, stacked)")]
    # a helper call is marked for its residuals, which are stacked under names of their own
    values = [names(a) for a in d.nodes.values() if a["label"].endswith("(kept, stacked)")
              and not a["label"].split("\n")[0].endswith("()")]
    assert all(m & pushed for m in values)
    assert pushed <= set().union(*marked)
    unmarked = [names(a) for a in d.nodes.values() if a["class"] in ("Operator", "Variable",
                                                                      "Constant")
                and not a["label"].endswith("(kept, stacked)")]
    assert not any(m & pushed for m in unmarked)
    # x_stack.append(np.shape(x)): only the shape is pushed
    shapes = {c.args[0].args[0].id for c in ast.walk(main) if isinstance(c, ast.Call)
              and isinstance(c.func, ast.Attribute) and c.func.attr == "append"
              and isinstance(c.args[0], ast.Call) and ast.unparse(c.args[0].func) == "np.shape"
              and isinstance(c.args[0].args[0], ast.Name)} & ssa_names
    shape_marked = [names(a) for a in d.nodes.values() if a["label"].endswith("(shape stacked)")]
    assert all(m & shapes for m in shape_marked)
    any_mark = [names(a) for a in d.nodes.values() if a["label"].endswith(")")]
    assert shapes <= set().union(set(), *any_mark)
