/* The quasi-random sampler: the unscrambled Sobol points equal the known
 * values (Joe-Kuo direction numbers, Gray-code order as SciPy), every
 * dyadic box of a 2^k-point 2-D net holds exactly one point (unscrambled and
 * Owen-scrambled, for several pairs of dimensions), Halton's radical inverses,
 * determinism by seed, the options, and the unit-to-dimension mapping by
 * floor for ints and categoricals. */
#include "qt_test.h"
#include "qtune/optimize.h"
#include "optimize/sampler_int.h"

static const qt_sampler_vtbl *qmc(void) {
  const qt_sampler_vtbl *vt = qt_sampler_find("qmc");
  if (!vt) QT_TEST_FAIL_("no sampler named qmc in the registry");
  return vt;
}

/* d floats on [0, 1): internal value = unit coordinate. */
static qt_space *unit_box(size_t d) {
  qt_space *sp = NULL;
  qt_err e;
  if (qt_space_new(&sp, &e)) return NULL;
  for (size_t k = 0; k < d; k++) {
    qt_dim dm = {.type = QT_PARAM_FLOAT, .lo = 0, .hi = 1};
    snprintf(dm.name, sizeof dm.name, "u%zu", k);
    if (qt_space_add(sp, &dm, &e)) {
      qt_space_free(sp);
      return NULL;
    }
  }
  return sp;
}

static void *make(const qt_space *sp, uint64_t seed, const char *type, const char *scramble) {
  const qt_sampler_vtbl *vt = qmc();
  qt_kv opts[] = {{"qmc_type", type}, {"scramble", scramble}, {NULL, NULL}};
  void *self = NULL;
  qt_err e;
  if (!vt || vt->create(sp, seed, opts, &self, &e)) return NULL;
  return self;
}

static void sobol_known_points(void) {
  qt_space *sp = unit_box(3);
  ASSERT_TRUE(sp);
  void *s = make(sp, 1, "sobol", "0");
  ASSERT_TRUE(s);
  /* SciPy's Sobol(d=3, scramble=False): 0; .5; (.75 .25 .25); (.25 .75 .75);
   * (.375 .375 .625); (.875 .875 .125); (.625 .125 .875); (.125 .625 .375) */
  static const double want[8][3] = {{0, 0, 0},         {.5, .5, .5},       {.75, .25, .25},
                                    {.25, .75, .75},   {.375, .375, .625}, {.875, .875, .125},
                                    {.625, .125, .875}, {.125, .625, .375}};
  double x[3];
  qt_err e;
  for (int i = 0; i < 8; i++) {
    ASSERT_TRUE(qmc()->propose(s, NULL, (size_t)i, x, &e) == 0);
    for (int k = 0; k < 3; k++) {
      if (x[k] != want[i][k])
        QT_TEST_FAIL_("point %d dim %d: %.17g, want %g", i, k, x[k], want[i][k]);
    }
  }
  qmc()->destroy(s);
  qt_space_free(sp);
}

/* A (0,m,2)-net in base 2: for every split 2^a x 2^(m-a) of the unit square
 * into boxes, each box holds exactly one of the first 2^m points. */
static int net_ok(void *s, size_t j1, size_t j2, int m, uint64_t first) {
  int n = 1 << m;
  static unsigned char cnt[1 << 12];
  for (int a = 0; a <= m; a++) {
    memset(cnt, 0, (size_t)n);
    for (int i = 0; i < n; i++) {
      double u = qt__qmc_unit(s, j1, first + (uint64_t)i), v = qt__qmc_unit(s, j2, first + (uint64_t)i);
      int bx = (int)(u * (1 << a)), by = (int)(v * (1 << (m - a)));
      if (cnt[bx * (1 << (m - a)) + by]++) return 0;
    }
  }
  return 1;
}

static void sobol_dyadic_boxes(void) {
  qt_space *sp = unit_box(64);
  ASSERT_TRUE(sp);
  for (int scr = 0; scr <= 1; scr++) {
    void *s = make(sp, 77, "sobol", scr ? "1" : "0");
    ASSERT_TRUE(s);
    /* dims 1-2 are a (0,2)-sequence: every 2^m-point block is a (0,m,2)-net
     * (other pairs have t > 0); Owen scrambling keeps it */
    for (int m = 1; m <= 10; m++)
      for (uint64_t first = 0; first < 4 * ((uint64_t)1 << m); first += (uint64_t)1 << m)
        if (!net_ok(s, 0, 1, m, first))
          QT_TEST_FAIL_("scramble=%d: points %ju.. (2^%d): not one per dyadic box", scr,
                        (uintmax_t)first, m);
    /* every single coordinate: the first 2^m values stratify [0,1) exactly */
    for (size_t j = 0; j < 64; j++) {
      static unsigned char c[1024];
      memset(c, 0, sizeof c);
      for (int i = 0; i < 1024; i++) {
        int b = (int)(qt__qmc_unit(s, j, (uint64_t)i) * 1024);
        if (c[b]++) QT_TEST_FAIL_("scramble=%d dim %zu: two of 1024 points in one bin", scr, j);
      }
    }
    qmc()->destroy(s);
  }
  qt_space_free(sp);
}

