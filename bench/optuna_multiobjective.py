#!/usr/bin/python3
"""Optuna's side of bench_multiobjective: NSGAIISampler (defaults, seeded) and
TPESampler (defaults, seeded: multi-objective TPE on a study with several
directions) minimizing ZDT1 and ZDT2 (10 params), DTLZ2 with 2 objectives
(11 params) and with 3 (12 params) over [0, 1]^n, in-memory studies driven by
ask/tell, every case in this one process.  Prints one JSON line per
(sampler, problem, trials) with the median and quartiles (numpy's linear
interpolation) over the seeds of the hypervolume of all trials so far
against a reference point of 11 (ZDT) or 3 (DTLZ2) in every objective (the
same formulas, reference and seeds as bench/bench_multiobjective.c), then, with --timing,
the sampler time per trial over trials 991..1000 (wall and process CPU) of
NSGAIISampler on ZDT1 and of CmaEsSampler on a 10-parameter sphere.

Optuna's multi-objective TPE costs far more than the rest: in 3.1 every
parameter of every trial recomputes the nondomination ranks of all trials,
O(n^2), the hypervolume subset of the last rank and the contributions, with
WFG in Python (plain: ZDT1 ~45 s of CPU to 300 trials, ~490 s to 1,000).
Those are pure functions of the same scores for every parameter of a trial,
so the script keeps the last result (memoize_split; --verify-memo
PROBLEM:TRIALS checks the samples equal plain Optuna's bit for bit,
--no-memo runs it plain): ~60 s to 1,000 trials of ZDT1, ~2 min to 300 and
~16 min to 1,000 of DTLZ2 with 3 objectives.  Its seeds are set per number of
trials: --motpe-seeds 300:10,1000:10 (default) runs seeds 0..9 to 1,000;
--motpe-seeds-3obj 300:10,1000:1 (default) seeds 0..9 to 300 and seed 0 on
to 1,000.  Each line says how many seeds it has ("seeds"), the mean CPU
seconds of one run ("cpu_s_per_run", to that number of trials, the
hypervolume included) and "memo"; with --timing and --no-memo the 1,000-trial
ZDT1 run of seed 0 also gives MOTPE's sampler time per trial over trials
991..1000.  Each run also writes a line to stderr; --seed-from N starts at
seed N, so a case can be split over processes, and --merge-runs FILE...
turns their stderr lines into the summary lines.

--samplers motpe_mv runs TPESampler(multivariate=True) (one joint Parzen
estimator per trial, as qtune's MOTPE default): the same seeds spec as
motpe, at about a tenth of its cost (one ZDT1 run to 1,000 trials ~51 s of
CPU, DTLZ2 with 3 objectives to 300 ~77 s).

usage: optuna_multiobjective.py [--seeds N] [--trials 300,1000]
                                [--problems zdt1,zdt2,dtlz2,dtlz2_3]
                                [--samplers nsgaii,motpe,motpe_mv] [--timing]
                                [--motpe-seeds 300:10,1000:10]
                                [--motpe-seeds-3obj 300:10,1000:1]
                                [--seed-from N] [--no-memo]
       optuna_multiobjective.py --verify-memo PROBLEM:TRIALS
       optuna_multiobjective.py --merge-runs FILE...
BENCH_QUICK=1 cuts the seeds to 2 (MOTPE: at most 2, 1 at 1,000 trials)."""
import argparse
import json
import math
import os
import sys
import time
import warnings

import numpy as np
import optuna

DIMS = {"zdt1": 10, "zdt2": 10, "dtlz2": 11, "dtlz2_3": 12}
NOBJ = {"zdt1": 2, "zdt2": 2, "dtlz2": 2, "dtlz2_3": 3}
# the reference point, the same value in every objective: loose enough that
# a few hundred trials of 10-12 params reach inside it
REF = {"zdt1": 11.0, "zdt2": 11.0, "dtlz2": 3.0, "dtlz2_3": 3.0}


def problem(name, x):
    n = len(x)
    if name in ("zdt1", "zdt2"):
        g = 1 + 9 * sum(x[1:]) / (n - 1)
        r = x[0] / g
        return [x[0], g * (1 - math.sqrt(r)) if name == "zdt1" else g * (1 - r * r)]
    m = NOBJ[name]
    g = sum((v - 0.5) ** 2 for v in x[m - 1:])
    out = []
    for k in range(m):
        f = 1 + g
        for j in range(m - 1 - k):
            f *= math.cos(x[j] * math.pi / 2)
        if k > 0:
            f *= math.sin(x[m - 1 - k] * math.pi / 2)
        out.append(f)
    return out


