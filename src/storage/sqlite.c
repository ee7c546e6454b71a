/* The SQLite storage backend.  WAL mode and a busy timeout let several
 * processes share one file; writes are short BEGIN IMMEDIATE transactions so
 * a claim never deadlocks on a read-to-write upgrade.  Every statement is
 * prepared once per connection and bound, never formatted. */
#include "qtune/storage.h"
#include "storage/storage_int.h"

#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Schema version in PRAGMA user_version; upgrades run in order from it. */
#define SCHEMA_VERSION 4

static const char *const k_schema_v1 =
    "CREATE TABLE IF NOT EXISTS studies("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " created_at INTEGER NOT NULL,"
    " directions TEXT NOT NULL,"
    " space_json TEXT,"
    " config_json TEXT);"
    "CREATE TABLE IF NOT EXISTS trials("
    " id INTEGER PRIMARY KEY,"
    " study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,"
    " number INTEGER NOT NULL,"
    " state TEXT NOT NULL CHECK(state IN ('running','complete','pruned','fail')),"
    " params_json TEXT,"
    " score REAL,"
    " values_json TEXT,"
    " metrics_json TEXT,"
    " constraint_ok INTEGER,"
    " worker TEXT,"
    " seed INTEGER,"
    " started_at INTEGER,"
    " heartbeat_at INTEGER,"
    " finished_at INTEGER,"
    " error TEXT,"
    " UNIQUE(study_id, number));"
    "CREATE INDEX IF NOT EXISTS trials_study_state ON trials(study_id, state);";

/* v2: the study keeps a high-water mark of trial numbers, so a number freed
 * by cleanup is never handed out again (a reused number replays the same
 * sampler proposals).  Existing studies start after their highest number. */
static const char *const k_schema_v2 =
    "ALTER TABLE studies ADD COLUMN next_number INTEGER NOT NULL DEFAULT 0;"
    "UPDATE studies SET next_number ="
    " (SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE trials.study_id = studies.id);";

/* v3: the pruner's "pruned" is not the strategy's refusal any more: old
 * 'pruned' rows (params rejected by the strategy) become 'rejected'; trials
 * keep their intermediate values, last step and a note, and may wait
 * (enqueued params).  SQLite cannot change a CHECK in place, so the table is
 * rebuilt (the documented 12-step way: new table, copy, drop, rename). */
static const char *const k_schema_v3 =
    "CREATE TABLE trials_v3("
    " id INTEGER PRIMARY KEY,"
    " study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,"
    " number INTEGER NOT NULL,"
    " state TEXT NOT NULL CHECK(state IN"
    "  ('running','complete','rejected','fail','pruned','waiting')),"
    " params_json TEXT,"
    " score REAL,"
    " values_json TEXT,"
    " metrics_json TEXT,"
    " constraint_ok INTEGER,"
    " worker TEXT,"
    " seed INTEGER,"
    " started_at INTEGER,"
    " heartbeat_at INTEGER,"
    " finished_at INTEGER,"
    " error TEXT,"
    " intermediate_json TEXT,"
    " last_step INTEGER,"
    " note TEXT,"
    " UNIQUE(study_id, number));"
    "INSERT INTO trials_v3(id, study_id, number, state, params_json, score, values_json,"
    " metrics_json, constraint_ok, worker, seed, started_at, heartbeat_at, finished_at, error)"
    " SELECT id, study_id, number, CASE state WHEN 'pruned' THEN 'rejected' ELSE state END,"
    " params_json, score, values_json, metrics_json, constraint_ok, worker, seed, started_at,"
    " heartbeat_at, finished_at, error FROM trials;"
    "DROP TABLE trials;"
    "ALTER TABLE trials_v3 RENAME TO trials;"
    "CREATE INDEX trials_study_state ON trials(study_id, state);";

/* v4: a per-study change sequence, so a study reads only the trials that
 * changed since its last look (qt_trials_since).  Triggers bump
 * studies.trial_seq and stamp the row's updated_seq in the writer's own
 * transaction, so no write path (of this or any other process) can skip
 * it; a deletion stamps studies.del_seq (readers then read everything).
 * Score updates (re-normalization) and heartbeats do not count: scores are
 * derived from the immutable metrics. */
#define QT__SEQ_BUMP(ref)                                                                  \
  " UPDATE studies SET trial_seq = trial_seq + 1 WHERE id = " ref ".study_id;"             \
  " UPDATE trials SET updated_seq = (SELECT trial_seq FROM studies WHERE id = " ref        \
  ".study_id) WHERE id = " ref ".id;"
static const char *const k_schema_v4 =
    "ALTER TABLE studies ADD COLUMN trial_seq INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE studies ADD COLUMN del_seq INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE trials ADD COLUMN updated_seq INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX trials_study_seq ON trials(study_id, updated_seq);"
    "CREATE TRIGGER trials_seq_ins AFTER INSERT ON trials BEGIN" QT__SEQ_BUMP("NEW") " END;"
    "CREATE TRIGGER trials_seq_upd AFTER UPDATE OF state, params_json, values_json,"
    " metrics_json, constraint_ok, worker, seed, started_at, finished_at, error,"
    " intermediate_json, last_step, note ON trials BEGIN" QT__SEQ_BUMP("NEW") " END;"
    "CREATE TRIGGER trials_seq_del AFTER DELETE ON trials BEGIN"
    " UPDATE studies SET trial_seq = trial_seq + 1, del_seq = trial_seq + 1"
    " WHERE id = OLD.study_id; END;";

enum {
  S_STUDY_INSERT, S_STUDY_BY_NAME, S_STUDY_LIST, S_STUDY_DELETE, S_TRIALS_DELETE_STUDY,
  S_NEXT_NUMBER, S_TRIAL_INSERT, S_TRIAL_PARAMS, S_TRIAL_STATE, S_TRIAL_FINISH, S_TRIALS_LIST,
  S_HEARTBEAT, S_RECOVER, S_DELETE_BELOW, S_DELETE_ABOVE, S_SET_SCORE, S_SET_CONFIG, S_BEGIN, S_COMMIT,
  S_ROLLBACK, S_SET_INTERMEDIATE, S_ENQUEUE, S_FIRST_WAITING, S_TAKE_WAITING, S_SET_NOTE,
  S_RETRY, S_COUNT
};

