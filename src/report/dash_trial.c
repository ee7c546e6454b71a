/* A trial's page (GET /trial?study=S&number=N): its state, objective,
 * feasibility and error, then its parameters and every metric it reported. */
#include "report/dash_int.h"

#include <stdlib.h>
#include <string.h>

/* A two-column table of the JSON object js (key, formatted value). */
static void kv_table(FILE *f, const char *id, const char *js) {
  json_t *o = qt__report_obj(js), *v;
  const char *k;
  char b[256];
  fprintf(f, "<table id=\"%s\" class=\"list\"><tr><th>name</th><th>value</th></tr>\n", id);
  json_object_foreach(o, k, v) {
    qt__report_fmt_value(v, b, sizeof b);
    fprintf(f, "<tr><td>");
    qt__report_html_text(f, k);
    fprintf(f, "</td><td>");
    qt__report_html_text(f, b);
    fprintf(f, "</td></tr>\n");
  }
  fprintf(f, "</table>\n");
  json_decref(o);
}

static void serve(const qt__dash_req *rq, qt__dash_reply *rp) {
  const char *name = qt__dash_arg(rq, "study"), *num = qt__dash_arg(rq, "number");
  char *end = NULL;
  long long want = num ? strtoll(num, &end, 10) : -1;
  if (!name || !*name || !num || !*num || *end) {
    qt__dash_fail(rp, 400, "/trial needs ?study=STUDY&number=N (a whole number)");
    return;
  }
  qt_err e;
  qt_err_clear(&e);
  qt_study *st = NULL;
  int rc = qt__dash_open_study(rq, name, &st, &e);
  if (rc) {
    if (rc == QT_ENOTFOUND) qt__dash_fail(rp, 404, "no study named '%s'", name);
    else qt__dash_fail(rp, 500, "%s", e.msg);
    return;
  }
  size_t n = qt_study_n_trials(st), i;
  qt_trial_info ti = {0};
  for (i = 0; i < n; i++) {
    qt_study_trial_info(st, i, &ti);
    if (ti.number == want) break;
  }
  if (i == n) {
    qt__dash_fail(rp, 404, "study '%s' has no trial #%lld", name, want);
    qt_study_free(st);
    return;
  }
  FILE *f = rp->f;
  char enc[1024], title[256];
  qt__dash_urlenc(name, enc, sizeof enc);
  snprintf(title, sizeof title, "qtune: trial %lld of %.128s", want, name);
  qt__dash_head(f, rq, "trial", title);
  fprintf(f, "<h1>Trial #<span id=\"qt-trial-number\">%lld</span> of <a id=\"qt-trial-study\" "
             "href=\"/study?name=%s\">", want, enc);
  qt__report_html_text(f, name);
  fprintf(f, "</a></h1>\n<dl id=\"qt-trial\"><dt>state</dt><dd id=\"qt-trial-state\">%s</dd>"
             "<dt>",
          qt_trial_state_name(ti.state));
  qt__report_html_text(f, qt_study_goal(st)->metric);
  fprintf(f, "</dt><dd id=\"qt-trial-objective\">%.6g</dd><dt>feasible</dt><dd>%s</dd>", ti.objective,
          ti.feasible ? "yes" : "no");
  if (ti.error) {
    fprintf(f, "<dt>error</dt><dd id=\"qt-trial-error\">");
    qt__report_html_text(f, ti.error);
    fprintf(f, "</dd>");
  }
  fprintf(f, "</dl>\n<h2>Parameters</h2>\n");
  kv_table(f, "qt-trial-params", ti.params_json);
  fprintf(f, "<h2>Metrics</h2>\n");
  kv_table(f, "qt-trial-metrics", ti.metrics_json);
  qt__dash_foot(f);
  qt_study_free(st);
}

const qt__dash_page qt__dash_trial = {"GET", "/trial", serve};
