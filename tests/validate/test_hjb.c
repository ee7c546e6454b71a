/* HJB market making: the solver against the closed forms (Avellaneda-
 * Stoikov's reservation price and spread in the limit of rare fills, where
 * they are exact; GLFT's stationary quotes from the ground state of their
 * linear system, and their asymptotic formula), the policy evaluation
 * against the solver, the fit against bars drawn from a known intensity,
 * and one background optimization (value, gap, search, determinism, two
 * threads at once, the log line). */
#include "qt_test.h"
#include "qtune/strategies.h"
#include "qtune/validate.h"

#include <pthread.h>

static qt_hjb_grid grid(double gamma, double T, int q_max) {
  qt_hjb_grid g = {0};
  g.gamma = gamma;
  g.horizon_s = T;
  g.q_max = q_max;
  g.lot = 1;
  return g;
}

/* Rare fills (A = 1e-120, so that even quotes 140 through the mid stay
 * rare): theta(0, q) = -gamma sigma^2 q^2 T / 2 and the optimal quotes are
 * AS's: reservation price s - q gamma sigma^2 T, spread gamma sigma^2 T +
 * (2 / gamma) ln(1 + gamma / k). */
static void test_avellaneda_stoikov(void) {
  qt_hjb_model m = {.sigma = 2, .A = 1e-120, .k = 1.5, .mid = 100};
  qt_hjb_grid g = grid(0.1, 100, 5);
  double th[11], b[11], a[11];
  qt_err err;
  ASSERT_TRUE(qt_hjb_solve(&m, &g, th, b, a, &err) == QT_OK);
  double gs2T = 0.1 * 4 * 100;
  for (int q = -4; q <= 4; q++) {
    int i = q + 5;
    EXPECT_NEAR(th[i], -0.5 * gs2T * q * q, 1e-6);
    double reservation = 100 + (a[i] - b[i]) / 2; /* (bid + ask) / 2 */
    EXPECT_NEAR(reservation, 100 - q * gs2T, 1e-6);
    EXPECT_NEAR(a[i] + b[i], gs2T + 2 / 0.1 * log(1 + 0.1 / 1.5), 1e-6);
  }
  EXPECT_TRUE(isnan(b[10]) && isnan(a[0])); /* no quote past the limits */
}

/* GLFT: v = exp(-M (T - t)) 1 with M = alpha q^2 on the diagonal and -eta
 * beside it, alpha = k gamma sigma^2 / 2, eta = A (1 + gamma / k)^-(1 + k /
 * gamma); for a long horizon v is the ground state phi of M and
 * delta_b(q) = ln(phi_q / phi_q+1) / k + ln(1 + gamma / k) / gamma.  phi by
 * inverse iteration (tridiagonal solves).  Their paper's example: sigma 0.3,
 * A 0.9, k 0.3, gamma 0.01, a limit of 20 lots here. */
#define GQ 20
#define GN (2 * GQ + 1)
static void ground_state(double alpha, double eta, double *phi) {
  double shift = -2 * eta - 1; /* below the spectrum: M - shift is positive definite */
  for (int i = 0; i < GN; i++) phi[i] = 1;
  for (int it = 0; it < 2000; it++) {
    double c[GN], d[GN];
    for (int i = 0; i < GN; i++) { /* Thomas algorithm on (M - shift) x = phi */
      double q = i - GQ, diag = alpha * q * q - shift;
      double lower = i > 0 ? -eta : 0;
      double den = diag - (i > 0 ? lower * c[i - 1] : 0);
      c[i] = -eta / den;
      d[i] = (phi[i] - (i > 0 ? lower * d[i - 1] : 0)) / den;
    }
    double x[GN];
    x[GN - 1] = d[GN - 1];
    for (int i = GN - 2; i >= 0; i--) x[i] = d[i] - c[i] * x[i + 1];
    double nrm = 0;
    for (int i = 0; i < GN; i++) nrm = fmax(nrm, fabs(x[i]));
    for (int i = 0; i < GN; i++) phi[i] = x[i] / nrm;
  }
}

