/* Objectives: the external command (ok, non-zero exit, timeout with the
 * process group killed, bad JSON), the benchmark functions, and the
 * strategy backtest on a synthetic series. */
#include "qt_test.h"
#include "qtune/optimize.h"
#include "qtune/strategies.h"

#include <signal.h>
#include <unistd.h>

static qt_space *space2(void) {
  qt_space *sp = NULL;
  if (qt_space_new(&sp, NULL) != 0) return NULL;
  qt_dim a = {.name = "a", .type = QT_PARAM_FLOAT, .lo = 0, .hi = 10, .def = 1};
  qt_dim b = {.name = "b", .type = QT_PARAM_INT, .lo = 1, .hi = 5, .step = 1, .def = 2};
  if (qt_space_add(sp, &a, NULL) || qt_space_add(sp, &b, NULL)) {
    qt_space_free(sp);
    return NULL;
  }
  return sp;
}

/* Runs cmd once on params (a, b); returns the status, metrics in m. */
static int run_cmd(const char *cmd, double timeout_s, double a, double b, qt_metric_set *m,
                   qt_err *e) {
  qt_space *sp = space2();
  if (!sp) return -100;
  qt_objective o;
  void *w = NULL;
  int r = qt_objective_command(cmd, timeout_s, &o, e);
  if (r) goto done;
  if ((r = o.vt->worker_new(o.shared, &w, e)) != 0) goto done;
  double x[2] = {a, b}, u[2] = {a, b};
  qt_metric_set_clear(m);
  r = o.vt->eval(w, sp, x, u, 42, m, e);
done:
  if (w) o.vt->worker_free(w);
  qt_objective_free(&o);
  qt_space_free(sp);
  return r;
}

static void test_cmd_ok(void) {
  qt_metric_set m;
  qt_metric_set_init(&m);
  qt_err e;
  int r = run_cmd("python3 -c 'import json,sys; p=json.load(sys.stdin); "
                  "print(json.dumps({\"sharpe\": p[\"a\"]*2, \"n\": p[\"b\"]+1, "
                  "\"flag\": True, \"label\": \"x\", \"none\": None}))'",
                  10, 1.25, 3, &m, &e);
  EXPECT_EQ(r, 0);
  if (r) fprintf(stderr, "  %s\n", e.msg);
  ASSERT_TRUE(qt_metric_set_find(&m, "sharpe"));
  EXPECT_NEAR(*qt_metric_set_find(&m, "sharpe"), 2.5, 1e-12);
  EXPECT_NEAR(*qt_metric_set_find(&m, "n"), 4, 0);
  EXPECT_NEAR(*qt_metric_set_find(&m, "flag"), 1, 0);
  EXPECT_TRUE(qt_metric_set_find(&m, "label") == NULL); /* strings are ignored */
  EXPECT_TRUE(isnan(*qt_metric_set_find(&m, "none")));
  EXPECT_EQ(m.n, 4);
  /* the trial's seed (42 in run_cmd) is in the environment */
  EXPECT_EQ(run_cmd("echo \"{\\\"s\\\": $QTUNE_TRIAL_SEED}\"", 0, 0, 1, &m, &e), 0);
  ASSERT_TRUE(qt_metric_set_find(&m, "s"));
  EXPECT_NEAR(*qt_metric_set_find(&m, "s"), 42, 0);
  /* plain sh, the command ignores stdin */
  EXPECT_EQ(run_cmd("echo '{\"v\": -1.5e3}'", 0, 0, 1, &m, &e), 0);
  EXPECT_NEAR(*qt_metric_set_find(&m, "v"), -1500, 0);
  qt_metric_set_fini(&m);
}

