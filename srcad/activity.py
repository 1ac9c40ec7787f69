"""Activity pass: the kind of every name, and which names need derivative code.

A name is *varied* when it depends differentiably on a `wrt` input, *useful* when
the output depends differentiably on it, and *active* when both. Kinds (float,
int, any, none) come from the arguments' kinds at call time; integers, booleans
and non-numeric values are never differentiated, and a name known to hold a
float lets the emitters drop broadcasting helpers. The alias analysis finds which
values may share storage (from each rule's storage facts) and refuses a change in place
that another live name would see, since srcad computes a new value instead.
"""
from __future__ import annotations

import builtins
import inspect
import operator
import os
import threading
import types
import weakref
from dataclasses import dataclass, field

import numpy as np

from . import ir, rules, runtime
from .errors import SrcadError
from .lower import PACK_LIST, PACK_TUPLE, UserCall
from .rules import ANY, FLOAT, INT, NONE
from .rules.core import LIST_APPEND


@dataclass
class Activity:
    kinds: dict
    varied: set
    useful: set
    shapes: dict = None            # name -> shape class: names with equal classes have equal shapes
    seqs: set = None               # names that may hold a list or tuple (adjoints add item-wise)
    aliases: dict = None           # name -> the storage roots it may be, view or hold
    mutated: frozenset = frozenset()  # parameters Python's f may change in place (or items of)
    # id(statement) -> the arguments ("arg", i) or ("kw", name) of a call of a user function
    # that changes them in place (the derivative passes it copies: see Emitter.primal_value)
    changed_args: dict = field(default_factory=dict)
    # name -> "seq" or "array" for a value a tuple assignment unpacks that is surely a list
    # or tuple, or surely an array (see _unpacked_values); an unknown one is left out
    unpacks: dict = field(default_factory=dict)

    def may_share(self, a: str, b: str) -> bool:
        """Whether names `a` and `b` may share storage somewhere in the function."""
        ra, rb = (self.aliases or {}).get(a), (self.aliases or {}).get(b)
        return bool(ra and rb) and _overlap(ra, rb)

    def shape(self, atom):
        if isinstance(atom, ir.Const):
            return SCALAR if const_kind(atom.value) in (INT, FLOAT) else None
        return (self.shapes or {}).get(atom.id)

    def same_shape(self, a, b) -> bool:
        sa = self.shape(a)
        return sa is not None and sa == self.shape(b)

    @property
    def active(self) -> set:
        return self.varied & self.useful

    def kind(self, atom) -> str:
        if isinstance(atom, ir.Const):
            return const_kind(atom.value)
        return self.kinds.get(atom.id if isinstance(atom, ir.Name) else atom, ANY)


SCALAR = "scalar"
SEQ = "seq"                        # a list or tuple argument
SEQS = "seq:seqs"                  # a list or tuple argument whose items are lists or tuples


def const_kind(v) -> str:
    if isinstance(v, bool) or isinstance(v, int):
        return INT
    if isinstance(v, float):
        return FLOAT
    return NONE


def bound_args(call: ir.Call) -> dict:
    """A rule call's arguments by parameter name, defaults filled in as constants."""
    rule = call.prim
    if not isinstance(rule, rules.Rule):
        return {}
    names = [p for p, _ in rule.params]
    out = {}
    for i, a in enumerate(call.args):
        out[names[i] if i < len(names) else f"arg{i}"] = a
    out.update(call.kwargs)
    for p, default in rule.params:
        if p not in out:
            out[p] = ir.Const(None if default is rules._REQUIRED else default)
    return out


def diff_args(call: ir.Call) -> list:
    """The atoms of a call that derivatives flow through."""
    prim = call.prim
    if isinstance(prim, rules.Rule):
        if not prim.differentiable:
            return []
        if isinstance(prim, rules.IndexRule):
            return call.args[:1]
        b = bound_args(call)
        return [b[p] for p in prim.diff_params if p in b]
    return list(call.args) + list(call.kwargs.values()) if prim.differentiable else []


def _join(a, b):
    if a is None:
        return b
    if a == b:
        return a
    if {a, b} <= {INT, FLOAT}:
        return FLOAT
    if {a, b} == {NONE, INT}:
        return NONE
    return ANY


def _call_kind(call: ir.Call, kind) -> str:
    prim = call.prim
    k = prim.kind
    args = [kind(a) for a in call.args]
    if k == "elementwise":
        if ANY in args:
            return ANY
        if NONE in args and FLOAT not in args:
            return NONE
        if isinstance(prim, rules.Rule) and prim.array_of_numbers:
            return ANY                  # a 0-d array of numbers: mutable, no NumPy scalar
        if FLOAT in args:
            return FLOAT
        return FLOAT if isinstance(prim, rules.Rule) and prim.key is operator.truediv else INT
    if k == "reduce":
        b = bound_args(call)
        # a reduction over every axis is a float, unless keepdims keeps them as 1s (then
        # even of a float: scipy.special.logsumexp(1.1, keepdims=True) has shape (1,))
        if b.get("keepdims", ir.Const(False)) != ir.Const(False):
            return ANY
        if args and args[0] in (FLOAT, INT):
            return FLOAT
        return FLOAT if b.get("axis") == ir.Const(None) else ANY
    if k == "first":
        return args[0] if args else ANY
    if k == "like":             # typed like its shape argument: grad_like(g, x) is x's type
        like = bound_args(call)[prim.shape_args[0]]
        return FLOAT if kind(like) in (FLOAT, INT) else ANY
    if k == "index":
        if args and args[0] == NONE:
            # an int entry of a range or a shape (the loops srcad generates index ranges)
            return INT if call.static == ("atom", 1) and args[1] == INT else NONE
        return ANY
    if k in ("tuple", "list"):
        return ANY if any(a in (FLOAT, ANY) for a in args) else NONE
    if k in (FLOAT, INT, NONE, ANY):
        return k
    return ANY


def _closed_lists(stmts, params) -> tuple:
    """Lists and tuples that never leave a group of names (built, appended to, sliced,
    copied, indexed, measured with len, summed, nothing else): (item atoms per name, one
    list per group, so the kind of an entry, and of the sum of floats, is the join of its
    group's items; reads of an entry or sums, id(statement) -> the name read). srcad's own stacks (`x_stack = [*x_stack, x]`,
    `x = x_stack[-1]`) are such lists: their entries keep the kind of what was pushed."""
    def source(v):
        """The list a statement's value is made from (None: a new one), or False."""
        if isinstance(v, ir.Name):
            return v.id
        if not isinstance(v, ir.Call):
            return False
        if v.prim is PACK_LIST or v.prim is PACK_TUPLE:
            return None
        if v.prim is LIST_APPEND and isinstance(v.args[0], ir.Name):
            return v.args[0].id
        if isinstance(v.prim, rules.IndexRule) and v.static[0] == "slice" and \
                isinstance(v.args[0], ir.Name):
            return v.args[0].id
        return False

    made, bad, edges = {}, set(params), []
    for s in stmts:
        if not isinstance(s, ir.Assign) or isinstance(s.target, tuple):
            continue
        src = source(s.value)
        if src is False:
            bad.add(s.target)
        else:
            made.setdefault(s.target, []).append(s)
            if src is not None:
                edges.append((s.target, src))
    reads: dict = {}
    for s in stmts:
        v = s.value if isinstance(s, ir.Assign) else None
        uses = ir.reads(s)
        if isinstance(v, ir.Call) and isinstance(v.prim, rules.IndexRule) and \
                isinstance(v.args[0], ir.Name) and not isinstance(s.target, tuple):
            uses = [a.id for a in v.args[1:] if isinstance(a, ir.Name)]
            if v.static == ("atom", 1) and v.args[0].id in made:
                reads[id(s)] = v.args[0].id
        elif isinstance(v, ir.Call) and v.prim is LIST_APPEND and \
                not isinstance(s.target, tuple):
            uses = [a.id for a in v.args[1:] if isinstance(a, ir.Name)]
        elif isinstance(v, ir.Name) and not isinstance(s.target, tuple):
            uses = []
        elif isinstance(v, ir.Call) and isinstance(v.prim, rules.Rule) and \
                v.prim.key is builtins.len:
            uses = []
        elif isinstance(v, ir.Call) and isinstance(v.prim, rules.Rule) and \
                v.prim.key is builtins.sum and isinstance(v.args[0], ir.Name) and \
                not isinstance(s.target, tuple):
            uses = []                    # the sum of the entries: typed like their join
            if v.args[0].id in made:
                reads[id(s)] = v.args[0].id
        elif isinstance(v, ir.Call) and isinstance(v.prim, rules.Rule) and v.prim.pure and \
                not v.prim.inplace and not isinstance(v.prim, rules.SetItemRule):
            # a list a rule reads but neither changes nor keeps (srcad's own
            # repeat_items(g, items) at second order): its entries stay what was appended
            kept = {h.lstrip("*") for h in v.prim.holds} | \
                (set() if v.prim.storage == "new" else set(v.prim.storage_args))
            uses = [a.id for p, a in bound_args(v).items()
                    if isinstance(a, ir.Name) and (p in kept or a.id not in made)]
        bad.update(uses)
    changed = True                       # a group with one bad name is bad
    while changed:
        changed = False
        for a, b in edges:
            if (a in bad) != (b in bad):
                bad |= {a, b}
                changed = True
    group = {n: [n] for n in made if n not in bad}
    for a, b in edges:
        if a in group and b in group and group[a] is not group[b]:
            merged = group[a] + group[b]
            for n in merged:
                group[n] = merged
    items = {}
    for n, members in group.items():
        atoms = items.get(id(members))
        if atoms is None:
            atoms = items[id(members)] = []
            for m in members:
                for s in made[m]:
                    v = s.value
                    if isinstance(v, ir.Call) and (v.prim is PACK_LIST or v.prim is PACK_TUPLE):
                        atoms += v.args
                    elif isinstance(v, ir.Call) and v.prim is LIST_APPEND:
                        atoms.append(v.args[1])
    return ({n: items[id(members)] for n, members in group.items()},
            {k: n for k, n in reads.items() if n in group})


def _kinds(fn, stmts, param_kinds, counters=None, lists=None) -> dict:
    """The kind of every name: the join over its assignments, to a fixpoint (`counters`:
    the names sure to hold ints, found here when not given; `lists`: _closed_lists' answer
    for `stmts`, when the caller has it)."""
    kinds = {p: ANY if k.partition(":")[0] == SEQ else k.partition(":")[0]
             for p, k in param_kinds.items()}
    items, entries = lists = _closed_lists(stmts, fn.params) if lists is None else lists

    def entry_kind(name):
        k = None
        for a in items[name]:
            k = _join(k, kind(a))
        return ANY if k is None else k

    def kind(a):
        if isinstance(a, ir.Const):
            return const_kind(a.value)
        return kinds.get(a.id, ANY if a.id not in assigned else None) or ANY

    def arg_key(a):
        """What a callee is told of argument `a`: an array argument's class and number of
        dimensions (`any:k:n`), otherwise its kind."""
        if isinstance(a, ir.Name) and a.id in fn.params:
            pk = param_kinds.get(a.id)
            if isinstance(pk, str) and pk.partition(":")[0] == ANY:
                return pk
        return kind(a)

    assigned = {t for s in stmts for t in ir.targets(s)} | set(fn.params)
    # `x = None` adds nothing to a name's kind where other assignments give it one (None,
    # like a number, has no storage and no derivative: `best = None` then `best = v` is
    # v's kind; a saved value srcad's own derivative sets to None first keeps its kind)
    nones = {s.target for s in stmts if isinstance(s, ir.Assign) and
             isinstance(s.value, ir.Const) and s.value.value is None}
    for s in stmts:
        if isinstance(s, ir.Assign) and not (isinstance(s.value, ir.Const) and
                                             s.value.value is None):
            nones.difference_update(ir.targets(s))
    for t in nones - set(fn.params):
        kinds.setdefault(t, NONE)
    if counters is None:
        # which names hold ints does not depend on entries being floats or anything: the
        # kinds without that rule tell them, then the kinds with it
        entries_of_args = any(
            isinstance(s, ir.Assign) and isinstance(s.value, ir.Call) and
            isinstance(s.value.prim, rules.IndexRule) and isinstance(s.value.args[0], ir.Name)
            and s.value.args[0].id in fn.params for s in stmts)
        counters = _counters(stmts, _kinds(fn, stmts, param_kinds, frozenset(), lists)) \
            if entries_of_args else frozenset()
    changed = True
    while changed:
        changed = False
        for s in stmts:
            if isinstance(s, ir.For):
                new = {s.target: INT}
            elif isinstance(s, ir.Assign):
                v = s.value
                if isinstance(v, ir.Const) and v.value is None:
                    continue
                if id(s) in entries:
                    k = entry_kind(entries[id(s)])
                    if isinstance(v, ir.Call) and v.prim.key is builtins.sum:
                        k = FLOAT if k in (FLOAT, INT) else ANY
                elif isinstance(v, ir.Call) and isinstance(v.prim, UserCall):
                    k = result_kind(v, arg_key)
                elif isinstance(v, ir.Call) and isinstance(v.prim, rules.IndexRule) and \
                        counters and _entry_of_array(v, fn, param_kinds, counters):
                    k = FLOAT
                else:
                    k = _call_kind(v, kind) if isinstance(v, ir.Call) else kind(v)
                if isinstance(s.target, tuple):
                    new = {t: (NONE if k == NONE else ANY) for t in s.target}
                else:
                    new = {s.target: k}
            else:
                continue
            for t, k in new.items():
                j = _join(kinds.get(t), k)
                if j != kinds.get(t):
                    kinds[t] = j
                    changed = True
    return kinds


