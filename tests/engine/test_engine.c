/* Engine tests on hand-made bar paths: every expected fill, fee, funding
 * payment and P&L below is computed by hand in the comments. */
#include "qt_test.h"
#include "qtune/engine.h"
#include "qtune/indicators.h"

#include <stdio.h>

/* ---- hand-built bars ---- */
#define MAXB 128
typedef struct tbars {
  int64_t ts[MAXB];
  double o[MAXB], h[MAXB], l[MAXB], c[MAXB], v[MAXB];
  qt_bars b;
} tbars;

static void tb_init(tbars *t, size_t n, int64_t step) {
  memset(t, 0, sizeof *t);
  for (size_t i = 0; i < n; i++) t->ts[i] = (int64_t)i * step;
  t->b.n = n;
  t->b.interval_ms = step;
  t->b.ts_ms = t->ts;
  t->b.open = t->o;
  t->b.high = t->h;
  t->b.low = t->l;
  t->b.close = t->c;
  t->b.volume = t->v;
}

static void tb_set(tbars *t, size_t i, double o, double h, double l, double c) {
  t->o[i] = o;
  t->h[i] = h;
  t->l[i] = l;
  t->c[i] = c;
}

/* Flat bars at price p. */
static void tb_flat(tbars *t, size_t n, double p) {
  tb_init(t, n, 60000);
  for (size_t i = 0; i < n; i++) tb_set(t, i, p, p, p, p);
}

/* ---- a scripted strategy: the test installs a per-bar function ---- */
typedef void (*script_fn)(const qt_bar *b, qt_ctx *cx);
static script_fn g_script;
static qt_fill g_fills[64];
static int g_nfills;
static qt_funding_event g_fund[128];
static int g_nfund;
static int g_nbars_seen;
static int g_check_invariant;
static int g_invariant_bad;

static int ts_init(void *st, const double *p, qt_ctx *cx, qt_err *err) {
  g_nfills = 0;
  g_nfund = 0;
  g_nbars_seen = 0;
  g_invariant_bad = 0;
  return QT_OK;
}

static void ts_on_bar(void *st, const qt_bar *b, qt_ctx *cx) {
  g_nbars_seen++;
  if (g_check_invariant) {
    /* equity = cash + the net legs marked at the close (one-way runs) */
    double u = 0;
    for (int k = 0; k < qt_ctx_n_instruments(cx); k++) {
      size_t n;
      const qt_bars *bb = qt_ctx_bars(cx, k, &n);
      double q = qt_ctx_position(cx, k, QT_LEG_NET);
      u += q * (bb->close[n - 1] - qt_ctx_entry_price(cx, k, QT_LEG_NET));
    }
    if (fabs(qt_ctx_equity(cx) - (qt_ctx_cash(cx) + u)) > 1e-6) g_invariant_bad++;
  }
  if (g_script) g_script(b, cx);
}

static void ts_on_fill(void *st, const qt_fill *f, qt_ctx *cx) {
  if (g_nfills < 64) g_fills[g_nfills++] = *f;
}

static void ts_on_funding(void *st, const qt_funding_event *f, qt_ctx *cx) {
  if (g_nfund < 128) g_fund[g_nfund++] = *f;
}

static const qt_strategy_vtbl k_script = {
    .abi = QT_STRATEGY_ABI,
    .name = "script",
    .summary = "test script",
    .params = NULL,
    .n_params = 0,
    .state_size = 16,
    .n_instruments = 1,
    .init = ts_init,
    .on_bar = ts_on_bar,
    .on_fill = ts_on_fill,
    .on_funding = ts_on_funding,
};

static qt_feed feed_of(const qt_bars *b, double maker, double taker) {
  qt_feed f;
  memset(&f, 0, sizeof f);
  f.inst = qt_instrument_default("TEST");
  f.inst.maker_bps = maker;
  f.inst.taker_bps = taker;
  f.bars = b;
  return f;
}

static qt_engine *g_eng;
static qt_result g_res;

static int run1(const qt_engine_opts *o, const qt_feed *feeds, int n, script_fn fn) {
  qt_err err;
  qt_err_clear(&err);
  if (!g_eng && qt_engine_new(o, &g_eng, &err) != QT_OK) return -99;
  qt_engine_set_opts(g_eng, o);
  g_script = fn;
  int rc = qt_engine_run(g_eng, feeds, n, &k_script, NULL, &g_res, &err);
  if (rc) fprintf(stderr, "  run: %s\n", err.msg);
  return rc;
}

static int64_t g_id[8];

/* ---------------------------------------------------------------- tests */

static void s_buy10_bar0(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) g_id[0] = qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 10, QT_EXIT_SIGNAL);
}

static tbars g_tb, g_tb2;

static void mk_up4(void) {
  tb_init(&g_tb, 4, 60000);
  tb_set(&g_tb, 0, 100, 101, 99, 100);
  tb_set(&g_tb, 1, 102, 103, 101, 102);
  tb_set(&g_tb, 2, 104, 105, 103, 104);
  tb_set(&g_tb, 3, 106, 107, 105, 106);
}

static void test_market_next_open(void) {
  mk_up4();
  qt_feed f = feed_of(&g_tb.b, 2, 10);
  qt_engine_opts o = qt_engine_opts_default();
  ASSERT_TRUE(run1(&o, &f, 1, s_buy10_bar0) == QT_OK);
  /* fill at bar 1's open 102, fee 10*102*10bps = 1.02; closed at the end at 106, fee 1.06 */
  EXPECT_TRUE(g_id[0] > 0);
  ASSERT_TRUE(g_nfills == 2);
  EXPECT_EQ(g_fills[1].order_id, 0); /* the engine's end-of-data close */
  EXPECT_EQ(g_fills[1].reason, QT_EXIT_END_OF_DATA);
  EXPECT_NEAR(g_fills[1].price, 106, 1e-12);
  EXPECT_NEAR(g_fills[0].price, 102, 1e-12);
  EXPECT_NEAR(g_fills[0].fee, 1.02, 1e-12);
  EXPECT_EQ(g_fills[0].maker, 0);
  EXPECT_EQ(g_fills[0].ts_ms, 60000);
  ASSERT_TRUE(g_res.n_trades == 1);
  const qt_trade_rec *t = &g_res.trades[0];
  EXPECT_EQ(t->exit_reason, QT_EXIT_END_OF_DATA);
  EXPECT_EQ(t->side, QT_BUY);
  EXPECT_NEAR(t->entry_price, 102, 1e-12);
  EXPECT_NEAR(t->exit_price, 106, 1e-12);
  EXPECT_NEAR(t->fees, 2.08, 1e-12);
  EXPECT_NEAR(t->pnl, 40 - 2.08, 1e-12);
  EXPECT_EQ(t->bars_held, 2);
  EXPECT_EQ(t->entry_ms, 60000);
  EXPECT_EQ(t->exit_ms, 180000);
  ASSERT_TRUE(g_res.n_bars == 4);
  EXPECT_NEAR(g_res.equity[0], 10000, 1e-9);
  EXPECT_NEAR(g_res.equity[1], 10000 - 1.02, 1e-9);
  EXPECT_NEAR(g_res.equity[2], 10000 - 1.02 + 20, 1e-9);
  EXPECT_NEAR(g_res.equity[3], 10000 + 40 - 2.08, 1e-9);
  EXPECT_NEAR(g_res.final_equity, 10037.92, 1e-9);
  EXPECT_NEAR(g_res.fees_paid, 2.08, 1e-12);
  EXPECT_NEAR(g_res.exposure[2], 10 * 104 / (10000 - 1.02 + 20), 1e-12);
  EXPECT_DBL_EQ(g_res.exposure[0], 0);
  EXPECT_EQ(g_res.n_fills, 2);
  EXPECT_EQ(g_res.n_orders, 1);
  EXPECT_EQ(g_res.interval_ms, 60000);
}

static void test_trade_on_close(void) {
  mk_up4();
  qt_feed f = feed_of(&g_tb.b, 2, 10);
  qt_engine_opts o = qt_engine_opts_default();
  o.trade_on_close = 1;
  ASSERT_TRUE(run1(&o, &f, 1, s_buy10_bar0) == QT_OK);
  /* fill at bar 0's close 100: fee 1.00; exit at 106 fee 1.06 */
  ASSERT_TRUE(g_res.n_trades == 1);
  EXPECT_NEAR(g_res.trades[0].entry_price, 100, 1e-12);
  EXPECT_NEAR(g_res.trades[0].pnl, 60 - 2.06, 1e-12);
  EXPECT_EQ(g_res.trades[0].bars_held, 3);
  EXPECT_NEAR(g_res.equity[0], 10000 - 1.0, 1e-9);
}

static void test_close_at_end_off(void) {
  mk_up4();
  qt_feed f = feed_of(&g_tb.b, 2, 10);
  qt_engine_opts o = qt_engine_opts_default();
  o.close_at_end = 0;
  ASSERT_TRUE(run1(&o, &f, 1, s_buy10_bar0) == QT_OK);
  EXPECT_EQ(g_res.n_trades, 0);
  EXPECT_NEAR(g_res.final_equity, 10000 - 1.02 + 40, 1e-9);
}

