/* hedge_grid: the rules of docs/strategies/hedge_grid.md on hand-made price
 * paths whose fills and P&L are worked out here, plus invariants on
 * synthetic markets. */
#include "qtune/data.h"
#include "qtune/indicators.h"
#include "strat_util.h"

#define T0 SU_T0
#define MIN_MS 60000LL
#define MAX_FILLS 100000

extern const qt_strategy_vtbl qt_strategy_hedge_grid;

/* ---- a wrapper that records fills and checks invariants every bar ---- */
static qt_fill g_fill[MAX_FILLS];
static size_t g_nf;
static int g_eq_bad, g_cap_bad;
static double g_cap_frac; /* > 0: check gross notional <= cap * equity (+ slack) */

static void w_on_bar(void *st, const qt_bar *b, qt_ctx *cx) {
  double m = qt_ctx_cash(cx), gross = 0;
  for (int leg = QT_LEG_LONG; leg <= QT_LEG_SHORT; leg++) {
    double q = qt_ctx_position(cx, 0, leg);
    if (q != 0) m += q * (b->close - qt_ctx_entry_price(cx, 0, leg));
    gross += fabs(q) * b->close;
  }
  double e = qt_ctx_equity(cx);
  if (fabs(e - m) > 1e-9 * fabs(e) + 1e-9) g_eq_bad++;
  if (g_cap_frac > 0 && gross > g_cap_frac * e * 1.05) g_cap_bad++;
  qt_strategy_hedge_grid.on_bar(st, b, cx);
}

static void w_on_fill(void *st, const qt_fill *f, qt_ctx *cx) {
  if (g_nf < MAX_FILLS) g_fill[g_nf++] = *f;
  qt_strategy_hedge_grid.on_fill(st, f, cx);
}

static qt_strategy_vtbl wrapped(void) {
  qt_strategy_vtbl v = qt_strategy_hedge_grid;
  v.on_bar = w_on_bar;
  v.on_fill = w_on_fill;
  g_nf = 0;
  g_eq_bad = g_cap_bad = 0;
  g_cap_frac = 0;
  return v;
}

/* ---- hand-made bars ---- */
static void setb(qt_bars *b, size_t i, double o, double h, double l, double c) {
  su_setb(b, i, o, h, l, c, 1000);
}

/* A quiet bar at close c: highs alternate so +DM exists and ADX is defined. */
static void quiet(qt_bars *b, size_t i, double c) {
  setb(b, i, c, c + 0.05 + 0.01 * (double)(i % 2), c - 0.05, c);
}

static int mk(qt_bars *b, size_t n) {
  if (qt_bars_alloc(b, n, NULL)) return 0;
  b->interval_ms = MIN_MS;
  for (size_t i = 0; i < n; i++) quiet(b, i, 100.0);
  return 1;
}

typedef struct cols {
  double *ef, *es, *adx[4], *atr[2];
} cols;

static int cols_new(cols *c, const qt_bars *b, const double *p) {
  size_t n = b->n;
  c->ef = calloc(n, 8);
  c->es = calloc(n, 8);
  for (int k = 0; k < 4; k++) c->adx[k] = calloc(n, 8);
  for (int k = 0; k < 2; k++) c->atr[k] = calloc(n, 8);
  int ie = qt_strategy_param_index(&qt_strategy_hedge_grid, "ema_fast");
  int is = qt_strategy_param_index(&qt_strategy_hedge_grid, "ema_slow");
  int ia = qt_strategy_param_index(&qt_strategy_hedge_grid, "adx_len");
  int it = qt_strategy_param_index(&qt_strategy_hedge_grid, "atr_len");
  return qt_ind_compute(b, QT_IND_EMA, (int)p[ie], 0, 0, &c->ef, NULL) == 0 &&
         qt_ind_compute(b, QT_IND_EMA, (int)p[is], 0, 0, &c->es, NULL) == 0 &&
         qt_ind_compute(b, QT_IND_ADX, (int)p[ia], 0, 0, c->adx, NULL) == 0 &&
         qt_ind_compute(b, QT_IND_ATR, (int)p[it], 0, 0, c->atr, NULL) == 0;
}

