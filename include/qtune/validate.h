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

/* ==== the overfitting statistics of a stored study (src/validate/study_stats.c) ====
 * qtune validate: the complete trials' stored per-period returns (the
 * storage's trial_returns, written by the runner) as a T x N matrix, then
 * for the study's best trial (qt_study_best): PSR, DSR (N = the trials with
 * returns, the variance of their Sharpe ratios), MinTRL at 95%, MinBTL for
 * its annualized Sharpe; PBO by CSCV with the logit distribution and the
 * degradation; Reality Check and SPA against flat and buy-and-hold; the
 * spread of the top N's parameters; with an objective, the best's
 * neighbourhood re-run.  The result is one JSON object in caller buffers. */
typedef struct qt_validate_opts {
  size_t pbo_blocks;  /* S (default 16; lowered to the even number of periods when fewer) */
  size_t top_n;       /* trials whose parameter spread is shown (default 10) */
  qt_spa_opts spa;    /* bootstrap of RC/SPA (qt_spa_opts_default) */
  double dsr_reject;  /* DSR below this rejects the best (default 0.95) */
  double pbo_reject;  /* PBO at or above this rejects the study (default 0.5) */
  const qt_objective *objective; /* NULL: no neighbourhood; else the study's own market */
  size_t stability_runs;         /* K more studies under other seeds (needs objective) */
  const qt_objective *oos_objective; /* NULL, or the held-out bars: the runs' bests there */
  size_t jobs;                   /* runner threads of the stability runs (0: all cores) */
  const char *storage_url;       /* where the stability runs are stored (the study's) */
} qt_validate_opts;
QT_API qt_validate_opts qt_validate_opts_default(void);

/* Writes the statistics of st as JSON into buf: study, best_trial,
 * best_params, trials, trials_without_returns, periods, period_ms,
 * start_ms, "sharpe" {sharpe, sharpe_annual, skew, kurt, sharpe_variance,
 * sr0, dsr, psr, min_trl_periods, min_btl_years, data_years, rejected},
 * "pbo" {blocks, combinations, pbo, slope, intercept, p_loss, logit_bins
 * (8 counts over [-4, 4) by 1, tails in the end bins), logit_q25/median/q75,
 * is/oos_sharpe_mean, rejected}, "spa" {flat: {best_trial, rc_stat, rc_p,
 * spa_stat, spa_p}, buy_hold: ...}, "stability" {top_n, params: [{name,
 * min, max, mean, sd, sd_share}]}, "neighbourhood" {best_sharpe, neighbours:
 * [{param, value, sharpe, total_profit}], n, kept_half_sharpe},
 * "stability_runs" {trials, runs: [{study, seed, best_trial, objective,
 * params, sharpe, oos_sharpe, oos_total_return}] (the study itself first),
 * params: [{name, values, sd_share}]}.
 * QT_ESTATE when the study has no feasible complete trial, fewer than 2
 * trials with returns or the best has none; QT_ENOTFOUND when it stored no
 * returns at all; QT_EINVAL when buf is too small; storage errors. */
QT_API int qt_validate_study(qt_study *st, const qt_validate_opts *o, char *buf, size_t cap,
                             qt_err *err);
/* What a stored study ran on, rebuilt from its pin (qt_study_pinned): the
 * strategy's name, the market options (catalog or data file, symbol, the
 * traded from/to, fee/lot/tick overrides) and the backtest settings.  The
 * mo's strings point into *out, so *out must stay in place while mo is
 * used.  Load the market and compare a fresh pin with the stored one
 * (qt_study_pin_diff) before trusting it: a data file's importer options
 * are not pinned.  QT_EPARSE naming the field. */
typedef struct qt_study_market {
  char strategy[256], catalog[1024], data_file[1024], symbols[256], from[48], to[48];
  qt_market_opts mo;
  qt_engine_opts eo;
  int aggregate; /* -1: one symbol; else the QT_AGG_* of a study over several symbols
                  * (pin "aggregate"; mo then lists them all) */
} qt_study_market;
QT_API int qt_study_market_from_pin(const char *pin_json, qt_study_market *out, qt_err *err);

/* A stored strategy study's market and objective, rebuilt from its pin to
 * re-run trials (the neighbourhood, stability runs, the gate's baseline):
 * the market loaded again, a fresh pin compared with the stored one, the
 * backtest objective, and with a stored holdout the objective over the
 * held-out bars (oos.vt NULL when none).  Release with qt_study_rerun_close
 * (also after a failure; a zeroed one is a no-op). */
