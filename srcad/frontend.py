"""Frontend pass: a Python function in, its gast tree and environment out."""
from __future__ import annotations

import ast
import collections
import dis
import inspect
import linecache
import os
import sys
import textwrap
import types
import weakref
from dataclasses import dataclass, field

import gast

from .errors import SrcadError, UnsupportedSyntaxError


class IdWeakMap:
    """A mapping keyed by the identity of weakly referenced objects (code objects compare
    by value, so a WeakKeyDictionary would mix up two equal codes); an entry goes when its
    key is collected."""

    def __init__(self, limit: int | None = None):
        self.data = collections.OrderedDict()
        self.limit = limit               # keep at most this many, dropping the least recent

    def _drop(self, key_id):
        def drop(ref):
            item = self.data.get(key_id)
            if item is not None and item[0] is ref:     # not a newer key with the same id
                del self.data[key_id]
        return drop

    def __setitem__(self, key, value):
        self.data[id(key)] = (weakref.ref(key, self._drop(id(key))), value)
        while self.limit is not None and len(self.data) > self.limit:
            self.data.popitem(last=False)

    def get(self, key, default=None):
        item = self.data.get(id(key))
        if item is None or item[0]() is not key:
            return default
        if self.limit is not None:
            self.data.move_to_end(id(key))
        return item[1]

    def __getitem__(self, key):
        item = self.data.get(id(key))
        if item is None or item[0]() is not key:
            raise KeyError(describe(key))
        return item[1]

    def __contains__(self, key):
        item = self.data.get(id(key))
        return item is not None and item[0]() is key

    def __len__(self):
        return len(self.data)


# generated derivative functions: code object -> their source text (see codegen)
GENERATED = IdWeakMap()
_API_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "api.py")


def describe(obj) -> str:
    """A name for `obj` in messages: its qualified name, never a repr with an address."""
    if isinstance(obj, types.MethodType):
        return f"the method {describe(obj.__func__)} bound to a {type(obj.__self__).__name__}"
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if isinstance(name, str):
        module = getattr(obj, "__module__", None)
        return f"{module}.{name}" if isinstance(module, str) and module != "__main__" else name
    if isinstance(obj, (int, float, complex, str, bytes, bool, type(None))):
        return repr(obj)[:60]
    return f"a {type(obj).__module__}.{type(obj).__qualname__} object"


@dataclass
class Parsed:
    """A function's syntax tree with everything needed to resolve its names."""
    func: object
    tree: gast.FunctionDef
    filename: str
    line_offset: int                  # tree line n is file line n + line_offset
    source_lines: dict                # file line -> source text
    globals: dict
    closure: dict                     # free variable name -> cell
    defaults: dict                    # parameter name -> default value
    free_names: set = field(default_factory=set)
    resolved: dict = field(default_factory=dict)  # free name -> what it resolved to
    chains: dict = field(default_factory=dict)    # (name, attrs) -> what it resolved to
    pinned: set = field(default_factory=set)      # free names generated code reads by another
    #                                               name (one of srcad's own): their data is
    #                                               bound when built, so rebinding rebuilds it
    aliases: dict = field(default_factory=dict)   # that other name -> the free name
    bound: str | None = None          # a bound method's first parameter, now a constant
    statics: dict = field(default_factory=dict)   # parameter -> the function it is given
    members: dict = field(default_factory=dict)   # (class, attr) -> what an argument's
    #                                               method or property resolved to
    contents: dict = field(default_factory=dict)  # (name, attrs) -> the items of the global
    #                                               list or dict of functions it holds
    local_classes: dict = field(default_factory=dict)   # name -> a class the function defines
    held: dict = field(default_factory=dict)    # free name -> what srcad knows of the objects
    #                                             its value holds (funcs.ObjArg), checked on
    #                                             every call of the derivative

    def lineno(self, node) -> int:
        return getattr(node, "lineno", 1) + self.line_offset

    def resolve(self, name: str):
        """The object a free name refers to now: closure cell, global or builtin (recorded:
        the derivative is valid while each name still refers to the same object)."""
        if name in self.local_classes:      # made from the function's own code: no check
            return self.local_classes[name]
        if name in self.closure:
            try:
                obj = self.closure[name].cell_contents
            except ValueError:
                raise KeyError(name) from None
        elif name in self.globals:
            obj = self.globals[name]
        else:
            obj = self.builtins()[name]
        self.resolved[name] = obj
        return obj

    def lookup(self, name: str, attrs: tuple):
        """`name.attrs[0].attrs[1]...` resolved now (recorded like `resolve`); raises
        KeyError for an undefined name, AttributeError for a missing attribute."""
        obj = self.resolve(name)
        for attr in attrs:
            obj = getattr(obj, attr)
        if attrs:
            self.chains[(name, tuple(attrs))] = obj
        return obj

    def builtins(self) -> dict:
        builtins = self.globals.get("__builtins__", __builtins__)
        return builtins if isinstance(builtins, dict) else vars(builtins)


