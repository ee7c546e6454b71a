#include "qt_test.h"
#include "qtune/optimize.h"

#include <math.h>
#include <string.h>

/* Pruner decisions at and around their thresholds, worked out by hand as
 * Optuna's pruners decide them (optuna/pruners/_percentile.py,
 * _successive_halving.py, _hyperband.py). */

#define MAXT 64
#define MAXS 16
static qt_step_value g_iv[MAXT][MAXS];
static qt_prune_trial g_t[MAXT];
static size_t g_n;

static void reset(void) { g_n = 0; }

/* Adds a trial with values v[0..k) at steps s[0..k); returns its index. */
static size_t add(int state, const int64_t *s, const double *v, size_t k) {
  size_t i = g_n++;
  for (size_t j = 0; j < k; j++) g_iv[i][j] = (qt_step_value){s[j], v[j]};
  g_t[i] = (qt_prune_trial){(int64_t)i, state, g_iv[i], k};
  return i;
}

/* A complete trial with value v at step 1. */
static void done1(double v) {
  int64_t s = 1;
  add(QT_TRIAL_COMPLETE, &s, &v, 1);
}

static qt_pruner *make(const char *name, const char *k1, const char *v1, const char *k2,
                       const char *v2) {
  qt_kv kv[3] = {{k1, v1}, {k2, v2}, {NULL, NULL}};
  if (!k2) kv[1] = (qt_kv){NULL, NULL};
  qt_pruner *p = NULL;
  qt_err e;
  int r = qt_pruner_new(name, k1 ? kv : NULL, &p, &e);
  if (r) fprintf(stderr, "pruner: %s\n", e.msg);
  return p;
}

/* Is a running trial with value v at step `step` pruned? */
static int prunes(const qt_pruner *p, int64_t step, double v, int maximize) {
  size_t cur = add(QT_TRIAL_RUNNING, &step, &v, 1);
  int r = qt_pruner_should_prune(p, g_t, g_n, cur, maximize);
  g_n--;
  return r;
}

/* Median of 1..5 at step 1 is 3: a maximized trial below it stops, at it or
 * above it goes on; minimized, the other way round. */
static void median_threshold(void) {
  qt_pruner *p = make("median", "n_startup_trials", "5", NULL, NULL);
  ASSERT_TRUE(p);
  reset();
  for (int k = 1; k <= 5; k++) done1(k);
  EXPECT_EQ(prunes(p, 1, 2.999, 1), 1);
  EXPECT_EQ(prunes(p, 1, 3.0, 1), 0);
  EXPECT_EQ(prunes(p, 1, 3.001, 1), 0);
  EXPECT_EQ(prunes(p, 1, 3.001, 0), 1);
  EXPECT_EQ(prunes(p, 1, 3.0, 0), 0);
  EXPECT_EQ(prunes(p, 1, 2.0, 0), 0);
  /* nothing reported at step 2 by the complete trials: no decision */
  EXPECT_EQ(prunes(p, 2, -100, 1), 0);
  /* a NaN best intermediate value is pruned, as Optuna does */
  EXPECT_EQ(prunes(p, 1, NAN, 1), 1);
  qt_pruner_free(p);
}

/* n_startup_trials: 4 complete trials of 5 needed: never pruned; the 5th
 * arms it.  Running and failed trials do not count. */
static void median_startup_and_warmup(void) {
  qt_pruner *p = make("median", NULL, NULL, NULL, NULL); /* defaults: 5 startup, 0 warmup */
  ASSERT_TRUE(p);
  reset();
  for (int k = 1; k <= 4; k++) done1(k);
  int64_t s = 1;
  double v = 100;
  add(QT_TRIAL_FAIL, &s, &v, 1);
  add(QT_TRIAL_RUNNING, &s, &v, 1);
  EXPECT_EQ(prunes(p, 1, -1, 1), 0);
  done1(5);
  EXPECT_EQ(prunes(p, 1, -1, 1), 1);
  qt_pruner_free(p);
  /* warm-up: steps below n_warmup_steps are never pruned */
  p = make("median", "n_warmup_steps", "2", "n_startup_trials", "1");
  ASSERT_TRUE(p);
  reset();
  int64_t st[3] = {1, 2, 3};
  double vv[3] = {10, 10, 10};
  for (int k = 0; k < 3; k++) add(QT_TRIAL_COMPLETE, st, vv, 3);
  EXPECT_EQ(prunes(p, 1, 0, 1), 0);
  EXPECT_EQ(prunes(p, 2, 0, 1), 1);
  qt_pruner_free(p);
}

/* interval_steps 2, warm-up 0: only the first report in each interval of 2
 * steps is checked (step 3 right after step 2 is skipped). */
