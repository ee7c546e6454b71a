/* The Markdown report of a study: configuration, trial counts, top-N table
 * with one column per parameter, importance, constraint violations. */
#include "report/report_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A table cell: '|' would end the cell and a newline the row. */
static void md_cell(FILE *f, const char *s) {
  fputc(' ', f);
  for (; *s; s++) {
    if (*s == '|') fputs("\\|", f);
    else if (*s == '\n' || *s == '\r') fputc(' ', f);
    else fputc(*s, f);
  }
  fputs(" |", f);
}

static void md_cellf(FILE *f, const char *fmt, ...) QT_PRINTF(2, 3);
static void md_cellf(FILE *f, const char *fmt, ...) {
  char b[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b, sizeof b, fmt, ap);
  va_end(ap);
  md_cell(f, b);
}

/* One config value as text: strings bare, numbers %.6g, the rest compact JSON. */
static void value_text(const json_t *v, char *buf, size_t cap) {
  if (json_is_string(v) || json_is_number(v) || json_is_boolean(v)) {
    qt__report_fmt_value(v, buf, cap);
    return;
  }
  char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
  snprintf(buf, cap, "%s", s ? s : "-");
  free(s);
}

static void dim_text(const qt_dim *d, char *buf, size_t cap) {
  static const char *types[] = {"int", "float", "categorical", "bool"}; /* qt_param_type order */
  const char *ty = d->type >= 0 && d->type < 4 ? types[d->type] : "?";
  if (d->fixed) snprintf(buf, cap, "fixed at %.6g", d->def);
  else if (d->n_choices) {
    size_t len = (size_t)snprintf(buf, cap, "%s {", ty);
    for (size_t c = 0; c < d->n_choices && len < cap; c++)
      len += (size_t)snprintf(buf + len, cap - len, "%s%s", c ? ", " : "", d->choices[c]);
    if (len < cap) snprintf(buf + len, cap - len, "}");
  } else
    snprintf(buf, cap, "%s [%.6g, %.6g]%s", ty, d->lo, d->hi, d->log ? " log" : "");
}

static void md_config(FILE *f, const qt_study *st) {
  const qt_goal *g = qt_study_goal(st);
  json_t *c = qt__report_obj(qt_study_config_json(st));
  char b[1024];
  fprintf(f, "## Configuration\n\n| setting | value |\n|---|---|\n");
  json_t *user = json_object_get(c, "user");
  const char *k;
  json_t *v;
  json_object_foreach(user, k, v) {
    fputc('|', f);
    md_cell(f, k);
    value_text(v, b, sizeof b);
    md_cell(f, b);
    fputc('\n', f);
  }
  fputc('|', f);
  md_cell(f, "sampler");
  const json_t *so = json_object_get(c, "sampler_opts");
  char opts[512] = "";
  if (json_object_size(so)) value_text(so, opts, sizeof opts);
  md_cellf(f, "%s%s%s", json_string_value(json_object_get(c, "sampler"))
                            ? json_string_value(json_object_get(c, "sampler"))
                            : "-",
           opts[0] ? " " : "", opts);
  fprintf(f, "\n|");
  md_cell(f, "seed");
  md_cellf(f, "%llu", (unsigned long long)qt_study_seed(st));
  fprintf(f, "\n|");
  md_cell(f, "objective");
  md_cellf(f, "%s (%s)", g->metric, g->maximize ? "maximize" : "minimize");
  if (!strcmp(g->metric, "score")) {
    fprintf(f, "\n|");
    md_cell(f, "weights");
    qt__report_weights_text(g, b, sizeof b);
    md_cell(f, b);
  }
  fprintf(f, "\n|");
  md_cell(f, "constraints");
  qt__report_constraints_text(g, b, sizeof b);
  md_cellf(f, "%s%s", b, g->n_cons && g->lenient ? " (lenient: penalties)" : "");
  fputc('\n', f);
  const qt_space *sp = qt_study_space(st);
  for (size_t d = 0; sp && d < qt_space_n(sp); d++) {
    fputc('|', f);
    md_cellf(f, "param %s", qt_space_dim(sp, d)->name);
    dim_text(qt_space_dim(sp, d), b, sizeof b);
    md_cell(f, b);
    fputc('\n', f);
  }
  json_decref(c);
}

