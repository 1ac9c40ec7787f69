"""The cost of each rule's adjoint and tangent, against autograd's VJP on the same inputs.

Run single-threaded, with glibc's allocator kept from returning memory between calls:

    OPENBLAS_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456 \\
    MALLOC_TOP_PAD_=67108864 python benchmarks/adjoint_cost.py [--quick] [--only NAME,...]

Rows are the rule tables' test samples (tests/rules/fixtures_numpy.py, fixtures_arrays.py
and, with SciPy, fixtures_scipy.py: every rule has one), each scaled to medium size: every axis longer than
1 grows by the same factor (shapes stay consistent for products and broadcasting), doubled
while the largest argument has at most 10^5 entries, one primal call takes under 2 ms
and autograd's VJP under 50 ms,
and each array is redrawn uniformly between its sample's minimum and maximum (so it stays
in the function's domain; well-conditioned matrices stay well-conditioned, an increasing
vector of more than two entries becomes an even grid over its range); growth stops
before the output over- or underflows (a non-finite or zero entry where the sample's output
had none: np.prod of 10^5 entries of (0.5, 1.5) is 0, and its derivative would time
subnormal arithmetic). A sample calls one or
a few rules; the `rules` column names them. Columns:
  vjp        srcad's reverse-mode derivative (the primal values it needs, and the adjoint)
             with respect to every float argument, for a cotangent of ones; median over
             repeats, the three columns timed in turn repeat by repeat
  autograd   autograd's make_vjp and the pullback on the same arguments and cotangent
  ratio      vjp / autograd; a row above 1.25 is flagged SLOW
  jvp        srcad's forward-mode derivative along all float arguments (tangents of ones),
             and its ratio to autograd's JVP (autograd.make_jvp, along the first float
             argument for both) where autograd has one, else to its VJP (marked *)
  peak       the whole VJP call's peak: tracemalloc's peak during the call, less what is
             live before it and what it returns, over the bytes of the sample's inputs and
             output; `ag` is autograd's VJP alike, `jpeak` srcad's JVP call (along all
             float arguments) alike, its inputs counting the tangents. A sample of several
             rules keeps each rule's output for the reverse sweep (as autograd does), so
             this peak counts those primal values too: it compares srcad with autograd, it
             does not judge a rule
  tmp        the largest temporary of one statement of srcad's VJP (`jtmp`: of its JVP):
             tracemalloc's peak while the statement runs, less what is live before and
             after it (the statement's inputs, the primal values kept, the incoming
             cotangent, the adjoint it returns) and 4 KiB of Python objects, over the bytes
             of the arrays the statement names, or of the sample's inputs and output, or
             of what the primal call itself holds at its peak, whichever is most. A
             statement of a derivative is one rule's tangent or adjoint (or a few the code
             generator fused), so this is the issue's "temporary larger than its inputs
             and output", rule by rule. (Until 2026-12-01 the benchmark judged `peak`:
             164 of 267 samples were over 1, nearly all because a sample of several
             rules keeps every rule's output for the reverse sweep, which the sample's
             inputs and output alone do not count; np_pad's 21x was its six padded
             copies of x, each the input of a `** 2` adjoint.) A row whose tmp or jtmp
             is above 1 is flagged BIG; `--lines` prints the statement.
             A sample that does not grow (under 64 KiB of inputs and output) is flagged
             `small` instead and not judged: its peak measures Python's own objects
             (frames, tuples, array headers of ~100 bytes), not array temporaries
The derivatives are built for the argument kinds srcad.grad and srcad.jvp build them for
(pipeline.kinds_of: arrays with their number of dimensions and which have equal shapes).
Gradients are compared with autograd's before timing; where they differ, srcad's is
compared with central differences in a few random entries: a row srcad gets right is
timed and noted `autograd wrong`, a row it gets wrong is MISMATCH (not timed).
Samples that do not survive scaling (fixed indices, reshapes to fixed shapes, ...) are
listed at the end, as are samples autograd cannot run. The known case of the issue,
logistic regression through np.dot(X, w) on a 20000 x 100 design matrix (its gradient in w),
is the row `logreg`.
"""
import argparse
import ast
import inspect
import linecache
import os
import statistics
import sys
import timeit
import tracemalloc
import types

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for path in (ROOT, os.path.join(ROOT, "tests", "rules")):
    if path not in sys.path:
        sys.path.insert(1, path)

