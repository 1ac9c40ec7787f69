import numpy as np
from srcad.runtime import grad_like, index_add, items_of, make_dict, set_item, unbroadcast, unindex, unreduce, unset_item, zeros_like


def dict_fill_grad(xs, d_out=1.0):
    """Reverse-mode derivative of dict_fill (container_funcs.py:73): the gradient with respect to xs, scaled by d_out."""
    grads_stack = []
    k = None
    k_stack = []
    v6 = None
    v6_stack = []
    v7 = None
    v7_stack = []
    v8 = None
    v8_stack = []
    # grads = {}  [container_funcs.py:74]
    grads = make_dict((), [])
    # for k in xs:  [container_funcs.py:75]
    v1 = items_of(xs)
    v3 = range(len(v1))
    for v4 in v3:
        k_stack.append(k)
        k = v1[v4]
        # grads[k] = np.sin(xs[k]) * 2.0  [container_funcs.py:76]
        v6_stack.append(v6)
        v6 = xs[k]
        v7_stack.append(np.shape(v7))
        v7 = np.sin(v6)
        v8_stack.append(np.shape(v8))
        v8 = v7 * 2.0
        grads_stack.append(grads)
        grads = set_item(grads, k, v8)
    # return np.sum(grads["u"] * grads["v"])  [container_funcs.py:77]
    v10 = grads['u']
    v11 = grads['v']
    v12 = v10 * v11
    # reverse sweep: adjoints, last statement first
    # return np.sum(grads["u"] * grads["v"])  [container_funcs.py:77]
    v12_bar = unreduce(d_out, v12)
    v10_bar = unbroadcast(v12_bar * v11, v10)
    v11_bar = unbroadcast(v10 * v12_bar, v11)
    grads_bar = unindex(v11_bar, grads, 'v')
    grads_bar = index_add(grads_bar, 'u', v10_bar)
    xs_bar = zeros_like(xs)
    for v4 in reversed(v3):
        # grads[k] = np.sin(xs[k]) * 2.0  [container_funcs.py:76]
        v9_bar = grads_bar
        grads = grads_stack.pop()
        grads_bar = unset_item(v9_bar, grads, k)
        v8_bar = unbroadcast(v9_bar[k], v8)
        v7_bar = unbroadcast(v8_bar * 2.0, v7)
        v8 = v8_stack.pop()
        v7 = v7_stack.pop()
        xs_bar = index_add(xs_bar, k, v7_bar * np.cos(v6))
        v6 = v6_stack.pop()
        # for k in xs:  [container_funcs.py:75]
        k = k_stack.pop()
    return grad_like(xs_bar, xs)
