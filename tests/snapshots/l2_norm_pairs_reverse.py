import numpy as np
from srcad.runtime import grad_like, index_add, items_adjoint, items_of, unbroadcast, unreduce, zeros_like


def l2_norm_grad(params, d_out=1.0):
    """Reverse-mode derivative of l2_norm (container_funcs.py:106): the gradient with respect to params, scaled by d_out."""
    W = None
    W_stack = []
    b = None
    b_stack = []
    v5 = None
    v5_stack = []
    v8 = None
    v8_stack = []
    # s = 0.0  [container_funcs.py:108]
    s = 0.0
    # for W, b in params:  [container_funcs.py:109]
    v0 = items_of(params)
    v2 = range(len(v0))
    for v3 in v2:
        W_stack.append(W)
        b_stack.append(b)
        W, b = v0[v3]
        # s = s + np.sum(W ** 2) + np.sum(b ** 2)  [container_funcs.py:110]
        v5_stack.append(v5)
        v5 = W ** 2
        v8_stack.append(v8)
        v8 = b ** 2
        s = s + np.sum(v5) + np.sum(v8)
    # reverse sweep: adjoints, last statement first
    s_bar = d_out
    v0_bar = zeros_like(v0)
    for v3 in reversed(v2):
        # s = s + np.sum(W ** 2) + np.sum(b ** 2)  [container_funcs.py:110]
        v7_bar = s_bar
        v8_bar = unreduce(s_bar, v8)
        b_bar = unbroadcast(v8_bar * 2 * b, b)
        v8 = v8_stack.pop()
        s_bar = v7_bar
        v5_bar = unreduce(v7_bar, v5)
        W_bar = unbroadcast(v5_bar * 2 * W, W)
        v5 = v5_stack.pop()
        # for W, b in params:  [container_funcs.py:109]
        W = W_stack.pop()
        b = b_stack.pop()
        v0_bar = index_add(v0_bar, v3, (W_bar, b_bar))
    params_bar = items_adjoint(v0_bar, params)
    return grad_like(params_bar, params)