import srcad  # noqa: E402
from srcad import ir, lower, pipeline, rules  # noqa: E402

LIMIT = 1.25
TARGET = 100_000                      # entries of the largest argument, at most
SMALL = 64 * 1024                     # bytes of inputs and output below which peaks are not judged
SLACK = 4096                          # bytes of Python objects a statement may hold besides arrays
PRIMAL_LIMIT = 0.002                  # seconds of one primal call: no more growth beyond
DERIVATIVE_LIMIT = 0.05               # seconds of one autograd VJP: no more growth beyond


# ------------------------------------------------------------ why a row stays over the bound
# (measured 2026-12-02, --quick, load 6-7; printed under the table for the rows flagged BIG)
OVER_BOUND = {
    "np_eigh_values": "eigh's adjoint v (diag(w_bar) + F * v^T v_bar) v^T needs v (a's size) "
                      "and one product beside the result",
    "np_eigvalsh": "eigvalsh keeps no eigenvectors: its adjoint and tangent recompute eigh "
                   "(v, a's size) and form v diag(g) v^T (the product and its triangle)",
    "np_svd": "u and vh (for a square a, twice a's size) and the products of the formula",
    "np_svd_full": "as np_svd, u square",
    "np_svd_values": "compute_uv=False keeps no vectors: the derivative recomputes the svd "
                     "(u, vh) and forms u diag(g) vh",
    "np_pinv": "pinv's derivative recomputes the svd (u, vh) and its products",
    "np_norm_nuc": "norm ord='nuc' weighs u diag(w) vh: the svd's u and vh (twice a's size)",
    "np_norm_spectral": "as np_norm_nuc, for ord 2 and -2 (two norms in one statement)",
    "np_qr_modes": "qr's adjoint forms q^T q_bar, r r_bar^T and their copy-triangles (q, a's "
                   "size, and products of r's)",
    "np_lstsq": "lstsq's derivative recomputes the svd (u, vh) and the residual's products",
    "si_odeint": "odeint's tangent integrates the augmented system (state and tangents at "
                 "every time: the output's size times 1 + the directions)",
    "np_fftn": "complex intermediates: an fft of real x is complex, twice x's bytes",
    "sl_expm": "SciPy's expm_frechet (Pade with scaling and squaring) keeps its own matrices",
    "sl_sqrtm": "the Sylvester solve (scipy.linalg.solve_sylvester: Schur forms, copies)",
    "sl_lu": "lu_solve's adjoint in the factor forms the triangles of lu and a product",
    "sig_convolve": "scipy.signal.convolve's adjoint for mode 'same' correlates a padded g "
                    "(FFT or direct: SciPy's temporaries)",
    "np_tensordot_pairs": "the primal slices its 4-d product (a view keeps it); the tangent's "
                          "4-d product is as large (one contraction now, 2.85 before)",
    "np_meshgrid_three": "meshgrid's tangent makes every grid (zeros for the others' inputs)",
    "np_sum_where": "one statement adds several rules' adjoints (code generator's fusion)",
    "method_sum_where": "one statement adds several rules' adjoints (code generator's fusion)",
    "np_norm_ord": "one statement adds two norms' adjoints (code generator's fusion)",
    "sp_bessel_i": "one statement adds four partials, each recomputing its Bessel functions",
    "sp_gammainc": "the densities of three incomplete gamma calls in one statement",
    "helper_prod_vjp": "a helper's own sample (prod's adjoint differentiated again)",
    # (measured 2026-12-03, full timings, load 5-6)
    "np_array_api_matrices": "svdvals and matrix_norm ord='nuc' keep no vectors: the adjoint "
                             "(svd_vjp) and tangent (norm_weight) recompute the svd of the "
                             "stack (u and vh, twice x's size) and form u diag(g) vh, as "
                             "np_svd_values and np_norm_nuc",
    "op_pow_scalar_base": "a scalar base's adjoint sums an array expression over the "
                          "exponent's shape: y - 1 + (y == 0), the power and its products are "
                          "each y's size before the sum (1.0-1.2 by allocator state)",
    "helper_prod_jvp_where": "a helper's own sample: prod_jvp's derivative in x runs "
                             "prod_others_jvp (four exclusive-product arrays of x's size)",
    "np_fft_abs": "complex intermediates, as np_fftn: the tangent's two ffts of real x are "
                  "complex (twice x's bytes each) inside one statement (0.91 here, over 1 "
                  "under another allocator state)",
    "helper_bessel_i1": "a helper's own sample: one statement adds the product rule's two "
                        "terms, I1(x) g and g x I1'(x), I1' holding I0 and its quotient "
                        "beside them (1.08; 4.20 while I1' called np.i0, nine copies of x)",
    "helper_prod_others": "a helper's own sample (products of all others, three axes forms)",
    # (measured 2026-12-04, load 5-7)
    "np_cov_corrcoef": "the tangent's statement adds three corrcoef tangents, each holding the "
                       "centred data (as np.corrcoef does) and k x k arrays as large as the "
                       "data here (97 variables of 160 observations): 1.00 and 1.06 (3.01 and "
                       "2.04 while the derivatives stacked m and y)",
}


