/* qt_metrics_stream: metrics of a run at its checkpoints, each bar read
 * once, equal bit for bit to qt_metrics_compute on the same results, at
 * chunk sizes 1, 2, 3, 7, 13 and everything; a reset or a shorter result
 * starts over. */
#include "qt_test.h"
#include "qtune/engine.h"
#include "qtune/metrics.h"
#include "qtune/strategies.h"

#include <math.h>
#include <string.h>

#define NB 400
static int64_t g_ts[NB];
static double g_o[NB], g_h[NB], g_l[NB], g_c[NB], g_v[NB];
static qt_bars g_b;

static void mk_bars(void) {
  qt_rng r;
  qt_rng_seed(&r, 11);
  double p = 100;
  for (size_t i = 0; i < NB; i++) {
    double o = p, c = o * (1 + 0.012 * qt_rng_normal(&r));
    /* hourly bars with a gap: the daily figures and durations see time */
    g_ts[i] = (int64_t)i * 3600000 + (i >= 200 ? 86400000 : 0);
    g_o[i] = o, g_c[i] = c, g_h[i] = fmax(o, c) * 1.003, g_l[i] = fmin(o, c) * 0.997;
    g_v[i] = 5;
    p = c;
  }
  g_b = (qt_bars){.n = NB, .interval_ms = 3600000, .ts_ms = g_ts, .open = g_o, .high = g_h,
                  .low = g_l, .close = g_c, .volume = g_v};
}

typedef struct cmp_ctx {
  qt_metrics_stream *ms;
  size_t calls, mismatches;
} cmp_ctx;

static size_t diff(const qt_metrics *a, const qt_metrics *b) {
  size_t n = 0;
  for (int k = 0; k < QT_METRICS_N; k++) {
    double x = qt_metrics_get(a, k), y = qt_metrics_get(b, k);
    if (!(x == y || (isnan(x) && isnan(y)))) {
      fprintf(stderr, "  %s: %.17g vs %.17g\n", qt_metrics_name(k), x, y);
      n++;
    }
  }
  return n;
}

static int on_ck(void *ud, const qt_result *r) {
  cmp_ctx *c = ud;
  qt_metrics a, b;
  qt_err e;
  if (qt_metrics_stream_compute(c->ms, r, g_c, NULL, &a, &e) ||
      qt_metrics_compute(r, g_c, NULL, &b, &e))
    c->mismatches++;
  else c->mismatches += diff(&a, &b);
  c->calls++;
  return 0;
}

static void stream_equals_batch(void) {
  mk_bars();
  const qt_strategy_vtbl *s = qt_strategy_find("sma_cross");
  ASSERT_TRUE(s);
  double p[32];
  qt_strategy_defaults(s, p);
  qt_feed f = {0};
  f.bars = &g_b;
  f.inst = qt_instrument_default("T");
  qt_engine *e;
  qt_err err;
  ASSERT_TRUE(qt_engine_new(NULL, &e, &err) == 0);
  qt_metrics_stream *ms;
  ASSERT_TRUE(qt_metrics_stream_new(&ms, &err) == 0);
  qt_result r0;
  ASSERT_TRUE(qt_engine_run(e, &f, 1, s, p, &r0, &err) == 0);
  ASSERT_TRUE(r0.n_trades > 2); /* the trade statistics are exercised too */
  qt_metrics batch;
  ASSERT_TRUE(qt_metrics_compute(&r0, g_c, NULL, &batch, &err) == 0);
  static const size_t chunks[] = {1, 2, 3, 7, 13, NB};
  for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
    cmp_ctx c = {ms, 0, 0};
    qt_metrics_stream_reset(ms);
    qt_engine_set_checkpoint(e, chunks[i], on_ck, &c);
    qt_result r;
    ASSERT_TRUE(qt_engine_run(e, &f, 1, s, p, &r, &err) == 0);
    EXPECT_EQ(c.calls, chunks[i] < NB ? (NB - 1) / chunks[i] : 0);
    EXPECT_EQ(c.mismatches, 0);
    qt_metrics last;
    ASSERT_TRUE(qt_metrics_stream_compute(ms, &r, g_c, NULL, &last, &err) == 0);
    EXPECT_EQ(diff(&last, &batch), 0); /* the whole run after the checkpoints */
  }
  /* a shorter result than the bars fed (a new run without reset) starts over */
  qt_result half = r0;
  half.n_bars = NB / 2;
  half.final_equity = r0.equity[NB / 2 - 1];
  half.n_trades = 1;
  qt_metrics a, b;
  ASSERT_TRUE(qt_metrics_stream_compute(ms, &half, g_c, NULL, &a, &err) == 0);
  ASSERT_TRUE(qt_metrics_compute(&half, g_c, NULL, &b, &err) == 0);
  EXPECT_EQ(diff(&a, &b), 0);
  EXPECT_EQ(qt_metrics_stream_compute(NULL, &half, g_c, NULL, &a, &err), QT_EINVAL);
  qt_metrics_stream_free(ms);
  qt_metrics_stream_free(NULL);
  qt_engine_free(e);
}

QT_TESTS(T(stream_equals_batch))
