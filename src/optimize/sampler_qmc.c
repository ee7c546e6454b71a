/* The quasi-random sampler (Optuna's QMCSampler): the trial with n_done
 * trials before it takes point n_done of a low-discrepancy sequence, Sobol
 * (Joe and Kuo's direction numbers, Gray-code order, as SciPy) or Halton,
 * scrambled from the study seed by default (Sobol: a nested uniform Owen
 * scramble after Laine-Karras/Burley; Halton: a random shift mod 1).  A unit
 * coordinate u maps to a dimension as the random sampler's uniform draw does
 * (log-uniform on log scales; ints, steps and categoricals by floor(u*n)).
 * Fixed dimensions take no coordinate.  Running trials need nothing: the index
 * is the history size, so parallel asks get consecutive points. */
#include "optimize/sampler_int.h"

#include <math.h>
#include <string.h>

#define QMC_BITS 32

/* Joe and Kuo, "Constructing Sobol sequences with better two-dimensional
 * projections", SIAM J. Sci. Comput. 30 (2008), table new-joe-kuo-6.21201:
 * dimensions 2..128 as {s, a, m_1..m_s} (degree s of the primitive
 * polynomial, its inner coefficients as the bits of a, the initial direction
 * numbers).  Dimension 1 is van der Corput and needs no row.  Data only. */
