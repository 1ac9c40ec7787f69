"""Fifth session, adjoint cost: reverse mode over scipy.integrate.odeint's adjoint (a grad
of a grad, refused before), the temporaries of the symmetric-matrix adjoints (eigh,
eigvalsh, cholesky, qr: n x n masks before), and the adjoint-cost benchmark's measure of a
statement's temporary, and np.fft's adjoint of a real input (a complex array of its shape
before)."""
import importlib.util
import os
import tracemalloc

import numpy as np
import pytest

import srcad
from fixtures import regress_s5mem as fx
from srcad import runtime

T = np.linspace(0.0, 1.0, 4)


def _needs_scipy():
    pytest.importorskip("scipy")


def _central(f, args, i, h=1e-5):
    """Central differences of the scalar f in argument i."""
    x = np.asarray(args[i], dtype=float)
    out = np.zeros(x.shape)
    for j in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[j] = h
        up, down = list(args), list(args)
        up[i], down[i] = x + e, x - e
        out[j] = (f(*up) - f(*down)) / (2 * h)
    return out


def test_grad_of_grad_through_odeint_closed_form():
    """y = y0 exp(-k dt): d2/dk2 sum(y) = sum(y0) sum(dt^2 e), d2/dk dy0 = sum(-dt e); a
    float32 y0 keeps its dtype."""
    _needs_scipy()
    y0, k = np.array([1.0, 2.0], dtype=np.float32), 0.7
    dt = T - T[0]
    e = np.exp(-k * dt)
    h_y0, h_k = srcad.grad(srcad.grad(fx.linear_sum, wrt=1), wrt=(0, 1))(y0, k, T)
    np.testing.assert_allclose(h_k, np.sum(y0) * np.sum(dt ** 2 * e), rtol=1e-6)
    np.testing.assert_allclose(h_y0, np.full(2, np.sum(-dt * e)), rtol=1e-6)
    assert h_y0.dtype == np.float32


@pytest.mark.parametrize("name, args", [
    ("lotka_slope", (np.array([1.0, 0.5]), np.array([0.8, 0.6]), T)),
    ("driven_slope", (np.array([1.0, 0.0]), 1.3, 0.7, T))])
def test_grad_of_grad_through_odeint_finite_differences(name, args):
    """The gradient of a weighted first derivative (a grad inside) in y0, the dynamics'
    parameters (args=, or what a lambda captures) and t, against central differences of
    that first derivative."""
    _needs_scipy()
    f = getattr(fx, name)
    wrt = tuple(range(len(args)))
    got = srcad.grad(f, wrt=wrt)(*args)
    for i in wrt:
        np.testing.assert_allclose(got[i], _central(f, args, i), rtol=1e-6, atol=1e-7)


def test_third_order_through_odeint_is_refused_at_the_user_line():
    _needs_scipy()
    line = fx.linear_sum.__code__.co_firstlineno + 2
    g2 = srcad.grad(srcad.grad(fx.linear_sum, wrt=1), wrt=1)
    y0 = np.array([1.0, 2.0])
    for third in (lambda: srcad.grad(g2, wrt=1)(y0, 0.7, T),
                  lambda: srcad.jvp(g2, (y0, 0.7, T), (np.zeros(2), 1.0, np.zeros(4)))):
        with pytest.raises(srcad.UnsupportedSyntaxError,
                           match=rf"regress_s5mem\.py:{line}: .*built to second order"):
            third()


def _masked(g, upper):
    """_on_triangle as it was written, with n x n masks: the oracle of the np.tril form."""
    n = g.shape[-1]
    strict = np.tri(n, n, -1)
    strict = strict.T if upper else strict
    return (g + np.swapaxes(g, -1, -2)) * strict + g * np.eye(n)


@pytest.mark.parametrize("upper", [False, True])
def test_triangle_helpers_match_the_masked_forms(upper):
    rng = np.random.default_rng(1)
    g = rng.normal(size=(2, 4, 4))
    np.testing.assert_allclose(runtime._on_triangle(g, upper), _masked(g, upper))
    tri = np.tri(4, 4).T if upper else np.tri(4, 4)
    strict = np.tri(4, 4, -1).T if upper else np.tri(4, 4, -1)
    np.testing.assert_allclose(runtime._symmetric_from(g, upper),
                               g * tri + np.swapaxes(g * strict, -1, -2))
    np.testing.assert_allclose(runtime._phi(g), g * np.tri(4, 4) - 0.5 * g * np.eye(4))
    assert runtime._on_triangle(g.astype(np.float32), upper).dtype == np.float32


def _temporary(fn, like) -> float:
    """The bytes `fn()` holds at its peak beyond what it returns, over like's bytes."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return (peak - sum(np.asarray(o).nbytes for o in (out if isinstance(out, tuple) else (out,)))) \
        / like.nbytes


def test_symmetric_adjoints_hold_fewer_temporaries():
    """The adjoints of eigh, eigvalsh and cholesky multiplied by three n x n constant masks
    (a temporary per product) and kept every intermediate in a local: at n = 160 they held
    6.0, 7.0 and 11.0 times the matrix besides their result, now 3.3, 2.3 and 3.3."""
    rng = np.random.default_rng(0)
    n = 160
    a = rng.normal(size=(n, n))
    a = a + a.T + n * np.eye(n)
    w, v = np.linalg.eigh(a)
    lo = np.linalg.cholesky(a)
    assert _temporary(lambda: runtime._on_triangle(a, False), a) < 2.0
    assert _temporary(lambda: runtime.eigh_vjp((w, v), (w, v)), a) < 4.5
    assert _temporary(lambda: runtime.eigvalsh_vjp(w, a), a) < 3.5
    assert _temporary(lambda: runtime.cholesky_vjp(a, lo), a) < 4.5


def test_fft_adjoint_of_a_real_input_is_made_real_before_padding():
    """fft_vjp padded the complex adjoint to x's length and returned its real part, a view
    holding the complex array: twice x's bytes kept alive, and a complex padding made."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 4096))
    g = rng.normal(size=(4, 7)) + 1j * rng.normal(size=(4, 7))
    got = runtime.fft_vjp(g, x, "fft", 7, -1, None)
    want = np.zeros(x.shape)
    want[:, :7] = np.real(np.fft.fft(g, 7, -1))          # fft's matrix is symmetric
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert got.base is None and got.dtype == np.float64
    assert _temporary(lambda: runtime.fft_vjp(g, x, "fft", 7, -1, None), x) < 0.5


def _benchmark():
    path = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "adjoint_cost.py")
    spec = importlib.util.spec_from_file_location("adjoint_cost_s5mem", path)
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
