/* market_maker: quotes, skew, adverse-selection widening and urgency
 * liquidation on hand-made paths whose fills are known in advance; the
 * invariants on synthetic markets. */
#include "strat_util.h"

enum { SKEW, AS_ADJ, AS_LAMBDA, URG, LIQ, MIN_RATIO, AS_SCALE, BASE, OQTY, MAXINV };

typedef struct path {
  double o[8], h[8], l[8], c[8], v[8], tb[8];
  size_t n;
} path;

/* Flat bars at 100 (range 0) unless set. */
static void flat(path *pt, size_t n) {
  pt->n = n;
  for (size_t i = 0; i < n; i++) {
    pt->o[i] = pt->h[i] = pt->l[i] = pt->c[i] = 100;
    pt->v[i] = 10;
    pt->tb[i] = 5;
  }
}

static const qt_strategy_vtbl *mm(void) { return qt_strategy_find("market_maker"); }

static int run(const path *pt, const double *p, qt_result *r, qt_engine **e, qt_bars *b) {
  if (su_bars(b, pt->n, pt->o, pt->h, pt->l, pt->c, pt->v, pt->tb)) return -1;
  qt_feed f = su_feed(b, "MM");
  f.inst.lot_size = 0.001;
  return su_run(&f, 1, mm(), p, 0, e, r);
}

static void base_params(double *p) {
  qt_strategy_defaults(mm(), p);
  p[AS_LAMBDA] = 0; /* no adverse-selection estimate unless a test wants one */
  p[SKEW] = 0;
}

/* Bid filled at 99.9, then ask at 100.1: one round trip of 2 units. */
static void test_round_trip(void) {
  ASSERT_TRUE(mm() != NULL);
  path pt;
  flat(&pt, 5);
  pt.l[2] = 99.8;  /* touches the bid placed at bar 1 */
  pt.h[3] = 100.2; /* touches the ask placed at bar 2 */
  double p[10];
  base_params(p);
  qt_result r;
  qt_engine *e = NULL;
  qt_bars b = {0};
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  EXPECT_EQ(r.n_fills, 2);
  ASSERT_TRUE(r.n_trades == 1);
  EXPECT_EQ(r.trades[0].side, QT_BUY);
  EXPECT_NEAR(r.trades[0].qty, 2.0, 1e-12);           /* 2% of 10000 at 100 */
  EXPECT_NEAR(r.trades[0].entry_price, 99.9, 1e-12);  /* 100 * (1 - 10 bps) */
  EXPECT_NEAR(r.trades[0].exit_price, 100.1, 1e-12);
  double fees = 2 * 99.9 * 2e-4 + 2 * 100.1 * 2e-4;    /* maker 2 bps */
  EXPECT_NEAR(r.fees_paid, fees, 1e-12);
  EXPECT_NEAR(r.trades[0].pnl, 0.4 - fees, 1e-9);
  EXPECT_NEAR(r.final_equity, 10000 + 0.4 - fees, 1e-9);
  su_check_invariants(&r);
  qt_engine_free(e);
  qt_bars_fini(&b);
}

/* Long inventory lowers the ask: skew = factor * q * half-spread. */
static void test_skew(void) {
  path pt;
  flat(&pt, 5);
  pt.l[2] = 99.8;
  pt.h[3] = 100.2;
  double p[10];
  base_params(p);
  p[SKEW] = 0.5;
  p[MAXINV] = 0.04; /* 4 units at 100: 2 units is q = 0.5 */
  qt_result r;
  qt_engine *e = NULL;
  qt_bars b = {0};
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  ASSERT_TRUE(r.n_trades == 1);
  EXPECT_NEAR(r.trades[0].entry_price, 99.9, 1e-12); /* flat: no skew yet */
  double eq = 10000 + 2 * (100 - 99.9) - 2 * 99.9 * 2e-4; /* at bar 2's close */
  double q = 2 * 100 / (0.04 * eq);
  double ask = 100 * (1 + (10 - 0.5 * q * 10) / 1e4);
  EXPECT_NEAR(r.trades[0].exit_price, ask, 1e-12);
  EXPECT_TRUE(r.trades[0].exit_price < 100.08);
  qt_engine_free(e);
  qt_bars_fini(&b);
}

