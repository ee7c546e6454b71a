/* The HTML report of a study: one self-contained page.  The C side writes the
 * text parts (summary, top-N table) HTML-escaped and the data as <script>-safe
 * JSON; the embedded page script (report.js) draws the charts with the
 * embedded ECharts. */
#include "report/report_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static const char *type_name(int t) {
  static const char *types[] = {"int", "float", "categorical", "bool"}; /* qt_param_type order */
  return t >= 0 && t < 4 ? types[t] : "?";
}

/* The page's data: study, params, importance, the (down-sampled) complete
 * trials as rows [number, objective|null, feasible, best_so_far|null, p...]
 * (every stride-th, each new best so far, the best and the last),
 * and the constraint counts.  NULL on OOM. */
static json_t *page_data(const qt_study *st, const qt_report_opts *o, const double *imp,
                         double *x) {
  const qt_goal *g = qt_study_goal(st);
  const qt_space *sp = qt_study_space(st);
  size_t nd = sp ? qt_space_n(sp) : 0, n = qt_study_n_trials(st), n_complete = 0;
  json_t *d = json_object(), *params = json_array(), *imps = json_array(), *rows = json_array(),
         *cons = json_array();
  if (!d || !params || !imps || !rows || !cons) goto oom;
  json_object_set_new(d, "study", json_string(qt_study_name(st)));
  json_object_set_new(d, "objective", json_string(g->metric));
  json_object_set_new(d, "maximize", json_boolean(g->maximize));
  for (size_t k = 0; k < nd; k++) {
    const qt_dim *dm = qt_space_dim(sp, k);
    json_t *p = json_pack("{s:s,s:s,s:b}", "name", dm->name, "type", type_name(dm->type), "log",
                          dm->log);
    if (!p) goto oom;
    if (dm->n_choices) {
      json_t *ch = json_array();
      for (size_t c = 0; c < dm->n_choices; c++) json_array_append_new(ch, json_string(dm->choices[c]));
      json_object_set_new(p, "choices", ch);
    }
    json_array_append_new(params, p);
    json_array_append_new(imps, json_real(imp[k]));
  }
  for (size_t i = 0; i < n; i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    if (ti.state == QT_TRIAL_COMPLETE) n_complete++;
  }
  size_t stride = 1;
  if (o->max_points && n_complete > o->max_points)
    stride = (n_complete + o->max_points - 1) / o->max_points;
  long best = qt_study_best(st);
  double bsf = NAN;
  size_t c = 0, shown = 0;
  for (size_t i = 0; i < n; i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    if (ti.state != QT_TRIAL_COMPLETE) continue;
    /* best so far over every trial, also those not drawn; a trial that
     * improves it is always drawn, so the down-sampled line is exact (a
     * step at each new best: a few dozen among 100,000 random trials) */
    int improved = ti.feasible && isfinite(ti.objective) &&
                   (isnan(bsf) || (g->maximize ? ti.objective > bsf : ti.objective < bsf));
    if (improved) bsf = ti.objective;
    int keep = c % stride == 0 || improved || (long)i == best || c + 1 == n_complete;
    c++;
    if (!keep) continue;
    json_t *r = json_array();
    if (!r) goto oom;
    json_array_append_new(r, json_integer((json_int_t)ti.number));
    json_array_append_new(r, num_or_null(ti.objective));
    json_array_append_new(r, json_integer(ti.feasible));
    json_array_append_new(r, num_or_null(bsf));
    if (nd && qt_space_params_from_json(sp, ti.params_json ? ti.params_json : "{}", x, NULL))
      for (size_t k = 0; k < nd; k++) x[k] = NAN;
    for (size_t k = 0; k < nd; k++) json_array_append_new(r, num_or_null(qt_space_to_user(sp, k, x[k])));
    json_array_append_new(rows, r);
    shown++;
  }
  size_t counts[QT_CONSTRAINTS_MAX], any;
  qt__report_violations(st, counts, &any);
  for (size_t k = 0; k < g->n_cons; k++) {
    qt_goal one = *g;
    one.cons[0] = g->cons[k];
    one.n_cons = 1;
    char b[128];
    qt__report_constraints_text(&one, b, sizeof b);
    json_array_append_new(cons, json_pack("{s:s,s:I}", "label", b, "count", (json_int_t)counts[k]));
  }
  json_object_set_new(d, "params", params);
  json_object_set_new(d, "importance", imps);
  json_object_set_new(d, "trials", rows);
  json_object_set_new(d, "constraints", cons);
  json_object_set_new(d, "n_complete", json_integer((json_int_t)n_complete));
  json_object_set_new(d, "n_shown", json_integer((json_int_t)shown));
  json_object_set_new(d, "stride", json_integer((json_int_t)stride));
  /* the parallel coordinates chart draws an SVG path per trial (the other
   * charts' large mode draws one for all): a quarter of them (report.js) */
  json_object_set_new(d, "parallel_max",
                      json_integer((json_int_t)(o->max_points ? (o->max_points + 3) / 4 : 0)));
  json_object_set_new(d, "n_violated", json_integer((json_int_t)any));
  return d;
oom:
  json_decref(d);
  json_decref(params);
  json_decref(imps);
  json_decref(rows);
  json_decref(cons);
  return NULL;
}

