#include "qt_test.h"
#include "qtune/storage.h"
#include "storage_fixture.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

/* The same conformance tests run on every backend: SQLite on a temp file and
 * PostgreSQL on the server named by QTUNE_PG_URL (tests/run.sh starts a
 * private one on loopback).  A missing server fails the PostgreSQL tests. */
static sf_db g_db = {.name = "sqlite",
                     .drop = "DROP TABLE IF EXISTS trials, studies, qtune_meta CASCADE"};

static void study_create_then_load(void) {
  qt_storage s;
  sf_open_fresh(&g_db, "study", &s);
  ASSERT_TRUE(s.vt != NULL);
  qt_study_rec a, b;
  int created = -1;
  qt_err e;
  EXPECT_EQ(s.vt->study_create(s.self, "s1", "[\"maximize\"]", "{\"d\":1}", NULL, &a, &created, &e), 0);
  EXPECT_EQ(created, 1);
  EXPECT_STREQ(a.name, "s1");
  EXPECT_STREQ(a.space_json, "{\"d\":1}");
  EXPECT_TRUE(a.config_json == NULL);
  /* Same name again loads; the first space stays. */
  EXPECT_EQ(s.vt->study_create(s.self, "s1", "[\"minimize\"]", "{\"d\":2}", NULL, &b, &created, &e), 0);
  EXPECT_EQ(created, 0);
  EXPECT_EQ(a.id, b.id);
  EXPECT_STREQ(b.directions, "[\"maximize\"]");
  EXPECT_STREQ(b.space_json, "{\"d\":1}");
  qt_study_rec_fini(&a);
  qt_study_rec_fini(&b);
  EXPECT_EQ(s.vt->study_load(s.self, "nope", &a, &e), QT_ENOTFOUND);
  EXPECT_CONTAINS(e.msg, "nope");
  EXPECT_EQ(s.vt->study_create(s.self, "", NULL, NULL, NULL, &a, &created, &e), QT_EINVAL);
  qt_study_rec *list;
  size_t n;
  EXPECT_EQ(s.vt->study_create(s.self, "s2", NULL, NULL, NULL, &a, &created, &e), 0);
  qt_study_rec_fini(&a);
  EXPECT_EQ(s.vt->study_list(s.self, &list, &n, &e), 0);
  EXPECT_EQ(n, 2);
  for (size_t i = 0; i < n; i++) qt_study_rec_fini(&list[i]);
  qt_free(list);
  qt_storage_close(&s);
  /* Reopen: the data is on disk. */
  sf_open(&g_db, &s);
  EXPECT_EQ(s.vt->study_load(s.self, "s2", &a, &e), 0);
  EXPECT_STREQ(a.directions, "[\"maximize\"]");
  qt_study_rec_fini(&a);
  qt_storage_close(&s);
}

/* A study's config is replaced after creation (a holdout's results go there),
 * read back by load, and an unknown id is refused. */
static void study_set_config(void) {
  qt_storage s;
  sf_open_fresh(&g_db, "setcfg", &s);
  qt_study_rec a, b;
  int created = -1;
  qt_err e;
  EXPECT_EQ(s.vt->study_create(s.self, "c1", "[\"maximize\"]", "{}", "{\"seed\":1}", &a, &created, &e), 0);
  EXPECT_EQ(s.vt->study_set_config(s.self, a.id, "{\"seed\":1,\"holdout\":{\"rho\":0.5}}", &e), 0);
  EXPECT_EQ(s.vt->study_load(s.self, "c1", &b, &e), 0);
  EXPECT_STREQ(b.config_json, "{\"seed\":1,\"holdout\":{\"rho\":0.5}}");
  qt_study_rec_fini(&b);
  EXPECT_EQ(s.vt->study_set_config(s.self, a.id + 1000, "{}", &e), QT_ENOTFOUND);
  EXPECT_CONTAINS(e.msg, "no such study");
  qt_study_rec_fini(&a);
  qt_storage_close(&s);
}

