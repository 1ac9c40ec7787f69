"""What the numba backend's test modules share: one directory for the generated modules
and Numba's cache per test run, and each derivative built and compiled once per run
(Numba's compile is most of their time)."""
import os

import pytest

import srcad

_BUILT: dict = {}


@pytest.fixture(scope="session")
def numba_cache_dir(tmp_path_factory):
    """$SRCAD_CACHE_DIR set to a directory of the test run's own while a module runs
    (modules use it as an autouse fixture; the directory is the run's, so Numba's disk
    cache serves a derivative two modules compile)."""
    return str(tmp_path_factory.mktemp("srcad_numba"))


@pytest.fixture(scope="module", autouse=False)
def numba_cache(numba_cache_dir):
    old = os.environ.get("SRCAD_CACHE_DIR")
    os.environ["SRCAD_CACHE_DIR"] = numba_cache_dir
    yield numba_cache_dir
    if old is None:
        del os.environ["SRCAD_CACHE_DIR"]
    else:
        os.environ["SRCAD_CACHE_DIR"] = old


def grad(f, **kw):
    """srcad.grad(f, backend="numba", **kw), built (and compiled at its first call) once
    for the test run."""
    key = ("grad", f, tuple(sorted(kw.items())))
    if key not in _BUILT:
        _BUILT[key] = srcad.grad(f, backend="numba", **kw)
    return _BUILT[key]
