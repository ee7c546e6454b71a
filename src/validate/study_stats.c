/* The overfitting statistics of a stored study (qtune validate): its
 * complete trials' stored per-period returns (the trial_returns table) as a
 * T x N matrix, then DSR/PSR/MinTRL/MinBTL of the best, PBO by CSCV with its
 * logit distribution and degradation, Reality Check and SPA against flat
 * and buy-and-hold, and the spread of the top N's parameters (plus, with an
 * objective, the best's neighbourhood re-scored).  Formulas: overfit.c and
 * docs/validate.md; this file only gathers the inputs and the verdicts. */
#include "qtune/validate.h"
#include "validate/validate_int.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

qt_validate_opts qt_validate_opts_default(void) {
  qt_validate_opts o;
  memset(&o, 0, sizeof o);
  o.pbo_blocks = 16;
  o.top_n = 10;
  o.spa = qt_spa_opts_default();
  o.dsr_reject = 0.95;
  o.pbo_reject = 0.5;
  return o;
}

/* The study's returns matrix: complete trials that have a stored series
 * of the common length, in trial order. */
typedef struct mat {
  double *r;      /* T x N row-major */
  size_t T, N;
  int64_t *number; /* N trial numbers */
  size_t *info;    /* N trial_info indices */
  double *bench;   /* T buy-and-hold returns or NULL */
  int64_t period_ms, start_ms;
  size_t skipped;  /* complete trials without a usable series */
} mat;

static void mat_fini(mat *m) {
  qt_free(m->r);
  qt_free(m->number);
  qt_free(m->info);
  qt_free(m->bench);
  memset(m, 0, sizeof *m);
}

static int load_matrix(qt_study *st, mat *m, qt_err *err) {
  memset(m, 0, sizeof *m);
  qt_storage *s = qt_study_storage(st);
  qt_study_rec rec;
  memset(&rec, 0, sizeof rec);
  int r = s->vt->study_load(s->self, qt_study_name(st), &rec, err);
  if (r) return r;
  int64_t sid = rec.id;
  qt_study_rec_fini(&rec);
  qt_returns_rec *v = NULL;
  size_t nv = 0;
  if ((r = qt_returns_list(s, sid, &v, &nv, err)) != 0) return r;
  size_t nt = qt_study_n_trials(st);
  /* the common series: the first trial series' length and period */
  const qt_returns_rec *ref = NULL;
  for (size_t i = 0; i < nv && !ref; i++)
    if (v[i].number != QT_RETURNS_BUY_HOLD) ref = &v[i];
  if (!ref) {
    r = qt_err_set(err, QT_ENOTFOUND,
                   "study '%s' has no stored return series (studies run before qtune stored "
                   "them, or an objective that reports none: re-run it)",
                   qt_study_name(st));
    goto fail;
  }
  m->T = ref->n;
  m->period_ms = ref->period_ms;
  m->start_ms = ref->start_ms;
  m->r = qt_malloc(m->T * (nt ? nt : 1) * sizeof *m->r);
  m->number = qt_malloc((nt ? nt : 1) * sizeof *m->number);
  m->info = qt_malloc((nt ? nt : 1) * sizeof *m->info);
  if (!m->r || !m->number || !m->info) goto oom;
  /* both lists are ordered by trial number: one merge */
  size_t j = 0;
  for (size_t i = 0; i < nt; i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    if (ti.state != QT_TRIAL_COMPLETE) continue;
    while (j < nv && v[j].number < ti.number) j++;
    if (j >= nv || v[j].number != ti.number || v[j].n != m->T || v[j].period_ms != m->period_ms ||
        v[j].start_ms != m->start_ms) {
      m->skipped++;
      continue;
    }
    for (size_t t = 0; t < m->T; t++) m->r[t * nt + m->N] = v[j].r[t];
    m->number[m->N] = ti.number;
    m->info[m->N++] = i;
  }
  /* compact the columns from stride nt to stride N */
  if (m->N && m->N < nt)
    for (size_t t = 0; t < m->T; t++) memmove(m->r + t * m->N, m->r + t * nt, m->N * sizeof *m->r);
  if (nv && v[0].number == QT_RETURNS_BUY_HOLD && v[0].n == m->T &&
      v[0].period_ms == m->period_ms && v[0].start_ms == m->start_ms) {
    if (!(m->bench = qt_malloc(m->T * sizeof *m->bench))) goto oom;
    memcpy(m->bench, v[0].r, m->T * sizeof *m->bench);
  }
  qt_returns_recs_free(v, nv);
  return QT_OK;
oom:
  r = qt_err_set(err, QT_ENOMEM, "validate: out of memory");
fail:
  qt_returns_recs_free(v, nv);
  mat_fini(m);
  return r;
}

