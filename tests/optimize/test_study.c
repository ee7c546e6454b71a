/* The study over SQLite: ask/tell with scores and constraints (stored
 * violations, rescoring), resume, deterministic mode, retries, stop, and
 * four processes sharing one database file. */
#include "qt_test.h"
#include "qtune/optimize.h"

#include <jansson.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[64];

static void tmpdir(void) {
  if (g_dir[0]) return;
  strcpy(g_dir, "/tmp/qt_study_XXXXXX");
  if (!mkdtemp(g_dir)) abort();
}

static void db_url(char *buf, size_t cap, const char *name) {
  tmpdir();
  snprintf(buf, cap, "sqlite:///%s/%s.db", g_dir, name);
}

static qt_space *space_xy(void) {
  qt_space *sp = NULL;
  if (qt_space_new(&sp, NULL) != 0) return NULL;
  qt_dim a = {.name = "x", .type = QT_PARAM_FLOAT, .lo = -2, .hi = 3, .def = 0};
  qt_dim b = {.name = "y", .type = QT_PARAM_FLOAT, .lo = -2, .hi = 3, .def = 0};
  qt_space_add(sp, &a, NULL);
  qt_space_add(sp, &b, NULL);
  return sp;
}

/* Opens a study on "value" (minimize) or the score with fake_strategy. */
static qt_study *open_study(const char *url, const char *name, int score, const char *sampler,
                            uint64_t seed) {
  qt_study_opts o = qt_study_opts_default();
  o.name = name;
  o.storage_url = url;
  o.seed = seed;
  o.sampler = qt_sampler_find(sampler);
  if (score) {
    qt_goal_default(&o.goal, 1);
  } else {
    qt_goal_default(&o.goal, 0);
    strcpy(o.goal.metric, "value");
    o.goal.maximize = 0;
  }
  qt_space *sp = space_xy();
  qt_study *st = NULL;
  qt_err e;
  int r = qt_study_open(&o, sp, &st, &e);
  if (r) fprintf(stderr, "  open: %s\n", e.msg);
  qt_space_free(sp);
  return st;
}

static int run_n(qt_study *st, const char *fn, size_t n, size_t jobs, int det, qt_progress *p) {
  qt_objective obj;
  qt_err e;
  if (qt_objective_function(fn, &obj, &e) != 0) return -100;
  qt_run_opts ro = qt_run_opts_default();
  ro.n_trials = n;
  ro.jobs = jobs;
  ro.deterministic = det;
  int r = qt_study_run(st, &obj, &ro, p, &e);
  if (r) fprintf(stderr, "  run: %s\n", e.msg);
  qt_objective_free(&obj);
  return r;
}

/* Hand-made trials through ask/tell: stored violations, constraint_ok,
 * scores re-normalized in storage after every tell (first 20 trials). */
static void test_ask_tell_scores(void) {
  char url[256];
  db_url(url, sizeof url, "asktell");
  qt_study *st = open_study(url, "s1", 1, "random", 1);
  ASSERT_TRUE(st);
  EXPECT_EQ(qt_study_created(st), 1);
  /* sharpe, total_profit, calmar, max_drawdown + constraint metrics */
  const double rows[3][7] = {
      /* sharpe profit calmar dd   trades win   pf */
      {1.0, 100, 0.5, 0.10, 60, 0.5, 1.2},  /* feasible */
      {2.0, 300, 1.5, 0.30, 60, 0.5, 1.2},  /* dd 0.30 > 0.20: infeasible, best raw */
      {3.0, 200, 1.0, 0.20, 60, 0.5, 1.2}}; /* feasible */
  const char *names[7] = {"sharpe", "total_profit", "calmar", "max_drawdown", "trades",
                          "win_rate", "profit_factor"};
  qt_trial t[3];
  qt_metric_set m;
  qt_metric_set_init(&m);
  qt_err e;
  for (int i = 0; i < 3; i++) {
    ASSERT_TRUE(qt_study_ask(st, NULL, "test", &t[i], &e) == 0);
    EXPECT_EQ(t[i].number, i);
  }
  /* the per-trial seed is stream(number) of the study seed */
  qt_rng rng;
  qt_rng_stream(&rng, 1, 2);
  EXPECT_U64_EQ(t[2].seed, qt_rng_u64(&rng));
  for (int i = 0; i < 3; i++) {
    qt_metric_set_clear(&m);
    for (int k = 0; k < 7; k++) qt_metric_set_put(&m, names[k], rows[i][k], NULL);
    EXPECT_EQ(qt_study_tell(st, &t[i], QT_TRIAL_COMPLETE, &m, NULL, &e), 0);
  }
  /* scores under the normalization over all three (see test_score): 0, 0.45, 0.45,
   * but strict mode rejects trial 1 (dd 0.30 > 0.20): -inf */
  qt_trial_info ti;
  qt_study_trial_info(st, 0, &ti);
  EXPECT_NEAR(ti.objective, 0.0, 1e-12);
  EXPECT_EQ(ti.feasible, 1);
  qt_study_trial_info(st, 1, &ti);
  EXPECT_TRUE(isinf(ti.objective) && ti.objective < 0);
  EXPECT_EQ(ti.feasible, 0);
  EXPECT_CONTAINS(ti.metrics_json, "\"violations\":{\"max_drawdown\":0.");
  EXPECT_STREQ(ti.error, "infeasible: max_drawdown 0.3 > 0.2");
  /* the raw metrics stay as they were */
  EXPECT_CONTAINS(ti.metrics_json, "\"max_drawdown\":0.29999999999999999");
  /* the infeasible trial ties for the best raw score but is never best */
  EXPECT_EQ(qt_study_best(st), 2);
  /* storage holds the re-normalized scores and the constraint flags */
  qt_storage *s = qt_study_storage(st);
  qt_study_rec sr;
  ASSERT_TRUE(s->vt->study_load(s->self, "s1", &sr, &e) == 0);
  qt_trial_rec *recs = NULL;
  size_t nr = 0;
  ASSERT_TRUE(s->vt->trials_list(s->self, sr.id, 0, &recs, &nr, &e) == 0);
  ASSERT_TRUE(nr == 3);
  EXPECT_NEAR(recs[0].score, 0.0, 1e-12); /* was 0.3 when it was alone */
  EXPECT_TRUE(isinf(recs[1].score) && recs[1].score < 0); /* SQL keeps -Inf; NULL is "no score" */
  EXPECT_STREQ(recs[1].values_json, "[\"-inf\"]");          /* JSON has no inf */
  EXPECT_NEAR(recs[2].score, 0.45, 1e-12);
  EXPECT_EQ(recs[0].constraint_ok, 1);
  EXPECT_EQ(recs[1].constraint_ok, 0);
  EXPECT_EQ(recs[1].state, QT_TRIAL_COMPLETE);
  qt_trial_recs_free(recs, nr);
  qt_study_rec_fini(&sr);
  /* a failed trial: stored with its error, no score */
  qt_trial tf;
  ASSERT_TRUE(qt_study_ask(st, NULL, "test", &tf, &e) == 0);
  EXPECT_EQ(qt_study_tell(st, &tf, QT_TRIAL_FAIL, NULL, "exploded", &e), 0);
  qt_study_trial_info(st, 3, &ti);
  EXPECT_EQ(ti.state, QT_TRIAL_FAIL);
  EXPECT_STREQ(ti.error, "exploded");
  EXPECT_TRUE(isnan(ti.objective));
  /* telling a finished trial again is refused by the storage */
  EXPECT_NE(qt_study_tell(st, &tf, QT_TRIAL_FAIL, NULL, "again", &e), 0);
  for (int i = 0; i < 3; i++) qt_trial_fini(&t[i]);
  qt_trial_fini(&tf);
  qt_metric_set_fini(&m);
  qt_study_free(st);
  /* reopening read-only (no space) rebuilds the same picture */
  qt_study_opts o = qt_study_opts_default();
  o.name = "s1";
  o.storage_url = url;
  ASSERT_TRUE(qt_study_open(&o, NULL, &st, &e) == 0);
  EXPECT_EQ(qt_study_n_trials(st), 4);
  EXPECT_EQ(qt_study_best(st), 2);
  qt_study_trial_info(st, 0, &ti);
  EXPECT_NEAR(ti.objective, 0.0, 1e-12);
  size_t c[QT_TRIAL_N_STATES];
  qt_study_counts(st, c);
  EXPECT_EQ(c[QT_TRIAL_COMPLETE], 3);
  EXPECT_EQ(c[QT_TRIAL_FAIL], 1);
  qt_trial tx;
  EXPECT_EQ(qt_study_ask(st, NULL, "x", &tx, &e), QT_ESTATE);
  qt_study_free(st);
  o.name = "missing";
  EXPECT_EQ(qt_study_open(&o, NULL, &st, &e), QT_ENOTFOUND);
}

