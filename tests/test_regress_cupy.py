"""The rule tables' sample functions on CuPy arrays (ISSUE15): run only where CuPy and a
GPU are present (skipped otherwise); the gradient stays a CuPy array and equals the NumPy
gradient to rounding."""
import numpy as np
import pytest

import srcad

cp = pytest.importorskip("cupy")
try:
    cp.cuda.runtime.getDeviceCount()
except Exception:                                  # CuPy installed, no usable GPU
    pytest.skip("no GPU for CuPy", allow_module_level=True)

from fixtures import regress_dask as rd            # noqa: E402


def test_logistic_on_cupy():
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(300, 4)), (rng.random(300) > 0.5) * 1.0, rng.normal(size=4)
    g = srcad.grad(rd.logistic, 1)(w, cp.asarray(X), cp.asarray(y))
    assert isinstance(g, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(g), srcad.grad(rd.logistic, 1)(w, X, y), rtol=1e-12)


def test_mlp_on_cupy():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(200, 5)), rng.normal(size=200)
    args = (rng.normal(size=(5, 6)), np.zeros(6), rng.normal(size=6))
    gs = srcad.grad(rd.mlp, (0, 1, 2))(*map(cp.asarray, args), cp.asarray(X), cp.asarray(y))
    for g, want in zip(gs, srcad.grad(rd.mlp, (0, 1, 2))(*args, X, y)):
        assert isinstance(g, cp.ndarray)
        np.testing.assert_allclose(cp.asnumpy(g), want, rtol=1e-12)
