/* The validation section of a study's dashboard page, where the study has
 * results: the holdout table (qt_holdout_load: the "holdout" key its
 * optimize --holdout stored in the study's config), the walk-forward window
 * studies NAME/wNN (their trials and best), and the promotion gate's
 * verdicts (qt_gate_list) with the checks of the latest.  Everything is read
 * through the storage and validate APIs; a study with none of them gets no
 * section. */
#include "report/dash_int.h"

#include "qtune/validate.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HOLDOUT_CAP (1u << 20) /* the holdout JSON a page shows: at most 1 MiB */

static void text(FILE *f, const char *s) { qt__report_html_text(f, s ? s : "-"); }

static void num_cell(FILE *f, const json_t *v) {
  if (json_is_number(v)) fprintf(f, "<td>%.4g</td>", json_number_value(v));
  else fprintf(f, "<td>-</td>");
}

/* The holdout: split, the best trial's metrics in and out of sample, the
 * rank correlation and the top trials.  0 when the study has none. */
static int holdout_html(FILE *f, const qt_study *st, qt_err *err) {
  char *buf = qt_malloc(HOLDOUT_CAP);
  if (!buf) return qt_err_set(err, QT_ENOMEM, "holdout: out of memory");
  qt_err e;
  int rc = qt_holdout_load(st, buf, HOLDOUT_CAP, &e), shown = 0;
  json_t *h = rc ? NULL : json_loads(buf, 0, NULL);
  qt_free(buf);
  json_t *spl = json_object_get(h, "split"), *trials = json_object_get(h, "trials");
  if (rc == QT_ENOTFOUND || (!rc && (!json_is_object(spl) || !json_array_size(trials)))) {
    json_decref(h);
    return 0;
  }
  if (rc) return qt_err_set(err, rc, "%s", e.msg);
  json_t *best = json_array_get(trials, 0), *bi = json_object_get(best, "is"),
         *bo = json_object_get(best, "oos");
  fprintf(f, "<h3>Holdout</h3>\n<p id=\"qt-val-split\">in sample ");
  text(f, json_string_value(json_object_get(spl, "from")));
  fprintf(f, " .. ");
  text(f, json_string_value(json_object_get(spl, "in_last")));
  fprintf(f, " (%lld bars), out of sample ", (long long)json_integer_value(json_object_get(spl, "in_bars")));
  text(f, json_string_value(json_object_get(spl, "split")));
  fprintf(f, " .. ");
  text(f, json_string_value(json_object_get(spl, "to")));
  fprintf(f, " (%lld bars)</p>\n", (long long)json_integer_value(json_object_get(spl, "oos_bars")));
  fprintf(f, "<p>Best trial <span id=\"qt-val-best\">%lld</span>; out-of-sample constraints "
             "<span id=\"qt-val-oos-ok\">%s</span>",
          (long long)json_integer_value(json_object_get(best, "number")),
          json_is_true(json_object_get(best, "oos_feasible")) ? "hold" : "fail");
  const char *why = json_string_value(json_object_get(best, "oos_reason"));
  if (why) {
    fprintf(f, ": ");
    text(f, why);
  }
  json_t *rho = json_object_get(h, "spearman");
  fprintf(f, "; in/out rank correlation (Spearman) of the top %zu: <span id=\"qt-val-spearman\">",
          json_array_size(trials));
  if (json_is_number(rho)) fprintf(f, "%.4g", json_number_value(rho)); /* as qtune analyze */
  else fprintf(f, "-");
  fprintf(f, "</span></p>\n<table id=\"qt-val-holdout\" class=\"list\"><tr><th>metric</th>"
             "<th>in sample</th><th>out of sample</th><th>change</th></tr>\n");
  const char *key;
  json_t *v;
  json_object_foreach(bi, key, v) {
    if (!strcmp(key, "violations")) continue;
    json_t *o = json_object_get(bo, key);
    fprintf(f, "<tr id=\"qt-val-m-");
    text(f, key);
    fprintf(f, "\"><td>");
    text(f, key);
    fprintf(f, "</td>");
    num_cell(f, v);
    num_cell(f, o);
    if (json_is_number(v) && json_is_number(o))
      fprintf(f, "<td>%.4g</td></tr>\n", json_number_value(o) - json_number_value(v));
    else fprintf(f, "<td>-</td></tr>\n");
  }
  fprintf(f, "</table>\n<table id=\"qt-val-holdout-top\" class=\"list\"><tr><th>rank</th>"
             "<th>trial</th><th>in sample</th><th>out of sample</th><th>out-of-sample "
             "constraints</th></tr>\n");
  for (size_t k = 0; k < json_array_size(trials); k++) {
    json_t *t = json_array_get(trials, k);
    fprintf(f, "<tr><td>%zu</td><td>%lld</td>", k + 1,
            (long long)json_integer_value(json_object_get(t, "number")));
    num_cell(f, json_object_get(t, "is_objective"));
    num_cell(f, json_object_get(t, "oos_objective"));
    fprintf(f, "<td>%s</td></tr>\n", json_is_true(json_object_get(t, "oos_feasible")) ? "hold" : "fail");
  }
  fprintf(f, "</table>\n");
  shown = 1;
  json_decref(h);
  return shown;
}

