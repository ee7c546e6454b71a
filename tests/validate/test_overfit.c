/* Overfitting statistics: each against a case computed independently (a
 * paper's worked example or a hand computation in the comment), then on
 * synthetic extremes (pure noise must be rejected, a planted edge kept), the
 * error paths and the fail-the-Nth-allocation sweep.  Every random input is
 * drawn from qt_rng with a fixed seed, so each run sees the same numbers. */
#include "qt_test.h"
#include "qtune/validate.h"

/* ---- normal CDF and quantile ---- */
/* Reference values: Phi from erfc in Python's math module, Phi^-1 from
 * Python's statistics.NormalDist.inv_cdf (Wichura's AS241, an independent
 * algorithm from the Acklam + Halley one under test). */
static void norm_cdf_known_points(void) {
  EXPECT_NEAR(qt_overfit_norm_cdf(0), 0.5, 1e-15);
  EXPECT_NEAR(qt_overfit_norm_cdf(1), 0.8413447460685429, 1e-14);
  EXPECT_NEAR(qt_overfit_norm_cdf(-1.96), 0.024997895148220435, 1e-14);
  EXPECT_NEAR(qt_overfit_norm_cdf(3), 0.9986501019683699, 1e-14);
  /* far tail, relative: 2.866515718791946e-07 */
  EXPECT_NEAR(qt_overfit_norm_cdf(-5) / 2.866515718791946e-07, 1.0, 1e-12);
}

static void norm_quantile_known_points(void) {
  EXPECT_NEAR(qt_overfit_norm_quantile(0.5), 0.0, 1e-15);
  EXPECT_NEAR(qt_overfit_norm_quantile(0.975), 1.9599639845400536, 1e-12);
  EXPECT_NEAR(qt_overfit_norm_quantile(0.025), -1.9599639845400538, 1e-12);
  EXPECT_NEAR(qt_overfit_norm_quantile(0.99), 2.3263478740408408, 1e-12);
  EXPECT_NEAR(qt_overfit_norm_quantile(0.999), 3.090232306167813, 1e-12);
  EXPECT_NEAR(qt_overfit_norm_quantile(1e-10), -6.361340902404056, 1e-12);
  EXPECT_NEAR(qt_overfit_norm_quantile(0.8413447460685429), 1.0, 1e-12);
  /* both sides of Acklam's region switch at 0.02425 and 0.97575 */
  EXPECT_NEAR(qt_overfit_norm_cdf(qt_overfit_norm_quantile(0.02424)), 0.02424, 1e-13);
  EXPECT_NEAR(qt_overfit_norm_cdf(qt_overfit_norm_quantile(0.02426)), 0.02426, 1e-13);
  EXPECT_NEAR(qt_overfit_norm_cdf(qt_overfit_norm_quantile(0.97576)), 0.97576, 1e-13);
  EXPECT_TRUE(isinf(qt_overfit_norm_quantile(0)) && qt_overfit_norm_quantile(0) < 0);
  EXPECT_TRUE(isinf(qt_overfit_norm_quantile(1)) && qt_overfit_norm_quantile(1) > 0);
  EXPECT_TRUE(isnan(qt_overfit_norm_quantile(-0.1)));
  EXPECT_TRUE(isnan(qt_overfit_norm_quantile(1.5)));
  EXPECT_TRUE(isnan(qt_overfit_norm_quantile(NAN)));
}

/* Round trip over (1e-12, 1 - 1e-12): Phi(Phi^-1(p)) = p to 1e-9 relative
 * (in the lower tail, where p itself is tiny, relative to p). */
static void norm_quantile_round_trip(void) {
  int bad = 0;
  for (int i = -12; i <= 12; i++)
    for (int k = 1; k < 10; k++) {
      double p = i < 0 ? k * pow(10.0, i) : (i == 0 ? k / 10.0 : 1.0 - k * pow(10.0, -i));
      if (!(p > 0 && p < 1)) continue;
      double back = qt_overfit_norm_cdf(qt_overfit_norm_quantile(p));
      double tol = 1e-9 * (p < 0.5 ? p : 1.0);
      if (!(fabs(back - p) <= tol)) {
        if (bad++ < 5) QT_TEST_FAIL_("round trip at p = %.17g: got %.17g", p, back);
      }
    }
  EXPECT_EQ(bad, 0);
}

