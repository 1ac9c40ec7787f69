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
    args = parser.parse_args(argv)
    try:
        func = load_target(args.target)
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
