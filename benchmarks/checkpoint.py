"""Checkpointed loops: peak memory and time of srcad's gradient with checkpoint=True,
against the same gradient taped (checkpoint=False) and a hand-written taped gradient.

Cases: a 10^6-step scalar loop, and a tanh RNN over T = 2,000 steps with hidden size 256
(batch 16, input 32). Peak memory is tracemalloc's peak during one call after a warm-up;
time is the median of a few calls (tracemalloc off). Run single-threaded, as the README
says:

    OPENBLAS_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456 \\
    MALLOC_TOP_PAD_=67108864 python benchmarks/checkpoint.py [--quick]

Targets: checkpointed peak memory <= 0.1x taped, time <= 2.5x taped, results equal to
rounding (relative 1e-9). Exit status 1 when one is missed.
"""
import gc
import math
import statistics
import sys
import time

import numpy as np

import srcad
from run import peak_memory       # benchmarks/run.py: the suite's own measurement


def long_loop(a, b, n):
    x = 0.5
    for i in range(n):
        x = a * math.sin(x) + b * x * 0.5 + 0.1
    return x


def long_loop_grad(a, b, n):
    x = 0.5
    xs = []
    for i in range(n):
        xs.append(x)
        x = a * math.sin(x) + b * x * 0.5 + 0.1
    a_b = b_b = 0.0
    x_b = 1.0
    for x in reversed(xs):
        a_b += x_b * math.sin(x)
        b_b += x_b * x * 0.5
        x_b *= a * math.cos(x) + b * 0.5
    return a_b, b_b


def long_rnn(Wx, Wh, b, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h * h)


def long_rnn_grad(Wx, Wh, b, xs, h0):
    hs = [h0]
    for t in range(xs.shape[0]):
        hs.append(np.tanh(xs[t] @ Wx + hs[-1] @ Wh + b))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dh = 2.0 * hs[-1]
    for t in range(xs.shape[0] - 1, -1, -1):
        h = hs[t + 1]
        da = dh * (1.0 - h * h)
        dWx += xs[t].T @ da
        dWh += hs[t].T @ da
        db += np.sum(da, axis=0)
        dh = da @ Wh.T
    return dWx, dWh, db


def inputs(name, quick):
    if name == "scalar_loop_1e6":
        return (0.4, 0.6, 10 ** 5 if quick else 10 ** 6)
    rng = np.random.default_rng(0)
    T, batch, nin, hidden = (200 if quick else 2000), 16, 32, 256
    return (rng.normal(size=(nin, hidden)) / math.sqrt(nin),
            rng.normal(size=(hidden, hidden)) / math.sqrt(hidden), np.zeros(hidden),
            rng.normal(size=(T, batch, nin)), np.zeros((batch, hidden)))


CASES = {"scalar_loop_1e6": (long_loop, long_loop_grad, (0, 1)),
         "rnn_T2000_h256": (long_rnn, long_rnn_grad, (0, 1, 2))}


def seconds(fn, args, repeats):
    out = []
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        fn(*args)
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def close(got, want):
    return all(np.allclose(g, w, rtol=1e-9, atol=0) for g, w in zip(got, want))


def main(argv=None):
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    repeats = 3 if quick else 5
    ok = True
    print("| case | gradient | peak memory | vs taped | time | vs taped | vs hand-written |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (f, hand, wrt) in CASES.items():
        args = inputs(name, quick)
        impls = {"hand-written (taped)": hand,
                 "srcad, taped": srcad.grad(f, wrt, checkpoint=False),
                 "srcad, checkpoint=True": srcad.grad(f, wrt, checkpoint=True)}
        results = {k: fn(*args) for k, fn in impls.items()}
        mem = {k: peak_memory(fn, args) for k, fn in impls.items()}
        sec = {k: seconds(fn, args, repeats) for k, fn in impls.items()}
        base, hw = "srcad, taped", "hand-written (taped)"
        for k in impls:
            print(f"| {name} | {k} | {mem[k] / 2 ** 20:.2f} MiB | {mem[k] / mem[base]:.3f}x "
                  f"| {sec[k] * 1e3:.0f} ms | {sec[k] / sec[base]:.2f}x | "
                  f"{sec[k] / sec[hw]:.2f}x |")
        ck = "srcad, checkpoint=True"
        equal = close(results[ck], results[base]) and close(results[ck], results[hw])
        targets = [("memory <= 0.1x taped", mem[ck] <= 0.1 * mem[base]),
                   ("time <= 2.5x taped", sec[ck] <= 2.5 * sec[base]),
                   ("equal to rounding", equal)]
        for label, passed in targets:
            ok &= passed
            print(f"<!-- {name}: {label}: {'pass' if passed else 'FAIL'} -->")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
