"""Reverse mode: an analysis of what each adjoint is and what the primal must keep
(analysis.py), then the emitter that writes the derivative from it (emit.py)."""
from . import checkpoint
from .analysis import LIVE, OWNED
from .emit import _Reverse, reverse

__all__ = ["reverse", "LIVE", "OWNED", "_Reverse", "checkpoint"]
