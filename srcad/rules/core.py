"""The handbook: tangent and adjoint of the core primitives.

Placeholders: the parameters (`x`, `y`, ...), `out` (the primal result),
`out_bar` (its adjoint), `x_dot` (a parameter's tangent). `unbroadcast` sums an
adjoint back to its input's shape, `bcast` widens a tangent to the output's
shape, `unreduce` undoes a reduction; the emitters drop them where kinds show
they are not needed. Ties of max/min split the derivative equally; abs'(0) = 0;
d/dx x ** 0 = 0 also at x = 0, and d/dy x ** y = 0 at x = 0 (where x ** y is 0 for y > 0).
np.dot takes operands of any number of dimensions, as NumPy does.
pow(x, y) is x ** y (pow(x, y, mod) is refused); divmod's floor part has no derivative and
its remainder is %'s (the jumps taken as constant pieces); math.copysign(x, y) has slope
sign(x) sign(out) in x, 0 at x = 0 (as abs'), none in y; math.fmod's slopes are 1 and
-trunc(x / y); math.ldexp is linear in x, its exponent has none.
"""
import builtins
import math
import operator

import numpy as np

from .. import runtime
from . import (ANY, FLOAT, INT, NONE, IndexRule, SetItemRule, Template, defalias, defpartials,
               defrule, defunary, defvariant, lookup)

# ------------------------------------------------------------ arithmetic
defrule(operator.add, "x, y", primal="x + y", batch="elementwise", on_seqs="concatenation",
        jvp={"x": "bcast(x_dot, out)", "y": "bcast(y_dot, out)"},
        vjp={"x": "unbroadcast(out_bar, x)", "y": "unbroadcast(out_bar, y)"})
defrule(operator.sub, "x, y", primal="x - y", batch="elementwise",
        jvp={"x": "bcast(x_dot, out)", "y": "bcast(-y_dot, out)"},
        vjp={"x": "unbroadcast(out_bar, x)", "y": "unbroadcast(-out_bar, y)"})
defrule(operator.mul, "x, y", primal="x * y", batch="elementwise",
        jvp={"x": "x_dot * y", "y": "x * y_dot"},
        vjp={"x": "unbroadcast(out_bar * y, x)", "y": "unbroadcast(x * out_bar, y)"})
defrule(operator.truediv, "x, y", primal="x / y", batch="elementwise",
        jvp={"x": "x_dot / y", "y": "-(out * y_dot) / y"},
        vjp={"x": "unbroadcast(out_bar / y, x)", "y": "unbroadcast(-(out_bar * out) / y, y)"})
# d/dx x ** y = y x ** (y - 1), written with the exponent y - 1 + (y == 0) so that x ** 0
# has derivative 0 also at x = 0, where y x ** (y - 1) would be 0 * inf (the exponent is
# then 0); for a constant y the exponent folds to the number y - 1. One power, as autograd's
# x ** where(y, y - 1, 1) (an indicator 0 ** (y * y) was a second power, and a slow one).
# The exponent's tangent is 0 where y_dot is (times_or_zero): a constant exponent given a
# zero tangent (a helper's k at second order) at a negative base is no 0 * nan
defrule(operator.pow, "x, y", primal="x ** y", batch="elementwise",
        jvp={"x": "x_dot * (y * x ** (y - 1 + (y == 0)))",
             "y": "times_or_zero(y_dot, out * pow_log(x))"},
        vjp={"x": "unbroadcast(out_bar * (y * x ** (y - 1 + (y == 0))), x)",
             "y": "unbroadcast(out_bar * (out * pow_log(x)), y)"})
defrule(operator.neg, "x", primal="-x", jvp="-x_dot", vjp="-out_bar", batch="elementwise")
defrule(operator.pos, "x", primal="+x", jvp="x_dot", vjp="out_bar", batch="elementwise")
defrule(operator.matmul, "x, y", primal="x @ y", kind=ANY,
        jvp_batched={"x": "bmatmul_x(x_dot, y)", "y": "bmatmul_y(x, y_dot)"},
        jvp={"x": "x_dot @ y", "y": "x @ y_dot"},
        vjp={"x": "matmul_vjp_x(out_bar, x, y)", "y": "matmul_vjp_y(out_bar, x, y)"})