/* --lenient: a violating trial stays feasible, its objective pays the
 * documented penalty, and it can be best. */
static void test_lenient(void) {
  char url[256];
  db_url(url, sizeof url, "lenient");
  qt_study_opts o = qt_study_opts_default();
  o.name = "l";
  o.storage_url = url;
  o.sampler = qt_sampler_find("random");
  strcpy(o.goal.metric, "sharpe");
  o.goal.lenient = 1;
  qt_err e;
  ASSERT_TRUE(qt_goal_parse_constraints(&o.goal, "trades>=50,max_drawdown<=0.2", &e) == 0);
  qt_space *sp = space_xy();
  qt_study *st = NULL;
  ASSERT_TRUE(qt_study_open(&o, sp, &st, &e) == 0);
  qt_space_free(sp);
  qt_metric_set m;
  qt_metric_set_init(&m);
  qt_trial a, b;
  ASSERT_TRUE(qt_study_ask(st, NULL, "t", &a, &e) == 0);
  ASSERT_TRUE(qt_study_ask(st, NULL, "t", &b, &e) == 0);
  /* a: sharpe 3, trades 25 (misses by half: 0.1 + 0.5), drawdown ok -> 2.4 */
  qt_metric_set_put(&m, "sharpe", 3, NULL);
  qt_metric_set_put(&m, "trades", 25, NULL);
  qt_metric_set_put(&m, "max_drawdown", 0.1, NULL);
  EXPECT_EQ(qt_study_tell(st, &a, QT_TRIAL_COMPLETE, &m, NULL, &e), 0);
  /* b: sharpe 2.5, all constraints hold -> 2.5, the best */
  qt_metric_set_put(&m, "sharpe", 2.5, NULL);
  qt_metric_set_put(&m, "trades", 80, NULL);
  EXPECT_EQ(qt_study_tell(st, &b, QT_TRIAL_COMPLETE, &m, NULL, &e), 0);
  qt_trial_info ti;
  qt_study_trial_info(st, 0, &ti);
  EXPECT_EQ(ti.feasible, 1);
  EXPECT_NEAR(ti.objective, 3 - 0.6, 1e-12);
  EXPECT_CONTAINS(ti.metrics_json, "\"violations\":{\"trades\":25");
  EXPECT_EQ(qt_study_best(st), 1);
  qt_trial c;
  ASSERT_TRUE(qt_study_ask(st, NULL, "t", &c, &e) == 0);
  /* c: sharpe 4 with a drawdown 0.5 (miss 0.3/0.2 capped at 1: 1.1) -> 2.9 */
  qt_metric_set_put(&m, "sharpe", 4, NULL);
  qt_metric_set_put(&m, "max_drawdown", 0.5, NULL);
  EXPECT_EQ(qt_study_tell(st, &c, QT_TRIAL_COMPLETE, &m, NULL, &e), 0);
  qt_study_trial_info(st, 2, &ti);
  EXPECT_NEAR(ti.objective, 4 - 1.1, 1e-12);
  EXPECT_EQ(qt_study_best(st), 2); /* penalized, yet best: lenient */
  qt_trial_fini(&a);
  qt_trial_fini(&b);
  qt_trial_fini(&c);
  qt_metric_set_fini(&m);
  qt_study_free(st);
}

/* A goal naming a metric the objective does not print stops the run at the
 * first trial with metrics, naming the key and the keys printed (it used to
 * fail every trial and return 0). */
