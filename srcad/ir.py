"""srcad's intermediate representation: a function in SSA three-address form.

Every statement does one operation on atoms (names or constants). Straight-line
temporaries `v0, v1, ...` are assigned once; a user's variable keeps its name and
is reassigned only inside control flow, which stays structured (`if`, `for` over
a range object, `while True` with `break`). Passes hand `Function` objects to one
another; `to_source` prints one, `verify` checks one.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Union

from .errors import SrcadError


@dataclass(frozen=True)
class Name:
    id: str


@dataclass(frozen=True)
class Const:
    value: Any


@dataclass(frozen=True)
class Ref:
    """A constant the generated code names rather than spells, e.g. `np.float32`."""
    text: str


Atom = Union[Name, Const]


@dataclass
class Call:
    """`prim(*args, **kwargs)`: one primitive applied to atoms.

    `prim` is a rule-table entry (or a user-function call) that knows how to
    print itself; `static` carries non-atom structure (e.g. an index layout).
    """
    prim: Any
    args: list
    kwargs: dict = field(default_factory=dict)
    static: Any = None


@dataclass
class Assign:
    target: Union[str, tuple]          # a tuple unpacks a sequence value
    value: Union[Call, Name, Const]
    line: int
    inplace_of: str | None = None      # `y += e`, `xs.append(v)`: Python changes this value


@dataclass
class If:
    test: Atom
    body: list
    orelse: list
    line: int


@dataclass
class For:
    """`for target in iter:` where `iter` names a `range` object."""
    target: str
    iter: Atom
    body: list
    line: int


@dataclass
class While:
    """`while True:` whose body leaves by `break`."""
    body: list
    line: int


@dataclass
class Break:
    line: int


@dataclass
class Continue:
    line: int


@dataclass
class Return:
    value: Atom
    line: int


@dataclass
class Function:
    name: str
    params: list
    body: list
    filename: str
    firstline: int
    source_lines: dict = field(default_factory=dict)   # line -> the user's source text
    env: Any = None                                      # frontend.Parsed environment


# ---------------------------------------------------------------- printing

def atom_ast(a: Atom) -> ast.expr:
    if isinstance(a, Name):
        return ast.Name(id=a.id, ctx=ast.Load())
    return const_ast(a.value)


def const_ast(v) -> ast.expr:
    if isinstance(v, Ref):
        return ast.parse(v.text, mode="eval").body
    if isinstance(v, tuple):
        return ast.Tuple(elts=[const_ast(x) for x in v], ctx=ast.Load())
    if isinstance(v, slice):
        return ast.Call(func=ast.Name(id="slice", ctx=ast.Load()),
                        args=[const_ast(v.start), const_ast(v.stop), const_ast(v.step)],
                        keywords=[])
    if isinstance(v, (int, float)) and not isinstance(v, bool) and v < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-v))
    if v is Ellipsis:
        return ast.Constant(value=...)
    return ast.Constant(value=v)


def expr_ast(value, names=None) -> ast.expr:
    """The Python expression of an Assign's value."""
    if isinstance(value, Call):
        return value.prim.emit([atom_ast(a) for a in value.args],
                               {k: atom_ast(a) for k, a in value.kwargs.items()},
                               value.static, names or {})
    return atom_ast(value)


def target_ast(target) -> ast.expr:
    if isinstance(target, tuple):
        return ast.Tuple(elts=[ast.Name(id=t, ctx=ast.Store()) for t in target], ctx=ast.Store())
    return ast.Name(id=target, ctx=ast.Store())


def assign_ast(target, value: ast.expr) -> ast.stmt:
    return ast.Assign(targets=[target_ast(target)], value=value, lineno=0)


