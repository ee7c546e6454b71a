#include "qt_test.h"
#include "qtune/storage.h"
#include "storage_fixture.h"

#include <libpq-fe.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Schema v3 on both backends: a v2 database whose 'pruned' rows meant
 * "params rejected by the strategy" is upgraded (they read as rejected, and
 * 'pruned' is free for the pruner); then the v3 calls: intermediate values,
 * enqueued (waiting) trials claimed in number order, notes.  PostgreSQL runs
 * on the server named by QTUNE_PG_URL (tests/run.sh starts one). */
static sf_db g_db = {.name = "v3",
                     .drop = "DROP TABLE IF EXISTS trials, studies, qtune_meta CASCADE"};

/* As qtune 0.x wrote schema v2 (SQLite): the CHECK knows 'pruned' only. */
static const char *const k_sqlite_v2 =
    "CREATE TABLE studies(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " created_at INTEGER NOT NULL, directions TEXT NOT NULL, space_json TEXT, config_json TEXT,"
    " next_number INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE trials(id INTEGER PRIMARY KEY,"
    " study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,"
    " number INTEGER NOT NULL,"
    " state TEXT NOT NULL CHECK(state IN ('running','complete','pruned','fail')),"
    " params_json TEXT, score REAL, values_json TEXT, metrics_json TEXT, constraint_ok INTEGER,"
    " worker TEXT, seed INTEGER, started_at INTEGER, heartbeat_at INTEGER, finished_at INTEGER,"
    " error TEXT, UNIQUE(study_id, number));"
    "CREATE INDEX trials_study_state ON trials(study_id, state);"
    "INSERT INTO studies VALUES(1, 'old', 1, '[\"maximize\"]', '{}', '{}', 3);"
    "INSERT INTO trials(study_id, number, state, score, error) VALUES"
    " (1, 0, 'complete', 1, NULL), (1, 1, 'pruned', NULL, 'fast must be below slow'),"
    " (1, 2, 'fail', NULL, 'boom');"
    "PRAGMA user_version = 2;";

/* The same on PostgreSQL (the CHECK under its default name). */
static const char *const k_pg_v2 =
    "CREATE TABLE qtune_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE studies(id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " created_at BIGINT NOT NULL, directions TEXT NOT NULL, space_json TEXT, config_json TEXT,"
    " next_number BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE trials(id BIGSERIAL PRIMARY KEY,"
    " study_id BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE, number BIGINT NOT NULL,"
    " state TEXT NOT NULL CHECK(state IN ('running','complete','pruned','fail')),"
    " params_json TEXT, score DOUBLE PRECISION, values_json TEXT,"
    " metrics_json TEXT, constraint_ok INTEGER, worker TEXT, seed BIGINT, started_at BIGINT,"
    " heartbeat_at BIGINT, finished_at BIGINT, error TEXT, UNIQUE(study_id, number));"
    "CREATE INDEX trials_study_state ON trials(study_id, state);"
    "INSERT INTO qtune_meta VALUES('schema_version', '2');"
    "INSERT INTO studies(name, created_at, directions, next_number)"
    " VALUES('old', 1, '[\"maximize\"]', 3);"
    "INSERT INTO trials(study_id, number, state, score, error) SELECT id, v.n, v.s, v.sc, v.e"
    " FROM studies, (VALUES (0, 'complete', 1.0, NULL), (1, 'pruned', NULL,"
    " 'fast must be below slow'), (2, 'fail', NULL, 'boom')) AS v(n, s, sc, e)"
    " WHERE name = 'old';";

