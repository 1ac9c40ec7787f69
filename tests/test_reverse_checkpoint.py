"""Checkpointed loops (srcad/reverse/checkpoint.py): grad(f, checkpoint=...) and
srcad.checkpoint(range(n)) give the taped sweep's derivative (against autograd and forward
mode) with less memory, and what they cannot do is refused."""
import tracemalloc

import numpy as np
import pytest

import srcad
from srcad import runtime

from conftest import autograd_grad
from conftest import fwd_grad
from fixtures import regress_ckpt as rc


@pytest.mark.parametrize("option", [True, 1, 2, 5, 1000])
@pytest.mark.parametrize("n", [0, 1, 2, 7, 40])
def test_scalar_loop_every_option(option, n):
    args = (0.3, 1.7, n)
    g = srcad.grad(rc.scalar_loop, (0, 1), checkpoint=option)(*args)
    for i in (0, 1):
        assert g[i] == pytest.approx(autograd_grad(rc.scalar_loop, args, i), rel=1e-12)


def test_marked_loop_and_its_source():
    args = (0.4, 1.3, 25)
    g = srcad.grad(rc.marked_loop, (0, 1))(*args)
    for i in (0, 1):
        assert g[i] == pytest.approx(autograd_grad(rc.marked_loop, args, i), rel=1e-12)
    text = srcad.source(rc.marked_loop)
    assert "def marked_loop_loop1_step(" in text and "def marked_loop_loop1_back(" in text
    assert "checkpointed_loop(marked_loop_loop1_step, marked_loop_loop1_back" in text
    main = text.split("def marked_loop_grad")[1]
    assert "snapshots=3" in main and "\n    for " not in main      # no loop left to tape
    # checkpoint=False tapes it as usual
    plain = srcad.source(rc.marked_loop, checkpoint=False)
    assert "checkpointed_loop" not in plain


@pytest.mark.parametrize("option", [True, 1, 3])
def test_rnn_arrays(option):
    rng = np.random.default_rng(0)
    W = rng.normal(size=(6, 6)) * 0.4
    h0, xs = rng.normal(size=6), rng.normal(size=(30, 6))
    got = srcad.grad(rc.rnn, (0, 1, 2), checkpoint=option)(W, h0, xs)
    for i in range(3):
        np.testing.assert_allclose(got[i], autograd_grad(rc.rnn, (W, h0, xs), i), rtol=1e-10,
                                   atol=1e-13)
        assert type(got[i]) is np.ndarray


@pytest.mark.parametrize("n", [0, 1, 4])
def test_nested_loop_and_branch_in_body(n):
    for x in (0.3, -0.8):
        args = (x, 1.4, n)
        g = srcad.grad(rc.nested_and_branch, (0, 1))(*args)
        for i in (0, 1):
            assert g[i] == pytest.approx(fwd_grad(rc.nested_and_branch, args, i), rel=1e-10)


def test_two_loops_and_an_int_carried():
    args = (0.5, 0.3, 12)
    g = srcad.grad(rc.two_loops, (0, 1), checkpoint=2)(*args)
    for i in (0, 1):
        assert g[i] == pytest.approx(autograd_grad(rc.two_loops, args, i), rel=1e-12)
    assert srcad.source(rc.two_loops, checkpoint=True).count("checkpointed_loop(") == 2


@pytest.mark.parametrize("option", [True, 2, 3])
def test_while_loop_periodic(option):
    for x in (0.5, 9.5, 20.0):                       # many steps, one step, no full step
        args = (x, 1.3)
        g = srcad.grad(rc.while_loop, (0, 1), checkpoint=option)(*args)
        for i in (0, 1):
            assert g[i] == pytest.approx(fwd_grad(rc.while_loop, args, i), rel=1e-12)
    assert "checkpointed_while(" in srcad.source(rc.while_loop, checkpoint=True)


def test_break_loop_is_taped_under_the_option_and_refused_when_marked():
    args = (0.5, 1.5, 10)
    g = srcad.grad(rc.breaking_loop, (0, 1), checkpoint=True)(*args)
    for i in (0, 1):
        assert g[i] == pytest.approx(fwd_grad(rc.breaking_loop, args, i), rel=1e-12)
    assert "checkpointed" not in srcad.source(rc.breaking_loop, checkpoint=True)
    with pytest.raises(srcad.UnsupportedSyntaxError, match="break or continue") as e:
        srcad.grad(rc.marked_break)(*args)
    assert "regress_ckpt.py" in str(e.value)


@pytest.mark.parametrize("func, match", [
    (rc.marked_inner, "inside a loop or a branch"),
    (rc.marked_print, "cannot see into"),
])
def test_marked_loops_refused(func, match):
    with pytest.raises(srcad.UnsupportedSyntaxError, match=match) as e:
        srcad.grad(func)(0.5, 3)
    assert "regress_ckpt.py:" in str(e.value)


