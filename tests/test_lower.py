"""Lowering to SSA three-address form: `srcad.ssa(f)` and `srcad.lower.lower`."""
import ast
import collections
import inspect
import textwrap

import numpy as np
import pytest

import srcad
import srcad.frontend
import srcad.ir
import srcad.lower

from fixtures import control_funcs as cf
from fixtures import core_funcs as core
from fixtures.cases import CONTROL_CASES, CORE_CASES
from fixtures.catalog import ALL



def _fn(text):
    tree = ast.parse(text)
    assert len(tree.body) == 1 and isinstance(tree.body[0], ast.FunctionDef)
    return tree.body[0]


def _assigns(fn):
    return [n for n in ast.walk(fn) if isinstance(n, ast.Assign)]


def _target_names(node):
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]


def _is_atom(e):
    if isinstance(e, (ast.Name, ast.Constant)):
        return True
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub) and \
            isinstance(e.operand, ast.Constant):
        return True                                # a negative literal
    if isinstance(e, ast.Tuple):
        return all(_is_atom(x) for x in e.elts)    # a constant tuple such as axis=(0, 1)
    return False


def _is_dotted(e):
    while isinstance(e, ast.Attribute):
        e = e.value
    return isinstance(e, ast.Name)


def _index_is_atoms(s):
    if isinstance(s, ast.Slice):
        return all(p is None or _is_atom(p) for p in (s.lower, s.upper, s.step))
    if isinstance(s, ast.Tuple):
        return all(_index_is_atoms(x) for x in s.elts)
    return _is_atom(s)


def _one_operation(e):
    """True when `e` is an atom or one operation whose operands are all atoms."""
    if _is_atom(e):
        return True
    if isinstance(e, ast.BinOp):
        return _is_atom(e.left) and _is_atom(e.right)
    if isinstance(e, ast.UnaryOp):
        return _is_atom(e.operand)
    if isinstance(e, ast.Compare):
        return len(e.ops) == 1 and _is_atom(e.left) and _is_atom(e.comparators[0])
    if isinstance(e, ast.Call):
        return _is_dotted(e.func) and all(_is_atom(a) for a in e.args) and \
            all(_is_atom(k.value) for k in e.keywords)
    if isinstance(e, ast.Subscript):
        return _is_atom(e.value) and _index_is_atoms(e.slice)
    if isinstance(e, ast.Attribute):
        return _is_atom(e.value)
    if isinstance(e, ast.List) and len(e.elts) == 2 and isinstance(e.elts[0], ast.Starred):
        return _is_atom(e.elts[0].value) and _is_atom(e.elts[1])   # append: `[*xs, v]`
    if isinstance(e, (ast.Tuple, ast.List)):
        return all(_is_atom(x) for x in e.elts)
    return False


def _user_names(f):
    """Every name in `f`'s own source: parameters, locals, globals it reads."""
    tree = _fn(textwrap.dedent(inspect.getsource(f)))
    names = {a.arg for a in tree.args.args + tree.args.kwonlyargs}
    return names | {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


# ------------------------------------------------------------ ssa(f) on every fixture

@pytest.mark.parametrize("f", ALL, ids=[f.__name__ for f in ALL])
def test_ssa_is_valid_python(f):
    text = srcad.ssa(f)
    compile(text, "<ssa>", "exec")
    fn = _fn(text)
    assert fn.name == f.__name__
    assert [a.arg for a in fn.args.args] == list(inspect.signature(f).parameters)


@pytest.mark.parametrize("f", ALL, ids=[f.__name__ for f in ALL])
def test_ssa_one_operation_per_line(f):
    fn = _fn(srcad.ssa(f))
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign):
            assert len(node.targets) == 1
            assert _one_operation(node.value), ast.unparse(node)
        elif isinstance(node, ast.If):
            assert _is_atom(node.test), ast.unparse(node.test)
        elif isinstance(node, ast.For):
            assert isinstance(node.target, ast.Name) and _is_atom(node.iter), ast.unparse(node.iter)
        elif isinstance(node, ast.While):
            assert isinstance(node.test, ast.Constant) and node.test.value is True
        elif isinstance(node, ast.Return):
            assert node.value is None or _is_atom(node.value)
        elif isinstance(node, ast.Expr):
            assert _one_operation(node.value), ast.unparse(node)
        elif isinstance(node, ast.stmt):
            assert isinstance(node, (ast.FunctionDef, ast.Break, ast.Continue, ast.Pass)), \
                ast.unparse(node)


