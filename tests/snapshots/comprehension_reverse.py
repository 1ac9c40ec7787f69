from srcad.runtime import grad_like, index_add, items_adjoint, items_of, repeat_items, unbroadcast, zeros_like


def comp_snapshot_grad(x, w, d_out=1.0):
    """Reverse-mode derivative of comp_snapshot (idiom_funcs.py:249): the gradient with respect to x, w, scaled by d_out."""
    v = None
    v_stack = []
    v5 = None
    v5_stack = []
    v6 = None
    v6_stack = []
    # return sum([w * v ** 2 for v in x if v > 0.0])  [idiom_funcs.py:251]
    items = []
    v0 = items_of(x)
    v2 = range(len(v0))
    for v3 in v2:
        v_stack.append(v)
        v = v0[v3]
        v5_stack.append(v5)
        v5 = v > 0.0
        if v5:
            v6_stack.append(v6)
            v6 = v ** 2
            items.append(w * v6)
    # reverse sweep: adjoints, last statement first
    # return sum([w * v ** 2 for v in x if v > 0.0])  [idiom_funcs.py:251]
    items_bar = repeat_items(d_out, items)
    v0_bar = zeros_like(v0)
    w_bar = 0.0
    for v3 in reversed(v2):
        if v5:
            v8_bar = items_bar
            items.pop()
            items_bar = v8_bar
            v8_bar_last = items_bar.pop()
            v7_bar = v8_bar_last
            w_bar = w_bar + unbroadcast(v7_bar * v6, w)
            v6_bar = unbroadcast(w * v7_bar, v6)
            v_bar = unbroadcast(v6_bar * 2 * v, v)
            v6 = v6_stack.pop()
        else:
            v_bar = zeros_like(v)
        v5 = v5_stack.pop()
        v = v_stack.pop()
        v0_bar = index_add(v0_bar, v3, v_bar)
    x_bar = items_adjoint(v0_bar, x)
    return (grad_like(x_bar, x), float(w_bar))
