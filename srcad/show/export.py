"""Standalone derivative modules: srcad's generated source, runnable with NumPy alone.

The module holds the derivative (and the derivatives of the user's helpers, which the
generated text already contains), a copy of each srcad runtime helper it calls (and of
the runtime's own helpers those call), and imports, by name from the user's own modules,
the globals, helpers and custom-rule functions it reads. Its docstring lists them.
"""
from __future__ import annotations

import ast
import builtins
import importlib.machinery
import inspect
import os
import re
import sys
import types

from .. import api, frontend, pipeline, runtime
from ..errors import SrcadError
from ..rules import ANY, FLOAT, INT

KINDS = (FLOAT, INT, ANY)


def parse_kinds(kinds, f) -> tuple:
    """`kinds` (None, "float,any" or a sequence of "float", "int", "any") for `f`'s
    parameters; None takes them from annotations and float defaults."""
    params = pipeline.params_of(f)
    if kinds is None:
        return pipeline.static_kinds(f)
    if isinstance(kinds, str):
        kinds = [k.strip() for k in kinds.split(",") if k.strip()]
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise SrcadError(f"unknown argument kind {bad[0]!r}: use float, int or any "
                         "(an array or a value of any type)")
    if len(kinds) != len(params):
        raise SrcadError(f"kinds gives {len(kinds)} argument kinds; "
                         f"{getattr(f, '__name__', f)} has {len(params)} parameters "
                         f"({', '.join(params)})")
    return kinds


def export(f, path, mode: str = "reverse", wrt=0, kinds=None) -> str:
    """Write the derivative of `f` (as `srcad.source` shows it) to `path` as a module that
    needs only NumPy and the user's own modules; returns the module's text."""
    if mode not in ("forward", "reverse"):
        raise SrcadError(f"unknown mode {mode!r}: use 'forward' or 'reverse'")
    positions, single = api._positions(f, wrt)
    d = pipeline.get(f, mode, positions, parse_kinds(kinds, f), single)
    text = standalone(f, d, mode, [pipeline.params_of(f)[i] for i in positions])
    with open(os.fspath(path), "w") as fh:
        fh.write(text)
    return text


# ---------------------------------------------------------------- the runtime, copied

def _runtime_defs():
    """srcad.runtime's top-level definitions: name -> (source, names it reads), in file order,
    and its imports: name -> import statement."""
    src = inspect.getsource(runtime)
    tree = ast.parse(src)
    lines = src.splitlines(keepends=True)

    def segment(node):           # ast.get_source_segment, without splitting src per call
        if node.lineno == node.end_lineno:
            return lines[node.lineno - 1][node.col_offset:node.end_col_offset]
        return "".join([lines[node.lineno - 1][node.col_offset:]]
                       + lines[node.lineno:node.end_lineno - 1]
                       + [lines[node.end_lineno - 1][:node.end_col_offset]])
    defs, imports = {}, {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom)
                                              and node.module != "__future__"):
            for a in node.names:
                imports[a.asname or a.name] = segment(node)
            continue
        else:
            continue
        reads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        for name in names:
            if name != "__all__":
                defs[name] = (segment(node), reads)
    return defs, imports


def runtime_closure(names) -> tuple:
    """The runtime definitions `names` need (theirs included), in file order, and the
    imports those need."""
    defs, imports = _runtime_defs()
    want, todo = set(), [n for n in names if n in defs]
    while todo:
        n = todo.pop()
        if n not in want:
            want.add(n)
            todo += [m for m in defs[n][1] if m in defs and m not in want]
    used = set().union(*[defs[n][1] for n in want]) if want else set()
    return [(n, defs[n][0]) for n in defs if n in want], \
        sorted({imports[n] for n in used if n in imports})


# ---------------------------------------------------------------- the user's names

def _import_name(module) -> str:
    """The name `module` imports by from a fresh interpreter (a file the CLI loaded under
    a private name, or __main__, imports by its file's stem from its folder)."""
    name = module.__name__
    top = name.split(".")[0]
    if name != "__main__" and importlib.machinery.PathFinder.find_spec(top, sys.path):
        return name
    file = getattr(module, "__file__", None)
    if not file:
        raise SrcadError(f"cannot export: the module {name!r} has no file to import from")
    return os.path.splitext(os.path.basename(file))[0]


def _importable(obj, wanted: str, why: str):
    """(module, name) to import `obj` by; a SrcadError when it has no importable name."""
    modname = getattr(obj, "__module__", None)
    qual = getattr(obj, "__qualname__", getattr(obj, "__name__", None))
    module = sys.modules.get(modname) if modname else None
    if module is None or qual is None or "." in qual or getattr(module, qual, None) is not obj:
        raise SrcadError(f"cannot export: the generated code reads {wanted!r} ({why}), which is "
                         "not a top-level name of a module it could import it from; make it a "
                         "module-level name")
    return _import_name(module), qual


