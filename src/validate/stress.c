/* Stress scenarios: one backtest of fixed params under a flash crash, costs
 * multiplied, spreads widened and gaps in the data, beside the base run, and
 * the strategy's risk limits (liquidation, its position cap, its daily loss
 * stop) shown to hold or named where they fail.  Each scenario changes a
 * copy of the inputs (bars, instrument fees, engine settings); the engine
 * and the strategy are the backtest's own.  Rules: docs/validate.md. */
#include "qtune/validate.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

qt_stress_opts qt_stress_opts_default(void) {
  qt_stress_opts o;
  memset(&o, 0, sizeof o);
  o.crash_pct = 0.20;
  o.crash_min = 5;
  o.recover_min = 60;
  o.seed = 1;
  o.fee_mult = 3;
  o.slip_mult = 3;
  o.slip_floor_bps = 5;
  o.spread_bps = 20;
  o.n_gaps = 3;
  o.late_bars = 1;
  o.gap_min = 60;
  return o;
}

static int copy_bars(const qt_bars *in, qt_bars *out, qt_err *err) {
  int r = qt_bars_alloc(out, in->n, err);
  if (r) return r;
  out->interval_ms = in->interval_ms;
  size_t n = in->n;
  memcpy(out->ts_ms, in->ts_ms, n * sizeof *in->ts_ms);
  double *const src[] = {in->open, in->high, in->low, in->close, in->volume, in->quote_volume,
                         in->trade_count, in->taker_buy_base, in->taker_buy_quote};
  double *const dst[] = {out->open, out->high, out->low, out->close, out->volume,
                         out->quote_volume, out->trade_count, out->taker_buy_base,
                         out->taker_buy_quote};
  for (size_t k = 0; k < sizeof src / sizeof src[0]; k++)
    if (src[k] && dst[k]) memcpy(dst[k], src[k], n * sizeof(double));
  return QT_OK;
}

/* The crash's price factor at step d (bars since its start): down linearly
 * over m bars to 1 - pct, back up linearly over rec bars. */
static double crash_factor(long d, double pct, long m, long rec) {
  if (d < 0) return 1;
  if (d < m) return 1 - pct * (double)(d + 1) / (double)m;
  if (d < m + rec) return 1 - pct * (1 - (double)(d - m + 1) / (double)rec);
  return 1;
}

int qt_stress_crash_bars(const qt_bars *in, size_t at_i, double pct, size_t drop_bars,
                         size_t recover_bars, qt_bars *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  if (!(pct > 0 && pct < 1) || drop_bars < 1 || at_i >= in->n)
    return qt_err_set(err, QT_EINVAL, "flash crash: a drop in (0, 1) over >= 1 bar inside the data "
                      "(drop %g, %zu bars, at bar %zu of %zu)", pct, drop_bars, at_i, in->n);
  int r = copy_bars(in, out, err);
  if (r) return r;
  for (size_t i = at_i; i < in->n; i++) {
    long d = (long)(i - at_i);
    if (d >= (long)(drop_bars + recover_bars)) break;
    double f0 = crash_factor(d - 1, pct, (long)drop_bars, (long)recover_bars);
    double f1 = crash_factor(d, pct, (long)drop_bars, (long)recover_bars);
    double o = in->open[i] * f0, c = in->close[i] * f1;
    double hi = in->high[i] * fmax(f0, f1), lo = in->low[i] * fmin(f0, f1);
    out->open[i] = o;
    out->close[i] = c;
    out->high[i] = fmax(hi, fmax(o, c));
    out->low[i] = fmin(lo, fmin(o, c));
  }
  return QT_OK;
}

