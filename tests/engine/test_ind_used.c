/* qt_engine_indicators_used: the indicator blocks the last run asked for.
 * A strategy asking for SMA(2) and SMA(3) of 6 closes 1..6 (worked out by
 * hand: SMA(2) = NaN 1.5 2.5 3.5 4.5 5.5, SMA(3) = NaN NaN 2 3 4 5); a
 * second run asking for SMA(2) only lists SMA(2) though SMA(3) stays
 * cached; cap bounds what is written, not the count. */
#include "qt_test.h"
#include "qtune/engine.h"
#include "qtune/indicators.h"
#include "qtune/strategy.h"

static int g_lens[2] = {2, 3}, g_n_lens = 2;

static int init(void *st, const double *p, qt_ctx *cx, qt_err *err) {
  for (int k = 0; k < g_n_lens; k++)
    if (!qt_ctx_indicator(cx, 0, QT_IND_SMA, g_lens[k], 0, 0, 0, err)) return QT_EINVAL;
  return QT_OK;
}
static int lookback(const double *p) { return 0; }
static void on_bar(void *st, const qt_bar *b, qt_ctx *cx) {}

static const qt_strategy_vtbl k_strat = {.abi = QT_STRATEGY_ABI, .name = "ind_used", .summary = "test",
                                         .state_size = 8, .n_instruments = 1, .lookback = lookback,
                                         .init = init, .on_bar = on_bar};

static void test_blocks_of_the_last_run(void) {
  qt_bars b;
  qt_err e;
  ASSERT_TRUE(qt_bars_alloc(&b, 6, &e) == QT_OK);
  b.interval_ms = 60000;
  for (int i = 0; i < 6; i++) {
    b.ts_ms[i] = (int64_t)i * 60000;
    b.open[i] = b.high[i] = b.low[i] = b.close[i] = i + 1;
    b.volume[i] = 1;
  }
  qt_feed f = {.inst = qt_instrument_default("T"), .bars = &b};
  qt_engine_opts o = qt_engine_opts_default();
  qt_engine *eng = NULL;
  qt_result r;
  ASSERT_TRUE(qt_engine_new(&o, &eng, &e) == QT_OK);
  ASSERT_TRUE(qt_engine_run(eng, &f, 1, &k_strat, NULL, &r, &e) == QT_OK);
  qt_ind_used u[4];
  EXPECT_EQ(qt_engine_indicators_used(eng, u, 4), 2);
  EXPECT_EQ(u[0].kind, QT_IND_SMA);
  EXPECT_EQ(u[0].n1, 2);
  EXPECT_EQ(u[1].n1, 3);
  EXPECT_EQ(u[0].n_out, 1);
  EXPECT_PTR_EQ(u[0].close, b.close);
  EXPECT_EQ(u[0].n, 6);
  EXPECT_TRUE(isnan(u[0].cols[0][0]));
  EXPECT_DBL_EQ(u[0].cols[0][1], 1.5);
  EXPECT_DBL_EQ(u[0].cols[0][5], 5.5);
  EXPECT_TRUE(isnan(u[1].cols[0][1]));
  EXPECT_DBL_EQ(u[1].cols[0][2], 2);
  EXPECT_DBL_EQ(u[1].cols[0][5], 5);
  EXPECT_EQ(qt_engine_indicators_used(eng, u, 1), 2); /* cap 1: one written, two counted */
  g_n_lens = 1;
  ASSERT_TRUE(qt_engine_run(eng, &f, 1, &k_strat, NULL, &r, &e) == QT_OK);
  EXPECT_EQ(qt_engine_indicators_used(eng, u, 4), 1);
  EXPECT_EQ(u[0].n1, 2);
  g_n_lens = 2;
  qt_engine_free(eng);
  qt_bars_fini(&b);
}

QT_TESTS(T(test_blocks_of_the_last_run))
