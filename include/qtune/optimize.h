/* qtune optimize: typed parameter spaces, samplers (grid, random, TPE),
 * objectives (strategy backtest, external command), weighted scores with hard
 * constraints, and the study that asks a sampler and tells a storage.
 * Samplers never do I/O; the study is the only part that touches storage. */
#ifndef QTUNE_QTUNE_OPTIMIZE_H
#define QTUNE_QTUNE_OPTIMIZE_H

#include "qtune/core.h"
#include "qtune/storage.h" /* qt_trial_state */
#include "qtune/strategy.h"

#include <stdio.h>

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
  int n_points;    /* grid points of a float without step (0: the grid sampler's
                    * n_points option) */
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
/* `--search listed`: fixes at its default every dimension of sp that the
 * YAML overlay yaml_text does not name (a space file listing 3 of a
 * strategy's 17 params then searches those 3).  Apply the overlay first
 * (qt_space_apply_yaml); *out_n_fixed (may be NULL) is how many it fixed.
 * QT_EPARSE naming file and line for YAML that is not a mapping. */
QT_API int qt_space_fix_unlisted(qt_space *sp, const char *yaml_text, const char *file,
                                 size_t *out_n_fixed, qt_err *err);
/* Internal <-> user value of dimension k.  A categorical's user value is the
 * number of its choice when the choices are numeric, else the index. */
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
/* What a sampler sees of a trial: params in internal form, and the value to
 * MINIMIZE (the study negates maximized objectives).  Borrowed. */
typedef struct qt_trial_view {
  int64_t number;
  int state;          /* qt_trial_state; running trials matter for the constant liar */
  const double *x;    /* qt_space_n values, internal form */
  double value;       /* minimized; NaN for running/failed */
  int feasible;       /* 0: violated a hard constraint (always among the bad) */
  /* Several objectives (docs/multiobjective.md): values[0..n_values) to
   * MINIMIZE, one per objective (maximized ones negated), NULL for a trial
   * without them (running, failed) and in views built by older callers
   * (n_values 0: `value` is the only objective).  `value` is values[0]. */
  const double *values;
  size_t n_values;
  double violation;   /* sum of the hard constraints' misses; 0 feasible, inf unknown */
  /* A pruned trial's last step and its intermediate value there (minimized;
   * NaN as reported).  has_step 0: none (another state, a pruned trial that
   * reported nothing, or a view built by an older caller).  TPE ranks pruned
   * trials by them, the deepest first, as Optuna does. */
  int has_step;
  int64_t step;
  double step_value;
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
  /* How many objectives the sampler handles: 0 or 1 only one (a study with
   * several refuses it), QT_SAMPLER_ANY_OBJECTIVES when it never reads the
   * values (grid, random, qmc), else the most it optimizes (nsgaii, motpe). */
  int objectives;
} qt_sampler_vtbl;
#define QT_SAMPLER_ANY_OBJECTIVES 1000

#define QT_SAMPLER_ABI 1
QT_API extern const qt_sampler_vtbl qt_sampler_grid;
QT_API extern const qt_sampler_vtbl qt_sampler_random;
QT_API extern const qt_sampler_vtbl qt_sampler_tpe;
/* The sampler registry, one table (sampler.c) that qt_sampler_find, the
 * CLI help and the conformance tests iterate: entry i, NULL past the end. */
QT_API const qt_sampler_vtbl *qt_sampler_at(size_t i);
/* A sampler of the registry by name ("grid", "random", "tpe"), or NULL. */
QT_API const qt_sampler_vtbl *qt_sampler_find(const char *name);
/* The registry's names joined by sep into buf ("grid, random, tpe"). */
QT_API void qt_sampler_names(char *buf, size_t cap, const char *sep);

/* ---- objectives, scores, study, runner ---- */
#include "qtune/engine.h"
#include "qtune/metrics.h"

/* Metrics of one trial: a name -> value list (any keys: the built-in metrics
 * of a backtest, or whatever an external command prints).  Caller storage:
 * init/fini; the array keeps its capacity across clear() so a worker does not
 * allocate per trial. */
typedef struct qt_metric_kv {
  char name[48];
  double value;   /* NaN allowed (stored as JSON null) */
} qt_metric_kv;
typedef struct qt_metric_set {
  qt_metric_kv *v;
  size_t n, cap;
  /* Optional per-period returns of the run (qt_metrics_period_returns; a
   * strategy backtest fills them): stored with a complete trial by the
   * runner (qt_returns_put) for qtune validate.  n_ret 0: none.  bench_ret,
   * when not NULL, borrows n_ret buy-and-hold returns over the same periods
   * (the objective's, read-only). */
  double *ret;
  size_t n_ret, cap_ret;
  int64_t ret_period_ms, ret_start_ms;
  const double *bench_ret;
} qt_metric_set;
QT_API void qt_metric_set_init(qt_metric_set *m);
QT_API void qt_metric_set_fini(qt_metric_set *m);
QT_API void qt_metric_set_clear(qt_metric_set *m);
/* Sets name to value (replacing an existing entry).  QT_EINVAL for a name
 * longer than 47 bytes or a set that would hold more than QT_METRIC_SET_MAX
 * names (an objective command printing 40,000 keys), QT_ENOMEM. */
#define QT_METRIC_SET_MAX 1024
QT_API int qt_metric_set_put(qt_metric_set *m, const char *name, double value, qt_err *err);
/* Pointer to the value of name, or NULL when absent.  Borrowed. */
QT_API const double *qt_metric_set_find(const qt_metric_set *m, const char *name);
/* Room for n returns in m->ret (kept across clear(), so a worker allocates
 * only on its first trials); sets m->n_ret = n.  QT_ENOMEM. */
