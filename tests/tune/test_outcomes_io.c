#include "qt_test.h"
#include "qtune/tune.h"

#include <unistd.h>

/* Outcome files and backtest trades as outcomes (src/tune/outcomes_io.c). */
static char g_path[256];

static const char *write_tmp(const char *name, const char *text) {
  snprintf(g_path, sizeof g_path, "/tmp/qtune_test_oio_%d_%s", (int)getpid(), name);
  FILE *f = fopen(g_path, "wb");
  fputs(text, f);
  fclose(f);
  return g_path;
}

static void csv_forms(void) {
  /* columns in another order, CRLF, quotes, every time form, optional key */
  const char *p = write_tmp(
      "ok.csv",
      "symbol,strategy,side,signal_time,entry_time,entry_price,exit_time,exit_price,pnl,pnl_pct,"
      "status,key\r\n"
      "BTCUSDT,grid_trading,long,2026-07-01T00:00:00Z,1782864060,100.5,,,\"12.5\",1.25,closed,\r\n"
      "\"ETH,USDT\",grid_trading,SHORT,20260701T0100,2026-07-01 01:01,200,1782871200000,190,-3,-1.5,"
      "EXPIRED,my-key\r\n"
      "\r\n");
  qt_outcome *v = NULL;
  size_t n = 0;
  qt_err e = {0};
  int r = qt_tune_outcomes_read(p, &v, &n, &e);
  if (r) fprintf(stderr, "%s\n", e.msg);
  EXPECT_EQ(r, 0);
  ASSERT_TRUE(n == 2);
  EXPECT_STREQ(v[0].strategy, "grid_trading");
  EXPECT_EQ(v[0].signal_ms, 1782864000000LL); /* 2026-07-01T00:00Z */
  EXPECT_EQ(v[0].entry_ms, 1782864060000LL);  /* epoch seconds */
  EXPECT_DBL_EQ(v[0].entry_price, 100.5);
  EXPECT_EQ(v[0].exit_ms, 0);
  EXPECT_TRUE(isnan(v[0].exit_price));
  EXPECT_DBL_EQ(v[0].pnl, 12.5);
  EXPECT_EQ(v[0].side, 1);
  EXPECT_EQ(v[0].status, QT_OUTCOME_CLOSED);
  EXPECT_EQ(v[0].closed_ms, v[0].signal_ms);
  EXPECT_STREQ(v[0].source, "import");
  EXPECT_STREQ(v[0].key, "");
  EXPECT_STREQ(v[1].symbol, "ETH,USDT");
  EXPECT_EQ(v[1].side, -1);
  EXPECT_EQ(v[1].signal_ms, 1782867600000LL); /* compact date and time */
  EXPECT_EQ(v[1].entry_ms, 1782867660000LL);
  EXPECT_EQ(v[1].exit_ms, 1782871200000LL); /* epoch ms */
  EXPECT_EQ(v[1].closed_ms, 1782871200000LL);
  EXPECT_EQ(v[1].status, QT_OUTCOME_EXPIRED);
  EXPECT_STREQ(v[1].key, "my-key");
  qt_free(v);
  unlink(p);
}