static json_t *jnum_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static double periods_per_year(int64_t period_ms) {
  return 365.0 * 86400000.0 / (double)period_ms;
}

/* DSR, PSR, MinTRL and MinBTL of trial column `best`. */
static int sharpe_stats(const mat *m, size_t best, const qt_validate_opts *o, json_t *out,
                        qt_err *err) {
  qt_overfit_moments bm;
  int r = qt_overfit_moments_of(m->r + best, m->T, m->N, &bm, err);
  if (r) return r;
  /* the variance of all trials' per-period Sharpe ratios (n - 1) */
  double mean = 0, m2 = 0;
  for (size_t n = 0; n < m->N; n++) {
    qt_overfit_moments mm;
    if ((r = qt_overfit_moments_of(m->r + n, m->T, m->N, &mm, err)) != 0) return r;
    double d = mm.sharpe - mean;
    mean += d / (double)(n + 1);
    m2 += d * (mm.sharpe - mean);
  }
  double var = m->N > 1 ? m2 / (double)(m->N - 1) : 0;
  qt_overfit_dsr_in in = {bm.sharpe, bm.skew, bm.kurt, m->T, m->N, var};
  qt_overfit_dsr_out d;
  double psr = NAN, mintrl = NAN, minbtl = NAN;
  qt_err e2;
  if (qt_overfit_dsr(&in, &d, &e2)) d.sr0 = d.dsr = NAN;
  if (qt_overfit_psr(bm.sharpe, 0, bm.skew, bm.kurt, m->T, &psr, &e2)) psr = NAN;
  if (qt_overfit_min_trl(bm.sharpe, 0, bm.skew, bm.kurt, 0.95, &mintrl, &e2)) mintrl = NAN;
  double ppy = periods_per_year(m->period_ms);
  double sr_ann = bm.sharpe * sqrt(ppy);
  if (qt_overfit_min_btl(m->N, sr_ann, &minbtl, &e2)) minbtl = NAN;
  double years = (double)m->T / ppy;
  json_t *j = json_object();
  json_object_set_new(j, "sharpe", jnum_or_null(bm.sharpe));
  json_object_set_new(j, "sharpe_annual", jnum_or_null(sr_ann));
  json_object_set_new(j, "skew", jnum_or_null(bm.skew));
  json_object_set_new(j, "kurt", jnum_or_null(bm.kurt));
  json_object_set_new(j, "sharpe_variance", jnum_or_null(var));
  json_object_set_new(j, "sr0", jnum_or_null(d.sr0));
  json_object_set_new(j, "dsr", jnum_or_null(d.dsr));
  json_object_set_new(j, "psr", jnum_or_null(psr));
  json_object_set_new(j, "min_trl_periods", jnum_or_null(mintrl));
  json_object_set_new(j, "min_btl_years", jnum_or_null(minbtl));
  json_object_set_new(j, "data_years", json_real(years));
  json_object_set_new(j, "dsr_reject", json_real(o->dsr_reject));
  json_object_set_new(j, "rejected", json_boolean(!(d.dsr >= o->dsr_reject)));
  json_object_set_new(out, "sharpe", j);
  return QT_OK;
}

