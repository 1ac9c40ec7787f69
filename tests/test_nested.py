"""Nested differentiation: srcad's transforms called inside a function srcad differentiates,
in the four mode pairs (forward or reverse outside, forward or reverse inside), without
perturbation confusion; GradBench's particle and saddle problems (issue 10 item 3, issue 12)."""
import numpy as np
import pytest

import srcad
from fixtures import funcs_nested as N
from srcad.testing import numerical_grad


def outer_reverse(f, *args):
    return srcad.grad(f)(*args)


def outer_forward(f, *args):
    x = args[0]
    rest = tuple(0.0 if np.ndim(a) == 0 else np.zeros(np.shape(a)) for a in args[1:])
    if np.ndim(x) == 0:
        return srcad.jvp(f, args, (1.0,) + rest)[1]
    cols = [srcad.jvp(f, args, (e.reshape(np.shape(x)),) + rest)[1]
            for e in np.eye(np.size(x))]
    return np.array(cols).reshape(np.shape(x))


OUTER = {"reverse": outer_reverse, "forward": outer_forward}

# (function, argument, its derivative in closed form): inner reverse (grad, value_and_grad,
# vjp) and inner forward (jvp, derivative(..., "forward"))
X = 0.7
CLOSED = [
    (N.sp_grad, 1.0),                     # d/dx [x * d/dy (x + y)] = 1, not 2
    (N.sp_jvp, 1.0),
    (N.sp_closure, 1.0),
    (N.sp_value_and_grad, 2 * X + 3),
    (N.sp_vjp, 6 * X + 2.25),
    (N.sp_derivative, 2 * X * np.cos(0.5) + np.sin(0.5)),
    (N.inner_of_product, 2 * X),
    (N.nested_global_wrt, 4 * X),
]


@pytest.mark.parametrize("outer", ["reverse", "forward"])
@pytest.mark.parametrize("func, want", CLOSED, ids=[f.__name__ for f, _ in CLOSED])
def test_siskind_pearlmutter_and_variants(func, want, outer):
    assert OUTER[outer](func, X) == pytest.approx(want, rel=1e-12)
    assert numerical_grad(func, (X,), 0) == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("outer", ["reverse", "forward"])
def test_an_inner_gradient_descent_closing_over_active_values(outer):
    args = (0.7, 1.3)
    fd = numerical_grad(N.grad_in_a_loop, args, 0)
    assert OUTER[outer](N.grad_in_a_loop, *args) == pytest.approx(fd, rel=1e-6)
    fd_w = numerical_grad(N.grad_in_a_loop, args, 1)
    assert srcad.grad(N.grad_in_a_loop, wrt=1)(*args) == pytest.approx(fd_w, rel=1e-6)


@pytest.mark.parametrize("outer", ["reverse", "forward"])
def test_an_inner_jvp_of_an_array_function(outer):
    x = np.array([0.3, -0.7, 1.1])
    np.testing.assert_allclose(OUTER[outer](N.jvp_of_array, x),
                               numerical_grad(N.jvp_of_array, (x,), 0), rtol=1e-6)


def test_third_order_through_a_nested_gradient():
    """hessian of x * grad(lambda y: x * y)(3.0) = x^2: 2."""
    assert srcad.hessian(N.inner_of_product)(X) == pytest.approx(2.0)


# ------------------------------------------------------------ GradBench particle and saddle
# the mode pair is (outer, inner): inner is how the Euler forces (the saddle's inner argmax
# gradient) are differentiated, outer how the result is differentiated w.r.t. w (p1)

PARTICLE = {"reverse": N.particle_r, "forward": N.particle_f}


@pytest.mark.parametrize("inner", ["reverse", "forward"])
@pytest.mark.parametrize("outer", ["reverse", "forward"])
def test_particle(outer, inner):
    f = PARTICLE[inner]
    for w in (0.0, 0.3):
        fd = numerical_grad(f, (w,), 0)
        assert OUTER[outer](f, w) == pytest.approx(fd, rel=1e-6)


W_STAR = 0.2071918746486116        # GradBench's expected particle output (from w = 0)


@pytest.mark.parametrize("inner", ["reverse", "forward"])
@pytest.mark.parametrize("outer", ["reverse", "forward"])
def test_particle_gradient_brackets_gradbenchs_minimiser(outer, inner):
    """The particle hits the origin at w*: the gradient descent GradBench runs stops there,
    where srcad's derivative changes sign (the whole descent takes a minute here)."""
    f = PARTICLE[inner]
    assert f(W_STAR) < 1e-8
    assert OUTER[outer](f, W_STAR - 1e-4) < 0.0 < OUTER[outer](f, W_STAR + 1e-4)


SADDLE = {"reverse": N.r1cost_r, "forward": N.r1cost_f}
START = np.array([1.0, 1.0])


@pytest.mark.parametrize("inner", ["reverse", "forward"])
@pytest.mark.parametrize("outer", ["reverse", "forward"])
def test_saddle(outer, inner):
    f = SADDLE[inner]
    p1 = np.array([0.5, -0.3])
    got = OUTER[outer](f, p1, START)
    np.testing.assert_allclose(got, numerical_grad(f, (p1, START), 0), rtol=1e-6)
    # max over p2 is at p2 = 0 (up to the descent's tolerance): f = |p1|^2, gradient 2 p1
    np.testing.assert_allclose(got, 2 * p1, atol=1e-4)


@pytest.mark.parametrize("outer, inner", [("reverse", "reverse"), ("forward", "forward")])
def test_saddle_solved_as_gradbench_does(outer, inner):
    f = SADDLE[inner]
    if outer == "reverse":
        d = srcad.grad(f)
        g = lambda p: d(p, START)  # noqa: E731
    else:
        g = lambda p: outer_forward(f, p, START)  # noqa: E731
    r1 = N.argmin(lambda p: f(p, START), g, START)
    dy = srcad.grad(N.saddle_f, wrt=1)
    r2 = N.argmin(lambda y: -N.saddle_f(r1, y), lambda y: -dy(r1, y), START)
    np.testing.assert_allclose(np.concatenate([r1, r2]), [8.246324826140356e-06] * 4,
                               rtol=1e-9)


def test_generated_code_of_a_nested_gradient_calls_the_inner_derivative():
    text = srcad.source(N.sp_grad)
    # the inner gradient is a helper of (y, x): its derivative w.r.t. x is the outer's
    assert "v0, v0_res = lambda__fwd_x(1.0, x)" in text
    assert "x_bar_lambda_, = lambda__bwd_x(v0_res, v0_bar)" in text
    forward = srcad.source(N.sp_grad, mode="forward")
    assert "v0, v0_dot = lambda__jvp_x(1.0, x, x_dot)" in forward


def test_an_inner_transform_of_a_local_value_is_refused_clearly():
    with pytest.raises(srcad.SrcadError) as info:
        srcad.grad(N.jvp_written_loosely)(0.5)
    assert "spelled out" in str(info.value)
    assert info.value.filename == N.__file__


def test_a_hessian_inside_a_differentiated_function_is_differentiated():
    # (refused before branch s3py) d/dx [d2/dy2 (x y^3) at y = 2] = 12, in both modes
    assert N.hessian_inside(0.5) == pytest.approx(6.0)
    assert srcad.grad(N.hessian_inside)(0.5) == pytest.approx(12.0, rel=1e-12)
    assert srcad.jvp(N.hessian_inside, (0.5,), (1.0,))[1] == pytest.approx(12.0, rel=1e-12)
    assert srcad.grad(srcad.grad(N.hessian_inside))(0.5) == pytest.approx(0.0, abs=1e-12)
