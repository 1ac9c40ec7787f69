"""Codegen pass: derivative tree to source text, and source text to a live function.

The text is what `srcad.source` shows: imports, then the derivative function
(and the derivatives of helpers it calls), with the user's lines as comments.
The compiled function reads the user's globals and closure cells when it runs;
srcad's own names (numpy, the runtime, helper derivatives) are bound as cells.
It is registered with linecache so tracebacks show the generated lines.
"""
from __future__ import annotations

import ast
import itertools
import linecache
import re
import textwrap
import types
import weakref

from . import custom, frontend, rules
from .emit import LINE_MARK

_MARK = re.compile(rf"^(\s*){LINE_MARK}\((\d+)\)$")
_counter = itertools.count()


def _fill_empty_blocks(node):
    """A block holding only line markers gets a `pass`, so it stays valid once they go."""
    for field in ("body", "orelse"):
        block = getattr(node, field, None)
        if isinstance(block, list) and block:
            if all(_is_mark(s) for s in block):
                block.append(ast.Pass())
            for s in block:
                if isinstance(s, ast.stmt):
                    _fill_empty_blocks(s)


def _is_mark(s) -> bool:
    return isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and \
        isinstance(s.value.func, ast.Name) and s.value.func.id == LINE_MARK


def render(trees: list, source_lines: dict, filename: str) -> str:
    """The derivative functions as text, the user's lines as comments."""
    for tree in trees:
        _fill_empty_blocks(tree)
        tree.lineno = 1                     # all ast.unparse needs of locations
    text = ast.unparse(ast.Module(body=list(trees), type_ignores=[]))
    lines = []
    for line in text.splitlines():
        m = _MARK.match(line)
        if m:
            n = int(m.group(2))
            if n == 0:
                lines.append(f"{m.group(1)}# reverse sweep: adjoints, last statement first")
                continue
            user = source_lines.get(n, "").strip()
            lines.append(f"{m.group(1)}# {user}  [{_short(filename)}:{n}]")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def names_used(trees: list) -> set:
    from .optimize import nodes
    return {n.id for t in trees for n in nodes(t) if isinstance(n, ast.Name)}


def source_text(used: set, body: str, callee_sources: list = (), aliases: dict = {}) -> str:
    """The standalone source: imports, the helpers' derivatives, then `body`; `aliases`
    (name -> the user's name it stands for, one of srcad's own) are said in comments."""
    used = set(used)
    for src in callee_sources:
        used |= {n.id for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Name)}
    lazy = rules.LAZY_NAMES
    runtime = sorted(n for n in rules.runtime_namespace() if n in used and n not in ("np", "math")
                     and n not in rules.USER_RULES and n not in lazy)
    head = []
    if "math" in used:
        head.append("import math")
    if "np" in used:
        head.append("import numpy as np")
    if runtime:
        head.append(f"from srcad.runtime import {', '.join(runtime)}")
    head += custom.import_lines(used)            # custom rules' functions: the user's own
    head += sorted({lazy[n][1] for n in used if n in lazy})
    head += [f"# {a} is your {n!r} (renamed: srcad's generated code uses that name)"
             for a, n in sorted(aliases.items()) if a in used]
    parts = ["\n".join(head) + "\n"] if head else []
    seen = set()
    for src in callee_sources:
        if src not in seen:
            seen.add(src)
            parts.append(_strip_imports(src))
    parts.append(body)
    return "\n\n".join(parts)


def _strip_imports(src: str) -> str:
    """A helper derivative's text without its head (the imports `source_text` merges)."""
    lines = src.splitlines()
    first = next(i for i, l in enumerate(lines) if l.startswith("def "))
    return "\n".join(lines[first:]).strip() + "\n"


def _short(filename: str) -> str:
    return filename.rsplit("/", 1)[-1]


def _forget_with(codes: list, filename: str):
    """Drop `filename`'s linecache lines once every code object compiled from it is gone."""
    left = [len(codes)]

    def gone():
        left[0] -= 1
        if left[0] == 0:
            linecache.cache.pop(filename, None)
    for c in codes:
        weakref.finalize(c, gone)


def compile_functions(trees: list, used: set, body: str, text: str, user_globals: dict,
                      closure: dict, injected: dict, defaults: list, label: str) -> list:
    """Compile the rendered derivative functions, bound to the user's environment."""
    namespace = {**rules.runtime_namespace(), **injected}
    free = sorted(used & (set(namespace) | set(closure)))
    filename = f"<srcad {label} #{next(_counter)}>"
    holder = f"    {' = '.join(free)} = None\n" if free else ""
    names = ", ".join(t.name for t in trees)
    wrapped = (f"def __srcad_factory__():\n{holder}{textwrap.indent(body, '    ')}\n"
               f"    return ({names},)\n")
    code = compile(wrapped, filename, "exec")
    linecache.cache[filename] = (len(wrapped), None, wrapped.splitlines(True), filename)
    factory_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    _forget_with([c for c in factory_code.co_consts if isinstance(c, types.CodeType)], filename)
    out = []
    for tree, inner, dflt in zip(trees, types.FunctionType(factory_code, user_globals)(),
                                 defaults):
        # srcad's own names first: the user's reads of a closure variable named like one
        # (`unbroadcast = ...` in the enclosing function) go by another name (Lowering.name)
        cells = tuple(closure[n] if n in closure and n not in rules.runtime_namespace()
                      else types.CellType(namespace[n]) for n in inner.__code__.co_freevars)
        func = types.FunctionType(inner.__code__, user_globals, tree.name, dflt, cells)
        func.__doc__ = ast.get_docstring(tree)
        frontend.GENERATED[func.__code__] = text
        out.append(func)
    return out
