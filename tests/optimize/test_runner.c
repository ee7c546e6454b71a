/* The runner: grid exhaustion (QT_DONE), the timeout budget, progress
 * reports, heartbeats, recovery of stale trials at start, and a worker that
 * cannot start (both modes stop with its error instead of hanging). */
#include "qt_test.h"
#include "qtune/optimize.h"

#include <unistd.h>

static char g_dir[64];

static void db_url(char *buf, size_t cap, const char *name) {
  if (!g_dir[0]) {
    strcpy(g_dir, "/tmp/qt_runner_XXXXXX");
    if (!mkdtemp(g_dir)) abort();
  }
  snprintf(buf, cap, "sqlite:///%s/%s.db", g_dir, name);
}

static qt_study *open_int(const char *url, const char *sampler) {
  qt_space *sp = NULL;
  if (qt_space_new(&sp, NULL)) return NULL;
  qt_dim a = {.name = "a", .type = QT_PARAM_INT, .lo = 1, .hi = 3, .step = 1, .def = 1};
  qt_dim b = {.name = "b", .type = QT_PARAM_INT, .lo = 1, .hi = 2, .step = 1, .def = 1};
  qt_space_add(sp, &a, NULL);
  qt_space_add(sp, &b, NULL);
  qt_study_opts o = qt_study_opts_default();
  o.name = "r";
  o.storage_url = url;
  o.seed = 4;
  o.sampler = qt_sampler_find(sampler);
  strcpy(o.goal.metric, "value");
  o.goal.maximize = 0;
  qt_study *st = NULL;
  qt_err e;
  if (qt_study_open(&o, sp, &st, &e)) fprintf(stderr, "  open: %s\n", e.msg);
  qt_space_free(sp);
  return st;
}

static void test_grid_exhausts(void) {
  char url[256];
  db_url(url, sizeof url, "grid");
  for (int det = 0; det <= 1; det++) {
    char u2[300];
    snprintf(u2, sizeof u2, "%s%d", url, det);
    qt_study *st = open_int(u2, "grid");
    ASSERT_TRUE(st);
    qt_objective obj;
    ASSERT_TRUE(qt_objective_function("sphere", &obj, NULL) == 0);
    qt_run_opts ro = qt_run_opts_default();
    ro.n_trials = 100;
    ro.jobs = 2;
    ro.deterministic = det;
    qt_progress p;
    qt_err e;
    EXPECT_EQ(qt_study_run(st, &obj, &ro, &p, &e), 0);
    EXPECT_EQ(p.done, 6); /* 3 x 2 points, then QT_DONE */
    EXPECT_EQ(qt_study_n_trials(st), 6);
    int seen[4][3] = {{0}};
    for (size_t i = 0; i < qt_study_n_trials(st); i++) {
      qt_trial_info ti;
      qt_study_trial_info(st, i, &ti);
      int a = 0, b = 0;
      ASSERT_TRUE(sscanf(ti.params_json, "{\"a\":%d,\"b\":%d}", &a, &b) == 2);
      if (a >= 1 && a <= 3 && b >= 1 && b <= 2) seen[a][b]++;
    }
    for (int a = 1; a <= 3; a++)
      for (int b = 1; b <= 2; b++) EXPECT_EQ(seen[a][b], 1);
    /* best is the smallest a^2 + b^2 */
    long bi = qt_study_best(st);
    ASSERT_TRUE(bi >= 0);
    qt_trial_info ti;
    qt_study_trial_info(st, (size_t)bi, &ti);
    EXPECT_NEAR(ti.objective, 2, 0);
    EXPECT_STREQ(ti.params_json, "{\"a\":1,\"b\":1}");
    qt_objective_free(&obj);
    qt_study_free(st);
  }
}

static void test_timeout_budget(void) {
  char url[256];
  db_url(url, sizeof url, "timeout");
  qt_study *st = open_int(url, "random");
  ASSERT_TRUE(st);
  qt_objective obj;
  ASSERT_TRUE(qt_objective_command("sleep 0.05; echo '{\"value\": 2}'", 10, &obj, NULL) == 0);
  qt_run_opts ro = qt_run_opts_default();
  ro.n_trials = 0; /* open-ended: the timeout ends it */
  ro.timeout_s = 0.4;
  ro.jobs = 2;
  qt_progress p;
  qt_err e;
  EXPECT_EQ(qt_study_run(st, &obj, &ro, &p, &e), 0);
  EXPECT_TRUE(p.done >= 1);
  EXPECT_EQ(p.total, 0);
  size_t c[QT_TRIAL_N_STATES];
  qt_study_counts(st, c);
  EXPECT_EQ(c[QT_TRIAL_RUNNING], 0);
  EXPECT_EQ(c[QT_TRIAL_COMPLETE], p.done);
  qt_objective_free(&obj);
  qt_study_free(st);
}

typedef struct seen_prog {
  size_t calls, last_done, total;
  double best;
  int monotone;
} seen_prog;