static int pbo_stats(const mat *m, const qt_validate_opts *o, json_t *out, qt_err *err) {
  qt_pbo_opts po = qt_pbo_opts_default();
  size_t S = o->pbo_blocks ? o->pbo_blocks : 16;
  if (S > m->T) S = m->T & ~(size_t)1; /* too short a series: as many even blocks as fit */
  po.n_blocks = S;
  json_t *j = json_object();
  json_object_set_new(out, "pbo", j);
  if (m->N < 2 || S < 2) {
    json_object_set_new(j, "skipped", json_string(m->N < 2 ? "fewer than 2 trials"
                                                           : "fewer than 2 periods"));
    return QT_OK;
  }
  qt_pbo_result pr;
  int r = qt_overfit_pbo(m->r, m->T, m->N, &po, &pr, err);
  if (r) return r;
  json_object_set_new(j, "blocks", json_integer((json_int_t)S));
  json_object_set_new(j, "combinations", json_integer((json_int_t)pr.n_combinations));
  json_object_set_new(j, "pbo", json_real(pr.pbo));
  json_object_set_new(j, "slope", jnum_or_null(pr.slope));
  json_object_set_new(j, "intercept", jnum_or_null(pr.intercept));
  json_object_set_new(j, "p_loss", json_real(pr.p_loss));
  /* the logit distribution: counts in 8 bins of width 1 over [-4, 4), the
   * tails folded into the end bins, and its quartiles */
  json_t *bins = json_array();
  size_t cnt[8] = {0};
  double mean_is = 0, mean_oos = 0;
  for (size_t c = 0; c < pr.n_combinations; c++) {
    double l = pr.logits[c];
    int b = (int)floor(l) + 4;
    b = b < 0 ? 0 : b > 7 ? 7 : b;
    cnt[b]++;
    mean_is += pr.is_perf[c];
    mean_oos += pr.oos_perf[c];
  }
  for (int b = 0; b < 8; b++) json_array_append_new(bins, json_integer((json_int_t)cnt[b]));
  json_object_set_new(j, "logit_bins", bins);
  double *sorted = qt_malloc(pr.n_combinations * sizeof *sorted);
  if (!sorted) {
    qt_pbo_result_fini(&pr);
    return qt_err_set(err, QT_ENOMEM, "validate: out of memory");
  }
  memcpy(sorted, pr.logits, pr.n_combinations * sizeof *sorted);
  for (size_t a = 1; a < pr.n_combinations; a++) { /* insertion sort: C(16, 8) = 12870 */
    double x = sorted[a];
    size_t b = a;
    for (; b > 0 && sorted[b - 1] > x; b--) sorted[b] = sorted[b - 1];
    sorted[b] = x;
  }
  json_object_set_new(j, "logit_q25", json_real(sorted[pr.n_combinations / 4]));
  json_object_set_new(j, "logit_median", json_real(sorted[pr.n_combinations / 2]));
  json_object_set_new(j, "logit_q75", json_real(sorted[(3 * pr.n_combinations) / 4]));
  json_object_set_new(j, "is_sharpe_mean", json_real(mean_is / (double)pr.n_combinations));
  json_object_set_new(j, "oos_sharpe_mean", json_real(mean_oos / (double)pr.n_combinations));
  json_object_set_new(j, "pbo_reject", json_real(o->pbo_reject));
  json_object_set_new(j, "rejected", json_boolean(pr.pbo >= o->pbo_reject));
  qt_free(sorted);
  qt_pbo_result_fini(&pr);
  return QT_OK;
}

static int spa_one(const mat *m, const double *bench, const qt_validate_opts *o, json_t **out,
                   qt_err *err) {
  double *x = qt_malloc(m->T * m->N * sizeof *x);
  if (!x) return qt_err_set(err, QT_ENOMEM, "validate: out of memory");
  for (size_t t = 0; t < m->T; t++)
    for (size_t n = 0; n < m->N; n++)
      x[t * m->N + n] = m->r[t * m->N + n] - (bench ? bench[t] : 0.0);
  qt_spa_result sr;
  int r = qt_overfit_spa(x, m->T, m->N, &o->spa, &sr, err);
  qt_free(x);
  if (r) return r;
  json_t *j = json_object();
  json_object_set_new(j, "best_trial", json_integer((json_int_t)m->number[sr.best]));
  json_object_set_new(j, "rc_stat", jnum_or_null(sr.rc_stat));
  json_object_set_new(j, "rc_p", json_real(sr.rc_p));
  json_object_set_new(j, "spa_stat", jnum_or_null(sr.spa_stat));
  json_object_set_new(j, "spa_p", json_real(sr.spa_p));
  *out = j;
  return QT_OK;
}

