#include "qt_test.h"
#include "storage/storage_fixture.h"
#include "qtune/tune.h"

#include <unistd.h>

/* The tuner's run, lifecycle, report, effective params, study target and
 * daily schedule (src/tune/tuner.c, study_best.c, daemon.c) on SQLite and
 * on the PostgreSQL of QTUNE_PG_URL. */
static sf_db g_db = {.name = "tuner",
                     .drop = "DROP TABLE IF EXISTS signal_outcomes;"
                              " DROP TABLE IF EXISTS paper_strategy_adjustments;"
                              " DROP TABLE IF EXISTS tune_runs"};
static qt_tune_config g_c;
static qt_tune_report g_r;

#define DAY 86400000LL
/* 2026-07-08T01:00:00Z */
#define NOW 1783472400000LL

static void open_fresh(qt_storage *s, const char *tag) {
  sf_fresh(&g_db, tag);
  qt_err e = {0};
  int r = qt_storage_open(g_db.url, s, &e);
  if (r) fprintf(stderr, "open: %s\n", e.msg);
  ASSERT_TRUE(r == 0);
  qt_tune_config_default(&g_c);
  g_c.telegram_token[0] = g_c.telegram_chat_id[0] = g_c.webhook_url[0] = '\0';
}

/* n outcomes of strategy in the last day before NOW: `wins` of them win
 * win_pnl each, the rest share lose_total (the last takes the remainder in
 * cents, so the total is exact to the cent). */
static void add(qt_storage *s, const char *strategy, int n, int wins, double win_pnl,
                double lose_total) {
  qt_outcome v[64];
  memset(v, 0, sizeof v);
  double each = n > wins ? (double)(long long)(lose_total / (n - wins) * 100) / 100 : 0,
         left = lose_total;
  for (int k = 0; k < n; k++) {
    qt_outcome *o = &v[k];
    snprintf(o->strategy, sizeof o->strategy, "%s", strategy);
    snprintf(o->symbol, sizeof o->symbol, "BTCUSDT");
    o->signal_ms = NOW - DAY + k * 60000;
    o->side = 1;
    o->entry_ms = o->signal_ms;
    o->entry_price = 100;
    o->exit_price = NAN;
    if (k < wins) o->pnl = win_pnl;
    else if (k < n - 1) o->pnl = each, left -= each;
    else o->pnl = left;
    o->pnl_pct = o->pnl > 0 ? 0.5 : -0.5;
    o->status = QT_OUTCOME_CLOSED;
  }
  qt_err e = {0};
  EXPECT_EQ(qt_outcomes_insert(s, v, (size_t)n, NULL, &e), 0);
}

static void example_outcomes(qt_storage *s) {
  add(s, "directional_momentum", 25, 7, 10, -215.20); /* 28.0%, -$145.20 */
  add(s, "grid_trading", 12, 7, 15, -15.50);          /* 58.3%, +$89.50 */
  add(s, "funding_arbitrage", 3, 2, 25, -7.90);       /* 66.7%, +$42.10 */
}

static char *report_text(const qt_tune_report *r) {
  static char buf[8192];
  FILE *f = fmemopen(buf, sizeof buf, "w");
  qt_tune_report_write_text(r, f);
  fclose(f);
  return buf;
}

static qt_tune_run_opts at(int64_t now) {
  qt_tune_run_opts o = qt_tune_run_opts_default();
  o.now_ms = now;
  return o;
}

