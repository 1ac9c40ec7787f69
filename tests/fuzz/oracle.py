"""Runs one program through srcad and independent oracles and classifies the outcome.

The program is written to a file and imported (srcad reads source). An instrumented copy,
whose every comparison goes through `_fz_cmp`, records the branch trace (each decision)
and the smallest margin of any comparison; points where a margin is under `MARGIN`, or
where a finite-difference probe takes another branch, are re-sampled.

Checks (each gives one `Finding` when it fails):
  value_and_grad  its value equals Python's bit for bit (so must jvp's), its gradient as grad;
  grad    srcad.grad with respect to every argument, against finite differences, and
          against autograd where autograd agrees with the finite differences (and is closer
          to them than srcad is);
  jvp     srcad.jvp along a random tangent, against the same reference gradient;
  hessian srcad.hessian (wrt the first argument) against second differences, and against
          autograd's Hessian where that agrees with them;
  grad2   srcad.grad(srcad.grad(f)) for a float first argument, against the same.
Every srcad call gets copies of the arguments and must leave them as they were (Python's f
may change its arguments in place; a derivative computes at the point it was given).
Classes, worst first: WRONG (derivative mismatch), VALUE, CRASH (any exception other than
a SrcadError, also inside generated code, a timeout, or a SrcadError about srcad's own code:
its SSA check, or its generated file at second order), refused (a SrcadError), ok.
"""
from __future__ import annotations

import ast
import dataclasses
import importlib.util
import itertools
import os
import re
import signal
import sys
import tempfile
import traceback
import warnings

import numpy as np

import srcad

MARGIN = 1e-3          # every compared quantity stays this far from its threshold
FD_STEP = 1e-5         # first differences (fourth-order stencil)
FD2_STEP = 1e-4        # second differences
LOOSE = 1e-4           # tolerance against finite differences (relative to the scale)
LOOSE2 = 1e-3          # against second differences (high-degree polynomials reach 2e-4)
TIGHT = 1e-7           # tolerance against autograd
BOUND = 1e6            # programs whose value or gradient exceed this are rejected
TIMEOUT = 10           # seconds of CPU time per srcad call

SEVERITY = ("WRONG", "VALUE", "CRASH", "refused", "ok")
CHECKS = ("value_and_grad", "grad", "jvp", "hessian", "grad2")


class Unstable(Exception):
    """The sampled point is too close to a branch decision, or the program misbehaves there."""


class _Timeout(Exception):
    pass


@dataclasses.dataclass
class Finding:
    """One failed check: its class, which check, and a one-line description."""
    cls: str
    check: str
    detail: str
    key: str            # what identifies the failure when minimising (class, check, error)


@dataclasses.dataclass
class Outcome:
    """What `run_program` found: the program's class and every failed check."""
    cls: str
    findings: list
    args: tuple = ()


# ------------------------------------------------------------ loading programs

_counter = itertools.count()
_tmpdir = None


def _directory():
    global _tmpdir
    if _tmpdir is None:
        _tmpdir = tempfile.mkdtemp(prefix="srcad_fuzz_")
    return _tmpdir


class _Instrument(ast.NodeTransformer):
    """Rewrites `a OP b` as `_fz_cmp("OP", a, b)`, and `while t:` as `while _fz_loop() and t:`
    (a minimiser's edit can make a loop endless)."""

    def visit_While(self, node):
        self.generic_visit(node)
        guard = ast.Call(ast.Name("_fz_loop", ast.Load()), [], [])
        node.test = ast.BoolOp(ast.And(), [guard, node.test])
        return node

    OPS = {ast.Gt: ">", ast.Lt: "<", ast.GtE: ">=", ast.LtE: "<=", ast.Eq: "==",
           ast.NotEq: "!="}

    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) != 1 or type(node.ops[0]) not in self.OPS:
            return node
        op = ast.Constant(self.OPS[type(node.ops[0])])
        call = ast.Call(ast.Name("_fz_cmp", ast.Load()), [op, node.left, node.comparators[0]], [])
        return ast.copy_location(call, node)


class _Recorder:
    """The `_fz_cmp` of an instrumented module: records decisions and the smallest margin;
    `loop` is its `_fz_loop`, which stops a run after `MAX_ITERATIONS` loop tests."""

    MAX_ITERATIONS = 10000

    FUNCS = {">": np.greater, "<": np.less, ">=": np.greater_equal, "<=": np.less_equal,
             "==": np.equal, "!=": np.not_equal}

    def __init__(self):
        self.trace: list = []
        self.margin = np.inf
        self.iterations = 0

    def loop(self):
        self.iterations += 1
        if self.iterations > self.MAX_ITERATIONS:
            raise Unstable("a while loop does not end")
        return True

    def __call__(self, op, a, b):
        result = self.FUNCS[op](a, b)
        ints = all(isinstance(v, (int, np.integer)) for v in (a, b))
        if not ints:
            gap = np.min(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)),
                         initial=np.inf)
            if gap > 0.0:           # an exact tie compares a value with itself: stable
                self.margin = min(self.margin, float(gap))
        self.trace.append(np.asarray(result).tobytes())
        return result


