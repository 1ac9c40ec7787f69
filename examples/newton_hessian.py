"""Newton's method on the 5-dimensional Rosenbrock function.

srcad.grad gives the gradient and srcad.hessian the 5x5 Hessian (forward mode
over reverse mode) of a plain NumPy function written with slices. Close to the
minimum the gradient norm falls quadratically: the number of correct digits
roughly doubles at each step.

    python examples/newton_hessian.py
"""
import numpy as np

import srcad


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian_by_hand(x):
    # Closed form, used only to check srcad: a tridiagonal matrix.
    n = x.shape[0]
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
        H[i + 1, i + 1] += 200.0
        H[i, i + 1] = H[i + 1, i] = -400.0 * x[i]
    return H


def main():
    grad_f = srcad.grad(rosenbrock)
    hess_f = srcad.hessian(rosenbrock)

    # Smoke test: compare with the closed-form Hessian and with finite differences.
    x = np.array([-1.2, 1.0, 0.5, -0.3, 0.8])
    assert np.allclose(hess_f(x), rosenbrock_hessian_by_hand(x), rtol=1e-10, atol=1e-8)
    e, h = np.eye(5), 1e-6
    fd = np.array([rosenbrock(x + h * e[i]) - rosenbrock(x - h * e[i]) for i in range(5)]) / (2 * h)
    assert np.allclose(grad_f(x), fd, rtol=1e-6, atol=1e-6)
    print("gradient and Hessian agree with finite differences / closed form")

    # Newton's method with a backtracking line search (it only shortens the
    # step far from the minimum; near it the full Newton step is taken).
    # The last column, |grad_k| / |grad_{k-1}|**2, levels off once convergence is quadratic.
    x, previous = np.zeros(5), None
    for it in range(50):
        g = grad_f(x)
        gnorm = np.linalg.norm(g)
        ratio = f"{gnorm / previous**2:.2e}" if previous else "-"
        print(f"iter {it:2d}  f = {rosenbrock(x):.3e}  |grad| = {gnorm:.3e}  ratio = {ratio}")
        previous = gnorm
        if gnorm < 1e-10:
            break
        step = np.linalg.solve(hess_f(x), -g)
        t = 1.0
        while rosenbrock(x + t * step) > rosenbrock(x) + 1e-4 * t * (g @ step):
            t *= 0.5
        x = x + t * step
    print("minimiser:", np.round(x, 8))
    assert np.allclose(x, 1.0, atol=1e-8)


if __name__ == "__main__":
    main()
