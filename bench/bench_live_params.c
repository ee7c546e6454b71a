/* Write-to-effective latency of a live params file: the time from the
 * start of a write (qt_live_params_write: temp file, fsync, rename over the
 * file, as an editor or `qtune live revert` does) to the new set being in
 * effect (the handle's version moved; on_apply fires).  With inotify on
 * the folder (the default) and, as the baseline measured in the same run,
 * the 5 s poll a system without inotify gets.  JSON lines: median and p99
 * per mode, and the ratio poll / inotify of the medians.
 * Then the runner's side: a paper market_maker on a stream (klines fed
 * from this thread every BENCH_LIVE_BAR_MS, default 1 ms, through
 * qt_paper_event), its --live-params file rewritten (base_spread_bps 20 <->
 * 60): the time from the start of the write to the first bar whose quotes
 * (the order log's bid and ask of that bar) have the new spread, with
 * inotify and with the 5 s poll, in the same run.
 * BENCH_LIVE_N (default 200) writes with inotify; BENCH_LIVE_POLL_N
 * (default 4) with the poll (each waits up to 5 s); BENCH_LIVE_RUNNER_N
 * (default 40) runner edits with inotify, BENCH_LIVE_POLL_N with the poll. */
#include "bench.h"
#include "qtune/engine.h"
#include "qtune/live.h"
#include "qtune/strategies.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static uint64_t g_seen;
static double g_applied_at;

static void on_apply(void *ud, uint64_t version) {
  (void)ud;
  double now = bench_now();
  pthread_mutex_lock(&g_mu);
  g_seen = version;
  g_applied_at = now;
  pthread_cond_broadcast(&g_cv);
  pthread_mutex_unlock(&g_mu);
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* n writes; latencies in ms into lat; 0 or -1 (a write not applied in 12 s). */
static int run(int force_poll, int n, double *lat) {
  char dir[] = "/tmp/qt_bench_live_XXXXXX";
  if (!mkdtemp(dir)) return -1;
  char path[256];
  snprintf(path, sizeof path, "%s/tuning_params.json", dir);
  const qt_strategy_vtbl *s = qt_strategy_find("market_maker");
  double p[64];
  qt_strategy_defaults(s, p);
  qt_err err;
  if (qt_live_params_write(s, path, p, &err)) return -1;
  qt_live_params_opts o = qt_live_params_opts_default();
  o.keep_history = 0;
  o.force_poll = force_poll;
  o.poll_ms = 5000;
  o.on_apply = on_apply;
  qt_live_params *lp = NULL;
  int rc = -1;
  pthread_mutex_lock(&g_mu);
  g_seen = 0; /* versions start at 1 for each handle */
  pthread_mutex_unlock(&g_mu);
  if (qt_live_params_new(s, path, p, &o, &lp, &err) || qt_live_params_watch(lp, &err)) {
    fprintf(stderr, "bench_live_params: %s\n", err.msg);
    goto done;
  }
  int ix = qt_strategy_param_index(s, "skew_adjustment_factor");
  for (int i = 0; i < n; i++) {
    p[ix] = (i % 2) ? 0.5 : 0.6; /* every write changes the set */
    uint64_t was = qt_live_params_version(lp);
    double t0 = bench_now();
    if (qt_live_params_write(s, path, p, &err)) goto done;
    pthread_mutex_lock(&g_mu);
    while (g_seen <= was) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += 12;
      if (pthread_cond_timedwait(&g_cv, &g_mu, &ts) != 0) break;
    }
    int ok = g_seen > was;
    double t1 = g_applied_at;
    pthread_mutex_unlock(&g_mu);
    if (!ok || qt_live_params_version(lp) <= was) {
      fprintf(stderr, "bench_live_params: write %d was not applied\n", i);
      goto done;
    }
    lat[i] = (t1 - t0) * 1e3;
    /* the next write at a random phase of the poll, as an edit would come */
    if (force_poll) usleep((useconds_t)(rand() % 5000) * 1000);
  }
  rc = 0;
done:
  qt_live_params_free(lp);
  unlink(path);
  rmdir(dir);
  return rc;
}