int qt_stress_gap_bars(const qt_bars *in, const size_t *gap_from, size_t n_gaps, size_t gap_bars,
                       qt_bars *out, size_t *out_removed_before, size_t before_i, qt_err *err) {
  memset(out, 0, sizeof *out);
  if (out_removed_before) *out_removed_before = 0;
  unsigned char *drop = qt_calloc(in->n + 1, 1);
  if (!drop) return qt_err_set(err, QT_ENOMEM, "gaps: out of memory");
  size_t keep = in->n, rb = 0;
  for (size_t g = 0; g < n_gaps; g++)
    for (size_t i = gap_from[g]; i < gap_from[g] + gap_bars && i < in->n; i++)
      if (!drop[i]) drop[i] = 1, keep--, rb += i < before_i;
  int r = keep < 2 ? qt_err_set(err, QT_EINVAL, "gaps: fewer than 2 bars left") : qt_bars_alloc(out, keep, err);
  if (r) {
    qt_free(drop);
    return r;
  }
  out->interval_ms = in->interval_ms;
  double *const src[] = {in->open, in->high, in->low, in->close, in->volume, in->quote_volume,
                         in->trade_count, in->taker_buy_base, in->taker_buy_quote};
  double *const dst[] = {out->open, out->high, out->low, out->close, out->volume,
                         out->quote_volume, out->trade_count, out->taker_buy_base,
                         out->taker_buy_quote};
  size_t j = 0;
  for (size_t i = 0; i < in->n; i++) {
    if (drop[i]) continue;
    out->ts_ms[j] = in->ts_ms[i];
    for (size_t k = 0; k < sizeof src / sizeof src[0]; k++)
      if (src[k] && dst[k]) dst[k][j] = src[k][i];
    j++;
  }
  qt_free(drop);
  if (out_removed_before) *out_removed_before = rb;
  return QT_OK;
}

/* One scenario's inputs: feeds (bars possibly replaced), engine settings. */
typedef struct scen {
  qt_feed feeds[2];
  qt_bars bars; /* owned replacement of feed 0's bars, when bars.n */
  qt_engine_opts eo;
  char note[256];
} scen;

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* The worst UTC-day equity return of a run (0 when it never lost a day). */
/* The worst UTC-day equity return of a run (0 when it never lost a day),
 * against the equity at the previous day's last close; *out_day its day. */
static double worst_day(const qt_result *res, int64_t *out_day_ms) {
  double worst = 0, start = res->start_cash;
  int64_t day = res->n_bars ? res->ts_ms[0] / 86400000 : 0;
  *out_day_ms = day * 86400000;
  for (size_t i = 0; i < res->n_bars; i++) {
    int64_t d = res->ts_ms[i] / 86400000;
    if (d != day) {
      start = i ? res->equity[i - 1] : start;
      day = d;
    }
    double r = start > 0 ? res->equity[i] / start - 1 : 0;
    if (r < worst) worst = r, *out_day_ms = day * 86400000;
  }
  return worst;
}

static int param_value(const qt_strategy_vtbl *s, const double *p, const char *name, double *out) {
  for (size_t i = 0; i < s->n_params; i++)
    if (!strcmp(s->params[i].name, name)) return *out = p[i], 1;
  return 0;
}

/* Runs one scenario and appends its row: metrics and the risk limits. */
/* A fresh engine per scenario: the indicator cache is keyed by the bars'
 * addresses, which a scenario's freed copy could hand to the next one. */
