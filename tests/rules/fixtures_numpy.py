"""Sample calls for every derivative rule, as small functions srcad reads with inspect.

`@sample(args, ...)` registers a function with the argument tuples it is checked at;
tests/rules/test_rule_table.py finds which rules each sample exercises by lowering it,
and fails when a rule in `srcad.rules.all_rules()` has no sample. Inputs stay away from
kinks, ties and poles (unless a sample is about them), so central differences are exact
to the tests' tolerance. `AUTOGRAD_LACKS` names samples autograd cannot evaluate (or
evaluates by another convention) and `KNOWN` names samples that fail for a reason outside
the rule tables, reported to the lead.
"""
import math
from typing import NamedTuple

import numpy as np

import srcad
from srcad.runtime import (abs_jvp, abs_slope_d2, abs_slope_jvp, abs_vjp, fft_apply, fft_vjp,
                           real_like, real_part, add_items, attr_of, dict_pairs_of,
                           dict_values_of, make_dict, unattr, undict, undict_items,
                           undict_values, unset_item, record_dot, unrecord, bcast, repeat_items,
                           seq_concat, concat_place, concat_part, concat_tangent, tuple_of,
                           require_len, seq_repeat,
                           repeat_seq_tangent, unrepeat_seq,
                           cast_adjoint, cast_tangent, clip_weight, cumprod_vjp,
                           dot_vjp_x, dot_vjp_y,
                           einsum_jvp, einsum_vjp, fmax_weight, grad_like, index_add,
                           inner_vjp_x, inner_vjp_y, linspace_weight, matmul_vjp_x, matmul_vjp_y,
                           inv_count, max_vjp, max_weight, norm_weight, pow_log, prod_others,
                           recip_or_zero, rejoin, star_args,
                           tensordot_vjp_x, tensordot_vjp_y, tie_weight, unbroadcast,
                           unconcatenate, uncumsum, undiag, undiagonal, unhstack, unindex,
                           unreduce, unreduce_vjp, unrepeat, unreshape, unsplit, unstack, untile,
                           transposed, untranspose, unvstack,
                           zeros_like, unassign, assigned_bar, assign_scatter, snapshot, written,
                           owned, updated)

SAMPLES = []                      # (function, [argument tuples])
AUTOGRAD_LACKS = {}               # "name" or "name-k" (its k-th args) -> why autograd is no oracle
UNREACHABLE = {                   # rules no source reaches, with why: exempt from samples
    "reversed": "lowering rewrites reversed(seq) as seq[::-1]; only generated loops call it",
    "_weight_dtype": "called only by srcad's helpers, read at second order (a dtype)",
    "_float_dtype": "called only by srcad's helpers, read at second order (a dtype)",
    "reduce_axis": "called only by srcad's helpers, read at second order (axes)",
    "require_real_eig": "called only by eig_jvp and eig_vjp (tests/rules/test_linalg_rules.py)",
    "require_real": "called only by the decompositions' and norms' derivatives "
                    "(tests/rules/test_rule_conventions.py)",
    "spread_inv_count": "called only by generated code (np.var's and np.std's derivatives)",
}
KNOWN = {}                        # function name -> (tests, why it fails today); tests among
#                                   "forward", "reverse", "autograd", "float32"

_rng = np.random.default_rng(0)


def registrars(samples: list, lacking: dict, known_failures: dict):
    """The `sample`, `lacks` and `known` decorators of a fixture table, filling its own
    SAMPLES, AUTOGRAD_LACKS and KNOWN (each table module calls this once)."""
    def sample(*argsets):
        """Register the decorated function, to be checked at each tuple of arguments."""
        def register(f):
            samples.append((f, [tuple(a) for a in argsets]))
            return f
        return register

    def lacks(reason, *funcs, cases=None):
        """autograd cannot check `funcs` (at argument tuples `cases` only, when given)."""
        for f in funcs:
            for k in cases or [None]:
                lacking[f.__name__ if k is None else f"{f.__name__}-{k}"] = reason

    def known(reason, *funcs, tests=("forward", "reverse", "autograd")):
        """`funcs` fail `tests` for a reason outside the rule tables (the tests expect it)."""
        for f in funcs:
            known_failures[f.__name__] = (tests, reason)
    return sample, lacks, known


sample, lacks, known = registrars(SAMPLES, AUTOGRAD_LACKS, KNOWN)


# ------------------------------------------------------------ inputs
def pos(*shape):
    """Values in (0.5, 1.5); a Python float for no shape."""
    return float(_rng.uniform(0.5, 1.5)) if not shape else _rng.uniform(0.5, 1.5, size=shape)


def sym(*shape):
    """Values in +-(0.3, 1.2): both signs, away from 0."""
    if not shape:
        return float(_rng.uniform(0.3, 1.2) * _rng.choice([-1.0, 1.0]))
    return _rng.uniform(0.3, 1.2, size=shape) * _rng.choice([-1.0, 1.0], size=shape)


def unit(*shape):
    """Values in (-0.8, 0.8): inside arcsin's and arctanh's domain."""
    return float(_rng.uniform(-0.8, 0.8)) if not shape else _rng.uniform(-0.8, 0.8, size=shape)


def big(*shape):
    """Values in (1.5, 3): inside arccosh's domain."""
    return float(_rng.uniform(1.5, 3.0)) if not shape else _rng.uniform(1.5, 3.0, size=shape)


def apart(*shape):
    """Distinct values at least 0.1 apart (no ties for max, min, sort), in (0.3, 0.3 + 0.2 n)."""
    n = int(np.prod(shape))
    return (_rng.permutation(n) * 0.2 + 0.3 + _rng.uniform(0, 0.05, n)).reshape(shape)


def well(*shape):
    """Well-conditioned square matrices (a stack of them for more than two axes)."""
    n = shape[-1]
    return np.eye(n) * 2.0 + 0.3 * _rng.uniform(-1, 1, size=shape)


def d0(v):
    """A 0-d array."""
    return np.array(v)


# Shapes every unary elementwise rule is checked on: float, 0-d, vector, matrix.
def unary(make):
    return [(make(),), (d0(make()),), (make(3),), (make(2, 3),)]


# Pairs every binary elementwise rule is checked on, broadcasting included.
def binary(make, make_y=None):
    my = make_y or make
    return [(make(), my()), (make(3), my(3)), (make(2, 3), my(2, 3)), (make(2, 1), my(1, 3)),
            (make(), my(2, 3)), (make(2, 3), my()), (make(3), my(2, 3)), (d0(make()), my(3))]


# ============================================================ core: operators
@sample(*binary(pos))
def op_add(x, y):
    return x + y


@sample(*binary(pos))
def op_sub(x, y):
    return x - y


@sample(*binary(pos))
def op_mul(x, y):
    return x * y


@sample(*binary(pos))
def op_truediv(x, y):
    return x / y


@sample(*[a for k, a in enumerate(binary(pos)) if k != 4])
def op_pow(x, y):
    return x ** y


@sample((pos(), pos(2, 3)))
def op_pow_scalar_base(x, y):
    return x ** y




@sample(*unary(sym))
def op_neg_pos(x):
    return -x + (+x) * 2.0


@sample((pos(2, 3), pos(3, 4)), (pos(3), pos(3, 2)), (pos(2, 3), pos(3)), (pos(2, 2, 3), pos(3, 2)),
        (pos(2, 2, 3), pos(3)), (pos(3), pos(2, 3, 4)), (pos(2, 1, 2, 3), pos(3, 3, 2)))
def op_matmul(x, y):
    return x @ y


@sample((pos(2, 3), pos(3, 4)), (pos(3), pos(3)), (pos(2, 2, 3), pos(2, 3, 2)))
def np_matmul(x, y):
    return np.matmul(x, y)


@sample((pos(2, 3), pos(3, 4)), (pos(3), pos(3, 2)), (pos(2, 3), pos(3)), (pos(), pos(3)),
        (pos(2, 3, 4), pos(4, 2)), (pos(2, 3), pos(2, 3, 4)), (pos(2, 2, 3), pos(3)),
        (pos(3), pos(2, 3, 2)), (pos(2, 1, 3), pos(4, 3, 2)), (pos(2, 3, 2), pos()))
