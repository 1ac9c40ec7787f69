"""scipy.integrate.odeint (srcad/rules/scipy_integrate.py): reverse mode by the adjoint
method, forward mode by the sensitivity equations, in y0, t, args and what the dynamics
captures; against closed forms, central differences and autograd's own odeint VJP.
Skipped without SciPy."""
import functools
import inspect
import sys
import types

import numpy as np
import pytest

pytest.importorskip("scipy")
import odeint_funcs as of  # noqa: E402

import srcad  # noqa: E402
from srcad.testing import check_grads  # noqa: E402

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
    and reverse over the adjoint, a grad of a grad: tests/test_regress_s5mem.py.)"""
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