typedef struct jk_row {
  unsigned char s;
  unsigned char a;
  unsigned short m[10];
} jk_row;
static const jk_row k_joe_kuo[] = {
    {1, 0, {1}}, {2, 1, {1, 3}}, {3, 1, {1, 3, 1}}, {3, 2, {1, 1, 1}}, {4, 1, {1, 1, 3, 3}},
    {4, 4, {1, 3, 5, 13}}, {5, 2, {1, 1, 5, 5, 17}}, {5, 4, {1, 1, 5, 5, 5}},
    {5, 7, {1, 1, 7, 11, 19}}, {5, 11, {1, 1, 5, 1, 1}}, {5, 13, {1, 1, 1, 3, 11}},
    {5, 14, {1, 3, 5, 5, 31}}, {6, 1, {1, 3, 3, 9, 7, 49}}, {6, 13, {1, 1, 1, 15, 21, 21}},
    {6, 16, {1, 3, 1, 13, 27, 49}}, {6, 19, {1, 1, 1, 15, 7, 5}}, {6, 22, {1, 3, 1, 15, 13, 25}},
    {6, 25, {1, 1, 5, 5, 19, 61}}, {7, 1, {1, 3, 7, 11, 23, 15, 103}},
    {7, 4, {1, 3, 7, 13, 13, 15, 69}}, {7, 7, {1, 1, 3, 13, 7, 35, 63}},
    {7, 8, {1, 3, 5, 9, 1, 25, 53}}, {7, 14, {1, 3, 1, 13, 9, 35, 107}},
    {7, 19, {1, 3, 1, 5, 27, 61, 31}}, {7, 21, {1, 1, 5, 11, 19, 41, 61}},
    {7, 28, {1, 3, 5, 3, 3, 13, 69}}, {7, 31, {1, 1, 7, 13, 1, 19, 1}},
    {7, 32, {1, 3, 7, 5, 13, 19, 59}}, {7, 37, {1, 1, 3, 9, 25, 29, 41}},
    {7, 41, {1, 3, 5, 13, 23, 1, 55}}, {7, 42, {1, 3, 7, 3, 13, 59, 17}},
    {7, 50, {1, 3, 1, 3, 5, 53, 69}}, {7, 55, {1, 1, 5, 5, 23, 33, 13}},
    {7, 56, {1, 1, 7, 7, 1, 61, 123}}, {7, 59, {1, 1, 7, 9, 13, 61, 49}},
    {7, 62, {1, 3, 3, 5, 3, 55, 33}}, {8, 14, {1, 3, 1, 15, 31, 13, 49, 245}},
    {8, 21, {1, 3, 5, 15, 31, 59, 63, 97}}, {8, 22, {1, 3, 1, 11, 11, 11, 77, 249}},
    {8, 38, {1, 3, 1, 11, 27, 43, 71, 9}}, {8, 47, {1, 1, 7, 15, 21, 11, 81, 45}},
    {8, 49, {1, 3, 7, 3, 25, 31, 65, 79}}, {8, 50, {1, 3, 1, 1, 19, 11, 3, 205}},
    {8, 52, {1, 1, 5, 9, 19, 21, 29, 157}}, {8, 56, {1, 3, 7, 11, 1, 33, 89, 185}},
    {8, 67, {1, 3, 3, 3, 15, 9, 79, 71}}, {8, 70, {1, 3, 7, 11, 15, 39, 119, 27}},
    {8, 84, {1, 1, 3, 1, 11, 31, 97, 225}}, {8, 97, {1, 1, 1, 3, 23, 43, 57, 177}},
    {8, 103, {1, 3, 7, 7, 17, 17, 37, 71}}, {8, 115, {1, 3, 1, 5, 27, 63, 123, 213}},
    {8, 122, {1, 1, 3, 5, 11, 43, 53, 133}}, {9, 8, {1, 3, 5, 5, 29, 17, 47, 173, 479}},
    {9, 13, {1, 3, 3, 11, 3, 1, 109, 9, 69}}, {9, 16, {1, 1, 1, 5, 17, 39, 23, 5, 343}},
    {9, 22, {1, 3, 1, 5, 25, 15, 31, 103, 499}}, {9, 25, {1, 1, 1, 11, 11, 17, 63, 105, 183}},
    {9, 44, {1, 1, 5, 11, 9, 29, 97, 231, 363}}, {9, 47, {1, 1, 5, 15, 19, 45, 41, 7, 383}},
    {9, 52, {1, 3, 7, 7, 31, 19, 83, 137, 221}}, {9, 55, {1, 1, 1, 3, 23, 15, 111, 223, 83}},
    {9, 59, {1, 1, 5, 13, 31, 15, 55, 25, 161}}, {9, 62, {1, 1, 3, 13, 25, 47, 39, 87, 257}},
    {9, 67, {1, 1, 1, 11, 21, 53, 125, 249, 293}}, {9, 74, {1, 1, 7, 11, 11, 7, 57, 79, 323}},
    {9, 81, {1, 1, 5, 5, 17, 13, 81, 3, 131}}, {9, 82, {1, 1, 7, 13, 23, 7, 65, 251, 475}},
    {9, 87, {1, 3, 5, 1, 9, 43, 3, 149, 11}}, {9, 91, {1, 1, 3, 13, 31, 13, 13, 255, 487}},
    {9, 94, {1, 3, 3, 1, 5, 63, 89, 91, 127}}, {9, 103, {1, 1, 3, 3, 1, 19, 123, 127, 237}},
    {9, 104, {1, 1, 5, 7, 23, 31, 37, 243, 289}}, {9, 109, {1, 1, 5, 11, 17, 53, 117, 183, 491}},
    {9, 122, {1, 1, 1, 5, 1, 13, 13, 209, 345}}, {9, 124, {1, 1, 3, 15, 1, 57, 115, 7, 33}},
    {9, 137, {1, 3, 1, 11, 7, 43, 81, 207, 175}}, {9, 138, {1, 3, 1, 1, 15, 27, 63, 255, 49}},
    {9, 143, {1, 3, 5, 3, 27, 61, 105, 171, 305}}, {9, 145, {1, 1, 5, 3, 1, 3, 57, 249, 149}},
    {9, 152, {1, 1, 3, 5, 5, 57, 15, 13, 159}}, {9, 157, {1, 1, 1, 11, 7, 11, 105, 141, 225}},
    {9, 167, {1, 3, 3, 5, 27, 59, 121, 101, 271}}, {9, 173, {1, 3, 5, 9, 11, 49, 51, 59, 115}},
    {9, 176, {1, 1, 7, 1, 23, 45, 125, 71, 419}}, {9, 181, {1, 1, 3, 5, 23, 5, 105, 109, 75}},
    {9, 182, {1, 1, 7, 15, 7, 11, 67, 121, 453}}, {9, 185, {1, 3, 7, 3, 9, 13, 31, 27, 449}},
    {9, 191, {1, 3, 1, 15, 19, 39, 39, 89, 15}}, {9, 194, {1, 1, 1, 1, 1, 33, 73, 145, 379}},
    {9, 199, {1, 3, 1, 15, 15, 43, 29, 13, 483}}, {9, 218, {1, 1, 7, 3, 19, 27, 85, 131, 431}},
    {9, 220, {1, 3, 3, 3, 5, 35, 23, 195, 349}}, {9, 227, {1, 3, 3, 7, 9, 27, 39, 59, 297}},
    {9, 229, {1, 1, 3, 9, 11, 17, 13, 241, 157}}, {9, 230, {1, 3, 7, 15, 25, 57, 33, 189, 213}},
    {9, 234, {1, 1, 7, 1, 9, 55, 73, 83, 217}}, {9, 236, {1, 3, 3, 13, 19, 27, 23, 113, 249}},
    {9, 241, {1, 3, 5, 3, 23, 43, 3, 253, 479}}, {9, 244, {1, 1, 5, 5, 11, 5, 45, 117, 217}},
    {9, 253, {1, 3, 3, 7, 29, 37, 33, 123, 147}}, {10, 4, {1, 3, 1, 15, 5, 5, 37, 227, 223, 459}},
    {10, 13, {1, 1, 7, 5, 5, 39, 63, 255, 135, 487}},
    {10, 19, {1, 3, 1, 7, 9, 7, 87, 249, 217, 599}},
    {10, 22, {1, 1, 3, 13, 9, 47, 7, 225, 363, 247}},
    {10, 50, {1, 3, 7, 13, 19, 13, 9, 67, 9, 737}},
    {10, 55, {1, 3, 5, 5, 19, 59, 7, 41, 319, 677}},
    {10, 64, {1, 1, 5, 3, 31, 63, 15, 43, 207, 789}},
    {10, 69, {1, 1, 7, 9, 13, 39, 3, 47, 497, 169}},
    {10, 98, {1, 3, 1, 7, 21, 17, 97, 19, 415, 905}},
    {10, 107, {1, 3, 7, 1, 3, 31, 71, 111, 165, 127}},
    {10, 115, {1, 1, 5, 11, 1, 61, 83, 119, 203, 847}},
    {10, 121, {1, 3, 3, 13, 9, 61, 19, 97, 47, 35}},
    {10, 127, {1, 1, 7, 7, 15, 29, 63, 95, 417, 469}},
    {10, 134, {1, 3, 1, 9, 25, 9, 71, 57, 213, 385}},
    {10, 140, {1, 3, 5, 13, 31, 47, 101, 57, 39, 341}},
    {10, 145, {1, 1, 3, 3, 31, 57, 125, 173, 365, 551}},
    {10, 152, {1, 3, 7, 1, 13, 57, 67, 157, 451, 707}},
    {10, 158, {1, 1, 1, 7, 21, 13, 105, 89, 429, 965}},
    {10, 161, {1, 1, 5, 9, 17, 51, 45, 119, 157, 141}},
    {10, 171, {1, 3, 7, 7, 13, 45, 91, 9, 129, 741}},
    {10, 181, {1, 3, 7, 1, 23, 57, 67, 141, 151, 571}},
    {10, 194, {1, 1, 3, 11, 17, 47, 93, 107, 375, 157}},
    {10, 199, {1, 3, 3, 5, 11, 21, 43, 51, 169, 915}},
    {10, 203, {1, 1, 5, 3, 15, 55, 101, 67, 455, 625}},
    {10, 208, {1, 3, 5, 9, 1, 23, 29, 47, 345, 595}},
    {10, 227, {1, 3, 7, 7, 5, 49, 29, 155, 323, 589}},
    {10, 242, {1, 3, 3, 7, 5, 41, 127, 61, 261, 717}}
};
#define QMC_SOBOL_MAX_DIM (1 + sizeof k_joe_kuo / sizeof k_joe_kuo[0])

