import numpy as np
from srcad.runtime import grad_like, unbroadcast, zeros_like


def scalar_loop_grad(x, n, d_out=1.0):
    """Reverse-mode derivative of scalar_loop (snapshot_funcs.py:13): the gradient with respect to x, scaled by d_out."""
    s_stack = []
    v1 = None
    v1_stack = []
    v2 = None
    # s = 0.0  [snapshot_funcs.py:14]
    s = 0.0
    # for i in range(n):  [snapshot_funcs.py:15]
    v0 = range(n)
    for i in v0:
        # s = s * x + np.sin(x)  [snapshot_funcs.py:16]
        v1_stack.append(np.shape(v1))
        v1 = s * x
        v2 = np.sin(x)
        s_stack.append(s)
        s = v1 + v2
    # reverse sweep: adjoints, last statement first
    s_bar = d_out
    x_bar = zeros_like(x)
    for i in reversed(v0):
        v1_bar = unbroadcast(s_bar, v1)
        v2_bar = unbroadcast(s_bar, v2)
        s = s_stack.pop()
        x_bar += v2_bar * np.cos(x)
        s_bar = unbroadcast(v1_bar * x, s)
        x_bar += unbroadcast(s * v1_bar, x)
        v1 = v1_stack.pop()
    return grad_like(x_bar, x)
