/* qtune validate: statistics that say whether a study's best result is skill
 * or selection luck: probabilistic and deflated Sharpe ratios, minimum track
 * record and backtest lengths, the probability of backtest overfitting (CSCV)
 * and White's Reality Check / Hansen's SPA test with a stationary bootstrap.
 * Pure functions over caller arrays: no I/O, no storage, no printing; the CLI
 * loads a study's return series and calls these.  Formulas, references and
 * conventions: docs/validate.md and the top of src/validate/overfit.c.
 *
 * Conventions shared by every function here:
 * - Sharpe ratios are per period (mean / sample SD with n-1), not annualized;
 * - kurtosis is raw (3 for a normal distribution), skewness and kurtosis are
 *   the moment ratios m3/m2^1.5 and m4/m2^2 of the central moments with 1/n;
 * - a returns matrix of T periods x N trials is row-major: r[t * N + n]. */
#ifndef QTUNE_QTUNE_VALIDATE_H
#define QTUNE_QTUNE_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "qtune/core.h"

/* ---- the standard normal distribution ---- */
/* Phi(x), via erfc: relative error near 1e-16 in both tails. */
QT_API double qt_overfit_norm_cdf(double x);
/* Phi^-1(p): Acklam's rational approximation refined by one Halley step on
 * erfc (|error| < 1e-14 over (1e-300, 1 - 1e-16)).  0 -> -inf, 1 -> +inf, NaN
 * for p outside [0, 1] or NaN. */
QT_API double qt_overfit_norm_quantile(double p);

/* ---- moments of one return series ---- */
typedef struct qt_overfit_moments {
  size_t n;      /* observations */
  double mean;   /* per period */
  double sd;     /* sample SD (n-1) */
  double sharpe; /* mean / sd; 0 when sd == 0 (a flat series) */
  double skew;   /* m3 / m2^1.5; 0 when m2 == 0 */
  double kurt;   /* raw, m4 / m2^2 (3 for a normal); 3 when m2 == 0 */
} qt_overfit_moments;

/* Moments of r[0], r[stride], ..., r[(n-1)*stride] (stride 1 for a plain
 * array, N for trial n of a T x N matrix starting at r + n).  Fails with
 * QT_EINVAL when n < 2, stride == 0 or a value is not finite (the message
 * names the index). */
QT_API int qt_overfit_moments_of(const double *r, size_t n, size_t stride,
                                 qt_overfit_moments *out, qt_err *err);

/* ---- Sharpe ratio inference (Bailey & Lopez de Prado 2012, 2014) ---- */
/* PSR(SR*) = Phi((SR - SR*) sqrt(n - 1) / sqrt(1 - skew SR + (kurt - 1)/4 SR^2)):
 * the probability that the true per-period Sharpe exceeds sr_benchmark.
 * QT_EINVAL when n_obs < 2, an input is not finite, or the variance term is
 * not positive (impossible moments: kurt < 1 + skew^2). *out is 0 on failure. */
QT_API int qt_overfit_psr(double sr, double sr_benchmark, double skew, double kurt,
                          size_t n_obs, double *out_psr, qt_err *err);
/* Minimum track record length: the n_obs at which PSR(sr_benchmark) reaches
 * prob, 1 + (1 - skew SR + (kurt - 1)/4 SR^2) (Phi^-1(prob) / (SR - SR*))^2.
 * A real number of observations (round up to use it).  QT_EINVAL when
 * sr <= sr_benchmark (no length suffices), prob not in (0, 1), or as PSR. */
QT_API int qt_overfit_min_trl(double sr, double sr_benchmark, double skew, double kurt,
                              double prob, double *out_n_obs, qt_err *err);
/* E[max of N iid standard normals] ~ (1 - g) Phi^-1(1 - 1/N) + g Phi^-1(1 - 1/(N e)),
 * g the Euler-Mascheroni constant (Bailey et al. 2014, from extreme value
 * theory; accurate for N >> 1).  0 for N <= 1: one trial has no selection. */
QT_API double qt_overfit_expected_max(size_t n_trials);
/* Minimum backtest length in years (Bailey, Borwein, Lopez de Prado, Zhu
 * 2014): (E[max_N] / target_sr_annual)^2, the years of data below which the
 * best of n_trials skill-less configurations (annualized SR ~ N(0, 1) over
 * one year) is expected to show target_sr_annual in sample.  QT_EINVAL when
 * n_trials < 2 or target_sr_annual is not positive and finite. */
