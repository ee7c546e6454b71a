/* Two studies compared (GET /compare?a=S1&b=S2): their summaries side by side
 * and both best-so-far histories on one chart (drawn by dash.js from the
 * page's JSON).  Without a and b: the two pickers only. */
#include "report/dash_int.h"

#include "qtune/storage.h"

#include <math.h>
#include <string.h>

static void picker(FILE *f, const char *id, const qt_study_rec *recs, size_t n, const char *sel) {
  fprintf(f, "<select name=\"%s\" id=\"qt-compare-%s\">", id, id);
  for (size_t i = 0; i < n; i++) {
    fprintf(f, "<option%s value=\"", sel && !strcmp(sel, recs[i].name) ? " selected" : "");
    qt__report_html_text(f, recs[i].name);
    fprintf(f, "\">");
    qt__report_html_text(f, recs[i].name);
    fprintf(f, "</option>");
  }
  fprintf(f, "</select>");
}

/* {"name", "objective", "history": [[number, best so far]...]} of a study
 * and its summary row into the table. */
static json_t *side(FILE *f, const qt_study *st, const json_t *data) {
  size_t c[QT_TRIAL_N_STATES];
  qt_study_counts(st, c);
  json_t *hist = json_array(), *r;
  size_t i;
  json_array_foreach(json_object_get(data, "trials"), i, r) {
    json_t *bsf = json_array_get(r, 3);
    if (json_is_number(bsf))
      json_array_append_new(hist, json_pack("[O,O]", json_array_get(r, 0), bsf));
  }
  fprintf(f, "<tr><td>");
  qt__report_html_text(f, qt_study_name(st));
  fprintf(f, "</td><td>%zu</td><td>%zu</td><td>", qt_study_n_trials(st), c[QT_TRIAL_COMPLETE]);
  qt__report_html_text(f, json_string_value(json_object_get(data, "best_text")));
  fprintf(f, "</td><td>");
  qt__report_html_text(f, qt_study_goal(st)->metric);
  fprintf(f, " (%s)</td></tr>\n", qt_study_goal(st)->maximize ? "max" : "min");
  return json_pack("{s:s,s:s,s:o}", "name", qt_study_name(st), "objective",
                   qt_study_goal(st)->metric, "history", hist);
}

static void serve(const qt__dash_req *rq, qt__dash_reply *rp) {
  const char *a = qt__dash_arg(rq, "a"), *b = qt__dash_arg(rq, "b");
  const char *names[2] = {a, b};
  qt_err e;
  qt_err_clear(&e);
  qt_storage s;
  qt_study_rec *recs = NULL;
  size_t n = 0;
  qt_study *st[2] = {NULL, NULL};
  json_t *sides = json_array();
  char *js = NULL, *safe = NULL;
  if (qt_storage_open(qt__dash_storage_url(rq->d), &s, &e)) {
    qt__dash_fail(rp, 500, "%s", e.msg);
    json_decref(sides);
    return;
  }
  if (s.vt->study_list(s.self, &recs, &n, &e)) {
    qt__dash_fail(rp, 500, "%s", e.msg);
    goto done;
  }
  for (int k = 0; k < 2 && a && b; k++) {
    int rc = qt__dash_open_study(rq, names[k], &st[k], &e);
    if (rc == QT_ENOTFOUND) {
      qt__dash_fail(rp, 404, "no study named '%s'", names[k]);
      goto done;
    } else if (rc) {
      qt__dash_fail(rp, 500, "%s", e.msg);
      goto done;
    }
  }
  FILE *f = rp->f;
  qt__dash_head(f, rq, "compare", "qtune: compare studies");
  fprintf(f, "<h1>Compare two studies</h1><form method=\"get\" action=\"/compare\">a ");
  picker(f, "a", recs, n, a);
  fprintf(f, " b ");
  picker(f, "b", recs, n, b);
  fprintf(f, " <button type=\"submit\">compare</button></form>\n");
  if (st[0] && st[1]) {
    fprintf(f, "<table id=\"qt-compare\" class=\"list\"><tr><th>study</th><th>trials</th>"
               "<th>complete</th><th>best</th><th>objective</th></tr>\n");
    qt_report_opts o = qt_report_opts_default();
    o.max_points = qt__dash_max_points(rq->d);
    for (int k = 0; k < 2; k++) {
      json_t *data = NULL;
      if (qt__report_study_json(st[k], &o, &data, &e)) {
        qt__dash_fail(rp, 500, "%s", e.msg);
        goto done;
      }
      json_array_append_new(sides, side(f, st[k], data));
      json_decref(data);
    }
    fprintf(f, "</table>\n<h2>Best so far</h2><div class=\"chart\" id=\"qt-chart-compare\"></div>\n");
    size_t len = 0, cap;
    if (!(js = json_dumps(sides, JSON_COMPACT | JSON_REAL_PRECISION(10))) ||
        !(safe = qt_malloc(cap = strlen(js) * 6 + 1)) ||
        qt_report_script_json(js, safe, cap, &len, &e)) {
      qt__dash_fail(rp, 500, "out of memory");
      goto done;
    }
    fprintf(f, "<script id=\"qt-compare-data\" type=\"application/json\">%s</script>\n"
               "<script src=\"/assets/echarts.min.js\"></script>\n", safe);
  }
  qt__dash_foot(f);
done:
  free(js);
  qt_free(safe);
  json_decref(sides);
  qt_study_free(st[0]);
  qt_study_free(st[1]);
  for (size_t i = 0; i < n; i++) qt_study_rec_fini(&recs[i]);
  qt_free(recs);
  qt_storage_close(&s);
}

const qt__dash_page qt__dash_compare = {"GET", "/compare", serve};
