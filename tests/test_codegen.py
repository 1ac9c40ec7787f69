"""Generated source: golden snapshots, determinism, standalone execution, readability.

Snapshots live in tests/snapshots/. After an intended change of the generated code, rewrite
them with `SRCAD_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_codegen.py`, then read the diff.
"""
import ast
import inspect
import linecache
import math
import os
import subprocess
import sys
import textwrap
import traceback
import types

import numpy as np
import pytest

import srcad

from conftest import fresh_module
from fixtures import container_funcs as conf
from fixtures import control_funcs as cf
from fixtures import core_funcs as core
from fixtures import snapshot_funcs as sf

TESTS = os.path.dirname(os.path.abspath(__file__))
SNAPSHOTS = os.path.join(TESTS, "snapshots")
UPDATE = os.environ.get("SRCAD_UPDATE_SNAPSHOTS") == "1"


def normalized(text, *modules):
    """The source with the fixture files' absolute paths replaced by their base names, so the
    golden files do not depend on where the repository is checked out."""
    for m in modules:
        text = text.replace(m.__file__, os.path.basename(m.__file__))
    return text


SNAPSHOT_CASES = [
    ("ex1_reverse", lambda: srcad.source(sf.ex1, mode="reverse", wrt=("x0", "x1"))),
    ("scalar_loop_reverse", lambda: srcad.source(sf.scalar_loop, mode="reverse", wrt="x")),
    ("ex2_forward", lambda: srcad.source(sf.ex2, mode="forward", wrt=("x1", "x2"))),
    ("newton_sqrt_reverse", lambda: srcad.source(sf.newton_sqrt, mode="reverse")),
    # containers: dict items read by key, a list of (W, b) pairs, a dict filled in a loop
    ("mlp_dict_reverse", lambda: srcad.source(conf.mlp_dict, mode="reverse")),
    ("neural_net_l2_forward", lambda: srcad.source(conf.l2_norm, mode="forward")),
    ("dict_fill_reverse", lambda: srcad.source(conf.dict_fill, mode="reverse")),
    # built for a list of (W, b) pairs: `W, b = v4`'s adjoint is the tuple (W_bar, b_bar),
    # and for an array: its rows' adjoints make an array of the row's shape, no checks
    ("l2_norm_pairs_reverse", lambda: srcad.source(
        conf.l2_norm, mode="reverse", args=([(np.ones((2, 2)), np.ones(2))],))),
    ("state_rows_reverse", lambda: srcad.source(
        sf.state_rows, mode="reverse", wrt=(0, 1), args=(np.ones((3, 2)), 0.5))),
]


@pytest.mark.parametrize("name, make", SNAPSHOT_CASES, ids=[c[0] for c in SNAPSHOT_CASES])
def test_snapshot(name, make):
    path = os.path.join(SNAPSHOTS, name + ".py")
    text = normalized(make(), sf, conf)
    if UPDATE:
        os.makedirs(SNAPSHOTS, exist_ok=True)
        with open(path, "w") as fh:
            fh.write(text)
    assert os.path.exists(path), f"missing snapshot {path}: run with SRCAD_UPDATE_SNAPSHOTS=1"
    with open(path) as fh:
        want = fh.read()
    assert text == want, f"generated source differs from {path}; if intended, rerun with " \
                         "SRCAD_UPDATE_SNAPSHOTS=1 and review the diff"


def _exec_snapshot(name):
    with open(os.path.join(SNAPSHOTS, name + ".py")) as fh:
        text = fh.read()
    ns = {}
    exec(compile(text, name, "exec"), ns)
    fns = [n.name for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)]
    return ns[fns[-1]]


