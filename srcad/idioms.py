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
import functools
import types

import gast

from . import funcs, ir, rules, runtime
from .funcs import walk_own
from .optimize import nodes
from .errors import SrcadError, UnsupportedSyntaxError

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


def _into(low, node, dest, value):
    """`value`, the result of the idiom at `node`, assigned to `dest` when the statement names
    one (else returned as it is)."""
    if dest is not None:
        low.emit(ir.Assign(dest, value, low.p.lineno(node)))
        return ir.Name(dest)
    return value


# ---------------------------------------------------------------- modules as values

def constant_modules(fn, parsed, own=None):
    """`fn` with modules used as values made constants of the build: a name assigned a
    module once, at the top of the body (`xp = np`), read as that module's expression
    (`xp.sum(x)` is `np.sum(x)`); `getattr(M, "name")` of a module `M` and a constant name
    as `M.name`; `hasattr(M, "name")` as its value now. `fn` itself when there is none.
    `own`: list(walk_own(fn)), when the caller has it."""
    own = list(walk_own(fn)) if own is None else own
    if not any(isinstance(n, gast.Call) and isinstance(n.func, gast.Name) and
               n.func.id in ("getattr", "hasattr") for n in own) and \
            not any(isinstance(s, gast.Assign) and isinstance(s.value, (gast.Name, gast.Attribute))
                    for s in fn.body):
        return fn
    args = fn.args
    stored = {}
    for n in own:
        if isinstance(n, gast.Name) and isinstance(n.ctx, (gast.Store, gast.Del)):
            stored[n.id] = stored.get(n.id, 0) + 1
    params = {a.id for a in list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs)}
    params |= {a.id for a in (args.vararg, args.kwarg) if a is not None}
    local = params | set(stored) | {n.name for n in own if isinstance(n, gast.FunctionDef)}
    aliases = {}

    def module_of(node):
        """The module `node` (a name or attribute chain of no local) refers to, or None."""
        chain = []
        while isinstance(node, gast.Attribute):
            chain.append(node.attr)
            node = node.value
        if not isinstance(node, gast.Name):
            return None
        if node.id in aliases:
            root = aliases[node.id]
            obj = module_of(root)
            for a in reversed(chain):
                obj = getattr(obj, a, None)
            return obj if isinstance(obj, types.ModuleType) else None
        if node.id in local:
            return None
        try:
            obj = parsed.lookup(node.id, tuple(reversed(chain)))
        except (KeyError, AttributeError):
            return None
        return obj if isinstance(obj, types.ModuleType) else None

    def builtin(name):
        if name in local:
            return False
        try:
            return parsed.resolve(name) is getattr(builtins, name)
        except KeyError:
            return False

    for k, st in enumerate(fn.body):
        if isinstance(st, gast.Assign) and len(st.targets) == 1 and \
                isinstance(st.targets[0], gast.Name) and st.targets[0].id not in params and \
                stored.get(st.targets[0].id) == 1 and module_of(st.value) is not None:
            name = st.targets[0].id
            early = any(isinstance(n, gast.Name) and n.id == name
                        for s in fn.body[:k] for n in gast.walk(s))
            if not early:
                aliases[name] = st.value
    calls = [n for n in own if isinstance(n, gast.Call) and isinstance(n.func, gast.Name) and
             n.func.id in ("getattr", "hasattr") and builtin(n.func.id) and not n.keywords and
             len(n.args) in ((2, 3) if n.func.id == "getattr" else (2,)) and
             isinstance(n.args[1], gast.Constant) and isinstance(n.args[1].value, str) and
             module_of(n.args[0]) is not None]
    if not aliases and not calls:
        return fn
    fn = copy.deepcopy(fn)
    alias_nodes = {name: node for name, node in aliases.items()}

    def expand(node):
        """`node` with the aliases in it spelled as their modules."""
        if isinstance(node, gast.Name) and node.id in alias_nodes:
            return gast.copy_location(expand(copy.deepcopy(alias_nodes[node.id])), node)
        if isinstance(node, gast.Attribute):
            node.value = expand(node.value)
        return node

    class Rewrite(gast.NodeTransformer):
        def visit_Assign(self, st):
            if len(st.targets) == 1 and isinstance(st.targets[0], gast.Name) and \
                    st.targets[0].id in alias_nodes and st in fn.body:
                return gast.copy_location(gast.Pass(), st)
            return self.generic_visit(st)

        def visit_Name(self, node):
            if isinstance(node.ctx, gast.Load) and node.id in alias_nodes:
                return expand(node)
            return node

        def visit_FunctionDef(self, node):
            inner = {a.id for a in node.args.args} | {n.id for n in gast.walk(node)
                                                      if isinstance(n, gast.Name) and
                                                      isinstance(n.ctx, gast.Store)}
            if inner & set(alias_nodes):
                return node                 # a name of its own: not the alias
            return self.generic_visit(node)

        def visit_Call(self, node):
            self.generic_visit(node)
            if not (isinstance(node.func, gast.Name) and node.func.id in ("getattr", "hasattr")
                    and builtin(node.func.id) and not node.keywords and len(node.args) >= 2
                    and isinstance(node.args[1], gast.Constant) and
                    isinstance(node.args[1].value, str)):
                return node
            module = module_of(node.args[0])
            if module is None:
                return node
            attr = node.args[1].value
            present = hasattr(module, attr)
            if node.func.id == "hasattr" and len(node.args) == 2:
                return gast.copy_location(gast.Constant(value=present, kind=None), node)
            if node.func.id == "getattr" and len(node.args) in (2, 3):
                if present or len(node.args) == 2:
                    return gast.copy_location(gast.Attribute(
                        value=node.args[0], attr=attr, ctx=gast.Load()), node)
                return node.args[2]
            return node

    Rewrite().generic_visit(fn)       # (visit_FunctionDef is for nested defs)
    return fn


# ---------------------------------------------------------------- scoping

def prepare(fn, own=None):
    """`fn` with each comprehension's variables renamed where Python's scoping keeps them
    apart from a name used outside the comprehension (`[x * x for x in xs]` in a function
    with its own `x`), so that, lowered to a loop, they cannot leak; also the generator
    expressions that are consumed where they stand (a call's argument, a `for`'s iterable),
    as a set of node ids. `fn` itself is returned when nothing needs renaming. `own`:
    list(walk_own(fn)), when the caller has it."""
    comps = [n for n in (walk_own(fn) if own is None else own) if isinstance(n, COMPREHENSIONS)]
    if not comps:
        return fn, set()
    fn = funcs.copy_tree(fn)
    comps = [n for n in walk_own(fn) if isinstance(n, COMPREHENSIONS)]
    names = [n for n in nodes(fn) if isinstance(n, gast.Name)]    # one walk for all
    taken = {n.id for n in names} | set(rules.runtime_namespace())
    depth = {}
    for c in comps:
        depth[id(c)] = sum(1 for o in comps if o is not c and
                           any(n is c for n in gast.walk(o)))
    for c in sorted(comps, key=lambda c: -depth[id(c)]):       # innermost first
        region = {id(n) for n in gast.walk(c)} - {id(n) for n in gast.walk(c.generators[0].iter)}
        outside = {n.id for n in names if id(n) not in region}
        bound = {n.id for g in c.generators for n in gast.walk(g.target)
                 if isinstance(n, gast.Name)}
        for b in sorted(bound & outside):
            new = ir.unique_name(b, taken)
            for n in gast.walk(c):
                if isinstance(n, gast.Name) and n.id == b and id(n) in region:
                    n.id = new
    consumed = set()
    for n in walk_own(fn):
        if isinstance(n, gast.Call):
            consumed |= {id(a) for a in n.args if isinstance(a, gast.GeneratorExp)}
        elif isinstance(n, (gast.For, gast.comprehension)) and isinstance(n.iter, gast.GeneratorExp):
            consumed.add(id(n.iter))
    return fn, consumed


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
        if isinstance(node, gast.DictComp):
            low.containers.add(items)           # built by d[k] = v as a new value
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
    made = _made_class(low, node)
    if made is not None and isinstance(out, ir.Name):     # [Dense(W, b) for W, b in ps]
        low.classes[out.id] = funcs.ObjArg(list, (funcs.ObjArg(made),), each=True)
    if isinstance(node, gast.SetComp):
        return low.call_prim(low.opaque(builtins.set, "set", "a set comprehension of values "
                                        "that carry a derivative is not differentiable (a set "
                                        "is unordered); use a list comprehension"), [out])
    return out