def np_dot(x, y):
    return np.dot(x, y)


@sample((pos(2, 3), pos(3, 4)), (pos(3), pos(3)), (pos(2, 3, 4), pos(4)))
def method_dot(x, y):
    return x.dot(y)


@sample((pos(3) + 1.0,), (pos() + 1.0,))
def op_floordiv(x):
    return (x // 0.7) * x


@sample((pos(3) - 1.0,), (pos(2, 3) - 1.0,))
def op_bitwise_masks(x):
    # & | ^ ~ << >> on masks and integers carry no derivative; the mask selects x
    m = ((x > 0.1) & ~(x > 0.4)) | (x < -0.3) ^ (x > 10.0)
    k = (np.ones(x.shape, dtype=int) << 2) >> 1
    return np.where(m, x * x, x) * k + x.astype(np.float64)


@sample((pos(3) + 1.0,), (pos() + 1.0,))
def op_mod(x):
    return x % 0.7 + x




@sample((sym(3), sym(3)))
def op_compare(x, y):
    a = np.where(x < y, x, y) + np.where(x <= y, x, y) + np.where(x > y, x, y)
    b = np.where(x >= y, x, y) + np.where(x == y, x, y) + np.where(x != y, x, y)
    return a * b


@sample((pos(),))
def op_is(x):
    a = x * 2.0 if x is None else x * 3.0
    b = x * 2.0 if x is not None else x * 3.0
    c = x * 2.0 if not (x > 10.0) else x
    d = x * 2.0 if 2 in (1, 2) else x
    return a + b + c + d


# ============================================================ core: elementwise functions
@sample(*unary(sym))
def np_sin(x):
    return np.sin(x)


@sample(*unary(sym))
def np_cos(x):
    return np.cos(x)


@sample(*unary(unit))
def np_tan(x):
    return np.tan(x)


@sample(*unary(sym))
def np_exp(x):
    return np.exp(x)


@sample(*unary(pos))
def np_log(x):
    return np.log(x)


@sample(*unary(pos))
def np_sqrt(x):
    return np.sqrt(x)


@sample(*unary(sym))
def np_tanh(x):
    return np.tanh(x)


@sample(*unary(sym))
def np_abs(x):
    return np.abs(x) + np.absolute(x)


@sample(*unary(sym))
def builtin_abs(x):
    return abs(x)


@sample((sym(),), (unit(),))
def math_funcs(x):
    a = math.sin(x) + math.cos(x) + math.tan(x) + math.exp(x) + math.tanh(x)
    return a + math.log(x * x) + math.sqrt(x * x + 1.0) + math.fabs(x)


@sample(*binary(sym))
def np_maximum(x, y):
    return np.maximum(x, y)


@sample(*binary(sym))
def np_minimum(x, y):
    return np.minimum(x, y)


@sample((sym(), sym()))
def builtin_max_min(x, y):
    return max(x, y) * 2.0 + min(x, y)


@sample((sym(3), pos(3), pos(3)), (sym(2, 1), pos(3), pos(2, 3)), (sym(3), pos(), pos(2, 3)))
def np_where(c, x, y):
    return np.where(c > 0, x, y)


# ============================================================ core: reductions
@sample((pos(4),), (pos(),))
def np_sum(x):
    return np.sum(x)


@sample((pos(2, 3), 0, False), (pos(2, 3), -1, True), (pos(2, 3, 2), (0, 2), False),
        (pos(2, 3), None, True), (pos(2, 3, 2), (-1, 0), True))
def np_sum_axis(x, axis, keepdims):
    return np.sum(x, axis=axis, keepdims=keepdims)


@sample((pos(2, 3),))
def sum_literal_axes(x):
    return np.sum(x, axis=-1, keepdims=True) * np.sum(x, axis=0) + x.sum(axis=(0, 1))


@sample((pos(4),), (pos(2, 3),))
def np_mean(x):
    return np.mean(x) + x.mean()


@sample((pos(2, 3), 0, False), (pos(2, 3), -1, True), (pos(2, 3, 2), (0, 2), False),
        (pos(2, 3), None, True))
def np_mean_axis(x, axis, keepdims):
    return np.mean(x, axis=axis, keepdims=keepdims)


@sample((apart(4),), (apart(2, 3),))
def np_max_min(x):
    return np.max(x) * np.min(x) + np.amax(x) - np.amin(x) + x.max() * x.min()


@sample((apart(2, 3), 0, False), (apart(2, 3), -1, True), (apart(2, 3, 2), (0, 2), False),
        (apart(2, 3), None, True))
def np_max_axis(x, axis, keepdims):
    return np.max(x, axis=axis, keepdims=keepdims) + np.min(x, axis=axis, keepdims=keepdims)




# ============================================================ core: shapes, conversions
@sample((pos(2, 3),), (pos(2, 3, 2),))
def attr_T(x):
    return x.T * 2.0


@sample((pos(2, 3),), (pos(2, 3, 2),))
def np_transpose(x):
    return np.transpose(x)


@sample((pos(2, 3, 2),))
def np_transpose_axes(x):
    return np.transpose(x, (1, 2, 0)) + np.transpose(x, axes=(1, 2, 0))


@sample((pos(2, 3, 2),))
def np_transpose_negative(x):
    return np.transpose(x, (-1, 0, 1))


lacks("autograd inverts negative transpose axes with np.argsort(axes), giving a wrong "
      "gradient (srcad agrees with finite differences)", np_transpose_negative)


@sample((pos(2, 3, 2),))
def method_transpose_negative(x):
    return x.transpose(-1, 0, 1)




@sample((pos(3),))
def builtin_float(x):
    return float(np.sum(x)) * 2.0


@sample((pos(3) + 0.2,))
def stop_gradient_(x):
    return x * srcad.stop_gradient(2.0 * np.floor(x) + 1.0)


lacks("autograd differentiates through srcad.stop_gradient", stop_gradient_)


@sample((pos(3),), (pos(2, 3),))
def int_len_bool_round(x):
    n = int(3.7) + len(x) + round(2.4)
    return x * n if bool(1) else x


@sample((pos(2, 3),))
def shapes_as_values(x):
    a = x * np.ndim(x) + x * np.size(x) + x * x.ndim + x * x.size
    return a + np.zeros(np.shape(x)) + np.zeros(x.shape, dtype=x.dtype)


@sample((pos(3),))
def loops_range(x):
    s = x
    for i in range(3):
        s = s * x + i
    for j in reversed(range(2)):
        s = s + x * j
    return s


@sample((pos(4),))
def builtin_slice(x):
    return x[slice(0, 2)] * x[slice(1, 3, None)]


@sample((sym(3) + 0.1,))
def piecewise_constant(x):
    a = np.sign(x) * x + np.floor(x) * x + np.ceil(x) * x + np.round(x) * x
    b = np.trunc(x) * x + np.rint(x) * x + np.fix(x) * x + np.signbit(x) * x
    c = np.where(np.logical_or(np.isnan(x), np.isinf(x)), 0.0, x) + np.where(np.isfinite(x), x, 0.0)
    d = np.where(np.logical_and(np.logical_not(x > 0.0), np.logical_xor(x > 0.0, x > 5.0)), x, 0.0)
    return a + b + c + d


@sample((sym(3), sym(3)))
def np_comparisons(x, y):
    a = np.where(np.greater(x, y), x, y) + np.where(np.greater_equal(x, y), x, y)
    b = np.where(np.less(x, y), x, y) + np.where(np.less_equal(x, y), x, y)
    c = np.where(np.equal(x, y), x, y) + np.where(np.not_equal(x, y), x, y)
    return a + b + c + np.where(np.isclose(x, y), x, y)


@sample((apart(4),))
def arg_functions(x):
    return x[np.argmax(x)] * x[np.argmin(x)] + x[np.argsort(x)]


@sample((pos() + 1.2,))
def math_floor_ceil(x):
    return x * math.floor(x) + x * math.ceil(x)


@sample((pos(),), (pos(3),))
def list_append_sum(x):
    xs = []
    xs.append(x)
    xs.append(x * x)
    return sum(xs)


# ============================================================ generated code's helpers
@sample((pos(2, 3), pos(3)))
def helper_broadcasting(g, y):
    return unbroadcast(g, y) * 2.0 + np.sum(bcast(y, g), axis=0)


@sample((pos(2), pos(2, 3)))
def helper_unreduce(g, x):
    return unreduce(g, x, -1, False) * x


@sample((pos(2, 3), pos(2)), (pos(2, 3), pos(2, 3)))
def helper_unreduce_vjp(h, g):
    return unreduce_vjp(h, g, -1, False) * g          # g reduced over the last axis, or whole


@sample((pos(3), pos(3)))
def helper_grad_like(g, x):
    return grad_like(g, x) * x


@sample((pos(2), pos(4)))
def helper_unindex(g, x):
    return unindex(g, x, [0, 2]) * x


@sample((pos(4), pos(2)))
def helper_index_add(acc, g):
    a = acc * 1.0
    a = index_add(a, [1, 3], g)
    return a


@sample((pos(4), pos(4)))
def helper_unassign(g, x):
    return unassign(g, x, [0, 2]) * x


@sample((pos(4), pos(3)), (pos(4), pos(1)))
def helper_assigned_bar(g, v):
    return assigned_bar(g, v, [3, 0, 3]) * v          # a repeated entry: its last write counts


@sample((pos(3), pos(4)))
def helper_assign_scatter(u, g):
    return assign_scatter(u, g, [3, 0, 3]) * g


@sample((pos(3), pos(3)), (pos(1), pos(3)))
def helper_owned_written(g, x):
    return owned(g, x) * x + written(g, x) * x


@sample((pos(3),))
def helper_snapshot(x):
    return snapshot(x * 2.0) * x


@sample((pos(2, 3), pos(3, 2)), (pos(3), pos(3)))
def helper_updated(x, y):
    m = (y * 1.0).T                                   # Fortran-ordered for a matrix y
    return updated(m - x * x, m) * x


@sample((pos(3), pos(3)))
def helper_repeat_items(g, x):
    parts = repeat_items(g * 2.0, [x, x * x])         # sum's adjoint: g for every item
    return np.sum(np.stack(parts) * x)


@sample((pos(3), pos(2)))
def helper_add_items(x, y):
    parts = add_items([x, y * 2.0], [x * x, y])      # lists add item by item
    return np.concatenate(parts) * 1.5


@sample((pos(2, 3, 4),))
def helper_untranspose(g):
    return untranspose(g, (1, 2, 0))


@sample((pos(2, 3, 4),), (pos(),))
def helper_transposed(x):
    # a 0-d value (a NumPy scalar's .T, a float tangent) stays as it is
    return np.sum(transposed(x, (2, 0, 1)) ** 2) + np.sum(untranspose(transposed(x)) * x)


@sample((pos(2, 3), pos(6)), (pos(6), pos(3, 2)), (pos(), pos(2, 3)), (pos(2, 3), pos()))
def helper_unreshape(g, like):
    # g reshaped, a 0-d g broadcast (the zero of any shape), many items onto one summed
    return unreshape(g, like) * like


@sample((pos(2, 4), pos(2, 3), pos(3, 4)), (pos(2, 3, 5, 5), pos(2, 3, 4), pos(5, 4, 5)),
        (pos(2, 3), pos(2, 3, 4), pos(4)))
def helper_dot_vjp(g, x, y):
    return dot_vjp_x(g, x, y) * x + np.sum(dot_vjp_y(g, x, y) * y)


@sample((pos(2, 4), pos(2, 3), pos(3, 4)))
def helper_matmul_vjp(g, x, y):
    return matmul_vjp_x(g, x, y) * x + np.sum(matmul_vjp_y(g, x, y) * y)


@sample((apart(4), apart(4)))
def helper_weights(x, y):
    return x * zeros_like(x) + x * tie_weight(x, y) + x * max_weight(x, np.max(x))


# (at the end of the samples: drawing their points moves no other sample's)
_HAS_CBRT = hasattr(math, "cbrt")               # Python 3.11


@sample((unit(), pos()), (unit(), -pos()))
def math_more_funcs(x, y):
    a = math.asin(x) + math.acos(x) + math.atan(y) + math.sinh(y) + math.cosh(y)
    a = a + math.asinh(y) + math.acosh(2.0 + x) + math.atanh(x) + math.expm1(y)
    a = a + math.log1p(y * y) + math.log2(y * y) + math.log10(y * y) + math.erf(y)
    a = a + math.erfc(x) + math.degrees(y) + math.radians(x) + math.pow(y * y, 1.5)
    a = a + math.atan2(y, x) + math.hypot(x, y) + math.trunc(0.5 * x)
    if _HAS_CBRT:
        a = a + math.cbrt(y) + math.exp2(x)
    return a if math.isfinite(a) and not math.isnan(a) and not math.isinf(a) else 0.0


lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_broadcasting, helper_unreduce, helper_unreduce_vjp, helper_grad_like,
      helper_unindex, helper_index_add, helper_unassign, helper_assigned_bar,
      helper_assign_scatter, helper_snapshot, helper_updated, helper_owned_written,
      helper_untranspose,
      helper_transposed,
      helper_unreshape, helper_dot_vjp, helper_matmul_vjp, helper_weights)


