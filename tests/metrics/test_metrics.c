/* Metrics against values computed by hand (derivations in the comments),
 * degenerate runs (never inf), names and lookups, and the ENOMEM path of the
 * median's scratch. */
#include "qt_test.h"
#include "qtune/metrics.h"

static qt_result mkres(const double *eq, const double *expo, size_t n, double start) {
  qt_result r;
  memset(&r, 0, sizeof r);
  r.n_bars = n;
  r.equity = eq;
  r.exposure = expo;
  r.start_cash = start;
  r.final_equity = n ? eq[n - 1] : start;
  r.interval_ms = 86400000;
  return r;
}

static qt_trade_rec trade(double pnl) {
  qt_trade_rec t;
  memset(&t, 0, sizeof t);
  t.pnl = pnl;
  return t;
}

static void expect_no_inf(const qt_metrics *m) {
  for (int k = 0; k < QT_METRICS_N; k++)
    if (isinf(qt_metrics_get(m, k))) QT_TEST_FAIL_("metric %s is inf", qt_metrics_name(k));
}

/* start 100, equity 110, 99, 99, 121, bars_per_year 4.
 * returns: .1, -.1, 0, 121/99-1 = 2/9;  mean = (2/9)/4 = 1/18.
 * deviations: 2/45, -7/45, -1/18, 1/6; squares 4/2025 + 49/2025 + 1/324 +
 * 1/36 = (16 + 196 + 25 + 225)/8100 = 462/8100; sample var = 462/24300.
 * downside: only -.1 -> sqrt(.01/4) = .05.
 * peak 110 at bar 0, 99 twice (dd .1), recovered at bar 3: 3 bars, avg .1.
 * total .21 = CAGR (4 returns, 4 bars a year); Calmar .21/.1 = 2.1. */
static void test_curve_hand(void) {
  double eq[] = {110, 99, 99, 121}, ex[] = {1, 0.5, 0, 1};
  qt_result r = mkres(eq, ex, 4, 100);
  qt_metrics_opts o = qt_metrics_opts_default();
  o.bars_per_year = 4;
  qt_metrics m;
  qt_err e;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, &o, &m, &e) == 0);
  double sd = sqrt(462.0 / 24300);
  EXPECT_NEAR(m.total_return, 0.21, 1e-14);
  EXPECT_NEAR(m.total_profit, 21, 1e-12);
  EXPECT_NEAR(m.cagr, 0.21, 1e-14);
  EXPECT_NEAR(m.volatility, sd * 2, 1e-14);
  EXPECT_NEAR(m.sharpe, (1.0 / 18) / sd * 2, 1e-13);
  EXPECT_NEAR(m.sortino, (1.0 / 18) / 0.05 * 2, 1e-13);
  EXPECT_NEAR(m.max_drawdown, 0.1, 1e-15);
  EXPECT_DBL_EQ(m.max_drawdown_bars, 3);
  EXPECT_NEAR(m.avg_drawdown, 0.1, 1e-15);
  EXPECT_NEAR(m.calmar, 2.1, 1e-13);
  EXPECT_NEAR(m.exposure, 0.75, 0);
  EXPECT_TRUE(isnan(m.buy_hold_return)); /* no closes given */
  EXPECT_DBL_EQ(m.trades, 0);
  EXPECT_TRUE(isnan(m.profit_factor));
  /* bars per year from the interval: 1d on a 24/7 calendar = 365, so
   * CAGR = 1.21^(365/4) - 1 and Sharpe scales by sqrt(365) */
  qt_metrics m2;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m2, &e) == 0);
  EXPECT_NEAR(m2.cagr, pow(1.21, 365.0 / 4) - 1, 1e-9);
  EXPECT_NEAR(m2.sharpe, (1.0 / 18) / sd * sqrt(365), 1e-12);
  o = qt_metrics_opts_default();
  o.calendar_247 = 0; /* 252 */
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, &o, &m2, &e) == 0);
  EXPECT_NEAR(m2.sharpe, (1.0 / 18) / sd * sqrt(252), 1e-12);
}

/* Two drawdowns: 100 -> 90 (bar 0) -> 100 (bar 1, recovered: 2 bars from the
 * start peak at bar -1) -> 120 (2) -> 60 (3) -> 90 (4), never recovered:
 * 4 - 2 = 2 bars.  Longest 2.  dds: .1, .5, .25 -> max .5, avg .85/3. */
