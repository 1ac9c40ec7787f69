"""Optimizer pass over the derivative tree: algebraic simplification and dead code removal.

Zero propagation happens where adjoints are first assigned (the reverse pass);
here, products with one, sums with zero and constant arithmetic fold away, and
assignments whose names nothing reads are dropped (unless they call the user's
code, which may have side effects). Single-use temporaries go back into the
expressions that read them, and adjoint statements get sign and power-of-two
rewrites that save passes over arrays. Every rewrite keeps values bit for bit.
"""
from __future__ import annotations

import ast
import math
import operator
import re

from . import rules

_FOLD = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
         ast.Div: operator.truediv, ast.Pow: operator.pow}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
            ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}


def optimize(fn: ast.FunctionDef, impure: set, adjoints: set = frozenset(),
             containers: set = frozenset()) -> ast.FunctionDef:
    """Simplify `fn` in place; `impure` names functions whose calls must stay, `adjoints`
    the variables holding adjoints and `containers` the primal lists and tuples (the
    reverse emitter's)."""
    _simplify(fn)
    _merge_accumulations(fn, impure, adjoints)
    _propagate_copies(fn)
    _shape_sources(fn)
    _remove_dead(fn, impure)
    _inline_single_use(fn, impure)
    _tidy_adjoints(fn, adjoints, containers)
    _drop_orphan_marks(fn)
    return fn


def _assigned(st):
    """The name `st` assigns when it is `name = value`, else None."""
    if st.__class__ is ast.Assign and len(st.targets) == 1 and \
            st.targets[0].__class__ is ast.Name:
        return st.targets[0].id
    return None


def _merge_accumulations(fn, impure, adjoints: set):
    """`g = e1; ...; g = g + e2` -> `...; g = e1 + e2` for an adjoint `g` nothing reads or
    changes in between (nor changes e1's inputs): one statement per adjoint update, and
    the old value of an adjoint that `g` shadows stays readable until the new one is
    complete, so its copies propagate. The same additions in the same order: exact."""
    if not adjoints:
        return

    def accumulates(st):
        """`g` for `g = g + e` (g an adjoint), else None."""
        g = _assigned(st)
        v = getattr(st, "value", None)
        if g in adjoints and isinstance(v, ast.BinOp) and isinstance(v.op, ast.Add) and \
                isinstance(v.left, ast.Name) and v.left.id == g:
            return g
        return None

    def block(stmts):
        for st in stmts:
            for field in ("body", "orelse"):
                if isinstance(getattr(st, field, None), list):
                    block(getattr(st, field))
        later = {accumulates(st) for st in stmts} - {None}     # cheap filter: most skip
        if not later:
            return
        i = 0
        while i < len(stmts):
            st = stmts[i]
            g = _assigned(st)
            if g not in later or _calls_impure(st.value, impure):
                i += 1
                continue
            inputs = {n.id for n in nodes(st.value) if n.__class__ is ast.Name}
            merged = False
            for k in range(i + 1, len(stmts)):
                use = stmts[k]
                if not isinstance(use, ast.Assign) or _calls_impure(use.value, impure) or \
                        _calls_inplace(use.value):
                    break           # a branch, a loop, x += e, a call that may change e1's inputs
                names = [n for n in nodes(use) if n.__class__ is ast.Name]
                if any(n.id == g for n in names):
                    v = use.value
                    if accumulates(use) == g and not any(
                            n.id == g for n in nodes(v.right) if n.__class__ is ast.Name):
                        use.value = ast.BinOp(left=st.value, op=ast.Add(), right=v.right)
                        del stmts[i]
                        merged = True
                    break
                if any(isinstance(n.ctx, ast.Store) and n.id in inputs for n in names) or \
                        _updated(use):
                    break           # (an in-place update may change a view e1 reads)
            if not merged:
                i += 1
    block(fn.body)