static void on_prog(void *ud, const qt_progress *p) {
  seen_prog *s = ud;
  if (p->done < s->last_done) s->monotone = 0;
  s->calls++;
  s->last_done = p->done;
  s->total = p->total;
  s->best = p->best;
}

/* Progress reports; heartbeats of a long trial; a stale trial of a dead
 * process is failed at start. */
static void test_progress_heartbeat_stale(void) {
  char url[256];
  db_url(url, sizeof url, "hb");
  qt_study *st = open_int(url, "random");
  ASSERT_TRUE(st);
  qt_err e;
  /* a "crashed" process: claimed, never told */
  qt_trial dead;
  ASSERT_TRUE(qt_study_ask(st, NULL, "dead", &dead, &e) == 0);
  usleep(20000);
  qt_objective obj;
  ASSERT_TRUE(qt_objective_command("sleep 0.5; echo '{\"value\": 3}'", 10, &obj, NULL) == 0);
  qt_run_opts ro = qt_run_opts_default();
  ro.n_trials = 2;
  ro.jobs = 2;
  ro.stale_s = 0.01;
  ro.heartbeat_s = 0.05;
  ro.progress_every_s = 0.05;
  seen_prog sp = {0, 0, 0, NAN, 1};
  ro.progress = on_prog;
  ro.progress_ud = &sp;
  qt_progress p;
  EXPECT_EQ(qt_study_run(st, &obj, &ro, &p, &e), 0);
  EXPECT_EQ(p.done, 2);
  EXPECT_TRUE(sp.calls >= 2);
  EXPECT_TRUE(sp.monotone);
  EXPECT_EQ(sp.last_done, 2); /* the final report */
  EXPECT_EQ(sp.total, 2);
  EXPECT_NEAR(sp.best, 3, 0);
  EXPECT_NEAR(p.best, 3, 0);
  size_t c[QT_TRIAL_N_STATES];
  qt_study_counts(st, c);
  EXPECT_EQ(c[QT_TRIAL_FAIL], 1); /* the dead one */
  EXPECT_EQ(c[QT_TRIAL_COMPLETE], 2);
  EXPECT_EQ(c[QT_TRIAL_RUNNING], 0);
  /* the stored heartbeats moved while the trials ran */
  qt_storage *s = qt_study_storage(st);
  qt_study_rec sr;
  ASSERT_TRUE(s->vt->study_load(s->self, "r", &sr, &e) == 0);
  qt_trial_rec *recs = NULL;
  size_t nr = 0;
  ASSERT_TRUE(s->vt->trials_list(s->self, sr.id, 1u << QT_TRIAL_COMPLETE, &recs, &nr, &e) == 0);
  ASSERT_TRUE(nr == 2);
  for (size_t i = 0; i < nr; i++) EXPECT_TRUE(recs[i].heartbeat_ms > recs[i].started_ms);
  qt_trial_recs_free(recs, nr);
  qt_study_rec_fini(&sr);
  /* telling the recovered trial now is a late result: dropped, not an
   * error, and the recovery's failure stands */
  EXPECT_EQ(qt_study_tell(st, &dead, QT_TRIAL_FAIL, NULL, "late", &e), 0);
  qt_trial_fini(&dead);
  qt_objective_free(&obj);
  qt_study_free(st);
}

static int bad_worker_new(const void *shared, void **out_w, qt_err *err) {
  *out_w = NULL;
  return qt_err_set(err, QT_EINVAL, "worker cannot start: no engine");
}
static int never_eval(void *w, const qt_space *sp, const double *x, const double *u,
                      uint64_t seed, qt_metric_set *out, qt_err *err) {
  return qt_err_set(err, QT_EINVAL, "unreachable");
}
static void no_free(void *w) {}
static const qt_objective_vtbl k_bad = {"bad", bad_worker_new, never_eval, no_free, no_free, NULL};

static void test_worker_fails(void) {
  char url[256];
  for (int det = 0; det <= 1; det++) {
    char name[32];
    snprintf(name, sizeof name, "bad%d", det);
    db_url(url, sizeof url, name);
    qt_study *st = open_int(url, "random");
    ASSERT_TRUE(st);
    qt_objective obj = {&k_bad, NULL, 0};
    qt_run_opts ro = qt_run_opts_default();
    ro.n_trials = 10;
    ro.jobs = 2;
    ro.deterministic = det;
    qt_err e;
    EXPECT_EQ(qt_study_run(st, &obj, &ro, NULL, &e), QT_EINVAL);
    EXPECT_CONTAINS(e.msg, "worker cannot start");
    size_t c[QT_TRIAL_N_STATES];
    qt_study_counts(st, c);
    EXPECT_EQ(c[QT_TRIAL_RUNNING], 0);
    EXPECT_EQ(c[QT_TRIAL_COMPLETE], 0);
    qt_study_free(st);
  }
}

static void test_cleanup_dir(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
  if (g_dir[0]) EXPECT_EQ(system(cmd), 0);
}

QT_TESTS(T(test_grid_exhausts), T(test_timeout_budget), T(test_progress_heartbeat_stale),
         T(test_worker_fails), T(test_cleanup_dir))