_INT_ARITHMETIC = frozenset(map(id, (operator.add, operator.sub, operator.mul, operator.floordiv,
                                     operator.mod)))


def _counters(stmts, kinds) -> set:
    """Names sure to hold a Python int, never a bool (which indexes as a mask): the targets
    of loops over a range, and sums, differences, products, quotients and remainders of
    integers (`kinds`: ints or bools; arithmetic on either gives an int)."""
    defs: dict = {}
    for s in stmts:
        for t in ir.targets(s):
            defs.setdefault(t, []).append(s)
    ranges = {t for t, ds in defs.items() if all(
        isinstance(d, ir.Assign) and isinstance(d.value, ir.Call) and
        isinstance(d.value.prim, rules.Rule) and d.value.prim.key is builtins.range
        for d in ds)}
    out = {t for t, ds in defs.items() if all(
        isinstance(d, ir.For) and isinstance(d.iter, ir.Name) and d.iter.id in ranges
        for d in ds)}

    def is_int(a):
        return isinstance(a, ir.Const) and type(a.value) in (int, bool) or \
            isinstance(a, ir.Name) and kinds.get(a.id) == INT
    for t, ds in defs.items():
        if all(isinstance(d, ir.Assign) and d.target == t and isinstance(d.value, ir.Call)
               and isinstance(d.value.prim, rules.Rule) and
               _INT_ARITHMETIC.intersection(map(id, d.value.prim.key if isinstance(
                   d.value.prim.key, list) else [d.value.prim.key])) and not d.value.kwargs and
               len(d.value.args) == 2 and all(is_int(a) for a in d.value.args) for d in ds):
            out.add(t)
    return out


def _entry_of_array(call: ir.Call, fn, param_kinds, counters) -> bool:
    """Whether `call` is `a[i, j]`, one entry (a NumPy scalar) of an array argument `a`
    whose number of dimensions (`any:k:n`) the integer indices (`counters`, never bools)
    match."""
    if not isinstance(call.prim, rules.IndexRule):
        return False
    base = call.args[0]
    if not isinstance(base, ir.Name) or base.id not in fn.params:
        return False
    pk = param_kinds.get(base.id)
    if not isinstance(pk, str) or pk.partition(":")[0] != ANY:
        return False
    ndim = _ndim(("arg", pk.partition(":")[2]))
    layout = call.static
    items = layout[1] if layout[0] == "tuple" else [layout]
    if ndim is None or len(items) != ndim:
        return False
    for item in items:
        if item[0] != "atom":
            return False
        a = call.args[item[1]]
        if not (isinstance(a, ir.Const) and type(a.value) is int or
                isinstance(a, ir.Name) and a.id in counters):
            return False
    return True


def result_kind(call: ir.Call, key_of) -> str:
    """The kind of what a user function returns for arguments of these kinds (`key_of`
    gives each argument's), from its own SSA. A recursive call (met while its own kind is
    being found) is taken to return a float first, then the join of that and what the
    body returns, until the two agree: a kind the body keeps given its recursive calls
    return it holds for every call, by induction on the depth of the recursion."""
    func = call.prim.func
    if not isinstance(func, types.FunctionType) or \
            func.__code__.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS) or \
            vars(func).get("__srcad_transform__") is not None or \
            vars(func).get("__srcad_derivative__") is not None:
        return ANY                                # (*args, **kwargs: not mapped here)
    keys = tuple(key_of(a) for a in call.args) + tuple(
        (k, key_of(a)) for k, a in sorted(call.kwargs.items()))
    if not all(isinstance(k, str) for k in keys[:len(call.args)]) or \
            not all(isinstance(k[1], str) for k in keys[len(call.args):]):
        return ANY
    key = (func, func.__code__, keys)
    # kept for one analysis only: a helper's own helpers are looked up by name, and a
    # global rebound between builds may return something else
    memo = _IN_PROGRESS.__dict__.get("result_memo")
    if memo is None:
        memo = {}
    if key in memo:
        return memo[key]
    guesses = _IN_PROGRESS.__dict__.setdefault("result_guesses", {})
    reads = _IN_PROGRESS.__dict__.setdefault("result_reads", [])
    depths = _IN_PROGRESS.__dict__.setdefault("result_depths", {})
    if key in guesses:                            # a recursive call: the current guess
        for r in reads[depths[key]:]:             # relied on by the calls within key's
            r.add(key)                            # (not by those around it: ping's kind
        return guesses[key]                       # for other kinds, around ping <-> pong)
    guesses[key] = FLOAT
    depths[key] = len(reads)
    reads.append(set())
    try:
        while True:
            got = _join(guesses[key], _returned_kind(func, call, keys))
            if got == guesses[key]:
                break
            guesses[key] = got
    finally:
        del guesses[key], depths[key]
        # the guesses of outer calls still being read (a finished inner recursion, of other
        # argument kinds, has passed on what it relied on)
        used = {k for k in reads.pop() if k in guesses}
    if used and reads:                            # relies on an outer call's guess
        reads[-1].update(used)
    else:
        memo[key] = got
    return got


def _returned_kind(func, call, keys) -> str:
    try:
        fn = _lowered(func)
    except SrcadError:
        return ANY
    if len(fn.params) < len(call.args):
        return ANY
    pk = _callee_param_kinds(fn, call, keys)
    stmts = list(ir.walk(fn.body))
    kinds = _kinds(fn, stmts, pk)
    out = None
    for s in stmts:
        if isinstance(s, ir.Return):
            out = _join(out, kind_of(s.value, kinds))
    return ANY if out is None else out


def _callee_param_kinds(fn, call, keys) -> dict:
    """The kinds of a user function's parameters at `call`: `keys` gives the positional
    arguments' kinds then (name, kind) pairs for the keywords; the rest are ANY."""
    npos = len(call.args)
    pk = dict(zip(fn.params, keys[:npos]))
    pk.update(keys[npos:])
    for p in fn.params:
        pk.setdefault(p, ANY)
    return pk


def analyze(fn: ir.Function, wrt: list, param_kinds: dict) -> Activity:
    """Kinds and activity of every name in `fn` for derivatives with respect to `wrt`."""
    if "result_memo" in _IN_PROGRESS.__dict__:
        return _analyze(fn, wrt, param_kinds)
    # user calls' result kinds and the SSA of the user functions read for them and for
    # their summaries, kept for this analysis only (a global rebound between builds may
    # name another function)
    _IN_PROGRESS.result_memo, _IN_PROGRESS.lowered = {}, {}
    try:
        return _analyze(fn, wrt, param_kinds)
    finally:
        del _IN_PROGRESS.result_memo, _IN_PROGRESS.lowered


def _lowered(func) -> ir.Function:
    """`func`'s SSA, lowered once per analysis (a SrcadError is kept and raised again)."""
    from . import frontend, lower
    memo = _IN_PROGRESS.__dict__.get("lowered")
    key = (func, func.__code__)
    got = memo.get(key) if memo is not None else None
    if got is None:
        try:
            got = lower.lower(frontend.parse(func))
        except SrcadError as e:
            got = e
        if memo is not None:
            memo[key] = got
    if isinstance(got, SrcadError):
        raise got
    return got


def _analyze(fn: ir.Function, wrt: list, param_kinds: dict) -> Activity:
    from .rules.containers import GETATTR
    stmts = list(ir.walk(fn.body))
    kinds = _kinds(fn, stmts, param_kinds)
    fields = {s.value.args[0].id for s in stmts if isinstance(s, ir.Assign) and
              isinstance(s.value, ir.Call) and s.value.prim is GETATTR and
              isinstance(s.value.args[0], ir.Name)}

    def shape_classes(plain) -> dict:
        shapes: dict = {}
        for p, k in param_kinds.items():
            kind, _, cls = k.partition(":")
            if kind in (FLOAT, INT):
                shapes[p] = SCALAR
            elif cls and kind != SEQ:
                shapes[p] = ("arg", cls)
            elif kind == ANY and p not in plain:
                # an array argument whose shape the caller could not relate to others'
                # still has one shape of its own: what elementwise arithmetic makes of it
                # alone keeps it (a helper's `1.0 + np.exp(-x)`), so its broadcasting
                # helpers drop
                shapes[p] = ("own", p)
            else:
                shapes[p] = None
        _infer_shapes(fn, stmts, kinds, shapes, _counters(stmts, kinds))
        return shapes
    shapes = shape_classes(fields)
    seqs = _sequences(stmts, param_kinds, kinds, fn.objects)
    if any(shapes.get(p) == ("own", p) for p in seqs):
        shapes = shape_classes(fields | seqs)        # a list or tuple: no shape of its own
    _refuse_sequence_items(fn, stmts, _sure_seqs(fn, stmts, seqs))
    aliases = _aliases(fn, stmts, kinds, seqs, shapes, param_kinds)
    _refuse_conflicts(fn, aliases)
    nondiff = {INT, NONE}
    sources = {}                       # id(statement) -> what derivatives flow from, computed once
    for s in stmts:
        if isinstance(s, ir.Assign):
            v = s.value
            sources[id(s)] = [a.id for a in (diff_args(v) if isinstance(v, ir.Call) else [v])
                              if isinstance(a, ir.Name)]
    # the closures by worklists: a name, once varied (useful), is followed along the
    # assignments reading (binding) it, each assignment once, where iterating to a fixed
    # point went over every statement again for each round that added a name
    readers: dict = {}                 # name -> the assignments deriving from it
    binders: dict = {}                 # name -> the assignments binding it
    for s in stmts:
        if isinstance(s, ir.Assign):
            for a in sources[id(s)]:
                readers.setdefault(a, []).append(s)
            for t in ir.targets(s):
                binders.setdefault(t, []).append(s)
    varied = {p for p in wrt if kinds.get(p) not in nondiff}
    todo, done = list(varied), set()
    while todo:
        for s in readers.get(todo.pop(), ()):
            if id(s) not in done:
                done.add(id(s))
                for t in ir.targets(s):
                    if t not in varied and kinds.get(t) not in nondiff:
                        varied.add(t)
                        todo.append(t)

    useful = {s.value.id for s in stmts if isinstance(s, ir.Return)
              and isinstance(s.value, ir.Name)}
    todo, done = list(useful), set()
    while todo:
        for s in binders.get(todo.pop(), ()):
            if id(s) not in done:
                done.add(id(s))
                for a in sources[id(s)]:
                    if a not in useful:
                        useful.add(a)
                        todo.append(a)
    # an argument's own class says nothing of whether it is an array (an object's self)
    _refuse_array_fields(fn, stmts, kinds, {n: None if type(c) is tuple and c[0] == "own"
                                            else c for n, c in shapes.items()}, varied)
    _refuse_sequence_arithmetic(fn, stmts, seqs, varied & useful)
    _refuse_constant_params(fn, stmts, varied, useful)
    mutated = frozenset(r[1] for ms in aliases.mutations.values() for m in ms for r in m.roots
                        if type(r) is tuple and r[0] in ("p", "pi"))
    return Activity(kinds=kinds, varied=varied, useful=useful, shapes=shapes, seqs=seqs,
                    aliases=aliases.reach, mutated=mutated,
                    changed_args={k: frozenset(v) for k, v in aliases.changed_args.items()},
                    unpacks=_unpacked_values(fn, stmts, kinds, seqs, param_kinds,
                                             aliases.ndims))


def _refuse_array_fields(fn, stmts, kinds, shapes, varied):
    """`x.name` is differentiated as a field of a container; where a derivative flows into
    it from a value that is no container (a number, an array argument, what a NumPy rule
    computes), srcad has no rule for it: refused."""
    from .errors import NonDifferentiableError
    from .rules.containers import GETATTR
    computed = set()                   # names some rule computes that makes no container
    for s in stmts:
        v = s.value if isinstance(s, ir.Assign) else None
        if isinstance(v, ir.Call) and isinstance(v.prim, rules.Rule) and \
                not isinstance(v.prim, rules.IndexRule) and v.prim is not GETATTR and \
                not v.prim.returns_seq and not v.prim.passthrough and v.prim.storage != "same":
            computed |= set(ir.targets(s))
    for s in stmts:
        v = s.value if isinstance(s, ir.Assign) else None
        if isinstance(v, ir.Call) and v.prim is GETATTR and isinstance(v.args[0], ir.Name):
            x = v.args[0].id
            if x in varied and (kinds.get(x) in (FLOAT, INT) or shapes.get(x) is not None
                                or x in computed):
                attr = v.args[1].value
                raise NonDifferentiableError(f"srcad has no rule for the attribute .{attr} in "
                                             f"{fn.versions.get(x, x)}.{attr}", fn.filename,
                                             s.line)


def _definitions(stmts) -> dict:
    """name -> the assignments of it (single targets) among `stmts`."""
    defs: dict = {}
    for s in stmts:
        if isinstance(s, ir.Assign) and isinstance(s.target, str):
            defs.setdefault(s.target, []).append(s)
    return defs