static void trials_lifecycle(void) {
  qt_storage s;
  sf_open_fresh(&g_db, "trials", &s);
  qt_study_rec st;
  int created;
  qt_err e;
  ASSERT_TRUE(s.vt->study_create(s.self, "t", NULL, NULL, NULL, &st, &created, &e) == 0);
  int64_t ids[3], num;
  for (int i = 0; i < 3; i++) {
    EXPECT_EQ(s.vt->trial_claim(s.self, st.id, "{\"a\":1}", "w0", 100 + i, &ids[i], &num, &e), 0);
    EXPECT_EQ(num, i);
  }
  EXPECT_EQ(s.vt->trial_set_params(s.self, ids[0], "{\"a\":2}", &e), 0);
  EXPECT_EQ(s.vt->trial_finish(s.self, ids[0], QT_TRIAL_COMPLETE, 1.5, "[1.5]", "{\"sharpe\":1.5}", 1, NULL, &e), 0);
  EXPECT_EQ(s.vt->trial_finish(s.self, ids[1], QT_TRIAL_FAIL, NAN, NULL, NULL, -1, "boom", &e), 0);
  /* Finished trials are immutable. */
  EXPECT_EQ(s.vt->trial_finish(s.self, ids[0], QT_TRIAL_COMPLETE, 9.0, NULL, NULL, 1, NULL, &e), QT_ESTATE);
  EXPECT_CONTAINS(e.msg, "immutable");
  EXPECT_EQ(s.vt->trial_set_params(s.self, ids[0], "{}", &e), QT_ESTATE);
  EXPECT_EQ(s.vt->trial_finish(s.self, ids[2], QT_TRIAL_RUNNING, 0, NULL, NULL, 1, NULL, &e), QT_EINVAL);
  EXPECT_EQ(s.vt->trial_finish(s.self, 9999, QT_TRIAL_COMPLETE, 0, NULL, NULL, 1, NULL, &e), QT_ENOTFOUND);
  qt_trial_rec *t;
  size_t n;
  EXPECT_EQ(s.vt->trials_list(s.self, st.id, 0, &t, &n, &e), 0);
  ASSERT_TRUE(n == 3);
  EXPECT_EQ(t[0].state, QT_TRIAL_COMPLETE);
  EXPECT_NEAR(t[0].score, 1.5, 0);
  EXPECT_STREQ(t[0].params_json, "{\"a\":2}");
  EXPECT_STREQ(t[0].metrics_json, "{\"sharpe\":1.5}");
  EXPECT_EQ(t[0].constraint_ok, 1);
  EXPECT_EQ(t[0].seed, 100);
  EXPECT_STREQ(t[0].worker, "w0");
  EXPECT_TRUE(t[0].finished_ms > 0);
  EXPECT_EQ(t[1].state, QT_TRIAL_FAIL);
  EXPECT_TRUE(isnan(t[1].score));
  EXPECT_STREQ(t[1].error, "boom");
  EXPECT_EQ(t[1].constraint_ok, -1);
  EXPECT_EQ(t[2].state, QT_TRIAL_RUNNING);
  EXPECT_TRUE(t[2].metrics_json == NULL);
  qt_trial_recs_free(t, n);
  EXPECT_EQ(s.vt->trials_list(s.self, st.id, 1u << QT_TRIAL_COMPLETE, &t, &n, &e), 0);
  EXPECT_EQ(n, 1);
  qt_trial_recs_free(t, n);
  /* Scores are derived and may be renormalized. */
  double sc = 0.25;
  EXPECT_EQ(s.vt->trials_set_scores(s.self, &ids[0], &sc, 1, &e), 0);
  EXPECT_EQ(s.vt->trials_list(s.self, st.id, 1u << QT_TRIAL_COMPLETE, &t, &n, &e), 0);
  EXPECT_NEAR(t[0].score, 0.25, 0);
  qt_trial_recs_free(t, n);
  /* Heartbeat then stale recovery: with a negative window every running trial is stale. */
  EXPECT_EQ(s.vt->heartbeat(s.self, ids[2], &e), 0);
  size_t rec;
  EXPECT_EQ(s.vt->recover_stale(s.self, st.id, 60000, &rec, &e), 0);
  EXPECT_EQ(rec, 0);
  EXPECT_EQ(s.vt->recover_stale(s.self, st.id, -1000, &rec, &e), 0);
  EXPECT_EQ(rec, 1);
  EXPECT_EQ(s.vt->trials_list(s.self, st.id, 1u << QT_TRIAL_FAIL, &t, &n, &e), 0);
  EXPECT_EQ(n, 2);
  EXPECT_CONTAINS(t[1].error, "stale");
  char *stale_params = t[1].params_json ? strdup(t[1].params_json) : NULL;
  int64_t stale_number = t[1].number;
  qt_trial_recs_free(t, n);
  /* The recovered trial's params wait to run again, once, under a new number. */
  EXPECT_EQ(s.vt->trials_list(s.self, st.id, 1u << QT_TRIAL_WAITING, &t, &n, &e), 0);
  ASSERT_TRUE(n == 1);
  EXPECT_EQ(t[0].number, 3);
  EXPECT_STREQ(t[0].params_json ? t[0].params_json : "", stale_params ? stale_params : "");
  char want_note[64];
  snprintf(want_note, sizeof want_note, "retry of trial %lld", (long long)stale_number);
  EXPECT_STREQ(t[0].note ? t[0].note : "", want_note);
  qt_trial_recs_free(t, n);
  free(stale_params);
  /* A retry that goes stale too is failed, not retried again. */
  char *wp = NULL;
  int64_t wid = 0, wnum = 0;
  EXPECT_EQ(s.vt->trial_claim_waiting(s.self, st.id, "w2", &wid, &wnum, &wp, &e), 0);
  EXPECT_EQ(wnum, 3);
  qt_free(wp);
  EXPECT_EQ(s.vt->recover_stale(s.self, st.id, -1000, &rec, &e), 0);
  EXPECT_EQ(rec, 1);
  EXPECT_EQ(s.vt->trials_list(s.self, st.id, 1u << QT_TRIAL_WAITING, &t, &n, &e), 0);
  EXPECT_EQ(n, 0);
  qt_trial_recs_free(t, n);
  /* Cleanup deletes finished trials under a score only. */
  EXPECT_EQ(s.vt->trials_delete_worse(s.self, st.id, 0.5, 0, &rec, &e), 0);
  EXPECT_EQ(rec, 1);
  EXPECT_EQ(s.vt->trials_list(s.self, st.id, 0, &t, &n, &e), 0);
  EXPECT_EQ(n, 3);
  qt_trial_recs_free(t, n);
  /* Numbering continues after the highest number, never reusing one. */
  EXPECT_EQ(s.vt->trial_claim(s.self, st.id, NULL, "w", 0, &ids[0], &num, &e), 0);
  EXPECT_EQ(num, 4);
  EXPECT_EQ(s.vt->study_delete(s.self, st.id, &e), 0);
  qt_study_rec_fini(&st);
  EXPECT_EQ(s.vt->study_load(s.self, "t", &st, &e), QT_ENOTFOUND);
  qt_storage_close(&s);
}