static void test_drawdown_hand(void) {
  double eq[] = {90, 100, 120, 60, 90};
  qt_result r = mkres(eq, NULL, 5, 100);
  qt_metrics m;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  EXPECT_NEAR(m.max_drawdown, 0.5, 1e-15);
  EXPECT_DBL_EQ(m.max_drawdown_bars, 2);
  EXPECT_NEAR(m.avg_drawdown, 0.85 / 3, 1e-15);
  EXPECT_TRUE(isnan(m.exposure)); /* no exposure array */
  /* 100 -> 95, 94, 93, 92, 101: 5 bars from the start (peak at bar -1) */
  double eq2[] = {95, 94, 93, 92, 101};
  r = mkres(eq2, NULL, 5, 100);
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  EXPECT_DBL_EQ(m.max_drawdown_bars, 5);
  EXPECT_NEAR(m.max_drawdown, 0.08, 1e-15);
}

/* Trades 10, -5, 0, 20, -15: gross profit 30, loss 20 -> PF 1.5; wins 2/5;
 * mean 10/5 = 2; sorted -15 -5 0 10 20 -> median 0; avg win 15, avg loss
 * 10 -> expectancy .4*15 - .6*10 = 0; best 20, worst -15.  Fees, funding,
 * expiry 2/8, buy-and-hold 60/50 - 1 = .2 come straight from the result. */
static void test_trades_hand(void) {
  double eq[] = {100, 101, 102, 110}, close[] = {50, 55, 45, 60};
  qt_trade_rec tr[] = {trade(10), trade(-5), trade(0), trade(20), trade(-15)};
  qt_result r = mkres(eq, NULL, 4, 100);
  r.trades = tr;
  r.n_trades = 5;
  r.fees_paid = 3.5;
  r.funding_paid = -1.25;
  r.n_signals = 8;
  r.n_expired = 2;
  qt_metrics m;
  ASSERT_TRUE(qt_metrics_compute(&r, close, NULL, &m, NULL) == 0);
  EXPECT_NEAR(m.profit_factor, 1.5, 1e-15);
  EXPECT_NEAR(m.win_rate, 0.4, 1e-15);
  EXPECT_DBL_EQ(m.trades, 5);
  EXPECT_NEAR(m.avg_trade, 2, 1e-15);
  EXPECT_NEAR(m.median_trade, 0, 0);
  EXPECT_NEAR(m.expectancy, 0, 1e-14);
  EXPECT_NEAR(m.best_trade, 20, 0);
  EXPECT_NEAR(m.worst_trade, -15, 0);
  EXPECT_NEAR(m.fees_paid, 3.5, 0);
  EXPECT_NEAR(m.funding_paid, -1.25, 0);
  EXPECT_NEAR(m.expiry_rate, 0.25, 0);
  EXPECT_NEAR(m.buy_hold_return, 0.2, 1e-15);
  /* even count: -15 -5 10 20 -> (-5 + 10)/2 = 2.5; expectancy with wins 15
   * avg, losses 10 avg, win rate .5 -> 2.5 */
  qt_trade_rec tr2[] = {trade(10), trade(-5), trade(20), trade(-15)};
  r.trades = tr2;
  r.n_trades = 4;
  ASSERT_TRUE(qt_metrics_compute(&r, close, NULL, &m, NULL) == 0);
  EXPECT_NEAR(m.median_trade, 2.5, 1e-15);
  EXPECT_NEAR(m.expectancy, 2.5, 1e-14);
  /* profit factor conventions: wins only -> 100 (cap); losses only -> 0;
   * 1000 vs 1 -> capped 100; only break-even trades -> NaN */
  qt_trade_rec w[] = {trade(3), trade(4)}, l[] = {trade(-3)}, big[] = {trade(1000), trade(-1)},
               z[] = {trade(0), trade(0)};
  r.trades = w, r.n_trades = 2;
  ASSERT_TRUE(qt_metrics_compute(&r, close, NULL, &m, NULL) == 0);
  EXPECT_NEAR(m.profit_factor, 100, 0);
  EXPECT_NEAR(m.win_rate, 1, 0);
  EXPECT_NEAR(m.expectancy, 3.5, 1e-15);
  r.trades = l, r.n_trades = 1;
  ASSERT_TRUE(qt_metrics_compute(&r, close, NULL, &m, NULL) == 0);
  EXPECT_NEAR(m.profit_factor, 0, 0);
  EXPECT_NEAR(m.median_trade, -3, 0);
  EXPECT_NEAR(m.expectancy, -3, 0);
  r.trades = big, r.n_trades = 2;
  ASSERT_TRUE(qt_metrics_compute(&r, close, NULL, &m, NULL) == 0);
  EXPECT_NEAR(m.profit_factor, 100, 0);
  r.trades = z, r.n_trades = 2;
  ASSERT_TRUE(qt_metrics_compute(&r, close, NULL, &m, NULL) == 0);
  EXPECT_TRUE(isnan(m.profit_factor));
  EXPECT_NEAR(m.win_rate, 0, 0);
  EXPECT_NEAR(m.expectancy, 0, 0);
}

