/* The strategy conformance suite, over every row of the registry: a valid
 * spec whose defaults pass qt_strategy_check_params, a test file of its own,
 * no order or signal before lookback(p) bars (run on exactly lookback bars:
 * on_bar with i < lookback must stay silent), identical reruns on the same
 * and on a fresh engine, and no allocation inside on_bar/on_fill/on_funding
 * (a wrapper arms the allocator hook around each callback on a warm engine). */
#include "strat_util.h"

#include <unistd.h>

#define DAYS 4

static qt_synth_market g_m;

static int market(void) {
  if (g_m.bars.n) return 0;
  return su_synth(&g_m, 11, DAYS, 40);
}

static size_t builtins(const qt_strategy_vtbl *const **out) {
  size_t n = 0;
  *out = qt_strategies_builtin(&n);
  return n;
}

static void test_registry_sorted_and_complete(void) {
  const qt_strategy_vtbl *const *all;
  size_t n = builtins(&all);
  EXPECT_TRUE(n >= 3);
  EXPECT_TRUE(all[n] == NULL);
  for (size_t k = 0; k < n; k++) {
    EXPECT_TRUE(qt_strategy_find(all[k]->name) == all[k]);
    if (k > 0 && strcmp(all[k - 1]->name, all[k]->name) >= 0)
      QT_TEST_FAIL_("registry not sorted: '%s' before '%s'", all[k - 1]->name, all[k]->name);
  }
  EXPECT_TRUE(qt_strategy_find("auction_market") != NULL);
  EXPECT_TRUE(qt_strategy_find("market_maker") != NULL);
  EXPECT_TRUE(qt_strategy_find("spread_arbitrage") != NULL);
  EXPECT_TRUE(qt_strategy_find("no_such_strategy") == NULL);
}

static void test_spec_and_defaults(void) {
  const qt_strategy_vtbl *const *all;
  size_t n = builtins(&all);
  for (size_t k = 0; k < n; k++) {
    const qt_strategy_vtbl *s = all[k];
    qt_err err;
    if (qt_strategy_validate(s, &err) != QT_OK) QT_TEST_FAIL_("%s", err.msg);
    double p[256];
    ASSERT_TRUE(s->n_params <= 256);
    qt_strategy_defaults(s, p);
    if (qt_strategy_check_params(s, p, &err) != QT_OK) QT_TEST_FAIL_("%s defaults: %s", s->name, err.msg);
    EXPECT_TRUE(s->summary && s->summary[0]);
    EXPECT_TRUE(s->lookback(p) >= 0);
    for (size_t j = 0; j < s->n_params; j++)
      if (!s->params[j].help || !s->params[j].help[0])
        QT_TEST_FAIL_("%s: parameter '%s' has no help line", s->name, s->params[j].name);
  }
}

/* A registry entry with no tests/strategies/test_<name>.c fails the suite. */
static void test_every_entry_has_tests(void) {
  const qt_strategy_vtbl *const *all;
  size_t n = builtins(&all);
  for (size_t k = 0; k < n; k++) {
    char path[256];
    snprintf(path, sizeof path, "tests/strategies/test_%s.c", all[k]->name);
    if (access(path, F_OK) != 0) QT_TEST_FAIL_("strategy '%s' has no test file %s", all[k]->name, path);
    snprintf(path, sizeof path, "docs/strategies/%s.md", all[k]->name);
    if (access(path, F_OK) != 0) fprintf(stderr, "  note: strategy '%s' has no %s\n", all[k]->name, path);
  }
}

/* Params: the defaults, then random points of the space the strategy's init
 * accepts (cross-parameter rules may reject some). */
