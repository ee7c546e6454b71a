/* Pruners: decide from intermediate values whether a running trial should
 * stop, as Optuna's (3.x) MedianPruner, PercentilePruner,
 * SuccessiveHalvingPruner (asynchronous successive halving, ASHA) and
 * HyperbandPruner.  A pruner is pure configuration: it keeps no state and
 * sees only the trials handed to it, so two processes sharing a study decide
 * alike.  Where Optuna stores a trial's rung values as system attributes,
 * qtune derives them from the stored intermediate values (a trial "reached"
 * rung r with its first value at a step >= the rung's promotion step). */
#include "qtune/optimize.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum pr_kind { PR_NONE, PR_PERCENTILE, PR_SHA, PR_HYPERBAND } pr_kind;

struct qt_pruner {
  pr_kind kind;
  const char *name;
  /* median / percentile */
  double percentile;
  long n_startup, n_warmup, interval, n_min_trials;
  /* successive halving / hyperband */
  long min_resource; /* 0: auto (sha) */
  long eta;
  long min_rate;
  long bootstrap;
  long max_resource; /* hyperband; 0: auto */
};

typedef struct pr_def {
  const char *name;
  pr_kind kind;
  const char *const *keys; /* the options it takes */
} pr_def;

static const char *const k_pct_keys[] = {"n_startup_trials", "n_warmup_steps", "interval_steps",
                                         "n_min_trials", "percentile", NULL};
static const char *const k_med_keys[] = {"n_startup_trials", "n_warmup_steps", "interval_steps",
                                         "n_min_trials", NULL};
static const char *const k_sha_keys[] = {"min_resource", "reduction_factor",
                                         "min_early_stopping_rate", "bootstrap_count", NULL};
static const char *const k_hb_keys[] = {"min_resource", "max_resource", "reduction_factor",
                                        "bootstrap_count", NULL};
static const char *const k_no_keys[] = {NULL};

/* The registry: qt_pruner_new, qt_pruner_names and the help read this one table. */
static const pr_def k_pruners[] = {
    {"median", PR_PERCENTILE, k_med_keys},
    {"percentile", PR_PERCENTILE, k_pct_keys},
    {"sha", PR_SHA, k_sha_keys},
    {"hyperband", PR_HYPERBAND, k_hb_keys},
    {"none", PR_NONE, k_no_keys},
};
#define N_PRUNERS (sizeof k_pruners / sizeof k_pruners[0])

void qt_pruner_names(char *buf, size_t cap, const char *sep) {
  size_t n = 0;
  if (cap) buf[0] = 0;
  for (size_t i = 0; i < N_PRUNERS && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? sep : "", k_pruners[i].name);
}

const char *qt_pruner_name(const qt_pruner *p) { return p ? p->name : "none"; }

void qt_pruner_free(qt_pruner *p) { qt_free(p); }

static int parse_long(const char *pname, const char *key, const char *v, long lo, long *out,
                      qt_err *err) {
  char *end;
  long x = strtol(v, &end, 10);
  if (!*v || *end || x < lo)
    return qt_err_set(err, QT_EINVAL, "pruner %s: option %s: '%s' is not an integer >= %ld",
                      pname, key, v, lo);
  *out = x;
  return QT_OK;
}

static int set_opt(qt_pruner *p, const char *key, const char *v, qt_err *err) {
  const char *n = p->name;
  if (!strcmp(key, "n_startup_trials")) return parse_long(n, key, v, 0, &p->n_startup, err);
  if (!strcmp(key, "n_warmup_steps")) return parse_long(n, key, v, 0, &p->n_warmup, err);
  if (!strcmp(key, "interval_steps")) return parse_long(n, key, v, 1, &p->interval, err);
  if (!strcmp(key, "n_min_trials")) return parse_long(n, key, v, 1, &p->n_min_trials, err);
  if (!strcmp(key, "reduction_factor")) return parse_long(n, key, v, 2, &p->eta, err);
  if (!strcmp(key, "min_early_stopping_rate")) return parse_long(n, key, v, 0, &p->min_rate, err);
  if (!strcmp(key, "bootstrap_count")) return parse_long(n, key, v, 0, &p->bootstrap, err);
  if (!strcmp(key, "min_resource") || !strcmp(key, "max_resource")) {
    long *dst = key[1] == 'i' ? &p->min_resource : &p->max_resource;
    if (!strcmp(v, "auto") && !(p->kind == PR_HYPERBAND && dst == &p->min_resource)) {
      *dst = 0;
      return QT_OK;
    }
    return parse_long(n, key, v, 1, dst, err);
  }
  /* percentile */
  char *end;
  double x = strtod(v, &end);
  if (!*v || *end || !(x >= 0 && x <= 100))
    return qt_err_set(err, QT_EINVAL, "pruner %s: option percentile: '%s' is not in [0, 100]", n,
                      v);
  p->percentile = x;
  return QT_OK;
}

