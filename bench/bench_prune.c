/* Pruning over the data: a TPE study of hedge_grid (sma_cross when hedge_grid
 * is not registered) on synthetic one-minute bars, run in the same process
 * with successive halving (--pruner sha with Optuna's defaults: min_resource
 * auto, reduction_factor 4; checkpoints every 5% of the bars, so min_resource
 * is 1 step = 5% and the rungs are at 5%, 20% and 80%) and without a
 * pruner, for several seeds (the same seeds in both modes).  The search runs
 * on the first 75% of the bars; the best complete trial of each study (by
 * its in-sample total_profit) is then backtested on the last 25% (out of
 * sample, the earlier bars as indicator history): its total_profit there is
 * the seed's "best out-of-sample".  Prints one JSON object: per seed the best
 * in-sample and out-of-sample results, wall and CPU time and pruned trials
 * of both modes; their medians and quartiles over the seeds, how many seeds
 * sha did at least as well, a bootstrap 90% interval of the difference of the
 * medians (sha - none, seeds resampled in pairs: the seed-to-seed noise), and
 * the wall and CPU time ratios sha / none of this run (the target:
 * at most 1/3, with the same median out-of-sample result).
 * Env: BENCH_PRUNE_TRIALS (1000), BENCH_PRUNE_DAYS (180), BENCH_PRUNE_SEEDS
 * (10), BENCH_PRUNE_JOBS (1), BENCH_PRUNE_ETA (4, the reduction factor),
 * BENCH_PRUNE_MIN_RESOURCE (auto), BENCH_PRUNE_EVERY (0.05, the checkpoints'
 * fraction of the bars; 0: the library's default, 0.1), BENCH_PRUNE_ONLY_SHA=1 (no baseline: for profiling); BENCH_QUICK=1: 150
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

typedef struct outcome {
  double wall_s, cpu_s, best_is, best_oos;
  size_t pruned, done;
} outcome;

/* One study; the best trial's params are then run on the held-out bars. */
static int run_one(const qt_space *sp, const qt_objective *obj, const qt_objective *oos,
                   const qt_pruner *pr, long seed, long trials, long jobs, double every,
                   outcome *out) {
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
  if (pr) ro.report_every = every; /* 0: the library's default, every 10% */
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

/* The q-quantile of v[0..n) (sorted in place), linear between ranks; NaN
 * for none. */
static double quantile(double *v, size_t n, double q) {
  if (!n) return NAN;
  qsort(v, n, sizeof *v, cmp_d);
  double pos = q * (double)(n - 1);
  size_t lo = (size_t)pos, hi = lo + 1 < n ? lo + 1 : lo;
  return v[lo] + (v[hi] - v[lo]) * (pos - (double)lo);
}

/* A bootstrap 90% interval of median(b) - median(a), the seeds drawn in
 * pairs (the same seed in both modes), from a fixed generator seed. */
static void boot_diff(const double *a, const double *b, size_t n, double out[2]) {
  enum { N_BOOT = 2000 };
  double *d = malloc(N_BOOT * sizeof *d), *x = malloc(2 * n * sizeof *x);
  out[0] = out[1] = NAN;
  if (!d || !x || !n) goto done;
  qt_rng r;
  qt_rng_seed(&r, 12345);
  for (size_t k = 0; k < N_BOOT; k++) {
    for (size_t i = 0; i < n; i++) {
      size_t j = (size_t)(qt_rng_uniform(&r) * (double)n);
      if (j >= n) j = n - 1;
      x[i] = a[j];
      x[n + i] = b[j];
    }
    d[k] = quantile(x + n, n, 0.5) - quantile(x, n, 0.5);
  }
  out[0] = quantile(d, N_BOOT, 0.05);
  out[1] = quantile(d, N_BOOT, 0.95);
done:
  free(d);
  free(x);
}

/* "name":[v0,v1,...] (null for NaN) */
static void put_array(const char *name, const double *v, size_t n) {
  char b[32];
  printf(",\"%s\":[", name);
  for (size_t i = 0; i < n; i++) printf("%s%s", i ? "," : "", num(b, sizeof b, v[i]));
  printf("]");
}

static void put_num(const char *name, double v) {
  char b[32];
  printf(",\"%s\":%s", name, num(b, sizeof b, v));
}

/* Medians and quartiles of a copy of v[0..n). */
static void put_spread(const char *name, const double *v, size_t n) {
  double *c = malloc((n ? n : 1) * sizeof *c);
  if (!c) return;
  memcpy(c, v, n * sizeof *c);
  char key[64];
  snprintf(key, sizeof key, "median_%s", name);
  put_num(key, quantile(c, n, 0.5));
  snprintf(key, sizeof key, "q25_%s", name);
  put_num(key, quantile(c, n, 0.25));
  snprintf(key, sizeof key, "q75_%s", name);
  put_num(key, quantile(c, n, 0.75));
  free(c);
}

enum { M_NONE, M_SHA, N_MODES };
enum { F_IS, F_OOS, F_WALL, F_CPU, F_PRUNED, N_FIELDS };

int main(void) {
  int quick = getenv("BENCH_QUICK") && strcmp(getenv("BENCH_QUICK"), "0") != 0;
  long trials = env_long("BENCH_PRUNE_TRIALS", quick ? 150 : 1000);
  long days = env_long("BENCH_PRUNE_DAYS", quick ? 20 : 180);
  long seeds = env_long("BENCH_PRUNE_SEEDS", quick ? 3 : 10);
  long jobs = env_long("BENCH_PRUNE_JOBS", 1);
  const char *ev = getenv("BENCH_PRUNE_EVERY");
  /* checkpoints every 5% of the bars (rungs at 5%, 20% and 80%): with the
   * library's default of 10% (rungs at 10% and 40%) the pruned studies took
   * 0.35 of the time (docs/pruning.md) */
  double every = ev && *ev ? atof(ev) : 0.05;
  const char *only = getenv("BENCH_PRUNE_ONLY_SHA"); /* profiling: skip the baseline */
  int base = !(only && *only == '1');
  if (seeds < 1 || seeds > 100 || trials < 1 || days < 2 || jobs < 1 || !(every >= 0 && every < 1)) {
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
  const char *mr = getenv("BENCH_PRUNE_MIN_RESOURCE");
  qt_kv po[] = {{"reduction_factor", eta && *eta ? eta : "4"},
                {"min_resource", mr && *mr ? mr : "auto"},
                {NULL, NULL}};
  size_t ns = (size_t)seeds;
  double *f[N_MODES][N_FIELDS] = {{NULL}};
  int rc = 1, ok = 1;
  for (int m = 0; m < N_MODES; m++)
    for (int k = 0; k < N_FIELDS; k++) ok &= (f[m][k] = calloc(ns, sizeof(double))) != NULL;
  if (!ok) goto done;
  if (qt_space_from_spec(s->params, s->n_params, &sp, &e) ||
      qt_objective_strategy(s, feeds, n_feeds, &eo, NULL, &obj, &e) ||
      qt_objective_strategy(s, feeds, n_feeds, &eo_oos, NULL, &oos, &e) ||
      qt_pruner_new("sha", po, &sha, &e)) {
    fprintf(stderr, "bench_prune: %s\n", e.msg);
    goto done;
  }
  double sum[N_MODES][2] = {{0}}; /* wall, cpu */
  size_t pruned = 0, done_sha = 0;
  for (size_t k = 0; k < ns; k++) {
    outcome o[N_MODES];
    memset(o, 0, sizeof o);
    for (int m = base ? 0 : 1; m < N_MODES; m++) {
      if (run_one(sp, &obj, &oos, m == M_SHA ? sha : NULL, (long)k + 1, trials, jobs, every,
                  &o[m]))
        goto done;
    }
    if (!base) o[M_NONE].best_is = o[M_NONE].best_oos = o[M_NONE].wall_s = o[M_NONE].cpu_s = NAN;
    for (int m = 0; m < N_MODES; m++) {
      f[m][F_IS][k] = o[m].best_is;
      f[m][F_OOS][k] = o[m].best_oos;
      f[m][F_WALL][k] = o[m].wall_s;
      f[m][F_CPU][k] = o[m].cpu_s;
      f[m][F_PRUNED][k] = (double)o[m].pruned;
      sum[m][0] += o[m].wall_s;
      sum[m][1] += o[m].cpu_s;
    }
    pruned += o[M_SHA].pruned;
    done_sha += o[M_SHA].done;
    fprintf(stderr,
            "bench_prune: seed %zu: none %.2fs cpu %.2fs is %.1f oos %.1f | sha %.2fs cpu %.2fs is "
            "%.1f oos %.1f (%zu pruned)\n",
            k + 1, o[M_NONE].wall_s, o[M_NONE].cpu_s, o[M_NONE].best_is, o[M_NONE].best_oos,
            o[M_SHA].wall_s, o[M_SHA].cpu_s, o[M_SHA].best_is, o[M_SHA].best_oos, o[M_SHA].pruned);
  }
  printf("{\"bench\":\"prune_hedge_grid\",\"strategy\":\"%s\",\"bars\":%zu,\"in_sample_bars\":%zu,"
         "\"trials\":%ld,\"seeds\":%ld,\"jobs\":%ld,\"objective\":\"total_profit\","
         "\"pruner\":\"sha min_resource=%s reduction_factor=%s\",\"report_every\":%.4f",
         s->name, mk.bars.n, split, trials, seeds, jobs, po[1].val, po[0].val,
         every > 0 ? every : 0.1);
  static const char *const mode[N_MODES] = {"none", "sha"};
  char key[64];
  for (int m = 0; m < N_MODES; m++) {
    snprintf(key, sizeof key, "best_oos_%s", mode[m]);
    put_array(key, f[m][F_OOS], ns);
    snprintf(key, sizeof key, "best_is_%s", mode[m]);
    put_array(key, f[m][F_IS], ns);
    snprintf(key, sizeof key, "cpu_s_%s_seeds", mode[m]);
    put_array(key, f[m][F_CPU], ns);
  }
  put_array("pruned_sha", f[M_SHA][F_PRUNED], ns);
  for (int m = 0; m < N_MODES; m++) {
    snprintf(key, sizeof key, "best_is_%s", mode[m]);
    put_spread(key, f[m][F_IS], ns);
    snprintf(key, sizeof key, "best_oos_%s", mode[m]);
    put_spread(key, f[m][F_OOS], ns);
  }
  size_t ge = 0;
  for (size_t k = 0; k < ns; k++) ge += f[M_SHA][F_OOS][k] >= f[M_NONE][F_OOS][k];
  double ci[2] = {NAN, NAN};
  if (base) boot_diff(f[M_NONE][F_OOS], f[M_SHA][F_OOS], ns, ci);
  if (base) printf(",\"seeds_oos_sha_ge_none\":%zu", ge);
  put_num("median_oos_diff_ci90_lo", ci[0]);
  put_num("median_oos_diff_ci90_hi", ci[1]);
  put_num("wall_s_none", base ? sum[M_NONE][0] : NAN);
  put_num("wall_s_sha", sum[M_SHA][0]);
  put_num("wall_ratio_sha_over_none", base && sum[M_NONE][0] > 0 ? sum[M_SHA][0] / sum[M_NONE][0] : NAN);
  put_num("cpu_s_none", base ? sum[M_NONE][1] : NAN);
  put_num("cpu_s_sha", sum[M_SHA][1]);
  put_num("cpu_ratio_sha_over_none", base && sum[M_NONE][1] > 0 ? sum[M_SHA][1] / sum[M_NONE][1] : NAN);
  printf(",\"pruned_fraction\":%.4f,\"target_ratio\":0.3333}\n",
         done_sha ? (double)pruned / (double)done_sha : 0.0);
  rc = 0;
done:
  for (int m = 0; m < N_MODES; m++)
    for (int k = 0; k < N_FIELDS; k++) free(f[m][k]);
  qt_pruner_free(sha);
  qt_objective_free(&obj);
  qt_objective_free(&oos);
  qt_space_free(sp);
  qt_synth_market_fini(&mk);
  return rc;
}