# ============================================================ containers table
class _Pair(NamedTuple):
    a: np.ndarray
    b: np.ndarray


@sample((_Pair(pos(3), pos(2)),))
def container_attr(p):
    return np.sum(p.a * p.a) * np.sum(np.sin(p.b))              # x.name of a container


@sample((pos(3), pos(2)))
def container_dict(x, y):
    d = {"a": x, "b": y * 2.0}                                 # a dict display
    d["c"] = x * 3.0                                           # item assignment: set_item
    s = 0.0
    for k, v in d.items():
        s = s + np.sum(v * v)
    for v in d.values():
        s = s + np.sum(np.sin(v))
    return s + len(d.keys())


@sample((pos(3), pos(2)))
def helper_containers(x, y):
    d = make_dict(("a", "b"), [x, y])
    parts = undict(d, ("b", "a"))                              # [y, x]
    vals = dict_values_of(d, d)                                # [x, y]
    back = undict_values([y * 2.0, x], {"a": y, "b": x})       # {"a": 2y, "b": x}
    pairs = dict_pairs_of(d, d)                                # [(0.0, x), (0.0, y)]
    fields = undict_items([(0.0, x), (0.0, y * y)], d)         # {"a": x, "b": y*y}
    rest = unset_item({"a": x, "b": y}, {"a": x, "b": y}, "b")  # {"a": x, "b": 0.0}
    got = attr_of([x * y[0], y], _Pair(x, y), "a")             # x * y[0]
    one = unattr(y * 3.0, _Pair(x, y), "b")                    # [0, 3y]
    rec = record_dot(_Pair, ("a", "b"), [x * 2.0, y])          # [2x, y]
    fs = unrecord([y * y, x], _Pair, ("a", "b"))              # [y*y, x]
    return np.concatenate([parts[0] * vals[1], back["a"] + pairs[1][1], fields["b"],
                           rest["a"] + got, one[1], rec[0] + fs[1], fs[0]])