def _lowered(f):
    return srcad.lower.lower(srcad.frontend.parse(f))


@pytest.mark.parametrize("f", ALL, ids=[f.__name__ for f in ALL])
def test_ssa_temporaries_are_recorded_numbered_and_assigned_once(f):
    # the lowering's own record says which names are its temporaries, never their spelling
    fn = _lowered(f)
    user = _user_names(f)
    counts = collections.Counter(t for s in srcad.ir.walk(fn.body) for t in srcad.ir.targets(s))
    for name, k in counts.items():
        if name in fn.temps:
            assert k == 1 and name not in user, name
        elif name in fn.merge_names:
            assert name not in user, name                 # result, returned, phi<k>
        else:
            assert fn.versions.get(name, name) in user, name
    assert fn.temps <= {f"v{k}" for k in range(len(fn.temps) + len(user))}
    if fn.temps:
        assert "v0" in fn.temps


def test_ssa_of_worked_example():
    fn = _fn(srcad.ssa(core.ex1))
    body = fn.body
    assert [type(s) for s in body] == [ast.Assign] * 3 + [ast.Return]
    ops = [type(s.value.op) for s in body[:3]]
    assert ops == [ast.Mult, ast.Div, ast.Add]
    names = [s.targets[0].id for s in body[:3]]
    temps = _lowered(core.ex1).temps
    assert names[0] in temps and names[1] in temps and names[0] != names[1]
    assert names[2] == "y"                                   # the user's name is kept
    assert ast.unparse(body[2].value) == f"{names[0]} + {names[1]}"
    assert ast.unparse(body[3]) == "return y"


def test_ssa_temporaries_count_from_v0_in_order():
    fn = _fn(srcad.ssa(core.loop_free_scalar))
    record = _lowered(core.loop_free_scalar).temps
    temps = [s.targets[0].id for s in fn.body if isinstance(s, ast.Assign)
             and s.targets[0].id in record]
    assert temps == [f"v{i}" for i in range(len(temps))]
    assert len(temps) >= 5


def test_ssa_reassignment_gets_new_versions():
    fn = _fn(srcad.ssa(core.reassign))
    targets = [s.targets[0].id for s in fn.body if isinstance(s, ast.Assign)]
    assert len(targets) == len(set(targets)), targets    # each name assigned once
    versions = _lowered(core.reassign).versions
    ys = [t for t in targets if versions.get(t, t) == "y"]
    assert len(ys) == 3 and "y" in ys
    fn = _fn(srcad.ssa(core.aug_assign))
    targets = [s.targets[0].id for s in fn.body if isinstance(s, ast.Assign)]
    assert len(targets) == len(set(targets)), targets


def test_ssa_keeps_control_flow_structured():
    assert any(isinstance(n, ast.If) for n in ast.walk(_fn(srcad.ssa(cf.branch))))
    loop = _fn(srcad.ssa(cf.range_stop))
    assert any(isinstance(n, ast.For) for n in ast.walk(loop))
    assert any(isinstance(n, ast.While) for n in ast.walk(_fn(srcad.ssa(cf.halve))))
    # the loop-carried user variable keeps its name inside the loop
    assert "s" in {n.id for n in ast.walk(loop) if isinstance(n, ast.Name)}


def test_ssa_is_deterministic():
    for f in (core.ex1, cf.rnn, cf.nested_break, cf.return_in_loop):
        assert srcad.ssa(f) == srcad.ssa(f)


def _namespace(f):
    ns = dict(f.__globals__)
    ns["items_of"] = srcad.runtime.items_of      # what a for loop iterates (a dict's keys)
    ns.update({k: c.cell_contents for k, c in zip(f.__code__.co_freevars, f.__closure__ or ())})
    return ns


EXEC_CASES = [(f, a) for f, a in CORE_CASES + CONTROL_CASES]


