/* The paper runs (GET /paper, data GET /api/paper): every run of `qtune
 * paper` in the storage with its strategy, symbols, start, last bar, equity,
 * P&L, trades and state, re-read while open.  One run (GET /paper/run?name=R,
 * data GET /api/paper/run?name=R): its summary, the equity curve (the marked
 * equity of each commit and the realized equity after each closed trade,
 * drawn by dash.js with the embedded ECharts), open positions and orders,
 * the newest trades and order actions, and the risk-limit breaches.  All of
 * it read through the storage's paper API (src/storage/paper.c). */
#include "report/dash_int.h"

#include "qtune/storage.h"
#include "qtune/strategy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The rows of a table past which only the newest are listed (the page says
 * how many of how many). */
#define MAX_ROWS 500

static const char *const k_cols[] = {"run",     "strategy", "symbols", "started", "last bar",
                                     "equity",  "P&L",      "trades",  "state"};
#define N_COLS (sizeof k_cols / sizeof k_cols[0])

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static void fmt_num(double v, const char *f, char *b, size_t cap) {
  if (isfinite(v)) snprintf(b, cap, f, v);
  else snprintf(b, cap, "-");
}

static const char *fmt_time(int64_t ms, char *b, size_t cap) {
  if (ms <= 0) {
    snprintf(b, cap, "-");
    return b;
  }
  return qt_time_format(ms, b, cap);
}

/* The P&L of a run: its equity less the cash it started with (NaN when the
 * start is not stored). */
static double pnl_of(const qt_paper_run_rec *r) { return r->equity - r->start_cash; }

static json_t *run_row(const qt_paper_run_rec *r) {
  char b[64];
  json_t *cells = json_array();
  json_t *row = json_pack("{s:s,s:b,s:o}", "name", r->name, "running", !strcmp(r->status, "running"),
                          "cells", cells);
  if (!row) return NULL;
  json_array_append_new(cells, json_string(r->name));
  json_array_append_new(cells, json_string(r->strategy));
  json_array_append_new(cells, json_string(r->symbols));
  json_array_append_new(cells, json_string(fmt_time(r->created_ms, b, sizeof b)));
  json_array_append_new(cells, json_string(fmt_time(r->last_bar_ms, b, sizeof b)));
  fmt_num(r->equity, "%.2f", b, sizeof b);
  json_array_append_new(cells, json_string(b));
  fmt_num(pnl_of(r), "%+.2f", b, sizeof b);
  json_array_append_new(cells, json_string(b));
  snprintf(b, sizeof b, "%lld", (long long)r->n_trades);
  json_array_append_new(cells, json_string(b));
  json_array_append_new(cells, json_string(r->status));
  if (json_array_size(cells) != N_COLS) {
    json_decref(row);
    return NULL;
  }
  return row;
}

/* {"columns": [...], "runs": [{"name", "running", "cells"}...]}, newest first. */
static int runs_json(const qt__dash_req *rq, json_t **out, qt_err *err) {
  *out = NULL;
  qt_storage s;
  qt_paper_run_rec *v = NULL;
  size_t n = 0;
  int rc = qt_storage_open(qt__dash_storage_url(rq->d), &s, err);
  if (rc) return rc;
  json_t *o = json_object(), *cols = json_array(), *rows = json_array();
  if (!o || !cols || !rows || json_object_set_new(o, "columns", cols) ||
      json_object_set_new(o, "runs", rows)) {
    rc = qt_err_set(err, QT_ENOMEM, "dashboard: out of memory");
    goto fail;
  }
  for (size_t k = 0; k < N_COLS; k++) json_array_append_new(cols, json_string(k_cols[k]));
  if ((rc = qt_paper_runs_list(&s, &v, &n, err))) goto fail;
  for (size_t i = 0; i < n; i++) {
    json_t *r = run_row(&v[i]);
    if (!r || json_array_append_new(rows, r)) {
      rc = qt_err_set(err, QT_ENOMEM, "dashboard: out of memory");
      goto fail;
    }
  }
  *out = o;
  o = NULL;
fail:
  json_decref(o);
  qt_free(v);
  qt_storage_close(&s);
  return rc;
}

static void serve_list_api(const qt__dash_req *rq, qt__dash_reply *rp) {
  qt__dash_cached_api(rq, rp, "paper", runs_json);
}