def _made_class(low, node):
    """The class every item of list comprehension `node` is an instance of, when its item is
    a call of a class srcad builds (`Dense(W, b)`: a plain class, dataclass, NamedTuple)."""
    if not isinstance(node, gast.ListComp) or not isinstance(node.elt, gast.Call) or \
            not isinstance(node.elt.func, (gast.Name, gast.Attribute)):
        return None
    try:
        cls = low.callee(node.elt.func)
    except UnsupportedSyntaxError:
        return None
    if isinstance(cls, type) and (funcs.plain_class(cls) or hasattr(cls, "__dataclass_fields__")
                                  or issubclass(cls, tuple) and hasattr(cls, "_fields")):
        return cls
    return None


def reduce_items(low, func, arg, node, dest):
    """`max(seq)` / `min(seq)` of a list, comprehension or array: the two-argument rule in a
    loop (`best = items[0]; for k in range(1, len(items)): best = max(best, items[k])`)."""
    _builtin_names(low, node, "range", "len", func.__name__)
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
    return _into(low, node, dest, low.name(_name(best)))


def _local_list(low, value, node, base="items") -> str:
    """A user-style variable holding `value` (a gast expression): its own name when it is a
    local already, else a fresh one assigned here."""
    if isinstance(value, gast.Name) and value.id in low.locals:
        return value.id
    items = low.new_local(base)
    low.stmt(_at(gast.Assign(targets=[_name(items, store=True)], value=value,
                             type_comment=None), node))
    return items


def _builtin_names(low, node, *names):
    """Refuse when the module rebinds a builtin that srcad's lowering writes calls to."""
    for n in names:
        if n in low.locals or n in low.p.globals or n in low.p.closure:
            raise low.error(UnsupportedSyntaxError, f"srcad writes this with the builtin {n}(), "
                            "which this function's module rebinds; rename that name", node)


# ---------------------------------------------------------------- calls

# builtins whose result never carries a derivative, whatever their arguments
NO_DERIVATIVE = {builtins.isinstance, builtins.issubclass, builtins.callable, builtins.hasattr,
                 builtins.type, builtins.id, builtins.str, builtins.repr, builtins.format,
                 builtins.hash}


def splice_starred(node):
    """`f(*[a, b], c)`, `[*(a, b), c]` as `f(a, b, c)`, `[a, b, c]`: a starred display in a
    call's arguments or in a list or tuple display spreads its items."""
    items = node.args if isinstance(node, gast.Call) else node.elts
    out = []
    for a in items:
        if isinstance(a, gast.Starred) and isinstance(a.value, (gast.List, gast.Tuple)):
            out.extend(splice_starred(a.value).elts)
        else:
            out.append(a)
    if len(out) == len(items) and all(a is b for a, b in zip(out, items)):
        return node
    if isinstance(node, gast.Call):
        new = gast.Call(func=node.func, args=out, keywords=node.keywords)
    else:
        new = type(node)(elts=out, ctx=node.ctx)
    return gast.copy_location(new, node)


def starred_display(low, node, dest):
    """`[*a, b, *c]` and `(*xs, v)` as the concatenation they are, `list(a) + [b] +
    list(c)` (made a tuple by tuple_of for a tuple), as an atom."""
    _builtin_names(low, node, "list")
    parts, run = [], []
    for e in node.elts:
        if isinstance(e, gast.Starred):
            if run:
                parts.append(gast.List(elts=run, ctx=gast.Load()))
                run = []
            parts.append(gast.Call(func=_name("list"), args=[e.value], keywords=[]))
        else:
            run.append(e)
    if run:
        parts.append(gast.List(elts=run, ctx=gast.Load()))
    out = parts[0]
    for p in parts[1:]:
        out = gast.BinOp(left=out, op=gast.Add(), right=p)
    for n in gast.walk(out):
        if isinstance(n, gast.expr):
            gast.copy_location(n, node)
    if isinstance(node, gast.List):
        return low.expr(out, dest)
    from .rules.containers import TUPLE_OF
    return low.call_prim(TUPLE_OF, [low.expr(out)], dest=dest)


def call(low, obj, node, dest):
    """A call to a builtin srcad lowers itself (`list`, `sorted`, `isinstance`, ...), as an
    atom, or None for the others."""
    if obj in NO_DERIVATIVE:
        args = [low.expr(a) for a in node.args]
        kwargs = {k.arg: low.expr(k.value) for k in node.keywords}
        return low.call_prim(low.opaque(obj, obj.__name__, None, rules.NONE), args, kwargs,
                             dest=dest)
    if obj is builtins.list and len(node.args) == 1 and not node.keywords and \
            _zip_call(low, node.args[0]):
        return low.expr(node.args[0], dest=dest)         # list(zip(a, b)): zip's list
    if obj is builtins.list and len(node.args) == 1 and not node.keywords:
        # list(xs) is [v for v in xs]: a new list of xs's items (a dict's keys)
        item = low.new_local("item")
        comp = gast.ListComp(elt=_name(item), generators=[gast.comprehension(
            target=_name(item, store=True), iter=node.args[0], ifs=[], is_async=0)])
        return lower_comprehension(low, _at(comp, node))
    if obj is builtins.sorted and len(node.args) == 1:
        return sorted_(low, node, dest)
    if obj is builtins.map and len(node.args) >= 2 and not node.keywords:
        # map(f, a, b) consumed as a list: [f(u, v) for u, v in zip(a, b)]
        items = [low.new_local("item") for _ in node.args[1:]]
        if len(items) == 1:
            target, it = _name(items[0], store=True), node.args[1]
        else:
            _builtin_names(low, node, "zip")
            target = gast.Tuple(elts=[_name(i, store=True) for i in items], ctx=gast.Store())
            it = gast.Call(func=_name("zip"), args=list(node.args[1:]), keywords=[])
        comp = gast.ListComp(elt=gast.Call(func=node.args[0], args=[_name(i) for i in items],
                                           keywords=[]),
                             generators=[gast.comprehension(target=target, iter=it, ifs=[],
                                                            is_async=0)])
        return lower_comprehension(low, _at(comp, node))
    if obj is functools.reduce and len(node.args) in (2, 3) and not node.keywords:
        return fold(low, node, dest)
    if obj is builtins.sum and (len(node.args) == 2 or node.keywords):
        return sum_start(low, node, dest)
    if obj is builtins.zip and node.args and not node.keywords:
        # zip(a, b) as a value: the list of its tuples, [(u, v) for u, v in zip(a, b)]
        items = [low.new_local("item") for _ in node.args]
        comp = gast.ListComp(elt=gast.Tuple(elts=[_name(i) for i in items], ctx=gast.Load()),
                             generators=[gast.comprehension(target=gast.Tuple(
                                 elts=[_name(i, store=True) for i in items], ctx=gast.Store()),
                                 iter=node, ifs=[], is_async=0)])
        return lower_comprehension(low, _at(comp, node))
    if obj is builtins.dict and len(node.args) == 1 and not node.keywords and \
            _pairs(low, node.args[0]):
        # dict(zip(keys, values)), dict(d.items()), dict([(k, v), ...]): {k: v for k, v in ...}
        k, v = low.new_local("key"), low.new_local("value")
        comp = gast.DictComp(key=_name(k), value=_name(v), generators=[gast.comprehension(
            target=gast.Tuple(elts=[_name(k, store=True), _name(v, store=True)],
                              ctx=gast.Store()), iter=node.args[0], ifs=[], is_async=0)])
        return lower_comprehension(low, _at(comp, node))
    return None


def sum_start(low, node, dest):
    """`sum(xs, start)` as Python adds: `total = start; for item in xs: total = total +
    item` (left to right, from start)."""
    kw = {k.arg: k.value for k in node.keywords}
    if set(kw) - {"start"} or len(node.args) + len(kw) != 2 or not node.args:
        raise low.error(UnsupportedSyntaxError, "sum() takes an iterable and a start value",
                        node)
    start = node.args[1] if len(node.args) == 2 else kw["start"]
    total, item = low.new_local("total"), low.new_local("item")
    stmts = [gast.Assign(targets=[_name(total, store=True)], value=start, type_comment=None),
             gast.For(target=_name(item, store=True), iter=node.args[0], body=[gast.Assign(
                 targets=[_name(total, store=True)], value=gast.BinOp(
                     left=_name(total), op=gast.Add(), right=_name(item)), type_comment=None)],
                 orelse=[], type_comment=None)]
    for st in stmts:
        low.stmt(_at(st, node))
    return _into(low, node, dest, low.name(_name(total)))


def _zip_call(low, arg) -> bool:
    return isinstance(arg, gast.Call) and isinstance(arg.func, gast.Name) and \
        arg.func.id not in low.locals and arg.func.id not in low.funcvals and \
        low.callee(arg.func) is builtins.zip


