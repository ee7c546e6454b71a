/* What a stored study ran on, rebuilt from its pin (so qtune validate can
 * re-run trials: the best's neighbourhood, repeated studies), and the
 * repeated studies themselves (--stability-runs K): the same space, goal,
 * sampler and budget under K other seeds, their bests compared. */
#include "qtune/strategies.h"
#include "qtune/validate.h"
#include "validate/validate_int.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int copy_str(json_t *o, const char *k, char *buf, size_t cap, int required, qt_err *err) {
  json_t *v = json_object_get(o, k);
  buf[0] = '\0';
  if (!json_is_string(v)) {
    return required ? qt_err_set(err, QT_EPARSE, "study pin: field '%s' missing", k) : QT_OK;
  }
  if (strlen(json_string_value(v)) >= cap)
    return qt_err_set(err, QT_EPARSE, "study pin: field '%s' longer than %zu bytes", k, cap - 1);
  strcpy(buf, json_string_value(v));
  return QT_OK;
}

static double num_or(json_t *o, const char *k, double dflt) {
  json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : dflt;
}

int qt_study_market_from_pin(const char *pin_json, qt_study_market *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  out->mo = qt_market_opts_default();
  out->eo = qt_engine_opts_default();
  json_t *p = json_loads(pin_json ? pin_json : "", 0, NULL);
  if (!json_is_object(p)) {
    json_decref(p);
    return qt_err_set(err, QT_EPARSE, "study pin: not a JSON object (a study from before pins?)");
  }
  int r = copy_str(p, "strategy", out->strategy, sizeof out->strategy, 1, err);
  if (!r) r = copy_str(p, "catalog", out->catalog, sizeof out->catalog, 0, err);
  if (!r) r = copy_str(p, "data_file", out->data_file, sizeof out->data_file, 0, err);
  if (!r) r = copy_str(p, "symbol", out->symbols, sizeof out->symbols, 0, err);
  if (!r) r = copy_str(p, "from", out->from, sizeof out->from, 1, err);
  char to[48];
  if (!r) r = copy_str(p, "to", to, sizeof to, 1, err);
  if (!r && !out->catalog[0] && !out->data_file[0])
    r = qt_err_set(err, QT_EPARSE, "study pin: no market (neither catalog nor data_file)");
  int64_t t = 0;
  if (!r && (r = qt_time_parse(to, strlen(to), &t, err)) != 0) qt_err_prefix(err, "study pin 'to'");
  if (r) goto done;
  /* the pin's "to" is the last bar's open; the market's --to is exclusive */
  qt_time_format(t + 1, out->to, sizeof out->to);
  out->mo.catalog = out->catalog[0] ? out->catalog : NULL;
  out->mo.data = out->data_file[0] ? out->data_file : NULL;
  out->mo.from = out->from;
  out->mo.to = out->to;
  char first[sizeof out->symbols];
  snprintf(first, sizeof first, "%s", out->symbols);
  first[strcspn(first, ",")] = '\0'; /* "<S>,<S>.B": the second venue is loaded by want_second */
  out->aggregate = -1;
  const char *agg = json_string_value(json_object_get(p, "aggregate"));
  if (agg) { /* optimize --symbol A,B,..: every symbol, no second venue */
    if ((r = qt_aggregate_parse(agg, &out->aggregate, err)) != 0) goto done;
    snprintf(first, sizeof first, "%s", out->symbols);
  }
  if (first[0] && (r = qt_market_opts_set_symbols(&out->mo, first, err)) != 0) goto done;
  out->mo.maker_bps = num_or(p, "maker_bps", NAN);
  out->mo.taker_bps = num_or(p, "taker_bps", NAN);
  out->mo.lot_size = num_or(p, "lot_size", NAN);
  out->mo.tick_size = num_or(p, "tick_size", NAN);
  out->mo.want_second = !agg && strchr(out->symbols, ',') != NULL;
  out->eo.cash = num_or(p, "cash", out->eo.cash);
  out->eo.slippage_bps = num_or(p, "slippage_bps", out->eo.slippage_bps);
  out->eo.leverage_cap = num_or(p, "leverage", out->eo.leverage_cap);
  out->eo.hedge_mode = json_is_true(json_object_get(p, "hedge_mode"));
  out->eo.trade_on_close = json_is_true(json_object_get(p, "trade_on_close"));
  out->eo.fill_on_trades = json_is_true(json_object_get(p, "fill_on_trades"));
  json_t *fdb = json_object_get(p, "fill_delay_bars");
  if (json_is_integer(fdb) && json_integer_value(fdb) > 0)
    out->eo.fill_delay_bars = (size_t)json_integer_value(fdb);
  if (json_object_get(p, "close_at_end"))
    out->eo.close_at_end = json_is_true(json_object_get(p, "close_at_end"));
done:
  json_decref(p);
  return r;
}

