/* Pareto tools (pareto.c): domination, nondominated sorting (plain and
 * constrained), Optuna's crowding distance, and the exact hypervolume
 * against hand-computed volumes and an independent inclusion-exclusion
 * count. */
#include "qt_test.h"
#include "qtune/optimize.h"

#include <stdint.h>

static void dominance(void) {
  double a[] = {1, 2}, b[] = {1, 3}, c[] = {0, 4}, nan2[] = {NAN, 0};
  EXPECT_TRUE(qt_pareto_dominates(a, b, 2));
  EXPECT_TRUE(!qt_pareto_dominates(b, a, 2));
  EXPECT_TRUE(!qt_pareto_dominates(a, a, 2)); /* equal: neither */
  EXPECT_TRUE(!qt_pareto_dominates(a, c, 2) && !qt_pareto_dominates(c, a, 2));
  EXPECT_TRUE(!qt_pareto_dominates(nan2, a, 2));
}

static void sort_ranks(void) {
  /* a(1,4) b(2,2) c(4,1) d(3,3) e(4,4) f(2,2): d is dominated by b (and f),
   * e by d; b and f are equal and both on the front */
  double f[] = {1, 4, 2, 2, 4, 1, 3, 3, 4, 4, 2, 2};
  size_t rk[6];
  qt_err e;
  ASSERT_TRUE(qt_pareto_sort(f, NULL, 6, 2, 0, rk, &e) == 0);
  size_t want[] = {0, 0, 0, 1, 2, 0};
  for (int i = 0; i < 6; i++) EXPECT_U64_EQ(rk[i], want[i]);
  /* need = 1: front 0 ranked, the rest left unranked */
  ASSERT_TRUE(qt_pareto_sort(f, NULL, 6, 2, 1, rk, &e) == 0);
  EXPECT_U64_EQ(rk[0], 0);
  EXPECT_U64_EQ(rk[3], SIZE_MAX);
  EXPECT_U64_EQ(rk[4], SIZE_MAX);
  /* constrained: d and e violate (0.5 and 0.2): after every feasible row,
   * smaller violation first, whatever their values */
  double viol[] = {0, 0, 0, 0.5, 0.2, 0};
  ASSERT_TRUE(qt_pareto_sort(f, viol, 6, 2, 0, rk, &e) == 0);
  size_t want_c[] = {0, 0, 0, 2, 1, 0};
  for (int i = 0; i < 6; i++) EXPECT_U64_EQ(rk[i], want_c[i]);
  /* an infeasible row that would dominate everything still ranks last */
  double g[] = {5, 5, 0, 0};
  double vg[] = {0, 1};
  ASSERT_TRUE(qt_pareto_sort(g, vg, 2, 2, 0, rk, &e) == 0);
  EXPECT_U64_EQ(rk[0], 0);
  EXPECT_U64_EQ(rk[1], 1);
  /* a NaN value: never ranked */
  double h[] = {1, NAN, 2, 2};
  ASSERT_TRUE(qt_pareto_sort(h, NULL, 2, 2, 0, rk, &e) == 0);
  EXPECT_U64_EQ(rk[0], SIZE_MAX);
  EXPECT_U64_EQ(rk[1], 0);
}

static void crowding_as_optuna(void) {
  /* front (1,4) (2,2) (4,1): per objective the ends are inf and the middle
   * gets (4 - 1) / (4 - 1) = 1; the middle row sums 2 */
  double f[] = {1, 4, 2, 2, 4, 1};
  size_t idx[] = {0, 1, 2};
  double d[3];
  qt_err e;
  ASSERT_TRUE(qt_pareto_crowding(f, 2, idx, 3, d, &e) == 0);
  EXPECT_TRUE(isinf(d[0]) && isinf(d[2]));
  EXPECT_NEAR(d[1], 2.0, 1e-12);
  /* four rows on a line x + y = 6: (0,6) (1,5) (3,3) (6,0); width 6 each;
   * row (1,5): (3 - 0)/6 per objective -> 1; row (3,3): (6 - 1)/6 -> 10/6 */
  double g[] = {0, 6, 1, 5, 3, 3, 6, 0};
  size_t ig[] = {0, 1, 2, 3};
  double dg[4];
  ASSERT_TRUE(qt_pareto_crowding(g, 2, ig, 4, dg, &e) == 0);
  EXPECT_NEAR(dg[1], 1.0, 1e-12);
  EXPECT_NEAR(dg[2], 10.0 / 6.0, 1e-12);
  /* an objective where every value is equal adds nothing */
  double h[] = {1, 7, 2, 7, 3, 7};
  double dh[3];
  ASSERT_TRUE(qt_pareto_crowding(h, 2, idx, 3, dh, &e) == 0);
  EXPECT_NEAR(dh[1], 1.0, 1e-12); /* (3 - 1) / 2 from objective 0 only */
  /* a subset by idx: rows 2 and 0 only, both ends */
  size_t sub[] = {2, 0};
  ASSERT_TRUE(qt_pareto_crowding(f, 2, sub, 2, d, &e) == 0);
  EXPECT_TRUE(isinf(d[0]) && isinf(d[1]));
}

