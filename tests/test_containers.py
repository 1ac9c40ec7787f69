"""Containers as arguments, locals and results: dicts, lists, tuples, NamedTuples,
dataclasses and objects, in both modes and at second order, against central finite
differences (srcad.testing.check_grads, leaf by leaf) and autograd (which takes dict, list
and tuple arguments). Gradients have their argument's structure."""
import os
from typing import NamedTuple

import numpy as np
import pytest

import srcad
from conftest import autograd_twin
from fixtures import container_funcs as cf
from srcad import api
from srcad.testing import numerical_grad

rng = np.random.default_rng(0)


def r(*shape):
    return rng.normal(size=shape)


P_DICT = {"W1": r(3, 4), "b1": r(4), "W2": r(4)}
LAYERS = [(r(3, 4) * 0.5, r(4)), (r(4, 2) * 0.5, r(2))]
X = r(5, 3)
DIGITS = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "data", "digits.csv.gz")
D2 = {"u": r(3), "v": r(2, 2)}

# (function, arguments, positions of the containers to check, autograd can check it)
CASES = [
    (cf.mlp_dict, (P_DICT, X), [0], True),
    (cf.mlp_loss, ({"W1": r(3, 4), "b1": r(4), "W2": r(4, 3), "b2": r(3)}, X,
                   np.eye(3)[[0, 1, 2, 0, 1]]), [0], True),
    (cf.dict_loop_keys, (D2,), [0], True),
    (cf.dict_items, (D2, {"u": r(3), "v": r(2, 2)}), [0, 1], True),
    (cf.dict_values, (D2,), [0], True),
    (cf.dict_keys_list, (D2,), [0], True),
    (cf.dict_with_config, ({"w": 0.7, "n": 3, "act": "square"}, r(4)), [0, 1], False),
    (cf.dict_local, (r(3), r(3)), [0, 1], True),
    (cf.dict_fill, ({"u": r(3), "v": r(3)},), [0], False),
    (cf.nested, ({"layers": LAYERS, "head": {"w": r(2), "c": 0.3}}, X), [0], True),
    (cf.neural_net_loss, (LAYERS, X, np.eye(2)[[0, 1, 1, 0, 1]]), [0], True),
    (cf.list_index, ([r(2), r(2), r(2)], r(3, 2)), [0], True),
    (cf.list_item_assign, (r(2), r(2)), [0, 1], False),
    (cf.tuple_unpack, ((r(3), (r(3), 0.4)),), [0], True),
    (cf.namedtuple_model, (cf.Layer(r(3, 4), r(4)), X), [0], False),
    (cf.namedtuple_layers, ([cf.Layer(r(3, 4), r(4)), cf.Layer(r(4, 2), r(2))], X), [0], False),
    (cf.namedtuple_build, (r(3, 4), r(4), X), [0, 1], False),
    (cf.dataclass_model, (cf.Model(r(3, 4), r(4), 1.5), X), [0], False),
    (cf.dataclass_build, (r(3, 4), X), [0], False),
    (cf.object_model, (cf.Net(r(3, 2), r(2)), X), [0, 1], False),
]
IDS = [c[0].__name__ for c in CASES]


def leaves(x):
    return api._leaves(x)


def same_structure(g, x):
    """g has x's structure: the same types, keys and leaf shapes."""
    if isinstance(x, (list, tuple, dict)) or api.pipeline.is_container(x):
        assert type(g) is type(x), (type(g), type(x))
        assert [p for p, _ in api._leaves(g, every_leaf=True)] == \
            [p for p, _ in api._leaves(x, every_leaf=True)]
    for (p, gl), (_, xl) in zip(leaves(g), leaves(x)):
        assert np.shape(gl) == np.shape(xl), p


@pytest.mark.parametrize("f, args, wrt, _", CASES, ids=IDS)
def test_both_modes_against_finite_differences(f, args, wrt, _):
    srcad.testing.check_grads(f, *args, wrt=wrt)


@pytest.mark.parametrize("f, args, wrt, _", CASES, ids=IDS)
def test_gradient_has_the_argument_structure(f, args, wrt, _):
    grads = srcad.grad(f, wrt=tuple(wrt))(*args)
    for g, i in zip(grads, wrt):
        same_structure(g, args[i])
        for path, leaf in leaves(args[i]):
            want = numerical_grad(f, args, i, path=path)
            np.testing.assert_allclose(api._at(g, path), want, rtol=1e-5, atol=1e-7,
                                       err_msg=f"{f.__name__}: argument {i} at {path}")


