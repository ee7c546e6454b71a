/* funding_arbitrage: the rules of docs/strategies/funding_arbitrage.md on
 * hand-made hourly paths (24 bars = 24 h, a settlement every 8 bars) whose
 * fills, funding and P&L are worked out here, plus synth invariants. */
#include "qtune/data.h"
#include "strat_util.h"

#define T0 SU_T0
#define HOUR_MS 3600000LL
#define N 60

extern const qt_strategy_vtbl qt_strategy_funding_arbitrage;
static const qt_strategy_vtbl *S = &qt_strategy_funding_arbitrage;

static void setb(qt_bars *b, size_t i, double c, double v) { su_setb(b, i, c, c + 0.1, c - 0.1, c, v); }

/* Both instruments at 100 until bar 29, then 110 (one path for both, so the
 * hedge cancels the price move). */
typedef struct mkt {
  qt_bars perp, spot;
  qt_funding fu;
  qt_feed f[2];
} mkt;

static int mkt_new(mkt *m, double vol, const double *rates, size_t n_rates) {
  memset(m, 0, sizeof *m);
  if (qt_bars_alloc(&m->perp, N, NULL) || qt_bars_alloc(&m->spot, N, NULL) ||
      qt_funding_alloc(&m->fu, n_rates, NULL))
    return 0;
  m->perp.interval_ms = m->spot.interval_ms = HOUR_MS;
  for (size_t i = 0; i < N; i++) {
    setb(&m->perp, i, i < 30 ? 100 : 110, vol);
    setb(&m->spot, i, i < 30 ? 100 : 110, vol);
  }
  for (size_t k = 0; k < n_rates; k++) {
    m->fu.ts_ms[k] = T0 + (int64_t)k * 8 * HOUR_MS;
    m->fu.rate[k] = rates[k];
    m->fu.interval_h[k] = 8;
  }
  for (int k = 0; k < 2; k++) {
    m->f[k].inst = qt_instrument_default(k ? "SPOT" : "PERP");
    m->f[k].inst.kind = k ? QT_INST_SPOT : QT_INST_PERP;
    m->f[k].inst.maker_bps = 2;
    m->f[k].inst.taker_bps = 5;
    m->f[k].inst.lot_size = 0.01;
  }
  m->f[0].bars = &m->perp;
  m->f[0].funding = &m->fu;
  m->f[1].bars = &m->spot;
  return 1;
}

static void mkt_free(mkt *m) {
  qt_bars_fini(&m->perp);
  qt_bars_fini(&m->spot);
  qt_funding_fini(&m->fu);
}

/* Runs use the engine defaults: the default leverage cap (1), two legs of
 * 45% fit. */

static void param_spec(void) {
  ASSERT_TRUE(qt_strategy_find("funding_arbitrage") == S);
  EXPECT_EQ(S->n_params, 3);
  EXPECT_EQ(S->n_instruments, 2);
  EXPECT_TRUE((S->needs & QT_NEEDS_FUNDING) && (S->needs & QT_NEEDS_SECOND));
  double p[3];
  qt_strategy_defaults(S, p);
  EXPECT_NEAR(p[qt_strategy_param_index(S, "min_funding_rate")], 0.0001, 1e-15);
  EXPECT_NEAR(p[qt_strategy_param_index(S, "min_volume")], 100000, 1e-9);
  EXPECT_NEAR(p[qt_strategy_param_index(S, "expiry_hours")], 24, 1e-12);
  EXPECT_EQ(qt_strategy_check_params(S, p, NULL), 0);
}

/* Rates +0.0002 at bars 0, 8, 16, 24; +0.0003 at 32; -0.0001 at 40.  Bar 23
 * (the first with 24 h of bars) sees +0.0002: short perp, long spot at bar
 * 24's open (100), after bar 24's settlement.  Settlements at 32 (+, the
 * short receives) and 40 (-, it pays) with the mark at 110; the flip at bar
 * 40 closes both legs at bar 41's open (110). */
static void hedged_until_flip(void) {
  double rates[] = {0.0002, 0.0002, 0.0002, 0.0002, 0.0003, -0.0001};
  mkt m;
  ASSERT_TRUE(mkt_new(&m, 1000, rates, 6));
  double p[3];
  qt_strategy_defaults(S, p);
  qt_strategy_vtbl v = su_eq_wrap(S);
  qt_engine *e = NULL;
  qt_result r;
  ASSERT_TRUE(su_run(m.f, 2, &v, p, 0, &e, &r) == 0);
  double q = floor(0.45 * 10000 / (100 * 1.0005) / 0.01 + 1e-9) * 0.01; /* 44.97 */
  ASSERT_TRUE(r.n_trades == 2);
  for (int k = 0; k < 2; k++) {
    const qt_trade_rec *t = &r.trades[k];
    EXPECT_NEAR(t->qty, q, 1e-9);
    EXPECT_EQ(t->entry_ms, T0 + 24 * HOUR_MS);
    EXPECT_EQ(t->exit_ms, T0 + 41 * HOUR_MS);
    EXPECT_NEAR(t->entry_price, 100, 1e-12);
    EXPECT_NEAR(t->exit_price, 110, 1e-12);
    EXPECT_EQ(t->exit_reason, QT_EXIT_SIGNAL);
    EXPECT_EQ(t->side, t->inst == 0 ? QT_SELL : QT_BUY);
  }
  double funding = q * 110 * 0.0003 - q * 110 * 0.0001;
  double fees = 2 * q * 100 * 5e-4 + 2 * q * 110 * 5e-4;
  EXPECT_NEAR(r.funding_paid, -funding, 1e-9);
  EXPECT_NEAR(r.fees_paid, fees, 1e-9);
  EXPECT_NEAR(r.final_equity, 10000 + funding - fees, 1e-9); /* the price move cancels */
  EXPECT_EQ(r.n_signals, 2);
  EXPECT_EQ(r.n_expired, 0);
  EXPECT_EQ(su_eq_bad(), 0);
  qt_engine_free(e);
  mkt_free(&m);
}

