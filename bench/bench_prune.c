/* Pruning over the data: a TPE study of hedge_grid (sma_cross when hedge_grid
 * is not registered) on synthetic one-minute bars, run in the same process
 * with successive halving (--pruner sha with Optuna's defaults: min_resource
 * auto, reduction_factor 4; checkpoints every 10% of the bars) and without a
 * pruner, for several
 * seeds.  The search runs on the first 75% of the bars; the best trial of
 * each study is then backtested on the last 25% (out of sample).  Prints
 * per mode the summed wall time and the median best in-sample and
 * out-of-sample objective (total_profit) over the seeds, and the wall-time
 * ratio sha / none measured in this run (the target: at most 1/3,
 * with the same median out-of-sample result).
 * Env: BENCH_PRUNE_TRIALS (1000), BENCH_PRUNE_DAYS (180), BENCH_PRUNE_SEEDS
 * (10), BENCH_PRUNE_JOBS (1), BENCH_PRUNE_ETA (4, the reduction factor),
 * BENCH_PRUNE_ONLY_SHA=1 (no baseline: for profiling); BENCH_QUICK=1: 150
 * trials, 20 days, 3 seeds. */
#include "bench.h"
#include "qtune/optimize.h"
#include "qtune/strategies.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long env_long(const char *k, long def) {
  const char *v = getenv(k);
  return v && *v ? atol(v) : def;
}

/* CPU time of the process: with --jobs 1 the work done, steadier than the
 * wall clock on a machine shared with other jobs. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A JSON number, or null for NaN (JSON has no NaN). */
static const char *num(char *buf, size_t cap, double v) {
  if (isfinite(v)) snprintf(buf, cap, "%.4f", v);
  else snprintf(buf, cap, "null");
  return buf;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_d);
  return n == 0 ? NAN : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct outcome {
  double wall_s, cpu_s, best_is, best_oos;
  size_t pruned, done;
} outcome;

/* One study; the best trial's params are then run on the held-out bars. */
static int run_one(const qt_space *sp, const qt_objective *obj, const qt_objective *oos,
                   const qt_pruner *pr, long seed, long trials, long jobs, outcome *out) {
  char path[128], url[160];
  snprintf(path, sizeof path, "/tmp/qt_bench_prune_%ld.db", (long)getpid());
  snprintf(url, sizeof url, "sqlite:///%s", path);
  remove(path);
  qt_study_opts so = qt_study_opts_default();
  so.name = "bench_prune";
  so.storage_url = url;
  so.seed = (uint64_t)seed;
  so.sampler = &qt_sampler_tpe;
  qt_goal_default(&so.goal, 0);
  strcpy(so.goal.metric, "total_profit");
  qt_study *st = NULL;
  qt_err e;
  int r = qt_study_open(&so, sp, &st, &e);
  if (r) goto fail;
  qt_study_set_pruner(st, pr);
  qt_run_opts ro = qt_run_opts_default();
  ro.jobs = (size_t)jobs;
  ro.n_trials = (size_t)trials;
  qt_progress p;
  double t0 = bench_now(), c0 = cpu_now();
  if ((r = qt_study_run(st, obj, &ro, &p, &e)) != 0) goto fail;
  out->wall_s = bench_now() - t0;
  out->cpu_s = cpu_now() - c0;
  out->pruned = p.pruned;
  out->done = p.done;
  long b = qt_study_best(st);
  out->best_is = out->best_oos = NAN;
  if (b >= 0) {
    qt_trial_info ti;
    qt_study_trial_info(st, (size_t)b, &ti);
    out->best_is = ti.objective;
    size_t nd = qt_space_n(sp);
    double x[64], u[64];
    void *w = NULL;
    qt_metric_set m;
    qt_metric_set_init(&m);
    if (nd <= 64 && !qt_space_params_from_json(qt_study_space(st), ti.params_json, x, &e) &&
        !oos->vt->worker_new(oos->shared, &w, &e)) {
      for (size_t k = 0; k < nd; k++) u[k] = qt_space_to_user(qt_study_space(st), k, x[k]);
      if (!oos->vt->eval(w, qt_study_space(st), x, u, 0, &m, &e)) {
        const double *v = qt_metric_set_find(&m, "total_profit");
        if (v) out->best_oos = *v;
      }
      oos->vt->worker_free(w);
    }
    qt_metric_set_fini(&m);
  }
  qt_study_free(st);
  remove(path);
  char side[200];
  snprintf(side, sizeof side, "%s-wal", path);
  remove(side);
  snprintf(side, sizeof side, "%s-shm", path);
  remove(side);
  return 0;
fail:
  fprintf(stderr, "bench_prune: %s\n", e.msg);
  qt_study_free(st);
  return 1;
}

