"""Shrinks a failing program while the same failure persists.

Greedy and deterministic: candidate edits of the syntax tree are tried in order (delete a
statement, replace a compound statement by its body, shorten a `range`, replace an
expression by one of its parts or by a constant, drop an unused parameter of `f`, round
the inputs); the first edit after which the program still shows the same failure key is
kept, and the search goes on from that position, until a whole pass changes nothing.
"""
from __future__ import annotations

import ast
import copy
import dataclasses
import time

import numpy as np

from . import oracle


@dataclasses.dataclass
class Case:
    """A program, its parameters' kinds and the inputs it is checked at."""
    source: str
    params: list
    args: tuple


def failure_key(outcome):
    """The failure to preserve: the worst finding's key (class, check, exception type)."""
    bad = [f for f in outcome.findings if f.cls in ("WRONG", "VALUE", "CRASH")]
    bad.sort(key=lambda f: (oracle.SEVERITY.index(f.cls), oracle.CHECKS.index(f.check)))
    return bad[0].key if bad else None


def _checks_for(key):
    return (key.split(":")[1],)


def fails(case, key):
    """The finding with `key` when `case` still shows it, else None."""
    try:
        outcome = oracle.run_program(case.source, case.params, args=case.args,
                                     checks=_checks_for(key))
    except Exception:                   # the edit broke the module itself
        return None
    return next((f for f in outcome.findings if f.key == key), None)


# ------------------------------------------------------------ edits

def _stmt_sites(tree):
    """Every (owner, field, index) of a statement in a statement list, in a fixed order."""
    sites = []
    for node in ast.walk(tree):
        for field in ("body", "orelse"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list):
                sites.extend((node, field, i) for i in range(len(stmts)))
    return sites


def _expr_sites(tree):
    """Every (owner, field, index or None) holding an expression, in a fixed order."""
    sites = []
    for node in ast.walk(tree):
        for field, value in ast.iter_fields(node):
            if field == "func":             # a callee stays a callee
                continue
            if isinstance(value, ast.expr):
                sites.append((node, field, None))
            elif isinstance(value, list):
                sites.extend((node, field, i) for i, v in enumerate(value)
                             if isinstance(v, ast.expr))
    return sites


def _get(site):
    owner, field, i = site
    value = getattr(owner, field)
    return value if i is None else value[i]


def _put(site, new):
    owner, field, i = site
    if i is None:
        setattr(owner, field, new)
    else:
        getattr(owner, field)[i] = new


def _stmt_variants(stmt):
    """Replacements for one statement, smallest first: nothing, then its parts."""
    out = [[]]
    if isinstance(stmt, ast.If):
        out += [stmt.body, stmt.orelse] if stmt.orelse else [stmt.body]
    elif isinstance(stmt, ast.While):
        out.append(stmt.body)
    elif isinstance(stmt, ast.For):
        first = (ast.Constant(0) if _range_args(stmt.iter) is not None
                 else ast.Subscript(stmt.iter, ast.Constant(0), ast.Load()))
        out.append([ast.Assign([stmt.target], first)] + stmt.body)
        args = _range_args(stmt.iter)
        if args and isinstance(args[-1], ast.Constant) and isinstance(args[-1].value, int):
            low = args[0].value if len(args) == 2 and isinstance(args[0], ast.Constant) else 0
            if args[-1].value - 1 > low:
                shorter = copy.deepcopy(stmt)
                _range_args(shorter.iter)[-1].value -= 1
                out.append([shorter])
    return out


def _range_args(node):
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "range"):
        return node.args
    return None


BUILTINS = ("range", "len", "sum", "enumerate", "zip", "min", "max", "abs", "float", "int")


