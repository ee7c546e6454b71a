/* Paper runner speed.  (1) A replay of BENCH_BARS (default 1,000,000)
 * synthetic 1-minute bars of sma_cross (10/30) through the paper runner
 * (the replay feed at max speed, no storage; then with a SQLite storage
 * committing every 200 ms) against the plain backtest of the same bars
 * (qt_engine_run on a warm engine), in this thread's CPU time: bars/s and
 * the ratio, measured in the same run.  (2) Message arrival to order: a
 * stream of closed klines from memory through the stream path (each bar
 * appended, the engine extended by it and stepped), with BENCH_HISTORY bars
 * of history before (default 200, 1,000, 5,000 and 100,000): after the
 * history, 2,000 bars are timed from the message's arrival stamp to the
 * return of qt_paper_event; the median over the bars that ordered (and
 * over all bars, and the slowest: a restart when the series outgrew its
 * room), then one line with the medians per history and the ratio of the
 * longest history's median to the shortest's, all in the same run.  JSON
 * lines. */
#include "bench.h"
#include "qtune/engine.h"
#include "qtune/live.h"
#include "qtune/strategies.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int make_walk(qt_bars *b, size_t n, uint64_t seed) {
  qt_err err;
  if (qt_bars_alloc(b, n, &err)) return -1;
  qt_rng r;
  qt_rng_seed(&r, seed);
  b->interval_ms = 60000;
  double p = 100.0;
  int64_t t0 = 1767225600000LL;
  for (size_t i = 0; i < n; i++) {
    double o = p, c = o * exp(0.0008 * qt_rng_normal(&r));
    b->ts_ms[i] = t0 + (int64_t)i * 60000;
    b->open[i] = o;
    b->high[i] = fmax(o, c) * (1 + 0.0004 * qt_rng_uniform(&r));
    b->low[i] = fmin(o, c) * (1 - 0.0004 * qt_rng_uniform(&r));
    b->close[i] = c;
    b->volume[i] = 1 + 10 * qt_rng_uniform(&r);
    p = c;
  }
  return 0;
}

static double run_backtest(const qt_feed *f, const qt_strategy_vtbl *s, const double *p,
                           size_t *n_trades) {
  qt_engine_opts o = qt_engine_opts_default();
  o.log_orders = 1; /* the runner keeps the order log too */
  qt_engine *e = NULL;
  qt_err err;
  if (qt_engine_new(&o, &e, &err)) return -1;
  qt_result r;
  qt_engine_run(e, f, 1, s, p, &r, &err); /* warm: buffers and the SMA columns */
  double best = 1e9;
  for (int k = 0; k < 3; k++) {
    double t0 = cpu_now();
    qt_engine_run(e, f, 1, s, p, &r, &err);
    double t = cpu_now() - t0;
    if (t < best) best = t;
  }
  *n_trades = r.n_trades;
  qt_engine_free(e);
  return best;
}

static double run_paper(const qt_feed *f, const qt_bars *b, const qt_strategy_vtbl *s,
                        const double *p, qt_storage *st, const char *name, size_t *n_trades) {
  qt_paper_opts o = qt_paper_opts_default();
  o.strategy = s;
  o.params = p;
  o.n_symbols = 1;
  o.symbols[0] = "BENCH";
  o.replay_feeds[0] = f;
  o.replay_n_feeds[0] = 1;
  o.replay_from[0] = 0;
  o.replay_to[0] = b->n;
  o.storage = st;
  o.name = name;
  o.feed_name = "replay";
  o.params_json = "{}";
  qt_paper *pp = NULL;
  qt_err err;
  double t0 = cpu_now();
  if (qt_paper_open(&o, &pp, &err)) {
    fprintf(stderr, "bench_paper: %s\n", err.msg);
    return -1;
  }
  qt_live_replay_opts ro;
  memset(&ro, 0, sizeof ro);
  ro.n = 1;
  ro.bars[0] = b;
  ro.symbols[0] = "BENCH";
  ro.to[0] = b->n;
  qt_livefeed feed;
  qt_livefeed_replay(&ro, &feed, &err);
  int rc = qt_paper_run(pp, &feed, &err);
  double t = cpu_now() - t0;
  if (rc < 0) fprintf(stderr, "bench_paper: %s\n", err.msg);
  qt_result r;
  qt_paper_result(pp, 0, &r);
  *n_trades = r.n_trades;
  qt_livefeed_close(&feed);
  qt_paper_free(pp);
  return rc < 0 ? -1 : t;
}

