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


# regressions' helpers shared by several test files
def second_derivatives(f, args, i=0):
    """jacrev(grad f), jacfwd(grad f), hessian f, and finite differences of grad f."""
    import srcad
    from srcad.testing import numerical_grad
    g = srcad.grad(f, wrt=i)
    want = numerical_grad(g, args, i)
    return [srcad.jacrev(g, wrt=i)(*args), srcad.jacfwd(g, wrt=i)(*args),
            srcad.hessian(f, wrt=i)(*args)], want


def fresh_copies(args):
    return [np.array(a) if isinstance(a, np.ndarray) else a for a in args]


def fd_of_copies(f, args, i=0, h=1e-6):
    """Central differences of `f` (scalar or array output) w.r.t. argument `i`, each call on
    fresh copies of `args`."""
    x = np.asarray(args[i], dtype=float)
    out = np.asarray(f(*fresh_copies(args)), dtype=float)
    J = np.zeros(out.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        parts = []
        for sign in (1, -1):
            a = fresh_copies(args)
            if x.shape:
                a[i] = x.copy()
                a[i][idx] += sign * h
            else:
                a[i] = float(x) + sign * h
            parts.append(np.asarray(f(*a), dtype=float))
        J[(...,) + idx] = (parts[0] - parts[1]) / (2 * h)
    return J


def second_derivatives_of_copies(f, args, i=0):
    """srcad's hessian (and grad(grad) for a float argument), and finite differences of
    srcad's gradient, itself checked against finite differences of f."""
    import srcad
    g = srcad.grad(f, wrt=i)
    np.testing.assert_allclose(g(*fresh_copies(args)), fd_of_copies(f, args, i), rtol=1e-6, atol=1e-8)
    want = fd_of_copies(g, args, i, h=1e-5)
    got = [srcad.hessian(f, wrt=i)(*fresh_copies(args))]
    if isinstance(args[i], float):
        got.append(srcad.grad(g, wrt=i)(*fresh_copies(args)))
    return got, want


def second_order_in_both_modes(f, *args, **kw):
    """grad(f)'s derivatives in both modes (forward over reverse is the Hessian) vs finite
    differences of grad(f)."""
    import srcad
    from srcad.testing import check_grads
    for i in range(len(args)):
        check_grads(srcad.grad(f, wrt=i), *args, rtol=1e-4, atol=1e-5, **kw)


def line_of(func, text):
    """The file line of the first line of `func` containing `text`."""
    lines, first = inspect.getsourcelines(func)
    return next(first + k for k, line in enumerate(lines) if text in line)


def check_values_and_grads(f, *args, second=False):
    """srcad's value (both modes) is Python's; both modes' gradients match finite
    differences and autograd; with `second`, grad(grad) and hessian match autograd's."""
    autograd = pytest.importorskip("autograd")
    import srcad
    from srcad.testing import check_grads
    want = f(*args)
    floats = [i for i, a in enumerate(args) if isinstance(a, (float, np.ndarray))]
    for i in floats:
        value, g = srcad.value_and_grad(f, wrt=i)(*args)
        assert value == want, (f.__name__, "reverse value")
        tangents = [np.ones_like(a) * (k == i) if isinstance(a, np.ndarray) else float(k == i)
                    for k, a in enumerate(args)]
        fvalue, _ = srcad.jvp(f, args, tangents)
        assert fvalue == want, (f.__name__, "forward value")
        ag = autograd.grad(autograd_twin(f), i)(*args)
        np.testing.assert_allclose(g, ag, rtol=1e-9, atol=1e-12)
    check_grads(f, *args, wrt=floats)
    if second:
        twin = autograd_twin(f)
        for i in floats:
            d2 = srcad.grad(srcad.grad(f, wrt=i), wrt=i)(*args)
            want2 = autograd.grad(autograd.grad(twin, i), i)(*args)
            np.testing.assert_allclose(d2, want2, rtol=1e-7, atol=1e-9)
        if all(isinstance(args[i], float) for i in floats) and len(floats) == len(args):
            h = srcad.hessian(f)(*args)
            np.testing.assert_allclose(np.reshape(h, -1), np.reshape(
                autograd.hessian(twin)(*args), -1), rtol=1e-7, atol=1e-9)


def temporary_ratio(fn, like) -> float:
    """The bytes `fn()` holds at its peak beyond what it returns, over like's bytes."""
    import tracemalloc
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return (peak - sum(np.asarray(o).nbytes for o in (out if isinstance(out, tuple) else (out,)))) \
        / like.nbytes


def peak_beyond_result(fn):
    import tracemalloc
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        return tracemalloc.get_traced_memory()[1] - base - out.nbytes
    finally:
        tracemalloc.stop()


_AUTOGRAD_IMPORTS = [("import numpy as np", "import autograd.numpy as np"),
                     ("import numpy.random as npr", "import autograd.numpy.random as npr"),
                     ("from numpy.linalg import solve", "from autograd.numpy.linalg import solve"),
                     ("from scipy.special import logsumexp",
                      "from autograd.scipy.special import logsumexp"),
                     ("from scipy.stats import multivariate_normal as mvn",
                      "import autograd.scipy.stats.multivariate_normal as mvn")]


def under_autograd(module, name):
    """Fixture module `module` and a copy of its source run under autograd (the imports it
    has of _AUTOGRAD_IMPORTS swapped for autograd's), as module `name`."""
    import inspect
    pytest.importorskip("autograd")
    src = inspect.getsource(module)
    for a, b in _AUTOGRAD_IMPORTS:
        src = src.replace(a, b)
    import re
    left = re.findall(r"^(?:import numpy|from numpy|from scipy|import scipy).*$", src, re.M)
    assert not left, (name, left)            # every NumPy/SciPy import swapped
    twin = types.ModuleType(name)
    exec(compile(src, module.__file__, "exec"), twin.__dict__)
    return module, twin
