/* The auto-tuner's pages: GET /tune (pending adjustments newest first with
 * their context, reason, clamped flag and backtest evidence; the reviewed
 * history; each strategy's effective parameters; a 7-day summary of signal
 * outcomes per strategy) and POST /tune/review (approve or revert one
 * adjustment through qt_adjustment_review, the call `qtune tune
 * approve|revert` makes: of two reviewers at once one wins, the other is
 * told who did what).  Everything is read and written through the storage
 * API; the server (dash.c) has checked the session and CSRF token. */
#include "report/dash_int.h"

#include "qtune/tune.h"

#include <inttypes.h>
#include <math.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS 86400000LL
#define MAX_REVIEWER 63 /* qt_adjustment.reviewed_by holds 63 bytes */

/* The tuner's rule mappings as `qtune tune` sees them: the built-ins, over
 * them the YAML file QTUNE_TUNE_CONFIG names (when set). */
static int load_config(qt_tune_config *c, qt_err *e) {
  qt_tune_config_default(c);
  const char *p = getenv("QTUNE_TUNE_CONFIG");
  return p && *p ? qt_tune_config_load(c, p, e) : QT_OK;
}

static double scale_of(const qt_tune_config *c, const char *strategy, const char *param) {
  const qt_tune_strategy *ts = qt_tune_config_find(c, strategy);
  for (size_t k = 0; ts && k < ts->n_params; k++)
    if (!strcmp(ts->params[k].name, param)) return ts->params[k].display_scale;
  return 1;
}

static void text(FILE *f, const char *s) { qt__report_html_text(f, s); }

static void td_time(FILE *f, int64_t ms) {
  char b[40];
  fprintf(f, "<td>%s</td>", ms ? qt_time_format(ms, b, sizeof b) : "-");
}

static void badge(FILE *f, const char *pre, int64_t id, int status) {
  fprintf(f, "<span class=\"badge badge-%s\" id=\"qt-%s-%" PRId64 "-status\">%s</span>",
          qt_adj_status_name(status), pre, id,
          status == QT_ADJ_PENDING    ? "PENDING"
          : status == QT_ADJ_APPROVED ? "APPROVED"
          : status == QT_ADJ_APPLIED  ? "APPLIED"
                                      : "REVERTED");
}

/* One approve or revert form of adjustment id. */
static void review_form(FILE *f, const qt__dash_req *rq, int64_t id, const char *action) {
  fprintf(f, "<form method=\"post\" action=\"/tune/review\" class=\"qt-%s\" data-id=\"%" PRId64
             "\"><input type=\"hidden\" name=\"csrf\" value=\"%s\"><input type=\"hidden\" "
             "name=\"id\" value=\"%" PRId64 "\"><input type=\"hidden\" name=\"action\" "
             "value=\"%s\"><input name=\"reviewer\" size=\"8\" maxlength=\"%d\" "
             "placeholder=\"reviewer\" aria-label=\"reviewer\"><button type=\"submit\">%s</button>"
             "</form>",
          action, id, rq->csrf, id, action, MAX_REVIEWER, action[0] == 'a' ? "Approve" : "Revert");
}

static void adj_change(FILE *f, const qt_tune_config *c, const qt_adjustment *x, const char *pre) {
  double sc = scale_of(c, x->strategy, x->parameter);
  fprintf(f, "<td>");
  text(f, x->strategy);
  fprintf(f, "</td><td>");
  text(f, x->parameter);
  fprintf(f, "</td><td class=\"qt-change\" id=\"qt-%s-%" PRId64 "-change\">%g -&gt; %g</td>", pre,
          x->id, x->old_value * sc, x->new_value * sc);
}

