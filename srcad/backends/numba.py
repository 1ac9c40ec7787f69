"""The Numba backend: the derivative's source compiled by `numba.njit(cache=True)`.

Two steps, both run only for `backend="numba"`:

  rewrite   (the pipeline's "numba" pass) the derivative tree into code Numba compiles:
            a loop replayed over `reversed(xs)` counts down a range and reads the item
            back with `reversed_item`; a call whose rule says Numba cannot compile it
            (`Rule.numba` False) is refused here, naming the user's file:line; a split
            helper calling only itself recomputes its tape in its backward half (defs
            added, rendered with the trees); a list grown by append no other name sees is
            appended in place
  compile   (instead of codegen's compile) the source text written to a file in the cache
            directory named by a hash of the text and of the values it reads, imported as a
            module, every def in it made an njit function (the user's helpers and custom
            rules' functions it calls too, each its own; a Python wrapper for the entries
            only), so Numba's on-disk cache serves a second process without compiling
            (recursive functions excepted: Numba's cache cannot load them)

Numba compiles at the first call for the argument types: a typing error there is raised
as a SrcadError naming the user's line the failing generated line comes from. The values
of the user's globals and closure cells the code reads are compiled in (Numba freezes
them); a call after one of them was rebound compiles again.
"""
from __future__ import annotations

import ast
import builtins
import hashlib
import importlib.util
import os
import re
import sys
import time
import types
import weakref

import numpy as np

from .. import codegen, frontend, funcs, ir, lists, rules, runtime
from ..emit import LINE_MARK
from ..errors import SrcadError, UnsupportedSyntaxError

_ITEM = "reversed_item"          # the helper a counting-down replay reads items with
_SHAPE = "shape_of"              # np.shape of a value saved for its shape (None too)
_PUSH, _POP, _TRIPS = "stack_push", "stack_pop", "trip_count"   # stacks as arrays
_ROOM, _PUT = "stack_room", "stack_put"    # a push in place, where the buffer has room
_STACK_ARRAYS = "stack_arrays"   # np.stack, lists of arrays too
_PRESENT = "present"             # an optional value as the value it holds
_OPTIONAL_ZEROS = "optional_zeros"   # zeros_like of such a value: never None itself
_ELEMENTWISE = "elementwise"     # the decorator of a def the elementwise pass wrote
_SUM = "sum_items"               # builtin sum (Numba's takes no list of arrays)
_EXPAND = "expand_dims"          # np.expand_dims, of numbers too
_REDUCE = "reduce_along"         # np.max/min/sum/mean with axis or keepdims
_HELPERS = (_ITEM, _SHAPE, _PUSH, _ROOM, _PUT, _POP, _TRIPS, _STACK_ARRAYS, _PRESENT, _OPTIONAL_ZEROS,
            _ELEMENTWISE, _SUM, _EXPAND, _REDUCE)
_MISSING = object()
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # srcad's own files
_USER_JIT: dict = {}             # id of a user function -> (the function, its njit dispatcher)
COMPILE_TIMES: dict = {}         # generated def name -> seconds its last first call compiled
_LOADERS = weakref.WeakKeyDictionary()   # a compiled derivative's entry -> its _Loader


def require():
    """numba, imported; a SrcadError saying how to install it when it is not."""
    try:
        import numba
    except ImportError:
        raise SrcadError('backend="numba" needs Numba, which is not installed: '
                         'pip install "srcad[numba]" (or pip install numba)') from None
    from . import numba_runtime  # noqa: F401  (registers the runtime's Numba versions)
    return numba


def cache_dir() -> str:
    """Where the generated modules and Numba's cache live: $SRCAD_CACHE_DIR, else
    ~/.cache/srcad/numba."""
    return os.environ.get("SRCAD_CACHE_DIR") or \
        os.path.join(os.path.expanduser("~"), ".cache", "srcad", "numba")


# ---------------------------------------------------------------- the rewrite pass

def rewrite(trees: list, fn, kinds=None, reverse: bool = False) -> list:
    """Rewrite the derivative trees in place into code Numba compiles (see the module);
    the defs they call that the rewrite added (rendered with them, no entries). `kinds`:
    the activity pass's kinds of the primal's names (numbers need no elementwise loop);
    `reverse`: the trees are reverse mode's (adjoints' zeros, see _optional_reads)."""
    require()
    taken = codegen.names_used(trees) | set(fn.reserved)
    extra = _recompute_recursive(trees, taken)
    trees = trees + extra
    recursive = _recursive_halves(trees)
    for tree in trees:
        _Rewriter(fn, taken, recursive).block(tree.body)
    shaped = {id(tree): _shaped(tree) for tree in trees}
    for tree in trees:
        partner = _forward_half(tree, trees)
        if partner is not None:       # a backward half pops what its forward half pushed
            shaped[id(tree)] = shaped[id(partner)]
    loops = []
    for tree in trees:
        _shapes_apart(tree, taken, shaped[id(tree)])
        loops += _elementwise_loops(tree, taken, fn, kinds or {})
    partners = {id(tree): _forward_half(tree, trees) for tree in trees}
    numbers = {n for n, k in (kinds or {}).items() if k in (rules.FLOAT, rules.INT)}
    for tree in trees:
        fwd = partners[id(tree)]
        if fwd is not None and sum(p is fwd for p in partners.values()) == 1:
            _split_stacks(fwd, tree, taken, numbers)
    for tree in trees:
        _stacks_as_arrays(tree, taken, numbers)
        _appends_in_place(tree)
        _optional_reads(tree, reverse)
    return extra + loops


def _optional_reads(tree, reverse: bool = False):
    """Arithmetic, indexing and NumPy calls reading a name the def declares None first
    (saved, first assigned in a loop: Numba types it an optional) read `present(y)`, the
    value it holds: Numba's typing of arithmetic fails on an optional array. Those reads
    run only where y is assigned (the user's code reads it there); its stack operations and
    zeros_like take the optional itself (None where it is not assigned yet); in reverse
    mode, that zero is optional_zeros (an array, never None: an adjoint's zero; forward
    mode's zero of a name None throughout, a tangent, is None)."""
    declared = {st.targets[0].id for st in tree.body if isinstance(st, ast.Assign) and
                len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) and
                isinstance(st.value, ast.Constant) and st.value.value is None}
    if not declared:
        return

    def some(node):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and \
                node.id in declared:
            return _call(_PRESENT, node)
        return node
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp):
            node.left, node.right = some(node.left), some(node.right)
        elif isinstance(node, ast.UnaryOp):
            node.operand = some(node.operand)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            node.value = some(node.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Name) and node.func.value.id == "np":
            node.args = [some(a) for a in node.args]
        elif reverse and isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "zeros_like" and len(node.args) == 1 and \
                isinstance(node.args[0], ast.Name) and node.args[0].id in declared:
            node.func = _name(_OPTIONAL_ZEROS)


# ---------------------------------------------------------------- the elementwise pass

_EW_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)


def _ew_ops(node):
    """The number of elementwise operations of expression `node` (arithmetic on numbers,
    float64 ufuncs of NumPy, `unbroadcast`), or None where it has anything else."""
    if isinstance(node, ast.Name):
        return 0
    if isinstance(node, ast.Constant):
        return 0 if type(node.value) in (int, float) else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        k = _ew_ops(node.operand)
        return None if k is None else k + 1
    if isinstance(node, ast.BinOp) and isinstance(node.op, _EW_OPS):
        a, b = _ew_ops(node.left), _ew_ops(node.right)
        return None if a is None or b is None else a + b + 1
    if isinstance(node, ast.Call) and not node.keywords and \
            not any(isinstance(a, ast.Starred) for a in node.args):
        rule = rules.lookup_name(ast.unparse(node.func))
        if rule is None:
            return None
        if rule.key is runtime.unbroadcast and len(node.args) == 2 and \
                isinstance(node.args[1], ast.Name):
            k = _ew_ops(node.args[0])
            return None if k is None else k
        key = rule.key
        if isinstance(key, np.ufunc) and key.nout == 1 and key.nin == len(node.args) and \
                ("d" * key.nin + "->d") in key.types:
            ks = [_ew_ops(a) for a in node.args]
            return None if None in ks else sum(ks) + 1
    return None


def _loads(node) -> list:
    """The names `node` reads (a called function's name too)."""
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and
            isinstance(n.ctx, ast.Load)]


def _operands(node) -> list:
    """The names an elementwise expression reads as values (not the functions it calls,
    which the def finds in the module, as its caller does)."""
    funcs = {id(m) for n in ast.walk(node) if isinstance(n, ast.Call) for m in ast.walk(n.func)}
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and
            isinstance(n.ctx, ast.Load) and id(n) not in funcs]


