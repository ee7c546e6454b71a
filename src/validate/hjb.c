/* HJB market making: fit of (sigma, A, k) to bars, the backward recursion
 * of the Avellaneda-Stoikov / Gueant-Lehalle-Fernandez-Tapia model on an
 * inventory grid for the optimum and for a fixed policy, market_maker's
 * policy under the model, and the search of its seven tuning parameters
 * for the heuristic closest to the optimum (validate.h has the equations,
 * docs/hjb.md the derivation and the checks).
 *
 * Scheme: theta(t - dt) = theta(t) + dt (H_b + H_a - gamma sigma^2 lot^2
 * q^2 / 2), the Hamiltonians taken at theta(t) (explicit), then the market
 * orders as an obstacle (optimum) or a flow of liq lots per second
 * (policy).  The optimal offset in closed form: delta* = fee + p + ln(1 +
 * gamma lot / k) / (gamma lot), with H = A e^{-k delta*} lot / (k + gamma
 * lot); it is floored where lambda dt would pass 1/2 (with dt <= 0.05 / A,
 * -ln(10)/k through the mid), so the explicit step stays monotone. */
#include "qtune/validate.h"
#include "qtune/strategies.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- fit ---- */

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct bar_ud {
  double m, dt;
} bar_ud;
/* Bars: the intensity that gives the share of bar sides reaching delta,
 * -ln(1 - P) / bar length; NaN near 0 and 1 (P kept in (0.5%, 99.5%)). */
static double bar_rate(size_t above, const void *ud) {
  const bar_ud *b = ud;
  double pr = (double)above / b->m;
  return pr <= 0.005 || pr >= 0.995 ? NAN : -log1p(-pr) / b->dt;
}
static int fit_curve(const double *ex, size_t m, double (*lam)(size_t above, const void *ud),
                     const void *ud, qt_hjb_model *out, qt_err *err);

int qt_hjb_fit_bars(const qt_bars *b, size_t from, size_t to, qt_hjb_model *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  if (to > b->n) to = b->n;
  if (from >= to || to - from < 30)
    return qt_err_set(err, QT_EINVAL, "hjb fit: %zu bars in the window; at least 30 are needed",
                      to > from ? to - from : 0);
  double dt = b->interval_ms > 0 ? (double)b->interval_ms / 1000.0 : 60.0;
  size_t n = to - from - 1; /* changes from the previous close */
  double *ex = qt_malloc(2 * n * sizeof *ex);
  if (!ex) return qt_err_set(err, QT_ENOMEM, "hjb fit: out of memory");
  double s1 = 0, s2 = 0;
  size_t m = 0, nd = 0;
  for (size_t i = from + 1; i < to; i++) {
    double pc = b->close[i - 1], c = b->close[i], h = b->high[i], l = b->low[i];
    if (!(pc > 0) || !isfinite(c) || !isfinite(h) || !isfinite(l)) continue;
    double d = c - pc;
    s1 += d;
    s2 += d * d;
    nd++;
    ex[m++] = h > pc ? h - pc : 0; /* how far above the previous close the bar reached */
    ex[m++] = l < pc ? pc - l : 0;
  }
  int rc = QT_OK;
  if (nd < 29) {
    rc = qt_err_set(err, QT_EINVAL, "hjb fit: fewer than 30 usable bars in the window");
    goto fail;
  }
  double var = (s2 - s1 * s1 / (double)nd) / (double)(nd - 1);
  out->sigma = sqrt(var > 0 ? var / dt : 0);
  out->mid = b->close[to - 1];
  out->interval_s = dt;
  out->n_bars = to - from;
  if (!(out->sigma > 0)) {
    rc = qt_err_set(err, QT_EINVAL, "hjb fit: the closes do not move (sigma 0)");
    goto fail;
  }
  qsort(ex, m, sizeof *ex, cmp_dbl);
  bar_ud ud = {(double)m, dt};
  rc = fit_curve(ex, m, bar_rate, &ud, out, err);
fail:
  qt_free(ex);
  return rc;
}

/* ln lambda(delta) = ln A - k delta by least squares over 24 offsets
 * between the 10th and 90th percentile of ex[0..m) (sorted); lam(count at
 * or above delta) is the intensity at that offset, NaN to skip it. */
