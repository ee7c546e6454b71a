/* Shared parts of the study reports: options, ranking, formatting, the
 * constraint-violation counts and the <script>-safe JSON escaping. */
#include "report/report_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

qt_report_opts qt_report_opts_default(void) {
  qt_report_opts o = {.top_n = 10, .max_points = 2000, .max_bars = 2000,
                      .max_candles = 1000, .max_trades = 1000};
  return o;
}

static int cmp_row(const void *a, const void *b, void *ud) {
  const qt__report_row *x = a, *y = b;
  int max = *(const int *)ud;
  if (x->feasible != y->feasible) return y->feasible - x->feasible;
  if (x->obj != y->obj) return (max ? x->obj < y->obj : x->obj > y->obj) ? 1 : -1;
  return x->idx < y->idx ? -1 : 1;
}

int qt__report_rank(const qt_study *st, qt__report_row **out, size_t *out_n, qt_err *err) {
  *out = NULL;
  *out_n = 0;
  size_t n = qt_study_n_trials(st), nr = 0;
  qt__report_row *v = qt_malloc((n ? n : 1) * sizeof *v);
  if (!v) return qt_err_set(err, QT_ENOMEM, "report: ranking %zu trials: out of memory", n);
  for (size_t i = 0; i < n; i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    if (ti.state != QT_TRIAL_COMPLETE || isnan(ti.objective)) continue;
    v[nr++] = (qt__report_row){i, ti.objective, ti.feasible};
  }
  int max = qt_study_goal(st)->maximize;
  qsort_r(v, nr, sizeof *v, cmp_row, &max);
  *out = v;
  *out_n = nr;
  return QT_OK;
}

json_t *qt__report_obj(const char *js) {
  json_t *o = js ? json_loads(js, 0, NULL) : NULL;
  if (o && !json_is_object(o)) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

void qt__report_fmt_value(const json_t *v, char *buf, size_t cap) {
  if (json_is_number(v)) snprintf(buf, cap, "%.6g", json_number_value(v));
  else if (json_is_string(v)) snprintf(buf, cap, "%s", json_string_value(v));
  else if (json_is_boolean(v)) snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
  else snprintf(buf, cap, "-");
}

/* Appends formatted text to buf at *len, never past cap. */
static void cat(char *buf, size_t cap, size_t *len, const char *fmt, ...) QT_PRINTF(4, 5);
static void cat(char *buf, size_t cap, size_t *len, const char *fmt, ...) {
  if (*len >= cap) return;
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(buf + *len, cap - *len, fmt, ap);
  va_end(ap);
  if (k > 0) *len += (size_t)k < cap - *len ? (size_t)k : cap - *len - 1;
}

void qt__report_weights_text(const qt_goal *g, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = 0;
  for (size_t k = 0; k < g->n_terms; k++)
    cat(buf, cap, &len, "%s%s=%.6g", k ? ", " : "", g->terms[k].metric, g->terms[k].weight);
  if (!g->n_terms) cat(buf, cap, &len, "none");
}

static const char *op_text(int op) {
  switch (op) {
  case QT_CMP_GE: return ">=";
  case QT_CMP_LE: return "<=";
  case QT_CMP_GT: return ">";
  default: return "<";
  }
}

void qt__report_constraints_text(const qt_goal *g, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = 0;
  for (size_t k = 0; k < g->n_cons; k++)
    cat(buf, cap, &len, "%s%s %s %.6g", k ? ", " : "", g->cons[k].metric, op_text(g->cons[k].op),
        g->cons[k].bound);
  if (!g->n_cons) cat(buf, cap, &len, "none");
}

void qt__report_violations(const qt_study *st, size_t *counts, size_t *out_any) {
  const qt_goal *g = qt_study_goal(st);
  for (size_t k = 0; k < g->n_cons; k++) counts[k] = 0;
  *out_any = 0;
  for (size_t i = 0; i < qt_study_n_trials(st); i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    /* parsing 100,000 metrics objects took 0.4 s (bench_dashboard): only
     * those that name a violation are parsed (qtune writes the key as is) */
    if (ti.state != QT_TRIAL_COMPLETE || !ti.metrics_json || !strstr(ti.metrics_json, "\"violations\""))
      continue;
    json_t *m = qt__report_obj(ti.metrics_json);
    json_t *vi = json_object_get(m, "violations");
    if (json_object_size(vi)) {
      (*out_any)++;
      for (size_t k = 0; k < g->n_cons; k++)
        if (json_object_get(vi, g->cons[k].metric)) counts[k]++;
    }
    json_decref(m);
  }
}

size_t qt__report_goal_metrics(const qt_goal *g, const char **names, size_t cap) {
  size_t n = 0;
  const char *cand[QT_SCORE_MAX_TERMS + QT_CONSTRAINTS_MAX + 1];
  size_t nc = 0;
  if (strcmp(g->metric, "score")) cand[nc++] = g->metric;
  else
    for (size_t k = 0; k < g->n_terms; k++) cand[nc++] = g->terms[k].metric;
  for (size_t k = 0; k < g->n_cons; k++) cand[nc++] = g->cons[k].metric;
  for (size_t c = 0; c < nc && n < cap; c++) {
    size_t j = 0;
    while (j < n && strcmp(names[j], cand[c])) j++;
    if (j == n) names[n++] = cand[c];
  }
  return n;
}

int qt_report_script_json(const char *json, char *buf, size_t cap, size_t *out_len, qt_err *err) {
  size_t need = 0;
  const unsigned char *s = (const unsigned char *)json;
  for (size_t i = 0; s[i]; i++) {
    if (s[i] == '<' || s[i] == '>' || s[i] == '&') need += 6;
    else if (s[i] == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
      need += 6; /* U+2028/2029 end a line in older JavaScript */
      i += 2;
    } else need++;
  }
  if (out_len) *out_len = 0;
  if (need + 1 > cap) {
    if (cap) buf[0] = 0;
    return qt_err_set(err, QT_EINVAL, "report: escaped JSON needs %zu bytes, buffer has %zu",
                      need + 1, cap);
  }
  size_t o = 0;
  for (size_t i = 0; s[i]; i++) {
    if (s[i] == '<' || s[i] == '>' || s[i] == '&') {
      o += (size_t)snprintf(buf + o, cap - o, "\\u%04x", s[i]);
    } else if (s[i] == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
      o += (size_t)snprintf(buf + o, cap - o, "\\u%04x", s[i + 2] == 0xA8 ? 0x2028 : 0x2029);
      i += 2;
    } else buf[o++] = (char)s[i];
  }
  buf[o] = 0;
  if (out_len) *out_len = o;
  return QT_OK;
}

void qt__report_html_text(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default: fputc(*s, f);
    }
  }
}