static void test_missing_metric(void) {
  char url[256];
  db_url(url, sizeof url, "missing");
  qt_study_opts o = qt_study_opts_default();
  o.name = "m";
  o.storage_url = url;
  strcpy(o.goal.metric, "sharpe");
  qt_space *sp = space_xy();
  qt_study *st = NULL;
  qt_err e;
  ASSERT_TRUE(qt_study_open(&o, sp, &st, &e) == 0);
  qt_space_free(sp);
  EXPECT_EQ(run_n(st, "sphere", 3, 1, 0, NULL), QT_EINVAL);
  size_t c[QT_TRIAL_N_STATES];
  qt_study_counts(st, c);
  EXPECT_EQ(c[QT_TRIAL_FAIL], 1);
  EXPECT_EQ(c[QT_TRIAL_COMPLETE], 0);
  qt_trial_info ti;
  qt_study_trial_info(st, 0, &ti);
  EXPECT_STREQ(ti.error,
               "trial 0: objective: unknown metric 'sharpe'; the objective printed: value");
  EXPECT_EQ(qt_study_best(st), -1);
  qt_study_free(st);
  /* a weight's alias resolves against the printed keys: fake_strategy prints sharpe */
  db_url(url, sizeof url, "alias");
  o = qt_study_opts_default();
  o.name = "a";
  o.storage_url = url;
  ASSERT_TRUE(qt_goal_parse_weights(&o.goal, "sharpe_ratio=1,calmar_ratio=0.5", &e) == 0);
  sp = space_xy();
  ASSERT_TRUE(qt_study_open(&o, sp, &st, &e) == 0);
  qt_space_free(sp);
  EXPECT_EQ(run_n(st, "fake_strategy", 3, 1, 0, NULL), 0);
  EXPECT_STREQ(qt_study_goal(st)->terms[0].metric, "sharpe");
  EXPECT_STREQ(qt_study_goal(st)->terms[1].metric, "calmar");
  qt_study_counts(st, c);
  EXPECT_EQ(c[QT_TRIAL_COMPLETE], 3);
  qt_study_free(st);
}

/* Strict constraints: a violating trial is rejected with the worst value in
 * the user's direction (+inf when minimizing), also after a reopen from storage. */
static void test_strict_minimize_inf(void) {
  char url[256];
  db_url(url, sizeof url, "strictmin");
  qt_study_opts o = qt_study_opts_default();
  o.name = "sm";
  o.storage_url = url;
  strcpy(o.goal.metric, "value");
  o.goal.maximize = 0;
  qt_err e;
  ASSERT_TRUE(qt_goal_parse_constraints(&o.goal, "value<=0.5", &e) == 0);
  qt_space *sp = space_xy();
  qt_study *st = NULL;
  ASSERT_TRUE(qt_study_open(&o, sp, &st, &e) == 0);
  qt_trial t;
  qt_metric_set m;
  qt_metric_set_init(&m);
  const double v[2] = {0.25, 2.0};
  for (int i = 0; i < 2; i++) {
    ASSERT_TRUE(qt_study_ask(st, NULL, "test", &t, &e) == 0);
    qt_metric_set_clear(&m);
    qt_metric_set_put(&m, "value", v[i], NULL);
    EXPECT_EQ(qt_study_tell(st, &t, QT_TRIAL_COMPLETE, &m, NULL, &e), 0);
    qt_trial_fini(&t);
  }
  qt_metric_set_fini(&m);
  qt_study_free(st);
  o.sampler = NULL;
  ASSERT_TRUE(qt_study_open(&o, sp, &st, &e) == 0); /* resumed: rebuilt from storage */
  qt_space_free(sp);
  qt_trial_info ti;
  qt_study_trial_info(st, 0, &ti);
  EXPECT_NEAR(ti.objective, 0.25, 0);
  qt_study_trial_info(st, 1, &ti);
  EXPECT_TRUE(isinf(ti.objective) && ti.objective > 0);
  EXPECT_STREQ(ti.error, "infeasible: value 2 > 0.5");
  EXPECT_EQ(qt_study_best(st), 0);
  qt_study_free(st);
}

static void params_of(qt_study *st, char **out, size_t n) {
  for (size_t i = 0; i < n && i < qt_study_n_trials(st); i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    out[i] = strdup(ti.params_json ? ti.params_json : "");
  }
}

/* Resume: a second open continues numbering, history and normalization. */
static void test_resume(void) {
  char url[256];
  db_url(url, sizeof url, "resume");
  qt_study *st = open_study(url, "r", 1, "tpe", 7);
  ASSERT_TRUE(st);
  qt_progress p;
  EXPECT_EQ(run_n(st, "fake_strategy", 25, 2, 0, &p), 0);
  EXPECT_EQ(p.done, 25);
  qt_study_free(st);
  st = open_study(url, "r", 0 /* different goal: the stored one wins */, "tpe", 99);
  ASSERT_TRUE(st);
  EXPECT_EQ(qt_study_created(st), 0);
  EXPECT_STREQ(qt_study_goal(st)->metric, "score");
  EXPECT_U64_EQ(qt_study_seed(st), 7);
  EXPECT_EQ(qt_study_n_trials(st), 25);
  EXPECT_EQ(run_n(st, "fake_strategy", 15, 2, 0, &p), 0);
  EXPECT_EQ(p.done, 15);
  EXPECT_EQ(qt_study_n_trials(st), 40);
  char *pj[40] = {0};
  params_of(st, pj, 40);
  int dup = 0, nums_ok = 1;
  for (size_t i = 0; i < 40; i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    nums_ok &= ti.number == (int64_t)i && ti.state == QT_TRIAL_COMPLETE;
    for (size_t j = 0; j < i; j++) dup += pj[i] && pj[j] && strcmp(pj[i], pj[j]) == 0;
  }
  EXPECT_TRUE(nums_ok);
  EXPECT_EQ(dup, 0); /* the resumed sampler does not replay the first run */
  for (size_t i = 0; i < 40; i++) free(pj[i]);
  /* TPE should have found the feasible region (d2 <= 0.5 around (1, 1)) */
  long b = qt_study_best(st);
  EXPECT_TRUE(b >= 0);
  qt_study_free(st);
}