/* ---- the runner's side ---- */

/* Kline i of a quiet synthetic walk (1-minute times; fed in real time). */
static void walk_event(size_t i, double *px, qt_live_event *e) {
  memset(e, 0, sizeof *e);
  e->kind = QT_LIVE_BAR;
  snprintf(e->symbol, sizeof e->symbol, "BENCH");
  e->ts_ms = 1767225600000LL + (int64_t)i * 60000;
  e->close_ms = e->ts_ms + 59999;
  e->closed = 1;
  double o = *px, c = o * (1 + 0.0003 * sin((double)i * 0.7));
  e->open = o, e->close = c;
  e->high = fmax(o, c) * 1.0002, e->low = fmin(o, c) * 0.9998;
  e->volume = 100 + (double)(i % 13);
  *px = c;
  e->recv_ns = (int64_t)(bench_now() * 1e9);
}

/* The spread (bps) of the bid and ask the runner quoted at its last bar,
 * from the order log past *seen; NaN when that bar did not quote both. */
static double last_bar_spread(qt_paper *pp, size_t *seen) {
  qt_result r;
  qt_paper_result(pp, 0, &r);
  double bid = NAN, ask = NAN;
  int64_t t = r.n_order_log ? r.order_log[r.n_order_log - 1].ts_ms : 0;
  for (size_t j = *seen; j < r.n_order_log; j++) {
    const qt_order_event *o = &r.order_log[j];
    if (o->ts_ms != t || o->type != QT_ORDER_LIMIT || o->action == QT_OA_CANCEL) continue;
    if (o->side == QT_BUY) bid = o->price;
    else ask = o->price;
  }
  *seen = r.n_order_log;
  return bid > 0 && ask > 0 ? (ask - bid) / ((ask + bid) / 2) * 1e4 : NAN;
}

/* n edits of the runner's params file; ms from each write's start to the
 * first bar quoting the new spread into lat.  0 or -1. */
static int run_runner(int force_poll, int n, int bar_us, double *lat) {
  char dir[] = "/tmp/qt_bench_live_XXXXXX";
  if (!mkdtemp(dir)) return -1;
  char path[256];
  snprintf(path, sizeof path, "%s/tuning_params.json", dir);
  const qt_strategy_vtbl *s = qt_strategy_find("market_maker");
  double p[64], fp[64];
  qt_strategy_defaults(s, p);
  int ix = qt_strategy_param_index(s, "base_spread_bps");
  p[ix] = 20;
  memcpy(fp, p, sizeof p);
  qt_err err;
  qt_live_params *lp = NULL;
  qt_paper *pp = NULL;
  int rc = -1;
  if (qt_live_params_write(s, path, p, &err)) goto done;
  qt_live_params_opts lo = qt_live_params_opts_default();
  lo.keep_history = 0;
  lo.force_poll = force_poll;
  lo.poll_ms = 5000;
  if (qt_live_params_new(s, path, p, &lo, &lp, &err) || qt_live_params_watch(lp, &err)) goto done;
  qt_paper_opts o = qt_paper_opts_default();
  o.strategy = s;
  o.params = p;
  o.n_symbols = 1;
  o.symbols[0] = "BENCH";
  o.inst[0] = qt_instrument_default("BENCH");
  o.interval_ms = 60000;
  o.live_params = lp;
  if (qt_paper_open(&o, &pp, &err)) goto done;
  double px = 100;
  size_t bar = 0, seen = 0;
  qt_live_event ev;
  for (; bar < 300; bar++) { /* warm-up: quoting at 20 bps */
    walk_event(bar, &px, &ev);
    if (qt_paper_event(pp, &ev, &err)) goto done;
  }
  last_bar_spread(pp, &seen);
  for (int i = 0; i < n; i++) {
    double want = (i % 2) ? 20 : 60;
    fp[ix] = want;
    double t0 = bench_now(), t1 = 0;
    if (qt_live_params_write(s, path, fp, &err)) goto done;
    while (!t1 && bench_now() - t0 < 12) {
      walk_event(bar++, &px, &ev);
      if (qt_paper_event(pp, &ev, &err)) goto done;
      double sp = last_bar_spread(pp, &seen);
      if (isfinite(sp) && fabs(sp - want) < 20) t1 = bench_now();
      else usleep((useconds_t)bar_us);
    }
    if (!t1) {
      fprintf(stderr, "bench_live_params: runner edit %d not in effect in 12 s\n", i);
      goto done;
    }
    lat[i] = (t1 - t0) * 1e3;
    /* the next edit at a random phase of the poll */
    double until = bench_now() + (force_poll ? (rand() % 5000) / 1e3 : 0.005);
    while (bench_now() < until) {
      walk_event(bar++, &px, &ev);
      if (qt_paper_event(pp, &ev, &err)) goto done;
      last_bar_spread(pp, &seen);
      usleep((useconds_t)bar_us);
    }
  }
  rc = 0;
done:
  if (rc) fprintf(stderr, "bench_live_params: runner: %s\n", err.msg);
  qt_paper_free(pp);
  qt_live_params_free(lp);
  unlink(path);
  rmdir(dir);
  return rc;
}

