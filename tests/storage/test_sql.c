#include "qt_test.h"
#include "storage/storage_int.h"
#include "storage_fixture.h"

#include <math.h>
#include <pthread.h>
#include <unistd.h>

/* The portable statement layer the concept tables use (src/storage/sql.c),
 * on SQLite and on the PostgreSQL of QTUNE_PG_URL (tests/run.sh starts it). */
static sf_db g_db = {.name = "sql",
                     .drop = "DROP TABLE IF EXISTS qt_sqltest"};

static const char *const k_ddl =
    "CREATE TABLE IF NOT EXISTS qt_sqltest("
    " id @ID@, n @INT@ NOT NULL, x @REAL@, label TEXT, doc @JSON@);"
    "CREATE INDEX IF NOT EXISTS qt_sqltest_n ON qt_sqltest(n);";

typedef struct rows {
  int n;
  int64_t id[8], nn[8];
  double x[8];
  int x_null[8];
  char label[8][32];
  int label_null[8];
} rows;

static int collect(void *ctx, const qt__sql_val *c, int nc, qt_err *err) {
  rows *r = ctx;
  if (nc != 4 || r->n == 8) return qt_err_set(err, QT_EINVAL, "unexpected shape");
  r->id[r->n] = c[0].i;
  r->nn[r->n] = c[1].i;
  r->x[r->n] = c[2].d;
  r->x_null[r->n] = c[2].isnull;
  r->label_null[r->n] = c[3].isnull;
  snprintf(r->label[r->n], sizeof r->label[0], "%s", c[3].t ? c[3].t : "");
  r->n++;
  return QT_OK;
}

static int get_id(void *ctx, const qt__sql_val *c, int nc, qt_err *err) {
  *(int64_t *)ctx = c[0].i;
  return QT_OK;
}

static void open_fresh(qt_storage *s, const char *tag) {
  sf_open_fresh(&g_db, tag, s);
  qt_err e = {0};
  int r = qt__sql_schema(s, k_ddl, &e);
  if (r) fprintf(stderr, "schema: %s\n", e.msg);
  EXPECT_EQ(r, 0);
  EXPECT_EQ(qt__sql_schema(s, k_ddl, &e), 0); /* once per storage, then a no-op */
}

static void values_round_trip(void) {
  qt_storage s;
  qt_err e = {0};
  open_fresh(&s, "values");
  EXPECT_EQ(qt__sql_dialect(&s), g_db.pg ? QT__SQL_PG : QT__SQL_SQLITE);
  const char *ins = "INSERT INTO qt_sqltest(n, x, label, doc) VALUES($1, $2, $3, $4) RETURNING id";
  int64_t id1 = 0, id2 = 0, changes = -1;
  qt__sql_arg a1[] = {QT__SQL_I(INT64_C(9007199254740993)), QT__SQL_D(0.1 + 0.2),
                      QT__SQL_T("it's \"quoted\""), QT__SQL_T("{\"k\": [1, 2]}")};
  EXPECT_EQ(qt__sql_exec(&s, ins, a1, 4, get_id, &id1, NULL, &e), 0);
  qt__sql_arg a2[] = {QT__SQL_I(-5), QT__SQL_D(NAN), QT__SQL_T(NULL), QT__SQL_NULL};
  EXPECT_EQ(qt__sql_exec(&s, ins, a2, 4, get_id, &id2, NULL, &e), 0);
  EXPECT_TRUE(id1 > 0 && id2 > id1);
  rows r = {0};
  /* $2 is used before $1: SQLite binds by name, not by position. */
  qt__sql_arg q[] = {QT__SQL_I(-100), QT__SQL_I(INT64_C(9007199254740993))};
  EXPECT_EQ(qt__sql_exec(&s, "SELECT id, n, x, label FROM qt_sqltest WHERE n <= $2 AND n > $1 ORDER BY id",
                         q, 2, collect, &r, NULL, &e), 0);
  ASSERT_TRUE(r.n == 2);
  EXPECT_EQ(r.id[0], id1);
  EXPECT_EQ(r.nn[0], INT64_C(9007199254740993)); /* exact beyond 2^53 */
  EXPECT_TRUE(r.x[0] == 0.1 + 0.2);              /* the double bit for bit */
  EXPECT_STREQ(r.label[0], "it's \"quoted\"");
  EXPECT_EQ(r.nn[1], -5);
  EXPECT_TRUE(r.x_null[1] && isnan(r.x[1]));
  EXPECT_TRUE(r.label_null[1]);
  qt__sql_arg u[] = {QT__SQL_T("new")};
  EXPECT_EQ(qt__sql_exec(&s, "UPDATE qt_sqltest SET label = $1", u, 1, NULL, NULL, &changes, &e), 0);
  EXPECT_EQ(changes, 2);
  /* A bad statement names the backend and the statement. */
  EXPECT_NE(qt__sql_exec(&s, "SELECT nope FROM qt_sqltest", NULL, 0, NULL, NULL, NULL, &e), 0);
  EXPECT_CONTAINS(e.msg, "SELECT nope");
  qt_storage_close(&s);
}

