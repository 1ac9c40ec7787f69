"""Checks of generated code, run after the emitters and after the optimizer.

A derivative tree (the Python `ast.FunctionDef`s an emitter made) must:
- read every name only where it is assigned on every path that gets there (or, for a
  name the function never assigns, where the compiled code finds it: numpy, math, the
  runtime, injected callees, the user's globals, closure cells and builtins). A branch
  replayed from its recorded test (`if v0: ... if v0:`) counts as the same path, as long
  as nothing reassigned the test's names in between, and so does a flag's test (`done =
  True; break` ... `if done:`); a name the primal itself may read unassigned (assigned
  in a loop, read after it) is the primal's business, not checked;
- hold no AST node object twice (a node with two parents is changed by a later rewrite of
  the other place too);
- assign each of the lowering's temporaries (`fn.temps`) once, besides a `None`
  placeholder and restores from a stack (`t = stack.pop()`);
- compile.
A violation is srcad's own bug: `check` raises SrcadError("internal check after <pass>:
...") naming the function. The pipeline runs it when SRCAD_CHECKS=1 (the test suite
sets it).
"""
from __future__ import annotations

import ast
import builtins
import itertools

from . import ir, rules
from .emit import LINE_MARK
from .errors import SrcadError

_SINGLETONS = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)
_BUILTINS = frozenset(dir(builtins))


def check(trees: list, fn: ir.Function, env: tuple, after: str) -> None:
    """Check derivative trees made from `fn` after pass `after`; `env` holds containers of
    the names the compiled code finds outside the function (injected callees, the user's
    globals and closure), besides numpy, math, the runtime and builtins."""
    where = f"{fn.name} ({fn.filename}:{fn.firstline})"

    def fail(tree, msg):
        raise SrcadError(f"internal check after {after}: {tree.name}, derivative of {where}: "
                         f"{msg}")

    _check_unshared(trees, fail)
    spaces = (rules.runtime_namespace(), _BUILTINS) + tuple(env)

    def known(name):
        return any(name in space for space in spaces)

    lenient = primal_maybe_unbound(fn)
    temps = set(fn.temps) - set(fn.merge_names)
    for tree in trees:
        _check_single_assignment(tree, temps, fail)
        problem = unbound_reads(tree, known, lenient)
        if problem:
            fail(tree, problem)
        try:
            compile(ast.fix_missing_locations(ast.Module(body=[rules.clone(tree)],
                                                         type_ignores=[])),
                    f"<srcad check {tree.name}>", "exec")
        except (SyntaxError, TypeError, ValueError) as e:
            fail(tree, f"the tree does not compile: {e}")


def primal_maybe_unbound(fn: ir.Function) -> set:
    """The names the primal itself may read before assigning them (a variable assigned in a
    loop and read after it): its derivative may read them there too."""
    tree = ast.FunctionDef(name=fn.name, args=_arguments(fn.params),
                           body=ir.stmts_ast(fn.body) or [ast.Pass()], decorator_list=[],
                           returns=None, type_comment=None, type_params=[])
    found: set = set()
    _Definedness(tree, lambda n: True, set(), found).run()
    return found


def unbound_reads(tree: ast.FunctionDef, known, lenient: set = frozenset()) -> str | None:
    """A description of the first name `tree` may read unassigned, or None. A name the
    function never assigns must satisfy `known(name)`; names in `lenient` are not checked."""
    found: list = []
    _Definedness(tree, known, set(lenient), found).run()
    return found[0] if found else None


# ---------------------------------------------------------------- shared nodes

def _check_unshared(trees, fail):
    """No node object twice (the field-less operator and context nodes are shared by
    design, and carry nothing a rewrite could change)."""
    seen: dict = {}                 # id(node) -> the statement holding it
    for tree in trees:
        todo = [(tree, tree)]
        while todo:
            node, stmt = todo.pop()
            if isinstance(node, ast.stmt):
                stmt = node
            key = id(node)
            if key in seen:
                fail(tree, f"AST node `{_show(node)}` appears twice: in `{_show(seen[key])}` "
                     f"and in `{_show(stmt)}`")
            seen[key] = stmt
            children = []
            for field in node._fields:
                value = getattr(node, field, None)
                if isinstance(value, list):
                    children += [x for x in value if isinstance(x, ast.AST)]
                elif isinstance(value, ast.AST):
                    children.append(value)
            todo += [(x, stmt) for x in reversed(children) if not isinstance(x, _SINGLETONS)]


# ---------------------------------------------------------------- single assignment