/* limit touch, gap-through, next-bar eligibility, post-only */
static void s_limits(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) {
    g_id[0] = qt_ctx_limit(cx, 0, QT_BUY, QT_LEG_NET, 1, 99.5, 0, 1);
    g_id[1] = qt_ctx_limit(cx, 0, QT_BUY, QT_LEG_NET, 1, 101, 0, 2);
    /* post-only at or above the close (100) would take: rejected */
    g_id[3] = qt_ctx_limit(cx, 0, QT_BUY, QT_LEG_NET, 1, 100, QT_ORDER_POST_ONLY, 4);
    g_id[4] = qt_ctx_limit(cx, 0, QT_SELL, QT_LEG_NET, 1, 99, QT_ORDER_POST_ONLY, 5);
  }
  if (b->i == 1) g_id[2] = qt_ctx_limit(cx, 0, QT_BUY, QT_LEG_NET, 1, 100.0, 0, 3);
}

static void test_limit_touch_gap_postonly(void) {
  tb_init(&g_tb, 5, 60000);
  tb_set(&g_tb, 0, 100, 100.5, 99.8, 100);
  tb_set(&g_tb, 1, 100, 101, 99, 100.5);     /* A touched at 99.5; B gapped: open 100 <= 101 */
  tb_set(&g_tb, 2, 100.4, 100.9, 100.1, 100.6); /* C (100) not touched */
  tb_set(&g_tb, 3, 100.6, 100.8, 99.9, 100.2);  /* C touched */
  tb_set(&g_tb, 4, 100.2, 100.2, 100.2, 100.2);
  qt_feed f = feed_of(&g_tb.b, 2, 10);
  qt_engine_opts o = qt_engine_opts_default();
  ASSERT_TRUE(run1(&o, &f, 1, s_limits) == QT_OK);
  EXPECT_EQ(g_id[3], QT_EINVAL);
  EXPECT_EQ(g_id[4], QT_EINVAL);
  EXPECT_EQ(g_res.n_rejected, 2);
  ASSERT_TRUE(g_nfills == 4);
  /* bar 1: B at the open (t = 0) before A at 99.5 */
  EXPECT_EQ(g_fills[0].tag, 2);
  EXPECT_NEAR(g_fills[0].price, 100, 1e-12);
  EXPECT_EQ(g_fills[0].maker, 1);
  EXPECT_NEAR(g_fills[0].fee, 100 * 2e-4, 1e-15);
  EXPECT_EQ(g_fills[1].tag, 1);
  EXPECT_NEAR(g_fills[1].price, 99.5, 1e-12);
  EXPECT_NEAR(g_fills[1].fee, 99.5 * 2e-4, 1e-15);
  EXPECT_EQ(g_fills[1].ts_ms, 60000);
  /* C: submitted on bar 1 (whose low 99 touched it), fills on bar 3 */
  EXPECT_EQ(g_fills[2].tag, 3);
  EXPECT_EQ(g_fills[2].ts_ms, 180000);
  EXPECT_NEAR(g_fills[2].price, 100, 1e-12);
  /* the end-of-data close of 3 units at 100.2 */
  EXPECT_NEAR(g_fills[3].qty, 3, 1e-12);
  ASSERT_TRUE(g_res.n_trades == 1);
  double avg = (100 + 99.5 + 100) / 3;
  EXPECT_NEAR(g_res.trades[0].entry_price, avg, 1e-12);
  double fees = (100 + 99.5 + 100) * 2e-4 + 3 * 100.2 * 10e-4;
  EXPECT_NEAR(g_res.trades[0].fees, fees, 1e-12);
  EXPECT_NEAR(g_res.trades[0].pnl, 3 * 100.2 - (100 + 99.5 + 100) - fees, 1e-9);
  EXPECT_NEAR(g_res.final_equity, 10000 + g_res.trades[0].pnl, 1e-9);
}

/* stop with slippage, plain and gapped */
static void s_stop(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 10, QT_EXIT_SIGNAL);
  if (b->i == 1) g_id[0] = qt_ctx_stop(cx, 0, QT_SELL, QT_LEG_NET, 10, 95, QT_EXIT_STOP_LOSS);
}

static void test_stop_slippage(void) {
  tb_init(&g_tb, 4, 60000);
  tb_set(&g_tb, 0, 100, 100, 100, 100);
  tb_set(&g_tb, 1, 100, 100, 99, 99);
  tb_set(&g_tb, 2, 97, 98, 94, 96);
  tb_set(&g_tb, 3, 96, 96, 96, 96);
  qt_feed f = feed_of(&g_tb.b, 0, 0);
  qt_engine_opts o = qt_engine_opts_default();
  o.slippage_bps = 10;
  ASSERT_TRUE(run1(&o, &f, 1, s_stop) == QT_OK);
  ASSERT_TRUE(g_nfills == 2);
  EXPECT_NEAR(g_fills[0].price, 100 * 1.001, 1e-12); /* market buy: adverse = up */
  EXPECT_NEAR(g_fills[1].price, 95 * 0.999, 1e-12);  /* stop sell at 95, slipped down */
  ASSERT_TRUE(g_res.n_trades == 1);
  EXPECT_EQ(g_res.trades[0].exit_reason, QT_EXIT_STOP_LOSS);
  EXPECT_NEAR(g_res.trades[0].pnl, 10 * (94.905 - 100.1), 1e-9);
  /* gap: bar 2 opens at 93, under the trigger: fill at the open, slipped */
  tb_set(&g_tb, 2, 93, 98, 92, 96);
  ASSERT_TRUE(run1(&o, &f, 1, s_stop) == QT_OK);
  ASSERT_TRUE(g_nfills == 2);
  EXPECT_NEAR(g_fills[1].price, 93 * 0.999, 1e-12);
}

/* two exits touched in one bar: the intrabar path decides */
static void s_bracket(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 10, QT_EXIT_SIGNAL);
  if (b->i == 1) {
    qt_order_req r = {0};
    r.side = QT_SELL;
    r.type = QT_ORDER_LIMIT;
    r.qty = 10;
    r.price = 103;
    r.flags = QT_ORDER_REDUCE_ONLY;
    r.reason = QT_EXIT_TAKE_PROFIT;
    g_id[0] = qt_ctx_submit(cx, &r);
    r.type = QT_ORDER_STOP;
    r.price = 97;
    r.reason = QT_EXIT_STOP_LOSS;
    g_id[1] = qt_ctx_submit(cx, &r);
  }
}

static void test_intrabar_order(void) {
  tb_init(&g_tb, 4, 60000);
  tb_set(&g_tb, 0, 100, 100, 100, 100);
  tb_set(&g_tb, 1, 100, 100, 100, 100);
  tb_set(&g_tb, 2, 100, 103.5, 96, 99); /* high nearer the open: O-H-L-C, take-profit first */
  tb_set(&g_tb, 3, 99, 99, 99, 99);
  qt_feed f = feed_of(&g_tb.b, 0, 0);
  qt_engine_opts o = qt_engine_opts_default();
  ASSERT_TRUE(run1(&o, &f, 1, s_bracket) == QT_OK);
  ASSERT_TRUE(g_res.n_trades == 1);
  EXPECT_EQ(g_res.trades[0].exit_reason, QT_EXIT_TAKE_PROFIT);
  EXPECT_NEAR(g_res.trades[0].exit_price, 103, 1e-12);
  EXPECT_NEAR(g_res.trades[0].pnl, 30, 1e-9);
  EXPECT_EQ(g_res.n_rejected, 1); /* the reduce-only stop found nothing to reduce */
  tb_set(&g_tb, 2, 100, 104, 96.5, 99); /* low nearer: O-L-H-C, stop first */
  ASSERT_TRUE(run1(&o, &f, 1, s_bracket) == QT_OK);
  ASSERT_TRUE(g_res.n_trades == 1);
  EXPECT_EQ(g_res.trades[0].exit_reason, QT_EXIT_STOP_LOSS);
  EXPECT_NEAR(g_res.trades[0].exit_price, 97, 1e-12);
  EXPECT_NEAR(g_res.trades[0].pnl, -30, 1e-9);
}

/* reduce-only clips to the position and rejects when flat; partial close */
static void s_reduce(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) {
    qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 10, QT_EXIT_SIGNAL);
    qt_order_req r = {0};
    r.side = QT_SELL;
    r.type = QT_ORDER_MARKET;
    r.qty = 3;
    r.flags = QT_ORDER_REDUCE_ONLY;
    qt_ctx_submit(cx, &r); /* after the buy: reduces 3 */
  }
  if (b->i == 1) {
    qt_order_req r = {0};
    r.side = QT_SELL;
    r.type = QT_ORDER_MARKET;
    r.qty = 20;
    r.flags = QT_ORDER_REDUCE_ONLY;
    qt_ctx_submit(cx, &r); /* clipped to the 7 left, does not go short */
    qt_ctx_submit(cx, &r); /* nothing left to reduce: dropped */
  }
}

