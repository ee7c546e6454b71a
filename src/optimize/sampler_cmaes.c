/* The CMA-ES sampler (Hansen, "The CMA Evolution Strategy: A Tutorial", 2016;
 * the (mu/mu_w, lambda) form with positive recombination weights), with
 * Optuna's options: IPOP restarts (restart_strategy=ipop: when a run meets
 * one of the cmaes library's stopping tests, a new run starts from a random
 * mean with the population times inc_popsize, 2) and the margin for
 * discrete dimensions (with_margin=1, CMAwM: Hamano et al. 2022, as the
 * cmaes library 0.9: the mean and a per-dimension scale are corrected after
 * each update so that each integer or stepped coordinate keeps at least a
 * probability 1 / (dims x lambda) of leaving its current value).  It searches the continuous, integer and stepped dimensions
 * normalized to [0,1] (ints and steps over [lo - q/2, hi + q/2], rounded to
 * the grid; log scales in log space), as Optuna's CmaEsSampler does, and
 * draws categoricals independently at random.  Out-of-box candidates are
 * resampled up to 100 times, then clipped (Optuna's cmaes library repairs
 * the same way).
 *
 * No state lives outside the history: generation g's lambda candidates are a
 * pure function of the seed and the distribution after generation g-1, so a
 * proposal replays the generations, matching each candidate to the earliest
 * unclaimed trial of the history with the same searched params.  A generation
 * is complete once all its lambda candidates are finished (told in any order;
 * a failed or pruned one ranks last, an infeasible one after the feasible).
 * Until then the sampler proposes the candidates not yet asked, then, while
 * some are still running, extra samples of the current distribution that do
 * not enter the update.  Completed generations are cached, keyed by the
 * numbers, states and values of their trials, so a long study replays only
 * the comparison. */
#include "optimize/sampler_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CMA_RESAMPLE 100
#define CMA_LAM_MAX 512 /* the largest population (IPOP doubles up to it) */
#define CMA_RUNS_MAX 8  /* runs of a study: the first and 7 restarts */

/* The strategy parameters of one run (a population size). */
typedef struct cma_par {
  size_t lam, mu;
  double w[CMA_LAM_MAX], mueff, cs, ds, cc, c1, cmu;
} cma_par;

typedef struct cma_gen {
  double sigma;
  size_t run, rgen, lam;           /* its run, its number in the run, the population */
  double fbest, fworst;            /* once complete: its best and worst value (NaN: none) */
  double *m, *C, *B, *D, *ps, *pc; /* the distribution this generation samples */
  double *A;                       /* nc: the margin's scale of discrete coordinates (1) */
  double *y;                       /* lam x nc: normalized candidates (repaired) */
  double *x;                       /* lam x n: the candidates in internal form */
  double *fp;                      /* lam x 3: number, state, value of its trials */
  int complete;                    /* fp is set */
  long *cl;                        /* lam: once complete, the history index of each candidate */
  double blk[];
} cma_gen;

typedef struct cma_self {
  size_t n, nc, lam; /* lam: the first run's population */
  size_t *ci; /* nc: the space dimension of each searched coordinate */
  double chin, sigma0, inc_popsize;
  int ipop, margin;
  cma_par par[CMA_RUNS_MAX];
  uint64_t seed;
  qt__prop_rng prng;
  cma_gen **gens;
  size_t n_gens, cap_gens;
  /* the history's searched params as seen last time (hn rows of nc), with
   * the trial numbers, and their order by params: kept across proposals so
   * that an appended history costs a comparison and an insertion */
  double *hkey;
  int64_t *hnum;
  const double **hx; /* the params pointer of each row as last seen */
  size_t *hord, hn, hcap;
  qt__dimx dx[];
} cma_self;

/* ---- the math: Jacobi eigen solver, sampling, update ---- */

/* Eigen decomposition of the symmetric n x n matrix A (destroyed): A = V
 * diag(w) V^T with the eigenvectors in V's columns (cyclic Jacobi rotations). */