static const char *const k_sql[S_COUNT] = {
    [S_STUDY_INSERT] = "INSERT INTO studies(name, created_at, directions, space_json, config_json)"
                       " VALUES(?1, ?2, ?3, ?4, ?5)",
    [S_STUDY_BY_NAME] = "SELECT id, name, created_at, directions, space_json, config_json"
                        " FROM studies WHERE name = ?1",
    [S_STUDY_LIST] = "SELECT id, name, created_at, directions, space_json, config_json"
                     " FROM studies ORDER BY created_at DESC, id DESC",
    [S_STUDY_DELETE] = "DELETE FROM studies WHERE id = ?1",
    [S_TRIALS_DELETE_STUDY] = "DELETE FROM trials WHERE study_id = ?1",
    [S_NEXT_NUMBER] = "UPDATE studies SET next_number = next_number + 1 WHERE id = ?1"
                      " RETURNING next_number - 1",
    [S_TRIAL_INSERT] = "INSERT INTO trials(study_id, number, state, params_json, worker, seed,"
                       " started_at, heartbeat_at) VALUES(?1, ?2, 'running', ?3, ?4, ?5, ?6, ?6)",
    [S_TRIAL_PARAMS] = "UPDATE trials SET params_json = ?2 WHERE id = ?1 AND state = 'running'",
    [S_TRIAL_STATE] = "SELECT state FROM trials WHERE id = ?1",
    [S_TRIAL_FINISH] = "UPDATE trials SET state = ?2, score = ?3, values_json = ?4,"
                       " metrics_json = ?5, constraint_ok = ?6, error = ?7, finished_at = ?8,"
                       " heartbeat_at = ?8 WHERE id = ?1 AND state = 'running'",
    [S_TRIALS_LIST] = "SELECT id, study_id, number, state, params_json, score, values_json,"
                      " metrics_json, constraint_ok, worker, seed, started_at, heartbeat_at,"
                      " finished_at, error, intermediate_json, last_step, note"
                      " FROM trials WHERE study_id = ?1 ORDER BY number",
    [S_HEARTBEAT] = "UPDATE trials SET heartbeat_at = ?2 WHERE id = ?1 AND state = 'running'",
    [S_RECOVER] = "UPDATE trials SET state = 'fail', finished_at = ?3,"
                  " error = 'stale: no heartbeat within the lease (worker died, paused or cut off?)'"
                  " WHERE study_id = ?1 AND state = 'running' AND heartbeat_at < ?2"
                  " RETURNING number, params_json, seed, note",
    [S_DELETE_BELOW] = "DELETE FROM trials WHERE study_id = ?1 AND state <> 'running'"
                       " AND score IS NOT NULL AND score < ?2",
    [S_DELETE_ABOVE] = "DELETE FROM trials WHERE study_id = ?1 AND state <> 'running'"
                       " AND score IS NOT NULL AND score > ?2",
    [S_SET_SCORE] = "UPDATE trials SET score = ?2 WHERE id = ?1 AND state <> 'running'",
    [S_SET_CONFIG] = "UPDATE studies SET config_json = ?2 WHERE id = ?1",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SET_INTERMEDIATE] = "UPDATE trials SET intermediate_json = ?2, last_step = ?3"
                           " WHERE id = ?1 AND state = 'running'",
    [S_ENQUEUE] = "INSERT INTO trials(study_id, number, state, params_json, seed)"
                  " VALUES(?1, ?2, 'waiting', ?3, ?4)",
    [S_FIRST_WAITING] = "SELECT id, number, params_json FROM trials"
                        " WHERE study_id = ?1 AND state = 'waiting' ORDER BY number LIMIT 1",
    [S_TAKE_WAITING] = "UPDATE trials SET state = 'running', worker = ?2, started_at = ?3,"
                       " heartbeat_at = ?3 WHERE id = ?1 AND state = 'waiting'",
    [S_SET_NOTE] = "UPDATE trials SET note = ?3 WHERE study_id = ?1 AND number = ?2",
    [S_RETRY] = "INSERT INTO trials(study_id, number, state, params_json, seed, note)"
                " VALUES(?1, ?2, 'waiting', ?3, ?4, ?5)",
};