static void cols_free(cols *c) {
  free(c->ef);
  free(c->es);
  for (int k = 0; k < 4; k++) free(c->adx[k]);
  for (int k = 0; k < 2; k++) free(c->atr[k]);
}

/* First bar with all four columns defined: where the grid is first built. */
static size_t first_valid(const cols *c, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isnan(c->ef[i]) && !isnan(c->es[i]) && !isnan(c->adx[0][i]) && !isnan(c->atr[0][i]))
      return i;
  return n;
}

/* *w0 = first_valid on b under p; 0 when the columns cannot be computed. */
static int grid_start(const qt_bars *b, const double *p, size_t *w0) {
  cols c;
  int ok = cols_new(&c, b, p);
  *w0 = first_valid(&c, b->n);
  cols_free(&c);
  return ok;
}

static void defaults(double *p) { qt_strategy_defaults(&qt_strategy_hedge_grid, p); }
static void setp(double *p, const char *name, double v) {
  int k = qt_strategy_param_index(&qt_strategy_hedge_grid, name);
  if (k >= 0) p[k] = v;
}
/* sizing = equity_fraction, base_equity_frac = 0.01: the level-0 notional is
 * 1% of equity (the sizing base_qty had before it became base units) */
static void eq_sizing(double *p) {
  setp(p, "sizing", 1);
  setp(p, "base_equity_frac", 0.01);
}


static void dump_fills(void) {
  for (size_t j = 0; j < g_nf; j++)
    fprintf(stderr, "    fill %zu: tag %d side %d leg %d qty %.10g px %.10g t %lld\n", j,
            g_fill[j].tag, g_fill[j].side, g_fill[j].leg, g_fill[j].qty, g_fill[j].price,
            (long long)((g_fill[j].ts_ms - T0) / MIN_MS));
}

static int count_tag(int tag) {
  int n = 0;
  for (size_t j = 0; j < g_nf; j++) n += g_fill[j].tag == tag;
  return n;
}

/* ---- tests ---- */

static void param_spec(void) {
  const qt_strategy_vtbl *s = qt_strategy_find("hedge_grid");
  ASSERT_TRUE(s == &qt_strategy_hedge_grid);
  EXPECT_EQ(s->n_params, 19);
  double p[19];
  defaults(p);
  EXPECT_EQ(qt_strategy_check_params(s, p, NULL), 0);
  EXPECT_NEAR(p[qt_strategy_param_index(s, "base_qty")], 0.01, 1e-12);
  EXPECT_EQ(s->params[qt_strategy_param_index(s, "base_qty")].log, 1);
  EXPECT_NEAR(p[qt_strategy_param_index(s, "sizing")], 0, 0); /* base_qty: base units */
  EXPECT_NEAR(p[qt_strategy_param_index(s, "base_equity_frac")], 0.01, 1e-12);
  EXPECT_NEAR(p[qt_strategy_param_index(s, "max_position_pct")], 80, 1e-12);
  EXPECT_EQ(s->lookback(p), 27); /* first defined: EMA(26) 25, ADX(14) 27, ATR(14) 14 */
}

/* Level 0 buy fills at 99.5, its take-profit sells at 100.5 in the same bar
 * as the level 0 sell entry; the short is closed at the end at 100. */
