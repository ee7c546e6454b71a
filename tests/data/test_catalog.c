/* The catalog: marker, round trips of every kind, zero-copy mmap loads,
 * idempotent re-imports (QT_DONE, file untouched), merges, listing and
 * corruption detection. */
#include "qt_test.h"
#include "qtune/data.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_root[64];

static const char *root(void) {
  if (!g_root[0]) {
    snprintf(g_root, sizeof g_root, "/tmp/qt_test_catalog_XXXXXX");
    if (!mkdtemp(g_root)) abort();
  }
  return g_root;
}

static void path_in(char *buf, size_t cap, const char *rel) { snprintf(buf, cap, "%s/%s", root(), rel); }

static int import_fixture(const char *rel, qt_import *im) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", qt_test_fixtures(), rel);
  const char *ps[1] = {p};
  return qt_import_files(ps, 1, NULL, im, NULL);
}

static void open_rules(void) {
  char dir[256], marker[300];
  qt_catalog *c = NULL;
  qt_err e = {0};
  path_in(dir, sizeof dir, "new/nested");
  ASSERT_TRUE(qt_catalog_open(dir, 1, &c, &e) == QT_OK);
  EXPECT_STREQ(qt_catalog_dir(c), dir);
  qt_catalog_close(c);
  snprintf(marker, sizeof marker, "%s/.qtune-catalog", dir);
  EXPECT_EQ(access(marker, F_OK), 0);
  ASSERT_TRUE(qt_catalog_open(dir, 0, &c, &e) == QT_OK); /* reopens without create */
  qt_catalog_close(c);
  /* a directory with other files is not turned into a catalog */
  path_in(dir, sizeof dir, "notcat");
  mkdir(dir, 0777);
  snprintf(marker, sizeof marker, "%s/notes.txt", dir);
  FILE *f = fopen(marker, "w");
  fputs("x", f);
  fclose(f);
  EXPECT_EQ(qt_catalog_open(dir, 1, &c, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "not a qtune catalog");
  EXPECT_TRUE(c == NULL);
  EXPECT_EQ(qt_catalog_open(dir, 0, &c, &e), QT_EINVAL);
  path_in(dir, sizeof dir, "missing");
  EXPECT_EQ(qt_catalog_open(dir, 0, &c, &e), QT_ENOTFOUND);
  EXPECT_EQ(qt_catalog_open(marker, 1, &c, &e), QT_EINVAL); /* a file */
  EXPECT_CONTAINS(e.msg, "not a directory");
}

static void bars_round_trip(void) {
  char dir[256];
  path_in(dir, sizeof dir, "rt");
  qt_catalog *c;
  qt_err e = {0};
  ASSERT_TRUE(qt_catalog_open(dir, 1, &c, &e) == QT_OK);
  qt_import im;
  ASSERT_TRUE(import_fixture("binance/AVAXUSDT-1m-2026-06.csv", &im) == QT_OK);
  EXPECT_EQ(qt_catalog_put_bars(c, "AVAXUSDT", &im.bars, &e), QT_OK);
  qt_bars b;
  ASSERT_TRUE(qt_catalog_get_bars(c, "AVAXUSDT", &b, &e) == QT_OK);
  EXPECT_EQ(b.n, 5760); /* the June fixture: 4 days of minutes */
  EXPECT_EQ(b.interval_ms, 60000);
  EXPECT_EQ(b.mem.mapped, 1);
  EXPECT_EQ((uintptr_t)b.close % 64, 0);
  EXPECT_EQ((uintptr_t)b.ts_ms % 64, 0);
  size_t diff = 0;
  for (size_t i = 0; i < b.n; i++)
    diff += b.ts_ms[i] != im.bars.ts_ms[i] || b.open[i] != im.bars.open[i] ||
            b.close[i] != im.bars.close[i] || b.volume[i] != im.bars.volume[i] ||
            b.taker_buy_quote[i] != im.bars.taker_buy_quote[i] ||
            b.trade_count[i] != im.bars.trade_count[i];
  EXPECT_EQ(diff, 0);
  qt_bars_fini(&b);
  /* the same rows again: nothing written, the file (inode, mtime) untouched */
  char file[300];
  snprintf(file, sizeof file, "%s/AVAXUSDT/bars/data.qtc", dir);
  struct stat s1, s2;
  ASSERT_TRUE(stat(file, &s1) == 0);
  EXPECT_EQ(qt_catalog_put_bars(c, "AVAXUSDT", &im.bars, &e), QT_DONE);
  ASSERT_TRUE(stat(file, &s2) == 0);
  EXPECT_EQ(s1.st_ino, s2.st_ino);
  EXPECT_TRUE(s1.st_mtim.tv_sec == s2.st_mtim.tv_sec && s1.st_mtim.tv_nsec == s2.st_mtim.tv_nsec);
  /* one value changed: written again */
  im.bars.close[100] += 0.001;
  EXPECT_EQ(qt_catalog_put_bars(c, "AVAXUSDT", &im.bars, &e), QT_OK);
  ASSERT_TRUE(qt_catalog_get_bars(c, "AVAXUSDT", &b, &e) == QT_OK);
  EXPECT_TRUE(b.close[100] == im.bars.close[100]);
  qt_bars_fini(&b);
  /* errors: no such series, bad symbol, unsorted rows */
  EXPECT_EQ(qt_catalog_get_bars(c, "BTCUSDT", &b, &e), QT_ENOTFOUND);
  EXPECT_TRUE(b.ts_ms == NULL && b.n == 0);
  EXPECT_EQ(qt_catalog_put_bars(c, "../evil", &im.bars, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "symbol '../evil'");
  int64_t t = im.bars.ts_ms[5];
  im.bars.ts_ms[5] = im.bars.ts_ms[6];
  EXPECT_EQ(qt_catalog_put_bars(c, "X", &im.bars, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "not in time order at row 6");
  im.bars.ts_ms[5] = t;
  qt_import_fini(&im);
  qt_catalog_close(c);
}

static void other_kinds(void) {
  char dir[256];
  path_in(dir, sizeof dir, "kinds");
  qt_catalog *c;
  qt_err e = {0};
  ASSERT_TRUE(qt_catalog_open(dir, 1, &c, &e) == QT_OK);
  qt_import im;
  ASSERT_TRUE(import_fixture("freqtrade/orderflow_public_trades_list.csv", &im) == QT_OK);
  EXPECT_EQ(qt_catalog_put_trades(c, "ETHUSDT", &im.trades, &e), QT_OK);
  qt_trades t;
  ASSERT_TRUE(qt_catalog_get_trades(c, "ETHUSDT", &t, &e) == QT_OK);
  EXPECT_EQ(t.n, 1000);
  size_t diff = 0;
  for (size_t i = 0; i < t.n; i++)
    diff += t.ts_ms[i] != im.trades.ts_ms[i] || t.id[i] != im.trades.id[i] ||
            t.price[i] != im.trades.price[i] || t.qty[i] != im.trades.qty[i] ||
            t.buyer_is_maker[i] != im.trades.buyer_is_maker[i];
  EXPECT_EQ(diff, 0);
  qt_trades_fini(&t);
  qt_import_fini(&im);
  qt_funding f;
  ASSERT_TRUE(qt_funding_alloc(&f, 3, &e) == QT_OK);
  for (int i = 0; i < 3; i++) f.ts_ms[i] = 1000 + i * 28800000LL, f.rate[i] = 1e-4 * (i - 1), f.interval_h[i] = 8;
  EXPECT_EQ(qt_catalog_put_funding(c, "ETHUSDT", &f, &e), QT_OK);
  qt_funding g;
  ASSERT_TRUE(qt_catalog_get_funding(c, "ETHUSDT", &g, &e) == QT_OK);
  EXPECT_TRUE(g.n == 3 && g.rate[0] == -1e-4 && g.ts_ms[2] == 1000 + 2 * 28800000LL && g.interval_h[1] == 8);
  qt_funding_fini(&g);
  qt_funding_fini(&f);
  qt_quotes q;
  ASSERT_TRUE(qt_quotes_alloc(&q, 2, &e) == QT_OK);
  q.ts_ms[0] = 5, q.ts_ms[1] = 5, q.bid[0] = 1, q.bid[1] = 2, q.ask[0] = 3, q.ask_qty[1] = 4;
  EXPECT_EQ(qt_catalog_put_quotes(c, "ETHUSDT", &q, &e), QT_OK); /* equal times are fine for quotes */
  qt_quotes r;
  ASSERT_TRUE(qt_catalog_get_quotes(c, "ETHUSDT", &r, &e) == QT_OK);
  EXPECT_TRUE(r.n == 2 && r.bid[1] == 2 && r.ask_qty[1] == 4);
  qt_quotes_fini(&r);
  qt_quotes_fini(&q);
  qt_catalog_entry ent[8];
  size_t n = 0;
  ASSERT_TRUE(qt_catalog_list(c, ent, 8, &n, &e) == QT_OK);
  EXPECT_EQ(n, 3);
  EXPECT_EQ(ent[0].kind, QT_KIND_TRADES);
  EXPECT_EQ(ent[1].kind, QT_KIND_FUNDING);
  EXPECT_EQ(ent[2].kind, QT_KIND_QUOTES);
  EXPECT_EQ(ent[0].n, 1000);
  EXPECT_EQ(ent[0].first_ms, 1675329600138LL);
  qt_catalog_close(c);
}

static void merge_and_list(void) {
  char dir[256];
  path_in(dir, sizeof dir, "merge");
  qt_catalog *c;
  qt_err e = {0};
  ASSERT_TRUE(qt_catalog_open(dir, 1, &c, &e) == QT_OK);
  qt_import jun, jul;
  ASSERT_TRUE(import_fixture("binance/AVAXUSDT-1m-2026-07.csv", &jul) == QT_OK);
  ASSERT_TRUE(import_fixture("binance/AVAXUSDT-1m-2026-06.csv", &jun) == QT_OK);
  EXPECT_EQ(qt_catalog_merge(c, "AVAXUSDT", &jul, &e), QT_OK);
  /* fixtures: July 1-4 and June 27-30, 5760 rows each (wc -l minus the header) */
  EXPECT_EQ(jul.stats.rows_kept, 5760);
  EXPECT_EQ(qt_catalog_merge(c, "AVAXUSDT", &jun, &e), QT_OK); /* earlier month after */
  EXPECT_EQ(jun.stats.stored_before, 5760);
  EXPECT_EQ(jun.stats.rows_kept, 11520);
  EXPECT_EQ(jun.stats.duplicates, 0);
  EXPECT_EQ(qt_catalog_merge(c, "AVAXUSDT", &jun, &e), QT_DONE);
  EXPECT_EQ(jun.stats.duplicates, 5760);
  EXPECT_EQ(jun.stats.rows_kept, 11520);
  qt_bars b;
  ASSERT_TRUE(qt_catalog_get_bars(c, "AVAXUSDT", &b, &e) == QT_OK);
  EXPECT_EQ(b.n, 11520);
  size_t gaps = 0;
  for (size_t i = 1; i < b.n; i++) gaps += b.ts_ms[i] - b.ts_ms[i - 1] != 60000;
  EXPECT_EQ(gaps, 0);
  EXPECT_TRUE(b.open[5760] == 6.5340); /* July's first open follows June's last */
  qt_bars_fini(&b);
  /* a second venue and another symbol, listed in order */
  qt_bars v = qt_bars_slice(&jun.bars, 0, 10);
  EXPECT_EQ(qt_catalog_put_bars(c, "AVAXUSDT.B", &v, &e), QT_OK);
  EXPECT_EQ(qt_catalog_put_bars(c, "ADAUSDT", &v, &e), QT_OK);
  qt_catalog_entry ent[2];
  size_t n = 0;
  ASSERT_TRUE(qt_catalog_list(c, ent, 2, &n, &e) == QT_OK);
  EXPECT_EQ(n, 3); /* total, although only 2 fit */
  EXPECT_STREQ(ent[0].symbol, "ADAUSDT");
  EXPECT_STREQ(ent[1].symbol, "AVAXUSDT");
  EXPECT_EQ(ent[1].n, 11520);
  EXPECT_EQ(ent[1].first_ms, 1782518400000LL); /* 2026-06-27 00:00 UTC */
  EXPECT_EQ(ent[1].last_ms, 1782518400000LL + 11519LL * 60000);
  EXPECT_EQ(ent[1].interval_ms, 60000);
  qt_import_fini(&jun);
  qt_import_fini(&jul);
  qt_catalog_close(c);
}

static void flip_byte(const char *file, long off) {
  int fd = open(file, O_RDWR);
  unsigned char ch;
  if (pread(fd, &ch, 1, off) != 1) abort();
  ch ^= 0x40;
  if (pwrite(fd, &ch, 1, off) != 1) abort();
  close(fd);
}

static void corruption(void) {
  char dir[256], file[300];
  path_in(dir, sizeof dir, "corrupt");
  qt_catalog *c;
  qt_err e = {0};
  ASSERT_TRUE(qt_catalog_open(dir, 1, &c, &e) == QT_OK);
  qt_import im;
  ASSERT_TRUE(import_fixture("freqtrade/XRP_USDT_USDT-1h-futures.json", &im) == QT_OK);
  ASSERT_TRUE(qt_catalog_put_bars(c, "XRP", &im.bars, &e) == QT_OK);
  snprintf(file, sizeof file, "%s/XRP/bars/data.qtc", dir);
  flip_byte(file, 192 + 832 + 8 * 4 + 3); /* row 4 of the open column (ts: 800 bytes + pad) */
  qt_bars b;
  EXPECT_EQ(qt_catalog_get_bars(c, "XRP", &b, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "checksum mismatch");
  qt_catalog_set_verify(c, 0); /* fast loads check only the header */
  ASSERT_TRUE(qt_catalog_get_bars(c, "XRP", &b, &e) == QT_OK);
  EXPECT_TRUE(b.open[4] != im.bars.open[4]);
  qt_bars_fini(&b);
  qt_catalog_set_verify(c, 1);
  /* the same rows are put again: the damaged file differs, so it is rewritten */
  EXPECT_EQ(qt_catalog_put_bars(c, "XRP", &im.bars, &e), QT_OK);
  ASSERT_TRUE(qt_catalog_get_bars(c, "XRP", &b, &e) == QT_OK);
  EXPECT_TRUE(b.open[4] == im.bars.open[4]);
  qt_bars_fini(&b);
  flip_byte(file, 192 + 795); /* zero padding after the ts column: still detected */
  EXPECT_EQ(qt_catalog_get_bars(c, "XRP", &b, &e), QT_EPARSE);
  EXPECT_EQ(qt_catalog_put_bars(c, "XRP", &im.bars, &e), QT_OK);
  ASSERT_TRUE(qt_catalog_get_bars(c, "XRP", &b, &e) == QT_OK);
  qt_bars_fini(&b);
  flip_byte(file, 20); /* the header */
  EXPECT_EQ(qt_catalog_get_bars(c, "XRP", &b, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "corrupt header");
  EXPECT_EQ(truncate(file, 100), 0);
  EXPECT_EQ(qt_catalog_get_bars(c, "XRP", &b, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "too short");
  size_t n;
  qt_catalog_entry ent[4];
  EXPECT_EQ(qt_catalog_list(c, ent, 4, &n, &e), QT_EPARSE);
  qt_import_fini(&im);
  qt_catalog_close(c);
}

static void out_of_memory(void) {
  char dir[256];
  path_in(dir, sizeof dir, "oom");
  qt_catalog *c = NULL;
  qt_err e = {0};
  qt_alloc_fail_at(1, 0);
  EXPECT_EQ(qt_catalog_open(dir, 1, &c, &e), QT_ENOMEM);
  qt_alloc_fail_at(0, 0);
  EXPECT_TRUE(c == NULL);
  ASSERT_TRUE(qt_catalog_open(dir, 1, &c, &e) == QT_OK);
  qt_import a, b;
  ASSERT_TRUE(import_fixture("freqtrade/XRP_USDT_USDT-1h-futures.json", &a) == QT_OK);
  ASSERT_TRUE(import_fixture("freqtrade/XRP_USDT_USDT-1h-futures.json", &b) == QT_OK);
  ASSERT_TRUE(qt_catalog_merge(c, "XRP", &a, &e) == QT_OK);
  int done = 0;
  for (long k = 1; k < 20 && !done; k++) {
    qt_alloc_fail_at(k, 0);
    int rc = qt_catalog_merge(c, "XRP", &b, &e);
    qt_alloc_fail_at(0, 0);
    if (rc == QT_DONE) done = 1;
    else EXPECT_EQ(rc, QT_ENOMEM);
  }
  EXPECT_TRUE(done);
  qt_import_fini(&a);
  qt_import_fini(&b);
  qt_catalog_close(c);
}

/* n 1m bars from minute `first` on (close 100 + i), as an import result. */
static void minute_bars(qt_import *im, size_t first, size_t n) {
  memset(im, 0, sizeof *im);
  im->kind = QT_KIND_BARS;
  if (qt_bars_alloc(&im->bars, n, NULL)) abort();
  im->bars.interval_ms = 60000;
  for (size_t i = 0; i < n; i++) {
    im->bars.ts_ms[i] = 1767225600000LL + (int64_t)(first + i) * 60000;
    im->bars.open[i] = im->bars.close[i] = 100.0 + (double)(first + i);
    im->bars.high[i] = im->bars.close[i] + 1;
    im->bars.low[i] = im->bars.close[i] - 1;
  }
}

/* Two processes merge disjoint halves into one symbol at once: under the
 * series' write lock the second reads what the first wrote, so every row
 * survives (without it the last rename won and one half was lost).  Several
 * rounds, each on a fresh symbol, because the unlocked race did not lose
 * rows every time. */
static void concurrent_merges(void) {
  char dir[256];
  path_in(dir, sizeof dir, "conc");
  const size_t half = 100000;
  for (int round = 0; round < 6; round++) {
    char sym[16];
    snprintf(sym, sizeof sym, "R%d", round);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
      kids[k] = fork();
      ASSERT_TRUE(kids[k] >= 0);
      if (kids[k] == 0) {
        qt_catalog *c = NULL;
        qt_import im;
        minute_bars(&im, (size_t)k * half, half);
        int rc = qt_catalog_open(dir, 1, &c, NULL);
        if (rc == QT_OK) rc = qt_catalog_merge(c, sym, &im, NULL);
        _exit(rc < 0 ? 1 : 0);
      }
    }
    for (int k = 0; k < 2; k++) {
      int st = 0;
      waitpid(kids[k], &st, 0);
      EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    qt_catalog *c = NULL;
    qt_bars b;
    ASSERT_TRUE(qt_catalog_open(dir, 0, &c, NULL) == QT_OK);
    ASSERT_TRUE(qt_catalog_get_bars(c, sym, &b, NULL) == QT_OK);
    EXPECT_EQ(b.n, 2 * half);
    qt_bars_fini(&b);
    qt_catalog_close(c);
  }
}

/* A temp file left by a writer killed mid-write is removed by the next
 * writer of that series (it holds the lock, so no live writer owns it);
 * another series' directory is left alone. */
static void stale_temp_removed(void) {
  char dir[256], tmp[400], other[400];
  path_in(dir, sizeof dir, "stale");
  qt_catalog *c = NULL;
  qt_import im;
  ASSERT_TRUE(qt_catalog_open(dir, 1, &c, NULL) == QT_OK);
  minute_bars(&im, 0, 10);
  ASSERT_TRUE(qt_catalog_merge(c, "S", &im, NULL) == QT_OK);
  ASSERT_TRUE(qt_catalog_merge(c, "T", &im, NULL) == QT_OK);
  qt_import_fini(&im);
  snprintf(tmp, sizeof tmp, "%s/S/bars/data.qtc.tmp.999999", dir);
  snprintf(other, sizeof other, "%s/T/bars/data.qtc.tmp.999999", dir);
  FILE *f = fopen(tmp, "w"), *g = fopen(other, "w");
  ASSERT_TRUE(f && g);
  fputs("half a file", f), fputs("half a file", g);
  fclose(f), fclose(g);
  minute_bars(&im, 10, 5);
  ASSERT_TRUE(qt_catalog_merge(c, "S", &im, NULL) == QT_OK);
  EXPECT_EQ(im.stats.rows_kept, 15);
  qt_import_fini(&im);
  EXPECT_TRUE(access(tmp, F_OK) != 0);
  EXPECT_EQ(access(other, F_OK), 0);
  qt_catalog_close(c);
}

static void cleanup(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root());
  EXPECT_EQ(system(cmd), 0);
}

QT_TESTS(T(open_rules), T(bars_round_trip), T(other_kinds), T(merge_and_list), T(corruption),
         T(out_of_memory), T(concurrent_merges), T(stale_temp_removed), T(cleanup))
