"""Random well-conditioned programs of the kind srcad documents as supported.

`generate(rng)` returns a `Program`: the text of a module defining `f` (and maybe helpers)
plus the kinds of `f`'s parameters. Values stay bounded by construction (tanh/sin/cos,
division only by `c + tanh(...)` with c > 1, logs and square roots of `1 + e*e`, loop counts
at most 4); whatever still overflows is rejected by the oracle, never reported as a bug.
Every comparison is a plain `a OP b` so the oracle can instrument it for branch stability.
"""
from __future__ import annotations

import dataclasses
import os
import random

SCALAR = ("s",)

# more kinds of statement users write (buffers filled entry by entry, dicts of parameters,
# comprehensions in sum and np.array, helpers with a defaulted parameter passed by keyword):
# off by default, so that a seed:index pair keeps naming the same program
EXTRA = os.environ.get("SRCAD_FUZZ_EXTRA", "") not in ("", "0")

HEADER = "import numpy as np\n\n\n"


def post(e):
    """`e` ready for a postfix operator (`[i]`, `.T`): parenthesised unless a plain name."""
    return e if e.isidentifier() else f"({e})"


def vec(n):
    """The kind of a vector of length `n`."""
    return ("v", n)


def mat(r, c):
    """The kind of an `r` by `c` matrix."""
    return ("m", r, c)


@dataclasses.dataclass
class Program:
    """A generated module: `source` defines `f`, whose parameters have kinds `params`."""
    source: str
    params: list            # [(name, kind)], kind SCALAR / vec(n) / mat(r, c)


class _Scope:
    """The variables visible in the function being generated, with their kinds.

    `lists` maps list names to their element kind; `frozen` lists are being iterated
    over (appending to them would not terminate); `ints` are loop counters.
    """

    def __init__(self, variables, helpers):
        self.vars = dict(variables)
        self.lists: dict = {}
        self.frozen: set = set()
        self.ints: list = []
        self.helpers = helpers          # [(name, param kinds, result kinds or None, mutates)]
        self.nested: list = []          # nested defs: (name, param kind, result kind)
        self.readonly: set = set()      # loop variables: never assigned in their loop
        self.early_return = False       # whether `return <scalar>` may appear mid-body

    def child(self):
        s = _Scope(self.vars, self.helpers)
        s.lists = dict(self.lists)
        s.frozen = set(self.frozen)
        s.ints = list(self.ints)
        s.nested = list(self.nested)
        s.readonly = set(self.readonly)
        s.early_return = self.early_return
        return s

    def targets(self, kind=None):
        """Names that may be assigned (of `kind` if given)."""
        return sorted(n for n, k in self.vars.items()
                      if n not in self.readonly and (kind is None or k == kind))

    def of_kind(self, kind):
        return [n for n, k in self.vars.items() if k == kind]


CONSTS = ("0.5", "1.5", "-0.25", "2.0", "0.3", "-1.2", "0.75", "3.0")
UNARY = ("np.sin({})", "np.cos({})", "np.tanh({})", "np.exp(np.sin({}))",
         "np.exp(np.tanh({}))", "np.log(1.0 + {0} * {0})", "np.sqrt(1.0 + {0} * {0})",
         "{} ** 2", "-{}", "np.arctan({})", "np.square(np.tanh({}))")
CMP = (">", "<", ">=", "<=")


