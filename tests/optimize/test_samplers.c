/* Conformance suite run over every sampler of the registry: bounds and
 * snapping for every parameter type, determinism by seed (including a fresh
 * sampler given the same history), different seeds differ; then the grid's
 * exhaustion and resume. */
#include "qt_test.h"
#include "qtune/optimize.h"
#include "optimize/sampler_int.h"

/* Every sampler of the registry (qt_sampler_at): one added to the table is
 * run by this suite without editing it. */
#define NT 120

static qt_space *mixed_space(void) {
  static const char *const ch[] = {"a", "b", "c"};
  static const qt_param_spec spec[] = {
      {"lvl", QT_PARAM_INT, 10, 52, 5, 0, 10, NULL, 0, ""},
      {"f", QT_PARAM_FLOAT, -2, 3, 0, 0, 0, NULL, 0, ""},
      {"fs", QT_PARAM_FLOAT, 0.5, 2, 0.25, 0, 1, NULL, 0, ""},
      {"lf", QT_PARAM_FLOAT, 1e-3, 1, 0, 1, 0.01, NULL, 0, ""},
      {"li", QT_PARAM_INT, 2, 200, 1, 1, 10, NULL, 0, ""},
      {"c", QT_PARAM_CAT, 0, 2, 0, 0, 0, ch, 3, ""},
      {"b", QT_PARAM_BOOL, 0, 1, 0, 0, 0, NULL, 0, ""},
      {"fx", QT_PARAM_INT, 1, 20, 1, 0, 7, NULL, 0, ""},
  };
  qt_space *sp = NULL;
  qt_err e;
  if (qt_space_from_spec(spec, 8, &sp, &e)) return NULL;
  if (qt_space_apply_yaml(sp, "fx: 7\n", "t.yaml", spec, 8, &e)) {
    qt_space_free(sp);
    return NULL;
  }
  return sp;
}

/* A deterministic objective over the internal form. */
static double objective(const double *x, size_t n) {
  double s = 0;
  for (size_t k = 0; k < n; k++) s += (x[k] - 0.3 * (double)k) * (x[k] - 0.3 * (double)k);
  return s;
}

typedef struct run {
  double x[NT][8];
  qt_trial_view v[NT];
  int n;
} run;

/* Proposes up to NT trials feeding each back as complete; returns the count. */
static int drive(const qt_sampler_vtbl *vt, const qt_space *sp, uint64_t seed, run *r) {
  void *self = NULL;
  qt_err e;
  size_t d = qt_space_n(sp);
  memset(r, 0, sizeof *r);
  if (vt->create(sp, seed, NULL, &self, &e)) return -1;
  int i;
  for (i = 0; i < NT; i++) {
    int rc = vt->propose(self, r->v, (size_t)i, r->x[i], &e);
    if (rc == QT_DONE) break;
    if (rc) {
      i = -1;
      break;
    }
    r->v[i] = (qt_trial_view){.number = i, .state = QT_TRIAL_COMPLETE, .x = r->x[i], .value = objective(r->x[i], d), .feasible = 1};
  }
  vt->destroy(self);
  r->n = i;
  return i;
}

static void registry_finds_each(void) {
  size_t n = 0;
  char names[256], want[256] = "";
  for (const qt_sampler_vtbl *vt; (vt = qt_sampler_at(n)) != NULL; n++) {
    EXPECT_TRUE(qt_sampler_find(vt->name) == vt);
    EXPECT_EQ(vt->abi, QT_SAMPLER_ABI);
    EXPECT_TRUE(vt->create && vt->propose && vt->destroy);
    for (size_t j = 0; j < n; j++) /* names are unique */
      if (!strcmp(qt_sampler_at(j)->name, vt->name)) QT_TEST_FAIL_("%s twice", vt->name);
    size_t l = strlen(want);
    snprintf(want + l, sizeof want - l, "%s%s", n ? "|" : "", vt->name);
  }
  EXPECT_TRUE(n >= 3);
  qt_sampler_names(names, sizeof names, "|");
  EXPECT_STREQ(names, want); /* the help's list is the table */
  EXPECT_CONTAINS(names, "grid|random|tpe");
  EXPECT_TRUE(qt_sampler_find("grid") == &qt_sampler_grid);
  EXPECT_TRUE(qt_sampler_find("random") == &qt_sampler_random);
  EXPECT_TRUE(qt_sampler_find("cmaes") == &qt_sampler_cmaes);
  EXPECT_TRUE(qt_sampler_find("qmc") == &qt_sampler_qmc);
  EXPECT_TRUE(qt_sampler_find("nosuch") == NULL);
  EXPECT_TRUE(qt_sampler_find(NULL) == NULL);
  EXPECT_TRUE(qt_sampler_find("tpe") == &qt_sampler_tpe);
}