defrule(np.matmul, "x, y", name="np.matmul", kind=ANY,
        jvp_batched={"x": "bmatmul_x(x_dot, y)", "y": "bmatmul_y(x, y_dot)"},
        jvp={"x": "np.matmul(x_dot, y)", "y": "np.matmul(x, y_dot)"},
        vjp={"x": "matmul_vjp_x(out_bar, x, y)", "y": "matmul_vjp_y(out_bar, x, y)"})
# np.dot of N-d operands sums over the last axis of x and the second-to-last of y
defrule(np.dot, "x, y", name="np.dot", method="dot", kind=ANY,
        jvp={"x": "np.dot(x_dot, y)", "y": "np.dot(x, y_dot)"},
        vjp={"x": "dot_vjp_x(out_bar, x, y)", "y": "dot_vjp_y(out_bar, x, y)"})

# x // y is piecewise constant; x % y = x - (x // y) * y
defrule(operator.floordiv, "x, y", primal="x // y", differentiable=False)
defrule(operator.mod, "x, y", primal="x % y", batch="elementwise",
        jvp={"x": "bcast(x_dot, out)", "y": "-(y_dot * (x // y))"},
        vjp={"x": "unbroadcast(out_bar, x)", "y": "unbroadcast(-(out_bar * (x // y)), y)"})
for _op, _text in [(operator.lt, "x < y"), (operator.le, "x <= y"), (operator.gt, "x > y"),
                   (operator.ge, "x >= y"), (operator.eq, "x == y"), (operator.ne, "x != y"),
                   (operator.is_, "x is y"), (operator.is_not, "x is not y")]:
    defrule(_op, "x, y", primal=_text, kind=INT, differentiable=False)
defrule(operator.not_, "x", primal="not x", kind=INT, differentiable=False)
# bitwise operators: on boolean masks (and integers); never differentiated, and a TypeError
# on floats, which the derivative raises too (not total)
for _op, _text in [(operator.or_, "x | y"), (operator.and_, "x & y"), (operator.xor, "x ^ y"),
                   (operator.lshift, "x << y"), (operator.rshift, "x >> y")]:
    defrule(_op, "x, y", primal=_text, kind=INT, differentiable=False, total=False)
defrule(operator.invert, "x", primal="~x", kind=INT, differentiable=False, total=False)
defrule(operator.contains, "x, y", primal="y in x", kind=INT, differentiable=False)

# ------------------------------------------------------------ elementwise functions

_UNARY = {
    # name: (tangent factor f'(x) in terms of x and out)
    "sin": "np.cos(x)",
    "cos": "-np.sin(x)",
    "tan": "1.0 + out ** 2",
    "exp": "out",
    "log": "1.0 / x",
    "sqrt": "0.5 / out",
    "tanh": "1.0 - out ** 2",
}
defunary(np, "np", _UNARY)
# abs of a complex value (an FFT's) has slope conj(x)/|x| and a real tangent (rules/fft.py)
for _f, _name in ((np.abs, "np.abs"), (builtins.abs, "abs")):
    defrule(_f, "x", name=_name, jvp="abs_jvp(x_dot, x)", vjp="abs_vjp(out_bar, x)",
            batch="elementwise")

_MATH = {
    "sin": "math.cos(x)",
    "cos": "-math.sin(x)",
    "tan": "1.0 + out ** 2",
    "exp": "out",
    "log": "1.0 / x",
    "sqrt": "0.5 / out",
    "tanh": "1.0 - out ** 2",
    "fabs": "math.copysign(1.0, x) if x else 0.0",
    # (np.sqrt where the slope is infinite at the domain's edge: inf, as NumPy's rules give)
    "asin": "1.0 / np.sqrt(1.0 - x * x)",
    "acos": "-1.0 / np.sqrt(1.0 - x * x)",
    "atan": "1.0 / (1.0 + x * x)",
    "sinh": "math.cosh(x)",
    "cosh": "math.sinh(x)",
    "asinh": "1.0 / math.sqrt(x * x + 1.0)",
    "acosh": "1.0 / np.sqrt(x * x - 1.0)",
    "atanh": "1.0 / (1.0 - x * x)",
    "expm1": "out + 1.0",
    "log1p": "1.0 / (1.0 + x)",
    "log2": "1.0 / (x * math.log(2.0))",
    "log10": "1.0 / (x * math.log(10.0))",
    "erf": "2.0 / math.sqrt(math.pi) * math.exp(-x * x)",
    "erfc": "-2.0 / math.sqrt(math.pi) * math.exp(-x * x)",
    "degrees": "180.0 / math.pi",
    "radians": "math.pi / 180.0",
}
if hasattr(math, "cbrt"):                       # Python 3.11
    _MATH.update(cbrt="1.0 / (3.0 * np.square(out))", exp2="out * math.log(2.0)")
