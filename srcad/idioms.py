"""Everyday Python, lowered to what srcad already differentiates.

A comprehension becomes the loop a person would write (`items = []; for x in xs: if c:
items = [*items, e]`, which is `items.append(e)` as a value), so its derivative is a readable loop; `max(...)`/`min(...)` of a list
become a loop over the two-argument rule; `sorted` of a list reads its items in the order
`sort_order` finds (a permutation, so the derivative follows the items); an f-string is
printed as one; `assert` keeps its test; `with` keeps its context manager around the
primal code. The lowerer (lower.py) calls these with itself as `low`.
"""
from __future__ import annotations

import ast
import builtins
import copy

import gast

from . import ir, rules, runtime
from .errors import UnsupportedSyntaxError

COMPREHENSIONS = (gast.ListComp, gast.SetComp, gast.GeneratorExp, gast.DictComp)


def _name(id_: str, store: bool = False):
    return gast.Name(id=id_, ctx=gast.Store() if store else gast.Load(), annotation=None,
                     type_comment=None)


def _at(node, like):
    """`node` (and its children without a position) placed at `like`'s line."""
    for n in gast.walk(node):
        if hasattr(like, "lineno") and getattr(n, "lineno", None) is None and \
                isinstance(n, (gast.stmt, gast.expr)):
            gast.copy_location(n, like)
    return node


# ---------------------------------------------------------------- scoping

def prepare(fn):
    """`fn` with each comprehension's variables renamed where Python's scoping keeps them
    apart from a name used outside the comprehension (`[x * x for x in xs]` in a function
    with its own `x`), so that, lowered to a loop, they cannot leak; also the generator
    expressions that are consumed where they stand (a call's argument, a `for`'s iterable),
    as a set of node ids. `fn` itself is returned when nothing needs renaming."""
    comps = [n for n in _walk_own(fn) if isinstance(n, COMPREHENSIONS)]
    if not comps:
        return fn, set()
    fn = copy.deepcopy(fn)
    comps = [n for n in _walk_own(fn) if isinstance(n, COMPREHENSIONS)]
    taken = {n.id for n in gast.walk(fn) if isinstance(n, gast.Name)} | \
        set(rules.runtime_namespace())
    depth = {}
    for c in comps:
        depth[id(c)] = sum(1 for o in comps if o is not c and
                           any(n is c for n in gast.walk(o)))
    for c in sorted(comps, key=lambda c: -depth[id(c)]):       # innermost first
        region = {id(n) for n in gast.walk(c)} - {id(n) for n in gast.walk(c.generators[0].iter)}
        outside = {n.id for n in gast.walk(fn) if isinstance(n, gast.Name) and id(n) not in region}
        bound = {n.id for g in c.generators for n in gast.walk(g.target)
                 if isinstance(n, gast.Name)}
        for b in sorted(bound & outside):
            new = ir.unique_name(b, taken)
            for n in gast.walk(c):
                if isinstance(n, gast.Name) and n.id == b and id(n) in region:
                    n.id = new
    consumed = set()
    for n in _walk_own(fn):
        if isinstance(n, gast.Call):
            consumed |= {id(a) for a in n.args if isinstance(a, gast.GeneratorExp)}
        elif isinstance(n, (gast.For, gast.comprehension)) and isinstance(n.iter, gast.GeneratorExp):
            consumed.add(id(n.iter))
    return fn, consumed


def _walk_own(fn):
    todo = list(gast.iter_child_nodes(fn))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (gast.FunctionDef, gast.Lambda, gast.AsyncFunctionDef)):
            todo.extend(gast.iter_child_nodes(node))


# ---------------------------------------------------------------- comprehensions

