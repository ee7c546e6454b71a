#include "qt_test.h"
#include "qtune/tune.h"

/* The rules, the bounded step and the config (src/tune/rules.c, config.c).
 * Each rule at its threshold and one step either side. */

static qt_tune_config g_c;

/* n outcomes of which `wins` win, `expired` expired, each with pnl_pct. */
static qt_tune_stats stats_of(int n, int wins, int expired, double pnl_pct) {
  static qt_outcome v[128];
  memset(v, 0, sizeof v);
  for (int k = 0; k < n; k++) {
    snprintf(v[k].symbol, sizeof v[k].symbol, k % 3 ? "ETHUSDT" : "BTCUSDT");
    v[k].pnl = k < wins ? 10 : -5;
    v[k].pnl_pct = pnl_pct;
    v[k].status = k < expired ? QT_OUTCOME_EXPIRED : QT_OUTCOME_CLOSED;
  }
  qt_tune_stats st;
  qt_tune_stats_compute(v, (size_t)n, &st);
  return st;
}

/* Which rules fire for directional_momentum with its defaults. */
static size_t eval(const qt_tune_stats *st, qt_tune_proposal *out) {
  const qt_tune_strategy *ts = qt_tune_config_find(&g_c, "directional_momentum");
  double cur[QT_TUNE_MAX_PARAMS];
  for (size_t k = 0; k < ts->n_params; k++) cur[k] = ts->params[k].def;
  size_t n = 0;
  qt_tune_rules_eval(&g_c, ts, st, cur, NULL, out, QT_TUNE_MAX_PARAMS, &n);
  return n;
}

static int fired(const qt_tune_proposal *p, size_t n, int rule) {
  for (size_t k = 0; k < n; k++)
    if (p[k].rule == rule) return 1;
  return 0;
}

static void stats(void) {
  qt_tune_stats st = stats_of(12, 7, 3, -0.5);
  EXPECT_EQ(st.n_signals, 12);
  EXPECT_EQ(st.n_wins, 7);
  EXPECT_EQ(st.n_expired, 3);
  EXPECT_NEAR(st.win_rate_pct, 58.333333333, 1e-9);
  EXPECT_NEAR(st.total_pnl, 7 * 10 - 5 * 5, 1e-12);
  EXPECT_NEAR(st.avg_pnl_pct, -0.5, 1e-12);
  EXPECT_NEAR(st.expiry_rate_pct, 25.0, 1e-12);
  EXPECT_STREQ(st.top_symbol, "ETHUSDT"); /* 8 of 12 */
  qt_tune_stats none = stats_of(0, 0, 0, 0);
  EXPECT_EQ(none.n_signals, 0);
  EXPECT_STREQ(none.top_symbol, "");
}

static void rule1_win_rate_low(void) {
  qt_tune_proposal p[QT_TUNE_MAX_PARAMS];
  qt_tune_stats at = stats_of(10, 3, 0, 0), below = stats_of(20, 5, 0, 0) /* 25% */,
                just = stats_of(100, 29, 0, 0), above = stats_of(100, 31, 0, 0);
  EXPECT_TRUE(!fired(p, eval(&at, p), QT_TUNE_WIN_RATE_LOW)); /* 30% is not below 30% */
  size_t n = eval(&just, p);
  EXPECT_TRUE(fired(p, n, QT_TUNE_WIN_RATE_LOW));
  ASSERT_TRUE(n == 1);
  EXPECT_STREQ(p[0].reason, "Win rate 29.0% below threshold 30.0%");
  EXPECT_DBL_EQ(p[0].old_value, 50.0);
  EXPECT_DBL_EQ(p[0].new_value, 55.0); /* min_score up 10% */
  EXPECT_NEAR(p[0].metric_value, 29.0, 1e-12);
  EXPECT_TRUE(fired(p, eval(&below, p), QT_TUNE_WIN_RATE_LOW));
  EXPECT_TRUE(!fired(p, eval(&above, p), QT_TUNE_WIN_RATE_LOW));
}

static void rule2_win_rate_high(void) {
  qt_tune_proposal p[QT_TUNE_MAX_PARAMS];
  qt_tune_stats at = stats_of(10, 7, 0, 0), just = stats_of(100, 71, 0, 0),
                under = stats_of(100, 69, 0, 0);
  EXPECT_TRUE(!fired(p, eval(&at, p), QT_TUNE_WIN_RATE_HIGH)); /* exactly 70% */
  size_t n = eval(&just, p);
  ASSERT_TRUE(n == 1 && p[0].rule == QT_TUNE_WIN_RATE_HIGH);
  EXPECT_DBL_EQ(p[0].new_value, 47.5); /* down 5% */
  EXPECT_CONTAINS(p[0].reason, "above threshold 70.0%");
  EXPECT_TRUE(!fired(p, eval(&under, p), QT_TUNE_WIN_RATE_HIGH));
}

