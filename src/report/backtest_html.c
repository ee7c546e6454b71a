/* The HTML report of one backtest: the C side computes the drawdown, the
 * down-sampled series, the breakdowns and the tables; backtest.js draws
 * the charts with the embedded ECharts.  Everything from the run is written
 * escaped (text) or as <script>-safe JSON (data). */
#include "report/report_int.h"

#include "qtune/indicators.h"
#include "qtune/strategy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* The equity and drawdown series, LTTB'd to max points each; drawdown is
 * equity / running peak - 1 over every bar (start cash is the first peak). */
static int line_data(const qt_result *r, size_t max, json_t *d, double *x, double *y,
                     size_t *idx) {
  size_t n = r->n_bars;
  json_t *eq = json_array(), *dd = json_array();
  if (!eq || !dd) goto oom;
  json_object_set_new(d, "equity", eq);
  json_object_set_new(d, "drawdown", dd);
  for (size_t i = 0; i < n; i++) x[i] = (double)r->ts_ms[i];
  size_t k = qt__report_lttb(x, r->equity, n, max, idx);
  for (size_t j = 0; j < k; j++)
    if (json_array_append_new(eq, json_pack("[I,o]", (json_int_t)r->ts_ms[idx[j]], num(r->equity[idx[j]]))))
      return -1;
  double peak = r->start_cash;
  for (size_t i = 0; i < n; i++) {
    if (r->equity[i] > peak) peak = r->equity[i];
    y[i] = peak > 0 ? r->equity[i] / peak - 1 : 0;
  }
  size_t kd = qt__report_lttb(x, y, n, max, idx);
  for (size_t j = 0; j < kd; j++)
    if (json_array_append_new(dd, json_pack("[I,o]", (json_int_t)r->ts_ms[idx[j]], num(y[idx[j]]))))
      return -1;
  json_object_set_new(d, "n_equity_shown", json_integer((json_int_t)k));
  return 0;
oom:
  json_decref(eq);
  json_decref(dd);
  return -1;
}

static int lines_data(const qt_report_backtest *bt, size_t per, size_t nc, json_t *d);

/* Candles [ts, open, close, low, high] (ECharts' order) of every `per` bars
 * (qt_report_bars_per_candle),
 * and the trades' entries [ts, price, side] and exits [ts, price, pnl]
 * (every k-th trade past max_trades). */
static int price_data(const qt_report_backtest *bt, const qt_report_opts *o, json_t *d,
                      qt__report_candle *cd) {
  size_t max_trades = o->max_trades;
  const qt_bars *b = bt->bars;
  const qt_result *r = bt->r;
  size_t n = r->n_bars, per = qt_report_bars_per_candle(n, o);
  size_t nc = qt__report_ohlc_merge(b->ts_ms + bt->from_i, b->open + bt->from_i, b->high + bt->from_i,
                                    b->low + bt->from_i, b->close + bt->from_i, n, per, cd);
  json_t *c = json_array(), *en = json_array(), *ex = json_array();
  if (!c || !en || !ex) {
    json_decref(c);
    json_decref(en);
    json_decref(ex);
    return -1;
  }
  json_object_set_new(d, "candles", c);
  json_object_set_new(d, "entries", en);
  json_object_set_new(d, "exits", ex);
  for (size_t i = 0; i < nc; i++)
    if (json_array_append_new(c, json_pack("[I,o,o,o,o]", (json_int_t)cd[i].ts_ms, num(cd[i].open),
                                           num(cd[i].close), num(cd[i].low), num(cd[i].high))))
      return -1;
  size_t step = max_trades && r->n_trades > max_trades ? (r->n_trades + max_trades - 1) / max_trades : 1;
  size_t marked = 0;
  for (size_t t = 0; t < r->n_trades; t += step, marked++) {
    const qt_trade_rec *tr = &r->trades[t];
    if (json_array_append_new(en, json_pack("[I,o,i]", (json_int_t)tr->entry_ms, num(tr->entry_price), tr->side)) ||
        json_array_append_new(ex, json_pack("[I,o,o]", (json_int_t)tr->exit_ms, num(tr->exit_price), num(tr->pnl))))
      return -1;
  }
  json_object_set_new(d, "bars_per_candle", json_integer((json_int_t)per));
  json_object_set_new(d, "n_candles", json_integer((json_int_t)nc));
  json_object_set_new(d, "n_marked", json_integer((json_int_t)marked));
  return lines_data(bt, per, nc, d);
}

