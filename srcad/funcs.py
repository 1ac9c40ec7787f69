"""Functions as values: what the lowering knows about a callable at build time.

A function value (a lambda, a nested def, a function argument, `functools.partial(h, a)`,
`srcad.grad(g)`) is never data in srcad's SSA: the lowering knows the callable it stands
for and lowers each call of it as a call of that callable. What the value captures (a
closure's outer variables, a partial's arguments) is passed explicitly, so derivatives
flow through it. A user helper called with a function value is specialised: a helper of
its own (`specialize`) whose function parameter is replaced by parameters for what the
value captures; the function value is rebuilt inside it by a `Maker`.
"""
from __future__ import annotations

import ast
import copy
import functools
import inspect
import textwrap
import types
from dataclasses import dataclass, field

import gast
import numpy as np

from . import ir
from .errors import UnsupportedSyntaxError
from .optimize import NODE_FIELDS


@dataclass
class FuncVal:
    """A callable known at build time. A call `fv(*a, **k)` is `obj(*pre, *a', *extras,
    **kw, **k)`, where `a'` is `a` completed to `nown` arguments from `names`/`defaults`
    when there are extras (a lifted def's trailing parameters for the outer variables it
    reads, `extras` naming them: read when the value is called, as Python reads a closure)."""
    obj: object
    pre: list = field(default_factory=list)      # atoms bound first (partial)
    kw: dict = field(default_factory=dict)       # keyword atoms (partial)
    extras: list = field(default_factory=list)   # variable names passed after own parameters
    nown: int = 0                                # own positional parameters (with extras)
    names: tuple = ()                            # their names
    defaults: tuple = ()                         # the defaults of the last of them
    label: str = "function"                      # for messages
    tail: bool = False        # a derivative: arguments after its own go after the extras
    root: object = None       # for a functools.partial object: the atom holding it
    starred: bool = False     # a lifted def with *args, **kwargs or keyword-only parameters:
    #                           the extras are passed by keyword (obj binds the rest itself)
    renamed: dict = field(default_factory=dict)  # starred: extra -> the variable holding it

    def layout(self) -> tuple:
        """What a Maker needs to rebuild this value from its captured atoms."""
        return (self.obj, len(self.pre), tuple(self.kw), len(self.extras), self.nown,
                self.names, self.defaults, self.label, self.tail,
                tuple(self.extras) if self.starred else None)


@dataclass
class FuncList:
    """A list, tuple or dict of function values known at build time (`[np.tanh, h]`)."""
    items: object            # list of FuncVal, or dict key -> FuncVal
    label: str = "list of functions"
    display: type = None     # list or tuple: made by a display or comprehension of yours
    #                          (`acts = [np.tanh, h]`), so it may be passed on as that object


class Maker:
    """Rebuilds a function value inside a specialised helper from the atoms it captured;
    called when the helper runs as plain Python, it makes a real callable."""

    def __init__(self, layout):
        self.layout = layout

    def __call__(self, *captured):
        return Bound(self.layout, captured)

    def funcval(self, atoms, names) -> FuncVal:
        """The value for the lowering: `atoms` the captured atoms, `names` their variables."""
        obj, npre, kwnames, nextras, nown, own, defaults, label, tail, starred = self.layout
        pre = list(atoms[:npre])
        kw = dict(zip(kwnames, atoms[npre:npre + len(kwnames)]))
        extras = list(names[npre + len(kwnames):])
        if starred is not None:     # the extras go by keyword: under the def's own names
            return FuncVal(obj, pre, kw, list(starred), nown, own, defaults, label, tail,
                           starred=True, renamed=dict(zip(starred, extras)))
        return FuncVal(obj, pre, kw, extras, nown, own, defaults, label, tail)


class Bound:
    """A function value as a Python callable (a specialised helper run as the primal)."""

    def __init__(self, layout, captured):
        self.layout, self.captured = layout, captured

    def __call__(self, *args, **kwargs):
        obj, npre, kwnames, nextras, nown, own, defaults, label, tail, starred = self.layout
        c = self.captured
        pre, kw = list(c[:npre]), dict(zip(kwnames, c[npre:npre + len(kwnames)]))
        extras = list(c[npre + len(kwnames):])
        if starred is not None:
            return obj(*pre, *args, **kw, **kwargs, **dict(zip(starred, extras)))
        args = pre + list(args)
        if nextras and tail and len(args) > nown:
            args = args[:nown] + extras + args[nown:]
        elif nextras:
            for k in range(len(args), nown):
                name = own[k]
                if name in kwargs:
                    args.append(kwargs.pop(name))
                else:
                    args.append(defaults[k - (nown - len(defaults))])
            args += extras
        return obj(*args, **kw, **kwargs)


def is_function(obj) -> bool:
    """Whether an argument is a function value (specialised on, never differentiated)."""
    return isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                            np.ufunc, functools.partial))


class FuncArg:
    """The kind of a function argument: the function itself, compared by identity, so a
    derivative is built per function and another function never reuses it."""
    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return isinstance(other, FuncArg) and other.obj is self.obj

    def __hash__(self):
        return hash(id(self.obj))

    def __repr__(self):
        from .frontend import describe
        return f"fn:{describe(self.obj)}"


_SPECS: dict = {}


def _memoised(key, make):
    """`make()`, made once per `key` (a key with an unhashable default: made each time)."""
    try:
        found = _SPECS.get(key)
    except TypeError:
        return make()
    if found is None:
        found = _SPECS[key] = make()
    return found


def specialize(helper, parsed, fparams: dict, line: int):
    """`helper` with each parameter in `fparams` (name -> FuncVal) replaced by parameters
    for what its value captures, rebuilt first thing by a Maker; every other parameter is
    positional and without default (the caller passes them all). Memoised per layout."""
    key = (helper, helper.__code__, helper.__defaults__,
           tuple((p, fv.layout(), tuple(fv.extras)) for p, fv in sorted(fparams.items())))
    return _memoised(key, lambda: _specialize(helper, parsed, fparams, line))


def _specialize(helper, parsed, fparams: dict, line: int):
    tree = parsed.tree
    args = tree.args
    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        raise UnsupportedSyntaxError(f"{helper.__qualname__} takes a function value but has "
                                     "*args, **kwargs or keyword-only parameters",
                                     parsed.filename, line)
    own = [a.id for a in args.args]
    taken = set(own) | {n.id for n in gast.walk(tree) if isinstance(n, gast.Name)}

    def fresh(base):
        return ir.unique_name(base, taken)
    new_params, makers, prelude = [], {}, []
    for p in own:
        if p not in fparams:
            new_params.append(p)
    for p in own:
        if p in fparams:
            fv = fparams[p]
            # named for what they hold: a partial's arguments, a closure's variables
            cap = [fresh(f"{p}_arg{i}") for i in range(len(fv.pre))] + \
                [fresh(f"{p}_{k}") for k in fv.kw] + [fresh(f"{p}_{x}") for x in fv.extras]
            new_params += cap
            mk = fresh(f"{p}_make")
            makers[mk] = Maker(fv.layout())
            prelude.append(f"{p} = {mk}({', '.join(cap)})")
    func = _rebuilt(helper, parsed, new_params, prelude, makers)
    return func