@sample((pos(3), pos(2)))
def container_concat(x, y):
    a = [x, y * 2.0] + [x * y[0]]                              # seq_concat
    b = require_len(a[1:], 2, "f()")                           # f(*xs) spread into 2
    c = seq_concat((x,), (y,))
    t = concat_place([y, x], [x], [y, x], 1)                   # [0, y, x]
    u = concat_part([x, y, x * 3.0], [x], [y, x], 1)           # [y, 3x]
    r = seq_repeat([x, y], 2)                                  # [x, y, x, y]
    rt = repeat_seq_tangent([y * 2.0], [y], 2)                 # [2y, 2y]
    ru = unrepeat_seq([x, y, x * 2.0, y], [x, y], 2)           # [3x, 2y]
    ct = concat_tangent([y * 2.0], [x, y], [y], [x, y])        # [2y, x, y]
    tu = tuple_of([x * y[1], y])                               # (x y1, y)
    return np.concatenate([a[0] * a[2], b[0] + t[1], t[2] + u[1], u[0] * c[1],
                           r[2] * ru[0], r[3] + rt[1] * ru[1], ct[1] + tu[0],
                           ct[0] * ct[2] * tu[1]])


# ============================================================ elementwise table
@sample(*binary(pos))
def np_add(x, y):
    return np.add(x, y)


@sample(*binary(pos))
def np_subtract(x, y):
    return np.subtract(x, y)


@sample(*binary(pos))
def np_multiply(x, y):
    return np.multiply(x, y)


@sample(*binary(pos))
def np_divide(x, y):
    return np.divide(x, y) + np.true_divide(y, x)


@sample(*binary(pos))
def np_power(x, y):
    return np.power(x, y)


@sample(*unary(sym))
def np_negative_positive(x):
    return np.negative(x) * np.positive(x)


@sample(*unary(unit))
def np_arcsin(x):
    return np.arcsin(x)


@sample(*unary(unit))
def np_arccos(x):
    return np.arccos(x)


@sample(*unary(sym))
def np_arctan(x):
    return np.arctan(x)


@sample(*binary(sym))
def np_arctan2(y, x):
    return np.arctan2(y, x)


@sample(*unary(sym))
def np_sinh(x):
    return np.sinh(x)


@sample(*unary(sym))
def np_cosh(x):
    return np.cosh(x)


@sample(*unary(sym))
def np_arcsinh(x):
    return np.arcsinh(x)


@sample(*unary(big))
def np_arccosh(x):
    return np.arccosh(x)


@sample(*unary(unit))
def np_arctanh(x):
    return np.arctanh(x)


@sample(*unary(sym))
def np_exp2(x):
    return np.exp2(x)


@sample(*unary(sym))
def np_expm1(x):
    return np.expm1(x)


@sample(*unary(pos))
def np_log2(x):
    return np.log2(x)


@sample(*unary(pos))
def np_log10(x):
    return np.log10(x)


@sample(*unary(pos))
def np_log1p(x):
    return np.log1p(x)


@sample(*binary(sym))
def np_logaddexp(x, y):
    return np.logaddexp(x, y)


@sample(*unary(sym))
def np_cbrt(x):
    return np.cbrt(x)


@sample(*unary(sym))
def np_square(x):
    return np.square(x)


@sample(*unary(sym))
def np_reciprocal(x):
    return np.reciprocal(x)


@sample(*unary(sym))
def np_fabs(x):
    return np.fabs(x)


@sample(*binary(sym))
def np_hypot(x, y):
    return np.hypot(x, y)


@sample(*binary(sym))
def np_fmax(x, y):
    return np.fmax(x, y)


@sample(*binary(sym))
def np_fmin(x, y):
    return np.fmin(x, y)


@sample((sym(5),), (sym(2, 3),), (sym(),))
def np_clip(x):
    return np.clip(x, -0.5, 0.5) + np.clip(x, None, 0.6) + np.clip(x, a_min=-0.4, a_max=None)


@sample((sym(2, 3), -0.5, 0.5), (sym(2, 3), sym(3) * 0.3, 0.7), (sym(3), -0.5, pos(2, 1) - 0.2),
        (sym(3), sym(3) * 0.3 - 0.6, pos(2, 1) - 0.2))
def np_clip_bounds(x, lo, hi):
    return np.clip(x, lo, hi)


@sample((sym(2, 3),))
def method_clip(x):
    return x.clip(-0.5, 0.5) + x.clip(min=-0.3) + x.clip(max=0.4)


lacks("autograd has no ndarray.clip for its boxes", method_clip)


# ============================================================ reductions table
@sample((pos(4),), (pos(),), (np.array([0.5, 0.0, 2.0]),), (np.array([0.0, 0.0, 2.0]),))
def np_prod(x):
    return np.prod(x)


@sample((pos(2, 3), 0, False), (pos(2, 3), -1, True), (pos(2, 3, 2), (0, 2), False),
        (pos(2, 3), None, True), (np.array([[0.0, 2.0], [3.0, 0.0]]), 1, False))
def np_prod_axis(x, axis, keepdims):
    return np.prod(x, axis=axis, keepdims=keepdims)


@sample((pos(2, 3),))
def method_prod(x):
    return x.prod() + x.prod(axis=-1)


@sample((pos(5),), (pos(2, 3),))
def np_var_std(x):
    return np.var(x) + np.std(x) + np.var(x, ddof=1) * np.std(x, ddof=1)


@sample((pos(2, 3), 0, False, 0), (pos(2, 3), -1, True, 1), (pos(2, 3, 2), (0, 2), False, 1),
        (pos(2, 3), None, True, 0))
def np_var_axis(x, axis, keepdims, ddof):
    return np.var(x, axis=axis, keepdims=keepdims, ddof=ddof)


@sample((pos(2, 3), 0, False, 0), (pos(2, 3), -1, True, 1), (pos(2, 3, 2), (0, 2), False, 1),
        (pos(2, 3), None, True, 0))
def np_std_axis(x, axis, keepdims, ddof):
    return np.std(x, axis=axis, keepdims=keepdims, ddof=ddof)


@sample((pos(2, 3),))
def method_var_std(x):
    return x.var(axis=0) + x.std(axis=0, ddof=1)


@sample((pos(4),), (pos(2, 3),))
def np_cumsum(x):
    return np.cumsum(x) * 2.0


@sample((pos(2, 3), 0), (pos(2, 3), -1), (pos(2, 3, 2), 1))
def np_cumsum_axis(x, axis):
    return np.cumsum(x, axis=axis)


@sample((pos(4),), (pos(2, 3),), (np.array([1.5, 0.0, 2.0, 0.7]),))
def np_cumprod(x):
    return np.cumprod(x)


@sample((pos(2, 3), 0), (pos(2, 3), -1), (np.array([[1.5, 0.0, 2.0], [0.0, 0.0, 3.0]]), 1))
def np_cumprod_axis(x, axis):
    return np.cumprod(x, axis=axis)


@sample((pos(2, 3),))
def method_scans(x):
    return x.cumsum(axis=0) * x.cumprod(axis=1) + x.cumsum()[:6].reshape(2, 3)


# ============================================================ linalg table
@sample((pos(3), pos(3)), (pos(2, 3), pos(6)))
def np_vdot(x, y):
    return np.vdot(x, y)


@sample((pos(3), pos(3)), (pos(2, 3), pos(4, 3)), (pos(), pos(3)), (pos(2, 3), pos(3)),
        (pos(3), pos()))
def np_inner(x, y):
    return np.inner(x, y)


@sample((pos(3), pos(2)), (pos(2, 2), pos(3)))
def np_outer(x, y):
    return np.outer(x, y)


@sample((pos(2, 3), pos(2, 3, 2)), (pos(2, 3), pos(2, 3)))
def np_tensordot_2(x, y):
    return np.tensordot(x, y)


@sample((pos(2, 3), pos(3, 4)), (pos(2, 2, 3), pos(3, 2)))
def np_tensordot_1(x, y):
    return np.tensordot(x, y, axes=1)


@sample((pos(2, 3), pos(3)))
def np_tensordot_0(x, y):
    return np.tensordot(x, y, 0)


@sample((pos(2, 3, 2), pos(3, 2, 4)))
def np_tensordot_pairs(x, y):
    a = np.tensordot(x, y, axes=([1, 0], [0, 1]))
    return a[:, :1] + np.tensordot(x, y, axes=(2, 1))[:, 0, 0, :]