static void serve_list(const qt__dash_req *rq, qt__dash_reply *rp) {
  qt_err e;
  qt_err_clear(&e);
  json_t *j = NULL;
  if (runs_json(rq, &j, &e)) {
    qt__dash_fail(rp, 500, "%s", e.msg);
    return;
  }
  FILE *f = rp->f;
  json_t *rows = json_object_get(j, "runs"), *row, *cell;
  size_t i, k;
  qt__dash_head(f, rq, "paper", "qtune: paper runs");
  fprintf(f, "<h1>Paper runs</h1><p class=\"note\"><span id=\"qt-n-runs\">%zu</span> runs of "
             "<code>qtune paper</code> in the storage; this list re-reads it while open.</p>\n"
             "<table id=\"qt-paper-runs\" class=\"list\"><thead><tr>",
          json_array_size(rows));
  for (k = 0; k < N_COLS; k++) {
    fprintf(f, "<th>");
    qt__report_html_text(f, k_cols[k]);
    fprintf(f, "</th>");
  }
  fprintf(f, "</tr></thead><tbody>\n");
  json_array_foreach(rows, i, row) {
    char enc[1024];
    qt__dash_urlenc(json_string_value(json_object_get(row, "name")), enc, sizeof enc);
    fprintf(f, "<tr>");
    json_array_foreach(json_object_get(row, "cells"), k, cell) {
      const char *t = json_string_value(cell);
      if (k == 0) fprintf(f, "<td><a href=\"/paper/run?name=%s\">", enc);
      else fprintf(f, "<td%s>", !strcmp(t, "running") ? " class=\"state-running\"" : "");
      qt__report_html_text(f, t);
      fprintf(f, k == 0 ? "</a></td>" : "</td>");
    }
    fprintf(f, "</tr>\n");
  }
  fprintf(f, "</tbody></table>\n");
  qt__dash_foot(f);
  json_decref(j);
}

/* ---------------------------------------------------------- one run */

typedef struct run_data {
  qt_paper_run_rec run;
  qt_paper_trade_rec *tr;
  size_t n_tr;
  qt_paper_order_rec *ord;
  size_t n_ord;
  qt_paper_pos_rec *pos;
  size_t n_pos;
  qt_paper_open_rec *open;
  size_t n_open;
  qt_paper_risk_rec *risk;
  size_t n_risk;
  qt_paper_equity_rec *eq;
  size_t n_eq;
  qt_paper_params_rec *sets;
  size_t n_sets;
} run_data;

static void run_data_fini(run_data *d) {
  qt_free(d->tr);
  qt_free(d->ord);
  qt_free(d->pos);
  qt_free(d->open);
  qt_free(d->risk);
  qt_free(d->eq);
  qt_free(d->sets);
  memset(d, 0, sizeof *d);
}