enum { QMC_SOBOL = 0, QMC_HALTON = 1 };

typedef struct qmc_self {
  size_t n, n_free; /* all dims; dims that take a coordinate */
  int type, scramble;
  qt__prop_rng prng;
  uint32_t (*v)[QMC_BITS]; /* Sobol: direction numbers of each coordinate */
  uint32_t *seed32;        /* Sobol: the scramble's per-coordinate seed */
  unsigned *base;          /* Halton: the prime of each coordinate */
  double *shift;           /* Halton: the random shift of each coordinate */
  qt__dimx dx[];
} qmc_self;

/* The direction numbers v[0..31] (scaled by 2^32) of Sobol dimension j
 * (0-based), by Bratley and Fox's recurrence as Joe and Kuo state it. */
static void sobol_directions(size_t j, uint32_t *v) {
  if (j == 0) {
    for (int i = 0; i < QMC_BITS; i++) v[i] = 1u << (31 - i);
    return;
  }
  const jk_row *r = &k_joe_kuo[j - 1];
  unsigned s = r->s;
  for (unsigned i = 0; i < QMC_BITS; i++) {
    if (i < s) {
      v[i] = (uint32_t)r->m[i] << (31 - i);
      continue;
    }
    uint32_t x = v[i - s] ^ (v[i - s] >> s);
    for (unsigned k = 1; k < s; k++)
      if ((r->a >> (s - 1 - k)) & 1) x ^= v[i - k];
    v[i] = x;
  }
}

