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
} strat_worker;

static void strat_worker_free(void *w) {
  strat_worker *sw = w;
  if (!sw) return;
  qt_engine_free(sw->eng);
  qt_metrics_stream_free(sw->ms);
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
  if ((r = qt_metrics_stream_new(&w->ms, err)) != 0) goto fail;
  *out_w = w;
  return QT_OK;
fail:
  if (r == QT_ENOMEM) qt_err_set(err, QT_ENOMEM, "strategy objective: out of memory");
  strat_worker_free(w);
  return r;
}

/* The metrics of a result into out (cleared first); with a stream (a run
 * with checkpoints) only the bars not yet read are read. */
static int put_metrics(const strat_worker *w, const qt_result *res, int streamed,
                       qt_metric_set *out, qt_err *err) {
  qt_metrics m;
  const double *close0 = w->sh->feeds[0].bars->close + w->sh->eo.from;
  int r = streamed ? qt_metrics_stream_compute(w->ms, res, close0, &w->sh->mo, &m, err)
                   : qt_metrics_compute(res, close0, &w->sh->mo, &m, err);
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
  return QT_OK;
}

static void strat_destroy(void *shared) { qt_free(shared); }

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
  out->vt = &k_strat_vtbl;
  out->shared = sh;
  out->is_strategy = 1;
  return QT_OK;
}
