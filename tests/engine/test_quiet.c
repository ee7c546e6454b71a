/* Quiet bars (docs/engine.md): a strategy with quiet_until lets the engine
 * step the bars on which its on_bar does nothing without calling it.  Every
 * observable result must be the one of the full steps, bit for bit: the
 * same sma_cross with quiet_until and without (NULL), on the shapes the
 * quiet path serves and those it leaves to the full steps: the flow
 * columns, funding on a perpetual, a liquidation at high leverage,
 * checkpoints (the results so far and a stop), a bar range, closing at the
 * last open, trade_on_close, several feeds.  And the path is taken: on most
 * bars on_bar is not called. */
#include "qt_test.h"
#include "qtune/engine.h"
#include "qtune/indicators.h"
#include "qtune/strategies.h"

#include <math.h>
#include <string.h>

#define NB 6000
#define NF (NB / 60 + 1)
static int64_t g_ts[NB];
static double g_o[NB], g_h[NB], g_l[NB], g_c[NB], g_v[NB], g_qv[NB], g_tc[NB], g_tb[NB],
    g_tq[NB];
static int64_t g_fts[NF];
static double g_rate[NF], g_ih[NF];

static void mk_bars(double vol) {
  qt_rng r;
  qt_rng_seed(&r, 11);
  double p = 100;
  for (size_t i = 0; i < NB; i++) {
    double o = p, c = o * (1 + vol * qt_rng_normal(&r));
    g_ts[i] = (int64_t)i * 60000;
    g_o[i] = o, g_c[i] = c;
    g_h[i] = fmax(o, c) * (1 + 0.5 * vol * qt_rng_uniform(&r));
    g_l[i] = fmin(o, c) * (1 - 0.5 * vol * qt_rng_uniform(&r));
    g_v[i] = 1 + qt_rng_uniform(&r), g_qv[i] = g_v[i] * c, g_tc[i] = 7;
    g_tb[i] = g_v[i] / 2, g_tq[i] = g_qv[i] / 2;
    p = c;
  }
  for (size_t k = 0; k < NF; k++) { /* hourly settlements, off the bar grid */
    g_fts[k] = (int64_t)k * 3600000 + 30000;
    g_rate[k] = k % 3 ? 0.0004 : -0.0003;
    g_ih[k] = 1;
  }
}

static qt_bars bars(int extra) {
  qt_bars b = {.n = NB, .interval_ms = 60000, .ts_ms = g_ts, .open = g_o, .high = g_h,
               .low = g_l, .close = g_c, .volume = g_v};
  if (extra) b.quote_volume = g_qv, b.trade_count = g_tc, b.taker_buy_base = g_tb,
             b.taker_buy_quote = g_tq;
  return b;
}

/* sma_cross as registered, and the same with every bar stepped in full;
 * both count their on_bar calls */
static size_t g_calls;
static const qt_strategy_vtbl *g_sc;
static qt_strategy_vtbl g_quiet, g_full;
static void counting_on_bar(void *st, const qt_bar *b, qt_ctx *cx) {
  g_calls++;
  g_sc->on_bar(st, b, cx);
}
/* the state and context of the last init, for calling quiet_until directly */
static void *g_st;
static qt_ctx *g_cx;
static const double *g_fast, *g_slow; /* its SMA columns, as the engine's cache has them */
static int capturing_init(void *st, const double *p, qt_ctx *cx, qt_err *err) {
  g_st = st;
  g_cx = cx;
  int rc = g_sc->init(st, p, cx, err);
  g_fast = qt_ctx_indicator(cx, 0, QT_IND_SMA, (int)p[0], 0, 0, 0, err);
  g_slow = qt_ctx_indicator(cx, 0, QT_IND_SMA, (int)p[1], 0, 0, 0, err);
  return rc;
}
static void mk_vtbls(void) {
  g_sc = qt_strategy_find("sma_cross");
  g_quiet = *g_sc;
  g_quiet.on_bar = counting_on_bar;
  g_quiet.init = capturing_init;
  g_full = g_quiet;
  g_full.quiet_until = NULL;
}

typedef struct ck {
  size_t calls, stop_at, seen[256];
  double eq[256], ex[256];
} ck;

static int on_ck(void *ud, const qt_result *r) {
  ck *c = ud;
  if (c->calls < 256) {
    c->seen[c->calls] = r->n_bars;
    c->eq[c->calls] = r->equity[r->n_bars - 1];
    c->ex[c->calls] = r->exposure[r->n_bars - 1];
  }
  return ++c->calls == c->stop_at;
}