/* Deterministic: the same seed gives the same trials with --jobs 2. */
static void test_deterministic(void) {
  char u1[256], u2[256];
  db_url(u1, sizeof u1, "det1");
  db_url(u2, sizeof u2, "det2");
  char *a[30] = {0}, *b[30] = {0};
  qt_study *s1 = open_study(u1, "d", 1, "tpe", 5), *s2 = open_study(u2, "d", 1, "tpe", 5);
  ASSERT_TRUE(s1 && s2);
  EXPECT_EQ(run_n(s1, "fake_strategy", 30, 2, 1, NULL), 0);
  EXPECT_EQ(run_n(s2, "fake_strategy", 30, 2, 1, NULL), 0);
  ASSERT_TRUE(qt_study_n_trials(s1) == 30 && qt_study_n_trials(s2) == 30);
  params_of(s1, a, 30);
  params_of(s2, b, 30);
  int same = 0;
  for (int i = 0; i < 30; i++) same += strcmp(a[i], b[i]) == 0;
  EXPECT_EQ(same, 30);
  for (int i = 0; i < 30; i++) free(a[i]), free(b[i]);
  qt_study_free(s1);
  qt_study_free(s2);
  /* another seed gives other trials */
  db_url(u1, sizeof u1, "det3");
  s1 = open_study(u1, "d", 1, "tpe", 6);
  ASSERT_TRUE(s1);
  EXPECT_EQ(run_n(s1, "fake_strategy", 4, 2, 1, NULL), 0);
  db_url(u2, sizeof u2, "det4");
  s2 = open_study(u2, "d", 1, "tpe", 5);
  ASSERT_TRUE(s2);
  EXPECT_EQ(run_n(s2, "fake_strategy", 4, 2, 1, NULL), 0);
  params_of(s1, a, 4);
  params_of(s2, b, 4);
  EXPECT_TRUE(strcmp(a[0], b[0]) != 0);
  for (int i = 0; i < 4; i++) free(a[i]), free(b[i]);
  qt_study_free(s1);
  qt_study_free(s2);
}

/* Retries: a failing objective re-runs the same params --retries times. */
static void test_retries(void) {
  char url[256];
  db_url(url, sizeof url, "retry");
  qt_study *st = open_study(url, "f", 0, "random", 3);
  ASSERT_TRUE(st);
  qt_objective obj;
  ASSERT_TRUE(qt_objective_command("echo no >&2; exit 4", 10, &obj, NULL) == 0);
  qt_run_opts ro = qt_run_opts_default();
  ro.n_trials = 3;
  ro.jobs = 1;
  ro.retries = 2;
  qt_progress p;
  qt_err e;
  EXPECT_EQ(qt_study_run(st, &obj, &ro, &p, &e), 0);
  EXPECT_EQ(p.done, 9);
  EXPECT_EQ(p.failed, 9);
  ASSERT_TRUE(qt_study_n_trials(st) == 9);
  /* jobs 1: trial, retry, retry of the same params, then the next params */
  char *pj[9];
  params_of(st, pj, 9);
  EXPECT_STREQ(pj[0], pj[1]);
  EXPECT_STREQ(pj[1], pj[2]);
  EXPECT_TRUE(strcmp(pj[2], pj[3]) != 0);
  EXPECT_STREQ(pj[6], pj[8]);
  for (int i = 0; i < 9; i++) free(pj[i]);
  qt_trial_info ti;
  qt_study_trial_info(st, 4, &ti);
  EXPECT_CONTAINS(ti.error, "exit status 4: no");
  qt_objective_free(&obj);
  qt_study_free(st);
}

/* Pruning: an objective that rejects x >= y (as hedge_grid rejects
 * ema_fast >= ema_slow) with QT_EPARAM, optimum at (1, 1.2) next to the
 * rejected half.  Rejected trials are stored pruned with the message, never
 * retried, and rank with the worst, so TPE learns to stay out (as far as a
 * univariate model of a joint rule can). */
static int pr_new(const void *sh, void **w, qt_err *e) {
  (void)sh, (void)e;
  *w = NULL;
  return QT_OK;
}
static void pr_free(void *w) { (void)w; }
static void pr_destroy(void *sh) { (void)sh; }
static int pr_eval(void *w, const qt_space *sp, const double *x, const double *u, uint64_t seed,
                   qt_metric_set *out, qt_err *e) {
  (void)w, (void)sp, (void)x, (void)seed;
  if (u[0] >= u[1]) return qt_err_set(e, QT_EPARAM, "x (%g) must be below y (%g)", u[0], u[1]);
  double v = (u[0] - 1) * (u[0] - 1) + (u[1] - 1.2) * (u[1] - 1.2);
  return qt_metric_set_put(out, "value", v, e);
}
static const qt_objective_vtbl k_pr = {"pruning", pr_new, pr_eval, pr_free, pr_destroy, NULL};

static void test_pruned_params(void) {
  char url[256];
  db_url(url, sizeof url, "pruned");
  qt_study *st = open_study(url, "p", 0, "tpe", 5);
  ASSERT_TRUE(st);
  qt_objective obj = {&k_pr, NULL, 0};
  qt_run_opts ro = qt_run_opts_default();
  ro.n_trials = 200;
  ro.jobs = 1;
  ro.retries = 2;
  qt_progress p;
  qt_err e;
  EXPECT_EQ(qt_study_run(st, &obj, &ro, &p, &e), 0);
  EXPECT_EQ(p.done, 200); /* no retries */
  EXPECT_EQ(p.failed, 0);
  size_t c[QT_TRIAL_N_STATES];
  qt_study_counts(st, c);
  EXPECT_EQ(c[QT_TRIAL_REJECTED], p.rejected);
  EXPECT_EQ(c[QT_TRIAL_COMPLETE] + c[QT_TRIAL_REJECTED], 200);
  EXPECT_EQ(c[QT_TRIAL_PRUNED], 0); /* no pruner: nothing pruned */
  size_t early = 0, late = 0, first = 0;
  for (int64_t n = 0; n < 200; n++) {
    qt_trial_info ti;
    qt_study_trial_info(st, (size_t)n, &ti);
    EXPECT_EQ(ti.number, n);
    if (ti.state != QT_TRIAL_REJECTED) continue;
    if (!first++) EXPECT_CONTAINS(ti.error, "must be below y");
    if (n < 100) early++;
    else late++;
  }
  EXPECT_TRUE(early > 0 && late > 0);
  /* Ignored by TPE like failures, the rejected half kept its pull: 190 of
   * the 200 trials were rejected.  Ranked with the worst: 64. */
  EXPECT_TRUE(early + late < 100);
  qt_study_free(st);
}

