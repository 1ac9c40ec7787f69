"""Optimizer pass over the derivative tree: algebraic simplification and dead code removal.

Zero propagation happens where adjoints are first assigned (the reverse pass);
here, products with one, sums with zero and constant arithmetic fold away, and
assignments whose names nothing reads are dropped (unless they call the user's
code, which may have side effects).
"""
from __future__ import annotations

import ast
import operator

_FOLD = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
         ast.Div: operator.truediv, ast.Pow: operator.pow}


def optimize(fn: ast.FunctionDef, impure: set) -> ast.FunctionDef:
    """Simplify `fn` in place; `impure` names functions whose calls must stay."""
    _Simplify().visit(fn)
    _propagate_copies(fn)
    _remove_dead(fn, impure)
    return fn


def _stores(tree) -> dict:
    out: dict = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            out[n.id] = out.get(n.id, 0) + 1
    return out


def _propagate_copies(fn):
    """`a = b` followed by reads of `a`: read `b` instead, when `a` is assigned only there and
    every read of `a` comes before `b` changes, in the same block."""
    stores = _stores(fn)
    params = {a.arg for a in fn.args.args}

    def block(stmts):
        i = 0
        while i < len(stmts):
            s = stmts[i]
            for field in ("body", "orelse"):
                if isinstance(getattr(s, field, None), list):
                    block(getattr(s, field))
            if isinstance(s, ast.Assign) and len(s.targets) == 1 and \
                    isinstance(s.targets[0], ast.Name) and isinstance(s.value, ast.Name):
                a, b = s.targets[0].id, s.value.id
                if stores.get(a) == 1 and a not in params and _replace_reads(stmts, i, a, b, fn):
                    del stmts[i]
                    continue
            i += 1
    block(fn.body)


def _replace_reads(stmts, i, a, b, fn) -> bool:
    rest = stmts[i + 1:]
    end = len(rest)
    for k, s in enumerate(rest):
        if b in _stores(s):
            end = k
            break
    inside = sum(1 for s in rest[:end] for n in ast.walk(s)
                 if isinstance(n, ast.Name) and n.id == a and isinstance(n.ctx, ast.Load))
    total = sum(1 for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id == a
                and isinstance(n.ctx, ast.Load))
    if inside != total:
        return False
    if end < len(rest) and any(isinstance(n, ast.Name) and n.id == a
                               for n in ast.walk(rest[end])):
        return False
    for s in rest[:end]:
        for n in ast.walk(s):
            if isinstance(n, ast.Name) and n.id == a:
                n.id = b
    return True


def _num(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = _num(node.operand)
        return None if v is None else -v
    return None


def _const(v):
    return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-v)) if v < 0 else ast.Constant(v)


class _Simplify(ast.NodeTransformer):
    def visit_BinOp(self, node):
        self.generic_visit(node)
        a, b = _num(node.left), _num(node.right)
        op = type(node.op)
        if a is not None and b is not None and op in _FOLD:
            try:
                return _const(_FOLD[op](a, b))
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
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.UnaryOp) \
                and isinstance(node.operand.op, ast.USub):
            return node.operand.operand
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        # np.sum(x, axis=None, keepdims=False) -> np.sum(x)
        node.keywords = [k for k in node.keywords
                         if not (k.arg == "axis" and _is_const(k.value, None))
                         and not (k.arg == "keepdims" and _is_const(k.value, False))]
        return node


def _is_const(node, value):
    return isinstance(node, ast.Constant) and node.value is value


def _loads(tree) -> set:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _calls_impure(node, impure) -> bool:
    for n in ast.walk(node):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in impure:
            return True
    return False


def _remove_dead(fn, impure):
    while True:
        used = _loads(fn)
        removed = [False]

        def sweep(stmts):
            out = []
            for s in stmts:
                if isinstance(s, ast.Assign) and not _calls_impure(s.value, impure):
                    names = [n.id for t in s.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
                    if names and not any(n in used for n in names):
                        removed[0] = True
                        continue
                for field in ("body", "orelse"):
                    block = getattr(s, field, None)
                    if isinstance(block, list) and block:
                        new = sweep(block)
                        setattr(s, field, new or ([ast.Pass()] if field == "body" else []))
                out.append(s)
            return out
        fn.body = sweep(fn.body)
        if not removed[0]:
            return