static void bounds_and_snapping(void) {
  qt_space *sp = mixed_space();
  ASSERT_TRUE(sp);
  static run r;
  const qt_sampler_vtbl *vt;
  for (size_t s = 0; (vt = qt_sampler_at(s)) != NULL; s++) {
    ASSERT_TRUE(drive(vt, sp, 42, &r) == NT);
    int seen_lo_half = 0, seen_hi_half = 0, cats[3] = {0};
    for (int i = 0; i < NT; i++) {
      for (size_t k = 0; k < 8; k++) {
        double lo, hi, x = r.x[i][k];
        qt_space_bounds(sp, k, &lo, &hi);
        if (!(x >= lo && x <= hi))
          QT_TEST_FAIL_("%s: trial %d dim %zu: %g outside [%g, %g]", vt->name, i, k, x, lo, hi);
        if (qt_space_snap(sp, k, x) != x)
          QT_TEST_FAIL_("%s: trial %d dim %zu: %.17g is not on its grid", vt->name, i, k, x);
      }
      EXPECT_DBL_EQ(r.x[i][7], 7); /* fixed */
      double u = qt_space_to_user(sp, 0, r.x[i][0]);
      EXPECT_EQ(((int)u - 10) % 5, 0);
      u = qt_space_to_user(sp, 4, r.x[i][4]);
      EXPECT_NEAR(u, round(u), 1e-9); /* log int: a whole number */
      cats[(int)r.x[i][5]]++;
      seen_lo_half += r.x[i][3] < 0.5 * (log(1e-3) + log(1.0));
      seen_hi_half += r.x[i][3] > 0.5 * (log(1e-3) + log(1.0));
    }
    /* every categorical value and both halves of the log range are reached */
    EXPECT_TRUE(cats[0] > 0 && cats[1] > 0 && cats[2] > 0);
    EXPECT_TRUE(seen_lo_half > 0 && seen_hi_half > 0);
  }
  qt_space_free(sp);
}

static void random_is_log_uniform(void) {
  qt_space *sp = mixed_space();
  ASSERT_TRUE(sp);
  void *self;
  qt_err e;
  ASSERT_TRUE(qt_sampler_random.create(sp, 9, NULL, &self, &e) == 0);
  double x[8];
  int below_01 = 0, n = 4000;
  for (int i = 0; i < n; i++) {
    ASSERT_TRUE(qt_sampler_random.propose(self, NULL, 0, x, &e) == 0);
    below_01 += exp(x[3]) < 0.01; /* log-uniform on [1e-3, 1]: P = 1/3 */
  }
  EXPECT_NEAR((double)below_01 / n, 1.0 / 3.0, 0.03);
  qt_sampler_random.destroy(self);
  qt_space_free(sp);
}

