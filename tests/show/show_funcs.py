"""Functions the graph, trace and export tests read (NumPy and math only, so that an
exported derivative imports its globals from here in a process without srcad)."""
import math

import numpy as np

W = np.array([0.5, -1.0, 2.0])      # a global the derivatives read
SCALE = 0.25


def survey(x1, x2):
    # Baydin et al., "Automatic differentiation in machine learning: a survey", Tables 2, 3
    return math.log(x1) + x1 * x2 - math.sin(x2)


def f(x0, x1):
    return x0 * x1 + x1 / x0


def scaled(x):
    return 2.0 * x + 1.0


def orbit(a, b):
    x = 0.5
    for i in range(4):
        x = a * math.sin(x) + b * x
    return x


def orbit_n(a, b, n):
    x = 0.5
    for i in range(n):
        x = a * math.sin(x) + b * x
    return x


def branch(a, b):
    if a > b:
        y = a * b
    else:
        y = a + 2.0
    return y


def halve(x):
    while x > 1.0:
        x = x * 0.5
    return x


def smooth(w, b, X):
    # broadcasting (unbroadcast in the adjoint) and a loop over the rows
    z = X * w + b
    total = 0.0
    for i in range(3):
        total = total + np.sum(np.tanh(z[i]) ** 2) * (i + 1)
    return total + np.mean(z)


def layer(u, v):
    return np.tanh(u * v + SCALE)


def model(w, X):
    h = layer(X @ w, 1.5)
    return np.sum(h * h) + np.sum(W * w)


def with_nested(x):
    def inner(u):
        return u * SCALE + math.cos(u)
    return inner(x) * x


def make_scaler(k):
    def scaler(x):
        return k * x * x
    return scaler


scale_by_closure = make_scaler(3.0)


def pair(x):
    return x * x, math.exp(x)


def unpacks(x):
    a, b = pair(x)
    return a * b


def dead_end(x):
    unused = math.sin(x) * 3.0
    return x * 2.0


def with_defaults(x, y=2.0, scale=3.0):
    return scale * x * y + y


def nested_inactive(x, c):
    def inner(u):
        return u * 2.0 + SCALE
    return x * inner(c)
