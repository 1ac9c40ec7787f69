"""Basics: gradients of two small functions, and the code srcad writes for them.

    python examples/basics.py

`f` is also the command-line example:

    srcad dump examples/basics.py:f --mode reverse --wrt x0,x1
"""
import math

import srcad
import srcad.testing


def f(x0: float, x1: float):
    return x0 * x1 + x1 / x0


def g(x1, x2):
    # The textbook example of Griewank & Walther, "Evaluating Derivatives".
    return math.log(x1) + x1 * x2 - math.sin(x2)


if __name__ == "__main__":
    # f at (3, 5): value 15 + 5/3 = 16 2/3.
    # By hand: df/dx0 = x1 - x1/x0**2 = 4 4/9,  df/dx1 = x0 + 1/x0 = 3 1/3.
    value, (d0, d1) = srcad.value_and_grad(f, wrt=(0, 1))(3.0, 5.0)
    print(f"f(3, 5)          = {value:.6f}   (exact 16.666667)")
    print(f"df/dx0, df/dx1   = {d0:.6f}, {d1:.6f}   (exact 4.444444, 3.333333)")
    assert math.isclose(value, 50 / 3)
    assert math.isclose(d0, 40 / 9) and math.isclose(d1, 10 / 3)

    # g at (2, 5), differentiating by parameter *name* this time.
    # By hand: dg/dx1 = 1/x1 + x2 = 5.5,  dg/dx2 = x1 - cos(x2).
    dg1, dg2 = srcad.grad(g, wrt=("x1", "x2"))(2.0, 5.0)
    print(f"g(2, 5)          = {g(2.0, 5.0):.6f}")
    print(f"dg/dx1, dg/dx2   = {dg1:.6f}, {dg2:.6f}   (exact 5.500000, {2 - math.cos(5):.6f})")
    assert math.isclose(dg1, 5.5) and math.isclose(dg2, 2 - math.cos(5.0))

    # The same check users run on their own code: forward and reverse mode
    # against central finite differences.
    srcad.testing.check_grads(f, 3.0, 5.0)
    srcad.testing.check_grads(g, 2.0, 5.0)
    print("check_grads: f and g agree with finite differences")

    # srcad is a source transformation: the derivative is ordinary Python.
    print("\nGenerated reverse-mode code for f:\n")
    print(srcad.source(f, mode="reverse", wrt=(0, 1)))