static int fit_curve(const double *ex, size_t m, double (*lam)(size_t above, const void *ud),
                     const void *ud, qt_hjb_model *out, qt_err *err) {
  double lo = ex[(size_t)(0.10 * (double)(m - 1))], hi = ex[(size_t)(0.90 * (double)(m - 1))];
  if (!(lo > 0)) lo = hi / 20;
  if (!(hi > lo))
    return qt_err_set(err, QT_EINVAL, "hjb fit: the offsets do not vary (no fill curve)");
  double sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
  int np = 0;
  for (int j = 0; j < 24; j++) {
    double delta = lo + (hi - lo) * j / 23.0;
    size_t a = 0, z = m; /* the first ex >= delta */
    while (a < z) {
      size_t mid = a + (z - a) / 2;
      if (ex[mid] < delta) a = mid + 1;
      else z = mid;
    }
    double l = lam(m - a, ud);
    if (!(l > 0) || !isfinite(l)) continue;
    double y = log(l);
    sx += delta, sy += y, sxx += delta * delta, sxy += delta * y, syy += y * y;
    np++;
  }
  double den = np * sxx - sx * sx;
  if (np < 3 || !(den > 0))
    return qt_err_set(err, QT_EINVAL, "hjb fit: too few offsets with a usable fill rate to fit "
                      "A and k");
  double slope = (np * sxy - sx * sy) / den, icpt = (sy - slope * sx) / np;
  out->k = -slope;
  out->A = exp(icpt);
  double sst = syy - sy * sy / np, ssreg = slope * (sxy - sx * sy / np);
  out->fit_r2 = sst > 0 ? ssreg / sst : 1;
  if (!(out->k > 0) || !isfinite(out->A) || !(out->A > 0))
    return qt_err_set(err, QT_EINVAL, "hjb fit: the fill intensity does not fall with the "
                      "offset (k = %g)", out->k);
  return QT_OK;
}

typedef struct rate_ud {
  double seconds;
} rate_ud;

/* Trades: arrivals at offset >= delta per side per second. */
static double trade_rate(size_t above, const void *ud) {
  const rate_ud *r = ud;
  return (double)above / (2.0 * r->seconds);
}

int qt_hjb_fit_trades(const qt_trades *t, const qt_quotes *quotes, int64_t from_ms,
                      int64_t to_ms, qt_hjb_model *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  size_t i0 = 0, i1 = 0;
  while (i0 < t->n && t->ts_ms[i0] < from_ms) i0++;
  i1 = i0;
  while (i1 < t->n && t->ts_ms[i1] < to_ms) i1++;
  if (i1 - i0 < 100)
    return qt_err_set(err, QT_EINVAL, "hjb fit: %zu trades in the window; at least 100 are needed",
                      i1 - i0);
  double seconds = (double)(t->ts_ms[i1 - 1] - t->ts_ms[i0]) / 1000.0;
  if (seconds < 60)
    return qt_err_set(err, QT_EINVAL, "hjb fit: the trades span %.1f s; at least 60 are needed",
                      seconds);
  double *ex = qt_malloc((i1 - i0) * sizeof *ex);
  if (!ex) return qt_err_set(err, QT_ENOMEM, "hjb fit: out of memory");
  size_t m = 0, qk = 0;
  double s2 = 0, last_mid = NAN, mid = NAN;
  int64_t sec = INT64_MIN, span_s = 0;
  for (size_t i = i0; i < i1; i++) {
    double ref = NAN;
    if (quotes) {
      while (qk < quotes->n && quotes->ts_ms[qk] <= t->ts_ms[i]) qk++;
      if (qk > 0 && quotes->bid[qk - 1] > 0 && quotes->ask[qk - 1] >= quotes->bid[qk - 1])
        ref = 0.5 * (quotes->bid[qk - 1] + quotes->ask[qk - 1]);
    } else if (i > i0) {
      ref = t->price[i - 1];
    }
    if (isfinite(ref) && isfinite(t->price[i])) {
      double d = t->buyer_is_maker[i] ? ref - t->price[i] : t->price[i] - ref;
      ex[m++] = d > 0 ? d : 0;
      mid = ref;
    }
    /* sigma: the mid at each second's first trade, squared changes over the seconds between */
    int64_t s_now = t->ts_ms[i] / 1000;
    if (s_now != sec && isfinite(mid)) {
      if (isfinite(last_mid)) {
        s2 += (mid - last_mid) * (mid - last_mid);
        span_s += s_now - sec;
      }
      last_mid = mid;
      sec = s_now;
    }
  }
  int rc = QT_OK;
  if (m < 100 || span_s <= 0 || !(s2 > 0)) {
    rc = qt_err_set(err, QT_EINVAL, "hjb fit: %s", m < 100 ? "fewer than 100 trades with a mid"
                                                            : "the mid does not move (sigma 0)");
    goto fail;
  }
  out->sigma = sqrt(s2 / (double)span_s);
  out->mid = mid;
  out->interval_s = 1;
  out->n_bars = m;
  qsort(ex, m, sizeof *ex, cmp_dbl);
  rate_ud ud = {seconds};
  rc = fit_curve(ex, m, trade_rate, &ud, out, err);
fail:
  qt_free(ex);
  return rc;
}