static void test_glft(void) {
  double sigma = 0.3, A = 0.9, k = 0.3, gamma = 0.01;
  qt_hjb_model m = {.sigma = sigma, .A = A, .k = k, .mid = 100};
  qt_hjb_grid g = grid(gamma, 3600, GQ);
  double th[GN], b[GN], a[GN], phi[GN];
  qt_err err;
  ASSERT_TRUE(qt_hjb_solve(&m, &g, th, b, a, &err) == QT_OK);
  double alpha = k * gamma * sigma * sigma / 2, eta = A * pow(1 + gamma / k, -(1 + k / gamma));
  ground_state(alpha, eta, phi);
  double c0 = log(1 + gamma / k) / gamma;
  double omega = sqrt(sigma * sigma * gamma / (2 * k * A) * pow(1 + gamma / k, 1 + k / gamma));
  double worst_exact = 0, worst_asym = 0;
  for (int q = -10; q <= 10; q++) {
    int i = q + GQ;
    double eb = log(phi[i] / phi[i + 1]) / k + c0, ea = log(phi[i] / phi[i - 1]) / k + c0;
    worst_exact = fmax(worst_exact, fmax(fabs(b[i] - eb), fabs(a[i] - ea)));
    /* GLFT's asymptotic quotes (a continuous-inventory approximation) */
    double ab = c0 + (2 * q + 1) / 2.0 * omega, aa = c0 - (2 * q - 1) / 2.0 * omega;
    worst_asym = fmax(worst_asym, fmax(fabs(b[i] - ab) / fabs(ab), fabs(a[i] - aa) / fabs(aa)));
  }
  fprintf(stderr, "  glft: worst |solver - ground state| %.3g ticks, worst relative to the "
          "asymptotic formula %.3g\n", worst_exact, worst_asym);
  EXPECT_TRUE(worst_exact < 1e-3);  /* the explicit step's error, dt = 0.056 s */
  EXPECT_TRUE(worst_asym < 0.01);   /* the approximation's own error (0.13% when written) */
  /* at q = 0 the quotes are symmetric and the spread is GLFT's 2 c0 + omega */
  EXPECT_NEAR(b[GQ], a[GQ], 1e-9);
  EXPECT_NEAR(b[GQ] + a[GQ], 2 * c0 + omega, 0.02);
}

/* The solver's own quotes, evaluated as a fixed policy, are worth what the
 * solver says (for a long horizon they are stationary); a worse policy is
 * worth less; market orders never lower the optimum. */
