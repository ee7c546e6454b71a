/* Checkpoints of a run (qt_engine_set_checkpoint): called after every K
 * simulated bars but not on the last, with the result so far; a non-zero
 * answer stops the run at once with QT_PRUNED; a run after a stopped one is
 * bit for bit a fresh run; without a checkpoint nothing changes. */
#include "qt_test.h"
#include "qtune/engine.h"
#include "qtune/strategies.h"

#include <math.h>
#include <string.h>

#define NB 1000
static int64_t g_ts[NB];
static double g_o[NB], g_h[NB], g_l[NB], g_c[NB], g_v[NB];
static qt_bars g_b;

static void mk_bars(void) {
  qt_rng r;
  qt_rng_seed(&r, 7);
  double p = 100;
  for (size_t i = 0; i < NB; i++) {
    double o = p, c = o * (1 + 0.01 * qt_rng_normal(&r));
    g_ts[i] = (int64_t)i * 60000;
    g_o[i] = o, g_c[i] = c, g_h[i] = fmax(o, c) * 1.002, g_l[i] = fmin(o, c) * 0.998;
    g_v[i] = 10;
    p = c;
  }
  g_b = (qt_bars){.n = NB, .interval_ms = 60000, .ts_ms = g_ts, .open = g_o, .high = g_h,
                  .low = g_l, .close = g_c, .volume = g_v};
}

typedef struct ck {
  size_t calls, stop_at;
  size_t seen[32];
  double eq[32];
} ck;

static int on_ck(void *ud, const qt_result *r) {
  ck *c = ud;
  if (c->calls < 32) {
    c->seen[c->calls] = r->n_bars;
    c->eq[c->calls] = r->equity[r->n_bars - 1];
  }
  c->calls++;
  return c->stop_at && c->calls == c->stop_at;
}

static void checkpoints(void) {
  mk_bars();
  const qt_strategy_vtbl *s = qt_strategy_find("sma_cross");
  ASSERT_TRUE(s);
  double p[32];
  qt_strategy_defaults(s, p);
  qt_feed f = {0};
  f.bars = &g_b;
  f.inst = qt_instrument_default("T");
  qt_engine_opts eo = qt_engine_opts_default();
  eo.from = 100; /* 900 simulated bars */
  qt_engine *e;
  qt_err err;
  ASSERT_TRUE(qt_engine_new(&eo, &e, &err) == 0);
  qt_result r0;
  ASSERT_TRUE(qt_engine_run(e, &f, 1, s, p, &r0, &err) == 0);
  double final0 = r0.final_equity;
  size_t trades0 = r0.n_trades;
  double eq_at[901];
  memcpy(eq_at, r0.equity, 900 * sizeof *eq_at);
  /* every 100 bars: after 100, 200, ..., 800 (900 is the last: no call) */
  ck c = {0};
  qt_engine_set_checkpoint(e, 100, on_ck, &c);
  qt_result r1;
  ASSERT_TRUE(qt_engine_run(e, &f, 1, s, p, &r1, &err) == 0);
  EXPECT_EQ(c.calls, 8);
  for (size_t k = 0; k < 8; k++) {
    EXPECT_EQ(c.seen[k], (k + 1) * 100);
    EXPECT_DBL_EQ(c.eq[k], eq_at[(k + 1) * 100 - 1]); /* the equity so far is the run's */
  }
  EXPECT_DBL_EQ(r1.final_equity, final0);
  EXPECT_EQ(r1.n_trades, trades0);
  /* stop at the 3rd checkpoint: QT_PRUNED, nothing borrowed */
  ck c2 = {0};
  c2.stop_at = 3;
  qt_engine_set_checkpoint(e, 100, on_ck, &c2);
  qt_result r2;
  EXPECT_EQ(qt_engine_run(e, &f, 1, s, p, &r2, &err), QT_PRUNED);
  EXPECT_EQ(c2.calls, 3);
  EXPECT_EQ(r2.n_bars, 0);
  /* then off again: the same run as the first */
  qt_engine_set_checkpoint(e, 0, NULL, NULL);
  qt_result r3;
  ASSERT_TRUE(qt_engine_run(e, &f, 1, s, p, &r3, &err) == 0);
  EXPECT_DBL_EQ(r3.final_equity, final0);
  EXPECT_EQ(r3.n_trades, trades0);
  EXPECT_EQ(c2.calls, 3);
  qt_engine_free(e);
}

QT_TESTS(T(checkpoints))