# ------------------------------------------------------------ the known case
def logreg(w, X, y):
    """Logistic regression's negative log-likelihood through np.dot(X, w), 1-d w."""
    z = np.dot(X, w)
    return np.sum(np.logaddexp(0.0, z) - y * z)


def logreg_inputs(rng):
    X = rng.normal(size=(20000, 100))
    return (rng.normal(size=100) * 0.1, X, (rng.uniform(size=20000) < 0.5).astype(float))


# ------------------------------------------------------------ samples, scaled
def scale_args(f, args, rng, twin=None):
    """`args` with every axis longer than 1 grown by one factor, doubled while the largest
    argument stays within TARGET entries, `f` takes under PRIMAL_LIMIT seconds and
    autograd's VJP of its `twin` under DERIVATIVE_LIMIT (its einsum of many operands
    contracts them all at once, at the cost of the product of their sizes), and values
    redrawn within each array's range."""
    arrays = [a for a in args if isinstance(a, np.ndarray) and a.ndim]
    if not arrays:
        return args

    def grown(shape, k):
        return tuple(n * k if n > 1 else n for n in shape)
    best, k = args, 1
    try:
        with np.errstate(all="ignore"):
            sample_out = f(*args)
    except Exception:
        return args
    while max(int(np.prod(grown(a.shape, 2 * k))) for a in arrays) <= TARGET:
        k *= 2
        candidate = tuple(redraw(a, grown(np.shape(a), k), rng) for a in args)
        try:
            with np.errstate(all="ignore"):
                start = timeit.default_timer()
                out = f(*candidate)
                elapsed = timeit.default_timer() - start
        except Exception:
            break
        if leaves_range(out, sample_out):
            break
        best = candidate
        if elapsed > PRIMAL_LIMIT or twin is not None and \
                autograd_seconds(twin, candidate, out) > DERIVATIVE_LIMIT:
            break
    return best


def autograd_seconds(twin, args, out) -> float:
    """Seconds of one autograd VJP of `twin` in its float arguments (0 where it fails)."""
    import autograd
    positions = tuple(i for i, a in enumerate(args) if isinstance(a, float) or (
        isinstance(a, np.ndarray) and a.dtype.kind == "f"))
    if not positions or not isinstance(out, (float, np.ndarray, np.generic)):
        return 0.0
    start = timeit.default_timer()
    try:
        with np.errstate(all="ignore"):
            pullback, _ = autograd.make_vjp(twin, positions)(*args)
            pullback(np.ones_like(out, dtype=float) if np.ndim(out) else 1.0)
    except Exception:
        return 0.0
    return timeit.default_timer() - start


