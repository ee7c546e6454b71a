/* Holdout: the split of a study's market, the out-of-sample run of its top
 * trials through the same objective, Spearman's rank correlation (mid-ranks
 * on ties), the joint normalization that makes two studies' scores
 * comparable, and the stored JSON with its table.  Formulas: docs/validate.md
 * ("Out of sample in every study"). */
#include "qtune/validate.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the split ---- */
int qt_holdout_parse_fraction(const char *text, double *out_frac, qt_err *err) {
  *out_frac = 0;
  if (!text || !*text) return qt_err_set(err, QT_EINVAL, "--holdout: empty (e.g. 25%% or 0.25)");
  char *end;
  double v = strtod(text, &end);
  int pct = *end == '%';
  if (pct) v /= 100, end++;
  if (end == text || *end || !isfinite(v) || v <= 0 || v >= 1)
    return qt_err_set(err, QT_EINVAL,
                      "--holdout '%s': the share held out must be in (0, 1) or (0%%, 100%%), "
                      "e.g. 25%% or 0.25",
                      text);
  *out_frac = v;
  return QT_OK;
}

static int split_fill(const int64_t *ts, size_t from_i, size_t split_i, size_t to_i,
                      qt_holdout_split *out, qt_err *err, const char *why) {
  memset(out, 0, sizeof *out);
  if (to_i <= from_i || split_i < from_i + 2 || split_i + 2 > to_i) {
    char t0[40] = "-", t1[40] = "-";
    if (to_i > from_i) {
      qt_time_format(ts[from_i], t0, sizeof t0);
      qt_time_format(ts[to_i - 1], t1, sizeof t1);
    }
    return qt_err_set(err, QT_EINVAL,
                      "holdout: %s leaves %zu bar(s) in sample and %zu out of sample of the %zu "
                      "traded bars %s .. %s (each side needs at least 2)",
                      why, split_i > from_i ? split_i - from_i : 0,
                      to_i > split_i ? to_i - split_i : 0, to_i > from_i ? to_i - from_i : 0, t0,
                      t1);
  }
  out->from_i = from_i;
  out->split_i = split_i;
  out->to_i = to_i;
  out->from_ms = ts[from_i];
  out->in_last_ms = ts[split_i - 1];
  out->split_ms = ts[split_i];
  out->to_ms = ts[to_i - 1];
  return QT_OK;
}

int qt_holdout_split_fraction(const int64_t *ts_ms, size_t from_i, size_t to_i, double frac,
                              qt_holdout_split *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  if (!(frac > 0 && frac < 1))
    return qt_err_set(err, QT_EINVAL, "holdout: share %g is not in (0, 1)", frac);
  size_t n = to_i > from_i ? to_i - from_i : 0;
  size_t n_oos = (size_t)llround(frac * (double)n);
  char why[64];
  snprintf(why, sizeof why, "holding out %g%%", frac * 100);
  return split_fill(ts_ms, from_i, to_i - (n_oos < n ? n_oos : n), to_i, out, err, why);
}

int qt_holdout_split_time(const int64_t *ts_ms, size_t from_i, size_t to_i, int64_t test_from_ms,
                          qt_holdout_split *out, qt_err *err) {
  size_t lo = from_i, hi = to_i; /* first bar opening at or after test_from_ms */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ts_ms[mid] < test_from_ms) lo = mid + 1;
    else hi = mid;
  }
  char t[40], why[80];
  snprintf(why, sizeof why, "--test-from %s", qt_time_format(test_from_ms, t, sizeof t));
  return split_fill(ts_ms, from_i, lo, to_i, out, err, why);
}

/* ---- ranks and Spearman ---- */
typedef struct iv {
  double v;
  size_t i;
} iv;

static int iv_cmp(const void *a, const void *b) {
  const iv *x = a, *y = b;
  return x->v < y->v ? -1 : x->v > y->v ? 1 : (x->i > y->i) - (x->i < y->i);
}

