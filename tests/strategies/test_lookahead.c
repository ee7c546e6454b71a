/* The look-ahead check: every built-in passes it on a synthetic market; the
 * cheating example plugin (reads the next bar through qt_ctx_bars) and an
 * in-test strategy that peeks at the next quote fail it, with the cut and
 * the first difference named. */
#include "strat_util.h"

static int check(const qt_strategy_vtbl *s, const double *p, const qt_synth_market *m,
                 qt_lookahead_report *rep, qt_err *err) {
  qt_feed f[2];
  int nf = su_feeds(s, m, f);
  qt_lookahead_opts o = qt_lookahead_opts_default();
  o.n_cuts = 6;
  o.seed = 7;
  double def[64];
  if (!p) {
    qt_strategy_defaults(s, def);
    p = def;
  }
  return qt_lookahead_check(s, p, f, nf, &o, rep, err);
}

static void test_builtins_pass(void) {
  qt_synth_market m;
  memset(&m, 0, sizeof m);
  ASSERT_TRUE(su_synth(&m, 3, 3, 40) == 0);
  size_t n = 0;
  const qt_strategy_vtbl *const *all = qt_strategies_builtin(&n);
  ASSERT_TRUE(n >= 3);
  for (size_t k = 0; k < n; k++) {
    qt_lookahead_report rep;
    qt_err err;
    int rc = check(all[k], NULL, &m, &rep, &err);
    if (rc) fprintf(stderr, "  %s: %s\n", all[k]->name, err.msg);
    EXPECT_EQ(rc, QT_OK);
    if (rep.found) fprintf(stderr, "  %s\n", rep.what);
    EXPECT_EQ(rep.found, 0);
    EXPECT_EQ(rep.n_cuts, 6);
    EXPECT_EQ(rep.n_runs, 19);
  }
  qt_synth_market_fini(&m);
}

static void test_cheater_plugin_fails(void) {
  ASSERT_TRUE(system("make -s -C examples/cheater >/dev/null") == 0);
  const qt_strategy_vtbl *s = NULL;
  void *h = NULL;
  qt_err err;
  ASSERT_TRUE(qt_strategy_load("examples/cheater/libcheater.so", &s, &h, &err) == QT_OK);
  qt_synth_market m;
  memset(&m, 0, sizeof m);
  ASSERT_TRUE(su_synth(&m, 3, 1, 0) == 0);
  qt_lookahead_report rep;
  ASSERT_TRUE(check(s, NULL, &m, &rep, &err) == QT_OK);
  EXPECT_EQ(rep.found, 1);
  EXPECT_EQ(rep.n_cuts, 1); /* caught at the first cut (25%) */
  EXPECT_EQ(rep.cut_bar, m.bars.n / 4);
  EXPECT_EQ(rep.cut_ms, m.bars.ts_ms[m.bars.n / 4]);
  EXPECT_CONTAINS(rep.what, "strategy 'cheater', data cut at bar 360");
  EXPECT_CONTAINS(rep.what, "orders submitted before the cut differ");
  /* Its backtest looks too good: it only holds before rising closes. */
  qt_feed f[2];
  int nf = su_feeds(s, &m, f);
  qt_engine *e = NULL;
  qt_engine_opts eo = qt_engine_opts_default();
  ASSERT_TRUE(qt_engine_new(&eo, &e, &err) == QT_OK);
  double p[1] = {1.0};
  qt_result r;
  ASSERT_TRUE(qt_engine_run(e, f, nf, s, p, &r, &err) == QT_OK);
  EXPECT_TRUE(r.n_trades > 10);
  qt_engine_free(e);
  qt_synth_market_fini(&m);
  /* One cut is enough, whatever the data: with the rows past the cut NaN
   * and doubled, a decision on the next close differs from the real-tail
   * run in one of them. */
  for (uint64_t seed = 10; seed < 16; seed++) {
    memset(&m, 0, sizeof m);
    ASSERT_TRUE(su_synth(&m, seed, 1, 0) == 0);
    qt_feed f1[2];
    int n1 = su_feeds(s, &m, f1);
    qt_lookahead_opts o = qt_lookahead_opts_default();
    o.n_cuts = 1;
    int rc = qt_lookahead_check(s, p, f1, n1, &o, &rep, &err);
    qt_synth_market_fini(&m);
    ASSERT_TRUE(rc == QT_OK);
    if (!rep.found) QT_TEST_FAIL_("seed %llu: cheater not caught by one cut", (unsigned long long)seed);
  }
  qt_strategy_unload(h);
}

/* A subtler cheat: it keeps the quotes pointer and reads the quote 80 s
 * ahead of now (inside the next bar); it acts only every 7th bar so
 * some cuts miss it. */
