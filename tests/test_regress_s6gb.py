"""Regressions of issue 12's GradBench work, sixth session: the runtime's fast paths for the
helpers nested derivatives and small arrays call (bcast, grad_like of numbers, unreduce,
unreduce_vjp, cast_adjoint, unreshape, unindex of a number) and max_vjp along one axis,
each against finite differences or the general path it short-cuts."""
import numpy as np
import pytest

import srcad
from fixtures import regress_s6gb as fx
from srcad import runtime
from srcad.testing import check_grads, numerical_grad

RNG = np.random.default_rng(6)


def test_nested_reverse_over_reverse_small_arrays():
    """particle's shape (rr): the outer gradient of Euler steps under an inner gradient,
    against finite differences of the outer function."""
    ws = np.array([0.3])
    got = srcad.grad(fx.path)(ws)
    np.testing.assert_allclose(got, numerical_grad(fx.path, (ws,), 0), rtol=1e-5, atol=1e-7)


def test_nested_forward_over_reverse_small_arrays():
    """The same outer derivative by forward mode (fr)."""
    ws = np.array([-0.2])
    _, d = srcad.jvp(fx.path, (ws,), (np.ones(1),))
    np.testing.assert_allclose(d, numerical_grad(fx.path, (ws,), 0)[0], rtol=1e-5, atol=1e-7)


def test_axis_min_gradient_array_cotangent():
    """max_vjp along axis 0 with an array cotangent (scaled per column), both modes."""
    check_grads(fx.nearest_cols, RNG.standard_normal((6, 3)), RNG.standard_normal((4, 3)))


def test_axis_max_gradient_negative_axis():
    check_grads(fx.max_last_axis, RNG.standard_normal((2, 3, 5)))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_max_vjp_axis_fast_path_matches_general(axis):
    """Without ties, the in-place scaled hits equal unreduce(g) * max_weight, for a float
    and an array cotangent; with a tie or a nan the general path still shares."""
    x = RNG.standard_normal((4, 5))
    m = np.max(x, axis=axis)
    for g in (2.5, np.float64(-1.5), RNG.standard_normal(m.shape)):
        want = runtime.unreduce(g, x, axis) * runtime.max_weight(x, m, axis)
        got = runtime.max_vjp(g, x, m, axis)
        assert got.dtype == np.float64 and got.shape == x.shape
        np.testing.assert_array_equal(got, want)
    t = np.array([[1.0, 1.0], [0.0, 2.0]])
    np.testing.assert_array_equal(runtime.max_vjp(np.ones(2), t, np.max(t, axis=1), 1),
                                  [[0.5, 0.5], [0.0, 1.0]])


def test_helper_fast_paths_agree_with_general_paths():
    """Each fast path returns what the general code returned (type, shape, value)."""
    a = RNG.standard_normal(3)
    f = np.float64(1.25)
    r = runtime.grad_like(f, f)
    assert type(r) is float and r == 1.25
    assert type(runtime.grad_like(2.0, f)) is float
    s = runtime.unreduce_vjp(a, f)
    assert type(s) is np.float64 and s == a.sum()
    assert runtime.unreduce_vjp(a, 1.0) == a.sum()
    np.testing.assert_array_equal(runtime.unreduce(f, a), np.full(3, 1.25))
    assert runtime.cast_adjoint(a, np.ones(3)) is a
    np.testing.assert_array_equal(runtime.cast_adjoint(a, np.ones(3, dtype=int)), np.zeros(3))
    got = runtime.unreshape(a, [1.0, 2, f])
    assert got.shape == (3,) and np.shares_memory(got, a)
    assert runtime.unreshape(a[:2], [np.ones(1), np.ones(1)]).shape == (2, 1)   # arrays
    np.testing.assert_array_equal(runtime.unreshape(a, np.ones((3, 1))), a.reshape(3, 1))
    assert runtime.bcast(a, np.ones(3)) is a
    np.testing.assert_array_equal(runtime.bcast(a[:1], np.ones(3)), np.full(3, a[0]))
    np.testing.assert_array_equal(runtime.unindex(f, np.ones(3), 1), [0.0, 1.25, 0.0])
    np.testing.assert_array_equal(runtime.unindex(2.0, np.ones(3), slice(1, None)),
                                  [0.0, 2.0, 2.0])


def test_array_argument_has_its_own_shape_class():
    """A helper's array argument the caller knows nothing of still has one shape: its
    elementwise arithmetic alone (sigmoid) needs no unbroadcast, and the two negations of
    its adjoint cancel; rosen's slices of one argument need neither unreduce nor
    unbroadcast. Both gradients against finite differences."""
    from fixtures import lazy_funcs as lf
    text = srcad.source(fx.sigmoid)
    assert "unbroadcast" not in text and "-(" not in text, text
    check_grads(fx.sigmoid_sum, RNG.standard_normal(5))
    text = srcad.source(lf.rosen)
    assert "unreduce" not in text and "unbroadcast" not in text, text
    check_grads(lf.rosen, RNG.standard_normal(6))
    check_grads(fx.sigmoid_of_slice, RNG.standard_normal(8), modes=("reverse",))


def test_own_shape_class_keeps_broadcasting_between_arguments():
    """Arguments of shapes srcad does not know equal keep their broadcasting adjoints:
    x (3, 1) times y (3, 4) sums back to x's shape."""
    check_grads(fx.product, RNG.standard_normal((3, 1)), RNG.standard_normal((3, 4)))
    check_grads(fx.helper_broadcast, RNG.standard_normal((3, 1)), RNG.standard_normal((3, 4)))
