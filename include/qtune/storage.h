/* qtune storage: where studies and trials live.  A small vtable with a
 * SQLite backend (default sqlite:///qtune.db, ./qtune.db) and a PostgreSQL one
 * (postgresql://...).  It knows records only: ids, state, params, score,
 * metrics; nothing about samplers or strategies.  All SQL is prepared
 * statements, every write is a transaction, finished trials are immutable. */
#ifndef QTUNE_QTUNE_STORAGE_H
#define QTUNE_QTUNE_STORAGE_H

#include "qtune/core.h"

/* The state of a trial: one list makes the enum, the names stored in the
 * trials.state column and qt_trial_state_name.  The values are fixed (they
 * index qt_study_counts and trials_list's states_mask).  REJECTED: the
 * strategy refused the params (before schema v3 this was stored as
 * "pruned"); PRUNED: a pruner stopped the trial early on its intermediate
 * values; WAITING: enqueued params not yet claimed by a worker. */
#define QT_TRIAL_STATE_LIST(X) \
  X(RUNNING, 0, "running")     \
  X(COMPLETE, 1, "complete")   \
  X(REJECTED, 2, "rejected")   \
  X(FAIL, 3, "fail")           \
  X(PRUNED, 4, "pruned")       \
  X(WAITING, 5, "waiting")
typedef enum qt_trial_state {
#define QT_TRIAL_STATE_ENUM_(name, value, text) QT_TRIAL_##name = value,
  QT_TRIAL_STATE_LIST(QT_TRIAL_STATE_ENUM_)
#undef QT_TRIAL_STATE_ENUM_
  QT_TRIAL_N_STATES
} qt_trial_state;
/* "running", "complete", "rejected", "fail", "pruned", "waiting"; "unknown"
 * for any other value.  Static text. */
QT_API const char *qt_trial_state_name(int state);
/* The state named by text (a stored trials.state); QT_EPARSE when it names
 * none, with *out_state left at QT_TRIAL_FAIL. */
QT_API int qt_trial_state_from_name(const char *text, int *out_state, qt_err *err);

/* A study record.  Strings are owned by the record (qt_study_rec_fini). */
typedef struct qt_study_rec {
  int64_t id;
  char name[128];
  int64_t created_ms;
  char *directions;  /* JSON array, e.g. ["maximize"] */
  char *space_json;
  char *config_json;
} qt_study_rec;
QT_API void qt_study_rec_fini(qt_study_rec *s);

/* A trial record; strings owned by the record (qt_trial_rec_fini).  NULL
 * strings mean SQL NULL; score is NaN when absent. */
typedef struct qt_trial_rec {
  int64_t id, study_id, number;
  int state;             /* qt_trial_state */
  char *params_json;     /* {"name": user value, ...} */
  double score;
  char *values_json;     /* objective value(s), JSON array */
  char *metrics_json;    /* every metric, JSON object */
  int constraint_ok;     /* 1 ok, 0 violated (see metrics_json "violations"), -1 unknown */
  char worker[64];
  int64_t seed;
  int64_t started_ms, heartbeat_ms, finished_ms; /* 0 = NULL */
  char *error;
  char *intermediate_json; /* [[step, value], ...] reported while it ran (NULL: none) */
  int64_t last_step;       /* the last reported step; -1 when none */
  char *note;              /* the user's note (qtune trial S N --note), NULL: none */
} qt_trial_rec;
QT_API void qt_trial_rec_fini(qt_trial_rec *t);
QT_API void qt_trial_recs_free(qt_trial_rec *v, size_t n); /* fini each + qt_free(v) */

