/* Importers on the real files in tests/fixtures (trimmed copies) and on small
 * files written here (aggTrades, fundingRate, bookTicker, bad rows, containers). */
#include "qt_test.h"
#include "data/csv.h"
#include "data/import_int.h"
#include "qtune/data.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

static char g_dir[64];

static const char *tmpdir(void) {
  if (!g_dir[0]) {
    snprintf(g_dir, sizeof g_dir, "/tmp/qt_test_import_XXXXXX");
    if (!mkdtemp(g_dir)) abort();
  }
  return g_dir;
}

static const char *fixture(const char *rel, char *buf, size_t cap) {
  snprintf(buf, cap, "%s/%s", qt_test_fixtures(), rel);
  return buf;
}

static const char *write_tmp(const char *name, const char *text, char *buf, size_t cap) {
  snprintf(buf, cap, "%s/%s", tmpdir(), name);
  FILE *f = fopen(buf, "wb");
  if (!f) abort();
  fputs(text, f);
  fclose(f);
  return buf;
}

static int import1(const char *path, const qt_import_opts *o, qt_import *im, qt_err *e) {
  const char *p[1] = {path};
  return qt_import_files(p, 1, o, im, e);
}

static void kline_real(void) {
  char p[512];
  qt_import im;
  qt_err e = {0};
  ASSERT_TRUE(import1(fixture("binance/AVAXUSDT-1m-2026-06.csv", p, sizeof p), NULL, &im, &e) == QT_OK);
  EXPECT_EQ(im.kind, QT_KIND_BARS);
  /* the fixture is June's last 4 days: 5760 rows (wc -l minus the header),
   * 2026-06-27 00:00 UTC = 1782518400000 (date -u -d 2026-06-27 +%s) */
  EXPECT_EQ(im.bars.n, 5760);
  EXPECT_EQ(im.stats.rows_read, 5760);
  EXPECT_EQ(im.bars.interval_ms, 60000);
  EXPECT_EQ(im.bars.ts_ms[0], 1782518400000LL);
  EXPECT_EQ(im.bars.ts_ms[5759], 1782518400000LL + 5759LL * 60000);
  /* first row (sed -n 2p): 6.6290,6.6670,6.6280,6.6660,145809,...,968963.4320,4028,107045,711449.2820 */
  EXPECT_TRUE(im.bars.open[0] == 6.6290 && im.bars.high[0] == 6.6670);
  EXPECT_TRUE(im.bars.low[0] == 6.6280 && im.bars.close[0] == 6.6660);
  EXPECT_TRUE(im.bars.volume[0] == 145809 && im.bars.quote_volume[0] == 968963.4320);
  EXPECT_TRUE(im.bars.trade_count[0] == 4028 && im.bars.taker_buy_base[0] == 107045);
  EXPECT_TRUE(im.bars.taker_buy_quote[0] == 711449.2820);
  /* second row's close (sed -n 3p) */
  EXPECT_TRUE(im.bars.close[1] == 6.6390);
  qt_import_fini(&im);
}

static void kline_two_months_any_order(void) {
  char a[512], b[512];
  const char *p[2] = {fixture("binance/AVAXUSDT-1m-2026-07.csv", a, sizeof a),
                      fixture("binance/AVAXUSDT-1m-2026-06.csv", b, sizeof b)};
  qt_import im;
  qt_err e = {0};
  ASSERT_TRUE(qt_import_files(p, 2, NULL, &im, &e) == QT_OK);
  EXPECT_EQ(im.bars.n, 11520); /* 5760 + 5760 rows: June 27-30 and July 1-4 */
  EXPECT_EQ(im.stats.files, 2);
  EXPECT_EQ(im.stats.duplicates, 0);
  size_t gaps = 0;
  for (size_t i = 1; i < im.bars.n; i++) gaps += im.bars.ts_ms[i] - im.bars.ts_ms[i - 1] != 60000;
  EXPECT_EQ(gaps, 0);
  EXPECT_TRUE(im.bars.open[5760] == 6.5340); /* July's first bar follows June's last */
  qt_import_fini(&im);
}

