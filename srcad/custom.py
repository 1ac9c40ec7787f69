"""User-defined derivative rules, for functions srcad cannot (or should not) read."""
from __future__ import annotations

import inspect

from . import rules


def custom_rule(jvp=None, vjp=None):
    """Declare `f`'s derivatives yourself; srcad then calls them instead of reading `f`.

    `jvp(*args, *arg_dots)` returns the output tangent (linear in the tangents);
    `vjp(*args, out, out_bar)` returns the adjoint of the argument, or a tuple with
    one per argument. Use as a decorator: `@srcad.custom_rule(jvp=..., vjp=...)`.
    """
    def register(f):
        params = list(inspect.signature(f).parameters)
        base = getattr(f, "__name__", "custom")
        jname = _register_name(f"{base}_jvp_rule", jvp) if jvp else None
        vname = _register_name(f"{base}_vjp_rule", vjp) if vjp else None
        jvps, vjps = {}, {}
        for k, p in enumerate(params):
            if jname:
                dots = [f"{q}_dot" if q == p else "0.0" for q in params]
                jvps[p] = f"{jname}({', '.join(params + dots)})"
            if vname:
                call = f"{vname}({', '.join(params + ['out', 'out_bar'])})"
                vjps[p] = call if len(params) == 1 else f"{call}[{k}]"
        rules.defrule(f, ", ".join(params), name=_register_name(base, f), kind=rules.ANY,
                      jvp=jvps, vjp=vjps, pure=False)      # the user's code: may be impure
        return f
    return register


def _register_name(base: str, obj) -> str:
    name, k = base, 0
    while name in rules.EXTRA_NAMES and rules.EXTRA_NAMES[name] is not obj:
        k += 1
        name = f"{base}_{k}"
    rules.EXTRA_NAMES[name] = obj
    return name
