#include "qt_test.h"
#include "qtune/storage.h"
#include "storage_fixture.h"

#include <unistd.h>

/* The paper runner's state (src/storage/paper.c) on SQLite and on the
 * PostgreSQL of QTUNE_PG_URL (tests/run.sh starts it): a run is created
 * once and reopened by name, refused with other settings; a commit is one
 * transaction (a doubled seq stores nothing of it); positions and open
 * orders are replaced per symbol; a stopped run takes no commit; the equity
 * points (start cash at bar 0, one per committed last bar) and the list of
 * runs with their start cash and trade counts; the parameter sets of a run
 * (paper_params) stored with the commit that first uses them. */
static sf_db g_db = {.name = "paper",
                     .drop = "DROP TABLE IF EXISTS paper_runs, paper_orders, paper_trades,"
                             " paper_positions, paper_open_orders, paper_bars, paper_risk,"
                             " paper_equity, paper_params, signal_outcomes"};

static qt_paper_run_rec want_run(void) {
  qt_paper_run_rec w;
  memset(&w, 0, sizeof w);
  snprintf(w.name, sizeof w.name, "run1");
  snprintf(w.strategy, sizeof w.strategy, "sma_cross");
  snprintf(w.params_json, sizeof w.params_json, "{\"fast\": 10, \"slow\": 30}");
  snprintf(w.feed, sizeof w.feed, "replay");
  snprintf(w.symbols, sizeof w.symbols, "BTCUSDT");
  w.cash = 10000;
  return w;
}

static void run_open_and_reopen(void) {
  qt_storage s;
  sf_open_fresh(&g_db, "open", &s);
  qt_err e = {0};
  qt_paper_run_rec w = want_run(), r1, r2;
  int created = -1;
  EXPECT_EQ(qt_paper_run_open(&s, &w, &r1, &created, &e), 0);
  EXPECT_EQ(created, 1);
  EXPECT_TRUE(r1.id > 0);
  EXPECT_STREQ(r1.status, "running");
  EXPECT_EQ(qt_paper_run_open(&s, &w, &r2, &created, &e), 0);
  EXPECT_EQ(created, 0);
  EXPECT_EQ(r2.id, r1.id);
  qt_paper_run_rec w2 = w;
  snprintf(w2.params_json, sizeof w2.params_json, "{\"fast\": 11, \"slow\": 30}");
  EXPECT_EQ(qt_paper_run_open(&s, &w2, &r2, &created, &e), QT_ESTATE);
  EXPECT_CONTAINS(e.msg, "params");
  EXPECT_EQ(qt_paper_run_get(&s, "nope", &r2, &e), QT_ENOTFOUND);
  EXPECT_EQ(qt_paper_run_set_status(&s, r1.id, "running", "done", &e), 0);
  EXPECT_EQ(qt_paper_run_set_status(&s, r1.id, "running", "done", &e), QT_ESTATE);
  EXPECT_EQ(qt_paper_run_open(&s, &w, &r2, &created, &e), QT_ESTATE); /* done */
  EXPECT_CONTAINS(e.msg, "done");
  qt_storage_close(&s);
}