static void halton_points(void) {
  qt_space *sp = unit_box(2);
  ASSERT_TRUE(sp);
  void *s = make(sp, 1, "halton", "0");
  ASSERT_TRUE(s);
  static const double want[5][2] = {{0, 0}, {.5, 1. / 3}, {.25, 2. / 3}, {.75, 1. / 9}, {.125, 4. / 9}};
  double x[2];
  qt_err e;
  for (int i = 0; i < 5; i++) {
    ASSERT_TRUE(qmc()->propose(s, NULL, (size_t)i, x, &e) == 0);
    EXPECT_NEAR(x[0], want[i][0], 1e-15);
    EXPECT_NEAR(x[1], want[i][1], 1e-15);
  }
  qmc()->destroy(s);
  /* shifted: each coordinate moves by the same seeded amount mod 1 */
  void *a = make(sp, 5, "halton", "1"), *b = make(sp, 5, "halton", "1"), *c = make(sp, 6, "halton", "1");
  ASSERT_TRUE(a && b && c);
  double s0 = qt__qmc_unit(a, 0, 0);
  for (uint64_t i = 0; i < 16; i++) {
    EXPECT_DBL_EQ(qt__qmc_unit(a, 1, i), qt__qmc_unit(b, 1, i));
    double d = qt__qmc_unit(a, 0, i) - s0;
    EXPECT_TRUE(d >= -1 && d < 1);
  }
  EXPECT_TRUE(qt__qmc_unit(a, 0, 3) != qt__qmc_unit(c, 0, 3));
  qmc()->destroy(a);
  qmc()->destroy(b);
  qmc()->destroy(c);
  qt_space_free(sp);
}

static void seeded_scramble(void) {
  qt_space *sp = unit_box(4);
  ASSERT_TRUE(sp);
  void *a = make(sp, 9, "sobol", "1"), *b = make(sp, 9, "sobol", "1"), *c = make(sp, 10, "sobol", "1");
  ASSERT_TRUE(a && b && c);
  int differ = 0;
  for (uint64_t i = 0; i < 32; i++)
    for (size_t j = 0; j < 4; j++) {
      EXPECT_DBL_EQ(qt__qmc_unit(a, j, i), qt__qmc_unit(b, j, i));
      differ += qt__qmc_unit(a, j, i) != qt__qmc_unit(c, j, i);
    }
  EXPECT_TRUE(differ > 120);
  qmc()->destroy(a);
  qmc()->destroy(b);
  qmc()->destroy(c);
  qt_space_free(sp);
}

/* Ints and categoricals take floor(u * n): 2^k points give each value of a
 * 4-valued categorical and a 1..8 int exactly equally often; fixed dims take
 * no coordinate. */
static void floor_mapping(void) {
  static const char *const ch[] = {"a", "b", "c", "d"};
  static const qt_param_spec spec[] = {
      {"fx", QT_PARAM_INT, 1, 9, 1, 0, 3, NULL, 0, ""},
      {"k", QT_PARAM_CAT, 0, 3, 0, 0, 0, ch, 4, ""},
      {"n", QT_PARAM_INT, 1, 8, 1, 0, 1, NULL, 0, ""},
  };
  qt_space *sp = NULL;
  qt_err e;
  ASSERT_TRUE(qt_space_from_spec(spec, 3, &sp, &e) == 0);
  ASSERT_TRUE(qt_space_apply_yaml(sp, "fx: 3\n", "t.yaml", spec, 3, &e) == 0);
  void *s = make(sp, 4, "sobol", "1");
  ASSERT_TRUE(s);
  int cat[4] = {0}, in[8] = {0};
  double x[3];
  for (int i = 0; i < 64; i++) {
    ASSERT_TRUE(qmc()->propose(s, NULL, (size_t)i, x, &e) == 0);
    EXPECT_DBL_EQ(x[0], 3);
    cat[(int)x[1]]++;
    in[(int)x[2] - 1]++;
  }
  for (int c = 0; c < 4; c++) EXPECT_EQ(cat[c], 16);
  for (int v = 0; v < 8; v++) EXPECT_EQ(in[v], 8);
  qmc()->destroy(s);
  qt_space_free(sp);
}

static void options_checked(void) {
  qt_space *sp = unit_box(2);
  ASSERT_TRUE(sp);
  const qt_sampler_vtbl *vt = qmc();
  ASSERT_TRUE(vt);
  void *self;
  qt_err e;
  qt_kv bad_type[] = {{"qmc_type", "niederreiter"}, {NULL, NULL}};
  EXPECT_EQ(vt->create(sp, 1, bad_type, &self, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "qmc_type=niederreiter: expected sobol or halton");
  qt_kv bad_scr[] = {{"scramble", "yes"}, {NULL, NULL}};
  EXPECT_EQ(vt->create(sp, 1, bad_scr, &self, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "scramble=yes: expected 0 or 1");
  qt_space_free(sp);
  sp = unit_box(200); /* past the direction-number table: refused, Halton takes it */
  ASSERT_TRUE(sp);
  EXPECT_EQ(vt->create(sp, 1, NULL, &self, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "128 dimensions");
  qt_kv halton[] = {{"qmc_type", "halton"}, {NULL, NULL}};
  ASSERT_TRUE(vt->create(sp, 1, halton, &self, &e) == 0);
  vt->destroy(self);
  qt_space_free(sp);
}

QT_TESTS(T(sobol_known_points), T(sobol_dyadic_boxes), T(halton_points), T(seeded_scramble),
         T(floor_mapping), T(options_checked))
