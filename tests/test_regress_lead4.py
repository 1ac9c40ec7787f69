"""Regressions fixed by the lead in the fourth session, each failing before its fix."""
import numpy as np
import pytest

import srcad
from fixtures import inplace_funcs as f


def test_source_with_an_array_as_mode_is_a_clear_error():
    # srcad.source(f, x) (the point given where the mode goes) raised NumPy's "truth value
    # of an array is ambiguous" from inside srcad
    with pytest.raises(srcad.SrcadError, match="unknown mode ndarray"):
        srcad.source(f.fill_loop, np.ones(3))


def test_a_user_function_is_lowered_once_per_activity_analysis(monkeypatch):
    # the result kind and storage summary of a helper were read from its SSA at every call
    # site and every fixpoint round, lowering it again each time (GradBench saddle's rf
    # nested derivative: 9,504 lowerings, 37 s of build)
    from srcad import activity, lower
    from fixtures import regress_lead4 as fx
    seen, active = [], [False]
    real_lower, real_analyze = lower.lower, activity.analyze

    def counting_lower(parsed, *args, **kwargs):
        fn = real_lower(parsed, *args, **kwargs)
        if active[0]:
            seen[-1].append(fn.name)
        return fn

    def analyze(*args, **kwargs):
        outer = not active[0]
        if outer:
            active[0] = True
            seen.append([])
        try:
            return real_analyze(*args, **kwargs)
        finally:
            if outer:
                active[0] = False

    monkeypatch.setattr(lower, "lower", counting_lower)
    monkeypatch.setattr(activity, "analyze", analyze)
    x = 0.3
    got = srcad.grad(srcad.grad(fx.f))(x)
    h = 1e-5
    fd = (srcad.grad(fx.f)(x + h) - srcad.grad(fx.f)(x - h)) / (2 * h)
    assert got == pytest.approx(fd, rel=1e-6)
    assert seen and any(seen)
    for names in seen:
        assert len(names) == len(set(names)), names