def hv2(pts, ref):
    pts = sorted(p for p in pts if p[0] < ref[0] and p[1] < ref[1])
    hv, ymin = 0.0, ref[1]
    for x, y in pts:
        if y < ymin:
            hv += (ref[0] - x) * (ymin - y)
            ymin = y
    return hv


def hypervolume(pts, m, r):
    ref = [r] * m
    pts = [p for p in pts if all(p[k] < ref[k] for k in range(m))]
    if m == 2:
        return hv2(pts, ref)
    # 3 objectives: slices along the last one (the same algorithm as pareto.c)
    pts.sort(key=lambda p: p[2])
    hv = 0.0
    for i, p in enumerate(pts):
        z1 = pts[i + 1][2] if i + 1 < len(pts) else ref[2]
        if z1 > p[2]:
            hv += hv2([q[:2] for q in pts[: i + 1]], ref) * (z1 - p[2])
    return hv


def memoize_split():
    """Optuna 3.1's TPESampler.sample_independent splits the trials into
    below/above (nondomination ranks, HSSP) and weighs the below ones
    (hypervolume contributions, WFG) once per parameter, from the same
    scores for every parameter of a trial when every trial has every
    parameter (as here).  Both are pure functions of their arguments, so the
    last result is reused while the arguments are equal: the same samples
    bit for bit (--verify-memo checks it), at about one split per trial
    instead of one per parameter.  Only the bench's time changes."""
    from optuna.samplers._tpe import sampler as tpe

    def key(scores, *rest):
        return (tuple((s, tuple(v)) for s, v in scores),) + rest

    split, weights = tpe._split_observation_pairs, tpe._calculate_weights_below_for_multi_objective
    last = {}

    def split_memo(loss_vals, n_below, violations):
        k = key(loss_vals, n_below, None if violations is None else tuple(violations))
        if last.get("split_key") != k:
            last["split_key"], last["split"] = k, split(loss_vals, n_below, violations)
        b, a = last["split"]
        return b.copy(), a.copy()

    def weights_memo(loss_vals, indices, violations):
        k = key(loss_vals, indices.tobytes(), None if violations is None else tuple(violations))
        if last.get("w_key") != k:
            last["w_key"], last["w"] = k, weights(loss_vals, indices, violations)
        return last["w"].copy()

    tpe._split_observation_pairs = split_memo
    tpe._calculate_weights_below_for_multi_objective = weights_memo
    return split, weights


def verify_memo(problem_name, trials):
    """The memo's samples equal Optuna's own, bit for bit: seed 0 of MOTPE
    run unpatched, then patched; every suggested value compared."""
    from optuna.samplers._tpe import sampler as tpe

    def params(n_trials):
        n, m = DIMS[problem_name], NOBJ[problem_name]
        st = optuna.create_study(directions=["minimize"] * m, sampler=make_sampler("motpe", 0))
        out = []
        for _ in range(n_trials):
            tr = st.ask()
            x = [tr.suggest_float("x%d" % k, 0.0, 1.0) for k in range(n)]
            st.tell(tr, problem(problem_name, x))
            out.append(x)
        return out

    c0 = time.process_time()
    plain = params(trials)
    c1 = time.process_time()
    split, weights = memoize_split()
    memo = params(trials)
    c2 = time.process_time()
    tpe._split_observation_pairs, tpe._calculate_weights_below_for_multi_objective = split, weights
    same = all(a == b for x, y in zip(plain, memo) for a, b in zip(x, y)) and len(plain) == len(memo)
    print(json.dumps({"bench": "motpe_memo_check", "problem": problem_name, "trials": trials,
                      "identical": same, "cpu_s_plain": round(c1 - c0, 2),
                      "cpu_s_memo": round(c2 - c1, 2)}, separators=(",", ":")))
    return same


def make_sampler(name, seed):
    if name == "nsgaii":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if name == "motpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "motpe_mv":  # qtune's MOTPE default is multivariate: the like-for-like peer
        return optuna.samplers.TPESampler(seed=seed, multivariate=True)
    raise ValueError(name)


