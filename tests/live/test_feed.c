/* The live feeds (src/live/feed*.c): Binance's websocket messages parsed
 * with their field names (raw and combined streams, every kind, the
 * delivery contract's empty funding rate), refusals that name the field;
 * replay speeds; the stream feed's line handling on a pipe (bad and
 * too-long lines counted, never returned, partial klines skipped, a last
 * line without a newline); the replay feed's merged order and resume skip;
 * and the fuzz reproducers in tests/fuzz/repro_feed parse or fail cleanly. */
#include "qt_test.h"
#include "qtune/live.h"

#include <dirent.h>
#include <unistd.h>

#define LLVMFuzzerTestOneInput fuzz_feed_one
#include "../../fuzz/fuzz_feed.c"
#undef LLVMFuzzerTestOneInput

static const char *k_kline =
    "{\"e\":\"kline\",\"E\":1782518460000,\"s\":\"AVAXUSDT\",\"k\":{\"t\":1782518400000,"
    "\"T\":1782518459999,\"s\":\"AVAXUSDT\",\"i\":\"1m\",\"f\":1,\"L\":2,\"o\":\"6.6290\","
    "\"c\":\"6.6660\",\"h\":\"6.6670\",\"l\":\"6.6280\",\"v\":\"145809\",\"n\":4028,\"x\":true,"
    "\"q\":\"968963.4320\",\"V\":\"107045\",\"Q\":\"711449.2820\",\"B\":\"0\"}}";

static int parse(const char *m, qt_live_event *e, qt_err *err) {
  qt_err_clear(err);
  return qt_live_parse_binance(m, strlen(m), e, err);
}

static void kline_fields(void) {
  qt_live_event e;
  qt_err err;
  EXPECT_EQ(parse(k_kline, &e, &err), 0);
  EXPECT_EQ(e.kind, QT_LIVE_BAR);
  EXPECT_STREQ(e.symbol, "AVAXUSDT");
  EXPECT_EQ(e.ts_ms, INT64_C(1782518400000));
  EXPECT_EQ(e.close_ms, INT64_C(1782518459999));
  EXPECT_DBL_EQ(e.open, 6.6290);
  EXPECT_DBL_EQ(e.high, 6.6670);
  EXPECT_DBL_EQ(e.low, 6.6280);
  EXPECT_DBL_EQ(e.close, 6.6660);
  EXPECT_DBL_EQ(e.volume, 145809);
  EXPECT_DBL_EQ(e.trade_count, 4028);
  EXPECT_DBL_EQ(e.taker_buy_quote, 711449.2820);
  EXPECT_EQ(e.closed, 1);
}

