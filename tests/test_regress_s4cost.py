"""Regressions fixed with the adjoint-cost benchmark (benchmarks/adjoint_cost.py), fourth
session: pow's one power, the shapes triu/tril/flip/roll keep, triu/tril of a vector; and
odeint's second derivatives (forward mode over its adjoint and over its tangent)."""
import numpy as np

import srcad
from fixtures import regress_s4cost as fx
from srcad import pipeline
from srcad.testing import check_grads


def test_pow_indicator_of_tiny_exponent():
    """The exponent y - 1 + [y == 0] was written y - 1 + 0 ** (y * y) (a second, slow power):
    a nonzero y whose square underflows counted as 0, so d/dx x ** 1e-200 at 0 was 0 (it is
    +inf, as y x ** (y - 1) and autograd give); y = 0 still gives 0 at x = 0."""
    x, y = np.array([0.0, 0.0, 2.0]), np.array([1e-200, 0.0, 1e-200])
    with np.errstate(divide="ignore"):
        gx = srcad.grad(fx.power)(x, y)
        _, tangent = srcad.jvp(fx.power, (x[1:], y[1:]), (np.array([1.0, 0.0]), np.zeros(2)))
    assert gx[0] == np.inf and gx[1] == 0.0
    np.testing.assert_allclose(gx[2], 1e-200 * 2.0 ** (1e-200 - 1), rtol=1e-14)
    assert tangent == 0.0


def test_pow_constant_exponent_folds():
    """For a constant y the comparison folds with the rest: the adjoint is one power of x."""
    text = pipeline.get(fx.power_const, "reverse", (0,), pipeline.kinds_of((np.ones(3),)),
                        True).text
    assert "x ** 1.5" in text and "==" not in text
    x = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(srcad.grad(fx.power_const)(x), 2.5 * x ** 1.5, rtol=1e-14)


def test_triu_tril_of_a_vector():
    """np.triu(v) of a vector is a matrix: its adjoint np.triu(g) was that matrix (a
    ValueError in grad_like); it sums the masked rows back to v's shape."""
    v = np.array([0.3, -0.7, 1.1, 0.5])
    check_grads(fx.triu_of_vector, v)
    # closed form: d/dv_j sum_i [j >= i] c_j v_j = (j + 1) c_j, c_j = (j + 1)^2, plus
    # tril(v, 1): rows i hold v_j for j <= i + 1, cubed: 3 v_j^2 times the rows holding j
    j = np.arange(4)
    rows_tril = np.array([sum(1 for i in range(4) if jj <= i + 1) for jj in j])
    want = (j + 1) * (j + 1.0) ** 2 + 3 * v ** 2 * rows_tril
    np.testing.assert_allclose(srcad.grad(fx.triu_of_vector)(v), want, rtol=1e-12)


def test_triu_tril_keep_a_matrix_shape():
    """The shape class of np.triu(x) is x's (a matrix): the adjoint no longer recomputes the
    primal values only to read their shapes (3.5x the inputs in temporaries)."""
    x = np.arange(12.0).reshape(3, 4) / 7.0
    text = pipeline.get(fx.triu_tril, "reverse", (0,), pipeline.kinds_of((x,)), True).text
    assert "= np.triu(x" not in text and "= np.tril(x" not in text
    check_grads(fx.triu_tril, x)
    check_grads(fx.triu_tril, np.arange(24.0).reshape(2, 3, 4) / 9.0)


def test_flips_keep_shape_under_broadcasting():
    """flip, roll, flipud and fliplr keep their argument's shape; a broadcast partner's
    adjoint is still summed back (a matrix and a row, a vector and a vector)."""
    rng = np.random.default_rng(1)
    check_grads(fx.flips_broadcast, rng.uniform(0.5, 1.5, (2, 3)), rng.uniform(0.5, 1.5, 3))
    check_grads(fx.flips_broadcast, rng.uniform(0.5, 1.5, (2, 3)),
                rng.uniform(0.5, 1.5, (4, 2, 3)))
    check_grads(fx.flips_of_vector, rng.uniform(0.5, 1.5, 4), rng.uniform(0.5, 1.5, (2, 4)))


T = np.linspace(0.0, 1.5, 6)


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