def unstar(helper, parsed, nvar: int, kwnames: tuple):
    """`helper` for a call passing `nvar` items to its `*args` and the keywords `kwnames`
    to its `**kwargs`: every parameter positional (`def h(a, *xs, k=1, **kw)` called as
    `h(a, u, v, k=2, c=w)` is `def h(a, xs_0, xs_1, k, kw_c)`), the tuple and the dict
    rebuilt first thing (`xs = (xs_0, xs_1); kw = {'c': kw_c}`), so their lengths and keys
    are known inside. Memoised per code and call shape."""
    key = ("unstar", helper, helper.__code__, helper.__defaults__, nvar, kwnames)
    return _memoised(key, lambda: _unstar(helper, parsed, nvar, kwnames))


def _unstar(helper, parsed, nvar: int, kwnames: tuple):
    args = parsed.tree.args
    params = [a.id for a in list(args.posonlyargs) + list(args.args)]
    taken = set(params) | {n.id for n in gast.walk(parsed.tree) if isinstance(n, gast.Name)}

    def fresh(base):
        return ir.unique_name(base, taken)
    prelude = []
    if args.vararg:
        items = [fresh(f"{args.vararg.id}_{i}") for i in range(nvar)]
        params += items
        prelude.append(f"{args.vararg.id} = ({''.join(i + ', ' for i in items)})")
    params += [a.id for a in args.kwonlyargs]
    if args.kwarg:
        items = [fresh(f"{args.kwarg.id}_{k}") for k in kwnames]
        params += items
        pairs = ", ".join(f"{k!r}: {i}" for k, i in zip(kwnames, items))
        prelude.append(f"{args.kwarg.id} = {{{pairs}}}")
    func = _rebuilt(helper, parsed, params, prelude, {})
    return func


def is_generator(obj) -> bool:
    """Whether `obj` is a user generator function (`def unpack(w): ... yield W, b`)."""
    return isinstance(obj, types.FunctionType) and bool(obj.__code__.co_flags & 0x20) and \
        not hasattr(obj, "__srcad_transform__")


def eager(helper, parsed):
    """Generator `helper` as a function returning the list of what it yields (`yield e`
    becomes `items.append(e)`, `yield from e` `items.extend(e)`, `return` `return items`):
    what a `for` loop over its call iterates, computed first. The caller refuses the call
    where running the generator first could change what it yields (lowering's
    generator_call). Memoised per code and defaults."""
    return _memoised(("eager", helper, helper.__code__, helper.__defaults__),
                     lambda: _eager(helper, parsed))


def _eager(helper, parsed):
    tree = copy.deepcopy(parsed.tree)
    args = tree.args
    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        raise UnsupportedSyntaxError(f"the generator {helper.__qualname__} has *args, **kwargs "
                                     "or keyword-only parameters", parsed.filename,
                                     parsed.lineno(tree))
    taken = {n.id for n in gast.walk(tree) if isinstance(n, gast.Name)}
    out = ir.unique_name("items", taken)

    def name(ctx):
        return gast.Name(id=out, ctx=ctx, annotation=None, type_comment=None)

    def refuse(node, what):
        raise UnsupportedSyntaxError(f"{what} in the generator {helper.__qualname__}",
                                     parsed.filename, parsed.lineno(node))

    class Eager(gast.NodeTransformer):
        def visit_FunctionDef(self, node):      # a nested def's yields are its own
            return node
        visit_Lambda = visit_AsyncFunctionDef = visit_FunctionDef

        def visit_Expr(self, node):
            v = node.value
            if isinstance(v, (gast.Yield, gast.YieldFrom)):
                if v.value is not None:
                    v.value = self.visit(v.value)
                method = "append" if isinstance(v, gast.Yield) else "extend"
                item = v.value if v.value is not None else gast.Constant(value=None, kind=None)
                call = gast.Call(func=gast.Attribute(value=name(gast.Load()), attr=method,
                                                     ctx=gast.Load()), args=[item], keywords=[])
                return gast.copy_location(gast.Expr(value=call), node)
            return self.generic_visit(node)

        def visit_Yield(self, node):
            refuse(node, "a yield whose value is used (generator.send)")
        visit_YieldFrom = visit_Yield

        def visit_Return(self, node):
            if node.value is not None:
                refuse(node, "return with a value")
            node.value = name(gast.Load())
            return node

        def visit_While(self, node):
            forever = isinstance(node.test, gast.Constant) and bool(node.test.value)
            leaves = any(isinstance(n, (gast.Break, gast.Return)) for n in gast.walk(node))
            if forever and not leaves:
                refuse(node, "an endless loop (srcad runs a generator to its end first)")
            return self.generic_visit(node)

    body = [Eager().visit(st) for st in tree.body]
    start = gast.Assign(targets=[name(gast.Store())], value=gast.List(elts=[], ctx=gast.Load()),
                        type_comment=None)
    end = gast.Return(value=name(gast.Load()))
    gast.copy_location(start, tree.body[0])
    gast.copy_location(end, tree.body[-1])
    end.lineno = max(getattr(n, "lineno", 0) for n in gast.walk(tree.body[-1]))
    tree.body = body + [end]
    params = [a.id for a in args.args]
    copied = copy.copy(parsed)
    copied.tree = tree
    func = _rebuilt(helper, copied, params, [f"{out} = []"], {})
    func.__defaults__ = helper.__defaults__
    return func


def fixed(obj, nvar: int, kwnames: tuple):
    """`obj`, a user function with `*args` or `**kwargs` or a srcad transform of one
    (`__srcad_star__`), for a call passing `nvar` items to its `*args` and the keywords
    `kwnames` to its `**kwargs`: a function taking them all positionally (`unstar`)."""
    star = vars(obj).get("__srcad_star__")
    if star is not None:
        return star(nvar, kwnames)
    from .frontend import parse
    return unstar(obj, parse(obj), nvar, kwnames)


