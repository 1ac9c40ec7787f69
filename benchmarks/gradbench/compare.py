#!/usr/bin/env python3
"""Every eval for srcad, JAX (jax-sync), PyTorch and the C++ `manual` tool side by side in
one run, rendered as the README's markdown table.

    python3 benchmarks/gradbench/compare.py --gradbench ../shared/gradbench \
        --out-dir /tmp/gb-compare > table.md

For each eval in turn, each tool runs the eval's quick sizes (the harness's `quick` table)
through the harness's `run`, validation on, one tool after the other, so the four tools of
one eval are measured within the same minutes. Times are the mean (`--stat median`: the
median, `--stat min`: the fastest) of each evaluation's timed runs after its first (steady
state: JAX compiles on its first run); JAX's compile time is its first run minus that mean,
in a column of its own. Load average and
date are printed before and after, as the conditions of the run. Run it single-threaded
(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 and the malloc settings of the README).
"""
import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRCAD = f"python3 {HERE / 'run.py'}"
TOOLS = {"srcad": SRCAD, "jax-sync": "jax-sync", "pytorch": "pytorch", "manual": "manual",
         "srcad-numba": SRCAD + " --backend numba"}     # not in the default four
DEFAULT_TOOLS = ("srcad", "jax-sync", "pytorch", "manual")
OUTCOMES = {0: "valid", 1: "error", 2: "undefined", 3: "failure", 4: "invalid",
            5: "timeout", 6: "interrupt"}


def harness_module(gradbench, name):
    """The harness's script `name` (no .py suffix) as a module, for its tables."""
    loader = SourceFileLoader(f"gb_{name}", str(Path(gradbench) / name))
    module = module_from_spec(spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def evaluations(log):
    """(function, input description, timed runs in ns, valid) per evaluate message."""
    messages, out = {}, {}
    for line in Path(log).read_text().splitlines():
        entry = json.loads(line)
        if "message" in entry:
            m = entry["message"]
            messages[m["id"]] = m
            if m.get("kind") == "analysis" and m.get("of") in out:
                out[m["of"]][3] = bool(m.get("valid"))
        else:
            r = entry["response"]
            m = messages.get(r["id"], {})
            if m.get("kind") == "evaluate":
                runs = [t["nanoseconds"] for t in r.get("timings") or []
                        if t["name"] == "evaluate"]
                desc = m.get("description") or m.get("input_text") or f"#{r['id']}"
                out[r["id"]] = [m["function"], desc, runs if r.get("success") else [], None]
    return list(out.values())


STAT = "mean"          # or "median", "min": the fastest run after the first (--stat)


def steady(runs):
    """(mean, or fastest, of the runs after the first; the first run minus their mean):
    steady state, and warm-up or compile."""
    if not runs:
        return None, None
    if len(runs) == 1:
        return runs[0], None
    rest = sum(runs[1:]) / (len(runs) - 1)
    stat = {"mean": rest, "min": min(runs[1:]),
            "median": statistics.median(runs[1:])}[STAT]
    return stat, runs[0] - rest


def fmt(ns):
    if ns is None:
        return "-"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.0f} ns"


def rows_of(ev, logs, pairs):
    """Markdown rows of one eval: per input, each tool's primal, derivative and ratio."""
    primal_fn, deriv_fn = pairs.get(ev, (None, None))
    table = {}                                    # input -> tool -> function -> (mean, warm)
    status = {}
    for tool, log in logs.items():
        if not Path(log).exists():
            continue
        for function, desc, runs, valid in evaluations(log):
            table.setdefault(desc, {}).setdefault(tool, {})[function] = steady(runs)
            if valid is False:
                status[tool] = "invalid"
    rows = []
    for desc, tools in table.items():
        cells, compile_ns = [], None
        for tool in logs:
            got = tools.get(tool, {})
            p, warm = got.get(primal_fn, (None, None))
            d, dwarm = got.get(deriv_fn, (None, None))
            if tool == "jax-sync" and warm is not None:
                compile_ns = (warm or 0) + (dwarm or 0)
            # JAX's single run of an input (its first, over --min-seconds) includes its
            # compile: no steady state to show, so no ratio either
            once = tool == "jax-sync"
            pt = fmt(p) + (" ‡" if once and p and warm is None else "")
            dt = fmt(d) + (" ‡" if once and d and dwarm is None else "")
            ratio = f"{d / p:.2f}" if p and d and "‡" not in pt + dt else "-"
            mark = " (invalid)" if status.get(tool) == "invalid" else ""
            cells += [pt, dt + mark, ratio]
        rows.append(f"| {ev} | {desc} | " + " | ".join(cells) + f" | {fmt(compile_ns)} |")
    return rows


