/* grid_trading: the rules of docs/strategies/grid_trading.md on hand-made
 * hourly paths (24 bars = 24 h) whose fills and P&L are worked out here,
 * plus invariants on synthetic 1-minute markets. */
#include "qtune/data.h"
#include "strat_util.h"

#define T0 SU_T0
#define HOUR_MS 3600000LL

extern const qt_strategy_vtbl qt_strategy_grid_trading;
static const qt_strategy_vtbl *S = &qt_strategy_grid_trading;

static void setb(qt_bars *b, size_t i, double o, double h, double l, double c) {
  su_setb(b, i, o, h, l, c, 1000);
}

static int mk(qt_bars *b, size_t n) {
  if (qt_bars_alloc(b, n, NULL)) return 0;
  b->interval_ms = HOUR_MS;
  for (size_t i = 0; i < n; i++) setb(b, i, 100, 100.1, 99.9, 100);
  return 1;
}

static void param_spec(void) {
  ASSERT_TRUE(qt_strategy_find("grid_trading") == S);
  EXPECT_EQ(S->n_params, 3);
  double p[3];
  qt_strategy_defaults(S, p);
  EXPECT_NEAR(p[qt_strategy_param_index(S, "min_range_pct")], 3.0, 1e-12);
  EXPECT_NEAR(p[qt_strategy_param_index(S, "entry_threshold_pct")], 20, 1e-12);
  EXPECT_NEAR(p[qt_strategy_param_index(S, "expiry_hours")], 12, 1e-12);
  EXPECT_EQ(qt_strategy_check_params(S, p, NULL), 0);
}

/* The day (bars 1..24) spans 97 (bar 10) to 103 (bar 5): R = 6 = 6% >= 3%.
 * Bar 24 closes at 98.1 <= 97 + 0.2 * 6: buy at bar 25's open (98.1), take
 * profit at 103.  mode 0: bar 27 reaches 103.5 -> take-profit at 103;
 * mode 1: it never does -> the signal (bar 24 + 12 h = bar 36) expires at
 * bar 36's open (100).  mode 2: the mirror short from 101.9, target 97. */
static void hand_path(int mode) {
  qt_bars b;
  ASSERT_TRUE(mk(&b, 41));
  setb(&b, 5, 100, 103, 99.9, 100);
  setb(&b, 10, 100, 100.1, 97, 100);
  double entry = mode == 2 ? 101.9 : 98.1;
  if (mode == 2) setb(&b, 24, 100, 102, 99.9, entry);
  else setb(&b, 24, 100, 100.1, 98.0, entry);
  setb(&b, 25, entry, entry + 0.05, entry - 0.05, entry);
  if (mode == 0) setb(&b, 27, 100, 103.5, 99.9, 102);
  if (mode == 1) setb(&b, 27, 100, 102.5, 99.9, 102); /* a sell zone close, ignored: in a position */
  if (mode == 2) setb(&b, 27, 100, 100.1, 96.5, 98);
  double p[3];
  qt_strategy_defaults(S, p);
  qt_feed f = su_feed_bps(&b, 2.0, 5.0);
  qt_strategy_vtbl v = su_eq_wrap(S);
  qt_engine *e = NULL;
  qt_result r;
  ASSERT_TRUE(su_run(&f, 1, &v, p, 0, &e, &r) == 0);
  double q = 0.95 * 10000 / (entry * 1.0005);
  ASSERT_TRUE(r.n_trades == 1);
  const qt_trade_rec *t = &r.trades[0];
  EXPECT_NEAR(t->qty, q, 1e-12);
  EXPECT_NEAR(t->entry_price, entry, 1e-12);
  EXPECT_EQ(t->entry_ms, T0 + 25 * HOUR_MS);
  EXPECT_EQ(r.n_signals, 1);
  double fee_in = q * entry * 5e-4, exitp, fee_out;
  if (mode == 0) {
    exitp = 103;
    fee_out = q * 103 * 2e-4;
    EXPECT_EQ(t->exit_reason, QT_EXIT_TAKE_PROFIT);
    EXPECT_EQ(t->exit_ms, T0 + 27 * HOUR_MS);
    EXPECT_EQ(r.n_expired, 0);
  } else if (mode == 1) {
    exitp = 100;
    fee_out = q * 100 * 5e-4;
    EXPECT_EQ(t->exit_reason, QT_EXIT_EXPIRY);
    EXPECT_EQ(t->exit_ms, T0 + 36 * HOUR_MS);
    EXPECT_EQ(r.n_expired, 1);
  } else {
    exitp = 97;
    fee_out = q * 97 * 2e-4;
    EXPECT_EQ(t->side, QT_SELL);
    EXPECT_EQ(t->exit_reason, QT_EXIT_TAKE_PROFIT);
  }
  double dir = mode == 2 ? -1 : 1;
  EXPECT_NEAR(t->exit_price, exitp, 1e-12);
  EXPECT_NEAR(t->pnl, dir * (exitp - entry) * q - fee_in - fee_out, 1e-9);
  EXPECT_NEAR(r.final_equity, 10000 + dir * (exitp - entry) * q - fee_in - fee_out, 1e-9);
  EXPECT_EQ(su_eq_bad(), 0);
  qt_engine_free(e);
  qt_bars_fini(&b);
}
static void take_profit_at_range_high(void) { hand_path(0); }
static void expiry_closes_at_open(void) { hand_path(1); }
static void short_from_range_high(void) { hand_path(2); }

