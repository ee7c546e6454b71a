/* Search quality: the best value found when minimizing shifted benchmark
 * functions over [-5, 5]^D (every coordinate shifted by 1.3: z = x - 1.3):
 * sphere, Rosenbrock (w = z + 1), Rastrigin and Styblinski-Tang (minus its
 * minimum, so 0 is optimal), D = 5 and 17, after 100 and 300 trials, over 10
 * seeds.  One JSON line per (impl, sampler, function, D, trials) with the
 * median and quartiles of the best value: qtune's tpe and random here, then
 * Optuna's TPESampler from bench/optuna_search.py (all cases in one process),
 * then a line comparing the two proposal distributions from one fixed
 * history (proposals_line), then a summary line counting the cases where
 * qtune's TPE median is at least as good as Optuna's and as random's.
 * The qmc (scrambled Sobol) and cmaes lines run beside Optuna's QMCSampler
 * (scramble=True; it needs scipy: without it optuna_search.py says so on
 * stderr and prints no qmc lines) and CmaEsSampler (python3-cmaes), on the
 * same functions and seeds; the summary counts the cases where each is at
 * least as good as Optuna's same sampler, as random and as qtune's tpe.
 *
 * Environment: BENCH_QUICK=1 uses 3 seeds (both sides), BENCH_SEEDS=N any
 * number up to 64 (30: a steadier comparison; Optuna takes ~45 min), BENCH_SKIP_OPTUNA=1
 * skips Optuna, QT_PYTHON picks the interpreter (default /usr/bin/python3),
 * OPTUNA_SEARCH_RESULTS=FILE reads Optuna's lines from a saved run of
 * optuna_search.py instead of running it (its seeds are fixed, so a saved run
 * is the same run).  For choosing qtune's own settings on other seeds than
 * Optuna's (with BENCH_SKIP_OPTUNA=1): BENCH_SEED0=S starts qtune's seeds at
 * S, BENCH_TPE_N_EI=N gives the "tpe" line N candidates; the summary's
 * tpe_le_tpe_24 and log_ratio_tpe_24 compare it with the 24-candidate line.
 * The full run (10 seeds) takes Optuna several minutes. */
#include "bench.h"
#include "qtune/optimize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SHIFT 1.3
#define ST_MIN (-39.16616570377142)
#define MAXD 17
#define MAXT 300

static double sphere(const double *x, int d) {
  double s = 0;
  for (int i = 0; i < d; i++) s += (x[i] - SHIFT) * (x[i] - SHIFT);
  return s;
}

static double rosenbrock(const double *x, int d) {
  double s = 0;
  for (int i = 0; i + 1 < d; i++) {
    double a = x[i] - SHIFT + 1, b = x[i + 1] - SHIFT + 1;
    s += 100 * (b - a * a) * (b - a * a) + (1 - a) * (1 - a);
  }
  return s;
}

static double rastrigin(const double *x, int d) {
  double s = 10.0 * d;
  for (int i = 0; i < d; i++) {
    double z = x[i] - SHIFT;
    s += z * z - 10 * cos(2 * M_PI * z);
  }
  return s;
}

static double styblinski_tang(const double *x, int d) {
  double s = 0;
  for (int i = 0; i < d; i++) {
    double z = x[i] - SHIFT;
    s += z * z * z * z - 16 * z * z + 5 * z;
  }
  return 0.5 * s - ST_MIN * d;
}

typedef double (*func_fn)(const double *, int);
static const struct {
  const char *name;
  func_fn f;
} FUNCS[] = {{"sphere", sphere}, {"rosenbrock", rosenbrock}, {"rastrigin", rastrigin},
             {"styblinski_tang", styblinski_tang}};
static const int DIMS[] = {5, 17};
static const int TRIALS[] = {100, 300};
#define NF 4
#define ND 2
#define NTR 2

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* numpy.percentile's default (linear) on sorted v. */
static double pct(const double *v, int n, double q) {
  double pos = q * (n - 1);
  int i = (int)floor(pos);
  if (i + 1 >= n) return v[n - 1];
  return v[i] + (pos - i) * (v[i + 1] - v[i]);
}

