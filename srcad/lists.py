"""Lists grown in place in generated code.

The lowering keeps lists values: `xs.append(v)` is `xs = [*xs, v]`, a new list, so a loop
may save the old one (`xs_stack.append(xs)`) and the reverse sweep restore it
(`xs = xs_stack.pop()`), and the adjoint of the append drops the last item
(`xs_bar = t_bar[:-1]`). Each of these copies the list: n appends cost O(n^2). For a list
no other name can see while it changes, the same values come from changing it in place:
`xs.append(v)` forward, `xs.pop()` where the reverse sweep restored it, and
`last = xs_bar.pop()` for the adjoint. `private_lists` decides which lists those are (the
Numba backend asks it too: Numba types no `[*xs, v]`); `grow_in_place` rewrites a Python
derivative.
"""
from __future__ import annotations

import ast

from . import rules
from .optimize import NODE_FIELDS, nodes


def _reads_items(name: str) -> bool:
    """A call printed `name(...)` reads a list argument's items and keeps no reference to the
    list (its rule's `reads_items`)."""
    rule = rules.lookup_name(name)
    return rule is not None and rule.reads_items


def _new_list(call) -> bool:
    """`call` returns a new list no other name holds (its rule's `new_list`)."""
    rule = rules.lookup_name(_dotted(call.func))
    return rule is not None and rule.new_list


def rebuilt(st):
    """The name `n` of a statement `n = [*n, e, ...]` (the lowering's form of `n.append(e)`,
    a new list), else None."""
    if isinstance(st, ast.Assign) and len(st.targets) == 1 and \
            isinstance(st.targets[0], ast.Name) and isinstance(st.value, ast.List) and \
            len(st.value.elts) > 1 and isinstance(st.value.elts[0], ast.Starred) and \
            isinstance(st.value.elts[0].value, ast.Name) and \
            st.value.elts[0].value.id == st.targets[0].id and \
            not any(isinstance(e, ast.Starred) for e in st.value.elts[1:]):
        return st.targets[0].id
    return None