/* An objective that omits "value" on every third call (a flaky command):
 * such trials fail (missing objective metric) and are retried, and the
 * run's counts equal the stored ones (they were counted complete-but-
 * infeasible and not retried).  The first call has it: a goal name missing
 * from the first trial's metrics stops the run instead (test_missing_metric). */
static int g_om_calls;
static int om_eval(void *w, const qt_space *sp, const double *x, const double *u, uint64_t seed,
                   qt_metric_set *out, qt_err *e) {
  (void)w, (void)sp, (void)x, (void)seed;
  if (qt_metric_set_put(out, "other", 1, e)) return QT_ENOMEM;
  if (++g_om_calls % 3 == 0) return QT_OK;
  return qt_metric_set_put(out, "value", u[0] * u[0] + u[1] * u[1], e);
}
static const qt_objective_vtbl k_om = {"omits", pr_new, om_eval, pr_free, pr_destroy, NULL};

static void test_missing_metric_counts(void) {
  char url[256];
  db_url(url, sizeof url, "omits");
  for (int det = 0; det < 2; det++) {
    char name[16];
    snprintf(name, sizeof name, "om%d", det);
    qt_study *st = open_study(url, name, 0, "random", 11);
    ASSERT_TRUE(st);
    qt_objective obj = {&k_om, NULL, 0};
    qt_run_opts ro = qt_run_opts_default();
    ro.n_trials = 20;
    ro.jobs = 1; /* calls in trial order: which ones omit is known */
    ro.retries = 1;
    ro.deterministic = det;
    qt_progress p;
    qt_err e;
    g_om_calls = 0;
    EXPECT_EQ(qt_study_run(st, &obj, &ro, &p, &e), 0);
    size_t c[QT_TRIAL_N_STATES];
    qt_study_counts(st, c);
    /* calls 3, 6, ... fail; each retry is the next call (never a multiple of
     * 3) and completes.  Call 29 starts the 20th original (29 - 9 retries)
     * and completes, so 29 trials, 9 failed (calls 3..27), 20 complete */
    EXPECT_EQ(qt_study_n_trials(st), 29);
    EXPECT_EQ(c[QT_TRIAL_FAIL], 9);
    EXPECT_EQ(c[QT_TRIAL_COMPLETE], 20);
    EXPECT_EQ(p.done, qt_study_n_trials(st));
    EXPECT_EQ(p.failed, c[QT_TRIAL_FAIL]);
    EXPECT_EQ(p.infeasible, 0);
    EXPECT_EQ(p.done - p.failed - p.rejected - p.pruned, c[QT_TRIAL_COMPLETE]);
    for (size_t i = 0; i + 1 < qt_study_n_trials(st); i++) {
      qt_trial_info ti, next;
      qt_study_trial_info(st, i, &ti);
      if (ti.state != QT_TRIAL_FAIL) continue;
      EXPECT_CONTAINS(ti.error, "objective metric 'value' is missing");
      EXPECT_CONTAINS(ti.metrics_json, "\"other\""); /* what it printed is kept */
      qt_study_trial_info(st, i + 1, &next); /* the retry: same params, complete */
      EXPECT_EQ(next.state, QT_TRIAL_COMPLETE);
      EXPECT_STREQ(next.params_json, ti.params_json);
    }
    qt_study_free(st);
  }
}

/* Two one-feed markets of 50 bars each for the pin tests. */
typedef struct pin_fx {
  qt_bars bars;
  qt_feed feed;
  qt_engine_opts eo;
  qt_goal goal;
  qt_study_pin pin;
} pin_fx;

static void pin_fx_init(pin_fx *f, const char *symbol, double last_close) {
  memset(f, 0, sizeof *f);
  if (qt_bars_alloc(&f->bars, 50, NULL)) abort();
  for (size_t i = 0; i < 50; i++) {
    f->bars.ts_ms[i] = 1780272000000 + 60000 * (int64_t)i; /* 2026-06-01 */
    f->bars.close[i] = 100 + (double)i;
  }
  f->bars.close[49] = last_close;
  f->feed.inst = qt_instrument_default(symbol);
  f->feed.inst.maker_bps = f->feed.inst.taker_bps = 2;
  f->feed.bars = &f->bars;
  f->eo = qt_engine_opts_default();
  qt_goal_default(&f->goal, 1);
  f->pin = (qt_study_pin){"sma_cross", "cat", NULL, &f->feed, 1, 10, &f->eo, &f->goal};
}

static void pin_json(const pin_fx *f, char *buf, size_t cap) {
  qt_err e;
  if (qt_study_pin_json(&f->pin, buf, cap, &e)) {
    fprintf(stderr, "  pin: %s\n", e.msg);
    buf[0] = 0;
  }
}

