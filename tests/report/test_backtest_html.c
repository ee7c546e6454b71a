/* The backtest report: Largest-Triangle-Three-Buckets and the OHLC merge on
 * series worked out by hand, the page of a 5-bar run made by hand (drawdown,
 * candles, breakdowns, the capped trade table, the strategy's indicator
 * lines), a run the bars do not cover, and the out-of-memory paths. */
#include "qt_test.h"
#include "qtune/indicators.h"
#include "qtune/report.h"
#include "qtune/strategy.h"
#include "report/report_int.h"

/* x = 0..6, y = 0 0 10 0 0 -8 0, m = 4: every = (7-2)/(4-2) = 2.5.
 * Bucket 0 = points 1, 2; the next bucket (3, 4, 5) averages (4, -8/3).
 *   twice the area with a = (0, 0): j=1 |(0-4)(0) - (0-1)(-8/3)| = 8/3,
 *   j=2 |(0-4)(10) - (0-2)(-8/3)| = 40 + 16/3: picks 2.
 * Bucket 1 = points 3, 4, 5; the next is the last point (6, 0); a = (2, 10):
 *   j=3 |(2-6)(0-10) - (2-3)(0-10)| = |40 - 10| = 30,
 *   j=4 |(-4)(-10) - (-2)(-10)| = 20, j=5 |(-4)(-18) - (-3)(-10)| = 42: picks 5.
 * So 0, 2, 5, 6. */
static void test_lttb_by_hand(void) {
  double x[7] = {0, 1, 2, 3, 4, 5, 6}, y[7] = {0, 0, 10, 0, 0, -8, 0};
  size_t out[7];
  EXPECT_EQ(qt__report_lttb(x, y, 7, 4, out), 4);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[1], 2);
  EXPECT_EQ(out[2], 5);
  EXPECT_EQ(out[3], 6);
  /* m 0 or m >= n: every point */
  EXPECT_EQ(qt__report_lttb(x, y, 7, 0, out), 7);
  EXPECT_EQ(qt__report_lttb(x, y, 7, 7, out), 7);
  EXPECT_EQ(out[6], 6);
  /* m below 3 still keeps the first, one inner point and the last */
  EXPECT_EQ(qt__report_lttb(x, y, 7, 1, out), 3);
  EXPECT_EQ(out[1], 2); /* the spike: the largest triangle with (0,0) and (6,0)... */
}

/* A flat line with one spike keeps the spike, and the indices ascend. */
static void test_lttb_keeps_spike(void) {
  enum { N = 10000 };
  static double x[N], y[N];
  static size_t out[N];
  for (int i = 0; i < N; i++) x[i] = i, y[i] = 0;
  y[5003] = -100;
  size_t k = qt__report_lttb(x, y, N, 100, out), spike = 0;
  EXPECT_EQ(k, 100);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[k - 1], N - 1);
  for (size_t j = 0; j < k; j++) {
    if (j) EXPECT_TRUE(out[j] > out[j - 1]);
    if (out[j] == 5003) spike = 1;
  }
  EXPECT_EQ(spike, 1);
}

/* 5 bars by 2: candles of bars 0-1, 2-3 and 4. */
static void test_ohlc_merge(void) {
  int64_t ts[5] = {0, 60, 120, 180, 240};
  double o[5] = {1, 2, 3, 4, 5}, h[5] = {2, 6, 4, 5, 9}, l[5] = {0.5, 1, 2, 0.1, 4},
         c[5] = {1.5, 2.5, 3.5, 4.5, 5.5};
  qt__report_candle cd[5];
  EXPECT_EQ(qt__report_ohlc_merge(ts, o, h, l, c, 5, 2, cd), 3);
  EXPECT_EQ(cd[0].ts_ms, 0);
  EXPECT_DBL_EQ(cd[0].open, 1);
  EXPECT_DBL_EQ(cd[0].high, 6);
  EXPECT_DBL_EQ(cd[0].low, 0.5);
  EXPECT_DBL_EQ(cd[0].close, 2.5);
  EXPECT_EQ(cd[1].ts_ms, 120);
  EXPECT_DBL_EQ(cd[1].open, 3);
  EXPECT_DBL_EQ(cd[1].high, 5);
  EXPECT_DBL_EQ(cd[1].low, 0.1);
  EXPECT_DBL_EQ(cd[1].close, 4.5);
  EXPECT_EQ(cd[2].ts_ms, 240);
  EXPECT_DBL_EQ(cd[2].high, 9);
  EXPECT_DBL_EQ(cd[2].close, 5.5);
  EXPECT_EQ(qt__report_ohlc_merge(ts, o, h, l, c, 5, 1, cd), 5); /* per 1: the bars */
}