static void fill_then_take_profit(void) {
  qt_bars b;
  ASSERT_TRUE(mk(&b, 80));
  double p[19];
  defaults(p);
  eq_sizing(p); /* worked out for notionals as a fraction of equity */
  size_t w0;
  ASSERT_TRUE(grid_start(&b, p, &w0));
  ASSERT_TRUE(w0 + 10 < b.n);
  EXPECT_EQ(w0, (size_t)qt_strategy_hedge_grid.lookback(p));
  size_t a = w0 + 1;
  setb(&b, a, 100, 100.05, 99.4, 99.6);
  setb(&b, a + 1, 99.6, 100.6, 99.55, 100.0);
  qt_feed f = su_feed_bps(&b, 2.0, 0.0);
  qt_strategy_vtbl v = wrapped();
  qt_engine *e = NULL;
  qt_result r;
  ASSERT_TRUE(su_run(&f, 1, &v, p, 1, &e, &r) == 0);
  double q0 = 0.01 * 10000 / 99.5, qs = 0.01 * 10000 / 100.5;
  if (g_nf != 4) dump_fills();
  ASSERT_TRUE(g_nf == 4); /* + the end-of-data close of the short */
  EXPECT_EQ(g_fill[3].reason, QT_EXIT_END_OF_DATA);
  EXPECT_EQ(g_fill[0].tag, 1000);
  EXPECT_NEAR(g_fill[0].price, 99.5, 1e-12);
  EXPECT_NEAR(g_fill[0].qty, q0, 1e-12);
  EXPECT_EQ(g_fill[0].leg, QT_LEG_LONG);
  EXPECT_EQ(g_fill[1].tag, 2000); /* older order first on a tie */
  EXPECT_NEAR(g_fill[1].qty, qs, 1e-12);
  EXPECT_EQ(g_fill[1].leg, QT_LEG_SHORT);
  EXPECT_EQ(g_fill[2].tag / 1000, 3);
  EXPECT_NEAR(g_fill[2].price, 100.5, 1e-12);
  EXPECT_NEAR(g_fill[2].qty, q0, 1e-12);
  EXPECT_EQ(g_fill[2].reason, QT_EXIT_TAKE_PROFIT);
  ASSERT_TRUE(r.n_trades == 2);
  EXPECT_EQ(r.trades[0].exit_reason, QT_EXIT_TAKE_PROFIT);
  EXPECT_NEAR(r.trades[0].entry_price, 99.5, 1e-12);
  EXPECT_NEAR(r.trades[0].exit_price, 100.5, 1e-12);
  EXPECT_EQ(r.trades[1].exit_reason, QT_EXIT_END_OF_DATA);
  EXPECT_EQ(r.trades[1].side, QT_SELL);
  double fees = (q0 * 99.5 + q0 * 100.5 + qs * 100.5) * 2e-4;
  EXPECT_NEAR(r.fees_paid, fees, 1e-12);
  EXPECT_NEAR(r.final_equity, 10000 + q0 * 1.0 + qs * 0.5 - fees, 1e-12);
  EXPECT_EQ(g_eq_bad, 0);
  qt_engine_free(e);
  qt_bars_fini(&b);
}

/* sl_steps 3 and 3 levels: level 0 (99.5) stops out at 98.0 after levels 1
 * and 2 filled on the way down; the close at 97.9 (<= 98 = 100 * (1 - 2%))
 * recentres the grid there; on the next bar level 1 stops out at 97.5 and
 * the new level 0 (97.9 - 0.4895) fills. */