@sample((pos(2, 3), pos(3, 4)))
def np_einsum_matmul(x, y):
    return np.einsum("ij,jk->ik", x, y) + np.einsum("ij,jk", x, y)


@sample((pos(3), pos(3)), (pos(2, 3), pos(2, 3)))
def np_einsum_dot(x, y):
    return np.einsum("...i,...i->...", x, y)


@sample((pos(3, 3),))
def np_einsum_one(x):
    a = np.einsum("ii->", x) + np.einsum("ij->j", x)
    return a + np.einsum("ii->i", x) + np.einsum("ij->ji", x)[0]


@sample((pos(2, 2, 3), pos(2, 3, 4)), (pos(2, 2, 3), pos(3, 4)))
def np_einsum_batched(x, y):
    return np.einsum("...ij,...jk->...ik", x, y)


@sample((pos(3, 3), pos(3)))
def np_einsum_repeated(x, y):
    return np.einsum("ii,i->i", x, y) + np.einsum("ij,i->i", x, y)


@sample((pos(2), pos(3), pos(2)))
def np_einsum_three(x, y, z):
    return np.einsum("i,j,k->ijk", x, y, z) + np.einsum("i,j,i->j", x, y, z)[None, :, None]


@sample((pos(2, 3), pos(3, 2), pos(2, 2), pos(2)))
def np_einsum_four(a, b, c, d):
    return np.einsum("ij,jk,kl,l->i", a, b, c, d)


@sample((pos(3, 1), pos(3, 4)))
def np_einsum_broadcast(x, y):
    return np.einsum("ij,ij->ij", x, y)


@sample((pos(2, 3), pos(3, 2), pos(2, 2), pos(2, 3), pos(3)))
def np_einsum_five(a, b, c, d, e):
    return np.einsum("ij,jk,kl,lm,m->i", a, b, c, d, e, optimize=True)


@sample((pos(3, 3), pos(3, 4)), (pos(3, 3), pos(3, 2)))
def np_einsum_sublists(x, y):
    a = np.einsum(x, (0, 1), (1, 0))[0] + np.einsum(x, [0, 1], y, [1, 2], [0, 2])[:, 0]
    return a * np.einsum(x, [Ellipsis, 1], [1, Ellipsis])[0] + np.einsum(x, [27, 0], [0, 27])[:, 0]


@sample((pos(3, 3), pos(3, 4)))
def np_einsum_sublists_implicit(x, y):
    return np.einsum(x, [0, 1], y, [1, 2])[:, 1] * np.einsum(x, [1, 0])[0] + np.einsum(x, [27, 0])[0]


@sample((pos(3, 3),), (pos(3, 4),))
def np_trace(x):
    return np.trace(x) + np.trace(x, 1) + x.trace(offset=-1)


@sample((pos(2, 3, 3),))
def np_trace_axes(x):
    return np.trace(x, axis1=1, axis2=2) + np.trace(x, 0, -1, -2)


@sample((pos(3, 4),), (pos(3, 3, 3),))
def np_diagonal(x):
    return np.diagonal(x, -1) * x.diagonal(offset=1, axis1=-2, axis2=-1)[..., :1]


@sample((pos(3),))
def np_diag_vector(v):
    return np.diag(v) + np.diag(v, 1)[1:, :-1] * np.diag(v, k=-1)[:-1, 1:]


@sample((pos(3, 3),), (pos(3, 4),))
def np_diag_matrix(m):
    return np.diag(m) + np.diag(m, -1).sum()


@sample((sym(4),), (sym(2, 3),), (sym(),))
def np_norm(x):
    return np.linalg.norm(x)


@sample((sym(2, 3), -1, False), (sym(2, 3), 0, True), (sym(2, 3, 2), (0, 2), False),
        (sym(2, 3), None, True))
def np_norm_axis(x, axis, keepdims):
    return np.linalg.norm(x, axis=axis, keepdims=keepdims)


@sample((sym(4),))
def np_norm_ord(x):
    a = np.linalg.norm(x, 1) + np.linalg.norm(x, ord=3) + np.linalg.norm(x, 2)
    return a + np.linalg.norm(x, np.inf) + np.linalg.norm(x, -np.inf)


@sample((sym(2, 3),))
def np_norm_fro(x):
    return np.linalg.norm(x, "fro") + np.linalg.norm(x, ord=1, axis=1)


@sample((well(3, 3),), (well(2, 3, 3),))
def np_inv(x):
    return np.linalg.inv(x)


@sample((well(3, 3),), (well(2, 3, 3),))
def np_det(x):
    return np.linalg.det(x)


@sample((well(3, 3),), (-well(2, 2, 2),))
def np_slogdet(x):
    sign, logdet = np.linalg.slogdet(x)
    return sign * logdet + np.linalg.slogdet(x)[1]


@sample((pos(2, 3),), (pos(2, 2, 3),))
def attr_mT(x):
    return x.mT @ x


@sample((well(3, 3), pos(3)), (well(3, 3), pos(3, 2)), (well(2, 3, 3), pos(2, 3, 2)),
        (well(2, 3, 3), pos(3)), (well(2, 3, 3), pos(3, 1)))
def np_solve(a, b):
    return np.linalg.solve(a, b)


# ------------------------------------------------------------ decompositions
def _orthogonal(n):
    q, r = np.linalg.qr(_rng.normal(size=(n, n)))
    return q * np.sign(np.diagonal(r))


def spectrum(*shape, gap=1.0, skew=True):
    """Symmetric matrices with eigenvalues `gap` apart (a stack for more than two axes);
    `skew` adds noise to the strict upper triangle, which eigh and cholesky never read."""
    n = shape[-1]
    mats = []
    for _ in range(int(np.prod(shape[:-2], dtype=int))):
        q = _orthogonal(n)
        w = np.arange(n) * gap - 0.4 * n + _rng.uniform(0.0, 0.1, n)
        m = (q * w) @ q.T
        mats.append(m + np.triu(_rng.uniform(-1, 1, (n, n)), 1) * skew)
    return np.reshape(mats, shape)


def spd(*shape, skew=True):
    """Well-conditioned symmetric positive definite matrices (eigenvalues in [1, 1 + n])."""
    return spectrum(*shape, skew=skew) + (0.4 * shape[-1] + 1.0) * np.eye(shape[-1])


def real_eig(*shape):
    """Nonsymmetric matrices with real eigenvalues a unit apart."""
    n = shape[-1]
    mats = []
    for _ in range(int(np.prod(shape[:-2], dtype=int))):
        v = np.eye(n) + 0.3 * _rng.uniform(-1, 1, (n, n))
        mats.append(v @ np.diag(np.arange(n) + 1.0 + _rng.uniform(0, 0.1, n)) @ np.linalg.inv(v))
    return np.reshape(mats, shape)


def gauss(*shape):
    """Standard normal entries: generic matrices, distinct nonzero singular values."""
    return _rng.normal(size=shape)


@sample((spectrum(3, 3),), (spectrum(2, 4, 4),), (spectrum(1, 1),))
def np_eigh(a):
    w, v = np.linalg.eigh(a)
    return v * v * w[..., None, :] + np.linalg.eigh(a, UPLO="U")[1] ** 2


@sample((spectrum(3, 3),), (spectrum(2, 3, 3),))
def np_eigh_values(a):
    return np.linalg.eigh(a)[0] + np.linalg.eigh(a, "U")[0] ** 2


@sample((spectrum(3, 3),), (spectrum(2, 4, 4),))
def np_eigvalsh(a):
    return np.linalg.eigvalsh(a) + np.linalg.eigvalsh(a, UPLO="U") ** 2


@sample((spd(3, 3),), (spd(2, 4, 4),), (spd(1, 1),))
def np_cholesky(a):
    return np.linalg.cholesky(a) + np.swapaxes(np.linalg.cholesky(a, upper=True), -1, -2) ** 2