/* ---- the recursion ---- */

static int check(const qt_hjb_model *m, const qt_hjb_grid *g, double *dt, long *steps,
                 qt_err *err) {
  if (!(m->sigma >= 0) || !isfinite(m->sigma))
    return qt_err_set(err, QT_EINVAL, "hjb: model sigma must be >= 0 (got %g)", m->sigma);
  if (!(m->A > 0) || !isfinite(m->A))
    return qt_err_set(err, QT_EINVAL, "hjb: model A must be > 0 (got %g)", m->A);
  if (!(m->k > 0) || !isfinite(m->k))
    return qt_err_set(err, QT_EINVAL, "hjb: model k must be > 0 (got %g)", m->k);
  if (!(g->gamma > 0) || !isfinite(g->gamma))
    return qt_err_set(err, QT_EINVAL, "hjb: gamma must be > 0 (got %g)", g->gamma);
  if (!(g->horizon_s > 0) || !isfinite(g->horizon_s))
    return qt_err_set(err, QT_EINVAL, "hjb: horizon must be > 0 s (got %g)", g->horizon_s);
  if (g->q_max < 1 || g->q_max > QT_HJB_MAX_Q)
    return qt_err_set(err, QT_EINVAL, "hjb: q_max must be in [1, %d] (got %d)", QT_HJB_MAX_Q,
                      g->q_max);
  if (!(g->lot > 0) || !isfinite(g->lot))
    return qt_err_set(err, QT_EINVAL, "hjb: lot must be > 0 (got %g)", g->lot);
  if (!(g->maker_fee >= 0) || !(g->taker_cost >= 0) || !(g->terminal_cost >= 0))
    return qt_err_set(err, QT_EINVAL, "hjb: fees and costs must be >= 0");
  double d = g->dt_s > 0 ? g->dt_s : fmin(1.0, 0.05 / m->A);
  if (d * m->A > 0.05 * (1 + 1e-9))
    return qt_err_set(err, QT_EINVAL, "hjb: dt %g s is too long for A = %g (at most %g)", d, m->A,
                      0.05 / m->A);
  double n = ceil(g->horizon_s / d - 1e-9);
  if (n > QT_HJB_MAX_STEPS)
    return qt_err_set(err, QT_EINVAL, "hjb: %.0f time steps (horizon %g s / dt %g s); at most %d: "
                      "shorten the horizon", n, g->horizon_s, d, QT_HJB_MAX_STEPS);
  *steps = (long)n;
  *dt = g->horizon_s / n;
  return QT_OK;
}

/* A quote at offset delta against the value difference dv = theta(q +- 1) -
 * theta(q): its Hamiltonian lambda (1 - e^{-gamma (lot (delta - fee) + dv)}) /
 * gamma. */
static double ham(const qt_hjb_model *m, const qt_hjb_grid *g, double delta, double dv) {
  double x = g->gamma * (g->lot * (delta - g->maker_fee) + dv);
  return m->A * exp(-m->k * delta) * -expm1(-x) / g->gamma;
}

/* The optimal offset against dv, floored where one step's fill
 * probability lambda dt would pass 1/2 (the explicit step's bound). */
static double best_delta(const qt_hjb_model *m, const qt_hjb_grid *g, double dt, double dv) {
  double gl = g->gamma * g->lot;
  double d = g->maker_fee - dv / g->lot + log1p(gl / m->k) / gl;
  double floor_d = -log(0.5 / (m->A * dt)) / m->k;
  return d < floor_d ? floor_d : d;
}

/* One backward pass.  policy NULL: optimal; else bid/ask/liq per level.
 * th (2 q_max + 1) ends as theta(0); the offsets at t = 0 go to ob/oa. */
