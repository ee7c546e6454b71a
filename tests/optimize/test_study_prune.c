/* The study with a pruner and enqueued trials, in the library: an objective
 * that reports intermediate values is stopped by the pruner (QT_PRUNED),
 * the trial is stored pruned with its values, a reopened study reads them
 * back; enqueued params run first, in order; tags and notes are stored. */
#include "qt_test.h"
#include "qtune/optimize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_url[256];

static void fresh(const char *tag) {
  char path[200];
  snprintf(path, sizeof path, "/tmp/qtune_test_study_prune_%s_%d.db", tag, (int)getpid());
  unlink(path);
  char x[220];
  snprintf(x, sizeof x, "%s-wal", path);
  unlink(x);
  snprintf(x, sizeof x, "%s-shm", path);
  unlink(x);
  snprintf(g_url, sizeof g_url, "sqlite:///%s", path);
}

static qt_study *open_with(const char *name, const qt_sampler_vtbl *sampler) {
  qt_space *sp = NULL;
  qt_space_new(&sp, NULL);
  qt_dim a = {.name = "x", .type = QT_PARAM_FLOAT, .lo = 0, .hi = 10, .def = 5};
  qt_space_add(sp, &a, NULL);
  qt_study_opts o = qt_study_opts_default();
  o.name = name;
  o.storage_url = g_url;
  o.seed = 3;
  o.sampler = sampler;
  qt_goal_default(&o.goal, 0);
  strcpy(o.goal.metric, "value"); /* maximize */
  qt_study *st = NULL;
  qt_err e;
  if (qt_study_open(&o, sp, &st, &e)) fprintf(stderr, "open: %s\n", e.msg);
  qt_space_free(sp);
  return st;
}

static qt_study *open_x(const char *name) { return open_with(name, &qt_sampler_random); }

/* value at step k = x * k (k = 1..5), final value 10 x; the worker counts
 * how many steps it ran, to see that a pruned trial stopped at once. */
typedef struct sw {
  const qt_reporter *rep;
  int steps;
} sw;
static int g_steps;

static int s_new(const void *sh, void **out, qt_err *err) {
  *out = calloc(1, sizeof(sw));
  return *out ? 0 : qt_err_set(err, QT_ENOMEM, "oom");
}
static void s_free(void *w) { free(w); }
static void s_destroy(void *sh) {}
static void s_set(void *w, const qt_reporter *rep) { ((sw *)w)->rep = rep; }
static int s_eval(void *wv, const qt_space *sp, const double *x, const double *u, uint64_t seed,
                  qt_metric_set *out, qt_err *err) {
  sw *w = wv;
  for (int k = 1; k <= 5; k++) {
    g_steps++;
    if (w->rep && w->rep->report(w->rep->ud, k, NULL, u[0] * k, 0)) return QT_PRUNED;
  }
  return qt_metric_set_put(out, "value", 10 * u[0], err);
}
static const qt_objective_vtbl k_steps = {"steps", s_new, s_eval, s_free, s_destroy, s_set};