def _rebuilt(helper, parsed, new_params, prelude, makers):
    """`helper`'s body under the header `def name(*new_params)`, `prelude` its first line,
    compiled at the user's lines (so messages name them) with `makers` as closure cells."""
    tree = parsed.tree
    first = parsed.lineno(tree)
    fn = gast.gast_to_ast(tree)
    header = f"def {tree.name}({', '.join(new_params)}):"
    if first > 1:                      # the prelude on the def's line: the body keeps its lines
        lines = [""] * (first - 2) + [header, "    " + "; ".join(prelude or ["pass"])]
    else:
        lines = [header, "    " + "; ".join(prelude or ["pass"])]
    for s in fn.body:
        text = textwrap.indent(ast.unparse(s), "    ").splitlines()
        at = s.lineno + parsed.line_offset
        while len(lines) < at - 1:
            lines.append("")
        lines += text
    text = "\n".join(lines) + "\n"
    free = list(parsed.closure) + list(makers)
    code = compile(_in_scope(ast.parse(text), free, tree.name), parsed.filename, "exec")
    outer = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    fcode = next(c for c in outer.co_consts if isinstance(c, types.CodeType)
                 and c.co_name == tree.name)
    cells = {**parsed.closure, **{m: types.CellType(obj) for m, obj in makers.items()}}
    func = types.FunctionType(fcode, parsed.globals, tree.name, None,
                              tuple(cells[n] for n in fcode.co_freevars) or None)
    func.__qualname__ = getattr(helper, "__qualname__", tree.name)
    func.__srcad_copy__ = True
    from .frontend import GENERATED
    GENERATED[fcode] = text
    return func


def _in_scope(module, free, name):
    """`module` (one def, its nodes at the user's lines) inside `def __srcad_scope__():`
    binding the names in `free` (so they are the def's closure cells), built as a tree: the
    def keeps its line numbers (a scope written as text shifted them by its own lines)."""
    body = [ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store())], value=ast.Constant(None),
                       lineno=1, col_offset=0) for n in free]
    body += module.body + [ast.Return(value=ast.Name(id=name, ctx=ast.Load()))]
    scope = ast.FunctionDef(name="__srcad_scope__", args=ast.arguments(
        posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]), body=body,
        decorator_list=[], returns=None, type_params=[], lineno=1, col_offset=0)
    return ast.fix_missing_locations(ast.Module(body=[scope], type_ignores=[]))


def compile_lifted(node, parsed, extras, outer_name, starred=False):
    """The nested def `node` of `parsed`'s function `outer_name` as a function of its own
    (at the user's lines, in the function's globals) taking the outer variables it reads,
    `extras`, after its own parameters; its defaults are the caller's to supply. `starred`
    (a def with *args, **kwargs or keyword-only parameters): the extras are keyword-only
    parameters, its own defaults (constants) kept."""
    lifted = copy.deepcopy(node)
    params = [gast.Name(id=x, ctx=gast.Param(), annotation=None, type_comment=None)
              for x in extras]
    if starred:
        lifted.args.kwonlyargs = list(lifted.args.kwonlyargs) + params
        lifted.args.kw_defaults = list(lifted.args.kw_defaults) + [None] * len(params)
    else:
        lifted.args.args = list(node.args.args) + params
        lifted.args.defaults = []
    tree = gast.gast_to_ast(gast.Module(body=[lifted], type_ignores=[]))
    line = parsed.lineno(node)
    text = "\n" * (line - 1) + textwrap.dedent(ast.unparse(tree)) + "\n"
    code = compile(text, parsed.filename, "exec")
    fcode = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    func = types.FunctionType(fcode, parsed.globals, node.name, None)
    if starred:                 # its own defaults: constants, evaluated as the def would
        def value(d):
            return ast.literal_eval(gast.gast_to_ast(d))
        func.__defaults__ = tuple(map(value, node.args.defaults)) or None
        func.__kwdefaults__ = {a.id: value(d) for a, d in
                               zip(node.args.kwonlyargs, node.args.kw_defaults)
                               if d is not None} or None
    func.__qualname__ = f"{outer_name}.<locals>.{node.name}"
    func.__srcad_copy__ = True
    from .frontend import GENERATED
    GENERATED[fcode] = text
    return func


def copy_sources(injected: dict, used: set) -> list:
    """The texts of srcad's copies of user functions (a method for its class, a lifted
    def, a helper's copy returning what its function value captures) that generated code
    calls by the names in `injected` it uses, each as `def <that name>(...)`, with the
    copies they call through their closure: so `srcad.source` stands alone."""
    from .frontend import GENERATED
    out, seen = [], set()
    todo = [(n, obj) for n, obj in injected.items() if n in used]
    while todo:
        name, obj = todo.pop()
        if not (isinstance(obj, types.FunctionType) and vars(obj).get("__srcad_copy__")) or \
                (name, id(obj)) in seen or obj.__code__ not in GENERATED:
            continue
        seen.add((name, id(obj)))
        text = GENERATED[obj.__code__].lstrip("\n")
        head, rest = text.split("(", 1)
        out.append(f"def {name}(" + rest if head.startswith("def ") else text)
        for var, cell in zip(obj.__code__.co_freevars, obj.__closure__ or ()):
            try:
                todo.append((var, cell.cell_contents))
            except ValueError:
                pass
    return out[::-1]


@dataclass
class Factory:
    """A user function returning a function value (`def make_loss(c): def loss(w): ...;
    return loss`, a lambda, a partial, another factory's result). `captures`, a copy of it
    returning instead the tuple of what the value captures (a partial's arguments, the
    closure's variables: computed by the factory's code, so derivatives flow through them);
    `layout`, the Maker layout rebuilding the value from them; `count`, their number."""
    captures: object
    layout: tuple
    count: int

    def funcval(self, atoms, names) -> FuncVal:
        return Maker(self.layout).funcval(atoms, names)


_FACTORIES = {}


def factory(func):
    """`func`'s Factory when it is a user function whose one return (its last statement)
    returns a function value, else None. Raises UnsupportedSyntaxError, naming the user's
    line, for a function value it returns that srcad cannot rebuild. Memoised per code."""
    if not isinstance(func, types.FunctionType) or hasattr(func, "__srcad_transform__"):
        return None
    key = (func, func.__code__, func.__defaults__)
    try:
        if key in _FACTORIES:
            return _FACTORIES[key]
    except TypeError:
        return None
    module = getattr(func, "__module__", None) or ""
    _FACTORIES[key] = None          # while it is read: a recursive `return f(x - 1)` is none
    if module.split(".")[0] in ("numpy", "scipy", "srcad", "builtins", "functools"):
        return None
    try:
        found = _factory(func)
    except BaseException:
        del _FACTORIES[key]
        raise
    _FACTORIES[key] = found
    return found


def _returns_function(func) -> bool:
    """A quick look, before reading source: whether func's code makes or names a function
    (a nested code object, or a name it loads resolving to a function or functools)."""
    code = func.__code__
    if any(isinstance(c, types.CodeType) for c in code.co_consts):
        return True
    for n in code.co_names:
        obj = func.__globals__.get(n)
        if obj is functools or obj is functools.partial or is_function(obj) or \
                isinstance(obj, types.ModuleType):
            return True
    return bool(code.co_freevars)


