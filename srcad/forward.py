"""Forward-mode pass: each primal statement followed by its tangent statement (`x_dot`).

Batch mode (`batched=True`) pushes several tangent directions through one pass: every
tangent carries a leading axis of `batch` directions (see runtime's batched tangents). A
rule's tangent batches as the rule declares (Rule.batch, Rule.jvp_batched); a rule that
declares nothing has its unbatched tangent mapped over the directions (runtime.bmap)."""
from __future__ import annotations

import ast

from . import ir, rules, runtime
from .activity import Activity, diff_args
from .emit import Emitted, Emitter, assign, bound_params, call, callee_args, name_load, sum_exprs
from .errors import UnsupportedSyntaxError
from .lower import PACK_LIST, PACK_TUPLE, UserCall
from .rules import SetItemRule
from .rules.containers import SEQ_CONCAT
from .rules.core import LIST_APPEND


def forward(fn: ir.Function, act: Activity, wrt: list, build_callee,
            batched: bool = False, avoid=None) -> Emitted:
    """The tangent function: `f_jvp(*params, *wrt_dots)` returns `(out, out_dot)`; batched,
    `f_jvp(*params, *wrt_dots, batch)` takes and returns tangents of `batch` directions."""
    em = _Forward(fn, act, build_callee, batched)
    em.avoid = avoid
    return Emitted([em.function(wrt)], em.injected)