static int spa_stats(const mat *m, const qt_validate_opts *o, json_t *out, qt_err *err) {
  json_t *j = json_object(), *a = NULL;
  json_object_set_new(out, "spa", j);
  json_object_set_new(j, "n_boot", json_integer((json_int_t)o->spa.n_boot));
  json_object_set_new(j, "mean_block", json_real(o->spa.mean_block));
  json_object_set_new(j, "seed", json_integer((json_int_t)o->spa.seed));
  int r = spa_one(m, NULL, o, &a, err);
  if (r) return r;
  json_object_set_new(j, "flat", a);
  if (m->bench) {
    if ((r = spa_one(m, m->bench, o, &a, err)) != 0) return r;
    json_object_set_new(j, "buy_hold", a);
  }
  return QT_OK;
}

/* The spread of the top N's parameters: per searched dimension the min,
 * max and SD of their user values, and the SD as a share of the range. */
static int top_spread(const qt_study *st, const qt_validate_opts *o, json_t *out, qt_err *err) {
  const qt_space *sp = qt_study_space(st);
  size_t topn = o->top_n ? o->top_n : 10, n = 0;
  size_t *idx = qt_malloc(topn * sizeof *idx);
  if (!idx) return qt_err_set(err, QT_ENOMEM, "validate: out of memory");
  int r = qt_study_rank(st, idx, topn, &n, err);
  json_t *arr = json_array();
  json_t *j = json_object();
  json_object_set_new(j, "top_n", json_integer((json_int_t)n));
  json_object_set_new(j, "params", arr);
  json_object_set_new(out, "stability", j);
  for (size_t k = 0; !r && sp && k < qt_space_n(sp); k++) {
    const qt_dim *d = qt_space_dim(sp, k);
    if (d->fixed) continue;
    double lo = INFINITY, hi = -INFINITY, s1 = 0, s2 = 0;
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
      qt_trial_info ti;
      qt_study_trial_info(st, idx[i], &ti);
      json_t *p = json_loads(ti.params_json ? ti.params_json : "{}", 0, NULL);
      json_t *v = json_object_get(p, d->name);
      if (json_is_number(v)) {
        double x = json_number_value(v);
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
        s1 += x, s2 += x * x, c++;
      }
      json_decref(p);
    }
    if (!c) continue;
    double mean = s1 / (double)c, var = c > 1 ? (s2 - s1 * mean) / (double)(c - 1) : 0;
    double sd = var > 0 ? sqrt(var) : 0, range = d->hi - d->lo;
    json_t *e = json_object();
    json_object_set_new(e, "name", json_string(d->name));
    json_object_set_new(e, "min", json_real(lo));
    json_object_set_new(e, "max", json_real(hi));
    json_object_set_new(e, "mean", json_real(mean));
    json_object_set_new(e, "sd", json_real(sd));
    json_object_set_new(e, "sd_share", range > 0 ? json_real(sd / range) : json_null());
    json_array_append_new(arr, e);
  }
  qt_free(idx);
  return r;
}

/* The best's neighbourhood: each searched parameter one step (ints,
 * stepped floats, choices) or 5% of its value (continuous floats) either
 * way, re-run through obj, against the best re-run the same way. */
