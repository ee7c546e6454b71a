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

/* Names are checked against the metrics an objective reports before any
 * trial is scored: a typo fails naming the nearest names, an alias of the
 * tuning guide resolves, and the goal is unchanged on failure. */
static void test_check_names(void) {
  qt_goal g;
  qt_err e;
  qt_goal_default(&g, 1);
  EXPECT_EQ(qt_goal_check_strategy_names(&g, &e), 0); /* the defaults are all real */
  strcpy(g.metric, "sharpee");
  EXPECT_EQ(qt_goal_check_strategy_names(&g, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "objective: unknown metric 'sharpee' (did you mean 'sharpe'?)");
  strcpy(g.metric, "score");
  ASSERT_TRUE(qt_goal_parse_weights(&g, "sharpe=1,sharp=1", &e) == 0);
  EXPECT_EQ(qt_goal_check_strategy_names(&g, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "weights: unknown metric 'sharp' (did you mean 'sharpe'?)");
  ASSERT_TRUE(qt_goal_parse_weights(&g, "sharpe=1", &e) == 0);
  ASSERT_TRUE(qt_goal_parse_constraints(&g, "trades>=5,sharp>=1", &e) == 0);
  EXPECT_EQ(qt_goal_check_strategy_names(&g, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "constraints: unknown metric 'sharp' (did you mean 'sharpe'?)");
  /* nothing close: no guess */
  ASSERT_TRUE(qt_goal_parse_constraints(&g, "zzzzzzzz>=1", &e) == 0);
  EXPECT_EQ(qt_goal_check_strategy_names(&g, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "constraints: unknown metric 'zzzzzzzz'");
  /* the guide's aliases resolve to qtune's names */
  ASSERT_TRUE(qt_goal_parse_weights(&g, "sharpe_ratio=0.3,calmar_ratio=0.25,total_trades=1", &e) == 0);
  ASSERT_TRUE(qt_goal_parse_constraints(&g, "sortino_ratio>=1", &e) == 0);
  EXPECT_EQ(qt_goal_check_strategy_names(&g, &e), 0);
  EXPECT_STREQ(g.terms[0].metric, "sharpe");
  EXPECT_STREQ(g.terms[1].metric, "calmar");
  EXPECT_STREQ(g.terms[2].metric, "trades");
  EXPECT_STREQ(g.cons[0].metric, "sortino");
  /* an external command's keys: an alias is only taken when the key as
   * written is absent; the message lists what it printed; g unchanged */
  const char *keys[] = {"loss", "sharpe_ratio", "trades"};
  qt_goal_default(&g, 0);
  strcpy(g.metric, "sharpe_ratio");
  EXPECT_EQ(qt_goal_check_names(&g, keys, 3, "the command", &e), 0);
  EXPECT_STREQ(g.metric, "sharpe_ratio");
  strcpy(g.metric, "los");
  qt_goal before = g;
  EXPECT_EQ(qt_goal_check_names(&g, keys, 3, "the command", &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "objective: unknown metric 'los' (did you mean 'loss'?); the command printed: "
                      "loss, sharpe_ratio, trades");
  EXPECT_TRUE(memcmp(&g, &before, sizeof g) == 0);
  EXPECT_EQ(qt_goal_check_names(&g, NULL, 0, "the command", &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "objective: unknown metric 'los'; the command printed: nothing");
  /* nearest: ties listed, at most 3 */
  const char *ab[] = {"ab1", "ab2", "ab3", "ab4", "xyz"};
  char buf[128];
  EXPECT_EQ(qt_names_nearest("ab", ab, 5, buf, sizeof buf), 3);
  EXPECT_STREQ(buf, "'ab1' or 'ab2' or 'ab3'");
  EXPECT_EQ(qt_names_nearest("qqqqqq", ab, 5, buf, sizeof buf), 0);
  EXPECT_STREQ(buf, "");
}

/* The tuning guide's constraint keys: min_X / max_X, _pct on fractions. */
static void test_guide_constraints(void) {
  qt_goal g;
  qt_err e;
  qt_goal_default(&g, 0);
  ASSERT_TRUE(qt_goal_parse_constraints(&g,
                                        "min_sharpe_ratio=1.0,max_drawdown_pct=20.0,"
                                        "min_trades=50,min_win_rate_pct=45.0",
                                        &e) == 0);
  EXPECT_EQ(g.n_cons, 4);
  EXPECT_STREQ(g.cons[0].metric, "sharpe_ratio"); /* resolved by the name check */
  EXPECT_EQ(g.cons[0].op, QT_CMP_GE);
  EXPECT_NEAR(g.cons[0].bound, 1.0, 0);
  EXPECT_STREQ(g.cons[1].metric, "max_drawdown"); /* not "drawdown" */
  EXPECT_EQ(g.cons[1].op, QT_CMP_LE);
  EXPECT_NEAR(g.cons[1].bound, 0.20, 1e-15);
  EXPECT_STREQ(g.cons[2].metric, "trades");
  EXPECT_EQ(g.cons[2].op, QT_CMP_GE);
  EXPECT_NEAR(g.cons[2].bound, 50, 0);
  EXPECT_STREQ(g.cons[3].metric, "win_rate");
  EXPECT_NEAR(g.cons[3].bound, 0.45, 1e-15);
  EXPECT_EQ(qt_goal_check_strategy_names(&g, &e), 0);
  EXPECT_STREQ(g.cons[0].metric, "sharpe");
  /* _pct only where qtune's metric is a fraction */
  EXPECT_EQ(qt_goal_parse_constraints(&g, "min_sharpe_pct=50", &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "'sharpe' is not a fraction");
  EXPECT_EQ(qt_goal_parse_constraints(&g, "min_sharpe=x", &e), QT_EPARSE);
  EXPECT_EQ(g.n_cons, 4);
  EXPECT_EQ(qt_metric_is_fraction("max_drawdown"), 1);
  EXPECT_EQ(qt_metric_is_fraction("win_rate"), 1);
  EXPECT_EQ(qt_metric_is_fraction("total_return"), 1);
  EXPECT_EQ(qt_metric_is_fraction("exposure"), 1);
  EXPECT_EQ(qt_metric_is_fraction("sharpe"), 0);
  EXPECT_EQ(qt_metric_is_fraction("trades"), 0);
  EXPECT_EQ(qt_metric_is_fraction("max_drawdown_bars"), 0);
  EXPECT_EQ(qt_metric_is_fraction("nonsense"), 0);
  /* a key that is not one of qtune's metrics (an external command's) stays */
  ASSERT_TRUE(qt_goal_parse_constraints(&g, "min_hit_ratio=0.5", &e) == 0);
  EXPECT_STREQ(g.cons[0].metric, "hit_ratio");
  EXPECT_STREQ(qt_metric_alias("calmar_ratio"), "calmar");
  EXPECT_STREQ(qt_metric_alias("calmar"), "calmar");
}

/* The reason a strict study shows for a rejected trial. */
static void test_reason(void) {
  qt_goal g;
  qt_goal_default(&g, 0);
  qt_err e;
  ASSERT_TRUE(qt_goal_parse_constraints(&g, "sharpe>=1.0,trades>=50,max_drawdown<0.2,calmar>0", &e) == 0);
  qt_metric_set m;
  qt_metric_set_init(&m);
  put(&m, "sharpe", 0.62);
  put(&m, "trades", 60);
  put(&m, "max_drawdown", 0.25);
  char buf[160];
  EXPECT_EQ(qt_goal_reason(&g, &m, buf, sizeof buf), 3);
  EXPECT_STREQ(buf, "infeasible: sharpe 0.62 < 1, max_drawdown 0.25 >= 0.2, calmar is missing");
  put(&m, "sharpe", 1.5);
  put(&m, "max_drawdown", 0.1);
  put(&m, "calmar", 1);
  EXPECT_EQ(qt_goal_reason(&g, &m, buf, sizeof buf), 0);
  EXPECT_STREQ(buf, "");
  qt_metric_set_fini(&m);
}

QT_TESTS(T(test_metric_set), T(test_check_names), T(test_guide_constraints), T(test_reason), T(test_default_score), T(test_weights_parse), T(test_constraints),
         T(test_goal_json))
