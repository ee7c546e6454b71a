/* auction_market on hand-made paths: a quiet value area at 100, then a
 * breakout bar with a known aggression score; the entry, stop, target and
 * sizes are computed here from the rules.  Then the invariants on synthetic
 * markets. */
#include "qtune/indicators.h"
#include "strat_util.h"

enum { MIN_AGGR, BALANCE, STOP_M, TGT_M, RISK, MAXPOS, MAXLOSS, ATR_LEN, PROFILE, FLOW, BUCKET };

#define NB 100
#define BRK 80 /* the breakout bar */

typedef struct path {
  double o[NB], h[NB], l[NB], c[NB], v[NB], tb[NB];
} path;

static const qt_strategy_vtbl *am(void) { return qt_strategy_find("auction_market"); }

/* Bars 0..BRK-1: open/close 100, range 99.8-100.2, volume 10, taker buys 5. */
static void quiet(path *pt) {
  for (size_t i = 0; i < NB; i++) {
    pt->o[i] = pt->c[i] = 100;
    pt->h[i] = 100.2;
    pt->l[i] = 99.8;
    pt->v[i] = 10;
    pt->tb[i] = 5;
  }
}

static void set(path *pt, size_t i, double o, double h, double l, double c, double tb) {
  pt->o[i] = o, pt->h[i] = h, pt->l[i] = l, pt->c[i] = c, pt->tb[i] = tb;
}

static void params(double *p) {
  qt_strategy_defaults(am(), p);
  p[PROFILE] = 60;
  p[FLOW] = 1;
  p[RISK] = 0.1;
}

typedef struct run_ctx {
  qt_bars b;
  qt_engine *e;
  qt_result r;
} run_ctx;

static int run(run_ctx *rc, const path *pt, const double *p) {
  memset(rc, 0, sizeof *rc);
  if (su_bars(&rc->b, NB, pt->o, pt->h, pt->l, pt->c, pt->v, pt->tb)) return -1;
  qt_feed f = su_feed(&rc->b, "AM");
  return su_run(&f, 1, am(), p, 0, &rc->e, &rc->r);
}

static void done(run_ctx *rc) {
  qt_engine_free(rc->e);
  qt_bars_fini(&rc->b);
}

/* ATR(n) of the path at bar i, from the indicator layer. */
static double atr_at(const qt_bars *b, int n, size_t i) {
  double *cols[2] = {malloc(b->n * sizeof(double)), malloc(b->n * sizeof(double))};
  qt_err err;
  double v = NAN;
  if (qt_ind_compute(b, QT_IND_ATR, n, 0, 0, cols, &err) == QT_OK) v = cols[0][i];
  free(cols[0]);
  free(cols[1]);
  return v;
}

/* Breakout above VAH with 90% taker buys: long at the next open, target hit. */
static void test_breakout_target(void) {
  ASSERT_TRUE(am() != NULL);
  path pt;
  quiet(&pt);
  set(&pt, BRK, 100, 100.6, 100, 100.5, 9);
  set(&pt, BRK + 1, 100.5, 100.7, 100.4, 100.6, 5);
  for (size_t i = BRK + 2; i < NB; i++) set(&pt, i, 101.8, 102.0, 101.6, 101.8, 5);
  pt.o[BRK + 2] = 100.6; /* rises through the target */
  pt.l[BRK + 2] = 100.5;
  double p[11];
  params(p);
  run_ctx rc;
  ASSERT_TRUE(run(&rc, &pt, p) == QT_OK);
  double atr = atr_at(&rc.b, 14, BRK);
  ASSERT_TRUE(atr > 0.4 && atr < 0.6);
  EXPECT_EQ(rc.r.n_signals, 1);
  ASSERT_TRUE(rc.r.n_trades == 1);
  const qt_trade_rec *t = &rc.r.trades[0];
  double qty = 10000 * 0.001 / (1.5 * atr);
  EXPECT_EQ(t->side, QT_BUY);
  EXPECT_NEAR(t->qty, qty, 1e-9);
  EXPECT_NEAR(t->entry_price, 100.5, 1e-12);
  EXPECT_EQ(t->entry_ms, SU_T0 + (BRK + 1) * 60000);
  EXPECT_EQ(t->exit_reason, QT_EXIT_TAKE_PROFIT);
  EXPECT_NEAR(t->exit_price, 100.5 + 3 * atr, 1e-12);
  double fees = qty * 100.5 * 5e-4 + qty * (100.5 + 3 * atr) * 2e-4; /* taker in, maker out */
  EXPECT_NEAR(t->pnl, qty * 3 * atr - fees, 1e-9);
  /* Disarmed: the close never returns to the value area, so no second entry. */
  EXPECT_EQ(rc.r.n_orders, 3); /* entry, stop, target (the stop is cancelled) */
  su_check_invariants(&rc.r);
  done(&rc);
}