typedef struct qt_study_rerun {
  qt_study_market sm;
  const qt_strategy_vtbl *strategy;
  qt_market mk, mk_full;
  int have_mk, have_full;
  void *plugin;
  qt_engine_opts eo, eo_oos;
  qt_objective obj, oos;   /* scored on the pinned regime's bars, if any */
  char regime[32];         /* the study's --regime ("" when none) */
} qt_study_rerun;
/* 0 on success; otherwise a POSITIVE number (the negated status) with the
 * reason in err (no pin, the data or settings changed: the differences,
 * the market no longer loads), so a caller can skip the re-runs. */
QT_API int qt_study_rerun_open(qt_study *st, qt_study_rerun *x, qt_err *err);
QT_API void qt_study_rerun_close(qt_study_rerun *x);

/* The result of qt_validate_study as readable tables with one verdict line
 * per statistic.  QT_EPARSE for other JSON; QT_EIO when f reports an error. */
QT_API int qt_validate_write_table(const char *json, FILE *f, qt_err *err);
/* ==== end of the overfitting statistics of a stored study ==== */

/* ==== walk-forward (src/validate/walkforward.c) ====
 * Windows of a train span followed by a test span, every `step` (rolling)
 * or all from the first bar (anchored).  Each window's study NAME/w01, ...
 * searches its train span and is stored, so a second run resumes (a window
 * with all its trials is not re-run; a window study on other spans or
 * settings is refused); the best (qt_study_rank order) runs on the test
 * span with the earlier bars as warm-up, and the test spans' equity curves
 * are chained into one stitched out-of-sample curve with its own metrics. */
#define QT_WF_MAX_WINDOWS 999

typedef struct qt_wf_opts {
  int64_t train_ms, test_ms; /* > 0 */
  int64_t step_ms;           /* 0: test_ms; shorter than test_ms is refused */
  int anchored;              /* 1: every train span starts at the first bar */
  size_t n_trials;           /* per window (default 200), warm-start trials included */
  size_t jobs;               /* runner threads per window (0: all cores) */
  int deterministic;         /* the runner's deterministic batches */
  int warm_start;            /* 1: a new window first runs the previous window's top params */
  size_t warm_top;           /* how many (default 5) */
  const char *name;          /* the walk-forward's name: window studies NAME/wNN */
  const char *storage_url;   /* NULL: qt_storage_default_url() */
  uint64_t seed;             /* window k's study seed is seed + k */
  const qt_sampler_vtbl *sampler;   /* NULL: tpe (or a resumed study's) */
  const qt_kv *sampler_opts;
  qt_goal goal;              /* default: qt_goal_default(, 1) */
  const qt_space *space;     /* required, borrowed */
  const char *config_json;   /* stored as each study's "user" config, may be NULL */
  volatile int *stop;        /* set: no further window starts */
  void (*on_window)(void *ud, size_t done, size_t total); /* may be NULL */
  void *on_window_ud;
} qt_wf_opts;
QT_API qt_wf_opts qt_wf_opts_default(void);

typedef struct qt_wf_window {
  size_t train_from, train_to, test_from, test_to; /* bar indices, [from, to) */
} qt_wf_window;

/* The windows over the bars [from_i, to_i) (ts_ms: their opens): window k
 * trains on [t0 + k step, t0 + k step + train) (anchored: from t0) and tests
 * on the next `test`, as long as the test span ends by the end of the last
 * bar (its open plus the last bars' spacing).
 * QT_EINVAL when a span is not positive, step < test, a part would have
 * fewer than 2 bars, more than cap windows fit, or none does (the message
 * gives the data's length). */
QT_API int qt_wf_windows(const int64_t *ts_ms, size_t from_i, size_t to_i, const qt_wf_opts *o,
                         qt_wf_window *out, size_t cap, size_t *out_n, qt_err *err);

/* What a walk-forward runs on: the strategy, the whole loaded market
 * (borrowed) and its backtest settings, and the options.  Several symbols
 * (--symbol A,B,C): markets[0..n_markets) with n_markets >= 2, one loaded
 * market each (borrowed), used instead of feeds/from_i/to_i; the windows
 * are cut on the first symbol's bars and each symbol trades its bars in
 * the same times; every trial runs on each symbol and the study's
 * objective reads the metrics aggregated by `aggregate` (QT_AGG_MEAN,
 * QT_AGG_MEDIAN or QT_AGG_MIN, as qt_objective_symbols). */
typedef struct qt_wf_ctx {
  const qt_strategy_vtbl *strategy;
  const qt_feed *feeds;
  int n_feeds;
  size_t from_i, to_i;   /* the bars split into windows (to_i 0: all) */
  qt_engine_opts eo;     /* from/to are set per window */
  const char *catalog, *data_file; /* the market's source, for the studies' pins */
  qt_wf_opts opts;
  const qt_market *markets; /* several symbols; NULL (n_markets 0): feeds */
  size_t n_markets;
  int aggregate;
} qt_wf_ctx;