def _pairs(low, arg) -> bool:
    """Whether `arg` surely gives (key, value) pairs: zip(a, b), d.items(), or a list
    display or comprehension of pairs."""
    if _zip_call(low, arg):
        return len(arg.args) == 2
    if isinstance(arg, gast.Call) and isinstance(arg.func, gast.Attribute):
        return arg.func.attr == "items" and not arg.args
    if isinstance(arg, gast.List):
        return all(isinstance(e, gast.Tuple) and len(e.elts) == 2 for e in arg.elts)
    return isinstance(arg, gast.ListComp) and isinstance(arg.elt, gast.Tuple) and \
        len(arg.elt.elts) == 2


def spread_dict(low, node, dest):
    """`{**d, "k": v}` as the loop a person would write (`out = {}; for key in d: out[key] =
    d[key]; out["k"] = v`), in order, later keys replacing earlier ones."""
    out = low.new_local("merged")
    low.containers.add(out)
    stmts = [gast.Assign(targets=[_name(out, store=True)], value=gast.Dict(keys=[], values=[]),
                         type_comment=None)]
    for k, v in zip(node.keys, node.values):
        if k is None:
            src = _local_list(low, v, node, "spread")
            key = low.new_local("key")
            stmts.append(gast.For(target=_name(key, store=True), iter=_name(src), body=[
                gast.Assign(targets=[gast.Subscript(value=_name(out), slice=_name(key),
                                                    ctx=gast.Store())],
                            value=gast.Subscript(value=_name(src), slice=_name(key),
                                                 ctx=gast.Load()), type_comment=None)],
                orelse=[], type_comment=None))
        else:
            stmts.append(gast.Assign(targets=[gast.Subscript(value=_name(out), slice=k,
                                                             ctx=gast.Store())],
                                     value=v, type_comment=None))
    for st in stmts:
        low.stmt(_at(st, node))
    return _into(low, node, dest, low.name(_name(out)))


def dict_get(low, node, dest):
    """`d.get(k, default)` of a local or argument d, with a name or constant key, as
    `d[k] if k in d else default`, or None for another call."""
    func = node.func
    if not (isinstance(func, gast.Attribute) and func.attr == "get" and
            isinstance(func.value, gast.Name) and func.value.id in low.locals and
            func.value.id not in low.funcvals and 1 <= len(node.args) <= 2 and
            not node.keywords and isinstance(node.args[0], (gast.Name, gast.Constant))):
        return None
    default = node.args[1] if len(node.args) == 2 else gast.Constant(value=None, kind=None)
    key = node.args[0]
    test = gast.Compare(left=key, ops=[gast.In()], comparators=[func.value])
    pick = gast.IfExp(test=test, body=gast.Subscript(value=func.value, slice=key,
                                                     ctx=gast.Load()), orelse=default)
    return low.expr(_at(pick, node), dest=dest)


def sort_order(xs, reverse=False):
    """The positions of `xs`' items in the order `sorted(xs)` puts them (stable), so that
    `sorted(xs)` is `[xs[k] for k in sort_order(xs)]`."""
    return sorted(range(len(xs)), key=xs.__getitem__, reverse=reverse)


def first_best(keys, largest=False):
    """The position of the first smallest (largest) of `keys`: the item `min(xs, key=f)`
    (`max`) returns is `xs[first_best([f(x) for x in xs])]`."""
    pick = max if largest else min
    return pick(range(len(keys)), key=keys.__getitem__)


def _items_and_keys(low, node, iterable, key):
    """(items, keys): user-style locals holding a new list of the items of `iterable` (a
    gast expression) and the list of `key` (a function, gast) applied to each."""
    if _zip_call(low, iterable):            # sorted(zip(a, b)): zip's list of tuples
        _builtin_names(low, node, "list")
        iterable = _at(gast.Call(func=_name("list"), args=[iterable], keywords=[]), node)
    item = low.new_local("item")
    copy_ = gast.ListComp(elt=_name(item), generators=[gast.comprehension(
        target=_name(item, store=True), iter=iterable, ifs=[], is_async=0)])
    items = low.new_local("items")
    lower_comprehension(low, _at(copy_, node), items)
    if key is None:
        return items, items
    keys, v = low.new_local("keys"), low.new_local("item")
    comp = gast.ListComp(elt=gast.Call(func=key, args=[_name(v)], keywords=[]),
                         generators=[gast.comprehension(target=_name(v, store=True),
                                                        iter=_name(items), ifs=[], is_async=0)])
    lower_comprehension(low, _at(comp, node), keys)
    return items, keys


def keyed_min_max(low, func, node, dest):
    """`min(a, b, key=f)`, `max(xs, key=f)`: the item at the first best key; the keys
    choose it and carry no derivative (`items[first_best(keys)]`)."""
    kw = {k.arg: k.value for k in node.keywords}
    if set(kw) != {"key"} or not node.args:
        raise low.error(UnsupportedSyntaxError, f"{func.__name__}() with keyword arguments "
                        f"({', '.join(k + '=' for k in kw)}) other than key= is not "
                        "supported", node)
    iterable = node.args[0] if len(node.args) == 1 else \
        gast.List(elts=list(node.args), ctx=gast.Load())
    items, keys = _items_and_keys(low, node, _at(iterable, node), kw["key"])
    pos = low.call_prim(low.opaque(first_best, "first_best", None, rules.NONE),
                        [low.name(_name(keys)), ir.Const(func is builtins.max)])
    return _into(low, node, dest, low.getitem(low.name(_name(items)), pos))


def fold(low, node, dest):
    """`functools.reduce(f, xs[, start])` as the loop it runs: `acc = items[0]` (or
    start); `for k in range(1, len(items)): acc = f(acc, items[k])`."""
    _builtin_names(low, node, "range", "len")
    items, _ = _items_and_keys(low, node, node.args[1], None)
    acc = low.new_local("acc")
    first = 0 if len(node.args) == 3 else 1
    start = node.args[2] if first == 0 else gast.Subscript(
        value=_name(items), slice=gast.Constant(value=0, kind=None), ctx=gast.Load())
    low.stmt(_at(gast.Assign(targets=[_name(acc, store=True)], value=start,
                             type_comment=None), node))
    k = low.new_local("k")
    step = gast.Assign(targets=[_name(acc, store=True)], value=gast.Call(
        func=node.args[0], args=[_name(acc), gast.Subscript(
            value=_name(items), slice=_name(k), ctx=gast.Load())], keywords=[]),
        type_comment=None)
    loop = gast.For(target=_name(k, store=True), iter=gast.Call(
        func=_name("range"), args=[gast.Constant(value=first, kind=None), gast.Call(
            func=_name("len"), args=[_name(items)], keywords=[])], keywords=[]),
        body=[step], orelse=[], type_comment=None)
    low.stmt(_at(loop, node))
    return _into(low, node, dest, low.name(_name(acc)))


def sorted_(low, node, dest):
    """`sorted(xs)`, `sorted(xs, key=f, reverse=r)`: the items of xs read in sorted order
    (of their keys), a permutation the derivative follows (`order = sort_order(keys);
    [items[k] for k in order]`); the keys carry no derivative."""
    kw = {k.arg: k.value for k in node.keywords}
    if set(kw) - {"reverse", "key"}:
        raise low.error(UnsupportedSyntaxError, f"sorted() with "
                        f"{', '.join(k + '=' for k in sorted(set(kw) - {'reverse', 'key'}))} "
                        "is not supported", node)
    items, keys = _items_and_keys(low, node, node.args[0], kw.get("key"))
    reverse = [low.expr(kw["reverse"])] if "reverse" in kw else []
    order = low.new_local("order")
    low.emit(ir.Assign(low.target_name(order), low.call_prim(
        low.opaque(sort_order, "sort_order", None, rules.NONE),
        [low.name(_name(keys))] + reverse), low.p.lineno(node)))
    k = low.new_local("k")
    out = gast.ListComp(elt=gast.Subscript(value=_name(items), slice=_name(k), ctx=gast.Load()),
                        generators=[gast.comprehension(target=_name(k, store=True),
                                                       iter=_name(order), ifs=[], is_async=0)])
    return lower_comprehension(low, _at(out, node))


class FString:
    """An f-string, printed as the user wrote it with atoms in its fields; a str carries no
    derivative. (`print(f"loss {loss:.3f}")` prints once, in the forward sweep.)"""

    def __init__(self, template):
        self.template = template           # an ast.JoinedStr whose fields are filled by emit
        self.name, self.kind, self.differentiable = "f-string", rules.NONE, False

    def emit(self, args, kwargs, static, names):
        tree = copy.deepcopy(self.template)
        for field_, a in zip(_fields(tree), args):
            field_.value = a
        return tree


def _fields(tree) -> list:
    """The formatted fields of a JoinedStr (and of its format specs), in a fixed order."""
    out = []

    def visit(n):
        for v in n.values:
            if isinstance(v, ast.FormattedValue):
                out.append(v)
                if v.format_spec is not None:
                    visit(v.format_spec)
    visit(tree)
    return out


