"""In-place array updates (`y[i] = v`, `y[i, j] += v`, `y[:, k] = col`, `y[mask] = 0.0`, fancy
indices, buffers filled in loops): both modes and second order against finite differences
and against the same function written without mutation (whose gradients autograd gives);
what the reverse sweep saves of overwritten entries; refusals; snapshots of the generated code.
"""
import os

import numpy as np
import pytest

import srcad
from srcad.testing import numerical_grad

from conftest import autograd_twin, fwd_grad
from fixtures import inplace_funcs as F
from test_codegen import SNAPSHOTS, UPDATE, normalized

rng = np.random.default_rng(7)
CASES = {
    "fill_loop": (rng.normal(size=3),),
    "read_then_write": (rng.normal(size=3),),
    "matrix_entries": (rng.uniform(0.5, 1.5, size=3),),
    "column_and_slices": (rng.normal(size=3),),
    "masked": (np.array([0.9, -0.9, 0.1, -0.2, 0.7]),),
    "fancy": (rng.normal(size=3),),
    "fancy_add": (rng.normal(size=3),),
    "argument_update": (rng.normal(size=3),),
    "rnn": (rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(4, 3))),
    "rnn_reads": (rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(4, 3))),
    "gp_kernel": (rng.normal(size=4), rng.normal(size=4)),
    "stencil": (rng.normal(size=6), 0.2),
    "stencil_nonlinear": (rng.normal(size=6),),
    "rewrite_in_loop": (rng.normal(size=3),),
    "buffer_per_iteration": (rng.normal(size=3),),
    "in_branch": (np.array([0.3, 0.5, -0.2]),),
    "in_branch_else": (np.array([-0.3, 0.5, -0.2]),),
    "view_read": (rng.normal(size=3),),
    "feedback": (rng.normal(size=4) * 0.5,),
    "shift": (rng.normal(size=4),),
    "state_history": (np.array([1.0, 0.2, 1.3]),),
}
NAMES = list(CASES)


def case(name):
    func = name[:-len("_else")] if name.endswith("_else") else name
    return getattr(F, func), getattr(F, func + "_twin"), CASES[name]


def copies(args):
    return tuple(np.copy(a) if isinstance(a, np.ndarray) else a for a in args)


def array_positions(args):
    return [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]


def nd(f, args, i):
    """Central differences of `f` w.r.t. argument i, each call on copies (f may change them)."""
    return numerical_grad(lambda *a: f(*copies(a)), list(copies(args)), i)


@pytest.mark.parametrize("name", NAMES)
def test_value_matches_twin(name):
    f, twin, args = case(name)
    assert np.allclose(f(*copies(args)), twin(*copies(args)))


