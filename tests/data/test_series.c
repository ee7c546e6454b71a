/* Series in memory: kind names, one-block allocation, slices, lower_bound,
 * and the out-of-memory path. */
#include "qt_test.h"
#include "qtune/data.h"

static void kind_names(void) {
  qt_kind k;
  for (int i = 0; i < QT_KIND_COUNT; i++) {
    EXPECT_EQ(qt_kind_parse(qt_kind_name((qt_kind)i), &k), QT_OK);
    EXPECT_EQ(k, i);
  }
  EXPECT_STREQ(qt_kind_name(QT_KIND_FUNDING), "funding");
  EXPECT_EQ(qt_kind_parse("candles", &k), QT_EINVAL);
  EXPECT_EQ(qt_kind_parse(NULL, &k), QT_EINVAL);
  EXPECT_STREQ(qt_kind_name((qt_kind)9), "unknown");
}

static void bars_block(void) {
  qt_bars b;
  qt_err e;
  ASSERT_TRUE(qt_bars_alloc(&b, 100, &e) == QT_OK);
  EXPECT_EQ(b.n, 100);
  EXPECT_EQ(b.mem.mapped, 0);
  /* one block: every column lies inside [base, base+len) and is 64-aligned */
  const char *base = b.mem.base;
  const void *cols[] = {b.ts_ms, b.open, b.high, b.low, b.close, b.volume, b.quote_volume,
                        b.trade_count, b.taker_buy_base, b.taker_buy_quote};
  for (int i = 0; i < 10; i++) {
    const char *p = cols[i];
    EXPECT_TRUE(p >= base && p + 800 <= base + b.mem.len);
    EXPECT_EQ(((uintptr_t)p - (uintptr_t)base) % 64, 0);
    if (i) EXPECT_TRUE((const char *)cols[i - 1] + 800 <= p);
  }
  for (size_t i = 0; i < 100; i++) EXPECT_DBL_EQ(b.close[i], 0.0);
  for (size_t i = 0; i < 100; i++) b.ts_ms[i] = 1000 + 60 * (int64_t)i, b.close[i] = (double)i;
  qt_bars_fini(&b);
  EXPECT_TRUE(b.ts_ms == NULL && b.n == 0);
  qt_bars_fini(&b); /* twice is a no-op */
  qt_bars_fini(NULL);
}

static void other_kinds(void) {
  qt_trades t;
  qt_funding f;
  qt_quotes q;
  ASSERT_TRUE(qt_trades_alloc(&t, 10, NULL) == QT_OK);
  ASSERT_TRUE(qt_funding_alloc(&f, 3, NULL) == QT_OK);
  ASSERT_TRUE(qt_quotes_alloc(&q, 5, NULL) == QT_OK);
  t.buyer_is_maker[9] = 1;
  t.price[9] = 2.5;
  EXPECT_EQ(t.buyer_is_maker[9], 1);
  EXPECT_EQ(t.n, 10);
  EXPECT_EQ(f.n, 3);
  EXPECT_EQ(q.n, 5);
  q.ask_qty[4] = 7;
  f.interval_h[2] = 8;
  EXPECT_DBL_EQ(q.ask_qty[4], 7);
  qt_trades_fini(&t);
  qt_funding_fini(&f);
  qt_quotes_fini(&q);
  EXPECT_TRUE(t.price == NULL && f.rate == NULL && q.bid == NULL);
}