static int same_trade(const qt_trade_rec *a, const qt_trade_rec *b) {
  return a->inst == b->inst && a->side == b->side && a->leg == b->leg &&
         a->exit_reason == b->exit_reason && a->entry_ms == b->entry_ms &&
         a->exit_ms == b->exit_ms && a->qty == b->qty && a->entry_price == b->entry_price &&
         a->exit_price == b->exit_price && a->pnl == b->pnl && a->fees == b->fees &&
         a->funding == b->funding && a->bars_held == b->bars_held;
}

typedef struct outcome {
  int rc;
  size_t calls, n_bars, n_trades, n_fills, n_orders;
  double final_equity, fees, funding;
  int liquidated;
  double eq[NB], ex[NB];
  qt_trade_rec tr[NB];
  ck ck;
} outcome;

static outcome g_a, g_b;

static void run_one(const qt_strategy_vtbl *s, const qt_feed *f, int n_feeds,
                    const qt_engine_opts *o, const double *p, size_t ck_every, size_t stop_at,
                    outcome *out) {
  memset(out, 0, sizeof *out);
  qt_engine *e = NULL;
  qt_err err;
  if (qt_engine_new(o, &e, &err)) {
    out->rc = -1;
    return;
  }
  out->ck.stop_at = stop_at;
  if (ck_every) qt_engine_set_checkpoint(e, ck_every, on_ck, &out->ck);
  qt_result r;
  g_calls = 0;
  out->rc = qt_engine_run(e, f, n_feeds, s, p, &r, &err);
  out->calls = g_calls;
  out->n_bars = r.n_bars;
  out->n_trades = r.n_trades < NB ? r.n_trades : NB;
  out->n_fills = r.n_fills;
  out->n_orders = r.n_orders;
  out->final_equity = r.final_equity;
  out->fees = r.fees_paid;
  out->funding = r.funding_paid;
  out->liquidated = r.liquidated;
  for (size_t i = 0; i < r.n_bars && i < NB; i++) out->eq[i] = r.equity[i], out->ex[i] = r.exposure[i];
  for (size_t i = 0; i < out->n_trades; i++) out->tr[i] = r.trades[i];
  qt_engine_free(e);
}

/* The two runs' results are equal bit for bit; returns the quiet run's
 * on_bar calls over the full run's. */
static double compare(const char *what, const qt_feed *f, int n_feeds, const qt_engine_opts *o,
                      const double *p, size_t ck_every, size_t stop_at) {
  run_one(&g_quiet, f, n_feeds, o, p, ck_every, stop_at, &g_a);
  run_one(&g_full, f, n_feeds, o, p, ck_every, stop_at, &g_b);
  int ok = g_a.rc == g_b.rc && g_a.n_bars == g_b.n_bars && g_a.n_trades == g_b.n_trades &&
           g_a.n_fills == g_b.n_fills && g_a.n_orders == g_b.n_orders &&
           g_a.final_equity == g_b.final_equity && g_a.fees == g_b.fees &&
           g_a.funding == g_b.funding && g_a.liquidated == g_b.liquidated &&
           g_a.ck.calls == g_b.ck.calls;
  for (size_t i = 0; ok && i < g_a.n_bars; i++)
    ok = g_a.eq[i] == g_b.eq[i] && g_a.ex[i] == g_b.ex[i];
  for (size_t i = 0; ok && i < g_a.n_trades; i++) ok = same_trade(&g_a.tr[i], &g_b.tr[i]);
  for (size_t i = 0; ok && i < g_a.ck.calls && i < 256; i++)
    ok = g_a.ck.seen[i] == g_b.ck.seen[i] && g_a.ck.eq[i] == g_b.ck.eq[i] &&
         g_a.ck.ex[i] == g_b.ck.ex[i];
  if (!ok)
    QT_TEST_FAIL_("%s: quiet and full steps differ (rc %d/%d, bars %zu/%zu, trades %zu/%zu, "
                  "final %.17g/%.17g)",
                  what, g_a.rc, g_b.rc, g_a.n_bars, g_b.n_bars, g_a.n_trades, g_b.n_trades,
                  g_a.final_equity, g_b.final_equity);
  return g_b.calls ? (double)g_a.calls / (double)g_b.calls : 1;
}

static qt_feed feed(const qt_bars *b) {
  qt_feed f;
  memset(&f, 0, sizeof f);
  f.inst = qt_instrument_default("Q");
  f.bars = b;
  return f;
}