@pytest.mark.parametrize("f, args, wrt, ok", CASES, ids=IDS)
def test_against_autograd(f, args, wrt, ok):
    if not ok:
        pytest.skip("autograd does not take NamedTuples, dataclasses or objects, or item "
                    "assignment")
    autograd = pytest.importorskip("autograd")
    twin = autograd_twin(f)
    for i in wrt:
        want = autograd.grad(twin, i)(*args)
        got = srcad.grad(f, wrt=i)(*args)
        for (p, w), (q, g) in zip(leaves(want), leaves(got)):
            assert p == q
            np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12, err_msg=f"{p}")


@pytest.mark.parametrize("f, args, wrt, _", CASES, ids=IDS)
def test_jvp_and_vjp_take_and_give_the_structure(f, args, wrt, _):
    tangents = tuple(api._rebuilt(a, lambda p, leaf: np.ones_like(leaf) * 0.3
                                  if isinstance(leaf, np.ndarray) else 0.3)
                     if api.pipeline.is_container(a) or isinstance(a, (float, np.ndarray))
                     else a for a in args)
    tangents = tuple(t if k in wrt else api._zero(a) for k, (t, a) in
                     enumerate(zip(tangents, args)))
    out, out_dot = srcad.jvp(f, args, tangents)
    _, pullback = srcad.vjp(f, *args)
    grads = pullback(1.0)
    want = sum(np.sum(api._at(grads[i], p) * api._at(tangents[i], p))
               for i in wrt for p, _ in leaves(args[i]))
    assert out_dot == pytest.approx(want, rel=1e-9)
    assert out == pytest.approx(f(*args))
    for i in wrt:
        same_structure(grads[i], args[i])


SECOND = [c for c in CASES if c[0] in (cf.mlp_dict, cf.dict_loop_keys, cf.dict_items,
                                       cf.nested, cf.neural_net_loss, cf.tuple_unpack,
                                       cf.namedtuple_model, cf.dataclass_model,
                                       cf.object_model, cf.list_item_assign, cf.dict_local)]


@pytest.mark.parametrize("f, args, wrt, _", SECOND, ids=[c[0].__name__ for c in SECOND])
def test_hessian_against_finite_differences_of_the_gradient(f, args, wrt, _):
    """hessian (forward over reverse) blocks H[leaf][leaf'] vs central differences of the
    gradient (checked against finite differences above)."""
    i = wrt[0]
    H = srcad.hessian(f, wrt=i)(*args)
    g = srcad.grad(f, wrt=i)
    for p, leaf in leaves(args[i]):
        for q, leaf2 in leaves(args[i]):
            def gp(*a, p=p):
                return np.asarray(api._at(g(*a), p), dtype=float)
            want = numerical_grad(gp, args, i, path=q)
            block = api._at(api._at(H, p), q) if api.pipeline.is_container(args[i]) else H
            np.testing.assert_allclose(block, want, rtol=1e-4, atol=1e-6,
                                       err_msg=f"{f.__name__}: H{p}{q}")


def test_non_float_leaves_are_not_differentiated():
    d = {"w": 0.7, "n": 3, "act": "square", "flag": True}
    g = srcad.grad(cf.dict_with_config)(d, r(4))
    assert list(g) == list(d)
    assert g["n"] == 0.0 and g["flag"] == 0.0 and g["act"] is None
    assert isinstance(g["w"], float)
    m = cf.Model(r(3, 4), r(4), 1.5, "net")
    gm = srcad.grad(cf.dataclass_model)(m, X)
    assert type(gm) is cf.Model and gm.name is None and isinstance(gm.scale, float)


def test_dict_gradient_keeps_the_key_order():
    d = {"b1": r(4), "W2": r(4), "W1": r(3, 4)}          # not the order the function reads
    g = srcad.grad(cf.mlp_dict)(d, X)
    assert list(g) == ["b1", "W2", "W1"]


def test_object_gradient_is_an_object_of_its_class():
    net = cf.Net(r(3, 2), r(2))
    g = srcad.grad(cf.object_model)(net, X)
    assert type(g) is cf.Net and g.depth == 0.0
    np.testing.assert_allclose(g.W, numerical_grad(cf.object_model, (net, X), 0, path=("W",)),
                               rtol=1e-6, atol=1e-8)