static void report_matches_the_design(void) {
  qt_storage s;
  qt_err e = {0};
  open_fresh(&s, "report");
  example_outcomes(&s);
  qt_tune_run_opts o = at(NOW);
  int r = qt_tune_execute(&s, &g_c, &o, &g_r, &e);
  if (r) fprintf(stderr, "%s\n", e.msg);
  EXPECT_EQ(r, 0);
  EXPECT_STREQ(report_text(&g_r),
               "=== Strategy Auto-Tuner Report ===\n"
               "\n"
               "directional_momentum:\n"
               "  [ADJUST] min_score: 50 -> 55\n"
               "    Reason: Win rate 28.0% below threshold 30.0%\n"
               "    Context: 25 signals, 28.0% WR, -$145.20 total PnL\n"
               "\n"
               "grid_trading:\n"
               "  [OK] No adjustments needed\n"
               "    Context: 12 signals, 58.3% WR, +$89.50 total PnL\n"
               "\n"
               "funding_arbitrage:\n"
               "  [ADJUST] min_funding_rate: 0.01 -> 0.009\n"
               "    Reason: Only 3 signals with 66.7% win rate - loosening filters\n"
               "    Context: 3 signals, 66.7% WR, +$42.10 total PnL\n"
               "\n"
               "2 adjustments logged as PENDING\n");
  /* logged as pending with their full context */
  qt_adjustment *v = NULL;
  size_t n = 0;
  EXPECT_EQ(qt_adjustments_list(&s, NULL, 1u << QT_ADJ_PENDING, &v, &n, &e), 0);
  ASSERT_TRUE(n == 2);
  const qt_adjustment *dm = !strcmp(v[0].strategy, "directional_momentum") ? &v[0] : &v[1];
  EXPECT_STREQ(dm->parameter, "min_score");
  EXPECT_STREQ(dm->metric_trigger, "win_rate_low");
  EXPECT_NEAR(dm->metric_value, 28.0, 1e-9);
  EXPECT_NEAR(dm->win_rate_7d, 28.0, 1e-9);
  EXPECT_NEAR(dm->total_pnl_7d, -145.20, 1e-9);
  EXPECT_EQ(dm->total_signals_7d, 25);
  EXPECT_EQ(dm->created_ms, NOW);
  qt_free(v);
  /* a dry run stores nothing */
  o.dry_run = 1;
  add(&s, "sma_cross", 6, 0, 0, -6);
  EXPECT_EQ(qt_tune_execute(&s, &g_c, &o, &g_r, &e), 0);
  EXPECT_CONTAINS(report_text(&g_r), "sma_cross:\n  [SKIP] No rule mapping declared");
  EXPECT_CONTAINS(report_text(&g_r), "proposed (dry run: nothing logged)");
  EXPECT_EQ(qt_adjustments_list(&s, NULL, 0, &v, &n, &e), 0);
  EXPECT_EQ(n, 2);
  qt_free(v);
  qt_storage_close(&s);
}

static int64_t id_of(const qt_tune_report *r, const char *strategy) {
  for (size_t k = 0; k < r->n_items; k++)
    if (!strcmp(r->items[k].strategy, strategy) && r->items[k].n_props) return r->items[k].ids[0];
  return 0;
}

