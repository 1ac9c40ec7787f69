"""llsq: the gradient of a least-squares polynomial fit, 0.5 sum_i (sign t_i - sum_j x_j t_i^j)^2
over n points t_i in [-1, 1]."""
import numpy as np
import srcad


def powers(n, m):
    """T[i, j] = t_i ** j, as the eval builds it (a running product)."""
    t = -1.0 + np.arange(n) * 2.0 / (n - 1.0)
    T = np.ones((n, m))
    T[:, 1:] = t[:, None]
    return np.cumprod(T, axis=1), np.sign(t)


def llsq(x, T, s):
    r = s - T @ x
    return 0.5 * np.sum(r * r)


grad_ = srcad.grad(llsq)


def define():
    T, s = powers(3, 2)
    grad_(np.ones(2), T, s)


def prepare(input):
    x = np.asarray(input["x"], dtype=np.float64)
    return (x,) + powers(input["n"], x.shape[0])


FUNCTIONS = {
    "primal": (prepare, lambda a: llsq(*a), float),
    "gradient": (prepare, lambda a: grad_(*a), lambda g: g.tolist()),
}
