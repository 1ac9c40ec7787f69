"""srcad.export: derivative modules that run where srcad cannot be imported."""
import ast
import math
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import show_custom
import show_funcs as fx
import srcad
from srcad.testing import numerical_grad
import srcad.runtime

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# srcad made unimportable: a finder that refuses it, ahead of every other
BLOCK = textwrap.dedent("""
    import sys

    class _NoSrcad:
        def find_spec(self, name, path=None, target=None):
            if name == "srcad" or name.startswith("srcad."):
                raise ImportError("srcad is blocked in this process")
            return None

    sys.meta_path.insert(0, _NoSrcad())
    for _name in [m for m in sys.modules if m == "srcad" or m.startswith("srcad.")]:
        del sys.modules[_name]
""")


def run_blocked(module_dir, module, func, calls, tmp_path, block=True):
    """Import `module` from `module_dir` (and the fixtures' folder) in a fresh interpreter
    without srcad, call `func` on each argument tuple of `calls`; the results."""
    data = tmp_path / "calls.pkl"
    out = tmp_path / "results.pkl"
    data.write_bytes(pickle.dumps(calls))
    script = (BLOCK if block else "import sys\n") + textwrap.dedent(f"""
        import pickle
        sys.path[:0] = [{str(module_dir)!r}, {HERE!r}] + ([] if {block} else [{REPO!r}])
        try:
            import srcad
        except ImportError:
            blocked = True
        else:
            blocked = False
        import {module}
        calls = pickle.loads(open({str(data)!r}, "rb").read())
        results = [{module}.{func}(*args) for args in calls]
        open({str(out)!r}, "wb").write(pickle.dumps((blocked, results)))
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       cwd=str(tmp_path), env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    blocked, results = pickle.loads(out.read_bytes())
    assert blocked == block
    return results


def imports_of(text):
    mods = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            mods.add(node.module.split(".")[0])
    return mods


def copied_runtime(text):
    """The srcad.runtime definitions copied into an exported module."""
    tree = ast.parse(text)
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))
            and hasattr(srcad.runtime, n.name) and not n.name.endswith(("_grad", "_jvp"))}


def test_scalar_function(tmp_path):
    path = tmp_path / "survey_grad.py"
    text = srcad.export(fx.survey, path, wrt=(0, 1), kinds="float,float")
    assert path.read_text() == text
    assert imports_of(text) <= {"__future__", "math", "numpy"}
    pts = [(2.0, 5.0), (0.5, -1.0)]
    got = run_blocked(tmp_path, "survey_grad", "survey_grad", pts, tmp_path)
    for (x1, x2), g in zip(pts, got):
        assert g == pytest.approx((1 / x1 + x2, x1 - math.cos(x2)), rel=1e-14)
        assert g == pytest.approx(srcad.grad(fx.survey, wrt=(0, 1))(x1, x2), rel=1e-15)


def test_array_function_with_broadcasting_and_a_loop(tmp_path):
    rng = np.random.default_rng(1)
    w, X = rng.normal(size=3), rng.normal(size=(3, 3))
    b = np.array([0.2])                                  # broadcast: unbroadcast in the adjoint
    text = srcad.export(fx.smooth, tmp_path / "smooth_grad.py", wrt=("w", "b"))
    assert "unbroadcast" in copied_runtime(text)
    assert imports_of(text) <= {"__future__", "math", "numpy"}
    (gw, gb), = run_blocked(tmp_path, "smooth_grad", "smooth_grad", [(w, b, X)], tmp_path)
    want_w, want_b = srcad.grad(fx.smooth, wrt=("w", "b"))(w, b, X)
    np.testing.assert_allclose(gw, want_w, rtol=1e-14)
    np.testing.assert_allclose(gb, want_b, rtol=1e-14)
    np.testing.assert_allclose(gw, numerical_grad(fx.smooth, (w, b, X), 0), rtol=1e-6)
    np.testing.assert_allclose(gb, numerical_grad(fx.smooth, (w, b, X), 1), rtol=1e-6)
    assert gb.shape == b.shape

    text = srcad.export(fx.smooth, tmp_path / "smooth_jvp.py", mode="forward", wrt="w")
    t = np.array([1.0, -2.0, 0.5])
    (out, dout), = run_blocked(tmp_path, "smooth_jvp", "smooth_jvp", [(w, b, X, t)], tmp_path)
    assert out == pytest.approx(fx.smooth(w, b, X))
    assert dout == pytest.approx(float(numerical_grad(fx.smooth, (w, b, X), 0) @ t), rel=1e-6)


def test_runtime_helpers_copied_are_only_those_needed(tmp_path):
    text = srcad.export(fx.smooth, tmp_path / "m.py", wrt=("w", "b"))
    copied = copied_runtime(text)
    tree = ast.parse(text)
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    generated = [n for name, n in defs.items() if name not in copied]
    used = {n.id for g in generated for n in ast.walk(g) if isinstance(n, ast.Name)}
    reach, todo = set(), [n for n in copied if n in used]
    while todo:                                          # what the generated code reaches
        n = todo.pop()
        if n not in reach:
            reach.add(n)
            todo += [m.id for m in ast.walk(defs[n]) if isinstance(m, ast.Name) and m.id in copied]
    assert copied == reach
    assert len(copied) < len(srcad.runtime.__all__)
    # a scalar derivative needs none
    text = srcad.export(fx.survey, tmp_path / "s.py", wrt=(0, 1), kinds=("float", "float"))
    assert copied_runtime(text) == set() and "runtime helpers copied in: none" in text


def test_helper_and_globals_come_from_the_users_module(tmp_path):
    rng = np.random.default_rng(2)
    w, X = rng.normal(size=3), rng.normal(size=(4, 3))
    text = srcad.export(fx.model, tmp_path / "model_grad.py")
    # the helper's derivative is in the module; W and SCALE are imported from show_funcs
    assert "def layer_fwd" in text and "def layer_bwd" in text
    assert "from show_funcs import SCALE, W" in text
    head = ast.get_docstring(ast.parse(text))
    assert "from show_funcs import SCALE, W" in head.replace("\n", " ")
    assert imports_of(text) <= {"__future__", "math", "numpy", "show_funcs"}
    g, = run_blocked(tmp_path, "model_grad", "model_grad", [(w, X)], tmp_path)
    np.testing.assert_allclose(g, srcad.grad(fx.model)(w, X), rtol=1e-14)
    np.testing.assert_allclose(g, numerical_grad(fx.model, (w, X), 0), rtol=1e-6)

    text = srcad.export(fx.with_nested, tmp_path / "nested_grad.py")
    g, = run_blocked(tmp_path, "nested_grad", "with_nested_grad", [(0.7,)], tmp_path)
    u = 0.7
    assert g == pytest.approx(2 * u * fx.SCALE + math.cos(u) - u * math.sin(u), rel=1e-12)


def test_custom_rule_functions_are_imported_by_name(tmp_path):
    text = srcad.export(show_custom.loss, tmp_path / "loss_grad.py")
    imported = {(n.module, a.name, a.asname) for n in ast.parse(text).body
                if isinstance(n, ast.ImportFrom) for a in n.names}
    assert {("show_custom", "softplus", None),
            ("show_custom", "softplus_vjp", "softplus_vjp_rule")} <= imported
    head = " ".join(ast.get_docstring(ast.parse(text)).split()).split("by name:")[1]
    assert "softplus_vjp as softplus_vjp_rule" in head and "from show_custom import" in head
    assert "srcad" not in imports_of(text)
    x = np.array([-1.0, 0.0, 2.0])
    # show_custom itself imports srcad (for the decorator), so srcad is importable here
    g, = run_blocked(tmp_path, "loss_grad", "loss_grad", [(x,)], tmp_path, block=False)
    np.testing.assert_allclose(g, 2.0 / (1.0 + np.exp(-x)), rtol=1e-14)


def test_closure_values_cannot_be_imported(tmp_path):
    with pytest.raises(srcad.SrcadError, match="closure variable 'k'"):
        srcad.export(fx.scale_by_closure, tmp_path / "c.py")
    assert not (tmp_path / "c.py").exists()


def test_bad_arguments(tmp_path):
    with pytest.raises(srcad.SrcadError, match="unknown argument kind 'floaty'"):
        srcad.export(fx.survey, tmp_path / "x.py", kinds="float,floaty")
    with pytest.raises(srcad.SrcadError, match="2 parameters"):
        srcad.export(fx.survey, tmp_path / "x.py", kinds="float")
    with pytest.raises(srcad.SrcadError, match="unknown mode"):
        srcad.export(fx.survey, tmp_path / "x.py", mode="split")


def test_cli_export(tmp_path):
    out = tmp_path / "survey_cli.py"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, "-m", "srcad", "export", "show_funcs.py:model",
                        "--wrt", "w", "-o", str(out)], capture_output=True, text=True, cwd=HERE,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "from show_funcs import SCALE, W" in out.read_text()
    w, X = np.array([0.1, 0.2, 0.3]), np.eye(3)
    g, = run_blocked(tmp_path, "survey_cli", "model_grad", [(w, X)], tmp_path)
    np.testing.assert_allclose(g, srcad.grad(fx.model)(w, X), rtol=1e-14)
    r = subprocess.run([sys.executable, "-m", "srcad", "export", "show_funcs.py:survey",
                        "--mode", "forward", "--wrt", "x1,x2", "--kinds", "float,float",
                        "-o", str(tmp_path / "survey_jvp.py")], capture_output=True, text=True,
                       cwd=HERE, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    (out, dout), = run_blocked(tmp_path, "survey_jvp", "survey_jvp", [(2.0, 5.0, 1.0, 0.0)],
                               tmp_path)
    assert dout == pytest.approx(5.5) and out == pytest.approx(fx.survey(2.0, 5.0))


def test_second_derivative(tmp_path):
    """The derivative of srcad.grad(f) leaves srcad too: d2y/dx1^2 = -1/x1^2."""
    text = srcad.export(srcad.grad(fx.survey), tmp_path / "curv.py", kinds="float,float")
    assert "derivative of grad(survey) (show_funcs.py:" in text
    got = run_blocked(tmp_path, "curv", "survey_grad_grad", [(2.0, 5.0), (0.5, 1.0)], tmp_path)
    assert got == pytest.approx([-1 / 4, -4.0], rel=1e-14)


def test_parameter_defaults_are_kept(tmp_path):
    # regression: the docstring showed the defaults, the exported def did not have them
    text = srcad.export(fx.with_defaults, tmp_path / "wd.py", wrt=(0, 1))
    assert "def with_defaults_grad(x, y=2.0, scale=3.0, d_out=1.0):" in text
    got = run_blocked(tmp_path, "wd", "with_defaults_grad", [(0.5,), (0.5, 1.0, 2.0)], tmp_path)
    assert got == pytest.approx([(6.0, 3 * 0.5 + 1), (2.0, 2 * 0.5 + 1)])


def test_a_nested_def_called_without_derivative_is_copied_in(tmp_path):
    text = srcad.export(fx.nested_inactive, tmp_path / "ni.py")
    assert "\ndef inner(u):" in text and "from show_funcs import SCALE" in text
    assert "Nested functions copied in from the user's code: inner." in " ".join(text.split())
    got = run_blocked(tmp_path, "ni", "nested_inactive_grad", [(0.3, 1.5)], tmp_path)
    assert got == pytest.approx([1.5 * 2.0 + fx.SCALE])


def test_runtime_definitions_are_copied_as_written():
    """export copies each runtime definition's exact source (cut from the file's lines once,
    instead of ast.get_source_segment splitting the whole runtime per definition: 8 s an
    export)."""
    import inspect
    from srcad.show import export
    src = inspect.getsource(srcad.runtime)
    defs, imports = export._runtime_defs()
    nodes = [n for n in ast.parse(src).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert len(nodes) > 100
    for node in nodes:
        assert defs[node.name][0] == ast.get_source_segment(src, node)
    assert imports["np"] == "import numpy as np"