static void pending_table(FILE *f, const qt__dash_req *rq, const qt_tune_config *c,
                          const qt_adjustment *v, size_t n) {
  size_t n_pending = 0;
  for (size_t k = 0; k < n; k++) n_pending += v[k].status == QT_ADJ_PENDING;
  fprintf(f, "<h2>Pending adjustments (<span id=\"qt-n-pending\">%zu</span>)</h2>\n", n_pending);
  fprintf(f, "<table id=\"qt-tune-pending\" class=\"list\"><tr><th>id</th><th>created</th>"
             "<th>status</th><th>strategy</th><th>parameter</th><th>old -&gt; new</th>"
             "<th>clamped</th><th>reason</th><th>trigger</th><th>context (7 days)</th>"
             "<th>evidence</th><th>review</th></tr>\n");
  for (size_t k = 0; k < n; k++) {
    const qt_adjustment *x = &v[k];
    if (x->status != QT_ADJ_PENDING) continue;
    char ev[700];
    qt_tune_evidence_text(x->evidence_json, ev, sizeof ev);
    fprintf(f, "<tr data-id=\"%" PRId64 "\"><td>%" PRId64 "</td>", x->id, x->id);
    td_time(f, x->created_ms);
    fprintf(f, "<td>");
    badge(f, "adj", x->id, x->status);
    fprintf(f, "</td>");
    adj_change(f, c, x, "adj");
    fprintf(f, "<td id=\"qt-adj-%" PRId64 "-clamped\">%s</td><td id=\"qt-adj-%" PRId64 "-reason\">",
            x->id, x->clamped ? "yes" : "no", x->id);
    text(f, x->reason);
    fprintf(f, "</td><td>");
    text(f, x->metric_trigger);
    fprintf(f, "</td><td id=\"qt-adj-%" PRId64 "-context\">%" PRId64 " signals, %.1f%% WR, %s$%.2f "
               "total P&amp;L, %.2f%% avg P&amp;L</td><td id=\"qt-adj-%" PRId64 "-evidence\">",
            x->id, x->total_signals_7d, x->win_rate_7d, x->total_pnl_7d < 0 ? "-" : "+",
            fabs(x->total_pnl_7d), x->avg_pnl_7d, x->id);
    text(f, ev[0] ? ev : "none");
    fprintf(f, "</td><td class=\"qt-actions\">");
    review_form(f, rq, x->id, "approve");
    review_form(f, rq, x->id, "revert");
    fprintf(f, "</td></tr>\n");
  }
  fprintf(f, "</table>\n");
  if (!n_pending) fprintf(f, "<p class=\"note\">No adjustment waits for review.</p>\n");
}

static void history_table(FILE *f, const qt_tune_config *c, const qt_adjustment *v, size_t n) {
  fprintf(f, "<h2>History</h2>\n<table id=\"qt-tune-history\" class=\"list\"><tr><th>id</th>"
             "<th>created</th><th>status</th><th>strategy</th><th>parameter</th>"
             "<th>old -&gt; new</th><th>reason</th><th>reviewed by</th><th>reviewed at</th>"
             "<th>applied at</th></tr>\n");
  for (size_t k = 0; k < n; k++) {
    const qt_adjustment *x = &v[k];
    if (x->status == QT_ADJ_PENDING) continue;
    fprintf(f, "<tr data-id=\"%" PRId64 "\"><td>%" PRId64 "</td>", x->id, x->id);
    td_time(f, x->created_ms);
    fprintf(f, "<td>");
    badge(f, "hist", x->id, x->status);
    fprintf(f, "</td>");
    adj_change(f, c, x, "hist");
    fprintf(f, "<td>");
    text(f, x->reason);
    fprintf(f, "</td><td id=\"qt-hist-%" PRId64 "-reviewer\">", x->id);
    text(f, x->reviewed_by[0] ? x->reviewed_by : "-");
    fprintf(f, "</td>");
    td_time(f, x->reviewed_ms);
    td_time(f, x->applied_ms);
    fprintf(f, "</tr>\n");
  }
  fprintf(f, "</table>\n");
}

/* Each mapped strategy's parameters: default and effective (defaults plus
 * every applied adjustment, qt_tune_effective). */
static int effective_table(FILE *f, qt_storage *s, const qt_tune_config *c, qt_err *e) {
  fprintf(f, "<h2>Effective parameters</h2>\n<table id=\"qt-tune-effective\" class=\"list\">"
             "<tr><th>strategy</th><th>parameter</th><th>default</th><th>effective</th>"
             "<th>bounds</th></tr>\n");
  for (size_t i = 0; i < c->n_strategies; i++) {
    const qt_tune_strategy *ts = &c->strategies[i];
    double val[QT_TUNE_MAX_PARAMS];
    int rc = qt_tune_effective(s, ts, val, e);
    if (rc) return rc;
    for (size_t k = 0; k < ts->n_params; k++) {
      const qt_tune_param *p = &ts->params[k];
      double sc = p->display_scale;
      fprintf(f, "<tr><td>");
      text(f, ts->name);
      fprintf(f, "</td><td>");
      text(f, p->name);
      fprintf(f, "</td><td>%g</td><td class=\"%s\" id=\"qt-eff-", p->def * sc,
              val[k] != p->def ? "qt-moved" : "");
      text(f, ts->name);
      fputc('-', f);
      text(f, p->name);
      fprintf(f, "\">%g</td><td>%g .. %g</td></tr>\n", val[k] * sc, p->lo * sc, p->hi * sc);
    }
  }
  fprintf(f, "</table>\n");
  return QT_OK;
}