int qt_pruner_new(const char *name, const qt_kv *opts, qt_pruner **out, qt_err *err) {
  *out = NULL;
  const pr_def *d = NULL;
  for (size_t i = 0; name && i < N_PRUNERS; i++)
    if (!strcmp(name, k_pruners[i].name)) d = &k_pruners[i];
  if (!d) {
    char names[128];
    qt_pruner_names(names, sizeof names, ", ");
    return qt_err_set(err, QT_EINVAL, "pruner '%s': unknown (pruners: %s)", name ? name : "",
                      names);
  }
  qt_pruner *p = qt_calloc(1, sizeof *p);
  if (!p) return qt_err_set(err, QT_ENOMEM, "pruner: out of memory");
  p->kind = d->kind;
  p->name = d->name;
  p->percentile = !strcmp(d->name, "median") ? 50 : 25;
  p->n_startup = 5;
  p->interval = 1;
  p->n_min_trials = 1;
  p->min_resource = d->kind == PR_HYPERBAND ? 1 : 0;
  p->eta = d->kind == PR_HYPERBAND ? 3 : 4;
  for (const qt_kv *kv = opts; kv && kv->key; kv++) {
    int known = 0;
    for (const char *const *k = d->keys; *k && !known; k++) known = !strcmp(*k, kv->key);
    if (!known) {
      char keys[256];
      size_t n = 0;
      keys[0] = 0;
      for (const char *const *k = d->keys; *k && n < sizeof keys; k++)
        n += (size_t)snprintf(keys + n, sizeof keys - n, "%s%s", n ? ", " : "", *k);
      int r = qt_err_set(err, QT_EINVAL, "pruner %s: unknown option '%s' (options: %s)", d->name,
                         kv->key, n ? keys : "none");
      qt_free(p);
      return r;
    }
    int r = set_opt(p, kv->key, kv->val ? kv->val : "", err);
    if (r) {
      qt_free(p);
      return r;
    }
  }
  if (p->kind == PR_HYPERBAND && p->max_resource && p->max_resource <= p->min_resource) {
    qt_free(p);
    return qt_err_set(err, QT_EINVAL, "pruner hyperband: max_resource must be > min_resource");
  }
  *out = p;
  return QT_OK;
}

/* ---- median / percentile ---- */

/* numpy.nanpercentile with linear interpolation over v[0..n) (sorted in
 * place, NaN dropped); NaN when nothing is left. */
static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double nan_percentile(double *v, size_t n, double q) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (!isnan(v[i])) v[m++] = v[i];
  if (!m) return NAN;
  qsort(v, m, sizeof *v, cmp_d);
  double pos = q / 100.0 * (double)(m - 1);
  size_t lo = (size_t)floor(pos);
  size_t hi = lo + 1 < m ? lo + 1 : lo;
  double f = pos - (double)lo;
  return v[lo] + (v[hi] - v[lo]) * f;
}

/* The value of t at exactly step, or NaN with *found 0. */
static double value_at(const qt_prune_trial *t, int64_t step, int *found) {
  *found = 0;
  for (size_t j = 0; j < t->n_iv; j++)
    if (t->iv[j].step == step) {
      *found = 1;
      return t->iv[j].value;
    }
  return NAN;
}

