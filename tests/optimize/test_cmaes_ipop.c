/* CMA-ES restarts and margin: with restart_strategy=ipop a run that has
 * converged on the sphere (its values flat below 1e-12) restarts with twice
 * the population, and keeps finding the optimum; without it the first run
 * goes on.  With with_margin=1 an integer dimension whose best value is
 * found keeps being left now and then (the margin), where plain rounding
 * fixes it; both settings are reproducible from the history. */
#include "qt_test.h"
#include "qtune/optimize.h"
#include "optimize/sampler_int.h"

#define NT 1500

static qt_space *space(int with_int) {
  qt_space *sp = NULL;
  if (qt_space_new(&sp, NULL)) return NULL;
  for (int k = 0; k < 2; k++) {
    qt_dim d = {.type = QT_PARAM_FLOAT, .lo = -5, .hi = 5};
    snprintf(d.name, sizeof d.name, "x%d", k);
    if (qt_space_add(sp, &d, NULL)) return NULL;
  }
  if (with_int) {
    qt_dim d = {.name = "i", .type = QT_PARAM_INT, .lo = 0, .hi = 4, .step = 1};
    if (qt_space_add(sp, &d, NULL)) return NULL;
  }
  return sp;
}

static double xs[NT][3];
static qt_trial_view vs[NT];

/* Drives n trials of sphere (+ 10 (i - 2)^2 with the int); returns the
 * best value; the sampler stays in *out_self. */
static double drive(const qt_space *sp, const qt_kv *opts, int n, void **out_self) {
  const qt_sampler_vtbl *vt = qt_sampler_find("cmaes");
  qt_err e;
  size_t d = qt_space_n(sp);
  double best = INFINITY;
  if (vt->create(sp, 3, opts, out_self, &e)) return NAN;
  for (int i = 0; i < n; i++) {
    if (vt->propose(*out_self, vs, (size_t)i, xs[i], &e)) return NAN;
    double v = (xs[i][0] - 1.3) * (xs[i][0] - 1.3) + (xs[i][1] - 1.3) * (xs[i][1] - 1.3);
    if (d == 3) v += 10 * (xs[i][2] - 2) * (xs[i][2] - 2);
    vs[i] = (qt_trial_view){.number = i, .state = QT_TRIAL_COMPLETE, .x = xs[i], .value = v,
                            .feasible = 1};
    if (v < best) best = v;
  }
  return best;
}

static void ipop_restarts_double_population(void) {
  qt_space *sp = space(0);
  ASSERT_TRUE(sp);
  void *self = NULL;
  qt_kv ipop[] = {{"restart_strategy", "ipop"}, {NULL, NULL}};
  double best = drive(sp, ipop, NT, &self);
  size_t lam = 0, run = qt__cmaes_run(self, &lam);
  fprintf(stderr, "  ipop: %zu restarts by trial %d, population %zu, best %.3g\n", run, NT, lam,
          best);
  EXPECT_TRUE(run >= 1);
  EXPECT_U64_EQ(lam, (size_t)6 << run); /* 4 + floor(3 ln 2) = 6, doubled per restart */
  EXPECT_TRUE(best < 1e-8);
  /* a fresh sampler given the history proposes the same next point */
  void *fresh = NULL;
  qt_err e;
  double a[2], b[2];
  const qt_sampler_vtbl *vt = qt_sampler_find("cmaes");
  ASSERT_TRUE(vt->propose(self, vs, NT, a, &e) == 0);
  ASSERT_TRUE(vt->create(sp, 3, ipop, &fresh, &e) == 0);
  ASSERT_TRUE(vt->propose(fresh, vs, NT, b, &e) == 0);
  EXPECT_TRUE(memcmp(a, b, sizeof a) == 0);
  vt->destroy(fresh);
  vt->destroy(self);
  /* without the option: one run */
  ASSERT_TRUE(drive(sp, NULL, NT, &self) < 1e-8);
  EXPECT_U64_EQ(qt__cmaes_run(self, &lam), 0);
  EXPECT_U64_EQ(lam, 6);
  vt->destroy(self);
  /* bad values are named */
  qt_kv bad[] = {{"restart_strategy", "bipop"}, {NULL, NULL}};
  EXPECT_EQ(vt->create(sp, 3, bad, &self, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "restart_strategy=bipop");
  qt_space_free(sp);
}

/* How many of the last 300 proposals leave the best int value 2. */
static int int_moves(const qt_kv *opts) {
  qt_space *sp = space(1);
  void *self = NULL;
  int moves = -1;
  if (sp && drive(sp, opts, 900, &self) < 1e-2) {
    moves = 0;
    for (int i = 600; i < 900; i++) moves += xs[i][2] != 2;
  }
  if (self) qt_sampler_find("cmaes")->destroy(self);
  qt_space_free(sp);
  return moves;
}

static void margin_keeps_ints_moving(void) {
  qt_kv margin[] = {{"with_margin", "1"}, {NULL, NULL}};
  int plain = int_moves(NULL), with = int_moves(margin);
  fprintf(stderr, "  trials 601-900 off the best int: plain rounding %d, with margin %d\n", plain,
          with);
  ASSERT_TRUE(plain >= 0 && with >= 0); /* both found the optimum */
  EXPECT_TRUE(with > plain);
  EXPECT_TRUE(with >= 1);
}

QT_TESTS(T(ipop_restarts_double_population), T(margin_keeps_ints_moving))
