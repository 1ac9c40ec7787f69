"""gmm, second variant: the eval's own naive Python `log_posterior` (upstream's
`gradbench/evals/gmm/run.py`: loops over points and components, `Qk[j, j] = ...` entry by
entry, `np.linalg.det`/`inv`, scipy's `multigammaln`), imported from the harness and
differentiated unmodified by `srcad.grad`. `run.py --gmm=naive` selects it.

Its product of densities underflows to 0 (log -inf) beyond about a hundred points at d=2,
as the reference itself does: run it at small `-n`."""
import numpy as np
import srcad
from gradbench.evals.gmm.run import log_posterior

NAMES = ("alpha", "mu", "q", "l")
grad_ = srcad.grad(log_posterior, wrt=NAMES)


def prepare(input):
    """The keyword arguments as the eval's naive validator passes them (lists of point and
    mean vectors), alpha, q and l as arrays."""
    return dict(D=input["d"], K=input["k"], N=input["n"],
                x=[np.array(xi, dtype=np.float64) for xi in input["x"]], m=input["m"],
                gamma=float(input["gamma"]), alpha=np.array(input["alpha"], dtype=np.float64),
                mu=[np.array(mi, dtype=np.float64) for mi in input["mu"]],
                q=np.array(input["q"], dtype=np.float64),
                l=np.array(input["l"], dtype=np.float64))


def define():
    grad_(**prepare({"d": 2, "k": 2, "n": 3, "x": [[0.1, 0.2], [0.3, -0.1], [0.0, 0.5]],
                     "m": 0, "gamma": 1.0, "alpha": [0.1, 0.2], "mu": [[0.0, 0.1], [0.2, 0.3]],
                     "q": [[0.1, 0.2], [0.0, -0.1]], "l": [[0.3], [0.1]]}))


def post_grad(g):
    return {name: np.asarray(part).tolist() for name, part in zip(NAMES, g)}


FUNCTIONS = {
    "objective": (prepare, lambda kw: log_posterior(**kw), float),
    "jacobian": (prepare, lambda kw: grad_(**kw), post_grad),
}
