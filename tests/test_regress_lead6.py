"""Regression tests for what the lead fixed in the sixth session. Oracles: finite
differences (srcad.testing) of srcad's or a closed-form gradient."""
import numpy as np
import pytest

import srcad
from srcad.testing import numerical_grad

from fixtures import regress_lead6 as R


def test_hessian_of_a_function_with_a_keyword_only_parameter():
    # the hessian's check that the inner function returns a scalar called it with the
    # keyword-only `l2` as a fourth positional argument (a TypeError)
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(6, 2)), (rng.normal(size=6) > 0) * 1.0, rng.normal(size=2)
    H = srcad.hessian(R.logistic)(w, X, y)
    fd = numerical_grad(lambda w: srcad.grad(R.logistic)(w, X, y), (w,), 0)
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-7)
    H2 = srcad.hessian(R.logistic)(w, X, y, l2=0.5)
    np.testing.assert_allclose(H2 - H, 0.8 * np.eye(2), atol=1e-7)


def test_hessian_through_cho_solve():
    # cho_solve's adjoint helper imported scipy.linalg in its body, and srcad, reading its
    # source at second order, refused the import, naming its own runtime file
    pytest.importorskip("scipy")
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(5, 2)), rng.normal(size=5)
    p = {"log_ls": 0.1, "log_sn": -1.0}
    H = srcad.hessian(R.gp_nll)(p, X, y)
    for a in p:
        for b in p:
            def grad_a(v, a=a, b=b):
                return srcad.grad(R.gp_nll)({**p, b: v}, X, y)[a]
            fd = numerical_grad(grad_a, (p[b],), 0)
            np.testing.assert_allclose(H[a][b], fd, rtol=1e-5, atol=1e-6)