static int neighbourhood(const qt_study *st, long best, const qt_objective *obj, json_t *out,
                         qt_err *err) {
  const qt_space *sp = qt_study_space(st);
  size_t nd = qt_space_n(sp);
  qt_trial_info ti;
  qt_study_trial_info(st, (size_t)best, &ti);
  double *x = qt_calloc(nd ? nd : 1, sizeof *x), *u = qt_calloc(nd ? nd : 1, sizeof *u);
  double *x0 = qt_calloc(nd ? nd : 1, sizeof *x0);
  void *w = NULL;
  qt_metric_set ms;
  qt_metric_set_init(&ms);
  json_t *arr = json_array();
  json_t *j = json_object();
  json_object_set_new(j, "neighbours", arr);
  json_object_set_new(out, "neighbourhood", j);
  int r = QT_OK;
  if (!x || !u || !x0) {
    r = qt_err_set(err, QT_ENOMEM, "validate: out of memory");
    goto fail;
  }
  if ((r = qt_space_params_from_json(sp, ti.params_json, x0, err)) != 0) goto fail;
  if ((r = obj->vt->worker_new(obj->shared, &w, err)) != 0) goto fail;
  double base_sharpe = NAN;
  size_t kept = 0, total = 0;
  for (long k = -1; k < (long)nd; k++) {
    for (int dir = -1; dir <= 1; dir += 2) {
      if (k < 0 && dir > 0) break; /* k = -1: the best itself, once */
      memcpy(x, x0, nd * sizeof *x);
      if (k >= 0) {
        const qt_dim *d = qt_space_dim(sp, (size_t)k);
        if (d->fixed) break;
        double lo, hi;
        qt_space_bounds(sp, (size_t)k, &lo, &hi);
        double stepv = d->type == QT_PARAM_FLOAT && d->step == 0 && !d->log
                           ? 0.05 * fabs(x0[k] != 0 ? x0[k] : (hi - lo))
                           : (d->log ? log(1.05) : (d->step > 0 ? d->step : 1.0));
        double nx = qt_space_snap(sp, (size_t)k, x0[k] + dir * stepv);
        if (nx < lo || nx > hi || nx == x0[k]) continue;
        x[k] = nx;
      }
      for (size_t q = 0; q < nd; q++) u[q] = qt_space_to_user(sp, q, x[q]);
      qt_metric_set_clear(&ms);
      qt_err e2;
      int er = obj->vt->eval(w, sp, x, u, 0, &ms, &e2);
      const double *sh = er ? NULL : qt_metric_set_find(&ms, "sharpe");
      const double *tp = er ? NULL : qt_metric_set_find(&ms, "total_profit");
      if (k < 0) {
        base_sharpe = sh ? *sh : NAN;
        json_object_set_new(j, "best_sharpe", jnum_or_null(base_sharpe));
        json_object_set_new(j, "best_total_profit", jnum_or_null(tp ? *tp : NAN));
        continue;
      }
      json_t *e = json_object();
      json_object_set_new(e, "param", json_string(qt_space_dim(sp, (size_t)k)->name));
      json_object_set_new(e, "value", json_real(u[k]));
      json_object_set_new(e, "sharpe", jnum_or_null(sh ? *sh : NAN));
      json_object_set_new(e, "total_profit", jnum_or_null(tp ? *tp : NAN));
      json_array_append_new(arr, e);
      total++;
      if (sh && isfinite(base_sharpe) && *sh >= 0.5 * base_sharpe && *sh > 0) kept++;
    }
  }
  json_object_set_new(j, "n", json_integer((json_int_t)total));
  json_object_set_new(j, "kept_half_sharpe", json_integer((json_int_t)kept));
fail:
  if (w) obj->vt->worker_free(w);
  qt_metric_set_fini(&ms);
  qt_free(x);
  qt_free(u);
  qt_free(x0);
  return r;
}