static void stop_out_and_recenter(void) {
  qt_bars b;
  ASSERT_TRUE(mk(&b, 80));
  double p[19];
  defaults(p);
  eq_sizing(p); /* worked out for notionals as a fraction of equity */
  setp(p, "grid_levels_long", 3);
  setp(p, "grid_levels_short", 3);
  setp(p, "sl_steps", 3);
  setp(p, "hysteresis_bps", 50); /* keep the regime sideways on this path */
  cols c;
  size_t w0;
  ASSERT_TRUE(grid_start(&b, p, &w0));
  size_t a = w0 + 1;
  setb(&b, a, 100, 100.05, 99.4, 99.6);
  setb(&b, a + 1, 99.6, 99.65, 97.9, 98.1);
  setb(&b, a + 2, 98.1, 98.15, 97.7, 97.9);
  setb(&b, a + 3, 97.9, 97.95, 97.4, 97.6);
  for (size_t i = a + 4; i < b.n; i++) setb(&b, i, 97.6, 97.65, 97.55, 97.6);
  ASSERT_TRUE(cols_new(&c, &b, p));
  for (size_t i = w0; i <= a + 3; i++) /* precondition: sideways by the doc's rule */
    EXPECT_TRUE(fabs(c.ef[i] - c.es[i]) < 0.005 * b.close[i]);
  cols_free(&c);
  qt_feed f = su_feed_bps(&b, 0.0, 0.0);
  qt_strategy_vtbl v = wrapped();
  qt_engine *e = NULL;
  qt_result r;
  ASSERT_TRUE(su_run(&f, 1, &v, p, 1, &e, &r) == 0);
  double q0 = 100 / 99.5, q1 = 110 / 99.0, q2 = 121 / 98.5;
  if (g_nf != 7) dump_fills();
  ASSERT_TRUE(g_nf == 7);
  EXPECT_EQ(g_fill[0].tag, 1000);
  EXPECT_EQ(g_fill[1].tag, 1001);
  EXPECT_NEAR(g_fill[1].qty, q1, 1e-12);
  EXPECT_EQ(g_fill[2].tag, 1002);
  EXPECT_NEAR(g_fill[2].price, 98.5, 1e-12);
  EXPECT_NEAR(g_fill[2].qty, q2, 1e-12);
  EXPECT_EQ(g_fill[3].tag / 1000, 4); /* the stop of level 0 */
  EXPECT_EQ(g_fill[3].reason, QT_EXIT_STOP_LOSS);
  EXPECT_NEAR(g_fill[3].price, 98.0, 1e-12);
  EXPECT_NEAR(g_fill[3].qty, q0, 1e-12);
  /* recentred at 97.9 with equity marked at that close */
  double eq = 10000 + (98.0 - 99.5) * q0 + (97.9 - 99.0) * q1 + (97.9 - 98.5) * q2;
  double px3 = 97.9 - 97.9 * 0.005, q3 = 0.01 * eq / px3;
  /* on the way down to 97.4: level 1's stop (99.0 - 1.5), then the new level 0 */
  EXPECT_EQ(g_fill[4].tag / 1000, 4);
  EXPECT_NEAR(g_fill[4].price, 97.5, 1e-12);
  EXPECT_NEAR(g_fill[4].qty, q1, 1e-12);
  EXPECT_EQ(g_fill[5].tag, 1000);
  EXPECT_NEAR(g_fill[5].price, px3, 1e-12);
  EXPECT_NEAR(g_fill[5].qty, q3, 1e-9);
  EXPECT_EQ(g_fill[6].reason, QT_EXIT_END_OF_DATA);
  EXPECT_NEAR(g_fill[6].qty, q2 + q3, 1e-9);
  double last = 97.6;
  double want = 10000 - 99.5 * q0 - 99.0 * q1 - 98.5 * q2 + 98.0 * q0 + 97.5 * q1 - px3 * q3 +
                (q2 + q3) * last;
  EXPECT_NEAR(r.final_equity, want, 1e-9);
  EXPECT_EQ(g_eq_bad, 0);
  qt_engine_free(e);
  qt_bars_fini(&b);
}

/* The regime the doc's rule gives for bar i, run from w0 (test's own copy). */
static int regime_at(const cols *c, const qt_bars *b, size_t w0, size_t upto, double hyst_bps) {
  int reg = 0;
  for (size_t i = w0; i <= upto; i++) {
    double band = hyst_bps / 1e4 * b->close[i];
    if (band < 0.25 * c->atr[0][i]) band = 0.25 * c->atr[0][i];
    double s = c->ef[i] - c->es[i], adx = c->adx[0][i];
    if (reg == 0) reg = adx >= 25 && s >= band ? 1 : adx >= 25 && s <= -band ? -1 : 0;
    else if (reg == 1) reg = s <= -band ? (adx >= 25 ? -1 : 0) : adx < 20 ? 0 : 1;
    else reg = s >= band ? (adx >= 25 ? 1 : 0) : adx < 20 ? 0 : -1;
  }
  return reg;
}