/* Indicator names from the indicators' own list. */
static const char *ind_name(int kind) {
#define QT__IND_NAME(K, name, n_out, cols) #name,
  static const char *const names[] = {QT_IND_KIND_LIST(QT__IND_NAME)};
#undef QT__IND_NAME
  return kind >= 0 && kind < QT_IND_KIND_COUNT ? names[kind] : "?";
}

/* Output `out` of kind is a price (drawn over the candles), and its label. */
static int on_price(const qt_ind_used *u, int out, char *label, size_t cap) {
  static const char *const bands[3] = {"lower", "mid", "upper"}, *const chan[3] = {"high", "mid", "low"};
  switch (u->kind) {
  case QT_IND_SMA: case QT_IND_EMA: case QT_IND_WILDER: case QT_IND_VWAP:
    if (out) return 0;
    snprintf(label, cap, "%s(%d)", ind_name(u->kind), u->n1);
    return 1;
  case QT_IND_BBANDS: /* n2 is the width in thousandths of a standard deviation */
    if (out > 2) return 0;
    snprintf(label, cap, "bbands(%d, %g) %s", u->n1, u->n2 / 1000.0, bands[out]);
    return 1;
  case QT_IND_DONCHIAN:
    if (out > 2) return 0;
    snprintf(label, cap, "donchian(%d) %s", u->n1, chan[out]);
    return 1;
  default:
    return 0;
  }
}

/* "lines": [{"name", "data": [value at each candle's last bar | null]}] of
 * the indicators drawn on the price. */
static int lines_data(const qt_report_backtest *bt, size_t per, size_t nc, json_t *d) {
  json_t *lines = json_array();
  if (!lines || json_object_set_new(d, "lines", lines)) return -1;
  const qt_bars *b = bt->bars;
  for (size_t k = 0; k < bt->n_inds; k++) {
    const qt_ind_used *u = &bt->inds[k];
    if (u->close != b->close || u->n != b->n) continue; /* another instrument's */
    for (int out = 0; out < u->n_out; out++) {
      char label[96];
      if (!on_price(u, out, label, sizeof label)) continue;
      json_t *v = json_array();
      if (!v || json_array_append_new(lines, json_pack("{s:s,s:o}", "name", label, "data", v)))
        return -1;
      for (size_t c = 0; c < nc; c++) {
        size_t last = bt->from_i + (c + 1) * per - 1, end = bt->from_i + bt->r->n_bars - 1;
        if (json_array_append_new(v, num(u->cols[out][last < end ? last : end]))) return -1;
      }
    }
  }
  return 0;
}

static void html_metrics(FILE *f, const qt_metrics *m) {
  fprintf(f, "<h2>Metrics</h2><table id=\"qt-metrics\"><tr><th>metric</th><th>value</th></tr>\n");
  for (int k = 0; k < QT_METRICS_N; k++) {
    fprintf(f, "<tr><td title=\"");
    qt__report_html_text(f, qt_metrics_doc(k) ? qt_metrics_doc(k) : "");
    fprintf(f, "\">%s</td><td id=\"qt-metric-%s\">%.6g</td></tr>\n", qt_metrics_name(k),
            qt_metrics_name(k), qt_metrics_get(m, k));
  }
  fprintf(f, "</table>\n");
}

/* Trades by side and by exit reason: count, winners, win rate, net P&L. */
static void html_breakdowns(FILE *f, const qt_result *r) {
  struct agg {
    size_t n, wins;
    double pnl;
  } side[2] = {{0}}, why[QT_EXIT_COUNT] = {{0}};
  for (size_t t = 0; t < r->n_trades; t++) {
    const qt_trade_rec *tr = &r->trades[t];
    struct agg *a = &side[tr->side == QT_BUY ? 0 : 1];
    int e = tr->exit_reason >= 0 && tr->exit_reason < QT_EXIT_COUNT ? tr->exit_reason : 0;
    struct agg *w = &why[e];
    a->n++, w->n++;
    a->pnl += tr->pnl, w->pnl += tr->pnl;
    if (tr->pnl > 0) a->wins++, w->wins++;
  }
  fprintf(f, "<h2>Breakdowns</h2><table id=\"qt-by-side\"><tr><th>side</th><th>trades</th>"
             "<th>winners</th><th>win rate</th><th>net P&amp;L</th></tr>\n");
  static const char *const sides[2] = {"long", "short"};
  for (int s = 0; s < 2; s++)
    fprintf(f, "<tr><td>%s</td><td>%zu</td><td>%zu</td><td>%.2f%%</td><td>%.2f</td></tr>\n",
            sides[s], side[s].n, side[s].wins, side[s].n ? 100.0 * (double)side[s].wins / (double)side[s].n : 0,
            side[s].pnl);
  fprintf(f, "</table>\n<table id=\"qt-by-exit\"><tr><th>exit reason</th><th>trades</th>"
             "<th>winners</th><th>net P&amp;L</th></tr>\n");
  for (int e = 0; e < QT_EXIT_COUNT; e++)
    if (why[e].n)
      fprintf(f, "<tr><td>%s</td><td>%zu</td><td>%zu</td><td>%.2f</td></tr>\n", qt_exit_reason_name(e),
              why[e].n, why[e].wins, why[e].pnl);
  fprintf(f, "</table>\n");
}

