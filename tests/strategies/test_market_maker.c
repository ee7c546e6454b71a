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

/* The guide's adverse-selection rule without a book: imbalance I = taker
 * buy share (0.5 balanced), market spread D = the bar's range (10 bps for
 * 100.05/99.95), observation (2I - 1) * D / scale, lambda 1.  All taker
 * buys (I = 1) with scale 10 give mu = 1: the ask widens by 0.5 * 1 * 20 =
 * 10 bps to 100.20, so a high of 100.18 does not lift it; scale 20 divides
 * the spread by more (mu 0.5, +5 bps: 100.15) and the same bar lifts it. */
static void test_adverse_selection(void) {
  path pt;
  flat(&pt, 5);
  for (size_t i = 0; i < 5; i++) {
    pt.h[i] = 100.05, pt.l[i] = 99.95;
    pt.tb[i] = 10; /* every bar all taker buys */
  }
  pt.h[2] = 100.18;
  double p[10];
  base_params(p);
  p[AS_LAMBDA] = 1;
  p[AS_SCALE] = 10;
  qt_result r;
  qt_engine *e = NULL;
  qt_bars b = {0};
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  EXPECT_EQ(r.n_fills, 0);
  qt_engine_free(e);
  qt_bars_fini(&b);
  p[AS_SCALE] = 20;
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  EXPECT_EQ(r.n_fills, 2); /* the ask at 100.15, then the close at the end */
  ASSERT_TRUE(r.n_trades == 1);
  EXPECT_EQ(r.trades[0].side, QT_SELL);
  EXPECT_NEAR(r.trades[0].entry_price, 100.15, 1e-12);
  EXPECT_EQ(r.trades[0].exit_reason, QT_EXIT_END_OF_DATA);
  qt_engine_free(e);
  qt_bars_fini(&b);
  /* Balanced flow (I = 0.5) is no pressure: the plain 10 bps ask fills. */
  for (size_t i = 0; i < 5; i++) pt.tb[i] = 5;
  p[AS_SCALE] = 10;
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  ASSERT_TRUE(r.n_trades == 1);
  EXPECT_NEAR(r.trades[0].entry_price, 100.1, 1e-12);
  qt_engine_free(e);
  qt_bars_fini(&b);
  /* Selling pressure (I = 0) widens the bid instead: 99.82 no longer
   * reaches 99.80, the plain bid at 99.90 would have filled. */
  for (size_t i = 0; i < 5; i++) pt.tb[i] = 0;
  pt.h[2] = 100.05;
  pt.l[2] = 99.82;
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  EXPECT_EQ(r.n_fills, 0);
  qt_engine_free(e);
  qt_bars_fini(&b);
  p[AS_LAMBDA] = 0;
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  ASSERT_TRUE(r.n_trades == 1);
  EXPECT_NEAR(r.trades[0].entry_price, 99.9, 1e-12);
  qt_engine_free(e);
  qt_bars_fini(&b);
}

/* With a quotes series, imbalance and spread come from the book: bid 99.99
 * ask 100.01 is D = 2 bps; bid depth 9 vs ask depth 1 is I = 0.9, so with
 * scale 1 the observation is 0.8 * 2 / 1 = 1.6 and the ask widens by
 * 0.5 * 1.6 * 20 = 16 bps to 100.26: 100.25 does not lift it although the
 * taker flow is neutral; with the depths swapped the bid side is widened
 * and the ask at 100.1 fills. */
