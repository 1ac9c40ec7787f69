"""Backends: what compiles a derivative's source. "python" (the default) compiles it with
Python's compile(); "numba" rewrites the derivative tree into code Numba compiles and
compiles it with numba.njit (see numba.py)."""
from __future__ import annotations

from ..errors import SrcadError

BACKENDS = ("python", "numba")


def check(backend) -> str:
    """`backend` if srcad has it, else a SrcadError naming the ones it has."""
    if not isinstance(backend, str) or backend not in BACKENDS:
        shown = repr(backend) if isinstance(backend, str) else type(backend).__name__
        raise SrcadError(f"unknown backend {shown}: use {' or '.join(map(repr, BACKENDS))}")
    return backend