static void rule3_avg_pnl_low(void) {
  qt_tune_proposal p[QT_TUNE_MAX_PARAMS];
  const qt_tune_strategy *ts = qt_tune_config_find(&g_c, "funding_arbitrage");
  double cur[QT_TUNE_MAX_PARAMS];
  for (size_t k = 0; k < ts->n_params; k++) cur[k] = ts->params[k].def;
  size_t n = 0;
  qt_tune_stats at = stats_of(10, 5, 0, -1.0), below = stats_of(10, 5, 0, -1.01),
                above = stats_of(10, 5, 0, -0.99);
  qt_tune_rules_eval(&g_c, ts, &at, cur, NULL, p, QT_TUNE_MAX_PARAMS, &n);
  EXPECT_TRUE(!fired(p, n, QT_TUNE_AVG_PNL_LOW));
  qt_tune_rules_eval(&g_c, ts, &below, cur, NULL, p, QT_TUNE_MAX_PARAMS, &n);
  ASSERT_TRUE(n == 1 && p[0].rule == QT_TUNE_AVG_PNL_LOW);
  EXPECT_STREQ(ts->params[p[0].param].name, "min_volume");
  EXPECT_DBL_EQ(p[0].new_value, 120000.0); /* up 20% */
  qt_tune_rules_eval(&g_c, ts, &above, cur, NULL, p, QT_TUNE_MAX_PARAMS, &n);
  EXPECT_TRUE(!fired(p, n, QT_TUNE_AVG_PNL_LOW));
}

static void rule4_expiry_rate_high(void) {
  qt_tune_proposal p[QT_TUNE_MAX_PARAMS];
  qt_tune_stats at = stats_of(10, 5, 5, 0), above = stats_of(100, 50, 51, 0),
                under = stats_of(100, 50, 49, 0);
  EXPECT_TRUE(!fired(p, eval(&at, p), QT_TUNE_EXPIRY_RATE_HIGH));
  size_t n = eval(&above, p);
  ASSERT_TRUE(n == 1 && p[0].rule == QT_TUNE_EXPIRY_RATE_HIGH);
  EXPECT_DBL_EQ(p[0].old_value, 8.0);
  EXPECT_DBL_EQ(p[0].new_value, 10.0); /* expiry_hours up 25%, whole hours */
  EXPECT_TRUE(!fired(p, eval(&under, p), QT_TUNE_EXPIRY_RATE_HIGH));
}

static void rule5_few_signals(void) {
  qt_tune_proposal p[QT_TUNE_MAX_PARAMS];
  /* few = fewer than 5; decent = at least 50% */
  qt_tune_stats four = stats_of(4, 2, 0, 0), five = stats_of(5, 3, 0, 0),
                weak = stats_of(4, 1, 0, 0), none = stats_of(0, 0, 0, 0);
  size_t n = eval(&four, p);
  ASSERT_TRUE(n == 1 && p[0].rule == QT_TUNE_FEW_SIGNALS);
  EXPECT_STREQ(p[0].reason, "Only 4 signals with 50.0% win rate - loosening filters");
  EXPECT_DBL_EQ(p[0].new_value, 45.0); /* down 10% */
  EXPECT_EQ(eval(&five, p), 0);
  EXPECT_EQ(eval(&weak, p), 0); /* 25% is not decent; and 4 signals are too few for rule 1 */
  EXPECT_EQ(eval(&none, p), 0);
}

static void first_rule_wins_a_parameter(void) {
  qt_tune_proposal p[QT_TUNE_MAX_PARAMS];
  /* win rate 20% and expiry 60%: rule 1 moves min_score, rule 4 expiry_hours */
  qt_tune_stats st = stats_of(10, 2, 6, 0);
  size_t n = eval(&st, p);
  ASSERT_TRUE(n == 2);
  EXPECT_EQ(p[0].rule, QT_TUNE_WIN_RATE_LOW);
  EXPECT_EQ(p[1].rule, QT_TUNE_EXPIRY_RATE_HIGH);
}