def _check_single_assignment(tree, temps: set, fail):
    """Each temporary is bound once: by one assignment, or as the target of one loop (which
    the reverse sweep may run again backwards: `for t in reversed(same)`, or over the
    iterations that ran, `reversed(same[:count])`)."""
    if not temps:
        return
    first: dict = {}
    loops: dict = {}                # temporary -> the iterable its loop runs over
    for st in ast.walk(tree):
        if isinstance(st, ast.Assign):
            if _is_placeholder(st.value) or _is_restore(st):
                continue
            stored = [n for t in st.targets for n in _stored(t)]
        elif isinstance(st, ast.For):
            stored = _stored(st.target)
            it = ast.dump(_replayed(st.iter))
            replays = [n for n in stored if n in temps and loops.get(n) == it]
            for n in stored:
                loops.setdefault(n, it)
            stored = [n for n in stored if n not in replays]
        elif isinstance(st, (ast.AugAssign, ast.AnnAssign, ast.NamedExpr)):
            stored = _stored(st.target)
        else:
            continue
        for n in stored:
            if n in temps:
                if n in first:
                    fail(tree, f"temporary {n!r} is assigned twice: `{_show(first[n])}` and "
                         f"`{_show(st)}`")
                first[n] = st


def _replayed(it):
    """The iterable a loop replays: `x` for `reversed(x)` and `reversed(x[:n])`."""
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and \
            it.func.id == "reversed" and len(it.args) == 1 and not it.keywords:
        it = it.args[0]
        if isinstance(it, ast.Subscript) and isinstance(it.slice, ast.Slice) and \
                it.slice.lower is None and it.slice.step is None:
            it = it.value
    return it


def _is_mark(st) -> bool:
    v = st.value
    return isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == LINE_MARK


def _is_placeholder(value) -> bool:
    """`None`, or a tuple of them: a value that may not exist yet (reverse.stacks)."""
    if isinstance(value, ast.Tuple):
        return all(_is_placeholder(e) for e in value.elts)
    return isinstance(value, ast.Constant) and value.value is None


def _is_restore(st: ast.Assign) -> bool:
    """`t = stack.pop()`: the reverse sweep restores the value `t` had."""
    v = st.value
    return len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) and \
        isinstance(v, ast.Call) and not v.args and not v.keywords and \
        isinstance(v.func, ast.Attribute) and v.func.attr == "pop" and \
        isinstance(v.func.value, ast.Name)


def _pushed(st: ast.Expr):
    """(stack, name) of `stack.append(name)`: a value saved for the reverse sweep."""
    v = st.value
    if isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and \
            v.func.attr == "append" and isinstance(v.func.value, ast.Name) and \
            len(v.args) == 1 and not v.keywords and isinstance(v.args[0], ast.Name):
        return v.func.value.id, v.args[0].id
    return None


def _stored(target) -> list:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for e in target.elts for n in _stored(e)]
    if isinstance(target, ast.Starred):
        return _stored(target.value)
    return []


def _show(node) -> str:
    """A node's text on one line (a compound statement's first line)."""
    if isinstance(node, (ast.If, ast.For, ast.While, ast.FunctionDef)):
        node = type(node)(**{**node.__dict__, "body": [ast.Pass()], "orelse": []})
    try:
        text = ast.unparse(node)
    except Exception:                       # a malformed tree: say what it is
        text = type(node).__name__
    text = " ".join(text.split())
    return text if len(text) <= 100 else text[:97] + "..."


def _arguments(params) -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in params], vararg=None,
                         kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])


# ---------------------------------------------------------------- definedness
#
# A forward data flow analysis of definite assignment that follows branch tests. The
# state maps each name to the conditions under which it is assigned: a condition is a
# frozenset of literals, all of which being true assures the assignment (`frozenset()`:
# on every path). A literal is `(key, polarity)`, the truth of a branch test: for a flag
# (a name only ever assigned True or False, never inside a test of itself) the key is
# the name, whose assignments revise the facts that mention it; for any other test, the
# key holds the test's text and the versions of the names it reads, so that a test
# replayed before any of them is reassigned (`if v0: ...` then `if v0: ...`) is known
# to go the same way. A path is the set of literals known true where a statement runs.

_fresh = itertools.count(1)
_ALWAYS = frozenset()