static int recurse(const qt_hjb_model *m, const qt_hjb_grid *g, const double *bid,
                   const double *ask, const double *liq, double *th, double *ob, double *oa,
                   qt_err *err) {
  double dt = 0;
  long steps = 0;
  int rc = check(m, g, &dt, &steps, err);
  if (rc) return rc;
  int Q = g->q_max, nq = 2 * Q + 1;
  double *nx = qt_malloc((size_t)nq * sizeof *nx);
  if (!nx) return qt_err_set(err, QT_ENOMEM, "hjb: out of memory");
  double pen = 0.5 * g->gamma * m->sigma * m->sigma * g->lot * g->lot;
  for (int i = 0; i < nq; i++) th[i] = -g->terminal_cost * g->lot * fabs((double)(i - Q));
  for (long s = 0; s < steps; s++) {
    for (int i = 0; i < nq; i++) {
      double q = i - Q, h = 0;
      if (i < nq - 1) { /* a bid fill: one lot more */
        double dv = th[i + 1] - th[i];
        double d = bid ? bid[i] : best_delta(m, g, dt, dv);
        if (isfinite(d)) h += ham(m, g, d, dv);
      }
      if (i > 0) { /* an ask fill: one lot less */
        double dv = th[i - 1] - th[i];
        double d = ask ? ask[i] : best_delta(m, g, dt, dv);
        if (isfinite(d)) h += ham(m, g, d, dv);
      }
      nx[i] = th[i] + dt * (h - pen * q * q);
    }
    if (!bid && g->market_orders) {
      /* the obstacle: a lot sold (bought) at the touch, outward from 0 so
       * several lots may go at once */
      double c = g->taker_cost * g->lot;
      for (int i = Q + 1; i < nq; i++)
        if (nx[i - 1] - c > nx[i]) nx[i] = nx[i - 1] - c;
      for (int i = Q - 1; i >= 0; i--)
        if (nx[i + 1] - c > nx[i]) nx[i] = nx[i + 1] - c;
    }
    if (liq) {
      /* market orders toward 0 at liq[i] lots per second: this step's
       * amount, the value there interpolated between levels, less its cost */
      for (int i = 0; i < nq; i++) th[i] = nx[i];
      for (int i = 0; i < nq; i++) {
        double q = i - Q, amt = liq[i] * dt;
        if (!(amt > 0) || q == 0) continue;
        if (amt > fabs(q)) amt = fabs(q);
        double to = q > 0 ? q - amt : q + amt, pos = to + Q;
        int lo = (int)floor(pos);
        if (lo >= nq - 1) lo = nq - 2;
        double w = pos - lo;
        double v = th[lo] * (1 - w) + th[lo + 1] * w;
        nx[i] = v - g->taker_cost * g->lot * amt;
      }
    }
    memcpy(th, nx, (size_t)nq * sizeof *th);
  }
  /* the offsets at t = 0, from theta(0) */
  for (int i = 0; i < nq; i++) {
    if (ob) ob[i] = i == nq - 1 ? NAN : bid ? bid[i] : best_delta(m, g, dt, th[i + 1] - th[i]);
    if (oa) oa[i] = i == 0 ? NAN : ask ? ask[i] : best_delta(m, g, dt, th[i - 1] - th[i]);
  }
  qt_free(nx);
  return QT_OK;
}

int qt_hjb_solve(const qt_hjb_model *m, const qt_hjb_grid *g, double *out_theta, double *out_bid,
                 double *out_ask, qt_err *err) {
  if (g->q_max < 1 || g->q_max > QT_HJB_MAX_Q)
    return qt_err_set(err, QT_EINVAL, "hjb: q_max must be in [1, %d] (got %d)", QT_HJB_MAX_Q,
                      g->q_max);
  double th[2 * QT_HJB_MAX_Q + 1];
  int rc = recurse(m, g, NULL, NULL, NULL, th, out_bid, out_ask, err);
  if (rc == QT_OK && out_theta) memcpy(out_theta, th, (size_t)(2 * g->q_max + 1) * sizeof *th);
  return rc;
}

int qt_hjb_evaluate(const qt_hjb_model *m, const qt_hjb_grid *g, const double *bid,
                    const double *ask, const double *liq, double *out_theta, qt_err *err) {
  if (g->q_max < 1 || g->q_max > QT_HJB_MAX_Q)
    return qt_err_set(err, QT_EINVAL, "hjb: q_max must be in [1, %d] (got %d)", QT_HJB_MAX_Q,
                      g->q_max);
  return recurse(m, g, bid, ask, liq, out_theta, NULL, NULL, err);
}

