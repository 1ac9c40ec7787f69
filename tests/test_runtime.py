"""The runtime helpers generated code calls, against plain NumPy."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import srcad
from srcad import runtime
from srcad.runtime import index_add, matmul_vjp_x, matmul_vjp_y, unbroadcast, unindex

_bound = st.one_of(st.none(), st.integers(-6, 6))
_slice = st.builds(slice, _bound, _bound, st.sampled_from([None, 1, 2, -1]))


@st.composite
def _array_and_index(draw):
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=1, max_size=3)))
    n = draw(st.integers(1, len(shape)))
    items = tuple(draw(_slice) for _ in range(n))
    return shape, items if n > 1 or draw(st.booleans()) else items[0]


@settings(max_examples=300, deadline=None)
@given(_array_and_index(), st.booleans())
def test_unindex_is_zeros_with_g_written_at_idx(case, scalar_g):
    """unindex(g, x, idx) = a zero array shaped like x with g at idx (a basic index writes
    each entry once); for slices it zeros only the complement, so every entry is checked."""
    shape, idx = case
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    g = 2.5 if scalar_g else rng.normal(size=x[idx].shape)
    want = np.zeros(shape)
    want[idx] = g
    got = unindex(g, x, idx)
    assert got.shape == shape and got.dtype == np.float64
    assert np.array_equal(got, want)


def test_unindex_adds_repeated_integer_indices():
    x = np.zeros(4)
    np.testing.assert_array_equal(unindex(np.array([1.0, 2.0, 3.0]), x, np.array([0, 2, 2])),
                                  [1.0, 0.0, 5.0, 0.0])


def test_unindex_keeps_the_wider_of_x_and_g_dtypes():
    x = np.zeros(3)
    assert unindex(np.ones(2, dtype=np.float16), x, slice(1, None)).dtype == np.float64
    assert unindex(np.ones(2), x.astype(np.float32), slice(1, None)).dtype == np.float64
    assert unindex(np.float32(1.0), x.astype(np.float32), slice(1, None)).dtype == np.float32


def test_index_add_broadcasts_a_scalar_and_adds_in_place():
    acc = np.zeros(5)
    out = index_add(acc, slice(1, 4), 2.0)
    assert out is acc
    np.testing.assert_array_equal(acc, [0.0, 2.0, 2.0, 2.0, 0.0])
    index_add(acc, np.array([0, 0]), np.array([1.0, 1.0]))
    assert acc[0] == 2.0


@st.composite
def _broadcast_pair(draw):
    """(like_shape, g_shape): g_shape is like_shape broadcast against something bigger."""
    like = tuple(draw(st.lists(st.integers(1, 4), max_size=3)))
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    grown = tuple(draw(st.integers(1, 3)) if n == 1 else n for n in like)
    return like, lead + grown


@settings(max_examples=200, deadline=None)
@given(_broadcast_pair(), st.sampled_from(["array", "shape"]))
def test_unbroadcast_sums_what_broadcasting_spread(pair, like_as):
    like_shape, g_shape = pair
    rng = np.random.default_rng(1)
    g = rng.normal(size=g_shape)
    like = np.zeros(like_shape) if like_as == "array" else like_shape
    # reference: the adjoint of np.broadcast_to(x, g_shape), entry by entry
    want = np.zeros(like_shape)
    for index in np.ndindex(*g_shape):
        tail = index[len(g_shape) - len(like_shape):]
        want[tuple(0 if n == 1 else i for i, n in zip(tail, like_shape))] += g[index]
    got = unbroadcast(g, like)
    assert np.shape(got) == like_shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("like", [np.float64(2.5), 2.5])
@pytest.mark.parametrize("shape, dtype", [((7,), np.float64), ((2, 3), np.float64),
                                          ((3, 1, 2), np.float32), ((), np.float64)])
def test_unbroadcast_to_a_number_sums_every_entry(like, shape, dtype):
    g = np.arange(1.0, 1.0 + math.prod(shape)).reshape(shape).astype(dtype)
    got = unbroadcast(g, like)
    assert np.ndim(got) == 0 and float(got) == sum(range(1, 1 + math.prod(shape)))


def test_unbroadcast_to_a_tuple_of_arrays_is_not_taken_for_a_shape():
    # a tuple of values (not ints) as `like`: item by item, never compared as a shape
    g = np.ones((2, 3))
    got = unbroadcast(g, (np.zeros(3), np.zeros(3)))
    assert [np.shape(x) for x in got] == [(3,), (3,)]


@pytest.mark.parametrize("x", [
    np.array([[0.3, 2.0, -1.0], [4.0, 1.0, 0.5]]),            # no tie
    np.array([[2.0, 2.0, -1.0], [4.0, 1.0, 0.5]]),            # a tie in one row
    np.array([[np.nan, 2.0, -1.0], [4.0, 1.0, 4.0]]),         # a nan, a tie elsewhere
    np.array([[1.0], [3.0]])])
@pytest.mark.parametrize("axis", [1, -1, 0])
@pytest.mark.parametrize("g_as", ["number", "array"])
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")     # the reference, at nan
def test_max_vjp_with_keepdims_weighs_ties_as_the_general_path(x, axis, g_as):
    from srcad import runtime
    m = np.max(x, axis=axis, keepdims=True)
    g = 1.5 if g_as == "number" else np.arange(1.0, 1.0 + m.size).reshape(m.shape)
    want = runtime.unreduce(g, x, axis, True) * runtime.max_weight(x, m, axis, True)
    got = runtime.max_vjp(g, x, m, axis, True)
    np.testing.assert_array_equal(got, want)


def test_unreshape_puts_a_number_back_into_a_one_item_array():
    from srcad import runtime
    got = runtime.unreshape(2.5, np.zeros((1, 1), dtype=np.float32))
    assert type(got) is np.ndarray and got.shape == (1, 1) and got[0, 0] == 2.5


@pytest.mark.parametrize("xs, ys", [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)),
                                    ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5))])
def test_matmul_adjoints_are_the_transposed_products(xs, ys):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=xs), rng.normal(size=ys)
    g = rng.normal(size=np.shape(x @ y))
    # <g, x @ y> is linear in each argument: its gradient is the adjoint
    gx = np.array([np.sum(g * (e.reshape(xs) @ y)) for e in np.eye(x.size)]).reshape(xs)
    gy = np.array([np.sum(g * (x @ e.reshape(ys))) for e in np.eye(y.size)]).reshape(ys)
    np.testing.assert_allclose(matmul_vjp_x(g, x, y), gx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(matmul_vjp_y(g, x, y), gy, rtol=1e-12, atol=1e-12)


def test_einsum_derivatives_along_a_sublist_are_zero():
    # a sublist reaches einsum's derivative helpers as a zero tangent when it is saved in a
    # helper's tuple of residuals next to the operands (hessian of sublist einsum)
    from srcad.runtime import einsum_jvp_pair, einsum_vjp_pair
    rng = np.random.default_rng(3)
    a, b, g = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    args = (a, [0, 1], b, [1, 2], [0, 2], None, None, None, None)
    zero = [0.0, 0.0]
    assert np.array_equal(einsum_jvp_pair(0, a, 1, zero, *args), np.zeros((2, 4)))
    assert np.array_equal(einsum_vjp_pair(0, g, 3, zero, *args), np.zeros((2, 3)))
    assert np.array_equal(einsum_vjp_pair(1, g, 0, a, *args), np.zeros(2))


def test_hessian_of_a_sublist_einsum_in_a_helper():
    from conftest import second_order
    from fixtures import pass_funcs as pf
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((2, 2, 3)), rng.standard_normal((2, 3, 2))
    second_order(pf.sublist_einsum_through_helper, [a, b], 0)
    second_order(pf.sublist_einsum_through_helper, [a, b], 1)


def test_unbroadcast_of_a_float_seed_onto_a_size_one_operand():
    """`p.a * p.b`, b of shape (1,): the output has size 1, so grad and hessian seed it
    with the float 1.0, and the adjoint of b is a scalar; unbroadcast gives it b's shape
    (an IndexError before, inside srcad.hessian of a NamedTuple _replace'd in a loop)."""
    b = np.array([0.5])
    got = unbroadcast(np.float64(0.7), b)
    assert got.shape == (1,) and got[0] == 0.7
    assert unbroadcast(0.7, np.ones((1, 1))).shape == (1, 1)


def test_weights_of_a_list_take_its_arrays_dtype():
    # np.result_type read a list of numbers as a structured dtype's fields: a TypeError
    # from the reverse sweep of np.sort([...])
    from fixtures import pass_funcs as pf
    assert runtime._weight_dtype([0.5, 1.0], np.ones(2, np.float32)) == np.float64
    assert runtime._weight_dtype((np.float32(1.0), np.float32(2.0))) == np.float32
    srcad.testing.check_grads(pf.sorted_list_display, 0.7)
