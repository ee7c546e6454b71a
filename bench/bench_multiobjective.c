/* Several objectives: search quality and sampler time.
 *
 * Quality: the hypervolume of all trials so far against a reference point
 * of 11 (ZDT) or 3 (DTLZ2) in every objective, minimizing ZDT1 and ZDT2 (10 params), DTLZ2
 * with 2 objectives (11 params) and with 3 (12 params) over [0,1]^n
 * (qt_mo_function), after 300 and 1,000 trials, median and quartiles over
 * the seeds, for qtune's nsgaii, motpe and random; then Optuna 3.1's
 * NSGAIISampler and TPESampler (multi-objective) on the same problems,
 * reference and seeds from bench/optuna_multiobjective.py (all cases in one
 * process, run through popen in this same run), then one line per case
 * (problem, trials) with both samplers' medians beside Optuna's, their ratio
 * and at_least_as_good, and a summary per sampler.
 *
 * Seeds: 10 by default for qtune's samplers and Optuna's NSGA-II.  Optuna's
 * multi-objective TPE costs far more (3.1 recomputes every trial's
 * nondomination rank and hypervolume subset for every param of every
 * trial; the script memoizes that within a trial, the same samples bit for
 * bit: ~60 s of CPU for one 1,000-trial run of ZDT1, 7-16 min for DTLZ2 with
 * 3 objectives), so its seeds are set per number of trials:
 * BENCH_MO_OPTUNA_MOTPE_SEEDS (default 300:10,1000:10) and
 * BENCH_MO_OPTUNA_MOTPE_SEEDS_3OBJ for DTLZ2 with 3 objectives (default
 * 300:10,1000:1: seeds 0..9 to 300 trials, seed 0 on to 1,000).  Each case
 * line states both seed counts, and where Optuna ran fewer it adds qtune's
 * median over the same seeds.
 *
 * Time: the sampler's own time per trial over trials 991..1000 (wall and
 * process CPU) of nsgaii and motpe on ZDT1 and of cmaes on a 10-parameter
 * sphere over [-5,5] (shifted by 1.3), beside Optuna's NSGAIISampler,
 * TPESampler (its 1,000-trial ZDT1 run of seed 0) and CmaEsSampler (ask +
 * tell of an in-memory study) measured by the same script in the same run,
 * and their ratio (optuna_over_qtune).
 *
 * Environment: BENCH_QUICK=1 uses 2 seeds (both sides; Optuna's MOTPE seeds
 * are capped by them: 2 at 300 trials, 1 at 1,000), BENCH_SEEDS=N any number up to 32 (default 10),
 * BENCH_MO_TRIALS=300 stops at 300 trials, BENCH_MO_OPTUNA_SAMPLERS=nsgaii
 * runs only that one of Optuna's (default nsgaii,motpe), BENCH_SKIP_OPTUNA=1
 * skips Optuna, QT_PYTHON picks the interpreter (default /usr/bin/python3),
 * OPTUNA_MO_RESULTS=FILE reads Optuna's lines from a saved run of
 * optuna_multiobjective.py (fixed
 * seeds: a saved run is the same run). */
#include "bench.h"
#include "qtune/optimize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAXS 32
#define MAXT 1000
#define MAXD 12

/* the reference point, the same value in every objective: loose enough that
 * a few hundred trials of 10-12 params reach inside it */
static const struct { const char *name; int dims, m; double ref; } PROB[] = {
    {"zdt1", 10, 2, 11}, {"zdt2", 10, 2, 11}, {"dtlz2", 11, 2, 3}, {"dtlz2_3", 12, 3, 3}};
#define NP 4
static const char *const SAMP[] = {"nsgaii", "motpe", "random"};
#define NS 3

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static qt_space *box(int n, double lo, double hi) {
  qt_space *sp = NULL;
  if (qt_space_new(&sp, NULL)) return NULL;
  for (int k = 0; k < n; k++) {
    qt_dim d;
    memset(&d, 0, sizeof d);
    snprintf(d.name, sizeof d.name, "x%d", k);
    d.type = QT_PARAM_FLOAT;
    d.lo = lo;
    d.hi = hi;
    d.def = lo;
    if (qt_space_add(sp, &d, NULL)) {
      qt_space_free(sp);
      return NULL;
    }
  }
  return sp;
}

static double *g_x, *g_f, *g_t, *g_c;
static qt_trial_view *g_v;

/* Runs n trials of problem p; hv at each checkpoint into hv[]; per-trial
 * sampler wall/CPU seconds into g_t/g_c. */
