#include "qt_test.h"
#include "qtune/validate.h"

/* The stressed bars (qt_stress_crash_bars, qt_stress_gap_bars) worked out by
 * hand on ten flat bars at 100. */
static void flat(qt_bars *b) {
  qt_err e = {0};
  EXPECT_EQ(qt_bars_alloc(b, 10, &e), 0);
  b->interval_ms = 60000;
  for (size_t i = 0; i < 10; i++) {
    b->ts_ms[i] = (int64_t)i * 60000;
    b->open[i] = b->close[i] = 100;
    b->high[i] = 101;
    b->low[i] = 99;
    b->volume[i] = 1;
  }
}

static void crash(void) {
  qt_bars in, out;
  flat(&in);
  qt_err e = {0};
  /* -20% over 2 bars from bar 3, back over 4 bars: the factors at steps
   * d = 0..5 are 0.9, 0.8, 0.85, 0.9, 0.95, 1 (close), and the open takes
   * the factor of the step before (bar 3 opens at 100, bar 4 at 90, ...) */
  EXPECT_EQ(qt_stress_crash_bars(&in, 3, 0.2, 2, 4, &out, &e), 0);
  const double fc[10] = {1, 1, 1, 0.9, 0.8, 0.85, 0.9, 0.95, 1, 1};
  const double fo[10] = {1, 1, 1, 1, 0.9, 0.8, 0.85, 0.9, 0.95, 1};
  for (size_t i = 0; i < 10; i++) {
    EXPECT_NEAR(out.close[i], 100 * fc[i], 1e-12);
    EXPECT_NEAR(out.open[i], 100 * fo[i], 1e-12);
    double hi = fo[i] > fc[i] ? fo[i] : fc[i], lo = fo[i] < fc[i] ? fo[i] : fc[i];
    EXPECT_NEAR(out.high[i], 101 * hi, 1e-12);
    EXPECT_NEAR(out.low[i], 99 * lo, 1e-12);
    EXPECT_EQ(out.ts_ms[i], in.ts_ms[i]);
  }
  EXPECT_DBL_EQ(in.close[4], 100.0); /* the input is untouched */
  qt_bars_fini(&out);
  EXPECT_EQ(qt_stress_crash_bars(&in, 3, 1.5, 2, 4, &out, &e), QT_EINVAL);
  EXPECT_EQ(qt_stress_crash_bars(&in, 10, 0.2, 2, 4, &out, &e), QT_EINVAL);
  qt_bars_fini(&in);
}

static void gaps(void) {
  qt_bars in, out;
  flat(&in);
  for (size_t i = 0; i < 10; i++) in.close[i] = (double)i;
  qt_err e = {0};
  /* gaps of 2 bars from 1 and from 6 (and an overlapping one from 2): rows
   * 1, 2, 3, 6, 7 go; 0, 4, 5, 8, 9 stay; 3 of the removed are before bar 5 */
  size_t from[3] = {1, 6, 2};
  size_t before = 0;
  EXPECT_EQ(qt_stress_gap_bars(&in, from, 3, 2, &out, &before, 5, &e), 0);
  EXPECT_EQ(out.n, 5);
  EXPECT_EQ(before, 3);
  const double kept[5] = {0, 4, 5, 8, 9};
  for (size_t i = 0; i < 5; i++) {
    EXPECT_DBL_EQ(out.close[i], kept[i]);
    EXPECT_EQ(out.ts_ms[i], (int64_t)kept[i] * 60000);
  }
  qt_bars_fini(&out);
  size_t all[1] = {0};
  EXPECT_EQ(qt_stress_gap_bars(&in, all, 1, 9, &out, NULL, 0, &e), QT_EINVAL);
  qt_bars_fini(&in);
}

static void alloc_failures(void) {
  qt_bars in, out;
  flat(&in);
  qt_err e = {0};
  size_t from[1] = {2};
  qt_alloc_fail_at(1, 0);
  EXPECT_EQ(qt_stress_crash_bars(&in, 3, 0.2, 2, 4, &out, &e), QT_ENOMEM);
  qt_alloc_fail_at(0, 0);
  for (long n = 1; n <= 2; n++) {
    qt_alloc_fail_at(n, 0);
    EXPECT_EQ(qt_stress_gap_bars(&in, from, 1, 2, &out, NULL, 0, &e), QT_ENOMEM);
    qt_alloc_fail_at(0, 0);
  }
  EXPECT_EQ(qt_stress_gap_bars(&in, from, 1, 2, &out, NULL, 0, &e), 0);
  qt_bars_fini(&out);
  uint8_t lab[10];
  for (long n = 1; n <= 2; n++) {
    qt_alloc_fail_at(n, 0);
    EXPECT_EQ(qt_regime_label(&in, NULL, lab, &e), QT_ENOMEM);
    qt_alloc_fail_at(0, 0);
  }
  EXPECT_EQ(qt_regime_label(&in, NULL, lab, &e), 0);
  qt_bars_fini(&in);
}

QT_TESTS(T(crash), T(gaps), T(alloc_failures))