/* More than 256 trades: the heap scratch; a permutation of -500..500 has
 * median 0, of 0..999 median 499.5; a failed allocation is QT_ENOMEM. */
static void test_median_large(void) {
  enum { N = 1001 };
  static qt_trade_rec tr[N];
  for (int i = 0; i < N; i++) tr[i] = trade((double)((i * 7919) % N) - 500);
  double eq[] = {100};
  qt_result r = mkres(eq, NULL, 1, 100);
  r.trades = tr;
  r.n_trades = N;
  qt_metrics m;
  qt_err e;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, &e) == 0);
  EXPECT_NEAR(m.median_trade, 0, 0);
  EXPECT_NEAR(m.best_trade, 500, 0);
  for (int i = 0; i < N - 1; i++) tr[i] = trade((double)((i * 7919) % (N - 1)));
  r.n_trades = N - 1;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, &e) == 0);
  EXPECT_NEAR(m.median_trade, 499.5, 0);
  /* many ties */
  for (int i = 0; i < N; i++) tr[i] = trade(i % 3 == 0 ? 1.0 : -2.0);
  r.n_trades = N;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, &e) == 0);
  EXPECT_NEAR(m.median_trade, -2, 0);
  qt_alloc_fail_at(1, 0);
  EXPECT_EQ(qt_metrics_compute(&r, NULL, NULL, &m, &e), QT_ENOMEM);
  qt_alloc_fail_at(0, 0);
  EXPECT_CONTAINS(e.msg, "median");
  EXPECT_NEAR(m.trades, 0, 0); /* out reset */
  EXPECT_NEAR(m.total_return, 0, 0);
}

/* Flat equity, no trades, no signals: every ratio follows 0/0 -> 0. */
static void test_flat(void) {
  double eq[] = {100, 100, 100}, ex[] = {0, 0, 0};
  qt_result r = mkres(eq, ex, 3, 100);
  qt_metrics m;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  expect_no_inf(&m);
  EXPECT_NEAR(m.total_return, 0, 0);
  EXPECT_NEAR(m.cagr, 0, 0);
  EXPECT_NEAR(m.volatility, 0, 0);
  EXPECT_NEAR(m.sharpe, 0, 0);
  EXPECT_NEAR(m.sortino, 0, 0);
  EXPECT_NEAR(m.calmar, 0, 0);
  EXPECT_NEAR(m.max_drawdown, 0, 0);
  EXPECT_NEAR(m.max_drawdown_bars, 0, 0);
  EXPECT_NEAR(m.avg_drawdown, 0, 0);
  EXPECT_NEAR(m.exposure, 0, 0);
  EXPECT_NEAR(m.expiry_rate, 0, 0);
  EXPECT_NEAR(m.trades, 0, 0);
  EXPECT_TRUE(isnan(m.profit_factor) && isnan(m.win_rate) && isnan(m.avg_trade));
  EXPECT_TRUE(isnan(m.median_trade) && isnan(m.expectancy));
  EXPECT_TRUE(isnan(m.best_trade) && isnan(m.worst_trade));
}

/* Only gains: Sortino and Calmar divide by 0 with a non-zero numerator ->
 * NaN.  One bar: no SD (NaN), CAGR 1.05^365 - 1.  A 1-minute bar of +10%
 * annualizes to 1.1^525600: overflow -> NaN. */
