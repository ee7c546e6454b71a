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
 * index qt_study_counts and trials_list's states_mask). */
#define QT_TRIAL_STATE_LIST(X) \
  X(RUNNING, 0, "running")     \
  X(COMPLETE, 1, "complete")   \
  X(PRUNED, 2, "pruned")       \
  X(FAIL, 3, "fail")
typedef enum qt_trial_state {
#define QT_TRIAL_STATE_ENUM_(name, value, text) QT_TRIAL_##name = value,
  QT_TRIAL_STATE_LIST(QT_TRIAL_STATE_ENUM_)
#undef QT_TRIAL_STATE_ENUM_
  QT_TRIAL_N_STATES
} qt_trial_state;
/* "running", "complete", "pruned", "fail"; "unknown" for any other value.
 * Static text. */
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
  /* Marks running trials whose heartbeat is older than stale_ms as failed. */
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

#endif
