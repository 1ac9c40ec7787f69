"""Parameters in containers: a dict, a list of (W, b) pairs, a dataclass, a NamedTuple.
The gradient has the argument's structure; srcad.testing.check_grads compares each leaf
with finite differences in both modes.

    python examples/containers.py
"""
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

import srcad


def mlp(params, x):                       # a dict of arrays
    h = np.tanh(x @ params["W1"] + params["b1"])
    return np.sum((h @ params["W2"]) ** 2)


def net(layers, x):                       # a list of (W, b) pairs, as autograd's examples
    for W, b in layers:
        x = np.tanh(x @ W + b)
    return np.sum(x ** 2)


@dataclass
class Model:
    W: np.ndarray
    scale: float
    name: str = "linear"                  # not a number: its gradient is None


class Layer(NamedTuple):
    W: np.ndarray
    b: np.ndarray


def model_loss(m, x):
    return m.scale * np.sum((x @ m.W) ** 2)


def layer_loss(layer, x):
    return np.sum(np.sin(x @ layer.W + layer.b))


def main():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3))
    params = {"W1": rng.normal(size=(3, 4)), "b1": np.zeros(4), "W2": rng.normal(size=4)}
    g = srcad.grad(mlp)(params, x)
    print({k: v.shape for k, v in g.items()})          # {'W1': (3, 4), 'b1': (4,), 'W2': (4,)}

    layers = [(rng.normal(size=(3, 4)), np.zeros(4)), (rng.normal(size=(4, 2)), np.zeros(2))]
    (dW0, db0), (dW1, db1) = srcad.grad(net)(layers, x)

    gm = srcad.grad(model_loss)(Model(rng.normal(size=(3, 2)), 0.5), x)
    print(type(gm).__name__, gm.W.shape, gm.scale, gm.name)   # Model (3, 2) ... None

    for f, arg in [(mlp, params), (net, layers), (model_loss, gm),
                   (layer_loss, Layer(rng.normal(size=(3, 2)), np.ones(2)))]:
        srcad.testing.check_grads(f, arg, x)           # both modes, every leaf
    print(srcad.hessian(mlp)(params, x)["b1"]["b1"].shape)    # (4, 4): blocks by key
    print("containers: gradients agree with finite differences")


if __name__ == "__main__":
    main()