typedef struct qt_storage_vtbl {
  int abi;
  const char *scheme; /* "sqlite", "postgresql" */
  int (*open)(const char *url, void **out_self, qt_err *err);
  void (*close)(void *self);
  /* Creates the study, or loads it when the name exists (*out_created = 0);
   * directions/space/config are stored only on creation. */
  int (*study_create)(void *self, const char *name, const char *directions,
                      const char *space_json, const char *config_json, qt_study_rec *out,
                      int *out_created, qt_err *err);
  int (*study_load)(void *self, const char *name, qt_study_rec *out, qt_err *err); /* ENOTFOUND */
  /* All studies, newest first; *out is qt_malloc'd (free with a loop of fini + qt_free). */
  int (*study_list)(void *self, qt_study_rec **out, size_t *out_n, qt_err *err);
  int (*study_delete)(void *self, int64_t study_id, qt_err *err);
  /* Atomically takes the next trial number of the study (a high-water mark
   * stored with the study, so a deleted trial's number is never reused) and
   * inserts a running trial with params; two processes never get the same
   * number.  QT_ENOTFOUND when the study does not exist. */
  int (*trial_claim)(void *self, int64_t study_id, const char *params_json, const char *worker,
                     int64_t seed, int64_t *out_trial_id, int64_t *out_number, qt_err *err);
  int (*trial_set_params)(void *self, int64_t trial_id, const char *params_json, qt_err *err);
  /* Finishes a running trial (QT_ESTATE when it is already finished). */
  int (*trial_finish)(void *self, int64_t trial_id, int state, double score,
                      const char *values_json, const char *metrics_json, int constraint_ok,
                      const char *error, qt_err *err);
  /* Trials of the study ordered by number; states_mask bit (1 << state)
   * selects states (0 = all).  *out is qt_malloc'd. */
  int (*trials_list)(void *self, int64_t study_id, unsigned states_mask, qt_trial_rec **out,
                     size_t *out_n, qt_err *err);
  int (*heartbeat)(void *self, int64_t trial_id, qt_err *err);
  /* Marks running trials whose heartbeat is older than stale_ms as failed
   * (the lease: PostgreSQL times it by the server's clock, SQLite by the
   * host's, which every process of one file shares), and enqueues each
   * one's params again once, as a waiting trial noted "retry of trial N"
   * (a stale retry is not retried again), in the same transaction.
   * *out_n: trials failed. */
  int (*recover_stale)(void *self, int64_t study_id, int64_t stale_ms, size_t *out_n, qt_err *err);
  /* Deletes the finished trials at the worse end of the study's direction:
   * score < threshold when maximizing (minimize 0), score > threshold when
   * minimizing (minimize 1); *out_n deleted.  Their numbers stay taken. */
  int (*trials_delete_worse)(void *self, int64_t study_id, double threshold, int minimize,
                             size_t *out_n, qt_err *err);
  /* Updates the stored score of finished trials (re-normalization); scores
   * are derived values, the raw metrics stay immutable. */
  int (*trials_set_scores)(void *self, const int64_t *trial_ids, const double *scores, size_t n,
                           qt_err *err);
  /* Replaces the study's config JSON (results added after the search, such
   * as a holdout's).  QT_ENOTFOUND when no study has that id. */
  int (*study_set_config)(void *self, int64_t study_id, const char *config_json, qt_err *err);
  /* ---- schema v3: intermediate values, enqueued trials, notes ---- */
  /* Stores the intermediate values ([[step, value], ...] JSON) and the last
   * step of a running trial (before trial_finish).  QT_ESTATE when finished. */
  int (*trial_set_intermediate)(void *self, int64_t trial_id, const char *intermediate_json,
                                int64_t last_step, qt_err *err);
  /* Takes the next trial number (as trial_claim) for a waiting trial with
   * params_json and seed (as trial_claim's): enqueued params, evaluated
   * before any sampled trial. */
  int (*trial_enqueue)(void *self, int64_t study_id, const char *params_json, int64_t seed,
                       int64_t *out_trial_id, int64_t *out_number, qt_err *err);
  /* Atomically turns the lowest-numbered waiting trial of the study into a
   * running one of worker (two workers never get the same).  *out_params is
   * qt_malloc'd (caller frees).  QT_DONE (outputs 0/NULL) when none waits. */
  int (*trial_claim_waiting)(void *self, int64_t study_id, const char *worker,
                             int64_t *out_trial_id, int64_t *out_number, char **out_params,
                             qt_err *err);
  /* Sets the note of trial `number` of the study, in any state (a note is
   * the user's, not part of the result).  QT_ENOTFOUND when no such trial. */
  int (*trial_set_note)(void *self, int64_t study_id, int64_t number, const char *note,
                        qt_err *err);
} qt_storage_vtbl;

