import numpy as np
from srcad.runtime import grad_like, index_add, unbroadcast, unpacked_rows, zeros_like


def state_rows_grad(xs, h, d_out=1.0):
    """Reverse-mode derivative of state_rows (snapshot_funcs.py:32): the gradient with respect to xs, h, scaled by d_out."""
    v = None
    v_stack = []
    v2 = None
    v2_stack = []
    v3 = None
    v3_stack = []
    v4 = None
    v4_stack = []
    v5 = None
    v5_stack = []
    x = None
    x_stack = []
    # s = 0.0  [snapshot_funcs.py:34]
    s = 0.0
    # for t in range(len(xs)):  [snapshot_funcs.py:35]
    v1 = range(len(xs))
    for t in v1:
        # x, v = xs[t]  [snapshot_funcs.py:36]
        v2_stack.append(v2)
        v2 = xs[t]
        x_stack.append(x)
        v_stack.append(v)
        x, v = v2
        # s = s + np.sin(x * v * h)  [snapshot_funcs.py:37]
        v3_stack.append(v3)
        v3 = x * v
        v4_stack.append(v4)
        v4 = v3 * h
        v5_stack.append(np.shape(v5))
        v5 = np.sin(v4)
        s = s + v5
    # reverse sweep: adjoints, last statement first
    s_bar = d_out
    h_bar = 0.0
    xs_bar = zeros_like(xs)
    for t in reversed(v1):
        # s = s + np.sin(x * v * h)  [snapshot_funcs.py:37]
        v6_bar = s_bar
        s_bar = unbroadcast(v6_bar, s)
        v5_bar = unbroadcast(v6_bar, v5)
        v4_bar = v5_bar * np.cos(v4)
        v5 = v5_stack.pop()
        v3_bar = unbroadcast(v4_bar * h, v3)
        h_bar = h_bar + unbroadcast(v3 * v4_bar, h)
        v4 = v4_stack.pop()
        x_bar = unbroadcast(v3_bar * v, x)
        v_bar = unbroadcast(x * v3_bar, v)
        v3 = v3_stack.pop()
        # x, v = xs[t]  [snapshot_funcs.py:36]
        v2_bar = unpacked_rows((x_bar, v_bar), v2)
        x = x_stack.pop()
        v = v_stack.pop()
        xs_bar = index_add(xs_bar, t, v2_bar)
        v2 = v2_stack.pop()
    return (grad_like(xs_bar, xs), float(h_bar))
