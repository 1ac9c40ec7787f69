"""A small neural network (64 -> 32 -> 10, tanh, softmax) on the digits data.

The network and its loss are plain NumPy functions calling each other;
srcad.grad differentiates through the helper calls.

    python examples/mlp_digits.py
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import srcad


def log_softmax(z):
    # Numerically stable: subtract each row's maximum before exponentiating.
    m = np.max(z, axis=1, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))


def predict(W1, b1, W2, b2, X):
    hidden = np.tanh(X @ W1 + b1)
    return hidden @ W2 + b2  # logits, one row per image


def loss(W1, b1, W2, b2, X, Y):
    # Mean cross-entropy; Y is one-hot.
    return -np.mean(np.sum(Y * log_softmax(predict(W1, b1, W2, b2, X)), axis=1))


def accuracy(params, X, labels):
    return np.mean(np.argmax(predict(*params, X), axis=1) == labels)


def main():
    digits = load_digits()
    X = digits.data / 16.0
    X_train, X_test, t_train, t_test = train_test_split(
        X, digits.target, test_size=0.25, random_state=0)
    Y_train = np.eye(10)[t_train]

    rng = np.random.default_rng(0)
    params = [rng.standard_normal((64, 32)) / 8.0, np.zeros(32),
              rng.standard_normal((32, 10)) / np.sqrt(32), np.zeros(10)]

    grad_loss = srcad.grad(loss, wrt=(0, 1, 2, 3))  # one gradient per weight array

    # Smoke test: directional derivative along a random direction, compared
    # with central finite differences.
    grads = grad_loss(*params, X_train, Y_train)
    dirs = [rng.standard_normal(p.shape) for p in params]
    h = 1e-6
    plus = [p + h * d for p, d in zip(params, dirs)]
    minus = [p - h * d for p, d in zip(params, dirs)]
    fd = (loss(*plus, X_train, Y_train) - loss(*minus, X_train, Y_train)) / (2 * h)
    ad = sum(np.sum(g * d) for g, d in zip(grads, dirs))
    assert np.isclose(ad, fd, rtol=1e-5), (ad, fd)
    print(f"gradient check vs finite differences: {ad:.8f} vs {fd:.8f}")

    # Full-batch gradient descent with momentum.
    lr, beta = 0.5, 0.9
    velocity = [np.zeros_like(p) for p in params]
    history = []
    for step in range(400):
        history.append(loss(*params, X_train, Y_train))
        grads = grad_loss(*params, X_train, Y_train)
        velocity = [beta * v - lr * g for v, g in zip(velocity, grads)]
        params = [p + v for p, v in zip(params, velocity)]
        if step % 100 == 0:
            print(f"step {step:3d}  loss {history[-1]:.4f}")
    print(f"final loss {loss(*params, X_train, Y_train):.4f}")

    train_acc, test_acc = accuracy(params, X_train, t_train), accuracy(params, X_test, t_test)
    print(f"train accuracy {train_acc:.3f}, test accuracy {test_acc:.3f}")
    assert test_acc > 0.9

    plt.figure(figsize=(5, 3.5))
    plt.semilogy(history)
    plt.xlabel("gradient descent step")
    plt.ylabel("training cross-entropy")
    plt.title("MLP 64-32-10 on digits")
    plt.tight_layout()
    out = Path(__file__).with_name("mlp_digits_loss.png")
    plt.savefig(out, dpi=100)
    print(f"saved {out}")


if __name__ == "__main__":
    main()