static const char k_style[] =
    "body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}"
    ".chart{width:100%;height:360px}.slices{display:flex;flex-wrap:wrap}"
    ".slices .chart{width:380px;height:300px}"
    "table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:2px 6px;"
    "text-align:right}th{background:#f4f4f4}.note{color:#666;font-size:.9em}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{color:#666}dd{margin:0}";

static void html_summary(FILE *f, const qt_study *st) {
  size_t c[QT_TRIAL_N_STATES];
  qt_study_counts(st, c);
  const qt_goal *g = qt_study_goal(st);
  char w[1024], k[1024];
  qt__report_weights_text(g, w, sizeof w);
  qt__report_constraints_text(g, k, sizeof k);
  fprintf(f, "<dl id=\"qt-summary\"><dt>objective</dt><dd>");
  qt__report_html_text(f, g->metric);
  fprintf(f, " (%s)</dd>", g->maximize ? "maximize" : "minimize");
  if (!strcmp(g->metric, "score")) {
    fprintf(f, "<dt>weights</dt><dd>");
    qt__report_html_text(f, w);
    fprintf(f, "</dd>");
  }
  fprintf(f, "<dt>constraints</dt><dd>");
  qt__report_html_text(f, k);
  fprintf(f, "%s</dd><dt>sampler, seed</dt><dd>", g->lenient && g->n_cons ? " (lenient)" : "");
  /* read-only opens have no sampler object: the stored config names it */
  json_t *cfg = qt__report_obj(qt_study_config_json(st));
  const char *sampler = json_string_value(json_object_get(cfg, "sampler"));
  qt__report_html_text(f, sampler ? sampler : "-");
  json_decref(cfg);
  fprintf(f, ", %llu</dd>", (unsigned long long)qt_study_seed(st));
  fprintf(f, "<dt>trials</dt><dd><span id=\"qt-n-trials\">%zu</span> (complete "
             "<span id=\"qt-n-complete\">%zu</span>, rejected <span id=\"qt-n-rejected\">%zu</span>, "
             "pruned <span id=\"qt-n-pruned\">%zu</span>, "
             "failed <span id=\"qt-n-fail\">%zu</span>, running <span id=\"qt-n-running\">%zu</span>, "
             "waiting <span id=\"qt-n-waiting\">%zu</span>)</dd>",
          qt_study_n_trials(st), c[QT_TRIAL_COMPLETE], c[QT_TRIAL_REJECTED], c[QT_TRIAL_PRUNED],
          c[QT_TRIAL_FAIL], c[QT_TRIAL_RUNNING], c[QT_TRIAL_WAITING]);
  /* the spans are there with no feasible trial too, for a live page to fill */
  long best = qt_study_best(st);
  qt_trial_info ti = {0};
  if (best >= 0) qt_study_trial_info(st, (size_t)best, &ti);
  fprintf(f, "<dt>best trial</dt><dd>#<span id=\"qt-best-number\">");
  if (best >= 0) fprintf(f, "%lld", (long long)ti.number);
  else fputc('-', f);
  fprintf(f, "</span>, ");
  qt__report_html_text(f, g->metric);
  if (best >= 0)
    fprintf(f, " <span id=\"qt-best-value\" data-value=\"%.17g\">%.6g</span></dd>", ti.objective,
            ti.objective);
  else
    fprintf(f, " <span id=\"qt-best-value\">none feasible yet</span></dd>");
  fprintf(f, "</dl>\n");
}

/* The top-N table as JSON: {"head": [labels], "rows": [[cells as text]]},
 * the one source of the page's table (written by C here, rebuilt from the
 * API's JSON by the dashboard).  NULL on OOM. */
