"""The handbook of array constructors and conversions.

Arrays built from shapes alone (zeros, ones, empty, eye, identity, np.arange(n), *_like) are
constants: no derivative flows through them; np.arange(start, stop, step) of floats is
start + i step (slopes 1 and i; none in stop, which only sets the length). Constructors that take values (full's
fill_value, linspace's start and stop) and conversions (np.array, np.asarray, np.copy)
pass derivatives through those values, so `np.array([x, y])` of active scalars is
differentiated as the stack it is, and an array built from constants stays a constant
because its inputs are.

Conventions: a conversion to an integer or boolean dtype carries no derivative (zero);
linspace with retstep=True is not differentiated.
"""
import numpy as np

from . import ANY, defrule

# ------------------------------------------------------------ constants: no derivative
for _f in (np.zeros, np.ones, np.empty):
    defrule(_f, "shape, dtype=None, order='C'", name=f"np.{_f.__name__}", kind=ANY,
            differentiable=False, ndim_of="shape")
for _f in (np.zeros_like, np.ones_like, np.empty_like):
    defrule(_f, "x, dtype=None, order='K', subok=True, shape=None", name=f"np.{_f.__name__}",
            kind=ANY, differentiable=False)
defrule(np.eye, "N, M=None, k=0, dtype=None", name="np.eye", kind=ANY, differentiable=False)
defrule(np.identity, "n, dtype=None", name="np.identity", kind=ANY, differentiable=False)
# np.arange(start, stop, step) = start + step * [0, 1, ...]: slope 1 in start and i in step,
# none in stop (its length is piecewise constant); np.arange(n) alone is a constant
defrule(np.arange, "start, stop=None, step=None, dtype=None", name="np.arange", kind=ANY,
        jvp={"start": "arange_tangent(start_dot, 0.0, out, stop)",
             "step": "arange_tangent(0.0, step_dot, out, stop)"},
        vjp={"start": "arange_vjp_start(out_bar, start, out, stop)",
             "step": "arange_vjp_step(out_bar, step, out, stop)"}, zero_in="stop, dtype")

# ------------------------------------------------------------ constructors from values
defrule(np.full, "shape, fill_value, dtype=None, order='C'", name="np.full", kind=ANY,
        ndim_of="shape",
        jvp={"fill_value": "cast_tangent(np.broadcast_to(fill_value_dot, np.shape(out)), out)"},
        vjp={"fill_value": "cast_adjoint(unbroadcast(out_bar, fill_value), out)"})
defrule(np.full_like, "x, fill_value, dtype=None, order='K', subok=True, shape=None",
        name="np.full_like", kind=ANY, zero_in="x",
        jvp={"fill_value": "cast_tangent(np.broadcast_to(fill_value_dot, np.shape(out)), out)"},
        vjp={"fill_value": "cast_adjoint(unbroadcast(out_bar, fill_value), out)"})
# out = start + t (stop - start), t running from 0 to 1 along `axis` (cast like `out`: an
# integer dtype carries no derivative)
defrule(np.linspace, "start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0",
        name="np.linspace", kind=ANY,
        jvp={"start": "cast_tangent(bcast(np.expand_dims(start_dot, axis) * (1.0 - "
                      "linspace_weight(out, num, endpoint, axis)), out), out)",
             "stop": "cast_tangent(bcast(np.expand_dims(stop_dot, axis) * linspace_weight(out, "
                     "num, endpoint, axis), out), out)"},
        vjp={"start": "unbroadcast(np.sum(cast_adjoint(out_bar, out) * (1.0 - linspace_weight("
                      "out, num, endpoint, axis)), axis=axis), start)",
             "stop": "unbroadcast(np.sum(cast_adjoint(out_bar, out) * linspace_weight(out, num, "
                     "endpoint, axis), axis=axis), stop)"})

# ------------------------------------------------------------ conversions: the identity on values
defrule(np.array, "x, dtype=None, *, copy=True, order='K', subok=False, ndmin=0", name="np.array",
        kind=ANY, storage="same", copy_flag="copy", reads_items=True, stacks="x, ndmin",
        jvp="cast_tangent(np.array(x_dot, ndmin=ndmin), out)",
        jvp_batched="bcast_tangent(breshape(basarray(x_dot, x, BATCH), out, 'C', BATCH), out, "
                    "BATCH)",
        vjp="cast_adjoint(unreshape(out_bar, x), out)")
defrule(np.asarray, "x, dtype=None, order=None", name="np.asarray", kind=ANY, storage="same",
        reads_items=True, stacks="x",
        jvp="cast_tangent(np.asarray(x_dot), out)",
        jvp_batched="bcast_tangent(breshape(basarray(x_dot, x, BATCH), out, 'C', BATCH), out, "
                    "BATCH)",
        vjp="cast_adjoint(unreshape(out_bar, x), out)")
# (the same array where it already has the layout asked for, or a copy)
for _f in (np.ascontiguousarray, np.asfortranarray, np.asanyarray):
    defrule(_f, "x, dtype=None", name=f"np.{_f.__name__}", kind=ANY, storage="same",
            reads_items=True, jvp="cast_tangent(np.asarray(x_dot), out)",
            jvp_batched="bcast_tangent(breshape(basarray(x_dot, x, BATCH), out, 'C', BATCH), "
                        "out, BATCH)",
            vjp="cast_adjoint(unreshape(out_bar, x), out)")
defrule(np.copy, "x", name="np.copy", kind=ANY, jvp="np.copy(x_dot)", vjp="out_bar",
        jvp_batched="np.copy(basarray(x_dot, x, BATCH))")
