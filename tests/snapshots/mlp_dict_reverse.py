import numpy as np
from srcad.runtime import grad_like, index_add, matmul_vjp_x, matmul_vjp_y, unbroadcast, unindex, unreduce


def mlp_dict_grad(params, x, d_out=1.0):
    """Reverse-mode derivative of mlp_dict (container_funcs.py:12): the gradient with respect to params, scaled by d_out."""
    # return np.sum(np.tanh(x @ params["W1"] + params["b1"]) @ params["W2"])  [container_funcs.py:13]
    v0 = params['W1']
    v1 = x @ v0
    v2 = params['b1']
    v4 = np.tanh(v1 + v2)
    v5 = params['W2']
    v6 = v4 @ v5
    # reverse sweep: adjoints, last statement first
    # return np.sum(np.tanh(x @ params["W1"] + params["b1"]) @ params["W2"])  [container_funcs.py:13]
    v6_bar = unreduce(d_out, v6)
    params_bar = unindex(matmul_vjp_y(v6_bar, v4, v5), params, 'W2')
    v3_bar = matmul_vjp_x(v6_bar, v4, v5) * (1.0 - v4 ** 2)
    v1_bar = unbroadcast(v3_bar, v1)
    v2_bar = unbroadcast(v3_bar, v2)
    params_bar = index_add(params_bar, 'b1', v2_bar)
    params_bar = index_add(params_bar, 'W1', matmul_vjp_y(v1_bar, x, v0))
    return grad_like(params_bar, params)