typedef struct sq {
  sqlite3 *db;
  char path[1024];
  sqlite3_stmt *st[S_COUNT];
  pthread_mutex_t mu; /* one caller at a time: statements are shared */
  struct {
    char *sql;
    sqlite3_stmt *st;
  } xs[96]; /* the concept tables' statements (sql.c), by text */
  int n_xs;
  const void *marks[32]; /* schema scripts run on this connection */
  int n_marks;
} sq;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int db_err(sq *s, qt_err *err, const char *what) {
  return qt_err_set(err, QT_ESTORE, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static sqlite3_stmt *prep(sq *s, int k) {
  sqlite3_stmt *st = s->st[k];
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v) {
  if (v) sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(st, i);
}

static int run_simple(sq *s, int k, qt_err *err) {
  sqlite3_stmt *st = prep(s, k);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? QT_OK : db_err(s, err, k_sql[k]);
}

static int begin(sq *s, qt_err *err) { return run_simple(s, S_BEGIN, err); }
static int commit(sq *s, qt_err *err) { return run_simple(s, S_COMMIT, err); }
static void rollback(sq *s) {
  if (!sqlite3_get_autocommit(s->db)) run_simple(s, S_ROLLBACK, NULL);
}

static void sq_close(void *self) {
  sq *s = self;
  if (!s) return;
  for (int k = 0; k < S_COUNT; k++) sqlite3_finalize(s->st[k]);
  for (int k = 0; k < s->n_xs; k++) {
    sqlite3_finalize(s->xs[k].st);
    qt_free(s->xs[k].sql);
  }
  sqlite3_close(s->db);
  pthread_mutex_destroy(&s->mu);
  qt_free(s);
}

static int schema_version(sq *s, int *out, qt_err *err) {
  sqlite3_stmt *st = NULL;
  *out = 0;
  if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
    return db_err(s, err, "reading the schema version");
  if (sqlite3_step(st) == SQLITE_ROW) *out = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return QT_OK;
}

static int upgrade(sq *s, qt_err *err) {
  int ver = 0;
  if (schema_version(s, &ver, err)) return QT_ESTORE;
  if (ver > SCHEMA_VERSION)
    return qt_err_set(err, QT_ESTORE,
                      "%s: schema version %d is newer than this qtune understands (%d)", s->path,
                      ver, SCHEMA_VERSION);
  if (ver == SCHEMA_VERSION) return QT_OK;
  /* Upgrades are whole scripts run in one exclusive transaction.  The
   * version is read again inside it: another connection that opened the
   * same new file at the same time may have upgraded it while this one
   * waited for the lock (its scripts run twice would fail). */
  char *msg = NULL;
  if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) goto fail;
  if (schema_version(s, &ver, NULL)) goto fail;
  if (ver >= SCHEMA_VERSION) {
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) goto fail;
    return ver == SCHEMA_VERSION
               ? QT_OK
               : qt_err_set(err, QT_ESTORE, "%s: schema version %d is newer than this qtune "
                            "understands (%d)", s->path, ver, SCHEMA_VERSION);
  }
  if (ver < 1 && sqlite3_exec(s->db, k_schema_v1, NULL, NULL, &msg) != SQLITE_OK) goto fail;
  if (ver < 2 && sqlite3_exec(s->db, k_schema_v2, NULL, NULL, &msg) != SQLITE_OK) goto fail;
  if (ver < 3 && sqlite3_exec(s->db, k_schema_v3, NULL, NULL, &msg) != SQLITE_OK) goto fail;
  if (ver < 4 && sqlite3_exec(s->db, k_schema_v4, NULL, NULL, &msg) != SQLITE_OK) goto fail;
  if (sqlite3_exec(s->db, "PRAGMA user_version = 4", NULL, NULL, &msg) != SQLITE_OK) goto fail;
  if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) goto fail;
  return QT_OK;
fail:
  qt_err_set(err, QT_ESTORE, "%s: creating the schema: %s", s->path,
             msg ? msg : sqlite3_errmsg(s->db));
  sqlite3_free(msg);
  if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  return QT_ESTORE;
}

static int sq_open(const char *url, void **out_self, qt_err *err) {
  *out_self = NULL;
  sq *s = qt_calloc(1, sizeof *s);
  if (!s) return qt_err_set(err, QT_ENOMEM, "out of memory opening %s", url);
  pthread_mutex_init(&s->mu, NULL);
  if (qt_storage_sqlite_path(url, s->path, sizeof s->path, err)) goto fail;
  if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
      SQLITE_OK) {
    qt_err_set(err, QT_ESTORE, "%s: cannot open: %s", s->path,
               s->db ? sqlite3_errmsg(s->db) : "out of memory");
    goto fail;
  }
  /* Another process holding the write lock is waited for as long as a lost
   * PostgreSQL connection is retried: QTUNE_STORAGE_RETRY_S (default 120). */
  const char *rw = getenv("QTUNE_STORAGE_RETRY_S");
  double wait_s = rw && *rw ? atof(rw) : 120;
  sqlite3_busy_timeout(s->db, wait_s >= 0 && wait_s < 86400 ? (int)(wait_s * 1000) : 120000);
  char *msg = NULL;
  if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                          " PRAGMA foreign_keys=ON;",
                   NULL, NULL, &msg) != SQLITE_OK) {
    qt_err_set(err, QT_ESTORE, "%s: not a usable SQLite database: %s", s->path,
               msg ? msg : "?");
    sqlite3_free(msg);
    goto fail;
  }
  if (upgrade(s, err)) goto fail;
  for (int k = 0; k < S_COUNT; k++)
    if (sqlite3_prepare_v3(s->db, k_sql[k], -1, SQLITE_PREPARE_PERSISTENT, &s->st[k], NULL) !=
        SQLITE_OK) {
      db_err(s, err, "preparing statements");
      goto fail;
    }
  *out_self = s;
  return QT_OK;
fail:
  sq_close(s);
  return err ? err->code : QT_ESTORE;
}

static char *col_dup(sqlite3_stmt *st, int c) {
  const unsigned char *t = sqlite3_column_text(st, c);
  return t ? qt_strdup((const char *)t) : NULL;
}

/* Copies a study row; QT_ENOMEM when a string cannot be copied. */
static int read_study(sqlite3_stmt *st, void *rec) {
  qt_study_rec *out = rec;
  memset(out, 0, sizeof *out);
  out->id = sqlite3_column_int64(st, 0);
  snprintf(out->name, sizeof out->name, "%s", (const char *)sqlite3_column_text(st, 1));
  out->created_ms = sqlite3_column_int64(st, 2);
  out->directions = col_dup(st, 3);
  out->space_json = col_dup(st, 4);
  out->config_json = col_dup(st, 5);
  if (!out->directions || (!out->space_json && sqlite3_column_type(st, 4) != SQLITE_NULL) ||
      (!out->config_json && sqlite3_column_type(st, 5) != SQLITE_NULL)) {
    qt_study_rec_fini(out);
    return QT_ENOMEM;
  }
  return QT_OK;
}

static int load_locked(sq *s, const char *name, qt_study_rec *out, qt_err *err) {
  sqlite3_stmt *st = prep(s, S_STUDY_BY_NAME);
  bind_text(st, 1, name);
  int rc = sqlite3_step(st);
  int r;
  if (rc == SQLITE_ROW) {
    r = read_study(st, out);
    if (r) qt_err_set(err, r, "out of memory reading study '%s'", name);
  } else if (rc == SQLITE_DONE) {
    r = qt_err_set(err, QT_ENOTFOUND, "%s: no study named '%s'", s->path, name);
  } else {
    r = db_err(s, err, "loading a study");
  }
  sqlite3_reset(st);
  return r;
}

