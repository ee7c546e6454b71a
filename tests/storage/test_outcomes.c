#include "qt_test.h"
#include "qtune/storage.h"
#include "storage_fixture.h"

#include <math.h>
#include <unistd.h>

/* The signal_outcomes records (src/storage/outcomes.c) on SQLite and on the
 * PostgreSQL of QTUNE_PG_URL (tests/run.sh starts one). */
static sf_db g_db = {.name = "outcomes",
                     .drop = "DROP TABLE IF EXISTS signal_outcomes"};

static qt_outcome mk(const char *strategy, const char *symbol, int64_t t, int side, double pnl) {
  qt_outcome o;
  memset(&o, 0, sizeof o);
  snprintf(o.strategy, sizeof o.strategy, "%s", strategy);
  snprintf(o.symbol, sizeof o.symbol, "%s", symbol);
  snprintf(o.params_version, sizeof o.params_version, "v1");
  snprintf(o.source, sizeof o.source, "import");
  o.signal_ms = t;
  o.side = side;
  o.entry_ms = t + 60000;
  o.entry_price = 100.0;
  o.exit_ms = t + 3600000;
  o.exit_price = 100.0 + pnl;
  o.pnl = pnl;
  o.pnl_pct = pnl;
  o.status = QT_OUTCOME_CLOSED;
  o.closed_ms = o.exit_ms;
  return o;
}

static void round_trip_and_stable_key(void) {
  qt_storage s;
  qt_err e = {0};
  sf_open_fresh(&g_db, "rt", &s);
  qt_outcome v[3] = {mk("grid_trading", "BTCUSDT", 1000000, 1, 12.5),
                     mk("grid_trading", "ETHUSDT", 2000000, -1, -3.25),
                     mk("directional_momentum", "BTCUSDT", 1500000, 1, 0.0)};
  v[1].status = QT_OUTCOME_EXPIRED;
  v[1].exit_ms = 0;
  v[1].exit_price = NAN;
  snprintf(v[2].key, sizeof v[2].key, "bot-7:signal-42");
  size_t added = 99;
  int r = qt_outcomes_insert(&s, v, 3, &added, &e);
  if (r) fprintf(stderr, "insert: %s\n", e.msg);
  EXPECT_EQ(r, 0);
  EXPECT_EQ(added, 3);
  /* The same outcomes again add nothing: the key is stable. */
  EXPECT_EQ(qt_outcomes_insert(&s, v, 3, &added, &e), 0);
  EXPECT_EQ(added, 0);
  /* A changed P&L on the same signal is the same outcome (same key). */
  qt_outcome again = v[0];
  again.pnl = 99;
  EXPECT_EQ(qt_outcomes_insert(&s, &again, 1, &added, &e), 0);
  EXPECT_EQ(added, 0);
  qt_outcome *out = NULL;
  size_t n = 0;
  EXPECT_EQ(qt_outcomes_list(&s, NULL, 0, INT64_MAX, &out, &n, &e), 0);
  ASSERT_TRUE(n == 3);
  /* Ordered by signal time. */
  EXPECT_EQ(out[0].signal_ms, 1000000);
  EXPECT_EQ(out[1].signal_ms, 1500000);
  EXPECT_STREQ(out[1].key, "bot-7:signal-42");
  EXPECT_STREQ(out[0].key, "grid_trading|BTCUSDT|v1|1000000|long|1060000");
  EXPECT_EQ(out[2].side, -1);
  EXPECT_EQ(out[2].status, QT_OUTCOME_EXPIRED);
  EXPECT_EQ(out[2].exit_ms, 0);
  EXPECT_TRUE(isnan(out[2].exit_price));
  EXPECT_DBL_EQ(out[2].pnl, -3.25);
  EXPECT_DBL_EQ(out[0].pnl, 12.5);
  EXPECT_STREQ(out[0].params_version, "v1");
  EXPECT_STREQ(out[0].source, "import");
  EXPECT_EQ(out[0].entry_ms, 1060000);
  EXPECT_EQ(out[0].closed_ms, 1000000 + 3600000);
  EXPECT_TRUE(out[0].created_ms > 0);
  EXPECT_TRUE(out[0].id > 0);
  qt_free(out);
  qt_storage_close(&s);
}

static void list_by_strategy_and_window(void) {
  qt_storage s;
  qt_err e = {0};
  sf_open_fresh(&g_db, "win", &s);
  qt_outcome v[4] = {mk("a", "X", 100, 1, 1), mk("a", "X", 200, 1, 2), mk("b", "X", 150, 1, 3),
                     mk("a", "X", 300, 1, 4)};
  EXPECT_EQ(qt_outcomes_insert(&s, v, 4, NULL, &e), 0);
  qt_outcome *out = NULL;
  size_t n = 0;
  /* [from, to): 300 is outside, 100 and 200 inside. */
  EXPECT_EQ(qt_outcomes_list(&s, "a", 100, 300, &out, &n, &e), 0);
  ASSERT_TRUE(n == 2);
  EXPECT_DBL_EQ(out[0].pnl, 1.0);
  EXPECT_DBL_EQ(out[1].pnl, 2.0);
  qt_free(out);
  EXPECT_EQ(qt_outcomes_list(&s, "", 101, 1000, &out, &n, &e), 0);
  EXPECT_EQ(n, 3);
  qt_free(out);
  EXPECT_EQ(qt_outcomes_list(&s, "nobody", 0, 1000, &out, &n, &e), 0);
  EXPECT_EQ(n, 0);
  EXPECT_PTR_EQ(out, NULL);
  qt_storage_close(&s);
}

static void bad_outcome_stores_nothing(void) {
  qt_storage s;
  qt_err e = {0};
  sf_open_fresh(&g_db, "bad", &s);
  qt_outcome v[2] = {mk("a", "X", 100, 1, 1), mk("a", "X", 200, 0, 2)};
  EXPECT_EQ(qt_outcomes_insert(&s, v, 2, NULL, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "outcome 1: side 0");
  v[1].side = 1;
  v[1].strategy[0] = '\0';
  EXPECT_EQ(qt_outcomes_insert(&s, v, 2, NULL, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "no strategy");
  qt_outcome *out = NULL;
  size_t n = 9;
  EXPECT_EQ(qt_outcomes_list(&s, NULL, 0, 1000, &out, &n, &e), 0);
  EXPECT_EQ(n, 0);
  int st = -1;
  EXPECT_EQ(qt_outcome_status_from_name("expired", &st, &e), 0);
  EXPECT_EQ(st, QT_OUTCOME_EXPIRED);
  EXPECT_EQ(qt_outcome_status_from_name("open", &st, &e), QT_EPARSE);
  EXPECT_STREQ(qt_outcome_status_name(7), "unknown");
  qt_storage_close(&s);
}

BOTH(round_trip_and_stable_key)
BOTH(list_by_strategy_and_window)
BOTH(bad_outcome_stores_nothing)

QT_TESTS(T(sqlite_round_trip_and_stable_key), T(pg_round_trip_and_stable_key),
         T(sqlite_list_by_strategy_and_window), T(pg_list_by_strategy_and_window),
         T(sqlite_bad_outcome_stores_nothing), T(pg_bad_outcome_stores_nothing))
