"""The Numba backend: the derivative's source compiled by `numba.njit(cache=True)`.

Two steps, both run only for `backend="numba"`:

  rewrite   (the pipeline's "numba" pass) the derivative tree into code Numba compiles:
            a loop replayed over `reversed(xs)` counts down a range and reads the item
            back with `reversed_item`; a call whose rule says Numba cannot compile it
            (`Rule.numba` False) is refused here, naming the user's file:line
  compile   (instead of codegen's compile) the source text written to a file in the cache
            directory named by a hash of the text and of the values it reads, imported as a
            module, every def in it made an njit function (the user's helpers and custom
            rules' functions it calls too, each its own), so Numba's on-disk cache serves a
            second process without compiling

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
import sys
import time
import types

import numpy as np

from .. import codegen, rules
from ..emit import LINE_MARK
from ..errors import SrcadError, UnsupportedSyntaxError

_ITEM = "reversed_item"          # the helper a counting-down replay reads items with
_SHAPE = "shape_of"              # np.shape of a value saved for its shape (None too)
_MISSING = object()
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # srcad's own files
_USER_JIT: dict = {}             # id of a user function -> (the function, its njit dispatcher)
COMPILE_TIMES: dict = {}         # generated def name -> seconds its last first call compiled


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

def rewrite(trees: list, fn):
    """Rewrite the derivative trees in place into code Numba compiles (see the module)."""
    require()
    taken = codegen.names_used(trees) | set(fn.reserved)
    for tree in trees:
        _Rewriter(fn, taken).block(tree.body)
        _shapes_apart(tree, taken)


def _is_call_of(node, func) -> bool:
    """Whether `node` calls the primitive `func` (as its rule prints it)."""
    if isinstance(node, ast.Call):
        rule = rules.lookup_name(ast.unparse(node.func))
        return rule is not None and rule.key is func
    return False


def _shapes_apart(tree, taken):
    """A value the reverse sweep reads only for its shape is saved as its shape
    (`v_stack.append(np.shape(v))`, popped back into `v`): in Numba a name holds one type,
    so the reverse sweep reads such a name's shape from a name of its own (`v_shape`, the
    shape of v's last value where the sweep starts), and the pushes use `shape_of`, which
    gives a value not yet assigned (None) a shape of the dimensions it will have."""
    shaped = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and \
                n.func.attr == "append" and len(n.args) == 1 and \
                _is_call_of(n.args[0], np.shape) and isinstance(n.args[0].args[0], ast.Name):
            n.args[0].func = ast.Name(id=_SHAPE, ctx=ast.Load())
            shaped[n.args[0].args[0].id] = None
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


def _line_of(st):
    """The user's line a line marker statement stands for (0: the reverse sweep), or None."""
    if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call) and \
            isinstance(st.value.func, ast.Name) and st.value.func.id == LINE_MARK:
        return st.value.args[0].value
    return None


class _Rewriter:
    def __init__(self, fn, taken):
        self.fn, self.taken, self.line = fn, taken, fn.firstline

    def fresh(self, base):
        k, name = 0, base
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name

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
        """Refuse, at the user's line, a call of a primitive Numba cannot compile."""
        nodes = [s] if not isinstance(s, (ast.For, ast.While, ast.If)) else \
            [s.iter if isinstance(s, ast.For) else s.test]
        for node in nodes:
            for n in ast.walk(node):
                if isinstance(n, ast.Call):
                    rule = rules.lookup_name(ast.unparse(n.func))
                    if rule is not None and not rule.numba:
                        raise UnsupportedSyntaxError(
                            f'backend="numba" cannot compile {rule.label} (Numba has no '
                            'version of it); use the default backend for this function',
                            self.fn.filename, self.line)


# ---------------------------------------------------------------- compiling

def compile_functions(trees: list, text: str, fn, user_globals: dict, closure: dict,
                      injected: dict) -> list:
    """The derivative functions of `text` (the rendered trees and the helpers' derivatives)
    compiled by Numba: callables raising SrcadError for what Numba cannot type. (The API
    passes every argument; `d_out` defaults to 1.0 in the text itself.)"""
    numba = require()
    loader = _Loader(numba, text, fn, user_globals, closure, injected)
    return [_entry(loader, tree.name, tree) for tree in trees]


