"""det: the gradient of a determinant computed by expansion by minors along the first row,
recursively, as cmpad's reference does: each minor is named by its first row and the
columns left, so no matrix is copied."""
import numpy as np
import srcad
from tool_backend import BACKEND


def det_minor(a, n, row, cols):
    """The determinant of the minor of the n x n matrix `a` (row-major) made of rows
    row..n-1 and the columns `cols`."""
    if len(cols) == 1:
        return a[row * n + cols[0]]
    total = 0.0
    sign = 1.0
    for k in range(len(cols)):
        rest = cols[:k] + cols[k + 1:]
        total = total + sign * a[row * n + cols[k]] * det_minor(a, n, row + 1, rest)
        sign = -sign
    return total


def det(a, n):
    return det_minor(a, n, 0, list(range(n)))


grad_ = srcad.grad(det, backend=BACKEND)


def define():
    grad_(np.arange(1.0, 10.0), 3)


def prepare(input):
    return np.asarray(input["A"], dtype=np.float64), int(input["ell"])


FUNCTIONS = {
    "primal": (prepare, lambda a: det(*a), float),
    "gradient": (prepare, lambda a: grad_(*a), lambda g: g.tolist()),
}