/* The same entry, then a drop through the stop: a stop-loss exit at the trigger. */
static void test_breakout_stop(void) {
  path pt;
  quiet(&pt);
  set(&pt, BRK, 100, 100.6, 100, 100.5, 9);
  set(&pt, BRK + 1, 100.5, 100.7, 100.4, 100.6, 5);
  for (size_t i = BRK + 2; i < NB; i++) set(&pt, i, 99.6, 99.7, 99.5, 99.6, 5);
  pt.o[BRK + 2] = 100.6;
  pt.h[BRK + 2] = 100.6;
  double p[11];
  params(p);
  run_ctx rc;
  ASSERT_TRUE(run(&rc, &pt, p) == QT_OK);
  double atr = atr_at(&rc.b, 14, BRK);
  ASSERT_TRUE(rc.r.n_trades == 1);
  const qt_trade_rec *t = &rc.r.trades[0];
  EXPECT_EQ(t->exit_reason, QT_EXIT_STOP_LOSS);
  EXPECT_NEAR(t->exit_price, 100.5 - 1.5 * atr, 1e-12);
  /* A stop loses risk_per_trade_pct of equity before fees. */
  EXPECT_NEAR(t->qty * (t->entry_price - t->exit_price), 10000 * 0.001, 1e-9);
  /* Below VAL afterwards, but taker flow is neutral (50 < 70): no short. */
  EXPECT_EQ(rc.r.n_signals, 1);
  done(&rc);
}

/* Aggression 60 < 70: no entry; at min 60 the same bar enters. */
static void test_aggression_threshold(void) {
  path pt;
  quiet(&pt);
  set(&pt, BRK, 100, 100.6, 100, 100.5, 6);
  for (size_t i = BRK + 1; i < NB; i++) set(&pt, i, 100.5, 100.6, 100.4, 100.5, 5);
  double p[11];
  params(p);
  run_ctx rc;
  ASSERT_TRUE(run(&rc, &pt, p) == QT_OK);
  EXPECT_EQ(rc.r.n_orders, 0);
  done(&rc);
  p[MIN_AGGR] = 60;
  ASSERT_TRUE(run(&rc, &pt, p) == QT_OK);
  EXPECT_EQ(rc.r.n_signals, 1);
  done(&rc);
  /* Sell side: a breakdown with 90% taker sells goes short. */
  quiet(&pt);
  set(&pt, BRK, 100, 100, 99.4, 99.5, 1);
  for (size_t i = BRK + 1; i < NB; i++) set(&pt, i, 99.5, 99.6, 99.4, 99.5, 5);
  params(p);
  ASSERT_TRUE(run(&rc, &pt, p) == QT_OK);
  ASSERT_TRUE(rc.r.n_trades == 1);
  EXPECT_EQ(rc.r.trades[0].side, QT_SELL);
  EXPECT_EQ(rc.r.trades[0].exit_reason, QT_EXIT_END_OF_DATA);
  done(&rc);
}

/* No order before the profile window is full, even on a breakout. */
static void test_lookback(void) {
  path pt;
  quiet(&pt);
  set(&pt, 30, 100, 100.6, 100, 100.5, 9);
  double p[11];
  params(p);
  EXPECT_EQ(am()->lookback(p), 60);
  p[ATR_LEN] = 50;
  p[PROFILE] = 60;
  EXPECT_EQ(am()->lookback(p), 60);
  p[ATR_LEN] = 14;
  run_ctx rc;
  ASSERT_TRUE(run(&rc, &pt, p) == QT_OK);
  EXPECT_EQ(rc.r.n_orders, 0);
  done(&rc);
}

/* Balance fade: a bar poking above VAH and closing back inside is sold. */
static void test_balance_fade(void) {
  path pt;
  quiet(&pt);
  for (size_t i = 0; i < NB; i++) pt.h[i] = 100.1, pt.l[i] = 99.9;
  set(&pt, BRK, 100, 100.3, 100, 100, 5);
  double p[11];
  params(p);
  p[BUCKET] = 100; /* the 1% bucket holding 100 is [99.19, 100.18] */
  run_ctx rc;
  ASSERT_TRUE(run(&rc, &pt, p) == QT_OK);
  EXPECT_EQ(rc.r.n_orders, 0); /* off by default */
  done(&rc);
  p[BALANCE] = 1;
  ASSERT_TRUE(run(&rc, &pt, p) == QT_OK);
  ASSERT_TRUE(rc.r.n_trades >= 1);
  EXPECT_EQ(rc.r.trades[0].side, QT_SELL);
  EXPECT_EQ(rc.r.trades[0].entry_ms, SU_T0 + (BRK + 1) * 60000);
  done(&rc);
}

/* max_positions 1: a second breakout while the first is open is skipped;
 * with 3, it adds a second entry. */
