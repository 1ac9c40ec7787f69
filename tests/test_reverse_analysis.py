"""The reverse analysis (srcad/reverse/analysis.py) on its own: what it decides each adjoint
is and what it saves, checked against the code the emitter writes from it and against
closed-form derivatives."""
import numpy as np
import pytest

import srcad
from srcad import pipeline, reverse
from srcad.reverse.analysis import LIVE, OWNED, Adjoints

from fixtures import reverse_analysis_funcs as ra


def _emitted(f, wrt=(0,), kinds=None):
    """(the lowered function, the reverse emitter after emitting, the source text)."""
    kinds = pipeline.static_kinds(f) if kinds is None else kinds
    b = pipeline.Build(f, "reverse", wrt, kinds)
    for run in (pipeline._frontend, pipeline._lower, pipeline._verify, pipeline._activity):
        run(b)
    em = reverse._Reverse(b.fn, b.act, None)
    em.function(b.names, False, False, True)
    for _, run, _ in pipeline.PASSES[4:]:     # emit .. codegen, for the text
        run(b)
    return b.fn, em, b.text


def _after_branch(f, kinds):
    """The adjoint states the analysis alone gives just before the reverse sweep of f's
    (only) top-level if statement and just after it."""
    b = pipeline.Build(f, "reverse", (0,), kinds)
    for run in (pipeline._frontend, pipeline._lower, pipeline._verify, pipeline._activity):
        run(b)
    body = b.fn.body
    k = next(i for i, s in enumerate(body) if s.__class__.__name__ == "If")
    an = reverse._Reverse(b.fn, b.act, None).an
    state, wide = {body[-1].value.id: LIVE}, set()
    an.block(body[k + 1:-1], state, wide, set())
    before = dict(state)
    an.branch(body[k], state, wide, set())
    return before, state


def test_a_loop_saves_the_value_it_overwrites_and_reads():
    _, em, text = _emitted(ra.cube_loop)
    assert em.saved == {"s"} and em.shape_only == set()
    assert "s_stack.append(s)" in text and "s = s_stack.pop()" in text
    (loop,) = em.an.loops.values()
    assert loop.entry == {"s": LIVE, "x": OWNED} and not loop.consumed
    assert "x_bar = zeros_like(x)" in text and "x_bar += " in text      # owned: added into
    assert srcad.grad(ra.cube_loop)(1.3) == pytest.approx(3 * 1.3 ** 2, rel=1e-14)


def test_only_the_shape_is_saved_of_values_the_sweep_reads_only_for_their_shape():
    _, em, text = _emitted(ra.loop_reads_only_x, wrt=(0, 1))
    assert em.saved == {"s", "v1"} and em.shape_only == {"s", "v1"}
    assert "v1_stack.append(np.shape(v1))" in text and "s_stack.append(np.shape(s))" in text
    (loop,) = em.an.loops.values()
    assert loop.entry == {"s": LIVE, "x": OWNED, "a": OWNED}
    gx, ga = srcad.grad(ra.loop_reads_only_x, wrt=(0, 1))(0.7, 1.9)
    assert (gx, ga) == (pytest.approx(4 * 1.9, rel=1e-14), pytest.approx(4 * 0.7, rel=1e-14))


def test_an_adjoint_live_across_iterations_and_consumed_in_the_body_is_zeroed_there():
    _, em, text = _emitted(ra.overwritten_then_read)
    (loop,) = em.an.loops.values()
    assert loop.consumed == {"y"} and loop.entry["y"] == LIVE
    body = text.split("for i in reversed(v0):")[1]
    # zeroed after y's earlier value is popped back (None before the first iteration): a
    # zero shaped like the value the adjoint belongs to
    assert "y = y_stack.pop()\n        y_bar = zeros_like(y)" in body
    # s = 3 (2x)^2, plus the last y = 2x
    assert srcad.grad(ra.overwritten_then_read)(0.8) == pytest.approx(24 * 0.8 + 2, rel=1e-14)


@pytest.mark.parametrize("f, owned", [(ra.squares_both_branches, True),
                                      (ra.square_one_branch, False)])
def test_an_adjoint_is_owned_after_a_branch_only_where_both_paths_own_it(f, owned):
    before, after = _after_branch(f, ("any:0",))
    assert "x" not in before
    assert after["x"] == (OWNED if owned else LIVE)
    _, _, text = _emitted(f, kinds=("any:0",))
    tail = text.split("else:")[-1]
    assert ("x_bar += d_out * 3.0" in tail) == owned
    assert ("x_bar = x_bar + d_out * 3.0" in tail) == (not owned)
    x = np.array([0.5, -0.2, 0.9])
    assert srcad.grad(f)(x) == pytest.approx(2 * x + 3.0, rel=1e-14)      # y = x * x
    other = 4 * -x + 3.0 if owned else np.full(3, 5.0)                    # y = 2 x^2, 2 x
    assert srcad.grad(f)(-x) == pytest.approx(other, rel=1e-14)


def test_merge_of_two_paths():
    assert Adjoints.merged({"x": OWNED, "y": OWNED, "z": LIVE}, {"x": OWNED, "y": LIVE}) == \
        {"x": OWNED, "y": LIVE, "z": LIVE}
