#include "qt_test.h"
#include "qtune/validate.h"

/* Market regimes (src/validate/regime.c): the labels against the regimes
 * the synthetic market generated (it knows its own), the ranges file, and
 * per-regime metrics worked out by hand. */
static void against_synthetic(void) {
  qt_synth_opts so = qt_synth_opts_default();
  so.days = 120;
  so.seed = 3;
  qt_synth_market m;
  qt_err e = {0};
  ASSERT_TRUE(qt_synth_generate(&so, &m, &e) == 0);
  uint8_t *lab = malloc(m.bars.n);
  ASSERT_TRUE(lab != NULL);
  EXPECT_EQ(qt_regime_label(&m.bars, NULL, lab, &e), 0);
  /* the synthetic regimes are numbered as ours: up, down, range, volatile */
  EXPECT_EQ(QT_REGIME_UP, QT_MREGIME_UP);
  EXPECT_EQ(QT_REGIME_VOLATILE, QT_MREGIME_HIGH_VOL);
  size_t c[4][4] = {{0}}, none = 0;
  for (size_t i = 0; i < m.bars.n; i++) {
    if (lab[i] == QT_MREGIME_NONE) {
      none++;
      continue;
    }
    c[m.regime[i]][lab[i]]++;
  }
  EXPECT_EQ(none, 360); /* the first window has no label */
  double mean_recall = 0;
  for (int a = 0; a < 4; a++) {
    size_t row = 0, best = 0;
    for (int b = 0; b < 4; b++) {
      row += c[a][b];
      if (c[a][b] > c[a][best]) best = (size_t)b;
    }
    double recall = row ? (double)c[a][a] / (double)row : 0;
    fprintf(stderr, "  %-9s recall %.2f (%zu bars)\n", qt_regime_name(a), recall, row);
    EXPECT_EQ(best, (size_t)a); /* each regime is most often labeled as itself */
    mean_recall += recall / 4;
  }
  fprintf(stderr, "  mean recall %.3f (chance 0.25)\n", mean_recall);
  EXPECT_TRUE(mean_recall > 0.45);
  /* causal: a label does not change when later bars are cut off */
  qt_bars cut = qt_bars_slice(&m.bars, 0, m.bars.n / 2);
  uint8_t *lab2 = malloc(cut.n);
  EXPECT_EQ(qt_regime_label(&cut, NULL, lab2, &e), 0);
  EXPECT_EQ(memcmp(lab, lab2, cut.n), 0);
  free(lab2);
  free(lab);
  qt_synth_market_fini(&m);
}

static void ranges_file(void) {
  qt_bars b;
  qt_err e = {0};
  ASSERT_TRUE(qt_bars_alloc(&b, 6, &e) == 0);
  for (size_t i = 0; i < 6; i++) b.ts_ms[i] = (int64_t)i * 86400000, b.close[i] = 1;
  uint8_t lab[6];
  const char *t = "from,to,regime\n# a comment\n1970-01-02,1970-01-04,trend-up\n"
                  "1970-01-04,1970-01-05,high-volatility\n1970-01-03,1970-01-04,range\n";
  EXPECT_EQ(qt_regime_from_ranges(&b, t, strlen(t), "r.csv", lab, &e), 0);
  const uint8_t want[6] = {QT_MREGIME_NONE, QT_MREGIME_UP, QT_MREGIME_RANGE, QT_MREGIME_HIGH_VOL,
                           QT_MREGIME_NONE, QT_MREGIME_NONE};
  EXPECT_EQ(memcmp(lab, want, 6), 0);
  const char *bad = "1970-01-02,1970-01-04,sideways\n";
  EXPECT_EQ(qt_regime_from_ranges(&b, bad, strlen(bad), "r.csv", lab, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "r.csv:1: field 'regime': 'sideways'");
  const char *bad2 = "1970-01-02,yesterday,range\n";
  EXPECT_EQ(qt_regime_from_ranges(&b, bad2, strlen(bad2), "r.csv", lab, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "r.csv:1: field 'to'");
  const char *bad3 = "x\n1970-01-02\n";
  EXPECT_EQ(qt_regime_from_ranges(&b, bad3, strlen(bad3), "r.csv", lab, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "r.csv:1: expected from,to,regime");
  qt_bars_fini(&b);
}

static void metrics_by_hand(void) {
  /* equity 100 -> 110 -> 99 -> 99 -> 108.9 with labels up, up, range, up:
   * bar returns +10% (up), -10% (up), 0 (range), +10% (up)
   * up: 1.1 * 0.9 * 1.1 - 1 = 0.089 over 3 bars; range: 0 over 1 bar */
  int64_t ts[4] = {0, 60000, 120000, 180000};
  double eq[4] = {110, 99, 99, 108.9};
  qt_trade_rec tr[2];
  memset(tr, 0, sizeof tr);
  tr[0].entry_ms = 60000, tr[0].pnl = 5;   /* entered on bar 1: up */
  tr[1].entry_ms = 150000, tr[1].pnl = -2; /* inside bar 2 (opened 120000): range */
  qt_result r;
  memset(&r, 0, sizeof r);
  r.n_bars = 4;
  r.ts_ms = ts;
  r.equity = eq;
  r.start_cash = 100;
  r.trades = tr;
  r.n_trades = 2;
  uint8_t lab[4] = {QT_MREGIME_UP, QT_MREGIME_UP, QT_MREGIME_RANGE, QT_MREGIME_UP};
  qt_regime_stats st[QT_MREGIME_COUNT];
  qt_err e = {0};
  EXPECT_EQ(qt_regime_metrics(&r, lab, 1.0, st, &e), 0);
  EXPECT_EQ(st[QT_MREGIME_UP].bars, 3);
  EXPECT_NEAR(st[QT_MREGIME_UP].share, 0.75, 1e-15);
  EXPECT_NEAR(st[QT_MREGIME_UP].total_return, 0.089, 1e-12);
  /* mean 1/30, sample SD of {0.1, -0.1, 0.1} = sqrt(0.04/3) */
  EXPECT_NEAR(st[QT_MREGIME_UP].sharpe, (0.1 / 3) / sqrt(0.04 / 3), 1e-9);
  EXPECT_EQ(st[QT_MREGIME_UP].trades, 1);
  EXPECT_NEAR(st[QT_MREGIME_UP].pnl, 5.0, 1e-15);
  EXPECT_EQ(st[QT_MREGIME_RANGE].trades, 1);
  EXPECT_NEAR(st[QT_MREGIME_RANGE].total_return, 0.0, 1e-15);
  EXPECT_EQ(st[QT_MREGIME_DOWN].bars, 0);
  EXPECT_TRUE(isnan(st[QT_MREGIME_DOWN].total_return));
}

QT_TESTS(T(against_synthetic), T(ranges_file), T(metrics_by_hand))
