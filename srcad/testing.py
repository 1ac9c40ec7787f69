"""Testing helpers for users and for srcad's own tests: derivatives vs finite differences."""
from __future__ import annotations

import numpy as np

from . import api, pipeline, runtime


def _perturb(args, i, idx, h, path=()):
    """`args` with entry `idx` of argument `i` (of its leaf at `path` when it is a
    container, copied along the path) moved by `h`."""
    args = list(args)
    args[i] = _moved(args[i], path, idx, h)
    return args


def _moved(x, path, idx, h):
    if path:
        k = path[0]
        item = x[k] if isinstance(x, (list, tuple, dict)) else runtime._fields(x)[k]
        return _replaced(x, k, _moved(item, path[1:], idx, h))
    if isinstance(x, np.ndarray):
        x = x.astype(np.float64, copy=True)
        x[idx] += h
        return x
    return float(x) + h


def _replaced(x, k, item):
    """A shallow copy of container `x` with item `k` replaced by `item`."""
    if isinstance(x, (list, tuple)):
        items = list(x)
        items[k] = item
        if type(x) is list:
            return items
        return type(x)(*items) if hasattr(type(x), "_fields") else tuple(items)
    fields = dict(runtime._fields(x))
    fields[k] = item
    return runtime._rebuild(x, fields)


def numerical_grad(f, args, i, eps=1e-6, path=()):
    """Central finite differences of scalar-or-array `f` with respect to argument `i` (its
    leaf at `path`, a tuple of keys, positions or field names, when it is a container),
    shaped `out.shape + arg.shape`."""
    x = api._at(args[i], path)
    out0 = np.asarray(f(*args), dtype=np.float64)
    shape = np.shape(x)
    J = np.zeros(out0.shape + shape)
    for idx in np.ndindex(*shape) if shape else [()]:
        h = eps * max(1.0, abs(float(np.asarray(x)[idx])))
        fp = np.asarray(f(*_perturb(args, i, idx, h, path)), dtype=np.float64)
        fm = np.asarray(f(*_perturb(args, i, idx, -h, path)), dtype=np.float64)
        J[(...,) + tuple(idx)] = (fp - fm) / (2 * h)
    return J


def check_grads(f, *args, modes=("forward", "reverse"), wrt=None, rtol=1e-5, atol=1e-6,
                eps=1e-6):
    """Compare srcad's derivatives of `f` at `args` with central finite differences.

    Checks every float or float-array argument and every container argument (a list,
    tuple, NamedTuple, dict, dataclass or object: each float or float-array leaf), or
    those in `wrt`, in each mode: forward mode by a jvp per input direction, reverse mode
    by a vjp per output entry. Raises AssertionError naming the argument (and the leaf)
    and the worst mismatch.
    """
    positions = wrt if wrt is not None else [
        i for i, a in enumerate(args)
        if isinstance(a, float) or (isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.inexact))
        or (pipeline.is_container(a) and api._leaves(a))]
    if isinstance(positions, int):
        positions = [positions]
    for i in positions:
        container = pipeline.is_container(args[i])
        paths = [p for p, _ in api._leaves(args[i])] if container else [()]
        jacs = {}
        for mode in modes:
            if mode not in ("forward", "reverse"):
                raise ValueError(f"unknown mode {mode!r}")
            jac = api.jacfwd if mode == "forward" else api.jacrev
            jacs[mode] = jac(f, wrt=i)(*args)
        for path in paths:
            numeric = numerical_grad(f, args, i, eps, path)
            for mode in modes:
                got = np.asarray(api._at(jacs[mode], path), dtype=np.float64)
                _compare(got, numeric, f, i, mode, rtol, atol, path)


def _compare(got, want, f, i, mode, rtol, atol, path=()):
    name = getattr(f, "__name__", "f")
    if path:
        i = f"{i}{''.join(f'[{k!r}]' for k in path)}"
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