static void same_as_full_steps(void) {
  mk_bars(0.003);
  mk_vtbls();
  double p[8];
  qt_strategy_defaults(g_sc, p);
  qt_bars b = bars(0), bx = bars(1);
  qt_feed f = feed(&b), fx = feed(&bx);
  qt_engine_opts o = qt_engine_opts_default();
  double share = compare("plain", &f, 1, &o, p, 0, 0);
  EXPECT_TRUE(g_b.n_trades > 100);
  EXPECT_TRUE(share < 0.3); /* the quiet path is taken: most bars hear nothing */
  EXPECT_TRUE(g_b.calls == NB);
  /* the flow columns reach on_bar only for a strategy that wants them: the
   * shape of steps with them, from here to the bar range */
  g_quiet.needs = g_full.needs = QT_WANTS_FLOW;
  compare("flow columns", &fx, 1, &o, p, 0, 0);
  p[2] = 1; /* sizing at the fill */
  compare("sized at the fill", &f, 1, &o, p, 0, 0);
  qt_strategy_defaults(g_sc, p);
  /* funding on a perpetual: settlements land inside quiet stretches */
  qt_funding fu = {.n = NF, .ts_ms = g_fts, .rate = g_rate, .interval_h = g_ih};
  qt_feed fp = fx;
  fp.inst.kind = QT_INST_PERP;
  fp.funding = &fu;
  compare("funding", &fp, 1, &o, p, 0, 0);
  EXPECT_TRUE(g_a.funding != 0);
  /* checkpoints: the results so far at each, and a stop */
  compare("checkpoints", &fp, 1, &o, p, 97, 0);
  EXPECT_TRUE(g_a.ck.calls == (NB - 1) / 97);
  compare("checkpoint stop", &fp, 1, &o, p, 97, 20);
  EXPECT_EQ(g_a.rc, QT_PRUNED);
  /* a bar range, closing at the last open */
  qt_engine_opts ro = o;
  ro.from = 1234;
  ro.to = 4321;
  ro.close_at_end = QT_CLOSE_AT_END_OPEN;
  compare("range, close at open", &fx, 1, &ro, p, 0, 0);
  g_quiet.needs = g_full.needs = 0;
  /* trade_on_close and hedge mode are left to the full steps */
  qt_engine_opts to = o;
  to.trade_on_close = 1;
  EXPECT_DBL_EQ(compare("trade on close", &f, 1, &to, p, 0, 0), 1.0);
  qt_engine_opts ho = o;
  ho.hedge_mode = 1;
  EXPECT_DBL_EQ(compare("hedge mode", &f, 1, &ho, p, 0, 0), 1.0);
  /* several feeds: the full steps */
  qt_feed two[2] = {f, fx};
  EXPECT_DBL_EQ(compare("two feeds", two, 2, &o, p, 0, 0), 1.0);
}

/* Prices on whole ticks with flat runs: the SMAs are often exactly equal
 * (a flat run, or sums that agree), where a strict cross does not fire, and
 * crosses land at every offset of quiet_until's blocks of bars. */
static void mk_plateaus(void) {
  qt_rng r;
  qt_rng_seed(&r, 5);
  double p = 100;
  for (size_t i = 0; i < NB; i++) {
    if (qt_rng_uniform(&r) < 0.4) p += qt_rng_uniform(&r) < 0.5 ? -1 : 1; /* else flat */
    if ((i / 50) % 4 == 3) p = 100;                                       /* long flat runs */
    double o = i ? g_c[i - 1] : p;
    g_ts[i] = (int64_t)i * 60000;
    g_o[i] = o, g_c[i] = p;
    g_h[i] = fmax(o, p) + 0.5, g_l[i] = fmin(o, p) - 0.5;
    g_v[i] = 1;
  }
}

