"""benchmarks/adjoint_cost.py: what it measures of a statement's temporaries and where it
compares srcad's gradients with autograd's."""
import importlib.util
import os
import sys

import numpy as np

import srcad

from fixtures import regress_s5mem as fx

sys.path.insert(1, os.path.join(os.path.dirname(__file__), "..", "rules"))
import fixtures_numpy as fxn  # noqa: E402


def _benchmark():
    path = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "adjoint_cost.py")
    spec = importlib.util.spec_from_file_location("adjoint_cost", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_measures_a_statements_own_temporary():
    """The benchmark judges each statement's temporary against the arrays it names: the
    n x n outer product of a statement naming only x and a number is 100 x's bytes; a sine
    holds nothing besides its result."""
    bench = _benchmark()
    x = np.ones(100)
    ratio, line = bench.statement_ratio(lambda: fx.outer_sum(x), fx.outer_sum, x.nbytes)
    assert ratio > 50 and "np.outer" in line
    ratio, line = bench.statement_ratio(lambda: fx.sine(np.ones(10000)), fx.sine, 80000)
    assert ratio < 0.1


def _fd_vjp(f, x, w, eps=1e-6):
    """The gradient of sum(f(x) * w) by central differences, entry by entry."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = np.sum((f(x + e) - f(x - e)) * w) / (2 * eps)
    return g


def test_benchmark_compares_with_autograd_only_where_autograd_is_right():
    """np.diag of a non-square matrix and np.tile of a 2-d array to 3-d: autograd's gradients
    are wrong (a (3, 3) gradient for a (3, 4) matrix; a wrong tile sum), and the benchmark
    compared srcad with them at its largest sample (MISMATCH). It now takes the largest
    argument tuple autograd can check, and srcad's gradient at the other is right."""
    bench = _benchmark()
    samples = dict((f.__name__, a) for f, a in fxn.SAMPLES)
    for name in ("np_diag_matrix", "np_tile"):
        args, ok = bench.pick_args(name, samples[name], fxn.AUTOGRAD_LACKS)
        assert ok and args is samples[name][0]
    rng = np.random.default_rng(3)
    for f, shape in ((fxn.np_diag_matrix, (5, 7)), (fxn.np_diag_matrix, (7, 5)),
                     (fxn.np_tile, (4, 6))):
        x = rng.uniform(0.5, 1.5, size=shape)
        w = rng.normal(size=np.shape(f(x)))
        got = srcad.grad(lambda x: np.sum(f(x) * w))(x)
        np.testing.assert_allclose(got, _fd_vjp(f, x, w), rtol=1e-6, atol=1e-8)
