"""Functions as values (lambdas, closures, function arguments, lists of functions, partial,
higher-order helpers) and recursion, in both modes and at second order, against finite
differences and autograd (issue 10 items 3 and 8)."""
import functools
import types
import traceback

import numpy as np
import pytest

import srcad
from conftest import autograd_grad, autograd_twin, fwd_grad
from fixtures import funcs_funcs as F
from conftest import line_of
from conftest import second_order
from fixtures import regress_lead6 as R
from fixtures import regress_lower as R_lower
from fixtures import regress_s5py as R_s5py
from fixtures import regress_s6py as R_s6py
from srcad.testing import numerical_grad
import srcad.lower
from srcad import funcs
from srcad.testing import check_grads

X3 = np.array([0.3, -0.7, 1.1])
A3 = np.array([[1.2, -0.4, 0.7], [0.3, 2.1, -1.1], [0.5, 0.2, 1.7]])
A4 = np.array([[1.2, -0.4, 0.7, 0.1], [0.3, 2.1, -1.1, 0.4], [0.5, 0.2, 1.7, -0.6],
               [-0.2, 0.8, 0.3, 1.4]])

CASES = [
    (F.lambda_assigned, (0.7,)),
    (F.lambda_reads_active, (0.7, 1.3)),
    (F.lambda_called_on_the_spot, (0.7,)),
    (F.lambda_to_helper, (0.7, 1.3)),
    (F.closure_reading_active, (0.7, 1.3)),
    (F.closure_calls_closure, (0.7, 1.3)),
    (F.acts_in_a_loop, (X3,)),
    (F.acts_enumerated, (0.7, 1.3)),
    (F.acts_indexed, (0.7,)),
    (F.with_partial, (0.7,)),
    (F.partial_to_helper, (0.7, 1.3)),
    (F.sqrt_by_fixed_point, (2.0,)),
    (F.integrate_decay, (X3,)),
    (F.integrate_lambda, (1.0, 0.7)),
    (F.helper_gets_global_function, (0.7,)),
    (F.det, (A3,)),
    (F.det_of, (A3,)),
    (F.array_unused_on_the_last_path, (0.7,)),
    (F.inactive_specialised_helper, (0.5, 1.5)),
    (F.function_default, (X3,)),
    (F.generator_layers, (np.linspace(-0.6, 0.8, 9),)),
    (F.generator_consumed, (np.array([0.3, -0.7, 1.1, 0.5, 0.9]),)),
]
IDS = [f.__name__ for f, _ in CASES]