QT_API int qt_metric_set_reserve_returns(qt_metric_set *m, size_t n, qt_err *err);

/* ---- objectives: params in, metrics out ----
 * One shared instance per study (read-only while workers run) and one worker
 * instance per thread (its scratch: an engine, buffers).  eval() gets the
 * params both in internal form x and in user units `user` (dimension order of
 * the space), the trial's seed, and fills `out` (cleared by the caller).  A
 * failing eval (bad exit, timeout, bad output, strategy init refusing the
 * params) returns a negative status with the reason in err; the study stores
 * it as a failed trial. */
/* Intermediate values (multi-fidelity): an objective that can report the
 * running objective while it evaluates calls report() at each checkpoint.
 * m: the metrics so far (the study turns them into the objective value);
 * or m NULL and value: the objective so far as the objective itself gave it
 * (an external command's {"step": k, "value": v} lines).  final: the last
 * report of a run that went to the end (recorded, never pruned).  report()
 * returns 1 when the trial is to stop (pruned): the objective then stops at
 * once and eval() returns QT_PRUNED with `out` holding the last metrics. */
typedef struct qt_reporter {
  int (*report)(void *ud, int64_t step, const qt_metric_set *m, double value, int final);
  void *ud;
  double every_frac; /* backtests: a checkpoint after every this fraction of the
                      * simulated bars (step k: after k such parts; the whole run
                      * is the last step, 10 for 0.1); 0: no checkpoints */
} qt_reporter;

typedef struct qt_objective_vtbl {
  const char *name;
  int (*worker_new)(const void *shared, void **out_w, qt_err *err);
  int (*eval)(void *w, const qt_space *sp, const double *x, const double *user, uint64_t seed,
              qt_metric_set *out, qt_err *err);
  void (*worker_free)(void *w);
  void (*destroy)(void *shared);
  /* Optional (NULL: no intermediate values): the reporter the worker's next
   * evals report to, borrowed until the next call; NULL turns it off. */
  void (*set_reporter)(void *w, const qt_reporter *rep);
} qt_objective_vtbl;

typedef struct qt_objective {
  const qt_objective_vtbl *vt;
  void *shared;
  int is_strategy; /* 1: metrics are a backtest's (default score + constraints apply) */
} qt_objective;

/* Releases the shared part; NULL or a zeroed objective is a no-op. */
QT_API void qt_objective_free(qt_objective *o);

/* (a)/(b) A backtest of strategy s (built-in or a plugin's vtable) over
 * feeds[0..n_feeds), which stay borrowed and read-only for the objective's
 * life.  Params are taken from the space by the spec's names (a name not in
 * the space: the spec default; categoricals: the choice index).  Each worker
 * owns one qt_engine, reused across trials.  eo/mo NULL: defaults. */
QT_API int qt_objective_strategy(const qt_strategy_vtbl *s, const qt_feed *feeds, int n_feeds,
                                 const qt_engine_opts *eo, const qt_metrics_opts *mo,
                                 qt_objective *out, qt_err *err);

/* (c) An external command run per trial through `/bin/sh -c cmd` in its own
 * process group: the params as one JSON object on stdin ({"name": user
 * value}), one JSON object of metrics on stdout (numbers kept, other values
 * ignored; true/false as 1/0).  timeout_s > 0 kills the process group after
 * that many seconds.  A non-zero exit (the message quotes the end of its
 * stderr), a signal, a timeout or output that is not a JSON object fails the
 * trial.  The trial's seed is in its environment as QTUNE_TRIAL_SEED.  cmd is
 * copied. */
QT_API int qt_objective_command(const char *cmd, double timeout_s, qt_objective *out,
                                qt_err *err);

/* (d) Pure benchmark functions of the user values, for tests and benches:
 *   "sphere"      value = sum u_k^2
 *   "rosenbrock"  value = sum 100 (u_{k+1} - u_k^2)^2 + (1 - u_k)^2
 *   "fake_strategy"  every metric the default score and constraints read,
 *                 smooth in the params (optimum at u_k = 1): see docs/studies.md.
 * Metrics: {"value": ...} (fake_strategy: sharpe, total_profit, calmar,
 * max_drawdown, trades, win_rate, profit_factor, value).  QT_EINVAL for an
 * unknown name. */
QT_API int qt_objective_function(const char *name, qt_objective *out, qt_err *err);

/* ---- scores and constraints ----
 * score = sum_k w_k * norm_k(metric_k), norm_k = (v - min_k) / (max_k - min_k)
 * clipped to [0, 1], min/max over the completed trials at the last refresh
 * (0.5 when max == min; a NaN or missing metric counts as its worst: 0 for a
 * positive weight, 1 for a negative one).  Defaults: 0.30 sharpe + 0.25
 * total_profit + 0.25 calmar - 0.20 max_drawdown. */
#define QT_SCORE_MAX_TERMS 16
#define QT_CONSTRAINTS_MAX 16
#define QT_GOAL_MAX_OBJ 3

typedef struct qt_score_term {
  char metric[48];
  double weight;
} qt_score_term;

typedef enum qt_cmp { QT_CMP_GE = 0, QT_CMP_LE = 1, QT_CMP_GT = 2, QT_CMP_LT = 3 } qt_cmp;

typedef struct qt_constraint {
  char metric[48];
  int op;       /* qt_cmp */
  double bound;
} qt_constraint;

