/* The PostgreSQL storage backend, for workers on many machines sharing one
 * study.  Every statement is prepared once per connection (PQprepare) and
 * run with bound text parameters; writes are transactions.  A claim locks
 * the study row (SELECT ... FOR UPDATE) so two workers never take the same
 * trial number. */
#include "qtune/storage.h"
#include "storage/storage_int.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCHEMA_VERSION 4
/* Arbitrary constant key: serializes schema creation across processes. */
#define SCHEMA_LOCK_KEY 0x71747563

static const char *const k_schema_v1 =
    "CREATE TABLE IF NOT EXISTS qtune_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS studies("
    " id BIGSERIAL PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " created_at BIGINT NOT NULL,"
    " directions TEXT NOT NULL,"
    " space_json TEXT,"
    " config_json TEXT);"
    "CREATE TABLE IF NOT EXISTS trials("
    " id BIGSERIAL PRIMARY KEY,"
    " study_id BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,"
    " number BIGINT NOT NULL,"
    " state TEXT NOT NULL CHECK(state IN ('running','complete','pruned','fail')),"
    " params_json TEXT,"
    " score DOUBLE PRECISION,"
    " values_json TEXT,"
    " metrics_json TEXT,"
    " constraint_ok INTEGER,"
    " worker TEXT,"
    " seed BIGINT,"
    " started_at BIGINT,"
    " heartbeat_at BIGINT,"
    " finished_at BIGINT,"
    " error TEXT,"
    " UNIQUE(study_id, number));"
    "CREATE INDEX IF NOT EXISTS trials_study_state ON trials(study_id, state);"
    "INSERT INTO qtune_meta(key, value) VALUES('schema_version', '1')"
    " ON CONFLICT (key) DO NOTHING;";

/* v2: the study keeps a high-water mark of trial numbers, so a number freed
 * by cleanup is never handed out again (a reused number replays the same
 * sampler proposals).  Existing studies start after their highest number. */
static const char *const k_schema_v2 =
    "ALTER TABLE studies ADD COLUMN IF NOT EXISTS next_number BIGINT NOT NULL DEFAULT 0;"
    "UPDATE studies SET next_number = GREATEST(next_number,"
    " (SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE trials.study_id = studies.id));"
    "UPDATE qtune_meta SET value = '2' WHERE key = 'schema_version';";

/* v3: old 'pruned' rows (params rejected by the strategy) become
 * 'rejected' ("pruned" is the pruner's now); trials keep intermediate
 * values, their last step and a note, and may wait (enqueued params).  The
 * CHECK of the state column is replaced (its default name). */
static const char *const k_schema_v3 =
    "ALTER TABLE trials DROP CONSTRAINT IF EXISTS trials_state_check;"
    "UPDATE trials SET state = 'rejected' WHERE state = 'pruned';"
    "ALTER TABLE trials ADD CONSTRAINT trials_state_check CHECK(state IN"
    " ('running','complete','rejected','fail','pruned','waiting'));"
    "ALTER TABLE trials ADD COLUMN IF NOT EXISTS intermediate_json TEXT;"
    "ALTER TABLE trials ADD COLUMN IF NOT EXISTS last_step BIGINT;"
    "ALTER TABLE trials ADD COLUMN IF NOT EXISTS note TEXT;"
    "UPDATE qtune_meta SET value = '3' WHERE key = 'schema_version';";

/* v4: a per-study change sequence (see the SQLite backend's v4): triggers
 * bump studies.trial_seq, under the study row's lock, in the writer's own
 * transaction, so the committed stamps of a study always form a prefix and
 * a reader that saw stamp S has seen every write up to S. */
static const char *const k_schema_v4 =
    "ALTER TABLE studies ADD COLUMN IF NOT EXISTS trial_seq BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE studies ADD COLUMN IF NOT EXISTS del_seq BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE trials ADD COLUMN IF NOT EXISTS updated_seq BIGINT NOT NULL DEFAULT 0;"
    "CREATE INDEX IF NOT EXISTS trials_study_seq ON trials(study_id, updated_seq);"
    "CREATE OR REPLACE FUNCTION qt_trials_seq() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " UPDATE studies SET trial_seq = trial_seq + 1 WHERE id = NEW.study_id"
    " RETURNING trial_seq INTO NEW.updated_seq; RETURN NEW; END $$;"
    "CREATE OR REPLACE FUNCTION qt_trials_del_seq() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " UPDATE studies SET trial_seq = trial_seq + 1, del_seq = trial_seq + 1"
    " WHERE id = OLD.study_id; RETURN OLD; END $$;"
    "DROP TRIGGER IF EXISTS trials_seq_ins ON trials;"
    "DROP TRIGGER IF EXISTS trials_seq_upd ON trials;"
    "DROP TRIGGER IF EXISTS trials_seq_del ON trials;"
    "CREATE TRIGGER trials_seq_ins BEFORE INSERT ON trials FOR EACH ROW"
    " EXECUTE FUNCTION qt_trials_seq();"
    "CREATE TRIGGER trials_seq_upd BEFORE UPDATE OF state, params_json, values_json,"
    " metrics_json, constraint_ok, worker, seed, started_at, finished_at, error,"
    " intermediate_json, last_step, note ON trials FOR EACH ROW"
    " EXECUTE FUNCTION qt_trials_seq();"
    "CREATE TRIGGER trials_seq_del AFTER DELETE ON trials FOR EACH ROW"
    " EXECUTE FUNCTION qt_trials_del_seq();"
    "UPDATE qtune_meta SET value = '4' WHERE key = 'schema_version';";

typedef struct stmt_def {
  const char *name;
  const char *sql;
  int n_params;
} stmt_def;

enum {
  P_STUDY_INSERT, P_STUDY_BY_NAME, P_STUDY_LIST, P_STUDY_DELETE, P_LOCK_STUDY, P_TRIAL_INSERT,
  P_TRIAL_PARAMS, P_TRIAL_STATE, P_TRIAL_FINISH, P_TRIALS_LIST, P_HEARTBEAT, P_RECOVER,
  P_DELETE_BELOW, P_DELETE_ABOVE, P_SET_SCORE, P_SET_CONFIG, P_SET_INTERMEDIATE, P_ENQUEUE,
  P_TAKE_WAITING, P_SET_NOTE, P_RETRY, P_LOCK_STUDY_OF, P_LOCK_STUDY_ROW, P_COUNT
};

#define STUDY_COLS "id, name, created_at, directions, space_json, config_json"
/* Leases are timed by the server's clock, the one clock every worker of a
 * study shares (the hosts' clocks may differ by more than a lease). */
