"""particle: a charged particle's path by Euler steps under the force -grad p (an inner
derivative), and gradient descent on the control w (an outer derivative) so that the
path meets the origin. Four variants: outer and inner derivative each forward (f) or
reverse (r), all by srcad (nested differentiation)."""
import numpy as np
import srcad
from descent import argmin
from tool_backend import BACKEND


def potential(x, w):
    return (1.0 / np.sqrt(np.sum((x - np.array([10.0, 10.0 - w])) ** 2))
            + 1.0 / np.sqrt(np.sum((x - np.array([10.0, 0.0])) ** 2)))


def force_r(x, w):
    return -srcad.grad(potential)(x, w)


def force_f(x, w):
    _, d0 = srcad.jvp(potential, (x, w), (np.array([1.0, 0.0]), 0.0))
    _, d1 = srcad.jvp(potential, (x, w), (np.array([0.0, 1.0]), 0.0))
    return -np.array([d0, d1])


def euler(w, force):
    """x_0(t_f)^2 where the Euler path meets the x axis, linearly interpolated."""
    x = np.array([0.0, 8.0])
    xdot = np.array([0.75, 0.0])
    dt = 1e-1
    while True:
        xddot = force(x, w)
        x_new = x + dt * xdot
        if x_new[1] > 0.0:
            x = x_new
            xdot = xdot + dt * xddot
        else:
            dt_f = -x[1] / xdot[1]
            x_f = x + dt_f * xdot
            return x_f[0] * x_f[0]


def euler_r(ws):
    return euler(ws[0], force_r)


def euler_f(ws):
    return euler(ws[0], force_f)


def run(cost, outer, w0=0.0):
    if outer == "r":
        g = srcad.grad(cost, backend=BACKEND)
    else:
        def g(ws):
            return np.array([srcad.jvp(cost, (ws,), (np.ones(1),), backend=BACKEND)[1]])
    return float(argmin(cost, g, np.array([w0]))[0])


VARIANTS = {"rr": (euler_r, "r"), "rf": (euler_f, "r"), "fr": (euler_r, "f"),
            "ff": (euler_f, "f")}


def define():
    for cost, outer in VARIANTS.values():
        g = srcad.grad(cost, backend=BACKEND) if outer == "r" else None
        if g is not None:
            g(np.array([0.0]))
        else:
            srcad.jvp(cost, (np.array([0.0]),), (np.ones(1),), backend=BACKEND)


def variant(name):
    cost, outer = VARIANTS[name]
    return (lambda input: float(input["w"]), lambda w0: run(cost, outer, w0), float)


FUNCTIONS = {name: variant(name) for name in VARIANTS}
