"""The GradBench tool's objectives (benchmarks/gradbench) and srcad's derivatives of them,
on tiny inputs, against finite differences (the harness itself needs the C++ build and
stays out of CI)."""
import os
import sys

import numpy as np
import pytest

from srcad.testing import check_grads, numerical_grad

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks",
                                "gradbench"))

rng = np.random.default_rng(0)


def test_lse_and_llsq():
    import gb_llsq
    import gb_lse
    x = rng.normal(size=7)
    np.testing.assert_allclose(gb_lse.gradient_(x), numerical_grad(gb_lse.logsumexp, (x,), 0),
                               rtol=1e-6)
    T, s = gb_llsq.powers(9, 4)
    x = rng.normal(size=4)
    np.testing.assert_allclose(gb_llsq.grad_(x, T, s),
                               numerical_grad(gb_llsq.llsq, (x, T, s), 0), rtol=1e-6)
    # the running-product powers are the eval's t_i ** j
    t = -1.0 + np.arange(9) * 2.0 / 8
    np.testing.assert_allclose(T, t[:, None] ** np.arange(4))


def test_ode():
    import gb_ode
    x = rng.uniform(0.5, 1.5, size=6)
    np.testing.assert_allclose(gb_ode.grad_(x, 3), numerical_grad(gb_ode.last, (x, 3), 0),
                               rtol=1e-6, atol=1e-9)
    check_grads(gb_ode.last, x, 2, wrt=(0,))


def test_kmeans_direction_is_gradient_over_hessian_diagonal():
    import gb_kmeans
    points, centroids = rng.normal(size=(12, 3)), rng.normal(size=(4, 3))
    J = gb_kmeans.grad_(points, centroids)
    np.testing.assert_allclose(J, numerical_grad(gb_kmeans.cost, (points, centroids), 1),
                               rtol=1e-5, atol=1e-7)
    # the Hessian of the cost in the centroids is diagonal: 2 * (points each one owns)
    d = ((points[None] - centroids[:, None]) ** 2).sum(axis=2)
    owned = np.bincount(np.argmin(d, axis=0), minlength=4)
    np.testing.assert_allclose(gb_kmeans.direction(points, centroids),
                               J / (2.0 * owned[:, None]), rtol=1e-10)