static void run(const qt_sampler_vtbl *vt, int p, uint64_t seed, int n, const int *cps, int ncp,
                double *hv) {
  int d = PROB[p].dims, m = PROB[p].m, ci = 0;
  qt_space *sp = box(d, 0, 1);
  void *self = NULL;
  qt_err e;
  if (!sp || vt->create(sp, seed, NULL, &self, &e)) {
    fprintf(stderr, "bench_multiobjective: setup failed\n");
    exit(2);
  }
  for (int i = 0; i < n; i++) {
    double *x = g_x + (size_t)i * MAXD, *f = g_f + (size_t)i * 3;
    double t0 = bench_now(), c0 = cpu_now();
    if (vt->propose(self, g_v, (size_t)i, x, &e)) {
      fprintf(stderr, "bench_multiobjective: %s\n", e.msg);
      exit(2);
    }
    g_t[i] = bench_now() - t0;
    g_c[i] = cpu_now() - c0;
    size_t mm;
    qt_mo_function(PROB[p].name, x, (size_t)d, f, &mm);
    g_v[i] = (qt_trial_view){.number = i, .state = QT_TRIAL_COMPLETE, .x = x, .value = f[0],
                             .feasible = 1, .values = f, .n_values = (size_t)m};
    if (ci < ncp && i + 1 == cps[ci]) {
      double ref[3] = {PROB[p].ref, PROB[p].ref, PROB[p].ref}, pts[MAXT * 3];
      for (int j = 0; j <= i; j++) memcpy(pts + j * m, g_f + (size_t)j * 3, (size_t)m * sizeof *pts);
      if (qt_hypervolume(pts, (size_t)i + 1, (size_t)m, ref, &hv[ci], &e)) exit(2);
      ci++;
    }
  }
  vt->destroy(self);
  qt_space_free(sp);
}

/* numpy's percentile with linear interpolation. */
static double pct(double *v, int n, double q) {
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  double pos = q * (n - 1);
  int lo = (int)floor(pos);
  return lo + 1 < n ? v[lo] + (pos - lo) * (v[lo + 1] - v[lo]) : v[lo];
}

static double window_ms(const double *t, int lo, int hi) {
  double s = 0;
  for (int i = lo - 1; i < hi; i++) s += t[i];
  return 1e3 * s / (hi - lo + 1);
}

/* cmaes on the shifted sphere: the time of trials 991..1000. */
static void cmaes_time(double *ms, double *cpu) {
  qt_space *sp = box(10, -5, 5);
  void *self = NULL;
  qt_err e;
  if (!sp || qt_sampler_find("cmaes")->create(sp, 0, NULL, &self, &e)) exit(2);
  const qt_sampler_vtbl *vt = qt_sampler_find("cmaes");
  for (int i = 0; i < MAXT; i++) {
    double *x = g_x + (size_t)i * MAXD;
    double t0 = bench_now(), c0 = cpu_now();
    if (vt->propose(self, g_v, (size_t)i, x, &e)) exit(2);
    g_t[i] = bench_now() - t0;
    g_c[i] = cpu_now() - c0;
    double v = 0;
    for (int k = 0; k < 10; k++) v += (x[k] - 1.3) * (x[k] - 1.3);
    g_v[i] = (qt_trial_view){.number = i, .state = QT_TRIAL_COMPLETE, .x = x, .value = v,
                             .feasible = 1};
  }
  *ms = window_ms(g_t, MAXT - 9, MAXT);
  *cpu = window_ms(g_c, MAXT - 9, MAXT);
  vt->destroy(self);
  qt_space_free(sp);
}