def parse(f) -> Parsed:
    """Read `f`'s source and environment. Raises UnsupportedSyntaxError when it can't.

    A bound method is its function with the bound object (`self`, or `cls` of a
    classmethod) a free constant, read when the derivative runs."""
    if isinstance(f, types.MethodType):
        return _parse_bound(f)
    code = getattr(f, "__code__", None)
    if code is None or not isinstance(f, types.FunctionType):
        raise UnsupportedSyntaxError(f"cannot differentiate {describe(f)}: not a Python function")
    filename = code.co_filename
    if code in GENERATED:
        src = textwrap.dedent(GENERATED[code])
        return _parsed(f, _function_tree(src, f, filename, 1), src, filename, 1)
    if os.path.abspath(filename) == _API_FILE:       # e.g. a vjp's pullback
        raise UnsupportedSyntaxError(f"cannot differentiate srcad's own function "
                                     f"{f.__qualname__}; differentiate your function instead",
                                     filename, code.co_firstlineno)
    return _parse_source(f, code, filename)


def _parse_bound(m) -> Parsed:
    func = m.__func__
    if not isinstance(func, types.FunctionType):
        raise UnsupportedSyntaxError(f"cannot differentiate {describe(m)}: not a Python function")
    parsed = parse(func)
    args = parsed.tree.args
    own = args.posonlyargs if args.posonlyargs else args.args
    if not own:
        raise UnsupportedSyntaxError(f"{func.__qualname__} has no parameter for the object it is "
                                     "bound to", parsed.filename, func.__code__.co_firstlineno)
    first = own.pop(0).id
    parsed.func = m
    parsed.closure = {**parsed.closure, first: types.CellType(m.__self__)}
    parsed.defaults.pop(first, None)
    parsed.bound = first
    return parsed


def _parse_source(f, code, filename) -> Parsed:
    parsed = _read_source(f, code, filename)
    cls = _enclosing_class(code.co_qualname if hasattr(code, "co_qualname") else f.__qualname__)
    if cls is not None and cls.strip("_"):
        _mangle(parsed.tree, "_" + cls.lstrip("_"))
    return parsed


def _enclosing_class(qualname: str):
    """The innermost class a function is defined in (where Python mangles `__names`)."""
    parts = qualname.split(".")
    classes = [p for k, p in enumerate(parts[:-1]) if parts[k + 1] != "<locals>"]
    return classes[-1] if classes else None


def _mangle(tree, prefix: str):
    """Spell private names (`self.__w`) as Python does inside a class body (`_C__w`)."""
    def mangled(name):
        return prefix + name if name.startswith("__") and not name.endswith("__") else name
    for node in gast.walk(tree):
        if isinstance(node, gast.Attribute):
            node.attr = mangled(node.attr)
        elif isinstance(node, gast.Name):
            node.id = mangled(node.id)