static void random_params(const qt_strategy_vtbl *s, qt_rng *r, double *p) {
  for (size_t j = 0; j < s->n_params; j++) {
    const qt_param_spec *ps = &s->params[j];
    double u = qt_rng_uniform(r);
    switch (ps->type) {
    case QT_PARAM_INT: p[j] = floor(ps->lo + u * (ps->hi - ps->lo + 1)); if (p[j] > ps->hi) p[j] = ps->hi; break;
    case QT_PARAM_CAT: p[j] = (double)qt_rng_below(r, ps->n_choices); break;
    case QT_PARAM_BOOL: p[j] = u < 0.5 ? 0 : 1; break;
    default: p[j] = ps->lo + u * (ps->hi - ps->lo); break;
    }
  }
}

static void test_lookback_honoured(void) {
  ASSERT_TRUE(market() == 0);
  const qt_strategy_vtbl *const *all;
  size_t n = builtins(&all);
  qt_engine *e = NULL;
  qt_err err;
  qt_engine_opts eo = qt_engine_opts_default();
  ASSERT_TRUE(qt_engine_new(&eo, &e, &err) == QT_OK);
  qt_rng rng;
  qt_rng_seed(&rng, 5);
  for (size_t k = 0; k < n; k++) {
    const qt_strategy_vtbl *s = all[k];
    qt_feed f[2];
    int nf = su_feeds(s, &g_m, f);
    int tested = 0;
    for (int trial = 0; trial < 6; trial++) {
      double p[256];
      if (trial == 0) qt_strategy_defaults(s, p);
      else random_params(s, &rng, p);
      int lb = s->lookback(p);
      if (lb < 1 || (size_t)lb >= g_m.bars.n) continue;
      qt_engine_opts o = eo;
      o.to = (size_t)lb; /* bars 0 .. lookback-1 only */
      qt_engine_set_opts(e, &o);
      qt_result r;
      int rc = qt_engine_run(e, f, nf, s, p, &r, &err);
      if (rc == QT_EPARAM && trial > 0) continue; /* init refused a random combination */
      if (rc != QT_OK) {
        QT_TEST_FAIL_("%s: %s", s->name, err.msg);
        continue;
      }
      tested++;
      if (r.n_orders || r.n_signals)
        QT_TEST_FAIL_("%s: %zu orders, %zu signals in the first lookback(p) = %d bars", s->name,
                      r.n_orders, r.n_signals, lb);
    }
    if (tested == 0) fprintf(stderr, "  note: %s: lookback 0, nothing to check\n", s->name);
  }
  qt_engine_free(e);
}

static void test_identical_reruns(void) {
  ASSERT_TRUE(market() == 0);
  const qt_strategy_vtbl *const *all;
  size_t n = builtins(&all);
  qt_engine_opts eo = qt_engine_opts_default();
  for (size_t k = 0; k < n; k++) {
    const qt_strategy_vtbl *s = all[k];
    qt_feed f[2];
    int nf = su_feeds(s, &g_m, f);
    double p[256];
    qt_strategy_defaults(s, p);
    qt_engine *e = NULL, *e2 = NULL;
    qt_err err;
    ASSERT_TRUE(qt_engine_new(&eo, &e, &err) == QT_OK);
    ASSERT_TRUE(qt_engine_new(&eo, &e2, &err) == QT_OK);
    qt_result r;
    su_snap first;
    if (qt_engine_run(e, f, nf, s, p, &r, &err) != QT_OK) {
      QT_TEST_FAIL_("%s: %s", s->name, err.msg);
    } else {
      su_snap_take(&first, &r);
      EXPECT_EQ(qt_engine_run(e, f, nf, s, p, &r, &err), QT_OK);
      if (!su_same_result(&first.r, &r)) QT_TEST_FAIL_("%s: rerun on the same engine differs", s->name);
      EXPECT_EQ(qt_engine_run(e2, f, nf, s, p, &r, &err), QT_OK);
      if (!su_same_result(&first.r, &r)) QT_TEST_FAIL_("%s: rerun on a fresh engine differs", s->name);
      su_snap_free(&first);
    }
    qt_engine_free(e);
    qt_engine_free(e2);
  }
}

/* ---- no allocation in the callbacks ----
 * The wrapper arms "fail the next allocation" before each callback and
 * probes with one allocation after it: if the probe succeeds, the callback
 * consumed the armed failure, i.e. it allocated. */
