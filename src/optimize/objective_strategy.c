/* The backtest objective: a built-in or plugin strategy run by one
 * qt_engine per worker over feeds loaded once and shared read-only; the
 * engine keeps its buffers and indicator cache across the worker's trials. */
#include "qtune/optimize.h"

#include <math.h>
#include <string.h>

typedef struct strat_shared {
  const qt_strategy_vtbl *s;
  const qt_feed *feeds;
  int n_feeds;
  qt_engine_opts eo;
  qt_metrics_opts mo;
  /* the per-period returns every trial reports (qt_metrics_returns_period
   * over the traded bars), and the market's buy-and-hold over the same
   * periods; n_periods 0 when the traded span has no bars */
  int64_t period_ms, start_ms;
  size_t n_periods;
  double *bench;
  /* qt_objective_strategy_restrict: 1 for the bars of feed 0 that are
   * scored (owned copy, feeds[0].bars->n bytes), NULL: every bar */
  uint8_t *mask;
} strat_shared;

typedef struct strat_worker {
  const strat_shared *sh;
  qt_engine *eng;
  double *p; /* n_params, spec order */
  const qt_reporter *rep; /* intermediate values (NULL: none) */
  qt_metric_set *ck_out;  /* the eval's metric set, filled at each checkpoint */
  int ck_rc;              /* a checkpoint's own failure (metrics), 0 */
  size_t ck_every;        /* bars per checkpoint of the current eval */
  qt_metrics_stream *ms;  /* the metrics of a run's checkpoints, each bar read once */
  qt_err ck_err;
  /* the restricted run's curve and trades (mask), grown once */
  int64_t *rts;
  double *req, *rex, *rcl;
  size_t cap;
  qt_trade_rec *rtr;
  size_t cap_tr;
} strat_worker;

static void strat_worker_free(void *w) {
  strat_worker *sw = w;
  if (!sw) return;
  qt_engine_free(sw->eng);
  qt_metrics_stream_free(sw->ms);
  qt_free(sw->p);
  qt_free(sw->rts);
  qt_free(sw->req);
  qt_free(sw->rex);
  qt_free(sw->rcl);
  qt_free(sw->rtr);
  qt_free(sw);
}

static int strat_worker_new(const void *shared, void **out_w, qt_err *err) {
  const strat_shared *sh = shared;
  *out_w = NULL;
  int r = QT_ENOMEM;
  strat_worker *w = qt_calloc(1, sizeof *w);
  if (!w) goto fail;
  w->sh = sh;
  w->p = qt_calloc(sh->s->n_params ? sh->s->n_params : 1, sizeof *w->p);
  if (!w->p) goto fail;
  if ((r = qt_engine_new(&sh->eo, &w->eng, err)) != 0) goto fail;
  if ((r = qt_metrics_stream_new(&w->ms, err)) != 0) goto fail;
  *out_w = w;
  return QT_OK;
fail:
  if (r == QT_ENOMEM) qt_err_set(err, QT_ENOMEM, "strategy objective: out of memory");
  strat_worker_free(w);
  return r;
}

static int put_returns(const strat_shared *sh, const qt_result *res, qt_metric_set *out,
                       qt_err *err);

/* The run seen through the mask: the scored bars only, their bar-to-bar
 * equity returns chained from the start cash, and the trades entered on a
 * scored bar (a run's metrics restricted to one regime). */
static int restrict_run(strat_worker *w, const qt_result *res, qt_result *out,
                        const double **out_close, qt_err *err) {
  const strat_shared *sh = w->sh;
  size_t n = res->n_bars, from = sh->eo.from;
  if (n > w->cap) {
    int64_t *ts = qt_realloc(w->rts, n * sizeof *ts);
    if (ts) w->rts = ts;
    double *eq = ts ? qt_realloc(w->req, n * sizeof *eq) : NULL;
    if (eq) w->req = eq;
    double *ex = eq ? qt_realloc(w->rex, n * sizeof *ex) : NULL;
    if (ex) w->rex = ex;
    double *cl = ex ? qt_realloc(w->rcl, n * sizeof *cl) : NULL;
    if (!cl) return qt_err_set(err, QT_ENOMEM, "strategy objective: out of memory");
    w->rcl = cl;
    w->cap = n;
  }
  if (res->n_trades > w->cap_tr) {
    qt_trade_rec *t = qt_realloc(w->rtr, res->n_trades * sizeof *t);
    if (!t) return qt_err_set(err, QT_ENOMEM, "strategy objective: out of memory");
    w->rtr = t;
    w->cap_tr = res->n_trades;
  }
  const double *close = sh->feeds[0].bars->close;
  size_t k = 0;
  double v = res->start_cash;
  for (size_t i = 0; i < n; i++) {
    if (!sh->mask[from + i]) continue;
    double prev = i ? res->equity[i - 1] : res->start_cash;
    v *= prev > 0 ? res->equity[i] / prev : 1;
    w->rts[k] = res->ts_ms[i];
    w->req[k] = v;
    w->rex[k] = res->exposure ? res->exposure[i] : 0;
    w->rcl[k] = close[from + i];
    k++;
  }
  size_t nt = 0;
  for (size_t t = 0; t < res->n_trades; t++) {
    size_t lo = 0, hi = n; /* the bar the trade was entered on */
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (res->ts_ms[mid] <= res->trades[t].entry_ms) lo = mid + 1;
      else hi = mid;
    }
    if (sh->mask[from + (lo ? lo - 1 : 0)]) w->rtr[nt++] = res->trades[t];
  }
  *out = *res;
  out->n_bars = k;
  out->ts_ms = w->rts;
  out->equity = w->req;
  out->exposure = w->rex;
  out->trades = w->rtr;
  out->n_trades = nt;
  out->final_equity = k ? w->req[k - 1] : res->start_cash;
  *out_close = w->rcl;
  return QT_OK;
}

