"""The handbook of scipy.integrate: odeint(func, y0, t, args=()) with the user's own
dynamics `func(y, t, *args)` (a global function, a nested def or lambda, a partial),
differentiated in y0, t, the float items of args and what func captures (a closure's outer
variables, a partial's arguments). The call is lowered (`Odeint.lower_call`) to one of
`odeint_call(dyn, y0, t, args, captured, ...)`, `dyn` the dynamics as srcad knows it
(runtime_odeint.Dynamics). Reverse mode is the adjoint method, as HIPS autograd's: y
solved backwards from each time to the one before with its adjoint and the parameters',
one VJP of func per step (srcad's reverse derivative of it); forward mode solves the
sensitivity equations with y, one JVP of func per step. Both solves are odeint's, with the
call's rtol, atol, mxstep, hmax, h0, hmin and tcrit; tfirst=True is taken. The derivatives
are those of the exact solution, to the solver's tolerance (not of odeint's own steps).
Dfun, full_output and the other options are refused at the user's line. Second derivatives
are forward mode over either derivative (srcad.hessian is forward over reverse) or reverse
mode over the adjoint (a grad of a grad): the augmented systems odeint_vjp and odeint_jvp
solve are written as functions srcad reads, so their tangents are odeint's tangents again
(runtime_odeint.odeint_vjp_jvp, odeint_jvp_jvp), over srcad's forward derivative of the
dynamics' VJP or JVP, and the adjoint's adjoint is odeint's adjoint again
(runtime_odeint.odeint_vjp_vjp), over srcad's reverse derivative of the dynamics' VJP.
Reverse mode over odeint's tangent (a grad of a function calling srcad.jvp) is refused at
the odeint call's line.
"""
import dataclasses

import scipy.integrate

from .. import funcs, ir, runtime_odeint
from ..errors import UnsupportedSyntaxError
from . import _NAMES, _REQUIRED, _TABLE, ANY, FunctionRule, add_lazy_names, _parse_params, defrule

add_lazy_names(runtime_odeint)

_OPTS = "rtol=None, atol=None, mxstep=0, hmax=0.0, h0=0.0, hmin=0.0, tcrit=None"
_OPT_NAMES = [p for p, _ in _parse_params(_OPTS)]
_PASS = ", ".join(_OPT_NAMES)

_DIFF = ["y0", "t", "args", "captured"]


def _jvp(dots) -> str:
    return f"odeint_jvp(dyn, out, y0, t, args, captured, {', '.join(dots)}, {_PASS})"


ODEINT_CALL = defrule(
    runtime_odeint.odeint_call, "dyn, y0, t, args, captured, " + _OPTS, name="odeint_call",
    kind=ANY, jvp_shared=_jvp([f"{q}_dot" for q in _DIFF]),
    jvp={p: _jvp([f"{q}_dot" if q == p else "0.0" for q in _DIFF]) for p in _DIFF},
    vjp_shared=f"odeint_vjp(out_bar, out, dyn, y0, t, args, captured, {_PASS})",
    vjp={"y0": "SHARED[0]", "t": "SHARED[1]", "args": "SHARED[2]", "captured": "SHARED[3]"},
    zero_in="dyn, " + _PASS)       # the function, and the solver's options


class _Refusal:
    """The error of reverse mode over odeint's tangent, at the odeint call's own line."""

    def __init__(self, site):
        self.site = site

    def __call__(self):
        return UnsupportedSyntaxError(
            "scipy.integrate.odeint's second derivatives are built in forward mode over its "
            "derivative (srcad.hessian, a jacfwd or jvp of srcad.grad or srcad.jvp) or in "
            "reverse mode over its adjoint (a grad of a grad); srcad builds no reverse "
            "derivative of odeint's tangent (a grad of srcad.jvp)",
            *self.site)


_VJP_DIFF = ["g", "sol", "y0", "t", "args", "captured"]
_JVP_DIFF = ["sol", "y0", "t", "args", "captured", "dy0", "dt", "dargs", "dcaptured"]


def _vjp_jvp(dots) -> str:
    return f"odeint_vjp_jvp(g, sol, dyn, y0, t, args, captured, {', '.join(dots)}, {_PASS})"


def _jvp_jvp(dots) -> str:
    return (f"odeint_jvp_jvp(dyn, sol, y0, t, args, captured, dy0, dt, dargs, dcaptured, "
            f"{', '.join(dots)}, {_PASS})")


