"""Testing helpers for users and for srcad's own tests: derivatives vs finite differences."""
from __future__ import annotations

import numpy as np

from . import api


def _perturb(args, i, idx, h):
    args = list(args)
    x = args[i]
    if isinstance(x, np.ndarray):
        x = x.astype(np.float64, copy=True)
        x[idx] += h
    else:
        x = float(x) + h
    args[i] = x
    return args


def numerical_grad(f, args, i, eps=1e-6):
    """Central finite differences of scalar-or-array `f` with respect to argument `i`,
    shaped `out.shape + arg.shape`."""
    x = args[i]
    out0 = np.asarray(f(*args), dtype=np.float64)
    shape = np.shape(x)
    J = np.zeros(out0.shape + shape)
    for idx in np.ndindex(*shape) if shape else [()]:
        h = eps * max(1.0, abs(float(np.asarray(x)[idx])))
        fp = np.asarray(f(*_perturb(args, i, idx, h)), dtype=np.float64)
        fm = np.asarray(f(*_perturb(args, i, idx, -h)), dtype=np.float64)
        J[(...,) + tuple(idx)] = (fp - fm) / (2 * h)
    return J


def check_grads(f, *args, modes=("forward", "reverse"), wrt=None, rtol=1e-5, atol=1e-6,
                eps=1e-6):
    """Compare srcad's derivatives of `f` at `args` with central finite differences.

    Checks every float or float-array argument (or those in `wrt`) in each mode:
    forward mode by a jvp per input direction, reverse mode by a vjp per output
    entry. Raises AssertionError naming the argument and the worst mismatch.
    """
    positions = wrt if wrt is not None else [
        i for i, a in enumerate(args)
        if isinstance(a, float) or (isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.inexact))]
    if isinstance(positions, int):
        positions = [positions]
    for i in positions:
        numeric = numerical_grad(f, args, i, eps)
        for mode in modes:
            if mode == "forward":
                got = np.asarray(api.jacfwd(f, wrt=i)(*args), dtype=np.float64)
            elif mode == "reverse":
                got = np.asarray(api.jacrev(f, wrt=i)(*args), dtype=np.float64)
            else:
                raise ValueError(f"unknown mode {mode!r}")
            _compare(got, numeric, f, i, mode, rtol, atol)


def _compare(got, want, f, i, mode, rtol, atol):
    name = getattr(f, "__name__", "f")
    if got.shape != want.shape:
        raise AssertionError(f"{name}: {mode}-mode derivative w.r.t. argument {i} has shape "
                             f"{got.shape}, finite differences {want.shape}")
    err = np.abs(got - want)
    tol = atol + rtol * np.abs(want)
    if not np.all(err <= tol) or not np.all(np.isfinite(got) == np.isfinite(want)):
        k = np.unravel_index(np.argmax(err - tol), err.shape) if err.size else ()
        raise AssertionError(
            f"{name}: {mode}-mode derivative w.r.t. argument {i} disagrees with finite "
            f"differences: worst at index {tuple(int(j) for j in k)}: srcad {got[k]!r}, "
            f"numeric {want[k]!r} (|diff| {err[k]:.3g})")