/* An uptrend of +0.1 a bar: with hysteresis 10 bps the regime turns UP at
 * bar u and the grid is rebuilt at close[u] with the short (counter) side cut
 * to counter_levels = 5 levels at half size; a spike through 6.5 steps fills
 * exactly those 5.  With hysteresis 50 bps the same trend never gets past the
 * band: the spike fills 6 full-size levels of the original grid. */
static void regime_switch_past_hysteresis(void) {
  for (int pass = 0; pass < 2; pass++) {
    double hyst = pass == 0 ? 10 : 50;
    qt_bars b;
    ASSERT_TRUE(mk(&b, 120));
    double p[19];
    defaults(p);
    setp(p, "grid_step_bps", 200);
    setp(p, "recenter_trigger_bps", 500);
    setp(p, "hysteresis_bps", hyst);
    cols c;
    size_t w0;
    ASSERT_TRUE(grid_start(&b, p, &w0));
    size_t k_trend = 14;
    for (size_t k = 1; k <= k_trend; k++) {
      double cl = 100 + 0.1 * (double)k;
      setb(&b, w0 + k, cl - 0.1, cl + 0.01, cl - 0.11, cl);
    }
    ASSERT_TRUE(cols_new(&c, &b, p));
    size_t u = 0; /* first bar in UP */
    for (size_t i = w0; i <= w0 + k_trend && !u; i++)
      if (regime_at(&c, &b, w0, i, hyst) == 1) u = i;
    size_t spike;
    double centre, mult, levels_hit;
    if (pass == 0) {
      ASSERT_TRUE(u > w0 && u <= w0 + k_trend);
      spike = u + 1;
      centre = b.close[u];
      mult = 0.5;
      levels_hit = 5;
    } else {
      ASSERT_TRUE(u == 0); /* precondition: never past the 50 bps band */
      spike = w0 + k_trend + 1;
      centre = 100.0;
      mult = 1.0;
      levels_hit = 6;
    }
    cols_free(&c);
    double cs = b.close[spike - 1], d = centre * 0.02;
    setb(&b, spike, cs, centre + 6.5 * d, cs - 0.01, cs); /* through 6 levels */
    for (size_t i = spike + 1; i < b.n; i++) quiet(&b, i, cs);
    qt_feed f = su_feed_bps(&b, 0.0, 0.0);
    qt_strategy_vtbl v = wrapped();
    qt_engine *e = NULL;
    qt_result r;
    ASSERT_TRUE(su_run(&f, 1, &v, p, 1, &e, &r) == 0);
    int n_short = 0;
    for (size_t j = 0; j < g_nf; j++) {
      if (g_fill[j].tag / 1000 != 2) continue;
      int k = g_fill[j].tag % 1000;
      double px = centre + (k + 1) * d;
      EXPECT_NEAR(g_fill[j].price, px, 1e-12);
      /* base_qty = 0.01 base units (the default sizing): 0.01 x mult x 1.1^k */
      EXPECT_NEAR(g_fill[j].qty, 0.01 * mult * pow(1.1, k), 1e-15);
      n_short++;
    }
    EXPECT_EQ(n_short, (int)levels_hit);
    EXPECT_EQ(count_tag(2000 + (int)levels_hit), 0);
    EXPECT_EQ(count_tag(1000), 0); /* no buy level was touched */
    EXPECT_EQ(g_eq_bad, 0);
    qt_engine_free(e);
    qt_bars_fini(&b);
  }
}

/* base_equity_frac 0.1 (sizing = equity_fraction), qty_scale 1.5, cap 50%: notionals 1000 (L0), 1000 (S0), 1500
 * (L1), 1500 (S1) fill the 5000 of room; L2 (2250) and beyond are never
 * placed, so a drop through every buy level fills only L0 and L1. */