# math.log(-1.0) raises where its derivative 1 / x would not, and so on outside each
# domain: not total (the others raise outside their domain where their derivatives, which
# read x or out, raise too)
defunary(math, "math", _MATH, kind=FLOAT,
         partial={"log", "asin", "acos", "acosh", "atanh", "log1p", "log2", "log10"})
defpartials(math.atan2, "y, x", name="math.atan2", unbroadcast=False, kind=FLOAT,
            partials={"y": "x / (x * x + y * y)", "x": "-y / (x * x + y * y)"})
defpartials(math.hypot, "x, y", name="math.hypot", unbroadcast=False, kind=FLOAT,
            partials={"x": "(x / out)", "y": "(y / out)"})
# math.pow(x, y) is x ** y where it returns (it raises, not a complex, for x < 0)
defalias(math.pow, lookup(operator.pow), "math.pow")
# pow(x, y) is x ** y; pow(x, y, mod) (integers only) does not bind: refused at its line
defalias(builtins.pow, lookup(operator.pow), "pow")
# divmod(x, y) = (x // y, x % y): the floor part is piecewise constant, the remainder is %
for _f, _name in ((builtins.divmod, "divmod"), (np.divmod, "np.divmod")):
    defrule(_f, "x, y", name=_name, kind=ANY, returns_seq=True,
            jvp={"x": "(0.0 * out[0], bcast(x_dot, out[1]))",
                 "y": "(0.0 * out[0], -(y_dot * out[0]))"},
            vjp={"x": "unbroadcast(out_bar[1], x)", "y": "unbroadcast(-(out_bar[1] * out[0]), y)"})
# np.divmod(x, y, dtype=d) computes both parts in d: the remainder's tangent cast to it, its
# adjoint starting from the cotangent cast alike (an integer d carries none; see defdtype)
defvariant(
    lookup(np.divmod), "x, y, *, dtype=None, casting='same_kind'", returns_seq=True,
    jvp={"x": "(0.0 * out[0], cast_tangent(bcast(x_dot, out[1]), out[1]))",
         "y": "(0.0 * out[0], cast_tangent(-(y_dot * out[0]), out[1]))"},
    vjp={"x": "unbroadcast(cast_adjoint(out_bar[1], out[1]), x)",
         "y": "unbroadcast(-(cast_adjoint(out_bar[1], out[1]) * out[0]), y)"})
# copysign(x, y) = |x| with y's sign: slope sign(x) sign(out) in x (0 at x = 0, as abs'(0)),
# none in y (a jump at y = 0)
defrule(math.copysign, "x, y", name="math.copysign", kind=FLOAT,
        jvp={"x": "x_dot * (out / x if x else 0.0)"},
        vjp={"x": "out_bar * (out / x if x else 0.0)"}, zero_in="y")
# fmod(x, y) = x - trunc(x / y) y (raises for y = 0: not total)
defpartials(math.fmod, "x, y", name="math.fmod", unbroadcast=False, kind=FLOAT, total=False,
            partials={"x": "1.0", "y": "-float(math.trunc(x / y))"})
# ldexp(x, i) = x 2**i: linear in x, the integer i has no derivative
defrule(math.ldexp, "x, i", name="math.ldexp", kind=FLOAT,
        jvp={"x": "math.ldexp(x_dot, i)"}, vjp={"x": "math.ldexp(out_bar, i)"}, zero_in="i")

# ties split the derivative equally (tie_weight is 1, 0.5 or 0)
defpartials(np.maximum, "x, y", name="np.maximum",
            partials={"x": "tie_weight(x, y)", "y": "tie_weight(y, x)"})
defpartials(np.minimum, "x, y", name="np.minimum",
            partials={"x": "tie_weight(y, x)", "y": "tie_weight(x, y)"})