/* Cleanup deletes the worse end of the direction it is given, and the
 * numbers of deleted trials (the highest among them) are never reused. */
static void cleanup_direction_and_numbers(void) {
  qt_storage s;
  sf_open_fresh(&g_db, "hw", &s);
  qt_study_rec st;
  int created;
  qt_err e;
  ASSERT_TRUE(s.vt->study_create(s.self, "hw", "[\"minimize\"]", "{}", "{}", &st, &created, &e) == 0);
  int64_t id, num;
  for (int i = 0; i < 4; i++) { /* scores 0, 1, 2, 3 for trials #0..#3 */
    ASSERT_TRUE(s.vt->trial_claim(s.self, st.id, "{}", "w", 0, &id, &num, &e) == 0);
    EXPECT_EQ(num, i);
    EXPECT_EQ(s.vt->trial_finish(s.self, id, QT_TRIAL_COMPLETE, i, "[0]", "{}", 1, NULL, &e), 0);
  }
  size_t n_del;
  /* minimizing: above 1.5 is the worse end, #2 and #3 */
  EXPECT_EQ(s.vt->trials_delete_worse(s.self, st.id, 1.5, 1, &n_del, &e), 0);
  EXPECT_EQ(n_del, 2);
  qt_trial_rec *t;
  size_t n;
  EXPECT_EQ(s.vt->trials_list(s.self, st.id, 0, &t, &n, &e), 0);
  ASSERT_TRUE(n == 2);
  EXPECT_EQ(t[0].number, 0);
  EXPECT_EQ(t[1].number, 1);
  qt_trial_recs_free(t, n);
  EXPECT_EQ(s.vt->trial_claim(s.self, st.id, "{}", "w", 0, &id, &num, &e), 0);
  EXPECT_EQ(num, 4); /* not 2 */
  /* maximizing: below 0.5 is the worse end, #0 */
  EXPECT_EQ(s.vt->trials_delete_worse(s.self, st.id, 0.5, 0, &n_del, &e), 0);
  EXPECT_EQ(n_del, 1);
  /* the mark survives reopening */
  qt_storage_close(&s);
  sf_open(&g_db, &s);
  EXPECT_EQ(s.vt->trial_claim(s.self, st.id, "{}", "w", 0, &id, &num, &e), 0);
  EXPECT_EQ(num, 5);
  EXPECT_EQ(s.vt->trial_claim(s.self, 999999, "{}", "w", 0, &id, &num, &e), QT_ENOTFOUND);
  qt_study_rec_fini(&st);
  qt_storage_close(&s);
}

