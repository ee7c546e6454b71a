/* Overfitting statistics (docs/validate.md has the same list with examples).
 *
 * Conventions: Sharpe ratios are per period, mean / sample SD (n-1), not
 * annualized, and 0 for a flat series (SD 0); skewness m3/m2^1.5 and raw
 * kurtosis m4/m2^2 (3 for a normal) from central moments with 1/n; a T x N
 * returns matrix is row-major, r[t * N + n].
 *
 * - PSR (Bailey & Lopez de Prado 2012, "The Sharpe ratio efficient frontier"):
 *   PSR(SR*) = Phi((SR - SR*) sqrt(n-1) / sqrt(1 - g3 SR + (g4 - 1)/4 SR^2)).
 *   MinTRL = 1 + (1 - g3 SR + (g4 - 1)/4 SR^2) (Phi^-1(p) / (SR - SR*))^2.
 * - E[max_N] ~ (1 - gamma) Phi^-1(1 - 1/N) + gamma Phi^-1(1 - 1/(N e)), and
 *   MinBTL = (E[max_N] / SR_target)^2 years (Bailey, Borwein, Lopez de Prado,
 *   Zhu 2014, "Pseudo-mathematics and financial charlatanism", eqs. 5-6).
 * - DSR (Bailey & Lopez de Prado 2014, "The deflated Sharpe ratio"):
 *   PSR(SR0) with SR0 = sqrt(V[SR_n]) E[max_N].
 * - PBO by CSCV (Bailey, Borwein, Lopez de Prado, Zhu 2015, "The probability
 *   of backtest overfitting"): S blocks, every C(S, S/2) in-sample set J, the
 *   IS-best trial's OOS relative rank w = rank / (N + 1), logit ln(w/(1-w)),
 *   PBO = share of logits <= 0.  Each trial's per-block sums and sums of
 *   squares (shifted by the trial's mean, for a stable variance) are computed
 *   once, so a combination costs O(N S), not O(N T), and allocates nothing.
 * - White (2000) Reality Check and Hansen (2005) SPA with the stationary
 *   bootstrap of Politis & Romano (1994).
 * Phi^-1 is Acklam's rational approximation (relative error 1.15e-9) refined
 * by one Halley step on erfc, which brings it to double precision. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "qtune/validate.h"

#define QT__EULER_GAMMA 0.57721566490153286061
#define QT__PBO_MAX_BLOCKS 24

/* ---- normal distribution ---- */
double qt_overfit_norm_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

