#include "qt_test.h"
#include "qtune/storage.h"
#include "storage_fixture.h"

#include <unistd.h>

/* The tuning_results table (src/storage/campaign.c) on SQLite and on the
 * PostgreSQL of QTUNE_PG_URL: rows round-trip with the report's columns, a
 * session lists its campaigns in order, a repeated run_id refuses its whole
 * batch, a row without a session is refused. */
static sf_db g_db = {.name = "campaign",
                     .drop = "DROP TABLE IF EXISTS tuning_results"};

static qt_tuning_result_rec rec(const char *session, int id, double pnl) {
  qt_tuning_result_rec r;
  memset(&r, 0, sizeof r);
  snprintf(r.session_id, sizeof r.session_id, "%s", session);
  snprintf(r.run_id, sizeof r.run_id, "%s-%d", session, id);
  snprintf(r.param_set, sizeof r.param_set, "{\"min_spread_bps\": %d, \"slippage_bps\": 5}", 10 * id);
  r.total_pnl = pnl;
  r.total_trades = 10 + id, r.total_entries = 6, r.total_exits = 5;
  r.winning_trades = 3, r.losing_trades = 2, r.winrate = 0.6, r.avg_pnl_per_trade = pnl / 10;
  r.campaign_id = id;
  r.duration_seconds = 120.5;
  r.test_mode = 1;
  snprintf(r.symbols, sizeof r.symbols, "BTCUSDT,ETHUSDT");
  return r;
}

static void round_trip(void) {
  qt_storage s;
  sf_open_fresh(&g_db, "rt", &s);
  qt_err e = {0};
  qt_tuning_result_rec v[3] = {rec("s1", 2, -1.5), rec("s1", 1, 12.25), rec("s2", 1, 3)};
  int r = qt_tuning_results_insert(&s, v, 3, &e);
  if (r) fprintf(stderr, "insert: %s\n", e.msg);
  EXPECT_EQ(r, 0);
  qt_tuning_result_rec *l = NULL;
  size_t n = 0;
  EXPECT_EQ(qt_tuning_results_list(&s, "s1", &l, &n, &e), 0);
  ASSERT_TRUE(n == 2);
  EXPECT_EQ(l[0].campaign_id, 1); /* by campaign */
  EXPECT_DBL_EQ(l[0].total_pnl, 12.25);
  EXPECT_EQ(l[0].total_trades, 11);
  EXPECT_DBL_EQ(l[0].winrate, 0.6);
  EXPECT_DBL_EQ(l[0].duration_seconds, 120.5);
  EXPECT_EQ(l[0].test_mode, 1);
  EXPECT_STREQ(l[0].symbols, "BTCUSDT,ETHUSDT");
  EXPECT_CONTAINS(l[0].param_set, "\"min_spread_bps\": 10");
  EXPECT_TRUE(l[0].created_ms > 0);
  qt_free(l);
  /* a repeated run_id: the whole batch is refused */
  qt_tuning_result_rec w[2] = {rec("s3", 1, 0), rec("s1", 2, 0)};
  EXPECT_EQ(qt_tuning_results_insert(&s, w, 2, &e), QT_ESTATE);
  EXPECT_CONTAINS(e.msg, "s1-2");
  EXPECT_EQ(qt_tuning_results_list(&s, "s3", &l, &n, &e), 0);
  EXPECT_EQ(n, 0);
  qt_free(l);
  EXPECT_EQ(qt_tuning_results_list(&s, NULL, &l, &n, &e), 0);
  EXPECT_EQ(n, 3);
  qt_free(l);
  qt_tuning_result_rec bad = rec("s4", 1, 0);
  bad.session_id[0] = '\0';
  EXPECT_EQ(qt_tuning_results_insert(&s, &bad, 1, &e), QT_EINVAL);
  qt_storage_close(&s);
}

BOTH(round_trip)

QT_TESTS(T(sqlite_round_trip), T(pg_round_trip))