@sample((gauss(3, 3),), (gauss(4, 2),), (gauss(2, 4),), (gauss(2, 3, 4),))
def np_svd(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(u ** 3, axis=-2) * np.sum(vh ** 3, axis=-1) + s ** 2


@sample((gauss(3, 3),), (gauss(4, 2),), (gauss(2, 4),), (gauss(2, 3, 4),))
def np_svd_full(a):
    u, s, vh = np.linalg.svd(a)
    k = s.shape[-1]
    return np.sum(u[..., :k] ** 3, axis=-2) * np.sum(vh[..., :k, :] ** 3, axis=-1) + s


@sample((gauss(3, 3),), (gauss(4, 2),), (gauss(2, 4),), (gauss(2, 3, 4),))
def np_svd_values(a):
    return np.linalg.svd(a, compute_uv=False) ** 2


@sample((gauss(3, 3),), (gauss(4, 3),), (gauss(3, 5),), (gauss(2, 4, 3),))
def np_qr(a):
    q, r = np.linalg.qr(a)
    return np.sum(q ** 3, axis=-2) + np.sum(r ** 3, axis=-1)


@sample((gauss(4, 2),), (gauss(2, 4),), (gauss(3, 3),))
def np_qr_modes(a):
    q, r = np.linalg.qr(a, mode="complete")
    return np.sum(q[:, :2] ** 3) + np.sum(r ** 3) + np.sum(np.linalg.qr(a, "r") ** 2)


@sample((gauss(3, 3),), (gauss(4, 2),), (gauss(2, 4),), (gauss(2, 4, 3),))
def np_pinv(a):
    return np.linalg.pinv(a)


@sample((gauss(5, 3), gauss(5)), (gauss(5, 3), gauss(5, 2)), (well(3, 3), gauss(3)),
        (gauss(2, 4), gauss(2)), (gauss(2, 4), gauss(2, 3)))
def np_lstsq(a, b):
    x, res, rank, s = np.linalg.lstsq(a, b)
    return np.sum(x ** 2) + np.sum(res) * 0.5 + np.sum(s ** 2) * np.sum(x)


@sample((well(3, 3), 3), (well(3, 3), -2), (well(2, 3, 3), 0), (well(2, 2, 2), 1),
        (well(2, 2), 5))
def np_matrix_power(a, n):
    return np.linalg.matrix_power(a, n)


@sample((real_eig(3, 3),), (real_eig(2, 3, 3),))
def np_eig(a):
    w, v = np.linalg.eig(a)
    return w[..., None, :] * v ** 2 + np.linalg.eig(a)[0][..., None, :]


@sample((gauss(3, 4),), (gauss(4, 4),), (gauss(3, 2, 4),))
def np_norm_nuc(a):
    if a.ndim == 3:
        return np.linalg.norm(a, "nuc", axis=(2, 0))
    return np.linalg.norm(a, "nuc")


@sample((gauss(3, 4),), (gauss(4, 3),), (gauss(3, 2, 4),))
def np_norm_spectral(a):
    if a.ndim == 3:
        return np.linalg.norm(a, 2, axis=(0, 2)) + np.linalg.norm(a, -2, (2, 0), True)[:, 0, 0]
    return np.linalg.norm(a, 2) + np.linalg.norm(a, ord=-2) * 2.0


@sample((pos(2, 1, 2, 3), pos(3, 3, 2)), (pos(3), pos(2, 3, 4)), (pos(2, 3, 4), pos(4)),
        (pos(1, 2, 3), pos(4, 3, 2)))
def np_matmul_stacks(x, y):
    return np.matmul(x, y)


# ============================================================ fft table
@sample((sym(6),), (sym(2, 5),))
def np_fft_abs(x):
    return np.abs(np.fft.fft(x)) ** 2 + np.abs(np.fft.ifft(x * 2.0, norm="ortho"))


@sample((sym(5),), (sym(3, 4),))
def np_fft_n(x):
    return np.abs(np.fft.fft(x, 7, axis=-1)) + np.abs(np.fft.ifft(x, n=3, norm="forward"))[..., :1]


@sample((sym(8),), (sym(7),), (sym(2, 6),))
def np_rfft_filter(x):
    h = np.exp(-0.5 * np.arange(x.shape[-1] // 2 + 1))
    return np.fft.irfft(np.fft.rfft(x) * h, x.shape[-1])


@sample((sym(6),), (sym(3, 5),))
def np_rfft_norms(x):
    a = np.abs(np.fft.rfft(x, 5)) + np.abs(np.fft.rfft(x, n=8, norm="ortho"))[..., :3]
    return a + np.fft.irfft(np.fft.rfft(x, norm="forward") ** 2, 5, norm="forward")[..., :3]


@sample((sym(4),), (sym(2, 3),))
def np_irfft(x):
    return np.fft.irfft(x, 9) + np.fft.irfft(x * x, 6, norm="ortho")[..., :1]


@sample((sym(3, 4, 2),), (sym(4, 4),))
def np_fftn(x):
    return np.abs(np.fft.fftn(x, axes=(0, 1))) + np.abs(np.fft.ifftn(x, norm="ortho"))


@sample((sym(3, 4),), (sym(2, 3, 4),))
def np_fft2(x):
    return np.abs(np.fft.fft2(x)) + np.abs(np.fft.ifft2(x, s=(4, 3), axes=(-1, -2)))


@sample((sym(4, 5, 2),), (sym(4, 6),))
def np_rfftn(x):
    y = np.fft.rfftn(x, axes=(0, 1)) * 2.0
    z = np.abs(np.fft.rfftn(x, norm="ortho"))[:1, :1]
    return np.fft.irfftn(y, s=(4, x.shape[1]), axes=(0, 1)) + z


@sample((sym(6), sym(6)), (sym(2, 4), sym(2, 4)))
def helper_fft(g, x):
    a = fft_vjp(g * 1.0, x, "fft") + fft_vjp(np.fft.rfft(g), x, "rfft", None, -1, "ortho")
    b = fft_apply(g, "ifftn") * 2.0 + fft_apply(x, "irfft", 5)[..., :1]
    c = abs_jvp(a, x) * abs_vjp(g, x) + abs_slope_jvp(x, g) + real_part(b) + abs_slope_d2(x, g)
    return np.abs(b) + real_like(a, x) * c


# ============================================================ shapes table
@sample((pos(2, 3),), (pos(6),))
def np_reshape(x):
    return np.reshape(x, (3, 2)) + np.reshape(x, (3, -1), order="F") + np.reshape(x, shape=(3, 2))


@sample((pos(2, 3),))
def method_reshape(x):
    return x.reshape(3, 2) + x.reshape((3, 2)) + x.reshape(-1).reshape(3, 2, order="F")


@sample((pos(2, 3),), (pos(2, 3, 2),))
def method_reshape_shape(x):
    n = x.shape[0]
    return x.reshape(n, -1) * 2.0 + x.reshape((n, -1))


@sample((pos(2, 3),), (pos(4),))
def np_ravel(x):
    return np.ravel(x) + x.ravel() * np.ravel(x, "F") + x.flatten() + x.flatten("F")


@sample((pos(2, 3), 0), (pos(2, 3), -1), (pos(2, 3), (0, 2)))
def np_expand_dims(x, axis):
    return np.expand_dims(x, axis)


@sample((pos(1, 3, 1),))
def np_squeeze(x):
    return np.squeeze(x) + np.squeeze(x, axis=-1)[0] + x.squeeze(0)[:, 0] + np.squeeze(x, (0, 2))


@sample((pos(2, 3, 2),))
def np_swapaxes(x):
    return np.swapaxes(x, 0, 2) + x.swapaxes(-1, 0)


@sample((pos(2, 3, 4),))
def np_moveaxis(x):
    return np.moveaxis(x, 0, -1)[:, :, :1] + np.moveaxis(x, (0, 1), (2, 0))[:, :, :1]


@sample((pos(2, 3, 2),))
def method_transpose(x):
    return x.transpose() + x.transpose(2, 1, 0) + x.transpose((2, 1, 0)) + x.transpose(2, 1, 0)


@sample((pos(2, 3),))
def np_flip(x):
    return np.flip(x) + np.flip(x, 0) + np.flip(x, axis=(0, 1)) + np.fliplr(x) * np.flipud(x)


@sample((pos(2, 3),))
def np_roll(x):
    return np.roll(x, 1) + np.roll(x, -1, axis=1) + np.roll(x, (1, 2), axis=(0, 1))


@sample((pos(3),), (pos(2, 1),), (pos(),))
def np_broadcast_to(x):
    return np.broadcast_to(x, (2, 3))


@sample((pos(3),), (pos(2, 3),))
def np_tile(x):
    return np.tile(x, 2)[..., :3] + np.tile(x, (2, 1, 2))[0, :, :3]


@sample((pos(3),), (pos(2, 3),))
def np_repeat(x):
    return np.repeat(x, 2)[:3] + np.repeat(x, [1, 2, 0], axis=-1)[..., :3] + x.repeat(2, axis=0)[:1]


@sample((pos(2, 3), pos(1, 3)), (pos(2, 3), pos(2, 3)))
def np_concatenate(x, y):
    a = np.concatenate([x, y])
    b = np.concatenate((x, x * y), axis=-1)
    return a[:1] * b[:1, :3] + np.concatenate([x, y], 0)[1:2]


@sample((pos(2, 3), pos(1, 3)))
def np_concatenate_flat(x, y):
    return np.concatenate([x, y], axis=None)




@sample((pos(3), pos(3)), (pos(2, 3), pos(2, 3)), (pos(), pos()))
def np_stack(x, y):
    return np.stack([x, y]) * 2.0 + np.sum(np.stack((y, x * y), axis=-1))


@sample((pos(2),))
def shared_list(x):
    xs = [x, x * 2.0]
    return np.sum(np.stack(xs) ** 2) + np.sum(np.concatenate(xs))




@sample((pos(3), pos(2)), (pos(2, 3), pos(2, 1)), (pos(), pos()))
def np_hstack(x, y):
    return np.hstack([x, y, x])


@sample((pos(3), pos(3)), (pos(2, 3), pos(1, 3)))
def np_vstack(x, y):
    return np.vstack((x, y))


@sample((pos(4),), (pos(2, 4),))
def np_split(x):
    a, b = np.split(x, 2, axis=-1)
    c, d, e = np.split(x, [1, 3], -1)
    return a * b + c[..., :1] * e + d[..., :1]


@sample((pos(4),))
def np_split_index(x):
    parts = np.split(x, 2)
    return parts[0] * parts[1]



# ============================================================ constants table
@sample((pos(3),))
def np_zeros_ones(x):
    return x + np.zeros(3) + np.ones(3) * x + np.ones((2, 3)) + len(np.empty(2)) * x


@sample((pos(2, 3),))
def np_like(x):
    a = x + np.zeros_like(x) + np.ones_like(x) * x
    return a + np.empty_like(x).shape[0] * x


@sample((pos(3),))
def np_eye_identity(x):
    return np.eye(3) @ x + np.eye(3, 3, 1) @ x + np.identity(3) @ x


@sample((pos(4),))
def np_arange(x):
    return x * np.arange(4) + x * np.arange(1, 5) + x * np.arange(0, 8, 2)


@sample((pos(),), (pos(3),))
def np_full(x):
    return np.full((2, 3), 2.0) * x + np.full((2, 3), x) + np.full_like(x, 3.0) + np.full_like(x, x)


@sample((pos(), pos() + 2.0), (pos(3), pos(3) + 2.0), (pos(), pos(2) + 2.0))
def np_linspace(a, b):
    return np.linspace(a, b, 5) + np.linspace(a, b, 5, endpoint=False) * np.linspace(0.0, 1.0, 5)[0]


@sample((pos(), pos(3)))
def np_linspace_axis(a, b):
    return np.linspace(a, b, 4, axis=-1)


@sample((pos(3),))
def np_array_const(x):
    return x * np.array([1.0, 2.0, 3.0]) + x * np.asarray([1, 2, 3])


@sample((pos(), pos()), (pos(3), pos(3)))
def np_array_values(x, y):
    return np.array([x, y]) * np.asarray([y, x]) + np.array([[x, y], [y, x]])[0]


@sample((pos(), pos()))
def np_array_mixed(x, y):
    return np.array([x, 1.0, y]) * np.array([[x], [2.0], [y]], ndmin=3)


@sample((pos(3),), (pos(),))
def np_copy(x):
    return np.copy(x) * x


@sample((pos(2, 3),))
def method_copy(x):
    return x.copy() * x


@sample((pos(2, 3) * 3.0,))
def method_astype(x):
    return x.astype(float) * x + x.astype(int) * x + x.astype(bool) * x


lacks("autograd has no ndarray.copy/astype for its boxes", method_copy, method_astype)


# the rules of srcad/rules/idioms.py: casts and the real parts of real values
@sample((pos(2, 3),), (1.5,))
def np_float_types(x):
    # (float32 and float16 round: finite differences cannot see their derivative, which
    # tests/test_idioms.py checks in closed form)
    return np.float64(x) * x + np.float32(x) * 0.0 + np.float16(x) * 0.0


@sample((pos(2, 3),), (1.5,))
def real_parts(x):
    return x.real * x + x.imag * x + x.conjugate() * x


@sample((pos(2, 3),))
def real_conj(x):
    return x.conj() * x


lacks("np.float16/32 casts round; its boxes have no .conj/.real", np_float_types, real_parts,
      real_conj)


# ============================================================ the tables' helpers (second order)
@sample((pos(3), pos(3)), (pos(2, 3), pos(2, 3)))
def helper_weights_of_tables(x, y):
    a = x * fmax_weight(x, y) + x * clip_weight(x, 0.3, 1.2) + x * pow_log(x)
    return a + x * linspace_weight(np.linspace(0.0, 1.0, 3), 3, True, 0)


@sample((sym(3),), (np.array([0.5, 0.0, -0.7]),), (sym(),))
def helper_divisors(x):
    return x * inv_count(np.ones((2, 3)), np.ones(3), 1) + recip_or_zero(x + 2.0) * x


@sample((pos(4), pos(2, 2)), (pos(6), pos(2, 3)))
def helper_uncumsum(g, x):
    return uncumsum(g, x, None) * x + uncumsum(x, x, 1) * x


@sample((pos(3), pos(3, 4)))
def helper_undiagonal(g, x):
    return undiagonal(g, x, 1, 0, 1) * x + undiagonal(g[:1], x, -1, -1, -2)


@sample((pos(4, 4), pos(3)), (pos(2), pos(3, 3)))
def helper_undiag(g, v):
    return undiag(g, v, 1) * v


@sample((pos(2, 6), pos(2, 3)))
def helper_untile_unrepeat(g, x):
    return untile(g, x, 2) * x + unrepeat(g[:, :3], x, [2, 0, 1], 1)


@sample((pos(2, 3), pos(2, 3)))
def helper_casts(t, x):
    return cast_tangent(t, x) * x + cast_adjoint(t, x) * x + cast_tangent(t, x > 1.0)


@sample((pos(5), pos(2), pos(3)))
def helper_pieces(g, x, y):
    a, b = unconcatenate(g, [x, y], 0)
    c, d = unhstack(g, [x, y])
    e, f = unvstack(g[:4].reshape(2, 2), [x, x])
    u, v = unstack(g[:4].reshape(2, 2), 0)
    return np.sum(a * x) + np.sum(b * y) + np.sum(c * x) * np.sum(d) + np.sum(e * f) + np.sum(u * v)


@sample((pos(2), pos(2), pos(4)))
def helper_joins(p, q, x):
    a = unsplit((p, q), x, 2, 0)
    b = rejoin([p, q], x, 0)
    c = rejoin([p, q], x, None)
    return a * x + b * c


@sample((pos(2, 4), pos(2, 3), pos(4, 3)), (pos(2), pos(2, 3), pos(3)))
def helper_inner(g, x, y):
    return np.sum(inner_vjp_x(g, x, y) * x) + np.sum(inner_vjp_y(g, x, y) * y)


@sample((pos(2, 4), pos(2, 3), pos(3, 4)))
def helper_tensordot(g, x, y):
    return np.sum(tensordot_vjp_x(g, x, y, 1) * x) + np.sum(tensordot_vjp_y(g, x, y, 1) * y)


@sample((pos(2, 3, 2),))
def helper_star_args(x):
    return np.transpose(x, star_args(2, 0, 1, None, None, None)) * 2.0


@sample((pos(2, 3),), (np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 1.5]]),))
def helper_prod_others(x):
    return prod_others(x, -1) * x + prod_others(x, None) + prod_others(x, (0, 1))


