import numpy as np
from srcad.runtime import assigned_bar, grad_like, matmul_vjp_x, matmul_vjp_y, owned, unbroadcast, unreduce, zeros_like


def rnn_grad(W, x, d_out=1.0):
    """Reverse-mode derivative of rnn (inplace_funcs.py:118): the gradient with respect to W, scaled by d_out."""
    h_stack = []
    v3 = None
    v3_stack = []
    # T, n = x.shape  [inplace_funcs.py:120]
    T, n = x.shape
    # H = np.zeros((T, n))  [inplace_funcs.py:121]
    H = np.zeros((T, n))
    # h = np.zeros(n)  [inplace_funcs.py:122]
    h = np.zeros(n)
    # for t in range(T):  [inplace_funcs.py:123]
    v2 = range(T)
    for t in v2:
        # h = np.tanh(W @ h + x[t])  [inplace_funcs.py:124]
        v3_stack.append(np.shape(v3))
        v3 = W @ h
        h_stack.append(h)
        h = np.tanh(v3 + x[t])
        # H[t] = h  [inplace_funcs.py:125]
        H[t] = h
    # reverse sweep: adjoints, last statement first
    # return np.sum(H ** 2)  [inplace_funcs.py:126]
    v6_bar = unreduce(d_out, H)
    H_bar = unbroadcast(v6_bar * 2 * H, H)
    W_bar = zeros_like(W)
    h_bar = zeros_like(h)
    H_bar = owned(H_bar, H)
    for t in reversed(v2):
        # H[t] = h  [inplace_funcs.py:125]
        h_bar = h_bar + assigned_bar(H_bar, h, t, H)
        H_bar[t] = 0.0
        # h = np.tanh(W @ h + x[t])  [inplace_funcs.py:124]
        v5_bar = h_bar * (1.0 - h ** 2)
        h = h_stack.pop()
        v3_bar = unbroadcast(v5_bar, v3)
        W_bar += matmul_vjp_x(v3_bar, W, h)
        h_bar = matmul_vjp_y(v3_bar, W, h)
        v3 = v3_stack.pop()
    return grad_like(W_bar, W)