static void hypervolume_by_hand(void) {
  qt_err e;
  double hv;
  /* staircase (1,3) (2,2) (3,1), ref (4,4): strips 3x1 + 2x1 + 1x1 = 6 */
  double a[] = {1, 3, 2, 2, 3, 1};
  double r2[] = {4, 4};
  ASSERT_TRUE(qt_hypervolume(a, 3, 2, r2, &hv, &e) == 0);
  EXPECT_NEAR(hv, 6.0, 1e-12);
  /* a dominated point, one beyond the reference and one on its boundary add nothing */
  double b[] = {1, 3, 2, 2, 3, 1, 2.5, 2.5, 5, 0, 4, 0};
  ASSERT_TRUE(qt_hypervolume(b, 6, 2, r2, &hv, &e) == 0);
  EXPECT_NEAR(hv, 6.0, 1e-12);
  /* 3-D: one point (1,1,1), ref (2,2,2): a unit cube */
  double r3[] = {2, 2, 2};
  double c[] = {1, 1, 1};
  ASSERT_TRUE(qt_hypervolume(c, 1, 3, r3, &hv, &e) == 0);
  EXPECT_NEAR(hv, 1.0, 1e-12);
  /* (0,0,1) and (1,1,0): boxes 2x2x1 = 4 and 1x1x2 = 2, overlap
   * [1,2]^3 = 1: 5 */
  double d[] = {0, 0, 1, 1, 1, 0};
  ASSERT_TRUE(qt_hypervolume(d, 2, 3, r3, &hv, &e) == 0);
  EXPECT_NEAR(hv, 5.0, 1e-12);
  /* (0,1,1) (1,0,1) (1,1,0): three boxes of 2, pairwise and triple overlaps
   * the unit cube [1,2]^3: 6 - 3 + 1 = 4 */
  double f[] = {0, 1, 1, 1, 0, 1, 1, 1, 0};
  ASSERT_TRUE(qt_hypervolume(f, 3, 3, r3, &hv, &e) == 0);
  EXPECT_NEAR(hv, 4.0, 1e-12);
  /* 1-D: the distance from the best to the reference */
  double g[] = {3, 1, 2};
  double r1[] = {5};
  ASSERT_TRUE(qt_hypervolume(g, 3, 1, r1, &hv, &e) == 0);
  EXPECT_NEAR(hv, 4.0, 1e-12);
  /* nothing inside: 0; a non-finite reference: refused */
  ASSERT_TRUE(qt_hypervolume(a, 0, 2, r2, &hv, &e) == 0);
  EXPECT_DBL_EQ(hv, 0.0);
  double bad[] = {4, INFINITY};
  EXPECT_EQ(qt_hypervolume(a, 3, 2, bad, &hv, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "reference point");
}

/* The union's volume by inclusion-exclusion over every subset: the
 * intersection of boxes [p, ref] is [max p, ref]. */
static double hv_incl_excl(const double *f, size_t n, size_t m, const double *ref) {
  double hv = 0;
  for (uint32_t mask = 1; mask < (1u << n); mask++) {
    double lo[8], vol = 1;
    int bits = 0;
    for (size_t k = 0; k < m; k++) lo[k] = -INFINITY;
    for (size_t i = 0; i < n; i++)
      if (mask & (1u << i)) {
        bits++;
        for (size_t k = 0; k < m; k++) lo[k] = fmax(lo[k], f[i * m + k]);
      }
    for (size_t k = 0; k < m; k++) vol *= fmax(0.0, ref[k] - lo[k]);
    hv += (bits & 1) ? vol : -vol;
  }
  return hv;
}

static void hypervolume_matches_inclusion_exclusion(void) {
  qt_rng r;
  qt_rng_seed(&r, 11);
  double ref[4] = {1, 1, 1, 1};
  for (size_t m = 2; m <= 4; m++)
    for (int rep = 0; rep < 30; rep++) {
      size_t n = 1 + (size_t)qt_rng_below(&r, 10);
      double f[10 * 4];
      for (size_t i = 0; i < n * m; i++) {
        f[i] = qt_rng_uniform(&r) * 1.2; /* some beyond the reference */
        if (rep % 3 == 0) f[i] = round(f[i] * 4) / 4; /* ties */
      }
      double in[10 * 4]; /* rows outside the reference add nothing in either */
      size_t k = 0;
      for (size_t i = 0; i < n; i++) {
        int ok = 1;
        for (size_t j = 0; j < m; j++) ok &= f[i * m + j] < ref[j];
        if (ok) memcpy(in + k++ * m, f + i * m, m * sizeof *f);
      }
      double hv;
      qt_err e;
      ASSERT_TRUE(qt_hypervolume(f, n, m, ref, &hv, &e) == 0);
      double want = hv_incl_excl(in, k, m, ref);
      if (fabs(hv - want) > 1e-12)
        QT_TEST_FAIL_("m=%zu rep=%d n=%zu: %.15g, inclusion-exclusion %.15g", m, rep, n, hv, want);
    }
}

static void enomem_paths(void) {
  double f[] = {0, 1, 1, 1, 0, 1, 1, 1, 0, 0.5, 0.5, 0.5};
  double r3[] = {2, 2, 2}, hv;
  size_t rk[4], idx[] = {0, 1, 2, 3};
  double d[4];
  int failures = 0;
  for (long n = 1; n < 20; n++) {
    qt_err e;
    qt_alloc_fail_at(n, 0);
    int a = qt_hypervolume(f, 4, 3, r3, &hv, &e);
    qt_alloc_fail_at(n, 0);
    int b = qt_pareto_sort(f, NULL, 4, 3, 0, rk, &e);
    qt_alloc_fail_at(n, 0);
    int c = qt_pareto_crowding(f, 3, idx, 4, d, &e);
    qt_alloc_fail_at(0, 0);
    EXPECT_TRUE(a == 0 || a == QT_ENOMEM);
    EXPECT_TRUE(b == 0 || b == QT_ENOMEM);
    EXPECT_TRUE(c == 0 || c == QT_ENOMEM);
    failures += (a != 0) + (b != 0) + (c != 0);
    if (a == QT_ENOMEM) EXPECT_CONTAINS(e.msg, "out of memory");
  }
  EXPECT_TRUE(failures >= 3);
}

static void objectives_parse(void) {
  qt_goal g;
  qt_err e;
  qt_goal_default(&g, 0);
  ASSERT_TRUE(qt_goal_parse_objectives(&g, "sharpe,max_drawdown", "maximize,minimize", &e) == 0);
  EXPECT_U64_EQ(qt_goal_n_objectives(&g), 2);
  int mx;
  EXPECT_STREQ(qt_goal_objective(&g, 1, &mx), "max_drawdown");
  EXPECT_EQ(mx, 0);
  EXPECT_STREQ(g.metric, "sharpe");
  EXPECT_EQ(g.maximize, 1);
  /* one direction for all */
  ASSERT_TRUE(qt_goal_parse_objectives(&g, "a,b,c", "minimize", &e) == 0);
  EXPECT_U64_EQ(qt_goal_n_objectives(&g), 3);
  qt_goal_objective(&g, 2, &mx);
  EXPECT_EQ(mx, 0);
  /* through the stored JSON and back */
  char buf[4096];
  ASSERT_TRUE(qt_goal_to_json(&g, buf, sizeof buf, &e) == 0);
  EXPECT_CONTAINS(buf, "\"objectives\"");
  qt_goal h;
  ASSERT_TRUE(qt_goal_from_json(&h, buf, &e) == 0);
  EXPECT_U64_EQ(qt_goal_n_objectives(&h), 3);
  EXPECT_STREQ(qt_goal_objective(&h, 1, NULL), "b");
  /* refusals name the item */
  EXPECT_EQ(qt_goal_parse_objectives(&g, "a,b,c,d", NULL, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "at most 3");
  EXPECT_EQ(qt_goal_parse_objectives(&g, "a,b,c", "maximize,minimize", &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "2 directions for 3 objectives");
  EXPECT_EQ(qt_goal_parse_objectives(&g, "score,sharpe", NULL, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "'score'");
  EXPECT_EQ(qt_goal_parse_objectives(&g, "a,a", NULL, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "listed twice");
  EXPECT_EQ(qt_goal_parse_objectives(&g, "a,,b", NULL, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "item 2");
  EXPECT_EQ(qt_goal_parse_objectives(&g, "a,b", "maximize,upward", &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "'upward'");
  /* the names are checked like a single objective's (aliases resolved) */
  ASSERT_TRUE(qt_goal_parse_objectives(&g, "sharpe_ratio,max_drawdown", "maximize,minimize", &e) == 0);
  g.n_cons = 0;
  ASSERT_TRUE(qt_goal_check_strategy_names(&g, &e) == 0);
  EXPECT_STREQ(qt_goal_objective(&g, 0, NULL), "sharpe");
  ASSERT_TRUE(qt_goal_parse_objectives(&g, "sharpe,max_drawdwn", NULL, &e) == 0);
  EXPECT_EQ(qt_goal_check_strategy_names(&g, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "max_drawdwn");
}

QT_TESTS(T(dominance), T(sort_ranks), T(crowding_as_optuna), T(hypervolume_by_hand),
         T(hypervolume_matches_inclusion_exclusion), T(enomem_paths), T(objectives_parse))