/* What a trial is optimized for: one metric by name, or "score". */
typedef struct qt_goal {
  char metric[48];          /* "score" or a metric name */
  int maximize;             /* 1: maximize, 0: minimize */
  qt_score_term terms[QT_SCORE_MAX_TERMS];
  size_t n_terms;
  qt_constraint cons[QT_CONSTRAINTS_MAX];
  size_t n_cons;
  int lenient;              /* 1: constraints are penalties, not a veto */
  size_t refresh_every;     /* normalization refresh period in completed trials (20) */
  /* Several objectives (qt_goal_parse_objectives): n_obj 2..3 with obj[0]
   * mirrored in metric/maximize; 0 or 1: the one objective above. */
  size_t n_obj;
  struct qt_goal_obj {
    char metric[48];
    int maximize;
  } obj[QT_GOAL_MAX_OBJ];
} qt_goal;

/* The defaults: "score", maximize, the default weights, refresh every 20,
 * and (with_constraints) sharpe >= 1.0, max_drawdown <= 0.20, trades >= 50,
 * win_rate >= 0.45, profit_factor >= 1.1, calmar >= 0.5. */
QT_API void qt_goal_default(qt_goal *g, int with_constraints);
/* Parses "sharpe=0.3,total_profit=0.25,max_drawdown=-0.2" into g's terms
 * (replacing them).  A weight may be negative; QT_EPARSE names the bad item. */
QT_API int qt_goal_parse_weights(qt_goal *g, const char *s, qt_err *err);
/* Parses "sharpe>=1.0,max_drawdown<=0.20" (ops >=, <=, >, <) into g's
 * constraints (replacing them; "" or "none" clears them).  The tuning
 * guide's "min_X=v" / "max_X=v" mean X >= v / X <= v (max_drawdown_pct=20:
 * max_drawdown <= 0.20; a `_pct` suffix divides by 100 on a fraction metric
 * and is refused on others). */
QT_API int qt_goal_parse_constraints(qt_goal *g, const char *s, qt_err *err);
/* The metric a spelling of the tuning guide stands for (sharpe_ratio ->
 * sharpe, calmar_ratio -> calmar, sortino_ratio -> sortino, total_trades ->
 * trades, ...: the table in score.c), else name itself.  Static or name. */
QT_API const char *qt_metric_alias(const char *name);
/* 1 when name (or its alias) is one of qtune's metrics measured as a
 * fraction (0.2 = 20%: max_drawdown, win_rate, total_return, ...), as the
 * metrics list documents; a `_pct` spelling of it is divided by 100. */
QT_API int qt_metric_is_fraction(const char *name);
/* Checks every metric name g uses (the objective metric, or the weights when
 * it is "score"; the constraints) against names[0..n), the metrics the
 * objective reports, before any trial is scored on a name that is not there.
 * A name absent but whose alias is present is rewritten to the alias.
 * QT_EINVAL naming the first unknown name, where it is used and the nearest
 * valid names by edit distance ("weights: unknown metric 'sharp' (did you
 * mean 'sharpe'?)"); with printed_by (e.g. "the objective command") the
 * message also lists names.  g is unchanged on failure. */
QT_API int qt_goal_check_names(qt_goal *g, const char *const *names, size_t n,
                               const char *printed_by, qt_err *err);
/* qt_goal_check_names against the metrics of a strategy backtest (the
 * metrics layer's list, known before any trial). */
QT_API int qt_goal_check_strategy_names(qt_goal *g, qt_err *err);
/* Up to 3 names of names[0..n) nearest to name by edit distance, quoted and
 * joined by " or " into buf; 0 (buf "") when none is within a third of the
 * name's length (at least 2 edits).  Returns how many were written. */
QT_API int qt_names_nearest(const char *name, const char *const *names, size_t n, char *buf,
                            size_t cap);
/* Why m violates g's constraints, as "infeasible: sharpe 0.62 < 1, trades
 * 12 < 50" into buf; returns the number of violated constraints (0: buf ""). */
QT_API int qt_goal_reason(const qt_goal *g, const qt_metric_set *m, char *buf, size_t cap);
/* The goal as a JSON object (stored in the study's config) and back. */
QT_API int qt_goal_to_json(const qt_goal *g, char *buf, size_t cap, qt_err *err);
QT_API int qt_goal_from_json(qt_goal *g, const char *json, qt_err *err);

/* Checks m against g's constraints.  Returns 1 when all hold, 0 otherwise;
 * out_viol[k] (n_cons entries, may be NULL) is how far constraint k misses
 * (> 0; NaN when the metric is missing or NaN; 0 when it holds).
 * *out_penalty (may be NULL) is the lenient penalty: the sum over violated
 * constraints of 0.1 + min(1, miss / max(|bound|, 1e-9)) (a missing metric: 1.1). */
QT_API int qt_goal_check(const qt_goal *g, const qt_metric_set *m, double *out_viol,
                         double *out_penalty);

/* Min-max normalization state of the score terms. */
typedef struct qt_norm {
  size_t n_terms;
  double lo[QT_SCORE_MAX_TERMS], hi[QT_SCORE_MAX_TERMS];
  size_t n_seen;            /* completed trials at the last refresh */
} qt_norm;

/* Recomputes lo/hi of g's terms over rows[0..n) (vals[r * n_terms + k] is
 * term k's metric of row r; NaN skipped).  */
QT_API void qt_norm_refresh(qt_norm *nm, const qt_goal *g, const double *vals, size_t n);
/* The weighted score of one row of term values under nm. */
QT_API double qt_norm_score(const qt_norm *nm, const qt_goal *g, const double *row);

/* ---- study: ask/tell over a storage ---- */
typedef struct qt_study qt_study;

typedef struct qt_study_opts {
  const char *name;           /* required */
  const char *storage_url;    /* NULL: qt_storage_default_url() */
  uint64_t seed;
  const qt_sampler_vtbl *sampler; /* NULL: the stored one (resumed), else TPE */
  const qt_kv *sampler_opts;  /* NULL: the stored ones (resumed), else none */
  qt_goal goal;               /* used when the study is created; stored with it */
  const char *config_json;    /* extra config stored on creation (a JSON object), may be NULL */
  const char *pin_json;       /* what the trials run on (qt_study_pin_json), stored on
                               * creation as config "pin"; NULL: nothing pinned */
} qt_study_opts;