def test_inplace_body_refused():
    with pytest.raises(srcad.UnsupportedSyntaxError, match="in place"):
        srcad.grad(rc.marked_inplace)(np.ones(3), 3)


def test_output_assigned_only_in_the_loop():
    g = srcad.grad(rc.assigned_in_loop)(0.7, 4)
    assert g == pytest.approx(4.0)
    with pytest.raises(UnboundLocalError):
        rc.assigned_in_loop(0.7, 0)
    with pytest.raises(UnboundLocalError):
        srcad.grad(rc.assigned_in_loop)(0.7, 0)


def test_helper_call_in_body():
    args = (0.2, 0.9, 15)
    g = srcad.grad(rc.with_helper, (0, 1))(*args)
    for i in (0, 1):
        assert g[i] == pytest.approx(fwd_grad(rc.with_helper, args, i), rel=1e-12)


def test_other_reverse_transforms():
    x = np.array([0.3, -0.2, 0.5])
    out, pull = srcad.vjp(rc.vector_out, x, 5, checkpoint=True)
    ct = np.array([1.0, 2.0, -1.0])
    want = pull(ct)[0]
    out2, pull2 = srcad.vjp(rc.vector_out, x, 5, checkpoint=False)
    np.testing.assert_allclose(out, out2)
    np.testing.assert_allclose(want, pull2(ct)[0], rtol=1e-13)
    np.testing.assert_allclose(srcad.jacrev(rc.vector_out, checkpoint=2)(x, 5),
                               srcad.jacfwd(rc.vector_out)(x, 5), rtol=1e-12)
    v, g = srcad.value_and_grad(rc.scalar_loop, checkpoint=3)(0.3, 1.7, 9)
    assert v == pytest.approx(rc.scalar_loop(0.3, 1.7, 9))
    assert g == pytest.approx(autograd_grad(rc.scalar_loop, (0.3, 1.7, 9), 0))
    df = srcad.derivative(rc.scalar_loop, checkpoint=True)
    assert df(0.3, 1.7, 9) == pytest.approx(g)
    with pytest.raises(srcad.SrcadError, match="reverse mode"):
        srcad.derivative(rc.scalar_loop, mode="forward", checkpoint=True)
    for bad in (0, -1, 2.5, "yes"):
        with pytest.raises(srcad.SrcadError, match="checkpoint="):
            srcad.grad(rc.scalar_loop, checkpoint=bad)


def test_second_order_refused_clearly():
    for second in (srcad.grad(srcad.grad(rc.marked_loop)), srcad.hessian(rc.marked_loop)):
        with pytest.raises(srcad.UnsupportedSyntaxError, match="checkpoints this loop") as e:
            second(0.4, 1.3, 5)
        assert "regress_ckpt.py:16" in str(e.value)
    # without checkpointing, second order works through the same loop
    h = srcad.grad(srcad.grad(rc.scalar_loop))(0.3, 1.7, 6)
    assert np.isfinite(h)


def test_float32_keeps_its_dtype():
    x = np.linspace(-1, 1, 4).astype(np.float32)
    g = srcad.grad(rc.float32_loop, (0, 1))(x, np.float32(0.8), 6)
    assert g[0].dtype == np.float32


def test_memory_is_a_fraction_of_the_tape():
    args = (0.3, 1.7, 20000)
    plain = srcad.grad(rc.scalar_loop, checkpoint=False)
    ckpt = srcad.grad(rc.scalar_loop, checkpoint=True)
    assert ckpt(*args) == pytest.approx(plain(*args), rel=1e-13)

    def peak(f):
        tracemalloc.start()
        f(*args)
        p = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return p
    assert peak(ckpt) < 0.2 * peak(plain)


def test_binomial_schedule_costs():
    """With the default snapshots each iteration runs at most three times forward (the
    forward sweep, once more at most, and in its block's taped step) and its adjoint
    once, blocks last first."""
    done, backs = [], []

    def step(steps, x):
        done.extend(steps)
        return (x + len(steps),)

    def back(steps, x, d):
        done.extend(steps)
        backs.extend(reversed(steps))
        return (d[0],)
    for n in (1, 2, 10, 1000, 12345):
        done.clear(), backs.clear()
        out = runtime.checkpointed_loop(step, back, range(n), 0.0, invariants=0, outputs=1,
                                        wrt=(0,))
        assert out[0] == n
        assert runtime.checkpoint_reverse(out, (1.0,)) == (1.0,)
        assert backs == list(reversed(range(n)))
        assert len(done) <= 3 * n
