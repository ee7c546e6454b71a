/* Performance statistics of one run.  Conventions (docs/metrics.md):
 * - per-bar simple returns r[t] = eq[t]/eq[t-1] - 1 for t = 0..n-1 with
 *   eq[-1] = start_cash, so the returns compound to the curve's last value;
 *   they stop after the first bar whose equity is <= 0 (the account is dead);
 * - SD is the sample SD (n-1); rf = 0; annualized by bars per year;
 * - a ratio x/y is 0 when x == 0 and y == 0 (nothing happened) and NaN
 *   when only y == 0, so no metric is ever +-inf.
 * One pass over the curve, one over the trades; the median trade uses a
 * stack scratch of 256 P&Ls, or one qt_malloc for more. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "qtune/metrics.h"

/* ---- names ---- */
static const char *const names[QT_METRICS_N] = {
#define QT__NAME(name, doc) #name,
    QT_METRICS_LIST(QT__NAME)
#undef QT__NAME
};
static const char *const docs[QT_METRICS_N] = {
#define QT__DOC(name, doc) doc,
    QT_METRICS_LIST(QT__DOC)
#undef QT__DOC
};
static const size_t offs[QT_METRICS_N] = {
#define QT__OFF(name, doc) offsetof(qt_metrics, name),
    QT_METRICS_LIST(QT__OFF)
#undef QT__OFF
};

#define QT__MEDIAN_STACK 256
#define QT__PF_CAP 100.0 /* profit factor with wins and no losses */

qt_metrics_opts qt_metrics_opts_default(void) {
  return (qt_metrics_opts){.bars_per_year = 0, .calendar_247 = 1};
}

double qt_metrics_bars_per_year(int64_t interval_ms, int calendar_247) {
  const double day = 86400000.0, week = 7 * day;
  if (interval_ms <= 0) return 0;
  double iv = (double)interval_ms;
  if (calendar_247) return 365.0 * day / iv;
  if (iv >= week) return 52.0 * week / iv;     /* weekly bars: 52 a year */
  if (iv >= day) return 252.0 * day / iv;      /* 252 trading days */
  return 252.0 * 6.5 * 3600000.0 / iv;         /* 6.5-hour sessions */
}

/* x / y with the 0/0 -> 0 and x/0 -> NaN rules. */
static double ratio(double x, double y) {
  if (y != 0) return x / y;
  return x == 0 ? 0.0 : NAN;
}

static double finite_or_nan(double x) { return isfinite(x) ? x : NAN; }

/* Quickselect (Hoare partition): puts the k-th smallest of a[0..n) at a[k]
 * with everything before it <= a[k]; returns a[k]. */