class Loaded:
    """A program imported three ways: as the user's module (srcad and Python's value), an
    instrumented copy (branch traces) and an autograd twin (None without autograd)."""

    def __init__(self, source):
        n = next(_counter)
        self.name = f"srcad_fuzz_prog{n}"
        self.path = os.path.join(_directory(), self.name + ".py")
        with open(self.path, "w") as fh:
            fh.write(source)
        spec = importlib.util.spec_from_file_location(self.name, self.path)
        self.module = importlib.util.module_from_spec(spec)
        sys.modules[self.name] = self.module
        try:
            with warnings.catch_warnings():     # a minimiser's edit may draw a SyntaxWarning
                warnings.simplefilter("ignore")
                spec.loader.exec_module(self.module)
        finally:
            del sys.modules[self.name]
        self.f = self.module.f
        tree = _Instrument().visit(ast.parse(source))
        ast.fix_missing_locations(tree)
        self.recorder = _Recorder()
        self.traced = {"_fz_cmp": self.recorder, "_fz_loop": self.recorder.loop,
                       "__name__": self.name + "_traced"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(tree, self.path, "exec"), self.traced)
        self.twin = None
        if importlib.util.find_spec("autograd") is None:
            return
        twin: dict = {"__name__": self.name + "_autograd"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(source.replace("import numpy as np", "import autograd.numpy as np"),
                         self.path, "exec"), twin)
        self.twin = twin["f"]

    def close(self):
        os.remove(self.path)

    def trace(self, args):
        """(value, branch trace, smallest margin) of the instrumented program at `args`."""
        self.recorder.trace, self.recorder.margin, self.recorder.iterations = [], np.inf, 0
        with np.errstate(all="raise"), warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                value = self.traced["f"](*_copy(args))
                bounded = np.ndim(value) == 0 and abs(float(value)) <= BOUND
            except Exception as e:          # the program itself fails here: not srcad's
                raise Unstable(f"the program raises {type(e).__name__}: {e}") from None
        if not bounded:                     # also nan
            raise Unstable(f"value {value!r}")
        return float(value), list(self.recorder.trace), self.recorder.margin


def _copy(args):
    return tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in args)


# ------------------------------------------------------------ inputs and oracles

def sample_args(params, rng):
    """Random inputs: floats and float arrays in [-1.5, 1.5]."""
    out = []
    for _, kind in params:
        if kind[0] == "s":
            out.append(float(rng.uniform(-1.5, 1.5)))
        else:
            out.append(rng.uniform(-1.5, 1.5, size=kind[1:]))
    return tuple(out)


def _flat(args):
    return np.concatenate([np.ravel(a) for a in args]) if args else np.zeros(0)


def _unflat(vector, like):
    out, k = [], 0
    for a in like:
        n = int(np.size(a))
        piece = vector[k:k + n]
        out.append(float(piece[0]) if np.ndim(a) == 0 else piece.reshape(np.shape(a)).copy())
        k += n
    return tuple(out)


