"""Second derivatives through the rule tables: srcad differentiates its own gradient code,
whose helpers (tests/rules/fixtures_numpy.py samples them one by one) have rules in
srcad/rules/helpers.py. Checked as `check_grads(srcad.grad(f), x)`: the gradient's
derivative in both modes (forward over reverse is `srcad.hessian`) against central
differences of the gradient."""
import math

import numpy as np
import pytest

import srcad

X = np.array([0.3, 0.5, 0.6, 0.7, 0.4, 0.45])


def elementwise(x):
    a = np.arcsin(x) * np.log2(x) + np.hypot(x, x[::-1]) * np.power(x, 2.5)
    return np.sum(a + np.logaddexp(x, 2.0 * x) + np.fmax(x, 0.42) ** 2 + np.clip(x, 0.2, 0.65) ** 2)


def reductions(x):
    return np.std(x, ddof=1) * np.var(x.reshape(2, 3), axis=0)[1] + np.prod(x) \
        + np.sum(np.cumsum(x) ** 2) + np.sum(np.cumprod(x.reshape(2, 3), axis=1))


def norms(x):
    return np.linalg.norm(x) + np.sum(np.linalg.norm(x.reshape(2, 3), ord=3, axis=-1) ** 2)


def products(x):
    a, b = x.reshape(2, 3), x.reshape(3, 2)
    c = np.sum(np.inner(a, a) ** 2) + np.sum(np.tensordot(a, b, 1) ** 2) + np.vdot(x, x ** 2)
    return c + np.sum(np.outer(x, x) ** 2) + np.sum(np.einsum("ij,jk->ik", a, b ** 2) ** 2)


def diagonals(x):
    m = x.reshape(2, 3)[:, :2] + 2.0 * np.eye(2)
    return np.sum(np.diag(x) @ np.diag(x) * x[0]) + np.trace(m ** 3) + np.sum(np.diag(m) ** 3)


def linalg(x):
    m = x.reshape(2, 3)[:, :2] + 2.0 * np.eye(2)      # well-conditioned
    return np.sum(np.linalg.inv(m)) + np.linalg.det(m) + np.linalg.slogdet(m)[1]


def solve(x):
    m = x.reshape(2, 3)[:, :2] + 2.0 * np.eye(2)
    return np.sum(np.linalg.solve(m, x[:2]))


def shapes(x):
    a, b = np.split(x, 2)
    c = np.sum(x.reshape(1, 2, 3).transpose(2, 0, 1) ** 3) + np.sum(a * b * b)
    d = np.sum(np.concatenate([x, x * x]) ** 2) + np.sum(np.stack([x, x * x]) ** 2)
    return c + d + np.sum(np.tile(x, 2) ** 3) + np.sum(np.repeat(x, 2) ** 3)


def constructors(x):
    return np.sum(np.linspace(x[0], x[1], 4) ** 3) + np.sum(np.array([x[0], x[1] * x[2]]) ** 3) \
        + np.sum(np.full((2,), x[3]) ** 3) + np.sum(x.astype(float) ** 3)


def real_parts(x):
    # np.imag and np.angle of a real array: zero derivatives, whose helpers branch on
    # np.iscomplexobj (refused at second order before it had a rule)
    return np.sum(np.sin(np.imag(x) + np.angle(x) * x + np.real(x) ** 2))


def session7(x):
    # builtins, math and NumPy functions with rules since session 7 (x moved off the
    # jumps of divmod and frexp)
    x = x + 0.013
    a = np.copysign(x, -1.0) ** 2 + np.float_power(x, 2.5) + np.ldexp(x, 2) ** 2 + np.i0(x)
    b = np.modf(x * 3.0)[0] ** 2 + np.divmod(x, 0.3)[1] ** 2 + np.frexp(x)[0] ** 2
    c = pow(x[0], 3) + math.copysign(x[1] ** 2, -1.0) + math.fmod(x[2] * 3.0, 0.7) ** 2 + \
        math.ldexp(x[3], 2) ** 2 + divmod(x[4], 0.3)[1] ** 2
    return np.sum(a + b) + c + math.prod([x[0], x[1], x[2]]) + math.dist([x[0], 1.0], [x[1], x[2]]) \
        + x[2:3].item() ** 3 + sum(v ** 3 for v in x.tolist())


def complex_parts(x):
    # the real parts of complex intermediates at second order: grad(grad) pairs a real value's
    # adjoint with complex factors (np.real(z) * z'), whose imaginary part np.real, np.imag,
    # np.angle and np.real_if_close must drop (they read it as z's before)
    z = np.exp(1j * x) * (x + 2.0)
    a = np.sum(np.real(z) ** 2) + np.sum(np.imag(z) * np.real(np.exp(2j * x)))
    b = np.sum(np.angle(z) ** 2) + np.sum(np.real_if_close(z * np.conj(z)) ** 3)
    c = np.sum(z.imag ** 2 + z.real ** 3) + np.sum(np.fft.fft(x).imag * x)    # the attributes
    return a + b + c + np.sum(np.real(np.conj(z) * x) ** 2)


def blocks_and_grids(x):
    # np.block's adjoint (unblock) had no rule: grad(grad) crashed in srcad's reverse pass
    b = np.block([[x[:2], x[2:4] ** 2], [x[1:3], x[4:] * x[0]]])
    a1, a2 = np.meshgrid(x[:3], x[3:] ** 2)
    c1, c2, c3 = np.meshgrid(x[:2], x[2:5], x[5:] * x[0], indexing="ij")
    return np.sum(b ** 3) + np.sum(a1 * a2 ** 2 + np.sin(a1)) + np.sum(c1 * c2 ** 2 * c3)