static void test_degenerate(void) {
  double up[] = {101, 103, 106};
  qt_result r = mkres(up, NULL, 3, 100);
  qt_metrics m;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  expect_no_inf(&m);
  EXPECT_TRUE(isnan(m.sortino));
  EXPECT_TRUE(isnan(m.calmar));
  EXPECT_TRUE(m.sharpe > 0);
  EXPECT_NEAR(m.max_drawdown, 0, 0);
  double one[] = {105};
  r = mkres(one, NULL, 1, 100);
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  expect_no_inf(&m);
  EXPECT_TRUE(isnan(m.volatility) && isnan(m.sharpe) && isnan(m.sortino));
  EXPECT_NEAR(m.cagr, pow(1.05, 365) - 1, 1e-9);
  double spike[] = {110};
  r = mkres(spike, NULL, 1, 100);
  r.interval_ms = 60000;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  expect_no_inf(&m);
  EXPECT_TRUE(isnan(m.cagr));
  EXPECT_TRUE(isnan(m.calmar));
  /* no bars at all */
  r = mkres(NULL, NULL, 0, 100);
  r.final_equity = 100;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  expect_no_inf(&m);
  EXPECT_TRUE(isnan(m.cagr) && isnan(m.max_drawdown) && isnan(m.exposure));
  EXPECT_NEAR(m.total_return, 0, 0);
  /* unknown interval: nothing annualized */
  r = mkres(up, NULL, 3, 100);
  r.interval_ms = 0;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  EXPECT_TRUE(isnan(m.cagr) && isnan(m.sharpe) && isnan(m.volatility));
  EXPECT_NEAR(m.total_return, 0.06, 1e-15);
  /* start cash 0: no returns at all */
  r = mkres(up, NULL, 3, 0);
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  expect_no_inf(&m);
  EXPECT_TRUE(isnan(m.total_return) && isnan(m.max_drawdown) && isnan(m.sharpe));
  EXPECT_NEAR(m.total_profit, 106, 0);
  /* buy-and-hold with a zero first close: NaN */
  double c0[] = {0, 1, 2};
  ASSERT_TRUE(qt_metrics_compute(&r, c0, NULL, &m, NULL) == 0);
  EXPECT_TRUE(isnan(m.buy_hold_return));
}

/* Equity hitting 0: start 100, 50, 0, 0, 10.  Returns stop after the 0:
 * -.5, -1 -> mean -.75, sample SD sqrt(.125), downside sqrt(1.25/2).
 * Drawdowns .5, 1, 1, .9 (never recovered, 4 bars), avg 3.4/4.
 * Final 10: total -.9, CAGR .1^(365/4) - 1.  Negative equity: dd capped
 * at 1, CAGR -1. */
static void test_ruin(void) {
  double eq[] = {50, 0, 0, 10};
  qt_result r = mkres(eq, NULL, 4, 100);
  qt_metrics m;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  expect_no_inf(&m);
  double ann = sqrt(365);
  EXPECT_NEAR(m.volatility, sqrt(0.125) * ann, 1e-12);
  EXPECT_NEAR(m.sharpe, -0.75 / sqrt(0.125) * ann, 1e-12);
  EXPECT_NEAR(m.sortino, -0.75 / sqrt(0.625) * ann, 1e-12);
  EXPECT_NEAR(m.max_drawdown, 1, 0);
  EXPECT_DBL_EQ(m.max_drawdown_bars, 4);
  EXPECT_NEAR(m.avg_drawdown, 3.4 / 4, 1e-15);
  EXPECT_NEAR(m.total_return, -0.9, 1e-15);
  EXPECT_NEAR(m.cagr, pow(0.1, 365.0 / 4) - 1, 1e-12);
  double neg[] = {50, -20};
  r = mkres(neg, NULL, 2, 100);
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  expect_no_inf(&m);
  EXPECT_NEAR(m.max_drawdown, 1, 0);
  EXPECT_NEAR(m.cagr, -1, 0);
  EXPECT_NEAR(m.total_return, -1.2, 1e-15);
  EXPECT_NEAR(m.calmar, -1, 0);
}

#define H_MS 3600000LL
#define T0_MS 1767225600000LL /* 2026-01-01 00:00 UTC, a day boundary */

static qt_trade_rec trade_at(double qty, double entry_price, double pnl, int64_t entry_ms,
                             int64_t exit_ms) {
  qt_trade_rec t = trade(pnl);
  t.qty = qty;
  t.entry_price = entry_price;
  t.entry_ms = entry_ms;
  t.exit_ms = exit_ms;
  return t;
}

