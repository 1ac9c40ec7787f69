"""Lists grown in loops: the reverse sweep's cost against the number of appends, with
the private lists appended and popped in place (srcad's generated code) and, for
comparison, with that rewrite switched off (the code srcad generated before: each append
copied the list, each adjoint step sliced it, O(n^2)).

    python benchmarks/list_growth.py            # n = 1000 .. 8000
    python benchmarks/list_growth.py --quick

Prints, per function and n, the median time of one gradient call in both forms and the
ratio of each to its time at the smallest n (linear: the ratio of the n's); the copying
form is skipped once a call takes over 2 s."""
import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(1, os.path.dirname(HERE))

from srcad import lists, pipeline  # noqa: E402

# the functions timed are the ones tests/test_lists.py checks for correctness
sys.path.insert(1, os.path.join(os.path.dirname(HERE), "tests"))
from fixtures.regress_s5py import append_loop, comprehension_sum, rnn_history  # noqa: E402


CASES = {
    "append_loop": (append_loop, lambda n: (0.3, n)),
    "comprehension_sum": (comprehension_sum, lambda n: (0.3, n)),
    "rnn_history": (rnn_history, lambda n: (np.array([0.3, 0.5]), 0.5 * np.eye(2), n)),
}


def gradient(f, in_place: bool):
    """The reverse derivative of f (with respect to its first argument), built with or
    without the in-place rewrite of lists (pipeline.build: no cache in between)."""
    saved = lists.grow_in_place
    if not in_place:
        lists.grow_in_place = lambda tree: None
    try:
        args = CASES[f.__name__][1](3)
        return pipeline.build(f, "reverse", (0,), pipeline.kinds_of(args)).func
    finally:
        lists.grow_in_place = saved


def median_time(g, args, repeats):
    g(*args)                                 # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        g(*args)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    opts = ap.parse_args()
    ns = (500, 1000, 2000) if opts.quick else (1000, 2000, 4000, 8000)
    repeats = 3 if opts.quick else 5
    print(f"{'function':<14}{'n':>6}  {'in place':>10} {'x first':>8}  {'copying':>10} "
          f"{'x first':>8}")
    for name, (f, make) in CASES.items():
        fast, slow = gradient(f, True), gradient(f, False)
        first, b = None, 0.0
        for n in ns:
            args = make(n)
            a = median_time(fast, args, repeats)
            if b < 2.0:                          # the copying form: while it takes < 2 s
                np.testing.assert_allclose(fast(*args), slow(*args), rtol=1e-12)
                b = median_time(slow, args, repeats)
                first = first or (a, b)
                copying = f"{b:>9.4f}s {b / first[1]:>8.1f}"
            else:
                copying = f"{'(skipped)':>19}"
            print(f"{name:<14}{n:>6}  {a:>9.4f}s {a / first[0]:>8.1f}  {copying}")


if __name__ == "__main__":
    main()