# odeint_vjp and odeint_jvp, which odeint's derivatives call: their tangents are forward
# mode's second derivatives (runtime_odeint.odeint_vjp_jvp, odeint_jvp_jvp), odeint_vjp's
# adjoints reverse mode's (runtime_odeint.odeint_vjp_vjp); odeint_vjp reads y0 for its
# shape only (its tangent is passed on and not read, its adjoint is zero). The parameters are
# named apart from the templates' `out` (the derivative's result) and `<p>_dot` (p's
# tangent): odeint_jvp's tangent arguments are dy0, dt, dargs, dcaptured here.
_VJP_RULE = defrule(
    runtime_odeint.odeint_vjp, "g, sol, dyn, y0, t, args, captured, " + _OPTS,
    name="odeint_vjp", kind=ANY,
    jvp_shared=_vjp_jvp([f"{q}_dot" for q in _VJP_DIFF]),
    jvp={p: _vjp_jvp([f"{q}_dot" if q == p else "0.0" for q in _VJP_DIFF]) for p in _VJP_DIFF},
    vjp_shared=f"odeint_vjp_vjp(out_bar, g, sol, dyn, y0, t, args, captured, {_PASS})",
    vjp={p: f"SHARED[{k}]" for k, p in enumerate(_VJP_DIFF)}, zero_in="dyn, " + _PASS)
_JVP_RULE = defrule(
    runtime_odeint.odeint_jvp, "dyn, sol, y0, t, args, captured, dy0, dt, dargs, dcaptured, "
    + _OPTS, name="odeint_jvp", kind=ANY,
    jvp_shared=_jvp_jvp([f"{q}_dot" for q in _JVP_DIFF]),
    jvp={p: _jvp_jvp([f"{q}_dot" if q == p else "0.0" for q in _JVP_DIFF]) for p in _JVP_DIFF},
    zero_in="dyn, " + _PASS)


class OdeintDerivative(FunctionRule):
    """odeint_vjp and odeint_jvp met where srcad differentiates odeint's derivative (a
    second derivative): each call is one of its rule; odeint_jvp's has tangents only,
    refused in reverse mode where a derivative flows into it, at the user's odeint call."""

    def __init__(self, rule, **kw):
        super().__init__(**kw)
        self.rule = rule

    def lower_call(self, low, args, kwargs, node, dest, text):
        return low.call_prim(_at_site(self.rule, _site(self, low, args)), args, kwargs,
                             dest=dest)


def _site(rule, low, args) -> tuple:
    """(filename, line) of the user's odeint call whose dynamics the call of `rule` (one of
    odeint's derivatives) reads, else the call's own."""
    at = rule.params.index(("dyn", _REQUIRED))
    if at < len(args) and isinstance(args[at], ir.Name):
        try:
            obj = low.p.resolve(args[at].id)
        except KeyError:
            obj = None
        if isinstance(obj, runtime_odeint.Dynamics):
            return obj.site
    return (low.p.filename, low.line)


class OdeintThirdOrder(FunctionRule):
    """odeint_vjp_vjp met where srcad differentiates a second derivative through odeint: a
    call with no derivative, refused in either mode where a derivative flows into it, at
    the user's odeint call (srcad builds odeint's derivatives to second order)."""

    def lower_call(self, low, args, kwargs, node, dest, text):
        site = _site(self, low, args)

        def error(message, filename, line):
            return UnsupportedSyntaxError(message, *site)
        prim = low.opaque(runtime_odeint.odeint_vjp_vjp, "odeint_vjp_vjp",
                          "scipy.integrate.odeint's derivatives are built to second order; "
                          "srcad builds no derivative of a grad of a grad through it", error=error)
        return low.call_prim(prim, args, kwargs, dest=dest)


_SITED: dict = {}


def _at_site(rule, site):
    """`rule` with the reverse-mode refusal of the odeint call at `site` (one per site,
    the same in every build); a rule with adjoints (odeint_vjp's) is itself."""
    if rule.vjp:
        return rule
    key = (id(rule), site)
    if key not in _SITED:
        _SITED[key] = dataclasses.replace(rule, reverse_error=_Refusal(site))
    return _SITED[key]


for _rule in (_VJP_RULE, _JVP_RULE):
    _TABLE[_rule.key] = OdeintDerivative(_rule, key=_rule.key, params=_rule.params,
                                         name=_rule.name, kind=ANY)


_TABLE[runtime_odeint.odeint_vjp_vjp] = OdeintThirdOrder(
    key=runtime_odeint.odeint_vjp_vjp, name="odeint_vjp_vjp", kind=ANY, params=_parse_params(
        "ct, g, sol, dyn, y0, t, args, captured, " + _OPTS))


