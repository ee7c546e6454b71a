/* Sampler time per trial, without objective cost, on the 17-parameter
 * hedge-grid space with a cheap synthetic objective (sum of squared distances
 * from 30% into each normalized range), for qtune's tpe (its default 8
 * candidates, and Optuna's 24: the like-for-like line) and random samplers,
 * then Optuna's TPESampler/RandomSampler on the same space and objective
 * (bench/optuna_sampler.py, run through popen) and the ratio.
 *
 * One JSON line per (impl, sampler, window): mean ms per trial over trials
 * 1-100 and 901-1000, wall clock (ms_per_trial) and process CPU time
 * (cpu_ms_per_trial: steadier on a shared machine); the ratio lines give both.  Environment: BENCH_TRIALS (default 1000),
 * OPTUNA_BENCH_TRIALS caps Optuna's trials for a quick local run (its last
 * window is then (N-99)-N, and the ratio line says so), BENCH_SKIP_OPTUNA=1
 * skips Optuna, QT_PYTHON picks the interpreter (default /usr/bin/python3). */
#include "bench.h"
#include "qtune/optimize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct bdim {
  const char *name;
  int type;
  double lo, hi;
  int log;
} bdim;

static const bdim SPACE[] = {
    {"grid_step_bps", QT_PARAM_INT, 10, 200, 0},
    {"grid_levels_long", QT_PARAM_INT, 3, 20, 0},
    {"grid_levels_short", QT_PARAM_INT, 3, 20, 0},
    {"base_qty", QT_PARAM_FLOAT, 0.001, 0.1, 1},
    {"qty_scale", QT_PARAM_FLOAT, 1.0, 1.5, 0},
    {"tp_steps", QT_PARAM_INT, 1, 10, 0},
    {"sl_steps", QT_PARAM_INT, 3, 20, 0},
    {"adx_len", QT_PARAM_INT, 7, 30, 0},
    {"ema_fast", QT_PARAM_INT, 5, 25, 0},
    {"ema_slow", QT_PARAM_INT, 20, 60, 0},
    {"atr_len", QT_PARAM_INT, 7, 30, 0},
    {"hysteresis_bps", QT_PARAM_FLOAT, 5, 50, 0},
    {"counter_levels", QT_PARAM_INT, 2, 10, 0},
    {"counter_qty_scale", QT_PARAM_FLOAT, 0.3, 0.8, 0},
    {"recenter_trigger_bps", QT_PARAM_FLOAT, 50, 500, 0},
    {"funding_max_cost_bps", QT_PARAM_FLOAT, 5, 50, 0},
    {"max_position_pct", QT_PARAM_FLOAT, 50, 95, 0},
};
#define ND (sizeof SPACE / sizeof SPACE[0])

static qt_space *make_space(void) {
  qt_space *sp = NULL;
  qt_err err;
  if (qt_space_new(&sp, &err)) return NULL;
  for (size_t k = 0; k < ND; k++) {
    qt_dim d;
    memset(&d, 0, sizeof d);
    snprintf(d.name, sizeof d.name, "%s", SPACE[k].name);
    d.type = SPACE[k].type;
    d.lo = SPACE[k].lo;
    d.hi = SPACE[k].hi;
    d.step = d.type == QT_PARAM_INT ? 1 : 0;
    d.log = SPACE[k].log;
    d.def = d.lo;
    if (qt_space_add(sp, &d, &err)) {
      fprintf(stderr, "bench_sampler: %s\n", err.msg);
      qt_space_free(sp);
      return NULL;
    }
  }
  return sp;
}

