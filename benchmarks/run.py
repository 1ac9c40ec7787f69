"""srcad benchmark suite: gradients timed side by side with the primal, a
hand-written gradient, and (when installed) autograd, JAX and PyTorch.

Run from anywhere (the repository's working-tree srcad is used):

    python benchmarks/run.py                  # full run, a few minutes
    python benchmarks/run.py --quick          # shorter timings, under a minute
    python benchmarks/run.py --only mlp,rnn   # just these benchmarks

Benchmarks: scalar40, mlp, scalar_loop, rnn, rosenbrock, small_array (functions
and hand-written gradients in cases.py), build_time, loop_nest_build (build time
of a reverse derivative of loops nested 1..7 deep) and call_overhead.

Columns of the per-benchmark tables:
  median / call   median over 11 repeats (7 with --quick) of the time per
                  call; each repeat runs enough calls to last about 0.2 s
                  (0.01 s with --quick), and the implementations are timed
                  round-robin, repeat by repeat, so machine noise hits them alike
  x primal        that time divided by the primal function's time
  x hand-written  that time divided by the hand-written gradient's time
  check           gradient compared with the hand-written one before timing
                  (np.allclose, rtol 1e-6, plus shape and dtype); a row that
                  disagrees says MISMATCH and is not timed
  peak memory     (rnn only) tracemalloc peak during one call, after a warm-up
  first call      the first call's wall time: srcad's build (and for "srcad numba", Numba's
                  compile, from an empty cache directory), JAX's trace and jit compile

"n/a" means the library is not installed; "error: ..." means building or
calling it raised. Every target is printed with PASS/FAIL at the end.
"""

import argparse
import gc
import importlib.metadata
import inspect
import linecache
import os
import platform
import statistics
import sys
import tempfile
import textwrap
import time
import timeit
import tracemalloc
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
for path in (os.path.dirname(HERE), HERE):  # the repository's srcad; cases, peers
    if path not in sys.path:
        sys.path.insert(1, path)

import cases
import peers

IMPLS = ("primal", "hand-written", "srcad", "srcad numba", "autograd", "jax", "torch")
PEERS = {"autograd": peers.autograd_impl, "jax": peers.jax_impl, "torch": peers.torch_impl}
MEMORY_IMPLS = ("primal", "hand-written", "srcad", "autograd")  # tracemalloc sees NumPy only
SPECIAL = ("build_time", "loop_nest_build", "call_overhead")

# (benchmark, numerator, denominator, "<=" or ">=", limit): numerator and
# denominator name implementations (a ratio of median times; "mem:" prefixed, of
# peak memory), or the denominator is a unit and the numerator's time is absolute.
TARGETS = [
    ("scalar40", "srcad", "primal", "<=", 3.0),
    ("mlp", "srcad", "hand-written", "<=", 1.15),
    ("scalar_loop", "srcad", "primal", "<=", 4.0),
    ("scalar_loop", "autograd", "srcad", ">=", 10.0),
    ("rnn", "srcad", "hand-written", "<=", 1.2),
    ("rnn", "mem:srcad", "mem:hand-written", "<=", 1.5),
    ("rosenbrock", "srcad", "hand-written", "<=", 1.2),
    ("small_array", "srcad", "primal", "<=", 3.0),
    ("build_time", "srcad", "ms", "<=", 50.0),
    ("loop_nest_build", "depth 7, srcad", "ms", "<=", 30.0),
    # linear in depth (t = a + b * depth, a >= 0) means t(7) <= 7 t(1); 3x per level was 729x
    ("loop_nest_build", "depth 7, srcad", "depth 1, srcad", "<=", 7.0),
    ("call_overhead", "srcad", "µs", "<=", 2.0),
    # the numba backend against JAX's jit(grad): per call, and compile time (ISSUE13)
    ("scalar_loop", "srcad numba", "jax", "<=", 0.25),
    ("scalar_loop", "compile:srcad numba", "s", "<=", 2.0),
]
UNITS = {"s": 1.0, "ms": 1e-3, "µs": 1e-6}

# jit-compiling the gradient of a 1000-step unrolled loop takes JAX ~20 s.
SKIP_IN_QUICK = {("scalar_loop", "jax"): "skipped in --quick (jit compile takes ~20 s)"}


# ---------------------------------------------------------------- timing
def time_round_robin(calls, target, repeats):
    """Seconds per call of each ``name -> (fn, args)``, a list of ``repeats`` samples.

    Like ``timeit``: a loop count per callable chosen so that one repeat lasts
    about ``target`` seconds (garbage collection off while timing), then the
    callables are timed in turn, one repeat each, ``repeats`` times.
    """
    timers = {
        name: timeit.Timer("fn(*args)", globals={"fn": fn, "args": args})
        for name, (fn, args) in calls.items()
    }
    loops = {name: _loops_for(timer, target) for name, timer in timers.items()}
    samples = {name: [] for name in timers}
    for _ in range(repeats):
        for name, timer in timers.items():
            samples[name].append(timer.timeit(loops[name]) / loops[name])
    return samples


