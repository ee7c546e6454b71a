/* Trade accounting (docs/engine.md): the same fills read as trades at the
 * position's average price, as lots FIFO, and as lots linked to their entry
 * (qt_ctx_exit_of).  Cash, equity and the sum of trade P&L are the same in
 * all three; every number is worked out by hand below.  Also the fraction
 * order's checks (qt_ctx_market_fraction). */
#include "qt_test.h"
#include "qtune/engine.h"

/* Bars 0..5, opens 100, 110, 120, 130, 140, 150, each closing at its open
 * (high = low = open = close).  No fees. */
#define NB 6
static int64_t g_ts[NB];
static double g_px[NB];
static qt_bars g_b;
static int64_t g_entry2; /* the id of the second entry order */
static int g_link;       /* the exit is linked to the second entry */
static int g_partial;    /* the exit sells 1.5 instead of 1 */
static int64_t g_frac_rc[4];

static void mk(void) {
  for (int i = 0; i < NB; i++) {
    g_ts[i] = (int64_t)i * 60000;
    g_px[i] = 100 + 10 * i;
  }
  memset(&g_b, 0, sizeof g_b);
  g_b.n = NB;
  g_b.interval_ms = 60000;
  g_b.ts_ms = g_ts;
  g_b.open = g_b.high = g_b.low = g_b.close = g_px;
}

static int s_init(void *st, const double *p, qt_ctx *cx, qt_err *err) { return QT_OK; }

/* bar 0: buy 1 (fills at bar 1's open 110); bar 1: buy 1 (bar 2, 120);
 * bar 2: sell 1 or 1.5 (bar 3, 130); the rest closes at the end (150). */
static void s_bar(void *st, const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 1, QT_EXIT_SIGNAL);
  if (b->i == 1) g_entry2 = qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 1, QT_EXIT_SIGNAL);
  if (b->i == 2) {
    int64_t x = qt_ctx_market(cx, 0, QT_SELL, QT_LEG_NET, g_partial ? 1.5 : 1, QT_EXIT_TAKE_PROFIT);
    if (g_link) qt_ctx_exit_of(cx, x, g_entry2);
  }
  if (b->i == 3) { /* fraction orders: bounds and the link check, then cancelled */
    g_frac_rc[0] = qt_ctx_market_fraction(cx, 0, QT_BUY, QT_LEG_NET, 0, QT_EXIT_SIGNAL);
    g_frac_rc[1] = qt_ctx_market_fraction(cx, 0, QT_BUY, QT_LEG_NET, 1.5, QT_EXIT_SIGNAL);
    g_frac_rc[2] = qt_ctx_exit_of(cx, 9999, 1);
    int64_t id = qt_ctx_market_fraction(cx, 0, QT_BUY, QT_LEG_NET, 0.5, QT_EXIT_SIGNAL);
    g_frac_rc[3] = id > 0 && qt_ctx_replace(cx, id, 0, 2) == QT_EINVAL && qt_ctx_cancel(cx, id) == QT_OK;
  }
}

static const qt_strategy_vtbl k_script = {
    .abi = QT_STRATEGY_ABI, .name = "lots_script", .summary = "test",
    .n_instruments = 1, .init = s_init, .on_bar = s_bar};

static void run(int accounting, qt_result *r, qt_engine **e) {
  mk();
  qt_engine_opts o = qt_engine_opts_default();
  o.trade_accounting = accounting;
  o.leverage_cap = 0;
  qt_err err;
  if (!*e) ASSERT_TRUE(qt_engine_new(&o, e, &err) == QT_OK);
  qt_engine_set_opts(*e, &o);
  qt_feed f;
  memset(&f, 0, sizeof f);
  f.inst = qt_instrument_default("T");
  f.inst.maker_bps = f.inst.taker_bps = 0;
  f.bars = &g_b;
  ASSERT_TRUE(qt_engine_run(*e, &f, 1, &k_script, NULL, r, &err) == QT_OK);
}

static double pnl_sum(const qt_result *r) {
  double s = 0;
  for (size_t j = 0; j < r->n_trades; j++) s += r->trades[j].pnl;
  return s;
}