int main(void) {
  int seeds = getenv("BENCH_QUICK") ? 2 : 10;
  if (getenv("BENCH_SEEDS")) seeds = atoi(getenv("BENCH_SEEDS"));
  if (seeds < 1 || seeds > MAXS) seeds = seeds < 1 ? 1 : MAXS;
  int cps[2] = {300, 1000}, ncp = 2;
  if (getenv("BENCH_MO_TRIALS") && atoi(getenv("BENCH_MO_TRIALS")) == 300) ncp = 1;
  int n = cps[ncp - 1];
  g_x = calloc((size_t)MAXT * MAXD, sizeof *g_x);
  g_f = calloc((size_t)MAXT * 3, sizeof *g_f);
  g_t = calloc(MAXT, sizeof *g_t);
  g_c = calloc(MAXT, sizeof *g_c);
  g_v = calloc(MAXT, sizeof *g_v);
  if (!g_x || !g_f || !g_t || !g_c || !g_v) return 2;
  static double med[NS][NP][2], hvs[NS][NP][2][MAXS];
  double nsga_ms = NAN, nsga_cpu = NAN, motpe_ms = NAN, motpe_cpu = NAN;
  for (int s = 0; s < NS; s++)
    for (int p = 0; p < NP; p++) {
      double hv[2][MAXS];
      for (int k = 0; k < seeds; k++) {
        double h[2];
        run(qt_sampler_find(SAMP[s]), p, (uint64_t)k, n, cps, ncp, h);
        for (int c = 0; c < ncp; c++) hv[c][k] = hvs[s][p][c][k] = h[c];
        if (s < 2 && p == 0 && k == 0 && n == MAXT) {
          *(s ? &motpe_ms : &nsga_ms) = window_ms(g_t, MAXT - 9, MAXT);
          *(s ? &motpe_cpu : &nsga_cpu) = window_ms(g_c, MAXT - 9, MAXT);
        }
      }
      for (int c = 0; c < ncp; c++) {
        double q1 = pct(hv[c], seeds, 0.25), md = pct(hv[c], seeds, 0.5),
               q3 = pct(hv[c], seeds, 0.75);
        med[s][p][c] = md;
        printf("{\"bench\":\"multiobjective\",\"impl\":\"qtune\",\"sampler\":\"%s\",\"problem\":\"%s\","
               "\"dims\":%d,\"objectives\":%d,\"trials\":%d,\"seeds\":%d,\"ref\":%.1f,"
               "\"median_hv\":%.6f,\"q1\":%.6f,\"q3\":%.6f}\n",
               SAMP[s], PROB[p].name, PROB[p].dims, PROB[p].m, cps[c], seeds, PROB[p].ref, md, q1, q3);
        fflush(stdout);
      }
    }
  double cma_ms, cma_cpu;
  cmaes_time(&cma_ms, &cma_cpu);
  if (n == MAXT)
    for (int s = 0; s < 2; s++)
      printf("{\"bench\":\"sampler_time\",\"impl\":\"qtune\",\"sampler\":\"%s\",\"problem\":\"zdt1\","
             "\"window\":\"991-1000\",\"ms_per_trial\":%.6f,\"cpu_ms_per_trial\":%.6f}\n",
             SAMP[s], s ? motpe_ms : nsga_ms, s ? motpe_cpu : nsga_cpu);
  printf("{\"bench\":\"sampler_time\",\"impl\":\"qtune\",\"sampler\":\"cmaes\",\"problem\":\"sphere10\","
         "\"window\":\"991-1000\",\"ms_per_trial\":%.6f,\"cpu_ms_per_trial\":%.6f}\n",
         cma_ms, cma_cpu);
  fflush(stdout);
  if (getenv("BENCH_SKIP_OPTUNA")) return 0;

  /* Optuna in the same run: its medians by [sampler][problem][checkpoint],
   * NAN where it has no result (MOTPE's 1,000-trial DTLZ2 with 3 objectives
   * by default) */
  const char *py = getenv("QT_PYTHON") ? getenv("QT_PYTHON") : "/usr/bin/python3";
  char cmd[768], line[2048];
  const char *os = getenv("BENCH_MO_OPTUNA_SAMPLERS");
  if (!os || strspn(os, "nsgaimotpe,") != strlen(os)) os = "nsgaii,motpe";
  const char *ms2 = getenv("BENCH_MO_OPTUNA_MOTPE_SEEDS"), *ms3 = getenv("BENCH_MO_OPTUNA_MOTPE_SEEDS_3OBJ");
  if (!ms2 || strspn(ms2, "0123456789:,") != strlen(ms2)) ms2 = "300:10,1000:10";
  if (!ms3 || strspn(ms3, "0123456789:,") != strlen(ms3)) ms3 = "300:10,1000:1";
  snprintf(cmd, sizeof cmd,
           "BENCH_QUICK= %s bench/optuna_multiobjective.py --seeds %d --trials %s --samplers %s "
           "--motpe-seeds %s --motpe-seeds-3obj %s --timing",
           py, seeds, ncp == 2 ? "300,1000" : "300", os, ms2, ms3);
  const char *saved = getenv("OPTUNA_MO_RESULTS");
  FILE *pp = saved ? fopen(saved, "r") : popen(cmd, "r");
  double omed[2][NP][2], ocpu[2][NP][2];
  int oseeds[2][NP][2];
  for (int s = 0; s < 2; s++)
    for (int p = 0; p < NP; p++)
      for (int c = 0; c < 2; c++) {
        omed[s][p][c] = ocpu[s][p][c] = NAN;
        oseeds[s][p][c] = 0;
      }
  while (pp && fgets(line, sizeof line, pp)) {
    fputs(line, stdout);
    fflush(stdout);
    const char *ms = strstr(line, "\"ms_per_trial\":"), *cm = strstr(line, "\"cpu_ms_per_trial\":");
    if (strstr(line, "\"bench\":\"sampler_time\"") && ms && cm) {
      int is_cma = strstr(line, "\"sampler\":\"cmaes\"") != NULL,
          is_mo = strstr(line, "\"sampler\":\"motpe\"") != NULL;
      double q = is_cma ? cma_ms : is_mo ? motpe_ms : nsga_ms,
             qc = is_cma ? cma_cpu : is_mo ? motpe_cpu : nsga_cpu;
      if (!isnan(q))
        printf("{\"bench\":\"sampler_time_ratio\",\"sampler\":\"%s\",\"window\":\"991-1000\","
               "\"optuna_over_qtune\":%.1f,\"cpu_optuna_over_qtune\":%.1f}\n",
               is_cma ? "cmaes" : is_mo ? "motpe" : "nsgaii", atof(ms + 15) / q, atof(cm + 19) / qc);
      continue;
    }
    const char *pr = strstr(line, "\"problem\":\""), *tr = strstr(line, "\"trials\":"),
               *md = strstr(line, "\"median_hv\":"), *sd = strstr(line, "\"seeds\":"),
               *cs = strstr(line, "\"cpu_s_per_run\":");
    if (!strstr(line, "\"bench\":\"multiobjective\"") || !pr || !tr || !md || !sd) continue;
    int s = strstr(line, "\"sampler\":\"nsgaii\"") ? 0 : strstr(line, "\"sampler\":\"motpe\"") ? 1 : -1;
    int p = -1, c = -1, t = atoi(tr + 9);
    for (int k = 0; k < NP; k++) {
      char want[48];
      snprintf(want, sizeof want, "\"problem\":\"%s\"", PROB[k].name);
      if (strstr(line, want)) p = k;
    }
    for (int k = 0; k < ncp; k++)
      if (cps[k] == t) c = k;
    if (s < 0 || p < 0 || c < 0) continue;
    omed[s][p][c] = atof(md + 12);
    oseeds[s][p][c] = atoi(sd + 8);
    if (cs) ocpu[s][p][c] = atof(cs + 16);
  }
  if (pp) saved ? fclose(pp) : pclose(pp);
  /* one line per case: both samplers' medians beside Optuna's; qtune's
   * median over Optuna's seeds too where Optuna ran fewer (its MOTPE) */
  int cases[2] = {0, 0}, ge[2] = {0, 0};
  double log_ratio[2] = {0, 0};
  for (int p = 0; p < NP; p++)
    for (int c = 0; c < ncp; c++) {
      printf("{\"bench\":\"multiobjective_case\",\"problem\":\"%s\",\"objectives\":%d,\"trials\":%d",
             PROB[p].name, PROB[p].m, cps[c]);
      for (int s = 0; s < 2; s++) {
        double qm = med[s][p][c], om = omed[s][p][c];
        int k = oseeds[s][p][c];
        printf(",\"%s\":{\"qtune_median_hv\":%.6f,\"qtune_seeds\":%d", SAMP[s], qm, seeds);
        if (isnan(om)) {
          printf(",\"optuna_median_hv\":null,\"optuna_seeds\":0,\"at_least_as_good\":null}");
          continue;
        }
        double same[MAXS];
        memcpy(same, hvs[s][p][c], sizeof same);
        int ks = k < seeds ? k : seeds;
        printf(",\"qtune_median_hv_optuna_seeds\":%.6f,\"optuna_median_hv\":%.6f,\"optuna_seeds\":%d,"
               "\"optuna_cpu_s_per_run\":%.2f,\"ratio\":%.4f,\"at_least_as_good\":%s}",
               pct(same, ks > 0 ? ks : 1, 0.5), om, k, isnan(ocpu[s][p][c]) ? -1.0 : ocpu[s][p][c],
               qm / om, qm >= om ? "true" : "false");
        cases[s]++;
        ge[s] += qm >= om;
        if (qm > 0 && om > 0) log_ratio[s] += log(qm / om);
      }
      printf("}\n");
    }
  for (int s = 0; s < 2; s++)
    printf("{\"bench\":\"multiobjective_summary\",\"sampler\":\"%s\",\"qtune_seeds\":%d,\"cases\":%d,"
           "\"at_least_as_good\":%d,\"mean_log_ratio_hv\":%.4f}\n",
           SAMP[s], seeds, cases[s], ge[s], cases[s] ? log_ratio[s] / cases[s] : 0.0);
  free(g_x);
  free(g_f);
  free(g_t);
  free(g_c);
  free(g_v);
  return 0;
}
