#include "qt_test.h"
#include "qtune/validate.h"

/* The walk-forward windows (qt_wf_windows), worked out by hand on 10 days
 * of hourly bars: t0 = 0, bar i opens at i h, the last bar ends at 240 h. */
#define H INT64_C(3600000)
#define D (24 * H)

static int64_t g_ts[240];

static void setup(void) {
  for (int i = 0; i < 240; i++) g_ts[i] = i * H;
}

static void rolling(void) {
  setup();
  qt_wf_opts o = qt_wf_opts_default();
  o.train_ms = 2 * D;
  o.test_ms = D;
  qt_wf_window w[16];
  size_t n = 0;
  qt_err e = {0};
  /* window k: train [k d, k d + 2 d), test [k d + 2 d, k d + 3 d), while
   * k d + 3 d <= 10 d: k = 0..7, eight windows */
  EXPECT_EQ(qt_wf_windows(g_ts, 0, 240, &o, w, 16, &n, &e), 0);
  EXPECT_EQ(n, 8);
  EXPECT_EQ(w[0].train_from, 0);
  EXPECT_EQ(w[0].train_to, 48);
  EXPECT_EQ(w[0].test_from, 48);
  EXPECT_EQ(w[0].test_to, 72);
  EXPECT_EQ(w[7].train_from, 168);
  EXPECT_EQ(w[7].test_to, 240); /* the last test span ends with the last bar */
  /* step 2 d: k = 0..3 (k 2 d + 3 d <= 10 d), test spans with gaps between */
  o.step_ms = 2 * D;
  EXPECT_EQ(qt_wf_windows(g_ts, 0, 240, &o, w, 16, &n, &e), 0);
  EXPECT_EQ(n, 4);
  EXPECT_EQ(w[1].train_from, 48);
  EXPECT_EQ(w[1].test_from, 96);
  EXPECT_EQ(w[1].test_to, 120);
  /* from bar 24 on (earlier bars are history): t0 = 24 h, k = 0..6 */
  o.step_ms = 0;
  EXPECT_EQ(qt_wf_windows(g_ts, 24, 240, &o, w, 16, &n, &e), 0);
  EXPECT_EQ(n, 7);
  EXPECT_EQ(w[0].train_from, 24);
  /* too small an output is refused, not overrun */
  EXPECT_EQ(qt_wf_windows(g_ts, 0, 240, &o, w, 3, &n, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "more than 3 windows");
}

static void anchored(void) {
  setup();
  qt_wf_opts o = qt_wf_opts_default();
  o.train_ms = 2 * D;
  o.test_ms = D;
  o.anchored = 1;
  qt_wf_window w[16];
  size_t n = 0;
  qt_err e = {0};
  EXPECT_EQ(qt_wf_windows(g_ts, 0, 240, &o, w, 16, &n, &e), 0);
  EXPECT_EQ(n, 8);
  for (size_t k = 0; k < n; k++) {
    EXPECT_EQ(w[k].train_from, 0); /* every train span starts at the first bar */
    EXPECT_EQ(w[k].train_to, 48 + 24 * k);
    EXPECT_EQ(w[k].test_to, 72 + 24 * k);
  }
}

static void refused(void) {
  setup();
  qt_wf_opts o = qt_wf_opts_default();
  qt_wf_window w[16];
  size_t n = 9;
  qt_err e = {0};
  o.train_ms = 2 * D;
  o.test_ms = D;
  o.step_ms = 12 * H;
  EXPECT_EQ(qt_wf_windows(g_ts, 0, 240, &o, w, 16, &n, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "overlap");
  EXPECT_EQ(n, 0);
  o.step_ms = 0;
  o.train_ms = 9 * D;
  o.test_ms = 2 * D;
  EXPECT_EQ(qt_wf_windows(g_ts, 0, 240, &o, w, 16, &n, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "shorter than one --train + --test");
  o.train_ms = 0;
  EXPECT_EQ(qt_wf_windows(g_ts, 0, 240, &o, w, 16, &n, &e), QT_EINVAL);
  /* a test span of one hourly bar is not enough */
  o.train_ms = 2 * D;
  o.test_ms = H;
  EXPECT_EQ(qt_wf_windows(g_ts, 0, 240, &o, w, 16, &n, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "need 2 each");
}

QT_TESTS(T(rolling), T(anchored), T(refused))
