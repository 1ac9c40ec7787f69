"""What both emitters share: names for derivatives, template instantiation, line markers."""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from . import ir, rules, runtime
from .activity import Activity, bound_args
from .errors import UnsupportedSyntaxError
from .rules import ANY, FLOAT, INT
from .rules.helpers import BROADCASTING

LINE_MARK = "__srcad_line__"


def name_load(n: str) -> ast.Name:
    return ast.Name(id=n, ctx=ast.Load())


def assign(target, value: ast.expr) -> ast.stmt:
    return ir.assign_ast(target, value)


def call(func: str, *args) -> ast.expr:
    return ast.Call(func=name_load(func), args=list(args), keywords=[])


def line_mark(line: int) -> ast.stmt:
    """A placeholder statement codegen turns into a comment quoting the user's line."""
    return ast.Expr(value=call(LINE_MARK, ast.Constant(line)))


@dataclass
class Emitted:
    """What an emitter returns: the derivative's functions (one, or a split helper's forward
    and backward halves), the objects their code names besides the runtime's (the user's
    callees, their derivatives), and the variables holding adjoints and the primal lists and tuples (for the optimizer)."""
    trees: list
    injected: dict
    adjoints: set = field(default_factory=set)
    # primal names that may hold a list or tuple: an adjoint shaped like one is a container
    # of per-item adjoints (the optimizer's f(-g) -> -f(g) must not negate it as one value)
    containers: set = field(default_factory=set)


def bound_params(v: ir.Call) -> dict:
    """The call's arguments by the rule's parameter names (`x`, the indexed value, for an
    index; its index atoms are the template's IDX)."""
    if isinstance(v.prim, rules.IndexRule):
        return {"x": v.args[0]}
    return bound_args(v)


