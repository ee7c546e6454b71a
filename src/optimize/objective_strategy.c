/* The backtest objective: a built-in or plugin strategy run by one
 * qt_engine per worker over feeds loaded once and shared read-only; the
 * engine keeps its buffers and indicator cache across the worker's trials. */
#include "qtune/optimize.h"

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
} strat_shared;

typedef struct strat_worker {
  const strat_shared *sh;
  qt_engine *eng;
  double *p; /* n_params, spec order */
} strat_worker;

static void strat_worker_free(void *w) {
  strat_worker *sw = w;
  if (!sw) return;
  qt_engine_free(sw->eng);
  qt_free(sw->p);
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
  *out_w = w;
  return QT_OK;
fail:
  if (r == QT_ENOMEM) qt_err_set(err, QT_ENOMEM, "strategy objective: out of memory");
  strat_worker_free(w);
  return r;
}

static int put_returns(const strat_shared *sh, const qt_result *res, qt_metric_set *out,
                       qt_err *err);

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
  qt_result res;
  int r = qt_engine_run(w->eng, w->sh->feeds, w->sh->n_feeds, s, w->p, &res, err);
  if (r) return r;
  qt_metrics m;
  r = qt_metrics_compute(&res, w->sh->feeds[0].bars->close + w->sh->eo.from, &w->sh->mo, &m, err);
  if (r) return r;
  for (int k = 0; k < QT_METRICS_N; k++)
    if ((r = qt_metric_set_put(out, qt_metrics_name(k), qt_metrics_get(&m, k), err)) != 0)
      return r;
  return put_returns(w->sh, &res, out, err);
}

static void strat_destroy(void *shared) {
  strat_shared *sh = shared;
  if (sh) qt_free(sh->bench);
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

static const qt_objective_vtbl k_strat_vtbl = {"strategy", strat_worker_new, strat_eval,
                                               strat_worker_free, strat_destroy};

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
