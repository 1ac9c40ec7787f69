"""Regression tests for the public API (issue 9): bound methods, stale derivatives, the
cache, non-scalar and non-numeric outputs, complex inputs, transforms of transforms,
(co)tangent checks, defaults in jvp/vjp, tuple wrt in jacobians, messages."""
import functools
import gc
import importlib
import linecache
import sys
import textwrap

import numpy as np
import pytest

import srcad
from srcad import pipeline
from srcad.testing import numerical_grad

from fixtures import regress_api as ra

W0 = np.array([1.0, 3.0])
X = np.array([1.0, 2.0])


# ------------------------------------------------------------ bound methods

def test_bound_method_arguments_are_not_shifted():
    m = ra.Model(W0)
    np.testing.assert_allclose(srcad.grad(m.f)(X), 2 * 2.0 * X)            # [4, 8]
    value, g = srcad.value_and_grad(m.f)(X)
    assert value == pytest.approx(10.0)
    np.testing.assert_allclose(g, [4.0, 8.0])
    np.testing.assert_allclose(srcad.grad(m.f)(X, 3.0), 2 * 3.0 * X)
    np.testing.assert_allclose(srcad.grad(m.f)(X, scale=3.0), 2 * 3.0 * X)


def test_bound_method_wrt_names_its_visible_parameters():
    m = ra.Model(W0)
    assert srcad.grad(m.f, wrt=1)(X, 3.0) == pytest.approx(np.sum(X ** 2))
    gw, gs = srcad.grad(m.f, wrt=("w", "scale"))(X, 3.0)
    np.testing.assert_allclose(gw, 6.0 * X)
    assert gs == pytest.approx(5.0)
    with pytest.raises(srcad.SrcadError):
        srcad.grad(m.f, wrt="self")


def test_bound_method_reads_self_when_it_runs():
    m = ra.Model(W0.copy())
    g = srcad.grad(m.g)
    np.testing.assert_allclose(g(X), 2 * W0 * X * 2.0)
    m.W = np.array([5.0, 7.0])
    m.scale = 0.5
    np.testing.assert_allclose(g(X), 2 * np.array([5.0, 7.0]) * X * 0.5)
    np.testing.assert_allclose(srcad.grad(m.g)(X), 2 * np.array([5.0, 7.0]) * X * 0.5)
    other = ra.Model(np.array([-1.0, 2.0]))
    np.testing.assert_allclose(srcad.grad(other.g)(X), 2 * np.array([-1.0, 2.0]) * X * 2.0)
    np.testing.assert_allclose(g(X), numerical_grad(m.g, (X,), 0), rtol=1e-6)


def test_bound_method_calling_another_method():
    m = ra.Model(W0)
    gw, gb = srcad.grad(m.h, wrt=(0, 1))(X, np.array([0.5, -1.0]))
    np.testing.assert_allclose(gw, 2 * W0 * X * 2.0)
    np.testing.assert_allclose(gb, W0)


def test_bound_method_reading_a_private_attribute():
    m = ra.Model(W0)
    np.testing.assert_allclose(srcad.grad(m.private)(X), [0.5, 0.5])
    m._Model__bias = 4.0
    np.testing.assert_allclose(srcad.grad(m.private)(X), [4.0, 4.0])


def test_classmethod_and_staticmethod():
    np.testing.assert_allclose(srcad.grad(ra.Model.c)(X), 3 * X ** 2)
    np.testing.assert_allclose(srcad.grad(ra.Model(W0).c)(X), 3 * X ** 2)
    np.testing.assert_allclose(srcad.grad(ra.Model.s)(X), 3 * X ** 2)
    assert srcad.value_and_grad(ra.Model.c)(X)[0] == pytest.approx(np.sum(X ** 3) + 1.0)


def test_bound_method_in_every_transformation():
    m = ra.Model(W0)
    out, t = srcad.jvp(m.f, (X,), (np.array([1.0, 0.0]),))
    assert (out, t) == pytest.approx((10.0, 4.0))
    out, pull = srcad.vjp(m.g, X)
    np.testing.assert_allclose(pull(1.0)[0], 2 * W0 * X * 2.0)
    np.testing.assert_allclose(srcad.jacrev(m.g)(X), 2 * W0 * X * 2.0)
    np.testing.assert_allclose(srcad.jacfwd(m.g)(X), 2 * W0 * X * 2.0)
    np.testing.assert_allclose(srcad.hessian(m.g)(X), np.diag(2 * W0 * 2.0))
    assert "scale" in srcad.source(m.f, wrt="w")
    df = srcad.derivative(m.f, wrt="w")
    np.testing.assert_allclose(df(X, 2.0), [4.0, 8.0])


