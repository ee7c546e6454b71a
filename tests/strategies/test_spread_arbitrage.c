/* spread_arbitrage on two hand-made venues: the entry bar, the legs, the
 * exit on convergence and the P&L are known in advance.  Then the
 * invariants on synthetic two-venue markets. */
#include "strat_util.h"

enum { MIN_SPREAD, FEE_A, FEE_B, SLIP, MAX_USD, EXIT };
#define N 12

static const qt_strategy_vtbl *sa(void) { return qt_strategy_find("spread_arbitrage"); }

typedef struct two {
  qt_bars a, b;
  qt_engine *e;
  qt_result r;
} two;

/* Flat bars (o = h = l = c) at the given closes. */
static int run(two *t, const double *pa, const double *pb, const double *p) {
  memset(t, 0, sizeof *t);
  if (su_bars(&t->a, N, pa, pa, pa, pa, NULL, NULL) || su_bars(&t->b, N, pb, pb, pb, pb, NULL, NULL))
    return -1;
  qt_feed f[2] = {su_feed(&t->a, "X"), su_feed(&t->b, "X.B")};
  f[1].inst.venue = 1;
  return su_run(f, 2, sa(), p, 0, &t->e, &t->r);
}

static void done(two *t) {
  qt_engine_free(t->e);
  qt_bars_fini(&t->a);
  qt_bars_fini(&t->b);
}

/* B 70 bps dear at bar 5 (threshold 30+10+10+5 = 55): buy A, sell B at
 * bar 6's open; B back to A's price at bar 8: both legs closed at bar 9. */
static void test_enter_and_converge(void) {
  ASSERT_TRUE(sa() != NULL);
  double pa[N], pb[N], p[6];
  for (int i = 0; i < N; i++) pa[i] = pb[i] = 100;
  pb[5] = pb[6] = pb[7] = 100.7;
  qt_strategy_defaults(sa(), p);
  two t;
  ASSERT_TRUE(run(&t, pa, pb, p) == QT_OK);
  EXPECT_EQ(t.r.n_signals, 1);
  ASSERT_TRUE(t.r.n_trades == 2);
  double mid = (100 + 100.7) / 2, qty = 1000 / mid;
  const qt_trade_rec *ta = t.r.trades[0].inst == 0 ? &t.r.trades[0] : &t.r.trades[1];
  const qt_trade_rec *tb = t.r.trades[0].inst == 0 ? &t.r.trades[1] : &t.r.trades[0];
  EXPECT_EQ(ta->inst, 0);
  EXPECT_EQ(tb->inst, 1);
  EXPECT_EQ(ta->side, QT_BUY);
  EXPECT_EQ(tb->side, QT_SELL);
  EXPECT_NEAR(ta->qty, qty, 1e-12);
  EXPECT_NEAR(tb->qty, qty, 1e-12);
  EXPECT_EQ(ta->entry_ms, SU_T0 + 6 * 60000);
  EXPECT_EQ(ta->exit_ms, SU_T0 + 9 * 60000);
  EXPECT_NEAR(tb->entry_price, 100.7, 1e-12);
  EXPECT_NEAR(tb->exit_price, 100, 1e-12);
  EXPECT_EQ(ta->exit_reason, QT_EXIT_SIGNAL);
  double fees = 5e-4 * qty * (100 + 100 + 100.7 + 100); /* four taker fills */
  EXPECT_NEAR(t.r.fees_paid, fees, 1e-12);
  EXPECT_NEAR(t.r.final_equity, 10000 + qty * 0.7 - fees, 1e-9);
  su_check_invariants(&t.r);
  done(&t);
}

