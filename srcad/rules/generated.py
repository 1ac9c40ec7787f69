"""Rules for the runtime helpers that generated derivative code calls.

With these, srcad differentiates its own output: `grad(grad(f))`, `hessian`
(forward over reverse). Most helpers are linear in their first argument.
"""
import builtins

from .. import runtime
from . import ANY, defrule

defrule(runtime.unbroadcast, "g, like", name="unbroadcast", kind=ANY,
        jvp="unbroadcast(g_dot, like)", vjp="bcast(out_bar, g)")
defrule(runtime.bcast, "t, like", name="bcast", kind=ANY,
        jvp="bcast(t_dot, like)", vjp="unbroadcast(out_bar, t)")
defrule(runtime.unreduce, "g, like, axis=None, keepdims=False", name="unreduce", kind=ANY,
        jvp="unreduce(g_dot, like, axis, keepdims)",
        vjp="np.sum(out_bar, axis=axis, keepdims=keepdims)")
defrule(runtime.grad_like, "g, x", name="grad_like", kind="first",
        jvp="grad_like(g_dot, x)", vjp="unbroadcast(out_bar, g)")
defrule(runtime.unindex, "g, x, idx", name="unindex", kind=ANY,
        jvp="unindex(g_dot, x, idx)", vjp="out_bar[idx]")
# `index_add(acc, idx, g)` is lowered as the value update `acc = index_add(acc, idx, g)`
defrule(runtime.index_add, "acc, idx, g", name="index_add", kind=ANY,
        jvp={"acc": "bcast(acc_dot, out)", "g": "unindex(g_dot, acc, idx)"},
        vjp={"acc": "out_bar", "g": "out_bar[idx]"})
defrule(runtime.untranspose, "g, axes=None", name="untranspose", kind=ANY,
        jvp="untranspose(g_dot, axes)", vjp="np.transpose(out_bar, axes)")
defrule(runtime.dot, "x, y", name="dot", kind=ANY,
        jvp={"x": "dot(x_dot, y)", "y": "dot(x, y_dot)"},
        vjp={"x": "matmul_vjp_x(out_bar, x, y)", "y": "matmul_vjp_y(out_bar, x, y)"})
# matmul_vjp_x(g, x, y) = g @ y.T is bilinear in (g, y); x gives only its shape
defrule(runtime.matmul_vjp_x, "g, x, y", name="matmul_vjp_x", kind=ANY,
        jvp={"g": "matmul_vjp_x(g_dot, x, y)", "y": "matmul_vjp_x(g, x, y_dot)"},
        vjp={"g": "unbroadcast(np.matmul(out_bar, y), g)", "y": "matmul_vjp_y(g, out_bar, y)"})
# matmul_vjp_y(g, x, y) = x.T @ g is bilinear in (x, g); y gives only its shape
defrule(runtime.matmul_vjp_y, "g, x, y", name="matmul_vjp_y", kind=ANY,
        jvp={"g": "matmul_vjp_y(g_dot, x, y)", "x": "matmul_vjp_y(g, x_dot, y)"},
        vjp={"g": "unbroadcast(np.matmul(x, out_bar), g)", "x": "matmul_vjp_x(g, x, out_bar)"})
for _f in (runtime.zeros_like, runtime.tie_weight, runtime.max_weight):
    defrule(_f, "x, y=None, axis=None, keepdims=False", name=_f.__name__, kind=ANY,
            differentiable=False)
defrule(builtins.reversed, "x", name="reversed", kind="none", differentiable=False)
defrule(builtins.slice, "start, stop=None, step=None", name="slice", kind="none",
        differentiable=False)
defrule(runtime.add_items, "a, b", name="add_items", kind=ANY,
        jvp={"a": "a_dot", "b": "b_dot"}, vjp={"a": "out_bar", "b": "out_bar"})
defrule(runtime.repeat_items, "g, xs", name="repeat_items", kind="list",
        jvp="repeat_items(g_dot, xs)", vjp="sum(out_bar)")
