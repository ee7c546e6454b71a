/* A study's page (GET /study?name=S): the HTML report's page, framed by the
 * dashboard and with its scripts served from /assets, and its data
 * (GET /api/study?name=S) that dash.js polls to redraw the same charts. */
#include "report/dash_int.h"

#include <string.h>

/* The study named by ?name=, opened read-only; NULL after a 400/404 reply. */
static qt_study *open_named(const qt__dash_req *rq, qt__dash_reply *rp) {
  const char *name = qt__dash_arg(rq, "name");
  if (!name || !*name) {
    qt__dash_fail(rp, 400, "%s needs ?name=STUDY", rq->path);
    return NULL;
  }
  qt_err e;
  qt_err_clear(&e);
  qt_study *st = NULL;
  int rc = qt__dash_open_study(rq, name, &st, &e);
  if (rc == QT_ENOTFOUND) qt__dash_fail(rp, 404, "no study named '%s'", name);
  else if (rc) qt__dash_fail(rp, 500, "%s", e.msg);
  return rc ? NULL : st;
}

static qt_report_opts opts_of(const qt__dash_req *rq) {
  qt_report_opts o = qt_report_opts_default();
  o.max_points = qt__dash_max_points(rq->d);
  return o;
}

static void serve_api(const qt__dash_req *rq, qt__dash_reply *rp) {
  char key[512];
  const char *name = qt__dash_arg(rq, "name");
  /* a name too long for the key is not cached (a cut key could be another's) */
  int cacheable = name && strlen(name) + 7 < sizeof key;
  snprintf(key, sizeof key, "study:%s", cacheable ? name : "");
  if (cacheable && qt__dash_cache_get(rq, key, rp)) return;
  qt_study *st = open_named(rq, rp);
  if (!st) return;
  qt_report_opts o = opts_of(rq);
  qt_err e;
  qt_err_clear(&e);
  json_t *j = NULL;
  if (qt__report_study_json(st, &o, &j, &e)) qt__dash_fail(rp, 500, "%s", e.msg);
  else qt__dash_json(rq, rp, j, cacheable ? key : NULL);
  json_decref(j);
  qt_study_free(st);
}

static void serve_page(const qt__dash_req *rq, qt__dash_reply *rp) {
  qt_study *st = open_named(rq, rp);
  if (!st) return;
  static const char *const scripts[] = {"/assets/echarts.min.js", "/assets/report.js",
                                        "/assets/dash.js", NULL};
  char *nav = NULL, head[200];
  size_t nav_len = 0;
  FILE *nf = open_memstream(&nav, &nav_len);
  if (!nf) {
    qt__dash_fail(rp, 500, "out of memory");
    qt_study_free(st);
    return;
  }
  qt__dash_nav(nf, rq, "study");
  int bad = fclose(nf) != 0;
  char *val = NULL;
  size_t val_len = 0;
  FILE *vf = open_memstream(&val, &val_len);
  qt_err ve;
  qt_err_clear(&ve);
  int vrc = vf ? qt__dash_validation_html(rq, st, vf, &ve) : QT_ENOMEM;
  if (vf && fclose(vf)) vrc = QT_ENOMEM;
  snprintf(head, sizeof head, "<meta name=\"qt-csrf\" content=\"%s\"><link rel=\"icon\" href=\"data:,\">", rq->csrf);
  qt__report_page pg = {.style = qt__dash_style, .head_html = head, .nav_html = nav,
                        .script_src = scripts, .extra_html = val};
  qt_report_opts o = opts_of(rq);
  qt_err e;
  qt_err_clear(&e);
  if (bad) qt__dash_fail(rp, 500, "out of memory");
  else if (vrc) qt__dash_fail(rp, 500, "%s", vrc == QT_ENOMEM && !ve.msg[0] ? "out of memory" : ve.msg);
  else if (qt__report_study_page(st, &o, &pg, rp->f, &e)) qt__dash_fail(rp, 500, "%s", e.msg);
  free(nav);
  free(val);
  qt_study_free(st);
}

const qt__dash_page qt__dash_study = {"GET", "/study", serve_page};
const qt__dash_page qt__dash_study_api = {"GET", "/api/study", serve_api};
