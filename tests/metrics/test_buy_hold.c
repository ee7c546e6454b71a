/* buy_hold_return from the first bar (default) or from backtesting.py's
 * first trading bar (opts.buy_hold_from, qt_metrics_buy_hold_from), by hand. */
#include "qt_test.h"
#include "qtune/metrics.h"

static void buy_hold_start(void) {
  /* lookback 3 (first signal at bar 3): every indicator has a value from
   * bar 2, so backtesting.py buys at close[2] */
  EXPECT_EQ(qt_metrics_buy_hold_from(3, 0), 2);
  EXPECT_EQ(qt_metrics_buy_hold_from(3, 1), 1); /* the curve starts at bar 1 */
  EXPECT_EQ(qt_metrics_buy_hold_from(3, 5), 0); /* --from past the warm-up */
  EXPECT_EQ(qt_metrics_buy_hold_from(0, 0), 0);
  int64_t ts[5] = {0, 86400000, 2 * 86400000, 3 * 86400000, 4 * 86400000};
  double eq[5] = {100, 100, 100, 100, 100};
  double close[5] = {10, 20, 25, 40, 50};
  qt_result r;
  memset(&r, 0, sizeof r);
  r.n_bars = 5;
  r.ts_ms = ts;
  r.equity = eq;
  r.start_cash = r.final_equity = 100;
  r.interval_ms = 86400000;
  qt_metrics m;
  qt_err e;
  qt_metrics_opts o = qt_metrics_opts_default();
  ASSERT_TRUE(qt_metrics_compute(&r, close, &o, &m, &e) == QT_OK);
  EXPECT_NEAR(m.buy_hold_return, 50.0 / 10 - 1, 1e-15); /* 4 */
  o.buy_hold_from = qt_metrics_buy_hold_from(3, 0);
  ASSERT_TRUE(qt_metrics_compute(&r, close, &o, &m, &e) == QT_OK);
  EXPECT_NEAR(m.buy_hold_return, 50.0 / 25 - 1, 1e-15); /* 1 */
  /* alpha = total_return (0) - beta (0: a flat curve) x that */
  EXPECT_NEAR(m.alpha, 0, 1e-15);
  o.buy_hold_from = 5; /* past the last bar */
  ASSERT_TRUE(qt_metrics_compute(&r, close, &o, &m, &e) == QT_OK);
  EXPECT_TRUE(isnan(m.buy_hold_return));
}

QT_TESTS(T(buy_hold_start))
