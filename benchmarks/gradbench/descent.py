"""The gradient descent particle and saddle use (Siskind and Pearlmutter's): steps of eta
times the gradient, eta doubled after ten successful steps and halved after a failed one,
stopping where the gradient or the step is under 1e-5. Plain Python: the evals
differentiate through it (saddle's inner maximisation) as a user's own code."""
import numpy as np


def argmin(f, g, x):
    fx = f(x)
    gx = g(x)
    eta = 1e-5
    i = 0
    while True:
        if np.sqrt(np.sum(gx * gx)) <= 1e-5:
            return x
        if i == 10:
            eta = 2.0 * eta
            i = 0
        else:
            xp = x - eta * gx
            if np.sqrt(np.sum((x - xp) ** 2)) <= 1e-5:
                return x
            fxp = f(xp)
            if fxp < fx:
                x = xp
                fx = fxp
                gx = g(xp)
                i = i + 1
            else:
                eta = eta / 2.0
                i = 0


def argmax(f, g, x):
    return argmin(lambda z: -f(z), lambda z: -g(z), x)