def _factory(func):
    if not _returns_function(func):
        return None
    from .frontend import parse
    try:
        parsed = parse(func)
    except Exception:
        return None
    tree = parsed.tree
    if not tree.body or not isinstance(tree.body[-1], gast.Return) or \
            tree.body[-1].value is None:
        return None
    own_returns = [n for n in walk_own(tree) if isinstance(n, gast.Return)]
    if len(own_returns) != 1:
        return None
    ret = tree.body[-1]
    args = tree.args
    params = {a.id for a in list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs)}
    params |= {a.id for a in (args.vararg, args.kwarg) if a is not None}
    stored = {n.id for n in walk_own(tree) if isinstance(n, gast.Name)
              and isinstance(n.ctx, gast.Store)}
    defs = {s.name: s for s in tree.body if isinstance(s, gast.FunctionDef)}
    local = params | stored | set(defs) | set(parsed.closure)
    made = {n.name for n in walk_own(tree) if isinstance(n, gast.FunctionDef)} | \
        {n.id for s in tree.body if isinstance(s, gast.Assign) and
         isinstance(s.value, gast.Lambda) for n in s.targets if isinstance(n, gast.Name)}

    def refuse(msg, node):
        return UnsupportedSyntaxError(f"{func.__qualname__} returns {msg}", parsed.filename,
                                      parsed.lineno(node))

    def lifted(node, name):
        """(function, extras, defaults) of a def or lambda made in the factory."""
        if isinstance(node, gast.Lambda):
            body = gast.copy_location(gast.Return(value=node.body), node.body)
            node = gast.copy_location(gast.FunctionDef(
                name=name, args=node.args, body=[body], decorator_list=[], returns=None,
                type_comment=None, type_params=[]), node)
        a = node.args
        if node.decorator_list or a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs:
            raise refuse(f"the function {node.name}, which is decorated or takes *args, "
                         "**kwargs or keyword-only parameters", node)
        own = {p.id for p in a.args} | {n.id for n in walk_own(node)
                                        if isinstance(n, gast.Name) and
                                        isinstance(n.ctx, gast.Store)}
        extras = sorted({n.id for n in gast.walk(node) if isinstance(n, gast.Name) and
                         isinstance(n.ctx, gast.Load) and n.id in local and n.id not in own})
        inner = [x for x in extras if x in made]
        if inner:
            raise refuse(f"the function {node.name}, which reads the function {inner[0]} made "
                         "inside it too; make that one a global function", node)
        defaults = []
        for d in a.defaults:
            try:
                defaults.append(ast.literal_eval(gast.gast_to_ast(d)))
            except ValueError:
                raise refuse(f"the function {node.name} with a default that is no constant "
                             "(bind it with functools.partial)", d) from None
        fn = compile_lifted(node, parsed, extras, tree.name)
        return fn, extras, tuple(defaults), [p.id for p in a.args]

    def named(node):
        """The function a name or attribute outside the factory's locals refers to."""
        root = node
        while isinstance(root, gast.Attribute):
            root = root.value
        if not isinstance(root, gast.Name) or root.id in local:
            return None
        chain = []
        while isinstance(node, gast.Attribute):
            chain.append(node.attr)
            node = node.value
        try:
            return parsed.lookup(node.id, tuple(reversed(chain)))
        except (KeyError, AttributeError):
            return None

    def var(x):
        return gast.Name(id=x, ctx=gast.Load(), annotation=None, type_comment=None)

    makers = {}
    value = ret.value
    # caps: the expressions of what the value captures, in the layout's order
    if isinstance(value, gast.Lambda) or isinstance(value, gast.Name) and value.id in defs:
        node = value if isinstance(value, gast.Lambda) else defs[value.id]
        if isinstance(value, gast.Name) and \
                sum(isinstance(s, gast.FunctionDef) and s.name == value.id
                    for s in walk_own(tree)) != 1 or isinstance(value, gast.Name) and \
                value.id in stored:
            raise refuse(f"{value.id}, a name bound to more than one function", value)
        fn, extras, defaults, own = lifted(node, "lambda_")
        layout = (fn, 0, (), len(extras), len(own), tuple(own), defaults,
                  getattr(node, "name", "lambda_"), False, None)
        caps = [var(x) for x in extras]
    elif isinstance(value, gast.Call) and not isinstance(value.func, (gast.Lambda, gast.Call)):
        head = named(value.func)
        if head is functools.partial:
            if not value.args or any(isinstance(a, gast.Starred) for a in value.args) or \
                    any(k.arg is None for k in value.keywords):
                raise refuse("functools.partial(h, ...) without the function first, or with "
                             "*args or **kwargs", value)
            h = value.args[0]
            if isinstance(h, gast.Name) and h.id in defs and h.id not in stored:
                fn, extras, defaults, own = lifted(defs[h.id], h.id)
                if value.keywords:
                    raise refuse("functools.partial with keywords of a function made inside "
                                 "it; bind them positionally", value)
            else:
                fn = named(h)
                if not is_function(fn) or isinstance(fn, functools.partial):
                    raise refuse(f"a functools.partial of {ast.unparse(gast.gast_to_ast(h))}, "
                                 "which srcad cannot call", value)
                extras, defaults, own = [], (), []
            kws = tuple(k.arg for k in value.keywords)
            layout = (fn, len(value.args) - 1, kws, len(extras), len(own), tuple(own),
                      defaults, f"partial({getattr(fn, '__name__', 'function')})", False, None)
            caps = list(value.args[1:]) + [k.value for k in value.keywords] + \
                [var(x) for x in extras]
        else:
            inner = factory(head)
            if inner is None:
                return None
            layout, count = inner.layout, inner.count
            name = ir.unique_name(f"{head.__name__}_captures",
                                  {n.id for n in gast.walk(tree) if isinstance(n, gast.Name)}
                                  | set(parsed.closure) | local)
            makers[name] = inner.captures
            call = gast.copy_location(gast.Call(func=var(name), args=value.args,
                                                keywords=value.keywords), value)
            return _factory_copy(func, parsed, ret, call, makers, layout, count)
    elif isinstance(value, (gast.Name, gast.Attribute)):
        fn = named(value)
        if not is_function(fn) or isinstance(fn, functools.partial):
            return None
        layout = (fn, 0, (), 0, 0, (), (), getattr(fn, "__name__", "function"), False, None)
        caps = []
    else:
        return None
    tup = gast.copy_location(gast.Tuple(elts=caps, ctx=gast.Load()), value)
    return _factory_copy(func, parsed, ret, tup, makers, layout, len(caps))