def _expr_variants(expr, owner):
    """Simpler expressions to put in `expr`'s place (under `owner`), staying inside what the
    generator writes: a test may become True/False, but a value never a bool, a list or a
    builtin's argument (`np.array([a, b])` stays an array, `range(3)` a range)."""
    out = []
    if isinstance(expr, ast.BinOp):
        out += [expr.left, expr.right]
    elif isinstance(expr, ast.UnaryOp):
        out.append(expr.operand)
    elif isinstance(expr, ast.IfExp):
        out += [expr.body, expr.orelse]
    elif isinstance(expr, ast.BoolOp):
        out += expr.values
    elif isinstance(expr, ast.Compare):
        if isinstance(owner, (ast.If, ast.While, ast.IfExp, ast.BoolOp, ast.UnaryOp)):
            out += [ast.Constant(True), ast.Constant(False)]
    elif isinstance(expr, ast.Call):
        if not (isinstance(expr.func, ast.Name) and expr.func.id in BUILTINS):
            out += [a for a in expr.args if not isinstance(a, (ast.Constant, ast.List))]
    elif isinstance(expr, ast.Subscript):
        out.append(expr.value)
    elif isinstance(expr, ast.Name) and isinstance(expr.ctx, ast.Load) and expr.id != "np":
        out.append(ast.Constant(0.5))
    elif isinstance(expr, ast.Constant) and isinstance(expr.value, float):
        simpler = {1.0: (), 0.5: (1.0,)}.get(expr.value, (1.0, 0.5))   # never back and forth
        out += [ast.Constant(v) for v in simpler]
    return out


def _edits(case):
    """Candidate cases, each one edit away from `case`, in a fixed order."""
    tree = ast.parse(case.source)
    for k, site in enumerate(_stmt_sites(tree)):
        for v in range(len(_stmt_variants(_get(site)))):
            yield ("stmt", k, v)
    for k, site in enumerate(_expr_sites(tree)):
        for v in range(len(_expr_variants(_get(site), site[0]))):
            yield ("expr", k, v)
    f = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "f")
    for k in range(len(f.args.args)):
        yield ("param", k, 0)
    for k in range(len(case.args)):
        yield ("round", k, 0)


def _apply(case, edit):
    """The case after `edit`, or None when the edit does not apply."""
    what, k, v = edit
    tree = ast.parse(case.source)
    params, args = list(case.params), list(case.args)
    if what == "stmt":
        site = _stmt_sites(tree)[k]
        owner, field, i = site
        stmts = getattr(owner, field)
        new = stmts[:i] + _stmt_variants(stmts[i])[v] + stmts[i + 1:]
        if not new and field == "body":
            new = [ast.Pass()]
        setattr(owner, field, new)
    elif what == "expr":
        sites = _expr_sites(tree)
        if k >= len(sites):
            return None
        variants = _expr_variants(_get(sites[k]), sites[k][0])
        if v >= len(variants):
            return None
        _put(sites[k], variants[v])
    elif what == "param":
        f = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "f")
        if k >= len(f.args.args):
            return None
        name = f.args.args[k].arg
        if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(f)):
            return None
        del f.args.args[k], params[k], args[k]
    else:
        if k >= len(args):
            return None
        rounded = np.round(args[k], 1)
        if np.array_equal(rounded, args[k]):
            return None
        args[k] = float(rounded) if np.ndim(rounded) == 0 else rounded
    ast.fix_missing_locations(tree)
    return Case(_unparse(tree), params, tuple(args))


def _unparse(tree):
    """Source with two blank lines before each top-level def, as the generator writes it."""
    parts = []
    for node in tree.body:
        text = ast.unparse(node)
        parts.append(("\n\n" if isinstance(node, ast.FunctionDef) else "") + text)
    return "\n".join(parts) + "\n"


def minimise(case, key, budget=60.0):
    """The smallest case found within `budget` seconds that still fails with `key`, and
    that failure's `Finding`."""
    finding = fails(case, key)
    if finding is None:
        return case, None
    deadline = time.monotonic() + budget
    changed = True
    while changed and time.monotonic() < deadline:
        changed = False
        for edit in list(_edits(case)):
            if time.monotonic() > deadline:
                break
            try:
                candidate = _apply(case, edit)
            except (IndexError, StopIteration):
                candidate = None        # the edit's site went away with an earlier edit
            if candidate is None or candidate.source == case.source and \
                    all(np.array_equal(a, b) for a, b in zip(candidate.args, case.args)):
                continue
            found = fails(candidate, key)
            if found is not None:
                case, finding, changed = candidate, found, True
    return case, finding