static void position_cap(void) {
  qt_bars b;
  ASSERT_TRUE(mk(&b, 80));
  double p[19];
  defaults(p);
  eq_sizing(p); /* worked out for notionals as a fraction of equity */
  setp(p, "base_equity_frac", 0.1);
  setp(p, "qty_scale", 1.5);
  setp(p, "max_position_pct", 50);
  setp(p, "hysteresis_bps", 50);
  size_t w0;
  ASSERT_TRUE(grid_start(&b, p, &w0));
  setb(&b, w0 + 1, 100, 100.05, 98.05, 99.9);
  for (size_t i = w0 + 2; i < b.n; i++) setb(&b, i, 99.9, 99.95, 99.85, 99.9);
  qt_feed f = su_feed_bps(&b, 0.0, 0.0);
  qt_strategy_vtbl v = wrapped();
  g_cap_frac = 0.5;
  qt_engine *e = NULL;
  qt_result r;
  ASSERT_TRUE(su_run(&f, 1, &v, p, 1, &e, &r) == 0);
  if (g_nf != 3) dump_fills();
  ASSERT_TRUE(g_nf == 3); /* two entries and the end-of-data close */
  EXPECT_EQ(g_fill[2].reason, QT_EXIT_END_OF_DATA);
  EXPECT_EQ(g_fill[0].tag, 1000);
  EXPECT_NEAR(g_fill[0].qty, 1000 / 99.5, 1e-12);
  EXPECT_EQ(g_fill[1].tag, 1001);
  EXPECT_NEAR(g_fill[1].qty, 1500 / 99.0, 1e-12);
  EXPECT_NEAR(r.final_equity, 10000 + (1000 / 99.5) * 0.4 + (1500 / 99.0) * 0.9, 1e-9);
  EXPECT_EQ(g_cap_bad, 0);
  qt_engine_free(e);
  qt_bars_fini(&b);
}

/* Funding 0.001 per 8 h = 30 bps a day >= 20: longs would pay, so the long
 * side has no orders; the short side still trades. */
static void funding_pauses_paying_side(void) {
  qt_bars b;
  ASSERT_TRUE(mk(&b, 80));
  double p[19];
  defaults(p);
  eq_sizing(p); /* worked out for notionals as a fraction of equity */
  setp(p, "hysteresis_bps", 50);
  size_t w0;
  ASSERT_TRUE(grid_start(&b, p, &w0));
  setb(&b, w0 + 1, 100, 100.05, 99.4, 99.9);   /* through L0 = 99.5 */
  setb(&b, w0 + 2, 99.9, 100.6, 99.85, 100.0); /* through S0 = 100.5 */
  qt_funding fu;
  ASSERT_TRUE(qt_funding_alloc(&fu, 1, NULL) == 0);
  fu.ts_ms[0] = T0;
  fu.rate[0] = 0.001;
  fu.interval_h[0] = 8;
  qt_feed f = su_feed_bps(&b, 0.0, 0.0);
  f.funding = &fu;
  qt_strategy_vtbl v = wrapped();
  qt_engine *e = NULL;
  qt_result r;
  ASSERT_TRUE(su_run(&f, 1, &v, p, 1, &e, &r) == 0);
  EXPECT_EQ(count_tag(1000), 0);
  EXPECT_EQ(count_tag(2000), 1);
  qt_engine_free(e);
  /* 0.0005 per 8 h = 15 bps a day < 20: both sides trade */
  fu.rate[0] = 0.0005;
  v = wrapped();
  ASSERT_TRUE(su_run(&f, 1, &v, p, 1, &e, &r) == 0);
  EXPECT_EQ(count_tag(1000), 1);
  EXPECT_EQ(count_tag(2000), 1);
  qt_engine_free(e);
  qt_funding_fini(&fu);
  qt_bars_fini(&b);
}