typedef struct peek_state {
  int dummy;
} peek_state;
static int peek_lb(const double *p) {
  (void)p;
  return 0;
}
static int peek_init(void *st, const double *p, qt_ctx *cx, qt_err *err) {
  (void)st, (void)p, (void)cx, (void)err;
  return QT_OK;
}
static void peek_bar(void *st, const qt_bar *b, qt_ctx *cx) {
  (void)st;
  size_t n = 0;
  const qt_quotes *q = qt_ctx_quotes(cx, 0, &n);
  if (!q || b->i % 7 != 3 || b->i + 2 >= 1440) return; /* one synthetic day */
  double ahead = q->bid[n + 8]; /* 80 s after this bar opened: the next bar */
  if (ahead > b->close) qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 0.01, QT_EXIT_SIGNAL);
  else if (qt_ctx_position(cx, 0, QT_LEG_NET) > 0) qt_ctx_close(cx, 0, QT_LEG_NET, QT_EXIT_SIGNAL);
}
static const qt_strategy_vtbl k_peek = {
    .abi = QT_STRATEGY_ABI, .name = "peek", .state_size = sizeof(peek_state),
    .n_instruments = 1, .lookback = peek_lb, .init = peek_init, .on_bar = peek_bar};

static void test_quote_peeker_fails(void) {
  qt_synth_market m;
  memset(&m, 0, sizeof m);
  ASSERT_TRUE(su_synth(&m, 5, 1, 0) == 0);
  qt_lookahead_report rep;
  qt_err err;
  qt_feed f[2];
  int nf = su_feeds(&k_peek, &m, f);
  qt_lookahead_opts o = qt_lookahead_opts_default();
  o.n_cuts = 40;
  ASSERT_TRUE(qt_lookahead_check(&k_peek, NULL, f, nf, &o, &rep, &err) == QT_OK);
  EXPECT_EQ(rep.found, 1);
  EXPECT_CONTAINS(rep.what, "strategy 'peek'");
  /* Without quotes it cannot peek and is honest. */
  f[0].quotes = NULL;
  ASSERT_TRUE(qt_lookahead_check(&k_peek, NULL, f, nf, &o, &rep, &err) == QT_OK);
  EXPECT_EQ(rep.found, 0);
  qt_synth_market_fini(&m);
}

/* A cheat that never trades: it rests a buy limit far under the market and
 * moves it to half the next bar's close (read past n through qt_ctx_bars).
 * No fill, no trade, the same number of orders: only the order log shows it. */
typedef struct ghost_state {
  int64_t id;
} ghost_state;
static int ghost_init(void *st, const double *p, qt_ctx *cx, qt_err *err) {
  (void)p, (void)cx, (void)err;
  ((ghost_state *)st)->id = 0;
  return QT_OK;
}
static void ghost_bar(void *stv, const qt_bar *b, qt_ctx *cx) {
  ghost_state *st = stv;
  size_t n = 0;
  const qt_bars *bars = qt_ctx_bars(cx, 0, &n);
  if (b->i + 2 >= 1440) return; /* one synthetic day */
  double px = 0.5 * bars->close[n];
  if (!(px > 0)) px = 0.4 * b->close; /* poisoned or doubled tail: still far away */
  if (st->id <= 0) st->id = qt_ctx_limit(cx, 0, QT_BUY, QT_LEG_NET, 0.01, px, 0, 1);
  else qt_ctx_replace(cx, st->id, px, 0.01);
}
static const qt_strategy_vtbl k_ghost = {
    .abi = QT_STRATEGY_ABI, .name = "ghost_order", .state_size = sizeof(ghost_state),
    .n_instruments = 1, .lookback = peek_lb, .init = ghost_init, .on_bar = ghost_bar};

static void test_unfilled_order_cheat_fails(void) {
  qt_synth_market m;
  memset(&m, 0, sizeof m);
  ASSERT_TRUE(su_synth(&m, 5, 1, 0) == 0);
  qt_feed f[2];
  int nf = su_feeds(&k_ghost, &m, f);
  qt_lookahead_report rep;
  qt_err err;
  ASSERT_TRUE(qt_lookahead_check(&k_ghost, NULL, f, nf, NULL, &rep, &err) == QT_OK);
  EXPECT_EQ(rep.found, 1);
  EXPECT_EQ(rep.n_cuts, 1);
  EXPECT_CONTAINS(rep.what, "strategy 'ghost_order', data cut at bar 360");
  EXPECT_CONTAINS(rep.what, "differs: replace of order 1 at ");
  EXPECT_CONTAINS(rep.what, "(buy limit, qty 0.01, price ");
  /* its order log in a plain backtest: one submit, then a replace per bar */
  qt_engine *e = NULL;
  qt_engine_opts eo = qt_engine_opts_default();
  eo.log_orders = 1;
  ASSERT_TRUE(qt_engine_new(&eo, &e, &err) == QT_OK);
  qt_result r;
  ASSERT_TRUE(qt_engine_run(e, f, nf, &k_ghost, NULL, &r, &err) == QT_OK);
  EXPECT_EQ(r.n_trades, 0);
  EXPECT_EQ(r.n_fills, 0);
  EXPECT_EQ(r.n_orders, 1);
  ASSERT_TRUE(r.n_order_log > 1000);
  EXPECT_EQ(r.order_log[0].action, QT_OA_SUBMIT);
  EXPECT_EQ(r.order_log[1].action, QT_OA_REPLACE);
  EXPECT_NEAR(r.order_log[1].price, 0.5 * m.bars.close[2], 1e-12);
  EXPECT_EQ(r.order_log[1].ts_ms, m.bars.ts_ms[1]);
  qt_engine_free(e);
  qt_synth_market_fini(&m);
}

