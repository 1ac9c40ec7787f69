"""srcad: source-transformation automatic differentiation for Python and NumPy.

srcad reads a function's source, lowers it to SSA form and emits the Python
source of its derivative (forward or reverse mode), which it compiles and caches.
"""
from .api import (derivative, grad, hessian, jacfwd, jacrev, jvp, source, ssa, value_and_grad,
                  vjp)
from .custom import custom_rule
from .errors import NonDifferentiableError, SrcadError, UnsupportedSyntaxError
from .runtime import checkpoint, stop_gradient
from . import testing  # noqa: E402

__all__ = ["grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "hessian", "derivative",
           "stop_gradient", "checkpoint", "ssa", "source", "SrcadError", "UnsupportedSyntaxError",
           "NonDifferentiableError", "testing", "custom_rule"]
__version__ = "0.1.0"
__all__ += ["graph", "trace", "export"]                  # srcad/show/, loaded on first use


def __getattr__(name):
    """`graph`, `trace` and `export` (srcad/show/) load on first use, not with srcad."""
    if name in ("graph", "trace", "export"):
        import importlib
        value = getattr(importlib.import_module(f".show.{name}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'srcad' has no attribute {name!r}")
