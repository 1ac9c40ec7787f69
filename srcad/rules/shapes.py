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

from . import ANY, deflinear, defrule

# ------------------------------------------------------------ same entries, new shape
defrule(np.reshape, "x, shape=None, order='C', *, copy=None", name="np.reshape", kind=ANY,
        storage="view",
        jvp="np.reshape(x_dot, np.shape(out), order=order)",
        jvp_batched="breshape(x_dot, out, order, BATCH, x)",
        vjp="unreshape(out_bar, x, order)")
deflinear(np.ravel, "x, order='C'", name="np.ravel", method="ravel", storage="view",
          jvp_batched="breshape(x_dot, out, order, BATCH, x)",
          vjp="unreshape(out_bar, x, order)")
deflinear(np.expand_dims, "x, axis", name="np.expand_dims", storage="view",
          jvp_batched="breshape(x_dot, out, 'C', BATCH)",
          vjp="unreshape(out_bar, x)")
deflinear(np.squeeze, "x, axis=None", name="np.squeeze", method="squeeze", storage="view",
          jvp_batched="breshape(x_dot, out, 'C', BATCH)",
          vjp="unreshape(out_bar, x)")

# ------------------------------------------------------------ permutations of axes and entries
deflinear(np.swapaxes, "x, axis1, axis2", name="np.swapaxes", method="swapaxes", storage="view",
          vjp="np.swapaxes(out_bar, axis1, axis2)")
deflinear(np.moveaxis, "x, source, destination", name="np.moveaxis", storage="view",
          zero_in="source, destination",
          vjp="np.moveaxis(out_bar, destination, source)")
deflinear(np.flip, "x, axis=None", name="np.flip", storage="view",
          vjp="np.flip(out_bar, axis)", keeps_shape=0)
for _f, _rank in ((np.fliplr, 2), (np.flipud, 1)):
    deflinear(_f, "x", name=f"np.{_f.__name__}", vjp=f"np.{_f.__name__}(out_bar)",
              storage="view", keeps_shape=_rank)
deflinear(np.roll, "x, shift, axis=None", name="np.roll",
          vjp="np.roll(out_bar, np.negative(shift), axis)", keeps_shape=0)

# ------------------------------------------------------------ copies: adjoints sum the copies
deflinear(np.broadcast_to, "x, shape", name="np.broadcast_to", storage="view",
          jvp_batched="bbroadcast_to(x_dot, out, BATCH)",
          vjp="unbroadcast(out_bar, x)")
deflinear(np.tile, "x, reps", name="np.tile",
          vjp="untile(out_bar, x, reps)")
deflinear(np.repeat, "x, repeats, axis=None", name="np.repeat", method="repeat",
          vjp="unrepeat(out_bar, x, repeats, axis)")

# ------------------------------------------------------------ joining and splitting
deflinear(np.concatenate, "xs, axis=0", name="np.concatenate", reads_items=True,
          jvp_batched="bjoin_axis(xs_dot, xs, axis, BATCH, 'concatenate')",
          vjp="unconcatenate(out_bar, xs, axis)")
deflinear(np.stack, "xs, axis=0", name="np.stack", reads_items=True, stacks="xs",
          jvp_batched="bjoin_axis(xs_dot, xs, axis, BATCH, 'stack')",
          vjp="unstack(out_bar, axis)")
deflinear(np.hstack, "xs", name="np.hstack", reads_items=True,
          vjp="unhstack(out_bar, xs)")
deflinear(np.vstack, "xs", name="np.vstack", reads_items=True,
          vjp="unvstack(out_bar, xs)")
deflinear(np.split, "x, indices_or_sections, axis=0", name="np.split", holds="x",
          returns_seq=True,
          vjp="unsplit(out_bar, x, indices_or_sections, axis)")