#define QT_STORAGE_ABI 1
QT_API extern const qt_storage_vtbl qt_storage_sqlite;
QT_API extern const qt_storage_vtbl qt_storage_postgres;

/* An open storage: the vtable and its instance. */
typedef struct qt_storage {
  const qt_storage_vtbl *vt;
  void *self;
} qt_storage;

/* Opens by URL.  SQLite follows SQLAlchemy's (and so Optuna's) convention:
 * "sqlite:///rel/path.db" is relative to the working directory,
 * "sqlite:////abs/path.db" is absolute; the older "sqlite://rel/path.db" and
 * a bare path (no "://") are paths as written.  PostgreSQL takes a libpq URI,
 * "postgresql://user[:password]@host:port/db".  QT_EINVAL for an unknown
 * scheme or a URL naming no file.  An instance may be shared
 * by threads: every call is serialized by a lock inside the backend, and each
 * write is its own short transaction, so several processes can share one
 * SQLite file (WAL, busy timeout).  Error messages show the URL redacted
 * (qt_storage_url_redact), never a password. */
QT_API int qt_storage_open(const char *url, qt_storage *out, qt_err *err);
QT_API void qt_storage_close(qt_storage *s);

/* The built-in default storage: ./qtune.db in the working directory. */
#define QT_STORAGE_DEFAULT_URL "sqlite:///qtune.db"
/* The storage URL to use when none is given: $QTUNE_STORAGE when it is set
 * and not empty, else QT_STORAGE_DEFAULT_URL.  Static text (the environment's),
 * valid until the environment changes; may hold a password, so show it only
 * through qt_storage_url_redact. */
QT_API const char *qt_storage_default_url(void);

/* The file a SQLite URL names, into buf (see qt_storage_open for the forms):
 * "sqlite:///a/b.db" -> "a/b.db", "sqlite:////a/b.db" -> "/a/b.db",
 * "sqlite://a/b.db" and "sqlite:a/b.db" -> "a/b.db", a bare path -> itself.
 * QT_EINVAL (buf "") when url is not a SQLite URL, names no file, or the path
 * does not fit in cap. */
QT_API int qt_storage_sqlite_path(const char *url, char *buf, size_t cap, qt_err *err);

/* Copies url into buf with every password replaced by "***": the one in a
 * URI's user info ("postgresql://u:***@host/db"), a "password" query
 * parameter ("?password=***") and a "password=" keyword of a libpq
 * keyword/value conninfo ("host=h password=***").  The rest is copied as is,
 * truncated to cap - 1 bytes (NUL-terminated when cap > 0).  Returns buf. */
QT_API char *qt_storage_url_redact(const char *url, char *buf, size_t cap);

/* ==== signal_outcomes (src/storage/outcomes.c) ====
 * What a signal of a strategy came to: written by paper trading, by
 * `qtune backtest --record-outcomes` and by `qtune outcomes import`; read by
 * the auto-tuner.  Each outcome has a stable key, so recording the same
 * outcome again adds nothing. */
#define QT_OUTCOME_STATUS_LIST(X) \
  X(CLOSED, 0, "closed")          \
  X(EXPIRED, 1, "expired")
typedef enum qt_outcome_status {
#define QT_OUTCOME_STATUS_ENUM_(name, value, text) QT_OUTCOME_##name = value,
  QT_OUTCOME_STATUS_LIST(QT_OUTCOME_STATUS_ENUM_)
#undef QT_OUTCOME_STATUS_ENUM_
  QT_OUTCOME_N_STATUS
} qt_outcome_status;
/* "closed", "expired"; "unknown" otherwise.  Static text. */
QT_API const char *qt_outcome_status_name(int status);
/* QT_EPARSE (and *out QT_OUTCOME_CLOSED) when text names no status. */
QT_API int qt_outcome_status_from_name(const char *text, int *out_status, qt_err *err);

/* One outcome, a plain record (no heap strings).  Absent times are 0, absent
 * prices NaN.  side is +1 long, -1 short.  pnl is in the quote currency,
 * pnl_pct in percent. */
