/* A paper campaign's Markdown report, in the shape of the parameter-tuning
 * report: configuration, top-N table, per-parameter analysis (the mean
 * result per value of each grid parameter, read back from each campaign's
 * param_set JSON) and the run's limitations. */
#include "qtune/report.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define FEW_TRADES 30

/* The value of param `name` in a param_set as text ("" when absent). */
static void param_text(const char *json, const char *name, char *buf, size_t cap) {
  buf[0] = '\0';
  json_t *o = json_loads(json, 0, NULL);
  json_t *v = o ? json_object_get(o, name) : NULL;
  if (json_is_integer(v)) snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v)) snprintf(buf, cap, "%g", json_real_value(v));
  else if (json_is_string(v)) snprintf(buf, cap, "%s", json_string_value(v));
  else if (json_is_boolean(v)) snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
  json_decref(o);
}

/* The params as "a=1, b=2" (no braces or quotes) for the table. */
static void params_cell(const char *json, char *buf, size_t cap) {
  size_t w = 0;
  buf[0] = '\0';
  for (const char *c = json; *c && w + 1 < cap; c++) {
    if (*c == '{' || *c == '}' || *c == '"' || *c == '|') continue;
    buf[w++] = *c == ':' ? '=' : *c;
    if (*c == ':' && c[1] == ' ') c++;
  }
  buf[w] = '\0';
}

static void per_parameter(FILE *f, const qt_campaign_report *r) {
  fprintf(f, "## Per-parameter analysis\n\n"
             "Mean over the campaigns that ran, per value of each grid parameter.\n\n");
  for (size_t a = 0; a < r->n_axes; a++) {
    const char *name = r->axis_names[a];
    fprintf(f, "### %s\n\n| value | campaigns | mean PnL | mean win rate | mean trades |\n"
               "|---|---:|---:|---:|---:|\n", name);
    char seen[64][64];
    size_t n_seen = 0;
    for (size_t k = 0; k < r->n; k++) {
      if (!r->ok[k]) continue;
      char v[64];
      param_text(r->rows[k].param_set, name, v, sizeof v);
      size_t j = 0;
      while (j < n_seen && strcmp(seen[j], v)) j++;
      if (j == n_seen && n_seen < 64) snprintf(seen[n_seen++], sizeof seen[0], "%s", v);
    }
    for (size_t j = 0; j < n_seen; j++) {
      double pnl = 0, wr = 0, tr = 0;
      size_t m = 0;
      for (size_t k = 0; k < r->n; k++) {
        if (!r->ok[k]) continue;
        char v[64];
        param_text(r->rows[k].param_set, name, v, sizeof v);
        if (strcmp(v, seen[j])) continue;
        pnl += r->rows[k].total_pnl, wr += r->rows[k].winrate;
        tr += (double)r->rows[k].total_trades;
        m++;
      }
      fprintf(f, "| %s | %zu | %.2f | %.1f%% | %.1f |\n", seen[j], m, pnl / (double)m,
              100 * wr / (double)m, tr / (double)m);
    }
    fprintf(f, "\n");
  }
}

int qt_report_campaign_md(FILE *f, const qt_campaign_report *r, qt_err *err) {
  size_t n_ok = 0, few = 0;
  for (size_t k = 0; k < r->n; k++)
    if (r->ok[k]) n_ok++, few += r->rows[k].total_trades < FEW_TRADES;
  fprintf(f, "# Paper campaign report: %s\n\n", r->strategy);
  fprintf(f, "## Configuration\n\n| | |\n|---|---|\n");
  fprintf(f, "| session | %s |\n| strategy | %s |\n| feed | %s |\n| symbols | %s |\n",
          r->session_id, r->strategy, r->feed, r->symbols);
  fprintf(f, "| mode | %s |\n| campaigns | %zu (%zu ran, %zu failed) |\n", r->mode, r->n, n_ok,
          r->n - n_ok);
  if (r->duration_s > 0) fprintf(f, "| duration per campaign | %.0f s |\n", r->duration_s);
  else fprintf(f, "| duration per campaign | the whole feed |\n");
  fprintf(f, "| grid | ");
  for (size_t a = 0; a < r->n_axes; a++) fprintf(f, "%s%s", a ? ", " : "", r->axis_names[a]);
  fprintf(f, " |\n| ranked by | %s |\n| results | %s |\n\n", r->rank_by,
          r->storage ? r->storage : "JSON file only");
  size_t top = r->top_n && r->top_n < r->n_order ? r->top_n : r->n_order;
  fprintf(f, "## Top %zu by %s\n\n| rank | campaign | PnL | win rate | trades | avg PnL/trade | "
             "parameters |\n|---:|---:|---:|---:|---:|---:|---|\n",
          top, r->rank_by);
  for (size_t j = 0; j < top; j++) {
    const qt_tuning_result_rec *x = &r->rows[r->order[j]];
    char cell[1024];
    params_cell(x->param_set, cell, sizeof cell);
    fprintf(f, "| %zu | %lld | %.2f | %.1f%% | %lld | %.3f | %s |\n", j + 1,
            (long long)x->campaign_id, x->total_pnl, 100 * x->winrate,
            (long long)x->total_trades, x->avg_pnl_per_trade, cell);
  }
  fprintf(f, "\n");
  per_parameter(f, r);
  fprintf(f, "## Limitations\n\n");
  int any = 0;
  if (r->duration_s > 0 && r->duration_s < 3600) {
    fprintf(f, "- Short campaigns: at most %.0f s each; a result this short says little about the "
               "parameters (the tuning guide paper-trades 24-48 hours before going live).\n",
            r->duration_s);
    any = 1;
  }
  if (few) {
    fprintf(f, "- Few trades: %zu of %zu campaigns closed fewer than %d trades; their win rates "
               "and averages are not statistically meaningful.\n",
            few, n_ok, FEW_TRADES);
    any = 1;
  }
  if (n_ok < r->n) {
    fprintf(f, "- %zu campaigns failed (see the command's log) and are not ranked.\n", r->n - n_ok);
    any = 1;
  }
  if (!any) fprintf(f, "- None found by the checks (duration, trades per campaign, failures).\n");
  if (ferror(f)) return qt_err_set(err, QT_EIO, "campaign report: write failed");
  return QT_OK;
}
