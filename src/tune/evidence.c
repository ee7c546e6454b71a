/* Backtest evidence for a proposal: the current and the proposed values of
 * a built-in strategy run by the engine on the same windows of catalog data
 * (the evaluation window and the longer one), so a reviewer sees what the
 * change would have done, not only the heuristic that suggested it. */
#include "qtune/strategies.h"
#include "qtune/tune.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EV_MAX_PARAMS 64

/* The full spec vector of s: defaults, with ts's tune params set to v. */
static void full_params(const qt_strategy_vtbl *s, const qt_tune_strategy *ts, const double *v,
                        double *p) {
  qt_strategy_defaults(s, p);
  for (size_t j = 0; j < ts->n_params; j++)
    for (size_t k = 0; k < s->n_params; k++)
      if (!strcmp(s->params[k].name, ts->params[j].name)) p[k] = v[j];
}

static json_t *side_json(const qt_result *r) {
  size_t wins = 0;
  double pnl = 0;
  for (size_t k = 0; k < r->n_trades; k++) {
    wins += r->trades[k].pnl > 0;
    pnl += r->trades[k].pnl;
  }
  double wr = r->n_trades ? 100.0 * (double)wins / (double)r->n_trades : 0;
  return json_pack("{s:I,s:f,s:f}", "trades", (json_int_t)r->n_trades, "win_rate_pct", wr, "pnl",
                   pnl);
}

/* One window: both parameter sets on [now - span, now). */
static json_t *window(const qt_tune_config *c, const qt_strategy_vtbl *s, const char *symbol,
                      const double *pc, const double *pp, int64_t now_ms, int64_t span_ms) {
  qt_market_opts mo = qt_market_opts_default();
  char from[32], to[32];
  snprintf(from, sizeof from, "%lld", (long long)(now_ms - span_ms));
  snprintf(to, sizeof to, "%lld", (long long)now_ms);
  mo.catalog = c->catalog;
  mo.from = from;
  mo.to = to;
  mo.want_second = (s->needs & QT_NEEDS_SECOND) != 0 || s->n_instruments > 1;
  qt_market m;
  memset(&m, 0, sizeof m);
  qt_engine *e = NULL;
  qt_err err = {0};
  json_t *o = NULL;
  if (qt_market_opts_set_symbols(&mo, symbol, &err) || qt_market_load(&mo, &m, &err)) goto fail;
  qt_engine_opts eo = qt_engine_opts_default();
  if (s->needs & QT_NEEDS_HEDGE) eo.hedge_mode = 1;
  eo.from = m.from_i;
  if (qt_engine_new(&eo, &e, &err)) goto fail;
  qt_result r;
  if (qt_engine_run(e, m.feeds, m.n_feeds, s, pc, &r, &err)) goto fail;
  json_t *cur = side_json(&r);
  char a[40], b[40];
  qt_time_format(r.ts_ms[0], a, sizeof a);
  qt_time_format(r.ts_ms[r.n_bars - 1], b, sizeof b);
  if (qt_engine_run(e, m.feeds, m.n_feeds, s, pp, &r, &err)) {
    json_decref(cur);
    goto fail;
  }
  o = json_pack("{s:o,s:o,s:s,s:s,s:I}", "current", cur, "proposed", side_json(&r), "first_bar", a,
                "last_bar", b, "bars", (json_int_t)r.n_bars);
  goto done;
fail:
  o = json_pack("{s:s}", "unavailable", err.msg[0] ? err.msg : "no data");
done:
  qt_engine_free(e);
  qt_market_free(&m);
  return o;
}

static int put(json_t *o, char *buf, size_t cap, qt_err *err) {
  char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) : NULL;
  json_decref(o);
  if (!s) return qt_err_set(err, QT_ENOMEM, "evidence: out of memory");
  int r = QT_OK;
  if (strlen(s) >= cap) r = qt_err_set(err, QT_EINVAL, "evidence: %zu bytes do not fit", strlen(s));
  else memcpy(buf, s, strlen(s) + 1);
  free(s);
  return r;
}

int qt_tune_evidence(const qt_tune_config *c, const qt_tune_strategy *ts, const char *symbol,
                     const double *current, const double *proposed, int64_t now_ms, char *buf,
                     size_t cap, qt_err *err) {
  const qt_strategy_vtbl *s = qt_strategy_find(ts->name);
  const char *why = !c->catalog[0]              ? "no market data catalog configured"
                    : !s                        ? "not a built-in strategy: no backtest"
                    : !symbol || !symbol[0]     ? "no symbol"
                    : s->n_params > EV_MAX_PARAMS ? "too many parameters"
                                                : NULL;
  if (why) return put(json_pack("{s:s}", "unavailable", why), buf, cap, err);
  double pc[EV_MAX_PARAMS], pp[EV_MAX_PARAMS];
  full_params(s, ts, current, pc);
  full_params(s, ts, proposed, pp);
  char k1[16], k2[16];
  snprintf(k1, sizeof k1, "%lldd", (long long)(c->window_ms / 86400000));
  snprintf(k2, sizeof k2, "%lldd", (long long)(c->long_window_ms / 86400000));
  json_t *o = json_pack("{s:s}", "symbol", symbol);
  if (o) json_object_set_new(o, k1, window(c, s, symbol, pc, pp, now_ms, c->window_ms));
  if (o && c->long_window_ms != c->window_ms)
    json_object_set_new(o, k2, window(c, s, symbol, pc, pp, now_ms, c->long_window_ms));
  return put(o, buf, cap, err);
}

static void money(double v, char *b, size_t cap) {
  snprintf(b, cap, "%s$%.0f", v < 0 ? "-" : "+", fabs(v));
}

char *qt_tune_evidence_text(const char *evidence_json, char *buf, size_t cap) {
  buf[0] = '\0';
  json_t *o = json_loads(evidence_json ? evidence_json : "", 0, NULL);
  size_t n = 0;
  const char *key;
  json_t *w;
  json_object_foreach(o, key, w) {
    json_t *cu = json_object_get(w, "current"), *pr = json_object_get(w, "proposed");
    if (!json_is_object(cu) || !json_is_object(pr)) continue;
    char a[32], b[32];
    money(json_number_value(json_object_get(cu, "pnl")), a, sizeof a);
    money(json_number_value(json_object_get(pr, "pnl")), b, sizeof b);
    int w_ = snprintf(buf + n, cap - n, "%slast %d days: win rate %.0f%% -> %.0f%%, P&L %s -> %s",
                      n ? "; " : "backtest, ", atoi(key),
                      json_number_value(json_object_get(cu, "win_rate_pct")),
                      json_number_value(json_object_get(pr, "win_rate_pct")), a, b);
    if (w_ < 0 || (size_t)w_ >= cap - n) break;
    n += (size_t)w_;
  }
  if (!n && json_is_string(json_object_get(o, "unavailable")))
    snprintf(buf, cap, "no backtest: %s", json_string_value(json_object_get(o, "unavailable")));
  json_decref(o);
  return buf;
}
