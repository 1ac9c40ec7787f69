"""Logistic regression over a 10^7 x 20 design matrix that never sits in the driver's
memory: Dask makes it in 10^5-row chunks on a local two-worker dask.distributed cluster,
and srcad's generated gradient (the same code as for NumPy) runs on the chunks there.

The gradient is a lazy Dask array until .compute(); it is checked against the NumPy
gradient of the same data, summed chunk by chunk; the driver's peak memory (tracemalloc,
and the process's peak resident size) is printed. `--small` runs 10^6 rows.
"""
import resource
import sys
import time
import tracemalloc

import numpy as np

import srcad


def loss(w, X, y):
    z = X @ w
    return np.sum(np.logaddexp(0.0, z) - y * z) / X.shape[0]


def main():
    import dask
    import dask.array as da
    from distributed import Client, LocalCluster

    rows = 10 ** 6 if "--small" in sys.argv else 10 ** 7
    cols, chunk = 20, 10 ** 5
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, memory_limit="2GB") as cluster, \
            Client(cluster) as client:
        rs = da.random.RandomState(0)
        X = rs.normal(size=(rows, cols), chunks=(chunk, cols))
        w_true = np.linspace(-1.0, 1.0, cols)
        y = (rs.random_sample(size=rows, chunks=chunk) <
             1.0 / (1.0 + da.exp(-(X @ w_true)))).astype(float)
        X, y = dask.persist(X, y)               # on the workers, not in the driver
        w = np.zeros(cols) + 0.1

        tracemalloc.start()
        t = time.perf_counter()
        g = srcad.grad(loss)(w, X, y)
        assert isinstance(g, da.Array)          # lazy: nothing has run yet
        got = g.compute()
        seconds = time.perf_counter() - t
        driver_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

        # the NumPy gradient of the same data, one chunk at a time in the driver
        want = np.zeros(cols)
        grad_np = srcad.grad(loss)
        for Xb, yb in zip(X.to_delayed().ravel(), y.to_delayed().ravel()):
            Xc, yc = dask.compute(Xb, yb)
            want += grad_np(w, Xc, yc) * (Xc.shape[0] / rows)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)

        data = rows * cols * 8
        print(f"{rows:.0e} x {cols} design matrix ({data / 2 ** 30:.2f} GiB) in "
              f"{rows // chunk} chunks of {chunk} rows, 2 worker processes")
        print(f"gradient: {type(g).__module__}.{type(g).__name__}, computed in "
              f"{seconds:.1f} s; equal to the chunked NumPy gradient to rounding")
        print(f"driver peak (tracemalloc) while building and computing it: "
              f"{driver_peak / 2 ** 20:.1f} MiB = {driver_peak / (chunk * cols * 8):.2f} "
              f"chunks of X ({chunk * cols * 8 / 2 ** 20:.1f} MiB each)")
        print(f"driver peak resident size (whole run): "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 10:.0f} MiB")


if __name__ == "__main__":
    main()
