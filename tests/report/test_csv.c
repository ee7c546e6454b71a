/* report/csv.c: a backtest's trades, order log and equity curve as CSV, on a
 * hand-made result whose every field is stated below. */
#include "qt_test.h"
#include "qtune/report.h"

#include <stdlib.h>
#include <string.h>

/* 2026-06-01T00:00:00Z = 1780272000000 ms; the second bar one minute later. */
static const int64_t k_ts[2] = {1780272000000LL, 1780272060000LL};
static const double k_eq[2] = {10000, 10012.5}, k_ex[2] = {0, 0.25};

static qt_result make_result(qt_trade_rec *t, qt_order_event *o) {
  *t = (qt_trade_rec){.inst = 1, .side = QT_SELL, .leg = QT_LEG_SHORT,
                      .exit_reason = QT_EXIT_TAKE_PROFIT, .entry_ms = k_ts[0], .exit_ms = k_ts[1],
                      .qty = 2, .entry_price = 20.5, .exit_price = 20, .pnl = 0.9, .fees = 0.1,
                      .funding = 0, .bars_held = 1};
  *o = (qt_order_event){.ts_ms = k_ts[0], .id = 7, .action = QT_OA_SUBMIT, .inst = 1,
                        .side = QT_SELL, .type = QT_ORDER_LIMIT, .leg = QT_LEG_SHORT,
                        .flags = QT_ORDER_POST_ONLY, .qty = 2, .price = 20.5, .expire_ms = 0};
  qt_result r = {0};
  r.n_bars = 2;
  r.ts_ms = k_ts;
  r.equity = k_eq;
  r.exposure = k_ex;
  r.trades = t;
  r.n_trades = 1;
  r.order_log = o;
  r.n_order_log = 1;
  return r;
}

static char *text(int kind, const qt_result *r, const qt_feed *feeds, int n) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  qt_err e = {0};
  int rc = kind == 0   ? qt_report_trades_csv(f, r, feeds, n, &e)
           : kind == 1 ? qt_report_orders_csv(f, r, feeds, n, &e)
                       : qt_report_equity_csv(f, r, &e);
  fclose(f);
  if (rc) free(buf);
  return rc ? NULL : buf;
}

static void trades_orders_equity(void) {
  qt_trade_rec t;
  qt_order_event o;
  qt_result r = make_result(&t, &o);
  qt_feed feeds[2];
  memset(feeds, 0, sizeof feeds);
  feeds[0].inst = qt_instrument_default("AVAXUSDT");
  feeds[1].inst = qt_instrument_default("AVAXUSDT.B");
  char *s = text(0, &r, feeds, 2);
  ASSERT_TRUE(s != NULL);
  EXPECT_STREQ(s, "inst,symbol,side,leg,entry_time,exit_time,entry_ms,exit_ms,qty,entry_price,"
                  "exit_price,pnl,fees,funding,bars_held,exit_reason\n"
                  "1,AVAXUSDT.B,short,short,2026-06-01T00:00:00Z,2026-06-01T00:01:00Z,"
                  "1780272000000,1780272060000,2,20.5,20,0.9,0.1,0,1,take_profit\n");
  free(s);
  s = text(1, &r, feeds, 2);
  ASSERT_TRUE(s != NULL);
  EXPECT_STREQ(s, "time,ts_ms,action,id,inst,symbol,side,type,leg,qty,price,post_only,"
                  "reduce_only,expire_ms\n"
                  "2026-06-01T00:00:00Z,1780272000000,submit,7,1,AVAXUSDT.B,sell,limit,short,2,"
                  "20.5,1,0,0\n");
  free(s);
  /* an instrument outside the feeds has no symbol */
  s = text(0, &r, feeds, 1);
  ASSERT_TRUE(s != NULL);
  EXPECT_CONTAINS(s, "\n1,,short,");
  free(s);
  s = text(2, &r, feeds, 2);
  ASSERT_TRUE(s != NULL);
  EXPECT_STREQ(s, "ts_ms,time,equity,exposure\n"
                  "1780272000000,2026-06-01T00:00:00Z,10000,0\n"
                  "1780272060000,2026-06-01T00:01:00Z,10012.5,0.25\n");
  free(s);
}

QT_TESTS(T(trades_orders_equity))
