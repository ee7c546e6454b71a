#!/usr/bin/python3
"""Optuna's side of bench_search's proposal-distribution line: from one fixed
history of 300 trials on x in [-5, 5] (x_i = 4.995 sin(1.7 i + 0.3), value
(x_i - 1.3)^2 plus a tie-breaker, the same formula as bench_search.c), draw
N proposals with TPESampler's univariate step (24 candidates from "below",
the largest log l - log g) and print their mean, standard deviation and
deciles as one JSON line.  usage: optuna_proposals.py [N] (default 20000)"""
import json
import math
import sys
import warnings

import numpy as np
from optuna.distributions import FloatDistribution
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import _split_observation_pairs, default_weights

warnings.filterwarnings("ignore")
n_draws = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
N = 300
xs = np.array([4.995 * math.sin(1.7 * i + 0.3) for i in range(N)])
vals = [(xs[i] - 1.3) ** 2 + 1e-3 * ((i * 7919) % 101) / 101 for i in range(N)]
below, above = _split_observation_pairs([(-math.inf, [v]) for v in vals],
                                        min(int(math.ceil(0.1 * N)), 25), None)
params = _ParzenEstimatorParameters(consider_prior=True, prior_weight=1.0, consider_magic_clip=True,
                                    consider_endpoints=False, weights=default_weights,
                                    multivariate=False)
space = {"x": FloatDistribution(-5, 5)}
l_est = _ParzenEstimator({"x": xs[below]}, space, params)
g_est = _ParzenEstimator({"x": xs[above]}, space, params)
rng = np.random.RandomState(7)
out = np.empty(n_draws)
for t in range(n_draws):
    s = l_est.sample(rng, 24)
    out[t] = s["x"][np.argmax(l_est.log_pdf(s) - g_est.log_pdf(s))]
print(json.dumps({"bench": "tpe_proposals", "impl": "optuna", "draws": n_draws,
                  "mean": out.mean(), "sd": out.std(),
                  "deciles": np.percentile(out, [10, 20, 30, 40, 50, 60, 70, 80, 90]).tolist()}))
