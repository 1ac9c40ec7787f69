"""Rules for the runtime helpers the other tables' derivatives call (`uncumsum`, `untile`,
`inner_vjp_x`, ...), so srcad differentiates its own output: `grad(grad(f))`, `hessian`.

Most are linear in their first argument (an adjoint or a tangent) and use the others
only for shapes; the products' adjoints are bilinear. Weights that are piecewise constant
(clip's slope, fmax's share, linspace's fractions) have zero derivative. Helpers without a
rule here (prod_others, cumprod_jvp/vjp, norm_weight, solve_*, einsum_*_pair) are
differentiated by reading their source where srcad can, or fail at build time naming them.
"""
from .. import runtime
from . import ANY, NONE, defrule

# ------------------------------------------------------------ constants
for _f in (runtime.fmax_weight, runtime.clip_weight):
    defrule(_f, "x, y=None, z=None", name=_f.__name__, kind=ANY, differentiable=False)
defrule(runtime.linspace_weight, "like, num=50, endpoint=True, axis=0", name="linspace_weight",
        kind=ANY, differentiable=False)
defrule(runtime.star_args, "a=None, b=None, c=None, d=None, e=None, f=None", name="star_args",
        kind=NONE, differentiable=False)

# ------------------------------------------------------------ d/dx log x = 1 / x
defrule(runtime.pow_log, "x", name="pow_log", jvp="x_dot / x", vjp="out_bar / x")

# ------------------------------------------------------------ linear in the first argument
defrule(runtime.uncumsum, "g, x, axis=None", name="uncumsum", kind=ANY,
        jvp="uncumsum(g_dot, x, axis)", vjp="np.cumsum(out_bar, axis=axis)")
defrule(runtime.undiagonal, "g, x, offset=0, axis1=0, axis2=1", name="undiagonal", kind=ANY,
        jvp="undiagonal(g_dot, x, offset, axis1, axis2)",
        vjp="unbroadcast(np.diagonal(out_bar, offset, axis1, axis2), g)")
defrule(runtime.undiag, "g, v, k=0", name="undiag", kind=ANY,
        jvp="undiag(g_dot, v, k)", vjp="np.diag(out_bar, k)")
defrule(runtime.untile, "g, x, reps", name="untile", kind=ANY,
        jvp="untile(g_dot, x, reps)", vjp="np.tile(out_bar, reps)")
defrule(runtime.unrepeat, "g, x, repeats, axis=None", name="unrepeat", kind=ANY,
        jvp="unrepeat(g_dot, x, repeats, axis)", vjp="np.repeat(out_bar, repeats, axis)")
defrule(runtime.cast_tangent, "t, like", name="cast_tangent", kind=ANY,
        jvp="cast_tangent(t_dot, like)", vjp="cast_adjoint(out_bar, like)")
defrule(runtime.cast_adjoint, "g, like", name="cast_adjoint", kind=ANY,
        jvp="cast_adjoint(g_dot, like)", vjp="cast_adjoint(out_bar, like)")
# pieces out, pieces back: a list of adjoints joins into one
defrule(runtime.unconcatenate, "g, xs, axis=0", name="unconcatenate", kind=ANY,
        jvp="unconcatenate(g_dot, xs, axis)", vjp="rejoin(out_bar, g, axis)")
defrule(runtime.unstack, "g, axis=0", name="unstack", kind=ANY,
        jvp="unstack(g_dot, axis)", vjp="np.stack(out_bar, axis)")
defrule(runtime.unhstack, "g, xs", name="unhstack", kind=ANY,
        jvp="unhstack(g_dot, xs)", vjp="np.hstack(out_bar)")
defrule(runtime.unvstack, "g, xs", name="unvstack", kind=ANY,
        jvp="unvstack(g_dot, xs)", vjp="np.vstack(out_bar)")
defrule(runtime.unsplit, "gs, x, indices_or_sections, axis=0", name="unsplit", kind=ANY,
        jvp="unsplit(gs_dot, x, indices_or_sections, axis)",
        vjp="np.split(out_bar, indices_or_sections, axis)")
defrule(runtime.rejoin, "bars, like, axis=0", name="rejoin", kind=ANY,
        jvp="rejoin(bars_dot, like, axis)", vjp="unconcatenate(out_bar, bars, axis)")

# ------------------------------------------------------------ bilinear: the products' adjoints
# inner_vjp_x(g, x, y) contracts g with y (x gives only its shape); likewise the others
defrule(runtime.inner_vjp_x, "g, x, y", name="inner_vjp_x", kind=ANY,
        jvp={"g": "inner_vjp_x(g_dot, x, y)", "y": "inner_vjp_x(g, x, y_dot)"},
        vjp={"g": "np.inner(out_bar, y)", "y": "inner_vjp_y(g, out_bar, y)"})
defrule(runtime.inner_vjp_y, "g, x, y", name="inner_vjp_y", kind=ANY,
        jvp={"g": "inner_vjp_y(g_dot, x, y)", "x": "inner_vjp_y(g, x_dot, y)"},
        vjp={"g": "np.inner(x, out_bar)", "x": "inner_vjp_x(g, x, out_bar)"})
defrule(runtime.tensordot_vjp_x, "g, x, y, axes=2", name="tensordot_vjp_x", kind=ANY,
        jvp={"g": "tensordot_vjp_x(g_dot, x, y, axes)", "y": "tensordot_vjp_x(g, x, y_dot, axes)"},
        vjp={"g": "np.tensordot(out_bar, y, axes)", "y": "tensordot_vjp_y(g, out_bar, y, axes)"})
