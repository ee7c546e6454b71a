/* Walk-forward at the size: hedge_grid on 6 months of synthetic
 * 1-minute bars (qt_synth_generate), 12 windows that span them all (26 d
 * train + 13 d test stepping 13 d), 200 trials each, 2 jobs, through qt_wf_run; beside it, in
 * the same run, the same work as 12 separate optimize runs (per window an
 * objective, a study, its 200 trials and the best's backtest on the test
 * span), so the line carries the ratio.  Then the walk-forward again with
 * --warm-start against the cold one: time, the mean in-sample best
 * objective and the stitched out-of-sample Sharpe.  Then qtune validate's
 * statistics of a stored study of 1,000 trials x 180 daily returns (the
 * storage read included) beside qt_overfit_pbo alone on the same matrix.
 * Wall and process CPU time; one JSON line each. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "qtune/qtune.h"

enum { DAYS = 182, JOBS = 2 };
/* the size; QT_BENCH_WINDOWS / QT_BENCH_TRIALS shrink it for a quick look */
static int WINDOWS = 12, TRIALS = 200;
#define DAY_MS INT64_C(86400000)

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A fresh SQLite file per tag (and its WAL files); cleanup() removes them. */
static void db_rm(const char *tag) {
  static const char *const ext[] = {"", "-wal", "-shm"};
  for (int k = 0; k < 3; k++) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/qtune_bench_wf_%s_%d.db%s", tag, (int)getpid(), ext[k]);
    unlink(path);
  }
}

static void db_url(char *url, size_t cap, const char *tag) {
  db_rm(tag);
  snprintf(url, cap, "sqlite:////tmp/qtune_bench_wf_%s_%d.db", tag, (int)getpid());
}

static void cleanup(void) {
  static const char *const tags[] = {"wf", "sep", "warm", "validate"};
  for (int k = 0; k < 4; k++) db_rm(tags[k]);
}

/* The 1-minute load average: on a shared machine the wall clock measures
 * the queue too (wall_per_cpu 0.5 is both cores busy with nothing else). */
static double loadavg(void) {
  double l[1] = {NAN};
  return getloadavg(l, 1) == 1 ? l[0] : NAN;
}

static int fail(const char *what, const qt_err *e) {
  fprintf(stderr, "bench_walkforward: %s: %s\n", what, e->msg);
  return 1;
}

/* The 12 windows as 12 separate optimize runs. */
static int separate(const qt_wf_ctx *c, const qt_wf_window *w, size_t nw, qt_err *e) {
  const qt_strategy_vtbl *s = c->strategy;
  char url[300];
  db_url(url, sizeof url, "sep");
  qt_engine *eng = NULL;
  if (qt_engine_new(&c->eo, &eng, e)) return 1;
  double *p = calloc(s->n_params + 1, sizeof *p), *x = calloc(qt_space_n(c->opts.space) + 1, sizeof *x);
  for (size_t k = 0; k < nw; k++) {
    qt_engine_opts eo = c->eo;
    eo.from = w[k].train_from;
    eo.to = w[k].train_to;
    qt_objective obj;
    if (qt_objective_strategy(s, c->feeds, c->n_feeds, &eo, NULL, &obj, e)) return 1;
    char name[64];
    snprintf(name, sizeof name, "sep%02zu", k + 1);
    qt_study_opts so = qt_study_opts_default();
    so.name = name;
    so.storage_url = url;
    so.seed = k;
    so.goal = c->opts.goal;
    qt_study *st = NULL;
    if (qt_study_open(&so, c->opts.space, &st, e)) return 1;
    qt_run_opts ro = qt_run_opts_default();
    ro.jobs = JOBS;
    ro.n_trials = TRIALS;
    if (qt_study_run(st, &obj, &ro, NULL, e)) return 1;
    size_t idx = 0, n = 0;
    if (qt_study_rank(st, &idx, 1, &n, e)) return 1;
    if (n) {
      qt_trial_info ti;
      qt_study_trial_info(st, idx, &ti);
      if (qt_space_params_from_json(c->opts.space, ti.params_json, x, e)) return 1;
      qt_strategy_defaults(s, p);
      for (size_t i = 0; i < s->n_params; i++) {
        int d = qt_space_index(c->opts.space, s->params[i].name);
        if (d >= 0)
          p[i] = s->params[i].type == QT_PARAM_CAT ? x[d] : qt_space_to_user(c->opts.space, (size_t)d, x[d]);
      }
      qt_engine_opts et = c->eo;
      et.from = w[k].test_from;
      et.to = w[k].test_to;
      qt_engine_set_opts(eng, &et);
      qt_result res;
      if (qt_engine_run(eng, c->feeds, c->n_feeds, s, p, &res, e)) return 1;
      qt_metrics m;
      if (qt_metrics_compute(&res, c->feeds[0].bars->close + w[k].test_from, NULL, &m, e)) return 1;
    }
    qt_study_free(st);
    qt_objective_free(&obj);
  }
  free(p);
  free(x);
  qt_engine_free(eng);
  return 0;
}

