/* Opening a stored study (what every read-only command and the dashboard's
 * study page do first), on SQLite and on the PostgreSQL of QTUNE_PG_URL:
 * the params and metrics qtune itself stores (flat objects) are read
 * without jansson, so the jansson parses of an open do not grow with the
 * trials, while the records of other shapes (a nested by_symbol, a repeated
 * name whose last value is text, a name too long for a metric, damaged
 * params) still go through jansson and read as they always did.
 * json_loads is interposed here (the test binary's definition wins over
 * libjansson's) to count the parses. */
#include "qt_test.h"
#include "storage/storage_fixture.h"
#include "qtune/optimize.h"
#include "qtune/storage.h"

#include <dlfcn.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

static long g_loads;

json_t *json_loads(const char *input, size_t flags, json_error_t *error) {
  static json_t *(*real)(const char *, size_t, json_error_t *);
  if (!real) *(void **)&real = dlsym(RTLD_NEXT, "json_loads");
  g_loads++;
  return real(input, flags, error);
}

static sf_db g_db = {.name = "study_open",
                     .drop = "DROP TABLE IF EXISTS trials, studies, qtune_meta CASCADE"};

/* A study over x (float), mode (categorical) and on (bool) maximizing the
 * metric sharpe, with a constraint on trades; NULL after a message. */
static qt_study *create(void) {
  qt_study_opts o = qt_study_opts_default();
  o.name = "open";
  o.storage_url = g_db.url;
  o.seed = 1;
  o.sampler = qt_sampler_find("random");
  qt_goal_default(&o.goal, 0);
  snprintf(o.goal.metric, sizeof o.goal.metric, "sharpe");
  static const char *const ch[] = {"fast", "slow"};
  static const qt_param_spec spec[] = {
      {"x", QT_PARAM_FLOAT, -2, 3, 0, 0, 0, NULL, 0, ""},
      {"mode", QT_PARAM_CAT, 0, 1, 0, 0, 0, ch, 2, ""},
      {"on", QT_PARAM_BOOL, 0, 1, 0, 0, 0, NULL, 0, ""},
  };
  qt_err e;
  qt_space *sp = NULL;
  qt_study *st = NULL;
  if (qt_space_from_spec(spec, 3, &sp, &e) || qt_goal_parse_constraints(&o.goal, "trades>=10", &e) || qt_study_open(&o, sp, &st, &e))
    fprintf(stderr, "  create: %s\n", e.msg);
  qt_space_free(sp);
  return st;
}

/* One complete trial written straight through the storage, as a worker's. */
static int put(qt_study *st, const char *params, const char *metrics, double score) {
  qt_storage *s = qt_study_storage(st);
  qt_study_rec rec;
  memset(&rec, 0, sizeof rec);
  qt_err e;
  int64_t id, num;
  int r = s->vt->study_load(s->self, "open", &rec, &e);
  if (!r) r = s->vt->trial_claim(s->self, rec.id, params, "test", 0, &id, &num, &e);
  if (!r) r = s->vt->trial_finish(s->self, id, QT_TRIAL_COMPLETE, score, "[0]", metrics, 1, NULL, &e);
  if (r) fprintf(stderr, "  put: %s\n", e.msg);
  qt_study_rec_fini(&rec);
  return r;
}

static int put_plain(qt_study *st, int i) {
  char p[128], m[128];
  snprintf(p, sizeof p, "{\"x\":%.17g,\"mode\":\"%s\",\"on\":%s}", -2 + 0.01 * i,
           i % 2 ? "slow" : "fast", i % 3 ? "true" : "false");
  snprintf(m, sizeof m, "{\"sharpe\":%.17g,\"trades\":%d,\"win_rate\":0.5}", 0.001 * i, 10 + i);
  return put(st, p, m, 0.001 * i);
}

/* json_loads calls of a read-only open; *out the study (caller frees). */
static long loads_of_open(qt_study **out) {
  qt_study_opts o = qt_study_opts_default();
  o.name = "open";
  o.storage_url = g_db.url;
  qt_err e;
  long before = g_loads;
  *out = NULL;
  if (qt_study_open(&o, NULL, out, &e)) fprintf(stderr, "  open: %s\n", e.msg);
  return g_loads - before;
}

/* The info of trial `number` of st. */
static qt_trial_info info_of(const qt_study *st, int64_t number) {
  qt_trial_info ti;
  memset(&ti, 0, sizeof ti);
  ti.number = -1;
  for (size_t i = 0; i < qt_study_n_trials(st); i++) {
    qt_study_trial_info(st, i, &ti);
    if (ti.number == number) return ti;
  }
  ti.number = -1;
  return ti;
}