def _movable(st):
    """(reads, writes) of a statement the elementwise pass may move across elementwise
    ones: a line marker, a push (`s.append(v)`, `s.append(shape_of(v))`) or a pop
    (`t = s.pop()`); None for other statements."""
    if _line_of(st) is not None:
        return set(), set()
    if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call):
        call = st.value
        if isinstance(call.func, ast.Attribute) and call.func.attr == "append" and \
                isinstance(call.func.value, ast.Name) and len(call.args) == 1 and \
                not call.keywords:
            arg = call.args[0]
            if isinstance(arg, ast.Name) or (
                    isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name) and
                    arg.func.id == _SHAPE and len(arg.args) == 1 and
                    isinstance(arg.args[0], ast.Name)):
                return set(_loads(st)), {call.func.value.id}
        return None
    if isinstance(st, ast.Assign) and len(st.targets) == 1 and \
            isinstance(st.targets[0], ast.Name) and _stack_use(st, None) is None:
        v = st.value
        if isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and \
                v.func.attr == "pop" and isinstance(v.func.value, ast.Name) and \
                not v.args and not v.keywords:
            return {v.func.value.id}, {v.func.value.id, st.targets[0].id}
    return None


def _elementwise(st):
    """The number of operations of an elementwise statement `t = expr`, else None."""
    if isinstance(st, ast.Assign) and len(st.targets) == 1 and \
            isinstance(st.targets[0], ast.Name):
        return _ew_ops(st.value)
    return None


def _elementwise_loops(tree, taken, fn, kinds) -> list:
    """The elementwise pass: each run of consecutive elementwise statements of `tree`
    (`t = expr` of arithmetic, float ufuncs and `unbroadcast` over names; pushes, pops and
    line markers between them moved before or after the run where no name they read or
    write says otherwise; an elementwise argument of the call that ends a run becomes its
    last statement) with two operations or more becomes a call of a def of its own, marked
    `elementwise`: Numba runs it as one loop over the entries (numba_runtime.elementwise),
    without the temporary array of each statement (Numba fuses operations only within one
    statement). The def returns the names it writes that something else in `tree` reads,
    or that it reads before writing them (a loop's next iteration reads them). A run whose
    names of known kind (`kinds`, the primal's) are all numbers is left as it is (no array
    to loop over, only compile time to spend). The new defs are returned."""
    count: dict = {}
    for name in _loads(tree):
        count[name] = count.get(name, 0) + 1
    made = []

    def conflict(a, b):
        """Whether statements reading and writing a = (reads, writes) and b may not change
        places."""
        return bool(a[1] & (b[0] | b[1]) or a[0] & b[1])

    def fuse(run):
        """The statements standing for `run`: items (statement, operations, reads, writes,
        'in' / 'before' / 'after')."""
        if sum(k for _, k, _, _, _ in run) < 2:
            return [st for st, _, _, _, _ in run]
        known = [kinds[n] for st, _, _, _, place in run if place == "in"
                 for n in _loads(st) + ([st.targets[0].id] if isinstance(st, ast.Assign)
                                        else [])
                 if n in kinds]
        if known and all(k in (rules.FLOAT, rules.INT) for k in known):
            return [st for st, _, _, _, _ in run]
        inside = [st for st, _, _, _, place in run if place == "in"]
        params, written = [], set()
        for st in inside:
            if _line_of(st) is None:
                for n in _operands(st.value):
                    if n not in written and n not in params:
                        params.append(n)
                written.add(st.targets[0].id)
        reads_inside: dict = {}
        for st in inside:
            for n in _loads(st):
                reads_inside[n] = reads_inside.get(n, 0) + 1
        outs = [n for n in dict.fromkeys(st.targets[0].id for st in inside
                                         if _line_of(st) is None)
                if count.get(n, 0) > reads_inside.get(n, 0) or n in params]  # (in a loop:
        # a name the run reads before it writes it is read by the run's next iteration)
        if not outs:
            return [st for st, _, _, _, _ in run]
        name = _fresh(taken, f"{tree.name}_elementwise")
        marks = [st for st in inside if _line_of(st) is not None]
        lines = sorted({_line_of(m) for m in marks} - {0})
        where = (f"{os.path.basename(fn.filename)}:{lines[0]}" +
                 (f"-{lines[-1]}" if len(lines) > 1 else "")) if lines else "its line"
        ret = _name(outs[0]) if len(outs) == 1 else \
            ast.Tuple(elts=[_name(n) for n in outs], ctx=ast.Load())
        made.append(ast.fix_missing_locations(ast.FunctionDef(
            name=name, args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in params],
                                          kwonlyargs=[], kw_defaults=[], defaults=[]),
            body=[ast.Expr(value=ast.Constant(
                f"Elementwise statements of {tree.name} ({where}), which Numba runs as one "
                "loop over the entries."))] + inside + [ast.Return(value=ret)],
            decorator_list=[_name(_ELEMENTWISE)], returns=None, type_params=[], lineno=1)))
        target = _name(outs[0], True) if len(outs) == 1 else \
            ast.Tuple(elts=[_name(n, True) for n in outs], ctx=ast.Store())
        call = ast.Assign(targets=[target], value=_call(name, *map(_name, params)), lineno=1)
        return [rules.clone(m) for m in marks] + \
            [st for st, _, _, _, place in run if place == "before"] + [call] + \
            [st for st, _, _, _, place in run if place == "after"]

    def block(stmts):
        out, run = [], []

        def flush():
            out.extend(fuse(run))
            run.clear()

        def add(st, k):
            rw = (set(_loads(st.value)), {st.targets[0].id})
            if any(conflict(item[2:4], rw) for item in run if item[4] == "after"):
                flush()
            run.append((st, k, rw[0], rw[1], "in"))

        for st in stmts:
            for field in ("body", "orelse"):
                inner = getattr(st, field, None)
                if isinstance(inner, list) and inner:
                    setattr(st, field, block(inner))
            k = _elementwise(st)
            if k is not None:
                add(st, k)
                continue
            if isinstance(st, (ast.Assign, ast.Expr, ast.Return)) and \
                    isinstance(st.value, ast.Call):      # elementwise arguments join the run
                call = st.value
                for i, a in enumerate(call.args):
                    ka = _ew_ops(a)
                    if ka and _operands(a) and ka + sum(item[1] for item in run) >= 2:
                        tmp = _fresh(taken, "ew_arg")
                        call.args[i] = _name(tmp)
                        count[tmp] = 1
                        add(ast.Assign(targets=[_name(tmp, True)], value=a, lineno=1), ka)
            rw = _movable(st)
            if rw is None:
                flush()
                out.append(st)
            elif _line_of(st) is not None:
                run.append((st, 0, set(), set(), "in"))
            else:
                hoist = not any(conflict(item[2:4], rw) for item in run
                                if item[4] in ("in", "after"))
                run.append((st, 0, rw[0], rw[1], "before" if hoist else "after"))
        flush()
        return out

    tree.body[:] = block(tree.body)
    return made


def _is_call_of(node, func) -> bool:
    """Whether `node` calls the primitive `func` (as its rule prints it)."""
    if isinstance(node, ast.Call):
        rule = rules.lookup_name(ast.unparse(node.func))
        return rule is not None and rule.key is func
    return False


_ALONG = {np.max: "max", np.amax: "max", np.min: "min", np.amin: "min", np.sum: "sum",
          np.mean: "mean"}


def _reduction_along(node):
    """(op, x, axis, keepdims) of a call `np.max/min/amax/amin/sum/mean(x, axis, keepdims=)`
    given an axis or keepdims (Numba's np.max and np.min take no axis, none keepdims: the
    call becomes `reduce_along`), else None. A plain `np.sum(x, axis)` stays Numba's."""
    if not isinstance(node, ast.Call) or not node.args or \
            any(isinstance(a, ast.Starred) for a in node.args):
        return None
    rule = rules.lookup_name(ast.unparse(node.func))
    keys = [] if rule is None else (rule.key if isinstance(rule.key, list) else [rule.key])
    op = next((_ALONG[k] for k in keys if k in _ALONG), None)
    if op is None or len(node.args) > 2:
        return None
    kw = {k.arg: k.value for k in node.keywords}
    if None in kw or set(kw) - {"axis", "keepdims"}:
        return None
    axis = node.args[1] if len(node.args) == 2 else kw.get("axis", ast.Constant(None))
    keepdims = kw.get("keepdims", ast.Constant(False))
    plain = isinstance(axis, ast.Constant) and axis.value is None and \
        isinstance(keepdims, ast.Constant) and keepdims.value is False and len(node.args) == 1
    if plain or (op == "sum" and "keepdims" not in kw):
        return None
    return op, node.args[0], axis, keepdims


def _shaped(tree) -> list:
    """The names whose shapes `tree` pushes (`v_stack.append(np.shape(v))`), the pushes
    made `shape_of(v)` calls."""
    out = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and \
                n.func.attr == "append" and len(n.args) == 1 and \
                _is_call_of(n.args[0], np.shape) and isinstance(n.args[0].args[0], ast.Name):
            n.args[0].func = ast.Name(id=_SHAPE, ctx=ast.Load())
            out.append(n.args[0].args[0].id)
    return out