def test_snapshots_compute_correct_derivatives():
    """The golden files are themselves right: checked against closed forms."""
    g0, g1 = _exec_snapshot("ex1_reverse")(3.0, 5.0)
    assert g0 == pytest.approx(4 + 4 / 9) and g1 == pytest.approx(3 + 1 / 3)
    # s_{k+1} = s_k x + sin x: derivative by the recurrence ds' = ds x + s + cos x
    x, n = 0.7, 5
    s, ds = 0.0, 0.0
    for _ in range(n):
        s, ds = s * x + math.sin(x), ds * x + s + math.cos(x)
    assert _exec_snapshot("scalar_loop_reverse")(x, n) == pytest.approx(ds, rel=1e-14)
    out, dout = _exec_snapshot("ex2_forward")(2.0, 5.0, 1.0, 0.0)
    assert out == sf.ex2(2.0, 5.0) and dout == pytest.approx(5.5)
    _, dout = _exec_snapshot("ex2_forward")(2.0, 5.0, 0.0, 1.0)
    assert dout == pytest.approx(2.0 - math.cos(5.0))
    # Newton's iterations for sqrt(a), differentiated through the while loop: 1 / (2 sqrt a)
    for a in (2.0, 9.0, 0.3):
        assert _exec_snapshot("newton_sqrt_reverse")(a) == pytest.approx(0.5 / math.sqrt(a),
                                                                           rel=1e-9)


# ------------------------------------------------------------ determinism

DETERMINISM = [(core.ex1, "reverse", 0), (core.ex3, "reverse", (0, 1, 2)),
               (cf.rnn, "reverse", (0, 1, 2, 3, 4)), (cf.nested_break, "reverse", 0),
               (cf.return_in_loop, "forward", 0), (cf.calls_with_kwargs, "reverse", (0, 1)),
               (cf.build_list, "reverse", 0), (cf.bool_cond, "forward", (0, 1)),
               (cf.newton_sqrt, "reverse", 0)]


@pytest.mark.parametrize("f, mode, wrt", DETERMINISM,
                         ids=[f"{f.__name__}-{m}" for f, m, _ in DETERMINISM])
def test_same_source_twice_is_byte_identical(f, mode, wrt):
    """Two independent builds (fresh function objects, so nothing is cached) agree."""
    first = srcad.source(f, mode=mode, wrt=wrt)
    again = fresh_module(f.__module__)
    second = srcad.source(getattr(again, f.__name__), mode=mode, wrt=wrt)
    assert first == second


_PRINT_SOURCES = textwrap.dedent("""
    import srcad
    from fixtures import control_funcs as cf, core_funcs as core
    for f, mode, wrt in [(core.ex1, "reverse", 0), (cf.rnn, "reverse", (0, 1, 2, 3, 4)),
                         (cf.nested_break, "reverse", 0), (cf.calls_with_kwargs, "reverse", (0, 1)),
                         (cf.build_list, "reverse", 0), (cf.bool_cond, "forward", (0, 1)),
                         (cf.return_in_loop, "forward", 0)]:
        print(srcad.source(f, mode=mode, wrt=wrt))
        print(srcad.ssa(f))
""")


def test_source_is_identical_across_processes_and_hash_seeds():
    outs = []
    for seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        r = subprocess.run([sys.executable, "-c", _PRINT_SOURCES], capture_output=True, text=True,
                           cwd=TESTS, env=env, timeout=60)
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout)
    assert outs[0] == outs[1]
    assert "def ex1_" in outs[0] or "ex1" in outs[0]


# ------------------------------------------------------------ standalone source

