"""srcad's intermediate representation: a function in SSA three-address form.

Every statement does one operation on atoms (names or constants). Straight-line
temporaries `v0, v1, ...` are assigned once; a user's variable keeps its name and
is reassigned only inside control flow, which stays structured (`if`, `for` over
a range object, `while True` with `break`). Passes hand `Function` objects to one
another; `to_source` prints one, `verify` checks one.
"""
from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass, field
from typing import Any, Union

from .errors import SrcadError, UnsupportedSyntaxError


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


class Raises:
    """A primitive whose call raises its argument, an exception (`raise E(...)`): its
    statement is `raise exc`, which ends the path (no later statement runs there, so
    neither the flag a return in a loop needs nor what the path leaves unassigned is
    anyone's concern)."""


def raises(s) -> bool:
    """Whether statement `s` is a `raise` (an assignment of a Raises primitive's call)."""
    return isinstance(s, Assign) and isinstance(s.value, Call) and isinstance(s.value.prim, Raises)


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
    # `srcad.checkpoint(range(...), snapshots=k)` marked it: the atom of k (Const(None):
    # the default); reverse mode then checkpoints the loop (srcad/reverse/checkpoint.py)
    checkpoint: Any = None


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
    injected: dict = field(default_factory=dict)         # emitted name -> object (user callees)
    merge_names: set = field(default_factory=set)        # srcad's variables several paths assign
    temps: set = field(default_factory=set)              # srcad's temporaries, each assigned once
    reserved: set = field(default_factory=set)           # names a new name must not take
    versions: dict = field(default_factory=dict)         # SSA name -> the user's variable
    objects: set = field(default_factory=set)            # names known to hold objects (a
    #                                                      record built, an item of one):
    #                                                      adjoints add field by field


def unique_name(base: str, taken: set, start: int | None = None) -> str:
    """The first of `base`, `base_1`, `base_2`, ... (with `start`: `base<start>`,
    `base<start+1>`, ...) not in `taken`; it is added to `taken`."""
    k = start
    name = base if k is None else f"{base}{k}"
    while name in taken:
        k = 1 if k is None else k + 1
        name = f"{base}_{k}" if start is None else f"{base}{k}"
    taken.add(name)
    return name


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


def assign_stmt_ast(s: Assign, names=None) -> ast.stmt:
    """The Python statement of an assignment: `target = value`, or for an in-place update
    (`y = SETITEM(y, v, i)`, which assigns y itself) the statement `y[i] = v`."""
    from .rules import SetItemRule
    v = s.value
    if isinstance(v, Call) and isinstance(v.prim, SetItemRule):
        return v.prim.emit_stmt([atom_ast(a) for a in v.args], v.static)
    if raises(s):
        return ast.Raise(exc=atom_ast(v.args[0]), cause=None)
    return assign_ast(s.target, expr_ast(v, names))


def stmts_ast(stmts: list, names=None) -> list:
    """The primal statements as Python statements (used by `ssa` and the emitters)."""
    out = []
    for s in stmts:
        if isinstance(s, Assign):
            out.append(assign_stmt_ast(s, names))
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
    known = fn.env.defaults if fn.env is not None else {}
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


def grow(body: list, names: set, reaches) -> set:
    """`names` and, to a fixpoint, the target of every single-target assignment whose
    value `reaches(value, names)` says depends on them."""
    out = set(names)
    assigns = [s for s in walk(body) if isinstance(s, Assign) and not isinstance(s.target, tuple)]
    changed = True
    while changed:
        changed = False
        for s in assigns:
            if s.target not in out and reaches(s.value, out):
                out.add(s.target)
                changed = True
    return out


# ---------------------------------------------------------------- checking

