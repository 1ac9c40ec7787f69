"""The examples run and pass their own checks (each asserts srcad against an independent
oracle). Those needing the `examples` extra skip cleanly without it."""
import os
import runpy
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, "examples")


@pytest.mark.parametrize("name, needs", [
    ("basics", ()),
    ("newton_hessian", ()),
    ("ode_fit", ()),                       # grad(grad(loss)) through an RK4 loop with helpers
    ("custom_rule", ()),
    ("containers", ()),                    # dict, list of pairs, dataclass, NamedTuple
    ("everyday_python", ()),               # comprehensions, assert, f-strings, sorted, rng
    ("mlp_digits", ()),                    # a dict-of-parameters MLP trained on the digits
    ("logistic_regression", ("sklearn", "matplotlib")),
])
def test_example_runs(name, needs, monkeypatch, tmp_path, capsys):
    for module in needs:
        pytest.importorskip(module)
    monkeypatch.chdir(tmp_path)            # plots land in a scratch folder
    monkeypatch.setattr(sys, "argv", [name])
    path = os.path.join(EXAMPLES, f"{name}.py")
    runpy.run_path(path, run_name="__main__")
    assert capsys.readouterr().out


def test_readme_inplace_example_runs(tmp_path, capsys):
    """The README's example of in-place array updates runs as written (srcad reads its
    source: it is run from a file) and passes its own check."""
    readme = open(os.path.join(os.path.dirname(__file__), os.pardir, "README.md")).read()
    start = readme.index("```python", readme.index("### In-place array updates"))
    block = readme[start + len("```python"):readme.index("```", start + 3)]
    path = tmp_path / "readme_inplace.py"
    path.write_text(block)
    runpy.run_path(str(path), run_name="__main__")
    assert "H_bar[t] = 0.0" in capsys.readouterr().out
def readme_blocks(title):
    """The ```python blocks of the README section `title` (up to the next `## `)."""
    text = open(os.path.join(os.path.dirname(__file__), os.pardir, "README.md")).read()
    section = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    return [b.split("\n", 1)[1] for b in section.split("```")[1::2] if b.startswith("python\n")]


def test_readme_functions_section_runs(tmp_path):
    """Each example of "Functions as values, nested derivatives and recursion" runs as a file
    (srcad reads source) and passes its own asserts."""
    blocks = readme_blocks("Functions as values, nested derivatives and recursion")
    assert len(blocks) == 4
    for k, block in enumerate(blocks):
        path = tmp_path / f"readme_functions_{k}.py"
        path.write_text(block)
        runpy.run_path(str(path), run_name="__main__")


def test_readme_containers_section_runs(tmp_path, capsys):
    """Each example of "Containers and objects" that imports srcad runs as a file and
    passes its own asserts (the generated code shown there is no example)."""
    blocks = [b for b in readme_blocks("Containers and objects") if "import srcad" in b]
    assert len(blocks) == 3
    for k, block in enumerate(blocks):
        path = tmp_path / f"readme_containers_{k}.py"
        path.write_text(block)
        runpy.run_path(str(path), run_name="__main__")
    assert "layers[1]" in capsys.readouterr().out        # the unrolled loop's source