int qt_holdout_ranks(const double *v, size_t n, double *out_rank, qt_err *err) {
  iv *s = qt_malloc((n ? n : 1) * sizeof *s);
  if (!s) return qt_err_set(err, QT_ENOMEM, "ranking %zu values: out of memory", n);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    out_rank[i] = NAN;
    if (!isnan(v[i])) s[m].v = v[i], s[m].i = i, m++;
  }
  qsort(s, m, sizeof *s, iv_cmp);
  for (size_t a = 0; a < m;) {
    size_t b = a;
    while (b + 1 < m && s[b + 1].v == s[a].v) b++;
    double mid = (double)(a + b) / 2 + 1; /* ranks a+1 .. b+1 share their mean */
    for (size_t k = a; k <= b; k++) out_rank[s[k].i] = mid;
    a = b + 1;
  }
  qt_free(s);
  return QT_OK;
}

int qt_holdout_spearman(const double *a, const double *b, size_t n, double *out_rho,
                        qt_err *err) {
  *out_rho = NAN;
  int r = QT_ENOMEM;
  double *fa = qt_malloc((n ? n : 1) * sizeof *fa), *fb = qt_malloc((n ? n : 1) * sizeof *fb);
  double *ra = qt_malloc((n ? n : 1) * sizeof *ra), *rb = qt_malloc((n ? n : 1) * sizeof *rb);
  if (!fa || !fb || !ra || !rb) {
    qt_err_set(err, QT_ENOMEM, "Spearman over %zu pairs: out of memory", n);
    goto fail;
  }
  size_t m = 0; /* the pairs where both are finite, then ranked among themselves */
  for (size_t i = 0; i < n; i++)
    if (isfinite(a[i]) && isfinite(b[i])) fa[m] = a[i], fb[m] = b[i], m++;
  if ((r = qt_holdout_ranks(fa, m, ra, err)) || (r = qt_holdout_ranks(fb, m, rb, err))) goto fail;
  if (m >= 2) {
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < m; i++) ma += ra[i], mb += rb[i];
    ma /= (double)m;
    mb /= (double)m;
    for (size_t i = 0; i < m; i++) {
      sab += (ra[i] - ma) * (rb[i] - mb);
      saa += (ra[i] - ma) * (ra[i] - ma);
      sbb += (rb[i] - mb) * (rb[i] - mb);
    }
    if (saa > 0 && sbb > 0) *out_rho = sab / sqrt(saa * sbb);
  }
  r = QT_OK;
fail:
  qt_free(fa);
  qt_free(fb);
  qt_free(ra);
  qt_free(rb);
  return r;
}

/* ---- joint normalization ---- */
int qt_holdout_joint_scores(const qt_goal *g, const double *vals_a, size_t n_a,
                            const double *vals_b, size_t n_b, double *out_a, double *out_b,
                            qt_err *err) {
  size_t nt = g->n_terms, n = n_a + n_b;
  double *all = qt_malloc((n * nt > 0 ? n * nt : 1) * sizeof *all);
  if (!all) return qt_err_set(err, QT_ENOMEM, "joint scores of %zu trials: out of memory", n);
  if (n_a * nt > 0) memcpy(all, vals_a, n_a * nt * sizeof *all);
  if (n_b * nt > 0) memcpy(all + n_a * nt, vals_b, n_b * nt * sizeof *all);
  qt_norm nm;
  qt_norm_refresh(&nm, g, all, n);
  for (size_t r = 0; r < n_a; r++) out_a[r] = qt_norm_score(&nm, g, vals_a + r * nt);
  for (size_t r = 0; r < n_b; r++) out_b[r] = qt_norm_score(&nm, g, vals_b + r * nt);
  qt_free(all);
  return QT_OK;
}

/* ---- running the top N out of sample ---- */
qt_holdout_opts qt_holdout_opts_default(void) {
  qt_holdout_opts o = {10};
  return o;
}

