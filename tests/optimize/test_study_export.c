/* study_export.c: the ranking of trials (feasible first, direction, ties by
 * order), the per-trial CSV, the best-params YAML, one trial as JSON,
 * readable param values and the cleanup below a score, on a hand-made study
 * over SQLite whose every value is stated below. */
#include "qt_test.h"
#include "qtune/optimize.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static char g_dir[64];

static void db_url(char *buf, size_t cap, const char *name) {
  if (!g_dir[0]) {
    strcpy(g_dir, "/tmp/qt_study_export_XXXXXX");
    if (!mkdtemp(g_dir)) abort();
  }
  snprintf(buf, cap, "sqlite:///%s/%s.db", g_dir, name);
}

static const char k_space[] = "n: {type: int, low: 1, high: 10}\n"
                              "r: {type: float, low: 0, high: 1, step: 0.05}\n"
                              "x: {type: float, low: -2, high: 3}\n"
                              "mode: {type: categorical, choices: [a, b]}\n";

/* Trials (internal x: n, r, x, mode index), their "value" and "trades":
 *   #0  n=3 r=0.25 x=0.123456789 a  value 1.0  trades 80  feasible
 *   #1  n=5 r=0.5  x=-1.5        b  value 0.5  trades 10  infeasible (trades >= 50):
 *       rejected, so scored +inf (minimizing) with the reason as its error
 *   #2  n=7 r=0.1  x=2           a  value 2.0  trades 60  feasible
 *   #3  n=1 r=0    x=0           a  failed ("boom, \"quoted\"")
 *   #4  n=9 r=0.95 x=1           b  value 1.0  trades 90  feasible (ties #0)
 * Minimizing: #0, #4 (tie: trial order), #2, then infeasible #1; #3 unranked. */
static qt_study *make_study(const char *name, int maximize) {
  char url[256];
  db_url(url, sizeof url, name);
  qt_study_opts o = qt_study_opts_default();
  o.name = name;
  o.storage_url = url;
  o.sampler = qt_sampler_find("random");
  qt_goal_default(&o.goal, 0);
  strcpy(o.goal.metric, "value");
  o.goal.maximize = maximize;
  qt_err e = {0};
  if (qt_goal_parse_constraints(&o.goal, "trades>=50", &e)) return NULL;
  qt_space *sp = NULL;
  qt_study *st = NULL;
  if (qt_space_new(&sp, &e) || qt_space_apply_yaml(sp, k_space, "space", NULL, 0, &e) ||
      qt_study_open(&o, sp, &st, &e)) {
    fprintf(stderr, "  make_study: %s\n", e.msg);
    qt_space_free(sp);
    return NULL;
  }
  qt_space_free(sp);
  static const double xs[5][4] = {
      {3, 0.25, 0.123456789, 0}, {5, 0.5, -1.5, 1}, {7, 0.1, 2, 0}, {1, 0, 0, 0}, {9, 0.95, 1, 1}};
  static const double val[5] = {1.0, 0.5, 2.0, 0, 1.0}, trades[5] = {80, 10, 60, 0, 90};
  qt_metric_set m;
  qt_metric_set_init(&m);
  for (int i = 0; i < 5; i++) {
    qt_trial t;
    if (qt_study_ask(st, xs[i], "t", &t, &e)) break;
    qt_metric_set_clear(&m);
    qt_metric_set_put(&m, "value", val[i], NULL);
    qt_metric_set_put(&m, "trades", trades[i], NULL);
    if (i == 3) qt_study_tell(st, &t, QT_TRIAL_FAIL, NULL, "boom, \"quoted\"", &e);
    else qt_study_tell(st, &t, QT_TRIAL_COMPLETE, &m, NULL, &e);
    qt_trial_fini(&t);
  }
  qt_metric_set_fini(&m);
  return st;
}

static void rank_order(void) {
  qt_study *st = make_study("rank_min", 0);
  ASSERT_TRUE(st != NULL);
  ASSERT_TRUE(qt_study_n_trials(st) == 5);
  size_t idx[5], n = 99;
  qt_err e = {0};
  EXPECT_EQ(qt_study_rank(st, idx, 5, &n, &e), 0);
  EXPECT_EQ(n, 4);
  EXPECT_EQ(idx[0], 0);
  EXPECT_EQ(idx[1], 4);
  EXPECT_EQ(idx[2], 2);
  EXPECT_EQ(idx[3], 1);
  EXPECT_EQ((long)idx[0], qt_study_best(st)); /* the ranking's head is the best trial */
  EXPECT_EQ(qt_study_rank(st, idx, 2, &n, &e), 0);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(idx[1], 4);
  qt_study_free(st);
  st = make_study("rank_max", 1);
  ASSERT_TRUE(st != NULL);
  EXPECT_EQ(qt_study_rank(st, idx, 5, &n, &e), 0);
  EXPECT_EQ(n, 4);
  EXPECT_EQ(idx[0], 2);
  EXPECT_EQ(idx[1], 0);
  EXPECT_EQ(idx[2], 4);
  EXPECT_EQ(idx[3], 1); /* infeasible last even though maximizing */
  qt_alloc_fail_at(1, 0); /* the ranking's one allocation */
  EXPECT_EQ(qt_study_rank(st, idx, 5, &n, &e), QT_ENOMEM);
  EXPECT_EQ(n, 0);
  EXPECT_CONTAINS(e.msg, "ranking 5 trials: out of memory");
  qt_alloc_fail_at(0, 0);
  qt_study_free(st);
}