class _State:
    __slots__ = ("defs", "versions", "flags", "arms", "stacks", "replays")

    def __init__(self, defs, versions, flags=frozenset(), arms=None, stacks=None,
                 replays=None):
        self.defs = defs            # name -> set of conditions
        self.versions = versions    # name -> version label of its current value
        self.flags = flags          # literals of the flags whose value is known here
        self.arms = _Arms() if arms is None else arms    # shared by a function's states
        # a stack of saved values -> what it holds here, as (name, version) pairs, or an
        # _ArmStacks after an `if` whose arms pushed differently; absent: not known
        self.stacks = {} if stacks is None else stacks
        # the name of a range -> the _Replay of the last for loop over it (see
        # `_Definedness.replay`)
        self.replays = {} if replays is None else replays

    def copy(self):
        return _State({n: set(c) for n, c in self.defs.items()}, dict(self.versions),
                      self.flags, self.arms, dict(self.stacks), dict(self.replays))

    def implies(self, name, cond) -> bool:
        """Whether `name` is assigned here whenever `cond` holds (vacuously when `cond`
        contradicts a flag's known value). Tests are compared by the versions of their
        names on this path (see `_arm_version`)."""
        if any((key, not pol) in self.flags for key, pol in cond):
            return True
        cond = cond | self.flags
        conds = self.defs.get(name, ())
        if any(c <= cond for c in conds):
            return True
        if not self.arms.of or not conds:
            return False
        here = {self.canonical(lit, cond) for lit in cond}
        return any({self.canonical(lit, cond) for lit in c} <= here for c in conds)

    def canonical(self, lit, path):
        """`lit` with each name's version as it is on `path`."""
        key, pol = lit
        if not isinstance(key, tuple):
            return lit
        return (key[0], tuple((n, _arm_version(self, v, path)) for n, v in key[1])), pol

    def stack_on(self, name, path):
        """What stack `name` holds on `path` (None: not known)."""
        held = self.stacks.get(name)
        if isinstance(held, _ArmStacks):
            here = {self.canonical(lit, path) for lit in path}
        while isinstance(held, _ArmStacks):
            held = next((h for lit, h in held.arms
                         if lit in path or self.canonical(lit, path) in here), None)
        return held


class _Replay:
    """A for loop over a range seen, for a later loop over that range reversed (srcad's
    reverse sweep replaying it): the state before it and the versions after it."""
    __slots__ = ("loop", "before", "path", "after", "stacks")

    def __init__(self, loop, before, path, after):
        self.loop, self.before, self.path, self.after = loop, before, path, after
        self.stacks = _stacks_in(loop.body)          # the lists its body uses as stacks


class _Arms:
    """The versions merged after an `if`: `of` maps one to the version each arm had (by
    the literal true on that arm), `by` maps those arms back to the merged version, so that
    the same merge made again (a replay of the branch) is the same version."""
    __slots__ = ("of", "by")

    def __init__(self):
        self.of: dict = {}
        self.by: dict = {}


class _ArmStacks:
    """A stack after an `if` whose arms left it holding different values: per arm, the
    literal true on it and what the stack holds there."""
    __slots__ = ("arms",)

    def __init__(self, arms):
        self.arms = arms

    def __eq__(self, other):
        return isinstance(other, _ArmStacks) and self.arms == other.arms

    __hash__ = None


