/* qtune report: a study's report as Markdown, or as one self-contained HTML
 * page (ECharts and the data inline, nothing fetched when it opens).  It reads
 * a study the caller opened (qt_study_open, read-only is enough) and writes to
 * the caller's FILE; it neither opens storages nor names files.  Not the
 * console output of the CLI and not a server. */
#ifndef QTUNE_QTUNE_REPORT_H
#define QTUNE_QTUNE_REPORT_H

#include "qtune/core.h"
#include "qtune/engine.h"
#include "qtune/optimize.h"
#include "qtune/storage.h"

#include <stdio.h>

typedef struct qt_report_opts {
  size_t top_n;      /* rows of the top-trials table (default 10) */
  size_t max_points; /* trials drawn per chart; more are down-sampled (default 2000) */
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