QT_API int qt_overfit_min_btl(size_t n_trials, double target_sr_annual, double *out_years,
                              qt_err *err);

typedef struct qt_overfit_dsr_in {
  double sr;          /* per-period Sharpe of the selected (best) trial */
  double skew, kurt;  /* of the selected trial's returns (kurt raw) */
  size_t n_obs;       /* its number of returns */
  size_t n_trials;    /* independent trials tried (N) */
  double sr_variance; /* variance of the N trials' per-period Sharpe ratios */
} qt_overfit_dsr_in;
typedef struct qt_overfit_dsr_out {
  double sr0; /* sqrt(sr_variance) * E[max_N]: the best Sharpe luck alone gives */
  double dsr; /* PSR(sr0) of the selected trial */
} qt_overfit_dsr_out;
/* Deflated Sharpe ratio (Bailey & Lopez de Prado 2014): DSR = PSR(SR0) with
 * SR0 = sqrt(V[SR_n]) E[max_N].  QT_EINVAL when n_trials == 0, sr_variance
 * is negative or not finite, or as PSR; *out is zeroed on failure. */
QT_API int qt_overfit_dsr(const qt_overfit_dsr_in *in, qt_overfit_dsr_out *out, qt_err *err);
/* The DSR of a study from its T x N returns matrix: each trial's per-period
 * Sharpe, their sample variance (n-1), the best trial (highest Sharpe, lowest
 * index on ties) and its skewness and kurtosis, then qt_overfit_dsr with
 * n_trials = N.  *out_best (may be NULL) is the best trial's index.  Fails as
 * qt_overfit_moments_of (the message names the trial) or when N < 2. */
QT_API int qt_overfit_dsr_matrix(const double *r, size_t n_periods, size_t n_trials,
                                 qt_overfit_dsr_out *out, size_t *out_best, qt_err *err);

/* ---- probability of backtest overfitting by CSCV (Bailey et al. 2015) ---- */
typedef struct qt_pbo_opts {
  size_t n_blocks; /* S: even, 2..24, <= T; default 16 */
} qt_pbo_opts;
QT_API qt_pbo_opts qt_pbo_opts_default(void);

typedef struct qt_pbo_result {
  double pbo;            /* share of combinations with logit <= 0 */
  size_t n_combinations; /* C(S, S/2) */
  /* Owned arrays of n_combinations values each, in combination order
   * (in-sample block sets as S-bit masks in increasing order); released by
   * qt_pbo_result_fini. */
  double *logits;   /* ln(w / (1 - w)), w = OOS rank of the IS best / (N + 1) */
  double *is_perf;  /* in-sample Sharpe of the IS best */
  double *oos_perf; /* its out-of-sample Sharpe */
  /* Performance degradation: least squares oos_perf = intercept + slope * is_perf
   * (slope and intercept NaN when every is_perf is equal), and the share of
   * combinations whose IS best loses out of sample (oos_perf < 0). */
  double slope, intercept;
  double p_loss;
} qt_pbo_result;

/* PBO of a T x N matrix of per-period returns (T periods, N trials).  The rows
 * are cut into S contiguous blocks (block b: rows [b T / S, (b + 1) T / S));
 * for every set J of S/2 blocks the trial with the best Sharpe over J (lowest
 * index on ties) is ranked by Sharpe over the other blocks (mid-rank on ties,
 * 1 = worst).  *out is caller storage; on success it owns three arrays (free
 * with qt_pbo_result_fini), on failure it is zeroed with nothing to free.
 * opts NULL: defaults.  QT_EINVAL when N < 2, T < 4, S is odd, < 2, > 24 or
 * > T, or a value is not finite (the message names row and trial); QT_ENOMEM. */
QT_API int qt_overfit_pbo(const double *r, size_t n_periods, size_t n_trials,
                          const qt_pbo_opts *opts, qt_pbo_result *out, qt_err *err);
/* Frees the arrays of a result and zeroes it; NULL and a zeroed result are no-ops. */
QT_API void qt_pbo_result_fini(qt_pbo_result *res);

/* ---- data-snooping tests: White's Reality Check and Hansen's SPA ---- */
/* Fills idx[0..n-1] with one stationary-bootstrap resample of 0..n-1
 * (Politis & Romano 1994): idx[0] uniform; then with probability 1/mean_block
 * a fresh uniform index, otherwise the previous one plus 1 (wrapping to 0).
 * mean_block >= 1 (1: iid resampling); draws from rng. */
