"""Scalar functions of the np.linalg decompositions, for second derivatives and the
conventions tests of tests/rules/test_linalg_rules.py (srcad reads their source)."""
import numpy as np


def eigh_sum(a):
    w, v = np.linalg.eigh(a)
    return np.sum(w ** 3) + np.sum(v[0] ** 2 * w)


def eigh_values(a):
    return np.sum(np.linalg.eigh(a)[0] ** 3)


def eigh_vectors(a):
    return np.sum(np.linalg.eigh(a)[1] ** 4)


def eigvalsh_sum(a):
    return np.sum(np.linalg.eigvalsh(a) ** 3)


def cholesky_sum(a):
    return np.sum(np.linalg.cholesky(a) ** 3)


def cholesky_weighted(a, w):
    return np.sum(np.linalg.cholesky(a) * w)


def svd_sum(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(s ** 3) + np.sum(u[:, 0] ** 2 * vh[0] [0]) + np.sum(u ** 4)


def svd_values(a):
    return np.sum(np.linalg.svd(a, compute_uv=False) ** 3)


def svd_full(a):
    u, s, vh = np.linalg.svd(a)
    return np.sum(u ** 3) + np.sum(s)


def qr_sum(a):
    q, r = np.linalg.qr(a)
    return np.sum(q ** 3) + np.sum(r ** 3)


def qr_complete(a):
    q, r = np.linalg.qr(a, mode="complete")
    return np.sum(q ** 3)


def pinv_sum(a):
    return np.sum(np.linalg.pinv(a) ** 3)


def lstsq_sum(a, b):
    x, res, rank, s = np.linalg.lstsq(a, b)
    return np.sum(x ** 3) + np.sum(res) ** 2


def matrix_power_sum(a):
    return np.sum(np.linalg.matrix_power(a, 3) ** 2) + np.sum(np.linalg.matrix_power(a, -2))


def eig_sum(a):
    w, v = np.linalg.eig(a)
    return np.sum(w ** 3) + np.sum(v ** 4)


def eig_values(a):
    return np.sum(np.linalg.eig(a)[0] ** 2)


def norm_nuc(a):
    return np.linalg.norm(a, "nuc")


def norm_two(a):
    return np.linalg.norm(a, 2)


def norm_minus_two(a):
    return np.linalg.norm(a, -2)


def power_spectrum(x):
    return np.sum(np.abs(np.fft.rfft(x)) ** 2 * np.arange(x.shape[-1] // 2 + 1))


def filtered(x):
    y = np.fft.irfft(np.fft.rfft(x) * np.exp(-np.arange(x.shape[-1] // 2 + 1.0)), x.shape[-1])
    return np.sum(y ** 3) + np.sum(np.abs(np.fft.ifftn(np.fft.fftn(x * x) * 2.0)))


def spectrum_2d(x):
    y = np.fft.irfftn(np.fft.rfftn(x) ** 2, x.shape, axes=(0, 1))
    return np.sum(y * x)


def vector_norm(x):
    return np.linalg.norm(x)


def det_of(a):
    return np.linalg.det(a)


def logabsdet_of(a):
    return np.linalg.slogdet(a)[1]


def pinv_squares(a):
    return np.sum(np.linalg.pinv(a) ** 2)


def lstsq_squares(a, b):
    return np.sum(np.linalg.lstsq(a, b, rcond=None)[0] ** 2)


# ------------------------------------------------------------ third order (of one float)
def _matrix_of(t):
    return np.array([[2.0 + t, t * t, 0.1], [t * t, 1.0 - t, t], [0.1, t, 3.0]])


def eigh_of_t(t):
    w, v = np.linalg.eigh(_matrix_of(t))
    return np.sum(w * w * t) + np.sum(v[:, 1] ** 2 * np.arange(3.0))


def svd_of_t(t):
    u, s, vh = np.linalg.svd(_matrix_of(t))
    return np.sum(s ** 2 * t) + np.sum(u[:, 0] ** 2 * np.arange(3.0)) + np.sum(vh[0] ** 4)


def qr_of_t(t):
    q, r = np.linalg.qr(_matrix_of(t))
    return np.sum(q ** 3) + np.sum(r * t)


def slogdet_of_t(t):
    s, logdet = np.linalg.slogdet(_matrix_of(t))
    return s * logdet * t


def eig_of_t(t):
    w, v = np.linalg.eig(_matrix_of(t) + _matrix_of(t).T)
    return np.sum(w ** 3) + np.sum(v[:, 0] ** 4)


def lstsq_of_t(t):
    x, res, rank, sv = np.linalg.lstsq(_matrix_of(t), np.array([1.0, t, 2.0]), rcond=None)
    return np.sum(x ** 3) + np.sum(sv)


def nuc_of_stack(a):
    return np.sum(np.linalg.norm(a, "nuc", axis=(0, 2)) ** 2)


def spectral_norms_of_t(t):
    a = np.array([[2.0 + t, t * t, 0.1], [t * t, 1.0 - t, t]])
    return np.linalg.norm(a, "nuc") + np.linalg.norm(a, 2) * t + np.linalg.norm(a, -2) ** 2