static int run_scen(const qt_strategy_vtbl *s, const double *p, const scen *sc, int n_feeds,
                    const char *name, const char *what, json_t *arr, qt_err *err) {
  qt_engine *eng = NULL;
  qt_result res;
  qt_metrics m;
  int r = qt_engine_new(&sc->eo, &eng, err);
  if (!r) r = qt_engine_run(eng, sc->feeds, n_feeds, s, p, &res, err);
  if (!r) r = qt_metrics_compute(&res, sc->feeds[0].bars->close + sc->eo.from, NULL, &m, err);
  if (r) {
    qt_err_prefix(err, "stress scenario '%s'", name);
    qt_engine_free(eng);
    return r;
  }
  json_t *e = json_object();
  json_array_append_new(arr, e);
  json_object_set_new(e, "scenario", json_string(name));
  json_object_set_new(e, "what", json_string(what));
  if (sc->note[0]) json_object_set_new(e, "note", json_string(sc->note));
  static const char *const shown[] = {"sharpe", "total_return", "max_drawdown", "trades",
                                      "profit_factor", "fees_paid"};
  json_t *mj = json_object();
  for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++)
    json_object_set_new(mj, shown[k], jnum(qt_metrics_get(&m, qt_metrics_index(shown[k]))));
  json_object_set_new(e, "metrics", mj);
  /* the risk limits */
  double max_ex = 0;
  size_t at = 0;
  for (size_t i = 0; res.exposure && i < res.n_bars; i++)
    if (res.exposure[i] > max_ex) max_ex = res.exposure[i], at = i;
  int64_t wday = 0;
  double wd = worst_day(&res, &wday), cap;
  json_t *risk = json_array();
  json_object_set_new(e, "risk", risk);
  char d[256], t[40];
  json_t *x = json_object();
  json_object_set_new(x, "limit", json_string("liquidation"));
  json_object_set_new(x, "holds", json_boolean(!res.liquidated));
  json_object_set_new(x, "detail", json_string(res.liquidated ? "the account was liquidated"
                                                              : "no liquidation"));
  json_array_append_new(risk, x);
  if (param_value(s, p, "max_position_pct", &cap)) {
    /* the cap binds when orders are placed; positions held then grow and
     * shrink with the price, so 5% over it is an allowance, not a breach */
    int ok = max_ex <= QT_STRESS_CAP_ALLOWANCE * cap / 100 + 1e-9;
    snprintf(d, sizeof d, "gross exposure peaked at %.1f%% of equity at %s (cap %.1f%%, %.1f%% "
             "with the allowance for price moves)", 100 * max_ex,
             qt_time_format(res.ts_ms[at], t, sizeof t), cap, QT_STRESS_CAP_ALLOWANCE * cap);
    x = json_object();
    json_object_set_new(x, "limit", json_string("maximum position (max_position_pct)"));
    json_object_set_new(x, "holds", json_boolean(ok));
    json_object_set_new(x, "detail", json_string(d));
    json_array_append_new(risk, x);
  }
  if (param_value(s, p, "max_daily_loss_pct", &cap)) {
    int ok = -wd <= cap / 100 + 1e-9;
    qt_time_format(wday, t, sizeof t);
    t[10] = '\0'; /* the date */
    snprintf(d, sizeof d, "worst UTC day %.2f%% on %s (stop %.2f%%)", 100 * wd, t, cap);
    x = json_object();
    json_object_set_new(x, "limit", json_string("daily loss stop (max_daily_loss_pct)"));
    json_object_set_new(x, "holds", json_boolean(ok));
    json_object_set_new(x, "detail", json_string(d));
    json_array_append_new(risk, x);
  }
  json_object_set_new(e, "max_exposure", json_real(max_ex));
  json_object_set_new(e, "worst_day", json_real(wd));
  json_object_set_new(e, "liquidated", json_boolean(res.liquidated));
  qt_engine_free(eng);
  return QT_OK;
}