static int insert_then_fail(qt_storage *s, void *ctx, qt_err *err) {
  qt__sql_arg a[] = {QT__SQL_I(1)};
  int r = qt__sql_exec(s, "INSERT INTO qt_sqltest(n) VALUES($1)", a, 1, NULL, NULL, NULL, err);
  if (r) return r;
  return *(int *)ctx ? qt_err_set(err, QT_ESTATE, "body refused") : QT_OK;
}

static int count_rows(qt_storage *s) {
  int64_t n = -1;
  qt_err e = {0};
  qt__sql_exec(s, "SELECT COUNT(*) FROM qt_sqltest", NULL, 0, get_id, &n, NULL, &e);
  return (int)n;
}

static void tx_commit_and_rollback(void) {
  qt_storage s;
  qt_err e = {0};
  open_fresh(&s, "tx");
  int fail = 1;
  EXPECT_EQ(qt__sql_tx(&s, insert_then_fail, &fail, &e), QT_ESTATE);
  EXPECT_STREQ(e.msg, "body refused");
  EXPECT_EQ(count_rows(&s), 0); /* rolled back */
  fail = 0;
  EXPECT_EQ(qt__sql_tx(&s, insert_then_fail, &fail, &e), 0);
  EXPECT_EQ(count_rows(&s), 1);
  qt_storage_close(&s);
}

/* Read-modify-write in a transaction from two storages (two connections) in
 * two threads: no update is lost. */
static int bump(qt_storage *s, void *ctx, qt_err *err) {
  int64_t v = 0;
  int r = qt__sql_exec(s, "SELECT n FROM qt_sqltest WHERE id = 1", NULL, 0, get_id, &v, NULL, err);
  qt__sql_arg a[] = {QT__SQL_I(v + 1)};
  if (!r) r = qt__sql_exec(s, "UPDATE qt_sqltest SET n = $1 WHERE id = 1", a, 1, NULL, NULL, NULL, err);
  return r;
}

static void *bumper(void *arg) {
  qt_storage s;
  qt_err e = {0};
  if (qt_storage_open(g_db.url, &s, &e)) return (void *)1;
  intptr_t bad = 0;
  for (int k = 0; k < 100; k++) {
    /* SQLite's BEGIN IMMEDIATE serializes the writers.  (PostgreSQL's READ
     * COMMITTED does not: a status change there is one conditional UPDATE,
     * "... WHERE status = 'pending'", atomic on both backends.) */
    if (qt__sql_tx(&s, bump, NULL, &e)) bad++;
  }
  qt_storage_close(&s);
  return (void *)bad;
}

static void tx_no_lost_update_sqlite(void) {
  g_db.pg = 0;
  qt_storage s;
  qt_err e = {0};
  open_fresh(&s, "race");
  qt__sql_arg a[] = {QT__SQL_I(0)};
  EXPECT_EQ(qt__sql_exec(&s, "INSERT INTO qt_sqltest(n) VALUES($1)", a, 1, NULL, NULL, NULL, &e), 0);
  pthread_t t[2];
  for (int k = 0; k < 2; k++) pthread_create(&t[k], NULL, bumper, NULL);
  for (int k = 0; k < 2; k++) {
    void *bad;
    pthread_join(t[k], &bad);
    EXPECT_EQ((intptr_t)bad, 0);
  }
  int64_t v = 0;
  qt__sql_exec(&s, "SELECT n FROM qt_sqltest WHERE id = 1", NULL, 0, get_id, &v, NULL, &e);
  EXPECT_EQ(v, 200);
  qt_storage_close(&s);
}

/* Threads sharing one storage: a transaction holds it, so another thread's
 * statement waits instead of landing inside it. */
typedef struct shared {
  qt_storage *s;
  intptr_t bad;
} shared;

static void *shared_bumper(void *arg) {
  shared *sh = arg;
  qt_err e = {0};
  for (int k = 0; k < 100; k++)
    if (qt__sql_tx(sh->s, bump, NULL, &e)) sh->bad++;
  return NULL;
}

static void tx_shared_storage_threads(void) {
  qt_storage s;
  qt_err e = {0};
  open_fresh(&s, "shared");
  qt__sql_arg a[] = {QT__SQL_I(0)};
  EXPECT_EQ(qt__sql_exec(&s, "INSERT INTO qt_sqltest(n) VALUES($1)", a, 1, NULL, NULL, NULL, &e), 0);
  shared sh[2] = {{&s, 0}, {&s, 0}};
  pthread_t t[2];
  for (int k = 0; k < 2; k++) pthread_create(&t[k], NULL, shared_bumper, &sh[k]);
  for (int k = 0; k < 2; k++) pthread_join(t[k], NULL);
  EXPECT_EQ(sh[0].bad + sh[1].bad, 0);
  int64_t v = 0;
  qt__sql_exec(&s, "SELECT n FROM qt_sqltest WHERE id = 1", NULL, 0, get_id, &v, NULL, &e);
  EXPECT_EQ(v, 200);
  qt_storage_close(&s);
}

BOTH(values_round_trip)
BOTH(tx_commit_and_rollback)
BOTH(tx_shared_storage_threads)

QT_TESTS(T(sqlite_values_round_trip), T(pg_values_round_trip), T(sqlite_tx_commit_and_rollback),
         T(pg_tx_commit_and_rollback), T(sqlite_tx_shared_storage_threads),
         T(pg_tx_shared_storage_threads), T(tx_no_lost_update_sqlite))