def _dotted(node) -> str:
    """`node`'s text when it is a name or a dotted name (`np.stack`), else "" (cheaper than
    ast.unparse: these passes ask it of every call that reads a list)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else ""
    return ""


def _display(value) -> bool:
    return isinstance(value, ast.List) and not any(isinstance(e, ast.Starred)
                                                   for e in value.elts)


_BLOCK_FIELDS = ("body", "orelse", "finalbody")


class _Facts:
    """What the passes below ask of a tree, from one walk (optimize.nodes' order, which is
    ast.walk's): each node's parent, the top-level statement holding it (`top`: index in
    the function's body), each name's loads and stores, the statement lists (`blocks`),
    the rebuilds `n = [*n, e, ...]` per name, and whether any `b = t[:-1]` occurs. The
    rewrites keep them up to date (`drop`, `add`) instead of walking the tree again."""

    def __init__(self, tree):
        self.parent = parent = {}
        self.top = top = {}
        self.loads, self.stores = {}, {}
        self.rebuilds = rebuilds = {}
        self.blocks = blocks = []
        self.drops = False
        for i, st in enumerate(tree.body):
            top[id(st)] = i
        out = [tree]
        append = out.append
        AST = ast.AST
        fields_of = NODE_FIELDS
        Name, Assign = ast.Name, ast.Assign
        has_blocks = _HAS_BLOCKS
        for node in out:                      # grows while it is read
            cls = node.__class__
            if cls is Name:
                self._name(node)
                continue
            if cls is Assign:
                name = rebuilt(node)
                if name is not None:
                    rebuilds.setdefault(name, []).append(node)
                elif not self.drops and _drop_last(node) is not None:
                    self.drops = True
            t = top.get(id(node))
            for f in fields_of[cls]:
                v = getattr(node, f, None)
                if v.__class__ is list:
                    for x in v:
                        if isinstance(x, AST):
                            append(x)
                            parent[id(x)] = node
                            if t is not None:
                                top[id(x)] = t
                elif isinstance(v, AST):
                    append(v)
                    parent[id(v)] = node
                    if t is not None:
                        top[id(v)] = t
            if has_blocks[cls]:
                for f in _BLOCK_FIELDS:
                    inner = getattr(node, f, None)
                    if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                        blocks.append(inner)

    def _name(self, n):
        (self.stores if isinstance(n.ctx, ast.Store) else self.loads).setdefault(
            n.id, []).append(n)

    def names(self) -> set:
        """The names the tree holds now."""
        return {k for k, v in self.loads.items() if v} | {k for k, v in self.stores.items() if v}

    def drop(self, node):
        """`node` and its subtree leave the tree: their names are no loads or stores."""
        gone = {}
        for m in nodes(node):
            if m.__class__ is ast.Name:
                gone.setdefault((isinstance(m.ctx, ast.Store), m.id), set()).add(id(m))
        for (store, name), ids in gone.items():
            table = self.stores if store else self.loads
            table[name] = [m for m in table[name] if id(m) not in ids]

    def add(self, node, parent):
        """`node` (new, or moved: dropped first) joins the tree under `parent`, located where
        `parent` is (as ast.fix_missing_locations of the whole tree would locate it)."""
        self.parent[id(node)] = parent
        if not hasattr(node, "lineno") and "lineno" in node._attributes:
            ast.fix_missing_locations(ast.copy_location(node, parent))
        for m in nodes(node):
            if m.__class__ is ast.Name:
                self._name(m)
            for c in _children(m):
                self.parent[id(c)] = m


class _HasBlocks(dict):
    def __missing__(self, cls):
        has = self[cls] = any(f in cls._fields for f in _BLOCK_FIELDS)
        return has


_HAS_BLOCKS = _HasBlocks()


def _children(node) -> list:
    out = []
    for f in NODE_FIELDS[node.__class__]:
        v = getattr(node, f, None)
        if v.__class__ is list:
            out += [x for x in v if isinstance(x, ast.AST)]
        elif isinstance(v, ast.AST):
            out.append(v)
    return out


def private_lists(tree, readers=_reads_items, kept_after_last=False, stores=None,
                  facts=None):
    """The lists `n` that `tree` rebuilds (`n = [*n, e, ...]`) and no other name can see
    while they grow: `n` is no parameter, every binding of `n` is a list display, a rebuild
    or one `stores(assign, n)` accepts, `n` is read only by its rebuilds, as `n[...]` and
    as an argument of a call whose printed name `readers` accepts (none of which keeps
    the list), or, with
    `kept_after_last`, by anything after the last top-level statement appending to it;
    and never by the items it is rebuilt with. -> {name: [its rebuild statements]}."""
    if facts is None:
        facts = _Facts(tree)
    found = facts.rebuilds
    if not found:
        return {}
    params = {a.arg for a in tree.args.args + tree.args.kwonlyargs + tree.args.posonlyargs}
    parent, top = facts.parent, facts.top
    last = {name: max(top[id(st)] for st in sts) for name, sts in found.items()}
    own = {id(st.value.elts[0].value) for sts in found.values() for st in sts}
    fine = set(found) - params
    for n in [m for table in (facts.stores, facts.loads) for name in fine
              for m in table.get(name, ())]:
        if n.id not in fine or id(n) in own:
            continue
        up = parent.get(id(n))
        if isinstance(n.ctx, ast.Store):
            ok = isinstance(up, ast.Assign) and (
                rebuilt(up) == n.id or _display(up.value) or
                (stores is not None and stores(up, n.id)))
        else:
            ok = isinstance(n.ctx, ast.Load) and (
                (isinstance(up, ast.Subscript) and up.value is n) or
                (isinstance(up, ast.Call) and readers(_dotted(up.func)) and
                 n in up.args) or
                (stores is not None and stores(up, n.id)) or
                (kept_after_last and top[id(n)] > last[n.id]))
        if not ok:
            fine.discard(n.id)
    for name in list(fine):
        if any(isinstance(m, ast.Name) and m.id == name
               for st in found[name] for e in st.value.elts[1:] for m in ast.walk(e)):
            fine.discard(name)
    return {name: found[name] for name in fine}


def _call_on(node, name, attr, nargs):
    """Whether `node` is the call `name.attr(...)` with `nargs` arguments."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
        isinstance(node.func.value, ast.Name) and node.func.value.id == name and \
        node.func.attr == attr and len(node.args) == nargs and not node.keywords


def _appends(name, st):
    return [ast.Expr(value=ast.Call(func=ast.Attribute(value=ast.Name(id=name, ctx=ast.Load()),
                                                       attr="append", ctx=ast.Load()),
                                    args=[e], keywords=[])) for e in st.value.elts[1:]]


def grow_in_place(tree) -> None:
    """Rewrite the derivative `tree` in place: each private list (see the module) appended
    in place, its saves and restores around the appends an append and a pop, and the
    adjoint of its appends (`b = t[:-1]`, then `t[-1]`) a pop of the adjoint list."""
    facts = _Facts(tree)                 # one walk: most derivatives have neither
    if facts.rebuilds:
        _primal_lists(tree, facts)
    if facts.drops or facts.rebuilds:
        _adjoint_lists(tree, facts)


def _stacks(tree, facts, lists):
    """list name (of `lists`) -> the stacks saving it: `s` bound once to `[]`, used only by
    statements `s.append(n)` just before a rebuild of n by one item, and by `n = s.pop()`."""
    blocks = facts.blocks
    saved = {}                      # stack -> list it saves
    for block in blocks:
        for st in block:
            if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call) and \
                    isinstance(st.value.func, ast.Attribute) and st.value.func.attr == "append" \
                    and isinstance(st.value.func.value, ast.Name) and \
                    len(st.value.args) == 1 and isinstance(st.value.args[0], ast.Name):
                saved.setdefault(st.value.func.value.id, set()).add(st.value.args[0].id)
    saved = {s: names for s, names in saved.items() if len(names) == 1 and names <= lists}
    if not saved:
        return {}
    uses = {s: len(facts.loads.get(s, ())) + len(facts.stores.get(s, ()))
            for s in saved}         # stack -> how often its name occurs
    out = {}
    for s, names in saved.items():
        n = next(iter(names))
        good = 0
        for block in blocks:
            for i, st in enumerate(block):
                if isinstance(st, ast.Assign) and len(st.targets) == 1 and \
                        isinstance(st.targets[0], ast.Name) and st.targets[0].id == s and \
                        isinstance(st.value, ast.List) and not st.value.elts and block is tree.body:
                    good += 1
                elif isinstance(st, ast.Expr) and _call_on(st.value, s, "append", 1):
                    nxt = block[i + 1] if i + 1 < len(block) else None
                    if rebuilt(nxt) == n and len(nxt.value.elts) == 2:
                        good += 1
                elif isinstance(st, ast.Assign) and len(st.targets) == 1 and \
                        isinstance(st.targets[0], ast.Name) and st.targets[0].id == n and \
                        _call_on(st.value, s, "pop", 0):
                    good += 1
        if good == uses.get(s, 0):
            out.setdefault(n, set()).add(s)
    return out


def _primal_lists(tree, facts):
    blocks = facts.blocks
    stacks = _stacks(tree, facts, set(facts.rebuilds))

    def saves(node, name):
        """A save `s.append(name)` or a restore `name = s.pop()` of one of name's stacks."""
        mine = stacks.get(name, ())
        if isinstance(node, ast.Call):
            return any(_call_on(node, s, "append", 1) for s in mine)
        return isinstance(node, ast.Assign) and any(_call_on(node.value, s, "pop", 0)
                                                    for s in mine)
    lists = private_lists(tree, stores=saves, facts=facts)
    gone = {s for n in lists for s in stacks.get(n, ())}
    parent = facts.parent
    for block in blocks:
        out = []
        changed = False
        for st in block:
            name = rebuilt(st)
            if name in lists:
                new = _appends(name, st)
            elif isinstance(st, ast.Expr) and isinstance(st.value, ast.Call) and \
                    isinstance(st.value.func, ast.Attribute) and \
                    isinstance(st.value.func.value, ast.Name) and \
                    st.value.func.value.id in gone:
                new = []                                    # the save: now the append
            elif isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name) and \
                    st.targets[0].id in gone:
                new = []                                    # the stack's `s = []`
            elif isinstance(st, ast.Assign) and isinstance(st.value, ast.Call) and \
                    isinstance(st.value.func, ast.Attribute) and \
                    isinstance(st.value.func.value, ast.Name) and \
                    st.value.func.value.id in gone:
                new = [ast.Expr(value=ast.Call(func=ast.Attribute(   # the restore: undo
                    value=ast.Name(id=st.targets[0].id, ctx=ast.Load()), attr="pop",  # the
                    ctx=ast.Load()), args=[], keywords=[]))]                  # append
            else:
                out.append(st)
                continue
            changed = True
            owner = parent.get(id(st))
            facts.drop(st)
            for n in new:
                facts.add(n, owner)
            out += new
        if changed:
            block[:] = out