def leaves_range(out, sample_out) -> bool:
    """Whether a grown sample's output over- or underflowed: a non-finite entry, or an
    entry exactly 0, where the sample's own output had none (a product of 10^5 entries
    of (0.5, 1.5) is 0, and its derivative then measures subnormal arithmetic)."""
    try:
        out, sample_out = np.asarray(out, dtype=float), np.asarray(sample_out, dtype=float)
    except (TypeError, ValueError):
        return False
    return bool(np.all(np.isfinite(sample_out)) and not np.all(np.isfinite(out)) or
                np.all(sample_out != 0) and not np.all(out != 0))


def redraw(a, shape, rng):
    """An array of `shape` with values like `a`'s (Python numbers and 0-d arrays kept)."""
    if not isinstance(a, np.ndarray) or not a.ndim:
        return a
    if a.dtype.kind != "f":
        return rng.choice(a.ravel(), size=shape)
    if a.ndim >= 2 and a.shape[-1] == a.shape[-2] and np.all(
            np.abs(np.diagonal(a, 0, -2, -1)) > 1.5):        # well-conditioned matrices
        n = shape[-1]
        return np.eye(n) * 2.0 + rng.uniform(-1, 1, size=shape) * (0.3 / np.sqrt(n))
    lo, hi = float(a.min()), float(a.max())
    if a.ndim == 1 and a.size > 2 and np.all(np.diff(a) > 0):
        return np.linspace(lo, hi, shape[0])       # a grid (odeint's times, interp's xp)
    return rng.uniform(lo, hi, size=shape) if hi > lo else np.full(shape, lo)


def autograd_twins(module, replacements):
    """The sample module executed again under autograd.numpy (and autograd.scipy)."""
    src = inspect.getsource(module)
    for old, new in replacements:
        src = src.replace(old, new)
    twin = types.ModuleType(module.__name__ + "_autograd")
    twin.__file__ = module.__file__
    exec(compile(src, module.__file__, "exec"), twin.__dict__)
    return twin


def samples(with_scipy: bool):
    """(name, function, autograd twin or None, sample arguments) for every sample."""
    import fixtures_arrays as fxa
    import fixtures_numpy as fxn
    out = []
    tables = [(fxn, [("import numpy as np", "import autograd.numpy as np")]),
              (fxa, [("import numpy as np", "import autograd.numpy as np")])]
    if with_scipy:
        import fixtures_scipy as fxs
        tables.append((fxs, [("import numpy as np", "import autograd.numpy as np"),
                             ("import scipy.linalg as sl", "import autograd.scipy.linalg as sl"),
                             ("import scipy.special as sp", "import autograd.scipy.special as sp"),
                             ("import scipy.stats as st", "import autograd.scipy.stats as st")]))
    for fx, repl in tables:
        twin = autograd_twins(fx, repl)
        for f, argsets in fx.SAMPLES:
            largest, ok = pick_args(f.__name__, argsets, fx.AUTOGRAD_LACKS)
            out.append((f.__name__, f, getattr(twin, f.__name__) if ok else None, largest))
    return out


def pick_args(name, argsets, lacking) -> tuple:
    """(the largest argument tuple autograd can check, True), else (the largest, False).
    `lacking` names samples ("name") or argument tuples ("name-k") autograd gets wrong:
    np.diag of a non-square matrix and np.tile of a 2-d array to 3-d, whose largest
    tuples were compared with autograd's wrong gradients (MISMATCH) until 2026-12-02."""
    size = lambda a: sum(map(entries, a))           # noqa: E731
    if name in lacking:
        return max(argsets, key=size), False
    checked = [a for k, a in enumerate(argsets) if f"{name}-{k}" not in lacking]
    return (max(checked, key=size), True) if checked else (max(argsets, key=size), False)