defpartials(builtins.max, "x, y", name="max", unbroadcast=False,      # of two scalars
            partials={"x": "tie_weight(x, y)", "y": "tie_weight(y, x)"}, reads_items=True)
defpartials(builtins.min, "x, y", name="min", unbroadcast=False,
            partials={"x": "tie_weight(y, x)", "y": "tie_weight(x, y)"}, reads_items=True)
defrule(np.where, "c, x, y", name="np.where", batch="elementwise",
        jvp={"x": "bcast(np.where(c, x_dot, 0.0), out)", "y": "bcast(np.where(c, 0.0, y_dot), out)"},
        vjp={"x": "unbroadcast(np.where(c, out_bar, 0.0), x)",
             "y": "unbroadcast(np.where(c, 0.0, out_bar), y)"}, zero_in="c",
        array_of_numbers=True)

# ------------------------------------------------------------ reductions
defrule(np.sum, "x, axis=None, *, keepdims=False", name="np.sum", method="sum", kind="reduce",
        jvp="np.sum(x_dot, axis=axis, keepdims=keepdims)",
        jvp_batched="bsum(x_dot, x, axis, keepdims, BATCH)",
        vjp="unreduce(out_bar, x, axis, keepdims)")
defrule(np.mean, "x, axis=None, *, keepdims=False", name="np.mean", method="mean", kind="reduce",
        jvp="np.mean(x_dot, axis=axis, keepdims=keepdims)",
        jvp_batched="bmean(x_dot, x, axis, keepdims, BATCH)",
        vjp="unreduce(out_bar, x, axis, keepdims) * inv_count(x, out)")
for _f, _m in [(np.max, "max"), (np.min, "min")]:
    defrule([_f, getattr(np, "a" + _m)], "x, axis=None, *, keepdims=False", name=f"np.{_m}",
            method=_m, kind="reduce",
            jvp="np.sum(x_dot * max_weight(x, out, axis, keepdims), axis=axis, keepdims=keepdims)",
            jvp_batched="bsum(blift(x_dot, x, BATCH) * max_weight(x, out, axis, keepdims), x, "
                        "axis, keepdims, BATCH)",
            vjp="max_vjp(out_bar, x, out, axis, keepdims)")

# ------------------------------------------------------------ shapes
defrule(("attr", "T"), "x", primal="x.T", kind=ANY, storage="view", jvp="transposed(x_dot)",
        jvp_batched="btranspose(x_dot, None)", vjp="untranspose(out_bar)")
defrule(np.transpose, "x, axes=None", name="np.transpose", method="transpose", kind=ANY,
        storage="view",
        jvp="np.transpose(x_dot, axes)", vjp="untranspose(out_bar, axes)",
        jvp_batched="btranspose(x_dot, axes)")

# ------------------------------------------------------------ conversions and constants
# (float() of an array of several entries, int() of nan, len() of a float, bool() of an
# array raise: not total)
defrule(builtins.float, "x", name="float", kind=FLOAT, jvp="x_dot", vjp="out_bar", total=False,
        jvp_batched="breshape(x_dot, out, 'C', BATCH)")
defrule(runtime.stop_gradient, "x", name="stop_gradient", kind="first", storage="same",
        differentiable=False)
for _f in (builtins.int, builtins.bool, builtins.round):
    defrule(_f, "x", name=_f.__name__, kind=INT, differentiable=False, total=False)
# these read their argument's shape only (an array changed in place keeps its shape)
defrule(builtins.len, "x", name="len", kind=INT, differentiable=False, total=False,
        shape_args="x", reads_items=True)
for _f in (np.ndim, np.size):
    defrule(_f, "x", name=f"np.{_f.__name__}", kind=INT, differentiable=False, shape_args="x")
# whether an array is complex (runtime helpers branch on it: srcad reads them at second order)
for _f in (np.iscomplexobj, np.isrealobj):
    defrule(_f, "x", name=f"np.{_f.__name__}", kind=NONE, differentiable=False)
defrule(builtins.range, "start, stop=None, step=None", name="range", kind=NONE,
        differentiable=False)
defrule(np.shape, "x", name="np.shape", kind=NONE, differentiable=False)
# a dtype from its arguments' dtypes (runtime helpers call it: srcad reads them at third order)
defrule(np.result_type, "a, b=None, c=None, d=None", name="np.result_type", kind=NONE,
        differentiable=False)