int qt_stress_run(const qt_strategy_vtbl *s, const double *p, const qt_feed *feeds, int n_feeds,
                  size_t from_i, const qt_engine_opts *eo, const qt_stress_opts *opts, char *buf,
                  size_t cap, qt_err *err) {
  if (cap) buf[0] = '\0';
  qt_stress_opts o = opts ? *opts : qt_stress_opts_default();
  if (n_feeds < 1 || n_feeds > 2 || !feeds[0].bars || feeds[0].bars->n < 2)
    return qt_err_set(err, QT_EINVAL, "stress: needs 1 or 2 feeds with bars");
  const qt_bars *b = feeds[0].bars;
  int64_t step = b->interval_ms > 0 ? b->interval_ms : b->ts_ms[1] - b->ts_ms[0];
  size_t to = b->n, span = to - from_i;
  json_t *root = json_object(), *arr = json_array();
  json_object_set_new(root, "scenarios", arr);
  scen sc;
  memset(&sc, 0, sizeof sc);
  int r = QT_OK;
  qt_rng rng;
  qt_rng_seed(&rng, o.seed);
#define RESET()                                                \
  do {                                                         \
    qt_bars_fini(&sc.bars);                                    \
    memset(&sc, 0, sizeof sc);                                 \
    memcpy(sc.feeds, feeds, (size_t)n_feeds * sizeof *feeds);  \
    sc.eo = *eo;                                               \
    sc.eo.from = from_i;                                       \
  } while (0)
  char what[256];
  RESET();
  if ((r = run_scen(s, p, &sc, n_feeds, "base", "the backtest as given", arr, err))) goto fail;
  /* flash crash */
  {
    size_t m = (size_t)fmax(1, round(o.crash_min * 60000.0 / (double)step));
    size_t rec = (size_t)fmax(0, round(o.recover_min * 60000.0 / (double)step));
    size_t at;
    if (o.crash_at_ms) {
      at = qt_bars_lower_bound(b, o.crash_at_ms);
    } else { /* seeded, inside the traded bars with room for the crash */
      size_t room = span > m + rec ? span - m - rec : 1;
      at = from_i + (size_t)qt_rng_below(&rng, room);
    }
    RESET();
    if (at < from_i || at >= to) {
      r = qt_err_set(err, QT_EINVAL, "stress: --crash-at is outside the traded bars");
      goto fail;
    }
    if ((r = qt_stress_crash_bars(b, at, o.crash_pct, m, rec, &sc.bars, err))) goto fail;
    sc.feeds[0].bars = &sc.bars;
    char t[40];
    snprintf(what, sizeof what, "-%.0f%% over %zu bars from %s, back over %zu bars",
             100 * o.crash_pct, m, qt_time_format(b->ts_ms[at], t, sizeof t), rec);
    if (n_feeds > 1) snprintf(sc.note, sizeof sc.note, "venue B's bars are not crashed");
    if ((r = run_scen(s, p, &sc, n_feeds, "flash_crash", what, arr, err))) goto fail;
  }
  /* fees multiplied */
  RESET();
  for (int k = 0; k < n_feeds; k++) {
    sc.feeds[k].inst.maker_bps *= o.fee_mult;
    sc.feeds[k].inst.taker_bps *= o.fee_mult;
  }
  snprintf(what, sizeof what, "maker %.2g -> %.2g bps, taker %.2g -> %.2g bps (x%.3g)",
           feeds[0].inst.maker_bps, sc.feeds[0].inst.maker_bps, feeds[0].inst.taker_bps,
           sc.feeds[0].inst.taker_bps, o.fee_mult);
  if ((r = run_scen(s, p, &sc, n_feeds, "fees_x", what, arr, err))) goto fail;
  /* slippage multiplied */
  RESET();
  sc.eo.slippage_bps = fmax(eo->slippage_bps * o.slip_mult, o.slip_floor_bps);
  snprintf(what, sizeof what, "slippage %.3g -> %.3g bps (x%.3g, at least %.3g)", eo->slippage_bps,
           sc.eo.slippage_bps, o.slip_mult, o.slip_floor_bps);
  if ((r = run_scen(s, p, &sc, n_feeds, "slippage_x", what, arr, err))) goto fail;
  /* spreads widened: market and stop fills pay half the spread */
  RESET();
  sc.eo.slippage_bps = eo->slippage_bps + o.spread_bps / 2;
  snprintf(what, sizeof what, "spread %.3g bps: market and stop fills pay %.3g bps more", o.spread_bps,
           o.spread_bps / 2);
  snprintf(sc.note, sizeof sc.note, "limit fills are not affected (bars carry no book)");
  if ((r = run_scen(s, p, &sc, n_feeds, "spread", what, arr, err))) goto fail;
  /* fills late: order latency */
  RESET();
  if (o.late_bars) {
    sc.eo.fill_delay_bars = eo->fill_delay_bars + o.late_bars;
    snprintf(what, sizeof what, "every order reaches the book %zu bar(s) late (fill delay %zu -> %zu)",
             o.late_bars, eo->fill_delay_bars, sc.eo.fill_delay_bars);
    if ((r = run_scen(s, p, &sc, n_feeds, "fills_late", what, arr, err))) goto fail;
  }
  /* gaps in the data */
  RESET();
  if (n_feeds == 1 && o.n_gaps) {
    size_t gb = (size_t)fmax(1, round(o.gap_min * 60000.0 / (double)step));
    size_t starts[64], ng = o.n_gaps < 64 ? o.n_gaps : 64;
    for (size_t g = 0; g < ng; g++)
      starts[g] = from_i + (size_t)qt_rng_below(&rng, span > gb ? span - gb : 1);
    size_t rb = 0;
    if ((r = qt_stress_gap_bars(b, starts, ng, gb, &sc.bars, &rb, from_i, err))) goto fail;
    sc.feeds[0].bars = &sc.bars;
    sc.eo.from = from_i - rb;
    snprintf(what, sizeof what, "%zu gaps of %zu bars removed (%zu bars left)", ng, gb, sc.bars.n);
    if ((r = run_scen(s, p, &sc, n_feeds, "gaps", what, arr, err))) goto fail;
  }
  char *txt = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  if (!txt) r = qt_err_set(err, QT_ENOMEM, "stress: out of memory");
  else if (strlen(txt) >= cap) r = qt_err_set(err, QT_EINVAL, "stress: result larger than %zu bytes", cap);
  else memcpy(buf, txt, strlen(txt) + 1);
  free(txt);
#undef RESET
fail:
  qt_bars_fini(&sc.bars);
  json_decref(root);
  return r;
}

