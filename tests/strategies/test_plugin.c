/* Users' strategies: the example plugin is built with its Makefile, loaded
 * with dlopen and backtested (its trades are predicted here by replaying its
 * EMA rule); broken plugins fail with messages naming the problem. */
#include "strat_util.h"

#include <stdlib.h>
#include <unistd.h>

#define MINE "examples/mystrategy/libmine.so"

static int build_mine(void) { return system("make -s -C examples/mystrategy >/dev/null"); }

/* Compiles src into dir/name.so; 0 on success. */
static int build_so(const char *dir, const char *name, const char *src) {
  char path[512], cmd[1200];
  snprintf(path, sizeof path, "%s/%s.c", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs(src, f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "cc -std=c11 -shared -fPIC -Iinclude -o %s/%s.so %s 2>&1", dir, name,
           path);
  return system(cmd);
}

static void test_load_and_backtest(void) {
  ASSERT_TRUE(build_mine() == 0);
  const qt_strategy_vtbl *s = NULL;
  void *h = NULL;
  qt_err err;
  ASSERT_TRUE(qt_strategy_load(MINE, &s, &h, &err) == QT_OK);
  ASSERT_TRUE(s && h);
  EXPECT_STREQ(s->name, "mine");
  EXPECT_EQ(s->n_params, 3);
  EXPECT_EQ(qt_strategy_param_index(s, "slow"), 1);
  /* 30 flat bars at 100, 20 rising by 1, 30 falling by 1. */
  enum { N = 80 };
  double c[N];
  for (int i = 0; i < N; i++) c[i] = i < 30 ? 100 : i < 50 ? 100 + (i - 29) : 120 - (i - 49);
  qt_bars b = {0};
  ASSERT_TRUE(su_bars(&b, N, c, c, c, c, NULL, NULL) == 0);
  /* Replay the rule: EMA(5) vs EMA(20), long from the first bar >= 20 with
   * fast > slow (filled at the next open), closed when fast < slow. */
  double af = 2.0 / 6, as = 2.0 / 21, fast = c[0], slow = c[0];
  int entry = -1, exitb = -1;
  for (int i = 0; i < N; i++) {
    fast += af * (c[i] - fast);
    slow += as * (c[i] - slow);
    if (i < 20) continue;
    if (entry < 0 && fast > slow) entry = i + 1;
    else if (entry >= 0 && exitb < 0 && fast < slow) exitb = i + 1;
  }
  ASSERT_TRUE(entry == 31 && exitb > 50 && exitb < N);
  qt_feed f = su_feed(&b, "MINE");
  qt_engine *e = NULL;
  qt_engine_opts eo = qt_engine_opts_default();
  ASSERT_TRUE(qt_engine_new(&eo, &e, &err) == QT_OK);
  double p[3];
  qt_strategy_defaults(s, p);
  qt_result r;
  ASSERT_TRUE(qt_engine_run(e, &f, 1, s, p, &r, &err) == QT_OK);
  ASSERT_TRUE(r.n_trades == 1);
  EXPECT_EQ(r.trades[0].entry_ms, SU_T0 + entry * 60000LL);
  EXPECT_EQ(r.trades[0].exit_ms, SU_T0 + exitb * 60000LL);
  EXPECT_NEAR(r.trades[0].entry_price, c[entry], 1e-12);
  EXPECT_NEAR(r.trades[0].exit_price, c[exitb], 1e-12);
  EXPECT_TRUE(r.trades[0].pnl > 0);
  EXPECT_EQ(r.n_signals, 1);
  su_check_invariants(&r);
  /* init's cross-parameter rule reaches the caller. */
  p[0] = 30;
  EXPECT_EQ(qt_engine_run(e, &f, 1, s, p, &r, &err), QT_EPARAM);
  EXPECT_CONTAINS(err.msg, "fast (30) must be below slow (20)");
  qt_engine_free(e);
  qt_bars_fini(&b);
  qt_strategy_unload(h);
  qt_strategy_unload(NULL);
}

static void test_resolve(void) {
  ASSERT_TRUE(build_mine() == 0);
  void *h = (void *)1;
  qt_err err;
  const qt_strategy_vtbl *s = qt_strategy_resolve("market_maker", &h, &err);
  EXPECT_TRUE(s == qt_strategy_find("market_maker"));
  EXPECT_TRUE(h == NULL);
  s = qt_strategy_resolve(MINE, &h, &err);
  ASSERT_TRUE(s != NULL);
  EXPECT_STREQ(s->name, "mine");
  EXPECT_TRUE(h != NULL);
  qt_strategy_unload(h);
  s = qt_strategy_resolve("./" MINE, &h, &err);
  EXPECT_TRUE(s != NULL);
  qt_strategy_unload(h);
  s = qt_strategy_resolve("nope", &h, &err);
  EXPECT_TRUE(s == NULL && h == NULL);
  EXPECT_EQ(err.code, QT_ENOTFOUND);
  EXPECT_CONTAINS(err.msg, "unknown strategy 'nope'");
  EXPECT_CONTAINS(err.msg, "spread_arbitrage");
  /* A bare .so name means the file in the current directory. */
  s = qt_strategy_resolve("libmine.so", &h, &err);
  EXPECT_TRUE(s == NULL);
  EXPECT_CONTAINS(err.msg, "./libmine.so");
}

static void test_load_errors(void) {
  const qt_strategy_vtbl *s = (void *)1;
  void *h = (void *)1;
  qt_err err;
  EXPECT_EQ(qt_strategy_load("/nonexistent/dir/x.so", &s, &h, &err), QT_EIO);
  EXPECT_TRUE(s == NULL && h == NULL);
  EXPECT_CONTAINS(err.msg, "/nonexistent/dir/x.so");
  EXPECT_CONTAINS(err.msg, "No such file");

  char dir[] = "/tmp/qt_plugin_XXXXXX";
  ASSERT_TRUE(mkdtemp(dir) != NULL);
  const char *head = "#include \"qtune/strategy.h\"\n"
                     "static int lb(const double *p) { (void)p; return 0; }\n"
                     "static int in(void *s, const double *p, qt_ctx *c, qt_err *e) {"
                     " (void)s; (void)p; (void)c; (void)e; return 0; }\n"
                     "static void ob(void *s, const qt_bar *b, qt_ctx *c) { (void)s; (void)b; (void)c; }\n";
  char src[2048];
  ASSERT_TRUE(build_so(dir, "nosym", "int qt_strategy_entri = 1;\n") == 0);
  snprintf(src, sizeof src,
           "%sconst qt_strategy_vtbl qt_strategy_entry = {.abi = 99, .name = \"x\", "
           ".n_instruments = 1, .lookback = lb, .init = in, .on_bar = ob};\n", head);
  ASSERT_TRUE(build_so(dir, "abi", src) == 0);
  snprintf(src, sizeof src,
           "%sstatic const qt_param_spec ps[2] = {{\"a\", QT_PARAM_INT, 1, 5, 1, 0, 2, 0, 0, \"\"},"
           " {\"a\", QT_PARAM_INT, 1, 5, 1, 0, 2, 0, 0, \"\"}};\n"
           "const qt_strategy_vtbl qt_strategy_entry = {.abi = QT_STRATEGY_ABI, .name = \"x\", "
           ".params = ps, .n_params = 2, .n_instruments = 1, .lookback = lb, .init = in, "
           ".on_bar = ob};\n", head);
  ASSERT_TRUE(build_so(dir, "dup", src) == 0);
  snprintf(src, sizeof src,
           "%sstatic const qt_param_spec ps[1] = {{\"a\", QT_PARAM_INT, 1, 5, 1, 0, 9, 0, 0, \"\"}};\n"
           "const qt_strategy_vtbl qt_strategy_entry = {.abi = QT_STRATEGY_ABI, .name = \"x\", "
           ".params = ps, .n_params = 1, .n_instruments = 1, .lookback = lb, .init = in, "
           ".on_bar = ob};\n", head);
  ASSERT_TRUE(build_so(dir, "def", src) == 0);

  char path[600];
  snprintf(path, sizeof path, "%s/nosym.so", dir);
  EXPECT_EQ(qt_strategy_load(path, &s, &h, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "no symbol 'qt_strategy_entry'");
  EXPECT_CONTAINS(err.msg, path);
  snprintf(path, sizeof path, "%s/abi.so", dir);
  EXPECT_EQ(qt_strategy_load(path, &s, &h, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "ABI mismatch: expected 3, found 99");
  snprintf(path, sizeof path, "%s/dup.so", dir);
  EXPECT_EQ(qt_strategy_load(path, &s, &h, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "parameter 'a' appears twice");
  snprintf(path, sizeof path, "%s/def.so", dir);
  EXPECT_EQ(qt_strategy_load(path, &s, &h, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "default value");
  EXPECT_CONTAINS(err.msg, "outside its range [1, 5]");
  EXPECT_TRUE(s == NULL && h == NULL);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  EXPECT_EQ(system(cmd), 0);
}

static int lb0(const double *p) {
  (void)p;
  return 0;
}
static int init0(void *s, const double *p, qt_ctx *c, qt_err *e) {
  (void)s, (void)p, (void)c, (void)e;
  return 0;
}
static void bar0(void *s, const qt_bar *b, qt_ctx *c) { (void)s, (void)b, (void)c; }

static void test_validate(void) {
  qt_err err;
  size_t n = 0;
  const qt_strategy_vtbl *const *all = qt_strategies_builtin(&n);
  for (size_t k = 0; k < n; k++) {
    if (qt_strategy_validate(all[k], &err) != QT_OK) fprintf(stderr, "  %s\n", err.msg);
    EXPECT_EQ(qt_strategy_validate(all[k], &err), QT_OK);
  }
  static const qt_param_spec logp[1] = {{"x", QT_PARAM_FLOAT, 0, 1, 0, 1, 0.5, NULL, 0, ""}};
  static const qt_param_spec catp[1] = {{"x", QT_PARAM_CAT, 0, 0, 0, 0, 0, NULL, 0, ""}};
  static const qt_param_spec rng[1] = {{"x", QT_PARAM_FLOAT, 2, 1, 0, 0, 1, NULL, 0, ""}};
  qt_strategy_vtbl v = {.abi = QT_STRATEGY_ABI, .name = "ok", .n_instruments = 1,
                        .lookback = lb0, .init = init0, .on_bar = bar0};
  EXPECT_EQ(qt_strategy_validate(&v, &err), QT_OK);
  qt_strategy_vtbl b = v;
  b.name = "Bad Name";
  EXPECT_EQ(qt_strategy_validate(&b, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "lower_snake_case");
  b = v;
  b.on_bar = NULL;
  EXPECT_EQ(qt_strategy_validate(&b, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "callback on_bar is NULL");
  b = v;
  b.n_instruments = 3;
  EXPECT_EQ(qt_strategy_validate(&b, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "n_instruments is 3");
  b = v;
  b.params = logp, b.n_params = 1;
  EXPECT_EQ(qt_strategy_validate(&b, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "log scale needs lo > 0");
  b.params = catp;
  EXPECT_EQ(qt_strategy_validate(&b, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "categorical without choices");
  b.params = rng;
  EXPECT_EQ(qt_strategy_validate(&b, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "bounds [2, 1]");
  b = v;
  b.n_params = 2;
  EXPECT_EQ(qt_strategy_validate(&b, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "params is NULL");
}

QT_TESTS(T(test_load_and_backtest), T(test_resolve), T(test_load_errors), T(test_validate))
