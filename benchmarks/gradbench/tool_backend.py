"""The backend the tool's srcad derivatives are compiled by: "python" (the default) or
"numba", chosen with `run.py --backend numba` (which sets SRCAD_GRADBENCH_BACKEND)."""
import os

BACKEND = os.environ.get("SRCAD_GRADBENCH_BACKEND", "python")