double qt_overfit_norm_quantile(double p) {
  static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                              -2.759285104469687e+02, 1.383577518672690e+02,
                              -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                              -1.556989798598866e+02, 6.680131188771972e+01,
                              -1.328068155288572e+01};
  static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                              -2.400758277161838e+00, -2.549732539343734e+00,
                              4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01,
                              2.445134137142996e+00, 3.754408661907416e+00};
  const double p_low = 0.02425;
  if (!(p >= 0.0 && p <= 1.0)) return NAN;
  if (p == 0.0) return -INFINITY;
  if (p == 1.0) return INFINITY;
  double x;
  if (p < p_low || p > 1.0 - p_low) {
    /* tails: q = sqrt(-2 ln(min(p, 1-p))), odd in the sign */
    double q = sqrt(-2.0 * log(p < p_low ? p : 1.0 - p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
    if (p > 1.0 - p_low) x = -x;
  } else {
    double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  }
  /* Halley step on f(x) = Phi(x) - p.  In the upper tail the residual is
   * taken on the complement so 1 - p keeps its digits. */
  double e = p > 0.5 ? (1.0 - p) - 0.5 * erfc(x / sqrt(2.0)) : 0.5 * erfc(-x / sqrt(2.0)) - p;
  double u = e * sqrt(2.0 * M_PI) * exp(0.5 * x * x);
  return x - u / (1.0 + 0.5 * x * u);
}

/* ---- moments ---- */
int qt_overfit_moments_of(const double *r, size_t n, size_t stride, qt_overfit_moments *out,
                          qt_err *err) {
  memset(out, 0, sizeof *out);
  if (n < 2 || stride == 0)
    return qt_err_set(err, QT_EINVAL, "moments: need at least 2 returns and a stride >= 1 "
                                      "(got n %zu, stride %zu)", n, stride);
  double sum = 0;
  for (size_t i = 0; i < n; i++) {
    double v = r[i * stride];
    if (!isfinite(v))
      return qt_err_set(err, QT_EINVAL, "moments: return %zu is not finite (%g)", i, v);
    sum += v;
  }
  double mean = sum / (double)n, m2 = 0, m3 = 0, m4 = 0;
  for (size_t i = 0; i < n; i++) {
    double dv = r[i * stride] - mean, d2 = dv * dv;
    m2 += d2, m3 += d2 * dv, m4 += d2 * d2;
  }
  m2 /= (double)n, m3 /= (double)n, m4 /= (double)n;
  out->n = n;
  out->mean = mean;
  out->sd = sqrt(m2 * (double)n / (double)(n - 1));
  out->sharpe = out->sd > 0 ? mean / out->sd : 0.0;
  out->skew = m2 > 0 ? m3 / pow(m2, 1.5) : 0.0;
  out->kurt = m2 > 0 ? m4 / (m2 * m2) : 3.0;
  return QT_OK;
}

/* ---- PSR, MinTRL, E[max], MinBTL, DSR ---- */
/* 1 - g3 SR + (g4 - 1)/4 SR^2: (n-1) times the variance of the SR estimate. */
static int sr_var_term(const char *what, double sr, double sr_b, double skew, double kurt,
                       double *out, qt_err *err) {
  if (!isfinite(sr) || !isfinite(sr_b) || !isfinite(skew) || !isfinite(kurt))
    return qt_err_set(err, QT_EINVAL, "%s: inputs must be finite (sr %g, benchmark %g, "
                                      "skew %g, kurt %g)", what, sr, sr_b, skew, kurt);
  double v = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr;
  if (!(v > 0))
    return qt_err_set(err, QT_EINVAL, "%s: variance term 1 - skew*sr + (kurt-1)/4*sr^2 = %g "
                                      "is not positive (skew %g, kurt %g: is kurt raw, 3 "
                                      "for a normal?)", what, v, skew, kurt);
  *out = v;
  return QT_OK;
}

int qt_overfit_psr(double sr, double sr_benchmark, double skew, double kurt, size_t n_obs,
                   double *out_psr, qt_err *err) {
  *out_psr = 0;
  if (n_obs < 2)
    return qt_err_set(err, QT_EINVAL, "psr: need at least 2 observations (got %zu)", n_obs);
  double v;
  int rc = sr_var_term("psr", sr, sr_benchmark, skew, kurt, &v, err);
  if (rc) return rc;
  *out_psr = qt_overfit_norm_cdf((sr - sr_benchmark) * sqrt((double)(n_obs - 1)) / sqrt(v));
  return QT_OK;
}

int qt_overfit_min_trl(double sr, double sr_benchmark, double skew, double kurt, double prob,
                       double *out_n_obs, qt_err *err) {
  *out_n_obs = 0;
  if (!(prob > 0 && prob < 1))
    return qt_err_set(err, QT_EINVAL, "min_trl: probability %g is not in (0, 1)", prob);
  double v;
  int rc = sr_var_term("min_trl", sr, sr_benchmark, skew, kurt, &v, err);
  if (rc) return rc;
  if (!(sr > sr_benchmark))
    return qt_err_set(err, QT_EINVAL, "min_trl: sr %g does not exceed the benchmark %g, so "
                                      "no track record length reaches the confidence",
                      sr, sr_benchmark);
  double z = qt_overfit_norm_quantile(prob) / (sr - sr_benchmark);
  *out_n_obs = 1.0 + v * z * z;
  return QT_OK;
}

double qt_overfit_expected_max(size_t n_trials) {
  if (n_trials <= 1) return 0.0;
  double n = (double)n_trials;
  return (1.0 - QT__EULER_GAMMA) * qt_overfit_norm_quantile(1.0 - 1.0 / n) +
         QT__EULER_GAMMA * qt_overfit_norm_quantile(1.0 - 1.0 / (n * M_E));
}

int qt_overfit_min_btl(size_t n_trials, double target_sr_annual, double *out_years,
                       qt_err *err) {
  *out_years = 0;
  if (n_trials < 2)
    return qt_err_set(err, QT_EINVAL, "min_btl: need at least 2 trials (got %zu)", n_trials);
  if (!(target_sr_annual > 0) || !isfinite(target_sr_annual))
    return qt_err_set(err, QT_EINVAL, "min_btl: target annualized Sharpe %g is not positive",
                      target_sr_annual);
  double e = qt_overfit_expected_max(n_trials) / target_sr_annual;
  *out_years = e * e;
  return QT_OK;
}

int qt_overfit_dsr(const qt_overfit_dsr_in *in, qt_overfit_dsr_out *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  if (in->n_trials == 0)
    return qt_err_set(err, QT_EINVAL, "dsr: the number of trials is 0");
  if (!(in->sr_variance >= 0) || !isfinite(in->sr_variance))
    return qt_err_set(err, QT_EINVAL, "dsr: variance of the trials' Sharpe ratios %g is not "
                                      "a finite value >= 0", in->sr_variance);
  double sr0 = sqrt(in->sr_variance) * qt_overfit_expected_max(in->n_trials), psr;
  int rc = qt_overfit_psr(in->sr, sr0, in->skew, in->kurt, in->n_obs, &psr, err);
  if (rc) {
    qt_err_prefix(err, "dsr");
    return rc;
  }
  out->sr0 = sr0;
  out->dsr = psr;
  return QT_OK;
}

int qt_overfit_dsr_matrix(const double *r, size_t n_periods, size_t n_trials,
                          qt_overfit_dsr_out *out, size_t *out_best, qt_err *err) {
  memset(out, 0, sizeof *out);
  if (out_best) *out_best = 0;
  if (n_trials < 2)
    return qt_err_set(err, QT_EINVAL, "dsr: need at least 2 trials (got %zu)", n_trials);
  /* Welford over the trials' Sharpe ratios: no scratch array */
  double mean = 0, m2 = 0;
  qt_overfit_moments best = {0}, m;
  size_t best_i = 0;
  for (size_t n = 0; n < n_trials; n++) {
    int rc = qt_overfit_moments_of(r + n, n_periods, n_trials, &m, err);
    if (rc) {
      qt_err_prefix(err, "dsr: trial %zu", n);
      return rc;
    }
    double dv = m.sharpe - mean;
    mean += dv / (double)(n + 1);
    m2 += dv * (m.sharpe - mean);
    if (n == 0 || m.sharpe > best.sharpe) best = m, best_i = n;
  }
  qt_overfit_dsr_in in = {.sr = best.sharpe, .skew = best.skew, .kurt = best.kurt,
                          .n_obs = n_periods, .n_trials = n_trials,
                          .sr_variance = m2 / (double)(n_trials - 1)};
  int rc = qt_overfit_dsr(&in, out, err);
  if (rc == QT_OK && out_best) *out_best = best_i;
  return rc;
}

/* ---- PBO by CSCV ---- */
qt_pbo_opts qt_pbo_opts_default(void) { return (qt_pbo_opts){.n_blocks = 16}; }

void qt_pbo_result_fini(qt_pbo_result *res) {
  if (!res) return;
  qt_free(res->logits);
  qt_free(res->is_perf);
  qt_free(res->oos_perf);
  memset(res, 0, sizeof *res);
}

/* Sharpe from n values' shifted sum s and sum of squares q (values minus the
 * trial's shift c): mean = c + s/n, var = (q - s^2/n) / (n - 1); 0 when the
 * values are all equal. */
static inline double sharpe_of(double c, double s, double q, double n) {
  double var = (q - s * s / n) / (n - 1.0);
  return var > 0 ? (c + s / n) / sqrt(var) : 0.0;
}

/* A key that orders trials as their Sharpe ratios do, mean |mean| / var
 * (x |x| is strictly increasing), without a square root per trial. */
static inline double sharpe_key(double c, double s, double q, double inv_n, double inv_nm1) {
  double mean = c + s * inv_n, var = (q - s * s * inv_n) * inv_nm1;
  return var > 0 ? mean * fabs(mean) / var : 0.0;
}

static size_t n_choose_k(size_t n, size_t k) {
  size_t v = 1;
  for (size_t i = 1; i <= k; i++) v = v * (n - k + i) / i; /* exact at each step */
  return v;
}

/* Scratch and per-block sums of one PBO run.  sum/sq are block-major
 * ([b * N + n]) so the inner loops run over contiguous trials. */
typedef struct pbo_ctx {
  size_t N, S;
  const double *shift, *sum, *sq, *tot_s, *tot_q, *len; /* len[b]: rows of block b */
  double *is_s, *is_q, *key_j, *key_c;                   /* scratch, N each */
} pbo_ctx;

/* One side of a split: the trial with the best key in sel (lowest index on
 * ties) ranked by rank_by (mid-rank, 1 = worst); w = rank / (N + 1). */
static double pbo_side(const double *sel, const double *rank_by, size_t N, size_t *out_best) {
  size_t best = 0;
  for (size_t n = 1; n < N; n++)
    if (sel[n] > sel[best]) best = n;
  double o = rank_by[best], below = 0, ties = 0;
  for (size_t n = 0; n < N; n++) below += rank_by[n] < o, ties += rank_by[n] == o;
  *out_best = best;
  return (1.0 + below + 0.5 * (ties - 1.0)) / ((double)N + 1.0);
}

/* A split and its complement at once: the IS rows of J are the OOS rows of
 * its complement, so one pass over the trials serves both combinations (J
 * at index k, the complement at n_comb - 1 - k: complementing reverses the
 * increasing order of the masks). */
static void pbo_split(const pbo_ctx *cx, uint32_t mask, double w[2], double is[2], double oos[2]) {
  size_t N = cx->N, first = 1;
  double n_j = 0, *is_s = cx->is_s, *is_q = cx->is_q;
  for (size_t b = 0; b < cx->S; b++) {
    if (!(mask >> b & 1u)) continue;
    const double *s = cx->sum + b * N, *q = cx->sq + b * N;
    if (first) {
      memcpy(is_s, s, N * sizeof(double));
      memcpy(is_q, q, N * sizeof(double));
      first = 0;
    } else {
      for (size_t n = 0; n < N; n++) is_s[n] += s[n], is_q[n] += q[n];
    }
    n_j += cx->len[b];
  }
  double n_c = cx->len[cx->S] - n_j; /* len[S]: total rows */
  double ij = 1.0 / n_j, ij1 = 1.0 / (n_j - 1.0), ic = 1.0 / n_c, ic1 = 1.0 / (n_c - 1.0);
  /* branch-free over the trials, so several divisions are in flight; the
   * selection and the rank are separate cheap passes */
  for (size_t n = 0; n < N; n++) {
    double c = cx->shift[n], s = is_s[n], q = is_q[n];
    cx->key_j[n] = sharpe_key(c, s, q, ij, ij1);
    cx->key_c[n] = sharpe_key(c, cx->tot_s[n] - s, cx->tot_q[n] - q, ic, ic1);
  }
  size_t bj, bc;
  w[0] = pbo_side(cx->key_j, cx->key_c, N, &bj);
  w[1] = pbo_side(cx->key_c, cx->key_j, N, &bc);
  double c = cx->shift[bj], s = is_s[bj], q = is_q[bj];
  is[0] = sharpe_of(c, s, q, n_j);
  oos[0] = sharpe_of(c, cx->tot_s[bj] - s, cx->tot_q[bj] - q, n_c);
  c = cx->shift[bc], s = is_s[bc], q = is_q[bc];
  oos[1] = sharpe_of(c, s, q, n_j);
  is[1] = sharpe_of(c, cx->tot_s[bc] - s, cx->tot_q[bc] - q, n_c);
}

/* Least squares y = a + b x and the share of y < 0 over n pairs. */
static void pbo_degradation(qt_pbo_result *res) {
  size_t n = res->n_combinations;
  double mx = 0, my = 0, sxx = 0, sxy = 0, loss = 0;
  for (size_t i = 0; i < n; i++) mx += res->is_perf[i], my += res->oos_perf[i];
  mx /= (double)n, my /= (double)n;
  for (size_t i = 0; i < n; i++) {
    double dx = res->is_perf[i] - mx;
    sxx += dx * dx, sxy += dx * (res->oos_perf[i] - my);
    loss += res->oos_perf[i] < 0;
  }
  res->slope = sxx > 0 ? sxy / sxx : NAN;
  res->intercept = sxx > 0 ? my - res->slope * mx : NAN;
  res->p_loss = loss / (double)n;
}

int qt_overfit_pbo(const double *r, size_t n_periods, size_t n_trials, const qt_pbo_opts *opts,
                   qt_pbo_result *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  qt_pbo_opts o = opts ? *opts : qt_pbo_opts_default();
  size_t T = n_periods, N = n_trials, S = o.n_blocks;
  double *buf = NULL;
  int rc = QT_OK;
  if (N < 2) {
    rc = qt_err_set(err, QT_EINVAL, "pbo: need at least 2 trials (got %zu)", N);
    goto fail;
  }
  if (S < 2 || S % 2 || S > QT__PBO_MAX_BLOCKS || S > T) {
    rc = qt_err_set(err, QT_EINVAL, "pbo: blocks S = %zu must be even, in 2..%d and at most "
                                    "the %zu periods", S, QT__PBO_MAX_BLOCKS, T);
    goto fail;
  }
  if (T < 4) { /* each half needs 2 rows for a sample SD */
    rc = qt_err_set(err, QT_EINVAL, "pbo: need at least 4 periods (got %zu)", T);
    goto fail;
  }
  for (size_t t = 0; t < T; t++)
    for (size_t n = 0; n < N; n++)
      if (!isfinite(r[t * N + n])) {
        rc = qt_err_set(err, QT_EINVAL, "pbo: return at row %zu, trial %zu is not finite (%g)",
                        t, n, r[t * N + n]);
        goto fail;
      }
  /* One block of scratch: shift, tot_s, tot_q, is_s, is_q, key_j, key_c
   * (N each), sum and sq (S*N each), len (S+1). */
  size_t n_buf = 7 * N + 2 * S * N + S + 1;
  buf = qt_malloc(n_buf * sizeof(double));
  size_t n_comb = n_choose_k(S, S / 2);
  out->logits = qt_malloc(n_comb * sizeof(double));
  out->is_perf = qt_malloc(n_comb * sizeof(double));
  out->oos_perf = qt_malloc(n_comb * sizeof(double));
  if (!buf || !out->logits || !out->is_perf || !out->oos_perf) {
    rc = qt_err_set(err, QT_ENOMEM, "pbo: out of memory for %zu trials x %zu combinations",
                    N, n_comb);
    goto fail;
  }
  double *shift = buf, *tot_s = shift + N, *tot_q = tot_s + N, *sum = tot_q + N,
         *sq = sum + S * N, *len = sq + S * N;
  pbo_ctx cx = {.N = N, .S = S, .shift = shift, .sum = sum, .sq = sq, .tot_s = tot_s,
                .tot_q = tot_q, .len = len, .is_s = len + S + 1};
  cx.is_q = cx.is_s + N, cx.key_j = cx.is_q + N, cx.key_c = cx.key_j + N;
  memset(shift, 0, N * sizeof(double));
  for (size_t t = 0; t < T; t++)
    for (size_t n = 0; n < N; n++) shift[n] += r[t * N + n];
  for (size_t n = 0; n < N; n++) shift[n] /= (double)T;
  memset(sum, 0, 2 * S * N * sizeof(double));
  for (size_t b = 0; b < S; b++) {
    size_t t0 = b * T / S, t1 = (b + 1) * T / S;
    len[b] = (double)(t1 - t0);
    for (size_t t = t0; t < t1; t++)
      for (size_t n = 0; n < N; n++) {
        double v = r[t * N + n] - shift[n];
        sum[b * N + n] += v, sq[b * N + n] += v * v;
      }
  }
  len[S] = (double)T;
  memset(tot_s, 0, 2 * N * sizeof(double));
  for (size_t b = 0; b < S; b++)
    for (size_t n = 0; n < N; n++) tot_s[n] += sum[b * N + n], tot_q[n] += sq[b * N + n];

  /* the first half of the S-bit masks with S/2 bits set, in increasing order
   * (Gosper's hack); each brings its complement from the second half */
  uint32_t mask = (1u << (S / 2)) - 1u;
  size_t overfit = 0;
  for (size_t k = 0; k < n_comb / 2; k++) {
    double w[2], is[2], oos[2];
    size_t at[2] = {k, n_comb - 1 - k};
    pbo_split(&cx, mask, w, is, oos);
    for (int i = 0; i < 2; i++) {
      out->logits[at[i]] = log(w[i] / (1.0 - w[i]));
      out->is_perf[at[i]] = is[i], out->oos_perf[at[i]] = oos[i];
      overfit += out->logits[at[i]] <= 0;
    }
    uint32_t c = mask & -mask, rr = mask + c;
    mask = (((rr ^ mask) >> 2) / c) | rr;
  }
  out->n_combinations = n_comb;
  out->pbo = (double)overfit / (double)n_comb;
  pbo_degradation(out);
  qt_free(buf);
  return QT_OK;
fail:
  qt_free(buf);
  qt_pbo_result_fini(out);
  return rc;
}

/* ---- Reality Check and SPA ---- */
qt_spa_opts qt_spa_opts_default(void) {
  return (qt_spa_opts){.n_boot = 1000, .mean_block = 10.0, .seed = 1};
}

void qt_overfit_stationary_bootstrap(qt_rng *rng, size_t n, double mean_block, size_t *idx) {
  double q = 1.0 / mean_block;
  idx[0] = (size_t)qt_rng_below(rng, n);
  for (size_t t = 1; t < n; t++) {
    if (qt_rng_uniform(rng) < q) idx[t] = (size_t)qt_rng_below(rng, n);
    else idx[t] = idx[t - 1] + 1 == n ? 0 : idx[t - 1] + 1;
  }
}

int qt_overfit_spa(const double *r, size_t n_periods, size_t n_trials, const qt_spa_opts *opts,
                   qt_spa_result *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  qt_spa_opts o = opts ? *opts : qt_spa_opts_default();
  size_t T = n_periods, N = n_trials, B = o.n_boot;
  double *buf = NULL;
  size_t *idx = NULL;
  int rc = QT_OK;
  if (T < 2 || N == 0 || B == 0 || !(o.mean_block >= 1.0) || !isfinite(o.mean_block)) {
    rc = qt_err_set(err, QT_EINVAL, "spa: need T >= 2 periods (got %zu), N >= 1 trials (%zu), "
                                    "B >= 1 resamples (%zu) and a mean block length >= 1 (%g)",
                    T, N, B, o.mean_block);
    goto fail;
  }
  for (size_t t = 0; t < T; t++)
    for (size_t n = 0; n < N; n++)
      if (!isfinite(r[t * N + n])) {
        rc = qt_err_set(err, QT_EINVAL, "spa: return at row %zu, trial %zu is not finite (%g)",
                        t, n, r[t * N + n]);
        goto fail;
      }
  /* mean, g (recentring), w (bootstrap SD), acc (N each) and the B x N
   * bootstrap deviations sqrt(T)(mean* - mean), kept for the second pass that
   * needs w. */
  buf = qt_malloc((4 * N + B * N) * sizeof(double));
  idx = qt_malloc(T * sizeof(size_t));
  if (!buf || !idx) {
    rc = qt_err_set(err, QT_ENOMEM, "spa: out of memory for %zu resamples x %zu trials", B, N);
    goto fail;
  }
  double *mean = buf, *g = mean + N, *w = g + N, *acc = w + N, *dev = acc + N;
  double rt = sqrt((double)T);
  memset(mean, 0, N * sizeof(double));
  for (size_t t = 0; t < T; t++)
    for (size_t n = 0; n < N; n++) mean[n] += r[t * N + n];
  size_t best = 0;
  for (size_t n = 0; n < N; n++) {
    mean[n] /= (double)T;
    if (mean[n] > mean[best]) best = n;
  }
  out->best = best;
  out->rc_stat = rt * mean[best];

  qt_rng rng;
  qt_rng_seed(&rng, o.seed);
  memset(w, 0, N * sizeof(double));
  for (size_t b = 0; b < B; b++) {
    qt_overfit_stationary_bootstrap(&rng, T, o.mean_block, idx);
    memset(acc, 0, N * sizeof(double));
    for (size_t t = 0; t < T; t++) {
      const double *row = r + idx[t] * N;
      for (size_t n = 0; n < N; n++) acc[n] += row[n];
    }
    double *d = dev + b * N;
    for (size_t n = 0; n < N; n++) {
      d[n] = rt * (acc[n] / (double)T - mean[n]);
      w[n] += d[n] * d[n];
    }
  }
  /* Hansen's SPA_c: trials whose t-statistic is below -sqrt(2 ln ln T) are
   * recentred at their (negative) mean, so hopeless trials stop inflating
   * the null distribution. */
  double lnln = log(log((double)T)), thr = lnln > 0 ? sqrt(2.0 * lnln) : 0.0;
  double spa = 0;
  for (size_t n = 0; n < N; n++) {
    w[n] = sqrt(w[n] / (double)B);
    if (w[n] > 0) {
      double tn = rt * mean[n] / w[n];
      if (tn > spa) spa = tn;
      g[n] = tn >= -thr ? 0.0 : rt * mean[n]; /* the bootstrap statistic's offset */
    }
  }
  out->spa_stat = spa;
  size_t hit_rc = 0, hit_spa = 0;
  for (size_t b = 0; b < B; b++) {
    const double *d = dev + b * N;
    double vmax = -INFINITY, smax = 0;
    for (size_t n = 0; n < N; n++) {
      if (d[n] > vmax) vmax = d[n];
      if (w[n] > 0) {
        double z = (d[n] + g[n]) / w[n];
        if (z > smax) smax = z;
      }
    }
    hit_rc += vmax >= out->rc_stat;
    hit_spa += smax >= spa;
  }
  out->rc_p = (double)hit_rc / (double)B;
  out->spa_p = (double)hit_spa / (double)B;
  qt_free(buf);
  qt_free(idx);
  return QT_OK;
fail:
  qt_free(buf);
  qt_free(idx);
  memset(out, 0, sizeof *out);
  return rc;
}