QT_API void qt_overfit_stationary_bootstrap(qt_rng *rng, size_t n, double mean_block,
                                            size_t *idx);

typedef struct qt_spa_opts {
  size_t n_boot;     /* B bootstrap resamples; default 1000 */
  double mean_block; /* mean block length of the stationary bootstrap; default 10 */
  uint64_t seed;     /* qt_rng_seed(seed); default 1 */
} qt_spa_opts;
QT_API qt_spa_opts qt_spa_opts_default(void);

typedef struct qt_spa_result {
  size_t best;    /* trial with the highest mean excess return (lowest index on ties) */
  double rc_stat; /* White: max_n sqrt(T) mean_n */
  double rc_p;    /* share of resamples with max_n sqrt(T)(mean*_n - mean_n) >= rc_stat */
  double spa_stat; /* Hansen: max(0, max_n sqrt(T) mean_n / w_n) */
  double spa_p;    /* Hansen's consistent p-value SPA_c (see docs/validate.md) */
} qt_spa_result;

/* Tests "no trial beats the benchmark" on a T x N matrix of per-period excess
 * returns over the benchmark (returns minus benchmark returns; for a flat
 * benchmark the returns themselves).  w_n^2 is the bootstrap variance of
 * sqrt(T) mean*_n; a trial with w_n == 0 (a constant series) is left out of
 * the SPA maximum.  The same resample indices serve every trial, so the
 * trials' dependence is kept.  Deterministic for a given seed.  SPA
 * over-rejects when T / mean_block is small and N large (the estimated w_n
 * of the maximum is biased low; docs/validate.md has figures): read rc_p
 * there.  QT_EINVAL
 * when T < 2, N == 0, n_boot == 0, mean_block < 1 or a value is not finite;
 * QT_ENOMEM.  *out is zeroed on failure.  opts NULL: defaults. */
QT_API int qt_overfit_spa(const double *r, size_t n_periods, size_t n_trials,
                          const qt_spa_opts *opts, qt_spa_result *out, qt_err *err);

/* ---- holdout: out of sample in every study (src/validate/holdout.c) ----
 * A study searches the bars before a split; afterwards its best and top N
 * trials are run through the same objective on the bars from the split on
 * (the earlier bars stay as warm-up history), and the in/out rank correlation
 * says whether the in-sample ranking carries.  The result is one JSON object
 * (the "holdout" key of the study's config), written into caller buffers. */
#include <stdio.h>

#include "qtune/optimize.h"

typedef struct qt_holdout_split {
  size_t from_i, split_i, to_i; /* in sample [from_i, split_i), out [split_i, to_i) */
  int64_t from_ms, split_ms, to_ms; /* opens of bars from_i, split_i and to_i - 1 */
  int64_t in_last_ms;               /* open of bar split_i - 1, the last in sample */
} qt_holdout_split;

/* Parses a held-out share: "25%" or "0.25" -> 0.25.  QT_EINVAL (naming the
 * text) unless it is a number in (0, 1) (or a percentage in (0, 100)). */
QT_API int qt_holdout_parse_fraction(const char *text, double *out_frac, qt_err *err);
/* Holds out the last round(frac * n) of the n = to_i - from_i traded bars
 * (ts_ms: the bar opens, at least to_i of them).  QT_EINVAL when frac is not
 * in (0, 1) or either side would have fewer than 2 bars (the message gives
 * the counts).  *out is zeroed on failure. */
QT_API int qt_holdout_split_fraction(const int64_t *ts_ms, size_t from_i, size_t to_i,
                                     double frac, qt_holdout_split *out, qt_err *err);
/* Out of sample from the first bar opening at or after test_from_ms.
 * QT_EINVAL (naming the time and the traded span) when either side would
 * have fewer than 2 bars. */
QT_API int qt_holdout_split_time(const int64_t *ts_ms, size_t from_i, size_t to_i,
                                 int64_t test_from_ms, qt_holdout_split *out, qt_err *err);

/* Mid-ranks of v[0..n) into out_rank (1 = smallest; ties share the mean of
 * their ranks: {3, 1, 3} -> {2.5, 1, 2.5}).  NaN values are not ranked (their
 * rank is NaN).  QT_ENOMEM. */