def stmts_ast(stmts: list, names=None) -> list:
    """The primal statements as Python statements (used by `ssa` and the emitters)."""
    out = []
    for s in stmts:
        if isinstance(s, Assign):
            out.append(assign_ast(s.target, expr_ast(s.value, names)))
        elif isinstance(s, If):
            out.append(ast.If(test=atom_ast(s.test), body=stmts_ast(s.body, names) or [ast.Pass()],
                              orelse=stmts_ast(s.orelse, names)))
        elif isinstance(s, For):
            out.append(ast.For(target=target_ast(s.target), iter=atom_ast(s.iter),
                               body=stmts_ast(s.body, names) or [ast.Pass()], orelse=[], lineno=0))
        elif isinstance(s, While):
            out.append(ast.While(test=ast.Constant(True), body=stmts_ast(s.body, names) or [ast.Pass()],
                                 orelse=[]))
        elif isinstance(s, Break):
            out.append(ast.Break())
        elif isinstance(s, Continue):
            out.append(ast.Continue())
        elif isinstance(s, Return):
            out.append(ast.Return(value=atom_ast(s.value)))
    return out


def to_source(fn: Function) -> str:
    """Print `fn` as valid Python, one operation per line."""
    defaults = []
    known = getattr(fn.env, "defaults", {}) if fn.env is not None else {}
    for p in reversed(fn.params):
        v = known.get(p, _NO_DEFAULT)
        if v is _NO_DEFAULT or not _literal(v):
            break
        defaults.insert(0, const_ast(v))
    args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in fn.params], vararg=None,
                         kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=defaults)
    node = ast.FunctionDef(name=fn.name, args=args, body=stmts_ast(fn.body) or [ast.Pass()],
                           decorator_list=[], returns=None, type_comment=None, type_params=[])
    mod = ast.fix_missing_locations(ast.Module(body=[node], type_ignores=[]))
    return ast.unparse(mod) + "\n"


_NO_DEFAULT = object()


def _literal(v) -> bool:
    if isinstance(v, tuple):
        return all(_literal(x) for x in v)
    return v is None or isinstance(v, (bool, int, float, str))


# ---------------------------------------------------------------- walking

def walk(stmts: list):
    """Every statement, depth first, in program order."""
    for s in stmts:
        yield s
        for block in blocks(s):
            yield from walk(block)


def blocks(s) -> list:
    if isinstance(s, If):
        return [s.body, s.orelse]
    if isinstance(s, (For, While)):
        return [s.body]
    return []


def targets(s) -> tuple:
    if isinstance(s, Assign):
        return s.target if isinstance(s.target, tuple) else (s.target,)
    if isinstance(s, For):
        return (s.target,)
    return ()


def reads(s) -> list:
    """Names a statement reads (not counting nested blocks)."""
    if isinstance(s, Assign):
        v = s.value
        atoms = list(v.args) + list(v.kwargs.values()) if isinstance(v, Call) else [v]
    elif isinstance(s, If):
        atoms = [s.test]
    elif isinstance(s, For):
        atoms = [s.iter]
    elif isinstance(s, Return):
        atoms = [s.value]
    else:
        atoms = []
    return [a.id for a in atoms if isinstance(a, Name)]


# ---------------------------------------------------------------- checking

def verify(fn: Function) -> None:
    """Check the SSA invariants: names defined before use; temporaries assigned once."""
    defined = set(fn.params)
    temp_defs: dict = {}
    env_names = set(fn.env.free_names) if fn.env is not None else set()

    def check(stmts, defined):
        defined = set(defined)
        for s in stmts:
            for n in reads(s):
                if n not in defined and n not in env_names and (n in temps or not _maybe_defined(n)):
                    raise SrcadError(f"SSA check: {n!r} used before it is defined", fn.filename,
                                     getattr(s, "line", None))
            for t in targets(s):
                if t in temps:
                    if t in temp_defs:
                        raise SrcadError(f"SSA check: temporary {t!r} assigned twice",
                                         fn.filename, s.line)
                    temp_defs[t] = s
                defined.add(t)
            for block in blocks(s):
                defined |= check(block, defined)
        return defined

    def _maybe_defined(n):
        # a user variable may be defined in a branch or loop body seen earlier
        return n in all_targets

    all_targets = {t for s in walk(fn.body) for t in targets(s)}
    temps = getattr(fn, "temps", None)
    if temps is None:
        temps = {t for t in all_targets if _is_temp(t)}
    temps = temps - getattr(fn, "merge_names", set())
    check(fn.body, defined)


def _is_temp(name: str) -> bool:
    return name.startswith("v") and name[1:].isdigit()