static char *to_text(qt_study *st, int which, size_t i) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  int rc = which == 0 ? qt_study_write_csv(st, f, NULL)
           : which == 1 ? qt_study_write_best_yaml(st, i, f, NULL)
                        : qt_study_write_trial_json(st, i, f, NULL);
  fclose(f);
  if (rc) {
    free(buf);
    return NULL;
  }
  return buf;
}

/* The exact CSV of the hand-made study: the objective and floats at 17
 * digits, violations as metric:miss, the error CSV-quoted. */
static void csv_exact(void) {
  qt_study *st = make_study("csv_exact", 0);
  ASSERT_TRUE(st != NULL);
  char *s = to_text(st, 0, 0);
  ASSERT_TRUE(s != NULL);
  const char *want =
      "number,state,value,feasible,violations,error,value,trades,n,r,x,mode\n"
      "0,complete,1,1,,,1,80,3,0.25,0.123456789,a\n"
      "1,complete,inf,0,trades:40,infeasible: trades 10 < 50,0.5,10,5,0.5,-1.5,b\n"
      "2,complete,2,1,,,2,60,7,0.10000000000000001,2,a\n"
      "3,fail,,0,,\"boom, \"\"quoted\"\"\",,,1,0,0,a\n"
      "4,complete,1,1,,,1,90,9,0.94999999999999996,1,b\n";
  EXPECT_STREQ(s, want);
  free(s);
  qt_study_free(st);
}

static void best_yaml_and_json(void) {
  qt_study *st = make_study("best", 0);
  ASSERT_TRUE(st != NULL);
  char *y = to_text(st, 1, 0);
  ASSERT_TRUE(y != NULL);
  EXPECT_STREQ(y, "# qtune best parameters: study best, trial #0, value 1\n"
                  "n: 3\nr: 0.25\nx: 0.123456789\nmode: \"a\"\n");
  free(y);
  char *js = to_text(st, 2, 1);
  ASSERT_TRUE(js != NULL);
  json_t *o = json_loads(js, 0, NULL);
  free(js);
  ASSERT_TRUE(json_is_object(o));
  EXPECT_STREQ(json_string_value(json_object_get(o, "study")), "best");
  EXPECT_EQ(json_integer_value(json_object_get(o, "trial")), 1);
  EXPECT_STREQ(json_string_value(json_object_get(o, "objective")), "value");
  EXPECT_STREQ(json_string_value(json_object_get(o, "direction")), "minimize");
  EXPECT_STREQ(json_string_value(json_object_get(o, "score")), "inf"); /* JSON has no inf */
  EXPECT_TRUE(json_is_false(json_object_get(o, "feasible")));
  json_t *p = json_object_get(o, "params"), *m = json_object_get(o, "metrics");
  EXPECT_EQ(json_integer_value(json_object_get(p, "n")), 5);
  EXPECT_NEAR(json_real_value(json_object_get(p, "x")), -1.5, 0);
  EXPECT_STREQ(json_string_value(json_object_get(p, "mode")), "b");
  EXPECT_NEAR(json_number_value(json_object_get(m, "trades")), 10, 0);
  json_decref(o);
  /* a failed trial: no score (null), no params file */
  js = to_text(st, 2, 3);
  ASSERT_TRUE(js != NULL);
  EXPECT_CONTAINS(js, "\"score\": null");
  free(js);
  qt_study_free(st);
}

static void param_text(void) {
  qt_study *st = make_study("text", 0);
  ASSERT_TRUE(st != NULL);
  char b[64];
  qt_study_param_text(st, 0, 0, b, sizeof b);
  EXPECT_STREQ(b, "3");
  qt_study_param_text(st, 0, 1, b, sizeof b);
  EXPECT_STREQ(b, "0.25");
  qt_study_param_text(st, 2, 1, b, sizeof b); /* 0.1 stored as 0.10000000000000001 */
  EXPECT_STREQ(b, "0.10");
  qt_study_param_text(st, 0, 2, b, sizeof b); /* continuous: %.6g */
  EXPECT_STREQ(b, "0.123457");
  qt_study_param_text(st, 1, 3, b, sizeof b);
  EXPECT_STREQ(b, "b");
  char small[4];
  qt_study_param_text(st, 0, 2, small, sizeof small);
  EXPECT_STREQ(small, "0.1");
  qt_study_free(st);
}