def fstring(low, node, dest):
    template = gast.gast_to_ast(node)
    args = [low.expr(gast.ast_to_gast(f.value)) for f in _fields(template)]
    return low.call_prim(FString(template), args, dest=dest)


# ---------------------------------------------------------------- list methods

def extend(low, call_node, xs: str):
    """`xs.extend(seq)` as `for item in seq: xs.append(item)` (xs changed in place)."""
    if len(call_node.args) != 1 or call_node.keywords:
        raise low.error(UnsupportedSyntaxError, "list.extend takes one argument", call_node)
    item = low.new_local("item")
    append = gast.Expr(value=gast.Call(func=gast.Attribute(value=_name(xs), attr="append",
                                                           ctx=gast.Load()),
                                       args=[_name(item)], keywords=[]))
    low.stmt(_at(gast.For(target=_name(item, store=True), iter=call_node.args[0], body=[append],
                          orelse=[], type_comment=None), call_node))


def insert(low, call_node, xs: str):
    """`xs.insert(i, v)` as `xs = [*xs[:i], v, *xs[i:]]` built item by item; Python changes
    xs in place, which the alias analysis is told."""
    if len(call_node.args) != 2 or call_node.keywords:
        raise low.error(UnsupportedSyntaxError, "list.insert takes two arguments", call_node)
    old = low.name(_name(xs))
    i, v = call_node.args
    pos = low.new_local("at")
    low.stmt(_at(gast.Assign(targets=[_name(pos, store=True)], value=i, type_comment=None),
                 call_node))
    new = low.new_local("inserted")

    def part(lower, upper):
        return gast.Subscript(value=_name(xs), slice=gast.Slice(lower=lower, upper=upper,
                                                                 step=None), ctx=gast.Load())
    item = low.new_local("item")
    stmts = [gast.Assign(targets=[_name(new, store=True)], value=part(None, _name(pos)),
                         type_comment=None),
             gast.Assign(targets=[_name(new, store=True)], value=gast.List(
                 elts=[gast.Starred(value=_name(new), ctx=gast.Load()), v], ctx=gast.Load()),
                 type_comment=None),
             gast.For(target=_name(item, store=True), iter=part(_name(pos), None), body=[
                 gast.Assign(targets=[_name(new, store=True)], value=gast.List(
                     elts=[gast.Starred(value=_name(new), ctx=gast.Load()), _name(item)],
                     ctx=gast.Load()), type_comment=None)], orelse=[], type_comment=None),
             gast.Assign(targets=[_name(xs, store=True)], value=_name(new), type_comment=None)]
    for s in stmts:
        low.stmt(_at(s, call_node))
    low.mark_inplace(xs, old)


def _store(d, key, value):
    return gast.Assign(targets=[gast.Subscript(value=_name(d), slice=key, ctx=gast.Store())],
                       value=value, type_comment=None)


def dict_method(low, call_node, target=None) -> bool:
    """`d.update(...)`, `d.setdefault(k, v)` on a dict the function builds (in
    `low.containers`: its item assignments are new values), as the item assignments a
    person would write; `v = d.setdefault(k, v)` assigns `target`. False for other calls
    (a dict argument's update would change the caller's dict: left to the method call,
    refused where a derivative flows)."""
    func = call_node.func
    if not (isinstance(func, gast.Attribute) and func.attr in ("update", "setdefault") and
            isinstance(func.value, gast.Name) and func.value.id in low.containers):
        return False
    d = func.value.id
    if func.attr == "update":
        if len(call_node.args) > 1 or target is not None:
            return False
        stmts = []
        for arg in call_node.args:
            if isinstance(arg, gast.Dict) and all(k is not None for k in arg.keys):
                stmts += [_store(d, k, v) for k, v in zip(arg.keys, arg.values)]
            elif _pairs(low, arg):
                k, v = low.new_local("key"), low.new_local("value")
                stmts.append(gast.For(target=gast.Tuple(elts=[_name(k, store=True), _name(
                    v, store=True)], ctx=gast.Store()), iter=arg, body=[
                    _store(d, _name(k), _name(v))], orelse=[], type_comment=None))
            else:
                src = _local_list(low, arg, call_node, "other")
                k = low.new_local("key")
                stmts.append(gast.For(target=_name(k, store=True), iter=_name(src), body=[
                    _store(d, _name(k), gast.Subscript(value=_name(src), slice=_name(k),
                                                        ctx=gast.Load()))],
                    orelse=[], type_comment=None))
        stmts += [_store(d, gast.Constant(value=k.arg, kind=None), k.value)
                  for k in call_node.keywords if k.arg is not None]
        if any(k.arg is None for k in call_node.keywords):
            return False
    else:
        if call_node.keywords or not 1 <= len(call_node.args) <= 2:
            return False
        key = call_node.args[0]
        if not isinstance(key, (gast.Name, gast.Constant)):
            key = _name(_local_list(low, key, call_node, "key"))
        default = call_node.args[1] if len(call_node.args) == 2 else \
            gast.Constant(value=None, kind=None)
        missing = gast.Compare(left=key, ops=[gast.NotIn()], comparators=[_name(d)])
        stmts = [gast.If(test=missing, body=[_store(d, key, default)], orelse=[])]
        if target is not None:
            stmts.append(gast.Assign(targets=[target], value=gast.Subscript(
                value=_name(d), slice=key, ctx=gast.Load()), type_comment=None))
    for st in stmts:
        low.stmt(_at(st, call_node))
    return True


def pop_at(low, call_node, target=None) -> bool:
    """`v = xs.pop(i)` (or `xs.pop(i)`) of a list the function builds: `v = xs[i]; xs =
    xs[:i] + xs[i:][1:]` (any i, negative too); False for another call."""
    func = call_node.func
    if isinstance(func, gast.Attribute) and func.attr == "pop" and \
            isinstance(func.value, gast.Name) and func.value.id in low.locals and \
            low.version.get(func.value.id) in low.dict_keys:
        return _dict_pop(low, call_node, target)
    if not (isinstance(func, gast.Attribute) and func.attr == "pop" and
            isinstance(func.value, gast.Name) and len(call_node.args) == 1 and
            not call_node.keywords and func.value.id in low.locals and
            low.version.get(func.value.id) in low.seq_names):
        return False
    xs = func.value.id
    at = call_node.args[0]
    if not isinstance(at, (gast.Name, gast.Constant)):
        at = _name(_local_list(low, at, call_node, "at"))

    def part(lower, upper, of=None):
        return gast.Subscript(value=of or _name(xs), slice=gast.Slice(
            lower=lower, upper=upper, step=None), ctx=gast.Load())
    stmts = []
    if target is not None:
        stmts.append(gast.Assign(targets=[target], value=gast.Subscript(
            value=_name(xs), slice=at, ctx=gast.Load()), type_comment=None))
    rest = gast.BinOp(left=part(None, at), op=gast.Add(),
                      right=part(gast.Constant(value=1, kind=None), None, part(at, None)))
    stmts.append(gast.Assign(targets=[_name(xs, store=True)], value=rest, type_comment=None))
    old = low.name(_name(xs))
    for st in stmts:
        low.stmt(_at(st, call_node))
    low.mark_inplace(xs, old)
    return True


def _dict_pop(low, call_node, target) -> bool:
    """`v = d.pop(k)` (or `d.pop(k, default)`) of a dict whose keys srcad knows and a
    constant key: `v = d[k]` (or the default where k is not a key) and d rebuilt without k."""
    d = call_node.func.value.id
    keys = low.dict_keys[low.version[d]]
    args = call_node.args
    if call_node.keywords or not 1 <= len(args) <= 2 or not isinstance(args[0], gast.Constant):
        raise low.error(UnsupportedSyntaxError, f"{d}.pop() is differentiated with a constant "
                        "key (and an optional default) only", call_node)
    key = args[0].value
    stmts = []
    if target is not None:
        if key in keys:
            value = gast.Subscript(value=_name(d), slice=args[0], ctx=gast.Load())
        elif len(args) == 2:
            value = args[1]
        else:
            raise low.error(UnsupportedSyntaxError, f"{d}.pop({key!r}): {key!r} is not a key "
                            f"of {d}", call_node)
        stmts.append(gast.Assign(targets=[target], value=value, type_comment=None))
    rest = [k for k in keys if k != key]
    stmts.append(gast.Assign(targets=[_name(d, store=True)], value=gast.Dict(
        keys=[gast.Constant(value=k, kind=None) for k in rest],
        values=[gast.Subscript(value=_name(d), slice=gast.Constant(value=k, kind=None),
                               ctx=gast.Load()) for k in rest]), type_comment=None))
    old = low.name(_name(d))
    for st in stmts:
        low.stmt(_at(st, call_node))
    low.mark_inplace(d, old)
    return True


# ---------------------------------------------------------------- statements

def assertion_failed(*message):
    """What a failed `assert test, message` raises."""
    raise AssertionError(*message)