static void test_evaluate(void) {
  qt_hjb_model m = {.sigma = 0.3, .A = 0.9, .k = 0.3, .mid = 100};
  qt_hjb_grid g = grid(0.01, 1800, 10);
  double th[21], b[21], a[21], tv[21];
  qt_err err;
  ASSERT_TRUE(qt_hjb_solve(&m, &g, th, b, a, &err) == QT_OK);
  ASSERT_TRUE(qt_hjb_evaluate(&m, &g, b, a, NULL, tv, &err) == QT_OK);
  EXPECT_TRUE(tv[10] <= th[10] + 1e-9);
  EXPECT_NEAR(tv[10], th[10], 5e-3);
  double wb[21], wa[21];
  for (int i = 0; i < 21; i++) wb[i] = b[i] * 3, wa[i] = a[i] * 3;
  ASSERT_TRUE(qt_hjb_evaluate(&m, &g, wb, wa, NULL, tv, &err) == QT_OK);
  EXPECT_TRUE(tv[10] < th[10] * 0.9);
  qt_hjb_grid gm = g;
  gm.market_orders = 1;
  gm.taker_cost = 0.5;
  double thm[21];
  ASSERT_TRUE(qt_hjb_solve(&m, &gm, thm, NULL, NULL, &err) == QT_OK);
  for (int i = 0; i < 21; i++) EXPECT_TRUE(thm[i] >= th[i] - 1e-9);
  /* a policy's liquidation costs taker_cost per lot: with rare fills and no
   * volatility, 2 lots sold at 1 lot/s cost 2 * 0.5, less than the 2 * 2
   * that holding them to the end costs (within the linear interpolation
   * between levels while the horizon cuts a liquidation short) */
  qt_hjb_model still = {.sigma = 0, .A = 1e-9, .k = 0.3, .mid = 100};
  qt_hjb_grid gl = grid(0.01, 10, 4);
  gl.taker_cost = 0.5;
  gl.terminal_cost = 2;
  gl.dt_s = 0.01;
  double nb[9], na[9], lq[9];
  for (int i = 0; i < 9; i++) nb[i] = na[i] = NAN, lq[i] = 1;
  ASSERT_TRUE(qt_hjb_evaluate(&still, &gl, nb, na, lq, tv, &err) == QT_OK);
  EXPECT_NEAR(tv[4 + 2], -1.0, 1e-3);
  EXPECT_NEAR(tv[4 - 2], -1.0, 1e-3);
  EXPECT_NEAR(tv[4], 0, 0);
  ASSERT_TRUE(qt_hjb_evaluate(&still, &gl, nb, na, NULL, tv, &err) == QT_OK);
  EXPECT_NEAR(tv[4 + 2], -4.0, 1e-12);
  /* bad grids name the field */
  qt_hjb_grid bad = g;
  bad.q_max = 0;
  EXPECT_EQ(qt_hjb_solve(&m, &bad, th, NULL, NULL, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "q_max");
  bad = g;
  bad.gamma = 0;
  EXPECT_EQ(qt_hjb_solve(&m, &bad, th, NULL, NULL, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "gamma");
  bad = g;
  bad.dt_s = 1;
  EXPECT_EQ(qt_hjb_solve(&m, &bad, th, NULL, NULL, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "too long");
}

/* Bars whose excursions from the previous close follow a known intensity:
 * P(excursion >= delta) = 1 - exp(-A e^{-k delta} dt), drawn by inverting
 * it; closes move by N(0, sigma^2 dt). */
static uint64_t g_rng = 88172645463325252ULL;
static double unif(void) {
  g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
  return ((double)(g_rng >> 11) + 0.5) / 9007199254740992.0;
}
static double normal(void) { return sqrt(-2 * log(unif())) * cos(2 * M_PI * unif()); }
static double excursion(double A, double k, double dt) {
  double u = unif();
  double d = -log(-log1p(-u) / (A * dt)) / k;
  return d > 0 ? d : 0;
}

static void make_bars(qt_bars *b, size_t n, double A, double k, double sigma) {
  memset(b, 0, sizeof *b);
  b->n = n;
  b->interval_ms = 60000;
  b->ts_ms = calloc(n, sizeof *b->ts_ms);
  b->open = calloc(n, sizeof(double));
  b->high = calloc(n, sizeof(double));
  b->low = calloc(n, sizeof(double));
  b->close = calloc(n, sizeof(double));
  double c = 100;
  for (size_t i = 0; i < n; i++) {
    b->ts_ms[i] = 1700000000000LL + (int64_t)i * 60000;
    double nc = c + sigma * sqrt(60.0) * normal();
    double up = excursion(A, k, 60), dn = excursion(A, k, 60);
    b->open[i] = c;
    b->high[i] = fmax(c + up, fmax(c, nc));
    b->low[i] = fmin(c - dn, fmin(c, nc));
    b->close[i] = nc;
    c = nc;
  }
}

static void free_bars(qt_bars *b) {
  free(b->ts_ms), free(b->open), free(b->high), free(b->low), free(b->close);
}

static void test_fit(void) {
  qt_bars b;
  /* sigma small against the excursions, so the closes rarely set the range */
  make_bars(&b, 4000, 0.05, 8.0, 0.002);
  qt_hjb_model m;
  qt_err err;
  ASSERT_TRUE(qt_hjb_fit_bars(&b, 0, b.n, &m, &err) == QT_OK);
  fprintf(stderr, "  fit: sigma %.5g (0.002), A %.4g (0.05), k %.4g (8), R^2 %.4f\n", m.sigma,
          m.A, m.k, m.fit_r2);
  EXPECT_NEAR(m.sigma, 0.002, 0.05);
  EXPECT_NEAR(m.A, 0.05, 0.15);
  EXPECT_NEAR(m.k, 8.0, 0.05);
  EXPECT_TRUE(m.fit_r2 > 0.99);
  EXPECT_NEAR(m.interval_s, 60, 0);
  EXPECT_EQ(m.n_bars, 4000);
  EXPECT_NEAR(m.mid, b.close[3999], 0);
  EXPECT_EQ(qt_hjb_fit_bars(&b, 0, 20, &m, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "at least 30");
  free_bars(&b);
}

/* Trades against a known book: the mid a slow random walk quoted each
 * second, on each side a taker trade in a second with probability 1 - e^-0.5
 * (0.3935 per second) at an offset Exp(k = 4) from the mid, so lambda(delta)
 * = 0.3935 e^{-4 delta}: the fit with the quotes finds A 0.3935 and k 4;
 * without them (the previous trade as the mid) it still runs, cruder. */
static void test_fit_trades(void) {
  size_t n = 0, cap = 20000;
  qt_trades t;
  memset(&t, 0, sizeof t);
  t.ts_ms = calloc(cap, sizeof *t.ts_ms);
  t.price = calloc(cap, sizeof *t.price);
  t.qty = calloc(cap, sizeof *t.qty);
  t.buyer_is_maker = calloc(cap, 1);
  qt_quotes q;
  memset(&q, 0, sizeof q);
  size_t nsec = 8000;
  q.n = nsec;
  q.ts_ms = calloc(nsec, sizeof *q.ts_ms);
  q.bid = calloc(nsec, sizeof(double));
  q.ask = calloc(nsec, sizeof(double));
  q.bid_qty = calloc(nsec, sizeof(double));
  q.ask_qty = calloc(nsec, sizeof(double));
  int64_t t0 = 1700000000000LL;
  double mid = 100;
  for (size_t s = 0; s < nsec; s++) {
    q.ts_ms[s] = t0 + (int64_t)s * 1000;
    q.bid[s] = mid - 0.01, q.ask[s] = mid + 0.01;
    q.bid_qty[s] = q.ask_qty[s] = 1;
    /* each side: a trade in this second with probability 1 - e^-0.5 (at most one) */
    for (int side = 0; side < 2 && n < cap; side++) {
      if (unif() >= 1 - exp(-0.5)) continue;
      double off = -log(unif()) / 4.0;
      t.ts_ms[n] = q.ts_ms[s] + 1 + (int64_t)(unif() * 998);
      t.price[n] = side ? mid - off : mid + off;
      t.buyer_is_maker[n] = (uint8_t)side;
      t.qty[n] = 1;
      n++;
    }
    if (n >= 2 && t.ts_ms[n - 1] < t.ts_ms[n - 2]) { /* keep them in time order */
      int64_t ts = t.ts_ms[n - 1];
      t.ts_ms[n - 1] = t.ts_ms[n - 2];
      t.ts_ms[n - 2] = ts;
      double pr = t.price[n - 1];
      t.price[n - 1] = t.price[n - 2];
      t.price[n - 2] = pr;
      uint8_t bm = t.buyer_is_maker[n - 1];
      t.buyer_is_maker[n - 1] = t.buyer_is_maker[n - 2];
      t.buyer_is_maker[n - 2] = bm;
    }
    mid += 0.003 * normal();
  }
  t.n = n;
  qt_hjb_model m;
  qt_err err;
  ASSERT_TRUE(qt_hjb_fit_trades(&t, &q, t0, t0 + (int64_t)nsec * 1000, &m, &err) == QT_OK);
  fprintf(stderr, "  fit_trades: A %.4g (0.3935), k %.4g (4), sigma %.4g (0.003), R^2 %.4f, %zu trades\n",
          m.A, m.k, m.sigma, m.fit_r2, m.n_bars);
  /* the regression's own noise on ~ 6300 trades; the second-sampled mid changes by 0.003 */
  EXPECT_NEAR(m.A, 1 - exp(-0.5), 0.05);
  EXPECT_NEAR(m.k, 4.0, 0.05);
  EXPECT_NEAR(m.sigma, 0.003, 0.1);
  EXPECT_TRUE(m.fit_r2 > 0.98);
  EXPECT_NEAR(m.interval_s, 1, 0);
  qt_hjb_model crude;
  EXPECT_EQ(qt_hjb_fit_trades(&t, NULL, t0, t0 + (int64_t)nsec * 1000, &crude, &err), QT_OK);
  EXPECT_TRUE(crude.k > 0 && crude.A > 0);
  EXPECT_EQ(qt_hjb_fit_trades(&t, &q, t0, t0 + 30 * 1000, &m, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "at least 100");
  free(t.ts_ms), free(t.price), free(t.qty), free(t.buyer_is_maker);
  free(q.ts_ms), free(q.bid), free(q.ask), free(q.bid_qty), free(q.ask_qty);
}

/* market_maker's policy on the grid: 10 bps each side at q = 0, skewed
 * with inventory, no bid at the limit, liquidation above the threshold. */
static void test_mm_policy(void) {
  const qt_strategy_vtbl *s = qt_strategy_find("market_maker");
  double p[16];
  qt_strategy_defaults(s, p);
  qt_hjb_model m = {.sigma = 0.1, .A = 0.05, .k = 8, .mid = 100};
  qt_hjb_grid g = grid(0.01, 300, 12);
  g.lot = 0.02 * 10000 / 100; /* order_qty of equity 10000 at 100: 2 units */
  double b[25], a[25], l[25];
  qt_hjb_mm_policy(p, &m, &g, 10000, b, a, l);
  EXPECT_NEAR(b[12], 0.1, 1e-12); /* 10 bps of 100 */
  EXPECT_NEAR(a[12], 0.1, 1e-12);
  /* q = 6 lots = 12 units of a 25-unit limit: ratio 0.48, skew 0.5 * 0.48 * 10 = 2.4 bps */
  EXPECT_NEAR(b[18], 0.124, 1e-12);
  EXPECT_NEAR(a[18], 0.076, 1e-12);
  EXPECT_TRUE(isnan(b[24]) && isnan(a[0]));
  EXPECT_NEAR(l[18], 0, 0);
  /* q = 12 lots = 24 units, ratio 0.96: (0.96 - 0.7) * 10 units/s = 1.3 lots/s */
  EXPECT_NEAR(l[24], (0.96 - 0.7) * 10 / 2, 1e-12);
}

static int g_hjb_lines;
static char g_hjb_line[256];
static void sink(void *ud, qt_log_level lvl, const char *msg) {
  (void)ud;
  if (lvl == QT_LOG_INFO && strncmp(msg, "Background HJB Optimization Complete: ", 38) == 0) {
    g_hjb_lines++;
    snprintf(g_hjb_line, sizeof g_hjb_line, "%s", msg);
  }
}

typedef struct job {
  const qt_bars *b;
  const double *p;
  qt_hjb_result r;
  int rc;
} job;
static void *run_job(void *arg) {
  job *j = arg;
  qt_hjb_opts o = qt_hjb_opts_default();
  o.search_trials = 24;
  j->rc = qt_hjb_optimize(j->b, 0, j->b->n, j->p, &o, &j->r, NULL);
  return NULL;
}

/* One background optimization: the optimum is at least the heuristic, the
 * search's suggestion at least the current params and within their
 * bounds; the same seed gives the same result, also from two threads at once. */
static void test_optimize(void) {
  const qt_strategy_vtbl *s = qt_strategy_find("market_maker");
  double p[16];
  qt_strategy_defaults(s, p);
  qt_bars b;
  make_bars(&b, 600, 0.05, 0.8, 0.01); /* excursions of ~1 price unit at 100: ~100 bps */
  qt_hjb_opts o = qt_hjb_opts_default();
  o.search_trials = 24;
  qt_hjb_result r;
  qt_err err;
  g_hjb_lines = 0;
  qt_log_set(sink, NULL, QT_LOG_INFO);
  int rc = qt_hjb_optimize(&b, 0, b.n, p, &o, &r, &err);
  if (rc) fprintf(stderr, "  %s\n", err.msg);
  ASSERT_TRUE(rc == QT_OK);
  qt_log_set(NULL, NULL, QT_LOG_OFF);
  fprintf(stderr, "  optimize: heuristic %.4f, optimal %.4f, gap %.2f%%, suggested %.4f (gap %.2f%%)\n",
          r.heuristic_value, r.optimal_value, r.gap_pct, r.suggested_value, r.suggested_gap_pct);
  EXPECT_EQ(g_hjb_lines, 1);
  char want[256];
  snprintf(want, sizeof want, "Background HJB Optimization Complete: Heuristic_Value=%.4f, "
           "Optimal_Value=%.4f, Gap=%.2f%%", r.heuristic_value, r.optimal_value, r.gap_pct);
  EXPECT_STREQ(g_hjb_line, want);
  EXPECT_TRUE(r.optimal_value >= r.heuristic_value);
  EXPECT_TRUE(r.gap_pct >= 0);
  EXPECT_TRUE(r.suggested_value >= r.heuristic_value);
  EXPECT_TRUE(r.suggested_value <= r.optimal_value);
  EXPECT_TRUE(r.suggested_gap_pct <= r.gap_pct);
  EXPECT_EQ(r.n_trials, 24);
  EXPECT_EQ(r.grid.q_max, 12);
  EXPECT_NEAR(r.grid.lot, 0.02 * 10000 / r.model.mid, 1e-12);
  for (size_t k = 0; k < s->n_params; k++) {
    EXPECT_TRUE(r.suggested[k] >= s->params[k].lo && r.suggested[k] <= s->params[k].hi);
    const char *nm = s->params[k].name;
    int searched = !strcmp(nm, "skew_adjustment_factor") ||
                   !strcmp(nm, "inventory_urgency_threshold") ||
                   !strcmp(nm, "liquidation_rate_multiplier") || !strcmp(nm, "min_spread_base_ratio");
    if (!searched) EXPECT_NEAR(r.suggested[k], p[k], 0); /* only those the model sees move */
  }
  /* the same from the fitted model directly; a model without a mid is refused */
  qt_hjb_result r2;
  ASSERT_TRUE(qt_hjb_optimize_model(&r.model, p, &o, &r2, &err) == QT_OK);
  EXPECT_DBL_EQ(r2.optimal_value, r.optimal_value);
  EXPECT_DBL_EQ(r2.suggested_value, r.suggested_value);
  qt_hjb_model nomid = r.model;
  nomid.mid = 0;
  EXPECT_EQ(qt_hjb_optimize_model(&nomid, p, &o, &r2, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "mid");
  job j[2];
  memset(j, 0, sizeof j);
  for (int i = 0; i < 2; i++) j[i].b = &b, j[i].p = p, j[i].rc = -1;
  pthread_t t[2];
  for (int i = 0; i < 2; i++) ASSERT_TRUE(pthread_create(&t[i], NULL, run_job, &j[i]) == 0);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < 2; i++) {
    EXPECT_EQ(j[i].rc, QT_OK);
    EXPECT_DBL_EQ(j[i].r.heuristic_value, r.heuristic_value);
    EXPECT_DBL_EQ(j[i].r.optimal_value, r.optimal_value);
    EXPECT_DBL_EQ(j[i].r.suggested_value, r.suggested_value);
    EXPECT_TRUE(memcmp(j[i].r.suggested, r.suggested, sizeof r.suggested) == 0);
  }
  free_bars(&b);
}

/* Out of memory at each allocation of a background run: QT_ENOMEM or
 * success, never a crash or a leak (ASan checks the leaks). */
static void test_oom(void) {
  const qt_strategy_vtbl *s = qt_strategy_find("market_maker");
  double p[16];
  qt_strategy_defaults(s, p);
  qt_bars b;
  make_bars(&b, 200, 0.05, 0.8, 0.01);
  qt_hjb_opts o = qt_hjb_opts_default();
  o.search_trials = 4;
  int saw_ok = 0, saw_oom = 0;
  for (long n = 1; n < 200 && !saw_ok; n++) {
    qt_hjb_result r;
    qt_err err;
    qt_alloc_fail_at(n, 0);
    int rc = qt_hjb_optimize(&b, 0, b.n, p, &o, &r, &err);
    qt_alloc_fail_at(0, 0);
    if (rc == QT_OK) saw_ok = 1;
    else {
      EXPECT_EQ(rc, QT_ENOMEM);
      saw_oom = 1;
    }
  }
  EXPECT_TRUE(saw_ok && saw_oom);
  free_bars(&b);
}

/* Above 10% three runs in a row: the third says retune; a dip or a failed
 * run starts the count again. */
static void test_gap_watch(void) {
  qt_hjb_gap_watch w = QT_HJB_GAP_WATCH_INIT;
  EXPECT_EQ(qt_hjb_gap_note(&w, 15), 0);
  EXPECT_EQ(qt_hjb_gap_note(&w, 12), 0);
  EXPECT_EQ(qt_hjb_gap_note(&w, 11), 1);
  EXPECT_EQ(qt_hjb_gap_note(&w, 20), 1);
  EXPECT_EQ(qt_hjb_gap_note(&w, 9), 0);
  EXPECT_EQ(qt_hjb_gap_note(&w, 15), 0);
  EXPECT_EQ(qt_hjb_gap_note(&w, NAN), 0);
  EXPECT_EQ(qt_hjb_gap_note(&w, 15), 0);
  EXPECT_EQ(qt_hjb_gap_note(&w, 10), 0); /* not above */
}

QT_TESTS(T(test_gap_watch), T(test_oom), T(test_avellaneda_stoikov), T(test_glft), T(test_evaluate), T(test_fit), T(test_fit_trades),
         T(test_mm_policy), T(test_optimize))
