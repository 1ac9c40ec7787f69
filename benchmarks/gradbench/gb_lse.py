"""lse: the gradient of log-sum-exp, written as a NumPy user writes it."""
import numpy as np
import srcad


def logsumexp(x):
    m = np.max(x)
    return np.log(np.sum(np.exp(x - m))) + m


gradient_ = srcad.grad(logsumexp)


def define():
    gradient_(np.ones(3))


def prepare(input):
    return np.asarray(input["x"], dtype=np.float64)


FUNCTIONS = {
    "primal": (prepare, logsumexp, float),
    "gradient": (prepare, gradient_, lambda g: g.tolist()),
}