class Generator:
    """Draws one program; `rng` is a `random.Random`, so a seed reproduces it exactly."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.counter = 0
        self.lines: list = []
        self.keywords: set = set()      # (EXTRA) helpers with a defaulted `scale` parameter

    # ------------------------------------------------------------ helpers
    def fresh(self, prefix):
        self.counter += 1
        return f"{prefix}{self.counter}"

    def chance(self, p):
        return self.rng.random() < p

    def const(self):
        return self.rng.choice(CONSTS)

    def some_kind(self, scope):
        """A kind worth computing: mostly the kinds the scope already has."""
        kinds = sorted(set(scope.vars.values()))
        if kinds and self.chance(0.8):
            return self.rng.choice(kinds)
        return self.rng.choice([SCALAR, SCALAR, vec(3), mat(2, 3)])

    # ------------------------------------------------------------ expressions
    def expr(self, kind, scope, depth=0):
        """An expression of `kind` over the variables of `scope`."""
        if depth >= 3 or self.chance(0.25 + 0.2 * depth):
            return self.leaf(kind, scope)
        if kind == SCALAR:
            return self.scalar(scope, depth)
        if kind[0] == "v":
            return self.vector(kind[1], scope, depth)
        return self.matrix(kind[1], kind[2], scope, depth)

    def leaf(self, kind, scope):
        names = scope.of_kind(kind)
        if names and self.chance(0.85):
            return self.rng.choice(names)
        if kind == SCALAR:
            if scope.ints and self.chance(0.3):
                return f"({self.rng.choice(scope.ints)} * {self.const()})"
            return self.const()
        if kind[0] == "v":
            return self.vec_from_scalars(kind[1], scope)
        return f"(np.ones(({kind[1]}, {kind[2]})) * {self.leaf(SCALAR, scope)})"

    def vec_from_scalars(self, n, scope):
        choice = self.rng.random()
        if choice < 0.4:
            return f"(np.ones({n}) * {self.leaf(SCALAR, scope)})"
        if choice < 0.7:
            return f"(np.linspace(-1.0, 1.0, {n}) * {self.leaf(SCALAR, scope)})"
        return "np.array([" + ", ".join(self.leaf(SCALAR, scope) for _ in range(n)) + "])"

    def unary(self, arg):
        return self.rng.choice(UNARY).format(f"({arg})" if " " in arg else arg)

    def divide(self, num, den):
        """`num` over something bounded away from zero."""
        form = self.rng.choice(("(1.5 + np.tanh({}))", "(2.0 + np.cos({}))",
                                "(1.0 + {0} * {0})"))
        return f"({num}) / " + form.format(f"({den})" if " " in den else den)

    def scalar(self, scope, depth):
        d = depth + 1
        r = self.rng.random()
        if r < 0.25:
            op = self.rng.choice(("+", "-", "*"))
            return f"({self.expr(SCALAR, scope, d)} {op} {self.expr(SCALAR, scope, d)})"
        if r < 0.42:
            return self.unary(self.expr(SCALAR, scope, d))
        if r < 0.48:
            return self.divide(self.expr(SCALAR, scope, d), self.expr(SCALAR, scope, d))
        if r < 0.66:
            return self.reduction(scope, d)
        if r < 0.72:
            return (f"({self.expr(SCALAR, scope, d)} if {self.cond(scope, d)} "
                    f"else {self.expr(SCALAR, scope, d)})")
        if r < 0.80 and scope.lists:
            xs = self.rng.choice(sorted(scope.lists))
            if scope.lists[xs] == SCALAR:
                return self.rng.choice((f"sum({xs})", f"{xs}[0]", f"{xs}[-1]",
                                        f"{xs}[len({xs}) - 1]"))
            return f"np.sum({xs}[-1])"
        if r < 0.90:
            call = self.call(SCALAR, scope, d)
            if call:
                return call
        return self.leaf(SCALAR, scope)

    def reduction(self, scope, d):
        kinds = [k for k in set(scope.vars.values()) if k != SCALAR]
        if not kinds:
            kinds = [vec(3)]
        kind = self.rng.choice(sorted(kinds))
        a = post(self.expr(kind, scope, d))
        if kind[0] == "v":
            forms = [f"np.sum({a})", f"np.mean({a})", f"{a}[0]", f"{a}[-1]",
                     f"np.dot({a}, {self.expr(kind, scope, d)})",
                     f"({a} @ {self.expr(kind, scope, d)})", f"np.prod(np.tanh({a}))"]
        else:
            forms = [f"np.sum({a})", f"np.mean({a})", f"{a}[0, -1]", f"np.trace({a} @ {a}.T)",
                     f"np.sum(np.mean({a}, axis=0) ** 2)", f"np.prod(np.sum({a}, axis=-1))",
                     f"np.sum(np.sum({a}, axis=1, keepdims=True) * {a})",
                     f"np.sum(np.cumsum({a}, axis=1)[:, -1])"]
        return self.rng.choice(forms)

    def vector(self, n, scope, depth):
        d = depth + 1
        v = vec(n)
        r = self.rng.random()
        if r < 0.25:
            op = self.rng.choice(("+", "-", "*"))
            other = self.expr(v if self.chance(0.6) else SCALAR, scope, d)
            return f"({self.expr(v, scope, d)} {op} {other})"
        if r < 0.42:
            return self.unary(self.expr(v, scope, d))
        if r < 0.48:
            return self.divide(self.expr(v, scope, d), self.expr(v, scope, d))
        if r < 0.56:
            a = post(self.expr(vec(n + 1), scope, d)) if n < 4 else None
            if a:
                return self.rng.choice((f"{a}[1:]", f"{a}[:-1]", f"np.cumsum({a})[1:]"))
        if r < 0.70:
            mats = [k for k in set(scope.vars.values()) if k[0] == "m" and n in k[1:]]
            if mats:
                m = self.rng.choice(sorted(mats))
                a = post(self.expr(m, scope, d))
                if m[1] == n and self.chance(0.5):
                    return self.rng.choice((f"np.sum({a}, axis=1)", f"np.mean({a}, axis=-1)",
                                            f"({a} @ {self.expr(vec(m[2]), scope, d)})"))
                if m[2] == n:
                    return self.rng.choice((f"np.sum({a}, axis=0)", f"{a}[0]", f"{a}[-1, :]",
                                            f"({self.expr(vec(m[1]), scope, d)} @ {a})"))
        if r < 0.78:
            a = post(self.expr(v, scope, d))
            return self.rng.choice((f"{a}[::-1]", f"np.cumsum({a})", f"np.roll({a}, 1)",
                                    f"np.concatenate([{a}[1:], {a}[:1]])"))
        if r < 0.86:
            return (f"np.where({self.expr(v, scope, d)} > 0.0, {self.expr(v, scope, d)}, "
                    f"{self.expr(v, scope, d)})")
        if r < 0.93:
            call = self.call(v, scope, d)
            if call:
                return call
        return self.leaf(v, scope)

    def matrix(self, rows, cols, scope, depth):
        d = depth + 1
        m = mat(rows, cols)
        r = self.rng.random()
        if r < 0.3:
            op = self.rng.choice(("+", "-", "*"))
            other = self.expr(m if self.chance(0.6) else SCALAR, scope, d)
            return f"({self.expr(m, scope, d)} {op} {other})"
        if r < 0.5:
            return self.unary(self.expr(m, scope, d))
        if r < 0.6:
            return f"{post(self.expr(mat(cols, rows), scope, d))}.T"
        if r < 0.75:
            return f"np.outer({self.expr(vec(rows), scope, d)}, {self.expr(vec(cols), scope, d)})"
        if r < 0.85:
            k = self.rng.choice((2, 3))
            return f"({self.expr(mat(rows, k), scope, d)} @ {self.expr(mat(k, cols), scope, d)})"
        return self.leaf(m, scope)

    def cond(self, scope, depth=0):
        """A boolean test: comparisons combined with and/or/not."""
        r = self.rng.random()
        if depth < 2 and r < 0.15:
            op = self.rng.choice(("and", "or"))
            return f"({self.cond(scope, depth + 1)} {op} {self.cond(scope, depth + 1)})"
        if depth < 2 and r < 0.22:
            return f"not {self.cond(scope, depth + 1)}"
        if scope.ints and r < 0.35:
            i = self.rng.choice(scope.ints)
            other = self.rng.choice(("1", "2", self.leaf(SCALAR, scope)))
            return f"{i} {self.rng.choice(CMP + ('==',))} {other}"
        a = self.expr(SCALAR, scope, depth + 1)
        b = self.const() if self.chance(0.6) else self.expr(SCALAR, scope, depth + 1)
        return f"{a} {self.rng.choice(CMP)} {b}"

    def call(self, kind, scope, depth):
        """A call of a helper or nested def returning `kind`, or None if there is none."""
        options = [(n, ps, res) for n, ps, res, mutates in scope.helpers
                   if res and not mutates and kind in res]
        options += [(n, (p,), (res,)) for n, p, res in scope.nested if res == kind]
        if not options:
            return None
        name, params, res = self.rng.choice(options)
        args = ", ".join(self.expr(p, scope, depth + 1) for p in params)
        args += self.keyword(name, scope)
        if len(res) == 1:
            return f"{name}({args})"
        return f"{name}({args})[{res.index(kind)}]"

    # ------------------------------------------------------------ statements
    def emit(self, indent, text):
        self.lines.append("    " * indent + text)

    def block(self, scope, indent, n, depth, in_loop=False):
        """`n` statements (at least one line) at `indent`."""
        start = len(self.lines)
        for _ in range(n):
            self.stmt(scope, indent, depth, in_loop)
        if in_loop and self.chance(0.15):
            self.emit(indent, f"if {self.cond(scope)}:")
            self.emit(indent + 1, self.rng.choice(("break", "continue")))
        if len(self.lines) == start:
            self.emit(indent, "pass")

    def stmt(self, scope, indent, depth, in_loop):
        if EXTRA and self.chance(0.15):
            return self.extra_stmt(scope, indent, depth)
        r = self.rng.random()
        compound = depth < 2
        if r < 0.22:
            return self.assign(scope, indent)
        if r < 0.32:
            return self.augassign(scope, indent)
        if r < 0.40:
            return self.tuple_assign(scope, indent)
        if r < 0.48 and compound:
            return self.for_range(scope, indent, depth)
        if r < 0.54 and compound:
            return self.for_iter(scope, indent, depth)
        if r < 0.63 and compound:
            return self.if_stmt(scope, indent, depth, in_loop)
        if r < 0.67 and compound:
            return self.while_stmt(scope, indent, depth)
        if r < 0.74:
            return self.list_stmt(scope, indent)
        if r < 0.80:
            return self.helper_call(scope, indent)
        if r < 0.83 and depth == 0:
            return self.nested_def(scope, indent)
        if r < 0.86:
            return self.alias(scope, indent)
        if r < 0.89 and in_loop:
            self.emit(indent, f"if {self.cond(scope)}:")
            self.emit(indent + 1, self.rng.choice(("break", "continue")))
            return
        if r < 0.92 and depth > 0 and scope.early_return:
            self.emit(indent, f"if {self.cond(scope)}:")
            self.emit(indent + 1, f"return {self.result(scope)}")
            return
        return self.assign(scope, indent)

    def extra_stmt(self, scope, indent, depth):
        """(EXTRA) a buffer filled entry by entry in a loop (`b[i] = e`, `b[i] += e`), a
        dict of parameters, or a list comprehension summed or made an array."""
        r = self.rng.random()
        j = self.fresh("j")
        inner = scope.child()
        inner.ints.append(j)
        n = self.rng.randint(2, 4)
        if r < 0.5 and depth < 2:
            b = self.fresh("b")
            self.emit(indent, f"{b} = np.zeros({n})" if self.chance(0.6) else
                      f"{b} = np.ones({n}) * {self.leaf(SCALAR, scope)}")
            self.emit(indent, f"for {j} in range({n}):")
            op = self.rng.choice(("=", "+=", "*="))
            rhs = self.expr(SCALAR, inner, 1)
            if op == "*=":
                rhs = f"np.tanh({rhs})"
            self.emit(indent + 1, f"{b}[{j}] {op} {rhs}")
            if self.chance(0.3):
                self.emit(indent + 1, f"{b}[{j}] += {b}[{j} - 1] * {self.const()}")
            scope.vars[b] = vec(n)
        elif r < 0.62:
            # a dict of parameters, read by key and over its keys
            d = self.fresh("d")
            kind = self.some_kind(scope)
            self.emit(indent, f'{d} = {{"w": {self.expr(kind, scope, 1)}, '
                              f'"c": {self.expr(SCALAR, scope, 1)}}}')
            t = self.fresh({"s": "s", "v": "v", "m": "m"}[kind[0]])
            self.emit(indent, f'{t} = {d}["w"] * np.tanh({d}["c"])')
            scope.vars[t] = kind
            if self.chance(0.5):
                s_ = self.fresh("s")
                self.emit(indent, f"{s_} = sum([np.sum({d}[k]) for k in {d}])")
                scope.vars[s_] = SCALAR
        elif r < 0.8:
            s_ = self.fresh("s")
            self.emit(indent, f"{s_} = sum([{self.expr(SCALAR, inner, 1)} for {j} in "
                              f"range({n})])")
            scope.vars[s_] = SCALAR
        else:
            v = self.fresh("v")
            self.emit(indent, f"{v} = np.array([{self.expr(SCALAR, inner, 1)} for {j} in "
                              f"range({n})])")
            scope.vars[v] = vec(n)

    def assign(self, scope, indent):
        if scope.targets() and self.chance(0.4):
            name = self.rng.choice(scope.targets())
            kind = scope.vars[name]
        else:
            kind = self.some_kind(scope)
            name = self.fresh({"s": "s", "v": "v", "m": "m"}[kind[0]])
        self.emit(indent, f"{name} = {self.expr(kind, scope)}")
        scope.vars[name] = kind

    def augassign(self, scope, indent):
        if not scope.targets():
            return self.assign(scope, indent)
        name = self.rng.choice(scope.targets())
        kind = scope.vars[name]
        op = self.rng.choice(("+=", "-=", "*="))
        rhs = self.expr(kind if self.chance(0.6) else SCALAR, scope, 1)
        if op == "*=":
            rhs = f"np.tanh({rhs})" if self.chance(0.7) else self.const()
        self.emit(indent, f"{name} {op} {rhs}")

    def tuple_assign(self, scope, indent):
        kinds = [k for k in set(scope.vars.values()) if len(scope.targets(k)) >= 2]
        if not kinds:
            return self.assign(scope, indent)
        kind = self.rng.choice(sorted(kinds))
        names = scope.targets(kind)
        self.rng.shuffle(names)
        r = self.rng.random()
        if r < 0.35 or len(names) < 3:
            a, b = names[:2]
            if self.chance(0.5):
                self.emit(indent, f"{a}, {b} = {b}, {a}")
            else:
                self.emit(indent, f"{a}, {b} = {b}, {self.expr(kind, scope, 1)}")
        else:
            a, b, c = names[:3]
            self.emit(indent, f"{a}, {b}, {c} = {b}, {c}, {a}")

    def for_range(self, scope, indent, depth):
        i = self.fresh("i")
        k = self.rng.randint(1, 4)
        rng = f"range({k})" if self.chance(0.7) else f"range(1, {k + 1})"
        self.emit(indent, f"for {i} in {rng}:")
        inner = scope.child()
        inner.ints.append(i)
        self.block(inner, indent + 1, self.rng.randint(1, 3), depth + 1, in_loop=True)
        self.merge(scope, inner)

    def for_iter(self, scope, indent, depth):
        vecs = [n for n, k in scope.vars.items() if k[0] == "v"]
        lists = [n for n, k in scope.lists.items() if k == SCALAR]
        r = self.fresh("r")
        inner = scope.child()
        if lists and self.chance(0.3):
            xs = self.rng.choice(lists)
            self.emit(indent, f"for {r} in {xs}:")
            inner.frozen.add(xs)
        elif vecs:
            t = self.rng.choice(vecs)
            self.emit(indent, f"for {r} in {t}:")
            if self.chance(0.4) and t not in scope.readonly:   # rebinds what it iterates
                inner.vars[r] = SCALAR
                self.emit(indent + 1, f"{t} = {self.expr(scope.vars[t], inner, 1)}")
        else:
            return self.for_range(scope, indent, depth)
        inner.vars[r] = SCALAR
        inner.readonly.add(r)
        self.block(inner, indent + 1, self.rng.randint(1, 2), depth + 1, in_loop=True)
        inner.vars.pop(r)
        self.merge(scope, inner)

    def while_stmt(self, scope, indent, depth):
        n = self.fresh("n")
        self.emit(indent, f"{n} = 0")
        bound = self.rng.randint(1, 4)
        test = f"{n} < {bound}"
        if self.chance(0.3):
            test = f"{test} {self.rng.choice(('and', 'or'))} {self.cond(scope, 1)}"
            if " or " in test:
                test = f"{n} < {bound + 1} and ({test})"
        self.emit(indent, f"while {test}:")
        self.emit(indent + 1, f"{n} = {n} + 1")
        inner = scope.child()
        inner.ints.append(n)
        self.block(inner, indent + 1, self.rng.randint(1, 2), depth + 1, in_loop=True)
        self.merge(scope, inner)

    def if_stmt(self, scope, indent, depth, in_loop):
        self.emit(indent, f"if {self.cond(scope)}:")
        arms = [scope.child()]
        self.block(arms[0], indent + 1, self.rng.randint(1, 2), depth + 1, in_loop)
        while self.chance(0.3):
            self.emit(indent, f"elif {self.cond(scope)}:")
            arms.append(scope.child())
            self.block(arms[-1], indent + 1, self.rng.randint(1, 2), depth + 1, in_loop)
        if self.chance(0.6):
            self.emit(indent, "else:")
            arms.append(scope.child())
            self.block(arms[-1], indent + 1, self.rng.randint(1, 2), depth + 1, in_loop)
        for arm in arms:                # names assigned in one arm only stay unbound
            for name in arm.vars:
                if name in scope.vars and arm.vars[name] != scope.vars[name]:
                    scope.vars.pop(name)

    def merge(self, scope, inner):
        """After a loop body that may not run: drop names whose kind it changed."""
        for name in list(scope.vars):
            if inner.vars.get(name) != scope.vars[name]:
                scope.vars.pop(name)

    def list_stmt(self, scope, indent):
        lists = [xs for xs in scope.lists if xs not in scope.frozen]
        if lists and self.chance(0.7):
            xs = self.rng.choice(sorted(lists))
            self.emit(indent, f"{xs}.append({self.expr(scope.lists[xs], scope, 1)})")
            return
        if indent != 1:                 # new lists at the top level only: always non-empty
            return self.assign(scope, indent)
        xs = self.fresh("xs")
        kind = SCALAR if self.chance(0.8) else vec(3)
        if self.chance(0.5):
            self.emit(indent, f"{xs} = []")
            self.emit(indent, f"{xs}.append({self.expr(kind, scope, 1)})")
        else:
            self.emit(indent, f"{xs} = [{self.expr(kind, scope, 1)}]")
        scope.lists[xs] = kind

    def helper_call(self, scope, indent):
        calls = [h for h in scope.helpers if (h[2] and len(h[2]) > 1) or h[3]]
        if not calls:
            return self.assign(scope, indent)
        name, params, res, mutates = self.rng.choice(calls)
        args = []
        for p in params:
            if p == "list":
                lists = [xs for xs, k in scope.lists.items()
                         if k == SCALAR and xs not in scope.frozen]
                if not lists:
                    return self.assign(scope, indent)
                args.append(self.rng.choice(lists))
            elif p[0] != "s" and mutates:
                names = scope.of_kind(p)
                if not names:
                    return self.assign(scope, indent)
                args.append(self.rng.choice(names))
            else:
                args.append(self.expr(p, scope, 1))
        call = f"{name}({', '.join(args)}{self.keyword(name, scope)})"
        if not res:
            self.emit(indent, call)
            return
        targets = [self.fresh({"s": "p", "v": "u", "m": "w"}[k[0]]) for k in res]
        self.emit(indent, f"{', '.join(targets)} = {call}")
        scope.vars.update(zip(targets, res))

    def keyword(self, name, scope) -> str:
        """(EXTRA) `, scale=e` for a helper with that default parameter, or nothing (its
        default)."""
        if name in self.keywords and self.chance(0.5):
            return f", scale={self.expr(SCALAR, scope, 2)}"
        return ""

    def nested_def(self, scope, indent):
        g = self.fresh("g")
        kind = self.some_kind(scope)
        res = kind if self.chance(0.7) else SCALAR
        self.emit(indent, f"def {g}(u):")
        inner = scope.child()
        inner.vars["u"] = kind
        inner.lists = {}
        if self.chance(0.4):
            t = self.fresh("t")
            self.emit(indent + 1, f"{t} = {self.expr(kind, inner, 1)}")
            inner.vars[t] = kind
        self.emit(indent + 1, f"return {self.expr(res, inner)}")
        scope.nested.append((g, kind, res))

    def alias(self, scope, indent):
        arrays = [n for n, k in scope.vars.items() if k != SCALAR]
        if not arrays:
            return self.assign(scope, indent)
        a = self.rng.choice(arrays)
        name = self.fresh("c")
        self.emit(indent, f"{name} = {a}")
        scope.vars[name] = scope.vars[a]

    def result(self, scope):
        """A scalar built from several variables, so the derivative reaches many of them."""
        names = sorted(scope.vars)
        self.rng.shuffle(names)
        terms = []
        for name in names[:4]:
            kind = scope.vars[name]
            terms.append(name if kind == SCALAR else f"np.sum({self.unary(name)})")
        for xs, kind in sorted(scope.lists.items())[:1]:
            terms.append(f"sum({xs})" if kind == SCALAR else f"np.sum({xs}[0])")
        return " + ".join(terms) or self.const()

    # ------------------------------------------------------------ program
    def helper(self, helpers):
        """A module-level def: returns a tuple or a value, or mutates its arguments."""
        name = self.fresh("h")
        mutates = self.chance(0.3)
        kinds = [self.rng.choice([SCALAR, vec(3)]) for _ in range(self.rng.randint(1, 2))]
        params = [(f"a{k}", kind) for k, kind in enumerate(kinds)]
        if mutates and self.chance(0.5):
            params.append(("ys", "list"))
        scope = _Scope([(p, k) for p, k in params if k != "list"], list(helpers))
        if any(k == "list" for _, k in params):
            scope.lists["ys"] = SCALAR
        names = [p for p, _ in params]
        if EXTRA and self.chance(0.4):
            names.append(f"scale={self.const()}")      # read below as a scalar
            scope.vars["scale"] = SCALAR
            self.keywords.add(name)
        self.emit(0, f"def {name}({', '.join(names)}):")
        self.block(scope, 1, self.rng.randint(0, 2), 1)
        if mutates:
            arrays = [p for p, k in params if k != SCALAR and k != "list"]
            if arrays:
                a = self.rng.choice(arrays)
                self.emit(1, f"{a} {self.rng.choice(('*=', '+=', '-='))} "
                             f"{self.rng.choice(('0.7', 'np.tanh(' + a + ')', '1.5'))}")
            if "ys" in scope.lists:
                self.emit(1, f"ys.append({self.expr(SCALAR, scope, 1)})")
            res = (SCALAR,) if self.chance(0.3) else ()
        else:
            res = tuple(self.rng.choice([SCALAR, SCALAR, vec(3)])
                        for _ in range(self.rng.randint(1, 3)))
        if res:
            self.emit(1, "return " + ", ".join(self.expr(k, scope) for k in res))
        self.emit(0, "")
        self.emit(0, "")
        helpers.append((name, tuple(k for _, k in params), res, mutates))

    def program(self) -> Program:
        helpers: list = []
        for _ in range(self.rng.choice((0, 0, 1, 1, 2))):
            self.helper(helpers)
        kinds = [SCALAR, SCALAR, vec(3), vec(3), vec(2), mat(2, 3)]
        n = self.rng.randint(1, 3)
        params = [(name, self.rng.choice(kinds)) for name in ("x", "y", "z")[:n]]
        scope = _Scope(params, helpers)
        scope.early_return = True
        self.emit(0, f"def f({', '.join(p for p, _ in params)}):")
        self.block(scope, 1, self.rng.randint(2, 7), 0)
        self.emit(1, f"return {self.result(scope)}")
        return Program(HEADER + "\n".join(self.lines) + "\n", params)


def generate(rng: random.Random) -> Program:
    """One random program (see the module docstring)."""
    return Generator(rng).program()
