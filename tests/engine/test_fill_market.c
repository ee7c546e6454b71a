/* A bar whose book holds market orders only, in a run without on_fill,
 * fills them straight from the book (qt__fill_bar) instead of through the
 * touch list.  Every observable result must be the touch list's, bit for
 * bit: the same strategy with a no-op on_fill (which takes the touch list)
 * on random market orders of every kind (quantities, fractions of equity,
 * closes, reduce-only with nothing to reduce, several per bar), with order
 * latency, a leverage cap, and leveraged on gapping paths so that the fill
 * pass meets liquidations (a run without the fill pass's check differs). */
#include "qt_test.h"
#include "qtune/engine.h"

#include <math.h>
#include <string.h>

#define NB 4000
static int64_t g_ts[NB];
static double g_o[NB], g_h[NB], g_l[NB], g_c[NB], g_v[NB];

static void mk_bars(double vol, uint64_t seed) {
  qt_rng r;
  qt_rng_seed(&r, seed);
  double p = 100;
  for (size_t i = 0; i < NB; i++) {
    /* gaps: an open away from the last close, so a liquidation can be at it */
    double o = p * (1 + 3 * vol * qt_rng_normal(&r)), c = o * (1 + vol * qt_rng_normal(&r));
    g_ts[i] = (int64_t)i * 60000;
    g_o[i] = o, g_c[i] = c;
    g_h[i] = fmax(o, c) * (1 + 0.5 * vol * qt_rng_uniform(&r));
    g_l[i] = fmin(o, c) * (1 - 0.5 * vol * qt_rng_uniform(&r));
    g_v[i] = 1;
    p = c;
  }
}

typedef struct st {
  qt_rng r;
} st;

static int s_init(void *vs, const double *p, qt_ctx *cx, qt_err *err) {
  st *s = vs;
  qt_rng_seed(&s->r, 7);
  return QT_OK;
}

/* 0-3 market orders a bar, drawn from one seeded stream: the two runs send
 * the same orders as long as they see the same state */
static void s_on_bar(void *vs, const qt_bar *b, qt_ctx *cx) {
  st *s = vs;
  int n = (int)(qt_rng_uniform(&s->r) * 4);
  for (int k = 0; k < n; k++) {
    double u = qt_rng_uniform(&s->r), q = 0.5 + 20 * qt_rng_uniform(&s->r);
    int side = qt_rng_uniform(&s->r) < 0.5 ? QT_BUY : QT_SELL;
    if (u < 0.15) {
      qt_ctx_close(cx, 0, QT_LEG_NET, QT_EXIT_SIGNAL);
    } else if (u < 0.35) {
      qt_ctx_market_fraction(cx, 0, side, QT_LEG_NET, 0.2 + 0.8 * qt_rng_uniform(&s->r),
                             QT_EXIT_SIGNAL);
    } else if (u < 0.5) {
      qt_order_req r = {.inst = 0, .side = side, .type = QT_ORDER_MARKET, .leg = QT_LEG_NET,
                        .qty = q, .flags = QT_ORDER_REDUCE_ONLY, .reason = QT_EXIT_STOP_LOSS};
      qt_ctx_submit(cx, &r);
    } else {
      qt_ctx_market(cx, 0, side, QT_LEG_NET, q, QT_EXIT_SIGNAL);
    }
  }
}

static void s_on_fill(void *vs, const qt_fill *f, qt_ctx *cx) {}

static const qt_strategy_vtbl k_plain = {.abi = QT_STRATEGY_ABI, .name = "mkt", .summary = "test",
                                         .state_size = sizeof(st), .n_instruments = 1,
                                         .init = s_init, .on_bar = s_on_bar};
static qt_strategy_vtbl g_listening;

typedef struct outcome {
  int rc, liquidated;
  size_t n_bars, n_trades, n_fills, n_orders, n_rejected;
  double final_equity, fees;
  double eq[NB], ex[NB];
  qt_trade_rec tr[4 * NB];
} outcome;
static outcome g_a, g_b;