static void step_cap_and_bounds(void) {
  qt_tune_param p = {"min_score", 30, 80, 50, 0, 1};
  double nv;
  int cl;
  /* within the cap and bounds */
  EXPECT_EQ(qt_tune_step(&p, 50, +1, 10, 25, NAN, &nv, &cl), 1);
  EXPECT_DBL_EQ(nv, 55.0);
  EXPECT_EQ(cl, 0);
  /* a 40% step is capped at 25% and flagged */
  EXPECT_EQ(qt_tune_step(&p, 50, +1, 40, 25, NAN, &nv, &cl), 1);
  EXPECT_DBL_EQ(nv, 62.5);
  EXPECT_EQ(cl, 1);
  /* a target further than 25% stops at 25% */
  EXPECT_EQ(qt_tune_step(&p, 40, +1, 10, 25, 70, &nv, &cl), 1);
  EXPECT_DBL_EQ(nv, 50.0);
  EXPECT_EQ(cl, 1);
  /* a target within the cap is taken as is */
  EXPECT_EQ(qt_tune_step(&p, 50, +1, 10, 25, 44, &nv, &cl), 1);
  EXPECT_DBL_EQ(nv, 44.0);
  EXPECT_EQ(cl, 0);
  /* upper bound: 76 * 1.1 = 83.6 -> 80, clamped */
  EXPECT_EQ(qt_tune_step(&p, 76, +1, 10, 25, NAN, &nv, &cl), 1);
  EXPECT_DBL_EQ(nv, 80.0);
  EXPECT_EQ(cl, 1);
  /* at the upper bound: no change */
  EXPECT_EQ(qt_tune_step(&p, 80, +1, 10, 25, NAN, &nv, &cl), 0);
  /* lower bound: 32 * 0.9 = 28.8 -> 30, clamped */
  EXPECT_EQ(qt_tune_step(&p, 32, -1, 10, 25, NAN, &nv, &cl), 1);
  EXPECT_DBL_EQ(nv, 30.0);
  EXPECT_EQ(cl, 1);
  EXPECT_EQ(qt_tune_step(&p, 30, -1, 10, 25, NAN, &nv, &cl), 0);
  /* whole numbers: 8 * 1.1 = 8.8 rounds away to 9; 4 * 0.9 = 3.6 -> 4 is
   * the bound, no change; 5 * 0.9 = 4.5 -> 4 (20% <= 25%) */
  qt_tune_param h = {"expiry_hours", 4, 48, 8, 1, 1};
  EXPECT_EQ(qt_tune_step(&h, 8, +1, 10, 25, NAN, &nv, &cl), 1);
  EXPECT_DBL_EQ(nv, 9.0);
  EXPECT_EQ(qt_tune_step(&h, 4, -1, 10, 25, NAN, &nv, &cl), 0);
  EXPECT_EQ(qt_tune_step(&h, 5, -1, 10, 25, NAN, &nv, &cl), 1);
  EXPECT_DBL_EQ(nv, 4.0);
  /* 48 is the top: 46 * 1.25 = 57.5 -> 48 clamped */
  EXPECT_EQ(qt_tune_step(&h, 46, +1, 25, 25, NAN, &nv, &cl), 1);
  EXPECT_DBL_EQ(nv, 48.0);
  EXPECT_EQ(cl, 1);
  /* a fraction reads cleanly: 0.0001 * 0.9 */
  qt_tune_param f = {"min_funding_rate", 0.00002, 0.0005, 0.0001, 0, 100};
  EXPECT_EQ(qt_tune_step(&f, 0.0001, -1, 10, 25, NAN, &nv, &cl), 1);
  EXPECT_DBL_EQ(nv, 0.00009);
}

static int g_logged_clamp;
static void sink(void *ud, qt_log_level lvl, const char *msg) {
  if (strstr(msg, "clamped to the upper bound")) g_logged_clamp++;
}

static void clamped_is_logged_and_in_reason(void) {
  qt_tune_config c = g_c;
  qt_tune_strategy *ts = (qt_tune_strategy *)qt_tune_config_find(&c, "directional_momentum");
  double cur[QT_TUNE_MAX_PARAMS];
  for (size_t k = 0; k < ts->n_params; k++) cur[k] = ts->params[k].def;
  cur[0] = 78; /* min_score near its top, 80 */
  qt_tune_stats st = stats_of(10, 1, 0, 0);
  qt_tune_proposal p[QT_TUNE_MAX_PARAMS];
  size_t n = 0;
  g_logged_clamp = 0;
  qt_log_set(sink, NULL, QT_LOG_DEBUG);
  qt_tune_rules_eval(&c, ts, &st, cur, NULL, p, QT_TUNE_MAX_PARAMS, &n);
  qt_log_set(NULL, NULL, QT_LOG_OFF);
  ASSERT_TRUE(n == 1);
  EXPECT_DBL_EQ(p[0].new_value, 80.0);
  EXPECT_EQ(p[0].clamped, 1);
  EXPECT_CONTAINS(p[0].reason, "(clamped to the upper bound)");
  EXPECT_EQ(g_logged_clamp, 1);
}