class _Reference:
    """Finite differences of the instrumented program, refusing any probe that changes the
    branch trace; autograd where autograd agrees with them."""

    def __init__(self, loaded, args):
        self.loaded = loaded
        self.args = args
        self.value, self.base, margin = loaded.trace(args)
        if margin < MARGIN:
            raise Unstable(f"a comparison is {margin:.1e} from its threshold")

    def at(self, vector):
        value, trace, _ = self.loaded.trace(_unflat(vector, self.args))
        if trace != self.base:
            raise Unstable("a finite-difference probe takes another branch")
        return value

    def fd_grad(self):
        """Fourth-order central differences, at two step sizes: where they disagree the
        function is too ill-conditioned there (sin of a huge value) for them to be an oracle."""
        g = self._fd_grad(FD_STEP)
        if not np.all(np.isfinite(g)) or np.max(np.abs(g), initial=0.0) > BOUND:
            raise Unstable("gradient too large")
        if not _close(self._fd_grad(FD_STEP / 4), g, LOOSE / 10):
            raise Unstable("finite differences at two step sizes disagree")
        return g

    def _fd_grad(self, step):
        x0 = _flat(self.args)
        g = np.zeros_like(x0)
        for k in range(x0.size):
            h = step * max(1.0, abs(x0[k]))
            e = np.zeros_like(x0)
            e[k] = h
            g[k] = (8 * (self.at(x0 + e) - self.at(x0 - e))
                    - (self.at(x0 + 2 * e) - self.at(x0 - 2 * e))) / (12 * h)
        return g

    def fd_hessian(self, h=FD2_STEP):
        """Second differences with respect to the first argument."""
        x0 = _flat(self.args)
        n = int(np.size(self.args[0]))
        H = np.zeros((n, n))
        f0 = self.at(x0)
        for i in range(n):
            ei = np.zeros_like(x0)
            ei[i] = h
            H[i, i] = (self.at(x0 + ei) - 2 * f0 + self.at(x0 - ei)) / h ** 2
            for j in range(i):
                ej = np.zeros_like(x0)
                ej[j] = h
                H[i, j] = H[j, i] = (self.at(x0 + ei + ej) - self.at(x0 + ei - ej)
                                     - self.at(x0 - ei + ej) + self.at(x0 - ei - ej)) / (4 * h * h)
        return H

    def autograd(self, what):
        """autograd's gradient (all arguments, flattened) or Hessian (first argument)."""
        if self.loaded.twin is None:
            return None
        import autograd
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if what == "grad":
                    n = len(self.args)
                    g = autograd.grad(self.loaded.twin, tuple(range(n)))(*_copy(self.args))
                    return _flat(g)
                H = autograd.hessian(self.loaded.twin, 0)(*_copy(self.args))
                n = int(np.size(self.args[0]))
                return np.reshape(H, (n, n))
        except Exception:               # autograd cannot run every program (in-place updates)
            return None


def _close(a, b, tol, slack=0.0):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    scale = 1.0 + np.max(np.abs(b), initial=0.0)
    return bool(np.all(np.abs(a - b) <= tol * scale + slack))


def _compare(got, fd, ag, what, loose=LOOSE, slack=0.0):
    """None if `got` matches the finite differences (and autograd when autograd agrees with
    them), else a description of the difference. `slack` is an estimate of the finite
    differences' own error, allowed on top of the tolerance."""
    if not _close(got, fd, loose, slack):
        return f"{what}: srcad {_fmt(got)}, finite differences {_fmt(fd)}" + (
            f", autograd {_fmt(ag)}" if ag is not None else "")
    if ag is not None and _close(ag, fd, loose, slack) and not _close(got, ag, TIGHT) and \
            _distance(got, fd) > _distance(ag, fd):
        # both within the finite differences' tolerance (a tiny Hessian): autograd decides
        # only where it is the closer of the two to them (autograd can be the wrong one: it
        # reads an array the program changes in place afterwards, fuzz 3105:101)
        return f"{what}: srcad {_fmt(got)}, autograd {_fmt(ag)}"
    return None


def _distance(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)),
                        initial=0.0))


def _fmt(a):
    return np.array2string(np.asarray(a, dtype=float), precision=6, separator=", ")


def _alarm(signum, frame):
    raise _Timeout()


def _srcad_call(check, thunk, args=()):
    """Runs a srcad call; returns (result, None) or (None, Finding) for an exception, or a
    WRONG finding when the call changed one of `args` (the copies it was given)."""
    before = _copy(args)
    result, err = _srcad_run(check, thunk)
    if err is None and not all(np.array_equal(a, b) for a, b in zip(args, before)):
        return None, Finding("WRONG", check, "the derivative changed its argument in place",
                             f"WRONG:{check}:mutates")
    return result, err


def _srcad_run(check, thunk):
    # CPU time, not wall time: on a machine other processes load a build is not cut short
    use_alarm = hasattr(signal, "SIGPROF") and _main_thread()
    if use_alarm:
        old = signal.signal(signal.SIGPROF, _alarm)
        signal.setitimer(signal.ITIMER_PROF, TIMEOUT)
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return thunk(), None
    except srcad.SrcadError as e:
        msg = _message_class(str(e))
        if _internal(str(e)):
            return None, Finding("CRASH", check, f"{type(e).__name__}: {e}",
                                 f"CRASH:{check}:internal {type(e).__name__}")
        return None, Finding("refused", check, f"{type(e).__name__}: {e}",
                             f"refused:{check}:{type(e).__name__}:{msg}")
    except _Timeout:
        return None, Finding("CRASH", check, f"timeout after {TIMEOUT} s", f"CRASH:{check}:timeout")
    except MemoryError:                 # under run.memory_limit: e.g. a stack pushed forever
        return None, Finding("CRASH", check, "MemoryError", f"CRASH:{check}:MemoryError")
    except Exception as e:
        where = _where(e)
        return None, Finding("CRASH", check, f"{type(e).__name__}: {str(e)[:300]} ({where})",
                             f"CRASH:{check}:{type(e).__name__}")
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, old)


def _main_thread():
    import threading
    return threading.current_thread() is threading.main_thread()


