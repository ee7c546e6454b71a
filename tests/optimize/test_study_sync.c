/* The study's incremental sync (only the trials stamped since its last
 * look) against a whole read, on SQLite and on the PostgreSQL of
 * QTUNE_PG_URL: two other processes tell trials into one study while this
 * one tells its own and syncs; at the end its copy (states, params, metrics,
 * objectives under the weighted score's normalization, the best) must equal
 * a freshly opened study's. */
#include "qt_test.h"
#include "storage/storage_fixture.h"
#include "optimize/study_int.h"
#include "qtune/optimize.h"

#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static sf_db g_db = {.name = "study_sync",
                     .drop = "DROP TABLE IF EXISTS trials, studies, qtune_meta CASCADE"};

static qt_study *open_study(uint64_t seed) {
  qt_study_opts o = qt_study_opts_default();
  o.name = "sync";
  o.storage_url = g_db.url;
  o.seed = seed;
  o.sampler = qt_sampler_find("random");
  qt_goal_default(&o.goal, 1); /* the weighted score: normalized over all trials */
  qt_space *sp = NULL;
  if (qt_space_new(&sp, NULL) != 0) return NULL;
  qt_dim a = {.name = "x", .type = QT_PARAM_FLOAT, .lo = -2, .hi = 3, .def = 0};
  qt_space_add(sp, &a, NULL);
  qt_study *st = NULL;
  qt_err e;
  if (qt_study_open(&o, sp, &st, &e)) fprintf(stderr, "  open: %s\n", e.msg);
  qt_space_free(sp);
  return st;
}

/* Tells n trials: metrics from the params (each process its own spread, so
 * the extremes move), every 6th a failure. */
static int tell_some(qt_study *st, int who, int n) {
  static const char *const names[7] = {"sharpe", "total_profit", "calmar", "max_drawdown",
                                       "trades", "win_rate", "profit_factor"};
  qt_metric_set m;
  qt_metric_set_init(&m);
  int r = 0;
  for (int i = 0; i < n && !r; i++) {
    qt_trial t;
    qt_err e;
    if ((r = qt_study_ask(st, NULL, "w", &t, &e)) != 0) break;
    double x = t.user[0] * (1 + who);
    double v[7] = {x, 100 * x * x, 0.5 + x, 0.05 + 0.01 * (i % 10), 60, 0.5, 1.2};
    qt_metric_set_clear(&m);
    for (int k = 0; k < 7; k++) qt_metric_set_put(&m, names[k], v[k], NULL);
    r = i % 6 == 5 ? qt_study_tell(st, &t, QT_TRIAL_FAIL, NULL, "boom", &e)
                   : qt_study_tell(st, &t, QT_TRIAL_COMPLETE, &m, NULL, &e);
    if (r) fprintf(stderr, "  tell: %s\n", e.msg);
    qt_trial_fini(&t);
  }
  qt_metric_set_fini(&m);
  return r;
}

static int same_num(double a, double b) {
  return a == b || (isnan(a) && isnan(b)) || fabs(a - b) <= 1e-12;
}

static int same_text(const char *a, const char *b) {
  return (!a && !b) || (a && b && !strcmp(a, b));
}

