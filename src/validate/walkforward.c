/* Walk-forward: windows of train + test spans over one loaded market; per
 * window a stored study (NAME/w01, ...) searches the train span, its best
 * runs on the following test span (earlier bars warm the indicators up),
 * and the test spans' equity curves are chained into one out-of-sample
 * curve whose metrics are the number to believe.  A window study that
 * already has its trials is not re-run (the walk-forward resumes), and with
 * warm_start a new window's study first evaluates the previous window's top
 * trials' params.  Formulas and output: docs/validate.md. */
#include "qtune/validate.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

qt_wf_opts qt_wf_opts_default(void) {
  qt_wf_opts o;
  memset(&o, 0, sizeof o);
  o.n_trials = 200;
  o.warm_top = 5;
  qt_goal_default(&o.goal, 1);
  return o;
}

/* First bar opening at or after t in ts[lo, hi). */
static size_t lower_bound(const int64_t *ts, size_t lo, size_t hi, int64_t t) {
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ts[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

int qt_wf_windows(const int64_t *ts_ms, size_t from_i, size_t to_i, const qt_wf_opts *o,
                  qt_wf_window *out, size_t cap, size_t *out_n, qt_err *err) {
  *out_n = 0;
  int64_t step = o->step_ms ? o->step_ms : o->test_ms;
  if (o->train_ms <= 0 || o->test_ms <= 0 || step <= 0)
    return qt_err_set(err, QT_EINVAL, "walk-forward: --train and --test must be > 0");
  if (step < o->test_ms)
    return qt_err_set(err, QT_EINVAL,
                      "walk-forward: --step shorter than --test makes the test spans overlap "
                      "(they could not be chained into one out-of-sample curve)");
  if (to_i <= from_i + 1) return qt_err_set(err, QT_EINVAL, "walk-forward: no bars to split");
  /* test spans end by the end of the last bar (its open + the bar interval) */
  int64_t t0 = ts_ms[from_i], t_end = ts_ms[to_i - 1] + (ts_ms[to_i - 1] - ts_ms[to_i - 2]);
  size_t n = 0;
  for (size_t k = 0;; k++) {
    int64_t tr0 = o->anchored ? t0 : t0 + (int64_t)k * step;
    int64_t tr1 = t0 + (int64_t)k * step + o->train_ms, te1 = tr1 + o->test_ms;
    if (te1 > t_end) break;
    if (n == cap)
      return qt_err_set(err, QT_EINVAL, "walk-forward: more than %zu windows (use a longer --step)",
                        cap);
    qt_wf_window *w = &out[n];
    w->train_from = lower_bound(ts_ms, from_i, to_i, tr0);
    w->train_to = w->test_from = lower_bound(ts_ms, from_i, to_i, tr1);
    w->test_to = lower_bound(ts_ms, from_i, to_i, te1);
    if (w->train_to - w->train_from < 2 || w->test_to - w->test_from < 2)
      return qt_err_set(err, QT_EINVAL,
                        "walk-forward: window %zu has %zu train and %zu test bars (need 2 each)",
                        n + 1, w->train_to - w->train_from, w->test_to - w->test_from);
    n++;
  }
  if (!n) {
    char a[32], b[32];
    return qt_err_set(err, QT_EINVAL,
                      "walk-forward: the data (%s) is shorter than one --train + --test (%s)",
                      qt_duration_format(t_end - t0, a, sizeof a),
                      qt_duration_format(o->train_ms + o->test_ms, b, sizeof b));
  }
  *out_n = n;
  return QT_OK;
}

/* The strategy's params (spec order) of internal point x, as the backtest
 * objective builds them: categoricals as their index, others in user units. */
static void spec_params(const qt_strategy_vtbl *s, const qt_space *sp, const double *x,
                        double *p) {
  qt_strategy_defaults(s, p);
  for (size_t i = 0; i < s->n_params; i++) {
    int k = qt_space_index(sp, s->params[i].name);
    if (k < 0) continue;
    p[i] = s->params[i].type == QT_PARAM_CAT ? x[k] : qt_space_to_user(sp, (size_t)k, x[k]);
  }
}

static const char *const k_shown[] = {"sharpe", "total_return", "max_drawdown", "trades",
                                      "profit_factor", "win_rate"};
#define N_SHOWN (sizeof k_shown / sizeof k_shown[0])

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *metrics_obj(const qt_metrics *m) {
  json_t *o = json_object();
  for (size_t k = 0; k < N_SHOWN; k++)
    json_object_set_new(o, k_shown[k], jnum(qt_metrics_get(m, qt_metrics_index(k_shown[k]))));
  return o;
}

static json_t *metrics_json_shown(const char *metrics_json) {
  json_t *all = json_loads(metrics_json ? metrics_json : "{}", 0, NULL), *o = json_object();
  for (size_t k = 0; k < N_SHOWN; k++) {
    json_t *v = json_object_get(all, k_shown[k]);
    json_object_set_new(o, k_shown[k], json_is_number(v) ? json_real(json_number_value(v)) : json_null());
  }
  json_decref(all);
  return o;
}

/* The stitched out-of-sample run: the test spans' bars, equity chained
 * (each window starts at the previous one's end), trades scaled alike. */
typedef struct stitch {
  int64_t *ts;
  double *eq, *ex, *close;
  size_t n, cap;
  qt_trade_rec *tr;
  size_t ntr, captr;
  double fees, funding, cash, end;
  int64_t interval_ms;
} stitch;

static int stitch_add(stitch *S, const qt_result *r, const double *close, qt_err *err) {
  double f = S->end / r->start_cash;
  if (S->n + r->n_bars > S->cap) {
    size_t cap = (S->n + r->n_bars) * 2;
    int64_t *ts = qt_realloc(S->ts, cap * sizeof *ts);
    if (ts) S->ts = ts;
    double *eq = ts ? qt_realloc(S->eq, cap * sizeof *eq) : NULL;
    if (eq) S->eq = eq;
    double *ex = eq ? qt_realloc(S->ex, cap * sizeof *ex) : NULL;
    if (ex) S->ex = ex;
    double *cl = ex ? qt_realloc(S->close, cap * sizeof *cl) : NULL;
    if (!cl) return qt_err_set(err, QT_ENOMEM, "walk-forward: out of memory");
    S->close = cl;
    S->cap = cap;
  }
  for (size_t i = 0; i < r->n_bars; i++) {
    S->ts[S->n + i] = r->ts_ms[i];
    S->eq[S->n + i] = r->equity[i] * f;
    S->ex[S->n + i] = r->exposure ? r->exposure[i] : 0;
    S->close[S->n + i] = close[i];
  }
  S->n += r->n_bars;
  if (S->ntr + r->n_trades > S->captr) {
    size_t cap = (S->ntr + r->n_trades) * 2 + 16;
    qt_trade_rec *t = qt_realloc(S->tr, cap * sizeof *t);
    if (!t) return qt_err_set(err, QT_ENOMEM, "walk-forward: out of memory");
    S->tr = t;
    S->captr = cap;
  }
  for (size_t i = 0; i < r->n_trades; i++) {
    qt_trade_rec t = r->trades[i];
    t.qty *= f, t.pnl *= f, t.fees *= f, t.funding *= f;
    S->tr[S->ntr++] = t;
  }
  S->fees += r->fees_paid * f;
  S->funding += r->funding_paid * f;
  S->end = r->n_bars ? S->eq[S->n - 1] : S->end;
  S->interval_ms = r->interval_ms;
  return QT_OK;
}

static void stitch_fini(stitch *S) {
  qt_free(S->ts);
  qt_free(S->eq);
  qt_free(S->ex);
  qt_free(S->close);
  qt_free(S->tr);
}

/* Evaluates the previous window's top trials' params in the new study
 * (warm start): asked with fixed params, run by one worker, told. */
static int warm_start(qt_study *st, const qt_objective *obj, const double *xs, size_t n_x,
                      size_t nd, size_t *out_done, qt_err *err) {
  void *w = NULL;
  qt_metric_set ms;
  qt_metric_set_init(&ms);
  int r = obj->vt->worker_new(obj->shared, &w, err);
  *out_done = 0;
  for (size_t i = 0; !r && i < n_x; i++) {
    qt_trial t;
    memset(&t, 0, sizeof t);
    if ((r = qt_study_ask(st, xs + i * nd, "warm-start", &t, err)) != 0) break;
    qt_metric_set_clear(&ms);
    qt_err e2;
    int er = obj->vt->eval(w, qt_study_space(st), t.x, t.user, t.seed, &ms, &e2);
    r = qt_study_tell(st, &t, er == QT_EPARAM ? QT_TRIAL_REJECTED : er ? QT_TRIAL_FAIL
                                                                     : QT_TRIAL_COMPLETE,
                      er ? NULL : &ms, er ? e2.msg : NULL, err);
    qt_trial_fini(&t);
    (*out_done)++;
  }
  if (w) obj->vt->worker_free(w);
  qt_metric_set_fini(&ms);
  return r;
}

/* ---- one run: the symbols, the windows and their jobs ---- */
#define WF_MAX_FEEDS 2 /* a market's feeds: the symbol and its second venue */

/* One symbol: its whole loaded market (borrowed) and the bars split. */
typedef struct wf_sym {
  const qt_feed *feeds;
  int n_feeds;
  size_t from_i, to_i;
} wf_sym;

/* A test span's run of one symbol, copied out of the engine (whose result
 * is only borrowed until its next run), so windows can run in any order
 * and be stitched in theirs. */
typedef struct wf_curve {
  int64_t *ts;
  double *eq, *ex, *close;
  size_t n;
  qt_trade_rec *tr;
  size_t ntr;
  double fees, funding, start_cash;
  int64_t interval_ms;
} wf_curve;

/* One window: its spans per symbol, then what it produced. */
typedef struct wf_job {
  qt_wf_window at[QT_MARKET_MAX_SYMBOLS];
  json_t *jw;                          /* the window's result (NULL: not run) */
  wf_curve cur[QT_MARKET_MAX_SYMBOLS]; /* the test runs (n 0: not tested) */
  int tested;
  double *top; /* the study's top params (internal form), for a warm start */
  size_t n_top;
  int rc; /* side by side: its failure, reported for the first failed window */
  qt_err err;
} wf_job;

typedef struct wf_run {
  const qt_wf_ctx *c;
  wf_sym sym[QT_MARKET_MAX_SYMBOLS];
  size_t n_sym;
  wf_job *job;
  size_t nw;
  size_t study_jobs; /* runner threads of each window's study */
  pthread_mutex_t mu; /* the window pool's hand-out and outcome */
  size_t next, done;
  int failed;
  /* windows 2.. start once window 1's study is open and its pin checked
   * (1) or it failed (-1): a run under a used name with other settings is
   * refused at window 1 before any other window's study is created */
  pthread_cond_t cv;
  int gate;
} wf_run;

/* Window 1 passed its pin check (ok 1) or failed (ok 0): the others may go. */
static void gate_set(wf_run *R, int ok) {
  pthread_mutex_lock(&R->mu);
  if (!R->gate) R->gate = ok ? 1 : -1;
  pthread_cond_broadcast(&R->cv);
  pthread_mutex_unlock(&R->mu);
}

/* A symbol's feeds whose bars end one bar after bar `to` of feed 0 (the
 * engine reads the next bar's open as the end of the last traded one).
 * The engine's indicator cache computes whole-series columns: over the view
 * they stop where the window does instead of at the end of the data, and as
 * indicators only look back, every value the window reads is the same. */
typedef struct wf_view {
  qt_feed f[WF_MAX_FEEDS];
  qt_bars b[WF_MAX_FEEDS];
} wf_view;

static void view_feeds(const wf_sym *y, size_t to, wf_view *v) {
  const qt_bars *b0 = y->feeds[0].bars;
  int64_t t_end = to < b0->n ? b0->ts_ms[to] : INT64_MAX;
  for (int f = 0; f < y->n_feeds; f++) {
    const qt_bars *b = y->feeds[f].bars;
    size_t n = t_end == INT64_MAX ? b->n : lower_bound(b->ts_ms, 0, b->n, t_end) + 1;
    v->b[f] = *b;
    v->b[f].n = n < b->n ? n : b->n;
    memset(&v->b[f].mem, 0, sizeof v->b[f].mem); /* a view owns nothing */
    v->f[f] = y->feeds[f];
    v->f[f].bars = &v->b[f];
  }
}

static void curve_fini(wf_curve *cv) {
  qt_free(cv->ts);
  qt_free(cv->eq);
  qt_free(cv->ex);
  qt_free(cv->close);
  qt_free(cv->tr);
  memset(cv, 0, sizeof *cv);
}

static int curve_copy(wf_curve *cv, const qt_result *r, const double *close, qt_err *err) {
  size_t n = r->n_bars ? r->n_bars : 1, nt = r->n_trades ? r->n_trades : 1;
  cv->ts = qt_malloc(n * sizeof *cv->ts);
  cv->eq = qt_malloc(n * sizeof *cv->eq);
  cv->ex = qt_malloc(n * sizeof *cv->ex);
  cv->close = qt_malloc(n * sizeof *cv->close);
  cv->tr = qt_malloc(nt * sizeof *cv->tr);
  if (!cv->ts || !cv->eq || !cv->ex || !cv->close || !cv->tr) {
    curve_fini(cv);
    return qt_err_set(err, QT_ENOMEM, "walk-forward: out of memory");
  }
  cv->n = r->n_bars;
  memcpy(cv->ts, r->ts_ms, r->n_bars * sizeof *cv->ts);
  memcpy(cv->eq, r->equity, r->n_bars * sizeof *cv->eq);
  for (size_t i = 0; i < r->n_bars; i++) cv->ex[i] = r->exposure ? r->exposure[i] : 0;
  memcpy(cv->close, close, r->n_bars * sizeof *cv->close);
  cv->ntr = r->n_trades;
  if (r->n_trades) memcpy(cv->tr, r->trades, r->n_trades * sizeof *cv->tr);
  cv->fees = r->fees_paid;
  cv->funding = r->funding_paid;
  cv->start_cash = r->start_cash;
  cv->interval_ms = r->interval_ms;
  return QT_OK;
}

static qt_result curve_result(const wf_curve *cv) {
  qt_result r;
  memset(&r, 0, sizeof r);
  r.n_bars = cv->n;
  r.ts_ms = cv->ts;
  r.equity = cv->eq;
  r.exposure = cv->ex;
  r.trades = cv->tr;
  r.n_trades = cv->ntr;
  r.fees_paid = cv->fees;
  r.funding_paid = cv->funding;
  r.start_cash = cv->start_cash;
  r.final_equity = cv->n ? cv->eq[cv->n - 1] : cv->start_cash;
  r.interval_ms = cv->interval_ms;
  return r;
}

/* The pin of a window's study: the market's (every symbol's data with
 * several), with the train span as from/to and the test span, so a resume
 * with other spans is refused. */
static char *window_pin(const wf_run *R, const wf_job *j, const qt_engine_opts *eo, qt_err *err) {
  const qt_wf_ctx *c = R->c;
  const qt_wf_window *w = &j->at[0];
  char *buf = qt_malloc(16384);
  if (!buf) return NULL;
  qt_feed pf[QT_MARKET_MAX_SYMBOLS];
  for (size_t y = 0; y < R->n_sym; y++) pf[y] = R->sym[y].feeds[0];
  qt_study_pin pin = {c->strategy->name, c->catalog, c->data_file,
                      R->n_sym > 1 ? pf : R->sym[0].feeds,
                      R->n_sym > 1 ? (int)R->n_sym : R->sym[0].n_feeds,
                      w->train_from, eo, &c->opts.goal};
  if (qt_study_pin_json(&pin, buf, 16384, err)) {
    qt_free(buf);
    return NULL;
  }
  json_t *o = json_loads(buf, 0, NULL);
  const int64_t *ts = R->sym[0].feeds[0].bars->ts_ms;
  char t[40];
  json_object_set_new(o, "to", json_string(qt_time_format(ts[w->train_to - 1], t, sizeof t)));
  json_object_set_new(o, "test_from", json_string(qt_time_format(ts[w->test_from], t, sizeof t)));
  json_object_set_new(o, "test_to", json_string(qt_time_format(ts[w->test_to - 1], t, sizeof t)));
  if (R->n_sym > 1)
    json_object_set_new(o, "aggregate", json_string(qt_aggregate_name(c->aggregate)));
  char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  if (s && strlen(s) < 16384) strcpy(buf, s);
  free(s);
  return buf;
}

static void span_json(json_t *o, const char *a, const char *b, const int64_t *ts, size_t from,
                      size_t to) {
  char t[40];
  json_object_set_new(o, a, json_string(qt_time_format(ts[from], t, sizeof t)));
  json_object_set_new(o, b, json_string(qt_time_format(ts[to - 1], t, sizeof t)));
}

static const char *sym_name(const wf_run *R, size_t y) { return R->sym[y].feeds[0].inst.symbol; }

/* The window's objective over its train span: one symbol's backtest, or
 * every symbol's aggregated (objective_symbols.c), on views ending there. */
static int window_objective(const wf_run *R, const wf_job *j, wf_view *v, qt_objective *obj,
                            qt_err *err) {
  const qt_wf_ctx *c = R->c;
  qt_symbol_run runs[QT_MARKET_MAX_SYMBOLS];
  for (size_t y = 0; y < R->n_sym; y++) {
    view_feeds(&R->sym[y], j->at[y].train_to, &v[y]);
    runs[y].feeds = v[y].f;
    runs[y].n_feeds = R->sym[y].n_feeds;
    runs[y].eo = c->eo;
    runs[y].eo.from = j->at[y].train_from;
    runs[y].eo.to = j->at[y].train_to;
  }
  if (R->n_sym == 1)
    return qt_objective_strategy(c->strategy, runs[0].feeds, runs[0].n_feeds, &runs[0].eo, NULL,
                                 obj, err);
  return qt_objective_symbols_over(c->strategy, runs, R->n_sym, NULL, c->aggregate, obj, err);
}

/* The best's params p run on each symbol's test span: "oos" (with several
 * symbols the aggregate, and "oos_by_symbol"), the curves kept in j. */
static int window_test(const wf_run *R, wf_job *j, const double *p, qt_err *err) {
  const qt_wf_ctx *c = R->c;
  qt_engine *eng = NULL;
  wf_view v;
  double vals[N_SHOWN][QT_MARKET_MAX_SYMBOLS];
  json_t *by = R->n_sym > 1 ? json_object() : NULL;
  int r = qt_engine_new(&c->eo, &eng, err);
  for (size_t y = 0; !r && y < R->n_sym; y++) {
    const qt_wf_window *w = &j->at[y];
    view_feeds(&R->sym[y], w->test_to, &v);
    qt_engine_opts et = c->eo;
    et.from = w->test_from;
    et.to = w->test_to;
    qt_engine_set_opts(eng, &et);
    qt_result res;
    qt_metrics m;
    const double *close = v.b[0].close + w->test_from;
    if ((r = qt_engine_run(eng, v.f, R->sym[y].n_feeds, c->strategy, p, &res, err)) != 0) break;
    if ((r = qt_metrics_compute(&res, close, NULL, &m, err)) != 0) break;
    if ((r = curve_copy(&j->cur[y], &res, close, err)) != 0) break;
    for (size_t k = 0; k < N_SHOWN; k++)
      vals[k][y] = qt_metrics_get(&m, qt_metrics_index(k_shown[k]));
    if (by) json_object_set_new(by, sym_name(R, y), metrics_obj(&m));
    else json_object_set_new(j->jw, "oos", metrics_obj(&m));
  }
  if (!r && by) {
    json_t *o = json_object();
    for (size_t k = 0; k < N_SHOWN; k++)
      json_object_set_new(o, k_shown[k],
                          jnum(qt_aggregate_metric(c->aggregate, k_shown[k], vals[k], R->n_sym)));
    json_object_set_new(j->jw, "oos", o);
    json_object_set_new(j->jw, "oos_by_symbol", by);
    by = NULL;
  }
  json_decref(by);
  qt_engine_free(eng);
  if (!r) j->tested = 1;
  return r;
}

/* The stored in-sample metrics of several symbols: each symbol's shown ones. */
static json_t *is_by_symbol(const char *metrics_json) {
  json_t *all = json_loads(metrics_json ? metrics_json : "{}", 0, NULL), *o = json_object();
  const char *sym;
  json_t *m;
  json_object_foreach(json_object_get(all, "by_symbol"), sym, m) {
    char *txt = json_dumps(m, JSON_COMPACT);
    json_object_set_new(o, sym, metrics_json_shown(txt));
    free(txt);
  }
  json_decref(all);
  return o;
}

/* One window: the study on its train span (created or resumed) with `jobs`
 * runner threads, its best on the test span.  warm_xs: the previous
 * window's top params (warm start), NULL for none; this window's go to
 * j->top. */
static int run_window(wf_run *R, size_t k, wf_job *j, const double *warm_xs,
                      size_t n_warm, size_t jobs, qt_err *err) {
  const qt_wf_ctx *c = R->c;
  const qt_wf_opts *o = &c->opts;
  const qt_strategy_vtbl *s = c->strategy;
  const qt_wf_window *w = &j->at[0];
  const qt_bars *b0 = R->sym[0].feeds[0].bars;
  const int64_t *ts = b0->ts_ms;
  qt_engine_opts eo = c->eo;
  eo.from = w->train_from;
  eo.to = w->train_to;
  qt_objective obj = {0};
  qt_study *st = NULL;
  char *pin = NULL, name[192];
  size_t nd = qt_space_n(o->space), *idx = NULL;
  wf_view *views = qt_calloc(R->n_sym, sizeof *views);
  double *p = qt_calloc(s->n_params + 1, sizeof *p), *x = qt_calloc(nd + 1, sizeof *x);
  int r = (!p || !x || !views) ? qt_err_set(err, QT_ENOMEM, "walk-forward: out of memory") : QT_OK;
  if (r) goto fail;
  snprintf(name, sizeof name, "%s/w%02zu", o->name, k + 1);
  if ((r = window_objective(R, j, views, &obj, err)) != 0) goto fail;
  if (!(pin = window_pin(R, j, &eo, err))) {
    r = err && err->code ? err->code : qt_err_set(err, QT_ENOMEM, "walk-forward: out of memory");
    goto fail;
  }
  qt_study_opts so = qt_study_opts_default();
  so.name = name;
  so.storage_url = o->storage_url;
  so.seed = o->seed + k;
  so.sampler = o->sampler;
  so.sampler_opts = o->sampler_opts;
  so.goal = o->goal;
  so.config_json = o->config_json;
  so.pin_json = pin;
  if ((r = qt_study_open(&so, o->space, &st, err)) != 0) goto fail;
  if (!qt_study_created(st)) {
    const char *was = qt_study_pinned(st);
    char diff[1024];
    size_t ndiff = 0;
    if (was && (r = qt_study_pin_diff(was, pin, diff, sizeof diff, &ndiff, err)) != 0) goto fail;
    if (ndiff) {
      r = qt_err_set(err, QT_ESTATE,
                     "walk-forward: study '%s' was run on other settings; give another "
                     "--study-name:\n%s", name, diff);
      goto fail;
    }
  }
  if (k == 0 && R->study_jobs) gate_set(R, 1); /* side by side: the others may start */
  size_t counts[QT_TRIAL_N_STATES], have = 0, warm_done = 0;
  qt_study_counts(st, counts);
  for (int q = QT_TRIAL_COMPLETE; q < QT_TRIAL_N_STATES; q++) have += counts[q];
  if (qt_study_created(st) && o->warm_start && warm_xs && n_warm) {
    size_t nw = n_warm < o->n_trials ? n_warm : o->n_trials;
    if ((r = warm_start(st, &obj, warm_xs, nw, nd, &warm_done, err)) != 0) goto fail;
    have += warm_done;
  }
  size_t run_n = o->n_trials > have ? o->n_trials - have : 0;
  if (run_n) {
    qt_run_opts ro = qt_run_opts_default();
    ro.jobs = jobs;
    ro.n_trials = run_n;
    ro.deterministic = o->deterministic;
    ro.stop = o->stop;
    if ((r = qt_study_run(st, &obj, &ro, NULL, err)) != 0) goto fail;
  }
  /* the best (feasible first) and the top params for the next warm start */
  size_t ntr = qt_study_n_trials(st), nrank = 0;
  if (!(idx = qt_malloc((ntr ? ntr : 1) * sizeof *idx))) {
    r = qt_err_set(err, QT_ENOMEM, "walk-forward: out of memory");
    goto fail;
  }
  if ((r = qt_study_rank(st, idx, ntr, &nrank, err)) != 0) goto fail;
  json_t *jw = j->jw = json_object();
  json_object_set_new(jw, "window", json_integer((json_int_t)(k + 1)));
  json_object_set_new(jw, "study", json_string(name));
  span_json(jw, "train_from", "train_to", ts, w->train_from, w->train_to);
  span_json(jw, "test_from", "test_to", ts, w->test_from, w->test_to);
  json_object_set_new(jw, "train_bars", json_integer((json_int_t)(w->train_to - w->train_from)));
  json_object_set_new(jw, "test_bars", json_integer((json_int_t)(w->test_to - w->test_from)));
  json_object_set_new(jw, "trials", json_integer((json_int_t)ntr));
  json_object_set_new(jw, "trials_run", json_integer((json_int_t)(run_n + warm_done)));
  json_object_set_new(jw, "warm_started", json_integer((json_int_t)warm_done));
  if (!nrank) {
    json_object_set_new(jw, "best_trial", json_null());
    goto done; /* nothing complete: no test run, the window is a gap */
  }
  size_t ntop = nrank < o->warm_top ? nrank : o->warm_top;
  if (!(j->top = qt_malloc((ntop * nd + 1) * sizeof *j->top))) {
    r = qt_err_set(err, QT_ENOMEM, "walk-forward: out of memory");
    goto fail;
  }
  for (size_t i = 0; i < ntop; i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, idx[i], &ti);
    if (qt_space_params_from_json(o->space, ti.params_json, j->top + j->n_top * nd, NULL) == 0)
      j->n_top++;
  }
  qt_trial_info bi;
  qt_study_trial_info(st, idx[0], &bi);
  json_object_set_new(jw, "best_trial", json_integer((json_int_t)bi.number));
  json_object_set_new(jw, "best_feasible", json_boolean(bi.feasible));
  json_object_set_new(jw, "best_objective", jnum(bi.objective));
  json_object_set_new(jw, "params", json_loads(bi.params_json ? bi.params_json : "{}", 0, NULL));
  json_object_set_new(jw, "is", metrics_json_shown(bi.metrics_json));
  if (R->n_sym > 1) json_object_set_new(jw, "is_by_symbol", is_by_symbol(bi.metrics_json));
  if ((r = qt_space_params_from_json(o->space, bi.params_json, x, err)) != 0) goto fail;
  spec_params(s, o->space, x, p);
  if ((r = window_test(R, j, p, err)) != 0) goto fail;
  /* walk-forward efficiency: the test span's return per day over the
   * train span's (Pardo), from the trial's stored in-sample total_return
   * (with several symbols: both the aggregates) */
  double is_ret = json_number_value(json_object_get(json_object_get(jw, "is"), "total_return"));
  double oos_ret = json_number_value(json_object_get(json_object_get(jw, "oos"), "total_return"));
  double days_is = (double)(ts[w->train_to - 1] - ts[w->train_from] + b0->interval_ms) / 86400000.0;
  double days_oos = (double)(ts[w->test_to - 1] - ts[w->test_from] + b0->interval_ms) / 86400000.0;
  double wfe = is_ret > 0 ? (oos_ret / days_oos) / (is_ret / days_is) : NAN;
  json_object_set_new(jw, "wfe", jnum(wfe));
done:
fail:
  qt_free(idx);
  qt_free(pin);
  qt_free(p);
  qt_free(x);
  qt_free(views);
  qt_study_free(st);
  qt_objective_free(&obj);
  return r;
}

/* Per searched parameter: its best value per window, the mean, the SD and
 * the mean step between consecutive windows, both as shares of the range. */
static json_t *drift_json(const qt_space *sp, json_t *warr) {
  json_t *arr = json_array();
  for (size_t k = 0; k < qt_space_n(sp); k++) {
    const qt_dim *d = qt_space_dim(sp, k);
    if (d->fixed) continue;
    json_t *vals = json_array(), *e = json_object();
    double s1 = 0, s2 = 0, steps = 0, prev = NAN;
    size_t n = 0, ns = 0, i;
    json_t *w;
    json_array_foreach(warr, i, w) {
      json_t *v = json_object_get(json_object_get(w, "params"), d->name);
      if (!json_is_number(v)) {
        json_array_append_new(vals, json_null());
        continue;
      }
      double x = json_number_value(v);
      json_array_append_new(vals, json_real(x));
      s1 += x, s2 += x * x, n++;
      if (isfinite(prev)) steps += fabs(x - prev), ns++;
      prev = x;
    }
    double range = d->hi - d->lo, mean = n ? s1 / (double)n : NAN;
    double sd = n > 1 ? sqrt(fmax(0, (s2 - s1 * mean) / (double)(n - 1))) : 0;
    json_object_set_new(e, "name", json_string(d->name));
    json_object_set_new(e, "values", vals);
    json_object_set_new(e, "mean", jnum(mean));
    json_object_set_new(e, "sd_share", range > 0 ? jnum(sd / range) : json_null());
    json_object_set_new(e, "step_share", range > 0 && ns ? jnum(steps / (double)ns / range) : json_null());
    json_array_append_new(arr, e);
  }
  return arr;
}

/* A stitched curve's JSON object. */
static int stitched_obj(const stitch *S, json_t *j, qt_err *err) {
  if (!S->n) {
    json_object_set_new(j, "bars", json_integer(0));
    return QT_OK;
  }
  qt_result r;
  memset(&r, 0, sizeof r);
  r.n_bars = S->n;
  r.ts_ms = S->ts;
  r.equity = S->eq;
  r.exposure = S->ex;
  r.trades = S->tr;
  r.n_trades = S->ntr;
  r.fees_paid = S->fees;
  r.funding_paid = S->funding;
  r.start_cash = S->cash;
  r.final_equity = S->eq[S->n - 1];
  r.interval_ms = S->interval_ms;
  qt_metrics m;
  int rc = qt_metrics_compute(&r, S->close, NULL, &m, err);
  if (rc) return rc;
  char t[40];
  json_object_set_new(j, "from", json_string(qt_time_format(S->ts[0], t, sizeof t)));
  json_object_set_new(j, "to", json_string(qt_time_format(S->ts[S->n - 1], t, sizeof t)));
  json_object_set_new(j, "bars", json_integer((json_int_t)S->n));
  json_object_set_new(j, "start_cash", json_real(S->cash));
  json_object_set_new(j, "final_equity", json_real(r.final_equity));
  json_object_set_new(j, "metrics", metrics_obj(&m));
  json_object_set_new(j, "buy_hold_return", jnum(m.buy_hold_return));
  return QT_OK;
}

/* Trades in the order they closed (the symbols' lists interleaved). */
static int cmp_trade(const void *a, const void *b) {
  const qt_trade_rec *x = a, *y = b;
  if (x->exit_ms != y->exit_ms) return x->exit_ms < y->exit_ms ? -1 : 1;
  return (x->entry_ms > y->entry_ms) - (x->entry_ms < y->entry_ms);
}

/* One window of the portfolio: equal cash shares of the symbols, on the
 * first symbol's bar times (another symbol's equity as of its last bar at
 * or before; its start cash before its first).  Equity is the shares' sum,
 * exposure the gross notional over it, trades (in closing order), fees and
 * funding each symbol's times its share; the buy-and-hold "close" is an
 * equal-cash index of the symbols rebought at the span's first close and
 * chained through *idx_io.  Added to P like one symbol's window. */
static int portfolio_add(stitch *P, const wf_job *j, size_t n_sym, double *idx_io, qt_err *err) {
  const wf_curve *c0 = &j->cur[0];
  size_t n = c0->n, ntr = 0;
  for (size_t y = 0; y < n_sym; y++) ntr += j->cur[y].ntr;
  double *eq = qt_malloc((n + 1) * sizeof *eq), *ex = qt_malloc((n + 1) * sizeof *ex);
  double *cl = qt_malloc((n + 1) * sizeof *cl);
  qt_trade_rec *tr = qt_malloc((ntr + 1) * sizeof *tr);
  int r = QT_OK;
  if (!eq || !ex || !cl || !tr) {
    r = qt_err_set(err, QT_ENOMEM, "walk-forward: out of memory");
    goto done;
  }
  double share = 1.0 / (double)n_sym, i0 = *idx_io;
  size_t at[QT_MARKET_MAX_SYMBOLS] = {0};
  for (size_t i = 0; i < n; i++) {
    double e = 0, g = 0, ix = 0;
    for (size_t y = 0; y < n_sym; y++) {
      const wf_curve *cv = &j->cur[y];
      while (at[y] < cv->n && cv->ts[at[y]] <= c0->ts[i]) at[y]++;
      size_t q = at[y]; /* bars of y at or before this time */
      double ey = q ? cv->eq[q - 1] : cv->start_cash;
      e += share * ey;
      g += share * ey * (q ? cv->ex[q - 1] : 0);
      ix += share * (q && cv->n ? cv->close[q - 1] / cv->close[0] : 1);
    }
    eq[i] = e;
    ex[i] = e > 0 ? g / e : 0;
    cl[i] = i0 * ix;
  }
  size_t k = 0;
  double fees = 0, funding = 0;
  for (size_t y = 0; y < n_sym; y++) {
    const wf_curve *cv = &j->cur[y];
    for (size_t t = 0; t < cv->ntr; t++) {
      qt_trade_rec x = cv->tr[t];
      x.qty *= share, x.pnl *= share, x.fees *= share, x.funding *= share;
      tr[k++] = x;
    }
    fees += share * cv->fees;
    funding += share * cv->funding;
  }
  if (k > 1) qsort(tr, k, sizeof *tr, cmp_trade);
  qt_result res = curve_result(c0);
  res.equity = eq;
  res.exposure = ex;
  res.trades = tr;
  res.n_trades = k;
  res.fees_paid = fees;
  res.funding_paid = funding;
  res.final_equity = n ? eq[n - 1] : res.start_cash;
  if (n) *idx_io = cl[n - 1];
  r = stitch_add(P, &res, cl, err);
done:
  qt_free(eq);
  qt_free(ex);
  qt_free(cl);
  qt_free(tr);
  return r;
}

/* The stitched curves of the tested windows, in window order: one symbol's
 * as "stitched"; with several the portfolio as "stitched" and each
 * symbol's under "stitched_by_symbol". */
static int stitch_all(const wf_run *R, json_t *root, qt_err *err) {
  double cash = R->c->eo.cash, idx = 100;
  stitch *S = qt_calloc(R->n_sym + 1, sizeof *S), *P = S + R->n_sym;
  if (!S) return qt_err_set(err, QT_ENOMEM, "walk-forward: out of memory");
  for (size_t y = 0; y <= R->n_sym; y++) S[y].cash = S[y].end = cash;
  int r = QT_OK;
  for (size_t k = 0; !r && k < R->nw; k++) {
    const wf_job *j = &R->job[k];
    if (!j->tested) continue;
    for (size_t y = 0; !r && y < R->n_sym; y++) {
      qt_result res = curve_result(&j->cur[y]);
      r = stitch_add(&S[y], &res, j->cur[y].close, err);
    }
    if (!r && R->n_sym > 1) r = portfolio_add(P, j, R->n_sym, &idx, err);
  }
  json_t *st = json_object();
  json_object_set_new(root, "stitched", st);
  if (!r) r = stitched_obj(R->n_sym > 1 ? P : &S[0], st, err);
  if (!r && R->n_sym > 1) {
    json_object_set_new(st, "portfolio", json_string("equal cash shares"));
    json_t *by = json_object();
    json_object_set_new(root, "stitched_by_symbol", by);
    for (size_t y = 0; !r && y < R->n_sym; y++) {
      json_t *o = json_object();
      json_object_set_new(by, sym_name(R, y), o);
      r = stitched_obj(&S[y], o, err);
    }
  }
  for (size_t y = 0; y <= R->n_sym; y++) stitch_fini(&S[y]);
  qt_free(S);
  return r;
}

/* The symbols of c and each one's spans of every window: windows are cut
 * on the first symbol's bars; another symbol's spans are its bars in the
 * same times (each part needs 2 bars there too). */
static int plan(wf_run *R, qt_err *err) {
  const qt_wf_ctx *c = R->c;
  if (c->n_markets >= 2) {
    if (c->n_markets > QT_MARKET_MAX_SYMBOLS)
      return qt_err_set(err, QT_EINVAL, "walk-forward: more than %d symbols", QT_MARKET_MAX_SYMBOLS);
    if ((c->strategy->needs & QT_NEEDS_SECOND) || c->strategy->n_instruments > 1)
      return qt_err_set(err, QT_EINVAL, "--symbol with several symbols: strategy '%s' trades two "
                        "instruments, one symbol at a time", c->strategy->name);
    if (c->aggregate < QT_AGG_MEAN || c->aggregate > QT_AGG_MIN)
      return qt_err_set(err, QT_EINVAL, "walk-forward: unknown aggregate %d", c->aggregate);
    for (size_t y = 0; y < c->n_markets; y++) {
      const qt_market *m = &c->markets[y];
      if (m->n_feeds < 1 || !m->feeds[0].bars)
        return qt_err_set(err, QT_EINVAL, "walk-forward: symbol %zu has no bars", y + 1);
      R->sym[y] = (wf_sym){m->feeds, m->n_feeds, m->from_i, m->to_i};
    }
    R->n_sym = c->n_markets;
  } else {
    R->sym[0] = (wf_sym){c->feeds, c->n_feeds, c->from_i, c->to_i};
    R->n_sym = 1;
  }
  for (size_t y = 0; y < R->n_sym; y++) {
    wf_sym *s = &R->sym[y];
    if (s->n_feeds > WF_MAX_FEEDS)
      return qt_err_set(err, QT_EINVAL, "walk-forward: %d feeds (at most %d)", s->n_feeds,
                        WF_MAX_FEEDS);
    size_t n = s->feeds[0].bars->n;
    s->to_i = s->to_i && s->to_i < n ? s->to_i : n;
  }
  qt_wf_window *win = qt_malloc(QT_WF_MAX_WINDOWS * sizeof *win);
  if (!win) return qt_err_set(err, QT_ENOMEM, "walk-forward: out of memory");
  const wf_sym *s0 = &R->sym[0];
  const int64_t *ts0 = s0->feeds[0].bars->ts_ms;
  int r = qt_wf_windows(ts0, s0->from_i, s0->to_i, &c->opts, win, QT_WF_MAX_WINDOWS, &R->nw, err);
  if (!r && !(R->job = qt_calloc(R->nw ? R->nw : 1, sizeof *R->job)))
    r = qt_err_set(err, QT_ENOMEM, "walk-forward: out of memory");
  for (size_t k = 0; !r && k < R->nw; k++) {
    const qt_wf_window *w = &win[k];
    R->job[k].at[0] = *w;
    int64_t tr0 = ts0[w->train_from], tr1 = ts0[w->train_to];
    int64_t te1 = w->test_to < s0->to_i ? ts0[w->test_to] : INT64_MAX;
    for (size_t y = 1; !r && y < R->n_sym; y++) {
      const wf_sym *s = &R->sym[y];
      const int64_t *ts = s->feeds[0].bars->ts_ms;
      qt_wf_window *a = &R->job[k].at[y];
      a->train_from = lower_bound(ts, s->from_i, s->to_i, tr0);
      a->train_to = a->test_from = lower_bound(ts, s->from_i, s->to_i, tr1);
      a->test_to = te1 == INT64_MAX ? s->to_i : lower_bound(ts, s->from_i, s->to_i, te1);
      if (a->train_to - a->train_from < 2 || a->test_to - a->test_from < 2)
        r = qt_err_set(err, QT_EINVAL,
                       "walk-forward: window %zu: symbol %s has %zu train and %zu test bars "
                       "there (need 2 each)", k + 1, s->feeds[0].inst.symbol,
                       a->train_to - a->train_from, a->test_to - a->test_from);
    }
  }
  qt_free(win);
  return r;
}

static void window_done(wf_run *R, size_t done) {
  const qt_wf_opts *o = &R->c->opts;
  if (o->on_window) o->on_window(o->on_window_ud, done, R->nw);
}

/* A pool thread: takes the next window until none is left, one fails or
 * the stop flag is set.  The windows' studies are independent without a
 * warm start, so while one window's study ends (its last trials, the
 * ranking, the test run) the other threads' windows keep the cores busy. */
static void *pool_main(void *arg) {
  wf_run *R = arg;
  volatile int *stop = R->c->opts.stop;
  for (;;) {
    pthread_mutex_lock(&R->mu);
    size_t k = R->next;
    int go = !R->failed && k < R->nw && !(stop && *stop);
    if (go) R->next++;
    while (go && k > 0 && !R->gate) pthread_cond_wait(&R->cv, &R->mu);
    if (go && k > 0 && R->gate < 0) go = 0;
    pthread_mutex_unlock(&R->mu);
    if (!go) break;
    wf_job *j = &R->job[k];
    qt_err_clear(&j->err);
    int r = run_window(R, k, j, NULL, 0, R->study_jobs, &j->err);
    pthread_mutex_lock(&R->mu);
    j->rc = r;
    if (r) R->failed = 1;
    else window_done(R, ++R->done);
    pthread_mutex_unlock(&R->mu);
    if (k == 0) gate_set(R, r == 0); /* a no-op after the pin check opened it */
  }
  return NULL;
}

/* Runs every window: with a warm start one after the other (window k
 * starts from window k-1's top), all `jobs` threads in each study; without,
 * min(jobs, windows) windows at a time, each study with its share of the
 * threads. */
static int run_windows(wf_run *R, qt_err *err) {
  const qt_wf_opts *o = &R->c->opts;
  size_t jobs = o->jobs;
  if (!jobs) {
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    jobs = nc > 0 ? (size_t)nc : 1;
  }
  size_t n_par = o->warm_start ? 1 : jobs < R->nw ? jobs : R->nw;
  if (n_par <= 1) {
    for (size_t k = 0; k < R->nw; k++) {
      if (o->stop && *o->stop) break;
      const wf_job *prev = k ? &R->job[k - 1] : NULL;
      int r = run_window(R, k, &R->job[k], prev ? prev->top : NULL, prev ? prev->n_top : 0, jobs,
                         err);
      if (r) return r;
      window_done(R, k + 1);
    }
    return QT_OK;
  }
  R->study_jobs = jobs / n_par;
  pthread_t th[QT_RUN_MAX_JOBS];
  size_t started = 0;
  if (n_par > QT_RUN_MAX_JOBS) n_par = QT_RUN_MAX_JOBS;
  pthread_mutex_init(&R->mu, NULL);
  pthread_cond_init(&R->cv, NULL);
  for (; started < n_par; started++)
    if (pthread_create(&th[started], NULL, pool_main, R) != 0) break;
  if (!started) pool_main(R); /* no thread could start: this one does the work */
  for (size_t t = 0; t < started; t++) pthread_join(th[t], NULL);
  pthread_cond_destroy(&R->cv);
  pthread_mutex_destroy(&R->mu);
  /* the first failed window's error, whichever thread failed first */
  for (size_t k = 0; k < R->nw; k++)
    if (R->job[k].rc) {
      if (err) *err = R->job[k].err;
      return R->job[k].rc;
    }
  return QT_OK;
}

int qt_wf_run(const qt_wf_ctx *c, char *buf, size_t cap, qt_err *err) {
  if (cap) buf[0] = '\0';
  const qt_wf_opts *o = &c->opts;
  int multi = c->n_markets >= 2;
  if (!c->strategy || !o->space || !o->name ||
      (!multi && (!c->feeds || c->n_feeds < 1 || !c->feeds[0].bars)))
    return qt_err_set(err, QT_EINVAL, "walk-forward: needs a strategy, bars, a space and a name");
  wf_run R;
  memset(&R, 0, sizeof R);
  R.c = c;
  json_t *root = json_object(), *warr = NULL;
  int r = plan(&R, err);
  if (r) goto fail;
  char t1[32], t2[32], t3[32];
  json_object_set_new(root, "name", json_string(o->name));
  json_object_set_new(root, "strategy", json_string(c->strategy->name));
  if (multi) {
    json_t *syms = json_array();
    for (size_t y = 0; y < R.n_sym; y++) json_array_append_new(syms, json_string(sym_name(&R, y)));
    json_object_set_new(root, "symbols", syms);
    json_object_set_new(root, "aggregate", json_string(qt_aggregate_name(c->aggregate)));
  }
  json_object_set_new(root, "train", json_string(qt_duration_format(o->train_ms, t1, sizeof t1)));
  json_object_set_new(root, "test", json_string(qt_duration_format(o->test_ms, t2, sizeof t2)));
  json_object_set_new(root, "step", json_string(qt_duration_format(o->step_ms ? o->step_ms : o->test_ms, t3, sizeof t3)));
  json_object_set_new(root, "anchored", json_boolean(o->anchored));
  json_object_set_new(root, "trials", json_integer((json_int_t)o->n_trials));
  json_object_set_new(root, "warm_start", json_boolean(o->warm_start));
  json_object_set_new(root, "objective", json_string(o->goal.metric));
  warr = json_array();
  json_object_set_new(root, "windows", warr);
  if ((r = run_windows(&R, err)) != 0) goto fail;
  for (size_t k = 0; k < R.nw; k++) /* the windows run, in order (a stop leaves a prefix) */
    if (R.job[k].jw) {
      json_array_append_new(warr, R.job[k].jw);
      R.job[k].jw = NULL;
    }
  json_object_set_new(root, "drift", drift_json(o->space, warr));
  if ((r = stitch_all(&R, root, err)) != 0) goto fail;
  {
    double s = 0;
    size_t n = 0, i, pos = 0, tested = 0;
    json_t *w;
    json_array_foreach(warr, i, w) {
      json_t *v = json_object_get(w, "wfe");
      if (json_is_number(v)) s += json_number_value(v), n++;
      json_t *os = json_object_get(json_object_get(w, "oos"), "total_return");
      if (json_is_number(os)) tested++, pos += json_number_value(os) > 0;
    }
    json_object_set_new(root, "wfe_mean", n ? json_real(s / (double)n) : json_null());
    json_object_set_new(root, "windows_positive", json_integer((json_int_t)pos));
    json_object_set_new(root, "windows_tested", json_integer((json_int_t)tested));
  }
  char *txt = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  if (!txt) r = qt_err_set(err, QT_ENOMEM, "walk-forward: out of memory");
  else if (strlen(txt) >= cap) r = qt_err_set(err, QT_EINVAL, "walk-forward: result larger than %zu bytes", cap);
  else memcpy(buf, txt, strlen(txt) + 1);
  free(txt);
fail:
  json_decref(root);
  if (R.job)
    for (size_t k = 0; k < R.nw; k++) {
      json_decref(R.job[k].jw);
      qt_free(R.job[k].top);
      for (size_t y = 0; y < R.n_sym; y++) curve_fini(&R.job[k].cur[y]);
    }
  qt_free(R.job);
  return r;
}

/* ---- the table ---- */
static double jd(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *cell(char *b, size_t cap, double v, const char *fmt) {
  if (!isfinite(v)) snprintf(b, cap, "-");
  else snprintf(b, cap, fmt, v);
  return b;
}

int qt_wf_write_table(const char *json, FILE *f, qt_err *err) {
  json_t *j = json_loads(json ? json : "", 0, NULL);
  json_t *warr = json_object_get(j, "windows"), *st = json_object_get(j, "stitched");
  if (!json_is_array(warr) || !json_is_object(st)) {
    json_decref(j);
    return qt_err_set(err, QT_EPARSE, "walk-forward: not a walk-forward result");
  }
  json_t *syms = json_object_get(j, "symbols");
  char on[512] = "";
  if (json_is_array(syms)) {
    size_t i, len = 0;
    json_t *v;
    len += (size_t)snprintf(on, sizeof on, " on ");
    json_array_foreach(syms, i, v) if (len < sizeof on)
      len += (size_t)snprintf(on + len, sizeof on - len, "%s%s", i ? "," : "", json_string_value(v));
    if (len < sizeof on)
      snprintf(on + len, sizeof on - len, " (%s of the symbols' metrics)",
               json_string_value(json_object_get(j, "aggregate")));
  }
  fprintf(f, "walk-forward %s: %s%s, train %s, test %s, step %s%s, %lld trials per window%s\n",
          json_string_value(json_object_get(j, "name")),
          json_string_value(json_object_get(j, "strategy")), on,
          json_string_value(json_object_get(j, "train")), json_string_value(json_object_get(j, "test")),
          json_string_value(json_object_get(j, "step")),
          json_is_true(json_object_get(j, "anchored")) ? " (anchored)" : "",
          (long long)json_integer_value(json_object_get(j, "trials")),
          json_is_true(json_object_get(j, "warm_start")) ? ", warm start" : "");
  fprintf(f, "%-4s %-20s %-20s %6s %8s %8s %8s %8s %7s %7s %6s\n", "win", "train from", "test from",
          "best", "IS shrp", "OOS shrp", "IS ret", "OOS ret", "OOS dd", "OOS tr", "WFE");
  size_t i;
  json_t *w;
  char a[8][32];
  json_array_foreach(warr, i, w) {
    json_t *is = json_object_get(w, "is"), *os = json_object_get(w, "oos");
    json_t *bt = json_object_get(w, "best_trial");
    fprintf(f, "w%02lld  %-20s %-20s %6s %8s %8s %8s %8s %7s %7s %6s\n",
            (long long)json_integer_value(json_object_get(w, "window")),
            json_string_value(json_object_get(w, "train_from")),
            json_string_value(json_object_get(w, "test_from")),
            json_is_integer(bt) ? (snprintf(a[6], 32, "#%lld", (long long)json_integer_value(bt)), a[6]) : "-",
            cell(a[0], 32, jd(is, "sharpe"), "%.2f"), cell(a[1], 32, jd(os, "sharpe"), "%.2f"),
            cell(a[2], 32, 100 * jd(is, "total_return"), "%.2f%%"),
            cell(a[3], 32, 100 * jd(os, "total_return"), "%.2f%%"),
            cell(a[4], 32, 100 * jd(os, "max_drawdown"), "%.1f%%"),
            cell(a[5], 32, jd(os, "trades"), "%.0f"), cell(a[7], 32, jd(w, "wfe"), "%.2f"));
    /* several symbols: the row above is the aggregate, each symbol's below */
    const char *sym;
    json_t *so;
    json_t *isb = json_object_get(w, "is_by_symbol");
    json_object_foreach(json_object_get(w, "oos_by_symbol"), sym, so) {
      json_t *si = json_object_get(isb, sym);
      fprintf(f, "       %-41s %6s %8s %8s %8s %8s %7s %7s\n", sym, "",
              cell(a[0], 32, jd(si, "sharpe"), "%.2f"), cell(a[1], 32, jd(so, "sharpe"), "%.2f"),
              cell(a[2], 32, 100 * jd(si, "total_return"), "%.2f%%"),
              cell(a[3], 32, 100 * jd(so, "total_return"), "%.2f%%"),
              cell(a[4], 32, 100 * jd(so, "max_drawdown"), "%.1f%%"),
              cell(a[5], 32, jd(so, "trades"), "%.0f"));
    }
  }
  fprintf(f, "walk-forward efficiency (OOS return per day / IS return per day): mean %s; "
          "%lld of %lld test windows profitable\n",
          cell(a[0], 32, jd(j, "wfe_mean"), "%.2f"),
          (long long)json_integer_value(json_object_get(j, "windows_positive")),
          (long long)json_integer_value(json_object_get(j, "windows_tested")));
  fprintf(f, "\nparameter drift across windows (SD and mean step between windows, as a share of "
          "the range)\n");
  json_array_foreach(json_object_get(j, "drift"), i, w) {
    double sd = jd(w, "sd_share"), stp = jd(w, "step_share");
    fprintf(f, "  %-24s mean %-10.4g sd %5.1f%%  step %5.1f%%%s\n",
            json_string_value(json_object_get(w, "name")), jd(w, "mean"), 100 * sd, 100 * stp,
            stp > 0.25 ? "  (drifts)" : "");
  }
  json_t *m = json_object_get(st, "metrics");
  json_t *sbs = json_object_get(j, "stitched_by_symbol");
  if (m && json_is_object(sbs)) {
    fprintf(f, "\nstitched out-of-sample equity per symbol\n");
    const char *sym;
    json_t *o;
    json_object_foreach(sbs, sym, o) {
      json_t *mm = json_object_get(o, "metrics");
      fprintf(f, "  %-14s %.2f -> %.2f: sharpe %s, total return %s, max drawdown %s, trades %s, "
              "buy-and-hold %s\n", sym, jd(o, "start_cash"), jd(o, "final_equity"),
              cell(a[0], 32, jd(mm, "sharpe"), "%.2f"),
              cell(a[1], 32, 100 * jd(mm, "total_return"), "%.2f%%"),
              cell(a[2], 32, 100 * jd(mm, "max_drawdown"), "%.2f%%"),
              cell(a[3], 32, jd(mm, "trades"), "%.0f"),
              cell(a[4], 32, 100 * jd(o, "buy_hold_return"), "%.2f%%"));
    }
  }
  if (m) {
    fprintf(f, "\nstitched out-of-sample equity%s %s .. %s (%lld bars): %.2f -> %.2f\n",
            json_is_object(sbs) ? " of the portfolio (equal cash shares)" : "",
            json_string_value(json_object_get(st, "from")),
            json_string_value(json_object_get(st, "to")),
            (long long)json_integer_value(json_object_get(st, "bars")), jd(st, "start_cash"),
            jd(st, "final_equity"));
    fprintf(f, "  sharpe %.2f, total return %.2f%%, max drawdown %.2f%%, trades %.0f, profit "
            "factor %s, buy-and-hold %.2f%%\n",
            jd(m, "sharpe"), 100 * jd(m, "total_return"), 100 * jd(m, "max_drawdown"),
            jd(m, "trades"), cell(a[0], 32, jd(m, "profit_factor"), "%.2f"),
            100 * jd(st, "buy_hold_return"));
    double wfe = jd(j, "wfe_mean"), ret = jd(m, "total_return"), bh = jd(st, "buy_hold_return");
    if (isfinite(bh) && ret < bh)
      fprintf(f, "  (buying and holding over the same spans returned %.2f%%: more than the "
              "strategy)\n", 100 * bh);
    fprintf(f, "verdict: %s\n",
            ret <= 0 ? "out of sample the walk-forward loses money"
            : !(wfe >= 0.5) ? "the in-sample results do not carry out of sample (mean WFE below 0.5)"
            : jd(m, "sharpe") < 1 ? "out of sample it earns, with a Sharpe below 1"
                                  : "out of sample it holds up (stitched Sharpe >= 1, mean WFE >= 0.5)");
  } else {
    fprintf(f, "\nno window had a complete trial to test out of sample\n");
  }
  json_decref(j);
  return ferror(f) ? qt_err_set(err, QT_EIO, "walk-forward: write failed") : QT_OK;
}
