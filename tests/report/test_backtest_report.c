/* The backtest table's formatting, warnings and breakdowns on hand-made
 * results (src/report/backtest.c); every expected text is written out. */
#include "qt_test.h"
#include "qtune/report.h"

#include <stdlib.h>

static void formatting(void) {
  char b[64];
  EXPECT_STREQ(qt_report_money(10000, "USDT", b, sizeof b), "10,000.00 USDT");
  EXPECT_STREQ(qt_report_money(-1373.236, "", b, sizeof b), "-1,373.24");
  EXPECT_STREQ(qt_report_money(1234567.891, "EUR", b, sizeof b), "1,234,567.89 EUR");
  EXPECT_STREQ(qt_report_money(0.0213456, "USDT", b, sizeof b), "0.02135 USDT"); /* 4 digits */
  EXPECT_STREQ(qt_report_money(0, NULL, b, sizeof b), "0.00");
  EXPECT_STREQ(qt_report_money(NAN, "USDT", b, sizeof b), "-");
  EXPECT_STREQ(qt_report_duration(3 * 86400e3 + 4 * 3600e3 + 59e3, b, sizeof b), "3d 4h");
  EXPECT_STREQ(qt_report_duration(5 * 3600e3 + 12 * 60e3, b, sizeof b), "5h 12m");
  EXPECT_STREQ(qt_report_duration(42 * 60e3 + 5e3, b, sizeof b), "42m 5s");
  EXPECT_STREQ(qt_report_duration(7e3, b, sizeof b), "7s");
  EXPECT_STREQ(qt_report_duration(NAN, b, sizeof b), "-");
  EXPECT_STREQ(qt_report_quote_ccy("AVAXUSDT-1m-2026-06.csv", b, sizeof b), "USDT");
  EXPECT_STREQ(qt_report_quote_ccy("ETHBTC", b, sizeof b), "BTC");
  EXPECT_STREQ(qt_report_quote_ccy("ttrc_pandas.csv", b, sizeof b), "");
  EXPECT_STREQ(qt_report_quote_ccy("USDT", b, sizeof b), ""); /* nothing before the quote */
  /* units from the metrics list */
  EXPECT_EQ(qt_metrics_unit(qt_metrics_index("total_return")), QT_UNIT_PERCENT);
  EXPECT_EQ(qt_metrics_unit(qt_metrics_index("win_rate")), QT_UNIT_PERCENT);
  EXPECT_EQ(qt_metrics_unit(qt_metrics_index("exposure")), QT_UNIT_PERCENT);
  EXPECT_EQ(qt_metrics_unit(qt_metrics_index("equity_final")), QT_UNIT_MONEY);
  EXPECT_EQ(qt_metrics_unit(qt_metrics_index("expectancy")), QT_UNIT_MONEY);
  EXPECT_EQ(qt_metrics_unit(qt_metrics_index("fees_paid")), QT_UNIT_MONEY);
  EXPECT_EQ(qt_metrics_unit(qt_metrics_index("profit_factor")), QT_UNIT_RATIO); /* a quotient */
  EXPECT_EQ(qt_metrics_unit(qt_metrics_index("sharpe")), QT_UNIT_RATIO);
  EXPECT_EQ(qt_metrics_unit(qt_metrics_index("max_trade_duration_ms")), QT_UNIT_DURATION);
  EXPECT_EQ(qt_metrics_unit(qt_metrics_index("trades")), QT_UNIT_COUNT);
  EXPECT_EQ(qt_metrics_unit(qt_metrics_index("max_drawdown_bars")), QT_UNIT_COUNT);
  EXPECT_EQ(qt_metrics_unit(-1), QT_UNIT_RATIO);
}

/* Three trades: a long take-profit (+30, exit 2026-06-29 = Monday), a short
 * stop (-10, exit 2026-06-30), a long at the end (+5, exit 2026-07-05 =
 * Sunday, still ISO week 27). */
