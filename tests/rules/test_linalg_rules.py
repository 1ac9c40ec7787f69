"""The np.linalg decompositions beyond the table samples: second derivatives, the
conventions of srcad/rules/linalg.py (triangles read, repeated eigenvalues and singular
values, non-square full factorizations, complex eigenvalues, spectral-norm ties) and
property-based checks over random shapes (SPD matrices for cholesky, well-separated
spectra for eigh and svd), each in both modes against finite differences."""
import fixtures_numpy as fx
import linalg_funcs as lf
from conftest import autograd_grad
from fixtures import regress_lead as R
from fixtures import regress_rules as rr
from fixtures import regress_s3sp as fx_s3sp
import numpy as np
import pytest

import srcad
from srcad import runtime
from srcad.testing import check_grads

RNG = np.random.default_rng(11)
G43, G34, B4 = RNG.normal(size=(4, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=4)

SECOND = [
    (lf.eigh_sum, (fx.spectrum(3, 3),)), (lf.eigh_values, (fx.spectrum(3, 3),)),
    (lf.eigh_vectors, (fx.spectrum(3, 3),)), (lf.eigvalsh_sum, (fx.spectrum(4, 4),)),
    (lf.cholesky_sum, (fx.spd(3, 3),)), (lf.svd_sum, (G43,)), (lf.svd_sum, (G34,)),
    (lf.svd_values, (G43,)), (lf.qr_sum, (G43,)), (lf.qr_sum, (G34,)), (lf.pinv_sum, (G43,)),
    (lf.pinv_sum, (G34,)), (lf.lstsq_sum, (G43, B4)), (lf.matrix_power_sum, (fx.well(3, 3),)),
    (lf.eig_sum, (fx.real_eig(3, 3),)), (lf.eig_values, (fx.real_eig(3, 3),)),
]


@pytest.mark.parametrize("f, args", SECOND, ids=[f"{f.__name__}-{i}" for i, (f, _) in
                                                 enumerate(SECOND)])
def test_second_derivatives(f, args):
    with np.errstate(all="ignore"):
        srcad.testing.check_grads(srcad.grad(f), *args, rtol=1e-4, atol=1e-5)


def test_hessian_of_eigh_matches_autograd():
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp

    def twin(a):
        w, v = anp.linalg.eigh(a)
        return anp.sum(w ** 3) + anp.sum(v[0] ** 2 * w)
    a = fx.spectrum(3, 3, skew=False)
    np.testing.assert_allclose(srcad.hessian(lf.eigh_sum)(a), autograd.hessian(twin)(a),
                               rtol=1e-6, atol=1e-8)


THIRD = [lf.eigh_of_t, lf.svd_of_t, lf.qr_of_t, lf.slogdet_of_t, lf.eig_of_t, lf.lstsq_of_t]


@pytest.mark.parametrize("f", THIRD, ids=[f.__name__ for f in THIRD])
def test_third_derivatives(f):
    # the decompositions return tuples: their adjoints add item by item at every order
    # (grad(grad(grad)) added them with `+`, concatenating), and jacfwd's batched tangent
    # of a tuple's adjoint indexes an array term past its directions' axis
    g2 = srcad.grad(srcad.grad(f))
    t, h = 0.3, 1e-4
    want = (g2(t + h) - g2(t - h)) / (2 * h)
    for third in (srcad.grad(g2), srcad.jacfwd(g2), srcad.jacrev(g2)):
        np.testing.assert_allclose(third(t), want, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------ triangles
def both(f, *args, wrt=0):
    with np.errstate(all="ignore"):
        return (np.asarray(srcad.jacrev(f, wrt=wrt)(*args)),
                np.asarray(srcad.jacfwd(f, wrt=wrt)(*args)))


def test_cholesky_agrees_with_autograd_on_symmetric_directions():
    """NumPy reads the lower triangle, autograd's gradient is symmetric: along a symmetric
    direction both are the derivative of the same function."""
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp
    a, w, v = fx.spd(4, 4, skew=False), RNG.normal(size=(4, 4)), RNG.normal(size=(4, 4))
    v = v + v.T
    want = np.sum(autograd.grad(lambda a: anp.sum(anp.linalg.cholesky(a) * w))(a) * v)
    np.testing.assert_allclose(np.sum(srcad.grad(lf.cholesky_weighted)(a, w) * v), want,
                               rtol=1e-10)
    np.testing.assert_allclose(srcad.jvp(lf.cholesky_weighted, (a, w), (v, 0.0 * w))[1], want,
                               rtol=1e-10)


@pytest.mark.parametrize("f, make", [(lf.cholesky_sum, fx.spd), (lf.eigh_sum, fx.spectrum),
                                     (lf.eigvalsh_sum, fx.spectrum)])
def test_unread_triangle_has_zero_derivative(f, make):
    for got in both(f, make(4, 4)):
        np.testing.assert_array_equal(np.triu(got, 1), 0.0)
        assert np.all(got[np.tril_indices(4, -1)] != 0.0)


# ------------------------------------------------------------ repeated eigenvalues
def test_repeated_eigenvalues_give_the_eigenvalues_derivative():
    """At a = I (every eigenvalue 1), sum(w^3) has derivative 3 v v^T = 3 I on the lower
    triangle, in both modes, without nan: the eigenvectors' terms are skipped."""
    for f in (lf.eigh_values, lf.eigvalsh_sum):
        for got in both(f, np.eye(3)):
            np.testing.assert_allclose(got, 3.0 * np.eye(3), atol=1e-12)


def test_repeated_eigenvalues_make_the_eigenvectors_derivative_non_finite():
    rev, fwd = both(lf.eigh_vectors, np.diag([1.0, 1.0, 2.0]))
    assert not np.all(np.isfinite(rev)) and not np.all(np.isfinite(fwd))


def test_repeated_singular_values():
    a = np.diag([2.0, 2.0, 1.0])
    for got in both(lf.svd_values, a):          # d sum(s^3) = 3 u diag(s^2) vh
        np.testing.assert_allclose(got, np.diag([12.0, 12.0, 3.0]), atol=1e-12)
    rev, fwd = both(lf.svd_sum, a)
    assert not np.all(np.isfinite(rev)) and not np.all(np.isfinite(fwd))


def test_spectral_norms_at_ties_and_zeros():
    """Ties of the largest (smallest) singular value split equally; zero singular values
    get weight 0 (the nuclear norm of a 1x1 matrix is abs, abs'(0) = 0)."""
    for got in both(lf.norm_two, np.eye(2)):
        np.testing.assert_allclose(got, 0.5 * np.eye(2), atol=1e-12)
    for got in both(lf.norm_minus_two, np.diag([3.0, 1.0, 1.0])):
        np.testing.assert_allclose(got, np.diag([0.0, 0.5, 0.5]), atol=1e-12)
    for got in both(lf.norm_nuc, np.zeros((1, 1))):
        np.testing.assert_array_equal(got, [[0.0]])
    for got in both(lf.norm_nuc, np.diag([2.0, 0.0])):
        np.testing.assert_allclose(got, np.diag([1.0, 0.0]), atol=1e-12)


@pytest.mark.parametrize("f, a", [(lf.norm_nuc, G43), (lf.norm_two, G34),
                                  (lf.norm_minus_two, G43),
                                  (lf.nuc_of_stack, RNG.normal(size=(3, 2, 4)))])
def test_spectral_norm_second_derivatives(f, a):
    # u diag(w) vh differentiated through the svd (they raised NotImplementedError when run)
    from conftest import second_order
    second_order(f, (a,))


def test_spectral_norm_third_derivatives():
    g2 = srcad.grad(srcad.grad(lf.spectral_norms_of_t))
    t, h = 0.3, 1e-4
    want = (g2(t + h) - g2(t - h)) / (2 * h)
    for third in (srcad.grad(g2), srcad.jacfwd(g2)):
        np.testing.assert_allclose(third(t), want, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------ non-square full factorizations
def test_full_svd_and_complete_qr_extra_columns_are_nan():
    """u's columns beyond min(m, n) are no function srcad differentiates: nan wherever they
    are used, exact where only the first min(m, n) are (tests/rules/fixtures_numpy.py)."""
    for f in (lf.svd_full, lf.qr_complete):
        for got in both(f, G43):
            assert np.all(np.isnan(got))
        for got in both(f, fx.well(3, 3)):          # square: full is reduced
            assert np.all(np.isfinite(got))


def qr_raw(a):
    return np.sum(np.linalg.qr(a, mode="raw")[0])


def test_qr_raw_is_refused():
    with pytest.raises(NotImplementedError, match="raw"):
        srcad.grad(qr_raw)(G43)


# ------------------------------------------------------------ complex eigenvalues
def test_eig_with_complex_eigenvalues_is_refused_when_run():
    rotation = np.array([[0.0, -1.0], [1.0, 0.0]]) + 0.1
    with pytest.raises(NotImplementedError, match="eigenvalues are real"):
        srcad.grad(lf.eig_values)(rotation)
    with pytest.raises(NotImplementedError, match="eigenvalues are real"):
        srcad.jvp(lf.eig_values, (rotation,), (np.ones((2, 2)),))


# ------------------------------------------------------------ property-based
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from conftest import peak_beyond_result
from conftest import second_order_in_both_modes
from conftest import temporary_ratio

SETTINGS = settings(max_examples=15, deadline=None)


def _rng(seed):
    return np.random.default_rng(seed)


@SETTINGS
@given(n=st.integers(1, 4), lead=st.lists(st.integers(1, 2), max_size=1),
       seed=st.integers(0, 2 ** 16), upper=st.booleans())
def test_cholesky_of_random_spd(n, lead, seed, upper):
    rng = _rng(seed)
    m = rng.normal(size=tuple(lead) + (n, n))
    a = m @ np.swapaxes(m, -1, -2) + n * np.eye(n)
    srcad.testing.check_grads(fx.np_cholesky, a, rtol=1e-4, atol=1e-6)


def _separated(rng, lead, n):
    """Symmetric matrices with eigenvalues at least 0.5 apart."""
    q, _ = np.linalg.qr(rng.normal(size=lead + (n, n)))
    w = np.cumsum(rng.uniform(0.5, 1.5, size=lead + (n,)), axis=-1) - n / 2
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


@SETTINGS
@given(n=st.integers(1, 4), lead=st.lists(st.integers(1, 2), max_size=1),
       seed=st.integers(0, 2 ** 16))
def test_eigh_of_separated_spectra(n, lead, seed):
    a = _separated(_rng(seed), tuple(lead), n)
    for f in (fx.np_eigh, fx.np_eigh_values, fx.np_eigvalsh):
        srcad.testing.check_grads(f, a, rtol=1e-4, atol=1e-6)


@SETTINGS
@given(m=st.integers(1, 4), n=st.integers(1, 4), lead=st.lists(st.integers(1, 2), max_size=1),
       seed=st.integers(0, 2 ** 16))
def test_svd_of_separated_singular_values(m, n, lead, seed):
    rng = _rng(seed)
    k = min(m, n)
    u, _ = np.linalg.qr(rng.normal(size=tuple(lead) + (m, k)))
    v, _ = np.linalg.qr(rng.normal(size=tuple(lead) + (n, k)))
    s = 1.0 + np.cumsum(rng.uniform(0.5, 1.5, size=tuple(lead) + (k,)), axis=-1)
    a = (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)
    for f in (fx.np_svd, fx.np_svd_full, fx.np_svd_values, fx.np_qr, fx.np_pinv):
        srcad.testing.check_grads(f, a, rtol=1e-4, atol=1e-6)
    if not lead:
        srcad.testing.check_grads(fx.np_norm_nuc, a, rtol=1e-4, atol=1e-6)
        srcad.testing.check_grads(fx.np_lstsq, a, rng.normal(size=m), rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------ np.fft
X6 = RNG.normal(size=6)


@pytest.mark.parametrize("f, x", [(lf.power_spectrum, X6), (lf.filtered, X6),
                                  (lf.spectrum_2d, RNG.normal(size=(3, 4)))],
                         ids=["power_spectrum", "filtered", "spectrum_2d"])
def test_fft_second_derivatives(f, x):
    srcad.testing.check_grads(srcad.grad(f), x, rtol=1e-4, atol=1e-5)


def test_fft_of_real_input_has_real_gradient():
    for f in (lf.power_spectrum, lf.filtered):
        for dt in (np.float64, np.float32):
            g = srcad.grad(f)(X6.astype(dt))
            assert g.dtype == dt
            _, t = srcad.jvp(f, (X6.astype(dt),), (np.ones(6, dtype=dt),))
            assert not np.iscomplexobj(t)


def test_fft_gradient_matches_autograd():
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp

    def twin(x):
        return anp.sum(anp.abs(anp.fft.rfft(x)) ** 2 * anp.arange(x.shape[-1] // 2 + 1))
    np.testing.assert_allclose(srcad.grad(lf.power_spectrum)(X6), autograd.grad(twin)(X6),
                               rtol=1e-10)


def abs_of_complex(x):
    return np.sum(np.abs(np.fft.fft(x)))


def test_abs_of_complex_values():
    """d|z| = Re(conj(z) dz) / |z|, 0 at z = 0, and its second derivative."""
    srcad.testing.check_grads(abs_of_complex, X6)
    srcad.testing.check_grads(srcad.grad(abs_of_complex), X6, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(srcad.grad(abs_of_complex)(np.zeros(4)), 0.0)


# ------------------------------------------------------------ non-differentiable points
def test_vector_norm_at_zero_is_nan():
    """The 2-norm's derivative at x = 0 is 0/0 = nan in both modes (the docstring's
    convention), not a silent 0."""
    for got in both(lf.vector_norm, np.zeros(3)):
        assert np.all(np.isnan(got))


def test_det_and_slogdet_at_a_singular_matrix_raise():
    """det and slogdet are differentiated through the inverse: at a singular matrix the
    derivative raises NumPy's LinAlgError in both modes (det's derivative, the cofactor
    matrix, exists there; srcad does not compute it), never a silent value."""
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    for f in (lf.det_of, lf.logabsdet_of):
        for d in (srcad.jacrev(f), srcad.jacfwd(f)):
            with pytest.raises(np.linalg.LinAlgError):
                d(singular)


def test_cholesky_of_a_matrix_not_positive_definite_raises_as_the_primal():
    with pytest.raises(np.linalg.LinAlgError):
        srcad.grad(lf.cholesky_sum)(np.array([[1.0, 2.0], [2.0, 1.0]]))


def test_pinv_and_lstsq_at_a_constant_rank_deficiency():
    """pinv and lstsq of a rank-2 4x3 matrix, along a direction that keeps the rank
    (a(t) = (U + tE)(V + tF)^T): both modes against a central difference along the path."""
    rng = np.random.default_rng(21)
    U, V, E, F = (rng.normal(size=s) for s in ((4, 2), (3, 2), (4, 2), (3, 2)))
    b = rng.normal(size=4)
    path = lambda t: (U + t * E) @ (V + t * F).T           # noqa: E731
    a, d = path(0.0), E @ V.T + U @ F.T
    for f, rest in ((lf.pinv_squares, ()), (lf.lstsq_squares, (b,))):
        fd = (f(path(1e-6), *rest) - f(path(-1e-6), *rest)) / 2e-6
        np.testing.assert_allclose(np.sum(srcad.grad(f)(a, *rest) * d), fd, rtol=1e-6)
        _, tangent = srcad.jvp(f, (a, *rest), (d,) + tuple(np.zeros_like(r) for r in rest))
        np.testing.assert_allclose(tangent, fd, rtol=1e-6)


# regressions: einsum, dot, matmul, outer, norm, tensordot, symmetric adjoints (rules/linalg.py)
def test_outer_adjoint_of_a_scalar_or_zero_cotangent():
    y = np.array([0.1, -0.3])
    np.testing.assert_array_equal(srcad.grad(R.unused_outer)(y), [2.0, 2.0])
    check_grads(R.unused_outer, y)


RNG_rules = np.random.default_rng(9)


def rand(*shape):
    return RNG_rules.uniform(0.5, 1.5, size=shape)


# ------------------------------------------------------------ 1. np.einsum with sublists
@pytest.mark.parametrize("f, shapes", [(rr.einsum_transpose, [(2, 3)]),
                                       (rr.einsum_product, [(2, 3), (3, 4)])])
def test_einsum_sublists_match_autograd(f, shapes):
    args = [rand(*s) for s in shapes]
    for i in range(len(args)):
        want = autograd_grad(f, args, i)
        np.testing.assert_allclose(srcad.grad(f, wrt=i)(*args), want, rtol=1e-10)
    check_grads(f, *args)


def test_einsum_sublists_without_output_and_second_order():
    a, b = rand(3, 3), rand(3, 2)
    check_grads(rr.einsum_implicit, a, b)
    second_order_in_both_modes(rr.einsum_implicit, a, b)
    second_order_in_both_modes(rr.einsum_product, rand(2, 3), rand(3, 2))


def test_einsum_takes_more_than_four_operands():
    args = [rand(2, 3), rand(3, 2), rand(2, 2), rand(2, 3), rand(3)]
    check_grads(rr.einsum_five, *args)
    np.testing.assert_allclose(srcad.grad(rr.einsum_five, wrt=4)(*args),
                               autograd_grad(rr.einsum_five, args, 4), rtol=1e-10)


def test_einsum_with_too_many_arguments_is_refused_when_built():
    with pytest.raises(srcad.UnsupportedSyntaxError, match="einsum.*at most 9"):
        srcad.grad(rr.einsum_too_many)(rand(3))


# ------------------------------------------------------------ 6. np.dot and @ of N-d operands
ND = [((2, 3, 4), (4, 2)), ((2, 3), (2, 3, 4)), ((2, 2, 3), (3,)), ((3,), (2, 3, 2)),
      ((2, 1, 3), (4, 3, 2)), ((2, 3, 2), ())]


@pytest.mark.parametrize("sa, sb", ND)
def test_dot_of_nd_operands(sa, sb):
    a, b = rand(*sa), rand(*sb) if sb else 1.3
    for f in (rr.dot_nd, rr.method_dot_nd):
        check_grads(f, a, b)
    for i in range(2):
        np.testing.assert_allclose(srcad.grad(rr.dot_nd, wrt=i)(a, b),
                                   autograd_grad(rr.dot_nd, (a, b), i), rtol=1e-10)
    second_order_in_both_modes(rr.dot_nd, a, b) if sb else None


@pytest.mark.parametrize("sa, sb", [((2, 2, 3), (3,)), ((3,), (2, 3, 4)), ((2, 1, 2, 3), (3, 3, 2)),
                                    ((4, 3), (2, 3, 2))])
def test_matmul_of_nd_and_1d_operands(sa, sb):
    a, b = rand(*sa), rand(*sb)
    check_grads(rr.matmul_nd, a, b)
    second_order_in_both_modes(rr.matmul_nd, a, b)


def test_einsum_of_many_operands_contracts_pairwise():
    """einsum_vjp and einsum_jvp contracted all operands at once (cost: the product of every
    letter's size, minutes here) where the primal's optimize=True contracts them pairwise.
    (No timing here: a regression shows as this test taking minutes.)"""
    rng = np.random.default_rng(0)
    a, b, c, d = (rng.uniform(size=s) for s in [(64, 96), (96, 64), (64, 64), (64, 96)])
    e = rng.uniform(size=96)
    args = (a, b, c, d, e)
    grads = srcad.grad(fx_s3sp.einsum_chain, wrt=(0, 1, 2, 3, 4))(*args)
    _, tangent = srcad.jvp(fx_s3sp.einsum_chain, args, tuple(np.ones_like(x) for x in args))
    ones = np.ones(64)
    # d/de: (a b c d)^T 1; d/da: 1 (b c d e)^T
    np.testing.assert_allclose(grads[4], ones @ a @ b @ c @ d, rtol=1e-10)
    np.testing.assert_allclose(grads[0], np.outer(ones, b @ c @ d @ e), rtol=1e-10)

    def chain(xs):                       # "ij,jk,kl,lm,m->i" summed, by matrix products
        return np.sum(xs[0] @ xs[1] @ xs[2] @ xs[3] @ xs[4])
    want = sum(chain([np.ones_like(x) if j == k else x for j, x in enumerate(args)])
               for k in range(5))
    np.testing.assert_allclose(tangent, want, rtol=1e-10)


def test_symmetric_adjoints_hold_fewer_temporaries():
    """The adjoints of eigh, eigvalsh and cholesky multiplied by three n x n constant masks
    (a temporary per product) and kept every intermediate in a local: at n = 160 they held
    6.0, 7.0 and 11.0 times the matrix besides their result, now 3.3, 2.3 and 3.3."""
    rng = np.random.default_rng(0)
    n = 160
    a = rng.normal(size=(n, n))
    a = a + a.T + n * np.eye(n)
    w, v = np.linalg.eigh(a)
    lo = np.linalg.cholesky(a)
    assert temporary_ratio(lambda: runtime._on_triangle(a, False), a) < 2.0
    assert temporary_ratio(lambda: runtime.eigh_vjp((w, v), (w, v)), a) < 4.5
    assert temporary_ratio(lambda: runtime.eigvalsh_vjp(w, a), a) < 3.5
    assert temporary_ratio(lambda: runtime.cholesky_vjp(a, lo), a) < 4.5


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
    assert peak_beyond_result(lambda: runtime.matmul_vjp_x(g, x, y)) <= g.nbytes + x.nbytes + 8192


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
        assert peak_beyond_result(lambda: runtime.norm_weight(x, n, ord)) <= x.nbytes + 8192, ord


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