static int by_strategy(const void *a, const void *b) {
  return strcmp(((const qt_outcome *)a)->strategy, ((const qt_outcome *)b)->strategy);
}

/* The last 7 days of signal outcomes, per strategy (qt_tune_stats_compute,
 * the tuner's own statistics). */
static int outcomes_table(FILE *f, qt_storage *s, int64_t now_ms, qt_err *e) {
  qt_outcome *v = NULL;
  size_t n = 0;
  int rc = qt_outcomes_list(s, NULL, now_ms - 7 * DAY_MS, now_ms + 1, &v, &n, e);
  if (rc) return rc;
  qsort(v, n, sizeof *v, by_strategy); /* groups by strategy (the order within does not matter) */
  fprintf(f, "<h2>Signal outcomes, last 7 days</h2>\n<table id=\"qt-tune-outcomes\" class=\"list\">"
             "<tr><th>strategy</th><th>signals</th><th>win rate</th><th>total P&amp;L</th>"
             "<th>avg P&amp;L</th><th>expired</th></tr>\n");
  size_t n_rows = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && !strcmp(v[j].strategy, v[i].strategy)) j++;
    qt_tune_stats st;
    qt_tune_stats_compute(v + i, j - i, &st);
    fprintf(f, "<tr id=\"qt-out-%zu\"><td>", n_rows++);
    text(f, v[i].strategy);
    fprintf(f, "</td><td>%" PRId64 "</td><td>%.1f%%</td><td>%s$%.2f</td><td>%.2f%%</td>"
               "<td>%.1f%%</td></tr>\n",
            st.n_signals, st.win_rate_pct, st.total_pnl < 0 ? "-" : "+", fabs(st.total_pnl),
            st.avg_pnl_pct, st.expiry_rate_pct);
    i = j;
  }
  fprintf(f, "</table>\n");
  if (!n) fprintf(f, "<p class=\"note\">No signal outcomes in the last 7 days.</p>\n");
  qt_free(v);
  return QT_OK;
}

static const char k_tune_style[] =
    "<style>.badge{padding:1px 6px;border-radius:3px;font-weight:bold;font-size:.85em}"
    ".badge-pending{background:#fd3;color:#000}.badge-approved{background:#36c;color:#fff}"
    ".badge-applied{background:#393;color:#fff}.badge-reverted{background:#c33;color:#fff}"
    ".qt-actions form{display:inline-block;margin:0 2px}.qt-moved{font-weight:bold}"
    "#qt-tune-pending td,#qt-tune-history td{text-align:left}"
    ".qt-result-ok{color:#063}.qt-result-refused{color:#a00;font-weight:bold}</style>\n";

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void serve_page(const qt__dash_req *rq, qt__dash_reply *rp) {
  qt_err e;
  qt_err_clear(&e);
  qt_tune_config *c = qt_malloc(sizeof *c); /* large: not on a server thread's stack */
  qt_storage s;
  int have_s = 0, rc;
  qt_adjustment *v = NULL;
  size_t n = 0;
  if (!c) {
    qt__dash_fail(rp, 500, "out of memory");
    return;
  }
  if ((rc = load_config(c, &e)) || (rc = qt_storage_open(qt__dash_storage_url(rq->d), &s, &e)))
    goto fail;
  have_s = 1;
  if ((rc = qt_adjustments_list(&s, NULL, 0, &v, &n, &e))) goto fail;
  FILE *f = rp->f;
  qt__dash_head(f, rq, "tune", "qtune: auto-tuner");
  fputs(k_tune_style, f);
  fprintf(f, "<h1>Auto-tuner</h1>\n<p class=\"note\">Approve and Revert go through the same "
             "transitions as <code>qtune tune approve|revert</code>; the next <code>qtune tune "
             "run</code> (or <code>tune apply</code>) applies approved adjustments.</p>\n");
  pending_table(f, rq, c, v, n);
  history_table(f, c, v, n);
  if ((rc = effective_table(f, &s, c, &e)) || (rc = outcomes_table(f, &s, wall_ms(), &e))) goto fail;
  qt__dash_foot(f);
fail:
  if (rc) qt__dash_fail(rp, 500, "%s", e.msg);
  qt_free(v);
  if (have_s) qt_storage_close(&s);
  qt_free(c);
}