static double jnum(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static json_t *jreal(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *metrics_obj(const qt_metric_set *m) {
  json_t *o = json_object();
  for (size_t k = 0; o && k < m->n; k++) json_object_set_new(o, m->v[k].name, jreal(m->v[k].value));
  return o;
}

/* The objective of each row on one side ("is" or "oos"): the metric, or the
 * weighted score normalized over these rows, the same way on both sides (the
 * study's own score is normalized over all its trials and vetoes infeasible
 * ones, which would leave nothing to rank). */
static void side_objectives(const qt_goal *g, json_t *trials, const char *side, double *vals,
                            double *out) {
  size_t n = json_array_size(trials), nt = g->n_terms;
  int score = !strcmp(g->metric, "score");
  for (size_t r = 0; r < n; r++) {
    json_t *m = json_object_get(json_array_get(trials, r), side);
    if (!score) out[r] = jnum(m, g->metric);
    for (size_t k = 0; score && k < nt; k++) vals[r * nt + k] = jnum(m, g->terms[k].metric);
  }
  if (!score) return;
  qt_norm nm;
  qt_norm_refresh(&nm, g, vals, n);
  for (size_t r = 0; r < n; r++)
    out[r] = json_object_size(json_object_get(json_array_get(trials, r), side))
                 ? qt_norm_score(&nm, g, vals + r * nt)
                 : NAN; /* the objective failed on it: no score */
}

int qt_holdout_run(const qt_study *st, const qt_objective *oos, const qt_holdout_split *split,
                   const qt_holdout_opts *opts, char *buf, size_t cap, qt_err *err) {
  if (cap) buf[0] = 0;
  qt_holdout_opts o = opts ? *opts : qt_holdout_opts_default();
  const qt_goal *g = qt_study_goal(st);
  const qt_space *sp = qt_study_space(st);
  size_t n_all = qt_study_n_trials(st), n = 0, nd = sp ? qt_space_n(sp) : 0;
  size_t *idx = qt_malloc((n_all ? n_all : 1) * sizeof *idx);
  double *x = qt_malloc((nd ? nd : 1) * sizeof *x), *u = qt_malloc((nd ? nd : 1) * sizeof *u);
  double *vals = NULL, *is_obj = NULL, *oos_obj = NULL;
  void *w = NULL;
  json_t *root = NULL, *trials = NULL;
  char *s = NULL;
  qt_metric_set ms;
  qt_metric_set_init(&ms);
  int r = QT_ENOMEM;
  if (!idx || !x || !u) goto oom;
  if ((r = qt_study_rank(st, idx, n_all, &n, err))) goto fail;
  if (n == 0 || !sp) {
    r = qt_err_set(err, QT_ESTATE, "holdout: study '%s' has no complete trial to test",
                   qt_study_name(st));
    goto fail;
  }
  if (o.top_n && n > o.top_n) n = o.top_n;
  if ((r = oos->vt->worker_new(oos->shared, &w, err))) goto fail;
  r = QT_ENOMEM;
  vals = qt_calloc(n * (g->n_terms ? g->n_terms : 1), sizeof *vals);
  is_obj = qt_calloc(n, sizeof *is_obj);
  oos_obj = qt_calloc(n, sizeof *oos_obj);
  if (!(root = json_object()) || !(trials = json_array()) || !vals || !is_obj || !oos_obj) goto oom;
  for (size_t k = 0; k < n; k++) {
    qt_trial_info ti;
    qt_study_trial_info(st, idx[k], &ti);
    if ((r = qt_space_params_from_json(sp, ti.params_json ? ti.params_json : "{}", x, err)))
      goto fail;
    for (size_t d = 0; d < nd; d++) u[d] = qt_space_to_user(sp, d, x[d]);
    qt_metric_set_clear(&ms);
    qt_err te = {0};
    /* the trial's own seed does not matter to a backtest; number keeps it stable */
    int er = oos->vt->eval(w, sp, x, u, (uint64_t)ti.number, &ms, &te);
    json_t *row = json_object(), *ism = ti.metrics_json ? json_loads(ti.metrics_json, 0, NULL) : NULL;
    if (!row) goto oom;
    json_array_append_new(trials, row);
    json_object_set_new(row, "number", json_integer(ti.number));
    json_object_set_new(row, "study_objective", jreal(ti.objective));
    json_object_set_new(row, "is", ism ? ism : json_object());
    if (er) {
      json_object_set_new(row, "oos", json_object());
      json_object_set_new(row, "oos_feasible", json_false());
      json_object_set_new(row, "oos_reason", json_string(te.msg));
      continue;
    }
    char why[512];
    int nv = qt_goal_reason(g, &ms, why, sizeof why);
    json_object_set_new(row, "oos", metrics_obj(&ms));
    json_object_set_new(row, "oos_feasible", json_boolean(nv == 0));
    if (nv) json_object_set_new(row, "oos_reason", json_string(why));
  }
  side_objectives(g, trials, "is", vals, is_obj);
  side_objectives(g, trials, "oos", vals, oos_obj);
  for (size_t k = 0; k < n; k++) {
    json_t *row = json_array_get(trials, k);
    json_object_set_new(row, "is_objective", jreal(is_obj[k]));
    json_object_set_new(row, "oos_objective", jreal(oos_obj[k]));
  }
  double rho;
  if ((r = qt_holdout_spearman(is_obj, oos_obj, n, &rho, err))) goto fail;
  r = QT_ENOMEM;
  char t0[40], t1[40], t2[40];
  char t3[40];
  json_t *spl = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "from", qt_time_format(split->from_ms, t0, sizeof t0),
                          "in_last", qt_time_format(split->in_last_ms, t3, sizeof t3),
                          "split", qt_time_format(split->split_ms, t1, sizeof t1), "to",
                          qt_time_format(split->to_ms, t2, sizeof t2), "in_bars",
                          (json_int_t)(split->split_i - split->from_i), "oos_bars",
                          (json_int_t)(split->to_i - split->split_i));
  if (!spl) goto oom;
  json_object_set_new(root, "split", spl);
  json_object_set_new(root, "objective", json_string(g->metric));
  json_object_set_new(root, "maximize", json_boolean(g->maximize));
  json_object_set_new(root, "spearman", jreal(rho));
  json_object_set(root, "trials", trials);
  if (!(s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)))) goto oom;
  if (strlen(s) >= cap) {
    r = qt_err_set(err, QT_EINVAL, "holdout: %zu bytes of results do not fit in %zu", strlen(s), cap);
    goto fail;
  }
  memcpy(buf, s, strlen(s) + 1);
  r = QT_OK;
  goto fail;
