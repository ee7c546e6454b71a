/* Liquidation with several feeds on bars follows the bars' paths in step
 * (docs/engine.md, Liquidation), worked out by hand.  Long 1 A and short 1
 * B, both from 100, no fees, no maintenance margin, no leverage cap: equity
 * minus maintenance = cash + (pA - 100) - (pB - 100) = cash + pA - pB.
 * Bar 2: A 100 -> 90 -> 111 -> 100 (O-L-H-C: its high is farther), B 100 ->
 * 99 -> 110 -> 100 (O-L-H-C).  In path time: t=1: 90 - 99 = -9; t=2: 111 -
 * 110 = +1.  So the account dips by 9 at most; each feed's worst extreme at
 * once (A 90, B 110) would be a dip of 20, which never happens. */
#include "qt_test.h"
#include "qtune/engine.h"

#define NB 4
static int64_t g_ts[NB];
static double g_o[2][NB], g_h[2][NB], g_l[2][NB], g_c[2][NB];
static qt_bars g_b[2];

static void mk(void) {
  for (int k = 0; k < 2; k++) {
    for (int i = 0; i < NB; i++) {
      g_ts[i] = (int64_t)i * 60000;
      g_o[k][i] = g_h[k][i] = g_l[k][i] = g_c[k][i] = 100;
    }
    memset(&g_b[k], 0, sizeof g_b[k]);
    g_b[k].n = NB;
    g_b[k].interval_ms = 60000;
    g_b[k].ts_ms = g_ts;
    g_b[k].open = g_o[k];
    g_b[k].high = g_h[k];
    g_b[k].low = g_l[k];
    g_b[k].close = g_c[k];
  }
  g_l[0][2] = 90, g_h[0][2] = 111;
  g_l[1][2] = 99, g_h[1][2] = 110;
}

static int s_init(void *st, const double *p, qt_ctx *cx, qt_err *err) { return QT_OK; }
static void s_bar(void *st, const qt_bar *b, qt_ctx *cx) {
  if (b->i != 0) return;
  qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 1, QT_EXIT_SIGNAL);
  qt_ctx_market(cx, 1, QT_SELL, QT_LEG_NET, 1, QT_EXIT_SIGNAL);
}
static const qt_strategy_vtbl k_pair = {.abi = QT_STRATEGY_ABI, .name = "pair", .summary = "test",
                                        .n_instruments = 2, .init = s_init, .on_bar = s_bar};

static void run(double cash, qt_result *r) {
  mk();
  qt_engine_opts o = qt_engine_opts_default();
  o.cash = cash;
  o.leverage_cap = 0;
  qt_engine *e = NULL;
  qt_err err;
  ASSERT_TRUE(qt_engine_new(&o, &e, &err) == QT_OK);
  qt_feed f[2];
  memset(f, 0, sizeof f);
  for (int k = 0; k < 2; k++) {
    f[k].inst = qt_instrument_default(k ? "B" : "A");
    f[k].inst.maker_bps = f[k].inst.taker_bps = f[k].inst.maint_margin = 0;
    f[k].bars = &g_b[k];
  }
  ASSERT_TRUE(qt_engine_run(e, f, 2, &k_pair, NULL, r, &err) == QT_OK);
  static qt_trade_rec keep[8]; /* the result borrows the engine's buffers */
  memcpy(keep, r->trades, r->n_trades * sizeof *keep);
  static double eq[NB];
  memcpy(eq, r->equity, sizeof eq);
  r->trades = keep;
  r->equity = eq;
  qt_engine_free(e);
}

static void dip_of_nine(void) {
  qt_result r;
  /* cash 15: the path bottoms at 15 - 9 = 6 >= 0, no liquidation (each
   * feed's worst extreme at once, the former check, said 15 - 20 = -5) */
  run(15, &r);
  EXPECT_EQ(r.liquidated, 0);
  ASSERT_TRUE(r.n_trades == 2);
  EXPECT_EQ(r.trades[0].exit_reason, QT_EXIT_END_OF_DATA);
  EXPECT_NEAR(r.final_equity, 15, 1e-12);
  /* cash 5: negative at t = 5 / 9 on the way to t = 1 (5 at t=0, -4 at
   * t=1): A at 100 - 10 x 5/9 = 94.444..., B at 100 - 1 x 5/9 = 99.444...,
   * where the equity is exactly 0 */
  run(5, &r);
  EXPECT_EQ(r.liquidated, 1);
  ASSERT_TRUE(r.n_trades == 2);
  double t = 5.0 / 9.0, pa = 100 - 10 * t, pb = 100 - 1 * t;
  for (int j = 0; j < 2; j++) {
    const qt_trade_rec *tr = &r.trades[j];
    EXPECT_EQ(tr->exit_reason, QT_EXIT_LIQUIDATION);
    EXPECT_EQ(tr->exit_ms, 2 * 60000);
    EXPECT_NEAR(tr->exit_price, tr->inst == 0 ? pa : pb, 1e-9);
  }
  EXPECT_NEAR(r.final_equity, 5 + (pa - 100) - (pb - 100), 1e-9);
  EXPECT_NEAR(r.final_equity, 0, 1e-9);
  EXPECT_NEAR(r.equity[3], 0, 1e-9); /* the remaining bars record the cash */
}

QT_TESTS(T(dip_of_nine))
