/* Market loading (qt_market_load): hand-made catalogs in a temp dir with
 * hourly bars and 8h funding, so every index, count and time below is worked
 * out by hand.  T0 = 2026-01-01T00:00:00Z; bar i opens at T0 + i h. */
#include "qt_test.h"
#include "qtune/engine.h"

#include <math.h>
#include <unistd.h>

#define H 3600000LL
#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */

static char g_root[64];

static const char *root(void) {
  if (!g_root[0]) {
    snprintf(g_root, sizeof g_root, "/tmp/qt_test_market_XXXXXX");
    if (!mkdtemp(g_root)) abort();
  }
  return g_root;
}

/* n hourly bars from T0 (close 100 + i) under sym in catalog dir. */
static void put_bars(const char *dir, const char *sym, size_t n) {
  qt_catalog *c = NULL;
  qt_bars b;
  memset(&b, 0, sizeof b);
  if (qt_catalog_open(dir, 1, &c, NULL) || qt_bars_alloc(&b, n, NULL)) abort();
  b.interval_ms = H;
  for (size_t i = 0; i < n; i++) {
    b.ts_ms[i] = T0 + (int64_t)i * H;
    b.open[i] = b.close[i] = 100.0 + (double)i;
    b.high[i] = b.close[i] + 1;
    b.low[i] = b.close[i] - 1;
    b.volume[i] = 10;
  }
  if (qt_catalog_put_bars(c, sym, &b, NULL) < 0) abort();
  qt_bars_fini(&b);
  qt_catalog_close(c);
}

/* n 8h settlements from T0 + first_h hours. */
static void put_funding(const char *dir, const char *sym, int64_t first_h, size_t n) {
  qt_catalog *c = NULL;
  qt_funding f;
  memset(&f, 0, sizeof f);
  if (qt_catalog_open(dir, 1, &c, NULL) || qt_funding_alloc(&f, n, NULL)) abort();
  for (size_t i = 0; i < n; i++) {
    f.ts_ms[i] = T0 + (first_h + 8 * (int64_t)i) * H;
    f.rate[i] = 0.0001;
    f.interval_h[i] = 8;
  }
  if (qt_catalog_put_funding(c, sym, &f, NULL) < 0) abort();
  qt_funding_fini(&f);
  qt_catalog_close(c);
}

static void cat_path(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", root(), name);
}

/* Catalog opts for dir and one symbol. */
static qt_market_opts opts_for(const char *dir, const char *sym) {
  qt_market_opts o = qt_market_opts_default();
  o.catalog = dir;
  if (qt_market_opts_set_symbols(&o, sym, NULL)) abort();
  return o;
}

