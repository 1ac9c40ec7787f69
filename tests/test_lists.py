"""Lists grown in place in generated code (srcad/lists.py), against finite differences."""
import numpy as np
import pytest

import srcad
from srcad.testing import check_grads

from conftest import second_order
from fixtures import regress_s5py as R


T = np.array([0.3, 0.9])


def test_appends_and_their_adjoints_change_private_lists_in_place():
    # was: `xs_stack.append(xs); xs = [*xs, x]` forward and `xs = xs_stack.pop();
    # xs_bar = t_bar[:-1]` backward, a copy of the list per step (O(n^2) in n appends)
    for f in (R.append_loop, R.comprehension_sum):
        text = srcad.source(f)
        assert "[*" not in text and "[:-1]" not in text and "_stack.append(xs" not in text
        assert ".append(" in text and ".pop()" in text
        check_grads(f, T, 6)
        second_order(f, (0.4, 4))          # the in-place code differentiated again
    text = srcad.source(R.rnn_history, wrt=(0, 1))
    assert "hs.append(v3)" in text and "unindex" not in text and \
        "hs_bar = index_add(hs_bar, -1," in text
    check_grads(R.rnn_history, T, 0.5 * np.eye(2) + 0.1, 5, wrt=(0, 1))


def test_a_list_another_name_sees_is_still_copied():
    text = srcad.source(R.shared_list)
    assert "xs = [*xs," in text
    check_grads(R.shared_list, T, 4)


def test_pop_as_a_statement():
    # was: "srcad has no derivative rule for the method .pop()"
    assert srcad.grad(R.popped_statement)(0.5) == pytest.approx(3.0)
    check_grads(R.popped_statement, 0.5)