QT_API qt_study_opts qt_study_opts_default(void);

/* ---- what a study runs on ----
 * A study pins its market (source, symbols, traded range, a fingerprint of
 * each feed's bars), costs and simulation settings, strategy and goal, so a
 * resume on anything else is refused instead of mixing trials that are not
 * comparable.  The sampler and seed are not pinned: a resume keeps the
 * stored ones unless given (see qt_study_open). */
typedef struct qt_study_pin {
  const char *strategy;       /* NULL: an external command or a function */
  const char *catalog;        /* the market's source: a catalog directory, */
  const char *data_file;      /*   or a data file (NULL when not used) */
  const qt_feed *feeds;       /* n_feeds feeds; 0: no market */
  int n_feeds;
  size_t from_i;              /* first simulated bar of feed 0 (earlier: warm-up) */
  const qt_engine_opts *eo;   /* NULL: no backtest settings */
  const qt_goal *goal;        /* required: objective, direction, weights, constraints */
} qt_study_pin;

/* The pin as a flat JSON object into buf: every value a string, a number or
 * a boolean ("data": "<rows> rows <first>..<last> #<checksum>").  QT_EINVAL
 * when buf is too small or p->goal is NULL. */
QT_API int qt_study_pin_json(const qt_study_pin *p, char *buf, size_t cap, qt_err *err);
/* Compares a stored pin `was` with `now` (both from qt_study_pin_json).
 * Pure.  Writes one line per differing key into buf, "key: old -> new\n"
 * (an absent key reads "(none)"; two different catalog or data-file paths are
 * not a difference: the data fingerprints compare what they hold, so a worker
 * on another machine may keep its copy elsewhere), in the order of now's keys and then was's
 * own; *out_n is the number of differences (lines past cap are counted but
 * cut).  QT_EPARSE (naming which) when either is not a JSON object. */
QT_API int qt_study_pin_diff(const char *was, const char *now, char *buf, size_t cap,
                             size_t *out_n, qt_err *err);

/* Opens or creates the study.  When it exists, its stored space, goal and
 * seed are used (sp may then be NULL) and its trials are read back: numbering,
 * normalization and sampler history continue.  sp is copied.  A study this
 * call created is deleted again when a later step of the call fails (e.g. a
 * bad sampler option), so a failed open leaves no empty study.  With
 * o->sampler NULL and no space (read-only tools), ask() is not allowed.
 * QT_ENOTFOUND when sp is NULL and the study does not exist. */
QT_API int qt_study_open(const qt_study_opts *o, const qt_space *sp, qt_study **out, qt_err *err);
QT_API void qt_study_free(qt_study *st);
/* The sampler the study runs with: the caller's, else (resumed) the stored
 * one, else tpe; NULL when opened without a space.  A resumed study also
 * keeps its stored sampler options when the caller gives none. */
QT_API const char *qt_study_sampler_name(const qt_study *st);
QT_API const qt_space *qt_study_space(const qt_study *st);
QT_API const qt_goal *qt_study_goal(const qt_study *st);
QT_API const char *qt_study_name(const qt_study *st);
QT_API int qt_study_created(const qt_study *st); /* 1 if this open created it */
QT_API qt_storage *qt_study_storage(qt_study *st);
QT_API uint64_t qt_study_seed(const qt_study *st);
/* The stored config JSON {"seed", "sampler", "goal", "user": opts.config_json,
 * "pin": opts.pin_json}. */
QT_API const char *qt_study_config_json(const qt_study *st);
/* The stored pin (a JSON object text), or NULL for a study created without
 * one (before pins existed).  Borrowed until qt_study_free. */
QT_API const char *qt_study_pinned(const qt_study *st);

/* A trial handed out by ask(); caller storage, released by qt_trial_fini. */
typedef struct qt_trial {
  int64_t id, number;
  uint64_t seed;             /* qt_rng_stream(study seed, number) first u64 */
  double *x;                 /* internal form, qt_space_n values */
  double *user;              /* user units */
  char *params_json;
  int retry_of;              /* attempts before this one with the same params */
} qt_trial;
QT_API void qt_trial_fini(qt_trial *t);

/* Proposes params and claims the next trial number (thread-safe).  x_fixed
 * non-NULL re-runs those params (a retry) instead of asking the sampler.
 * QT_DONE when the sampler is exhausted. */
QT_API int qt_study_ask(qt_study *st, const double *x_fixed, const char *worker, qt_trial *out,
                        qt_err *err);
/* Records the outcome (thread-safe): state QT_TRIAL_COMPLETE with metrics, or
 * QT_TRIAL_FAIL / QT_TRIAL_REJECTED (params rejected by the strategy) with
 * error, or QT_TRIAL_PRUNED (stopped by the pruner; m: its last metrics, and
 * the intermediate values reported so far are stored with it).  Checks constraints, computes the score under the current
 * normalization, refreshes it when due and then rewrites the stored scores of
 * all completed trials (trials_set_scores). */
QT_API int qt_study_tell(qt_study *st, const qt_trial *t, int state, const qt_metric_set *m,
                         const char *error, qt_err *err);
/* Re-reads every trial from storage (other processes' too) and rebuilds the
 * normalization; done by open() and periodically by the runner. */
QT_API int qt_study_sync(qt_study *st, qt_err *err);