static void jacobi_eigen(size_t n, double *A, double *V, double *w) {
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) V[i * n + j] = i == j;
  for (int sweep = 0; sweep < 100; sweep++) {
    double off = 0, tot = 0;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++) {
        tot += A[i * n + j] * A[i * n + j];
        if (i != j) off += A[i * n + j] * A[i * n + j];
      }
    if (off <= 1e-30 * tot || off == 0) break;
    for (size_t p = 0; p + 1 < n; p++)
      for (size_t q = p + 1; q < n; q++) {
        double apq = A[p * n + q];
        if (apq == 0) continue;
        double theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
        double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
        double c = 1 / sqrt(t * t + 1), s = t * c;
        for (size_t k = 0; k < n; k++) { /* A <- J^T A J */
          double akp = A[k * n + p], akq = A[k * n + q];
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (size_t k = 0; k < n; k++) {
          double apk = A[p * n + k], aqk = A[q * n + k];
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (size_t k = 0; k < n; k++) {
          double vkp = V[k * n + p], vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  for (size_t i = 0; i < n; i++) w[i] = A[i * n + i];
}

/* A normalized coordinate t in [0,1] as the internal value of dimension dx. */
static double cma_internal(const qt__dimx *dx, double t) {
  switch (dx->kind) {
  case QT__DIM_CONT: {
    double v = dx->lo + (dx->hi - dx->lo) * t;
    return v < dx->lo ? dx->lo : v > dx->hi ? dx->hi : v;
  }
  case QT__DIM_STEP: {
    double k = round(-0.5 + t * (double)dx->n);
    if (k < 0) k = 0;
    if (k > (double)(dx->n - 1)) k = (double)(dx->n - 1);
    return dx->lo + dx->q * k;
  }
  case QT__DIM_LOGINT: {
    double a = log(qt__logint_low(dx)), b = log(dx->uhi + 0.5 * dx->q);
    double k = round((exp(a + (b - a) * t) - dx->ulo) / dx->q);
    if (k < 0) k = 0;
    if (k > (double)(dx->n - 1)) k = (double)(dx->n - 1);
    return log(dx->ulo + k * dx->q);
  }
  default: return dx->fixed;
  }
}

/* One sample of gen's distribution from r: y (normalized, nc) and x
 * (internal, n), categoricals drawn uniformly from r. */
/* 1 when searched coordinate j is integer or stepped (the margin's). */
static int is_discrete(const cma_self *s, size_t j) {
  return s->margin && s->dx[s->ci[j]].kind != QT__DIM_CONT;
}

static void cma_sample(const cma_self *s, const cma_gen *g, qt_rng *r, double *y, double *x) {
  size_t nc = s->nc;
  double z[64], bz[64];
  int inside = 0;
  for (int a = 0; a < CMA_RESAMPLE && !inside; a++) {
    for (size_t k = 0; k < nc; k++) z[k] = g->D[k] * qt_rng_normal(r);
    inside = 1;
    for (size_t i = 0; i < nc; i++) {
      bz[i] = 0;
      for (size_t k = 0; k < nc; k++) bz[i] += g->B[i * nc + k] * z[k];
      y[i] = g->m[i] + g->sigma * bz[i];
      /* with the margin a discrete coordinate is encoded, never out of its box */
      if (!is_discrete(s, i)) inside &= y[i] >= 0 && y[i] <= 1;
    }
  }
  for (size_t i = 0; i < nc; i++)
    if (!is_discrete(s, i)) y[i] = y[i] < 0 ? 0 : y[i] > 1 ? 1 : y[i]; /* clip */
  size_t j = 0;
  for (size_t k = 0; k < s->n; k++) {
    const qt__dimx *dx = &s->dx[k];
    if (j < nc && s->ci[j] == k) {
      /* CMAwM's encoding: m + A (y - m), then the grid value of its cell */
      double t = is_discrete(s, j) ? g->m[j] + g->A[j] * (y[j] - g->m[j]) : y[j];
      x[k] = cma_internal(dx, t);
      j++;
    }
    else if (dx->kind == QT__DIM_CAT) x[k] = (double)qt_rng_below(r, dx->n);
    else x[k] = dx->fixed;
  }
}

static cma_gen *gen_alloc(const cma_self *s, size_t lam) {
  size_t nc = s->nc;
  size_t nd = 5 * nc + 2 * nc * nc + lam * nc + lam * s->n + 3 * lam;
  cma_gen *g = qt_calloc(1, sizeof *g + nd * sizeof(double) + lam * sizeof(long));
  if (!g) return NULL;
  g->cl = (long *)(g->blk + nd);
  double *p = g->blk;
  g->m = p, p += nc;
  g->ps = p, p += nc;
  g->pc = p, p += nc;
  g->D = p, p += nc;
  g->A = p, p += nc;
  g->C = p, p += nc * nc;
  g->B = p, p += nc * nc;
  g->y = p, p += lam * nc;
  g->x = p, p += lam * s->n;
  g->fp = p;
  g->lam = lam;
  for (size_t k = 0; k < nc; k++) g->A[k] = 1;
  return g;
}

/* Draws generation gi's lam candidates (its distribution already set). */
static void gen_candidates(const cma_self *s, cma_gen *g, size_t gi) {
  for (size_t i = 0; i < g->lam; i++) {
    qt_rng r;
    qt_rng_stream(&r, s->seed ^ 0x636d61657355ull, ((uint64_t)gi << 20) | i);
    cma_sample(s, g, &r, g->y + i * s->nc, g->x + i * s->n);
  }
}

typedef struct cma_rank {
  int cls;
  double v;
  size_t i;
} cma_rank;

static int rank_before(const cma_rank *a, const cma_rank *b) {
  if (a->cls != b->cls) return a->cls < b->cls;
  if (a->v != b->v) return a->v < b->v;
  return a->i < b->i;
}

/* Standard normal cdf and its inverse (Acklam's rational start, then two
 * Newton steps on erfc: well below 1e-12 over (1e-300, 1)). */
static double norm_cdf(double z) { return 0.5 * erfc(-z / sqrt(2.0)); }

static double norm_ppf(double p) {
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
  double q, x;
  if (p < 0.02425) {
    q = sqrt(-2 * log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - 0.02425) {
    q = sqrt(-2 * log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    q = p - 0.5;
    double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  for (int it = 0; it < 2; it++) { /* Newton on Phi(x) = p */
    double e = norm_cdf(x) - p, dens = exp(-0.5 * x * x) / sqrt(2 * M_PI);
    if (dens > 0) x -= e / dens;
  }
  return x;
}

/* Threshold t (0..n-2) of discrete coordinate j in the normalized space:
 * where cma_internal moves from grid value t to t + 1. */
static double threshold(const cma_self *s, size_t j, size_t t) {
  const qt__dimx *dx = &s->dx[s->ci[j]];
  if (dx->kind == QT__DIM_LOGINT) {
    double a = log(qt__logint_low(dx)), b = log(dx->uhi + 0.5 * dx->q);
    return (log(dx->ulo + ((double)t + 0.5) * dx->q) - a) / (b - a);
  }
  return ((double)t + 1) / (double)dx->n;
}

/* CMAwM's margin correction of ng (the cmaes library 0.9, CMAwM.tell). */
static void apply_margin(const cma_self *s, cma_gen *ng) {
  double alpha = 1.0 / ((double)s->nc * (double)ng->lam);
  for (size_t j = 0; j < s->nc; j++) {
    if (!is_discrete(s, j)) continue;
    size_t n = s->dx[s->ci[j]].n, p = 0;
    double m = ng->m[j];
    while (p + 1 < n && threshold(s, j, p) < m) p++; /* thresholds below m */
    double lo = threshold(s, j, p ? p - 1 : 0), up = threshold(s, j, p < n - 1 ? p : n - 2);
    double cjj = sqrt(ng->C[j * s->nc + j]), scale = ng->sigma * ng->A[j] * cjj;
    double low_cdf = norm_cdf((lo - m) / scale), up_cdf = 1 - norm_cdf((up - m) / scale);
    double mid_cdf = 1 - (low_cdf + up_cdf);
    if (fmax(low_cdf, up_cdf) > 0.5) { /* beyond the outermost threshold */
      if (fmin(low_cdf, up_cdf) < alpha) {
        double dist = scale * norm_ppf(1 - alpha); /* sqrt(chi2_1 ppf(1 - 2 alpha)) */
        ng->m[j] = up + (m > up ? 1.0 : m < up ? -1.0 : 0.0) * dist;
      }
      continue;
    }
    low_cdf = fmax(low_cdf, alpha / 2);
    up_cdf = fmax(up_cdf, alpha / 2);
    double den = low_cdf + mid_cdf + up_cdf - 1.5 * alpha, rest = 1 - low_cdf - up_cdf - mid_cdf;
    double ml = low_cdf + rest * (low_cdf - alpha / 2) / den;
    double mu = up_cdf + rest * (up_cdf - alpha / 2) / den;
    ml = fmin(fmax(ml, 1e-10), 0.5 - 1e-10);
    mu = fmin(fmax(mu, 1e-10), 0.5 - 1e-10);
    double chl = norm_ppf(1 - ml), chu = norm_ppf(1 - mu);
    ng->A[j] = (up - lo) / ((chl + chu) * ng->sigma * cjj);
    ng->m[j] = (lo * chu + up * chl) / (chl + chu);
  }
}

/* The distribution after generation g (fp set) into ng (Hansen 2016, eqs.
 * 39-47 with positive weights; tutorial's h_sigma and delta(h_sigma)), in
 * g's run; g's best and worst values are kept for the stopping tests. */
static void gen_update(const cma_self *s, cma_gen *g, cma_gen *ng) {
  const cma_par *P = &s->par[g->run];
  size_t nc = s->nc, lam = g->lam;
  cma_rank rk[CMA_LAM_MAX];
  for (size_t i = 0; i < lam; i++) {
    int code = (int)g->fp[3 * i + 1], feasible = code >= 0; /* see cma_propose */
    int st = feasible ? code : -code - 1;
    double v = g->fp[3 * i + 2];
    int ok = st == QT_TRIAL_COMPLETE && isfinite(v);
    rk[i] = (cma_rank){ok ? !feasible : 2, ok ? v : 0, i};
  }
  for (size_t i = 1; i < lam; i++) /* insertion sort: small and stable */
    for (size_t j = i; j > 0 && rank_before(&rk[j], &rk[j - 1]); j--) {
      cma_rank t = rk[j];
      rk[j] = rk[j - 1];
      rk[j - 1] = t;
    }
  g->fbest = rk[0].cls == 0 ? rk[0].v : NAN;
  g->fworst = rk[lam - 1].cls == 0 ? rk[lam - 1].v : NAN;
  ng->run = g->run;
  ng->rgen = g->rgen + 1;
  memcpy(ng->A, g->A, nc * sizeof *ng->A);
  double yw[64] = {0}, cy[64], t[64];
  for (size_t k = 0; k < nc; k++) {
    double mk = 0;
    for (size_t i = 0; i < P->mu; i++) mk += P->w[i] * g->y[rk[i].i * nc + k];
    ng->m[k] = mk;
    yw[k] = (mk - g->m[k]) / g->sigma;
  }
  /* C^-1/2 y_w = B D^-1 B^T y_w */
  for (size_t k = 0; k < nc; k++) {
    t[k] = 0;
    for (size_t i = 0; i < nc; i++) t[k] += g->B[i * nc + k] * yw[i];
    t[k] /= g->D[k];
  }
  double nps = 0, a = sqrt(P->cs * (2 - P->cs) * P->mueff);
  for (size_t i = 0; i < nc; i++) {
    cy[i] = 0;
    for (size_t k = 0; k < nc; k++) cy[i] += g->B[i * nc + k] * t[k];
    ng->ps[i] = (1 - P->cs) * g->ps[i] + a * cy[i];
    nps += ng->ps[i] * ng->ps[i];
  }
  nps = sqrt(nps);
  double den = sqrt(1 - pow(1 - P->cs, 2.0 * (double)(g->rgen + 1)));
  int hs = nps / den < (1.4 + 2.0 / ((double)nc + 1)) * s->chin;
  double b = sqrt(P->cc * (2 - P->cc) * P->mueff);
  for (size_t i = 0; i < nc; i++) ng->pc[i] = (1 - P->cc) * g->pc[i] + (hs ? b * yw[i] : 0);
  double dh = (1 - hs) * P->cc * (2 - P->cc);
  for (size_t i = 0; i < nc; i++)
    for (size_t j = 0; j <= i; j++) {
      double rmu = 0;
      for (size_t r = 0; r < P->mu; r++) {
        const double *yr = g->y + rk[r].i * nc;
        rmu += P->w[r] * (yr[i] - g->m[i]) * (yr[j] - g->m[j]);
      }
      rmu /= g->sigma * g->sigma;
      double c = (1 - P->c1 - P->cmu) * g->C[i * nc + j] +
                 P->c1 * (ng->pc[i] * ng->pc[j] + dh * g->C[i * nc + j]) + P->cmu * rmu;
      ng->C[i * nc + j] = ng->C[j * nc + i] = c;
    }
  ng->sigma = g->sigma * exp((P->cs / P->ds) * (nps / s->chin - 1));
  if (!(ng->sigma < 1e3)) ng->sigma = 1e3; /* NaN or a runaway step: bounded */
  if (ng->sigma < 1e-300) ng->sigma = 1e-300;
  double A[64 * 64];
  memcpy(A, ng->C, nc * nc * sizeof *A);
  jacobi_eigen(nc, A, ng->B, ng->D);
  for (size_t k = 0; k < nc; k++) ng->D[k] = sqrt(ng->D[k] > 1e-30 ? ng->D[k] : 1e-30);
  if (s->margin) apply_margin(s, ng);
}

/* The cmaes library's should_stop() for the run of ng, the distribution
 * after generation gi: flat best and worst values over the last 10 +
 * ceil(30 n / lambda) generations, a step below 1e-12 sigma0 in every
 * coordinate, a divergent step, no effect of a coordinate or an axis on the
 * mean, or a covariance condition number above 1e14. */
static int should_stop(const cma_self *s, size_t gi, const cma_gen *ng) {
  size_t nc = s->nc, G = ng->rgen; /* generations told in this run */
  size_t term = 10 + (size_t)ceil(30.0 * (double)nc / (double)ng->lam);
  if (G > term && gi + 1 >= term) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t k = gi + 1 - term; k <= gi; k++) {
      const cma_gen *h = s->gens[k];
      lo = fmin(lo, fmin(h->fbest, h->fworst));
      hi = fmax(hi, fmax(h->fbest, h->fworst));
      if (isnan(h->fbest) || isnan(h->fworst)) hi = INFINITY;
    }
    if (hi - lo < 1e-12) return 1;
  }
  double tolx = 1e-12 * s->sigma0, dmax = 0, dmin = INFINITY;
  int small = 1, no_coord = 0, no_axis = 1;
  size_t ax = G % nc;
  for (size_t i = 0; i < nc; i++) {
    double dc = sqrt(ng->C[i * nc + i]);
    small &= ng->sigma * dc < tolx && ng->sigma * fabs(ng->pc[i]) < tolx;
    no_coord |= ng->m[i] == ng->m[i] + 0.2 * ng->sigma * dc;
    no_axis &= ng->m[i] == ng->m[i] + 0.1 * ng->sigma * ng->D[ax] * ng->B[i * nc + ax];
    dmax = fmax(dmax, ng->D[i]);
    dmin = fmin(dmin, ng->D[i]);
  }
  return small || ng->sigma * dmax > 1e4 || no_coord || no_axis || dmax / dmin > 1e14;
}

/* A run's first distribution: mean m0 (NULL: the box's center), sigma0, C = I. */
static void gen_start(const cma_self *s, cma_gen *g, size_t run, const double *m0) {
  g->sigma = s->sigma0;
  g->run = run;
  g->rgen = 0;
  memset(g->C, 0, s->nc * s->nc * sizeof *g->C);
  memset(g->B, 0, s->nc * s->nc * sizeof *g->B);
  for (size_t k = 0; k < s->nc; k++) {
    g->m[k] = m0 ? m0[k] : 0.5; /* the center, as Optuna without x0 */
    g->C[k * s->nc + k] = g->B[k * s->nc + k] = g->D[k] = 1;
    g->ps[k] = g->pc[k] = 0;
    g->A[k] = 1;
  }
}

/* ---- create / propose ---- */

static int cma_create(const qt_space *sp, uint64_t seed, const qt_kv *opts, void **out_self,
                      qt_err *err) {
  static const char *const known[] = {"sigma0", "popsize", "restart_strategy", "inc_popsize",
                                      "with_margin", NULL};
  size_t n = qt_space_n(sp);
  *out_self = NULL;
  int rc = qt__opts_check(opts, "cmaes", known, err);
  if (rc) return rc;
  cma_self *s = qt_calloc(1, sizeof *s + n * sizeof s->dx[0]);
  if (!s) return qt_err_set(err, QT_ENOMEM, "cmaes sampler: out of memory");
  s->n = n;
  s->seed = seed;
  s->prng.seed = seed;
  qt__dimx_fill(sp, s->dx);
  s->ci = qt_calloc(n ? n : 1, sizeof *s->ci);
  if (!s->ci) {
    rc = qt_err_set(err, QT_ENOMEM, "cmaes sampler: out of memory");
    goto fail;
  }
  for (size_t k = 0; k < n; k++)
    if (s->dx[k].kind == QT__DIM_CONT || s->dx[k].kind == QT__DIM_STEP ||
        s->dx[k].kind == QT__DIM_LOGINT)
      s->ci[s->nc++] = k;
  if (s->nc > 64) {
    rc = qt_err_set(err, QT_EINVAL, "cmaes sampler: %zu searched dimensions, at most 64", s->nc);
    goto fail;
  }
  double nd = s->nc ? (double)s->nc : 1;
  s->lam = 4 + (size_t)floor(3 * log(nd));
  s->sigma0 = 1.0 / 6; /* Optuna: a sixth of the (normalized) range */
  const char *v = qt_kv_get(opts, "popsize");
  if (v) {
    char *end;
    long p = strtol(v, &end, 10);
    if (*end || p < 2 || p > CMA_LAM_MAX) {
      rc = qt_err_set(err, QT_EINVAL, "cmaes sampler: option popsize=%s: expected 2..%d", v,
                      CMA_LAM_MAX);
      goto fail;
    }
    s->lam = (size_t)p;
  }
  if ((v = qt_kv_get(opts, "sigma0"))) {
    char *end;
    double x = strtod(v, &end);
    if (*end || !(x > 0 && x <= 1)) {
      rc = qt_err_set(err, QT_EINVAL,
                      "cmaes sampler: option sigma0=%s: expected 0 < sigma0 <= 1 (normalized)", v);
      goto fail;
    }
    s->sigma0 = x;
  }
  s->inc_popsize = 2;
  if ((v = qt_kv_get(opts, "restart_strategy"))) {
    if (strcmp(v, "ipop") && strcmp(v, "none")) {
      rc = qt_err_set(err, QT_EINVAL,
                      "cmaes sampler: option restart_strategy=%s: expected ipop or none", v);
      goto fail;
    }
    s->ipop = !strcmp(v, "ipop");
  }
  if ((v = qt_kv_get(opts, "inc_popsize"))) {
    char *end;
    long p = strtol(v, &end, 10);
    if (*end || p < 1 || p > 16) {
      rc = qt_err_set(err, QT_EINVAL, "cmaes sampler: option inc_popsize=%s: expected 1..16", v);
      goto fail;
    }
    s->inc_popsize = (double)p;
  }
  if ((v = qt_kv_get(opts, "with_margin"))) {
    if (strcmp(v, "0") && strcmp(v, "1")) {
      rc = qt_err_set(err, QT_EINVAL, "cmaes sampler: option with_margin=%s: expected 0 or 1", v);
      goto fail;
    }
    s->margin = !strcmp(v, "1");
  }
  /* every run's population and strategy parameters, known up front */
  for (size_t r = 0; r < CMA_RUNS_MAX; r++) {
    cma_par *P = &s->par[r];
    double l = (double)s->lam * pow(s->inc_popsize, (double)r);
    P->lam = l > CMA_LAM_MAX ? CMA_LAM_MAX : (size_t)l;
    P->mu = P->lam / 2;
    double sw = 0, sw2 = 0;
    for (size_t i = 0; i < P->mu; i++) {
      P->w[i] = log(((double)P->lam + 1) / 2) - log((double)i + 1);
      sw += P->w[i];
    }
    for (size_t i = 0; i < P->mu; i++) {
      P->w[i] /= sw;
      sw2 += P->w[i] * P->w[i];
    }
    P->mueff = 1 / sw2;
    P->cs = (P->mueff + 2) / (nd + P->mueff + 5);
    P->ds = 1 + 2 * fmax(0, sqrt((P->mueff - 1) / (nd + 1)) - 1) + P->cs;
    P->cc = (4 + P->mueff / nd) / (nd + 4 + 2 * P->mueff / nd);
    P->c1 = 2 / ((nd + 1.3) * (nd + 1.3) + P->mueff);
    P->cmu = fmin(1 - P->c1, 2 * (P->mueff - 2 + 1 / P->mueff) / ((nd + 2) * (nd + 2) + P->mueff));
  }
  s->chin = sqrt(nd) * (1 - 1 / (4 * nd) + 1 / (21 * nd * nd));
  *out_self = s;
  return QT_OK;
fail:
  qt_free(s->ci);
  qt_free(s);
  return rc;
}

static void cma_destroy(void *self) {
  cma_self *s = self;
  if (!s) return;
  for (size_t g = 0; g < s->n_gens; g++) qt_free(s->gens[g]);
  qt_free(s->gens);
  qt_free(s->hkey);
  qt_free(s->hnum);
  qt_free(s->hord);
  qt_free(s->hx);
  qt_free(s->ci);
  qt_free(s);
}

/* Lexicographic order of two keys (searched params, nc each).  Exact: the
 * keys are already quantized, so the order is transitive and a claim finds
 * the same rows whenever it is made. */
static int cmp_keys(const cma_self *s, const double *a, const double *b) {
  for (size_t j = 0; j < s->nc; j++) {
    if (a[j] < b[j]) return -1;
    if (a[j] > b[j]) return 1;
  }
  return 0;
}

/* The key of params x: each searched value in steps of 1e-9 of its range
 * (a resumed study's params went through JSON, log scales through exp and
 * log), HUGE_VAL for no params. */
static void key_of(const cma_self *s, const double *x, double *key) {
  for (size_t j = 0; j < s->nc; j++) {
    const qt__dimx *dx = &s->dx[s->ci[j]];
    double tol = 1e-9 * (1 + fabs(dx->hi - dx->lo));
    key[j] = x ? floor((x[s->ci[j]] - dx->lo) / tol + 0.5) : HUGE_VAL;
  }
}

/* Brings the key cache up to the history: keeps the prefix that is unchanged
 * (same numbers and params), then inserts the rest in order. */
static int sync_history(cma_self *s, const qt_trial_view *h, size_t n, size_t *out_same) {
  size_t nc = s->nc, p = 0;
  double key[64];
  /* a row with the number and the params pointer of last time is the same
   * row (a trial's params never change once claimed: the study keeps them
   * in place); a new pointer has its params compared */
  while (p < s->hn && p < n && s->hnum[p] == h[p].number) {
    if (h[p].x != s->hx[p]) {
      key_of(s, h[p].x, key);
      if (memcmp(key, s->hkey + p * nc, nc * sizeof *key)) break;
      s->hx[p] = h[p].x;
    }
    p++;
  }
  *out_same = p; /* rows [0, p) are as the last proposal saw them */
  if (p < s->hn) { /* another history: drop the rows past the common prefix */
    size_t k = 0;
    for (size_t i = 0; i < s->hn; i++)
      if (s->hord[i] < p) s->hord[k++] = s->hord[i];
    s->hn = p;
  }
  if (n > s->hcap) {
    size_t cap = n > 2 * s->hcap ? n : 2 * s->hcap;
    double *nk = qt_realloc(s->hkey, cap * nc * sizeof *nk);
    if (!nk) return QT_ENOMEM;
    s->hkey = nk;
    int64_t *nn = qt_realloc(s->hnum, cap * sizeof *nn);
    if (!nn) return QT_ENOMEM;
    s->hnum = nn;
    size_t *no = qt_realloc(s->hord, cap * sizeof *no);
    if (!no) return QT_ENOMEM;
    s->hord = no;
    const double **nx = qt_realloc(s->hx, cap * sizeof *nx);
    if (!nx) return QT_ENOMEM;
    s->hx = nx;
    s->hcap = cap;
  }
  for (size_t i = s->hn; i < n; i++) {
    double *k = s->hkey + i * nc;
    key_of(s, h[i].x, k);
    s->hnum[i] = h[i].number;
    s->hx[i] = h[i].x;
    size_t lo = 0, hi = i; /* after the equal ones */
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (cmp_keys(s, s->hkey + s->hord[mid] * nc, k) <= 0) lo = mid + 1;
      else hi = mid;
    }
    memmove(s->hord + lo + 1, s->hord + lo, (i - lo) * sizeof *s->hord);
    s->hord[lo] = i;
    s->hn = i + 1;
  }
  return QT_OK;
}

/* The earliest unclaimed history entry with params x, claimed; -1 if none. */
static long claim(const cma_self *s, unsigned char *used, const double *x) {
  double key[64];
  size_t lo = 0, hi = s->hn, nc = s->nc;
  key_of(s, x, key);
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (cmp_keys(s, s->hkey + s->hord[mid] * nc, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  long best = -1;
  for (size_t p = lo; p < s->hn && cmp_keys(s, s->hkey + s->hord[p] * nc, key) == 0; p++)
    if (!used[s->hord[p]] && (best < 0 || s->hord[p] < (size_t)best)) best = (long)s->hord[p];
  if (best >= 0) used[best] = 1;
  return best;
}

static int fp_equal(const cma_gen *g, const double *fp, size_t lam) {
  return g->complete && !memcmp(g->fp, fp, 3 * lam * sizeof *fp);
}

static int cma_propose(void *self, const qt_trial_view *done, size_t n_done, double *out_x,
                       qt_err *err) {
  cma_self *s = self;
  qt__prop_rng saved = s->prng;
  qt_rng r;
  qt__prop_rng_next(&s->prng, n_done, &r);
  if (s->nc == 0) { /* nothing to adapt: independent draws */
    for (size_t k = 0; k < s->n; k++) out_x[k] = qt__dimx_random(&s->dx[k], &r);
    return QT_OK;
  }
  int rc = QT_OK;
  unsigned char *used = qt_calloc(n_done ? n_done : 1, 1);
  size_t same = 0;
  if (!used || sync_history(s, done, n_done, &same)) goto oom;
  if (s->n_gens == 0) {
    if (s->cap_gens == 0) {
      s->gens = qt_calloc(8, sizeof *s->gens);
      if (!s->gens) goto oom;
      s->cap_gens = 8;
    }
    cma_gen *g0 = gen_alloc(s, s->par[0].lam);
    if (!g0) goto oom;
    gen_start(s, g0, 0, NULL);
    gen_candidates(s, g0, 0);
    s->gens[s->n_gens++] = g0;
  }
  double fp[CMA_LAM_MAX * 3];
  long cl[CMA_LAM_MAX];
  size_t gi = 0;
  for (;; gi++) {
    cma_gen *g = s->gens[gi];
    size_t lam = g->lam;
    int complete = 1, reuse = g->complete;
    /* a complete generation whose trials the history still holds at the same
     * rows keeps its claims: the earliest matching rows cannot change */
    for (size_t i = 0; reuse && i < lam; i++) reuse = g->cl[i] >= 0 && (size_t)g->cl[i] < same;
    for (size_t i = 0; i < lam; i++) {
      if (reuse) {
        cl[i] = g->cl[i];
        used[cl[i]] = 1;
      } else {
        cl[i] = claim(s, used, g->x + i * s->n);
      }
      if (cl[i] < 0 || done[cl[i]].state == QT_TRIAL_RUNNING) {
        complete = 0;
        continue;
      }
      const qt_trial_view *t = &done[cl[i]];
      /* an infeasible trial's state is stored negated: ranked after the feasible */
      fp[3 * i] = (double)t->number;
      fp[3 * i + 1] = t->feasible ? (double)t->state : -(double)t->state - 1;
      fp[3 * i + 2] = t->value;
    }
    if (!complete) break;
    memcpy(g->cl, cl, lam * sizeof *cl);
    if (gi + 1 < s->n_gens && fp_equal(g, fp, lam)) continue; /* cached */
    if (s->n_gens >= s->cap_gens) {
      cma_gen **ng = qt_realloc(s->gens, 2 * s->cap_gens * sizeof *ng);
      if (!ng) goto oom;
      s->gens = ng;
      s->cap_gens *= 2;
    }
    cma_gen *next = gen_alloc(s, lam);
    if (!next) goto oom;
    for (size_t k = gi + 1; k < s->n_gens; k++) qt_free(s->gens[k]); /* another history */
    s->n_gens = gi + 1;
    memcpy(g->fp, fp, 3 * lam * sizeof *fp);
    g->complete = 1;
    gen_update(s, g, next);
    if (s->ipop && g->run + 1 < CMA_RUNS_MAX && should_stop(s, gi, next)) {
      /* IPOP: a new run from a random mean with a larger population */
      size_t run = g->run + 1;
      cma_gen *rs = gen_alloc(s, s->par[run].lam);
      qt_free(next);
      if (!rs) {
        g->complete = 0;
        goto oom;
      }
      double m0[64];
      qt_rng mr;
      qt_rng_stream(&mr, s->seed ^ 0x69706f70ull, (uint64_t)run);
      for (size_t k = 0; k < s->nc; k++) m0[k] = qt_rng_uniform(&mr);
      gen_start(s, rs, run, m0);
      next = rs;
    }
    gen_candidates(s, next, gi + 1);
    s->gens[s->n_gens++] = next;
  }
  cma_gen *g = s->gens[gi];
  size_t want = (size_t)s->prng.repeat, k = 0;
  for (size_t i = 0; i < g->lam; i++)
    if (cl[i] < 0 && k++ == want) {
      memcpy(out_x, g->x + i * s->n, s->n * sizeof *out_x);
      goto out;
    }
  /* all asked, some running: the current distribution, not part of the update */
  double y[64];
  cma_sample(s, g, &r, y, out_x);
out:
  qt_free(used);
  return rc;
oom:
  s->prng = saved; /* a failed propose leaves the sampler as it was */
  rc = qt_err_set(err, QT_ENOMEM, "cmaes sampler: out of memory");
  goto out;
}

const qt_sampler_vtbl qt_sampler_cmaes = {QT_SAMPLER_ABI, "cmaes", cma_create, cma_propose, NULL,
                                          cma_destroy, 1};

size_t qt__cmaes_run(void *self, size_t *out_lam) {
  cma_self *s = self;
  const cma_gen *g = s->n_gens ? s->gens[s->n_gens - 1] : NULL;
  if (out_lam) *out_lam = g ? g->lam : s->lam;
  return g ? g->run : 0;
}