def entries(value) -> int:
    """The entries of an array, a number, or a list or tuple of them (other objects: 1)."""
    if isinstance(value, (list, tuple)):
        return sum(map(entries, value))
    return int(np.size(value)) if isinstance(value, (np.ndarray, np.generic, float, int)) else 1


def rule_names(f) -> str:
    fn = lower.lower(pipeline.parse(f, pipeline.static_kinds(f)))
    names = []
    for s in ir.walk(fn.body):
        if isinstance(s, ir.Assign) and isinstance(s.value, ir.Call) and \
                isinstance(s.value.prim, rules.Rule) and s.value.prim.diff_params:
            r = s.value.prim
            name = r.name or (r.primal.text if r.primal is not None else str(r.key))
            if name not in names:
                names.append(name)
    return " ".join(names)


# ------------------------------------------------------------ timing
def round_robin(fns: dict, repeats: int, budget: float) -> dict:
    """Median seconds per call of each function, timed in turn repeat by repeat (so load
    from elsewhere on the machine hits them alike), each repeat lasting about `budget`."""
    timers, loops = {}, {}
    for name, fn in fns.items():
        fn()
        t = timeit.Timer(fn)
        n, elapsed = 1, t.timeit(1)
        while elapsed < budget / 4 and n < 10 ** 6:
            n *= 4
            elapsed = t.timeit(n)
        timers[name], loops[name] = t, max(1, int(n * budget / max(elapsed, 1e-9)))
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, t in timers.items():
            times[name].append(t.timeit(loops[name]) / loops[name])
    return {name: statistics.median(ts) for name, ts in times.items()}


def nbytes(value) -> int:
    """The bytes of an array, a number or a list or tuple of them."""
    if isinstance(value, (list, tuple)):
        return sum(map(nbytes, value))
    return int(np.asarray(value).nbytes)


def peak_ratio(fn, args, out) -> float:
    """tracemalloc's peak during one call of `fn`, less the bytes it returns, over the bytes
    of the sample's inputs and output."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return max(peak - nbytes(result), 0) / max(nbytes(args) + nbytes(out), 1)


def _statement_lines(code) -> dict:
    """line -> (statement id, the names it reads and writes) for the generated source of
    `code` (linecache holds it); a compound statement's line names its header only."""
    tree = ast.parse("".join(linecache.getlines(code.co_filename)))
    out = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, (ast.If, ast.While)):
            parts, last = [node.test], node.test.end_lineno
        elif isinstance(node, ast.For):
            parts, last = [node.target, node.iter], node.iter.end_lineno
        elif isinstance(node, (ast.With, ast.Try)):
            parts, last = [], node.lineno
        else:
            parts, last = [node], node.end_lineno
        names = {n.id for p in parts for n in ast.walk(p) if isinstance(n, ast.Name)}
        for line in range(node.lineno, last + 1):
            out[line] = (id(node), names)
    return out


def _owners(value, into: dict):
    """The arrays `value` holds (a view counted as the array it views), by id."""
    if isinstance(value, (list, tuple)):
        for v in value:
            _owners(v, into)
    elif isinstance(value, np.ndarray):
        while isinstance(value.base, np.ndarray):
            value = value.base
        into[id(value)] = value.nbytes


def _named(frame, names, into: dict):
    """The arrays the `names` of a statement hold in `frame` (locals, else globals: a
    module's constant array is an input too), by id."""
    for n in names:
        if n in frame.f_locals:
            _owners(frame.f_locals[n], into)
        elif n in frame.f_globals:
            _owners(frame.f_globals[n], into)