/* A summary row of one trial under the current normalization. */
typedef struct qt_trial_info {
  int64_t number;
  int state;
  int feasible;       /* constraints hold (or lenient) */
  double objective;   /* score or the metric, penalty applied; NaN if none */
  const char *params_json, *metrics_json, *error; /* borrowed until the next sync/tell */
} qt_trial_info;
QT_API size_t qt_study_n_trials(const qt_study *st);
QT_API void qt_study_trial_info(const qt_study *st, size_t i, qt_trial_info *out);
/* Index (for trial_info) of the best feasible completed trial, or -1. */
QT_API long qt_study_best(const qt_study *st);
/* Counts of trials per state, indexed by qt_trial_state. */
QT_API void qt_study_counts(const qt_study *st, size_t out[QT_TRIAL_N_STATES]);
/* Writes the current objective of every complete trial to storage as its
 * score (what `cleanup --min-score` compares against). */
QT_API int qt_study_store_scores(qt_study *st, qt_err *err);
/* Parameter importance (fANOVA-lite): for each dimension k, the complete
 * trials with a finite objective are split into bins of the parameter
 * (equal-count quantile bins by value, at most 10 and about 5 trials per
 * bin; categoricals and bools: one bin per value); imp[k] is the
 * count-weighted variance of the bins' mean objective, and the result is
 * normalized to sum 1 (all 0 when nothing varies).  out has qt_space_n
 * entries. */
QT_API int qt_study_importance(const qt_study *st, double *out, qt_err *err);

/* ---- pruners (pruner.c): stop unpromising trials on their intermediate
 * values, as Optuna's MedianPruner, PercentilePruner, SuccessiveHalvingPruner
 * (asynchronous, ASHA) and HyperbandPruner.  Pure: a pruner sees the trials'
 * intermediate values and decides; it does no I/O and keeps no state. */
typedef struct qt_step_value {
  int64_t step;
  double value;   /* in the study's direction (not negated) */
} qt_step_value;
typedef struct qt_prune_trial {
  int64_t number;
  int state;                /* qt_trial_state */
  const qt_step_value *iv;  /* reported values, ascending steps */
  size_t n_iv;
} qt_prune_trial;
typedef struct qt_pruner qt_pruner;
/* A pruner by name: "median", "percentile", "sha" (successive halving),
 * "hyperband" or "none" (never prunes), with options (NULL: defaults), as
 * Optuna's: n_startup_trials (5), n_warmup_steps (0), interval_steps (1),
 * n_min_trials (1), percentile (25; median: 50); min_resource (auto or a
 * step count; hyperband: 1), reduction_factor (4; hyperband: 3),
 * min_early_stopping_rate (0), bootstrap_count (0), max_resource (auto).
 * An unknown name or option, or a value out of range: QT_EINVAL naming it. */
QT_API int qt_pruner_new(const char *name, const qt_kv *opts, qt_pruner **out, qt_err *err);
QT_API void qt_pruner_free(qt_pruner *p);
QT_API const char *qt_pruner_name(const qt_pruner *p);
/* The pruner names joined by sep ("median, percentile, sha, hyperband, none"). */
QT_API void qt_pruner_names(char *buf, size_t cap, const char *sep);
/* 1 when trials[cur] (running, its last intermediate value just reported)
 * should stop, else 0.  trials[0..n) are the study's trials (any state); the
 * median/percentile pruners compare with the complete ones at the same step,
 * successive halving with every trial's value at the rung (rungs are derived
 * from the stored intermediate values, so a resumed study keeps them). */
QT_API int qt_pruner_should_prune(const qt_pruner *p, const qt_prune_trial *trials, size_t n,
                                  size_t cur, int maximize);
/* The study's pruner (borrowed; it must outlive the study's runs; NULL:
 * none).  With a pruner, qt_study_run hands objectives a reporter, stops a
 * trial the pruner rejects and stores it as QT_TRIAL_PRUNED. */
QT_API void qt_study_set_pruner(qt_study *st, const qt_pruner *p);
/* The intermediate values of trial i (trial_info order): *out_n of them,
 * borrowed until the next sync/tell. */
QT_API const qt_step_value *qt_study_trial_intermediate(const qt_study *st, size_t i,
                                                        size_t *out_n);

/* ---- enqueued trials, tags, notes (study_attrs.c) ---- */
/* Enqueues params given as text: "k=v,k=v" (source NULL: named "--params"
 * in errors) or the text of a params file named source: a YAML map (or a
 * JSON object) of one parameter set, or a YAML sequence of such maps (several,
 * in order).  Names the space does not know, values out of bounds or not
 * among the choices fail naming the source (and line), the key and why;
 * parameters not given take their default.  Each set becomes a waiting
 * trial with the next trial number: workers claim waiting trials first, in
 * number order, before asking the sampler (also in a resumed study).
 * *out_first / *out_n (may be NULL): the first number and how many.  Input
 * limit: 1 MiB of text, 10,000 sets. */
QT_API int qt_study_enqueue_text(qt_study *st, const char *text, const char *source,
                                 int64_t *out_first, size_t *out_n, qt_err *err);
/* Sets tags (KEY=VALUE user attributes) of the study, kept in its stored
 * config under "tags" (a key given again is replaced).  Keys 1..63 bytes of
 * [A-Za-z0-9_.-], values up to 255 bytes: QT_EINVAL naming the key. */
QT_API int qt_study_set_tags(qt_study *st, const qt_kv *tags, qt_err *err);
/* The note of trial `number` (NULL or "" clears it; up to 4096 bytes). */
QT_API int qt_study_set_note(qt_study *st, int64_t number, const char *note, qt_err *err);
/* Writes trial `number` in full, read from storage: state, params, values,
 * score, feasibility, metrics, intermediate values, last step, times,
 * worker, seed, error and note; JSON (one object) or text.  QT_ENOTFOUND
 * when the study has no such trial; QT_EIO. */
QT_API int qt_study_write_trial_full(qt_study *st, int64_t number, int as_json, FILE *f,
                                     qt_err *err);