class _Module:
    """What the exported module needs besides the generated text, found by walking the
    compiled derivative and the functions bound into it."""

    def __init__(self, text: str):
        self.defined = _module_names(text) - {"__future__"}
        self.generated = {n.name for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)}
        # a user global named like one of srcad's helpers, read by another name (codegen)
        self.aliases = dict(re.findall(r"^# (\w+) is your '(\w+)' \(renamed", text, re.M))
        self.runtime: set = set()
        self.imports: dict = {}              # local name -> (module, name)
        self.extra_sources: list = []        # (name, source) of nested defs srcad lifted
        self.nested: list = []               # the names of srcad's copies of user code
        self.seen: set = set()

    def visit(self, func, free_in_text):
        """Resolve the free names of the generated def `func` (code srcad compiled)."""
        if func.__code__ in self.seen:
            return
        self.seen.add(func.__code__)
        cells = dict(zip(func.__code__.co_freevars, func.__closure__ or ()))
        for name, cell in cells.items():               # helpers' derivatives (in the text)
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if self.is_derivative(name, value):
                self.visit(value, free_in_text)
            elif isinstance(value, types.FunctionType) and vars(value).get("__srcad_copy__") \
                    and name in self.defined and name not in self.nested:
                self.nested.append(name)          # srcad's copy of user code, in the text
                self.visit(value, free_in_text)
        for name in sorted(free_in_text.get(func.__name__, ())):
            if name in cells:
                try:
                    value = cells[name].cell_contents
                except ValueError:
                    raise SrcadError(f"cannot export: {name!r} is not bound yet") from None
                user = self.aliases.get(name)
                module = sys.modules.get(func.__globals__.get("__name__"))
                if user is not None and module is not None and \
                        func.__globals__.get(user, self) is value:
                    self.imports[name] = (_import_name(module), user)
                    continue
                self.bound(name, value, free_in_text)
            elif name in func.__globals__:
                self.global_(name, func.__globals__[name], func)
            elif not hasattr(builtins, name):
                raise SrcadError(f"cannot export: the generated code reads {name!r}, which is "
                                 "not defined")

    def bound(self, name, value, free_in_text):
        if isinstance(value, types.ModuleType):
            if name not in self.defined:
                self.imports[name] = (value.__name__, None)
            return
        if vars(runtime).get(name) is value:
            self.runtime.add(name)
            return
        code = getattr(value, "__code__", None)
        if self.is_derivative(name, value):
            self.visit(value, free_in_text)              # a helper's derivative, in the text
            return
        copy = isinstance(value, types.FunctionType) and vars(value).get("__srcad_copy__")
        if code is not None and code in frontend.GENERATED and (
                name not in self.defined or copy and name not in self.nested):
            # a nested def srcad lifted out of the user's function (or another copy of the
            # user's code): its source goes in too, unless the text has it already
            if name not in self.defined:
                src = frontend.GENERATED[code].lstrip("\n")
                self.extra_sources.append((name, src))
                self.defined.add(name)
                free_in_text.update(_free_names(src, self.defined))
            self.nested.append(name)
            self.visit(value, free_in_text)
            return
        if name in self.defined:
            return
        if callable(value):
            self.imports[name] = _importable(value, name, "a function srcad calls")
            return
        raise SrcadError(f"cannot export: the generated code reads the closure variable "
                         f"{name!r}; make it a module-level name so the module can import it")

    def is_derivative(self, name, value) -> bool:
        """Whether `value`, bound to `name`, is a derivative srcad compiled from the text."""
        return isinstance(value, types.FunctionType) and value.__code__ in frontend.GENERATED \
            and name in self.generated and value.__name__ == name and \
            not vars(value).get("__srcad_copy__")

    def global_(self, name, value, func):
        if name in self.defined:
            return
        module = sys.modules.get(func.__globals__.get("__name__"))
        if module is None:
            raise SrcadError(f"cannot export: the global {name!r} belongs to no module")
        if isinstance(value, types.ModuleType):
            self.imports[name] = (value.__name__, None)
        else:
            self.imports[name] = (_import_name(module), name)


_STANDARD = {"numpy", "math", "__future__"}


def _imported_module(line: str) -> str:
    """The top-level module an import line imports from."""
    node = ast.parse(line).body[0]
    name = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
    return name.split(".")[0]