QT_API int qt_holdout_ranks(const double *v, size_t n, double *out_rank, qt_err *err);
/* Spearman's rank correlation of a and b: the Pearson correlation of their
 * mid-ranks, over the pairs where both are finite.  *out_rho is NaN when
 * fewer than 2 pairs remain or one side is constant.  QT_ENOMEM. */
QT_API int qt_holdout_spearman(const double *a, const double *b, size_t n, double *out_rho,
                               qt_err *err);

/* Scores of two sets of trials under ONE normalization: term values
 * vals_a[r * g->n_terms + k] (n_a rows) and vals_b (n_b rows); the min/max of
 * each term over the union of the rows (qt_norm_refresh), then qt_norm_score
 * of every row into out_a / out_b.  A score normalized within each study is
 * not comparable across studies; this one is.  QT_ENOMEM. */
QT_API int qt_holdout_joint_scores(const qt_goal *g, const double *vals_a, size_t n_a,
                                   const double *vals_b, size_t n_b, double *out_a,
                                   double *out_b, qt_err *err);

typedef struct qt_holdout_opts {
  size_t top_n; /* trials tested out of sample, best first (default 10) */
} qt_holdout_opts;
QT_API qt_holdout_opts qt_holdout_opts_default(void);

/* Runs the top N complete trials of st (qt_study_rank order, so the best
 * first) through oos, an objective over the same market whose simulated bars
 * are the split's out-of-sample part, and writes the holdout JSON into buf:
 * {"split": {from, in_last, split, to (times), in_bars, oos_bars},
 * "objective", "maximize", "spearman", "trials": [{number, study_objective,
 * is: {metrics}, oos: {metrics}, oos_feasible, oos_reason, is_objective,
 * oos_objective}]}.  study_objective is the study's own (null when vetoed);
 * is_/oos_objective are the metric, or the study's weighted score normalized
 * over the N rows of that side, and spearman is between them.  A trial the objective fails on has null metrics.
 * QT_ESTATE when st has no complete trial; QT_EINVAL when buf is too small;
 * QT_ENOMEM; the objective's own errors for its worker. */
QT_API int qt_holdout_run(const qt_study *st, const qt_objective *oos,
                          const qt_holdout_split *split, const qt_holdout_opts *opts,
                          char *buf, size_t cap, qt_err *err);
/* Stores the holdout JSON as the "holdout" key of the study's config
 * (replacing an earlier one), through the storage's study_set_config. */
QT_API int qt_holdout_store(qt_study *st, const char *holdout_json, qt_err *err);
/* The stored holdout JSON of a study (its config's "holdout") into buf;
 * QT_ENOTFOUND when the study has none, QT_EINVAL when buf is too small. */
QT_API int qt_holdout_load(const qt_study *st, char *buf, size_t cap, qt_err *err);
/* Writes the holdout as tables to f: the split, the best trial's metrics in
 * and out of sample with the change, the top N's objectives and the rank
 * correlation, and a one-line verdict.  QT_EPARSE for JSON that is not a
 * holdout; QT_EIO when f reports an error. */
QT_API int qt_holdout_write_table(const char *holdout_json, FILE *f, qt_err *err);

/* One study's side of a comparison (qt_holdout_compare). */
typedef struct qt_compare_side {
  long best;           /* trial_info index of the best under the joint score, -1: none */
  double best_score;   /* its joint score (the metric itself when the goal is a metric) */
  size_t n_complete;   /* complete trials scored */
} qt_compare_side;
/* Ranks the complete trials of a and b under one normalization of a's goal
 * (its weights over the union of both studies' trials; a metric objective
 * compares as is): feasible before infeasible, then by joint score in a's
 * direction.  QT_EINVAL when the goals differ in objective metric,
 * direction or weights (the message names which); QT_ENOMEM. */
QT_API int qt_holdout_compare(const qt_study *a, const qt_study *b, qt_compare_side *out_a,
                              qt_compare_side *out_b, qt_err *err);

