"""ode: the gradient of the last output of an s-step fourth-order Runge-Kutta solve of
y_0' = x_0, y_i' = x_i y_{i-1}, from y = 0 to t = 2, with respect to all of x."""
import numpy as np
import srcad
from tool_backend import BACKEND


def ode_fun(x, y):
    return x * np.concatenate((np.ones(1), y[:-1]))


def runge_kutta(x, s):
    h = 2.0 / s
    y = np.zeros_like(x)
    for _ in range(s):
        k1 = ode_fun(x, y)
        k2 = ode_fun(x, y + h / 2 * k1)
        k3 = ode_fun(x, y + h / 2 * k2)
        k4 = ode_fun(x, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


def last(x, s):
    return runge_kutta(x, s)[-1]


grad_ = srcad.grad(last, backend=BACKEND)


def define():
    grad_(np.ones(3), 2)


def prepare(input):
    return np.asarray(input["x"], dtype=np.float64), int(input["s"])


FUNCTIONS = {
    "primal": (prepare, lambda a: runge_kutta(*a), lambda y: y.tolist()),
    "gradient": (prepare, lambda a: grad_(*a), lambda g: g.tolist()),
}
