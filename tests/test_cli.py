"""The command line: `python -m srcad` and the `srcad` console script."""
import ast
import os
import shutil
import subprocess
import sys

import pytest

from fixtures import core_funcs, error_funcs

TESTS = os.path.dirname(os.path.abspath(__file__))
CORE = core_funcs.__file__
ERRORS = error_funcs.__file__


def run(*args, script=False, cwd=TESTS):
    if script:
        exe = os.path.join(os.path.dirname(sys.executable), "srcad")
        if not os.path.exists(exe):
            exe = shutil.which("srcad")
        if exe is None:
            pytest.skip("the srcad console script is not installed (pip install -e .)")
        cmd = [exe, *args]
    else:
        cmd = [sys.executable, "-m", "srcad", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=60)


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def main(capsys, monkeypatch):
    """`srcad ...` run in this process (fast); the subprocess tests cover the entry points."""
    import srcad.cli
    monkeypatch.chdir(TESTS)
    monkeypatch.setattr(sys, "path", list(sys.path))

    def call(*args):
        capsys.readouterr()
        try:
            code = srcad.cli.main(list(args))
        except SystemExit as e:           # argparse usage errors
            code = e.code
        out, err = capsys.readouterr()
        return Result(code, out, err)
    return call


def exec_dump(text, name):
    ns = {}
    exec(compile(text, "<dump>", "exec"), ns)
    return ns[name]


@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_ssa(script):
    r = run("ssa", f"{CORE}:ex1", script=script)
    assert r.returncode == 0, r.stderr
    tree = ast.parse(r.stdout)
    compile(r.stdout, "<ssa>", "exec")
    (fn,) = tree.body
    assert fn.name == "ex1" and [a.arg for a in fn.args.args] == ["x0", "x1"]
    ns = {}
    exec(r.stdout, ns)
    assert ns["ex1"](3.0, 5.0) == core_funcs.ex1(3.0, 5.0)


@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_dump_reverse_with_wrt(script):
    r = run("dump", f"{CORE}:ex1", "--mode", "reverse", "--wrt", "x0,x1", script=script)
    assert r.returncode == 0, r.stderr
    compile(r.stdout, "<dump>", "exec")
    fns = [n for n in ast.parse(r.stdout).body if isinstance(n, ast.FunctionDef)]
    df = exec_dump(r.stdout, fns[-1].name)
    g0, g1 = df(3.0, 5.0)
    assert g0 == pytest.approx(4 + 4 / 9) and g1 == pytest.approx(3 + 1 / 3)


def test_dump_reverse_single_wrt_name(main):
    r = main("dump", f"{CORE}:ex1", "--wrt", "x1")
    assert r.returncode == 0, r.stderr
    fns = [n for n in ast.parse(r.stdout).body if isinstance(n, ast.FunctionDef)]
    assert exec_dump(r.stdout, fns[-1].name)(3.0, 5.0) == pytest.approx(3 + 1 / 3)


def test_dump_default_is_reverse_wrt_first(main):
    r = main("dump", f"{CORE}:ex2")
    assert r.returncode == 0, r.stderr
    fns = [n for n in ast.parse(r.stdout).body if isinstance(n, ast.FunctionDef)]
    assert exec_dump(r.stdout, fns[-1].name)(2.0, 5.0) == pytest.approx(5.5)


@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_dump_forward(script):
    r = run("dump", f"{CORE}:ex1", "--mode", "forward", script=script)
    assert r.returncode == 0, r.stderr
    compile(r.stdout, "<dump>", "exec")
    fns = [n for n in ast.parse(r.stdout).body if isinstance(n, ast.FunctionDef)]
    out, dout = exec_dump(r.stdout, fns[-1].name)(3.0, 5.0, 1.0)
    assert out == core_funcs.ex1(3.0, 5.0) and dout == pytest.approx(4 + 4 / 9)


def test_module_target(main):
    r = main("dump", "fixtures.core_funcs:ex3", "--wrt", "c")
    assert r.returncode == 0, r.stderr
    fns = [n for n in ast.parse(r.stdout).body if isinstance(n, ast.FunctionDef)]
    assert exec_dump(r.stdout, fns[-1].name)(0.9, 0.4, 1.3) == pytest.approx(2.96)
    r = main("ssa", "fixtures.core_funcs:ex3")
    assert r.returncode == 0, r.stderr
    compile(r.stdout, "<ssa>", "exec")


def test_relative_path_target(main):
    r = main("ssa", os.path.join("fixtures", "core_funcs.py") + ":ex2")
    assert r.returncode == 0, r.stderr
    compile(r.stdout, "<ssa>", "exec")