static void md_top(FILE *f, const qt_study *st, const qt__report_row *rk, size_t nr, size_t top_n) {
  const qt_goal *g = qt_study_goal(st);
  const qt_space *sp = qt_study_space(st);
  size_t nd = sp ? qt_space_n(sp) : 0, show = top_n < nr ? top_n : nr;
  const char *mets[QT_SCORE_MAX_TERMS + QT_CONSTRAINTS_MAX + 1];
  size_t nm = qt__report_goal_metrics(g, mets, sizeof mets / sizeof mets[0]);
  fprintf(f, "## Top %zu trials\n\nFeasible trials first, then by %s (%s).\n\n| rank | trial |",
          show, g->metric, g->maximize ? "highest first" : "lowest first");
  md_cell(f, g->metric);
  fprintf(f, " feasible |");
  for (size_t d = 0; d < nd; d++) md_cell(f, qt_space_dim(sp, d)->name);
  for (size_t m = 0; m < nm; m++)
    if (strcmp(mets[m], g->metric)) md_cell(f, mets[m]);
  fprintf(f, "\n|---|---|---|---|");
  for (size_t d = 0; d < nd; d++) fprintf(f, "---|");
  for (size_t m = 0; m < nm; m++)
    if (strcmp(mets[m], g->metric)) fprintf(f, "---|");
  fputc('\n', f);
  char b[256];
  for (size_t r = 0; r < show; r++) {
    qt_trial_info ti;
    qt_study_trial_info(st, rk[r].idx, &ti);
    json_t *p = qt__report_obj(ti.params_json), *m = qt__report_obj(ti.metrics_json);
    fprintf(f, "| %zu | %lld | %.6g | %s |", r + 1, (long long)ti.number, ti.objective,
            ti.feasible ? "yes" : "no");
    for (size_t d = 0; d < nd; d++) {
      qt__report_fmt_value(json_object_get(p, qt_space_dim(sp, d)->name), b, sizeof b);
      md_cell(f, b);
    }
    for (size_t k = 0; k < nm; k++) {
      if (!strcmp(mets[k], g->metric)) continue;
      qt__report_fmt_value(json_object_get(m, mets[k]), b, sizeof b);
      md_cell(f, b);
    }
    fputc('\n', f);
    json_decref(p);
    json_decref(m);
  }
  if (!show) fprintf(f, "\nNo complete trial yet.\n");
}

/* Importance rows, most important first. */
static void md_importance(FILE *f, const qt_study *st, const double *imp) {
  const qt_space *sp = qt_study_space(st);
  size_t nd = sp ? qt_space_n(sp) : 0;
  fprintf(f, "## Parameter importance\n\nThe variance of the mean %s across quantile bins "
             "of each parameter, normalized to sum 1.\n\n| parameter | importance |\n|---|---|\n",
          qt_study_goal(st)->metric);
  int done[256] = {0};
  for (size_t r = 0; r < nd && r < 256; r++) {
    size_t best = nd;
    for (size_t d = 0; d < nd && d < 256; d++)
      if (!done[d] && (best == nd || imp[d] > imp[best])) best = d;
    done[best] = 1;
    fputc('|', f);
    md_cell(f, qt_space_dim(sp, best)->name);
    fprintf(f, " %.3f |\n", imp[best]);
  }
}

static void md_violations(FILE *f, const qt_study *st, size_t n_complete) {
  const qt_goal *g = qt_study_goal(st);
  size_t counts[QT_CONSTRAINTS_MAX], any;
  qt__report_violations(st, counts, &any);
  fprintf(f, "## Constraint violations\n\n");
  if (!g->n_cons) {
    fprintf(f, "The study has no constraints.\n");
    return;
  }
  fprintf(f, "%zu of %zu complete trials violated at least one constraint%s.\n\n"
             "| constraint | trials violating |\n|---|---|\n",
          any, n_complete, g->lenient ? " (lenient: a penalty, not a veto)" : "");
  char b[128];
  for (size_t k = 0; k < g->n_cons; k++) {
    qt_goal one = *g;
    one.cons[0] = g->cons[k];
    one.n_cons = 1;
    qt__report_constraints_text(&one, b, sizeof b);
    fputc('|', f);
    md_cell(f, b);
    fprintf(f, " %zu |\n", counts[k]);
  }
}

int qt_report_study_md(const qt_study *st, const qt_report_opts *o, FILE *out, qt_err *err) {
  qt_report_opts dflt = qt_report_opts_default();
  if (!o) o = &dflt;
  const qt_space *sp = qt_study_space(st);
  size_t nd = sp ? qt_space_n(sp) : 0, nr = 0, c[QT_TRIAL_N_STATES];
  qt__report_row *rk = NULL;
  double *imp = qt_malloc((nd ? nd : 1) * sizeof *imp);
  int rc = QT_OK;
  if (!imp) {
    rc = qt_err_set(err, QT_ENOMEM, "report: out of memory");
    goto fail;
  }
  if ((rc = qt_study_importance(st, imp, err))) goto fail;
  if ((rc = qt__report_rank(st, &rk, &nr, err))) goto fail;
  qt_study_counts(st, c);
  fprintf(out, "# Study report: ");
  for (const char *s = qt_study_name(st); *s; s++) fputc(*s == '\n' ? ' ' : *s, out);
  fprintf(out, "\n\n");
  md_config(out, st);
  fprintf(out, "\n## Trials\n\n| state | trials |\n|---|---|\n| complete | %zu |\n"
               "| rejected | %zu |\n| pruned | %zu |\n| fail | %zu |\n| running | %zu |\n"
               "| waiting | %zu |\n| total | %zu |\n\n",
          c[QT_TRIAL_COMPLETE], c[QT_TRIAL_REJECTED], c[QT_TRIAL_PRUNED], c[QT_TRIAL_FAIL],
          c[QT_TRIAL_RUNNING], c[QT_TRIAL_WAITING], qt_study_n_trials(st));
  md_top(out, st, rk, nr, o->top_n);
  fputc('\n', out);
  md_importance(out, st, imp);
  fputc('\n', out);
  md_violations(out, st, c[QT_TRIAL_COMPLETE]);
  if (fflush(out) || ferror(out))
    rc = qt_err_set(err, QT_EIO, "report: study %s: writing the Markdown failed",
                    qt_study_name(st));
fail:
  qt_free(rk);
  qt_free(imp);
  return rc;
}