/* Taker buying (imbalance +1) with lambda 1 widens the ask by
 * 0.5 * 1 * 100 = 50 bps: a bar reaching 100.55 no longer lifts it, the bid
 * side stays at 10 bps. */
static void test_adverse_selection(void) {
  path pt;
  flat(&pt, 5);
  for (size_t i = 0; i < 5; i++) pt.tb[i] = 10; /* every bar all taker buys */
  pt.h[2] = 100.55;
  double p[10];
  base_params(p);
  p[AS_LAMBDA] = 1;
  qt_result r;
  qt_engine *e = NULL;
  qt_bars b = {0};
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  EXPECT_EQ(r.n_fills, 0);
  qt_engine_free(e);
  qt_bars_fini(&b);
  /* The same bar lifts a 10 bps ask when there is no estimate. */
  p[AS_LAMBDA] = 0;
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  EXPECT_EQ(r.n_fills, 2); /* the ask at 100.1, then the close at the end */
  ASSERT_TRUE(r.n_trades == 1);
  EXPECT_EQ(r.trades[0].side, QT_SELL);
  EXPECT_NEAR(r.trades[0].entry_price, 100.1, 1e-12);
  EXPECT_EQ(r.trades[0].exit_reason, QT_EXIT_END_OF_DATA);
  qt_engine_free(e);
  qt_bars_fini(&b);
  /* Selling pressure (imbalance -1) widens the bid instead: 99.8 no longer fills. */
  flat(&pt, 5);
  for (size_t i = 0; i < 5; i++) pt.tb[i] = 0;
  pt.l[2] = 99.6;
  p[AS_LAMBDA] = 1;
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  EXPECT_EQ(r.n_fills, 0);
  qt_engine_free(e);
  qt_bars_fini(&b);
}

/* With a quotes series the imbalance comes from the book, not the taker
 * flow: bid depth 9 vs ask depth 1 (imbalance 0.8) widens the ask by
 * 0.5 * 0.8 * 100 = 40 bps, so 100.45 does not lift it although the taker
 * flow is neutral; with the depths swapped the bid side is widened and the
 * ask at 100.1 fills. */
static void test_book_imbalance(void) {
  path pt;
  flat(&pt, 5);
  pt.h[2] = 100.45;
  double p[10];
  base_params(p);
  p[AS_LAMBDA] = 1;
  for (int swap = 0; swap < 2; swap++) {
    qt_bars b = {0};
    qt_quotes q = {0};
    qt_err err;
    ASSERT_TRUE(su_bars(&b, pt.n, pt.o, pt.h, pt.l, pt.c, pt.v, pt.tb) == 0);
    ASSERT_TRUE(qt_quotes_alloc(&q, pt.n, &err) == QT_OK);
    for (size_t i = 0; i < pt.n; i++) {
      q.ts_ms[i] = b.ts_ms[i];
      q.bid[i] = 99.99, q.ask[i] = 100.01;
      q.bid_qty[i] = swap ? 1 : 9;
      q.ask_qty[i] = swap ? 9 : 1;
    }
    qt_feed f = su_feed(&b, "MM");
    f.inst.lot_size = 0.001;
    f.quotes = &q;
    qt_engine *e = NULL;
    qt_result r;
    ASSERT_TRUE(su_run(&f, 1, mm(), p, 0, &e, &r) == QT_OK);
    if (!swap) {
      EXPECT_EQ(r.n_fills, 0);
    } else {
      ASSERT_TRUE(r.n_trades == 1);
      EXPECT_EQ(r.trades[0].side, QT_SELL);
      EXPECT_NEAR(r.trades[0].entry_price, 100.1, 1e-12);
    }
    qt_engine_free(e);
    qt_quotes_fini(&q);
    qt_bars_fini(&b);
  }
}

