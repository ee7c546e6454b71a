/* Backtest speed of every built-in strategy: bars/s per core with default
 * params on 1,000,000 synthetic 1-minute bars (qt_synth_generate, seed 1:
 * venue A with 8h funding and top-of-book quotes, venue B's bars and quotes
 * as instrument 1), feeds built as the CLI's market loader does (instrument
 * 0 is a perp because it has funding).  hedge_grid runs in hedge mode (it
 * declares QT_NEEDS_HEDGE), the others with the engine defaults.
 *
 * Per strategy: "cold" is the first run of a fresh engine (indicator columns
 * computed, buffers grown), "warm" the best of BENCH_REPEATS further runs of
 * the same engine (the optimizer's case).  Times are process CPU time
 * (CLOCK_PROCESS_CPUTIME_ID; the run is single-threaded), so the figure is
 * bars/s per core even on a shared machine.  trades_hash (FNV-1a over every
 * closed trade's fields) lets a change be checked for identical fills.
 * The last line gives the slowest strategy against the 5M bars/s/core target.
 * Environment: BENCH_BARS (default 1000000), BENCH_REPEATS (default 5),
 * BENCH_ONLY=name (one strategy). */
#include "bench.h"
#include "qtune/data.h"
#include "qtune/engine.h"
#include "qtune/strategies.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TARGET_BPS 5e6

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 1099511628211ULL;
  return h;
}

/* Hashes fields one by one: struct padding is not part of the result. */
static uint64_t trades_hash(const qt_result *r) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < r->n_trades; i++) {
    const qt_trade_rec *t = &r->trades[i];
    h = fnv(h, &t->inst, sizeof t->inst);
    h = fnv(h, &t->side, sizeof t->side);
    h = fnv(h, &t->leg, sizeof t->leg);
    h = fnv(h, &t->exit_reason, sizeof t->exit_reason);
    h = fnv(h, &t->entry_ms, sizeof t->entry_ms);
    h = fnv(h, &t->exit_ms, sizeof t->exit_ms);
    h = fnv(h, &t->qty, sizeof t->qty);
    h = fnv(h, &t->entry_price, sizeof t->entry_price);
    h = fnv(h, &t->exit_price, sizeof t->exit_price);
    h = fnv(h, &t->pnl, sizeof t->pnl);
    h = fnv(h, &t->fees, sizeof t->fees);
    h = fnv(h, &t->funding, sizeof t->funding);
  }
  return fnv(h, &r->final_equity, sizeof r->final_equity);
}

static double run_once(qt_engine *e, const qt_feed *f, int n_feeds, const qt_strategy_vtbl *s,
                       const double *p, qt_result *r) {
  qt_err err;
  double t = cpu_now();
  if (qt_engine_run(e, f, n_feeds, s, p, r, &err)) {
    fprintf(stderr, "bench_strategies: %s: %s\n", s->name, err.msg);
    exit(2);
  }
  return cpu_now() - t;
}

int main(void) {
  size_t n = getenv("BENCH_BARS") ? (size_t)atol(getenv("BENCH_BARS")) : 1000000;
  int repeats = getenv("BENCH_REPEATS") ? atoi(getenv("BENCH_REPEATS")) : 5;
  const char *only = getenv("BENCH_ONLY");
  if (repeats < 1) repeats = 1;
  if (n < 1440) n = 1440;

  qt_err err;
  qt_synth_opts so = qt_synth_opts_default();
  so.seed = 1;
  so.days = (int)((n + 1439) / 1440);
  qt_synth_market m;
  double t0 = bench_now();
  if (qt_synth_generate(&so, &m, &err)) {
    fprintf(stderr, "bench_strategies: synth: %s\n", err.msg);
    return 2;
  }
  fprintf(stderr, "bench_strategies: synthetic market of %d days in %.1f s\n", so.days,
          bench_now() - t0);
  qt_bars a = qt_bars_slice(&m.bars, 0, n), b = qt_bars_slice(&m.bars_b, 0, n);

  /* as src/cli/market.c: venue k, a perp when it has funding, default fees */
  qt_feed feeds[2];
  memset(feeds, 0, sizeof feeds);
  feeds[0].inst = qt_instrument_default("SYNTH");
  feeds[0].inst.kind = QT_INST_PERP;
  feeds[0].bars = &a;
  feeds[0].funding = m.funding.n ? &m.funding : NULL;
  feeds[0].quotes = m.quotes.n ? &m.quotes : NULL;
  feeds[1].inst = qt_instrument_default("SYNTH.B");
  feeds[1].inst.venue = 1;
  feeds[1].bars = &b;
  feeds[1].quotes = m.quotes_b.n ? &m.quotes_b : NULL;

  size_t n_strat;
  const qt_strategy_vtbl *const *all = qt_strategies_builtin(&n_strat);
  double worst = INFINITY;
  const char *worst_name = "";
  for (size_t k = 0; k < n_strat; k++) {
    const qt_strategy_vtbl *s = all[k];
    if (only && strcmp(only, s->name) != 0) continue;
    double p[128];
    if (s->n_params > sizeof p / sizeof p[0]) return 2;
    qt_strategy_defaults(s, p);
    int n_feeds = (s->needs & QT_NEEDS_SECOND) || s->n_instruments > 1 ? 2 : 1;
    qt_engine_opts o = qt_engine_opts_default();
    o.hedge_mode = (s->needs & QT_NEEDS_HEDGE) != 0;
    qt_engine *e = NULL;
    if (qt_engine_new(&o, &e, &err)) {
      fprintf(stderr, "bench_strategies: %s\n", err.msg);
      return 2;
    }
    qt_result r;
    double cold = run_once(e, feeds, n_feeds, s, p, &r);
    size_t cold_trades = r.n_trades;
    uint64_t cold_hash = trades_hash(&r);
    double best = INFINITY, sum = 0;
    for (int i = 0; i < repeats; i++) {
      double t = run_once(e, feeds, n_feeds, s, p, &r);
      sum += t;
      if (t < best) best = t;
    }
    uint64_t h = trades_hash(&r);
    if (h != cold_hash || r.n_trades != cold_trades) {
      fprintf(stderr, "bench_strategies: %s: a warm run differs from the cold one\n", s->name);
      return 2;
    }
    double bps = (double)n / best;
    printf("{\"bench\":\"strategy_%s\",\"strategy\":\"%s\",\"bars\":%zu,\"feeds\":%d,"
           "\"hedge_mode\":%d,\"repeats\":%d,\"cold_cpu_seconds\":%.6f,"
           "\"cold_bars_per_s\":%.0f,\"best_cpu_seconds\":%.6f,\"mean_cpu_seconds\":%.6f,"
           "\"bars_per_s_per_core\":%.0f,\"trades\":%zu,\"final_equity\":%.10g,"
           "\"trades_hash\":\"%016llx\"}\n",
           s->name, s->name, n, n_feeds, o.hedge_mode, repeats, cold, (double)n / cold, best,
           sum / repeats, bps, r.n_trades, r.final_equity, (unsigned long long)h);
    fflush(stdout);
    if (bps < worst) {
      worst = bps;
      worst_name = s->name;
    }
    qt_engine_free(e);
  }
  if (isfinite(worst))
    printf("{\"bench\":\"strategies_slowest\",\"strategy\":\"%s\",\"bars_per_s_per_core\":%.0f,"
           "\"target\":%.0f,\"meets_target\":%s}\n",
           worst_name, worst, TARGET_BPS, worst >= TARGET_BPS ? "true" : "false");
  qt_synth_market_fini(&m);
  return 0;
}