static uint32_t reverse32(uint32_t x) {
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
  x = ((x >> 8) & 0x00ff00ffu) | ((x & 0x00ff00ffu) << 8);
  return (x >> 16) | (x << 16);
}

/* Owen scrambling in base 2: in bit-reversed form every step changes a digit
 * only as a function of the digits above it (add, xor with an even multiple),
 * which is a nested scramble, so the (t,m,s)-net property is kept. */
static uint32_t owen32(uint32_t x, uint32_t seed) {
  x = reverse32(x);
  x += seed;
  x ^= x * 0x6c50b47cu;
  x ^= x * 0xb82f1e52u;
  x ^= x * 0xc7afe638u;
  x ^= x * 0x8d22f6e6u;
  return reverse32(x);
}

static double sobol_coord(const qmc_self *s, size_t j, uint64_t index) {
  uint64_t g = index ^ (index >> 1); /* Gray code: SciPy's (and Joe-Kuo's) order */
  uint32_t x = 0;
  for (int b = 0; g && b < QMC_BITS; b++, g >>= 1)
    if (g & 1) x ^= s->v[j][b];
  if (s->scramble) x = owen32(x, s->seed32[j]);
  return (double)x / 4294967296.0;
}

static double halton_coord(const qmc_self *s, size_t j, uint64_t index) {
  unsigned b = s->base[j];
  double f = 1.0, u = 0;
  for (uint64_t i = index; i; i /= b) {
    f /= b;
    u += f * (double)(i % b);
  }
  if (s->scramble) {
    u += s->shift[j];
    if (u >= 1) u -= 1;
  }
  return u;
}

/* A unit value u in [0, 1) as an internal value of dimension dx. */
static double from_unit(const qt__dimx *dx, double u) {
  switch (dx->kind) {
  case QT__DIM_CONT: {
    double v = dx->lo + (dx->hi - dx->lo) * u;
    return v > dx->hi ? dx->hi : v;
  }
  case QT__DIM_STEP: {
    size_t k = (size_t)floor(u * (double)dx->n);
    return dx->lo + dx->q * (double)(k < dx->n ? k : dx->n - 1);
  }
  case QT__DIM_LOGINT: { /* as qt__dimx_random: log-uniform, rounded to the grid */
    double a = log(qt__logint_low(dx)), b = log(dx->uhi + 0.5 * dx->q);
    double k = round((exp(a + (b - a) * u) - dx->ulo) / dx->q);
    if (k < 0) k = 0;
    if (k > (double)(dx->n - 1)) k = (double)(dx->n - 1);
    return log(dx->ulo + k * dx->q);
  }
  case QT__DIM_CAT: {
    size_t k = (size_t)floor(u * (double)dx->n);
    return (double)(k < dx->n ? k : dx->n - 1);
  }
  default: return dx->fixed;
  }
}

static int opt_flag(const qt_kv *opts, const char *key, int def, int *out, qt_err *err) {
  const char *v = qt_kv_get(opts, key);
  *out = def;
  if (!v) return QT_OK;
  if (!strcmp(v, "1") || !strcmp(v, "true")) *out = 1;
  else if (!strcmp(v, "0") || !strcmp(v, "false")) *out = 0;
  else return qt_err_set(err, QT_EINVAL, "qmc sampler: option %s=%s: expected 0 or 1", key, v);
  return QT_OK;
}

static void qmc_destroy(void *self) {
  qmc_self *s = self;
  if (!s) return;
  qt_free(s->v);
  qt_free(s->seed32);
  qt_free(s->base);
  qt_free(s->shift);
  qt_free(s);
}

