"""lstm: the gradient of an LSTM's average log-loss over a text sequence, with respect to
its main and extra parameters (ADBench's model: gates from the concatenated input and
hidden state scaled elementwise, the normaliser log(2 + sum exp) as the reference has)."""
import numpy as np
import srcad
from tool_backend import BACKEND


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm(weight, bias, hidden, cell, x):
    gates = np.concatenate((x, hidden, x, hidden)) * weight + bias
    h = hidden.shape[0]
    forget = sigmoid(gates[0:h])
    ingate = sigmoid(gates[h:2 * h])
    outgate = sigmoid(gates[2 * h:3 * h])
    change = np.tanh(gates[3 * h:])
    cell = cell * forget + ingate * change
    hidden = outgate * np.tanh(cell)
    return hidden, cell


def predict(w, w2, s, x):
    x = x * w2[0]
    s2 = []
    for i in range(0, s.shape[0], 2):
        hidden, cell = lstm(w[i], w[i + 1], s[i], s[i + 1], x)
        s2.append(hidden)
        s2.append(cell)
        x = hidden
    return x * w2[1] + w2[2], np.stack(s2)


def objective(main_params, extra_params, state, sequence):
    total = 0.0
    count = 0
    x = sequence[0]
    s = state
    for t in range(sequence.shape[0] - 1):
        ypred, s = predict(main_params, extra_params, s, x)
        ynorm = ypred - np.log(np.sum(np.exp(ypred)) + 2.0)
        ygold = sequence[t + 1]
        total = total + np.sum(ygold * ynorm)
        count = count + ygold.shape[0]
        x = ygold
    return -total / count


grad_ = srcad.grad(objective, wrt=(0, 1), backend=BACKEND)


def jacobian(main_params, extra_params, state, sequence):
    gm, ge = grad_(main_params, extra_params, state, sequence)
    return np.concatenate((gm.ravel(), ge.ravel()))


def define():
    l, h, c = 1, 2, 4      # (c != 3: sequence and extra_params of one shape are another kind)
    jacobian(np.ones((2 * l, 4 * h)), np.ones((3, h)), np.ones((2 * l, h)), np.ones((c, h)))


def prepare(input):
    return tuple(np.asarray(input[k], dtype=np.float64)
                 for k in ("main_params", "extra_params", "state", "sequence"))


FUNCTIONS = {
    "objective": (prepare, lambda a: objective(*a), float),
    "jacobian": (prepare, lambda a: jacobian(*a), lambda g: g.tolist()),
}
