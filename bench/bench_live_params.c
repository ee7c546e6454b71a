/* Write-to-effective latency of a live params file: the time from the
 * start of a write (qt_live_params_write: temp file, fsync, rename over the
 * file, as an editor or `qtune live revert` does) to the new set being in
 * effect (the handle's version moved; on_apply fires).  With inotify on
 * the folder (the default) and, as the baseline measured in the same run,
 * the 5 s poll a system without inotify gets.  JSON lines: median and p99
 * per mode, and the ratio poll / inotify of the medians.
 * BENCH_LIVE_N (default 200) writes with inotify; BENCH_LIVE_POLL_N
 * (default 4) with the poll (each waits up to 5 s). */
#include "bench.h"
#include "qtune/live.h"
#include "qtune/strategies.h"

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

static void report(const char *mode, int poll_ms, int n, double *lat, double *out_median) {
  qsort(lat, (size_t)n, sizeof *lat, cmp);
  double med = n % 2 ? lat[n / 2] : 0.5 * (lat[n / 2 - 1] + lat[n / 2]);
  int k99 = (int)(0.99 * (n - 1) + 0.5);
  printf("{\"bench\":\"live_params_reload\",\"mode\":\"%s\",\"poll_ms\":%d,\"writes\":%d,"
         "\"median_ms\":%.4f,\"p99_ms\":%.4f,\"max_ms\":%.4f}\n",
         mode, poll_ms, n, med, lat[k99], lat[n - 1]);
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
  report("inotify", 0, n, lat, &med_i);
  if (run(1, np, lat) != 0) return 1;
  report("poll", 5000, np, lat, &med_p);
  printf("{\"bench\":\"live_params_reload_ratio\",\"poll_over_inotify_median\":%.1f}\n",
         med_i > 0 ? med_p / med_i : 0);
  free(lat);
  return 0;
}