for _attr in ("shape", "dtype"):
    defrule(("attr", _attr), "x", primal=f"x.{_attr}", kind=NONE, differentiable=False)
for _attr in ("ndim", "size"):
    defrule(("attr", _attr), "x", primal=f"x.{_attr}", kind=INT, differentiable=False)
for _f in (np.sign, np.floor, np.ceil, np.isnan, np.isfinite, math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite):
    _mod = "math" if _f in vars(math).values() else "np"
    defrule(_f, "x", name=f"{_mod}.{_f.__name__}", kind=ANY if _mod == "np" else INT,
            differentiable=False, total=_mod == "np")     # math.floor(nan) raises

# positions and counts: integers (piecewise constant in their arguments), as functions and
# as ndarray methods
for _f in (np.argmax, np.argmin):
    defrule(_f, "a, axis=None, *, keepdims=False", name=f"np.{_f.__name__}",
            method=_f.__name__, kind=ANY, differentiable=False)
defrule(np.argsort, "a, axis=-1, kind=None, order=None", name="np.argsort", method="argsort",
        kind=ANY, differentiable=False)
defrule(np.argpartition, "a, kth, axis=-1, kind='introselect', order=None",
        name="np.argpartition", method="argpartition", kind=ANY, differentiable=False)
defrule(np.nonzero, "a", name="np.nonzero", method="nonzero", kind=ANY, differentiable=False)
for _f in (np.all, np.any):
    defrule(_f, "a, axis=None, *, keepdims=False", name=f"np.{_f.__name__}",
            method=_f.__name__, kind=ANY, differentiable=False)
defrule(np.searchsorted, "a, v, side='left', sorter=None", name="np.searchsorted",
        method="searchsorted", kind=ANY, differentiable=False)
defrule(np.digitize, "x, bins, right=False", name="np.digitize", kind=ANY, differentiable=False)
defrule(np.count_nonzero, "a, axis=None, *, keepdims=False", name="np.count_nonzero", kind=ANY,
        differentiable=False)
defrule(np.flatnonzero, "a", name="np.flatnonzero", kind=ANY, differentiable=False)

# ------------------------------------------------------------ indexing
# basic indexing (slices, integers, None, ...) makes a view, fancy indexing a new array: the
# alias analysis tells them apart by the index layout
GETITEM = IndexRule(key=operator.getitem, params=[("x", None)], kind="index", storage="view",
                    storage_args=("x",),
                    jvp={"x": Template("x_dot[IDX]")},
                    jvp_batched={"x": Template("bindex(x_dot, IDX)")},
                    vjp={"x": Template("unindex(out_bar, x, IDX)")})

# `y[idx] = v` changes the array y in place: its statement assigns y itself (see SetItemRule),
# the tangent is the same update of the tangents, and the adjoint of y's earlier value is
# y's adjoint with zeros where it was overwritten (the reverse emitter restores the
# overwritten entries where the reverse sweep reads y's earlier values)
SETITEM = SetItemRule(key=runtime.setitem, params=[("x", None), ("v", None)], kind="first",
                      storage="same", storage_args=("x",), inplace=True, passthrough=True,
                      pure=False, jvp={"x": Template("x_dot"), "v": Template("written(v_dot, x)")},
                      jvp_batched={"x": Template("x_dot"), "v": Template("written(v_dot, x)")},
                      vjp={"x": Template("unassign(out_bar, x, IDX)"),
                           "v": Template("assigned_bar(out_bar, v, IDX, x)")})

# ------------------------------------------------------------ Python lists
# `xs.append(v)` is lowered to `xs = [*xs, v]`: lists stay values, so loops may save them.
# (its tangent, a list of tangents, is built by the forward emitter: see forward.py)
LIST_APPEND = defrule(runtime.list_append, "xs, v", primal="[*xs, v]", kind="list",
                      holds="*xs, v", returns_seq=True,
                      jvp={"xs": "list(xs_dot)", "v": "[v_dot]"},
                      vjp={"xs": "out_bar[:-1]", "v": "out_bar[-1]"})
defrule(builtins.sum, "xs", name="sum", kind=ANY, jvp="sum(xs_dot)",
        vjp="repeat_items(out_bar, xs)", reads_items=True)