/* A 2% day is below min_range_pct 3: no signal even at the low; with
 * min_range_pct 1.5 the same bar is a buy. */
static void narrow_range_no_signal(void) {
  qt_bars b;
  ASSERT_TRUE(mk(&b, 30));
  setb(&b, 5, 100, 101, 99.9, 100);
  setb(&b, 10, 100, 100.1, 99, 100);
  setb(&b, 24, 100, 100.1, 99.1, 99.2); /* <= 99 + 0.2 * 2 */
  double p[3];
  qt_strategy_defaults(S, p);
  qt_feed f = su_feed_bps(&b, 0, 0);
  qt_engine *e = NULL;
  qt_result r;
  ASSERT_TRUE(su_run(&f, 1, S, p, 0, &e, &r) == 0);
  EXPECT_EQ(r.n_signals, 0);
  EXPECT_EQ(r.n_trades, 0);
  qt_engine_free(e);
  p[qt_strategy_param_index(S, "min_range_pct")] = 1.5;
  ASSERT_TRUE(su_run(&f, 1, S, p, 0, &e, &r) == 0);
  EXPECT_EQ(r.n_signals, 1);
  ASSERT_TRUE(r.n_trades == 1);
  EXPECT_NEAR(r.trades[0].entry_price, 100, 1e-12); /* bar 25's open */
  qt_engine_free(e);
  qt_bars_fini(&b);
}

/* Defaults on synthetic 1-minute markets of 4 days: trades happen; equity is
 * cash + the marked position every bar; fees >= 0; same seed, same result. */
static void defaults_trade_on_synth(void) {
  for (uint64_t seed = 1; seed <= 3; seed++) {
    qt_synth_market m;
    ASSERT_TRUE(su_synth(&m, seed, 4, 0) == 0);
    double p[3];
    qt_strategy_defaults(S, p);
    qt_feed f = su_feed_bps(&m.bars, 2.0, 5.0);
    f.inst.lot_size = 0.001;
    qt_strategy_vtbl v = su_eq_wrap(S);
    qt_engine *e = NULL;
    qt_result r;
    ASSERT_TRUE(su_run(&f, 1, &v, p, 0, &e, &r) == 0);
    EXPECT_TRUE(r.n_trades > 0);
    su_check_rerun(seed, &f, 1, &v, p, &r);
    qt_engine_free(e);
    qt_synth_market_fini(&m);
  }
}

QT_TESTS(T(param_spec), T(take_profit_at_range_high), T(expiry_closes_at_open),
         T(short_from_range_high), T(narrow_range_no_signal), T(defaults_trade_on_synth))
