"""scipy.integrate.odeint (srcad/rules/scipy_integrate.py): reverse mode by the adjoint
method, forward mode by the sensitivity equations, in y0, t, args and what the dynamics
captures; against closed forms, central differences and autograd's own odeint VJP.
Skipped without SciPy."""
import inspect
import types

import numpy as np
import pytest

pytest.importorskip("scipy")
import odeint_funcs as of  # noqa: E402

import srcad  # noqa: E402
from srcad.testing import check_grads  # noqa: E402
from fixtures import regress_s4cost as fx
from fixtures import regress_s5mem as fx_s5mem

T = np.linspace(0.0, 1.5, 6)


def test_linear_closed_form_both_modes():
    y0, k = np.array([1.0, 2.0]), 0.7
    tt = T[:, None]
    out, pullback = srcad.vjp(of.linear, y0, k, T)
    np.testing.assert_allclose(out, y0 * np.exp(-k * tt), rtol=1e-8)
    g = np.arange(12.0).reshape(6, 2)
    y0_bar, k_bar, t_bar = pullback(g)
    # y_i = y0 exp(-k (t_i - t_0))
    e = np.exp(-k * (tt - T[0]))
    np.testing.assert_allclose(y0_bar, np.sum(g * e, axis=0), rtol=1e-7)
    np.testing.assert_allclose(k_bar, np.sum(g * -(tt - T[0]) * y0 * e), rtol=1e-7)
    want_t = np.sum(g * -k * y0 * e, axis=1)
    want_t[0] = np.sum(g[1:] * k * y0 * e[1:])
    np.testing.assert_allclose(t_bar, want_t, rtol=1e-7, atol=1e-9)
    dy0, dk, dt = np.array([0.3, -1.0]), 0.5, np.linspace(1.0, 2.0, 6)
    _, tangent = srcad.jvp(of.linear, (y0, k, T), (dy0, dk, dt))
    want = dy0 * e - (tt - T[0]) * dk * y0 * e - k * y0 * e * (dt[:, None] - dt[0])
    np.testing.assert_allclose(tangent, want, rtol=1e-7, atol=1e-9)