static int sq_study_create(void *self, const char *name, const char *directions,
                           const char *space_json, const char *config_json, qt_study_rec *out,
                           int *out_created, qt_err *err) {
  sq *s = self;
  memset(out, 0, sizeof *out);
  *out_created = 0;
  if (!name || !*name || strlen(name) >= sizeof out->name)
    return qt_err_set(err, QT_EINVAL, "study name must be 1 to %zu characters",
                      sizeof out->name - 1);
  pthread_mutex_lock(&s->mu);
  int r = begin(s, err);
  if (r) goto done;
  sqlite3_stmt *st = prep(s, S_STUDY_BY_NAME);
  bind_text(st, 1, name);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc == SQLITE_DONE) {
    st = prep(s, S_STUDY_INSERT);
    bind_text(st, 1, name);
    sqlite3_bind_int64(st, 2, now_ms());
    bind_text(st, 3, directions ? directions : "[\"maximize\"]");
    bind_text(st, 4, space_json);
    bind_text(st, 5, config_json);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
      r = db_err(s, err, "creating a study");
      goto done;
    }
    *out_created = 1;
  } else if (rc != SQLITE_ROW) {
    r = db_err(s, err, "looking up a study");
    goto done;
  }
  r = commit(s, err);
  if (!r) r = load_locked(s, name, out, err);
done:
  if (r) rollback(s);
  pthread_mutex_unlock(&s->mu);
  return r;
}

static int sq_study_load(void *self, const char *name, qt_study_rec *out, qt_err *err) {
  sq *s = self;
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&s->mu);
  int r = load_locked(s, name, out, err);
  pthread_mutex_unlock(&s->mu);
  return r;
}

/* Steps st (bound; the lock held) into a growing array of elem-sized
 * records, the first allocation `first` of them: keep (may be NULL) passes
 * a row over when it says 0; read fills one (non-zero: out of memory, the
 * record not kept).  What was read stays in *v, *n on failure too, for the
 * caller to release; st is reset. */
static int step_rows(sq *s, sqlite3_stmt *st, size_t elem, size_t first,
                     int (*keep)(sqlite3_stmt *st, const void *ctx), const void *keep_ctx,
                     int (*read)(sqlite3_stmt *st, void *rec), const char *what, void **v,
                     size_t *n, qt_err *err) {
  size_t cap = 0;
  int r = QT_OK, rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (keep && !keep(st, keep_ctx)) continue;
    if (*n == cap) {
      size_t nc = cap ? cap * 2 : first;
      char *g = qt_realloc(*v, nc * elem);
      if (!g) {
        r = qt_err_set(err, QT_ENOMEM, "out of memory listing %s", what);
        break;
      }
      *v = g;
      cap = nc;
    }
    if (read(st, (char *)*v + *n * elem)) {
      r = qt_err_set(err, QT_ENOMEM, "out of memory listing %s", what);
      break;
    }
    ++*n;
  }
  if (!r && rc != SQLITE_DONE) {
    char ctx[64];
    snprintf(ctx, sizeof ctx, "listing %s", what);
    r = db_err(s, err, ctx);
  }
  sqlite3_reset(st);
  return r;
}

static int sq_study_list(void *self, qt_study_rec **out, size_t *out_n, qt_err *err) {
  sq *s = self;
  *out = NULL;
  *out_n = 0;
  size_t n = 0;
  qt_study_rec *v = NULL;
  pthread_mutex_lock(&s->mu);
  int r = step_rows(s, prep(s, S_STUDY_LIST), sizeof *v, 8, NULL, NULL, read_study, "studies",
                    (void **)&v, &n, err);
  pthread_mutex_unlock(&s->mu);
  if (r) {
    for (size_t i = 0; i < n; i++) qt_study_rec_fini(&v[i]);
    qt_free(v);
    return r;
  }
  *out = v;
  *out_n = n;
  return QT_OK;
}

static int exec_id(sq *s, int k, int64_t id, qt_err *err) {
  sqlite3_stmt *st = prep(s, k);
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? QT_OK : db_err(s, err, k_sql[k]);
}

static int sq_study_delete(void *self, int64_t study_id, qt_err *err) {
  sq *s = self;
  pthread_mutex_lock(&s->mu);
  int r = begin(s, err);
  if (!r) r = exec_id(s, S_TRIALS_DELETE_STUDY, study_id, err);
  if (!r) r = exec_id(s, S_STUDY_DELETE, study_id, err);
  if (!r) r = commit(s, err);
  if (r) rollback(s);
  pthread_mutex_unlock(&s->mu);
  return r;
}

/* Takes the study's next trial number (inside the caller's transaction). */
static int take_number(sq *s, int64_t study_id, int64_t *out, qt_err *err) {
  sqlite3_stmt *st = prep(s, S_NEXT_NUMBER);
  sqlite3_bind_int64(st, 1, study_id);
  int rc = sqlite3_step(st);
  *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_reset(st);
  if (rc == SQLITE_ROW) return QT_OK;
  return rc == SQLITE_DONE
             ? qt_err_set(err, QT_ENOTFOUND, "%s: no study with id %lld", s->path, (long long)study_id)
             : db_err(s, err, "numbering a trial");
}