/* ==================================================================
 * HJB market making (src/validate/hjb.c)
 * ==================================================================
 * The classic market-making model (Avellaneda & Stoikov 2008; Gueant,
 * Lehalle & Fernandez-Tapia 2013): the mid is a Brownian motion with
 * volatility sigma, a quote at offset delta from the mid is filled by
 * Poisson arrivals of intensity A exp(-k delta), one lot per fill, the
 * inventory stays within [-q_max, q_max] lots, and the trader has CARA
 * utility with risk aversion gamma.  With u = -exp(-gamma (x + q lot S +
 * theta(t, q))) the value theta (a certainty equivalent, quote currency)
 * solves
 *   theta_t - gamma sigma^2 lot^2 q^2 / 2 + H_bid(q) + H_ask(q) = 0,
 *   H(q) = sup_delta A e^{-k delta} (1 - e^{-gamma lot (delta - fee - p)}) / gamma,
 * p = (theta(q) - theta(q +- 1)) / lot, theta(T, q) = -terminal_cost |q| lot,
 * plus, when market orders are allowed, theta(q) >= theta(q -+ 1) -
 * taker_cost lot (a lot sold or bought at the touch).  It is solved backward
 * in time on the inventory grid (explicit steps of dt); a fixed policy (the
 * market_maker's offsets per inventory level) is evaluated by the same
 * recursion with delta given instead of optimized.  Formulas and checks:
 * docs/hjb.md.  Pure computation: no I/O, no globals, thread-safe. */
#define QT_HJB_MAX_Q 200     /* q_max at most */
#define QT_HJB_MAX_STEPS 2000000 /* time steps of one solve at most */
#define QT_HJB_MAX_PARAMS 64

typedef struct qt_hjb_model {
  double sigma;      /* mid volatility, price units per sqrt(second) */
  double A;          /* fill intensity at offset 0, fills per second */
  double k;          /* intensity decay per price unit of offset */
  double mid;        /* the last close of the window (converts bps to price) */
  double interval_s; /* bar length the fit used */
  size_t n_bars;     /* bars (trades, for qt_hjb_fit_trades) in the fit */
  double fit_r2;     /* R^2 of the log-intensity regression */
} qt_hjb_model;

/* Fits sigma, A and k to bars [from, to) of b: sigma from close-to-close
 * changes; A and k by regressing the log of the fill intensity of a quote
 * at offset delta from the previous close (-ln(1 - P(the bar's high or low
 * reaches it)) / bar length) on delta, over offsets between the 10th and
 * 90th percentile of the bars' excursions.  QT_EINVAL for fewer than 30
 * bars, a flat window or a fit with k <= 0 (the message says which). */
QT_API int qt_hjb_fit_bars(const qt_bars *b, size_t from, size_t to, qt_hjb_model *out,
                           qt_err *err);

/* Fits the model to the trades with from_ms <= ts < to_ms: each trade's
 * offset from the mid just before it (the last quote at or before it when
 * quotes is not NULL, else the previous trade's price, a cruder proxy that
 * the bid-ask bounce blurs), on the side the taker hit (buyer_is_maker 0:
 * the ask); lambda(delta) = trades at offset >= delta per side per second,
 * regressed as ln A - k delta over offsets between the 10th and 90th
 * percentile; sigma from the mid sampled each second.  out->interval_s is
 * 1 and out->n_bars the trades used.  QT_EINVAL for fewer than 100 trades,
 * a window under 60 s, a flat mid or a fit with k <= 0. */
QT_API int qt_hjb_fit_trades(const qt_trades *t, const qt_quotes *quotes, int64_t from_ms,
                             int64_t to_ms, qt_hjb_model *out, qt_err *err);

typedef struct qt_hjb_grid {
  double gamma;         /* risk aversion per unit of quote currency (> 0) */
  double horizon_s;     /* T */
  double dt_s;          /* time step; 0: min(1, 0.05 / A) */
  int q_max;            /* inventory limit in lots (1..QT_HJB_MAX_Q) */
  double lot;           /* base units per fill (> 0) */
  double maker_fee;     /* price units per base unit earned less on each fill (>= 0) */
  double taker_cost;    /* price units per base unit of a market order (fee + half spread) */
  double terminal_cost; /* price units per base unit of inventory left at T */
  int market_orders;    /* 1: the optimum may send market orders (cost taker_cost) */
} qt_hjb_grid;

/* The optimal value and offsets at t = 0: out_theta[2 q_max + 1] (index q +
 * q_max), out_bid/out_ask offsets in price units (NaN where that side is not
 * quoted: at the limits); any out may be NULL.  QT_EINVAL for a bad grid or
 * model, naming the field; QT_ENOMEM. */
QT_API int qt_hjb_solve(const qt_hjb_model *m, const qt_hjb_grid *g, double *out_theta,
                        double *out_bid, double *out_ask, qt_err *err);
