"""Regression tests for the lead's fixes of the third session (fuzz findings of issue 9)."""
import numpy as np
import pytest

import srcad
from srcad.testing import check_grads

from fixtures import regress_s3lead as R


def test_transpose_of_a_numpy_scalar_takes_a_float_adjoint():
    # fuzz 11:587: `.T`'s adjoint was `out_bar.T`, and a float adjoint has no .T
    x = np.array([0.3, 0.7, 1.1])
    value, g = srcad.value_and_grad(R.scalar_transpose)(x)
    assert value == R.scalar_transpose(x)
    s = np.sum(x * x)
    np.testing.assert_allclose(g, [1.0 + 2 * x[0] * x[1], 2 * x[1] ** 2 + s, 2 * x[2] * x[1]])
    check_grads(R.scalar_transpose, x)
    h = srcad.hessian(R.scalar_transpose)(x)
    want = 2 * x[1] * np.eye(3)
    want[1, :] += 2 * x
    want[:, 1] += 2 * x
    np.testing.assert_allclose(h, want)


def test_a_helper_updating_an_entry_of_a_vector_is_no_alias_at_second_order():
    # fuzz 11:180/182: at second order the stack pop `x = x_stack[-1]` lost x's number of
    # dimensions, so `x[0]` was taken for a view the helper's `a -= b` would change
    x = np.array([0.3, -0.9, 1.3])
    check_grads(R.entry_then_inplace_helper, x)
    h = srcad.hessian(R.entry_then_inplace_helper)(x)
    g = srcad.grad(R.entry_then_inplace_helper)
    eps = 1e-6
    fd = np.stack([(g(x + eps * e) - g(x - eps * e)) / (2 * eps) for e in np.eye(3)], axis=-1)
    np.testing.assert_allclose(h, fd, rtol=1e-5, atol=1e-6)


def test_a_helper_of_a_helper_knows_its_vector_argument_has_one_dimension():
    # a helper's derivative was built for arrays of unknown rank, so `x[0]` passed on to a
    # helper changing it in place was refused even at first order
    x = np.array([0.3, -0.9, 1.3])
    check_grads(R.calls_helper_taking_an_entry, x)
    check_grads(srcad.grad(lambda y: R.calls_helper_taking_an_entry(y) ** 2), x)


def test_swapped_adjoints_in_a_loop_are_told_apart_at_second_order():
    # fuzz 5:253: srcad's reverse code swaps x_bar and y_bar in a loop and then runs
    # `x_bar += ...`; told apart by every stack and flag, its paths exceeded the states the
    # alias analysis keeps, so the join refused srcad's own code. States are now told apart
    # by the names the conflict involves only.
    x = np.array([1.46547982, 1.36410344, 0.08241976])
    y = np.array([-0.11305036, -0.49930441, -0.76373227])
    f = R.swap_in_loop_after_early_return
    check_grads(f, x, y)
    g = srcad.grad(f)
    eps = 1e-6
    fd = np.stack([(g(x + eps * e, y) - g(x - eps * e, y)) / (2 * eps) for e in np.eye(3)], -1)
    np.testing.assert_allclose(srcad.hessian(f)(x, y), fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("f", [R.or_in_untaken_elif, R.or_returning_before_a_loop])
def test_or_tests_replayed_in_branches_pass_the_internal_checks(f, monkeypatch):
    # fuzz seed 5 with SRCAD_CHECKS=1: srcad.check took the replayed `or` value for a new
    # test and reported reads of what its branch assigns (the derivatives were right)
    monkeypatch.setenv("SRCAD_CHECKS", "1")
    check_grads(f, 0.6)
    assert srcad.hessian(f)(0.6) == 0.0
    assert srcad.grad(srcad.grad(f))(0.6) == 0.0


def test_numpy_cholesky_keeps_its_rule_once_scipy_rules_are_loaded():
    # scipy.linalg's runtime had its own `cholesky_jvp`, which replaced np.linalg's in the
    # names generated code calls once SciPy's tables were loaded: a wrong forward derivative
    pytest.importorskip("scipy")
    from srcad import rules
    rules.load_scipy()
    rng = np.random.default_rng(3)
    m = rng.normal(size=(3, 3))
    a = m @ m.T + 3 * np.eye(3)
    t = rng.normal(size=(3, 3))
    t = t + t.T                                    # cholesky reads one triangle: symmetric
    eps = 1e-6
    f = R.cholesky_upper_sum
    fd = (f(a + eps * t) - f(a - eps * t)) / (2 * eps)
    _, dot = srcad.jvp(f, (a,), (t,))
    np.testing.assert_allclose(dot, fd, rtol=1e-6)
    assert np.isclose(np.sum(srcad.grad(f)(a) * t), fd, rtol=1e-6)


def test_a_lazy_table_may_not_reuse_a_runtime_helper_name():
    import types
    from srcad import rules
    clash = types.ModuleType("clash")
    clash.cholesky_jvp = lambda t, out, lower: t
    clash.__all__ = ["cholesky_jvp"]
    with pytest.raises(srcad.SrcadError, match="already one of srcad's helpers"):
        rules.add_lazy_names(clash)


def test_list_arguments_added_are_concatenated():
    # `p + q` of two list arguments was differentiated as arithmetic: the forward tangent of
    # [1, 2] + [3] was [0, 1] + [1] = [1, 2] (silently wrong), the gradient a ValueError
    p, q = [1.0, 2.0], [3.0]
    f = R.concatenated_list_arguments
    _, dot = srcad.jvp(f, (p, q), ([0.0, 1.0], [1.0]))
    assert dot == 2.0 + 3.0
    gp, gq = srcad.grad(f, wrt=(0, 1))(p, q)
    assert list(gp) == [1.0, 2.0] and list(gq) == [3.0]


def test_lists_a_helper_returns_added_are_refused_not_wrong():
    # the lowering cannot tell these from arrays: srcad refuses instead of a wrong tangent
    # (jvp along y gave 2.0; the derivative is 1.0)
    with pytest.raises(srcad.UnsupportedSyntaxError, match="may be a list or tuple"):
        srcad.jvp(R.concatenated_helper_lists, (1.0, 2.0), (0.0, 1.0))
    with pytest.raises(srcad.UnsupportedSyntaxError, match="regress_s3lead.py"):
        srcad.grad(R.concatenated_helper_lists)(1.0, 2.0)


def test_a_negated_item_of_a_tuple_result_at_second_order():
    # fuzz 0:108 after the merges: the optimizer writes `-unindex(g, ...)` for
    # `unindex(-g, ...)`, and a tuple's adjoint (Items) had no unary minus
    f = R.takes_negated_item
    assert np.isclose(srcad.grad(f)(-0.3), -np.exp(0.3))
    assert np.isclose(srcad.grad(srcad.grad(f))(-0.3), np.exp(0.3))
    assert np.isclose(srcad.hessian(f)(-0.3), np.exp(0.3))