@pytest.mark.parametrize("f, args", EXEC_CASES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(EXEC_CASES)])
def test_ssa_computes_the_function(f, args):
    """The printed SSA, run in the function's own module namespace, computes f."""
    ns = _namespace(f)
    exec(compile(srcad.ssa(f), "<ssa>", "exec"), ns)
    got = ns[f.__name__](*args)
    np.testing.assert_array_equal(got, f(*args))


# ------------------------------------------------------------ the lower pass itself

def test_lower_returns_named_ir_function():
    fn = srcad.lower.lower(srcad.frontend.parse(core.ex1))
    assert isinstance(fn, srcad.ir.Function)
    assert fn.name == "ex1" and fn.params == ["x0", "x1"]
    assert fn.filename == core.__file__
    assert isinstance(fn.body[-1], srcad.ir.Return)
    assigns = [s for s in fn.body if isinstance(s, srcad.ir.Assign)]
    assert len(assigns) == 3
    assert all(isinstance(s.value, srcad.ir.Call) for s in assigns)
    lines = {s.line for s in assigns}
    assert lines == {inspect.getsourcelines(core.ex1)[1] + 1}    # the user's line numbers


def test_lower_for_loop_over_range_object():
    fn = srcad.lower.lower(srcad.frontend.parse(cf.iter_rows))
    loops = [s for s in srcad.ir.walk(fn.body) if isinstance(s, srcad.ir.For)]
    assert len(loops) == 1
    # `for row in A` iterates over a range object and reads A[i]
    assert isinstance(loops[0].iter, srcad.ir.Name)


def test_lower_while_becomes_while_true_with_break():
    fn = srcad.lower.lower(srcad.frontend.parse(cf.halve))
    loops = [s for s in srcad.ir.walk(fn.body) if isinstance(s, srcad.ir.While)]
    assert len(loops) == 1
    assert any(isinstance(s, srcad.ir.Break) for s in srcad.ir.walk(loops[0].body))


def test_lower_early_return_has_single_exit():
    for f in (cf.early_return, cf.return_in_loop, cf.return_in_while):
        fn = srcad.lower.lower(srcad.frontend.parse(f))
        returns = [s for s in srcad.ir.walk(fn.body) if isinstance(s, srcad.ir.Return)]
        assert len(returns) == 1 and fn.body[-1] is returns[0], f.__name__


def test_ssa_keeps_the_signature_defaults():
    """The printed SSA can be called the way f is: parameters keep their defaults."""
    ns = _namespace(core.with_defaults)
    exec(compile(srcad.ssa(core.with_defaults), "<ssa>", "exec"), ns)
    assert ns["with_defaults"](1.5) == core.with_defaults(1.5)
    assert ns["with_defaults"](1.5, scale=2.0) == core.with_defaults(1.5, scale=2.0)


# ------------------------------------------------ objects a global, closure or self holds

class _Linear:
    def __init__(self, n_in, n_out, rs):
        self.W = rs.randn(n_in, n_out) * 0.3
        self.b = rs.randn(n_out) * 0.1

    def __call__(self, x):
        return x @ self.W + self.b

    def apply(self, x):
        return np.tanh(self(x))


class _Scale:
    def __init__(self, s):
        self.s = s

    def __call__(self, x):
        return x * self.s

    def apply(self, x):
        return np.sin(self(x))


class _MLP:
    def __init__(self, sizes, rs):
        self.layers = [_Linear(a, b, rs) for a, b in zip(sizes[:-1], sizes[1:])]

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = np.tanh(layer(x))
        return self.layers[-1](x)