def _residual_names(node):
    """The names of a tuple of names (a split pair's residuals), else None."""
    if isinstance(node, ast.Tuple) and node.elts and \
            all(isinstance(e, ast.Name) for e in node.elts):
        return [e.id for e in node.elts]
    return None


def _forward_half(tree, trees):
    """The tree whose returned residuals (`return (out, (a, b, ...))`) `tree` unpacks
    first (`a, b, ... = residuals`, its first parameter), or None."""
    first = tree.body[0] if tree.body and not isinstance(tree.body[0], ast.Expr) else \
        (tree.body[1] if len(tree.body) > 1 else None)
    if not (isinstance(first, ast.Assign) and len(first.targets) == 1 and tree.args.args and
            isinstance(first.value, ast.Name) and first.value.id == tree.args.args[0].arg):
        return None
    names = _residual_names(first.targets[0])
    if names is None:
        return None
    for other in trees:
        for st in other.body:
            if other is not tree and isinstance(st, ast.Return) and \
                    isinstance(st.value, ast.Tuple) and len(st.value.elts) == 2 and \
                    _residual_names(st.value.elts[1]) == names:
                return other
    return None


def _shapes_apart(tree, taken, names):
    """A value the reverse sweep reads only for its shape is saved as its shape
    (`v_stack.append(np.shape(v))`, popped back into `v`): in Numba a name holds one type,
    so the reverse sweep reads such a name's shape from a name of its own (`v_shape`, the
    shape of v's last value where the sweep starts), and the pushes use `shape_of`, which
    gives a value not yet assigned (None) a shape of the dimensions it will have. `names`:
    the names whose shapes this tree (or, for a backward half, its forward half) pushes."""
    shaped = dict.fromkeys(names)
    if not shaped:
        return
    body = tree.body
    mark = next((i for i, st in enumerate(body) if _line_of(st) == 0), None)
    if mark is None:
        return
    for v in shaped:
        k, name = 0, f"{v}_shape"
        while name in taken:
            k += 1
            name = f"{v}_shape_{k}"
        taken.add(name)
        shaped[v] = name
    for st in body[mark + 1:]:
        for n in ast.walk(st):
            if isinstance(n, ast.Name) and n.id in shaped:
                n.id = shaped[n.id]
    body[mark + 1:mark + 1] = [
        ast.Assign(targets=[ast.Name(id=shaped[v], ctx=ast.Store())],
                   value=ast.Call(func=ast.Name(id=_SHAPE, ctx=ast.Load()),
                                  args=[ast.Name(id=v, ctx=ast.Load())], keywords=[]),
                   lineno=1) for v in shaped]


def _fresh(taken, base):
    return ir.unique_name(base, taken)


def _name(id_, store=False):
    return ast.Name(id=id_, ctx=ast.Store() if store else ast.Load())


def _call(func, *args):
    return ast.Call(func=_name(func), args=list(args), keywords=[])


def _stack_use(node, name):
    """'push' for a statement `name.append(v)`, 'pop' for `t = name.pop()`, else None."""
    if isinstance(node, ast.Expr):
        call = node.value
        kind, nargs = "push", 1
    elif isinstance(node, ast.Assign) and len(node.targets) == 1 and \
            isinstance(node.targets[0], ast.Name):
        call = node.value
        kind, nargs = "pop", 0
    else:
        return None
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and \
            isinstance(call.func.value, ast.Name) and call.func.value.id == name and \
            call.func.attr == ("append" if kind == "push" else "pop") and \
            len(call.args) == nargs and not call.keywords:
        return kind
    return None


def _stacks_as_arrays(tree, taken, numbers=frozenset()):
    """Stacks (a name the function's top level binds to `[]`, then only pushed with
    `.append(v)` and popped with `t = .pop()` statements) as buffers with a top index:
    `stack_push` stores numbers, flags and counters in an int64 array (their bits), the
    shapes of numbers nowhere, and anything else (arrays, their shapes) in a list, allocated
    at the first push. Before a
    `for` loop the buffer's capacity is set to what the loop pushes (its trip count times
    the pushes in its body), so it is allocated once; a while loop's buffer grows by
    doubling. A push of a name in `numbers` (the primal's numbers) stores in place where
    the buffer has room (`stack_room`, `stack_put`)."""
    top_level = {}
    for i, st in enumerate(tree.body):
        if isinstance(st, ast.Assign) and len(st.targets) == 1 and \
                isinstance(st.targets[0], ast.Name) and isinstance(st.value, ast.List) and \
                not st.value.elts:
            top_level.setdefault(st.targets[0].id, i)
    if not top_level:
        return
    uses, stmt_uses = _stack_uses(tree, top_level)
    # one binding (the `[]`), the rest pushes and pops
    stacks = {n: (_fresh(taken, f"{n}_top"), _fresh(taken, f"{n}_cap"))
              for n in sorted(top_level) if uses[n] == stmt_uses[n] + 1}
    if stacks:
        _as_buffers(tree, stacks, inits=True, numbers=numbers)


def _stack_uses(tree, names) -> tuple:
    """(the names' occurrences in `tree`, the statements of `tree` pushing or popping them)."""
    uses = {n: 0 for n in names}
    stmt_uses = {n: 0 for n in names}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in uses:
            uses[node.id] += 1
        if isinstance(node, ast.stmt):
            for n in names:
                if _stack_use(node, n):
                    stmt_uses[n] += 1
    return uses, stmt_uses


def _as_buffers(tree, stacks, inits, numbers=frozenset()):
    """The pushes and pops of `stacks` (name -> (top, cap) names) in `tree` as `stack_push`
    and `stack_pop` calls with a top index; `inits`: the `n = []` binding made `n = None`
    with top and capacity 0 (else the tree gets the buffer and its top as parameters).
    A push of a name in `numbers` stores in place where the buffer has room: no name is
    assigned (an array assigned per iteration costs Numba's reference counting, scalar_loop's
    gradient 50 us against 31 us); other pushes keep the assignment (the in-place form of a
    list of tuples is as much code again for Numba to compile: lstm's)."""

    def pushes_in(body, counts):
        for st in body:
            if isinstance(st, (ast.For, ast.While)):
                continue              # an inner loop's pushes: its own capacity
            for n in stacks:
                if _stack_use(st, n) == "push":
                    counts[n] = counts.get(n, 0) + 1
            for field in ("body", "orelse"):
                inner = getattr(st, field, None)
                if isinstance(inner, list):
                    pushes_in(inner, counts)
        return counts

    def block(stmts):
        out = []
        for st in stmts:
            if isinstance(st, ast.For) and isinstance(st.iter, ast.Name):
                for n, k in sorted(pushes_in(st.body, {}).items()):
                    top, cap = stacks[n]
                    out.append(ast.Assign(
                        targets=[_name(cap, True)],
                        value=ast.BinOp(left=_name(top), op=ast.Add(), right=ast.BinOp(
                            left=_call(_TRIPS, _name(st.iter.id)), op=ast.Mult(),
                            right=ast.Constant(k))), lineno=1))
            for field in ("body", "orelse"):
                inner = getattr(st, field, None)
                if isinstance(inner, list) and inner:
                    setattr(st, field, block(inner))
            for n, (top, cap) in stacks.items():
                kind = _stack_use(st, n)
                if kind == "push":
                    # in place where the buffer has room (no name assigned: see stack_room)
                    v = st.value.args[0]
                    if not (isinstance(v, ast.Name) and v.id in numbers):
                        st = [ast.Assign(targets=[_name(n, True)],
                                         value=_call(_PUSH, _name(n), _name(top), v,
                                                     _name(cap)), lineno=1),
                              ast.AugAssign(target=_name(top, True), op=ast.Add(),
                                            value=ast.Constant(1))]
                        break
                    st = [ast.If(test=_call(_ROOM, _name(n), _name(top), v),
                                 body=[ast.Expr(value=_call(_PUT, _name(n), _name(top),
                                                            rules.clone(v)), lineno=1)],
                                 orelse=[ast.Assign(targets=[_name(n, True)],
                                                    value=_call(_PUSH, _name(n), _name(top),
                                                                rules.clone(v), _name(cap)),
                                                    lineno=1)], lineno=1),
                          ast.AugAssign(target=_name(top, True), op=ast.Add(),
                                        value=ast.Constant(1))]
                    break
                if kind == "pop":
                    st = [ast.AugAssign(target=_name(top, True), op=ast.Sub(),
                                        value=ast.Constant(1)),
                          ast.Assign(targets=st.targets, value=_call(_POP, _name(n), _name(top),
                                                       _name(st.targets[0].id)),
                                     lineno=1)]
                    break
            out.extend(st if isinstance(st, list) else [st])
        return out

    body = block(tree.body)
    if inits:
        for n, (top, cap) in stacks.items():
            i = next(i for i, st in enumerate(body) if isinstance(st, ast.Assign) and
                     isinstance(st.targets[0], ast.Name) and st.targets[0].id == n and
                     isinstance(st.value, ast.List))
            body[i:i + 1] = [ast.Assign(targets=[_name(n, True)], value=ast.Constant(None),
                                        lineno=1),
                             ast.Assign(targets=[_name(top, True)], value=ast.Constant(0),
                                        lineno=1),
                             ast.Assign(targets=[_name(cap, True)], value=ast.Constant(0),
                                        lineno=1)]
    tree.body[:] = body


