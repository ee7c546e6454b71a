/* The backtest objective over several symbols: every trial runs the same
 * params on each symbol's market in turn (one strategy objective, hence one
 * engine, per symbol per worker), and the trial's metrics are each metric
 * aggregated across the symbols (mean, median or min), the per-symbol
 * metrics under "<SYMBOL>/<metric>" (the study stores them as
 * "by_symbol": {SYMBOL: {...}}), and the spread: the symbols' Sharpe min,
 * max and SD, the share of the summed profit the best symbol carries, and
 * the aggregate Sharpe with each symbol left out.  The markets are loaded
 * once at creation, owned by the objective and shared read-only. */
#include "qtune/optimize.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const k_agg_names[] = {"mean", "median", "min"};

int qt_aggregate_parse(const char *text, int *out, qt_err *err) {
  for (int k = 0; k < 3; k++)
    if (text && !strcmp(text, k_agg_names[k])) return *out = k, QT_OK;
  return qt_err_set(err, QT_EINVAL, "--aggregate: want mean, median or min (\"%s\")",
                    text ? text : "");
}

const char *qt_aggregate_name(int agg) {
  return agg >= 0 && agg < 3 ? k_agg_names[agg] : "?";
}

/* Metrics where lower is better: "min" (the worst symbol) takes their max. */
static int lower_is_better(const char *name) {
  static const char *const k[] = {"max_drawdown", "max_drawdown_bars", "max_drawdown_duration_ms",
                                  "avg_drawdown", "avg_drawdown_duration_ms", "volatility",
                                  "fees_paid", "funding_paid", "max_flat_ms"};
  for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
    if (!strcmp(name, k[i])) return 1;
  return 0;
}

typedef struct sym_shared {
  int agg;
  size_t n;                              /* symbols */
  qt_market mk[QT_MARKET_MAX_SYMBOLS];   /* owned */
  qt_objective obj[QT_MARKET_MAX_SYMBOLS];
  qt_feed feeds[QT_MARKET_MAX_SYMBOLS];  /* feed 0 of each market, for the pin */
} sym_shared;

typedef struct sym_worker {
  const sym_shared *sh;
  void *w[QT_MARKET_MAX_SYMBOLS];
  qt_metric_set ms[QT_MARKET_MAX_SYMBOLS];
  double *vals; /* n scratch values */
} sym_worker;

static void sym_worker_free(void *wv) {
  sym_worker *w = wv;
  if (!w) return;
  for (size_t k = 0; k < w->sh->n; k++) {
    if (w->w[k]) w->sh->obj[k].vt->worker_free(w->w[k]);
    qt_metric_set_fini(&w->ms[k]);
  }
  qt_free(w->vals);
  qt_free(w);
}