void qt_hjb_mm_policy(const double *p, const qt_hjb_model *m, const qt_hjb_grid *g, double equity,
                      double *bid, double *ask, double *liq) {
  const qt_strategy_vtbl *s = qt_strategy_find("market_maker");
  int i_inv = qt_strategy_param_index(s, "max_inventory");
  double max_qty = p[i_inv] * equity / m->mid;
  int Q = g->q_max;
  for (int i = 0; i <= 2 * Q; i++) {
    double q = i - Q;
    qt_mm_quote mq;
    qt_market_maker_quote(p, q * g->lot / max_qty, 0, &mq);
    bid[i] = i == 2 * Q ? NAN : mq.bid_bps * 1e-4 * m->mid;
    ask[i] = i == 0 ? NAN : mq.ask_bps * 1e-4 * m->mid;
    if (liq) liq[i] = mq.liq_units_per_s / g->lot;
  }
}

/* ---- one background optimization ---- */

qt_hjb_opts qt_hjb_opts_default(void) {
  qt_hjb_opts o = {0};
  o.gamma = NAN; /* 1 / (0.01 equity) */
  o.horizon_s = 300;
  o.equity = 10000;
  o.maker_bps = 2;
  o.taker_bps = 5;
  o.search_trials = 64;
  o.sampler = "tpe";
  o.seed = 1;
  return o;
}

/* The tuning parameters the model sees.  Of the guide's seven, the three
 * adverse-selection ones (adjustment factor, lambda, spread scale) act on
 * mu only, and the model's order flow is symmetric (mu = 0): they do not
 * change the policy's value, so the search keeps them as they are rather
 * than suggest noise for them. */
#define N_SEARCHED 4
static const char *const k_searched[N_SEARCHED] = {
    "skew_adjustment_factor", "inventory_urgency_threshold", "liquidation_rate_multiplier",
    "min_spread_base_ratio"};

/* theta(0, 0) of market_maker with params p. */
static int heuristic_value(const double *p, const qt_hjb_model *m, const qt_hjb_grid *g,
                           double equity, double *out, qt_err *err) {
  double bid[2 * QT_HJB_MAX_Q + 1], ask[2 * QT_HJB_MAX_Q + 1], liq[2 * QT_HJB_MAX_Q + 1];
  double th[2 * QT_HJB_MAX_Q + 1];
  qt_hjb_mm_policy(p, m, g, equity, bid, ask, liq);
  int rc = qt_hjb_evaluate(m, g, bid, ask, liq, th, err);
  *out = rc ? NAN : th[g->q_max];
  return rc;
}

static double gap_pct(double opt, double heur) {
  return opt != 0 ? (opt - heur) / fabs(opt) * 100.0 : (heur == opt ? 0 : INFINITY);
}

/* The search: a space of the searched tuning parameters (their spec
 * bounds, the current values as defaults), the sampler's proposals, value =
 * optimal - heuristic (minimized). */
static int search(const qt_strategy_vtbl *s, const double *p, const qt_hjb_opts *o,
                  qt_hjb_result *r, qt_err *err) {
  qt_param_spec spec[N_SEARCHED];
  int idx[N_SEARCHED];
  for (int j = 0; j < N_SEARCHED; j++) {
    idx[j] = qt_strategy_param_index(s, k_searched[j]);
    spec[j] = s->params[idx[j]];
    spec[j].def = p[idx[j]];
  }
  const qt_sampler_vtbl *sv = qt_sampler_find(o->sampler ? o->sampler : "tpe");
  if (!sv) return qt_err_set(err, QT_EINVAL, "hjb: no sampler '%s'", o->sampler);
  qt_space *sp = NULL;
  void *self = NULL;
  size_t cap = (size_t)o->search_trials;
  double *xs = qt_calloc(cap * N_SEARCHED, sizeof *xs);
  qt_trial_view *done = qt_calloc(cap, sizeof *done);
  int rc = !xs || !done ? qt_err_set(err, QT_ENOMEM, "hjb: out of memory") : QT_OK;
  if (rc == QT_OK) rc = qt_space_from_spec(spec, N_SEARCHED, &sp, err);
  if (rc == QT_OK) rc = sv->create(sp, o->seed, NULL, &self, err);
  for (size_t t = 0; rc == QT_OK && t < cap; t++) {
    double *x = xs + t * N_SEARCHED;
    int pr = sv->propose(self, done, t, x, err);
    if (pr == QT_DONE) break;
    if (pr < 0) {
      rc = pr;
      break;
    }
    double trial[QT_HJB_MAX_PARAMS];
    memcpy(trial, p, s->n_params * sizeof *trial);
    for (int j = 0; j < N_SEARCHED; j++) trial[idx[j]] = qt_space_to_user(sp, (size_t)j, x[j]);
    double v;
    rc = heuristic_value(trial, &r->model, &r->grid, o->equity, &v, err);
    if (rc) break;
    done[t] = (qt_trial_view){.number = (int64_t)t, .state = QT_TRIAL_COMPLETE, .x = x,
                              .value = r->optimal_value - v, .feasible = 1};
    if (sv->observe) sv->observe(self, &done[t]);
    r->n_trials = t + 1;
    if (v > r->suggested_value) {
      r->suggested_value = v;
      memcpy(r->suggested, trial, s->n_params * sizeof *trial);
    }
  }
  if (self) sv->destroy(self);
  qt_space_free(sp);
  qt_free(xs);
  qt_free(done);
  return rc;
}