class _Forward(Emitter):
    suffix = "dot"

    def __init__(self, fn: ir.Function, act: Activity, build_callee, batched: bool = False):
        super().__init__(fn, act, build_callee)
        self.batched = batched
        self.batch = self.new_name("batch") if batched else None     # the directions' count
        # arrays updated in place (`y[i] = v`): their tangents are updated in place too, so
        # each is an array of its own (never the caller's tangent, nor another's view)
        self.buffers = {s.target for s in ir.walk(fn.body) if isinstance(s, ir.Assign)
                        and isinstance(s.value, ir.Call) and isinstance(s.value.prim, SetItemRule)}

    def function(self, wrt):
        dots = [self.d(p) for p in wrt]
        body = [assign(self.d(p), self.zeros(ir.Name(p))) for p in self.fn.params
                if p in self.act.active and p not in wrt]
        body += [self.own(p) for p in wrt if p in self.buffers and p in self.act.active]
        body += self.block(self.fn.body)
        extra = [self.batch] if self.batched else []
        args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in
                                                   self.fn.params + dots + extra],
                             vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
        doc = (f"Forward-mode derivative of {self.fn.name} ({self.fn.filename}:{self.fn.firstline})"
               f": returns (out, out_dot), the value and its tangent along "
               f"{', '.join(dots)}" + (f" ({self.batch} directions each, on a leading axis)"
                                       if self.batched else "") + ".")
        tree = ast.FunctionDef(name=f"{self.fn.name}_jvp", args=args,
                               body=[ast.Expr(ast.Constant(doc))] + body, decorator_list=[],
                               returns=None, type_comment=None, type_params=[])
        return tree

    def block(self, stmts) -> list:
        out = []
        for s in stmts:
            self.mark(s, out)
            out += self.stmt(s)
        return out or [ast.Pass()]

    def stmt(self, s) -> list:
        if isinstance(s, ir.Assign):
            return self.assign_stmt(s)
        if isinstance(s, ir.If):
            return [ast.If(test=ir.atom_ast(s.test), body=self.block(s.body),
                           orelse=self.block(s.orelse) if s.orelse else [])]
        if isinstance(s, ir.For):
            return [ast.For(target=ir.target_ast(s.target), iter=ir.atom_ast(s.iter),
                            body=self.block(s.body), orelse=[], lineno=0)]
        if isinstance(s, ir.While):
            return [ast.While(test=ast.Constant(True), body=self.block(s.body), orelse=[])]
        if isinstance(s, ir.Break):
            return [ast.Break()]
        if isinstance(s, ir.Continue):
            return [ast.Continue()]
        if isinstance(s, ir.Return):
            tangent = name_load(self.d(s.value.id)) if self.active(s.value) else self.zeros(s.value)
            return [ast.Return(ast.Tuple(elts=[ir.atom_ast(s.value), tangent], ctx=ast.Load()))]
        raise AssertionError(s)

    def zeros(self, atom) -> ast.expr:
        """A zero tangent; batched, of every direction (0.0 stands for a zero of any shape
        in every direction, as unbatched)."""
        if self.batched and not self.is_float(atom):
            return self.helper_call(runtime.bzeros, ir.atom_ast(atom), name_load(self.batch))
        return super().zeros(atom)

    def own(self, name: str) -> ast.stmt:
        """`name_dot = np.copy(name_dot)`: the tangent of an array updated in place, made an
        array of its own."""
        copy = ast.Call(func=ast.Attribute(value=name_load("np"), attr="copy", ctx=ast.Load()),
                        args=[name_load(self.d(name))], keywords=[])
        return assign(self.d(name), copy)

    def assign_stmt(self, s: ir.Assign) -> list:
        out = self.assign_tangent(s)
        v = s.value
        if isinstance(v, ir.Call) and isinstance(v.prim, SetItemRule):
            return out
        fresh = isinstance(v, ir.Call) and isinstance(v.prim, rules.Rule) and \
            not any(self.active(a) for a in diff_args(v)) or \
            not isinstance(v, ir.Call) and not self.active(v)      # zeros_like(y), 0.0: new
        # (a zero tangent is new too: np.copy would make 0.0, the zero of any shape and of
        # every direction, a 0-d array, which a batched tangent's direction k cannot index)
        out += [self.own(t) for t in ir.targets(s)
                if t in self.buffers and t in self.act.active and not fresh]
        return out

    def assign_tangent(self, s: ir.Assign) -> list:
        primal = [self.primal_stmt(s)]
        targets = ir.targets(s)
        if not any(t in self.act.active for t in targets):
            return primal
        v = s.value
        if isinstance(s.target, tuple):
            if self.active(v):
                dot = name_load(self.d(v.id))
                if self.batched:        # an array's tangent has the batch axis first
                    dot = call("bunpack", dot, ast.Constant(len(targets)))
                return primal + [assign(tuple(self.d(t) for t in targets), dot)]
            return primal + [assign(self.d(t), self.zeros(ir.Name(t))) for t in targets
                             if t in self.act.active]
        target = s.target
        if not isinstance(v, ir.Call):
            value = name_load(self.d(v.id)) if self.active(v) else self.zeros(ir.Name(target))
            return primal + [assign(self.d(target), value)]
        prim = v.prim
        if isinstance(prim, UserCall):
            return self.user_call(s)
        if prim is PACK_TUPLE or prim is PACK_LIST:
            elts = [name_load(self.d(a.id)) if self.active(a) else self.zeros(a) for a in v.args]
            cls = ast.Tuple if prim is PACK_TUPLE else ast.List
            return primal + [assign(self.d(target), cls(elts=elts, ctx=ast.Load()))]
        if prim is LIST_APPEND:
            xs, x = v.args
            head = name_load(self.d(xs.id)) if self.active(xs) else self.zeros(xs)
            tail = name_load(self.d(x.id)) if self.active(x) else self.zeros(x)
            value = ast.List(elts=[ast.Starred(value=head, ctx=ast.Load()), tail],
                             ctx=ast.Load())
            return primal + [assign(self.d(target), value)]
        if prim is SEQ_CONCAT and not self.batched:
            # xs + ys: the tangents concatenated (or added, for arrays), not each placed in
            # a list of zeros as long as the result (quadratic in a loop)
            xs, ys = v.args
            head = name_load(self.d(xs.id)) if self.active(xs) else ast.Constant(0.0)
            tail = name_load(self.d(ys.id)) if self.active(ys) else ast.Constant(0.0)
            return primal + [assign(self.d(target), self.helper_call(
                runtime.concat_tangent, head, tail, ir.atom_ast(xs), ir.atom_ast(ys)))]
        if isinstance(prim, SetItemRule):
            # y[i] = v: y_dot[i] = v_dot, in place (y_dot is y's own: see `own`)
            val = v.args[1]
            table = prim.jvp_batched if self.batched else prim.jvp
            dot = self.template(table["v"], s, {"v_dot": name_load(self.d(val.id))}) \
                if self.active(val) else ast.Constant(0.0)
            args = [name_load(self.d(target)), dot] + [ir.atom_ast(a) for a in v.args[2:]]
            if self.batched:
                return primal + [prim.emit_batched_stmt(args, v.static, name_load(target))]
            return primal + [prim.emit_stmt(args, v.static)]
        active_args = [a for a in diff_args(v) if self.active(a)]
        if not active_args:
            return primal + [assign(self.d(target), self.zeros(ir.Name(target)))]
        if self.batched:
            return primal + [assign(self.d(target), self.batched_tangent(s))]
        dots = {a.id: name_load(self.d(a.id)) for a in active_args}
        return primal + [assign(self.d(target), self.tangent(s, dots))]

    def tangent(self, s: ir.Assign, dots: dict) -> ast.expr:
        """The (unbatched) tangent of rule call `s`, its active arguments' tangents `dots`
        (by name)."""
        v, target = s.value, s.target
        prim = v.prim
        bound = bound_params(v)
        if prim.jvp_shared is not None:          # every argument's tangent in one call
            shared = {f"{p}_dot": dots[bound[p].id] if p in bound and
                      self.active(bound[p]) else ast.Constant(0.0) for p, _ in prim.params}
            return self.template(prim.jvp_shared, s, shared)
        terms = []
        all_active = all(self.active(bound[p]) for p in prim.diff_params if p in bound)
        for p, a, tmpl in self.active_rules(s, bound, prim.jvp, "forward"):
            terms.append(self.template(tmpl, s, {f"{p}_dot": dots[a.id]},
                                       strip_bcast=all_active))
        return self.total(target, terms)

    def total(self, target: str, terms: list) -> ast.expr:
        if target in self.seqs and len(terms) > 1:      # lists: add item by item
            total = terms[0]
            for t in terms[1:]:
                total = call("badd_items" if self.batched else "add_items", total, t)
            return total
        return sum_exprs(terms)

    def batched_tangent(self, s: ir.Assign) -> ast.expr:
        """The batched tangent of rule call `s`: each active argument's as its rule
        declares (its own batched template, or its elementwise template over tangents
        lifted to the result's rank); if one declares neither, the unbatched tangent mapped
        over the directions."""
        v, target = s.value, s.target
        prim = v.prim
        bound = bound_params(v)
        batch = name_load(self.batch)
        all_active = all(self.active(bound[p]) for p in prim.diff_params if p in bound)
        active = list(self.active_rules(s, bound, prim.jvp, "forward")) \
            if prim.jvp_shared is None else None
        if active is not None and all(p in prim.jvp_batched or prim.batch for p, _, _ in active):
            terms = []
            for p, a, tmpl in active:
                dot = name_load(self.d(a.id))
                if p in prim.jvp_batched:
                    terms.append(self.template(prim.jvp_batched[p], s,
                                               {f"{p}_dot": dot, "BATCH": batch}, batched=True))
                    continue
                if a.id in self.seqs:     # a list's tangent: one array, as np.asarray makes
                    dot = self.helper_call(runtime.basarray, dot, ir.atom_ast(a), batch)
                # lifted also for a float result: a tangent 0.0 becomes batched zeros (0.0
                # times a NumPy scalar would be a NumPy scalar, of no batch)
                dot = self.helper_call(runtime.blift, dot, name_load(target), batch)
                terms.append(self.template(tmpl, s, {f"{p}_dot": dot}, strip_bcast=all_active,
                                           batched=True))
            return self.total(target, terms)
        # per direction: bmap(lambda a_k, ...: <the unbatched tangent>, batch, a_dot, ...)
        atoms = list(dict.fromkeys(a.id for a in diff_args(v) if self.active(a)))
        names = [self.new_name(f"{a}_k") for a in atoms]
        body = self.tangent(s, {a: name_load(n) for a, n in zip(atoms, names)})
        lam = ast.Lambda(args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=n) for n in names],
                                            vararg=None, kwonlyargs=[], kw_defaults=[],
                                            kwarg=None, defaults=[]), body=body)
        return self.helper_call(runtime.bmap, lam, batch, *[name_load(self.d(a)) for a in atoms])

    def user_call(self, s: ir.Assign) -> list:
        v = s.value
        err = lambda m: UnsupportedSyntaxError(m, self.fn.filename, s.line)  # noqa: E731
        atoms = callee_args(s, v.prim.func, err)
        wrt = tuple(i for i, a in enumerate(atoms) if self.active(a))
        kinds = self.callee_kinds(atoms)
        name = self.callee_name(v.prim, "jvp", wrt, kinds)
        if name not in self.injected:
            self.injected[name] = self.build_callee(v.prim.func,
                                                    "batched" if self.batched else "forward",
                                                    wrt, kinds, s.line, name)
        args = [ir.atom_ast(a) for a in atoms] + [name_load(self.d(atoms[i].id)) for i in wrt]
        args += [name_load(self.batch)] if self.batched else []
        return [assign((s.target, self.d(s.target)), call(name, *args))]

