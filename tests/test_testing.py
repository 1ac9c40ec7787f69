"""srcad.testing.check_grads: passes on right derivatives, names the wrong ones."""
import numpy as np
import pytest

from srcad.testing import check_grads

from fixtures import testing_funcs as tf


def test_integer_arguments_stay_integers_and_are_not_checked():
    rng = np.random.default_rng(0)
    check_grads(tf.xent, rng.normal(size=(4, 3)), rng.normal(size=(5, 4)),
                rng.integers(0, 3, 5))


def test_a_wrong_reverse_rule_is_caught_and_named():
    check_grads(tf.uses_bad_sin, 0.4, modes=("forward",))       # the jvp is right
    with pytest.raises(AssertionError, match="reverse-mode derivative w.r.t. argument 0"):
        check_grads(tf.uses_bad_sin, 0.4, modes=("reverse",))