/* Runs (or resumes) every window and writes the result JSON into buf.
 * Without --warm-start the windows' studies do not depend on each other:
 * min(jobs, windows) of them run at once, each with jobs / that many
 * runner threads (so the cores stay busy while a window's study ends and
 * its best is tested); with it, one window after the other with all jobs.
 * Each window's objective and test run see the bars only up to one past
 * the span's end (the same values: indicators look back only).
 * The JSON: name, strategy, (several symbols: symbols, aggregate), train,
 * test, step, anchored, trials, warm_start,
 * objective, "windows": [{window, study, train_from, train_to, test_from,
 * test_to, train_bars, test_bars, trials, trials_run, warm_started,
 * best_trial (null: no complete trial), best_feasible, best_objective,
 * params, is: {sharpe, total_return, max_drawdown, trades, profit_factor,
 * win_rate}, oos: {the same}, wfe}], "drift": [{name, values, mean,
 * sd_share, step_share}], "stitched": {from, to, bars, start_cash,
 * final_equity, metrics, buy_hold_return}, wfe_mean, windows_positive,
 * windows_tested.  WFE = (OOS total return / test days) / (IS total return
 * / train days), null when the in-sample return is not positive.  With
 * several symbols "is" and "oos" are the aggregates, each window adds
 * is_by_symbol and oos_by_symbol {SYMBOL: {the same metrics}}, "stitched"
 * is the portfolio of equal cash shares (rebalanced at each test span;
 * "portfolio": "equal cash shares") and stitched_by_symbol {SYMBOL: {as
 * stitched}} each symbol's own chained curve.
 * QT_EINVAL for bad windows or too small a buf; study, storage and engine
 * errors (the message names the window study). */
QT_API int qt_wf_run(const qt_wf_ctx *c, char *buf, size_t cap, qt_err *err);
/* The result as tables: one row per window, the drift, the stitched curve
 * and a verdict.  QT_EPARSE for other JSON; QT_EIO. */
QT_API int qt_wf_write_table(const char *json, FILE *f, qt_err *err);
/* ==== end of walk-forward ==== */

/* ==== the promotion gate (src/validate/gate.c) ====
 * The tuning playbook's acceptance checks of a study's best (the candidate)
 * against a baseline on the same market: each PASS or FAIL with its
 * numbers.  Pure; the CLI gathers the metrics and records the verdict and
 * stage (storage qt_gate_record).  One list makes the thresholds' fields,
 * defaults, YAML keys and docs (docs/validate.md lists them). */
#define QT_GATE_THRESHOLDS(X)                                                              \
  X(min_pf_gain, 0.0, "candidate profit factor minus the baseline's must exceed this")     \
  X(min_trade_ratio, 0.5, "candidate trades at least this times the baseline's")           \
  X(min_sharpe_gain, 0.0, "candidate Sharpe minus the baseline's must exceed this")        \
  X(max_dd_ratio, 2.0, "candidate max drawdown at most this times the baseline's")         \
  X(min_oos_ratio, 0.5, "out-of-sample Sharpe > 0 and at least this times the in-sample") \
  X(max_drawdown, 0.20, "max drawdown in and out of sample at most this (target risk)")    \
  X(min_symbols, 2, "symbols the study must have run on (stable across symbols)")            \
  X(min_symbol_sharpe, 0.0, "each symbol's Sharpe, and the aggregate's with any one left out, above this") \
  X(max_symbol_share, 0.6, "the best symbol's share of the summed profit at most this")
typedef struct qt_gate_thresholds {
#define QT__GATE_FIELD_DECL(name, def, doc) double name;
  QT_GATE_THRESHOLDS(QT__GATE_FIELD_DECL)
#undef QT__GATE_FIELD_DECL
} qt_gate_thresholds;
#define QT_GATE_YAML_MAX 65536
QT_API qt_gate_thresholds qt_gate_thresholds_default(void);
/* Overrides thresholds from a flat YAML map `name: number` (at most
 * QT_GATE_YAML_MAX bytes); *t is unchanged on failure.  QT_EPARSE naming
 * file, line and field: an unknown name (the known ones listed), a value
 * that is not a number >= 0, a document that is not a map. */
QT_API int qt_gate_thresholds_load(const char *text, size_t len, const char *file,
                                   qt_gate_thresholds *t, qt_err *err);

