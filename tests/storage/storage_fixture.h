/* The fresh database every storage test starts from: a new SQLite file
 * under /tmp, or the PostgreSQL server of QTUNE_PG_URL (tests/run.sh starts
 * a private one; without it the PostgreSQL tests fail to connect) with the
 * test's tables dropped.  A test file defines
 *   static sf_db g_db = {.name = "gates", .drop = "DROP TABLE IF EXISTS gate_verdicts"};
 * and runs each test on both backends with ON_SQLITE(fn), ON_PG(fn), BOTH(fn). */
#ifndef QTUNE_TESTS_STORAGE_STORAGE_FIXTURE_H
#define QTUNE_TESTS_STORAGE_STORAGE_FIXTURE_H

#include "qt_test.h"
#include "qtune/storage.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct sf_db {
  const char *name; /* in the SQLite file's name: /tmp/qtune_test_<name>_<tag>_<pid>.db */
  const char *drop; /* SQL dropping the test's tables on PostgreSQL (they outlive a run) */
  int pg;           /* the running test's backend: 0 SQLite, 1 PostgreSQL */
  char path[256];   /* the SQLite file, set on both backends */
  char url[512];    /* what qt_storage_open takes */
} sf_db;

/* A URL that fails to connect, so a missing server fails the tests, loudly. */
#define SF_NO_SERVER "postgresql://qtune-no-server-configured@127.0.0.1:1/none"

/* Makes db's database empty for the test named tag: removes the SQLite file
 * (and its -wal, -shm) or drops db->drop's tables on the server. */
static inline void sf_fresh(sf_db *db, const char *tag) {
  snprintf(db->path, sizeof db->path, "/tmp/qtune_test_%s_%s_%d.db", db->name, tag, (int)getpid());
  unlink(db->path);
  char x[300];
  snprintf(x, sizeof x, "%s-wal", db->path);
  unlink(x);
  snprintf(x, sizeof x, "%s-shm", db->path);
  unlink(x);
  snprintf(db->url, sizeof db->url, "sqlite:///%s", db->path);
  if (!db->pg) return;
  const char *pg = getenv("QTUNE_PG_URL");
  snprintf(db->url, sizeof db->url, "%s", pg ? pg : SF_NO_SERVER);
  PGconn *c = PQconnectdb(db->url);
  if (PQstatus(c) == CONNECTION_OK) {
    PQclear(PQexec(c, "SET client_min_messages = warning")); /* no NOTICE per missing table */
    PQclear(PQexec(c, db->drop));
  }
  PQfinish(c);
}

/* Opens db->url into *s; a failure is the test's (with the message). */
static inline int sf_open(sf_db *db, qt_storage *s) {
  qt_err e = {0};
  int r = qt_storage_open(db->url, s, &e);
  if (r) fprintf(stderr, "open: %s\n", e.msg);
  EXPECT_EQ(r, 0);
  return r;
}

/* sf_fresh, then sf_open. */
static inline int sf_open_fresh(sf_db *db, const char *tag, qt_storage *s) {
  sf_fresh(db, tag);
  return sf_open(db, s);
}

#define ON_SQLITE(fn) static void sqlite_##fn(void) { g_db.pg = 0; fn(); }
#define ON_PG(fn) static void pg_##fn(void) { g_db.pg = 1; fn(); }
#define BOTH(fn) ON_SQLITE(fn) ON_PG(fn)

#endif