static void test_cmd_fail(void) {
  qt_metric_set m;
  qt_metric_set_init(&m);
  qt_err e;
  EXPECT_EQ(run_cmd("cat >/dev/null; echo 'bad thing happened' >&2; exit 3", 10, 1, 1, &m, &e),
            QT_EIO);
  EXPECT_CONTAINS(e.msg, "exit status 3");
  EXPECT_CONTAINS(e.msg, "bad thing happened");
  EXPECT_EQ(run_cmd("echo 'not json'", 10, 1, 1, &m, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "not a JSON object");
  EXPECT_EQ(run_cmd("echo '[1, 2]'", 10, 1, 1, &m, &e), QT_EPARSE);
  EXPECT_EQ(run_cmd("true", 10, 1, 1, &m, &e), QT_EPARSE); /* empty output */
  EXPECT_EQ(run_cmd("kill -TERM $$", 10, 1, 1, &m, &e), QT_EIO);
  EXPECT_CONTAINS(e.msg, "signal 15");
  EXPECT_EQ(run_cmd("/nonexistent/prog", 10, 1, 1, &m, &e), QT_EIO);
  EXPECT_CONTAINS(e.msg, "exit status 127");
  qt_metric_set_fini(&m);
}

static int proc_alive(long pid) {
  char path[64], st = 0;
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  int n = fscanf(f, "%*d %*s %c", &st);
  fclose(f);
  return n == 1 && st != 'Z';
}

static void test_cmd_timeout(void) {
  qt_metric_set m;
  qt_metric_set_init(&m);
  qt_err e;
  char file[] = "/tmp/qt_objcmd_XXXXXX";
  int fd = mkstemp(file);
  ASSERT_TRUE(fd >= 0);
  close(fd);
  char cmd[256];
  /* a background grandchild must die with the group */
  snprintf(cmd, sizeof cmd, "sleep 30 & echo $! > %s; wait", file);
  EXPECT_EQ(run_cmd(cmd, 0.5, 1, 1, &m, &e), QT_ETIMEOUT);
  EXPECT_CONTAINS(e.msg, "timed out after 0.5s");
  FILE *f = fopen(file, "r");
  long pid = 0;
  ASSERT_TRUE(f && fscanf(f, "%ld", &pid) == 1);
  fclose(f);
  remove(file);
  /* SIGKILL is delivered before waitpid returns for the leader; give the
   * reparented grandchild a moment to be reaped by init */
  for (int i = 0; i < 50 && proc_alive(pid); i++) usleep(20000);
  EXPECT_TRUE(!proc_alive(pid));
  qt_metric_set_fini(&m);
}

static void test_functions(void) {
  qt_space *sp = space2();
  ASSERT_TRUE(sp);
  qt_objective o;
  void *w;
  qt_metric_set m;
  qt_metric_set_init(&m);
  double u[2] = {3, 2};
  EXPECT_EQ(qt_objective_function("sphere", &o, NULL), 0);
  EXPECT_EQ(o.vt->worker_new(o.shared, &w, NULL), 0);
  EXPECT_EQ(o.vt->eval(w, sp, u, u, 0, &m, NULL), 0);
  EXPECT_NEAR(*qt_metric_set_find(&m, "value"), 13, 0);
  o.vt->worker_free(w);
  qt_objective_free(&o);
  qt_metric_set_clear(&m);
  EXPECT_EQ(qt_objective_function("rosenbrock", &o, NULL), 0);
  EXPECT_EQ(o.vt->worker_new(o.shared, &w, NULL), 0);
  EXPECT_EQ(o.vt->eval(w, sp, u, u, 0, &m, NULL), 0);
  EXPECT_NEAR(*qt_metric_set_find(&m, "value"), 100 * 49 + 4, 0); /* (2-9)^2*100 + (1-3)^2 */
  o.vt->worker_free(w);
  qt_objective_free(&o);
  qt_metric_set_clear(&m);
  EXPECT_EQ(qt_objective_function("fake_strategy", &o, NULL), 0);
  EXPECT_EQ(o.is_strategy, 1);
  EXPECT_EQ(o.vt->worker_new(o.shared, &w, NULL), 0);
  EXPECT_EQ(o.vt->eval(w, sp, u, u, 0, &m, NULL), 0);
  /* d2 = ((3-1)^2 + (2-1)^2) / 2 = 2.5 */
  EXPECT_NEAR(*qt_metric_set_find(&m, "value"), 2.5, 0);
  EXPECT_NEAR(*qt_metric_set_find(&m, "sharpe"), 2.5 - 7.5, 1e-12);
  EXPECT_NEAR(*qt_metric_set_find(&m, "trades"), 0, 1e-12);
  qt_goal g;
  qt_goal_default(&g, 1);
  EXPECT_EQ(qt_goal_check(&g, &m, NULL, NULL), 0);
  double v[2] = {1.5, 1}; /* d2 = 0.125: feasible */
  EXPECT_EQ(o.vt->eval(w, sp, v, v, 0, &m, NULL), 0);
  EXPECT_EQ(qt_goal_check(&g, &m, NULL, NULL), 1);
  o.vt->worker_free(w);
  qt_objective_free(&o);
  qt_err e;
  EXPECT_EQ(qt_objective_function("nope", &o, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "nope");
  qt_objective_free(&o); /* zeroed: no-op */
  qt_metric_set_fini(&m);
  qt_space_free(sp);
}

/* sma_cross over a synthetic sine market: the objective's metrics are the
 * engine + metrics result of the same params (run directly here). */
static void test_strategy(void) {
  const qt_strategy_vtbl *s = qt_strategy_find("sma_cross");
  if (!s) {
    printf("  (sma_cross not registered; skipped)\n");
    return;
  }
  qt_bars bars;
  ASSERT_TRUE(qt_bars_alloc(&bars, 3000, NULL) == 0);
  bars.interval_ms = 60000;
  for (size_t i = 0; i < bars.n; i++) {
    double c = 100 + 10 * sin((double)i / 50.0) + 0.01 * (double)i;
    bars.ts_ms[i] = 1700000000000LL + (int64_t)i * 60000;
    bars.open[i] = i ? bars.close[i - 1] : c;
    bars.close[i] = c;
    bars.high[i] = (c > bars.open[i] ? c : bars.open[i]) + 0.05;
    bars.low[i] = (c < bars.open[i] ? c : bars.open[i]) - 0.05;
    bars.volume[i] = 1;
  }
  qt_feed feed = {.inst = qt_instrument_default("SYN"), .bars = &bars};
  qt_space *sp = NULL;
  ASSERT_TRUE(qt_space_from_spec(s->params, s->n_params, &sp, NULL) == 0);
  size_t n = qt_space_n(sp);
  double *x = calloc(n, sizeof *x), *u = calloc(n, sizeof *u), *p = calloc(s->n_params, sizeof *p);
  qt_strategy_defaults(s, p);
  for (size_t k = 0; k < n; k++) {
    int i = qt_strategy_param_index(s, qt_space_dim(sp, k)->name);
    u[k] = p[i];
    x[k] = qt_space_to_internal(sp, k, u[k]);
  }
  qt_objective o;
  void *w = NULL;
  qt_metric_set m;
  qt_metric_set_init(&m);
  qt_err e;
  EXPECT_EQ(qt_objective_strategy(s, &feed, 1, NULL, NULL, &o, &e), 0);
  EXPECT_EQ(o.vt->worker_new(o.shared, &w, &e), 0);
  int r = o.vt->eval(w, sp, x, u, 1, &m, &e);
  EXPECT_EQ(r, 0);
  if (r) fprintf(stderr, "  %s\n", e.msg);
  /* same params again on the reused engine: identical metrics */
  qt_metric_set m2;
  qt_metric_set_init(&m2);
  EXPECT_EQ(o.vt->eval(w, sp, x, u, 1, &m2, &e), 0);
  qt_engine *eng = NULL;
  qt_result res;
  qt_metrics ref;
  qt_engine_opts eo = qt_engine_opts_default();
  qt_metrics_opts mo = qt_metrics_opts_default();
  ASSERT_TRUE(qt_engine_new(&eo, &eng, NULL) == 0);
  if (qt_engine_run(eng, &feed, 1, s, p, &res, NULL) == 0 &&
      qt_metrics_compute(&res, bars.close, &mo, &ref, NULL) == 0) {
    EXPECT_EQ(m.n, QT_METRICS_N);
    for (int k = 0; k < QT_METRICS_N; k++) {
      const double *v = qt_metric_set_find(&m, qt_metrics_name(k));
      const double *v2 = qt_metric_set_find(&m2, qt_metrics_name(k));
      ASSERT_TRUE(v && v2);
      double want = qt_metrics_get(&ref, k);
      if (isnan(want)) EXPECT_TRUE(isnan(*v));
      else EXPECT_NEAR(*v, want, 0);
      if (!isnan(want)) EXPECT_NEAR(*v2, want, 0);
    }
    EXPECT_TRUE(*qt_metric_set_find(&m, "trades") > 0);
  }
  qt_engine_free(eng);
  qt_metric_set_fini(&m);
  qt_metric_set_fini(&m2);
  o.vt->worker_free(w);
  qt_objective_free(&o);
  qt_space_free(sp);
  free(x);
  free(u);
  free(p);
  qt_bars_fini(&bars);
}

QT_TESTS(T(test_cmd_ok), T(test_cmd_fail), T(test_cmd_timeout), T(test_functions),
         T(test_strategy))