oom:
  r = qt_err_set(err, QT_ENOMEM, "holdout: out of memory");
fail:
  if (w) oos->vt->worker_free(w);
  qt_metric_set_fini(&ms);
  free(s);
  json_decref(trials);
  json_decref(root);
  qt_free(idx);
  qt_free(x);
  qt_free(u);
  qt_free(vals);
  qt_free(is_obj);
  qt_free(oos_obj);
  return r;
}

/* ---- stored with the study ---- */
int qt_holdout_store(qt_study *st, const char *holdout_json, qt_err *err) {
  qt_storage *sto = qt_study_storage(st);
  qt_study_rec rec;
  memset(&rec, 0, sizeof rec);
  json_t *c = NULL, *h = json_loads(holdout_json, 0, NULL);
  char *s = NULL;
  int r;
  if (!json_is_object(h)) {
    r = qt_err_set(err, QT_EPARSE, "holdout of study '%s': not a JSON object", qt_study_name(st));
    goto done;
  }
  /* re-read: the config on disk, not the copy this process opened with */
  if ((r = sto->vt->study_load(sto->self, qt_study_name(st), &rec, err))) goto done;
  c = rec.config_json ? json_loads(rec.config_json, 0, NULL) : json_object();
  if (!json_is_object(c)) {
    r = qt_err_set(err, QT_EPARSE, "study '%s': its stored config is not a JSON object",
                   qt_study_name(st));
    goto done;
  }
  json_object_set(c, "holdout", h);
  if (!(s = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)))) {
    r = qt_err_set(err, QT_ENOMEM, "holdout: out of memory");
    goto done;
  }
  r = sto->vt->study_set_config(sto->self, rec.id, s, err);