static void lifecycle_cooldown_and_effective(void) {
  qt_storage s;
  qt_err e = {0};
  open_fresh(&s, "life");
  add(&s, "directional_momentum", 10, 2, 10, -50); /* 20%: min_score up */
  qt_tune_run_opts o = at(NOW);
  EXPECT_EQ(qt_tune_execute(&s, &g_c, &o, &g_r, &e), 0);
  int64_t a1 = id_of(&g_r, "directional_momentum");
  ASSERT_TRUE(a1 > 0);
  /* a second run while it is pending holds it back */
  o.now_ms = NOW + 1000;
  EXPECT_EQ(qt_tune_execute(&s, &g_c, &o, &g_r, &e), 0);
  EXPECT_EQ(g_r.n_logged, 0);
  EXPECT_CONTAINS(report_text(&g_r), "[HOLD] min_score: adjustment");
  /* approve; the next run applies it first, then proposes from 55 */
  EXPECT_EQ(qt_adjustment_review(&s, a1, 1, "alice", NOW + 2000, &e), 0);
  o.now_ms = NOW + DAY;
  EXPECT_EQ(qt_tune_execute(&s, &g_c, &o, &g_r, &e), 0);
  EXPECT_EQ(g_r.n_applied_first, 1);
  int64_t a2 = id_of(&g_r, "directional_momentum");
  ASSERT_TRUE(a2 > a1);
  EXPECT_DBL_EQ(g_r.items[0].props[0].old_value, 55.0);
  EXPECT_DBL_EQ(g_r.items[0].props[0].new_value, 60.5);
  /* revert it: the same rule does not re-propose it during the cooldown */
  EXPECT_EQ(qt_adjustment_review(&s, a2, 0, "bob", NOW + DAY + 1000, &e), 0);
  o.now_ms = NOW + DAY + 2000;
  EXPECT_EQ(qt_tune_execute(&s, &g_c, &o, &g_r, &e), 0);
  EXPECT_EQ(g_r.n_logged, 0);
  EXPECT_CONTAINS(report_text(&g_r), "a reverted win_rate_low change cools down until");
  /* after the cooldown (7 days) it may come back */
  o.now_ms = NOW + DAY + 1000 + 7 * DAY;
  add(&s, "directional_momentum", 0, 0, 0, 0);
  {
    /* the outcomes must still be in the window: add a fresh batch */
    qt_outcome v[10];
    memset(v, 0, sizeof v);
    for (int k = 0; k < 10; k++) {
      snprintf(v[k].strategy, sizeof v[k].strategy, "directional_momentum");
      snprintf(v[k].symbol, sizeof v[k].symbol, "BTCUSDT");
      v[k].signal_ms = o.now_ms - DAY + k;
      v[k].side = 1;
      v[k].pnl = k < 2 ? 5 : -5;
      v[k].status = QT_OUTCOME_CLOSED;
    }
    EXPECT_EQ(qt_outcomes_insert(&s, v, 10, NULL, &e), 0);
  }
  EXPECT_EQ(qt_tune_execute(&s, &g_c, &o, &g_r, &e), 0);
  EXPECT_EQ(g_r.n_logged, 1);
  int64_t a3 = id_of(&g_r, "directional_momentum");
  /* effective: defaults + applied only (a1 applied; a2 reverted; a3 pending) */
  const qt_tune_strategy *ts = qt_tune_config_find(&g_c, "directional_momentum");
  double eff[QT_TUNE_MAX_PARAMS];
  EXPECT_EQ(qt_tune_effective(&s, ts, eff, &e), 0);
  EXPECT_DBL_EQ(eff[0], 55.0);
  /* approve and apply a3: 55 -> 60.5 */
  EXPECT_EQ(qt_adjustment_review(&s, a3, 1, "carol", o.now_ms + 1, &e), 0);
  size_t n = 0;
  EXPECT_EQ(qt_tune_apply_approved(&s, o.now_ms + 2, &n, &e), 0);
  EXPECT_EQ(n, 1);
  EXPECT_EQ(qt_tune_effective(&s, ts, eff, &e), 0);
  EXPECT_DBL_EQ(eff[0], 60.5);
  /* the params file: every spec parameter, tuned ones at their values */
  char buf[1024];
  FILE *f = fmemopen(buf, sizeof buf, "w");
  EXPECT_EQ(qt_tune_effective_write(&s, ts, 0, f, &e), 0);
  fclose(f);
  EXPECT_STREQ(buf, "min_score: 60.5\nmin_change_pct: 3\nexpiry_hours: 8\n");
  f = fmemopen(buf, sizeof buf, "w");
  EXPECT_EQ(qt_tune_effective_write(&s, ts, 1, f, &e), 0);
  fclose(f);
  EXPECT_STREQ(buf, "{\n  \"min_score\": 60.5,\n  \"min_change_pct\": 3,\n  \"expiry_hours\": 8\n}\n");
  qt_storage_close(&s);
}

static void auto_apply(void) {
  qt_storage s;
  qt_err e = {0};
  open_fresh(&s, "auto");
  add(&s, "grid_trading", 10, 8, 10, -2); /* 80%: min_range_pct down 5% */
  qt_tune_run_opts o = at(NOW);
  o.auto_apply = 1;
  EXPECT_EQ(qt_tune_execute(&s, &g_c, &o, &g_r, &e), 0);
  EXPECT_CONTAINS(report_text(&g_r), "1 adjustment applied (auto_apply)");
  qt_adjustment a;
  EXPECT_EQ(qt_adjustment_get(&s, id_of(&g_r, "grid_trading"), &a, &e), 0);
  EXPECT_EQ(a.status, QT_ADJ_APPLIED);
  EXPECT_STREQ(a.reviewed_by, "auto");
  EXPECT_EQ(a.applied_ms, NOW);
  double eff[QT_TUNE_MAX_PARAMS];
  EXPECT_EQ(qt_tune_effective(&s, qt_tune_config_find(&g_c, "grid_trading"), eff, &e), 0);
  EXPECT_DBL_EQ(eff[0], 2.85);
  qt_storage_close(&s);
}

