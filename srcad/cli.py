"""`srcad ssa TARGET` and `srcad dump TARGET [--mode M] [--wrt A,B]`."""
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
    """`--wrt a,b` as srcad's wrt: a name or a tuple of names (an empty list is an error)."""
    if text is None:
        return 0
    names = [w.strip() for w in text.split(",")]
    if not all(names):
        raise SrcadError(f"--wrt {text!r}: expected parameter names separated by commas")
    return names[0] if len(names) == 1 else tuple(names)


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
    args = parser.parse_args(argv)
    try:
        wrt = _wrt(getattr(args, "wrt", None))
        func = load_target(args.target)
        if args.command == "ssa":
            text = api.ssa(func)
        else:
            text = api.source(func, mode=args.mode, wrt=wrt)
    except SrcadError as e:
        print(f"srcad: {e}".splitlines()[0], file=sys.stderr)
        return 2
    except Exception as e:  # an error of srcad's own: still one line, exit 2
        print(f"srcad: {type(e).__name__}: {e}".splitlines()[0], file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0
