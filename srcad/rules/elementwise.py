"""The handbook of elementwise NumPy functions: f'(x) for each, tangent and adjoint together.

The operators (`+`, `*`, ...) and np.sin, cos, tan, exp, log, sqrt, tanh, abs, maximum,
minimum and where live in `core`; this table adds the rest of NumPy's elementwise
functions. Binary functions broadcast: a tangent is widened to the output with `bcast`,
an adjoint summed back to its input with `unbroadcast`. Constants are Python floats or
`math` calls, never NumPy scalars, so a float32 input keeps float32 derivatives.

Conventions at points where the derivative does not exist:
  abs'(0) = fabs'(0) = 0;  sign' = 0 everywhere (np.sign is a constant, see `core`);
  fmax/fmin split the derivative equally on ties (like maximum/minimum) and give it all
  to the other argument where one is NaN;  clip has slope 1 on [lo, hi] inclusive and 0
  outside, and its bounds get the rest;  sqrt'(0) = cbrt'(0) = inf, as NumPy computes it;
  arcsin, arccos at +-1 and arctanh at +-1 are inf; hypot at (0, 0) is nan.
"""
import operator

import numpy as np

from . import ANY, defalias, defpartials, defrule, defunary, lookup

# ------------------------------------------------------------ arithmetic as functions
# (the same derivatives as the operators in `core`)
for _op, _f, _name in [(operator.add, np.add, "np.add"), (operator.sub, np.subtract, "np.subtract"),
                       (operator.mul, np.multiply, "np.multiply"),
                       (operator.truediv, [np.divide, np.true_divide], "np.divide"),
                       (operator.pow, np.power, "np.power"), (operator.neg, np.negative, "np.negative"),
                       (operator.pos, np.positive, "np.positive")]:
    defalias(_f, lookup(_op), _name)

# ------------------------------------------------------------ one argument: f'(x)
# in terms of the argument `x` and the result `out`
_UNARY = {
    "arcsin": "1.0 / np.sqrt(1.0 - x ** 2)",
    "arccos": "-1.0 / np.sqrt(1.0 - x ** 2)",
    "arctan": "1.0 / (1.0 + x ** 2)",
    "sinh": "np.cosh(x)",
    "cosh": "np.sinh(x)",
    "arcsinh": "1.0 / np.sqrt(x ** 2 + 1.0)",
    "arccosh": "1.0 / np.sqrt(x ** 2 - 1.0)",
    "arctanh": "1.0 / (1.0 - x ** 2)",
    "exp2": "out * math.log(2.0)",
    "expm1": "out + 1.0",
    "log2": "1.0 / (x * math.log(2.0))",
    "log10": "1.0 / (x * math.log(10.0))",
    "log1p": "1.0 / (1.0 + x)",
    "cbrt": "1.0 / (3.0 * out ** 2)",
    "square": "2.0 * x",
    "reciprocal": "-(out ** 2)",
    "fabs": "np.sign(x)",
}
defunary(np, "np", _UNARY)

# ------------------------------------------------------------ two arguments: df/dx, df/dy
defpartials(np.arctan2, "y, x", name="np.arctan2",          # the angle of the point (x, y)
            partials={"y": "x / (x ** 2 + y ** 2)", "x": "-y / (x ** 2 + y ** 2)"})
defpartials(np.hypot, "x, y", name="np.hypot", partials={"x": "(x / out)", "y": "(y / out)"})
defpartials(np.logaddexp, "x, y", name="np.logaddexp",
            partials={"x": "np.exp(x - out)", "y": "np.exp(y - out)"})
# fmax/fmin: ties split equally; a NaN argument gives the derivative to the other
defpartials(np.fmax, "x, y", name="np.fmax",
            partials={"x": "fmax_weight(x, y)", "y": "fmax_weight(y, x)"})
defpartials(np.fmin, "x, y", name="np.fmin",
            partials={"x": "fmax_weight(-x, -y)", "y": "fmax_weight(-y, -x)"})

# ------------------------------------------------------------ clip: slope 1 on [lo, hi]
# (the bounds get the derivative where they win; None is no bound)
# `x.clip(lo, hi)`, `x.clip(min=lo, max=hi)`: the same rule, printed as np.clip(x, ...)
for _key, _lo, _hi, _method in [(np.clip, "a_min", "a_max", None), ([], "min", "max", "clip")]:
    defrule(_key, f"a, {_lo}=None, {_hi}=None", name="np.clip", method=_method, batch="elementwise",
            jvp={"a": f"a_dot * clip_weight(a, {_lo}, {_hi})",
                 _lo: f"bcast({_lo}_dot * (a < {_lo}), out)",
                 _hi: f"bcast({_hi}_dot * (a > {_hi}), out)"},
            vjp={"a": f"unbroadcast(out_bar * clip_weight(a, {_lo}, {_hi}), a)",
                 _lo: f"unbroadcast(out_bar * (a < {_lo}), {_lo})",
                 _hi: f"unbroadcast(out_bar * (a > {_hi}), {_hi})"})

# rounding, tests and comparisons are constants (zero derivative);
# np.sign, floor, ceil, round, isnan, isfinite live in `core`
for _f in (np.trunc, np.rint, np.fix, np.signbit, np.isinf, np.logical_not):
    defrule(_f, "x", name=f"np.{_f.__name__}", kind=ANY, differentiable=False)
for _f in (np.logical_and, np.logical_or, np.logical_xor, np.greater, np.greater_equal,
           np.less, np.less_equal, np.equal, np.not_equal, np.isclose):
    defrule(_f, "x, y", name=f"np.{_f.__name__}", kind=ANY, differentiable=False)