def statement_ratio(fn, func, floor: int) -> tuple:
    """The largest temporary of one statement of the generated derivative `func` during
    `fn()`: tracemalloc's peak while the statement runs, less what is live before and after
    it (its inputs, the primal values kept, its incoming cotangent, the adjoint it makes)
    and SLACK bytes of Python objects, over the bytes of the arrays the statement names (at least `floor`: the sample's inputs
    and output, or what the primal call itself holds at its peak, if more). A statement is one rule's tangent or adjoint, or a few the code generator
    fused, as written in the derivative's source. Returns (ratio, the statement's line)."""
    code = func.__code__
    lines = _statement_lines(code)
    worst = [0.0, ""]
    state = {}

    def finish(frame):
        if not state:
            return
        cur, peak = tracemalloc.get_traced_memory()
        held = dict(state["held"])
        _named(frame, state["names"], held)
        temp = peak - max(state["cur"], cur) - SLACK
        ratio = max(temp, 0) / max(sum(held.values()), floor, 1)
        if ratio > worst[0]:
            worst[:] = [ratio, linecache.getline(code.co_filename, state["line"]).strip()]
        state.clear()

    def local(frame, event, arg):
        if event == "line":
            stmt, names = lines.get(frame.f_lineno, (None, set()))
            if state and state["stmt"] == stmt:
                return local
            finish(frame)
            held = {}
            _named(frame, names, held)
            state.update(stmt=stmt, names=names, held=held, line=frame.f_lineno)
            tracemalloc.reset_peak()
            state["cur"] = tracemalloc.get_traced_memory()[0]
        elif event == "return":
            finish(frame)
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename == code.co_filename else None
    tracemalloc.start()
    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(None)
        tracemalloc.stop()
    return tuple(worst)