typedef struct qt_gate_input {
  const char *candidate_metrics; /* JSON object: the best's in-sample metrics */
  const char *baseline_metrics;  /* JSON object: the baseline's on the same bars */
  const char *oos_metrics;       /* JSON object of the best out of sample, NULL: none */
  const char *baseline_desc;     /* shown: "defaults", a file, "study NAME" */
  size_t n_symbols;              /* symbols the study ran on */
} qt_gate_input;
/* Runs the checks and writes {pass, baseline, checks: [{name, pass,
 * detail}], thresholds, candidate, baseline_metrics, oos} into buf;
 * *out_pass 1 when every check passes.  A missing out-of-sample result
 * fails its check; one symbol fails the symbol checks unless min_symbols
 * <= 1.  QT_EPARSE for metrics that are not JSON objects; QT_EINVAL when
 * buf is too small. */
QT_API int qt_gate_evaluate(const qt_gate_input *in, const qt_gate_thresholds *t, char *buf,
                            size_t cap, int *out_pass, qt_err *err);
/* One line per check (PASS/FAIL, name, numbers) and the verdict. */
QT_API int qt_gate_write_table(const char *json, FILE *f, qt_err *err);
/* ==== end of the promotion gate ==== */

/* ==== stress scenarios (src/validate/stress.c) ====
 * One backtest of fixed params under a flash crash, fees multiplied,
 * slippage multiplied, spreads widened and gaps in the data, beside the base
 * run, with the risk limits shown to hold or named where they fail:
 * liquidation, the strategy's max_position_pct (gross exposure) and
 * max_daily_loss_pct (worst UTC day) when it has those params.  The cap is
 * checked against the peak gross exposure with QT_STRESS_CAP_ALLOWANCE: the
 * strategy applies it when it places orders, and a position then moves with
 * the price. */
#define QT_STRESS_CAP_ALLOWANCE 1.05
typedef struct qt_stress_opts {
  double crash_pct;      /* the crash's drop, fraction (default 0.20) */
  double crash_min;      /* minutes down (default 5) */
  double recover_min;    /* minutes back up (default 60) */
  int64_t crash_at_ms;   /* 0: a seeded random bar of the traded span */
  uint64_t seed;         /* the crash time and the gaps (default 1) */
  double fee_mult;       /* maker and taker fees x this (default 3) */
  double slip_mult;      /* slippage x this (default 3) ... */
  double slip_floor_bps; /* ... and at least this (default 5) */
  double spread_bps;     /* market and stop fills pay half of it more (default 20) */
  size_t n_gaps;         /* gaps cut from the traded bars (default 3; 1 feed only) */
  double gap_min;        /* minutes per gap (default 60) */
  size_t late_bars;      /* fills late: every order reaches the book this many bars
                          * late (qt_engine_opts.fill_delay_bars; default 1; 0 skips) */
} qt_stress_opts;
QT_API qt_stress_opts qt_stress_opts_default(void);

/* A copy of in (*out owned: qt_bars_fini) whose prices from bar at_i fall
 * linearly to (1 - pct) over drop_bars bars and come back over recover_bars:
 * open scaled by the factor of the step before, close by its own, high and
 * low widened to stay valid.  QT_EINVAL for pct outside (0, 1), drop_bars 0
 * or at_i past the data; QT_ENOMEM. */
QT_API int qt_stress_crash_bars(const qt_bars *in, size_t at_i, double pct, size_t drop_bars,
                                size_t recover_bars, qt_bars *out, qt_err *err);
/* A copy of in without the rows [gap_from[g], gap_from[g] + gap_bars) for
 * each g; *out_removed_before (may be NULL) counts removed rows before
 * before_i (to shift a from index).  QT_EINVAL when fewer than 2 bars stay. */
QT_API int qt_stress_gap_bars(const qt_bars *in, const size_t *gap_from, size_t n_gaps,
                              size_t gap_bars, qt_bars *out, size_t *out_removed_before,
                              size_t before_i, qt_err *err);
/* Runs the scenarios of params p (spec order) over feeds (1 or 2; feed 0
 * trades from from_i, earlier bars warm up) with settings eo, and writes
 * {"scenarios": [{scenario, what, note, metrics: {sharpe, total_return,
 * max_drawdown, trades, profit_factor, fees_paid}, risk: [{limit, holds,
 * detail}], max_exposure, worst_day, liquidated}]} into buf (base first).
 * Engine errors name the scenario; QT_EINVAL for a crash time outside the
 * traded bars or too small a buf. */
QT_API int qt_stress_run(const qt_strategy_vtbl *s, const double *p, const qt_feed *feeds,
                         int n_feeds, size_t from_i, const qt_engine_opts *eo,
                         const qt_stress_opts *o, char *buf, size_t cap, qt_err *err);