static void test_reduce_only_partial(void) {
  tb_init(&g_tb, 4, 60000);
  tb_set(&g_tb, 0, 100, 100, 100, 100);
  tb_set(&g_tb, 1, 100, 100, 100, 100);
  tb_set(&g_tb, 2, 110, 110, 110, 110);
  tb_set(&g_tb, 3, 110, 110, 110, 110);
  qt_feed f = feed_of(&g_tb.b, 0, 10);
  qt_engine_opts o = qt_engine_opts_default();
  ASSERT_TRUE(run1(&o, &f, 1, s_reduce) == QT_OK);
  ASSERT_TRUE(g_res.n_trades == 2);
  /* 3 closed at 100 on bar 1: entry fee share 3/10 of 1.0 = 0.3, exit fee 0.3 */
  EXPECT_NEAR(g_res.trades[0].qty, 3, 1e-12);
  EXPECT_NEAR(g_res.trades[0].fees, 0.6, 1e-12);
  EXPECT_NEAR(g_res.trades[0].pnl, -0.6, 1e-12);
  /* 7 closed at 110 on bar 2: entry share 0.7, exit fee 7*110*1e-3 = 0.77 */
  EXPECT_NEAR(g_res.trades[1].qty, 7, 1e-12);
  EXPECT_NEAR(g_res.trades[1].fees, 0.7 + 0.77, 1e-12);
  EXPECT_NEAR(g_res.trades[1].pnl, 70 - 1.47, 1e-12);
  EXPECT_EQ(g_res.n_rejected, 1);
  EXPECT_NEAR(g_res.final_equity, 10000 + 70 - 2.07, 1e-9);
}

/* cancel and replace */
static void s_cancel_replace(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) {
    g_id[0] = qt_ctx_limit(cx, 0, QT_BUY, QT_LEG_NET, 1, 95, 0, 1);
    g_id[1] = qt_ctx_limit(cx, 0, QT_BUY, QT_LEG_NET, 1, 98, 0, 2);
  }
  if (b->i == 1) {
    g_id[2] = qt_ctx_replace(cx, g_id[0], 99, 2);
    g_id[3] = qt_ctx_cancel(cx, g_id[1]);
    g_id[4] = qt_ctx_cancel(cx, g_id[1]);
  }
}

static void test_cancel_replace(void) {
  tb_init(&g_tb, 4, 60000);
  tb_set(&g_tb, 0, 100, 100, 100, 100);
  tb_set(&g_tb, 1, 100, 100, 99.5, 100); /* neither order touched */
  tb_set(&g_tb, 2, 100, 100, 97, 100);   /* 98 would have filled; replaced 99 fills */
  tb_set(&g_tb, 3, 100, 100, 100, 100);
  qt_feed f = feed_of(&g_tb.b, 0, 0);
  qt_engine_opts o = qt_engine_opts_default();
  ASSERT_TRUE(run1(&o, &f, 1, s_cancel_replace) == QT_OK);
  EXPECT_EQ(g_id[2], QT_OK);
  EXPECT_EQ(g_id[3], QT_OK);
  EXPECT_EQ(g_id[4], QT_ENOTFOUND);
  ASSERT_TRUE(g_nfills == 2);
  EXPECT_EQ(g_fills[0].order_id, g_id[0]);
  EXPECT_NEAR(g_fills[0].price, 99, 1e-12);
  EXPECT_NEAR(g_fills[0].qty, 2, 1e-12);
  EXPECT_EQ(g_fills[0].ts_ms, 120000);
  EXPECT_EQ(g_res.n_cancelled, 1);
}

/* Bars that touch no order skip the fill scan (the book's band): every kind
 * of resting order still fills on the first bar that reaches it. */
static void s_band(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) {
    g_id[0] = qt_ctx_limit(cx, 0, QT_BUY, QT_LEG_NET, 1, 90, 0, 1);
    g_id[1] = qt_ctx_limit(cx, 0, QT_SELL, QT_LEG_NET, 1, 110, 0, 2);
    g_id[2] = qt_ctx_stop(cx, 0, QT_BUY, QT_LEG_NET, 1, 105, 3);
    g_id[3] = qt_ctx_stop(cx, 0, QT_SELL, QT_LEG_NET, 1, 95, 4);
  }
}

static void test_band_skip(void) {
  tb_init(&g_tb, 7, 60000);
  tb_set(&g_tb, 0, 100, 100, 100, 100);
  tb_set(&g_tb, 1, 100, 104, 96, 100); /* inside every trigger: nothing */
  tb_set(&g_tb, 2, 100, 104.9, 95.1, 100);
  tb_set(&g_tb, 3, 100, 106, 99, 104); /* buy stop 105 */
  tb_set(&g_tb, 4, 104, 104, 94, 96);  /* sell stop 95 */
  tb_set(&g_tb, 5, 96, 111, 96, 100);  /* sell limit 110 */
  tb_set(&g_tb, 6, 100, 100, 89, 95);  /* buy limit 90 */
  qt_feed f = feed_of(&g_tb.b, 0, 0);
  qt_engine_opts o = qt_engine_opts_default();
  ASSERT_TRUE(run1(&o, &f, 1, s_band) == QT_OK);
  ASSERT_TRUE(g_nfills == 4);
  static const double px[] = {105, 95, 110, 90};
  static const int which[] = {2, 3, 1, 0};
  for (int k = 0; k < 4; k++) {
    EXPECT_EQ(g_fills[k].order_id, g_id[which[k]]);
    EXPECT_NEAR(g_fills[k].price, px[k], 1e-12);
    EXPECT_EQ(g_fills[k].ts_ms, (int64_t)(k + 3) * 60000);
  }
}

/* order expiry and signal expiry */
static int64_t g_exp;
static void s_expiry(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) {
    qt_order_req r = {0};
    r.side = QT_BUY;
    r.type = QT_ORDER_LIMIT;
    r.qty = 1;
    r.price = 99;
    r.expire_ms = g_exp;
    g_id[0] = qt_ctx_submit(cx, &r);
  }
}

static void test_order_expiry(void) {
  tb_init(&g_tb, 4, 60000);
  tb_set(&g_tb, 0, 100, 100, 100, 100);
  tb_set(&g_tb, 1, 100, 100, 99.5, 100);
  tb_set(&g_tb, 2, 100, 100, 98, 100);
  tb_set(&g_tb, 3, 100, 100, 100, 100);
  qt_feed f = feed_of(&g_tb.b, 0, 0);
  qt_engine_opts o = qt_engine_opts_default();
  g_exp = 120000; /* now (bar 2's open) >= expire_ms: cancelled before it could fill */
  ASSERT_TRUE(run1(&o, &f, 1, s_expiry) == QT_OK);
  EXPECT_EQ(g_nfills, 0);
  EXPECT_EQ(g_res.n_cancelled, 1);
  g_exp = 120001; /* still live at bar 2 */
  ASSERT_TRUE(run1(&o, &f, 1, s_expiry) == QT_OK);
  EXPECT_EQ(g_nfills, 2);
  EXPECT_EQ(g_res.n_cancelled, 0);
}

static void s_signal(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) {
    qt_ctx_signal(cx, 0, QT_LEG_NET, QT_BUY, 180000);
    qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 1, QT_EXIT_SIGNAL);
  }
  if (b->i == 1) qt_ctx_signal(cx, 0, QT_LEG_NET, QT_BUY, 0); /* no expiry: only counted */
}

static void test_signal_expiry(void) {
  tb_init(&g_tb, 6, 60000);
  for (int i = 0; i < 6; i++) tb_set(&g_tb, i, 100 + i, 100 + i, 100 + i, 100 + i);
  qt_feed f = feed_of(&g_tb.b, 0, 0);
  qt_engine_opts o = qt_engine_opts_default();
  ASSERT_TRUE(run1(&o, &f, 1, s_signal) == QT_OK);
  EXPECT_EQ(g_res.n_signals, 2);
  EXPECT_EQ(g_res.n_expired, 1);
  ASSERT_TRUE(g_res.n_trades == 1);
  /* bought at bar 1's open 101, closed at bar 3's open 103 (now 180000 >= expiry) */
  EXPECT_EQ(g_res.trades[0].exit_reason, QT_EXIT_EXPIRY);
  EXPECT_NEAR(g_res.trades[0].exit_price, 103, 1e-12);
  EXPECT_EQ(g_res.trades[0].exit_ms, 180000);
  EXPECT_NEAR(g_res.trades[0].pnl, 2, 1e-12);
}

/* hedge mode: a long and a short leg at once */
static double g_pl, g_ps, g_pn;
static void s_hedge(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) {
    qt_ctx_market(cx, 0, QT_BUY, QT_LEG_LONG, 2, QT_EXIT_SIGNAL);
    qt_ctx_market(cx, 0, QT_SELL, QT_LEG_SHORT, 1, QT_EXIT_SIGNAL);
  }
  if (b->i == 2) {
    g_pl = qt_ctx_position(cx, 0, QT_LEG_LONG);
    g_ps = qt_ctx_position(cx, 0, QT_LEG_SHORT);
    g_pn = qt_ctx_position(cx, 0, QT_LEG_NET);
    qt_ctx_close(cx, 0, QT_LEG_SHORT, QT_EXIT_TAKE_PROFIT);
  }
}