defrule(runtime.tensordot_vjp_y, "g, x, y, axes=2", name="tensordot_vjp_y", kind=ANY,
        jvp={"g": "tensordot_vjp_y(g_dot, x, y, axes)", "x": "tensordot_vjp_y(g, x_dot, y, axes)"},
        vjp={"g": "np.tensordot(x, out_bar, axes)", "x": "tensordot_vjp_x(g, x, out_bar, axes)"})

# ------------------------------------------------------------ einsum: multilinear in all operands
# einsum_jvp(s, k, t, a, b, c, d) is the einsum with operand k replaced by t; einsum_vjp(s, k,
# g, a, b, c, d) contracts g with the operands other than k. The *_pair helpers replace one
# more operand j (and are zero when j is k, whose value the helper reads only for its shape).
defrule(runtime.einsum_jvp, "subscripts, k, t, a=None, b=None, c=None, d=None",
        name="einsum_jvp", kind=ANY,
        jvp={"t": "einsum_jvp(subscripts, k, t_dot, a, b, c, d)",
             "a": "einsum_jvp_pair(subscripts, k, t, 0, a_dot, a, b, c, d)",
             "b": "einsum_jvp_pair(subscripts, k, t, 1, b_dot, a, b, c, d)",
             "c": "einsum_jvp_pair(subscripts, k, t, 2, c_dot, a, b, c, d)",
             "d": "einsum_jvp_pair(subscripts, k, t, 3, d_dot, a, b, c, d)"},
        vjp={"t": "einsum_vjp(subscripts, k, out_bar, a, b, c, d)",
             "a": "einsum_vjp_pair(subscripts, 0, out_bar, k, t, a, b, c, d)",
             "b": "einsum_vjp_pair(subscripts, 1, out_bar, k, t, a, b, c, d)",
             "c": "einsum_vjp_pair(subscripts, 2, out_bar, k, t, a, b, c, d)",
             "d": "einsum_vjp_pair(subscripts, 3, out_bar, k, t, a, b, c, d)"})
defrule(runtime.einsum_vjp, "subscripts, k, g, a=None, b=None, c=None, d=None",
        name="einsum_vjp", kind=ANY,
        jvp={"g": "einsum_vjp(subscripts, k, g_dot, a, b, c, d)",
             "a": "einsum_vjp_pair(subscripts, k, g, 0, a_dot, a, b, c, d)",
             "b": "einsum_vjp_pair(subscripts, k, g, 1, b_dot, a, b, c, d)",
             "c": "einsum_vjp_pair(subscripts, k, g, 2, c_dot, a, b, c, d)",
             "d": "einsum_vjp_pair(subscripts, k, g, 3, d_dot, a, b, c, d)"},
        vjp={"g": "einsum_jvp(subscripts, k, out_bar, a, b, c, d)",
             "a": "einsum_vjp_pair(subscripts, 0, g, k, out_bar, a, b, c, d)",
             "b": "einsum_vjp_pair(subscripts, 1, g, k, out_bar, a, b, c, d)",
             "c": "einsum_vjp_pair(subscripts, 2, g, k, out_bar, a, b, c, d)",
             "d": "einsum_vjp_pair(subscripts, 3, g, k, out_bar, a, b, c, d)"})

# ------------------------------------------------------------ the nonlinear weights
# prod_others(x) is P_i = prod_{k != i} x_k: dP_i = sum_{j != i} dx_j prod_{k != i, j} x_k,
# a symmetric map, its own adjoint
defrule(runtime.prod_others, "x, axis=None", name="prod_others", kind=ANY,
        jvp="prod_others_jvp(x, x_dot, axis)", vjp="prod_others_jvp(x, out_bar, axis)")
# norm_weight(x, n) = sign(x) (|x| / n)^(p-1): entry i reads x[i] and the norm n
defrule(runtime.norm_weight, "x, n, ord=None, axis=None, keepdims=False", name="norm_weight",
        kind=ANY,
        jvp={"x": "x_dot * norm_weight_dx(x, n, ord, axis, keepdims)",
             "n": "unreduce(n_dot, x, axis, keepdims) * norm_weight_dn(x, n, ord, axis, keepdims)"},
        vjp={"x": "out_bar * norm_weight_dx(x, n, ord, axis, keepdims)",
             "n": "np.sum(out_bar * norm_weight_dn(x, n, ord, axis, keepdims), axis=axis, "
                  "keepdims=keepdims)"})
# cumprod_vjp(g, x, p) = L(x, p)^T g, L the linear map cumprod_jvp(., x, p): linear in g,
# its recurrence differentiated for x and p
defrule(runtime.cumprod_vjp, "g, x, p, axis=None", name="cumprod_vjp", kind=ANY,
        jvp={"g": "cumprod_vjp(g_dot, x, p, axis)",
             "x": "cumprod_vjp_jvp(g, x, p, axis, x_dot, 0.0)",
             "p": "cumprod_vjp_jvp(g, x, p, axis, 0.0, p_dot)"},
        vjp={"g": "cumprod_jvp(out_bar, x, p, axis)",
             "x": "cumprod_vjp_vjp(out_bar, g, x, p, axis)[0]",
             "p": "cumprod_vjp_vjp(out_bar, g, x, p, axis)[1]"})