static json_t *top_json(const qt_study *st, const qt__report_row *rk, size_t nr, size_t top_n) {
  const qt_goal *g = qt_study_goal(st);
  const qt_space *sp = qt_study_space(st);
  size_t nd = sp ? qt_space_n(sp) : 0, show = top_n < nr ? top_n : nr;
  const char *mets[QT_SCORE_MAX_TERMS + QT_CONSTRAINTS_MAX + 1];
  size_t nm = qt__report_goal_metrics(g, mets, sizeof mets / sizeof mets[0]);
  json_t *t = json_object(), *head = json_array(), *rows = json_array();
  if (!t || !head || !rows) goto oom;
  json_object_set_new(t, "head", head);
  json_object_set_new(t, "rows", rows);
  json_array_append_new(head, json_string("rank"));
  json_array_append_new(head, json_string("trial"));
  json_array_append_new(head, json_string(g->metric));
  json_array_append_new(head, json_string("feasible"));
  for (size_t d = 0; d < nd; d++) json_array_append_new(head, json_string(qt_space_dim(sp, d)->name));
  for (size_t m = 0; m < nm; m++)
    if (strcmp(mets[m], g->metric)) json_array_append_new(head, json_string(mets[m]));
  char b[256];
  for (size_t r = 0; r < show; r++) {
    qt_trial_info ti;
    qt_study_trial_info(st, rk[r].idx, &ti);
    json_t *p = qt__report_obj(ti.params_json), *m = qt__report_obj(ti.metrics_json),
           *row = json_array();
    if (!row) {
      json_decref(p);
      json_decref(m);
      goto oom;
    }
    json_array_append_new(rows, row);
    snprintf(b, sizeof b, "%zu", r + 1);
    json_array_append_new(row, json_string(b));
    snprintf(b, sizeof b, "%lld", (long long)ti.number);
    json_array_append_new(row, json_string(b));
    snprintf(b, sizeof b, "%.6g", ti.objective);
    json_array_append_new(row, json_string(b));
    json_array_append_new(row, json_string(ti.feasible ? "yes" : "no"));
    for (size_t d = 0; d < nd; d++) {
      qt__report_fmt_value(json_object_get(p, qt_space_dim(sp, d)->name), b, sizeof b);
      json_array_append_new(row, json_string(b));
    }
    for (size_t k = 0; k < nm; k++) {
      if (!strcmp(mets[k], g->metric)) continue;
      qt__report_fmt_value(json_object_get(m, mets[k]), b, sizeof b);
      json_array_append_new(row, json_string(b));
    }
    json_decref(p);
    json_decref(m);
  }
  return t;
oom:
  json_decref(t);
  json_decref(head);
  json_decref(rows);
  return NULL;
}

static void html_top(FILE *f, const qt_study *st, const json_t *top) {
  const json_t *head = json_object_get(top, "head"), *rows = json_object_get(top, "rows");
  size_t i, j;
  const json_t *row, *cell;
  fprintf(f, "<h2>Top <span id=\"qt-top-n\">%zu</span> trials</h2><p class=\"note\">Feasible "
             "first, then by ", json_array_size(rows));
  qt__report_html_text(f, qt_study_goal(st)->metric);
  fprintf(f, ".</p><table id=\"qt-top\"><tr>");
  json_array_foreach(head, j, cell) {
    fprintf(f, "<th>");
    qt__report_html_text(f, json_string_value(cell));
    fprintf(f, "</th>");
  }
  fprintf(f, "</tr>\n");
  json_array_foreach(rows, i, row) {
    fprintf(f, "<tr>");
    json_array_foreach(row, j, cell) {
      fprintf(f, "<td>");
      qt__report_html_text(f, json_string_value(cell));
      fprintf(f, "</td>");
    }
    fprintf(f, "</tr>\n");
  }
  fprintf(f, "</table>\n");
}

int qt__report_study_json(const qt_study *st, const qt_report_opts *o, json_t **out, qt_err *err) {
  *out = NULL;
  int rc = QT_OK;
  qt_report_opts dflt = qt_report_opts_default();
  if (!o) o = &dflt;
  const qt_space *sp = qt_study_space(st);
  size_t nd = sp ? qt_space_n(sp) : 0, nr = 0;
  qt__report_row *rk = NULL;
  json_t *data = NULL, *top = NULL;
  double *imp = qt_malloc((nd ? nd : 1) * sizeof *imp), *x = qt_malloc((nd ? nd : 1) * sizeof *x);
  if (!imp || !x) goto oom;
  if ((rc = qt_study_importance(st, imp, err))) goto fail;
  if ((rc = qt__report_rank(st, &rk, &nr, err))) goto fail;
  if (!(data = page_data(st, o, imp, x))) goto oom;
  if (!(top = top_json(st, rk, nr, o->top_n))) goto oom;
  size_t c[QT_TRIAL_N_STATES];
  qt_study_counts(st, c);
  json_t *counts = json_object();
  if (!counts) goto oom;
  json_object_set_new(data, "counts", counts);
  for (int k = 0; k < QT_TRIAL_N_STATES; k++)
    json_object_set_new(counts, qt_trial_state_name(k), json_integer((json_int_t)c[k]));
  json_object_set_new(data, "n_trials", json_integer((json_int_t)qt_study_n_trials(st)));
  long best = qt_study_best(st);
  if (best >= 0) {
    qt_trial_info ti;
    qt_study_trial_info(st, (size_t)best, &ti);
    json_object_set_new(data, "best_number", json_integer((json_int_t)ti.number));
    json_object_set_new(data, "best_value", num_or_null(ti.objective));
    char b[32];
    snprintf(b, sizeof b, "%.6g", ti.objective);
    json_object_set_new(data, "best_text", json_string(b));
  } else {
    json_object_set_new(data, "best_text", json_string("none feasible yet"));
    json_object_set_new(data, "best_number", json_null());
    json_object_set_new(data, "best_value", json_null());
  }
  json_object_set_new(data, "top", top);
  top = NULL;
  *out = data;
  data = NULL;
  goto fail;
oom:
  rc = qt_err_set(err, QT_ENOMEM, "report: study %s: out of memory", qt_study_name(st));
fail:
  json_decref(data);
  json_decref(top);
  qt_free(rk);
  qt_free(imp);
  qt_free(x);
  return rc;
}