static void pruned_trials_stored(void) {
  fresh("p");
  qt_study *st = open_x("p");
  ASSERT_TRUE(st);
  qt_err e;
  qt_kv po[] = {{"n_startup_trials", "3"}, {NULL, NULL}};
  qt_pruner *pr = NULL;
  ASSERT_TRUE(qt_pruner_new("median", po, &pr, &e) == 0);
  qt_study_set_pruner(st, pr);
  qt_objective obj = {&k_steps, NULL, 0};
  qt_run_opts ro = qt_run_opts_default();
  ro.n_trials = 30;
  ro.jobs = 1;
  qt_progress p;
  g_steps = 0;
  ASSERT_TRUE(qt_study_run(st, &obj, &ro, &p, &e) == 0);
  size_t c[QT_TRIAL_N_STATES];
  qt_study_counts(st, c);
  EXPECT_EQ(c[QT_TRIAL_PRUNED], p.pruned);
  EXPECT_TRUE(p.pruned > 5);
  EXPECT_EQ(c[QT_TRIAL_COMPLETE] + c[QT_TRIAL_PRUNED], 30);
  EXPECT_EQ(p.rejected, 0);
  /* every pruned trial stopped at its last reported step: the steps run are
   * 5 per complete trial plus each pruned trial's last step */
  size_t want = 0, n = qt_study_n_trials(st);
  for (size_t i = 0; i < n; i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    size_t ni;
    const qt_step_value *iv = qt_study_trial_intermediate(st, i, &ni);
    if (ti.state == QT_TRIAL_PRUNED) {
      ASSERT_TRUE(ni >= 1 && ni < 5);
      EXPECT_EQ(iv[ni - 1].step, (int64_t)ni);
      want += ni;
    } else {
      EXPECT_EQ(ni, 5);
      want += 5;
    }
  }
  EXPECT_EQ((size_t)g_steps, want);
  qt_study_free(st);
  /* reopened: the stored intermediate values are read back */
  st = open_x("p");
  ASSERT_TRUE(st);
  size_t ni0;
  qt_study_trial_intermediate(st, 0, &ni0);
  EXPECT_EQ(ni0, 5); /* the first trials ran in full (n_startup_trials) */
  size_t back = 0;
  for (size_t i = 0; i < qt_study_n_trials(st); i++) {
    size_t ni;
    qt_study_trial_intermediate(st, i, &ni);
    back += ni;
  }
  EXPECT_EQ(back, want);
  qt_study_free(st);
  qt_pruner_free(pr);
}

/* A sampler that proposes x = 0.5, 1.5, ... (mod 10) and keeps a copy of
 * the views it was last handed. */
#define REC_MAX 64
static qt_trial_view g_seen[REC_MAX];
static size_t g_n_seen;
static int rec_create(const qt_space *sp, uint64_t seed, const qt_kv *opts, void **out,
                      qt_err *err) {
  *out = calloc(1, 1);
  return *out ? 0 : qt_err_set(err, QT_ENOMEM, "oom");
}
static int rec_propose(void *self, const qt_trial_view *done, size_t n, double *out_x,
                       qt_err *err) {
  g_n_seen = n < REC_MAX ? n : REC_MAX;
  if (g_n_seen) memcpy(g_seen, done, g_n_seen * sizeof *done);
  out_x[0] = fmod(0.5 + (double)n * 3.0, 10.0);
  return QT_OK;
}
static void rec_destroy(void *self) { free(self); }
static const qt_sampler_vtbl k_rec = {QT_SAMPLER_ABI, "rec", rec_create, rec_propose, NULL,
                                      rec_destroy, 1};

/* What the samplers see of a pruned trial: its last step and the value
 * there, minimized (the study maximizes: negated), in this process and
 * after a reopen (read back from storage); other trials have no step. */
static void views_carry_pruned_steps(void) {
  fresh("v");
  qt_err e;
  qt_kv po[] = {{"n_startup_trials", "2"}, {NULL, NULL}};
  qt_pruner *pr = NULL;
  ASSERT_TRUE(qt_pruner_new("median", po, &pr, &e) == 0);
  qt_objective obj = {&k_steps, NULL, 0};
  qt_run_opts ro = qt_run_opts_default();
  ro.jobs = 1;
  qt_progress p;
  for (int pass = 0; pass < 2; pass++) {
    qt_study *st = open_with("v", &k_rec);
    ASSERT_TRUE(st);
    qt_study_set_pruner(st, pr);
    ro.n_trials = pass == 0 ? 20 : 1; /* the second pass: one trial of a reopened study */
    ASSERT_TRUE(qt_study_run(st, &obj, &ro, &p, &e) == 0);
    size_t n = qt_study_n_trials(st), n_pruned = 0;
    ASSERT_TRUE(g_n_seen == n - 1); /* the last proposal saw every trial before it */
    for (size_t i = 0; i < g_n_seen; i++) {
      qt_trial_info ti;
      qt_study_trial_info(st, i, &ti);
      size_t ni;
      const qt_step_value *iv = qt_study_trial_intermediate(st, i, &ni);
      const qt_trial_view *v = &g_seen[i];
      EXPECT_EQ(v->number, ti.number);
      if (ti.state == QT_TRIAL_PRUNED) {
        n_pruned++;
        ASSERT_TRUE(ni >= 1);
        EXPECT_EQ(v->has_step, 1);
        EXPECT_EQ(v->step, iv[ni - 1].step);
        EXPECT_NEAR(v->step_value, -iv[ni - 1].value, 1e-12);
        EXPECT_TRUE(isnan(v->value));
      } else {
        EXPECT_EQ(v->has_step, 0);
      }
    }
    EXPECT_TRUE(n_pruned >= 5);
    qt_study_free(st);
  }
  qt_pruner_free(pr);
}