static void percentile_interval(void) {
  qt_pruner *p = make("median", "interval_steps", "2", "n_startup_trials", "1");
  ASSERT_TRUE(p);
  reset();
  int64_t st[4] = {1, 2, 3, 4};
  double vv[4] = {10, 10, 10, 10};
  add(QT_TRIAL_COMPLETE, st, vv, 4);
  double mine[2] = {0, 0};
  int64_t ms[2] = {2, 3};
  size_t cur = add(QT_TRIAL_RUNNING, ms, mine, 2);
  EXPECT_EQ(qt_pruner_should_prune(p, g_t, g_n, cur, 1), 0); /* step 3: 2 was reported */
  g_t[cur].n_iv = 1;                                            /* only step 2 */
  EXPECT_EQ(qt_pruner_should_prune(p, g_t, g_n, cur, 1), 1);
  qt_pruner_free(p);
}

/* percentile=25 maximized: the 75th percentile of 1..5 (numpy: 4.0) is the
 * bar; minimized: the 25th (2.0).  The best value over the trial's steps
 * counts, not its last. */
static void percentile_threshold(void) {
  qt_pruner *p = make("percentile", "percentile", "25", "n_startup_trials", "5");
  ASSERT_TRUE(p);
  reset();
  for (int k = 1; k <= 5; k++) done1(k);
  EXPECT_EQ(prunes(p, 1, 3.99, 1), 1);
  EXPECT_EQ(prunes(p, 1, 4.0, 1), 0);
  EXPECT_EQ(prunes(p, 1, 2.01, 0), 1);
  EXPECT_EQ(prunes(p, 1, 2.0, 0), 0);
  /* interpolated: 1..4 -> 75th percentile 3.25 */
  g_n = 4;
  EXPECT_EQ(prunes(p, 1, 3.24, 1), 0); /* only 4 complete: startup */
  qt_pruner_free(p);
  p = make("percentile", "percentile", "25", "n_startup_trials", "1");
  EXPECT_EQ(prunes(p, 1, 3.24, 1), 1);
  EXPECT_EQ(prunes(p, 1, 3.25, 1), 0);
  /* best over steps: 5 at step 0, 1 now at step 1 -> best 5 >= 3.25 */
  int64_t ms[2] = {0, 1};
  double mv[2] = {5, 1};
  size_t cur = add(QT_TRIAL_RUNNING, ms, mv, 2);
  EXPECT_EQ(qt_pruner_should_prune(p, g_t, g_n, cur, 1), 0);
  qt_pruner_free(p);
}

/* Successive halving, min_resource 1, reduction factor 2: rung 0 at step 1,
 * rung 1 at step 2.  At rung 0 with competitors 1, 2, 3 and the trial's own
 * value (4 values): promotable_idx = 4 / 2 - 1 = 1, so a maximized trial
 * must reach the 2nd largest value. */
static void sha_threshold(void) {
  qt_pruner *p = make("sha", "min_resource", "1", "reduction_factor", "2");
  ASSERT_TRUE(p);
  reset();
  for (int k = 1; k <= 3; k++) done1(k);
  EXPECT_EQ(prunes(p, 1, 2.5, 1), 0); /* sorted 1 2 2.5 3: 2nd largest is 2.5 */
  EXPECT_EQ(prunes(p, 1, 1.5, 1), 1); /* sorted 1 1.5 2 3: needs 2 */
  EXPECT_EQ(prunes(p, 1, 2.0, 1), 0); /* ties promote */
  EXPECT_EQ(prunes(p, 1, 1.5, 0), 0); /* minimized: 2nd smallest */
  EXPECT_EQ(prunes(p, 1, 2.5, 0), 1);
  /* before the first rung nothing is decided */
  EXPECT_EQ(prunes(p, 0, -1e9, 1), 0);
  qt_pruner_free(p);
  /* min_resource 2: step 1 is below rung 0 */
  p = make("sha", "min_resource", "2", "reduction_factor", "2");
  EXPECT_EQ(prunes(p, 1, -1e9, 1), 0);
  qt_pruner_free(p);
}

/* The first trials at a rung (fewer than eta values) are promoted only
 * when they are the best so far; a pruned trial's rung value counts for the
 * ones after it; bootstrap_count prunes until enough values exist. */
static void sha_first_trials_and_bootstrap(void) {
  qt_pruner *p = make("sha", "min_resource", "1", "reduction_factor", "4");
  reset();
  EXPECT_EQ(prunes(p, 1, 5, 1), 0); /* alone: promoted */
  int64_t s = 1;
  double v = 5;
  add(QT_TRIAL_PRUNED, &s, &v, 1);
  EXPECT_EQ(prunes(p, 1, 4, 1), 1); /* 2 values, idx 0: must be the best */
  EXPECT_EQ(prunes(p, 1, 6, 1), 0);
  qt_pruner_free(p);
  p = make("sha", "min_resource", "1", "bootstrap_count", "2");
  EXPECT_EQ(prunes(p, 1, 100, 1), 1); /* 2 values <= bootstrap 2 */
  add(QT_TRIAL_COMPLETE, &s, &v, 1);
  EXPECT_EQ(prunes(p, 1, 100, 1), 0);
  qt_pruner_free(p);
}

