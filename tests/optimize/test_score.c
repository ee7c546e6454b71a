/* Scores, normalization and constraints against hand-computed values. */
#include "qt_test.h"
#include "qtune/optimize.h"

static void put(qt_metric_set *m, const char *k, double v) {
  ASSERT_TRUE(qt_metric_set_put(m, k, v, NULL) == 0);
}

static void test_metric_set(void) {
  qt_metric_set m;
  qt_metric_set_init(&m);
  for (int i = 0; i < 100; i++) {
    char k[16];
    snprintf(k, sizeof k, "m%d", i);
    put(&m, k, i * 1.5);
  }
  put(&m, "m7", -3);
  EXPECT_EQ(m.n, 100);
  EXPECT_NEAR(*qt_metric_set_find(&m, "m7"), -3, 0);
  EXPECT_NEAR(*qt_metric_set_find(&m, "m99"), 148.5, 0);
  EXPECT_TRUE(qt_metric_set_find(&m, "m100") == NULL);
  qt_err e;
  char longname[64];
  memset(longname, 'a', 60);
  longname[60] = 0;
  EXPECT_EQ(qt_metric_set_put(&m, longname, 1, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "1..47");
  qt_metric_set_clear(&m);
  EXPECT_TRUE(qt_metric_set_find(&m, "m7") == NULL);
  qt_metric_set_fini(&m);
  /* OOM on the first growth comes back as QT_ENOMEM and leaves the set usable */
  qt_metric_set_init(&m);
  qt_alloc_fail_at(1, 0);
  EXPECT_EQ(qt_metric_set_put(&m, "a", 1, &e), QT_ENOMEM);
  qt_alloc_fail_at(0, 0);
  EXPECT_EQ(qt_metric_set_put(&m, "a", 1, &e), 0);
  qt_metric_set_fini(&m);
}

/* Three trials, default weights: every term min-max normalized by hand. */
static void test_default_score(void) {
  qt_goal g;
  qt_goal_default(&g, 1);
  EXPECT_STREQ(g.metric, "score");
  EXPECT_EQ(g.n_terms, 4);
  EXPECT_EQ(g.n_cons, 6);
  /* rows: sharpe, total_profit, calmar, max_drawdown */
  double v[] = {1.0, 100, 0.5, 0.10,   /* A */
                2.0, 300, 1.5, 0.30,   /* B */
                3.0, 200, 1.0, 0.20};  /* C */
  qt_norm nm;
  qt_norm_refresh(&nm, &g, v, 3);
  EXPECT_EQ(nm.n_seen, 3);
  EXPECT_NEAR(nm.lo[1], 100, 0);
  EXPECT_NEAR(nm.hi[1], 300, 0);
  /* A: 0.3*0 + 0.25*0 + 0.25*0 - 0.2*0 = 0 */
  EXPECT_NEAR(qt_norm_score(&nm, &g, v), 0.0, 1e-12);
  /* B: 0.3*0.5 + 0.25*1 + 0.25*1 - 0.2*1 = 0.45 */
  EXPECT_NEAR(qt_norm_score(&nm, &g, v + 4), 0.45, 1e-12);
  /* C: 0.3*1 + 0.25*0.5 + 0.25*0.5 - 0.2*0.5 = 0.45 */
  EXPECT_NEAR(qt_norm_score(&nm, &g, v + 8), 0.45, 1e-12);
  /* out of range values clip to [0,1]: sharpe 10 -> 1, profit -50 -> 0,
   * calmar 1.25 -> 0.75, drawdown 0.05 -> 0: 0.3 + 0 + 0.1875 - 0 */
  double d[] = {10, -50, 1.25, 0.05};
  EXPECT_NEAR(qt_norm_score(&nm, &g, d), 0.4875, 1e-12);
  /* NaN: worst (0 for positive weight, 1 for the negative drawdown weight) */
  double n[] = {NAN, 300, 1.5, NAN};
  EXPECT_NEAR(qt_norm_score(&nm, &g, n), 0.25 + 0.25 - 0.2, 1e-12);
  /* one row: max == min -> 0.5 each: 0.5 * (0.3+0.25+0.25-0.2) = 0.3 */
  qt_norm_refresh(&nm, &g, v + 4, 1);
  EXPECT_NEAR(qt_norm_score(&nm, &g, v), 0.3, 1e-12);
}

static void test_weights_parse(void) {
  qt_goal g;
  qt_goal_default(&g, 0);
  qt_err e;
  EXPECT_EQ(qt_goal_parse_weights(&g, "sharpe=0.5, total_profit = 0.5 ,max_drawdown=-1", &e), 0);
  EXPECT_EQ(g.n_terms, 3);
  EXPECT_STREQ(g.terms[1].metric, "total_profit");
  EXPECT_NEAR(g.terms[2].weight, -1, 0);
  double v[] = {0, 0, 0.1, 2, 10, 0.3};
  qt_norm nm;
  qt_norm_refresh(&nm, &g, v, 2);
  double r[] = {1, 5, 0.15}; /* 0.5*0.5 + 0.5*0.5 - 1*0.25 */
  EXPECT_NEAR(qt_norm_score(&nm, &g, r), 0.25, 1e-12);
  EXPECT_EQ(qt_goal_parse_weights(&g, "sharpe=abc", &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "sharpe=abc");
  EXPECT_EQ(qt_goal_parse_weights(&g, "sharpe", &e), QT_EPARSE);
  EXPECT_EQ(qt_goal_parse_weights(&g, "a=1,a=2", &e), QT_EINVAL);
  EXPECT_EQ(g.n_terms, 3); /* a failed parse leaves the goal as it was */
}

static void test_constraints(void) {
  qt_goal g;
  qt_goal_default(&g, 1);
  qt_metric_set m;
  qt_metric_set_init(&m);
  put(&m, "sharpe", 0.6);        /* misses >= 1.0 by 0.4 */
  put(&m, "max_drawdown", 0.25); /* misses <= 0.20 by 0.05 */
  put(&m, "trades", 50);         /* holds (>= is inclusive) */
  put(&m, "win_rate", 0.5);
  put(&m, "profit_factor", 1.2);
  /* calmar missing */
  double viol[QT_CONSTRAINTS_MAX], pen;
  EXPECT_EQ(qt_goal_check(&g, &m, viol, &pen), 0);
  EXPECT_NEAR(viol[0], 0.4, 1e-12);
  EXPECT_NEAR(viol[1], 0.05, 1e-12);
  EXPECT_NEAR(viol[2], 0, 0);
  EXPECT_NEAR(viol[3], 0, 0);
  EXPECT_NEAR(viol[4], 0, 0);
  EXPECT_TRUE(isnan(viol[5]));
  /* penalty: (0.1 + 0.4/1.0) + (0.1 + 0.05/0.2) + 1.1 = 0.5 + 0.35 + 1.1 */
  EXPECT_NEAR(pen, 1.95, 1e-12);
  put(&m, "sharpe", 1.0);
  put(&m, "max_drawdown", 0.2);
  put(&m, "calmar", 0.7);
  EXPECT_EQ(qt_goal_check(&g, &m, viol, &pen), 1);
  EXPECT_NEAR(pen, 0, 0);

  qt_err e;
  EXPECT_EQ(qt_goal_parse_constraints(&g, "sharpe>1, max_drawdown<=20%, x<-3", &e), 0);
  EXPECT_EQ(g.n_cons, 3);
  EXPECT_EQ(g.cons[0].op, QT_CMP_GT);
  EXPECT_NEAR(g.cons[1].bound, 0.2, 1e-15);
  EXPECT_EQ(g.cons[2].op, QT_CMP_LT);
  EXPECT_NEAR(g.cons[2].bound, -3, 0);
  /* strict > fails on equality; x missing */
  EXPECT_EQ(qt_goal_check(&g, &m, viol, &pen), 0);
  EXPECT_NEAR(viol[0], 0, 0); /* miss 0 with a strict op is reported as 0 */
  EXPECT_NEAR(pen, 0.1 + 1.1, 1e-12);
  EXPECT_EQ(qt_goal_parse_constraints(&g, "sharpe=>1", &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "sharpe=>1");
  EXPECT_EQ(qt_goal_parse_constraints(&g, "sharpe>=x", &e), QT_EPARSE);
  EXPECT_EQ(g.n_cons, 3);
  EXPECT_EQ(qt_goal_parse_constraints(&g, "none", &e), 0);
  EXPECT_EQ(g.n_cons, 0);
  EXPECT_EQ(qt_goal_check(&g, &m, viol, &pen), 1);
  qt_metric_set_fini(&m);
}

static void test_goal_json(void) {
  qt_goal g, h;
  qt_goal_default(&g, 1);
  g.maximize = 0;
  g.lenient = 1;
  g.refresh_every = 7;
  strcpy(g.metric, "value");
  char buf[2048];
  qt_err e;
  ASSERT_TRUE(qt_goal_to_json(&g, buf, sizeof buf, &e) == 0);
  EXPECT_CONTAINS(buf, "\"minimize\"");
  EXPECT_CONTAINS(buf, "max_drawdown<=0.2");
  ASSERT_TRUE(qt_goal_from_json(&h, buf, &e) == 0);
  EXPECT_STREQ(h.metric, "value");
  EXPECT_EQ(h.maximize, 0);
  EXPECT_EQ(h.lenient, 1);
  EXPECT_EQ(h.refresh_every, 7);
  EXPECT_EQ(h.n_terms, 4);
  EXPECT_EQ(h.n_cons, 6);
  for (size_t k = 0; k < 4; k++) {
    EXPECT_STREQ(h.terms[k].metric, g.terms[k].metric);
    EXPECT_NEAR(h.terms[k].weight, g.terms[k].weight, 0);
  }
  EXPECT_EQ(h.cons[4].op, QT_CMP_GE);
  EXPECT_NEAR(h.cons[4].bound, 1.1, 0);
  EXPECT_EQ(qt_goal_to_json(&g, buf, 10, &e), QT_EINVAL);
  EXPECT_EQ(qt_goal_from_json(&h, "[1]", &e), QT_EPARSE);
  EXPECT_EQ(qt_goal_from_json(&h, "{\"metric\":\"x\"}", &e), QT_EPARSE);
}

QT_TESTS(T(test_metric_set), T(test_default_score), T(test_weights_parse), T(test_constraints),
         T(test_goal_json))