class Odeint(FunctionRule):
    """scipy.integrate.odeint(func, y0, t, args=(), ...): lowered to odeint_call."""

    def lower_call(self, low, args, kwargs, node, dest, text):
        bound = self.bind(len(args), list(kwargs))
        if isinstance(bound, str):
            raise low.error(UnsupportedSyntaxError, f"in {text}(): {bound}", node)
        given = {p: (args[where] if kind == "arg" else kwargs[where])
                 for p, (kind, where) in bound.items()}
        fv = given["func"]
        if not isinstance(fv, funcs.FuncVal):
            raise low.error(UnsupportedSyntaxError, f"{text}(func, ...) needs a function srcad "
                            "can read (a def, a lambda or a partial of one) as func", node)
        for p, default in self.params:
            if p in given and p not in ("func", "y0", "t", "args", "tfirst") and \
                    p not in _OPT_NAMES and not (isinstance(given[p], ir.Const) and
                                                 given[p].value == default):
                raise low.error(UnsupportedSyntaxError, f"{text}() with {p}=: srcad "
                                f"differentiates odeint called with args, tfirst, "
                                f"{', '.join(_OPT_NAMES)} only", node)
        tfirst = given.get("tfirst", ir.Const(False))
        if not isinstance(tfirst, ir.Const):
            raise low.error(UnsupportedSyntaxError, f"{text}(): tfirst must be a constant",
                            node)
        fv = low.unpartial(fv)
        if fv.tail:
            raise low.error(UnsupportedSyntaxError, f"{text}(): {fv.label} as func is not "
                            "supported; wrap it in a def of (y, t, ...)", node)
        if fv.kw:
            raise low.error(UnsupportedSyntaxError, f"{text}(): the functools.partial "
                            f"{fv.label} binds keywords; bind them positionally", node)
        captured = list(fv.pre) + [low.captured(x, node) for x in fv.extras]
        if any(isinstance(a, (funcs.FuncVal, funcs.FuncList)) for a in captured):
            raise low.error(UnsupportedSyntaxError, f"{text}(): {fv.label} reads a function "
                            "value of the enclosing function; pass it as a global", node)
        dyn = _dynamics(fv, bool(tfirst.value), (low.p.filename, low.line))
        ref = ir.Const(ir.Ref(low.inject(f"{_ident(fv.label)}_dynamics", dyn)))
        cap = low.call_prim(PACK, captured) if captured else ir.Const(())
        fargs = given.get("args", ir.Const(()))
        if isinstance(fargs, (funcs.FuncVal, funcs.FuncList)):
            raise low.error(UnsupportedSyntaxError, f"{text}(): a function in args= is not "
                            "supported", node)
        opts = {p: given[p] for p in _OPT_NAMES if p in given}
        return low.call_prim(ODEINT_CALL, [ref, given["y0"], given["t"], fargs, cap], opts,
                             dest=dest)


_DYNAMICS: dict = {}


def _dynamics(fv, tfirst: bool, site: tuple):
    """One Dynamics per function value's layout and call site, the same in every build
    (injected objects are part of what a derivative depends on)."""
    key = (fv.obj, len(fv.pre), fv.nown, fv.defaults, len(fv.extras), tfirst, site)
    if key not in _DYNAMICS:
        _DYNAMICS[key] = runtime_odeint.Dynamics(fv.obj, len(fv.pre), fv.nown, fv.defaults,
                                                 len(fv.extras), tfirst, fv.label, site)
    return _DYNAMICS[key]


def _ident(label: str) -> str:
    name = "".join(c if c.isalnum() else "_" for c in label).strip("_")
    return name if name.isidentifier() else "func"


def _pack():
    from ..lower import PACK_TUPLE
    return PACK_TUPLE


PACK = _pack()

ODEINT = Odeint(key=scipy.integrate.odeint, params=_parse_params(
    "func, y0, t, args=(), Dfun=None, col_deriv=0, full_output=0, ml=None, mu=None, "
    "rtol=None, atol=None, tcrit=None, h0=0.0, hmax=0.0, hmin=0.0, ixpr=0, mxstep=0, "
    "mxhnil=0, mxordn=12, mxords=5, printmessg=0, tfirst=False"),
    name="scipy.integrate.odeint", kind=ANY)
_TABLE[scipy.integrate.odeint] = ODEINT
_NAMES.setdefault(ODEINT.name, ODEINT)
