"""The handbook of shape functions: each moves entries without changing them, so its
tangent is the same function of the tangent and its adjoint moves `out_bar` back.

np.transpose and `.T` live in `core`. Functions that join arrays (concatenate, stack,
hstack, vstack) take a list or tuple `xs`: their tangent gets the list of tangents and
their adjoint is the list of per-array adjoints. np.split returns a list: its adjoint
joins the pieces' adjoints. Adjoints that undo copying (broadcast_to, tile, repeat) sum
the copies. Each rule is also the ndarray method of the same name where NumPy has one
with the same arguments.

Convention: ravel/reshape orders 'C' and 'F' are supported ('A' and 'K' follow the
memory layout, which tangents do not share).
"""
import numpy as np

from . import ANY, defrule

# ------------------------------------------------------------ same entries, new shape
defrule(np.reshape, "x, shape=None, order='C', copy=None", name="np.reshape", kind=ANY,
        jvp="np.reshape(x_dot, np.shape(out), order=order)",
        vjp="np.reshape(out_bar, np.shape(x), order=order)")
defrule(np.ravel, "x, order='C'", name="np.ravel", method="ravel", kind=ANY,
        jvp="np.ravel(x_dot, order)",
        vjp="np.reshape(out_bar, np.shape(x), order=order)")
defrule(np.expand_dims, "x, axis", name="np.expand_dims", kind=ANY,
        jvp="np.expand_dims(x_dot, axis)",
        vjp="np.reshape(out_bar, np.shape(x))")
defrule(np.squeeze, "x, axis=None", name="np.squeeze", method="squeeze", kind=ANY,
        jvp="np.squeeze(x_dot, axis)",
        vjp="np.reshape(out_bar, np.shape(x))")

# ------------------------------------------------------------ permutations of axes and entries
defrule(np.swapaxes, "x, axis1, axis2", name="np.swapaxes", method="swapaxes", kind=ANY,
        jvp="np.swapaxes(x_dot, axis1, axis2)",
        vjp="np.swapaxes(out_bar, axis1, axis2)")
defrule(np.moveaxis, "x, source, destination", name="np.moveaxis", kind=ANY,
        jvp="np.moveaxis(x_dot, source, destination)",
        vjp="np.moveaxis(out_bar, destination, source)")
defrule(np.flip, "x, axis=None", name="np.flip", kind=ANY,
        jvp="np.flip(x_dot, axis)",
        vjp="np.flip(out_bar, axis)")
for _f in (np.fliplr, np.flipud):
    defrule(_f, "x", name=f"np.{_f.__name__}", kind=ANY,
            jvp=f"np.{_f.__name__}(x_dot)", vjp=f"np.{_f.__name__}(out_bar)")
defrule(np.roll, "x, shift, axis=None", name="np.roll", kind=ANY,
        jvp="np.roll(x_dot, shift, axis)",
        vjp="np.roll(out_bar, np.negative(shift), axis)")

# ------------------------------------------------------------ copies: adjoints sum the copies
defrule(np.broadcast_to, "x, shape", name="np.broadcast_to", kind=ANY,
        jvp="np.broadcast_to(x_dot, shape)",
        vjp="unbroadcast(out_bar, x)")
defrule(np.tile, "x, reps", name="np.tile", kind=ANY,
        jvp="np.tile(x_dot, reps)",
        vjp="untile(out_bar, x, reps)")
defrule(np.repeat, "x, repeats, axis=None", name="np.repeat", method="repeat", kind=ANY,
        jvp="np.repeat(x_dot, repeats, axis)",
        vjp="unrepeat(out_bar, x, repeats, axis)")

# ------------------------------------------------------------ joining and splitting
defrule(np.concatenate, "xs, axis=0", name="np.concatenate", kind=ANY,
        jvp="np.concatenate(xs_dot, axis)",
        vjp="unconcatenate(out_bar, xs, axis)")
defrule(np.stack, "xs, axis=0", name="np.stack", kind=ANY,
        jvp="np.stack(xs_dot, axis)",
        vjp="unstack(out_bar, axis)")
defrule(np.hstack, "xs", name="np.hstack", kind=ANY,
        jvp="np.hstack(xs_dot)",
        vjp="unhstack(out_bar, xs)")
defrule(np.vstack, "xs", name="np.vstack", kind=ANY,
        jvp="np.vstack(xs_dot)",
        vjp="unvstack(out_bar, xs)")
defrule(np.split, "x, indices_or_sections, axis=0", name="np.split", kind=ANY,
        jvp="np.split(x_dot, indices_or_sections, axis)",
        vjp="unsplit(out_bar, x, indices_or_sections, axis)")