class _TupleMLP(_MLP):
    def __init__(self, sizes, rs):
        self.layers = tuple(_Linear(a, b, rs) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = layer.apply(x)
        return self.layers[-1](x)


class _StaleMLP(_MLP):
    # its own forward: a hessian of a method with a loop bound to a second object of the
    # class after one bound to another is refused ('forward_bwd() changes its argument
    # residuals in place', before this change too)
    def forward(self, x):
        for layer in self.layers[:-1]:
            x = np.tanh(layer(x))
        return self.layers[-1](x)


_MODEL = _MLP([3, 4, 2], np.random.RandomState(0))
_TMODEL = _TupleMLP([3, 4, 4, 2], np.random.RandomState(1))
_LAYERS = [_Linear(3, 4, np.random.RandomState(2)), _Scale(np.array([0.5, -1.0, 2.0, 1.5]))]
_DLAYERS = {"a": _Linear(3, 4, np.random.RandomState(3)), "b": _Linear(4, 2, np.random.RandomState(4))}
_SAME = [_Scale(np.array([1.5, -0.5, 2.0])), _Scale(np.array([0.3, 0.7, -1.2]))]
_XO = np.random.RandomState(5).randn(5, 3)


def obj_global_model(X):
    return np.sum(_MODEL.forward(X) ** 2)


def obj_tuple_attribute(X):
    return np.sum(_TMODEL.forward(X) ** 2)


def obj_global_list(X):
    for layer in _LAYERS:             # two classes: unrolled
        X = layer.apply(X)
    return np.sum(X ** 2)


def obj_global_dict(X):
    return np.sum(_DLAYERS["b"](_DLAYERS["a"].apply(X)) ** 2)


def _run_layers(layers, X):
    for layer in layers:
        X = layer.apply(X)
    return X


def obj_list_passed_on(X):
    return np.sum(_run_layers(_LAYERS, X) ** 2)


def obj_slice_any_length(X, n):
    for layer in _SAME[:n]:           # alike: a loop, whatever n is
        X = layer(X)
    return np.sum(X ** 2)


def _model_loss(model, X):
    return np.sum(model.forward(X) ** 2)


def _check_all_orders(f, args, i=0):
    from conftest import fwd_grad, second_order
    from srcad.testing import numerical_grad
    fd = numerical_grad(f, list(args), i)
    np.testing.assert_allclose(srcad.grad(f, wrt=i)(*args), fd, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fwd_grad(f, args, i), fd, rtol=1e-6, atol=1e-9)
    second_order(f, args, i)


@pytest.mark.parametrize("f", [obj_global_model, obj_tuple_attribute, obj_global_list,
                               obj_global_dict, obj_list_passed_on])
def test_objects_a_global_holds_in_a_list_tuple_or_dict(f):
    """`for layer in self.layers[:-1]: x = layer(x)`, `self.layers[-1](x)`, `layer.apply(x)`
    over a global's list (refused before: 'calling the local value layer', 'no derivative
    rule for the method .apply()'): both modes and second order against finite differences."""
    _check_all_orders(f, (_XO,))


def test_a_model_in_a_lambda_and_a_bound_method_against_autograd():
    ag = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    Ws = [(l.W, l.b) for l in _MODEL.layers]

    def twin(X):
        for W, b in Ws[:-1]:
            X = anp.tanh(X @ W + b)
        return anp.sum((X @ Ws[-1][0] + Ws[-1][1]) ** 2)
    want = ag.grad(twin)(_XO)
    np.testing.assert_allclose(srcad.grad(lambda X: np.sum(_MODEL.forward(X) ** 2))(_XO), want,
                               rtol=1e-10)
    np.testing.assert_allclose(srcad.jacrev(_MODEL.forward)(_XO[0]),
                               ag.jacobian(lambda x: _ag_forward(anp, Ws, x))(_XO[0]), rtol=1e-10)
    np.testing.assert_allclose(srcad.hessian(obj_global_model)(_XO), ag.hessian(twin)(_XO),
                               rtol=1e-8, atol=1e-12)


def _ag_forward(anp, Ws, x):
    for W, b in Ws[:-1]:
        x = anp.tanh(x @ W + b)
    return x @ Ws[-1][0] + Ws[-1][1]


def test_a_model_argument_with_a_list_of_layers_sliced():
    """self.layers[:-1] of an argument's list kept its items' class (refused before)."""
    g = srcad.grad(_model_loss)(_TMODEL, _XO)
    assert type(g) is _TupleMLP and type(g.layers) is tuple and type(g.layers[0]) is _Linear
    srcad.testing.check_grads(_model_loss, _TMODEL, _XO)
    from conftest import second_order
    from srcad.testing import numerical_grad
    fd = numerical_grad(_model_loss, [_TMODEL, _XO], 1)
    np.testing.assert_allclose(srcad.jacfwd(_model_loss, wrt=1)(_TMODEL, _XO), fd, rtol=1e-6)
    second_order(_model_loss, (_TMODEL, _XO), 1)


def test_a_slice_of_any_length_of_objects_alike():
    for n in (0, 1, 2):
        _check_all_orders(obj_slice_any_length, (_XO, n))


def test_a_global_list_of_objects_changed_rebuilds_never_stale():
    """The derivative is never reused when the list's length or an item's class changes;
    the objects' arrays are read when it runs."""
    from srcad.testing import numerical_grad
    model = _StaleMLP([3, 4, 2], np.random.RandomState(7))
    f = lambda X: np.sum(model.forward(X) ** 2)   # noqa: E731
    d, h = srcad.grad(f), srcad.hessian(f)

    def agree():
        fd = numerical_grad(f, [_XO], 0)
        np.testing.assert_allclose(d(_XO), fd, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(h(_XO), numerical_grad(d, [_XO], 0), rtol=1e-5, atol=1e-6)
    agree()
    model.layers.insert(1, _Linear(4, 4, np.random.RandomState(8)))      # grown
    agree()
    model.layers[0] = _Scale(np.array([1.0, -2.0, 0.5]))                  # another class
    model.layers.insert(1, _Linear(3, 4, np.random.RandomState(9)))
    agree()
    model.layers[0].s = np.array([0.3, 2.0, -1.0])                        # read live
    agree()
    model.layers.pop(0)                                                   # shrunk
    agree()
    model.layers = model.layers[:1] + [_Scale(np.ones(4))] + model.layers[1:]   # rebound
    agree()


def _changed_inside(X):
    _GROWN.append(_Scale(np.ones(3)))
    for layer in _GROWN:                       # ERR
        X = layer(X)
    return np.sum(X ** 2)


_GROWN = [_Linear(3, 3, np.random.RandomState(0)), _Scale(np.ones(3))]


def _index_mixed(X):
    for i in range(len(_LAYERS)):
        X = _LAYERS[i](X)                      # ERR
    return np.sum(X)


def _break_mixed(X):
    for layer in _LAYERS:
        X = layer(X)
        if np.sum(X) > 100.0:
            break                              # ERR
    return np.sum(X)


def _zip_mixed(X):
    for layer, k in zip(_LAYERS, (1.0, 2.0)):
        X = k * layer(X)                       # ERR
    return np.sum(X)


_HERE = open(__file__).read().splitlines()


@pytest.mark.parametrize("f, match", [
    (_index_mixed, "calling the local value _LAYERS\\[i\\]"),
    (_break_mixed, "break or continue in a loop over a list of objects of different classes"),
    (_zip_mixed, "calling the local value layer")])
def test_what_a_global_list_of_objects_cannot_do_is_refused_at_the_users_line(f, match):
    with pytest.raises(srcad.SrcadError, match=match) as info:
        srcad.grad(f)(_XO)
    assert "# ERR" in _HERE[info.value.lineno - 1]


def test_a_global_list_changed_while_the_derivative_runs_raises():
    """The list grown inside the function: srcad resolved its items' methods when it built
    the derivative, so it checks them where it reads the list (held_as) and raises."""
    with pytest.raises(srcad.SrcadError, match="changed while the derivative ran") as info:
        srcad.grad(_changed_inside)(_XO)
    assert "# ERR" in _HERE[info.value.lineno - 1]
    del _GROWN[2:]


# autograd's convnet example, as its authors wrote it (plain NumPy, a dense stack): layer
# objects of several classes in a list a closure holds, forward_pass inherited from
# full_layer, nonlinearity defined by each subclass, weights parsed from one vector by a
# parser object keyed by the layer objects
def _logsumexp(X, axis, keepdims=False):
    m = np.max(X, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(X - m), axis=axis, keepdims=keepdims)) + m


class _WeightsParser(object):
    def __init__(self):
        self.idxs_and_shapes = {}
        self.N = 0

    def add_weights(self, name, shape):
        start = self.N
        self.N += np.prod(shape)
        self.idxs_and_shapes[name] = (slice(start, self.N), shape)

    def get(self, vect, name):
        idxs, shape = self.idxs_and_shapes[name]
        return np.reshape(vect[idxs], shape)


class _full_layer(object):
    def __init__(self, size):
        self.size = size

    def forward_pass(self, inputs, param_vector):
        params = self.parser.get(param_vector, 'params')
        biases = self.parser.get(param_vector, 'biases')
        if inputs.ndim > 2:
            inputs = inputs.reshape((inputs.shape[0], np.prod(inputs.shape[1:])))
        return self.nonlinearity(np.dot(inputs[:, :], params) + biases)

    def build_weights_dict(self, input_shape):
        input_size = np.prod(input_shape, dtype=int)
        self.parser = _WeightsParser()
        self.parser.add_weights('params', (input_size, self.size))
        self.parser.add_weights('biases', (self.size,))
        return self.parser.N, (self.size,)


class _tanh_layer(_full_layer):
    def nonlinearity(self, x):
        return np.tanh(x)


class _softmax_layer(_full_layer):
    def nonlinearity(self, x):
        return x - _logsumexp(x, axis=1, keepdims=True)


class _halve_layer(object):
    def build_weights_dict(self, input_shape):
        return 0, input_shape

    def forward_pass(self, inputs, param_vector):
        return 0.5 * inputs


def _make_nn_funs(input_shape, layer_specs):
    parser = _WeightsParser()
    cur_shape = input_shape
    for layer in layer_specs:
        N_weights, cur_shape = layer.build_weights_dict(cur_shape)
        parser.add_weights(layer, (N_weights,))

    def predictions(W_vect, inputs):
        cur_units = inputs
        for layer in layer_specs:
            cur_weights = parser.get(W_vect, layer)
            cur_units = layer.forward_pass(cur_units, cur_weights)
        return cur_units

    def loss(W_vect, X, T):
        return -np.sum(predictions(W_vect, X) * T)
    return parser.N, predictions, loss


def test_autograds_convnet_layers_of_several_classes_calling_an_inherited_method():
    """`for layer in layer_specs: cur = layer.forward_pass(cur, w)` over a closure's list of
    layers of several classes (refused before: 'no derivative rule for the method
    .forward_pass()'): unrolled, each call its class's; both modes, second order."""
    specs = [_tanh_layer(5), _halve_layer(), _tanh_layer(4), _softmax_layer(3)]
    N, _, loss = _make_nn_funs((2, 3), specs)
    rs = np.random.RandomState(0)
    args = (rs.randn(N) * 0.3, rs.randn(7, 2, 3), np.eye(3)[rs.randint(0, 3, 7)])
    _check_all_orders(loss, args)
    text = srcad.source(loss, args=args)
    assert "forward_pass" in text and "nonlinearity" in text
    # the same code closing over other stacks (other orders of classes, another length):
    # each its own derivative, never another's
    from srcad.testing import numerical_grad
    for specs in ([_halve_layer(), _softmax_layer(4), _tanh_layer(5), _tanh_layer(3)],
                  [_tanh_layer(5), _tanh_layer(4), _softmax_layer(3)]):
        N, _, loss = _make_nn_funs((2, 3), specs)
        args = (rs.randn(N) * 0.3,) + args[1:]
        fd = numerical_grad(loss, list(args), 0)
        np.testing.assert_allclose(srcad.grad(loss)(*args), fd, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(srcad.jacfwd(loss)(*args), fd, rtol=1e-6, atol=1e-9)


def _two_nets(X):
    return np.sum(_NET_A.forward(X) ** 2) + np.sum(_NET_B.forward(X) ** 2)


class _Net:
    def __init__(self, layers):
        self.layers = layers

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


_NET_A = _Net([_Scale(np.array([1.0, 2.0, 3.0])), _Linear(3, 3, np.random.RandomState(1))])
_NET_B = _Net([_Linear(3, 3, np.random.RandomState(2)), _Scale(np.array([0.5, 1.5, -1.0]))])


def test_two_global_objects_of_one_class_holding_other_classes():
    """A.forward and B.forward (one method) over lists of other classes in other orders:
    each bound method its own unrolled derivative."""
    _check_all_orders(_two_nets, (_XO,))