typedef struct qt_outcome {
  int64_t id;               /* set by the storage */
  char key[256];            /* stable key; "" on insert = qt_outcome_key() */
  char strategy[64];
  char symbol[32];
  char params_version[64];  /* which parameters produced it ("" unknown) */
  char source[16];          /* "paper", "backtest", "import" */
  int64_t signal_ms;
  int side;
  int64_t entry_ms;
  double entry_price;
  int64_t exit_ms;
  double exit_price;
  double pnl, pnl_pct;
  int status;               /* qt_outcome_status */
  int64_t closed_ms;        /* when it was closed or expired */
  int64_t created_ms;       /* set by the storage */
} qt_outcome;

/* The default stable key of o into buf: "strategy|symbol|params_version|
 * signal_ms|long|entry_ms" (one signal of one strategy on one symbol at one
 * time and side, under one parameter version).  Returns buf. */
QT_API char *qt_outcome_key(const qt_outcome *o, char *buf, size_t cap);

/* Inserts n outcomes in one transaction; an outcome whose key (o->key, or
 * qt_outcome_key when empty) is already stored is skipped.  *out_added (may
 * be NULL) gets how many were new.  QT_EINVAL for an outcome with no
 * strategy or symbol, a side other than +1/-1 or an unknown status (nothing
 * is stored then). */
QT_API int qt_outcomes_insert(qt_storage *s, const qt_outcome *v, size_t n, size_t *out_added,
                              qt_err *err);

/* The outcomes of strategy (NULL or "" = all) whose signal time is in
 * [from_ms, to_ms), ordered by signal time then id.  *out is qt_malloc'd
 * (qt_free it; NULL when none). */
QT_API int qt_outcomes_list(qt_storage *s, const char *strategy, int64_t from_ms, int64_t to_ms,
                            qt_outcome **out, size_t *out_n, qt_err *err);
/* ==== end signal_outcomes ==== */

/* ==== paper_strategy_adjustments (src/storage/adjustments.c) ====
 * The auto-tuner's proposals and their lifecycle: pending -> approved ->
 * applied, or pending -> reverted.  Every status change is one conditional
 * UPDATE that checks the current status, so of two reviewers at once exactly
 * one wins and the other gets QT_ESTATE. */
#define QT_ADJ_STATUS_LIST(X) \
  X(PENDING, 0, "pending")    \
  X(APPROVED, 1, "approved")  \
  X(REVERTED, 2, "reverted")  \
  X(APPLIED, 3, "applied")
typedef enum qt_adj_status {
#define QT_ADJ_STATUS_ENUM_(name, value, text) QT_ADJ_##name = value,
  QT_ADJ_STATUS_LIST(QT_ADJ_STATUS_ENUM_)
#undef QT_ADJ_STATUS_ENUM_
  QT_ADJ_N_STATUS
} qt_adj_status;
QT_API const char *qt_adj_status_name(int status); /* static; "unknown" otherwise */
/* QT_EPARSE when text names no status (*out_status QT_ADJ_PENDING). */
QT_API int qt_adj_status_from_name(const char *text, int *out_status, qt_err *err);

/* One adjustment, a plain record.  Times are ms UTC, 0 = not yet. */
typedef struct qt_adjustment {
  int64_t id;                 /* set by the storage */
  char strategy[64];
  char parameter[64];
  double old_value, new_value; /* in the strategy spec's units */
  char reason[256];           /* human-readable */
  char metric_trigger[32];    /* "win_rate_low", ... */
  double metric_value;
  double win_rate_7d, total_pnl_7d, avg_pnl_7d; /* win rate %, P&L quote, average P&L % */
  int64_t total_signals_7d;
  int clamped;                /* 1: the proposal was clamped to a bound or the step cap */
  int status;                 /* qt_adj_status */
  char reviewed_by[64];
  int64_t reviewed_ms, created_ms, applied_ms;
  char evidence_json[2048];   /* the attached backtests, a JSON object ("{}" none) */
} qt_adjustment;

/* Inserts a as a new row with a->status (pending unless the caller
 * auto-applies), created_ms = a->created_ms or now when 0; *out_id (may be
 * NULL) gets its id. */
QT_API int qt_adjustment_insert(qt_storage *s, const qt_adjustment *a, int64_t *out_id,
                                qt_err *err);