static double objective(const qt_space *sp, const double *x) {
  double s = 0;
  for (size_t k = 0; k < ND; k++) {
    double lo, hi;
    qt_space_bounds(sp, k, &lo, &hi);
    double u = (x[k] - lo) / (hi - lo) - 0.3;
    s += u * u;
  }
  return s;
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs n trials; per-trial wall and CPU seconds into t[], c[]; returns the
 * best value. */
static double run(const qt_sampler_vtbl *vt, const qt_kv *opts, const qt_space *sp, int n,
                  double *t, double *c) {
  void *self = NULL;
  qt_err err;
  double *xs = malloc((size_t)n * ND * sizeof *xs);
  qt_trial_view *v = calloc((size_t)n, sizeof *v);
  double best = INFINITY;
  if (!xs || !v || vt->create(sp, 1, opts, &self, &err)) {
    fprintf(stderr, "bench_sampler: setup failed\n");
    exit(2);
  }
  for (int i = 0; i < n; i++) {
    double t0 = bench_now(), c0 = cpu_now();
    double *x = xs + (size_t)i * ND;
    if (vt->propose(self, v, (size_t)i, x, &err)) {
      fprintf(stderr, "bench_sampler: %s\n", err.msg);
      exit(2);
    }
    double t1 = bench_now(), c1 = cpu_now();
    double val = objective(sp, x);
    double t2 = bench_now(), c2 = cpu_now();
    v[i] = (qt_trial_view){.number = i, .state = QT_TRIAL_COMPLETE, .x = x, .value = val, .feasible = 1};
    t[i] = (t1 - t0) + (bench_now() - t2);
    c[i] = (c1 - c0) + (cpu_now() - c2);
    if (val < best) best = val;
  }
  vt->destroy(self);
  free(xs);
  free(v);
  return best;
}

static double window_ms(const double *t, int lo, int hi) {
  double s = 0;
  for (int i = lo - 1; i < hi; i++) s += t[i];
  return 1e3 * s / (hi - lo + 1);
}

int main(void) {
  int n = getenv("BENCH_TRIALS") ? atoi(getenv("BENCH_TRIALS")) : 1000;
  if (n < 100) n = 100;
  qt_space *sp = make_space();
  if (!sp) return 2;
  double *t = malloc((size_t)n * sizeof *t), *c = malloc((size_t)n * sizeof *c);
  /* qtune's default tpe, tpe with Optuna's 24 candidates (the like-for-like
   * line), random */
  static const qt_kv opt24[] = {{"n_ei_candidates", "24"}, {NULL, NULL}};
  static const struct { const char *label, *sampler; const qt_kv *opts; } CFG[] = {
      {"tpe", "tpe", NULL}, {"tpe_24_candidates", "tpe", opt24}, {"random", "random", NULL}};
  enum { NCFG = 3 };
  double qt_last[NCFG], qt_last_cpu[NCFG];
  for (int s = 0; s < NCFG; s++) {
    double best = run(qt_sampler_find(CFG[s].sampler), CFG[s].opts, sp, n, t, c);
    int lo2 = n - 99;
    printf("{\"bench\":\"sampler\",\"impl\":\"qtune\",\"sampler\":\"%s\",\"dims\":%zu,\"trials\":%d,"
           "\"window\":\"1-100\",\"ms_per_trial\":%.6f,\"cpu_ms_per_trial\":%.6f,\"best\":%.6g}\n",
           CFG[s].label, ND, n, window_ms(t, 1, 100), window_ms(c, 1, 100), best);
    printf("{\"bench\":\"sampler\",\"impl\":\"qtune\",\"sampler\":\"%s\",\"dims\":%zu,\"trials\":%d,"
           "\"window\":\"%d-%d\",\"ms_per_trial\":%.6f,\"cpu_ms_per_trial\":%.6f,\"best\":%.6g}\n",
           CFG[s].label, ND, n, lo2, n, window_ms(t, lo2, n), window_ms(c, lo2, n), best);
    qt_last[s] = window_ms(t, lo2, n);
    qt_last_cpu[s] = window_ms(c, lo2, n);
    fflush(stdout);
  }
  free(t);
  free(c);
  qt_space_free(sp);
  if (getenv("BENCH_SKIP_OPTUNA")) return 0;
  const char *py = getenv("QT_PYTHON") ? getenv("QT_PYTHON") : "/usr/bin/python3";
  char cmd[512];
  snprintf(cmd, sizeof cmd, "%s bench/optuna_sampler.py --trials %d", py, n);
  FILE *p = popen(cmd, "r");
  if (!p) return 0;
  char line[1024];
  while (fgets(line, sizeof line, p)) {
    fputs(line, stdout);
    fflush(stdout);
    /* the ratio for Optuna's last window against qtune's */
    const char *w = strstr(line, "\"window\": \"");
    const char *m = strstr(line, "\"ms_per_trial\": ");
    const char *cm = strstr(line, "\"cpu_ms_per_trial\": ");
    const char *tr = strstr(line, "\"trials\": ");
    const char *os = strstr(line, "\"sampler\": \"tpe\"") ? "tpe"
                     : strstr(line, "\"sampler\": \"random\"") ? "random" : NULL;
    if (!w || !m || !cm || !tr || !os || !strncmp(w + 11, "1-100\"", 6)) continue;
    int on = atoi(tr + 10);
    double oms = atof(m + 16), ocpu = atof(cm + 20);
    if (on == 100) continue; /* only one window: nothing comparable to 901-1000 */
    for (int s = 0; s < NCFG; s++)
      if (!strcmp(CFG[s].sampler, os))
        printf("{\"bench\":\"sampler_ratio\",\"sampler\":\"%s\",\"optuna_window\":\"%d-%d\","
               "\"qtune_window\":\"%d-%d\",\"optuna_over_qtune\":%.1f,\"cpu_optuna_over_qtune\":%.1f}\n",
               CFG[s].label, on - 99, on, n - 99, n, oms / qt_last[s], ocpu / qt_last_cpu[s]);
  }
  pclose(p);
  return 0;
}