/* A 5-bar run by hand: start cash 100, equity 100 110 99 121 120, so the
 * drawdown (equity / running peak - 1) is 0 0 -0.1 0 -1/121; a long trade
 * (+20, signal) and a short one (-5, stop loss). */
static qt_bars g_bars;
static int64_t g_ts[5] = {0, 60000, 120000, 180000, 240000};
static double g_eq[5] = {100, 110, 99, 121, 120}, g_ex[5];
static qt_trade_rec g_tr[2];
static qt_result g_r;
static qt_metrics g_m;

static void make_run(void) {
  qt_err e;
  if (!g_bars.n && qt_bars_alloc(&g_bars, 5, &e)) abort();
  for (int i = 0; i < 5; i++) {
    g_bars.ts_ms[i] = g_ts[i];
    g_bars.open[i] = 10 + i;
    g_bars.high[i] = 11 + i;
    g_bars.low[i] = 9 + i;
    g_bars.close[i] = 10.5 + i;
  }
  g_tr[0] = (qt_trade_rec){.side = QT_BUY, .exit_reason = QT_EXIT_SIGNAL, .entry_ms = 60000,
                           .exit_ms = 180000, .qty = 10, .entry_price = 10, .exit_price = 12, .pnl = 20};
  g_tr[1] = (qt_trade_rec){.side = QT_SELL, .exit_reason = QT_EXIT_STOP_LOSS, .entry_ms = 180000,
                           .exit_ms = 240000, .qty = 5, .entry_price = 13, .exit_price = 14, .pnl = -5};
  g_r = (qt_result){.n_bars = 5, .ts_ms = g_ts, .equity = g_eq, .exposure = g_ex, .trades = g_tr,
                    .n_trades = 2, .start_cash = 100, .final_equity = 120, .interval_ms = 60000};
}

static char *render(const qt_report_opts *o, int *rc, qt_err *e) {
  make_run();
  qt_report_backtest bt = {.r = &g_r, .bars = &g_bars, .from_i = 0, .m = &g_m,
                           .strategy = "by<hand>", .params_text = "a=1", .market_text = "five bars"};
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  *rc = qt_report_backtest_html(&bt, o, f, e);
  fclose(f);
  return buf;
}