static void test_max_positions(void) {
  path pt;
  quiet(&pt);
  set(&pt, BRK, 100, 100.6, 100, 100.5, 9);
  set(&pt, BRK + 1, 100.5, 100.6, 99.9, 100, 5); /* back inside: re-armed */
  set(&pt, BRK + 2, 100, 100.6, 100, 100.5, 9);   /* second breakout */
  for (size_t i = BRK + 3; i < NB; i++) set(&pt, i, 100.5, 100.6, 100.4, 100.5, 5);
  double p[11];
  params(p);
  p[MAXPOS] = 1;
  run_ctx rc;
  ASSERT_TRUE(run(&rc, &pt, p) == QT_OK);
  EXPECT_EQ(rc.r.n_signals, 1);
  done(&rc);
  p[MAXPOS] = 3;
  ASSERT_TRUE(run(&rc, &pt, p) == QT_OK);
  EXPECT_EQ(rc.r.n_signals, 2);
  done(&rc);
}

/* A day's loss beyond max_daily_loss_pct halts entries: after a drop that
 * costs more than 0.5% of equity the next breakout the same day is ignored. */
static void test_daily_loss_halt(void) {
  path pt;
  quiet(&pt);
  set(&pt, BRK, 100, 100.6, 100, 100.5, 9);
  set(&pt, BRK + 1, 100.5, 100.6, 98.0, 98.2, 5); /* marked loss > 0.5% of equity */
  set(&pt, BRK + 2, 98.2, 100.1, 98.1, 100, 5);   /* stop at the open, back inside */
  set(&pt, BRK + 3, 100, 100.6, 100, 100.5, 9);   /* second breakout */
  for (size_t i = BRK + 4; i < NB; i++) set(&pt, i, 100.5, 100.6, 100.4, 100.5, 5);
  double p[11];
  params(p);
  p[RISK] = 1.0;
  p[MAXLOSS] = 0.5;
  run_ctx rc;
  ASSERT_TRUE(run(&rc, &pt, p) == QT_OK);
  ASSERT_TRUE(rc.r.n_trades >= 1);
  EXPECT_EQ(rc.r.trades[0].exit_reason, QT_EXIT_STOP_LOSS);
  EXPECT_EQ(rc.r.n_signals, 1);
  done(&rc);
  p[MAXLOSS] = 10;
  ASSERT_TRUE(run(&rc, &pt, p) == QT_OK);
  EXPECT_EQ(rc.r.n_signals, 2);
  done(&rc);
}

/* The profile rolls: bars 0..9 trade 1000 each at 100, then 10 each at 110.
 * A drop to 109.5 on taker selling at bar 75 (60-bar window = bars 16..75,
 * all at 110) is below VAL: short.  The same drop at bar 65 (window 6..65:
 * 4000 of 4560 volume at 100, so the value area is the 100 bucket) is above
 * the value area: no short. */
static void rolls_path(path *pt, size_t at) {
  quiet(pt);
  for (size_t i = 0; i < 10; i++) pt->v[i] = 1000, pt->tb[i] = 500;
  for (size_t i = 10; i < NB; i++) set(pt, i, 110, 110.2, 109.8, 110, 5);
  pt->o[10] = 100;
  set(pt, at, 110, 110, 109.4, 109.5, 1);
  for (size_t i = at + 1; i < NB; i++) set(pt, i, 109.5, 109.6, 109.4, 109.5, 5);
}

static void test_profile_rolls(void) {
  path pt;
  double p[11];
  params(p);
  run_ctx rc;
  rolls_path(&pt, 75);
  ASSERT_TRUE(run(&rc, &pt, p) == QT_OK);
  ASSERT_TRUE(rc.r.n_trades == 1);
  EXPECT_EQ(rc.r.trades[0].side, QT_SELL);
  EXPECT_EQ(rc.r.trades[0].entry_ms, SU_T0 + 76 * 60000);
  done(&rc);
  rolls_path(&pt, 65);
  ASSERT_TRUE(run(&rc, &pt, p) == QT_OK);
  EXPECT_EQ(rc.r.n_signals, 0);
  done(&rc);
}

/* Bars with a NaN or negative volume add nothing to the profile: the
 * breakout of test_breakout_target still enters at the same bar. */
static void test_bad_volume_ignored(void) {
  path pt;
  quiet(&pt);
  pt.v[40] = NAN;
  pt.v[41] = -5;
  pt.tb[41] = -1;
  set(&pt, BRK, 100, 100.6, 100, 100.5, 9);
  for (size_t i = BRK + 1; i < NB; i++) set(&pt, i, 100.5, 100.6, 100.4, 100.5, 5);
  double p[11];
  params(p);
  run_ctx rc;
  ASSERT_TRUE(run(&rc, &pt, p) == QT_OK);
  EXPECT_EQ(rc.r.n_signals, 1);
  ASSERT_TRUE(rc.r.n_trades == 1);
  EXPECT_EQ(rc.r.trades[0].entry_ms, SU_T0 + (BRK + 1) * 60000);
  done(&rc);
}

static void test_random_markets(void) {
  size_t n = su_random_markets(am(), NULL, 5, 0);
  EXPECT_TRUE(n > 0);
}

QT_TESTS(T(test_breakout_target), T(test_breakout_stop), T(test_aggression_threshold),
         T(test_lookback), T(test_balance_fade), T(test_max_positions), T(test_daily_loss_halt), T(test_profile_rolls), T(test_bad_volume_ignored),
         T(test_random_markets))