def _drop_last(st):
    """(b, t) for a statement `b = t[:-1]`, else None."""
    if isinstance(st, ast.Assign) and len(st.targets) == 1 and \
            isinstance(st.targets[0], ast.Name) and isinstance(st.value, ast.Subscript) and \
            isinstance(st.value.value, ast.Name) and isinstance(st.value.slice, ast.Slice):
        sl = st.value.slice
        if sl.lower is None and sl.step is None and _minus_one(sl.upper):
            return st.targets[0].id, st.value.value.id
    return None


def _minus_one(node) -> bool:
    return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and \
        isinstance(node.operand, ast.Constant) and node.operand.value == 1 or \
        isinstance(node, ast.Constant) and node.value == -1


def _adjoint_lists(tree, facts):
    """`t = b; ...; b = t[:-1]; ... t[-1] ...` with b's list private (below) as
    `t = b; ...; b = t; t_last = b.pop(); ... t_last ...`. b is private when every binding
    of it makes a new list (a call whose rule says `new_list`, `add_items(b, <such a call>)`,
    or such a
    drop) and it is read only as `t = b` of such a pattern, as `b[...]`, as a reader's
    argument or by add_items; t is bound once and read only by the drop and `t[-1]`."""
    while _adjoint_once(facts):             # the tree changed: look again
        pass


