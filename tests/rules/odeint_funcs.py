"""Functions calling scipy.integrate.odeint, for tests/rules/test_odeint.py: a linear ODE
with a closed form, a nonlinear one with parameters, closures and partials."""
import functools

import numpy as np
from scipy.integrate import odeint

import srcad


def decay(y, t, k):
    return -k * y


def linear(y0, k, t):
    """y' = -k y: y(t) = y0 exp(-k t)."""
    return odeint(decay, y0, t, args=(k,), rtol=1e-10, atol=1e-10)


def lotka(y, t, a, b, c, d):
    return np.array([a * y[0] - b * y[0] * y[1], c * y[0] * y[1] - d * y[1]])


def predator_prey(y0, params, t):
    a, b, c, d = params[0], params[1], params[2], params[3]
    ys = odeint(lotka, y0, t, args=(a, b, c, d), rtol=1e-10, atol=1e-10)
    return np.sum(ys ** 2)


def forced(y, t, w):
    """A non-autonomous system: a damped oscillator driven by sin(w t)."""
    return np.array([y[1], -0.5 * y[1] - y[0] + np.sin(w * t)])


def driven(y0, w, t):
    return odeint(forced, y0, t, args=(w,), rtol=1e-10, atol=1e-10)


def closure(y0, k, t):
    """The dynamics a lambda reading k from the enclosing function."""
    return odeint(lambda y, s: -k * y * y, y0, t, rtol=1e-10, atol=1e-10)


def nested(y0, k, t):
    def rhs(y, s, scale):
        return scale * np.tanh(k * y) - y
    return odeint(rhs, y0, t, args=(2.0,), rtol=1e-10, atol=1e-10)[-1]


def partial_of(y0, k, t):
    return odeint(functools.partial(mat_rhs, k), y0, t, rtol=1e-10, atol=1e-10)


def mat_rhs(a, y, t):
    return a @ y


def tfirst(y0, k, t):
    return odeint(lambda s, y: -k * y + s, y0, t, tfirst=True, rtol=1e-10, atol=1e-10)


def loose(y0, k, t):
    return odeint(decay, y0, t, args=(k,))


def second(y0, k, t):
    return np.sum(odeint(decay, y0, t, args=(k,), rtol=1e-10, atol=1e-10))


def with_dfun(y0, k, t):
    return odeint(decay, y0, t, args=(k,), Dfun=jac)


def jac(y, t, k):
    return -k * np.eye(len(y))


def slope_in_k(y0, k, t):
    """The derivative of `second` in k, by a forward derivative inside (srcad.jvp)."""
    return srcad.jvp(lambda kk: second(y0, kk, t), (k,), (1.0,))[1]
