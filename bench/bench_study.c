/* A whole study: 1000 TPE trials of hedge_grid (sma_cross when hedge_grid is
 * not registered) on 259,200 synthetic one-minute bars (180 days), 2 worker
 * threads, SQLite storage in a temp file; wall time (target < 15 s) and
 * trials/s (cpu_s: CPU time of all threads, honest on a loaded machine).
 * A second line runs the same study machinery on a pure function
 * (fake_strategy) to show the study's own cost per trial (TPE + SQLite).
 * Then the overhead line again at BENCH_STUDY_OPTUNA_TRIALS (default 100)
 * trials beside Optuna's (bench/optuna_study.py through popen: TPE, SQLite
 * RDBStorage, n_jobs = the same jobs); BENCH_STUDY_OPTUNA=0 skips it.
 * Env: BENCH_STUDY_TRIALS, BENCH_STUDY_DAYS, BENCH_STUDY_JOBS override. */
#include "bench.h"
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

static int run_study(const char *label, const char *strat_name, const qt_space *sp,
                     const qt_objective *obj, long trials, long jobs, long bars) {
  char path[128], url[160];
  snprintf(path, sizeof path, "/tmp/qt_bench_study_%ld.db", (long)getpid());
  snprintf(url, sizeof url, "sqlite:///%s", path);
  remove(path);
  qt_study_opts so = qt_study_opts_default();
  so.name = "bench";
  so.storage_url = url;
  so.seed = 1;
  so.sampler = &qt_sampler_tpe;
  qt_goal_default(&so.goal, 1);
  qt_study *st = NULL;
  qt_err e;
  int r = qt_study_open(&so, sp, &st, &e);
  if (r) {
    fprintf(stderr, "bench_study: %s\n", e.msg);
    return 1;
  }
  qt_run_opts ro = qt_run_opts_default();
  ro.jobs = (size_t)jobs;
  ro.n_trials = (size_t)trials;
  qt_progress p;
  double t0 = bench_now(), c0 = cpu_now();
  r = qt_study_run(st, obj, &ro, &p, &e);
  double wall = bench_now() - t0, cpu = cpu_now() - c0;
  if (r) {
    fprintf(stderr, "bench_study: %s\n", e.msg);
    qt_study_free(st);
    return 1;
  }
  long best = qt_study_best(st);
  qt_trial_info ti = {0};
  if (best >= 0) qt_study_trial_info(st, (size_t)best, &ti);
  printf("{\"bench\":\"%s\",\"impl\":\"qtune\",\"strategy\":\"%s\",\"sampler\":\"tpe\",\"storage\":\"sqlite\","
         "\"bars\":%ld,\"trials\":%zu,\"jobs\":%ld,\"wall_s\":%.3f,\"cpu_s\":%.3f,\"trials_per_s\":%.1f,"
         "\"ms_per_trial\":%.3f,\"failed\":%zu,\"rejected\":%zu,\"infeasible\":%zu,\"best_score\":%.6g,"
         "\"target_wall_s\":15}\n",
         label, strat_name, bars, p.done, jobs, wall, cpu, (double)p.done / wall,
         1000.0 * wall / (double)(p.done ? p.done : 1), p.failed, p.rejected, p.infeasible,
         best >= 0 ? ti.objective : -1.0);
  fflush(stdout);
  qt_study_free(st);
  remove(path);
  char side[200];
  snprintf(side, sizeof side, "%s-wal", path);
  remove(side);
  snprintf(side, sizeof side, "%s-shm", path);
  remove(side);
  return 0;
}

int main(void) {
  long trials = env_long("BENCH_STUDY_TRIALS", 1000);
  long days = env_long("BENCH_STUDY_DAYS", 180);
  long jobs = env_long("BENCH_STUDY_JOBS", 2);
  const qt_strategy_vtbl *s = qt_strategy_find("hedge_grid");
  if (!s) s = qt_strategy_find("sma_cross");
  if (!s) {
    fprintf(stderr, "bench_study: neither hedge_grid nor sma_cross is registered\n");
    return 1;
  }
  qt_synth_opts so = qt_synth_opts_default();
  so.seed = 42;
  so.days = (int)days;
  so.trades_per_min = 1; /* the study uses bars only: keep the trade tape small */
  qt_synth_market mk;
  qt_err e;
  double t0 = bench_now();
  if (qt_synth_generate(&so, &mk, &e)) {
    fprintf(stderr, "bench_study: synth: %s\n", e.msg);
    return 1;
  }
  fprintf(stderr, "bench_study: %zu bars generated in %.2fs; strategy %s\n", mk.bars.n,
          bench_now() - t0, s->name);
  qt_feed feeds[2];
  memset(feeds, 0, sizeof feeds);
  feeds[0].inst = qt_instrument_default("SYNTH");
  feeds[0].inst.kind = QT_INST_PERP;
  feeds[0].bars = &mk.bars;
  feeds[0].funding = &mk.funding;
  int n_feeds = 1;
  if (s->needs & QT_NEEDS_SECOND) {
    feeds[1].inst = qt_instrument_default("SYNTH.B");
    feeds[1].inst.venue = 1;
    feeds[1].bars = &mk.bars_b;
    n_feeds = 2;
  }
  qt_engine_opts eo = qt_engine_opts_default();
  eo.hedge_mode = (s->needs & QT_NEEDS_HEDGE) != 0;
  qt_space *sp = NULL;
  qt_objective obj = {0}, fobj = {0};
  int rc = 1;
  if (qt_space_from_spec(s->params, s->n_params, &sp, &e) ||
      qt_objective_strategy(s, feeds, n_feeds, &eo, NULL, &obj, &e) ||
      qt_objective_function("fake_strategy", &fobj, &e)) {
    fprintf(stderr, "bench_study: %s\n", e.msg);
    goto done;
  }
  if (run_study("study", s->name, sp, &obj, trials, jobs, (long)mk.bars.n)) goto done;
  if (run_study("study_overhead", "fake_strategy", sp, &fobj, trials, jobs, 0)) goto done;
  const char *oe = getenv("BENCH_STUDY_OPTUNA");
  if (!oe || strcmp(oe, "0") != 0) {
    long ot = env_long("BENCH_STUDY_OPTUNA_TRIALS", 100);
    if (run_study("study_overhead", "fake_strategy", sp, &fobj, ot, jobs, 0)) goto done;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 bench/optuna_study.py --trials %ld --jobs %ld", ot,
             jobs);
    FILE *pp = popen(cmd, "r");
    char line[1024];
    while (pp && fgets(line, sizeof line, pp)) fputs(line, stdout);
    if (!pp || pclose(pp) != 0) fprintf(stderr, "bench_study: optuna comparison failed\n");
  }
  rc = 0;
done:
  qt_objective_free(&obj);
  qt_objective_free(&fobj);
  qt_space_free(sp);
  qt_synth_market_fini(&mk);
  return rc;
}