static int sq_trial_claim(void *self, int64_t study_id, const char *params_json,
                          const char *worker, int64_t seed, int64_t *out_trial_id,
                          int64_t *out_number, qt_err *err) {
  sq *s = self;
  *out_trial_id = 0;
  *out_number = -1;
  pthread_mutex_lock(&s->mu);
  /* BEGIN IMMEDIATE takes the write lock first, so two processes never
   * take the same mark. */
  int r = begin(s, err);
  if (r) goto done;
  int64_t number;
  if ((r = take_number(s, study_id, &number, err)) != QT_OK) goto done;
  sqlite3_stmt *st;
  st = prep(s, S_TRIAL_INSERT);
  sqlite3_bind_int64(st, 1, study_id);
  sqlite3_bind_int64(st, 2, number);
  bind_text(st, 3, params_json);
  bind_text(st, 4, worker);
  sqlite3_bind_int64(st, 5, seed);
  sqlite3_bind_int64(st, 6, now_ms());
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    r = db_err(s, err, "claiming a trial");
    goto done;
  }
  int64_t id = sqlite3_last_insert_rowid(s->db);
  r = commit(s, err);
  if (!r) {
    *out_trial_id = id;
    *out_number = number;
  }
done:
  if (r) rollback(s);
  pthread_mutex_unlock(&s->mu);
  return r;
}

/* QT_OK when the trial is running, QT_ESTATE when finished, ENOTFOUND. */
static int check_running(sq *s, int64_t trial_id, qt_err *err) {
  sqlite3_stmt *st = prep(s, S_TRIAL_STATE);
  sqlite3_bind_int64(st, 1, trial_id);
  int rc = sqlite3_step(st);
  int r = QT_OK;
  if (rc == SQLITE_DONE) r = qt_err_set(err, QT_ENOTFOUND, "no trial with id %lld", (long long)trial_id);
  else if (rc != SQLITE_ROW) r = db_err(s, err, "reading a trial");
  else if (strcmp((const char *)sqlite3_column_text(st, 0), qt_trial_state_name(QT_TRIAL_RUNNING)) != 0)
    r = qt_err_set(err, QT_ESTATE, "trial %lld is already finished (%s); finished trials are immutable",
                   (long long)trial_id, (const char *)sqlite3_column_text(st, 0));
  sqlite3_reset(st);
  return r;
}

static int sq_trial_set_params(void *self, int64_t trial_id, const char *params_json,
                               qt_err *err) {
  sq *s = self;
  pthread_mutex_lock(&s->mu);
  int r = begin(s, err);
  if (!r) r = check_running(s, trial_id, err);
  if (!r) {
    sqlite3_stmt *st = prep(s, S_TRIAL_PARAMS);
    sqlite3_bind_int64(st, 1, trial_id);
    bind_text(st, 2, params_json);
    if (sqlite3_step(st) != SQLITE_DONE) r = db_err(s, err, "setting trial params");
    sqlite3_reset(st);
  }
  if (!r) r = commit(s, err);
  if (r) rollback(s);
  pthread_mutex_unlock(&s->mu);
  return r;
}

static int sq_trial_finish(void *self, int64_t trial_id, int state, double score,
                           const char *values_json, const char *metrics_json, int constraint_ok,
                           const char *error, qt_err *err) {
  sq *s = self;
  if (state <= QT_TRIAL_RUNNING || state >= QT_TRIAL_WAITING)
    return qt_err_set(err, QT_EINVAL,
                      "finishing a trial needs state complete, rejected, fail or pruned");
  pthread_mutex_lock(&s->mu);
  int r = begin(s, err);
  if (!r) r = check_running(s, trial_id, err);
  if (!r) {
    sqlite3_stmt *st = prep(s, S_TRIAL_FINISH);
    sqlite3_bind_int64(st, 1, trial_id);
    bind_text(st, 2, qt_trial_state_name(state));
    /* NULL: no score; a rejected (infeasible) trial's -inf is stored as -Inf */
    if (!isnan(score)) sqlite3_bind_double(st, 3, score);
    else sqlite3_bind_null(st, 3);
    bind_text(st, 4, values_json);
    bind_text(st, 5, metrics_json);
    if (constraint_ok >= 0) sqlite3_bind_int(st, 6, constraint_ok);
    else sqlite3_bind_null(st, 6);
    bind_text(st, 7, error);
    sqlite3_bind_int64(st, 8, now_ms());
    if (sqlite3_step(st) != SQLITE_DONE) r = db_err(s, err, "finishing a trial");
    sqlite3_reset(st);
  }
  if (!r) r = commit(s, err);
  if (r) rollback(s);
  pthread_mutex_unlock(&s->mu);
  return r;
}

/* An unknown stored state reads as failed, so it is never resumed or ranked. */
static int parse_state(const char *t) {
  int k;
  qt_trial_state_from_name(t, &k, NULL);
  return k;
}

static int read_trial(sqlite3_stmt *st, void *rec) {
  qt_trial_rec *t = rec;
  memset(t, 0, sizeof *t);
  t->id = sqlite3_column_int64(st, 0);
  t->study_id = sqlite3_column_int64(st, 1);
  t->number = sqlite3_column_int64(st, 2);
  t->state = parse_state((const char *)sqlite3_column_text(st, 3));
  t->score = sqlite3_column_type(st, 5) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 5);
  t->constraint_ok = sqlite3_column_type(st, 8) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 8);
  const unsigned char *w = sqlite3_column_text(st, 9);
  snprintf(t->worker, sizeof t->worker, "%s", w ? (const char *)w : "");
  t->seed = sqlite3_column_int64(st, 10);
  t->started_ms = sqlite3_column_int64(st, 11);
  t->heartbeat_ms = sqlite3_column_int64(st, 12);
  t->finished_ms = sqlite3_column_int64(st, 13);
  t->last_step = sqlite3_column_type(st, 16) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 16);
  static const int cols[] = {4, 6, 7, 14, 15, 17};
  char **dst[] = {&t->params_json, &t->values_json, &t->metrics_json, &t->error,
                  &t->intermediate_json, &t->note};
  for (int k = 0; k < 6; k++) {
    if (sqlite3_column_type(st, cols[k]) == SQLITE_NULL) continue;
    *dst[k] = col_dup(st, cols[k]);
    if (!*dst[k]) {
      qt_trial_rec_fini(t);
      return QT_ENOMEM;
    }
  }
  return QT_OK;
}

