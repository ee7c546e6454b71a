/* qtune optimize: typed parameter spaces, samplers (grid, random, TPE),
 * objectives (strategy backtest, external command), weighted scores with hard
 * constraints, and the study that asks a sampler and tells a storage.
 * Samplers never do I/O; the study is the only part that touches storage. */
#ifndef QTUNE_QTUNE_OPTIMIZE_H
#define QTUNE_QTUNE_OPTIMIZE_H

#include "qtune/core.h"
#include "qtune/strategy.h"

/* ---- parameter space ----
 * Internal form of a value (what samplers see): a double; for ints and floats
 * the value itself, for log-scaled ones its natural log, for categoricals and
 * bools the index.  qt_space converts to and from user values. */
typedef struct qt_dim {
  char name[64];
  int type;        /* qt_param_type */
  double lo, hi;   /* user units, inclusive */
  double step;     /* 0: continuous (floats) */
  int log;
  int fixed;       /* 1: always `def`, not searched */
  double def;      /* user units */
  char **choices;  /* categorical labels (owned) */
  size_t n_choices;
  double *choice_vals; /* numeric value of each choice if numeric, else NaN */
} qt_dim;

typedef struct qt_space qt_space;

/* A space with the dimensions of a strategy's parameter spec. */
QT_API int qt_space_from_spec(const qt_param_spec *spec, size_t n, qt_space **out, qt_err *err);
/* An empty space; add dimensions with qt_space_add. */
QT_API int qt_space_new(qt_space **out, qt_err *err);
QT_API void qt_space_free(qt_space *sp);
/* Adds a copy of d (a name already there: QT_EINVAL). */
QT_API int qt_space_add(qt_space *sp, const qt_dim *d, qt_err *err);
QT_API size_t qt_space_n(const qt_space *sp);
QT_API const qt_dim *qt_space_dim(const qt_space *sp, size_t k);
QT_API int qt_space_index(const qt_space *sp, const char *name);
/* Applies a YAML overlay (`name: {type: int, low: 20, high: 100}` narrows or
 * adds, `name: 3` fixes).  With a spec, ranges outside the strategy's own
 * bounds are rejected naming the bound.  file names the source in errors. */
QT_API int qt_space_apply_yaml(qt_space *sp, const char *yaml_text, const char *file,
                               const qt_param_spec *spec, size_t n_spec, qt_err *err);
/* Internal <-> user value of dimension k. */
QT_API double qt_space_to_user(const qt_space *sp, size_t k, double internal);
QT_API double qt_space_to_internal(const qt_space *sp, size_t k, double user);
/* Internal bounds of dimension k (log space for log dims, 0..n-1 for choices). */
QT_API void qt_space_bounds(const qt_space *sp, size_t k, double *lo, double *hi);
/* Snaps an internal value to the dimension's grid (step, integer, index). */
QT_API double qt_space_snap(const qt_space *sp, size_t k, double internal);
/* A JSON object {"name": user value, ...} of internal params x into buf. */
QT_API int qt_space_params_json(const qt_space *sp, const double *x, char *buf, size_t cap,
                                qt_err *err);
/* Parses such a JSON object back to internal values (missing names: default). */
QT_API int qt_space_params_from_json(const qt_space *sp, const char *json, double *x,
                                     qt_err *err);
/* Serializes the space itself to JSON (stored with the study) and back. */
QT_API int qt_space_to_json(const qt_space *sp, char *buf, size_t cap, qt_err *err);
QT_API int qt_space_from_json(const char *json, qt_space **out, qt_err *err);

/* ---- samplers ---- */
typedef enum qt_trial_state {
  QT_TRIAL_RUNNING = 0,
  QT_TRIAL_COMPLETE = 1,
  QT_TRIAL_PRUNED = 2,
  QT_TRIAL_FAIL = 3
} qt_trial_state;

/* What a sampler sees of a trial: params in internal form, and the value to
 * MINIMIZE (the study negates maximized objectives).  Borrowed. */
typedef struct qt_trial_view {
  int64_t number;
  int state;          /* qt_trial_state; running trials matter for the constant liar */
  const double *x;    /* qt_space_n values, internal form */
  double value;       /* minimized; NaN for running/failed */
  int feasible;       /* 0: violated a hard constraint (always among the bad) */
} qt_trial_view;

typedef struct qt_sampler_vtbl {
  int abi;
  const char *name;
  int (*create)(const qt_space *sp, uint64_t seed, const qt_kv *opts, void **out_self,
                qt_err *err);
  /* Proposes x (internal form); QT_DONE when exhausted (grid). */
  int (*propose)(void *self, const qt_trial_view *done, size_t n_done, double *out_x,
                 qt_err *err);
  void (*observe)(void *self, const qt_trial_view *t); /* optional */
  void (*destroy)(void *self);
} qt_sampler_vtbl;

#define QT_SAMPLER_ABI 1
QT_API extern const qt_sampler_vtbl qt_sampler_grid;
QT_API extern const qt_sampler_vtbl qt_sampler_random;
QT_API extern const qt_sampler_vtbl qt_sampler_tpe;
/* A sampler by name ("grid", "random", "tpe"), or NULL. */
QT_API const qt_sampler_vtbl *qt_sampler_find(const char *name);

#endif
