"""See the computation: the graph, the evaluation trace and the derivative as a module,
for the survey's example y = ln(x1) + x1 x2 - sin(x2) at (2, 5).

    python examples/see_the_computation.py

Notebook-style: each `# %%` cell runs on its own in Jupyter or VS Code, where the graph
and the traces display as pictures and tables. The numbers are those of Tables 2 and 3 of
Baydin et al., "Automatic differentiation in machine learning: a survey" (JMLR 2018).
The files land in the current folder: survey.dot (and survey.svg, survey_reverse.png when
Graphviz's `dot` is installed) and survey_grad.py.
"""
# %%
import importlib
import math
import shutil
import sys

import srcad


def survey(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


# %% 1. The computational graph: Variables x1, x2, one Operator per SSA operation.
g = srcad.graph(survey, wrt=("x1", "x2"))
g.save("survey.dot")
print(g.dot)
if shutil.which("dot"):
    g.save("survey.svg")
    # the reverse graph: adjoints, and what the reverse sweep keeps in memory
    srcad.graph(survey, mode="reverse", wrt=("x1", "x2")).save("survey_reverse.png")
    print("wrote survey.dot, survey.svg and survey_reverse.png")
else:
    print("wrote survey.dot (install Graphviz, package `graphviz`, for SVG and PNG)")
g  # in a notebook: the picture

# %% 2. The forward evaluation trace (Table 2): primals and tangents, seed x1_dot = 1.
fwd = srcad.trace(survey, 2.0, 5.0, wrt="x1")
print(fwd)
assert math.isclose(fwd.result, 1 / 2.0 + 5.0)          # dy/dx1 = 1/x1 + x2 = 5.5

# %% 3. The reverse evaluation trace (Table 3): primals, then adjoints last statement first.
rev = srcad.trace(survey, 2.0, 5.0, mode="reverse", wrt=("x1", "x2"))
print(rev)
dx1, dx2 = rev.result
assert math.isclose(dx1, 5.5) and math.isclose(dx2, 2.0 - math.cos(5.0))   # 1.716...
# x2's adjoint is updated twice: from sin(x2), then from x1 * x2
print("x2_bar updates:", [round(r.value, 3) for r in rev.updates("x2")])

# %% 4. The derivative as a module of its own: NumPy (here only math) and no srcad.
text = srcad.export(survey, "survey_grad.py", wrt=("x1", "x2"), kinds="float,float")
print("\n".join(text.splitlines()[:12]))
sys.path.insert(0, ".")
survey_grad = importlib.import_module("survey_grad")
assert survey_grad.survey_grad(2.0, 5.0) == srcad.grad(survey, wrt=(0, 1))(2.0, 5.0)
print("survey_grad.py gives", survey_grad.survey_grad(2.0, 5.0))
