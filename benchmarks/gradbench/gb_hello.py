"""hello: the derivative of x * x (the protocol's smoke test)."""
from gradbench import wrap

import srcad


def square(x):
    return x * x


double_ = srcad.grad(square)


def define():
    double_(1.0)


FUNCTIONS = {
    "square": wrap.function(pre=float, post=float)(square),
    "double": wrap.function(pre=float, post=float)(double_),
}