/* Cleanup deletes the worse end of the study's direction. */
static void cleanup_worse_minimize(void) {
  qt_study *st = make_study("clean", 0);
  ASSERT_TRUE(st != NULL);
  /* minimizing, worse than 1.5 is above it: #2 (2) and the rejected #1
   * (+inf); #0 and #4 (1) are the best and stay; the failed #3 has none */
  EXPECT_EQ(qt_study_count_worse(st, 1.5), 2);
  EXPECT_EQ(qt_study_count_worse(st, 1e300), 1); /* only +inf */
  size_t del = 99;
  qt_err e = {0};
  EXPECT_EQ(qt_study_delete_worse(st, 1.5, &del, &e), 0);
  EXPECT_EQ(del, 2);
  qt_study_free(st);
  char url[256];
  db_url(url, sizeof url, "clean");
  qt_study_opts o = qt_study_opts_default();
  o.name = "clean";
  o.storage_url = url;
  ASSERT_TRUE(qt_study_open(&o, NULL, &st, &e) == 0);
  EXPECT_EQ(qt_study_n_trials(st), 3); /* #0, #3, #4 */
  qt_trial_info ti;
  qt_study_trial_info(st, 0, &ti);
  EXPECT_EQ(ti.number, 0);
  qt_study_trial_info(st, 2, &ti);
  EXPECT_EQ(ti.number, 4);
  qt_study_free(st);
}

/* Maximizing, worse is below; the numbers of deleted trials (#4, the
 * highest, among them) are never handed out again. */
static void cleanup_worse_maximize_numbers(void) {
  qt_study *st = make_study("cleanmax", 1);
  ASSERT_TRUE(st != NULL);
  /* below 1.5: #0 (1), #4 (1) and the rejected #1 (-inf) */
  EXPECT_EQ(qt_study_count_worse(st, 1.5), 3);
  size_t del = 99;
  qt_err e = {0};
  EXPECT_EQ(qt_study_delete_worse(st, 1.5, &del, &e), 0);
  EXPECT_EQ(del, 3);
  qt_study_free(st);
  char url[256];
  db_url(url, sizeof url, "cleanmax");
  qt_study_opts o = qt_study_opts_default();
  o.name = "cleanmax";
  o.storage_url = url;
  o.sampler = qt_sampler_find("random");
  ASSERT_TRUE(qt_study_open(&o, NULL, &st, &e) == 0);
  EXPECT_EQ(qt_study_n_trials(st), 2); /* #2, #3 */
  /* the next claim (what ask does) after reopening */
  qt_storage *s = qt_study_storage(st);
  qt_study_rec sr;
  ASSERT_TRUE(s->vt->study_load(s->self, "cleanmax", &sr, &e) == 0);
  int64_t id, num;
  EXPECT_EQ(s->vt->trial_claim(s->self, sr.id, "{}", "t", 0, &id, &num, &e), 0);
  qt_study_rec_fini(&sr);
  EXPECT_EQ(num, 5); /* not 4: the number of a deleted trial */
  qt_study_free(st);
}

/* A study name and a label with a newline and quotes cannot add a key to
 * the best-params YAML, and the default file name stays in the folder. */
static void best_yaml_no_injection(void) {
  char url[256];
  db_url(url, sizeof url, "evil");
  qt_study_opts o = qt_study_opts_default();
  o.name = "../../evil\nfast: 999";
  o.storage_url = url;
  o.sampler = qt_sampler_find("random");
  qt_goal_default(&o.goal, 0);
  strcpy(o.goal.metric, "value");
  qt_err e = {0};
  qt_space *sp = NULL;
  qt_study *st = NULL;
  ASSERT_TRUE(qt_space_new(&sp, &e) == 0);
  ASSERT_TRUE(qt_space_apply_yaml(sp, "mode: {type: categorical, choices: [\"b\\nfast: 999\\t\\\"q\\\\\"]}\n",
                                  "space", NULL, 0, &e) == 0);
  int r = qt_study_open(&o, sp, &st, &e);
  if (r) fprintf(stderr, "  open: %s\n", e.msg);
  ASSERT_TRUE(r == 0);
  qt_space_free(sp);
  qt_trial t;
  double x0 = 0;
  ASSERT_TRUE(qt_study_ask(st, &x0, "t", &t, &e) == 0);
  qt_metric_set m;
  qt_metric_set_init(&m);
  qt_metric_set_put(&m, "value", 1, NULL);
  EXPECT_EQ(qt_study_tell(st, &t, QT_TRIAL_COMPLETE, &m, NULL, &e), 0);
  qt_metric_set_fini(&m);
  qt_trial_fini(&t);
  char *y = to_text(st, 1, 0);
  ASSERT_TRUE(y != NULL);
  EXPECT_STREQ(y, "# qtune best parameters: study ../../evil\\x0afast: 999, trial #0, value 1\n"
                  "mode: \"b\\nfast: 999\\t\\\"q\\\\\"\n");
  free(y);
  char path[256];
  EXPECT_STREQ(qt_study_best_path(st, path, sizeof path), "______evil_fast: 999_best.yaml");
  qt_study_free(st);
}

QT_TESTS(T(rank_order), T(csv_exact), T(best_yaml_and_json), T(param_text),
         T(cleanup_worse_minimize), T(cleanup_worse_maximize_numbers),
         T(best_yaml_no_injection))