static void test_page_by_hand(void) {
  qt_report_opts o = qt_report_opts_default();
  o.max_bars = o.max_candles = 0;
  int rc;
  qt_err e = {0};
  char *h = render(&o, &rc, &e);
  EXPECT_EQ(rc, QT_OK);
  EXPECT_CONTAINS(h, "<span id=\"qt-strategy\">by&lt;hand&gt;</span>");
  EXPECT_CONTAINS(h, "\"equity\":[[0,100.0],[60000,110.0],[120000,99.0],[180000,121.0],[240000,120.0]]");
  EXPECT_CONTAINS(h, "\"drawdown\":[[0,0.0],[60000,0.0],[120000,-0.1],[180000,0.0],[240000,-0.00826446281]]");
  EXPECT_CONTAINS(h, "\"candles\":[[0,10.0,10.5,9.0,11.0],"); /* ts, open, close, low, high */
  EXPECT_CONTAINS(h, "\"bars_per_candle\":1,\"n_candles\":5,\"n_marked\":2");
  EXPECT_CONTAINS(h, "<tr><td>long</td><td>1</td><td>1</td><td>100.00%</td><td>20.00</td></tr>");
  EXPECT_CONTAINS(h, "<tr><td>short</td><td>1</td><td>0</td><td>0.00%</td><td>-5.00</td></tr>");
  EXPECT_CONTAINS(h, "<tr><td>stop_loss</td><td>1</td><td>0</td><td>-5.00</td></tr>");
  EXPECT_CONTAINS(h, "All 2 of 2 trades.");
  /* the table's rows are data for the page script (a page at a time): #,
   * side, entry, exit, qty, prices, P&L, fees, bars, exit reason */
  EXPECT_CONTAINS(h, "\"trades\":[[1,1,60000,180000,10.0,10.0,12.0,20.0,0.0,0,\"signal\"],"
                     "[2,-1,180000,240000,5.0,13.0,14.0,-5.0,0.0,0,\"stop_loss\"]]");
  EXPECT_CONTAINS(h, "<table id=\"qt-trades\"><tr><th>#</th>");
  EXPECT_TRUE(!strstr(h, "<tr><td>1</td><td>long</td>")); /* no rows written as HTML */
  EXPECT_CONTAINS(h, "<span id=\"qt-final-equity\" data-value=\"120\">120.00</span>");
  free(h);
  /* 2 points per chart: 3 bars per candle (ceil 5/2), LTTB's minimum of 3
   * points; one trade listed and marked */
  o.max_bars = o.max_candles = 2;
  o.max_trades = 1;
  h = render(&o, &rc, &e);
  EXPECT_EQ(rc, QT_OK);
  EXPECT_CONTAINS(h, "\"bars_per_candle\":3,\"n_candles\":2,\"n_marked\":1");
  EXPECT_CONTAINS(h, "\"n_equity_shown\":3");
  EXPECT_CONTAINS(h, "[0,10.0,12.5,9.0,13.0],[180000,13.0,14.5,12.0,15.0]");
  EXPECT_CONTAINS(h, "The first 1 of 2 trades");
  EXPECT_CONTAINS(h, "\"trades\":[[1,1,60000,180000,");
  EXPECT_TRUE(!strstr(h, "[2,-1,180000"));
  free(h);
}

/* The strategy's indicators over the candles: SMA(2) of the closes
 * 10.5 .. 14.5 (NaN 11 12 13 14) and Bollinger(2, 1.5) drawn; an RSI (not a
 * price) and an SMA of another series are not.  Past max_bars each candle
 * takes the value at its last bar (bars 2 and 4 of 3 per candle). */