static void kline_overlap_and_conflict(void) {
  /* June's file plus a file repeating its last 3 rows, one of them changed,
   * and adding 2 new minutes. */
  char a[512], b[512];
  const char *june = fixture("binance/AVAXUSDT-1m-2026-06.csv", a, sizeof a);
  int64_t t0 = 1782518400000LL + 5757LL * 60000; /* the fixture's last 3 of 5760 rows */
  char text[2048];
  qt_import j;
  ASSERT_TRUE(import1(june, NULL, &j, NULL) == QT_OK);
  size_t off = 0;
  for (int i = 0; i < 5; i++) {
    int64_t t = t0 + i * 60000;
    double c = i < 3 ? j.bars.close[5757 + i] : 7.0;
    if (i == 1) c = 99.5; /* a conflicting value for an existing minute */
    double o = i < 3 ? j.bars.open[5757 + i] : 7.0, h = i < 3 ? j.bars.high[5757 + i] : 7.1;
    if (h < c) h = c; /* the conflicting close stays a possible bar (import checks high) */
    double l = i < 3 ? j.bars.low[5757 + i] : 6.9, v = i < 3 ? j.bars.volume[5757 + i] : 10;
    double qv = i < 3 ? j.bars.quote_volume[5757 + i] : 70, n = i < 3 ? j.bars.trade_count[5757 + i] : 2;
    double tb = i < 3 ? j.bars.taker_buy_base[5757 + i] : 5, tq = i < 3 ? j.bars.taker_buy_quote[5757 + i] : 35;
    off += (size_t)snprintf(text + off, sizeof text - off, "%lld,%.17g,%.17g,%.17g,%.17g,%.17g,%lld,%.17g,%.17g,%.17g,%.17g,0\n",
                            (long long)t, o, h, l, c, v, (long long)(t + 59999), qv, n, tb, tq);
  }
  qt_import_fini(&j);
  const char *p[2] = {june, write_tmp("overlap.csv", text, b, sizeof b)};
  qt_import im;
  qt_err e = {0};
  ASSERT_TRUE(qt_import_files(p, 2, NULL, &im, &e) == QT_OK);
  EXPECT_EQ(im.stats.rows_read, 5765);
  EXPECT_EQ(im.bars.n, 5762);
  EXPECT_EQ(im.stats.duplicates, 2);
  EXPECT_EQ(im.stats.replaced, 1);
  EXPECT_TRUE(im.bars.close[5758] == 99.5); /* the later file wins */
  EXPECT_TRUE(im.bars.close[5761] == 7.0);
  qt_import_fini(&im);
}

static void kline_headerless_microseconds(void) {
  char b[512];
  /* spot dumps since 2025: no header, 16-digit microsecond stamps */
  const char *text =
      "1735689600000000,93576.00000000,93610.93000000,93537.50000000,93610.93000000,8.21827000,"
      "1735689659999999,768978.43,1430,4.52400000,423276.23,0\r\n"
      "1735689660000000,93610.93000000,93652.00000000,93606.00000000,93648.00000000,4.99700000,"
      "1735689719999999,467924.07,1050,2.5,234119.79,0\r\n";
  qt_import im;
  qt_err e = {0};
  ASSERT_TRUE(import1(write_tmp("spot.csv", text, b, sizeof b), NULL, &im, &e) == QT_OK);
  EXPECT_EQ(im.bars.n, 2);
  EXPECT_EQ(im.bars.ts_ms[0], 1735689600000LL);
  EXPECT_EQ(im.bars.interval_ms, 60000);
  EXPECT_TRUE(im.bars.close[1] == 93648.0 && im.bars.volume[0] == 8.21827);
  qt_import_fini(&im);
}

static void aggtrades(void) {
  char b[512], c[512];
  const char *with = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n"
                     "26129,0.01633102,4.70443515,27781,27781,1498793709153,true\n"
                     "26128,0.01633101,1.00000000,27780,27780,1498793709152,false\n"
                     "26130,0.01633103,2.5,27782,27783,1498793709200,false\n";
  /* a later dump in microseconds: the unit is decided per file */
  const char *without = "26130,0.01633103,2.5,27782,27783,1498793709200000,false\n"
                        "26131,0.0164,3,27784,27784,1498793709300000,True\n";
  const char *p[2] = {write_tmp("agg1.csv", with, b, sizeof b), write_tmp("agg2.csv", without, c, sizeof c)};
  qt_import im;
  qt_err e = {0};
  ASSERT_TRUE(qt_import_files(p, 2, NULL, &im, &e) == QT_OK);
  EXPECT_EQ(im.kind, QT_KIND_TRADES);
  EXPECT_EQ(im.trades.n, 4);
  EXPECT_EQ(im.stats.duplicates, 1);
  EXPECT_EQ(im.trades.id[0], 26128); /* sorted by time */
  EXPECT_EQ(im.trades.buyer_is_maker[0], 0);
  EXPECT_EQ(im.trades.buyer_is_maker[1], 1);
  EXPECT_TRUE(im.trades.price[1] == 0.01633102 && im.trades.qty[1] == 4.70443515);
  EXPECT_EQ(im.trades.ts_ms[3], 1498793709300LL); /* that file's microseconds read as ms */
  EXPECT_EQ(im.trades.buyer_is_maker[3], 1);
  qt_import_fini(&im);
}