/* Hourly bars with a 6-hour gap: opens 0h 1h 2h 3h | 10h 11h, so the equity
 * points are marked at the closes 1h 2h 3h 4h 11h 12h, start cash at 0h.
 * Equity 100 -> 90 100 120 60 90 130:
 * - spell 1: peak = start (0h), recovered at bar 1 (2h): 2 bars, 2 h;
 * - spell 2: peak bar 2 (3h), recovered at bar 5 (12h): 3 bars, 9 h;
 *   max 9 h (3 bars: the gap counts as time), mean (2 + 9)/2 = 5.5 h.
 * Exposure 0 0 1 1 0 1: flat from 0h to bar 1's close (2h) = 2 h, and for
 * bar 4 alone from bar 3's close (4h) to its close (11h) = 7 h, the longest
 * though it is one bar; 3 bars of 6 in the market = 0.5.
 * Peak 130 = final. */
static void test_time_hand(void) {
  int64_t ts[] = {T0_MS, T0_MS + H_MS, T0_MS + 2 * H_MS, T0_MS + 3 * H_MS, T0_MS + 10 * H_MS,
                  T0_MS + 11 * H_MS};
  double eq[] = {90, 100, 120, 60, 90, 130}, ex[] = {0, 0, 1, 1, 0, 1};
  qt_result r = mkres(eq, ex, 6, 100);
  r.ts_ms = ts;
  r.interval_ms = H_MS;
  qt_metrics m;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  EXPECT_DBL_EQ(m.max_drawdown_bars, 3);
  EXPECT_DBL_EQ(m.max_drawdown_duration_ms, 9 * H_MS);
  EXPECT_DBL_EQ(m.avg_drawdown_duration_ms, 5.5 * H_MS);
  EXPECT_DBL_EQ(m.max_flat_ms, 7 * H_MS);
  EXPECT_NEAR(m.exposure, 0.5, 0);
  EXPECT_NEAR(m.equity_peak, 130, 0);
  EXPECT_NEAR(m.equity_final, 130, 0);
  /* never below a peak and always in the market: 0; the peak is the start
   * cash when the curve only falls below it... */
  double up[] = {100, 101, 102}, in[] = {1, 1, 1};
  r = mkres(up, in, 3, 100);
  r.ts_ms = ts;
  r.interval_ms = H_MS;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  EXPECT_DBL_EQ(m.max_drawdown_duration_ms, 0);
  EXPECT_DBL_EQ(m.avg_drawdown_duration_ms, 0);
  EXPECT_DBL_EQ(m.max_flat_ms, 0);
  double down[] = {99, 98};
  r = mkres(down, in, 2, 100);
  r.ts_ms = ts;
  r.interval_ms = H_MS;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  EXPECT_NEAR(m.equity_peak, 100, 0);
  EXPECT_NEAR(m.equity_final, 98, 0);
  /* ...never recovered: from the start (0h) to the last close (2h) */
  EXPECT_DBL_EQ(m.max_drawdown_duration_ms, 2 * H_MS);
  /* no timestamps: durations unknown */
  r.ts_ms = NULL;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  EXPECT_TRUE(isnan(m.max_drawdown_duration_ms) && isnan(m.avg_drawdown_duration_ms));
  EXPECT_TRUE(isnan(m.max_flat_ms) && isnan(m.sharpe_daily) && isnan(m.sortino_daily));
  EXPECT_DBL_EQ(m.max_drawdown_bars, 2);
}

/* Trades (qty, entry price, net P&L, held):
 *   2 @ 50  +10  3h   return  10/100 = +.10
 *  -1 @ 200 -20  1h   return -20/200 = -.10 (a short: |qty|)
 *   4 @ 25  +25  8h   return  25/100 = +.25
 *   1 @ 100  -5  4h   return  -5/100 = -.05
 * P&L mean 10/4 = 2.5, deviations 7.5 -22.5 22.5 -7.5, squares sum 1125,
 * sample var 375: SQN = sqrt(4) * 2.5 / sqrt(375) = 5/sqrt(375).
 * Kelly: win rate .5, avg win 35/2 = 17.5, avg loss 25/2 = 12.5, ratio 1.4:
 * .5 - .5/1.4 = 7/14 - 5/14 = 1/7.
 * Returns: best .25, worst -.10, mean .20/4 = .05, profit factor of
 * returns .35/.15 = 7/3 (of money 35/25 = 1.4), geometric mean
 * (1.1 * .9 * 1.25 * .95)^(1/4) - 1.  Durations: 16h/4 = 4h, max 8h. */