static const qt_strategy_vtbl *g_inner;
static size_t g_allocs, g_calls;

static void probe_after(void) {
  void *x = qt_malloc(1);
  qt_alloc_fail_at(0, 0);
  g_calls++;
  if (x) {
    g_allocs++;
    qt_free(x);
  }
}
static void w_on_bar(void *st, const qt_bar *b, qt_ctx *cx) {
  qt_alloc_fail_at(1, 0);
  g_inner->on_bar(st, b, cx);
  probe_after();
}
static void w_on_fill(void *st, const qt_fill *f, qt_ctx *cx) {
  qt_alloc_fail_at(1, 0);
  g_inner->on_fill(st, f, cx);
  probe_after();
}
static void w_on_funding(void *st, const qt_funding_event *f, qt_ctx *cx) {
  qt_alloc_fail_at(1, 0);
  g_inner->on_funding(st, f, cx);
  probe_after();
}

static void test_no_allocation_in_callbacks(void) {
  ASSERT_TRUE(market() == 0);
  /* The probe itself works: an allocating callback is caught. */
  qt_alloc_fail_at(1, 0);
  void *y = qt_malloc(8); /* "the callback" */
  g_allocs = 0;
  probe_after();
  EXPECT_EQ(g_allocs, 1); /* y took the armed failure, so the probe succeeded */
  EXPECT_TRUE(y == NULL);
  g_allocs = 0;
  qt_alloc_fail_at(1, 0);
  probe_after(); /* a silent callback: the probe takes the failure */
  EXPECT_EQ(g_allocs, 0);

  const qt_strategy_vtbl *const *all;
  size_t n = builtins(&all);
  qt_engine_opts eo = qt_engine_opts_default();
  for (size_t k = 0; k < n; k++) {
    const qt_strategy_vtbl *s = all[k];
    qt_strategy_vtbl w = *s;
    w.on_bar = w_on_bar;
    w.on_fill = s->on_fill ? w_on_fill : NULL;
    w.on_funding = s->on_funding ? w_on_funding : NULL;
    g_inner = s;
    qt_feed f[2];
    int nf = su_feeds(s, &g_m, f);
    double p[256];
    qt_strategy_defaults(s, p);
    qt_engine *e = NULL;
    qt_err err;
    ASSERT_TRUE(qt_engine_new(&eo, &e, &err) == QT_OK);
    qt_result r;
    su_snap plain;
    if (qt_engine_run(e, f, nf, s, p, &r, &err) != QT_OK) { /* warms the engine */
      QT_TEST_FAIL_("%s: %s", s->name, err.msg);
      qt_engine_free(e);
      continue;
    }
    su_snap_take(&plain, &r);
    g_allocs = g_calls = 0;
    int rc = qt_engine_run(e, f, nf, &w, p, &r, &err);
    qt_alloc_fail_at(0, 0);
    EXPECT_EQ(rc, QT_OK);
    EXPECT_TRUE(s->quiet_until ? g_calls > 0 : g_calls >= g_m.bars.n); /* quiet bars hear nothing */
    if (g_allocs) QT_TEST_FAIL_("%s: %zu callbacks allocated", s->name, g_allocs);
    if (rc == QT_OK && !su_same_result(&plain.r, &r))
      QT_TEST_FAIL_("%s: the wrapped run differs from the plain one", s->name);
    su_snap_free(&plain);
    qt_engine_free(e);
  }
}

static void test_fini(void) {
  qt_synth_market_fini(&g_m);
  memset(&g_m, 0, sizeof g_m);
  EXPECT_TRUE(market() == 0); /* regenerates: the same seed, the same bars */
  qt_synth_market_fini(&g_m);
}

QT_TESTS(T(test_registry_sorted_and_complete), T(test_spec_and_defaults),
         T(test_every_entry_has_tests), T(test_lookback_honoured), T(test_identical_reruns),
         T(test_no_allocation_in_callbacks), T(test_fini))