static void test_hedge_mode(void) {
  tb_init(&g_tb, 5, 60000);
  tb_set(&g_tb, 0, 100, 100, 100, 100);
  tb_set(&g_tb, 1, 100, 100, 100, 100);
  tb_set(&g_tb, 2, 100, 100, 90, 90);
  tb_set(&g_tb, 3, 92, 92, 92, 92);
  tb_set(&g_tb, 4, 95, 95, 95, 95);
  qt_feed f = feed_of(&g_tb.b, 0, 0);
  f.inst.kind = QT_INST_PERP;
  qt_engine_opts o = qt_engine_opts_default();
  o.hedge_mode = 1;
  g_check_invariant = 0;
  ASSERT_TRUE(run1(&o, &f, 1, s_hedge) == QT_OK);
  EXPECT_NEAR(g_pl, 2, 1e-12);
  EXPECT_NEAR(g_ps, -1, 1e-12);
  EXPECT_NEAR(g_pn, 1, 1e-12);
  ASSERT_TRUE(g_res.n_trades == 2);
  /* short leg closed at bar 3's open 92: +8; long closed at the end at 95: -10 */
  EXPECT_EQ(g_res.trades[0].leg, QT_LEG_SHORT);
  EXPECT_EQ(g_res.trades[0].side, QT_SELL);
  EXPECT_EQ(g_res.trades[0].exit_reason, QT_EXIT_TAKE_PROFIT);
  EXPECT_NEAR(g_res.trades[0].pnl, 8, 1e-12);
  EXPECT_EQ(g_res.trades[1].leg, QT_LEG_LONG);
  EXPECT_NEAR(g_res.trades[1].pnl, -10, 1e-12);
  /* bar 2 equity: long -20, short +10 */
  EXPECT_NEAR(g_res.equity[2], 9990, 1e-9);
  EXPECT_NEAR(g_res.exposure[2], (2 * 90 + 1 * 90) / 9990.0, 1e-12);
  /* the same orders in one-way mode net out: long 1 */
  o.hedge_mode = 0;
  ASSERT_TRUE(run1(&o, &f, 1, s_hedge) == QT_OK);
  EXPECT_NEAR(g_pn, 1, 1e-12);
  EXPECT_NEAR(g_ps, 0, 1e-12);
}

/* funding: a long pays a positive rate at mark = the settlement bar's open */
static void s_buy1000(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 1000, QT_EXIT_SIGNAL);
}
static void s_sell1000(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) qt_ctx_market(cx, 0, QT_SELL, QT_LEG_NET, 1000, QT_EXIT_SIGNAL);
}

static void test_funding_hand(void) {
  tb_init(&g_tb, 4, 8 * 3600000LL);
  tb_set(&g_tb, 0, 1.0, 1.0, 1.0, 1.0);
  tb_set(&g_tb, 1, 1.0, 1.0, 1.0, 1.0);
  tb_set(&g_tb, 2, 1.2, 1.3, 1.1, 1.25);
  tb_set(&g_tb, 3, 1.1, 1.1, 1.1, 1.1);
  int64_t fts[3] = {g_tb.ts[1], g_tb.ts[2] - 5, g_tb.ts[2] + 17};
  double rate[3] = {0.001, 0.0005, -0.002}, ih[3] = {8, 8, 8};
  qt_funding fu;
  memset(&fu, 0, sizeof fu);
  fu.n = 3;
  fu.ts_ms = fts;
  fu.rate = rate;
  fu.interval_h = ih;
  qt_feed f = feed_of(&g_tb.b, 0, 0);
  f.inst.kind = QT_INST_PERP;
  f.funding = &fu;
  qt_engine_opts o = qt_engine_opts_default();
  ASSERT_TRUE(run1(&o, &f, 1, s_buy1000) == QT_OK);
  /* settlement 0 at bar 1 (before the entry fill): nothing paid;
   * settlement 1 at bar 2: -1000*1.2*0.0005 = -0.6;
   * settlement 2 at bar 3 (open >= ts+17): -1000*1.1*(-0.002) = +2.2 */
  ASSERT_TRUE(g_nfund == 3);
  EXPECT_NEAR(g_fund[0].payment, 0, 1e-15);
  EXPECT_NEAR(g_fund[1].payment, -0.6, 1e-12);
  EXPECT_NEAR(g_fund[1].mark, 1.2, 1e-15);
  EXPECT_EQ(g_fund[2].ts_ms, fts[2]);
  EXPECT_NEAR(g_fund[2].payment, 2.2, 1e-12);
  EXPECT_NEAR(g_res.funding_paid, 0.6 - 2.2, 1e-12);
  ASSERT_TRUE(g_res.n_trades == 1);
  EXPECT_NEAR(g_res.trades[0].funding, 1.6, 1e-12);
  EXPECT_NEAR(g_res.trades[0].pnl, 1000 * 0.1 + 1.6, 1e-9);
  EXPECT_NEAR(g_res.equity[2], 10000 + 1000 * 0.25 - 0.6, 1e-9);
  EXPECT_NEAR(g_res.final_equity, 10000 + 101.6, 1e-9);
  EXPECT_NEAR(g_res.fees_paid, 0, 1e-15);
  /* a short receives what the long paid */
  ASSERT_TRUE(run1(&o, &f, 1, s_sell1000) == QT_OK);
  EXPECT_NEAR(g_res.funding_paid, -(0.6 - 2.2), 1e-12);
  /* spot instruments never pay funding */
  f.inst.kind = QT_INST_SPOT;
  ASSERT_TRUE(run1(&o, &f, 1, s_buy1000) == QT_OK);
  EXPECT_NEAR(g_res.funding_paid, 0, 1e-15);
}

/* The real XRPUSDT funding history with the 8h mark candles. */
static size_t read_ohlc(const char *path, int64_t *ts, double *o, double *h, double *l, double *c,
                        size_t cap) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[512];
  size_t n = 0;
  if (!fgets(line, sizeof line, f)) {
    fclose(f);
    return 0;
  }
  while (n < cap && fgets(line, sizeof line, f)) {
    long long t;
    char date[64];
    double a, b, d, e;
    if (sscanf(line, "%lld,%63[^,],%lf,%lf,%lf,%lf", &t, date, &a, &b, &d, &e) != 6) break;
    ts[n] = t;
    o[n] = a;
    h[n] = b;
    l[n] = d;
    c[n] = e;
    n++;
  }
  fclose(f);
  return n;
}

static void test_funding_xrp_real(void) {
  static tbars mb;
  static int64_t fts[MAXB];
  static double frate[MAXB], fz[MAXB], ih[MAXB];
  char p1[512], p2[512];
  snprintf(p1, sizeof p1, "%s/freqtrade/XRP_USDT_USDT-8h-mark.csv", qt_test_fixtures());
  snprintf(p2, sizeof p2, "%s/freqtrade/XRP_USDT_USDT-8h-funding_rate.csv", qt_test_fixtures());
  tb_init(&mb, 0, 8 * 3600000LL);
  size_t nb = read_ohlc(p1, mb.ts, mb.o, mb.h, mb.l, mb.c, MAXB);
  size_t nf = read_ohlc(p2, fts, frate, fz, fz, fz, MAXB);
  ASSERT_TRUE(nb == 91 && nf == 91);
  mb.b.n = nb;
  EXPECT_EQ(mb.ts[0], 1637193600000LL);
  EXPECT_EQ(fts[0], 1637193600017LL);
  for (size_t k = 0; k < nf; k++) ih[k] = 8;
  qt_funding fu;
  memset(&fu, 0, sizeof fu);
  fu.n = nf;
  fu.ts_ms = fts;
  fu.rate = frate;
  fu.interval_h = ih;
  qt_feed f = feed_of(&mb.b, 0, 0);
  f.inst.kind = QT_INST_PERP;
  f.funding = &fu;
  qt_engine_opts o = qt_engine_opts_default();
  ASSERT_TRUE(run1(&o, &f, 1, s_buy1000) == QT_OK);
  /* Settlement k (stamped a few ms after bar k's open) is processed at bar
   * k+1 with mark = bar k+1's open.  The entry fills at bar 1's open, after
   * bar 1's funding, so settlements 1..89 are paid; settlement 90 has no
   * later bar.  Settlement 1 (2021-11-18 08:00:00.007, rate 0.0001) at bar 2
   * (open 1.0564): -1000 * 1.0564 * 0.0001 = -0.10564. */
  EXPECT_EQ(g_nfund, 90);
  EXPECT_EQ(g_fund[1].ts_ms, 1637222400007LL);
  EXPECT_NEAR(g_fund[1].mark, 1.0564, 1e-12);
  EXPECT_NEAR(g_fund[1].payment, -0.10564, 1e-12);
  double want = 0;
  int neg = 0, same = 0;
  for (size_t k = 0; k < nf; k++) {
    size_t j = 0; /* the first bar whose open time >= the settlement */
    while (j < nb && mb.ts[j] < fts[k]) j++;
    if (j >= nb || j < 2) continue; /* no bar / before the entry fill */
    same += mb.ts[j] == fts[k];
    want += -1000 * mb.o[j] * frate[k];
    neg += frate[k] < 0;
  }
  EXPECT_TRUE(same > 0); /* some stamps are exactly on a bar open: paid at that bar */
  EXPECT_TRUE(neg > 0); /* the series has negative rates: the long received some */
  EXPECT_NEAR(g_res.funding_paid, -want, 1e-9);
  ASSERT_TRUE(g_res.n_trades == 1);
  EXPECT_NEAR(g_res.trades[0].funding, want, 1e-9);
  EXPECT_NEAR(g_res.trades[0].pnl, 1000 * (mb.c[nb - 1] - mb.o[1]) + want, 1e-7);
}

