#include "qt_test.h"
#include "storage/storage_int.h"
#include "storage_fixture.h"

#include <pthread.h>
#include <unistd.h>

/* The gate_verdicts table (src/storage/gates.c) on SQLite and on the
 * PostgreSQL of QTUNE_PG_URL: the stage each verdict leaves, the check of
 * the stage the caller saw, and two gates at once. */
static sf_db g_db = {.name = "gates",
                     .drop = "DROP TABLE IF EXISTS gate_verdicts"};

static void stages(void) {
  qt_storage s;
  qt_err e = {0};
  ASSERT_TRUE(sf_open_fresh(&g_db, "stages", &s) == 0);
  char st[16];
  EXPECT_EQ(qt_gate_stage(&s, 5, st, sizeof st, &e), 0);
  EXPECT_STREQ(st, "backtest"); /* no verdict yet */
  qt_gate_rec g;
  EXPECT_EQ(qt_gate_record(&s, 5, 0, "backtest", "{\"why\": \"fail\"}", 1000, &g, &e), 0);
  EXPECT_STREQ(g.stage_from, "backtest");
  EXPECT_STREQ(g.stage_to, "backtest");
  EXPECT_EQ(qt_gate_record(&s, 5, 1, "backtest", "{}", 2000, &g, &e), 0);
  EXPECT_STREQ(g.stage_to, "paper"); /* a pass promotes backtest -> paper */
  EXPECT_EQ(qt_gate_record(&s, 5, 1, "paper", "{}", 3000, &g, &e), 0);
  EXPECT_STREQ(g.stage_to, "paper"); /* paper -> live needs paper outcomes */
  /* the caller saw "backtest": another gate promoted it meanwhile */
  EXPECT_EQ(qt_gate_record(&s, 5, 0, "backtest", "{}", 4000, &g, &e), QT_ESTATE);
  EXPECT_CONTAINS(e.msg, "changed from backtest to paper");
  EXPECT_EQ(qt_gate_record(&s, 5, 0, NULL, "{}", 5000, &g, &e), 0);
  EXPECT_STREQ(g.stage_from, "paper");
  EXPECT_STREQ(g.stage_to, "backtest"); /* a fail demotes */
  EXPECT_EQ(qt_gate_stage(&s, 6, st, sizeof st, &e), 0);
  EXPECT_STREQ(st, "backtest"); /* another study is untouched */
  qt_gate_rec *v = NULL;
  size_t n = 0;
  EXPECT_EQ(qt_gate_list(&s, 5, &v, &n, &e), 0);
  ASSERT_TRUE(n == 4);
  EXPECT_EQ(v[0].pass, 0);
  EXPECT_EQ(v[1].pass, 1);
  EXPECT_EQ(v[3].at_ms, 5000);
  EXPECT_CONTAINS(v[0].report_json, "fail");
  qt_gate_recs_free(v, n);
  qt_storage_close(&s);
}

/* Two processes' worth of gates (two connections) promote the same study
 * from backtest at once: one wins, the other is told the stage changed. */
static void *racer(void *arg) {
  qt_storage s;
  qt_err e = {0};
  if (qt_storage_open(g_db.url, &s, &e)) return (void *)(intptr_t)-100;
  int r = qt_gate_record(&s, 9, 1, "backtest", "{}", 1, NULL, &e);
  qt_storage_close(&s);
  return (void *)(intptr_t)r;
}

static void race(void) {
  qt_storage s;
  qt_err e = {0};
  ASSERT_TRUE(sf_open_fresh(&g_db, "race", &s) == 0);
  char st[16];
  EXPECT_EQ(qt_gate_stage(&s, 9, st, sizeof st, &e), 0); /* creates the table */
  int ok = 0, estate = 0;
  for (int round = 0; round < 5; round++) {
    qt_gate_record(&s, 9, 0, NULL, "{}", 0, NULL, &e); /* back to backtest */
    pthread_t t[2];
    for (int k = 0; k < 2; k++) pthread_create(&t[k], NULL, racer, NULL);
    for (int k = 0; k < 2; k++) {
      void *rv;
      pthread_join(t[k], &rv);
      int r = (int)(intptr_t)rv;
      ok += r == 0;
      estate += r == QT_ESTATE;
    }
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(estate, 5);
  qt_storage_close(&s);
}

BOTH(stages)
BOTH(race)

QT_TESTS(T(sqlite_stages), T(pg_stages), T(sqlite_race), T(pg_race))
