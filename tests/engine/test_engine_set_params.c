/* qt_engine_set_params, what the paper runner's live params file uses: the
 * strategy's init again on its running state.  The same params mid-run
 * change nothing (bit for bit: market_maker's adverse-selection estimate
 * and order ids survive); other params change only the bars after the call
 * (every order before it is the plain run's; the quotes after it have the
 * new spread); no run begun is QT_ESTATE; init's refusal is returned. */
#include "qt_test.h"
#include "qtune/engine.h"
#include "qtune/strategies.h"

#define NB 400
#define CUT 200

static int64_t g_ts[NB];
static double g_o[NB], g_h[NB], g_l[NB], g_c[NB], g_v[NB];
static qt_bars g_bars;

static void mk_bars(void) {
  qt_rng r;
  qt_rng_seed(&r, 11);
  double p = 100;
  for (size_t i = 0; i < NB; i++) {
    double o = p, c = o * (1 + 0.002 * qt_rng_normal(&r));
    g_ts[i] = 1700000000000 + (int64_t)i * 60000;
    g_o[i] = o, g_c[i] = c;
    g_h[i] = fmax(o, c) * (1 + 0.001 * qt_rng_uniform(&r));
    g_l[i] = fmin(o, c) * (1 - 0.001 * qt_rng_uniform(&r));
    g_v[i] = 10 + (double)(i % 7);
    p = c;
  }
  g_bars = (qt_bars){.n = NB, .interval_ms = 60000, .ts_ms = g_ts, .open = g_o, .high = g_h,
                     .low = g_l, .close = g_c, .volume = g_v};
}

static int param_index(const qt_strategy_vtbl *s, const char *name) {
  for (size_t k = 0; k < s->n_params; k++)
    if (!strcmp(s->params[k].name, name)) return (int)k;
  return -1;
}

/* Steps e to its end, calling set_params(p2) before bar CUT when p2. */
static void step_all(qt_engine *e, const double *p2, qt_err *err) {
  for (size_t i = 0;; i++) {
    if (p2 && i == CUT) EXPECT_EQ(qt_engine_set_params(e, p2, err), QT_OK);
    if (qt_engine_step(e, err) != QT_OK) break;
  }
}

/* The median total spread (bps of the mid of the pair) of the limit quotes
 * submitted at the same time, over log records with ts in [t0, t1). */
static double quote_spread_bps(const qt_result *r, int64_t t0, int64_t t1) {
  double v[NB];
  size_t n = 0;
  for (size_t j = 0; j + 1 < r->n_order_log; j++) {
    const qt_order_event *a = &r->order_log[j], *b = &r->order_log[j + 1];
    if (a->ts_ms < t0 || a->ts_ms >= t1 || a->ts_ms != b->ts_ms) continue;
    if (a->action != QT_OA_SUBMIT || b->action != QT_OA_SUBMIT) continue;
    if (a->type != QT_ORDER_LIMIT || b->type != QT_ORDER_LIMIT) continue;
    if (a->side != QT_BUY || b->side != QT_SELL) continue;
    v[n++] = (b->price - a->price) / (0.5 * (a->price + b->price)) * 1e4;
  }
  for (size_t i = 1; i < n; i++) /* insertion sort: n < NB */
    for (size_t k = i; k > 0 && v[k - 1] > v[k]; k--) {
      double t = v[k];
      v[k] = v[k - 1], v[k - 1] = t;
    }
  return n ? v[n / 2] : NAN;
}

static void same_params_change_nothing_new_ones_only_later(void) {
  mk_bars();
  const qt_strategy_vtbl *s = qt_strategy_find("market_maker");
  ASSERT_TRUE(s != NULL);
  double p1[64], p2[64];
  qt_strategy_defaults(s, p1);
  memcpy(p2, p1, sizeof p1);
  int kb = param_index(s, "base_spread_bps");
  ASSERT_TRUE(kb >= 0);
  p2[kb] = 3 * p1[kb];
  qt_feed f = {.inst = qt_instrument_default("TESTUSDT"), .bars = &g_bars};
  qt_engine_opts o = qt_engine_opts_default();
  o.log_orders = 1;
  o.close_at_end = 0;
  qt_err err = {0};
  qt_engine *ea = NULL, *eb = NULL, *ec = NULL;
  ASSERT_TRUE(qt_engine_new(&o, &ea, &err) == 0 && qt_engine_new(&o, &eb, &err) == 0 &&
              qt_engine_new(&o, &ec, &err) == 0);
  ASSERT_TRUE(qt_engine_begin(ea, &f, 1, s, p1, &err) == QT_OK);
  ASSERT_TRUE(qt_engine_begin(eb, &f, 1, s, p1, &err) == QT_OK);
  ASSERT_TRUE(qt_engine_begin(ec, &f, 1, s, p1, &err) == QT_OK);
  step_all(ea, NULL, &err);
  step_all(eb, p1, &err); /* the same set again mid-run */
  step_all(ec, p2, &err); /* a wider spread from bar CUT on */
  qt_result ra, rb, rc;
  qt_engine_peek(ea, &ra);
  qt_engine_peek(eb, &rb);
  qt_engine_peek(ec, &rc);
  ASSERT_TRUE(ra.n_order_log == rb.n_order_log);
  EXPECT_TRUE(ra.n_order_log > 100);
  EXPECT_TRUE(memcmp(ra.order_log, rb.order_log, ra.n_order_log * sizeof *ra.order_log) == 0);
  EXPECT_TRUE(memcmp(ra.equity, rb.equity, ra.n_bars * sizeof(double)) == 0);
  /* before the cut: the plain run's orders, record for record */
  size_t before = 0;
  while (before < ra.n_order_log && ra.order_log[before].ts_ms < g_ts[CUT]) before++;
  ASSERT_TRUE(before > 10 && before <= rc.n_order_log);
  EXPECT_TRUE(memcmp(ra.order_log, rc.order_log, before * sizeof *ra.order_log) == 0);
  /* after it: the quotes have the new spread (base + the adverse-selection widening) */
  double s1 = quote_spread_bps(&rc, g_ts[1], g_ts[CUT]);
  double s2 = quote_spread_bps(&rc, g_ts[CUT], g_ts[NB - 1] + 1);
  EXPECT_NEAR(s1, p1[kb], 0.5 * p1[kb]);
  EXPECT_NEAR(s2, p2[kb], 0.5 * p1[kb]);
  /* init's refusal comes back (market_maker: the spread scale must be > 0) */
  int ks = param_index(s, "adverse_selection_spread_scale");
  ASSERT_TRUE(ks >= 0);
  p2[ks] = 0;
  EXPECT_EQ(qt_engine_set_params(ec, p2, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "adverse_selection_spread_scale");
  qt_engine_free(ea), qt_engine_free(eb), qt_engine_free(ec);
}

static void set_params_without_begin(void) {
  qt_engine *e = NULL;
  qt_err err = {0};
  ASSERT_TRUE(qt_engine_new(NULL, &e, &err) == 0);
  double p[64] = {0};
  EXPECT_EQ(qt_engine_set_params(e, p, &err), QT_ESTATE);
  EXPECT_CONTAINS(err.msg, "qt_engine_begin");
  EXPECT_EQ(qt_engine_set_params(NULL, p, &err), QT_ESTATE);
  qt_engine_free(e);
}

QT_TESTS(T(same_params_change_nothing_new_ones_only_later), T(set_params_without_begin))