class Emitter:
    """Base of the forward and reverse emitters: naming and rule templates."""

    suffix = ""
    # (the function being differentiated, the names its derivative gets): a derivative of
    # another function it calls takes none of them
    avoid = None

    def __init__(self, fn: ir.Function, act: Activity, build_callee):
        self.fn = fn
        self.act = act
        self.build_callee = build_callee          # (func, mode, wrt, kinds) -> function
        self.taken = set(fn.reserved) | {t for s in ir.walk(fn.body) for t in ir.targets(s)}
        self.derived: dict = {}
        self.injected: dict = dict(fn.injected)
        self.last_line = None
        self.seqs = sequences(fn, act)
        self.helper_calls: dict = {}      # id(call) -> (call, the runtime helper it calls)
        # srcad's temporaries (assigned once) -> the values they are assigned
        once = fn.temps - fn.merge_names
        self.temp_values = {s.target: s.value for s in ir.walk(fn.body)
                            if isinstance(s, ir.Assign) and s.target in once}

    def helper_call(self, func, *args) -> ast.Call:
        """A call of runtime helper `func`, recorded so that later steps know what it calls."""
        node = call(func.__name__, *args)
        self.helper_calls[id(node)] = (node, func)
        return node

    def helper_of(self, node):
        """The runtime helper `node` calls, if this emitter built it as such a call."""
        hit = self.helper_calls.get(id(node))
        return hit[1] if hit is not None and hit[0] is node else None

    def primal_value(self, s: ir.Assign) -> ast.expr:
        """The value assignment `s` gives its target. For `x op= y` on what may be an array,
        which the lowering computes as a new value `x op y`, that value is made
        `updated(x op y, x)`: in x's memory layout and dtype, as Python's in-place update
        leaves it (bit for bit the same reductions later); also where x keeps its name (in a
        branch or loop: `v = x op y; x = v`, the copy made `x = updated(v, x)`). A call of a
        user function that
        changes arguments in place gets copies of those (`snapshot(x)`): the derivative reads
        their values later (the alias analysis refuses a primal that does)."""
        v = s.value
        changed = self.act.changed_args.get(id(s))
        if changed:
            def arg(key, a):
                if key in changed and isinstance(a, ir.Name):
                    return self.helper_call(runtime.snapshot, ir.atom_ast(a))
                return ir.atom_ast(a)
            return v.prim.emit([arg(("arg", i), a) for i, a in enumerate(v.args)],
                               {k: arg(("kw", k), a) for k, a in v.kwargs.items()},
                               v.static, {})
        value = ir.expr_ast(v)
        op = self.temp_values.get(v.id, v) if isinstance(v, ir.Name) else v
        if s.inplace_of is not None and isinstance(s.target, str) and \
                isinstance(op, ir.Call) and isinstance(op.prim, rules.Rule) and \
                not op.prim.inplace and not op.prim.returns_seq and \
                s.inplace_of not in self.seqs and s.target not in self.seqs and \
                self.act.kind(ir.Name(s.target)) == ANY:
            value = self.helper_call(runtime.updated, value, name_load(s.inplace_of))
        return value

    def primal_stmt(self, s: ir.Assign) -> ast.stmt:
        """The primal statement of assignment `s` (see `primal_value`)."""
        if isinstance(s.value, ir.Call) and isinstance(s.value.prim, rules.SetItemRule) or \
                ir.raises(s):
            return ir.assign_stmt_ast(s)
        return assign(s.target, self.primal_value(s))

    def new_name(self, base: str) -> str:
        """A name no other in the generated code has: `base`, then `base_1`, ... (`base1`,
        ... for a base that ends in `_`)."""
        if base.endswith("_") and base in self.taken:
            return ir.unique_name(base, self.taken, start=1)
        return ir.unique_name(base, self.taken)

    def d(self, name: str) -> str:
        """The derivative name of primal `name` (`x_dot` or `x_bar`)."""
        if name not in self.derived:
            self.derived[name] = self.new_name(f"{name}_{self.suffix}")
        return self.derived[name]

    def active(self, atom) -> bool:
        return isinstance(atom, ir.Name) and atom.id in self.act.active

    def is_float(self, atom) -> bool:
        return self.act.kind(atom) == FLOAT

    def zeros(self, atom) -> ast.expr:
        return ast.Constant(0.0) if self.is_float(atom) else \
            self.helper_call(runtime.zeros_like, ir.atom_ast(atom))

    def inject(self, base: str, obj) -> str:
        for n, o in self.injected.items():
            if o is obj:
                return n
        name = self.new_name(base)
        self.injected[name] = obj
        return name

    def callee_kinds(self, atoms) -> tuple:
        """The argument kinds a helper's derivative is built for: floats and ints as such,
        arrays of a known shape class as `any:k` with equal classes sharing k (and
        `any:k:n` when their number of dimensions n is known, so that the helper knows
        `x[0]` of a vector is a number, not a view), so the helper drops the broadcasting
        helpers its caller would; lists, tuples and objects as `seq`."""
        from .activity import SCALAR, SEQ, _ndim
        out, classes = [], []
        seqs, varied = self.act.seqs or (), self.act.varied or ()
        for a in atoms:
            if isinstance(a, ir.Name) and a.id in seqs and a.id in varied:
                out.append(SEQ)   # a list, tuple or object with a derivative: added item by item
                continue
            k = self.act.kind(a)
            cls = self.act.shape(a) if k == ANY and isinstance(a, ir.Name) and \
                a.id not in (self.act.seqs or ()) else None
            if type(cls) is tuple and cls[0] == "own":
                cls = None          # an argument's own class: not known an array (self)
            if cls is not None and cls != SCALAR:
                if cls not in classes:
                    classes.append(cls)
                n = _ndim(cls)
                k = f"{ANY}:{classes.index(cls)}" + ("" if n is None else f":{n}")
            out.append(k)
        return tuple(out)

    def callee_name(self, prim, suffix: str, wrt: tuple, kinds: tuple = ()) -> str:
        """The name of a helper's derivative: `helper_grad`, or `helper_grad_x_y` when the
        helper is differentiated with respect to only some of its parameters; calls with
        other argument kinds get a derivative (and a name) of their own."""
        import inspect
        try:
            params = list(inspect.signature(prim.func).parameters)
        except (TypeError, ValueError):
            params = []
        key = ("callee", prim.name, suffix, wrt, kinds)
        if key not in self.derived:
            base = f"{prim.name}_{suffix}"
            if params and len(wrt) < len(params):
                base += "_" + "_".join(params[i] for i in wrt if i < len(params))
            if self.avoid is not None and prim.func is not self.avoid[0]:
                self.taken |= self.avoid[1]
            self.derived[key] = self.new_name(base)
        return self.derived[key]

    def mark(self, s, out: list):
        if s.line != self.last_line and s.line in self.fn.source_lines:
            out.append(line_mark(s.line))
            self.last_line = s.line

    def active_rules(self, s: ir.Assign, bound: dict, table: dict, mode: str):
        """(parameter, atom, template) for each argument of `s`'s rule a derivative flows
        through, from the rule's `table` (jvp or vjp); a missing template is refused."""
        prim = s.value.prim
        for p in prim.diff_params:
            a = bound.get(p)
            if a is None or not self.active(a):
                continue
            tmpl = table.get(p)
            if tmpl is None:
                raise UnsupportedSyntaxError(f"{prim.label} has no {mode}-mode rule for "
                                             f"argument {p!r}", self.fn.filename, s.line)
            yield p, a, tmpl

    def template(self, tmpl: rules.Template, s: ir.Assign, extra: dict,
                 strip_bcast: bool = False, batched: bool = False) -> ast.expr:
        """Instantiate a rule template for statement `s` = `out = prim(...)`: substitute the
        placeholders, and drop broadcasting helpers that shape classes show are identities.
        `batched`: the tangents in `extra` are batched (see forward.py), so `bcast` widens
        them as `bbcast` does."""
        call_ = s.value
        bound = bound_args(call_)
        out = ir.Name(s.target)
        mapping = {p: ir.atom_ast(a) for p, a in bound.items()}
        mapping["out"] = name_load(s.target)
        if isinstance(call_.prim, (rules.IndexRule, rules.SetItemRule)):
            mapping["IDX"] = rules.index_ast(call_.static, [ir.atom_ast(a) for a in call_.args],
                                             False)
        mapping.update(extra)
        if call_.prim.kind in ("elementwise", "reduce"):
            # a ufunc or reduction of a list or tuple computes on np.asarray of it: so do
            # its derivative's templates (`2.0 * x` of a tuple is a TypeError)
            for p in call_.prim.diff_params:
                a = bound.get(p)
                if isinstance(a, ir.Name) and a.id in self.seqs:
                    for key in (p,) if batched else (p, f"{p}_dot"):
                        if key in mapping:
                            mapping[key] = _asarray(mapping[key])
        same = self.act.same_shape

        def atom(node):
            if isinstance(node, ast.Name):
                return out if node.id == "out" else bound.get(node.id)
            return None

        def identity(node, helper) -> bool:
            if helper is runtime.bcast:
                # the tangent's shape is that of the parameters it mentions
                params = [bound[n.id[:-4]] for n in ast.walk(node.args[0])
                          if isinstance(n, ast.Name) and n.id.endswith("_dot")
                          and n.id[:-4] in bound]
                widens_to_out = isinstance(node.args[1], ast.Name) and node.args[1].id == "out"
                return (strip_bcast and widens_to_out) or bool(
                    params and all(same(p, out) for p in params))
            like = atom(node.args[1])
            return like is not None and same(like, out)

        def build(node):
            cls = node.__class__
            if cls is ast.Name:
                new = mapping.get(node.id)
                return rules.clone(new) if isinstance(new, ast.AST) else \
                    ast.Name(id=new if new is not None else node.id, ctx=node.ctx)
            helper = _template_helper(node) if cls is ast.Call else None
            if helper in BROADCASTING and len(node.args) >= 2 and identity(node, helper):
                return build(node.args[0])
            if batched and helper is runtime.bcast:
                new = call("bbcast", *build(node.args))
                self.helper_calls[id(new)] = (new, runtime.bbcast)
                return new
            if cls is list:
                return [build(x) for x in node]
            if not isinstance(node, ast.AST) or cls in rules._CONTEXTS:
                return node
            new = cls.__new__(cls)
            d = new.__dict__
            for f in cls._fields:
                d[f] = build(getattr(node, f, None))
            if helper is not None:
                self.helper_calls[id(new)] = (new, helper)
            return new
        return build(tmpl.tree)