/* step_rows' keep for a trials list: the state (column 3) is in the mask. */
static int state_in_mask(sqlite3_stmt *st, const void *ctx) {
  unsigned mask = *(const unsigned *)ctx;
  return !mask || (mask & (1u << parse_state((const char *)sqlite3_column_text(st, 3))));
}

static int sq_trials_list(void *self, int64_t study_id, unsigned states_mask,
                          qt_trial_rec **out, size_t *out_n, qt_err *err) {
  sq *s = self;
  *out = NULL;
  *out_n = 0;
  size_t n = 0;
  qt_trial_rec *v = NULL;
  pthread_mutex_lock(&s->mu);
  sqlite3_stmt *st = prep(s, S_TRIALS_LIST);
  sqlite3_bind_int64(st, 1, study_id);
  int r = step_rows(s, st, sizeof *v, 64, state_in_mask, &states_mask, read_trial, "trials",
                    (void **)&v, &n, err);
  pthread_mutex_unlock(&s->mu);
  if (r) {
    qt_trial_recs_free(v, n);
    return r;
  }
  *out = v;
  *out_n = n;
  return QT_OK;
}

static int sq_heartbeat(void *self, int64_t trial_id, qt_err *err) {
  sq *s = self;
  pthread_mutex_lock(&s->mu);
  sqlite3_stmt *st = prep(s, S_HEARTBEAT);
  sqlite3_bind_int64(st, 1, trial_id);
  sqlite3_bind_int64(st, 2, now_ms());
  int r = sqlite3_step(st) == SQLITE_DONE ? QT_OK : db_err(s, err, "heartbeat");
  sqlite3_reset(st);
  pthread_mutex_unlock(&s->mu);
  return r;
}

/* A recovered trial's params run again once, as a waiting trial noted
 * "retry of trial N" (a retry that goes stale too is not retried again). */
#define RETRY_NOTE "retry of trial "

typedef struct stale_row {
  int64_t number, seed;
  char *params;
} stale_row;

static int sq_recover_stale(void *self, int64_t study_id, int64_t stale_ms, size_t *out_n,
                            qt_err *err) {
  sq *s = self;
  *out_n = 0;
  stale_row *rows = NULL;
  size_t n = 0, cap = 0;
  pthread_mutex_lock(&s->mu);
  int r = begin(s, err);
  if (!r) {
    int64_t now = now_ms();
    sqlite3_stmt *st = prep(s, S_RECOVER);
    sqlite3_bind_int64(st, 1, study_id);
    sqlite3_bind_int64(st, 2, now - stale_ms);
    sqlite3_bind_int64(st, 3, now);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      ++*out_n;
      const char *note = (const char *)sqlite3_column_text(st, 3);
      if (note && !strncmp(note, RETRY_NOTE, strlen(RETRY_NOTE))) continue;
      if (n == cap) {
        size_t nc = cap ? cap * 2 : 8;
        stale_row *g = qt_realloc(rows, nc * sizeof *g);
        if (!g) {
          r = qt_err_set(err, QT_ENOMEM, "%s: out of memory recovering trials", s->path);
          break;
        }
        rows = g;
        cap = nc;
      }
      const char *pj = (const char *)sqlite3_column_text(st, 1);
      rows[n].number = sqlite3_column_int64(st, 0);
      rows[n].seed = sqlite3_column_int64(st, 2);
      rows[n].params = pj ? qt_strdup(pj) : NULL;
      if (pj && !rows[n].params) {
        r = qt_err_set(err, QT_ENOMEM, "%s: out of memory recovering trials", s->path);
        break;
      }
      n++;
    }
    if (!r && rc != SQLITE_DONE) r = db_err(s, err, "recovering stale trials");
    sqlite3_reset(st);
  }
  for (size_t k = 0; k < n && !r; k++) {
    int64_t number;
    if ((r = take_number(s, study_id, &number, err)) != QT_OK) break;
    sqlite3_stmt *st;
    char note[64];
    snprintf(note, sizeof note, RETRY_NOTE "%lld", (long long)rows[k].number);
    st = prep(s, S_RETRY);
    sqlite3_bind_int64(st, 1, study_id);
    sqlite3_bind_int64(st, 2, number);
    bind_text(st, 3, rows[k].params);
    sqlite3_bind_int64(st, 4, rows[k].seed);
    bind_text(st, 5, note);
    if (sqlite3_step(st) != SQLITE_DONE) r = db_err(s, err, "enqueueing a retry");
    sqlite3_reset(st);
  }
  if (!r) r = commit(s, err);
  if (r) {
    rollback(s);
    *out_n = 0;
  }
  pthread_mutex_unlock(&s->mu);
  for (size_t k = 0; k < n; k++) qt_free(rows[k].params);
  qt_free(rows);
  return r;
}

static int sq_trials_delete_worse(void *self, int64_t study_id, double threshold, int minimize,
                                  size_t *out_n, qt_err *err) {
  sq *s = self;
  *out_n = 0;
  pthread_mutex_lock(&s->mu);
  int r = begin(s, err);
  if (!r) {
    sqlite3_stmt *st = prep(s, minimize ? S_DELETE_ABOVE : S_DELETE_BELOW);
    sqlite3_bind_int64(st, 1, study_id);
    sqlite3_bind_double(st, 2, threshold);
    if (sqlite3_step(st) != SQLITE_DONE) r = db_err(s, err, "deleting trials");
    else *out_n = (size_t)sqlite3_changes(s->db);
    sqlite3_reset(st);
  }
  if (!r) r = commit(s, err);
  if (r) {
    rollback(s);
    *out_n = 0;
  }
  pthread_mutex_unlock(&s->mu);
  return r;
}

static int sq_trials_set_scores(void *self, const int64_t *ids, const double *scores, size_t n,
                                qt_err *err) {
  sq *s = self;
  pthread_mutex_lock(&s->mu);
  int r = begin(s, err);
  for (size_t i = 0; !r && i < n; i++) {
    sqlite3_stmt *st = prep(s, S_SET_SCORE);
    sqlite3_bind_int64(st, 1, ids[i]);
    if (!isnan(scores[i])) sqlite3_bind_double(st, 2, scores[i]);
    else sqlite3_bind_null(st, 2);
    if (sqlite3_step(st) != SQLITE_DONE) r = db_err(s, err, "updating scores");
    sqlite3_reset(st);
  }
  if (!r) r = commit(s, err);
  if (r) rollback(s);
  pthread_mutex_unlock(&s->mu);
  return r;
}

