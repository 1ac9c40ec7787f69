"""Table-driven tests of the derivative rules: every rule in `srcad.rules.all_rules()`
has samples (tests/rules/fixtures_numpy.py, and fixtures_arrays.py for the array-function
table), and every sample's derivatives agree with central finite differences in both
modes, with autograd where installed, and keep float32.
"""
import types

import fixtures_arrays
import fixtures_numpy
import numpy as np
import pytest

import srcad
from srcad import ir, lower, pipeline, rules
from srcad.rules import Rule

MODULES = [fixtures_numpy, fixtures_arrays]       # the sample modules, each with SAMPLES & co.
SAMPLES = [(f, argsets) for m in MODULES for f, argsets in m.SAMPLES]
MODULE_OF = {f.__name__: m for m in MODULES for f, _ in m.SAMPLES}
CASES = [(f, args) for f, argsets in SAMPLES for args in argsets]
IDS = [f"{f.__name__}-{i}" for f, argsets in SAMPLES for i in range(len(argsets))]
UNREACHABLE = {k: v for m in MODULES for k, v in m.UNREACHABLE.items()}
# samples whose primal computes in float64 from float32 inputs (np.interp, SciPy's stats):
# their derivatives keep float32 all the same (sample name -> the library that upcasts)
UPCASTS = {k: v for m in MODULES for k, v in getattr(m, "UPCASTS", {}).items()}


def rules_used(f) -> set:
    """The ids of the rules `f`'s lowered form calls."""
    fn = lower.lower(pipeline.parse(f, pipeline.static_kinds(f)))
    return {id(s.value.prim) for s in ir.walk(fn.body)
            if isinstance(s, ir.Assign) and isinstance(s.value, ir.Call)
            and isinstance(s.value.prim, Rule)}


def table_rules() -> list:
    """The rules of srcad's tables (user rules from srcad.custom_rule left out)."""
    custom = {id(f) for f in rules.USER_RULES.values()}
    def keys(r):
        return r.key if isinstance(r.key, list) else [r.key]
    return [r for r in rules.all_rules() if not any(id(k) in custom for k in keys(r))
            and r not in rules.LAZY_RULES]        # SciPy's: tests/rules/test_scipy_rules.py


def describe(rule) -> str:
    if rule.name:
        return rule.name
    key = rule.key[0] if isinstance(rule.key, list) and rule.key else rule.key
    return getattr(key, "__name__", repr(key))


def test_every_rule_has_a_sample():
    covered = set()
    for f, _ in SAMPLES:
        covered |= rules_used(f)
    missing = sorted(describe(r) for r in table_rules()
                     if id(r) not in covered and describe(r) not in UNREACHABLE)
    assert not missing, ("rules without a sample in tests/rules/fixtures_numpy.py or "
                         "fixtures_arrays.py: " + ", ".join(missing))


def test_helper_rules_declare_every_parameter():
    """srcad's own runtime helpers (what generated code calls, differentiated again at second
    order) say of every parameter what it is: differentiated, read for its shape
    (shape_args) or without derivative (zero_in: an axis, an index, piecewise constant
    weights, a saved value whose dependence the other templates carry). The check that
    refuses a varied value passed where a rule has no derivative runs on srcad's own code
    too (it exempted it), so an undeclared parameter there would be refused, or, unchecked,
    dropped: a wrong second derivative."""
    pytest.importorskip("scipy")
    rules.load_scipy()
    missing = []
    for r in rules.all_rules():
        keys = r.key if isinstance(r.key, list) else [r.key]
        if not r.differentiable or isinstance(r, rules.FunctionRule) or not any(
                str(getattr(k, "__module__", "")).startswith("srcad.") for k in keys):
            continue
        declared = set(r.diff_params) | set(r.zero_in) | set(r.shape_args)
        rest = [p for p, _ in r.params if p not in declared]
        if rest:
            missing.append(f"{r.label}: {', '.join(rest)}")
    assert not missing, "; ".join(missing)


def test_samples_have_distinct_names():
    names = [f.__name__ for f, _ in SAMPLES]
    assert len(names) == len(set(names))


def _known(request, f, test):
    tests, why = MODULE_OF[f.__name__].KNOWN.get(f.__name__, ((), None))
    if test in tests:
        request.applymarker(pytest.mark.xfail(reason=why, strict=True))


def _float_positions(args) -> list:
    return [i for i, a in enumerate(args) if isinstance(a, float) or
            (isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating))]