/* ---- fANOVA importance (importance_fanova.c) ----
 * As Optuna's default FanovaImportanceEvaluator: a random forest (n_trees
 * regression trees on bootstrap samples, max_features = all, min 2 samples
 * per split, up to max_depth) fitted to the objective, and for each tree
 * the variance of the tree's prediction over the (bounded) search space
 * decomposed exactly into main effects of each parameter and pair
 * interactions (Hutter et al. 2014); importance = a parameter's main-effect
 * variance over the tree's total variance, averaged over trees, then
 * normalized to sum 1 (Optuna's); a pair's importance is its interaction's
 * share of the variance, not normalized.  Categoricals are split on their index. */
typedef struct qt_fanova_opts {
  size_t n_trees;     /* 64 */
  size_t max_depth;   /* 64 */
  size_t min_split;   /* 2 */
  uint64_t seed;      /* 0 */
} qt_fanova_opts;
QT_API qt_fanova_opts qt_fanova_opts_default(void);
typedef struct qt_fanova_pair {
  size_t a, b;        /* dimensions, a < b */
  double importance;  /* share of the objective's variance the pair explains beyond
                       * its main effects (V_ab / V, averaged over trees) */
} qt_fanova_pair;
/* X: n rows of d values (row-major), y: n values, lo/hi: the domain of each
 * dimension.  out_main: d importances (sum 1 unless nothing varies: all 0).
 * out_pairs (may be NULL): the strongest pair interactions, strongest first,
 * up to pair_cap of them, *out_n_pairs written.  QT_EINVAL for n < 2 or
 * d == 0, QT_ENOMEM. */
QT_API int qt_fanova(const double *X, const double *y, size_t n, size_t d, const double *lo,
                     const double *hi, const qt_fanova_opts *o, double *out_main,
                     qt_fanova_pair *out_pairs, size_t pair_cap, size_t *out_n_pairs,
                     qt_err *err);
/* order[0..n): the indices of imp by importance, largest first (ties: by
 * index). */
QT_API void qt_importance_order(const double *imp, size_t n, size_t *order);
/* qt_fanova over the study's complete trials with a finite objective
 * (internal params, the space's internal bounds); out has qt_space_n
 * entries. */
QT_API int qt_study_importance_fanova(const qt_study *st, const qt_fanova_opts *o, double *out,
                                      qt_fanova_pair *out_pairs, size_t pair_cap,
                                      size_t *out_n_pairs, qt_err *err);

/* ---- reading a study back (study_export.c) ---- */
/* The complete trials with a finite objective, best first: feasible before
 * infeasible, then by objective in the goal's direction, ties by trial
 * order.  Writes up to cap trial_info indices to out_idx, *out_n of them.
 * QT_ENOMEM. */
QT_API int qt_study_rank(const qt_study *st, size_t *out_idx, size_t cap, size_t *out_n,
                         qt_err *err);
/* Writes one CSV row per trial (header first): number, state, objective,
 * feasible, violations ("metric:miss;..."), error, every metric key seen in
 * any trial, every parameter.  The caller owns f (a temp file to rename).
 * QT_EIO when f reports an error. */
QT_API int qt_study_write_csv(const qt_study *st, FILE *f, qt_err *err);
/* Writes the params of trial i as a flat YAML map (name: value) under a
 * comment naming the study, trial and objective, for --params-file.
 * QT_EPARSE when the trial has no params, QT_EIO. */
QT_API int qt_study_write_best_yaml(const qt_study *st, size_t i, FILE *f, qt_err *err);
/* The default best-params file of a study, "<name>_best.yaml" with the name
 * made safe for a file name (qt_file_name_sanitize: never outside the
 * working folder).  Returns buf. */
QT_API char *qt_study_best_path(const qt_study *st, char *buf, size_t cap);
/* Writes trial i as one JSON object: study, trial (number), objective (its
 * name), direction, score (null when none), feasible, params, metrics. */
QT_API int qt_study_write_trial_json(const qt_study *st, size_t i, FILE *f, qt_err *err);
/* Param k of trial i for a table: ints as integers, floats with a step to
 * the step's decimals (0.05 -> "0.25"), other floats %.6g, labels as they
 * are, "-" when the trial has no such param.  Always NUL-terminates buf. */
QT_API void qt_study_param_text(const qt_study *st, size_t i, size_t k, char *buf, size_t cap);
/* Trials whose objective (the score under the current normalization) is
 * worse than threshold in the study's direction: below it when maximizing,
 * above it when minimizing.  Failed trials have none and never count. */
QT_API size_t qt_study_count_worse(const qt_study *st, double threshold);
/* Stores the current scores, then deletes exactly the trials that
 * qt_study_count_worse counts; *out_deleted how many.  Their trial numbers
 * are never reused.  Storage errors. */
QT_API int qt_study_delete_worse(qt_study *st, double threshold, size_t *out_deleted,
                                 qt_err *err);

/* ---- runner: worker threads over one study ---- */
typedef struct qt_progress {
  size_t done, total;      /* trials finished by this run; total 0 = open-ended */
  size_t failed, infeasible;
  size_t rejected;         /* parameter combinations the strategy rejected (QT_EPARAM) */
  size_t pruned;           /* trials the pruner stopped early */
  double elapsed_s, trials_per_s, eta_s; /* eta NaN when unknown */
  double best;             /* best objective so far (NaN: none yet) */
  int64_t best_number;
} qt_progress;

/* Worker threads one run may start: each holds an objective (a backtest's
 * buffers), so more than this is a typo, not a machine. */
