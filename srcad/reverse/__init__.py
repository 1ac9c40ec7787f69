"""Reverse mode: an analysis of the primal (analysis.py), then the emitter (emit.py)."""
from .emit import LIVE, OWNED, _Reverse, reverse

__all__ = ["reverse", "LIVE", "OWNED", "_Reverse"]