def primal_peak(fn) -> int:
    """The bytes the primal call holds at its peak beyond what is live before it: its own
    temporaries (np.tensordot(x, y, axes=(2, 1))[:, 0, 0, :] builds the 4-d product)."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def measure(name, f, twin, args, opts, positions=None):
    """A result row for one sample (derivatives with respect to `positions`, by default
    every float argument), or a reason it was left out."""
    positions = positions or tuple(i for i, a in enumerate(args) if isinstance(a, float) or (
        isinstance(a, np.ndarray) and a.dtype.kind == "f"))
    if not positions:
        return None, "no float argument"
    with np.errstate(all="ignore"):
        try:
            out = f(*args)
        except Exception as e:                   # the sample does not survive scaling
            return None, f"does not scale ({type(e).__name__})"
        if not isinstance(out, (float, np.ndarray, np.generic)):
            return None, "returns a " + type(out).__name__
        if np.size(out) > 4 * TARGET:
            return None, f"output of {np.size(out)} entries"
        g = np.ones_like(out, dtype=float) if np.ndim(out) else 1.0
        kinds = pipeline.kinds_of(args)          # as srcad.grad and srcad.jvp build them
        rev = pipeline.get(f, "reverse", positions, kinds, False).func
        fwd = pipeline.get(f, "forward", positions, kinds).func
        tangents = [1.0 if isinstance(args[i], float) else np.ones_like(args[i])
                    for i in positions]
        try:
            ours = rev(*args, g)
        except Exception as e:                   # (np.linalg.eig of a complex spectrum)
            return None, f"srcad raises {type(e).__name__} at this size"
        fns = {"vjp": lambda: rev(*args, g), "jvp": lambda: fwd(*args, *tangents)}
        floor = max(nbytes(args) + nbytes(out), primal_peak(lambda: f(*args)))
        row = {"name": name, "rules": rule_names(f), "bytes": nbytes(args) + nbytes(out),
               "peak": peak_ratio(lambda: rev(*args, g), args, out),
               "jpeak": peak_ratio(lambda: fwd(*args, *tangents), (args, tangents), out),
               }
        row["tmp"], row["tmp_line"] = statement_ratio(lambda: rev(*args, g), rev, floor)
        row["jtmp"], row["jtmp_line"] = statement_ratio(lambda: fwd(*args, *tangents), fwd,
                                                        floor + nbytes(tangents))
        if twin is None:
            row.update(round_robin(fns, opts.repeats, opts.budget))
            return row, None
        import autograd
        try:
            vjp_maker = autograd.make_vjp(twin, positions if len(positions) > 1 else positions[0])

            def theirs():
                pullback, _ = vjp_maker(*args)
                return pullback(g)
            want = theirs()
        except Exception as e:
            row["note"] = f"autograd: {type(e).__name__}"
            row.update(round_robin(fns, opts.repeats, opts.budget))
            return row, None
        want = want if len(positions) > 1 else (want,)
        for a, b in zip(ours, want):
            a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
            if a.shape != b.shape or not np.allclose(a, b, rtol=1e-6, atol=1e-9, equal_nan=True):
                if not agrees_with_differences(f, args, positions, ours, g):
                    return None, f"MISMATCH with autograd at this size ({a.shape}, {b.shape})"
                row["note"] = "autograd wrong"     # timed all the same: it does the same work
                break
        fns["autograd"] = theirs
        row["ag_peak"] = peak_ratio(theirs, args, out)
        first = positions[0]                  # JVPs along the first float argument alone
        try:
            jvp_maker = autograd.make_jvp(twin, first)
            t0 = tangents[0]
            want_jvp = jvp_maker(*args)(t0)[1]
            kinds1 = pipeline.kinds_of(args)
            fwd1 = pipeline.get(f, "forward", (first,), kinds1).func
            got_jvp = fwd1(*args, t0)[1]
            if np.allclose(np.asarray(got_jvp, dtype=float), np.asarray(want_jvp, dtype=float),
                           rtol=1e-6, atol=1e-9, equal_nan=True):
                fns["jvp1"] = lambda: fwd1(*args, t0)
                fns["autograd_jvp"] = lambda: jvp_maker(*args)(t0)
        except Exception:                      # autograd has no JVP for some primitive
            pass
        row.update(round_robin(fns, opts.repeats, opts.budget))
    return row, None


def agrees_with_differences(f, args, positions, grads, g, eps=1e-6, entries=3) -> bool:
    """Whether srcad's gradients `grads` (of sum(f * g) in the arguments at `positions`)
    agree with central differences in a few random entries of each argument (one entry at a
    time: np.partition's arrangement of 10^5 entries changes with a perturbation of all of
    them, not of one): the judge when autograd's gradient differs (np.partition beyond ~1000
    entries, where autograd assumes np.argpartition arranges the entries as np.partition
    does, which it does not)."""
    rng = np.random.default_rng(1)
    grads = grads if len(positions) > 1 else (grads,)
    with np.errstate(all="ignore"):
        for gr, i in zip(grads, positions):
            gr = np.asarray(gr, dtype=float)
            for flat in rng.choice(max(gr.size, 1), size=min(entries, gr.size), replace=False):
                def moved(t):
                    a = np.array(args[i], dtype=float)
                    if a.ndim:
                        a.flat[flat] += t
                    else:
                        a = float(a) + t
                    out = f(*[a if k == i else v for k, v in enumerate(args)])
                    return np.asarray(out, dtype=float)
                fd = float(np.sum((moved(eps) - moved(-eps)) * g) / (2 * eps))
                ours = float(gr.flat[flat]) if gr.ndim else float(gr)
                if not abs(ours - fd) <= 1e-4 * max(abs(fd), abs(ours), 1.0):
                    return False
    return True


def fmt(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="shorter timings")
    p.add_argument("--only", default="", help="comma-separated sample names")
    p.add_argument("--lines", action="store_true",
                   help="print the statement of each row's largest temporary (tmp, jtmp)")
    opts = p.parse_args(argv)
    opts.repeats, opts.budget = (3, 0.01) if opts.quick else (7, 0.05)
    try:
        import scipy  # noqa: F401
        with_scipy = True
    except ImportError:
        with_scipy = False
    rng = np.random.default_rng(0)
    import autograd.numpy as anp
    cases = [("logreg", logreg, types.FunctionType(logreg.__code__, {**globals(), "np": anp}),
              logreg_inputs(rng), (0,))]               # the gradient in w alone
    cases += [(n, f, t, scale_args(f, a, rng, t), None) for n, f, t, a in samples(with_scipy)]
    only = set(filter(None, opts.only.split(",")))
    rows, left_out = [], []
    for name, f, twin, args, positions in cases:
        if only and name not in only:
            continue
        print(f"  {name} ...", end="\r", file=sys.stderr, flush=True)
        row, why = measure(name, f, twin, args, opts, positions)
        if row is None:
            left_out.append((name, why))
        else:
            rows.append(row)
    print(f"{'sample':28} {'vjp':>9} {'autograd':>9} {'ratio':>6} {'jvp':>9} {'ratio':>6} "
          f"{'peak':>5} {'ag':>5} {'jpeak':>5} {'tmp':>5} {'jtmp':>5}  rules")
    slow, big, bigger, small = [], [], [], []
    for r in rows:
        ag = r.get("autograd")
        ratio = f"{r['vjp'] / ag:.2f}" if ag else ""
        if r.get("autograd_jvp"):
            jratio = f"{r['jvp1'] / r['autograd_jvp']:.2f}"
        else:
            jratio = f"{r['jvp'] / ag:.2f}*" if ag else ""
        flag = " (autograd wrong)" if r.get("note") == "autograd wrong" else ""
        if ag and r["vjp"] / ag > LIMIT:
            flag += " SLOW"
            slow.append(r["name"])
        ag_peak = r.get("ag_peak")
        if r["bytes"] < SMALL:
            flag += " small"
            small.append(r["name"])
        elif max(r["tmp"], r["jtmp"]) > 1.0:
            flag += " BIG"
            big.append(r["name"])
            if ag_peak is not None and r["peak"] > ag_peak:
                bigger.append(r["name"])
        agp = f"{ag_peak:5.2f}" if ag_peak is not None else "     "
        print(f"{r['name']:28} {fmt(r['vjp']):>9} {fmt(ag) if ag else r.get('note', 'n/a'):>9} "
              f"{ratio:>6} {fmt(r['jvp']):>9} {jratio:>6} {r['peak']:5.2f} {agp} {r['jpeak']:5.2f} "
              f"{r['tmp']:5.2f} {r['jtmp']:5.2f}  "
              f"{r['rules']}{flag}")
        if opts.lines:
            print(f"    tmp  {r['tmp_line'][:160]}\n    jtmp {r['jtmp_line'][:160]}")
    print(f"\n{len(slow)} of {sum(1 for r in rows if r.get('autograd'))} samples timed against "
          f"autograd are above {LIMIT}x: {', '.join(slow) or 'none'}")
    print(f"{len(big)} of {len(rows) - len(small)} samples hold a temporary larger than their "
          f"inputs and output: {', '.join(big) or 'none'}")
    print(f"of which {len(bigger)} (of those autograd runs) have a whole-call peak above "
          f"autograd's VJP: {', '.join(bigger) or 'none'}")
    print(f"{len(small)} samples under {SMALL // 1024} KiB of inputs and output (they do not "
          f"grow) are not judged for memory: {', '.join(small) or 'none'}")
    if rows:
        worst_t = max((r for r in rows if r.get("autograd")), key=lambda r: r["vjp"] / r["autograd"],
                      default=None)
        worst_m = max((r for r in rows if r["bytes"] >= SMALL),
                      key=lambda r: max(r["tmp"], r["jtmp"]), default=rows[0])
        if worst_t is not None:
            print(f"worst time ratio: {worst_t['vjp'] / worst_t['autograd']:.2f} "
                  f"({worst_t['name']})")
        print(f"worst memory ratio: {max(worst_m['tmp'], worst_m['jtmp']):.2f} "
              f"({worst_m['name']})")
    known = [n for n in big if n in OVER_BOUND]
    if known:
        print("\nwhy (benchmarks/adjoint_cost.py OVER_BOUND):")
        for n in known:
            print(f"  {n}: {OVER_BOUND[n]}")
    if left_out:
        print("\nnot timed: " + "; ".join(f"{n} ({why})" for n, why in left_out))
    return 1 if slow or big else 0


if __name__ == "__main__":
    sys.exit(main())