static int sq_study_set_config(void *self, int64_t study_id, const char *config_json,
                               qt_err *err) {
  sq *s = self;
  pthread_mutex_lock(&s->mu);
  int r = begin(s, err);
  if (!r) {
    sqlite3_stmt *st = prep(s, S_SET_CONFIG);
    sqlite3_bind_int64(st, 1, study_id);
    bind_text(st, 2, config_json);
    if (sqlite3_step(st) != SQLITE_DONE) r = db_err(s, err, "updating a study's config");
    else if (sqlite3_changes(s->db) == 0)
      r = qt_err_set(err, QT_ENOTFOUND, "%s: no such study (id %lld)", s->path,
                     (long long)study_id);
    sqlite3_reset(st);
  }
  if (!r) r = commit(s, err);
  if (r) rollback(s);
  pthread_mutex_unlock(&s->mu);
  return r;
}

static int sq_trial_set_intermediate(void *self, int64_t trial_id, const char *ij,
                                     int64_t last_step, qt_err *err) {
  sq *s = self;
  pthread_mutex_lock(&s->mu);
  int r = begin(s, err);
  if (!r) r = check_running(s, trial_id, err);
  if (!r) {
    sqlite3_stmt *st = prep(s, S_SET_INTERMEDIATE);
    sqlite3_bind_int64(st, 1, trial_id);
    bind_text(st, 2, ij);
    if (last_step >= 0) sqlite3_bind_int64(st, 3, last_step);
    else sqlite3_bind_null(st, 3);
    if (sqlite3_step(st) != SQLITE_DONE) r = db_err(s, err, "storing intermediate values");
    sqlite3_reset(st);
  }
  if (!r) r = commit(s, err);
  if (r) rollback(s);
  pthread_mutex_unlock(&s->mu);
  return r;
}

static int sq_trial_enqueue(void *self, int64_t study_id, const char *params_json,
                            int64_t seed, int64_t *out_trial_id, int64_t *out_number,
                            qt_err *err) {
  sq *s = self;
  *out_trial_id = 0;
  *out_number = -1;
  pthread_mutex_lock(&s->mu);
  int r = begin(s, err);
  if (r) goto done;
  int64_t number;
  if ((r = take_number(s, study_id, &number, err)) != QT_OK) goto done;
  sqlite3_stmt *st;
  st = prep(s, S_ENQUEUE);
  sqlite3_bind_int64(st, 1, study_id);
  sqlite3_bind_int64(st, 2, number);
  bind_text(st, 3, params_json);
  sqlite3_bind_int64(st, 4, seed);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    r = db_err(s, err, "enqueueing a trial");
    goto done;
  }
  int64_t id = sqlite3_last_insert_rowid(s->db);
  r = commit(s, err);
  if (!r) {
    *out_trial_id = id;
    *out_number = number;
  }
done:
  if (r) rollback(s);
  pthread_mutex_unlock(&s->mu);
  return r;
}

static int sq_trial_claim_waiting(void *self, int64_t study_id, const char *worker,
                                  int64_t *out_trial_id, int64_t *out_number, char **out_params,
                                  qt_err *err) {
  sq *s = self;
  *out_trial_id = 0;
  *out_number = -1;
  *out_params = NULL;
  pthread_mutex_lock(&s->mu);
  /* BEGIN IMMEDIATE: the select and the update see no other writer */
  int r = begin(s, err);
  if (r) goto done;
  sqlite3_stmt *st = prep(s, S_FIRST_WAITING);
  sqlite3_bind_int64(st, 1, study_id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    sqlite3_reset(st);
    r = commit(s, err);
    if (!r) r = QT_DONE;
    goto done;
  }
  if (rc != SQLITE_ROW) {
    r = db_err(s, err, "looking for waiting trials");
    sqlite3_reset(st);
    goto done;
  }
  int64_t id = sqlite3_column_int64(st, 0), number = sqlite3_column_int64(st, 1);
  char *pj = col_dup(st, 2);
  sqlite3_reset(st);
  if (!pj) {
    r = qt_err_set(err, QT_ENOMEM, "out of memory claiming a waiting trial");
    goto done;
  }
  st = prep(s, S_TAKE_WAITING);
  sqlite3_bind_int64(st, 1, id);
  bind_text(st, 2, worker);
  sqlite3_bind_int64(st, 3, now_ms());
  rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) r = db_err(s, err, "claiming a waiting trial");
  if (!r) r = commit(s, err);
  if (r) {
    qt_free(pj);
    goto done;
  }
  *out_trial_id = id;
  *out_number = number;
  *out_params = pj;
done:
  if (r && r != QT_DONE) rollback(s);
  pthread_mutex_unlock(&s->mu);
  return r;
}

static int sq_trial_set_note(void *self, int64_t study_id, int64_t number, const char *note,
                             qt_err *err) {
  sq *s = self;
  pthread_mutex_lock(&s->mu);
  int r = begin(s, err);
  if (!r) {
    sqlite3_stmt *st = prep(s, S_SET_NOTE);
    sqlite3_bind_int64(st, 1, study_id);
    sqlite3_bind_int64(st, 2, number);
    bind_text(st, 3, note);
    if (sqlite3_step(st) != SQLITE_DONE) r = db_err(s, err, "setting a note");
    else if (sqlite3_changes(s->db) == 0)
      r = qt_err_set(err, QT_ENOTFOUND, "%s: the study has no trial %lld", s->path,
                     (long long)number);
    sqlite3_reset(st);
  }
  if (!r) r = commit(s, err);
  if (r) rollback(s);
  pthread_mutex_unlock(&s->mu);
  return r;
}

