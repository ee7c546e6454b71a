/* One engine reused across runs (one per optimizer worker) must give every
 * run exactly what a fresh engine gives it: the per-run state is reset as
 * one struct at the start of each run (src/engine/engine_int.h, qt__run), so
 * a counter cannot leak from one trial into the next.  A randomized
 * strategy drives every part of the engine (market, limit, post-only, stop,
 * expiring orders, cancel, replace, close, signals with expiry, hedge legs,
 * two feeds, fills on trades, funding, quotes, the order log, a full book,
 * a liquidation); each case runs on a fresh engine first, then the cases run
 * in a mixed order on one engine and every observable result is compared
 * bit for bit: the qt_result counters and sums, the equity and exposure
 * curves, every trade and order-log record, and a hash of what the strategy
 * saw through its callbacks and the qt_ctx queries. */
#include "qt_test.h"
#include "qtune/engine.h"
#include "qtune/indicators.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- synthetic markets: a random walk with funding, quotes and trades ---- */
#define NB 320
#define NT (3 * NB)
#define NF (NB / 16)

typedef struct market {
  int64_t ts[NB];
  double o[NB], h[NB], l[NB], c[NB], v[NB];
  qt_bars b;
  int64_t fts[NF];
  double rate[NF], ih[NF];
  qt_funding fu;
  int64_t qts[NB];
  double bid[NB], bq[NB], ask[NB], aq[NB];
  qt_quotes q;
  int64_t tts[NT], tid[NT];
  double tpx[NT], tqty[NT];
  qt_trades tr;
} market;

static void mk_market(market *m, uint64_t seed, size_t n, int64_t step, double vol) {
  memset(m, 0, sizeof *m);
  qt_rng r;
  qt_rng_seed(&r, seed);
  double p = 100;
  for (size_t i = 0; i < n; i++) {
    double o = p, c = o * (1 + vol * qt_rng_normal(&r));
    double h = fmax(o, c) * (1 + 0.5 * vol * qt_rng_uniform(&r));
    double l = fmin(o, c) * (1 - 0.5 * vol * qt_rng_uniform(&r));
    m->ts[i] = (int64_t)i * step;
    m->o[i] = o, m->h[i] = h, m->l[i] = l, m->c[i] = c, m->v[i] = 1 + (double)i;
    /* three prints per bar: open, the extreme nearer the close, close */
    int64_t t0 = m->ts[i];
    double px3[3] = {o, c >= o ? h : l, c};
    for (int k = 0; k < 3; k++) {
      size_t j = 3 * i + (size_t)k;
      m->tts[j] = t0 + (int64_t)k * step / 3;
      m->tid[j] = (int64_t)j;
      m->tpx[j] = px3[k];
      m->tqty[j] = 1;
    }
    m->qts[i] = t0 + step / 2; /* a quote inside every bar */
    m->bid[i] = c * 0.999, m->ask[i] = c * 1.001, m->bq[i] = m->aq[i] = 5;
    p = c;
  }
  m->b = (qt_bars){.n = n, .interval_ms = step, .ts_ms = m->ts, .open = m->o, .high = m->h,
                   .low = m->l, .close = m->c, .volume = m->v};
  size_t nf = n / 16;
  for (size_t k = 0; k < nf; k++) {
    m->fts[k] = (int64_t)(k * 16 + 5) * step + 17; /* paid at the next bar */
    m->rate[k] = (k % 3 == 0 ? -1.0 : 1.0) * 0.0002 * (double)(k % 5 + 1);
    m->ih[k] = 8;
  }
  m->fu = (qt_funding){.n = nf, .ts_ms = m->fts, .rate = m->rate, .interval_h = m->ih};
  m->q = (qt_quotes){.n = n, .ts_ms = m->qts, .bid = m->bid, .bid_qty = m->bq, .ask = m->ask,
                     .ask_qty = m->aq};
  m->tr = (qt_trades){.n = 3 * n, .ts_ms = m->tts, .id = m->tid, .price = m->tpx,
                      .qty = m->tqty};
}

