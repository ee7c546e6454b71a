/* The Pareto front of a study with several objectives, as `analyze` and
 * `best` print it: one row per front member (in the order of the first
 * objective), the reference point (given or the library's default) and
 * the front's hypervolume.  The front and the volume are the library's
 * (src/optimize/study_pareto.c); this file formats them. */
#include "cli/cmd_study.h"
#include "cli/util.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The front's indices (heap, *out_n of them) and the reference point. */
static int front_of(const qt_study *st, const char *ref_text, size_t **out_idx, size_t *out_n,
                    double *ref, int *have_ref, qt_err *err) {
  size_t n = qt_study_n_trials(st);
  *out_idx = calloc(n ? n : 1, sizeof **out_idx);
  *out_n = 0;
  *have_ref = 0;
  if (!*out_idx) return qt_err_set(err, QT_ENOMEM, "pareto front: out of memory");
  int r = qt_study_pareto_front(st, *out_idx, n, out_n, err);
  if (r) return r;
  if (ref_text) {
    if ((r = qt_study_parse_ref_point(st, ref_text, ref, err)) != 0) return r;
    *have_ref = 1;
  } else {
    *have_ref = qt_study_ref_point(st, ref);
  }
  return QT_OK;
}

static void ref_text_of(const qt_study *st, const double *ref, char *buf, size_t cap) {
  size_t l = 0;
  buf[0] = 0;
  for (size_t k = 0; k < qt_study_n_objectives(st) && l < cap; k++)
    l += (size_t)snprintf(buf + l, cap - l, "%s%.6g", k ? ", " : "", ref[k]);
}

int cli_pareto_print(FILE *f, const qt_study *st, const char *ref_text, size_t top_n,
                     qt_err *err) {
  size_t *idx = NULL, nf = 0, m = qt_study_n_objectives(st);
  double ref[QT_GOAL_MAX_OBJ], hv = 0;
  int have_ref;
  const qt_goal *g = qt_study_goal(st);
  int r = front_of(st, ref_text, &idx, &nf, ref, &have_ref, err);
  if (r) goto done;
  if (have_ref && (r = qt_study_hypervolume(st, idx, nf, ref, &hv, err)) != 0) goto done;
  fprintf(f, "\nPareto front: %zu non-dominated feasible trial(s) over", nf);
  for (size_t k = 0; k < m; k++) {
    int mx;
    const char *nm = qt_goal_objective(g, k, &mx);
    fprintf(f, "%s %s (%s)", k ? "," : "", nm, mx ? "max" : "min");
  }
  fputc('\n', f);
  if (have_ref) {
    char rt[256];
    ref_text_of(st, ref, rt, sizeof rt);
    fprintf(f, "hypervolume %.6g against the reference point (%s)%s\n", hv, rt,
            ref_text ? "" : ": the worst feasible value of each objective moved out by 10% of "
                            "its range (--ref-point to set it)");
  }
  const qt_space *sp = qt_study_space(st);
  size_t show = top_n && top_n < nf ? top_n : nf, nd = qt_space_n(sp);
  fprintf(f, "%4s %6s", "pick", "trial");
  for (size_t k = 0; k < m; k++) fprintf(f, " %14.14s", qt_goal_objective(g, k, NULL));
  for (size_t d = 0; d < nd; d++) fprintf(f, " %12.12s", qt_space_dim(sp, d)->name);
  fputc('\n', f);
  for (size_t a = 0; a < show; a++) {
    qt_trial_info ti;
    double v[QT_GOAL_MAX_OBJ];
    qt_study_trial_info(st, idx[a], &ti);
    qt_study_trial_values(st, idx[a], v);
    fprintf(f, "%4zu %6lld", a + 1, (long long)ti.number);
    for (size_t k = 0; k < m; k++) fprintf(f, " %14.6g", v[k]);
    for (size_t d = 0; d < nd; d++) {
      char t[64];
      qt_study_param_text(st, idx[a], d, t, sizeof t);
      fprintf(f, " %12s", t);
    }
    fputc('\n', f);
  }
  if (show < nf) fprintf(f, "(%zu more; --top-n 0 shows all)\n", nf - show);
done:
  free(idx);
  return r;
}

void *cli_pareto_json(const qt_study *st, const char *ref_text, qt_err *err) {
  size_t *idx = NULL, nf = 0, m = qt_study_n_objectives(st);
  double ref[QT_GOAL_MAX_OBJ], hv = 0;
  int have_ref;
  const qt_goal *g = qt_study_goal(st);
  json_t *o = NULL;
  if (front_of(st, ref_text, &idx, &nf, ref, &have_ref, err)) goto done;
  if (have_ref && qt_study_hypervolume(st, idx, nf, ref, &hv, err)) goto done;
  o = json_object();
  json_t *obj = json_array(), *rp = json_array(), *fr = json_array();
  for (size_t k = 0; k < m; k++) {
    int mx;
    const char *nm = qt_goal_objective(g, k, &mx);
    json_array_append_new(obj, json_pack("{s:s,s:s}", "metric", nm, "direction",
                                         mx ? "maximize" : "minimize"));
    if (have_ref) json_array_append_new(rp, json_real(ref[k]));
  }
  json_object_set_new(o, "objectives", obj);
  json_object_set_new(o, "reference_point", have_ref ? rp : json_null());
  if (!have_ref) json_decref(rp);
  json_object_set_new(o, "reference_point_given", json_boolean(ref_text != NULL));
  json_object_set_new(o, "hypervolume", have_ref ? json_real(hv) : json_null());
  for (size_t a = 0; a < nf; a++) {
    qt_trial_info ti;
    double v[QT_GOAL_MAX_OBJ];
    qt_study_trial_info(st, idx[a], &ti);
    qt_study_trial_values(st, idx[a], v);
    json_t *vals = json_array();
    for (size_t k = 0; k < m; k++) json_array_append_new(vals, json_real(v[k]));
    json_t *p = ti.params_json ? json_loads(ti.params_json, 0, NULL) : NULL;
    json_array_append_new(fr, json_pack("{s:I,s:I,s:o,s:o}", "pick", (json_int_t)(a + 1),
                                        "number", (json_int_t)ti.number, "values", vals, "params",
                                        p ? p : json_object()));
  }
  json_object_set_new(o, "front", fr);
done:
  free(idx);
  return o;
}

long cli_pareto_pick(const qt_study *st, long pick, qt_err *err) {
  size_t n = qt_study_n_trials(st), nf = 0;
  size_t *idx = calloc(n ? n : 1, sizeof *idx);
  long r = -1;
  if (!idx) {
    qt_err_set(err, QT_ENOMEM, "pareto front: out of memory");
    return -1;
  }
  if (qt_study_pareto_front(st, idx, n, &nf, err) == 0) {
    if (nf == 0) qt_err_set(err, QT_ENOTFOUND, "study '%s': the Pareto front is empty (no "
                            "feasible complete trial)", qt_study_name(st));
    else if (pick < 1 || (size_t)pick > nf)
      qt_err_set(err, QT_EINVAL, "--pick %ld: the front has %zu member(s), pick 1..%zu", pick, nf,
                 nf);
    else r = (long)idx[pick - 1];
  }
  free(idx);
  return r;
}