def run(problem_name, sampler_name, seed, n_trials, checkpoints, times=None):
    n, m = DIMS[problem_name], NOBJ[problem_name]
    study = optuna.create_study(directions=["minimize"] * m,
                                sampler=make_sampler(sampler_name, seed))
    pts, hv, cpu = [], {}, {}
    c_start = time.process_time()
    for i in range(n_trials):
        t0, c0 = time.perf_counter(), time.process_time()
        tr = study.ask()
        x = [tr.suggest_float("x%d" % k, 0.0, 1.0) for k in range(n)]
        t1, c1 = time.perf_counter(), time.process_time()
        f = problem(problem_name, x)
        t2, c2 = time.perf_counter(), time.process_time()
        study.tell(tr, f)
        if times is not None:
            times.append((t1 - t0 + time.perf_counter() - t2, c1 - c0 + time.process_time() - c2))
        pts.append(f)
        if i + 1 in checkpoints:
            hv[i + 1] = hypervolume(pts, m, REF[problem_name])
            cpu[i + 1] = time.process_time() - c_start
    return hv, cpu


def cmaes_times(n_trials):
    study = optuna.create_study(sampler=optuna.samplers.CmaEsSampler(seed=0))
    times = []
    for _ in range(n_trials):
        t0, c0 = time.perf_counter(), time.process_time()
        tr = study.ask()
        x = [tr.suggest_float("x%d" % k, -5.0, 5.0) for k in range(10)]
        t1, c1 = time.perf_counter(), time.process_time()
        v = sum((a - 1.3) ** 2 for a in x)
        t2, c2 = time.perf_counter(), time.process_time()
        study.tell(tr, v)
        times.append((t1 - t0 + time.perf_counter() - t2, c1 - c0 + time.process_time() - c2))
    return times


def window(times, lo, hi):
    w = times[lo - 1:hi]
    return 1e3 * sum(t for t, _ in w) / len(w), 1e3 * sum(c for _, c in w) / len(w)


def seeds_by_trials(spec, checkpoints, seeds, quick):
    """{trials: seed count} from "300:5,1000:1" (capped by --seeds; a
    checkpoint not named gets --seeds); quick: at most 2, 1 at 1,000."""
    out = {t: seeds for t in checkpoints}
    for part in spec.split(","):
        if part:
            t, n = part.split(":")
            if int(t) in out:
                out[int(t)] = min(int(n), seeds)
    if quick:
        out = {t: min(n, 1 if t >= 1000 else 2) for t, n in out.items()}
    return out


def emit(s, p, t, res, cpu, memo=False):
    q1, med, q3 = np.percentile(res, [25, 50, 75])
    print(json.dumps({"bench": "multiobjective", "impl": "optuna", "sampler": s,
                      "problem": p, "dims": DIMS[p], "objectives": NOBJ[p],
                      "trials": t, "seeds": len(res), "ref": REF[p],
                      "median_hv": round(float(med), 6), "q1": round(float(q1), 6),
                      "q3": round(float(q3), 6),
                      "cpu_s_per_run": round(sum(cpu) / len(cpu), 2),
                      # MOTPE's CPU with its split memoized (memoize_split), not Optuna's own
                      "memo": memo},
                     separators=(",", ":")))
    sys.stdout.flush()


