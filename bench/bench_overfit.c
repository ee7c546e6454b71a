/* PBO by CSCV at the size: S = 16 blocks (C(16,8) = 12,870
 * combinations) over 1,000 trials x 180 daily returns, best of 3 runs of
 * qt_overfit_pbo, beside a naive CSCV in the same run: for each combination
 * it walks all T rows of every trial (O(N T) per combination instead of the
 * library's O(N S) from per-block sums), timed on the first NAIVE_COMB
 * combinations and scaled to all 12,870, so the figure is a ratio measured on
 * this machine at this moment.  The naive PBO over those combinations must
 * agree with the library's (it checks the same selection), or the line says
 * "agree":false.  Also times qt_overfit_spa (1000 resamples) and the DSR of
 * the same matrix.  One JSON line each. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "qtune/validate.h"

enum { T = 180, N = 1000, S = 16, REPS = 3, NAIVE_COMB = 200 };

static volatile double sink;

/* Process CPU time: on a machine shared with other jobs the wall clock
 * mostly measures the queue, so both are reported. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static size_t block_of[T]; /* the library's blocks: rows [b T/S, (b+1) T/S) */

/* Sharpe of trial n over the rows whose block is (in) or is not (!in) in mask. */
static double naive_sharpe(const double *r, uint32_t mask, int in, size_t n) {
  double s = 0, q = 0, c = 0;
  for (size_t t = 0; t < T; t++) {
    if ((int)((mask >> block_of[t]) & 1u) != in) continue;
    s += r[t * N + n], q += r[t * N + n] * r[t * N + n], c++;
  }
  double var = (q - s * s / c) / (c - 1);
  return var > 0 ? (s / c) / sqrt(var) : 0;
}

/* The first n_comb combinations in the library's order; returns the number
 * with logit <= 0. */
static size_t naive_pbo(const double *r, size_t n_comb, double *oos) {
  size_t k = 0, over = 0;
  for (uint32_t mask = 0; mask < (1u << S) && k < n_comb; mask++) {
    if (__builtin_popcount(mask) != S / 2) continue;
    size_t best = 0;
    double best_sr = -INFINITY;
    for (size_t n = 0; n < N; n++) {
      double sr = naive_sharpe(r, mask, 1, n);
      if (sr > best_sr) best_sr = sr, best = n;
      oos[n] = naive_sharpe(r, mask, 0, n);
    }
    double below = 0, ties = 0;
    for (size_t n = 0; n < N; n++) below += oos[n] < oos[best], ties += oos[n] == oos[best];
    double w = (1 + below + 0.5 * (ties - 1)) / (N + 1.0);
    over += log(w / (1 - w)) <= 0;
    k++;
  }
  return over;
}

int main(void) {
  double *r = malloc((size_t)T * N * sizeof(double)), *oos = malloc(N * sizeof(double));
  if (!r || !oos) return 1;
  for (size_t b = 0; b < S; b++)
    for (size_t t = b * T / S; t < (b + 1) * T / S; t++) block_of[t] = b;
  qt_rng g;
  qt_rng_seed(&g, 2026);
  for (size_t i = 0; i < (size_t)T * N; i++) r[i] = 0.01 * qt_rng_normal(&g);
  qt_err e;
  qt_pbo_result res = {0};
  double best = 1e30, best_cpu = 1e30;
  for (int rep = 0; rep < REPS; rep++) {
    qt_pbo_result_fini(&res);
    double t0 = bench_now(), c0 = cpu_now();
    if (qt_overfit_pbo(r, T, N, NULL, &res, &e) != QT_OK) {
      fprintf(stderr, "bench_overfit: %s\n", e.msg);
      return 1;
    }
    double dt = bench_now() - t0, dc = cpu_now() - c0;
    if (dt < best) best = dt;
    if (dc < best_cpu) best_cpu = dc;
  }
  double naive = 1e30, naive_cpu = 1e30;
  size_t over = 0;
  for (int rep = 0; rep < REPS; rep++) {
    double t0 = bench_now(), c0 = cpu_now();
    over = naive_pbo(r, NAIVE_COMB, oos);
    double dt = bench_now() - t0, dc = cpu_now() - c0;
    if (dt < naive) naive = dt;
    if (dc < naive_cpu) naive_cpu = dc;
  }
  size_t lib_over = 0;
  for (size_t k = 0; k < NAIVE_COMB; k++) lib_over += res.logits[k] <= 0;
  double scale = (double)res.n_combinations / NAIVE_COMB;
  printf("{\"bench\":\"pbo_cscv\",\"impl\":\"qtune\",\"periods\":%d,\"trials\":%d,\"blocks\":%d,"
         "\"combinations\":%zu,\"seconds\":%.6f,\"cpu_seconds\":%.6f,\"pbo\":%.4f,"
         "\"naive_combinations_timed\":%d,\"naive_seconds_scaled\":%.6f,"
         "\"naive_cpu_seconds_scaled\":%.6f,\"speedup_vs_naive\":%.1f,"
         "\"cpu_speedup_vs_naive\":%.1f,\"agree\":%s}\n",
         T, N, S, res.n_combinations, best, best_cpu, res.pbo, NAIVE_COMB, naive * scale,
         naive_cpu * scale, naive * scale / best, naive_cpu * scale / best_cpu,
         over == lib_over ? "true" : "false");
  qt_pbo_result_fini(&res);

  qt_spa_opts so = qt_spa_opts_default();
  qt_spa_result sr;
  double t0 = bench_now();
  if (qt_overfit_spa(r, T, N, &so, &sr, &e) != QT_OK) {
    fprintf(stderr, "bench_overfit: %s\n", e.msg);
    return 1;
  }
  double spa_s = bench_now() - t0;
  printf("{\"bench\":\"spa_bootstrap\",\"impl\":\"qtune\",\"periods\":%d,\"trials\":%d,"
         "\"resamples\":%zu,\"seconds\":%.6f,\"rc_p\":%.4f,\"spa_p\":%.4f}\n",
         T, N, so.n_boot, spa_s, sr.rc_p, sr.spa_p);
  qt_overfit_dsr_out d;
  t0 = bench_now();
  if (qt_overfit_dsr_matrix(r, T, N, &d, NULL, &e) != QT_OK) {
    fprintf(stderr, "bench_overfit: %s\n", e.msg);
    return 1;
  }
  double dsr_s = bench_now() - t0;
  sink = d.dsr;
  printf("{\"bench\":\"dsr_matrix\",\"impl\":\"qtune\",\"periods\":%d,\"trials\":%d,"
         "\"seconds\":%.6f,\"dsr\":%.4f}\n", T, N, dsr_s, d.dsr);
  free(r);
  free(oos);
  return 0;
}