static void test_trade_returns_hand(void) {
  double eq[] = {100, 110};
  qt_trade_rec tr[] = {trade_at(2, 50, 10, 0, 3 * H_MS), trade_at(-1, 200, -20, H_MS, 2 * H_MS),
                       trade_at(4, 25, 25, 2 * H_MS, 10 * H_MS),
                       trade_at(1, 100, -5, 10 * H_MS, 14 * H_MS)};
  qt_result r = mkres(eq, NULL, 2, 100);
  r.trades = tr;
  r.n_trades = 4;
  qt_metrics m;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  EXPECT_NEAR(m.sqn, 5 / sqrt(375), 1e-14);
  EXPECT_NEAR(m.kelly, 1.0 / 7, 1e-15);
  EXPECT_NEAR(m.best_trade_return, 0.25, 1e-15);
  EXPECT_NEAR(m.worst_trade_return, -0.10, 1e-15);
  EXPECT_NEAR(m.expectancy_return, 0.05, 1e-15);
  EXPECT_NEAR(m.profit_factor_return, 7.0 / 3, 1e-14);
  EXPECT_NEAR(m.profit_factor, 1.4, 1e-15);
  EXPECT_NEAR(m.avg_trade_return, pow(1.1 * 0.9 * 1.25 * 0.95, 0.25) - 1, 1e-14);
  EXPECT_DBL_EQ(m.avg_trade_duration_ms, 4 * H_MS);
  EXPECT_DBL_EQ(m.max_trade_duration_ms, 8 * H_MS);
  /* a trade losing its whole notional: the compounded mean is -1 */
  tr[1] = trade_at(1, 100, -100, 0, H_MS);
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  EXPECT_NEAR(m.avg_trade_return, -1, 0);
  EXPECT_NEAR(m.worst_trade_return, -1, 0);
  /* wins only (3, 4): Kelly NaN (no average loss, as in backtesting.py);
   * SQN = sqrt(2) * 3.5 / sqrt(.5) = 7 */
  qt_trade_rec w[] = {trade_at(1, 10, 3, 0, H_MS), trade_at(1, 10, 4, 0, H_MS)};
  r.trades = w;
  r.n_trades = 2;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  EXPECT_TRUE(isnan(m.kelly));
  EXPECT_NEAR(m.sqn, 7, 1e-14);
  EXPECT_NEAR(m.profit_factor_return, 100, 0); /* the cap, as for money */
  /* break-even trades: SQN 0/0 = 0; one trade: no SD, NaN; no notional
   * (qty 0): no trade return at all */
  qt_trade_rec z[] = {trade(0), trade(0)};
  r.trades = z;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  EXPECT_NEAR(m.sqn, 0, 0);
  EXPECT_TRUE(isnan(m.best_trade_return) && isnan(m.avg_trade_return));
  EXPECT_TRUE(isnan(m.profit_factor_return) && isnan(m.expectancy_return));
  EXPECT_DBL_EQ(m.max_trade_duration_ms, 0);
  r.n_trades = 1;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  EXPECT_TRUE(isnan(m.sqn));
  r.n_trades = 0;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  EXPECT_TRUE(isnan(m.sqn) && isnan(m.kelly) && isnan(m.avg_trade_duration_ms));
}

/* 12h bars from 2026-01-01: opens d0 00:00, d0 12:00, (no bar on d1),
 * d2 00:00, d2 12:00, d3 00:00; the bar opening d0 12:00 closes at d1
 * 00:00 and is d0's last.  Equity 100 -> 105 110 | 99 121 | 108.9:
 * day ends d0 110, d1 110 (no bars), d2 121, d3 108.9.
 * 24/7 (every day): returns .1, 0, .1, -.1; mean .025; deviations .075
 * -.025 .075 -.125, squares sum .0275, sample SD sqrt(.0275/3); downside
 * sqrt(.01/4) = .05.  Sharpe .025/SD * sqrt(365), Sortino .5 * sqrt(365).
 * Exchange calendar (days with bars only): .1, .1, -.1; mean 1/30,
 * deviations 2/30 2/30 -4/30, sample var 24/900/2, SD sqrt(12)/30:
 * Sharpe (1/30)/(sqrt(12)/30) * sqrt(252) = sqrt(21); downside
 * sqrt(.01/3): Sortino (1/30)/(.1/sqrt(3)) * sqrt(252) = sqrt(84). */