@pytest.mark.parametrize("func, args", CASES, ids=IDS)
def test_both_modes_against_finite_differences(func, args):
    for i in range(len(args)):
        fd = numerical_grad(func, args, i)
        np.testing.assert_allclose(srcad.grad(func, wrt=i)(*args), fd, rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(fwd_grad(func, args, i), fd, rtol=1e-5, atol=1e-8)


AUTOGRAD = [c for c in CASES if c[0] is not F.array_unused_on_the_last_path]


@pytest.mark.parametrize("func, args", AUTOGRAD, ids=[f.__name__ for f, _ in AUTOGRAD])
def test_against_autograd(func, args):
    for i in range(len(args)):
        np.testing.assert_allclose(srcad.grad(func, wrt=i)(*args), autograd_grad(func, args, i),
                                   rtol=1e-10, atol=1e-12)


SECOND = [(F.lambda_reads_active, (0.7, 1.3)), (F.lambda_to_helper, (0.7, 1.3)),
          (F.closure_calls_closure, (0.7, 1.3)), (F.acts_in_a_loop, (X3,)),
          (F.partial_to_helper, (0.7, 1.3)), (F.integrate_decay, (X3,)),
          (F.integrate_lambda, (1.0, 0.7)), (F.det, (A3,)), (F.det_of, (A3,)),
          (F.function_default, (X3,)),
          (F.generator_layers, (np.linspace(-0.6, 0.8, 9),)),
          (F.generator_consumed, (np.array([0.3, -0.7, 1.1, 0.5, 0.9]),))]


@pytest.mark.parametrize("func, args", SECOND, ids=[f.__name__ for f, _ in SECOND])
def test_second_order_against_autograd(func, args):
    autograd = pytest.importorskip("autograd")
    want = autograd.hessian(autograd_twin(func), 0)(*args)
    np.testing.assert_allclose(srcad.hessian(func)(*args), want, rtol=1e-8, atol=1e-10)
    # reverse over reverse
    np.testing.assert_allclose(srcad.jacrev(srcad.grad(func))(*args), want, rtol=1e-8,
                               atol=1e-10)


def test_a_function_argument_is_specialised_on():
    x = np.array([0.2, -0.5])
    d_apply = srcad.grad(F.apply, wrt=1)
    np.testing.assert_allclose(d_apply(np.tanh, x), 1 - np.tanh(x) ** 2)
    np.testing.assert_allclose(d_apply(np.sin, x), np.cos(x))      # another function: rebuilt
    np.testing.assert_allclose(d_apply(F.cube, x), 3 * x ** 2)
    np.testing.assert_allclose(d_apply(np.tanh, x), 1 - np.tanh(x) ** 2)
    out, t = srcad.jvp(F.apply_scaled, (np.exp, x, 2.0), (None, np.ones(2), 0.0))
    assert out == pytest.approx(np.sum(np.exp(2 * x) * 2))
    assert t == pytest.approx(np.sum(4 * np.exp(2 * x)))
    g = srcad.grad(F.apply_scaled, wrt=(1, 2))(np.sin, x, 2.0)
    np.testing.assert_allclose(g[0], numerical_grad(lambda v: F.apply_scaled(np.sin, v, 2.0),
                                                    (x,), 0), rtol=1e-6)
    assert g[1] == pytest.approx(numerical_grad(lambda s: F.apply_scaled(np.sin, x, s),
                                                (2.0,), 0), rel=1e-6)


def made(text, tag):
    """A function compiled from `text` under a file name linecache knows (srcad reads it)."""
    import linecache
    name = f"<funcs test {tag}>"
    linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    ns = {"np": np}
    exec(compile(text, name, "exec"), ns)
    return next(v for k, v in ns.items() if isinstance(v, types.FunctionType))


def test_a_function_argument_whose_code_changes_is_rebuilt():
    act = made("def act(t):\n    return t * t\n", "square")
    d_apply = srcad.grad(F.apply, wrt=1)
    x = np.array([0.5, 1.5])
    np.testing.assert_allclose(d_apply(act, x), 2 * x)
    act.__code__ = made("def act(t):\n    return t * t * t\n", "cube").__code__
    np.testing.assert_allclose(d_apply(act, x), 3 * x ** 2)


def test_a_helper_specialised_on_a_function_sees_its_redefinition():
    """rk4 is copied for the function it is given: a new rk4 must not reuse the copy."""
    import importlib
    mod = importlib.import_module("fixtures.funcs_funcs")
    old = mod.rk4
    try:
        want = srcad.grad(F.integrate_decay)(X3)
        np.testing.assert_allclose(want, numerical_grad(F.integrate_decay, (X3,), 0), rtol=1e-6)

        def rk4(f, y, t, dt):           # Euler, not RK4
            return y + dt * f(y, t)
        mod.rk4 = rk4
        got = srcad.grad(F.integrate_decay)(X3)
        np.testing.assert_allclose(got, numerical_grad(F.integrate_decay, (X3,), 0), rtol=1e-6)
        assert not np.allclose(got, want)
    finally:
        mod.rk4 = old


def test_recursion_on_a_number():
    for n in (0, 1, 4):
        assert srcad.grad(F.power_rec)(0.7, n) == pytest.approx(n * 0.7 ** (n - 1) if n else 0.0)
        assert srcad.jvp(F.power_rec, (0.7, n), (1.0, 0.0))[1] == \
            pytest.approx(n * 0.7 ** (n - 1) if n else 0.0)
    assert srcad.hessian(F.power_rec)(0.7, 4) == pytest.approx(12 * 0.7 ** 2)


def test_mutual_recursion():
    f = lambda x: F.is_even(5, x)  # noqa: E731
    for x in (0.3, 0.7):
        fd = numerical_grad(f, (x,), 0)
        assert srcad.grad(F.is_even, wrt=1)(5, x) == pytest.approx(fd, rel=1e-6)
        assert srcad.jvp(F.is_even, (5, x), (0.0, 1.0))[1] == pytest.approx(fd, rel=1e-6)


def test_recursion_whose_depth_depends_on_the_active_value():
    """A branch on x decides the depth: the derivative is that of the path taken, as for
    an if or a while on x (x = 5.3 takes three halvings: 8 (x/8)^2)."""
    for x in (0.5, 5.3, 17.0):
        fd = numerical_grad(F.halving, (x,), 0)
        assert srcad.grad(F.halving)(x) == pytest.approx(fd, rel=1e-6)
        assert srcad.jvp(F.halving, (x,), (1.0,))[1] == pytest.approx(fd, rel=1e-6)
    assert srcad.grad(F.halving)(5.3) == pytest.approx(2 * 5.3 / 8)


def test_det_by_minors_against_numpy():
    for A in (A3, A4):
        assert F.det(A) == pytest.approx(np.linalg.det(A))
        want = np.linalg.det(A) * np.linalg.inv(A).T          # Jacobi's formula
        np.testing.assert_allclose(srcad.grad(F.det)(A), want, rtol=1e-10)
        np.testing.assert_allclose(srcad.grad(F.det_of)(A), want, rtol=1e-10)
        np.testing.assert_allclose(fwd_grad(F.det, (A,), 0), want, rtol=1e-10)


def test_the_recursive_derivative_calls_itself():
    text = srcad.source(F.det)
    assert "det(minor)" in text and "def det_fwd" in text
    assert text.count("def det_fwd") == 1            # one derivative, called recursively


REFUSED = [(F.stores_a_function, (0.5,), "used as data"),
           (F.function_in_a_branch, (0.5,), "inside if/for/while"),
           (F.function_to_numpy, (0.5,), "calling the result of np.vectorize"),
           (F.def_in_branches, (0.5,), "bound to different functions"),
           (F.generator_argument_changed, (0.5,), "changed in place"),
           (F.generator_endless, (0.5,), "an endless loop")]


@pytest.mark.parametrize("func, args, words", REFUSED, ids=[f.__name__ for f, _, _ in REFUSED])
def test_refusals_name_the_users_line(func, args, words):
    for mode in ("reverse", "forward"):
        with pytest.raises(srcad.SrcadError) as info:
            if mode == "reverse":
                srcad.grad(func)(*args)
            else:
                srcad.jvp(func, args, (1.0,))
        err = info.value
        assert words in str(err) and " at 0x" not in str(err)
        assert err.filename == F.__file__
        assert "# ERR" in F_LINES[err.lineno - 1]


F_LINES = open(F.__file__).read().splitlines()


def test_differentiating_with_respect_to_a_function_is_refused():
    with pytest.raises(srcad.SrcadError, match="is a function"):
        srcad.grad(F.apply, wrt=0)(np.sin, X3)


def test_the_helper_copied_for_a_lambda_takes_what_the_lambda_reads():
    """apply_twice(lambda t: a * np.tanh(t), x): the copy of apply_twice takes a (as g_a)
    and passes it to the lambda's derivative, so a's adjoint flows back."""
    text = srcad.source(F.lambda_to_helper, wrt=(0, 1))
    assert "def apply_twice_1_fwd(x, g_a):" in text
    assert "v0, v0_res = lambda__fwd(x, g_a)" in text
    assert "return (grad_like(x_bar_lambda_, x), grad_like(g_a_bar, g_a))" in text


def test_partial_of_a_global_helper_keeps_python_semantics():
    f = functools.partial(F.power, k=3.0)
    got = srcad.grad(F.apply, wrt=1)(f, X3)
    np.testing.assert_allclose(got, 3 * X3 ** 2)


def test_a_helper_whose_code_changes_is_specialised_again():
    """The copy of rk4 made for a function value follows rk4.__code__."""
    import importlib
    mod = importlib.import_module("fixtures.funcs_funcs")
    code = mod.rk4.__code__
    try:
        want = srcad.grad(F.integrate_decay)(X3)
        mod.rk4.__code__ = made("def rk4(f, y, t, dt):\n    return y + dt * f(y, t)\n",
                                "euler").__code__
        got = srcad.grad(F.integrate_decay)(X3)
        np.testing.assert_allclose(got, numerical_grad(F.integrate_decay, (X3,), 0), rtol=1e-6)
        assert not np.allclose(got, want)
    finally:
        mod.rk4.__code__ = code


def test_a_global_tuple_of_functions_rebound_rebuilds():
    d = srcad.grad(F.global_tuple_of_functions)
    assert d(0.3) == pytest.approx(1 - np.tanh(0.3) ** 2 + np.cos(0.3))
    old = F.ACTS
    try:
        F.ACTS = (np.exp,)
        assert d(0.3) == pytest.approx(np.exp(0.3))
    finally:
        F.ACTS = old
    # a global list (refused once: 'make it a tuple'): its items are checked on every call
    d = srcad.grad(F.global_list_of_functions)
    assert d(0.3) == pytest.approx(1 - np.tanh(0.3) ** 2 + np.cos(0.3))
    try:
        F.ACT_LIST[1] = np.exp
        assert d(0.3) == pytest.approx(1 - np.tanh(0.3) ** 2 + np.exp(0.3))
    finally:
        F.ACT_LIST[1] = np.sin
    assert d(0.3) == pytest.approx(1 - np.tanh(0.3) ** 2 + np.cos(0.3))


# ---------------------------------------------------------------- objects built inside
# (issue 10 item 4: a plain class's object built in the differentiated function is the
# record of what its __init__ assigns; a helper or method returning an object or a function)

class _Scaled:
    def __init__(self, scale):
        self.scale = scale

    def apply(self, x):
        return np.sum(np.tanh(self.scale * x))


class _Lin:
    def __init__(self, W, b=0.0):
        self.W = W
        self.b = b
        self.n = W.shape[0]

    def __call__(self, x):
        return np.tanh(x @ self.W + self.b) / self.n


class _Enc:
    def __init__(self, W1, W2, scale=1.0):
        self.l1 = _Lin(W1)                  # an object holding objects
        self.l2 = _Lin(W2, 0.1)
        self.scale = scale
        self.scale *= 2.0
        self.s2 = scale ** 2 if scale > 0 else 0.0

    def encode(self, x):
        return self.l2(self.l1(x)) * self.scale + self.s2

    @property
    def l2norm(self):
        return np.sum(self.l1.W ** 2)


class _Net:
    def __init__(self, scale):
        self.scale = scale

    def layer(self, W):                     # a method returning a function value
        return lambda x: np.tanh(x @ W) * self.scale

    def make(self, W):                      # a method returning an object
        return _Lin(W, self.scale)


def _make_lin(W):
    return _Lin(W, 0.1)


def obj_constant_attr(x):
    m = _Scaled(3.0)
    return m.apply(x)


def obj_nested(W, x):
    e = _Enc(W, W.T, 0.5)
    return np.sum(e.encode(x)) + e.l2norm


def obj_in_loop(W, x):
    total = 0.0
    for k in range(3):
        m = _Lin(W * (k + 1))
        total = total + np.sum(m(x))
    return total


def obj_from_helper(W, x):
    m = _make_lin(W)
    return np.sum(m(x) ** 2) + np.sum(_make_lin(W).W)


def obj_method_factory(W, x, s):
    n = _Net(s)
    f = n.layer(W)
    return np.sum(f(f(x)))


def obj_method_returns_object(s, W, x):
    n = _Net(s)
    return np.sum(n.make(W)(x) ** 2) + n.scale ** 3


def obj_temporary(W, x):
    return _Lin(W).__call__(x).sum() + np.sum(_Lin(W)(x))


class _Sequential:
    def __init__(self, params):
        self.layers = [_Lin(W, b) for W, b in params]     # a comprehension of objects

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def obj_list_comprehension(W, x):
    model = _Sequential([(W, 0.1), (W.T, 0.2), (2.0 * W, 0.0)])
    return np.sum(model(x) ** 2)


W33 = A3 * 0.5
OBJ_CASES = [(obj_list_comprehension, (W33, X3), 0), (obj_constant_attr, (X3,), 0), (obj_nested, (W33, X3), 0),
             (obj_in_loop, (W33, X3), 0), (obj_from_helper, (W33, X3), 0),
             (obj_method_factory, (W33, X3, 1.3), 0), (obj_method_returns_object, (1.3, W33, X3), 0),
             (obj_method_returns_object, (1.3, W33, X3), 1), (obj_temporary, (W33, X3), 0)]


@pytest.mark.parametrize("f, args, i", OBJ_CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_objects_built_inside_both_modes_and_second_order(f, args, i):
    """Refused before ("no derivative rule for the method .apply()", "calling the local
    value m", "calling the result of n.make(W)", a TypeError adding two _Net adjoints)."""
    from conftest import second_order
    want = numerical_grad(f, args, i)
    np.testing.assert_allclose(srcad.grad(f, wrt=i)(*args), want, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fwd_grad(f, args, i), want, rtol=1e-5, atol=1e-7)
    second_order(f, args, i)


class _InitCallsMethod:
    def __init__(self, w):
        self.w = w
        self.reset()                            # ERR

    def reset(self):
        self.z = 0.0


class _InitPassesSelf:
    def __init__(self, w):
        print(self)                             # ERR
        self.w = w


def obj_init_calls_method(x):
    return _InitCallsMethod(x).w


def obj_init_passes_self(x):
    return _InitPassesSelf(x).w


class _WithAct:
    def __init__(self, W, act=np.tanh):
        self.W = W
        self.act = act

    def __call__(self, x):
        return self.act(x @ self.W)


def obj_function_attribute(x):
    return np.sum(_WithAct(np.eye(3))(x))          # once refused ('act=tanh would be stored')


def obj_attribute_assigned(x):
    m = _Scaled(x)
    m.scale = 2.0 * x                           # ERR
    return m.apply(x)


_HERE = open(__file__).read().splitlines()


@pytest.mark.parametrize("f, match", [(obj_init_calls_method, "reads self.reset, a method"),
                                      (obj_init_passes_self, "uses self other than"),
                                      (obj_attribute_assigned, "assignment to m.scale")])
def test_objects_srcad_cannot_build_are_refused_at_the_users_line(f, match):
    with pytest.raises(srcad.SrcadError, match=match) as info:
        srcad.grad(f)(X3)
    assert "# ERR" in _HERE[info.value.lineno - 1]


# regressions: function values, methods of argument objects, closures, lambdas, partials (funcs.py)
def test_calling_a_module_level_callable_object():
    # `MODEL(w, x)` of an object with a Python __call__ was refused ("cannot read its
    # source"), though `MODEL.apply(w, x)` worked: now it is the bound __call__
    w, x = np.array([0.3, -0.2]), np.array([[1.0, 2.0], [0.5, -1.0]])
    g = srcad.grad(R.model_loss)(w, x)
    np.testing.assert_allclose(g, numerical_grad(R.model_loss, (w, x), 0), rtol=1e-6)
    H = srcad.hessian(R.model_loss)(w, x)
    np.testing.assert_allclose(H, numerical_grad(srcad.grad(R.model_loss), (w, x), 0),
                               rtol=1e-5, atol=1e-7)
    _, t = srcad.jvp(R.model_loss, (w, x), (np.array([1.0, 0.0]), np.zeros((2, 2))))
    np.testing.assert_allclose(t, g[0], rtol=1e-10)
    old = R.MODEL
    try:
        R.MODEL.scale = 3.0                    # an attribute: read live
        np.testing.assert_allclose(srcad.grad(R.model_loss)(w, x), 2.25 * g, rtol=1e-12)
        R.MODEL = R.Other()                    # another object of another class: rebuilt
        np.testing.assert_allclose(srcad.grad(R.model_loss)(w, x),
                                   numerical_grad(R.model_loss, (w, x), 0), rtol=1e-6)
    finally:
        old.scale = 2.0
        R.MODEL = old


def test_calling_a_parameter_calls_the_function_it_is_given():
    # (was refused with "calling the local value f"; functions as values, issue 10 item 3)
    assert srcad.grad(R_lower.call_param, wrt=1)(np.sin, 0.5) == pytest.approx(np.cos(0.5))
    assert srcad.grad(R_lower.call_param, wrt=1)(np.exp, 0.5) == pytest.approx(np.exp(0.5))
    with pytest.raises(srcad.SrcadError) as info:
        srcad.grad(R_lower.call_param, wrt=0)(np.sin, 0.5)
    msg = str(info.value)
    assert "is a function" in msg and " at 0x" not in msg and "<" not in msg


RNG = np.random.default_rng(5)


X = RNG.normal(size=(4, 3))


def linear():
    return R_s5py.Linear(RNG.normal(size=(3, 2)), RNG.normal(size=2))


@pytest.mark.parametrize("f", [R_s5py.model_apply, R_s5py.model_call, R_s5py.model_property])
def test_method_call_and_property_of_an_argument_object(f):
    # was: "no derivative rule for the method .apply()", "calling the local value model",
    # and a bare KeyError 'l2' for the property
    m = linear()
    check_grads(f, m, X, wrt=0)
    check_grads(f, m, X, wrt=1)                    # the model a constant, read live
    g = srcad.grad(f)(m, X)
    assert type(g) is R_s5py.Linear
    second_order(f, (m, X), 1)


def test_jvp_vjp_and_jacobians_through_a_method():
    m, t = linear(), linear()
    out, dot = srcad.jvp(R_s5py.model_call, (m, X), (t, np.zeros_like(X)))
    eps = 1e-6
    plus = R_s5py.Linear(m.W + eps * t.W, m.b + eps * t.b)
    minus = R_s5py.Linear(m.W - eps * t.W, m.b - eps * t.b)
    assert dot == pytest.approx((R_s5py.model_call(plus, X) - R_s5py.model_call(minus, X)) / (2 * eps),
                                rel=1e-6)
    out, pull = srcad.vjp(R_s5py.model_call, m, X)
    gm, gx = pull(1.0)
    np.testing.assert_allclose(gm.W, srcad.grad(R_s5py.model_call)(m, X).W)
    np.testing.assert_allclose(srcad.jacfwd(R_s5py.model_call, wrt=1)(m, X), gx)
    np.testing.assert_allclose(srcad.jacrev(R_s5py.model_call, wrt=1)(m, X), gx)


def test_self_helper_calls_and_a_plain_class_with_call():
    # a plain class whose __call__ loops over self.layer(...): the object was no container
    # (callable), so it was neither differentiated nor callable
    net = R_s5py.MLP([3, 4, 2], RNG)
    y = RNG.normal(size=(4, 2))
    check_grads(R_s5py.mlp_object_loss, net, X, y, wrt=0)
    g = srcad.grad(R_s5py.mlp_object_loss)(net, X, y)
    assert type(g) is R_s5py.MLP and g.name is None and len(g.weights) == 2
    second_order(R_s5py.mlp_object_loss, (net, X, y), 1)


def test_gaussian_process_class_with_a_kernel_method():
    gp = R_s5py.GP(0.1, -0.2, 0.3)
    x, y = RNG.normal(size=5), RNG.normal(size=5)
    check_grads(R_s5py.gp_loss, gp, x, y, wrt=0)
    g = srcad.grad(R_s5py.gp_loss)(gp, x, y)
    assert type(g) is R_s5py.GP
    second_order(R_s5py.gp_loss, (gp, x, y), 1)


def test_method_passed_as_a_bound_method_and_a_local_record():
    m = linear()
    check_grads(R_s5py.bound_loss, m.apply, X, wrt=1)
    W, b = RNG.normal(size=(3, 2)), RNG.normal(size=2)
    for i in range(3):
        check_grads(R_s5py.local_model, W, b, X, wrt=i)


def test_a_helper_given_the_same_object_twice():
    # was: TypeError "unsupported operand type(s) for +: 'Linear' and 'Linear'" (the two
    # adjoints of the object added with +)
    check_grads(R_s5py.helper_twice, linear(), X)


def test_a_method_redefined_after_the_build_rebuilds_the_derivative():
    m = linear()
    d = srcad.grad(R_s5py.model_property)
    g1 = d(m, X)
    old = R_s5py.Linear.__dict__["l2"]
    try:
        R_s5py.Linear.l2 = property(lambda self: np.sum(self.W))
        np.testing.assert_allclose(d(m, X).W, np.full((3, 2), np.sum(X ** 2)))
    finally:
        R_s5py.Linear.l2 = old
    np.testing.assert_allclose(d(m, X).W, g1.W)


T = np.array([0.3, 0.9])


@pytest.mark.parametrize("f", [R_s5py.lambda_defaults_list, R_s5py.lambda_default_in_loop,
                               R_s5py.partial_in_loop, R_s5py.partial_list])
def test_functions_made_in_a_loop_or_comprehension(f):
    # was: "a nested def's defaults must be constants" / "a function value assigned to 'p'
    # inside if/for/while is not supported"
    x = 0.7 if f is R_s5py.lambda_defaults_list else T
    check_grads(f, x)
    second_order(f, (x,))


def test_lambda_defaults_closed_forms():
    assert srcad.grad(R_s5py.lambda_defaults_list)(0.7) == pytest.approx(1.0 + 2 * 0.7)
    np.testing.assert_allclose(srcad.grad(R_s5py.partial_in_loop)(T), 1.0 + 2 * T + 3 * T ** 2)
    np.testing.assert_allclose(srcad.grad(R_s5py.lambda_default_in_loop)(T),
                               sum(k * np.cos(k * T) for k in range(3)))


def test_a_default_taken_where_the_def_stands():
    # c=s is s's value at the def, not after `s = 2.0 * s`
    g = srcad.grad(R_s5py.default_reads_arg, wrt=(0, 1))(T, 0.4)
    np.testing.assert_allclose(g[0], np.full(2, 0.4))
    assert g[1] == pytest.approx(np.sum(T) + 2.0)
    check_grads(R_s5py.default_reads_arg, T, 0.4, wrt=1)


def test_late_binding_lambda_in_a_comprehension_is_refused():
    with pytest.raises(srcad.UnsupportedSyntaxError, match="k=k") as e:
        srcad.grad(R_s5py.late_binding)(0.5)
    assert e.value.filename.endswith("regress_s5py.py")


RNG_s6py = np.random.default_rng(6)


def test_a_method_copy_runs_at_the_users_lines():
    # was: the copy's code was compiled with its leading lines stripped (lstrip) under a
    # scope written as text, so a traceback from it named line 4 for the user's line 75
    copy = funcs.for_class(R_s6py.Dense.__call__, R_s6py.Dense)
    assert copy is not R_s6py.Dense.__call__
    with pytest.raises(ValueError) as e:
        copy(R_s6py.Dense(np.ones((2, 2)), np.ones(2)), np.ones(3))
    frame = traceback.extract_tb(e.value.__traceback__)[-1]
    assert frame.filename == R_s6py.__file__
    assert frame.lineno == line_of(R_s6py.Dense.__call__, "return np.tanh")


V = RNG_s6py.normal(size=3)


C = RNG_s6py.normal(size=3)


@pytest.mark.parametrize("f, args", [
    (R_s6py.closure_returned, (V, C)),        # def loss(w) returned, called
    (R_s6py.closure_capturing_x, (V,)),       # what it captures depends on x
    (R_s6py.lambda_returned, (V, C)),         # a returned lambda, called on the spot too
    (R_s6py.partial_returned, (V, C)),        # functools.partial returned from a helper
    (R_s6py.factory_chain, (V, C)),           # a factory returning another factory's result
])
def test_function_values_returned_by_helpers(f, args):
    # was: "calling the local value g is not supported" (and "calling the result of
    # make_shifted(c)")
    for i in range(len(args)):
        check_grads(f, *args, wrt=i)
        second_order(f, args, i)


def test_returned_closure_is_differentiated_through_what_it_captures():
    # d/dx sum((2x - sin x)^2) = 2 (2x - sin x)(2 - cos x): the captured sin(x) is no constant
    want = 2 * (2 * V - np.sin(V)) * (2 - np.cos(V))
    np.testing.assert_allclose(srcad.grad(R_s6py.closure_capturing_x)(V), want, rtol=1e-12)
    _, dot = srcad.jvp(R_s6py.closure_capturing_x, (V,), (np.ones(3),))
    assert dot == pytest.approx(np.sum(want), rel=1e-12)


def dense(n=3, m=3):
    return R_s6py.Dense(RNG_s6py.normal(size=(n, m)), RNG_s6py.normal(size=m))


def container_hessian(f, args, i):
    """hessian blocks H[leaf][leaf'] with respect to container argument i, and jacrev of
    grad, against central differences of the gradient."""
    from srcad import api
    H = srcad.hessian(f, wrt=i)(*args)
    g = srcad.grad(f, wrt=i)
    J = srcad.jacrev(g, wrt=i)(*args)
    for p, _ in api._leaves(args[i]):
        for q, _ in api._leaves(args[i]):
            def gp(*a, p=p):
                return np.asarray(api._at(g(*a), p), dtype=float)
            want = numerical_grad(gp, list(args), i, path=q)
            for got in (H, J):
                np.testing.assert_allclose(api._at(api._at(got, p), q), want, rtol=1e-4,
                                           atol=1e-6, err_msg=f"{f.__name__}: H{p}{q}")


@pytest.mark.parametrize("f, make", [
    (R_s6py.layers_loop, lambda: [dense(), dense()]),                       # one class: a loop
    (R_s6py.layers_loop, lambda: [dense(), R_s6py.Scale(RNG_s6py.normal(size=3))]),   # two: unrolled
    (R_s6py.layers_loop, lambda: (R_s6py.Scale(RNG_s6py.normal(size=3)), dense())),   # a tuple
    (R_s6py.layers_index, lambda: [dense(), R_s6py.Scale(RNG_s6py.normal(size=3))]),  # layers[0](x)
    (R_s6py.layers_dict, lambda: {"first": dense(), "second": R_s6py.Scale(RNG_s6py.normal(size=3))}),
    (R_s6py.nested_attr, lambda: R_s6py.AutoEnc(R_s6py.Encoder(RNG_s6py.normal(size=(3, 3))), 0.7)),
    (R_s6py.enumerate_mixed, lambda: [dense(), R_s6py.Scale(RNG_s6py.normal(size=3))]),
], ids=["list", "two-classes", "tuple", "index", "dict", "attribute", "enumerate"])
def test_methods_of_objects_in_containers_and_attributes(f, make):
    # was: "calling the local value layer is not supported", "no derivative rule for the
    # method .apply() in model.enc.apply()"
    model = make()
    check_grads(f, model, X, wrt=0)
    check_grads(f, model, X, wrt=1)
    g = srcad.grad(f)(model, X)
    assert type(g) is type(model)
    second_order(f, (model, X), 1)


def test_source_of_a_layer_loop_given_arguments():
    # one class: the loop stays a loop calling the method's derivative; two: unrolled
    code = srcad.source(R_s6py.layers_loop, args=([dense(), dense()], X))
    assert "for v3 in reversed(v2):" in code and code.count("def __call__") == 2
    mixed = srcad.source(R_s6py.layers_loop, args=([dense(), R_s6py.Scale(V)], X))
    assert "    for " not in mixed.split("def layers_loop_grad")[1]
    assert "layers[0]" in mixed and "layers[1]" in mixed


def test_classmethods_and_staticmethods_through_an_instance_or_the_class():
    # was: "no derivative rule for the method .make() in obj.make()"
    f, args = R_s6py.class_and_static, (V, R_s6py.Poly())
    check_grads(f, *args, wrt=0)
    want = np.sum(4 * V ** 2 + 2 * V)                 # 2 (a^2 + a) + 2 a^2
    assert f(*args) == pytest.approx(want)
    np.testing.assert_allclose(srcad.grad(f)(*args), 8 * V + 2, rtol=1e-12)
    second_order(f, args, 0)


@pytest.mark.parametrize("f, make", [
    (R_s6py.params_passed_on, lambda: R_s6py.Params(RNG_s6py.normal(size=(3, 2)), RNG_s6py.normal(size=2))),
    (R_s6py.dense_passed_on, lambda: dense(3, 2)),
    (R_s6py.layers_loop, lambda: [dense(), R_s6py.Scale(RNG_s6py.normal(size=3))]),
    (R_s6py.nested_attr, lambda: R_s6py.AutoEnc(R_s6py.Encoder(RNG_s6py.normal(size=(3, 3))), 0.7)),
], ids=["namedtuple-to-helper", "dataclass-call", "list-of-objects", "attribute"])
def test_hessian_with_respect_to_an_object_passed_on(f, make):
    container_hessian(f, (make(), X[:2]), 0)


def test_hessian_with_respect_to_an_object_whose_method_calls_a_method():
    # was: ValueError from bgrad_like: a helper given an object was built for an array
    # argument (callee_kinds gave `any`), so its adjoint of self added by `self_bar +=
    # self_bar_layer`, differentiated at second order as array arithmetic
    from fixtures import regress_s5py as S
    net = S.MLP([3, 2, 2], RNG_s6py)
    container_hessian(S.mlp_object_loss, (net, X[:2], RNG_s6py.normal(size=(2, 2))), 0)


def test_lists_and_dicts_of_objects_built_in_the_function():
    # was: "calling the local value layer is not supported"
    W1, b1, s = RNG_s6py.normal(size=(3, 3)), RNG_s6py.normal(size=3), RNG_s6py.normal(size=3)
    for i in range(4):
        check_grads(R_s6py.layers_built_here, W1, b1, s, X, wrt=i)
    second_order(R_s6py.layers_built_here, (W1, b1, s, X), 2)


def test_an_object_rebound_in_a_branch_or_loop_is_refused_not_wrong():
    # was: a silent wrong gradient (0.68 off): the class srcad knew for m was the one its
    # last-lowered assignment gave (the else branch's; in a loop, the first iteration's
    # call used the class of the object assigned at the end of the body)
    W, b = RNG_s6py.normal(size=(3, 3)), RNG_s6py.normal(size=3)
    for f, args in [(R_s6py.record_in_branches, (W, b, X, True)),
                    (R_s6py.record_rebound_in_loop, (W, b, X))]:
        with pytest.raises(srcad.UnsupportedSyntaxError, match="calling the local value m"):
            srcad.grad(f)(*args)


def test_an_object_of_one_class_on_every_path_keeps_its_class():
    W, b = RNG_s6py.normal(size=(3, 3)), RNG_s6py.normal(size=3)
    for flag in (True, False):
        check_grads(R_s6py.record_same_in_branches, W, b, X, flag, wrt=[0, 1, 2])
        check_grads(R_s6py.else_reads_old_object, W, b, X, flag, wrt=[0, 1, 2])
    p = R_s6py.Params(RNG_s6py.normal(size=(3, 2)), RNG_s6py.normal(size=2))
    check_grads(R_s6py.record_replaced_in_loop, p, X)         # p's class kept through _replace
    second_order(R_s6py.record_replaced_in_loop, (p, X), 1)


def test_an_object_built_with_a_default_function():
    np.testing.assert_allclose(srcad.grad(obj_function_attribute)(X3), 1 - np.tanh(X3) ** 2)
    np.testing.assert_allclose(fwd_grad(obj_function_attribute, (X3,), 0), 1 - np.tanh(X3) ** 2)


def _stored_models():
    rng = np.random.default_rng(3)
    W = 0.5 * rng.normal(size=(3, 2))
    return [F.Activated(W, np.tanh), F.Activated(W, F.act_squared),
            F.Activated(W, functools.partial(F.act_power, k=3.0)),
            F.Stacked((np.tanh, np.sin)),
            F.Stacked([np.tanh, F.act_squared, functools.partial(F.act_power, k=2.0)])]


@pytest.mark.parametrize("k", range(5))
def test_functions_stored_on_an_object(k):
    """self.act(z) of self.act = np.tanh (a user function, a partial), `for a in self.acts`
    over a tuple or list of them: both modes and second order, against finite differences."""
    model = _stored_models()[k]
    f = F.stored_act_loss if isinstance(model, F.Activated) else F.stored_acts_loss
    x = np.array([[0.3, -0.7, 1.1], [0.2, 0.4, -0.5]]) if isinstance(model, F.Activated) \
        else X3
    fd = numerical_grad(f, (model, x), 1)
    np.testing.assert_allclose(srcad.grad(f, wrt=1)(model, x), fd, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(srcad.jacfwd(f, wrt=1)(model, x), fd, rtol=1e-6, atol=1e-9)
    from conftest import second_order
    second_order(f, (model, x), 1)
    if isinstance(model, F.Activated):          # with respect to the model: W, act gets None
        g = srcad.grad(f)(model, x)
        assert type(g) is F.Activated and g.act is None
        srcad.testing.check_grads(f, model, x)


def test_a_global_list_of_functions_is_checked_on_every_call():
    """A list (not a tuple) an object holds may change in place: the derivative checks its
    items on each call and is rebuilt, never stale."""
    x = np.array([0.3, -0.4])
    old = list(F.STACK.acts)
    try:
        t = np.tanh(x)
        np.testing.assert_allclose(srcad.grad(F.global_stack)(x), np.cos(t) * (1 - t * t))
        np.testing.assert_allclose(srcad.jacrev(F.STACK.apply)(x), np.diag(np.cos(t) * (1 - t * t)))
        F.STACK.acts[1] = np.cos
        np.testing.assert_allclose(srcad.grad(F.global_stack)(x), -np.sin(t) * (1 - t * t))
        F.STACK.acts.append(np.exp)
        np.testing.assert_allclose(srcad.grad(F.global_stack)(x),
                                   numerical_grad(F.global_stack, (x,), 0), rtol=1e-6)
    finally:
        F.STACK.acts[:] = old


def test_functions_stored_on_an_object_built_inside():
    """DenseAct(W, act) built in the function (once refused: 'srcad does not store function
    values in objects it builds'): both modes, second order in x and in W."""
    W = np.array([[0.5, 0.1, -0.2], [0.3, 0.2, 0.4], [-0.1, 0.6, 0.2]])
    args = (X3, W)
    for i in (0, 1):
        fd = numerical_grad(F.built_with_functions, args, i)
        np.testing.assert_allclose(srcad.grad(F.built_with_functions, wrt=i)(*args), fd,
                                   rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(fwd_grad(F.built_with_functions, args, i), fd, rtol=1e-6,
                                   atol=1e-9)
        from conftest import second_order
        second_order(F.built_with_functions, args, i)
    text = srcad.source(F.built_with_functions, wrt=1)
    assert "record_of(DenseAct, ('W', 'act'), [" in text and "act_power_partial" in text


def test_a_function_stored_other_than_as_itself_is_refused():
    with pytest.raises(srcad.SrcadError, match="other than as itself") as info:
        srcad.grad(F.built_with_a_computed_function)(X3)
    assert "# ERR" in F_LINES[info.value.lineno - 1]


def _grads_and_second_order(f, args, positions):
    from conftest import second_order
    for i in positions:
        fd = numerical_grad(f, args, i)
        np.testing.assert_allclose(srcad.grad(f, wrt=i)(*args), fd, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(srcad.jacfwd(f, wrt=i)(*args), fd, rtol=1e-6, atol=1e-9)
        second_order(f, args, i)


def test_an_inherited_call():
    """Dense(Layer) used as layer(x), __call__ defined on Layer: both modes, second order,
    with respect to x and to the layer (its gradient is a TanhDense, act None)."""
    W = np.array([[0.5, 0.1, -0.2], [0.3, 0.2, 0.4], [-0.1, 0.6, 0.2]])
    layer = F.TanhDense(W, np.array([0.1, -0.2, 0.3]))
    _grads_and_second_order(F.inherited_call, (layer, X3), (1,))
    g = srcad.grad(F.inherited_call)(layer, X3)
    assert type(g) is F.TanhDense and g.act is None
    srcad.testing.check_grads(F.inherited_call, layer, X3)


def test_super_init_and_super_method_of_an_object_built_inside():
    W = np.array([[0.5, 0.1, -0.2], [0.3, 0.2, 0.4], [-0.1, 0.6, 0.2]])
    _grads_and_second_order(F.built_by_super, (X3, W), (0, 1))


def test_a_class_defined_inside_the_function():
    _grads_and_second_order(F.class_inside, (X3, 0.7), (0, 1))
    text = srcad.source(F.class_inside, wrt=1)
    assert "record_of(SinScale, ('s',)" in text


def test_a_class_reading_the_functions_variables_is_refused():
    with pytest.raises(srcad.SrcadError, match="class Scaled reads 'k'") as info:
        srcad.grad(F.class_reading_a_local)(X3)
    assert "# ERR" in F_LINES[info.value.lineno - 1]


def test_a_nested_def_with_star_args():
    """def weighted(*args, scale=1.5) inside, reading the function's c: called with items,
    with a tuple spread, by keyword, passed to a helper and by partial; a lambda *vs."""
    _grads_and_second_order(F.nested_star_args, (X3,), (0,))
    for f in (F.nested_star_args,):
        np.testing.assert_allclose(srcad.grad(f)(X3), autograd_grad(f, (X3,), 0), rtol=1e-10)


def test_a_transform_of_a_nested_def_with_star_args_is_refused():
    with pytest.raises(srcad.SrcadError, match="with \\*args, \\*\\*kwargs or keyword-only") \
            as info:
        srcad.grad(F.nested_star_args_to_jvp)(0.5)
    assert "# ERR" in F_LINES[info.value.lineno - 1]


@pytest.mark.parametrize("name", ["tanh", "square", "cube"])
def test_a_global_dict_of_functions_by_a_runtime_key(name):
    """ACTS[name](x), name an argument: an if/elif over the dict's keys, each arm a call
    of one function; both modes and second order."""
    _grads_and_second_order(F.act_by_name, (X3, name), (0,))


def test_a_global_dict_of_functions_is_checked_on_every_call():
    d = srcad.grad(F.act_by_name)
    t = np.tanh(X3)
    np.testing.assert_allclose(d(X3), 2 * t * (1 - t * t) + 2 * X3 + 0.5)   # the default
    with pytest.raises(KeyError):
        d(X3, "relu")
    old = dict(F.ACTS_BY_NAME)
    try:
        F.ACTS_BY_NAME["tanh"] = np.sin             # changed in place: rebuilt, not stale
        np.testing.assert_allclose(d(X3), 2 * np.sin(X3) * np.cos(X3) + 2 * X3 + 0.5)
        F.ACTS_BY_NAME["relu"] = np.exp             # a new key
        np.testing.assert_allclose(d(X3, "relu"), 2 * np.exp(2 * X3) + 2 * X3 + 0.5)
    finally:
        F.ACTS_BY_NAME.clear()
        F.ACTS_BY_NAME.update(old)
    np.testing.assert_allclose(d(X3), 2 * t * (1 - t * t) + 2 * X3 + 0.5)


def test_a_list_of_functions_by_a_runtime_index():
    f = F.act_by_index
    fd = numerical_grad(f, (X3,), 0)
    np.testing.assert_allclose(srcad.grad(f)(X3), fd, rtol=1e-6)
    np.testing.assert_allclose(srcad.jacfwd(f)(X3), fd, rtol=1e-6)
    want = numerical_grad(srcad.grad(f), [X3], 0)
    np.testing.assert_allclose(srcad.hessian(f)(X3), want, rtol=1e-5, atol=1e-6)
    # reverse over reverse under SRCAD_CHECKS=1: the chain's last arm raised IndexError, a
    # raise inside the loop whose flag the checker lost ('v8 may be read before it is
    # assigned'); a list's last index is the chain's else now (range(n)[i] raised before)
    np.testing.assert_allclose(srcad.jacrev(srcad.grad(f))(X3), want, rtol=1e-5, atol=1e-6)
    g = F.act_by_arg_index
    for k in (0, 2, -1, -3):
        fd = numerical_grad(g, (X3, k), 0)
        np.testing.assert_allclose(srcad.grad(g)(X3, k), fd, rtol=1e-6)
        np.testing.assert_allclose(srcad.jvp(g, (X3, k), (np.ones(3), 0))[1], fd.sum(),
                                   rtol=1e-6)
        want = numerical_grad(srcad.grad(g), [X3, k], 0)
        np.testing.assert_allclose(srcad.jacrev(srcad.grad(g))(X3, k), want, rtol=1e-5,
                                   atol=1e-6)
    for k in (3, -4):                                     # Python's IndexError
        with pytest.raises(IndexError):
            srcad.grad(g)(X3, k)


def test_a_dict_of_functions_by_a_runtime_key_in_a_loop():
    f = F.act_by_name_loop
    for name in ("tanh", "square", "cube"):
        fd = numerical_grad(f, (X3, name), 0)
        np.testing.assert_allclose(srcad.grad(f)(X3, name), fd, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(srcad.jacfwd(f)(X3, name), fd, rtol=1e-6, atol=1e-9)
        want = numerical_grad(srcad.grad(f), [X3, name], 0)
        np.testing.assert_allclose(srcad.jacrev(srcad.grad(f))(X3, name), want, rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(srcad.hessian(f)(X3, name), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(KeyError, match="relu"):                  # Python's KeyError
        srcad.grad(f)(X3, "relu")


def test_a_partial_a_global_object_holds():
    _grads_and_second_order(F.global_partial_model, (X3,), (0,))
    np.testing.assert_allclose(srcad.jacrev(F.PARTIAL_MODEL.__call__)(X3).sum(axis=0),
                               numerical_grad(lambda v: np.sum(F.PARTIAL_MODEL(v)), (X3,), 0),
                               rtol=1e-6)


_ACT_CASES = [
    ("acts_by_index", lambda R: ([np.tanh, np.sin, R.square],)),
    ("acts_by_index", lambda R: ((np.cos, R.square),)),
    ("acts_by_key", lambda R: ({"a": np.tanh, "b": R.square}, "b")),
    ("acts_by_key", lambda R: ({"a": np.tanh, "b": R.square}, "a")),
    ("acts_by_constant_keys", lambda R: ({"a": np.exp, "b": R.square},)),
    ("acts_loop", lambda R: ([np.tanh, R.square, np.cos],)),
    ("acts_loop", lambda R: ([np.sin],)),
    ("acts_enumerated", lambda R: ([np.sin, R.square],)),
    ("acts_items", lambda R: ({"first": np.tanh, "second": R.square},)),
]


@pytest.mark.parametrize("name,make", _ACT_CASES)
def test_a_list_or_dict_of_functions_passed_as_an_argument(name, make):
    """acts[i](x), acts[name](x), `for act in acts:` and len(acts) where acts, a list or
    dict of functions, is an argument of the function differentiated (the loops and the
    keys known only at run time were refused: 'calling the local value acts[i]')."""
    from fixtures import regress_s13obj as R13
    f = getattr(R13, name)
    x = np.array([0.3, -0.5, 0.8])
    args = make(R13) + (x,)
    w = len(args) - 1
    check_grads(f, *args, wrt=w)           # forward and reverse against finite differences
    g = srcad.grad(f, wrt=w)
    want = numerical_grad(g, list(args), w)
    for h in (srcad.hessian(f, wrt=w), srcad.jacrev(g, wrt=w), srcad.jacfwd(g, wrt=w)):
        np.testing.assert_allclose(h(*args), want, rtol=1e-5, atol=1e-6)
    assert srcad.grad(f, wrt=w)(*args) == pytest.approx(g(*args))


def test_another_list_of_functions_gets_its_own_derivative():
    from fixtures import regress_s13obj as R13
    x = np.array([0.3, -0.5, 0.8])
    g = srcad.grad(R13.acts_by_index, wrt=1)
    for acts in ([np.tanh, np.sin], [np.sin, np.tanh], [np.sin, R13.square, np.cos], [np.exp]):
        np.testing.assert_allclose(g(acts, x), numerical_grad(
            lambda x: R13.acts_by_index(acts, x), [x], 0), rtol=1e-6)
    # a key of functions all alike (or of one) is still checked, as Python checks it
    with pytest.raises(KeyError):
        srcad.grad(R13.acts_by_key, wrt=2)({"a": np.tanh}, "c", x)
    for acts in ([np.sin, np.sin], [np.sin]):
        with pytest.raises(IndexError):
            srcad.grad(R13.acts_by_key, wrt=2)(acts, 5, x)
        with pytest.raises(IndexError):
            srcad.jacfwd(R13.acts_by_key, wrt=2)(acts, 5, x)
    np.testing.assert_allclose(srcad.grad(R13.acts_by_key, wrt=2)([np.sin, np.sin], -1, x),
                               np.sin(x) + x * np.cos(x))


@pytest.mark.parametrize("name,reads", [("lambda_of_locals_stored", ["off", "scale"]),
                                        ("def_of_a_local_stored", ["w"])])
def test_a_function_of_local_variables_stored_in_an_object_names_them(name, reads):
    """The refusal said 'the function value lambda_ would be stored in the object other
    than as itself': it names the construct, the variables it reads and the user's line."""
    from fixtures import regress_s13obj as R13
    f = getattr(R13, name)
    with pytest.raises(srcad.UnsupportedSyntaxError) as e:
        srcad.grad(f)(np.array([0.3, -0.5, 0.8]))
    msg = str(e.value)
    assert "regress_s13obj.py" in msg and "cannot be stored in an object" in msg
    for n in reads:
        assert repr(n) in msg
    assert "# ERR" in open(R13.__file__).read().splitlines()[e.value.lineno - 1]


def test_a_list_of_functions_passed_on_to_a_helper():
    from fixtures import regress_s13obj as R13
    from conftest import second_order
    x = np.array([0.3, -0.5, 0.8])
    check_values = srcad.value_and_grad(R13.acts_display_to_helper)(x)[0]
    assert check_values == R13.acts_display_to_helper(x)
    check_grads(R13.acts_display_to_helper, x)
    second_order(R13.acts_display_to_helper, (x,))
    acts = [np.sin, R13.square, np.tanh]
    check_grads(R13.acts_argument_to_helper, acts, x, wrt=1)
    second_order(R13.acts_argument_to_helper, (acts, x), 1)


def test_copy_tree_is_a_deep_copy_like_deepcopy():
    """funcs.copy_tree (the lowering's copy of a function with comprehensions) copies every
    attribute of every node as copy.deepcopy does, keeps shared nodes shared, and shares
    nothing with the original."""
    import ast as _ast
    import copy as _copy
    import gast as _gast
    from srcad import funcs as _funcs
    tree = _gast.ast_to_gast(_ast.parse(
        "def f(x, ys):\n    s = sum([y * x for y in ys if y > 0.5])\n    return s + 1.5\n"))
    shared = tree.body[0].body[1].value
    tree.body[0].body.append(_gast.Expr(value=shared))      # one node in two places
    tree.body[0].extra = {"k": [1, 2]}                        # a non-node attribute

    def dump(x, seen):
        if isinstance(x, list):
            return [dump(v, seen) for v in x]
        if isinstance(x, _gast.AST):
            seen.append(x)
            return (type(x).__name__, {k: dump(v, seen) for k, v in sorted(x.__dict__.items())})
        return x
    want, got = _copy.deepcopy(tree), _funcs.copy_tree(tree)
    old, new = [], []
    assert dump(got, new) == dump(want, []) == dump(tree, old)
    assert not {id(n) for n in old} & {id(n) for n in new}
    assert got.body[0].body[-1].value is got.body[0].body[1].value
    assert got.body[0].extra == {"k": [1, 2]} and got.body[0].extra is not tree.body[0].extra


def _layers_s13obj2(R):
    rng = np.random.default_rng(1302)
    return [R.Dense(rng.normal(size=(3, 3)), rng.normal(size=3)), R.Scale(0.7),
            R.Dense(rng.normal(size=(3, 3)), rng.normal(size=3))]


def _all_modes(f, args, w):
    """srcad's value (both modes) is Python's; grad, jacfwd, jvp, jacrev/jacfwd of grad and
    hessian match finite differences (of f, of grad f)."""
    from conftest import second_derivatives
    want = f(*args)
    value, _ = srcad.value_and_grad(f, wrt=w)(*args)
    assert value == want
    t = np.linspace(0.5, -1.0, args[w].size)
    zero = srcad.api._zero          # (the layers' weights carry no tangent here)
    fvalue, dot = srcad.jvp(f, args, tuple(t if k == w else zero(a)
                                           for k, a in enumerate(args)))
    assert fvalue == want
    np.testing.assert_allclose(dot, numerical_grad(f, list(args), w) @ t, rtol=1e-6)
    check_grads(f, *args, wrt=w)
    got, numeric = second_derivatives(f, list(args), w)
    for g in got:
        np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["acts_local_list_to_helper", "acts_local_tuple_to_helper",
                                  "acts_local_comprehension_to_helper",
                                  "acts_local_tuple_stored"])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_local_list_of_functions_passed_on_to_a_helper(name, sign):
    """acts = [np.tanh, square] (or a tuple) bound to a name and passed to a helper: was
    refused ('the list of functions passed to run_acts(): pass the functions one by one')."""
    from fixtures import regress_s13obj2 as R
    f = getattr(R, name)
    _all_modes(f, (sign * np.array([0.3, -0.5, 0.8]),), 0)


@pytest.mark.parametrize("name", ["acts_local_appended", "acts_local_item_set",
                                  "layer_picked_returned_by_helper"])
def test_a_local_list_of_functions_changed_or_a_picked_object_returned_is_refused(name):
    from fixtures import regress_s13obj2 as R
    f = getattr(R, name)
    x = np.array([0.3, -0.5, 0.8])
    args = (x,) if name.startswith("acts") else (_layers_s13obj2(R), 1, x)
    with pytest.raises(srcad.SrcadError) as e:
        srcad.grad(f, wrt=len(args) - 1)(*args)
    assert "# ERR" in open(R.__file__).read().splitlines()[e.value.lineno - 1]


@pytest.mark.parametrize("name", ["layer_picked_to_helper", "layer_indexed_to_helper",
                                  "layer_picked_kw_to_helper", "layer_picked_to_nested_def"])
@pytest.mark.parametrize("k", [0, 1, 2, -1])
def test_a_picked_object_passed_to_a_helper(name, k):
    """layer = layers[k] (objects of several classes, k known only when the derivative
    runs) passed to a helper of yours, or layers[k] itself: the helper is called on the
    item k picks, built for its class. Was refused ('no derivative rule for the method
    .apply()', at the helper's line)."""
    from fixtures import regress_s13obj2 as R
    f = getattr(R, name)
    _all_modes(f, (_layers_s13obj2(R), k, np.array([0.3, -0.5, 0.8])), 2)


def test_a_picked_object_passed_to_a_helper_checks_the_key_as_python_does():
    from fixtures import regress_s13obj2 as R
    args = (_layers_s13obj2(R), 3, np.array([0.3, -0.5, 0.8]))
    with pytest.raises(IndexError):
        R.layer_picked_to_helper(*args)
    for run in (srcad.grad(R.layer_picked_to_helper, wrt=2),
                srcad.hessian(R.layer_picked_to_helper, wrt=2),
                lambda *a: srcad.jvp(R.layer_picked_to_helper, a, (a[0], 0, a[2]))):
        with pytest.raises(IndexError):
            run(*args)


@pytest.mark.parametrize("k,j", [(0, 1), (1, 2), (2, 2)])
def test_two_picked_objects_passed_to_helpers(k, j):
    from fixtures import regress_s13obj2 as R
    _all_modes(R.layers_picked_twice_to_helper,
               (_layers_s13obj2(R), k, j, np.array([0.3, -0.5, 0.8])), 3)