static void other_kinds(void) {
  qt_live_event e;
  qt_err err;
  EXPECT_EQ(parse("{\"stream\":\"btcusdt@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"E\":123456789,"
                  "\"s\":\"btcusdt\",\"a\":5933014,\"p\":\"0.001\",\"q\":\"100\",\"f\":100,"
                  "\"l\":105,\"T\":123456785,\"m\":true,\"M\":true}}",
                  &e, &err),
            0);
  EXPECT_EQ(e.kind, QT_LIVE_TRADE);
  EXPECT_STREQ(e.symbol, "BTCUSDT"); /* upper-cased like the catalog's */
  EXPECT_EQ(e.id, 5933014);
  EXPECT_DBL_EQ(e.price, 0.001);
  EXPECT_EQ(e.ts_ms, 123456785);
  EXPECT_EQ(e.buyer_is_maker, 1);
  /* spot's bookTicker has no "e" */
  EXPECT_EQ(parse("{\"u\":400900217,\"s\":\"BNBUSDT\",\"b\":\"25.3519\",\"B\":\"31.21\","
                  "\"a\":\"25.3652\",\"A\":\"40.66\"}",
                  &e, &err),
            0);
  EXPECT_EQ(e.kind, QT_LIVE_QUOTE);
  EXPECT_DBL_EQ(e.ask_qty, 40.66);
  EXPECT_EQ(e.ts_ms, 0);
  EXPECT_EQ(parse("{\"e\":\"bookTicker\",\"u\":4,\"E\":1568014460893,\"T\":1568014460891,"
                  "\"s\":\"BNBUSDT\",\"b\":\"25.3519\",\"B\":\"31.21\",\"a\":\"25.3652\","
                  "\"A\":\"40.66\"}",
                  &e, &err),
            0);
  EXPECT_EQ(e.ts_ms, INT64_C(1568014460891));
  EXPECT_EQ(parse("{\"e\":\"markPriceUpdate\",\"E\":1562305380000,\"s\":\"BTCUSDT\","
                  "\"p\":\"11794.15\",\"i\":\"11784.6\",\"P\":\"11784.2\",\"r\":\"0.00038167\","
                  "\"T\":1562306400000}",
                  &e, &err),
            0);
  EXPECT_EQ(e.kind, QT_LIVE_MARK);
  EXPECT_DBL_EQ(e.funding_rate, 0.00038167);
  EXPECT_EQ(e.next_funding_ms, INT64_C(1562306400000));
  EXPECT_DBL_EQ(e.mark, 11794.15);
  /* a delivery contract: no funding */
  EXPECT_EQ(parse("{\"e\":\"markPriceUpdate\",\"E\":1,\"s\":\"BTCUSD_201225\",\"p\":\"10934.6\","
                  "\"P\":\"1\",\"i\":\"1\",\"r\":\"\",\"T\":0}",
                  &e, &err),
            0);
  EXPECT_TRUE(isnan(e.funding_rate));
  EXPECT_EQ(parse("{\"result\":null,\"id\":1}", &e, &err), QT_DONE);
}

static void refusals_name_the_field(void) {
  qt_live_event e;
  qt_err err;
  EXPECT_EQ(parse("not json", &e, &err), QT_EPARSE);
  EXPECT_CONTAINS(err.msg, "not JSON");
  EXPECT_EQ(parse("[1,2]", &e, &err), QT_EPARSE);
  EXPECT_EQ(parse("{\"e\":\"depthUpdate\"}", &e, &err), QT_EPARSE);
  EXPECT_CONTAINS(err.msg, "unknown event \"depthUpdate\"");
  EXPECT_EQ(parse("{\"s\":\"X\"}", &e, &err), QT_EPARSE);
  EXPECT_CONTAINS(err.msg, "no event type");
  char m[2048];
  snprintf(m, sizeof m, "%s", k_kline);
  char *o = strstr(m, "\"o\":\"6.6290\"");
  memcpy(o, "\"o\":\"6.6x90\"", 12);
  EXPECT_EQ(parse(m, &e, &err), QT_EPARSE);
  EXPECT_STREQ(err.msg, "kline: field \"k.o\": not a number (\"6.6x90\")");
  EXPECT_EQ(e.kind, 0); /* reset on failure */
  snprintf(m, sizeof m, "%s", k_kline);
  o = strstr(m, "\"x\":true");
  memcpy(o, "\"y\":true", 8);
  EXPECT_EQ(parse(m, &e, &err), QT_EPARSE);
  EXPECT_STREQ(err.msg, "kline: field \"k.x\" missing");
  snprintf(m, sizeof m, "%s", k_kline);
  o = strstr(m, "\"h\":\"6.6670\"");
  memcpy(o, "\"h\":\"6.6000\"", 12);
  EXPECT_EQ(parse(m, &e, &err), QT_EPARSE);
  EXPECT_CONTAINS(err.msg, "high/low");
  EXPECT_EQ(parse("{\"e\":\"aggTrade\",\"s\":\"BTCUSDT\",\"a\":1,\"p\":\"-1\",\"q\":\"1\",\"T\":1,"
                  "\"m\":false}",
                  &e, &err),
            QT_EPARSE);
  EXPECT_CONTAINS(err.msg, "field \"p\": negative");
  EXPECT_EQ(parse("{\"e\":\"aggTrade\",\"s\":\"BTC USDT\",\"a\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1,"
                  "\"m\":false}",
                  &e, &err),
            QT_EPARSE);
  EXPECT_CONTAINS(err.msg, "not a symbol");
  EXPECT_EQ(parse("{\"e\":\"markPriceUpdate\",\"E\":1,\"s\":\"B\",\"p\":\"1\",\"r\":\"5\",\"T\":2}",
                  &e, &err),
            QT_EPARSE);
  EXPECT_CONTAINS(err.msg, "out of range");
}