static double select_kth(double *a, size_t n, size_t k) {
  ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
  while (lo < hi) {
    double piv = a[lo + (hi - lo) / 2];
    ptrdiff_t i = lo - 1, j = hi + 1;
    for (;;) {
      do i++; while (a[i] < piv);
      do j--; while (a[j] > piv);
      if (i >= j) break;
      double t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    if (kk <= j) hi = j;
    else lo = j + 1;
  }
  return a[k];
}

/* Median of the trades' P&L into *out; QT_ENOMEM if the scratch fails. */
static int median_pnl(const qt_trade_rec *tr, size_t n, double *out, qt_err *err) {
  double stack[QT__MEDIAN_STACK], *a = stack;
  if (n > QT__MEDIAN_STACK) {
    a = qt_malloc(n * sizeof *a);
    if (!a) return qt_err_set(err, QT_ENOMEM, "metrics: median of %zu trades: out of memory", n);
  }
  for (size_t i = 0; i < n; i++) a[i] = tr[i].pnl;
  double m = select_kth(a, n, n / 2);
  if (n % 2 == 0) { /* the lower middle is the max of the lower half */
    double lo = a[0];
    for (size_t i = 1; i < n / 2; i++) if (a[i] > lo) lo = a[i];
    m = (lo + m) / 2;
  }
  if (a != stack) qt_free(a);
  *out = m;
  return QT_OK;
}

static void set_all(qt_metrics *m, double v) {
#define QT__SET(name, doc) m->name = v;
  QT_METRICS_LIST(QT__SET)
#undef QT__SET
}

/* Curve statistics: returns, drawdowns, exposure. */
static void curve_stats(const qt_result *r, double bpy, qt_metrics *m) {
  size_t n = r->n_bars;
  double start = r->start_cash;
  /* returns: Welford mean/variance, downside sum of squares */
  size_t nr = 0;
  double mean = 0, m2 = 0, down2 = 0;
  int all_zero = 1;
  /* drawdowns */
  double peak = start, max_dd = 0, sum_dd = 0;
  size_t n_dd = 0, longest = 0;
  ptrdiff_t peak_at = -1;
  int under = 0;
  double prev = start;
  int dead = start <= 0;
  for (size_t t = 0; t < n; t++) {
    double eq = r->equity[t];
    if (!dead) {
      double ret = eq / prev - 1;
      nr++;
      double d = ret - mean;
      mean += d / (double)nr;
      m2 += d * (ret - mean);
      if (ret < 0) down2 += ret * ret;
      if (ret != 0) all_zero = 0;
      prev = eq;
      dead = eq <= 0;
    }
    if (start > 0) {
      if (eq >= peak) {
        if (under && (size_t)((ptrdiff_t)t - peak_at) > longest) longest = (size_t)((ptrdiff_t)t - peak_at);
        under = 0;
        peak = eq;
        peak_at = (ptrdiff_t)t;
      } else {
        double dd = 1 - eq / peak;
        if (dd > 1) dd = 1; /* negative equity: everything lost */
        under = 1;
        if (dd > max_dd) max_dd = dd;
        sum_dd += dd;
        n_dd++;
      }
    }
  }
  if (under && (size_t)((ptrdiff_t)n - 1 - peak_at) > longest) longest = (size_t)((ptrdiff_t)n - 1 - peak_at);
  if (start > 0 && n > 0) {
    m->max_drawdown = max_dd;
    m->max_drawdown_bars = (double)longest;
    m->avg_drawdown = n_dd ? sum_dd / (double)n_dd : 0.0;
  }
  double ann = bpy > 0 ? sqrt(bpy) : NAN;
  if (nr >= 2) {
    double sd = all_zero ? 0.0 : sqrt(m2 / (double)(nr - 1));
    double dd = sqrt(down2 / (double)nr);
    double mu = all_zero ? 0.0 : mean;
    m->volatility = sd * ann;
    m->sharpe = ratio(mu, sd) * ann;
    m->sortino = ratio(mu, dd) * ann;
  }
  /* CAGR over the whole curve (dead or not): the money that is left */
  if (start > 0 && n > 0 && bpy > 0) {
    double g = r->final_equity / start;
    m->cagr = g <= 0 ? -1.0 : finite_or_nan(pow(g, bpy / (double)n) - 1);
  }
  m->calmar = isnan(m->cagr) || isnan(m->max_drawdown) ? NAN : ratio(m->cagr, m->max_drawdown);
  if (r->exposure && n > 0) {
    size_t k = 0;
    for (size_t t = 0; t < n; t++) k += r->exposure[t] != 0;
    m->exposure = (double)k / (double)n;
  }
}

static int trade_stats(const qt_result *r, qt_metrics *m, qt_err *err) {
  size_t n = r->n_trades;
  m->trades = (double)n;
  if (n == 0) return QT_OK;
  double gp = 0, gl = 0, sum = 0, best = -INFINITY, worst = INFINITY;
  size_t wins = 0, losses = 0;
  for (size_t i = 0; i < n; i++) {
    double p = r->trades[i].pnl;
    sum += p;
    if (p > 0) gp += p, wins++;
    else if (p < 0) gl -= p, losses++;
    if (p > best) best = p;
    if (p < worst) worst = p;
  }
  m->profit_factor = gl > 0 ? fmin(gp / gl, QT__PF_CAP) : gp > 0 ? QT__PF_CAP : NAN;
  m->win_rate = (double)wins / (double)n;
  m->avg_trade = sum / (double)n;
  double avg_win = wins ? gp / (double)wins : 0, avg_loss = losses ? gl / (double)losses : 0;
  m->expectancy = m->win_rate * avg_win - (1 - m->win_rate) * avg_loss;
  m->best_trade = best;
  m->worst_trade = worst;
  return median_pnl(r->trades, n, &m->median_trade, err);
}

int qt_metrics_compute(const qt_result *r, const double *close0, const qt_metrics_opts *o,
                       qt_metrics *out, qt_err *err) {
  int rc = QT_OK;
  if (!out) return qt_err_set(err, QT_EINVAL, "metrics: out is NULL");
  set_all(out, 0);
  if (!r) return qt_err_set(err, QT_EINVAL, "metrics: result is NULL");
  if (r->n_bars > 0 && !r->equity) return qt_err_set(err, QT_EINVAL, "metrics: result has %zu bars but no equity curve", r->n_bars);
  if (r->n_trades > 0 && !r->trades) return qt_err_set(err, QT_EINVAL, "metrics: result has %zu trades but no trade list", r->n_trades);
  qt_metrics_opts def = qt_metrics_opts_default();
  if (!o) o = &def;
  double bpy = o->bars_per_year > 0 ? o->bars_per_year : qt_metrics_bars_per_year(r->interval_ms, o->calendar_247);
  qt_metrics m;
  set_all(&m, NAN);
  double start = r->start_cash;
  if (start > 0) {
    m.total_return = r->final_equity / start - 1;
    m.total_profit = r->final_equity - start;
  } else {
    m.total_profit = r->final_equity - start;
  }
  curve_stats(r, bpy, &m);
  if ((rc = trade_stats(r, &m, err))) goto fail;
  m.fees_paid = r->fees_paid;
  m.funding_paid = r->funding_paid;
  m.expiry_rate = r->n_signals ? (double)r->n_expired / (double)r->n_signals : 0.0;
  if (close0 && r->n_bars > 0 && close0[0] > 0) m.buy_hold_return = finite_or_nan(close0[r->n_bars - 1] / close0[0] - 1);
  /* last guard: nothing infinite leaves this function */
  for (int k = 0; k < QT_METRICS_N; k++) {
    double *v = (double *)((char *)&m + offs[k]);
    if (isinf(*v)) *v = NAN;
  }
  *out = m;
  return QT_OK;
fail:
  set_all(out, 0);
  return rc;
}

const char *qt_metrics_name(int k) { return k >= 0 && k < QT_METRICS_N ? names[k] : NULL; }
const char *qt_metrics_doc(int k) { return k >= 0 && k < QT_METRICS_N ? docs[k] : NULL; }

int qt_metrics_index(const char *name) {
  if (!name) return -1;
  for (int k = 0; k < QT_METRICS_N; k++)
    if (strcmp(names[k], name) == 0) return k;
  return -1;
}

double qt_metrics_get(const qt_metrics *m, int k) {
  if (!m || k < 0 || k >= QT_METRICS_N) return NAN;
  return *(const double *)((const char *)m + offs[k]);
}
