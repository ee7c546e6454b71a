/* What the Markdown and HTML writers share: the ranking of trials, value
 * formatting, escaping and the embedded assets. */
#ifndef QTUNE_REPORT_REPORT_INT_H
#define QTUNE_REPORT_REPORT_INT_H

#include "qtune/report.h"

#include <jansson.h>

/* A complete trial with an objective, for the top-N table. */
typedef struct qt__report_row {
  size_t idx; /* qt_study_trial_info index */
  double obj;
  int feasible;
} qt__report_row;

/* Complete trials with a non-NaN objective, feasible first, then by the
 * objective in the goal's direction, then by number (analyze's order).
 * *out is qt_malloc'd (qt_free). */
int qt__report_rank(const qt_study *st, qt__report_row **out, size_t *out_n, qt_err *err);
/* A JSON object parsed from js, or NULL (NULL, not an object, malformed). */
json_t *qt__report_obj(const char *js);
/* Writes s as text for element content or a quoted attribute: & < > " '
 * escaped. */
void qt__report_html_text(FILE *f, const char *s);
/* A param or metric value for a table: numbers %.6g, strings as they are,
 * true/false, "-" for missing or null. */
void qt__report_fmt_value(const json_t *v, char *buf, size_t cap);
/* The goal's weights ("sharpe=0.3, calmar=0.25") and constraints
 * ("sharpe >= 1, trades >= 50", or "none") as text. */
void qt__report_weights_text(const qt_goal *g, char *buf, size_t cap);
void qt__report_constraints_text(const qt_goal *g, char *buf, size_t cap);
/* Per constraint k of the goal, how many complete trials violated it
 * (metrics_json "violations" names the metric); *out_any is how many
 * violated at least one.  counts has g->n_cons entries. */
void qt__report_violations(const qt_study *st, size_t *counts, size_t *out_any);
/* The metric names shown beside the params: the goal's objective metric or
 * score terms, then its constraints' metrics, without repeats.  Returns how
 * many (at most cap); names are borrowed from the goal. */
size_t qt__report_goal_metrics(const qt_goal *g, const char **names, size_t cap);

/* The study page's data (what report.js draws): page_data of html.c plus
 * "counts" by state, "n_trials", "best_number"/"best_value" (null when no
 * feasible trial) and "top" {"head": [...], "rows": [[text...]]}.  *out is a
 * new reference.  QT_ENOMEM, or the importance's error. */
int qt__report_study_json(const qt_study *st, const qt_report_opts *o, json_t **out, qt_err *err);

/* How a caller (the dashboard) frames the study page; NULL fields are left
 * out.  The markup is trusted (the caller escapes what it puts in). */
typedef struct qt__report_page {
  const char *style;     /* CSS appended to the page's */
  const char *head_html; /* markup at the end of <head> */
  const char *nav_html;  /* markup first in <body> */
  /* NULL: ECharts and report.js inline (the self-contained file); else
   * these <script src> URLs, NULL-terminated, instead */
  const char *const *script_src;
  const char *extra_html; /* markup after the top-N table (the dashboard's validation) */
} qt__report_page;
/* The study page of qt_report_study_html, framed by pg (NULL: the plain
 * self-contained report).  Errors as qt_report_study_html. */
int qt__report_study_page(const qt_study *st, const qt_report_opts *o, const qt__report_page *pg,
                          FILE *out, qt_err *err);

/* ---- down-sampling for display (decimate.c) ---- */
/* Largest-Triangle-Three-Buckets: the indices (ascending, first and last
 * included) of m points of (x, y)[0..n) that keep the line's shape, into
 * out (n entries); returns how many.  m == 0 or m >= n: all n.  x ascending. */
size_t qt__report_lttb(const double *x, const double *y, size_t n, size_t m, size_t *out);
/* One candle of `per` consecutive bars. */
typedef struct qt__report_candle {
  int64_t ts_ms; /* the first bar's open time */
  double open, high, low, close;
} qt__report_candle;
/* Merges every `per` bars (the last group may be shorter) into one candle:
 * first open, highest high, lowest low, last close.  out holds
 * ceil(n / per) candles; returns how many. */
size_t qt__report_ohlc_merge(const int64_t *ts, const double *o, const double *h, const double *l,
                             const double *c, size_t n, size_t per, qt__report_candle *out);

/* The embedded files (src/report/assets.c): ECharts' minified build and the
 * page's own script.  Not NUL-terminated; sizes in bytes. */
extern const char qt__report_echarts_js[];
extern const size_t qt__report_echarts_js_len;
extern const char qt__report_app_js[];
extern const size_t qt__report_app_js_len;
extern const char qt__report_backtest_js[]; /* the backtest page's script */
extern const size_t qt__report_backtest_js_len;
extern const char qt__report_dash_js[]; /* the dashboard's page script */
extern const size_t qt__report_dash_js_len;

#endif