int main(void) {
  int quick = getenv("BENCH_QUICK") && strcmp(getenv("BENCH_QUICK"), "0") != 0;
  long trials = env_long("BENCH_PRUNE_TRIALS", quick ? 150 : 1000);
  long days = env_long("BENCH_PRUNE_DAYS", quick ? 20 : 180);
  long seeds = env_long("BENCH_PRUNE_SEEDS", quick ? 3 : 10);
  long jobs = env_long("BENCH_PRUNE_JOBS", 1);
  if (seeds < 1 || seeds > 100 || trials < 1 || days < 2) {
    fprintf(stderr, "bench_prune: bad settings\n");
    return 1;
  }
  const qt_strategy_vtbl *s = qt_strategy_find("hedge_grid");
  if (!s) s = qt_strategy_find("sma_cross");
  if (!s) return 1;
  qt_synth_opts so = qt_synth_opts_default();
  so.seed = 42;
  so.days = (int)days;
  so.trades_per_min = 1;
  qt_synth_market mk;
  qt_err e;
  if (qt_synth_generate(&so, &mk, &e)) {
    fprintf(stderr, "bench_prune: synth: %s\n", e.msg);
    return 1;
  }
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
  size_t split = mk.bars.n * 3 / 4;
  qt_engine_opts eo = qt_engine_opts_default();
  eo.hedge_mode = (s->needs & QT_NEEDS_HEDGE) != 0;
  eo.to = split; /* in sample: the first 75% */
  qt_engine_opts eo_oos = eo;
  eo_oos.from = split; /* out of sample: the rest, earlier bars as history */
  eo_oos.to = 0;
  qt_space *sp = NULL;
  qt_objective obj = {0}, oos = {0};
  qt_pruner *sha = NULL;
  /* Optuna's SuccessiveHalvingPruner defaults (min_resource auto: 1 here,
   * the last step 10 / 100; reduction_factor 4) unless BENCH_PRUNE_ETA */
  const char *eta = getenv("BENCH_PRUNE_ETA");
  qt_kv po[] = {{"reduction_factor", eta && *eta ? eta : "4"}, {NULL, NULL}};
  double *w_none = calloc((size_t)seeds, sizeof(double)), *w_sha = calloc((size_t)seeds, sizeof(double));
  double *is_none = calloc((size_t)seeds, sizeof(double)), *is_sha = calloc((size_t)seeds, sizeof(double));
  double *o_none = calloc((size_t)seeds, sizeof(double)), *o_sha = calloc((size_t)seeds, sizeof(double));
  int rc = 1;
  size_t pruned = 0, done_sha = 0;
  if (!w_none || !w_sha || !is_none || !is_sha || !o_none || !o_sha) goto done;
  if (qt_space_from_spec(s->params, s->n_params, &sp, &e) ||
      qt_objective_strategy(s, feeds, n_feeds, &eo, NULL, &obj, &e) ||
      qt_objective_strategy(s, feeds, n_feeds, &eo_oos, NULL, &oos, &e) ||
      qt_pruner_new("sha", po, &sha, &e)) {
    fprintf(stderr, "bench_prune: %s\n", e.msg);
    goto done;
  }
  double sum_none = 0, sum_sha = 0, cpu_none = 0, cpu_sha = 0;
  for (long k = 0; k < seeds; k++) {
    outcome a = {0}, b = {0};
    const char *only = getenv("BENCH_PRUNE_ONLY_SHA"); /* profiling: skip the baseline */
    if (!(only && *only == '1') && run_one(sp, &obj, &oos, NULL, k + 1, trials, jobs, &a))
      goto done;
    if (run_one(sp, &obj, &oos, sha, k + 1, trials, jobs, &b)) goto done;
    w_none[k] = a.wall_s, w_sha[k] = b.wall_s;
    is_none[k] = a.best_is, is_sha[k] = b.best_is;
    o_none[k] = a.best_oos, o_sha[k] = b.best_oos;
    sum_none += a.wall_s, sum_sha += b.wall_s;
    cpu_none += a.cpu_s, cpu_sha += b.cpu_s;
    pruned += b.pruned;
    done_sha += b.done;
    fprintf(stderr, "bench_prune: seed %ld: none %.2fs is %.1f oos %.1f | sha %.2fs is %.1f oos %.1f (%zu pruned)\n",
            k + 1, a.wall_s, a.best_is, a.best_oos, b.wall_s, b.best_is, b.best_oos, b.pruned);
  }
  char b[10][32];
  int base = !(getenv("BENCH_PRUNE_ONLY_SHA") && *getenv("BENCH_PRUNE_ONLY_SHA") == '1');
  printf("{\"bench\":\"prune_hedge_grid\",\"strategy\":\"%s\",\"bars\":%zu,\"in_sample_bars\":%zu,"
         "\"trials\":%ld,\"seeds\":%ld,\"jobs\":%ld,\"objective\":\"total_profit\","
         "\"pruner\":\"sha min_resource=auto reduction_factor=%s\","
         "\"wall_s_none\":%s,\"wall_s_sha\":%.3f,\"wall_ratio_sha_over_none\":%s,"
         "\"cpu_s_none\":%s,\"cpu_s_sha\":%.3f,\"cpu_ratio_sha_over_none\":%s,"
         "\"median_best_is_none\":%s,\"median_best_is_sha\":%s,"
         "\"median_best_oos_none\":%s,\"median_best_oos_sha\":%s,"
         "\"pruned_fraction\":%.4f,\"target_ratio\":0.3333}\n",
         s->name, mk.bars.n, split, trials, seeds, jobs, po[0].val,
         num(b[0], 32, base ? sum_none : NAN), sum_sha,
         num(b[1], 32, base && sum_none > 0 ? sum_sha / sum_none : NAN),
         num(b[2], 32, base ? cpu_none : NAN), cpu_sha,
         num(b[3], 32, base && cpu_none > 0 ? cpu_sha / cpu_none : NAN),
         num(b[4], 32, base ? median(is_none, (size_t)seeds) : NAN),
         num(b[5], 32, median(is_sha, (size_t)seeds)),
         num(b[6], 32, base ? median(o_none, (size_t)seeds) : NAN),
         num(b[7], 32, median(o_sha, (size_t)seeds)),
         done_sha ? (double)pruned / (double)done_sha : 0.0);
  rc = 0;
done:
  free(w_none);
  free(w_sha);
  free(is_none);
  free(is_sha);
  free(o_none);
  free(o_sha);
  qt_pruner_free(sha);
  qt_objective_free(&obj);
  qt_objective_free(&oos);
  qt_space_free(sp);
  qt_synth_market_fini(&mk);
  return rc;
}
