import numpy as np
from srcad.runtime import assigned_bar, dot_vjp_y, grad_like, index_add, owned, solve_vjp_a, unbroadcast, zeros_like


def gp_kernel_grad(x, y, d_out=1.0):
    """Reverse-mode derivative of gp_kernel (inplace_funcs.py:157): the gradient with respect to x, scaled by d_out."""
    v10 = None
    v10_stack = []
    v11 = None
    v11_stack = []
    v3 = None
    v3_stack = []
    v4 = None
    v4_stack = []
    v5 = None
    v5_stack = []
    v6 = None
    v6_stack = []
    v7 = None
    v7_stack = []
    v9 = None
    v9_stack = []
    # n = x.shape[0]  [inplace_funcs.py:159]
    n = x.shape[0]
    # K = np.zeros((n, n))  [inplace_funcs.py:160]
    K = np.zeros((n, n))
    # for i in range(n):  [inplace_funcs.py:161]
    v2 = range(n)
    for i in v2:
        # for j in range(n):  [inplace_funcs.py:162]
        v3_stack.append(v3)
        v3 = range(n)
        for j in v3:
            # K[i, j] = np.exp(-0.5 * (x[i] - x[j]) ** 2)  [inplace_funcs.py:163]
            v4_stack.append(np.shape(v4))
            v4 = x[i]
            v5_stack.append(np.shape(v5))
            v5 = x[j]
            v6_stack.append(v6)
            v6 = v4 - v5
            v7_stack.append(np.shape(v7))
            v7 = v6 ** 2
            v9_stack.append(v9)
            v9 = np.exp(-0.5 * v7)
            K[i, j] = v9
        # K[i, i] += 0.1  [inplace_funcs.py:164]
        v10_stack.append(np.shape(v10))
        v10 = np.copy(K[i, i])
        v11_stack.append(v11)
        v11 = v10 + 0.1
        K[i, i] = v11
    # alpha = np.linalg.solve(K, y)  [inplace_funcs.py:165]
    alpha = np.linalg.solve(K, y)
    # reverse sweep: adjoints, last statement first
    # return np.dot(y, alpha)  [inplace_funcs.py:166]
    alpha_bar = dot_vjp_y(d_out, y, alpha)
    # alpha = np.linalg.solve(K, y)  [inplace_funcs.py:165]
    K_bar = solve_vjp_a(alpha_bar, K, y, alpha)
    x_bar = zeros_like(x)
    K_bar = owned(K_bar, K)
    for i in reversed(v2):
        # K[i, i] += 0.1  [inplace_funcs.py:164]
        v11_bar = assigned_bar(K_bar, v11, (i, i), K)
        K_bar[i, i] = 0.0
        v10_bar = unbroadcast(v11_bar, v10)
        v11 = v11_stack.pop()
        K_bar = index_add(K_bar, (i, i), v10_bar)
        v10 = v10_stack.pop()
        for j in reversed(v3):
            v9_bar = assigned_bar(K_bar, v9, (i, j), K)
            K_bar[i, j] = 0.0
            v8_bar = v9_bar * v9
            v9 = v9_stack.pop()
            v7_bar = unbroadcast(-0.5 * v8_bar, v7)
            v6_bar = unbroadcast(v7_bar * 2 * v6, v6)
            v7 = v7_stack.pop()
            v4_bar = unbroadcast(v6_bar, v4)
            v5_bar = -unbroadcast(v6_bar, v5)
            v6 = v6_stack.pop()
            x_bar = index_add(x_bar, j, v5_bar)
            v5 = v5_stack.pop()
            x_bar = index_add(x_bar, i, v4_bar)
            v4 = v4_stack.pop()
        # for j in range(n):  [inplace_funcs.py:162]
        v3 = v3_stack.pop()
    return grad_like(x_bar, x)
