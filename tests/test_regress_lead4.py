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