static void deterministic_by_seed(void) {
  qt_space *sp = mixed_space();
  ASSERT_TRUE(sp);
  static run a, b, c;
  const qt_sampler_vtbl *vt;
  for (size_t s = 0; (vt = qt_sampler_at(s)) != NULL; s++) {
    ASSERT_TRUE(drive(vt, sp, 7, &a) == NT);
    ASSERT_TRUE(drive(vt, sp, 7, &b) == NT);
    ASSERT_TRUE(drive(vt, sp, 8, &c) == NT);
    EXPECT_TRUE(memcmp(a.x, b.x, sizeof a.x) == 0);
    int differ = 0;
    for (int i = 0; i < 20; i++) differ += memcmp(a.x[i], c.x[i], sizeof a.x[i]) != 0;
    if (differ < 15) QT_TEST_FAIL_("%s: seeds 7 and 8 agree on %d of 20", vt->name, 20 - differ);
    /* a fresh sampler given the same history proposes the same next point */
    for (int at = 5; at < NT; at += 37) {
      void *self;
      qt_err e;
      double x[8];
      ASSERT_TRUE(vt->create(sp, 7, NULL, &self, &e) == 0);
      ASSERT_TRUE(vt->propose(self, a.v, (size_t)at, x, &e) == 0);
      if (memcmp(x, a.x[at], sizeof x))
        QT_TEST_FAIL_("%s: a resumed sampler differs at trial %d", vt->name, at);
      vt->destroy(self);
    }
  }
  qt_space_free(sp);
}

static qt_space *small_space(void) {
  static const char *const ch[] = {"x", "y"};
  static const qt_param_spec spec[] = {
      {"i", QT_PARAM_INT, 1, 3, 1, 0, 1, NULL, 0, ""},
      {"c", QT_PARAM_CAT, 0, 1, 0, 0, 0, ch, 2, ""},
      {"f", QT_PARAM_FLOAT, 0, 1, 0, 0, 0, NULL, 0, ""},
  };
  qt_space *sp = NULL;
  qt_err e;
  qt_space_from_spec(spec, 3, &sp, &e);
  return sp;
}

static int seen_before(double (*x)[3], int n, const double *y) {
  for (int i = 0; i < n; i++)
    if (!memcmp(x[i], y, sizeof x[i])) return 1;
  return 0;
}