static void study_best_is_the_target(void) {
  qt_storage s;
  qt_err e = {0};
  open_fresh(&s, "study");
  char name[64];
  snprintf(name, sizeof name, "tune_target_%d_%d", (int)getpid(), g_db.pg);
  const char *cfg =
      "{\"strategy\": \"directional_momentum\", \"holdout\": {\"maximize\": true, \"trials\": ["
      "{\"number\": 0, \"oos_feasible\": false, \"oos_objective\": 9},"
      "{\"number\": 1, \"oos_feasible\": true, \"oos_objective\": 1.5},"
      "{\"number\": 2, \"oos_feasible\": true, \"oos_objective\": 0.5}]}}";
  qt_study_rec st;
  int created = 0;
  EXPECT_EQ(s.vt->study_create(s.self, name, "[\"maximize\"]", "{}", cfg, &st, &created, &e), 0);
  const char *params[3] = {"{\"min_score\": 79}", "{\"min_score\": 70, \"min_change_pct\": 2.5}",
                           "{\"min_score\": 40}"};
  for (int k = 0; k < 3; k++) {
    int64_t tid = 0, num = 0;
    EXPECT_EQ(s.vt->trial_claim(s.self, st.id, params[k], "w", 1, &tid, &num, &e), 0);
    EXPECT_EQ(s.vt->trial_finish(s.self, tid, QT_TRIAL_COMPLETE, 1.0, "[1]", "{}", 1, NULL, &e), 0);
  }
  qt_study_rec_fini(&st);
  qt_tune_strategy *ts = (qt_tune_strategy *)qt_tune_config_find(&g_c, "directional_momentum");
  double tgt[QT_TUNE_MAX_PARAMS];
  int r = qt_tune_study_best(&s, name, ts, tgt, &e);
  if (r) fprintf(stderr, "%s\n", e.msg);
  EXPECT_EQ(r, 0);
  EXPECT_DBL_EQ(tgt[0], 70.0); /* trial 1: the best feasible out of sample */
  snprintf(ts->study, sizeof ts->study, "%s", name);
  add(&s, "directional_momentum", 10, 2, 10, -50);
  qt_tune_run_opts o = at(NOW);
  EXPECT_EQ(qt_tune_execute(&s, &g_c, &o, &g_r, &e), 0);
  ASSERT_TRUE(g_r.items[0].n_props == 1);
  /* toward 70, but at most 25% a step: 62.5, clamped */
  EXPECT_DBL_EQ(g_r.items[0].props[0].new_value, 62.5);
  EXPECT_EQ(g_r.items[0].props[0].clamped, 1);
  EXPECT_CONTAINS(g_r.items[0].props[0].reason, "toward the study's validated best 70");
  /* a study of another strategy is refused */
  qt_tune_strategy *gt = (qt_tune_strategy *)qt_tune_config_find(&g_c, "grid_trading");
  EXPECT_EQ(qt_tune_study_best(&s, name, gt, tgt, &e), QT_EINVAL);
  s.vt->study_delete(s.self, st.id, &e);
  qt_storage_close(&s);
}

/* A strategy the tuner does not know is tuned once the YAML declares it. */
static void declared_strategy(void) {
  qt_storage s;
  qt_err e = {0};
  open_fresh(&s, "declared");
  const char *y = "strategies:\n"
                  "  my_bot:\n"
                  "    params:\n"
                  "      min_edge: {lo: 1, hi: 2.1, default: 2}\n"
                  "      expiry_hours: {lo: 1, hi: 48, default: 6, int: true}\n"
                  "    rules:\n"
                  "      win_rate_low: [min_edge]\n"
                  "      expiry_rate_high: [expiry_hours]\n";
  EXPECT_EQ(qt_tune_config_parse(&g_c, y, strlen(y), "t.yaml", &e), 0);
  add(&s, "my_bot", 10, 1, 10, -50);
  snprintf(g_c.catalog, sizeof g_c.catalog, "/nonexistent-catalog");
  qt_tune_run_opts o = at(NOW);
  EXPECT_EQ(qt_tune_execute(&s, &g_c, &o, &g_r, &e), 0);
  ASSERT_TRUE(g_r.n_items == 1 && g_r.items[0].n_props == 1);
  /* 2 * 1.1 = 2.2 crosses the declared bound 2.1: clamped */
  EXPECT_DBL_EQ(g_r.items[0].props[0].new_value, 2.1);
  EXPECT_CONTAINS(report_text(&g_r), "  [ADJUST] min_edge: 2 -> 2.1 (clamped)\n");
  EXPECT_CONTAINS(g_r.items[0].evidence[0], "not a built-in strategy");
  const qt_tune_strategy *ts = qt_tune_config_find(&g_c, "my_bot");
  EXPECT_EQ(qt_adjustment_review(&s, g_r.items[0].ids[0], 1, "dana", NOW, &e), 0);
  size_t n = 0;
  EXPECT_EQ(qt_tune_apply_approved(&s, NOW, &n, &e), 0);
  char buf[256];
  FILE *f = fmemopen(buf, sizeof buf, "w");
  EXPECT_EQ(qt_tune_effective_write(&s, ts, 0, f, &e), 0);
  fclose(f);
  EXPECT_STREQ(buf, "min_edge: 2.1\nexpiry_hours: 6\n");
  qt_storage_close(&s);
}

