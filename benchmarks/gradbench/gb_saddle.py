"""saddle: min over x of max over y of f(x, y) = |x|^2 - |y|^2 by gradient descent, the
inner maximisation inside the function the outer descent differentiates (nested
differentiation), then the maximising y at that x. Four variants: outer and inner
derivative each forward (f) or reverse (r), all by srcad."""
import numpy as np
import srcad
from descent import argmax, argmin
from tool_backend import BACKEND


def f(x, y):
    return (x[0] ** 2 + x[1] ** 2) - (y[0] ** 2 + y[1] ** 2)


def grad_y_r(x, y):
    return srcad.grad(f, wrt=1)(x, y)


def grad_y_f(x, y):
    zero = np.zeros(2)
    _, d0 = srcad.jvp(f, (x, y), (zero, np.array([1.0, 0.0])))
    _, d1 = srcad.jvp(f, (x, y), (zero, np.array([0.0, 1.0])))
    return np.array([d0, d1])


def max_over_y(x, start, grad_y):
    y = argmax(lambda y: f(x, y), lambda y: grad_y(x, y), start)
    return f(x, y)


def cost_r(x, start):
    return max_over_y(x, start, grad_y_r)


def cost_f(x, start):
    return max_over_y(x, start, grad_y_f)


def outer_grad(cost, mode):
    if mode == "r":
        return srcad.grad(cost, backend=BACKEND)

    def g(x, start):
        _, d0 = srcad.jvp(cost, (x, start), (np.array([1.0, 0.0]), np.zeros(2)), backend=BACKEND)
        _, d1 = srcad.jvp(cost, (x, start), (np.array([0.0, 1.0]), np.zeros(2)), backend=BACKEND)
        return np.array([d0, d1])
    return g


VARIANTS = {"rr": ("r", cost_r, grad_y_r), "rf": ("r", cost_f, grad_y_f),
            "fr": ("f", cost_r, grad_y_r), "ff": ("f", cost_f, grad_y_f)}


def run(name, start):
    mode, cost, grad_y = VARIANTS[name]
    g = outer_grad(cost, mode)
    x = argmin(lambda x: cost(x, start), lambda x: g(x, start), start)
    y = argmax(lambda y: f(x, y), lambda y: grad_y(x, y), start)
    return np.concatenate((x, y))


def define():
    for name in VARIANTS:
        run(name, np.array([1.0, 1.0]))


def variant(name):
    return (lambda input: np.asarray(input["start"], dtype=np.float64),
            lambda start: run(name, start), lambda r: r.tolist())


FUNCTIONS = {name: variant(name) for name in VARIANTS}
