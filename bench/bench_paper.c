/* Paper runner speed.  (1) A replay of BENCH_BARS (default 1,000,000)
 * synthetic 1-minute bars of sma_cross (10/30) through the paper runner
 * (the replay feed at max speed, no storage; then with a SQLite storage
 * committing every 200 ms) against the plain backtest of the same bars
 * (qt_engine_run on a warm engine), in this thread's CPU time: bars/s and
 * the ratio, measured in the same run.  (2) Message arrival to order: a
 * stream of closed klines from memory through the stream path (each bar
 * appended and the engine rerun over the symbol's bars so far), with
 * BENCH_HISTORY bars before (default 200, 1000, 5000); the runner's median
 * of arrival-to-order time over the bars that ordered.  JSON lines. */
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

/* An in-memory stream: closed klines of b, stamped on arrival. */
typedef struct mem_feed {
  const qt_bars *b;
  size_t i, n;
} mem_feed;

static int mem_next(void *self, qt_live_event *e, int timeout_ms, qt_err *err) {
  mem_feed *m = self;
  if (m->i >= m->n) return QT_DONE;
  size_t i = m->i++;
  memset(e, 0, sizeof *e);
  e->kind = QT_LIVE_BAR;
  snprintf(e->symbol, sizeof e->symbol, "BENCH");
  e->ts_ms = m->b->ts_ms[i];
  e->close_ms = e->ts_ms + 59999;
  e->closed = 1;
  e->open = m->b->open[i], e->high = m->b->high[i], e->low = m->b->low[i];
  e->close = m->b->close[i], e->volume = m->b->volume[i];
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  e->recv_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
  return QT_OK;
}
static void mem_counts(const void *self, qt_live_counts *c) { memset(c, 0, sizeof *c); }
static void mem_close(void *self) {}
static const qt_livefeed_vtbl k_mem = {"memory", mem_next, mem_counts, mem_close};

static int latency(const qt_bars *b, size_t history, size_t extra, const qt_strategy_vtbl *s,
                   const double *p, double *out_median_us, size_t *out_samples) {
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
  mem_feed m = {b, 0, history + extra};
  qt_livefeed f = {&k_mem, &m};
  /* the history, then the measured bars: the median is over the bars of
   * the whole run that ordered, so run the history in a first pass */
  int rc = qt_paper_run(pp, &f, &err);
  qt_paper_status st;
  qt_paper_status_get(pp, &st);
  *out_median_us = st.median_latency_us;
  *out_samples = st.n_orders;
  qt_paper_free(pp);
  return rc < 0 ? -1 : 0;
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
  size_t hist[3] = {200, 1000, 5000};
  const char *he = getenv("BENCH_HISTORY");
  int nh = 3;
  if (he) hist[0] = (size_t)atol(he), nh = 1;
  for (int k = 0; k < nh; k++) {
    if (hist[k] + 600 > n) continue;
    double med = 0;
    size_t samples = 0;
    if (latency(&b, hist[k], 600, s, p, &med, &samples)) continue;
    printf("{\"bench\": \"paper_stream_latency\", \"strategy\": \"sma_cross\", \"history_bars\": "
           "%zu, \"bars\": %zu, \"orders\": %zu, \"median_arrival_to_order_us\": %.1f}\n",
           hist[k], hist[k] + 600, samples, med);
    fflush(stdout);
  }
  qt_bars_fini(&b);
  return 0;
}
