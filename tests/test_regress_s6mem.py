"""Regression tests of the s6mem session (issue 11: each adjoint as cheap as autograd's)."""
import importlib.util
import os
import sys

import numpy as np
import pytest

import srcad

sys.path.insert(1, os.path.join(os.path.dirname(__file__), "rules"))
import fixtures_numpy as fxn  # noqa: E402


def _benchmark():
    path = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "adjoint_cost.py")
    spec = importlib.util.spec_from_file_location("adjoint_cost_s6mem", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fd_vjp(f, x, w, eps=1e-6):
    """The gradient of sum(f(x) * w) by central differences, entry by entry."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = np.sum((f(x + e) - f(x - e)) * w) / (2 * eps)
    return g


def test_benchmark_compares_with_autograd_only_where_autograd_is_right():
    """np.diag of a non-square matrix and np.tile of a 2-d array to 3-d: autograd's gradients
    are wrong (a (3, 3) gradient for a (3, 4) matrix; a wrong tile sum), and the benchmark
    compared srcad with them at its largest sample (MISMATCH). It now takes the largest
    argument tuple autograd can check, and srcad's gradient at the other is right."""
    bench = _benchmark()
    samples = dict((f.__name__, a) for f, a in fxn.SAMPLES)
    for name in ("np_diag_matrix", "np_tile"):
        args, ok = bench.pick_args(name, samples[name], fxn.AUTOGRAD_LACKS)
        assert ok and args is samples[name][0]
    rng = np.random.default_rng(3)
    for f, shape in ((fxn.np_diag_matrix, (5, 7)), (fxn.np_diag_matrix, (7, 5)),
                     (fxn.np_tile, (4, 6))):
        x = rng.uniform(0.5, 1.5, size=shape)
        w = rng.normal(size=np.shape(f(x)))
        got = srcad.grad(lambda x: np.sum(f(x) * w))(x)
        np.testing.assert_allclose(got, _fd_vjp(f, x, w), rtol=1e-6, atol=1e-8)


def test_cdf_shape_parameters_are_refused():
    """t/gamma/beta/chi2 cdf are differentiated in x, loc and scale (rules added here for
    issue 11's list); their shape parameters have no closed-form derivative and are refused
    at build time, not given a silent zero."""
    st = pytest.importorskip("scipy.stats")
    from fixtures.regress_s6mem import t_cdf_in_df
    x = np.array([0.3, -0.4])
    np.testing.assert_allclose(srcad.grad(t_cdf_in_df)(x, 3.5),
                               st.t.pdf(x, 3.5), rtol=1e-12)
    with pytest.raises(srcad.SrcadError, match="df"):
        srcad.grad(t_cdf_in_df, wrt=1)(x, 3.5)


def test_partition_derivative_beyond_argpartitions_arrangement():
    """Beyond ~1000 entries np.argpartition arranges entries otherwise than np.partition
    (autograd's adjoint assumes they agree, and is wrong there: the benchmark's MISMATCH
    row np_partition); srcad matches entries by value, now with quicksorts (7x cheaper than
    the stable sorts before) unless there are ties, where the convention stays a stable
    sort's: equal entries keep their order."""
    from srcad import runtime_arrays as ra
    rng = np.random.default_rng(5)
    for x in (rng.uniform(-1, 1, 5000), np.round(rng.uniform(-1, 1, (3, 4000)), 2)):
        order, ax = ra._partition_order(x, 2, -1)
        part = np.partition(x, 2, axis=-1)
        assert np.array_equal(np.take_along_axis(x, order, -1), part)
        assert np.array_equal(np.sort(order, axis=-1), np.broadcast_to(np.arange(x.shape[-1]),
                                                                       x.shape))
        rows = np.reshape(x, (-1, x.shape[-1]))
        for r, o in zip(rows, np.reshape(order, (-1, x.shape[-1]))):
            for v in np.unique(r)[:50]:                 # equal entries: in their order
                assert np.all(np.diff(o[r[o] == v]) > 0)
    x = rng.uniform(-1, 1, 3000)
    w = rng.normal(size=3000)
    f = lambda x: np.partition(x, 2) * w               # noqa: E731
    got = srcad.grad(lambda x: np.sum(np.partition(x, 2) * w))(x)
    for i in rng.choice(3000, size=5, replace=False):
        e = np.zeros(3000)
        e[i] = 1e-7
        np.testing.assert_allclose(got[i], np.sum(f(x + e) - f(x - e)) / 2e-7, rtol=1e-6)


def _peak(fn):
    import tracemalloc
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        return tracemalloc.get_traced_memory()[1] - base - out.nbytes
    finally:
        tracemalloc.stop()


def test_matmul_adjoint_sums_broadcast_axes_inside_the_product():
    """x @ y with x (8, 1, 8, 12) and y (12, 12, 8): x's adjoint g @ y.T was 12 times x's
    size before unbroadcast summed it (the benchmark's op_matmul row, 1.23 over its inputs
    and output); it is now one tensordot contracting the broadcast axis too. Both adjoints
    against autograd's, and the temporary within x's size."""
    from srcad import runtime
    rng = np.random.default_rng(7)
    for xs, ys in (((8, 1, 8, 12), (12, 12, 8)), ((2, 1, 3, 4), (1, 5, 4, 2)),
                   ((3, 1, 2, 3, 4), (1, 2, 1, 4, 5)), ((3, 4), (2, 4, 5))):
        x, y = rng.normal(size=xs), rng.normal(size=ys)
        g = rng.normal(size=(x @ y).shape)
        gx = np.sum(np.expand_dims(g, -2) * np.expand_dims(y, -3), axis=-1)   # oracle
        gy = np.sum(np.expand_dims(x, -1) * np.expand_dims(g, -2), axis=-3)
        np.testing.assert_allclose(runtime.matmul_vjp_x(g, x, y), runtime.unbroadcast(gx, x),
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(runtime.matmul_vjp_y(g, x, y), runtime.unbroadcast(gy, y),
                                   rtol=1e-12, atol=1e-12)
    x, y = rng.normal(size=(8, 1, 8, 12)), rng.normal(size=(12, 12, 8))
    g = np.ones((8, 12, 8, 8))
    assert _peak(lambda: runtime.matmul_vjp_x(g, x, y)) <= g.nbytes + x.nbytes + 8192


def test_norm_weights_in_place():
    """np.linalg.norm's weights for ord=1, 3 and +-inf made 3-5 arrays of x's size
    (sign(x) * (|x| / n) ** 0 for ord=1; the benchmark's np_norm_ord and np_norm_fro rows,
    1.50 over their inputs and output); now sign(x) alone, or computed in place. Values
    against the closed forms."""
    from srcad import runtime
    x = np.random.default_rng(8).uniform(-1, 1, 20000)
    for ord, want in ((1, np.sign(x)), (3, np.sign(x) * (np.abs(x) / np.linalg.norm(x, 3)) ** 2),
                      (np.inf, np.sign(x) * (np.abs(x) == np.max(np.abs(x)))),
                      (-np.inf, np.sign(x) * (np.abs(x) == np.min(np.abs(x))))):
        n = np.linalg.norm(x, ord)
        np.testing.assert_allclose(runtime.norm_weight(x, n, ord), want, rtol=1e-12)
        assert _peak(lambda: runtime.norm_weight(x, n, ord)) <= x.nbytes + 8192, ord


def test_append_adjoint_is_a_cut():
    """np.append's adjoint matched entry ids of g's size (an int array, masks, gathers: the
    benchmark's np_append_axis 1.37 over its inputs and output, 14x the time); it is g cut
    in two. Values against the pieces of g, flat and along an axis."""
    from srcad import runtime_arrays as ra
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(200, 300)), rng.normal(size=(200, 7))
    g = rng.normal(size=(200, 307))
    a, b = ra.unappend(g, x, y, 1)
    assert np.array_equal(a, g[:, :300]) and np.array_equal(b, g[:, 300:])
    a, b = ra.unappend(g[:, :3].ravel(), x[:, :2], y[:, :1], None)
    assert np.array_equal(a, g[:, :3].ravel()[:400].reshape(200, 2)) and b.shape == (200, 1)
    assert _peak(lambda: np.add(*ra.unappend(g, x, y, 1)[:1], 0.0)) <= x.nbytes + 8192


def test_take_adjoint_without_an_id_map():
    """np.take's adjoint took the entries of an id map of a's size (an int array as large as
    a, besides the zeros it returns: np_take 1.00 over its inputs and output); it indexes
    the zeros directly. Values against np.add.at."""
    from srcad import runtime_arrays as ra
    rng = np.random.default_rng(10)
    a = rng.normal(size=(300, 400))
    for idx, axis in (([1, 0, 1], -1), ([3, 3, 5], 0), (np.array([[2, 7], [7, 7]]), None), (5, None)):
        g = rng.normal(size=np.shape(np.take(a, idx, axis)))
        want = np.zeros_like(a)
        if axis is None:
            np.add.at(want.reshape(-1), idx, g)
        else:
            np.add.at(want, (slice(None),) * (axis % 2) + (np.asarray(idx),), g)
        np.testing.assert_array_equal(ra.untake(g, a, idx, axis), want)
        assert _peak(lambda: ra.untake(g, a, idx, axis)) <= 8192


def test_ptp_weights_in_place():
    """np.ptp's derivative made max's weights and min's and their difference (three arrays
    of x's size, the benchmark's np_ptp 1.06); ptp_weight makes one. Values (with and
    without ties) against max's weights less min's, and its adjoint against central
    differences."""
    from srcad import runtime, runtime_arrays as ra
    rng = np.random.default_rng(11)
    for x in (rng.uniform(-1, 1, (300, 200)), np.round(rng.uniform(-1, 1, (300, 200)), 1)):
        for axis, keepdims in ((None, False), (0, False), (-1, True)):
            want = runtime.max_weight(x, np.max(x, axis=axis, keepdims=keepdims), axis, keepdims) \
                - runtime.max_weight(x, np.min(x, axis=axis, keepdims=keepdims), axis, keepdims)
            np.testing.assert_allclose(ra.ptp_weight(x, axis, keepdims), want, rtol=1e-15)
    x = rng.uniform(-1, 1, (300, 200))
    assert _peak(lambda: ra.ptp_weight(x, 0)) <= x.nbytes * 1.3
    w = rng.normal(size=200)
    got = srcad.grad(lambda x: np.sum(np.ptp(x, axis=0) * w))(x)
    for i in rng.choice(x.size, size=4, replace=False):
        e = np.zeros(x.size)
        e[i] = 1e-6
        e = e.reshape(x.shape)
        fd = np.sum((np.ptp(x + e, axis=0) - np.ptp(x - e, axis=0)) * w) / 2e-6
        np.testing.assert_allclose(got.flat[i], fd, atol=1e-8)


def _quantile_reference(g, a, q, axis):
    """np.quantile's adjoint along one int axis from a stable sort (the convention)."""
    a = np.moveaxis(a, axis, -1)
    order = np.argsort(a, axis=-1, kind="stable")
    n = a.shape[-1]
    v = q * (n - 1)
    lo, frac = int(np.floor(v)), v - np.floor(v)
    hi = min(lo + 1, n - 1)
    res = np.zeros_like(a)
    rows = np.indices(a.shape[:-1])
    np.add.at(res, (*rows, order[..., lo]), g * (1 - frac))
    np.add.at(res, (*rows, order[..., hi]), g * frac)
    return np.moveaxis(res, -1, axis)


def test_quantile_positions_by_argpartition():
    """median/quantile/percentile's derivatives sorted a's reduced axis (a stable argsort,
    4 arrays of a's size: the benchmark's np_median 1.15, 30 ms); they now find the two
    order statistics by one argpartition, falling back to the stable sort where one is
    tied (the convention: a stable sort's first entry). Against a stable-sort reference,
    with and without ties, and the tangent against the adjoint."""
    from srcad import runtime_arrays as ra
    rng = np.random.default_rng(12)
    for a in (rng.uniform(-1, 1, (40, 301)), np.round(rng.uniform(-1, 1, (40, 300)), 1)):
        for q, axis in ((0.5, -1), (0.3, 0), (0.75, 1)):
            g = rng.normal(size=np.shape(np.quantile(a, q, axis=axis)))
            np.testing.assert_allclose(ra.quantile_vjp(g, a, q, axis),
                                       _quantile_reference(g, a, q, axis), rtol=1e-14)
            t = rng.normal(size=a.shape)
            np.testing.assert_allclose(np.sum(ra.quantile_jvp(t, a, q, axis) * g),
                                       np.sum(t * ra.quantile_vjp(g, a, q, axis)), rtol=1e-12)


def test_interp_helpers_in_place():
    """np.interp's helpers made some ten arrays of x's size (segment ends i and j, widths,
    gathers, masks: np_interp 1.62 over its inputs and output); they now take each
    segment's width and slope once (np.diff) and work in place, with j = i + 1 never made.
    Values against np.interp itself, which is linear in fp (its columns are the fp
    adjoint's rows), inside, outside, at knots, for a repeated knot and one point."""
    from srcad import runtime_arrays as ra
    rng = np.random.default_rng(13)
    xp = np.array([0.0, 0.5, 0.5, 1.0, 2.0])
    fp = rng.normal(size=5)
    for x in (np.array([-0.3, 0.0, 0.2, 0.5, 0.7, 1.0, 1.5, 2.0, 2.4]), np.array(0.7)):
        g = rng.normal(size=np.shape(x))
        cols = np.stack([np.interp(x, xp, e, -1.0, 2.0) - np.interp(x, xp, 0 * e, -1.0, 2.0)
                         for e in np.eye(5)], axis=-1)
        np.testing.assert_allclose(ra.interp_vjp_fp(g, x, xp, fp, -1.0, 2.0),
                                   np.tensordot(g, cols, np.ndim(x)), atol=1e-14)
        ends = np.stack([np.interp(x, xp, e) for e in np.eye(5)], axis=-1)
        np.testing.assert_allclose(ra.interp_vjp_fp(g, x, xp, fp), np.tensordot(g, ends, np.ndim(x)),
                                   atol=1e-14)
        h = 1e-7                                 # the slope: a difference inside segments
        inner = (x > 0) & (x < 2) & (x != 0.5) & (x != 1.0)
        fd = (np.interp(x + h, xp, fp) - np.interp(x - h, xp, fp)) / (2 * h)
        np.testing.assert_allclose(np.where(inner, ra.interp_slope(x, xp, fp), 0),
                                   np.where(inner, fd, 0), atol=1e-6)
        slopes = np.stack([ra.interp_slope(x, xp, e) for e in np.eye(5)], axis=-1)
        np.testing.assert_allclose(ra.interp_slope_vjp(g, x, xp, fp),
                                   np.tensordot(g, slopes, np.ndim(x)), atol=1e-14)
    x = rng.uniform(-0.5, 2.5, 20000)
    xp, fp = np.linspace(0, 2, 20000), rng.normal(size=20000)
    assert _peak(lambda: ra.interp_vjp_fp(np.ones(20000), x, xp, fp)) <= 4.5 * x.nbytes


def test_scipy_linalg_at_singular_matrices():
    """Issue 11 item 4 for scipy.linalg (srcad/rules/scipy_linalg.py's docstring): sqrtm's
    derivative at a singular matrix is no number (its Sylvester equation is singular: inf,
    or ~1/eps where LAPACK rounds), in both modes; solve_triangular of a singular matrix
    raises LinAlgError as its primal does, in both modes."""
    pytest.importorskip("scipy.linalg")
    import warnings
    from fixtures.regress_s6mem import sqrtm_sum, trisolve_sum
    sing = np.array([[1.0, 0.0], [0.0, 0.0]])
    for d in (srcad.jacrev, srcad.jacfwd):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = np.asarray(d(sqrtm_sum)(sing))
        assert not np.all(np.isfinite(got)) or np.max(np.abs(got)) > 1e12
        with pytest.raises(np.linalg.LinAlgError):
            d(trisolve_sum)(np.array([[1.0, 0.0], [1.0, 0.0]]), np.ones(2))


def test_tensordot_tangent_is_one_contraction():
    """np.tensordot's tangent was tensordot(tx, y) + tensordot(x, ty): two arrays of the
    product's size and their sum (np_tensordot_pairs' JVP statement, 2.85x its inputs and
    output); it is one tensordot of [tx, x] and [y, ty] joined along a contracted axis.
    Against the two-product sum for several axes forms and 0.0 (inactive) tangents, and the
    second derivatives (through tensordot_jvp's own rule) against finite differences."""
    pytest.importorskip("scipy")            # (the fixture module imports scipy.stats)
    from fixtures.regress_s6mem import tensordot_pair
    from srcad import runtime
    rng = np.random.default_rng(14)
    x, y = rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 5, 2))
    tx, ty = rng.normal(size=x.shape), rng.normal(size=y.shape)
    for axes in (([2, 0], [1, 0]), (2, 1), ([0], [0])):
        want = np.tensordot(tx, y, axes) + np.tensordot(x, ty, axes)
        np.testing.assert_allclose(runtime.tensordot_jvp(tx, ty, x, y, axes), want, rtol=1e-12)
        np.testing.assert_allclose(runtime.tensordot_jvp(0.0, ty, x, y, axes),
                                   np.tensordot(x, ty, axes), rtol=1e-12)
        assert np.all(runtime.tensordot_jvp(0.0, 0.0, x, y, axes) == 0) and \
            runtime.tensordot_jvp(0.0, 0.0, x, y, axes).shape == want.shape
    np.testing.assert_allclose(runtime.tensordot_jvp(tx, 2 * tx, x, x, 0),
                               np.tensordot(tx, x, 0) + np.tensordot(x, 2 * tx, 0), rtol=1e-12)
    x, y = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4, 3))
    srcad.testing.check_grads(srcad.grad(tensordot_pair), x, y, rtol=1e-4, atol=1e-5)
    h = srcad.jacfwd(srcad.grad(tensordot_pair))(x, y)
    e = np.zeros_like(x)
    e[1, 2, 3] = 1e-6
    fd = (srcad.grad(tensordot_pair)(x + e, y) - srcad.grad(tensordot_pair)(x - e, y)) / 2e-6
    np.testing.assert_allclose(np.asarray(h)[..., 1, 2, 3], fd, rtol=1e-5, atol=1e-6)