static void symbol_list(void) {
  qt_err e = {0};
  qt_market_opts o = qt_market_opts_default();
  EXPECT_EQ(o.n_symbols, 0);
  EXPECT_TRUE(isnan(o.fee_bps) && isnan(o.lot_size) && isnan(o.tick_size));
  EXPECT_EQ(qt_market_opts_set_symbols(&o, "AVAXUSDT, XRPUSDT", &e), QT_OK);
  EXPECT_EQ(o.n_symbols, 2);
  EXPECT_STREQ(o.symbols[0], "AVAXUSDT");
  EXPECT_STREQ(o.symbols[1], "XRPUSDT");
  /* a second --symbol is refused, the first list kept */
  EXPECT_EQ(qt_market_opts_set_symbols(&o, "SOLUSDT", &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "--symbol given twice");
  EXPECT_EQ(o.n_symbols, 2);
  qt_market_opts p = qt_market_opts_default();
  EXPECT_EQ(qt_market_opts_set_symbols(&p, "A,,B", &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "empty symbol name");
  EXPECT_EQ(p.n_symbols, 0);
  EXPECT_EQ(qt_market_opts_set_symbols(&p, "A,B,A", &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "'A' is listed twice");
  EXPECT_EQ(qt_market_opts_set_symbols(&p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ01234", &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "longer than 30 characters");
  EXPECT_EQ(p.n_symbols, 0);
}

static void spot_and_perp(void) {
  char dir[128], d[512];
  qt_err e = {0};
  cat_path(dir, sizeof dir, "c1");
  put_bars(dir, "SPOTX", 10);
  put_bars(dir, "PERPX", 48);
  put_funding(dir, "PERPX", 0, 6); /* T0 .. T0+40h: covers bars T0 .. T0+47h */
  qt_market m;
  qt_market_opts o = opts_for(dir, "SPOTX");
  ASSERT_TRUE(qt_market_load(&o, &m, &e) == QT_OK);
  EXPECT_EQ(m.n_feeds, 1);
  EXPECT_EQ(m.feeds[0].inst.kind, QT_INST_SPOT);
  EXPECT_TRUE(m.feeds[0].funding == NULL);
  EXPECT_EQ(m.n_warnings, 0);
  EXPECT_STREQ(qt_market_describe(&m, d, sizeof d),
               "SPOTX, spot: no funding series, 10 bars 2026-01-01T00:00:00Z .. "
               "2026-01-01T09:00:00Z");
  qt_market_free(&m);
  o = opts_for(dir, "PERPX");
  ASSERT_TRUE(qt_market_load(&o, &m, &e) == QT_OK);
  EXPECT_EQ(m.feeds[0].inst.kind, QT_INST_PERP);
  ASSERT_TRUE(m.feeds[0].funding != NULL);
  EXPECT_EQ(m.feeds[0].funding->n, 6);
  EXPECT_EQ(m.n_warnings, 0);
  EXPECT_STREQ(qt_market_describe(&m, d, sizeof d),
               "PERPX, perpetual, funding 6 settlements, 48 bars 2026-01-01T00:00:00Z .. "
               "2026-01-02T23:00:00Z");
  qt_market_free(&m);
  qt_market_free(&m); /* twice: a no-op */
}

static void funding_coverage(void) {
  char dir[128];
  qt_err e = {0};
  cat_path(dir, sizeof dir, "c2");
  put_bars(dir, "LATE", 48);
  put_funding(dir, "LATE", 24, 3); /* T0+24h .. T0+40h: starts 24h after the first bar */
  put_bars(dir, "EARLY", 48);
  put_funding(dir, "EARLY", 0, 3); /* T0 .. T0+16h: ends 31h before the last bar */
  qt_market m;
  qt_market_opts o = opts_for(dir, "LATE");
  ASSERT_TRUE(qt_market_load(&o, &m, &e) == QT_OK);
  ASSERT_TRUE(m.n_warnings == 1);
  EXPECT_STREQ(m.warnings[0], "LATE: the funding series starts after the bars: it covers "
                              "2026-01-02T00:00:00Z .. 2026-01-02T16:00:00Z, the bars "
                              "2026-01-01T00:00:00Z .. 2026-01-02T23:00:00Z");
  qt_market_free(&m);
  /* from T0+20h the late series covers the traded bars: warm-up needs no funding */
  o = opts_for(dir, "LATE");
  o.from = "2026-01-01T20:00:00Z";
  ASSERT_TRUE(qt_market_load(&o, &m, &e) == QT_OK);
  EXPECT_EQ(m.n_warnings, 0);
  qt_market_free(&m);
  o = opts_for(dir, "EARLY");
  ASSERT_TRUE(qt_market_load(&o, &m, &e) == QT_OK);
  ASSERT_TRUE(m.n_warnings == 1);
  EXPECT_CONTAINS(m.warnings[0], "EARLY: the funding series ends before the bars: it covers "
                                 "2026-01-01T00:00:00Z .. 2026-01-01T16:00:00Z");
  qt_market_free(&m);
}

static void window(void) {
  char dir[128], d[512];
  qt_err e = {0};
  cat_path(dir, sizeof dir, "c3");
  put_bars(dir, "W", 48);
  qt_market m;
  qt_market_opts o = opts_for(dir, "W");
  /* FROM = bar 10, TO = bar 30: feed 0 holds bars 0..29, 10 of them history */
  o.from = "2026-01-01T10:00:00Z";
  o.to = "2026-01-02T06:00:00Z";
  ASSERT_TRUE(qt_market_load(&o, &m, &e) == QT_OK);
  EXPECT_EQ(m.from_i, 10);
  EXPECT_EQ(m.to_i, 30);
  EXPECT_EQ(m.feeds[0].bars->n, 30);
  EXPECT_EQ(m.n_warnings, 0);
  EXPECT_STREQ(qt_market_describe(&m, d, sizeof d),
               "W, spot: no funding series, 20 bars 2026-01-01T10:00:00Z .. "
               "2026-01-02T05:00:00Z (10 warm-up bars before)");
  qt_market_free(&m);
  /* TO at the end of the last bar (T0+48h) is not past the data; an hour later is */
  o.from = NULL;
  o.to = "2026-01-03T00:00:00Z";
  ASSERT_TRUE(qt_market_load(&o, &m, &e) == QT_OK);
  EXPECT_EQ(m.n_warnings, 0);
  qt_market_free(&m);
  o.to = "2026-01-03T01:00:00Z";
  ASSERT_TRUE(qt_market_load(&o, &m, &e) == QT_OK);
  EXPECT_EQ(m.to_i, 48);
  ASSERT_TRUE(m.n_warnings == 1);
  EXPECT_STREQ(m.warnings[0], "--to 2026-01-03T01:00:00Z is past the data: its last bar opens "
                              "at 2026-01-02T23:00:00Z");
  qt_market_free(&m);
  o.from = "2026-01-02T10:00:00Z";
  o.to = "2026-01-02T10:00:00Z";
  EXPECT_EQ(qt_market_load(&o, &m, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "--from/--to select no bars (the data has 48 bars)");
  o.from = "yesterday";
  EXPECT_NE(qt_market_load(&o, &m, &e), QT_OK);
  EXPECT_CONTAINS(e.msg, "--from");
}

static void second_venue_and_costs(void) {
  char dir[128];
  qt_err e = {0};
  cat_path(dir, sizeof dir, "c4");
  put_bars(dir, "V", 12);
  qt_market m;
  qt_market_opts o = opts_for(dir, "V");
  o.want_second = 1;
  EXPECT_EQ(qt_market_load(&o, &m, &e), QT_ENOTFOUND);
  EXPECT_CONTAINS(e.msg, "has no bars for 'V.B'");
  put_bars(dir, "V.B", 12);
  put_funding(dir, "V.B", 0, 2);
  o.fee_bps = 1;
  o.taker_bps = 4; /* taker wins over the fee for both */
  o.lot_size = 0.01;
  o.tick_size = 0.5;
  ASSERT_TRUE(qt_market_load(&o, &m, &e) == QT_OK);
  EXPECT_EQ(m.n_feeds, 2);
  EXPECT_STREQ(m.feeds[1].inst.symbol, "V.B");
  EXPECT_EQ(m.feeds[1].inst.venue, 1);
  EXPECT_EQ(m.feeds[0].inst.kind, QT_INST_SPOT);
  EXPECT_EQ(m.feeds[1].inst.kind, QT_INST_PERP);
  for (int k = 0; k < 2; k++) {
    EXPECT_NEAR(m.feeds[k].inst.maker_bps, 1, 0);
    EXPECT_NEAR(m.feeds[k].inst.taker_bps, 4, 0);
    EXPECT_NEAR(m.feeds[k].inst.lot_size, 0.01, 0);
    EXPECT_NEAR(m.feeds[k].inst.tick_size, 0.5, 0);
  }
  char d[512];
  EXPECT_CONTAINS(qt_market_describe(&m, d, sizeof d), "(+ V.B, perpetual)");
  qt_market_free(&m);
}

static void refusals(void) {
  char dir[128];
  qt_err e = {0};
  cat_path(dir, sizeof dir, "c5");
  put_bars(dir, "A", 5);
  put_bars(dir, "B", 5);
  qt_market m;
  qt_market_opts o = qt_market_opts_default();
  EXPECT_EQ(qt_market_load(&o, &m, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "give either --catalog DIR --symbol S or --data FILE");
  o.catalog = dir;
  EXPECT_EQ(qt_market_load(&o, &m, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "--catalog needs --symbol S");
  o.data = "x.csv";
  EXPECT_EQ(qt_market_load(&o, &m, &e), QT_EINVAL);
  o.data = NULL;
  ASSERT_TRUE(qt_market_opts_set_symbols(&o, "A,B", &e) == QT_OK);
  EXPECT_EQ(qt_market_load(&o, &m, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "--symbol A,B: this command takes one symbol");
  o = opts_for(dir, "NOPE");
  EXPECT_EQ(qt_market_load(&o, &m, &e), QT_ENOTFOUND);
  EXPECT_CONTAINS(e.msg, "has no bars for 'NOPE'");
}

/* A catalog written dirty on purpose (through the catalog writer, which
 * stores what it is given): the load refuses it naming the symbol, the bar
 * and its time, unless allow_dirty, which loads it with a warning. */
static void dirty_series(void) {
  char dir[128];
  qt_err e = {0};
  qt_market m;
  cat_path(dir, sizeof dir, "c7");
  static const struct {
    const char *sym;
    int field; /* 0 open .. 3 close */
    double v;
    const char *want;
  } cases[] = {
      {"NANC", 3, NAN, "NANC bar 3 (2026-01-01T03:00:00Z): close is NaN"},
      {"ZLOW", 2, 0, "ZLOW bar 3 (2026-01-01T03:00:00Z): low is 0 (not a positive finite price)"},
      {"HUGE", 1, INFINITY, "HUGE bar 3 (2026-01-01T03:00:00Z): high is inf (not a positive finite price)"},
      {"HILO", 1, 102.5, "HILO bar 3 (2026-01-01T03:00:00Z): high 102.5 is below max(open 103, close 103)"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    qt_catalog *c = NULL;
    qt_bars b;
    memset(&b, 0, sizeof b);
    put_bars(dir, cases[k].sym, 6);
    ASSERT_TRUE(qt_catalog_open(dir, 0, &c, NULL) == QT_OK);
    ASSERT_TRUE(qt_catalog_get_bars(c, cases[k].sym, &b, NULL) == QT_OK);
    qt_bars w;
    ASSERT_TRUE(qt_bars_alloc(&w, b.n, NULL) == QT_OK);
    for (size_t i = 0; i < b.n; i++) {
      w.ts_ms[i] = b.ts_ms[i], w.open[i] = b.open[i], w.high[i] = b.high[i];
      w.low[i] = b.low[i], w.close[i] = b.close[i], w.volume[i] = b.volume[i];
    }
    w.interval_ms = b.interval_ms;
    double *col[4] = {w.open, w.high, w.low, w.close};
    col[cases[k].field][3] = cases[k].v;
    qt_bars_fini(&b);
    ASSERT_TRUE(qt_catalog_put_bars(c, cases[k].sym, &w, NULL) == QT_OK);
    qt_bars_fini(&w);
    qt_catalog_close(c);
    qt_market_opts o = opts_for(dir, cases[k].sym);
    EXPECT_EQ(qt_market_load(&o, &m, &e), QT_EPARSE);
    EXPECT_CONTAINS(e.msg, cases[k].want);
    EXPECT_CONTAINS(e.msg, "1 bad bars in all");
    EXPECT_CONTAINS(e.msg, "--allow-dirty");
    o.allow_dirty = 1;
    ASSERT_TRUE(qt_market_load(&o, &m, &e) == QT_OK);
    ASSERT_TRUE(m.n_warnings == 1);
    EXPECT_CONTAINS(m.warnings[0], "1 bad bars used (--allow-dirty)");
    EXPECT_CONTAINS(m.warnings[0], cases[k].want);
    qt_market_free(&m);
  }
}

static void engine_settings(void) {
  qt_err e = {0};
  qt_engine_opts o = qt_engine_opts_default();
  EXPECT_EQ(qt_engine_opts_set(&o, "--cash", "-5", &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "--cash: must be > 0 (\"-5\")");
  EXPECT_NEAR(o.cash, 10000, 0);
  EXPECT_EQ(qt_engine_opts_set(&o, "cash", "0", &e), QT_EINVAL);
  EXPECT_EQ(qt_engine_opts_set(&o, "--cash", "5e3", &e), QT_OK);
  EXPECT_NEAR(o.cash, 5000, 0);
  EXPECT_EQ(qt_engine_opts_set(&o, "--slippage-bps", "-1", &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "--slippage-bps: must be >= 0 (\"-1\")");
  EXPECT_EQ(qt_engine_opts_set(&o, "--leverage", "0", &e), QT_OK); /* 0: no cap */
  EXPECT_NEAR(o.leverage_cap, 0, 0);
  EXPECT_EQ(qt_engine_opts_set(&o, "--leverage", "x", &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "--leverage: not a number (\"x\")");
  EXPECT_EQ(qt_engine_opts_set(&o, "--leverage", "inf", &e), QT_EINVAL);
  EXPECT_EQ(qt_engine_opts_set(&o, "--cash", NULL, &e), QT_EINVAL); /* a setting, no value */
  e.msg[0] = 0;
  EXPECT_EQ(qt_engine_opts_set(&o, "--seed", "1", &e), QT_ENOTFOUND);
  EXPECT_STREQ(e.msg, "");
}

static void out_of_memory(void) {
  char dir[128];
  qt_err e = {0};
  cat_path(dir, sizeof dir, "c6");
  put_bars(dir, "M", 24);
  put_funding(dir, "M", 0, 3);
  qt_market_opts o = opts_for(dir, "M");
  int done = 0;
  for (long k = 1; k < 50 && !done; k++) {
    qt_market m;
    qt_alloc_fail_at(k, 0);
    int rc = qt_market_load(&o, &m, &e);
    qt_alloc_fail_at(0, 0);
    if (rc == QT_OK) done = 1;
    else EXPECT_EQ(rc, QT_ENOMEM);
    qt_market_free(&m);
  }
  EXPECT_TRUE(done);
}

static void cleanup(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root());
  EXPECT_EQ(system(cmd), 0);
}

QT_TESTS(T(symbol_list), T(spot_and_perp), T(funding_coverage), T(window),
         T(second_venue_and_costs), T(refusals), T(dirty_series), T(engine_settings), T(out_of_memory), T(cleanup))