def assert_(low, s, line):
    """`assert test, msg` kept as the primal's check: `if test: pass else: raise ...` (the
    message is computed only when the test fails, as in Python)."""
    test = low.expr(s.test)
    low.depth += 1
    saved, low.body = low.body, []
    msg = [low.expr(s.msg)] if s.msg is not None else []
    low.call_prim(low.opaque(assertion_failed, "assertion_failed", None, rules.NONE), msg)
    fail, low.body = low.body, saved
    low.depth -= 1
    low.emit(ir.If(test, [], fail, line))


def enter_context(manager):
    """`with manager as v:`'s v (the manager entered)."""
    return type(manager).__enter__(manager)


def exit_context(manager):
    """The end of a `with` block that did not raise."""
    type(manager).__exit__(manager, None, None, None)


def with_(low, s, line):
    """`with cm as v: body` as `v = enter_context(cm); body; exit_context(cm)`: the manager
    (np.errstate, a lock, a timer) is around the primal code, the body differentiated as
    if it stood alone. If the body raises, the manager's __exit__ is not called."""
    managers = []
    for item in s.items:
        cm = low.expr(item.context_expr)
        entered = low.call_prim(low.opaque(
            enter_context, "enter_context", "a context manager made from a value that carries "
            "a derivative is not supported"), [cm])
        if item.optional_vars is not None:
            low.assign_atom(item.optional_vars, entered, line)
        managers.append(cm)
    for b in s.body:
        low.stmt(b)
    for cm in reversed(managers):
        low.call_prim(low.opaque(exit_context, "exit_context", None, rules.NONE), [cm])


def raise_exception(exc):
    """What `raise exc` does: a statement of the primal, kept in the forward sweep."""
    raise exc


def raise_(low, s, line):
    """`raise E(...)` (a check on the inputs, a refused case) raises as in the primal, in
    the forward sweep, and ends its path (an `if` arm that raises is a path the derivative
    never takes: what it leaves unassigned is not read). Outside loops it ends it as a
    return would; inside a loop it needs no return (a flag, a break and a test after the
    loop): it is a `raise` statement, which ir.verify and the checker of generated code
    know ends the path, as Python does; a bare
    `raise` and `raise ... from ...` are refused (srcad runs a try/except block as one
    call, where they belong)."""
    if s.exc is None or s.cause is not None:
        raise low.error(UnsupportedSyntaxError, "a bare raise or raise ... from ... is not "
                        "supported outside a try/except block", s)
    exc = low.expr(s.exc)
    low.call_prim(low.raising(raise_exception), [exc])
    if not low.loops:
        low.emit(ir.Return(ir.Const(None), line))


def starred_target(low, target, value, line):
    """`first, *rest, last = seq` as `first = seq[0]; rest = list(seq[1:-1]); last =
    seq[-1]` (rest a list, as Python makes it), seq evaluated once."""
    elts = target.elts
    k = next(i for i, t in enumerate(elts) if isinstance(t, gast.Starred))
    m = len(elts) - k - 1
    seq = _local_list(low, value, target, "unpacked")

    def const(v):
        return gast.Constant(value=v, kind=None)
    stmts = [gast.Assign(targets=[t], value=gast.Subscript(value=_name(seq), slice=const(i),
                                                           ctx=gast.Load()), type_comment=None)
             for i, t in enumerate(elts[:k])]
    middle = gast.Subscript(value=_name(seq), slice=gast.Slice(
        lower=const(k) if k else None, upper=const(-m) if m else None, step=None),
        ctx=gast.Load())
    stmts.append(gast.Assign(targets=[elts[k].value], value=gast.Call(
        func=_name("list"), args=[middle], keywords=[]), type_comment=None))
    stmts += [gast.Assign(targets=[t], value=gast.Subscript(value=_name(seq), slice=const(
        j - m), ctx=gast.Load()), type_comment=None) for j, t in enumerate(elts[k + 1:])]
    _builtin_names(low, target, "list")
    for st in stmts:
        low.stmt(_at(st, target))


def delete(low, s, line):
    """`del name`: the name is unbound (reading it later is refused); `del xs[i]` and
    `del obj.a` change a value in place and are refused."""
    for t in s.targets:
        if not isinstance(t, gast.Name) or t.id not in low.locals:
            raise low.error(UnsupportedSyntaxError, "del of anything but a local name "
                            f"({_describe(t)}) changes a value in place; build a new value "
                            "instead", s)
        if t.id not in low.version:
            raise low.error(UnsupportedSyntaxError, f"del {t.id}: {t.id!r} is not assigned "
                            "here", s)
        low.deleted.add(t.id)
        del low.version[t.id]


def _describe(node) -> str:
    return ast.unparse(gast.gast_to_ast(node))


def zip_star_value(low, node, dest):
    """`zip(*rows)` as a value, rows of a length known only when the derivative runs (an
    argument's list of pairs, a comprehension's): its columns, `[[r[k] for r in rows] for k
    in range(min([len(r) for r in rows]))]` (each a list: Python's are tuples); None when
    the call is not of that form or srcad knows how many rows there are."""
    if not (len(node.args) == 1 and not node.keywords and
            isinstance(node.args[0], gast.Starred)):
        return None
    v = node.args[0].value
    if isinstance(v, (gast.List, gast.Tuple)) or isinstance(v, gast.Name) and \
            low.seq_len.get(low.version.get(v.id)) is not None:
        return None                     # spread as its items: zip(a, b)
    _builtin_names(low, node, "range", "len", "min")
    rows = _local_list(low, v, node, "rows")
    r, k, r2 = low.new_local("row"), low.new_local("k"), low.new_local("row")
    count = gast.Call(func=_name("min"), args=[gast.ListComp(
        elt=gast.Call(func=_name("len"), args=[_name(r2)], keywords=[]),
        generators=[gast.comprehension(target=_name(r2, store=True), iter=_name(rows), ifs=[],
                                       is_async=0)])], keywords=[])
    column = gast.ListComp(elt=gast.Subscript(value=_name(r), slice=_name(k), ctx=gast.Load()),
                           generators=[gast.comprehension(target=_name(r, store=True),
                                                          iter=_name(rows), ifs=[], is_async=0)])
    comp = gast.ListComp(elt=column, generators=[gast.comprehension(
        target=_name(k, store=True), iter=gast.Call(func=_name("range"), args=[count],
                                                     keywords=[]), ifs=[], is_async=0)])
    for n in gast.walk(comp):
        if isinstance(n, gast.expr):
            gast.copy_location(n, node)
    return low.expr(comp, dest)


def zip_star(low, s, line):
    """`for t in zip(*rows)` as `for k in range(min(len(r) for r in rows)): t = [r[k] for r in
    rows]`; None when the loop is not of that form."""
    it = s.iter
    if not (isinstance(it, gast.Call) and len(it.args) == 1 and not it.keywords and
            isinstance(it.args[0], gast.Starred)):
        return None
    _builtin_names(low, s, "range", "len", "min")
    rows = _local_list(low, it.args[0].value, s, "rows")
    r, k = low.new_local("row"), low.new_local("k")
    count = gast.Call(func=_name("min"), args=[gast.ListComp(
        elt=gast.Call(func=_name("len"), args=[_name(r)], keywords=[]),
        generators=[gast.comprehension(target=_name(r, store=True), iter=_name(rows), ifs=[],
                                       is_async=0)])], keywords=[])
    column = gast.ListComp(elt=gast.Subscript(value=_name(r), slice=_name(k), ctx=gast.Load()),
                           generators=[gast.comprehension(target=_name(r, store=True),
                                                          iter=_name(rows), ifs=[], is_async=0)])
    head = gast.Assign(targets=[s.target], value=column, type_comment=None)
    loop = gast.For(target=_name(k, store=True), iter=gast.Call(
        func=_name("range"), args=[count], keywords=[]), body=[head] + s.body, orelse=s.orelse,
        type_comment=None)
    low.stmt(_at(loop, s))
    return True


def enumerated_zip(low, s):
    """A `for` over enumerate() or zip(): its targets, flattened where the loop is `for i,
    (x, y) in enumerate(zip(xs, ys))` (then also zip's arguments), else None for a target
    that is not a tuple."""
    target, it = s.target, s.iter
    if not isinstance(target, (gast.Tuple, gast.List)):
        return None, []
    inner = it.args[0] if it.args else None
    if len(target.elts) == 2 and isinstance(target.elts[1], (gast.Tuple, gast.List)) and \
            isinstance(inner, gast.Call) and not inner.keywords and \
            isinstance(inner.func, (gast.Name, gast.Attribute)) and \
            low.callee(it.func) is builtins.enumerate and \
            low.callee(inner.func) is builtins.zip and \
            len(target.elts[1].elts) == len(inner.args) and \
            not any(isinstance(a, gast.Starred) for a in inner.args):
        return [target.elts[0]] + list(target.elts[1].elts), list(inner.args)
    return list(target.elts), []