/* ---- a strategy that does a bit of everything, driven by its seed ---- */
enum { P_SEED, P_SMA, P_SIZE, P_COUNT };
static const qt_param_spec k_params[P_COUNT] = {
    {"seed", QT_PARAM_INT, 0, 1e6, 1, 0, 1, NULL, 0, "rng seed of the actions"},
    {"sma", QT_PARAM_INT, 2, 50, 1, 0, 5, NULL, 0, "SMA length from the indicator cache"},
    {"size", QT_PARAM_FLOAT, 0.1, 100, 0, 0, 1, NULL, 0, "order size multiplier, units"},
};

typedef struct chaos {
  qt_rng rng;
  const double *sma;
  double size;
  int64_t ids[8];
} chaos;

/* What the strategy observed, folded as it happens (FNV-1a over the bytes). */
static uint64_t g_obs;
static size_t g_n_bar, g_n_fill, g_n_fund;

static void fold(const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++) g_obs = (g_obs ^ c[i]) * 1099511628211ULL;
}
static void fold_d(double x) { fold(&x, sizeof x); }
static void fold_i(int64_t x) { fold(&x, sizeof x); }

static int ch_init(void *st, const double *p, qt_ctx *cx, qt_err *err) {
  chaos *s = st;
  g_obs = 1469598103934665603ULL;
  g_n_bar = g_n_fill = g_n_fund = 0;
  qt_rng_seed(&s->rng, (uint64_t)p[P_SEED]);
  s->size = p[P_SIZE];
  s->sma = qt_ctx_indicator(cx, 0, QT_IND_SMA, (int)p[P_SMA], 0, 0, 0, err);
  if (!s->sma) return err ? err->code : QT_EINVAL;
  fold_d(qt_ctx_equity(cx));
  fold_i(qt_ctx_now(cx));
  return QT_OK;
}

static void observe(qt_ctx *cx, const qt_bar *b, const chaos *s) {
  fold_i(qt_ctx_now(cx));
  fold_i((int64_t)b->i);
  fold_d(b->volume);
  fold_d(s->sma[b->i]);
  fold_d(qt_ctx_equity(cx));
  fold_d(qt_ctx_cash(cx));
  fold_d(qt_ctx_gross_notional(cx));
  fold_d(qt_ctx_margin_used(cx));
  for (int k = 0; k < qt_ctx_n_instruments(cx); k++) {
    size_t nb = 0, nf = 0, nq = 0;
    qt_ctx_bars(cx, k, &nb);
    qt_ctx_funding(cx, k, &nf);
    qt_ctx_quotes(cx, k, &nq);
    fold_i((int64_t)nb), fold_i((int64_t)nf), fold_i((int64_t)nq);
    for (int leg = QT_LEG_NET; leg <= QT_LEG_SHORT; leg++) {
      fold_d(qt_ctx_position(cx, k, leg));
      fold_d(qt_ctx_entry_price(cx, k, leg));
    }
  }
}