class _Definedness:
    """Walks one function definition and reports through `found`: a list gets the first
    problem's description, a set gets the names read maybe unassigned. A read of a name
    in `lenient` (the primal's own maybe-unassigned reads) is not reported; as Python
    would raise there, the code after it may assume it was assigned."""

    def __init__(self, tree, known, lenient: set, found):
        self.tree = tree
        self.known = known
        self.lenient = lenient
        self.found = found
        self.locals = _local_names(tree)
        self.flags = _flag_names(tree)
        self.loops: list = []           # per enclosing loop: (breaks, continues) states
        # the versions `name = range(...)` made: a loop over one runs as often as a loop
        # over it reversed
        self.ranges: set = set()
        self.simulating = 0             # how deep in `replay`'s trial runs of loop bodies

    def run(self):
        args = self.tree.args
        params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        params += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
        state = _State({p: {_ALWAYS} for p in params}, {p: 0 for p in params})
        for d in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self.read_expr(d, state, _ALWAYS, self.tree)
        self.block(self.tree.body, state, _ALWAYS)

    # -- reads
    def report(self, name, stmt, why):
        if isinstance(self.found, set):
            self.found.add(name)
        elif not self.found:
            self.found.append(f"{name!r} {why} in `{_show(stmt)}`")

    def read(self, name, state, path, stmt):
        """The path after reading `name` (None: the read always raises)."""
        if name not in self.locals:
            if not self.known(name):
                self.report(name, stmt, "is not defined (neither assigned nor a name the "
                                        "generated code is given)")
            return path
        conds = state.defs.get(name)
        if conds and state.implies(name, path):
            return path
        if name not in self.lenient:
            self.report(name, stmt, "may be read before it is assigned")
            return path
        if not conds:
            return None
        return path | frozenset.intersection(*conds)

    def read_expr(self, expr, state, path, stmt, bound=frozenset()):
        """Check the names `expr` loads (`bound`: names a comprehension binds); the path
        after it."""
        todo = [(expr, bound)]
        while todo:
            node, bound = todo.pop()
            cls = node.__class__
            if cls is ast.Name:
                if isinstance(node.ctx, ast.Load) and node.id not in bound:
                    path = self.read(node.id, state, path, stmt)
                    if path is None:
                        return None
                continue
            if cls in (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp):
                inner = set(bound)
                for k, gen in enumerate(node.generators):
                    todo.append((gen.iter, frozenset(inner) if k else bound))
                    inner |= set(_stored(gen.target))
                    todo += [(c, frozenset(inner)) for c in gen.ifs]
                elts = [node.key, node.value] if cls is ast.DictComp else [node.elt]
                todo += [(e, frozenset(inner)) for e in elts]
                continue
            if cls is ast.Lambda:
                a = node.args
                inner = bound | {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
                todo += [(d, bound) for d in a.defaults + [d for d in a.kw_defaults if d]]
                todo.append((node.body, frozenset(inner)))
                continue
            if cls is ast.NamedExpr:
                todo.append((node.value, bound))
                self.assign(node.target.id, state, path)
                continue
            for field in node._fields:
                value = getattr(node, field, None)
                if isinstance(value, list):
                    todo += [(x, bound) for x in reversed(value) if isinstance(x, ast.AST)]
                elif isinstance(value, ast.AST):
                    todo.append((value, bound))
        return path

    # -- writes
    def assign(self, name, state, path):
        conds = state.defs.get(name)
        if not conds:
            state.defs[name] = {path}
        elif not any(c <= path for c in conds):
            state.defs[name] = {c for c in conds if not path <= c} | {path}
        state.versions[name] = next(_fresh)

    def assign_flag(self, name, value, state, path):
        """`flag = True` (or False): what is assigned here is assigned whenever the flag has
        this truth value; facts about the flag's other value hold vacuously. `value` None:
        a restored value, either one."""
        lits = {(name, True), (name, False)} if value is None else {(name, bool(value))}
        for n, conds in state.defs.items():
            if not state.implies(n, path):
                conds -= {c for c in conds if c & lits}
            elif value is not None:
                conds -= {c for c in conds if c & lits}
                conds.add(frozenset(lits))
        state.defs = {n: c for n, c in state.defs.items() if c}
        self.assign(name, state, path)
        state.flags = frozenset(f for f in state.flags if f[0] != name) | \
            (frozenset(lits) if value is not None else frozenset())

    def store(self, target, state, path, stmt):
        """Assign a target; a subscript or attribute target reads its base and index."""
        if isinstance(target, ast.Name):
            self.assign(target.id, state, path)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for e in target.elts:
                path = self.store(e, state, path, stmt)
        elif isinstance(target, ast.Starred):
            path = self.store(target.value, state, path, stmt)
        else:
            path = self.read_expr(target, state, path, stmt)
        return path

    # -- statements
    def block(self, stmts, state, path):
        """The state after `stmts` (None: no path goes on)."""
        for st in stmts:
            if state is None or path is None:
                return None
            state, path = self.stmt(st, state, path)
        return state if path is not None else None

    def stmt(self, st, state, path):
        """(state, path) after `st`."""
        cls = st.__class__
        if not (cls is ast.Expr and _stack_call(st.value) or cls is ast.Assign and
                _is_restore(st)):
            # an append or pop not of the forms the stacks follow (`a, b = xs.pop()`)
            heads = [st.test] if cls in (ast.If, ast.While) else [st.iter] \
                if cls is ast.For else [st]
            for node in (n for h in heads for n in ast.walk(h)):
                stack = _stack_call(node)
                if stack is not None:
                    state.stacks.pop(stack, None)
        if cls is ast.Assign:
            path = self.read_expr(st.value, state, path, st)
            if path is None:
                return None, None
            restored = self.restored(st, state, path)
            if len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) and \
                    st.targets[0].id in self.flags:
                value = st.value.value if isinstance(st.value, ast.Constant) else None
                self.assign_flag(st.targets[0].id, value, state, path)
            else:
                for t in st.targets:
                    path = self.store(t, state, path, st)
            for t in st.targets:
                for n in _stored(t):
                    state.stacks.pop(n, None)
            if restored is not None:
                state.versions[st.targets[0].id] = restored
            if len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) and \
                    isinstance(st.value, ast.Call) and isinstance(st.value.func, ast.Name) and \
                    st.value.func.id == "range" and "range" not in self.locals:
                self.ranges.add(state.versions.get(st.targets[0].id))
            if len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) and \
                    isinstance(st.value, ast.List) and not st.value.elts:
                state.stacks[st.targets[0].id] = ()          # a new stack
            if path is None:
                return None, None
            return state, path
        elif cls is ast.AugAssign:
            path = self.read_expr(st.value, state, path, st)
            if path is not None and isinstance(st.target, ast.Name):
                path = self.read(st.target.id, state, path, st)
            if path is not None:
                path = self.store(st.target, state, path, st)
        elif cls is ast.AnnAssign:
            if st.value is not None:
                path = self.read_expr(st.value, state, path, st)
                if path is not None:
                    path = self.store(st.target, state, path, st)
        elif cls is ast.Expr and _is_mark(st):
            pass                                  # codegen turns it into a comment
        elif cls is ast.Expr and _pushed(st):
            path = self.read_expr(st.value, state, path, st)
            stack, name = _pushed(st)
            held = state.stack_on(stack, path)
            state.stacks.pop(stack, None)
            if held is not None:
                state.stacks[stack] = held + ((name, state.versions.get(name)),)
        elif cls is ast.Expr and _stack_call(st.value):
            path = self.read_expr(st.value, state, path, st)
            stack = _stack_call(st.value)
            held = state.stack_on(stack, path)
            state.stacks.pop(stack, None)
            if held is not None and st.value.func.attr == "append":
                state.stacks[stack] = held + (("", None),)     # a value no name had
        elif cls in (ast.Expr, ast.Assert):
            for field in st._fields:
                value = getattr(st, field)
                if isinstance(value, ast.AST) and path is not None:
                    path = self.read_expr(value, state, path, st)
        elif cls in (ast.Return, ast.Raise):
            for field in st._fields:
                value = getattr(st, field)
                if isinstance(value, ast.AST) and path is not None:
                    path = self.read_expr(value, state, path, st)
            return None, None
        elif cls is ast.If:
            return self.if_stmt(st, state, path)
        elif cls is ast.For:
            return self.for_stmt(st, state, path)
        elif cls is ast.While:
            return self.while_stmt(st, state, path)
        elif cls is ast.Break:
            self.loops[-1][0].append((state, path))
            return None, None
        elif cls is ast.Continue:
            self.loops[-1][1].append(state)
            return None, None
        elif cls is ast.Delete:
            for t in st.targets:
                if isinstance(t, ast.Name):
                    path = self.read(t.id, state, path, st)
                    state.defs.pop(t.id, None)
                else:
                    path = self.read_expr(t, state, path, st)
                if path is None:
                    break
        elif cls is ast.FunctionDef:
            for d in st.args.defaults + [d for d in st.args.kw_defaults if d is not None]:
                path = self.read_expr(d, state, path, st) if path is not None else None
            if path is not None:
                self.assign(st.name, state, path)
        elif cls is not ast.Pass:
            raise SrcadError(f"internal check: statement `{_show(st)}` is not one generated "
                             "code uses")
        return (state, path) if path is not None else (None, None)

    def restored(self, st, state, path):
        """For `t = stack.pop()` where the stack is known on `path` and its top was pushed
        from t: the version t had when pushed (the value the reverse sweep restores)."""
        if not _is_restore(st):
            return None
        stack = st.value.func.value.id
        held = state.stack_on(stack, path)
        if not held or held[-1][0] != st.targets[0].id or held[-1][1] is None:
            # (it still takes the top: what the stack holds below it is known)
            if held:
                state.stacks[stack] = held[:-1]
            else:
                state.stacks.pop(stack, None)
            return None
        state.stacks[stack] = held[:-1]
        return held[-1][1]

    def literal(self, test, state):
        """The literal saying `test` is true."""
        polarity = True
        while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test, polarity = test.operand, not polarity
        if isinstance(test, ast.Name) and test.id in self.flags:
            return test.id, polarity
        names = sorted({n.id for n in ast.walk(test) if isinstance(n, ast.Name)})
        key = (ast.dump(test), tuple((n, state.versions.get(n)) for n in names))
        return key, polarity

    def if_stmt(self, st, state, path):
        path = self.read_expr(st.test, state, path, st)
        if path is None:
            return None, None
        key, pol = self.literal(st.test, state)
        yes, no = (key, pol), (key, not pol)
        body = self.block(st.body, state.copy(), path | {yes})
        orelse = self.block(st.orelse, state.copy(), path | {no})
        return _meet([(body, yes), (orelse, no)], path), path

    def loop(self, st, state, path, target=None):
        """The state at the loop's head (a fixpoint: before the loop, and after each way
        round), and the (state, path) at each break."""
        assigned = _assigned_in(st.body) | (set(_stored(target)) if target else set())
        entry = state.copy()
        mark = next(_fresh)           # versions from here on are made in the loop
        entry.versions.update({n: next(_fresh) for n in assigned})
        head = entry
        for _ in range(50):
            self.loops.append(([], []))
            inner = head.copy()
            inner_path = path
            if target is not None:
                inner_path = self.store(target, inner, path, st)
            end = self.block(st.body, inner, inner_path) if inner_path is not None else None
            breaks, continues = self.loops.pop()
            back = [(_back_edge(s, assigned, entry.versions, mark), None)
                    for s in [end] + continues if s is not None]
            new = _meet([(entry, None)] + back)
            if new.defs == head.defs:
                return head, breaks
            head = new
        raise SrcadError("internal check: the definedness analysis does not converge")

    def for_stmt(self, st, state, path):
        path = self.read_expr(st.iter, state, path, st)
        if path is None:
            return None, None
        before = state.copy()
        head, breaks = self.loop(st, state, path, st.target)
        exits = [(head, None)] + [(_resolve(s, p, path), None) for s, p in breaks]
        after = self.block(st.orelse, _meet(exits), path) if st.orelse else _meet(exits)
        after = _fresh_versions(after, _assigned_in(st.body) | set(_stored(st.target)))
        if after is None or self.simulating > 3 or st.orelse or _exits(st.body):
            return after, path
        it = st.iter
        if isinstance(it, ast.Name) and before.versions.get(it.id) in self.ranges:
            rec = after.replays[it.id] = _Replay(st, before, path, dict(after.versions))
            for n in rec.stacks:
                # what the loop left on its stacks, to tell at a replay whether code
                # between the two loops left them so (pops of what it pushed)
                after.stacks[n] = ((rec, None),)
        elif isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and \
                it.func.id == "reversed" and len(it.args) == 1 and not it.keywords and \
                isinstance(it.args[0], ast.Name):
            rec = before.replays.get(it.args[0].id)
            if rec is not None and \
                    rec.before.versions.get(it.args[0].id) == before.versions.get(it.args[0].id) \
                    and all(before.stacks.get(n) == ((rec, None),) for n in rec.stacks):
                restored, stacks = self.replay(rec, st, before, path)
                after.versions.update(restored)
                for n in stacks:                  # each as it was before the first loop
                    if n in rec.before.stacks:
                        after.stacks[n] = rec.before.stacks[n]
                    else:
                        after.stacks.pop(n, None)
        return after, path

    def replay(self, rec, back, state, path):
        """(name -> its version before loop `rec.loop`, for the names loop `back` (over the
        same range reversed, run in `state`) restores to what they were before it; the
        stacks the two bodies use, which it leaves as they were before it, or empty).

        A trial run of one body then the other: from the state before the first loop
        (names either body assigns given new versions), its body, then the second's with
        the names assumed restored (`held`) keeping the versions the first left them and
        the others new ones. A name in `held` whose version at the end is the one it had
        at the start is restored by one turn of each, when every stack either body uses
        ends as it started (each pop takes what the matching turn pushed). By induction
        over the turns (the second loop runs them last first, as often: the same range,
        no break), after both loops each such name holds what it held before the first:
        each turn of the second starts with the names in `held` as the matching turn of
        the first left them (the turn after it restored them to that). Names that changed
        since the first loop, and stacks touched since, were dropped before."""
        first, second = rec.loop.body, back.body
        if _exits(second) or any(
                isinstance(n, ast.Name) and n.id in self.flags
                for st in first + second for node in ast.walk(st)
                if isinstance(node, (ast.If, ast.While)) for n in ast.walk(node.test)):
            # (a flag's literal names no version: one turn's test could not be told from
            # another's, or from a test after the flag changed between the loops)
            return {}, ()
        stacks = _stacks_in(first) | _stacks_in(second)
        targets = set(_stored(rec.loop.target)) | set(_stored(back.target))
        assigned = _assigned_in(first) | _assigned_in(second) | targets
        held = {n for n in assigned - targets - stacks
                if state.versions.get(n) == rec.after.get(n) and n in rec.after}
        saved = (self.found, self.simulating, self.loops)
        self.found, self.simulating, self.loops = [], self.simulating + 1, []
        try:
            while True:                 # until the names assumed restored all are
                start = rec.before.copy()
                start.versions.update({n: next(_fresh) for n in assigned})
                for s in stacks:
                    start.stacks[s] = ()
                begin = dict(start.versions)
                inner = start
                p = self.store(rec.loop.target, inner, rec.path, rec.loop)
                end = self.block(first, inner, p)
                if end is None:
                    return {}, ()
                # the second turn: names neither body assigns as they are at the second
                # loop (changed between the loops or not), the others not in `held` new
                end.versions.update({n: v for n, v in state.versions.items()
                                     if n not in assigned})
                end.versions.update({n: next(_fresh) for n in assigned - held})
                p = self.store(back.target, end, path, back)
                end = self.block(second, end, p)
                if end is None or any(end.stacks.get(s) != () for s in stacks):
                    return {}, ()
                kept = {n for n in held if end.versions.get(n) == begin[n]}
                if kept == held:
                    break
                held = kept
        finally:
            self.found, self.simulating, self.loops = saved
        return {n: rec.before.versions[n] for n in held if n in rec.before.versions}, \
            stacks

    def while_stmt(self, st, state, path):
        head, breaks = self.loop(st, state, path)
        exits = [(_resolve(s, p, path), None) for s, p in breaks]
        if not (isinstance(st.test, ast.Constant) and st.test.value is True):
            if self.read_expr(st.test, head, path, st) is not None:
                exits.append((self.block(st.orelse, head.copy(), path), None))
        after = _meet(exits)
        if after is None:
            return None, None
        return _fresh_versions(after, _assigned_in(st.body)), path