/* ---- the daemon on a fake clock ---- */
typedef struct fake {
  int64_t now;
  int sleeps, max_sleeps;
  int64_t woke[16];
} fake;

static int64_t fake_now(void *ud) { return ((fake *)ud)->now; }
static int fake_sleep(void *ud, int64_t t) {
  fake *f = ud;
  if (f->sleeps < 16) f->woke[f->sleeps] = t;
  if (++f->sleeps > f->max_sleeps) return 1;
  f->now = t + 5000; /* wakes a little late, as real sleeps do */
  return 0;
}

static int g_runs;
static int64_t g_run_at[16];
static void count_run(void *ud, const qt_tune_report *r) {
  if (g_runs < 16) g_run_at[g_runs] = r->run_ms;
  g_runs++;
}

static void daemon_schedule(void) {
  qt_storage s;
  qt_err e = {0};
  open_fresh(&s, "daemon");
  int at_min = 0;
  EXPECT_EQ(qt_tune_parse_at("01:00", &at_min, &e), 0);
  EXPECT_EQ(at_min, 60);
  EXPECT_EQ(qt_tune_parse_at("25:00", &at_min, &e), QT_EINVAL);
  EXPECT_EQ(qt_tune_parse_at("1:0x", &at_min, &e), QT_EINVAL);
  at_min = 60;
  /* 2026-07-08T05:00Z, never run: the missed 01:00 run happens at start-up,
   * then the daemon sleeps to 2026-07-09T01:00Z and runs again. */
  int64_t day0 = NOW - 3600000; /* 2026-07-08T00:00Z */
  fake f = {day0 + 5 * 3600000, 0, 1, {0}}; /* one sleep, then stop */
  qt_tune_clock clk = {fake_now, fake_sleep, &f};
  g_runs = 0;
  EXPECT_EQ(qt_tune_daemon(&s, &g_c, at_min, &clk, count_run, NULL, &e), 0);
  EXPECT_EQ(g_runs, 2);
  EXPECT_EQ(g_run_at[0], day0 + 5 * 3600000);
  EXPECT_EQ(f.woke[0], day0 + DAY + 3600000);
  EXPECT_EQ(g_run_at[1], day0 + DAY + 3600000 + 5000);
  EXPECT_EQ(f.woke[1], day0 + 2 * DAY + 3600000);
  qt_tune_run last;
  EXPECT_EQ(qt_tune_run_last(&s, &last, &e), 0);
  EXPECT_EQ(last.run_ms, day0 + DAY + 3600000 + 5000);
  /* a restart later that day knows the run happened: no run at start-up */
  fake g = {day0 + DAY + 6 * 3600000, 0, 0, {0}};
  clk.ud = &g;
  g_runs = 0;
  EXPECT_EQ(qt_tune_daemon(&s, &g_c, at_min, &clk, count_run, NULL, &e), 0);
  EXPECT_EQ(g_runs, 0);
  EXPECT_EQ(g.woke[0], day0 + 2 * DAY + 3600000);
  /* down for three days: one run at start-up, not three */
  fake h = {day0 + 5 * DAY + 2 * 3600000, 0, 0, {0}};
  clk.ud = &h;
  g_runs = 0;
  EXPECT_EQ(qt_tune_daemon(&s, &g_c, at_min, &clk, count_run, NULL, &e), 0);
  EXPECT_EQ(g_runs, 1);
  /* just before the slot it waits; at the slot it is due */
  EXPECT_EQ(qt_tune_due(day0 + 3600000, day0 + DAY + 3600000 - 1, 60), 0);
  EXPECT_EQ(qt_tune_due(day0 + 3600000, day0 + DAY + 3600000, 60), 1);
  EXPECT_EQ(qt_tune_slot_before(day0 + 3600000 - 1, 60), day0 - DAY + 3600000);
  qt_storage_close(&s);
}

BOTH(report_matches_the_design)
BOTH(lifecycle_cooldown_and_effective)
BOTH(auto_apply)
BOTH(study_best_is_the_target)
BOTH(daemon_schedule)
BOTH(declared_strategy)

QT_TESTS(T(sqlite_report_matches_the_design), T(pg_report_matches_the_design),
         T(sqlite_lifecycle_cooldown_and_effective), T(pg_lifecycle_cooldown_and_effective),
         T(sqlite_auto_apply), T(pg_auto_apply), T(sqlite_study_best_is_the_target),
         T(pg_study_best_is_the_target), T(sqlite_daemon_schedule), T(pg_daemon_schedule),
         T(sqlite_declared_strategy), T(pg_declared_strategy))
