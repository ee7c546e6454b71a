/* The NSGA-II sampler (Deb et al. 2002) as Optuna 3.1's NSGAIISampler:
 * population 50, crossover probability 0.9, uniform crossover with swapping
 * probability 0.5 (or SBX), mutation probability 1 / (searched params) by
 * redrawing the param at random, binary tournaments on (constrained)
 * domination for the parents, and elitist selection of the next parents by
 * nondominated rank and then crowding distance.
 *
 * Generations come from the history alone, so a fresh sampler given the
 * same history proposes the same point: the trials in history order fill
 * generation 0, 1, ... with `population_size` complete trials each (a
 * failed, pruned or running trial belongs to the generation it falls in and
 * does not count, as in Optuna).  Generation 0 is drawn at random; the
 * parents of generation g+1 are the elite of generation g's complete trials
 * together with generation g's parents.  Running trials are never parents
 * (no constant liar is needed: parallel asks with the same history get
 * different random streams).  The parents after each generation are
 * cached with a copy of the rows they came from (number, violation,
 * values, params): a proposal compares the history with the copy and
 * recomputes only the generations from the first row that differs. */
#include "optimize/sampler_int.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* What the selection sees of one trial. */
typedef struct ns_ind {
  const double *x, *f; /* params; m values to minimize */
  double viol;         /* 0 feasible */
} ns_ind;

typedef struct ns_self {
  size_t n, n_free, pop;
  double mutation_prob, crossover_prob, swapping_prob, eta; /* NaN: the default */
  int sbx;
  qt__prop_rng prng;
  /* the cache: rows (number, violation, m values, n params) of the complete
   * trials last seen, in history order; the parents after each of the
   * first n_gc generations (pop indices into those rows each) */
  size_t m, cn, ccap, n_gc, gcap;
  double *crow;
  const double **cx; /* the params pointer of each cached row */
  size_t *gpar;
  ns_ind *ind;
  size_t ind_cap;
  qt__dimx dx[];
} ns_self;

static int opt_num(const qt_kv *opts, const char *key, double lo, double hi, double *out,
                   qt_err *err) {
  const char *v = qt_kv_get(opts, key);
  if (!v) return QT_OK;
  char *end;
  double x = strtod(v, &end);
  if (*end || *v == 0 || !(x >= lo && x <= hi))
    return qt_err_set(err, QT_EINVAL, "nsgaii sampler: option %s=%s: expected %g..%g", key, v, lo,
                      hi);
  *out = x;
  return QT_OK;
}

static int ns_create(const qt_space *sp, uint64_t seed, const qt_kv *opts, void **out_self,
                     qt_err *err) {
  static const char *const known[] = {"population_size", "mutation_prob", "crossover_prob",
                                      "swapping_prob",   "crossover",     "sbx_eta",
                                      NULL};
  size_t n = qt_space_n(sp);
  *out_self = NULL;
  int rc = qt__opts_check(opts, "nsgaii", known, err);
  if (rc) return rc;
  ns_self *s = qt_calloc(1, sizeof *s + n * sizeof s->dx[0]);
  if (!s) return qt_err_set(err, QT_ENOMEM, "nsgaii sampler: out of memory");
  s->n = n;
  s->prng.seed = seed;
  qt__dimx_fill(sp, s->dx);
  for (size_t k = 0; k < n; k++) s->n_free += s->dx[k].kind != QT__DIM_FIXED;
  double pop = 50;
  s->mutation_prob = s->eta = NAN;
  s->crossover_prob = 0.9;
  s->swapping_prob = 0.5;
  if ((rc = opt_num(opts, "population_size", 2, 100000, &pop, err)) ||
      (rc = opt_num(opts, "mutation_prob", 0, 1, &s->mutation_prob, err)) ||
      (rc = opt_num(opts, "crossover_prob", 0, 1, &s->crossover_prob, err)) ||
      (rc = opt_num(opts, "swapping_prob", 0, 1, &s->swapping_prob, err)) ||
      (rc = opt_num(opts, "sbx_eta", 1e-9, 1e9, &s->eta, err)))
    goto fail;
  if (pop != floor(pop)) {
    rc = qt_err_set(err, QT_EINVAL, "nsgaii sampler: option population_size: expected an integer");
    goto fail;
  }
  s->pop = (size_t)pop;
  const char *c = qt_kv_get(opts, "crossover");
  if (c && strcmp(c, "uniform") && strcmp(c, "sbx")) {
    rc = qt_err_set(err, QT_EINVAL, "nsgaii sampler: option crossover=%s: expected uniform or sbx",
                    c);
    goto fail;
  }
  s->sbx = c && !strcmp(c, "sbx");
  *out_self = s;
  return QT_OK;
fail:
  qt_free(s);
  return rc;
}