/* ---- moments ---- */
/* [1,2,3,4]: mean 2.5, deviations -1.5,-0.5,0.5,1.5; m2 = 5/4, m4 = 41/16,
 * so kurt = (41/16)/(25/16) = 1.64, skew 0, sd = sqrt(5/3), SR = 2.5/sd.
 * [0,0,0,4]: mean 1, deviations -1,-1,-1,3: m2 = 3, m3 = 6, m4 = 21, so
 * skew = 6/3^1.5 = 2/sqrt(3), kurt = 21/9. */
static void moments_by_hand(void) {
  qt_overfit_moments m;
  qt_err e;
  double a[] = {1, 2, 3, 4}, b[] = {0, 0, 0, 4};
  ASSERT_TRUE(qt_overfit_moments_of(a, 4, 1, &m, &e) == QT_OK);
  EXPECT_NEAR(m.mean, 2.5, 1e-15);
  EXPECT_NEAR(m.sd, sqrt(5.0 / 3.0), 1e-15);
  EXPECT_NEAR(m.sharpe, 2.5 / sqrt(5.0 / 3.0), 1e-15);
  EXPECT_NEAR(m.skew, 0, 1e-15);
  EXPECT_NEAR(m.kurt, 1.64, 1e-15);
  ASSERT_TRUE(qt_overfit_moments_of(b, 4, 1, &m, &e) == QT_OK);
  EXPECT_NEAR(m.skew, 2.0 / sqrt(3.0), 1e-15);
  EXPECT_NEAR(m.kurt, 21.0 / 9.0, 1e-15);
  /* stride: column 1 of a 4 x 2 matrix is b */
  double mat[] = {9, 0, 9, 0, 9, 0, 9, 4};
  ASSERT_TRUE(qt_overfit_moments_of(mat + 1, 4, 2, &m, &e) == QT_OK);
  EXPECT_NEAR(m.kurt, 21.0 / 9.0, 1e-15);
  /* flat: SR 0, skew 0, kurt 3 by convention */
  ASSERT_TRUE(qt_overfit_moments_of(mat, 4, 2, &m, &e) == QT_OK);
  EXPECT_DBL_EQ(m.sharpe, 0);
  EXPECT_DBL_EQ(m.kurt, 3);
  EXPECT_EQ(qt_overfit_moments_of(a, 1, 1, &m, &e), QT_EINVAL);
  double c[] = {1, NAN, 3};
  EXPECT_EQ(qt_overfit_moments_of(c, 3, 1, &m, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "return 1 is not finite");
}

/* ---- PSR and MinTRL ---- */
/* SR 0.1 per period, benchmark 0, normal returns (skew 0, kurt 3), n = 101:
 * z = 0.1 sqrt(100) / sqrt(1 + (3-1)/4 0.01) = 1 / sqrt(1.005) = 0.99751,
 * PSR = Phi(z) = 0.8407413278013518.  MinTRL at 95%: 1 + 1.005 (1.6448536 /
 * 0.1)^2 = 272.90711713658874, and PSR at that length is 0.95 exactly. */
static void psr_and_min_trl_by_hand(void) {
  double psr, n;
  qt_err e;
  ASSERT_TRUE(qt_overfit_psr(0.1, 0, 0, 3, 101, &psr, &e) == QT_OK);
  EXPECT_NEAR(psr, 0.8407413278013518, 1e-12);
  ASSERT_TRUE(qt_overfit_min_trl(0.1, 0, 0, 3, 0.95, &n, &e) == QT_OK);
  EXPECT_NEAR(n, 272.90711713658874, 1e-12);
  /* PSR(n) with a real n: invert by hand through the formula */
  double z = 0.1 * sqrt(n - 1) / sqrt(1.005);
  EXPECT_NEAR(qt_overfit_norm_cdf(z), 0.95, 1e-12);
  /* negative skew and fat tails lengthen the record needed */
  double n2;
  ASSERT_TRUE(qt_overfit_min_trl(0.1, 0, -1, 6, 0.95, &n2, &e) == QT_OK);
  EXPECT_TRUE(n2 > n);
  /* errors name the reason */
  EXPECT_EQ(qt_overfit_psr(0.1, 0, 0, 3, 1, &psr, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "at least 2 observations");
  EXPECT_EQ(qt_overfit_psr(3.0, 0, 0, 0, 100, &psr, &e), QT_EINVAL); /* excess kurt passed */
  EXPECT_CONTAINS(e.msg, "kurt raw");
  EXPECT_DBL_EQ(psr, 0);
  EXPECT_EQ(qt_overfit_min_trl(0.1, 0.2, 0, 3, 0.95, &n, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "does not exceed the benchmark");
  EXPECT_EQ(qt_overfit_min_trl(0.1, 0, 0, 3, 1.0, &n, &e), QT_EINVAL);
}

/* ---- E[max_N] and MinBTL: Bailey, Borwein, Lopez de Prado, Zhu (2014) ---- */
/* The paper's example: with 5 years of data, no more than 45 independent
 * configurations should be tried for a target annualized SR of 1, i.e.
 * MinBTL(45, 1) < 5 <= MinBTL(46, 1) (E[max_45] = 2.2356, squared 4.998;
 * E[max_46]^2 = 5.036).  E[max_10] = 1.5746 (the "about 1.57" of their
 * figure). */
static void min_btl_paper_example(void) {
  double y45, y46;
  qt_err e;
  EXPECT_NEAR(qt_overfit_expected_max(10), 1.57459830134575, 1e-12);
  EXPECT_DBL_EQ(qt_overfit_expected_max(1), 0);
  ASSERT_TRUE(qt_overfit_min_btl(45, 1.0, &y45, &e) == QT_OK);
  ASSERT_TRUE(qt_overfit_min_btl(46, 1.0, &y46, &e) == QT_OK);
  EXPECT_NEAR(y45, 4.998087004443402, 1e-12);
  EXPECT_TRUE(y45 < 5.0 && y46 >= 5.0);
  /* halving the target quadruples the length */
  double y;
  ASSERT_TRUE(qt_overfit_min_btl(45, 0.5, &y, &e) == QT_OK);
  EXPECT_NEAR(y, 4 * y45, 1e-12);
  EXPECT_EQ(qt_overfit_min_btl(1, 1.0, &y, &e), QT_EINVAL);
  EXPECT_EQ(qt_overfit_min_btl(45, 0.0, &y, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "not positive");
}

/* ---- DSR: Bailey & Lopez de Prado (2014), the numerical example ---- */
/* Best of N = 100 trials: annualized SR 2.5 over T = 1250 daily returns
 * (250 a year), skew -3, kurt 10, variance of the trials' annualized SRs
 * 1/2.  Per period: SR = 2.5/sqrt(250) = 0.15811, V = 0.5/250.  E[max_100]
 * = 0.42278 * 2.32635 + 0.57722 * 2.68021 = 2.53060, so SR0 = sqrt(0.002) *
 * 2.53060 = 0.1132 (the paper's SR0), and DSR = Phi((0.15811 - 0.11317)
 * sqrt(1249) / sqrt(1 + 3 * 0.15811 + 9/4 * 0.025)) = Phi(1.2838) = 0.9004,
 * the paper's "DSR = 0.9004". */
static void dsr_paper_example(void) {
  qt_overfit_dsr_in in = {.sr = 2.5 / sqrt(250.0), .skew = -3, .kurt = 10, .n_obs = 1250,
                          .n_trials = 100, .sr_variance = 0.5 / 250.0};
  qt_overfit_dsr_out out;
  qt_err e;
  ASSERT_TRUE(qt_overfit_dsr(&in, &out, &e) == QT_OK);
  EXPECT_NEAR(out.sr0, 0.1132, 5e-5);
  EXPECT_NEAR(out.dsr, 0.9004, 5e-5);
  EXPECT_NEAR(out.dsr, 0.9003968344493904, 1e-10);
  in.n_trials = 0;
  EXPECT_EQ(qt_overfit_dsr(&in, &out, &e), QT_EINVAL);
  in.n_trials = 100, in.sr_variance = -1;
  EXPECT_EQ(qt_overfit_dsr(&in, &out, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "variance");
  in.sr_variance = 0.002, in.n_obs = 1;
  EXPECT_EQ(qt_overfit_dsr(&in, &out, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "dsr: psr");
  EXPECT_DBL_EQ(out.sr0, 0);
}

/* T x N iid normal returns (sd 0.01) with trial `edge` (if < N) given a
 * drift of `drift` per period. */
static double *noise_matrix(size_t T, size_t N, uint64_t seed, size_t edge, double drift) {
  double *r = malloc(T * N * sizeof(double));
  qt_rng g;
  qt_rng_seed(&g, seed);
  for (size_t t = 0; t < T; t++)
    for (size_t n = 0; n < N; n++) r[t * N + n] = 0.01 * qt_rng_normal(&g) + (n == edge ? drift : 0);
  return r;
}

/* 200 skill-less trials of 1000 returns: the best per-period SR is luck
 * (about E[max_200] / sqrt(1000) = 0.088) and the DSR must reject it (< 0.95);
 * a trial with per-period SR 0.2 (3.2 annualized at 252) must be kept. */
static void dsr_noise_rejected_edge_kept(void) {
  enum { T = 1000, N = 200 };
  qt_overfit_dsr_out out;
  size_t best;
  qt_err e;
  double *r = noise_matrix(T, N, 11, N, 0);
  ASSERT_TRUE(qt_overfit_dsr_matrix(r, T, N, &out, &best, &e) == QT_OK);
  EXPECT_TRUE(out.dsr < 0.95);
  EXPECT_TRUE(out.sr0 > 0.05 && out.sr0 < 0.15);
  free(r);
  r = noise_matrix(T, N, 11, 17, 0.002);
  ASSERT_TRUE(qt_overfit_dsr_matrix(r, T, N, &out, &best, &e) == QT_OK);
  EXPECT_EQ(best, 17);
  EXPECT_TRUE(out.dsr > 0.95);
  r[5 * N + 3] = INFINITY;
  EXPECT_EQ(qt_overfit_dsr_matrix(r, T, N, &out, &best, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "trial 3");
  EXPECT_CONTAINS(e.msg, "return 5");
  free(r);
}

/* ---- PBO by CSCV ---- */
/* T = 4 rows, S = 4 blocks of one row, N = 3 trials A, B, C:
 *        A   B   C
 *   t0   1   4  -1
 *   t1   3   1   2
 *   t2   2   2   1
 *   t3   4   3   3
 * The Sharpe of two values x, y is k/sqrt(2) with k = (x+y)/|x-y| (mean
 * (x+y)/2, sample sd |x-y|/sqrt(2)), so ranks follow k:
 *   rows   01   02   03   12   13   23
 *   A       2    3  5/3    5    7    3
 *   B     5/3    3    7    3    2    5
 *   C     1/3    0  1/2    3    5    2
 * IS set (mask order 3,5,6,9,10,12) -> IS best -> its OOS k and mid-rank:
 *   {0,1} A (2)        OOS {2,3}: A 3, B 5, C 2      rank 2    w 1/2  logit 0
 *   {0,2} A (3, ties B; lowest index) OOS {1,3}: A 7 best, rank 3, w 3/4, ln 3
 *   {1,2} A (5)        OOS {0,3}: A 5/3, B 7, C 1/2  rank 2    w 1/2  logit 0
 *   {0,3} B (7)        OOS {1,2}: B 3 ties C 3, A 5  rank 1.5  w 3/8  ln(3/5)
 *   {1,3} A (7)        OOS {0,2}: A 3 ties B 3, C 0  rank 2.5  w 5/8  ln(5/3)
 *   {2,3} B (5)        OOS {0,1}: B 5/3, A 2, C 1/3  rank 2    w 1/2  logit 0
 * PBO = 4/6 (logits <= 0).  No OOS Sharpe is negative: p_loss = 0.
 * Degradation in k units: x = IS k = 2,3,5,7,7,5; y = OOS k = 3,7,5/3,3,3,5/3;
 * Sxx = 161 - 841/6 = 125/6, Sxy = 257/3 - 841/9 = -70/9, slope = -28/75;
 * intercept = 29/9 + (28/75)(29/6) = 1131/225 k, i.e. 1131/225/sqrt(2) in SR. */
static void pbo_by_hand(void) {
  double r[] = {1, 4, -1, 3, 1, 2, 2, 2, 1, 4, 3, 3};
  qt_pbo_opts o = {.n_blocks = 4};
  qt_pbo_result res;
  qt_err e;
  ASSERT_TRUE(qt_overfit_pbo(r, 4, 3, &o, &res, &e) == QT_OK);
  ASSERT_TRUE(res.n_combinations == 6);
  double want[6] = {0, log(3.0), 0, log(0.6), log(5.0 / 3.0), 0};
  double is_k[6] = {2, 3, 5, 7, 7, 5}, oos_k[6] = {3, 7, 5.0 / 3, 3, 3, 5.0 / 3};
  for (int i = 0; i < 6; i++) {
    EXPECT_NEAR(res.logits[i], want[i], 1e-12);
    EXPECT_NEAR(res.is_perf[i], is_k[i] / sqrt(2.0), 1e-12);
    EXPECT_NEAR(res.oos_perf[i], oos_k[i] / sqrt(2.0), 1e-12);
  }
  EXPECT_NEAR(res.pbo, 4.0 / 6.0, 1e-15);
  EXPECT_NEAR(res.slope, -28.0 / 75.0, 1e-12);
  EXPECT_NEAR(res.intercept, 1131.0 / 225.0 / sqrt(2.0), 1e-12);
  EXPECT_DBL_EQ(res.p_loss, 0);
  qt_pbo_result_fini(&res);
  EXPECT_PTR_EQ(res.logits, NULL);
  qt_pbo_result_fini(&res); /* zeroed: no-op */
  qt_pbo_result_fini(NULL);
}

/* The naive CSCV straight from the paper's definition, O(N T) per
 * combination: concatenate the rows of J and of its complement, two-pass
 * mean and sample variance, then the same selection and mid-rank. */
static void naive_sharpe(const double *r, size_t T, size_t N, size_t S, uint32_t mask, int in,
                         size_t n, double *out) {
  double s = 0, q = 0, cnt = 0;
  for (size_t t = 0; t < T; t++) {
    size_t b = 0; /* the block of row t: rows [b T/S, (b+1) T/S) */
    while ((b + 1) * T / S <= t) b++;
    if (((mask >> b) & 1u) != (unsigned)in) continue;
    s += r[t * N + n], cnt++;
  }
  double m = s / cnt;
  for (size_t t = 0; t < T; t++) {
    size_t b = 0;
    while ((b + 1) * T / S <= t) b++;
    if (((mask >> b) & 1u) != (unsigned)in) continue;
    q += (r[t * N + n] - m) * (r[t * N + n] - m);
  }
  double sd = sqrt(q / (cnt - 1));
  *out = sd > 0 ? m / sd : 0;
}

/* Uneven blocks (T = 53 over S = 8) on random data: every output equals the
 * naive definition's. */
static void pbo_matches_naive_definition(void) {
  enum { T = 53, N = 7, S = 8 };
  double *r = noise_matrix(T, N, 5, 2, 0.001);
  qt_pbo_opts o = {.n_blocks = S};
  qt_pbo_result res;
  qt_err e;
  ASSERT_TRUE(qt_overfit_pbo(r, T, N, &o, &res, &e) == QT_OK);
  ASSERT_TRUE(res.n_combinations == 70);
  size_t k = 0, over = 0;
  int bad = 0;
  for (uint32_t mask = 0; mask < (1u << S); mask++) {
    if (__builtin_popcount(mask) != S / 2) continue;
    double is[N], oos[N];
    size_t best = 0;
    for (size_t n = 0; n < N; n++) {
      naive_sharpe(r, T, N, S, mask, 1, n, &is[n]);
      naive_sharpe(r, T, N, S, mask, 0, n, &oos[n]);
      if (is[n] > is[best]) best = n;
    }
    double below = 0, ties = 0;
    for (size_t n = 0; n < N; n++) below += oos[n] < oos[best], ties += oos[n] == oos[best];
    double w = (1 + below + 0.5 * (ties - 1)) / (N + 1.0), lg = log(w / (1 - w));
    over += lg <= 0;
    if (fabs(res.logits[k] - lg) > 1e-12 || fabs(res.is_perf[k] - is[best]) > 1e-12 ||
        fabs(res.oos_perf[k] - oos[best]) > 1e-12)
      bad++;
    k++;
  }
  EXPECT_EQ(bad, 0);
  EXPECT_NEAR(res.pbo, (double)over / 70.0, 1e-15);
  qt_pbo_result_fini(&res);
  free(r);
}

/* 100 skill-less trials x 480 returns, S = 16: the IS best is a coin flip
 * OOS, so PBO is near 0.5 (the paper's Monte Carlo finds PBO -> 0.5 for
 * noise; "or above": selection on noise is not better than chance).  One
 * trial with a per-period SR of 0.5 among them wins IS and OOS in nearly
 * every split: PBO near 0, no OOS loss. */
static void pbo_noise_and_planted_edge(void) {
  enum { T = 480, N = 100 };
  qt_pbo_result res;
  qt_err e;
  double *r = noise_matrix(T, N, 21, N, 0);
  ASSERT_TRUE(qt_overfit_pbo(r, T, N, NULL, &res, &e) == QT_OK);
  EXPECT_EQ(res.n_combinations, 12870);
  EXPECT_TRUE(res.pbo > 0.4);
  EXPECT_TRUE(res.p_loss > 0.3);
  qt_pbo_result_fini(&res);
  free(r);
  r = noise_matrix(T, N, 21, 42, 0.005);
  ASSERT_TRUE(qt_overfit_pbo(r, T, N, NULL, &res, &e) == QT_OK);
  EXPECT_TRUE(res.pbo < 0.05);
  EXPECT_TRUE(res.p_loss < 0.01);
  qt_pbo_result_fini(&res);
  free(r);
}

static void pbo_errors_and_alloc_failures(void) {
  double r[40];
  for (int i = 0; i < 40; i++) r[i] = (i * 37 % 11) * 0.01 - 0.05;
  qt_pbo_result res;
  qt_err e;
  qt_pbo_opts o = {.n_blocks = 3};
  EXPECT_EQ(qt_overfit_pbo(r, 10, 4, &o, &res, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "S = 3 must be even");
  o.n_blocks = 12;
  EXPECT_EQ(qt_overfit_pbo(r, 10, 4, &o, &res, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "the 10 periods");
  o.n_blocks = 2;
  EXPECT_EQ(qt_overfit_pbo(r, 3, 4, &o, &res, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "at least 4 periods");
  EXPECT_EQ(qt_overfit_pbo(r, 40, 1, &o, &res, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "at least 2 trials");
  r[4 * 4 + 1] = NAN;
  EXPECT_EQ(qt_overfit_pbo(r, 10, 4, &o, &res, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "row 4, trial 1");
  EXPECT_PTR_EQ(res.logits, NULL);
  r[4 * 4 + 1] = 0.01;
  o.n_blocks = 4;
  /* 4 allocations: scratch, logits, is_perf, oos_perf; ASan checks for leaks */
  for (long n = 1; n <= 4; n++) {
    qt_alloc_fail_at(n, 0);
    int rc = qt_overfit_pbo(r, 10, 4, &o, &res, &e);
    qt_alloc_fail_at(0, 0);
    EXPECT_EQ(rc, QT_ENOMEM);
    EXPECT_CONTAINS(e.msg, "pbo: out of memory");
    EXPECT_PTR_EQ(res.logits, NULL);
    EXPECT_PTR_EQ(res.oos_perf, NULL);
  }
  ASSERT_TRUE(qt_overfit_pbo(r, 10, 4, &o, &res, &e) == QT_OK);
  qt_pbo_result_fini(&res);
}

/* ---- stationary bootstrap, Reality Check, SPA ---- */
/* Mean block 1: every index is a fresh draw, so the sequence is the one an
 * independent replay of the same generator gives (one uniform, then one
 * index per step after the first).  A huge mean block: one wrapping run. */
static void stationary_bootstrap_shapes(void) {
  enum { n = 50 };
  size_t idx[n];
  qt_rng g, h;
  qt_rng_seed(&g, 3);
  qt_rng_seed(&h, 3);
  qt_overfit_stationary_bootstrap(&g, n, 1.0, idx);
  int bad = 0;
  for (size_t t = 0; t < n; t++) {
    if (t > 0) (void)qt_rng_uniform(&h);
    bad += idx[t] != qt_rng_below(&h, n);
  }
  EXPECT_EQ(bad, 0);
  qt_overfit_stationary_bootstrap(&g, n, 1e300, idx);
  bad = 0;
  for (size_t t = 1; t < n; t++) bad += idx[t] != (idx[t - 1] + 1) % n;
  EXPECT_EQ(bad, 0);
}

/* Runs have geometric lengths with mean L: over 200,000 indices the count of
 * breaks is about n / L (a fresh draw equal to the successor, chance 1/n, is
 * not a break; negligible). */
static void stationary_bootstrap_mean_block(void) {
  enum { n = 200000 };
  size_t *idx = malloc(n * sizeof *idx);
  qt_rng g;
  qt_rng_seed(&g, 9);
  qt_overfit_stationary_bootstrap(&g, n, 5.0, idx);
  size_t breaks = 0;
  for (size_t t = 1; t < n; t++) breaks += idx[t] != (idx[t - 1] + 1) % n;
  EXPECT_NEAR((double)n / (double)(breaks + 1), 5.0, 0.02); /* +-0.1 at 1e-2 x 5 */
  free(idx);
}

/* One trial, iid resampling: the bootstrap law of sqrt(T)(mean* - mean) is
 * N(0, s^2) in the limit, so White's p-value is 1 - Phi(t) with t = sqrt(T)
 * mean / s, the one-sided t-test (Hansen's too: one trial, t > 0, no
 * recentring).  B = 4000 resamples: Monte Carlo SD of p about 0.002. */
static void reality_check_one_trial_is_t_test(void) {
  enum { T = 2000 };
  double *r = noise_matrix(T, 1, 31, 0, 0.0);
  for (size_t t = 0; t < T; t++) r[t] = 100 * r[t] + 0.03; /* sd 1, drift 0.03 */
  qt_overfit_moments m;
  qt_err e;
  ASSERT_TRUE(qt_overfit_moments_of(r, T, 1, &m, &e) == QT_OK);
  double tstat = sqrt((double)T) * m.mean / m.sd;
  double want = 1.0 - qt_overfit_norm_cdf(tstat);
  qt_spa_opts o = {.n_boot = 4000, .mean_block = 1.0, .seed = 7};
  qt_spa_result res;
  ASSERT_TRUE(qt_overfit_spa(r, T, 1, &o, &res, &e) == QT_OK);
  EXPECT_TRUE(want > 0.005 && want < 0.2); /* the data make the check meaningful */
  EXPECT_NEAR(res.rc_p, want, 0.01);
  EXPECT_NEAR(res.spa_p, want, 0.01);
  EXPECT_NEAR(res.rc_stat, sqrt((double)T) * m.mean, 1e-12);
  EXPECT_NEAR(res.spa_stat, tstat, 0.05); /* w is the bootstrap SD, about s */
  free(r);
}

/* 50 skill-less trials: the best is not significant; a planted edge of
 * t ~ 0.3 sqrt(500) / 1 = 6.7 is (p = 0).  Same seed, same p-values. */
static void spa_noise_and_planted_edge(void) {
  enum { T = 500, N = 50 };
  qt_spa_result a, b;
  qt_err e;
  qt_spa_opts o = qt_spa_opts_default();
  double *r = noise_matrix(T, N, 41, N, 0);
  ASSERT_TRUE(qt_overfit_spa(r, T, N, &o, &a, &e) == QT_OK);
  EXPECT_TRUE(a.rc_p > 0.1);
  EXPECT_TRUE(a.spa_p > 0.1);
  ASSERT_TRUE(qt_overfit_spa(r, T, N, &o, &b, &e) == QT_OK);
  EXPECT_DBL_EQ(a.rc_p, b.rc_p);
  EXPECT_DBL_EQ(a.spa_p, b.spa_p);
  free(r);
  r = noise_matrix(T, N, 41, 9, 0.003);
  ASSERT_TRUE(qt_overfit_spa(r, T, N, &o, &a, &e) == QT_OK);
  EXPECT_EQ(a.best, 9);
  EXPECT_DBL_EQ(a.rc_p, 0);
  EXPECT_DBL_EQ(a.spa_p, 0);
  free(r);
}

/* Hansen's point: a modest trial (drift 0.001 at sd 0.01, t about 2 over
 * 400 returns) among 100 hopeless ones (drift -0.01, t about -20).  White's
 * RC centres the hopeless trials at their own mean, so they still enter the
 * bootstrap maximum and inflate its p-value; SPA_c recentres them at their
 * negative mean and they drop out, so SPA's p-value is smaller. */
static void spa_ignores_hopeless_trials(void) {
  enum { T = 400, N = 101 };
  double *r = noise_matrix(T, N, 51, 0, 0.001);
  for (size_t t = 0; t < T; t++)
    for (size_t n = 1; n < N; n++) r[t * N + n] -= 0.01;
  qt_spa_opts o = qt_spa_opts_default();
  qt_spa_result res, one;
  qt_err e;
  ASSERT_TRUE(qt_overfit_spa(r, T, N, &o, &res, &e) == QT_OK);
  EXPECT_EQ(res.best, 0);
  EXPECT_TRUE(res.spa_p < res.rc_p);
  /* and SPA_c on all 101 equals SPA_c on the modest trial alone: the
   * hopeless ones contribute nothing (same seed, same resamples) */
  double *col = malloc(T * sizeof(double));
  for (size_t t = 0; t < T; t++) col[t] = r[t * N];
  ASSERT_TRUE(qt_overfit_spa(col, T, 1, &o, &one, &e) == QT_OK);
  EXPECT_DBL_EQ(res.spa_p, one.spa_p);
  free(col);
  free(r);
}

static void spa_errors_and_alloc_failures(void) {
  double r[20];
  for (int i = 0; i < 20; i++) r[i] = (i * 7 % 5) * 0.01 - 0.02;
  qt_spa_opts o = qt_spa_opts_default();
  qt_spa_result res;
  qt_err e;
  o.mean_block = 0.5;
  EXPECT_EQ(qt_overfit_spa(r, 10, 2, &o, &res, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "mean block length >= 1 (0.5)");
  o = qt_spa_opts_default();
  o.n_boot = 0;
  EXPECT_EQ(qt_overfit_spa(r, 10, 2, &o, &res, &e), QT_EINVAL);
  o = qt_spa_opts_default();
  r[3 * 2 + 1] = NAN;
  EXPECT_EQ(qt_overfit_spa(r, 10, 2, &o, &res, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "row 3, trial 1");
  r[3 * 2 + 1] = 0;
  for (long n = 1; n <= 2; n++) {
    qt_alloc_fail_at(n, 0);
    int rc = qt_overfit_spa(r, 10, 2, &o, &res, &e);
    qt_alloc_fail_at(0, 0);
    EXPECT_EQ(rc, QT_ENOMEM);
    EXPECT_CONTAINS(e.msg, "spa: out of memory");
    EXPECT_DBL_EQ(res.rc_p, 0);
  }
  ASSERT_TRUE(qt_overfit_spa(r, 10, 2, NULL, &res, &e) == QT_OK);
}

QT_TESTS(T(norm_cdf_known_points), T(norm_quantile_known_points), T(norm_quantile_round_trip),
         T(moments_by_hand), T(psr_and_min_trl_by_hand), T(min_btl_paper_example),
         T(dsr_paper_example), T(dsr_noise_rejected_edge_kept), T(pbo_by_hand),
         T(pbo_matches_naive_definition), T(pbo_noise_and_planted_edge),
         T(pbo_errors_and_alloc_failures), T(stationary_bootstrap_shapes),
         T(stationary_bootstrap_mean_block), T(reality_check_one_trial_is_t_test),
         T(spa_noise_and_planted_edge), T(spa_ignores_hopeless_trials),
         T(spa_errors_and_alloc_failures))
