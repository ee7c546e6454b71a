/* The Tree-structured Parzen Estimator, following Optuna 3.1's TPESampler
 * (its defaults except 8 candidates instead of 24; n_ei_candidates=24 is
 * Optuna's sampler): random for the first n_startup_trials (10), then the finished
 * trials are split into the gamma(n) = min(ceil(0.1 n), 25) best ("below")
 * and the rest ("above"); each group gets a Parzen estimator (truncated
 * normals per observation plus a prior over the whole range; categoricals a
 * smoothed histogram), with Optuna's default weights (a ramp for the oldest
 * above 25) and magic-clipped bandwidths from neighbour distances; 8
 * candidates are drawn from "below" and the one with the largest
 * log l(x) - log g(x) wins.  Univariate by default (each dimension on its own),
 * or multivariate (one product kernel per observation, Scott-like bandwidth).
 *
 * Running trials count as the worst (constant liar), infeasible ones after
 * every feasible one, pruned after complete ones (by their last step, the
 * latest first, then their value there, as Optuna).  The work per proposal is
 * one sort of the values, a radix sort per dimension for the bandwidths and
 * O(trials x dims x candidates) tight loops over a reused scratch block. */
#include "optimize/sampler_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOG_SQRT_2PI 0.91893853320467274178
#define INV_SQRT2 0.70710678118654752440
#define LSE_CUT 40.0 /* terms this far below the max add less than half an ulp */
#define BLK 16        /* components per block of the pruning bounds */
/* Optuna's default is 24.  Fewer candidates make the per-dimension argmax of
 * l/g less greedy, which searched better on our benchmarks (docs/optimizer.md). */
#define QT_TPE_N_EI_DEFAULT 8

typedef struct tpe_self {
  size_t D;
  qt__dimx *dx;
  double *plo, *phi; /* Parzen bounds per dimension (internal units) */
  int n_startup, n_ei, multivariate, liar, magic_clip, endpoints, exact;
  double prior_weight;
  size_t n_active;   /* searched dims (multivariate bandwidth) */
  size_t max_cat;
  qt__prop_rng prng;
  /* scratch, sized for `cap` trials (+1 prior component) */
  size_t cap;
  void *block;
  uint64_t *key;
  int32_t *ord, *tmp, *grp[2];
  uint8_t *cls;
  size_t m[2];          /* group sizes (observations, without the prior) */
  double *logw[2], *cumw[2], *linw[2]; /* log, cumulative, normalized weights */
  double *memo[2];      /* STEP dims: log pdf per grid value, NaN = not yet */
  size_t max_step;      /* largest STEP grid kept in memo */
  double *mu[2], *isg[2], *lc[2], *lb[2]; /* D x (cap+1): components for the pdf */
  double *rmu[2], *rsg[2];                /* D x (cap+1): per observation, for draws */
  size_t *nc[2];                          /* D: components per dim (after merging) */
  double *term, *acc;   /* cap+1; n_ei x (cap+1) for multivariate */
  double *cand, *score; /* n_ei x D; n_ei */
  double *catp[2];      /* max_cat: mixture probability per category */
  double *blo[2], *bhi[2], *bis[2], *bub[2]; /* D x blk_cap: per block min/max mu, min 1/sigma, max bound */
  size_t blk_cap;
  struct mass_slot *mass_memo; /* STEP dims: log_mass by the bits of (a, b), MEMO_N slots */
} tpe_self;

/* ---- normal distribution helpers ---- */

static inline double phi_lower(double z) { return 0.5 * erfc(-z * INV_SQRT2); } /* Phi(z) */
static inline double phi_upper(double z) { return 0.5 * erfc(z * INV_SQRT2); }  /* 1-Phi(z) */

/* log(Phi(b) - Phi(a)), a <= b, accurate in both tails. */
static double log_mass(double a, double b) {
  if (a >= 0) {
    double t = a;
    a = -b;
    b = -t;
  }
  if (b <= 0) return log(phi_lower(b) - phi_lower(a));
  if (a < -9 && b > 9) return 0.0; /* log1p(-x), x < 3e-19: below an ulp of what it is added to */
  return log1p(-(phi_lower(a) + phi_upper(b)));
}

/* log_mass memoized on the bits of (a, b), direct-mapped.  On a grid the
 * same cells recur (the offsets of an observation to a cell are multiples of
 * the step, the bandwidths few), within a proposal and across proposals; a
 * pure function, so an entry never goes stale, and a hit returns the same
 * bits as the call.  Empty slots hold a NaN key and NaN, which is what
 * log_mass gives for those NaN arguments. */
#define MEMO_BITS 11
#define MEMO_N ((size_t)1 << MEMO_BITS)
typedef struct mass_slot {
  uint64_t a, b;
  double v;
} mass_slot;

static inline double log_mass_memo(mass_slot *mm, double a, double b) {
  uint64_t ka, kb;
  memcpy(&ka, &a, sizeof ka);
  memcpy(&kb, &b, sizeof kb);
  mass_slot *e = &mm[((ka * 0x9E3779B97F4A7C15ull) ^ (kb * 0xC2B2AE3D27D4EB4Full)) >> (64 - MEMO_BITS)];
  if (e->a == ka && e->b == kb) return e->v;
  e->a = ka;
  e->b = kb;
  e->v = log_mass(a, b);
  return e->v;
}

/* Inverse of Phi for p in (0, 1): Acklam's rational approximation and one
 * Halley step on erfc, good to a few ulps including the lower tail. */