static void ns_destroy(void *self) {
  ns_self *s = self;
  if (!s) return;
  qt_free(s->crow);
  qt_free(s->cx);
  qt_free(s->gpar);
  qt_free(s->ind);
  qt_free(s);
}

static int ind_dominates(const ns_ind *a, const ns_ind *b, size_t m) {
  if (a->viol == 0 && b->viol == 0) return qt_pareto_dominates(a->f, b->f, m);
  if (a->viol == 0) return 1;
  if (b->viol == 0) return 0;
  return a->viol < b->viol;
}

typedef struct ns_work {
  size_t m;
  ns_ind *ind;          /* one per history entry that is complete */
  size_t *pool, n_pool; /* indices into ind: the candidates of a selection */
  size_t *par, n_par;   /* the current parents */
  double *f, *viol, *crowd;
  size_t *rank, *order;
} ns_work;

/* par <- the pop best of pool by rank, then crowding distance (largest
 * first, ties in pool order), as Optuna's _select_elite_population. */
static int elite(const ns_self *s, ns_work *w, qt_err *err) {
  size_t n = w->n_pool, m = w->m;
  for (size_t i = 0; i < n; i++) {
    const ns_ind *d = &w->ind[w->pool[i]];
    memcpy(w->f + i * m, d->f, m * sizeof *w->f);
    w->viol[i] = d->viol;
  }
  if (qt_pareto_sort(w->f, w->viol, n, m, 0, w->rank, err)) return QT_ENOMEM;
  w->n_par = 0;
  /* fronts in rank order; SIZE_MAX (a NaN value) last */
  size_t r = 0;
  while (w->n_par < s->pop) {
    size_t nf = 0, next = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
      if (w->rank[i] == r) w->order[nf++] = i;
      else if (w->rank[i] > r && w->rank[i] < next) next = w->rank[i];
    }
    if (nf == 0 && next == SIZE_MAX) {
      if (r == SIZE_MAX) break;
      r = SIZE_MAX;
      continue;
    }
    if (w->n_par + nf > s->pop) { /* the last front: by crowding distance */
      if (qt_pareto_crowding(w->f, m, w->order, nf, w->crowd, err)) return QT_ENOMEM;
      for (size_t a = 1; a < nf; a++) /* stable insertion sort, largest first */
        for (size_t b = a; b > 0 && w->crowd[b] > w->crowd[b - 1]; b--) {
          double tc = w->crowd[b];
          w->crowd[b] = w->crowd[b - 1];
          w->crowd[b - 1] = tc;
          size_t to = w->order[b];
          w->order[b] = w->order[b - 1];
          w->order[b - 1] = to;
        }
      nf = s->pop - w->n_par;
    }
    for (size_t a = 0; a < nf; a++) w->par[w->n_par++] = w->pool[w->order[a]];
    if (r == SIZE_MAX) break;
    r = next;
  }
  return QT_OK;
}

/* Binary tournament over the parents not in `taken` (Optuna's
 * _select_parent: two draws with replacement, the first wins only when it
 * dominates the second). */
