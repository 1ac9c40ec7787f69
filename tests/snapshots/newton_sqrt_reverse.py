def newton_sqrt_grad(a, d_out=1.0):
    """Reverse-mode derivative of newton_sqrt (snapshot_funcs.py:25): the gradient with respect to a, scaled by d_out."""
    v4 = None
    v4_stack = []
    x_stack = []
    # x = a  [snapshot_funcs.py:26]
    x = a
    # while abs(x * x - a) > 1e-12 * a:  [snapshot_funcs.py:27]
    count = 0
    while True:
        count = count + 1
        v4_stack.append(v4)
        v4 = abs(x * x - a) > 1e-12 * a
        if v4:
            # x = 0.5 * (x + a / x)  [snapshot_funcs.py:28]
            x_stack.append(x)
            x = 0.5 * (x + a / x)
        else:
            # while abs(x * x - a) > 1e-12 * a:  [snapshot_funcs.py:27]
            break
    # reverse sweep: adjoints, last statement first
    x_bar = d_out
    a_bar = 0.0
    for _ in range(count):
        if v4:
            # x = 0.5 * (x + a / x)  [snapshot_funcs.py:28]
            v6_bar = 0.5 * x_bar
            x = x_stack.pop()
            x_bar = v6_bar
            a_bar = a_bar + v6_bar / x
            x_bar = x_bar - v6_bar * (a / x) / x
        # while abs(x * x - a) > 1e-12 * a:  [snapshot_funcs.py:27]
        v4 = v4_stack.pop()
    # x = a  [snapshot_funcs.py:26]
    a_bar = a_bar + x_bar
    return float(a_bar)
