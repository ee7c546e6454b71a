/* The bar's order-flow fields (quote_volume, trade_count, taker_buy_base,
 * taker_buy_quote) reach on_bar only for a strategy with QT_WANTS_FLOW;
 * without it they are 0, as for data without them, while open to volume
 * are always filled and every column stays readable through qt_ctx_bars.
 * The built-ins that read them declare it. */
#include "qt_test.h"
#include "qtune/engine.h"
#include "qtune/strategies.h"

#include <string.h>

#define NB 50
static int64_t g_ts[NB];
static double g_o[NB], g_h[NB], g_l[NB], g_c[NB], g_v[NB], g_qv[NB], g_tc[NB], g_tb[NB], g_tq[NB];

typedef struct seen {
  size_t n, flow_nonzero, flow_right, ohlcv_right, series_right;
} seen;
static seen g_seen;

static int s_init(void *st, const double *p, qt_ctx *cx, qt_err *err) { return QT_OK; }

static void s_on_bar(void *st, const qt_bar *b, qt_ctx *cx) {
  size_t i = b->i, n = 0;
  g_seen.n++;
  g_seen.flow_nonzero += b->quote_volume != 0 || b->trade_count != 0 || b->taker_buy_base != 0 ||
                         b->taker_buy_quote != 0;
  g_seen.flow_right += b->quote_volume == g_qv[i] && b->trade_count == g_tc[i] &&
                       b->taker_buy_base == g_tb[i] && b->taker_buy_quote == g_tq[i];
  g_seen.ohlcv_right += b->open == g_o[i] && b->high == g_h[i] && b->low == g_l[i] &&
                        b->close == g_c[i] && b->volume == g_v[i];
  const qt_bars *h = qt_ctx_bars(cx, 0, &n);
  g_seen.series_right += h && n == i + 1 && h->taker_buy_base[i] == g_tb[i] &&
                         h->quote_volume[i] == g_qv[i];
}

static void run(unsigned needs) {
  for (size_t i = 0; i < NB; i++) {
    g_ts[i] = (int64_t)i * 60000;
    g_o[i] = 100 + i, g_c[i] = 100.5 + i, g_h[i] = 101 + i, g_l[i] = 99 + i, g_v[i] = 10 + i;
    g_qv[i] = 1000 + i, g_tc[i] = 7 + i, g_tb[i] = 4 + i, g_tq[i] = 400 + i;
  }
  qt_bars b = {.n = NB, .interval_ms = 60000, .ts_ms = g_ts, .open = g_o, .high = g_h,
               .low = g_l, .close = g_c, .volume = g_v, .quote_volume = g_qv,
               .trade_count = g_tc, .taker_buy_base = g_tb, .taker_buy_quote = g_tq};
  qt_feed f;
  memset(&f, 0, sizeof f);
  f.inst = qt_instrument_default("F");
  f.bars = &b;
  qt_strategy_vtbl s = {.abi = QT_STRATEGY_ABI, .name = "flow", .summary = "test",
                        .state_size = 8, .needs = needs, .n_instruments = 1, .init = s_init,
                        .on_bar = s_on_bar};
  qt_engine_opts o = qt_engine_opts_default();
  qt_engine *e = NULL;
  qt_err err;
  qt_result r;
  memset(&g_seen, 0, sizeof g_seen);
  ASSERT_TRUE(qt_engine_new(&o, &e, &err) == QT_OK);
  EXPECT_EQ(qt_engine_run(e, &f, 1, &s, NULL, &r, &err), QT_OK);
  qt_engine_free(e);
  EXPECT_EQ(g_seen.n, NB);
  EXPECT_EQ(g_seen.ohlcv_right, NB);
  EXPECT_EQ(g_seen.series_right, NB);
}

static void flow_only_when_wanted(void) {
  run(QT_WANTS_FLOW);
  EXPECT_EQ(g_seen.flow_right, NB);
  run(0);
  EXPECT_EQ(g_seen.flow_nonzero, 0);
  run(QT_WANTS_QUOTES); /* another want is not this one */
  EXPECT_EQ(g_seen.flow_nonzero, 0);
}

static void builtins_that_read_flow_want_it(void) {
  EXPECT_TRUE(qt_strategy_find("auction_market")->needs & QT_WANTS_FLOW);
  EXPECT_TRUE(qt_strategy_find("market_maker")->needs & QT_WANTS_FLOW);
  EXPECT_EQ(qt_strategy_find("sma_cross")->needs & QT_WANTS_FLOW, 0);
}

QT_TESTS(T(flow_only_when_wanted), T(builtins_that_read_flow_want_it))
