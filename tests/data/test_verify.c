/* verify.c: every check on hand-made bad series, the real files (clean AVAX,
 * the gappy freqtrade BTC file), report rendering and the OOM path. */
#include "qt_test.h"

#include "dq_fixtures.h"
#include "qtune/data.h"

#include <math.h>

/* n clean 1m bars from t0, price 10 + i/100. */
static void clean_bars(qt_bars *b, size_t n) {
  ASSERT_TRUE(qt_bars_alloc(b, n, NULL) == 0);
  b->interval_ms = 60000;
  for (size_t i = 0; i < n; i++) {
    double p = 10 + (double)i / 100;
    b->ts_ms[i] = 1700000040000LL + (int64_t)i * 60000;
    b->open[i] = p;
    b->close[i] = p + 0.005;
    b->high[i] = p + 0.01;
    b->low[i] = p - 0.01;
    b->volume[i] = 5;
    b->quote_volume[i] = 50;
    b->trade_count[i] = 3;
    b->taker_buy_base[i] = 2;
    b->taker_buy_quote[i] = 20;
  }
}

static qt_verify_report rep; /* big: keep it off the stack of each test */

static void test_names_and_defaults(void) {
  EXPECT_STREQ(qt_check_name(QT_CHECK_GAP), "gap");
  EXPECT_STREQ(qt_check_name(QT_CHECK_OHLC), "ohlc");
  EXPECT_STREQ(qt_check_name(QT_CHECK_CROSSED), "crossed");
  EXPECT_STREQ(qt_check_name(QT_CHECK_COUNT), "unknown");
  qt_verify_opts o = qt_verify_opts_default();
  EXPECT_NEAR(o.gap_factor, 1.0, 0);
  EXPECT_EQ(o.max_listed, 20);
}

static void test_clean_bars(void) {
  qt_bars b;
  clean_bars(&b, 50);
  qt_verify_opts o = qt_verify_opts_default();
  EXPECT_EQ(qt_verify_bars(&b, &o, &rep, NULL), 0);
  EXPECT_EQ(rep.n_findings, 0);
  EXPECT_EQ(rep.n_rows, 50);
  EXPECT_EQ(rep.interval_ms, 60000);
  EXPECT_EQ(rep.first_ms, b.ts_ms[0]);
  EXPECT_EQ(rep.last_ms, b.ts_ms[49]);
  qt_bars_fini(&b);
}