/* leverage cap: orders over it are reduced to fit (or dropped) */
static void s_buy20(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 20, QT_EXIT_SIGNAL);
  if (b->i == 1) qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 5, QT_EXIT_SIGNAL);
}

static void test_leverage_cap(void) {
  tb_flat(&g_tb, 4, 100);
  qt_feed f = feed_of(&g_tb.b, 0, 5);
  f.inst.lot_size = 1;
  qt_engine_opts o = qt_engine_opts_default();
  o.cash = 1000;
  ASSERT_TRUE(run1(&o, &f, 1, s_buy20) == QT_OK);
  /* cap 1: q*100 <= 1000 - q*100*5bps -> q <= 9.995 -> 9 lots; then nothing fits
   * for the second order (room 0.99.. -> 0 lots): dropped */
  ASSERT_TRUE(g_nfills >= 1);
  EXPECT_NEAR(g_fills[0].qty, 9, 1e-12);
  EXPECT_EQ(g_res.n_rejected, 1);
  o.leverage_cap = 2;
  ASSERT_TRUE(run1(&o, &f, 1, s_buy20) == QT_OK);
  /* q <= 2*1000/(100*(1+2*5e-4)) = 19.98 -> 19; then 2*(1000-0.95)-1900 = 98.1
   * room /100.1 = 0.98 -> 0 */
  EXPECT_NEAR(g_fills[0].qty, 19, 1e-12);
  o.leverage_cap = 0; /* no cap */
  ASSERT_TRUE(run1(&o, &f, 1, s_buy20) == QT_OK);
  EXPECT_NEAR(g_fills[0].qty, 20, 1e-12);
  EXPECT_NEAR(g_fills[1].qty, 5, 1e-12);
}

/* Liquidation: equity - maintenance margin is linear in the price, so over a
 * bar it is lowest at the low (a long) or the high (a short); when that is
 * negative, the position closes where equity meets the maintenance margin:
 * for 90 long at 100, cash 1000, 5% maintenance, 1000 + 90 (p - 100) =
 * 0.05 x 90 p, p* = 8000 / 85.5 = 93.567..., or at the open if it gapped
 * through.  A short of 90 at 100: 1000 - 90 (p - 100) = 0.05 x 90 p,
 * p* = 10000 / 94.5 = 105.82... */
static void s_lev_long(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 90, QT_EXIT_SIGNAL);
}
static void s_lev_short(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) qt_ctx_market(cx, 0, QT_SELL, QT_LEG_NET, 90, QT_EXIT_SIGNAL);
}

static void liq_run(double o3, double h3, double l3, double c3, void (*fn)(const qt_bar *, qt_ctx *)) {
  tb_init(&g_tb, 6, 60000);
  tb_set(&g_tb, 0, 100, 100, 100, 100);
  tb_set(&g_tb, 1, 100, 100, 100, 100);
  tb_set(&g_tb, 2, 100, 100, 95, 95); /* long: equity 550 >= 90*95*5% = 427.5 at the low */
  tb_set(&g_tb, 3, o3, h3, l3, c3);
  tb_set(&g_tb, 4, 120, 120, 120, 120);
  tb_set(&g_tb, 5, 130, 130, 130, 130);
  qt_feed f = feed_of(&g_tb.b, 0, 0);
  f.inst.kind = QT_INST_PERP;
  f.inst.maint_margin = 0.05;
  qt_engine_opts o = qt_engine_opts_default();
  o.cash = 1000;
  o.leverage_cap = 10;
  ASSERT_TRUE(run1(&o, &f, 1, fn) == QT_OK);
}

static void test_liquidation(void) {
  const double pl = 8000 / 85.5, ps = 10000 / 94.5;
  /* the low reaches p*: liquidated there, the strategy hears nothing more */
  liq_run(95, 95, 93, 93, s_lev_long);
  EXPECT_EQ(g_res.liquidated, 1);
  ASSERT_TRUE(g_res.n_trades == 1);
  EXPECT_EQ(g_res.trades[0].exit_reason, QT_EXIT_LIQUIDATION);
  EXPECT_NEAR(g_res.trades[0].exit_price, pl, 1e-9);
  EXPECT_NEAR(g_res.trades[0].pnl, 90 * (pl - 100), 1e-9);
  EXPECT_EQ(g_nbars_seen, 3); /* the strategy is stopped from bar 3 on */
  EXPECT_NEAR(g_res.equity[3], 0.05 * 90 * pl, 1e-9); /* what is left is the maintenance margin */
  EXPECT_NEAR(g_res.final_equity, 1000 + 90 * (pl - 100), 1e-9);
  /* the same dip inside a bar that closes at 96: still liquidated (at the
   * close alone, equity 640 >= 432 would have hidden it) */
  liq_run(95, 96, 93, 96, s_lev_long);
  EXPECT_EQ(g_res.liquidated, 1);
  EXPECT_NEAR(g_res.trades[0].exit_price, pl, 1e-9);
  /* a low of 93.6 stays above p*: no liquidation */
  liq_run(95, 96, 93.6, 96, s_lev_long);
  EXPECT_EQ(g_res.liquidated, 0);
  EXPECT_EQ(g_res.trades[0].exit_reason, QT_EXIT_END_OF_DATA);
  /* gapped through: at the open */
  liq_run(92, 92, 91, 91.5, s_lev_long);
  EXPECT_EQ(g_res.liquidated, 1);
  EXPECT_NEAR(g_res.trades[0].exit_price, 92, 1e-12);
  EXPECT_NEAR(g_res.final_equity, 1000 - 720, 1e-9);
  /* a short: the high reaches p* = 105.82 */
  liq_run(101, 107, 100, 100, s_lev_short);
  EXPECT_EQ(g_res.liquidated, 1);
  ASSERT_TRUE(g_res.n_trades == 1);
  EXPECT_NEAR(g_res.trades[0].exit_price, ps, 1e-9);
  EXPECT_NEAR(g_res.trades[0].pnl, -90 * (ps - 100), 1e-9);
}

/* One feed: the legs between fills meet the bar's path (open, nearer
 * extreme, farther extreme, close), not the range with the legs after the
 * bar's fills. */
static void s_lev_long_tp(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 90, QT_EXIT_SIGNAL);
  if (b->i == 2) qt_ctx_limit(cx, 0, QT_SELL, QT_LEG_NET, 90, 99, 0, 0); /* take profit */
}
static void s_late_entry(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 2) qt_ctx_stop(cx, 0, QT_BUY, QT_LEG_NET, 90, 99, QT_EXIT_SIGNAL);
}

static void test_liquidation_on_the_path(void) {
  const double pl = 8000 / 85.5;
  /* 95 -> 93 -> 99.5 -> 99: the dip comes before the take profit at 99: liquidated at p* on
   * the way down, and the take profit never fills (counting the legs after
   * the bar's fills, flat, hid the liquidation) */
  liq_run(95, 99.5, 93, 99, s_lev_long_tp);
  EXPECT_EQ(g_res.liquidated, 1);
  ASSERT_TRUE(g_res.n_trades == 1);
  EXPECT_EQ(g_res.trades[0].exit_reason, QT_EXIT_LIQUIDATION);
  EXPECT_NEAR(g_res.trades[0].exit_price, pl, 1e-9);
  /* the high first (98 -> 99.5 -> 93 -> 94): the take profit closes the long
   * at 99 before the dip */
  liq_run(98, 99.5, 93, 94, s_lev_long_tp);
  EXPECT_EQ(g_res.liquidated, 0);
  ASSERT_TRUE(g_res.n_trades == 1);
  EXPECT_EQ(g_res.trades[0].exit_reason, QT_EXIT_TAKE_PROFIT);
  EXPECT_NEAR(g_res.trades[0].exit_price, 99, 1e-12);
  /* a long bought by a stop at 99 after a low of 88 (90 -> 88 -> 99.5 -> 99):
   * not held at the low, so not liquidated (the range check with the legs
   * after the fill liquidated it at (8910 - 1000) / 85.5 = 92.5) */
  liq_run(90, 99.5, 88, 99, s_late_entry);
  EXPECT_EQ(g_res.liquidated, 0);
  ASSERT_TRUE(g_res.n_trades == 1);
  EXPECT_EQ(g_res.trades[0].exit_reason, QT_EXIT_END_OF_DATA);
  EXPECT_NEAR(g_res.trades[0].entry_price, 99, 1e-12);
}