static void slice_and_search(void) {
  qt_bars b;
  ASSERT_TRUE(qt_bars_alloc(&b, 50, NULL) == QT_OK);
  b.interval_ms = 60000;
  for (size_t i = 0; i < 50; i++) b.ts_ms[i] = 60000 * (int64_t)i, b.open[i] = (double)i * 2;
  qt_bars v = qt_bars_slice(&b, 10, 20);
  EXPECT_EQ(v.n, 10);
  EXPECT_EQ(v.ts_ms[0], 600000);
  EXPECT_DBL_EQ(v.open[9], 38.0);
  EXPECT_EQ(v.interval_ms, 60000);
  EXPECT_TRUE(v.mem.base == NULL);
  EXPECT_EQ(qt_bars_lower_bound(&v, 60000 * 15), 5);
  qt_bars_fini(&v); /* a view owns nothing: b stays intact */
  EXPECT_DBL_EQ(b.open[10], 20.0);
  qt_bars w = qt_bars_slice(&b, 45, 999);
  EXPECT_EQ(w.n, 5);
  qt_bars z = qt_bars_slice(&b, 30, 10);
  EXPECT_EQ(z.n, 0);
  EXPECT_EQ(qt_bars_lower_bound(&b, -5), 0);
  EXPECT_EQ(qt_bars_lower_bound(&b, 0), 0);
  EXPECT_EQ(qt_bars_lower_bound(&b, 1), 1);
  EXPECT_EQ(qt_bars_lower_bound(&b, 60000 * 17), 17);
  EXPECT_EQ(qt_bars_lower_bound(&b, 60000 * 17 + 1), 18);
  EXPECT_EQ(qt_bars_lower_bound(&b, 60000 * 49 + 1), 50);
  qt_bars_fini(&b);
}

static void fingerprint(void) {
  qt_bars b, c;
  qt_bars_fp f, g;
  ASSERT_TRUE(qt_bars_alloc(&b, 50, NULL) == QT_OK);
  ASSERT_TRUE(qt_bars_alloc(&c, 50, NULL) == QT_OK);
  for (size_t i = 0; i < 50; i++) {
    b.ts_ms[i] = c.ts_ms[i] = 60000 * (int64_t)i + 1000;
    b.close[i] = c.close[i] = 100 + (double)i;
  }
  qt_bars_fingerprint(&b, &f);
  qt_bars_fingerprint(&c, &g);
  EXPECT_EQ(f.n, 50);
  EXPECT_EQ(f.first_ms, 1000);
  EXPECT_EQ(f.last_ms, 60000 * 49 + 1000);
  EXPECT_U64_EQ(f.checksum, g.checksum); /* same bars, same checksum */
  /* one price in the middle, one volume, or one timestamp moves the checksum */
  c.close[25] += 0.01;
  qt_bars_fingerprint(&c, &g);
  EXPECT_TRUE(f.checksum != g.checksum);
  c.close[25] = b.close[25];
  c.volume[49] = 1;
  qt_bars_fingerprint(&c, &g);
  EXPECT_TRUE(f.checksum != g.checksum);
  c.volume[49] = 0;
  c.ts_ms[10] += 1;
  qt_bars_fingerprint(&c, &g);
  EXPECT_TRUE(f.checksum != g.checksum);
  EXPECT_EQ(g.first_ms, 1000);
  /* a slice is another fingerprint (fewer rows) */
  qt_bars s = qt_bars_slice(&b, 0, 40);
  qt_bars_fingerprint(&s, &g);
  EXPECT_EQ(g.n, 40);
  EXPECT_TRUE(f.checksum != g.checksum);
  qt_bars e0 = qt_bars_slice(&b, 5, 5);
  qt_bars_fingerprint(&e0, &g);
  EXPECT_TRUE(g.n == 0 && g.first_ms == 0 && g.last_ms == 0);
  qt_bars_fini(&b);
  qt_bars_fini(&c);
}

static void out_of_memory(void) {
  qt_bars b;
  qt_err e;
  qt_alloc_fail_at(1, 0);
  EXPECT_EQ(qt_bars_alloc(&b, 1000, &e), QT_ENOMEM);
  qt_alloc_fail_at(0, 0);
  EXPECT_CONTAINS(e.msg, "out of memory");
  EXPECT_TRUE(b.ts_ms == NULL && b.n == 0);
  qt_trades t;
  qt_alloc_fail_at(1, 0);
  EXPECT_EQ(qt_trades_alloc(&t, 10, NULL), QT_ENOMEM);
  qt_alloc_fail_at(0, 0);
  EXPECT_EQ(qt_bars_alloc(&b, (size_t)1 << 62, &e), QT_ENOMEM);
}

QT_TESTS(T(kind_names), T(bars_block), T(other_kinds), T(slice_and_search), T(fingerprint),
         T(out_of_memory))