static void sync_equals_whole_read(void) {
  sf_fresh(&g_db, "procs");
  enum { KIDS = 2, EACH = 120, MINE = 60 };
  qt_study *st = open_study(1);
  ASSERT_TRUE(st);
  int full = 0;
  EXPECT_EQ(qt__study_last_sync_rows(st, &full), 0);
  EXPECT_EQ(full, 1);
  pid_t pids[KIDS];
  for (int k = 0; k < KIDS; k++) {
    if ((pids[k] = fork()) == 0) {
      qt_study *ks = open_study(1);
      int r = ks ? tell_some(ks, k + 1, EACH) : 1;
      qt_study_free(ks);
      _exit(r ? 1 : 0);
    }
  }
  qt_err e;
  size_t syncs = 0, read = 0;
  for (int i = 0; i < MINE; i += 5) {
    EXPECT_EQ(tell_some(st, 0, 5), 0);
    EXPECT_EQ(qt_study_sync(st, &e), 0);
    read += qt__study_last_sync_rows(st, &full);
    EXPECT_EQ(full, 0);
    syncs++;
  }
  for (int k = 0; k < KIDS; k++) {
    int status = 0;
    waitpid(pids[k], &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(qt_study_sync(st, &e), 0);
  read += qt__study_last_sync_rows(st, &full);
  /* nothing changed since: nothing is read */
  EXPECT_EQ(qt_study_sync(st, &e), 0);
  EXPECT_EQ(qt__study_last_sync_rows(st, &full), 0);
  EXPECT_EQ(full, 0);
  /* each trial is read about once per change after this process last saw
   * it, not once per sync: far fewer rows than syncs x trials */
  size_t total = KIDS * EACH + MINE;
  EXPECT_TRUE(read < 4 * total);
  EXPECT_TRUE(syncs * total / 2 > read);
  qt_study *whole = open_study(1);
  ASSERT_TRUE(whole);
  EXPECT_EQ(qt_study_n_trials(st), total);
  EXPECT_EQ(qt_study_n_trials(whole), total);
  size_t same = 0;
  for (size_t i = 0; i < total && i < qt_study_n_trials(st) && i < qt_study_n_trials(whole); i++) {
    qt_trial_info a, b;
    qt_study_trial_info(st, i, &a);
    qt_study_trial_info(whole, i, &b);
    int ok = a.number == b.number && a.state == b.state && a.feasible == b.feasible &&
             same_text(a.params_json, b.params_json) &&
             same_text(a.metrics_json, b.metrics_json) && same_text(a.error, b.error) &&
             same_num(a.objective, b.objective);
    if (!ok && same + 3 > i)
      fprintf(stderr, "  trial %zu differs: %lld/%lld state %d/%d obj %.17g/%.17g %s/%s\n", i,
              (long long)a.number, (long long)b.number, a.state, b.state, a.objective,
              b.objective, a.params_json ? a.params_json : "-", b.params_json ? b.params_json : "-");
    same += ok;
  }
  EXPECT_EQ(same, total);
  EXPECT_EQ(qt_study_best(st), qt_study_best(whole));
  size_t ca[QT_TRIAL_N_STATES], cb[QT_TRIAL_N_STATES];
  qt_study_counts(st, ca);
  qt_study_counts(whole, cb);
  EXPECT_EQ(ca[QT_TRIAL_COMPLETE], cb[QT_TRIAL_COMPLETE]);
  EXPECT_EQ(ca[QT_TRIAL_FAIL], cb[QT_TRIAL_FAIL]);
  EXPECT_EQ(cb[QT_TRIAL_FAIL], (size_t)(KIDS * (EACH / 6)));
  /* the stored scores: written where they differ, then equal to the copy's */
  EXPECT_EQ(qt_study_store_scores(st, &e), 0);
  qt_study_free(whole);
  whole = open_study(1);
  ASSERT_TRUE(whole);
  qt_storage *s = qt_study_storage(whole);
  qt_trial_rec *recs = NULL;
  size_t nr = 0;
  EXPECT_EQ(s->vt->trials_list(s->self, qt__study_id(whole), 0, &recs, &nr, &e), 0);
  size_t sc_same = 0;
  for (size_t i = 0; i < nr && i < qt_study_n_trials(st); i++) {
    qt_trial_info a;
    qt_study_trial_info(st, i, &a);
    sc_same += same_num(a.objective, recs[i].score);
  }
  EXPECT_EQ(sc_same, total);
  qt_trial_recs_free(recs, nr);
  qt_study_free(whole);
  qt_study_free(st);
}

/* A deletion (qtune cleanup) makes the next sync a whole read. */
static void deletion_reads_whole(void) {
  sf_fresh(&g_db, "del");
  qt_study *st = open_study(2);
  ASSERT_TRUE(st);
  EXPECT_EQ(tell_some(st, 0, 12), 0);
  qt_err e;
  EXPECT_EQ(qt_study_sync(st, &e), 0);
  int full = 1;
  EXPECT_EQ(qt__study_last_sync_rows(st, &full), 12); /* its own writes, once */
  EXPECT_EQ(full, 0);
  qt_storage *s = qt_study_storage(st);
  size_t nd = 0;
  EXPECT_EQ(s->vt->trials_delete_worse(s->self, qt__study_id(st), 1e300, 0, &nd, &e), 0);
  EXPECT_EQ(nd, 10); /* every finished trial with a score: the complete ones */
  EXPECT_EQ(qt_study_sync(st, &e), 0);
  EXPECT_EQ(qt__study_last_sync_rows(st, &full), 2);
  EXPECT_EQ(full, 1);
  EXPECT_EQ(qt_study_n_trials(st), 2);
  qt_study_free(st);
}

BOTH(sync_equals_whole_read)
BOTH(deletion_reads_whole)

QT_TESTS(T(sqlite_sync_equals_whole_read), T(pg_sync_equals_whole_read),
         T(sqlite_deletion_reads_whole), T(pg_deletion_reads_whole))
