#!/usr/bin/env python3
"""sma_cross as one numba-compiled loop (how vectorbt's engine is built),
for bench_backtest.

The same bars file as bench/numpy_sma.py (int64 n, then n int64 open times
and n float64 each of open, high, low, close) and the same rules as qtune's
engine with its defaults, step for step, so the final equity is the
engine's to rounding (bench_backtest asserts it):

- SMA of closes by a running sum (sum + x - old, / n), NaN during warm-up;
- on a strict cross at bar i (fast[i-1] < slow[i-1] and fast[i] > slow[i],
  or the mirror): a close of the position and an all-in order for
  equity(close[i]) / (close[i] * (1 + taker)) units, both filled at bar
  i+1's open: the close first (taker fee), then the entry trimmed to what
  a leverage cap of 1 allows, cash / (open * (1 + taker));
- equity = cash + position x (close - entry) at each close;
- at the last bar everything closes at its close (taker fee).

Prints one JSON line: compile time, first and best CPU time of this thread
of REPEATS runs, bars/s, the final equity.  REPEATS 0 serves instead: per
line read on stdin (a number k), k runs, answered with their best CPU
seconds and the final equity, so the caller can alternate blocks of these
runs with blocks of its own.
Usage: numba_sma.py FILE [fast slow taker_bps repeats cash]."""
import json
import sys
import time

import numpy as np
from numba import njit


@njit(cache=False)
def sma(x, n):
    out = np.empty(x.shape[0])
    s = 0.0
    for i in range(x.shape[0]):
        if i < n:
            s += x[i]
            out[i] = s / n if i == n - 1 else np.nan
        else:
            s = s + x[i] - x[i - n]
            out[i] = s / n
    return out


@njit(cache=False)
def run(o, c, fast, slow, taker_bps, cash0, equity):
    n = c.shape[0]
    f = sma(c, fast)
    s = sma(c, slow)
    fee_rate = taker_bps * 1e-4
    cash = cash0
    pos = 0.0
    avg = 0.0
    pend_close = False
    pend_side = 0.0
    pend_qty = 0.0
    for i in range(n):
        px = o[i]
        if pend_close:
            if pos != 0.0:
                q = abs(pos)
                cash -= q * px * 1.0 * taker_bps * 1e-4
                cash += (px - avg) * q * (1.0 if pos > 0 else -1.0) * 1.0
                pos = 0.0
                avg = 0.0
            pend_close = False
        if pend_side != 0.0:
            qty = pend_qty
            if pos * pend_side < 0:  # never with the close first, kept for the rule
                qty = 0.0
            room = (1.0 * (cash + pos * (px - avg) * 1.0) - abs(pos) * px * 1.0) / \
                (px * 1.0 * (1 + 1.0 * fee_rate))
            if room < qty:
                qty = room if room > 0 else 0.0
            if qty > 0:
                cash -= qty * px * 1.0 * taker_bps * 1e-4
                if pos == 0.0:
                    avg = px
                else:
                    avg = (avg * abs(pos) + px * qty) / (abs(pos) + qty)
                pos += pend_side * qty
            pend_side = 0.0
        eq = cash + pos * (c[i] - avg) * 1.0
        if i > 0:
            f0, s0, f1, s1 = f[i - 1], s[i - 1], f[i], s[i]
            up = f0 < s0 and f1 > s1
            dn = f0 > s0 and f1 < s1
            if up or dn:
                if pos != 0.0:
                    pend_close = True
                e = eq
                q = 1.0 * e / (c[i] * 1.0 * (1.0 + taker_bps * 1e-4)) if e > 0 else 0.0
                if q > 0:
                    pend_side = 1.0 if up else -1.0
                    pend_qty = q
        if i == n - 1 and pos != 0.0:  # close at the end, at the close
            q = abs(pos)
            cash -= q * c[i] * 1.0 * taker_bps * 1e-4
            cash += (c[i] - avg) * q * (1.0 if pos > 0 else -1.0) * 1.0
            pos = 0.0
            eq = cash
        equity[i] = eq
    return cash


def main():
    path = sys.argv[1]
    fast = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    slow = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    taker = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
    reps = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    cash = float(sys.argv[6]) if len(sys.argv) > 6 else 10000.0
    raw = np.fromfile(path, dtype=np.uint8)
    n = int(raw[:8].view(np.int64)[0])
    body = raw[8:]
    o = body[8 * n:16 * n].view(np.float64)
    c = body[32 * n:40 * n].view(np.float64)
    eqbuf = np.empty(n)
    t0 = time.thread_time()
    run(o[:64].copy(), c[:64].copy(), fast, slow, taker, cash, np.empty(64))  # compile
    compile_s = time.thread_time() - t0
    if reps == 0:  # serve: a block of runs per line on stdin, between the caller's blocks
        for line in sys.stdin:
            best = float("inf")
            for _ in range(int(line)):
                t0 = time.thread_time()
                final = run(o, c, fast, slow, taker, cash, eqbuf)
                best = min(best, time.thread_time() - t0)
            print("%.9f %.17g" % (best, final), flush=True)
        return
    best, first, final = float("inf"), None, None
    for _ in range(reps):
        t0 = time.thread_time()
        final = run(o, c, fast, slow, taker, cash, eqbuf)
        dt = time.thread_time() - t0
        first = dt if first is None else first
        best = min(best, dt)
    print(json.dumps({"bench": "backtest_sma_cross", "impl": "numba", "bars": n, "repeats": reps,
                      "compile_seconds": compile_s, "first_seconds": first, "best_seconds": best,
                      "bars_per_s": n / best, "final_equity": final}))


if __name__ == "__main__":
    main()