/* The pin and its comparison: one line per difference, nothing when equal. */
static void test_pin_diff(void) {
  pin_fx a, b;
  pin_fx_init(&a, "AVAXUSDT", 149);
  pin_fx_init(&b, "AVAXUSDT", 149);
  char ja[4096], jb[4096], lines[2048];
  size_t n = 99;
  qt_err e;
  pin_json(&a, ja, sizeof ja);
  pin_json(&b, jb, sizeof jb);
  EXPECT_CONTAINS(ja, "\"data\":\"50 rows 2026-06-01T00:00:00Z..2026-06-01T00:49:00Z #");
  EXPECT_CONTAINS(ja, "\"from\":\"2026-06-01T00:10:00Z\""); /* bar 10: first traded */
  EXPECT_CONTAINS(ja, "\"constraints\":\"sharpe>=1,max_drawdown<=0.2,");
  EXPECT_EQ(qt_study_pin_diff(ja, jb, lines, sizeof lines, &n, &e), QT_OK);
  EXPECT_EQ(n, 0);
  EXPECT_STREQ(lines, "");
  /* fees, symbol, one bar's close, cash, hedge mode and the direction */
  b.feed.inst.maker_bps = b.feed.inst.taker_bps = 0;
  snprintf(b.feed.inst.symbol, sizeof b.feed.inst.symbol, "SYNTH");
  b.bars.close[49] = 150;
  b.eo.cash = 500;
  b.eo.hedge_mode = 1;
  b.goal.maximize = 0;
  pin_json(&b, jb, sizeof jb);
  EXPECT_EQ(qt_study_pin_diff(ja, jb, lines, sizeof lines, &n, &e), QT_OK);
  EXPECT_EQ(n, 7);
  EXPECT_CONTAINS(lines, "symbol: AVAXUSDT -> SYNTH\n");
  EXPECT_CONTAINS(lines, "maker_bps: 2 -> 0\n");
  EXPECT_CONTAINS(lines, "taker_bps: 2 -> 0\n");
  EXPECT_CONTAINS(lines, "cash: 10000 -> 500\n");
  EXPECT_CONTAINS(lines, "hedge_mode: no -> yes\n");
  EXPECT_CONTAINS(lines, "direction: maximize -> minimize\n");
  EXPECT_CONTAINS(lines, "data: 50 rows 2026-06-01T00:00:00Z..2026-06-01T00:49:00Z #");
  /* only the checksum tells the data apart: same rows, same times */
  const char *d = strstr(lines, "data: ");
  ASSERT_TRUE(d);
  EXPECT_CONTAINS(d, " -> 50 rows 2026-06-01T00:00:00Z..2026-06-01T00:49:00Z #");
  /* a key only one side has reads (none); an external objective has no market */
  qt_study_pin ext = {NULL, NULL, NULL, NULL, 0, 0, NULL, &a.goal};
  qt_study_pin_json(&ext, jb, sizeof jb, NULL);
  EXPECT_EQ(qt_study_pin_diff(ja, jb, lines, sizeof lines, &n, &e), QT_OK);
  EXPECT_CONTAINS(lines, "strategy: sma_cross -> (none)\n");
  EXPECT_CONTAINS(lines, "catalog: cat -> (none)\n");
  EXPECT_CONTAINS(lines, "cash: 10000 -> (none)\n");
  /* a small buffer: all counted, only whole lines written */
  size_t n_all = n;
  char small[40];
  EXPECT_EQ(qt_study_pin_diff(ja, jb, small, sizeof small, &n, &e), QT_OK);
  EXPECT_EQ(n, n_all);
  EXPECT_TRUE(strlen(small) == 0 || small[strlen(small) - 1] == '\n');
  EXPECT_EQ(qt_study_pin_diff("[1]", jb, lines, sizeof lines, &n, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "stored pin is not a JSON object");
  EXPECT_EQ(qt_study_pin_diff(ja, "{", lines, sizeof lines, &n, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "new pin");
  EXPECT_EQ(qt_study_pin_json(&a.pin, small, sizeof small, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "do not fit");
  qt_bars_fini(&a.bars);
  qt_bars_fini(&b.bars);
}

/* A study stores its pin and reads it back on resume; one created without a
 * pin (as before pins existed) has none.  On SQLite, and on PostgreSQL when
 * QTUNE_PG_URL names a server (tests/run.sh starts one). */
static void pin_stored_on(const char *url) {
  char js[4096], name[3][64];
  pin_fx a;
  pin_fx_init(&a, "SYN", 149);
  pin_json(&a, js, sizeof js);
  /* unique names: a PostgreSQL server outlives the test */
  const char *base[3] = {"pin", "legacy", "badpin"};
  for (int k = 0; k < 3; k++) snprintf(name[k], sizeof name[k], "%s_%ld", base[k], (long)getpid());
  qt_study_opts o = qt_study_opts_default();
  o.name = name[0];
  o.storage_url = url;
  o.pin_json = js;
  qt_space *sp = space_xy();
  qt_study *st = NULL;
  qt_err e;
  if (qt_study_open(&o, sp, &st, &e)) fprintf(stderr, "  %s: %s\n", url, e.msg);
  ASSERT_TRUE(st);
  EXPECT_EQ(qt_study_created(st), 1);
  ASSERT_TRUE(qt_study_pinned(st));
  size_t n = 99;
  EXPECT_EQ(qt_study_pin_diff(qt_study_pinned(st), js, NULL, 0, &n, &e), QT_OK);
  EXPECT_EQ(n, 0);
  qt_study_free(st);
  o.pin_json = NULL; /* a resume: the stored pin comes back whatever is given */
  ASSERT_TRUE(qt_study_open(&o, sp, &st, &e) == 0);
  EXPECT_EQ(qt_study_created(st), 0);
  ASSERT_TRUE(qt_study_pinned(st));
  EXPECT_EQ(qt_study_pin_diff(qt_study_pinned(st), js, NULL, 0, &n, &e), QT_OK);
  EXPECT_EQ(n, 0);
  qt_storage *sto = qt_study_storage(st);
  o.name = name[1];
  qt_study *st2 = NULL;
  ASSERT_TRUE(qt_study_open(&o, sp, &st2, &e) == 0);
  EXPECT_TRUE(qt_study_pinned(st2) == NULL);
  qt_study_free(st2);
  o.name = name[2];
  o.pin_json = "[";
  EXPECT_EQ(qt_study_open(&o, sp, &st2, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "pin is not a JSON object");
  for (int k = 0; k < 2; k++) {
    qt_study_rec rec = {0};
    EXPECT_EQ(sto->vt->study_load(sto->self, name[k], &rec, NULL), 0);
    EXPECT_EQ(sto->vt->study_delete(sto->self, rec.id, NULL), 0);
    qt_study_rec_fini(&rec);
  }
  qt_study_free(st);
  qt_space_free(sp);
  qt_bars_fini(&a.bars);
}

static void test_pin_stored(void) {
  char url[256];
  db_url(url, sizeof url, "pin");
  pin_stored_on(url);
  const char *pg = getenv("QTUNE_PG_URL");
  if (pg) pin_stored_on(pg);
}

/* An open that fails after creating the study (a misspelt sampler option)
 * deletes it again: no empty study is left to resume or list. */
static void test_failed_open_leaves_nothing(void) {
  char url[256];
  db_url(url, sizeof url, "failopen");
  qt_study_opts o = qt_study_opts_default();
  o.name = "f";
  o.storage_url = url;
  o.sampler = &qt_sampler_tpe;
  qt_kv kv[2] = {{"n_ei_canddiates", "8"}, {NULL, NULL}};
  o.sampler_opts = kv;
  qt_space *sp = space_xy();
  qt_study *st = NULL;
  qt_err e;
  EXPECT_TRUE(qt_study_open(&o, sp, &st, &e) != 0);
  EXPECT_CONTAINS(e.msg, "n_ei_canddiates");
  EXPECT_TRUE(st == NULL);
  EXPECT_EQ(qt_study_open(&o, NULL, &st, &e), QT_ENOTFOUND);
  qt_study_free(st); /* NULL unless the study was left behind */
  st = NULL;
  /* the same name then creates a fresh study */
  o.sampler_opts = NULL;
  ASSERT_TRUE(qt_study_open(&o, sp, &st, &e) == 0);
  EXPECT_EQ(qt_study_created(st), 1);
  qt_study_free(st);
  qt_space_free(sp);
}

static volatile int g_stop;
static void stop_after_3(void *ud, const qt_progress *p) {
  (void)ud;
  if (p->done >= 3) g_stop = 1;
}

/* The stop flag (SIGINT in the CLI): running trials finish, nothing stays
 * running, and the study can be resumed. */
static void test_stop(void) {
  char url[256];
  db_url(url, sizeof url, "stop");
  qt_study *st = open_study(url, "s", 0, "random", 3);
  ASSERT_TRUE(st);
  qt_objective obj;
  ASSERT_TRUE(qt_objective_command("sleep 0.05; echo '{\"value\": 1}'", 10, &obj, NULL) == 0);
  qt_run_opts ro = qt_run_opts_default();
  ro.n_trials = 1000;
  ro.jobs = 2;
  g_stop = 0;
  ro.stop = &g_stop;
  ro.progress = stop_after_3;
  ro.progress_every_s = 0.01;
  qt_progress p;
  qt_err e;
  EXPECT_EQ(qt_study_run(st, &obj, &ro, &p, &e), 0);
  EXPECT_TRUE(p.done >= 3 && p.done < 1000);
  size_t c[QT_TRIAL_N_STATES];
  qt_study_counts(st, c);
  EXPECT_EQ(c[QT_TRIAL_RUNNING], 0);
  EXPECT_EQ(c[QT_TRIAL_COMPLETE], p.done);
  qt_objective_free(&obj);
  qt_study_free(st);
}

/* Four processes, two threads each, on one SQLite file and one study. */
static void test_four_processes(void) {
  char url[256];
  db_url(url, sizeof url, "multi");
  /* create it first so the children all resume the same study */
  qt_study *st = open_study(url, "mp", 0, "tpe", 11);
  ASSERT_TRUE(st);
  qt_study_free(st);
  pid_t kids[4];
  for (int i = 0; i < 4; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      qt_study *cs = open_study(url, "mp", 0, "tpe", 11);
      int r = cs ? run_n(cs, "sphere", 15, 2, 0, NULL) : -1;
      qt_study_free(cs);
      _exit(r == 0 ? 0 : 1);
    }
  }
  int all_ok = 1;
  for (int i = 0; i < 4; i++) {
    int status = 0;
    waitpid(kids[i], &status, 0);
    all_ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  EXPECT_TRUE(all_ok);
  qt_study_opts o = qt_study_opts_default();
  o.name = "mp";
  o.storage_url = url;
  qt_err e;
  ASSERT_TRUE(qt_study_open(&o, NULL, &st, &e) == 0);
  EXPECT_EQ(qt_study_n_trials(st), 60);
  size_t c[QT_TRIAL_N_STATES];
  qt_study_counts(st, c);
  EXPECT_EQ(c[QT_TRIAL_COMPLETE], 60);
  int nums_ok = 1;
  for (size_t i = 0; i < qt_study_n_trials(st); i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    nums_ok &= ti.number == (int64_t)i; /* sorted, unique, no gaps */
  }
  EXPECT_TRUE(nums_ok);
  qt_study_free(st);
}

/* Importance: the objective depends on x only, so x gets nearly all of it;
 * stored scores follow the current objective. */
static void test_importance(void) {
  char url[256];
  db_url(url, sizeof url, "imp");
  qt_study *st = open_study(url, "i", 0, "random", 21);
  ASSERT_TRUE(st);
  qt_metric_set m;
  qt_metric_set_init(&m);
  qt_err e;
  for (int i = 0; i < 60; i++) {
    qt_trial t;
    ASSERT_TRUE(qt_study_ask(st, NULL, "t", &t, &e) == 0);
    qt_metric_set_clear(&m);
    qt_metric_set_put(&m, "value", t.user[0] * 10, NULL);
    EXPECT_EQ(qt_study_tell(st, &t, QT_TRIAL_COMPLETE, &m, NULL, &e), 0);
    qt_trial_fini(&t);
  }
  double imp[2];
  EXPECT_EQ(qt_study_importance(st, imp, &e), 0);
  EXPECT_NEAR(imp[0] + imp[1], 1.0, 1e-12);
  EXPECT_TRUE(imp[0] > 0.75 && imp[0] > 3 * imp[1]); /* y only catches bin noise */
  EXPECT_EQ(qt_study_store_scores(st, &e), 0);
  qt_storage *s = qt_study_storage(st);
  size_t nd = 0;
  /* value = 10 x; minimize = 0 asks the storage for the end below 0: x < 0 */
  size_t below = 0;
  for (size_t i = 0; i < qt_study_n_trials(st); i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    below += ti.objective < 0;
  }
  qt_study_rec sr;
  ASSERT_TRUE(s->vt->study_load(s->self, "i", &sr, &e) == 0);
  EXPECT_EQ(s->vt->trials_delete_worse(s->self, sr.id, 0.0, 0, &nd, &e), 0);
  EXPECT_EQ(nd, below);
  EXPECT_TRUE(below > 0);
  qt_study_rec_fini(&sr);
  qt_metric_set_fini(&m);
  qt_study_free(st);
}

/* Every allocation of open/ask/tell/sync failing in turn: QT_ENOMEM comes
 * back (or the call succeeds when that allocation was not on its path), and
 * nothing leaks (ASan). */
static void test_enomem(void) {
  char url[256];
  qt_metric_set m;
  qt_metric_set_init(&m);
  qt_metric_set_put(&m, "value", 1.5, NULL);
  int saw_enomem = 0, finished = 0;
  for (long n = 1; n < 400 && !finished; n++) {
    char name[32];
    snprintf(name, sizeof name, "oom%ld", n);
    db_url(url, sizeof url, "oom");
    qt_study_opts o = qt_study_opts_default();
    o.name = name;
    o.storage_url = url;
    o.sampler = qt_sampler_find("random");
    strcpy(o.goal.metric, "value");
    qt_space *sp = space_xy();
    ASSERT_TRUE(sp);
    qt_study *st = NULL;
    qt_trial t = {0};
    qt_err e;
    int bad = 0;
    qt_alloc_fail_at(n, 0);
    int r = qt_study_open(&o, sp, &st, &e);
    if (r == 0) r = qt_study_ask(st, NULL, "w", &t, &e);
    if (r == 0) r = qt_study_tell(st, &t, QT_TRIAL_COMPLETE, &m, NULL, &e);
    if (r == 0) r = qt_study_sync(st, &e);
    qt_alloc_fail_at(0, 0);
    if (r == QT_ENOMEM) saw_enomem = 1;
    else if (r != 0) bad = 1;
    if (r == 0) {
      /* the hook was past every allocation: the whole path succeeded */
      EXPECT_EQ(qt_study_n_trials(st), 1);
      finished = 1;
    }
    if (bad) fprintf(stderr, "  n=%ld: %d %s\n", n, r, e.msg);
    EXPECT_TRUE(!bad);
    qt_trial_fini(&t);
    qt_study_free(st);
    qt_space_free(sp);
  }
  EXPECT_TRUE(saw_enomem);
  EXPECT_TRUE(finished);
  qt_metric_set_fini(&m);
}

static void test_cleanup_dir(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
  if (g_dir[0]) EXPECT_EQ(system(cmd), 0);
}

/* A trial failed behind the worker's back (stale recovery by another
 * process) before its result arrives: the late tell is dropped with a
 * warning, never an error, the stored failure stands and the study goes on. */
static int g_warns;
static void count_warn(void *ud, qt_log_level lvl, const char *msg) {
  (void)ud;
  g_warns += lvl == QT_LOG_WARN && strstr(msg, "late result dropped") != NULL;
}

static void test_late_result_dropped(void) {
  char url[256];
  db_url(url, sizeof url, "late");
  qt_study *st = open_study(url, "late", 0, "random", 4);
  ASSERT_TRUE(st);
  qt_err e = {0};
  qt_trial t;
  ASSERT_TRUE(qt_study_ask(st, NULL, "t", &t, &e) == 0);
  qt_storage *s = qt_study_storage(st);
  EXPECT_EQ(s->vt->trial_finish(s->self, t.id, QT_TRIAL_FAIL, NAN, NULL, NULL, -1,
                                "stale: no heartbeat (worker died?)", &e), 0);
  qt_metric_set m;
  qt_metric_set_init(&m);
  qt_metric_set_put(&m, "value", 1.0, NULL);
  g_warns = 0;
  qt_log_set(count_warn, NULL, QT_LOG_WARN);
  EXPECT_EQ(qt_study_tell(st, &t, QT_TRIAL_COMPLETE, &m, NULL, &e), 0);
  qt_log_set(NULL, NULL, QT_LOG_WARN);
  EXPECT_EQ(g_warns, 1);
  qt_trial_fini(&t);
  size_t c[QT_TRIAL_N_STATES];
  qt_study_counts(st, c);
  EXPECT_EQ(c[QT_TRIAL_FAIL], 1);
  EXPECT_EQ(c[QT_TRIAL_COMPLETE], 0);
  EXPECT_EQ(qt_study_best(st), -1);
  /* the study goes on */
  ASSERT_TRUE(qt_study_ask(st, NULL, "t", &t, &e) == 0);
  EXPECT_EQ(t.number, 1);
  EXPECT_EQ(qt_study_tell(st, &t, QT_TRIAL_COMPLETE, &m, NULL, &e), 0);
  qt_trial_fini(&t);
  qt_study_counts(st, c);
  EXPECT_EQ(c[QT_TRIAL_COMPLETE], 1);
  qt_metric_set_fini(&m);
  qt_study_free(st);
  /* what is stored: #0 failed as the recovery left it */
  qt_storage sto;
  ASSERT_TRUE(qt_storage_open(url, &sto, &e) == 0);
  qt_study_rec sr;
  ASSERT_TRUE(sto.vt->study_load(sto.self, "late", &sr, &e) == 0);
  qt_trial_rec *tr;
  size_t n;
  ASSERT_TRUE(sto.vt->trials_list(sto.self, sr.id, 0, &tr, &n, &e) == 0);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(tr[0].state, QT_TRIAL_FAIL);
  EXPECT_CONTAINS(tr[0].error, "stale");
  EXPECT_EQ(tr[1].state, QT_TRIAL_COMPLETE);
  qt_trial_recs_free(tr, n);
  qt_study_rec_fini(&sr);
  qt_storage_close(&sto);
}

QT_TESTS(T(test_ask_tell_scores), T(test_lenient), T(test_missing_metric), T(test_strict_minimize_inf),
         T(test_missing_metric_counts), T(test_pin_diff), T(test_pin_stored),
         T(test_failed_open_leaves_nothing), T(test_resume), T(test_deterministic),
         T(test_retries), T(test_pruned_params), T(test_stop), T(test_four_processes), T(test_importance),
         T(test_enomem), T(test_late_result_dropped), T(test_cleanup_dir))