/* The value of a fixed policy: bid[i], ask[i] offsets in price units (NaN:
 * not quoted) and liq[i] >= 0 lots per second of market orders toward 0, for
 * i = q + q_max (liq may be NULL).  out_theta[2 q_max + 1] at t = 0. */
QT_API int qt_hjb_evaluate(const qt_hjb_model *m, const qt_hjb_grid *g, const double *bid,
                           const double *ask, const double *liq, double *out_theta, qt_err *err);
/* market_maker's policy per inventory level under the model (no
 * adverse-selection estimate: the model's flow is symmetric), from its
 * params p (spec order) and the grid's lot: q_ratio = q lot / (max_inventory
 * equity / mid), offsets qt_market_maker_quote's bps times mid, liquidation
 * in lots per second; no bid at +q_max, no ask at -q_max. */
QT_API void qt_hjb_mm_policy(const double *p, const qt_hjb_model *m, const qt_hjb_grid *g,
                             double equity, double *bid, double *ask, double *liq);

typedef struct qt_hjb_opts {
  double gamma;        /* default 1 / (0.01 equity): risk tolerance of 1% of equity */
  double horizon_s;    /* default 300 */
  double dt_s;         /* default 0 (chosen) */
  double equity;       /* sizes the lot and the limit from order_qty/max_inventory (10000) */
  double maker_bps;    /* default 2 (the engine's default maker fee) */
  double taker_bps;    /* default 5; a market order costs this plus nothing for the spread */
  int search_trials;   /* heuristics the search tries (default 64; 0: no search) */
  const char *sampler; /* qtune sampler of the search (default "tpe") */
  uint64_t seed;       /* default 1 */
} qt_hjb_opts;
QT_API qt_hjb_opts qt_hjb_opts_default(void);

typedef struct qt_hjb_result {
  qt_hjb_model model;
  qt_hjb_grid grid;
  double heuristic_value, optimal_value; /* theta(0, 0) of the current params and the optimum */
  double gap_pct;                        /* (optimal - heuristic) / |optimal| * 100 */
  size_t n_params;                       /* market_maker's */
  double suggested[QT_HJB_MAX_PARAMS];   /* the best params the search found (the
                                          * current ones when none did better); only
                                          * the four searched ones differ from p */
  double suggested_value, suggested_gap_pct;
  size_t n_trials;
} qt_hjb_result;

/* One background optimization on a window (the entry point a runner's
 * thread calls every interval): fit the model to bars [from, to) of b,
 * solve the HJB, evaluate market_maker with params p, search its tuning
 * parameters with a qtune sampler for the policy closest to the optimum
 * (the four of the guide's seven that the model sees: skew, urgency
 * threshold, liquidation multiplier, minimum spread ratio; the three
 * adverse-selection ones act on an estimate that is 0 under the model's
 * symmetric flow and are kept), and log at info `Background HJB Optimization Complete:
 * Heuristic_Value=..., Optimal_Value=..., Gap=...%`.  Thread-safe: every
 * state is local to the call.  o may be NULL (defaults). */
QT_API int qt_hjb_optimize(const qt_bars *b, size_t from, size_t to, const double *p,
                           const qt_hjb_opts *o, qt_hjb_result *out, qt_err *err);
/* The same from a model the caller fitted (or a feed of its own): solve,
 * evaluate, search, log. */
QT_API int qt_hjb_optimize_model(const qt_hjb_model *m, const double *p, const qt_hjb_opts *o,
                                 qt_hjb_result *out, qt_err *err);

/* The guide's rule for acting on the gap: a gap above threshold_pct for
 * n_intervals background runs in a row means the params should be retuned
 * (the runner then logs the suggestion and, with --propose, files it as a
 * pending adjustment with reason hjb_gap).  Caller storage, zeroed or
 * from the initializer below; not shared between threads. */
typedef struct qt_hjb_gap_watch {
  double threshold_pct; /* default 10 */
  int n_intervals;      /* default 3 */
  int above;            /* consecutive runs above so far */
} qt_hjb_gap_watch;
#define QT_HJB_GAP_WATCH_INIT {10.0, 3, 0}
/* Records one run's gap; 1 when it has now been above the threshold for
 * n_intervals runs in a row (and on every further run above), else 0.  A
 * NaN gap (a failed run) resets the count. */
QT_API int qt_hjb_gap_note(qt_hjb_gap_watch *w, double gap_pct);

#endif
