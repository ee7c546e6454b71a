#include "gate_fixture.h"

/* The promotion gate's checks (qt_gate_evaluate) on hand-made metrics, one
 * threshold at a time at its boundary, and the thresholds file. */
static const char *k_base = "{\"profit_factor\": 1.2, \"trades\": 100, \"sharpe\": 1.0, \"max_drawdown\": 0.05}";

static void checks(void) {
  qt_gate_thresholds t = qt_gate_thresholds_default();
  t.min_symbols = 1;
  int p[6];
  /* PF 1.5 > 1.2, trades 60 >= 0.5 x 100; Sharpe 2 > 1, dd 0.10 <= 2 x 0.05;
   * OOS Sharpe 1.0 >= 0.5 x 2; dd 0.10 and 0.08 <= 0.20: all pass */
  const char *c = "{\"profit_factor\": 1.5, \"trades\": 60, \"sharpe\": 2.0, \"max_drawdown\": 0.10}";
  const char *o = "{\"sharpe\": 1.0, \"max_drawdown\": 0.08}";
  EXPECT_EQ(gate_run(c, k_base, o, 1, &t, p), 1);
  for (int k = 0; k < 6; k++) EXPECT_EQ(p[k], 1);
  /* trades 49 < 50: the count collapsed */
  EXPECT_EQ(gate_run("{\"profit_factor\": 1.5, \"trades\": 49, \"sharpe\": 2.0, \"max_drawdown\": 0.10}",
                k_base, o, 1, &t, p), 0);
  EXPECT_EQ(p[0], 0);
  EXPECT_EQ(p[1], 1);
  /* dd 0.11 > 2 x 0.05: doubled */
  EXPECT_EQ(gate_run("{\"profit_factor\": 1.5, \"trades\": 60, \"sharpe\": 2.0, \"max_drawdown\": 0.11}",
                k_base, o, 1, &t, p), 0);
  EXPECT_EQ(p[1], 0);
  EXPECT_EQ(p[5], 1);
  /* OOS Sharpe 0.99 < 0.5 x 2 */
  EXPECT_EQ(gate_run(c, k_base, "{\"sharpe\": 0.99, \"max_drawdown\": 0.08}", 1, &t, p), 0);
  EXPECT_EQ(p[2], 0);
  /* no out-of-sample result fails its check */
  EXPECT_EQ(gate_run(c, k_base, NULL, 1, &t, p), 0);
  EXPECT_EQ(p[2], 0);
  /* OOS drawdown 0.21 > 0.20 */
  EXPECT_EQ(gate_run(c, k_base, "{\"sharpe\": 1.5, \"max_drawdown\": 0.21}", 1, &t, p), 0);
  EXPECT_EQ(p[5], 0);
  EXPECT_EQ(p[2], 1);
  /* the default min_symbols 2: one symbol fails both symbol checks */
  t.min_symbols = 2;
  EXPECT_EQ(gate_run(c, k_base, o, 1, &t, p), 0);
  EXPECT_EQ(p[3], 0);
  EXPECT_EQ(p[4], 0);
  EXPECT_EQ(p[0], 1);
  /* not JSON objects */
  qt_gate_input bad = {"[1]", k_base, NULL, "x", 1};
  int pass = 7;
  qt_err e = {0};
  EXPECT_EQ(qt_gate_evaluate(&bad, NULL, g_buf, sizeof g_buf, &pass, &e), QT_EPARSE);
  EXPECT_EQ(pass, 0);
}

static void thresholds_file(void) {
  qt_gate_thresholds t = qt_gate_thresholds_default();
  EXPECT_DBL_EQ(t.max_drawdown, 0.20);
  EXPECT_DBL_EQ(t.min_symbols, 2.0);
  qt_err e = {0};
  const char *y = "# comment\nmax_drawdown: 0.3\nmin_symbols: 1\n";
  EXPECT_EQ(qt_gate_thresholds_load(y, strlen(y), "t.yaml", &t, &e), 0);
  EXPECT_DBL_EQ(t.max_drawdown, 0.3);
  EXPECT_DBL_EQ(t.min_symbols, 1.0);
  EXPECT_DBL_EQ(t.max_dd_ratio, 2.0); /* the others keep their defaults */
  const char *bad = "max_drawdown: 0.25\nmin_symbol: 1\n";
  EXPECT_EQ(qt_gate_thresholds_load(bad, strlen(bad), "t.yaml", &t, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "t.yaml:2: field 'min_symbol': unknown threshold");
  EXPECT_DBL_EQ(t.max_drawdown, 0.3); /* unchanged on failure */
  const char *neg = "max_drawdown: -1\n";
  EXPECT_EQ(qt_gate_thresholds_load(neg, strlen(neg), "t.yaml", &t, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "not a number >= 0");
  const char *list = "- 1\n- 2\n";
  EXPECT_EQ(qt_gate_thresholds_load(list, strlen(list), "t.yaml", &t, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "expected a map");
}

QT_TESTS(T(checks), T(thresholds_file))
