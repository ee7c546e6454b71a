/* The studies page (GET /) and its data (GET /api/studies): every study of
 * the storage with its strategy, market, creation time, trials, best value
 * and state (running while some trial runs).  The table's cells are
 * formatted here once; dash.js rebuilds the table from the same JSON. */
#include "report/dash_int.h"

#include "qtune/storage.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const k_cols[] = {"study",   "strategy", "market",  "created", "trials",
                                     "complete", "running", "best",    "objective", "state"};
#define N_COLS (sizeof k_cols / sizeof k_cols[0])

static json_t *str(const char *s) { return json_string(s ? s : "-"); }

/* One row {"name", "running", "cells": [text per column]} of study rec. */
static json_t *row_of(const qt__dash_req *rq, const qt_study_rec *rec, qt_err *err) {
  qt_study *st = NULL;
  if (qt__dash_open_study(rq, rec->name, &st, err)) return NULL;
  size_t c[QT_TRIAL_N_STATES];
  qt_study_counts(st, c);
  json_t *pin = qt__report_obj(qt_study_pinned(st)), *cells = json_array(),
         *cfg = qt__report_obj(qt_study_config_json(st)), *user = json_object_get(cfg, "user");
  json_t *row = json_pack("{s:s,s:b,s:o}", "name", rec->name, "running", c[QT_TRIAL_RUNNING] > 0,
                          "cells", cells);
  char b[64];
  json_array_append_new(cells, json_string(rec->name));
  /* a strategy, else what the study tunes instead: a function or a command */
  const char *what = json_string_value(json_object_get(pin, "strategy"));
  if (!what) what = json_string_value(json_object_get(user, "function"));
  if (!what) what = json_string_value(json_object_get(user, "objective_cmd"));
  json_array_append_new(cells, str(what));
  const char *sym = json_string_value(json_object_get(pin, "symbol"));
  if (!sym) sym = json_string_value(json_object_get(user, "symbol"));
  json_array_append_new(cells, str(sym));
  json_array_append_new(cells, json_string(qt_time_format(rec->created_ms, b, sizeof b)));
  snprintf(b, sizeof b, "%zu", qt_study_n_trials(st));
  json_array_append_new(cells, json_string(b));
  snprintf(b, sizeof b, "%zu", c[QT_TRIAL_COMPLETE]);
  json_array_append_new(cells, json_string(b));
  snprintf(b, sizeof b, "%zu", c[QT_TRIAL_RUNNING]);
  json_array_append_new(cells, json_string(b));
  long best = qt_study_best(st);
  qt_trial_info ti;
  if (best >= 0) {
    qt_study_trial_info(st, (size_t)best, &ti);
    snprintf(b, sizeof b, "%.6g (#%lld)", ti.objective, (long long)ti.number);
  } else {
    snprintf(b, sizeof b, "-");
  }
  json_array_append_new(cells, json_string(b));
  const qt_goal *g = qt_study_goal(st);
  snprintf(b, sizeof b, "%.40s (%s)", g->metric, g->maximize ? "max" : "min");
  json_array_append_new(cells, json_string(b));
  json_array_append_new(cells, json_string(c[QT_TRIAL_RUNNING] ? "running" : "idle"));
  json_decref(pin);
  json_decref(cfg);
  qt_study_free(st);
  if (!row || json_array_size(cells) != N_COLS) {
    json_decref(row);
    qt_err_set(err, QT_ENOMEM, "dashboard: out of memory");
    return NULL;
  }
  return row;
}

/* {"columns": [...], "studies": [row...]}, newest study first. */
static int studies_json(const qt__dash_req *rq, json_t **out, qt_err *err) {
  *out = NULL;
  qt_storage s;
  qt_study_rec *recs = NULL;
  size_t n = 0;
  int rc = qt_storage_open(qt__dash_storage_url(rq->d), &s, err);
  if (rc) return rc;
  json_t *o = json_object(), *cols = json_array(), *rows = json_array();
  if (!o || !cols || !rows) {
    json_decref(cols);
    json_decref(rows);
    rc = qt_err_set(err, QT_ENOMEM, "dashboard: out of memory");
    goto fail;
  }
  json_object_set_new(o, "columns", cols);
  json_object_set_new(o, "studies", rows);
  for (size_t k = 0; k < N_COLS; k++) json_array_append_new(cols, json_string(k_cols[k]));
  if ((rc = s.vt->study_list(s.self, &recs, &n, err))) goto fail;
  for (size_t i = 0; i < n; i++) {
    json_t *r = row_of(rq, &recs[i], err);
    if (!r) {
      rc = err && err->code ? err->code : QT_ENOMEM;
      goto fail;
    }
    json_array_append_new(rows, r);
  }
  *out = o;
  o = NULL;
fail:
  json_decref(o);
  for (size_t i = 0; i < n; i++) qt_study_rec_fini(&recs[i]);
  qt_free(recs);
  qt_storage_close(&s);
  return rc;
}

static void serve_api(const qt__dash_req *rq, qt__dash_reply *rp) {
  qt__dash_cached_api(rq, rp, "studies", studies_json);
}

static void serve_page(const qt__dash_req *rq, qt__dash_reply *rp) {
  qt_err e;
  qt_err_clear(&e);
  /* the list the API answered within the cache period, else a fresh read
   * (which the API's next poll then reuses) */
  json_t *j = qt__dash_cache_json(rq, "studies");
  if (!j) {
    if (studies_json(rq, &j, &e)) {
      qt__dash_fail(rp, 500, "%s", e.msg);
      return;
    }
    char *txt = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (txt) qt__dash_cache_put(rq, "studies", txt, strlen(txt));
    free(txt);
  }
  FILE *f = rp->f;
  json_t *rows = json_object_get(j, "studies"), *row, *cell;
  size_t i, k;
  qt__dash_head(f, rq, "studies", "qtune: studies");
  fprintf(f, "<h1>Studies</h1><p class=\"note\"><span id=\"qt-n-studies\">%zu</span> studies in "
             "the storage; this list re-reads it while open.</p>\n<table id=\"qt-studies\" "
             "class=\"list\"><thead><tr>",
          json_array_size(rows));
  for (k = 0; k < N_COLS; k++) fprintf(f, "<th>%s</th>", k_cols[k]);
  fprintf(f, "</tr></thead><tbody>\n");
  json_array_foreach(rows, i, row) {
    char enc[1024];
    qt__dash_urlenc(json_string_value(json_object_get(row, "name")), enc, sizeof enc);
    fprintf(f, "<tr>");
    json_array_foreach(json_object_get(row, "cells"), k, cell) {
      const char *t = json_string_value(cell);
      if (k == 0) {
        fprintf(f, "<td><a href=\"/study?name=%s\">", enc);
        qt__report_html_text(f, t);
        fprintf(f, "</a></td>");
      } else {
        fprintf(f, "<td%s>", !strcmp(t, "running") ? " class=\"state-running\"" : "");
        qt__report_html_text(f, t);
        fprintf(f, "</td>");
      }
    }
    fprintf(f, "</tr>\n");
  }
  fprintf(f, "</tbody></table>\n");
  qt__dash_foot(f);
  json_decref(j);
}

const qt__dash_page qt__dash_studies = {"GET", "/", serve_page};
const qt__dash_page qt__dash_studies_api = {"GET", "/api/studies", serve_api};