static void run_one(const qt_strategy_vtbl *s, const qt_engine_opts *o, outcome *out) {
  memset(out, 0, sizeof *out);
  qt_feed f;
  memset(&f, 0, sizeof f);
  f.inst = qt_instrument_default("M");
  qt_bars b = {.n = NB, .interval_ms = 60000, .ts_ms = g_ts, .open = g_o, .high = g_h,
               .low = g_l, .close = g_c, .volume = g_v};
  f.bars = &b;
  qt_engine *e = NULL;
  qt_err err;
  qt_result r;
  if (qt_engine_new(o, &e, &err)) {
    out->rc = -1;
    return;
  }
  out->rc = qt_engine_run(e, &f, 1, s, NULL, &r, &err);
  out->liquidated = r.liquidated;
  out->n_bars = r.n_bars;
  out->n_trades = r.n_trades < 4 * NB ? r.n_trades : 4 * NB;
  out->n_fills = r.n_fills;
  out->n_orders = r.n_orders;
  out->n_rejected = r.n_rejected;
  out->final_equity = r.final_equity;
  out->fees = r.fees_paid;
  for (size_t i = 0; i < r.n_bars; i++) out->eq[i] = r.equity[i], out->ex[i] = r.exposure[i];
  for (size_t i = 0; i < out->n_trades; i++) out->tr[i] = r.trades[i];
  qt_engine_free(e);
}

static void same(const char *what, const qt_engine_opts *o) {
  run_one(&k_plain, o, &g_a);
  run_one(&g_listening, o, &g_b);
  int ok = g_a.rc == g_b.rc && g_a.liquidated == g_b.liquidated && g_a.n_bars == g_b.n_bars &&
           g_a.n_trades == g_b.n_trades && g_a.n_fills == g_b.n_fills &&
           g_a.n_orders == g_b.n_orders && g_a.n_rejected == g_b.n_rejected &&
           g_a.final_equity == g_b.final_equity && g_a.fees == g_b.fees;
  for (size_t i = 0; ok && i < g_a.n_bars; i++) ok = g_a.eq[i] == g_b.eq[i] && g_a.ex[i] == g_b.ex[i];
  for (size_t i = 0; ok && i < g_a.n_trades; i++)
    ok = memcmp(&g_a.tr[i], &g_b.tr[i], sizeof g_a.tr[i]) == 0;
  if (!ok)
    QT_TEST_FAIL_("%s: straight from the book and through the touches differ (trades %zu/%zu, "
                  "fills %zu/%zu, final %.17g/%.17g)",
                  what, g_a.n_trades, g_b.n_trades, g_a.n_fills, g_b.n_fills, g_a.final_equity,
                  g_b.final_equity);
}

static void market_orders_fill_as_touched(void) {
  g_listening = k_plain;
  g_listening.on_fill = s_on_fill;
  qt_engine_opts o = qt_engine_opts_default();
  o.leverage_cap = 0; /* the strategy's quantities as sent */
  mk_bars(0.002, 3);
  same("plain", &o);
  EXPECT_TRUE(g_a.n_fills > 2000);
  EXPECT_TRUE(g_a.n_rejected > 50); /* reduce-only and closes with nothing held */
  o.fill_delay_bars = 2;
  same("latency", &o);
  o.fill_delay_bars = 0;
  o.leverage_cap = 5;
  same("leverage cap", &o);
  /* leveraged on gapping paths: liquidations the fill pass meets */
  o.leverage_cap = 0;
  o.cash = 300;
  int liq = 0;
  for (uint64_t seed = 1; seed <= 12; seed++) {
    mk_bars(0.01, seed);
    same("liquidation", &o);
    liq += g_a.liquidated;
  }
  EXPECT_TRUE(liq > 0);
}

QT_TESTS(T(market_orders_fill_as_touched))