/* Four processes claim and finish trials of one study on one file at once:
 * every number 0..N-1 appears exactly once and no call fails with a lock. */
static void four_processes_no_duplicates(void) {
  qt_storage s;
  sf_open_fresh(&g_db, "procs", &s);
  qt_study_rec st;
  int created;
  qt_err e;
  ASSERT_TRUE(s.vt->study_create(s.self, "p", NULL, NULL, NULL, &st, &created, &e) == 0);
  qt_storage_close(&s);
  enum { PROCS = 4, EACH = 40 };
  pid_t kids[PROCS];
  for (int p = 0; p < PROCS; p++) {
    kids[p] = fork();
    if (kids[p] == 0) {
      qt_storage c;
      qt_err ce;
      if (qt_storage_open(g_db.url, &c, &ce)) _exit(10);
      for (int i = 0; i < EACH; i++) {
        int64_t id, num;
        if (c.vt->trial_claim(c.self, st.id, "{}", "w", p, &id, &num, &ce)) {
          fprintf(stderr, "claim: %s\n", ce.msg);
          _exit(11);
        }
        if (c.vt->trial_finish(c.self, id, QT_TRIAL_COMPLETE, (double)num, NULL, "{}", 1, NULL, &ce)) {
          fprintf(stderr, "finish: %s\n", ce.msg);
          _exit(12);
        }
      }
      qt_storage_close(&c);
      _exit(0);
    }
  }
  for (int p = 0; p < PROCS; p++) {
    int status = 0;
    waitpid(kids[p], &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  sf_open(&g_db, &s);
  qt_trial_rec *t;
  size_t n;
  EXPECT_EQ(s.vt->trials_list(s.self, st.id, 0, &t, &n, &e), 0);
  EXPECT_EQ(n, PROCS * EACH);
  for (size_t i = 0; i < n; i++) {
    EXPECT_EQ(t[i].number, (int64_t)i);
    EXPECT_EQ(t[i].state, QT_TRIAL_COMPLETE);
  }
  qt_trial_recs_free(t, n);
  qt_study_rec_fini(&st);
  qt_storage_close(&s);
}

static void bad_urls_and_files(void) {
  qt_storage s;
  qt_err e;
  EXPECT_EQ(qt_storage_open("mysql://x", &s, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "unknown scheme");
  EXPECT_EQ(qt_storage_open("", &s, &e), QT_EINVAL);
  EXPECT_EQ(qt_storage_open("sqlite:////nonexistent-dir-qtune/x.db", &s, &e), QT_ESTORE);
  EXPECT_CONTAINS(e.msg, "nonexistent-dir-qtune/x.db");
  /* A file that is not a database. */
  sf_fresh(&g_db, "junk");
  FILE *f = fopen(g_db.path, "w");
  fputs("this is not a database, just text that is long enough to be a header......\n", f);
  fclose(f);
  char url[300];
  snprintf(url, sizeof url, "sqlite:///%s", g_db.path);
  EXPECT_EQ(qt_storage_open(url, &s, &e), QT_ESTORE);
  EXPECT_CONTAINS(e.msg, g_db.path);
  EXPECT_TRUE(s.vt == NULL);
}

/* A database written by a newer qtune is refused; an empty one is upgraded. */
static void schema_versions(void) {
  sf_fresh(&g_db, "newer");
  sqlite3 *db;
  ASSERT_TRUE(sqlite3_open(g_db.path, &db) == SQLITE_OK);
  sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
  sqlite3_close(db);
  char url[300];
  snprintf(url, sizeof url, "sqlite:///%s", g_db.path);
  qt_storage s;
  qt_err e;
  EXPECT_EQ(qt_storage_open(url, &s, &e), QT_ESTORE);
  EXPECT_CONTAINS(e.msg, "newer");
  sf_open_fresh(&g_db, "upgrade", &s);
  qt_storage_close(&s);
  ASSERT_TRUE(sqlite3_open(g_db.path, &db) == SQLITE_OK);
  sqlite3_stmt *st;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
  EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 4);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* A version-1 database (as qtune wrote it before trial numbers had a
 * high-water mark) is upgraded in place: its studies continue after their
 * highest trial number. */
static const char *const k_v1_fixture =
    "CREATE TABLE studies(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " created_at INTEGER NOT NULL, directions TEXT NOT NULL, space_json TEXT, config_json TEXT);"
    "CREATE TABLE trials(id INTEGER PRIMARY KEY,"
    " study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,"
    " number INTEGER NOT NULL,"
    " state TEXT NOT NULL CHECK(state IN ('running','complete','pruned','fail')),"
    " params_json TEXT, score REAL, values_json TEXT, metrics_json TEXT, constraint_ok INTEGER,"
    " worker TEXT, seed INTEGER, started_at INTEGER, heartbeat_at INTEGER, finished_at INTEGER,"
    " error TEXT, UNIQUE(study_id, number));"
    "CREATE INDEX trials_study_state ON trials(study_id, state);"
    "INSERT INTO studies VALUES(1, 'old', 1, '[\"maximize\"]', '{}', '{}');"
    "INSERT INTO studies VALUES(2, 'empty', 1, '[\"maximize\"]', '{}', '{}');"
    "INSERT INTO trials(study_id, number, state, score) VALUES(1, 0, 'complete', 1),"
    " (1, 1, 'complete', 2), (1, 6, 'fail', NULL);"
    "PRAGMA user_version = 1;";

static void sqlite_upgrade_v1(void) {
  g_db.pg = 0;
  sf_fresh(&g_db, "v1");
  sqlite3 *db;
  ASSERT_TRUE(sqlite3_open(g_db.path, &db) == SQLITE_OK);
  ASSERT_TRUE(sqlite3_exec(db, k_v1_fixture, NULL, NULL, NULL) == SQLITE_OK);
  sqlite3_close(db);
  qt_storage s;
  sf_open(&g_db, &s);
  qt_err e;
  int64_t id, num;
  /* v4: the old trials are read whole, later writes by their stamps */
  qt_trial_rec *v = NULL;
  size_t nv = 0;
  int64_t seq = -1, seq2 = -1;
  int full = 0;
  EXPECT_EQ(qt_trials_since(&s, 1, -1, &v, &nv, &seq, &full, &e), 0);
  EXPECT_EQ(nv, 3);
  qt_trial_recs_free(v, nv);
  EXPECT_EQ(s.vt->trial_claim(s.self, 1, "{}", "w", 0, &id, &num, &e), 0);
  EXPECT_EQ(num, 7);
  EXPECT_EQ(qt_trials_since(&s, 1, seq, &v, &nv, &seq2, &full, &e), 0);
  EXPECT_EQ(nv, 1);
  if (nv == 1) EXPECT_EQ(v[0].number, 7);
  qt_trial_recs_free(v, nv);
  EXPECT_EQ(s.vt->trial_claim(s.self, 2, "{}", "w", 0, &id, &num, &e), 0);
  EXPECT_EQ(num, 0);
  qt_storage_close(&s);
  ASSERT_TRUE(sqlite3_open(g_db.path, &db) == SQLITE_OK);
  sqlite3_stmt *st;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
  EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 4);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* The same on PostgreSQL: a version-1 schema with trials is upgraded. */
static void pg_upgrade_v1(void) {
  g_db.pg = 1;
  sf_fresh(&g_db, "pgv1");
  PGconn *c = PQconnectdb(g_db.url);
  ASSERT_TRUE(PQstatus(c) == CONNECTION_OK);
  PGresult *res = PQexec(c,
      "CREATE TABLE qtune_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "CREATE TABLE studies(id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
      " created_at BIGINT NOT NULL, directions TEXT NOT NULL, space_json TEXT, config_json TEXT);"
      "CREATE TABLE trials(id BIGSERIAL PRIMARY KEY,"
      " study_id BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE, number BIGINT NOT NULL,"
      " state TEXT NOT NULL, params_json TEXT, score DOUBLE PRECISION, values_json TEXT,"
      " metrics_json TEXT, constraint_ok INTEGER, worker TEXT, seed BIGINT, started_at BIGINT,"
      " heartbeat_at BIGINT, finished_at BIGINT, error TEXT, UNIQUE(study_id, number));"
      "INSERT INTO qtune_meta VALUES('schema_version', '1');"
      /* no explicit id: the sequence must stay right for the tests after */
      "INSERT INTO studies(name, created_at, directions) VALUES('old', 1, '[\"maximize\"]');"
      "INSERT INTO trials(study_id, number, state) SELECT id, n, 'complete' FROM studies,"
      " (VALUES (0), (6)) AS v(n) WHERE name = 'old';");
  EXPECT_TRUE(PQresultStatus(res) == PGRES_COMMAND_OK);
  PQclear(res);
  qt_storage s;
  sf_open(&g_db, &s);
  qt_err e;
  qt_study_rec st;
  ASSERT_TRUE(s.vt->study_load(s.self, "old", &st, &e) == 0);
  int64_t id, num;
  qt_trial_rec *v = NULL;
  size_t nv = 0;
  int64_t seq = -1, seq2 = -1;
  int full = 0;
  EXPECT_EQ(qt_trials_since(&s, st.id, -1, &v, &nv, &seq, &full, &e), 0);
  EXPECT_EQ(nv, 2);
  qt_trial_recs_free(v, nv);
  EXPECT_EQ(s.vt->trial_claim(s.self, st.id, "{}", "w", 0, &id, &num, &e), 0);
  EXPECT_EQ(num, 7);
  EXPECT_EQ(qt_trials_since(&s, st.id, seq, &v, &nv, &seq2, &full, &e), 0);
  EXPECT_EQ(nv, 1);
  if (nv == 1) EXPECT_EQ(v[0].number, 7);
  qt_trial_recs_free(v, nv);
  qt_study_rec_fini(&st);
  qt_storage_close(&s);
  res = PQexec(c, "SELECT value FROM qtune_meta WHERE key = 'schema_version'");
  EXPECT_STREQ(PQgetvalue(res, 0, 0), "4");
  PQclear(res);
  PQfinish(c);
}

static void out_of_memory_paths(void) {
  qt_storage s;
  sf_open_fresh(&g_db, "oom", &s);
  qt_study_rec st;
  int created;
  qt_err e;
  ASSERT_TRUE(s.vt->study_create(s.self, "m", "[\"maximize\"]", "{}", "{}", &st, &created, &e) == 0);
  int64_t id, num;
  EXPECT_EQ(s.vt->trial_claim(s.self, st.id, "{\"x\":1}", "w", 0, &id, &num, &e), 0);
  EXPECT_EQ(s.vt->trial_finish(s.self, id, QT_TRIAL_FAIL, NAN, NULL, "{}", 0, "err", &e), 0);
  for (long k = 1; k <= 4; k++) {
    qt_trial_rec *t = (void *)1;
    size_t n = 7;
    qt_alloc_fail_at(k, 0);
    int r = s.vt->trials_list(s.self, st.id, 0, &t, &n, &e);
    qt_alloc_fail_at(0, 0);
    EXPECT_EQ(r, QT_ENOMEM);
    EXPECT_TRUE(t == NULL);
    EXPECT_EQ(n, 0);
  }
  qt_study_rec b;
  qt_alloc_fail_at(2, 0);
  EXPECT_EQ(s.vt->study_load(s.self, "m", &b, &e), QT_ENOMEM);
  qt_alloc_fail_at(0, 0);
  EXPECT_TRUE(b.directions == NULL);
  qt_alloc_fail_at(1, 0);
  qt_storage s2;
  EXPECT_EQ(qt_storage_open(g_db.url, &s2, &e), QT_ENOMEM);
  qt_alloc_fail_at(0, 0);
  qt_study_rec_fini(&st);
  qt_storage_close(&s);
}

/* PostgreSQL refuses a schema newer than this qtune, like SQLite does. */
static void pg_schema_newer_refused(void) {
  qt_storage s;
  sf_open_fresh(&g_db, "pgnewer", &s);
  qt_storage_close(&s);
  PGconn *c = PQconnectdb(g_db.url);
  ASSERT_TRUE(PQstatus(c) == CONNECTION_OK);
  PQclear(PQexec(c, "UPDATE qtune_meta SET value = '99' WHERE key = 'schema_version'"));
  PQfinish(c);
  qt_err e;
  EXPECT_EQ(qt_storage_open(g_db.url, &s, &e), QT_ESTORE);
  EXPECT_CONTAINS(e.msg, "newer");
  EXPECT_EQ(qt_storage_open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", &s, &e), QT_ESTORE);
  EXPECT_CONTAINS(e.msg, "cannot connect");
}

BOTH(study_create_then_load)
BOTH(trials_lifecycle)
BOTH(study_set_config)
BOTH(four_processes_no_duplicates)
BOTH(out_of_memory_paths)
BOTH(cleanup_direction_and_numbers)
ON_SQLITE(bad_urls_and_files)
ON_SQLITE(schema_versions)
ON_PG(pg_schema_newer_refused)

QT_TESTS(T(sqlite_study_create_then_load), T(sqlite_trials_lifecycle), T(sqlite_study_set_config),
         T(sqlite_four_processes_no_duplicates), T(sqlite_out_of_memory_paths),
         T(sqlite_bad_urls_and_files), T(sqlite_schema_versions),
         T(pg_study_create_then_load), T(pg_trials_lifecycle), T(pg_study_set_config), T(pg_four_processes_no_duplicates),
         T(pg_out_of_memory_paths), T(pg_pg_schema_newer_refused),
         T(sqlite_cleanup_direction_and_numbers), T(pg_cleanup_direction_and_numbers),
         T(sqlite_upgrade_v1), T(pg_upgrade_v1))
