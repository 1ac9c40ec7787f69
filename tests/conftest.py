"""Shared helpers for srcad's core tests: oracles that do not come from srcad itself."""
import importlib
import inspect
import os
import sys
import types

import numpy as np
import pytest

# srcad's internal checks of generated code (srcad/check.py) run on every build in the tests
os.environ.setdefault("SRCAD_CHECKS", "1")

TESTS = os.path.dirname(os.path.abspath(__file__))
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)


def autograd_twin(func):
    """`func` with its module re-executed under autograd.numpy (helpers included).

    The fixture module's `import numpy as np` is rewritten to `import autograd.numpy as np`;
    `srcad.stop_gradient` has no autograd counterpart, so twins of functions using it are
    not meaningful.
    """
    ag = pytest.importorskip("autograd")  # noqa: F841
    module = sys.modules[func.__module__]
    src = inspect.getsource(module)
    assert "import numpy as np" in src
    src = src.replace("import numpy as np", "import autograd.numpy as np")
    twin = types.ModuleType(module.__name__ + "_autograd")
    twin.__file__ = module.__file__
    exec(compile(src, module.__file__, "exec"), twin.__dict__)
    return getattr(twin, func.__name__)


def autograd_grad(func, args, i):
    """autograd's gradient of scalar `func` at `args` with respect to argument `i`."""
    autograd = pytest.importorskip("autograd")
    return autograd.grad(autograd_twin(func), i)(*args)


def fwd_grad(func, args, i):
    """The gradient of scalar `func` w.r.t. argument `i` by srcad.jvp, one direction per entry."""
    import srcad
    x = args[i]
    zeros = [0.0 if isinstance(a, (float, int)) else np.zeros_like(a, dtype=float)
             for a in args]
    if isinstance(x, float):
        tangents = list(zeros)
        tangents[i] = 1.0
        return srcad.jvp(func, args, tangents)[1]
    g = np.zeros(np.shape(x))
    for idx in np.ndindex(*np.shape(x)):
        e = np.zeros(np.shape(x), dtype=x.dtype)
        e[idx] = 1.0
        tangents = list(zeros)
        tangents[i] = e
        g[idx] = srcad.jvp(func, args, tangents)[1]
    return g


def second_order(f, args, i=0):
    """hessian (forward over reverse) and jacrev of grad (reverse over reverse) against
    finite differences of the gradient."""
    import srcad
    from srcad.testing import numerical_grad
    g = srcad.grad(f, wrt=i)
    want = numerical_grad(g, list(args), i)
    for got in (srcad.hessian(f, wrt=i)(*args), srcad.jacrev(g, wrt=i)(*args)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def fresh_module(name):
    """A new copy of fixture module `name` (new function objects, so srcad's cache is cold)."""
    spec = importlib.util.find_spec(name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