static void accountings(void) {
  qt_engine *e = NULL;
  qt_result r;
  /* held: 1 @ 110 and 1 @ 120 (average 115); sold 1 @ 130; the other 1
   * closes at the last close 150.  Price P&L 130 + 150 - 110 - 120 = 50 in
   * every accounting; only how it splits into trades differs. */
  g_link = g_partial = 0;
  run(QT_ACCOUNTING_AVERAGE, &r, &e);
  ASSERT_TRUE(r.n_trades == 2);
  EXPECT_NEAR(r.trades[0].entry_price, 115, 1e-12); /* the average */
  EXPECT_NEAR(r.trades[0].pnl, 15, 1e-12);          /* 130 - 115 */
  EXPECT_NEAR(r.trades[1].pnl, 35, 1e-12);          /* 150 - 115 */
  EXPECT_NEAR(r.final_equity, 10050, 1e-9);
  EXPECT_NEAR(pnl_sum(&r), 50, 1e-9);
  /* auto, for a strategy without QT_NEEDS_LOTS, is average */
  run(QT_ACCOUNTING_AUTO, &r, &e);
  EXPECT_NEAR(r.trades[0].entry_price, 115, 1e-12);
  /* lots, FIFO: the sale closes the first lot (110), the end the second */
  run(QT_ACCOUNTING_LOTS, &r, &e);
  ASSERT_TRUE(r.n_trades == 2);
  EXPECT_NEAR(r.trades[0].entry_price, 110, 1e-12);
  EXPECT_EQ(r.trades[0].entry_ms, 60000); /* filled at bar 1 */
  EXPECT_EQ(r.trades[0].bars_held, 2);    /* bar 1 to bar 3 */
  EXPECT_NEAR(r.trades[0].pnl, 20, 1e-12);
  EXPECT_NEAR(r.trades[1].entry_price, 120, 1e-12);
  EXPECT_EQ(r.trades[1].entry_ms, 120000);
  EXPECT_NEAR(r.trades[1].pnl, 30, 1e-12);
  EXPECT_EQ(r.trades[1].exit_reason, QT_EXIT_END_OF_DATA);
  EXPECT_NEAR(r.final_equity, 10050, 1e-9); /* the account is the same */
  EXPECT_NEAR(pnl_sum(&r), 50, 1e-9);
  /* linked to the second entry: that lot first (130 - 120 = 10), the end
   * closes the first (150 - 110 = 40) */
  g_link = 1;
  run(QT_ACCOUNTING_LOTS, &r, &e);
  ASSERT_TRUE(r.n_trades == 2);
  EXPECT_NEAR(r.trades[0].entry_price, 120, 1e-12);
  EXPECT_NEAR(r.trades[0].pnl, 10, 1e-12);
  EXPECT_NEAR(r.trades[1].entry_price, 110, 1e-12);
  EXPECT_NEAR(r.trades[1].pnl, 40, 1e-12);
  /* the link changes no fill: average accounting ignores it */
  run(QT_ACCOUNTING_AVERAGE, &r, &e);
  EXPECT_NEAR(r.trades[0].entry_price, 115, 1e-12);
  /* a sale of 1.5, linked: lot 2 whole (10), then half of lot 1 (0.5 x 20
   * = 10); the end closes the other half of lot 1 (0.5 x 40 = 20).  Price
   * P&L 1.5 x 130 + 0.5 x 150 - 230 = 40. */
  g_partial = 1;
  run(QT_ACCOUNTING_LOTS, &r, &e);
  ASSERT_TRUE(r.n_trades == 3);
  EXPECT_NEAR(r.trades[0].qty, 1, 1e-12);
  EXPECT_NEAR(r.trades[0].pnl, 10, 1e-12);
  EXPECT_NEAR(r.trades[1].qty, 0.5, 1e-12);
  EXPECT_NEAR(r.trades[1].entry_price, 110, 1e-12);
  EXPECT_NEAR(r.trades[1].pnl, 10, 1e-12);
  EXPECT_NEAR(r.trades[2].qty, 0.5, 1e-12);
  EXPECT_NEAR(r.trades[2].pnl, 20, 1e-12);
  EXPECT_NEAR(pnl_sum(&r), 40, 1e-9);
  EXPECT_NEAR(r.final_equity, 10040, 1e-9);
  /* FIFO: lot 1 whole (20), half of lot 2 (5); the end the other half (15) */
  g_link = 0;
  run(QT_ACCOUNTING_LOTS, &r, &e);
  ASSERT_TRUE(r.n_trades == 3);
  EXPECT_NEAR(r.trades[0].pnl, 20, 1e-12);
  EXPECT_NEAR(r.trades[1].pnl, 5, 1e-12);
  EXPECT_NEAR(r.trades[2].pnl, 15, 1e-12);
  EXPECT_NEAR(r.trades[2].entry_price, 120, 1e-12);
  /* the fraction order and the link refuse what they cannot do */
  EXPECT_EQ(g_frac_rc[0], QT_EINVAL);
  EXPECT_EQ(g_frac_rc[1], QT_EINVAL);
  EXPECT_EQ(g_frac_rc[2], QT_ENOTFOUND);
  EXPECT_EQ(g_frac_rc[3], 1);
  /* an accounting outside 0..2 */
  qt_engine_opts o = qt_engine_opts_default();
  o.trade_accounting = 3;
  qt_engine_set_opts(e, &o);
  qt_feed f;
  memset(&f, 0, sizeof f);
  f.inst = qt_instrument_default("T");
  f.bars = &g_b;
  qt_err err;
  EXPECT_EQ(qt_engine_run(e, &f, 1, &k_script, NULL, &r, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "trade_accounting 3");
  qt_engine_free(e);
}

QT_TESTS(T(accountings))