static int by_exit(const void *a, const void *b) {
  const qt_paper_trade_rec *x = a, *y = b;
  if (x->exit_ms != y->exit_ms) return x->exit_ms < y->exit_ms ? -1 : 1;
  int c = strcmp(x->symbol, y->symbol);
  return c ? c : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

static int by_time(const void *a, const void *b) {
  const qt_paper_order_rec *x = a, *y = b;
  if (x->ts_ms != y->ts_ms) return x->ts_ms < y->ts_ms ? -1 : 1;
  int c = strcmp(x->symbol, y->symbol);
  return c ? c : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

/* Reads everything of run `name`: QT_ENOTFOUND when there is none.  Trades
 * come sorted by exit time, orders by time (all symbols merged). */
static int run_read(const qt__dash_req *rq, const char *name, run_data *d, qt_err *err) {
  memset(d, 0, sizeof *d);
  qt_storage s;
  int rc = qt_storage_open(qt__dash_storage_url(rq->d), &s, err);
  if (rc) return rc;
  int64_t id = 0;
  if (!(rc = qt_paper_run_get(&s, name, &d->run, err))) id = d->run.id;
  if (!rc) rc = qt_paper_trades_list(&s, id, NULL, &d->tr, &d->n_tr, err);
  if (!rc) rc = qt_paper_orders_list(&s, id, NULL, &d->ord, &d->n_ord, err);
  if (!rc) rc = qt_paper_pos_list(&s, id, &d->pos, &d->n_pos, err);
  if (!rc) rc = qt_paper_open_list(&s, id, &d->open, &d->n_open, err);
  if (!rc) rc = qt_paper_risk_list(&s, id, &d->risk, &d->n_risk, err);
  if (!rc) rc = qt_paper_equity_list(&s, id, &d->eq, &d->n_eq, err);
  if (!rc) rc = qt_paper_params_list(&s, id, &d->sets, &d->n_sets, err);
  qt_storage_close(&s);
  if (rc) {
    run_data_fini(d);
    return rc;
  }
  if (d->n_tr) qsort(d->tr, d->n_tr, sizeof *d->tr, by_exit);
  if (d->n_ord) qsort(d->ord, d->n_ord, sizeof *d->ord, by_time);
  return QT_OK;
}

/* Appends [x, y] pairs of the points LTTB keeps (max of them; 0: all). */
static int series(json_t *arr, const double *x, const double *y, size_t n, size_t max, size_t *idx) {
  size_t k = qt__report_lttb(x, y, n, max, idx);
  for (size_t j = 0; j < k; j++)
    if (json_array_append_new(arr, json_pack("[I,f]", (json_int_t)x[idx[j]], y[idx[j]])))
      return -1;
  return 0;
}

/* What the run page draws and updates: {"name", "status", "equity", "pnl",
 * "n_trades", "n_bars", "last_bar", "marked": [[bar ms, equity]...],
 * "realized": [[exit ms, start cash + P&L so far]...], "n_marked",
 * "n_realized"} (both series LTTB'd to max points). */
static int run_json(const run_data *d, size_t max, json_t **out, qt_err *err) {
  *out = NULL;
  const qt_paper_run_rec *r = &d->run;
  size_t n = d->n_eq > d->n_tr + 1 ? d->n_eq : d->n_tr + 1;
  double *x = qt_malloc(n * sizeof *x), *y = qt_malloc(n * sizeof *y);
  size_t *idx = qt_malloc(n * sizeof *idx), m = 0;
  char b[64];
  json_t *o = json_object(), *mk = json_array(), *re = json_array();
  if (!o || !mk || !re) {
    json_decref(mk);
    json_decref(re);
    goto oom;
  }
  /* o holds them from here (a set that fails frees its value) */
  if (json_object_set_new(o, "marked", mk) || json_object_set_new(o, "realized", re) || !x || !y ||
      !idx)
    goto oom;
  json_object_set_new(o, "name", json_string(r->name));
  json_object_set_new(o, "status", json_string(r->status));
  json_object_set_new(o, "equity", num(r->equity));
  json_object_set_new(o, "pnl", num(pnl_of(r)));
  json_object_set_new(o, "n_trades", json_integer((json_int_t)r->n_trades));
  json_object_set_new(o, "n_bars", json_integer((json_int_t)r->n_bars));
  json_object_set_new(o, "last_bar", json_string(fmt_time(r->last_bar_ms, b, sizeof b)));
  /* the marked equity after each commit (the start row at bar 0 is drawn at
   * the first trade's entry, or left out) */
  for (size_t i = 0; i < d->n_eq; i++)
    if (d->eq[i].bar_ms > 0 && isfinite(d->eq[i].equity)) {
      x[m] = (double)d->eq[i].bar_ms;
      y[m++] = d->eq[i].equity;
    }
  json_object_set_new(o, "n_marked", json_integer((json_int_t)m));
  if (series(mk, x, y, m, max, idx)) goto oom;
  m = 0;
  if (isfinite(r->start_cash) && d->n_tr) {
    double eq = r->start_cash;
    x[m] = (double)d->tr[0].entry_ms;
    y[m++] = eq;
    for (size_t t = 0; t < d->n_tr; t++) {
      if (isfinite(d->tr[t].pnl)) eq += d->tr[t].pnl;
      x[m] = (double)d->tr[t].exit_ms;
      y[m++] = eq;
    }
  }
  json_object_set_new(o, "n_realized", json_integer((json_int_t)m));
  if (series(re, x, y, m, max, idx)) goto oom;
  qt_free(x);
  qt_free(y);
  qt_free(idx);
  *out = o;
  return QT_OK;
oom:
  qt_free(x);
  qt_free(y);
  qt_free(idx);
  json_decref(o);
  return qt_err_set(err, QT_ENOMEM, "dashboard: out of memory");
}

static void text(FILE *f, const char *s) { qt__report_html_text(f, s); }

static void summary(FILE *f, const qt_paper_run_rec *r) {
  char a[64], b[64], c[64];
  fprintf(f, "<dl id=\"qt-paper-summary\"><dt>strategy</dt><dd id=\"qt-paper-strategy\">");
  text(f, r->strategy);
  fprintf(f, "</dd><dt>params</dt><dd id=\"qt-paper-params\">");
  text(f, r->params_json);
  fprintf(f, "</dd><dt>feed</dt><dd>");
  text(f, r->feed);
  fprintf(f, "</dd><dt>symbols</dt><dd id=\"qt-paper-symbols\">");
  text(f, r->symbols);
  fprintf(f, "</dd><dt>state</dt><dd id=\"qt-paper-status\">");
  text(f, r->status);
  fprintf(f, "</dd><dt>started, updated</dt><dd>%s, %s</dd>", fmt_time(r->created_ms, a, sizeof a),
          fmt_time(r->updated_ms, b, sizeof b));
  fmt_num(r->start_cash, "%.2f", c, sizeof c);
  fprintf(f, "<dt>last bar</dt><dd id=\"qt-paper-last-bar\">%s</dd><dt>bars</dt>"
             "<dd id=\"qt-paper-n-bars\">%lld</dd><dt>start cash</dt><dd>%s</dd>",
          fmt_time(r->last_bar_ms, a, sizeof a), (long long)r->n_bars, c);
  fmt_num(r->equity, "%.2f", a, sizeof a);
  fmt_num(r->cash, "%.2f", b, sizeof b);
  fmt_num(pnl_of(r), "%+.2f", c, sizeof c);
  fprintf(f, "<dt>equity</dt><dd><span id=\"qt-paper-equity\" data-value=\"%.17g\">%s</span> "
             "(cash %s)</dd><dt>P&amp;L</dt><dd id=\"qt-paper-pnl\" data-value=\"%.17g\">%s</dd>"
             "<dt>trades</dt><dd id=\"qt-paper-n-trades\">%lld</dd></dl>\n",
          r->equity, a, b, pnl_of(r), c, (long long)r->n_trades);
}

static void positions(FILE *f, const run_data *d) {
  char a[64];
  fprintf(f, "<h2>Positions</h2><table id=\"qt-paper-positions\" class=\"list\"><tr><th>symbol</th>"
             "<th>qty</th><th>avg price</th><th>cash</th><th>equity</th><th>last bar</th>"
             "<th>bars</th><th>orders</th><th>trades</th></tr>\n");
  for (size_t i = 0; i < d->n_pos; i++) {
    const qt_paper_pos_rec *p = &d->pos[i];
    fprintf(f, "<tr><td>");
    text(f, p->symbol);
    fprintf(f, "</td><td>%.6g</td><td>%.6g</td><td>%.2f</td><td>%.2f</td><td>%s</td><td>%lld</td>"
               "<td>%lld</td><td>%lld</td></tr>\n",
            p->qty, p->avg_price, p->cash, p->equity, fmt_time(p->last_bar_ms, a, sizeof a),
            (long long)p->n_bars, (long long)p->n_orders, (long long)p->n_trades);
  }
  fprintf(f, "</table>\n<h2>Open orders</h2><table id=\"qt-paper-open\" class=\"list\"><tr>"
             "<th>symbol</th><th>order</th><th>side</th><th>type</th><th>qty</th><th>price</th>"
             "</tr>\n");
  for (size_t i = 0; i < d->n_open; i++) {
    const qt_paper_open_rec *o = &d->open[i];
    fprintf(f, "<tr><td>");
    text(f, o->symbol);
    fprintf(f, "</td><td>%lld</td><td>%s</td><td>%s</td><td>%.6g</td><td>%.6g</td></tr>\n",
            (long long)o->order_id, o->side == QT_BUY ? "buy" : "sell", qt_order_type_name(o->type),
            o->qty, o->price);
  }
  fprintf(f, "</table>\n");
}

/* The newest MAX_ROWS trades and order actions, newest first. */
static void trades(FILE *f, const run_data *d) {
  char a[64], b[64];
  size_t show = d->n_tr > MAX_ROWS ? MAX_ROWS : d->n_tr;
  fprintf(f, "<h2>Trades</h2><p class=\"note\" id=\"qt-paper-trades-note\">%s %zu of %zu closed "
             "trades, newest first.</p>\n<table id=\"qt-paper-trades\" class=\"list\"><tr>"
             "<th>symbol</th><th>#</th><th>side</th><th>entry</th><th>exit</th><th>qty</th>"
             "<th>entry price</th><th>exit price</th><th>P&amp;L</th><th>fees</th>"
             "<th>exit reason</th></tr>\n",
          show < d->n_tr ? "The newest" : "All", show, d->n_tr);
  for (size_t k = 0; k < show; k++) {
    const qt_paper_trade_rec *t = &d->tr[d->n_tr - 1 - k];
    fprintf(f, "<tr><td>");
    text(f, t->symbol);
    fprintf(f, "</td><td>%lld</td><td>%s</td><td>%s</td><td>%s</td><td>%.6g</td><td>%.6g</td>"
               "<td>%.6g</td><td>%.2f</td><td>%.2f</td><td>%s</td></tr>\n",
            (long long)t->seq, t->side == QT_BUY ? "long" : "short",
            fmt_time(t->entry_ms, a, sizeof a), fmt_time(t->exit_ms, b, sizeof b), t->qty,
            t->entry_price, t->exit_price, t->pnl, t->fees, qt_exit_reason_name(t->exit_reason));
  }
  show = d->n_ord > MAX_ROWS ? MAX_ROWS : d->n_ord;
  fprintf(f, "</table>\n<h2>Orders</h2><p class=\"note\" id=\"qt-paper-orders-note\">%s %zu of %zu "
             "order actions, newest first.</p>\n<table id=\"qt-paper-orders\" class=\"list\"><tr>"
             "<th>symbol</th><th>#</th><th>time</th><th>order</th><th>action</th><th>side</th>"
             "<th>type</th><th>qty</th><th>price</th></tr>\n",
          show < d->n_ord ? "The newest" : "All", show, d->n_ord);
  for (size_t k = 0; k < show; k++) {
    const qt_paper_order_rec *o = &d->ord[d->n_ord - 1 - k];
    fprintf(f, "<tr><td>");
    text(f, o->symbol);
    fprintf(f, "</td><td>%lld</td><td>%s</td><td>%lld</td><td>%s</td><td>%s</td><td>%s</td>"
               "<td>%.6g</td><td>%.6g</td></tr>\n",
            (long long)o->seq, fmt_time(o->ts_ms, a, sizeof a), (long long)o->order_id,
            qt_order_action_name(o->action), o->side == QT_BUY ? "buy" : "sell",
            qt_order_type_name(o->type), o->qty, o->price);
  }
  fprintf(f, "</table>\n");
}

static void risk(FILE *f, const run_data *d) {
  char a[64];
  size_t show = d->n_risk > MAX_ROWS ? MAX_ROWS : d->n_risk;
  fprintf(f, "<h2>Risk-limit breaches</h2><p class=\"note\">%s %zu of %zu.</p>\n"
             "<table id=\"qt-paper-risk\" class=\"list\"><tr><th>symbol</th><th>bar</th>"
             "<th>kind</th><th>detail</th></tr>\n",
          show < d->n_risk ? "The newest" : "All", show, d->n_risk);
  for (size_t k = 0; k < show; k++) {
    const qt_paper_risk_rec *x = &d->risk[d->n_risk - 1 - k];
    fprintf(f, "<tr><td>");
    text(f, x->symbol);
    fprintf(f, "</td><td>%s</td><td>", fmt_time(x->ts_ms, a, sizeof a));
    text(f, x->kind);
    fprintf(f, "</td><td>");
    text(f, x->detail);
    fprintf(f, "</td></tr>\n");
  }
  fprintf(f, "</table>\n");
}

/* The parameter sets the run applied (paper_params), oldest first: a run
 * has a few, so all are shown. */
static void param_sets(FILE *f, const run_data *d) {
  char a[64], b[64];
  fprintf(f, "<h2>Parameter sets</h2><p class=\"note\">%s</p>\n"
             "<table id=\"qt-paper-params\" class=\"list\"><tr><th>#</th><th>applied</th>"
             "<th>source</th><th>from bar</th><th>params</th></tr>\n",
          d->n_sets ? "The start set, then each set of the live params file from the bar it "
                      "took effect at."
                    : "None stored (a run stored before paper_params).");
  for (size_t k = 0; k < d->n_sets; k++) {
    const qt_paper_params_rec *x = &d->sets[k];
    fprintf(f, "<tr><td>%zu</td><td>%s</td><td>", k + 1, fmt_time(x->wall_ms, a, sizeof a));
    text(f, x->source);
    fprintf(f, "</td><td>%s</td><td>", x->bar_ms ? fmt_time(x->bar_ms, b, sizeof b) : "start");
    text(f, x->params_json);
    fprintf(f, "</td></tr>\n");
  }
  fprintf(f, "</table>\n");
}

/* The run page's tables, in the wrapper the page script refills from
 * /api/paper/run's "tables" (the same escaped HTML the page is built with,
 * so an open page's tables follow a running run as its summary does). */
static void tables(FILE *f, const run_data *d) {
  fprintf(f, "<div id=\"qt-paper-tables\">\n");
  positions(f, d);
  trades(f, d);
  risk(f, d);
  param_sets(f, d);
  fprintf(f, "</div>\n");
}

/* tables() as a JSON string into j's "tables"; 0, or -1 out of memory.
 * Text that is not UTF-8 (a stored field) leaves "tables" out: the page
 * keeps the tables it was served with. */
static int tables_json(const run_data *d, json_t *j) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return -1;
  tables(f, d);
  if (fclose(f)) {
    free(buf);
    return -1;
  }
  json_t *s = json_stringn(buf, len);
  free(buf);
  return s ? json_object_set_new(j, "tables", s) : 0;
}

/* The run named by ?name=, read, or a 400/404/500 reply; 0 when read. */
static int run_of(const qt__dash_req *rq, qt__dash_reply *rp, run_data *d) {
  const char *name = qt__dash_arg(rq, "name");
  if (!name || !*name) {
    qt__dash_fail(rp, 400, "/paper/run needs ?name=RUN");
    return -1;
  }
  qt_err e;
  qt_err_clear(&e);
  int rc = run_read(rq, name, d, &e);
  if (rc == QT_ENOTFOUND) qt__dash_fail(rp, 404, "no paper run named '%s'", name);
  else if (rc) qt__dash_fail(rp, 500, "%s", e.msg);
  return rc;
}

static void serve_run_api(const qt__dash_req *rq, qt__dash_reply *rp) {
  /* open pages of one run poll it: one storage read per cache period */
  char key[300];
  const char *name = qt__dash_arg(rq, "name");
  snprintf(key, sizeof key, "paper-run:%.280s", name ? name : "");
  if (name && strlen(name) <= 280 && qt__dash_cache_get(rq, key, rp)) return;
  run_data d;
  if (run_of(rq, rp, &d)) return;
  qt_err e;
  json_t *j = NULL;
  if (run_json(&d, qt__dash_max_points(rq->d), &j, &e)) qt__dash_fail(rp, 500, "%s", e.msg);
  else if (tables_json(&d, j)) qt__dash_fail(rp, 500, "dashboard: out of memory");
  else qt__dash_json(rq, rp, j, strlen(name) <= 280 ? key : NULL);
  json_decref(j);
  run_data_fini(&d);
}

static void serve_run(const qt__dash_req *rq, qt__dash_reply *rp) {
  run_data d;
  if (run_of(rq, rp, &d)) return;
  qt_err e;
  json_t *j = NULL;
  char *js = NULL, *safe = NULL, title[192];
  size_t len = 0, cap = 0;
  if (run_json(&d, qt__dash_max_points(rq->d), &j, &e) ||
      !(js = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17))) ||
      !(safe = qt_malloc(cap = strlen(js) * 6 + 1)) ||
      qt_report_script_json(js, safe, cap, &len, &e)) {
    qt__dash_fail(rp, 500, "dashboard: out of memory");
    goto done;
  }
  FILE *f = rp->f;
  snprintf(title, sizeof title, "qtune: paper run %.150s", d.run.name);
  qt__dash_head(f, rq, "paper-run", title);
  fprintf(f, "<h1>Paper run <span id=\"qt-paper-name\">");
  text(f, d.run.name);
  fprintf(f, "</span></h1>\n");
  summary(f, &d.run);
  fprintf(f, "<h2>Equity</h2><p class=\"note\" id=\"qt-paper-equity-note\"></p>"
             "<div class=\"chart\" id=\"qt-chart-paper-equity\"></div>\n");
  tables(f, &d);
  fprintf(f, "<script id=\"qt-paper-data\" type=\"application/json\">");
  fwrite(safe, 1, len, f);
  fprintf(f, "</script>\n<script src=\"/assets/echarts.min.js\"></script>\n");
  qt__dash_foot(f);
done:
  free(js);
  qt_free(safe);
  json_decref(j);
  run_data_fini(&d);
}

const qt__dash_page qt__dash_paper = {"GET", "/paper", serve_list};
const qt__dash_page qt__dash_paper_api = {"GET", "/api/paper", serve_list_api};
const qt__dash_page qt__dash_paper_run = {"GET", "/paper/run", serve_run};
const qt__dash_page qt__dash_paper_run_api = {"GET", "/api/paper/run", serve_run_api};
