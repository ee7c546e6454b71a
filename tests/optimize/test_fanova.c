#include "qt_test.h"
#include "qtune/optimize.h"

#include <math.h>
#include <string.h>

/* fANOVA on functions whose variance decomposition is known exactly, with
 * x uniform on [0, 1]^d:
 *   additive f = 3 x0 + x1 (+ 0 x2): Var(3 x0) = 9/12, Var(x1) = 1/12, so
 *     the importances are 0.9, 0.1 and 0, and no pair interacts;
 *   f = (x0 - 0.5)(x1 - 0.5): no main effect at all (E[f | x0] = 0), the
 *     whole variance is the pair (0, 1) (its share is 1); x2 is inert.
 * The forest only approximates f from samples, hence the tolerances. */

#define N 400
static double g_X[N * 4], g_y[N];

static void sample(size_t d, uint64_t seed, double (*f)(const double *)) {
  qt_rng r;
  qt_rng_seed(&r, seed);
  for (size_t i = 0; i < N; i++) {
    for (size_t k = 0; k < d; k++) g_X[i * d + k] = qt_rng_uniform(&r);
    g_y[i] = f(g_X + i * d);
  }
}

static double additive(const double *x) { return 3 * x[0] + x[1] + 0 * x[2]; }
static double interaction(const double *x) { return (x[0] - 0.5) * (x[1] - 0.5); }
static double additive2(const double *x) { return 3 * x[0] + x[1]; }

static const double k_lo[4] = {0, 0, 0, 0}, k_hi[4] = {1, 1, 1, 1};

static void additive_weights(void) {
  sample(3, 1, additive);
  double imp[3];
  qt_fanova_pair pr[3];
  size_t np;
  qt_err e;
  qt_fanova_opts o = qt_fanova_opts_default();
  EXPECT_EQ(o.n_trees, 64);
  EXPECT_EQ(o.max_depth, 64);
  ASSERT_TRUE(qt_fanova(g_X, g_y, N, 3, k_lo, k_hi, &o, imp, pr, 3, &np, &e) == 0);
  EXPECT_NEAR(imp[0], 0.9, 0.05);
  EXPECT_NEAR(imp[1], 0.1, 0.04);
  EXPECT_TRUE(imp[2] < 0.02);
  EXPECT_NEAR(imp[0] + imp[1] + imp[2], 1.0, 1e-9);
  /* the pairs of an additive function explain (almost) nothing */
  for (size_t k = 0; k < np; k++) EXPECT_TRUE(pr[k].importance < 0.05);
  size_t ord[3];
  qt_importance_order(imp, 3, ord);
  EXPECT_EQ(ord[0], 0);
  EXPECT_EQ(ord[1], 1);
  EXPECT_EQ(ord[2], 2);
}

static void pure_interaction(void) {
  sample(3, 2, interaction);
  double imp[3];
  qt_fanova_pair pr[3];
  size_t np;
  qt_err e;
  ASSERT_TRUE(qt_fanova(g_X, g_y, N, 3, k_lo, k_hi, NULL, imp, pr, 3, &np, &e) == 0);
  ASSERT_TRUE(np >= 1);
  /* the strongest pair is (x0, x1), and it outweighs every main effect */
  EXPECT_EQ(pr[0].a, 0);
  EXPECT_EQ(pr[0].b, 1);
  for (size_t k = 1; k < np; k++) EXPECT_TRUE(pr[k].importance < pr[0].importance / 5);
  /* it explains most of the variance (all of it, up to the forest's fit);
   * the main effects are ~0, so normalized they are noise, but x2 stays inert */
  EXPECT_TRUE(pr[0].importance > 0.7);
  EXPECT_TRUE(imp[2] < 0.2);
}

/* Same inputs, same seed: the same numbers; a constant objective: all 0. */
static void deterministic_and_constant(void) {
  sample(3, 3, additive);
  double a[3], b[3];
  qt_err e;
  qt_fanova_opts o = qt_fanova_opts_default();
  o.n_trees = 8;
  ASSERT_TRUE(qt_fanova(g_X, g_y, N, 3, k_lo, k_hi, &o, a, NULL, 0, NULL, &e) == 0);
  ASSERT_TRUE(qt_fanova(g_X, g_y, N, 3, k_lo, k_hi, &o, b, NULL, 0, NULL, &e) == 0);
  for (int k = 0; k < 3; k++) EXPECT_DBL_EQ(a[k], b[k]);
  for (size_t i = 0; i < N; i++) g_y[i] = 7;
  ASSERT_TRUE(qt_fanova(g_X, g_y, N, 3, k_lo, k_hi, &o, a, NULL, 0, NULL, &e) == 0);
  for (int k = 0; k < 3; k++) EXPECT_DBL_EQ(a[k], 0.0);
  EXPECT_EQ(qt_fanova(g_X, g_y, 1, 3, k_lo, k_hi, &o, a, NULL, 0, NULL, &e), QT_EINVAL);
}

/* Out of memory at any allocation: QT_ENOMEM and zeros, never a crash. */
static void out_of_memory(void) {
  sample(2, 4, additive2);
  double a[2];
  qt_fanova_pair pr[1];
  size_t np;
  qt_err e;
  qt_fanova_opts o = qt_fanova_opts_default();
  o.n_trees = 2;
  int saw = 0;
  for (long k = 1; k < 400; k++) {
    qt_alloc_fail_at(k, 0);
    int r = qt_fanova(g_X, g_y, 60, 2, k_lo, k_hi, &o, a, pr, 1, &np, &e);
    qt_alloc_fail_at(0, 0);
    if (r == 0) break;
    EXPECT_EQ(r, QT_ENOMEM);
    EXPECT_DBL_EQ(a[0], 0.0);
    saw++;
  }
  EXPECT_TRUE(saw > 3);
}

QT_TESTS(T(additive_weights), T(pure_interaction), T(deterministic_and_constant),
         T(out_of_memory))
