#!/usr/bin/python3
"""Optuna's side of bench_sampler: time per trial of TPESampler (and
RandomSampler) on the 17-parameter hedge-grid space with a cheap synthetic
objective, in an in-memory study driven by ask/tell.  Prints one JSON line per
(sampler, window): mean milliseconds per trial over trials lo..hi (1-based).

usage: optuna_sampler.py [--trials N] [--seed S] [--samplers tpe,random]
Windows: 1-100 and (N-99)-N.  OPTUNA_BENCH_TRIALS=N overrides --trials (for a
quick local run; the published figure uses 1000)."""
import argparse
import json
import os
import time

import optuna

# name, kind, low, high, log  (same table as bench/bench_sampler.c)
SPACE = [
    ("grid_step_bps", "int", 10, 200, False),
    ("grid_levels_long", "int", 3, 20, False),
    ("grid_levels_short", "int", 3, 20, False),
    ("base_qty", "float", 0.001, 0.1, True),
    ("qty_scale", "float", 1.0, 1.5, False),
    ("tp_steps", "int", 1, 10, False),
    ("sl_steps", "int", 3, 20, False),
    ("adx_len", "int", 7, 30, False),
    ("ema_fast", "int", 5, 25, False),
    ("ema_slow", "int", 20, 60, False),
    ("atr_len", "int", 7, 30, False),
    ("hysteresis_bps", "float", 5, 50, False),
    ("counter_levels", "int", 2, 10, False),
    ("counter_qty_scale", "float", 0.3, 0.8, False),
    ("recenter_trigger_bps", "float", 50, 500, False),
    ("funding_max_cost_bps", "float", 5, 50, False),
    ("max_position_pct", "float", 50, 95, False),
]

# the optimum of the synthetic objective: 30% into each range (log for log dims)
def objective_value(params):
    import math
    s = 0.0
    for name, kind, lo, hi, log in SPACE:
        v = params[name]
        if log:
            u = (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))
        else:
            u = (v - lo) / (hi - lo)
        s += (u - 0.3) ** 2
    return s


def run(sampler_name, n_trials, seed):
    if sampler_name == "tpe":
        sampler = optuna.samplers.TPESampler(seed=seed)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    times, cpus = [], []
    for _ in range(n_trials):
        t0 = time.perf_counter()
        c0 = time.process_time()
        trial = study.ask()
        params = {}
        for name, kind, lo, hi, log in SPACE:
            if kind == "int":
                params[name] = trial.suggest_int(name, lo, hi, log=log)
            else:
                params[name] = trial.suggest_float(name, lo, hi, log=log)
        t1 = time.perf_counter()
        c1 = time.process_time()
        value = objective_value(params)
        t2 = time.perf_counter()
        c2 = time.process_time()
        study.tell(trial, value)
        t3 = time.perf_counter()
        c3 = time.process_time()
        times.append((t1 - t0) + (t3 - t2))
        cpus.append((c1 - c0) + (c3 - c2))
    return times, cpus, study.best_value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--samplers", default="tpe,random")
    a = ap.parse_args()
    n = int(os.environ.get("OPTUNA_BENCH_TRIALS", a.trials))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for s in a.samplers.split(","):
        times, cpus, best = run(s, n, a.seed)
        for lo in sorted({1, max(1, n - 99)}):
            hi = min(n, lo + 99)
            w = times[lo - 1:hi]
            c = cpus[lo - 1:hi]
            print(json.dumps({"bench": "sampler", "impl": "optuna", "sampler": s,
                              "dims": len(SPACE), "trials": n, "window": f"{lo}-{hi}",
                              "ms_per_trial": 1e3 * sum(w) / len(w),
                              "cpu_ms_per_trial": 1e3 * sum(c) / len(c), "best": best}),
                  flush=True)


if __name__ == "__main__":
    main()
