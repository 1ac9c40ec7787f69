"""Vector forward mode: jvp(..., batched=True) against the per-direction jvps and central
differences, on tests/fixtures/batched_funcs.py; every rule's sample of the rule tables
(tests/rules/) in batched mode against its unbatched tangent per direction; jacfwd and
hessian (which push all directions through one batched pass) against their per-direction
results (the numba backend's path) and finite differences; float32 kept."""
import os
import sys

import numpy as np
import pytest

import srcad
from srcad import SrcadError, pipeline, rules
from fixtures import batched_funcs as bf

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "rules"))
import test_rule_table as table  # noqa: E402

RNG = np.random.default_rng(12)


def directions(arg, b=3):
    return RNG.normal(size=(b,) + np.shape(arg))


def stacked_jvps(f, primals, tangents, b):
    """The B unbatched jvps, stacked on a leading axis (the oracle of one batched jvp)."""
    outs = [srcad.jvp(f, primals, tuple(_at(t, k) for t in tangents))[1] for k in range(b)]
    return _stack(outs)


def _at(t, k):
    if isinstance(t, dict):
        return {n: _at(v, k) for n, v in t.items()}
    if isinstance(t, (list, tuple)):
        return type(t)(_at(v, k) for v in t)
    return t[k]


def _stack(outs):
    if isinstance(outs[0], dict):
        return {n: _stack([o[n] for o in outs]) for n in outs[0]}
    if isinstance(outs[0], (list, tuple)):
        return type(outs[0])(_stack([o[i] for o in outs]) for i in range(len(outs[0])))
    return np.stack([np.asarray(o) for o in outs])