def _meet(pairs, path=None):
    """The state where paths join: `pairs` of (state, the literal true on that path only,
    or None; `path`: the literals true before the branch). A condition holds after if it
    held on every path, or names its own path."""
    live = [(s, lit) for s, lit in pairs if s is not None]
    if not live:
        return None
    if len(live) == 1:
        return live[0][0]
    defs = {}
    for n in set().union(*[s.defs for s, _ in live]):
        kept = set()
        for i, (s, lit) in enumerate(live):
            for c in s.defs.get(n, ()):
                if (lit is not None and lit in c) or \
                        all(t.implies(n, c) for j, (t, _) in enumerate(live) if j != i):
                    kept.add(c)
        if kept:
            defs[n] = _simplify(kept)
    versions, arms = {}, live[0][0].arms
    def on_arm(s, lit, v):
        """v as it is on the arm (a version the arm merged from what its literals decide)."""
        return v if v is None or lit is None or path is None else \
            _arm_version(s, v, path | {lit})

    for n in set().union(*[s.versions for s, _ in live]):
        vs = {on_arm(s, lit, s.versions.get(n)) for s, lit in live} - {None}
        if len(vs) == 1:
            versions[n] = vs.pop()
            continue
        if all(lit is not None and s.versions.get(n) is not None for s, lit in live):
            key = tuple((lit, on_arm(s, lit, s.versions[n])) for s, lit in live)
            if key not in arms.by:
                arms.by[key] = next(_fresh)
                arms.of[arms.by[key]] = list(key)
            versions[n] = arms.by[key]
        else:
            versions[n] = next(_fresh)
    stacks = {}
    for n in set().union(*[s.stacks for s, _ in live]):
        held = [s.stacks.get(n) for s, _ in live]
        # what each arm's stack is on that arm (one pushed on an arm of an earlier `if`
        # and popped on the same arm of its replay is back as it was on both)
        on_arms = [s.stack_on(n, path | {lit}) if lit is not None and path is not None
                   else None for s, lit in live]
        if all(h == held[0] for h in held) and held[0] is not None:
            stacks[n] = held[0]
        elif all(h == on_arms[0] for h in on_arms) and on_arms[0] is not None:
            stacks[n] = on_arms[0]
        elif all(lit is not None and h is not None for (_, lit), h in zip(live, held)):
            stacks[n] = _ArmStacks([(lit, h) for (_, lit), h in zip(live, held)])
    replays = {n: r for n, r in live[0][0].replays.items()
               if all(s.replays.get(n) is r for s, _ in live)}
    return _State(defs, versions, frozenset.intersection(*[s.flags for s, _ in live]), arms,
                  stacks, replays)