def _seq_tree(name, defs, seqs, kinds, depth=4):
    """Which items of `name` may be lists or tuples themselves: a tuple with one entry per
    item of a pack (each True where that item may be a sequence, or its own tree), True
    where `name` may be one of unknown items, False where it is none. `defs`: each name's
    assignments (see _definitions)."""
    if depth == 0 or name not in seqs:
        return name in seqs
    mine = defs.get(name, ())
    if len(mine) != 1 or not isinstance(mine[0].value, ir.Call):
        return True
    v = mine[0].value
    if v.prim is PACK_TUPLE or v.prim is PACK_LIST:
        return tuple(_seq_tree(a.id, defs, seqs, kinds, depth - 1) if isinstance(a, ir.Name)
                     else isinstance(a, ir.Const) and isinstance(a.value, (list, tuple))
                     for a in v.args)
    if isinstance(v.prim, UserCall) and kinds is not None:
        return summarize(v.prim.func, v, kinds, seqs).items
    return True


def _sequences(stmts, param_kinds, kinds=None, objects=()) -> set:
    """Names that may hold a list or tuple: packs, rules that return one, user calls (but
    those `kinds` show return a number), slices of one, and copies; targets of unpacking
    one whose item may be one (`t, res = v` where v is a helper's (tuple, residuals)), and
    `objects`, those the lowering knows hold objects (their adjoints add field by field
    too)."""
    numbers = {n for n, k in (kinds or {}).items() if k in (FLOAT, INT)}
    seqs = {p for p, k in param_kinds.items() if k in (SEQ, SEQS)} | set(objects)
    defs = _definitions(stmts)
    changed = True
    while changed:
        changed = False
        for s in stmts:
            if isinstance(s, ir.Assign) and isinstance(s.target, tuple) and \
                    isinstance(s.value, ir.Name) and s.value.id in seqs:
                tree = _seq_tree(s.value.id, defs, seqs, kinds)
                if isinstance(tree, tuple) and len(tree) == len(s.target):
                    for t, sub in zip(s.target, tree):
                        if sub is not False and isinstance(t, str) and t not in seqs and \
                                t not in numbers:
                            seqs.add(t)
                            changed = True
                continue
            if not isinstance(s, ir.Assign) or isinstance(s.target, tuple) or s.target in seqs:
                continue
            v = s.value
            if isinstance(v, ir.Call):
                prim = v.prim
                sliced = isinstance(prim, rules.IndexRule) and v.static[0] == "slice" and \
                    isinstance(v.args[0], ir.Name) and v.args[0].id in seqs
                passed = isinstance(prim, rules.Rule) and prim.passthrough and \
                    isinstance(v.args[0], ir.Name) and v.args[0].id in seqs
                item = isinstance(prim, rules.Rule) and prim.seq_item and \
                    any(isinstance(a, ir.Name) and a.id in seqs for a in
                        _bound_args(prim, v, prim.seq_item))
                hit = sliced or passed or item or prim is PACK_TUPLE or prim is PACK_LIST or \
                    isinstance(prim, UserCall) and s.target not in numbers and \
                    (kinds is None or summarize(prim.func, v, kinds, seqs).may_be_seq) or \
                    isinstance(prim, rules.Rule) and prim.returns_seq
            else:
                hit = isinstance(v, ir.Name) and v.id in seqs
            if hit:
                seqs.add(s.target)
                changed = True
    return seqs


def _bound_args(rule, call, param: str) -> list:
    """The atoms call `call` of `rule` passes for parameter `param` (none when not passed)."""
    names = [p for p, _ in rule.params]
    k = names.index(param) if param in names else None
    out = []
    if k is not None and k < len(call.args):
        out.append(call.args[k])
    if param in call.kwargs:
        out.append(call.kwargs[param])
    return out


_UNKNOWN = object()


def _infer_shapes(fn, stmts, kinds, shapes, counters=frozenset()):
    """Shape classes: an elementwise operation on operands of one class (or scalars) has
    that class; scalars share the class SCALAR; an entry of a list (or tuple) made only of
    values of one class has that class (a stack of the reverse sweep: `x = x_stack[-1]`
    keeps x's class); everything else is unknown (None)."""
    def shape(a):
        if isinstance(a, ir.Const):
            if a.value is None:
                return _UNKNOWN    # `r = None` before a loop saves r: no shape to join
            return SCALAR if const_kind(a.value) in (INT, FLOAT) else None
        if kinds.get(a.id) in (FLOAT, INT):
            return SCALAR
        return shapes.get(a.id, _UNKNOWN if a.id in assigned else None)

    def items_of(a):
        """The class of every item of the list or tuple `a` (_UNKNOWN: none seen yet)."""
        if not isinstance(a, ir.Name):
            return None
        return items.get(a.id, _UNKNOWN if a.id in assigned else None)

    def join(old, new):
        return new if old is _UNKNOWN else (old if old == new or new is _UNKNOWN else None)

    def item_class(v):
        """The class of the items of the sequence `v` makes; None if not a known sequence."""
        if isinstance(v, ir.Name):
            return items_of(v)
        if not isinstance(v, ir.Call):
            return None
        if v.prim is PACK_LIST or v.prim is PACK_TUPLE:
            out = _UNKNOWN
            for a in v.args:
                out = join(out, shape(a))
            return out
        if v.prim is LIST_APPEND:
            return join(items_of(v.args[0]), shape(v.args[1]))
        if isinstance(v.prim, rules.IndexRule) and v.static[0] == "slice":
            return items_of(v.args[0])
        return None

    items: dict = {}

    assigned = {t for s in stmts for t in ir.targets(s)}
    for t in assigned:
        if kinds.get(t) in (FLOAT, INT):
            shapes[t] = SCALAR
    changed, rounds = True, 0
    while changed and rounds < 50:
        changed, rounds = False, rounds + 1
        for s in stmts:
            if not isinstance(s, ir.Assign) or isinstance(s.target, tuple):
                continue
            t = s.target
            if kinds.get(t) in (FLOAT, INT):
                continue
            v = s.value
            old_items = items.get(t, _UNKNOWN)
            joined_items = join(old_items, item_class(v))
            if joined_items is not _UNKNOWN and joined_items != old_items:
                items[t] = joined_items
                changed = True
            if isinstance(v, ir.Call):
                new = None
                entry = v.static[0] == "atom" and kind_of(v.args[v.static[1]], kinds) == INT \
                    if isinstance(v.prim, rules.IndexRule) else False
                if entry and items_of(v.args[0]) is not None:
                    new = items_of(v.args[0])   # an item of a sequence (_UNKNOWN: not seen yet)
                elif isinstance(v.prim, rules.IndexRule):
                    base = shape(v.args[0])
                    trims = _slice_trims(v)
                    if base is _UNKNOWN and trims is not None:
                        new = _UNKNOWN
                    elif base not in (None, SCALAR) and trims is not None:
                        new = (base if not trims else ("trim", base, trims))
                    elif base not in (None, SCALAR, _UNKNOWN) and _ndim(base) and \
                            _ints(v, counters) == _ndim(base):
                        new = SCALAR                      # one entry of an array: a number
                elif isinstance(v.prim, rules.Rule) and v.prim.passthrough:
                    new = shape(v.args[0])
                elif isinstance(v.prim, rules.Rule) and v.prim.shaped_like:
                    like = bound_args(v).get(v.prim.shaped_like)
                    new = shape(like) if like is not None else None
                elif isinstance(v.prim, rules.Rule) and v.prim.keeps_shape is not None and \
                        v.args:
                    base = shape(v.args[0])       # an array of a rank the rule keeps
                    rank = _ndim(base) if base not in (None, SCALAR, _UNKNOWN) else None
                    new = base if base is _UNKNOWN or rank is not None and \
                        rank >= v.prim.keeps_shape else None
                elif v.prim.kind == "elementwise":
                    classes = {shape(a) for a in v.args}
                    if None not in classes:
                        classes.discard(_UNKNOWN)
                        arrays = classes - {SCALAR}
                        new = (arrays.pop() if len(arrays) == 1 else None) if arrays else SCALAR
                        if _UNKNOWN in {shape(a) for a in v.args} and not arrays:
                            new = _UNKNOWN
            else:
                new = shape(v)
            old = shapes.get(t, _UNKNOWN)
            joined = join(old, new)
            if joined is not _UNKNOWN and joined != old:
                shapes[t] = joined
                changed = True
    for t in assigned:
        if shapes.get(t, _UNKNOWN) is _UNKNOWN:
            shapes[t] = None


def _ints(call: ir.Call, counters) -> int | None:
    """How many integers index `x[i, j, ...]` if it is indexed by integers alone (constants
    or `counters`, never a bool, which indexes as a mask), else None."""
    layout = call.static
    items = layout[1] if layout[0] == "tuple" else [layout]
    for item in items:
        a = call.args[item[1]] if item[0] == "atom" else None
        if not (isinstance(a, ir.Const) and type(a.value) is int or
                isinstance(a, ir.Name) and a.id in counters):
            return None
    return len(items)


def _slice_trims(call: ir.Call):
    """For `x[a:-b, c:]` with constant a, c >= 0 and b > 0 (or no stop) and no step, the
    number of entries each axis loses, trailing zeros dropped: x[1:] and x[:-1] both lose
    one (each has max(n - 1, 0) entries), so they have equal shapes. None otherwise."""
    layout = call.static
    items = layout[1] if layout[0] == "tuple" else [layout]
    trims = []
    for item in items:
        if item[0] != "slice":
            return None
        lo, hi, st = (None if k is None else call.args[k] for k in item[1:])
        consts = [a for a in (lo, hi, st) if a is not None]
        if any(not isinstance(a, ir.Const) or type(a.value) is not int for a in consts):
            return None
        if st is not None and st.value != 1:
            return None
        start = 0 if lo is None else lo.value
        stop = 0 if hi is None else -hi.value
        if start < 0 or stop < 0 or (hi is not None and hi.value >= 0):
            return None
        trims.append(start + stop)
    while trims and trims[-1] == 0:
        trims.pop()
    return tuple(trims)


# ---------------------------------------------------------------- aliasing
#
# A storage root is an object a value may be (or view, or hold): ("p", name) an argument's
# storage, ("pi", name) its items', ("p" or "pi", name, j) part j of them (an unpacked item
# or row) and ("pii", name, j) that part's items; ("g", name) a global's; an int k the
# object statement k made last, ("old", k) those it made before (in earlier iterations of a
# loop); ("item", k, r) the object user call k's callee made as its root r. A value's facts
# are (D, I, P): the roots it may be itself or a view of (D), those its items may be or hold
# (I), and per position of a tuple of known length that item's own facts (P, or None), so
# a tuple inside a tuple (srcad's own `(value, residuals)` around a helper's tuple result)
# keeps its items apart, down to _DEPTH levels. Two values may share storage when one's D
# meets the other's D | I (a part meets its whole). Arguments, and the parts of one, are
# taken not to share storage.

_NOTHING = (frozenset(), frozenset(), None)
_DEPTH = 4        # levels of tuple positions kept (a loop `t = (t, x)` would grow them)


@dataclass(frozen=True)
class CallSummary:
    """What a user function does with its arguments' storage, as a caller sees it."""
    params: tuple          # the callee's parameter names
    mutates: dict          # parameter -> (filename, line) where the callee changes it in place
    result: tuple          # the facts (D, I, P) of its result, over the callee's own roots
    may_be_seq: bool = True    # whether its result may be a list or tuple
    # parameters it changes in place that its caller reads no more after the call (the
    # residuals whose stacks a backward half srcad built pops): no conflict, but the
    # derivative of the caller may read them later, so it passes copies
    consumes: tuple = ()
    # which items of its result may be lists or tuples (see _seq_tree): True where unknown
    items: object = True
    # parameter -> the positions j of the items (or rows) it changes in place, for those of
    # `mutates` changed only through items unpacked from them (`a, b = t; a += 1.0`): a
    # caller passing a tuple of known items sees only those items change; the callee takes
    # the items apart, so a caller passing one object twice (`h((x, x))`) is refused
    parts: dict = field(default_factory=dict)


def _reach(facts) -> frozenset:
    return facts[0] | facts[1]


def _trim(facts, depth=_DEPTH):
    """`facts` with positions kept `depth` levels deep (their roots stay in D and I)."""
    if facts[2] is None:
        return facts
    if depth <= 0:
        return (facts[0], facts[1], None)
    pos = tuple(_trim(p, depth - 1) for p in facts[2])
    return facts if pos == facts[2] else (facts[0], facts[1], pos)


def _map_facts(facts, roots_map):
    """`facts` with every root set (at every position) mapped by `roots_map`."""
    return (roots_map(facts[0]), roots_map(facts[1]), None if facts[2] is None else
            tuple(_map_facts(p, roots_map) for p in facts[2]))


def _all_roots(facts) -> frozenset:
    """Every root `facts` name, at any position."""
    r = _reach(facts)
    return r if facts[2] is None else r.union(*(_all_roots(p) for p in facts[2]))


def _facts_le(f, g) -> bool:
    """Whether `g` says all that `f` says (each root set, at each position, covered)."""
    if f is g:
        return True
    if not (f[0] <= g[0] and f[1] <= g[1]):
        return False
    return g[2] is None or f[2] is not None and len(f[2]) == len(g[2]) and \
        all(_facts_le(a, b) for a, b in zip(f[2], g[2]))