/* A strategy whose decisions depend on something other than the data up to
 * now (here hidden global state: only the first run buys) is caught by the
 * comparison with the full run, since both cut copies agree. */
static int g_runs;
static int runs_init(void *st, const double *p, qt_ctx *cx, qt_err *err) {
  (void)st, (void)p, (void)cx, (void)err;
  g_runs++;
  return QT_OK;
}
static void runs_bar(void *st, const qt_bar *b, qt_ctx *cx) {
  (void)st;
  if (b->i == 5 && g_runs == 1) qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, 0.01, QT_EXIT_SIGNAL);
}
static const qt_strategy_vtbl k_runs = {
    .abi = QT_STRATEGY_ABI, .name = "first_run_only", .n_instruments = 1, .lookback = peek_lb,
    .init = runs_init, .on_bar = runs_bar};

static void test_hidden_state_fails(void) {
  qt_synth_market m;
  memset(&m, 0, sizeof m);
  ASSERT_TRUE(su_synth(&m, 5, 1, 0) == 0);
  qt_feed f[2];
  int nf = su_feeds(&k_runs, &m, f);
  qt_lookahead_report rep;
  qt_err err;
  g_runs = 0;
  ASSERT_TRUE(qt_lookahead_check(&k_runs, NULL, f, nf, NULL, &rep, &err) == QT_OK);
  EXPECT_EQ(rep.found, 1);
  EXPECT_CONTAINS(rep.what, "with the full data");
  EXPECT_CONTAINS(rep.what, "equity at bar 6");
  qt_synth_market_fini(&m);
}

static void test_errors(void) {
  qt_lookahead_report rep;
  qt_err err;
  EXPECT_EQ(qt_lookahead_check(NULL, NULL, NULL, 0, NULL, &rep, &err), QT_EINVAL);
  double c[3] = {1, 2, 3};
  qt_bars b = {0};
  ASSERT_TRUE(su_bars(&b, 3, c, c, c, c, NULL, NULL) == 0);
  qt_feed f = su_feed(&b, "X");
  EXPECT_EQ(qt_lookahead_check(&k_peek, NULL, &f, 1, NULL, &rep, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "3 bars");
  qt_bars_fini(&b);
  /* A strategy whose run fails (two instruments, one feed) is an error, not a finding. */
  qt_synth_market m;
  memset(&m, 0, sizeof m);
  ASSERT_TRUE(su_synth(&m, 5, 1, 0) == 0);
  qt_feed f1 = {0};
  f1.inst = qt_instrument_default("S");
  f1.bars = &m.bars;
  const qt_strategy_vtbl *sa = qt_strategy_find("spread_arbitrage");
  double p[8];
  qt_strategy_defaults(sa, p);
  EXPECT_TRUE(qt_lookahead_check(sa, p, &f1, 1, NULL, &rep, &err) < 0);
  EXPECT_EQ(rep.found, 0);
  /* OOM on the copies comes back cleanly. */
  const qt_strategy_vtbl *mm = qt_strategy_find("market_maker");
  double pm[16];
  qt_strategy_defaults(mm, pm);
  int saw_oom = 0;
  for (long k = 1; k < 40; k++) {
    qt_alloc_fail_at(k, 0);
    int rc = qt_lookahead_check(mm, pm, &f1, 1, NULL, &rep, &err);
    qt_alloc_fail_at(0, 0);
    if (rc == QT_ENOMEM) saw_oom = 1;
    else EXPECT_EQ(rc, QT_OK);
  }
  EXPECT_TRUE(saw_oom);
  qt_synth_market_fini(&m);
}

QT_TESTS(T(test_builtins_pass), T(test_cheater_plugin_fails), T(test_quote_peeker_fails), T(test_unfilled_order_cheat_fails),
         T(test_hidden_state_fails), T(test_errors))
