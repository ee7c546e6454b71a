#include "qt_test.h"
#include "qtune/validate.h"

#include <jansson.h>
#include <unistd.h>

/* qt_validate_study on studies run by the real runner, whose objective
 * reports per-period returns (stored by the runner in trial_returns): pure
 * noise is rejected (PBO near or above 0.5, DSR below 0.95), a planted edge
 * is kept; a study without stored returns is refused by name. */

#define T_PERIODS 240

typedef struct synth_shared {
  double edge; /* mean return per period at x = 1 */
} synth_shared;

static int w_new(const void *shared, void **out_w, qt_err *err) {
  *out_w = (void *)shared;
  return QT_OK;
}
static void w_free(void *w) {}
static void s_destroy(void *shared) {}

/* Returns N(edge * x, 0.01) drawn from the trial's seed; metric sharpe. */
static int s_eval(void *w, const qt_space *sp, const double *x, const double *u, uint64_t seed,
                  qt_metric_set *out, qt_err *err) {
  const synth_shared *sh = w;
  int r = qt_metric_set_reserve_returns(out, T_PERIODS, err);
  if (r) return r;
  qt_rng rng;
  qt_rng_seed(&rng, seed);
  double s1 = 0, s2 = 0;
  for (size_t t = 0; t < T_PERIODS; t++) {
    double v = sh->edge * u[0] + 0.01 * qt_rng_normal(&rng);
    out->ret[t] = v;
    s1 += v, s2 += v * v;
  }
  double mean = s1 / T_PERIODS, sd = sqrt((s2 - s1 * mean) / (T_PERIODS - 1));
  out->ret_period_ms = 86400000;
  out->ret_start_ms = 0;
  return qt_metric_set_put(out, "sharpe", mean / sd, err);
}

static const qt_objective_vtbl k_synth = {"synth", w_new, s_eval, w_free, s_destroy, NULL};

static qt_study *run_study(const char *tag, double edge, size_t n_trials) {
  char path[256], url[300];
  snprintf(path, sizeof path, "/tmp/qtune_test_vstats_%s_%d.db", tag, (int)getpid());
  unlink(path);
  snprintf(url, sizeof url, "sqlite:///%s", path);
  qt_err e = {0};
  qt_space *sp = NULL;
  EXPECT_EQ(qt_space_new(&sp, &e), 0);
  qt_dim d;
  memset(&d, 0, sizeof d);
  snprintf(d.name, sizeof d.name, "x");
  d.type = QT_PARAM_FLOAT;
  d.lo = 0;
  d.hi = 1;
  EXPECT_EQ(qt_space_add(sp, &d, &e), 0);
  qt_study_opts o = qt_study_opts_default();
  o.name = tag;
  o.storage_url = url;
  o.seed = 3;
  o.sampler = &qt_sampler_random;
  qt_goal_default(&o.goal, 0);
  snprintf(o.goal.metric, sizeof o.goal.metric, "sharpe");
  qt_study *st = NULL;
  int r = qt_study_open(&o, sp, &st, &e);
  if (r) fprintf(stderr, "open: %s\n", e.msg);
  qt_space_free(sp);
  if (r) return NULL;
  synth_shared sh = {edge};
  qt_objective obj = {&k_synth, &sh, 0};
  qt_run_opts ro = qt_run_opts_default();
  ro.n_trials = n_trials;
  ro.jobs = 2;
  ro.deterministic = 1;
  r = qt_study_run(st, &obj, &ro, NULL, &e);
  if (r) fprintf(stderr, "run: %s\n", e.msg);
  EXPECT_EQ(r, 0);
  return st;
}

static json_t *validate(qt_study *st) {
  static char buf[1 << 16];
  qt_err e = {0};
  qt_validate_opts o = qt_validate_opts_default();
  o.spa.n_boot = 300;
  int r = qt_validate_study(st, &o, buf, sizeof buf, &e);
  if (r) fprintf(stderr, "validate: %s\n", e.msg);
  EXPECT_EQ(r, 0);
  return r ? NULL : json_loads(buf, 0, NULL);
}

static double num(json_t *o, const char *a, const char *b) {
  return json_number_value(json_object_get(json_object_get(o, a), b));
}