def _overlap(a, b) -> bool:
    """Whether root sets `a` and `b` may name one object: a common root, or a part of an
    argument (("p", x, j): its item or row j) and the argument."""
    if not a.isdisjoint(b):
        return True
    return any(type(r) is tuple and len(r) == 3 and r[0] in ("p", "pi") and r[:2] in b
               for r in a) or \
        any(type(r) is tuple and len(r) == 3 and r[0] in ("p", "pi") and r[:2] in a for r in b)


def _items_of_part(roots) -> frozenset:
    """The items of a part made by `_part`: ("pii", x, j), not a part of x's own storage."""
    return frozenset(("pii",) + r[1:] if type(r) is tuple and len(r) == 3 and
                     r[0] in ("p", "pi") else r for r in roots)


def _part(roots, j) -> frozenset:
    """Item (or row) j of a value with these roots: an argument's own part j, distinct from
    its other parts."""
    return frozenset((r[0], r[1], j) if type(r) is tuple and len(r) == 2 and r[0] in ("p", "pi")
                     else r for r in roots)


def _join_facts(a, b):
    if a == b:
        return a
    if a[2] is not None and b[2] is not None and len(a[2]) == len(b[2]):
        pos = tuple(_join_facts(x, y) for x, y in zip(a[2], b[2]))
    else:
        pos = None
    return (a[0] | b[0], a[1] | b[1], pos)


_DISJUNCTS = 24   # alias states kept apart per program point (path-sensitive); joined beyond


def _keys(states) -> set:
    return {frozenset(st.items()) for st in states}


def _union(*groups, cap: int = 1, focus=None) -> list:
    """The states of several groups of paths, each kept apart so that facts which hold
    together on one path are not mixed with another's (`x = y; y = zeros_like(y)` in a
    loop: x and y never share at its head, though each may hold the other's old array);
    joined into one beyond `cap`. With `focus` (name sets, widest first: the names whose
    storage may flow into a conflict, then the names the conflict itself involves), states
    that agree on the first set are joined first: how they differ elsewhere (a stack, a
    flag) cannot make or break that conflict, and keeping them apart would exceed `cap`;
    beyond `cap`, those that agree on the next set (a join is sound, only less precise:
    the names a conflict involves kept apart beat every state joined into one)."""
    out, seen = [], set()
    for g in groups:
        for st in g:
            key = frozenset(st.items())
            if key not in seen:
                seen.add(key)
                out.append(st)
    for k, names in enumerate(focus or ()):
        if k and len(out) <= cap:
            break
        out = _grouped(out, names)
    out = [st for k, st in enumerate(out)          # what another state covers adds nothing
           if not any(j != k and _covers(other, st) and not (_covers(st, other) and j > k)
                      for j, other in enumerate(out))]
    return [_join_states(*out)] if len(out) > cap else out


def _grouped(states, names) -> list:
    """`states`, those that agree on `names` joined into one."""
    grouped: dict = {}
    for st in states:
        key = frozenset((n, st[n]) for n in names if n in st)
        grouped.setdefault(key, []).append(st)
    return [_join_states(*sts) if len(sts) > 1 else sts[0] for sts in grouped.values()]


def _covers(big, st) -> bool:
    """Whether state `big` says all that `st` says: each name may share at least as much."""
    for n, f in st.items():
        g = big.get(n)
        if g is f:                      # (states copied from one another share facts)
            continue
        if g is None or not _facts_le(f, g):
            return False
    return True


def _join_states(*states):
    states = [s for s in states if s is not None]
    if not states:
        return None
    out = dict(states[0])
    for st in states[1:]:
        for n, f in st.items():
            old = out.get(n)
            out[n] = f if old is None else _join_facts(old, f)
    return out


class _Mutation:
    """A statement that changes a value in place in Python: what it changes and how to say it."""

    def __init__(self, roots, what, exclude):
        self.roots, self.what, self.exclude = roots, what, exclude
        self.conflicts: list = []        # live names that may share what it changes