/* The metrics of a result into out (cleared first); with a stream (a run
 * with checkpoints) only the bars not yet read are read.  A run restricted
 * to a mask is scored on its scored bars (computed whole: the mask breaks
 * the stream's bar order). */
static int put_metrics(strat_worker *w, const qt_result *res, int streamed,
                       qt_metric_set *out, qt_err *err) {
  qt_metrics m;
  const double *close0 = w->sh->feeds[0].bars->close + w->sh->eo.from;
  int r;
  if (w->sh->mask) {
    qt_result rr;
    const double *cl = NULL;
    if ((r = restrict_run(w, res, &rr, &cl, err)) != 0) return r;
    r = qt_metrics_compute(&rr, cl, &w->sh->mo, &m, err);
  } else {
    r = streamed ? qt_metrics_stream_compute(w->ms, res, close0, &w->sh->mo, &m, err)
                 : qt_metrics_compute(res, close0, &w->sh->mo, &m, err);
  }
  if (r) return r;
  qt_metric_set_clear(out);
  for (int k = 0; k < QT_METRICS_N; k++)
    if ((r = qt_metric_set_put(out, qt_metrics_name(k), qt_metrics_get(&m, k), err)) != 0)
      return r;
  return QT_OK;
}

/* The engine's checkpoint: the running metrics on the bars so far go to the
 * reporter, which may stop the run.  Step k: after k checkpoints' worth of
 * bars (k * every_frac of the run; the whole run is the last step). */
static int strat_checkpoint(void *ud, const qt_result *so_far) {
  strat_worker *w = ud;
  w->ck_rc = put_metrics(w, so_far, 1, w->ck_out, &w->ck_err);
  if (w->ck_rc) return 1;
  return w->rep->report(w->rep->ud, (int64_t)(so_far->n_bars / w->ck_every), w->ck_out, NAN, 0);
}

static void strat_set_reporter(void *wv, const qt_reporter *rep) {
  strat_worker *w = wv;
  w->rep = rep && rep->report ? rep : NULL;
}

static int strat_eval(void *wv, const qt_space *sp, const double *x, const double *u,
                      uint64_t seed, qt_metric_set *out, qt_err *err) {
  strat_worker *w = wv;
  const qt_strategy_vtbl *s = w->sh->s;
  qt_strategy_defaults(s, w->p);
  for (size_t i = 0; i < s->n_params; i++) {
    int k = qt_space_index(sp, s->params[i].name);
    if (k < 0) continue;
    /* the strategy takes a categorical as its choice index */
    w->p[i] = s->params[i].type == QT_PARAM_CAT ? x[k] : u[k];
  }
  /* checkpoints every every_frac of the simulated bars, when reporting */
  size_t every = 0;
  if (w->rep && w->rep->every_frac > 0) {
    const qt_engine_opts *eo = &w->sh->eo;
    size_t to = eo->to ? eo->to : w->sh->feeds[0].bars->n;
    size_t nb = to > eo->from ? to - eo->from : 0;
    every = (size_t)((double)nb * w->rep->every_frac);
    if (every < 1) every = 1;
  }
  w->ck_out = out;
  w->ck_rc = 0;
  w->ck_every = every;
  qt_metrics_stream_reset(w->ms);
  qt_engine_set_checkpoint(w->eng, every, every ? strat_checkpoint : NULL, w);
  qt_result res;
  int r = qt_engine_run(w->eng, w->sh->feeds, w->sh->n_feeds, s, w->p, &res, err);
  if (r == QT_PRUNED && w->ck_rc) {
    if (err) *err = w->ck_err;
    return w->ck_rc;
  }
  if (r) return r; /* QT_PRUNED: out holds the last checkpoint's metrics */
  if ((r = put_metrics(w, &res, every != 0, out, err)) != 0) return r;
  /* the whole run as the last step (what min_resource=auto reads) */
  if (every) w->rep->report(w->rep->ud, (int64_t)((res.n_bars + every - 1) / every), out, NAN, 1);
  return put_returns(w->sh, &res, out, err);
}
static void strat_destroy(void *shared) {
  strat_shared *sh = shared;
  if (sh) qt_free(sh->bench);
  if (sh) qt_free(sh->mask);
  qt_free(shared);
}

