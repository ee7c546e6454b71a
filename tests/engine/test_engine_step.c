/* The step API (qt_engine_begin / step / peek / end), which the paper
 * runner drives one bar at a time: for every built-in single-instrument
 * strategy at its defaults, stepping through a run gives what
 * qt_engine_run gives, bit for bit (every counter, the equity curve, every
 * trade and order-log record); a peek part-way equals a run over that
 * prefix without the close at the end; and the order gate rejects what it
 * is told to, counted in n_rejected. */
#include "qt_test.h"
#include "qtune/engine.h"
#include "qtune/strategies.h"

#define NB 2000

static int64_t g_ts[NB];
static double g_o[NB], g_h[NB], g_l[NB], g_c[NB], g_v[NB];
static qt_bars g_bars;

static void mk_bars(uint64_t seed) {
  qt_rng r;
  qt_rng_seed(&r, seed);
  double p = 100;
  for (size_t i = 0; i < NB; i++) {
    double o = p, c = o * (1 + 0.01 * qt_rng_normal(&r));
    g_ts[i] = 1700000000000 + (int64_t)i * 60000;
    g_o[i] = o, g_c[i] = c;
    g_h[i] = fmax(o, c) * (1 + 0.004 * qt_rng_uniform(&r));
    g_l[i] = fmin(o, c) * (1 - 0.004 * qt_rng_uniform(&r));
    g_v[i] = 10 + (double)(i % 7);
    p = c;
  }
  g_bars = (qt_bars){.n = NB, .interval_ms = 60000, .ts_ms = g_ts, .open = g_o, .high = g_h,
                     .low = g_l, .close = g_c, .volume = g_v};
}

static int same_result(const qt_result *a, const qt_result *b, size_t nb) {
  if (a->n_trades != b->n_trades || a->n_fills != b->n_fills || a->n_orders != b->n_orders ||
      a->n_rejected != b->n_rejected || a->n_cancelled != b->n_cancelled ||
      a->n_signals != b->n_signals || a->n_order_log != b->n_order_log ||
      a->liquidated != b->liquidated)
    return 0;
  if (memcmp(&a->fees_paid, &b->fees_paid, sizeof(double)) ||
      memcmp(&a->final_equity, &b->final_equity, sizeof(double)))
    return 0;
  if (memcmp(a->equity, b->equity, nb * sizeof(double)) ||
      memcmp(a->ts_ms, b->ts_ms, nb * sizeof(int64_t)))
    return 0;
  if (a->n_trades && memcmp(a->trades, b->trades, a->n_trades * sizeof *a->trades)) return 0;
  if (a->n_order_log && memcmp(a->order_log, b->order_log, a->n_order_log * sizeof *a->order_log))
    return 0;
  return 1;
}

static void stepping_equals_run(void) {
  mk_bars(7);
  size_t n_s = 0, tried = 0;
  const qt_strategy_vtbl *const *all = qt_strategies_builtin(&n_s);
  for (size_t k = 0; k < n_s; k++) {
    const qt_strategy_vtbl *s = all[k];
    if (s->n_instruments > 1 || (s->needs & (QT_NEEDS_SECOND | QT_NEEDS_HEDGE))) continue;
    double p[64];
    qt_strategy_defaults(s, p);
    qt_feed f = {.inst = qt_instrument_default("TESTUSDT"), .bars = &g_bars};
    qt_engine_opts o = qt_engine_opts_default();
    o.from = 50;
    o.log_orders = 1;
    qt_engine *e1 = NULL, *e2 = NULL;
    qt_err err = {0};
    ASSERT_TRUE(qt_engine_new(&o, &e1, &err) == 0 && qt_engine_new(&o, &e2, &err) == 0);
    qt_result ra, rb;
    int rc = qt_engine_run(e1, &f, 1, s, p, &ra, &err);
    if (rc) {
      fprintf(stderr, "  %s: %s\n", s->name, err.msg);
      EXPECT_EQ(rc, 0);
    }
    EXPECT_EQ(qt_engine_begin(e2, &f, 1, s, p, &err), 0);
    size_t steps = 0;
    while ((rc = qt_engine_step(e2, &err)) == QT_OK) steps++;
    EXPECT_EQ(rc, QT_DONE);
    EXPECT_EQ(steps, NB - 50);
    EXPECT_EQ(qt_engine_end(e2, &rb, &err), 0);
    EXPECT_EQ(rb.n_bars, ra.n_bars);
    if (!same_result(&ra, &rb, ra.n_bars)) QT_TEST_FAIL_("%s: stepped run differs", s->name);
    EXPECT_EQ(qt_engine_step(e2, &err), QT_ESTATE); /* ended */
    tried++;
    qt_engine_free(e1);
    qt_engine_free(e2);
  }
  EXPECT_TRUE(tried >= 3);
}