/* Max inventory 2 units: one bid fill puts q at 1 > 0.7, so a reduce-only
 * market sell of min(2, (1-0.7)*10/100 * 2 units * 60 s) = 2 goes out and
 * fills at the next open; no bid is quoted at the limit. */
static void test_urgency_liquidation(void) {
  path pt;
  flat(&pt, 6);
  pt.l[2] = 99.8;
  double p[10];
  base_params(p);
  p[MAXINV] = 0.02;
  qt_result r;
  qt_engine *e = NULL;
  qt_bars b = {0};
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  ASSERT_TRUE(r.n_trades == 1);
  EXPECT_NEAR(r.trades[0].qty, 2.0, 1e-12);
  EXPECT_NEAR(r.trades[0].entry_price, 99.9, 1e-12);
  EXPECT_NEAR(r.trades[0].exit_price, 100.0, 1e-12); /* bar 3's open, taker */
  EXPECT_EQ(r.trades[0].exit_ms, SU_T0 + 3 * 60000);
  double fees = 2 * 99.9 * 2e-4 + 2 * 100 * 5e-4;
  EXPECT_NEAR(r.trades[0].pnl, 0.2 - fees, 1e-9);
  EXPECT_EQ(r.n_fills, 2);
  qt_engine_free(e);
  qt_bars_fini(&b);
  /* Below the threshold nothing is liquidated: the long stays to the end. */
  p[URG] = 1.0;
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  ASSERT_TRUE(r.n_trades == 1);
  EXPECT_EQ(r.trades[0].exit_reason, QT_EXIT_END_OF_DATA);
  qt_engine_free(e);
  qt_bars_fini(&b);
}

/* The floor: a skew larger than the half-spread still leaves the ask
 * min_spread_base_ratio * half above mid (0.5 * 10 = 5 bps). */
static void test_min_spread_floor(void) {
  path pt;
  flat(&pt, 5);
  pt.l[2] = 99.8;
  pt.h[3] = 100.2;
  double p[10];
  base_params(p);
  p[SKEW] = 2;
  p[MAXINV] = 0.02; /* q = 1 after the fill: skew 20 bps > 10 */
  p[URG] = 1;
  p[MIN_RATIO] = 0.5;
  qt_result r;
  qt_engine *e = NULL;
  qt_bars b = {0};
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  ASSERT_TRUE(r.n_trades == 1);
  EXPECT_NEAR(r.trades[0].exit_price, 100.05, 1e-12);
  qt_engine_free(e);
  qt_bars_fini(&b);
}

static void mm_test_sink(void *ud, qt_log_level lvl, const char *msg) {
  if (lvl == QT_LOG_DEBUG && strstr(msg, "market_maker") && strstr(msg, "as=") &&
      strstr(msg, "bid="))
    (*(int *)ud)++;
}

static void test_debug_log(void) {
  static int lines;
  lines = 0;
  path pt;
  flat(&pt, 4);
  double p[10];
  base_params(p);
  qt_result r;
  qt_engine *e = NULL;
  qt_bars b = {0};
  qt_log_set(mm_test_sink, &lines, QT_LOG_DEBUG);
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  EXPECT_EQ(lines, 3); /* bars 1..3 */
  qt_engine_free(e);
  qt_bars_fini(&b);
  lines = 0;
  qt_log_set(mm_test_sink, &lines, QT_LOG_INFO);
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  EXPECT_EQ(lines, 0);
  qt_log_set(NULL, NULL, QT_LOG_OFF);
  qt_engine_free(e);
  qt_bars_fini(&b);
}

static void test_random_markets(void) {
  size_t n = su_random_markets(mm(), NULL, 3, 0);
  EXPECT_TRUE(n > 0);
}

QT_TESTS(T(test_round_trip), T(test_skew), T(test_adverse_selection), T(test_book_imbalance),
         T(test_urgency_liquidation), T(test_min_spread_floor), T(test_debug_log),
         T(test_random_markets))
