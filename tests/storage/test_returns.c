#include "qt_test.h"
#include "storage/storage_int.h"
#include "storage_fixture.h"

#include <math.h>
#include <unistd.h>

/* The trial_returns table (src/storage/returns.c) on SQLite and on the
 * PostgreSQL of QTUNE_PG_URL (tests/run.sh starts it). */
static sf_db g_db = {.name = "returns",
                     .drop = "DROP TABLE IF EXISTS trial_returns"};

static void round_trip(void) {
  qt_storage s;
  qt_err e = {0};
  sf_open_fresh(&g_db, "rt", &s);
  /* lengths 1, 2, 3 and 4 values cover every base64 padding case */
  double r3[] = {0.0125, -0.5, 3.25e-5}, r1[] = {-0.001}, r4[] = {1, 2, 3, 4}, bh[] = {0.1, 0.2};
  EXPECT_EQ(qt_returns_put(&s, 7, 3, 86400000, 1000, r3, 3, &e), 0);
  EXPECT_EQ(qt_returns_put(&s, 7, 1, 86400000, 1000, r1, 1, &e), 0);
  EXPECT_EQ(qt_returns_put(&s, 7, 2, 3600000, 5, r4, 4, &e), 0);
  EXPECT_EQ(qt_returns_put(&s, 7, QT_RETURNS_BUY_HOLD, 86400000, 1000, bh, 2, &e), 0);
  EXPECT_EQ(qt_returns_put(&s, 8, 1, 86400000, 0, r4, 4, &e), 0); /* another study */
  qt_returns_rec *v = NULL;
  size_t n = 0;
  EXPECT_EQ(qt_returns_list(&s, 7, &v, &n, &e), 0);
  ASSERT_TRUE(n == 4);
  EXPECT_EQ(v[0].number, QT_RETURNS_BUY_HOLD); /* the benchmark first */
  EXPECT_EQ(v[1].number, 1);
  EXPECT_EQ(v[3].number, 3);
  EXPECT_EQ(v[3].n, 3);
  EXPECT_EQ(v[3].period_ms, 86400000);
  EXPECT_EQ(v[3].start_ms, 1000);
  EXPECT_EQ(v[2].period_ms, 3600000);
  for (size_t i = 0; i < 3; i++) EXPECT_DBL_EQ(v[3].r[i], (double)(float)r3[i]); /* float32 */
  for (size_t i = 0; i < 4; i++) EXPECT_DBL_EQ(v[2].r[i], r4[i]);
  EXPECT_DBL_EQ(v[1].r[0], (double)(float)-0.001);
  EXPECT_NEAR(v[0].r[1], 0.2, 1e-7);
  qt_returns_recs_free(v, n);
  /* immutable: a second series for trial 3 is refused, the first kept */
  double other[] = {9, 9, 9};
  EXPECT_EQ(qt_returns_put(&s, 7, 3, 86400000, 1000, other, 3, &e), QT_ESTATE);
  EXPECT_CONTAINS(e.msg, "trial 3");
  EXPECT_EQ(qt_returns_list(&s, 7, &v, &n, &e), 0);
  ASSERT_TRUE(n == 4);
  EXPECT_DBL_EQ(v[3].r[0], (double)(float)0.0125);
  qt_returns_recs_free(v, n);
  size_t nd = 0;
  EXPECT_EQ(qt_returns_delete(&s, 7, &nd, &e), 0);
  EXPECT_EQ(nd, 4);
  EXPECT_EQ(qt_returns_list(&s, 7, &v, &n, &e), 0);
  EXPECT_EQ(n, 0);
  EXPECT_PTR_EQ(v, NULL);
  EXPECT_EQ(qt_returns_list(&s, 8, &v, &n, &e), 0);
  EXPECT_EQ(n, 1);
  qt_returns_recs_free(v, n);
  qt_storage_close(&s);
}

static void bad_input(void) {
  qt_storage s;
  qt_err e = {0};
  sf_open_fresh(&g_db, "bad", &s);
  double r[] = {0.1, NAN, 0.2}, big[] = {1e300};
  EXPECT_EQ(qt_returns_put(&s, 1, 4, 86400000, 0, r, 3, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "value 1");
  EXPECT_EQ(qt_returns_put(&s, 1, 4, 86400000, 0, big, 1, &e), QT_EINVAL); /* beyond float32 */
  EXPECT_EQ(qt_returns_put(&s, 1, 4, 86400000, 0, r, 0, &e), QT_EINVAL);
  EXPECT_EQ(qt_returns_put(&s, 1, 4, 0, 0, r, 1, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "period");
  /* a corrupt stored row is named, not read as garbage */
  EXPECT_EQ(qt_returns_put(&s, 1, 5, 86400000, 0, r, 1, &e), 0);
  qt__sql_arg a[] = {QT__SQL_T("@@@@")};
  EXPECT_EQ(qt__sql_exec(&s, "UPDATE trial_returns SET data = $1", a, 1, NULL, NULL, NULL, &e), 0);
  qt_returns_rec *v = NULL;
  size_t n = 9;
  EXPECT_EQ(qt_returns_list(&s, 1, &v, &n, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "trial 5");
  EXPECT_CONTAINS(e.msg, "'data'");
  EXPECT_EQ(n, 0);
  qt_storage_close(&s);
}

/* Every allocation of put and list failed in turn: QT_ENOMEM, nothing
 * stored half-way, nothing leaked (ASan), and then it works. */
static void alloc_failures(void) {
  qt_storage s;
  qt_err e = {0};
  sf_open_fresh(&g_db, "oom", &s);
  double r[] = {0.1, 0.2, 0.3};
  EXPECT_EQ(qt_returns_put(&s, 1, 0, 1000, 0, r, 3, &e), 0); /* creates the table */
  int done = 0;
  for (long n = 1; n < 50 && !done; n++) {
    qt_alloc_fail_at(n, 0);
    int rc = qt_returns_put(&s, 1, 1, 1000, 0, r, 3, &e);
    qt_alloc_fail_at(0, 0);
    if (rc == QT_OK) done = 1;
    else EXPECT_EQ(rc, QT_ENOMEM);
  }
  EXPECT_TRUE(done);
  done = 0;
  for (long n = 1; n < 50 && !done; n++) {
    qt_returns_rec *v = NULL;
    size_t k = 7;
    qt_alloc_fail_at(n, 0);
    int rc = qt_returns_list(&s, 1, &v, &k, &e);
    qt_alloc_fail_at(0, 0);
    if (rc == QT_OK) {
      done = 1;
      EXPECT_EQ(k, 2);
      qt_returns_recs_free(v, k);
    } else {
      EXPECT_EQ(rc, QT_ENOMEM);
      EXPECT_EQ(k, 0);
      EXPECT_PTR_EQ(v, NULL);
    }
  }
  EXPECT_TRUE(done);
  qt_storage_close(&s);
}

BOTH(round_trip)
BOTH(bad_input)

ON_SQLITE(alloc_failures)

QT_TESTS(T(sqlite_round_trip), T(pg_round_trip), T(sqlite_bad_input), T(pg_bad_input),
         T(sqlite_alloc_failures))
