/* qtune report: a study's report as Markdown, or as one self-contained HTML
 * page (ECharts and the data inline, nothing fetched when it opens).  It reads
 * a study the caller opened (qt_study_open, read-only is enough) and writes to
 * the caller's FILE; it neither opens storages nor names files.  Not the
 * console output of the CLI and not a server. */
#ifndef QTUNE_QTUNE_REPORT_H
#define QTUNE_QTUNE_REPORT_H

#include "qtune/core.h"
#include "qtune/engine.h"
#include "qtune/metrics.h"
#include "qtune/optimize.h"
#include "qtune/storage.h"

#include <stdio.h>

typedef struct qt_report_opts {
  size_t top_n;      /* rows of the top-trials table (default 10) */
  size_t max_points; /* trials drawn per chart; more are down-sampled (default 2000) */
  size_t max_bars;   /* a backtest's points per equity/drawdown chart; more bars are
                      * down-sampled (default 2000; 0: never) */
  size_t max_candles; /* a backtest's candles on the price chart: k consecutive bars
                       * merge into one past it (default 1000, about one per pixel of
                       * the chart at the page's width; 0: one per bar) */
  size_t max_trades; /* a backtest's trades marked on the price and listed (default 1000) */
} qt_report_opts;

QT_API qt_report_opts qt_report_opts_default(void);

/* Writes the Markdown report of st to out: configuration (from the study's
 * stored config), trial counts by state, the top-N table (one column per
 * parameter), parameter importance (qt_study_importance) and constraint
 * violations.  o NULL: defaults.  QT_EIO when a write fails, QT_ENOMEM. */
QT_API int qt_report_study_md(const qt_study *st, const qt_report_opts *o, FILE *out,
                              qt_err *err);

/* Writes the HTML report of st to out: one page with the embedded charting
 * library, the study's data as JSON (qt_report_script_json) and the charts
 * (history with best so far, importance, a slice per parameter, a 2-parameter
 * heatmap, parallel coordinates, constraint violations) and the top-N table.
 * More than o->max_points complete trials are down-sampled for display and
 * the page says so.  Errors as qt_report_study_md. */
QT_API int qt_report_study_html(const qt_study *st, const qt_report_opts *o, FILE *out,
                                qt_err *err);

/* Makes JSON text safe inside an HTML <script> element: '<', '>', '&' and
 * U+2028/U+2029 become \uXXXX escapes (still the same JSON value), so a
 * "</script>" in a study or parameter name cannot end the element.  Writes
 * the NUL-terminated result into buf; *out_len (may be NULL) is its length.
 * QT_EINVAL when cap is too small (the message says the size needed). */
QT_API int qt_report_script_json(const char *json, char *buf, size_t cap, size_t *out_len,
                                 qt_err *err);

/* ---- a backtest's results as CSV ----
 * The closed trades (inst, symbol, side, leg, entry/exit time as ISO text and
 * ms, qty, prices, pnl, fees, funding, bars held, exit reason), the order log
 * (every submit/replace/cancel; r from a run with opts.log_orders) and the
 * equity curve (ts_ms, time, equity, exposure) of r to f.  feeds name the
 * instruments (n_feeds of them).  QT_EIO when a write fails. */
QT_API int qt_report_trades_csv(FILE *f, const qt_result *r, const qt_feed *feeds, int n_feeds,
                                qt_err *err);
QT_API int qt_report_orders_csv(FILE *f, const qt_result *r, const qt_feed *feeds, int n_feeds,
                                qt_err *err);
QT_API int qt_report_equity_csv(FILE *f, const qt_result *r, qt_err *err);

/* ---- a backtest's result for a person (src/report/backtest.c, docs/results.md) ----
 * What one run needs for its table: the strategy and params, the market (may
 * be NULL: no gap or funding checks, no currency), the engine and metrics
 * options it ran with, the result and its metrics.  All borrowed. */
typedef struct qt_report_bt {
  const qt_strategy_vtbl *s;
  const double *params;
  const qt_market *market;
  const qt_engine_opts *eo;
  qt_metrics_opts mo;
  const qt_result *r;
  const qt_metrics *m;
} qt_report_bt;

