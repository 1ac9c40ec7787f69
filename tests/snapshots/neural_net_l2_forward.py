import numpy as np
from srcad.runtime import items_of, items_tangent


def l2_norm_jvp(params, params_dot):
    """Forward-mode derivative of l2_norm (container_funcs.py:106): returns (out, out_dot), the value and its tangent along params_dot."""
    # s = 0.0  [container_funcs.py:108]
    s = 0.0
    s_dot = 0.0
    # for W, b in params:  [container_funcs.py:109]
    v0 = items_of(params)
    v0_dot = items_tangent(params_dot, params)
    v2 = range(len(v0))
    for v3 in v2:
        W, b = v0[v3]
        W_dot, b_dot = v0_dot[v3]
        # s = s + np.sum(W ** 2) + np.sum(b ** 2)  [container_funcs.py:110]
        s = s + np.sum(W ** 2) + np.sum(b ** 2)
        s_dot = s_dot + np.sum(W_dot * (2 * W)) + np.sum(b_dot * (2 * b))
    # return s  [container_funcs.py:111]
    return (s, s_dot)