def assert_close(a, b, **kw):
    if isinstance(b, dict):
        assert isinstance(a, dict) and list(a) == list(b)
        for n in b:
            assert_close(a[n], b[n], **kw)
        return
    if isinstance(b, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_close(x, y, **kw)
        return
    assert np.shape(a) == np.shape(b)
    np.testing.assert_allclose(a, b, **kw)


def central(f, primals, tangent_k, eps=1e-6):
    """(f(x + eps t) - f(x - eps t)) / 2 eps along one direction (array arguments)."""
    plus = f(*[p + eps * t for p, t in zip(primals, tangent_k)])
    minus = f(*[p - eps * t for p, t in zip(primals, tangent_k)])
    return (np.asarray(plus) - np.asarray(minus)) / (2 * eps)


CASES = [
    (bf.broadcast_ranks, (RNG.normal(size=4), 0.7, RNG.normal(size=(2, 4)))),
    (bf.scalar_only, (0.3, -1.2)),
    (bf.indexing, (RNG.normal(size=(3, 4, 5)),)),
    (bf.matmuls, (RNG.normal(size=3), RNG.normal(size=(3, 3)), RNG.normal(size=(2, 3, 3)))),
    (bf.axes, (RNG.normal(size=(2, 3, 4)),)),
    (bf.layout_orders, (RNG.normal(size=(2, 3)),)),
    (bf.joins, (RNG.normal(size=(2, 3)), RNG.normal(size=(2, 3)))),
    (bf.inplace, (RNG.normal(size=(4, 3)), RNG.normal(size=3))),
    (bf.calls_helper, (RNG.normal(size=3), RNG.normal(size=3))),
    (bf.no_batched_form, (RNG.uniform(0.5, 1.5, size=4),)),
    (bf.scalar_objective, (np.array([0.5, -0.3, 1.1]), np.array([0.2, 0.9, -0.4]))),
    (bf.unpacks, (np.array([0.7, 1.3, -0.4]),)),
]


def _tangents(primals, b=3):
    return tuple(np.asarray(directions(p, b)) for p in primals)


@pytest.mark.parametrize("f, primals", CASES, ids=[f.__name__ for f, _ in CASES])
def test_batched_jvp_matches_per_direction_and_differences(f, primals):
    tangents = _tangents(primals)
    out, dots = srcad.jvp(f, primals, tangents, batched=True)
    assert_close(out, f(*primals))
    ref = stacked_jvps(f, primals, tangents, 3)
    assert_close(dots, ref, rtol=1e-10, atol=1e-12)
    for k in range(3):
        fd = central(f, primals, [t[k] for t in tangents])
        np.testing.assert_allclose(dots[k], fd, rtol=1e-5, atol=1e-6)


def test_batched_jvp_loop_and_list_with_an_int():
    x = RNG.normal(size=3)
    T = directions(x, 4)
    out, dots = srcad.jvp(bf.loop_and_list, (x, 5), (T, 0), batched=True)
    ref = np.stack([srcad.jvp(bf.loop_and_list, (x, 5), (T[k], 0))[1] for k in range(4)])
    assert dots.shape == (4,) + np.shape(out)
    np.testing.assert_allclose(dots, ref, rtol=1e-12)
    for k in range(4):
        fd = central(lambda x: bf.loop_and_list(x, 5), (x,), (T[k],))
        np.testing.assert_allclose(dots[k], fd, rtol=1e-5, atol=1e-6)


def test_batched_jvp_containers():
    p = {"w": RNG.normal(size=(2, 3)), "pair": (RNG.normal(size=3), RNG.normal(size=2))}
    t = {"w": directions(p["w"]), "pair": (directions(p["pair"][0]), directions(p["pair"][1]))}
    out, dots = srcad.jvp(bf.containers, (p,), (t,), batched=True)
    assert list(dots) == ["r", "total"] and dots["r"].shape == (3, 2)
    assert dots["total"].shape == (3,)
    assert_close(dots, stacked_jvps(bf.containers, (p,), (t,), 3), rtol=1e-12, atol=1e-14)


def test_batched_jvp_keeps_float32():
    x = RNG.normal(size=(3, 2)).astype(np.float32)
    T = directions(x).astype(np.float32)
    out, dots = srcad.jvp(bf.f32, (x,), (T,), batched=True)
    assert dots.dtype == np.float32 and dots.shape == (3, 2)
    ref = stacked_jvps(bf.f32, (x,), (T,), 3)
    assert ref.dtype == np.float32
    np.testing.assert_allclose(dots, ref, rtol=1e-6)


def test_batched_jvp_refuses_tangents_without_a_common_batch_axis():
    x, y = np.ones(3), np.ones(3)
    with pytest.raises(SrcadError, match="leading batch axis"):
        srcad.jvp(bf.calls_helper, (x, y), (np.ones((2, 3)), np.ones((4, 3))), batched=True)
    with pytest.raises(SrcadError, match="shape"):
        srcad.jvp(bf.calls_helper, (x, y), (np.ones((2, 4)), np.ones((2, 4))), batched=True)
    with pytest.raises(SrcadError, match="leading batch axis"):
        srcad.jvp(bf.scalar_only, (1.0, 2.0), (1.0, 2.0), batched=True)


def test_declared_rules_push_directions_without_a_per_direction_map():
    """The rules with a batched form never fall back to the per-direction map."""
    for f, primals in CASES[:9]:
        kinds = tuple(map(pipeline.kind_of, primals))
        d = pipeline.get(f, "batched", tuple(range(len(primals))), kinds, False)
        assert "bmap" not in d.text, f.__name__        # (callees' code included)
    d = pipeline.get(bf.no_batched_form, "batched", (0,), (rules.ANY,), False)
    assert "bmap" in d.text


# ------------------------------------------------------------ jacfwd, hessian
JAC_CASES = [c for c in CASES if c[0] is not bf.scalar_only]


@pytest.mark.parametrize("f, primals", JAC_CASES, ids=[f.__name__ for f, _ in JAC_CASES])
def test_jacfwd_batched_equals_per_direction(f, primals):
    wrt = tuple(range(len(primals)))
    J = srcad.jacfwd(f, wrt=wrt)(*primals)
    ref = [np.stack([srcad.jvp(f, primals, tuple(e if q == p else np.zeros_like(np.asarray(a))
                                                 for q, a in enumerate(primals)))[1]
                     for e in np.eye(np.size(primals[p])).reshape((-1,) + np.shape(primals[p]))],
                    axis=-1).reshape(np.shape(f(*primals)) + np.shape(primals[p]))
           for p in wrt]
    for j, r in zip(J, ref):
        np.testing.assert_allclose(j, r, rtol=1e-10, atol=1e-12)


def test_jacfwd_and_hessian_against_differences():
    x, y = np.array([0.5, -0.3, 1.1]), np.array([0.2, 0.9, -0.4])
    H = srcad.hessian(bf.scalar_objective)(x, y)
    g = srcad.grad(bf.scalar_objective)
    eps = 1e-6
    fd = np.stack([(g(x + eps * e, y) - g(x - eps * e, y)) / (2 * eps) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-7)
    Hxy = srcad.hessian(bf.scalar_objective, wrt=(0, 1))(x, y)
    np.testing.assert_allclose(Hxy[0][0], H, rtol=1e-12)
    fdy = np.stack([(g(x, y + eps * e) - g(x, y - eps * e)) / (2 * eps) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(Hxy[0][1], fdy, rtol=1e-6, atol=1e-7)


def test_jacfwd_of_a_float_and_a_container():
    J = srcad.jacfwd(bf.scalar_only, wrt=(0, 1))(0.3, -1.2)
    eps = 1e-6
    fa = (bf.scalar_only(0.3 + eps, -1.2) - bf.scalar_only(0.3 - eps, -1.2)) / (2 * eps)
    fb = (bf.scalar_only(0.3, -1.2 + eps) - bf.scalar_only(0.3, -1.2 - eps)) / (2 * eps)
    np.testing.assert_allclose([J[0], J[1]], [fa, fb], rtol=1e-7)
    p = {"w": RNG.normal(size=(2, 3)), "pair": (RNG.normal(size=3), RNG.normal(size=2))}
    Jc = srcad.jacfwd(bf.containers)(p)
    w = p["w"].copy()
    ew = np.zeros_like(w)
    ew[1, 2] = 1.0
    fd = (bf.containers({"w": w + eps * ew, "pair": p["pair"]})["r"]
          - bf.containers({"w": w - eps * ew, "pair": p["pair"]})["r"]) / (2 * eps)
    np.testing.assert_allclose(Jc["r"]["w"][:, 1, 2], fd, rtol=1e-6)
    assert Jc["total"]["pair"][1].shape == (2,)


def test_jacfwd_keeps_float32():
    x = RNG.normal(size=(3, 2)).astype(np.float32)
    J = srcad.jacfwd(bf.f32)(x)
    assert J.dtype == np.float32 and J.shape == (2, 3, 2)


# ------------------------------------------------------------ every rule, batched
SAMPLE_CASES = table.CASES
SAMPLE_IDS = table.IDS


def _scipy_cases():
    try:
        import fixtures_scipy
    except ImportError:                          # no SciPy: its samples are skipped
        return []
    return [(f, args) for f, argsets in fixtures_scipy.SAMPLES for args in argsets]


SCIPY_CASES = _scipy_cases()


@pytest.mark.parametrize("f, args", SCIPY_CASES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(SCIPY_CASES)])
def test_scipy_rule_samples_batched(f, args):
    """The SciPy tables' samples likewise (most SciPy rules map over the directions)."""
    check_batched_sample(f, args)


@pytest.mark.parametrize("f, args", SAMPLE_CASES, ids=SAMPLE_IDS)
def test_rule_samples_batched(f, args, request):
    """Each rule table sample, B=3 random directions in one batched pass, against the
    unbatched tangent along each direction."""
    table._known(request, f, "forward")
    check_batched_sample(f, args)


def check_batched_sample(f, args):
    kinds = tuple(map(pipeline.kind_of, args))
    for i in table._float_positions(args):
        T = directions(args[i]).astype(np.result_type(args[i], np.float32)
                                       if isinstance(args[i], np.ndarray) else np.float64)
        with np.errstate(all="ignore"):
            single = pipeline.get(f, "forward", (i,), kinds).func
            ref = [single(*args, T[k] if isinstance(args[i], np.ndarray) else float(T[k]))
                   for k in range(3)]
            out, dots = pipeline.get(f, "batched", (i,), kinds).func(*args, T, 3)
            ref = np.stack([np.broadcast_to(r[1], np.shape(out)) for r in ref])
            dots = np.broadcast_to(dots, (3,) + np.shape(out))
        np.testing.assert_allclose(dots, ref, rtol=1e-9, atol=1e-12, equal_nan=True,
                                   err_msg=f"argument {i}")
        if ref.dtype == np.float32:
            assert np.result_type(dots) == np.float32, f"argument {i}: dtype"


def test_readme_batched_section_runs(tmp_path):
    """The README's example of batched tangents runs as a file and passes its asserts."""
    import runpy
    from test_examples import readme_blocks
    blocks = readme_blocks("Batched tangents (vector forward mode)")
    assert len(blocks) == 1
    path = tmp_path / "readme_batched.py"
    path.write_text(blocks[0])
    runpy.run_path(str(path), run_name="__main__")


# ------------------------------------------------------------ the suite's own functions
from fixtures import inplace_funcs  # noqa: E402
from fixtures.cases import CONTROL_CASES  # noqa: E402

SUITE = [(f, a) for f, a in CONTROL_CASES] + \
    [(getattr(inplace_funcs, name), a) for name, a in [
        ("fill_loop", (RNG.normal(size=3),)), ("masked", (np.array([0.9, -0.9, 0.1, -0.2, 0.7]),)),
        ("fancy_add", (RNG.normal(size=3),)), ("argument_update", (RNG.normal(size=3),)),
        ("rnn", (RNG.normal(size=(3, 3)) * 0.5, RNG.normal(size=(4, 3)))),
        ("stencil", (RNG.normal(size=6), 0.2)), ("in_branch", (np.array([0.3, 0.5, -0.2]),)),
        ("feedback", (RNG.normal(size=4) * 0.5,)), ("shift", (RNG.normal(size=4),))]]
SUITE_IDS = [f"{f.__name__}-{i}" for i, (f, _) in enumerate(SUITE)]


def _floats(args):
    return [i for i, a in enumerate(args) if type(a) is float or
            (isinstance(a, np.ndarray) and a.dtype.kind == "f")]


def per_direction_jacobian(f, args, p):
    """d f / d args[p] column by column, one unbatched jvp per unit direction (the path
    jacfwd took before it batched, and takes with the numba backend)."""
    zero = tuple(0.0 if type(a) is float else np.zeros_like(a) if isinstance(a, np.ndarray)
                 else 0 for a in args)
    shape = np.shape(args[p])
    cols = []
    for e in np.eye(max(int(np.prod(shape)), 1))[:int(np.prod(shape))]:
        t = list(zero)
        t[p] = float(e[0]) if type(args[p]) is float else e.reshape(shape)
        cols.append(np.asarray(srcad.jvp(f, args, tuple(t))[1]))
    out = np.shape(f(*args))
    return np.stack([np.broadcast_to(c, out) for c in cols], axis=-1).reshape(out + shape)


@pytest.mark.parametrize("f, args", SUITE, ids=SUITE_IDS)
def test_jacfwd_and_hessian_unchanged_on_the_suite_functions(f, args):
    """Control flow, loops, lists, in-place updates: the batched jacfwd equals the
    per-direction Jacobian, and hessian the per-direction Jacobian of the gradient."""
    out = f(*args)
    for p in _floats(args):
        with np.errstate(all="ignore"):
            J = srcad.jacfwd(f, wrt=p)(*args)
            np.testing.assert_allclose(J, per_direction_jacobian(f, args, p), rtol=1e-10,
                                       atol=1e-12, equal_nan=True)
            if np.ndim(out) == 0 and isinstance(out, (float, np.floating)):
                g = srcad.grad(f, wrt=p)
                H = srcad.hessian(f, wrt=p)(*args)
                np.testing.assert_allclose(H, per_direction_jacobian(g, args, p), rtol=1e-10,
                                           atol=1e-12, equal_nan=True)


def test_numba_backend_runs_a_pass_per_direction(tmp_path, monkeypatch):
    """backend="numba": batched jvp and jacfwd give the same results, one compiled
    forward pass per direction."""
    pytest.importorskip("numba")
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(tmp_path))
    x = RNG.normal(size=3)
    T = directions(x, 4)
    out, dots = srcad.jvp(bf.scalar_only, (0.3, -1.2), (np.ones(2), np.arange(2.0)),
                          batched=True, backend="numba")
    ref = srcad.jvp(bf.scalar_only, (0.3, -1.2), (np.ones(2), np.arange(2.0)), batched=True)[1]
    np.testing.assert_allclose(dots, ref, rtol=1e-12)
    y = RNG.normal(size=3)
    out, dots = srcad.jvp(bf.calls_helper, (x, y), (T, 0 * T), batched=True, backend="numba")
    ref = srcad.jvp(bf.calls_helper, (x, y), (T, 0 * T), batched=True)[1]
    np.testing.assert_allclose(dots, ref, rtol=1e-12)
    np.testing.assert_allclose(srcad.jacfwd(bf.calls_helper, backend="numba")(x, y),
                               srcad.jacfwd(bf.calls_helper)(x, y), rtol=1e-12)


def test_hessian_through_a_float_zero_tangent():
    """0.0 (a float's zero tangent) times a NumPy scalar is a NumPy scalar without the
    batch axis; elementwise tangents are lifted to batched zeros also for float results
    (this raised a ValueError in np.stack before)."""
    H = srcad.hessian(bf.float_zero_tangent, wrt=(0, 1))(-0.0, -0.5)
    ref = srcad.jacrev(srcad.grad(bf.float_zero_tangent, wrt=(0, 1)), wrt=(0, 1))(-0.0, -0.5)
    np.testing.assert_allclose(np.array(H, dtype=float), np.array(ref, dtype=float), rtol=1e-12)
    eps = 1e-5
    g = srcad.grad(bf.float_zero_tangent, wrt=1)
    np.testing.assert_allclose(H[1][1], (g(0.0, -0.5 + eps) - g(0.0, -0.5 - eps)) / (2 * eps),
                               rtol=1e-6)