@pytest.mark.parametrize("name", NAMES)
def test_gradient_both_modes(name):
    autograd = pytest.importorskip("autograd")
    f, twin, args = case(name)
    for i in array_positions(args):
        want = autograd.grad(autograd_twin(twin), i)(*copies(args))
        assert np.allclose(want, nd(twin, args, i), atol=1e-5)
        rev = srcad.grad(f, wrt=i)(*copies(args))
        fwd = fwd_grad(f, list(copies(args)), i)
        assert np.allclose(rev, want, atol=1e-8), (name, i, rev, want)
        assert np.allclose(fwd, want, atol=1e-8), (name, i, fwd, want)
        assert np.allclose(rev, nd(f, args, i), atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_second_order(name):
    autograd = pytest.importorskip("autograd")
    f, twin, args = case(name)
    for i in array_positions(args):
        want = autograd.hessian(autograd_twin(twin), i)(*copies(args))
        fwd_rev = srcad.hessian(f, wrt=i)(*copies(args))
        rev_rev = srcad.jacrev(srcad.grad(f, wrt=i), wrt=i)(*copies(args))
        assert np.allclose(fwd_rev, want, atol=1e-6), (name, i)
        assert np.allclose(rev_rev, want, atol=1e-6), (name, i)
        numeric = nd(srcad.grad(f, wrt=i), args, i)
        assert np.allclose(fwd_rev, numeric, atol=1e-4), (name, i)


def test_vjp_of_a_returned_buffer():
    x = rng.normal(size=3)
    u = rng.normal(size=3)
    out, pull = srcad.vjp(F.returns_buffer, x)
    assert np.allclose(out, F.returns_buffer_twin(x))
    J = nd(F.returns_buffer_twin, (x,), 0)
    assert np.allclose(pull(u)[0], u @ J, atol=1e-6)
    out, tangent = srcad.jvp(F.returns_buffer, (x,), (u,))
    assert np.allclose(tangent, J @ u, atol=1e-6)


def test_fancy_add_last_write_wins():
    # NumPy's buffered `+=`: y[[1, 1, 2]] += v adds v[1] (the last write) to y[1], not v[0] + v[1]
    x = np.array([0.3, -0.7, 1.1])
    y = np.ones(4)
    y[np.array([1, 1, 2])] += x * x
    assert y[1] == 1.0 + x[1] ** 2
    g = srcad.grad(F.fancy_add)(x)
    assert g[0] == 0.0                      # overwritten by the second write to y[1]
    assert np.allclose(g, nd(F.fancy_add, (x,), 0), atol=1e-6)


def test_argument_update_keeps_the_point():
    # the derivative is taken at the argument's value when called, and leaves it unchanged
    x = np.array([0.5, -1.0, 2.0])
    before = x.copy()
    g = srcad.grad(F.argument_update)(x)
    assert np.array_equal(x, before)
    assert np.allclose(g, nd(F.argument_update, (before,), 0), atol=1e-6)
    _, t = srcad.jvp(F.argument_update, (x,), (np.ones(3),))
    assert np.array_equal(x, before)
    F.argument_update(x)                    # the function itself changes it, as Python does
    assert x[0] == before[1] * before[2]


def test_reverse_keeps_only_overwritten_entries():
    # rnn_reads reads H's rows (H[t]) in the loop that writes H[t + 1]: the reverse sweep
    # needs no whole copy of H per step, only the rows it reads (copies of one row each)
    text = srcad.source(F.rnn_reads, mode="reverse")
    assert "np.copy(H[t])" in text
    assert "snapshot(H)" not in text and "H_stack" not in text
    # read_then_write reads y nonlinearly before two entries change: each is kept, alone
    text = srcad.source(F.read_then_write, mode="reverse")
    assert "y_old = np.copy(y[1])" in text and "y_old_1 = np.copy(y[0])" in text
    assert "y_stack" not in text
    # the RNN history is read only after the loop: nothing of it is kept
    text = srcad.source(F.rnn, mode="reverse")
    assert "H_old" not in text and "H_stack" not in text


def test_saved_entries_are_the_overwritten_part_at_run_time():
    # feedback reads all of y in the loop that overwrites one entry per step: what the
    # forward sweep keeps of y per step is that entry, not the array (the generated source
    # run with y's stack replaced by a list that records the size of what is pushed; no
    # other stack holds y)
    pushed = []

    class Recording(list):
        def append(self, v):
            pushed.append(np.size(v))
            super().append(v)
    src = srcad.source(F.feedback, mode="reverse")
    assert "y_old_stack.append(np.copy(y[k]))" in src and "y[k] = y_old" in src
    import srcad.runtime as rt
    ns = {n: getattr(rt, n) for n in rt.__all__}
    ns.update(np=np, Recording=Recording)
    assert "append(y)" not in src and "snapshot(y)" not in src
    exec(compile(src.replace("y_old_stack = []", "y_old_stack = Recording()"), "<inplace>",
                 "exec"), ns)
    x = rng.normal(size=6) * 0.5
    g = ns["feedback_grad"](x)
    assert np.allclose(g, nd(F.feedback, (x,), 0), atol=1e-5)
    assert pushed == [1] * 6, pushed


@pytest.mark.parametrize("func, message", [
    (F.view_live, "may share it"),
    (F.alias_live, "may share it"),
    (F.global_update, "global 'G'"),
    (F.chained_index, "not `y[i][j] = v`"),
    (F.argument_read_after, "may share it"),
    (F.view_method_update, "may share that array"),
    (F.contiguous_update, "may share it"),
    (F.opaque_result_update, "may share that array"),
    (F.row_view_live, "may share it"),
    (F.unpacked_rows_live, "may share it"),
])
def test_refused_at_build_time(func, message):
    for build in (lambda: srcad.grad(func)(np.array([0.5, 1.5, 2.0])),
                  lambda: srcad.jvp(func, (np.array([0.5, 1.5, 2.0]),), (np.ones(3),))):
        with pytest.raises(srcad.SrcadError) as info:
            build()
        text = str(info.value)
        assert message in text
        assert os.path.basename(F.__file__) in text and "0x" not in text


def test_item_assignment_on_a_local_list():
    # xs[0] = 2 x1 on the list the function built: xs[0] + xs[1] = 3 x1
    x = np.array([0.5, 1.5, 2.0])
    np.testing.assert_allclose(srcad.grad(F.list_item)(x), [0.0, 3.0, 0.0])
    np.testing.assert_allclose(srcad.jvp(F.list_item, (x,), (np.ones(3),))[1], 3.0)


# ---------------------------------------------------------------- generated code

SNAPSHOT_CASES = [
    ("inplace_rnn_reverse", lambda: srcad.source(F.rnn, mode="reverse", wrt="W")),
    ("inplace_kernel_reverse", lambda: srcad.source(F.gp_kernel, mode="reverse", wrt="x")),
]


@pytest.mark.parametrize("name, make", SNAPSHOT_CASES, ids=[c[0] for c in SNAPSHOT_CASES])
def test_snapshot(name, make):
    path = os.path.join(SNAPSHOTS, name + ".py")
    text = normalized(make(), F)
    if UPDATE:
        with open(path, "w") as fh:
            fh.write(text)
    assert os.path.exists(path), f"missing snapshot {path}: run with SRCAD_UPDATE_SNAPSHOTS=1"
    with open(path) as fh:
        assert text == fh.read(), f"generated source differs from {path}"


def test_integer_buffer_carries_no_derivative():
    x = np.array([0.37, 0.52, 0.11])
    want = nd(F.integer_buffer, (x,), 0)       # piecewise: y's entry is a constant here
    assert np.allclose(srcad.grad(F.integer_buffer)(x), want, atol=1e-6)
    assert np.allclose(fwd_grad(F.integer_buffer, [x], 0), want, atol=1e-6)


CHANGED_CONSTANTS = ["put_constant", "place_constant", "putmask_constant", "put_along_constant",
                     "ufunc_at_constant", "out_constant", "out_active"]


@pytest.mark.parametrize("name", CHANGED_CONSTANTS)
def test_numpy_calls_changing_an_array_the_sweep_reads(name):
    """A NumPy call that changes an array in place (np.put, np.place, np.putmask,
    np.put_along_axis, ufunc.at, out=) after values were computed from it: those values keep
    the old array, in both modes and at second order (finite differences)."""
    f = getattr(F, name)
    x = np.array([0.3, -0.5, 0.7])
    want = numerical_grad(f, (x,), 0)
    np.testing.assert_allclose(srcad.grad(f)(x), want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fwd_grad(f, (x,), 0), want, rtol=1e-6, atol=1e-8)
    h = srcad.hessian(f)(x)
    want_h = np.array([numerical_grad(lambda t: srcad.grad(f)(t)[i], (x,), 0)
                       for i in range(3)])
    np.testing.assert_allclose(h, want_h, rtol=1e-5, atol=1e-6)


def test_out_of_a_function_without_rule():
    """rng.random(out=y) draws as many values as y holds (its result's shape comes from out):
    the draw lands in a copy of y, and the gradient is the new y plus the old one."""
    x = np.array([0.3, -0.5, 0.7])
    drawn = np.random.default_rng(3).random(3)
    np.testing.assert_allclose(srcad.grad(F.out_opaque)(x), drawn + 2.0 * x, rtol=1e-12)


@pytest.mark.parametrize("func, message", [
    (F.out_into_expression, "out= only into a local name"),
    (F.out_used, "out= only in a statement"),
])
def test_out_refused(func, message):
    with pytest.raises(srcad.SrcadError, match=message) as e:
        srcad.grad(func)(np.array([0.3, -0.5, 0.7]))
    assert "inplace_funcs.py" in str(e.value)