# ------------------------------------------------------------ stale derivatives

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


def test_a_lambda_recreated_each_step_is_built_once(monkeypatch):
    builds = []
    real = pipeline.build

    def counting(*a, **k):
        builds.append(a[0])
        return real(*a, **k)
    monkeypatch.setattr(pipeline, "build", counting)
    before = len(linecache.cache)
    for _ in range(3000):
        assert srcad.grad(lambda x: x * x)(1.5) == 3.0
    gc.collect()
    assert len(builds) <= 2
    assert len(linecache.cache) - before <= 2


def test_a_closure_recreated_each_step_reuses_the_derivative(monkeypatch):
    builds = []
    real = pipeline.build

    def counting(*a, **k):
        builds.append(a[0])
        return real(*a, **k)
    monkeypatch.setattr(pipeline, "build", counting)
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


# ------------------------------------------------------------ outputs grad refuses

@pytest.mark.parametrize("transform", [srcad.grad, srcad.value_and_grad])
def test_grad_of_non_scalar_output_is_refused(transform):
    with pytest.raises(srcad.SrcadError, match=r"scalar output.*\(2,\).*vjp"):
        transform(ra.vec)(X)


@pytest.mark.parametrize("f", [ra.as_bytes, ra.as_string, ra.pair])
def test_grad_of_non_numeric_output_is_refused(f):
    with pytest.raises(srcad.SrcadError, match="real scalar output"):
        srcad.grad(f)(1.5)


def test_size_one_outputs_count_as_scalars():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(srcad.grad(ra.first)(x), [3.0, 0, 0, 0])
    np.testing.assert_allclose(srcad.grad(ra.corner)(x), [2.0, 0, 0, 0])
    value, g = srcad.value_and_grad(ra.first)(x)
    np.testing.assert_allclose(value, [3.0])
    np.testing.assert_allclose(g, numerical_grad(lambda v: ra.first(v)[0], (x,), 0), rtol=1e-6)


# ------------------------------------------------------------ complex inputs