def _arm_version(state, v, path):
    """The version `v` is on `path`: where v was merged after an `if` whose arm `path`
    took (its literal is in `path`, or is one of `path`'s literals with its names' versions
    resolved the same way: the test of an `if` nested in another one, `if c: ... if d:`,
    names `d`'s version as merged after `c`), the version that arm left (`phi0` set in both
    arms of `if c:` is, under `not c` later, what the `else` arm set)."""
    if v not in state.arms.of:
        return v
    resolved = set(path)
    while True:                     # path's literals with their versions resolved on path
        more = {((k[0], tuple((n, _arm_step(state, w, resolved)) for n, w in k[1])), pol)
                for k, pol in resolved if isinstance(k, tuple)} - resolved
        if not more:
            break
        resolved |= more
    return _arm_step(state, v, resolved)


def _arm_step(state, v, path, depth=0):
    """`v` followed through the merges whose arm `path` names; an arm's own literal counts
    with its names' versions resolved on `path` too (its test read a merged version)."""
    while v in state.arms.of:
        for lit, alt in state.arms.of[v]:
            if lit in path or (depth < 8 and isinstance(lit[0], tuple) and
                               ((lit[0][0], tuple((n, _arm_step(state, w, path, depth + 1))
                                                  for n, w in lit[0][1])), lit[1]) in path):
                v = alt
                break
        else:
            return v
    return v