int qt_validate_study(qt_study *st, const qt_validate_opts *opts, char *buf, size_t cap,
                      qt_err *err) {
  qt_validate_opts o = opts ? *opts : qt_validate_opts_default();
  if (cap) buf[0] = '\0';
  long best = qt_study_best(st);
  if (best < 0)
    return qt_err_set(err, QT_ESTATE, "study '%s' has no complete feasible trial to validate",
                      qt_study_name(st));
  mat m;
  int r = load_matrix(st, &m, err);
  if (r) return r;
  json_t *root = json_object();
  qt_trial_info bi;
  qt_study_trial_info(st, (size_t)best, &bi);
  size_t bcol = m.N;
  for (size_t n = 0; n < m.N; n++)
    if (m.info[n] == (size_t)best) bcol = n;
  if (bcol == m.N || m.T < 4 || m.N < 2) {
    r = qt_err_set(err, QT_ESTATE,
                   "study '%s': %zu trials with %zu-period return series (the best, trial %lld, "
                   "%s); need at least 2 trials and 4 periods",
                   qt_study_name(st), m.N, m.T, (long long)bi.number,
                   bcol == m.N ? "has none" : "included");
    goto fail;
  }
  json_object_set_new(root, "study", json_string(qt_study_name(st)));
  json_object_set_new(root, "best_trial", json_integer((json_int_t)bi.number));
  json_object_set_new(root, "best_params", json_loads(bi.params_json ? bi.params_json : "{}", 0, NULL));
  json_object_set_new(root, "trials", json_integer((json_int_t)m.N));
  json_object_set_new(root, "trials_without_returns", json_integer((json_int_t)m.skipped));
  json_object_set_new(root, "periods", json_integer((json_int_t)m.T));
  json_object_set_new(root, "period_ms", json_integer((json_int_t)m.period_ms));
  json_object_set_new(root, "start_ms", json_integer((json_int_t)m.start_ms));
  if ((r = sharpe_stats(&m, bcol, &o, root, err)) != 0) goto fail;
  if ((r = pbo_stats(&m, &o, root, err)) != 0) goto fail;
  if ((r = spa_stats(&m, &o, root, err)) != 0) goto fail;
  if ((r = top_spread(st, &o, root, err)) != 0) goto fail;
  if (o.objective && (r = neighbourhood(st, best, o.objective, root, err)) != 0) goto fail;
  if (o.objective && o.stability_runs && (r = qt__validate_stability_runs(st, &o, root, err)) != 0)
    goto fail;
  char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  if (!s) {
    r = qt_err_set(err, QT_ENOMEM, "validate: out of memory");
    goto fail;
  }
  if (strlen(s) >= cap) r = qt_err_set(err, QT_EINVAL, "validate: result larger than %zu bytes", cap);
  else memcpy(buf, s, strlen(s) + 1);
  free(s);
fail:
  json_decref(root);
  mat_fini(&m);
  return r;
}