def test_bound_method_and_property_of_a_constant_object():
    """Attributes and properties of a bound method's self (or a global) are constants,
    read when the derivative runs."""
    net = cf.Net(r(3, 2), r(2))
    x = r(4, 3)
    g = srcad.grad(net.loss)(x)
    np.testing.assert_allclose(g, numerical_grad(net.loss, (x,), 0), rtol=1e-6, atol=1e-8)
    y = r(3)
    assert srcad.grad(cf.object_property_read)(y) == pytest.approx(np.full(3, cf.NET.norm))
    cf.NET.W = cf.NET.W * 2.0                            # read live
    assert srcad.grad(cf.object_property_read)(y) == pytest.approx(np.full(3, cf.NET.norm))


def test_property_of_a_differentiated_object():
    """Was refused (NotImplementedError when it ran); the object's class is part of its
    kind now, so the property is a call of its getter."""
    net = cf.Net(r(3, 2), r(2))
    y = r(3)
    g = srcad.grad(cf.object_property)(net, y)
    np.testing.assert_allclose(g.W, 2 * net.W * np.sum(y))
    np.testing.assert_allclose(g.b, 0.0 * net.b)


def test_jacobians_of_a_dict_output():
    a = r(3)
    J = srcad.jacrev(cf.dict_return)(a)
    assert list(J) == ["x", "y"]
    np.testing.assert_allclose(J["x"], 2.0 * np.eye(3))
    np.testing.assert_allclose(J["y"], np.diag(np.cos(a)))
    Jf = srcad.jacfwd(cf.dict_return)(a)
    np.testing.assert_allclose(Jf["y"], np.diag(np.cos(a)))
    out, t = srcad.jvp(cf.dict_return, (a,), (np.ones(3),))
    np.testing.assert_allclose(t["y"], np.cos(a))


def test_tangent_of_the_wrong_structure_is_refused():
    with pytest.raises(srcad.SrcadError, match="keys"):
        srcad.jvp(cf.mlp_dict, (P_DICT, X), ({"W1": P_DICT["W1"]}, X))
    with pytest.raises(srcad.SrcadError, match="shape"):
        srcad.jvp(cf.mlp_dict, (P_DICT, X), ({**P_DICT, "b1": np.ones(5)}, X))


def test_check_grads_names_the_leaf():
    with pytest.raises(AssertionError, match=r"argument 0\['W1'\]"):
        srcad.testing._compare(np.ones(2), np.zeros(2), cf.mlp_dict, 0, "reverse", 1e-5,
                               1e-6, ("W1",))


def test_mlp_with_a_dict_of_parameters_trains_on_the_digits():
    table = np.loadtxt(DIGITS, delimiter=",", max_rows=400)   # shipped with the examples
    X, t = table[:, :-1] / 16.0, table[:, -1].astype(int)
    Y = np.eye(10)[t]
    g = np.random.default_rng(0)
    params = {"W1": g.standard_normal((64, 32)) / 8.0, "b1": np.zeros(32),
              "W2": g.standard_normal((32, 10)) / np.sqrt(32), "b2": np.zeros(10)}
    step = srcad.value_and_grad(cf.mlp_loss)
    first, grads = step(params, X, Y)
    for k in params:                                     # one leaf: a directional difference
        d = g.standard_normal(params[k].shape)
        h = 1e-6
        plus = cf.mlp_loss({**params, k: params[k] + h * d}, X, Y)
        minus = cf.mlp_loss({**params, k: params[k] - h * d}, X, Y)
        assert np.sum(grads[k] * d) == pytest.approx((plus - minus) / (2 * h), rel=1e-5)
    for _ in range(30):
        loss, grads = step(params, X, Y)
        params = {k: params[k] - 0.5 * grads[k] for k in params}
    assert loss < 0.5 * first


def test_autograd_neural_net_trains():
    g = np.random.default_rng(1)
    params = [(g.standard_normal((3, 8)) * 0.3, np.zeros(8)),
              (g.standard_normal((8, 2)) * 0.3, np.zeros(2))]
    x = g.standard_normal((20, 3))
    y = np.eye(2)[(x[:, 0] > 0).astype(int)]
    grad = srcad.grad(cf.neural_net_loss)
    first = cf.neural_net_loss(params, x, y)
    for _ in range(50):
        gs = grad(params, x, y)
        assert type(gs) is list and type(gs[0]) is tuple
        params = [(W - 0.02 * dW, b - 0.02 * db) for (W, b), (dW, db) in zip(params, gs)]
    assert cf.neural_net_loss(params, x, y) < first