@sample((sym(2, 3), pos(2) + 1.0, 2), (sym(2, 3), pos(2) + 1.0, 3), (sym(2, 3), pos(3) + 1.0, 1))
def helper_norm_weight(x, n, ord):
    return norm_weight(x, n, ord, -1 if ord != 1 else 0, False) * x


@sample((pos(4), pos(4), pos(4)), (pos(2, 3), pos(2, 3), pos(2, 3)))
def helper_cumprod_vjp(g, x, p):
    return cumprod_vjp(g, x, p, -1) * x


@sample((pos(2, 3), pos(3, 4), pos(2, 3), pos(2, 4)))
def helper_einsum(x, y, t, g):
    a = einsum_jvp(1, t, "ij,jk->ik", x, y) * einsum_jvp(2, y * 2.0, "ij,jk->ik", x, y)
    b = np.sum(einsum_vjp(2, g, "ij,jk->ik", x, y) * y)
    b = b + np.sum(einsum_vjp(1, g, "ij,jk->ik", x, y) * x)
    c = np.sum(einsum_vjp(2, g, x, [0, 1], y, [1, 2], [0, 2]) * y)   # the sublist form
    return np.sum(a * g) + b + c + einsum_vjp(1, t[0, 0], "ii->", x[:, :2])[0, 0]


lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_prod_others, helper_norm_weight, helper_cumprod_vjp, helper_einsum, helper_divisors,
      helper_weights_of_tables, helper_uncumsum, helper_undiagonal, helper_undiag,
      helper_untile_unrepeat, helper_casts, helper_pieces, helper_joins, helper_inner,
      helper_tensordot, helper_star_args, helper_fft)


# ============================================================ where autograd is no oracle
# (each checked against central differences: srcad agrees with them, autograd does not or
# cannot evaluate the sample)
lacks("its boxes have no unary +, //, .dot, .mT, .clip, .copy, .astype, or spread .transpose",
      op_neg_pos, op_floordiv, method_dot, attr_mT, method_transpose, method_transpose_negative)
lacks("math.* and float() do not take its boxes", math_funcs, math_more_funcs, math_floor_ceil,
      builtin_float)
lacks("no VJP of np.signbit, positive, cbrt, cumprod, vdot, flip, copy", piecewise_constant,
      np_negative_positive, np_cbrt, np_cumprod, np_cumprod_axis, method_scans, np_vdot, np_flip,
      np_copy)
lacks("no VJP of np.clip with respect to its bounds", np_clip_bounds)
lacks("its np.where adjoint does not sum over broadcast axes", np_where, cases=[1, 2])
lacks("its np.prod adjoint divides by x: nan where x has zeros", np_prod, cases=[2, 3])
lacks("its np.prod adjoint divides by x: nan where x has zeros", np_prod_axis, cases=[4])
lacks("np.outer of a matrix", np_outer, cases=[1])
lacks("einsum with a repeated output subscript", np_einsum_one, np_einsum_repeated)
lacks("einsum with sublists and no output sublist", np_einsum_sublists_implicit)
lacks("np.trace/np.diagonal with offsets or axes", np_trace_axes, np_diagonal)
lacks("np.diag of a non-square matrix", np_diag_matrix, cases=[1])
lacks("np.linalg.norm of a Python float", np_norm, cases=[2])
lacks("np.linalg.norm with ord=1", np_norm_ord, np_norm_fro)
lacks("np.linalg.solve of a stack of matrices with a vector or (n, 1) right side", np_solve,
      cases=[3, 4])
lacks("np.roll with a tuple shift", np_roll)
lacks("no VJP of rfft or irfft of an odd length", np_rfft_filter, cases=[1])
lacks("no VJP of rfft or irfft of an odd length", np_rfft_norms, np_irfft)
lacks("no VJP of rfft or irfft of an odd length", np_rfftn, cases=[0])
lacks("its np.linalg.cholesky gradient is symmetric, not on the triangle NumPy reads "
      "(tests/rules/test_linalg_rules.py compares along symmetric directions)", np_cholesky)
lacks("no VJP of np.linalg.svd with full_matrices=True or of np.linalg.qr, lstsq, "
      "matrix_power, eigvalsh", np_svd_full, np_qr, np_qr_modes, np_lstsq, np_matrix_power,
      np_eigvalsh)
lacks("no VJP of np.linalg.norm(ord=2 or -2) of a matrix", np_norm_spectral)
lacks("np.broadcast_to adding leading axes", np_broadcast_to, cases=[0, 2])
lacks("its np.tile adjoint is wrong for 2-d inputs tiled to 3-d", np_tile, cases=[1])
lacks("np.repeat with a list of repeats", np_repeat)
lacks("np.full/np.full_like drop the fill value's derivative", np_full)
lacks("np.linspace with endpoint= or axis=", np_linspace, np_linspace_axis)
lacks("np.array of a list of its boxes", np_array_values, np_array_mixed)
lacks("np.concatenate with axis=None", np_concatenate_flat)


# (last: the samples above draw their values first, as before it was added)
@sample((pos(3), apart(3)), (pos(2, 3), apart(2, 3)))
def helper_max_vjp(g, x):
    """A max's adjoint: full (no tie: g at the max) and along an axis."""
    return np.sum(max_vjp(np.sum(g), x, np.max(x)) * x) + \
        np.sum(max_vjp(g[..., 0], x, np.max(x, axis=-1), -1) * g)


lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_max_vjp)


@sample((pos(3),), (pos(2, 3),))
def np_result_type(x):
    """A dtype from the arguments' dtypes: no derivative flows through it."""
    return np.zeros(np.shape(x), dtype=np.result_type(x, 1.0)) + x ** 2


@sample((pos(3),), (pos(2, 3),))
def np_iscomplexobj(x):
    """Whether an array is complex: a test no derivative flows through (real x here)."""
    if np.iscomplexobj(x) or not np.isrealobj(x):
        return np.sum(x)
    return np.sum(np.sin(x) * x)


lacks("np.isrealobj has no VJP in autograd", np_iscomplexobj)


@sample((pos(4, 3),))
def np_int_casts(w):
    """Integer casts of values used as indices: no derivative flows through them."""
    rows = np.int64(np.floor(w[:, 0] * 0.0 + 2.5))
    col = np.int32(1.7) + np.int16(0) + np.int8(0)
    last = w[np.uint8(3), np.uint16(2)] * w[np.uint32(2), np.uint64(1)]
    return np.sum(w[rows, col] * w[:, 2]) + np.sum(w[np.intp(1)] ** 2) + last


@sample((pos(3),), (pos(2, 3),))
def np_astype_function(x):
    """np.astype, the function form of x.astype (the dtype kept or widened)."""
    return np.astype(np.astype(x, x.dtype) * x, np.float64) ** 2


from srcad.runtime import in_dtype_of  # noqa: E402


@sample((pos(3), pos(3)), (pos(2, 3), pos(3)))
def helper_in_dtype_of(w, x):
    """in_dtype_of: w cast to its other arguments' precision (float64 to float32 for float32
    arguments, as np.interp's and scipy.stats' derivatives are), linear in w."""
    return in_dtype_of(np.astype(w, np.float64) * x, x) * x + in_dtype_of(w ** 2, x, None, 2.0)


lacks("srcad's runtime helpers call NumPy directly, which autograd cannot trace",
      helper_in_dtype_of)