/* The thresholds of the warnings below. */
#define QT_REPORT_MIN_TRADES 30
#define QT_REPORT_MIN_DAYS 30
#define QT_REPORT_MAX_SHARPE 4.0
#define QT_REPORT_MAX_CALMAR 50.0
#define QT_REPORT_MAX_WARNINGS 8
typedef struct qt_report_warnings {
  int n;
  char text[QT_REPORT_MAX_WARNINGS][256];
} qt_report_warnings;

/* Warnings on results that should not be trusted as they stand: fewer than
 * 30 trades; a window under 30 days behind annualized figures; sharpe above
 * 4 or calmar above 50; gaps between the window's bars (steps over one
 * interval; over 4 for daily and longer bars, which skip weekends); a
 * market named like a perpetual future without a funding series.  Fills
 * *out (caller storage); no I/O. */
QT_API void qt_report_bt_warnings(const qt_report_bt *b, qt_report_warnings *out);
/* The header (strategy, params, market, window, costs, simulation settings,
 * orders) and one line per metric: percentages with %, money with the quote
 * currency (from the symbol, e.g. USDT of AVAXUSDT), durations as time
 * ("3d 4h"), the annualization in the name ("sharpe (per 1m bar, x
 * sqrt(525600))").  QT_EINVAL for missing inputs, QT_EIO when writing fails. */
QT_API int qt_report_bt_table(FILE *f, const qt_report_bt *b, qt_err *err);
QT_API void qt_report_bt_header(FILE *f, const qt_report_bt *b);
/* Formatting helpers (buf returned; "-" for a non-finite value): money with
 * thousands separators and 2 decimals ("10,000.00 USDT"; 4 significant
 * digits below 1: "0.0213 USDT"), a duration in ms
 * ("3d 4h", "5h 12m", "42m 5s", "7s"), and the quote currency of a symbol
 * ("" when none of the usual quotes ends its leading capitals). */
QT_API char *qt_report_money(double v, const char *ccy, char *buf, size_t cap);
QT_API char *qt_report_duration(double ms, char *buf, size_t cap);
QT_API char *qt_report_quote_ccy(const char *symbol, char *buf, size_t cap);

/* Trades grouped (freqtrade's --breakdown): by exit reason, side (long,
 * short), or the UTC day, ISO week ("2026-W27") or month of their exit. */
typedef enum qt_breakdown_by {
  QT_BREAKDOWN_EXIT = 0,
  QT_BREAKDOWN_SIDE = 1,
  QT_BREAKDOWN_DAY = 2,
  QT_BREAKDOWN_WEEK = 3,
  QT_BREAKDOWN_MONTH = 4
} qt_breakdown_by;
typedef struct qt_breakdown_row {
  char key[24];
  size_t trades, wins;              /* wins: pnl > 0 */
  double pnl, fees;                 /* sums, quote currency */
  double return_sum;                /* sum of pnl / entry notional */
  double duration_ms_sum;           /* sum of exit - entry */
} qt_breakdown_row;
/* "exit", "side", "day", "week", "month" -> QT_BREAKDOWN_*; QT_EINVAL otherwise. */
QT_API int qt_report_breakdown_parse(const char *s, int *out);
QT_API const char *qt_report_breakdown_name(int by); /* static, never NULL */
/* Groups r's trades into rows[0..*out_n) in order of first appearance (the
 * trade list is in exit order, so periods come out in time order).
 * QT_EINVAL for a bad `by` or more than cap groups. */
QT_API int qt_report_breakdown(const qt_result *r, int by, qt_breakdown_row *rows, size_t cap,
                               size_t *out_n, qt_err *err);
/* One table of rows: group, trades, win %, P&L, average P&L, average return,
 * fees and average time held.  QT_EIO when writing fails. */
QT_API int qt_report_breakdown_table(FILE *f, const qt_breakdown_row *rows, size_t n, int by,
                                     const char *ccy, qt_err *err);
/* ---- a backtest's report: one self-contained HTML page ----
 * Candlesticks with the entries and exits marked, the equity curve, the
 * drawdown, the metrics, breakdowns by side and exit reason and the trade
 * table.  Long runs are down-sampled for display and the page says so: the
 * candles of k consecutive bars merge into one (first open, highest high,
 * lowest low, last close); equity and drawdown keep the points that
 * Largest-Triangle-Three-Buckets picks from the full series (the extremes
 * of each bucket survive, so the deepest drawdown stays visible).  The
 * metrics and tables are computed on every bar and trade. */
