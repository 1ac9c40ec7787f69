"""The handbook of np.fft: fft, ifft, rfft, irfft and their n-d forms (fftn, ifftn, rfftn,
irfftn, fft2, ifft2, rfft2, irfft2), fftshift and ifftshift, with n/s, axis/axes and norm ('backward', 'ortho', 'forward').

Each transform is linear: its tangent is the transform of the tangent (`fft_apply`), its
adjoint the transpose (`fft_vjp`, see there), cut or padded back to the input's shape.
Complex values flow between rules: a complex value's adjoint g pairs with its tangent t
as Re(sum(g * t)), autograd's convention, so the holomorphic rules (+, *, exp, ...) need no
conjugates, and a real input's adjoint is the real part (an fft of a real array gets a real
gradient). irfft reads only the real part of its input's first (and, for even n, last)
entry, and its derivative does likewise. np.abs of a complex value has derivative
conj(x)/|x| (0 at 0); its second derivative is refused. What makes a complex value real
again is irfft, np.abs, or np.real / np.imag / np.conj / np.angle where srcad has their rules.

Memory: a complex array has twice the bytes of a real one of its shape, so the tangent and
adjoint of an fft of real x hold a complex temporary 2x x's bytes (the benchmark's np_fftn:
its JVP statement 1.19x its inputs and output, 2026-12-02); the primal holds the same.
"""
import numpy as np

from .. import runtime
from . import ANY, defrule, deflinear

for _f in ("fft", "ifft", "rfft", "irfft"):
    defrule(getattr(np.fft, _f), "a, n=None, axis=-1, norm=None", name=f"np.fft.{_f}", kind=ANY,
            jvp=f"fft_apply(a_dot, {_f!r}, n, axis, norm)",
            vjp=f"fft_vjp(out_bar, a, {_f!r}, n, axis, norm)")
for _f in ("fftn", "ifftn", "rfftn", "irfftn"):
    defrule(getattr(np.fft, _f), "a, s=None, axes=None, norm=None", name=f"np.fft.{_f}",
            kind=ANY, jvp=f"fft_apply(a_dot, {_f!r}, s, axes, norm)",
            vjp=f"fft_vjp(out_bar, a, {_f!r}, s, axes, norm)")
# (their default axes are (-2, -1), which a parameter list cannot spell: 'last2')
# rfft2 and irfft2 are rfftn and irfftn over the last two axes by default
for _f, _n in (("rfft2", "rfftn"), ("irfft2", "irfftn")):
    defrule(getattr(np.fft, _f), "a, s=None, axes='last2', norm=None", name=f"np.fft.{_f}",
            kind=ANY, jvp=f"fft_apply(a_dot, {_n!r}, s, axes, norm)",
            vjp=f"fft_vjp(out_bar, a, {_n!r}, s, axes, norm)")
# fftshift and ifftshift roll each axis by half its length: each the other's transpose
for _f, _t in (("fftshift", "ifftshift"), ("ifftshift", "fftshift")):
    defrule(getattr(np.fft, _f), "x, axes=None", name=f"np.fft.{_f}", kind=ANY,
            jvp=f"np.fft.{_f}(x_dot, axes)", vjp=f"np.fft.{_t}(out_bar, axes)")
for _f in ("fft2", "ifft2"):
    defrule(getattr(np.fft, _f), "a, s=None, axes='last2', norm=None", name=f"np.fft.{_f}",
            kind=ANY, jvp=f"fft_apply(a_dot, {_f!r}, s, axes, norm)",
            vjp=f"fft_vjp(out_bar, a, {_f!r}, s, axes, norm)")

# the helpers, linear in their first argument and each other's transposes
deflinear(runtime.fft_apply, "a, func, n=None, axes=None, norm=None",
          vjp="fft_vjp(out_bar, a, func, n, axes, norm)", zero_in="func, n, axes, norm")
deflinear(runtime.fft_vjp, "g, x, func, n=None, axes=None, norm=None",
          vjp="real_like(fft_apply(out_bar, func, n, axes, norm), g)",
          zero_in="x, func, n, axes, norm")
deflinear(runtime.real_like, "t, like", vjp="out_bar", zero_in="like")
# |x|, real or complex (core's np.abs and abs): its tangent and adjoint, each the other's
# transpose in t (g); their derivatives in x through J = abs_slope_jvp, zero for real x
defrule(runtime.abs_jvp, "t, x", name="abs_jvp", kind=ANY,
        jvp={"t": "abs_jvp(t_dot, x)", "x": "real_like(t * abs_slope_jvp(x, x_dot), out)"},
        vjp={"t": "abs_vjp(out_bar, x)", "x": "real_part(out_bar) * abs_slope_jvp(x, t)"})
defrule(runtime.abs_vjp, "g, x", name="abs_vjp", kind=ANY,
        jvp={"g": "abs_vjp(g_dot, x)", "x": "real_part(g) * abs_slope_jvp(x, x_dot)"},
        vjp={"g": "abs_jvp(out_bar, x)", "x": "real_part(g) * abs_slope_jvp(x, out_bar)"})
defrule(runtime.abs_slope_jvp, "x, t", name="abs_slope_jvp", kind=ANY,
        jvp={"x": "abs_slope_d2(x, x_dot)", "t": "abs_slope_jvp(x, t_dot)"},
        vjp={"x": "abs_slope_d2(x, out_bar)", "t": "abs_slope_jvp(x, out_bar)"})
defrule(runtime.abs_slope_d2, "x, t", name="abs_slope_d2", kind=ANY, differentiable=False,
        total=False)
deflinear(runtime.real_part, "t", vjp="real_part(out_bar)")