/* 50 bps is below 55: nothing; a lower min_spread_bps makes it trade. */
static void test_threshold(void) {
  double pa[N], pb[N], p[6];
  for (int i = 0; i < N; i++) pa[i] = pb[i] = 100;
  pb[5] = pb[6] = 100.5;
  qt_strategy_defaults(sa(), p);
  two t;
  ASSERT_TRUE(run(&t, pa, pb, p) == QT_OK);
  EXPECT_EQ(t.r.n_orders, 0);
  done(&t);
  p[MIN_SPREAD] = 20; /* 20 + 25 = 45 < 50 */
  ASSERT_TRUE(run(&t, pa, pb, p) == QT_OK);
  EXPECT_EQ(t.r.n_signals, 1);
  EXPECT_EQ(t.r.n_trades, 2);
  done(&t);
  p[MIN_SPREAD] = 30;
  p[FEE_A] = p[FEE_B] = p[SLIP] = 0; /* 30 < 50 */
  ASSERT_TRUE(run(&t, pa, pb, p) == QT_OK);
  EXPECT_EQ(t.r.n_signals, 1);
  done(&t);
}

/* A cheap B (negative spread): sell A, buy B; exit_spread_bps 20 exits once
 * the spread is back within 20 bps, before it reaches zero. */
static void test_reverse_and_exit_threshold(void) {
  double pa[N], pb[N], p[6];
  for (int i = 0; i < N; i++) pa[i] = pb[i] = 100;
  pb[3] = 99.3;             /* -70.2 bps */
  pb[4] = 99.7;             /* -30 bps: still open */
  pb[5] = pb[6] = 99.85;    /* -15 bps: within 20 -> exit at bar 6's open */
  qt_strategy_defaults(sa(), p);
  p[EXIT] = 20;
  two t;
  ASSERT_TRUE(run(&t, pa, pb, p) == QT_OK);
  ASSERT_TRUE(t.r.n_trades == 2);
  const qt_trade_rec *ta = t.r.trades[0].inst == 0 ? &t.r.trades[0] : &t.r.trades[1];
  const qt_trade_rec *tb = t.r.trades[0].inst == 0 ? &t.r.trades[1] : &t.r.trades[0];
  EXPECT_EQ(ta->side, QT_SELL);
  EXPECT_EQ(tb->side, QT_BUY);
  EXPECT_EQ(ta->exit_ms, SU_T0 + 6 * 60000);
  EXPECT_NEAR(tb->entry_price, 99.7, 1e-12); /* bar 4's open */
  EXPECT_NEAR(tb->exit_price, 99.85, 1e-12);
  done(&t);
  /* With exit 0 the same path holds to the end of data (the spread stays < 0). */
  p[EXIT] = 0;
  ASSERT_TRUE(run(&t, pa, pb, p) == QT_OK);
  ASSERT_TRUE(t.r.n_trades == 2);
  EXPECT_EQ(t.r.trades[0].exit_reason, QT_EXIT_SIGNAL); /* bars 7.. are back at 100: spread 0 */
  EXPECT_EQ(t.r.trades[0].exit_ms, SU_T0 + 8 * 60000);
  done(&t);
}

/* One instrument only: init refuses with a message. */
static void test_needs_two(void) {
  EXPECT_EQ(sa()->n_instruments, 2);
  EXPECT_TRUE(sa()->needs & QT_NEEDS_SECOND);
  double pa[N], p[6];
  for (int i = 0; i < N; i++) pa[i] = 100;
  qt_bars a = {0};
  ASSERT_TRUE(su_bars(&a, N, pa, pa, pa, pa, NULL, NULL) == 0);
  qt_feed f = su_feed(&a, "X");
  qt_engine *e = NULL;
  qt_err err;
  qt_engine_opts eo = qt_engine_opts_default();
  ASSERT_TRUE(qt_engine_new(&eo, &e, &err) == QT_OK);
  qt_strategy_defaults(sa(), p);
  qt_result r;
  EXPECT_NE(qt_engine_run(e, &f, 1, sa(), p, &r, &err), QT_OK);
  EXPECT_CONTAINS(err.msg, "instrument");
  qt_engine_free(e);
  qt_bars_fini(&a);
}

/* On synthetic markets whose venue B strays 40 bps (sd) the defaults trade;
 * the invariants hold either way. */
static void test_random_markets(void) {
  size_t n = su_random_markets(sa(), NULL, 3, 40);
  EXPECT_TRUE(n > 0);
  su_random_markets(sa(), NULL, 2, 0);
}

QT_TESTS(T(test_enter_and_converge), T(test_threshold), T(test_reverse_and_exit_threshold),
         T(test_needs_two), T(test_random_markets))