static double jd(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *period_text(int64_t ms, char *b, size_t cap) {
  if (ms % 86400000 == 0) snprintf(b, cap, "%lldd", (long long)(ms / 86400000));
  else if (ms % 3600000 == 0) snprintf(b, cap, "%lldh", (long long)(ms / 3600000));
  else snprintf(b, cap, "%lldmin", (long long)(ms / 60000));
  return b;
}

static void write_spa(FILE *f, const char *what, json_t *a) {
  if (!a) return;
  double rc = jd(a, "rc_p"), spa = jd(a, "spa_p");
  fprintf(f, "  vs %-9s best trial %-5lld Reality Check p = %.3f, SPA p = %.3f: %s\n", what,
          (long long)json_integer_value(json_object_get(a, "best_trial")), rc, spa,
          rc < 0.05 ? "beats it beyond data snooping (RC p < 0.05)"
                    : "not significant after data snooping (RC p >= 0.05)");
}

static void write_runs(FILE *f, json_t *sr) {
  json_t *runs = json_object_get(sr, "runs");
  fprintf(f, "\nstability runs: the study repeated with %zu other seed(s), %lld trials each\n",
          json_array_size(runs) ? json_array_size(runs) - 1 : 0,
          (long long)json_integer_value(json_object_get(sr, "trials")));
  fprintf(f, "  %-28s %12s %6s %10s %9s %9s\n", "study", "seed", "best", "objective", "sharpe",
          "OOS shrp");
  size_t i;
  json_t *v;
  char a[32], b[32], c[32];
  json_array_foreach(runs, i, v) {
    double obj = jd(v, "objective"), sh = jd(v, "sharpe"), os = jd(v, "oos_sharpe");
    snprintf(a, sizeof a, isfinite(obj) ? "%.4g" : "-", obj);
    snprintf(b, sizeof b, isfinite(sh) ? "%.2f" : "-", sh);
    snprintf(c, sizeof c, isfinite(os) ? "%.2f" : "-", os);
    fprintf(f, "  %-28s %12lld %6lld %10s %9s %9s\n", json_string_value(json_object_get(v, "study")),
            (long long)json_integer_value(json_object_get(v, "seed")),
            (long long)json_integer_value(json_object_get(v, "best_trial")), a, b, c);
  }
  size_t unstable = 0, np = 0;
  json_array_foreach(json_object_get(sr, "params"), i, v) {
    double share = jd(v, "sd_share");
    np++;
    unstable += share > 0.25;
    fprintf(f, "  %-24s best values sd %5.1f%% of the range%s\n",
            json_string_value(json_object_get(v, "name")), 100 * share,
            share > 0.25 ? "  (differs between seeds)" : "");
  }
  fprintf(f, "  %zu of %zu parameters differ between seeds by more than 25%% of their range\n",
          unstable, np);
}

int qt_validate_write_table(const char *json, FILE *f, qt_err *err) {
  json_t *j = json_loads(json ? json : "", 0, NULL);
  json_t *sh = json_object_get(j, "sharpe"), *pb = json_object_get(j, "pbo"),
         *sp = json_object_get(j, "spa"), *st = json_object_get(j, "stability"),
         *nb = json_object_get(j, "neighbourhood");
  if (!json_is_object(sh) || !json_is_object(pb)) {
    json_decref(j);
    return qt_err_set(err, QT_EPARSE, "validate: not a validate result");
  }
  char pt[32];
  fprintf(f, "validate: study %s, best trial %lld, %lld trials x %lld returns of %s\n",
          json_string_value(json_object_get(j, "study")),
          (long long)json_integer_value(json_object_get(j, "best_trial")),
          (long long)json_integer_value(json_object_get(j, "trials")),
          (long long)json_integer_value(json_object_get(j, "periods")),
          period_text(json_integer_value(json_object_get(j, "period_ms")), pt, sizeof pt));
  long long skipped = json_integer_value(json_object_get(j, "trials_without_returns"));
  if (skipped) fprintf(f, "  (%lld complete trials without a stored series left out)\n", skipped);
  double dsr = jd(sh, "dsr"), rej = jd(sh, "dsr_reject");
  fprintf(f, "\nSharpe of the best (per period %.4f, annualized %.2f; skew %.2f, kurtosis %.2f)\n",
          jd(sh, "sharpe"), jd(sh, "sharpe_annual"), jd(sh, "skew"), jd(sh, "kurt"));
  fprintf(f, "  PSR (true Sharpe > 0)          %.3f\n", jd(sh, "psr"));
  fprintf(f, "  luck's best Sharpe SR0         %.4f per period (from the %lld trials' variance %.3g)\n",
          jd(sh, "sr0"), (long long)json_integer_value(json_object_get(j, "trials")),
          jd(sh, "sharpe_variance"));
  fprintf(f, "  deflated Sharpe ratio (DSR)    %.3f: %s\n", dsr,
          dsr >= rej ? "skill beyond the selection (DSR >= threshold)"
                     : "REJECTED: within what selection luck gives");
  double trl = jd(sh, "min_trl_periods"), btl = jd(sh, "min_btl_years"), yrs = jd(sh, "data_years");
  if (isfinite(trl)) fprintf(f, "  minimum track record (95%%)     %.0f periods (have %lld)\n", ceil(trl),
                            (long long)json_integer_value(json_object_get(j, "periods")));
  else fprintf(f, "  minimum track record (95%%)     - (the best's Sharpe is not positive)\n");
  if (isfinite(btl))
    fprintf(f, "  minimum backtest length        %.2f years for this many trials (have %.2f): %s\n",
            btl, yrs, btl > yrs ? "too many trials for this much data" : "enough data");
  if (json_object_get(pb, "skipped")) {
    fprintf(f, "\nPBO: skipped (%s)\n", json_string_value(json_object_get(pb, "skipped")));
  } else {
    double pbo = jd(pb, "pbo");
    fprintf(f, "\nprobability of backtest overfitting (CSCV, S = %lld, %lld splits)\n",
            (long long)json_integer_value(json_object_get(pb, "blocks")),
            (long long)json_integer_value(json_object_get(pb, "combinations")));
    fprintf(f, "  PBO                            %.3f: %s\n", pbo,
            pbo >= jd(pb, "pbo_reject")
                ? "REJECTED: the in-sample best is below the median out of sample too often"
                : "the in-sample best mostly stays above the median out of sample");
    fprintf(f, "  logit quartiles                %.2f / %.2f / %.2f\n", jd(pb, "logit_q25"),
            jd(pb, "logit_median"), jd(pb, "logit_q75"));
    fprintf(f, "  logit distribution             ");
    json_t *bins = json_object_get(pb, "logit_bins");
    size_t tot = 0, i;
    json_t *v;
    json_array_foreach(bins, i, v) tot += (size_t)json_integer_value(v);
    json_array_foreach(bins, i, v) {
      fprintf(f, "%s[%+d,%+d) %.0f%%", i ? " " : "", (int)i - 4, (int)i - 3,
              tot ? 100.0 * (double)json_integer_value(v) / (double)tot : 0.0);
    }
    fprintf(f, "\n  degradation                    OOS Sharpe = %.3f + %.3f x IS Sharpe; IS mean "
            "%.4f -> OOS mean %.4f; OOS loss in %.0f%% of splits\n",
            jd(pb, "intercept"), jd(pb, "slope"), jd(pb, "is_sharpe_mean"),
            jd(pb, "oos_sharpe_mean"), 100 * jd(pb, "p_loss"));
  }
  if (sp) {
    fprintf(f, "\ndata snooping (stationary bootstrap, %lld resamples, mean block %.0f, seed %lld)\n",
            (long long)json_integer_value(json_object_get(sp, "n_boot")), jd(sp, "mean_block"),
            (long long)json_integer_value(json_object_get(sp, "seed")));
    write_spa(f, "flat", json_object_get(sp, "flat"));
    write_spa(f, "buy-hold", json_object_get(sp, "buy_hold"));
  }
  if (st) {
    fprintf(f, "\nparameter spread of the top %lld (SD as a share of the searched range)\n",
            (long long)json_integer_value(json_object_get(st, "top_n")));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(st, "params"), i, v) {
      double share = jd(v, "sd_share");
      fprintf(f, "  %-24s %10.4g .. %-10.4g sd %-9.3g %5.1f%%%s\n",
              json_string_value(json_object_get(v, "name")), jd(v, "min"), jd(v, "max"),
              jd(v, "sd"), 100 * share, share > 0.25 ? "  (unstable)" : "");
    }
  }
  if (nb) {
    fprintf(f, "\nneighbourhood of the best (each parameter one step or 5%% either way)\n");
    fprintf(f, "  best: sharpe %.3f, total_profit %.2f\n", jd(nb, "best_sharpe"),
            jd(nb, "best_total_profit"));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(nb, "neighbours"), i, v)
      fprintf(f, "  %-24s = %-10.5g sharpe %8.3f  total_profit %10.2f\n",
              json_string_value(json_object_get(v, "param")), jd(v, "value"), jd(v, "sharpe"),
              jd(v, "total_profit"));
    fprintf(f, "  %lld of %lld neighbours keep at least half the best's Sharpe\n",
            (long long)json_integer_value(json_object_get(nb, "kept_half_sharpe")),
            (long long)json_integer_value(json_object_get(nb, "n")));
  }
  json_t *sr = json_object_get(j, "stability_runs");
  if (sr) write_runs(f, sr);
  json_decref(j);
  return ferror(f) ? qt_err_set(err, QT_EIO, "validate: write failed") : QT_OK;
}