/* qt_ctx_quotes gives the rows with ts <= now, whether asked once a bar,
 * twice, or first from a later bar (the engine gallops from its last
 * answer): checked against a count on every bar. */
static int64_t g_qts[40];
static size_t g_qn, g_qbad;
static void s_quotes(const qt_bar *b, qt_ctx *cx) {
  size_t want = 0, n1 = 0, n2 = 0;
  while (want < g_qn && g_qts[want] <= b->ts_ms) want++;
  const qt_quotes *q = qt_ctx_quotes(cx, 0, &n1);
  qt_ctx_quotes(cx, 0, &n2);
  g_qbad += !q || n1 != want || n2 != want || q->n != want;
}

static void test_quotes_view(void) {
  tb_flat(&g_tb, 30, 100);
  qt_quotes qq;
  qt_err e;
  ASSERT_TRUE(qt_quotes_alloc(&qq, 40, &e) == QT_OK);
  /* bursts, gaps, several rows on one ms, rows after the last bar */
  int64_t t = 0;
  for (size_t i = 0; i < 40; i++) {
    t += i % 7 == 0 ? 0 : i % 5 == 0 ? 400000 : 13000;
    qq.ts_ms[i] = g_qts[i] = t;
    qq.bid[i] = 99.9;
    qq.ask[i] = 100.1;
  }
  g_qn = 40;
  qt_feed f = feed_of(&g_tb.b, 0, 0);
  f.quotes = &qq;
  qt_engine_opts o = qt_engine_opts_default();
  for (size_t from = 0; from < 30; from += 7) {
    g_qbad = 0;
    o.from = from;
    ASSERT_TRUE(run1(&o, &f, 1, s_quotes) == QT_OK);
    EXPECT_EQ(g_qbad, 0);
  }
  qt_quotes_fini(&qq);
}

/* lot and tick rounding */
static void s_round(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) {
    g_id[0] = qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 1.27, QT_EXIT_SIGNAL);
    g_id[1] = qt_ctx_limit(cx, 0, QT_BUY, QT_LEG_NET, 0.3, 99.74, 0, 1);  /* -> 99.5 */
    g_id[2] = qt_ctx_limit(cx, 0, QT_BUY, QT_LEG_NET, 0.3, 99.76, 0, 2);  /* -> 100.0 */
    g_id[3] = qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 0.05, QT_EXIT_SIGNAL); /* < 1 lot */
  }
}

static void test_lot_tick_rounding(void) {
  tb_init(&g_tb, 3, 60000);
  tb_set(&g_tb, 0, 101, 101, 101, 101);
  tb_set(&g_tb, 1, 101, 101, 99, 100);
  tb_set(&g_tb, 2, 100, 100, 100, 100);
  qt_feed f = feed_of(&g_tb.b, 0, 0);
  f.inst.lot_size = 0.1;
  f.inst.tick_size = 0.5;
  qt_engine_opts o = qt_engine_opts_default();
  ASSERT_TRUE(run1(&o, &f, 1, s_round) == QT_OK);
  EXPECT_EQ(g_id[3], QT_EINVAL);
  ASSERT_TRUE(g_nfills == 4);
  EXPECT_NEAR(g_fills[0].qty, 1.2, 1e-12);
  EXPECT_NEAR(g_fills[0].price, 101, 1e-12);
  /* path O(101) -> L(99) first (nearer) : 100.0 touched before 99.5 */
  EXPECT_EQ(g_fills[1].tag, 2);
  EXPECT_NEAR(g_fills[1].price, 100.0, 1e-12);
  EXPECT_NEAR(g_fills[1].qty, 0.3, 1e-12);
  EXPECT_EQ(g_fills[2].tag, 1);
  EXPECT_NEAR(g_fills[2].price, 99.5, 1e-12);
}

/* two instruments on one clock: feed 1 has a bar every 2 minutes */
static void s_two(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) qt_ctx_market(cx, 1, QT_BUY, QT_LEG_NET, 2, QT_EXIT_SIGNAL);
  if (b->i == 1) {
    size_t n;
    qt_ctx_bars(cx, 1, &n);
    g_id[5] = (int64_t)n;
    g_pl = qt_ctx_position(cx, 1, QT_LEG_NET);
  }
}

static void test_two_instruments(void) {
  tb_init(&g_tb, 6, 60000);
  for (int i = 0; i < 6; i++) tb_set(&g_tb, i, 10, 10, 10, 10);
  tb_init(&g_tb2, 3, 120000); /* ts 0, 120000, 240000 */
  tb_set(&g_tb2, 0, 50, 50, 50, 50);
  tb_set(&g_tb2, 1, 52, 53, 51, 53);
  tb_set(&g_tb2, 2, 55, 55, 55, 56);
  qt_feed f[2];
  f[0] = feed_of(&g_tb.b, 0, 0);
  f[1] = feed_of(&g_tb2.b, 0, 0);
  f[1].inst.venue = 1;
  qt_engine_opts o = qt_engine_opts_default();
  ASSERT_TRUE(run1(&o, f, 2, s_two) == QT_OK);
  /* at clock bar 1 (60000) feed 1 has no new bar: the order waits */
  EXPECT_EQ(g_id[5], 1);
  EXPECT_NEAR(g_pl, 0, 1e-12);
  ASSERT_TRUE(g_nfills >= 1);
  EXPECT_EQ(g_fills[0].inst, 1);
  EXPECT_EQ(g_fills[0].ts_ms, 120000);
  EXPECT_NEAR(g_fills[0].price, 52, 1e-12);
  /* marks: clock bars 2,3 use feed 1's bar 1 close 53; 4,5 its bar 2 close 56 */
  EXPECT_NEAR(g_res.equity[2], 10002, 1e-9);
  EXPECT_NEAR(g_res.equity[3], 10002, 1e-9);
  EXPECT_NEAR(g_res.equity[4], 10008, 1e-9);
  ASSERT_TRUE(g_res.n_trades == 1);
  EXPECT_EQ(g_res.trades[0].inst, 1);
  EXPECT_NEAR(g_res.trades[0].exit_price, 56, 1e-12);
}

/* invariants on a random walk with random orders: equity = cash + marked
 * legs every bar, fees >= 0, sum of trade P&L = final - start, reuse */
static qt_rng g_rng;
static void s_random(const qt_bar *b, qt_ctx *cx) {
  double u = qt_rng_uniform(&g_rng);
  double q = 1 + floor(qt_rng_uniform(&g_rng) * 5);
  int side = qt_rng_uniform(&g_rng) < 0.5 ? QT_BUY : QT_SELL;
  if (u < 0.2) qt_ctx_market(cx, 0, side, QT_LEG_NET, q, QT_EXIT_SIGNAL);
  else if (u < 0.4) qt_ctx_limit(cx, 0, side, QT_LEG_NET, q, b->close * (1 - side * 0.002), 0, 0);
  else if (u < 0.5) qt_ctx_stop(cx, 0, side, QT_LEG_NET, q, b->close * (1 + side * 0.003),
                                QT_EXIT_STOP_LOSS);
  else if (u < 0.55) qt_ctx_cancel_all(cx, 0);
  else if (u < 0.6) qt_ctx_close(cx, 0, QT_LEG_NET, QT_EXIT_SIGNAL);
}

static tbars g_rw;
static void mk_walk(uint64_t seed) {
  qt_rng r;
  qt_rng_seed(&r, seed);
  tb_init(&g_rw, MAXB, 60000);
  double p = 100;
  for (int i = 0; i < MAXB; i++) {
    double o = p;
    double c = o * (1 + 0.004 * qt_rng_normal(&r));
    double h = fmax(o, c) * (1 + 0.002 * qt_rng_uniform(&r));
    double l = fmin(o, c) * (1 - 0.002 * qt_rng_uniform(&r));
    tb_set(&g_rw, i, o, h, l, c);
    p = c;
  }
}

