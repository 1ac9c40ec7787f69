"""The same generated gradient on Dask arrays (ISSUE15): over a chunked design matrix the
gradient is a lazy Dask array, equal to the NumPy gradient (and autograd's) to rounding,
computed on a local dask.distributed cluster of two workers."""
import numpy as np
import pytest

import srcad
from conftest import autograd_grad
from fixtures import regress_dask as rd

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def data(n=2000, d=6, chunk=250):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, d))
    y = (rng.random(n) > 0.5).astype(float)
    return X, y, da.from_array(X, chunks=(chunk, d)), da.from_array(y, chunks=chunk)


def test_logistic_gradient_is_lazy_dask(client):
    X, y, Xd, yd = data()
    w = np.linspace(-0.5, 0.5, X.shape[1])
    g = srcad.grad(rd.logistic)(w, Xd, yd)
    assert isinstance(g, da.Array)                      # lazy: nothing computed yet
    got = g.compute()
    np.testing.assert_allclose(got, srcad.grad(rd.logistic)(w, X, y), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got, autograd_grad(rd.logistic, (w, X, y), 0), rtol=1e-12,
                               atol=1e-15)


def test_mlp_gradient_is_lazy_dask(client):
    X, y, Xd, yd = data()
    rng = np.random.default_rng(2)
    args = (rng.normal(size=(X.shape[1], 8)) * 0.3, np.zeros(8), rng.normal(size=8) * 0.3)
    gs = srcad.grad(rd.mlp, (0, 1, 2))(*args, Xd, yd)
    assert all(isinstance(g, da.Array) for g in gs)
    got = da.compute(*gs)
    for i, g in enumerate(got):
        np.testing.assert_allclose(g, autograd_grad(rd.mlp, (*args, X, y), i), rtol=1e-11,
                                   atol=1e-14)
        assert g.shape == args[i].shape


def test_gradient_of_a_dask_argument_is_dask():
    X, y, Xd, yd = data(400, 3, 100)
    w = np.array([0.1, -0.2, 0.3])
    gX = srcad.grad(rd.logistic, 1)(w, Xd, yd)
    assert isinstance(gX, da.Array) and gX.chunks == Xd.chunks
    np.testing.assert_allclose(gX.compute(), autograd_grad(rd.logistic, (w, X, y), 1),
                               rtol=1e-12, atol=1e-15)