static size_t tournament(const ns_work *w, const size_t *taken, size_t n_taken, qt_rng *r) {
  size_t cand[2], n_left = 0;
  for (size_t i = 0; i < w->n_par; i++) {
    int t = 0;
    for (size_t j = 0; j < n_taken; j++) t |= taken[j] == w->par[i];
    n_left += !t;
  }
  for (int c = 0; c < 2; c++) {
    size_t pick = (size_t)qt_rng_below(r, n_left), seen = 0;
    for (size_t i = 0; i < w->n_par; i++) {
      int t = 0;
      for (size_t j = 0; j < n_taken; j++) t |= taken[j] == w->par[i];
      if (t) continue;
      if (seen++ == pick) {
        cand[c] = w->par[i];
        break;
      }
    }
  }
  return ind_dominates(&w->ind[cand[0]], &w->ind[cand[1]], w->m) ? cand[0] : cand[1];
}

/* The searched range of dimension dx in the space SBX works in: internal
 * bounds, with a step's half-cell margin (Optuna's transform of ints). */
static void sbx_bounds(const qt__dimx *dx, double *lo, double *hi) {
  if (dx->kind == QT__DIM_STEP) {
    *lo = dx->lo - 0.5 * dx->q;
    *hi = dx->hi + 0.5 * dx->q;
  } else if (dx->kind == QT__DIM_LOGINT) {
    *lo = log(qt__logint_low(dx));
    *hi = log(dx->uhi + 0.5 * dx->q);
  } else {
    *lo = dx->lo;
    *hi = dx->hi;
  }
}

/* A value of the SBX space back on dimension dx's grid, inside its bounds. */
static double sbx_snap(const qt__dimx *dx, double v) {
  if (dx->kind == QT__DIM_STEP) {
    double k = round((v - dx->lo) / dx->q);
    if (k < 0) k = 0;
    if (k > (double)(dx->n - 1)) k = (double)(dx->n - 1);
    return dx->lo + dx->q * k;
  }
  if (dx->kind == QT__DIM_LOGINT) {
    double k = round((exp(v) - dx->ulo) / dx->q);
    if (k < 0) k = 0;
    if (k > (double)(dx->n - 1)) k = (double)(dx->n - 1);
    return log(dx->ulo + k * dx->q);
  }
  return v < dx->lo ? dx->lo : v > dx->hi ? dx->hi : v;
}

/* Optuna's SBXCrossover on one numerical dimension (Deb & Agrawal 1995,
 * the bounded form), then the same coin flips for which child to keep. */
static double sbx_one(const qt__dimx *dx, double x0, double x1, double eta, qt_rng *r) {
  double xl, xu;
  sbx_bounds(dx, &xl, &xu);
  double mn = fmin(x0, x1), mx = fmax(x0, x1), diff = fmax(mx - mn, 1e-10);
  double b1 = 1 + 2 * (mn - xl) / diff, b2 = 1 + 2 * (xu - mx) / diff;
  double a1 = 2 - pow(b1, -(eta + 1)), a2 = 2 - pow(b2, -(eta + 1));
  double u = qt_rng_uniform(r);
  double q1 = u > 1 / a1 ? pow(1 / (2 - u * a1), 1 / (eta + 1)) : pow(u * a1, 1 / (eta + 1));
  double q2 = u > 1 / a2 ? pow(1 / (2 - u * a2), 1 / (eta + 1)) : pow(u * a2, 1 / (eta + 1));
  double c1 = 0.5 * ((mn + mx) - q1 * diff), c2 = 0.5 * ((mn + mx) + q2 * diff);
  double v;
  if (qt_rng_uniform(r) < 0.5) v = qt_rng_uniform(r) < 0.5 ? c1 : c2;
  else v = qt_rng_uniform(r) < 0.5 ? x0 : x1;
  return sbx_snap(dx, v);
}