/* The adjustment with that id; QT_ENOTFOUND when none. */
QT_API int qt_adjustment_get(qt_storage *s, int64_t id, qt_adjustment *out, qt_err *err);
/* Adjustments of strategy (NULL or "" = all) whose status bit (1 << status)
 * is in status_mask (0 = all), newest first (created_ms, then id).  *out is
 * qt_malloc'd (qt_free; NULL when none). */
QT_API int qt_adjustments_list(qt_storage *s, const char *strategy, unsigned status_mask,
                               qt_adjustment **out, size_t *out_n, qt_err *err);
/* pending -> approved (approve 1) or pending -> reverted (approve 0), with
 * the reviewer and at_ms (0 = now) kept.  QT_ENOTFOUND for no such id, QT_ESTATE
 * (naming the current status) when it is not pending; QT_EINVAL for an
 * empty reviewer. */
QT_API int qt_adjustment_review(qt_storage *s, int64_t id, int approve, const char *reviewer,
                                int64_t at_ms, qt_err *err);
/* approved -> applied at at_ms (0 = now); QT_ENOTFOUND, or QT_ESTATE when it is not
 * approved. */
QT_API int qt_adjustment_mark_applied(qt_storage *s, int64_t id, int64_t at_ms, qt_err *err);
/* ==== end paper_strategy_adjustments ==== */

/* ==== tune_runs (src/storage/tune_runs.c) ====
 * One row per run of the auto-tuner, so a daemon knows after a restart when
 * the last run was (and a missed run happens once). */
typedef struct qt_tune_run {
  int64_t id;
  int64_t run_ms;       /* the (possibly injected) clock time of the run */
  int64_t n_proposed, n_applied;
  char summary[512];
} qt_tune_run;
QT_API int qt_tune_run_record(qt_storage *s, const qt_tune_run *r, int64_t *out_id, qt_err *err);
/* The latest run (greatest run_ms); QT_ENOTFOUND when there was none. */
QT_API int qt_tune_run_last(qt_storage *s, qt_tune_run *out, qt_err *err);
/* ==== end tune_runs ==== */

/* ==== trial return series (src/storage/returns.c) ====
 * The per-period returns of each complete trial (e.g. daily equity returns),
 * stored compactly in a `trial_returns` table so the overfitting statistics
 * (qtune validate: DSR, PBO, SPA) run on any stored study.  Number
 * QT_RETURNS_BUY_HOLD holds the market's buy-and-hold returns over the same
 * periods (the benchmark).  A stored series is immutable.  Values are kept
 * as float32 (7 significant digits); a series holds at most
 * QT_RETURNS_MAX_N values. */
#define QT_RETURNS_BUY_HOLD (-1)
#define QT_RETURNS_MAX_N 1000000

typedef struct qt_returns_rec {
  int64_t number;    /* trial number, or QT_RETURNS_BUY_HOLD */
  int64_t period_ms; /* length of one period (86400000: daily) */
  int64_t start_ms;  /* start of the first period */
  size_t n;
  double *r;         /* n returns, owned (qt_returns_recs_free) */
} qt_returns_rec;

/* Stores the series r[0..n) of trial `number` of study study_id.
 * QT_ESTATE when that trial already has one (series are immutable);
 * QT_EINVAL when n is 0 or above QT_RETURNS_MAX_N, period_ms <= 0 or a value
 * is not finite (the message names the index); storage errors. */
QT_API int qt_returns_put(qt_storage *s, int64_t study_id, int64_t number, int64_t period_ms,
                          int64_t start_ms, const double *r, size_t n, qt_err *err);
/* Every stored series of the study ordered by number (the buy-and-hold one
 * first); *out is qt_malloc'd, free with qt_returns_recs_free.  A study with
 * none gives *out_n 0.  QT_EPARSE naming the trial for a corrupt row. */
QT_API int qt_returns_list(qt_storage *s, int64_t study_id, qt_returns_rec **out, size_t *out_n,
                           qt_err *err);
QT_API void qt_returns_recs_free(qt_returns_rec *v, size_t n);
/* Deletes the study's series (all of them); *out_n (may be NULL) how many. */
QT_API int qt_returns_delete(qt_storage *s, int64_t study_id, size_t *out_n, qt_err *err);
/* ==== end of trial return series ==== */