def _factory_copy(func, parsed, ret, value, makers, layout, count) -> Factory:
    """The Factory whose copy of `func` returns `value` in place of `ret`'s."""
    import dataclasses as dc
    tree = copy.copy(parsed.tree)
    new_ret = gast.copy_location(gast.Return(value=value), ret)
    tree.body = list(tree.body[:-1]) + [new_ret]
    tree.name = f"{tree.name}_captures"
    parsed = dc.replace(parsed, tree=tree)
    params = ast.unparse(gast.gast_to_ast(copy_args(tree.args)))
    caps = _rebuilt(func, parsed, [params], [], makers)
    caps.__defaults__, caps.__kwdefaults__ = func.__defaults__, func.__kwdefaults__
    caps.__qualname__ = func.__qualname__ + "_captures"
    return Factory(caps, layout, count)


def walk_own(fn):
    """The nodes of `fn` but the Load/Store markers, not descending into nested functions,
    lambdas or classes (in gast.iter_child_nodes' order, read without its generators: the
    frontend and lowering walk each function several times)."""
    todo = _children(fn)
    scopes = _SCOPES
    while todo:
        node = todo.pop()
        yield node
        if node.__class__ not in scopes:
            todo += _children(node)


_SCOPES = frozenset([gast.FunctionDef, gast.Lambda, gast.AsyncFunctionDef, gast.ClassDef])


_ATOMS = frozenset([str, int, float, bool, type(None), complex, bytes, type(Ellipsis)])


def copy_tree(node, memo=None):
    """copy.deepcopy of a syntax tree (every attribute of every node copied, shared nodes
    kept shared, other values deep-copied), without deepcopy's generic protocol per node
    (the lowering copies each function with comprehensions whole)."""
    memo = {} if memo is None else memo
    atoms, AST, deep = _ATOMS, gast.AST, copy.deepcopy

    def go(x):
        cls = x.__class__
        if cls in atoms:
            return x
        got = memo.get(id(x))
        if got is not None:
            return got
        if cls is list:
            new = memo[id(x)] = []
            new += [go(v) for v in x]
        elif isinstance(x, AST):
            new = memo[id(x)] = cls.__new__(cls)
            new.__dict__.update({k: go(v) for k, v in x.__dict__.items()})
        else:
            new = deep(x, memo)
        return new
    return go(node)


def _children(node) -> list:
    """gast.iter_child_nodes(node) as a list, but the Load/Store markers (and fields that
    hold no nodes, see optimize.NODE_FIELDS)."""
    out = []
    AST = gast.AST
    for f in NODE_FIELDS[node.__class__]:
        v = getattr(node, f, None)
        if isinstance(v, AST):
            out.append(v)
        elif v.__class__ is list:
            out += [x for x in v if isinstance(x, AST)]
    return out


class JacobianOf:
    """`srcad.jacfwd(g)`, `srcad.jacrev(g)` or `srcad.hessian(g)` as a function value inside
    a differentiated function: a call is a call of a helper written with the transforms srcad
    differentiates inside (`jvp` per input direction, `vjp`'s pullback per output entry,
    `jacfwd` of `grad`), passed g as a function value (`jacobian_helper`)."""

    def __init__(self, kind: str, wrt: int, inner: FuncVal):
        self.kind, self.wrt, self.inner = kind, wrt, inner
        self.__name__ = f"{kind}_of"


_JACOBIANS: dict = {}


def jacobian_helper(kind: str, wrt: int, nargs: int):
    """The Python function computing `srcad.<kind>(g, wrt)(a0, ..., a<nargs-1>)` for an
    array (or float) argument `a<wrt>` and an array output, as srcad differentiates it:
    columns of jvp for jacfwd, rows of the vjp pullback for jacrev, jacfwd of grad for
    hessian; `where`, the user's (file, line), names the call when the argument or output is
    no array. Compiled once per shape of call; srcad reads it from GENERATED."""
    key = (kind, wrt, nargs)
    if key in _JACOBIANS:
        return _JACOBIANS[key]
    import srcad
    from .frontend import GENERATED
    a = [f"a{i}" for i in range(nargs)]
    args, x = ", ".join(a), a[wrt]
    if kind == "jacfwd":
        seeds = ", ".join("np.reshape(eye[k], np.shape(x))" if i == wrt else f"{v} * 0.0"
                          for i, v in enumerate(a))
        text = f"""def jacfwd_of(where, g, {args}):
    out = g({args})
    x = {x}
    if not (isinstance(x, (float, np.ndarray)) and isinstance(out, (float, np.ndarray))):
        raise srcad.UnsupportedSyntaxError("srcad.jacfwd inside a differentiated function "
                                           "takes an array or float argument and output",
                                           where[0], where[1])
    n = np.size(x)
    eye = np.eye(n)
    columns = []
    for k in range(n):
        columns.append(np.ravel(srcad.jvp(g, ({args},), ({seeds},))[1]))
    return np.reshape(np.stack(columns, axis=-1), np.shape(out) + np.shape(x))
"""
        env = {}
    elif kind == "jacrev":
        text = f"""def jacrev_of(where, g, {args}):
    out, pullback = srcad.vjp(g, {args})
    if not (isinstance({x}, (float, np.ndarray)) and isinstance(out, (float, np.ndarray))):
        raise srcad.UnsupportedSyntaxError("srcad.jacrev inside a differentiated function "
                                           "takes an array or float argument and output",
                                           where[0], where[1])
    n = np.size(out)
    eye = np.eye(n)
    rows = []
    for k in range(n):
        rows.append(np.ravel(pullback(np.reshape(eye[k], np.shape(out)))[{wrt}]))
    return np.reshape(np.stack(rows), np.shape(out) + np.shape({x}))
"""
        env = {}
    else:
        text = f"""def hessian_of(where, g, {args}):
    return jacfwd_of(where, srcad.grad(g, wrt={wrt}), {args})
"""
        env = {"jacfwd_of": jacobian_helper("jacfwd", wrt, nargs)}
    namespace = {"np": np, "srcad": srcad, **env}
    code = compile(text, f"<srcad {kind} inside a derivative>", "exec")
    fcode = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    func = types.FunctionType(fcode, namespace, fcode.co_name)
    GENERATED[fcode] = text
    _JACOBIANS[key] = func
    return func


