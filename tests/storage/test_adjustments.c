#include "qt_test.h"
#include "qtune/storage.h"
#include "storage_fixture.h"

#include <pthread.h>
#include <unistd.h>

/* paper_strategy_adjustments and tune_runs (src/storage/adjustments.c,
 * tune_runs.c) on SQLite and on the PostgreSQL of QTUNE_PG_URL. */
static sf_db g_db = {.name = "adj",
                     .drop = "DROP TABLE IF EXISTS paper_strategy_adjustments; DROP TABLE IF EXISTS tune_runs"};

static qt_adjustment mk(const char *strategy, const char *param, double from, double to,
                        int64_t created) {
  qt_adjustment a;
  memset(&a, 0, sizeof a);
  snprintf(a.strategy, sizeof a.strategy, "%s", strategy);
  snprintf(a.parameter, sizeof a.parameter, "%s", param);
  a.old_value = from;
  a.new_value = to;
  snprintf(a.reason, sizeof a.reason, "Win rate 28.0%% below threshold 30.0%%");
  snprintf(a.metric_trigger, sizeof a.metric_trigger, "win_rate_low");
  a.metric_value = 0.28;
  a.win_rate_7d = 0.28;
  a.total_pnl_7d = -145.2;
  a.avg_pnl_7d = -0.4;
  a.total_signals_7d = 25;
  a.status = QT_ADJ_PENDING;
  a.created_ms = created;
  snprintf(a.evidence_json, sizeof a.evidence_json, "{\"7d\": {\"current\": {\"trades\": 3}}}");
  return a;
}

static void insert_get_list(void) {
  qt_storage s;
  qt_err e = {0};
  sf_open_fresh(&g_db, "list", &s);
  qt_adjustment a = mk("directional_momentum", "min_score", 50, 55, 1000);
  int64_t id1 = 0, id2 = 0;
  int r = qt_adjustment_insert(&s, &a, &id1, &e);
  if (r) fprintf(stderr, "insert: %s\n", e.msg);
  EXPECT_EQ(r, 0);
  a = mk("grid_trading", "min_range_pct", 3, 3.3, 2000);
  a.clamped = 1;
  EXPECT_EQ(qt_adjustment_insert(&s, &a, &id2, &e), 0);
  EXPECT_TRUE(id1 > 0 && id2 > id1);
  qt_adjustment g;
  EXPECT_EQ(qt_adjustment_get(&s, id1, &g, &e), 0);
  EXPECT_STREQ(g.strategy, "directional_momentum");
  EXPECT_STREQ(g.parameter, "min_score");
  EXPECT_DBL_EQ(g.old_value, 50.0);
  EXPECT_DBL_EQ(g.new_value, 55.0);
  EXPECT_STREQ(g.metric_trigger, "win_rate_low");
  EXPECT_DBL_EQ(g.total_pnl_7d, -145.2);
  EXPECT_EQ(g.total_signals_7d, 25);
  EXPECT_EQ(g.status, QT_ADJ_PENDING);
  EXPECT_EQ(g.clamped, 0);
  EXPECT_EQ(g.created_ms, 1000);
  EXPECT_EQ(g.reviewed_ms, 0);
  EXPECT_CONTAINS(g.evidence_json, "\"trades\"");
  EXPECT_EQ(qt_adjustment_get(&s, 999, &g, &e), QT_ENOTFOUND);
  qt_adjustment *v = NULL;
  size_t n = 0;
  EXPECT_EQ(qt_adjustments_list(&s, NULL, 0, &v, &n, &e), 0);
  ASSERT_TRUE(n == 2);
  EXPECT_EQ(v[0].id, id2); /* newest first */
  EXPECT_EQ(v[0].clamped, 1);
  qt_free(v);
  EXPECT_EQ(qt_adjustments_list(&s, "grid_trading", 0, &v, &n, &e), 0);
  EXPECT_EQ(n, 1);
  qt_free(v);
  EXPECT_EQ(qt_adjustments_list(&s, NULL, 1u << QT_ADJ_APPROVED, &v, &n, &e), 0);
  EXPECT_EQ(n, 0);
  EXPECT_PTR_EQ(v, NULL);
  qt_storage_close(&s);
}