def merge_runs(paths):
    """One summary line per (sampler, problem, trials) from per-run lines
    (each seed once: a seed run twice must give the same value)."""
    runs = {}
    for path in paths:
        for line in open(path):
            if not line.startswith('{"run"'):
                continue
            r = json.loads(line)
            for t, hv in r["hv"].items():
                k = (r["run"], r["problem"], int(t))
                old = runs.setdefault(k, {}).get(r["seed"])
                if old is not None and old[0] != hv:
                    sys.exit("merge: %s seed %d differs between runs" % (k, r["seed"]))
                runs[k][r["seed"]] = (hv, r["cpu_s"][t], r["memo"])
    for (s, p, t), by_seed in sorted(runs.items()):
        seeds = sorted(by_seed)
        emit(s, p, t, [by_seed[k][0] for k in seeds], [by_seed[k][1] for k in seeds],
             any(by_seed[k][2] for k in seeds))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", default="300,1000")
    ap.add_argument("--problems", default="zdt1,zdt2,dtlz2,dtlz2_3")
    ap.add_argument("--samplers", default="nsgaii,motpe")
    ap.add_argument("--timing", action="store_true")
    ap.add_argument("--motpe-seeds", default="300:10,1000:10")
    ap.add_argument("--motpe-seeds-3obj", default="300:10,1000:1")
    ap.add_argument("--no-memo", action="store_true",
                    help="run MOTPE's split once per parameter, as Optuna does")
    ap.add_argument("--seed-from", type=int, default=0,
                    help="first seed (runs split over processes; --merge-runs joins them)")
    ap.add_argument("--merge-runs", metavar="FILE", nargs="+",
                    help="the per-run stderr lines of several processes into the summary lines")
    ap.add_argument("--verify-memo", metavar="PROBLEM:TRIALS",
                    help="check the memo against plain Optuna and exit (1: they differ)")
    a = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if a.verify_memo:
        pn, nt = a.verify_memo.split(":")
        sys.exit(0 if verify_memo(pn, int(nt)) else 1)
    if a.merge_runs:
        merge_runs(a.merge_runs)
        return
    if not a.no_memo:
        memoize_split()
    quick = bool(os.environ.get("BENCH_QUICK"))
    seeds = 2 if quick else a.seeds
    checkpoints = sorted(int(t) for t in a.trials.split(","))
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    motpe_times = None
    for s in a.samplers.split(","):
        memo = s == "motpe" and not a.no_memo
        for p in a.problems.split(","):
            if s in ("motpe", "motpe_mv"):
                spec = a.motpe_seeds_3obj if NOBJ[p] == 3 else a.motpe_seeds
                per = seeds_by_trials(spec, checkpoints, seeds, quick)
            else:
                per = {t: seeds for t in checkpoints}
            res = {t: [] for t in checkpoints}
            cpu = {t: [] for t in checkpoints}
            for seed in range(a.seed_from, max(per.values())):
                last = max(t for t in checkpoints if per[t] > seed)
                cps = [t for t in checkpoints if t <= last]
                # MOTPE's time per trial is Optuna's own only without the memo
                times = [] if (a.timing and s == "motpe" and p == "zdt1" and seed == 0
                               and a.no_memo) else None
                hv, c = run(p, s, seed, last, set(cps), times)
                # one line per run on stderr: a long case that is stopped keeps its seeds
                print(json.dumps({"run": s, "problem": p, "seed": seed, "memo": memo,
                                  "hv": {str(t): hv[t] for t in cps},
                                  "cpu_s": {str(t): round(c[t], 2) for t in cps}},
                                 separators=(",", ":")), file=sys.stderr, flush=True)
                for t in cps:
                    res[t].append(hv[t])
                    cpu[t].append(c[t])
                if times is not None and len(times) >= 1000:
                    motpe_times = times
            for t in checkpoints:
                if res[t]:
                    emit(s, p, t, res[t], cpu[t], memo)
    if motpe_times is not None:
        ms, cpu_ms = window(motpe_times, 991, 1000)
        print(json.dumps({"bench": "sampler_time", "impl": "optuna", "sampler": "motpe",
                          "problem": "zdt1", "window": "991-1000", "ms_per_trial": round(ms, 4),
                          "cpu_ms_per_trial": round(cpu_ms, 4)}, separators=(",", ":")))
        sys.stdout.flush()
    if a.timing:
        times = []
        run("zdt1", "nsgaii", 0, 1000, set(), times)
        ms, cpu = window(times, 991, 1000)
        print(json.dumps({"bench": "sampler_time", "impl": "optuna", "sampler": "nsgaii",
                          "problem": "zdt1", "window": "991-1000", "ms_per_trial": round(ms, 4),
                          "cpu_ms_per_trial": round(cpu, 4)}, separators=(",", ":")))
        sys.stdout.flush()
        times = cmaes_times(1000)
        ms, cpu = window(times, 991, 1000)
        print(json.dumps({"bench": "sampler_time", "impl": "optuna", "sampler": "cmaes",
                          "problem": "sphere10", "window": "991-1000", "ms_per_trial": round(ms, 4),
                          "cpu_ms_per_trial": round(cpu, 4)}, separators=(",", ":")))


if __name__ == "__main__":
    main()