class ObjArg:
    """What srcad knows of an argument's objects: the class of an object (a dataclass, a
    NamedTuple, an instance of the user's class), with `items` the objects among its fields,
    as (name, ObjArg) pairs; or, `cls` list, tuple or dict, a container holding objects,
    `items` a description of each item (an ObjArg or None; (key, ...) pairs for a dict).
    Part of the cache key, so the lowering resolves `obj.method(...)`, `obj(...)` and
    `obj.prop` on the class, for `layers[0]`, `for layer in layers:` and `model.enc` too.
    `each`: a list of any length (a comprehension's `[Dense(W, b) for W, b in params]`)
    whose every item `items[0]` describes."""
    __slots__ = ("cls", "items", "each")

    def __init__(self, cls, items=(), each=False):
        self.cls, self.items, self.each = cls, items, each

    def __eq__(self, other):
        return isinstance(other, ObjArg) and other.cls is self.cls and \
            other.items == self.items and other.each == self.each

    def __hash__(self):
        return hash(("obj", id(self.cls), self.items, self.each))

    def __repr__(self):
        inner = f"({', '.join(map(repr, self.items))}{', ...' if self.each else ''})" \
            if self.items else ""
        return f"obj:{self.cls.__qualname__}{inner}"

    @property
    def container(self) -> bool:
        """A plain list, tuple or dict holding objects (no class of the user's)."""
        return self.cls in (list, tuple, dict)

    def item(self, key):
        """The description of item or field `key` (a constant), or None."""
        if self.each:
            return self.items[0] if isinstance(key, int) and not isinstance(key, bool) \
                else None
        if self.cls in (list, tuple):
            if isinstance(key, int) and not isinstance(key, bool) and \
                    -len(self.items) <= key < len(self.items):
                return self.items[key]
            return None
        for k, d in self.items:
            if type(k) is type(key) and k == key:
                return d
        return None

    def check(self, xs, where):
        """Raise UnsupportedSyntaxError naming `where` unless `xs` holds what this
        describes (runtime.held_as: a global's list of objects read by a derivative)."""
        found = holding(xs)
        if found == self or self.each and found is not None and found.cls is self.cls and \
                all(d == self.items[0] for d in found.items) or self.each and not len(xs):
            return
        filename, _, line = where.rpartition(":")
        raise UnsupportedSyntaxError("the objects this list, tuple or dict holds changed "
                                     "while the derivative ran (grown, shrunk or given an "
                                     "item of another class): srcad resolved their methods "
                                     "when it built the derivative; change it outside the "
                                     "differentiated function", filename, int(line))

    def uniform(self):
        """The one description of every item of a list, tuple or dict (indexed by a value
        known only when the derivative runs), or None when they differ."""
        if not self.container or not self.items:
            return None
        if self.each:
            return self.items[0]
        ds = self.items if self.cls is not dict else [d for _, d in self.items]
        return ds[0] if ds[0] is not None and all(d == ds[0] for d in ds) else None


def holding(a, depth=0):
    """The ObjArg describing `a` when it is or holds objects of classes or functions (in
    lists, tuples, dicts and fields, a few levels down; a function item as its FuncArg, so
    the derivative is specialised on it), else None. Called on every call of a transform
    with a container argument: arrays and numbers are passed over without a call."""
    t = type(a)
    if t in _PLAIN or depth > 6:
        return None
    if depth and is_function(a):        # self.act = np.tanh, self.acts = (f, g): the function
        return FuncArg(a)
    if t is list or t is tuple:
        if len(a) > 4096:
            return None
        found = None
        plain = _PLAIN
        for k, v in enumerate(a):
            tv = type(v)
            if tv in plain or (tv is tuple or tv is list) and \
                    plain.issuperset(map(type, v)):         # (W, b) pairs: no call
                continue
            d = holding(v, depth + 1)
            if d is not None:
                if found is None:
                    found = [None] * len(a)
                found[k] = d
        return None if found is None else ObjArg(t, tuple(found))
    if t is dict:
        found = None
        for v in a.values():
            if type(v) not in _PLAIN and holding(v, depth + 1) is not None:
                found = True
                break
        if found is None:
            return None
        return ObjArg(dict, tuple((k, holding(v, depth + 1)) for k, v in a.items()))
    if isinstance(a, (np.ndarray, np.generic, float, int, complex, str, bytes)) or \
            is_function(a) or isinstance(a, (type, types.ModuleType)):
        return None
    if isinstance(a, tuple) and hasattr(t, "_fields"):
        fields = zip(t._fields, a)
    else:
        from .runtime import _fields, _is_mapping
        if not _is_mapping(a):
            return None
        try:
            fields = list(_fields(a).items())
        except TypeError:
            return None
    return ObjArg(t, tuple((k, d) for k, v in fields if type(v) not in _PLAIN
                           for d in (holding(v, depth + 1),) if d is not None))


_PLAIN = {np.ndarray, float, int, bool, complex, str, bytes, type(None), np.float64,
          np.float32, np.int64, np.int32, np.bool_}


def member(cls, attr):
    """What `obj.attr` of an instance of `cls` runs that srcad can read the source of, as
    (kind, function): ("method", f) for a def (called with obj first), ("static", f) for a
    staticmethod, ("property", fget), ("class", the method bound to cls) for a classmethod;
    None for a field, or what is no Python function."""
    if attr in ("__init__", "__new__"):
        return None
    return member_in(cls.__mro__, attr, cls)


def member_in(mro, attr, cls=None):
    """`member` of the first class in `mro` that defines attr (super() starts after the
    method's own class); a classmethod bound to `cls`, or the class defining it."""
    for klass in mro:
        if attr in vars(klass):
            found = vars(klass)[attr]
            break
    else:
        return None
    cls = klass if cls is None else cls
    if isinstance(found, types.FunctionType):
        return "method", found
    if isinstance(found, staticmethod) and isinstance(found.__func__, types.FunctionType):
        return "static", found.__func__
    if isinstance(found, property) and isinstance(found.fget, types.FunctionType):
        return "property", found.fget
    if isinstance(found, classmethod) and isinstance(found.__func__, types.FunctionType):
        return "class", found.__get__(None, cls)   # bound to the class: cls a constant
    return None


def classes_of(func) -> dict:
    """The parameters of a method copy (`for_class`) known to hold an instance of a class."""
    return vars(func).get("__srcad_classes__", {}) if isinstance(func, types.FunctionType) \
        else {}


def for_class(func, cls):
    """`func`, a method found on a class (or a base), as a function of its own whose first
    parameter is known to hold an instance described by `cls` (an ObjArg), so `self.helper(...)`, `self(...)` and
    `self.prop` inside resolve on `cls` (a subclass may override them)."""
    code = func.__code__
    first = code.co_varnames[0] if code.co_argcount else None
    if first is None:
        from .frontend import parse
        parsed = parse(func)
        raise UnsupportedSyntaxError(f"{func.__qualname__} has no parameter for its object",
                                     parsed.filename, parsed.lineno(parsed.tree))
    return for_classes(func, {first: cls})