/* Best value after each checkpoint of TRIALS. */
static void run(const qt_sampler_vtbl *vt, const qt_kv *opts, func_fn f, int d, uint64_t seed,
                double *best_at) {
  static double xs[MAXT][MAXD];
  static qt_trial_view v[MAXT];
  qt_space *sp = NULL;
  qt_err e;
  void *self = NULL;
  if (qt_space_new(&sp, &e)) exit(2);
  for (int k = 0; k < d; k++) {
    qt_dim dm;
    memset(&dm, 0, sizeof dm);
    snprintf(dm.name, sizeof dm.name, "x%d", k);
    dm.type = QT_PARAM_FLOAT;
    dm.lo = -5;
    dm.hi = 5;
    if (qt_space_add(sp, &dm, &e)) exit(2);
  }
  if (vt->create(sp, seed, opts, &self, &e)) {
    fprintf(stderr, "bench_search: %s\n", e.msg);
    exit(2);
  }
  double best = INFINITY;
  int c = 0;
  for (int i = 0; i < TRIALS[NTR - 1]; i++) {
    if (vt->propose(self, v, (size_t)i, xs[i], &e)) {
      fprintf(stderr, "bench_search: %s\n", e.msg);
      exit(2);
    }
    double val = f(xs[i], d);
    v[i] = (qt_trial_view){.number = i, .state = QT_TRIAL_COMPLETE, .x = xs[i], .value = val, .feasible = 1};
    if (val < best) best = val;
    if (i + 1 == TRIALS[c]) best_at[c++] = best;
  }
  vt->destroy(self);
  qt_space_free(sp);
}

#define NS 5
static double g_med[NS][NF][ND][NTR]; /* [tpe, random, tpe_24_candidates, qmc, cmaes] */

static void print_case(const char *impl, const char *sampler, int fi, int di, int ti, int seeds,
                       double *vals) {
  qsort(vals, (size_t)seeds, sizeof vals[0], cmp_dbl);
  printf("{\"bench\":\"search\",\"impl\":\"%s\",\"sampler\":\"%s\",\"func\":\"%s\",\"dims\":%d,"
         "\"trials\":%d,\"seeds\":%d,\"median\":%.6g,\"q1\":%.6g,\"q3\":%.6g}\n",
         impl, sampler, FUNCS[fi].name, DIMS[di], TRIALS[ti], seeds, pct(vals, seeds, 0.5),
         pct(vals, seeds, 0.25), pct(vals, seeds, 0.75));
  fflush(stdout);
}

/* The proposal distribution from one fixed 300-trial history (the formula
 * of bench/optuna_proposals.py): mean, sd and deciles of 20,000 proposals,
 * then Optuna's from the same history, so the medians above can be read
 * against "the same algorithm". */
#define NPROP 20000
static void proposals_line(void) {
  static double x[300], out[NPROP];
  static qt_trial_view v[300];
  qt_space *sp = NULL;
  qt_err e;
  qt_dim d = {.name = "x", .type = QT_PARAM_FLOAT, .lo = -5, .hi = 5};
  void *self = NULL;
  static const qt_kv opt24[] = {{"n_ei_candidates", "24"}, {NULL, NULL}}; /* Optuna's */
  if (qt_space_new(&sp, &e) || qt_space_add(sp, &d, &e) ||
      qt_sampler_tpe.create(sp, 7, opt24, &self, &e)) {
    fprintf(stderr, "bench_search: %s\n", e.msg);
    exit(2);
  }
  for (int i = 0; i < 300; i++) {
    x[i] = 4.995 * sin(1.7 * i + 0.3);
    double val = (x[i] - 1.3) * (x[i] - 1.3) + 1e-3 * (double)((i * 7919) % 101) / 101;
    v[i] = (qt_trial_view){.number = i, .state = QT_TRIAL_COMPLETE, .x = &x[i], .value = val, .feasible = 1};
  }
  double s = 0, s2 = 0;
  for (int t = 0; t < NPROP; t++) {
    if (qt_sampler_tpe.propose(self, v, 300, &out[t], &e)) exit(2);
    s += out[t];
    s2 += out[t] * out[t];
  }
  qt_sampler_tpe.destroy(self);
  qt_space_free(sp);
  qsort(out, NPROP, sizeof out[0], cmp_dbl);
  double mean = s / NPROP;
  printf("{\"bench\":\"tpe_proposals\",\"impl\":\"qtune\",\"draws\":%d,\"mean\":%.6f,\"sd\":%.6f,"
         "\"deciles\":[", NPROP, mean, sqrt(s2 / NPROP - mean * mean));
  for (int q = 1; q <= 9; q++) printf("%s%.6f", q > 1 ? "," : "", pct(out, NPROP, q / 10.0));
  printf("]}\n");
  fflush(stdout);
  if (getenv("BENCH_SKIP_OPTUNA")) return;
  const char *py = getenv("QT_PYTHON") ? getenv("QT_PYTHON") : "/usr/bin/python3";
  char cmd[512], line[1024];
  snprintf(cmd, sizeof cmd, "%s bench/optuna_proposals.py %d", py, NPROP);
  FILE *p = popen(cmd, "r");
  while (p && fgets(line, sizeof line, p)) fputs(line, stdout);
  if (p) pclose(p);
}