def _where(e):
    frames = traceback.extract_tb(e.__traceback__)
    return f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else "?"


def _internal(message):
    """Whether a SrcadError is about srcad's own code (its IR check, or generated code it
    differentiates at second order): an internal error, not a refusal of the user's code."""
    return "SSA check: " in message or "<srcad " in message or "internal check after " in message


def _message_class(message):
    """A SrcadError's message without locations, names and numbers: what kind of refusal."""
    message = re.sub(r"^\S+:\d+: ", "", message)
    message = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", "_", message)
    message = re.sub(r"\b[\w.]*\d[\w.]*\b", "_", message)
    return message[:80]


# ------------------------------------------------------------ one program

def run_program(source, params, rng=None, args=None, checks=CHECKS, tries=5):
    """Checks `source` at `args` (or at up to `tries` points drawn from `rng`).

    Returns an `Outcome`; its class is "invalid" when no usable point was found (the
    program overflows, raises by itself, or sits on a branch threshold): not srcad's fault.
    """
    loaded = Loaded(source)
    try:
        last = "no point tried"
        for _ in range(tries if args is None else 1):
            point = sample_args(params, rng) if args is None else args
            try:
                return _check(loaded, point, checks)
            except Unstable as e:
                last = str(e)
        return Outcome("invalid", [Finding("invalid", "-", last, "invalid")], point)
    finally:
        loaded.close()


def _check(loaded, args, checks):
    ref = _Reference(loaded, args)
    findings = []
    f = loaded.f
    n = len(args)
    wrt = tuple(range(n))
    python_value = f(*_copy(args))
    fd = ref.fd_grad()
    ag = ref.autograd("grad")
    if ag is not None and not np.max(np.abs(ag), initial=0.0) <= BOUND:
        # ill-conditioned (x ** 64): the finite differences cannot be trusted there
        raise Unstable("autograd's gradient too large")

    def value_differs(check, value):
        if np.ndim(value) != 0 or np.float64(value).tobytes() != np.float64(python_value).tobytes():
            findings.append(Finding("VALUE", check, f"srcad value {value!r}, Python "
                                    f"{python_value!r}", f"VALUE:{check}"))

    def wrong(check, message):
        if message:
            findings.append(Finding("WRONG", check, message, f"WRONG:{check}"))

    if "value_and_grad" in checks:
        a = _copy(args)
        res, err = _srcad_call("value_and_grad", lambda: srcad.value_and_grad(f, wrt)(*a), a)
        if err:
            findings.append(err)
        else:
            value_differs("value_and_grad", res[0])
            wrong("value_and_grad", _compare(_flat(res[1]), fd, ag, "value_and_grad's gradient"))
    if "grad" in checks:
        a = _copy(args)
        res, err = _srcad_call("grad", lambda: srcad.grad(f, wrt)(*a), a)
        if err:
            findings.append(err)
        else:
            wrong("grad", _compare(_flat(res), fd, ag, "gradient"))
    if "jvp" in checks:
        rng = np.random.default_rng(0)
        tangent = rng.uniform(-1.0, 1.0, size=fd.size)
        tangents = _unflat(tangent, args)
        a = _copy(args)
        res, err = _srcad_call("jvp", lambda: srcad.jvp(f, a, tangents), a)
        if err:
            findings.append(err)
        else:
            value_differs("jvp", res[0])
            wrong("jvp", _compare(res[1], fd @ tangent, None if ag is None else ag @ tangent,
                                  "jvp tangent"))
    if "hessian" in checks or "grad2" in checks:
        fd_h = ref.fd_hessian()
        slack = 2 * np.abs(fd_h - ref.fd_hessian(2 * FD2_STEP))   # their error, estimated
        ag_h = ref.autograd("hessian")
        m = int(np.size(args[0]))
        if "hessian" in checks:
            a = _copy(args)
            res, err = _srcad_call("hessian", lambda: srcad.hessian(f)(*a), a)
            if err:
                findings.append(err)
            else:
                wrong("hessian", _compare(np.reshape(res, (m, m)) if np.size(res) == m * m
                                          else res, fd_h, ag_h, "hessian", LOOSE2, slack))
        if "grad2" in checks and np.ndim(args[0]) == 0:
            a = _copy(args)
            res, err = _srcad_call("grad2", lambda: srcad.grad(srcad.grad(f))(*a), a)
            if err:
                findings.append(err)
            else:
                wrong("grad2", _compare(res, fd_h[0, 0], None if ag_h is None else ag_h[0, 0],
                                        "grad(grad(f))", LOOSE2, slack[0, 0]))
    cls = min((fd_.cls for fd_ in findings), key=SEVERITY.index, default="ok")
    return Outcome(cls, findings, args)