def _read_source(f, code, filename) -> Parsed:
    found = _def_block(f)
    if found is not None:                  # the quick way; inspect's below if it misreads
        src, first = textwrap.dedent("".join(found[0])), found[1]
        try:
            tree, std = _function_trees(src, f, filename, first)
            parsed = _parsed(f, tree, src, filename, first)
            if _matches(parsed, code, src, std):
                return parsed
        except UnsupportedSyntaxError:
            pass
    try:
        lines, first = inspect.getsourcelines(f)
    except (OSError, TypeError) as e:
        raise UnsupportedSyntaxError(
            f"cannot read the source of {f.__qualname__} ({e}); srcad needs "
            "a function defined in a file (or registered with linecache)",
            filename, code.co_firstlineno) from None
    src = textwrap.dedent("".join(lines))
    tree, std = _function_trees(src, f, filename, first)
    parsed = _parsed(f, tree, src, filename, first)
    if not _matches(parsed, code, src, std):
        raise SrcadError(f"the source of {f.__qualname__} in {filename} is not the code Python "
                         "runs (the file was edited since it was imported): reload the module "
                         "(importlib.reload) or re-run its definition", filename, first)
    return parsed


_VERIFIED = IdWeakMap()          # code object -> the source text found to compile to it


def _matches(parsed, code, src, std=None) -> bool:
    """Whether the def srcad read is the code Python runs (checked once per text); `std`,
    the def as the stdlib's ast parsed it, if at hand (else parsed.tree converted back)."""
    if _VERIFIED.get(code) == src:
        return True
    if _same_code(_compiled(parsed, code, std), code) is False:
        return False
    _VERIFIED[code] = src
    return True


def _compiled(parsed, code, std=None):
    """The code object Python makes of the def srcad read, compiled in a scope like the
    original's (its free variables, the class it is defined in), or None if it cannot be."""
    # a tree of its own, parsed.tree left as it is: the stdlib's parse of the def where the
    # frontend kept it (converting parsed.tree back costs about as much as the parse)
    fn = std if std is not None else gast.gast_to_ast(parsed.tree)
    cls = _enclosing_class(code.co_qualname if hasattr(code, "co_qualname") else
                           parsed.func.__qualname__)
    if std is None:
        ast.fix_missing_locations(fn)
    node = fn
    # the scopes around it, located on their own (the parsed def has its lines: a walk of
    # it all for the few nodes made here is much of the check's time)
    if cls is not None:
        node = ast.fix_missing_locations(ast.ClassDef(name=cls, bases=[], keywords=[], body=[],
                                                      decorator_list=[], type_params=[]))
        node.body = [fn]
    free = [n for n in code.co_freevars if not (cls is not None and n == "__class__")]
    if free:
        scope = ast.fix_missing_locations(ast.FunctionDef(
            name="__srcad_scope__", args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[],
                                                       kw_defaults=[], defaults=[]),
            body=[ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store())],
                             value=ast.Constant(None)) for n in free],
            decorator_list=[], returns=None, type_params=[]))
        scope.body.append(node)
        node = scope
    module = ast.Module(body=[node], type_ignores=[])
    flags = code.co_flags & _FUTURE_FLAGS
    try:
        top = compile(module, parsed.filename, "exec", flags=flags, dont_inherit=True)
    except (SyntaxError, ValueError, TypeError):
        return None
    todo = [top]
    while todo:
        c = todo.pop()
        if c.co_name == fn.name and c is not top:
            return c
        todo.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return None


_FUTURE_FLAGS = 0
for _name in ("annotations", "generator_stop", "barry_as_FLUFL"):
    import __future__
    _FUTURE_FLAGS |= getattr(__future__, _name).compiler_flag


def _same_code(a, b):
    """Whether two code objects run the same program: the same names, constants and
    operations in order (nested code alike), not minding how one compiler version or
    context spells a call (LOAD_METHOD or LOAD_ATTR, cache slots, jump offsets); None when
    `a` is None (nothing to compare)."""
    if a is None:
        return None
    if (a.co_names, a.co_varnames, a.co_freevars, a.co_cellvars, a.co_argcount,
            a.co_kwonlyargcount) != (b.co_names, b.co_varnames, b.co_freevars, b.co_cellvars,
                                     b.co_argcount, b.co_kwonlyargcount):
        return False
    if _ops(a) != _ops(b):
        return False
    ca = [k for k in a.co_consts if k is not None]
    cb = [k for k in b.co_consts if k is not None]
    if len(ca) != len(cb):
        return False
    for x, y in zip(ca, cb):
        if isinstance(x, types.CodeType) and isinstance(y, types.CodeType):
            if not _same_code(x, y):
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True