@pytest.mark.parametrize("value", [1.0 + 2.0j, np.complex128(1.0), np.array([1.0, 2.0j])])
@pytest.mark.parametrize("call", [
    lambda v: srcad.grad(ra.square)(v),
    lambda v: srcad.value_and_grad(ra.square)(v),
    lambda v: srcad.jvp(ra.square, (v,), (v,)),
    lambda v: srcad.vjp(ra.square, v),
    lambda v: srcad.jacfwd(ra.square)(v),
    lambda v: srcad.jacrev(ra.square)(v),
    lambda v: srcad.hessian(ra.square)(v),
], ids=["grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "hessian"])
def test_complex_arguments_are_refused(call, value):
    with pytest.raises(srcad.SrcadError, match="'x'.* complex"):
        call(value)


def test_complex_tangents_and_cotangents_are_refused():
    with pytest.raises(srcad.SrcadError, match="'x'.* complex"):
        srcad.grad(ra.square)([1.0, 2.0j])                    # an item of a list argument
    with pytest.raises(srcad.SrcadError, match="tangent for x is complex"):
        srcad.jvp(ra.square, (1.0,), (1.0j,))
    out, pull = srcad.vjp(ra.vec, X)
    with pytest.raises(srcad.SrcadError, match="cotangent is complex"):
        pull(np.array([1.0j, 0.0]))


# ------------------------------------------------------------ transforms of transforms

def test_grad_of_value_and_grad_is_a_clear_error():
    with pytest.raises(srcad.SrcadError, match="value_and_grad"):
        srcad.grad(srcad.value_and_grad(ra.square))(1.5)


@pytest.mark.parametrize("inner", [srcad.jacfwd, srcad.jacrev, srcad.hessian])
def test_grad_of_a_jacobian_is_a_clear_error(inner):
    with pytest.raises(srcad.SrcadError, match=inner.__name__):
        srcad.grad(inner(ra.square))(1.5)


def test_grad_of_a_pullback_is_a_clear_error():
    _, pull = srcad.vjp(ra.square, 1.5)
    with pytest.raises(srcad.SrcadError, match="srcad's own function"):
        srcad.grad(pull)(1.0)


def test_grad_of_grad_still_works():
    assert srcad.grad(srcad.grad(ra.cube))(1.5) == pytest.approx(6 * 1.5)


# ------------------------------------------------------------ tangents, cotangents, defaults

def test_wrongly_shaped_tangent_names_argument_and_shapes():
    with pytest.raises(srcad.SrcadError, match=r"tangent for x has shape \(3,\).*\(2,\)"):
        srcad.jvp(ra.vec, (X,), (np.ones(3),))
    with pytest.raises(srcad.SrcadError, match="tangent for x must be a float"):
        srcad.jvp(ra.vec, (X,), ("a",))
    t = srcad.jvp(ra.vec, (X,), (np.array([1, 0]),))[1]           # an int tangent is fine
    np.testing.assert_allclose(t, [2.0, 0.0])


def test_wrongly_shaped_cotangent_names_shapes():
    out, pull = srcad.vjp(ra.vec, X)
    with pytest.raises(srcad.SrcadError, match=r"cotangent has shape \(3,\).*\(2,\)"):
        pull(np.ones(3))
    out, pull = srcad.vjp(ra.two_out, 1.0, 2.0)
    with pytest.raises(srcad.SrcadError, match="tuple of 2"):
        pull(1.0)
    assert pull((1.0, 0.0)) == pytest.approx((2.0, 1.0))


def test_jvp_and_vjp_fill_defaults():
    out, pull = srcad.vjp(ra.with_num, 1.0, 2.0)
    assert out == pytest.approx(10.0)
    assert pull(1.0) == pytest.approx((10.0, 5.0))
    out, t = srcad.jvp(ra.with_num, (1.0, 2.0), (1.0, 0.0))
    assert (out, t) == pytest.approx((10.0, 10.0))
    assert srcad.vjp(ra.with_num, 1.0, 2.0, 3)[1](1.0) == pytest.approx((6.0, 3.0, 0.0))


# ------------------------------------------------------------ tuple wrt in jacobians

def test_hessian_with_tuple_wrt_gives_blocks():
    x, y = 0.7, 1.3
    H = srcad.hessian(ra.quad, wrt=(0, 1))(x, y)
    want = ((2 * y - np.sin(x) * y * y, 2 * x + 2 * np.cos(x) * y),
            (2 * x + 2 * np.cos(x) * y, 2 * np.sin(x)))
    for i in range(2):
        for j in range(2):
            assert float(H[i][j]) == pytest.approx(want[i][j])


def test_hessian_blocks_of_array_arguments_have_block_shapes():
    x, y = np.array([0.3, -0.4, 0.8]), 1.1
    H = srcad.hessian(ra.quad_arr, wrt=("x", "y"))(x, y)
    assert H[0][0].shape == (3, 3) and H[0][1].shape == (3,) and H[1][0].shape == (3,)
    assert np.shape(H[1][1]) == ()
    np.testing.assert_allclose(H[0][0], np.diag(2 * y - np.sin(x) * y ** 3), atol=1e-12)
    np.testing.assert_allclose(H[0][1], 2 * x + 3 * y ** 2 * np.cos(x))
    np.testing.assert_allclose(H[1][0], 2 * x + 3 * y ** 2 * np.cos(x))
    assert float(H[1][1]) == pytest.approx(6 * y * np.sum(np.sin(x)))


@pytest.mark.parametrize("jac", [srcad.jacfwd, srcad.jacrev])
def test_jacobians_with_tuple_wrt_and_tuple_output(jac):
    x, y = 0.5, 2.0
    J = jac(ra.two_out, wrt=(0, 1))(x, y)
    want = ((y, x), (1.0, 2 * y))
    for i in range(2):
        for j in range(2):
            assert float(J[i][j]) == pytest.approx(want[i][j])
    v = np.array([0.5, 1.5])
    Jx, Jy = jac(ra.prod, wrt=(0, 1))(v, 3.0)
    np.testing.assert_allclose(Jx, 3.0 * np.eye(2))
    np.testing.assert_allclose(Jy, v)


# ------------------------------------------------------------ messages

@pytest.mark.parametrize("target", [functools.partial(ra.square), 1.5, np.sin, object()],
                         ids=["partial", "float", "ufunc", "object"])
def test_messages_name_objects_without_addresses(target):
    with pytest.raises(srcad.SrcadError) as info:
        srcad.grad(target)(1.0)
    assert "0x" not in str(info.value)


def test_second_order_of_a_non_scalar_output_is_refused():
    with pytest.raises(srcad.SrcadError, match=r"scalar output.*\(2,\)"):
        srcad.grad(srcad.grad(ra.vec2))(1.5)
    with pytest.raises(srcad.SrcadError, match=r"hessian requires a real scalar output"):
        srcad.hessian(ra.vec2)(1.5)
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(srcad.hessian(ra.quadform)(np.array([0.5, -1.0]), A), A + A.T)