int main(void) {
  int seeds = getenv("BENCH_QUICK") ? 3 : 10;
  if (getenv("BENCH_SEEDS")) seeds = atoi(getenv("BENCH_SEEDS"));
  if (seeds < 1 || seeds > 64) {
    fprintf(stderr, "bench_search: BENCH_SEEDS must be 1..64\n");
    return 2;
  }
  uint64_t seed0 = getenv("BENCH_SEED0") ? strtoull(getenv("BENCH_SEED0"), NULL, 10) : 0;
  /* qtune's default tpe (or BENCH_TPE_N_EI candidates), random, and tpe with
   * Optuna's 24 candidates */
  static const qt_kv opt24[] = {{"n_ei_candidates", "24"}, {NULL, NULL}};
  qt_kv optn[] = {{"n_ei_candidates", getenv("BENCH_TPE_N_EI")}, {NULL, NULL}};
  const char *names[NS] = {"tpe", "random", "tpe", "qmc", "cmaes"};
  const char *labels[NS] = {"tpe", "random", "tpe_24_candidates", "qmc", "cmaes"};
  const qt_kv *opts[NS] = {optn[0].val ? optn : NULL, NULL, opt24, NULL, NULL};
  double t0 = bench_now();
  for (int s = 0; s < NS; s++)
    for (int fi = 0; fi < NF; fi++)
      for (int di = 0; di < ND; di++) {
        double vals[NTR][64];
        for (int k = 0; k < seeds; k++) {
          double b[NTR];
          run(qt_sampler_find(names[s]), opts[s], FUNCS[fi].f, DIMS[di], seed0 + (uint64_t)k, b);
          for (int ti = 0; ti < NTR; ti++) vals[ti][k] = b[ti];
        }
        for (int ti = 0; ti < NTR; ti++) {
          print_case("qtune", labels[s], fi, di, ti, seeds, vals[ti]);
          g_med[s][fi][di][ti] = pct(vals[ti], seeds, 0.5);
        }
      }
  fprintf(stderr, "bench_search: qtune side %.1f s\n", bench_now() - t0);
  int n_cases = NF * ND * NTR, tpe_le_random = 0;
  for (int fi = 0; fi < NF; fi++)
    for (int di = 0; di < ND; di++)
      for (int ti = 0; ti < NTR; ti++) tpe_le_random += g_med[0][fi][di][ti] <= g_med[1][fi][di][ti];
  int tpe_le_tpe24 = 0;
  double log_ratio = 0;
  for (int fi = 0; fi < NF; fi++)
    for (int di = 0; di < ND; di++)
      for (int ti = 0; ti < NTR; ti++) {
        tpe_le_tpe24 += g_med[0][fi][di][ti] <= g_med[2][fi][di][ti];
        log_ratio += log(g_med[0][fi][di][ti] / g_med[2][fi][di][ti]) / n_cases;
      }
  /* qmc and cmaes against random and tpe: [qmc, cmaes][random, tpe] */
  int new_le[2][2] = {{0, 0}, {0, 0}};
  for (int fi = 0; fi < NF; fi++)
    for (int di = 0; di < ND; di++)
      for (int ti = 0; ti < NTR; ti++)
        for (int k = 0; k < 2; k++) {
          new_le[k][0] += g_med[3 + k][fi][di][ti] <= g_med[1][fi][di][ti];
          new_le[k][1] += g_med[3 + k][fi][di][ti] <= g_med[0][fi][di][ti];
        }
  int tpe_le_optuna = -1, tpe24_le_optuna = -1, compared = 0;
  int opt_le[2] = {-1, -1}, opt_cases[2] = {0, 0}; /* qmc, cmaes against Optuna's */
  double opt_log_ratio[2] = {0, 0};
  if (!getenv("BENCH_SKIP_OPTUNA")) {
    const char *py = getenv("QT_PYTHON") ? getenv("QT_PYTHON") : "/usr/bin/python3";
    char cmd[512], line[1024];
    snprintf(cmd, sizeof cmd, "%s bench/optuna_search.py --seeds %d --samplers tpe,qmc,cmaes", py,
             seeds);
    const char *saved = getenv("OPTUNA_SEARCH_RESULTS");
    FILE *p = saved ? fopen(saved, "r") : popen(cmd, "r");
    tpe_le_optuna = tpe24_le_optuna = opt_le[0] = opt_le[1] = 0;
    while (p && fgets(line, sizeof line, p)) {
      char func[64] = "";
      int d = 0, t = 0;
      const char *a = strstr(line, "\"func\":\""), *b = strstr(line, "\"dims\":");
      const char *c = strstr(line, "\"trials\":"), *m = strstr(line, "\"median\":");
      if (!a || !b || !c || !m) continue;
      if (!strstr(line, "\"impl\":\"optuna\"")) continue;
      /* which of Optuna's samplers: tpe (no field in older saved runs), qmc, cmaes */
      int which = strstr(line, "\"sampler\":\"qmc\"") ? 0 : strstr(line, "\"sampler\":\"cmaes\"") ? 1 : -1;
      char want[32];
      snprintf(want, sizeof want, "\"seeds\":%d,", seeds);
      if (!strstr(line, want)) continue;
      fputs(line, stdout);
      fflush(stdout);
      sscanf(a + 8, "%63[^\"]", func);
      d = atoi(b + 7);
      t = atoi(c + 9);
      double om = atof(m + 9);
      for (int fi = 0; fi < NF; fi++)
        for (int di = 0; di < ND; di++)
          for (int ti = 0; ti < NTR; ti++)
            if (!strcmp(func, FUNCS[fi].name) && d == DIMS[di] && t == TRIALS[ti] && which >= 0) {
              opt_le[which] += g_med[3 + which][fi][di][ti] <= om;
              opt_log_ratio[which] += log(g_med[3 + which][fi][di][ti] / om);
              opt_cases[which]++;
            } else if (!strcmp(func, FUNCS[fi].name) && d == DIMS[di] && t == TRIALS[ti]) {
              tpe_le_optuna += g_med[0][fi][di][ti] <= om;
              tpe24_le_optuna += g_med[2][fi][di][ti] <= om;
              compared++;
            }
    }
    if (p && saved) fclose(p);
    else if (p) pclose(p);
  }
  proposals_line();
  printf("{\"bench\":\"search_summary\",\"cases\":%d,\"seeds\":%d,\"seed0\":%llu,"
         "\"tpe_le_random\":%d,\"tpe_le_tpe_24\":%d,\"log_ratio_tpe_24\":%.4f,"
         "\"optuna_cases\":%d,\"tpe_le_optuna\":%d,\"tpe_24_candidates_le_optuna\":%d,"
         "\"qmc_le_random\":%d,\"qmc_le_tpe\":%d,\"optuna_qmc_cases\":%d,\"qmc_le_optuna_qmc\":%d,"
         "\"log_ratio_qmc_optuna\":%.4f,\"cmaes_le_random\":%d,\"cmaes_le_tpe\":%d,"
         "\"optuna_cmaes_cases\":%d,\"cmaes_le_optuna_cmaes\":%d,\"log_ratio_cmaes_optuna\":%.4f}\n",
         n_cases, seeds, (unsigned long long)seed0, tpe_le_random, tpe_le_tpe24, log_ratio,
         compared, tpe_le_optuna, tpe24_le_optuna, new_le[0][0], new_le[0][1], opt_cases[0],
         opt_le[0], opt_cases[0] ? opt_log_ratio[0] / opt_cases[0] : 0, new_le[1][0],
         new_le[1][1], opt_cases[1], opt_le[1],
         opt_cases[1] ? opt_log_ratio[1] / opt_cases[1] : 0);
  return 0;
}
