"""The cache of built derivatives (srcad/pipeline.py): rebound, redefined and reloaded
helpers are followed, closures and lambdas are built once."""
import gc
import importlib
import linecache
import sys
import textwrap

import numpy as np
import pytest

import srcad
from srcad import pipeline

from fixtures import regress_api as ra


X = np.array([1.0, 2.0])


def test_rebound_global_helper_is_followed(monkeypatch):
    g = srcad.grad(ra.act_loss)
    assert g(0.3) == pytest.approx(2 / np.cosh(0.3) ** 2)
    monkeypatch.setattr(ra, "ACT", np.sin)
    assert ra.act_loss(0.3) == pytest.approx(2 * np.sin(0.3))
    assert srcad.grad(ra.act_loss)(0.3) == pytest.approx(2 * np.cos(0.3))
    assert g(0.3) == pytest.approx(2 * np.cos(0.3))        # the grad made before, too


def test_redefined_user_helper_is_followed(monkeypatch):
    g = srcad.grad(ra.helper_loss)
    assert g(1.5) == pytest.approx(2 * 1.5 + 1)
    monkeypatch.setattr(ra, "helper", ra.cube)
    assert srcad.grad(ra.helper_loss)(1.5) == pytest.approx(3 * 1.5 ** 2 + 1)
    assert g(1.5) == pytest.approx(3 * 1.5 ** 2 + 1)
    assert g(np.array([1.5]))[0] == pytest.approx(3 * 1.5 ** 2 + 1)


def test_changed_defaults_are_followed():
    g = srcad.grad(ra.scaled)
    assert g(1.5) == pytest.approx(2 * 2.0 * 1.5)
    saved = ra.scaled.__defaults__
    try:
        ra.scaled.__defaults__ = (3.0,)
        assert ra.scaled(1.5) == pytest.approx(3.0 * 1.5 ** 2)
        assert g(1.5) == pytest.approx(2 * 3.0 * 1.5)
        assert srcad.grad(ra.scaled)(1.5) == pytest.approx(2 * 3.0 * 1.5)
        assert srcad.value_and_grad(ra.scaled)(1.5)[0] == pytest.approx(3.0 * 1.5 ** 2)
        assert srcad.vjp(ra.scaled, 1.5)[1](1.0)[0] == pytest.approx(2 * 3.0 * 1.5)
    finally:
        ra.scaled.__defaults__ = saved


def _module(tmp_path, name, text):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(text))
    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module(name), path
    finally:
        sys.path.remove(str(tmp_path))


def test_reloaded_helper_is_followed(tmp_path):
    mod, path = _module(tmp_path, "srcad_regress_reload", """
        def helper(x):
            return x * x

        def loss(x):
            return helper(x) * 2.0
        """)
    try:
        old = srcad.grad(mod.loss)
        assert old(1.5) == pytest.approx(4 * 1.5)
        path.write_text(path.read_text().replace("return x * x", "return x * x * x"))
        linecache.checkcache(str(path))
        sys.path.insert(0, str(tmp_path))
        importlib.invalidate_caches()
        importlib.reload(mod)
        sys.path.remove(str(tmp_path))
        assert srcad.grad(mod.loss)(1.5) == pytest.approx(6 * 1.5 ** 2)
        assert old(1.5) == pytest.approx(6 * 1.5 ** 2)     # the old loss calls the new helper
    finally:
        sys.modules.pop("srcad_regress_reload", None)


def test_source_edited_without_reload_is_refused(tmp_path):
    mod, path = _module(tmp_path, "srcad_regress_edited", """
        def loss(x):
            return x * 2.0
        """)
    try:
        assert srcad.grad(mod.loss)(1.0) == 2.0
        path.write_text(path.read_text().replace("x * 2.0", "x * 3.0"))
        linecache.checkcache(str(path))
        with pytest.raises(srcad.SrcadError, match="reload"):
            srcad.grad(mod.loss)(np.array(1.0))         # a new build reads the new text
        with pytest.raises(srcad.SrcadError, match="reload"):
            srcad.jvp(mod.loss, (1.0,), (1.0,))
    finally:
        sys.modules.pop("srcad_regress_edited", None)


def _count_builds(monkeypatch) -> list:
    """The functions pipeline.build is asked to build from now on, in order."""
    builds = []
    real = pipeline.build

    def counting(*a, **k):
        builds.append(a[0])
        return real(*a, **k)
    monkeypatch.setattr(pipeline, "build", counting)
    return builds


def test_a_lambda_recreated_each_step_is_built_once(monkeypatch):
    builds = _count_builds(monkeypatch)
    before = len(linecache.cache)
    for _ in range(3000):
        assert srcad.grad(lambda x: x * x)(1.5) == 3.0
    gc.collect()
    assert len(builds) <= 2
    assert len(linecache.cache) - before <= 2


def test_a_closure_recreated_each_step_reuses_the_derivative(monkeypatch):
    builds = _count_builds(monkeypatch)
    w = np.array([1.0, -2.0])
    for i in range(200):
        X = np.array([[1.0, 2.0], [0.5, -1.0]]) * (i + 1)
        np.testing.assert_allclose(ra.train_step(w, X), 2 * X.T @ (X @ w))
        assert ra.scale_step(1.5, float(i)) == pytest.approx(2 * i * 1.5)
    assert len(builds) <= 6


def test_dropped_derivatives_free_their_linecache_entries(monkeypatch):
    monkeypatch.setattr(pipeline._CACHE, "limit", 16)
    before = {k for k in linecache.cache if k.startswith("<srcad ")}
    for i in range(80):
        src = f"def fresh(x):\n    return x * {i}.5\n"
        name = f"<regress-api-fresh-{i}>"
        linecache.cache[name] = (len(src), None, src.splitlines(True), name)
        ns: dict = {}
        exec(compile(src, name, "exec"), ns)
        assert srcad.grad(ns["fresh"])(1.0) == i + 0.5
        del linecache.cache[name]
    gc.collect()
    now = {k for k in linecache.cache if k.startswith("<srcad fresh ")}
    assert len(now - before) <= 32              # about the 16 kept, not 80


class _RNNCell:
    def __init__(self, seed):
        rs = np.random.RandomState(seed)
        self.W = rs.randn(3, 3) * 0.5
        self.U = rs.randn(3)

    def forward(self, h, us):
        for t in range(len(us)):
            h = np.tanh(self.W @ h + self.U * us[t])
        return h


_CELL_A, _CELL_B = _RNNCell(0), _RNNCell(1)


def _loss_a(h, us):
    return np.sum(_CELL_A.forward(h, us) ** 2)


def _loss_b(h, us):
    return np.sum(_CELL_B.forward(h, us) ** 2)


def test_a_method_rebound_to_another_instance_keeps_what_srcad_knows_of_it():
    """B.forward's derivative reuses A.forward's compiled code with B as self; the copy
    lost the mark that it is srcad's own code, so a hessian through B.forward after any
    derivative through A.forward was refused ('forward_bwd() changes its argument
    residuals in place')."""
    from conftest import second_order
    h, us = np.array([0.3, -0.2, 0.5]), np.array([0.7, -1.1, 0.4, 0.9])
    srcad.grad(_loss_a)(h, us)
    second_order(_loss_b, (h, us))
    second_order(_loss_a, (h, us))