def sinc_at_zero(x):
    # sinc''(0) = -pi^2/3: the slope's quotient formula differentiated gave 0 there
    return np.sum(np.sinc(x - 0.3) ** 2 + np.sinc(x - 0.45) * x)


def nan_reductions(x):
    y = np.concatenate([x, np.full(2, np.nan)]).reshape(2, 4)     # row 1 ends in two nans
    a = np.nansum(y) ** 2 + np.sum(np.nanmean(y, axis=0) ** 3) + np.nanprod(y) + np.nanvar(y)
    b = np.sum(np.nanstd(y, axis=1, ddof=1)) + np.nanmax(y) ** 2 + np.sum(np.nanmin(y, axis=0) ** 3)
    c = np.nanmedian(y) ** 2 + np.sum(np.nanmedian(y, axis=1) ** 3)
    return a + b + c + np.sum(np.nancumsum(y) ** 2) + np.sum(np.nancumprod(y, axis=1))


def array_api(x):
    m = x.reshape(2, 3)
    sq = m[:, :2] + 2.0 * np.eye(2)
    a = np.sum(np.linalg.vecdot(m, m[::-1]) ** 2) + np.linalg.vector_norm(m, ord=3) + \
        np.sum(np.linalg.matrix_norm(sq) ** 2) + np.sum(np.linalg.svdvals(sq) ** 3)
    b = np.linalg.trace(sq) ** 2 + np.sum(np.linalg.cross(m[0], m[1]) ** 2) + np.linalg.cond(sq)
    c = np.sum(np.cumulative_sum(x, include_initial=True) ** 2) + np.sum(np.cumulative_prod(x))
    return a + b + c + np.sum(np.unstack(m)[1] ** 3) + np.sum(np.logspace(x[0], x[1], 3)) + \
        np.sum(np.geomspace(x[2], x[3], 3) ** 2) + np.sum(np.unique(x) ** 3 * np.arange(6))


def dots_and_covariances(x):
    m = x.reshape(2, 3)
    a = np.sum(np.linalg.multi_dot([x[:2], m, x[3:]]) ** 2) + np.sum(np.linalg.multi_dot([m, m.T]) ** 2)
    b = np.sum(np.cov(m) ** 2) + np.cov(x, x ** 2, ddof=0)[0, 1] + np.sum(np.corrcoef(m.T, rowvar=False) ** 3)
    sq = m[:, :2] + 2.0 * np.eye(2)
    c = np.sum(np.linalg.tensorsolve(sq, x[:2]) ** 2) + np.sum(np.linalg.tensorinv(sq, ind=1) ** 2)
    return a + b + c


def fits(x):
    # np.polyfit's helpers are plain NumPy that srcad reads at second order
    t = np.linspace(0.0, 1.0, 6)
    return np.sum(np.polyfit(x, t * x, 2) ** 2) + np.sum(np.polyfit(t, x ** 2, 1, w=t + 1.0) ** 2)


CASES = [fits, session7, nan_reductions, array_api, dots_and_covariances, elementwise, reductions, norms, products, diagonals, linalg, shapes, constructors,
         solve, real_parts, complex_parts, blocks_and_grids, sinc_at_zero]


@pytest.mark.parametrize("f", CASES, ids=lambda f: getattr(f, "__name__", str(f)))
def test_second_derivatives(f):
    with np.errstate(all="ignore"):
        srcad.testing.check_grads(srcad.grad(f), X, rtol=1e-4, atol=1e-5)


def test_hessian_matches_autograd():
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp

    def twin(x):
        return anp.sum(anp.tanh(x) * anp.cumsum(x) ** 2) + anp.linalg.norm(x) * anp.prod(x)

    np.testing.assert_allclose(srcad.hessian(hessian_sample)(X), autograd.hessian(twin)(X),
                               rtol=1e-8, atol=1e-10)


def hessian_sample(x):
    return np.sum(np.tanh(x) * np.cumsum(x) ** 2) + np.linalg.norm(x) * np.prod(x)


def masked_reductions(x):
    # initial= and where= of the reductions, dtype= of ufuncs (refused before session 10)
    m = x.reshape(2, 3)
    k = m < np.max(m, axis=-1, keepdims=True)
    a = np.sum(x, initial=x[0]) + np.prod(m, axis=0, initial=x[1], where=m > 0.35) @ x[:3] + \
        np.max(x, initial=0.65) ** 2 + np.sum(np.min(m, axis=1, initial=x[2], where=m > 0.42) ** 3)
    b = np.sum(np.var(m, axis=-1, where=k) * x[:2]) + np.std(x, where=x > 0.35, ddof=1) ** 3
    return a + b + np.sum(np.exp(x, dtype=x.dtype) * np.hypot(x, x[::-1], dtype=np.float64)) + \
        np.mean(x ** 3, where=x > 0.42)


CASES.append(masked_reductions)


def masked_ufuncs(x):
    # out= with where= of ufuncs (refused before session 11): X's 0.45 makes log's and
    # divide's excluded entries singular (log(0), 1/0), which a derivative computed on every
    # entry and masked after gave as nan at second order (0 * inf)
    z = np.log(x - 0.45, out=np.zeros_like(x), where=x > 0.55)
    acc = x ** 2
    np.divide(x, x - 0.45, out=acc, where=x > 0.55)
    np.exp(x, out=acc, where=x < 0.35)
    q, r = np.divmod(x + 0.013, 0.3, dtype=np.float64)       # (off its jumps, as session7)
    return np.sum(z ** 2 * x + acc ** 2) + np.sum(np.modf(x * 3.0, dtype=x.dtype)[0] ** 3 + r ** 3)


CASES.append(masked_ufuncs)