static void commit_is_one_transaction(void) {
  qt_storage s;
  sf_open_fresh(&g_db, "commit", &s);
  qt_err e = {0};
  qt_paper_run_rec w = want_run(), run;
  ASSERT_TRUE(qt_paper_run_open(&s, &w, &run, NULL, &e) == 0);
  qt_paper_order_rec o[2] = {{"BTCUSDT", 0, 1000, 1, 0, 1, 0, 0, 0, 0.5, 0, 0},
                             {"BTCUSDT", 1, 2000, 2, 0, -1, 0, 0, 0, 0.5, 0, 0}};
  qt_paper_trade_rec t = {"BTCUSDT", 0, 1, 0, 0, 1000, 2000, 1, 0.5, 100.25, 101.5, 0.6, 0.01, 0};
  qt_paper_pos_rec p = {"BTCUSDT", 0.25, 100.0, 9000, 10025.5, 2000, 2, 2, 1};
  qt_paper_open_rec op = {"BTCUSDT", 3, 1, 1, 0.1, 99.5};
  qt_paper_bar_rec b = {"BTCUSDT", 2000, 1, 2, 0.5, 1.5, 10};
  qt_paper_risk_rec x = {"BTCUSDT", 2000, 0, "max_positions", "2 open"};
  qt_paper_outcome_rec oc = {"BTCUSDT", 1, 1000, 1000, 2000, 100.25, 101.5, 0.6, 0.012};
  qt_paper_commit c = {.run_id = run.id, .last_bar_ms = 2000, .n_bars = 2, .cash = 9000,
                       .equity = 10025.5, .orders = o, .n_orders = 2, .trades = &t, .n_trades = 1,
                       .pos = &p, .n_pos = 1, .open = &op, .n_open = 1, .bars = &b,
                       .n_bars_new = 1, .risk = &x, .n_risk = 1, .outcomes = &oc,
                       .n_outcomes = 1, .strategy = "sma_cross", .params_version = "v1"};
  int r = qt_paper_commit_step(&s, &c, &e);
  if (r) fprintf(stderr, "commit: %s\n", e.msg);
  EXPECT_EQ(r, 0);
  /* the same seq again: the whole commit is refused, nothing doubled */
  qt_paper_pos_rec p2 = p;
  p2.qty = 7;
  c.pos = &p2;
  c.last_bar_ms = 3000;
  EXPECT_NE(qt_paper_commit_step(&s, &c, &e), 0);
  qt_paper_order_rec *lo = NULL;
  qt_paper_trade_rec *lt = NULL;
  qt_paper_pos_rec *lp = NULL;
  qt_paper_open_rec *lop = NULL;
  qt_paper_bar_rec *lb = NULL;
  qt_paper_risk_rec *lx = NULL;
  size_t n = 0;
  EXPECT_EQ(qt_paper_orders_list(&s, run.id, NULL, &lo, &n, &e), 0);
  EXPECT_EQ(n, 2);
  if (n == 2) {
    EXPECT_EQ(lo[1].side, -1);
    EXPECT_EQ(lo[1].ts_ms, 2000);
  }
  EXPECT_EQ(qt_paper_trades_list(&s, run.id, "BTCUSDT", &lt, &n, &e), 0);
  EXPECT_EQ(n, 1);
  if (n == 1) EXPECT_DBL_EQ(lt[0].entry_price, 100.25);
  EXPECT_EQ(qt_paper_pos_list(&s, run.id, &lp, &n, &e), 0);
  EXPECT_EQ(n, 1);
  if (n == 1) EXPECT_DBL_EQ(lp[0].qty, 0.25); /* not the refused 7 */
  EXPECT_EQ(qt_paper_open_list(&s, run.id, &lop, &n, &e), 0);
  EXPECT_EQ(n, 1);
  EXPECT_EQ(qt_paper_bars_list(&s, run.id, "BTCUSDT", &lb, &n, &e), 0);
  EXPECT_EQ(n, 1);
  EXPECT_EQ(qt_paper_risk_list(&s, run.id, &lx, &n, &e), 0);
  EXPECT_EQ(n, 1);
  if (n == 1) EXPECT_STREQ(lx[0].kind, "max_positions");
  /* the outcome went through the signal_outcomes API, in the same commit */
  qt_outcome *ov = NULL;
  size_t on = 0;
  EXPECT_EQ(qt_outcomes_list(&s, "sma_cross", 0, INT64_MAX, &ov, &on, &e), 0);
  EXPECT_EQ(on, 1);
  if (on == 1) {
    EXPECT_STREQ(ov[0].source, "paper");
    EXPECT_STREQ(ov[0].params_version, "v1");
    EXPECT_DBL_EQ(ov[0].pnl_pct, 0.012);
    EXPECT_EQ(ov[0].status, QT_OUTCOME_CLOSED);
  }
  qt_free(ov);
  qt_paper_run_rec got;
  EXPECT_EQ(qt_paper_run_get(&s, "run1", &got, &e), 0);
  EXPECT_EQ(got.last_bar_ms, 2000);
  qt_free(lo), qt_free(lt), qt_free(lp), qt_free(lop), qt_free(lb), qt_free(lx);
  /* the next step: new seqs, positions replaced, no open order left */
  qt_paper_order_rec o3 = {"BTCUSDT", 2, 3000, 3, 2, 1, 1, 0, 0, 0.1, 99.5, 0};
  c.orders = &o3;
  c.n_orders = 1;
  c.n_trades = 0;
  c.n_open = 0;
  c.n_bars_new = 0;
  c.n_risk = 0;
  EXPECT_EQ(qt_paper_commit_step(&s, &c, &e), 0);
  EXPECT_EQ(qt_paper_pos_list(&s, run.id, &lp, &n, &e), 0);
  if (n == 1) EXPECT_DBL_EQ(lp[0].qty, 7);
  EXPECT_EQ(qt_paper_open_list(&s, run.id, &lop, &n, &e), 0);
  EXPECT_EQ(n, 0);
  qt_free(lp), qt_free(lop);
  /* stopped: no commit lands */
  EXPECT_EQ(qt_paper_run_set_status(&s, run.id, "running", "stopped", &e), 0);
  o3.seq = 3;
  EXPECT_EQ(qt_paper_commit_step(&s, &c, &e), QT_ESTATE);
  EXPECT_EQ(qt_paper_orders_list(&s, run.id, NULL, &lo, &n, &e), 0);
  EXPECT_EQ(n, 3);
  qt_free(lo);
  qt_storage_close(&s);
}

