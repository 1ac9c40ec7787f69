"""The FFT rules (srcad/rules/fft.py)."""

import numpy as np

from srcad import runtime
from conftest import temporary_ratio


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
    assert temporary_ratio(lambda: runtime.fft_vjp(g, x, "fft", 7, -1, None), x) < 0.5