static void lifecycle_allowed_and_refused(void) {
  qt_storage s;
  qt_err e = {0};
  sf_open_fresh(&g_db, "life", &s);
  int64_t id[3];
  for (int k = 0; k < 3; k++) {
    qt_adjustment a = mk("grid_trading", "expiry_hours", 12, 15, 100 + k);
    EXPECT_EQ(qt_adjustment_insert(&s, &a, &id[k], &e), 0);
  }
  /* pending -> applied is refused: only approved ones apply. */
  EXPECT_EQ(qt_adjustment_mark_applied(&s, id[0], 500, &e), QT_ESTATE);
  EXPECT_CONTAINS(e.msg, "is pending, not approved");
  /* A review needs a name. */
  EXPECT_EQ(qt_adjustment_review(&s, id[0], 1, "", 500, &e), QT_EINVAL);
  /* pending -> approved, with the reviewer and the time. */
  EXPECT_EQ(qt_adjustment_review(&s, id[0], 1, "alice", 600, &e), 0);
  qt_adjustment g;
  EXPECT_EQ(qt_adjustment_get(&s, id[0], &g, &e), 0);
  EXPECT_EQ(g.status, QT_ADJ_APPROVED);
  EXPECT_STREQ(g.reviewed_by, "alice");
  EXPECT_EQ(g.reviewed_ms, 600);
  /* approved -> approved / reverted refused. */
  EXPECT_EQ(qt_adjustment_review(&s, id[0], 1, "bob", 700, &e), QT_ESTATE);
  EXPECT_EQ(qt_adjustment_review(&s, id[0], 0, "bob", 700, &e), QT_ESTATE);
  EXPECT_CONTAINS(e.msg, "is approved, not pending: cannot revert");
  /* approved -> applied, once. */
  EXPECT_EQ(qt_adjustment_mark_applied(&s, id[0], 800, &e), 0);
  EXPECT_EQ(qt_adjustment_mark_applied(&s, id[0], 900, &e), QT_ESTATE);
  EXPECT_EQ(qt_adjustment_get(&s, id[0], &g, &e), 0);
  EXPECT_EQ(g.status, QT_ADJ_APPLIED);
  EXPECT_EQ(g.applied_ms, 800);
  EXPECT_STREQ(g.reviewed_by, "alice"); /* kept */
  /* applied -> anything refused. */
  EXPECT_EQ(qt_adjustment_review(&s, id[0], 0, "bob", 950, &e), QT_ESTATE);
  /* pending -> reverted; reverted -> approved / applied refused. */
  EXPECT_EQ(qt_adjustment_review(&s, id[1], 0, "bob", 1000, &e), 0);
  EXPECT_EQ(qt_adjustment_review(&s, id[1], 1, "alice", 1100, &e), QT_ESTATE);
  EXPECT_EQ(qt_adjustment_mark_applied(&s, id[1], 1100, &e), QT_ESTATE);
  EXPECT_EQ(qt_adjustment_get(&s, id[1], &g, &e), 0);
  EXPECT_EQ(g.status, QT_ADJ_REVERTED);
  EXPECT_STREQ(g.reviewed_by, "bob");
  EXPECT_EQ(g.reviewed_ms, 1000);
  /* Unknown id. */
  EXPECT_EQ(qt_adjustment_review(&s, 12345, 1, "bob", 1, &e), QT_ENOTFOUND);
  EXPECT_EQ(qt_adjustment_mark_applied(&s, 12345, 1, &e), QT_ENOTFOUND);
  qt_adjustment *v = NULL;
  size_t n = 0;
  EXPECT_EQ(qt_adjustments_list(&s, NULL, 1u << QT_ADJ_PENDING, &v, &n, &e), 0);
  ASSERT_TRUE(n == 1);
  EXPECT_EQ(v[0].id, id[2]);
  qt_free(v);
  qt_storage_close(&s);
}

