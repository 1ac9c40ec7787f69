"""Issue 12 (GradBench, fourth session): the runtime's fast paths the generated code of
lstm-like code calls (a slice of a small array in unindex/index_add, pieces along the
first axis in unconcatenate), against the general code and finite differences."""
import numpy as np
import pytest

import srcad
from srcad import runtime as rt
from srcad.testing import check_grads, numerical_grad

from fixtures import regress_s4gb as rs

rng = np.random.default_rng(124)


def test_slices_of_small_arrays_in_unindex_and_index_add():
    x = np.arange(10.0).reshape(5, 2)
    for idx, g in ((slice(1, 3), np.ones((2, 2))), (slice(None, None, -2), np.ones((3, 2))),
                   (slice(-2, None), 2.0), (slice(4, 1), np.ones((0, 2)))):
        want = np.zeros_like(x)
        want[idx] += g
        got = rt.unindex(g, x, idx)
        assert got.dtype == np.float64 and got.shape == x.shape
        np.testing.assert_array_equal(got, want)
        acc = np.ones_like(x)
        assert rt.index_add(acc, idx, g) is acc
        np.testing.assert_array_equal(acc, want + 1.0)
    big = np.ones(5000)                             # above the threshold: the boxed path
    np.testing.assert_array_equal(rt.unindex(np.ones(3), big, slice(2, 5)),
                                  np.r_[0, 0, 1, 1, 1, np.zeros(4995)])


def test_unconcatenate_along_the_first_axis():
    g = np.arange(14.0).reshape(7, 2)
    xs = (np.ones((3, 2)), [[1.0, 2.0]], np.ones((0, 2)), np.ones((3, 2)))
    got = rt.unconcatenate(g, xs)
    assert type(got) is rt.Items
    for p, q in zip(got, np.split(g, [3, 4, 4])):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(rt.unconcatenate(np.arange(5.0), (np.ones(2), np.ones(3)))[1],
                                  [2, 3, 4])


@pytest.mark.parametrize("f, shapes", [(rs.gates, ((12,), (3,))), (rs.rows, ((3, 2), (2,)))])
def test_first_and_second_order_through_the_fast_paths(f, shapes):
    args = [rng.normal(size=s) for s in shapes]
    check_grads(f, *args)
    g = srcad.grad(f, wrt=(0, 1))
    H = srcad.hessian(f)(*args)                    # forward over reverse
    np.testing.assert_allclose(
        H.reshape(args[0].size, -1),
        numerical_grad(lambda a: g(a, *args[1:])[0].ravel(), (args[0],), 0).reshape(
            -1, args[0].size).T, rtol=1e-5, atol=1e-7)


def general_max_weight(x, out, axis=None, keepdims=False):
    """The weights by their definition: the hits, ties sharing equally."""
    o = np.asarray(out) if keepdims or axis is None else np.expand_dims(out, axis)
    hit = (x == o).astype(float)
    return hit / np.sum(hit, axis=axis, keepdims=True)


@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, True), ((0, 1), False)])
def test_max_weight_without_and_with_ties(axis, keepdims):
    """No tie: the hits themselves (one conversion); a tie anywhere: shared weights."""
    x = rng.normal(size=(3, 4))
    tied = x.copy()
    tied[1, :] = tied[0, :] = 5.0
    for a in (x, tied, x.astype(np.float32), np.round(x).astype(int)):
        out = np.max(a, axis=axis, keepdims=keepdims)
        got = rt.max_weight(a, out, axis, keepdims)
        assert got.dtype == (np.float32 if a.dtype == np.float32 else np.float64)
        np.testing.assert_array_equal(got, general_max_weight(a, out, axis, keepdims))


def test_max_adjoints_first_and_second_order():
    """lse's and kmeans' derivatives through max_weight, against closed forms and finite
    differences (a tie in lse: the max's adjoint is shared, the gradient unchanged)."""
    for x in (rng.normal(size=6), np.array([1.0, 3.0, 3.0, -1.0])):
        p = np.exp(x - np.max(x))
        p /= p.sum()
        np.testing.assert_allclose(srcad.grad(rs.logsumexp)(x), p, rtol=1e-12)
        np.testing.assert_allclose(srcad.hessian(rs.logsumexp)(x), np.diag(p) - np.outer(p, p),
                                   rtol=1e-9, atol=1e-12)
    pts, cs = rng.normal(size=(7, 2)), rng.normal(size=(3, 2))
    check_grads(rs.nearest, pts, cs, wrt=(1,))
    H = srcad.derivative(srcad.grad(rs.nearest, wrt=1), mode="forward", wrt=1)(
        pts, cs, np.ones_like(cs))[1]
    counts = np.bincount(np.argmin(((pts[None] - cs[:, None]) ** 2).sum(-1), axis=0),
                         minlength=3)
    np.testing.assert_allclose(H, 2.0 * counts[:, None] * np.ones_like(cs), rtol=1e-12)


def test_unstack_and_stacked_states():
    g = np.arange(24.0).reshape(2, 3, 4)
    for axis in (0, 1, -1):
        got = rt.unstack(g, axis)
        assert type(got) is rt.Items
        np.testing.assert_array_equal(np.stack(got, axis), g)
    w, x = rng.normal(size=(3, 2)), rng.normal(size=2)
    check_grads(rs.stacked, w, x)
    np.testing.assert_allclose(
        srcad.hessian(rs.stacked)(w, x).reshape(6, 6),
        numerical_grad(lambda a: srcad.grad(rs.stacked)(a, x).ravel(), (w,), 0).reshape(6, 6),
        rtol=1e-5, atol=1e-7)