static void summary(const char *json, double *out_is, double *out_oos) {
  json_t *j = json_loads(json, 0, NULL), *w;
  size_t i, n = 0;
  double s = 0;
  json_array_foreach(json_object_get(j, "windows"), i, w) {
    json_t *v = json_object_get(w, "best_objective");
    if (json_is_number(v)) s += json_number_value(v), n++;
  }
  *out_is = n ? s / (double)n : NAN;
  json_t *m = json_object_get(json_object_get(j, "stitched"), "metrics");
  *out_oos = json_number_value(json_object_get(m, "sharpe"));
  json_decref(j);
}

static int walkforward(void) {
  qt_err e = {0};
  qt_synth_opts so = qt_synth_opts_default();
  so.days = DAYS;
  so.seed = 11;
  qt_synth_market sm;
  if (qt_synth_generate(&so, &sm, &e)) return fail("synth", &e);
  const qt_strategy_vtbl *s = qt_strategy_find("hedge_grid");
  if (!s) return fail("hedge_grid", &e);
  qt_feed feed;
  memset(&feed, 0, sizeof feed);
  feed.inst = qt_instrument_default("SYN");
  feed.bars = &sm.bars;
  feed.funding = &sm.funding;
  qt_space *sp = NULL;
  if (qt_space_from_spec(s->params, s->n_params, &sp, &e)) return fail("space", &e);
  qt_wf_ctx c;
  memset(&c, 0, sizeof c);
  c.strategy = s;
  c.feeds = &feed;
  c.n_feeds = 1;
  c.eo = qt_engine_opts_default();
  c.eo.hedge_mode = 1;
  c.opts = qt_wf_opts_default();
  /* the windows span the whole data: train twice the test, stepping a test */
  const int test_d = DAYS / (WINDOWS + 2), train_d = 2 * test_d;
  c.opts.train_ms = train_d * DAY_MS;
  c.opts.test_ms = test_d * DAY_MS;
  c.opts.n_trials = TRIALS;
  c.opts.jobs = JOBS;
  c.opts.space = sp;
  qt_goal_default(&c.opts.goal, 0); /* the score, no constraints: every window has a best */
  qt_wf_window w[QT_WF_MAX_WINDOWS];
  size_t nw = 0;
  c.to_i = (size_t)((train_d + test_d * WINDOWS) * 1440);
  if (qt_wf_windows(sm.bars.ts_ms, 0, c.to_i, &c.opts, w, QT_WF_MAX_WINDOWS, &nw, &e))
    return fail("windows", &e);
  size_t cap = (size_t)4 << 20;
  char *buf = malloc(cap), *buf2 = malloc(cap), url[300], url2[300];
  c.opts.name = "bench";
  /* two rounds in alternating order, the best of each: on a shared machine
   * the wall clock mostly measures the queue, so CPU time is reported too */
  double t_wf = INFINITY, c_wf = INFINITY, t_sep = INFINITY, c_sep = INFINITY, t0, c0;
  for (int round = 0; round < 2; round++) {
    for (int which = 0; which < 2; which++) {
      int wf = (round + which) % 2 == 0;
      db_url(url, sizeof url, "wf");
      c.opts.storage_url = url;
      t0 = bench_now(), c0 = cpu_now();
      if (wf ? qt_wf_run(&c, buf, cap, &e) : separate(&c, w, nw, &e))
        return fail(wf ? "walk-forward" : "separate runs", &e);
      double t = bench_now() - t0, cp = cpu_now() - c0;
      if (wf) t_wf = t < t_wf ? t : t_wf, c_wf = cp < c_wf ? cp : c_wf;
      else t_sep = t < t_sep ? t : t_sep, c_sep = cp < c_sep ? cp : c_sep;
    }
  }
  printf("{\"bench\":\"walk_forward\",\"strategy\":\"hedge_grid\",\"bars\":%zu,\"windows\":%zu,"
         "\"trials_per_window\":%d,\"jobs\":%d,\"wall_s\":%.3f,\"cpu_s\":%.3f,"
         "\"separate_runs_wall_s\":%.3f,\"separate_runs_cpu_s\":%.3f,\"ratio_wall\":%.3f,"
         "\"ratio_cpu\":%.3f,\"trials_per_s\":%.1f,\"wall_per_cpu\":%.3f,"
         "\"separate_wall_per_cpu\":%.3f,\"loadavg\":%.2f}\n",
         (size_t)c.to_i, nw, TRIALS, JOBS, t_wf, c_wf, t_sep, c_sep, t_wf / t_sep, c_wf / c_sep,
         (double)(nw * TRIALS) / t_wf, t_wf / c_wf, t_sep / c_sep, loadavg());
  fflush(stdout);
  db_url(url2, sizeof url2, "warm");
  c.opts.storage_url = url2;
  c.opts.warm_start = 1;
  t0 = bench_now(), c0 = cpu_now();
  if (qt_wf_run(&c, buf2, cap, &e)) return fail("warm walk-forward", &e);
  double t_warm = bench_now() - t0, c_warm = cpu_now() - c0;
  double is_cold, oos_cold, is_warm, oos_warm;
  summary(buf, &is_cold, &oos_cold);
  summary(buf2, &is_warm, &oos_warm);
  printf("{\"bench\":\"walk_forward_warm_start\",\"windows\":%zu,\"trials_per_window\":%d,"
         "\"warm_top\":%zu,\"warm_wall_s\":%.3f,\"warm_cpu_s\":%.3f,\"cold_wall_s\":%.3f,"
         "\"cold_cpu_s\":%.3f,\"ratio_cpu\":%.3f,\"mean_is_best_score_warm\":%.4f,"
         "\"mean_is_best_score_cold\":%.4f,\"stitched_oos_sharpe_warm\":%.3f,"
         "\"stitched_oos_sharpe_cold\":%.3f}\n",
         nw, TRIALS, c.opts.warm_top, t_warm, c_warm, t_wf, c_wf, c_warm / c_wf, is_warm, is_cold,
         oos_warm, oos_cold);
  free(buf);
  free(buf2);
  qt_space_free(sp);
  qt_synth_market_fini(&sm);
  return 0;
}

