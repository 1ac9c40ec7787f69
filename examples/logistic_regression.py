"""Logistic regression on scikit-learn's bundled digits: tell 3s from 8s.

The loss is plain NumPy; srcad.value_and_grad turns it into loss + gradient,
and we train by gradient descent.

    python examples/logistic_regression.py
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import srcad


def softplus(z):
    # log(1 + exp(z)), written so that exp never overflows:
    # max(z, 0) + log(1 + exp(-|z|)).
    return np.maximum(z, 0.0) + np.log(1.0 + np.exp(-np.abs(z)))


def loss(w, b, X, y, lam):
    z = X @ w + b
    # Cross-entropy -[y log s(z) + (1 - y) log(1 - s(z))] simplifies to softplus(z) - y z.
    return np.mean(softplus(z) - y * z) + 0.5 * lam * np.dot(w, w)


def main():
    # Data: digits 3 (label 0) and 8 (label 1), pixels scaled to [0, 1].
    digits = load_digits()
    keep = (digits.target == 3) | (digits.target == 8)
    X = digits.data[keep] / 16.0
    y = (digits.target[keep] == 8).astype(float)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    lam = 1e-3

    loss_and_grad = srcad.value_and_grad(loss, wrt=(0, 1))  # gradient in w and b

    # Smoke test: compare with central finite differences at a random point,
    # along a random direction v for w, and directly for b.
    rng = np.random.default_rng(0)
    w, b = 0.1 * rng.standard_normal(X.shape[1]), 0.2
    v, h = rng.standard_normal(w.shape), 1e-6
    data = (X_train, y_train, lam)
    _, (gw, gb) = loss_and_grad(w, b, *data)
    fd_w = (loss(w + h * v, b, *data) - loss(w - h * v, b, *data)) / (2 * h)
    fd_b = (loss(w, b + h, *data) - loss(w, b - h, *data)) / (2 * h)
    assert np.isclose(gw @ v, fd_w, rtol=1e-5, atol=1e-8), (gw @ v, fd_w)
    assert np.isclose(gb, fd_b, rtol=1e-5, atol=1e-8), (gb, fd_b)
    print(f"gradient check vs finite differences: {gw @ v:.8f} vs {fd_w:.8f} (w),"
          f" {gb:.8f} vs {fd_b:.8f} (b)")

    # Gradient descent from zero.
    w, b, lr = np.zeros(X.shape[1]), 0.0, 0.5
    history = []
    for step in range(300):
        value, (gw, gb) = loss_and_grad(w, b, X_train, y_train, lam)
        w, b = w - lr * gw, b - lr * gb
        history.append(value)
        if step % 100 == 0:
            print(f"step {step:3d}  loss {value:.4f}")
    print(f"final loss {history[-1]:.4f}")

    def accuracy(X, y):
        return np.mean((X @ w + b > 0) == (y == 1))

    train_acc, test_acc = accuracy(X_train, y_train), accuracy(X_test, y_test)
    print(f"train accuracy {train_acc:.3f}, test accuracy {test_acc:.3f}")
    assert history[-1] < 0.5 * history[0] and train_acc > 0.9

    plt.figure(figsize=(5, 3.5))
    plt.plot(history)
    plt.xlabel("gradient descent step")
    plt.ylabel("training loss")
    plt.title("Logistic regression, digits 3 vs 8")
    plt.tight_layout()
    out = Path(__file__).with_name("logistic_regression_loss.png")
    plt.savefig(out, dpi=100)
    print(f"saved {out}")


if __name__ == "__main__":
    main()