static void child_of(const ns_self *s, const ns_work *w, int multi, qt_rng *r, double *out_x) {
  size_t n = s->n;
  const double *p0 = NULL;
  if (qt_rng_uniform(r) < s->crossover_prob) {
    size_t taken[2];
    taken[0] = tournament(w, NULL, 0, r);
    taken[1] = w->n_par > 1 ? tournament(w, taken, 1, r) : taken[0];
    const double *a = w->ind[taken[0]].x, *b = w->ind[taken[1]].x;
    double eta = isnan(s->eta) ? (multi ? 20.0 : 2.0) : s->eta;
    for (size_t k = 0; k < n; k++) {
      const qt__dimx *dx = &s->dx[k];
      if (dx->kind == QT__DIM_FIXED) out_x[k] = dx->fixed;
      else if (!s->sbx || dx->kind == QT__DIM_CAT)
        out_x[k] = qt_rng_uniform(r) >= s->swapping_prob ? b[k] : a[k];
      else out_x[k] = sbx_one(dx, a[k], b[k], eta, r);
    }
  } else {
    p0 = w->ind[w->par[qt_rng_below(r, w->n_par)]].x;
    memcpy(out_x, p0, n * sizeof *out_x);
  }
  double pm = isnan(s->mutation_prob) ? 1.0 / (double)(s->n_free ? s->n_free : 1) : s->mutation_prob;
  for (size_t k = 0; k < n; k++) {
    if (s->dx[k].kind == QT__DIM_FIXED) continue;
    if (qt_rng_uniform(r) < pm) out_x[k] = qt__dimx_random(&s->dx[k], r);
  }
}

/* Row width of the cache for m values. */
static size_t row_w(const ns_self *s, size_t m) { return 2 + m + s->n; }

static void row_put(const ns_self *s, size_t m, double *row, int64_t number, const ns_ind *d) {
  row[0] = (double)number;
  row[1] = d->viol;
  memcpy(row + 2, d->f, m * sizeof *row);
  memcpy(row + 2 + m, d->x, s->n * sizeof *row);
}

/* 1 when the row is as cached: number, violation and values compared, the
 * params by pointer first (a trial's params never change in place once
 * claimed: the study keeps them where they are), else by content. */
static int row_same(ns_self *s, size_t m, size_t i, int64_t number, const ns_ind *d) {
  const double *row = s->crow + i * row_w(s, m);
  if (row[0] != (double)number || memcmp(row + 1, &d->viol, sizeof d->viol)) return 0;
  for (size_t k = 0; k < m; k++)
    if (memcmp(row + 2 + k, d->f + k, sizeof *row)) return 0;
  if (s->cx[i] == d->x) return 1;
  if (memcmp(row + 2 + m, d->x, s->n * sizeof *row)) return 0;
  s->cx[i] = d->x;
  return 1;
}

