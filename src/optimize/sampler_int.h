/* Private helpers shared by the samplers: each dimension of a space reduced to
 * what sampling needs (kind, internal bounds, step), uniform sampling of one
 * dimension, and the per-proposal RNG that makes a proposal depend only on
 * seed and history. */
#ifndef QTUNE_OPTIMIZE_SAMPLER_INT_H
#define QTUNE_OPTIMIZE_SAMPLER_INT_H

#include "qtune/optimize.h"

typedef enum qt__dim_kind {
  QT__DIM_FIXED = 0,  /* always `fixed` */
  QT__DIM_CONT = 1,   /* continuous in [lo, hi] (log space for log floats) */
  QT__DIM_STEP = 2,   /* lo + k*q, k = 0..n-1 (ints and stepped floats) */
  QT__DIM_LOGINT = 3, /* integers on a log scale: internal log(v) */
  QT__DIM_CAT = 4     /* index 0..n-1 (categoricals and bools) */
} qt__dim_kind;

typedef struct qt__dimx {
  int kind;
  double lo, hi; /* internal bounds (user units for STEP) */
  double q;      /* STEP: step; LOGINT: user step */
  double ulo, uhi; /* LOGINT: user bounds */
  size_t n;      /* STEP / CAT / LOGINT: number of values */
  double fixed;  /* FIXED: the internal value */
  size_t grid_n; /* CONT: the dim's own grid points (0: the sampler's) */
} qt__dimx;

/* Lower Parzen/sampling bound of a LOGINT dim in user units: lo - q/2 (Optuna),
 * or lo/2 when that is not positive (stepped log floats). */
static inline double qt__logint_low(const qt__dimx *dx) {
  double l = dx->ulo - 0.5 * dx->q;
  return l > 0 ? l : 0.5 * dx->ulo;
}

/* QT_EINVAL naming the first key of opts not in known (NULL-terminated), so a
 * misspelt option fails instead of being ignored. */
int qt__opts_check(const qt_kv *opts, const char *sampler, const char *const *known, qt_err *err);

/* Fills out[k] for every dimension of sp. */
void qt__dimx_fill(const qt_space *sp, qt__dimx *out);
/* A uniform draw of dimension dx (log-uniform for log dims), internal form. */
double qt__dimx_random(const qt__dimx *dx, qt_rng *r);

/* Per-proposal RNG: a stream of seed keyed by the history size, with a
 * repeat count for proposals asked with the same history (parallel asks). */
typedef struct qt__prop_rng {
  uint64_t seed;
  size_t last_n;
  uint64_t repeat;
  int started;
} qt__prop_rng;
void qt__prop_rng_next(qt__prop_rng *p, size_t n_done, qt_rng *out);

/* Tests: log density of the TPE estimator of group 0 (below) or 1 (above) on
 * dimension k at internal x, as built by the sampler's last propose that got
 * past the startup trials (univariate only; NaN otherwise). */
double qt__tpe_log_density(void *self, int group, size_t k, double x);

/* The quasi-random and CMA-ES samplers (rows of the registry; reached by
 * name, so not in the public header). */
extern const qt_sampler_vtbl qt_sampler_qmc;
extern const qt_sampler_vtbl qt_sampler_cmaes;
/* The multi-objective samplers (rows of the registry, reached by name). */
extern const qt_sampler_vtbl qt_sampler_nsgaii;
extern const qt_sampler_vtbl qt_sampler_motpe;
/* A TPE proposal (self from qt_sampler_tpe.create) for groups chosen by the
 * caller: group[t] 1 below, 2 above, 0 neither for each history entry;
 * w_below[t] (may be NULL: Optuna's default weights) the weight of a below
 * trial before the prior is added and all are normalized.  Draws from r.
 * Random when nothing is below.  QT_ENOMEM. */
int qt__tpe_propose_groups(void *self, const qt_trial_view *done, size_t n_done,
                           const unsigned char *group, const double *w_below, qt_rng *r,
                           double *out_x, qt_err *err);
/* Tests: the run (0 first, 1.. after IPOP restarts) of the newest
 * generation a cmaes sampler holds, and its population in *out_lam. */
size_t qt__cmaes_run(void *self, size_t *out_lam);
/* Tests: unit coordinate j (0-based, over the free dims) of point `index` of
 * a qmc sampler's sequence, scrambled as the sampler is. */
double qt__qmc_unit(void *self, size_t j, uint64_t index);

#endif