done:
  free(s);
  json_decref(c);
  json_decref(h);
  qt_study_rec_fini(&rec);
  return r;
}

int qt_holdout_load(const qt_study *st, char *buf, size_t cap, qt_err *err) {
  if (cap) buf[0] = 0;
  const char *cfg = qt_study_config_json(st);
  json_t *c = cfg ? json_loads(cfg, 0, NULL) : NULL, *h = json_object_get(c, "holdout");
  char *s = h ? json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) : NULL;
  int r = QT_OK;
  if (!h) r = qt_err_set(err, QT_ENOTFOUND, "study '%s' has no holdout (run optimize with --holdout)",
                         qt_study_name(st));
  else if (!s) r = qt_err_set(err, QT_ENOMEM, "holdout: out of memory");
  else if (strlen(s) >= cap)
    r = qt_err_set(err, QT_EINVAL, "holdout: %zu bytes do not fit in %zu", strlen(s), cap);
  else memcpy(buf, s, strlen(s) + 1);
  free(s);
  json_decref(c);
  return r;
}

/* ---- the table ---- */
static void cell(char *b, size_t cap, double v) {
  if (isnan(v)) snprintf(b, cap, "-");
  else snprintf(b, cap, "%.4g", v);
}

/* The metrics a user reads first, then every other the trial has. */
static const char *const k_first[] = {"sharpe", "total_profit", "total_return", "calmar",
                                      "max_drawdown", "win_rate", "profit_factor", "trades"};