#define DB_NOW "(extract(epoch from clock_timestamp()) * 1000)::bigint"
#define TRIAL_COLS                                                                         \
  "id, study_id, number, state, params_json, score, values_json, metrics_json,"            \
  " constraint_ok, worker, seed, started_at, heartbeat_at, finished_at, error,"           \
  " intermediate_json, last_step, note"

static const stmt_def k_stmts[P_COUNT] = {
    [P_STUDY_INSERT] = {"qt_study_insert",
                        "INSERT INTO studies(name, created_at, directions, space_json, config_json)"
                        " VALUES($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
                        5},
    [P_STUDY_BY_NAME] = {"qt_study_by_name", "SELECT " STUDY_COLS " FROM studies WHERE name = $1", 1},
    [P_STUDY_LIST] = {"qt_study_list",
                      "SELECT " STUDY_COLS " FROM studies ORDER BY created_at DESC, id DESC", 0},
    [P_STUDY_DELETE] = {"qt_study_delete", "DELETE FROM studies WHERE id = $1", 1},
    /* the UPDATE locks the study row: claims of one study are serialized */
    [P_LOCK_STUDY] = {"qt_next_number",
                      "UPDATE studies SET next_number = next_number + 1 WHERE id = $1"
                      " RETURNING next_number - 1",
                      1},
    [P_TRIAL_INSERT] = {"qt_trial_insert",
                        "INSERT INTO trials(study_id, number, state, params_json, worker, seed,"
                        " started_at, heartbeat_at)"
                        " VALUES($1, $6, 'running', $2, $3, $4, $5, " DB_NOW ") RETURNING id, number",
                        6},
    [P_TRIAL_PARAMS] = {"qt_trial_params",
                        "UPDATE trials SET params_json = $2 WHERE id = $1 AND state = 'running'", 2},
    [P_TRIAL_STATE] = {"qt_trial_state", "SELECT state FROM trials WHERE id = $1 FOR UPDATE", 1},
    [P_TRIAL_FINISH] = {"qt_trial_finish",
                        "UPDATE trials SET state = $2, score = $3, values_json = $4,"
                        " metrics_json = $5, constraint_ok = $6, error = $7, finished_at = $8,"
                        " heartbeat_at = $8 WHERE id = $1 AND state = 'running'",
                        8},
    [P_TRIALS_LIST] = {"qt_trials_list",
                       "SELECT " TRIAL_COLS " FROM trials WHERE study_id = $1 ORDER BY number", 1},
    [P_HEARTBEAT] = {"qt_heartbeat",
                     "UPDATE trials SET heartbeat_at = " DB_NOW " WHERE id = $1 AND state = 'running'",
                     1},
    [P_RECOVER] = {"qt_recover",
                   "UPDATE trials SET state = 'fail', finished_at = $3,"
                   " error = 'stale: no heartbeat within the lease (worker died, paused or cut off?)'"
                   " WHERE study_id = $1 AND state = 'running' AND heartbeat_at < " DB_NOW " - $2"
                   " RETURNING number, params_json, seed, note",
                   3},
    [P_DELETE_BELOW] = {"qt_delete_below",
                        "DELETE FROM trials WHERE study_id = $1 AND state <> 'running'"
                        " AND score IS NOT NULL AND score < $2",
                        2},
    [P_SET_CONFIG] = {"qt_set_config", "UPDATE studies SET config_json = $2 WHERE id = $1", 2},
    [P_DELETE_ABOVE] = {"qt_delete_above",
                        "DELETE FROM trials WHERE study_id = $1 AND state <> 'running'"
                        " AND score IS NOT NULL AND score > $2",
                        2},
    [P_SET_SCORE] = {"qt_set_score",
                     "UPDATE trials SET score = $2 WHERE id = $1 AND state <> 'running'", 2},
    [P_SET_INTERMEDIATE] = {"qt_set_intermediate",
                            "UPDATE trials SET intermediate_json = $2, last_step = $3"
                            " WHERE id = $1 AND state = 'running'",
                            3},
    [P_ENQUEUE] = {"qt_enqueue",
                   "INSERT INTO trials(study_id, number, state, params_json, seed)"
                   " VALUES($1, $3, 'waiting', $2, $4) RETURNING id, number",
                   4},
    /* SKIP LOCKED: two workers claiming at once take different rows */
    [P_TAKE_WAITING] = {"qt_take_waiting",
                        "UPDATE trials SET state = 'running', worker = $2, started_at = $3,"
                        " heartbeat_at = " DB_NOW " WHERE id = (SELECT id FROM trials WHERE study_id = $1"
                        " AND state = 'waiting' ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED)"
                        " RETURNING id, number, params_json",
                        3},
    [P_SET_NOTE] = {"qt_set_note",
                    "UPDATE trials SET note = $3 WHERE study_id = $1 AND number = $2", 3},
    [P_RETRY] = {"qt_retry",
                 "INSERT INTO trials(study_id, number, state, params_json, seed, note)"
                 " VALUES($1, $2, 'waiting', $3, $4, $5)",
                 5},
    /* v4: the seq triggers lock the study row; a transaction that locks a
     * trial row first takes the study's first, so the order is the same
     * everywhere (study, then trials) and two writers cannot deadlock */
    [P_LOCK_STUDY_OF] = {"qt_lock_study_of",
                         "SELECT 1 FROM studies WHERE id ="
                         " (SELECT study_id FROM trials WHERE id = $1) FOR UPDATE",
                         1},
    [P_LOCK_STUDY_ROW] = {"qt_lock_study_row", "SELECT 1 FROM studies WHERE id = $1 FOR UPDATE",
                          1},
};

typedef struct pg {
  PGconn *c;
  char where[256]; /* host/db for messages, never the password */
  const char *url; /* while opening: its passwords are scrubbed from libpq's messages */
  pthread_mutex_t mu;
  struct {
    char *sql;
    char name[16];
  } xs[96]; /* the concept tables' statements (sql.c), prepared by text */
  int n_xs;
  const void *marks[32]; /* schema scripts run on this connection */
  int n_marks;
} pg;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pg_fail(pg *p, PGresult *res, qt_err *err, const char *what) {
  const char *m = res ? PQresultErrorMessage(res) : "";
  if (!m || !*m) m = PQerrorMessage(p->c);
  /* Scrubbed before qt_err truncates it, so no part of a password is left. */
  char clean[1024];
  snprintf(clean, sizeof clean, "%s", m);
  qt__storage_scrub(clean, sizeof clean, p->url, p->c ? PQpass(p->c) : NULL);
  size_t n = strlen(clean);
  while (n && (clean[n - 1] == '\n' || clean[n - 1] == ' ')) clean[--n] = '\0';
  if (res) PQclear(res);
  return qt_err_set(err, QT_ESTORE, "postgresql %s: %s: %s", p->where, what, clean);
}

