"""The handbook of scipy.signal: convolve(in1, in2, mode) for N-d real arrays, modes
'full', 'same' and 'valid' (method= changes only how it is computed). Bilinear: a
tangent convolves one input's tangent with the other input; an adjoint embeds out_bar in
the full convolution's shape and correlates it with the other input (`conv_vjp1`,
`conv_vjp2`, each with rules here, so derivatives of any order exist). Loaded with the
other SciPy tables, on the first SciPy call srcad meets.
"""
import scipy.signal as ss

from . import ANY, LAZY_NAMES, defrule
from .. import runtime_scipy

LAZY_NAMES["scipy"] = (LAZY_NAMES["scipy"][0], LAZY_NAMES["scipy"][1] + "\nimport scipy.signal")

defrule(ss.convolve, "in1, in2, mode='full', method='auto'", name="scipy.signal.convolve",
        kind=ANY,
        jvp={"in1": "scipy.signal.convolve(in1_dot, in2, mode, method)",
             "in2": "scipy.signal.convolve(in1, in2_dot, mode, method)"},
        vjp={"in1": "conv_vjp1(out_bar, in1, in2, mode)",
             "in2": "conv_vjp2(out_bar, in1, in2, mode)"})
defrule(runtime_scipy.conv_vjp1, "g, x, y, mode='full'", name="conv_vjp1", kind=ANY,
        shape_args="x",
        jvp={"g": "conv_vjp1(g_dot, x, y, mode)", "y": "conv_vjp1(g, x, y_dot, mode)"},
        vjp={"g": "scipy.signal.convolve(out_bar, y, mode)",
             "y": "conv_vjp2(g, out_bar, y, mode)"}, zero_in="mode")
defrule(runtime_scipy.conv_vjp2, "g, x, y, mode='full'", name="conv_vjp2", kind=ANY,
        shape_args="y",
        jvp={"g": "conv_vjp2(g_dot, x, y, mode)", "x": "conv_vjp2(g, x_dot, y, mode)"},
        vjp={"g": "scipy.signal.convolve(x, out_bar, mode)",
             "x": "conv_vjp1(g, x, out_bar, mode)"}, zero_in="mode")