static void grid_exhausts_exactly(void) {
  qt_space *sp = small_space();
  ASSERT_TRUE(sp);
  qt_kv opts[] = {{"n_points", "3"}, {NULL, NULL}};
  void *self;
  qt_err e;
  ASSERT_TRUE(qt_sampler_grid.create(sp, 1, opts, &self, &e) == 0);
  double x[40][3];
  int n = 0, rc;
  while ((rc = qt_sampler_grid.propose(self, NULL, 0, x[n], &e)) == 0 && n < 39) {
    EXPECT_TRUE(!seen_before(x, n, x[n]));
    EXPECT_TRUE(x[n][2] == 0 || x[n][2] == 0.5 || x[n][2] == 1);
    n++;
  }
  EXPECT_EQ(rc, QT_DONE);
  EXPECT_EQ(n, 3 * 2 * 3);
  EXPECT_EQ(qt_sampler_grid.propose(self, NULL, 0, x[0], &e), QT_DONE);
  /* shuffled: not the plain index order (i fastest) */
  EXPECT_TRUE(!(x[0][0] == 1 && x[1][0] == 2 && x[2][0] == 3));
  qt_sampler_grid.destroy(self);
  /* default 5 points per float */
  ASSERT_TRUE(qt_sampler_grid.create(sp, 1, NULL, &self, &e) == 0);
  n = 0;
  while (qt_sampler_grid.propose(self, NULL, 0, x[0], &e) == 0) n++;
  EXPECT_EQ(n, 3 * 2 * 5);
  qt_sampler_grid.destroy(self);
  qt_kv bad[] = {{"n_points", "1"}, {NULL, NULL}};
  EXPECT_EQ(qt_sampler_grid.create(sp, 1, bad, &self, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "n_points=1");
  qt_space_free(sp);
  /* a float's own n_points wins over the option */
  sp = NULL;
  ASSERT_TRUE(qt_space_new(&sp, &e) == 0);
  qt_dim a = {.name = "a", .type = QT_PARAM_FLOAT, .lo = 0, .hi = 1, .n_points = 11};
  qt_dim b = {.name = "b", .type = QT_PARAM_FLOAT, .lo = -1, .hi = 1};
  ASSERT_TRUE(qt_space_add(sp, &a, &e) == 0 && qt_space_add(sp, &b, &e) == 0);
  ASSERT_TRUE(qt_sampler_grid.create(sp, 1, opts, &self, &e) == 0);
  n = 0;
  int tenths = 1;
  while (qt_sampler_grid.propose(self, NULL, 0, x[0], &e) == 0) {
    n++;
    tenths &= fabs(x[0][0] * 10 - round(x[0][0] * 10)) < 1e-9;
  }
  EXPECT_EQ(n, 11 * 3);
  EXPECT_TRUE(tenths);
  qt_sampler_grid.destroy(self);
  a.n_points = 1;
  EXPECT_EQ(qt_space_add(sp, &a, &e), QT_EINVAL);
  qt_space_free(sp);
}

static void grid_resume_skips_done(void) {
  qt_space *sp = small_space();
  ASSERT_TRUE(sp);
  qt_kv opts[] = {{"n_points", "3"}, {NULL, NULL}};
  void *g1, *g2;
  qt_err e;
  double x[18][3];
  qt_trial_view v[18];
  ASSERT_TRUE(qt_sampler_grid.create(sp, 5, opts, &g1, &e) == 0);
  for (int i = 0; i < 18; i++) {
    ASSERT_TRUE(qt_sampler_grid.propose(g1, NULL, 0, x[i], &e) == 0);
    /* the first 7: some finished, some still running, one failed */
    v[i] = (qt_trial_view){.number = i, .state = i % 3 == 0 ? QT_TRIAL_RUNNING : i == 5 ? QT_TRIAL_FAIL
                                                                      : QT_TRIAL_COMPLETE, .x = x[i], .value = i % 3 == 0 ? NAN : (double)i, .feasible = 1};
  }
  qt_sampler_grid.destroy(g1);
  ASSERT_TRUE(qt_sampler_grid.create(sp, 5, opts, &g2, &e) == 0);
  double y[3];
  for (int i = 7; i < 18; i++) {
    ASSERT_TRUE(qt_sampler_grid.propose(g2, v, 7, y, &e) == 0);
    EXPECT_TRUE(memcmp(y, x[i], sizeof y) == 0); /* same order, first 7 skipped */
  }
  EXPECT_EQ(qt_sampler_grid.propose(g2, v, 7, y, &e), QT_DONE);
  qt_sampler_grid.destroy(g2);
  /* another seed, another order of the same 18 points */
  ASSERT_TRUE(qt_sampler_grid.create(sp, 6, opts, &g2, &e) == 0);
  int same = 0;
  for (int i = 0; i < 18; i++) {
    ASSERT_TRUE(qt_sampler_grid.propose(g2, NULL, 0, y, &e) == 0);
    same += memcmp(y, x[i], sizeof y) == 0;
    EXPECT_TRUE(seen_before(x, 18, y));
  }
  EXPECT_TRUE(same < 6);
  qt_sampler_grid.destroy(g2);
  qt_space_free(sp);
}

static void grid_huge_needs_no_memory(void) {
  qt_space *sp = NULL;
  qt_err e;
  ASSERT_TRUE(qt_space_new(&sp, &e) == 0);
  for (int k = 0; k < 7; k++) { /* 1000^7 = 1e21 > 2^62: refused */
    qt_dim d;
    memset(&d, 0, sizeof d);
    snprintf(d.name, sizeof d.name, "p%d", k);
    d.type = QT_PARAM_INT;
    d.lo = 1;
    d.hi = 1000;
    d.step = 1;
    d.def = 1;
    ASSERT_TRUE(qt_space_add(sp, &d, &e) == 0);
  }
  void *g;
  EXPECT_EQ(qt_sampler_grid.create(sp, 1, NULL, &g, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "2^62");
  qt_space_free(sp);
  ASSERT_TRUE(qt_space_new(&sp, &e) == 0);
  for (int k = 0; k < 5; k++) { /* 1000^5 = 1e15 points */
    qt_dim d;
    memset(&d, 0, sizeof d);
    snprintf(d.name, sizeof d.name, "p%d", k);
    d.type = QT_PARAM_INT;
    d.lo = 1;
    d.hi = 1000;
    d.step = 1;
    d.def = 1;
    ASSERT_TRUE(qt_space_add(sp, &d, &e) == 0);
  }
  ASSERT_TRUE(qt_sampler_grid.create(sp, 1, NULL, &g, &e) == 0);
  double x[5], sum0 = 0;
  for (int i = 0; i < 1000; i++) {
    ASSERT_TRUE(qt_sampler_grid.propose(g, NULL, 0, x, &e) == 0);
    sum0 += x[0];
  }
  /* shuffled over the whole grid: the first coordinate averages near 500 */
  EXPECT_NEAR(sum0 / 1000, 500.5, 0.1);
  qt_sampler_grid.destroy(g);
  qt_space_free(sp);
}

static void enomem_create_and_propose(void) {
  qt_space *sp = mixed_space();
  ASSERT_TRUE(sp);
  static run r;
  const qt_sampler_vtbl *vt;
  for (size_t s = 0; (vt = qt_sampler_at(s)) != NULL; s++) {
    ASSERT_TRUE(drive(vt, sp, 3, &r) == NT);
    int failures = 0, ok = 0;
    for (long n = 1; n < 40 && !ok; n++) {
      void *self = NULL;
      qt_err e;
      double x[8];
      qt_alloc_fail_at(n, 0);
      int rc = vt->create(sp, 3, NULL, &self, &e);
      if (rc == 0) {
        rc = vt->propose(self, r.v, NT - 1, x, &e);
        if (rc == 0) ok = 1;
      }
      qt_alloc_fail_at(0, 0);
      if (rc) {
        EXPECT_EQ(rc, QT_ENOMEM);
        EXPECT_CONTAINS(e.msg, "out of memory");
        failures++;
        if (self) { /* the sampler stays usable after a failed propose */
          ASSERT_TRUE(vt->propose(self, r.v, NT - 1, x, &e) == 0);
          EXPECT_TRUE(memcmp(x, r.x[NT - 1], sizeof x) == 0 || vt == &qt_sampler_random);
        }
      }
      if (self) vt->destroy(self);
    }
    EXPECT_TRUE(ok);
    EXPECT_TRUE(failures >= 1);
  }
  qt_space_free(sp);
}

/* A misspelt option fails naming the key and the valid ones, for every
 * sampler: silently ignored, a study would run with the defaults. */
static void unknown_options_rejected(void) {
  qt_space *sp = mixed_space();
  ASSERT_TRUE(sp);
  static const struct { const char *name, *valid; } k_valid[] = {
      {"grid", "n_points"}, {"random", "takes none"}, {"tpe", "n_ei_candidates"}};
  qt_kv bad[] = {{"n_ei_canddiates", "8"}, {NULL, NULL}};
  const qt_sampler_vtbl *vt;
  for (size_t i = 0; (vt = qt_sampler_at(i)) != NULL; i++) {
    void *self = (void *)1;
    qt_err e;
    EXPECT_EQ(vt->create(sp, 1, bad, &self, &e), QT_EINVAL);
    EXPECT_CONTAINS(e.msg, "unknown option 'n_ei_canddiates'");
    for (size_t k = 0; k < sizeof k_valid / sizeof k_valid[0]; k++)
      if (!strcmp(k_valid[k].name, vt->name)) EXPECT_CONTAINS(e.msg, k_valid[k].valid);
    EXPECT_TRUE(self == NULL);
  }
  qt_kv np[] = {{"n_points", "3"}, {NULL, NULL}};
  void *self = NULL;
  qt_err e;
  ASSERT_TRUE(qt_sampler_grid.create(sp, 1, np, &self, &e) == 0);
  qt_sampler_grid.destroy(self);
  EXPECT_EQ(qt_sampler_random.create(sp, 1, np, &self, &e), QT_EINVAL);
  qt_space_free(sp);
}

QT_TESTS(T(registry_finds_each), T(unknown_options_rejected), T(bounds_and_snapping), T(random_is_log_uniform),
         T(deterministic_by_seed), T(grid_exhausts_exactly), T(grid_resume_skips_done),
         T(grid_huge_needs_no_memory), T(enomem_create_and_propose))