/* What the dashboard reads: the equity after each commit (the start cash
 * at bar 0; a second commit at the same last bar replaces its point) and
 * every run, newest first, with its start cash and closed trades. */
static void equity_and_runs_list(void) {
  qt_storage s;
  sf_open_fresh(&g_db, "equity", &s);
  qt_err e = {0};
  qt_paper_run_rec w = want_run(), run, run2;
  ASSERT_TRUE(qt_paper_run_open(&s, &w, &run, NULL, &e) == 0);
  EXPECT_DBL_EQ(run.start_cash, 10000);
  qt_paper_trade_rec t[2] = {{"BTCUSDT", 0, 1, 0, 0, 1000, 2000, 1, 0.5, 100, 102, 0.9, 0.1, 0},
                             {"BTCUSDT", 1, -1, 0, 0, 2000, 3000, 1, 0.5, 102, 103, -0.6, 0.1, 0}};
  qt_paper_commit c = {.run_id = run.id, .last_bar_ms = 2000, .n_bars = 2, .cash = 10000.9,
                       .equity = 10000.9, .trades = t, .n_trades = 1};
  EXPECT_EQ(qt_paper_commit_step(&s, &c, &e), 0);
  c.n_trades = 0, c.equity = 10001.5; /* the feed paused: the same bar again */
  EXPECT_EQ(qt_paper_commit_step(&s, &c, &e), 0);
  c.trades = &t[1], c.n_trades = 1, c.last_bar_ms = 3000, c.n_bars = 3, c.cash = c.equity = 10000.3;
  EXPECT_EQ(qt_paper_commit_step(&s, &c, &e), 0);
  qt_paper_equity_rec *q = NULL;
  size_t n = 0;
  EXPECT_EQ(qt_paper_equity_list(&s, run.id, &q, &n, &e), 0);
  EXPECT_EQ(n, 3);
  if (n == 3) {
    EXPECT_EQ(q[0].bar_ms, 0);
    EXPECT_DBL_EQ(q[0].equity, 10000);
    EXPECT_EQ(q[1].bar_ms, 2000);
    EXPECT_DBL_EQ(q[1].equity, 10001.5);
    EXPECT_EQ(q[2].bar_ms, 3000);
    EXPECT_DBL_EQ(q[2].equity, 10000.3);
  }
  qt_free(q);
  qt_paper_run_rec w2 = want_run();
  snprintf(w2.name, sizeof w2.name, "run2");
  w2.cash = 500;
  ASSERT_TRUE(qt_paper_run_open(&s, &w2, &run2, NULL, &e) == 0);
  qt_paper_run_rec *v = NULL;
  EXPECT_EQ(qt_paper_runs_list(&s, &v, &n, &e), 0);
  EXPECT_EQ(n, 2);
  if (n == 2) {
    EXPECT_EQ(v[0].id + v[1].id, run.id + run2.id);
    const qt_paper_run_rec *a = v[0].id == run.id ? &v[0] : &v[1], *b = a == v ? &v[1] : &v[0];
    EXPECT_STREQ(a->name, "run1");
    EXPECT_DBL_EQ(a->start_cash, 10000);
    EXPECT_DBL_EQ(a->equity, 10000.3);
    EXPECT_EQ(a->n_trades, 2);
    EXPECT_EQ(a->n_bars, 3);
    EXPECT_STREQ(b->name, "run2");
    EXPECT_DBL_EQ(b->start_cash, 500);
    EXPECT_EQ(b->n_trades, 0);
    /* newest first (created in the same millisecond: the later id) */
    EXPECT_TRUE(v[0].created_ms >= v[1].created_ms);
  }
  qt_free(v);
  qt_paper_run_rec got;
  EXPECT_EQ(qt_paper_run_get(&s, "run1", &got, &e), 0);
  EXPECT_DBL_EQ(got.start_cash, 10000);
  EXPECT_EQ(got.n_trades, 2);
  qt_storage_close(&s);
}