/* ==== promotion gate verdicts (src/storage/gates.c) ====
 * Every `qtune gate` verdict of a study, in a `gate_verdicts` table: pass
 * or fail, the stage before and after (backtest -> paper -> live) and the
 * report (JSON).  A study's stage is the stage_to of its latest verdict,
 * "backtest" before any.  A verdict is recorded in one transaction that
 * reads the current stage: a pass promotes backtest to paper (paper to live
 * needs paper-trading outcomes, so a pass at paper or live keeps the
 * stage), a fail sets backtest. */
typedef struct qt_gate_rec {
  int64_t id, study_id, at_ms;
  int pass;
  char stage_from[16], stage_to[16];
  char *report_json; /* owned (qt_gate_recs_free) */
} qt_gate_rec;

/* Records a verdict.  expect_stage (may be NULL) is the stage the caller
 * evaluated at: QT_ESTATE when another process changed it meanwhile.
 * *out (may be NULL) gets the stored row without report_json.  Storage errors. */
QT_API int qt_gate_record(qt_storage *s, int64_t study_id, int pass, const char *expect_stage,
                          const char *report_json, int64_t at_ms, qt_gate_rec *out, qt_err *err);
/* The study's stage into buf ("backtest" when it has no verdict). */
QT_API int qt_gate_stage(qt_storage *s, int64_t study_id, char *buf, size_t cap, qt_err *err);
/* Every verdict of the study, oldest first; *out is qt_malloc'd. */
QT_API int qt_gate_list(qt_storage *s, int64_t study_id, qt_gate_rec **out, size_t *out_n,
                        qt_err *err);
QT_API void qt_gate_recs_free(qt_gate_rec *v, size_t n);
/* ==== end of promotion gate verdicts ==== */

/* ==== paper runner state (src/storage/paper.c) ====
 * What `qtune paper` keeps so a run killed at any point resumes with nothing
 * lost or doubled: the run (paper_runs), and per symbol the order actions
 * and closed trades so far (paper_orders, paper_trades: numbered from 0 per
 * symbol, unique, append-only), the positions and cash (paper_positions) and
 * open orders (paper_open_orders) as of the last committed bar, the bars of
 * a stream feed (paper_bars), the risk-limit breaches (paper_risk), the
 * signal outcomes (signal_outcomes) and the equity after each commit
 * (paper_equity, with the start cash at bar 0) and the parameter sets it
 * ran with (paper_params: the start set, then each set of a live params file
 * with the bar of each symbol it took effect at, so a resume rebuilds with
 * them).  One commit is one transaction. */
typedef struct qt_paper_run_rec {
  int64_t id;
  char name[128], strategy[64], feed[256], symbols[512];
  char params_json[4096];
  char status[16];        /* "running", "stopped", "done" */
  int64_t created_ms, updated_ms;
  int64_t last_bar_ms;    /* the last committed bar's open time (0: none yet) */
  int64_t n_bars;         /* bars committed (all symbols) */
  double cash, equity;    /* portfolio, as of the last commit */
  double start_cash;      /* read only: the cash it started with (NaN for a run
                           * stored before paper_equity existed) */
  int64_t n_trades;       /* read only: closed trades stored (all symbols) */
} qt_paper_run_rec;

typedef struct qt_paper_order_rec {
  char symbol[32];
  int64_t seq, ts_ms, order_id;
  int action, side, type, leg; /* qt_order_action, qt_side, qt_order_type, qt_leg */
  unsigned flags;
  double qty, price;
  int64_t expire_ms;
} qt_paper_order_rec;

typedef struct qt_paper_trade_rec {
  char symbol[32];
  int64_t seq;
  int side, leg, exit_reason;
  int64_t entry_ms, exit_ms, bars_held;
  double qty, entry_price, exit_price, pnl, fees, funding;
} qt_paper_trade_rec;

typedef struct qt_paper_pos_rec {
  char symbol[32];
  double qty, avg_price;  /* net leg */
  double cash, equity;
  int64_t last_bar_ms, n_bars, n_orders, n_trades;
} qt_paper_pos_rec;

typedef struct qt_paper_open_rec {
  char symbol[32];
  int64_t order_id;
  int side, type;
  double qty, price;
} qt_paper_open_rec;

typedef struct qt_paper_bar_rec {
  char symbol[32];
  int64_t ts_ms;
  double open, high, low, close, volume;
} qt_paper_bar_rec;