def _adjoint_once(facts) -> bool:
    """The first rewrite of `_adjoint_lists`, if any: whether there was one."""
    parent, loads, stores = facts.parent, facts.loads, facts.stores
    for block in facts.blocks:
        where = None                                # id(statement of block) -> its index
        for i, st in enumerate(block):
            found = _drop_last(st)
            if found is None:
                continue
            b, t = found
            copy = [j for j, s in enumerate(block[:i]) if isinstance(s, ast.Assign) and
                    len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) and
                    s.targets[0].id == t and isinstance(s.value, ast.Name) and s.value.id == b]
            if len(stores.get(t, ())) != 1 or not copy:
                continue
            j = copy[-1]
            if any(isinstance(m, ast.Name) and m.id in (b, t)
                   for s in block[j + 1:i] for m in nodes(s)):
                continue
            if where is None:
                where = {id(s): k for k, s in enumerate(block)}
            reads = [m for m in loads.get(t, ()) if m is not st.value.value]
            if not all(_index_in(m, where, parent) > i and
                       isinstance(parent.get(id(m)), ast.Subscript) and
                       _minus_one(parent[id(m)].slice) and
                       isinstance(parent[id(m)].ctx, ast.Load) for m in reads):
                continue
            if not _private_adjoint(b, t, parent, loads, stores):
                continue
            last = _fresh(f"{t}_last", facts.names())
            for m in reads:
                up = parent[id(m)]
                holder = parent[id(up)]
                facts.drop(up)
                for field, value in ast.iter_fields(holder):
                    if value is up:
                        new = ast.Name(id=last, ctx=ast.Load())
                        setattr(holder, field, new)
                        facts.add(new, holder)
                    elif isinstance(value, list):
                        new = [ast.Name(id=last, ctx=ast.Load()) if v is up else v
                               for v in value]
                        for v, w in zip(value, new):
                            if v is not w:
                                facts.add(w, holder)
                        value[:] = new
            _add_in_place(block, i + 1, b, facts)
            owner = parent.get(id(st))
            facts.drop(st)
            new = [
                ast.Assign(targets=[ast.Name(id=b, ctx=ast.Store())],
                           value=ast.Name(id=t, ctx=ast.Load())),
                ast.Assign(targets=[ast.Name(id=last, ctx=ast.Store())],
                           value=ast.Call(func=ast.Attribute(value=ast.Name(id=b, ctx=ast.Load()),
                                                             attr="pop", ctx=ast.Load()),
                                          args=[], keywords=[]))]
            for n in new:
                facts.add(n, owner)
            block[i:i + 1] = new
            return True
    return False