/* Part-way: what a peek shows after m steps is a run over [from, from+m)
 * without the close at the end. */
static void peek_equals_prefix_run(void) {
  mk_bars(11);
  const qt_strategy_vtbl *s = qt_strategy_find("sma_cross");
  ASSERT_TRUE(s != NULL);
  double p[8];
  qt_strategy_defaults(s, p);
  qt_feed f = {.inst = qt_instrument_default("TESTUSDT"), .bars = &g_bars};
  qt_engine_opts o = qt_engine_opts_default();
  o.log_orders = 1;
  qt_engine *e1 = NULL, *e2 = NULL;
  qt_err err = {0};
  ASSERT_TRUE(qt_engine_new(&o, &e1, &err) == 0);
  EXPECT_EQ(qt_engine_begin(e1, &f, 1, s, p, &err), 0);
  qt_result peek0;
  qt_engine_peek(e1, &peek0);
  EXPECT_EQ(peek0.n_bars, 0);
  EXPECT_DBL_EQ(peek0.final_equity, o.cash);
  size_t m = 1234;
  for (size_t i = 0; i < m; i++) EXPECT_EQ(qt_engine_step(e1, &err), 0);
  qt_result rp, rr;
  qt_engine_peek(e1, &rp);
  qt_engine_opts o2 = o;
  o2.to = m;
  o2.close_at_end = 0;
  ASSERT_TRUE(qt_engine_new(&o2, &e2, &err) == 0);
  EXPECT_EQ(qt_engine_run(e2, &f, 1, s, p, &rr, &err), 0);
  EXPECT_EQ(rp.n_bars, m);
  EXPECT_TRUE(rr.n_trades > 3);
  EXPECT_TRUE(same_result(&rp, &rr, m));
  qt_engine_free(e1);
  qt_engine_free(e2);
}

typedef struct gate_ctx {
  int calls, closing;
  int64_t refuse_from_ms; /* refuse every order at or after this time */
} gate_ctx;

static int gate(void *u, const qt_ctx *cx, const qt_order_req *r, int closing, double *qty,
                double price) {
  gate_ctx *g = u;
  g->calls++;
  if (closing) g->closing++;
  *qty *= 0.5; /* every order cut to half */
  return qt_ctx_now(cx) >= g->refuse_from_ms;
}

static void gate_rejects(void) {
  mk_bars(13);
  const qt_strategy_vtbl *s = qt_strategy_find("sma_cross");
  double p[8];
  qt_strategy_defaults(s, p);
  qt_feed f = {.inst = qt_instrument_default("TESTUSDT"), .bars = &g_bars};
  qt_engine_opts o = qt_engine_opts_default();
  gate_ctx g = {0, 0, g_ts[1000]};
  o.order_gate = gate;
  o.order_gate_ctx = &g;
  o.close_at_end = 0;
  qt_engine *e = NULL;
  qt_err err = {0};
  ASSERT_TRUE(qt_engine_new(&o, &e, &err) == 0);
  qt_result r;
  EXPECT_EQ(qt_engine_run(e, &f, 1, s, p, &r, &err), 0);
  EXPECT_TRUE(g.calls > 0);
  EXPECT_TRUE(r.n_rejected > 0);
  EXPECT_EQ(r.n_orders + r.n_rejected, (size_t)g.calls);
  EXPECT_TRUE(g.closing > 0); /* sma_cross closes before it reverses */
  for (size_t k = 0; k < r.n_trades; k++) EXPECT_TRUE(r.trades[k].entry_ms <= g_ts[1001]);
  /* the cut: a run without the gate trades twice the quantity */
  qt_engine_opts o2 = qt_engine_opts_default();
  o2.close_at_end = 0;
  qt_engine *e2 = NULL;
  ASSERT_TRUE(qt_engine_new(&o2, &e2, &err) == 0);
  qt_result r2;
  EXPECT_EQ(qt_engine_run(e2, &f, 1, s, p, &r2, &err), 0);
  ASSERT_TRUE(r2.n_trades > 0 && r.n_trades > 0);
  EXPECT_NEAR(r.trades[0].qty * 2, r2.trades[0].qty, 1e-9);
  qt_engine_free(e2);
  qt_engine_free(e);
}

