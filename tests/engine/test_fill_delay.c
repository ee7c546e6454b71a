/* Order latency (qt_engine_opts.fill_delay_bars) on hand-made bars: an
 * order reaches the book that many bars late; every expected fill is worked
 * out by hand in the comments.  Delay 0 is the engine without latency (the
 * golden hashes in tests/strategies/test_golden.c hold it bit for bit). */
#include "qt_test.h"
#include "qtune/engine.h"

#include <stdio.h>

#define NB 4
static int64_t g_ts[NB];
static double g_o[NB], g_h[NB], g_l[NB], g_c[NB], g_v[NB];
static qt_bars g_b;

static void bars(const double ohlc[NB][4]) {
  for (int i = 0; i < NB; i++) {
    g_ts[i] = (int64_t)i * 60000;
    g_o[i] = ohlc[i][0], g_h[i] = ohlc[i][1], g_l[i] = ohlc[i][2], g_c[i] = ohlc[i][3];
  }
  memset(&g_b, 0, sizeof g_b);
  g_b.n = NB;
  g_b.interval_ms = 60000;
  g_b.ts_ms = g_ts, g_b.open = g_o, g_b.high = g_h, g_b.low = g_l, g_b.close = g_c;
  g_b.volume = g_v;
}

static int g_limit; /* 1: a limit buy at 100.5 instead of a market buy */
static qt_fill g_fills[8];
static int g_nf;

static int s_init(void *st, const double *p, qt_ctx *cx, qt_err *err) {
  g_nf = 0;
  return QT_OK;
}
static void s_on_bar(void *st, const qt_bar *b, qt_ctx *cx) {
  if (b->i != 0) return;
  if (g_limit) qt_ctx_limit(cx, 0, QT_BUY, QT_LEG_NET, 10, 100.5, 0, 0);
  else qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 10, QT_EXIT_SIGNAL);
}
static void s_on_fill(void *st, const qt_fill *f, qt_ctx *cx) {
  if (g_nf < 8) g_fills[g_nf++] = *f;
}
static const qt_strategy_vtbl k_s = {.abi = QT_STRATEGY_ABI, .name = "delay", .summary = "test",
                                     .state_size = 8, .n_instruments = 1, .init = s_init,
                                     .on_bar = s_on_bar, .on_fill = s_on_fill};

/* Runs with the delay; the first fill's price and time (0, -1 when none). */
static int run(size_t delay, int toc, double *px, int64_t *ts) {
  qt_feed f;
  memset(&f, 0, sizeof f);
  f.inst = qt_instrument_default("T");
  f.inst.maker_bps = f.inst.taker_bps = 0;
  f.bars = &g_b;
  qt_engine_opts o = qt_engine_opts_default();
  o.fill_delay_bars = delay;
  o.trade_on_close = toc;
  o.close_at_end = 0; /* only the strategy's own fill */
  qt_engine *e = NULL;
  qt_err err = {0};
  qt_result res;
  int r = qt_engine_new(&o, &e, &err);
  if (!r) r = qt_engine_run(e, &f, 1, &k_s, NULL, &res, &err);
  if (r) fprintf(stderr, "run: %s\n", err.msg);
  qt_engine_free(e);
  *px = g_nf ? g_fills[0].price : 0;
  *ts = g_nf ? g_fills[0].ts_ms : -1;
  return r;
}

/* Rising bars: opens 102, 104, 106 after bar 0 (close 100). */
static const double k_up[NB][4] = {
    {100, 101, 99, 100}, {102, 103, 101, 102}, {104, 105, 103, 104}, {106, 107, 105, 106}};

static void market_late(void) {
  bars(k_up);
  g_limit = 0;
  double px;
  int64_t ts;
  /* delay 0: bar 1's open 102; 1: bar 2's open 104; 2: bar 3's open 106 */
  EXPECT_EQ(run(0, 0, &px, &ts), 0);
  EXPECT_DBL_EQ(px, 102.0);
  EXPECT_EQ(ts, 60000);
  EXPECT_EQ(run(1, 0, &px, &ts), 0);
  EXPECT_DBL_EQ(px, 104.0);
  EXPECT_EQ(ts, 120000);
  EXPECT_EQ(run(2, 0, &px, &ts), 0);
  EXPECT_DBL_EQ(px, 106.0);
  EXPECT_EQ(ts, 180000);
  /* delay 3: it would reach the book after the last bar: no fill */
  EXPECT_EQ(run(3, 0, &px, &ts), 0);
  EXPECT_EQ(g_nf, 0);
}

static void trade_on_close_late(void) {
  bars(k_up);
  g_limit = 0;
  double px;
  int64_t ts;
  /* trade_on_close: delay 0 fills at bar 0's close 100, delay 1 at bar 1's close 102 */
  EXPECT_EQ(run(0, 1, &px, &ts), 0);
  EXPECT_DBL_EQ(px, 100.0);
  EXPECT_EQ(run(1, 1, &px, &ts), 0);
  EXPECT_DBL_EQ(px, 102.0);
  EXPECT_EQ(ts, 60000);
}

static void limit_late(void) {
  /* bars 1 and 2 open at 101 and trade down to 99: a buy limit at 100.5
   * fills at 100.5 on the first bar it rests on */
  static const double k_dip[NB][4] = {
      {100, 101, 99, 100}, {101, 101, 99, 100}, {101, 101, 99, 100}, {103, 104, 102, 103}};
  bars(k_dip);
  g_limit = 1;
  double px;
  int64_t ts;
  EXPECT_EQ(run(0, 0, &px, &ts), 0);
  EXPECT_DBL_EQ(px, 100.5);
  EXPECT_EQ(ts, 60000);
  EXPECT_EQ(run(1, 0, &px, &ts), 0);
  EXPECT_DBL_EQ(px, 100.5);
  EXPECT_EQ(ts, 120000);
  /* delay 2: bar 3 (low 102) does not reach it */
  EXPECT_EQ(run(2, 0, &px, &ts), 0);
  EXPECT_EQ(g_nf, 0);
  g_limit = 0;
}

static void option_text(void) {
  qt_engine_opts o = qt_engine_opts_default();
  qt_err e = {0};
  EXPECT_EQ((long long)o.fill_delay_bars, 0);
  EXPECT_EQ(qt_engine_opts_set(&o, "--fill-delay-bars", "2", &e), 0);
  EXPECT_EQ((long long)o.fill_delay_bars, 2);
  EXPECT_EQ(qt_engine_opts_set(&o, "--fill-delay-bars", "1.5", &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "--fill-delay-bars: want a whole number of bars");
  EXPECT_EQ(qt_engine_opts_set(&o, "--fill-delay-bars", "-1", &e), QT_EINVAL);
  EXPECT_EQ(qt_engine_opts_set(&o, "fill-delay-bars", "x", &e), QT_EINVAL);
  EXPECT_EQ((long long)o.fill_delay_bars, 2); /* unchanged by the refusals */
}

QT_TESTS(T(market_late), T(trade_on_close_late), T(limit_late), T(option_text))