static void test_daily_hand(void) {
  int64_t ts[] = {T0_MS, T0_MS + 12 * H_MS, T0_MS + 48 * H_MS, T0_MS + 60 * H_MS,
                  T0_MS + 72 * H_MS};
  double eq[] = {105, 110, 99, 121, 108.9};
  qt_result r = mkres(eq, NULL, 5, 100);
  r.ts_ms = ts;
  r.interval_ms = 12 * H_MS;
  qt_metrics m;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  EXPECT_NEAR(m.sharpe_daily, 0.025 / sqrt(0.0275 / 3) * sqrt(365), 1e-12);
  EXPECT_NEAR(m.sortino_daily, 0.5 * sqrt(365), 1e-12);
  qt_metrics_opts o = qt_metrics_opts_default();
  o.calendar_247 = 0;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, &o, &m, NULL) == 0);
  EXPECT_NEAR(m.sharpe_daily, sqrt(21), 1e-12);
  EXPECT_NEAR(m.sortino_daily, sqrt(84), 1e-12);
  /* one day only: no SD, NaN; a flat curve over two days: 0 */
  r.n_bars = 2;
  r.final_equity = 110;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  EXPECT_TRUE(isnan(m.sharpe_daily) && isnan(m.sortino_daily));
  double flat[] = {100, 100, 100};
  r = mkres(flat, NULL, 3, 100);
  r.ts_ms = ts;
  r.interval_ms = 12 * H_MS;
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  EXPECT_NEAR(m.sharpe_daily, 0, 0);
  EXPECT_NEAR(m.sortino_daily, 0, 0);
}

/* Closes 10 11 9.9 10.89: market returns from bar 1: .1 -.1 .1 (mean 1/30,
 * deviations 2/30 -4/30 2/30, sum of squares 24/900).  Equity 100 120 96
 * 124.8 (start 100): returns from bar 1: .2 -.2 .3 (mean .1, deviations .1
 * -.3 .2).  Co-deviation sum (.2 + 1.2 + .4)/30 = .06, so beta = .06 /
 * (24/900) = 2.25.  Total return .248, buy-and-hold .089: alpha = .248 -
 * 2.25 * .089 = .04775. */
static void test_alpha_beta_hand(void) {
  double eq[] = {100, 120, 96, 124.8}, close[] = {10, 11, 9.9, 10.89};
  qt_result r = mkres(eq, NULL, 4, 100);
  qt_metrics m;
  ASSERT_TRUE(qt_metrics_compute(&r, close, NULL, &m, NULL) == 0);
  EXPECT_NEAR(m.beta, 2.25, 1e-12);
  EXPECT_NEAR(m.alpha, 0.04775, 1e-12);
  /* a flat market: beta 0/0 = 0, alpha = the total return */
  double still[] = {10, 10, 10, 10};
  ASSERT_TRUE(qt_metrics_compute(&r, still, NULL, &m, NULL) == 0);
  EXPECT_NEAR(m.beta, 0, 0);
  EXPECT_NEAR(m.alpha, 0.248, 1e-15);
  /* no closes, or a single pair of returns: NaN */
  ASSERT_TRUE(qt_metrics_compute(&r, NULL, NULL, &m, NULL) == 0);
  EXPECT_TRUE(isnan(m.alpha) && isnan(m.beta));
  r = mkres(eq, NULL, 2, 100);
  ASSERT_TRUE(qt_metrics_compute(&r, close, NULL, &m, NULL) == 0);
  EXPECT_TRUE(isnan(m.alpha) && isnan(m.beta));
}

/* The per-trial path allocates nothing (up to 256 trades): with every
 * allocation failing, the hand cases above still compute. */
static void test_no_alloc(void) {
  int64_t ts[] = {T0_MS, T0_MS + 12 * H_MS, T0_MS + 48 * H_MS, T0_MS + 60 * H_MS};
  double eq[] = {100, 120, 96, 124.8}, close[] = {10, 11, 9.9, 10.89}, ex[] = {0, 1, 1, 0};
  qt_trade_rec tr[] = {trade_at(2, 50, 10, 0, 3 * H_MS), trade_at(-1, 200, -20, H_MS, 2 * H_MS)};
  qt_result r = mkres(eq, ex, 4, 100);
  r.ts_ms = ts;
  r.trades = tr;
  r.n_trades = 2;
  qt_metrics m;
  qt_alloc_fail_at(1, 0);
  int rc = qt_metrics_compute(&r, close, NULL, &m, NULL);
  qt_alloc_fail_at(0, 0);
  EXPECT_EQ(rc, QT_OK);
  EXPECT_NEAR(m.beta, 2.25, 1e-12);
  expect_no_inf(&m);
}