/* The trade table's rows as "trades": [[#, side (1 long, -1 short), entry ms,
 * exit ms, qty, entry price, exit price, P&L, fees, bars, exit reason]...]
 * of the first max (0: all); backtest.js renders them a page at a time, so
 * a long run's table costs the page nothing until it is looked at. */
static int trades_data(const qt_result *r, size_t max, json_t *d) {
  size_t show = max && r->n_trades > max ? max : r->n_trades;
  json_t *v = json_array();
  if (!v || json_object_set_new(d, "trades", v)) return -1;
  for (size_t t = 0; t < show; t++) {
    const qt_trade_rec *tr = &r->trades[t];
    if (json_array_append_new(v, json_pack("[I,i,I,I,o,o,o,o,o,I,s]", (json_int_t)(t + 1),
                                           tr->side == QT_BUY ? 1 : -1, (json_int_t)tr->entry_ms,
                                           (json_int_t)tr->exit_ms, num(tr->qty), num(tr->entry_price),
                                           num(tr->exit_price), num(tr->pnl), num(tr->fees),
                                           (json_int_t)tr->bars_held,
                                           qt_exit_reason_name(tr->exit_reason))))
      return -1;
  }
  return 0;
}

static void html_trades(FILE *f, const qt_result *r, size_t max) {
  size_t show = max && r->n_trades > max ? max : r->n_trades;
  fprintf(f, "<h2>Trades</h2><p class=\"note\" id=\"qt-trades-note\">%s %zu of %zu trades%s</p>\n"
             "<p class=\"pager\" id=\"qt-trades-pager\"></p>"
             "<table id=\"qt-trades\"><tr><th>#</th><th>side</th><th>entry</th><th>exit</th>"
             "<th>qty</th><th>entry price</th><th>exit price</th><th>P&amp;L</th><th>fees</th>"
             "<th>bars</th><th>exit reason</th></tr>\n</table>\n",
          show < r->n_trades ? "The first" : "All", show, r->n_trades,
          show < r->n_trades ? " (backtest --trades FILE.csv writes them all)." : ".");
}

static const char k_style[] =
    "body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}.chart{width:100%;height:360px}"
    "#qt-chart-price{height:460px}"
    "table{border-collapse:collapse;font-size:.9em;margin:.5em 0}td,th{border:1px solid #ccc;"
    "padding:2px 6px;text-align:right}th{background:#f4f4f4}.note{color:#666;font-size:.9em}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{color:#666}dd{margin:0}"
    ".pager button{margin-right:.4em}";

static void html_head(FILE *f, const qt_report_backtest *bt) {
  const qt_result *r = bt->r;
  char a[40], b[40];
  qt_time_format(r->ts_ms[0], a, sizeof a);
  qt_time_format(r->ts_ms[r->n_bars - 1], b, sizeof b);
  fprintf(f, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<meta name=\"generator\" content=\"qtune %s\"><title>qtune backtest: ",
          qt_version());
  qt__report_html_text(f, bt->strategy ? bt->strategy : "?");
  fprintf(f, "</title><style>%s</style></head><body>\n<h1>Backtest of <span id=\"qt-strategy\">", k_style);
  qt__report_html_text(f, bt->strategy ? bt->strategy : "?");
  fprintf(f, "</span></h1>\n<dl id=\"qt-summary\"><dt>params</dt><dd id=\"qt-params\">");
  qt__report_html_text(f, bt->params_text ? bt->params_text : "");
  fprintf(f, "</dd><dt>market</dt><dd id=\"qt-market\">");
  qt__report_html_text(f, bt->market_text ? bt->market_text : "");
  fprintf(f, "</dd><dt>traded</dt><dd><span id=\"qt-n-bars\">%zu</span> bars, %s .. %s</dd>"
             "<dt>start cash, final equity</dt><dd>%.2f, <span id=\"qt-final-equity\" "
             "data-value=\"%.17g\">%.2f</span></dd><dt>trades</dt><dd id=\"qt-n-trades\">%zu</dd>"
             "<dt>orders</dt><dd>%zu (fills %zu, rejected %zu, cancelled %zu)%s</dd></dl>\n",
          r->n_bars, a, b, r->start_cash, r->final_equity, r->final_equity, r->n_trades, r->n_orders,
          r->n_fills, r->n_rejected, r->n_cancelled, r->liquidated ? " LIQUIDATED" : "");
}