typedef struct qt_report_backtest {
  const qt_result *r;       /* the run */
  const qt_bars *bars;      /* instrument 0's bars: r covers [from_i, from_i + r->n_bars) */
  size_t from_i;
  const qt_metrics *m;      /* qt_metrics_compute of r */
  const char *strategy;     /* names, shown escaped */
  const char *params_text;  /* "fast=10 slow=30" */
  const char *market_text;  /* qt_market_describe */
  /* the strategy's indicators (qt_engine_indicators_used; may be 0): those
   * in price units on instrument 0's bars (SMA, EMA, Wilder, Bollinger
   * bands, Donchian channel, VWAP) are drawn over the candles */
  const qt_ind_used *inds;
  size_t n_inds;
} qt_report_backtest;

/* How many bars one candle of the page merges: ceil(n_bars / max_candles),
 * 1 when they fit or max_candles is 0.  o NULL: defaults. */
QT_API size_t qt_report_bars_per_candle(size_t n_bars, const qt_report_opts *o);

/* Writes the backtest's page to out.  o NULL: defaults (max_bars,
 * max_candles, max_trades).  QT_EINVAL when bars do not cover the run, QT_EIO when a
 * write fails, QT_ENOMEM. */
QT_API int qt_report_backtest_html(const qt_report_backtest *bt, const qt_report_opts *o,
                                   FILE *out, qt_err *err);

/* ---- the dashboard: a local HTTP server over a storage ----
 * Pages (studies, a study's charts, a trial) read the storage on every
 * request, so what the CLI writes shows up while the pages poll.  Loopback by
 * default; every request needs the random access token (once as ?token=,
 * then the session cookie it sets) and every POST the session's CSRF token.
 * Served by libmicrohttpd on its own threads; see docs/dashboard.md for the
 * pages, the rules and the request size limits. */
typedef struct qt_dash qt_dash;

typedef struct qt_dash_opts {
  const char *storage_url; /* NULL: qt_storage_default_url(); copied */
  const char *bind_addr;   /* numeric IPv4 or IPv6 address (default "127.0.0.1"); copied */
  unsigned port;           /* default 8080; 0: the system picks a free port */
  unsigned poll_ms;        /* how often open pages re-read (default 2000, at least 200) */
  size_t max_points;       /* trials drawn per study chart (default 2000) */
  unsigned cache_ms;       /* the JSON the pages poll is reused this long (default 1000;
                            * 0: every request reads the storage) */
} qt_dash_opts;

QT_API qt_dash_opts qt_dash_opts_default(void);

/* Draws the access token (256 bits from getrandom), opens the storage once
 * to check it, binds and starts serving in the background.  *out is the
 * caller's (qt_dash_stop).  QT_EINVAL for a bad address, QT_EIO when the
 * port cannot be bound or no random bytes come, the storage's errors. */
QT_API int qt_dash_start(const qt_dash_opts *o, qt_dash **out, qt_err *err);
/* The port it listens on (the system's pick for port 0). */
QT_API unsigned qt_dash_port(const qt_dash *d);
/* The URL to open, "http://ADDR:PORT/?token=HEX" (IPv6 in brackets), into
 * buf.  QT_EINVAL when it does not fit in cap. */
QT_API int qt_dash_url(const qt_dash *d, char *buf, size_t cap, qt_err *err);
/* Stops serving (waits for requests in flight) and frees d; NULL is a no-op. */
QT_API void qt_dash_stop(qt_dash *d);

/* ---- a paper campaign's report (src/report/campaign_md.c) ----
 * The parameter-tuning report's shape: the configuration, the top-N table
 * (rank, PnL, win rate, trades, parameters), the per-parameter analysis
 * (mean PnL, win rate and trades per value of each grid parameter) and the
 * limitations of the run (short duration; under 30 trades per campaign;
 * failed campaigns).  rows[order[0..n_order)] is the ranking. */
typedef struct qt_campaign_report {
  const char *strategy, *session_id, *feed, *symbols, *mode, *rank_by, *storage;
  double duration_s;         /* per campaign (0: the whole feed) */
  size_t top_n;
  const char *const *axis_names;
  size_t n_axes;
  const qt_tuning_result_rec *rows;
  const int *ok;
  size_t n;
  const size_t *order;
  size_t n_order;
} qt_campaign_report;
QT_API int qt_report_campaign_md(FILE *f, const qt_campaign_report *r, qt_err *err);

#endif