class _Loader:
    """The module of one derivative text, (re)loaded for the current values of the names it
    reads from the user's globals and closure cells."""

    def __init__(self, numba, text, fn, user_globals, closure, injected):
        self.numba, self.text, self.fn = numba, text, fn
        self.user_globals, self.closure, self.injected = user_globals, closure, injected
        tree = ast.parse(text)
        self.defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        imported = {a.asname or a.name.split(".")[0] for n in tree.body
                    if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
        assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
                    and isinstance(n.ctx, ast.Store)} | \
            {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
             for a in n.args + n.kwonlyargs}
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        self.free = sorted(used - self.defined - imported - assigned - set(dir(builtins)))
        self.lines = _user_lines(text, fn.filename)
        self.dispatchers = None
        self.values = None

    def current(self) -> dict:
        """name -> the value the code reads for it now (closure cell, injected, global)."""
        out = {}
        for n in self.free:
            if n in self.closure:
                out[n] = self.closure[n].cell_contents
            elif n in self.injected:
                out[n] = self.injected[n]
            elif n in self.user_globals:
                out[n] = self.user_globals[n]
        return out

    def stale(self) -> bool:
        values = self.values
        for n, v in values.items():
            if n in self.closure:
                now = self.closure[n].cell_contents
            elif n in self.injected:
                continue
            else:
                now = self.user_globals.get(n, _MISSING)
            if now is not v:
                return True
        return False

    def load(self):
        values = self.current()
        key = hashlib.sha256("\0".join(
            [self.text, self.numba.__version__, np.__version__] +
            [f"{n}={_fingerprint(v)}" for n, v in sorted(values.items())]).encode()).hexdigest()
        folder = cache_dir()
        os.makedirs(folder, exist_ok=True)
        modname = f"srcad_numba_{key[:24]}"
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
        for n, v in list(env.items()):       # custom rules' functions the text imports
            if n not in self.defined and isinstance(v, types.FunctionType) and \
                    not _own(v) and not n.startswith("__"):
                env[n] = _jitted(self.numba, v)
        for n in self.defined:
            env[n] = self.numba.njit(cache=True)(env[n])
        self.values, self.dispatchers = values, env
        return env

    def get(self, name):
        if self.dispatchers is None or self.stale():
            self.load()
        return self.dispatchers[name]

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
                filename, line = path, int(digits)
        reason = next((l.strip() for l in msg.splitlines()
                       if l.strip() and not l.startswith("Failed in")), "")
        if len(reason) > 160:
            reason = reason[:157] + "..."
        what = self.fn.source_lines.get(line, "").strip() if filename == self.fn.filename \
            else ""
        shown = f"`{what}`" if what else f"the derivative of {self.fn.name}"
        return UnsupportedSyntaxError(f'backend="numba" cannot compile {shown}: {reason}',
                                      filename, line)


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
    call.__name__ = call.__qualname__ = name
    call.__doc__ = ast.get_docstring(tree)
    call.__srcad_numba__ = state
    return call


def _jitted(numba, value):
    """A user function as its own njit function (once per function); other values as they are."""
    if isinstance(value, types.FunctionType) and not _own(value) and \
            not hasattr(value, "__srcad_numba__"):
        hit = _USER_JIT.get(id(value))
        if hit is None or hit[0] is not value:
            hit = _USER_JIT[id(value)] = (value, numba.njit(value))
        return hit[1]
    return value


def _own(func) -> bool:
    """Whether `func` is srcad's (the runtime's helpers have Numba versions registered)."""
    return (func.__module__ or "").split(".")[0] == "srcad"


def _fingerprint(v) -> str:
    """What the compiled code depends on in a value Numba compiles in."""
    if isinstance(v, np.ndarray):
        return f"array:{v.dtype}:{v.shape}:{hashlib.sha256(v.tobytes()).hexdigest()}"
    if isinstance(v, (bool, int, float, complex, str, type(None))):
        return f"{type(v).__name__}:{v!r}"
    if isinstance(v, types.ModuleType):
        return f"module:{v.__name__}"
    if isinstance(v, types.FunctionType):
        code = v.__code__
        return f"function:{v.__module__}.{v.__qualname__}:{hashlib.sha256(code.co_code).hexdigest()}"
    return f"{type(v).__module__}.{type(v).__qualname__}"


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
    used = [h for h in (_ITEM, _SHAPE)
            if any(isinstance(n, ast.Name) and n.id == h for n in ast.walk(tree))]
    if used:
        text = f"from srcad.backends.numba_runtime import {', '.join(used)}\n" + text
    return header(text)
__all__ = ["rewrite", "compile_functions", "text_of", "require", "cache_dir", "COMPILE_TIMES"]
