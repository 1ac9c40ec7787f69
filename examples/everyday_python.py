"""Everyday Python, differentiated as written: comprehensions, generator expressions,
`assert`, f-strings, `with np.errstate(...)`, `sorted`, `zip`, and calls with no
derivative (a random draw) that simply run.

    python examples/everyday_python.py
"""
import numpy as np

import srcad


def loss(w, xs, seed):
    assert w.shape == (3,), f"w has shape {w.shape}"
    rng = np.random.default_rng(seed)              # no derivative flows in: just a call
    noise = rng.normal(scale=0.01, size=len(xs))
    preds = [np.tanh(np.dot(w, x)) for x in xs]    # a list comprehension
    with np.errstate(over="ignore"):
        err = sum((p - y) ** 2 for p, y in zip(preds, noise))
    top = sorted([abs(v) for v in w], reverse=True)
    return err + 0.1 * max(w[k] ** 2 for k in range(3)) + 0.01 * top[0]


def main():
    w = np.array([0.3, -0.8, 0.5])
    xs = [np.array([1.0, 0.2, -0.4]), np.array([0.5, -1.0, 0.3]), np.array([-0.2, 0.4, 0.9])]
    value, g = srcad.value_and_grad(loss)(w, xs, 0)
    print(f"loss {value:.6f}, gradient {np.round(g, 6)}")
    assert value == loss(w, xs, 0)                 # the same draw, made once per call
    srcad.testing.check_grads(loss, w, xs, 0, wrt=0)           # both modes vs differences
    H = srcad.hessian(loss)(w, xs, 0)              # second order, forward over reverse
    H_fd = srcad.testing.numerical_grad(srcad.grad(loss), [w, xs, 0], 0)
    assert np.allclose(H, H_fd, rtol=1e-5, atol=1e-6)
    print("everyday_python: srcad agrees with finite differences")


if __name__ == "__main__":
    main()