def _tidy_adjoints(fn, adjoints: set, containers: set = frozenset()):
    """Fewer array passes in adjoint statements, each rewrite exact in IEEE arithmetic:
    a negation moves onto a scalar factor (`-(g * (2 * x))` -> `-g * 2 * x`), cancels
    another (`-(-g * x)` -> `g * x`) or turns `a + -b` into `a - b` (also for `+=`), and a power-of-two constant joins the factor on
    its left (`g * (2 * x)` -> `g * 2 * x`: doubling is exact, and a scalar g makes it
    one pass over x instead of two). `adjoints` names the variables holding adjoints:
    floats, never the user's own (perhaps unsigned or boolean) values; `containers` the
    primal lists and tuples."""
    if not adjoints:
        return

    def scalarish(node) -> bool:
        return _num(node) is not None or (isinstance(node, ast.Name) and node.id in adjoints)

    def visit(node):
        for field in NODE_FIELDS[node.__class__]:
            value = getattr(node, field, None)
            if value.__class__ is list:
                value[:] = [visit(v) if isinstance(v, ast.AST) else v for v in value]
            elif isinstance(value, ast.AST):
                setattr(node, field, visit(value))
        if isinstance(node, ast.BinOp):
            op = type(node.op)
            # e + e -> 2 * e, the two alike up to the order of a product's factors (the
            # adjoint of `r * r`): one evaluation and a doubling, exact, for two and a sum
            if op is ast.Add and _pure(node.left) and _pure(node.right) and \
                    _commuted(node.left) == _commuted(node.right):
                return ast.BinOp(left=ast.Constant(2), op=ast.Mult(), right=node.left)
            # g * (c * x) -> g * c * x, c a power of two
            if op is ast.Mult and _is_mult(node.right) and _power_of_two(_num(node.right.left)):
                node = ast.BinOp(left=ast.BinOp(left=node.left, op=ast.Mult(),
                                                right=node.right.left),
                                 op=ast.Mult(), right=node.right.right)
            # c * -e -> -c * e, c a scalar: the negation on the scalar
            if op is ast.Mult and isinstance(node.right, ast.UnaryOp) and \
                    isinstance(node.right.op, ast.USub) and scalarish(node.left):
                node = ast.BinOp(left=_negate_leftmost(node.left), op=ast.Mult(),
                                 right=node.right.operand)
            return _fold_negation(node)
        if isinstance(node, ast.Call) and node.args and _scaled(node.args[0], adjoints) and \
                _linear_in_first(node, containers):
            # f(c * g) -> c * f(g) for f linear in g and c a power of two (exact): the
            # scaling on f's (often smaller) result, or one more factor to fold further
            c, node.args[0] = node.args[0].left, node.args[0].right
            return ast.BinOp(left=c, op=ast.Mult(), right=node)
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.UnaryOp) \
                and isinstance(node.args[0].op, ast.USub):
            if _linear_in_first(node, containers):
                # f(-g) -> -f(g) for f linear in g (unbroadcast's sum: a pass fewer, as
                # the negation then applies to the smaller result or folds into a sum); not
                # where f(g) is a list (unconcatenate's pieces, unindex of a list), which
                # `-` would negate item by item and a batched tangent cannot lift as one
                # array
                node.args[0] = node.args[0].operand
                return ast.UnaryOp(op=ast.USub(), operand=node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            rest = _strip_leading_neg(node.operand)
            if rest is not None:
                return rest                  # -(-a * b) -> a * b: two negations cancel
            lead = _leftmost_factor(node.operand)
            if lead is not None and lead is not node.operand and scalarish(lead):
                return _negate_leftmost(node.operand)
            v = _num(node.operand)
            if v is not None:
                return _const(-v)
        return node

    def stmts(block):
        for st in block:
            if _assigned(st) in adjoints:
                st.value = visit(st.value)
            elif isinstance(st, ast.AugAssign) and isinstance(st.target, ast.Name) and \
                    st.target.id in adjoints and isinstance(st.op, (ast.Add, ast.Sub)):
                st.value = visit(st.value)
                rest = _strip_leading_neg(st.value)
                if rest is not None:
                    st.op = ast.Sub() if isinstance(st.op, ast.Add) else ast.Add()
                    st.value = rest
            elif isinstance(st, ast.Return) and st.value is not None:
                # the gradients returned: grad_like(expr, x), float(expr)
                for node in nodes(st.value):
                    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                            node.func.id in ("grad_like", "float") and node.args:
                        node.args[0] = visit(node.args[0])
            for field in ("body", "orelse"):
                if isinstance(getattr(st, field, None), list):
                    stmts(getattr(st, field))
    stmts(fn.body)
    _sink_factors(fn, adjoints, visit)


def _shape_sources(fn):
    """A value read only for its shape (`like` in `unreduce(g, v1)`) of `v1 = r * r` (or
    `-r`, `r ** 2`) is read from `r`, of the same shape and dtype: `v1` may then go
    dead, a pass fewer. Both are assigned once (a parameter never), so `r` at the read is
    the `r` that `v1` was made from."""
    everything = nodes(fn)                    # one walk: the tree is not changed below
    stores: dict = {}
    Name, Store, Assign = ast.Name, ast.Store, ast.Assign
    for n in everything:
        if n.__class__ is Name and n.ctx.__class__ is Store:
            stores[n.id] = stores.get(n.id, 0) + 1
    params = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
    source = {}
    for st in everything:
        if st.__class__ is not Assign:
            continue
        v = _assigned(st)
        if v is None or stores.get(v) != 1 or v in params:
            continue
        e = st.value
        a = None
        if e.__class__ is ast.BinOp and e.left.__class__ is ast.Name and (
                e.op.__class__ is ast.Mult and e.right.__class__ is ast.Name and
                e.right.id == e.left.id or
                e.op.__class__ is ast.Pow and _num(e.right) == 2):
            a = e.left.id
        elif e.__class__ is ast.UnaryOp and e.op.__class__ is ast.USub and \
                e.operand.__class__ is ast.Name:
            a = e.operand.id
        if a is not None and (stores.get(a) == 1 or a in params and a not in stores):
            source[v] = a
    if not source:
        return
    for call in everything:
        if call.__class__ is not ast.Call:
            continue
        shaped = _shape_positions(call)
        if not shaped:
            continue
        for k, arg in enumerate(call.args):
            if k in shaped and arg.__class__ is ast.Name and arg.id in source:
                name = arg.id
                while name in source:
                    name = source[name]
                call.args[k] = ast.Name(id=name, ctx=ast.Load())


def _pure(node) -> bool:
    """`node` computes a value and changes nothing: names, constants, arithmetic and calls
    of rules that work on copies (never the user's functions, nor index_add)."""
    for n in nodes(node):
        cls = n.__class__
        if cls is ast.Call:
            rule = _rule_of(n)
            if rule is None or rule.inplace:
                return False
        elif cls not in _PURE_NODES:
            return False
    return True


_PURE_NODES = {ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Load, ast.Attribute,
               ast.Subscript, ast.Slice, ast.Tuple, ast.keyword, ast.Add, ast.Sub, ast.Mult,
               ast.Div, ast.Pow, ast.USub}


def _commuted(node) -> str:
    """`node`'s text with each product's two factors in one order: `a * b` and `b * a`
    alike (IEEE multiplication commutes, broadcasting too)."""
    if node.__class__ is ast.BinOp:
        left, right = _commuted(node.left), _commuted(node.right)
        if node.op.__class__ is ast.Mult and right < left:
            left, right = right, left
        return f"({left} {node.op.__class__.__name__} {right})"
    if node.__class__ is ast.Call:
        return f"{ast.dump(node.func)}({', '.join(map(_commuted, node.args))}; " \
            f"{', '.join(k.arg + '=' + _commuted(k.value) for k in node.keywords)})"
    if node.__class__ is ast.UnaryOp:
        return f"({node.op.__class__.__name__} {_commuted(node.operand)})"
    return ast.dump(node)


def _linear_in_first(call, containers=frozenset()) -> bool:
    """A call of a rule linear in its first argument, whose result is one array (not a
    list: `-` would negate it item by item, and a batched tangent cannot lift it as one;
    nor shaped like one of `containers`, the primal lists and tuples: unindex of a list)."""
    rule = _rule_of(call)
    return rule is not None and rule.linear and not rule.returns_seq and not rule.holds and \
        not any(a.__class__ is ast.Name and a.id in containers for a in call.args[1:])


def _floaty(node, adjoints: set) -> bool:
    """`node` is a float adjoint: an adjoint's name, or a negation, power-of-two scaling or
    linear function of one (never the user's perhaps integer values: 2.0 * sum(x) of an
    int64 x may overflow where sum(2.0 * x) does not)."""
    if node.__class__ is ast.Name:
        return node.id in adjoints
    if node.__class__ is ast.UnaryOp and node.op.__class__ is ast.USub:
        return _floaty(node.operand, adjoints)
    if _scaled(node, adjoints):
        return True
    return node.__class__ is ast.Call and bool(node.args) and _linear_in_first(node) and \
        _floaty(node.args[0], adjoints)


def _scaled(node, adjoints: set) -> bool:
    """`node` is `c * g`, c a constant power of two (or its negation) and g a float adjoint."""
    return _is_mult(node) and _power_of_two(_num(node.left)) and _floaty(node.right, adjoints)


def _sink_factors(fn, adjoints: set, visit):
    """`a = -e; ...; b = f(a)` -> `a = e; ...; b = f(-a)`, and `a = c * e; ...; b = f(a)` ->
    `a = e; ...; b = f(c * a)` (c a power of two, f linear in a), for an adjoint `a` assigned
    once and read once, by a later adjoint statement of the same block (so as often); `visit`
    (`_tidy_adjoints`' rewrites) then folds the factor into b's statement (`c * -a` -> `-c *
    a`, `f(-a)` -> `-f(a)`, `f(c * a)` -> `c * f(a)`, `g + -a` -> `g - a`) instead of a pass
    of its own over `a` (kmeans: `v9_bar = -unbroadcast(..)` read by `2.0 * v9_bar`, read by
    a matrix product). Where nothing folds a negation, both statements stay as they were."""
    stores, loads = _counts(fn)
    params = {a.arg for a in fn.args.args + fn.args.kwonlyargs}

    def first_arg_of_linear(use, a) -> bool:
        return any(n.__class__ is ast.Call and n.args and n.args[0].__class__ is ast.Name and
                   n.args[0].id == a and _linear_in_first(n) for n in nodes(use.value))

    def block(stmts):
        for i, st in enumerate(stmts):
            for field in ("body", "orelse"):
                if isinstance(getattr(st, field, None), list):
                    block(getattr(st, field))
            a = _assigned(st)
            if a not in adjoints or a in params or stores.get(a) != 1 or loads.get(a) != 1:
                continue
            v = st.value
            negated = v.__class__ is ast.UnaryOp and v.op.__class__ is ast.USub
            if not negated and not _scaled(v, adjoints):
                continue
            for use in stmts[i + 1:]:
                reads = [n for n in _names(use) if n.id == a]
                if not reads:
                    continue
                if _assigned(use) not in adjoints or use.value.__class__ is ast.Name or \
                        not negated and not first_arg_of_linear(use, a):
                    break
                before = rules.clone(use.value)
                factor = ast.UnaryOp(op=ast.USub(), operand=reads[0]) if negated else \
                    ast.BinOp(left=v.left, op=ast.Mult(), right=reads[0])
                if _replace_load(use, a, factor):
                    use.value = visit(use.value)
                    if any(n.__class__ is ast.UnaryOp and n.operand.__class__ is ast.Name and
                           n.operand.id == a for n in nodes(use.value)):
                        use.value = before        # nothing folded `-a`: left as it was
                    else:
                        st.value = v.operand if negated else v.right
                break
    block(fn.body)


def _fold_negation(node):
    """`a + -b` -> `a - b`, `a - -b * c` -> `a + b * c`, `a + b / -c` -> `a - b / c`:
    exact, as IEEE negation is."""
    if isinstance(node.op, (ast.Add, ast.Sub)):
        rest = _strip_leading_neg(node.right)
        if rest is not None:
            op = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
            return ast.BinOp(left=node.left, op=op, right=rest)
    return node


def _power_of_two(v) -> bool:
    if v is None or v == 0 or isinstance(v, bool):
        return False
    m, _ = math.frexp(abs(v))
    return m == 0.5 and abs(v) >= 1


def _leftmost_factor(node):
    """The first factor of a product or quotient chain (`a` in `a * b / c`)."""
    while isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
        node = node.left
    return node


def _negate_leftmost(node):
    """`-(a * b)` as `-a * b`: the negation on the chain's first factor."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
        return ast.BinOp(left=_negate_leftmost(node.left), op=node.op, right=node.right)
    v = _num(node)
    if v is not None:
        return _const(-v)
    return ast.UnaryOp(op=ast.USub(), operand=node)


def _strip_leading_neg(node):
    """`b` for `-b`, `a * b` for `-a * b`, `a * -b` (or a negative constant first): None
    otherwise."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return node.operand
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
        left = _strip_leading_neg(node.left)
        if left is not None:
            return ast.BinOp(left=left, op=node.op, right=node.right)
        right = node.right.operand if isinstance(node.right, ast.UnaryOp) and \
            isinstance(node.right.op, ast.USub) else None          # a * -b
        return None if right is None else ast.BinOp(left=node.left, op=node.op, right=right)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and \
            not isinstance(node.value, bool) and node.value < 0:
        return ast.Constant(-node.value)
    return None


_OURS = re.compile(r"^v\d+(_\d+)?$|^v\d+_(bar|dot)(_\d+)?$")


def _inline_single_use(fn, impure):
    """Put a temporary that is read once back into the expression reading it, as the user
    wrote it: `v3 = b * x; v4 = v3 * 0.5` becomes `v4 = b * x * 0.5`. Only srcad's own
    temporaries, only within a block, only past statements that change none of its inputs."""
    stores, loads = _counts(fn)
    params = {a.arg for a in fn.args.args}

    memo: dict = {}

    def names_in(st) -> tuple:
        """(the names `st` holds, the names it may change: what it assigns, and what a bare
        call touches), from one walk of `st`."""
        got = memo.get(id(st))
        if got is None:
            names, stored = set(), set()
            Name, Store = ast.Name, ast.Store
            for n in nodes(st):
                if n.__class__ is Name:
                    names.add(n.id)
                    if n.ctx.__class__ is Store:
                        stored.add(n.id)
            if isinstance(st, ast.Expr):
                c = st.value
                if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and \
                        isinstance(c.func.value, ast.Name) and c.func.attr in ("append", "pop"):
                    changes = {c.func.value.id}              # a stack push changes the stack
                else:
                    changes = names
            elif isinstance(st, (ast.Assign, ast.Return)):
                changes = stored
            else:
                changes = names
            got = memo[id(st)] = (names, changes)
        return got

    def block(stmts):
        for st in stmts:
            for field in ("body", "orelse"):
                if isinstance(getattr(st, field, None), list):
                    block(getattr(st, field))
        i = 0
        while i < len(stmts):
            st = stmts[i]
            target = _assigned(st)
            if target is None or not _OURS.match(target) or target in params or \
                    stores.get(target) != 1 or loads.get(target) != 1 or \
                    _calls_impure(st.value, impure) or _is_shape_helper_call(st.value):
                i += 1
                continue
            inputs = {n.id for n in nodes(st.value) if isinstance(n, ast.Name)}
            done = False
            for k in range(i + 1, len(stmts)):
                use = stmts[k]
                used, changes = names_in(use)
                if target in used and isinstance(use, (ast.Assign, ast.Return, ast.Expr,
                                                       ast.AugAssign)) and \
                        _replace_load(use, target, st.value):
                    memo.pop(id(use), None)
                    del stmts[i]
                    done = True
                    break
                if changes & (inputs | {target}) or not isinstance(use, (ast.Assign, ast.Expr)) \
                        or _updated(use):
                    break           # (an in-place update may change a view the value reads)
            if not done:
                i += 1
    block(fn.body)


def _updated(st) -> set:
    """The names of the arrays an assignment `y[i] = v` changes in place."""
    if st.__class__ is not ast.Assign:
        return set()
    return {t.value.id for t in st.targets
            if t.__class__ is ast.Subscript and t.value.__class__ is ast.Name}


def _rule_of(node):
    """The rule of a generated call `f(...)` or `np.f(...)`, or None."""
    return rules.lookup_name(_func_name(node)) if isinstance(node, ast.Call) else None


def _calls_inplace(node) -> bool:
    """Whether `node` calls a rule that changes an argument in place (index_add)."""
    for n in nodes(node):
        if n.__class__ is ast.Call:
            rule = _rule_of(n)
            if rule is not None and rule.inplace:
                return True
    return False


def _is_shape_helper_call(node) -> bool:
    """An adjoint summed or spread to a shape (a call of a rule with arguments read only for
    their shape) keeps its name: nesting them reads badly (a count, `len(xs)`, is no
    adjoint: it is inlined as any other)."""
    rule = _rule_of(node)
    return rule is not None and bool(rule.shape_args) and rule.kind != rules.INT


def _shape_positions(node) -> tuple:
    """The argument positions and keywords of a call that are read only for their shape."""
    rule = _rule_of(node)
    if rule is None or not rule.shape_args:
        return ()
    names = [p for p, _ in rule.params]
    return tuple(k for k, p in enumerate(names) if p in rule.shape_args) + rule.shape_args


def _replace_load(stmt, name, expr) -> bool:
    """Replace the one load of `name` in `stmt` (outside conditional expressions) by `expr`;
    arguments read for their shape (`like` in unbroadcast) stay names."""
    def visit(node):
        shaped = _shape_positions(node) if node.__class__ is ast.Call else ()
        for field in node._fields:
            value = getattr(node, field, None)
            items = value if isinstance(value, list) else [value]
            for k, child in enumerate(items):
                if shaped and (field == "args" and k in shaped or field == "keywords"
                               and child.arg in shaped):
                    continue
                if isinstance(child, ast.Name) and child.id == name and \
                        isinstance(child.ctx, ast.Load):
                    if isinstance(value, list):
                        value[k] = expr
                    else:
                        setattr(node, field, expr)
                    return True
                if isinstance(child, ast.AST) and not isinstance(
                        child, (ast.IfExp, ast.BoolOp, ast.Lambda)) and visit(child):
                    return True
        return False
    holder = stmt if isinstance(stmt, (ast.Assign, ast.Expr, ast.Return, ast.AugAssign)) \
        else None
    if holder is None or holder.value is None:
        return False
    if isinstance(holder.value, ast.Name) and holder.value.id == name:
        holder.value = expr
        return True
    return not isinstance(holder.value, (ast.IfExp, ast.BoolOp, ast.Lambda)) and \
        visit(holder.value)


def _drop_orphan_marks(node):
    """A comment quoting the user's line goes when no statement follows it in its block."""
    from .emit import LINE_MARK

    def is_mark(s):
        return s.__class__ is ast.Expr and s.value.__class__ is ast.Call and \
            s.value.func.__class__ is ast.Name and s.value.func.id == LINE_MARK

    def visit(node):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if not isinstance(block, list):
                continue
            kept = [s for k, s in enumerate(block)
                    if not (is_mark(s) and s.value.args[0].value and
                            (k + 1 == len(block) or is_mark(block[k + 1])))]
            setattr(node, field, kept or ([ast.Pass()] if field == "body" and block else []))
            for s in kept:
                if s.__class__ in _COMPOUND:
                    visit(s)
    visit(node)


_COMPOUND = {ast.If, ast.For, ast.While, ast.FunctionDef}     # statements with blocks


def nodes(tree) -> list:
    """Every node under `tree` but the Load/Store markers, in no particular order
    (ast.walk without its generator overhead: this walk is much of a build's time)."""
    out = [tree]
    append = out.append
    AST = ast.AST
    fields_of = NODE_FIELDS
    for node in out:                      # grows while it is read
        for f in fields_of[node.__class__]:
            v = getattr(node, f, None)
            if v.__class__ is list:
                for x in v:
                    if isinstance(x, AST):
                        append(x)
            elif isinstance(v, AST):
                append(v)
    return out


class _Fields(dict):
    """node class -> its fields that may hold nodes: the Load/Store marker "ctx" left out,
    and those that hold an identifier, a flag or a constant (a Name or Constant, about half
    of a tree's nodes, has none to read)."""

    def __missing__(self, cls):
        fields = self[cls] = () if cls.__name__ == "Constant" else \
            tuple(f for f in cls._fields if f not in _NO_NODES)
        return fields


# fields of any stdlib or gast node class that never hold nodes
_NO_NODES = frozenset(["ctx", "id", "attr", "arg", "type_comment", "kind", "is_async",
                       "level", "conversion"])


NODE_FIELDS = _Fields()        # read by every fast walk of a tree (here, funcs.walk_own)


def _counts(fn) -> tuple:
    """How often each name is assigned, and read, in `fn`."""
    stores: dict = {}
    loads: dict = {}
    for n in _names(fn):
        table = stores if isinstance(n.ctx, ast.Store) else loads
        table[n.id] = table.get(n.id, 0) + 1
    return stores, loads


def _names(tree) -> list:
    Name = ast.Name
    return [n for n in nodes(tree) if n.__class__ is Name]


def _propagate_copies(fn):
    """`a = b` followed by reads of `a`: read `b` instead, when `a` is assigned only there and
    every read of `a` comes before `b` changes, in the same block."""
    stores, loads = _counts(fn)
    params = {a.arg for a in fn.args.args}

    def block(stmts):
        names = [None] * len(stmts)            # each statement's Name nodes, when needed

        def names_of(k):
            if names[k] is None:
                names[k] = _names(stmts[k])
            return names[k]
        i = 0
        while i < len(stmts):
            s = stmts[i]
            for field in ("body", "orelse"):
                if isinstance(getattr(s, field, None), list):
                    block(getattr(s, field))
                    names[i] = None
            a = _assigned(s)
            if a is not None and isinstance(s.value, ast.Name):
                b = s.value.id
                if stores.get(a) == 1 and a not in params:
                    reads, end = [], len(stmts)
                    for k in range(i + 1, len(stmts)):
                        ns = names_of(k)
                        if any(n.id == b and isinstance(n.ctx, ast.Store) for n in ns):
                            end = k
                            break
                        reads += [n for n in ns if n.id == a]
                    late = False
                    if end < len(stmts):
                        last = stmts[end]
                        if isinstance(last, ast.Assign):   # its value is read before b changes
                            in_value = [n for n in _names(last.value) if n.id == a]
                            reads += in_value
                            late = sum(1 for n in names_of(end) if n.id == a) != len(in_value)
                        else:
                            late = any(n.id == a for n in names_of(end))
                    if len(reads) == loads.get(a, 0) and not late:
                        for n in reads:
                            n.id = b
                        loads[b] = loads.get(b, 0) + len(reads)
                        del stmts[i]
                        del names[i]
                        continue
            i += 1
    block(fn.body)


def _num(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = _num(node.operand)
        return None if v is None else -v
    return None


def _num_or_bool(node):
    """The value of a number or bool constant (`1.5 + False` folds as Python computes it)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return node.value
    return _num(node)


def _is_mult(node) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)


def _const(v):
    return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-v)) if v < 0 else ast.Constant(v)


def _simplify(node):
    """Simplify every expression under `node`, children first."""
    cls = node.__class__
    if cls is ast.Name or cls is ast.Constant:
        return node
    for field in NODE_FIELDS[cls]:
        value = getattr(node, field, None)
        if value.__class__ is list:
            for k, v in enumerate(value):
                if isinstance(v, ast.AST):
                    new = _simplify(v)
                    if new is not v:
                        value[k] = new
        elif isinstance(value, ast.AST):
            new = _simplify(value)
            if new is not value and not (cls is ast.Assign and new.__class__ is ast.Name):
                setattr(node, field, new)     # (`b = y * 1.0` stays: `b = y` would share y)
    rule = _RULES.get(cls)
    return rule(node) if rule else node


class _Simplify:
    def visit_BinOp(self, node):
        a, b = _num(node.left), _num(node.right)
        op = type(node.op)
        fa, fb = _num_or_bool(node.left), _num_or_bool(node.right)
        if fa is not None and fb is not None and op in _FOLD:
            try:
                return _const(_FOLD[op](fa, fb))
            except (ZeroDivisionError, OverflowError):
                return node
        if op is ast.Mult:
            if a == 1:
                return node.right
            if b == 1:
                return node.left
        if op is ast.Div and b == 1:
            return node.left
        if op is ast.Pow and b == 1:
            return node.left
        if op in (ast.Add, ast.Sub) and b == 0 and isinstance(b, int):
            return node.left
        # x * y + y * x (the adjoint of a product with itself) -> 2 * (x * y), bit for bit
        if op is ast.Add and _is_mult(node.left) and _is_mult(node.right) and \
                ast.dump(node.left.left) == ast.dump(node.right.right) and \
                ast.dump(node.left.right) == ast.dump(node.right.left):
            return ast.BinOp(left=ast.Constant(2), op=ast.Mult(), right=node.left)
        return _fold_negation(node)

    def visit_Compare(self, node):
        """`2.5 == 0` -> False (a rule's indicator of a constant, e.g. pow's exponent)."""
        if len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
            a, b = _num(node.left), _num(node.comparators[0])
            if a is not None and b is not None:
                return ast.Constant(_COMPARE[type(node.ops[0])](a, b))
        return node

    def visit_UnaryOp(self, node):
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.UnaryOp) \
                and isinstance(node.operand.op, ast.USub):
            return node.operand.operand
        return node

    def visit_Call(self, node):
        # unreduce(g, x, None, False) -> unreduce(g, x), np.sum(x, axis=None,
        # keepdims=False) -> np.sum(x): `axis` and `keepdims` go where they are the rule's
        # declared defaults (which are the function's own)
        rule = _rule_of(node)
        if rule is None:
            return node
        defaults = dict(rule.params)
        names = [p for p, _ in rule.params]

        def default(param, value) -> bool:
            d = defaults.get(param, _NO_DEFAULT)
            return param in _DEFAULTED and isinstance(value, ast.Constant) and \
                type(value.value) is type(d) and value.value == d
        while node.args and len(node.args) <= len(names) and not node.keywords and \
                default(names[len(node.args) - 1], node.args[-1]):
            node.args.pop()
        node.keywords = [k for k in node.keywords if not default(k.arg, k.value)]
        return node


_RULES = {ast.BinOp: _Simplify().visit_BinOp, ast.UnaryOp: _Simplify().visit_UnaryOp,
          ast.Call: _Simplify().visit_Call, ast.Compare: _Simplify().visit_Compare}


_DEFAULTED = ("axis", "keepdims")      # parameters dropped where they have their default
_NO_DEFAULT = object()


def _func_name(node) -> str:
    f = node.func
    parts = []
    while isinstance(f, ast.Attribute):
        parts.append(f.attr)
        f = f.value
    if isinstance(f, ast.Name):
        parts.append(f.id)
    return ".".join(reversed(parts))


def _calls_impure(node, impure) -> bool:
    for n in nodes(node):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in impure:
            return True
    return False


def _remove_dead(fn, impure):
    """Drop assignments nothing reads, counting reads so each removal is cheap (`x += e`
    reads x: its Name is a Store)."""
    loads: dict = {}
    for n in nodes(fn):
        if n.__class__ is ast.Name:
            if isinstance(n.ctx, ast.Load):
                loads[n.id] = loads.get(n.id, 0) + 1
        elif n.__class__ is ast.AugAssign and n.target.__class__ is ast.Name:
            loads[n.target.id] = loads.get(n.target.id, 0) + 1
    changed = True
    while changed:
        changed = False

        def sweep(stmts):
            nonlocal changed
            out = []
            for s in reversed(stmts):            # later statements first: one pass frees chains
                if isinstance(s, ast.Assign):
                    targets = [n.id for t in s.targets for n in nodes(t)
                               if isinstance(n, ast.Name)]
                    if targets and not any(loads.get(t, 0) for t in targets) and \
                            not _calls_impure(s.value, impure) and not rules.may_raise(s.value):
                        for n in _names(s.value):
                            loads[n.id] -= 1
                        changed = True
                        continue
                for field in ("body", "orelse"):
                    block = getattr(s, field, None)
                    if isinstance(block, list) and block:
                        new = sweep(block)
                        setattr(s, field, new or ([ast.Pass()] if field == "body" else []))
                out.append(s)
            out.reverse()
            return out
        fn.body = sweep(fn.body)