/* Runs a prepared statement with text params (NULL = SQL NULL).  Returns the
 * result (caller clears) or NULL after setting err. */
static PGresult *run(pg *p, int k, const char *const *params, qt_err *err) {
  PGresult *res = PQexecPrepared(p->c, k_stmts[k].name, k_stmts[k].n_params, params, NULL, NULL, 0);
  ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    pg_fail(p, res, err, k_stmts[k].name);
    return NULL;
  }
  return res;
}

static int simple(pg *p, const char *sql, qt_err *err) {
  PGresult *res = PQexec(p->c, sql);
  if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
    return pg_fail(p, res, err, sql);
  PQclear(res);
  return QT_OK;
}

static void rollback(pg *p) {
  if (PQtransactionStatus(p->c) != PQTRANS_IDLE) PQclear(PQexec(p->c, "ROLLBACK"));
}

static void pg_close(void *self) {
  pg *p = self;
  if (!p) return;
  if (p->c) PQfinish(p->c);
  for (int k = 0; k < p->n_xs; k++) qt_free(p->xs[k].sql);
  pthread_mutex_destroy(&p->mu);
  qt_free(p);
}

static int ensure_schema(pg *p, qt_err *err) {
  int r = simple(p, "BEGIN", err), ver = 0; /* 0: no schema yet */
  char lock[96];
  snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%d)", SCHEMA_LOCK_KEY);
  if (!r) r = simple(p, lock, err);
  if (!r) {
    /* A newer schema than ours is refused, like the SQLite backend does. */
    PGresult *res = PQexec(p->c, "SELECT to_regclass('qtune_meta') IS NOT NULL");
    int has_meta = PQresultStatus(res) == PGRES_TUPLES_OK && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (has_meta) {
      res = PQexec(p->c, "SELECT value FROM qtune_meta WHERE key = 'schema_version'");
      ver = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
                ? atoi(PQgetvalue(res, 0, 0))
                : 0;
      PQclear(res);
      if (ver > SCHEMA_VERSION)
        r = qt_err_set(err, QT_ESTORE,
                       "postgresql %s: schema version %d is newer than this qtune understands (%d)",
                       p->where, ver, SCHEMA_VERSION);
    }
  }
  if (!r) r = simple(p, k_schema_v1, err);
  if (!r && ver < 2) r = simple(p, k_schema_v2, err);
  if (!r && ver < 3) r = simple(p, k_schema_v3, err);
  if (!r && ver < 4) r = simple(p, k_schema_v4, err);
  if (!r) r = simple(p, "COMMIT", err);
  if (r) rollback(p);
  return r;
}

