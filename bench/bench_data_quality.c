/* Speed of verify, resample, bars-from-trades and synth on a synthetic
 * 60-day market (86,400 1m bars, ~1.5M trades).  One JSON line each. */
#include "bench.h"
#include "qtune/data.h"

#include <stdio.h>

static qt_verify_report rep;

int main(void) {
  qt_synth_opts o = qt_synth_opts_default();
  o.days = 60;
  qt_synth_market m;
  double t0 = bench_now();
  if (qt_synth_generate(&o, &m, NULL) != 0) return 1;
  double t1 = bench_now();
  printf("{\"bench\":\"synth\",\"days\":%d,\"bars\":%zu,\"trades\":%zu,\"seconds\":%.4f}\n", o.days,
         m.bars.n, m.trades.n, t1 - t0);

  qt_verify_opts vo = qt_verify_opts_default();
  int reps = 20;
  t0 = bench_now();
  for (int r = 0; r < reps; r++) qt_verify_bars(&m.bars, &vo, &rep, NULL);
  t1 = bench_now();
  printf("{\"bench\":\"verify_bars\",\"rows\":%zu,\"rows_per_s\":%.0f}\n", m.bars.n,
         (double)m.bars.n * reps / (t1 - t0));
  t0 = bench_now();
  for (int r = 0; r < reps; r++) qt_verify_trades(&m.trades, &vo, &rep, NULL);
  t1 = bench_now();
  printf("{\"bench\":\"verify_trades\",\"rows\":%zu,\"rows_per_s\":%.0f}\n", m.trades.n,
         (double)m.trades.n * reps / (t1 - t0));

  qt_resample_opts ro = qt_resample_opts_default();
  t0 = bench_now();
  for (int r = 0; r < reps; r++) {
    qt_bars h;
    qt_resample_bars(&m.bars, &ro, &h, NULL, NULL);
    qt_bars_fini(&h);
  }
  t1 = bench_now();
  printf("{\"bench\":\"resample_1m_1h\",\"rows\":%zu,\"rows_per_s\":%.0f}\n", m.bars.n,
         (double)m.bars.n * reps / (t1 - t0));

  qt_trade_bars_opts to = qt_trade_bars_opts_default();
  t0 = bench_now();
  for (int r = 0; r < reps; r++) {
    qt_bars b;
    qt_bars_from_trades(&m.trades, &to, &b, NULL);
    qt_bars_fini(&b);
  }
  t1 = bench_now();
  printf("{\"bench\":\"bars_from_trades_1m\",\"rows\":%zu,\"rows_per_s\":%.0f}\n", m.trades.n,
         (double)m.trades.n * reps / (t1 - t0));
  qt_synth_market_fini(&m);
  return 0;
}