def _assert_one_line_error(r):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


@pytest.mark.parametrize("target", [
    "no/such/file.py:f",
    "fixtures/core_funcs.py:no_such_function",
    "fixtures/core_funcs.py",
    "fixtures.core_funcs:no_such_function",
    "no_such_module_xyz:f",
], ids=["missing-file", "missing-function", "no-colon", "module-missing-function",
        "missing-module"])
def test_bad_target(target, main):
    _assert_one_line_error(main("ssa", target))
    _assert_one_line_error(main("dump", target))


@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_bad_target_subprocess(script):
    _assert_one_line_error(run("dump", "fixtures/core_funcs.py:no_such_function", script=script))


def test_unsupported_construct_is_exit_2_with_location(main):
    import inspect
    lines, first = inspect.getsourcelines(error_funcs.uses_try)
    line = first + next(k for k, s in enumerate(lines) if s.rstrip().endswith("# ERR"))
    msg = _assert_one_line_error(run("dump", f"{ERRORS}:uses_try"))
    assert f"error_funcs.py:{line}" in msg
    # (the SSA form of a try/except block is valid: it is refused once a derivative flows in)
    lines, first = inspect.getsourcelines(error_funcs.uses_yield)
    line = first + next(k for k, s in enumerate(lines) if s.rstrip().endswith("# ERR"))
    msg = _assert_one_line_error(main("ssa", f"{ERRORS}:uses_yield"))
    assert f"error_funcs.py:{line}" in msg


def test_unknown_wrt_is_exit_2(main):
    _assert_one_line_error(main("dump", f"{CORE}:ex1", "--wrt", "nope"))


def test_usage_errors_are_nonzero(main):
    assert main().returncode != 0
    assert main("frobnicate", f"{CORE}:ex1").returncode != 0
    assert main("dump", f"{CORE}:ex1", "--mode", "sideways").returncode != 0


# ------------------------------------------------ issue 9: bad targets, import side effects

def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("target", [
    ":ex1",
    "fixtures/core_funcs.py:",
    "fixtures/core_funcs.py:__builtins__",
    "fixtures/core_funcs.py:np",
    "fixtures/regress_api.py:Model",
    "fixtures/regress_api.py:ACT",
    "fixtures/core_funcs.py:ex1.__code__",
], ids=["no-file", "no-name", "builtins", "module", "class", "ufunc", "dunder"])
def test_bad_target_kinds(target, main):
    msg = _assert_one_line_error(main("dump", target))
    assert "bad target" in msg and len(msg) < 300


def test_non_python_file(tmp_path, main):
    path = _write(tmp_path, "data.txt", "def f(x):\n    return x\n")
    msg = _assert_one_line_error(main("dump", f"{path}:f"))
    assert "not a Python file" in msg


def test_target_exiting_at_import(tmp_path):
    path = _write(tmp_path, "exits.py", "import sys\nsys.exit(0)\ndef f(x):\n    return x\n")
    msg = _assert_one_line_error(run("dump", f"{path}:f"))
    assert "sys.exit(0)" in msg


def test_target_failing_at_import(tmp_path):
    path = _write(tmp_path, "fails.py", "raise RuntimeError('no\\nway')\n")
    msg = _assert_one_line_error(run("ssa", f"{path}:f"))
    assert "RuntimeError" in msg


@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_prints_at_import_go_to_stderr(tmp_path, script):
    path = _write(tmp_path, "chatty.py", "print('hello from import')\n"
                  "def f(x):\n    return x * x\n")
    r = run("dump", f"{path}:f", script=script)
    assert r.returncode == 0, r.stderr
    assert "hello" not in r.stdout and "hello from import" in r.stderr
    assert exec_dump(r.stdout, "f_grad")(3.0) == 6.0


@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_module_target_found_in_the_current_directory(tmp_path, script):
    pkg = tmp_path / "mypkg_srcad_cli"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "model.py").write_text("def loss(w, b):\n    return w * w * b\n")
    r = run("dump", "mypkg_srcad_cli.model:loss", "--wrt", "w,b", script=script, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert exec_dump(r.stdout, "loss_grad")(3.0, 2.0) == (12.0, 9.0)


@pytest.mark.parametrize("wrt", ["", ",", "x0,"])
def test_empty_wrt_is_an_error(wrt, main):
    msg = _assert_one_line_error(main("dump", f"{CORE}:ex1", "--wrt", wrt))
    assert "--wrt" in msg


@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_version(script):
    r = run("--version", script=script)
    assert r.returncode == 0
    assert r.stdout.strip() == f"srcad {srcad_version()}"


def srcad_version():
    import srcad
    return srcad.__version__
