/* A study over 3 symbols against the same study over 1 symbol, in the same
 * run: hedge_grid, random sampler (the same seed proposes the same params to
 * both, so they evaluate the same trials), 2 worker threads, SQLite in a temp
 * file, on synthetic 1-minute bars (qt_synth_generate, seeds 1, 2, 3) stored
 * in a temp catalog as S1, S2, S3 and loaded through the market layer.  Two
 * rounds in alternating order, the best of each; process CPU time is the
 * measure (the wall clock of a shared machine mostly measures the queue).
 * The target: ratio_cpu <= 3.3.
 * Env: BENCH_SYM_TRIALS (default 200), BENCH_SYM_DAYS (30), BENCH_SYM_JOBS (2). */
#include "bench.h"
#include "qtune/data.h"
#include "qtune/optimize.h"
#include "qtune/strategies.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long env_long(const char *k, long def) {
  const char *v = getenv(k);
  return v && *v ? atol(v) : def;
}

static int fail(const char *what, const qt_err *e) {
  fprintf(stderr, "bench_symbols: %s: %s\n", what, e->msg);
  return 1;
}

/* One study of `trials` trials of obj; its CPU and wall time. */
static int run_study(const qt_space *sp, const qt_objective *obj, long trials, long jobs,
                     double *wall, double *cpu, qt_err *e) {
  char path[128], url[160], side[200];
  snprintf(path, sizeof path, "/tmp/qt_bench_symbols_%ld.db", (long)getpid());
  snprintf(url, sizeof url, "sqlite:///%s", path);
  remove(path);
  qt_study_opts so = qt_study_opts_default();
  so.name = "bench";
  so.storage_url = url;
  so.seed = 1;
  so.sampler = &qt_sampler_random;
  qt_goal_default(&so.goal, 0);
  qt_study *st = NULL;
  int r = qt_study_open(&so, sp, &st, e);
  if (r) return r;
  qt_run_opts ro = qt_run_opts_default();
  ro.jobs = (size_t)jobs;
  ro.n_trials = (size_t)trials;
  qt_progress p;
  double t0 = bench_now(), c0 = cpu_now();
  r = qt_study_run(st, obj, &ro, &p, e);
  *wall = bench_now() - t0;
  *cpu = cpu_now() - c0;
  qt_study_free(st);
  remove(path);
  snprintf(side, sizeof side, "%s-wal", path);
  remove(side);
  snprintf(side, sizeof side, "%s-shm", path);
  remove(side);
  return r;
}

int main(void) {
  long trials = env_long("BENCH_SYM_TRIALS", 200), days = env_long("BENCH_SYM_DAYS", 30);
  long jobs = env_long("BENCH_SYM_JOBS", 2);
  qt_err e = {0};
  const qt_strategy_vtbl *s = qt_strategy_find("hedge_grid");
  if (!s) return fail("hedge_grid", &e);
  char dir[] = "/tmp/qt_bench_symbols_XXXXXX";
  if (!mkdtemp(dir)) return 1;
  qt_catalog *cat = NULL;
  if (qt_catalog_open(dir, 1, &cat, &e)) return fail("catalog", &e);
  size_t bars = 0;
  for (int k = 0; k < 3; k++) {
    qt_synth_opts so = qt_synth_opts_default();
    so.seed = (uint64_t)k + 1;
    so.days = (int)days;
    so.trades_per_min = 1;
    qt_synth_market sm;
    char sym[8];
    snprintf(sym, sizeof sym, "S%d", k + 1);
    if (qt_synth_generate(&so, &sm, &e)) return fail("synth", &e);
    if (qt_catalog_put_bars(cat, sym, &sm.bars, &e) ||
        qt_catalog_put_funding(cat, sym, &sm.funding, &e))
      return fail("catalog put", &e);
    bars = sm.bars.n;
    qt_synth_market_fini(&sm);
  }
  qt_catalog_close(cat);
  qt_space *sp = NULL;
  if (qt_space_from_spec(s->params, s->n_params, &sp, &e)) return fail("space", &e);
  qt_market_opts mo1 = qt_market_opts_default(), mo3 = qt_market_opts_default();
  mo1.catalog = mo3.catalog = dir;
  if (qt_market_opts_set_symbols(&mo1, "S1", &e) || qt_market_opts_set_symbols(&mo3, "S1,S2,S3", &e))
    return fail("symbols", &e);
  qt_market mk;
  if (qt_market_load(&mo1, &mk, &e)) return fail("market", &e);
  qt_engine_opts eo = qt_engine_opts_default();
  eo.hedge_mode = 1;
  qt_objective o1, o3;
  if (qt_objective_strategy(s, mk.feeds, mk.n_feeds, &eo, NULL, &o1, &e))
    return fail("objective", &e);
  if (qt_objective_symbols(s, &mo3, &eo, NULL, QT_AGG_MEAN, &o3, &e))
    return fail("symbols objective", &e);
  double w1 = 1e30, c1 = 1e30, w3 = 1e30, c3 = 1e30, w, c;
  for (int round = 0; round < 2; round++)
    for (int which = 0; which < 2; which++) {
      int three = (round + which) % 2;
      if (run_study(sp, three ? &o3 : &o1, trials, jobs, &w, &c, &e)) return fail("study", &e);
      if (three) w3 = w < w3 ? w : w3, c3 = c < c3 ? c : c3;
      else w1 = w < w1 ? w : w1, c1 = c < c1 ? c : c1;
    }
  printf("{\"bench\":\"study_symbols\",\"strategy\":\"hedge_grid\",\"sampler\":\"random\","
         "\"bars_per_symbol\":%zu,\"trials\":%ld,\"jobs\":%ld,\"one_symbol_wall_s\":%.3f,"
         "\"one_symbol_cpu_s\":%.3f,\"three_symbols_wall_s\":%.3f,\"three_symbols_cpu_s\":%.3f,"
         "\"ratio_wall\":%.3f,\"ratio_cpu\":%.3f,\"target_ratio\":3.3}\n",
         bars, trials, jobs, w1, c1, w3, c3, w3 / w1, c3 / c1);
  qt_objective_free(&o1);
  qt_objective_free(&o3);
  qt_market_free(&mk);
  qt_space_free(sp);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : 1;
}