class _Aliases:
    """May-alias facts over the SSA, flow-sensitively (a name's facts change where it is
    assigned; loops and branches join), from the storage facts of each rule; and the
    statements that change a value in place with what they may change."""

    def __init__(self, fn, stmts, kinds, seqs, shapes=None, param_kinds=None, cap=1,
                 focus=None):
        self.fn, self.kinds, self.shapes = fn, kinds, shapes or {}
        self.numbers: dict = {}              # id(assignment) -> whether it makes a number
        self.cap = cap                       # states kept apart per point (see _union)
        self.focus = focus                   # the name sets those states are told apart by
        self.index = {id(s): k for k, s in enumerate(stmts)}
        assigned = {t for s in stmts for t in ir.targets(s)} | set(fn.params)
        self.assigned = assigned
        self.lists = {s.target for s in stmts if isinstance(s, ir.Assign) and
                      isinstance(s.value, ir.Call) and s.value.prim is PACK_LIST}
        self.seqs = _sure_seqs(fn, stmts, seqs) | _list_method_names(stmts)
        self.may_seqs = set(seqs) | self.seqs
        self.in_loop = {id(s) for loop in stmts if isinstance(loop, (ir.For, ir.While))
                        for s in ir.walk(loop.body)}
        self.init = {}
        for p in fn.params:
            # the argument's own kind: a float argument is a number even where the name
            # later holds an array (kinds join over every assignment)
            k = (param_kinds or {}).get(p, "").partition(":")[0] or kinds.get(p)
            if k not in (FLOAT, INT):
                self.init[p] = (frozenset([("p", p)]), frozenset([("pi", p)]), None)
        # the argument's own number of dimensions (`any:<class>:<ndim>`), for where a name
        # still holds the argument itself though it holds other arrays elsewhere
        self.arg_ndim = {self.init[p]: _ndim(("arg", k.partition(":")[2]))
                         for p, k in (param_kinds or {}).items() if p in self.init}
        # names every assignment of which gives an array of one known number of dimensions
        self.ndims = _infer_ndims(fn, stmts, kinds, self.may_seqs, {
            p: _ndim(("arg", k.partition(":")[2])) for p, k in (param_kinds or {}).items()})
        self.heads: dict = {}                # id(loop) -> the states at its head
        self.changed, self.rounds = False, 0
        self.mutations: dict = {}            # id(statement) -> [_Mutation]
        self.reach: dict = {}                # name -> every root it may reach, anywhere
        self.returned = None
        self.live: dict = {}
        # the same for the names whose entries are needed (not only their shapes): what an
        # array's change in place (which keeps its shape) may make stale
        self.live_contents: dict = {}
        # id(statement) -> the arguments ("arg", i) or ("kw", name) of a user call that the
        # callee changes in place
        self.changed_args: dict = {}
        # statement index k -> the names some state bound to an object k made (or its items)
        self.holders: dict = {}
        self.aged: dict = {}                 # statement index k -> roots -> roots k renewed
        # the for loops over one range object's items, which run equally often
        self.trips, self.forgets = _loop_lengths(fn)
        self.nonempty = nonempty_loops(fn)         # loops that run at least once
        self.decided = _constant_tests(stmts)      # tests whose value is known: one branch
        for tag in set(self.trips.values()):
            self.init[tag] = _EITHER
        # names of numbers (immutable: their truth changes only where they are assigned)
        # that `if v:` tests: each state records which way the last such test went, so
        # that a later `if v:` with v unchanged takes the same branch (srcad's own reverse
        # sweep replays a forward branch on the same flag: `if v6:` in both)
        self.truth_of = {s.test.id: f"#truth {s.test.id}" for s in ir.walk(fn.body)
                         if isinstance(s, ir.If) and isinstance(s.test, ir.Name) and
                         s.test.id not in self.decided and
                         kinds.get(s.test.id) in (FLOAT, INT)}
        for tag in self.truth_of.values():
            self.init[tag] = _MAYBE
        # statement indices of pops from lists that alone hold their items: a new object
        self.private_pops = {self.index[i] for i in _private_pops(fn, fn.body)
                             if i in self.index}

    # ------------------------------------------------------------ the fixpoint
    def run(self):
        self.changed, self.rounds = True, 0
        while self.changed:
            self.changed, self.rounds = False, self.rounds + 1
            self.mutations = {}
            self.returned = None
            self.block(self.fn.body, [dict(self.init)], None)
        return self

    def block(self, stmts, sts, loop):
        """The states after `stmts` from the states `sts` before them (one per group of
        paths; none: unreachable)."""
        for s in stmts:
            if not sts:
                return []
            if isinstance(s, ir.Assign):
                for st in sts:
                    self.assign(s, st)
            elif isinstance(s, ir.If) and isinstance(s.test, ir.Name) and \
                    s.test.id in self.decided:
                # `if 3.0 <= 1.5:` (a test of constants): only the branch it takes runs
                sts = self.block(s.body if self.decided[s.test.id] else s.orelse,
                                 [dict(st) for st in sts], loop)
            elif isinstance(s, ir.If) and isinstance(s.test, ir.Name) and \
                    s.test.id in self.truth_of:
                # a test whose last value some states know: those take that branch only;
                # it is recorded where the name holds no storage (a number, not a 0-d
                # array whose entry a change in place through another name could flip)
                tag = self.truth_of[s.test.id]
                yes, no = [], []
                for st in sts:
                    f = self.value(s.test, st)
                    if f[0] or f[1]:
                        yes.append(dict(st, **{tag: _MAYBE}))
                        no.append(dict(st, **{tag: _MAYBE}))
                        continue
                    if st.get(tag) != _FALSE:
                        yes.append(dict(st, **{tag: _TRUE}))
                    if st.get(tag) != _TRUE:
                        no.append(dict(st, **{tag: _FALSE}))
                sts = _union(self.block(s.body, yes, loop), self.block(s.orelse, no, loop),
                             cap=self.cap, focus=self.focus)
            elif isinstance(s, ir.If):
                sts = _union(self.block(s.body, [dict(st) for st in sts], loop),
                             self.block(s.orelse, [dict(st) for st in sts], loop),
                             cap=self.cap, focus=self.focus)
            elif isinstance(s, (ir.For, ir.While)):
                sts = self.loop(s, sts)
            elif isinstance(s, ir.Break):
                loop[1].extend(sts)
                return []
            elif isinstance(s, ir.Continue):
                loop[0].extend(sts)
                return []
            elif isinstance(s, ir.Return):
                for st in sts:
                    f = self.value(s.value, st)
                    self.returned = f if self.returned is None else \
                        _join_facts(self.returned, f)
        return sts

    def loop(self, s, sts):
        head = _union(self.heads.get(id(s), []), sts, cap=self.cap, focus=self.focus)
        body = [dict(st) for st in head]
        if isinstance(s, ir.For):
            for st in body:
                st[s.target] = _NOTHING
                for t in ir.targets(s):
                    if t in self.truth_of:
                        st[self.truth_of[t]] = _MAYBE
        ctx = ([], [])
        end = self.block(s.body, body, ctx)
        new = _union(head, end, ctx[0], cap=self.cap, focus=self.focus)
        if _keys(new) != _keys(self.heads.get(id(s), [])):
            self.heads[id(s)] = [dict(st) for st in new]    # the caller changes its states
            self.changed = True
        tag = self.trips.get(id(s))
        if id(s) in self.nonempty:
            # at least one iteration: no path leaves with the states from before the loop
            out = end + ctx[0] + ctx[1]
            return _union([dict(st, **{tag: _SOME}) for st in out] if tag is not None else
                          out, cap=self.cap, focus=self.focus)
        if tag is not None:
            # no iteration only where the range's other loops ran none (or may have)
            zero = [dict(st, **{tag: _ZERO}) for st in sts if st.get(tag) != _SOME]
            some = [dict(st, **{tag: _SOME}) for st in end + ctx[0] + ctx[1]]
            return _union(zero, some, cap=self.cap, focus=self.focus)
        return _union([dict(st) for st in new] if isinstance(s, ir.For) else [], ctx[1],
                      cap=self.cap, focus=self.focus)

    # ------------------------------------------------------------ values
    def value(self, a, st):
        if not isinstance(a, ir.Name):
            if isinstance(a, ir.Const) and type(a.value) is tuple and len(a.value) and all(
                    isinstance(v, (bool, int, float, str, type(None))) for v in a.value):
                # a tuple of numbers (`return 0.5, -0.25`): items apart, none with storage
                return (frozenset(), frozenset(), (_NOTHING,) * len(a.value))
            return _NOTHING
        f = st.get(a.id)
        if f is not None:
            return f
        if a.id in self.assigned:
            return _NOTHING
        return (frozenset([("g", a.id)]), frozenset(), None)      # a global, read live

    def assign(self, s, st):
        k = self.index[id(s)]
        for t in ir.targets(s):
            if t in self.truth_of:
                st[self.truth_of[t]] = _MAYBE      # a new value: its truth unknown
        if id(s) in self.in_loop:
            self.renew(k, st)
        v = s.value
        if isinstance(v, ir.Call):
            f = self.call(k, s, v, st)
        else:
            f = self.value(v, st)
        if s.inplace_of is not None:
            what = "a list method" if s.inplace_of in self.seqs else "aug"
            old = self.value(ir.Name(s.inplace_of), st)
            self.mutate(s, old[0], (what, s.inplace_of), st, exclude=(s.inplace_of,))
            # in Python still the old object; a new one only where the name held a number
            # (no storage), so the operation's own new object is a root only then: else an
            # earlier iteration's result would seem shared by every copy of the name
            f = (old[0] or f[0], f[1] | old[1], None)
        if isinstance(s.target, tuple):
            n = len(s.target)
            is_seq = isinstance(v, ir.Name) and v.id in self.seqs
            # `x, v = row` of a 1-D array: its entries, new NumPy scalars
            entries = isinstance(v, ir.Name) and not is_seq and v.id not in self.may_seqs and \
                self.ndims.get(v.id) == 1
            for j, t in enumerate(s.target):
                if entries:
                    self.bind(t, _NOTHING, st)
                elif f[2] is not None and len(f[2]) == n:
                    self.bind(t, f[2][j], st)                       # item j's own facts
                else:
                    d = _part(f[1] if is_seq else f[0] | f[1], j)
                    self.bind(t, (d, _items_of_part(d), None), st)
            return
        t = s.target
        for tag in self.forgets.get(t, ()):
            st[tag] = _EITHER
        number = self.numbers.get(id(s))     # the same for every state: asked once
        if number is None:
            number = self.numbers[id(s)] = self.kinds.get(t) == FLOAT or \
                self.kinds.get(t) == INT and (
                    isinstance(v, ir.Const) or isinstance(v, ir.Call) and
                    all(kind_of(a, self.kinds) != ANY for a in v.args)) or \
                isinstance(v, ir.Call) and isinstance(v.prim, rules.Rule) and \
                _call_kind(v, lambda a: kind_of(a, self.kinds)) == FLOAT
        if number:
            # a Python number (or NumPy scalar): immutable; also where t holds an array
            # elsewhere (`x = np.sin(1.0)` in a loop over the array x)
            f = _NOTHING
        elif isinstance(v, ir.Call) and isinstance(v.prim, rules.Rule) and \
                isinstance(v.prim.key, np.ufunc) and not v.kwargs and v.args and \
                all(self.number(a) for a in v.args):
            # a ufunc of numbers, 0-d arrays too (np.sin(np.where(c, 1.0, 2.0))): a NumPy
            # scalar, immutable
            f = _NOTHING
        self.bind(t, f, st)

    def renew(self, k, st):
        """Statement k runs again (in a loop): the objects it made before become ("old", r),
        distinct from the one it makes now."""
        def made_by_k(r):
            return r == k if type(r) is int else r[0] == "item" and r[1] == k

        memo = self.aged.setdefault(k, {})  # root sets recur in every state: aged once

        def aged(roots):
            out = memo.get(roots)
            if out is None:
                out = memo[roots] = frozenset(("old", r) if made_by_k(r) else r
                                              for r in roots) \
                    if any(made_by_k(r) for r in roots) else roots
            return out
        for n in self.holders.get(k, ()):     # (only they may hold what k made)
            f = st.get(n)
            if f is None:
                continue
            nf = _map_facts(f, aged)
            if nf != f:
                st[n] = nf

    def bind(self, t, f, st):
        st[t] = f
        r = _reach(f)
        old = self.reach.get(t, frozenset())
        if not r <= old:
            self.reach[t] = old | r
        for x in _all_roots(f):
            if type(x) is int or type(x) is tuple and x[0] == "item":
                self.holders.setdefault(x if type(x) is int else x[1], set()).add(t)

    def call(self, k, s, call, st):
        prim = call.prim
        if prim is PACK_TUPLE or prim is PACK_LIST:
            pos = tuple(_trim(self.value(a, st), _DEPTH - 1) for a in call.args)
            return (frozenset([k]), frozenset().union(*map(_reach, pos)), pos)
        if isinstance(prim, UserCall):
            return self.user_call(k, s, call, st)
        if not isinstance(prim, rules.Rule):
            # a call srcad has no rule for (print(), rng.normal(size=3), a library
            # function): a result that is no None may be, view or hold any argument
            if getattr(prim, "kind", None) == rules.NONE:
                return _NOTHING
            d, i = {k}, set()
            for a in list(call.args) + list(call.kwargs.values()):
                f = self.value(a, st)
                d |= f[0]
                i |= _reach(f)
            return (frozenset(d), frozenset(i), None)
        if isinstance(prim, rules.IndexRule):
            return self.index_value(k, call, st)
        b = bound_args(call)
        d, i = set(), set()
        new = prim.storage == "new" or (prim.copy_flag is not None and
                                       b.get(prim.copy_flag) == ir.Const(True))
        for p in prim.storage_args if not new else ():
            f = self.value(b.get(p), st)
            d |= f[0]
            i |= f[1]
        if not d:
            # a new object; a view or the same object as an argument is named by that
            # argument's storage alone (`Qk[j, j] = v` in a loop makes no object, so what
            # an earlier iteration kept of Qk stays apart from this one's Qk)
            d.add(k)
        for h in prim.holds:
            f = self.value(b.get(h.lstrip("*")), st)
            i |= f[1] if h.startswith("*") else _reach(f)
        if isinstance(prim, rules.SetItemRule):
            self.mutate(s, self.value(call.args[0], st)[0], ("item", call.args[0].id), st)
        elif prim.inplace:
            arg = prim.storage_args[0]
            self.mutate(s, self.value(b.get(arg), st)[0], ("rule", prim.name or arg, arg), st)
        return (frozenset(d), frozenset(i), None)

    def index_value(self, k, call, st):
        base = call.args[0]
        f = self.value(base, st)
        layout = call.static
        if isinstance(base, ir.Name) and base.id in self.seqs:      # a list or tuple
            if layout[0] == "slice":
                return (frozenset([k]), f[1], None)                  # a new list, same items
            if k in self.private_pops:
                return (frozenset([k]), frozenset(), None)           # no one else's
            if layout == ("atom", 1) and isinstance(call.args[1], ir.Const) and \
                    type(call.args[1].value) is int and f[2] is not None and \
                    -len(f[2]) <= call.args[1].value < len(f[2]):
                return f[2][call.args[1].value]                      # that item's own facts
            return (f[1], f[1], None)
        items = layout[1] if layout[0] == "tuple" else [layout]
        ints = 0
        for item in items:
            if item[0] != "atom":
                continue
            a = call.args[item[1]]
            if isinstance(a, ir.Name) and (a.id in self.lists or self.kinds.get(a.id) == INT
                                           and self.value(a, st)[0]):
                return (frozenset([k]), frozenset(), None)   # fancy (a list, a mask): a copy
            if isinstance(a, ir.Const) and type(a.value) is int or \
                    isinstance(a, ir.Name) and self.kinds.get(a.id) == INT:
                ints += 1
        if ints == len(items) and isinstance(base, ir.Name) and ints in (
                _ndim(self.shapes.get(base.id)), self.arg_ndim.get(f), self.ndims.get(base.id)):
            return _NOTHING                                  # one entry: a NumPy scalar
        if layout[0] == "slice":
            # x[a:b] of what may be a list: a view of an array, or a new list of the same
            # items, never one of the items (srcad's own `xs_bar = xs_bar[:-1]` then
            # `v = xs_bar.pop()` in a loop: the popped item does not share the list)
            return (f[0] | {k}, f[1], None)
        return (f[0] | f[1], f[1], None)                     # basic: a view (or a scalar)

    def user_call(self, k, s, call, st):
        summary = summarize(call.prim.func, call, self.kinds, self.seqs)
        bound = dict(zip(summary.params, call.args))
        bound.update(call.kwargs)

        def mapped(roots):
            """The callee's roots as the caller's: its arguments' storage, or new objects."""
            out = set()
            for r in roots:
                if type(r) is tuple and r[0] in ("p", "pi"):
                    f = self.value(bound.get(r[1]), st)
                    if len(r) == 3 and f[2] is not None and -len(f[2]) <= r[2] < len(f[2]):
                        out |= _reach(f[2][r[2]])           # part j of a tuple argument
                    else:
                        out |= f[0] | f[1] if len(r) == 3 else f[0] if r[0] == "p" else f[1]
                elif type(r) is tuple and r[0] == "g":
                    out.add(r)
                else:
                    out.add(("item", k, r))
            return frozenset(out)
        def changed(p):
            j = summary.params.index(p) if p in summary.params else len(call.args)
            self.changed_args.setdefault(id(s), set()).add(
                ("arg", j) if j < len(call.args) else ("kw", p))
        for p, where in summary.mutates.items():
            f = self.value(bound[p], st) if p in bound else None
            roots = _reach(f) if f is not None else None
            js = summary.parts.get(p)
            if roots and js is not None and self.items_may_meet(f):
                # the callee takes the items it unpacks for distinct objects
                m = _Mutation(roots, ("call items", call.prim.name, p, where), ())
                a = bound[p]
                m.conflicts.append(a.id if isinstance(a, ir.Name) else p)
                self.mutations.setdefault(id(s), []).append(m)
            elif roots and js is not None and f[2] is not None and \
                    all(-len(f[2]) <= j < len(f[2]) for j in js):
                # only those items of a tuple of known items change: theirs is the storage
                roots = frozenset().union(*(_reach(f[2][j]) for j in js))
            if roots:
                self.mutate(s, roots, ("call", call.prim.name, p, where), st)
                # another argument of this call on the same storage: the helper sees p's
                # change through it (`h(y, y)`), its derivative would not
                m = self.mutations[id(s)][-1]
                m.conflicts += [a.id for q, a in bound.items()
                                if q != p and isinstance(a, ir.Name) and a.id not in m.conflicts
                                and _overlap(roots, _reach(self.value(a, st)))]
                changed(p)
        for p in summary.consumes:
            if p in bound and _reach(self.value(bound[p], st)):
                changed(p)
        d, i, pos = _map_facts(summary.result, mapped)
        return _trim((frozenset([k]) | d, i, pos))

    def number(self, a) -> bool:
        """Whether atom `a` is a number or a 0-d array wherever it is read."""
        if isinstance(a, ir.Const):
            return const_kind(a.value) in (INT, FLOAT)
        return kind_of(a, self.kinds) in (INT, FLOAT) or self.ndims.get(a.id) == 0

    @staticmethod
    def items_may_meet(f) -> bool:
        """Whether two items of the list or tuple with facts `f` may be one object (or
        share storage): two positions that meet, or, positions unknown, items this function
        made (an argument's items are taken to be apart, as arguments are)."""
        if f[2] is not None:
            reach = [_reach(p) for p in f[2]]
            return any(_overlap(reach[j], reach[k]) for j in range(len(reach))
                       for k in range(j + 1, len(reach)))
        return any(not (type(r) is tuple and r[0] in ("p", "pi", "pii", "g")) for r in f[1])

    # ------------------------------------------------------------ changes in place
    def mutate(self, s, roots, what, st, exclude=()):
        if not roots:
            return
        m = _Mutation(roots, what, set(ir.targets(s)) | set(exclude))
        self.mutations.setdefault(id(s), []).append(m)
        keeps_shape = what[0] in ("aug", "item") and what[1] not in self.may_seqs
        live = (self.live_contents if keeps_shape else self.live).get(id(s))
        if live is None:
            return
        for n in sorted(live - m.exclude):
            if _overlap(roots, _reach(self.value(ir.Name(n), st))):
                m.conflicts.append(n)
        m.conflicts += sorted(r[1] for r in roots if type(r) is tuple and r[0] == "g")


_TOP = object()                 # not seen yet (an optimistic start, as for a loop's head)


class _Entry:
    """The value an argument has on entry, as one of the assignments of its name."""
    __slots__ = ("param",)

    def __init__(self, param):
        self.param = param