@pytest.mark.parametrize("f, args", [
    (cf.refuses_param_item_assignment, ({"W": np.ones(2)}, 2.0)),
    (cf.refuses_item_augassign, (np.ones(2),)),
    (cf.refuses_attribute_assignment, (cf.Model(np.ones(2), np.ones(2)), 2.0)),
    (cf.refuses_post_init, (np.ones(2),)),
    (cf.refuses_array_attribute, (np.ones(2),)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_refused_at_build_time_with_the_line(f, args):
    import inspect
    lines, first = inspect.getsourcelines(f)
    line = first + next(k for k, t in enumerate(lines) if "# ERR" in t)
    for mode in ("reverse", "forward"):
        with pytest.raises(srcad.SrcadError) as info:
            if mode == "reverse":
                srcad.grad(f)(*args)
            else:
                srcad.jvp(f, args, tuple(api._zero(a) for a in args))
        assert info.value.lineno == line and f"container_funcs.py:{line}" in str(info.value)


def test_readme_container_example_is_the_example_file_and_its_code(tmp_path):
    """The README's container example is examples/containers.py's code, and the gradient
    source it shows is srcad.source of it (minus docstring and quoted-line comments)."""
    import os
    import runpy
    root = os.path.join(os.path.dirname(__file__), "..")
    readme = open(os.path.join(root, "README.md")).read()
    example = open(os.path.join(root, "examples", "containers.py")).read()
    section = readme[readme.index("## Containers and objects"):]
    code = section[section.index("```python\n") + 10:section.index("```\n", 10)]
    for block in ("def mlp(params, x):", "def net(layers, x):"):
        start = code.index(block)
        text = code[start:code.index("\n\n", start)]
        assert text in example, block
    shown_file = tmp_path / "readme_containers.py"
    shown_file.write_text(code)
    runpy.run_path(str(shown_file))                            # runs as shown
    mod = runpy.run_path(os.path.join(root, "examples", "containers.py"))
    src = srcad.source(mod["mlp"])
    body = [ln for ln in src[src.index("def mlp_grad"):].splitlines()
            if not ln.strip().startswith('"""') and not (ln.strip().startswith("# ") and
                                                          "[containers.py" in ln)]
    start = section.index("def mlp_grad(params, x, d_out=1.0):")
    shown = section[start:section.index("```", start)].strip().splitlines()
    assert [ln for ln in body if ln.strip()] == shown


def test_grad_of_a_function_calling_grad_of_a_dict_function():
    """Reverse over reverse, the inner gradient taken w.r.t. an array and w.r.t. a dict."""
    x, p = r(3), {"w": r(3), "c": 0.5}
    srcad.testing.check_grads(cf.grad_norm_wrt_x, p, x)
    g = srcad.grad(cf.grad_norm_wrt_params)(x, p)
    np.testing.assert_allclose(g, numerical_grad(cf.grad_norm_wrt_params, (x, p), 0),
                               rtol=1e-5, atol=1e-7)


class _P(NamedTuple):
    a: float
    b: np.ndarray


def replaced_in_a_loop(p):
    for i in range(3):
        p = p._replace(a=p.a * p.b)
    return p.a + np.sum(p.b)


def test_hessian_of_a_namedtuple_replaced_in_a_loop_with_a_size_one_output():
    """The output `p.a + np.sum(p.b)` has shape (1,) (p.b does): hessian crashed with an
    IndexError in srcad's unbroadcast; the blocks by field match finite differences of the
    gradient."""
    p = _P(0.7, np.array([0.9]))
    H = srcad.hessian(replaced_in_a_loop)(p)
    g = srcad.grad(replaced_in_a_loop)

    def flat_grad(v):
        q = g(_P(float(v[0]), np.array([v[1]])))
        return np.array([q.a, q.b[0]])
    v, h = np.array([0.7, 0.9]), 1e-6
    want = np.array([(flat_grad(v + h * e) - flat_grad(v - h * e)) / (2 * h) for e in np.eye(2)])
    got = np.array([[H.a.a, H.a.b[0]], [H.b.a[0], H.b.b[0, 0]]])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def _dict_items_second_order(x, y):
    d = {"a": x, "b": y * 2.0}
    d["c"] = x * 3.0                     # a key whose value has no derivative in y
    s = 0.0
    for k, v in d.items():
        s = s + np.sum(v * v)
    return s


def test_dict_items_at_reverse_over_reverse():
    # the adjoint of a dict leaves out a key with a zero adjoint: d.items()'s tangent
    # helper read it (KeyError 'c' in grad(grad) with respect to y)
    x, y = np.array([0.3, 0.5, 0.7]), np.array([0.2, 0.4])
    srcad.testing.check_grads(srcad.grad(_dict_items_second_order, wrt=1), x, y, wrt=1)
