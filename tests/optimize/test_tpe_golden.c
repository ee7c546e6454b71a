/* Golden TPE proposals: for a few seeds, N proposals of TPE (default options,
 * and multivariate=1) on a fixed mixed space with a fixed objective, hashed
 * bit for bit (FNV-1a over every proposal's doubles), against a table.  The
 * promise "same seed and history, same proposals" across commits was only
 * checked by throwaway loops; this makes it a test.
 *
 * A deliberate behaviour change updates the table in the commit that
 * changes behaviour (the failure message prints the row to paste); an
 * accidental one fails here. */
#include "qt_test.h"
#include "qtune/optimize.h"

#define N_PROPOSALS 60

/* Every parameter type the space knows: stepped int, float, stepped float,
 * log float, log int, categorical, bool. */
static qt_space *golden_space(void) {
  static const char *const ch[] = {"a", "b", "c", "d"};
  static const qt_param_spec spec[] = {
      {"lvl", QT_PARAM_INT, 10, 52, 2, 0, 10, NULL, 0, ""},
      {"f", QT_PARAM_FLOAT, -2, 3, 0, 0, 0, NULL, 0, ""},
      {"fs", QT_PARAM_FLOAT, 0.5, 2, 0.25, 0, 1, NULL, 0, ""},
      {"lf", QT_PARAM_FLOAT, 1e-3, 1, 0, 1, 0.01, NULL, 0, ""},
      {"li", QT_PARAM_INT, 2, 200, 1, 1, 10, NULL, 0, ""},
      {"c", QT_PARAM_CAT, 0, 3, 0, 0, 0, ch, 4, ""},
      {"b", QT_PARAM_BOOL, 0, 1, 0, 0, 0, NULL, 0, ""},
  };
  qt_space *sp = NULL;
  qt_err e;
  if (qt_space_from_spec(spec, sizeof spec / sizeof spec[0], &sp, &e)) {
    fprintf(stderr, "  space: %s\n", e.msg);
    return NULL;
  }
  return sp;
}

/* A fixed objective over the internal form (minimized); every trial whose
 * categorical is "d" violates a constraint, so the infeasible path runs too. */
static double objective(const double *x, size_t n, int *feasible) {
  double s = 0;
  for (size_t k = 0; k < n; k++) s += (x[k] - 0.3 * (double)k) * (x[k] - 0.3 * (double)k);
  *feasible = x[5] != 3;
  return s;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 1099511628211ULL;
  return h;
}

/* FNV-1a over the bits of N_PROPOSALS proposals told back one by one. */
static int proposals_hash(const qt_space *sp, uint64_t seed, const qt_kv *opts, uint64_t *out) {
  static double xs[N_PROPOSALS][16];
  static qt_trial_view v[N_PROPOSALS];
  size_t n = qt_space_n(sp);
  void *self = NULL;
  qt_err e;
  if (n > 16 || qt_sampler_tpe.create(sp, seed, opts, &self, &e)) return -1;
  uint64_t h = 1469598103934665603ULL;
  for (int i = 0; i < N_PROPOSALS; i++) {
    if (qt_sampler_tpe.propose(self, v, (size_t)i, xs[i], &e)) {
      fprintf(stderr, "  propose %d: %s\n", i, e.msg);
      qt_sampler_tpe.destroy(self);
      return -1;
    }
    h = fnv(h, xs[i], n * sizeof xs[i][0]);
    int feasible;
    double f = objective(xs[i], n, &feasible);
    v[i] = (qt_trial_view){.number = i, .state = QT_TRIAL_COMPLETE, .x = xs[i], .value = f, .feasible = feasible};
  }
  qt_sampler_tpe.destroy(self);
  *out = h;
  return 0;
}

/* Expected hashes: what the code gave when the test was written (see the
 * top of the file for when to change them). */
static const struct {
  const char *mode;
  uint64_t seed, hash;
} golden[] = {
    {"default", 1, 0x6ef7885391111b84ULL},      {"default", 2, 0x09c24d44bb0faf10ULL},
    {"default", 3, 0x13eac1b8f8a20881ULL},      {"multivariate", 1, 0xded64ccf5eb156dbULL},
    {"multivariate", 2, 0xca5db2eed7d3038bULL}, {"multivariate", 3, 0xd840be7da3120deaULL},
};

static void same_proposals_as_recorded(void) {
  qt_space *sp = golden_space();
  ASSERT_TRUE(sp);
  static const qt_kv multi[] = {{"multivariate", "1"}, {NULL, NULL}};
  for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++) {
    const qt_kv *opts = strcmp(golden[i].mode, "multivariate") == 0 ? multi : NULL;
    uint64_t h = 0;
    if (proposals_hash(sp, golden[i].seed, opts, &h)) {
      QT_TEST_FAIL_("tpe %s seed %" PRIu64 ": the sampler failed", golden[i].mode, golden[i].seed);
      continue;
    }
    if (h != golden[i].hash)
      QT_TEST_FAIL_("tpe %s seed %" PRIu64 ": %d proposals hash to 0x%016" PRIx64
                    ", the table says 0x%016" PRIx64 "; if the change is deliberate, the row is "
                    "{\"%s\", %" PRIu64 ", 0x%016" PRIx64 "ULL},",
                    golden[i].mode, golden[i].seed, N_PROPOSALS, h, golden[i].hash, golden[i].mode,
                    golden[i].seed, h);
  }
  qt_space_free(sp);
}

/* The hash sees the proposals: another seed gives another hash. */
static void hash_depends_on_the_seed(void) {
  qt_space *sp = golden_space();
  ASSERT_TRUE(sp);
  uint64_t a = 0, b = 0;
  EXPECT_EQ(proposals_hash(sp, 1, NULL, &a), 0);
  EXPECT_EQ(proposals_hash(sp, 2, NULL, &b), 0);
  EXPECT_TRUE(a != b);
  qt_space_free(sp);
}

QT_TESTS(T(same_proposals_as_recorded), T(hash_depends_on_the_seed))