/* The parameter sets go in with a step's commit, all or nothing: a commit
 * whose set repeats a stored seq stores neither the set nor the step; the
 * list gives them back in seq order with every field, JSON re-spaced by
 * JSONB only in white space. */
static void params_sets(void) {
  qt_storage s;
  sf_open_fresh(&g_db, "params", &s);
  qt_err e = {0};
  qt_paper_run_rec w = want_run(), run;
  ASSERT_TRUE(qt_paper_run_open(&s, &w, &run, NULL, &e) == 0);
  qt_paper_params_rec x[2];
  memset(x, 0, sizeof x);
  x[0].seq = 0, x[0].wall_ms = 1700000000000, x[0].bar_ms = 0;
  snprintf(x[0].at_json, sizeof x[0].at_json, "{}");
  snprintf(x[0].params_json, sizeof x[0].params_json, "{\"fast\": 10, \"slow\": 30}");
  snprintf(x[0].source, sizeof x[0].source, "start");
  x[1].seq = 1, x[1].wall_ms = 1700000005000, x[1].bar_ms = 1782525600000;
  snprintf(x[1].at_json, sizeof x[1].at_json, "{\"BTCUSDT\": 812}");
  snprintf(x[1].params_json, sizeof x[1].params_json, "{\"fast\": 12, \"slow\": 30.5}");
  snprintf(x[1].source, sizeof x[1].source, "file");
  qt_paper_commit c = {.run_id = run.id, .last_bar_ms = 1000, .n_bars = 1, .cash = 10000,
                       .equity = 10000, .params = x, .n_params = 1};
  EXPECT_EQ(qt_paper_commit_step(&s, &c, &e), 0);
  /* seq 0 again with seq 1: the whole step is refused */
  c.last_bar_ms = 2000, c.n_bars = 2, c.n_params = 2;
  EXPECT_TRUE(qt_paper_commit_step(&s, &c, &e) != 0);
  qt_paper_run_rec got;
  EXPECT_EQ(qt_paper_run_get(&s, "run1", &got, &e), 0);
  EXPECT_EQ(got.n_bars, 1);
  c.params = &x[1], c.n_params = 1;
  EXPECT_EQ(qt_paper_commit_step(&s, &c, &e), 0);
  qt_paper_params_rec *v = NULL;
  size_t n = 0;
  EXPECT_EQ(qt_paper_params_list(&s, run.id, &v, &n, &e), 0);
  EXPECT_EQ(n, 2);
  if (n == 2) {
    for (size_t k = 0; k < 2; k++) {
      EXPECT_EQ(v[k].seq, x[k].seq);
      EXPECT_EQ(v[k].wall_ms, x[k].wall_ms);
      EXPECT_EQ(v[k].bar_ms, x[k].bar_ms);
      EXPECT_STREQ(v[k].source, x[k].source);
    }
    EXPECT_STREQ(v[0].at_json, "{}");
    EXPECT_CONTAINS(v[1].at_json, "\"BTCUSDT\": 812");
    EXPECT_CONTAINS(v[1].params_json, "\"fast\": 12");
    EXPECT_CONTAINS(v[1].params_json, "\"slow\": 30.5");
  }
  qt_free(v);
  /* another run has none */
  qt_paper_run_rec w2 = want_run(), run2;
  snprintf(w2.name, sizeof w2.name, "run2");
  ASSERT_TRUE(qt_paper_run_open(&s, &w2, &run2, NULL, &e) == 0);
  EXPECT_EQ(qt_paper_params_list(&s, run2.id, &v, &n, &e), 0);
  EXPECT_EQ(n, 0);
  qt_free(v);
  qt_storage_close(&s);
}

BOTH(run_open_and_reopen)
BOTH(commit_is_one_transaction)
BOTH(equity_and_runs_list)
BOTH(params_sets)

QT_TESTS(T(sqlite_run_open_and_reopen), T(pg_run_open_and_reopen),
         T(sqlite_commit_is_one_transaction), T(pg_commit_is_one_transaction),
         T(sqlite_equity_and_runs_list), T(pg_equity_and_runs_list),
         T(sqlite_params_sets), T(pg_params_sets))