static int percentile_prune(const qt_pruner *p, const qt_prune_trial *tr, size_t n, size_t cur,
                            int maximize) {
  const qt_prune_trial *me = &tr[cur];
  size_t n_complete = 0;
  for (size_t i = 0; i < n; i++) n_complete += i != cur && tr[i].state == QT_TRIAL_COMPLETE;
  if (n_complete == 0 || n_complete < (size_t)p->n_startup) return 0;
  if (!me->n_iv) return 0;
  int64_t step = me->iv[me->n_iv - 1].step;
  if (step < p->n_warmup) return 0;
  /* only the first report in each interval of interval_steps is checked */
  int64_t lower = (step - p->n_warmup) / p->interval * p->interval + p->n_warmup;
  int64_t second_last = -1;
  for (size_t j = 0; j < me->n_iv; j++)
    if (me->iv[j].step > second_last && me->iv[j].step != step) second_last = me->iv[j].step;
  if (!(second_last < lower)) return 0;
  double best = NAN;
  for (size_t j = 0; j < me->n_iv; j++) {
    double v = me->iv[j].value;
    if (isnan(v)) continue;
    if (isnan(best) || (maximize ? v > best : v < best)) best = v;
  }
  if (isnan(best)) return 1; /* nothing but NaN so far: Optuna prunes */
  double *vals = qt_malloc((n_complete ? n_complete : 1) * sizeof *vals);
  if (!vals) return 0; /* no decision under memory pressure: the trial goes on */
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (i == cur || tr[i].state != QT_TRIAL_COMPLETE) continue;
    int found;
    double v = value_at(&tr[i], step, &found);
    if (found) vals[m++] = v;
  }
  double q = NAN;
  if (m >= (size_t)p->n_min_trials)
    q = nan_percentile(vals, m, maximize ? 100.0 - p->percentile : p->percentile);
  qt_free(vals);
  if (isnan(q)) return 0;
  return maximize ? best < q : best > q;
}

/* ---- successive halving ---- */

/* The promotion step of rung r: min_resource * eta^(rate + r) (saturating). */
static int64_t promo_step(long min_res, long eta, long rate, long r) {
  double s = (double)min_res * pow((double)eta, (double)(rate + r));
  return s > 9e18 ? INT64_MAX : (int64_t)s;
}

/* The rung values of t: out[r] for the rungs it reached (returns how many,
 * at most cap), walking its values over the first n_iv of them.  A value of
 * NaN ends the walk (Optuna prunes it there); a pruned trial's last value
 * records only the first rung it crossed (where it was stopped). */
static size_t rung_values(const qt_prune_trial *t, size_t n_iv, long min_res, long eta, long rate,
                          double *out, size_t cap) {
  size_t r = 0;
  for (size_t j = 0; j < n_iv && r < cap; j++) {
    double v = t->iv[j].value;
    int last_pruned = t->state == QT_TRIAL_PRUNED && j + 1 == t->n_iv;
    while (r < cap && t->iv[j].step >= promo_step(min_res, eta, rate, (long)r)) {
      if (isnan(v)) return r;
      out[r++] = v;
      if (last_pruned) return r;
    }
  }
  return r;
}

/* Optuna's min_resource="auto": the largest last step of the complete
 * trials / 100, at least 1; 0 when no trial completed with a step. */
static long auto_min_resource(const qt_prune_trial *tr, size_t n) {
  int64_t last = -1;
  for (size_t i = 0; i < n; i++)
    if (tr[i].state == QT_TRIAL_COMPLETE && tr[i].n_iv && tr[i].iv[tr[i].n_iv - 1].step > last)
      last = tr[i].iv[tr[i].n_iv - 1].step;
  if (last < 0) return 0;
  return last / 100 > 1 ? (long)(last / 100) : 1;
}

#define MAX_RUNGS 64

static int promotable(double value, double *comp, size_t m, long eta, int maximize) {
  long idx = (long)(m / (size_t)eta) - 1;
  if (idx < 0) idx = 0; /* the first eta - 1 trials: promoted when they are the best */
  qsort(comp, m, sizeof *comp, cmp_d);
  return maximize ? value >= comp[m - 1 - (size_t)idx] : value <= comp[idx];
}