static int pg_open(const char *url, void **out_self, qt_err *err) {
  *out_self = NULL;
  pg *p = qt_calloc(1, sizeof *p);
  if (!p) return qt_err_set(err, QT_ENOMEM, "out of memory opening PostgreSQL storage");
  pthread_mutex_init(&p->mu, NULL);
  p->url = url;
  /* A peer that vanishes (a cut link, a dead host) must fail a call, not
   * hang it: TCP keepalives and a user timeout, unless the URL sets them. */
  const char *const kw[] = {"connect_timeout", "keepalives", "keepalives_idle",
                            "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                            "dbname", NULL};
  const char *const vals[] = {"10", "1", "5", "2", "3", "15000", url, NULL};
  p->c = PQconnectdbParams(kw, vals, 1);
  if (!p->c) {
    qt_err_set(err, QT_ENOMEM, "out of memory connecting to PostgreSQL");
    goto fail;
  }
  snprintf(p->where, sizeof p->where, "%s:%s/%s", PQhost(p->c) ? PQhost(p->c) : "?",
           PQport(p->c) ? PQport(p->c) : "?", PQdb(p->c) ? PQdb(p->c) : "?");
  if (PQstatus(p->c) != CONNECTION_OK) {
    pg_fail(p, NULL, err, "cannot connect");
    goto fail;
  }
  PQclear(PQexec(p->c, "SET client_min_messages = warning"));
  if (ensure_schema(p, err)) goto fail;
  for (int k = 0; k < P_COUNT; k++) {
    PGresult *res = PQprepare(p->c, k_stmts[k].name, k_stmts[k].sql, k_stmts[k].n_params, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
      pg_fail(p, res, err, "preparing statements");
      goto fail;
    }
    PQclear(res);
  }
  p->url = NULL; /* not ours to keep */
  *out_self = p;
  return QT_OK;
fail:
  pg_close(p);
  return err ? err->code : QT_ESTORE;
}

static char *dup_or_null(PGresult *r, int row, int col, int *oom) {
  if (PQgetisnull(r, row, col)) return NULL;
  char *s = qt_strdup(PQgetvalue(r, row, col));
  if (!s) *oom = 1;
  return s;
}

static int64_t i64_at(PGresult *r, int row, int col) {
  return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int read_study(PGresult *r, int row, qt_study_rec *out) {
  int oom = 0;
  memset(out, 0, sizeof *out);
  out->id = i64_at(r, row, 0);
  snprintf(out->name, sizeof out->name, "%s", PQgetvalue(r, row, 1));
  out->created_ms = i64_at(r, row, 2);
  out->directions = dup_or_null(r, row, 3, &oom);
  out->space_json = dup_or_null(r, row, 4, &oom);
  out->config_json = dup_or_null(r, row, 5, &oom);
  if (oom) qt_study_rec_fini(out);
  return oom ? QT_ENOMEM : QT_OK;
}

static int load_locked(pg *p, const char *name, qt_study_rec *out, qt_err *err) {
  const char *params[1] = {name};
  PGresult *res = run(p, P_STUDY_BY_NAME, params, err);
  if (!res) return QT_ESTORE;
  int r;
  if (PQntuples(res) == 0) r = qt_err_set(err, QT_ENOTFOUND, "postgresql %s: no study named '%s'", p->where, name);
  else if ((r = read_study(res, 0, out))) qt_err_set(err, r, "out of memory reading study '%s'", name);
  PQclear(res);
  return r;
}

static int once_study_create(void *self, const char *name, const char *directions,
                           const char *space_json, const char *config_json, qt_study_rec *out,
                           int *out_created, qt_err *err) {
  pg *p = self;
  memset(out, 0, sizeof *out);
  *out_created = 0;
  if (!name || !*name || strlen(name) >= sizeof out->name)
    return qt_err_set(err, QT_EINVAL, "study name must be 1 to %zu characters", sizeof out->name - 1);
  char now[32];
  snprintf(now, sizeof now, "%" PRId64, now_ms());
  const char *params[5] = {name, now, directions ? directions : "[\"maximize\"]", space_json,
                           config_json};
  pthread_mutex_lock(&p->mu);
  int r = QT_OK;
  PGresult *res = run(p, P_STUDY_INSERT, params, err);
  if (!res) r = QT_ESTORE;
  else {
    *out_created = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    r = load_locked(p, name, out, err);
  }
  pthread_mutex_unlock(&p->mu);
  return r;
}

static int once_study_load(void *self, const char *name, qt_study_rec *out, qt_err *err) {
  pg *p = self;
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&p->mu);
  int r = load_locked(p, name, out, err);
  pthread_mutex_unlock(&p->mu);
  return r;
}

static int once_study_list(void *self, qt_study_rec **out, size_t *out_n, qt_err *err) {
  pg *p = self;
  *out = NULL;
  *out_n = 0;
  pthread_mutex_lock(&p->mu);
  PGresult *res = run(p, P_STUDY_LIST, NULL, err);
  pthread_mutex_unlock(&p->mu);
  if (!res) return QT_ESTORE;
  int n = PQntuples(res);
  qt_study_rec *v = qt_calloc((size_t)n, sizeof *v);
  int r = v ? QT_OK : QT_ENOMEM;
  int got = 0;
  for (; !r && got < n; got++)
    if (read_study(res, got, &v[got])) r = QT_ENOMEM;
  PQclear(res);
  if (r) {
    for (int i = 0; v && i < got; i++) qt_study_rec_fini(&v[i]);
    qt_free(v);
    return qt_err_set(err, QT_ENOMEM, "out of memory listing studies");
  }
  *out = v;
  *out_n = (size_t)n;
  return QT_OK;
}

static int once_study_delete(void *self, int64_t study_id, qt_err *err) {
  pg *p = self;
  char id[32];
  snprintf(id, sizeof id, "%" PRId64, study_id);
  const char *params[1] = {id};
  pthread_mutex_lock(&p->mu);
  PGresult *res = run(p, P_STUDY_DELETE, params, err); /* trials go by ON DELETE CASCADE */
  pthread_mutex_unlock(&p->mu);
  if (!res) return QT_ESTORE;
  PQclear(res);
  return QT_OK;
}

/* A new trial of study sid (claim, enqueue): in one transaction, locks the
 * study row and reads its next number into snum (32 bytes; params, insert
 * k's arguments, point at it), then runs k, whose row gives the trial's id
 * and number.  Takes the connection lock. */
static int insert_numbered(pg *p, int k, const char *sid, const char *const *params, char *snum,
                           int64_t *out_trial_id, int64_t *out_number, qt_err *err) {
  const char *lockp[1] = {sid};
  pthread_mutex_lock(&p->mu);
  int r = simple(p, "BEGIN", err);
  PGresult *res = NULL;
  if (!r) {
    res = run(p, P_LOCK_STUDY, lockp, err);
    if (!res) r = QT_ESTORE;
    else if (PQntuples(res) != 1)
      r = qt_err_set(err, QT_ENOTFOUND, "postgresql %s: no study with id %s", p->where, sid);
    else snprintf(snum, 32, "%s", PQgetvalue(res, 0, 0));
    if (res) PQclear(res);
  }
  if (!r) {
    res = run(p, k, params, err);
    if (!res) r = QT_ESTORE;
    else {
      *out_trial_id = i64_at(res, 0, 0);
      *out_number = i64_at(res, 0, 1);
      PQclear(res);
    }
  }
  if (!r) r = simple(p, "COMMIT", err);
  if (r) {
    rollback(p);
    *out_trial_id = 0;
    *out_number = -1;
  }
  pthread_mutex_unlock(&p->mu);
  return r;
}

static int once_trial_claim(void *self, int64_t study_id, const char *params_json,
                          const char *worker, int64_t seed, int64_t *out_trial_id,
                          int64_t *out_number, qt_err *err) {
  pg *p = self;
  *out_trial_id = 0;
  *out_number = -1;
  char sid[32], sseed[32], now[32];
  snprintf(sid, sizeof sid, "%" PRId64, study_id);
  snprintf(sseed, sizeof sseed, "%" PRId64, seed);
  snprintf(now, sizeof now, "%" PRId64, now_ms());
  char snum[32] = "";
  const char *insp[6] = {sid, params_json, worker, sseed, now, snum};
  return insert_numbered(p, P_TRIAL_INSERT, sid, insp, snum, out_trial_id, out_number, err);
}

/* Inside a transaction: locks the trial row and checks it is running. */
static int check_running(pg *p, const char *id, qt_err *err) {
  const char *params[1] = {id};
  PGresult *res = run(p, P_LOCK_STUDY_OF, params, err);
  if (!res) return QT_ESTORE;
  PQclear(res);
  res = run(p, P_TRIAL_STATE, params, err);
  if (!res) return QT_ESTORE;
  int r = QT_OK;
  if (PQntuples(res) == 0) r = qt_err_set(err, QT_ENOTFOUND, "no trial with id %s", id);
  else if (strcmp(PQgetvalue(res, 0, 0), qt_trial_state_name(QT_TRIAL_RUNNING)) != 0)
    r = qt_err_set(err, QT_ESTATE, "trial %s is already finished (%s); finished trials are immutable",
                   id, PQgetvalue(res, 0, 0));
  PQclear(res);
  return r;
}

static int guarded_update(pg *p, const char *id, int k, const char *const *params, qt_err *err) {
  int r = simple(p, "BEGIN", err);
  if (!r) r = check_running(p, id, err);
  if (!r) {
    PGresult *res = run(p, k, params, err);
    if (!res) r = QT_ESTORE;
    else PQclear(res);
  }
  if (!r) r = simple(p, "COMMIT", err);
  if (r) rollback(p);
  return r;
}

static int once_trial_set_params(void *self, int64_t trial_id, const char *params_json, qt_err *err) {
  pg *p = self;
  char id[32];
  snprintf(id, sizeof id, "%" PRId64, trial_id);
  const char *params[2] = {id, params_json};
  pthread_mutex_lock(&p->mu);
  int r = guarded_update(p, id, P_TRIAL_PARAMS, params, err);
  pthread_mutex_unlock(&p->mu);
  return r;
}

static int once_trial_finish(void *self, int64_t trial_id, int state, double score,
                           const char *values_json, const char *metrics_json, int constraint_ok,
                           const char *error, qt_err *err) {
  pg *p = self;
  if (state <= QT_TRIAL_RUNNING || state >= QT_TRIAL_WAITING)
    return qt_err_set(err, QT_EINVAL,
                      "finishing a trial needs state complete, rejected, fail or pruned");
  char id[32], sc[40], ok[8], now[32];
  snprintf(id, sizeof id, "%" PRId64, trial_id);
  snprintf(sc, sizeof sc, "%.17g", score);
  snprintf(ok, sizeof ok, "%d", constraint_ok);
  snprintf(now, sizeof now, "%" PRId64, now_ms());
  const char *params[8] = {id, qt_trial_state_name(state), !isnan(score) ? sc : NULL,
                           values_json, metrics_json, constraint_ok >= 0 ? ok : NULL, error, now};
  pthread_mutex_lock(&p->mu);
  int r = guarded_update(p, id, P_TRIAL_FINISH, params, err);
  pthread_mutex_unlock(&p->mu);
  return r;
}

/* An unknown stored state reads as failed, so it is never resumed or ranked. */
static int parse_state(const char *t) {
  int k;
  qt_trial_state_from_name(t, &k, NULL);
  return k;
}

static int read_trial(PGresult *r, int row, qt_trial_rec *t) {
  int oom = 0;
  memset(t, 0, sizeof *t);
  t->id = i64_at(r, row, 0);
  t->study_id = i64_at(r, row, 1);
  t->number = i64_at(r, row, 2);
  t->state = parse_state(PQgetvalue(r, row, 3));
  t->params_json = dup_or_null(r, row, 4, &oom);
  t->score = PQgetisnull(r, row, 5) ? NAN : strtod(PQgetvalue(r, row, 5), NULL);
  t->values_json = dup_or_null(r, row, 6, &oom);
  t->metrics_json = dup_or_null(r, row, 7, &oom);
  t->constraint_ok = PQgetisnull(r, row, 8) ? -1 : atoi(PQgetvalue(r, row, 8));
  snprintf(t->worker, sizeof t->worker, "%s", PQgetvalue(r, row, 9));
  t->seed = i64_at(r, row, 10);
  t->started_ms = i64_at(r, row, 11);
  t->heartbeat_ms = i64_at(r, row, 12);
  t->finished_ms = i64_at(r, row, 13);
  t->error = dup_or_null(r, row, 14, &oom);
  t->intermediate_json = dup_or_null(r, row, 15, &oom);
  t->last_step = PQgetisnull(r, row, 16) ? -1 : i64_at(r, row, 16);
  t->note = dup_or_null(r, row, 17, &oom);
  if (oom) qt_trial_rec_fini(t);
  return oom ? QT_ENOMEM : QT_OK;
}

static int once_trials_list(void *self, int64_t study_id, unsigned states_mask, qt_trial_rec **out,
                          size_t *out_n, qt_err *err) {
  pg *p = self;
  *out = NULL;
  *out_n = 0;
  char sid[32];
  snprintf(sid, sizeof sid, "%" PRId64, study_id);
  const char *params[1] = {sid};
  pthread_mutex_lock(&p->mu);
  PGresult *res = run(p, P_TRIALS_LIST, params, err);
  pthread_mutex_unlock(&p->mu);
  if (!res) return QT_ESTORE;
  int n = PQntuples(res);
  qt_trial_rec *v = qt_calloc((size_t)n, sizeof *v);
  int r = v ? QT_OK : QT_ENOMEM;
  size_t got = 0;
  for (int i = 0; !r && i < n; i++) {
    int st = parse_state(PQgetvalue(res, i, 3));
    if (states_mask && !(states_mask & (1u << st))) continue;
    if (read_trial(res, i, &v[got])) r = QT_ENOMEM;
    else got++;
  }
  PQclear(res);
  if (r) {
    qt_trial_recs_free(v, got);
    return qt_err_set(err, QT_ENOMEM, "out of memory listing trials");
  }
  *out = v;
  *out_n = got;
  return QT_OK;
}

static int once_heartbeat(void *self, int64_t trial_id, qt_err *err) {
  pg *p = self;
  char id[32], now[32];
  snprintf(id, sizeof id, "%" PRId64, trial_id);
  snprintf(now, sizeof now, "%" PRId64, now_ms());
  const char *params[2] = {id, now};
  pthread_mutex_lock(&p->mu);
  PGresult *res = run(p, P_HEARTBEAT, params, err);
  pthread_mutex_unlock(&p->mu);
  if (!res) return QT_ESTORE;
  PQclear(res);
  return QT_OK;
}

static int count_update(pg *p, int k, const char *const *params, size_t *out_n, qt_err *err) {
  *out_n = 0;
  pthread_mutex_lock(&p->mu);
  PGresult *res = run(p, k, params, err);
  pthread_mutex_unlock(&p->mu);
  if (!res) return QT_ESTORE;
  *out_n = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
  PQclear(res);
  return QT_OK;
}

/* A recovered trial's params run again once, as a waiting trial noted
 * "retry of trial N" (a retry that goes stale too is not retried again);
 * the fail and the retry are one transaction, so two sweeping workers never
 * both retry a trial. */
#define RETRY_NOTE "retry of trial "

static int once_recover_stale(void *self, int64_t study_id, int64_t stale_ms, size_t *out_n,
                            qt_err *err) {
  pg *p = self;
  *out_n = 0;
  char sid[32], lease[32], snow[32];
  snprintf(sid, sizeof sid, "%" PRId64, study_id);
  snprintf(lease, sizeof lease, "%" PRId64, stale_ms);
  snprintf(snow, sizeof snow, "%" PRId64, now_ms());
  const char *params[3] = {sid, lease, snow};
  pthread_mutex_lock(&p->mu);
  int r = simple(p, "BEGIN", err);
  PGresult *res = NULL;
  if (!r && !(res = run(p, P_LOCK_STUDY_ROW, params, err))) r = QT_ESTORE;
  if (res) PQclear(res);
  res = NULL;
  if (!r && !(res = run(p, P_RECOVER, params, err))) r = QT_ESTORE;
  int rows = res ? PQntuples(res) : 0;
  for (int k = 0; k < rows && !r; k++) {
    const char *note = PQgetisnull(res, k, 3) ? NULL : PQgetvalue(res, k, 3);
    if (note && !strncmp(note, RETRY_NOTE, strlen(RETRY_NOTE))) continue;
    const char *lp[1] = {sid};
    PGresult *nr = run(p, P_LOCK_STUDY, lp, err);
    if (!nr || PQntuples(nr) != 1) {
      if (nr) PQclear(nr);
      r = QT_ESTORE;
      break;
    }
    char num[32], note_buf[64];
    snprintf(num, sizeof num, "%s", PQgetvalue(nr, 0, 0));
    PQclear(nr);
    snprintf(note_buf, sizeof note_buf, RETRY_NOTE "%s", PQgetvalue(res, k, 0));
    const char *ip[5] = {sid, num, PQgetisnull(res, k, 1) ? NULL : PQgetvalue(res, k, 1),
                         PQgetisnull(res, k, 2) ? "0" : PQgetvalue(res, k, 2), note_buf};
    PGresult *ir = run(p, P_RETRY, ip, err);
    if (!ir) r = QT_ESTORE;
    else PQclear(ir);
  }
  if (res) PQclear(res);
  if (!r) r = simple(p, "COMMIT", err);
  if (r) rollback(p);
  else *out_n = (size_t)rows;
  pthread_mutex_unlock(&p->mu);
  return r;
}

static int once_trials_delete_worse(void *self, int64_t study_id, double threshold, int minimize,
                                  size_t *out_n, qt_err *err) {
  char sid[32], sc[40];
  snprintf(sid, sizeof sid, "%" PRId64, study_id);
  snprintf(sc, sizeof sc, "%.17g", threshold);
  const char *params[2] = {sid, sc};
  return count_update(self, minimize ? P_DELETE_ABOVE : P_DELETE_BELOW, params, out_n, err);
}

static int once_trials_set_scores(void *self, const int64_t *ids, const double *scores, size_t n,
                                qt_err *err) {
  pg *p = self;
  pthread_mutex_lock(&p->mu);
  int r = simple(p, "BEGIN", err);
  for (size_t i = 0; !r && i < n; i++) {
    char id[32], sc[40];
    snprintf(id, sizeof id, "%" PRId64, ids[i]);
    snprintf(sc, sizeof sc, "%.17g", scores[i]);
    const char *params[2] = {id, !isnan(scores[i]) ? sc : NULL};
    PGresult *res = run(p, P_SET_SCORE, params, err);
    if (!res) r = QT_ESTORE;
    else PQclear(res);
  }
  if (!r) r = simple(p, "COMMIT", err);
  if (r) rollback(p);
  pthread_mutex_unlock(&p->mu);
  return r;
}

static int once_study_set_config(void *self, int64_t study_id, const char *config_json,
                               qt_err *err) {
  pg *p = self;
  char id[32];
  snprintf(id, sizeof id, "%" PRId64, study_id);
  const char *params[2] = {id, config_json};
  pthread_mutex_lock(&p->mu);
  PGresult *res = run(p, P_SET_CONFIG, params, err); /* one statement: its own transaction */
  pthread_mutex_unlock(&p->mu);
  if (!res) return QT_ESTORE;
  int r = atoi(PQcmdTuples(res)) == 0
              ? qt_err_set(err, QT_ENOTFOUND, "postgresql %s: no such study (id %s)", p->where, id)
              : QT_OK;
  PQclear(res);
  return r;
}

static int once_trial_set_intermediate(void *self, int64_t trial_id, const char *ij,
                                     int64_t last_step, qt_err *err) {
  pg *p = self;
  char id[32], ls[32];
  snprintf(id, sizeof id, "%" PRId64, trial_id);
  snprintf(ls, sizeof ls, "%" PRId64, last_step);
  const char *params[3] = {id, ij, last_step >= 0 ? ls : NULL};
  pthread_mutex_lock(&p->mu);
  int r = guarded_update(p, id, P_SET_INTERMEDIATE, params, err);
  pthread_mutex_unlock(&p->mu);
  return r;
}

static int once_trial_enqueue(void *self, int64_t study_id, const char *params_json,
                            int64_t seed, int64_t *out_trial_id, int64_t *out_number,
                            qt_err *err) {
  pg *p = self;
  *out_trial_id = 0;
  *out_number = -1;
  char sid[32], snum[32] = "", sseed[32];
  snprintf(sid, sizeof sid, "%" PRId64, study_id);
  snprintf(sseed, sizeof sseed, "%" PRId64, seed);
  const char *insp[4] = {sid, params_json, snum, sseed};
  return insert_numbered(p, P_ENQUEUE, sid, insp, snum, out_trial_id, out_number, err);
}

/* Runs statement k in a transaction that locks study row sid first (the
 * one lock order of schema v4's stamps: study, then trials); the result or
 * NULL (rolled back, err set). */
static PGresult *study_locked_run(pg *p, const char *sid, int k, const char *const *params,
                                  qt_err *err) {
  const char *lp[1] = {sid};
  PGresult *res = NULL, *lr = NULL;
  int r = simple(p, "BEGIN", err);
  if (!r && !(lr = run(p, P_LOCK_STUDY_ROW, lp, err))) r = QT_ESTORE;
  if (lr) PQclear(lr);
  if (!r && !(res = run(p, k, params, err))) r = QT_ESTORE;
  if (!r) r = simple(p, "COMMIT", err);
  if (r) {
    if (res) PQclear(res);
    rollback(p);
    return NULL;
  }
  return res;
}

static int once_trial_claim_waiting(void *self, int64_t study_id, const char *worker,
                                  int64_t *out_trial_id, int64_t *out_number, char **out_params,
                                  qt_err *err) {
  pg *p = self;
  *out_trial_id = 0;
  *out_number = -1;
  *out_params = NULL;
  char sid[32], now[32];
  snprintf(sid, sizeof sid, "%" PRId64, study_id);
  snprintf(now, sizeof now, "%" PRId64, now_ms());
  const char *params[3] = {sid, worker, now};
  pthread_mutex_lock(&p->mu);
  PGresult *res = study_locked_run(p, sid, P_TAKE_WAITING, params, err); /* atomic */
  pthread_mutex_unlock(&p->mu);
  if (!res) return QT_ESTORE;
  int r = QT_OK;
  if (PQntuples(res) == 0) {
    r = QT_DONE;
  } else {
    int oom = 0;
    *out_params = dup_or_null(res, 0, 2, &oom);
    if (oom) {
      r = qt_err_set(err, QT_ENOMEM, "out of memory claiming a waiting trial");
    } else {
      *out_trial_id = i64_at(res, 0, 0);
      *out_number = i64_at(res, 0, 1);
    }
  }
  PQclear(res);
  return r;
}

static int once_trial_set_note(void *self, int64_t study_id, int64_t number, const char *note,
                             qt_err *err) {
  pg *p = self;
  char sid[32], num[32];
  snprintf(sid, sizeof sid, "%" PRId64, study_id);
  snprintf(num, sizeof num, "%" PRId64, number);
  const char *params[3] = {sid, num, note};
  pthread_mutex_lock(&p->mu);
  PGresult *res = study_locked_run(p, sid, P_SET_NOTE, params, err);
  pthread_mutex_unlock(&p->mu);
  if (!res) return QT_ESTORE;
  int r = atoi(PQcmdTuples(res)) == 0
              ? qt_err_set(err, QT_ENOTFOUND, "postgresql %s: the study has no trial %s",
                           p->where, num)
              : QT_OK;
  PQclear(res);
  return r;
}

/* ---- a lost connection: reconnect and run the call again ----
 * Every call is one transaction, so after the connection drops (a server
 * restart, a cut link) it is run again on a new connection, with back-off
 * (100 ms doubling to 5 s) for up to QTUNE_STORAGE_RETRY_S seconds (default
 * 120).  A write whose commit reached the server before the link died is
 * seen again as such (a finished trial: QT_ESTATE, which the runner logs as
 * a late result; a claim: one more running trial, which its lease ends and
 * enqueues again), so nothing is lost and no trial number repeats. */
static double retry_window_s(void) {
  const char *v = getenv("QTUNE_STORAGE_RETRY_S");
  double w = v && *v ? atof(v) : 120;
  return w >= 0 ? w : 120;
}

static int lost(pg *p) { return PQstatus(p->c) != CONNECTION_OK; }

static int reprepare(pg *p, qt_err *err) {
  PQclear(PQexec(p->c, "SET client_min_messages = warning"));
  for (int k = 0; k < P_COUNT; k++) {
    PGresult *res = PQprepare(p->c, k_stmts[k].name, k_stmts[k].sql, k_stmts[k].n_params, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) return pg_fail(p, res, err, "preparing statements");
    PQclear(res);
  }
  for (int k = 0; k < p->n_xs; k++) qt_free(p->xs[k].sql); /* their names died with the session */
  p->n_xs = 0;
  return QT_OK;
}

/* One reconnect attempt after *waited seconds of trying. */
static void reconnect(pg *p, double *waited) {
  double d = 0.1;
  for (double t = *waited; t > 0.1 && d < 5; t /= 2) d *= 2;
  if (d > 5) d = 5;
  struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
  nanosleep(&ts, NULL);
  *waited += d;
  pthread_mutex_lock(&p->mu);
  if (lost(p)) {
    PQreset(p->c);
    qt_err e;
    if (!lost(p) && reprepare(p, &e) == QT_OK)
      qt_log(QT_LOG_WARN, "postgresql %s: reconnected after %.1f s", p->where, *waited);
  }
  pthread_mutex_unlock(&p->mu);
}

#define RETRYING(self, call)                                                  \
  do {                                                                        \
    pg *p_ = (self);                                                          \
    double waited_ = 0, window_ = retry_window_s();                           \
    for (;;) {                                                                \
      int r_ = (call);                                                        \
      if (r_ != QT_ESTORE || !lost(p_) || waited_ >= window_) return r_;     \
      if (waited_ == 0)                                                       \
        qt_log(QT_LOG_WARN, "postgresql %s: connection lost; reconnecting for up to %g s", \
               p_->where, window_);                                           \
      reconnect(p_, &waited_);                                                \
    }                                                                         \
  } while (0)

static int pg_study_create(void *self, const char *name, const char *directions,
                           const char *space_json, const char *config_json, qt_study_rec *out,
                           int *out_created, qt_err *err) {
  RETRYING(self, once_study_create(self, name, directions, space_json, config_json, out, out_created, err));
}

static int pg_study_load(void *self, const char *name, qt_study_rec *out, qt_err *err) {
  RETRYING(self, once_study_load(self, name, out, err));
}

static int pg_study_list(void *self, qt_study_rec **out, size_t *out_n, qt_err *err) {
  RETRYING(self, once_study_list(self, out, out_n, err));
}

static int pg_study_delete(void *self, int64_t study_id, qt_err *err) {
  RETRYING(self, once_study_delete(self, study_id, err));
}

static int pg_trial_claim(void *self, int64_t study_id, const char *params_json,
                          const char *worker, int64_t seed, int64_t *out_trial_id,
                          int64_t *out_number, qt_err *err) {
  RETRYING(self, once_trial_claim(self, study_id, params_json, worker, seed, out_trial_id, out_number, err));
}

static int pg_trial_set_params(void *self, int64_t trial_id, const char *params_json, qt_err *err) {
  RETRYING(self, once_trial_set_params(self, trial_id, params_json, err));
}

static int pg_trial_finish(void *self, int64_t trial_id, int state, double score,
                           const char *values_json, const char *metrics_json, int constraint_ok,
                           const char *error, qt_err *err) {
  RETRYING(self, once_trial_finish(self, trial_id, state, score, values_json, metrics_json, constraint_ok, error, err));
}

static int pg_trials_list(void *self, int64_t study_id, unsigned states_mask, qt_trial_rec **out,
                          size_t *out_n, qt_err *err) {
  RETRYING(self, once_trials_list(self, study_id, states_mask, out, out_n, err));
}

static int pg_heartbeat(void *self, int64_t trial_id, qt_err *err) {
  RETRYING(self, once_heartbeat(self, trial_id, err));
}

static int pg_recover_stale(void *self, int64_t study_id, int64_t stale_ms, size_t *out_n,
                            qt_err *err) {
  RETRYING(self, once_recover_stale(self, study_id, stale_ms, out_n, err));
}

static int pg_trials_delete_worse(void *self, int64_t study_id, double threshold, int minimize,
                                  size_t *out_n, qt_err *err) {
  RETRYING(self, once_trials_delete_worse(self, study_id, threshold, minimize, out_n, err));
}

static int pg_trials_set_scores(void *self, const int64_t *ids, const double *scores, size_t n,
                                qt_err *err) {
  RETRYING(self, once_trials_set_scores(self, ids, scores, n, err));
}

static int pg_study_set_config(void *self, int64_t study_id, const char *config_json,
                               qt_err *err) {
  RETRYING(self, once_study_set_config(self, study_id, config_json, err));
}

static int pg_trial_set_intermediate(void *self, int64_t trial_id, const char *ij,
                                     int64_t last_step, qt_err *err) {
  RETRYING(self, once_trial_set_intermediate(self, trial_id, ij, last_step, err));
}

static int pg_trial_enqueue(void *self, int64_t study_id, const char *params_json,
                            int64_t seed, int64_t *out_trial_id, int64_t *out_number,
                            qt_err *err) {
  RETRYING(self, once_trial_enqueue(self, study_id, params_json, seed, out_trial_id, out_number, err));
}

static int pg_trial_claim_waiting(void *self, int64_t study_id, const char *worker,
                                  int64_t *out_trial_id, int64_t *out_number, char **out_params,
                                  qt_err *err) {
  RETRYING(self, once_trial_claim_waiting(self, study_id, worker, out_trial_id, out_number, out_params, err));
}

static int pg_trial_set_note(void *self, int64_t study_id, int64_t number, const char *note,
                             qt_err *err) {
  RETRYING(self, once_trial_set_note(self, study_id, number, note, err));
}

const qt_storage_vtbl qt_storage_postgres = {
    .abi = QT_STORAGE_ABI,
    .scheme = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .study_create = pg_study_create,
    .study_load = pg_study_load,
    .study_list = pg_study_list,
    .study_delete = pg_study_delete,
    .trial_claim = pg_trial_claim,
    .trial_set_params = pg_trial_set_params,
    .trial_finish = pg_trial_finish,
    .trials_list = pg_trials_list,
    .heartbeat = pg_heartbeat,
    .recover_stale = pg_recover_stale,
    .trials_delete_worse = pg_trials_delete_worse,
    .trials_set_scores = pg_trials_set_scores,
    .study_set_config = pg_study_set_config,
    .trial_set_intermediate = pg_trial_set_intermediate,
    .trial_enqueue = pg_trial_enqueue,
    .trial_claim_waiting = pg_trial_claim_waiting,
    .trial_set_note = pg_trial_set_note,
};

/* ---- qt__sql_ops: the concept tables' statements (see sql.c) ---- */

static void pgx_lock(void *self) { pthread_mutex_lock(&((pg *)self)->mu); }
static void pgx_unlock(void *self) { pthread_mutex_unlock(&((pg *)self)->mu); }

static int pgx_exec(void *self, const char *sql, const qt__sql_arg *args, int nargs,
                    unsigned flags, qt__sql_row_fn fn, void *ctx, int64_t *out_changes,
                    qt_err *err) {
  (void)flags; /* libpq gives every value as text: nothing to save */
  pg *p = self;
  if (nargs > 64) return qt_err_set(err, QT_EINVAL, "more than 64 statement arguments");
  char num[64][32];
  const char *vals[64];
  for (int k = 0; k < nargs; k++) {
    const qt__sql_arg *a = &args[k];
    vals[k] = NULL;
    if (a->kind == 'i') {
      snprintf(num[k], sizeof num[k], "%" PRId64, a->i);
      vals[k] = num[k];
    } else if (a->kind == 'd' && !isnan(a->d)) {
      if (isinf(a->d)) snprintf(num[k], sizeof num[k], "%s", a->d > 0 ? "Infinity" : "-Infinity");
      else snprintf(num[k], sizeof num[k], "%.17g", a->d);
      vals[k] = num[k];
    } else if (a->kind == 't') {
      vals[k] = a->t;
    }
  }
  const char *name = NULL;
  for (int k = 0; k < p->n_xs && !name; k++)
    if (strcmp(p->xs[k].sql, sql) == 0) name = p->xs[k].name;
  if (!name && p->n_xs < (int)(sizeof p->xs / sizeof p->xs[0])) {
    int k = p->n_xs;
    snprintf(p->xs[k].name, sizeof p->xs[k].name, "qx%d", k);
    PGresult *res = PQprepare(p->c, p->xs[k].name, sql, nargs, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) return pg_fail(p, res, err, sql);
    PQclear(res);
    if (!(p->xs[k].sql = qt_strdup(sql))) return qt_err_set(err, QT_ENOMEM, "out of memory");
    p->n_xs++;
    name = p->xs[k].name;
  }
  PGresult *res = name ? PQexecPrepared(p->c, name, nargs, vals, NULL, NULL, 0)
                       : PQexecParams(p->c, sql, nargs, NULL, vals, NULL, NULL, 0);
  ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return pg_fail(p, res, err, sql);
  int r = QT_OK, nrows = PQntuples(res), nc = PQnfields(res);
  if (nc > 64) nc = 64;
  for (int row = 0; fn && row < nrows && !r; row++) {
    qt__sql_val v[64];
    for (int c = 0; c < nc; c++) {
      qt__sql_val *x = &v[c];
      x->isnull = PQgetisnull(res, row, c);
      x->t = x->isnull ? NULL : PQgetvalue(res, row, c);
      x->i = x->t ? strtoll(x->t, NULL, 10) : 0;
      x->d = x->t ? strtod(x->t, NULL) : NAN;
    }
    r = fn(ctx, v, nc, err);
  }
  if (out_changes) *out_changes = strtoll(PQcmdTuples(res), NULL, 10);
  PQclear(res);
  return r;
}

static int pgx_script(void *self, const char *sql, qt_err *err) { return simple(self, sql, err); }

static int pgx_marked(void *self, const void *key) {
  pg *p = self;
  for (int k = 0; k < p->n_marks; k++)
    if (p->marks[k] == key) return 1;
  return 0;
}

static int pgx_set_mark(void *self, const void *key) {
  pg *p = self;
  if (p->n_marks == (int)(sizeof p->marks / sizeof p->marks[0])) return QT_ENOMEM;
  p->marks[p->n_marks++] = key;
  return QT_OK;
}

static int pgx_lost(void *self) { return lost(self); }
static void pgx_reconnect(void *self, double *waited) { reconnect(self, waited); }

const qt__sql_ops qt__sql_pg_ops = {
    .dialect = QT__SQL_PG,
    .lock = pgx_lock,
    .unlock = pgx_unlock,
    .exec = pgx_exec,
    .script = pgx_script,
    .marked = pgx_marked,
    .set_mark = pgx_set_mark,
    .lost = pgx_lost,
    .reconnect = pgx_reconnect,
    .retry_window_s = retry_window_s,
};