static void enqueued_first_in_order(void) {
  fresh("q");
  qt_study *st = open_x("q");
  ASSERT_TRUE(st);
  qt_err e;
  int64_t first;
  size_t n;
  EXPECT_EQ(qt_study_enqueue_text(st, "x=1.5", NULL, &first, &n, &e), 0);
  EXPECT_EQ(first, 0);
  EXPECT_EQ(qt_study_enqueue_text(st, "- x: 2.5\n- {x: 3.5}\n", "f.yaml", &first, &n, &e), 0);
  EXPECT_EQ(first, 1);
  EXPECT_EQ(n, 2);
  /* errors name the source, line and field; nothing is stored from a bad file */
  EXPECT_EQ(qt_study_enqueue_text(st, "- x: 1\n- x: -3\n", "g.yaml", &first, &n, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "g.yaml:2: field 'x': -3 is outside its range [0, 10]");
  EXPECT_EQ(n, 0);
  EXPECT_EQ(qt_study_enqueue_text(st, "z=1", NULL, &first, &n, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "unknown parameter 'z'");
  EXPECT_EQ(qt_study_enqueue_text(st, "x=abc", NULL, &first, &n, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "'abc' is not a number");
  EXPECT_EQ(qt_study_enqueue_text(st, "[1, 2]", "h.json", &first, &n, &e), QT_EPARSE);
  size_t c[QT_TRIAL_N_STATES];
  qt_study_counts(st, c);
  EXPECT_EQ(c[QT_TRIAL_WAITING], 3);
  qt_objective obj = {&k_steps, NULL, 0};
  qt_run_opts ro = qt_run_opts_default();
  ro.n_trials = 5;
  ro.jobs = 1;
  qt_progress p;
  ASSERT_TRUE(qt_study_run(st, &obj, &ro, &p, &e) == 0);
  static const double want[3] = {1.5, 2.5, 3.5};
  for (size_t i = 0; i < 3; i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    EXPECT_EQ(ti.state, QT_TRIAL_COMPLETE);
    EXPECT_EQ(ti.number, (int64_t)i);
    EXPECT_NEAR(ti.objective, 10 * want[i], 1e-12);
  }
  qt_study_counts(st, c);
  EXPECT_EQ(c[QT_TRIAL_WAITING], 0);
  EXPECT_EQ(c[QT_TRIAL_COMPLETE], 5);
  /* tags go to the stored config; notes onto trials */
  qt_kv tags[] = {{"owner", "bob"}, {NULL, NULL}};
  EXPECT_EQ(qt_study_set_tags(st, tags, &e), 0);
  EXPECT_CONTAINS(qt_study_config_json(st), "\"tags\":{\"owner\":\"bob\"}");
  qt_kv bad[] = {{"bad key", "v"}, {NULL, NULL}};
  EXPECT_EQ(qt_study_set_tags(st, bad, &e), QT_EINVAL);
  EXPECT_EQ(qt_study_set_note(st, 1, "fine", &e), 0);
  EXPECT_EQ(qt_study_set_note(st, 77, "x", &e), QT_ENOTFOUND);
  qt_study_free(st);
  st = open_x("q");
  ASSERT_TRUE(st);
  EXPECT_CONTAINS(qt_study_config_json(st), "\"owner\":\"bob\"");
  qt_study_free(st);
}

QT_TESTS(T(pruned_trials_stored), T(views_carry_pruned_steps), T(enqueued_first_in_order))