def verify(fn: Function) -> None:
    """Check the SSA invariants: each name is assigned on every path before it is read, and
    each of srcad's temporaries is assigned once. A user's variable that some path reads
    unassigned (Python would raise UnboundLocalError there) is refused with its line."""
    env_names = set(fn.env.free_names) if fn.env is not None else set()
    temps = fn.temps - fn.merge_names
    all_targets = {t for s in walk(fn.body) for t in targets(s)}
    temp_defs: set = set()

    # srcad's own derivative, differentiated again: a bad read is srcad's bug, not the user's
    internal = fn.env is None or hasattr(fn.env.func, "__srcad_derivative__")

    def use(n, s):
        if n in temps or n not in all_targets or internal:
            raise SrcadError(f"SSA check: {n!r} used before it is defined", fn.filename,
                             s.line)
        user = fn.versions.get(n, n)
        raise UnsupportedSyntaxError(
            f"the variable {user!r} may be read before it is assigned (on some path Python "
            "would raise UnboundLocalError); assign it on every path first",
            fn.filename, s.line)

    fresh = itertools.count(1)

    def assigned_in(s) -> set:
        return {t for x in [s] + [y for b in blocks(s) for y in walk(b)] for t in targets(x)}

    def check(stmts, st, breaks, continues):
        """The state at the end of `stmts` (None: no path falls through); each `break`
        (`continue`) adds its state to `breaks` (`continues`). A state is the names
        assigned on every path, a stamp per name that changes whenever the name may have
        been reassigned, and facts: `c: (stamps, then, else)` keeps the states at the ends
        of the branches of an `if c:`, for a later `if c:` while `c` keeps its stamp (the
        reverse sweep tests the forward sweep's conditions again)."""
        for s in stmts:
            for n in reads(s):
                if n not in st.defined and n not in env_names:
                    use(n, s)
            for t in targets(s):
                if t in temps:
                    if t in temp_defs:
                        raise SrcadError(f"SSA check: temporary {t!r} assigned twice",
                                         fn.filename, s.line)
                    temp_defs.add(t)
            if raises(s):
                return None
            if isinstance(s, Assign):
                st = st.assign(targets(s), fresh)
            elif isinstance(s, If) and isinstance(s.test, Const):
                # `if True:` (a constant test, as in srcad's own code): only one branch runs
                st = check(s.body if s.test.value else s.orelse, st, breaks, continues)
                if st is None:
                    return None
            elif isinstance(s, If):
                c = s.test.id if isinstance(s.test, Name) else None
                known = st.facts.get(c)
                if known is not None and known[0].get(c) == st.stamps.get(c):
                    ins = [st.enter(known[0], branch) for branch in known[1:]]
                else:
                    known, ins = None, [st, st]
                a = check(s.body, ins[0], breaks, continues)
                b = check(s.orelse, ins[1], breaks, continues)
                st = _State.merge([x for x in (a, b) if x is not None], fresh)
                if st is None:
                    return None
                if c is not None:
                    # a test seen before: its branches now know what both ifs assigned
                    st.facts = {**st.facts, c: (st.stamps, a, b)}
            elif isinstance(s, For):
                # what every iteration assigns counts as assigned after the loop, as if it ran
                # at least once (with no iterations Python's own run raises, and so does ours)
                inner = st.assign(assigned_in(s), fresh, define=False).assign([s.target], fresh)
                exits: list = []
                end = check(s.body, inner, exits, exits)
                st = _State.merge([e for e in exits + [end] if e is not None], fresh) or st
                st = st.assign(assigned_in(s), fresh, define=False)
            elif isinstance(s, While):                     # `while True`: left by a break
                exits, backs = [], []
                end = check(s.body, st.assign(assigned_in(s), fresh, define=False), exits, backs)
                last = s.body[-1] if s.body else None
                if isinstance(last, If) and len(last.orelse) == 1 and \
                        isinstance(last.orelse[0], Break) and exits:
                    # `while c:` (the lowering's `if c: body else: break` last): counted as
                    # left after an iteration, like a for loop (its break comes last)
                    later = [x for x in [end] + backs if x is not None]
                    if later:
                        exits[-1] = _State.merge(later, fresh)
                st = _State.merge(exits, fresh)
                if st is None:
                    return None
                st = st.assign(assigned_in(s), fresh, define=False)
            elif isinstance(s, Break):
                breaks.append(st)
                return None
            elif isinstance(s, Continue):
                continues.append(st)
                return None
            elif isinstance(s, Return):
                return None
        return st

    check(fn.body, _State(set(fn.params), {}, {}), [], [])


@dataclass
class _State:
    """What `verify` knows at a point: see its `check`."""
    defined: set
    stamps: dict
    facts: dict

    def assign(self, names, fresh, define=True) -> "_State":
        stamps = dict(self.stamps)
        for n in names:
            stamps[n] = next(fresh)
        facts = {c: f for c, f in self.facts.items() if c not in names}
        return _State(self.defined | set(names) if define else self.defined, stamps, facts)

    def enter(self, merged: dict, branch: "_State | None") -> "_State":
        """This state, inside a branch taken again: what the branch knew at its end holds
        for the names not reassigned since (their stamps are still the merge's)."""
        if branch is None:                     # that branch never falls through
            return self
        stamps = dict(self.stamps)
        for n, k in branch.stamps.items():
            if self.stamps.get(n) == merged.get(n):
                stamps[n] = k
        return _State(self.defined | branch.defined, stamps, {**self.facts, **branch.facts})

    @staticmethod
    def merge(states, fresh) -> "_State | None":
        if not states:
            return None
        first, *rest = states
        defined = set.intersection(*(s.defined for s in states))
        stamps = {}
        for n in set().union(*(s.stamps for s in states)):
            ks = {s.stamps.get(n) for s in states}
            stamps[n] = ks.pop() if len(ks) == 1 else next(fresh)
        facts = {c: f for c, f in first.facts.items()
                 if all(s.facts.get(c) is f for s in rest)}
        return _State(defined, stamps, facts)