static void open_parses_flat_trials_without_jansson(void) {
  sf_fresh(&g_db, "open");
  qt_study *st = create();
  ASSERT_TRUE(st);
  /* trials 0..4: the shapes jansson still reads */
  EXPECT_EQ(put(st, "{\"x\":1,\"mode\":\"fast\",\"on\":true}",
                "{\"sharpe\":1.5,\"trades\":20,\"by_symbol\":{\"A\":{\"sharpe\":1}}}", 1.5), 0);
  EXPECT_EQ(put(st, "{\"x\":1,\"mode\":\"fast\",\"on\":true}",
                "{\"sharpe\":3,\"trades\":20,\"sharpe\":\"n/a\"}", 3), 0);
  EXPECT_EQ(put(st, "{\"x\":1,\"mode\":\"fast\",\"on\":true}",
                "{\"sharpe\":2,\"trades\":20,"
                "\"a_metric_name_of_forty_eight_bytes_is_one_too_lo\":1}", 2), 0);
  EXPECT_EQ(put(st, "{\"x\":", "{\"sharpe\":2,\"trades\":20}", 2), 0);
  EXPECT_EQ(put(st, "{\"x\":1,\"mode\":\"medium\",\"on\":true}", "{\"sharpe\":2,\"trades\":20}", 2), 0);
  /* trials 5, 6: flat, with spaces, text and booleans among the metrics */
  EXPECT_EQ(put(st, " { \"x\" : 2.5e-1 , \"mode\":\"slow\", \"on\":0 } ",
                "{ \"sharpe\" : 2.5e-3 , \"note\":\"ok\", \"flag\":true, \"trades\": 12 }", 0.0025),
            0);
  EXPECT_EQ(put(st, "{\"x\":0,\"mode\":\"fast\",\"on\":false}", "{\"sharpe\":9,\"trades\":3}", 9), 0);
  for (int i = 0; i < 20; i++) EXPECT_EQ(put_plain(st, i), 0);
  qt_study_free(st);

  qt_study *a = NULL;
  long few = loads_of_open(&a);
  ASSERT_TRUE(a);
  EXPECT_EQ(qt_study_n_trials(a), 27);
  qt_trial_info t0 = info_of(a, 0), t1 = info_of(a, 1), t2 = info_of(a, 2), t3 = info_of(a, 3),
                t4 = info_of(a, 4), t5 = info_of(a, 5), t6 = info_of(a, 6);
  EXPECT_EQ(t0.state, QT_TRIAL_COMPLETE);
  EXPECT_DBL_EQ(t0.objective, 1.5);
  /* jansson keeps the repeated name's last value, text: no sharpe, no objective */
  EXPECT_EQ(t1.state, QT_TRIAL_COMPLETE);
  EXPECT_EQ(isnan(t1.objective) != 0, 1);
  /* a metric name the set refuses, and params the space cannot read: failed */
  EXPECT_EQ(t2.state, QT_TRIAL_FAIL);
  EXPECT_EQ(t3.state, QT_TRIAL_FAIL);
  EXPECT_EQ(t4.state, QT_TRIAL_FAIL);
  EXPECT_EQ(t5.state, QT_TRIAL_COMPLETE);
  EXPECT_DBL_EQ(t5.objective, 0.0025);
  EXPECT_EQ(t5.feasible, 1);
  /* the constraint read from the flat metrics: 3 trades < 10 */
  EXPECT_EQ(t6.state, QT_TRIAL_COMPLETE);
  EXPECT_EQ(t6.feasible, 0);
  qt_trial_info b19 = info_of(a, 26);
  EXPECT_DBL_EQ(b19.objective, 0.019);
  EXPECT_EQ(b19.feasible, 1);
  long best = qt_study_best(a);
  ASSERT_TRUE(best >= 0);
  qt_trial_info tb;
  qt_study_trial_info(a, (size_t)best, &tb);
  EXPECT_EQ(tb.number, 0); /* 1.5: trials 2-4 failed, trial 6 (9) is infeasible */
  EXPECT_DBL_EQ(tb.objective, 1.5);
  qt_study_free(a);

  /* 200 more flat trials: not one more jansson parse */
  qt_study *w = NULL;
  qt_study_opts o = qt_study_opts_default();
  o.name = "open";
  o.storage_url = g_db.url;
  qt_err e;
  ASSERT_TRUE(qt_study_open(&o, NULL, &w, &e) == 0);
  for (int i = 20; i < 220; i++) EXPECT_EQ(put_plain(w, i), 0);
  qt_study_free(w);
  qt_study *b = NULL;
  long many = loads_of_open(&b);
  ASSERT_TRUE(b);
  EXPECT_EQ(qt_study_n_trials(b), 227);
  EXPECT_EQ(many, few);
  qt_study_free(b);
}

BOTH(open_parses_flat_trials_without_jansson)

QT_TESTS(T(sqlite_open_parses_flat_trials_without_jansson),
         T(pg_open_parses_flat_trials_without_jansson))
