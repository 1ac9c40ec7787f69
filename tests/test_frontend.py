"""The frontend reads exactly a function's own def, however its source is laid out."""
import inspect
import textwrap

import numpy as np
import pytest

import srcad
from srcad import frontend

from fixtures import source_funcs as sf
from fixtures import regress_api as ra


@pytest.mark.parametrize("f, x, want", [
    (sf.col0_string, 0.7, 2 * 0.7),
    (sf.col0_comment, 0.7, 6 * 0.7),
    (sf.continued, 0.7, 6 * 0.7),
    (sf.followed_by_comment, 0.7, 3 * 0.7 ** 2),
    (sf.after_the_comment, 0.7, 4 * 0.7 ** 3),
])
def test_awkward_layouts_differentiate(f, x, want):
    assert srcad.grad(f)(x) == pytest.approx(want, rel=1e-14)


def test_signature_closed_at_the_defs_indentation():
    assert srcad.grad(sf.signature_closed_at_def_indent, wrt=(0, 1))(2.0, 3.0) == (3.0, 2.0)


def test_decorators_over_several_lines():
    f = sf.decorated_over_lines.__wrapped__.__wrapped__
    assert srcad.grad(f)(0.7) == pytest.approx(np.cos(0.7) * 0.7 + np.sin(0.7), rel=1e-14)


@pytest.mark.parametrize("f", [sf.col0_string, sf.col0_comment, sf.continued,
                               sf.followed_by_comment, sf.after_the_comment,
                               sf.signature_closed_at_def_indent,
                               sf.decorated_over_lines.__wrapped__.__wrapped__])
def test_source_read_is_inspects(f):
    """Whichever way the frontend reads the def (by indentation, or inspect's tokenizer
    where that misreads), it gets the lines inspect does."""
    lines, first = inspect.getsourcelines(f)
    parsed = frontend.parse(f)
    assert parsed.line_offset == first - 1
    want = [ln.rstrip() for ln in textwrap.dedent("".join(lines)).splitlines()]
    assert list(parsed.source_lines.values()) == want


def test_source_check_accepts_context_dependent_bytecode():
    """The stale-source check compares the def srcad read with the function's code object;
    definitions compiled differently by their context must still match (issue 9)."""
    from fixtures import regress_api_layouts as lay
    h = lay.Holder()
    assert srcad.grad(h.method)(1.5) == pytest.approx(6.0)
    assert srcad.grad(h.nested)(1.5) == pytest.approx(2 * 2.0 * 1.5)
    f = lay.make(2.0)
    x = 0.5
    want = 2 * (np.sin(x) + x * np.cos(x)) + np.cos(x) - np.sin(x)
    assert srcad.grad(f)(x) == pytest.approx(want)
    assert srcad.grad(lay.square)(1.5) == pytest.approx(3.0)
    for func in (lay.Holder.method, lay.Holder.nested, f, lay.square):
        frontend.parse(func)


# regressions: private attribute names (frontend.py)
W0 = np.array([1.0, 3.0])


X = np.array([1.0, 2.0])


def test_bound_method_reading_a_private_attribute():
    m = ra.Model(W0)
    np.testing.assert_allclose(srcad.grad(m.private)(X), [0.5, 0.5])
    m._Model__bias = 4.0
    np.testing.assert_allclose(srcad.grad(m.private)(X), [4.0, 4.0])