static void test_bar_checks(void) {
  qt_bars b;
  clean_bars(&b, 40);
  /* gap: row 5 jumps 3 minutes ahead (2 missing); later rows shift too */
  for (size_t i = 5; i < 40; i++) b.ts_ms[i] += 2 * 60000;
  b.ts_ms[10] = b.ts_ms[9];                   /* duplicate */
  b.ts_ms[15] = b.ts_ms[14] - 60000;          /* out of order (and 16 then jumps 2 ahead) */
  b.ts_ms[20] += 30000;                       /* misaligned: steps 19->20 and 20->21 */
  b.low[25] = b.open[25] + 0.001;             /* low above open */
  b.high[26] = b.close[26] - 0.001;           /* high below close */
  b.low[27] = 50; b.high[27] = 40;            /* low > high */
  b.open[28] = 0;                             /* non-positive */
  b.close[29] = NAN;                          /* non-finite */
  b.volume[30] = -1;                          /* negative volume */
  b.taker_buy_base[31] = 6;                   /* taker above total */
  b.trade_count[32] = INFINITY;
  qt_verify_opts o = qt_verify_opts_default();
  ASSERT_TRUE(qt_verify_bars(&b, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.counts[QT_CHECK_DUPLICATE], 1);
  EXPECT_EQ(rep.counts[QT_CHECK_OUT_OF_ORDER], 1);
  /* gaps: 4->5 (3 min), 10->11 (2 min, after the duplicate), 15->16 (3 min:
   * 15 went back one), 19->20 (1.5 min) */
  EXPECT_EQ(rep.counts[QT_CHECK_GAP], 4);
  EXPECT_EQ(rep.missing_total, 2 + 1 + 2 + 1);
  EXPECT_EQ(rep.counts[QT_CHECK_MISALIGNED], 2);
  EXPECT_EQ(rep.counts[QT_CHECK_OHLC], 3);
  EXPECT_EQ(rep.counts[QT_CHECK_BAD_PRICE], 2);
  EXPECT_EQ(rep.counts[QT_CHECK_BAD_VOLUME], 3);
  EXPECT_EQ(rep.n_findings, 1 + 1 + 4 + 2 + 3 + 2 + 3);
  EXPECT_EQ(rep.n_listed, rep.n_findings < 20 ? rep.n_findings : 20);
  /* the first finding is the gap at row 5 with its span */
  EXPECT_EQ(rep.listed[0].check, QT_CHECK_GAP);
  EXPECT_EQ(rep.listed[0].row, 5);
  EXPECT_EQ(rep.listed[0].missing, 2);
  EXPECT_EQ(rep.listed[0].prev_ms, b.ts_ms[4]);
  EXPECT_EQ(rep.listed[0].ts_ms, b.ts_ms[5]);
  EXPECT_EQ(rep.listed[1].check, QT_CHECK_DUPLICATE);
  EXPECT_EQ(rep.listed[1].row, 10);
  EXPECT_EQ(rep.listed[2].check, QT_CHECK_GAP);
  EXPECT_EQ(rep.listed[2].row, 11);
  EXPECT_EQ(rep.listed[2].missing, 1);
  /* gap factor 2.5: only steps longer than 2.5 minutes count */
  o.gap_factor = 2.5;
  ASSERT_TRUE(qt_verify_bars(&b, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.counts[QT_CHECK_GAP], 2);
  /* max_listed caps the list, not the counts */
  o = qt_verify_opts_default();
  o.max_listed = 3;
  ASSERT_TRUE(qt_verify_bars(&b, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.n_listed, 3);
  EXPECT_EQ(rep.n_findings, 16);
  o.gap_factor = 0.5;
  qt_err e;
  EXPECT_EQ(qt_verify_bars(&b, &o, &rep, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "gap_factor");
  qt_bars_fini(&b);
}

/* A 1e308 high is a corrupt field (bad_price), and a bar whose range is far
 * beyond its neighbours' is a spike: the clean bars span 0.02 (median), the
 * reference is max(0.02, 0.001 x close ~10.25) = 0.02, so a spike needs a
 * range above 50 x 0.02 = 1.0; bar 25 spans 2.01. */
static void test_spikes_and_absurd(void) {
  qt_bars b;
  clean_bars(&b, 50);
  b.high[25] = b.close[25] + 2;
  b.high[30] = 1e308;
  qt_verify_opts o = qt_verify_opts_default();
  EXPECT_NEAR(o.spike_factor, 50, 0);
  ASSERT_TRUE(qt_verify_bars(&b, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.counts[QT_CHECK_SPIKE], 1);
  EXPECT_EQ(rep.counts[QT_CHECK_BAD_PRICE], 1);
  EXPECT_EQ(rep.n_findings, 2);
  ASSERT_TRUE(rep.n_listed == 2);
  EXPECT_EQ(rep.listed[0].check, QT_CHECK_SPIKE);
  EXPECT_EQ(rep.listed[0].row, 25);
  EXPECT_EQ(rep.listed[1].check, QT_CHECK_BAD_PRICE);
  EXPECT_EQ(rep.listed[1].row, 30);
  EXPECT_STREQ(qt_check_name(QT_CHECK_SPIKE), "spike");
  /* a range of 0.9 (below 1.0) is no spike; spike_factor 0 turns the check off */
  b.high[25] = b.low[25] + 0.9;
  ASSERT_TRUE(qt_verify_bars(&b, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.counts[QT_CHECK_SPIKE], 0);
  b.high[25] = b.close[25] + 2;
  o.spike_factor = 0;
  ASSERT_TRUE(qt_verify_bars(&b, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.counts[QT_CHECK_SPIKE], 0);
  o.spike_factor = -1;
  qt_err e = {0};
  EXPECT_EQ(qt_verify_bars(&b, &o, &rep, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "spike_factor must be >= 0");
  qt_bars_fini(&b);
}

static void test_interval_inferred(void) {
  qt_bars b;
  clean_bars(&b, 10);
  b.interval_ms = 0;
  for (size_t i = 6; i < 10; i++) b.ts_ms[i] += 5 * 60000;
  qt_verify_opts o = qt_verify_opts_default();
  ASSERT_TRUE(qt_verify_bars(&b, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.interval_ms, 60000);
  EXPECT_EQ(rep.counts[QT_CHECK_GAP], 1);
  EXPECT_EQ(rep.missing_total, 5);
  /* an explicit interval overrides */
  o.interval_ms = 30000;
  ASSERT_TRUE(qt_verify_bars(&b, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.counts[QT_CHECK_GAP], 9);
  /* stamp jitter of a few ms: misaligned, but no gap unless a bar is missing */
  o.interval_ms = 0;
  b.interval_ms = 60000;
  for (size_t i = 0; i < 10; i++) b.ts_ms[i] = 1700000040000LL + (int64_t)i * 60000 + (i % 2 ? 17 : 0);
  b.ts_ms[9] += 60000;
  ASSERT_TRUE(qt_verify_bars(&b, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.counts[QT_CHECK_GAP], 1);
  EXPECT_EQ(rep.missing_total, 1);
  EXPECT_EQ(rep.counts[QT_CHECK_MISALIGNED], 9);
  qt_bars_fini(&b);
}

static void test_avax_clean(void) {
  qt_bars b;
  ASSERT_TRUE(dq_load_avax(&b) == 0);
  EXPECT_EQ(b.n, 11520); /* fixtures: June 27-30 + July 1-4, 5760 rows each */
  qt_verify_opts o = qt_verify_opts_default();
  ASSERT_TRUE(qt_verify_bars(&b, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.n_findings, 0);
  EXPECT_EQ(rep.n_rows, 11520);
  qt_bars_fini(&b);
}

/* The freqtrade BTC file (its first 3000 candles in the fixture): 203 gaps
 * and 316 missing minutes, counted in python over the fixture's stamps (see
 * tests/fixtures/README.md).  Our gap count is gap events (steps longer than
 * a minute); missing_total counts the missing minutes.  Both are recomputed
 * here with a plain loop. */
static void test_freqtrade_gaps(void) {
  qt_bars b;
  ASSERT_TRUE(dq_load_ft_json("UNITTEST_BTC-1m.json", 60000, &b) == 0);
  EXPECT_EQ(b.n, 3000);
  size_t events = 0;
  int64_t missing = 0;
  for (size_t i = 1; i < b.n; i++) {
    int64_t d = b.ts_ms[i] - b.ts_ms[i - 1];
    if (d > 60000) {
      events++;
      missing += d / 60000 - 1;
    }
  }
  qt_verify_opts o = qt_verify_opts_default();
  ASSERT_TRUE(qt_verify_bars(&b, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.counts[QT_CHECK_GAP], events);
  EXPECT_EQ(rep.counts[QT_CHECK_GAP], 203);
  EXPECT_EQ(rep.missing_total, missing);
  EXPECT_EQ(rep.missing_total, 316);
  /* no other problem in that file */
  EXPECT_EQ(rep.n_findings, 203);
  /* the span is all minutes: rows + missing */
  EXPECT_EQ((b.ts_ms[b.n - 1] - b.ts_ms[0]) / 60000 + 1, (int64_t)b.n + missing);
  qt_bars_fini(&b);
}

static void test_trades(void) {
  qt_trades t;
  ASSERT_TRUE(qt_trades_alloc(&t, 12, NULL) == 0);
  for (size_t i = 0; i < 12; i++) {
    t.ts_ms[i] = 1000 + (int64_t)(i / 2) * 10; /* pairs share a stamp: fine */
    t.id[i] = 100 + (int64_t)i;
    t.price[i] = 5;
    t.qty[i] = 1;
  }
  qt_verify_opts o = qt_verify_opts_default();
  ASSERT_TRUE(qt_verify_trades(&t, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.n_findings, 0);
  t.ts_ms[6] = 990;    /* out of order */
  t.id[9] = 102;       /* duplicate id (not adjacent) */
  t.price[3] = -1;     /* bad price */
  t.qty[4] = 0;        /* bad qty */
  t.qty[5] = NAN;
  t.buyer_is_maker[7] = 2;
  ASSERT_TRUE(qt_verify_trades(&t, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.counts[QT_CHECK_OUT_OF_ORDER], 1);
  EXPECT_EQ(rep.counts[QT_CHECK_DUPLICATE_ID], 1);
  EXPECT_EQ(rep.counts[QT_CHECK_BAD_PRICE], 1);
  EXPECT_EQ(rep.counts[QT_CHECK_BAD_VOLUME], 3);
  EXPECT_EQ(rep.counts[QT_CHECK_DUPLICATE], 0);
  EXPECT_EQ(rep.n_findings, 6);
  /* listed in row order: 3,4,5,6,7,9 */
  ASSERT_TRUE(rep.n_listed == 6);
  EXPECT_EQ(rep.listed[0].row, 3);
  EXPECT_EQ(rep.listed[5].row, 9);
  EXPECT_EQ(rep.listed[5].check, QT_CHECK_DUPLICATE_ID);
  /* ids all 0 (no id column in the source): not checked */
  for (size_t i = 0; i < 12; i++) t.id[i] = 0;
  ASSERT_TRUE(qt_verify_trades(&t, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.counts[QT_CHECK_DUPLICATE_ID], 0);
  t.id[9] = 5;
  t.id[2] = 5;
  ASSERT_TRUE(qt_verify_trades(&t, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.counts[QT_CHECK_DUPLICATE_ID], 9 + 1); /* 10 zeros, two 5s */
  /* the sorted copy fails cleanly */
  qt_err e;
  qt_alloc_fail_at(1, 0);
  EXPECT_EQ(qt_verify_trades(&t, &o, &rep, &e), QT_ENOMEM);
  qt_alloc_fail_at(0, 0);
  EXPECT_CONTAINS(e.msg, "out of memory");
  qt_trades_fini(&t);
}

static void test_orderflow_trades_clean(void) {
  qt_trades t;
  ASSERT_TRUE(dq_load_orderflow(&t) == 0);
  EXPECT_EQ(t.n, 1000);
  qt_verify_opts o = qt_verify_opts_default();
  ASSERT_TRUE(qt_verify_trades(&t, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.n_findings, 0);
  qt_trades_fini(&t);
}

static void test_funding(void) {
  qt_funding f;
  ASSERT_TRUE(qt_funding_alloc(&f, 8, NULL) == 0);
  const int64_t h8 = 8 * 3600000LL;
  for (size_t i = 0; i < 8; i++) {
    f.ts_ms[i] = 1637193600017LL + (int64_t)i * h8 + (int64_t)(i % 3); /* ms jitter is fine */
    f.rate[i] = 0.0001;
    f.interval_h[i] = 8;
  }
  qt_verify_opts o = qt_verify_opts_default();
  ASSERT_TRUE(qt_verify_funding(&f, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.n_findings, 0);
  EXPECT_EQ(rep.interval_ms, h8);
  f.rate[2] = NAN;                       /* bad rate */
  for (size_t i = 5; i < 8; i++) f.ts_ms[i] += h8; /* one settlement missing */
  f.ts_ms[7] -= 3600000;                 /* 7h step */
  ASSERT_TRUE(qt_verify_funding(&f, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.counts[QT_CHECK_BAD_RATE], 1);
  EXPECT_EQ(rep.counts[QT_CHECK_IRREGULAR], 2);
  EXPECT_EQ(rep.missing_total, 1);
  f.ts_ms[3] = f.ts_ms[2];               /* duplicate */
  ASSERT_TRUE(qt_verify_funding(&f, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.counts[QT_CHECK_DUPLICATE], 1);
  qt_funding_fini(&f);
}

/* The real XRP funding history: 91 settlements 8h apart with the exchange's
 * millisecond jitter -- clean; dropping one makes one irregular step. */
static void test_real_funding(void) {
  qt_bars raw;
  ASSERT_TRUE(dq_load_ft_csv("XRP_USDT_USDT-8h-funding_rate.csv", 0, &raw) == 0);
  ASSERT_TRUE(raw.n == 91);
  qt_funding f;
  ASSERT_TRUE(qt_funding_alloc(&f, raw.n, NULL) == 0);
  for (size_t i = 0; i < raw.n; i++) {
    f.ts_ms[i] = raw.ts_ms[i];
    f.rate[i] = raw.open[i]; /* freqtrade stores the rate as "open" */
    f.interval_h[i] = 8;
  }
  qt_verify_opts o = qt_verify_opts_default();
  ASSERT_TRUE(qt_verify_funding(&f, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.n_findings, 0);
  EXPECT_EQ(rep.interval_ms, 8 * 3600000LL);
  for (size_t i = 40; i + 1 < f.n; i++) f.ts_ms[i] = f.ts_ms[i + 1], f.rate[i] = f.rate[i + 1];
  f.n--;
  ASSERT_TRUE(qt_verify_funding(&f, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.counts[QT_CHECK_IRREGULAR], 1);
  EXPECT_EQ(rep.missing_total, 1);
  EXPECT_EQ(rep.listed[0].row, 40);
  /* without interval_h the smallest step is the interval */
  for (size_t i = 0; i < f.n; i++) f.interval_h[i] = 0;
  ASSERT_TRUE(qt_verify_funding(&f, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.counts[QT_CHECK_IRREGULAR], 1);
  EXPECT_NEAR((double)rep.interval_ms, 8 * 3600000.0, 60000.0 / (8 * 3600000.0));
  f.n++;
  qt_funding_fini(&f);
  qt_bars_fini(&raw);
}

static void test_quotes(void) {
  qt_quotes q;
  ASSERT_TRUE(qt_quotes_alloc(&q, 6, NULL) == 0);
  for (size_t i = 0; i < 6; i++) {
    q.ts_ms[i] = 5000 + (int64_t)i * 100;
    q.bid[i] = 99.9;
    q.ask[i] = 100.1;
    q.bid_qty[i] = q.ask_qty[i] = 1;
  }
  qt_verify_opts o = qt_verify_opts_default();
  ASSERT_TRUE(qt_verify_quotes(&q, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.n_findings, 0);
  q.bid[1] = 100.2;   /* crossed */
  q.ask[2] = 0;       /* bad price */
  q.ask_qty[3] = -2;  /* bad qty */
  q.ts_ms[4] = 1;     /* out of order */
  ASSERT_TRUE(qt_verify_quotes(&q, &o, &rep, NULL) == 0);
  EXPECT_EQ(rep.counts[QT_CHECK_CROSSED], 1);
  EXPECT_EQ(rep.counts[QT_CHECK_BAD_PRICE], 1);
  EXPECT_EQ(rep.counts[QT_CHECK_BAD_VOLUME], 1);
  EXPECT_EQ(rep.counts[QT_CHECK_OUT_OF_ORDER], 1);
  EXPECT_EQ(rep.n_findings, 4);
  qt_quotes_fini(&q);
}

static char *slurp(FILE *f) {
  long n = ftell(f);
  rewind(f);
  char *s = calloc(1, (size_t)n + 1);
  if (s && fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = 0;
  return s;
}

static void test_render(void) {
  qt_bars b;
  clean_bars(&b, 20);
  for (size_t i = 8; i < 20; i++) b.ts_ms[i] += 3 * 60000;
  b.low[12] = 99;
  qt_verify_opts o = qt_verify_opts_default();
  ASSERT_TRUE(qt_verify_bars(&b, &o, &rep, NULL) == 0);
  FILE *f = tmpfile();
  ASSERT_TRUE(f != NULL);
  EXPECT_EQ(qt_verify_report_write_text(&rep, "X bars", f, NULL), 0);
  char *s = slurp(f);
  EXPECT_CONTAINS(s, "X bars: 20 rows");
  EXPECT_CONTAINS(s, "2 findings");
  EXPECT_CONTAINS(s, "gap");
  EXPECT_CONTAINS(s, "3 intervals missing");
  EXPECT_CONTAINS(s, "row 8 2023-11-14T22:25:00Z gap after 2023-11-14T22:21:00Z (3 missing)");
  EXPECT_CONTAINS(s, "row 12");
  free(s);
  fclose(f);

  f = tmpfile();
  ASSERT_TRUE(f != NULL);
  EXPECT_EQ(qt_verify_report_write_json(&rep, "X bars", f, NULL), 0);
  s = slurp(f);
  json_error_t je;
  json_t *j = json_loads(s, 0, &je);
  ASSERT_TRUE(j != NULL);
  EXPECT_EQ(json_integer_value(json_object_get(j, "findings")), 2);
  EXPECT_EQ(json_integer_value(json_object_get(j, "rows")), 20);
  EXPECT_EQ(json_integer_value(json_object_get(j, "missing_intervals")), 3);
  EXPECT_EQ(json_integer_value(json_object_get(json_object_get(j, "counts"), "gap")), 1);
  EXPECT_EQ(json_integer_value(json_object_get(json_object_get(j, "counts"), "ohlc")), 1);
  json_t *l0 = json_array_get(json_object_get(j, "listed"), 0);
  EXPECT_STREQ(json_string_value(json_object_get(l0, "check")), "gap");
  EXPECT_EQ(json_integer_value(json_object_get(l0, "row")), 8);
  EXPECT_EQ(json_integer_value(json_object_get(l0, "missing")), 3);
  EXPECT_EQ(json_integer_value(json_object_get(l0, "prev_ms")), b.ts_ms[7]);
  EXPECT_STREQ(json_string_value(json_object_get(j, "kind")), "bars");
  json_decref(j);
  free(s);
  fclose(f);
  qt_bars_fini(&b);
}

QT_TESTS(T(test_names_and_defaults), T(test_clean_bars), T(test_bar_checks), T(test_spikes_and_absurd),
         T(test_interval_inferred), T(test_avax_clean), T(test_freqtrade_gaps), T(test_trades),
         T(test_orderflow_trades_clean), T(test_funding), T(test_real_funding), T(test_quotes), T(test_render))
