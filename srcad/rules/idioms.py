"""The rules of everyday Python's small conversions (ISSUE10 item 6): `np.float64(x)` and
`np.float32(x)` (casts: the result's dtype is the primal's, the derivative cast alike),
integer casts such as `np.int64(x)` (no derivative flows through an integer), and
`.real`, `.imag`, `.conj()` (of a real value `.real` and `.conj()` are the value itself,
`.imag` a constant zero; of a complex intermediate they are np.real, np.imag, np.conj).
"""
import numpy as np

from . import ANY, defrule
from .methods import defmethod

for _t in (np.float64, np.float32, np.float16):
    defrule(_t, "x", name=f"np.{_t.__name__}", kind=ANY,
            jvp="cast_tangent(x_dot, out)", vjp="cast_adjoint(out_bar, out)")

# np.astype (NumPy 2), as x.astype (copy= is refused as unknown: with copy=False the
# result may be x itself)
if hasattr(np, "astype"):
    defrule(np.astype, "x, dtype", name="np.astype", kind=ANY,
            jvp="cast_tangent(x_dot, out)", vjp="cast_adjoint(out_bar, out)")

# integer casts (np.intp and np.int_ are other names of one of these)
for _t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64):
    defrule(_t, "x", name=f"np.{_t.__name__}", kind=ANY, differentiable=False, total=False)

# .real and .imag: in rules/arrays.py, beside np.real and np.imag
for _m in ("conj", "conjugate"):
    # a real array's .conj() is the array itself
    defmethod(_m, "x", kind="first", storage="same", jvp="x_dot.conjugate()", vjp="out_bar.conjugate()")