#define D(day) ((int64_t)(day) * 86400000LL)
static const int64_t k_jun29 = 20633; /* days since 1970-01-01 */
static qt_trade_rec g_tr[3];

static void mk_trades(qt_result *r) {
  memset(g_tr, 0, sizeof g_tr);
  g_tr[0] = (qt_trade_rec){.side = QT_BUY, .exit_reason = QT_EXIT_TAKE_PROFIT,
                           .entry_ms = D(k_jun29) - 3600000, .exit_ms = D(k_jun29) + 3600000,
                           .qty = 1, .entry_price = 100, .exit_price = 130, .pnl = 30, .fees = 1};
  g_tr[1] = (qt_trade_rec){.side = QT_SELL, .exit_reason = QT_EXIT_STOP_LOSS,
                           .entry_ms = D(k_jun29 + 1), .exit_ms = D(k_jun29 + 1) + 7200000,
                           .qty = 2, .entry_price = 50, .exit_price = 55, .pnl = -10, .fees = 2};
  g_tr[2] = (qt_trade_rec){.side = QT_BUY, .exit_reason = QT_EXIT_END_OF_DATA,
                           .entry_ms = D(k_jun29 + 5), .exit_ms = D(k_jun29 + 6) + 60000,
                           .qty = 1, .entry_price = 50, .exit_price = 55, .pnl = 5, .fees = 0};
  memset(r, 0, sizeof *r);
  r->trades = g_tr;
  r->n_trades = 3;
}

static void breakdowns(void) {
  qt_result r;
  mk_trades(&r);
  qt_breakdown_row rows[8];
  size_t n = 0;
  qt_err e;
  int by = -1;
  EXPECT_EQ(qt_report_breakdown_parse("week", &by), QT_OK);
  EXPECT_EQ(by, QT_BREAKDOWN_WEEK);
  EXPECT_EQ(qt_report_breakdown_parse("year", &by), QT_EINVAL);
  ASSERT_TRUE(qt_report_breakdown(&r, QT_BREAKDOWN_SIDE, rows, 8, &n, &e) == QT_OK);
  ASSERT_TRUE(n == 2);
  EXPECT_STREQ(rows[0].key, "long");
  EXPECT_EQ(rows[0].trades, 2);
  EXPECT_EQ(rows[0].wins, 2);
  EXPECT_NEAR(rows[0].pnl, 35, 1e-12);
  EXPECT_NEAR(rows[0].return_sum, 30.0 / 100 + 5.0 / 50, 1e-12);
  EXPECT_STREQ(rows[1].key, "short");
  EXPECT_NEAR(rows[1].fees, 2, 1e-12);
  ASSERT_TRUE(qt_report_breakdown(&r, QT_BREAKDOWN_EXIT, rows, 8, &n, &e) == QT_OK);
  ASSERT_TRUE(n == 3);
  EXPECT_STREQ(rows[1].key, "stop_loss");
  EXPECT_NEAR(rows[1].duration_ms_sum, 7200000, 0);
  ASSERT_TRUE(qt_report_breakdown(&r, QT_BREAKDOWN_DAY, rows, 8, &n, &e) == QT_OK);
  ASSERT_TRUE(n == 3);
  EXPECT_STREQ(rows[0].key, "2026-06-29");
  EXPECT_STREQ(rows[2].key, "2026-07-05");
  ASSERT_TRUE(qt_report_breakdown(&r, QT_BREAKDOWN_WEEK, rows, 8, &n, &e) == QT_OK);
  ASSERT_TRUE(n == 1); /* Monday 06-29 .. Sunday 07-05: ISO 2026-W27 */
  EXPECT_STREQ(rows[0].key, "2026-W27");
  EXPECT_EQ(rows[0].trades, 3);
  ASSERT_TRUE(qt_report_breakdown(&r, QT_BREAKDOWN_MONTH, rows, 8, &n, &e) == QT_OK);
  ASSERT_TRUE(n == 2);
  EXPECT_STREQ(rows[0].key, "2026-06");
  EXPECT_STREQ(rows[1].key, "2026-07");
  EXPECT_NEAR(rows[1].pnl, 5, 0);
  EXPECT_EQ(qt_report_breakdown(&r, QT_BREAKDOWN_DAY, rows, 2, &n, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "more than 2 groups");
  /* 2021-01-03 (a Sunday) is in ISO week 53 of 2020 */
  g_tr[0].exit_ms = D(18630);
  ASSERT_TRUE(qt_report_breakdown(&r, QT_BREAKDOWN_WEEK, rows, 8, &n, &e) == QT_OK);
  EXPECT_STREQ(rows[0].key, "2020-W53");
  char *txt = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&txt, &len);
  ASSERT_TRUE(qt_report_breakdown(&r, QT_BREAKDOWN_SIDE, rows, 8, &n, &e) == QT_OK);
  EXPECT_EQ(qt_report_breakdown_table(f, rows, n, QT_BREAKDOWN_SIDE, "USDT", &e), QT_OK);
  fclose(f);
  EXPECT_CONTAINS(txt, "long                 2   100.0%           35.00 USDT");
  free(txt);
}

