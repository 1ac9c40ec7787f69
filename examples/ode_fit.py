"""Fit the damping of an oscillator by differentiating through an ODE solver.

The model x'' = -k x - c x' is integrated with classical Runge-Kutta (RK4) in a
plain Python for-loop. srcad differentiates the whole simulation, loop and
helper calls included, with respect to the damping c; differentiating twice
(srcad.grad of srcad.grad) gives the curvature for Newton's method.

    python examples/ode_fit.py
"""
import math

import numpy as np

import srcad


def acceleration(x, v, k, c):
    return -k * x - c * v


def loss(c, k, x0, dt, obs):
    # Integrate from x(0) = x0, x'(0) = 0 and compare with obs[i] = x((i + 1) dt).
    x = x0
    v = 0.0
    total = 0.0
    for i in range(obs.shape[0]):
        # One RK4 step for the system (x' = v, v' = acceleration).
        a1 = acceleration(x, v, k, c)
        x2 = x + 0.5 * dt * v
        v2 = v + 0.5 * dt * a1
        a2 = acceleration(x2, v2, k, c)
        x3 = x + 0.5 * dt * v2
        v3 = v + 0.5 * dt * a2
        a3 = acceleration(x3, v3, k, c)
        x4 = x + dt * v3
        v4 = v + dt * a3
        a4 = acceleration(x4, v4, k, c)
        x = x + dt / 6.0 * (v + 2.0 * v2 + 2.0 * v3 + v4)
        v = v + dt / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
        total = total + (x - obs[i]) ** 2
    return total / obs.shape[0]


def exact_solution(t, c, k, x0):
    # Closed-form under-damped motion starting at rest; used to make the data.
    wd = math.sqrt(k - c**2 / 4)
    return x0 * np.exp(-c * t / 2) * (np.cos(wd * t) + c / (2 * wd) * np.sin(wd * t))


def main():
    k, x0, dt, steps = 4.0, 1.0, 0.1, 100
    c_true = 0.3
    t = dt * np.arange(1, steps + 1)
    rng = np.random.default_rng(0)
    obs = exact_solution(t, c_true, k, x0) + 0.01 * rng.standard_normal(steps)

    dloss = srcad.grad(loss)    # d loss / d c   (wrt=0 is the default)
    d2loss = srcad.grad(dloss)  # d^2 loss / d c^2

    # Smoke test: both derivatives against central finite differences.
    c, h = 0.8, 1e-5
    fd1 = (loss(c + h, k, x0, dt, obs) - loss(c - h, k, x0, dt, obs)) / (2 * h)
    fd2 = (dloss(c + h, k, x0, dt, obs) - dloss(c - h, k, x0, dt, obs)) / (2 * h)
    print(f"d loss/dc  at c={c}: srcad {dloss(c, k, x0, dt, obs):.8f}, finite diff {fd1:.8f}")
    print(f"d2 loss/dc2 at c={c}: srcad {d2loss(c, k, x0, dt, obs):.8f}, finite diff {fd2:.8f}")
    assert np.isclose(dloss(c, k, x0, dt, obs), fd1, rtol=1e-6)
    assert np.isclose(d2loss(c, k, x0, dt, obs), fd2, rtol=1e-5)

    # Newton's method on the one unknown, starting from "no damping" (the loss
    # is convex in c on [0, 0.5], so plain Newton steps are safe there).
    c = 0.0
    for it in range(10):
        g = dloss(c, k, x0, dt, obs)
        print(f"iter {it}  c = {c:.6f}  loss = {loss(c, k, x0, dt, obs):.3e}  dloss/dc = {g:+.2e}")
        if abs(g) < 1e-12:
            break
        c = c - g / d2loss(c, k, x0, dt, obs)
    print(f"recovered damping c = {c:.4f}   (true value {c_true})")
    assert abs(c - c_true) < 0.01


if __name__ == "__main__":
    main()