class Unbound:
    """What a variable a try/except block leaves unassigned holds after it (srcad's lifted
    block returns every variable it may assign); using it raises."""

    def __repr__(self):
        return "<unbound by a try/except block>"


UNBOUND = Unbound()


def try_finally(low, s):
    """`try: body finally: cleanup` (no except, no else): the body, then the cleanup,
    differentiated as if they stood alone, one after the other, as Python runs them when
    the body raises nothing (if it raises, the exception propagates and the cleanup does
    not run). A return, break or continue leaving the body or the cleanup (which Python
    routes through the cleanup) is refused."""
    def leaving(nodes, in_loop):
        for n in nodes:
            if isinstance(n, (gast.FunctionDef, gast.Lambda, gast.ClassDef)):
                continue
            if isinstance(n, (gast.Return, gast.Yield, gast.YieldFrom)) or \
                    isinstance(n, (gast.Break, gast.Continue)) and not in_loop:
                return n
            inner = leaving(gast.iter_child_nodes(n), in_loop or isinstance(
                n, (gast.For, gast.While)))
            if inner is not None:
                return inner
        return None
    bad = leaving(s.body + s.finalbody, False)
    if bad is not None:
        what = type(bad).__name__.lower()
        raise low.error(UnsupportedSyntaxError, f"{what} inside try/finally is not supported "
                        "(Python runs the finally block on the way out); move it after the "
                        "try statement", bad)
    for st in s.body + s.finalbody:
        low.stmt(st)


# What a try/except block may change in place is read off the rules of what it calls
# (Rule.inplace; a rule that cannot bind the call as written does not describe it); these
# are the callees that have no rule and only read what they are passed: builtins (not
# rebound locally) and methods (of str, dict, list, float) that change nothing
_READING_BUILTINS = frozenset(getattr(builtins, n) for n in (
    "complex", "str", "repr", "format", "print", "type", "isinstance", "issubclass",
    "hasattr", "getattr", "callable", "any", "all", "enumerate", "zip", "sorted", "list",
    "tuple", "dict", "set", "frozenset", "id", "hash", "iter", "open", "__import__"))
_READING_METHODS = frozenset({
    "get", "index", "count", "startswith", "endswith", "strip", "lstrip", "rstrip", "split",
    "join", "lower", "upper", "format", "replace", "find", "encode", "decode", "is_integer",
    "__contains__"})


def _root(node):
    while isinstance(node, (gast.Subscript, gast.Attribute, gast.Starred)):
        node = node.value
    return node.id if isinstance(node, gast.Name) else None


def _base_names(node) -> list:
    """The variables whose objects `node` (an item, attribute or method's receiver) may be
    part of: its root variable, or, where it is rooted in a call or other expression
    (`np.asarray(y)[0]`, which may be y itself), every variable that expression reads."""
    while isinstance(node, (gast.Subscript, gast.Attribute, gast.Starred)):
        node = node.value
    if isinstance(node, gast.Name):
        return [node.id]
    return [m.id for m in gast.walk(node) if isinstance(m, gast.Name)]


def _passed(arg) -> list:
    """The variables whose objects argument expression `arg` may pass to a callee: every one
    it reads but in an f-string (which passes a new str)."""
    if isinstance(arg, gast.JoinedStr):
        return []
    if isinstance(arg, gast.Name):
        return [arg.id]
    return [m for c in gast.iter_child_nodes(arg) for m in _passed(c)]


def _rule_reads(rule, call, method=False) -> bool:
    """Whether `call`, of a primitive with `rule` (a function's, or a method's with the
    receiver first), changes none of its arguments: the rule is not `inplace`, binds the
    call as written (its parameters describe it: np.nan_to_num's copy=False, which changes
    x, has none), and is given no `out=`. (A result that may be the argument itself, as
    np.asarray's, changes nothing; a change through it is one of a variable or an
    expression's, which _changed_in_place sees.)"""
    if rule is None or rule.inplace or any(k.arg == "out" or k.arg is None
                                           for k in call.keywords):
        return False
    kwnames = [k.arg for k in call.keywords]
    nargs = len(call.args) + method                 # (a method's receiver comes first)
    if any(isinstance(a, gast.Starred) for a in call.args) or \
            isinstance(rule.for_call(nargs, kwnames).bind(nargs, kwnames), str):
        return False
    return True


def _callee(low, func, local: set):
    """The object function expression `func` of a call in a try statement resolves to, or
    None: a value of the variables `local`, a method of a value, or a name the block may
    define itself or catch the NameError of."""
    root = func
    while isinstance(root, gast.Attribute):
        root = root.value
    if not isinstance(root, gast.Name) or root.id in local:
        return None
    try:
        return low.callee(func)
    except SrcadError:
        return None


def _no_derivative(low, e, local: set) -> bool:
    """Whether expression `e` carries no derivative whatever it reads, by its rules
    (`Rule.differentiable` False: `x.shape[0]`, `len(x) - 1`, `int(text)`, `x.argmax()`)."""
    if isinstance(e, gast.Constant):
        return True
    if isinstance(e, gast.Subscript):
        return _no_derivative(low, e.value, local)
    if isinstance(e, gast.BinOp):
        return _no_derivative(low, e.left, local) and _no_derivative(low, e.right, local)
    if isinstance(e, gast.UnaryOp):
        return _no_derivative(low, e.operand, local)
    if isinstance(e, gast.Attribute) and isinstance(e.ctx, gast.Load):
        rule = rules.lookup(("attr", e.attr))
        return rule is not None and not rule.differentiable
    if isinstance(e, gast.Call):
        f = e.func
        obj = _callee(low, f, local) if isinstance(f, (gast.Name, gast.Attribute)) else None
        rule = rules.lookup(obj) if obj is not None else \
            rules.lookup_method(f.attr) if isinstance(f, gast.Attribute) else None
        return rule is not None and not rule.differentiable
    return False


def _changed_in_place(low, s, local: set) -> list:
    """What try statement `s` may change in place of the variables `local`: a pair (name,
    how) for each item or attribute assignment or deletion, augmented assignment (`y +=`
    on an array changes it), call of a method that may write, and variable passed to a
    function that may. A call's facts are its rule's (`Rule.inplace`): a callee with no
    rule may change what it is passed, unless it is one of the reading builtins or
    methods above."""
    out = []

    def add(name, how):
        if name in local and all(n != name for n, _ in out):
            out.append((name, how))

    def callee(func):
        return _callee(low, func, local)
    for n in gast.walk(s):
        if isinstance(n, (gast.Subscript, gast.Attribute)) and \
                isinstance(n.ctx, (gast.Store, gast.Del)):
            for name in _base_names(n):
                add(name, "an item or attribute assignment")
        elif isinstance(n, gast.AugAssign):
            for name in _base_names(n.target):
                add(name, "an augmented assignment")
        elif isinstance(n, gast.Call):
            f = n.func
            obj = callee(f) if isinstance(f, (gast.Name, gast.Attribute)) else None
            if obj is None and isinstance(f, gast.Attribute):
                # a method of a value (x.sum(), ys.append(v), np.asarray(y).sort())
                rule = rules.lookup_method(f.attr)
                reading = _rule_reads(rule, n, method=True) if rule is not None else \
                    f.attr in _READING_METHODS and not any(k.arg == "out" for k in n.keywords)
                if not reading:
                    for name in _base_names(f.value):
                        add(name, f".{f.attr}(...)")
            elif obj is None:
                reading = False
            else:
                rule = rules.lookup(obj)
                reading = _rule_reads(rule, n) if rule is not None else \
                    any(obj is b for b in _READING_BUILTINS) and \
                    not any(k.arg == "out" for k in n.keywords)
            if not reading:
                for a in list(n.args) + [k.value for k in n.keywords]:
                    for m in _passed(a):
                        add(m, "passed to a function that may change it")
    return out