def for_classes(func, classes: dict):
    """`func` (or the function a copy of it copies) as a copy whose parameters named in
    `classes` are known to hold what those ObjArgs describe (with what `func` knew): the
    same signature and defaults; memoised per code and classes. `func` itself when that
    adds nothing."""
    known = classes_of(func)
    merged = {**known, **classes}
    if merged == known:
        return func
    func = vars(func).get("__srcad_original__", func)
    key = ("class", func, func.__code__, func.__defaults__, func.__kwdefaults__,
           tuple(sorted(merged.items(), key=lambda item: item[0])))
    found = _SPECS.get(key)
    if found is not None:
        return found
    from .frontend import parse
    parsed = parse(func)
    args = copy_args(parsed.tree.args)
    new = _rebuilt(func, parsed, [ast.unparse(gast.gast_to_ast(args))], [], {})
    new.__defaults__, new.__kwdefaults__ = func.__defaults__, func.__kwdefaults__
    new.__srcad_classes__ = merged
    new.__srcad_original__ = func
    _SPECS[key] = new
    return new


def copy_args(args):
    """A function's parameters without their defaults and annotations (the copy gets the
    original's default values, evaluated once, where the def evaluated them)."""
    def bare(a):
        return gast.Name(id=a.id, ctx=gast.Param(), annotation=None, type_comment=None)
    return gast.arguments(posonlyargs=[bare(a) for a in args.posonlyargs],
                          args=[bare(a) for a in args.args],
                          vararg=bare(args.vararg) if args.vararg else None,
                          kwonlyargs=[bare(a) for a in args.kwonlyargs],
                          kw_defaults=[None] * len(args.kwonlyargs),
                          kwarg=bare(args.kwarg) if args.kwarg else None, defaults=[])


_LIBRARIES = ("numpy", "scipy", "srcad", "builtins", "functools", "collections", "typing",
              "dataclasses", "abc", "enum", "jax", "torch", "autograd")


def plain_class(obj) -> bool:
    """Whether `obj` is a class of the user's whose instances srcad builds as a record of
    what its `__init__` assigns to `self` (`init_fields`): a plain Python class (no
    dataclass, NamedTuple, `__slots__`, `__new__` or metaclass of its own) whose `__init__`
    is a Python function of the user's, or object's."""
    if not isinstance(obj, type) or type(obj) is not type or \
            (getattr(obj, "__module__", "") or "").split(".")[0] in _LIBRARIES or \
            hasattr(obj, "__dataclass_fields__") or issubclass(obj, tuple) or \
            issubclass(obj, BaseException):
        return False
    if obj.__new__ is not object.__new__ or \
            any("__slots__" in vars(k) for k in obj.__mro__[:-1]):
        return False
    init = obj.__init__
    return init is object.__init__ or isinstance(init, types.FunctionType)


@dataclass
class InitFields:
    """What `Cls(...)` of a plain class builds: `fields`, a copy of its `__init__` without
    `self` returning the tuple of the attributes it assigns, named by `keys` in order (the
    object is that record: `record_of(Cls, keys, fields(...))`); None for object's
    `__init__` (no attributes)."""
    fields: object
    keys: tuple
    # attribute -> the parameter its one assignment `self.key = param` (at the top level of
    # `__init__`; the parameter read nowhere else, never rebound) stores: a function value
    # given for it is put in the object as it is (the copy of __init__ gets None)
    passes: dict = field(default_factory=dict)


_INITS: dict = {}


def _passes(tree, me) -> dict:
    """`InitFields.passes` of an `__init__` syntax tree whose object parameter is `me`."""
    params = {a.id for a in list(tree.args.posonlyargs) + list(tree.args.args) +
              list(tree.args.kwonlyargs)}
    stores: dict = {}
    rebound = set()
    reads: dict = {}
    for n in gast.walk(tree):
        if isinstance(n, gast.Attribute) and isinstance(n.ctx, gast.Store) and \
                isinstance(n.value, gast.Name) and n.value.id == me:
            stores[n.attr] = stores.get(n.attr, 0) + 1
        elif isinstance(n, gast.Name) and isinstance(n.ctx, (gast.Store, gast.Del)):
            rebound.add(n.id)
        elif isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
            reads[n.id] = reads.get(n.id, 0) + 1
    out = {}
    for s in tree.body:
        if isinstance(s, gast.Assign) and len(s.targets) == 1 and \
                isinstance(s.targets[0], gast.Attribute) and \
                isinstance(s.targets[0].value, gast.Name) and s.targets[0].value.id == me and \
                isinstance(s.value, gast.Name) and s.value.id in params and \
                s.value.id not in rebound and reads[s.value.id] == 1 and \
                stores[s.targets[0].attr] == 1:
            out[s.targets[0].attr] = s.value.id
    return out