def _split_stacks(fwd, bwd, taken, numbers=frozenset()):
    """The stacks a split helper's forward half `fwd` pushes and hands to its backward half
    `bwd` in its residuals (each bound to `[]` at fwd's top, read there only by its pushes
    and the residual tuple it returns; read in bwd only by its pops) as buffers with a top
    index (see `_stacks_as_arrays`): the top goes in the residuals after its buffer."""
    ret = fwd.body[-1] if fwd.body else None
    first = next((st for st in bwd.body if not isinstance(st, ast.Expr)), None)
    if not (isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple) and
            len(ret.value.elts) == 2 and isinstance(ret.value.elts[1], ast.Tuple) and
            isinstance(first, ast.Assign) and isinstance(first.targets[0], ast.Tuple)):
        return
    res, unpack = ret.value.elts[1].elts, first.targets[0].elts
    names = [e.id if isinstance(e, ast.Name) else None for e in res]
    if names != [e.id if isinstance(e, ast.Name) else None for e in unpack]:
        return
    inits = {st.targets[0].id for st in fwd.body if isinstance(st, ast.Assign) and
             len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) and
             isinstance(st.value, ast.List) and not st.value.elts}
    candidates = [n for n in names if n in inits and names.count(n) == 1]
    fuses, fstmts = _stack_uses(fwd, candidates)
    buses, bstmts = _stack_uses(bwd, candidates)
    stacks = {}
    for n in candidates:
        # fwd: the binding, its pushes, the residual; bwd: the unpack, its pops (only)
        if fuses[n] == fstmts[n] + 2 and buses[n] == bstmts[n] + 1 and \
                not any(_stack_use(st, n) == "pop" for st in ast.walk(fwd)
                        if isinstance(st, ast.stmt)) and \
                not any(_stack_use(st, n) == "push" for st in ast.walk(bwd)
                        if isinstance(st, ast.stmt)):
            stacks[n] = (_fresh(taken, f"{n}_top"), _fresh(taken, f"{n}_cap"))
    if not stacks:
        return
    _as_buffers(fwd, stacks, inits=True, numbers=numbers)
    _as_buffers(bwd, {n: (top, None) for n, (top, _) in stacks.items()}, inits=False)
    for elts, ctx in ((ret.value.elts[1].elts, ast.Load), (first.targets[0].elts, ast.Store)):
        for i in range(len(elts) - 1, -1, -1):
            e = elts[i]
            if isinstance(e, ast.Name) and e.id in stacks:
                elts.insert(i + 1, ast.Name(id=stacks[e.id][0], ctx=ctx()))


def _appends_in_place(tree):
    """`n = [*n, e, ...]` (a new list: Numba types no list unpacking) as `n.append(e)`, for a
    list `n` no other name can see while it grows (lists.private_lists: read by `len(n)`,
    `n[...]`, `stack_arrays(n)` or after its last append)."""
    fine = lists.private_lists(tree, lambda name: name in ("len", _STACK_ARRAYS),
                               kept_after_last=True)
    if not fine:
        return

    def block(stmts):
        out = []
        for st in stmts:
            for field in ("body", "orelse"):
                inner = getattr(st, field, None)
                if isinstance(inner, list) and inner:
                    setattr(st, field, block(inner))
            name = lists.rebuilt(st)
            if name in fine:
                out.extend(ast.Expr(value=ast.Call(
                    func=ast.Attribute(value=_name(name), attr="append", ctx=ast.Load()),
                    args=[e], keywords=[]), lineno=1) for e in st.value.elts[1:])
            else:
                out.append(st)
        return out
    tree.body[:] = block(tree.body)


def _line_of(st):
    """The user's line a line marker statement stands for (0: the reverse sweep), or None."""
    if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call) and \
            isinstance(st.value.func, ast.Name) and st.value.func.id == LINE_MARK:
        return st.value.args[0].value
    return None


def _recursive_halves(trees) -> set:
    """The names of the forward halves (of split helpers) that call themselves, directly or
    through other trees: each keeps the residuals of its recursive calls among its own, a
    type nested without bound, which Numba cannot infer (it would not stop typing)."""
    names = {t.name for t in trees}
    calls = {t.name: {n.func.id for n in ast.walk(t) if isinstance(n, ast.Call) and
                      isinstance(n.func, ast.Name) and n.func.id in names} for t in trees}
    forward = {p.name for t in trees if (p := _forward_half(t, trees)) is not None}
    return {f for f in forward if f in _reached(calls, f)}


def _reached(calls: dict, f) -> set:
    """The defs `f` calls, directly or not (`calls`: def -> the defs it calls)."""
    seen, todo = set(), list(calls[f])
    while todo:
        g = todo.pop()
        if g not in seen:
            seen.add(g)
            todo.extend(calls[g])
    return seen


def _recompute_recursive(trees, taken) -> list:
    """A split helper calling itself (only itself) recomputes instead of keeping its
    recursive calls' residuals (a type nested without bound, which Numba cannot infer):
    its forward half `F` returns the value and its own arguments, computed by `F_value`
    (F's body without the tape, calling itself); its backward half `B` tapes its call
    again (`F_tape`, F's body, whose recursive calls are F's) and runs the adjoint sweep
    (`B_full`, B's body, whose recursive calls are B's). Each level's tape is made once
    more per level above it (the cost of a depth-d recursion: d primals more). The new
    defs, F_value, F_tape and B_full, are returned."""
    extra = []
    for f in list(_recursive_halves(trees)):
        fwd = next(t for t in trees if t.name == f)
        bwd = next((t for t in trees if _forward_half(t, trees) is fwd), None)
        calls = {n.func.id for n in ast.walk(fwd) if isinstance(n, ast.Call) and
                 isinstance(n.func, ast.Name) and n.func.id in {t.name for t in trees}}
        ret = fwd.body[-1]
        if bwd is None or calls - {f, bwd.name} or not (
                isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple) and
                len(ret.value.elts) == 2) or fwd.args.defaults or fwd.args.vararg or \
                fwd.args.kwonlyargs or fwd.args.posonlyargs or len(bwd.args.args) != 2:
            continue                      # left to the refusal (mutual recursion, say)
        recursive_calls = [st for st in ast.walk(fwd) if isinstance(st, ast.Assign) and
                           isinstance(st.value, ast.Call) and
                           isinstance(st.value.func, ast.Name) and st.value.func.id == f]
        if any(not (len(st.targets) == 1 and isinstance(st.targets[0], ast.Tuple) and
                    len(st.targets[0].elts) == 2 and
                    all(isinstance(e, ast.Name) for e in st.targets[0].elts))
               for st in recursive_calls):
            continue
        if not _recomputable(fwd, f):
            continue
        params = [a.arg for a in fwd.args.args]
        value, tape = _fresh(taken, f"{f}_value"), _fresh(taken, f"{f}_tape")
        full = _fresh(taken, f"{bwd.name}_full")
        value_tree = rules.clone(fwd)
        value_tree.name = value
        for st in ast.walk(value_tree):
            if isinstance(st, ast.Assign) and isinstance(st.value, ast.Call) and \
                    isinstance(st.value.func, ast.Name) and st.value.func.id == f:
                st.targets = [st.targets[0].elts[0]]
                st.value.func.id = value
        value_tree.body[-1] = ast.Return(value=value_tree.body[-1].value.elts[0])
        _drop_dead_stacks(value_tree)
        tape_tree = rules.clone(fwd)
        tape_tree.name = tape
        full_tree = rules.clone(bwd)
        full_tree.name = full
        doc = fwd.body[:1] if isinstance(fwd.body[0], ast.Expr) else []
        fwd.body[:] = doc + [ast.Return(value=ast.Tuple(elts=[
            _call(value, *map(_name, params)),
            ast.Tuple(elts=list(map(_name, params)), ctx=ast.Load())], ctx=ast.Load()))]
        inputs, d_out = (a.arg for a in bwd.args.args)
        args = [ast.Subscript(value=_call(_PRESENT, _name(inputs)), slice=ast.Constant(k),
                              ctx=ast.Load()) for k in range(len(params))]
        bdoc = bwd.body[:1] if isinstance(bwd.body[0], ast.Expr) else []
        bwd.body[:] = bdoc + [ast.Return(value=_call(full, ast.Subscript(
            value=_call(tape, *args), slice=ast.Constant(1), ctx=ast.Load()), _name(d_out)))]
        extra += [value_tree, tape_tree, full_tree]
        for t in (fwd, bwd, value_tree, tape_tree, full_tree):
            ast.fix_missing_locations(t)
    return extra


