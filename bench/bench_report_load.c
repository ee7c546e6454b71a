/* Backtest report load time: sma_cross on 1,000,000 synthetic 1-minute bars
 * (a seeded random walk) written as the HTML report twice, down-sampled for
 * display (the defaults: 1000 candles, 2000 equity and drawdown points) and
 * undecimated (every bar), and the report of the walk's first 10,000 bars
 * (the peer: what any page costs on this machine), each opened in Debian's
 * headless Chromium (tests/browser/inspect_page.js).  The figure is the
 * page's own time from navigation start to its charts painted
 * (performance.now() two frames after the last setOption), and the renderer
 * main thread's CPU time until then (a trace's thread time: on this shared
 * machine the wall time mostly measures the other processes), each the
 * best of BENCH_REPEATS (default 2) alternating runs, with the ratios
 * undecimated / decimated and decimated / 10,000 bars measured in the same
 * run.
 * Environment: BENCH_BARS (default 1000000), BENCH_REPEATS, NODE (default
 * node), BENCH_FULL=0 skips the undecimated page, BENCH_BASELINE=FILE.html
 * adds a page written elsewhere (e.g. by an older build) to the same rounds.
 * Prints one JSON line. */
#include "bench.h"
#include "qtune/engine.h"
#include "qtune/metrics.h"
#include "qtune/report.h"
#include "qtune/strategies.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int make_walk(qt_bars *b, size_t n, uint64_t seed) {
  qt_err err;
  if (qt_bars_alloc(b, n, &err)) return -1;
  qt_rng r;
  qt_rng_seed(&r, seed);
  b->interval_ms = 60000;
  double p = 100.0;
  int64_t t0 = 1767225600000LL; /* 2026-01-01 */
  for (size_t i = 0; i < n; i++) {
    double o = p, c = o * exp(0.0008 * qt_rng_normal(&r));
    b->ts_ms[i] = t0 + (int64_t)i * 60000;
    b->open[i] = o;
    b->high[i] = fmax(o, c) * (1 + 0.0004 * qt_rng_uniform(&r));
    b->low[i] = fmin(o, c) * (1 - 0.0004 * qt_rng_uniform(&r));
    b->close[i] = c;
    b->volume[i] = 1 + 10 * qt_rng_uniform(&r);
    b->quote_volume[i] = b->volume[i] * c;
    p = c;
  }
  return 0;
}

static int write_report(const char *path, const qt_report_backtest *bt, size_t max_bars,
                        size_t max_candles) {
  qt_report_opts o = qt_report_opts_default();
  o.max_bars = max_bars;
  o.max_candles = max_candles;
  qt_err err;
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  int rc = qt_report_backtest_html(bt, &o, f, &err);
  if (fclose(f) || rc) {
    fprintf(stderr, "bench_report_load: %s\n", err.msg);
    return -1;
  }
  return 0;
}

/* One load of page in Chromium: the page's ready_ms and the renderer main
 * thread's CPU time (inspect_page.js --cpu), NAN when it did not load. */
typedef struct load {
  double ms, cpu_ms;
} load;

static load load_page(const char *page) {
  const char *node = getenv("NODE") ? getenv("NODE") : "node";
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "%s tests/browser/inspect_page.js '%s' --cpu 2>/dev/null", node, page);
  load l = {NAN, NAN};
  FILE *p = popen(cmd, "r");
  if (!p) return l;
  char line[4096];
  int ready = 0;
  double ms = NAN, cpu = NAN;
  while (fgets(line, sizeof line, p)) {
    const char *k = strstr(line, "\"ready_ms\": ");
    if (k) ms = strtod(k + 12, NULL);
    if ((k = strstr(line, "\"cpu_ms\": "))) cpu = strtod(k + 10, NULL);
    if (strstr(line, "\"ready\": true")) ready = 1;
  }
  pclose(p);
  if (ready) l.ms = ms, l.cpu_ms = cpu;
  return l;
}

/* Keeps the best (least) of each figure. */
static void best_of(load *b, load l) {
  if (!(l.ms >= b->ms)) b->ms = isnan(l.ms) ? b->ms : l.ms;
  if (!(l.cpu_ms >= b->cpu_ms)) b->cpu_ms = isnan(l.cpu_ms) ? b->cpu_ms : l.cpu_ms;
}

static long file_size(const char *path) {
  struct stat sb;
  return stat(path, &sb) ? -1 : (long)sb.st_size;
}