static void funding_and_bookticker(void) {
  char b[512];
  const char *fr = "calc_time,funding_interval_hours,last_funding_rate\n"
                   "1704067200000,8,0.00037409\n1704096000000,8,-0.00010000\n1704124800000,4,0.0001\n";
  qt_import im;
  qt_err e = {0};
  ASSERT_TRUE(import1(write_tmp("fr.csv", fr, b, sizeof b), NULL, &im, &e) == QT_OK);
  EXPECT_EQ(im.kind, QT_KIND_FUNDING);
  EXPECT_EQ(im.funding.n, 3);
  EXPECT_TRUE(im.funding.rate[0] == 0.00037409 && im.funding.rate[1] == -0.0001);
  EXPECT_TRUE(im.funding.interval_h[0] == 8 && im.funding.interval_h[2] == 4);
  qt_import_fini(&im);
  const char *bt = "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time\n"
                   "4061,42283.5,3.1,42283.6,0.5,1704067200012,1704067200015\n"
                   "4062,42283.5,3.2,42283.6,0.5,1704067200012,1704067200016\n"
                   "4062,42283.5,3.2,42283.6,0.5,1704067200012,1704067200016\n"
                   "4063,42283.4,1,42283.5,2,1704067200020,1704067200021\n";
  ASSERT_TRUE(import1(write_tmp("bt.csv", bt, b, sizeof b), NULL, &im, &e) == QT_OK);
  EXPECT_EQ(im.kind, QT_KIND_QUOTES);
  EXPECT_EQ(im.quotes.n, 3); /* two rows at one ms differ; the exact repeat goes */
  EXPECT_EQ(im.stats.duplicates, 1);
  EXPECT_TRUE(im.quotes.bid_qty[0] == 3.1 && im.quotes.bid_qty[1] == 3.2);
  EXPECT_TRUE(im.quotes.ask[2] == 42283.5 && im.quotes.ask_qty[2] == 2);
  qt_import_fini(&im);
  /* classic Mac line ends (a lone CR) */
  ASSERT_TRUE(import1(write_tmp("fr_cr.csv", "calc_time,funding_interval_hours,last_funding_rate\r"
                                             "1704067200000,8,0.0001\r1704096000000,8,-0.0002\r", b, sizeof b),
                      NULL, &im, &e) == QT_OK);
  EXPECT_EQ(im.funding.n, 2);
  EXPECT_TRUE(im.funding.rate[1] == -0.0002);
  qt_import_fini(&im);
  /* without header: 7 numeric columns is bookTicker */
  ASSERT_TRUE(import1(write_tmp("bt2.csv", "1,10.5,1,10.6,2,1704067200000,1704067200001\n", b, sizeof b),
                      NULL, &im, &e) == QT_OK);
  EXPECT_EQ(im.kind, QT_KIND_QUOTES);
  qt_import_fini(&im);
}

