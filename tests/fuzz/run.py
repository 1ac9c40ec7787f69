"""Runs many generated programs, minimises the failures and prints a summary.

    python -m tests.fuzz --n 100000 --seed 1 --jobs 2     # a long run
    python -m tests.fuzz --seed 1 --only 417              # reproduce program 417 of seed 1
    python tests/fuzz/run.py --n 2000                     # the same, as a script

Program `i` of seed `S` is drawn from `random.Random(f"{S}:{i}")` and its inputs from
`np.random.default_rng([S, i])`, so a (seed, index) pair names one program for good.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import multiprocessing
import sys
import time

if __package__ in (None, ""):               # run as a script: tests/fuzz/run.py
    import os
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "fuzz"

import random  # noqa: E402

import numpy as np  # noqa: E402

from . import gen, minimise, oracle  # noqa: E402

FAILURES = ("WRONG", "VALUE", "CRASH")


@dataclasses.dataclass
class Result:
    """One program's outcome, with what is needed to minimise it."""
    index: int
    cls: str
    findings: list
    case: minimise.Case


@dataclasses.dataclass
class Minimised:
    """A minimised failure: the key it keeps, the minimal case, its finding, and the
    (seed, index) of every generated program it stands for."""
    key: str
    case: minimise.Case
    finding: oracle.Finding
    origins: list


@dataclasses.dataclass
class Report:
    """Counts per class and per finding key, refusal kinds, minimised failures, timing."""
    seed: int
    n: int
    counts: collections.Counter
    keys: collections.Counter
    refusals: collections.Counter
    failures: list            # [Result] of class WRONG, VALUE or CRASH
    minimised: list           # [Minimised], deduplicated by minimal program and key
    seconds: float            # checking the programs
    minimise_seconds: float   # minimising the failures

    @property
    def failed(self):
        return bool(self.failures)


def program(seed, index):
    """Program `index` of run `seed` and the generator for its inputs."""
    return gen.generate(random.Random(f"{seed}:{index}")), np.random.default_rng([seed, index])


def check_one(seed, index):
    """Generates and checks one program; any failure of the fuzzer itself propagates."""
    prog, rng = program(seed, index)
    outcome = oracle.run_program(prog.source, prog.params, rng=rng)
    return Result(index, outcome.cls, outcome.findings,
                  minimise.Case(prog.source, prog.params, outcome.args))


def _check_chunk(job):
    seed, indices = job
    return [check_one(seed, i) for i in indices]


MEMORY = 4 << 30        # bytes of address space per process during a run


@contextlib.contextmanager
def memory_limit(limit=MEMORY):
    """Caps the address space (where the platform allows), so that a derivative looping
    forever while it pushes on a stack fails with MemoryError instead of eating the machine."""
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        new = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (new, hard))
    except (ImportError, ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def run(n, seed=0, jobs=1, per_key=3, budget=20.0, progress=None):
    """Checks programs 0..n-1 of `seed`, then minimises up to `per_key` failures per key."""
    with memory_limit():
        return _run(n, seed, jobs, per_key, budget, progress)


def _run(n, seed, jobs, per_key, budget, progress):
    start = time.monotonic()
    chunks = [(seed, range(k, min(n, k + 50))) for k in range(0, n, 50)]
    if jobs > 1:
        with multiprocessing.get_context("fork").Pool(jobs, maxtasksperchild=20) as pool:
            batches = pool.imap_unordered(_check_chunk, chunks)
            results = [r for batch in _progress(batches, progress, n) for r in batch]
    else:
        results = [r for batch in _progress(map(_check_chunk, chunks), progress, n)
                   for r in batch]
    results.sort(key=lambda r: r.index)
    counts = collections.Counter(r.cls for r in results)
    keys = collections.Counter(f.key for r in results for f in r.findings)
    refusals = collections.Counter(f.key.split(":", 2)[2] for r in results
                                   for f in r.findings if f.cls == "refused")
    failures = [r for r in results if r.cls in FAILURES]
    checked = time.monotonic()
    found: dict = {}
    tried = collections.Counter()
    for r in failures:
        key = minimise.failure_key(oracle.Outcome(r.cls, r.findings))
        if tried[key] >= per_key:
            continue
        tried[key] += 1
        case, finding = minimise.minimise(r.case, key, budget)
        if finding is None:             # not reproducible in isolation: keep it whole
            finding = next(f for f in r.findings if f.key == key)
        entry = found.setdefault((key, case.source), Minimised(key, case, finding, []))
        entry.origins.append((seed, r.index))
    return Report(seed, n, counts, keys, refusals, failures, list(found.values()),
                  checked - start, time.monotonic() - checked)


def _progress(batches, every, n):
    done = 0
    for batch in batches:
        done += len(batch)
        if every and done % every < len(batch):
            print(f"  {done}/{n} programs", file=sys.stderr, flush=True)
        yield batch


def format_case(case):
    """A failing case as text to paste into a test: the program and its inputs."""
    args = ", ".join(np.array2string(a, separator=", ").replace("\n", "")
                     if isinstance(a, np.ndarray) else repr(a) for a in case.args)
    return f"{case.source.rstrip()}\n# f({args})"


def format_report(report):
    """The summary table, the refusal kinds and every minimised failure."""
    lines = [f"srcad fuzz: seed {report.seed}, {report.n} programs, "
             f"{report.seconds:.1f} s ({1000 * report.seconds / max(report.n, 1):.1f} ms/program), "
             f"minimising {len(report.minimised)} failures {report.minimise_seconds:.1f} s",
             "", "class     programs"]
    for cls in oracle.SEVERITY + ("invalid",):
        lines.append(f"{cls:<9} {report.counts.get(cls, 0):>8}")
    lines += ["", "finding (class:check:...)                         count"]
    for key, count in report.keys.most_common():
        if not key.startswith(("refused", "invalid")):
            lines.append(f"{key:<50} {count:>5}")
    if report.refusals:
        lines += ["", "refusals (kind: message)                          count"]
        for msg, count in report.refusals.most_common():
            lines.append(f"{msg[:90]:<90} {count:>5}")
    for k, m in enumerate(report.minimised, 1):
        origins = ", ".join(f"{s}:{i}" for s, i in m.origins)
        lines += ["", f"--- failure {k}: {m.key} (from seed:index {origins})",
                  format_case(m.case), f"# {m.finding.detail}"]
    return "\n".join(lines)


def main(argv=None):
    """The command line: run, print the report, exit 1 if anything failed."""
    p = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1000, help="number of programs (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--per-key", type=int, default=3,
                   help="failures minimised per finding key (default 3)")
    p.add_argument("--budget", type=float, default=20.0,
                   help="seconds of minimisation per failure (default 20)")
    p.add_argument("--only", type=int, default=None,
                   help="check program ONLY of the seed alone, print it and its findings")
    opts = p.parse_args(argv)
    if opts.only is not None:
        r = check_one(opts.seed, opts.only)
        print(format_case(r.case))
        print(f"# class {r.cls}")
        for f in r.findings:
            print(f"# {f.key}: {f.detail}")
        key = minimise.failure_key(oracle.Outcome(r.cls, r.findings))
        if key:
            case, finding = minimise.minimise(r.case, key, opts.budget)
            print(f"\n--- minimised ({key})\n{format_case(case)}")
            if finding:
                print(f"# {finding.detail}")
        return 1 if r.cls in FAILURES else 0
    report = run(opts.n, opts.seed, opts.jobs, opts.per_key, opts.budget,
                 progress=max(opts.n // 20, 50))
    print(format_report(report))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
