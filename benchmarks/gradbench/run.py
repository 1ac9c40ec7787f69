#!/usr/bin/env python3
"""srcad as a GradBench tool: speaks GradBench's JSON-lines protocol on stdin/stdout.

Each eval is a module here (`gb_lse.py`, `gb_gmm.py`, ...) holding its objective in plain
NumPy and the derivative srcad makes of it through the public API (no hand-written
derivative), and FUNCTIONS: name -> (prepare the JSON input, the function, its JSON output),
timed here by GradBench's own `wrap`.
`define` builds (and caches) each derivative on a tiny input of the same kinds, so build
time is reported in the define response and stays out of the timed runs.

    ../shared/gradbench/run --eval lse --tool "python3 benchmarks/gradbench/run.py"

`--EVAL=VARIANT` runs module `gb_EVAL_VARIANT` for EVAL instead (`--gmm=naive`: the eval's
own naive Python objective).

    ... --tool "python3 benchmarks/gradbench/run.py --backend numba"   # Numba-compiled

`--backend numba` asks srcad's numba backend for the derivatives of det, ode and lstm,
and for particle's and saddle's outer derivatives (their primal, run by the descent, is
plain Python) (`define` compiles them; Numba's compile time is reported as its own
`compile` timing, inside `define`'s). The other evals keep the default backend.
"""
import argparse
import importlib
import json
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))     # the srcad checkout

EVALS = ("hello", "lse", "llsq", "ode", "kmeans", "gmm", "lstm", "ba", "ht", "det",
         "particle", "saddle")


def respond(message, modules, variants=None):
    kind = message["kind"]
    if kind == "start":
        return {"tool": "srcad"}
    if kind == "define":
        name = message["module"]
        if name not in EVALS:
            return {"success": False, "error": f"module {name!r} not implemented"}
        try:
            start = time.perf_counter_ns()
            variant = (variants or {}).get(name)
            mod = importlib.import_module(f"gb_{name}" + (f"_{variant}" if variant else ""))
            mod.define()
            build = time.perf_counter_ns() - start
        except Exception as e:
            return {"success": False, "error": "".join(traceback.format_exception(e))}
        modules[name] = mod
        timings = [{"name": "define", "nanoseconds": build}]
        if "srcad.backends.numba" in sys.modules:   # the numba backend compiled some
            compiled = sys.modules["srcad.backends.numba"].COMPILE_TIMES
            timings.append({"name": "compile",
                            "nanoseconds": int(sum(compiled.values()) * 1e9)})
            compiled.clear()
        return {"success": True, "timings": timings}
    if kind == "evaluate":
        try:
            from gradbench import wrap      # the harness's timing, as upstream's tools use it
            pre, function, post = modules[message["module"]].FUNCTIONS[message["function"]]
            timed = wrap.function if message["module"] == "hello" else wrap.multiple_runs
            return timed(pre=pre, post=post)(function).wrapped(message["input"])
        except Exception as e:
            return {"success": False, "error": "".join(traceback.format_exception(e))}
    return {}


def main():
    parser = argparse.ArgumentParser(description="srcad as a GradBench tool")
    parser.add_argument("--backend", choices=("python", "numba"), default="python",
                        help="the backend srcad compiles the derivatives with")
    opts, rest = parser.parse_known_args()
    os.environ["SRCAD_GRADBENCH_BACKEND"] = opts.backend
    modules = {}
    variants = dict(a.removeprefix("--").split("=", 1) for a in rest)
    for line in sys.stdin:
        message = json.loads(line)
        print(json.dumps({"id": message["id"]} | respond(message, modules, variants)),
              flush=True)


if __name__ == "__main__":
    main()
