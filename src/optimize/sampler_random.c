/* The random sampler: every dimension drawn independently and uniformly
 * (log-uniform on log scales, uniform over the step grid for ints). */
#include "optimize/sampler_int.h"

typedef struct rnd_self {
  size_t n;
  qt__prop_rng prng;
  qt__dimx dx[];
} rnd_self;

static int rnd_create(const qt_space *sp, uint64_t seed, const qt_kv *opts, void **out_self,
                      qt_err *err) {
  static const char *const known[] = {NULL};
  size_t n = qt_space_n(sp);
  *out_self = NULL;
  int rc = qt__opts_check(opts, "random", known, err);
  if (rc) return rc;
  rnd_self *s = qt_calloc(1, sizeof *s + n * sizeof s->dx[0]);
  if (!s) return qt_err_set(err, QT_ENOMEM, "random sampler: out of memory");
  s->n = n;
  s->prng.seed = seed;
  qt__dimx_fill(sp, s->dx);
  *out_self = s;
  return QT_OK;
}

static int rnd_propose(void *self, const qt_trial_view *done, size_t n_done, double *out_x,
                       qt_err *err) {
  rnd_self *s = self;
  qt_rng r;
  qt__prop_rng_next(&s->prng, n_done, &r);
  for (size_t k = 0; k < s->n; k++) out_x[k] = qt__dimx_random(&s->dx[k], &r);
  return QT_OK;
}

static void rnd_destroy(void *self) { qt_free(self); }

const qt_sampler_vtbl qt_sampler_random = {QT_SAMPLER_ABI, "random", rnd_create, rnd_propose,
                                           NULL, rnd_destroy, QT_SAMPLER_ANY_OBJECTIVES};