int qt_holdout_write_table(const char *holdout_json, FILE *f, qt_err *err) {
  json_t *h = json_loads(holdout_json ? holdout_json : "", 0, NULL);
  json_t *spl = json_object_get(h, "split"), *trials = json_object_get(h, "trials");
  if (!json_is_object(spl) || !json_is_array(trials) || !json_array_size(trials)) {
    json_decref(h);
    return qt_err_set(err, QT_EPARSE, "holdout: not a holdout result (no split or no trials)");
  }
  const char *obj = json_string_value(json_object_get(h, "objective"));
  obj = obj ? obj : "objective";
  json_t *best = json_array_get(trials, 0), *bi = json_object_get(best, "is"),
         *bo = json_object_get(best, "oos");
  fprintf(f, "\nholdout: in sample %s .. %s (%lld bars), out of sample %s .. %s (%lld bars)\n",
          json_string_value(json_object_get(spl, "from")),
          json_string_value(json_object_get(spl, "in_last")),
          (long long)json_integer_value(json_object_get(spl, "in_bars")),
          json_string_value(json_object_get(spl, "split")),
          json_string_value(json_object_get(spl, "to")),
          (long long)json_integer_value(json_object_get(spl, "oos_bars")));
  fprintf(f, "best trial %lld in and out of sample:\n",
          (long long)json_integer_value(json_object_get(best, "number")));
  fprintf(f, "  %-16s %12s %12s %12s\n", "metric", "in sample", "out", "change");
  char a[32], b[32], c[32];
  size_t nf = sizeof k_first / sizeof k_first[0];
  for (size_t k = 0; k < nf; k++) {
    double vi = jnum(bi, k_first[k]), vo = jnum(bo, k_first[k]);
    if (!json_object_get(bi, k_first[k]) && !json_object_get(bo, k_first[k])) continue;
    cell(a, sizeof a, vi), cell(b, sizeof b, vo), cell(c, sizeof c, vo - vi);
    fprintf(f, "  %-16s %12s %12s %12s\n", k_first[k], a, b, c);
  }
  const char *key;
  json_t *v;
  json_object_foreach(bi, key, v) {
    int shown = 0;
    for (size_t k = 0; k < nf; k++) shown |= !strcmp(key, k_first[k]);
    if (shown || !strcmp(key, "violations")) continue;
    double vi = jnum(bi, key), vo = jnum(bo, key);
    cell(a, sizeof a, vi), cell(b, sizeof b, vo), cell(c, sizeof c, vo - vi);
    fprintf(f, "  %-16s %12s %12s %12s\n", key, a, b, c);
  }
  const char *why = json_string_value(json_object_get(best, "oos_reason"));
  fprintf(f, "  out-of-sample constraints: %s%s%s\n",
          json_is_true(json_object_get(best, "oos_feasible")) ? "hold" : "fail",
          why ? ": " : "", why ? why : "");
  size_t n = json_array_size(trials);
  fprintf(f, "top %zu in and out of sample (%s%s):\n", n, obj,
          strcmp(obj, "score") ? "" : ", each side normalized over these trials");
  fprintf(f, "  %4s %6s %12s %12s %10s %10s\n", "rank", "trial", "in", "out", "sharpe in",
          "sharpe out");
  for (size_t k = 0; k < n; k++) {
    json_t *t = json_array_get(trials, k);
    char d[32];
    cell(a, sizeof a, jnum(t, "is_objective"));
    cell(b, sizeof b, jnum(t, "oos_objective"));
    cell(c, sizeof c, jnum(json_object_get(t, "is"), "sharpe"));
    cell(d, sizeof d, jnum(json_object_get(t, "oos"), "sharpe"));
    fprintf(f, "  %4zu %6lld %12s %12s %10s %10s\n", k + 1,
            (long long)json_integer_value(json_object_get(t, "number")), a, b, c, d);
  }
  double rho = jnum(h, "spearman"), si = jnum(bi, "sharpe"), so = jnum(bo, "sharpe");
  cell(a, sizeof a, rho);
  fprintf(f, "in/out rank correlation (Spearman) of the top %zu: %s\n", n, a);
  /* the verdict: does the in-sample choice hold up on data it never saw? */
  const char *verdict;
  if (isnan(so) || so <= 0)
    verdict = "the best loses out of sample: do not trust it";
  else if (isnan(rho) || rho < 0.3)
    verdict = "the best is positive out of sample, but the in-sample ranking does not carry "
              "(rank correlation < 0.3): likely selection luck";
  else if (!json_is_true(json_object_get(best, "oos_feasible")))
    verdict = "the best is positive out of sample but fails its constraints there: not proven";
  else if (!isnan(si) && si > 0 && so < 0.5 * si)
    verdict = "the ranking carries, but out of sample keeps less than half the in-sample "
              "Sharpe: expect degradation";
  else
    verdict = "holds out of sample (positive Sharpe, ranking carries)";
  if (!isnan(si) && si > 0 && !isnan(so))
    fprintf(f, "out of sample the best keeps %.0f%% of its in-sample Sharpe\n", 100 * so / si);
  fprintf(f, "verdict: %s\n", verdict);
  json_decref(h);
  if (ferror(f)) return qt_err_set(err, QT_EIO, "holdout: writing the table failed");
  return QT_OK;
}

/* ---- two studies under one normalization ---- */
static int goal_same(const qt_goal *a, const qt_goal *b, qt_err *err) {
  if (strcmp(a->metric, b->metric))
    return qt_err_set(err, QT_EINVAL, "compare: objectives differ ('%s' vs '%s')", a->metric,
                      b->metric);
  if (a->maximize != b->maximize)
    return qt_err_set(err, QT_EINVAL, "compare: directions differ (%s vs %s)",
                      a->maximize ? "maximize" : "minimize", b->maximize ? "maximize" : "minimize");
  if (!strcmp(a->metric, "score")) {
    int same = a->n_terms == b->n_terms;
    for (size_t k = 0; same && k < a->n_terms; k++)
      same = !strcmp(a->terms[k].metric, b->terms[k].metric) &&
             a->terms[k].weight == b->terms[k].weight;
    if (!same) return qt_err_set(err, QT_EINVAL, "compare: the score weights differ");
  }
  return QT_OK;
}