void qt_study_rerun_close(qt_study_rerun *x) {
  if (!x) return;
  qt_objective_free(&x->obj);
  qt_objective_free(&x->oos);
  if (x->have_mk) qt_market_free(&x->mk);
  if (x->have_full) qt_market_free(&x->mk_full);
  qt_strategy_unload(x->plugin);
  memset(x, 0, sizeof *x);
}

/* The objective over the held-out bars of a study with a stored holdout:
 * the whole market, trading from the split (earlier bars warm up). */
static int holdout_objective(qt_study *st, qt_study_rerun *x, qt_err *err) {
  char *hb = qt_malloc((size_t)1 << 20);
  if (!hb) return qt_err_set(err, QT_ENOMEM, "out of memory");
  int r = qt_holdout_load(st, hb, (size_t)1 << 20, NULL);
  if (r) {
    qt_free(hb);
    return QT_OK; /* no holdout: no out-of-sample objective */
  }
  json_t *h = json_loads(hb, 0, NULL);
  qt_free(hb);
  const char *split = json_string_value(json_object_get(json_object_get(h, "split"), "split"));
  int64_t t = 0;
  r = split ? qt_time_parse(split, strlen(split), &t, err)
            : qt_err_set(err, QT_EPARSE, "study '%s': its holdout has no split", qt_study_name(st));
  json_decref(h);
  if (r) return r;
  qt_market_opts mo = x->sm.mo;
  mo.to = NULL;
  x->have_full = 1;
  if ((r = qt_market_load(&mo, &x->mk_full, err)) != 0) return r;
  x->eo_oos = x->eo;
  x->eo_oos.from = qt_bars_lower_bound(x->mk_full.feeds[0].bars, t);
  x->eo_oos.to = 0;
  return qt_objective_strategy(x->strategy, x->mk_full.feeds, x->mk_full.n_feeds, &x->eo_oos,
                               NULL, &x->oos, err);
}