static void test_bars_per_year(void) {
  EXPECT_NEAR(qt_metrics_bars_per_year(60000, 1), 525600, 0);
  EXPECT_NEAR(qt_metrics_bars_per_year(3600000, 1), 8760, 0);
  EXPECT_NEAR(qt_metrics_bars_per_year(86400000, 1), 365, 0);
  EXPECT_NEAR(qt_metrics_bars_per_year(86400000, 0), 252, 0);
  EXPECT_NEAR(qt_metrics_bars_per_year(3600000, 0), 252 * 6.5, 1e-12);
  EXPECT_NEAR(qt_metrics_bars_per_year(60000, 0), 252 * 6.5 * 60, 1e-9);
  EXPECT_NEAR(qt_metrics_bars_per_year(7 * 86400000LL, 0), 52, 0);
  EXPECT_NEAR(qt_metrics_bars_per_year(0, 1), 0, 0);
  qt_metrics_opts o = qt_metrics_opts_default();
  EXPECT_EQ(o.calendar_247, 1);
  EXPECT_NEAR(o.bars_per_year, 0, 0);
}

static void test_names(void) {
  EXPECT_EQ(QT_METRICS_N, 41);
  EXPECT_STREQ(qt_metrics_name(0), "total_return");
  EXPECT_STREQ(qt_metrics_name(QT_METRICS_N - 1), "beta");
  EXPECT_TRUE(qt_metrics_name(QT_METRICS_N) == NULL);
  EXPECT_TRUE(qt_metrics_name(-1) == NULL);
  EXPECT_EQ(qt_metrics_index("sharpe"), 6);
  EXPECT_EQ(qt_metrics_index("max_drawdown_bars"), 12);
  EXPECT_CONTAINS(qt_metrics_doc(qt_metrics_index("max_flat_ms")), "ms");
  EXPECT_CONTAINS(qt_metrics_doc(qt_metrics_index("best_trade_return")), "fraction");
  EXPECT_EQ(qt_metrics_index("nope"), -1);
  EXPECT_EQ(qt_metrics_index(NULL), -1);
  EXPECT_CONTAINS(qt_metrics_doc(qt_metrics_index("sortino")), "downside");
  /* get reads the field of the same name, for every metric */
  qt_metrics m;
  double v = 1;
#define QT__FILL(name, doc) m.name = v++;
  QT_METRICS_LIST(QT__FILL)
#undef QT__FILL
  for (int k = 0; k < QT_METRICS_N; k++) {
    EXPECT_NEAR(qt_metrics_get(&m, k), k + 1, 0);
    EXPECT_EQ(qt_metrics_index(qt_metrics_name(k)), k);
  }
  EXPECT_NEAR(qt_metrics_get(&m, qt_metrics_index("calmar")), m.calmar, 0);
  EXPECT_TRUE(isnan(qt_metrics_get(&m, QT_METRICS_N)));
}

static void test_errors(void) {
  qt_metrics m;
  qt_err e;
  double eq[] = {1};
  qt_result r = mkres(eq, NULL, 1, 1);
  EXPECT_EQ(qt_metrics_compute(NULL, NULL, NULL, &m, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "result");
  EXPECT_EQ(qt_metrics_compute(&r, NULL, NULL, NULL, &e), QT_EINVAL);
  r.equity = NULL;
  EXPECT_EQ(qt_metrics_compute(&r, NULL, NULL, &m, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "equity");
  r.equity = eq;
  r.n_trades = 3;
  EXPECT_EQ(qt_metrics_compute(&r, NULL, NULL, &m, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "trade");
}

QT_TESTS(T(test_curve_hand), T(test_drawdown_hand), T(test_trades_hand), T(test_median_large),
         T(test_flat), T(test_degenerate), T(test_ruin), T(test_time_hand),
         T(test_trade_returns_hand), T(test_daily_hand), T(test_alpha_beta_hand), T(test_no_alloc),
         T(test_bars_per_year), T(test_names), T(test_errors))
