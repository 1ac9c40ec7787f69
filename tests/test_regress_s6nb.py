"""The numba backend, sixth session: GradBench particle's and saddle's shapes compile
(values assigned in a loop's exit branch are not saved; a branch's zero adjoint of a name
assigned on every path is an array shaped like it; calls of function values are direct
calls; a value saved while None keeps its stack's items in place), shape-only saves
dropped where the shape is known (both backends)."""
import re

import numpy as np
import pytest

import srcad
from srcad import pipeline
from srcad.testing import numerical_grad

from tests.fixtures import regress_s6nb as fx
from tests.numba_shared import grad as nb_grad
from tests.numba_shared import numba_cache, numba_cache_dir  # noqa: F401 (fixtures)

numba = pytest.importorskip("numba", reason="the numba backend needs Numba (pip install numba)")

pytestmark = [pytest.mark.filterwarnings("ignore::numba.NumbaPerformanceWarning"),
              pytest.mark.usefixtures("numba_cache")]

X2, C2 = np.array([1.0, 2.0]), np.array([0.3, 0.2])


def _check(f, args, wrt, got):
    want = srcad.grad(f, wrt=wrt)(*args)
    want = want if isinstance(want, tuple) else (want,)
    got = got if isinstance(got, tuple) else (got,)
    for k, g, w in zip(wrt, got, want):
        np.testing.assert_allclose(w, numerical_grad(f, args, k), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_exit_branch_values_are_not_saved():
    """Assigned once, in the branch that leaves the loop: nothing before them to save (their
    pushes were of None, whose shape Numba could not type: particle's refusal)."""
    text = srcad.source(fx.euler_exit)
    for name in ("t", "x_f"):
        assert not re.search(rf"\b{name}_stack\b", text)
    assert "x_stack.append(x)" in text           # the loop's own values still are
    _check(fx.euler_exit, (0.4,), (0,), srcad.grad(fx.euler_exit)(0.4))


def test_value_of_known_shape_saves_no_shape():
    """A value the reverse sweep reads only for its shape, which is an argument's at every
    step: no stack of its shapes (one push and one pop per step before)."""
    args = (np.array([0.3, -0.2]), 0.4)
    text = pipeline.get(fx.known_shape_loop, "reverse", (0, 1), pipeline.kinds_of(args),
                        False).text
    assert "t_stack" not in text and "unbroadcast(u_bar, t)" in text
    _check(fx.known_shape_loop, args, (0, 1), srcad.grad(fx.known_shape_loop, wrt=(0, 1))(*args))


def test_particle_shape_compiles():
    _check(fx.euler_exit, (0.4,), (0,), nb_grad(fx.euler_exit)(0.4))


def test_function_values_called_compile():
    """saddle's descent: the lambdas' calls are direct calls (the helper srcad specialised
    on them calls its functions, compiled too), in reverse and forward mode; refused before."""
    _check(fx.through_values, (X2, C2), (0, 1), nb_grad(fx.through_values, wrt=(0, 1))(X2, C2))
    t = np.array([1.0, -0.5])
    want = srcad.jvp(fx.through_values, (X2, C2), (t, 0 * t))
    got = srcad.jvp(fx.through_values, (X2, C2), (t, 0 * t), backend="numba")
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_function_value_handed_on_is_refused_at_the_users_line():
    with pytest.raises(srcad.SrcadError) as e:
        nb_grad(fx.passes_value_on)(X2, 0.5)
    msg = str(e.value)
    assert "regress_s6nb.py:" in msg and "`if _below(f, x):`" in msg and \
        "function passed as a value" in msg
    assert "srcad_numba_" not in msg and "Maker" not in msg


def test_trace_and_sum_of_a_list_compile():
    """Numba versions of undiagonal (np.trace's adjoint) and repeat_items (sum's), and
    builtin sum of a list of arrays and numbers, np.expand_dims of a number (refused or
    Numba typing errors before)."""
    m, v = np.arange(9.0).reshape(3, 3) / 7, np.array([0.2, -0.4, 0.6])
    _check(fx.trace_and_list_sum, (m, v), (0, 1),
           nb_grad(fx.trace_and_list_sum, wrt=(0, 1))(m, v))