static void bad_inputs_name_file_line_field(void) {
  struct {
    const char *name, *text, *want;
  } bad[] = {
      {"a.csv", "strategy,symbol\n", "a.csv:1: no column 'signal_time'"},
      {"b.csv", "strategy,symbol,signal_time,side,entry_time,entry_price,exit_time,exit_price,pnl,"
                "pnl_pct,status,colour\n",
       "b.csv:1: unknown column 'colour'"},
      {"c.csv", "strategy,symbol,signal_time,side,entry_time,entry_price,exit_time,exit_price,pnl,"
                "pnl_pct,status\nx,X,1,long,,,,,1,1,closed\nx,X,2,long,,,,,1.2.3,1,closed\n",
       "c.csv:3: field 'pnl': not a number (\"1.2.3\")"},
      {"d.csv", "strategy,symbol,signal_time,side,entry_time,entry_price,exit_time,exit_price,pnl,"
                "pnl_pct,status\nx,X,1,long,,,,,1,1\n",
       "d.csv:2: 10 fields, the header has 11"},
      {"e.csv", "strategy,symbol,signal_time,side,entry_time,entry_price,exit_time,exit_price,pnl,"
                "pnl_pct,status\n,X,1,long,,,,,1,1,closed\n",
       "e.csv:2: field 'strategy': missing"},
      {"f.csv", "strategy,symbol,signal_time,side,entry_time,entry_price,exit_time,exit_price,pnl,"
                "pnl_pct,status\nx,X,1,long,,,,,1,1,open\n",
       "f.csv:2: field 'status': expected closed or expired (\"open\")"},
      {"g.csv", "strategy,symbol,signal_time,side,entry_time,entry_price,exit_time,exit_price,pnl,"
                "pnl_pct,status\nx,X,1,long,someday,,,,1,1,closed\n",
       "g.csv:2: field 'entry_time': not a time"},
      {"h.json", "[{\"strategy\": \"x\", \"symbol\": \"X\", \"signal_time\": 1, \"side\": \"long\",\n"
                 "  \"pnl\": 1, \"pnl_pct\": 1, \"status\": \"closed\"},\n"
                 " {\"strategy\": \"x\", \"symbol\": \"X\", \"signal_time\": 2, \"side\": \"up\",\n"
                 "  \"pnl\": 1, \"pnl_pct\": 1, \"status\": \"closed\"}]\n",
       "h.json:3: field 'side': expected long or short (\"up\")"},
      {"i.json", "[\n {\"strategy\": \"x\", \"bogus\": 1}\n]", "i.json:2: unknown field 'bogus'"},
      {"j.json", "[\n {\"strategy\": \"x\",\n", "j.json:3: JSON:"},
      {"k.json", "[\n 5\n]", "k.json:2: outcome 1 is not an object"},
      {"l.json", "[\n {\"strategy\": [1], \"symbol\": \"X\"}\n]",
       "l.json:2: field 'strategy': expected a text or a number"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    const char *p = write_tmp(bad[k].name, bad[k].text);
    qt_outcome *v = (qt_outcome *)1;
    size_t n = 9;
    qt_err e = {0};
    EXPECT_TRUE(qt_tune_outcomes_read(p, &v, &n, &e) < 0);
    EXPECT_CONTAINS(e.msg, bad[k].want);
    EXPECT_PTR_EQ(v, NULL);
    EXPECT_EQ(n, 0);
    unlink(p);
  }
  qt_outcome *v;
  size_t n;
  qt_err e = {0};
  EXPECT_EQ(qt_tune_outcomes_read("/nonexistent/x.csv", &v, &n, &e), QT_EIO);
}

static void json_form(void) {
  const char *p = write_tmp("ok.json",
                            "[{\"strategy\": \"s\", \"symbol\": \"X\", \"signal_time\": "
                            "\"2026-07-01T00:00:00Z\", \"side\": \"long\", \"entry_time\": null,"
                            " \"pnl\": -2.5, \"pnl_pct\": -0.25, \"status\": \"closed\","
                            " \"params_version\": \"v7\"}]");
  qt_outcome *v = NULL;
  size_t n = 0;
  qt_err e = {0};
  EXPECT_EQ(qt_tune_outcomes_read(p, &v, &n, &e), 0);
  ASSERT_TRUE(n == 1);
  EXPECT_EQ(v[0].signal_ms, 1782864000000LL);
  EXPECT_DBL_EQ(v[0].pnl, -2.5);
  EXPECT_STREQ(v[0].params_version, "v7");
  qt_free(v);
  unlink(p);
}

/* Every allocation of a read can fail; each failure comes back as ENOMEM. */
static void oom_sweep(void) {
  const char *p = write_tmp(
      "oom.csv", "strategy,symbol,signal_time,side,entry_time,entry_price,exit_time,exit_price,pnl,"
                 "pnl_pct,status\nx,X,1,long,,,,,1,1,closed\n");
  int ok = 0;
  for (long k = 1; k < 20 && !ok; k++) {
    qt_outcome *v = NULL;
    size_t n = 0;
    qt_err e = {0};
    qt_alloc_fail_at(k, 0);
    int r = qt_tune_outcomes_read(p, &v, &n, &e);
    qt_alloc_fail_at(0, 0);
    if (r == 0) ok = 1;
    else EXPECT_EQ(r, QT_ENOMEM);
    qt_free(v);
  }
  EXPECT_EQ(ok, 1);
  unlink(p);
}

static void trades_as_outcomes(void) {
  qt_trade_rec t[2];
  memset(t, 0, sizeof t);
  t[0].side = QT_BUY;
  t[0].entry_ms = 1000;
  t[0].exit_ms = 5000;
  t[0].qty = 2;
  t[0].entry_price = 50; /* notional 100 */
  t[0].exit_price = 51;
  t[0].pnl = 1.5;
  t[0].exit_reason = QT_EXIT_TAKE_PROFIT;
  t[1] = t[0];
  t[1].side = QT_SELL;
  t[1].pnl = -4;
  t[1].exit_reason = QT_EXIT_EXPIRY;
  qt_result r;
  memset(&r, 0, sizeof r);
  r.trades = t;
  r.n_trades = 2;
  qt_feed f;
  memset(&f, 0, sizeof f);
  f.inst = qt_instrument_default("AVAXUSDT");
  qt_outcome *v = NULL;
  size_t n = 0;
  qt_err e = {0};
  char ver[40];
  double p[2] = {50, 3};
  qt_tune_params_version(p, 2, ver, sizeof ver);
  EXPECT_EQ(strlen(ver), 17);
  char ver2[40];
  p[1] = 3.5;
  EXPECT_TRUE(strcmp(qt_tune_params_version(p, 2, ver2, sizeof ver2), ver) != 0);
  EXPECT_EQ(qt_tune_outcomes_from_result(&r, &f, 1, "directional_momentum", ver, &v, &n, &e), 0);
  ASSERT_TRUE(n == 2);
  EXPECT_STREQ(v[0].symbol, "AVAXUSDT");
  EXPECT_STREQ(v[0].source, "backtest");
  EXPECT_STREQ(v[0].params_version, ver);
  EXPECT_EQ(v[0].side, 1);
  EXPECT_EQ(v[1].side, -1);
  EXPECT_EQ(v[0].status, QT_OUTCOME_CLOSED);
  EXPECT_EQ(v[1].status, QT_OUTCOME_EXPIRED);
  EXPECT_DBL_EQ(v[0].pnl_pct, 1.5); /* 1.5 of a 100 notional */
  EXPECT_DBL_EQ(v[1].pnl_pct, -4.0);
  EXPECT_EQ(v[0].signal_ms, 1000);
  EXPECT_EQ(v[0].closed_ms, 5000);
  EXPECT_TRUE(strcmp(v[0].key, v[1].key) != 0);
  qt_free(v);
  r.n_trades = 0;
  EXPECT_EQ(qt_tune_outcomes_from_result(&r, &f, 1, "x", ver, &v, &n, &e), 0);
  EXPECT_EQ(n, 0);
  EXPECT_PTR_EQ(v, NULL);
}

QT_TESTS(T(csv_forms), T(bad_inputs_name_file_line_field), T(json_form), T(oom_sweep),
         T(trades_as_outcomes))