static void noise_rejected(void) {
  qt_study *st = run_study("noise", 0.0, 100);
  ASSERT_TRUE(st);
  json_t *j = validate(st);
  ASSERT_TRUE(j);
  EXPECT_EQ(json_integer_value(json_object_get(j, "trials")), 100);
  EXPECT_EQ(json_integer_value(json_object_get(j, "periods")), T_PERIODS);
  double pbo = num(j, "pbo", "pbo"), dsr = num(j, "sharpe", "dsr");
  fprintf(stderr, "  noise: PBO %.3f DSR %.3f RC p %.3f\n", pbo, dsr,
          num(json_object_get(j, "spa"), "flat", "rc_p"));
  EXPECT_TRUE(pbo >= 0.4);
  EXPECT_TRUE(dsr < 0.95);
  EXPECT_TRUE(json_is_true(json_object_get(json_object_get(j, "sharpe"), "rejected")));
  EXPECT_TRUE(num(json_object_get(j, "spa"), "flat", "rc_p") > 0.05);
  /* the table names the verdicts */
  char *s = json_dumps(j, 0);
  FILE *f = tmpfile();
  qt_err e = {0};
  EXPECT_EQ(qt_validate_write_table(s, f, &e), 0);
  rewind(f);
  char text[8192] = {0};
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = 0;
  fclose(f);
  EXPECT_CONTAINS(text, "deflated Sharpe ratio (DSR)");
  EXPECT_CONTAINS(text, "REJECTED: within what selection luck gives");
  EXPECT_CONTAINS(text, "logit quartiles");
  free(s);
  json_decref(j);
  qt_study_free(st);
}

static void edge_kept(void) {
  /* mean 0.006 x per period against SD 0.01: the best (x near 1) has a true
   * per-period Sharpe near 0.6, t near 9 over 240 periods */
  qt_study *st = run_study("edge", 0.006, 60);
  ASSERT_TRUE(st);
  json_t *j = validate(st);
  ASSERT_TRUE(j);
  double pbo = num(j, "pbo", "pbo"), dsr = num(j, "sharpe", "dsr");
  fprintf(stderr, "  edge: PBO %.3f DSR %.3f\n", pbo, dsr);
  EXPECT_TRUE(pbo < 0.1);
  EXPECT_TRUE(dsr > 0.95);
  EXPECT_TRUE(json_is_false(json_object_get(json_object_get(j, "sharpe"), "rejected")));
  EXPECT_TRUE(num(json_object_get(j, "spa"), "flat", "rc_p") < 0.05);
  /* the spread of the top 10's x: the edge pins them near 1 */
  json_t *p0 = json_array_get(json_object_get(json_object_get(j, "stability"), "params"), 0);
  EXPECT_STREQ(json_string_value(json_object_get(p0, "name")), "x");
  EXPECT_TRUE(json_number_value(json_object_get(p0, "min")) > 0.5);
  json_decref(j);
  qt_study_free(st);
}

/* The runner stored one series per complete trial; a study with none is
 * refused with a message that says why. */
static void no_returns_refused(void) {
  qt_study *st = run_study("none", 0.0, 4);
  ASSERT_TRUE(st);
  qt_storage *s = qt_study_storage(st);
  qt_study_rec rec;
  qt_err e = {0};
  memset(&rec, 0, sizeof rec);
  EXPECT_EQ(s->vt->study_load(s->self, "none", &rec, &e), 0);
  qt_returns_rec *v = NULL;
  size_t n = 0;
  EXPECT_EQ(qt_returns_list(s, rec.id, &v, &n, &e), 0);
  EXPECT_EQ(n, 4);
  qt_returns_recs_free(v, n);
  EXPECT_EQ(qt_returns_delete(s, rec.id, NULL, &e), 0);
  qt_study_rec_fini(&rec);
  char buf[4096];
  EXPECT_EQ(qt_validate_study(st, NULL, buf, sizeof buf, &e), QT_ENOTFOUND);
  EXPECT_CONTAINS(e.msg, "no stored return series");
  qt_study_free(st);
}

/* Every qt_malloc of qt_validate_study failed in turn: QT_ENOMEM (or the
 * storage's own message for its reads), nothing leaked (ASan), then OK. */
static void alloc_failures(void) {
  qt_study *st = run_study("oom", 0.0, 12);
  ASSERT_TRUE(st);
  static char buf[1 << 16];
  qt_validate_opts o = qt_validate_opts_default();
  o.spa.n_boot = 50;
  qt_err e = {0};
  int done = 0;
  for (long n = 1; n < 400 && !done; n++) {
    qt_alloc_fail_at(n, 0);
    int rc = qt_validate_study(st, &o, buf, sizeof buf, &e);
    qt_alloc_fail_at(0, 0);
    if (rc == QT_OK) done = 1;
    else if (rc != QT_ENOMEM && rc != QT_ESTORE) {
      fprintf(stderr, "  allocation %ld: %d %s\n", n, rc, e.msg);
      EXPECT_TRUE(0);
    }
  }
  EXPECT_TRUE(done);
  qt_study_free(st);
}

QT_TESTS(T(noise_rejected), T(edge_kept), T(no_returns_refused), T(alloc_failures))