def _recomputable(fwd, f) -> bool:
    """Whether running forward half `fwd` again gives what its first run gave: it changes
    nothing in place (no item assignment; lists pushed to are its own stacks) and calls
    only itself and pure rules (a helper's half might change its arguments)."""
    own = {st.targets[0].id for st in fwd.body if isinstance(st, ast.Assign) and
           len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) and
           isinstance(st.value, ast.List) and not st.value.elts}
    for n in ast.walk(fwd):
        if isinstance(n, (ast.Subscript, ast.Attribute)) and isinstance(n.ctx, ast.Store):
            return False
        if isinstance(n, ast.AugAssign) and not isinstance(n.target, ast.Name):
            return False
        if isinstance(n, ast.Call):
            func = n.func
            if isinstance(func, ast.Name) and func.id in (f, LINE_MARK):
                continue
            if isinstance(func, ast.Attribute) and func.attr == "append" and \
                    isinstance(func.value, ast.Name) and func.value.id in own:
                continue
            rule = rules.lookup_name(ast.unparse(func))
            if rule is None or not rule.pure:
                return False
    return True


def _drop_dead_stacks(tree):
    """Without the stacks `tree` only pushes to (`s = []` at its top, then only
    `s.append(v)` or `s.append(np.shape(v))` statements): a tape nobody reads."""
    inits = {st.targets[0].id: st for st in tree.body if isinstance(st, ast.Assign) and
             len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) and
             isinstance(st.value, ast.List) and not st.value.elts}

    def push_of(st):
        if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call) and \
                isinstance(st.value.func, ast.Attribute) and st.value.func.attr == "append" \
                and isinstance(st.value.func.value, ast.Name) and len(st.value.args) == 1:
            arg = st.value.args[0]
            if isinstance(arg, ast.Name) or (_is_call_of(arg, np.shape) and
                                             isinstance(arg.args[0], ast.Name)):
                return st.value.func.value.id
        return None
    pushed = {id(st.value.func.value) for st in ast.walk(tree) if push_of(st) in inits}
    bound = {id(st.targets[0]) for st in inits.values()}
    dead = set(inits) - {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and
                         id(n) not in pushed and id(n) not in bound}

    def block(stmts):
        out = []
        for st in stmts:
            if push_of(st) in dead or (isinstance(st, ast.Assign) and
                                       any(st is inits.get(n) for n in dead)):
                continue
            for field in ("body", "orelse"):
                inner = getattr(st, field, None)
                if isinstance(inner, list) and inner:
                    setattr(st, field, block(inner) or [ast.Pass()])
            out.append(st)
        return out
    tree.body[:] = block(tree.body)


class _Rewriter:
    def __init__(self, fn, taken, recursive=frozenset()):
        self.fn, self.taken, self.line = fn, taken, fn.firstline
        self.recursive = recursive

    def fresh(self, base):
        return _fresh(self.taken, base)

    def where(self):
        """(file, line) an error names: none for a derivative of srcad's own generated code
        (a derivative differentiated again), which the user's call of it is named for."""
        env = self.fn.env
        if env is not None and isinstance(env.func, types.FunctionType) and \
                env.func.__code__ in frontend.GENERATED:
            return None, None
        return self.fn.filename, self.line

    def block(self, stmts: list):
        for i, s in enumerate(stmts):
            line = _line_of(s)
            if line is not None:
                if line:
                    self.line = line
                continue
            self.check_calls(s)
            if isinstance(s, ast.For) and self.reversed_arg(s.iter) is not None:
                s = stmts[i] = self.count_down(s)
            for field in ("body", "orelse"):
                inner = getattr(s, field, None)
                if isinstance(inner, list):
                    self.block(inner)

    def reversed_arg(self, node):
        """`xs` of an iteration over `reversed(xs)` (the builtin, as its rule knows it)."""
        if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
            rule = rules.lookup_name(ast.unparse(node.func))
            if rule is not None and rule.key is builtins.reversed:
                return node.args[0]
        return None

    def count_down(self, s: ast.For) -> ast.For:
        """`for t in reversed(xs)` as `for k in range(len(xs) - 1, -1, -1): t = item(xs, k)`
        (`reversed(xs[:n])` counts down from min(len(xs), n) - 1 over xs itself)."""
        xs = self.reversed_arg(s.iter)
        k = self.fresh("k_rev")
        n = ast.Call(func=ast.Name(id="len", ctx=ast.Load()), args=[xs], keywords=[])
        if isinstance(xs, ast.Subscript) and isinstance(xs.slice, ast.Slice) and \
                xs.slice.lower is None and xs.slice.step is None and \
                xs.slice.upper is not None:
            # xs[:count] (the iterations a loop left by break ran): no slice of a range
            n = ast.Call(func=ast.Name(id="min", ctx=ast.Load()),
                         args=[ast.Call(func=ast.Name(id="len", ctx=ast.Load()),
                                        args=[xs.value], keywords=[]), xs.slice.upper],
                         keywords=[])
            xs = xs.value
        start = ast.BinOp(left=n, op=ast.Sub(), right=ast.Constant(1))
        minus_one = ast.UnaryOp(op=ast.USub(), operand=ast.Constant(1))
        item = ast.Assign(targets=[s.target],
                          value=ast.Call(func=ast.Name(id=_ITEM, ctx=ast.Load()),
                                         args=[rules.clone(xs), ast.Name(id=k, ctx=ast.Load())],
                                         keywords=[]), lineno=1)
        return ast.For(target=ast.Name(id=k, ctx=ast.Store()),
                       iter=ast.Call(func=ast.Name(id="range", ctx=ast.Load()),
                                     args=[start, minus_one, rules.clone(minus_one)],
                                     keywords=[]),
                       body=[item] + s.body, orelse=s.orelse, lineno=1)

    def check_calls(self, s):
        """Refuse, at the user's line, a call of a primitive Numba cannot compile; calls of
        np.stack made calls of `stack_arrays` (Numba stacks no list)."""
        nodes = [s] if not isinstance(s, (ast.For, ast.While, ast.If)) else \
            [s.iter if isinstance(s, ast.For) else s.test]
        for node in nodes:
            for n in ast.walk(node):
                if _is_call_of(n, np.stack):
                    n.func = _name(_STACK_ARRAYS)
                elif _is_call_of(n, builtins.sum) and len(n.args) == 1 and not n.keywords:
                    n.func = _name(_SUM)
                elif _is_call_of(n, np.expand_dims) and len(n.args) == 2 and not n.keywords:
                    n.func = _name(_EXPAND)
                elif _reduction_along(n) is not None:
                    op, x, axis, keepdims = _reduction_along(n)
                    n.func, n.args, n.keywords = _name(_REDUCE), [x, axis, keepdims,
                                                                 ast.Constant(op)], []
                elif _is_call_of(n, np.array):      # (np.array's tangent passes the default
                    n.keywords = [k for k in n.keywords     # ndmin=0, which Numba's lacks)
                                  if not (k.arg == "ndmin" and isinstance(k.value, ast.Constant)
                                          and k.value.value == 0)]
                elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and \
                        n.func.id in self.recursive:
                    raise UnsupportedSyntaxError(
                        'backend="numba" cannot compile the reverse mode of a recursive '
                        'function that changes values in place or calls other functions '
                        '(the values each call saves hold those of its recursive calls: a '
                        'type Numba cannot infer; one that only computes from its arguments '
                        'is run again instead); use the default backend, or forward mode',
                        *self.where())
                elif isinstance(n, ast.Call):
                    rule = rules.lookup_name(ast.unparse(n.func))
                    if rule is not None and not rule.numba:
                        where = self.where()
                        what = f"{rule.label} (Numba has no version of it)" \
                            if where[0] is not None else \
                            (f"a derivative taken inside the differentiated function (its "
                             f"own derivative calls {rule.label}, which has no Numba version)")
                        raise UnsupportedSyntaxError(
                            f'backend="numba" cannot compile {what}; use the default '
                            'backend for this function', *where)


# ---------------------------------------------------------------- compiling

def compile_functions(trees: list, text: str, fn, user_globals: dict, closure: dict,
                      injected: dict) -> list:
    """The derivative functions of `text` (the rendered trees and the helpers' derivatives)
    compiled by Numba: callables raising SrcadError for what Numba cannot type. (The API
    passes every argument; `d_out` defaults to 1.0 in the text itself.)"""
    numba = require()
    loader = _Loader(numba, text, fn, user_globals, closure, injected,
                     {tree.name for tree in trees})
    _refuse_mutual_recursion(text, fn, loader.lines)
    return [_entry(loader, tree.name, tree) for tree in trees]


