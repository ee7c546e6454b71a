/* Indicator throughput (values per second, one value = one bar in, all
 * outputs out) for EMA, ATR, ADX and RSI in batch and streaming form on
 * 1,000,000 synthetic bars, and qt_metrics_compute on 1,000,000 equity
 * points with 10,000 trades.  Best of 5 runs; one JSON line each. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "qtune/indicators.h"
#include "qtune/metrics.h"

enum { N = 1000000, REPS = 5 };

static double *h, *l, *c, *o0, *o1, *o2, *o3;
static volatile double sink;

static void emit(const char *ind, const char *form, double best) {
  printf("{\"bench\":\"indicator\",\"indicator\":\"%s\",\"form\":\"%s\",\"bars\":%d,"
         "\"seconds\":%.6f,\"values_per_s\":%.0f}\n",
         ind, form, N, best, N / best);
}

#define TIME(best, body)                       \
  do {                                         \
    best = 1e30;                               \
    for (int rep_ = 0; rep_ < REPS; rep_++) {  \
      double t0_ = bench_now();                \
      body;                                    \
      double dt_ = bench_now() - t0_;          \
      if (dt_ < best) best = dt_;              \
    }                                          \
  } while (0)

int main(void) {
  h = malloc(N * sizeof(double)), l = malloc(N * sizeof(double)), c = malloc(N * sizeof(double));
  o0 = malloc(N * sizeof(double)), o1 = malloc(N * sizeof(double));
  o2 = malloc(N * sizeof(double)), o3 = malloc(N * sizeof(double));
  qt_rng r;
  qt_rng_seed(&r, 7);
  double p = 100;
  for (size_t i = 0; i < N; i++) {
    p *= exp(0.001 * qt_rng_normal(&r));
    c[i] = p;
    h[i] = p * (1 + 0.001 * fabs(qt_rng_normal(&r)));
    l[i] = p * (1 - 0.001 * fabs(qt_rng_normal(&r)));
  }
  double best;

  TIME(best, qt_ind_ema(c, N, 20, o0, NULL); sink = o0[N - 1]);
  emit("ema20", "batch", best);
  TIME(best, {
    qt_ind_ema_state s;
    qt_ind_ema_init(&s, 20, 0, NULL);
    double acc = 0;
    for (size_t i = 0; i < N; i++) acc += qt_ind_ema_update(&s, c[i]);
    sink = acc;
  });
  emit("ema20", "stream", best);

  TIME(best, qt_ind_atr(h, l, c, N, 14, o0, o1, NULL, NULL, NULL); sink = o0[N - 1]);
  emit("atr14", "batch", best);
  TIME(best, {
    qt_ind_atr_state s;
    qt_ind_atr_init(&s, 14, NULL);
    double acc = 0;
    for (size_t i = 0; i < N; i++) acc += qt_ind_atr_update(&s, h[i], l[i], c[i]);
    sink = acc;
  });
  emit("atr14", "stream", best);

  TIME(best, qt_ind_adx(h, l, c, N, 14, o0, o1, o2, o3, NULL); sink = o0[N - 1]);
  emit("adx14", "batch", best);
  TIME(best, {
    qt_ind_adx_state s;
    qt_ind_adx_init(&s, 14, NULL);
    double acc = 0;
    for (size_t i = 0; i < N; i++) acc += qt_ind_adx_update(&s, h[i], l[i], c[i]);
    sink = acc;
  });
  emit("adx14", "stream", best);

  TIME(best, qt_ind_rsi(c, N, 14, o0, NULL); sink = o0[N - 1]);
  emit("rsi14", "batch", best);
  TIME(best, {
    qt_ind_rsi_state s;
    qt_ind_rsi_init(&s, 14, NULL);
    double acc = 0;
    for (size_t i = 0; i < N; i++) acc += qt_ind_rsi_update(&s, c[i]);
    sink = acc;
  });
  emit("rsi14", "stream", best);

  /* metrics: the close series as an equity curve, 10,000 trades */
  enum { NT = 10000 };
  qt_trade_rec *tr = calloc(NT, sizeof *tr);
  for (size_t i = 0; i < NT; i++) tr[i].pnl = 10 * qt_rng_normal(&r);
  for (size_t i = 0; i < N; i++) o1[i] = (i % 3) ? 1.0 : 0.0;
  qt_result res;
  memset(&res, 0, sizeof res);
  res.n_bars = N;
  res.equity = c;
  res.exposure = o1;
  res.trades = tr;
  res.n_trades = NT;
  res.start_cash = 100;
  res.final_equity = c[N - 1];
  res.interval_ms = 60000;
  qt_metrics m;
  TIME(best, qt_metrics_compute(&res, c, NULL, &m, NULL); sink = m.sharpe);
  printf("{\"bench\":\"metrics_compute\",\"equity_points\":%d,\"trades\":%d,\"seconds\":%.6f,"
         "\"points_per_s\":%.0f}\n",
         N, NT, best, N / best);
  free(tr);
  free(h), free(l), free(c), free(o0), free(o1), free(o2), free(o3);
  return 0;
}