def _index_in(node, where, parent) -> int:
    """The index of the statement of a block (`where`: id -> index) that holds `node`, or
    -1 when none does."""
    while node is not None:
        k = where.get(id(node))
        if k is not None:
            return k
        node = parent.get(id(node))
    return -1


def _add_in_place(block, start, b, facts):
    """In `block[start:]`, up to the next binding of b (a list here, no other name's):
    `b = add_items(b, unindex(g, xs, i))`, which builds zeros for every item of xs, as
    `b = index_add(b, i, g)`, the form the reverse emitter writes for an adjoint it owns."""
    for k in range(start, len(block)):
        st = block[k]
        v = st.value if isinstance(st, ast.Assign) and len(st.targets) == 1 and \
            isinstance(st.targets[0], ast.Name) and st.targets[0].id == b else None
        if v is not None and isinstance(v, ast.Call) and _dotted(v.func) == "add_items" \
                and len(v.args) == 2 and isinstance(v.args[0], ast.Name) and \
                v.args[0].id == b and isinstance(v.args[1], ast.Call) and \
                _dotted(v.args[1].func) == "unindex" and len(v.args[1].args) == 3 and \
                not v.args[1].keywords:
            g, _, idx = v.args[1].args
            facts.drop(v)
            st.value = ast.Call(func=ast.Name(id="index_add", ctx=ast.Load()),
                                args=[ast.Name(id=b, ctx=ast.Load()), idx, g], keywords=[])
            facts.add(st.value, st)
        elif any(isinstance(m, ast.Name) and m.id == b and isinstance(m.ctx, ast.Store)
                 for m in nodes(st)):
            return


def _private_adjoint(b, t, parent, loads, stores) -> bool:
    for m in stores.get(b, ()):
        st = parent.get(id(m))
        if not (isinstance(st, ast.Assign) and len(st.targets) == 1):
            return False
        v = st.value
        if _drop_last(st) is not None:
            continue
        if isinstance(v, ast.Call) and _new_list(v):
            continue
        if isinstance(v, ast.Call) and _dotted(v.func) == "add_items" and \
                len(v.args) == 2 and isinstance(v.args[0], ast.Name) and v.args[0].id == b and \
                isinstance(v.args[1], ast.Call) and _new_list(v.args[1]):
            continue
        if isinstance(v, ast.Name) and v.id == t:
            continue                               # a drop made in place (an earlier one)
        return False
    for m in loads.get(b, ()):
        up = parent.get(id(m))
        if isinstance(up, ast.Assign) and up.value is m and len(up.targets) == 1 and \
                isinstance(up.targets[0], ast.Name) and \
                len(stores.get(up.targets[0].id, ())) == 1 and \
                all(isinstance(parent.get(id(r)), ast.Subscript) and parent[id(r)].value is r
                    for r in loads.get(up.targets[0].id, ())):
            continue                               # `t = b`, t bound once, only indexed
        if isinstance(up, ast.Subscript) and up.value is m:
            continue
        if isinstance(up, ast.Call) and m in up.args and _reads_items(_dotted(up.func)):
            continue
        if isinstance(up, ast.Call) and _dotted(up.func) == "add_items" and \
                up.args and up.args[0] is m and isinstance(parent.get(id(up)), ast.Assign) and \
                _dotted(parent[id(up)].targets[0]) == b:
            continue                               # `b = add_items(b, ...)`
        if isinstance(up, ast.Call) and _dotted(up.func) == "grad_like":
            continue                               # the returned gradient: at the end
        return False
    return True


def _fresh(base, names):
    name, k = base, 0
    while name in names:
        k += 1
        name = f"{base}{k}"
    names.add(name)
    return name