def _module_names(text: str) -> set:
    tree = ast.parse(text)
    out = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Assign):
            out |= {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return out


def _free_names(text: str, defined: set) -> dict:
    """def name -> the names its body reads that neither it nor the module defines."""
    out = {}
    for node in ast.parse(text).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        local = {a.arg for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs}
        local |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                  and isinstance(n.ctx, (ast.Store, ast.Del))}
        out[node.name] = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                          and isinstance(n.ctx, ast.Load)} - local - defined
    return out


def _with_defaults(lines: list, main) -> str:
    """Give the generated def in `lines` the defaults srcad binds at compile time (the
    user's, and d_out's) when they are literals; returns the signature it then has."""
    sig = inspect.signature(main)
    head = f"def {main.__name__}("
    literal = True
    for p in sig.parameters.values():
        if p.default is not inspect.Parameter.empty:
            try:
                literal = literal and ast.literal_eval(repr(p.default)) == p.default
            except (ValueError, SyntaxError):
                literal = False
    for k, line in enumerate(lines):
        if line.startswith(head):
            if literal:
                lines[k] = f"{head[:-1]}{sig}:"
                return str(sig)
            tree = ast.parse(line + "\n    pass")
            return "(" + ast.unparse(tree.body[0].args) + ")"
    return str(sig)


def standalone(f, d: pipeline.Derivative, mode: str, wrt: list) -> str:
    """The text of the exported module for derivative `d` of `f` with respect to `wrt`."""
    lines = [line for line in d.text.splitlines() if not line.startswith("from srcad.runtime import")]
    imports = []
    while lines and (lines[0].startswith(("import ", "from ")) or not lines[0].strip()):
        line = lines.pop(0)
        if line.strip():
            imports.append(line)
    main = (d.func if isinstance(d.func, tuple) else (d.func,))[0]
    signature = _with_defaults(lines, main)
    body = "\n".join(lines) + "\n"
    m = _Module("\n".join(imports) + "\n" + body)
    free = _free_names(body, m.defined)
    funcs = d.func if isinstance(d.func, tuple) else (d.func,)
    for func in funcs:
        m.visit(func, free)
    copied, runtime_imports = runtime_closure(sorted(m.runtime))
    head = imports + [i for i in runtime_imports if i not in imports]
    user = {}
    for local, (module, name) in sorted(m.imports.items()):
        if name is None:
            line = f"import {module}" if local == module else f"import {module} as {local}"
            if line not in head:
                head.append(line)
        else:
            user.setdefault(module, []).append(name if name == local else f"{name} as {local}")
    user_lines = [f"from {module} import {', '.join(names)}" for module, names in user.items()]
    users = [line for line in head + user_lines if _imported_module(line) not in _STANDARD]
    what = {"reverse": f"the gradient with respect to {', '.join(wrt)}",
            "forward": f"(out, out_dot): the value and its tangent along "
                       f"{', '.join(w + '_dot' for w in wrt)}"}
    name, inner = f.__name__, f
    transform = getattr(f, "__srcad_transform__", None)      # srcad.grad(g) and the like
    while transform is not None:
        name, inner = f"{transform[0]}({name})", transform[1]
        transform = getattr(inner, "__srcad_transform__", None)
    origin = inner.__code__
    where = f"{os.path.basename(origin.co_filename)}:{origin.co_firstlineno}"
    from .. import __version__
    import textwrap
    notes = (f"Returns {what[mode]}. Needs NumPy only: srcad is not imported. srcad runtime "
             "helpers copied in: " + (", ".join(n for n, _ in copied) if copied else "none")
             + (". Nested functions copied in from the user's code: "
                + ", ".join(m.nested) if m.nested else "")
             + ". Imported from the user's own code by name: "
             + ("; ".join(f"`{u}`" for u in users) if users else "nothing") + ".")
    doc = "\n".join([f'"""{mode.capitalize()}-mode derivative of {name} ({where}), '
                     f"written by srcad {__version__}.", "",
                     f"    {main.__name__}{signature}", "",
                     textwrap.fill(notes, 92, break_on_hyphens=False), '"""'])
    top = doc + "\nfrom __future__ import annotations\n"
    if head or user_lines:
        top += "\n" + "\n".join(head + user_lines) + "\n"
    parts = [top]
    if copied:
        parts.append("# ---- copied from srcad.runtime ----\n\n"
                     + "\n\n\n".join(src for _, src in copied))
    parts += [src.rstrip() + "\n" for _, src in m.extra_sources]
    parts.append("# ---- generated by srcad ----\n\n" + body.strip("\n"))
    text = "\n\n".join(p.rstrip() + "\n" for p in parts)
    compile(text, "<srcad export>", "exec")
    return text