#define QT_RUN_MAX_JOBS 256
typedef struct qt_run_opts {
  size_t jobs;             /* worker threads (0: all cores; at most QT_RUN_MAX_JOBS) */
  size_t n_trials;         /* trials this run starts (retries included); 0: until timeout/done */
  double timeout_s;        /* stop starting trials after this (0: none) */
  int retries;             /* re-runs of a failed trial's params */
  int deterministic;       /* batches of `jobs`, told in number order */
  volatile int *stop;      /* set (e.g. by SIGINT) to finish running trials and stop */
  void (*progress)(void *ud, const qt_progress *p); /* main thread; may be NULL */
  void *progress_ud;
  double progress_every_s; /* 0: 0.2 */
  double heartbeat_s;      /* 0: 5 */
  double stale_s;          /* the lease: a running trial whose heartbeat is older (by the
                            * storage's clock) is failed and its params enqueued again,
                            * swept at start and every stale_s / 2; 0 = 60 */
  double sync_s;           /* re-read other processes' trials every this (0: 2) */
  double report_every;     /* backtest checkpoints every this fraction of the bars
                            * (0: 0.1 with a pruner, none without) */
} qt_run_opts;

QT_API qt_run_opts qt_run_opts_default(void);

/* Runs trials of st with obj until the budget, the timeout, *stop or the
 * sampler's end; the final progress is in *out_p (may be NULL).  Errors of a
 * trial do not stop the run; storage errors do. */
QT_API int qt_study_run(qt_study *st, const qt_objective *obj, const qt_run_opts *o,
                        qt_progress *out_p, qt_err *err);

/* ==== a backtest objective scored on some bars only (objective_strategy.c) ====
 * mask[i] != 0 (n = feed 0's bar count) marks the bars a trial is scored
 * on, e.g. one market regime (qtune optimize --regime R): the strategy still
 * runs over every bar, and its metrics are those of the scored bars' equity
 * returns chained from the start cash and of the trades entered on them
 * (time-based metrics see the scored bars' times).  The per-period returns
 * stored for validate stay the whole run's.  mask is copied.  QT_EINVAL
 * for another objective, a mask of another length, or fewer than 2 scored
 * traded bars; QT_ENOMEM. */
QT_API int qt_objective_strategy_restrict(qt_objective *o, const uint8_t *mask, size_t n,
                                          qt_err *err);
/* ==== end of the restricted backtest objective ==== */
/* ---- several objectives: Pareto front and hypervolume (pareto.c) ----
 * Vectors are n rows of m values, every value to MINIMIZE (negate the
 * maximized objectives first).  Pure functions, no I/O. */

/* Parses --objective "sharpe,max_drawdown" and --direction
 * "maximize,minimize" (one direction per metric, or one for all; NULL:
 * maximize) into g's objectives: 2..3 distinct metric names, none "score"
 * (the weighted score is one objective on its own).  One metric sets
 * metric/maximize with n_obj = 1.  QT_EPARSE naming the bad item. */
QT_API int qt_goal_parse_objectives(qt_goal *g, const char *metrics, const char *directions,
                                    qt_err *err);
/* The number of objectives of g: 1..3. */
QT_API size_t qt_goal_n_objectives(const qt_goal *g);
/* Objective k of g (k < qt_goal_n_objectives): its metric, and *out_max
 * (may be NULL) 1 when maximized.  Borrowed from g. */
QT_API const char *qt_goal_objective(const qt_goal *g, size_t k, int *out_max);

/* 1 when a Pareto-dominates b: a <= b everywhere and < somewhere. */
QT_API int qt_pareto_dominates(const double *a, const double *b, size_t m);
/* Nondominated sorting: out_rank[i] is row i's front (0: non-dominated).
 * With viol (n values, may be NULL) the domination is constrained (Deb):
 * rows with viol 0 come first, sorted by the values; rows with viol > 0 (NaN
 * counts as inf) after them, one front per violation, smaller first.  Rows
 * with a NaN value rank after everything else.  Stops ranking once
 * `need` rows are ranked (0: all); the rest get SIZE_MAX.  QT_ENOMEM. */
QT_API int qt_pareto_sort(const double *f, const double *viol, size_t n, size_t m, size_t need,
                          size_t *out_rank, qt_err *err);
/* NSGA-II crowding distance of the rows idx[0..n) of f (as Optuna 3.1:
 * per objective the gap between the two neighbours over the range, inf at
 * the ends, 0 where every value is equal) into out[0..n).  QT_ENOMEM. */
QT_API int qt_pareto_crowding(const double *f, size_t m, const size_t *idx, size_t n,
                              double *out, qt_err *err);
/* The hypervolume dominated by the rows of f and bounded by ref: the
 * volume of the union of the boxes [f_i, ref].  Rows not strictly below ref
 * in every objective add nothing.  Exact for any m (sweep for m = 2,
 * slicing along the last objective above); O(n log n) for 2, O(n^2 log n)
 * for 3.  QT_EINVAL for m = 0 or a non-finite ref, QT_ENOMEM. */
QT_API int qt_hypervolume(const double *f, size_t n, size_t m, const double *ref,
                          double *out_hv, qt_err *err);

/* A benchmark problem with several objectives at u[0..n) in [0,1]^n:
 * "zdt1", "zdt2" (2 objectives, n >= 2), "dtlz2" (2), "dtlz2_3" (3, n >= 3),
 * all minimized; the values into out_f, their count into *out_m.
 * QT_EINVAL for an unknown name or n out of 1..256 (see mo_functions.c). */
QT_API int qt_mo_function(const char *name, const double *u, size_t n, double *out_f,
                          size_t *out_m);

/* The study's objectives (1..3) and, for trial i (trial_info order), each
 * objective's value in its own direction (the raw metric) into out[0..n);
 * returns 1 when the trial is complete with every value finite, else 0. */