/* In one-way mode the first fill arrives on the NET leg: the strategy cancels
 * everything, closes at the next open and stops. */
static void one_way_mode_stops(void) {
  qt_bars b;
  ASSERT_TRUE(mk(&b, 80));
  double p[19];
  defaults(p);
  eq_sizing(p); /* worked out for notionals as a fraction of equity */
  size_t w0;
  ASSERT_TRUE(grid_start(&b, p, &w0));
  setb(&b, w0 + 1, 100, 100.05, 99.4, 99.6);
  setb(&b, w0 + 2, 99.7, 100.6, 97.0, 100.0); /* would touch many levels */
  qt_feed f = su_feed_bps(&b, 0.0, 0.0);
  qt_strategy_vtbl v = wrapped();
  qt_engine *e = NULL;
  qt_result r;
  ASSERT_TRUE(su_run(&f, 1, &v, p, 0, &e, &r) == 0);
  EXPECT_EQ(g_nf, 2); /* the entry and the closing market order */
  if (g_nf == 2) EXPECT_EQ(g_fill[1].reason, QT_EXIT_SIGNAL);
  ASSERT_TRUE(r.n_trades == 1);
  EXPECT_NEAR(r.trades[0].exit_price, 99.7, 1e-12);
  EXPECT_EQ(r.trades[0].exit_reason, QT_EXIT_SIGNAL);
  EXPECT_EQ(r.n_fills, 2);
  qt_engine_free(e);
  qt_bars_fini(&b);
}

/* Defaults on 4 days of synthetic 1-minute bars: it trades; equity is cash
 * plus marked legs at every bar; fees are never negative; a rerun (same
 * seed, new engine) gives the same result. */
static void invariants_on_synth(void) {
  for (uint64_t seed = 1; seed <= 3; seed++) {
    qt_synth_market m;
    ASSERT_TRUE(su_synth(&m, seed, 4, 0) == 0);
    double p[19];
    defaults(p);
    eq_sizing(p); /* worked out for notionals as a fraction of equity */
    qt_feed f = su_feed_bps(&m.bars, 2.0, 5.0);
    f.inst.lot_size = 0.001;
    f.inst.tick_size = 0.01;
    f.funding = &m.funding;
    qt_strategy_vtbl v = wrapped();
    g_cap_frac = 0.8;
    qt_engine *e = NULL, *e2 = NULL;
    qt_result r, r2;
    ASSERT_TRUE(su_run(&f, 1, &v, p, 1, &e, &r) == 0);
    EXPECT_TRUE(r.n_trades > 10);
    EXPECT_EQ(g_eq_bad, 0);
    EXPECT_EQ(g_cap_bad, 0);
    EXPECT_TRUE(r.fees_paid > 0);
    int neg = 0;
    double sum = 0;
    for (size_t j = 0; j < r.n_trades; j++) {
      neg += r.trades[j].fees < 0;
      sum += r.trades[j].pnl;
    }
    EXPECT_EQ(neg, 0);
    /* flat at the end: equity change = sum of trade P&L */
    EXPECT_NEAR(r.final_equity - r.start_cash, sum, 1e-6);
    size_t nt = r.n_trades;
    double fe = r.final_equity, fp = r.fees_paid;
    v = wrapped();
    ASSERT_TRUE(su_run(&f, 1, &v, p, 1, &e2, &r2) == 0);
    EXPECT_EQ(r2.n_trades, nt);
    EXPECT_TRUE(r2.final_equity == fe);
    EXPECT_TRUE(r2.fees_paid == fp);
    qt_engine_free(e);
    qt_engine_free(e2);
    qt_synth_market_fini(&m);
  }
}

QT_TESTS(T(param_spec), T(fill_then_take_profit), T(stop_out_and_recenter),
         T(regime_switch_past_hysteresis), T(position_cap), T(funding_pauses_paying_side),
         T(one_way_mode_stops), T(invariants_on_synth))