static void write_fixture(void) {
  if (!g_db.pg) {
    sqlite3 *db;
    ASSERT_TRUE(sqlite3_open(g_db.path, &db) == SQLITE_OK);
    ASSERT_TRUE(sqlite3_exec(db, k_sqlite_v2, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    return;
  }
  PGconn *c = PQconnectdb(g_db.url);
  ASSERT_TRUE(PQstatus(c) == CONNECTION_OK);
  PGresult *res = PQexec(c, k_pg_v2);
  EXPECT_TRUE(PQresultStatus(res) == PGRES_COMMAND_OK);
  PQclear(res);
  PQfinish(c);
}

/* The stored schema version after the upgrade. */
static int schema_version(void) {
  int v = -1;
  if (!g_db.pg) {
    sqlite3 *db;
    sqlite3_stmt *st;
    if (sqlite3_open(g_db.path, &db) != SQLITE_OK) return -1;
    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
  }
  PGconn *c = PQconnectdb(g_db.url);
  PGresult *res = PQexec(c, "SELECT value FROM qtune_meta WHERE key = 'schema_version'");
  if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) v = atoi(PQgetvalue(res, 0, 0));
  PQclear(res);
  PQfinish(c);
  return v;
}

static void upgrade_v2_pruned_to_rejected(void) {
  sf_fresh(&g_db, g_db.pg ? "pg" : "sq");
  write_fixture();
  qt_storage s;
  qt_err e;
  ASSERT_TRUE(qt_storage_open(g_db.url, &s, &e) == 0);
  EXPECT_EQ(schema_version(), 4);
  qt_study_rec st;
  ASSERT_TRUE(s.vt->study_load(s.self, "old", &st, &e) == 0);
  qt_trial_rec *t;
  size_t n;
  ASSERT_TRUE(s.vt->trials_list(s.self, st.id, 0, &t, &n, &e) == 0);
  ASSERT_TRUE(n == 3);
  EXPECT_EQ(t[0].state, QT_TRIAL_COMPLETE);
  EXPECT_EQ(t[1].state, QT_TRIAL_REJECTED); /* was 'pruned': the strategy refused */
  EXPECT_STREQ(t[1].error, "fast must be below slow");
  EXPECT_EQ(t[2].state, QT_TRIAL_FAIL);
  EXPECT_EQ(t[0].last_step, -1);
  EXPECT_TRUE(t[0].intermediate_json == NULL && t[0].note == NULL);
  qt_trial_recs_free(t, n);
  /* only the rejected row is selected by its bit */
  ASSERT_TRUE(s.vt->trials_list(s.self, st.id, 1u << QT_TRIAL_REJECTED, &t, &n, &e) == 0);
  EXPECT_EQ(n, 1);
  qt_trial_recs_free(t, n);
  ASSERT_TRUE(s.vt->trials_list(s.self, st.id, 1u << QT_TRIAL_PRUNED, &t, &n, &e) == 0);
  EXPECT_EQ(n, 0);
  qt_trial_recs_free(t, n);
  /* the pruner's state is storable now, with its intermediate values */
  int64_t id, num;
  ASSERT_TRUE(s.vt->trial_claim(s.self, st.id, "{\"x\":1}", "w", 0, &id, &num, &e) == 0);
  EXPECT_EQ(num, 3);
  EXPECT_EQ(s.vt->trial_set_intermediate(s.self, id, "[[1,0.5],[2,0.25]]", 2, &e), 0);
  EXPECT_EQ(s.vt->trial_finish(s.self, id, QT_TRIAL_PRUNED, NAN, NULL, "{}", -1, NULL, &e), 0);
  EXPECT_EQ(s.vt->trial_set_intermediate(s.self, id, "[]", 3, &e), QT_ESTATE);
  EXPECT_EQ(s.vt->trial_finish(s.self, id, QT_TRIAL_WAITING, NAN, NULL, NULL, -1, NULL, &e),
            QT_EINVAL);
  ASSERT_TRUE(s.vt->trials_list(s.self, st.id, 1u << QT_TRIAL_PRUNED, &t, &n, &e) == 0);
  ASSERT_TRUE(n == 1);
  EXPECT_EQ(t[0].last_step, 2);
  EXPECT_STREQ(t[0].intermediate_json, "[[1,0.5],[2,0.25]]");
  qt_trial_recs_free(t, n);
  qt_study_rec_fini(&st);
  qt_storage_close(&s);
  /* opening again changes nothing (the upgrade ran once) */
  ASSERT_TRUE(qt_storage_open(g_db.url, &s, &e) == 0);
  EXPECT_EQ(schema_version(), 4);
  qt_storage_close(&s);
}

static void waiting_trials_and_notes(void) {
  sf_fresh(&g_db, g_db.pg ? "pgw" : "sqw");
  qt_storage s;
  qt_err e;
  ASSERT_TRUE(qt_storage_open(g_db.url, &s, &e) == 0);
  qt_study_rec st;
  int created;
  ASSERT_TRUE(s.vt->study_create(s.self, "w", NULL, "{}", "{}", &st, &created, &e) == 0);
  int64_t id, num, id2, num2, ida, numa;
  char *pj = (char *)1;
  EXPECT_EQ(s.vt->trial_claim_waiting(s.self, st.id, "w0", &id, &num, &pj, &e), QT_DONE);
  EXPECT_TRUE(pj == NULL);
  ASSERT_TRUE(s.vt->trial_enqueue(s.self, st.id, "{\"x\":1}", 9, &id, &num, &e) == 0);
  ASSERT_TRUE(s.vt->trial_enqueue(s.self, st.id, "{\"x\":2}", 9, &id2, &num2, &e) == 0);
  EXPECT_EQ(num, 0);
  EXPECT_EQ(num2, 1);
  /* a sampled trial takes the next number after them */
  ASSERT_TRUE(s.vt->trial_claim(s.self, st.id, "{\"x\":9}", "w", 0, &ida, &numa, &e) == 0);
  EXPECT_EQ(numa, 2);
  qt_trial_rec *t;
  size_t n;
  ASSERT_TRUE(s.vt->trials_list(s.self, st.id, 1u << QT_TRIAL_WAITING, &t, &n, &e) == 0);
  EXPECT_EQ(n, 2);
  qt_trial_recs_free(t, n);
  /* a waiting trial is not running: it cannot be finished */
  EXPECT_EQ(s.vt->trial_finish(s.self, id, QT_TRIAL_COMPLETE, 1, "[1]", "{}", 1, NULL, &e),
            QT_ESTATE);
  /* claimed in number order, once each */
  int64_t cid, cnum;
  ASSERT_TRUE(s.vt->trial_claim_waiting(s.self, st.id, "w0", &cid, &cnum, &pj, &e) == 0);
  EXPECT_EQ(cnum, 0);
  EXPECT_EQ(cid, id);
  EXPECT_STREQ(pj, "{\"x\":1}");
  qt_free(pj);
  ASSERT_TRUE(s.vt->trial_claim_waiting(s.self, st.id, "w1", &cid, &cnum, &pj, &e) == 0);
  EXPECT_EQ(cnum, 1);
  qt_free(pj);
  EXPECT_EQ(s.vt->trial_claim_waiting(s.self, st.id, "w0", &cid, &cnum, &pj, &e), QT_DONE);
  ASSERT_TRUE(s.vt->trials_list(s.self, st.id, 1u << QT_TRIAL_RUNNING, &t, &n, &e) == 0);
  ASSERT_TRUE(n == 3);
  EXPECT_STREQ(t[1].worker, "w1");
  EXPECT_EQ(t[0].seed, 9);
  EXPECT_TRUE(t[0].started_ms > 0);
  qt_trial_recs_free(t, n);
  /* notes on any trial, finished or not; a missing trial is named */
  EXPECT_EQ(s.vt->trial_finish(s.self, id, QT_TRIAL_COMPLETE, 1, "[1]", "{}", 1, NULL, &e), 0);
  EXPECT_EQ(s.vt->trial_set_note(s.self, st.id, 0, "looks good", &e), 0);
  EXPECT_EQ(s.vt->trial_set_note(s.self, st.id, 7, "x", &e), QT_ENOTFOUND);
  EXPECT_CONTAINS(e.msg, "7");
  ASSERT_TRUE(s.vt->trials_list(s.self, st.id, 0, &t, &n, &e) == 0);
  EXPECT_STREQ(t[0].note, "looks good");
  qt_trial_recs_free(t, n);
  EXPECT_EQ(s.vt->trial_set_note(s.self, st.id, 0, NULL, &e), 0);
  ASSERT_TRUE(s.vt->trials_list(s.self, st.id, 0, &t, &n, &e) == 0);
  EXPECT_TRUE(t[0].note == NULL);
  qt_trial_recs_free(t, n);
  qt_study_rec_fini(&st);
  qt_storage_close(&s);
}

static void state_names(void) {
  EXPECT_STREQ(qt_trial_state_name(QT_TRIAL_REJECTED), "rejected");
  EXPECT_STREQ(qt_trial_state_name(QT_TRIAL_PRUNED), "pruned");
  EXPECT_STREQ(qt_trial_state_name(QT_TRIAL_WAITING), "waiting");
  int k;
  qt_err e;
  EXPECT_EQ(qt_trial_state_from_name("rejected", &k, &e), 0);
  EXPECT_EQ(k, QT_TRIAL_REJECTED);
  EXPECT_EQ(qt_trial_state_from_name("bogus", &k, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "rejected, fail, pruned, waiting");
}

BOTH(upgrade_v2_pruned_to_rejected)
BOTH(waiting_trials_and_notes)

QT_TESTS(T(state_names), T(sqlite_upgrade_v2_pruned_to_rejected),
         T(pg_upgrade_v2_pruned_to_rejected), T(sqlite_waiting_trials_and_notes),
         T(pg_waiting_trials_and_notes))