/* 1 when name is prefix + "/w" + digits. */
static int is_window_of(const char *name, const char *prefix) {
  size_t n = strlen(prefix);
  if (strncmp(name, prefix, n) || name[n] != '/' || name[n + 1] != 'w' || !name[n + 2]) return 0;
  for (const char *p = name + n + 2; *p; p++)
    if (!isdigit((unsigned char)*p)) return 0;
  return 1;
}

/* Window order: w2 before w10 (a longer name, a later window). */
static int by_window(const void *a, const void *b) {
  const char *x = ((const qt_study_rec *)a)->name, *y = ((const qt_study_rec *)b)->name;
  size_t lx = strlen(x), ly = strlen(y);
  return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

/* The window studies NAME/wNN of a walk-forward named like this study:
 * trials and best of each.  0 when there are none. */
static int windows_html(FILE *f, const qt__dash_req *rq, qt_storage *s, const char *name,
                        qt_err *err) {
  qt_study_rec *recs = NULL;
  size_t n = 0, shown = 0;
  /* a window study's page lists its siblings: the walk-forward's name is
   * its own without "/wNN" */
  char prefix[128];
  snprintf(prefix, sizeof prefix, "%s", name);
  char *slash = strrchr(prefix, '/');
  if (slash) {
    *slash = 0;
    if (!is_window_of(name, prefix)) *slash = '/';
  }
  int rc = s->vt->study_list(s->self, &recs, &n, err);
  if (rc) return rc;
  if (n) qsort(recs, n, sizeof *recs, by_window);
  for (size_t i = 0; i < n && rc == QT_OK; i++) {
    if (!is_window_of(recs[i].name, prefix)) continue;
    qt_study *w = NULL;
    if ((rc = qt__dash_open_study(rq, recs[i].name, &w, err))) break;
    qt__report_row *rows = NULL;
    size_t n_rows = 0;
    if ((rc = qt__report_rank(w, &rows, &n_rows, err))) {
      qt_study_free(w);
      break;
    }
    if (!shown++)
      fprintf(f, "<h3>Walk-forward windows</h3>\n<table id=\"qt-val-windows\" class=\"list\">"
                 "<tr><th>window study</th><th>trials</th><th>best trial</th><th>best ");
    if (shown == 1) {
      text(f, qt_study_goal(w)->metric);
      fprintf(f, "</th><th>feasible</th></tr>\n");
    }
    char enc[512];
    qt__dash_urlenc(recs[i].name, enc, sizeof enc);
    fprintf(f, "<tr><td><a href=\"/study?name=%s\">", enc);
    text(f, recs[i].name);
    fprintf(f, "</a></td><td>%zu</td>", qt_study_n_trials(w));
    if (n_rows) {
      qt_trial_info ti = {0};
      qt_study_trial_info(w, rows[0].idx, &ti);
      fprintf(f, "<td>%" PRId64 "</td><td>%.6g</td><td>%s</td></tr>\n", (int64_t)ti.number,
              rows[0].obj, rows[0].feasible ? "yes" : "no");
    } else {
      fprintf(f, "<td>-</td><td>-</td><td>-</td></tr>\n");
    }
    qt_free(rows);
    qt_study_free(w);
  }
  if (shown) fprintf(f, "</table>\n");
  for (size_t i = 0; i < n; i++) qt_study_rec_fini(&recs[i]);
  qt_free(recs);
  return rc ? rc : shown > 0;
}

/* The gate's verdicts, newest first, and the checks of the latest.  0 when
 * the study has none. */
static int gates_html(FILE *f, qt_storage *s, int64_t study_id, qt_err *err) {
  qt_gate_rec *v = NULL;
  size_t n = 0;
  char stage[16];
  int rc = qt_gate_list(s, study_id, &v, &n, err);
  if (!rc && n) rc = qt_gate_stage(s, study_id, stage, sizeof stage, err);
  if (rc || !n) {
    qt_gate_recs_free(v, n);
    return rc;
  }
  fprintf(f, "<h3>Promotion gate</h3>\n<p>Stage: <span id=\"qt-val-stage\">");
  text(f, stage);
  fprintf(f, "</span></p>\n<table id=\"qt-val-gates\" class=\"list\"><tr><th>at</th>"
             "<th>verdict</th><th>checks passed</th><th>stage</th><th>baseline</th></tr>\n");
  for (size_t k = n; k-- > 0;) {
    json_t *r = json_loads(v[k].report_json ? v[k].report_json : "", 0, NULL),
           *checks = json_object_get(r, "checks");
    size_t n_pass = 0;
    for (size_t c = 0; c < json_array_size(checks); c++)
      n_pass += json_is_true(json_object_get(json_array_get(checks, c), "pass"));
    char at[40];
    fprintf(f, "<tr><td>%s</td><td class=\"%s\"%s>%s</td><td>%zu of %zu</td><td>",
            qt_time_format(v[k].at_ms, at, sizeof at), v[k].pass ? "qt-pass" : "qt-fail",
            k == n - 1 ? " id=\"qt-val-verdict\"" : "", v[k].pass ? "PASS" : "FAIL", n_pass,
            json_array_size(checks));
    text(f, v[k].stage_from);
    fprintf(f, " -&gt; ");
    text(f, v[k].stage_to);
    fprintf(f, "</td><td>");
    text(f, json_string_value(json_object_get(r, "baseline")));
    fprintf(f, "</td></tr>\n");
    if (k == n - 1 && json_array_size(checks)) { /* the latest: its checks below */
      fprintf(f, "<tr><td colspan=\"5\"><table id=\"qt-val-checks\" class=\"list\"><tr>"
                 "<th>check</th><th>result</th><th>detail</th></tr>\n");
      for (size_t c = 0; c < json_array_size(checks); c++) {
        json_t *ck = json_array_get(checks, c);
        fprintf(f, "<tr><td>");
        text(f, json_string_value(json_object_get(ck, "name")));
        fprintf(f, "</td><td>%s</td><td>", json_is_true(json_object_get(ck, "pass")) ? "pass" : "FAIL");
        text(f, json_string_value(json_object_get(ck, "detail")));
        fprintf(f, "</td></tr>\n");
      }
      fprintf(f, "</table></td></tr>\n");
    }
    json_decref(r);
  }
  fprintf(f, "</table>\n");
  qt_gate_recs_free(v, n);
  return 1;
}

int qt__dash_validation_html(const qt__dash_req *rq, qt_study *st, FILE *f, qt_err *err) {
  char *body = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&body, &len);
  if (!m) return qt_err_set(err, QT_ENOMEM, "validation: out of memory");
  qt_storage *s = qt_study_storage(st);
  qt_study_rec rec = {0};
  int rc = s->vt->study_load(s->self, qt_study_name(st), &rec, err), any = 0, r;
  if (!rc) {
    if ((r = holdout_html(m, st, err)) < 0) rc = r;
    else any += r;
  }
  if (!rc) {
    if ((r = windows_html(m, rq, s, qt_study_name(st), err)) < 0) rc = r;
    else any += r;
  }
  if (!rc) {
    if ((r = gates_html(m, s, rec.id, err)) < 0) rc = r;
    else any += r;
  }
  qt_study_rec_fini(&rec);
  if (fclose(m) && !rc) rc = qt_err_set(err, QT_ENOMEM, "validation: out of memory");
  if (!rc && any) {
    fprintf(f, "<section id=\"qt-validation\"><h2>Validation</h2>\n");
    fwrite(body, 1, len, f);
    fprintf(f, "</section>\n");
  }
  free(body);
  return rc;
}