/* Rates stay +0.0002: the bar-23 signal expires at bar 47 (23 + 24 h) at its
 * open; no new entry on bar 47 (same settlement), a new one at bar 48 (a new
 * settlement), closed at the end of data. */
static void expiry_then_one_entry_per_settlement(void) {
  double rates[] = {0.0002, 0.0002, 0.0002, 0.0002, 0.0002, 0.0002, 0.0002, 0.0002};
  mkt m;
  ASSERT_TRUE(mkt_new(&m, 1000, rates, 8));
  double p[3];
  qt_strategy_defaults(S, p);
  qt_engine *e = NULL;
  qt_result r;
  ASSERT_TRUE(su_run(m.f, 2, S, p, 0, &e, &r) == 0);
  ASSERT_TRUE(r.n_trades == 4);
  EXPECT_EQ(r.trades[0].exit_reason, QT_EXIT_EXPIRY);
  EXPECT_EQ(r.trades[1].exit_reason, QT_EXIT_EXPIRY);
  EXPECT_EQ(r.trades[0].exit_ms, T0 + 47 * HOUR_MS);
  EXPECT_EQ(r.trades[2].entry_ms, T0 + 49 * HOUR_MS);
  EXPECT_EQ(r.trades[2].exit_reason, QT_EXIT_END_OF_DATA);
  EXPECT_EQ(r.n_signals, 4);
  EXPECT_EQ(r.n_expired, 2);
  qt_engine_free(e);
  mkt_free(&m);
}

/* 24 h quote volume: at most 24 * 35 * 110 = 92 400 < 100 000 -> no entry;
 * 24 * 45 * 100 = 108 000 -> entry at bar 23.  A rate below min_funding_rate -> none. */
static void volume_and_rate_gates(void) {
  double rates[] = {0.0002, 0.0002, 0.0002, 0.0002};
  double p[3];
  qt_strategy_defaults(S, p);
  for (int c = 0; c < 3; c++) {
    mkt m;
    double low[] = {0.00009, 0.00009, 0.00009, 0.00009};
    ASSERT_TRUE(mkt_new(&m, c == 0 ? 35 : 45, c == 2 ? low : rates, 4));
    qt_engine *e = NULL;
    qt_result r;
    ASSERT_TRUE(su_run(m.f, 2, S, p, 0, &e, &r) == 0);
    EXPECT_EQ(r.n_signals, c == 1 ? 2 : 0);
    if (c == 1 && r.n_trades > 0) EXPECT_EQ(r.trades[0].entry_ms, T0 + 24 * HOUR_MS);
    qt_engine_free(e);
    mkt_free(&m);
  }
}

/* A negative rate: long perp (longs receive), short spot. */
static void negative_rate_long_perp(void) {
  double rates[] = {-0.0002, -0.0002, -0.0002, -0.0002};
  mkt m;
  ASSERT_TRUE(mkt_new(&m, 1000, rates, 4));
  double p[3];
  qt_strategy_defaults(S, p);
  qt_engine *e = NULL;
  qt_result r;
  ASSERT_TRUE(su_run(m.f, 2, S, p, 0, &e, &r) == 0);
  ASSERT_TRUE(r.n_trades == 2);
  for (int k = 0; k < 2; k++)
    EXPECT_EQ(r.trades[k].side, r.trades[k].inst == 0 ? QT_BUY : QT_SELL);
  qt_engine_free(e);
  mkt_free(&m);
}

/* Synthetic perp (venue A, with funding) hedged with venue B's bars:
 * equity = cash + marked legs, fees >= 0, same seed same result. */
static void defaults_on_synth(void) {
  for (uint64_t seed = 1; seed <= 3; seed++) {
    qt_synth_market sm;
    ASSERT_TRUE(su_synth(&sm, seed, 4, 0) == 0);
    qt_feed f[2];
    memset(f, 0, sizeof f);
    for (int k = 0; k < 2; k++) {
      f[k].inst = qt_instrument_default(k ? "B" : "A");
      f[k].inst.kind = k ? QT_INST_SPOT : QT_INST_PERP;
      f[k].inst.lot_size = 0.001;
    }
    f[0].bars = &sm.bars;
    f[0].funding = &sm.funding;
    f[1].bars = &sm.bars_b;
    double p[3];
    qt_strategy_defaults(S, p);
    qt_strategy_vtbl v = su_eq_wrap(S);
    qt_engine *e = NULL;
    qt_result r;
    ASSERT_TRUE(su_run(f, 2, &v, p, 0, &e, &r) == 0);
    EXPECT_TRUE(r.n_trades > 0);
    su_check_rerun(seed, f, 2, &v, p, &r);
    qt_engine_free(e);
    qt_synth_market_fini(&sm);
  }
}

QT_TESTS(T(param_spec), T(hedged_until_flip), T(expiry_then_one_entry_per_settlement),
         T(volume_and_rate_gates), T(negative_rate_long_perp), T(defaults_on_synth))