QT_API size_t qt_study_n_objectives(const qt_study *st);
QT_API int qt_study_trial_values(const qt_study *st, size_t i, double *out);
/* The Pareto front: the feasible complete trials with finite values that
 * no other such trial dominates, in the order of the first objective (best
 * first, ties by trial order).  Writes up to cap indices, *out_n of them
 * (the whole front's size).  QT_ENOMEM. */
QT_API int qt_study_pareto_front(const qt_study *st, size_t *out_idx, size_t cap,
                                 size_t *out_n, qt_err *err);
/* The default reference point, in each objective's own direction: the
 * worst value among the feasible complete trials moved outward by 10% of
 * the objective's range (by 10% of |value|, at least 1e-9, when every value
 * is equal).  Returns 0 with out unset when no trial qualifies. */
QT_API int qt_study_ref_point(const qt_study *st, double *out_ref);
/* Parses "v1,v2[,v3]" (one finite number per objective, in each one's own
 * direction) into out_ref.  QT_EPARSE naming the bad value or the count. */
QT_API int qt_study_parse_ref_point(const qt_study *st, const char *s, double *out_ref,
                                    qt_err *err);
/* The hypervolume of trials idx[0..n) against ref (each objective's own
 * direction, as qt_study_ref_point gives).  QT_EINVAL, QT_ENOMEM. */
QT_API int qt_study_hypervolume(const qt_study *st, const size_t *idx, size_t n,
                                const double *ref, double *out_hv, qt_err *err);


/* ==== a backtest objective over several symbols (objective_symbols.c) ====
 * Every trial runs on each symbol of mo (loaded here, one market per symbol,
 * owned by the objective and shared read-only by its workers; each worker
 * holds one engine per symbol).  The trial's metrics: every metric
 * aggregated across the symbols by agg (QT_AGG_MEAN, QT_AGG_MEDIAN, or
 * QT_AGG_MIN: the worst symbol, which for drawdowns, volatility, fees and
 * durations is the largest), the per-symbol metrics as "<SYMBOL>/<metric>"
 * (a key longer than 47 bytes is left out; the study stores them as
 * "by_symbol": {SYMBOL: {metric: value}}), and the spread: symbols,
 * symbol_sharpe_min/max/sd, symbol_best_profit_share (the best symbol's
 * total_profit over the symbols' sum, NaN when the sum is not a gain) and
 * "<SYMBOL>/loo_sharpe" (the aggregate Sharpe with that symbol left out).
 * The stored per-period returns are the symbols' mean.  Fails like
 * qt_market_load for a symbol (the message names it), for fewer than 2
 * symbols and for a strategy trading two instruments.  eo->from/to are set
 * per symbol from --from/--to. */
enum { QT_AGG_MEAN = 0, QT_AGG_MEDIAN = 1, QT_AGG_MIN = 2 };
/* "mean", "median" or "min" into *out; QT_EINVAL naming --aggregate. */
QT_API int qt_aggregate_parse(const char *text, int *out, qt_err *err);
/* The name of an aggregate (static text, "?" when unknown). */
QT_API const char *qt_aggregate_name(int agg);
QT_API int qt_objective_symbols(const qt_strategy_vtbl *s, const qt_market_opts *mo,
                                const qt_engine_opts *eo, const qt_metrics_opts *mopts, int agg,
                                qt_objective *out, qt_err *err);
/* One symbol of qt_objective_symbols_over: its feeds (borrowed for the
 * objective's life; feeds[0].inst.symbol names it) and the engine settings
 * of its runs (from/to: that symbol's traded bars). */
typedef struct qt_symbol_run {
  const qt_feed *feeds;
  int n_feeds;
  qt_engine_opts eo;
} qt_symbol_run;
/* The same objective over markets the caller already holds (a walk-forward
 * cuts each window out of markets loaded once): runs[0..n) copied, their
 * feeds borrowed.  Fails like qt_objective_symbols (n < 2, a strategy
 * trading two instruments, bad agg). */
QT_API int qt_objective_symbols_over(const qt_strategy_vtbl *s, const qt_symbol_run *runs,
                                     size_t n, const qt_metrics_opts *mopts, int agg,
                                     qt_objective *out, qt_err *err);
/* The aggregate of one metric's per-symbol values v[0..n) (n <= 16), as a
 * trial's: NaN values left out (NaN when none is left); "min" takes the
 * largest of the metrics where lower is better (drawdowns, ...). */
QT_API double qt_aggregate_metric(int agg, const char *metric, const double *v, size_t n);
/* For pins and headers: the symbols' feeds (feed 0 of each market, borrowed
 * for the objective's life) and the first symbol's market; returns the
 * number of symbols, 0 for another objective. */
QT_API size_t qt_objective_symbols_feeds(const qt_objective *o, const qt_feed **out_feeds,
                                         const qt_market **out_first);
/* Given a trial's stored metrics JSON, prints its per-symbol rows (Sharpe,
 * return, drawdown, trades, profit, the aggregate Sharpe without it) and the
 * spread line; prints nothing for a trial without "by_symbol".  QT_EIO. */
QT_API int qt_symbols_write_table(const char *metrics_json, FILE *f, qt_err *err);
/* One backtest of params p (spec order) on each symbol of mo, the same run
 * as a trial of qt_objective_symbols: {"strategy", "aggregate", "metrics":
 * {aggregated metrics, spread, "by_symbol": {SYMBOL: {...}}}} into buf.
 * Fails like qt_objective_symbols; QT_EINVAL when buf is too small. */
QT_API int qt_symbols_backtest_json(const qt_strategy_vtbl *s, const double *p,
                                    const qt_market_opts *mo, const qt_engine_opts *eo, int agg,
                                    char *buf, size_t cap, qt_err *err);
/* ==== end of the objective over several symbols ==== */

#endif
