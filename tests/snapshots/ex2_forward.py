import numpy as np


def ex2_jvp(x1, x2, x1_dot, x2_dot):
    """Forward-mode derivative of ex2 (snapshot_funcs.py:20): returns (out, out_dot), the value and its tangent along x1_dot, x2_dot."""
    # y = np.log(x1) + x1 * x2 - np.sin(x2)  [snapshot_funcs.py:21]
    y = np.log(x1) + x1 * x2 - np.sin(x2)
    y_dot = x1_dot / x1 + (x1_dot * x2 + x1 * x2_dot) - x2_dot * np.cos(x2)
    # return y  [snapshot_funcs.py:22]
    return (y, y_dot)