def _back_edge(state, assigned, head_versions, mark):
    """The state going round a loop again: tests of names the body reassigns, as they are
    in the loop (versions from `mark` on), say nothing about the next time round; a test
    of the value a name had before the loop (`if returned:` before it, whose facts a
    replay after it uses) says the same every time."""
    out = state.copy()
    for n in list(out.defs):
        out.defs[n] = {c for c in out.defs[n]
                       if not any(_mentions(lit, assigned, mark) for lit in c)}
        if not out.defs[n]:
            del out.defs[n]
    for n in assigned:
        out.versions[n] = head_versions[n]
    return out


def _mentions(lit, names, mark) -> bool:
    key = lit[0]
    return isinstance(key, tuple) and any(n in names and (v is None or v >= mark)
                                          for n, v in key[1])


def _resolve(state, at, path):
    """The state after leaving a loop by a break that ran with literals `at`: what was
    assigned there is assigned after the loop whenever this exit was taken."""
    out = state.copy()
    for n, conds in out.defs.items():
        if state.implies(n, at):
            conds.add(path)
    return out


def _fresh_versions(state, names):
    if state is not None:
        for n in names:
            state.versions[n] = next(_fresh)
    return state


def _simplify(conds: set) -> set:
    """Join `c + t` with `c + not t` into `c` and drop conditions another implies, but for
    facts about flags (which another path may need, see `_meet`)."""
    conds = set(conds)
    changed = True
    while changed:
        changed = False
        for c in list(conds):
            for key, pol in c:
                other = (c - {(key, pol)}) | {(key, not pol)}
                if other in conds:
                    conds -= {c, other}
                    conds.add(c - {(key, pol)})
                    changed = True
                    break
            if changed:
                break
    return {c for c in conds if not any(d < c for d in conds)
            or all(isinstance(key, str) for key, _ in c)}