static void ties_and_plateaus(void) {
  mk_plateaus();
  mk_vtbls();
  double p[8];
  qt_strategy_defaults(g_sc, p);
  qt_bars b = bars(0);
  qt_feed f = feed(&b);
  qt_engine_opts o = qt_engine_opts_default();
  size_t ties = 0;
  for (int fast = 2; fast <= 10; fast += 4) {
    p[0] = fast, p[1] = 3 * fast;
    compare("ties and flat runs", &f, 1, &o, p, 0, 0);
    EXPECT_TRUE(g_b.n_trades > 20);
  }
  /* the data has what it is for: equal SMAs and crosses at every offset */
  size_t at[8] = {0};
  for (size_t i = 0; i < g_b.n_trades; i++) at[(g_b.tr[i].entry_ms / 60000 - 1) % 8]++;
  for (int m = 0; m < 8; m++) EXPECT_TRUE(at[m] > 0);
  /* quiet_until names exactly the next cross (a bar too early would cost
   * only speed, so the runs above cannot see it): against the compares of
   * on_bar on the engine's own SMA columns, from every start, to ends of
   * every length */
  p[0] = 2, p[1] = 6;
  g_st = NULL;
  qt_engine *e = NULL;
  qt_err err;
  qt_result res;
  ASSERT_TRUE(qt_engine_new(&o, &e, &err) == QT_OK);
  EXPECT_EQ(qt_engine_run(e, &f, 1, &g_quiet, p, &res, &err), QT_OK);
  ASSERT_TRUE(g_st != NULL); /* the engine keeps both until it is freed */
  const double *fa = g_fast, *sl = g_slow;
  ASSERT_TRUE(fa && sl);
  size_t bad = 0;
  for (size_t i = 0; i < NB; i += 1 + i % 3) {
    for (size_t len = 0; len < 40; len += 1 + len / 9) {
      size_t end = i + len < NB ? i + len : NB, want = end;
      for (size_t k = i ? i : 1; k < end; k++)
        if ((fa[k - 1] < sl[k - 1] && fa[k] > sl[k]) || (fa[k - 1] > sl[k - 1] && fa[k] < sl[k])) {
          want = k;
          break;
        }
      if (i < end && g_sc->quiet_until(g_st, g_cx, i, end) != want) bad++;
    }
  }
  EXPECT_EQ(bad, 0);
  qt_engine_free(e);
  double s2 = 0, s6 = 0;
  for (size_t i = 0; i < NB; i++) {
    s2 += g_c[i] - (i >= 2 ? g_c[i - 2] : 0);
    s6 += g_c[i] - (i >= 6 ? g_c[i - 6] : 0);
    if (i >= 6 && s2 / 2 == s6 / 6) ties++;
  }
  EXPECT_TRUE(ties > 100);
}

/* A leveraged strategy for the liquidation case: every 400 bars (at bar
 * 400k + 10) it closes what it holds and buys 12 x equity, long and short
 * in turn; quiet in between. */
static void lev_on_bar(void *st, const qt_bar *b, qt_ctx *cx) {
  g_calls++;
  if (b->i % 400 != 10) return;
  if (qt_ctx_position(cx, 0, QT_LEG_NET) != 0) qt_ctx_close(cx, 0, QT_LEG_NET, QT_EXIT_SIGNAL);
  double q = 12 * qt_ctx_equity(cx) / b->close;
  if (q > 0) qt_ctx_market(cx, 0, (b->i / 400) % 2 ? QT_SELL : QT_BUY, QT_LEG_NET, q, QT_EXIT_SIGNAL);
}
static int lev_init(void *st, const double *p, qt_ctx *cx, qt_err *err) { return QT_OK; }
static size_t lev_quiet(const void *st, const qt_ctx *cx, size_t i, size_t end) {
  size_t k = i - i % 400 + 10;
  if (k < i) k += 400;
  return k < end ? k : end;
}

/* A liquidation at high leverage: the quiet stretch stops at the bar that
 * the liquidation line does not clear, and the full steps liquidate. */
static void liquidation(void) {
  mk_bars(0.004);
  qt_strategy_vtbl lev = {.abi = QT_STRATEGY_ABI, .name = "lev", .summary = "test",
                          .n_instruments = 1, .init = lev_init, .on_bar = lev_on_bar,
                          .quiet_until = lev_quiet};
  g_quiet = lev;
  g_full = lev;
  g_full.quiet_until = NULL;
  qt_bars b = bars(1);
  qt_feed f = feed(&b);
  f.inst.maint_margin = 0.05;
  qt_engine_opts o = qt_engine_opts_default();
  o.leverage_cap = 15;
  qt_funding fu = {.n = NF, .ts_ms = g_fts, .rate = g_rate, .interval_h = g_ih};
  f.inst.kind = QT_INST_PERP;
  f.funding = &fu;
  double share = compare("liquidation", &f, 1, &o, NULL, 0, 0);
  EXPECT_EQ(g_a.liquidated, 1);
  EXPECT_TRUE(g_a.n_trades >= 2);
  EXPECT_TRUE(share < 0.1);
  /* without funding, and the position held to the end unliquidated */
  f.funding = NULL;
  f.inst.kind = QT_INST_SPOT;
  f.inst.maint_margin = 0.0;
  o.leverage_cap = 3;
  compare("leveraged, no liquidation", &f, 1, &o, NULL, 0, 0);
  EXPECT_EQ(g_a.liquidated, 0);
}

QT_TESTS(T(same_as_full_steps), T(ties_and_plateaus), T(liquidation))
