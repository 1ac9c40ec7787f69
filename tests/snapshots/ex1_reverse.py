from srcad.runtime import grad_like, unbroadcast


def ex1_grad(x0, x1, d_out=1.0):
    """Reverse-mode derivative of ex1 (snapshot_funcs.py:8): the gradient with respect to x0, x1, scaled by d_out."""
    # y = x0 * x1 + x1 / x0  [snapshot_funcs.py:9]
    v0 = x0 * x1
    v1 = x1 / x0
    # reverse sweep: adjoints, last statement first
    # y = x0 * x1 + x1 / x0  [snapshot_funcs.py:9]
    v0_bar = unbroadcast(d_out, v0)
    v1_bar = unbroadcast(d_out, v1)
    x0_bar = unbroadcast(-v1_bar * v1 / x0, x0) + unbroadcast(v0_bar * x1, x0)
    x1_bar = unbroadcast(v1_bar / x0, x1) + unbroadcast(x0 * v0_bar, x1)
    return (grad_like(x0_bar, x0), grad_like(x1_bar, x1))