static void step_without_begin(void) {
  qt_engine *e = NULL;
  qt_err err = {0};
  ASSERT_TRUE(qt_engine_new(NULL, &e, &err) == 0);
  EXPECT_EQ(qt_engine_step(e, &err), QT_ESTATE);
  EXPECT_CONTAINS(err.msg, "qt_engine_begin");
  qt_result r;
  EXPECT_EQ(qt_engine_end(e, &r, &err), QT_ESTATE);
  EXPECT_EQ(qt_engine_open_orders(e, NULL, 0), 0);
  qt_engine_free(e);
}


/* A growing series (qt_engine_reserve + qt_engine_extend, the paper
 * runner's stream): bars appended one at a time to columns with room,
 * each followed by extend and one step, give for every built-in
 * single-instrument strategy what qt_engine_run gives over the final bars
 * without the close at the end, bit for bit; the indicator columns it used
 * equal the batch columns of the whole series.  Extending without a
 * reserve, past it, or after the columns moved is refused. */
static void growing_series_equals_run(void) {
  mk_bars(11);
  static int64_t ts[NB];
  static double o_[NB], h[NB], l[NB], c[NB], v[NB];
  size_t n_s = 0, tried = 0;
  const qt_strategy_vtbl *const *all = qt_strategies_builtin(&n_s);
  for (size_t k = 0; k < n_s; k++) {
    const qt_strategy_vtbl *s = all[k];
    if (s->n_instruments > 1 || (s->needs & (QT_NEEDS_SECOND | QT_NEEDS_HEDGE))) continue;
    double p[64];
    qt_strategy_defaults(s, p);
    qt_bars gb = {.n = 1, .interval_ms = 60000, .ts_ms = ts, .open = o_, .high = h, .low = l,
                  .close = c, .volume = v};
    memcpy(ts, g_ts, sizeof ts), memcpy(o_, g_o, sizeof o_), memcpy(h, g_h, sizeof h);
    memcpy(l, g_l, sizeof l), memcpy(c, g_c, sizeof c), memcpy(v, g_v, sizeof v);
    qt_feed fa = {.inst = qt_instrument_default("TESTUSDT"), .bars = &g_bars};
    qt_feed fg = {.inst = qt_instrument_default("TESTUSDT"), .bars = &gb};
    qt_engine_opts o = qt_engine_opts_default();
    o.log_orders = 1;
    o.close_at_end = 0;
    qt_engine *e1 = NULL, *e2 = NULL;
    qt_err err = {0};
    ASSERT_TRUE(qt_engine_new(&o, &e1, &err) == 0 && qt_engine_new(&o, &e2, &err) == 0);
    qt_result ra, rb;
    EXPECT_EQ(qt_engine_run(e1, &fa, 1, s, p, &ra, &err), 0);
    qt_engine_reserve(e2, NB);
    int rc = qt_engine_begin(e2, &fg, 1, s, p, &err);
    EXPECT_EQ(rc, 0);
    for (size_t i = 0; i < NB && !rc; i++) {
      if (i) {
        gb.n = i + 1;
        rc = qt_engine_extend(e2, &err);
      }
      if (!rc) rc = qt_engine_step(e2, &err);
      if (!rc && qt_engine_step(e2, &err) != QT_DONE) rc = -100; /* nothing past the new bar */
    }
    if (rc) fprintf(stderr, "  %s: %d %s\n", s->name, rc, err.msg);
    EXPECT_EQ(rc, 0);
    qt_engine_peek(e2, &rb);
    EXPECT_EQ(rb.n_bars, (size_t)NB);
    int same = same_result(&ra, &rb, NB);
    if (!same) fprintf(stderr, "  %s: the growing series differs from the run\n", s->name);
    EXPECT_TRUE(same);
    qt_ind_used ua[8], ub[8];
    size_t na = qt_engine_indicators_used(e1, ua, 8), nb = qt_engine_indicators_used(e2, ub, 8);
    EXPECT_EQ(na, nb);
    for (size_t j = 0; j < na && j < nb && j < 8; j++)
      for (int q = 0; q < ua[j].n_out; q++)
        EXPECT_TRUE(ub[j].n == NB && !memcmp(ua[j].cols[q], ub[j].cols[q], NB * sizeof(double)));
    qt_engine_free(e1);
    qt_engine_free(e2);
    tried++;
  }
  EXPECT_TRUE(tried >= 5);
  /* refusals: sma_cross's columns without a reserve, past the reserve, moved columns */
  const qt_strategy_vtbl *sc = qt_strategy_find("sma_cross");
  ASSERT_TRUE(sc != NULL);
  double p[64];
  qt_strategy_defaults(sc, p);
  qt_bars gb = {.n = 100, .interval_ms = 60000, .ts_ms = ts, .open = o_, .high = h, .low = l,
                .close = c, .volume = v};
  qt_feed fg = {.inst = qt_instrument_default("TESTUSDT"), .bars = &gb};
  qt_engine_opts o = qt_engine_opts_default();
  o.close_at_end = 0;
  qt_engine *e = NULL;
  qt_err err = {0};
  ASSERT_TRUE(qt_engine_new(&o, &e, &err) == 0);
  EXPECT_EQ(qt_engine_extend(e, &err), QT_ESTATE); /* no run */
  EXPECT_EQ(qt_engine_begin(e, &fg, 1, sc, p, &err), 0);
  gb.n = 101;
  EXPECT_EQ(qt_engine_extend(e, &err), QT_ESTATE); /* nothing reserved */
  gb.n = 100;
  qt_engine_reserve(e, 200);
  EXPECT_EQ(qt_engine_begin(e, &fg, 1, sc, p, &err), 0);
  gb.n = 201;
  EXPECT_EQ(qt_engine_extend(e, &err), QT_ESTATE); /* past the reserve */
  EXPECT_CONTAINS(err.msg, "reserved");
  gb.n = 150;
  qt_alloc_fail_at(1, 1); /* the equity buffer's growth fails: nothing moves */
  EXPECT_EQ(qt_engine_extend(e, &err), QT_ENOMEM);
  qt_alloc_fail_at(0, 0);
  EXPECT_EQ(qt_engine_extend(e, &err), 0);
  gb.close = g_c; /* a realloc moved the column */
  gb.n = 151;
  EXPECT_EQ(qt_engine_extend(e, &err), QT_ESTATE);
  EXPECT_CONTAINS(err.msg, "moved");
  /* a stream column's state cannot be allocated: begin fails with the message */
  qt_engine *e3 = NULL;
  ASSERT_TRUE(qt_engine_new(&o, &e3, &err) == 0);
  qt_engine_reserve(e3, 400);
  gb.close = c, gb.n = 100;
  int failed_begin = 0;
  for (long nth = 1; nth <= 8; nth++) { /* each allocation of the begin in turn */
    qt_alloc_fail_at(nth, 0);
    int rc = qt_engine_begin(e3, &fg, 1, sc, p, &err);
    qt_alloc_fail_at(0, 0);
    if (rc == QT_ENOMEM) failed_begin++;
    else EXPECT_EQ(rc, 0);
  }
  EXPECT_TRUE(failed_begin >= 1);
  EXPECT_EQ(qt_engine_begin(e3, &fg, 1, sc, p, &err), 0);
  gb.n = 101;
  EXPECT_EQ(qt_engine_extend(e3, &err), 0);
  qt_engine_free(e3);
  qt_engine_free(e);
}

QT_TESTS(T(stepping_equals_run), T(growing_series_equals_run), T(peek_equals_prefix_run), T(gate_rejects), T(step_without_begin))