def _loops_for(timer, target):
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= target / 10:
            return max(1, round(number * target / elapsed))
        number *= 10


def peak_memory(fn, args):
    """Peak bytes allocated (as tracemalloc sees them) during one call, after a warm-up."""
    fn(*args)
    gc.collect()
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------- building and checking
def build(impl, f, hand, wrt, args):
    """``(fn, args)`` computing ``impl``'s gradient (or the primal) of ``f``."""
    if impl == "primal":
        return f, args
    if impl == "hand-written":
        return hand, args
    if impl == "srcad":
        import srcad

        return srcad.grad(f, wrt=wrt), args
    if impl == "srcad numba":
        import srcad

        try:
            import numba  # noqa: F401
        except ImportError:
            raise ImportError("numba") from None
        return srcad.grad(f, wrt=wrt, backend="numba"), args
    return PEERS[impl](f, wrt, args)


def mismatch(got, ref, names):
    """None if the gradients ``got`` agree with ``ref``, else what differs."""
    if not isinstance(got, (tuple, list)) or len(got) != len(ref):
        return f"expected a tuple of {len(ref)} gradients, got {type(got).__name__}"
    for g, r, name in zip(got, ref, names):
        g, r = peers.to_numpy(g), np.asarray(r)
        if g.shape != r.shape or g.dtype != r.dtype:
            return f"d/d{name}: {g.dtype}{list(g.shape)}, expected {r.dtype}{list(r.shape)}"
        if not np.allclose(g, r, rtol=1e-6, atol=1e-9 * max(1.0, float(np.max(np.abs(r))))):
            err = np.max(np.abs(g - r) / (np.abs(r) + 1e-12))
            return f"d/d{name}: max rel err {err:.1e}"
    return None


def error_text(exc):
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return "error: " + (text if len(text) <= 90 else text[:87] + "...").replace("|", "\\|")


