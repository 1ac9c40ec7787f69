"""Activity pass: the kind of every name, and which names need derivative code.

A name is *varied* when it depends differentiably on a `wrt` input, *useful* when
the output depends differentiably on it, and *active* when both. Kinds (float,
int, any, none) come from the arguments' kinds at call time; integers, booleans
and non-numeric values are never differentiated, and a name known to hold a
float lets the emitters drop broadcasting helpers.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import ir, rules
from .rules import ANY, FLOAT, INT, NONE


@dataclass
class Activity:
    kinds: dict
    varied: set
    useful: set
    shapes: dict = None            # name -> shape class: names with equal classes have equal shapes
    seqs: set = None               # names that may hold a list or tuple (adjoints add item-wise)

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
    k = getattr(prim, "kind", ANY)
    args = [kind(a) for a in call.args]
    if k == "elementwise":
        if ANY in args:
            return ANY
        if FLOAT in args:
            return FLOAT
        if NONE in args:
            return NONE
        import operator
        return FLOAT if getattr(prim, "key", None) is operator.truediv else INT
    if k == "reduce":
        axis = bound_args(call).get("axis")
        if args and args[0] in (FLOAT, INT):
            return FLOAT
        return FLOAT if axis == ir.Const(None) else ANY
    if k == "first":
        return args[0] if args else ANY
    if k == "index":
        return NONE if args and args[0] == NONE else ANY
    if k in ("tuple", "list"):
        return ANY if any(a in (FLOAT, ANY) for a in args) else NONE
    if k in (FLOAT, INT, NONE, ANY):
        return k
    return ANY


def analyze(fn: ir.Function, wrt: list, param_kinds: dict) -> Activity:
    """Kinds and activity of every name in `fn` for derivatives with respect to `wrt`."""
    kinds: dict = {}
    shapes: dict = {}
    for p, k in param_kinds.items():
        kind, _, cls = k.partition(":")
        kinds[p] = ANY if kind == SEQ else kind
        shapes[p] = SCALAR if kind in (FLOAT, INT) else (("arg", cls) if cls else None)
    stmts = list(ir.walk(fn.body))

    def kind(a):
        if isinstance(a, ir.Const):
            return const_kind(a.value)
        return kinds.get(a.id, ANY if a.id not in assigned else None) or ANY

    assigned = {t for s in stmts for t in ir.targets(s)} | set(fn.params)
    changed = True
    while changed:
        changed = False
        for s in stmts:
            if isinstance(s, ir.For):
                new = {s.target: INT}
            elif isinstance(s, ir.Assign):
                v = s.value
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

    _infer_shapes(fn, stmts, kinds, shapes)
    _check_inplace(fn, stmts, kinds)
    nondiff = {INT, NONE}
    sources = {}                       # id(statement) -> what derivatives flow from, computed once
    for s in stmts:
        if isinstance(s, ir.Assign):
            v = s.value
            sources[id(s)] = [a.id for a in (diff_args(v) if isinstance(v, ir.Call) else [v])
                              if isinstance(a, ir.Name)]
    varied = {p for p in wrt if kinds.get(p) not in nondiff}
    changed = True
    while changed:
        changed = False
        for s in stmts:
            if not isinstance(s, ir.Assign):
                continue
            if any(a in varied for a in sources[id(s)]):
                for t in ir.targets(s):
                    if t not in varied and kinds.get(t) not in nondiff:
                        varied.add(t)
                        changed = True

    useful = {s.value.id for s in stmts if isinstance(s, ir.Return)
              and isinstance(s.value, ir.Name)}
    changed = True
    while changed:
        changed = False
        for s in stmts:
            if not isinstance(s, ir.Assign) or not any(t in useful for t in ir.targets(s)):
                continue
            for a in sources[id(s)]:
                if a not in useful:
                    useful.add(a)
                    changed = True
    return Activity(kinds=kinds, varied=varied, useful=useful, shapes=shapes,
                    seqs=_sequences(stmts, param_kinds))


_SEQ_RESULTS = {"tuple", "list"}            # pack kinds
_SEQ_NAMES = {"np.split", "np.array_split", "add_items"}


def _sequences(stmts, param_kinds) -> set:
    seqs = {p for p, k in param_kinds.items() if k == SEQ}
    changed = True
    while changed:
        changed = False
        for s in stmts:
            if not isinstance(s, ir.Assign) or isinstance(s.target, tuple) or s.target in seqs:
                continue
            v = s.value
            if isinstance(v, ir.Call):
                sliced = isinstance(v.prim, rules.IndexRule) and v.static[0] == "slice" and \
                    isinstance(v.args[0], ir.Name) and v.args[0].id in seqs
                hit = sliced or getattr(v.prim, "kind", None) in _SEQ_RESULTS or \
                    getattr(v.prim, "name", "") in _SEQ_NAMES or isinstance(v.prim, _user_call())
            else:
                hit = isinstance(v, ir.Name) and v.id in seqs
            if hit:
                seqs.add(s.target)
                changed = True
    return seqs


def _user_call():
    from .lower import UserCall
    return UserCall


_UNKNOWN = object()


def _infer_shapes(fn, stmts, kinds, shapes):
    """Shape classes: an elementwise operation on operands of one class (or scalars) has
    that class; scalars share the class SCALAR; everything else is unknown (None)."""
    def shape(a):
        if isinstance(a, ir.Const):
            return SCALAR if const_kind(a.value) in (INT, FLOAT) else None
        if kinds.get(a.id) in (FLOAT, INT):
            return SCALAR
        return shapes.get(a.id, _UNKNOWN if a.id in assigned else None)

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
            if isinstance(v, ir.Call):
                new = None
                if isinstance(v.prim, rules.IndexRule):
                    base = shape(v.args[0])
                    trims = _slice_trims(v)
                    if base is _UNKNOWN and trims is not None:
                        new = _UNKNOWN
                    elif base not in (None, SCALAR) and trims is not None:
                        new = (base if not trims else ("trim", base, trims))
                elif getattr(v.prim, "kind", None) == "elementwise":
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
            joined = new if old is _UNKNOWN else (old if old == new or new is _UNKNOWN else None)
            if joined is not _UNKNOWN and joined != old:
                shapes[t] = joined
                changed = True
    for t in assigned:
        if shapes.get(t, _UNKNOWN) is _UNKNOWN:
            shapes[t] = None


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


# operations whose result may share memory with their first argument
_VIEWS = {"x.T", "np.transpose", "np.reshape", "np.ravel", "np.squeeze", "np.expand_dims",
          "np.swapaxes", "np.moveaxis", "np.broadcast_to", "np.diag", "np.flip"}


def _check_inplace(fn, stmts, kinds):
    """`y += e` on an array changes it in place: refuse it when another name may share that
    array (`y = x`, a slice or view of x), since srcad computes `y = y + e` instead."""
    from .errors import UnsupportedSyntaxError
    temps = getattr(fn, "temps", set())
    defs: dict = {}
    for s in stmts:
        for t in ir.targets(s):
            defs.setdefault(t, []).append(s)
    for s in stmts:
        old = getattr(s, "inplace_of", None)
        if old is None or kinds.get(old) in (FLOAT, INT):
            continue
        todo, seen = list(defs.get(old, [])), set()
        while todo:
            d = todo.pop()
            if not isinstance(d, ir.Assign) or id(d) in seen:
                continue
            seen.add(id(d))
            v = d.value
            if isinstance(v, ir.Name) and v.id in temps:
                todo += defs.get(v.id, [])              # a temporary holds what made it
                continue
            shared = None
            if isinstance(v, ir.Name) and v.id not in temps:
                shared = v.id
            elif isinstance(v, ir.Call) and v.args and isinstance(v.args[0], ir.Name) and (
                    isinstance(v.prim, rules.IndexRule)
                    or getattr(v.prim, "name", "") in _VIEWS
                    or (getattr(v.prim, "primal", None) is not None
                        and v.prim.primal.text in _VIEWS)):
                shared = v.args[0].id
            if shared is not None:
                raise UnsupportedSyntaxError(
                    f"an augmented assignment changes the array in {old!r} in place, and "
                    f"{shared!r} may share that array: srcad would differentiate a different "
                    f"function; write `{old} = {old} + ...` (a new array) instead",
                    fn.filename, s.line)