def _asarray(node: ast.expr) -> ast.expr:
    """`np.asarray(node)`."""
    return ast.Call(func=ast.Attribute(value=name_load("np"), attr="asarray", ctx=ast.Load()),
                    args=[node], keywords=[])


_TEMPLATE_HELPERS: dict = {}


def _template_helper(node: ast.Call):
    """The runtime helper a template's call `node` calls (its name resolved where generated
    code runs, once per template node), or None."""
    hit = _TEMPLATE_HELPERS.get(id(node))
    if hit is None or hit[0] is not node:
        func = node.func
        obj = rules.runtime_namespace().get(func.id) if func.__class__ is ast.Name else None
        hit = _TEMPLATE_HELPERS[id(node)] = (
            node, obj if getattr(obj, "__module__", None) == runtime.__name__ else None)
    return hit[1]


def seq_param(prim) -> str | None:
    """For a runtime helper whose result is a list when one argument is (the adjoint of an
    item of a sequence is a list of per-item adjoints: srcad's own code, at second order),
    that argument's name."""
    if isinstance(prim, rules.Rule):
        for func, param in ((runtime.unindex, "x"), (runtime.index_add, "acc")):
            if prim.key is func:
                return param
    return None


def sequences(fn: ir.Function, act: Activity) -> set:
    """The names that may hold a list or tuple (whose derivatives add item by item):
    activity's, plus the items unpacked from a value that the code then uses as sequences
    (indexes, unpacks, or hands to a helper of `seq_param` as that argument: a helper's
    derivative returns its value and its residuals as one tuple), and what those helpers
    make of a sequence."""
    out = set(act.seqs)
    unpacked, used = set(), set()
    for st in ir.walk(fn.body):
        if not isinstance(st, ir.Assign):
            continue
        v = st.value
        if isinstance(st.target, tuple):
            unpacked |= {t for t in st.target if act.kind(ir.Name(t)) not in (FLOAT, INT)}
            if isinstance(v, ir.Name):
                used.add(v.id)
        elif isinstance(v, ir.Call) and isinstance(v.prim, rules.IndexRule):
            used |= {v.args[0].id} if isinstance(v.args[0], ir.Name) else set()
        elif isinstance(v, ir.Call) and seq_param(v.prim):
            a = bound_args(v).get(seq_param(v.prim))
            used |= {a.id} if isinstance(a, ir.Name) else set()
    def reaches(v, out):
        if isinstance(v, ir.Call) and seq_param(v.prim):
            v = bound_args(v).get(seq_param(v.prim))
        return isinstance(v, ir.Name) and v.id in out
    return ir.grow(fn.body, out | (unpacked & used), reaches)


def sum_exprs(exprs: list) -> ast.expr:
    total = exprs[0]
    for e in exprs[1:]:
        total = ast.BinOp(left=total, op=ast.Add(), right=e)
    return total


def callee_args(s: ir.Assign, func, taken_err) -> list:
    """A user call's arguments in the callee's parameter order, defaults filled in."""
    import inspect
    call_ = s.value
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return list(call_.args)
    atoms = list(call_.args)
    for p in params[len(atoms):]:
        if p.name in call_.kwargs:
            atoms.append(call_.kwargs[p.name])
        elif p.default is not inspect.Parameter.empty and \
                isinstance(p.default, (int, float, str, bool, type(None), tuple)):
            atoms.append(ir.Const(p.default))
        else:
            raise taken_err(f"call of {call_.prim.name}(): pass argument {p.name!r} explicitly")
    return atoms