/* The value of field key of a urlencoded body, decoded, into buf; 1 when
 * present (and fitting), else 0. */
static int form_field(const char *body, const char *key, char *buf, size_t cap) {
  size_t kl = strlen(key);
  for (const char *p = body; p && *p;) {
    const char *amp = strchr(p, '&');
    size_t n = amp ? (size_t)(amp - p) : strlen(p);
    if (n > kl && p[kl] == '=' && !strncmp(p, key, kl) && n - kl - 1 < cap) {
      memcpy(buf, p + kl + 1, n - kl - 1);
      buf[n - kl - 1] = 0;
      for (char *q = buf; *q; q++)
        if (*q == '+') *q = ' ';
      MHD_http_unescape(buf);
      return 1;
    }
    p = amp ? amp + 1 : p + n;
  }
  return 0;
}

/* A small page with the outcome of a review and a link back to /tune. */
static void result_page(const qt__dash_req *rq, qt__dash_reply *rp, int status, int ok,
                        const char *msg) {
  rp->status = status;
  FILE *f = rp->f;
  qt__dash_head(f, rq, "tune-review", ok ? "qtune: reviewed" : "qtune: review refused");
  fputs(k_tune_style, f);
  fprintf(f, "<h1>Review</h1>\n<p id=\"qt-tune-result\" class=\"%s\">",
          ok ? "qt-result-ok" : "qt-result-refused");
  text(f, msg);
  fprintf(f, "</p>\n<p><a href=\"/tune\">back to the auto-tuner</a></p>\n");
  qt__dash_foot(f);
}

static void serve_review(const qt__dash_req *rq, qt__dash_reply *rp) {
  char id_s[32], action[16], reviewer[256] = "", msg[600];
  int64_t id = 0;
  if (!form_field(rq->body, "id", id_s, sizeof id_s) || qt_parse_i64(id_s, strlen(id_s), &id) ||
      id <= 0) {
    result_page(rq, rp, 400, 0, "refused: the form needs field 'id', an adjustment id (a whole "
                                "number above 0)");
    return;
  }
  if (!form_field(rq->body, "action", action, sizeof action) ||
      (strcmp(action, "approve") && strcmp(action, "revert"))) {
    result_page(rq, rp, 400, 0, "refused: field 'action' must be approve or revert");
    return;
  }
  form_field(rq->body, "reviewer", reviewer, sizeof reviewer);
  if (strlen(reviewer) > MAX_REVIEWER) {
    snprintf(msg, sizeof msg, "refused: field 'reviewer' is over %d bytes", MAX_REVIEWER);
    result_page(rq, rp, 400, 0, msg);
    return;
  }
  if (!reviewer[0]) snprintf(reviewer, sizeof reviewer, "dashboard"); /* the session has no name */
  int approve = action[0] == 'a';
  qt_err e;
  qt_err_clear(&e);
  qt_storage s;
  int rc = qt_storage_open(qt__dash_storage_url(rq->d), &s, &e);
  if (rc) {
    result_page(rq, rp, 500, 0, e.msg);
    return;
  }
  rc = qt_adjustment_review(&s, id, approve, reviewer, 0, &e);
  qt_adjustment x;
  qt_err e2;
  if (!rc) {
    snprintf(msg, sizeof msg, "adjustment %" PRId64 " %s by %s", id,
             approve ? "approved" : "reverted", reviewer);
    result_page(rq, rp, 200, 1, msg);
  } else if (rc == QT_ESTATE && !qt_adjustment_get(&s, id, &x, &e2)) {
    /* another reviewer was first: say who, what and when */
    char at[40];
    snprintf(msg, sizeof msg, "refused: adjustment %" PRId64 " is already %s%s%s%s%s; nothing "
                              "changed",
             id, qt_adj_status_name(x.status), x.reviewed_by[0] ? " by " : "", x.reviewed_by,
             x.reviewed_ms ? " at " : "", x.reviewed_ms ? qt_time_format(x.reviewed_ms, at, sizeof at) : "");
    result_page(rq, rp, 409, 0, msg);
  } else {
    snprintf(msg, sizeof msg, "refused: %s", e.msg);
    result_page(rq, rp, rc == QT_ENOTFOUND ? 404 : rc == QT_ESTATE ? 409 : 500, 0, msg);
  }
  qt_storage_close(&s);
}

const qt__dash_page qt__dash_tune = {"GET", "/tune", serve_page};
const qt__dash_page qt__dash_tune_review = {"POST", "/tune/review", serve_review};