int qt_report_backtest_html(const qt_report_backtest *bt, const qt_report_opts *o, FILE *out,
                            qt_err *err) {
  qt_report_opts dflt = qt_report_opts_default();
  if (!o) o = &dflt;
  const qt_result *r = bt->r;
  size_t n = r->n_bars;
  if (!n || !bt->bars || bt->from_i + n > bt->bars->n)
    return qt_err_set(err, QT_EINVAL, "report: backtest: the bars (%zu) do not cover the run (%zu from %zu)",
                      bt->bars ? bt->bars->n : 0, n, bt->from_i);
  int rc = QT_OK;
  double *x = qt_malloc(n * sizeof *x), *y = qt_malloc(n * sizeof *y);
  size_t *idx = qt_malloc(n * sizeof *idx), len = 0;
  qt__report_candle *cd = qt_malloc(n * sizeof *cd);
  json_t *d = json_object();
  char *js = NULL, *safe = NULL;
  if (!x || !y || !idx || !cd || !d) goto oom;
  json_object_set_new(d, "n_bars", json_integer((json_int_t)n));
  json_object_set_new(d, "n_trades", json_integer((json_int_t)r->n_trades));
  json_object_set_new(d, "start_cash", num(r->start_cash));
  json_object_set_new(d, "max_bars", json_integer((json_int_t)o->max_bars));
  if (line_data(r, o->max_bars, d, x, y, idx) || price_data(bt, o, d, cd) ||
      trades_data(r, o->max_trades, d)) goto oom;
  if (!(js = json_dumps(d, JSON_COMPACT | JSON_REAL_PRECISION(10)))) goto oom;
  size_t cap = strlen(js) * 6 + 1;
  if (!(safe = qt_malloc(cap))) goto oom;
  if ((rc = qt_report_script_json(js, safe, cap, &len, err))) goto fail;
  html_head(out, bt);
  fprintf(out, "<p id=\"qt-sampling-note\" class=\"note\"></p>\n"
               "<h2>Price and trades</h2><div class=\"chart\" id=\"qt-chart-price\"></div>\n"
               "<h2>Equity</h2><div class=\"chart\" id=\"qt-chart-equity\"></div>\n"
               "<h2>Drawdown</h2><div class=\"chart\" id=\"qt-chart-drawdown\"></div>\n");
  html_metrics(out, bt->m);
  html_breakdowns(out, r);
  html_trades(out, r, o->max_trades);
  fprintf(out, "<script id=\"qt-data\" type=\"application/json\">");
  fwrite(safe, 1, len, out);
  fprintf(out, "</script>\n<script>");
  fwrite(qt__report_echarts_js, 1, qt__report_echarts_js_len, out);
  fprintf(out, "</script>\n<script>");
  fwrite(qt__report_backtest_js, 1, qt__report_backtest_js_len, out);
  fprintf(out, "</script>\n</body></html>\n");
  if (fflush(out) || ferror(out)) rc = qt_err_set(err, QT_EIO, "report: backtest: writing the HTML failed");
  goto fail;
oom:
  rc = qt_err_set(err, QT_ENOMEM, "report: backtest of %zu bars: out of memory", n);
fail:
  qt_free(x);
  qt_free(y);
  qt_free(idx);
  qt_free(cd);
  qt_free(safe);
  free(js);
  json_decref(d);
  return rc;
}

size_t qt_report_bars_per_candle(size_t n_bars, const qt_report_opts *o) {
  qt_report_opts dflt = qt_report_opts_default();
  if (!o) o = &dflt;
  size_t max = o->max_candles;
  return max && n_bars > max ? (n_bars + max - 1) / max : 1;
}
