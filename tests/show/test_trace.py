"""srcad.trace: the evaluation-trace tables, checked entry by entry against closed forms.

The survey is Baydin, Pearlmutter, Radul and Siskind, "Automatic differentiation in machine
learning: a survey" (JMLR 2018): Table 2 (forward) and Table 3 (reverse) for
y = ln(x1) + x1 x2 - sin(x2) at (x1, x2) = (2, 5). The survey numbers v-1 = x1, v0 = x2,
v1 = ln v-1, v2 = v-1 v0, v3 = sin v0, v4 = v1 + v2, v5 = v4 - v3; srcad's SSA computes the
same operations (its temporaries v0.. in its own order), so rows are matched by operation.
"""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import show_funcs as fx
import srcad
from srcad.testing import numerical_grad

HERE = os.path.dirname(os.path.abspath(__file__))
X1, X2 = 2.0, 5.0


def survey_rows(t):
    """The survey's names for the rows of srcad's trace of `survey`."""
    by_op = {r.op: r for r in t.rows}
    v1, v2, v3 = by_op["math.log(x1)"], by_op["x1 * x2"], by_op["math.sin(x2)"]
    v4 = by_op[f"{v1.name} + {v2.name}"]
    v5 = by_op[f"{v4.name} - {v3.name}"]
    inputs = {r.name: r for r in t.inputs}
    return {"v-1": inputs["x1"], "v0": inputs["x2"], "v1": v1, "v2": v2, "v3": v3, "v4": v4,
            "v5": v5}


def test_survey_table_2_forward_trace():
    t = srcad.trace(fx.survey, X1, X2)              # seed x1_dot = 1 (wrt=0)
    v = survey_rows(t)
    primal = {"v-1": X1, "v0": X2, "v1": math.log(X1), "v2": X1 * X2, "v3": math.sin(X2),
              "v4": math.log(X1) + X1 * X2, "v5": math.log(X1) + X1 * X2 - math.sin(X2)}
    # v1' = v-1'/v-1, v2' = v-1' v0 + v0' v-1, v3' = v0' cos v0, v4' = v1' + v2', v5' = v4' - v3'
    tangent = {"v-1": 1.0, "v0": 0.0, "v1": 1 / X1, "v2": X2, "v3": 0.0, "v4": 1 / X1 + X2,
               "v5": 1 / X1 + X2}
    for k in primal:
        assert v[k].value == pytest.approx(primal[k], rel=1e-15), k
        assert v[k].tangent == pytest.approx(tangent[k], rel=1e-15), k
    # the table's rounded entries
    assert [round(v[k].value, 3) for k in primal] == [2, 5, 0.693, 10, -0.959, 10.693, 11.652]
    assert [round(v[k].tangent, 3) for k in tangent] == [1, 0, 0.5, 5, 0, 5.5, 5.5]
    assert t.result == pytest.approx(5.5) and t.output == pytest.approx(primal["v5"])
    # rows in evaluation order: every operand is computed before it is used
    order = [r.name for r in t.rows]
    assert order.index(v["v1"].name) < order.index(v["v4"].name) < order.index(v["v5"].name)
    assert order.index(v["v3"].name) < order.index(v["v5"].name)
    text = str(t)
    for cell in ("0.693147", "-0.958924", "10.6931", "11.6521", "5.5", "0.5"):
        assert cell in text
    assert "seed x1_dot = 1" in text


def test_survey_table_3_reverse_trace():
    t = srcad.trace(fx.survey, X1, X2, mode="reverse", wrt=(0, 1))
    v = survey_rows(t)
    bar = {r.name for r in t.adjoint_rows}
    name = {k: r.name for k, r in v.items()}
    assert bar == set(name.values())
    cos = math.cos(X2)
    # v5_bar = y_bar = 1; v4_bar = v5_bar = 1; v3_bar = -v5_bar = -1; v1_bar = v4_bar = 1;
    # v2_bar = v4_bar = 1
    for k, want in (("v5", 1.0), ("v4", 1.0), ("v3", -1.0), ("v1", 1.0), ("v2", 1.0)):
        (row,) = t.updates(name[k])
        assert row.value == row.contribution == want, k
    # v0_bar = v3_bar cos v0 = -0.284, then v0_bar += v2_bar v-1 = 1.716
    first, second = t.updates("x2")
    assert first.contribution == pytest.approx(-cos, rel=1e-15) and first.value == first.contribution
    assert second.contribution == pytest.approx(X1, rel=1e-15)
    assert second.value == pytest.approx(X1 - cos, rel=1e-15)
    assert (round(first.value, 3), round(second.value, 3)) == (-0.284, 1.716)
    # v-1_bar = v2_bar v0 = 5, then v-1_bar += v1_bar / v-1 = 5.5
    first, second = t.updates("x1")
    assert first.contribution == pytest.approx(X2) and first.value == pytest.approx(X2)
    assert second.contribution == pytest.approx(1 / X1)
    assert second.value == pytest.approx(X2 + 1 / X1) == 5.5
    assert t.adjoint("x1") == pytest.approx(5.5) and t.adjoint("x2") == pytest.approx(X1 - cos)
    assert t.result == pytest.approx((5.5, X1 - cos))
    # reverse order: the statements undone never move forward in the primal order
    pos = {r.name: i for i, r in enumerate(t.rows)}
    undone = [pos[r.op.split(" = ")[0]] for r in t.adjoint_rows[1:]]
    assert undone == sorted(undone, reverse=True)
    assert t.adjoint_rows[0].role == "seed"
    # the primal values are the forward sweep's
    assert v["v3"].value == pytest.approx(math.sin(X2))
    text = str(t)
    assert "adjoint trace" in text and "1.71634" in text and "-0.283662" in text