# ------------------------------------------------------------ finite differences
@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("f, args", CASES, ids=IDS)
def test_check_grads(f, args, mode, request):
    _known(request, f, mode)
    with np.errstate(all="ignore"):
        srcad.testing.check_grads(f, *args, modes=(mode,))
        if mode == "forward":                  # jacfwd broadcasts tangents: check their shape
            kinds = tuple(map(pipeline.kind_of, args))
            for i in _float_positions(args):
                t = 1.0 if isinstance(args[i], float) else np.ones_like(args[i])
                out, out_dot = pipeline.get(f, "forward", (i,), kinds).func(*args, t)
                assert np.shape(out_dot) == np.shape(out), f"tangent along argument {i}"


# ------------------------------------------------------------ autograd
_TWIN = {}


def autograd_twin(f):
    """`f` from a copy of its fixture module executed under autograd.numpy."""
    pytest.importorskip("autograd")
    fx = MODULE_OF[f.__name__]
    if fx not in _TWIN:
        import inspect
        src = inspect.getsource(fx)
        assert "import numpy as np" in src
        module = types.ModuleType(fx.__name__ + "_autograd")
        module.__file__ = fx.__file__
        exec(compile(src.replace("import numpy as np", "import autograd.numpy as np"),
                     fx.__file__, "exec"), module.__dict__)
        _TWIN[fx] = module
    return getattr(_TWIN[fx], f.__name__)


@pytest.mark.parametrize("f, args", CASES, ids=IDS)
def test_against_autograd(f, args, request):
    lacking = MODULE_OF[f.__name__].AUTOGRAD_LACKS
    why = lacking.get(f.__name__) or lacking.get(request.node.callspec.id)
    if why:
        pytest.skip(f"autograd: {why}")
    _known(request, f, "autograd")
    autograd = pytest.importorskip("autograd")
    twin = autograd_twin(f)
    for i in _float_positions(args):
        with np.errstate(all="ignore"):
            want = np.asarray(autograd.jacobian(twin, i)(*args), dtype=np.float64)
            got = np.asarray(srcad.jacrev(f, wrt=i)(*args), dtype=np.float64)
        np.testing.assert_allclose(got, want.reshape(got.shape), rtol=1e-6, atol=1e-9,
                                   err_msg=f"{f.__name__}: argument {i}")


# ------------------------------------------------------------ float32 stays float32
def _fresh(f):
    """A new function object for `f` (srcad caches derivatives per function object)."""
    return types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__,
                              f.__closure__)


def _float32(a):
    return a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype == np.float64 else a


@pytest.mark.parametrize("f, args", CASES, ids=IDS)
def test_float32(f, args, request, monkeypatch):
    """With float32 inputs and a float32 result, tangents and (unconverted) adjoints are
    float32 and agree with the float64 derivatives; so they are where the library computes
    the value in float64 from float32 inputs (UPCASTS: np.interp), with a float32 cotangent."""
    args32 = tuple(map(_float32, args))
    positions = [i for i in _float_positions(args32) if isinstance(args32[i], np.ndarray)]
    with np.errstate(all="ignore"):
        out = f(*args32)
    upcast = f.__name__ in UPCASTS
    if not positions or np.result_type(out) != np.float32 and not upcast:
        pytest.skip("no float32 array argument, or the function itself leaves float32")
    _known(request, f, "float32")
    kinds = tuple(map(pipeline.kind_of, args32))
    raw = []
    real_grad_like = srcad.runtime.grad_like

    def recording_grad_like(g, x):
        raw.append(g)
        return real_grad_like(g, x)
    monkeypatch.setattr(srcad.runtime, "grad_like", recording_grad_like)
    fresh = _fresh(f)
    for i in positions:
        x = args32[i]
        t = np.ones_like(x)
        with np.errstate(all="ignore"):
            _, out_dot = pipeline.get(fresh, "forward", (i,), kinds).func(*args32, t)
            _, out_dot64 = pipeline.get(f, "forward", (i,), tuple(map(pipeline.kind_of, args))
                                        ).func(*args, t.astype(np.float64))
        assert np.result_type(out_dot) == np.float32, f"tangent along argument {i}"
        np.testing.assert_allclose(out_dot, out_dot64, rtol=2e-3, atol=2e-3)
        raw.clear()
        with np.errstate(all="ignore"):
            grad = pipeline.get(fresh, "reverse", (i,), kinds).func(
                *args32, np.ones_like(np.asarray(out), dtype=np.float32) if np.ndim(out) else
                np.float32(1.0))
        assert np.result_type(grad) == np.float32
        for g in raw:
            if isinstance(g, (np.ndarray, np.generic)):
                assert np.result_type(g) == np.float32, f"adjoint of argument {i}"