/* A stored study of 1,000 trials x 180 daily returns (iid noise), then
 * qt_validate_study against qt_overfit_pbo alone on the same matrix. */
enum { VT = 180, VN = 1000 };

static int validate(void) {
  qt_err e = {0};
  char url[300];
  db_url(url, sizeof url, "validate");
  qt_space *sp = NULL;
  qt_dim d;
  memset(&d, 0, sizeof d);
  snprintf(d.name, sizeof d.name, "x");
  d.type = QT_PARAM_FLOAT;
  d.hi = 1;
  if (qt_space_new(&sp, &e) || qt_space_add(sp, &d, &e)) return fail("space", &e);
  qt_study_opts so = qt_study_opts_default();
  so.name = "v";
  so.storage_url = url;
  so.sampler = &qt_sampler_random;
  qt_goal_default(&so.goal, 0);
  snprintf(so.goal.metric, sizeof so.goal.metric, "sharpe");
  qt_study *st = NULL;
  if (qt_study_open(&so, sp, &st, &e)) return fail("study", &e);
  qt_storage *sto = qt_study_storage(st);
  qt_study_rec rec;
  memset(&rec, 0, sizeof rec);
  if (sto->vt->study_load(sto->self, "v", &rec, &e)) return fail("load", &e);
  double *mat = malloc(sizeof(double) * VT * VN), col[VT];
  qt_rng rng;
  qt_rng_seed(&rng, 5);
  qt_metric_set ms;
  qt_metric_set_init(&ms);
  for (size_t n = 0; n < VN; n++) {
    qt_trial t;
    if (qt_study_ask(st, NULL, "bench", &t, &e)) return fail("ask", &e);
    double s1 = 0, s2 = 0;
    for (size_t k = 0; k < VT; k++) {
      col[k] = 0.01 * qt_rng_normal(&rng);
      mat[k * VN + n] = (double)(float)col[k]; /* as stored */
      s1 += col[k], s2 += col[k] * col[k];
    }
    double mean = s1 / VT;
    qt_metric_set_clear(&ms);
    qt_metric_set_put(&ms, "sharpe", mean / sqrt((s2 - s1 * mean) / (VT - 1)), NULL);
    if (qt_study_tell(st, &t, QT_TRIAL_COMPLETE, &ms, NULL, &e)) return fail("tell", &e);
    if (qt_returns_put(sto, rec.id, t.number, DAY_MS, 0, col, VT, &e)) return fail("put", &e);
    qt_trial_fini(&t);
  }
  qt_metric_set_fini(&ms);
  qt_study_rec_fini(&rec);
  size_t cap = (size_t)1 << 20;
  char *buf = malloc(cap);
  qt_validate_opts vo = qt_validate_opts_default();
  double best_v = INFINITY, best_vc = INFINITY, best_p = INFINITY, best_pc = INFINITY;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = bench_now(), c0 = cpu_now();
    if (qt_validate_study(st, &vo, buf, cap, &e)) return fail("validate", &e);
    double tv = bench_now() - t0, cv = cpu_now() - c0;
    best_v = tv < best_v ? tv : best_v;
    best_vc = cv < best_vc ? cv : best_vc;
    qt_pbo_result pr;
    t0 = bench_now(), c0 = cpu_now();
    if (qt_overfit_pbo(mat, VT, VN, NULL, &pr, &e)) return fail("pbo", &e);
    double tp = bench_now() - t0, cp = cpu_now() - c0;
    qt_pbo_result_fini(&pr);
    best_p = tp < best_p ? tp : best_p;
    best_pc = cp < best_pc ? cp : best_pc;
  }
  json_t *j = json_loads(buf, 0, NULL);
  double pbo = json_number_value(json_object_get(json_object_get(j, "pbo"), "pbo"));
  double dsr = json_number_value(json_object_get(json_object_get(j, "sharpe"), "dsr"));
  json_decref(j);
  printf("{\"bench\":\"validate_study\",\"trials\":%d,\"periods\":%d,\"blocks\":16,"
         "\"spa_boot\":%zu,\"wall_s\":%.3f,\"cpu_s\":%.3f,\"pbo_alone_wall_s\":%.3f,"
         "\"pbo_alone_cpu_s\":%.3f,\"ratio_cpu\":%.2f,\"pbo\":%.3f,\"dsr\":%.3f}\n",
         VN, VT, vo.spa.n_boot, best_v, best_vc, best_p, best_pc, best_vc / best_pc, pbo, dsr);
  free(buf);
  free(mat);
  qt_study_free(st);
  qt_space_free(sp);
  return 0;
}

int main(int argc, char **argv) {
  if (getenv("QT_BENCH_WINDOWS")) WINDOWS = atoi(getenv("QT_BENCH_WINDOWS"));
  if (getenv("QT_BENCH_TRIALS")) TRIALS = atoi(getenv("QT_BENCH_TRIALS"));
  if (WINDOWS < 1 || WINDOWS > 24 || TRIALS < 1) return fprintf(stderr, "bad sizes\n"), 2;
  int only_validate = argc > 1 && !strcmp(argv[1], "validate");
  atexit(cleanup);
  if (!only_validate && walkforward()) return 1;
  return validate();
}
