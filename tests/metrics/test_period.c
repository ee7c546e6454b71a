#include "qt_test.h"
#include "qtune/metrics.h"

/* Per-period returns (src/metrics/period.c), worked out by hand. */
static void hand_case(void) {
  /* period 10 ms, start value 100; bars open at 3, 7 (period 0), 12
   * (period 1), none in period 2, 35 (period 3):
   *   r0 = 102/100 - 1 = 0.02      (the last value of period 0 is 102)
   *   r1 = 99/102 - 1
   *   r2 = 0                       (no bar: 99 carried forward)
   *   r3 = 110/99 - 1 */
  int64_t ts[] = {3, 7, 12, 35};
  double v[] = {101, 102, 99, 110}, out[4];
  size_t n = 0;
  int64_t start = -1;
  qt_err e = {0};
  EXPECT_EQ(qt_metrics_period_count(ts, 4, 10), 4);
  EXPECT_EQ(qt_metrics_period_returns(ts, v, 4, 100, 10, out, 4, &n, &start, &e), 0);
  EXPECT_EQ(n, 4);
  EXPECT_EQ(start, 0);
  EXPECT_NEAR(out[0], 0.02, 1e-15);
  EXPECT_NEAR(out[1], 99.0 / 102.0 - 1, 1e-15);
  EXPECT_DBL_EQ(out[2], 0.0);
  EXPECT_NEAR(out[3], 110.0 / 99.0 - 1, 1e-15);
  /* too small an output is refused, not overrun */
  EXPECT_EQ(qt_metrics_period_returns(ts, v, 4, 100, 10, out, 3, &n, &start, &e), QT_EINVAL);
  /* periods are aligned to the epoch, also before it: -5 is in [-10, 0) */
  int64_t ts2[] = {-5, 4};
  double v2[] = {50, 25};
  EXPECT_EQ(qt_metrics_period_returns(ts2, v2, 2, 100, 10, out, 4, &n, &start, &e), 0);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(start, -10);
  EXPECT_NEAR(out[0], -0.5, 1e-15);
  EXPECT_NEAR(out[1], -0.5, 1e-15);
  /* a blown account (value 0) earns nothing more */
  double v3[] = {0, 7};
  EXPECT_EQ(qt_metrics_period_returns(ts2, v3, 2, 100, 10, out, 4, &n, &start, &e), 0);
  EXPECT_DBL_EQ(out[0], -1.0);
  EXPECT_DBL_EQ(out[1], 0.0);
}

static void period_choice(void) {
  const int64_t day = 86400000, hour = 3600000, min = 60000;
  EXPECT_EQ(qt_metrics_returns_period(180 * day, min), day);      /* 180 daily returns */
  EXPECT_EQ(qt_metrics_returns_period(30 * day, min), 4 * hour);  /* 30 d: 180 x 4 h */
  EXPECT_EQ(qt_metrics_returns_period(14 * day, min), 4 * hour);  /* 84 x 4 h */
  EXPECT_EQ(qt_metrics_returns_period(2 * day, min), 15 * min);   /* 192 x 15 min */
  EXPECT_EQ(qt_metrics_returns_period(10 * day, day), day);       /* never below the bars */
  EXPECT_EQ(qt_metrics_returns_period(10 * hour, min), 5 * min);
}

QT_TESTS(T(hand_case), T(period_choice))
