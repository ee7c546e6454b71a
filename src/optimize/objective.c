/* Objectives shared by every kind: release, and the pure benchmark
 * functions (sphere, rosenbrock, fake_strategy) used by tests and benches. */
#include "qtune/optimize.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void qt_objective_free(qt_objective *o) {
  if (!o || !o->vt) return;
  if (o->vt->destroy) o->vt->destroy(o->shared);
  o->vt = NULL;
  o->shared = NULL;
}

typedef enum fn_kind { FN_SPHERE, FN_ROSENBROCK, FN_FAKE, FN_MO } fn_kind;

typedef struct fn_shared {
  fn_kind kind;
  char mo[16]; /* FN_MO: the problem's name (qt_mo_function) */
} fn_shared;

static int fn_worker_new(const void *shared, void **out_w, qt_err *err) {
  *out_w = (void *)shared; /* stateless: the worker is the shared part */
  return QT_OK;
}

static void fn_worker_free(void *w) { (void)w; }

static int fn_eval(void *w, const qt_space *sp, const double *x, const double *u, uint64_t seed,
                   qt_metric_set *out, qt_err *err) {
  const fn_shared *f = w;
  size_t n = qt_space_n(sp);
  double v = 0;
  int r;
  if (f->kind == FN_MO) { /* several objectives: metrics f1, f2 (, f3) */
    double fv[3];
    size_t m = 0;
    if (qt_mo_function(f->mo, u, n, fv, &m))
      return qt_err_set(err, QT_EINVAL, "objective function '%s': needs 2..256 parameters (3 for dtlz2_3)", f->mo);
    static const char *const names[] = {"f1", "f2", "f3"};
    for (size_t k = 0; k < m; k++)
      if ((r = qt_metric_set_put(out, names[k], fv[k], err)) != 0) return r;
    v = fv[0];
  } else if (f->kind == FN_SPHERE) {
    for (size_t k = 0; k < n; k++) v += u[k] * u[k];
  } else if (f->kind == FN_ROSENBROCK) {
    for (size_t k = 0; k + 1 < n; k++)
      v += 100 * (u[k + 1] - u[k] * u[k]) * (u[k + 1] - u[k] * u[k]) + (1 - u[k]) * (1 - u[k]);
  } else {
    /* Backtest-like metrics, all smooth in d2 = mean (u_k - 1)^2; every
     * default constraint holds exactly when d2 <= 0.5. */
    for (size_t k = 0; k < n; k++) v += (u[k] - 1) * (u[k] - 1);
    v = n ? v / (double)n : 0;
    const struct { const char *k; double val; } m[] = {
        {"sharpe", 2.5 - 3 * v},         {"total_profit", 1000 * (1 - v)},
        {"calmar", 2 - 2 * v},           {"max_drawdown", 0.05 + 0.2 * v},
        {"trades", 100 - 40 * v},        {"win_rate", 0.55 - 0.1 * v},
        {"profit_factor", 1.6 - 0.5 * v}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
      if ((r = qt_metric_set_put(out, m[i].k, m[i].val, err)) != 0) return r;
  }
  return qt_metric_set_put(out, "value", v, err);
}

static void fn_destroy(void *shared) { qt_free(shared); }

static const qt_objective_vtbl k_fn_vtbl = {"function", fn_worker_new, fn_eval, fn_worker_free,
                                            fn_destroy, NULL};

int qt_objective_function(const char *name, qt_objective *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  fn_kind k;
  if (strcmp(name, "sphere") == 0) k = FN_SPHERE;
  else if (strcmp(name, "rosenbrock") == 0) k = FN_ROSENBROCK;
  else if (strcmp(name, "fake_strategy") == 0) k = FN_FAKE;
  else if (!strcmp(name, "zdt1") || !strcmp(name, "zdt2") || !strcmp(name, "dtlz2") ||
           !strcmp(name, "dtlz2_3"))
    k = FN_MO;
  else return qt_err_set(err, QT_EINVAL, "objective function '%s': unknown (sphere, rosenbrock, fake_strategy, zdt1, zdt2, dtlz2, dtlz2_3)", name);
  fn_shared *f = qt_malloc(sizeof *f);
  if (!f) return qt_err_set(err, QT_ENOMEM, "objective function: out of memory");
  f->kind = k;
  snprintf(f->mo, sizeof f->mo, "%s", name);
  out->vt = &k_fn_vtbl;
  out->shared = f;
  out->is_strategy = k == FN_FAKE;
  return QT_OK;
}
