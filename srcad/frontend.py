"""Frontend pass: a Python function in, its gast tree and environment out."""
from __future__ import annotations

import inspect
import linecache
import textwrap
from dataclasses import dataclass, field

import gast

from .errors import UnsupportedSyntaxError

# generated derivative functions: code object -> their source text (see codegen)
GENERATED: dict = {}


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

    def lineno(self, node) -> int:
        return getattr(node, "lineno", 1) + self.line_offset

    def resolve(self, name: str):
        """The object a free name refers to now: closure cell, global or builtin."""
        if name in self.closure:
            try:
                return self.closure[name].cell_contents
            except ValueError:
                raise KeyError(name) from None
        if name in self.globals:
            return self.globals[name]
        builtins = self.globals.get("__builtins__", __builtins__)
        builtins = builtins if isinstance(builtins, dict) else vars(builtins)
        return builtins[name]


def parse(f) -> Parsed:
    """Read `f`'s source and environment. Raises UnsupportedSyntaxError when it can't."""
    code = getattr(f, "__code__", None)
    if code is None:
        raise UnsupportedSyntaxError(f"cannot differentiate {f!r}: not a Python function")
    filename = code.co_filename
    if code in GENERATED:
        src = textwrap.dedent(GENERATED[code])
        return _parsed(f, _function_tree(src, f, filename, 1), src, filename, 1)
    found = _def_block(f)
    if found is not None:                  # the quick way; inspect's below if it misreads
        src, first = textwrap.dedent("".join(found[0])), found[1]
        try:
            return _parsed(f, _function_tree(src, f, filename, first), src, filename, first)
        except UnsupportedSyntaxError:
            pass
    try:
        lines, first = inspect.getsourcelines(f)
    except (OSError, TypeError) as e:
        raise UnsupportedSyntaxError(
            f"cannot read the source of {getattr(f, '__qualname__', f)!r} ({e}); srcad needs "
            "a function defined in a file (or registered with linecache)",
            filename, code.co_firstlineno) from None
    src = textwrap.dedent("".join(lines))
    tree = _function_tree(src, f, filename, first)
    return _parsed(f, tree, src, filename, first)


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
    try:
        module = gast.parse(src)
    except SyntaxError:
        # a lambda inside a larger expression: parse the lines as an expression statement
        try:
            module = gast.parse("(" + src.strip().rstrip(",") + ")")
        except SyntaxError:
            raise UnsupportedSyntaxError(f"cannot parse the source of {f.__qualname__!r}",
                                         filename, first) from None
    name = f.__code__.co_name
    if name == "<lambda>":
        nargs = f.__code__.co_argcount
        params = list(f.__code__.co_varnames[:nargs])
        found = [n for n in gast.walk(module) if isinstance(n, gast.Lambda)
                 and [a.id for a in n.args.args] == params]
        if len(found) != 1:
            raise UnsupportedSyntaxError(
                "cannot tell which lambda on this line to differentiate; define the function "
                "with def", filename, first)
        lam = found[0]
        ret = gast.Return(value=lam.body)
        gast.copy_location(ret, lam.body)
        fn = gast.FunctionDef(name="lambda_", args=lam.args, body=[ret], decorator_list=[],
                              returns=None, type_comment=None, type_params=[])
        return gast.copy_location(fn, lam)
    for node in module.body:
        if isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef)) and node.name == name:
            if isinstance(node, gast.AsyncFunctionDef):
                raise UnsupportedSyntaxError("async functions are not differentiable", filename,
                                             first)
            return node
    raise UnsupportedSyntaxError(f"cannot find the definition of {name!r} in its source",
                                 filename, first)