_NOISE = {dis.opmap[n] for n in ("CACHE", "PRECALL", "NOP", "RESUME", "EXTENDED_ARG",
                                   "PUSH_NULL", "KW_NAMES") if n in dis.opmap}
_JUMPS = set(dis.hasjrel) | set(dis.hasjabs)
_CONSTS = set(dis.hasconst)
_LOAD_METHOD = dis.opmap.get("LOAD_METHOD", -1)
_LOAD_ATTR = dis.opmap["LOAD_ATTR"]
# the low bit of LOAD_GLOBAL's (3.11+) and LOAD_ATTR's (3.12+) argument is a calling detail
_FLAGGED = {dis.opmap["LOAD_GLOBAL"]} if sys.version_info >= (3, 11) else set()
if sys.version_info >= (3, 12):
    _FLAGGED.add(_LOAD_ATTR)
_EXTENDED = dis.opmap["EXTENDED_ARG"]


def _ops(code) -> list:
    """The operations of `code` as (opcode, argument) pairs, read straight from the bytes
    (dis.get_instructions is several times slower)."""
    out = []
    b = code.co_code
    consts = code.co_consts
    ext = 0
    for i in range(0, len(b), 2):
        op, arg = b[i], b[i + 1] | ext
        if op == _EXTENDED:
            ext = arg << 8
            continue
        ext = 0
        if op in _NOISE:
            continue
        if op == _LOAD_METHOD:
            op = _LOAD_ATTR
        if op in _JUMPS:
            out.append(op)
        elif op in _CONSTS:
            c = consts[arg]
            out.append((op, "code" if isinstance(c, types.CodeType) else repr(c)))
        else:
            out.append((op, arg >> 1 if op in _FLAGGED else arg))
    return out


def _lambda_node(module, f, filename, first):
    """The Lambda node of `f` in `module` (its source lines from line `first`, or None):
    the one lambda with f's parameters there, else the lambdas with them on f's first line
    of the whole file, told apart by the columns of f's code (Python >= 3.11)."""
    code = f.__code__
    params = list(code.co_varnames[:code.co_argcount])

    def same(n):
        return isinstance(n, gast.Lambda) and [a.id for a in n.args.args] == params
    found = [] if module is None else [n for n in gast.walk(module) if same(n)]
    if len(found) == 1:
        return found[0]
    lines = linecache.getlines(filename, f.__globals__)
    try:
        whole = gast.parse("".join(lines))
    except (SyntaxError, ValueError):
        whole = None
    found = [] if whole is None else \
        [n for n in gast.walk(whole) if same(n) and n.lineno == code.co_firstlineno]
    if len(found) > 1 and hasattr(code, "co_positions"):
        spots = [(a, c) for a, _, c, e in code.co_positions()
                 if a is not None and c is not None and e is not None and e > c]
        found = [n for n in found if spots and all(
            (n.lineno, n.col_offset) <= p < (n.end_lineno, n.end_col_offset) for p in spots)]
    if len(found) != 1:
        raise UnsupportedSyntaxError(
            "cannot tell which lambda on this line to differentiate; define the function "
            "with def", filename, first)
    gast.increment_lineno(found[0], 1 - first)        # lines counted from `first`, as src's
    return found[0]


