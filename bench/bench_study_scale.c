/* The study's own cost per trial as a study grows (issue 11, scale-out):
 * ask + tell of a zero-cost objective (the pure function "fake_strategy"
 * for the weighted score, "sphere" for a plain metric), random sampler (its
 * proposal costs the same at any size, so what grows is the study and the
 * storage), a sync every 50 trials as the runner's periodic one.  Per
 * backend (SQLite in a temp file, PostgreSQL started here with
 * scripts/pg-test-server, or QTUNE_PG_URL) and objective one JSON line:
 * ms per trial of trials 1,000-2,000 and of the last 1,000, their ratio
 * (target <= 2, measured in the same run) and the last 1,000's ms (target
 * < 2 on PostgreSQL), then the cost of opening the finished study (a whole
 * read, as a read-only tool does) and of the final score store.
 * Env: BENCH_SCALE_TRIALS (default 100000; BENCH_QUICK=1: 5000),
 * BENCH_SCALE_PG=0 skips PostgreSQL, BENCH_SCALE_SQLITE=0 SQLite;
 * BENCH_SCALE_OBJ=score or value runs only that objective. */
#include "bench.h"
#include "qtune/optimize.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long env_long(const char *k, long def) {
  const char *v = getenv(k);
  return v && *v ? atol(v) : def;
}

static qt_space *space3(void) {
  qt_space *sp = NULL;
  if (qt_space_new(&sp, NULL)) return NULL;
  const char *names[3] = {"a", "b", "c"};
  for (int k = 0; k < 3; k++) {
    qt_dim d = {.type = QT_PARAM_FLOAT, .lo = -2, .hi = 3, .def = 0};
    snprintf(d.name, sizeof d.name, "%s", names[k]);
    qt_space_add(sp, &d, NULL);
  }
  return sp;
}

static int run_one(const char *backend, const char *url, int score, long trials) {
  const char *only = getenv("BENCH_SCALE_OBJ");
  if (only && *only && strcmp(only, score ? "score" : "value") != 0) return 0;
  const char *fn = score ? "fake_strategy" : "sphere";
  char name[64];
  snprintf(name, sizeof name, "scale_%s_%d", score ? "score" : "value", (int)getpid());
  qt_study_opts so = qt_study_opts_default();
  so.name = name;
  so.storage_url = url;
  so.seed = 1;
  so.sampler = &qt_sampler_random;
  if (score) {
    qt_goal_default(&so.goal, 1);
  } else {
    qt_goal_default(&so.goal, 0);
    strcpy(so.goal.metric, "value");
    so.goal.maximize = 0;
  }
  qt_space *sp = space3();
  qt_objective obj = {0};
  qt_study *st = NULL;
  void *w = NULL;
  qt_metric_set m;
  qt_metric_set_init(&m);
  qt_err e = {0};
  int r = qt_objective_function(fn, &obj, &e);
  if (!r) r = qt_study_open(&so, sp, &st, &e);
  if (!r) r = obj.vt->worker_new(obj.shared, &w, &e);
  double t_a0 = 0, t_a1 = 0, t_b0 = 0, t_end = 0;
  long b0 = trials - 1000;
  for (long i = 0; !r && i < trials; i++) {
    if (i == 1000) t_a0 = bench_now();
    if (i == 2000) t_a1 = bench_now();
    if (i == b0) t_b0 = bench_now();
    qt_trial t;
    if ((r = qt_study_ask(st, NULL, "bench", &t, &e)) != 0) break;
    qt_metric_set_clear(&m);
    r = obj.vt->eval(w, qt_study_space(st), t.x, t.user, t.seed, &m, &e);
    if (!r) r = qt_study_tell(st, &t, QT_TRIAL_COMPLETE, &m, NULL, &e);
    qt_trial_fini(&t);
    if (!r && i % 50 == 49) r = qt_study_sync(st, &e);
  }
  t_end = bench_now();
  double store_ms = 0, open_ms = 0;
  if (!r) {
    double t0 = bench_now();
    r = qt_study_store_scores(st, &e);
    store_ms = (bench_now() - t0) * 1e3;
  }
  if (!r) {
    /* a read-only tool's open: every trial read and parsed */
    qt_study_opts ro = qt_study_opts_default();
    ro.name = name;
    ro.storage_url = url;
    qt_study *rs = NULL;
    double t0 = bench_now();
    r = qt_study_open(&ro, NULL, &rs, &e);
    open_ms = (bench_now() - t0) * 1e3;
    qt_study_free(rs);
  }
  if (r) {
    fprintf(stderr, "bench_study_scale: %s %s: %s\n", backend, fn, e.msg);
  } else {
    double early = (t_a1 - t_a0) / 1000 * 1e3, late = (t_end - t_b0) / 1000 * 1e3;
    printf("{\"bench\":\"study_scale\",\"backend\":\"%s\",\"objective\":\"%s\",\"sampler\":"
           "\"random\",\"trials\":%ld,\"ms_per_trial_1000_2000\":%.4f,"
           "\"ms_per_trial_last_1000\":%.4f,\"ratio_last_vs_1000_2000\":%.3f,"
           "\"target_ratio_max\":2,\"target_last_ms_max\":2,\"store_scores_ms\":%.1f,"
           "\"open_readonly_ms\":%.1f}\n",
           backend, score ? "score" : "value", trials, early, late, late / early, store_ms,
           open_ms);
    fflush(stdout);
  }
  if (w) obj.vt->worker_free(w);
  qt_metric_set_fini(&m);
  qt_study_free(st);
  qt_objective_free(&obj);
  qt_space_free(sp);
  return r;
}

int main(void) {
  int quick = getenv("BENCH_QUICK") && strcmp(getenv("BENCH_QUICK"), "0") != 0;
  long trials = env_long("BENCH_SCALE_TRIALS", quick ? 5000 : 100000);
  if (trials < 3000) trials = 3000;
  int rc = 0;
  char path[128], url[160];
  snprintf(path, sizeof path, "/tmp/qt_bench_scale_%ld.db", (long)getpid());
  snprintf(url, sizeof url, "sqlite:///%s", path);
  for (int score = 1; score >= 0 && env_long("BENCH_SCALE_SQLITE", 1); score--) {
    remove(path);
    rc |= run_one("sqlite", url, score, trials);
  }
  remove(path);
  char x[160];
  snprintf(x, sizeof x, "%s-wal", path);
  remove(x);
  snprintf(x, sizeof x, "%s-shm", path);
  remove(x);
  if (env_long("BENCH_SCALE_PG", 1) == 0) return rc;
  const char *pg = getenv("QTUNE_PG_URL");
  char dir[128] = "", pgurl[512] = "";
  if (pg && *pg) {
    snprintf(pgurl, sizeof pgurl, "%s", pg);
  } else {
    /* a private server, as tests/run.sh starts one */
    snprintf(dir, sizeof dir, "/tmp/qt_bench_scale_pg_%ld", (long)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "scripts/pg-test-server start %s/data %d", dir,
             56200 + (int)(getpid() % 800));
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(pgurl, sizeof pgurl, p)) pgurl[0] = '\0';
    if (p) pclose(p);
    pgurl[strcspn(pgurl, "\n")] = '\0';
    if (!pgurl[0]) {
      fprintf(stderr, "bench_study_scale: no PostgreSQL server (%s)\n", cmd);
      return 1;
    }
  }
  for (int score = 1; score >= 0; score--) rc |= run_one("postgresql", pgurl, score, trials);
  if (dir[0]) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "scripts/pg-test-server stop %s/data; rm -rf %s", dir, dir);
    if (system(cmd) != 0) rc = 1;
  }
  return rc;
}
