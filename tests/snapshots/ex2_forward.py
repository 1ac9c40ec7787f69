import numpy as np


def ex2_jvp(x1, x2, x1_dot, x2_dot):
    """Forward-mode derivative of ex2 (snapshot_funcs.py:20): returns (out, out_dot), the value and its tangent along x1_dot, x2_dot."""
    # y = np.log(x1) + x1 * x2 - np.sin(x2)  [snapshot_funcs.py:21]
    v0 = np.log(x1)
    v0_dot = x1_dot / x1
    v1 = x1 * x2
    v1_dot = x1_dot * x2 + x1 * x2_dot
    v2 = v0 + v1
    v2_dot = v0_dot + v1_dot
    v3 = np.sin(x2)
    v3_dot = x2_dot * np.cos(x2)
    y = v2 - v3
    y_dot = v2_dot + -v3_dot
    # return y  [snapshot_funcs.py:22]
    return (y, y_dot)