static void test_invariants_and_reuse(void) {
  mk_walk(7);
  int64_t fts[8];
  double rate[8], ih[8];
  for (int k = 0; k < 8; k++) {
    fts[k] = (int64_t)(k * 16 + 3) * 60000 + 5;
    rate[k] = (k % 3 == 0 ? -1 : 1) * 0.0001 * (k + 1);
    ih[k] = 8;
  }
  qt_funding fu = {0};
  fu.n = 8;
  fu.ts_ms = fts;
  fu.rate = rate;
  fu.interval_h = ih;
  qt_feed f = feed_of(&g_rw.b, 2, 5);
  f.inst.kind = QT_INST_PERP;
  f.funding = &fu;
  qt_engine_opts o = qt_engine_opts_default();
  o.slippage_bps = 3;
  o.leverage_cap = 3;
  g_check_invariant = 1;
  qt_rng_seed(&g_rng, 11);
  ASSERT_TRUE(run1(&o, &f, 1, s_random) == QT_OK);
  g_check_invariant = 0;
  EXPECT_EQ(g_invariant_bad, 0);
  EXPECT_TRUE(g_res.n_trades > 10);
  EXPECT_TRUE(g_res.fees_paid > 0);
  double sum = 0, fsum = 0, fund = 0;
  for (size_t k = 0; k < g_res.n_trades; k++) {
    EXPECT_TRUE(g_res.trades[k].fees >= 0);
    sum += g_res.trades[k].pnl;
    fsum += g_res.trades[k].fees;
    fund += g_res.trades[k].funding;
  }
  for (int k = 0; k < g_nfills; k++) EXPECT_TRUE(g_fills[k].fee >= 0);
  EXPECT_NEAR(sum, g_res.final_equity - g_res.start_cash, 1e-7);
  EXPECT_NEAR(fsum, g_res.fees_paid, 1e-9);
  EXPECT_NEAR(fund, -g_res.funding_paid, 1e-9);
  EXPECT_TRUE(g_res.funding_paid != 0);
  /* reuse: a second run (after a different one) is identical */
  static double eq1[MAXB];
  static qt_trade_rec tr1[4096];
  size_t nt = g_res.n_trades < 4096 ? g_res.n_trades : 4096;
  memcpy(eq1, g_res.equity, MAXB * sizeof(double));
  memcpy(tr1, g_res.trades, nt * sizeof tr1[0]);
  ASSERT_TRUE(run1(&o, &f, 1, s_buy10_bar0) == QT_OK);
  qt_rng_seed(&g_rng, 11);
  ASSERT_TRUE(run1(&o, &f, 1, s_random) == QT_OK);
  EXPECT_EQ(g_res.n_trades, nt);
  EXPECT_TRUE(memcmp(eq1, g_res.equity, MAXB * sizeof(double)) == 0);
  EXPECT_TRUE(memcmp(tr1, g_res.trades, nt * sizeof tr1[0]) == 0);
  /* hedge mode under the same random orders keeps the accounting identity */
  o.hedge_mode = 1;
  qt_rng_seed(&g_rng, 12);
  ASSERT_TRUE(run1(&o, &f, 1, s_random) == QT_OK);
  sum = 0;
  for (size_t k = 0; k < g_res.n_trades; k++) sum += g_res.trades[k].pnl;
  EXPECT_NEAR(sum, g_res.final_equity - g_res.start_cash, 1e-7);
}

/* from/to: a sub-range is simulated, history before it stays visible */
static void s_hist(const qt_bar *b, qt_ctx *cx) {
  size_t n;
  qt_ctx_bars(cx, 0, &n);
  if (n != b->i + 1) g_invariant_bad++;
  if (b->i == 10) qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 1, QT_EXIT_SIGNAL);
}

static void test_range(void) {
  mk_walk(3);
  qt_feed f = feed_of(&g_rw.b, 0, 0);
  qt_engine_opts o = qt_engine_opts_default();
  o.from = 10;
  o.to = 20;
  ASSERT_TRUE(run1(&o, &f, 1, s_hist) == QT_OK);
  EXPECT_EQ(g_invariant_bad, 0);
  EXPECT_EQ(g_res.n_bars, 10);
  EXPECT_EQ(g_res.ts_ms[0], 600000);
  EXPECT_EQ(g_nbars_seen, 10);
  ASSERT_TRUE(g_res.n_trades == 1);
  EXPECT_NEAR(g_res.trades[0].pnl, g_rw.c[19] - g_rw.o[11], 1e-9);
  o.from = 20;
  o.to = 20;
  qt_err err;
  qt_engine_set_opts(g_eng, &o);
  EXPECT_EQ(qt_engine_run(g_eng, &f, 1, &k_script, NULL, &g_res, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "bar range");
}

/* fills on trades: a limit fills when a trade crosses it, a market order
 * takes the next trade */
static void s_trades(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) {
    qt_ctx_limit(cx, 0, QT_BUY, QT_LEG_NET, 1, 99.5, 0, 1);
    qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 1, QT_EXIT_SIGNAL);
  }
}

static void test_fill_on_trades(void) {
  tb_init(&g_tb, 3, 60000);
  tb_set(&g_tb, 0, 100, 100, 100, 100);
  tb_set(&g_tb, 1, 100, 101, 99, 100);
  tb_set(&g_tb, 2, 100, 100, 100, 100);
  int64_t tts[6] = {1000, 61000, 62000, 63000, 64000, 125000};
  double tpx[6] = {100, 100.3, 99.5, 99.4, 100, 100};
  double tq[6] = {1, 1, 1, 1, 1, 1};
  int64_t tid[6] = {1, 2, 3, 4, 5, 6};
  uint8_t bm[6] = {0};
  qt_trades tr = {0};
  tr.n = 6;
  tr.ts_ms = tts;
  tr.id = tid;
  tr.price = tpx;
  tr.qty = tq;
  tr.buyer_is_maker = bm;
  qt_feed f = feed_of(&g_tb.b, 0, 0);
  f.trades = &tr;
  qt_engine_opts o = qt_engine_opts_default();
  o.fill_on_trades = 1;
  ASSERT_TRUE(run1(&o, &f, 1, s_trades) == QT_OK);
  ASSERT_TRUE(g_nfills >= 2);
  /* market takes the first trade of bar 1 (100.3); the limit needs a trade
   * strictly under 99.5: 99.4 at 63000 */
  EXPECT_NEAR(g_fills[0].price, 100.3, 1e-12);
  EXPECT_EQ(g_fills[0].ts_ms, 61000);
  EXPECT_NEAR(g_fills[1].price, 99.5, 1e-12);
  EXPECT_EQ(g_fills[1].ts_ms, 63000);
  EXPECT_EQ(g_fills[1].maker, 1);
}

/* bad inputs name what is wrong */
static void test_bad_inputs(void) {
  mk_up4();
  qt_feed f = feed_of(&g_tb.b, -1, 5);
  qt_engine_opts o = qt_engine_opts_default();
  qt_err err;
  qt_engine_set_opts(g_eng, &o);
  EXPECT_EQ(qt_engine_run(g_eng, &f, 1, &k_script, NULL, &g_res, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "fees must be >= 0");
  EXPECT_EQ(qt_engine_run(g_eng, &f, 0, &k_script, NULL, &g_res, &err), QT_EINVAL);
  qt_strategy_vtbl bad = k_script;
  bad.abi = 99;
  f = feed_of(&g_tb.b, 0, 0);
  EXPECT_EQ(qt_engine_run(g_eng, &f, 1, &bad, NULL, &g_res, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "abi");
}

/* indicator cache: same column pointer on the second request and run */
static const double *g_col[3];
static int g_ind_calls;
static int ind_init(void *st, const double *p, qt_ctx *cx, qt_err *err) {
  g_col[g_ind_calls % 3] = qt_ctx_indicator(cx, 0, QT_IND_SMA, 3, 0, 0, 0, err);
  g_ind_calls++;
  return g_col[(g_ind_calls - 1) % 3] ? QT_OK : err->code;
}
static void ind_bar(void *st, const qt_bar *b, qt_ctx *cx) {
  qt_err e;
  if (b->i == 5 && qt_ctx_indicator(cx, 0, QT_IND_SMA, 4, 0, 0, 0, &e) == NULL &&
      e.code == QT_ESTATE)
    g_id[6] = 1;
}

static void test_indicator_cache(void) {
  mk_walk(5);
  qt_strategy_vtbl s = k_script;
  s.init = ind_init;
  s.on_bar = ind_bar;
  qt_feed f = feed_of(&g_rw.b, 0, 0);
  qt_err err;
  qt_engine_opts o = qt_engine_opts_default();
  qt_engine_set_opts(g_eng, &o);
  g_ind_calls = 0;
  g_id[6] = 0;
  ASSERT_TRUE(qt_engine_run(g_eng, &f, 1, &s, NULL, &g_res, &err) == QT_OK);
  ASSERT_TRUE(qt_engine_run(g_eng, &f, 1, &s, NULL, &g_res, &err) == QT_OK);
  ASSERT_TRUE(g_col[0] && g_col[0] == g_col[1]);
  EXPECT_TRUE(isnan(g_col[0][1]));
  EXPECT_NEAR(g_col[0][2], (g_rw.c[0] + g_rw.c[1] + g_rw.c[2]) / 3, 1e-12);
  EXPECT_EQ(g_id[6], 1); /* refused outside init */
}

/* ENOMEM: fail each allocation of a fresh engine's first run in turn */
static void test_enomem(void) {
  mk_walk(9);
  qt_feed f = feed_of(&g_rw.b, 0, 5);
  qt_engine_opts o = qt_engine_opts_default();
  o.max_trades = 1; /* so the trade list must grow inside the run */
  qt_strategy_vtbl s = k_script;
  s.init = ind_init;
  int ok = 0, oom = 0;
  for (long n = 1; n < 40 && !ok; n++) {
    qt_engine *e = NULL;
    qt_err err;
    qt_alloc_fail_at(n, 0);
    int rc = qt_engine_new(&o, &e, &err);
    if (rc != QT_OK) EXPECT_TRUE(e == NULL); /* out-param reset on failure */
    if (rc == QT_OK) {
      qt_rng_seed(&g_rng, 1);
      g_script = s_random;
      rc = qt_engine_run(e, &f, 1, &s, NULL, &g_res, &err);
    }
    qt_alloc_fail_at(0, 0);
    if (rc == QT_ENOMEM) {
      oom++;
      EXPECT_TRUE(err.msg[0] != 0);
    } else {
      EXPECT_EQ(rc, QT_OK);
      ok = 1;
    }
    qt_engine_free(e);
  }
  EXPECT_TRUE(ok);
  EXPECT_TRUE(oom >= 6); /* engine, equity, exposure, touch, orders, trades, state, indicator, growth */
}


/* all-in sizing: the taker fee included, so the whole quantity fills under
 * a cap of 1 when the fill price is the sizing price */
static double g_q, g_gross, g_margin;
static void s_allin(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) {
    g_q = qt_ctx_qty_for_equity(cx, 0, 1.0, b->close);
    qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, g_q, QT_EXIT_SIGNAL);
    g_id[0] = qt_ctx_close(cx, 0, QT_LEG_SHORT, QT_EXIT_SIGNAL); /* flat: nothing */
  }
  if (b->i == 2) {
    g_gross = qt_ctx_gross_notional(cx);
    g_margin = qt_ctx_margin_used(cx);
    /* one-way: closing the SHORT leg of a long net does nothing */
    g_id[1] = qt_ctx_close(cx, 0, QT_LEG_SHORT, QT_EXIT_SIGNAL);
    g_id[2] = qt_ctx_close(cx, 0, QT_LEG_LONG, QT_EXIT_TAKE_PROFIT);
  }
}

