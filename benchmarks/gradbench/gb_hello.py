"""hello: the derivative of x * x (the protocol's smoke test)."""
import srcad


def square(x):
    return x * x


double_ = srcad.grad(square)


def define():
    double_(1.0)


FUNCTIONS = {
    "square": (float, square, float),
    "double": (float, double_, float),
}