/* Two reviewers on two connections race on each of 20 pending rows: one
 * approves, one reverts; exactly one wins each row. */
typedef struct racer {
  int approve;
  int64_t first;
  int wins, refused, other;
} racer;

static void *race(void *arg) {
  racer *rc = arg;
  qt_storage s;
  qt_err e = {0};
  if (qt_storage_open(g_db.url, &s, &e)) {
    rc->other = 99;
    return NULL;
  }
  for (int k = 0; k < 20; k++) {
    int r = qt_adjustment_review(&s, rc->first + k, rc->approve, rc->approve ? "a" : "b", 1, &e);
    if (r == 0) rc->wins++;
    else if (r == QT_ESTATE) rc->refused++;
    else rc->other++;
  }
  qt_storage_close(&s);
  return NULL;
}

static void two_reviewers_one_wins(void) {
  qt_storage s;
  qt_err e = {0};
  sf_open_fresh(&g_db, "race", &s);
  int64_t first = 0, id = 0;
  for (int k = 0; k < 20; k++) {
    qt_adjustment a = mk("grid_trading", "expiry_hours", 12, 15, 100 + k);
    EXPECT_EQ(qt_adjustment_insert(&s, &a, &id, &e), 0);
    if (!k) first = id;
  }
  racer rc[2] = {{1, first, 0, 0, 0}, {0, first, 0, 0, 0}};
  pthread_t t[2];
  for (int k = 0; k < 2; k++) pthread_create(&t[k], NULL, race, &rc[k]);
  for (int k = 0; k < 2; k++) pthread_join(t[k], NULL);
  EXPECT_EQ(rc[0].other + rc[1].other, 0);
  EXPECT_EQ(rc[0].wins + rc[1].wins, 20);
  EXPECT_EQ(rc[0].refused + rc[1].refused, 20);
  qt_adjustment *v = NULL;
  size_t n = 0;
  EXPECT_EQ(qt_adjustments_list(&s, NULL, 1u << QT_ADJ_PENDING, &v, &n, &e), 0);
  EXPECT_EQ(n, 0);
  qt_free(v);
  qt_storage_close(&s);
}

static void tune_runs_last(void) {
  qt_storage s;
  qt_err e = {0};
  sf_open_fresh(&g_db, "runs", &s);
  qt_tune_run r = {0};
  EXPECT_EQ(qt_tune_run_last(&s, &r, &e), QT_ENOTFOUND);
  qt_tune_run a = {0, 5000, 2, 1, "2 adjustments logged as PENDING"};
  qt_tune_run b = {0, 3000, 0, 0, "older"};
  EXPECT_EQ(qt_tune_run_record(&s, &a, NULL, &e), 0);
  EXPECT_EQ(qt_tune_run_record(&s, &b, NULL, &e), 0);
  EXPECT_EQ(qt_tune_run_last(&s, &r, &e), 0);
  EXPECT_EQ(r.run_ms, 5000);
  EXPECT_EQ(r.n_proposed, 2);
  EXPECT_EQ(r.n_applied, 1);
  EXPECT_STREQ(r.summary, "2 adjustments logged as PENDING");
  qt_storage_close(&s);
}

BOTH(insert_get_list)
BOTH(lifecycle_allowed_and_refused)
BOTH(two_reviewers_one_wins)
BOTH(tune_runs_last)

QT_TESTS(T(sqlite_insert_get_list), T(pg_insert_get_list), T(sqlite_lifecycle_allowed_and_refused),
         T(pg_lifecycle_allowed_and_refused), T(sqlite_two_reviewers_one_wins),
         T(pg_two_reviewers_one_wins), T(sqlite_tune_runs_last), T(pg_tune_runs_last))