static void speeds(void) {
  double v = -1;
  qt_err err;
  EXPECT_EQ(qt_live_speed_parse("max", &v, &err), 0);
  EXPECT_DBL_EQ(v, 0);
  EXPECT_EQ(qt_live_speed_parse("60x", &v, &err), 0);
  EXPECT_DBL_EQ(v, 60);
  EXPECT_EQ(qt_live_speed_parse("1x", &v, &err), 0);
  EXPECT_DBL_EQ(v, 1);
  EXPECT_EQ(qt_live_speed_parse("fast", &v, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "\"fast\"");
  EXPECT_EQ(qt_live_speed_parse("0x", &v, &err), QT_EINVAL);
  EXPECT_EQ(qt_live_speed_parse("x", &v, &err), QT_EINVAL);
}

/* The stream feed reading text from a pipe as its standard input. */
static void read_stream(const char *text, size_t len, qt_live_event *ev, size_t cap, size_t *n,
                        qt_live_counts *c) {
  *n = 0;
  char path[] = "/tmp/qtune_test_feed_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_TRUE(fd >= 0);
  ASSERT_TRUE(write(fd, text, len) == (ssize_t)len);
  lseek(fd, 0, SEEK_SET);
  unlink(path);
  int saved = dup(0);
  dup2(fd, 0); /* stdin: read to its end, not followed */
  close(fd);
  qt_live_stream_opts so = {"-", 0};
  qt_livefeed f;
  qt_err err;
  ASSERT_TRUE(qt_livefeed_stream(&so, &f, &err) == 0);
  int r;
  qt_live_event e;
  while ((r = f.vt->next(f.self, &e, 1000, &err)) == QT_OK)
    if (*n < cap) ev[(*n)++] = e;
  EXPECT_EQ(r, QT_DONE);
  f.vt->counts(f.self, c);
  qt_livefeed_close(&f);
  qt_livefeed_close(&f); /* a no-op the second time */
  dup2(saved, 0);
  close(saved);
}

static void stream_counts_bad_lines(void) {
  size_t big = QT_LIVE_MSG_MAX + 100, off = 0;
  char *t = malloc(big + 8192);
  ASSERT_TRUE(t != NULL);
  off += (size_t)sprintf(t + off, "%s\n\n", k_kline);
  off += (size_t)sprintf(t + off, "garbage\n{\"result\":null,\"id\":7}\n");
  /* a partial (x false) kline */
  const char *x = strstr(k_kline, "\"x\":true");
  off += (size_t)sprintf(t + off, "%.*s\"x\":false%s\n", (int)(x - k_kline), k_kline,
                         x + strlen("\"x\":true"));
  t[off++] = '{';
  memset(t + off, 'a', big);
  off += big;
  t[off++] = '\n';
  off += (size_t)sprintf(t + off, "%s", k_kline); /* no newline at the end */
  qt_live_event ev[8];
  size_t n;
  qt_live_counts c;
  read_stream(t, off, ev, 8, &n, &c);
  free(t);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(c.events, 2);
  EXPECT_EQ(c.bad, 2);
  EXPECT_EQ(c.too_long, 1);
  EXPECT_EQ(c.partial, 1);
  EXPECT_EQ(c.ignored, 1);
  EXPECT_EQ(c.messages, 6);
  EXPECT_TRUE(n == 2 && ev[1].recv_ns >= ev[0].recv_ns && ev[1].recv_ns > 0);
}

static void stream_missing_file(void) {
  qt_live_stream_opts so = {"/nonexistent/feed.jsonl", 0};
  qt_livefeed f;
  qt_err err;
  EXPECT_EQ(qt_livefeed_stream(&so, &f, &err), QT_EIO);
  EXPECT_CONTAINS(err.msg, "/nonexistent/feed.jsonl");
}

static void replay_merges_and_skips(void) {
  int64_t ta[4] = {0, 60000, 120000, 180000}, tb[3] = {60000, 120000, 240000};
  double pa[4] = {1, 2, 3, 4}, pb[3] = {10, 20, 30};
  qt_bars a = {.n = 4, .interval_ms = 60000, .ts_ms = ta, .open = pa, .high = pa, .low = pa,
               .close = pa};
  qt_bars b = {.n = 3, .interval_ms = 60000, .ts_ms = tb, .open = pb, .high = pb, .low = pb,
               .close = pb};
  qt_live_replay_opts o;
  memset(&o, 0, sizeof o);
  o.n = 2;
  o.bars[0] = &a, o.bars[1] = &b;
  o.symbols[0] = "A", o.symbols[1] = "B";
  o.from[0] = 0, o.to[0] = 4, o.from[1] = 0, o.to[1] = 3;
  o.skip_through_ms[0] = 60000; /* A resumed after its bar at 60000 */
  qt_livefeed f;
  qt_err err;
  ASSERT_TRUE(qt_livefeed_replay(&o, &f, &err) == 0);
  const char *want_sym = "BABAB"; /* ties: the lower symbol index first */
  int64_t want_ts[5] = {60000, 120000, 120000, 180000, 240000};
  size_t want_i[5] = {0, 2, 1, 3, 2};
  qt_live_event e;
  for (int k = 0; k < 5; k++) {
    ASSERT_TRUE(f.vt->next(f.self, &e, 100, &err) == 0);
    EXPECT_EQ(e.symbol[0], want_sym[k]);
    EXPECT_EQ(e.ts_ms, want_ts[k]);
    EXPECT_EQ(e.replay_i, want_i[k]);
    EXPECT_EQ(e.closed, 1);
  }
  EXPECT_EQ(f.vt->next(f.self, &e, 100, &err), QT_DONE);
  qt_livefeed_close(&f);
  /* at 1x, a 1-minute bar is not due within a 10 ms wait */
  o.speed = 1;
  ASSERT_TRUE(qt_livefeed_replay(&o, &f, &err) == 0);
  EXPECT_EQ(f.vt->next(f.self, &e, 10, &err), QT_ETIMEOUT);
  qt_livefeed_close(&f);
  o.to[1] = 9;
  EXPECT_EQ(qt_livefeed_replay(&o, &f, &err), QT_EINVAL);
}

static void fuzz_repros(void) {
  DIR *d = opendir("tests/fuzz/repro_feed");
  ASSERT_TRUE(d != NULL);
  struct dirent *de;
  int files = 0, events = 0;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char path[512];
    snprintf(path, sizeof path, "tests/fuzz/repro_feed/%s", de->d_name);
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    files++;
    fuzz_feed_one((const uint8_t *)buf, n); /* aborts on an insane event */
    for (char *p = buf, *end = buf + n; p < end;) {
      char *nl = memchr(p, '\n', (size_t)(end - p));
      size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
      qt_live_event e;
      qt_err err;
      qt_err_clear(&err);
      int r = qt_live_parse_binance(p, len, &e, &err);
      if (r == QT_OK) events++;
      else if (r < 0) EXPECT_TRUE(err.msg[0] != '\0');
      p += len + 1;
    }
  }
  closedir(d);
  EXPECT_TRUE(files >= 4);
  EXPECT_TRUE(events >= 6);
}

QT_TESTS(T(kline_fields), T(other_kinds), T(refusals_name_the_field), T(speeds),
         T(stream_counts_bad_lines), T(stream_missing_file), T(replay_merges_and_skips),
         T(fuzz_repros))
