"""Issue 12 (GradBench, NumPy backend): regressions found running GradBench's own code."""
import inspect

import numpy as np
import pytest

import srcad
from srcad.testing import check_grads

from fixtures import regress_s3gb as rs

rng = np.random.default_rng(12)


def test_fresh_array_filled_in_a_loop_and_kept_in_a_list():
    """`Qk = np.zeros(...)` then `Qk[j, j] = ...` in an inner loop and `Q.append(Qk)`: the
    alias analysis named each setitem's result by a root of its own, shared by every outer
    iteration, so the Qk of an earlier iteration (in Q) seemed to be the Qk being filled."""
    q, l = 0.3 * rng.normal(size=(3, 3)), 0.3 * rng.normal(size=(3, 3))
    check_grads(rs.lower_by_entries, q, l, 3, 3, wrt=(0, 1))


def test_one_array_kept_twice_is_still_refused():
    lines, first = inspect.getsourcelines(rs.one_array_kept_twice)
    line = first + next(k for k, s in enumerate(lines) if "# ERR" in s)
    with pytest.raises(srcad.UnsupportedSyntaxError, match=f"regress_s3gb.py:{line}"):
        srcad.grad(rs.one_array_kept_twice)(rng.normal(size=(2, 2)))


def test_recursive_float_result_drops_broadcasting_helpers():
    """A user function's result kind comes from its own body (recursion by a fixpoint from
    a float guess): det by minors returns a float, so its derivative has no unbroadcast
    (it had one per operation, 45-75x the primal's time)."""
    a = rng.normal(size=16)
    A = a.reshape(4, 4)
    np.testing.assert_allclose(srcad.grad(rs.det_by_minors)(a, 4),
                               (np.linalg.det(A) * np.linalg.inv(A).T).ravel(), rtol=1e-9)
    text = pipeline_text(rs.det_by_minors, a, 4)
    assert "unbroadcast" not in text


def pipeline_text(f, *args):
    from srcad import pipeline
    return pipeline.get(f, "reverse", (0,), pipeline.kinds_of(args)).text


@pytest.mark.parametrize("f", [rs.sum_power_rows, rs.mutual, rs.use_halves])
def test_user_call_results_of_other_kinds(f):
    """Recursive helpers returning arrays (the float guess fails and is widened), mutual
    recursion (each guess read by the other), a helper returning a tuple."""
    check_grads(f, rng.normal(size=4) + 1.5)


def test_runtime_fast_paths_agree_with_the_general_ones():
    """The helpers' fast paths (one comparison and a count for a full max, slices for
    unconcatenate, one entry for unindex/index_add) give what the general code gives."""
    from srcad import runtime as rt
    x = np.array([1.0, 3.0, 3.0, 2.0])
    np.testing.assert_array_equal(rt.max_weight(x, 3.0), [0, 0.5, 0.5, 0])
    assert rt.max_weight(x.astype(np.float32), np.float32(3.0)).dtype == np.float32
    np.testing.assert_array_equal(rt.max_weight(np.array([1, 2, 2]), 2), [0, 0.5, 0.5])
    with np.errstate(all="ignore"):
        assert np.isnan(rt.max_weight(np.array([np.nan, 1.0]), np.nan)).all()
    g = np.arange(12.0).reshape(3, 4)
    for axis, xs in ((0, [np.ones((1, 4)), np.ones((2, 4))]),
                     (1, [np.ones((3, 1)), np.ones((3, 0)), np.ones((3, 3))]),
                     (-1, [np.ones((3, 2)), np.ones((3, 2))])):
        for got, want in zip(rt.unconcatenate(g, xs, axis),
                             np.split(g, np.cumsum([x.shape[axis] for x in xs])[:-1], axis)):
            np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(rt.unindex(2.0, np.ones(3), 1), [0, 2, 0])
    assert rt.unindex(np.float32(2.0), np.ones(3, np.float32), 1).dtype == np.float32
    acc = np.zeros((2, 2))
    assert rt.index_add(acc, 1, np.ones(2)) is acc and acc[1].tolist() == [1, 1]
    assert rt.zeros_like(np.ones(3, np.int64)).dtype == np.float64


@pytest.mark.parametrize("xs, ys", [((3,), (3, 4)), ((4, 3), (3,)), ((3,), (3,)), ((2, 3), (3, 4))])
def test_matmul_adjoints_of_vectors_and_matrices(xs, ys):
    """matmul_vjp_x/y's vector-matrix fast paths against finite differences."""
    from srcad import runtime as rt
    from srcad.testing import numerical_grad
    x, y = rng.normal(size=xs), rng.normal(size=ys)
    g = rng.normal(size=np.shape(x @ y))
    np.testing.assert_allclose(rt.matmul_vjp_x(g, x, y),
                               numerical_grad(lambda x: np.sum(g * (x @ y)), (x,), 0), rtol=1e-6)
    np.testing.assert_allclose(rt.matmul_vjp_y(g, x, y),
                               numerical_grad(lambda y: np.sum(g * (x @ y)), (y,), 0), rtol=1e-6)


def test_unbroadcast_of_scalars():
    from srcad import runtime as rt
    assert rt.unbroadcast(np.float64(2.0), np.float64(1.0)) == 2.0
    assert rt.unbroadcast(2.0, np.array(1.0)) == 2.0
    assert rt.unbroadcast(np.ones(3), np.float64(1.0)) == 3.0
    np.testing.assert_array_equal(rt.unbroadcast(np.ones((2, 3)), (1, 3)), [[2, 2, 2]])


@pytest.mark.parametrize("f", [rs.mask_index, rs.entry_times_row])
@pytest.mark.parametrize("i", [True, 1])
def test_an_entry_is_indexed_by_an_int_never_a_bool(f, i):
    """An int-kind name may hold a bool, which indexes as a mask: only sums and products of
    ints, and loop counters, make an entry a float (its adjoint then a number)."""
    check_grads(f, rng.normal(size=3), i, wrt=(0,))


def test_cyclic_collector_paused_only_while_a_derivative_runs():
    """grad pauses the cyclic collector during the derivative (its tape holds no cycles)
    and gives it back as it was, also when the derivative raises."""
    import gc
    g = srcad.grad(rs.det_by_minors)
    g(rng.normal(size=9), 3)
    assert gc.isenabled()
    with pytest.raises(Exception):
        g(rng.normal(size=4), 3)          # a[8] out of range: the derivative raises
    assert gc.isenabled()
    gc.disable()
    try:
        g(rng.normal(size=9), 3)
        assert not gc.isenabled()
    finally:
        gc.enable()