static void generic_csv(void) {
  char p[512];
  qt_import im;
  qt_err e = {0};
  qt_import_opts o = qt_import_opts_default();
  o.format = QT_FMT_CSV;
  o.columns = "date=date_utc,open=open,high=high,low=low,close=close,volume=volume";
  ASSERT_TRUE(import1(fixture("freqtrade/XRP_USDT_USDT-5m-futures.csv", p, sizeof p), &o, &im, &e) == QT_OK);
  EXPECT_EQ(im.bars.n, 1999);
  EXPECT_EQ(im.bars.interval_ms, 300000);
  EXPECT_EQ(im.bars.ts_ms[0], 1636934400000LL);
  EXPECT_TRUE(im.bars.open[0] == 1.1893 && im.bars.close[0] == 1.1941 && im.bars.volume[0] == 9289043.5);
  EXPECT_EQ(im.bars.ts_ms[1998], 1636934400000LL + 1998LL * 300000);
  qt_import_fini(&im);
  /* auto: the header names are enough (date,open,high,low,close,volume) */
  ASSERT_TRUE(import1(fixture("oracles/ttrc.csv", p, sizeof p), NULL, &im, &e) == QT_OK);
  EXPECT_EQ(im.bars.n, 5550);
  EXPECT_EQ(im.bars.ts_ms[0], 473472000000LL); /* 1985-01-02 */
  EXPECT_TRUE(im.bars.open[1] == 3.09 && im.bars.volume[1] == 3099506);
  EXPECT_EQ(im.bars.interval_ms, 86400000);
  qt_import_fini(&im);
  /* column numbers instead of names, mapping keys checked */
  o.columns = "time=1,open=3,high=4,low=5,close=6";
  ASSERT_TRUE(import1(fixture("freqtrade/XRP_USDT_USDT-5m-futures.csv", p, sizeof p), &o, &im, &e) == QT_OK);
  EXPECT_TRUE(im.bars.high[0] == 1.1954 && im.bars.volume[0] == 0);
  qt_import_fini(&im);
  /* one price column feeding open/high/low/close (R's USDCHF half-hourly series) */
  o.columns = "time=datetime_utc,open=usdchf,high=usdchf,low=usdchf,close=usdchf";
  ASSERT_TRUE(import1(fixture("oracles/USDCHF.csv", p, sizeof p), &o, &im, &e) == QT_OK);
  EXPECT_EQ(im.bars.n, 3000); /* the fixture keeps the first 3000 rows */
  EXPECT_EQ(im.bars.ts_ms[0], 828309600000LL); /* 1996-03-31 22:00 UTC */
  EXPECT_TRUE(im.bars.open[1] == 1.1941 && im.bars.high[1] == 1.1941 && im.bars.close[1] == 1.1941);
  EXPECT_EQ(im.bars.interval_ms, 1800000);
  qt_import_fini(&im);
  fixture("freqtrade/XRP_USDT_USDT-5m-futures.csv", p, sizeof p);
  o.columns = "time=date_ms,opne=open";
  EXPECT_EQ(import1(p, &o, &im, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "unknown target 'opne'");
  o.columns = "time=nosuch,open=open,high=high,low=low,close=close";
  EXPECT_EQ(import1(p, &o, &im, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "no column 'nosuch'");
}

/* --date-format: R's ttrc.csv (1985-01-02,...) rewritten with US dates
 * ("1/2/1985") imports to the same bars as the original. */
static void generic_date_format(void) {
  char p[512], q[512];
  qt_import a, b;
  qt_err e = {0};
  FILE *in = fopen(fixture("oracles/ttrc.csv", p, sizeof p), "rb");
  ASSERT_TRUE(in != NULL);
  snprintf(q, sizeof q, "%s/ttrc_us.csv", tmpdir());
  FILE *out = fopen(q, "wb");
  ASSERT_TRUE(out != NULL);
  char line[256];
  int n = 0, y, m, d;
  while (fgets(line, sizeof line, in) && n < 300) {
    char *comma = strchr(line, ',');
    if (n++ == 0 || !comma || sscanf(line, "%d-%d-%d", &y, &m, &d) != 3) fputs(line, out);
    else fprintf(out, "%d/%d/%d%s", m, d, y, comma);
  }
  fclose(in);
  fclose(out);
  qt_import_opts o = qt_import_opts_default();
  o.format = QT_FMT_CSV;
  ASSERT_TRUE(import1(p, &o, &a, &e) == QT_OK);
  o.date_format = "%m/%d/%Y";
  ASSERT_TRUE(import1(q, &o, &b, &e) == QT_OK);
  EXPECT_EQ(b.bars.n, 299);
  EXPECT_EQ(b.bars.ts_ms[0], 473472000000LL); /* 1985-01-02 */
  int same = 1;
  for (size_t i = 0; i < b.bars.n; i++)
    same &= a.bars.ts_ms[i] == b.bars.ts_ms[i] && a.bars.close[i] == b.bars.close[i];
  EXPECT_TRUE(same);
  qt_import_fini(&a);
  qt_import_fini(&b);
  /* the ISO file under the US format: the first data row is named */
  EXPECT_EQ(import1(p, &o, &a, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "ttrc.csv:2: field 'date': not a date in the format \"%m/%d/%Y\" (\"1985-01-02\")");
  /* a typo in the format is the user's: no file is read */
  o.date_format = "%m/%d/%Q";
  EXPECT_EQ(import1(q, &o, &a, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "unknown directive %Q");
  EXPECT_EQ(a.bars.n, 0);
}

static void freqtrade_funding(void) {
  char p[512];
  qt_import im;
  qt_err e = {0};
  qt_import_opts o = qt_import_opts_default();
  o.kind = QT_KIND_FUNDING;
  o.columns = "time=date_ms,rate=open";
  ASSERT_TRUE(import1(fixture("freqtrade/XRP_USDT_USDT-8h-funding_rate.csv", p, sizeof p), &o, &im, &e) == QT_OK);
  EXPECT_EQ(im.kind, QT_KIND_FUNDING);
  EXPECT_EQ(im.funding.n, 91);
  EXPECT_EQ(im.funding.ts_ms[0], 1637193600017LL);
  double lo = 1, hi = -1;
  size_t base = 0;
  for (size_t i = 0; i < im.funding.n; i++) {
    lo = im.funding.rate[i] < lo ? im.funding.rate[i] : lo;
    hi = im.funding.rate[i] > hi ? im.funding.rate[i] : hi;
    base += im.funding.rate[i] == 0.0001;
  }
  EXPECT_TRUE(lo == -0.00219334 && hi == 0.00058316);
  EXPECT_EQ(base, 70);
  EXPECT_TRUE(im.funding.interval_h[0] == 8.0 && im.funding.interval_h[90] == 8.0);
  qt_import_fini(&im);
}

static void freqtrade_json_and_trades(void) {
  char p[512];
  qt_import im;
  qt_err e = {0};
  ASSERT_TRUE(import1(fixture("freqtrade/UNITTEST_BTC-1m.json", p, sizeof p), NULL, &im, &e) == QT_OK);
  EXPECT_EQ(im.kind, QT_KIND_BARS);
  EXPECT_EQ(im.bars.n, 3000); /* the fixture keeps the first 3000 candles */
  EXPECT_EQ(im.bars.interval_ms, 60000); /* despite 203 gaps */
  EXPECT_EQ(im.bars.ts_ms[0], 1509836520000LL);
  EXPECT_TRUE(im.bars.close[0] == 0.00162008 && im.bars.volume[0] == 108.14853839);
  size_t gaps = 0;
  for (size_t i = 1; i < im.bars.n; i++) gaps += im.bars.ts_ms[i] - im.bars.ts_ms[i - 1] != 60000;
  /* steps != 60000 ms among the fixture's 3000 stamps, counted in python */
  EXPECT_EQ(gaps, 203);
  qt_import_fini(&im);
  ASSERT_TRUE(import1(fixture("freqtrade/XRP_ETH-trades.json", p, sizeof p), NULL, &im, &e) == QT_OK);
  EXPECT_EQ(im.kind, QT_KIND_TRADES);
  EXPECT_EQ(im.trades.n + im.stats.duplicates, 3000); /* the fixture's first 3000 trades */
  EXPECT_EQ(im.trades.ts_ms[0], 1570752011620LL);
  EXPECT_EQ(im.trades.id[0], 13519807);
  EXPECT_TRUE(im.trades.price[0] == 0.00141342 && im.trades.qty[0] == 23.0);
  EXPECT_EQ(im.trades.buyer_is_maker[0], 1); /* "sell": the taker sold */
  EXPECT_EQ(im.trades.buyer_is_maker[3], 0);
  qt_import_fini(&im);
  ASSERT_TRUE(import1(fixture("freqtrade/orderflow_public_trades_list.csv", p, sizeof p), NULL, &im, &e) == QT_OK);
  EXPECT_EQ(im.kind, QT_KIND_TRADES);
  EXPECT_EQ(im.trades.n, 1000);
  EXPECT_EQ(im.trades.ts_ms[0], 1675329600138LL);
  EXPECT_EQ(im.trades.id[0], 1206419187);
  EXPECT_TRUE(im.trades.price[0] == 1666.8 && im.trades.qty[0] == 26.062);
  EXPECT_EQ(im.trades.buyer_is_maker[0], 0);
  EXPECT_EQ(im.trades.buyer_is_maker[1], 1);
  qt_import_fini(&im);
}

static void bad_rows(void) {
  char b[512];
  const char *text = "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n"
                     "1780272000000,8.9810,8.9820,8.9710,8.9740,17315,1780272059999,155466.8640,397,7701,69159.0090,0\n"
                     "1780272060000,8.9740,8.9750,8.9710,1.2.3,6406,1780272119999,57482.0670,318,3502,31423.2190,0\n"
                     "1780272120000,8.9740,8.9750,8.9690,8.97,6406,1780272179999,57482.0670,318,3502,31423.2190\n"
                     "17802721x0000,8.9740,8.9750,8.9690,8.97,6406,1780272239999,57482.0670,318,3502,31423.2190,0\n"
                     "1780272240000,8.9740,8.9750,8.9690,8.97,6406,1780272299999,57482.0670,318,3502,31423.2190,0\n";
  const char *path = write_tmp("bad.csv", text, b, sizeof b);
  qt_import im;
  qt_err e = {0};
  EXPECT_EQ(import1(path, NULL, &im, &e), QT_EPARSE);
  char want[700];
  snprintf(want, sizeof want, "%s:3: field 'close': not a number (\"1.2.3\")", path);
  EXPECT_STREQ(e.msg, want);
  EXPECT_TRUE(im.bars.n == 0 && im.bars.ts_ms == NULL);
  qt_import_opts o = qt_import_opts_default();
  o.skip_bad = 1;
  ASSERT_TRUE(import1(path, &o, &im, &e) == QT_OK);
  EXPECT_EQ(im.bars.n, 2);
  EXPECT_EQ(im.stats.skipped, 3);
  EXPECT_EQ(im.stats.rows_read, 5);
  EXPECT_STREQ(im.stats.first_bad, want);
  EXPECT_EQ(im.bars.ts_ms[1], 1780272240000LL);
  qt_import_fini(&im);
  /* the other two messages, one at a time */
  const char *cnt = "1780272120000,8.9740,8.9750,8.9690,8.97,6406,1780272179999,57482.0670,318,3502,31423.2190,0\n"
                    "1780272180000,8.9740,8.9750,8.9690,8.97,6406,1780272179999,57482.0670,318,3502,31423.2190\n";
  path = write_tmp("bad2.csv", cnt, b, sizeof b);
  EXPECT_EQ(import1(path, NULL, &im, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "bad2.csv:2: expected 12 fields, got 11");
  const char *ts = "1780272120000,8.9740,8.9750,8.9690,8.97,6406,1780272179999,57482.0670,318,3502,31423.2190,0\n"
                   "17802721x0000,8.9740,8.9750,8.9690,8.97,6406,1780272239999,57482.0670,318,3502,31423.2190,0\n";
  path = write_tmp("bad3.csv", ts, b, sizeof b);
  EXPECT_EQ(import1(path, NULL, &im, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "bad3.csv:2: field 'open_time': not a timestamp (\"17802721x0000\")");
  /* every row bad: skip_bad still fails, nothing to import */
  path = write_tmp("allbad.csv", "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n"
                                 "x,1,1,1,1,1,1,1,1,1,1,0\n", b, sizeof b);
  EXPECT_EQ(import1(path, &o, &im, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "no data rows (every row was malformed)");
}

/* Rows that parse but cannot be market data are refused with FILE:LINE and
 * the field, or skipped and counted with skip_bad. */
static void impossible_values(void) {
  char b[512];
  const char *ok = "1780272000000,8.9810,8.9820,8.9710,8.9740,17315,1780272059999,155466.8640,397,7701,69159.0090,0\n";
  static const struct {
    const char *row, *want;
  } cases[] = {
      {"1780272060000,8.974,8.975,8.971,0,6406,1780272119999,5.7,318,35,31.2,0\n", ":2: field 'close': not positive (0)"},
      {"1780272060000,-8.974,8.975,8.971,8.972,6406,1780272119999,5.7,318,35,31.2,0\n", ":2: field 'open': not positive (-8.974)"},
      {"1780272060000,8.974,1e308,8.971,8.972,6406,1780272119999,5.7,318,35,31.2,0\n", ":2: field 'high': absurd price 1e+308 (above 1e+12)"},
      {"1780272060000,8.974,8.973,8.971,8.972,6406,1780272119999,5.7,318,35,31.2,0\n", ":2: field 'high': 8.973 is below max(open 8.974, close 8.972)"},
      {"1780272060000,8.974,8.975,8.973,8.972,6406,1780272119999,5.7,318,35,31.2,0\n", ":2: field 'low': 8.973 is above min(open 8.974, close 8.972)"},
      {"1780272060000,8.974,8.975,8.971,8.972,-1,1780272119999,5.7,318,35,31.2,0\n", ":2: field 'volume': negative (-1)"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char text[400];
    snprintf(text, sizeof text, "%s%s%s", ok, cases[k].row, ok);
    const char *path = write_tmp("impossible.csv", text, b, sizeof b);
    qt_import im;
    qt_err e = {0};
    EXPECT_EQ(import1(path, NULL, &im, &e), QT_EPARSE);
    char want[700];
    snprintf(want, sizeof want, "%s%s", path, cases[k].want);
    EXPECT_STREQ(e.msg, want);
    qt_import_opts o = qt_import_opts_default();
    o.skip_bad = 1;
    ASSERT_TRUE(import1(path, &o, &im, &e) == QT_OK);
    EXPECT_EQ(im.stats.skipped, 1);
    EXPECT_EQ(im.bars.n, 1); /* the two good rows are one minute */
    EXPECT_STREQ(im.stats.first_bad, want);
    qt_import_fini(&im);
  }
  /* a freqtrade candle with a zero low, and a trade with a negative price */
  const char *js = "[[1780272000000,8.98,8.99,0,8.97,100],[1780272060000,8.98,8.99,8.96,8.97,100]]";
  qt_import im;
  qt_err e = {0};
  EXPECT_EQ(import1(write_tmp("zero.json", js, b, sizeof b), NULL, &im, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "zero.json: element 1: field 'low': not positive (0)");
  const char *tr = "time,price,qty\n1780272000000,-1,2\n";
  EXPECT_EQ(import1(write_tmp("neg.csv", tr, b, sizeof b), NULL, &im, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "neg.csv:2: field 'price': not positive (-1)");
}

/* The epoch unit is decided once per file: a 13-digit first stamp makes the
 * file milliseconds, so a later 15-digit stamp stays milliseconds (per
 * value it read as microseconds and went back ~50 years); --time-unit sets
 * it.  And a date that does not exist is refused, not rolled over. */
static void time_units_and_dates(void) {
  char b[512];
  const char *text = "time,open,high,low,close\n"
                     "1780272000000,1,1,1,1\n"
                     "100000000000000,1,1,1,1\n";
  qt_import im;
  qt_err e = {0};
  ASSERT_TRUE(import1(write_tmp("units.csv", text, b, sizeof b), NULL, &im, &e) == QT_OK);
  ASSERT_TRUE(im.bars.n == 2);
  EXPECT_EQ(im.bars.ts_ms[0], 1780272000000LL);
  EXPECT_EQ(im.bars.ts_ms[1], 100000000000000LL);
  qt_import_fini(&im);
  qt_import_opts o = qt_import_opts_default();
  EXPECT_EQ(qt_time_unit_parse("us", &o.time_unit), QT_OK);
  EXPECT_EQ(o.time_unit, QT_TIME_UNIT_US);
  EXPECT_EQ(qt_time_unit_parse("days", &o.time_unit), QT_EINVAL);
  /* 10 digits read as seconds by magnitude, as ms when told so */
  const char *secs = "time,open,high,low,close\n1780272000,1,1,1,1\n";
  ASSERT_TRUE(import1(write_tmp("secs.csv", secs, b, sizeof b), NULL, &im, &e) == QT_OK);
  EXPECT_EQ(im.bars.ts_ms[0], 1780272000000LL);
  qt_import_fini(&im);
  o.time_unit = QT_TIME_UNIT_MS;
  ASSERT_TRUE(import1(write_tmp("secs.csv", secs, b, sizeof b), &o, &im, &e) == QT_OK);
  EXPECT_EQ(im.bars.ts_ms[0], 1780272000LL);
  qt_import_fini(&im);
  o.time_unit = 9;
  EXPECT_EQ(import1(write_tmp("secs.csv", secs, b, sizeof b), &o, &im, &e), QT_EINVAL);
  const char *iso = "time,open,high,low,close\n1996-02-29,1,1,1,1\n1996-02-30,1,1,1,1\n";
  EXPECT_EQ(import1(write_tmp("iso.csv", iso, b, sizeof b), NULL, &im, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "iso.csv:3: field 'time': not a timestamp (\"1996-02-30\")");
  int64_t t;
  EXPECT_EQ(qt_time_parse("1996-02-30", 10, &t, NULL), QT_EPARSE);
  EXPECT_EQ(qt_time_parse("1900-02-29T00:00", 16, &t, NULL), QT_EPARSE);
  EXPECT_EQ(qt_time_parse("2000-02-29T00:00", 16, &t, NULL), QT_OK);
  EXPECT_EQ(qt_time_parse("2026-04-31", 10, &t, NULL), QT_EPARSE);
}

static void bad_files(void) {
  char b[512];
  qt_import im;
  qt_err e = {0};
  EXPECT_EQ(import1(write_tmp("empty.csv", "", b, sizeof b), NULL, &im, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "empty.csv: empty file");
  EXPECT_EQ(import1(write_tmp("blank.csv", "\n\n  \n", b, sizeof b), NULL, &im, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "empty file");
  EXPECT_EQ(import1(tmpdir(), NULL, &im, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "is a directory");
  snprintf(b, sizeof b, "%s/nope.csv", tmpdir());
  EXPECT_EQ(import1(b, NULL, &im, &e), QT_ENOTFOUND);
  EXPECT_CONTAINS(e.msg, "nope.csv: cannot open");
  EXPECT_EQ(import1(write_tmp("hdr.csv", "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n", b, sizeof b), NULL, &im, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "no data rows");
  EXPECT_EQ(import1(write_tmp("five.csv", "1,2,3,4,5\n", b, sizeof b), NULL, &im, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "cannot tell the format (5 columns, no header); use --format");
  EXPECT_EQ(import1(write_tmp("j.json", "[[1,2,3]]", b, sizeof b), NULL, &im, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "at least 6 values");
  EXPECT_EQ(import1(write_tmp("j2.json", "[[1509836520000, 0.1, 0.1, 0.1, 0.1,", b, sizeof b), NULL, &im, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "invalid JSON");
  /* a trades file where bars were asked for */
  qt_import_opts o = qt_import_opts_default();
  o.kind = QT_KIND_BARS;
  EXPECT_EQ(import1(write_tmp("agg.csv", "1,0.5,1,1,1,1498793709153,true\n", b, sizeof b), &o, &im, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "holds trades, not bars");
}

/* Writes the June file gzipped / zipped (whole and truncated). */
static void containers(void) {
  char src[512], gz[512], zp[512];
  fixture("binance/AVAXUSDT-1m-2026-06.csv", src, sizeof src);
  FILE *f = fopen(src, "rb");
  ASSERT_TRUE(f != NULL);
  static char data[5 << 20];
  size_t n = fread(data, 1, sizeof data, f);
  fclose(f);
  snprintf(gz, sizeof gz, "%s/june.csv.gz", tmpdir());
  gzFile g = gzopen(gz, "wb6");
  ASSERT_TRUE(g != NULL);
  gzwrite(g, data, (unsigned)n);
  gzclose(g);
  snprintf(zp, sizeof zp, "%s/june.zip", tmpdir());
  int ze = 0;
  zip_t *z = zip_open(zp, ZIP_CREATE | ZIP_TRUNCATE, &ze);
  ASSERT_TRUE(z != NULL);
  zip_source_t *s = zip_source_buffer(z, data, n, 0);
  zip_file_add(z, "AVAXUSDT-1m-2026-06.csv", s, ZIP_FL_OVERWRITE);
  ASSERT_TRUE(zip_close(z) == 0);
  qt_import im;
  qt_err e = {0};
  ASSERT_TRUE(import1(gz, NULL, &im, &e) == QT_OK);
  EXPECT_EQ(im.bars.n, 5760);
  EXPECT_TRUE(im.bars.close[0] == 6.6660);
  qt_import_fini(&im);
  ASSERT_TRUE(import1(zp, NULL, &im, &e) == QT_OK);
  EXPECT_EQ(im.bars.n, 5760);
  EXPECT_TRUE(im.bars.taker_buy_quote[0] == 711449.2820);
  qt_import_fini(&im);
  /* gz and zip of the same data together: all duplicates */
  const char *both[2] = {gz, zp};
  ASSERT_TRUE(qt_import_files(both, 2, NULL, &im, &e) == QT_OK);
  EXPECT_EQ(im.bars.n, 5760);
  EXPECT_EQ(im.stats.duplicates, 5760);
  qt_import_fini(&im);
  /* truncated copies */
  struct stat st;
  ASSERT_TRUE(stat(gz, &st) == 0);
  ASSERT_TRUE(truncate(gz, st.st_size / 2) == 0);
  EXPECT_EQ(import1(gz, NULL, &im, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "truncated gzip");
  ASSERT_TRUE(stat(zp, &st) == 0);
  ASSERT_TRUE(truncate(zp, st.st_size / 2) == 0);
  EXPECT_EQ(import1(zp, NULL, &im, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "june.zip");
  EXPECT_CONTAINS(e.msg, "zip");
  ASSERT_TRUE(truncate(zp, 3) == 0); /* "PK\3" only */
  EXPECT_NE(import1(zp, NULL, &im, &e), QT_OK);
}

/* The fast number path must agree bit for bit with strtod. */
static void exact_numbers(void) {
  qt_rng r;
  qt_rng_seed(&r, 42);
  char buf[64];
  size_t bad = 0;
  for (int i = 0; i < 200000; i++) {
    double v;
    switch (i % 4) {
    case 0: v = qt_rng_uniform(&r) * 1e5; snprintf(buf, sizeof buf, "%.*f", (int)qt_rng_below(&r, 9), v); break;
    case 1: v = qt_rng_normal(&r) * 1e-3; snprintf(buf, sizeof buf, "%.17g", v); break;
    case 2: v = qt_rng_uniform(&r) * 100; snprintf(buf, sizeof buf, "%.15g", v); break;
    default: v = (double)qt_rng_below(&r, 1000000000) / 1e8; snprintf(buf, sizeof buf, "%.8f", v); break;
    }
    double a, want = strtod(buf, NULL);
    if (qt__parse_f64(buf, strlen(buf), &a) != QT_OK || memcmp(&a, &want, 8) != 0) bad++;
  }
  EXPECT_EQ(bad, 0);
  double d;
  EXPECT_EQ(qt__parse_f64("1e-05", 5, &d), QT_OK);
  EXPECT_TRUE(d == 1e-05);
  EXPECT_EQ(qt__parse_f64("123456789012345678901234", 24, &d), QT_OK);
  EXPECT_TRUE(d == 123456789012345678901234.0);
  EXPECT_EQ(qt__parse_f64("-0.000000000000000000000000001", 30, &d), QT_OK);
  EXPECT_TRUE(d == -1e-27);
  EXPECT_EQ(qt__parse_f64("nan", 3, &d), QT_EPARSE);
  EXPECT_EQ(qt__parse_f64("inf", 3, &d), QT_EPARSE);
  EXPECT_EQ(qt__parse_f64("0x10", 4, &d), QT_EPARSE);
  EXPECT_EQ(qt__parse_f64("", 0, &d), QT_EPARSE);
  EXPECT_EQ(qt__parse_f64("1.", 2, &d), QT_OK);
  EXPECT_EQ(qt__parse_f64(".", 1, &d), QT_EPARSE);
  EXPECT_EQ(qt__parse_f64("1e", 2, &d), QT_EPARSE);
  EXPECT_EQ(qt__parse_f64("1e999", 5, &d), QT_EPARSE);
}

/* Forces every allocation of a small import to fail in turn. */
static void out_of_memory(void) {
  char b[512];
  const char *path = write_tmp("oom.csv", "calc_time,funding_interval_hours,last_funding_rate\n"
                                          "1704096000000,8,-0.0001\n1704067200000,8,0.0003\n", b, sizeof b);
  int ok = 0;
  for (long k = 1; k < 40 && !ok; k++) {
    qt_import im;
    qt_err e = {0};
    qt_alloc_fail_at(k, 0);
    int rc = import1(path, NULL, &im, &e);
    qt_alloc_fail_at(0, 0);
    if (rc == QT_OK) {
      ok = 1;
      EXPECT_EQ(im.funding.n, 2);
      EXPECT_EQ(im.funding.ts_ms[0], 1704067200000LL);
      qt_import_fini(&im);
    } else {
      EXPECT_EQ(rc, QT_ENOMEM);
      EXPECT_TRUE(im.funding.ts_ms == NULL);
    }
  }
  EXPECT_TRUE(ok);
}

/* Inputs that once crashed or misbehaved under the fuzzer stay fixed. */
static void fuzz_repros(void) {
  const char *dir = "tests/data/fuzz_repro";
  DIR *d = opendir(dir);
  ASSERT_TRUE(d != NULL);
  struct dirent *ent;
  int n = 0;
  while ((ent = readdir(d))) {
    if (ent->d_name[0] == '.') continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    static char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    for (int skip = 0; skip < 2; skip++) {
      qt_import_opts o = qt_import_opts_default();
      o.skip_bad = skip;
      qt_import im;
      qt_err e = {0};
      int rc = qt__import_buffer(ent->d_name, buf, len, &o, &im, &e);
      if (rc == QT_OK && strcmp(ent->d_name, "seed-same-time-trades.csv") == 0) {
        /* 200 rows of 3 distinct trades at one ms: the big-group dedupe path */
        EXPECT_EQ(im.trades.n, 3);
        EXPECT_EQ(im.stats.duplicates, 197);
        EXPECT_TRUE(im.trades.id[0] == 0 && im.trades.id[2] == 2);
      }
      if (rc == QT_OK) qt_import_fini(&im);
      else EXPECT_TRUE(e.msg[0] != '\0');
    }
    n++;
  }
  closedir(d);
  EXPECT_TRUE(n >= 1);
}

static void cleanup(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir());
  EXPECT_EQ(system(cmd), 0);
}

QT_TESTS(T(kline_real), T(kline_two_months_any_order), T(kline_overlap_and_conflict),
         T(kline_headerless_microseconds), T(aggtrades), T(funding_and_bookticker), T(generic_csv), T(generic_date_format),
         T(freqtrade_funding), T(freqtrade_json_and_trades), T(bad_rows), T(impossible_values), T(time_units_and_dates), T(bad_files),
         T(containers), T(exact_numbers), T(out_of_memory), T(fuzz_repros), T(cleanup))