def comprehension_loop(node, items: str) -> list:
    """The statements building comprehension `node` into the list (dict) variable `items`."""
    if any(g.is_async for g in node.generators):
        raise UnsupportedSyntaxError("an async comprehension is not supported")
    if isinstance(node, gast.DictComp):
        target = gast.Subscript(value=_name(items), slice=node.key, ctx=gast.Store())
        inner = gast.Assign(targets=[target], value=node.value, type_comment=None)
        start = gast.Dict(keys=[], values=[])
    else:
        # items = [*items, e]: xs.append's value form, a new list (no list the result went
        # into, such as an outer comprehension's, can share it)
        grown = gast.List(elts=[gast.Starred(value=_name(items), ctx=gast.Load()), node.elt],
                          ctx=gast.Load())
        inner = gast.Assign(targets=[_name(items, store=True)], value=grown, type_comment=None)
        start = gast.List(elts=[], ctx=gast.Load())
    for g in reversed(node.generators):
        for cond in reversed(g.ifs):
            inner = gast.If(test=cond, body=[inner], orelse=[])
        inner = gast.For(target=g.target, iter=g.iter, body=[inner], orelse=[], type_comment=None)
    first = gast.Assign(targets=[_name(items, store=True)], value=start, type_comment=None)
    return [_at(first, node), _at(inner, node)]


def lower_comprehension(low, node, items: str | None = None):
    """Lower comprehension `node` as a loop building it; its value as an atom. `items`
    names the variable it is built in (a fresh one when None)."""
    what = {gast.ListComp: "list comprehension", gast.SetComp: "set comprehension",
            gast.DictComp: "dict comprehension",
            gast.GeneratorExp: "generator expression"}[type(node)]
    if isinstance(node, gast.GeneratorExp) and id(node) not in low.consumed:
        raise low.error(UnsupportedSyntaxError, "a generator expression stored or passed on "
                        "unconsumed is not supported (it would be iterated once); use a list "
                        "comprehension", node)
    if items is None:
        items = low.new_local("items")
    try:
        stmts = comprehension_loop(node, items)
    except UnsupportedSyntaxError as e:
        raise low.error(UnsupportedSyntaxError, str(e), node) from None
    try:
        for s in stmts:
            low.stmt(s)
    except UnsupportedSyntaxError as e:
        if not isinstance(node, gast.DictComp):
            raise
        # built as `d = {}; for ...: d[k] = v`: refused where those are
        raise low.error(UnsupportedSyntaxError, f"a {what} is built as a dict (d = {{}}; "
                        f"d[k] = v), which is not supported here: {e.bare_message}", node) from None
    out = low.name(_name(items))
    if isinstance(node, gast.SetComp):
        return low.call_prim(low.opaque(builtins.set, "set"), [out])
    return out


def reduce_items(low, func, arg, node, dest):
    """`max(seq)` / `min(seq)` of a list, comprehension or array: the two-argument rule in a
    loop (`best = items[0]; for k in range(1, len(items)): best = max(best, items[k])`)."""
    for n in ("range", "len"):
        if n in low.locals or low.p.builtins().get(n) is not getattr(builtins, n) or \
                n in low.p.globals or n in low.p.closure:
            raise low.error(UnsupportedSyntaxError, f"{func.__name__}() of a sequence needs the "
                            f"builtin {n}(), which this module rebinds", node)
    if isinstance(arg, gast.Name) and arg.id in low.locals:
        items = arg.id
    else:
        items = low.new_local("items")
        low.stmt(_at(gast.Assign(targets=[_name(items, store=True)], value=arg,
                                 type_comment=None), node))
    seq = low.name(_name(items))
    first = low.getitem(seq, ir.Const(0))
    best = low.new_local("best")
    low.emit(ir.Assign(low.target_name(best), first, low.p.lineno(node)))
    k = low.new_local("k")
    step = gast.Assign(targets=[_name(best, store=True)], value=gast.Call(
        func=_name(func.__name__), args=[_name(best), gast.Subscript(
            value=_name(items), slice=_name(k), ctx=gast.Load())], keywords=[]),
        type_comment=None)
    loop = gast.For(target=_name(k, store=True), iter=gast.Call(
        func=_name("range"), args=[gast.Constant(value=1, kind=None), gast.Call(
            func=_name("len"), args=[_name(items)], keywords=[])], keywords=[]),
        body=[step], orelse=[], type_comment=None)
    low.stmt(_at(loop, node))
    out = low.name(_name(best))
    if dest is not None:
        low.emit(ir.Assign(dest, out, low.p.lineno(node)))
        return ir.Name(dest)
    return out
