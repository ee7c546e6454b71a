/* The Pareto front of a study, its default reference point and its
 * hypervolume, built on the public study accessors and pareto.c. */
#include "qtune/optimize.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The minimized values of the qualifying trials (feasible, complete,
 * finite) into f (rows) and their trial_info indices into idx; *out_n. */
static int collect(const qt_study *st, double **out_f, size_t **out_idx, size_t *out_n,
                   qt_err *err) {
  size_t n = qt_study_n_trials(st), m = qt_study_n_objectives(st), k = 0;
  double *f = qt_malloc((n ? n : 1) * m * sizeof *f);
  size_t *idx = qt_malloc((n ? n : 1) * sizeof *idx);
  *out_f = NULL;
  *out_idx = NULL;
  *out_n = 0;
  if (!f || !idx) {
    qt_free(f);
    qt_free(idx);
    return qt_err_set(err, QT_ENOMEM, "pareto front: out of memory");
  }
  const qt_goal *g = qt_study_goal(st);
  for (size_t i = 0; i < n; i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    if (!ti.feasible || !qt_study_trial_values(st, i, f + k * m)) continue;
    for (size_t j = 0; j < m; j++) {
      int mx;
      qt_goal_objective(g, j, &mx);
      if (mx) f[k * m + j] = -f[k * m + j];
    }
    idx[k++] = i;
  }
  *out_f = f;
  *out_idx = idx;
  *out_n = k;
  return QT_OK;
}

int qt_study_pareto_front(const qt_study *st, size_t *out_idx, size_t cap, size_t *out_n,
                          qt_err *err) {
  double *f;
  size_t *idx, n, m = qt_study_n_objectives(st);
  *out_n = 0;
  int r = collect(st, &f, &idx, &n, err);
  if (r) return r;
  size_t *rank = qt_malloc((n ? n : 1) * sizeof *rank);
  if (!rank || qt_pareto_sort(f, NULL, n, m, 0, rank, err)) {
    r = qt_err_set(err, QT_ENOMEM, "pareto front: out of memory");
    goto done;
  }
  /* the front in the order of the first objective (minimized), ties by trial */
  size_t nf = 0;
  for (size_t i = 0; i < n; i++)
    if (rank[i] == 0) rank[nf++] = i;
  for (size_t a = 1; a < nf; a++)
    for (size_t b = a; b > 0; b--) {
      const double *x = f + rank[b] * m, *y = f + rank[b - 1] * m;
      int before = x[0] < y[0] || (x[0] == y[0] && rank[b] < rank[b - 1]);
      if (!before) break;
      size_t t = rank[b];
      rank[b] = rank[b - 1];
      rank[b - 1] = t;
    }
  for (size_t a = 0; a < nf && a < cap; a++) out_idx[a] = idx[rank[a]];
  *out_n = nf;
done:
  qt_free(rank);
  qt_free(f);
  qt_free(idx);
  return r;
}

int qt_study_ref_point(const qt_study *st, double *out_ref) {
  double *f;
  size_t *idx, n, m = qt_study_n_objectives(st);
  if (collect(st, &f, &idx, &n, NULL) || n == 0) {
    qt_free(f);
    qt_free(idx);
    return 0;
  }
  const qt_goal *g = qt_study_goal(st);
  for (size_t j = 0; j < m; j++) {
    double lo = INFINITY, hi = -INFINITY; /* minimized: hi is the worst */
    for (size_t i = 0; i < n; i++) {
      double v = f[i * m + j];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    double pad = hi > lo ? 0.1 * (hi - lo) : fmax(0.1 * fabs(hi), 1e-9);
    int mx;
    qt_goal_objective(g, j, &mx);
    out_ref[j] = mx ? -(hi + pad) : hi + pad;
  }
  qt_free(f);
  qt_free(idx);
  return 1;
}

int qt_study_hypervolume(const qt_study *st, const size_t *idx, size_t n, const double *ref,
                         double *out_hv, qt_err *err) {
  size_t m = qt_study_n_objectives(st);
  const qt_goal *g = qt_study_goal(st);
  double *f = qt_malloc((n ? n : 1) * m * sizeof *f), r[QT_GOAL_MAX_OBJ];
  *out_hv = 0;
  if (!f) return qt_err_set(err, QT_ENOMEM, "hypervolume: out of memory");
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (qt_study_trial_values(st, idx[i], f + k * m)) k++;
  for (size_t j = 0; j < m; j++) {
    int mx;
    qt_goal_objective(g, j, &mx);
    r[j] = mx ? -ref[j] : ref[j];
    for (size_t i = 0; mx && i < k; i++) f[i * m + j] = -f[i * m + j];
  }
  int rc = qt_hypervolume(f, k, m, r, out_hv, err);
  qt_free(f);
  return rc;
}

int qt_study_parse_ref_point(const qt_study *st, const char *s, double *out_ref, qt_err *err) {
  size_t m = qt_study_n_objectives(st), k = 0;
  const char *p = s;
  for (;;) {
    char *end;
    double v = strtod(p, &end);
    if (end == p || !isfinite(v) || (*end && *end != ','))
      return qt_err_set(err, QT_EPARSE, "--ref-point '%s': value %zu is not a finite number", s,
                        k + 1);
    if (k == m) break;
    out_ref[k++] = v;
    if (!*end && k == m) return QT_OK;
    if (!*end) break;
    p = end + 1;
  }
  return qt_err_set(err, QT_EPARSE, "--ref-point '%s': %zu objectives need %zu values", s, m, m);
}