def test_forward_seed_is_a_direction():
    t = srcad.trace(fx.survey, X1, X2, wrt=(0, 1), seed=(0.0, 1.0))
    v = survey_rows(t)
    assert v["v3"].tangent == pytest.approx(math.cos(X2))
    assert t.result == pytest.approx(X1 - math.cos(X2))
    assert t.tangent("x2") == 1.0 and t.tangent("x1") == 0.0
    with pytest.raises(srcad.SrcadError, match="one tangent per wrt"):
        srcad.trace(fx.survey, X1, X2, wrt=(0, 1), seed=1.0)


def _orbit(a, b, n):
    """The orbit x <- a sin x + b x and its derivatives along a and b, by hand."""
    xs, x, da, db = [], 0.5, 0.0, 0.0
    for _ in range(n):
        da, db = a * math.cos(x) * da + math.sin(x) + b * da, a * math.cos(x) * db + x + b * db
        x = a * math.sin(x) + b * x
        xs.append(x)
    return xs, da, db


def test_loops_give_one_row_per_step():
    a, b = 0.7, 0.3
    t = srcad.trace(fx.orbit, a, b)
    xs, da, _ = _orbit(a, b, 4)
    steps = [r for r in t.rows if r.op.startswith("v") and r.name == "x"]
    assert [r.value for r in steps] == pytest.approx(xs, rel=1e-14)
    assert [r.value for r in t.rows if r.role == "loop index"] == [0, 1, 2, 3]
    assert len([r for r in t.rows if r.op == "math.sin(x)"]) == 4
    assert t.result == pytest.approx(da, rel=1e-13)

    t = srcad.trace(fx.orbit, a, b, mode="reverse", wrt=(0, 1))
    _, da, db = _orbit(a, b, 4)
    assert len([r for r in t.adjoint_rows if r.op == "v1 = math.sin(x)"]) == 4
    assert t.adjoint("a") == pytest.approx(da, rel=1e-13)
    assert t.adjoint("b") == pytest.approx(db, rel=1e-13)
    assert t.result == pytest.approx((da, db), rel=1e-13)
    # each step's contributions, last step first: a_bar += x_bar sin(x_k), b_bar += x_bar x_k
    xk = [0.5] + _orbit(a, b, 4)[0][:-1]
    bar, want_a, want_b = 1.0, [], []
    for x in reversed(xk):
        want_a.append(bar * math.sin(x))
        want_b.append(bar * x)
        bar = bar * (a * math.cos(x) + b)
    assert [r.contribution for r in t.updates("a")] == pytest.approx(want_a, rel=1e-13)
    assert [r.contribution for r in t.updates("b")] == pytest.approx(want_b, rel=1e-13)


def test_row_limit_can_be_raised():
    a, b, n = 0.7, 0.3, 300
    t = srcad.trace(fx.orbit_n, a, b, n)
    assert len(t.rows) == srcad.show.trace.DEFAULT_LIMIT
    assert t.dropped["primal"] == 2 + 5 * n - len(t.rows)      # x = 0.5, range, 5 per step
    assert "more rows not shown" in str(t) and "limit=" in str(t)
    t = srcad.trace(fx.orbit_n, a, b, n, limit=10)
    assert len(t.rows) == 10 and "limit=10" in str(t)
    t = srcad.trace(fx.orbit_n, a, b, n, limit=5000)
    assert t.dropped["primal"] == 0 and "not shown" not in str(t)
    xs, da, _ = _orbit(a, b, n)
    assert t.value("x") == pytest.approx(xs[-1]) and t.result == pytest.approx(da)
    t = srcad.trace(fx.orbit_n, a, b, n, mode="reverse", limit=20)
    assert len(t.adjoint_rows) <= 21 and t.dropped["adjoint"] > 0
    assert t.result == pytest.approx(da)         # the limit only shortens the table
    with pytest.raises(srcad.SrcadError, match="limit"):
        srcad.trace(fx.orbit, a, b, limit=-1)