typedef struct qt_paper_risk_rec {
  char symbol[32];
  int64_t ts_ms, nth;     /* the bar, and which gate call at that bar (from 0) */
  char kind[24];          /* "risk_per_trade", "max_positions", "max_daily_loss" */
  char detail[200];
} qt_paper_risk_rec;

/* The portfolio after a commit whose last bar opened at bar_ms; bar_ms 0 is
 * the start (cash = equity = the start cash). */
typedef struct qt_paper_equity_rec {
  int64_t bar_ms;
  double cash, equity;
} qt_paper_equity_rec;

/* A parameter set a run applied: seq 0 is the start set (--params), then
 * each set of the live params file in order.  at_json maps each symbol to
 * the index (from 0, the run's first bar) of its first bar decided with the
 * set, e.g. {"AVAXUSDT": 812}; the start set's is {}. */
typedef struct qt_paper_params_rec {
  int64_t seq;
  int64_t wall_ms;        /* when the runner applied it */
  int64_t bar_ms;         /* the open time of the bar it took effect from (0: the start) */
  char at_json[1024];
  char params_json[4096];
  char source[16];        /* "start", "file" */
} qt_paper_params_rec;

typedef struct qt_paper_outcome_rec {
  char symbol[32];
  int side;               /* 1 long, -1 short */
  int64_t signal_ms, entry_ms, exit_ms;
  double entry_price, exit_price, pnl, pnl_pct;
} qt_paper_outcome_rec;

/* One step's writes.  The arrays are appended (orders, trades, bars, risk,
 * outcomes) or replace the symbol's rows (pos, open); run fields update the
 * run.  Arrays may be NULL with a count of 0. */
typedef struct qt_paper_commit {
  int64_t run_id;
  int64_t last_bar_ms, n_bars;
  double cash, equity;
  const qt_paper_order_rec *orders; size_t n_orders;
  const qt_paper_trade_rec *trades; size_t n_trades;
  const qt_paper_pos_rec *pos; size_t n_pos;
  const qt_paper_open_rec *open; size_t n_open;
  const qt_paper_bar_rec *bars; size_t n_bars_new;
  const qt_paper_risk_rec *risk; size_t n_risk;
  const qt_paper_outcome_rec *outcomes; size_t n_outcomes;
  const char *strategy, *params_version; /* for the outcomes */
  /* the parameter sets first used by this step's decisions (a seq already
   * stored fails the commit) */
  const qt_paper_params_rec *params; size_t n_params;
} qt_paper_commit;

/* Creates the run named want->name (status "running") or, when it exists,
 * loads it into *out: QT_ESTATE when its strategy, params, feed or symbols
 * differ from want's (the message names the field and both values) or it is
 * "done"; a "stopped" run goes back to "running".  *out_created is 1 for a
 * new run. */
QT_API int qt_paper_run_open(qt_storage *s, const qt_paper_run_rec *want, qt_paper_run_rec *out,
                             int *out_created, qt_err *err);
/* Looks a run up by name; QT_ENOTFOUND when there is none. */
QT_API int qt_paper_run_get(qt_storage *s, const char *name, qt_paper_run_rec *out, qt_err *err);
/* Writes one step in one transaction, only while the run is "running"
 * (QT_ESTATE otherwise).  A seq already stored fails the whole commit
 * (nothing is doubled). */
QT_API int qt_paper_commit_step(qt_storage *s, const qt_paper_commit *c, qt_err *err);
/* Moves the run from status `from` to `to` (one conditional UPDATE);
 * QT_ESTATE when it is not in `from`. */
QT_API int qt_paper_run_set_status(qt_storage *s, int64_t run_id, const char *from, const char *to,
                                   qt_err *err);
/* Rows of a run (symbol NULL: every symbol), in (symbol, seq) or (symbol,
 * ts) order; *out is the caller's to qt_free. */
QT_API int qt_paper_orders_list(qt_storage *s, int64_t run_id, const char *symbol,
                                qt_paper_order_rec **out, size_t *out_n, qt_err *err);
QT_API int qt_paper_trades_list(qt_storage *s, int64_t run_id, const char *symbol,
                                qt_paper_trade_rec **out, size_t *out_n, qt_err *err);