def _refuse_mutual_recursion(text, fn, lines):
    """Refuse, at the user's line calling them, helpers whose forward halves call each other
    in a cycle (the rewrite recomputes a helper calling only itself; the residuals of a
    cycle through several helpers nest without bound, which Numba cannot type)."""
    defs = [d for d in ast.parse(text).body if isinstance(d, ast.FunctionDef)]
    cyclic = _recursive_halves(defs)
    if not cyclic:
        return
    line = next((lines.get(n.lineno) for d in defs if d.name not in cyclic
                 for n in ast.walk(d) if isinstance(n, ast.Call) and
                 isinstance(n.func, ast.Name) and n.func.id in cyclic and
                 lines.get(n.lineno)), None)
    raise UnsupportedSyntaxError(
        'backend="numba" cannot compile the reverse mode of functions calling each other '
        'recursively (the values each call saves hold those of the calls it makes: a type '
        'Numba cannot infer; a function calling only itself compiles); use the default '
        'backend, or forward mode', *((fn.filename, line) if line else (None, None)))
    # (no line here: a helper's build, whose caller names its call)


class _Loader:
    """The module of one derivative text, (re)loaded for the current values of the names it
    reads from the user's globals and closure cells."""

    def __init__(self, numba, text, fn, user_globals, closure, injected, entries):
        self.numba, self.text, self.fn, self.entries = numba, text, fn, entries
        self.user_globals, self.closure, self.injected = user_globals, closure, injected
        self.read_via = {}     # name -> the copy (its injected name) whose cell it is
        tree = ast.parse(text)
        self.defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        imported = {a.asname or a.name.split(".")[0] for n in tree.body
                    if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
        free = set()
        for d in tree.body:                  # each def's names that are not its locals
            if isinstance(d, ast.FunctionDef):
                local = {n.id for n in ast.walk(d) if isinstance(n, ast.Name)
                         and isinstance(n.ctx, ast.Store)} | \
                    {a.arg for n in ast.walk(d) if isinstance(n, ast.arguments)
                     for a in n.args + n.kwonlyargs}
                free |= {n.id for n in ast.walk(d) if isinstance(n, ast.Name)} - local
        self.free = sorted(free - self.defined - imported - set(dir(builtins)))
        self.uncached = _reaching_recursion(tree, self.defined)
        self.lines = _user_lines(text, fn.filename)
        self.dispatchers = None
        self.values = None

    def current(self) -> dict:
        """name -> the value the code reads for it now (closure cell, injected, global; a
        name only a helper's derivative reads, whose text is part of this one, as that
        derivative reads it)."""
        out = {}
        for n in self.free:
            if n in self.closure:
                out[n] = self.closure[n].cell_contents
            elif n in self.injected:
                out[n] = self.injected[n]
            elif n in self.user_globals:
                out[n] = self.user_globals[n]
        missing = [n for n in self.free if n not in out]
        if missing:
            for n, v in self.callees_read(set(missing)).items():
                out[n] = v
        for name, f in list(out.items()) + list(self.injected.items()):
            if not isinstance(f, types.FunctionType):
                continue
            for n, c in zip(f.__code__.co_freevars, f.__closure__ or ()):
                if n in self.free and n not in out:   # a copy's cell its text reads (a Maker
                    out[n] = c.cell_contents          # of a function value, see funcs)
                    self.read_via[n] = name
        return out

    def callees_read(self, names: set) -> dict:
        """The values the helpers' derivatives this one calls read for `names` (two
        different values for one name, which one module cannot hold, are refused)."""
        found: dict = {}
        for v in self.injected.values():
            callee = _LOADERS.get(v) if isinstance(v, types.FunctionType) else None
            if callee is None or callee is self:
                continue
            for n, value in callee.current().items():
                if n in names:
                    if n in found and found[n] is not value:
                        raise UnsupportedSyntaxError(
                            f'backend="numba" cannot compile the derivative of {self.fn.name}: '
                            f'the derivatives of two of the functions it calls read different '
                            f'values named {n}, which one compiled module cannot hold; use '
                            'the default backend', self.fn.filename, self.fn.firstline)
                    found[n] = value
        return found

    def stale(self) -> bool:
        values = self.values
        for n, v in values.items():
            if n in self.closure:
                now = self.closure[n].cell_contents
            elif n in self.injected:
                continue
            else:
                now = self.user_globals.get(n, _MISSING)
                if now is _MISSING:              # read by a helper's derivative (current)
                    now = self.callees_read({n}).get(n, _MISSING)
            if now is not v:
                return True
        return False

    def load(self):
        values = self.current()
        # the plain copies of specialised helpers in this text rebuild their function
        # values from Makers it reads as globals: those defs call the functions directly
        makers = {n: v for n, v in values.items() if isinstance(v, funcs.Maker)}
        rebuilt = _maker_defs(self.text, makers) if makers else {}
        uses = {}
        for node in ast.walk(ast.parse(self.text)):
            if isinstance(node, ast.Name) and node.id in makers:
                uses[node.id] = uses.get(node.id, 0) + 1
        rebuilding = {}
        for d, body, found in rebuilt.values():
            for st in d.body:
                if st not in body:
                    rebuilding[st.value.func.id] = rebuilding.get(st.value.func.id, 0) + 1
        handled = {n for n in makers if uses.get(n, 0) == rebuilding.get(n, 0)}
        for n, v in values.items():
            if n in handled:
                continue
            if _function_value(v) and (
                    not isinstance(v, types.FunctionType) or _jitted(self.numba, v) is None):
                raise self.value_refused(n)
        folder = cache_dir()
        os.makedirs(folder, exist_ok=True)
        modname = module_name(self.text, values)
        path = os.path.join(folder, modname + ".py")
        if not os.path.exists(path):
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w") as fh:
                fh.write(self.text)
            os.replace(tmp, path)               # atomic: another process may write it too
        spec = importlib.util.spec_from_file_location(modname, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[modname] = module        # Numba's cache finds the module by its name
        spec.loader.exec_module(module)
        env = module.__dict__
        for n, v in values.items():
            env[n] = _jitted(self.numba, v)
        taken = {x.id for x in ast.walk(ast.parse(self.text)) if isinstance(x, ast.Name)} | \
            set(env)
        for name, (d, body, found) in rebuilt.items():
            new_body = _direct_calls(self.numba, d, body, found, env, taken)
            if new_body is None:       # a rebuilt value handed on: no Numba form
                raise self.value_refused(next(st.value.func.id for st in d.body
                                              if st not in body))
            d.body, d.decorator_list = new_body, []
            exec(compile(ast.Module(body=[ast.fix_missing_locations(d)], type_ignores=[]),
                         path, "exec"), env)
        for n, v in list(env.items()):       # custom rules' functions the text imports
            if n not in self.defined and isinstance(v, types.FunctionType) and \
                    not _own(v) and not n.startswith("__"):
                env[n] = _jitted(self.numba, v)
        from .numba_runtime import is_elementwise
        for n in self.defined:      # only the entries are called from Python: the others
            if is_elementwise(env[n]):     # compiled into their callers (an overload)
                continue
            env[n] = self.numba.njit(    # need no wrapper (nor Numba boxing their arguments)
                cache=n not in self.uncached, no_cpython_wrapper=n not in self.entries)(env[n])
        self.values, self.dispatchers = values, env
        return env

    def value_refused(self, n) -> UnsupportedSyntaxError:
        """The refusal of a function value `n` Numba cannot compile, at the user's line."""
        filename, line, what = _line_reading(self.text, n)
        if not what and n in self.read_via:     # read inside a copy: its call
            filename, line, what = _line_reading(self.text, self.read_via[n])
        return UnsupportedSyntaxError(
            'backend="numba" cannot compile ' + (f"`{what}`" if what else
                                                 f"the derivative of {self.fn.name}") +
            ': it calls a function passed as a value (a lambda or nested def handed '
            'to another function), which has no Numba form; use the default backend '
            'for this function', filename, line)

    def get(self, name):
        if self.dispatchers is None or self.stale():
            self.load()
        return self.dispatchers[name]

    def crash(self, exc) -> SrcadError:
        """Numba's compiler failing on the derivative's types (its own internal error, not
        a typing error naming a line) as a SrcadError at the user's function."""
        said = _plain(str(exc)).strip()
        reason = _without_generated(f"{type(exc).__name__}: {said}" if said else
                                    type(exc).__name__)
        reason = _user_names(reason, self.fn.source_lines)[0]
        if len(reason) > 160:
            reason = reason[:157] + "..."
        return UnsupportedSyntaxError(
            f'backend="numba" cannot compile the derivative of {self.fn.name}: Numba failed '
            f'on its types ({reason}); use the default backend="python"',
            self.fn.filename, self.fn.firstline)

    def error(self, exc) -> SrcadError:
        """Numba's typing error as a SrcadError at the user's line it comes from."""
        msg = _plain(str(exc))
        filename, line = self.fn.filename, None
        for part in msg.split('File "')[1:]:
            path, _, rest = part.partition('", line ')
            digits = rest.split(":")[0].split(")")[0].strip()
            if not digits.isdigit():
                continue
            if os.path.basename(path).startswith("srcad_numba_"):
                line = self.lines.get(int(digits), line)
            elif not os.path.abspath(path).startswith(_PACKAGE):
                filename, line = os.path.abspath(path), int(digits)
        lines = [l.strip() for l in msg.splitlines()]
        reason = next((l[l.index("srcad's numba backend"):] for l in lines
                       if "srcad's numba backend has no" in l), None) or \
            next((l for l in lines if l and not l.startswith("Failed in")), "")
        reason = _without_generated(reason)
        reason, named = _user_names(reason, self.fn.source_lines)
        if len(reason) > 160:
            reason = reason[:157] + "..."
        if filename == self.fn.filename and named:   # a line of the name it is about
            line = _line_naming(self.fn, named, line)
        what = self.fn.source_lines.get(line, "").strip() if filename == self.fn.filename \
            else ""
        shown = f"`{what}`" if what else f"the derivative of {self.fn.name}"
        return UnsupportedSyntaxError(f'backend="numba" cannot compile {shown}: {reason}',
                                      filename, line)


def _in_numba_compiler(tb) -> bool:
    """Whether an exception was raised while Numba typed or lowered the code (a frame of
    its compiler's modules), not by the compiled code running."""
    import numba.core
    core = os.path.dirname(os.path.abspath(numba.core.__file__))
    while tb is not None:
        if os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(core + os.sep):
            return True
        tb = tb.tb_next
    return False


def _without_generated(reason: str) -> str:
    """Numba's reason without what names the generated code (the module's path and line,
    Numba's names of its temporaries: `for '$276call.9', defined at /.../srcad_numba_...py
    (247)`), which tell a user nothing."""
    cut = reason.find(", defined at ")
    if cut >= 0 and "srcad_numba_" in reason[cut:]:
        reason = reason[:cut]
    words = reason.split(" ")
    out = []
    for i, w in enumerate(words):
        if w.startswith("'$") and out and out[-1] == "for":
            out.pop()
            continue
        out.append(w)
    return " ".join(out)


_QUOTED = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*)(?:\.[0-9]+)*'")
_DERIVED = re.compile(r"^(.*)_(bar|dot)(?:_[0-9]+)?$")
_SAVED = re.compile(r"^(.*)_stack(?:_top|_cap)?(?:_[0-9]+)?$")


def _user_names(reason: str, source_lines: dict):
    """Numba's reason with the generated variables it names (`'y_bar.2'`: srcad's adjoint
    of y, Numba's SSA version 2; `'y_stack'`, `'v0'`) put as the user's: `the derivative of
    `y``, `the values of `y` saved for the reverse sweep`, `a value srcad computes`; and the
    user's name the first of them is about (or None)."""
    words = {w for text in source_lines.values()
             for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)}
    named = []

    def put(m):
        name = m.group(1)
        for pattern, say in ((_DERIVED, "the derivative of `{}`"),
                             (_SAVED, "the values of `{}` saved for the reverse sweep")):
            got = pattern.match(name)
            if got and got.group(1) in words:
                named.append(got.group(1))
                return say.format(got.group(1))
            if got:
                return "a value srcad computes"
        if name in words:
            named.append(name)
            return f"`{name}`"
        return "a value srcad computes"
    return _QUOTED.sub(put, reason), (named[0] if named else None)