CASES = {
    "predator_prey": (of.predator_prey, (np.array([1.0, 0.5]),
                                         np.array([1.1, 0.4, 0.3, 0.9]), T)),
    "driven": (of.driven, (np.array([0.5, -0.2]), 1.3, T)),
    "closure": (of.closure, (np.array([0.8, 0.3]), 0.9, T)),
    "nested": (of.nested, (np.array([0.2, -0.4]), 1.7, T)),
    "partial_of": (of.partial_of, (np.array([1.0, -1.0]),
                                   np.array([[-0.5, 1.0], [-1.0, -0.3]]), T)),
    "tfirst": (of.tfirst, (np.array([1.0, 2.0]), 0.6, T)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_finite_differences(name):
    f, args = CASES[name]
    check_grads(f, *args, rtol=1e-5, atol=1e-6, eps=1e-5)


def _autograd_twin(func):
    """`func` from odeint_funcs re-executed under autograd.numpy and autograd's odeint."""
    pytest.importorskip("autograd")
    pytest.importorskip("autograd.scipy.integrate")
    src = inspect.getsource(of)
    src = src.replace("import numpy as np", "import autograd.numpy as np")
    src = src.replace("from scipy.integrate import odeint",
                      "from autograd.scipy.integrate import odeint")
    # autograd's odeint takes args positionally, as its own tuple type to differentiate them
    for args in ("(a, b, c, d)", "(w,)"):
        src = src.replace(f"args={args}", f"ag_tuple({args})")
    src = src.replace("import functools", "import functools\nfrom autograd.builtins import tuple as ag_tuple")
    twin = types.ModuleType("odeint_funcs_autograd")
    twin.__file__ = of.__file__
    exec(compile(src, of.__file__, "exec"), twin.__dict__)
    return getattr(twin, func.__name__)


@pytest.mark.parametrize("name", ["predator_prey", "driven"])
def test_against_autograd(name):
    import autograd
    f, args = CASES[name]
    twin = _autograd_twin(f)
    out = f(*args)
    g = np.ones_like(out) if np.ndim(out) else 1.0
    ours = srcad.vjp(f, *args)[1](g)
    for i in range(len(args)):
        theirs = autograd.make_vjp(twin, i)(*args)[0](g)
        np.testing.assert_allclose(ours[i], theirs, rtol=1e-5, atol=1e-7)


def test_tolerances_are_passed_through():
    """odeint's default tolerances (1.5e-8) give a visibly different adjoint than 1e-10:
    the loose call's derivative agrees with differences of the loose primal."""
    y0, k = np.array([1.0, 2.0]), 0.7
    g = np.ones((6, 2))
    loose = srcad.vjp(of.loose, y0, k, T)[1](g)[1]
    tight = srcad.vjp(of.linear, y0, k, T)[1](g)[1]
    want = np.sum(-(T[:, None] - T[0]) * y0 * np.exp(-k * (T[:, None] - T[0])))
    assert abs(tight - want) < 1e-8
    assert abs(loose - want) < 1e-5


def test_float32_y0_keeps_its_dtype():
    y0 = np.array([1.0, 2.0], dtype=np.float32)
    g = srcad.grad(of.second)(y0, 0.7, T)
    assert g.dtype == np.float32
    e = np.exp(-0.7 * (T - T[0]))
    np.testing.assert_allclose(g, np.full(2, np.sum(e)), rtol=1e-6)


def test_second_order_forward_over_either_derivative():
    """Forward mode over odeint's adjoint (srcad.hessian) and over its tangent (a jvp of
    srcad.jvp inside), against the closed form: second = sum(y0) sum_i e_i,
    e_i = exp(-k (t_i - t_0))."""
    y0, k = np.array([1.0, 2.0]), 0.7
    dt = T - T[0]
    e = np.exp(-k * dt)
    s1, s2 = np.sum(-dt * e), np.sum(dt ** 2 * e)
    h = srcad.hessian(of.second, wrt=(0, 1))(y0, k, T)
    np.testing.assert_allclose(h[0][0], np.zeros((2, 2)), atol=1e-9)
    np.testing.assert_allclose(h[0][1], np.full(2, s1), rtol=1e-7)
    np.testing.assert_allclose(h[1][0], np.full(2, s1), rtol=1e-7)
    np.testing.assert_allclose(h[1][1], np.sum(y0) * s2, rtol=1e-7)
    dy0, dk = np.array([0.3, -1.0]), 0.5
    value, tangent = srcad.jvp(of.slope_in_k, (y0, k, T), (dy0, dk, np.zeros(6)))
    np.testing.assert_allclose(value, np.sum(y0) * s1, rtol=1e-7)
    np.testing.assert_allclose(tangent, np.sum(dy0) * s1 + np.sum(y0) * s2 * dk, rtol=1e-7)


def test_reverse_over_the_tangent_is_refused_at_the_user_line():
    """(Before: every second derivative was refused; forward mode over them is built now,
    and reverse over the adjoint, a grad of a grad: the regressions at the end of this file.)"""
    y0 = np.array([1.0, 2.0])
    line = of.second.__code__.co_firstlineno + 1
    with pytest.raises(srcad.SrcadError, match=rf"odeint_funcs\.py:{line}: scipy\.integrate"
                                               r"\.odeint's second derivatives are built in "
                                               r"forward mode.*no reverse derivative of "
                                               r"odeint's tangent"):
        srcad.grad(of.slope_in_k, wrt=1)(y0, 0.7, T)


def test_dfun_is_refused_at_the_user_line():
    with pytest.raises(srcad.UnsupportedSyntaxError,
                       match=r"odeint_funcs\.py:\d+: .*odeint\(\) with Dfun="):
        srcad.grad(lambda y0: np.sum(of.with_dfun(y0, 0.7, T)))(np.array([1.0]))


def test_readme_example_runs(tmp_path):
    """The README's odeint example runs as a file (srcad reads source) and passes its asserts."""
    import os
    import runpy
    readme = open(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                               "README.md")).read()
    start = readme.index("```python", readme.index("### SciPy's ODE solver"))
    block = readme[start + len("```python"):readme.index("```", start + 3)]
    path = tmp_path / "readme_odeint.py"
    path.write_text(block)
    runpy.run_path(str(path), run_name="__main__")


# regressions: odeint at second order and reverse over its adjoint (rules/scipy_integrate.py)
def _jvp_of_grad_against_differences(f, args, rtol):
    """Forward over reverse (the jvp of srcad.grad along every argument, t included)
    against central differences of the gradient."""
    grad = srcad.grad(f, wrt=(0, 1, 2))
    rng = np.random.default_rng(0)
    tangents = tuple(rng.normal(size=np.shape(a)) if np.ndim(a) else 0.7 for a in args)
    _, got = srcad.jvp(grad, args, tangents)
    eps = 1e-5
    up = grad(*[a + eps * t for a, t in zip(args, tangents)])
    down = grad(*[a - eps * t for a, t in zip(args, tangents)])
    for g, u, d in zip(got, up, down):
        want = (np.asarray(u) - np.asarray(d)) / (2 * eps)
        np.testing.assert_allclose(g, want, rtol=rtol, atol=rtol * np.max(np.abs(want)))


def test_odeint_forward_over_reverse():
    """odeint_vjp had no tangent (second derivatives through odeint were refused): its
    steps replayed with tangents, each adjoint solve differentiated as an odeint of the
    adjoint system. A non-autonomous system (t's tangent reaches f) with parameters
    unpacked into args=, and a lambda's captured parameter."""
    _jvp_of_grad_against_differences(fx.ode_driven, (np.array([0.5, -0.2]),
                                                     np.array([1.3, 0.5]), T), 1e-6)
    _jvp_of_grad_against_differences(fx.ode_closure, (np.array([0.8, 0.3]), 0.9, T), 1e-6)


def test_odeint_forward_over_reverse_partial_tfirst():
    """A partial's bound matrix (captured) and tfirst=True, in one function."""
    _jvp_of_grad_against_differences(
        fx.ode_partial_tfirst, (np.array([1.0, -1.0]), np.array([[-0.5, 1.0], [-1.0, -0.3]]),
                                T), 1e-5)


def test_odeint_forward_over_forward():
    """odeint_jvp had no tangent: the sensitivity system's own sensitivities (its tangent
    arguments, the directions, depend on the inputs here; t moves too)."""
    args = (np.array([0.5, -0.2]), 1.3, T)
    rng = np.random.default_rng(2)
    tangents = (rng.normal(size=2), 0.7, rng.normal(size=6))
    _, got = srcad.jvp(fx.ode_tangent, args, tangents)
    eps = 1e-5
    want = (fx.ode_tangent(*[a + eps * t for a, t in zip(args, tangents)])
            - fx.ode_tangent(*[a - eps * t for a, t in zip(args, tangents)])) / (2 * eps)
    np.testing.assert_allclose(got, want, rtol=1e-6)


T_s5mem = np.linspace(0.0, 1.0, 4)


def _needs_scipy():
    pytest.importorskip("scipy")


def _central(f, args, i, h=1e-5):
    """Central differences of the scalar f in argument i."""
    x = np.asarray(args[i], dtype=float)
    out = np.zeros(x.shape)
    for j in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[j] = h
        up, down = list(args), list(args)
        up[i], down[i] = x + e, x - e
        out[j] = (f(*up) - f(*down)) / (2 * h)
    return out


def test_grad_of_grad_through_odeint_closed_form():
    """y = y0 exp(-k dt): d2/dk2 sum(y) = sum(y0) sum(dt^2 e), d2/dk dy0 = sum(-dt e); a
    float32 y0 keeps its dtype."""
    _needs_scipy()
    y0, k = np.array([1.0, 2.0], dtype=np.float32), 0.7
    dt = T_s5mem - T_s5mem[0]
    e = np.exp(-k * dt)
    h_y0, h_k = srcad.grad(srcad.grad(fx_s5mem.linear_sum, wrt=1), wrt=(0, 1))(y0, k, T_s5mem)
    np.testing.assert_allclose(h_k, np.sum(y0) * np.sum(dt ** 2 * e), rtol=1e-6)
    np.testing.assert_allclose(h_y0, np.full(2, np.sum(-dt * e)), rtol=1e-6)
    assert h_y0.dtype == np.float32


@pytest.mark.parametrize("name, args", [
    ("lotka_slope", (np.array([1.0, 0.5]), np.array([0.8, 0.6]), T_s5mem)),
    ("driven_slope", (np.array([1.0, 0.0]), 1.3, 0.7, T_s5mem))])
def test_grad_of_grad_through_odeint_finite_differences(name, args):
    """The gradient of a weighted first derivative (a grad inside) in y0, the dynamics'
    parameters (args=, or what a lambda captures) and t, against central differences of
    that first derivative."""
    _needs_scipy()
    f = getattr(fx_s5mem, name)
    wrt = tuple(range(len(args)))
    got = srcad.grad(f, wrt=wrt)(*args)
    for i in wrt:
        np.testing.assert_allclose(got[i], _central(f, args, i), rtol=1e-6, atol=1e-7)


def test_third_order_through_odeint_is_refused_at_the_user_line():
    _needs_scipy()
    line = fx_s5mem.linear_sum.__code__.co_firstlineno + 2
    g2 = srcad.grad(srcad.grad(fx_s5mem.linear_sum, wrt=1), wrt=1)
    y0 = np.array([1.0, 2.0])
    for third in (lambda: srcad.grad(g2, wrt=1)(y0, 0.7, T_s5mem),
                  lambda: srcad.jvp(g2, (y0, 0.7, T_s5mem), (np.zeros(2), 1.0, np.zeros(4)))):
        with pytest.raises(srcad.UnsupportedSyntaxError,
                           match=rf"regress_s5mem\.py:{line}: .*built to second order"):
            third()