# ---------------------------------------------------------------- formatting
def fmt_time(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"


def fmt_ratio(num, den):
    if num is None or den is None:
        return ""
    ratio = num / den
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x" if ratio < 100 else f"{ratio:.0f}x"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- benchmarks
def run_case(name, opts):
    """Check, then time, every implementation on one case; print its table."""
    f, hand, wrt = cases.CASES[name]
    args = cases.make_inputs(name)
    params = list(inspect.signature(f).parameters)
    ref = hand(*args)
    calls, status, first = {}, {}, {}
    for impl in IMPLS:
        if opts.quick and (name, impl) in SKIP_IN_QUICK:
            status[impl] = SKIP_IN_QUICK[name, impl]
            continue
        try:
            start = time.perf_counter()
            fn, call_args = build(impl, f, hand, wrt, args)
            got = fn(*call_args)
            first[impl] = time.perf_counter() - start
            bad = None if impl == "primal" else mismatch(got, ref, [params[i] for i in wrt])
        except ImportError as exc:
            status[impl] = error_text(exc) if impl == "srcad" else "n/a"
            first.pop(impl, None)
            continue
        except Exception as exc:  # noqa: BLE001 - report and carry on
            status[impl] = error_text(exc)
            continue
        if bad:
            status[impl] = f"**MISMATCH** {bad}"
            print(f"!!! MISMATCH: {impl} gradient of {name}: {bad}", file=sys.stderr)
            continue
        status[impl] = "—" if impl == "primal" else "reference" if impl == "hand-written" else "ok"
        calls[impl] = (fn, call_args)

    samples = time_round_robin(calls, opts.target, opts.repeats)
    times = {impl: statistics.median(s) for impl, s in samples.items()}
    memory = {}
    if name == "rnn":
        memory = {impl: peak_memory(*calls[impl]) for impl in MEMORY_IMPLS if impl in calls}

    header = ["implementation", "median / call", "x primal", "x hand-written", "first call",
              "check"]
    if memory:
        header += ["peak memory", "memory x hand-written"]
    rows = []
    for impl in IMPLS:
        t = times.get(impl)
        row = [
            impl,
            fmt_time(t) if t else "",
            fmt_ratio(t, times.get("primal")),
            fmt_ratio(t, times.get("hand-written")),
            fmt_time(first[impl]) if t and impl in first else "",
            status[impl],
        ]
        if memory:
            m = memory.get(impl)
            row += [
                f"{m / 2**20:.2f} MiB" if m is not None else "—" if t else "",
                fmt_ratio(m, memory.get("hand-written")),
            ]
        rows.append(row)
    signature = f"{f.__name__}({', '.join(params)})"
    print(f"\n### {name}: gradient of {signature} w.r.t. {', '.join(params[i] for i in wrt)}\n")
    print(table(header, rows))
    result = dict(times)
    result.update({"mem:" + impl: m for impl, m in memory.items()})
    result.update({"compile:" + impl: t for impl, t in first.items() if impl in calls})
    return result


def fresh_function(func, serial):
    """A new function object (new code object) with ``func``'s source, defined in
    a new module registered in sys.modules, its source served by linecache."""
    source = textwrap.dedent(inspect.getsource(func))
    filename = f"<srcad-benchmark-build-{serial}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(f"srcad_benchmark_build_{serial}")
    module.__file__ = filename
    module.__dict__.update({k: v for k, v in func.__globals__.items() if k in ("np", "math")})
    sys.modules[module.__name__] = module
    exec(compile(source, filename, "exec"), module.__dict__)  # noqa: S102 - on purpose
    return getattr(module, func.__name__)


def run_build_time(opts):
    """Median wall time of srcad.derivative on a fresh copy of scalar40."""
    count = 7 if opts.quick else 21
    print(
        f'\n### build_time: srcad.derivative(f, mode="reverse", wrt=(0, 1)) '
        f"on a fresh copy of scalar40 (45 lines), {count} builds\n"
    )
    try:
        import srcad

        samples = []
        for serial in range(count + 1):  # build 0 warms up srcad's own imports
            f = fresh_function(cases.scalar40, serial)
            try:
                start = time.perf_counter()
                df = srcad.derivative(f, mode="reverse", wrt=(0, 1))
                samples.append(time.perf_counter() - start)
            finally:
                del sys.modules[f.__module__]
            if not callable(df):
                raise TypeError(f"srcad.derivative returned {df!r}")
        samples = samples[1:]
        build = statistics.median(samples)
        cells = [fmt_time(build), fmt_time(min(samples)), fmt_time(max(samples))]
    except Exception as exc:  # noqa: BLE001 - report and carry on
        build, cells = None, [error_text(exc), "", ""]
    print(table(["step", "median", "min", "max"], [["srcad.derivative (build)"] + cells]))
    return {"srcad": build}


def loop_nest(depth, serial):
    """A fresh function of `depth` nested two-trip loops around `x = x * a + 0.5 * a`."""
    lines = ["def nest(x, a):"]
    lines += ["    " * (k + 1) + f"for i{k} in range(2):" for k in range(depth)]
    lines += ["    " * (depth + 1) + "x = x * a + 0.5 * a", "    return x"]
    source = "\n".join(lines) + "\n"
    filename = f"<srcad-benchmark-nest-{depth}-{serial}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - on purpose
    return namespace["nest"], filename


def run_loop_nest_build(opts):
    """Median wall time of srcad.derivative(mode="reverse") on fresh loop nests of depth 1..7:
    the reverse pass's loop fixpoints must not redo the inner loops' work per level."""
    count = 5 if opts.quick else 15
    print(
        "\n### loop_nest_build: srcad.derivative(nest, mode=\"reverse\", wrt=(0, 1)) on fresh "
        f"loop nests `for i0 in range(2): for i1 ...: x = x * a + 0.5 * a`, {count} builds each\n"
    )
    results, rows, previous = {}, [], None
    try:
        import srcad

        srcad.derivative(loop_nest(1, "warm-up")[0], mode="reverse", wrt=(0, 1))
        for depth in range(1, 8):
            samples = []
            for serial in range(count):
                f, filename = loop_nest(depth, serial)
                start = time.perf_counter()
                df = srcad.derivative(f, mode="reverse", wrt=(0, 1))
                samples.append(time.perf_counter() - start)
                linecache.cache.pop(filename, None)
                if df(1.0, 0.5)[0] != 0.5 ** (2 ** depth):
                    raise AssertionError(f"depth {depth}: wrong d/dx")
            build = statistics.median(samples)
            results[f"depth {depth}, srcad"] = build
            # the step between the fastest builds: medians move with the machine's load
            step = "" if previous is None else fmt_time(max(min(samples) - previous, 0.0))
            rows.append([str(depth), fmt_time(build), fmt_time(min(samples)), step])
            previous = min(samples)
    except Exception as exc:  # noqa: BLE001 - report and carry on
        rows.append(["", error_text(exc), "", ""])
    print(table(["depth", "median", "min", "+ per level (min)"], rows))
    return results


def run_call_overhead(opts):
    """srcad.grad's wrapper cost: grad(f)(x, y) minus derivative(f)(x, y). scalar40's
    parameters are annotated `float`, so derivative(f) is the very function grad(f)
    dispatches to for float arguments."""
    f, hand, wrt = cases.CASES["scalar40"]
    args = cases.make_inputs("scalar40")
    print(
        "\n### call_overhead: srcad.grad(scalar40, wrt=(0, 1))(x, y) minus "
        'srcad.derivative(scalar40, mode="reverse", wrt=(0, 1))(x, y)\n'
    )
    header = ["call", "median / call", "check"]
    try:
        import srcad

        calls = {
            "derivative(f)(x, y)": srcad.derivative(f, mode="reverse", wrt=wrt),
            "grad(f)(x, y)": srcad.grad(f, wrt=wrt),
        }
        ref = hand(*args)
        for label, fn in calls.items():
            bad = mismatch(fn(*args), ref, ["x", "y"])
            if bad:
                print(table(header, [[label, "", f"**MISMATCH** {bad}"]]))
                return {"srcad": None}
        samples = time_round_robin(
            {k: (fn, args) for k, fn in calls.items()}, opts.target, opts.repeats
        )
        pairs = zip(samples["grad(f)(x, y)"], samples["derivative(f)(x, y)"])
        overhead = statistics.median(g - d for g, d in pairs)  # paired by repeat
        rows = [[k, fmt_time(statistics.median(s)), "ok"] for k, s in samples.items()]
        rows.append(["overhead (median of paired differences)", f"{overhead * 1e6:.2f} µs", ""])
    except Exception as exc:  # noqa: BLE001
        overhead, rows = None, [["srcad", error_text(exc), ""]]
    print(table(header, rows))
    return {"srcad": overhead}


# ---------------------------------------------------------------- targets
def evaluate(target, results):
    """A row of the targets table: benchmark, measure, target, measured, PASS/FAIL/n/a."""
    name, num, den, op, limit = target
    got = results[name]
    what = (f"{num} ({den})" if den in UNITS else f"{num} / {den}").replace(
        "mem:", "peak memory ").replace("compile:", "first call (compile) of ")
    if den in UNITS:
        value = None if got.get(num) is None else got[num] / UNITS[den]
    else:
        value = None if got.get(num) is None or got.get(den) is None else got[num] / got[den]
    if value is None:
        srcad_missing = any(k.endswith("srcad") and got.get(k) is None for k in (num, den))
        return [name, what, f"{op} {limit:g}", "—", "FAIL" if srcad_missing else "n/a"]
    passed = value <= limit if op == "<=" else value >= limit
    shown = f"{value:.2f}" if den in UNITS else fmt_ratio(value, 1.0)
    return [name, what, f"{op} {limit:g}", shown, "PASS" if passed else "FAIL"]


def versions():
    """``library -> version`` (srcad: version and location, or the import error)."""
    found = {"python": platform.python_version(), "numpy": np.__version__}
    for lib in ("srcad", "numba", "autograd", "jax", "torch"):
        try:
            module = __import__(lib)
        except Exception as exc:  # noqa: BLE001
            found[lib] = error_text(exc) if lib == "srcad" else "not installed"
            continue
        try:
            found[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            found[lib] = getattr(module, "__version__", "(unknown version)")
        if lib == "srcad":
            found[lib] += f" from {next(iter(module.__path__))}"
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings (~1 min)")
    parser.add_argument("--only", help="comma-separated benchmark names")
    opts = parser.parse_args(argv)
    names = list(cases.CASES) + list(SPECIAL)
    selected = opts.only.split(",") if opts.only else names
    unknown = [n for n in selected if n not in names]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    opts.target, opts.repeats = (0.01, 7) if opts.quick else (0.2, 11)
    # the numba backend's compile time is measured from an empty cache (not a previous run's)
    os.environ["SRCAD_CACHE_DIR"] = tempfile.mkdtemp(prefix="srcad-bench-numba-")

    started = time.perf_counter()
    print("# srcad benchmarks\n")
    info = versions()
    print(", ".join(f"{k} {v}" for k, v in info.items()))
    print(
        f"{platform.machine()}, {os.cpu_count()} CPUs; {opts.repeats} repeats of "
        f"~{opts.target:g} s each, median per call{' (--quick)' if opts.quick else ''}"
    )

    results, rows = {}, []
    for name in (n for n in names if n in selected):
        runner = {"build_time": run_build_time, "loop_nest_build": run_loop_nest_build,
                  "call_overhead": run_call_overhead}.get(name)
        results[name] = runner(opts) if runner else run_case(name, opts)
        print()
        for target in (t for t in TARGETS if t[0] == name):
            rows.append(evaluate(target, results))
            _, what, limit, value, flag = rows[-1]
            print(f"- target: {what} {limit}: measured {value} → **{flag}**")

    print("\n### targets\n")
    print(table(["benchmark", "measure", "target", "measured", "result"], rows))
    counts = {flag: sum(row[-1] == flag for row in rows) for flag in ("PASS", "FAIL", "n/a")}
    print(
        f"\n{counts['PASS']} PASS, {counts['FAIL']} FAIL, {counts['n/a']} n/a "
        f"in {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