static void test_all_in_sizing(void) {
  tb_flat(&g_tb, 4, 100);
  g_tb.c[2] = 110;
  qt_feed f = feed_of(&g_tb.b, 0, 10);
  f.inst.lot_size = 0.001;
  qt_engine_opts o = qt_engine_opts_default();
  o.leverage_cap = 2;
  ASSERT_TRUE(run1(&o, &f, 1, s_allin) == QT_OK);
  /* 10000 / (100 * 1.001) = 99.9000999 -> 99.900 lots of 0.001 */
  EXPECT_NEAR(g_q, 99.9, 1e-9);
  ASSERT_TRUE(g_nfills >= 1);
  EXPECT_NEAR(g_fills[0].qty, 99.9, 1e-9);
  EXPECT_EQ(g_res.n_rejected, 0);
  EXPECT_EQ(g_id[0], 0);
  EXPECT_EQ(g_id[1], 0);
  EXPECT_TRUE(g_id[2] > 0);
  EXPECT_NEAR(g_gross, 99.9 * 110, 1e-9);
  EXPECT_NEAR(g_margin, 99.9 * 110 / 2, 1e-9);
  ASSERT_TRUE(g_res.n_trades == 1);
  EXPECT_EQ(g_res.trades[0].exit_reason, QT_EXIT_TAKE_PROFIT);
  EXPECT_NEAR(g_res.equity[0], 10000, 1e-9);
  /* all in with the fee paid: equity after the entry fee still covers the notional */
  EXPECT_TRUE(g_res.equity[1] >= 99.9 * 100 - 1e-9);
}


/* the short side: a stop buy (slipped up) covers a short; a post-only
 * replace that would take cancels the order */
static void s_short_stop(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) {
    qt_ctx_market(cx, 0, QT_SELL, QT_LEG_NET, 10, QT_EXIT_SIGNAL);
    g_id[0] = qt_ctx_limit(cx, 0, QT_SELL, QT_LEG_NET, 1, 120, QT_ORDER_POST_ONLY, 7);
  }
  if (b->i == 1) {
    g_id[1] = qt_ctx_stop(cx, 0, QT_BUY, QT_LEG_NET, 10, 105, QT_EXIT_STOP_LOSS);
    g_id[2] = qt_ctx_replace(cx, g_id[0], 99, 1); /* below the close 100: would take */
    g_id[3] = qt_ctx_cancel(cx, g_id[0]);
  }
}

static void test_short_stop_buy(void) {
  tb_init(&g_tb, 4, 60000);
  tb_set(&g_tb, 0, 100, 100, 100, 100);
  tb_set(&g_tb, 1, 100, 101, 99, 100);
  tb_set(&g_tb, 2, 101, 106, 100, 104); /* high 106 >= 105: the stop triggers */
  tb_set(&g_tb, 3, 104, 104, 104, 104);
  qt_feed f = feed_of(&g_tb.b, 0, 0);
  qt_engine_opts o = qt_engine_opts_default();
  o.slippage_bps = 10;
  ASSERT_TRUE(run1(&o, &f, 1, s_short_stop) == QT_OK);
  EXPECT_TRUE(g_id[0] > 0);
  EXPECT_EQ(g_id[2], QT_EINVAL);
  EXPECT_EQ(g_id[3], QT_ENOTFOUND); /* already cancelled by the replace */
  ASSERT_TRUE(g_nfills == 2);
  EXPECT_NEAR(g_fills[0].price, 99.9, 1e-12);       /* sell slipped down */
  EXPECT_NEAR(g_fills[1].price, 105 * 1.001, 1e-12); /* stop buy slipped up */
  ASSERT_TRUE(g_res.n_trades == 1);
  EXPECT_EQ(g_res.trades[0].side, QT_SELL);
  EXPECT_EQ(g_res.trades[0].exit_reason, QT_EXIT_STOP_LOSS);
  EXPECT_NEAR(g_res.trades[0].pnl, 10 * (99.9 - 105.105), 1e-9);
}

/* hedge mode: a NET order reduces the opposite leg first, then opens its own */
static double g_l2, g_s2;
static void s_hedge_net(const qt_bar *b, qt_ctx *cx) {
  if (b->i == 0) qt_ctx_market(cx, 0, QT_BUY, QT_LEG_LONG, 2, QT_EXIT_SIGNAL);
  if (b->i == 1) qt_ctx_market(cx, 0, QT_SELL, QT_LEG_NET, 3, QT_EXIT_SIGNAL);
  if (b->i == 2) {
    g_l2 = qt_ctx_position(cx, 0, QT_LEG_LONG);
    g_s2 = qt_ctx_position(cx, 0, QT_LEG_SHORT);
    qt_ctx_market(cx, 0, QT_SELL, QT_LEG_LONG, 5, QT_EXIT_SIGNAL); /* long is flat: nothing */
  }
}

static void test_hedge_net_routing(void) {
  tb_init(&g_tb, 5, 60000);
  for (int i = 0; i < 5; i++) tb_set(&g_tb, i, 100 + i, 100 + i, 100 + i, 100 + i);
  qt_feed f = feed_of(&g_tb.b, 0, 0);
  qt_engine_opts o = qt_engine_opts_default();
  o.hedge_mode = 1;
  ASSERT_TRUE(run1(&o, &f, 1, s_hedge_net) == QT_OK);
  EXPECT_NEAR(g_l2, 0, 1e-12);
  EXPECT_NEAR(g_s2, -1, 1e-12);
  EXPECT_EQ(g_res.n_rejected, 1); /* a LONG-leg sell never opens a short */
  ASSERT_TRUE(g_res.n_trades == 2);
  /* long 2 from 101 closed at 102; short 1 from 102 closed at the end at 104 */
  EXPECT_EQ(g_res.trades[0].leg, QT_LEG_LONG);
  EXPECT_NEAR(g_res.trades[0].pnl, 2, 1e-12);
  EXPECT_EQ(g_res.trades[1].leg, QT_LEG_SHORT);
  EXPECT_NEAR(g_res.trades[1].pnl, -2, 1e-12);
}

static void test_cleanup(void) {
  qt_engine_free(g_eng);
  g_eng = NULL;
  qt_engine_free(NULL);
}

QT_TESTS(T(test_market_next_open), T(test_trade_on_close), T(test_close_at_end_off),
         T(test_limit_touch_gap_postonly), T(test_stop_slippage), T(test_intrabar_order),
         T(test_reduce_only_partial), T(test_cancel_replace), T(test_band_skip), T(test_order_expiry),
         T(test_signal_expiry), T(test_hedge_mode), T(test_funding_hand),
         T(test_funding_xrp_real), T(test_leverage_cap), T(test_liquidation), T(test_liquidation_on_the_path), T(test_quotes_view),
         T(test_lot_tick_rounding), T(test_two_instruments), T(test_invariants_and_reuse),
         T(test_range), T(test_fill_on_trades), T(test_bad_inputs), T(test_indicator_cache),
         T(test_enomem), T(test_all_in_sizing),
         T(test_short_stop_buy), T(test_hedge_net_routing), T(test_cleanup))