def test_gmm():
    import gb_gmm
    d, k, n = 3, 2, 5
    args = [rng.normal(size=k), rng.normal(size=(k, d)), 0.1 * rng.normal(size=(k, d)),
            0.1 * rng.normal(size=(k, d * (d - 1) // 2)), rng.normal(size=(n, d)),
            gb_gmm.lower_scatter(d), 2, 1.5, gb_gmm.constant(n, d, k, 2, 1.5)]
    grads = gb_gmm.grad_(*args)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, numerical_grad(gb_gmm.log_posterior, args, i),
                                   rtol=1e-5, atol=1e-7)
    # the lower triangle the scatter matrix builds holds l column by column
    L = (np.arange(1.0, 4.0) @ gb_gmm.lower_scatter(3)).reshape(3, 3)
    np.testing.assert_array_equal(L, [[0, 0, 0], [1, 0, 0], [2, 3, 0]])


def test_gmm_matches_the_eval_formula():
    """The vectorised objective against the eval's own loops (its naive log posterior)."""
    import gb_gmm
    pytest.importorskip("scipy")
    from scipy.special import logsumexp
    d, k, n, m, gamma = 2, 3, 4, 1, 1.2
    alpha, mu = rng.normal(size=k), rng.normal(size=(k, d))
    q, l, x = 0.1 * rng.normal(size=(k, d)), 0.1 * rng.normal(size=(k, 1)), rng.normal(size=(n, d))
    total = 0.0
    for i in range(n):
        terms = []
        for j in range(k):
            Q = np.diag(np.exp(q[j])) + np.array([[0, 0], [l[j, 0], 0]])
            z = Q @ (x[i] - mu[j])
            terms.append(alpha[j] + q[j].sum() - 0.5 * z @ z)
        total += logsumexp(terms)
    prior = sum(0.5 * gamma ** 2 * (np.sum(np.exp(2 * q[j])) + np.sum(l[j] ** 2)) - m * q[j].sum()
                for j in range(k))
    want = gb_gmm.constant(n, d, k, m, gamma) + total - n * logsumexp(alpha) - prior
    got = gb_gmm.log_posterior(alpha, mu, q, l, x, gb_gmm.lower_scatter(d), m, gamma,
                               gb_gmm.constant(n, d, k, m, gamma))
    assert got == pytest.approx(want, rel=1e-12)


def test_gmm_naive_variant_is_the_eval_own_objective():
    """The eval's naive Python log posterior, differentiated as written, against the
    vectorised objective's gradient and finite differences (needs the harness's Python
    package: GRADBENCH names the harness folder)."""
    if os.environ.get("GRADBENCH"):
        sys.path.insert(0, os.path.join(os.environ["GRADBENCH"], "upstream", "python",
                                        "gradbench"))
    run = pytest.importorskip("gradbench.evals.gmm.run")
    import gb_gmm
    import gb_gmm_naive
    input = run.generate(seed=3, d=3, k=2, n=6, m=1, gamma=1.3)
    kw = gb_gmm_naive.prepare(input)
    grads = gb_gmm_naive.grad_(**kw)
    want = gb_gmm.grad_(*gb_gmm.prepare(input))
    for got, w in zip(grads, want):
        np.testing.assert_allclose(np.reshape(got, np.shape(w)), w, rtol=1e-9, atol=1e-12)
    q = kw["q"]

    def of_q(qq):
        return run.log_posterior(**(kw | {"q": qq}))
    np.testing.assert_allclose(grads[2], numerical_grad(of_q, (q,), 0), rtol=1e-6)


def test_lstm():
    import gb_lstm
    layers, h, c = 2, 3, 4
    main, extra = rng.normal(size=(2 * layers, 4 * h)), rng.normal(size=(3, h))
    state, seq = rng.normal(size=(2 * layers, h)), rng.normal(size=(c, h))
    gm, ge = gb_lstm.grad_(main, extra, state, seq)
    args = (main, extra, state, seq)
    np.testing.assert_allclose(gm, numerical_grad(gb_lstm.objective, args, 0), rtol=1e-5,
                               atol=1e-8)
    np.testing.assert_allclose(ge, numerical_grad(gb_lstm.objective, args, 1), rtol=1e-5,
                               atol=1e-8)


def test_ba_jacobian_blocks():
    """The CSR Jacobian against finite differences, on inputs of its own (drawn from the
    module's rng, the inputs depended on which tests ran before: run alone, -k ba drew a
    point where the central differences are off by 1 %)."""
    import gb_ba
    rng = np.random.default_rng(3)
    n, m, p = 2, 3, 4
    cams = rng.uniform(0.1, 1.0, size=(n, 11))
    X = rng.uniform(1.0, 3.0, size=(m, 3))
    w = rng.uniform(0.5, 1.5, size=p)
    obs = np.stack((np.arange(p) % n, np.arange(p) % m), axis=1)
    feats = rng.normal(size=(p, 2))
    rows, cols, vals = gb_ba.jacobian(cams, X, w, obs, feats)
    J = np.zeros((3 * p, 11 * n + 3 * m + p))
    for r in range(3 * p):
        J[r, cols[rows[r]:rows[r + 1]]] = vals[rows[r]:rows[r + 1]]

    def residuals(cams, X, w):
        r, we = gb_ba.objective(cams, X, w, obs, feats)
        return np.concatenate((r.ravel(), we))
    want = np.concatenate([numerical_grad(residuals, (cams, X, w), i).reshape(3 * p, -1)
                           for i in range(3)], axis=1)
    np.testing.assert_allclose(J, want, rtol=1e-5, atol=1e-7)


def test_ht_jacobians():
    import gb_ht
    nb = 22
    P, base = gb_ht.pose_scatter(nb)
    rel = np.broadcast_to(np.eye(4), (nb, 4, 4)).copy()
    rel[:, :3, 3] = rng.normal(size=(nb, 3)) * 0.1            # bone offsets
    inv = np.broadcast_to(np.eye(4), (nb, 4, 4)).copy()
    verts = np.concatenate((rng.normal(size=(3, 3)), np.ones((3, 1))), axis=1)
    weights = rng.uniform(size=(3, nb))
    model = (P, base, np.arange(-1, nb - 1), rel, inv, verts, weights, rng.normal(size=(2, 3)))
    theta = rng.normal(size=26) * 0.3
    corr = np.array([2, 0])
    J = gb_ht.jacobian((None, theta) + model + (corr,))
    want = numerical_grad(gb_ht.residuals, (theta,) + model + (corr,), 0).reshape(6, 26)
    np.testing.assert_allclose(J, want, rtol=1e-5, atol=1e-7)
    us, tri = rng.uniform(size=(2, 2)) * 0.4, np.array([[0, 1, 2], [2, 1, 0]])
    J = gb_ht.jacobian((us, theta) + model + (tri,))
    args = (us, theta) + model + (tri,)
    Jus = numerical_grad(gb_ht.residuals_complicated, args, 0)          # (2, 3, 2, 2)
    np.testing.assert_allclose(J[:, :2], np.stack([Jus[i, :, i] for i in range(2)]).reshape(6, 2),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(J[:, 2:], numerical_grad(gb_ht.residuals_complicated, args, 1)
                               .reshape(6, 26), rtol=1e-5, atol=1e-7)


def test_det_by_minors():
    import gb_det
    a = rng.normal(size=16)
    assert gb_det.det(a, 4) == pytest.approx(np.linalg.det(a.reshape(4, 4)), rel=1e-12)
    # d det(A) / dA = det(A) A^-T
    A = a.reshape(4, 4)
    np.testing.assert_allclose(gb_det.grad_(a, 4),
                               (np.linalg.det(A) * np.linalg.inv(A).T).ravel(), rtol=1e-9)


@pytest.mark.parametrize("variant", ["r", "f"])
def test_particle_inner_and_outer_derivatives(variant):
    import srcad
    import gb_particle
    cost = gb_particle.euler_r if variant == "r" else gb_particle.euler_f
    ws = np.array([0.1])
    want = numerical_grad(cost, (ws,), 0)
    np.testing.assert_allclose(srcad.grad(cost)(ws), want, rtol=1e-5)
    _, d = srcad.jvp(cost, (ws,), (np.ones(1),))
    np.testing.assert_allclose(d, want[0], rtol=1e-5)


@pytest.mark.parametrize("variant", ["rr", "rf", "fr", "ff"])
def test_saddle_outer_gradient_goes_through_the_inner_maximisation(variant):
    import gb_saddle
    mode, cost, _ = gb_saddle.VARIANTS[variant]
    start, x = np.array([1.0, 1.0]), np.array([0.3, -0.2])
    # the maximising y does not depend on x: the gradient of max_y f(x, y) is 2x
    np.testing.assert_allclose(gb_saddle.outer_grad(cost, mode)(x, start), 2 * x, rtol=1e-8)


def test_tool_backend_follows_the_environment(monkeypatch):
    """run.py --backend numba sets SRCAD_GRADBENCH_BACKEND, which the evals' modules read."""
    import importlib
    import tool_backend
    monkeypatch.setenv("SRCAD_GRADBENCH_BACKEND", "numba")
    assert importlib.reload(tool_backend).BACKEND == "numba"
    monkeypatch.delenv("SRCAD_GRADBENCH_BACKEND")
    assert importlib.reload(tool_backend).BACKEND == "python"


@pytest.mark.parametrize("name", ["ode", "particle_force"])
def test_numba_backend_equals_the_python_backend(name, tmp_path, monkeypatch):
    """The objectives the numba backend compiles (ode; particle's inner gradient, the force),
    on tiny inputs: the same gradient as the Python backend's (checked against finite
    differences above)."""
    numba = pytest.importorskip("numba", reason="the numba backend needs Numba")
    import warnings
    import srcad
    warnings.simplefilter("ignore", numba.NumbaPerformanceWarning)   # undone by pytest
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(tmp_path))
    if name == "ode":
        import gb_ode
        f, args = gb_ode.last, (rng.uniform(0.5, 1.5, size=5), 3)
    else:
        import gb_particle
        f, args = gb_particle.potential, (np.array([1.5, 2.5]), 0.3)
    want = srcad.grad(f)(*args)
    np.testing.assert_allclose(want, numerical_grad(f, args, 0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(srcad.grad(f, backend="numba")(*args), want, rtol=1e-12,
                               atol=1e-14)


def test_compare_table_from_logs(tmp_path):
    """compare.py's table: steady-state means (runs after the first), their ratio, and JAX's
    compile time as its first runs' excess, read from logs in the harness's format."""
    import json
    import compare

    def log(tool, primal_runs, grad_runs, valid=True):
        lines = [{"message": {"id": 0, "kind": "start", "eval": "lse"}}, {"response": {"id": 0}}]
        for i, (fn, runs) in enumerate((("primal", primal_runs), ("gradient", grad_runs))):
            k = 2 * i + 1
            lines += [{"message": {"id": k, "kind": "evaluate", "function": fn,
                                   "description": "n=3"}},
                      {"response": {"id": k, "success": True, "timings": [
                          {"name": "evaluate", "nanoseconds": t} for t in runs]}},
                      {"message": {"id": k + 10, "kind": "analysis", "of": k, "valid": valid}}]
        path = tmp_path / f"{tool}.jsonl"
        path.write_text("\n".join(json.dumps({"elapsed": {"nanoseconds": 0}} | e)
                                  for e in lines))
        return path

    logs = {"srcad": log("srcad", [9000, 1000, 1000], [5000, 2000, 4000]),
            "jax-sync": log("jax-sync", [1e9, 2000], [2e9, 2000], valid=False)}
    rows = compare.rows_of("lse", logs, {"lse": ("primal", "gradient")})
    assert rows == ["| lse | n=3 | 1 us | 3 us | 3.00 | 2 us | 2 us (invalid) | 1.00 | 3 s |"]