static void report(const char *bench, const char *mode, int poll_ms, int n, double *lat,
                   double *out_median) {
  qsort(lat, (size_t)n, sizeof *lat, cmp);
  double med = n % 2 ? lat[n / 2] : 0.5 * (lat[n / 2 - 1] + lat[n / 2]);
  int k99 = (int)(0.99 * (n - 1) + 0.5);
  printf("{\"bench\":\"%s\",\"mode\":\"%s\",\"poll_ms\":%d,\"writes\":%d,"
         "\"median_ms\":%.4f,\"p99_ms\":%.4f,\"max_ms\":%.4f}\n",
         bench, mode, poll_ms, n, med, lat[k99], lat[n - 1]);
  fflush(stdout);
  *out_median = med;
}

int main(void) {
  const char *e = getenv("BENCH_LIVE_N"), *ep = getenv("BENCH_LIVE_POLL_N");
  int n = e ? atoi(e) : 200, np = ep ? atoi(ep) : 4;
  if (n < 2) n = 2;
  if (np < 1) np = 1;
  double *lat = calloc((size_t)(n > np ? n : np), sizeof *lat);
  if (!lat) return 1;
  double med_i = 0, med_p = 0;
  if (run(0, n, lat) != 0) return 1;
  report("live_params_reload", "inotify", 0, n, lat, &med_i);
  if (run(1, np, lat) != 0) return 1;
  report("live_params_reload", "poll", 5000, np, lat, &med_p);
  printf("{\"bench\":\"live_params_reload_ratio\",\"poll_over_inotify_median\":%.1f}\n",
         med_i > 0 ? med_p / med_i : 0);
  /* the runner: write to the first quote with the new spread */
  const char *er = getenv("BENCH_LIVE_RUNNER_N"), *eb = getenv("BENCH_LIVE_BAR_MS");
  int nr = er ? atoi(er) : 40;
  double bar_ms = eb ? atof(eb) : 1.0;
  if (nr < 2) nr = 2;
  double *rl = calloc((size_t)(nr > np ? nr : np), sizeof *rl);
  if (!rl) return 1;
  double rmed_i = 0, rmed_p = 0;
  int bar_us = (int)(bar_ms * 1000);
  if (run_runner(0, nr, bar_us, rl) != 0) return 1;
  report("live_params_runner", "inotify", 0, nr, rl, &rmed_i);
  if (run_runner(1, np, bar_us, rl) != 0) return 1;
  report("live_params_runner", "poll", 5000, np, rl, &rmed_p);
  printf("{\"bench\":\"live_params_runner_ratio\",\"feed\":\"stream\",\"bar_ms\":%.3f,"
         "\"poll_over_inotify_median\":%.1f,\"inotify_median_under_100ms\":%s}\n",
         bar_ms, rmed_i > 0 ? rmed_p / rmed_i : 0, rmed_i < 100 ? "true" : "false");
  free(rl);
  free(lat);
  return 0;
}