def _flows(low, s, written, local: set) -> dict:
    """For each variable try statement `s` assigns, the variables whose values may flow
    into it (through any chain of its assignments, flow-insensitively; none through a value
    that carries no derivative by its rules, see _no_derivative): an exception bound by
    `except E as e` may hold any value the block reads. `local`: the function's variables
    and the block's."""
    direct = {w: set() for w in written}
    everything = {n.id for n in gast.walk(s) if isinstance(n, gast.Name)}
    for n in gast.walk(s):
        if isinstance(n, (gast.Assign, gast.AugAssign, gast.AnnAssign, gast.For,
                          gast.NamedExpr)):
            value = n.iter if isinstance(n, gast.For) else n.value
            targets = n.targets if isinstance(n, gast.Assign) else [n.target]
            stores = {m.id for t in targets for m in gast.walk(t) if isinstance(m, gast.Name)
                      and isinstance(m.ctx, gast.Store)}
            loads = {m.id for m in gast.walk(value) if isinstance(m, gast.Name)
                     and isinstance(m.ctx, gast.Load)} \
                if value is not None and not _no_derivative(low, value, local) else set()
            if isinstance(n, gast.AugAssign):
                loads |= stores
            for w in stores:
                direct.setdefault(w, set()).update(loads)
        elif isinstance(n, gast.ExceptHandler) and n.name is not None:
            name = n.name.id if isinstance(n.name, gast.Name) else n.name
            direct.setdefault(name, set()).update(everything)
        elif isinstance(n, (gast.With, gast.AsyncWith)):
            for item in n.items:
                if item.optional_vars is not None:
                    loads = {m.id for m in gast.walk(item.context_expr)
                             if isinstance(m, gast.Name)}
                    for m in gast.walk(item.optional_vars):
                        if isinstance(m, gast.Name):
                            direct.setdefault(m.id, set()).update(loads)
        elif isinstance(n, (gast.comprehension,)):
            loads = {m.id for m in gast.walk(n.iter) if isinstance(m, gast.Name)} \
                if not _no_derivative(low, n.iter, local) else set()
            for m in gast.walk(n.target):
                if isinstance(m, gast.Name):
                    direct.setdefault(m.id, set()).update(loads)
    out = {}
    for w in written:
        seen, todo = set(), [w]
        while todo:
            for r in direct.get(todo.pop(), ()):
                if r not in seen:
                    seen.add(r)
                    todo.append(r)
        out[w] = frozenset(seen)
    return out


def try_(low, s, line):
    """`try: ... except ...: ...` run as one call of the block itself, lifted into a
    function of the variables it reads that returns the variables it assigns (so it runs
    exactly as in the primal, exceptions and all), kept as written in the primal part of
    the derivative. When a derivative flows into it, it is refused (lower.check_rules)
    unless no variable it assigns carries a derivative and it changes none in place.
    try/finally with no except: see try_finally."""
    if not s.handlers and not s.orelse:
        return try_finally(low, s)
    def jumps(nodes, in_loop):
        for n in nodes:
            if isinstance(n, (gast.Return, gast.Yield, gast.YieldFrom, gast.FunctionDef,
                              gast.Lambda, gast.ClassDef, gast.Global, gast.Nonlocal)) or \
                    isinstance(n, (gast.Break, gast.Continue)) and not in_loop:
                return n
            inner = jumps(gast.iter_child_nodes(n), in_loop or isinstance(n, (gast.For,
                                                                                gast.While)))
            if inner is not None:
                return inner
        return None
    bad = jumps([s], False)
    if bad is not None:
        what = type(bad).__name__.lower()
        raise low.error(UnsupportedSyntaxError, f"a try/except block containing {what} is not "
                        "supported; srcad runs the block as one call", bad)
    names = [n for n in gast.walk(s) if isinstance(n, gast.Name)]
    written = sorted({n.id for n in names if isinstance(n.ctx, gast.Store)})
    bound = set(low.version)
    reads = sorted({n.id for n in names if isinstance(n.ctx, gast.Load) and n.id in bound} |
                   (set(written) & bound))
    results = [_name(w) if w in bound else gast.Call(
        func=gast.Attribute(value=gast.Call(func=_name("locals"), args=[], keywords=[]),
                            attr="get", ctx=gast.Load()),
        args=[gast.Constant(value=w, kind=None), _name("__srcad_unbound__")], keywords=[])
        for w in written]
    params = [gast.Name(id=r, ctx=gast.Param(), annotation=None, type_comment=None)
              for r in reads]
    unbound = gast.Name(id="__srcad_unbound__", ctx=gast.Param(), annotation=None,
                        type_comment=None)
    body = [s, gast.Return(value=gast.Tuple(elts=results, ctx=gast.Load()))]
    fn = gast.FunctionDef(name="try_block", args=gast.arguments(
        args=params, posonlyargs=[], vararg=None, kwonlyargs=[unbound],
        kw_defaults=[gast.Constant(value=None, kind=None)], kwarg=None, defaults=[]),
        body=body, decorator_list=[], returns=None, type_comment=None, type_params=[])
    tree = gast.gast_to_ast(gast.Module(body=[_at(fn, s)], type_ignores=[]))
    text = "\n" * (line - 1) + ast.unparse(ast.fix_missing_locations(tree)) + "\n"
    code = compile(text, low.p.filename, "exec")
    fcode = next(c for c in code.co_consts if isinstance(c, type(code)))
    import types
    block = types.FunctionType(fcode, low.p.globals, "try_block")
    block.__kwdefaults__ = {"__srcad_unbound__": UNBOUND}
    changes = _changed_in_place(low, s, bound | set(written))
    flows = _flows(low, s, written, bound | set(written))
    # (a variable bound before may leave it holding its old value)
    sources = tuple(tuple(sorted((flows[w] | ({w} & bound)) & set(reads))) for w in written)
    block.__srcad_try_block__ = (tuple(written), tuple(changes), reads, sources)
    prim = low.try_block(block, written, changes, reads, sources)
    low.line = line
    out = low.call_prim(prim, [low.name(_name(r)) for r in reads])
    if written:
        target = gast.Tuple(elts=[_name(w, store=True) for w in written], ctx=gast.Store())
        low.assign_atom(target, out, line)


def _flag_breaks(body: list, flag: str) -> tuple:
    """`body` with each `break` of this loop (not of a loop nested in it) preceded by
    `flag = True`, and whether there was one."""
    found = False

    def block(stmts):
        nonlocal found
        out = []
        for s in stmts:
            if isinstance(s, gast.Break):
                found = True
                out.append(_at(gast.Assign(targets=[_name(flag, store=True)],
                                           value=gast.Constant(value=True, kind=None),
                                           type_comment=None), s))
                out.append(s)
                continue
            if isinstance(s, (gast.For, gast.AsyncFor, gast.While, gast.FunctionDef,
                              gast.AsyncFunctionDef, gast.ClassDef)):
                out.append(s)                  # a break there leaves that loop
                continue
            for field in ("body", "orelse", "finalbody"):
                if isinstance(getattr(s, field, None), list):
                    setattr(s, field, block(getattr(s, field)))
            for h in getattr(s, "handlers", None) or []:
                h.body = block(h.body)
            for c in getattr(s, "cases", None) or []:
                c.body = block(c.body)
            out.append(s)
        return out

    return block(body), found


def loop_else(low, s):
    """`for ...: ... else: E` (or `while`) as Python runs it: E runs when the loop ends
    without `break`. The loop sets a flag of srcad's own before each of its breaks, and E
    runs under `if not flag:`; a loop with no break just runs E after it."""
    s = copy.deepcopy(s)
    orelse, s.orelse = s.orelse, []
    flag = low.new_local("broke")
    s.body, found = _flag_breaks(s.body, flag)
    if not found:
        low.stmt(s)
        for e in orelse:
            low.stmt(e)
        return
    low.stmt(_at(gast.Assign(targets=[_name(flag, store=True)],
                             value=gast.Constant(value=False, kind=None), type_comment=None), s))
    low.stmt(s)
    low.stmt(_at(gast.If(test=gast.UnaryOp(op=gast.Not(), operand=_name(flag)), body=orelse,
                         orelse=[]), s))


_OWN_SCOPE = (gast.Lambda, gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp)
_OWN_SCOPES = frozenset(_OWN_SCOPE)


def has_walrus(exprs) -> bool:
    """Whether an assignment expression stands in `exprs` outside a lambda or comprehension
    (those are lowered where they are: a comprehension's own loop hoists its own)."""
    todo = [e for e in exprs if isinstance(e, gast.AST)]
    children = funcs._children         # the lowering asks this of every statement
    while todo:
        n = todo.pop()
        if n.__class__ is gast.NamedExpr:
            return True
        if n.__class__ not in _OWN_SCOPES:
            todo += children(n)
    return False