int qt_hjb_optimize(const qt_bars *b, size_t from, size_t to, const double *p,
                    const qt_hjb_opts *o, qt_hjb_result *out, qt_err *err) {
  qt_hjb_model m;
  int rc = qt_hjb_fit_bars(b, from, to, &m, err);
  if (rc) {
    memset(out, 0, sizeof *out);
    return rc;
  }
  return qt_hjb_optimize_model(&m, p, o, out, err);
}

int qt_hjb_optimize_model(const qt_hjb_model *model, const double *p, const qt_hjb_opts *o,
                          qt_hjb_result *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  qt_hjb_opts dflt = qt_hjb_opts_default();
  if (!o) o = &dflt;
  const qt_strategy_vtbl *s = qt_strategy_find("market_maker");
  if (!s || s->n_params > QT_HJB_MAX_PARAMS)
    return qt_err_set(err, QT_ESTATE, "hjb: market_maker is not built in");
  if (!(o->equity > 0)) return qt_err_set(err, QT_EINVAL, "hjb: equity must be > 0");
  if (o->search_trials < 0) return qt_err_set(err, QT_EINVAL, "hjb: search_trials must be >= 0");
  if (!(model->mid > 0)) return qt_err_set(err, QT_EINVAL, "hjb: model mid must be > 0");
  int rc;
  out->model = *model;
  out->n_params = s->n_params;
  double mid = out->model.mid;
  double oq = p[qt_strategy_param_index(s, "order_qty")];
  double mi = p[qt_strategy_param_index(s, "max_inventory")];
  qt_hjb_grid *g = &out->grid;
  g->gamma = isnan(o->gamma) ? 1.0 / (0.01 * o->equity) : o->gamma;
  g->horizon_s = o->horizon_s;
  g->dt_s = o->dt_s;
  g->lot = oq * o->equity / mid;
  g->q_max = (int)floor(mi / oq + 1e-9);
  if (g->q_max < 1) g->q_max = 1;
  if (g->q_max > QT_HJB_MAX_Q) g->q_max = QT_HJB_MAX_Q;
  g->maker_fee = o->maker_bps * 1e-4 * mid;
  g->taker_cost = o->taker_bps * 1e-4 * mid;
  g->terminal_cost = g->taker_cost;
  g->market_orders = 1;
  double th[2 * QT_HJB_MAX_Q + 1];
  rc = qt_hjb_solve(&out->model, g, th, NULL, NULL, err);
  if (rc) return rc;
  out->optimal_value = th[g->q_max];
  rc = heuristic_value(p, &out->model, g, o->equity, &out->heuristic_value, err);
  if (rc) return rc;
  out->gap_pct = gap_pct(out->optimal_value, out->heuristic_value);
  memcpy(out->suggested, p, s->n_params * sizeof *p);
  out->suggested_value = out->heuristic_value;
  if (o->search_trials > 0) rc = search(s, p, o, out, err);
  if (rc) return rc;
  out->suggested_gap_pct = gap_pct(out->optimal_value, out->suggested_value);
  qt_log(QT_LOG_INFO,
         "Background HJB Optimization Complete: Heuristic_Value=%.4f, Optimal_Value=%.4f, "
         "Gap=%.2f%%", out->heuristic_value, out->optimal_value, out->gap_pct);
  return QT_OK;
}

int qt_hjb_gap_note(qt_hjb_gap_watch *w, double gap_pct) {
  if (gap_pct > w->threshold_pct) w->above++;
  else w->above = 0; /* also a NaN: a failed run is no evidence */
  return w->n_intervals > 0 && w->above >= w->n_intervals;
}
