"""`srcad ssa TARGET` and `srcad dump TARGET [--mode M] [--wrt A,B]`."""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys

from . import api
from .errors import SrcadError


def load_target(target: str):
    """`path/to/file.py:func` or `package.module:func` to the function object."""
    if ":" not in target:
        raise SrcadError(f"bad target {target!r}: expected path/to/file.py:func or module:func")
    where, _, name = target.rpartition(":")
    if where.endswith(".py") or os.sep in where:
        if not os.path.exists(where):
            raise SrcadError(f"bad target {target!r}: no file {where}")
        modname = "srcad_target_" + os.path.splitext(os.path.basename(where))[0]
        spec = importlib.util.spec_from_file_location(modname, where)
        module = importlib.util.module_from_spec(spec)
        sys.modules[modname] = module
        sys.path.insert(0, os.path.dirname(os.path.abspath(where)))
        spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as e:
            raise SrcadError(f"bad target {target!r}: {e}") from None
    func = module
    for part in name.split("."):
        func = getattr(func, part, None)
        if func is None:
            raise SrcadError(f"bad target {target!r}: {where} has no {name!r}")
    return func


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="srcad", description="Print the SSA form or the "
                                     "generated derivative source of a Python function.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_ssa = sub.add_parser("ssa", help="print the function in SSA form")
    p_ssa.add_argument("target", help="path/to/file.py:func or package.module:func")
    p_dump = sub.add_parser("dump", help="print the generated derivative source")
    p_dump.add_argument("target", help="path/to/file.py:func or package.module:func")
    p_dump.add_argument("--mode", choices=("reverse", "forward"), default="reverse")
    p_dump.add_argument("--wrt", default=None, help="parameter name(s), comma separated")
    add_show_commands(sub)
    args = parser.parse_args(argv)
    try:
        func = load_target(args.target)
        if args.command in SHOW_COMMANDS:
            return SHOW_COMMANDS[args.command](func, args)
        if args.command == "ssa":
            text = api.ssa(func)
        else:
            wrt = 0
            if args.wrt:
                names = [w.strip() for w in args.wrt.split(",") if w.strip()]
                wrt = names[0] if len(names) == 1 else tuple(names)
            text = api.source(func, mode=args.mode, wrt=wrt)
    except SrcadError as e:
        print(f"srcad: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # a target that fails to import
        print(f"srcad: {type(e).__name__}: {e}".splitlines()[0], file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


# ---------------------------------------------------------------- graph, trace, export

def add_show_commands(sub):
    """`srcad graph`, `srcad trace` and `srcad export` (srcad/show/)."""
    target = "path/to/file.py:func or package.module:func"
    wrt = "parameter name(s) or position(s), comma separated (default: the first)"
    p = sub.add_parser("graph", help="print or render the computational graph (DOT, SVG, PNG)")
    p.add_argument("target", help=target)
    p.add_argument("--mode", choices=("primal", "forward", "reverse"), default="primal")
    p.add_argument("--wrt", default=None, help=wrt)
    p.add_argument("--format", choices=("dot", "svg", "png"), default=None,
                   help="default: from the -o suffix, else dot")
    p.add_argument("-o", "--output", default=None, help="write to this file, not stdout")
    p = sub.add_parser("trace", help="print the evaluation trace table at given arguments")
    p.add_argument("target", help=target)
    p.add_argument("--args", required=True, help='the arguments as Python literals: "2.0, 5.0" '
                   '(lists become float arrays)')
    p.add_argument("--mode", choices=("forward", "reverse"), default="forward")
    p.add_argument("--wrt", default=None, help=wrt)
    p.add_argument("--seed", default=None, help="forward: the wrt arguments' tangents; reverse: "
                   "the output's adjoint (default 1)")
    p.add_argument("--limit", type=int, default=None, help="rows shown per part (default 500)")
    p = sub.add_parser("export", help="write the derivative as a module that needs only NumPy")
    p.add_argument("target", help=target)
    p.add_argument("--mode", choices=("reverse", "forward"), default="reverse")
    p.add_argument("--wrt", default=None, help=wrt)
    p.add_argument("--kinds", default=None, help="argument kinds, comma separated: float, int or "
                   "any (default: from annotations and float defaults)")
    p.add_argument("-o", "--output", required=True, help="the module file to write")


def _wrt(text):
    """`--wrt x,y` (names or positions) as the API's `wrt`."""
    if not text:
        return 0
    items = [int(w) if w.strip().lstrip("-").isdigit() else w.strip()
             for w in text.split(",") if w.strip()]
    return items[0] if len(items) == 1 else tuple(items)


def _literals(text, what):
    import ast

    import numpy as np
    try:
        values = ast.literal_eval(f"({text},)")
    except (ValueError, SyntaxError):
        raise SrcadError(f"{what} {text!r} are not Python literals, e.g. \"2.0, 5.0\"") from None
    return tuple(np.asarray(v, dtype=float) if isinstance(v, list) else v for v in values)


def cmd_graph(func, args) -> int:
    from .show.graph import graph
    fmt = args.format or (os.path.splitext(args.output)[1].lstrip(".").lower()
                          if args.output else "dot")
    if fmt not in ("dot", "svg", "png"):
        raise SrcadError(f"cannot write a graph as {fmt!r}: use --format dot, svg or png")
    g = graph(func, mode=args.mode, wrt=_wrt(args.wrt))
    data = g.dot.encode() if fmt == "dot" else g.render(fmt)
    if args.output:
        with open(args.output, "wb") as fh:
            fh.write(data)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0


def cmd_trace(func, args) -> int:
    from .show.trace import DEFAULT_LIMIT, trace
    values = _literals(args.args, "--args")
    seed = None
    if args.seed is not None:
        seed = _literals(args.seed, "--seed")
        seed = seed[0] if len(seed) == 1 else seed
    t = trace(func, *values, mode=args.mode, wrt=_wrt(args.wrt), seed=seed,
              limit=DEFAULT_LIMIT if args.limit is None else args.limit)
    sys.stdout.write(str(t))
    return 0


def cmd_export(func, args) -> int:
    from .show.export import export
    export(func, args.output, mode=args.mode, wrt=_wrt(args.wrt), kinds=args.kinds)
    return 0


SHOW_COMMANDS = {"graph": cmd_graph, "trace": cmd_trace, "export": cmd_export}