int main(void) {
  size_t n = getenv("BENCH_BARS") ? (size_t)atol(getenv("BENCH_BARS")) : 1000000;
  int reps = getenv("BENCH_REPEATS") ? atoi(getenv("BENCH_REPEATS")) : 2;
  if (reps < 1) reps = 1;
  qt_bars b;
  memset(&b, 0, sizeof b);
  if (make_walk(&b, n, 42)) return 1;
  qt_feed f;
  memset(&f, 0, sizeof f);
  f.inst = qt_instrument_default("SYNTH");
  f.bars = &b;
  const qt_strategy_vtbl *s = qt_strategy_find("sma_cross");
  double p[64];
  qt_strategy_defaults(s, p);
  qt_engine_opts eo = qt_engine_opts_default();
  qt_engine *e = NULL;
  qt_result r;
  qt_metrics m;
  qt_metrics_opts mo = qt_metrics_opts_default();
  qt_err err;
  if (qt_engine_new(&eo, &e, &err) || qt_engine_run(e, &f, 1, s, p, &r, &err) ||
      qt_metrics_compute(&r, b.close, &mo, &m, &err)) {
    fprintf(stderr, "bench_report_load: %s\n", err.msg);
    return 1;
  }
  qt_report_backtest bt = {.r = &r, .bars = &b, .from_i = 0, .m = &m, .strategy = s->name,
                           .params_text = "defaults", .market_text = "random walk"};
  /* the peer: the same strategy on the first 10,000 bars */
  size_t n_small = n < 10000 ? n : 10000;
  qt_bars bs = b;
  bs.n = n_small;
  qt_feed fs = f;
  fs.bars = &bs;
  qt_engine *es = NULL;
  qt_result rs;
  qt_metrics ms;
  if (qt_engine_new(&eo, &es, &err) || qt_engine_run(es, &fs, 1, s, p, &rs, &err) ||
      qt_metrics_compute(&rs, bs.close, &mo, &ms, &err)) {
    fprintf(stderr, "bench_report_load: %s\n", err.msg);
    return 1;
  }
  qt_report_backtest bts = {.r = &rs, .bars = &bs, .from_i = 0, .m = &ms, .strategy = s->name,
                            .params_text = "defaults", .market_text = "random walk"};
  int with_full = !getenv("BENCH_FULL") || atoi(getenv("BENCH_FULL")) != 0;
  const char *base = getenv("BENCH_BASELINE");
  char dir[] = "/tmp/qtune-bench-report.XXXXXX", dec[128], full[128], small[128];
  if (!mkdtemp(dir)) return 1;
  snprintf(dec, sizeof dec, "%s/decimated.html", dir);
  snprintf(full, sizeof full, "%s/full.html", dir);
  snprintf(small, sizeof small, "%s/small.html", dir);
  qt_report_opts dflt = qt_report_opts_default();
  double t0 = bench_now();
  if (write_report(dec, &bt, dflt.max_bars, dflt.max_candles)) return 1;
  double write_dec = bench_now() - t0, write_full = 0;
  if (write_report(small, &bts, dflt.max_bars, dflt.max_candles)) return 1;
  t0 = bench_now();
  if (with_full && write_report(full, &bt, 0, 0)) return 1;
  if (with_full) write_full = bench_now() - t0;
  load ld_dec = {INFINITY, INFINITY}, ld_full = ld_dec, ld_small = ld_dec, ld_base = ld_dec;
  for (int k = 0; k < reps; k++) {
    fprintf(stderr, "bench_report_load: round %d of %d\n", k + 1, reps);
    best_of(&ld_dec, load_page(dec));
    best_of(&ld_small, load_page(small));
    if (with_full) best_of(&ld_full, load_page(full));
    if (base) best_of(&ld_base, load_page(base));
  }
  if (!with_full) ld_full.ms = ld_full.cpu_ms = NAN;
  if (!base) ld_base.ms = ld_base.cpu_ms = NAN;
  /* NaN and inf print as -1: a page not measured or not loaded */
#define F(v) (isfinite(v) ? (v) : -1.0)
  printf("{\"bench\":\"report_backtest_load\",\"bars\":%zu,\"trades\":%zu,\"max_bars\":%zu,"
         "\"max_candles\":%zu,\"decimated_bytes\":%ld,\"full_bytes\":%ld,\"small_bars\":%zu,"
         "\"small_bytes\":%ld,\"decimated_write_s\":%.3f,\"full_write_s\":%.3f,"
         "\"decimated_load_ms\":%.0f,\"small_load_ms\":%.0f,\"full_load_ms\":%.0f,"
         "\"baseline_load_ms\":%.0f,\"decimated_cpu_ms\":%.0f,\"small_cpu_ms\":%.0f,"
         "\"full_cpu_ms\":%.0f,\"baseline_cpu_ms\":%.0f,"
         "\"load_ratio_decimated_over_small\":%.2f,\"load_ratio_full_over_decimated\":%.2f,"
         "\"load_ratio_baseline_over_decimated\":%.2f,\"cpu_ratio_decimated_over_small\":%.2f,"
         "\"cpu_ratio_full_over_decimated\":%.2f,\"cpu_ratio_baseline_over_decimated\":%.2f,"
         "\"repeats\":%d}\n",
         n, r.n_trades, dflt.max_bars, dflt.max_candles, file_size(dec),
         with_full ? file_size(full) : -1, n_small, file_size(small), write_dec, write_full,
         F(ld_dec.ms), F(ld_small.ms), F(ld_full.ms), F(ld_base.ms), F(ld_dec.cpu_ms), F(ld_small.cpu_ms), F(ld_full.cpu_ms), F(ld_base.cpu_ms),
         F(ld_dec.ms / ld_small.ms), F(ld_full.ms / ld_dec.ms), F(ld_base.ms / ld_dec.ms), F(ld_dec.cpu_ms / ld_small.cpu_ms),
         F(ld_full.cpu_ms / ld_dec.cpu_ms), F(ld_base.cpu_ms / ld_dec.cpu_ms), reps);
#undef F
  int ok = isfinite(ld_dec.ms) && isfinite(ld_small.ms);
  unlink(dec);
  unlink(full);
  unlink(small);
  rmdir(dir);
  qt_engine_free(es);
  qt_engine_free(e);
  qt_bars_fini(&b);
  return ok ? 0 : 1;
}