/* Successive halving over the trials tr[k] with keep[k] (NULL: all). */
static int sha_prune(const qt_pruner *p, long min_res, long rate, const qt_prune_trial *tr,
                     const unsigned char *keep, size_t n, size_t cur, int maximize) {
  const qt_prune_trial *me = &tr[cur];
  if (!me->n_iv) return 0;
  if (!min_res) {
    min_res = auto_min_resource(tr, n);
    if (!min_res) return 0;
  }
  double mine[MAX_RUNGS];
  /* the rungs completed before this report */
  long rung = (long)rung_values(me, me->n_iv - 1, min_res, p->eta, rate, mine, MAX_RUNGS);
  int64_t step = me->iv[me->n_iv - 1].step;
  double value = me->iv[me->n_iv - 1].value;
  double *comp = qt_malloc((n + 1) * sizeof *comp);
  double *rv = qt_malloc(MAX_RUNGS * sizeof *rv);
  int prune = 0;
  if (!comp || !rv) goto done; /* no decision under memory pressure */
  for (;; rung++) {
    if (rung >= MAX_RUNGS || step < promo_step(min_res, p->eta, rate, rung)) break;
    if (isnan(value)) {
      prune = 1;
      break;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
      if (i == cur || (keep && !keep[i])) continue;
      size_t nr = rung_values(&tr[i], tr[i].n_iv, min_res, p->eta, rate, rv, MAX_RUNGS);
      if ((long)nr > rung) comp[m++] = rv[rung];
    }
    comp[m++] = value;
    if (m <= (size_t)p->bootstrap || !promotable(value, comp, m, p->eta, maximize)) {
      prune = 1;
      break;
    }
  }
done:
  qt_free(comp);
  qt_free(rv);
  return prune;
}

/* ---- hyperband ---- */

static uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/* The bracket of trial `number` among nb brackets, drawn in proportion to
 * Optuna's budgets ceil(nb * eta^s / (s + 1)), s = nb - 1 - bracket, from a
 * hash of the number (Optuna hashes the study name and number). */
static long bracket_of(int64_t number, long nb, long eta) {
  uint64_t total = 0, budget[MAX_RUNGS];
  for (long b = 0; b < nb; b++) {
    long s = nb - 1 - b;
    budget[b] = (uint64_t)ceil((double)nb * pow((double)eta, (double)s) / (double)(s + 1));
    total += budget[b];
  }
  uint64_t h = mix64((uint64_t)number) % (total ? total : 1);
  for (long b = 0; b < nb; b++) {
    if (h < budget[b]) return b;
    h -= budget[b];
  }
  return nb - 1;
}

static int hyperband_prune(const qt_pruner *p, const qt_prune_trial *tr, size_t n, size_t cur,
                           int maximize) {
  long max_res = p->max_resource;
  if (!max_res) { /* auto: the largest last step of the complete trials + 1 */
    int64_t last = -1;
    for (size_t i = 0; i < n; i++)
      if (tr[i].state == QT_TRIAL_COMPLETE && tr[i].n_iv && tr[i].iv[tr[i].n_iv - 1].step > last)
        last = tr[i].iv[tr[i].n_iv - 1].step;
    if (last < 0) return 0;
    max_res = (long)last + 1;
  }
  long nb = (long)floor(log((double)max_res / (double)p->min_resource) / log((double)p->eta)) + 1;
  if (nb < 1) nb = 1;
  if (nb > MAX_RUNGS) nb = MAX_RUNGS;
  long b = bracket_of(tr[cur].number, nb, p->eta);
  unsigned char *keep = qt_malloc(n ? n : 1);
  if (!keep) return 0;
  for (size_t i = 0; i < n; i++) keep[i] = bracket_of(tr[i].number, nb, p->eta) == b;
  int r = sha_prune(p, p->min_resource, b, tr, keep, n, cur, maximize);
  qt_free(keep);
  return r;
}

int qt_pruner_should_prune(const qt_pruner *p, const qt_prune_trial *trials, size_t n, size_t cur,
                           int maximize) {
  if (!p || cur >= n) return 0;
  switch (p->kind) {
  case PR_PERCENTILE: return percentile_prune(p, trials, n, cur, maximize);
  case PR_SHA: return sha_prune(p, p->min_resource, p->min_rate, trials, NULL, n, cur, maximize);
  case PR_HYPERBAND: return hyperband_prune(p, trials, n, cur, maximize);
  case PR_NONE: break;
  }
  return 0;
}
