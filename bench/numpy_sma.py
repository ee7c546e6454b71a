#!/usr/bin/env python3
"""sma_cross computed with numpy vectorized operations, for bench_backtest.

Reads the bars file written by bench/bench_backtest.c (int64 n, then n int64
open times and n float64 each of open, high, low, close), computes the fast and
slow SMAs of closes (cumsum), the strict crosses, the position (entered at the
next bar's open, flipped on the opposite cross) and an equity curve with the
taker fee on every position change.  Prints one JSON line: the best of
REPEATS and the first CPU time of this thread (like the C side), bars/s.
Usage: numpy_sma.py FILE [fast slow taker_bps repeats]."""
import json
import sys
import time

import numpy as np


def sma(x, n):
    c = np.cumsum(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    out[n - 1:] = (c[n - 1:] - np.concatenate(([0.0], c[:-n]))) / n
    return out


def sma_cross(o, c, fast, slow, fee):
    f, s = sma(c, fast), sma(c, slow)
    with np.errstate(invalid="ignore"):
        up = np.zeros(c.shape, bool)
        dn = np.zeros(c.shape, bool)
        up[1:] = (f[:-1] < s[:-1]) & (f[1:] > s[1:])
        dn[1:] = (f[:-1] > s[:-1]) & (f[1:] < s[1:])
    sig = np.where(up, 1.0, np.where(dn, -1.0, np.nan))
    # the signal of bar i is held from bar i+1's open: forward fill, shift 1
    idx = np.where(~np.isnan(sig), np.arange(sig.size), 0)
    np.maximum.accumulate(idx, out=idx)
    held = np.where(np.isnan(sig[idx]), 0.0, sig[idx])
    pos = np.zeros(c.shape)
    pos[1:] = held[:-1]
    prev_c = np.empty_like(c)
    prev_c[0] = o[0]
    prev_c[1:] = c[:-1]
    change = np.zeros(c.shape, bool)
    change[1:] = pos[1:] != pos[:-1]
    # on a change bar the new position starts at the open
    base = np.where(change, o, prev_c)
    ret = pos * (c / base - 1.0)
    ret_old = np.where(change, np.concatenate(([0.0], pos[:-1])) * (o / prev_c - 1.0), 0.0)
    cost = np.abs(np.diff(pos, prepend=0.0)) * fee
    eq = np.cumprod((1.0 + ret_old) * (1.0 + ret) * (1.0 - cost))
    return eq


def main():
    path = sys.argv[1]
    fast = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    slow = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    fee = (float(sys.argv[4]) if len(sys.argv) > 4 else 5.0) * 1e-4
    reps = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    raw = np.fromfile(path, dtype=np.uint8)
    n = int(raw[:8].view(np.int64)[0])
    body = raw[8:]
    o = body[8 * n:16 * n].view(np.float64)
    c = body[32 * n:40 * n].view(np.float64)
    best = float("inf")
    first = None
    eq = None
    for _ in range(reps):
        t0 = time.thread_time()
        eq = sma_cross(o, c, fast, slow, fee)
        dt = time.thread_time() - t0
        first = dt if first is None else first
        best = min(best, dt)
    print(json.dumps({"bench": "backtest_sma_cross", "impl": "numpy", "bars": n,
                      "repeats": reps, "first_seconds": first, "best_seconds": best,
                      "bars_per_s": n / best, "first_bars_per_s": n / first,
                      "final_equity_ratio": float(eq[-1])}))


if __name__ == "__main__":
    main()