def test_branches_and_while_loops():
    t = srcad.trace(fx.branch, 0.7, 0.3)
    assert [r.op for r in t.rows] == ["a > b", "a * b"]
    assert t.result == pytest.approx(0.3)
    t = srcad.trace(fx.branch, 0.2, 0.3, mode="reverse")
    assert [r.op for r in t.rows] == ["a > b", "a + 2.0"]
    assert t.result == pytest.approx(1.0)
    t = srcad.trace(fx.halve, 5.0)
    assert [r.value for r in t.rows if r.op == "x * 0.5"] == [2.5, 1.25, 0.625]
    assert [r.value for r in t.rows if r.op == "x > 1.0"] == [True, True, True, False]
    assert t.result == pytest.approx(0.125)
    assert [r.tangent for r in t.rows if r.op == "x > 1.0"] == [None] * 4


def test_arrays_and_helpers():
    rng = np.random.default_rng(0)
    w, b, X = rng.normal(size=3), 0.1, rng.normal(size=(3, 3))
    t = srcad.trace(fx.smooth, w, b, X, mode="reverse", wrt=(0, 1))
    gw, gb = t.result
    np.testing.assert_allclose(gw, numerical_grad(fx.smooth, (w, b, X), 0), rtol=1e-6)
    assert gb == pytest.approx(float(numerical_grad(fx.smooth, (w, b, X), 1)), rel=1e-6)
    assert isinstance(t.value("z"), np.ndarray) and t.value("z").shape == (3, 3)
    t = srcad.trace(fx.model, w, X)
    rows = [r for r in t.rows if r.op == "layer(v0, 1.5)"]
    assert len(rows) == 1 and rows[0].value.shape == (3,)
    e = np.zeros(3)
    e[0] = 1.0
    t = srcad.trace(fx.model, w, X, seed=e)
    assert t.result == pytest.approx(numerical_grad(fx.model, (w, X), 0)[0], rel=1e-6)
    t = srcad.trace(fx.model, w, X, mode="reverse")
    np.testing.assert_allclose(t.result, numerical_grad(fx.model, (w, X), 0), rtol=1e-6)


def test_html_table():
    t = srcad.trace(fx.survey, X1, X2, mode="reverse", wrt=(0, 1))
    html = t._repr_html_()
    assert html.count("<table>") == 2
    assert html.count("<tr>") == 1 + len(t.inputs) + len(t.rows) + 1 + len(t.adjoint_rows)
    assert "1.71634" in html and "x2_bar" in html


def test_bad_mode():
    with pytest.raises(srcad.SrcadError, match="unknown mode"):
        srcad.trace(fx.survey, X1, X2, mode="primal")


def run_cli(*args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [os.path.dirname(os.path.dirname(HERE)), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "srcad", *args], capture_output=True, text=True,
                          cwd=HERE, timeout=120, env=env)


def test_cli_trace():
    r = run_cli("trace", "show_funcs.py:survey", "--args", "2.0, 5.0")
    assert r.returncode == 0, r.stderr
    assert "0.693147" in r.stdout and "output tangent 5.5" in r.stdout
    r = run_cli("trace", "show_funcs.py:survey", "--args", "2.0, 5.0", "--mode", "reverse",
                "--wrt", "x1,x2")
    assert r.returncode == 0, r.stderr
    assert "1.71634" in r.stdout and "gradient (5.5, 1.71634)" in r.stdout
    r = run_cli("trace", "show_funcs.py:orbit_n", "--args", "0.7, 0.3, 100", "--limit", "7")
    assert r.returncode == 0 and "limit=7" in r.stdout
    r = run_cli("trace", "show_funcs.py:survey", "--args", "2.0, five")
    assert r.returncode == 2 and "not Python literals" in r.stderr


def test_example_runs(monkeypatch, tmp_path, capsys):
    import runpy
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    runpy.run_path(os.path.join(HERE, os.pardir, os.pardir, "examples", "see_the_computation.py"),
                   run_name="__main__")
    out = capsys.readouterr().out
    assert "1.71634" in out and "survey_grad.py gives (5.5, 1.716" in out
    assert (tmp_path / "survey.dot").exists() and (tmp_path / "survey_grad.py").exists()


def test_tuple_targets_and_helpers_returning_tuples():
    # regression: the reverse sweep's update rows of an unpacking statement named a target
    x = 0.7
    t = srcad.trace(fx.unpacks, x, mode="reverse")
    assert t.result == pytest.approx((2 * x + x * x) * math.exp(x), rel=1e-14)
    items = [r for r in t.rows if r.name in ("a", "b")]
    assert [r.op.split()[1:] for r in items] == [["(item", "0)"], ["(item", "1)"]]
    assert [r.value for r in items] == pytest.approx([x * x, math.exp(x)])
    (unpack,) = [r for r in t.adjoint_rows if r.op.startswith("a, b = ")]
    assert unpack.value == pytest.approx((math.exp(x), x * x))      # (a_bar, b_bar) = (b, a)
    t = srcad.trace(fx.unpacks, x)
    assert [t.tangent("a"), t.tangent("b")] == pytest.approx([2 * x, math.exp(x)])


def test_forward_trace_shows_tangents_the_output_does_not_need():
    t = srcad.trace(fx.dead_end, 0.4)
    assert t.tangent("unused") == pytest.approx(3.0 * math.cos(0.4))
    assert t.result == 2.0
