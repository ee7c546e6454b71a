#!/usr/bin/python3
"""Optuna's side of bench_study's overhead line: a whole study of N TPE
trials on the 17-parameter hedge-grid space (bench/optuna_sampler.py's table)
with a trivial objective, stored in a fresh SQLite file (RDBStorage), run by
study.optimize(n_jobs=J).  Measures what the study machinery costs per trial
(sampler + storage), as qtune's "study_overhead" line does.  One JSON line.

usage: optuna_study.py [--trials N] [--jobs J] [--seed S]"""
import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import optuna  # noqa: E402
from optuna_sampler import SPACE, objective_value  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as d:
        url = "sqlite:///" + os.path.join(d, "optuna.db")
        study = optuna.create_study(direction="minimize", storage=url, study_name="bench",
                                    sampler=optuna.samplers.TPESampler(seed=a.seed))

        def objective(trial):
            params = {}
            for name, kind, lo, hi, log in SPACE:
                if kind == "int":
                    params[name] = trial.suggest_int(name, lo, hi, log=log)
                else:
                    params[name] = trial.suggest_float(name, lo, hi, log=log)
            return objective_value(params)

        t0 = time.perf_counter()
        study.optimize(objective, n_trials=a.trials, n_jobs=a.jobs)
        wall = time.perf_counter() - t0
    print(json.dumps({"bench": "study_overhead", "impl": "optuna", "sampler": "tpe",
                      "storage": "sqlite", "trials": a.trials, "jobs": a.jobs,
                      "wall_s": round(wall, 3), "trials_per_s": round(a.trials / wall, 1),
                      "ms_per_trial": round(1e3 * wall / a.trials, 3)}), flush=True)


if __name__ == "__main__":
    main()