static void ch_on_bar(void *st, const qt_bar *b, qt_ctx *cx) {
  chaos *s = st;
  g_n_bar++;
  observe(cx, b, s);
  qt_rng *r = &s->rng;
  int inst = (int)qt_rng_below(r, (uint64_t)qt_ctx_n_instruments(cx));
  size_t n;
  const qt_bars *bb = qt_ctx_bars(cx, inst, &n);
  double px = bb->close[n - 1];
  int side = qt_rng_uniform(r) < 0.5 ? QT_BUY : QT_SELL;
  int leg = (int)qt_rng_below(r, 3); /* NET, LONG, SHORT */
  double qty = s->size * (double)(1 + qt_rng_below(r, 5));
  int64_t *slot = &s->ids[qt_rng_below(r, 8)];
  const int64_t step = 60000; /* every market here has 1-minute bars */
  double u = qt_rng_uniform(r);
  int64_t rc = 0;
  if (u < 0.14) {
    rc = qt_ctx_market(cx, inst, side, leg, qty, QT_EXIT_SIGNAL);
  } else if (u < 0.28) {
    unsigned fl = qt_rng_uniform(r) < 0.3 ? QT_ORDER_REDUCE_ONLY : 0;
    rc = *slot = qt_ctx_limit(cx, inst, side, leg, qty, px * (1 - side * 0.002), fl, 3);
  } else if (u < 0.32) { /* post-only on the wrong side of the price: rejected */
    rc = qt_ctx_limit(cx, inst, side, leg, qty, px * (1 + side * 0.01), QT_ORDER_POST_ONLY, 4);
  } else if (u < 0.40) {
    rc = *slot = qt_ctx_stop(cx, inst, side, leg, qty, px * (1 + side * 0.003), QT_EXIT_STOP_LOSS);
  } else if (u < 0.46) { /* an order that expires two bars on */
    qt_order_req q = {.inst = inst, .side = side, .type = QT_ORDER_LIMIT, .leg = leg,
                      .qty = qty, .price = px * (1 - side * 0.004),
                      .expire_ms = qt_ctx_now(cx) + 2 * step, .reason = QT_EXIT_TAKE_PROFIT};
    rc = *slot = qt_ctx_submit(cx, &q);
  } else if (u < 0.52) {
    rc = qt_ctx_cancel(cx, *slot);
  } else if (u < 0.58) {
    rc = qt_ctx_replace(cx, *slot, px * (1 - side * 0.001), qty);
  } else if (u < 0.60) {
    qt_ctx_cancel_all(cx, qt_rng_uniform(r) < 0.5 ? -1 : inst);
  } else if (u < 0.66) {
    rc = qt_ctx_close(cx, inst, leg, QT_EXIT_SIGNAL);
  } else if (u < 0.74) {
    rc = qt_ctx_signal(cx, inst, leg, side, qt_ctx_now(cx) + 3 * step);
  } else if (u < 0.78) {
    rc = qt_ctx_market(cx, inst, side, leg, qt_ctx_qty_for_equity(cx, inst, 0.5, px) + 1,
                       QT_EXIT_SIGNAL);
  }
  fold_i(rc);
}

static void ch_on_fill(void *st, const qt_fill *f, qt_ctx *cx) {
  g_n_fill++;
  fold_i(f->order_id), fold_i(f->inst), fold_i(f->side), fold_i(f->leg), fold_i(f->tag);
  fold_i(f->reason), fold_i(f->maker), fold_i(f->ts_ms);
  fold_d(f->qty), fold_d(f->price), fold_d(f->fee);
  fold_d(qt_ctx_equity(cx));
}

static void ch_on_funding(void *st, const qt_funding_event *f, qt_ctx *cx) {
  g_n_fund++;
  fold_i(f->inst), fold_i(f->ts_ms);
  fold_d(f->rate), fold_d(f->mark), fold_d(f->payment);
}

static const qt_strategy_vtbl k_chaos = {
    .abi = QT_STRATEGY_ABI,
    .name = "chaos",
    .summary = "random orders of every kind (test)",
    .params = k_params,
    .n_params = P_COUNT,
    .state_size = sizeof(chaos),
    .n_instruments = 1,
    .init = ch_init,
    .on_bar = ch_on_bar,
    .on_fill = ch_on_fill,
    .on_funding = ch_on_funding,
};

/* ---- the cases, and a copy of everything a run lets one observe ---- */
#define NCASE 4
static market g_m[3];

typedef struct rcase {
  const char *name;
  qt_feed f[2];
  int n_feeds;
  qt_engine_opts o;
  double p[P_COUNT];
} rcase;
static rcase g_case[NCASE];

typedef struct snap {
  qt_result r; /* scalars; its pointers are replaced by the copies below */
  double *equity, *exposure;
  qt_trade_rec *trades;
  qt_order_event *olog;
  uint64_t obs;
  size_t n_bar, n_fill, n_fund;
} snap;