static int qmc_create(const qt_space *sp, uint64_t seed, const qt_kv *opts, void **out_self,
                      qt_err *err) {
  static const char *const known[] = {"qmc_type", "scramble", NULL};
  size_t n = qt_space_n(sp);
  *out_self = NULL;
  int rc = qt__opts_check(opts, "qmc", known, err);
  if (rc) return rc;
  int type = QMC_SOBOL, scramble;
  const char *t = qt_kv_get(opts, "qmc_type");
  if (t && !strcmp(t, "halton")) type = QMC_HALTON;
  else if (t && strcmp(t, "sobol"))
    return qt_err_set(err, QT_EINVAL, "qmc sampler: option qmc_type=%s: expected sobol or halton",
                      t);
  /* scrambled by default (Optuna: scramble=False) so that the seed matters */
  if ((rc = opt_flag(opts, "scramble", 1, &scramble, err))) return rc;
  qmc_self *s = qt_calloc(1, sizeof *s + n * sizeof s->dx[0]);
  if (!s) return qt_err_set(err, QT_ENOMEM, "qmc sampler: out of memory");
  s->n = n;
  s->type = type;
  s->scramble = scramble;
  s->prng.seed = seed;
  qt__dimx_fill(sp, s->dx);
  for (size_t k = 0; k < n; k++) s->n_free += s->dx[k].kind != QT__DIM_FIXED;
  if (type == QMC_SOBOL && s->n_free > QMC_SOBOL_MAX_DIM) {
    rc = qt_err_set(err, QT_EINVAL,
                    "qmc sampler: sobol has direction numbers for %zu dimensions, the space "
                    "has %zu free ones (use qmc_type=halton)",
                    (size_t)QMC_SOBOL_MAX_DIM, s->n_free);
    goto fail;
  }
  size_t m = s->n_free ? s->n_free : 1;
  qt_rng r;
  qt_rng_stream(&r, seed, 0x716d63u); /* the scramble's own stream of the seed */
  if (type == QMC_SOBOL) {
    s->v = qt_calloc(m, sizeof *s->v);
    s->seed32 = qt_calloc(m, sizeof *s->seed32);
    if (!s->v || !s->seed32) goto oom;
    for (size_t j = 0; j < s->n_free; j++) {
      sobol_directions(j, s->v[j]);
      s->seed32[j] = (uint32_t)(qt_rng_u64(&r) >> 32);
    }
  } else {
    s->base = qt_calloc(m, sizeof *s->base);
    s->shift = qt_calloc(m, sizeof *s->shift);
    if (!s->base || !s->shift) goto oom;
    unsigned p = 2;
    for (size_t j = 0; j < s->n_free; j++, p++) {
      for (;; p++) { /* the next prime */
        unsigned d = 2;
        while (d * d <= p && p % d) d++;
        if (d * d > p) break;
      }
      s->base[j] = p;
      s->shift[j] = qt_rng_uniform(&r);
    }
  }
  *out_self = s;
  return QT_OK;
oom:
  rc = qt_err_set(err, QT_ENOMEM, "qmc sampler: out of memory");
fail:
  qmc_destroy(s);
  return rc;
}

static int qmc_propose(void *self, const qt_trial_view *done, size_t n_done, double *out_x,
                       qt_err *err) {
  qmc_self *s = self;
  (void)done;
  (void)err;
  qt_rng unused;
  qt__prop_rng_next(&s->prng, n_done, &unused); /* counts asks with the same history */
  uint64_t index = (uint64_t)n_done + s->prng.repeat;
  for (size_t k = 0, j = 0; k < s->n; k++) {
    if (s->dx[k].kind == QT__DIM_FIXED) {
      out_x[k] = s->dx[k].fixed;
      continue;
    }
    double u = s->type == QMC_SOBOL ? sobol_coord(s, j, index) : halton_coord(s, j, index);
    out_x[k] = from_unit(&s->dx[k], u);
    j++;
  }
  return QT_OK;
}

double qt__qmc_unit(void *self, size_t j, uint64_t index) {
  qmc_self *s = self;
  return s->type == QMC_SOBOL ? sobol_coord(s, j, index) : halton_coord(s, j, index);
}

const qt_sampler_vtbl qt_sampler_qmc = {QT_SAMPLER_ABI, "qmc", qmc_create, qmc_propose, NULL,
                                        qmc_destroy, QT_SAMPLER_ANY_OBJECTIVES};