static void test_book_imbalance(void) {
  path pt;
  flat(&pt, 5);
  pt.h[2] = 100.25;
  double p[10];
  base_params(p);
  p[AS_LAMBDA] = 1;
  p[AS_SCALE] = 1;
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

/* Max inventory 2 units: one bid fill of 2 units at 99.9 puts the ratio u
 * at 2 * 100 / (0.02 * equity) (just under 1) > 0.7, so a reduce-only
 * market sell of (u - 0.7) * multiplier units per second over the 60 s bar
 * goes out and fills at the next open.  Multiplier 0.01: (u - 0.7) * 0.6
 * = 0.17999 units, 0.179 at the lot size (the old rule, a percent of the
 * max inventory, sold 0.0036).  Multiplier 10 sells all 2 units at once. */
static void test_urgency_liquidation(void) {
  path pt;
  flat(&pt, 4);
  pt.l[2] = 99.8;
  double p[10];
  base_params(p);
  p[MAXINV] = 0.02;
  p[LIQ] = 0.01;
  qt_result r;
  qt_engine *e = NULL;
  qt_bars b = {0};
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  double eq = 10000 + 2 * (100 - 99.9) - 2 * 99.9 * 2e-4; /* at bar 2's close */
  double u = 2 * 100 / (0.02 * eq);
  double liq = floor((u - 0.7) * 0.01 * 60 / 0.001) * 0.001;
  ASSERT_TRUE(r.n_trades == 2);
  EXPECT_NEAR(liq, 0.179, 1e-12);
  EXPECT_NEAR(r.trades[0].qty, liq, 1e-9);
  EXPECT_NEAR(r.trades[0].exit_price, 100.0, 1e-12); /* bar 3's open, taker */
  EXPECT_EQ(r.trades[0].exit_ms, SU_T0 + 3 * 60000);
  EXPECT_EQ(r.trades[0].exit_reason, QT_EXIT_SIGNAL);
  EXPECT_NEAR(r.trades[1].qty, 2 - liq, 1e-9);
  EXPECT_EQ(r.trades[1].exit_reason, QT_EXIT_END_OF_DATA);
  qt_engine_free(e);
  qt_bars_fini(&b);
  /* 10 units per second per unit of urgency: min(2, 0.3 * 10 * 60) = all of it. */
  flat(&pt, 6);
  pt.l[2] = 99.8;
  p[LIQ] = 10;
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  ASSERT_TRUE(r.n_trades == 1);
  EXPECT_NEAR(r.trades[0].qty, 2.0, 1e-12);
  EXPECT_NEAR(r.trades[0].entry_price, 99.9, 1e-12);
  EXPECT_NEAR(r.trades[0].exit_price, 100.0, 1e-12);
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

/* The floor is a fraction of the base spread (not of the half-spread): a
 * skew larger than the half-spread leaves the ask min_spread_base_ratio *
 * 20 bps above mid, 0.25 * 20 = 5 bps (100.05; the old half-spread rule
 * gave 2.5 bps). */
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
  p[MIN_RATIO] = 0.25;
  qt_result r;
  qt_engine *e = NULL;
  qt_bars b = {0};
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  ASSERT_TRUE(r.n_trades == 1);
  EXPECT_NEAR(r.trades[0].exit_price, 100.05, 1e-12);
  qt_engine_free(e);
  qt_bars_fini(&b);
}

/* The quoting rule by hand, defaults (base 20 bps, half 10, floor 4):
 * q = 0.5, mu = 0.1: skew 0.5 * 0.5 * 10 = 2.5, ask widening 0.5 * 0.1 *
 * 20 = 1, so bid 12.5 and ask 8.5 bps; q = -0.9, mu = -0.2: bid widened by
 * 2 and skewed by -4.5 (7.5), ask +4.5 (14.5), liquidation (0.9 - 0.7) *
 * 10 = 2 units per second; a skew past the half-spread stops at the floor. */
static void test_quote_rule(void) {
  double p[10];
  qt_strategy_defaults(mm(), p);
  qt_mm_quote q;
  qt_market_maker_quote(p, 0.5, 0.1, &q);
  EXPECT_NEAR(q.bid_bps, 12.5, 1e-12);
  EXPECT_NEAR(q.ask_bps, 8.5, 1e-12);
  EXPECT_NEAR(q.liq_units_per_s, 0, 0);
  qt_market_maker_quote(p, -0.9, -0.2, &q);
  EXPECT_NEAR(q.bid_bps, 7.5, 1e-12);
  EXPECT_NEAR(q.ask_bps, 14.5, 1e-12);
  EXPECT_NEAR(q.liq_units_per_s, 2.0, 1e-12);
  p[SKEW] = 2;
  qt_market_maker_quote(p, 1, 0, &q);
  EXPECT_NEAR(q.ask_bps, 4.0, 1e-12);
  EXPECT_NEAR(q.bid_bps, 30.0, 1e-12);
  /* the observation: imbalance 0.58 and D 12.5 bps over scale 100 */
  EXPECT_NEAR(qt_market_maker_as_observation(p, 0.58, 12.5), 0.16 * 0.125, 1e-15);
  EXPECT_NEAR(qt_market_maker_as_observation(p, 0.5, 40), 0, 0);
  /* the guide's ranges and defaults */
  const qt_strategy_vtbl *s = mm();
  static const struct { const char *name; double lo, hi, def; } guide[] = {
      {"skew_adjustment_factor", 0, 2, 0.5},
      {"adverse_selection_adjustment_factor", 0, 2, 0.5},
      {"adverse_selection_lambda", 0, 1, 0.1},
      {"inventory_urgency_threshold", 0, 1, 0.7},
      {"liquidation_rate_multiplier", 0, 100, 10},
      {"min_spread_base_ratio", 0, 1, 0.2},
  };
  for (size_t k = 0; k < sizeof guide / sizeof guide[0]; k++) {
    int i = qt_strategy_param_index(s, guide[k].name);
    ASSERT_TRUE(i >= 0);
    EXPECT_NEAR(s->params[i].lo, guide[k].lo, 0);
    EXPECT_NEAR(s->params[i].hi, guide[k].hi, 0);
    EXPECT_NEAR(s->params[i].def, guide[k].def, 0);
  }
  int i = qt_strategy_param_index(s, "adverse_selection_spread_scale");
  ASSERT_TRUE(i >= 0);
  EXPECT_NEAR(s->params[i].def, 100, 0);
  EXPECT_TRUE(s->params[i].lo > 0 && s->params[i].lo <= 0.001 && s->params[i].hi >= 1e6);
}

static char g_last_state[256], g_last_control[256];
static int g_vec_lines;
static qt_log_level g_vec_level;

static void mm_test_sink(void *ud, qt_log_level lvl, const char *msg) {
  (void)ud;
  if (strncmp(msg, "StateVector[", 12) == 0) {
    snprintf(g_last_state, sizeof g_last_state, "%s", msg);
    g_vec_lines++;
    g_vec_level = lvl;
  } else if (strncmp(msg, "ControlVector[", 14) == 0) {
    snprintf(g_last_control, sizeof g_last_control, "%s", msg);
    g_vec_lines++;
  }
}

/* The guide's lines: at debug in a backtest (none at info), at info from
 * the live variant; on flat bars at 100 with no book: S=100.00, no
 * inventory, mu 0, D 0 (a range of 0), I 0.5; quotes 10 bps each side. */
static void test_vector_log(void) {
  path pt;
  flat(&pt, 4);
  double p[10];
  base_params(p);
  qt_result r;
  qt_engine *e = NULL;
  qt_bars b = {0};
  g_vec_lines = 0;
  qt_log_set(mm_test_sink, NULL, QT_LOG_DEBUG);
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  EXPECT_EQ(g_vec_lines, 6); /* bars 1..3, two lines each */
  EXPECT_EQ((int)g_vec_level, (int)QT_LOG_DEBUG);
  EXPECT_STREQ(g_last_state, "StateVector[S=100.00, Q=0.0000, mu=0.0000, D=0.0bps, I=0.500]");
  EXPECT_STREQ(g_last_control,
               "ControlVector[db=10.0bps, da=10.0bps, spread=20.0bps, asymmetry=0.0bps]");
  qt_engine_free(e);
  qt_bars_fini(&b);
  g_vec_lines = 0;
  qt_log_set(mm_test_sink, NULL, QT_LOG_INFO);
  ASSERT_TRUE(run(&pt, p, &r, &e, &b) == QT_OK);
  EXPECT_EQ(g_vec_lines, 0);
  qt_engine_free(e);
  qt_bars_fini(&b);
  /* the paper runner's variant: same fills, lines at info */
  const qt_strategy_vtbl *live = qt_strategy_live_variant(mm());
  EXPECT_TRUE(live != mm());
  EXPECT_STREQ(live->name, "market_maker");
  EXPECT_TRUE(qt_strategy_live_variant(qt_strategy_find("sma_cross")) ==
              qt_strategy_find("sma_cross"));
  ASSERT_TRUE(su_bars(&b, pt.n, pt.o, pt.h, pt.l, pt.c, pt.v, pt.tb) == 0);
  qt_feed f = su_feed(&b, "MM");
  f.inst.lot_size = 0.001;
  ASSERT_TRUE(su_run(&f, 1, live, p, 0, &e, &r) == QT_OK);
  EXPECT_EQ(g_vec_lines, 6);
  EXPECT_EQ((int)g_vec_level, (int)QT_LOG_INFO);
  qt_log_set(NULL, NULL, QT_LOG_OFF);
  qt_engine_free(e);
  qt_bars_fini(&b);
}

static void test_random_markets(void) {
  size_t n = su_random_markets(mm(), NULL, 3, 0);
  EXPECT_TRUE(n > 0);
}

QT_TESTS(T(test_round_trip), T(test_skew), T(test_adverse_selection), T(test_book_imbalance),
         T(test_urgency_liquidation), T(test_min_spread_floor), T(test_quote_rule),
         T(test_vector_log),
         T(test_random_markets))