static snap g_ref[NCASE];

static void snap_free(snap *s) {
  free(s->equity), free(s->exposure), free(s->trades), free(s->olog);
  memset(s, 0, sizeof *s);
}

static void *dup(const void *p, size_t n) {
  void *q = malloc(n ? n : 1);
  if (q && n) memcpy(q, p, n);
  return q;
}

static int take(qt_engine *e, int c, snap *out) {
  rcase *k = &g_case[c];
  qt_err err;
  qt_err_clear(&err);
  qt_engine_set_opts(e, &k->o);
  qt_result r;
  int rc = qt_engine_run(e, k->f, k->n_feeds, &k_chaos, k->p, &r, &err);
  if (rc != QT_OK) {
    fprintf(stderr, "  case %s: %s\n", k->name, err.msg);
    return rc;
  }
  memset(out, 0, sizeof *out);
  out->r = r;
  out->equity = dup(r.equity, r.n_bars * sizeof(double));
  out->exposure = dup(r.exposure, r.n_bars * sizeof(double));
  out->trades = dup(r.trades, r.n_trades * sizeof *r.trades);
  out->olog = dup(r.order_log, r.n_order_log * sizeof *r.order_log);
  out->obs = g_obs;
  out->n_bar = g_n_bar, out->n_fill = g_n_fill, out->n_fund = g_n_fund;
  return QT_OK;
}

