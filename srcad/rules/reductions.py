"""The handbook of reductions and scans: prod, var, std, cumsum, cumprod.

np.sum, mean, max, min (amax, amin) live in `core`. A reduction's tangent reduces the
tangent the same way (weighted by d out/d x); its adjoint is `out_bar` broadcast back over
the reduced axes (`unreduce`, which knows `axis` as an int, a negative int or a tuple, and
`keepdims`) times d out/d x. Each rule is also the ndarray method of the same name.

Conventions: prod's derivative is the product of the other entries, exact also at zeros
(where x has one, no division: out / x elsewhere, the cheap form); var and std take `ddof` (the divisor is max(N - ddof, 0), as NumPy takes
it); std'(x) is 0 where std is 0 (x constant along the axis: a kink, like abs at 0, and 0
its least subgradient; the true derivative when the axis has length 1 or x is a scalar);
mean, var and std of no entries give an empty gradient, as their values are nan; cumprod
is differentiated by its recurrence, exact at zeros. A `dtype=` casts the derivatives
alike: an integer or boolean dtype carries none (zero), as for `astype`.
"""
import numpy as np

from . import ANY, defrule

# ------------------------------------------------------------ products
defrule(np.prod, "x, axis=None, dtype=None, *, keepdims=False", name="np.prod", method="prod",
        kind="reduce",
        jvp="cast_tangent(prod_jvp(x_dot, x, out, axis, keepdims), out)",
        vjp="prod_vjp(cast_adjoint(out_bar, out), x, out, axis, keepdims)")

# ------------------------------------------------------------ spread: with N = size(x) / size(out)
#   var = sum((x - mean)^2) / (N - ddof),  d var / dx = 2 (x - mean) / (N - ddof)
#   std = sqrt(var),                       d std / dx = (x - mean) / ((N - ddof) std)
# (spread_inv_count(x, out, ddof) is 1 / (N - ddof), and raises for a complex x; recip_or_zero(std) is 1 / std, 0 where std is 0)
defrule(np.var, "x, axis=None, dtype=None, *, ddof=0, keepdims=False", name="np.var",
        method="var", kind="reduce",
        jvp="cast_tangent(np.sum(x_dot * (x - np.mean(x, axis=axis, keepdims=True)), axis=axis, "
            "keepdims=keepdims) * (2.0 * spread_inv_count(x, out, ddof)), out)",
        vjp="unreduce(cast_adjoint(out_bar, out), x, axis, keepdims) * (x - np.mean(x, axis=axis, "
            "keepdims=True)) * (2.0 * spread_inv_count(x, out, ddof))")
defrule(np.std, "x, axis=None, dtype=None, *, ddof=0, keepdims=False", name="np.std",
        method="std", kind="reduce",
        jvp="cast_tangent(np.sum(x_dot * (x - np.mean(x, axis=axis, keepdims=True)), axis=axis, "
            "keepdims=keepdims) * (recip_or_zero(out) * spread_inv_count(x, out, ddof)), out)",
        vjp="unreduce(cast_adjoint(out_bar, out) * recip_or_zero(out), x, axis, keepdims) * (x - "
            "np.mean(x, axis=axis, keepdims=True)) * spread_inv_count(x, out, ddof)")

# ------------------------------------------------------------ scans (axis=None: of the flat x)
defrule(np.cumsum, "x, axis=None, dtype=None", name="np.cumsum", method="cumsum", kind=ANY,
        jvp="cast_tangent(np.cumsum(x_dot, axis=axis), out)",
        vjp="uncumsum(cast_adjoint(out_bar, out), x, axis)")
defrule(np.cumprod, "x, axis=None, dtype=None", name="np.cumprod", method="cumprod", kind=ANY,
        jvp="cast_tangent(cumprod_jvp(x_dot, x, out, axis), out)",
        vjp="cumprod_vjp(cast_adjoint(out_bar, out), x, out, axis)")