static double ndtri(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                             -2.759285104469687e+02, 1.383577518672690e+02,
                             -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                             -1.556989798598866e+02, 6.680131188771972e+01,
                             -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                             -2.400758277161838e+00, -2.549732539343734e+00,
                             4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                             2.445134137142996e+00, 3.754408661907416e+00};
  double x;
  if (p <= 0) return -INFINITY;
  if (p >= 1) return INFINITY;
  if (p < 0.02425) {
    double q = sqrt(-2 * log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - 0.02425) {
    double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    double q = sqrt(-2 * log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  double e = phi_lower(x) - p;
  double u = e * 2.5066282746310002 * exp(0.5 * x * x);
  return x - u / (1 + 0.5 * x * u);
}

/* A draw of N(0,1) truncated to [a, b] by inversion with uniform u. */
static double trunc_std(double a, double b, double u) {
  int mirror = a >= 0;
  if (mirror) {
    double t = a;
    a = -b;
    b = -t;
    u = 1 - u;
  }
  double pa = phi_lower(a), z;
  double mass = b <= 0 ? phi_lower(b) - pa : 1 - pa - phi_upper(b);
  if (!(mass > 0)) return mirror ? -a : a;
  double p = pa + u * mass;
  if (p < 0.5) z = ndtri(p);
  else z = -ndtri(phi_upper(b) + (1 - u) * mass); /* 1-p without cancellation */
  if (z < a) z = a;
  if (z > b) z = b;
  return mirror ? -z : z;
}

/* exp(y) for y in [-LSE_CUT, 0] (the terms of a log-sum-exp), two lanes at a
 * time with GCC's vector extensions (an SSE2 register): Cody-Waite reduction
 * and a degree-13 Taylor polynomial (error < 1e-17 relative), plain
 * arithmetic, the same bits on every libm (ISO C mode keeps contraction off).
 * k comes from the bits of y*log2e + shift, which hold it as an integer,
 * instead of a conversion that has no SSE2 form. */
typedef double qt__v2d __attribute__((vector_size(16)));
typedef int64_t qt__v2i __attribute__((vector_size(16)));
static inline qt__v2d exp_neg2(qt__v2d y) {
  const double shift = 0x1.8p52;
  qt__v2d t = y * 1.4426950408889634074 + shift;
  qt__v2d kd = t - shift;
  qt__v2d r = (y - kd * 6.93147180369123816490e-01) - kd * 1.90821492927058770002e-10;
  qt__v2d p = r * (1.0 / 6227020800.0) + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  qt__v2i tb;
  memcpy(&tb, &t, sizeof tb);
  qt__v2i bits = (tb - (int64_t)0x4338000000000000 + 1023) << 52; /* bits of shift */
  qt__v2d scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

static inline double exp_neg(double y) { return exp_neg2((qt__v2d){y, y})[0]; }

/* ---- sorting: stable LSD radix on 64-bit keys (8-bit digits, equal-digit
 * passes skipped), ties keep their order ---- */
static inline uint64_t dkey(double v) {
  uint64_t u;
  v += 0.0; /* -0 -> +0 */
  memcpy(&u, &v, sizeof u);
  return (u >> 63) ? ~u : (u | (UINT64_C(1) << 63));
}

static void insertion_sort(const uint64_t *key, int32_t *idx, size_t n) { /* stable */
  for (size_t i = 1; i < n; i++) {
    int32_t v = idx[i];
    uint64_t kv = key[v];
    size_t j = i;
    while (j > 0 && key[idx[j - 1]] > kv) {
      idx[j] = idx[j - 1];
      j--;
    }
    idx[j] = v;
  }
}

/* Stable LSD passes over bytes [b0, b1) of the keys. */
static void radix_passes(const uint64_t *key, int32_t *idx, int32_t *tmp, size_t n, int b0, int b1) {
  size_t cnt[8][256];
  memset(cnt[b0], 0, (size_t)(b1 - b0) * sizeof cnt[0]);
  for (size_t i = 0; i < n; i++) {
    uint64_t k = key[idx[i]];
    for (int p = b0; p < b1; p++) cnt[p][(k >> (8 * p)) & 255]++;
  }
  int32_t *src = idx, *dst = tmp;
  for (int p = b0; p < b1; p++) {
    size_t *c = cnt[p];
    if (c[(key[src[0]] >> (8 * p)) & 255] == n) continue; /* one digit value: no-op */
    size_t sum = 0;
    for (int v = 0; v < 256; v++) {
      size_t t = c[v];
      c[v] = sum;
      sum += t;
    }
    for (size_t i = 0; i < n; i++) dst[c[(key[src[i]] >> (8 * p)) & 255]++] = src[i];
    int32_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != idx) memcpy(idx, src, n * sizeof *idx);
}

/* Stable sort of idx by key.  The high halves first (sign, exponent and 20
 * mantissa bits: values rarely share them), then each run of equal high
 * halves by its low halves, which is the full stable order in about half the
 * passes. */
static void radix_sort(const uint64_t *key, int32_t *idx, int32_t *tmp, size_t n) {
  if (n < 48) {
    insertion_sort(key, idx, n);
    return;
  }
  radix_passes(key, idx, tmp, n, 4, 8);
  for (size_t i = 0; i < n;) {
    uint64_t h = key[idx[i]] >> 32;
    size_t j = i + 1;
    while (j < n && key[idx[j]] >> 32 == h) j++;
    if (j - i >= 48) radix_passes(key, idx + i, tmp, j - i, 0, 4);
    else if (j - i > 1) insertion_sort(key, idx + i, j - i);
    i = j;
  }
}

/* ---- options ---- */
static int opt_int(const qt_kv *opts, const char *key, int def, int lo, int hi, int *out,
                   qt_err *err) {
  const char *v = qt_kv_get(opts, key);
  int64_t x = def;
  if (v && (qt_parse_i64(v, strlen(v), &x) || x < lo || x > hi))
    return qt_err_set(err, QT_EINVAL, "tpe sampler: option %s=%s: expected %d..%d", key, v, lo, hi);
  *out = (int)x;
  return QT_OK;
}

static void tpe_destroy(void *self) {
  tpe_self *s = self;
  if (!s) return;
  qt_free(s->block);
  qt_free(s->mass_memo);
  qt_free(s->dx);
  qt_free(s->plo);
  qt_free(s->phi);
  qt_free(s);
}

static int tpe_create(const qt_space *sp, uint64_t seed, const qt_kv *opts, void **out_self,
                      qt_err *err) {
  static const char *const known[] = {"n_startup_trials", "n_ei_candidates", "multivariate",
                                      "constant_liar", "consider_magic_clip", "consider_endpoints",
                                      "exact_density", "prior_weight", NULL};
  size_t D = qt_space_n(sp);
  *out_self = NULL;
  int rc = qt__opts_check(opts, "tpe", known, err);
  if (rc) return rc;
  tpe_self *s = qt_calloc(1, sizeof *s);
  if (!s) return qt_err_set(err, QT_ENOMEM, "tpe sampler: out of memory");
  s->D = D;
  s->dx = qt_calloc(D ? D : 1, sizeof *s->dx);
  s->plo = qt_calloc(D ? D : 1, sizeof *s->plo);
  s->phi = qt_calloc(D ? D : 1, sizeof *s->phi);
  if (!s->dx || !s->plo || !s->phi) {
    rc = qt_err_set(err, QT_ENOMEM, "tpe sampler: out of memory");
    goto fail;
  }
  if ((rc = opt_int(opts, "n_startup_trials", 10, 0, 1000000, &s->n_startup, err)) ||
      (rc = opt_int(opts, "n_ei_candidates", QT_TPE_N_EI_DEFAULT, 1, 100000, &s->n_ei, err)) ||
      (rc = opt_int(opts, "multivariate", 0, 0, 1, &s->multivariate, err)) ||
      (rc = opt_int(opts, "constant_liar", 1, 0, 1, &s->liar, err)) ||
      (rc = opt_int(opts, "consider_magic_clip", 1, 0, 1, &s->magic_clip, err)) ||
      (rc = opt_int(opts, "consider_endpoints", 0, 0, 1, &s->endpoints, err)) ||
      (rc = opt_int(opts, "exact_density", 0, 0, 1, &s->exact, err)))
    goto fail;
  s->prior_weight = 1.0;
  const char *pw = qt_kv_get(opts, "prior_weight");
  if (pw && (qt_parse_double(pw, strlen(pw), &s->prior_weight) || !(s->prior_weight > 0) ||
             !isfinite(s->prior_weight))) {
    rc = qt_err_set(err, QT_EINVAL, "tpe sampler: option prior_weight=%s: expected > 0", pw);
    goto fail;
  }
  qt__dimx_fill(sp, s->dx);
  for (size_t k = 0; k < D; k++) {
    const qt__dimx *d = &s->dx[k];
    switch (d->kind) {
    case QT__DIM_STEP:
      s->plo[k] = d->lo - 0.5 * d->q;
      s->phi[k] = d->hi + 0.5 * d->q;
      if (d->n <= 4096 && d->n > s->max_step) s->max_step = d->n;
      break;
    case QT__DIM_LOGINT:
      s->plo[k] = log(qt__logint_low(d));
      s->phi[k] = log(d->uhi + 0.5 * d->q);
      break;
    case QT__DIM_CAT:
      if (d->n > s->max_cat) s->max_cat = d->n;
      s->plo[k] = d->lo;
      s->phi[k] = d->hi;
      break;
    default:
      s->plo[k] = d->lo;
      s->phi[k] = d->hi;
    }
    s->n_active += d->kind != QT__DIM_FIXED;
  }
  for (size_t k = 0; k < D && !s->mass_memo; k++) {
    if (s->dx[k].kind != QT__DIM_STEP) continue;
    if (!(s->mass_memo = qt_malloc(MEMO_N * sizeof *s->mass_memo))) {
      rc = qt_err_set(err, QT_ENOMEM, "tpe sampler: out of memory");
      goto fail;
    }
    for (size_t i = 0; i < MEMO_N; i++) s->mass_memo[i] = (mass_slot){~0ull, ~0ull, NAN};
  }
  s->prng.seed = seed;
  *out_self = s;
  return QT_OK;
fail:
  tpe_destroy(s);
  return rc;
}

/* Makes the scratch block hold n trials; grows geometrically, keeps nothing. */
static int ensure_scratch(tpe_self *s, size_t n) {
  if (n <= s->cap && s->block) return QT_OK;
  size_t cap = s->cap ? s->cap : 64;
  while (cap < n) cap *= 2;
  size_t c1 = cap + 1, D = s->D ? s->D : 1, E = (size_t)s->n_ei;
  size_t acc_n = s->multivariate ? E * c1 : 1;
  size_t bc = c1 / BLK + 2;
  size_t n_dbl = 8 * D * bc + 3 * c1 * 2 + 2 * (s->max_step + 1) + 6 * 2 * D * c1 + 2 * D + c1 + acc_n + E * D + E + 2 * (s->max_cat + 1);
  size_t bytes = n_dbl * sizeof(double) + c1 * sizeof(uint64_t) + 4 * c1 * sizeof(int32_t) + c1;
  void *blk = qt_malloc(bytes);
  if (!blk) return QT_ENOMEM;
  qt_free(s->block);
  s->block = blk;
  s->cap = cap;
  s->blk_cap = bc;
  double *p = blk;
  for (int g = 0; g < 2; g++) {
    s->logw[g] = p; p += c1;
    s->cumw[g] = p; p += c1;
    s->linw[g] = p; p += c1;
    s->memo[g] = p; p += s->max_step + 1;
    s->mu[g] = p; p += D * c1;
    s->isg[g] = p; p += D * c1;
    s->lc[g] = p; p += D * c1;
    s->lb[g] = p; p += D * c1;
    s->rmu[g] = p; p += D * c1;
    s->rsg[g] = p; p += D * c1;
    s->nc[g] = (size_t *)p; p += D;
    s->blo[g] = p; p += D * bc;
    s->bhi[g] = p; p += D * bc;
    s->bis[g] = p; p += D * bc;
    s->bub[g] = p; p += D * bc;
    s->catp[g] = p; p += s->max_cat + 1;
  }
  s->term = p; p += c1;
  s->acc = p; p += acc_n;
  s->cand = p; p += E * D;
  s->score = p; p += E;
  s->key = (uint64_t *)p;
  int32_t *q = (int32_t *)(s->key + c1);
  s->ord = q; q += c1;
  s->tmp = q; q += c1;
  s->grp[0] = q; q += c1;
  s->grp[1] = q; q += c1;
  s->cls = (uint8_t *)q;
  return QT_OK;
}

/* Optuna's default_weights(m) plus the prior weight, normalized: log weights
 * and the cumulative distribution used to pick a component. */
static void group_weights(tpe_self *s, int g, const double *pre) {
  size_t m = s->m[g];
  double *w = s->logw[g], sum = 0;
  for (size_t i = 0; i < m; i++) {
    if (pre) w[i] = pre[s->grp[g][i]]; /* predetermined (MOTPE), by trial */
    else if (m < 25 || i >= m - 25) w[i] = 1.0;
    else { /* linspace(1/m, 1, m-25) */
      size_t num = m - 25;
      w[i] = num == 1 ? 1.0 / (double)m
                      : 1.0 / (double)m + (double)i * (1.0 - 1.0 / (double)m) / (double)(num - 1);
    }
    sum += w[i];
  }
  w[m] = s->prior_weight;
  sum += w[m];
  double c = 0;
  for (size_t i = 0; i <= m; i++) {
    c += w[i];
    s->cumw[g][i] = c;
    s->linw[g][i] = w[i] / sum;
    w[i] = log(w[i] / sum);
  }
}

/* Component picked by uniform u (numpy's choice: first cdf entry above u). */
static size_t pick(const double *cumw, size_t n, double u) {
  double t = u * cumw[n - 1];
  size_t lo = 0, hi = n - 1;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (cumw[mid] > t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/* Fills the estimator of group g on dimension k from the trial values: the
 * per-observation rmu/rsg (draws) and the pdf components mu/isg/lc/lb.  In
 * univariate mode components with equal (mu, sigma) are merged by adding
 * their weights: the mixture is the same, and an int dimension with a
 * thousand observations keeps a few components per value. */
static void build_dim(tpe_self *s, int g, size_t k, const qt_trial_view *done) {
  const qt__dimx *d = &s->dx[k];
  size_t m = s->m[g], c1 = s->cap + 1, n1 = m + 1;
  const int32_t *gi = s->grp[g];
  double *rmu = s->rmu[g] + k * c1, *rsg = s->rsg[g] + k * c1;
  double *mu = s->mu[g] + k * c1, *isg = s->isg[g] + k * c1;
  double *lc = s->lc[g] + k * c1, *lb = s->lb[g] + k * c1;
  const double *lw = s->logw[g];
  for (size_t i = 0; i < m; i++) rmu[i] = done[gi[i]].x[k];
  if (d->kind == QT__DIM_CAT) {
    /* row i: (v + [c == obs_i]) / (C v + 1), v = prior_weight / (m + 1); prior row 1/C */
    double C = (double)d->n, v = s->prior_weight / (double)(m + 1);
    double lden = log(C * v + 1), lhit = log(v + 1) - lden, lmiss = log(v) - lden;
    for (size_t i = 0; i < m; i++) {
      mu[i] = rmu[i];
      lc[i] = lhit;
      lb[i] = lmiss;
    }
    rmu[m] = mu[m] = -1;
    lc[m] = lb[m] = -log(C);
    s->nc[g][k] = n1;
    if (!s->multivariate) { /* mixture probability of each category */
      double *p = s->catp[g], wobs = 0;
      for (size_t c = 0; c < d->n; c++) p[c] = 0;
      for (size_t i = 0; i < m; i++) {
        double w = exp(lw[i]);
        wobs += w;
        size_t c = (size_t)rmu[i];
        if (c < d->n) p[c] += w;
      }
      double wp = exp(lw[m]);
      for (size_t c = 0; c < d->n; c++) p[c] = log((v * wobs + p[c]) / (C * v + 1) + wp / C);
    }
    return;
  }
  double lo = s->plo[k], hi = s->phi[k], range = hi - lo;
  rmu[m] = 0.5 * (lo + hi);
  int32_t *o = s->ord;
  for (size_t i = 0; i < n1; i++) o[i] = (int32_t)i;
  double maxs = range;
  double mins = s->magic_clip ? range / fmin(100.0, 1.0 + (double)n1) : 1e-12;
  size_t nc = 0;
  double *w = s->term; /* merged linear weights */
  /* src[j]: the observation of an unmerged component (its log weight is
   * known), -1 after a merge */
  int32_t *src = s->tmp;
  const double *lin = s->linw[g];
  if (s->multivariate) {
    double m0 = m > 0 ? (double)m : 1.0;
    double s0 = 0.2 * pow(m0, -1.0 / ((double)s->n_active + 4)) * range;
    for (size_t i = 0; i < n1; i++) {
      rsg[i] = i == m ? range : s0 < mins ? mins : s0 > maxs ? maxs : s0;
      mu[i] = rmu[i];
      isg[i] = rsg[i]; /* sigma for now */
      w[i] = lin[i];
      src[i] = (int32_t)i;
    }
    nc = n1;
  } else {
    int counted = 0;
    if (d->kind == QT__DIM_STEP && 2 * d->n + 2 <= s->cap + 1) {
      /* counting sort on half-grid positions (the prior may sit between
       * points); stable, so ties keep history order as the radix sort does */
      size_t nb = 2 * d->n - 1, *cnt = (size_t *)s->key; /* key has cap+1 slots */
      counted = 1;
      for (size_t b = 0; b <= nb; b++) cnt[b] = 0;
      for (size_t i = 0; i < n1 && counted; i++) {
        /* nearest integer for f > -0.5 (round() is a call); the check below
         * rejects anything else */
        double f = 2 * (rmu[i] - d->lo) / d->q, r = (double)(int64_t)(f + 0.5);
        counted = (fabs(f - r) < 1e-9) & (r >= 0) & (r < (double)nb);
        s->tmp[i] = (int32_t)r;
        if (counted) cnt[(size_t)r + 1]++;
      }
      if (counted) {
        for (size_t b = 1; b <= nb; b++) cnt[b] += cnt[b - 1];
        for (size_t i = 0; i < n1; i++) o[cnt[s->tmp[i]]++] = (int32_t)i;
      }
    }
    if (!counted) {
      for (size_t i = 0; i < n1; i++) s->key[i] = dkey(rmu[i]);
      radix_sort(s->key, o, s->tmp, n1);
    }
    /* in sorted order from here: values, neighbour bandwidths, clip (the
     * prior: the whole range), then equal neighbours merge in place */
    size_t jp = 0;
    for (size_t j = 0; j < n1; j++) {
      mu[j] = rmu[o[j]];
      if ((size_t)o[j] == m) jp = j;
    }
    for (size_t j = 0; j < n1; j++) {
      double prev = j ? mu[j - 1] : lo, next = j + 1 < n1 ? mu[j + 1] : hi;
      double a = mu[j] - prev, b = next - mu[j];
      isg[j] = a > b ? a : b;
    }
    if (!s->endpoints && n1 >= 2) {
      isg[0] = mu[1] - mu[0];
      isg[n1 - 1] = mu[n1 - 1] - mu[n1 - 2];
    }
    for (size_t j = 0; j < n1; j++) {
      double v = isg[j];
      v = v < mins ? mins : v;
      isg[j] = v > maxs ? maxs : v;
    }
    isg[jp] = range;
    if (g == 0) /* draws need each observation's own */
      for (size_t j = 0; j < n1; j++) rsg[o[j]] = isg[j];
    /* the open component in registers: a run of merges is a chain of adds,
     * not of stores and reloads */
    double cm = mu[0], cs = isg[0], cw = lin[o[0]];
    int32_t ci = o[0];
    for (size_t j = 1; j < n1; j++) {
      int32_t i = o[j];
      double wi = lin[i], mj = mu[j], sj = isg[j];
      if (cm == mj && cs == sj) {
        cw += wi;
        ci = -1;
        continue;
      }
      mu[nc] = cm;
      isg[nc] = cs;
      w[nc] = cw;
      src[nc++] = ci;
      cm = mj;
      cs = sj;
      cw = wi;
      ci = i;
    }
    mu[nc] = cm;
    isg[nc] = cs;
    w[nc] = cw;
    src[nc++] = ci;
  }
  s->nc[g][k] = nc;
  int step = d->kind == QT__DIM_STEP;
  double lq = step ? log(d->q) - LOG_SQRT_2PI : 0;
  for (size_t j = 0; j < nc; j++) {
    double is = 1.0 / isg[j];
    double za = (lo - mu[j]) * is, zb = (hi - mu[j]) * is;
    double lz = step ? log_mass_memo(s->mass_memo, za, zb) : log_mass(za, zb);
    isg[j] = is;
    /* log(linw[i]) is logw[i] bit for bit: one log per merged component only */
    double lwj = src[j] >= 0 ? lw[src[j]] : log(w[j]);
    if (step) {
      lc[j] = lwj - lz;
      double f = lq + log(is); /* mass <= q/(sigma sqrt(2pi)) * exp(-z_near^2/2), and <= 1 */
      lb[j] = lc[j] + (f < 0 ? f : 0);
    } else {
      /* Optuna 3.1's truncnorm.logpdf leaves out -log(sigma): each kernel
       * then counts with its peak height, not its area.  Kept as the default
       * (it is the baseline, and searches better on our benchmarks);
       * exact_density=1 gives the normalized densities. */
      lc[j] = lwj + (s->exact ? log(is) : 0.0) - lz - LOG_SQRT_2PI;
      lb[j] = lc[j];
    }
  }
  if (s->multivariate) return;
  size_t bc = s->blk_cap;
  double *blo = s->blo[g] + k * bc, *bhi = s->bhi[g] + k * bc;
  double *bis = s->bis[g] + k * bc, *bub = s->bub[g] + k * bc;
  for (size_t b = 0; b * BLK < nc; b++) {
    size_t i0 = b * BLK, i1 = i0 + BLK < nc ? i0 + BLK : nc;
    blo[b] = mu[i0];
    bhi[b] = mu[i1 - 1];
    bis[b] = INFINITY;
    bub[b] = -INFINITY;
    for (size_t i = i0; i < i1; i++) {
      if (isg[i] < bis[b]) bis[b] = isg[i];
      if (lb[i] > bub[b]) bub[b] = lb[i];
    }
  }
}

/* log pdf term of component i of group g, dimension k at x (without the
 * mixture weight for categoricals, with it otherwise: see lc). */
static inline double comp_logpdf(const tpe_self *s, int g, size_t k, size_t i, double x) {
  const qt__dimx *d = &s->dx[k];
  size_t c1 = s->cap + 1, o = k * c1 + i;
  double mu = s->mu[g][o], is = s->isg[g][o];
  if (d->kind == QT__DIM_CAT) return mu < 0 ? s->lc[g][o] : (mu == x ? s->lc[g][o] : s->lb[g][o]);
  if (d->kind == QT__DIM_STEP) {
    double a = x - 0.5 * d->q, b = x + 0.5 * d->q;
    if (a < s->plo[k]) a = s->plo[k];
    if (b > s->phi[k]) b = s->phi[k];
    return s->lc[g][o] + log_mass_memo(s->mass_memo, (a - mu) * is, (b - mu) * is);
  }
  double z = (x - mu) * is;
  return s->lc[g][o] - 0.5 * z * z;
}

/* Online log-sum-exp: adds term t to (mx, sum). */
static inline void lse_add(double *mx, double *sum, double t) {
  if (t > *mx) {
    double y = *mx - t;
    *sum = (y < -LSE_CUT ? 0 : *sum * exp_neg(y)) + 1;
    *mx = t;
  } else if (t >= *mx - LSE_CUT) {
    *sum += exp_neg(t - *mx);
  }
}

/* Adds the components of block b (univariate, sorted by mu) at x. */
static void lse_block(const tpe_self *s, int g, size_t k, size_t b, double x, double *mx,
                      double *sum) {
  const qt__dimx *d = &s->dx[k];
  size_t c1 = s->cap + 1, n1 = s->nc[g][k];
  size_t i0 = b * BLK, i1 = i0 + BLK < n1 ? i0 + BLK : n1;
  const double *mu = s->mu[g] + k * c1, *is = s->isg[g] + k * c1;
  const double *lc = s->lc[g] + k * c1, *lb = s->lb[g] + k * c1;
  if (d->kind == QT__DIM_STEP) {
    /* a cheap upper bound first; the exact mass (two erfc) only where it can matter */
    double h = 0.5 * d->q;
    for (size_t i = i0; i < i1; i++) {
      double dd = fabs(x - mu[i]) - h;
      double zz = dd > 0 ? dd * is[i] : 0;
      if (lb[i] - 0.5 * zz * zz < *mx - LSE_CUT) continue;
      lse_add(mx, sum, comp_logpdf(s, g, k, i, x));
    }
    return;
  }
  /* branch-free over the block so the loops vectorize: terms, their max, then
   * the exps (terms far below the max are clamped, adding < 1e-300) */
  double t[BLK], bm = -INFINITY;
  size_t n = i1 - i0;
  for (size_t i = 0; i < n; i++) {
    double z = (x - mu[i0 + i]) * is[i0 + i];
    t[i] = lc[i0 + i] - 0.5 * z * z;
    bm = t[i] > bm ? t[i] : bm;
  }
  if (bm < *mx - LSE_CUT) return;
  if (bm > *mx) {
    double y = *mx - bm;
    *sum = y < -LSE_CUT ? 0 : *sum * exp_neg(y);
    *mx = bm;
  }
  /* the exps two at a time (a padded last lane), then summed in order */
  double m = *mx, acc = 0, ex[BLK];
  for (size_t i = 0; i < n; i++) {
    double y = t[i] - m;
    t[i] = y < -700 ? -700 : y;
  }
  if (n & 1) t[n] = -700;
  for (size_t i = 0; i < n; i += 2) {
    qt__v2d y, e;
    memcpy(&y, &t[i], sizeof y);
    e = exp_neg2(y);
    memcpy(&ex[i], &e, sizeof e);
  }
  for (size_t i = 0; i < n; i++) acc += ex[i];
  *sum += acc;
}

/* log of the group-g mixture density at x on dimension k (univariate).  The
 * components are sorted by mu in blocks of BLK with a bound per block: the
 * block around x goes first, then every block whose bound can still reach
 * within LSE_CUT of the running maximum. */
static double mix_logpdf(tpe_self *s, int g, size_t k, double x) {
  const qt__dimx *d = &s->dx[k];
  if (d->kind == QT__DIM_CAT) return s->catp[g][(size_t)x];
  size_t n1 = s->nc[g][k], nb = (n1 + BLK - 1) / BLK, bc = s->blk_cap;
  const double *blo = s->blo[g] + k * bc, *bhi = s->bhi[g] + k * bc;
  const double *bis = s->bis[g] + k * bc, *bub = s->bub[g] + k * bc;
  double h = d->kind == QT__DIM_STEP ? 0.5 * d->q : 0;
  size_t lo = 0, hi = nb - 1;
  while (lo < hi) { /* first block whose largest mu >= x */
    size_t mid = (lo + hi) / 2;
    if (bhi[mid] >= x) hi = mid;
    else lo = mid + 1;
  }
  double mx = -INFINITY, sum = 0;
  lse_block(s, g, k, lo, x, &mx, &sum);
  for (size_t b = 0; b < nb; b++) {
    if (b == lo) continue;
    double dd = (x < blo[b] ? blo[b] - x : x > bhi[b] ? x - bhi[b] : 0) - h;
    double zz = dd > 0 ? dd * bis[b] : 0;
    if (bub[b] - 0.5 * zz * zz < mx - LSE_CUT) continue;
    lse_block(s, g, k, b, x, &mx, &sum);
  }
  return mx == -INFINITY ? -INFINITY : mx + log(sum);
}

/* Draws dimension k of a candidate from component i of the below group. */
static double draw(tpe_self *s, size_t k, size_t i, qt_rng *r) {
  const qt__dimx *d = &s->dx[k];
  size_t o = k * (s->cap + 1) + i;
  double u = qt_rng_uniform(r);
  if (d->kind == QT__DIM_CAT) {
    double mu = s->rmu[0][o];
    if (mu < 0) { /* the prior row: uniform */
      size_t c = (size_t)(u * (double)d->n);
      return (double)(c < d->n ? c : d->n - 1);
    }
    double C = (double)d->n, v = s->prior_weight / (double)(s->m[0] + 1), den = C * v + 1;
    double acc = 0;
    for (size_t c = 0; c + 1 < d->n; c++) {
      acc += (v + (mu == (double)c)) / den;
      if (acc >= u) return (double)c;
    }
    return C - 1;
  }
  double lo = s->plo[k], hi = s->phi[k], m = s->rmu[0][o], is = 1.0 / s->rsg[0][o];
  double x = m + trunc_std((lo - m) * is, (hi - m) * is, u) / is;
  if (x < lo) x = lo;
  if (x > hi) x = hi;
  if (d->kind == QT__DIM_STEP) {
    double j = round((x - d->lo) / d->q);
    if (j < 0) j = 0;
    if (j > (double)(d->n - 1)) j = (double)(d->n - 1);
    return d->lo + j * d->q;
  }
  if (d->kind == QT__DIM_LOGINT) {
    double j = round((exp(x) - d->ulo) / d->q);
    if (j < 0) j = 0;
    if (j > (double)(d->n - 1)) j = (double)(d->n - 1);
    return log(d->ulo + j * d->q);
  }
  return x;
}

static int tpe_from_groups(tpe_self *s, const qt_trial_view *done, size_t n_done,
                           const double *w_below, qt_rng *rp, double *out_x);

/* Rank class 1 (seg[0..m), in value order) as Optuna ranks pruned trials:
 * by (-last step, last value), so a trial stopped later ranks before one
 * stopped earlier whatever their values (values at different steps are not
 * comparable: a running total over more bars is larger); the ones without
 * a step (rejected, pruned before any report) after them.  A stable sort by
 * the step keeps the value order within a step.  s->ord is free scratch here. */
static void rank_pruned(tpe_self *s, const qt_trial_view *done, int32_t *seg, size_t m) {
  for (size_t i = 0; i < m; i++) {
    const qt_trial_view *v = &done[seg[i]];
    int deep = v->state == QT_TRIAL_PRUNED && v->has_step;
    /* deeper steps first: the order-reversed biased step */
    s->key[seg[i]] = deep ? UINT64_MAX - ((uint64_t)v->step ^ (UINT64_C(1) << 63)) : UINT64_MAX;
  }
  radix_sort(s->key, seg, s->ord, m);
}

static int tpe_propose(void *self, const qt_trial_view *done, size_t n_done, double *out_x,
                       qt_err *err) {
  tpe_self *s = self;
  size_t D = s->D;
  qt_rng r;
  /* scratch first: a failed propose leaves the sampler as it was */
  if (ensure_scratch(s, n_done)) return qt_err_set(err, QT_ENOMEM, "tpe sampler: out of memory");
  qt__prop_rng_next(&s->prng, n_done, &r);

  /* rank: 0 feasible complete, 1 feasible rejected or pruned, 2 infeasible, 3 running (liar) */
  size_t n = 0, n_real = 0, n_deep = 0;
  for (size_t t = 0; t < n_done; t++) {
    const qt_trial_view *v = &done[t];
    int c;
    if (v->state == QT_TRIAL_COMPLETE) c = v->feasible ? 0 : 2;
    else if (v->state == QT_TRIAL_REJECTED || v->state == QT_TRIAL_PRUNED) c = v->feasible ? 1 : 2;
    else if (v->state == QT_TRIAL_RUNNING && s->liar) c = 3;
    else continue;
    int ok = v->x != NULL;
    for (size_t k = 0; ok && k < D; k++) ok = isfinite(v->x[k]);
    if (!ok) continue;
    double val = c == 3 || isnan(v->value) ? INFINITY : v->value;
    /* a pruned trial by its last intermediate value (NaN: the worst there) */
    int deep = c == 1 && v->state == QT_TRIAL_PRUNED && v->has_step;
    if (deep) val = isnan(v->step_value) ? INFINITY : v->step_value;
    n_deep += deep;
    s->key[t] = dkey(val);
    s->cls[t] = (uint8_t)c;
    s->ord[n++] = (int32_t)t;
    n_real += c != 3;
  }
  if (n_real < (size_t)s->n_startup) {
    for (size_t k = 0; k < D; k++) out_x[k] = qt__dimx_random(&s->dx[k], &r);
    return QT_OK;
  }
  /* one sort of the values, then a stable pass by rank class */
  radix_sort(s->key, s->ord, s->tmp, n);
  size_t cc[5] = {0};
  for (size_t i = 0; i < n; i++) cc[s->cls[s->ord[i]] + 1]++;
  for (int c = 1; c < 5; c++) cc[c] += cc[c - 1];
  for (size_t i = 0; i < n; i++) s->tmp[cc[s->cls[s->ord[i]]]++] = s->ord[i];
  if (n_deep) rank_pruned(s, done, s->tmp + cc[0], cc[1] - cc[0]);
  size_t n_below = (size_t)ceil(0.1 * (double)n_real);
  if (n_below > 25) n_below = 25;
  /* groups in chronological order: mark each ranked trial, then walk the history */
  for (size_t t = 0; t < n_done; t++) s->key[t] = 0;
  for (size_t i = 0; i < n; i++) s->key[s->tmp[i]] = i < n_below ? 1 : 2;
  return tpe_from_groups(s, done, n_done, NULL, &r, out_x);
}

/* The rest of a proposal once s->key[t] marks each trial's group (1 below,
 * 2 above, 0 neither): the estimators, the candidates and the pick. */
static int tpe_from_groups(tpe_self *s, const qt_trial_view *done, size_t n_done,
                           const double *w_below, qt_rng *rp, double *out_x) {
  size_t D = s->D;
  qt_rng r = *rp;
  s->m[0] = s->m[1] = 0;
  for (size_t t = 0; t < n_done; t++) {
    uint64_t g = s->key[t];
    if (g) s->grp[g - 1][s->m[g - 1]++] = (int32_t)t;
  }
  group_weights(s, 0, w_below);
  group_weights(s, 1, NULL);
  for (size_t k = 0; k < D; k++) {
    if (s->dx[k].kind == QT__DIM_FIXED) continue;
    build_dim(s, 0, k, done);
    build_dim(s, 1, k, done);
  }

  size_t E = (size_t)s->n_ei, n1b = s->m[0] + 1;
  if (!s->multivariate) {
    for (size_t k = 0; k < D; k++) {
      if (s->dx[k].kind == QT__DIM_FIXED) {
        out_x[k] = s->dx[k].fixed;
        continue;
      }
      const qt__dimx *d = &s->dx[k];
      int memo = d->kind == QT__DIM_STEP && d->n <= s->max_step;
      if (memo)
        for (size_t j = 0; j < d->n; j++) s->memo[0][j] = NAN;
      double best = -INFINITY, bx = 0;
      for (size_t e = 0; e < E; e++) {
        size_t i = pick(s->cumw[0], n1b, qt_rng_uniform(&r));
        double x = draw(s, k, i, &r), sc;
        if (memo) { /* candidates repeat on a grid: one pdf pair per value */
          size_t j = (size_t)round((x - d->lo) / d->q);
          if (isnan(s->memo[0][j])) s->memo[0][j] = mix_logpdf(s, 0, k, x) - mix_logpdf(s, 1, k, x);
          sc = s->memo[0][j];
        } else {
          sc = mix_logpdf(s, 0, k, x) - mix_logpdf(s, 1, k, x);
        }
        if (e == 0 || sc > best) {
          best = sc;
          bx = x;
        }
      }
      out_x[k] = bx;
    }
    return QT_OK;
  }
  /* multivariate: a component per candidate, all dims drawn from it */
  for (size_t e = 0; e < E; e++) {
    size_t i = pick(s->cumw[0], n1b, qt_rng_uniform(&r));
    for (size_t k = 0; k < D; k++)
      s->cand[e * D + k] = s->dx[k].kind == QT__DIM_FIXED ? s->dx[k].fixed : draw(s, k, i, &r);
  }
  size_t bi = 0;
  for (size_t e = 0; e < E; e++) {
    const double *x = &s->cand[e * D];
    double lg[2];
    for (int g = 0; g < 2; g++) {
      size_t n1 = s->m[g] + 1;
      double *acc = s->acc + e * (s->cap + 1), mx = -INFINITY;
      for (size_t i = 0; i < n1; i++) {
        double a = s->logw[g][i];
        for (size_t k = 0; k < D; k++) {
          const qt__dimx *d = &s->dx[k];
          if (d->kind == QT__DIM_FIXED) continue;
          double v = comp_logpdf(s, g, k, i, x[k]);
          /* numeric lc already holds the weight; take it out once per dim */
          if (d->kind != QT__DIM_CAT) v -= s->logw[g][i];
          a += v;
        }
        acc[i] = a;
        if (a > mx) mx = a;
      }
      double sum = 0;
      for (size_t i = 0; i < n1; i++)
        if (acc[i] >= mx - LSE_CUT) sum += exp_neg(acc[i] - mx);
      lg[g] = mx == -INFINITY ? -INFINITY : mx + log(sum);
    }
    s->score[e] = lg[0] - lg[1];
    if (s->score[e] > s->score[bi]) bi = e;
  }
  memcpy(out_x, &s->cand[bi * D], D * sizeof *out_x);
  return QT_OK;
}

const qt_sampler_vtbl qt_sampler_tpe = {QT_SAMPLER_ABI, "tpe", tpe_create, tpe_propose, NULL,
                                        tpe_destroy, 1};

int qt__tpe_propose_groups(void *self, const qt_trial_view *done, size_t n_done,
                           const unsigned char *group, const double *w_below, qt_rng *r,
                           double *out_x, qt_err *err) {
  tpe_self *s = self;
  if (ensure_scratch(s, n_done)) return qt_err_set(err, QT_ENOMEM, "motpe sampler: out of memory");
  size_t nb = 0;
  for (size_t t = 0; t < n_done; t++) {
    s->key[t] = group[t];
    nb += group[t] == 1;
  }
  if (nb == 0) { /* nothing below: random, as before the startup trials end */
    for (size_t k = 0; k < s->D; k++) out_x[k] = qt__dimx_random(&s->dx[k], r);
    return QT_OK;
  }
  return tpe_from_groups(s, done, n_done, w_below, r, out_x);
}

double qt__tpe_log_density(void *self, int group, size_t k, double x) {
  tpe_self *s = self;
  if (s->multivariate || group < 0 || group > 1 || k >= s->D || !s->block) return NAN;
  if (s->dx[k].kind == QT__DIM_FIXED) return NAN;
  return mix_logpdf(s, group, k, x);
}