def hoist_walrus(low, exprs: list) -> tuple:
    """`exprs` (one statement's expressions, in the order Python evaluates them) with each
    `(n := e)` replaced by `n`, and the statements `n = e` that run first, in order.
    Refused where hoisting would change what runs or what is read: under `and`/`or` or a
    conditional expression, or where the statement reads `n` before the `:=` binds it."""
    hoisted, loads = [], set()

    def visit(n, cond):
        if isinstance(n, _OWN_SCOPE):
            loads.update(m.id for m in gast.walk(n) if isinstance(m, gast.Name))
            return n
        if isinstance(n, gast.NamedExpr):
            if cond:
                raise low.error(UnsupportedSyntaxError, "an assignment expression (:=) under "
                                "`and`/`or` or in a conditional expression's branch is not "
                                "supported; assign it in a statement before", n)
            before = set(loads)
            value = visit(n.value, cond)
            t = n.target.id
            if t in before:
                raise low.error(UnsupportedSyntaxError, f"an assignment expression ({t} := ...) "
                                f"in a statement that reads {t} before it is bound is not "
                                "supported; assign it in a statement before", n)
            hoisted.append(_at(gast.Assign(targets=[_name(t, store=True)], value=value,
                                           type_comment=None), n))
            loads.add(t)
            return _at(_name(t), n)
        if isinstance(n, gast.Name):
            loads.add(n.id)
            return n
        if isinstance(n, gast.BoolOp):
            n.values = [visit(v, cond or i > 0) for i, v in enumerate(n.values)]
            return n
        if isinstance(n, gast.IfExp):
            n.test = visit(n.test, cond)
            n.body, n.orelse = visit(n.body, True), visit(n.orelse, True)
            return n
        for field, old in gast.iter_fields(n):
            if isinstance(old, gast.AST):
                setattr(n, field, visit(old, cond))
            elif isinstance(old, list):
                setattr(n, field, [visit(v, cond) if isinstance(v, gast.AST) else v
                                   for v in old])
        return n

    out = [visit(e, False) if isinstance(e, gast.AST) else e for e in exprs]
    return hoisted, out


def walrus_statement(low, s):
    """Statement `s` with its assignment expressions hoisted before it (`if (n := e) > 1:`
    is `n = e; if n > 1:`); a `while` whose test binds one re-evaluates it each time
    round: `while True: n = e; if not (test): <else>; break; ...`."""
    s = copy.deepcopy(s)
    if isinstance(s, gast.While):
        hoisted, (test,) = hoist_walrus(low, [s.test])
        stop = _at(gast.If(test=gast.UnaryOp(op=gast.Not(), operand=test),
                           body=s.orelse + [_at(gast.Break(), s)], orelse=[]), s)
        loop = gast.While(test=gast.Constant(value=True, kind=None),
                          body=hoisted + [stop] + s.body, orelse=[])
        return [_at(loop, s)]
    fields = [f for f, v in gast.iter_fields(s) if isinstance(v, gast.expr) or
              (isinstance(v, list) and v and all(isinstance(e, gast.AST) and
                                                 not isinstance(e, gast.stmt) for e in v))]
    if isinstance(s, (gast.Assign, gast.AnnAssign)):      # the value runs before the targets
        fields.sort(key=lambda f: f != "value")
    if isinstance(s, gast.AugAssign) and isinstance(s.target, gast.Name):
        fields = ["target"] + [f for f in fields if f != "target"]
    exprs = [getattr(s, f) for f in fields]
    flat = [e for v in exprs for e in (v if isinstance(v, list) else [v])]
    if isinstance(s, gast.AugAssign) and isinstance(s.target, gast.Name):
        flat[0] = _name(s.target.id)                          # read before the value runs
    hoisted, new = hoist_walrus(low, flat)
    it = iter(new)
    for f, v in zip(fields, exprs):
        got = [next(it) for _ in v] if isinstance(v, list) else next(it)
        if not (isinstance(s, gast.AugAssign) and f == "target"):
            setattr(s, f, got)
    return hoisted + [s]


def own_exprs(s) -> list:
    """The expressions statement `s` itself evaluates (not those of its blocks)."""
    out = []
    for _, v in gast.iter_fields(s):
        if isinstance(v, gast.expr):
            out.append(v)
        elif isinstance(v, list):
            out.extend(e for e in v if isinstance(e, gast.AST) and not isinstance(e, gast.stmt))
    return out


_SELF_MATCHING = (bool, bytearray, bytes, dict, float, frozenset, int, list, set, str, tuple)


def _c(v):
    return gast.Constant(value=v, kind=None)


def _call(fname, *args):
    return gast.Call(func=_name(fname), args=list(args), keywords=[])


def _pattern(low, p, subj, binds: list):
    """The test (a gast expression) that pattern `p` matches `subj`, appending to `binds`
    the assignments its captures make once it matches."""
    if isinstance(p, gast.MatchAs):
        test = _c(True) if p.pattern is None else _pattern(low, p.pattern, subj, binds)
        if p.name is not None:
            binds.append(gast.Assign(targets=[_name(p.name, store=True)], value=subj,
                                     type_comment=None))
        return test
    if isinstance(p, gast.MatchValue):
        return gast.Compare(left=subj, ops=[gast.Eq()], comparators=[p.value])
    if isinstance(p, gast.MatchSingleton):
        return gast.Compare(left=subj, ops=[gast.Is()], comparators=[_c(p.value)])
    if isinstance(p, gast.MatchSequence):
        if any(isinstance(q, gast.MatchStar) for q in p.patterns):
            raise low.error(UnsupportedSyntaxError, "a sequence pattern with *rest in match "
                            "is not supported", p)
        tests = [_call("isinstance", subj, gast.Tuple(elts=[_name("list"), _name("tuple")],
                                                      ctx=gast.Load())),
                 gast.Compare(left=_call("len", subj), ops=[gast.Eq()],
                              comparators=[_c(len(p.patterns))])]
        for i, q in enumerate(p.patterns):
            tests.append(_pattern(low, q, gast.Subscript(value=subj, slice=_c(i),
                                                         ctx=gast.Load()), binds))
        return gast.BoolOp(op=gast.And(), values=tests)
    if isinstance(p, gast.MatchMapping):
        if p.rest is not None:
            raise low.error(UnsupportedSyntaxError, "a mapping pattern with **rest in match "
                            "is not supported", p)
        tests = [_call("isinstance", subj, _name("dict"))]
        for k, q in zip(p.keys, p.patterns):
            tests.append(gast.Compare(left=k, ops=[gast.In()], comparators=[subj]))
            tests.append(_pattern(low, q, gast.Subscript(value=subj, slice=k,
                                                         ctx=gast.Load()), binds))
        return gast.BoolOp(op=gast.And(), values=tests)
    if isinstance(p, gast.MatchClass):
        tests = [_call("isinstance", subj, p.cls)]
        if p.patterns:
            cls = low.callee(p.cls) if isinstance(p.cls, (gast.Name, gast.Attribute)) else None
            if cls not in _SELF_MATCHING or len(p.patterns) > 1:
                raise low.error(UnsupportedSyntaxError, "a class pattern with positional "
                                "sub-patterns in match is supported for builtin types "
                                "(int(n)) only; name the attributes (Point(x=a))", p)
            tests.append(_pattern(low, p.patterns[0], subj, binds))
        for a, q in zip(p.kwd_attrs, p.kwd_patterns):
            tests.append(_call("hasattr", subj, _c(a)))
            tests.append(_pattern(low, q, gast.Attribute(value=subj, attr=a, ctx=gast.Load()),
                                  binds))
        return gast.BoolOp(op=gast.And(), values=tests)
    if isinstance(p, gast.MatchOr):
        alts = []
        for q in p.patterns:
            inner = []
            alts.append(_pattern(low, q, subj, inner))
            if inner:
                raise low.error(UnsupportedSyntaxError, "an or-pattern that captures names "
                                "in match is not supported", p)
        return gast.BoolOp(op=gast.Or(), values=alts)
    raise low.error(UnsupportedSyntaxError, f"the pattern {type(p).__name__} in match is not "
                    "supported", p)


def match(low, s):
    """`match` as the if/else chain Python runs: the subject is evaluated once, each case
    tests its pattern (isinstance, len, ==, `in`, hasattr), binds its captures, then tests
    its guard; a case whose pattern or guard fails goes on to the next (the rest of the
    chain is repeated in a guard's else), and an irrefutable case is the chain's last else,
    so a variable every case assigns is assigned after the match."""
    s = copy.deepcopy(s)
    for n in ("isinstance", "len", "list", "tuple", "dict", "hasattr"):
        if n in low.locals:
            raise low.error(UnsupportedSyntaxError, f"match in a function whose local {n!r} "
                            "shadows the builtin its patterns test with is not supported", s)
        low.reserved.add(n)                  # builtins the generated code names
        low.taken.add(n)
    subj = _local_list(low, s.subject, s, base="subject")

    def chain(cases) -> list:
        if not cases:
            return []
        case, rest = cases[0], cases[1:]
        binds = []
        test = _pattern(low, case.pattern, _name(subj), binds)
        body = case.body
        if case.guard is not None:           # a failed guard goes on to the next case
            body = [_at(gast.If(test=case.guard, body=body, orelse=chain(rest)), case.pattern)]
        if isinstance(test, gast.Constant) and test.value is True:
            return [_at(b, case.pattern) for b in binds] + body
        return [_at(gast.If(test=test, body=binds + body, orelse=chain(rest)), case.pattern)]

    for st in chain(s.cases):
        low.stmt(st)
