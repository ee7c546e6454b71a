/* sma_cross on a hand-made path: the crosses, fills and P&L are worked out
 * by hand below (SMA2 vs SMA5 of closes, taker 10 bps, opens = prior close). */
#include "qt_test.h"
#include "qtune/engine.h"
#include "qtune/strategies.h"

static const double k_close[17] = {100, 100, 100, 100, 100, 101, 102, 103, 102,
                                   100, 98,  96,  97,  99.5, 102, 104, 104};
static int64_t g_ts[17];
static double g_o[17], g_h[17], g_l[17], g_c[17];
static qt_bars g_b;

static void mk(void) {
  for (int i = 0; i < 17; i++) {
    g_ts[i] = (int64_t)i * 60000;
    g_c[i] = k_close[i];
    g_o[i] = i ? k_close[i - 1] : k_close[0];
    g_h[i] = fmax(g_o[i], g_c[i]);
    g_l[i] = fmin(g_o[i], g_c[i]);
  }
  memset(&g_b, 0, sizeof g_b);
  g_b.n = 17;
  g_b.interval_ms = 60000;
  g_b.ts_ms = g_ts;
  g_b.open = g_o;
  g_b.high = g_h;
  g_b.low = g_l;
  g_b.close = g_c;
}

static void test_registry_and_spec(void) {
  const qt_strategy_vtbl *s = qt_strategy_find("sma_cross");
  ASSERT_TRUE(s != NULL);
  EXPECT_STREQ(s->name, "sma_cross");
  EXPECT_EQ(s->n_params, 3);
  EXPECT_EQ(qt_strategy_param_index(s, "sizing"), 2);
  EXPECT_EQ(qt_strategy_param_index(s, "fast"), 0);
  EXPECT_EQ(qt_strategy_param_index(s, "slow"), 1);
  EXPECT_EQ(qt_strategy_param_index(s, "nope"), -1);
  double p[3];
  qt_strategy_defaults(s, p);
  EXPECT_DBL_EQ(p[2], 0); /* sizing = signal_close: the sizing of before */
  EXPECT_DBL_EQ(p[0], 10);
  EXPECT_DBL_EQ(p[1], 30);
  EXPECT_EQ(s->lookback(p), 30);
  qt_err err;
  EXPECT_EQ(qt_strategy_check_params(s, p, &err), QT_OK);
  p[0] = 1;
  EXPECT_EQ(qt_strategy_check_params(s, p, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "'fast'");
  EXPECT_CONTAINS(err.msg, "[2, 200]");
  p[0] = 2.5;
  EXPECT_EQ(qt_strategy_check_params(s, p, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "whole number");
  EXPECT_STREQ(qt_exit_reason_name(QT_EXIT_END_OF_DATA), "end_of_data");
  EXPECT_STREQ(qt_exit_reason_name(99), "unknown");
}

static void test_fast_ge_slow_rejected(void) {
  mk();
  const qt_strategy_vtbl *s = qt_strategy_find("sma_cross");
  qt_engine *e = NULL;
  qt_err err;
  ASSERT_TRUE(qt_engine_new(NULL, &e, &err) == QT_OK);
  qt_feed f;
  memset(&f, 0, sizeof f);
  f.inst = qt_instrument_default("T");
  f.bars = &g_b;
  double p[3] = {20, 20, 0};
  qt_result r;
  EXPECT_EQ(qt_engine_run(e, &f, 1, s, p, &r, &err), QT_EPARAM);
  EXPECT_CONTAINS(err.msg, "fast (20) must be less than slow (20)");
  qt_engine_free(e);
}

static void test_hand_path(void) {
  mk();
  const qt_strategy_vtbl *s = qt_strategy_find("sma_cross");
  ASSERT_TRUE(s != NULL);
  qt_engine *e = NULL;
  qt_err err;
  ASSERT_TRUE(qt_engine_new(NULL, &e, &err) == QT_OK);
  qt_feed f;
  memset(&f, 0, sizeof f);
  f.inst = qt_instrument_default("T");
  f.inst.taker_bps = 10;
  f.bars = &g_b;
  double p[3] = {2, 5, 0};
  qt_result r;
  ASSERT_TRUE(qt_engine_run(e, &f, 1, s, p, &r, &err) == QT_OK);
  /* SMA2 vs SMA5: bars 4..8 have fast >= slow but bar 4 is equal (100 = 100),
   * so no strict up-cross there.  Bar 9: fast 102.5 > slow 101.6 before,
   * 101 < 101.6 now: down-cross -> short at bar 10's open 100 with
   * q1 = 10000 / (100 * 1.001).  Bar 13: 96.5 < 98.6 before, 98.25 > 98.1
   * now: up-cross -> cover and go long at bar 14's open 99.5. */
  ASSERT_TRUE(r.n_trades == 2);
  double fee = 1e-3;
  double q1 = 10000 / (100 * (1 + fee));
  const qt_trade_rec *t = &r.trades[0];
  EXPECT_EQ(t->side, QT_SELL);
  EXPECT_EQ(t->exit_reason, QT_EXIT_SIGNAL);
  EXPECT_EQ(t->entry_ms, 10 * 60000);
  EXPECT_EQ(t->exit_ms, 14 * 60000);
  EXPECT_NEAR(t->qty, q1, 1e-12);
  EXPECT_NEAR(t->entry_price, 100, 1e-12);
  EXPECT_NEAR(t->exit_price, 99.5, 1e-12);
  double pnl1 = q1 * 0.5 - q1 * 100 * fee - q1 * 99.5 * fee;
  EXPECT_NEAR(t->pnl, pnl1, 1e-9);
  EXPECT_NEAR(t->pnl, 30.019980019980025, 1e-9);
  /* the long: sized at bar 13 with equity marked at 99.5, then capped at the
   * fill to (cash after the cover) / (99.5 * 1.001) */
  double cash = 10000 + pnl1;
  double q2 = cash / (99.5 * (1 + fee));
  t = &r.trades[1];
  EXPECT_EQ(t->side, QT_BUY);
  EXPECT_EQ(t->exit_reason, QT_EXIT_END_OF_DATA);
  EXPECT_NEAR(t->qty, q2, 1e-9);
  EXPECT_NEAR(t->qty, 100.70351738733609, 1e-9);
  double pnl2 = q2 * (104 - 99.5) - q2 * 99.5 * fee - q2 * 104 * fee;
  EXPECT_NEAR(t->pnl, pnl2, 1e-9);
  EXPECT_NEAR(r.final_equity, 10000 + pnl1 + pnl2, 1e-9);
  EXPECT_NEAR(r.final_equity, 10462.692642474669, 1e-7);
  EXPECT_EQ(r.n_signals, 2);
  /* trade_on_close: the short fills at bar 9's close 100 too, the long at
   * bar 13's close 99.5: the same prices here, one bar earlier */
  qt_engine_opts o = qt_engine_opts_default();
  o.trade_on_close = 1;
  qt_engine_set_opts(e, &o);
  ASSERT_TRUE(qt_engine_run(e, &f, 1, s, p, &r, &err) == QT_OK);
  ASSERT_TRUE(r.n_trades == 2);
  EXPECT_EQ(r.trades[0].entry_ms, 9 * 60000);
  EXPECT_EQ(r.trades[1].entry_ms, 13 * 60000);
  EXPECT_NEAR(r.final_equity, 10000 + pnl1 + pnl2, 1e-7);
  qt_engine_free(e);
}

/* sizing = fill and close_at_end = open (backtesting.py's conventions) on
 * the path of test_hand_path with two opens moved: bar 10 opens at 98 (the
 * short's fill; the signal bar 9 closed at 100) and bar 16, the last, at 103
 * (it closes at 104). */
static void test_fill_sizing_and_close_at_open(void) {
  mk();
  g_o[10] = 98;
  g_h[10] = fmax(g_o[10], g_c[10]);
  g_l[10] = fmin(g_o[10], g_c[10]);
  g_o[16] = 103;
  g_l[16] = 103;
  const qt_strategy_vtbl *s = qt_strategy_find("sma_cross");
  qt_engine_opts o = qt_engine_opts_default();
  o.close_at_end = QT_CLOSE_AT_END_OPEN;
  qt_engine *e = NULL;
  qt_err err;
  ASSERT_TRUE(qt_engine_new(&o, &e, &err) == QT_OK);
  qt_feed f;
  memset(&f, 0, sizeof f);
  f.inst = qt_instrument_default("T");
  f.inst.taker_bps = 10;
  f.bars = &g_b;
  double p[3] = {2, 5, 1}; /* sizing = fill */
  qt_result r;
  ASSERT_TRUE(qt_engine_run(e, &f, 1, s, p, &r, &err) == QT_OK);
  ASSERT_TRUE(r.n_trades == 2);
  /* the short is sized at its fill price 98, not at the signal close 100:
   * q1 = 10000 / (98 * 1.001) = 101.93887... (at the signal close: 99.9) */
  double fee = 1e-3, q1 = 10000 / (98 * (1 + fee));
  EXPECT_NEAR(r.trades[0].qty, q1, 1e-9);
  EXPECT_NEAR(r.trades[0].qty, 101.93887744908155, 1e-9);
  EXPECT_NEAR(r.trades[0].entry_price, 98, 1e-12);
  /* covered at bar 14's open 99.5: a loss of 1.5 a unit plus both fees */
  double pnl1 = q1 * (98 - 99.5) - q1 * 98 * fee - q1 * 99.5 * fee;
  EXPECT_NEAR(r.trades[0].pnl, pnl1, 1e-9);
  /* the long: all of the cash after the cover at 99.5 */
  double cash = 10000 + pnl1, q2 = cash / (99.5 * (1 + fee));
  const qt_trade_rec *t = &r.trades[1];
  EXPECT_NEAR(t->qty, q2, 1e-9);
  /* end of data at the last bar's OPEN 103 (the close is 104) */
  EXPECT_EQ(t->exit_reason, QT_EXIT_END_OF_DATA);
  EXPECT_EQ(t->exit_ms, 16 * 60000);
  EXPECT_NEAR(t->exit_price, 103, 1e-12);
  double pnl2 = q2 * (103 - 99.5) - q2 * 99.5 * fee - q2 * 103 * fee;
  EXPECT_NEAR(t->pnl, pnl2, 1e-9);
  /* flat from the open on: the last equity point is the cash */
  EXPECT_NEAR(r.final_equity, 10000 + pnl1 + pnl2, 1e-9);
  EXPECT_NEAR(r.final_equity, 10152.305735147158, 1e-7);
  EXPECT_NEAR(r.equity[16], r.final_equity, 0);
  /* whole units (lot 1): floor(101.94) = 101 and floor(q2) */
  f.inst.lot_size = 1;
  ASSERT_TRUE(qt_engine_run(e, &f, 1, s, p, &r, &err) == QT_OK);
  ASSERT_TRUE(r.n_trades == 2);
  EXPECT_NEAR(r.trades[0].qty, 101, 0);
  double pnl1w = 101 * (98 - 99.5) - 101 * 98 * fee - 101 * 99.5 * fee;
  EXPECT_NEAR(r.trades[1].qty, floor((10000 + pnl1w) / (99.5 * (1 + fee))), 0);
  /* close_at_end outside 0..2 is refused */
  o.close_at_end = 3;
  qt_engine_set_opts(e, &o);
  EXPECT_EQ(qt_engine_run(e, &f, 1, s, p, &r, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "close_at_end 3");
  qt_engine_free(e);
}

QT_TESTS(T(test_registry_and_spec), T(test_fast_ge_slow_rejected), T(test_hand_path),
         T(test_fill_sizing_and_close_at_open))