def _line_naming(fn, name: str, line):
    """`line` where the user's source there names `name`, else the first line of fn
    assigning it (or reading it), else `line`."""
    token = re.compile(rf"(?<![A-Za-z0-9_.]){re.escape(name)}(?![A-Za-z0-9_])")
    if line is not None and token.search(fn.source_lines.get(line, "")):
        return line
    own = sorted(n for n in fn.source_lines if n >= fn.firstline)
    assigns = re.compile(rf"^\s*(?:[A-Za-z0-9_, ]*,\s*)?{re.escape(name)}\s*(?:,[^=]*)?"
                         r"(?:[-+*/@%&|^]|//|\*\*)?=(?!=)")
    for pattern in (assigns, token):
        for n in own:
            if pattern.search(fn.source_lines[n]):
                return n
    return line


def _reaching_recursion(module, defined) -> set:
    """The defs of `module` that call, directly or not, a def calling itself: Numba's cache
    cannot load a recursive function (its call of itself is left unresolved), nor a
    function linked with one."""
    calls = {d.name: {n.func.id for n in ast.walk(d) if isinstance(n, ast.Call) and
                      isinstance(n.func, ast.Name) and n.func.id in defined}
             for d in module.body if isinstance(d, ast.FunctionDef)}
    reach = {f: _reached(calls, f) for f in calls}
    cyclic = {f for f in calls if f in reach[f]}
    return {f for f in calls if f in cyclic or reach[f] & cyclic}


def _entry(loader: _Loader, name: str, tree):
    """The callable a derivative is: the njit function of `name`, compiled (and timed) at
    its first call for each argument types, Numba's errors turned into SrcadError."""
    from numba.core.errors import NumbaError
    state = {"disp": None, "timed": False}

    def call(*args):
        disp = state["disp"]
        if disp is None or loader.stale():
            disp = state["disp"] = loader.get(name)
            state["timed"] = False
        try:
            if not state["timed"]:
                start = time.perf_counter()
                out = disp(*args)
                COMPILE_TIMES[name] = time.perf_counter() - start
                state["timed"] = True
                return out
            return disp(*args)
        except NumbaError as e:
            raise loader.error(e) from None
        except Exception as e:
            if _in_numba_compiler(e.__traceback__):
                raise loader.crash(e) from None
            raise
    call.__name__ = call.__qualname__ = name
    call.__doc__ = ast.get_docstring(tree)
    call.__srcad_numba__ = state
    _LOADERS[call] = loader
    return call


def _jitted(numba, value):
    """A user function as its own njit function (once per function; a specialised helper
    rebuilding function values as one calling their functions directly, see
    `_without_makers`); other values as they are."""
    if isinstance(value, types.FunctionType) and not _own(value) and \
            not hasattr(value, "__srcad_numba__"):
        hit = _USER_JIT.get(id(value))
        if hit is None or hit[0] is not value:
            plain = _without_makers(numba, value) if _function_value(value) else value
            if plain is None:
                _USER_JIT[id(value)] = (value, None)
                return None
            _USER_JIT[id(value)] = hit = (value, _njit_calling_jitted(numba, plain))
        return hit[1]
    return value


def _njit_calling_jitted(numba, func):
    """numba.njit of `func`, the user functions it reads as globals or closure cells (the
    function a lambda calls) compiled too: a copy reading their njit functions instead,
    made only where it reads one."""
    code = func.__code__
    glob = func.__globals__
    cells = func.__closure__ or ()
    called = [n for n in code.co_names if _user_function(glob.get(n))]
    if not called and not any(_user_function(c.cell_contents) for c in cells
                              if _cell_full(c)):
        return numba.njit(func)
    glob = dict(glob)
    new_cells = tuple(types.CellType(c.cell_contents) if _cell_full(c) else types.CellType()
                      for c in cells)
    copy = types.FunctionType(code, glob, func.__name__, func.__defaults__, new_cells or None)
    disp = numba.njit(copy)
    _USER_JIT[id(func)] = (func, disp)         # (a function calling itself finds its own)
    for n in called:
        glob[n] = _jitted(numba, glob[n]) or glob[n]
    for c in new_cells:
        if _cell_full(c) and _user_function(c.cell_contents):
            c.cell_contents = _jitted(numba, c.cell_contents) or c.cell_contents
    return disp


def _user_function(v) -> bool:
    return isinstance(v, types.FunctionType) and not _own(v) and \
        not hasattr(v, "__srcad_numba__")