const qt_storage_vtbl qt_storage_sqlite = {
    .abi = QT_STORAGE_ABI,
    .scheme = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .study_create = sq_study_create,
    .study_load = sq_study_load,
    .study_list = sq_study_list,
    .study_delete = sq_study_delete,
    .trial_claim = sq_trial_claim,
    .trial_set_params = sq_trial_set_params,
    .trial_finish = sq_trial_finish,
    .trials_list = sq_trials_list,
    .heartbeat = sq_heartbeat,
    .recover_stale = sq_recover_stale,
    .trials_delete_worse = sq_trials_delete_worse,
    .trials_set_scores = sq_trials_set_scores,
    .study_set_config = sq_study_set_config,
    .trial_set_intermediate = sq_trial_set_intermediate,
    .trial_enqueue = sq_trial_enqueue,
    .trial_claim_waiting = sq_trial_claim_waiting,
    .trial_set_note = sq_trial_set_note,
};

/* ---- qt__sql_ops: the concept tables' statements (see sql.c) ---- */

static void sqx_lock(void *self) { pthread_mutex_lock(&((sq *)self)->mu); }
static void sqx_unlock(void *self) { pthread_mutex_unlock(&((sq *)self)->mu); }

static int sqx_err(sq *s, qt_err *err, const char *sql) {
  return qt_err_set(err, QT_ESTORE, "%s: %.48s%s: %s", s->path, sql, strlen(sql) > 48 ? "..." : "",
                    sqlite3_errmsg(s->db));
}

static sqlite3_stmt *sqx_stmt(sq *s, const char *sql, int *cached, qt_err *err) {
  for (int k = 0; k < s->n_xs; k++)
    if (strcmp(s->xs[k].sql, sql) == 0) {
      *cached = 1;
      return s->xs[k].st;
    }
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
    sqx_err(s, err, sql);
    return NULL;
  }
  char *copy = s->n_xs < (int)(sizeof s->xs / sizeof s->xs[0]) ? qt_strdup(sql) : NULL;
  *cached = copy != NULL;
  if (copy) {
    s->xs[s->n_xs].sql = copy;
    s->xs[s->n_xs++].st = st;
  }
  return st;
}

static int sqx_exec(void *self, const char *sql, const qt__sql_arg *args, int nargs,
                    unsigned flags, qt__sql_row_fn fn, void *ctx, int64_t *out_changes,
                    qt_err *err) {
  sq *s = self;
  int cached = 0;
  sqlite3_stmt *st = sqx_stmt(s, sql, &cached, err);
  if (!st) return QT_ESTORE;
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  for (int k = 0; k < nargs; k++) {
    char name[16];
    snprintf(name, sizeof name, "$%d", k + 1);
    int ix = sqlite3_bind_parameter_index(st, name);
    if (!ix) continue;
    const qt__sql_arg *a = &args[k];
    if (a->kind == 'i') sqlite3_bind_int64(st, ix, a->i);
    else if (a->kind == 'd' && !isnan(a->d)) sqlite3_bind_double(st, ix, a->d);
    else if (a->kind == 't' && a->t) sqlite3_bind_text(st, ix, a->t, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, ix);
  }
  int rc, r = QT_OK;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (!fn) continue;
    qt__sql_val v[64];
    int nc = sqlite3_column_count(st);
    if (nc > 64) nc = 64;
    for (int c = 0; c < nc; c++) {
      int type = sqlite3_column_type(st, c);
      qt__sql_val *x = &v[c];
      x->isnull = type == SQLITE_NULL;
      if (x->isnull) {
        x->i = 0;
        x->d = NAN;
        x->t = NULL;
        continue;
      }
      if (type == SQLITE_INTEGER) {
        x->i = sqlite3_column_int64(st, c);
        x->d = (double)x->i;
      } else if (type == SQLITE_FLOAT) {
        x->d = sqlite3_column_double(st, c);
        x->i = (int64_t)x->d;
      }
      if ((flags & QT__SQL_NUMBERS_BARE) && (type == SQLITE_INTEGER || type == SQLITE_FLOAT)) {
        x->t = NULL;
        continue;
      }
      x->t = (const char *)sqlite3_column_text(st, c);
      if (type != SQLITE_INTEGER && type != SQLITE_FLOAT) {
        x->i = x->t ? strtoll(x->t, NULL, 10) : 0;
        x->d = x->t ? strtod(x->t, NULL) : NAN;
      }
    }
    if ((r = fn(ctx, v, nc, err))) break;
  }
  if (!r && rc != SQLITE_DONE) r = sqx_err(s, err, sql);
  if (out_changes) *out_changes = sqlite3_changes64(s->db);
  sqlite3_reset(st);
  if (!cached) sqlite3_finalize(st);
  return r;
}

static int sqx_script(void *self, const char *sql, qt_err *err) {
  sq *s = self;
  char *msg = NULL;
  if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK) return QT_OK;
  qt_err_set(err, QT_ESTORE, "%s: %.48s%s: %s", s->path, sql, strlen(sql) > 48 ? "..." : "",
             msg ? msg : sqlite3_errmsg(s->db));
  sqlite3_free(msg);
  return QT_ESTORE;
}

static int sqx_marked(void *self, const void *key) {
  sq *s = self;
  for (int k = 0; k < s->n_marks; k++)
    if (s->marks[k] == key) return 1;
  return 0;
}

static int sqx_set_mark(void *self, const void *key) {
  sq *s = self;
  if (s->n_marks == (int)(sizeof s->marks / sizeof s->marks[0])) return QT_ENOMEM;
  s->marks[s->n_marks++] = key;
  return QT_OK;
}

const qt__sql_ops qt__sql_sqlite_ops = {
    .dialect = QT__SQL_SQLITE,
    .lock = sqx_lock,
    .unlock = sqx_unlock,
    .exec = sqx_exec,
    .script = sqx_script,
    .marked = sqx_marked,
    .set_mark = sqx_set_mark,
};