def _module_globals_read(f):
    """The user's global values `f` reads (not modules: the source imports what it needs)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(f)))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return {n: f.__globals__[n] for n in names
            if n in f.__globals__ and not isinstance(f.__globals__[n], types.ModuleType)}


def run_source_alone(f, mode, wrt, args):
    text = srcad.source(f, mode=mode, wrt=wrt)
    code = compile(text, "<standalone>", "exec")
    ns = dict(_module_globals_read(f))
    exec(code, ns)
    fns = [n.name for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)]
    return ns[fns[-1]](*args)


STANDALONE = [
    (core.ex1, (3.0, 5.0)),
    (core.ex2, (2.0, 5.0)),
    (core.uses_global, (1.5,)),
    (core.aug_assign, (1.3, 0.6)),
    (core.math_funcs, (0.8,)),
    (core.ex4, (np.arange(4.0),)),
    (core.two_arrays, (np.linspace(0.1, 1.0, 4), np.linspace(-1.0, 2.0, 4))),
    (cf.branch, (0.5,)),
    (cf.range_stop, (0.9, 5)),
    (cf.return_in_loop, (1.1,)),
    (cf.halve, (5.0,)),
    (cf.nested_break, (0.8,)),
    (cf.build_list, (0.4, 5)),
    (cf.rnn, (np.eye(2) * 0.5, np.ones((2, 2)) * 0.1, np.zeros(2), np.ones((4, 2)), np.ones(2))),
    (cf.calls_helper_twice, (0.7, -1.2)),
    (cf.call_chain, (0.7, -1.2)),
    (cf.calls_tuple_helper, (0.7, -1.2)),
    (core.tuple_unpack_call, (0.7, -1.2)),
]


@pytest.mark.parametrize("f, args", STANDALONE, ids=[f.__name__ for f, _ in STANDALONE])
def test_reverse_source_runs_without_srcad_compiler(f, args):
    got = run_source_alone(f, "reverse", 0, args)
    np.testing.assert_allclose(got, srcad.grad(f)(*args), rtol=1e-14)
    np.testing.assert_allclose(got, srcad.testing.numerical_grad(f, args, 0), rtol=1e-6,
                               atol=1e-8)


@pytest.mark.parametrize("f, args", STANDALONE, ids=[f.__name__ for f, _ in STANDALONE])
def test_forward_source_runs_without_srcad_compiler(f, args):
    t = 1.0 if isinstance(args[0], float) else np.ones_like(args[0])
    out, dout = run_source_alone(f, "forward", 0, args + (t,))
    assert np.all(out == f(*args))
    want = np.sum(srcad.testing.numerical_grad(f, args, 0) * t)
    np.testing.assert_allclose(dout, want, rtol=1e-6, atol=1e-8)


def test_source_imports_only_numpy_math_and_runtime():
    for f in (core.ex1, core.math_funcs, cf.rnn, cf.build_list, cf.call_chain):
        for mode in ("reverse", "forward"):
            tree = ast.parse(srcad.source(f, mode=mode))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    assert {a.name for a in node.names} <= {"numpy", "math"}
                elif isinstance(node, ast.ImportFrom):
                    assert node.module == "srcad.runtime", ast.unparse(node)


def test_runtime_imports_nothing_from_the_compiler():
    import srcad.runtime
    tree = ast.parse(inspect.getsource(srcad.runtime))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not node.module.startswith("srcad"), ast.unparse(node)
        elif isinstance(node, ast.Import):
            assert not any(a.name.startswith("srcad") for a in node.names), ast.unparse(node)


# ------------------------------------------------------------ readability

def test_source_has_docstring_and_user_line_comments():
    text = srcad.source(core.ex1)
    tree = ast.parse(text)
    fn = [n for n in tree.body if isinstance(n, ast.FunctionDef)][-1]
    doc = ast.get_docstring(fn)
    assert doc and "ex1" in doc
    assert "# y = x0 * x1 + x1 / x0" in text
    line = inspect.getsourcelines(core.ex1)[1] + 1
    assert f"core_funcs.py:{line}" in text


def test_names_follow_dot_and_bar_convention():
    rev = srcad.source(core.ex1, wrt=(0, 1))
    fwd = srcad.source(core.ex1, mode="forward", wrt=(0, 1))
    assert "x0_bar" in rev and "x1_bar" in rev
    assert "x0_dot" in fwd and "x1_dot" in fwd


def test_loops_stay_loops():
    text = srcad.source(cf.long_linear_loop)
    assert text.count("for ") >= 2                      # forward sweep and reverse sweep
    assert len(text.splitlines()) < 80
    assert "for " in srcad.source(cf.long_linear_loop, mode="forward")


def test_generated_code_is_in_linecache_and_tracebacks():
    df = srcad.derivative(core.ex1)
    filename = df.__code__.co_filename
    assert linecache.getline(filename, df.__code__.co_firstlineno)
    with pytest.raises(TypeError) as info:
        df("three", 5.0)
    frames = traceback.extract_tb(info.value.__traceback__)
    generated = [fr for fr in frames if fr.filename == filename]
    assert generated and generated[-1].line.strip(), [(fr.filename, fr.line) for fr in frames]


def test_generated_names_do_not_collide_with_user_names():
    # the user's own x_bar, v0, d_out and unbroadcast: (x x_bar + v0) x
    x, xb, v0 = 1.5, 2.0, 0.5
    want = (2 * x * xb + v0, x * x, x)
    assert srcad.grad(core.collide, wrt=(0, 1, 2))(x, xb, v0) == pytest.approx(want)
    value, g = srcad.value_and_grad(core.collide, wrt=(0, 1, 2))(x, xb, v0)
    assert value == core.collide(x, xb, v0) and g == pytest.approx(want)
    out, dout = srcad.jvp(core.collide, (x, xb, v0), (1.0, 1.0, 1.0))
    assert out == core.collide(x, xb, v0) and dout == pytest.approx(sum(want))
    srcad.testing.check_grads(core.collide, x, xb, v0)
    for mode in ("reverse", "forward"):
        compile(srcad.source(core.collide, mode=mode, wrt=(0, 1, 2)), "<collide>", "exec")


def test_debug_prints_the_code_compiled_for_the_arguments(capsys):
    """SRCAD_DEBUG=reverse shows what a call compiles: for arrays of one shape, shape
    classes drop the broadcasting helpers that `srcad.source` (which sees no arguments,
    so cannot tell two arrays have one shape) keeps."""
    from fixtures import lazy_funcs as lf
    from fixtures import regress_s6gb as fx
    from srcad import pipeline
    d = pipeline.build(lf.rosen, "reverse", (0,), ("any:0",), debug="reverse")
    printed = capsys.readouterr().out
    assert printed.strip() == d.text.strip()
    assert "def rosen_grad(x, d_out=1.0):" in printed and "unbroadcast" not in printed
    d = pipeline.build(fx.product, "reverse", (0, 1), ("any:0", "any:0"), debug="reverse")
    assert "unbroadcast" not in capsys.readouterr().out
    assert "unbroadcast" in srcad.source(fx.product, wrt=(0, 1))


def test_readme_shows_the_rosenbrock_gradient_srcad_writes():
    """The README's array example is the code srcad compiles (minus docstring and the
    comments quoting the user's line)."""
    from fixtures import lazy_funcs as lf
    from srcad import pipeline
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md")).read()
    start = readme.index("def rosenbrock_grad(x, d_out=1.0):")
    shown = readme[start:readme.index("```", start)].strip().splitlines()
    text = pipeline.get(lf.rosen, "reverse", (0,), ("any:0",), True).text
    body = text[text.index("def rosen_grad"):].splitlines()
    made = [ln for ln in body if not ln.strip().startswith(('"""', "# return"))]
    assert [ln.replace("rosenbrock_grad", "rosen_grad") for ln in shown] == made


def test_readme_shows_the_orbit_gradient_srcad_writes():
    """The README's loop example is `srcad.source` of it, minus the docstring and the
    `[file:line]` tags of the comments."""
    import re
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md")).read()
    start = readme.index("def orbit_grad(a, b, d_out=1.0):")
    shown = readme[start:readme.index("```", start)].strip().splitlines()
    text = srcad.source(cf.orbit, wrt=(0, 1))
    body = text[text.index("def orbit_grad"):].strip().splitlines()
    made = [re.sub(r"  \[\S+:\d+\]$", "", ln) for ln in body if not ln.strip().startswith('"""')]
    assert shown == made