class _ItemOf:
    """An assignment target of `a, b = v`: one item of `v` (a list's, a tuple's, an array's row)."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _infer_ndims(fn, stmts, kinds, seqs, param_ndims) -> dict:
    """The number of dimensions of each name every assignment of which gives arrays of one
    known number: np.zeros((n, 2)) (its rule's `ndim_of`), an item of one (`xs[t]`: one
    fewer), an elementwise operation of such operands (the most), an update `xs[i] = v`
    (the same), an item of a list or tuple whose items all have that number (`xs[0]` of
    `xs = [x, y]`, `for r in xs`, `a, b = xs`). Any other assignment (a call, an unknown
    list) makes it unknown; the alias analysis reads it only to tell `xs[t, 1]`, a new
    scalar, from a view."""
    defs: dict = {}
    for s in stmts:
        if isinstance(s, ir.Assign) and isinstance(s.target, str):
            defs.setdefault(s.target, []).append(s.value)
        elif isinstance(s, ir.Assign):
            for t in s.target:
                defs.setdefault(t, []).append(_ItemOf(s.value))
        else:
            for t in ir.targets(s):
                defs.setdefault(t, []).append(None)
    for p in fn.params:
        if p in defs:
            # an argument assigned again: it holds the caller's value too (on some paths)
            defs[p].append(_Entry(p))
    tuple_len = {}
    for t, vs in defs.items():
        lens = {len(v.args) if isinstance(v, ir.Call) and v.prim is PACK_TUPLE and
                not v.kwargs else None for v in vs}
        if len(lens) == 1 and None not in lens:
            tuple_len[t] = lens.pop()
    nd: dict = {t: _TOP for t in defs}
    # name -> the number of dimensions of every item, for names every assignment of which
    # makes a list or tuple (a display, an append, a slice or copy of one, items_of's)
    items_nd: dict = {t: _TOP for t in defs}

    def join(a, b):
        return b if a is _TOP else a if b is _TOP or a == b else None

    def of(a):
        if isinstance(a, ir.Const):
            if a.value is None:
                return _TOP        # `r = None` before a loop saves r: what r holds is read
                                   # (indexed, unpacked) only where it is no longer None
            return 0 if const_kind(a.value) in (INT, FLOAT) else None
        if kinds.get(a.id) in (INT, FLOAT):
            return 0
        if a.id in seqs:
            return None
        if a.id in nd:
            return nd[a.id]
        return param_ndims.get(a.id) if a.id in fn.params else None

    def items_of(a):
        """The number of dimensions of every item of the list or tuple `a` (None: not
        surely a list or tuple, or its items' unknown)."""
        if isinstance(a, ir.Const):
            v = a.value
            return 0 if type(v) is tuple and len(v) and all(
                const_kind(i) in (INT, FLOAT) for i in v) else None
        return items_nd.get(a.id) if a.id in seqs else None

    def item_value(v):
        """The number of dimensions of every item of the list or tuple `v` makes."""
        if v is None or isinstance(v, (_ItemOf, _Entry)):
            return None
        if isinstance(v, ir.Const) and v.value is None:
            return _TOP            # (as `of`: read only where no longer None)
        if not isinstance(v, ir.Call):
            return items_of(v) if isinstance(v, ir.Name) else None
        prim = v.prim
        if prim is PACK_LIST or prim is PACK_TUPLE:
            out = _TOP
            for a in v.args:
                out = join(out, of(a))
            return out
        if prim is LIST_APPEND:
            return join(items_of(v.args[0]), of(v.args[1]))
        if isinstance(prim, rules.IndexRule):
            return items_of(v.args[0]) if v.static[0] == "slice" else None
        if isinstance(prim, rules.Rule) and prim.passthrough:
            return items_of(v.args[0])
        return None

    def shape_length(a):
        if isinstance(a, ir.Const):
            v = a.value
            return 1 if type(v) is int else len(v) if type(v) is tuple and \
                all(type(i) is int for i in v) else None
        if kinds.get(a.id) == INT:
            return 1
        return tuple_len.get(a.id)

    def item_nd(a):
        """The number of dimensions of an item of `a`: a list's or tuple's, an array's row."""
        n = items_of(a)
        if n is not None:
            return n
        if isinstance(a, ir.Name) and a.id in seqs:
            return None
        n = of(a)
        return n if n is _TOP or n is None else n - 1 if n >= 1 else None

    def value(v):
        if v is None:
            return None
        if isinstance(v, _Entry):
            return param_ndims.get(v.param)
        if isinstance(v, _ItemOf):
            return item_nd(v.value) if isinstance(v.value, ir.Name) else None
        if not isinstance(v, ir.Call):
            return of(v)
        prim = v.prim
        if isinstance(prim, rules.SetItemRule):
            return of(v.args[0])
        if isinstance(prim, rules.IndexRule):
            if isinstance(v.args[0], ir.Name) and v.args[0].id in seqs:
                a = v.args[1] if v.static == ("atom", 1) else None
                return items_of(v.args[0]) if a is not None and (
                    isinstance(a, ir.Const) and type(a.value) is int or
                    isinstance(a, ir.Name) and kinds.get(a.id) == INT) else None
            base = of(v.args[0])
            if base is None or base is _TOP:
                return base
            layout = v.static
            items = layout[1] if layout[0] == "tuple" else [layout]
            used = added = 0
            for item in items:
                if item[0] == "atom":
                    a = v.args[item[1]]
                    if not (isinstance(a, ir.Const) and type(a.value) is int or
                            isinstance(a, ir.Name) and kinds.get(a.id) == INT):
                        return None              # an array, a list, a mask: fancy indexing
                    used += 1
                elif item[0] == "slice":
                    used += 1
                    added += 1
                elif item[0] == "none":
                    added += 1
                else:
                    return None                  # an ellipsis
            return base - used + added if used <= base else None
        if not isinstance(prim, rules.Rule):
            return None
        b = bound_args(v)
        if prim.ndim_of:
            a = b.get(prim.ndim_of)
            return shape_length(a) if a is not None else None
        if prim.stacks:
            a = b.get(prim.stacks[0])
            n = items_of(a) if a is not None else None
            n = n + 1 if type(n) is int else of(a) if isinstance(a, ir.Name) and \
                a.id not in seqs else n
            least = b.get(prim.stacks[1]) if len(prim.stacks) > 1 else ir.Const(0)
            if type(n) is not int or not (isinstance(least, ir.Const) and
                                          type(least.value) is int):
                return n if n is _TOP else None
            return max(n, least.value)
        if prim.passthrough or prim.shaped_like:
            a = v.args[0] if prim.passthrough else b.get(prim.shaped_like)
            return of(a) if a is not None else None
        if prim.kind == "elementwise":
            got = [of(a) for a in list(v.args) + list(v.kwargs.values())]
            if None in got or not got:
                return None
            return _TOP if _TOP in got else max(got)
        return None

    changed = True
    while changed:
        changed = False
        for table, of_value in ((nd, value), (items_nd, item_value)):
            for t, vs in defs.items():
                if table[t] is None:
                    continue
                new = _TOP
                for v in vs:
                    n = of_value(v)
                    if n is _TOP:
                        continue
                    if n is None or new is not _TOP and n != new:
                        new = None
                        break
                    new = n
                if new is not table[t] and new != table[t]:
                    table[t] = new
                    changed = True
    return {t: n for t, n in nd.items() if type(n) is int}


_SEQ_FACT = "seq"


def _unpacked_values(fn, stmts, kinds, seqs, param_kinds, ndims) -> dict:
    """name -> "seq" or "array" for each value `v` a tuple assignment `a, b = v` unpacks
    that is surely a list or tuple (its adjoint is the tuple of its items' adjoints) or
    surely an array of one or more dimensions (`ndims`, see _infer_ndims; its adjoint an
    array of its rows); an unknown one is left out (its adjoint tells them apart when it
    runs). Surely a list or tuple: an argument called with one (`seq`), an item of one whose
    items all are (`seq:seqs`, a pack of them, a list they are appended to: srcad's own
    stacks), a pack, a slice or copy of one. `v = None` is passed over: srcad's own before a
    loop that saves v, and None cannot be unpacked."""
    unpacked = {s.value.id for s in stmts if isinstance(s, ir.Assign) and
                isinstance(s.target, tuple) and isinstance(s.value, ir.Name)}
    if not unpacked:
        return {}
    from .rules.containers import TUPLE_OF
    defs: dict = {}
    for s in stmts:
        for t in ir.targets(s):
            defs.setdefault(t, []).append(s.value if isinstance(s, ir.Assign) and
                                          isinstance(s.target, str) else None)
    # per name: (what it holds, what each of its items holds), each _TOP (nothing seen yet),
    # _SEQ_FACT (a list or tuple) or None (unknown); a greatest fixpoint from _TOP
    facts = {t: (_TOP, _TOP) for t in defs}
    for p in fn.params:
        if p not in defs:
            k = param_kinds.get(p)
            facts[p] = (_SEQ_FACT if k in (SEQ, SEQS) else None,
                        _SEQ_FACT if k == SEQS else None)

    def join(a, b):
        return b if a is _TOP else a if b is _TOP or a == b else None

    def of(a):
        if isinstance(a, ir.Const):
            v = a.value
            if v is None:
                return (_TOP, _TOP)
            if isinstance(v, (list, tuple)):
                inner = _TOP
                for x in v:
                    inner = join(inner, _SEQ_FACT if isinstance(x, (list, tuple)) else
                                 _TOP if x is None else None)
                return (_SEQ_FACT, inner)
            return (None, None)
        return facts.get(a.id, (None, None))

    def value(v):
        if v is None:
            return (None, None)
        if not isinstance(v, ir.Call):
            return of(v)
        prim = v.prim
        if prim is PACK_TUPLE or prim is PACK_LIST or prim is TUPLE_OF:
            inner = _TOP
            for a in v.args:
                inner = join(inner, of(a)[0])
            return (_SEQ_FACT, inner if prim is not TUPLE_OF else of(v.args[0])[1])
        if prim is LIST_APPEND:
            xs = of(v.args[0])
            return (_SEQ_FACT if xs[0] is not None else None, join(xs[1], of(v.args[1])[0]))
        if isinstance(prim, rules.IndexRule) and isinstance(v.args[0], ir.Name):
            base = of(v.args[0])
            if base[0] is not _SEQ_FACT:
                return (base[0] if base[0] is _TOP else None, None)
            if v.static[0] == "slice":
                return base                       # a list or tuple of the same items
            if v.static[0] == "atom" and kind_of(v.args[v.static[1]], kinds) == INT:
                return (base[1], None)            # one item
            return (None, None)
        if isinstance(prim, rules.Rule) and prim.passthrough and v.args:
            return of(v.args[0])                  # items_of(xs): xs itself
        return (None, None)

    changed = True
    while changed:
        changed = False
        for t, vs in defs.items():
            old = facts[t]
            if old == (None, None):
                continue
            new = (_TOP, _TOP)
            for v in vs:
                got = value(v)
                new = (join(new[0], got[0]), join(new[1], got[1]))
            if new != old:
                facts[t] = new
                changed = True
    out = {}
    for n in unpacked:
        if facts.get(n, (None,))[0] is _SEQ_FACT:
            out[n] = "seq"
        elif n not in seqs and (ndims.get(n) or 0) >= 1:
            out[n] = "array"
    return out


def _ndim(cls):
    """The number of dimensions of arrays of shape class `cls`, when known."""
    if cls == SCALAR:
        return 0
    if isinstance(cls, tuple) and cls[0] == "arg":
        k, sep, n = cls[1].rpartition(":")
        return int(n) if sep and n.isdigit() else None
    if isinstance(cls, tuple) and cls[0] == "trim":
        return _ndim(cls[1])
    return None


def kind_of(a, kinds) -> str:
    if isinstance(a, ir.Const):
        return const_kind(a.value)
    return kinds.get(a.id, ANY)


def _sure_seqs(fn, stmts, seqs) -> set:
    """Of the names that may hold a list or tuple (`seqs`), those every assignment of which
    makes one: a pack, a rule that returns one, a slice or copy of one (a user call's
    result may be anything)."""
    defs: dict = {}
    for s in stmts:
        for t in ir.targets(s):
            defs.setdefault(t, []).append(s if isinstance(s, ir.Assign) and
                                          isinstance(s.target, str) else None)
    sure = {t for t in seqs if t in defs or t in fn.params}
    sure -= {p for p in fn.params if p not in seqs}

    def makes_one(s):
        if s is None:
            return False
        v = s.value
        if isinstance(v, ir.Name):
            return v.id in sure
        if not isinstance(v, ir.Call):
            return False
        prim = v.prim
        if prim is PACK_TUPLE or prim is PACK_LIST:
            return True
        if isinstance(prim, rules.IndexRule):
            return v.static[0] == "slice" and isinstance(v.args[0], ir.Name) and \
                v.args[0].id in sure
        return isinstance(prim, rules.Rule) and (prim.returns_seq or prim.passthrough and
                                                  isinstance(v.args[0], ir.Name) and
                                                  v.args[0].id in sure)
    changed = True
    while changed:
        changed = False
        for t in list(sure):
            if not all(makes_one(s) for s in defs.get(t, ())):
                sure.discard(t)
                changed = True
    return sure


def _list_method_names(stmts) -> set:
    """Names `xs.append(v)` or `xs.pop()` changes: lists (Python would fail otherwise)."""
    values = {s.target: s.value for s in stmts if isinstance(s, ir.Assign) and
              isinstance(s.target, str)}
    out = set()
    for s in stmts:
        if not isinstance(s, ir.Assign) or s.inplace_of is None:
            continue
        v = s.value
        if isinstance(v, ir.Name):
            v = values.get(v.id)              # a loop's `xs = v` after `v = [*xs, x]`
        if isinstance(v, ir.Call) and (v.prim is LIST_APPEND or isinstance(
                v.prim, rules.IndexRule) and v.static[0] == "slice"):
            out.update((s.inplace_of, s.target))
    return out


# what a state says of the loops over one range object: none of them ran (its length is 0),
# each ran at least once, or either (a loop's exit joins its zero-iteration path with the rest)
_ZERO = (frozenset([("trips", 0)]), frozenset(), None)
_SOME = (frozenset([("trips", 1)]), frozenset(), None)
_EITHER = (frozenset([("trips", 0), ("trips", 1)]), frozenset(), None)
# which way the last `if v:` on a number v went, v unassigned since (see _Aliases.truth_of)
_FALSE = (frozenset([("truth", 0)]), frozenset(), None)
_TRUE = (frozenset([("truth", 1)]), frozenset(), None)
_MAYBE = (frozenset([("truth", 0), ("truth", 1)]), frozenset(), None)


def _loop_lengths(fn) -> tuple:
    """The for loops over the items of a range object `r` (`for i in r`, or `reversed(r)`, as
    lowered just before the loop: `q = items_of(r)`, maybe `q = q[::-1]`, `n = len(q)`,
    `for i in range(n)`): id(loop) -> the name of the fact a state keeps of r's loops (a
    name no variable has), and name -> those facts its assignment forgets (r's: the chain,
    just before each loop, reads r as it is there). Loops over one range run equally often: srcad's own reverse sweep replays a
    loop over `reversed(r)`, so where the forward loop ran, its replay runs too."""
    from .rules.core import GETITEM
    defs: dict = {}
    for s in ir.walk(fn.body):
        for t in ir.targets(s):
            defs.setdefault(t, []).append(s)

    def call_of(st, key, n):
        v = st.value if isinstance(st, ir.Assign) and isinstance(st.target, str) else None
        return isinstance(v, ir.Call) and isinstance(v.prim, rules.Rule) and \
            v.prim.key is key and 1 <= len(v.args) <= n and not v.kwargs and \
            isinstance(v.args[0], ir.Name)

    def a_range(name):
        """Whether every assignment of `name` makes a range (of any bounds)."""
        ds = defs.get(name, ())
        return bool(ds) and all(
            isinstance(d, ir.Assign) and d.target == name and isinstance(d.value, ir.Call) and
            isinstance(d.value.prim, rules.Rule) and d.value.prim.key is builtins.range
            for d in ds)
    tags, resets = {}, {}
    for block in [fn.body] + [b for s in ir.walk(fn.body) for b in ir.blocks(s)]:
        for j, s in enumerate(block):
            if not (isinstance(s, ir.For) and isinstance(s.iter, ir.Name) and j >= 3):
                continue
            r, n, q = block[j - 1], block[j - 2], block[j - 3]
            if not (call_of(r, builtins.range, 1) and r.target == s.iter.id and
                    call_of(n, builtins.len, 1) and r.value.args[0].id == n.target and
                    isinstance(q, ir.Assign) and q.target == n.value.args[0].id):
                continue
            if isinstance(q.value, ir.Call) and q.value.prim is GETITEM and \
                    q.value.static == ("slice", None, None, 1) and \
                    q.value.args[1:] == [ir.Const(-1)] and isinstance(q.value.args[0], ir.Name) \
                    and j >= 4 and isinstance(block[j - 4], ir.Assign) and \
                    block[j - 4].target == q.value.args[0].id:
                q = block[j - 4]
            if not (call_of(q, runtime.items_of, 2) and a_range(q.value.args[0].id)):
                continue
            base = q.value.args[0].id
            tag = f"#trips {base}"
            tags[id(s)] = tag
            resets.setdefault(base, set()).add(tag)
    return tags, resets


def _constant_tests(stmts) -> dict:
    """name -> its truth, for names assigned once, by a rule that is pure, total and not
    differentiable (a comparison, `not`) applied to numbers, giving a bool: `v0 = 3.0 <= 1.5`."""
    count: dict = {}
    for s in stmts:
        for t in ir.targets(s):
            count[t] = count.get(t, 0) + 1
    out = {}
    for s in stmts:
        v = s.value if isinstance(s, ir.Assign) and isinstance(s.target, str) else None
        if not (isinstance(v, ir.Call) and isinstance(v.prim, rules.Rule) and count[s.target] == 1
                and v.prim.pure and v.prim.total and not v.prim.differentiable and
                not v.kwargs and callable(v.prim.key) and v.args and
                all(isinstance(a, ir.Const) and type(a.value) in (int, float, bool)
                    for a in v.args)):
            continue
        try:
            got = v.prim.key(*(a.value for a in v.args))
        except Exception:                    # (Python raises there: no branch is taken)
            continue
        if type(got) is bool:
            out[s.target] = got
    return out


def nonempty_loops(fn) -> frozenset:
    """id(loop) of the for loops over a range of constant bounds that is not empty (`for i in
    range(3)`, every assignment of the range's name the same): they run at least once, so
    what they assign holds after them on every path (none keeps its value from before)."""
    defs: dict = {}
    for s in ir.walk(fn.body):
        for t in ir.targets(s):
            defs.setdefault(t, []).append(s)

    def length(d):
        v = d.value if isinstance(d, ir.Assign) and isinstance(d.target, str) else None
        if not (isinstance(v, ir.Call) and isinstance(v.prim, rules.Rule) and
                v.prim.key is builtins.range and not v.kwargs and 1 <= len(v.args) <= 3 and
                all(isinstance(a, ir.Const) and type(a.value) is int for a in v.args)):
            return None
        try:
            return len(range(*(a.value for a in v.args)))
        except ValueError:                 # a step of 0: Python raises, no loop runs
            return None
    out = set()
    for s in ir.walk(fn.body):
        if isinstance(s, ir.For) and isinstance(s.iter, ir.Name) and s.iter.id in defs and \
                s.iter.id not in fn.params:
            lengths = {length(d) for d in defs[s.iter.id]}
            if None not in lengths and min(lengths) > 0:
                out.add(id(s))
    return frozenset(out)


def _private_pops(fn, body) -> set:
    """The statements `v = xs[-1]` of pops (`v = xs.pop()` is lowered to `v = xs[-1]`,
    copies of v, then `xs = xs[:-1]`) from a list that alone holds each of its items: the
    list's names are assigned only an empty list (`xs = []`), the list with a value a rule
    has just made appended (storage "new", holding nothing, read by nothing else: srcad's
    own stacks, `xs.append(snapshot(b))`), or the list without its last item (a pop); and
    nothing else reads them. The popped value is then an object no other name or item
    holds, as a rule's new result is (a change in place of it, `b[0] = v`, shares nothing
    with what is left on the stack)."""
    from .rules.core import GETITEM
    defs: dict = {}
    uses: dict = {}
    for s in ir.walk(body):
        for t in ir.targets(s):
            defs.setdefault(t, []).append(s)
        for r in ir.reads(s):
            uses.setdefault(r, []).append(s)

    def pop_slice(v):
        return isinstance(v, ir.Call) and v.prim is GETITEM and \
            v.static == ("slice", 1, 2, None) and len(v.args) == 3 and \
            isinstance(v.args[0], ir.Name) and v.args[1] == ir.Const(None) and \
            v.args[2] == ir.Const(-1) and not v.kwargs

    def last(v):
        return isinstance(v, ir.Call) and v.prim is GETITEM and v.static == ("atom", 1) and \
            len(v.args) == 2 and isinstance(v.args[0], ir.Name) and \
            v.args[1] == ir.Const(-1) and not v.kwargs

    def single(name):
        """The one assignment of `name`, or None."""
        ds = defs.get(name, ())
        return ds[0] if len(ds) == 1 and isinstance(ds[0], ir.Assign) and \
            ds[0].target == name else None

    def fresh(a):
        """A temporary a rule has just made, read once (by the append)."""
        d = single(a.id) if isinstance(a, ir.Name) and a.id in fn.temps else None
        v = d.value if d is not None else None
        return len(uses.get(a.id, ())) == 1 and isinstance(v, ir.Call) and \
            isinstance(v.prim, rules.Rule) and v.prim.storage == "new" and \
            not v.prim.holds and not v.prim.inplace and v.prim.copy_flag is None and \
            not isinstance(v.prim, (rules.IndexRule, rules.SetItemRule))

    def step(v):
        """The list `v` (a value) appends to or pops from, or None."""
        if pop_slice(v):
            return v.args[0].id
        if isinstance(v, ir.Call) and v.prim is LIST_APPEND and len(v.args) == 2 and \
                not v.kwargs and isinstance(v.args[0], ir.Name) and fresh(v.args[1]):
            return v.args[0].id
        return None

    def update(d):
        """The list assignment `d` changes in place (an append, a pop, either through a
        temporary copied back), or None."""
        v = d.value
        if isinstance(v, ir.Name) and v.id in fn.temps and single(v.id) is not None and \
                len(uses.get(v.id, ())) == 1:
            v = single(v.id).value
        base = step(v)
        return base if base is not None and d.inplace_of == base else None

    # the pops: the read of the last item, copies of it, then the list without it
    pops: dict = {}                     # id(read) -> the list's name
    for block in [body] + [b for s in ir.walk(body) for b in ir.blocks(s)]:
        for j, r in enumerate(block):
            if not (isinstance(r, ir.Assign) and isinstance(r.target, str) and
                    last(r.value)):
                continue
            xs, held = r.value.args[0].id, {r.target}
            for q in block[j + 1:]:
                if isinstance(q, ir.Assign) and isinstance(q.target, str) and \
                        isinstance(q.value, ir.Name) and q.value.id in held and \
                        q.target != xs:
                    held.add(q.target)
                    continue
                if isinstance(q, ir.Assign) and pop_slice(q.value) and \
                        q.value.args[0].id == xs:
                    pops[id(r)] = xs
                break
    if not pops:
        return set()

    def family(start):
        """The names of the list `start` (linked by appends and pops), or None where one
        of them is assigned or read otherwise."""
        names, todo = set(), [start]
        while todo:
            n = todo.pop()
            if n in names:
                continue
            if n in fn.params or n in fn.temps:
                return None
            names.add(n)
            for d in defs.get(n, ()):
                if not isinstance(d, ir.Assign) or d.target != n:
                    return None                   # a for loop's target, an unpacking
                v = d.value
                if isinstance(v, ir.Call) and v.prim is PACK_LIST and not v.args and \
                        not v.kwargs:
                    continue
                base = update(d)
                if base is None:
                    return None
                todo.append(base)
            for u in uses.get(n, ()):
                if pops.get(id(u)) == n:
                    continue
                if not (isinstance(u, ir.Assign) and isinstance(u.target, str) and
                        step(u.value) == n):
                    return None
                if u.target in fn.temps:          # copied back: `xs = t`, its only use
                    back = uses.get(u.target, ())
                    if len(back) != 1 or single(u.target) is not u:
                        return None
                    u = back[0]
                if not (isinstance(u, ir.Assign) and isinstance(u.target, str) and
                        update(u) == n):
                    return None
                todo.append(u.target)
        return names
    out, ok = set(), {}
    for r, xs in pops.items():
        if xs not in ok:
            ok[xs] = family(xs) is not None
        if ok[xs]:
            out.add(r)
    return out


def _mutation_points(stmts) -> set:
    """The statements that may change a value in place: augmented assignments and list
    methods, rules declared in place, and calls of the user's functions."""
    out = set()
    for s in stmts:
        if not isinstance(s, ir.Assign):
            continue
        v = s.value
        if s.inplace_of is not None or isinstance(v, ir.Call) and (
                isinstance(v.prim, UserCall) or isinstance(v.prim, rules.Rule) and v.prim.inplace):
            out.add(id(s))
    return out


def _live_after(body, wanted) -> dict:
    """For each statement id in `wanted`, the names read after it before being assigned
    (one backward pass per round; loop heads grow until no round changes them)."""
    heads: dict = {}
    out: dict = {}
    changed = [True]

    def block(stmts, live, loop):
        live = set(live)
        for s in reversed(stmts):
            if id(s) in wanted:
                out[id(s)] = frozenset(live)
            if isinstance(s, ir.Assign):
                live.difference_update(ir.targets(s))
                live.update(ir.reads(s))
            elif isinstance(s, ir.Return):
                live = set(ir.reads(s))
            elif isinstance(s, ir.Break):
                live = set(loop[1])
            elif isinstance(s, ir.Continue):
                live = set(loop[0])
            elif isinstance(s, ir.If):
                live = block(s.body, live, loop) | block(s.orelse, live, loop)
                live.update(ir.reads(s))
            elif isinstance(s, (ir.For, ir.While)):
                head = heads.get(id(s), frozenset())
                inner = block(s.body, head, (head, live))
                new = (live | (inner - {s.target})) if isinstance(s, ir.For) else inner
                if not new <= head:
                    heads[id(s)] = head = frozenset(head | new)
                    changed[0] = True
                live = set(head)
                live.update(ir.reads(s))
        return live

    while changed[0]:
        changed[0] = False
        block(body, set(), (frozenset(), frozenset()))
    return out


def _aliases(fn, stmts, kinds, seqs, shapes=None, param_kinds=None) -> _Aliases:
    """The alias facts of `fn`, with the names live after each change in place that the
    result or a side effect needs (`shapes`, the shape classes, tell how many dimensions
    some arrays have; `param_kinds`, the arguments' own kinds, which are floats)."""
    points = _mutation_points(stmts)
    live = contents = None
    if points:
        needed, needed_contents = _needed(stmts), _needed(stmts, contents=True)
        after = _live_after(fn.body, points)
        live = {k: v & needed for k, v in after.items()}
        contents = {k: v & needed_contents for k, v in after.items()}
    focus = None
    for cap in (1, _DISJUNCTS, _DISJUNCTS):
        # paths joined first (cheap); where that finds a conflict, kept apart to see whether
        # one path really holds it (srcad's own derivatives swap adjoints in loops); then
        # kept apart only by the names the conflicts involve
        a = _Aliases(fn, stmts, kinds, seqs, shapes, param_kinds, cap, focus)
        if live is not None:
            a.live, a.live_contents = live, contents
        a.run()
        where = {k for k, ms in a.mutations.items() if any(m.conflicts for m in ms)}
        if not where:
            break
        names = {n for k in where for m in a.mutations[k] for n in m.conflicts}
        names |= {n for s in stmts if id(s) in where for n in ir.reads(s)}
        names |= {s.inplace_of for s in stmts if id(s) in where and
                  isinstance(s, ir.Assign) and s.inplace_of is not None}
        focus = (_sources(names, stmts), frozenset(names))
    return a


def _sources(names: set, stmts) -> frozenset:
    """`names` and every name whose storage may flow into one of them (by a copy, a call
    that may return or hold its arguments' storage, an unpacking)."""
    out = set(names)
    changed = True
    while changed:
        changed = False
        for s in stmts:
            if not isinstance(s, ir.Assign) or out.isdisjoint(ir.targets(s)):
                continue
            v = s.value
            if isinstance(v, ir.Call) and isinstance(v.prim, rules.Rule) and \
                    v.prim.storage == "new" and not v.prim.holds:
                new = set()                       # a new object: none of its arguments'
            else:
                new = {r for r in ir.reads(s)} - out
            if s.inplace_of is not None:
                new.add(s.inplace_of)
            new -= out
            if new:
                out |= new
                changed = True
    return frozenset(out)


def _needed(stmts, contents: bool = False) -> set:
    """Names whose values reach the result, a test, a loop's range or a call that may have
    side effects (a stale value of any other name changes nothing). `contents`: the names
    whose entries do, not counting arguments a rule reads only for their shape (`len(v)`
    of a loop's array: a change in place of an array keeps its shape)."""
    def reads(s):
        out = set(ir.reads(s))
        v = s.value if isinstance(s, ir.Assign) else None
        if contents and isinstance(v, ir.Call) and isinstance(v.prim, rules.Rule) and \
                v.prim.shape_args:
            shaped = {a.id for p, a in bound_args(v).items()
                      if p in v.prim.shape_args and isinstance(a, ir.Name)}
            others = {a.id for p, a in bound_args(v).items()
                      if p not in v.prim.shape_args and isinstance(a, ir.Name)}
            out -= shaped - others
        return out
    needed = set()
    by_target: dict = {}                  # name -> the assignments binding it
    for s in stmts:
        if isinstance(s, (ir.Return, ir.If, ir.For)) or isinstance(s, ir.Assign) and \
                isinstance(s.value, ir.Call) and not isinstance(s.value.prim, rules.Rule):
            needed.update(ir.reads(s))
        if isinstance(s, ir.Assign):
            for t in ir.targets(s):
                by_target.setdefault(t, []).append(s)
    # a worklist: each name, once needed, makes the reads of its assignments needed (each
    # assignment read once), where iterating to a fixed point went over every statement
    # once more per new name
    todo = list(needed)
    done = set()
    while todo:
        for s in by_target.get(todo.pop(), ()):
            if id(s) not in done:
                done.add(id(s))
                new = reads(s) - needed
                needed |= new
                todo += new
    return needed


def _refuse_sequence_items(fn, stmts, seqs):
    """Item assignment is supported on arrays: a list or tuple assigned an item (`xs[i] = v`)
    is refused (`seqs`: the names sure to hold one)."""
    from .errors import UnsupportedSyntaxError
    for s in stmts:
        if isinstance(s, ir.Assign) and isinstance(s.value, ir.Call) and \
                isinstance(s.value.prim, rules.SetItemRule) and s.target in seqs:
            name = fn.versions.get(s.target, s.target)
            raise UnsupportedSyntaxError(
                f"assignment to an item of {name!r}, a list or tuple, is not "
                "supported (item assignment is differentiated on arrays); build a new list "
                "instead", fn.filename, s.line)


def _refuse_constant_params(fn, stmts, varied, useful):
    """A varied value passed where a rule declares no derivative (`np.polyfit(x, y, 1, w=v)`
    has none for the weights `w`): the result does depend on it, so where the result is
    used srcad refuses rather than drop that derivative. A rule's `zero_in` parameters (a
    cutoff, a tolerance, an axis: the result is piecewise constant in them) and
    `shape_args` are exempt. srcad's own code (generated code, the runtime helpers it reads
    at second order) is checked too: its helpers' rules declare what they read for shapes,
    axes, weights or saved values."""
    from .errors import UnsupportedSyntaxError
    for s in stmts:
        if not (isinstance(s, ir.Assign) and isinstance(s.value, ir.Call)):
            continue
        prim = s.value.prim
        if not (isinstance(prim, rules.Rule) and prim.differentiable) or \
                isinstance(prim, (rules.IndexRule, rules.SetItemRule, rules.FunctionRule)) or \
                not any(t in useful for t in ir.targets(s)) or \
                not type(prim).__module__.startswith("srcad.rules"):   # a pass's (checkpoint)
            continue
        diff = set(prim.diff_params) | set(prim.zero_in) | set(prim.shape_args)
        for p, a in bound_args(s.value).items():
            if p not in diff and isinstance(a, ir.Name) and a.id in varied:
                name = fn.versions.get(a.id, a.id)
                shown = "a value" if name in fn.temps else repr(name)
                raise UnsupportedSyntaxError(
                    f"{prim.label}: srcad has no derivative with respect to its argument "
                    f"{p!r}, and {shown} passed there depends on the inputs; pass a constant "
                    "(or srcad.stop_gradient(...) of it if no derivative should flow)",
                    fn.filename, s.line)


def _refuse_sequence_arithmetic(fn, stmts, seqs, active):
    """`a + b` where both operands may hold a list or tuple (`seqs`: a user function's result
    only if that function may return one) the lowering could not tell apart from an array:
    Python concatenates, srcad would differentiate arithmetic, so where a derivative flows
    through it (`active`) it refuses (a silently wrong tangent otherwise)."""
    from .errors import UnsupportedSyntaxError
    for s in stmts:
        if isinstance(s, ir.Assign) and s.target in active and \
                isinstance(s.value, ir.Call) and \
                isinstance(s.value.prim, rules.Rule) and s.value.prim.on_seqs:
            args = s.value.args
            if all(isinstance(a, ir.Name) and a.id in seqs for a in args):
                for a in args[:1]:               # an array and a list: NumPy's arithmetic
                    name = fn.versions.get(a.id, a.id)
                    shown = "a value" if name in fn.temps else repr(name)
                    raise UnsupportedSyntaxError(
                        f"`{s.value.prim.label}` where {shown} may be a list or tuple (a "
                        f"{s.value.prim.on_seqs}, which srcad cannot tell from arithmetic "
                        "here): write list(a) + list(b) (or convert to arrays with "
                        "np.asarray)", fn.filename, s.line)


def _refuse_conflicts(fn, a: _Aliases):
    """An in-place change Python makes to a value another live name may share: srcad would
    differentiate a different function (it computes a new value), so it refuses. Messages
    name the user's variables (`z`, not its SSA version `z_1`), a user variable first."""
    from .errors import UnsupportedSyntaxError

    def user(n):
        return fn.versions.get(n, n)
    for s in ir.walk(fn.body):
        for m in a.mutations.get(id(s), ()):
            if not m.conflicts:
                continue
            other = user(next((n for n in m.conflicts if n not in fn.temps), m.conflicts[0]))
            iterated = _iterated_at(fn, other)
            if iterated is not None:
                # srcad's temporary holding what a for loop iterates over (Python keeps
                # iterating the array it started with, changed in place or not)
                other = f"the array the for loop at line {iterated} iterates over"
            kind = m.what[0]
            if kind == "aug":
                name = user(m.what[1])
                msg = (f"an augmented assignment changes the array in {name!r} in place, "
                       f"and {_shown(other)} may share that array: srcad would differentiate a "
                       f"different function; write `{name} = {name} + ...` (a new "
                       "array) instead")
            elif kind == "a list method":
                name = user(m.what[1])
                msg = (f"{name}.append()/.pop() changes that list in place, and "
                       f"{_shown(other)} may share it: srcad would differentiate a different "
                       f"function; build a new list instead (`{name} = [*{name}, v]`)")
            elif kind == "item":
                name = user(m.what[1])
                msg = (f"an assignment to an item of {name!r} changes that array in place, and "
                       f"{_shown(other)} may share it (the same array, or a view of it) and is "
                       "read "
                       f"afterwards: srcad would differentiate a different function; make "
                       f"{name!r} an array of its own first (`{name} = {name}.copy()`)")
            elif kind == "call items":
                _, helper, param, (filename, line) = m.what
                msg = (f"{helper}() changes an item of its argument {param!r} in place (at "
                       f"{os.path.basename(filename)}:{line}), and two items of the list or tuple "
                       f"passed for {param!r} may be the same object: srcad's derivative of "
                       f"{helper}() takes them apart; pass items of their own (`x.copy()`)")
            elif kind == "call":
                _, helper, param, (filename, line) = m.what
                msg = (f"{helper}() changes its argument {param!r} in place (at "
                       f"{os.path.basename(filename)}:{line}), and {_shown(other)} may share it "
                       "and "
                       f"is read afterwards: srcad's derivative of {helper}() computes a new "
                       f"value instead; in {helper}() write `{param} = {param} * ...` (a new "
                       "value)")
            else:
                msg = (f"{m.what[1]}() changes {m.what[2]!r} in place, and {_shown(other)} may "
                       "share it: srcad would differentiate a different function")
            if other in {r[1] for r in m.roots if type(r) is tuple and r[0] == "g"}:
                msg = msg.replace(f"{other!r} may share", f"the global {other!r} may share")
            raise UnsupportedSyntaxError(msg, fn.filename, s.line)


def _shown(name: str) -> str:
    """A user's name quoted; a description of srcad's own value as it is."""
    return name if name.startswith("the array ") else repr(name)


def _iterated_at(fn, name):
    """The line of the for loop whose iterated array srcad's temporary `name` holds, or None."""
    if name not in fn.temps:
        return None
    for s in ir.walk(fn.body):
        if isinstance(s, ir.Assign) and s.target == name and isinstance(s.value, ir.Call) and \
                isinstance(s.value.prim, rules.Rule) and s.value.prim.key is runtime.items_of:
            return s.line
    return None


# ---------------------------------------------------------------- user functions

_SUMMARIES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_IN_PROGRESS = threading.local()


def summarize(func, call: ir.Call, kinds: dict, seqs: set) -> CallSummary:
    """What the user function `func` does with its arguments' storage, for these argument
    kinds: read from its own SSA (memoised); when that cannot be built, its result is taken
    to share every argument."""
    kinds_key = tuple(SEQ if isinstance(a, ir.Name) and a.id in seqs else kind_of(a, kinds)
                      for a in call.args) + tuple(
        (k, SEQ if isinstance(a, ir.Name) and a.id in seqs else kind_of(a, kinds))
        for k, a in sorted(call.kwargs.items()))
    try:
        memo = _SUMMARIES.setdefault(func, {})
    except TypeError:
        memo = {}
    code = func.__code__ if isinstance(func, types.FunctionType) else None
    key = (code, kinds_key)
    if key in memo:
        return memo[key]
    busy = _IN_PROGRESS.__dict__.setdefault("funcs", set())
    if code is None or vars(func).get("__srcad_transform__") is not None:
        summary = CallSummary((), {}, _NOTHING)                         # srcad.grad(h): new
    elif code in busy:
        summary = _unknown(func, call)                # recursion: refused when it is built
    else:
        busy.add(code)
        try:
            summary = _summarize(func, call, kinds_key)
        except SrcadError:
            summary = _unknown(func, call)  # (built later only if active; refused then)
        finally:
            busy.discard(code)
        if vars(func).get("__srcad_derivative__") is not None:
            # a backward half srcad built pops the stacks saved in its residuals: each
            # residual is made for one backward call and read by no one after it in the
            # caller, but the caller's own derivative may read it later (the structure of
            # its zero adjoint, at second order)
            summary = CallSummary(summary.params, {}, summary.result, summary.may_be_seq,
                                  consumes=tuple(summary.mutates), items=summary.items,
                                  parts=summary.parts)
    memo[key] = summary
    return summary


def _unknown(func, call) -> CallSummary:
    names = tuple(f"arg{i}" for i in range(len(call.args))) + tuple(call.kwargs)
    roots = frozenset([0]) | {(t, n) for n in names for t in ("p", "pi")}
    return CallSummary(names, {}, (roots, roots, None))


def _summarize(func, call, kinds_key) -> CallSummary:
    fn = _lowered(func)
    pk = _callee_param_kinds(fn, call, kinds_key)
    stmts = list(ir.walk(fn.body))
    kinds = _kinds(fn, stmts, pk)
    seqs = _sequences(stmts, pk, kinds)
    a = _aliases(fn, stmts, kinds, seqs, param_kinds=pk)
    mutates, parts, whole = {}, {}, set()
    for s in stmts:
        for m in a.mutations.get(id(s), ()):
            for r in m.roots:
                if type(r) is tuple and r[0] in ("p", "pi") and r[1] not in mutates:
                    mutates[r[1]] = (fn.filename, s.line)
                if type(r) is tuple and r[0] in ("p", "pi") and len(r) == 3:
                    parts.setdefault(r[1], set()).add(r[2])
                elif type(r) is tuple and r[0] in ("p", "pi", "pii"):
                    whole.add(r[1])          # (an item's items: not that item's storage)
    returned = [st.value for st in stmts if isinstance(st, ir.Return)]
    may_be_seq = any(isinstance(r, ir.Name) and r.id in seqs or
                     isinstance(r, ir.Const) and isinstance(r.value, (list, tuple))
                     for r in returned)
    defs = _definitions(stmts)
    trees = {_seq_tree(r.id, defs, seqs, kinds) if isinstance(r, ir.Name) else
             isinstance(r, ir.Const) and isinstance(r.value, (list, tuple)) for r in returned}
    items = trees.pop() if len(trees) == 1 else may_be_seq
    return CallSummary(tuple(fn.params), mutates, a.returned or _NOTHING, may_be_seq,
                       items=items, parts={p: frozenset(js) for p, js in parts.items()
                                           if p not in whole})