static void test_indicator_lines(void) {
  static double sma[5] = {NAN, 11, 12, 13, 14}, rsi[5] = {NAN, 50, 60, 70, 80}, other_close[5];
  static double lo[5] = {NAN, 10, 11, 12, 13}, mid[5] = {NAN, 11, 12, 13, 14}, up[5] = {NAN, 12, 13, 14, 15};
  make_run();
  qt_ind_used u[4] = {
      {.close = g_bars.close, .n = 5, .kind = QT_IND_SMA, .n1 = 2, .n_out = 1, .cols = {sma}},
      {.close = g_bars.close, .n = 5, .kind = QT_IND_RSI, .n1 = 2, .n_out = 1, .cols = {rsi}},
      {.close = other_close, .n = 5, .kind = QT_IND_SMA, .n1 = 3, .n_out = 1, .cols = {sma}},
      {.close = g_bars.close, .n = 5, .kind = QT_IND_BBANDS, .n1 = 2, .n2 = 1500, .n_out = 4,
       .cols = {lo, mid, up, rsi}}};
  qt_report_backtest bt = {.r = &g_r, .bars = &g_bars, .m = &g_m, .strategy = "s", .inds = u, .n_inds = 4};
  qt_report_opts o = qt_report_opts_default();
  for (int pass = 0; pass < 2; pass++) {
    o.max_bars = o.max_candles = pass ? 2 : 0;
    char *buf = NULL;
    size_t len = 0;
    qt_err e = {0};
    FILE *f = open_memstream(&buf, &len);
    EXPECT_EQ(qt_report_backtest_html(&bt, &o, f, &e), QT_OK);
    fclose(f);
    if (!pass) {
      EXPECT_CONTAINS(buf, "\"lines\":[{\"name\":\"sma(2)\",\"data\":[null,11.0,12.0,13.0,14.0]},"
                           "{\"name\":\"bbands(2, 1.5) lower\",\"data\":[null,10.0,11.0,12.0,13.0]},"
                           "{\"name\":\"bbands(2, 1.5) mid\",\"data\":[null,11.0,12.0,13.0,14.0]},"
                           "{\"name\":\"bbands(2, 1.5) upper\",\"data\":[null,12.0,13.0,14.0,15.0]}]");
    } else {
      EXPECT_CONTAINS(buf, "\"lines\":[{\"name\":\"sma(2)\",\"data\":[12.0,14.0]},");
    }
    free(buf);
  }
}

static void test_bars_must_cover(void) {
  make_run();
  qt_report_backtest bt = {.r = &g_r, .bars = &g_bars, .from_i = 1, .m = &g_m};
  qt_err e = {0};
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  EXPECT_EQ(qt_report_backtest_html(&bt, NULL, f, &e), QT_EINVAL);
  fclose(f);
  EXPECT_CONTAINS(e.msg, "the bars (5) do not cover the run (5 from 1)");
  EXPECT_EQ(len, 0);
  free(buf);
}

static void test_oom_sweep(void) {
  int done = 0, failed = 0;
  for (long n = 1; n < 50 && !done; n++) {
    qt_err e = {0};
    int rc;
    qt_alloc_fail_at(n, 0);
    char *h = render(NULL, &rc, &e);
    qt_alloc_fail_at(0, 0);
    free(h);
    if (rc == QT_OK) {
      done = 1;
    } else {
      failed++;
      EXPECT_EQ(rc, QT_ENOMEM);
      EXPECT_CONTAINS(e.msg, "out of memory");
    }
  }
  EXPECT_TRUE(done);
  EXPECT_TRUE(failed > 0);
  qt_bars_fini(&g_bars);
  memset(&g_bars, 0, sizeof g_bars);
}

static void test_opts_default(void) {
  qt_report_opts o = qt_report_opts_default();
  EXPECT_EQ(o.max_bars, 2000);
  EXPECT_EQ(o.max_candles, 1000);
  EXPECT_EQ(o.max_trades, 1000);
}

/* Candles about one per pixel: ceil(bars / max_candles) bars each. */
static void test_bars_per_candle(void) {
  qt_report_opts o = qt_report_opts_default();
  EXPECT_EQ(qt_report_bars_per_candle(1000800, NULL), 1001); /* 999.8 candles: 1000 */
  EXPECT_EQ(qt_report_bars_per_candle(1000, &o), 1);
  EXPECT_EQ(qt_report_bars_per_candle(1001, &o), 2);
  EXPECT_EQ(qt_report_bars_per_candle(11520, &o), 12);
  o.max_candles = 2;
  EXPECT_EQ(qt_report_bars_per_candle(5, &o), 3);
  o.max_candles = 0;
  EXPECT_EQ(qt_report_bars_per_candle(1000800, &o), 1);
}

QT_TESTS(T(test_lttb_by_hand), T(test_lttb_keeps_spike), T(test_ohlc_merge), T(test_page_by_hand), T(test_indicator_lines),
         T(test_bars_must_cover), T(test_oom_sweep), T(test_opts_default), T(test_bars_per_candle))