static int ns_propose(void *self, const qt_trial_view *done, size_t n_done, double *out_x,
                      qt_err *err) {
  ns_self *s = self;
  qt__prop_rng saved = s->prng;
  qt_rng r;
  qt__prop_rng_next(&s->prng, n_done, &r);
  ns_work w;
  memset(&w, 0, sizeof w);
  w.m = 1;
  for (size_t t = 0; t < n_done; t++)
    if (done[t].state == QT_TRIAL_COMPLETE && done[t].values && done[t].n_values > 0) {
      w.m = done[t].n_values;
      break;
    }
  size_t P = s->pop, cap = 2 * P, m = w.m, n_ind = 0;
  int rc = QT_OK;
  int64_t *num = NULL; /* the trial number of each row, for the cache */
  if (n_done > s->ind_cap) {
    ns_ind *ni = qt_realloc(s->ind, n_done * sizeof *ni);
    if (!ni) goto oom;
    s->ind = ni;
    s->ind_cap = n_done;
  }
  w.ind = s->ind;
  num = qt_malloc((n_done ? n_done : 1) * sizeof *num);
  if (!num) goto oom;
  for (size_t t = 0; t < n_done; t++) {
    const qt_trial_view *v = &done[t];
    if (v->state != QT_TRIAL_COMPLETE || !v->x) continue;
    const double *f = v->values && v->n_values >= m ? v->values : NULL;
    if (!f && m == 1) f = &v->value;
    if (!f) continue;
    /* a single-objective study's infeasible trial has value +inf: feasible
     * ones rank first through the values; the violation orders the rest */
    double viol = v->feasible ? 0 : (v->violation > 0 ? v->violation : INFINITY);
    num[n_ind] = v->number;
    w.ind[n_ind++] = (ns_ind){v->x, f, viol};
  }
  size_t n_gen = n_ind / P; /* complete generations */
  if (n_gen == 0) {
    for (size_t k = 0; k < s->n; k++) out_x[k] = qt__dimx_random(&s->dx[k], &r);
    goto out;
  }
  /* the rows as the cache saw them: generations made only of those keep
   * their parents */
  size_t same = 0, W = row_w(s, m);
  if (s->m != m) s->cn = s->n_gc = 0;
  while (same < s->cn && same < n_ind && row_same(s, m, same, num[same], &w.ind[same])) same++;
  if (n_ind > s->ccap) {
    size_t nc = n_ind > 2 * s->ccap ? n_ind : 2 * s->ccap;
    double *ncr = qt_realloc(s->crow, nc * W * sizeof *ncr);
    if (!ncr) goto oom;
    s->crow = ncr;
    const double **ncx = qt_realloc(s->cx, nc * sizeof *ncx);
    if (!ncx) goto oom;
    s->cx = ncx;
    s->ccap = nc;
  }
  if (n_gen > s->gcap) {
    size_t nc = n_gen > 2 * s->gcap ? n_gen : 2 * s->gcap;
    size_t *ng = qt_realloc(s->gpar, nc * P * sizeof *ng);
    if (!ng) goto oom;
    s->gpar = ng;
    s->gcap = nc;
  }
  w.pool = qt_malloc(cap * sizeof *w.pool);
  w.par = qt_malloc(cap * sizeof *w.par);
  w.rank = qt_malloc(cap * sizeof *w.rank);
  w.order = qt_malloc(cap * sizeof *w.order);
  w.f = qt_malloc(cap * m * sizeof *w.f);
  w.viol = qt_malloc(cap * sizeof *w.viol);
  w.crowd = qt_malloc(cap * sizeof *w.crowd);
  if (!w.pool || !w.par || !w.rank || !w.order || !w.f || !w.viol || !w.crowd) goto oom;
  /* from here on nothing fails: the cache may change */
  for (size_t i = same; i < n_ind; i++) {
    row_put(s, m, s->crow + i * W, num[i], &w.ind[i]);
    s->cx[i] = w.ind[i].x;
  }
  s->cn = n_ind;
  s->m = m;
  size_t valid = same / P < s->n_gc ? same / P : s->n_gc;
  if (valid > n_gen) valid = n_gen;
  if (valid) {
    memcpy(w.par, s->gpar + (valid - 1) * P, P * sizeof *w.par);
    w.n_par = P;
  }
  for (size_t g = valid; g < n_gen; g++) {
    w.n_pool = 0;
    for (size_t i = 0; i < P; i++) w.pool[w.n_pool++] = g * P + i;
    for (size_t i = 0; i < w.n_par; i++) w.pool[w.n_pool++] = w.par[i];
    if (elite(s, &w, NULL)) { /* only its scratch: the cache up to g stays right */
      s->n_gc = g;
      goto oom;
    }
    memcpy(s->gpar + g * P, w.par, P * sizeof *w.par);
  }
  s->n_gc = n_gen;
  child_of(s, &w, m > 1, &r, out_x);
out:
  qt_free(num);
  qt_free(w.pool);
  qt_free(w.par);
  qt_free(w.rank);
  qt_free(w.order);
  qt_free(w.f);
  qt_free(w.viol);
  qt_free(w.crowd);
  return rc;
oom:
  s->prng = saved; /* a failed propose leaves the sampler as it was */
  rc = qt_err_set(err, QT_ENOMEM, "nsgaii sampler: out of memory");
  goto out;
}

const qt_sampler_vtbl qt_sampler_nsgaii = {QT_SAMPLER_ABI, "nsgaii",   ns_create, ns_propose,
                                           NULL,           ns_destroy, QT_GOAL_MAX_OBJ};