int qt_study_rerun_open(qt_study *st, qt_study_rerun *x, qt_err *err) {
  memset(x, 0, sizeof *x);
  const char *pin = qt_study_pinned(st);
  int r;
  char *now = NULL, diff[1024];
  if (!pin) {
    r = qt_err_set(err, QT_ENOTFOUND, "study '%s' has no pin (made before pins existed)",
                   qt_study_name(st));
    goto fail;
  }
  if ((r = qt_study_market_from_pin(pin, &x->sm, err)) != 0) goto fail;
  if (!(x->strategy = qt_strategy_resolve(x->sm.strategy, &x->plugin, err))) {
    r = err ? err->code : QT_EINVAL;
    goto fail;
  }
  const qt_feed *feeds;
  int n_feeds;
  if (x->sm.aggregate >= 0) {
    /* several symbols: the objective loads and owns their markets; x->mk
     * borrows the first one's (not freed here) */
    if ((r = qt_objective_symbols(x->strategy, &x->sm.mo, &x->sm.eo, NULL, x->sm.aggregate,
                                  &x->obj, err)) != 0)
      goto fail;
    const qt_market *m0;
    n_feeds = (int)qt_objective_symbols_feeds(&x->obj, &feeds, &m0);
    x->mk = *m0;
  } else {
    x->have_mk = 1;
    if ((r = qt_market_load(&x->sm.mo, &x->mk, err)) != 0) goto fail;
    feeds = x->mk.feeds;
    n_feeds = x->mk.n_feeds;
  }
  x->eo = x->sm.eo;
  x->eo.from = x->mk.from_i;
  qt_study_pin p = {x->sm.strategy, x->sm.mo.catalog, x->sm.mo.data, feeds, n_feeds,
                    x->mk.from_i, &x->eo, qt_study_goal(st)};
  size_t nd = 0;
  if (!(now = qt_malloc(16384))) {
    r = qt_err_set(err, QT_ENOMEM, "out of memory");
    goto fail;
  }
  if ((r = qt_study_pin_json(&p, now, 16384, err)) != 0) goto fail;
  /* a study scored on one regime (optimize --regime R) pins it */
  json_t *pj = json_loads(pin, 0, NULL);
  const char *reg = json_string_value(json_object_get(pj, "regime"));
  snprintf(x->regime, sizeof x->regime, "%s", reg ? reg : "");
  json_decref(pj);
  if (x->sm.aggregate >= 0) { /* pinned by optimize beside the market */
    json_t *nj = json_loads(now, 0, NULL);
    json_object_set_new(nj, "aggregate", json_string(qt_aggregate_name(x->sm.aggregate)));
    char *t = json_dumps(nj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(nj);
    if (t && strlen(t) < 16384) strcpy(now, t);
    free(t);
  }
  if (x->regime[0]) {
    json_t *nj = json_loads(now, 0, NULL);
    json_object_set_new(nj, "regime", json_string(x->regime));
    char *t = json_dumps(nj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(nj);
    if (t && strlen(t) < 16384) strcpy(now, t);
    free(t);
  }
  if ((r = qt_study_pin_diff(pin, now, diff, sizeof diff, &nd, err)) != 0) goto fail;
  if (nd) {
    r = qt_err_set(err, QT_ESTATE, "the data or settings changed since study '%s' ran: %s",
                   qt_study_name(st), diff);
    goto fail;
  }
  if (x->sm.aggregate >= 0) { /* no holdout or regime over several symbols (yet) */
    qt_free(now);
    return QT_OK;
  }
  if ((r = qt_objective_strategy(x->strategy, x->mk.feeds, x->mk.n_feeds, &x->eo, NULL, &x->obj,
                                 err)) != 0)
    goto fail;
  if (x->regime[0] &&
      (r = qt_regime_restrict(&x->obj, x->mk.feeds[0].bars, x->regime, NULL, err)) != 0)
    goto fail;
  if ((r = holdout_objective(st, x, err)) != 0) goto fail;
  if (x->regime[0] && x->oos.vt &&
      (r = qt_regime_restrict(&x->oos, x->mk_full.feeds[0].bars, x->regime, NULL, err)) != 0)
    goto fail;
  qt_free(now);
  return QT_OK;
fail:
  qt_free(now);
  qt_study_rerun_close(x);
  return r < 0 ? -r : (r ? r : 1);
}

/* The spread of the runs' best values of each searched parameter. */
static json_t *param_spread(const qt_space *sp, json_t *runs) {
  json_t *arr = json_array();
  for (size_t k = 0; k < qt_space_n(sp); k++) {
    const qt_dim *d = qt_space_dim(sp, k);
    if (d->fixed) continue;
    json_t *vals = json_array();
    double s1 = 0, s2 = 0;
    size_t n = 0, i;
    json_t *r;
    json_array_foreach(runs, i, r) {
      json_t *v = json_object_get(json_object_get(r, "params"), d->name);
      if (!json_is_number(v)) continue;
      double x = json_number_value(v);
      json_array_append_new(vals, json_real(x));
      s1 += x, s2 += x * x, n++;
    }
    double mean = n ? s1 / (double)n : NAN;
    double sd = n > 1 ? sqrt(fmax(0, (s2 - s1 * mean) / (double)(n - 1))) : 0;
    double range = d->hi - d->lo;
    json_t *e = json_object();
    json_object_set_new(e, "name", json_string(d->name));
    json_object_set_new(e, "values", vals);
    json_object_set_new(e, "sd_share", range > 0 && isfinite(sd) ? json_real(sd / range) : json_null());
    json_array_append_new(arr, e);
  }
  return arr;
}

static json_t *jnum_(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* Evaluates the params of trial info ti through obj: sharpe and total_return. */
static int eval_params(const qt_space *sp, const qt_objective *obj, const char *params_json,
                       double *out_sharpe, double *out_ret, qt_err *err) {
  size_t nd = qt_space_n(sp);
  double *x = qt_calloc(nd + 1, sizeof *x), *u = qt_calloc(nd + 1, sizeof *u);
  void *w = NULL;
  qt_metric_set ms;
  qt_metric_set_init(&ms);
  *out_sharpe = *out_ret = NAN;
  int r = !x || !u ? qt_err_set(err, QT_ENOMEM, "validate: out of memory") : QT_OK;
  if (!r) r = qt_space_params_from_json(sp, params_json, x, err);
  if (!r) r = obj->vt->worker_new(obj->shared, &w, err);
  if (!r) {
    for (size_t q = 0; q < nd; q++) u[q] = qt_space_to_user(sp, q, x[q]);
    qt_err e2;
    if (obj->vt->eval(w, sp, x, u, 0, &ms, &e2) == 0) {
      const double *s = qt_metric_set_find(&ms, "sharpe"), *t = qt_metric_set_find(&ms, "total_return");
      *out_sharpe = s ? *s : NAN;
      *out_ret = t ? *t : NAN;
    }
  }
  if (w) obj->vt->worker_free(w);
  qt_metric_set_fini(&ms);
  qt_free(x);
  qt_free(u);
  return r;
}

static int run_entry(const qt_study *st, long best, const char *name, uint64_t seed,
                     const qt_objective *oos, json_t *runs, qt_err *err) {
  qt_trial_info ti;
  qt_study_trial_info(st, (size_t)best, &ti);
  json_t *e = json_object();
  json_array_append_new(runs, e);
  json_object_set_new(e, "study", json_string(name));
  json_object_set_new(e, "seed", json_integer((json_int_t)seed));
  json_object_set_new(e, "best_trial", json_integer((json_int_t)ti.number));
  json_object_set_new(e, "objective", jnum_(ti.objective));
  json_object_set_new(e, "params", json_loads(ti.params_json ? ti.params_json : "{}", 0, NULL));
  json_t *m = json_loads(ti.metrics_json ? ti.metrics_json : "{}", 0, NULL);
  json_t *sh = json_object_get(m, "sharpe");
  json_object_set_new(e, "sharpe", json_is_number(sh) ? json_real(json_number_value(sh)) : json_null());
  json_decref(m);
  if (oos) {
    double s, t;
    int r = eval_params(qt_study_space(st), oos, ti.params_json, &s, &t, err);
    if (r) return r;
    json_object_set_new(e, "oos_sharpe", jnum_(s));
    json_object_set_new(e, "oos_total_return", jnum_(t));
  }
  return QT_OK;
}

int qt__validate_stability_runs(qt_study *st, const qt_validate_opts *o, json_t *root,
                                qt_err *err) {
  json_t *j = json_object(), *runs = json_array();
  json_object_set_new(root, "stability_runs", j);
  json_object_set_new(j, "runs", runs);
  size_t counts[QT_TRIAL_N_STATES], budget = 0;
  qt_study_counts(st, counts);
  for (int q = QT_TRIAL_COMPLETE; q < QT_TRIAL_N_STATES; q++) budget += counts[q];
  json_object_set_new(j, "trials", json_integer((json_int_t)budget));
  int r = run_entry(st, qt_study_best(st), qt_study_name(st), qt_study_seed(st),
                    o->oos_objective, runs, err);
  for (size_t k = 1; !r && k <= o->stability_runs; k++) {
    char name[200];
    snprintf(name, sizeof name, "%s/seed%zu", qt_study_name(st), k);
    qt_study_opts so = qt_study_opts_default();
    so.name = name;
    so.storage_url = o->storage_url;
    so.seed = qt_study_seed(st) + 1000003 * k; /* far from the walk-forward's seed + k */
    so.sampler = qt_sampler_find(qt_study_sampler_name(st) ? qt_study_sampler_name(st) : "tpe");
    so.goal = *qt_study_goal(st);
    so.pin_json = qt_study_pinned(st);
    qt_study *rs = NULL;
    if ((r = qt_study_open(&so, qt_study_space(st), &rs, err)) != 0) break;
    size_t have = 0, c2[QT_TRIAL_N_STATES];
    qt_study_counts(rs, c2);
    for (int q = QT_TRIAL_COMPLETE; q < QT_TRIAL_N_STATES; q++) have += c2[q];
    if (budget > have) {
      qt_run_opts ro = qt_run_opts_default();
      ro.jobs = o->jobs;
      ro.n_trials = budget - have;
      r = qt_study_run(rs, o->objective, &ro, NULL, err);
    }
    long b = r ? -1 : qt_study_best(rs);
    if (!r && b >= 0) r = run_entry(rs, b, name, so.seed, o->oos_objective, runs, err);
    qt_study_free(rs);
  }
  if (r) return r;
  json_object_set_new(j, "params", param_spread(qt_study_space(st), runs));
  return QT_OK;
}