def init_fields(cls, init=None) -> InitFields:
    """`cls`'s InitFields (plain_class(cls) holds), memoised per `__init__` code; `init`, a
    base's `__init__` that `super().__init__(...)` runs for cls. Raises
    UnsupportedSyntaxError, naming the user's line, for an `__init__` that does more than
    set and read attributes of `self` and call `super().__init__(...)` as a statement (calls
    a method of self, passes self on, returns early): srcad could not build the object field
    by field."""
    init = cls.__init__ if init is None else init
    if init is object.__init__:
        return InitFields(None, ())
    key = (cls, init, init.__code__, init.__defaults__)
    if key in _INITS:
        return _INITS[key]
    from .frontend import parse
    parsed = parse(init)
    tree = copy.deepcopy(parsed.tree)
    args = tree.args
    own = list(args.posonlyargs) + list(args.args)
    if not own:
        raise UnsupportedSyntaxError(f"{cls.__qualname__}.__init__ has no parameter for its "
                                     "object", parsed.filename, parsed.lineno(tree))
    me = own[0].id
    names = {n.id for n in gast.walk(tree) if isinstance(n, gast.Name)}
    passes = _passes(tree, me)

    def refuse(msg, node):
        return UnsupportedSyntaxError(f"{cls.__qualname__}(): its __init__ {msg}; srcad "
                                      "builds an object made inside the function from what "
                                      "__init__ assigns to self.<name> (or pass the object in "
                                      "as an argument)", parsed.filename, parsed.lineno(node))

    keys, local = [], {}
    cls_name = ir.unique_name(cls.__name__ + "_class", names)

    class Rename(gast.NodeTransformer):
        def visit_Attribute(self, n):
            if not (isinstance(n.value, gast.Name) and n.value.id == me):
                return self.generic_visit(n)
            if isinstance(n.ctx, gast.Store):
                if n.attr not in local:
                    for klass in cls.__mro__:
                        if isinstance(vars(klass).get(n.attr), (property, types.MemberDescriptorType)):
                            raise refuse(f"sets {me}.{n.attr}, a property", n)
                    local[n.attr] = ir.unique_name(f"{me}_{n.attr}", names | set(local.values()))
                    keys.append(n.attr)
                return gast.copy_location(gast.Name(id=local[n.attr], ctx=n.ctx, annotation=None,
                                                    type_comment=None), n)
            if n.attr in local:
                return gast.copy_location(gast.Name(id=local[n.attr], ctx=n.ctx, annotation=None,
                                                    type_comment=None), n)
            found = None
            for klass in cls.__mro__[:-1]:
                if n.attr in vars(klass):
                    found = vars(klass)[n.attr]
                    break
            if isinstance(found, (types.FunctionType, staticmethod, classmethod, property)):
                raise refuse(f"reads {me}.{n.attr}, a method or property (it would see the "
                             "object half built)", n)
            if found is None:
                raise refuse(f"reads {me}.{n.attr} before it assigns it", n)
            return gast.copy_location(gast.Attribute(
                value=gast.Name(id=cls_name, ctx=gast.Load(), annotation=None, type_comment=None),
                attr=n.attr, ctx=n.ctx), n)

        def visit_Name(self, n):
            if n.id == me:
                raise refuse(f"uses {me} other than to set and read its attributes", n)
            if n.id == "super":
                raise refuse("calls super()", n)
            return n

        def visit_Return(self, n):
            raise refuse("returns", n)

    makers = {cls_name: cls}
    own_class = next((k for k in cls.__mro__ if vars(k).get("__init__") is init), cls)
    handed = {}                     # key -> the parameter super().__init__ stores as it is
    body = []
    for s in tree.body:
        call = s.value if isinstance(s, gast.Expr) else None
        if not (isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute) and
                call.func.attr == "__init__" and isinstance(call.func.value, gast.Call) and
                isinstance(call.func.value.func, gast.Name) and
                call.func.value.func.id == "super"):
            body.append(Rename().visit(s))
            continue
        # super().__init__(a, b): the base's own copy, its fields taken into ours
        sup = call.func.value
        if sup.args and not (len(sup.args) == 2 and isinstance(sup.args[1], gast.Name) and
                             sup.args[1].id == me):
            raise refuse("calls super(...) with arguments other than (Class, self)", sup)
        start = own_class
        if sup.args:
            start = init.__globals__.get(sup.args[0].id) if isinstance(sup.args[0], gast.Name) \
                else None
            if start not in cls.__mro__:
                raise refuse("calls super() of a class srcad cannot find", sup)
        mro = cls.__mro__
        base_init = next(vars(k)["__init__"] for k in mro[mro.index(start) + 1:]
                         if "__init__" in vars(k))
        if base_init is not object.__init__ and not isinstance(base_init, types.FunctionType):
            raise refuse("calls the __init__ of a class srcad cannot read", sup)
        if any(isinstance(a, gast.Starred) for a in call.args) or \
                any(k.arg is None for k in call.keywords):
            raise refuse("calls super().__init__ with *args or **kwargs", call)
        base = init_fields(cls, base_init)
        if base.fields is None:
            if call.args or call.keywords:
                raise refuse("passes arguments to object.__init__", call)
            continue
        call.args = [Rename().visit(a) for a in call.args]
        for k in call.keywords:
            k.value = Rename().visit(k.value)
        try:
            bound = inspect.signature(base.fields).bind(*call.args, **{
                k.arg: k.value for k in call.keywords})
        except TypeError as e:
            raise refuse(f"calls super().__init__ wrongly ({e})", call) from None
        for key, bp in base.passes.items():
            given = bound.arguments.get(bp)
            if isinstance(given, gast.Name) and given.id not in local.values():
                handed[key] = given.id
        fname = ir.unique_name(f"{cls.__name__}_base_fields", names | set(makers))
        makers[fname] = base.fields
        targets = []
        for k in base.keys:
            if k not in local:
                local[k] = ir.unique_name(f"{me}_{k}", names | set(local.values()))
                keys.append(k)
            targets.append(gast.Name(id=local[k], ctx=gast.Store(), annotation=None,
                                     type_comment=None))
        call.func = gast.Name(id=fname, ctx=gast.Load(), annotation=None, type_comment=None)
        body.append(gast.copy_location(gast.Assign(
            targets=[gast.Tuple(elts=targets, ctx=gast.Store())], value=call,
            type_comment=None), s))
    for key, p in handed.items():   # a parameter handed on to a base that stores it as it is
        reads = sum(1 for n in gast.walk(tree) if isinstance(n, gast.Name) and n.id == p)
        if key not in passes and reads == 1 and p in {a.id for a in own} and \
                sum(1 for t in body for n in gast.walk(t) if isinstance(n, gast.Name) and
                    n.id == local[key]) == 1:
            passes[key] = p
    ret = gast.Return(value=gast.Tuple(elts=[gast.Name(id=local[k], ctx=gast.Load(),
                                                       annotation=None, type_comment=None)
                                             for k in keys], ctx=gast.Load()))
    gast.copy_location(ret, tree.body[-1])
    tree.body = body + [ret]
    if args.posonlyargs:
        args.posonlyargs = args.posonlyargs[1:]
    else:
        args.args = args.args[1:]
    tree.name = f"{cls.__name__}_fields"
    import dataclasses as dc
    parsed = dc.replace(parsed, tree=tree)
    params = ast.unparse(gast.gast_to_ast(copy_args(args)))
    fields = _rebuilt(init, parsed, [params], [], makers)
    fields.__defaults__, fields.__kwdefaults__ = init.__defaults__, init.__kwdefaults__
    fields.__qualname__ = f"{cls.__qualname__}.__init__ (its fields)"
    found = InitFields(fields, tuple(keys), passes)
    _INITS[key] = found
    return found


def names_class(func, depth=0) -> bool:
    """A quick look: whether `func`'s code names a class srcad builds objects of (a
    dataclass, NamedTuple or plain class of the user's), or a user function that does."""
    if depth > 3 or not isinstance(func, types.FunctionType):
        return False
    g = func.__globals__
    names, todo = set(), [func.__code__]
    while todo:                        # the code and its comprehensions' and lambdas'
        code = todo.pop()
        names.update(code.co_names)
        todo.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    for n in sorted(names):
        obj = g.get(n)
        if isinstance(obj, type) and (plain_class(obj) or hasattr(obj, "__dataclass_fields__")
                                      or issubclass(obj, tuple) and hasattr(obj, "_fields")):
            return True
        if isinstance(obj, types.FunctionType) and obj is not func and \
                names_class(obj, depth + 1):
            return True
    for cell in func.__closure__ or ():
        try:
            obj = cell.cell_contents
        except ValueError:
            continue
        if isinstance(obj, type) and (plain_class(obj) or hasattr(obj, "__dataclass_fields__")):
            return True
    return False