def _def_block(f):
    """`(lines, first line number)` of a `def` (with one-line decorators) read by
    indentation, which is much cheaper than inspect's tokenizer; None where that reading
    is not plain (a lambda, a signature closed at the def's own indentation, no file).
    A block cut short inside a string or brackets does not parse, and parse() then
    asks inspect."""
    code = f.__code__
    if code.co_name == "<lambda>":
        return None
    linecache.checkcache(code.co_filename)
    lines = linecache.getlines(code.co_filename, f.__globals__)
    start = code.co_firstlineno - 1
    k = start
    while k < len(lines) and lines[k].lstrip().startswith("@"):
        k += 1
    if k >= len(lines) or not lines[k].lstrip().startswith(("def ", "async def ")):
        return None
    indent = len(lines[k]) - len(lines[k].lstrip())
    end = last = k + 1
    while end < len(lines):
        text = lines[end].strip()
        if text and not text.startswith("#"):
            if len(lines[end]) - len(lines[end].lstrip()) <= indent:
                break
            last = end + 1                 # trailing blank and comment lines stay out
        end += 1
    return lines[start:last], start + 1


def parse_generated(func, drop_param: str, value) -> Parsed:
    """Parse a srcad-generated derivative as a function of the primal's parameters:
    its last parameter `drop_param` becomes the constant `value`."""
    text = GENERATED[func.__code__]
    tree = _function_tree(text, func, func.__code__.co_filename, 1)
    tree.args.args = [a for a in tree.args.args if a.id != drop_param]
    tree.args.defaults = []
    seed = gast.Assign(targets=[gast.Name(id=drop_param, ctx=gast.Store(), annotation=None,
                                          type_comment=None)],
                       value=gast.Constant(value=value, kind=None), type_comment=None)
    gast.copy_location(seed, tree.body[0])
    tree.body.insert(0, seed)
    return _parsed(func, tree, text, func.__code__.co_filename, 1)


def _parsed(f, tree, src, filename, first) -> Parsed:
    code = f.__code__
    source_lines = {first + i: line.rstrip() for i, line in enumerate(src.splitlines())}
    closure = dict(zip(code.co_freevars, f.__closure__ or ()))
    defaults = {}
    try:
        for p in inspect.signature(f).parameters.values():
            if p.default is not inspect.Parameter.empty:
                defaults[p.name] = p.default
    except (TypeError, ValueError):
        pass
    return Parsed(func=f, tree=tree, filename=filename, line_offset=first - 1,
                  source_lines=source_lines, globals=f.__globals__, closure=closure,
                  defaults=defaults)


def _function_tree(src: str, f, filename: str, first: int) -> gast.FunctionDef:
    return _function_trees(src, f, filename, first)[0]


def _function_trees(src: str, f, filename: str, first: int):
    """The def of `f` in `src` as a gast tree, and as the stdlib's ast parsed it (None for
    a lambda, whose def srcad makes)."""
    try:
        std = ast.parse(src)
    except SyntaxError:
        std = None
    if std is not None and f.__code__.co_name != "<lambda>":
        for node in std.body:
            if isinstance(node, ast.FunctionDef) and node.name == f.__code__.co_name:
                return gast.ast_to_gast(node), node
    try:
        module = gast.parse(src)
    except SyntaxError:
        # a lambda inside a larger expression: parse the lines as an expression statement
        try:
            module = gast.parse("(" + src.strip().rstrip(",") + ")")
        except SyntaxError:
            if f.__code__.co_name != "<lambda>":
                raise UnsupportedSyntaxError(f"cannot parse the source of {f.__qualname__!r}",
                                             filename, first) from None
            module = None            # a lambda on a continuation line: read from its file
    name = f.__code__.co_name
    if name == "<lambda>":
        lam = _lambda_node(module, f, filename, first)
        ret = gast.Return(value=lam.body)
        gast.copy_location(ret, lam.body)
        fn = gast.FunctionDef(name="lambda_", args=lam.args, body=[ret], decorator_list=[],
                              returns=None, type_comment=None, type_params=[])
        return gast.copy_location(fn, lam), None
    for node in module.body:
        if isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef)) and node.name == name:
            if isinstance(node, gast.AsyncFunctionDef):
                raise UnsupportedSyntaxError("async functions are not differentiable", filename,
                                             first)
            return node, None
    raise UnsupportedSyntaxError(f"cannot find the definition of {name!r} in its source",
                                 filename, first)