def _cell_full(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def _without_makers(numba, func):
    """`func`, a helper srcad specialised on function values (its first lines rebuild each
    from what it captured, `f = f_make(f_x)`, by a funcs.Maker), as a function Numba
    compiles: each call `f(a)` a direct call of the function the Maker wraps, with the
    captured values where its layout puts them (funcs.Bound's order), that function (and
    the user functions `func` reads as globals) compiled in turn. None where a rebuilt
    value is used otherwise than called with positional arguments (passed on as a value),
    or the text is not srcad's."""
    text = frontend.GENERATED.get(func.__code__)
    if text is None:
        return None
    cells = dict(zip(func.__code__.co_freevars, func.__closure__ or ()))
    tree = ast.parse(text).body[0]
    makers, body = {}, []
    for st in tree.body:
        if isinstance(st, ast.Assign) and len(st.targets) == 1 and \
                isinstance(st.targets[0], ast.Name) and isinstance(st.value, ast.Call) and \
                isinstance(st.value.func, ast.Name) and st.value.func.id in cells and \
                isinstance(cells[st.value.func.id].cell_contents, funcs.Maker) and \
                not st.value.keywords:
            makers[st.targets[0].id] = (cells[st.value.func.id].cell_contents.layout,
                                        st.value.args)
        else:
            body.append(st)
    env = dict(func.__globals__)
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | set(env)
    new_body = _direct_calls(numba, tree, body, makers, env, taken)
    if new_body is None:
        return None
    tree.body = new_body
    for n in {x.id for x in ast.walk(tree) if isinstance(x, ast.Name)}:
        if n in cells and n not in makers:
            env[n] = cells[n].cell_contents

    tree.decorator_list = []
    code = compile(ast.Module(body=[ast.fix_missing_locations(tree)], type_ignores=[]),
                   func.__code__.co_filename, "exec")
    exec(code, env)
    return env[tree.name]


def _direct_calls(numba, tree, body, makers, env, taken):
    """`body` (the statements of def `tree` but those rebuilding function values) with each
    call `f(a)` of a rebuilt value `f` (makers: name -> (the Maker's layout, the captured
    values' expressions)) a direct call of the function it wraps, added to `env` compiled
    (`_jitted`); None where a rebuilt value is used otherwise than called with positional
    arguments."""
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    if any(isinstance(n, ast.Name) and n.id in makers and id(n) not in called
           for st in body for n in ast.walk(st)):
        return None
    targets = {}

    class Direct(ast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            if not (isinstance(node.func, ast.Name) and node.func.id in makers):
                return node
            layout, cap = makers[node.func.id]
            obj, npre, kwnames, nextras, nown, own, defaults, _, tail = layout[:9]
            if len(layout) > 9 and layout[9] is not None:    # extras by keyword (*args)
                raise _NotDirect
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise _NotDirect
            pre, kw = cap[:npre], cap[npre:npre + len(kwnames)]
            extras = cap[npre + len(kwnames):]
            args = list(pre) + node.args
            if nextras and tail and len(args) > nown:
                args = args[:nown] + list(extras) + args[nown:]
            elif nextras:
                for k in range(len(args), nown):
                    d = defaults[k - (nown - len(defaults))]
                    if type(d) not in (int, float, bool, str, type(None)):
                        raise _NotDirect
                    args.append(ast.Constant(d))
                args += list(extras)
            if id(obj) not in targets:
                targets[id(obj)] = ir.unique_name(f"{getattr(obj, '__name__', 'f')}_value",
                                                  taken)
                taken.add(targets[id(obj)])
                env[targets[id(obj)]] = _jitted(numba, obj) if \
                    isinstance(obj, types.FunctionType) else obj
            return ast.Call(func=_name(targets[id(obj)]), args=[rules.clone(a) for a in args],
                            keywords=[ast.keyword(arg=k, value=rules.clone(v))
                                      for k, v in zip(kwnames, kw)])
    try:
        return [Direct().visit(st) for st in body] or [ast.Pass()]
    except _NotDirect:
        return None


def _maker_defs(text: str, makers: dict) -> dict:
    """The defs of a derivative's own text that rebuild function values from Makers the
    module reads as globals (`f = f_make(f_x)` first thing: the plain copy of a helper
    srcad specialised on function values, which the derivative calls for a value it does
    not differentiate, e.g. a descent's `fx = f(x)`): def name -> (its tree, the statements
    but those, name -> (layout, captured expressions))."""
    out = {}
    for d in ast.parse(text).body:
        if not isinstance(d, ast.FunctionDef):
            continue
        found, body = {}, []
        for st in d.body:
            if isinstance(st, ast.Assign) and len(st.targets) == 1 and \
                    isinstance(st.targets[0], ast.Name) and isinstance(st.value, ast.Call) and \
                    isinstance(st.value.func, ast.Name) and st.value.func.id in makers and \
                    not st.value.keywords:
                found[st.targets[0].id] = (makers[st.value.func.id].layout, st.value.args)
            else:
                body.append(st)
        if found:
            out[d.name] = (d, body, found)
    return out


class _NotDirect(Exception):
    """A rebuilt function value used otherwise than called with positional arguments."""


def _own(func) -> bool:
    """Whether `func` is srcad's (the runtime's helpers have Numba versions registered)."""
    return (func.__module__ or "").split(".")[0] == "srcad"


def module_name(text: str, values: dict) -> str:
    """The name of the module (and of Numba's cache) of a derivative text reading `values`:
    a hash of the text, the values, the Numba and NumPy versions and srcad's runtime."""
    import numba
    key = hashlib.sha256("\0".join(
        [text, numba.__version__, np.__version__, _runtime_fingerprint()] +
        [f"{n}={_fingerprint(v)}" for n, v in sorted(values.items())]).encode()).hexdigest()
    return f"srcad_numba_{key[:24]}"


def _runtime_fingerprint() -> str:
    """A hash of the runtime files the compiled code calls into (their Numba versions are
    compiled into Numba's cache, which does not see them change)."""
    global _RUNTIME_HASH
    if _RUNTIME_HASH is None:
        h = hashlib.sha256()
        for name in ("runtime.py", os.path.join("backends", "numba_runtime.py")):
            with open(os.path.join(_PACKAGE, name), "rb") as fh:
                h.update(fh.read())
        _RUNTIME_HASH = h.hexdigest()
    return _RUNTIME_HASH


_RUNTIME_HASH = None


def _fingerprint(v) -> str:
    """What the compiled code depends on in a value Numba compiles in."""
    if isinstance(v, np.ndarray):
        return f"array:{v.dtype}:{v.shape}:{hashlib.sha256(v.tobytes()).hexdigest()}"
    if isinstance(v, (bool, int, float, complex, str, type(None))):
        return f"{type(v).__name__}:{v!r}"
    if isinstance(v, types.ModuleType):
        return f"module:{v.__name__}"
    if isinstance(v, funcs.Maker):             # what the defs rebuilding from it call
        return "maker:" + ";".join(_fingerprint(x) for x in v.layout)
    if isinstance(v, tuple):
        return "(" + ",".join(_fingerprint(x) for x in v) + ")"
    if isinstance(v, types.FunctionType):
        code = v.__code__
        return f"function:{v.__module__}.{v.__qualname__}:{hashlib.sha256(code.co_code).hexdigest()}"
    return f"{type(v).__module__}.{type(v).__qualname__}"


def _function_value(v) -> bool:
    """Whether `v` is (or is a function closing over) srcad's form of a function passed as
    a value (a Maker rebuilding it in a specialised helper, or what that makes)."""
    kinds = (funcs.Maker, funcs.Bound, funcs.FuncVal)
    if isinstance(v, kinds):
        return True
    return isinstance(v, types.FunctionType) and (
        any(isinstance(c.cell_contents, kinds) for c in v.__closure__ or ()) or
        any(isinstance(v.__globals__.get(n), kinds) for n in v.__code__.co_names))


def _line_reading(text: str, name: str):
    """(file, line, statement) of the user's statement whose generated code first reads
    `name` (the `# statement  [file:n]` comment above it, the file found by its base name
    among the paths the text's docstrings name), or (None, None, "")."""
    paths = {}
    for word in text.replace("(", " ").replace(")", " ").split():
        path = word.rsplit(":", 1)[0]
        if path.endswith(".py") and os.path.isabs(path):
            paths.setdefault(os.path.basename(path), path)
    current = None
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#") and s.endswith("]") and "  [" in s:
            base, _, num = s.rsplit("  [", 1)[1][:-1].rpartition(":")
            if num.isdigit() and base in paths:
                current = (paths[base], int(num), s[1:].rsplit("  [", 1)[0].strip())
        elif current is not None and not s.startswith(("#", "def ", '"""')):
            try:
                tree = ast.parse(s)
            except SyntaxError:
                continue
            if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(tree)):
                return current
    return None, None, ""


def _user_lines(text: str, filename: str) -> dict:
    """Generated line number -> the user's line its code comes from (the `[file:n]`
    comment codegen writes above each user statement's code)."""
    tag = f"  [{os.path.basename(filename)}:"
    out, current = {}, None
    for i, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if s.startswith("#") and s.endswith("]") and tag in s:
            num = s.rsplit(":", 1)[1][:-1]
            if num.isdigit():
                current = int(num)
        out[i] = current
    return out


def _plain(msg: str) -> str:
    """Numba's message without terminal colour codes and memory addresses."""
    out, i = [], 0
    while i < len(msg):
        if msg[i] == "\x1b":
            j = msg.find("m", i)
            i = j + 1 if j >= 0 else len(msg)
            continue
        out.append(msg[i])
        i += 1
    words = "".join(out).split(" ")
    return " ".join("<address>" if w.startswith("0x") else w for w in words)


def header(text: str) -> str:
    """The text `srcad.source(..., backend="numba")` shows: what is compiled, and how."""
    return ("# compiled by srcad's numba backend: every def below is numba.njit(cache=True)\n"
            + text)


def text_of(text: str) -> str:
    """The source the numba backend compiles: codegen's text, with `reversed_item`
    imported where the rewrite used it, under a header saying how it is compiled."""
    tree = ast.parse(text)
    used = [h for h in _HELPERS
            if any(isinstance(n, ast.Name) and n.id == h for n in ast.walk(tree))]
    if used:
        text = f"from srcad.backends.numba_runtime import {', '.join(used)}\n" + text
    return header(text)
__all__ = ["rewrite", "compile_functions", "text_of", "require", "cache_dir", "COMPILE_TIMES"]