int qt__report_study_page(const qt_study *st, const qt_report_opts *o, const qt__report_page *pg,
                          FILE *out, qt_err *err) {
  json_t *data = NULL;
  char *js = NULL, *safe = NULL;
  size_t len = 0;
  int rc = QT_OK;
  if ((rc = qt__report_study_json(st, o, &data, err))) goto fail;
  if (!(js = json_dumps(data, JSON_COMPACT | JSON_REAL_PRECISION(10)))) goto oom;
  size_t cap = strlen(js) * 6 + 1;
  if (!(safe = qt_malloc(cap))) goto oom;
  if ((rc = qt_report_script_json(js, safe, cap, &len, err))) goto fail;
  fprintf(out, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<meta name=\"generator\" content=\"qtune %s\"><title>qtune study: ",
          qt_version());
  qt__report_html_text(out, qt_study_name(st));
  fprintf(out, "</title><style>%s%s</style>%s</head><body>\n%s<h1>Study <span id=\"qt-study-name\">",
          k_style, pg && pg->style ? pg->style : "", pg && pg->head_html ? pg->head_html : "",
          pg && pg->nav_html ? pg->nav_html : "");
  qt__report_html_text(out, qt_study_name(st));
  fprintf(out, "</span></h1>\n");
  html_summary(out, st);
  fprintf(out,
          "<p id=\"qt-sampling-note\" class=\"note\"></p>\n"
          "<h2>Optimization history</h2><div class=\"chart\" id=\"qt-chart-history\"></div>\n"
          "<h2>Parameter importance</h2><div class=\"chart\" id=\"qt-chart-importance\"></div>\n"
          "<h2>Slice plots</h2><div class=\"slices\" id=\"qt-slices\"></div>\n"
          "<h2>Heatmap of two parameters</h2><p>x <select id=\"qt-heat-x\"></select> "
          "y <select id=\"qt-heat-y\"></select> <span class=\"note\">best objective per cell; "
          "the pair with the highest importance first</span></p>"
          "<div class=\"chart\" id=\"qt-chart-heatmap\"></div>\n"
          "<h2>Parallel coordinates</h2><p id=\"qt-parallel-note\" class=\"note\"></p>"
          "<div class=\"chart\" id=\"qt-chart-parallel\"></div>\n"
          "<h2>Constraint violations</h2><p id=\"qt-violations-note\"></p>"
          "<div class=\"chart\" id=\"qt-chart-violations\"></div>\n");
  html_top(out, st, json_object_get(data, "top"));
  if (pg && pg->extra_html) fputs(pg->extra_html, out);
  fprintf(out, "<script id=\"qt-data\" type=\"application/json\">");
  fwrite(safe, 1, len, out);
  fprintf(out, "</script>\n");
  if (pg && pg->script_src) {
    for (const char *const *s = pg->script_src; *s; s++) fprintf(out, "<script src=\"%s\"></script>\n", *s);
  } else {
    fprintf(out, "<script>");
    fwrite(qt__report_echarts_js, 1, qt__report_echarts_js_len, out);
    fprintf(out, "</script>\n<script>");
    fwrite(qt__report_app_js, 1, qt__report_app_js_len, out);
    fprintf(out, "</script>\n");
  }
  fprintf(out, "</body></html>\n");
  if (fflush(out) || ferror(out))
    rc = qt_err_set(err, QT_EIO, "report: study %s: writing the HTML failed", qt_study_name(st));
  goto fail;
oom:
  rc = qt_err_set(err, QT_ENOMEM, "report: study %s: out of memory", qt_study_name(st));
fail:
  qt_free(safe);
  free(js);
  json_decref(data);
  return rc;
}

int qt_report_study_html(const qt_study *st, const qt_report_opts *o, FILE *out, qt_err *err) {
  return qt__report_study_page(st, o, NULL, out, err);
}
