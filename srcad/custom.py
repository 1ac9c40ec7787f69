"""User-defined derivative rules, for functions srcad cannot (or should not) read."""
from __future__ import annotations

import inspect
import sys
import types

from . import ir, rules


def custom_rule(jvp=None, vjp=None):
    """Declare `f`'s derivatives yourself; srcad then calls them instead of reading `f`.

    `jvp(*args, *arg_dots)` returns the output tangent (linear in the tangents; called once
    per call of `f`, with 0.0 as the tangent of each argument no derivative flows from);
    `vjp(*args, out, out_bar)` returns the adjoint of the argument, or a tuple with
    one per argument (called once per call of `f`, whatever the number of arguments).
    Use as a decorator: `@srcad.custom_rule(jvp=..., vjp=...)`. The rules stay readable
    on `f` as `f.__srcad_rule__` (`{"jvp": ..., "vjp": ...}`), which is how the source
    `srcad.source` writes refers to them.
    """
    def register(f):
        params = list(inspect.signature(f).parameters)
        base = _register_name(f.__name__ if f.__name__.isidentifier() else "custom", f)
        named, names = {}, {}
        for which, rule in (("jvp", jvp), ("vjp", vjp)):
            if rule is not None:
                names[which] = _free_name(f"{base}_{which}_rule")
                named[which] = rules.USER_RULES[names[which]] = _named(rule, names[which])
        f.__srcad_rule__ = named
        jvps, vjps, shared, jvp_all = {}, {}, None, None
        if "jvp" in named:
            jvp_all = f"{names['jvp']}({', '.join(params + [f'{q}_dot' for q in params])})"
        for k, p in enumerate(params):
            if "jvp" in named:
                dots = [f"{q}_dot" if q == p else "0.0" for q in params]
                jvps[p] = f"{names['jvp']}({', '.join(params + dots)})"
            if "vjp" in named:
                call = f"{names['vjp']}({', '.join(params + ['out', 'out_bar'])})"
                if len(params) == 1:
                    vjps[p] = call
                else:
                    shared, vjps[p] = call, f"SHARED[{k}]"
        rules.defrule(f, ", ".join(params), name=base, kind=rules.ANY, jvp=jvps, vjp=vjps,
                      vjp_shared=shared, jvp_shared=jvp_all,
                      pure=False)      # the user's code: may be impure
        return f
    return register


def _named(rule, name: str):
    """`rule`, or for a lambda the same function under `name` (generated code calls it by
    that name, and differentiates it by name at second order)."""
    if isinstance(rule, types.FunctionType) and not rule.__name__.isidentifier():
        copy = types.FunctionType(rule.__code__, rule.__globals__, name, rule.__defaults__,
                                  rule.__closure__)
        copy.__qualname__, copy.__kwdefaults__ = name, rule.__kwdefaults__
        return copy
    return rule


def _name_of(obj) -> str:
    return next(n for n, o in rules.USER_RULES.items() if o is obj)


def _register_name(base: str, obj) -> str:
    """The name generated code calls `obj` by: `base`, or `base_1`, ... when that is taken."""
    name = base if rules.USER_RULES.get(base) is obj else _free_name(base)
    rules.USER_RULES[name] = obj
    return name


def _free_name(base: str) -> str:
    """`base`, or `base_1`, ... : the first name no custom-rule function has."""
    return ir.unique_name(base, set(rules.USER_RULES))


def import_lines(used) -> list:
    """The lines by which `srcad.source`'s text gets the custom-rule functions it calls
    (`used` names among rules.USER_RULES): imports from the user's modules, or a comment
    saying where a function that cannot be imported by name is defined."""
    names = sorted(n for n in used if n in rules.USER_RULES)
    owners = {id(r): (f, which) for f in _functions() for which, r in f.__srcad_rule__.items()}
    imports, lines = [], []
    for n in names:
        obj = rules.USER_RULES[n]
        if _importable(obj):
            imports.append(_import(obj, n))
        elif id(obj) in owners and _importable(owners[id(obj)][0]):
            f, which = owners[id(obj)]
            fname = _name_of(f)
            if fname not in names:
                imports.append(_import(f, fname))
            lines.append(f"{n} = {fname}.__srcad_rule__[{which!r}]")
        else:
            code = obj.__code__ if isinstance(obj, types.FunctionType) else None
            where = f"{code.co_filename}:{code.co_firstlineno}" if code else repr(obj.__module__)
            lines.append(f"# {n}: a srcad.custom_rule function from {where}, not importable "
                         "by name: define it here to run this source")
    return imports + lines


def _functions() -> list:
    """The functions custom rules were declared for."""
    return [o for o in rules.USER_RULES.values()
            if isinstance(o, types.FunctionType) and "__srcad_rule__" in o.__dict__]


def _importable(obj) -> bool:
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    name = getattr(obj, "__qualname__", "")
    return module is not None and name.isidentifier() and module.__dict__.get(name) is obj


def _import(obj, name: str) -> str:
    alias = "" if obj.__qualname__ == name else f" as {name}"
    return f"from {obj.__module__} import {obj.__qualname__}{alias}"