/* Term values (or the metric) of st's complete trials into *out_vals. */
static int side_vals(const qt_study *st, const qt_goal *g, double **out_vals, size_t **out_idx,
                     size_t *out_n, qt_err *err) {
  size_t n_all = qt_study_n_trials(st), nt = strcmp(g->metric, "score") ? 1 : g->n_terms, n = 0;
  double *vals = qt_malloc((n_all * nt > 0 ? n_all * nt : 1) * sizeof *vals);
  size_t *idx = qt_malloc((n_all ? n_all : 1) * sizeof *idx);
  *out_vals = vals;
  *out_idx = idx;
  *out_n = 0;
  if (!vals || !idx) return qt_err_set(err, QT_ENOMEM, "compare: out of memory");
  for (size_t i = 0; i < n_all; i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    if (ti.state != QT_TRIAL_COMPLETE) continue;
    json_t *m = ti.metrics_json ? json_loads(ti.metrics_json, 0, NULL) : NULL;
    for (size_t k = 0; k < nt; k++)
      vals[n * nt + k] = jnum(m, nt == 1 && strcmp(g->metric, "score") ? g->metric : g->terms[k].metric);
    json_decref(m);
    idx[n++] = i;
  }
  *out_n = n;
  return QT_OK;
}

static void side_best(const qt_study *st, const qt_goal *g, const size_t *idx, const double *sc,
                      size_t n, qt_compare_side *out) {
  out->best = -1;
  out->best_score = NAN;
  out->n_complete = n;
  int best_feas = 0;
  for (size_t r = 0; r < n; r++) {
    qt_trial_info ti;
    qt_study_trial_info(st, idx[r], &ti);
    double v = sc[r];
    if (isnan(v)) continue;
    int better = out->best < 0 || (ti.feasible && !best_feas) ||
                 (ti.feasible == best_feas && (g->maximize ? v > out->best_score : v < out->best_score));
    if (better) out->best = (long)idx[r], out->best_score = v, best_feas = ti.feasible;
  }
}

int qt_holdout_compare(const qt_study *a, const qt_study *b, qt_compare_side *out_a,
                       qt_compare_side *out_b, qt_err *err) {
  memset(out_a, 0, sizeof *out_a);
  memset(out_b, 0, sizeof *out_b);
  out_a->best = out_b->best = -1;
  const qt_goal *g = qt_study_goal(a);
  double *va = NULL, *vb = NULL, *sa = NULL, *sb = NULL;
  size_t *ia = NULL, *ib = NULL, na = 0, nb = 0;
  int r = goal_same(g, qt_study_goal(b), err);
  if (r) return r;
  if ((r = side_vals(a, g, &va, &ia, &na, err)) || (r = side_vals(b, g, &vb, &ib, &nb, err)))
    goto done;
  sa = qt_malloc((na ? na : 1) * sizeof *sa);
  sb = qt_malloc((nb ? nb : 1) * sizeof *sb);
  if (!sa || !sb) {
    r = qt_err_set(err, QT_ENOMEM, "compare: out of memory");
    goto done;
  }
  if (!strcmp(g->metric, "score")) {
    if ((r = qt_holdout_joint_scores(g, va, na, vb, nb, sa, sb, err))) goto done;
  } else {
    memcpy(sa, va, na * sizeof *sa);
    memcpy(sb, vb, nb * sizeof *sb);
  }
  side_best(a, g, ia, sa, na, out_a);
  side_best(b, g, ib, sb, nb, out_b);
done:
  qt_free(va);
  qt_free(vb);
  qt_free(sa);
  qt_free(sb);
  qt_free(ia);
  qt_free(ib);
  return r;
}
