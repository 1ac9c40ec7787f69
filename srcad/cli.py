"""The command line: `srcad ssa|dump|graph|trace|export TARGET ...` and `srcad --version`."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import os
import sys
import types

from . import api
from .errors import SrcadError


def _bad(target, why):
    return SrcadError(f"bad target {target}: {why}")


def load_target(target: str):
    """`path/to/file.py:func` or `package.module:func` to the function object. The target's
    import runs with its prints sent to stderr (stdout is for what srcad prints)."""
    if ":" not in target:
        raise _bad(target, "expected path/to/file.py:func or package.module:func")
    where, _, name = target.rpartition(":")
    if not where:
        raise _bad(target, "no file or module before ':'")
    if not name or not all(part.isidentifier() for part in name.split(".")):
        raise _bad(target, f"'{name}' is not a function name")
    with contextlib.redirect_stdout(sys.stderr):
        try:
            module = _import(target, where)
        except SystemExit as e:
            raise _bad(target, f"importing {where} called sys.exit({e.code})") from None
        except SrcadError:
            raise
        except Exception as e:  # the target's own import error
            text = f"{type(e).__name__}: {e}".splitlines()[0]
            raise _bad(target, f"importing {where} raised {text}") from None
    func = module
    for part in name.split("."):
        if part.startswith("__") and part.endswith("__"):
            raise _bad(target, f"{name} is not a function")
        func = getattr(func, part, None)
        if func is None:
            raise _bad(target, f"{where} has no {name}")
    if isinstance(func, type):
        raise _bad(target, f"{name} is a class; name one of its functions ({name}.method)")
    if not isinstance(func, (types.FunctionType, types.MethodType)):
        raise _bad(target, f"{name} is a {type(func).__name__}, not a function")
    return func


def _import(target, where):
    if where.endswith(".py") or os.sep in where or (os.altsep and os.altsep in where):
        if not os.path.isfile(where):
            raise _bad(target, f"no file {where}")
        if not where.endswith(".py"):
            raise _bad(target, f"{where} is not a Python file (.py)")
        modname = "srcad_target_" + os.path.splitext(os.path.basename(where))[0]
        spec = importlib.util.spec_from_file_location(modname, where)
        if spec is None or spec.loader is None:
            raise _bad(target, f"{where} cannot be imported")
        module = importlib.util.module_from_spec(spec)
        sys.modules[modname] = module
        sys.path.insert(0, os.path.dirname(os.path.abspath(where)))
        spec.loader.exec_module(module)
        return module
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())     # as `python -m srcad` finds it
    try:
        return importlib.import_module(where)
    except ImportError as e:
        raise _bad(target, str(e)) from None


def _wrt(text):
    """`--wrt a,b` (names or positions) as srcad's wrt: one item or a tuple of them; absent
    means the first parameter, an empty item is an error."""
    if text is None:
        return 0
    items = [w.strip() for w in text.split(",")]
    if not all(items):
        raise SrcadError(f"--wrt {text!r}: expected parameter names separated by commas")
    items = [int(w) if w.lstrip("-").isdigit() else w for w in items]
    return items[0] if len(items) == 1 else tuple(items)


def main(argv=None) -> int:
    from . import __version__
    parser = argparse.ArgumentParser(prog="srcad", description="Print the SSA form or the "
                                     "generated derivative source of a Python function.")
    parser.add_argument("--version", action="version", version=f"srcad {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_ssa = sub.add_parser("ssa", help="print the function in SSA form")
    p_ssa.add_argument("target", help="path/to/file.py:func or package.module:func")
    p_dump = sub.add_parser("dump", help="print the generated derivative source")
    p_dump.add_argument("target", help="path/to/file.py:func or package.module:func")
    p_dump.add_argument("--mode", choices=("reverse", "forward"), default="reverse")
    p_dump.add_argument("--wrt", default=None, help="parameter name(s), comma separated")
    p_dump.add_argument("--backend", choices=("python", "numba"), default="python",
                        help="numba: the source Numba compiles")
    add_show_commands(sub)
    args = parser.parse_args(argv)
    try:
        wrt = _wrt(getattr(args, "wrt", None))
        func = load_target(args.target)
        if args.command in SHOW_COMMANDS:
            return SHOW_COMMANDS[args.command](func, args)
        if args.command == "ssa":
            text = api.ssa(func)
        else:
            text = api.source(func, mode=args.mode, wrt=wrt, backend=args.backend)
    except SrcadError as e:
        print(f"srcad: {e}".splitlines()[0], file=sys.stderr)
        return 2
    except Exception as e:  # an error of srcad's own: still one line, exit 2
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