static double jd(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

int qt_stress_write_table(const char *json, FILE *f, qt_err *err) {
  json_t *j = json_loads(json ? json : "", 0, NULL), *arr = json_object_get(j, "scenarios");
  if (!json_is_array(arr) || !json_array_size(arr)) {
    json_decref(j);
    return qt_err_set(err, QT_EPARSE, "stress: not a stress result");
  }
  json_t *base = json_object_get(json_array_get(arr, 0), "metrics");
  fprintf(f, "%-12s %8s %9s %9s %7s %7s %8s %9s  %s\n", "scenario", "sharpe", "return", "max dd",
          "trades", "PF", "fees", "vs base", "risk limits");
  size_t i, failed = 0;
  json_t *e;
  json_array_foreach(arr, i, e) {
    json_t *m = json_object_get(e, "metrics");
    double ret = jd(m, "total_return"), dret = ret - jd(base, "total_return");
    size_t nfail = 0, k;
    json_t *x;
    json_array_foreach(json_object_get(e, "risk"), k, x) nfail += !json_is_true(json_object_get(x, "holds"));
    failed += nfail;
    char pf[32];
    snprintf(pf, sizeof pf, isfinite(jd(m, "profit_factor")) ? "%.2f" : "-", jd(m, "profit_factor"));
    fprintf(f, "%-12s %8.2f %8.2f%% %8.2f%% %7.0f %7s %8.2f %+8.2f%%  %s\n",
            json_string_value(json_object_get(e, "scenario")), jd(m, "sharpe"), 100 * ret,
            100 * jd(m, "max_drawdown"), jd(m, "trades"), pf, jd(m, "fees_paid"), 100 * dret,
            nfail ? "FAIL" : "hold");
  }
  fprintf(f, "\n");
  json_array_foreach(arr, i, e) {
    fprintf(f, "%s: %s%s%s\n", json_string_value(json_object_get(e, "scenario")),
            json_string_value(json_object_get(e, "what")),
            json_object_get(e, "note") ? "; " : "",
            json_object_get(e, "note") ? json_string_value(json_object_get(e, "note")) : "");
    size_t k;
    json_t *x;
    json_array_foreach(json_object_get(e, "risk"), k, x)
      fprintf(f, "  %s  %-38s %s\n", json_is_true(json_object_get(x, "holds")) ? "holds" : "FAILS",
              json_string_value(json_object_get(x, "limit")),
              json_string_value(json_object_get(x, "detail")));
  }
  fprintf(f, "verdict: %s\n", failed ? "a risk limit fails under stress (named above)"
                                     : "every risk limit holds in every scenario");
  json_decref(j);
  return ferror(f) ? qt_err_set(err, QT_EIO, "stress: write failed") : QT_OK;
}
