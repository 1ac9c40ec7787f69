"""Regressions fixed with the adjoint-cost benchmark (benchmarks/adjoint_cost.py)."""

import numpy as np

import srcad
from fixtures import regress_s3sp as fx


def test_einsum_of_many_operands_contracts_pairwise():
    """einsum_vjp and einsum_jvp contracted all operands at once (cost: the product of every
    letter's size, minutes here) where the primal's optimize=True contracts them pairwise.
    (No timing here: a regression shows as this test taking minutes.)"""
    rng = np.random.default_rng(0)
    a, b, c, d = (rng.uniform(size=s) for s in [(64, 96), (96, 64), (64, 64), (64, 96)])
    e = rng.uniform(size=96)
    args = (a, b, c, d, e)
    grads = srcad.grad(fx.einsum_chain, wrt=(0, 1, 2, 3, 4))(*args)
    _, tangent = srcad.jvp(fx.einsum_chain, args, tuple(np.ones_like(x) for x in args))
    ones = np.ones(64)
    # d/de: (a b c d)^T 1; d/da: 1 (b c d e)^T
    np.testing.assert_allclose(grads[4], ones @ a @ b @ c @ d, rtol=1e-10)
    np.testing.assert_allclose(grads[0], np.outer(ones, b @ c @ d @ e), rtol=1e-10)

    def chain(xs):                       # "ij,jk,kl,lm,m->i" summed, by matrix products
        return np.sum(xs[0] @ xs[1] @ xs[2] @ xs[3] @ xs[4])
    want = sum(chain([np.ones_like(x) if j == k else x for j, x in enumerate(args)])
               for k in range(5))
    np.testing.assert_allclose(tangent, want, rtol=1e-10)
