"""Property-based checks of reductions and broadcasting over random shapes and axes:
sum, mean, max/min, prod and var over any axis (int, negative, tuple, None) with or
without keepdims, and add/multiply of any mutually broadcastable pair, both modes."""
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
import fixtures_numpy as fx  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import srcad  # noqa: E402

SETTINGS = settings(max_examples=25, deadline=None)


@st.composite
def reductions(draw):
    """(x, axis, keepdims): x of 0 to 3 axes with distinct entries, axis None, an int (maybe
    negative) or a tuple of distinct axes."""
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    nd = len(shape)
    if nd == 0:
        axis = None
    else:
        kind = draw(st.sampled_from(["none", "int", "tuple"]))
        axes = draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
        signed = [a - nd if draw(st.booleans()) else a for a in axes]
        axis = None if kind == "none" else signed[0] if kind == "int" else tuple(signed)
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    x = (rng.permutation(n) * 0.15 + 0.5).reshape(shape)     # distinct: no ties for max
    return x, axis, draw(st.booleans())


@pytest.mark.parametrize("f", [fx.np_sum_axis, fx.np_mean_axis, fx.np_max_axis, fx.np_prod_axis],
                         ids=lambda f: f.__name__)
@SETTINGS
@given(case=reductions())
def test_reductions(f, case):
    x, axis, keepdims = case
    srcad.testing.check_grads(f, x, axis, keepdims)


@SETTINGS
@given(case=reductions(), ddof=st.integers(0, 1))
def test_var(case, ddof):
    x, axis, keepdims = case
    n = x.size if axis is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axis)]))
    if n <= ddof:
        return
    srcad.testing.check_grads(fx.np_var_axis, x, axis, keepdims, ddof)


@pytest.mark.parametrize("f", [fx.op_add, fx.op_mul, fx.np_add, fx.np_multiply],
                         ids=lambda f: f.__name__)
@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       seed=st.integers(0, 2 ** 16), scalar=st.sampled_from([None, 0, 1]))
def test_broadcasting(f, shapes, seed, scalar):
    rng = np.random.default_rng(seed)
    x, y = (rng.uniform(0.5, 1.5, size=s) for s in shapes.input_shapes)
    if scalar == 0:
        x = float(rng.uniform(0.5, 1.5))
    elif scalar == 1:
        y = float(rng.uniform(0.5, 1.5))
    srcad.testing.check_grads(f, x, y)