/* The traded bars [from, to) of feed 0. */
static void traded(const strat_shared *sh, size_t *from, size_t *to) {
  const qt_bars *b = sh->feeds[0].bars;
  *to = sh->eo.to && sh->eo.to < b->n ? sh->eo.to : b->n;
  *from = sh->eo.from < *to ? sh->eo.from : *to;
}

/* The period grid and the buy-and-hold returns over it (at creation). */
static int setup_returns(strat_shared *sh, qt_err *err) {
  const qt_bars *b = sh->feeds[0].bars;
  size_t from, to;
  traded(sh, &from, &to);
  if (to - from < 2) return QT_OK; /* nothing to compound: no returns reported */
  sh->period_ms = qt_metrics_returns_period(b->ts_ms[to - 1] - b->ts_ms[from], b->interval_ms);
  sh->n_periods = qt_metrics_period_count(b->ts_ms + from, to - from, sh->period_ms);
  if (!(sh->bench = qt_malloc(sh->n_periods * sizeof *sh->bench)))
    return qt_err_set(err, QT_ENOMEM, "strategy objective: out of memory");
  double v0 = from > 0 ? b->close[from - 1] : b->open[from];
  return qt_metrics_period_returns(b->ts_ms + from, b->close + from, to - from, v0, sh->period_ms,
                                   sh->bench, sh->n_periods, NULL, &sh->start_ms, err);
}

/* The run's equity in the study's periods; a run that ended early (a
 * liquidation) earns 0 in the periods after its last bar. */
static int put_returns(const strat_shared *sh, const qt_result *res, qt_metric_set *out,
                       qt_err *err) {
  if (!sh->n_periods || !res->n_bars || !res->ts_ms) return QT_OK;
  int r = qt_metric_set_reserve_returns(out, sh->n_periods, err);
  if (r) return r;
  size_t n = 0;
  int64_t start = 0;
  size_t np = qt_metrics_period_count(res->ts_ms, res->n_bars, sh->period_ms);
  if (np > sh->n_periods || res->ts_ms[0] / sh->period_ms != sh->start_ms / sh->period_ms) {
    out->n_ret = 0; /* not the traded span: report no returns rather than misaligned ones */
    return QT_OK;
  }
  r = qt_metrics_period_returns(res->ts_ms, res->equity, res->n_bars, res->start_cash,
                                sh->period_ms, out->ret, sh->n_periods, &n, &start, err);
  if (r) return r;
  for (size_t k = n; k < sh->n_periods; k++) out->ret[k] = 0.0;
  out->ret_period_ms = sh->period_ms;
  out->ret_start_ms = sh->start_ms;
  out->bench_ret = sh->bench;
  return QT_OK;
}



static const qt_objective_vtbl k_strat_vtbl = {"strategy",        strat_worker_new,
                                               strat_eval,        strat_worker_free,
                                               strat_destroy,     strat_set_reporter};

int qt_objective_strategy(const qt_strategy_vtbl *s, const qt_feed *feeds, int n_feeds,
                          const qt_engine_opts *eo, const qt_metrics_opts *mo, qt_objective *out,
                          qt_err *err) {
  memset(out, 0, sizeof *out);
  if (!s || !feeds || n_feeds < 1 || !feeds[0].bars)
    return qt_err_set(err, QT_EINVAL, "strategy objective: needs a strategy and bars");
  strat_shared *sh = qt_calloc(1, sizeof *sh);
  if (!sh) return qt_err_set(err, QT_ENOMEM, "strategy objective: out of memory");
  sh->s = s;
  sh->feeds = feeds;
  sh->n_feeds = n_feeds;
  sh->eo = eo ? *eo : qt_engine_opts_default();
  sh->mo = mo ? *mo : qt_metrics_opts_default();
  int r = setup_returns(sh, err);
  if (r) {
    strat_destroy(sh);
    return r;
  }
  out->vt = &k_strat_vtbl;
  out->shared = sh;
  out->is_strategy = 1;
  return QT_OK;
}

int qt_objective_strategy_restrict(qt_objective *o, const uint8_t *mask, size_t n, qt_err *err) {
  if (!o || o->vt != &k_strat_vtbl)
    return qt_err_set(err, QT_EINVAL, "restrict: not a strategy objective");
  strat_shared *sh = o->shared;
  const qt_bars *b = sh->feeds[0].bars;
  if (n != b->n)
    return qt_err_set(err, QT_EINVAL, "restrict: a mask of %zu bars for %zu bars", n, b->n);
  size_t from, to, scored = 0;
  traded(sh, &from, &to);
  for (size_t i = from; i < to; i++) scored += mask[i] != 0;
  if (scored < 2)
    return qt_err_set(err, QT_EINVAL, "restrict: %zu of the %zu traded bars selected (need 2)",
                      scored, to - from);
  uint8_t *m = qt_malloc(n);
  if (!m) return qt_err_set(err, QT_ENOMEM, "restrict: out of memory");
  for (size_t i = 0; i < n; i++) m[i] = mask[i] != 0;
  qt_free(sh->mask);
  sh->mask = m;
  return QT_OK;
}