/* min_resource auto: the largest last step of the complete trials / 100,
 * at least 1; without complete trials no decision.  Here 300 / 100 = 3:
 * rung 0 is at step 3 (with min_resource 1, step 2 would already be one). */
static void sha_auto_min_resource(void) {
  qt_pruner *p = make("sha", "reduction_factor", "2", NULL, NULL);
  reset();
  int64_t s[2] = {100, 300};
  double v[2] = {1, 1};
  add(QT_TRIAL_RUNNING, s, v, 2);
  EXPECT_EQ(prunes(p, 3, -5, 1), 0); /* no complete trial yet */
  add(QT_TRIAL_COMPLETE, s, v, 2);   /* last step 300: min_resource 3 */
  EXPECT_EQ(prunes(p, 2, -5, 1), 0); /* below rung 0 */
  EXPECT_EQ(prunes(p, 3, -5, 1), 1); /* rung 0: both others reached it with 1 */
  EXPECT_EQ(prunes(p, 3, 1, 1), 0);  /* 3 values, idx 0: the best (a tie) promotes */
  qt_pruner_free(p);
  p = make("sha", "reduction_factor", "2", "min_resource", "1");
  EXPECT_EQ(prunes(p, 2, -5, 1), 1);
  qt_pruner_free(p);
}

/* Hyperband: brackets of successive halving with rates 0..n-1; whatever the
 * bracket, a trial worse than everyone at a rung with enough competitors is
 * pruned, the best never, and before min_resource nothing is decided. */
static void hyperband_extremes(void) {
  qt_pruner *p = make("hyperband", "max_resource", "10", NULL, NULL); /* min 1, eta 3 */
  ASSERT_TRUE(p);
  reset();
  int64_t st[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  double vv[9];
  for (int k = 0; k < 40; k++) {
    for (int j = 0; j < 9; j++) vv[j] = k;
    add(QT_TRIAL_COMPLETE, st, vv, 9);
  }
  size_t pruned_low = 0, pruned_high = 0, early = 0;
  for (int k = 0; k < 10; k++) { /* 10 trial numbers spread over the brackets */
    g_t[g_n] = (qt_prune_trial){0};
    int64_t s9 = 9, s0 = 0;
    double lo = -100, hi = 1000;
    size_t cur = add(QT_TRIAL_RUNNING, &s9, &lo, 1);
    g_t[cur].number = 100 + k;
    pruned_low += (size_t)qt_pruner_should_prune(p, g_t, g_n, cur, 1);
    g_iv[cur][0].value = hi;
    pruned_high += (size_t)qt_pruner_should_prune(p, g_t, g_n, cur, 1);
    g_iv[cur][0] = (qt_step_value){s0, lo};
    early += (size_t)qt_pruner_should_prune(p, g_t, g_n, cur, 1);
    g_n--;
  }
  EXPECT_EQ(pruned_low, 10);
  EXPECT_EQ(pruned_high, 0);
  EXPECT_EQ(early, 0);
  qt_pruner_free(p);
}

static void options_checked(void) {
  qt_pruner *p = NULL;
  qt_err e;
  EXPECT_EQ(qt_pruner_new("bogus", NULL, &p, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "median, percentile, sha, hyperband, none");
  qt_kv bad[] = {{"reduction_factor", "4"}, {NULL, NULL}};
  EXPECT_EQ(qt_pruner_new("median", bad, &p, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "unknown option 'reduction_factor'");
  EXPECT_CONTAINS(e.msg, "n_startup_trials");
  qt_kv neg[] = {{"n_startup_trials", "-1"}, {NULL, NULL}};
  EXPECT_EQ(qt_pruner_new("median", neg, &p, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "n_startup_trials");
  qt_kv eta[] = {{"reduction_factor", "1"}, {NULL, NULL}};
  EXPECT_EQ(qt_pruner_new("sha", eta, &p, &e), QT_EINVAL);
  qt_kv pct[] = {{"percentile", "101"}, {NULL, NULL}};
  EXPECT_EQ(qt_pruner_new("percentile", pct, &p, &e), QT_EINVAL);
  qt_kv hb[] = {{"min_resource", "5"}, {"max_resource", "5"}, {NULL, NULL}};
  EXPECT_EQ(qt_pruner_new("hyperband", hb, &p, &e), QT_EINVAL);
  EXPECT_TRUE(p == NULL);
  ASSERT_TRUE(qt_pruner_new("none", NULL, &p, &e) == 0);
  reset();
  for (int k = 1; k <= 9; k++) done1(k);
  EXPECT_EQ(prunes(p, 1, -1e9, 1), 0);
  EXPECT_STREQ(qt_pruner_name(p), "none");
  qt_pruner_free(p);
  qt_pruner_free(NULL);
}

QT_TESTS(T(median_threshold), T(median_startup_and_warmup), T(percentile_interval),
         T(percentile_threshold), T(sha_threshold), T(sha_first_trials_and_bootstrap),
         T(sha_auto_min_resource), T(hyperband_extremes), T(options_checked))