def nested_rows(ev, logs):
    """particle and saddle: one time per mode pair (no primal), per tool that ran."""
    rows = []
    for tool, log in logs.items():
        if not Path(log).exists():
            continue
        got = evaluations(log)
        if not got:
            continue
        cells = {f: (fmt(steady(r)[0]), v) for f, _, r, v in got}
        text = " | ".join(f"{cells[f][0]}{'' if cells[f][1] is not False else ' (invalid)'}"
                          if f in cells else "-" for f in ("rr", "ff", "fr", "rf"))
        rows.append(f"| {ev} | {tool} | {text} |")
    return rows


def conditions():
    load = os.getloadavg()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"{now}, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min)"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gradbench", default=str(HERE.parents[2] / "shared" / "gradbench"),
                    help="the harness folder (holding run and quick)")
    ap.add_argument("--eval", action="append", help="default: every eval")
    ap.add_argument("--tool", action="append", choices=list(TOOLS),
                    help="default: the first four (srcad-numba: run.py --backend numba)")
    ap.add_argument("--out-dir", default="gradbench-compare", help="logs go here")
    ap.add_argument("--timeout", default="600", help="per-message tool timeout (s)")
    ap.add_argument("--render", action="store_true",
                    help="only render the table from the logs already in --out-dir")
    ap.add_argument("--stat", choices=("mean", "median", "min"), default="mean",
                    help="per evaluation: the mean of the runs after the first (GradBench's "
                         "number, steady state), their median (robust to a shared "
                         "machine's stalls) or the fastest of them (less load-bound)")
    args = ap.parse_args()
    global STAT
    STAT = args.stat
    quick = harness_module(args.gradbench, "quick")
    pairs = harness_module(args.gradbench, "run").CLASSIC
    evals = args.eval or list(quick.QUICK)
    tools = args.tool or list(DEFAULT_TOOLS)
    out = Path(args.out_dir)
    started = conditions()
    outcomes = []
    for ev in evals:
        for tool in tools:
            log = out / ev / f"{tool}.jsonl"
            if args.render:
                continue
            log.parent.mkdir(parents=True, exist_ok=True)
            cmd = [sys.executable, str(Path(args.gradbench) / "run"), "--eval", ev,
                   "--tool", TOOLS[tool], "--trim", "-o", str(log), "--timeout",
                   args.timeout, "--quiet", "--", *quick.QUICK[ev]]
            print(f"=== {ev} / {tool}: {shlex.join(quick.QUICK[ev])}", file=sys.stderr,
                  flush=True)
            rc = subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode
            outcomes.append(f"{ev}/{tool}: {OUTCOMES.get(rc, rc)}")
            print(outcomes[-1], file=sys.stderr, flush=True)
    when = f"Rendered {started} from the logs in {out}" if args.render else \
        f"Run started {started}; ended {conditions()}"
    print(f"{when}. Times: the {args.stat} of each evaluation's runs after its first.\n")
    head = "".join(f" {t} primal | {t} derivative | {t} ratio |" for t in tools)
    print("| eval | input |" + head + " JAX compile |")
    print("| --- | --- |" + " ---: | ---: | ---: |" * len(tools) + " ---: |")
    nested = []
    for ev in evals:
        logs = {tool: out / ev / f"{tool}.jsonl" for tool in tools}
        if ev in pairs:
            print("\n".join(rows_of(ev, logs, pairs)))
        elif ev != "hello":                       # hello is a protocol check, not timed
            nested += nested_rows(ev, logs)
    print("\n‡ JAX ran this input once (its first run, compile included, took over the eval's "
          "--min-seconds): no steady state, no ratio.")
    if nested:
        print("\n| eval | tool | rr | ff | fr | rf |\n| --- | --- | ---: | ---: | ---: | ---: |")
        print("\n".join(nested))
    if outcomes:
        print("\nOutcomes: " + "; ".join(outcomes) + ".")


if __name__ == "__main__":
    main()