static void config_yaml(void) {
  qt_tune_config c;
  qt_tune_config_default(&c);
  const char *y = "window: 3d\n"
                  "thresholds:\n  win_rate_low: 40\n  few_signals: 8\n"
                  "steps:\n  win_rate_low: 20\n"
                  "strategies:\n"
                  "  my_bot:\n"
                  "    params:\n"
                  "      min_edge: {lo: 1, hi: 10, default: 2}\n"
                  "      expiry_hours: {lo: 1, hi: 24, default: 6, int: true}\n"
                  "    rules:\n"
                  "      win_rate_low: [min_edge]\n"
                  "      expiry_rate_high: [expiry_hours]\n"
                  "  grid_trading:\n"
                  "    rules:\n      win_rate_low: [entry_threshold_pct]\n"
                  "notify:\n  webhook: http://127.0.0.1:9/hook\n  attempts: 2\n";
  qt_err e = {0};
  int r = qt_tune_config_parse(&c, y, strlen(y), "t.yaml", &e);
  if (r) fprintf(stderr, "%s\n", e.msg);
  EXPECT_EQ(r, 0);
  EXPECT_EQ(c.window_ms, 3 * 86400000LL);
  EXPECT_DBL_EQ(c.win_rate_low_pct, 40.0);
  EXPECT_EQ(c.few_signals, 8);
  EXPECT_DBL_EQ(c.step_pct[QT_TUNE_WIN_RATE_LOW], 20.0);
  EXPECT_EQ(c.notify_attempts, 2);
  EXPECT_STREQ(c.webhook_url, "http://127.0.0.1:9/hook");
  const qt_tune_strategy *b = qt_tune_config_find(&c, "my_bot");
  ASSERT_TRUE(b != NULL);
  ASSERT_TRUE(b->n_params == 2);
  EXPECT_DBL_EQ(b->params[0].hi, 10.0);
  EXPECT_EQ(b->params[1].is_int, 1);
  EXPECT_EQ(b->moves[QT_TUNE_WIN_RATE_LOW], 1u);
  EXPECT_EQ(b->moves[QT_TUNE_EXPIRY_RATE_HIGH], 2u);
  const qt_tune_strategy *g = qt_tune_config_find(&c, "grid_trading");
  int idx = -1;
  for (size_t k = 0; k < g->n_params; k++)
    if (!strcmp(g->params[k].name, "entry_threshold_pct")) idx = (int)k;
  ASSERT_TRUE(idx >= 0);
  EXPECT_EQ(g->moves[QT_TUNE_WIN_RATE_LOW], 1u << idx);
  EXPECT_DBL_EQ(g->params[idx].lo, 10.0); /* from the strategy's spec */
  /* Bad files name file, line and key. */
  struct {
    const char *text, *want;
  } bad[] = {
      {"window: soon\n", "t.yaml:1: key 'window': expected a duration"},
      {"thresholds:\n  win_rate_lo: 3\n", "t.yaml:2: key 'win_rate_lo': unknown threshold"},
      {"max_step_pct: 40\n", "t.yaml:1: key 'max_step_pct': the step cap is in (0, 25]"},
      {"strategies:\n  grid_trading:\n    params:\n      min_range_pct: {lo: 1, hi: 8, default: 3}\n",
       "t.yaml:4: key 'min_range_pct': lo is below the strategy's own bound"},
      {"strategies:\n  x:\n    rules:\n      win_rate_low: [nope]\n",
       "t.yaml:4: key 'win_rate_low': parameter 'nope' is not declared"},
      {"steps:\n  rule_9: 5\n", "t.yaml:2: key 'rule_9': unknown rule"},
      {"a: [\n", "t.yaml:"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    qt_tune_config_default(&c);
    EXPECT_EQ(qt_tune_config_parse(&c, bad[k].text, strlen(bad[k].text), "t.yaml", &e), QT_EPARSE);
    EXPECT_CONTAINS(e.msg, bad[k].want);
  }
}

static void setup(void) { qt_tune_config_default(&g_c); }
#define S(fn) static void s_##fn(void) { setup(); fn(); }
S(stats) S(rule1_win_rate_low) S(rule2_win_rate_high) S(rule3_avg_pnl_low)
S(rule4_expiry_rate_high) S(rule5_few_signals) S(first_rule_wins_a_parameter)
S(step_cap_and_bounds) S(clamped_is_logged_and_in_reason) S(config_yaml)

QT_TESTS(T(s_stats), T(s_rule1_win_rate_low), T(s_rule2_win_rate_high), T(s_rule3_avg_pnl_low),
         T(s_rule4_expiry_rate_high), T(s_rule5_few_signals), T(s_first_rule_wins_a_parameter),
         T(s_step_cap_and_bounds), T(s_clamped_is_logged_and_in_reason), T(s_config_yaml))
