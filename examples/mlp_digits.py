"""A small neural network (64 -> 32 -> 10, tanh, softmax) on the digits, its parameters a dict.

The network and its loss are plain NumPy functions calling each other and reading
`params["W1"]`; `srcad.value_and_grad` gives the loss and a dict of gradients with the same
keys. The data (the UCI handwritten digits, 1797 8x8 images) ships in `examples/data/`, so
nothing but NumPy is needed; with matplotlib installed the loss curve is saved as a PNG.

    python examples/mlp_digits.py
"""
from pathlib import Path

import numpy as np

import srcad

DATA = Path(__file__).with_name("data") / "digits.csv.gz"


def load_digits():
    """The 1797 digits as (pixels scaled to [0, 1], labels)."""
    table = np.loadtxt(DATA, delimiter=",")
    return table[:, :-1] / 16.0, table[:, -1].astype(int)


def log_softmax(z):
    # Numerically stable: subtract each row's maximum before exponentiating.
    m = np.max(z, axis=1, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))


def predict(params, X):
    hidden = np.tanh(X @ params["W1"] + params["b1"])
    return hidden @ params["W2"] + params["b2"]     # logits, one row per image


def loss(params, X, Y):
    # Mean cross-entropy; Y is one-hot.
    return -np.mean(np.sum(Y * log_softmax(predict(params, X)), axis=1))


def accuracy(params, X, labels):
    return np.mean(np.argmax(predict(params, X), axis=1) == labels)


def main():
    X, t = load_digits()
    order = np.random.default_rng(0).permutation(len(t))
    train, test = order[:1350], order[1350:]
    X_train, t_train, X_test, t_test = X[train], t[train], X[test], t[test]
    Y_train = np.eye(10)[t_train]

    rng = np.random.default_rng(0)
    params = {"W1": rng.standard_normal((64, 32)) / 8.0, "b1": np.zeros(32),
              "W2": rng.standard_normal((32, 10)) / np.sqrt(32), "b2": np.zeros(10)}

    step = srcad.value_and_grad(loss)                # grads: a dict with params' keys

    # Check: the directional derivative along a random direction, against central
    # finite differences.
    _, grads = step(params, X_train, Y_train)
    assert set(grads) == set(params)
    dirs = {k: rng.standard_normal(p.shape) for k, p in params.items()}
    h = 1e-6
    plus = {k: params[k] + h * dirs[k] for k in params}
    minus = {k: params[k] - h * dirs[k] for k in params}
    fd = (loss(plus, X_train, Y_train) - loss(minus, X_train, Y_train)) / (2 * h)
    ad = sum(np.sum(grads[k] * dirs[k]) for k in params)
    assert np.isclose(ad, fd, rtol=1e-5), (ad, fd)
    print(f"gradient check vs finite differences: {ad:.8f} vs {fd:.8f}")

    # Full-batch gradient descent with momentum.
    lr, beta = 0.5, 0.9
    velocity = {k: np.zeros_like(p) for k, p in params.items()}
    history = []
    for i in range(120):
        value, grads = step(params, X_train, Y_train)
        history.append(value)
        velocity = {k: beta * velocity[k] - lr * grads[k] for k in params}
        params = {k: params[k] + velocity[k] for k in params}
        if i % 40 == 0:
            print(f"step {i:3d}  loss {value:.4f}")
    print(f"final loss {loss(params, X_train, Y_train):.4f}")

    train_acc, test_acc = accuracy(params, X_train, t_train), accuracy(params, X_test, t_test)
    print(f"train accuracy {train_acc:.3f}, test accuracy {test_acc:.3f}")
    assert test_acc > 0.9

    try:
        import matplotlib
    except ImportError:
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.figure(figsize=(5, 3.5))
    plt.semilogy(history)
    plt.xlabel("gradient descent step")
    plt.ylabel("training cross-entropy")
    plt.title("MLP 64-32-10 on digits")
    plt.tight_layout()
    out = Path("mlp_digits_loss.png")
    plt.savefig(out, dpi=100)
    print(f"saved {out}")


if __name__ == "__main__":
    main()
