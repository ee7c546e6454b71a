#!/usr/bin/python3
"""Optuna's side of bench_search: TPESampler (defaults, seeded), and with
--samplers also QMCSampler (Sobol, scramble=True, seeded; needs scipy) and
CmaEsSampler (defaults, seeded; needs the cmaes package), minimizing the
shifted benchmark functions over [-5, 5]^D, every case in this one process.
Prints one JSON line per (function, D, trials) with the median and quartiles
(numpy's linear interpolation) over the seeds of the best value found.

usage: optuna_search.py [--seeds N] [--dims 5,17] [--trials 100,300] [--samplers tpe,qmc,cmaes]
BENCH_QUICK=1 cuts the seeds to 3 for a local run."""
import argparse
import json
import math
import os
import sys

import numpy as np
import optuna

SHIFT = 1.3
ST_MIN = -39.16616570377142


def sphere(x):
    return sum((v - SHIFT) ** 2 for v in x)


def rosenbrock(x):
    w = [v - SHIFT + 1.0 for v in x]
    return sum(100.0 * (w[i + 1] - w[i] ** 2) ** 2 + (1.0 - w[i]) ** 2 for i in range(len(w) - 1))


def rastrigin(x):
    z = [v - SHIFT for v in x]
    return 10.0 * len(z) + sum(t * t - 10.0 * math.cos(2.0 * math.pi * t) for t in z)


def styblinski_tang(x):
    z = [v - SHIFT for v in x]
    return 0.5 * sum(t ** 4 - 16.0 * t * t + 5.0 * t for t in z) - ST_MIN * len(z)


FUNCS = [("sphere", sphere), ("rosenbrock", rosenbrock), ("rastrigin", rastrigin),
         ("styblinski_tang", styblinski_tang)]


def make_sampler(name, seed):
    if name == "qmc":
        return optuna.samplers.QMCSampler(qmc_type="sobol", scramble=True, seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def available(name):
    """QMCSampler needs scipy and CmaEsSampler the cmaes package."""
    try:
        if name == "qmc":
            import scipy.stats.qmc  # noqa: F401
        if name == "cmaes":
            import cmaes  # noqa: F401
    except ImportError as e:
        print(f"optuna_search.py: skipping {name}: {e}", file=sys.stderr)
        return False
    return True


def run(f, d, n_trials, seed, checkpoints, sampler="tpe"):
    study = optuna.create_study(direction="minimize", sampler=make_sampler(sampler, seed))
    best = math.inf
    out = {}
    for i in range(1, n_trials + 1):
        trial = study.ask()
        x = [trial.suggest_float(f"x{k}", -5.0, 5.0) for k in range(d)]
        v = f(x)
        study.tell(trial, v)
        best = min(best, v)
        if i in checkpoints:
            out[i] = best
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--dims", default="5,17")
    ap.add_argument("--trials", default="100,300")
    ap.add_argument("--samplers", default="tpe")
    a = ap.parse_args()
    seeds = 3 if os.environ.get("BENCH_QUICK") else a.seeds
    dims = [int(v) for v in a.dims.split(",")]
    trials = sorted(int(v) for v in a.trials.split(","))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    import warnings
    warnings.filterwarnings("ignore")  # the experimental-feature warnings of qmc/cmaes
    for sampler in [s for s in a.samplers.split(",") if available(s)]:
      for name, f in FUNCS:
        for d in dims:
            bests = {t: [] for t in trials}
            for s in range(seeds):
                r = run(f, d, trials[-1], s, set(trials), sampler)
                for t in trials:
                    bests[t].append(r[t])
            for t in trials:
                q1, med, q3 = np.percentile(bests[t], [25, 50, 75])
                print(json.dumps({"bench": "search", "impl": "optuna", "sampler": sampler,
                                  "func": name, "dims": d, "trials": t, "seeds": seeds,
                                  "median": med, "q1": q1, "q3": q3},
                                 separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