/* Closed kline i of b as a stream event, stamped on arrival. */
static void kline_event(const qt_bars *b, size_t i, qt_live_event *e) {
  memset(e, 0, sizeof *e);
  e->kind = QT_LIVE_BAR;
  snprintf(e->symbol, sizeof e->symbol, "BENCH");
  e->ts_ms = b->ts_ms[i];
  e->close_ms = e->ts_ms + 59999;
  e->closed = 1;
  e->open = b->open[i], e->high = b->high[i], e->low = b->low[i];
  e->close = b->close[i], e->volume = b->volume[i];
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  e->recv_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef struct lat_out {
  double med_order_us, med_all_us, max_us;
  size_t n_order;
} lat_out;

/* history bars through the stream untimed, then `extra` bars timed. */
static int latency(const qt_bars *b, size_t history, size_t extra, const qt_strategy_vtbl *s,
                   const double *p, lat_out *out) {
  qt_paper_opts o = qt_paper_opts_default();
  o.strategy = s;
  o.params = p;
  o.n_symbols = 1;
  o.symbols[0] = "BENCH";
  o.inst[0] = qt_instrument_default("BENCH");
  o.interval_ms = 60000;
  qt_paper *pp = NULL;
  qt_err err;
  if (qt_paper_open(&o, &pp, &err)) return -1;
  double *all = malloc(extra * sizeof *all), *ord = malloc(extra * sizeof *ord);
  int rc = all && ord ? 0 : -1;
  qt_live_event ev;
  for (size_t i = 0; i < history && !rc; i++) {
    kline_event(b, i, &ev);
    rc = qt_paper_event(pp, &ev, &err);
  }
  size_t n_ord = 0;
  double mx = 0;
  qt_result r;
  qt_paper_result(pp, 0, &r);
  size_t olog = r.n_order_log;
  for (size_t i = 0; i < extra && !rc; i++) {
    kline_event(b, history + i, &ev);
    rc = qt_paper_event(pp, &ev, &err);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double us = (double)((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - ev.recv_ns) / 1e3;
    all[i] = us;
    if (us > mx) mx = us;
    qt_paper_result(pp, 0, &r);
    if (r.n_order_log > olog) ord[n_ord++] = us;
    olog = r.n_order_log;
  }
  if (rc) fprintf(stderr, "bench_paper: %s\n", err.msg);
  if (!rc) {
    qsort(all, extra, sizeof *all, cmp_d);
    qsort(ord, n_ord, sizeof *ord, cmp_d);
    out->med_all_us = all[extra / 2];
    out->med_order_us = n_ord ? ord[n_ord / 2] : 0;
    out->max_us = mx;
    out->n_order = n_ord;
  }
  free(all);
  free(ord);
  qt_paper_free(pp);
  return rc ? -1 : 0;
}

int main(void) {
  size_t n = getenv("BENCH_BARS") ? (size_t)atol(getenv("BENCH_BARS")) : 1000000;
  const qt_strategy_vtbl *s = qt_strategy_find("sma_cross");
  double p[16];
  qt_strategy_defaults(s, p);
  p[0] = 10, p[1] = 30;
  qt_bars b;
  if (make_walk(&b, n, 42)) return 1;
  qt_feed f = {.inst = qt_instrument_default("BENCH"), .bars = &b};
  size_t tr_bt = 0, tr_pp = 0, tr_db = 0;
  double t_bt = run_backtest(&f, s, p, &tr_bt);
  double t_pp = run_paper(&f, &b, s, p, NULL, NULL, &tr_pp);
  char path[256];
  snprintf(path, sizeof path, "/tmp/qtune_bench_paper_%d.db", (int)getpid());
  unlink(path);
  char url[300];
  snprintf(url, sizeof url, "sqlite:///%s", path);
  qt_storage st;
  qt_err err;
  double t_db = -1;
  if (!qt_storage_open(url, &st, &err)) {
    t_db = run_paper(&f, &b, s, p, &st, "bench", &tr_db);
    qt_storage_close(&st);
  }
  unlink(path);
  printf("{\"bench\": \"paper_replay\", \"strategy\": \"sma_cross\", \"bars\": %zu, "
         "\"backtest_bars_per_s\": %.0f, \"paper_bars_per_s\": %.0f, "
         "\"paper_sqlite_bars_per_s\": %.0f, \"paper_over_backtest\": %.3f, "
         "\"paper_sqlite_over_backtest\": %.3f, \"same_trades\": %s}\n",
         n, (double)n / t_bt, (double)n / t_pp, t_db > 0 ? (double)n / t_db : 0, t_bt / t_pp,
         t_db > 0 ? t_bt / t_db : 0, tr_bt == tr_pp && tr_pp == tr_db ? "true" : "false");
  fflush(stdout);
  size_t hist[4] = {200, 1000, 5000, 100000}, extra = 2000;
  const char *he = getenv("BENCH_HISTORY");
  int nh = 4;
  if (he) hist[0] = (size_t)atol(he), nh = 1;
  double med[4] = {0};
  int got[4] = {0};
  lat_out warm; /* a first pass warms the caches and the allocator, not counted */
  if (n >= 200 + extra) latency(&b, 200, extra, s, p, &warm);
  for (int k = 0; k < nh; k++) {
    lat_out lo;
    if (hist[k] + extra > n || latency(&b, hist[k], extra, s, p, &lo)) continue;
    med[k] = lo.med_order_us, got[k] = 1;
    printf("{\"bench\": \"paper_stream_latency\", \"strategy\": \"sma_cross\", \"history_bars\": "
           "%zu, \"timed_bars\": %zu, \"orders\": %zu, \"median_arrival_to_order_us\": %.2f, "
           "\"median_bar_us\": %.2f, \"max_bar_us\": %.1f}\n",
           hist[k], extra, lo.n_order, lo.med_order_us, lo.med_all_us, lo.max_us);
    fflush(stdout);
  }
  if (nh > 1 && got[0] && got[nh - 1] && med[0] > 0) {
    printf("{\"bench\": \"paper_stream_flat\", \"strategy\": \"sma_cross\", ");
    for (int k = 0; k < nh; k++)
      if (got[k]) printf("\"median_us_at_%zu\": %.2f, ", hist[k], med[k]);
    printf("\"ratio_%zu_over_%zu\": %.3f}\n", hist[nh - 1], hist[0], med[nh - 1] / med[0]);
  }
  qt_bars_fini(&b);
  return 0;
}