static void warnings(void) {
  /* 20 one-minute bars with a 3-minute hole after bar 9; 3 trades; sharpe 5,
   * calmar 60; a symbol named like a perpetual, loaded as spot */
  int64_t ts[20];
  double px[20];
  for (int i = 0; i < 20; i++) ts[i] = (int64_t)(i < 10 ? i : i + 3) * 60000, px[i] = 1;
  qt_market mk;
  memset(&mk, 0, sizeof mk);
  mk.n_feeds = 1;
  mk.bars[0].n = 20;
  mk.bars[0].ts_ms = ts;
  mk.bars[0].open = mk.bars[0].close = mk.bars[0].high = mk.bars[0].low = px;
  mk.feeds[0].bars = &mk.bars[0];
  mk.feeds[0].inst = qt_instrument_default("XRP_USDT_USDT-5m-futures.csv");
  qt_result r;
  mk_trades(&r);
  r.n_bars = 20;
  r.ts_ms = ts;
  r.interval_ms = 60000;
  qt_metrics m;
  memset(&m, 0, sizeof m);
  m.trades = 3;
  m.sharpe = 5;
  m.calmar = 60;
  qt_engine_opts eo = qt_engine_opts_default();
  qt_report_bt b = {.market = &mk, .eo = &eo, .mo = qt_metrics_opts_default(), .r = &r, .m = &m};
  qt_report_warnings w;
  qt_report_bt_warnings(&b, &w);
  ASSERT_TRUE(w.n == 6);
  EXPECT_CONTAINS(w.text[0], "only 3 trades (< 30)");
  EXPECT_CONTAINS(w.text[1], "the window is 0.0 days (< 30)");
  EXPECT_CONTAINS(w.text[2], "sharpe 5.00 > 4");
  EXPECT_CONTAINS(w.text[3], "calmar 60.0 > 50");
  EXPECT_CONTAINS(w.text[4], "1 gaps in the window (3 missing bars, the longest 4m 0s)");
  EXPECT_CONTAINS(w.text[5], "looks like a perpetual future but has no funding series");
  /* nothing to say: 30 trades over 40 days of hourly bars, modest ratios */
  int64_t th[960];
  double ph[960];
  for (int i = 0; i < 960; i++) th[i] = (int64_t)i * 3600000, ph[i] = 1;
  mk.bars[0].n = 960;
  mk.bars[0].ts_ms = th;
  mk.bars[0].open = mk.bars[0].close = mk.bars[0].high = mk.bars[0].low = ph;
  mk.feeds[0].inst = qt_instrument_default("AVAXUSDT");
  r.n_bars = 960;
  r.ts_ms = th;
  r.interval_ms = 3600000;
  m.trades = 30;
  m.sharpe = 1.5;
  m.calmar = 3;
  qt_report_bt_warnings(&b, &w);
  EXPECT_EQ(w.n, 0);
}

QT_TESTS(T(formatting), T(breakdowns), T(warnings))
