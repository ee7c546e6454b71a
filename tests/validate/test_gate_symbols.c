#include "gate_fixture.h"

/* The gate's symbol checks (4: stable across symbols, 5: no single-symbol
 * dependency) on hand-made per-symbol metrics of a study over several
 * symbols ("by_symbol", as objective_symbols.c stores them), each threshold
 * at its boundary. */
static int run(const char *cand, size_t n_sym, const qt_gate_thresholds *t, int *p) {
  static const char *base = "{\"profit_factor\": 1.2, \"trades\": 100, \"sharpe\": 1.0, "
                            "\"max_drawdown\": 0.05}";
  return gate_run(cand, base, "{\"sharpe\": 1.5, \"max_drawdown\": 0.08}", n_sym, t, p);
}

/* The candidate: aggregate Sharpe 2, three symbols with Sharpe a, b, c, the
 * leave-one-out Sharpe of each (the mean of the other two) and the best
 * symbol's share of the summed profit. */
static const char *cand(double a, double b, double c, double share) {
  static char buf[1024];
  snprintf(buf, sizeof buf,
           "{\"profit_factor\": 1.5, \"trades\": 60, \"sharpe\": 2.0, \"max_drawdown\": 0.10, "
           "\"symbols\": 3, \"symbol_best_profit_share\": %.17g, \"by_symbol\": {"
           "\"A\": {\"sharpe\": %.17g, \"loo_sharpe\": %.17g}, "
           "\"B\": {\"sharpe\": %.17g, \"loo_sharpe\": %.17g}, "
           "\"C\": {\"sharpe\": %.17g, \"loo_sharpe\": %.17g}}}",
           share, a, (b + c) / 2, b, (a + c) / 2, c, (a + b) / 2);
  return buf;
}

static void symbol_checks(void) {
  qt_gate_thresholds t = qt_gate_thresholds_default();
  int p[6];
  EXPECT_DBL_EQ(t.min_symbol_sharpe, 0.0);
  EXPECT_DBL_EQ(t.max_symbol_share, 0.6);
  /* every symbol earns, the best carries 0.6 (= max_symbol_share): all pass */
  EXPECT_EQ(run(cand(1.0, 2.0, 3.0, 0.6), 3, &t, p), 1);
  EXPECT_EQ(p[3], 1);
  EXPECT_EQ(p[4], 1);
  /* one symbol at Sharpe 0 (not > 0): unstable; without B the others still earn */
  EXPECT_EQ(run(cand(0.0, 2.0, 3.0, 0.6), 3, &t, p), 0);
  EXPECT_EQ(p[3], 0);
  EXPECT_EQ(p[4], 1);
  /* share 0.61 > 0.6: the best symbol carries the result */
  EXPECT_EQ(run(cand(1.0, 2.0, 3.0, 0.61), 3, &t, p), 0);
  EXPECT_EQ(p[3], 1);
  EXPECT_EQ(p[4], 0);
  /* A and B lose, C earns a lot: leaving C out loses (A, B mean -1) */
  EXPECT_EQ(run(cand(-1.0, -1.0, 9.0, 0.5), 3, &t, p), 0);
  EXPECT_EQ(p[3], 0);
  EXPECT_EQ(p[4], 0);
  /* the symbols lose in sum: no share (null), dependency fails */
  EXPECT_EQ(run("{\"profit_factor\": 1.5, \"trades\": 60, \"sharpe\": 2.0, \"max_drawdown\": 0.1, "
                "\"symbol_best_profit_share\": null, \"by_symbol\": {\"A\": {\"sharpe\": 1, "
                "\"loo_sharpe\": 1}, \"B\": {\"sharpe\": 1, \"loo_sharpe\": 1}}}", 2, &t, p), 0);
  EXPECT_EQ(p[3], 1);
  EXPECT_EQ(p[4], 0);
  EXPECT_CONTAINS(g_buf, "the symbols lose in sum");
  /* several symbols pinned but no per-symbol metrics: both fail, saying so */
  EXPECT_EQ(run("{\"profit_factor\": 1.5, \"trades\": 60, \"sharpe\": 2.0, \"max_drawdown\": 0.1}",
                3, &t, p), 0);
  EXPECT_EQ(p[3], 0);
  EXPECT_EQ(p[4], 0);
  EXPECT_CONTAINS(g_buf, "without per-symbol results");
  /* min_symbols 4 > 3 symbols */
  t.min_symbols = 4;
  EXPECT_EQ(run(cand(1.0, 2.0, 3.0, 0.5), 3, &t, p), 0);
  EXPECT_EQ(p[3], 0);
  /* a higher min_symbol_sharpe: C's 3 > 2.5 but A's 1 is not */
  t.min_symbols = 2;
  t.min_symbol_sharpe = 2.5;
  EXPECT_EQ(run(cand(1.0, 2.0, 3.0, 0.5), 3, &t, p), 0);
  EXPECT_EQ(p[3], 0);
  EXPECT_EQ(p[4], 0); /* loo: 2.5, 2.0, 1.5, none > 2.5 */
}

static void thresholds_yaml(void) {
  qt_gate_thresholds t = qt_gate_thresholds_default();
  qt_err e = {0};
  const char *y = "min_symbol_sharpe: 0.5\nmax_symbol_share: 0.4\n";
  EXPECT_EQ(qt_gate_thresholds_load(y, strlen(y), "g.yaml", &t, &e), 0);
  EXPECT_DBL_EQ(t.min_symbol_sharpe, 0.5);
  EXPECT_DBL_EQ(t.max_symbol_share, 0.4);
}

QT_TESTS(T(symbol_checks), T(thresholds_yaml))