def _stack_call(v):
    """The list name of `xs.append(...)` or `xs.pop()` (any such call), or None."""
    if isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and \
            v.func.attr in ("append", "pop") and isinstance(v.func.value, ast.Name):
        return v.func.value.id
    return None


def _stacks_in(stmts) -> set:
    """The lists statements append to or pop from."""
    return {_stack_call(n) for st in stmts for n in ast.walk(st) if _stack_call(n)}


def _exits(stmts) -> bool:
    """Whether statements may leave their loop's turn early (a break or continue of their
    own loop, not of a nested one)."""
    todo = list(stmts)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Break, ast.Continue)):
            return True
        if isinstance(node, (ast.For, ast.While)):
            todo += node.orelse
            continue
        if isinstance(node, (ast.FunctionDef, ast.Lambda)):
            continue
        todo += [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt)]
    return False


def _flag_names(tree) -> set:
    """Names only ever assigned the constant True or False (`name = True`) or a restored
    value (`name = stack.pop()`), never inside an `if` that tests them."""
    candidates = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name) and (_is_restore(node) or (
                    isinstance(node.value, ast.Constant) and isinstance(node.value.value, bool))):
            candidates[id(node.targets[0])] = node.targets[0].id
    others = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
              and not isinstance(n.ctx, ast.Load) and id(n) not in candidates}
    others |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    candidates = set(candidates.values())
    flags = candidates - others
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and flags:
            tested = {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
            flags -= tested & _assigned_in(node.body + node.orelse)
    return flags


def _assigned_in(stmts) -> set:
    """The names statements bind in their own scope (not in comprehensions, lambdas or
    nested functions)."""
    out = set()
    todo = list(stmts)
    while todo:
        node = todo.pop()
        cls = node.__class__
        if cls is ast.Name:
            if not isinstance(node.ctx, ast.Load):
                out.add(node.id)
            continue
        if cls is ast.FunctionDef:
            out.add(node.name)
            continue
        if cls in _SCOPES:
            continue
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, list):
                todo += [x for x in value if isinstance(x, ast.AST)]
            elif isinstance(value, ast.AST):
                todo.append(value)
    return out


_SCOPES = (ast.Lambda, ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


def _local_names(tree) -> set:
    """The names Python treats as the function's locals: parameters and assigned names."""
    args = tree.args
    out = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    out |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    return out | _assigned_in(tree.body)