static int same_d(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

/* Every observable of run a (on a reused engine) against b (fresh); the
 * failure names the case and the field. */
static void expect_same(const char *name, const snap *a, const snap *b) {
  int bad0 = qt_test_failed_;
  qt_test_failed_ = 0;
  EXPECT_EQ(a->r.n_bars, b->r.n_bars);
  EXPECT_EQ(a->r.n_trades, b->r.n_trades);
  EXPECT_EQ(a->r.n_signals, b->r.n_signals);
  EXPECT_EQ(a->r.n_expired, b->r.n_expired);
  EXPECT_EQ(a->r.n_fills, b->r.n_fills);
  EXPECT_EQ(a->r.n_orders, b->r.n_orders);
  EXPECT_EQ(a->r.n_rejected, b->r.n_rejected);
  EXPECT_EQ(a->r.n_cancelled, b->r.n_cancelled);
  EXPECT_EQ(a->r.n_order_log, b->r.n_order_log);
  EXPECT_EQ(a->r.liquidated, b->r.liquidated);
  EXPECT_EQ(a->r.interval_ms, b->r.interval_ms);
  EXPECT_DBL_EQ(a->r.fees_paid, b->r.fees_paid);
  EXPECT_DBL_EQ(a->r.funding_paid, b->r.funding_paid);
  EXPECT_DBL_EQ(a->r.start_cash, b->r.start_cash);
  EXPECT_DBL_EQ(a->r.final_equity, b->r.final_equity);
  EXPECT_PTR_EQ(a->r.ts_ms, b->r.ts_ms);
  EXPECT_EQ(a->n_bar, b->n_bar);
  EXPECT_EQ(a->n_fill, b->n_fill);
  EXPECT_EQ(a->n_fund, b->n_fund);
  EXPECT_U64_EQ(a->obs, b->obs);
  size_t nb = a->r.n_bars < b->r.n_bars ? a->r.n_bars : b->r.n_bars, bad_curve = 0;
  for (size_t i = 0; i < nb; i++)
    bad_curve += !same_d(a->equity[i], b->equity[i]) || !same_d(a->exposure[i], b->exposure[i]);
  EXPECT_EQ(bad_curve, 0);
  size_t nt = a->r.n_trades < b->r.n_trades ? a->r.n_trades : b->r.n_trades, bad_trade = 0;
  for (size_t i = 0; i < nt; i++) {
    const qt_trade_rec *x = &a->trades[i], *y = &b->trades[i];
    bad_trade += x->inst != y->inst || x->side != y->side || x->leg != y->leg ||
                 x->exit_reason != y->exit_reason || x->entry_ms != y->entry_ms ||
                 x->exit_ms != y->exit_ms || !same_d(x->qty, y->qty) ||
                 !same_d(x->entry_price, y->entry_price) ||
                 !same_d(x->exit_price, y->exit_price) || !same_d(x->pnl, y->pnl) ||
                 !same_d(x->fees, y->fees) || !same_d(x->funding, y->funding) ||
                 x->bars_held != y->bars_held;
  }
  EXPECT_EQ(bad_trade, 0);
  size_t no = a->r.n_order_log < b->r.n_order_log ? a->r.n_order_log : b->r.n_order_log;
  size_t bad_log = 0;
  for (size_t i = 0; i < no; i++) {
    const qt_order_event *x = &a->olog[i], *y = &b->olog[i];
    bad_log += x->ts_ms != y->ts_ms || x->id != y->id || x->action != y->action ||
               x->inst != y->inst || x->side != y->side || x->type != y->type ||
               x->leg != y->leg || x->flags != y->flags || !same_d(x->qty, y->qty) ||
               !same_d(x->price, y->price) || x->expire_ms != y->expire_ms;
  }
  EXPECT_EQ(bad_log, 0);
  if (qt_test_failed_)
    fprintf(stderr, "  ^ case '%s' on a reused engine differs from a fresh one\n", name);
  qt_test_failed_ |= bad0;
}

static qt_feed mk_feed(const market *m, const char *sym, int perp, int with_trades) {
  qt_feed f;
  memset(&f, 0, sizeof f);
  f.inst = qt_instrument_default(sym);
  f.inst.lot_size = 0.01;
  f.inst.tick_size = 0.001;
  f.bars = &m->b;
  f.quotes = &m->q;
  if (perp) {
    f.inst.kind = QT_INST_PERP;
    f.funding = &m->fu;
  }
  if (with_trades) f.trades = &m->tr;
  return f;
}

static void setup_cases(void) {
  mk_market(&g_m[0], 1, NB, 60000, 0.004);
  mk_market(&g_m[1], 2, 280, 60000, 0.006);
  mk_market(&g_m[2], 3, 250, 60000, 0.02);
  qt_engine_opts d = qt_engine_opts_default();
  rcase *k = &g_case[0]; /* one perp: funding, slippage, a leverage cap, the order log */
  k->name = "perp_log";
  k->f[0] = mk_feed(&g_m[0], "PERP", 1, 0);
  k->n_feeds = 1;
  k->o = d;
  k->o.slippage_bps = 2;
  k->o.leverage_cap = 3;
  k->o.log_orders = 1;
  k->p[P_SEED] = 11, k->p[P_SMA] = 7, k->p[P_SIZE] = 2;
  k = &g_case[1]; /* two feeds in hedge mode, trade on close, a sub-range */
  k->name = "two_feeds_hedge";
  k->f[0] = mk_feed(&g_m[1], "A", 1, 0);
  k->f[1] = mk_feed(&g_m[0], "B", 0, 0);
  k->n_feeds = 2;
  k->o = d;
  k->o.hedge_mode = 1;
  k->o.trade_on_close = 1;
  k->o.from = 20;
  k->o.to = 260;
  k->o.max_trades = 4; /* the trade list grows inside the run */
  k->p[P_SEED] = 22, k->p[P_SMA] = 12, k->p[P_SIZE] = 1;
  k = &g_case[2]; /* fills on trades, a small book that fills up, no close at end */
  k->name = "trades_small_book";
  k->f[0] = mk_feed(&g_m[0], "T", 1, 1);
  k->n_feeds = 1;
  k->o = d;
  k->o.fill_on_trades = 1;
  k->o.max_orders = 6;
  k->o.close_at_end = 0;
  k->o.log_orders = 1;
  k->p[P_SEED] = 33, k->p[P_SMA] = 3, k->p[P_SIZE] = 3;
  k = &g_case[3]; /* no leverage cap, big orders on a wild market: liquidated */
  k->name = "liquidation";
  k->f[0] = mk_feed(&g_m[2], "L", 1, 0);
  k->n_feeds = 1;
  k->o = d;
  k->o.leverage_cap = 0;
  k->o.cash = 5000;
  k->p[P_SEED] = 44, k->p[P_SMA] = 20, k->p[P_SIZE] = 40;
}

static void test_fresh_cases_cover_the_engine(void) {
  setup_cases();
  for (int c = 0; c < NCASE; c++) {
    qt_engine *e = NULL;
    qt_err err;
    ASSERT_TRUE(qt_engine_new(NULL, &e, &err) == QT_OK);
    ASSERT_TRUE(take(e, c, &g_ref[c]) == QT_OK);
    qt_engine_free(e);
  }
  /* the cases reach what the comparison is meant to cover */
  size_t sig = 0, exp = 0, rej = 0, can = 0, olog = 0;
  double fund = 0;
  for (int c = 0; c < NCASE; c++) {
    const qt_result *r = &g_ref[c].r;
    EXPECT_TRUE(r->n_trades > 0 && r->n_fills > 0 && r->n_orders > 0);
    sig += r->n_signals, exp += r->n_expired, rej += r->n_rejected, can += r->n_cancelled;
    olog += r->n_order_log;
    fund += fabs(r->funding_paid);
  }
  EXPECT_TRUE(sig > 0 && exp > 0 && rej > 0 && can > 0 && olog > 0 && fund > 0);
  EXPECT_EQ(g_ref[3].r.liquidated, 1);
  EXPECT_EQ(g_ref[0].r.liquidated, 0);
  EXPECT_TRUE(g_ref[1].r.n_trades > 4); /* past the initial capacity */
}

/* The cases in a mixed order on one engine, each after a different one:
 * every result equals its fresh run. */
static void test_reused_engine_equals_fresh(void) {
  static const int order[] = {3, 0, 1, 2, 3, 1, 0, 2, 0, 3};
  qt_engine *e = NULL;
  qt_err err;
  ASSERT_TRUE(qt_engine_new(NULL, &e, &err) == QT_OK);
  for (size_t j = 0; j < sizeof order / sizeof order[0]; j++) {
    int c = order[j];
    snap s;
    if (take(e, c, &s) != QT_OK) {
      EXPECT_TRUE(0);
      break;
    }
    expect_same(g_case[c].name, &s, &g_ref[c]);
    snap_free(&s);
  }
  qt_engine_free(e);
}

/* A run that fails in init leaves nothing behind for the next one. */
static int fail_init(void *st, const double *p, qt_ctx *cx, qt_err *err) {
  qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 1, QT_EXIT_SIGNAL);
  qt_ctx_signal(cx, 0, QT_LEG_NET, 1, 1);
  return qt_err_set(err, QT_EPARAM, "fail_init: refused");
}

static void test_failed_init_does_not_leak(void) {
  qt_strategy_vtbl bad = k_chaos;
  bad.init = fail_init;
  qt_engine *e = NULL;
  qt_err err;
  ASSERT_TRUE(qt_engine_new(NULL, &e, &err) == QT_OK);
  for (int c = 0; c < NCASE; c++) {
    rcase *k = &g_case[c];
    qt_result r;
    qt_engine_set_opts(e, &k->o);
    EXPECT_EQ(qt_engine_run(e, k->f, k->n_feeds, &bad, k->p, &r, &err), QT_EPARAM);
    snap s;
    ASSERT_TRUE(take(e, c, &s) == QT_OK);
    expect_same(k->name, &s, &g_ref[c]);
    snap_free(&s);
  }
  qt_engine_free(e);
}

static void test_cleanup(void) {
  for (int c = 0; c < NCASE; c++) snap_free(&g_ref[c]);
}

QT_TESTS(T(test_fresh_cases_cover_the_engine), T(test_reused_engine_equals_fresh),
         T(test_failed_init_does_not_leak), T(test_cleanup))