QT_API int qt_paper_pos_list(qt_storage *s, int64_t run_id, qt_paper_pos_rec **out, size_t *out_n,
                             qt_err *err);
QT_API int qt_paper_open_list(qt_storage *s, int64_t run_id, qt_paper_open_rec **out,
                              size_t *out_n, qt_err *err);
QT_API int qt_paper_bars_list(qt_storage *s, int64_t run_id, const char *symbol,
                              qt_paper_bar_rec **out, size_t *out_n, qt_err *err);
QT_API int qt_paper_risk_list(qt_storage *s, int64_t run_id, qt_paper_risk_rec **out,
                              size_t *out_n, qt_err *err);
/* The equity points of a run in bar order (the start first). */
QT_API int qt_paper_equity_list(qt_storage *s, int64_t run_id, qt_paper_equity_rec **out,
                                size_t *out_n, qt_err *err);
/* The parameter sets of a run in seq order (none for a run stored before
 * paper_params existed); *out is the caller's to qt_free. */
QT_API int qt_paper_params_list(qt_storage *s, int64_t run_id, qt_paper_params_rec **out,
                                size_t *out_n, qt_err *err);
/* Every run, newest first; *out is the caller's to qt_free (NULL when none). */
QT_API int qt_paper_runs_list(qt_storage *s, qt_paper_run_rec **out, size_t *out_n, qt_err *err);
/* ==== end paper runner state ==== */

/* ==== tuning_results (src/storage/campaign.c) ====
 * One row per paper campaign (one parameter combination of `qtune
 * campaign`), with the parameter-tuning report's columns; a session id
 * groups the campaigns of one tuning run.  param_set is JSON text on
 * SQLite, JSONB on PostgreSQL. */
typedef struct qt_tuning_result_rec {
  int64_t id;
  char run_id[64];          /* unique: "<session>-<campaign>" */
  char session_id[64];
  int64_t created_ms;
  char param_set[2048];     /* {"name": value, ...} */
  double total_pnl;
  int64_t total_trades, total_entries, total_exits, winning_trades, losing_trades;
  double winrate;           /* 0..1 */
  double avg_pnl_per_trade;
  int64_t campaign_id;      /* the combination's number in the session, from 1 */
  double duration_seconds;
  int test_mode;            /* 1: a replay (not a live feed) */
  char symbols[256];        /* "BTCUSDT,ETHUSDT" */
} qt_tuning_result_rec;

/* Inserts n rows in one transaction; a run_id already stored is QT_ESTATE
 * (nothing of the batch is kept).  created_ms 0: now. */
QT_API int qt_tuning_results_insert(qt_storage *s, const qt_tuning_result_rec *v, size_t n,
                                    qt_err *err);
/* The rows of a session ("" or NULL: all), by campaign_id; *out is the
 * caller's to qt_free. */
QT_API int qt_tuning_results_list(qt_storage *s, const char *session_id,
                                  qt_tuning_result_rec **out, size_t *out_n, qt_err *err);
/* ==== end tuning_results ==== */
/* ==== incremental trial reads (src/storage/trial_seq.c) ====
 * Schema v4 stamps every trial write (insert, state change, params,
 * intermediate values, note; not heartbeats or re-normalized scores) with
 * a per-study sequence number taken in the writer's own transaction
 * (triggers, so no writer of any process skips it); a deletion of trials
 * is stamped too.  A study reads only what changed since its last look. */

/* The trials of the study stamped after after_seq, ordered by number, into
 * *out (qt_malloc'd, free with qt_trial_recs_free; NULL when none), and the
 * study's stamp into *out_seq: pass it as after_seq next time and no write
 * is missed, whoever made it.  after_seq < 0 reads every trial; so does a
 * read after trials were deleted (since after_seq), and then *out_full is 1
 * (the caller replaces its copy rather than merging).  QT_ENOTFOUND when
 * there is no such study; storage errors. */
QT_API int qt_trials_since(qt_storage *s, int64_t study_id, int64_t after_seq, qt_trial_rec **out,
                           size_t *out_n, int64_t *out_seq, int *out_full, qt_err *err);
/* ==== end of incremental trial reads ==== */

#endif