static int sym_worker_new(const void *shared, void **out_w, qt_err *err) {
  const sym_shared *sh = shared;
  *out_w = NULL;
  sym_worker *w = qt_calloc(1, sizeof *w);
  if (!w) return qt_err_set(err, QT_ENOMEM, "symbols objective: out of memory");
  w->sh = sh;
  for (size_t k = 0; k < sh->n; k++) qt_metric_set_init(&w->ms[k]);
  int r = QT_OK;
  if (!(w->vals = qt_calloc(sh->n, sizeof *w->vals)))
    r = qt_err_set(err, QT_ENOMEM, "symbols objective: out of memory");
  for (size_t k = 0; !r && k < sh->n; k++) r = sh->obj[k].vt->worker_new(sh->obj[k].shared, &w->w[k], err);
  if (r) {
    sym_worker_free(w);
    return r;
  }
  *out_w = w;
  return QT_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The aggregate of v[0..n) (NaN values left out; NaN when none is left);
 * skip >= 0 leaves that symbol out too. */
static double aggregate(int agg, int lower_better, const double *v, size_t n, long skip,
                        double *tmp) {
  size_t m = 0;
  for (size_t k = 0; k < n; k++)
    if ((long)k != skip && !isnan(v[k])) tmp[m++] = v[k];
  if (!m) return NAN;
  if (agg == QT_AGG_MEAN) {
    double s = 0;
    for (size_t k = 0; k < m; k++) s += tmp[k];
    return s / (double)m;
  }
  qsort(tmp, m, sizeof *tmp, cmp_double);
  if (agg == QT_AGG_MIN) return lower_better ? tmp[m - 1] : tmp[0];
  return m % 2 ? tmp[m / 2] : (tmp[m / 2 - 1] + tmp[m / 2]) / 2;
}

/* The per-symbol values of metric name (NaN where a symbol lacks it). */
static void column(const sym_worker *w, const char *name, double *v) {
  for (size_t k = 0; k < w->sh->n; k++) {
    const double *p = qt_metric_set_find(&w->ms[k], name);
    v[k] = p ? *p : NAN;
  }
}

static int put_spread(sym_worker *w, qt_metric_set *out, qt_err *err) {
  const sym_shared *sh = w->sh;
  size_t n = sh->n;
  double sh_v[QT_MARKET_MAX_SYMBOLS], pr[QT_MARKET_MAX_SYMBOLS], tmp[QT_MARKET_MAX_SYMBOLS];
  column(w, "sharpe", sh_v);
  column(w, "total_profit", pr);
  double lo = INFINITY, hi = -INFINITY, s = 0, s2 = 0, psum = 0, pbest = -INFINITY;
  size_t m = 0;
  for (size_t k = 0; k < n; k++) {
    if (!isnan(sh_v[k])) {
      lo = fmin(lo, sh_v[k]);
      hi = fmax(hi, sh_v[k]);
      s += sh_v[k];
      s2 += sh_v[k] * sh_v[k];
      m++;
    }
    if (!isnan(pr[k])) {
      psum += pr[k];
      pbest = fmax(pbest, pr[k]);
    }
  }
  double mean = m ? s / (double)m : NAN;
  double sd = m > 1 ? sqrt(fmax(0, (s2 - (double)m * mean * mean) / (double)(m - 1))) : NAN;
  int r;
  if ((r = qt_metric_set_put(out, "symbols", (double)n, err)) != 0) return r;
  if ((r = qt_metric_set_put(out, "symbol_sharpe_min", m ? lo : NAN, err)) != 0) return r;
  if ((r = qt_metric_set_put(out, "symbol_sharpe_max", m ? hi : NAN, err)) != 0) return r;
  if ((r = qt_metric_set_put(out, "symbol_sharpe_sd", sd, err)) != 0) return r;
  /* a share of a total only means something when the total is a gain */
  double share = psum > 0 ? pbest / psum : NAN;
  if ((r = qt_metric_set_put(out, "symbol_best_profit_share", share, err)) != 0) return r;
  char key[64];
  for (size_t k = 0; k < n; k++) {
    double loo = n > 1 ? aggregate(sh->agg, 0, sh_v, n, (long)k, tmp) : NAN;
    int len = snprintf(key, sizeof key, "%s/loo_sharpe", sh->feeds[k].inst.symbol);
    if (len > 0 && (size_t)len < sizeof out->v[0].name &&
        (r = qt_metric_set_put(out, key, loo, err)) != 0)
      return r;
  }
  return QT_OK;
}

static int sym_eval(void *wv, const qt_space *sp, const double *x, const double *u, uint64_t seed,
                    qt_metric_set *out, qt_err *err) {
  sym_worker *w = wv;
  const sym_shared *sh = w->sh;
  int r;
  for (size_t k = 0; k < sh->n; k++) {
    qt_metric_set_clear(&w->ms[k]);
    if ((r = sh->obj[k].vt->eval(w->w[k], sp, x, u, seed, &w->ms[k], err)) != 0) {
      qt_err_prefix(err, "%s", sh->feeds[k].inst.symbol);
      return r;
    }
  }
  /* every metric of the first symbol, aggregated */
  const qt_metric_set *m0 = &w->ms[0];
  double v[QT_MARKET_MAX_SYMBOLS], tmp[QT_MARKET_MAX_SYMBOLS];
  for (size_t i = 0; i < m0->n; i++) {
    const char *name = m0->v[i].name;
    column(w, name, v);
    if ((r = qt_metric_set_put(out, name, aggregate(sh->agg, lower_is_better(name), v, sh->n, -1,
                                                    tmp), err)) != 0)
      return r;
  }
  if ((r = put_spread(w, out, err)) != 0) return r;
  char key[64];
  for (size_t k = 0; k < sh->n; k++)
    for (size_t i = 0; i < w->ms[k].n; i++) {
      int len = snprintf(key, sizeof key, "%s/%s", sh->feeds[k].inst.symbol, w->ms[k].v[i].name);
      if (len <= 0 || (size_t)len >= sizeof out->v[0].name) continue; /* documented: left out */
      if ((r = qt_metric_set_put(out, key, w->ms[k].v[i].value, err)) != 0) return r;
    }
  /* the stored per-period returns: the symbols' mean when they share one
   * period grid, else none (validate then has nothing misaligned to read) */
  size_t nr = w->ms[0].n_ret;
  for (size_t k = 1; k < sh->n; k++)
    if (w->ms[k].n_ret != nr || w->ms[k].ret_start_ms != w->ms[0].ret_start_ms ||
        w->ms[k].ret_period_ms != w->ms[0].ret_period_ms)
      nr = 0;
  if (!nr) return QT_OK;
  if ((r = qt_metric_set_reserve_returns(out, nr, err)) != 0) return r;
  for (size_t t = 0; t < nr; t++) {
    double s = 0;
    for (size_t k = 0; k < sh->n; k++) s += w->ms[k].ret[t];
    out->ret[t] = s / (double)sh->n;
  }
  out->ret_period_ms = w->ms[0].ret_period_ms;
  out->ret_start_ms = w->ms[0].ret_start_ms;
  out->bench_ret = w->ms[0].bench_ret; /* the first symbol's buy-and-hold */
  return QT_OK;
}

static void sym_destroy(void *shared) {
  sym_shared *sh = shared;
  if (!sh) return;
  for (size_t k = 0; k < QT_MARKET_MAX_SYMBOLS; k++) {
    qt_objective_free(&sh->obj[k]);
    qt_market_free(&sh->mk[k]);
  }
  qt_free(sh);
}

double qt_aggregate_metric(int agg, const char *metric, const double *v, size_t n) {
  double tmp[QT_MARKET_MAX_SYMBOLS];
  if (n > QT_MARKET_MAX_SYMBOLS) n = QT_MARKET_MAX_SYMBOLS;
  return aggregate(agg, metric && lower_is_better(metric), v, n, -1, tmp);
}

static const qt_objective_vtbl k_sym_vtbl = {"symbols", sym_worker_new, sym_eval,
                                             sym_worker_free, sym_destroy, NULL};

/* The checks both constructors share. */
static int check_symbols(const qt_strategy_vtbl *s, size_t n, int agg, qt_err *err) {
  if (!s || n < 2 || n > QT_MARKET_MAX_SYMBOLS)
    return qt_err_set(err, QT_EINVAL, "symbols objective: needs a strategy and 2 to %d symbols",
                      QT_MARKET_MAX_SYMBOLS);
  if (agg < 0 || agg > QT_AGG_MIN)
    return qt_err_set(err, QT_EINVAL, "symbols objective: unknown aggregate %d", agg);
  if ((s->needs & QT_NEEDS_SECOND) || s->n_instruments > 1)
    return qt_err_set(err, QT_EINVAL, "--symbol with several symbols: strategy '%s' trades two "
                      "instruments, one symbol at a time", s->name);
  return QT_OK;
}

int qt_objective_symbols_over(const qt_strategy_vtbl *s, const qt_symbol_run *runs, size_t n,
                              const qt_metrics_opts *mopts, int agg, qt_objective *out,
                              qt_err *err) {
  memset(out, 0, sizeof *out);
  int r = check_symbols(s, runs ? n : 0, agg, err);
  if (r) return r;
  sym_shared *sh = qt_calloc(1, sizeof *sh); /* mk[] stays empty: the markets are the caller's */
  if (!sh) return qt_err_set(err, QT_ENOMEM, "symbols objective: out of memory");
  sh->agg = agg;
  sh->n = n;
  for (size_t k = 0; k < n; k++) {
    if (!runs[k].feeds || runs[k].n_feeds < 1) {
      r = qt_err_set(err, QT_EINVAL, "symbols objective: symbol %zu has no feeds", k + 1);
      goto fail;
    }
    if ((r = qt_objective_strategy(s, runs[k].feeds, runs[k].n_feeds, &runs[k].eo, mopts,
                                   &sh->obj[k], err)) != 0)
      goto fail;
    sh->feeds[k] = runs[k].feeds[0];
  }
  out->vt = &k_sym_vtbl;
  out->shared = sh;
  out->is_strategy = 1;
  return QT_OK;
fail:
  sym_destroy(sh);
  return r;
}

int qt_objective_symbols(const qt_strategy_vtbl *s, const qt_market_opts *mo,
                         const qt_engine_opts *eo, const qt_metrics_opts *mopts, int agg,
                         qt_objective *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  int r0 = check_symbols(s, mo ? mo->n_symbols : 0, agg, err);
  if (r0) return r0;
  sym_shared *sh = qt_calloc(1, sizeof *sh);
  if (!sh) return qt_err_set(err, QT_ENOMEM, "symbols objective: out of memory");
  sh->agg = agg;
  int r = QT_OK;
  for (size_t k = 0; k < mo->n_symbols; k++) {
    qt_market_opts one = *mo;
    one.n_symbols = 1;
    memcpy(one.symbols[0], mo->symbols[k], sizeof one.symbols[0]);
    if ((r = qt_market_load(&one, &sh->mk[k], err)) != 0) goto fail;
    sh->n = k + 1;
    qt_engine_opts e = eo ? *eo : qt_engine_opts_default();
    e.from = sh->mk[k].from_i; /* each symbol's bars before --from warm up */
    if (s->needs & QT_NEEDS_HEDGE) e.hedge_mode = 1;
    if ((r = qt_objective_strategy(s, sh->mk[k].feeds, sh->mk[k].n_feeds, &e, mopts, &sh->obj[k],
                                   err)) != 0)
      goto fail;
    sh->feeds[k] = sh->mk[k].feeds[0];
  }
  out->vt = &k_sym_vtbl;
  out->shared = sh;
  out->is_strategy = 1;
  return QT_OK;
fail:
  sym_destroy(sh);
  return r;
}

size_t qt_objective_symbols_feeds(const qt_objective *o, const qt_feed **out_feeds,
                                  const qt_market **out_first) {
  if (out_feeds) *out_feeds = NULL;
  if (out_first) *out_first = NULL;
  if (!o || o->vt != &k_sym_vtbl) return 0;
  const sym_shared *sh = o->shared;
  if (out_feeds) *out_feeds = sh->feeds;
  if (out_first) *out_first = &sh->mk[0];
  return sh->n;
}

/* ---- the per-symbol table of a stored trial ---- */

static double jnum(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

int qt_symbols_write_table(const char *metrics_json, FILE *f, qt_err *err) {
  json_t *m = json_loads(metrics_json ? metrics_json : "", 0, NULL);
  json_t *bs = json_object_get(m, "by_symbol");
  if (!json_is_object(bs)) {
    json_decref(m);
    return QT_OK; /* one symbol: nothing to show */
  }
  fprintf(f, "  per symbol        sharpe    return    max dd  trades     profit  without it: sharpe\n");
  const char *sym;
  json_t *o;
  json_object_foreach(bs, sym, o) {
    fprintf(f, "    %-14s %8.2f %8.2f%% %8.2f%% %7.0f %10.2f  %8.2f\n", sym, jnum(o, "sharpe"),
            100 * jnum(o, "total_return"), 100 * jnum(o, "max_drawdown"), jnum(o, "trades"),
            jnum(o, "total_profit"), jnum(o, "loo_sharpe"));
  }
  double share = jnum(m, "symbol_best_profit_share");
  char sh[64] = "- (the symbols lose in sum)";
  if (isfinite(share)) snprintf(sh, sizeof sh, "%.0f%%", 100 * share);
  fprintf(f, "  spread: Sharpe %.2f .. %.2f (SD %.2f); the best symbol's share of the summed "
          "profit %s\n", jnum(m, "symbol_sharpe_min"), jnum(m, "symbol_sharpe_max"),
          jnum(m, "symbol_sharpe_sd"), sh);
  json_decref(m);
  return ferror(f) ? qt_err_set(err, QT_EIO, "symbols table: write failed") : QT_OK;
}

/* ---- one backtest over several symbols ---- */

int qt_symbols_backtest_json(const qt_strategy_vtbl *s, const double *p, const qt_market_opts *mo,
                             const qt_engine_opts *eo, int agg, char *buf, size_t cap,
                             qt_err *err) {
  if (cap) buf[0] = '\0';
  qt_objective obj;
  qt_space *sp = NULL;
  void *w = NULL;
  double *x = NULL, *u = NULL;
  json_t *root = NULL;
  char *txt = NULL;
  qt_metric_set ms;
  qt_metric_set_init(&ms);
  int r = qt_objective_symbols(s, mo, eo, NULL, agg, &obj, err);
  if (r) return r;
  if ((r = qt_space_from_spec(s->params, s->n_params, &sp, err)) != 0) goto done;
  size_t nd = qt_space_n(sp);
  x = qt_calloc(nd + 1, sizeof *x);
  u = qt_calloc(nd + 1, sizeof *u);
  if (!x || !u) {
    r = qt_err_set(err, QT_ENOMEM, "symbols backtest: out of memory");
    goto done;
  }
  for (size_t i = 0; i < s->n_params; i++) {
    int k = qt_space_index(sp, s->params[i].name);
    if (k < 0) continue;
    u[k] = p[i];
    x[k] = s->params[i].type == QT_PARAM_CAT ? p[i] : qt_space_to_internal(sp, (size_t)k, p[i]);
  }
  if ((r = obj.vt->worker_new(obj.shared, &w, err)) != 0) goto done;
  if ((r = obj.vt->eval(w, sp, x, u, 0, &ms, err)) != 0) goto done;
  root = json_object();
  json_t *m = json_object(), *bs = json_object();
  json_object_set_new(root, "strategy", json_string(s->name));
  json_object_set_new(root, "aggregate", json_string(qt_aggregate_name(agg)));
  json_object_set_new(root, "metrics", m);
  for (size_t i = 0; i < ms.n; i++) {
    const char *name = ms.v[i].name, *slash = strchr(name, '/');
    double v = ms.v[i].value;
    json_t *dst = m, *jv = isfinite(v) ? json_real(v) : json_null();
    if (slash) {
      char sym[48];
      snprintf(sym, sizeof sym, "%.*s", (int)(slash - name), name);
      if (!(dst = json_object_get(bs, sym))) json_object_set_new(bs, sym, dst = json_object());
      name = slash + 1;
    }
    json_object_set_new(dst, name, jv);
  }
  json_object_set_new(m, "by_symbol", bs);
  txt = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
  if (!txt) r = qt_err_set(err, QT_ENOMEM, "symbols backtest: out of memory");
  else if (strlen(txt) >= cap) r = qt_err_set(err, QT_EINVAL, "symbols backtest: result larger than %zu bytes", cap);
  else memcpy(buf, txt, strlen(txt) + 1);
done:
  free(txt);
  json_decref(root);
  if (w) obj.vt->worker_free(w);
  qt_metric_set_fini(&ms);
  qt_free(x);
  qt_free(u);
  qt_space_free(sp);
  qt_objective_free(&obj);
  return r;
}