/* The scenarios beside the base run, each risk limit, and a verdict. */
QT_API int qt_stress_write_table(const char *json, FILE *f, qt_err *err);
/* ==== end of stress scenarios ==== */

/* ==== market regimes (src/validate/regime.c) ====
 * Each bar labeled trend-up, trend-down, range or high-volatility by causal
 * rules (only the bars up to it), or from a file of date ranges, and a
 * run's metrics per regime.  The rules (docs/validate.md): over the last
 * `window` bars, v = the SD of one-bar log returns and ret = the log return;
 * ref = the mean of v over the last window x ref_windows bars.
 *   high-volatility  v >= hi_vol x ref
 *   range            v <= lo_vol x ref, or |ret| / (v sqrt(window)) < trend_t
 *   trend-up / down  otherwise, by the sign of ret
 * The first `window` bars have no label (QT_MREGIME_NONE). */
enum {
  QT_MREGIME_UP = 0,
  QT_MREGIME_DOWN = 1,
  QT_MREGIME_RANGE = 2,
  QT_MREGIME_HIGH_VOL = 3,
  QT_MREGIME_COUNT = 4,
  QT_MREGIME_NONE = 255
};
#define QT_REGIME_FILE_MAX (1 << 20)
/* "trend-up", "trend-down", "range", "high-volatility"; "unlabeled" for
 * anything else.  Static. */
QT_API const char *qt_mregime_name(int r);
/* The regime named s; QT_EINVAL (no message) when none. */
QT_API int qt_mregime_parse(const char *s, int *out);

typedef struct qt_regime_opts {
  size_t window;      /* bars (default 360: 6 h of 1-minute bars) */
  size_t ref_windows; /* the volatility reference spans this many windows (default 10) */
  double hi_vol;      /* default 1.6 */
  double lo_vol;      /* default 0.8 */
  double trend_t;     /* default 0.3 */
} qt_regime_opts;
QT_API qt_regime_opts qt_regime_opts_default(void);
/* Labels the b->n bars into out (b->n bytes).  QT_EINVAL for bad options;
 * QT_ENOMEM. */
QT_API int qt_regime_label(const qt_bars *b, const qt_regime_opts *o, uint8_t *out, qt_err *err);
/* Labels from a ranges file: lines `from,to,regime` (any qt_time_parse
 * form, to exclusive, a regime name; a first line starting with "from" and
 * lines starting with '#' are skipped; at most QT_REGIME_FILE_MAX bytes);
 * bars in no range are QT_MREGIME_NONE, later lines win.  QT_EPARSE naming
 * file, line and field. */
QT_API int qt_regime_from_ranges(const qt_bars *b, const char *text, size_t len,
                                 const char *file, uint8_t *out, qt_err *err);

typedef struct qt_regime_stats {
  size_t bars;         /* traded bars with this label */
  double share;        /* of the labeled traded bars */
  double total_return; /* the run's bar returns in this regime compounded (NaN: no bar) */
  double sharpe;       /* of those bar returns, x sqrt(bars_per_year) (NaN: < 2 or flat) */
  size_t trades;       /* trades entered on a bar of this regime */
  double pnl;          /* their net P&L, money */
} qt_regime_stats;
/* Per-regime statistics of a run; label[i] is the regime of the run's bar i
 * (res->ts_ms[i]).  QT_EINVAL for an empty run. */
QT_API int qt_regime_metrics(const qt_result *res, const uint8_t *label, double bars_per_year,
                             qt_regime_stats out[QT_MREGIME_COUNT], qt_err *err);
/* The labels' shares and spells, and with a run (res may be NULL; label
 * then covers its bars) the per-regime statistics, as JSON into buf:
 * {bars, labeled, regimes: [{regime, bars, share, spells, traded_bars,
 * total_return, sharpe, trades, pnl}]}.  QT_EINVAL when buf is too small. */
QT_API int qt_regime_report(const uint8_t *label, size_t n, const qt_result *res,
                            double bars_per_year, char *buf, size_t cap, qt_err *err);
/* Scores obj (a strategy backtest over bars b) on the bars labeled regime
 * (a name of qt_mregime_name) only: qt_regime_label, then
 * qt_objective_strategy_restrict.  QT_EINVAL naming the flag for an unknown
 * name or too few such bars; QT_ENOMEM. */
QT_API int qt_regime_restrict(qt_objective *obj, const qt_bars *b, const char *regime,
                              const qt_regime_opts *o, qt_err *err);
/* ==== end of market regimes ==== */

#endif
