/* Performance statistics of one run.  Conventions (docs/metrics.md):
 * - per-bar simple returns r[t] = eq[t]/eq[t-1] - 1 for t = 0..n-1 with
 *   eq[-1] = start_cash, so the returns compound to the curve's last value;
 *   they stop after the first bar whose equity is <= 0 (the account is dead);
 * - SD is the sample SD (n-1); rf = 0; annualized by bars per year;
 * - a ratio x/y is 0 when x == 0 and y == 0 (nothing happened) and NaN
 *   when only y == 0, so no metric is ever +-inf;
 * - time: eq[t] is marked at bar t's close, mark(t) = ts_ms[t] + interval_ms,
 *   and start_cash at mark(-1) = ts_ms[0]; a duration is a difference of
 *   marks (durations in bars times the interval when bars have no gaps);
 * - daily figures (sharpe_daily, sortino_daily): the equity at each UTC day's
 *   end (the last mark in the day; a bar ending exactly at 00:00 belongs to
 *   the day before), day returns against the previous day's end (the first
 *   against start_cash), every calendar day counted (a day without bars
 *   returns 0) and x sqrt(365) on a 24/7 calendar; only days with bars and
 *   x sqrt(252) on an exchange calendar (freqtrade's SharpeHyperOptLossDaily
 *   differs: it sums closed trades' profit ratios per close day);
 * - trade return = pnl / (|qty| * entry_price): net of fees and funding, on
 *   the entry notional (backtesting.py's Trade.pl_pct); SQN and Kelly use
 *   the P&L in money, as backtesting.py does (SQN with no cap on n);
 * - beta = cov(r_eq, r_mkt) / var(r_mkt) over per-bar simple returns of the
 *   equity and of close0 for t = 1..n-1 (backtesting.py regresses the same
 *   bars' log returns); alpha = total_return - beta * buy_hold_return.
 * One pass over the curve, one over the trades, no allocation; the median
 * trade uses a stack scratch of 256 P&Ls, or one qt_malloc for more. */
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

size_t qt_metrics_buy_hold_from(int lookback, size_t from) {
  size_t warm = lookback > 1 ? (size_t)lookback - 1 : 0;
  return warm > from ? warm - from : 0;
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

#define QT__DAY_MS 86400000LL

/* Running mean and sum of squared deviations (Welford). */
typedef struct welford {
  size_t n;
  double mean, m2;
} welford;

static inline void wf_add(welford *w, double x) {
  w->n++;
  double d = x - w->mean;
  w->mean += d / (double)w->n;
  w->m2 += d * (x - w->mean);
}

/* Adds k zeros at once (the days without bars): the pairwise merge with a
 * batch of mean 0 and no spread, so a long gap costs O(1). */
static void wf_add_zeros(welford *w, size_t k) {
  if (k == 0) return;
  double n = (double)(w->n + k), d = -w->mean;
  w->m2 += d * d * (double)w->n * (double)k / n;
  w->mean += d * (double)k / n;
  w->n += k;
}

/* Annualized Sharpe and Sortino of a return series (the rules above). */
static void sharpe_sortino(const welford *w, double down2, int all_zero, double ann,
                           double *out_sharpe, double *out_sortino) {
  if (w->n < 2) return; /* stays NaN */
  double sd = all_zero ? 0.0 : sqrt(w->m2 / (double)(w->n - 1));
  double dd = sqrt(down2 / (double)w->n);
  double mu = all_zero ? 0.0 : w->mean;
  *out_sharpe = ratio(mu, sd) * ann;
  *out_sortino = ratio(mu, dd) * ann;
}

/* Time of equity point t (t = -1: start_cash at the first bar's open). */
static inline int64_t mark_ms(const int64_t *ts, ptrdiff_t t, int64_t iv) {
  return t < 0 ? ts[0] : ts[t] + iv;
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return q - (a % b != 0 && a < 0);
}

/* Equity at each UTC day's end and the returns between them. */
typedef struct day_acc {
  int all_days;       /* 24/7: days without bars count (return 0) */
  int started;
  int64_t day;        /* current UTC day number */
  int64_t next_ms;    /* first ms of the next day */
  double day_eq;      /* last equity seen in the current day */
  double prev_eq;     /* equity at the previous day's end */
  welford w;
  double down2;
  int all_zero;
} day_acc;

static inline void day_emit(day_acc *a) {
  double ret = a->day_eq / a->prev_eq - 1;
  wf_add(&a->w, ret);
  if (ret < 0) a->down2 += ret * ret;
  if (ret != 0) a->all_zero = 0;
  a->prev_eq = a->day_eq;
}

/* The equity point marked at end_ms (exclusive end of its bar). */
static inline void day_step(day_acc *a, int64_t end_ms, double eq) {
  int64_t last = end_ms - 1; /* a bar ending at 00:00 belongs to the day before */
  if (!a->started || last >= a->next_ms) {
    int64_t d = floor_div(last, QT__DAY_MS);
    if (a->started) {
      day_emit(a);
      if (a->all_days && d - a->day > 1) wf_add_zeros(&a->w, (size_t)(d - a->day - 1));
    }
    a->started = 1;
    a->day = d;
    a->next_ms = (d + 1) * QT__DAY_MS;
  }
  a->day_eq = eq;
}

/* Drawdown spells: depth per bar, length in bars and in time. */
typedef struct dd_acc {
  double peak, max_dd, sum_dd;
  size_t n_dd, longest, spells;
  ptrdiff_t peak_at;
  int under;
  double max_ms, sum_ms;
} dd_acc;

/* Ends the spell from the peak to equity point t (recovery or the last). */
static void dd_close(dd_acc *a, ptrdiff_t t, const int64_t *ts, int64_t iv) {
  size_t bars = (size_t)(t - a->peak_at);
  if (bars > a->longest) a->longest = bars;
  if (ts) {
    double ms = (double)(mark_ms(ts, t, iv) - mark_ms(ts, a->peak_at, iv));
    if (ms > a->max_ms) a->max_ms = ms;
    a->sum_ms += ms;
  }
  a->spells++;
}

static inline void dd_step(dd_acc *a, ptrdiff_t t, double eq, const int64_t *ts, int64_t iv) {
  if (eq >= a->peak) {
    if (a->under) dd_close(a, t, ts, iv);
    a->under = 0;
    a->peak = eq;
    a->peak_at = t;
  } else {
    double dd = 1 - eq / a->peak;
    if (dd > 1) dd = 1; /* negative equity: everything lost */
    a->under = 1;
    if (dd > a->max_dd) a->max_dd = dd;
    a->sum_dd += dd;
    a->n_dd++;
  }
}

/* Co-moments of the per-bar equity and market returns (for beta), as sums
 * shifted by the first pair: no division per bar, and a market that never
 * moves gives exactly 0/0. */
typedef struct cov_acc {
  size_t n;
  double kx, ky, sx, sy, sxy, syy;
} cov_acc;

static inline void cov_add(cov_acc *a, double x, double y) {
  if (a->n++ == 0) a->kx = x, a->ky = y;
  x -= a->kx;
  y -= a->ky;
  a->sx += x;
  a->sy += y;
  a->sxy += x * y;
  a->syy += y * y;
}

static double cov_beta(const cov_acc *a) {
  if (a->n < 2) return NAN;
  double n = (double)a->n;
  return ratio(a->sxy - a->sx * a->sy / n, a->syy - a->sy * a->sy / n);
}

/* Curve statistics: returns, drawdowns, daily figures, beta, exposure.  One
 * pass over the bars with running accumulators, resumable: curve_feed takes
 * the bars from where the last call stopped, curve_finish works on a copy,
 * so a run's checkpoints read each bar once (qt_metrics_stream) and give
 * exactly what one pass over the same bars gives. */
typedef struct curve_acc {
  size_t t;           /* bars fed */
  double start;
  welford rw;
  double down2, prev, eq_peak, max_flat;
  int all_zero, dead, flat;
  int64_t flat_from;
  size_t n_expo;
  dd_acc dd;
  cov_acc cv;
  day_acc da;
} curve_acc;

static void curve_init(curve_acc *a, double start, int cal247) {
  memset(a, 0, sizeof *a);
  a->start = start;
  a->prev = a->eq_peak = start;
  a->all_zero = 1;
  a->dead = start <= 0;
  a->dd = (dd_acc){.peak = start, .peak_at = -1};
  a->da = (day_acc){.all_days = cal247, .prev_eq = start, .all_zero = 1};
}

static void curve_feed(curve_acc *a, const qt_result *r, const double *close0, size_t upto) {
  const int64_t *ts = r->ts_ms;
  int64_t iv = r->interval_ms > 0 ? r->interval_ms : 0;
  double start = a->start;
  for (size_t t = a->t; t < upto; t++) {
    double eq = r->equity[t];
    if (eq > a->eq_peak) a->eq_peak = eq;
    if (!a->dead) {
      double ret = eq / a->prev - 1;
      if (close0 && t > 0 && close0[t - 1] > 0) cov_add(&a->cv, ret, close0[t] / close0[t - 1] - 1);
      wf_add(&a->rw, ret);
      if (ret < 0) a->down2 += ret * ret;
      if (ret != 0) a->all_zero = 0;
      if (ts) day_step(&a->da, ts[t] + iv, eq);
      a->prev = eq;
      a->dead = eq <= 0;
    }
    if (start > 0) dd_step(&a->dd, (ptrdiff_t)t, eq, ts, iv);
    if (r->exposure) {
      int in = r->exposure[t] != 0;
      a->n_expo += (size_t)in;
      /* a flat run is measured when it ends: nothing per flat bar */
      if (ts && in == a->flat) {
        if (a->flat) a->max_flat = fmax(a->max_flat, (double)(mark_ms(ts, (ptrdiff_t)t - 1, iv) - a->flat_from));
        else a->flat_from = mark_ms(ts, (ptrdiff_t)t - 1, iv);
        a->flat = !a->flat;
      }
    }
  }
  if (upto > a->t) a->t = upto;
}

/* The curve metrics of the r->n_bars bars fed into acc (a copy: acc goes
 * on). */
static void curve_finish(curve_acc acc, const qt_result *r, double bpy, int cal247, qt_metrics *m) {
  size_t n = r->n_bars;
  double start = r->start_cash;
  const int64_t *ts = r->ts_ms;
  int64_t iv = r->interval_ms > 0 ? r->interval_ms : 0;
  welford rw = acc.rw;
  double down2 = acc.down2, eq_peak = acc.eq_peak, max_flat = acc.max_flat;
  int all_zero = acc.all_zero;
  size_t n_expo = acc.n_expo;
  dd_acc dd = acc.dd;
  cov_acc cv = acc.cv;
  day_acc da = acc.da;
  if (acc.flat) max_flat = fmax(max_flat, (double)(mark_ms(ts, (ptrdiff_t)n - 1, iv) - acc.flat_from));
  if (dd.under) dd_close(&dd, (ptrdiff_t)n - 1, ts, iv);
  m->equity_final = r->final_equity;
  m->equity_peak = eq_peak;
  if (start > 0 && n > 0) {
    m->max_drawdown = dd.max_dd;
    m->max_drawdown_bars = (double)dd.longest;
    m->avg_drawdown = dd.n_dd ? dd.sum_dd / (double)dd.n_dd : 0.0;
    if (ts) {
      m->max_drawdown_duration_ms = dd.max_ms;
      m->avg_drawdown_duration_ms = dd.spells ? dd.sum_ms / (double)dd.spells : 0.0;
    }
  }
  double ann = bpy > 0 ? sqrt(bpy) : NAN;
  if (rw.n >= 2) m->volatility = (all_zero ? 0.0 : sqrt(rw.m2 / (double)(rw.n - 1))) * ann;
  sharpe_sortino(&rw, down2, all_zero, ann, &m->sharpe, &m->sortino);
  if (da.started) {
    day_emit(&da);
    sharpe_sortino(&da.w, da.down2, da.all_zero, sqrt(cal247 ? 365.0 : 252.0), &m->sharpe_daily,
                   &m->sortino_daily);
  }
  m->beta = cov_beta(&cv);
  /* CAGR over the whole curve (dead or not): the money that is left */
  if (start > 0 && n > 0 && bpy > 0) {
    double g = r->final_equity / start;
    m->cagr = g <= 0 ? -1.0 : finite_or_nan(pow(g, bpy / (double)n) - 1);
  }
  m->calmar = isnan(m->cagr) || isnan(m->max_drawdown) ? NAN : ratio(m->cagr, m->max_drawdown);
  if (r->exposure && n > 0) {
    m->exposure = (double)n_expo / (double)n;
    if (ts) m->max_flat_ms = max_flat;
  }
}

static void curve_stats(const qt_result *r, const double *close0, double bpy, int cal247,
                        qt_metrics *m) {
  curve_acc a;
  curve_init(&a, r->start_cash, cal247);
  curve_feed(&a, r, close0, r->n_bars);
  curve_finish(a, r, bpy, cal247, m);
}

/* Trade P&L and return statistics. */
static int trade_stats(const qt_result *r, qt_metrics *m, qt_err *err) {
  size_t n = r->n_trades;
  m->trades = (double)n;
  if (n == 0) return QT_OK;
  double gp = 0, gl = 0, sum = 0, best = -INFINITY, worst = INFINITY;
  double dur_sum = 0, dur_max = -INFINITY;
  double rp = 0, rl = 0, rbest = -INFINITY, rworst = INFINITY, log_sum = 0;
  size_t wins = 0, losses = 0, n_ret = 0;
  int ruined = 0;
  welford pw = {0}, rw = {0};
  for (size_t i = 0; i < n; i++) {
    const qt_trade_rec *tr = &r->trades[i];
    double p = tr->pnl;
    sum += p;
    wf_add(&pw, p);
    if (p > 0) gp += p, wins++;
    else if (p < 0) gl -= p, losses++;
    if (p > best) best = p;
    if (p < worst) worst = p;
    double dur = (double)(tr->exit_ms - tr->entry_ms);
    dur_sum += dur;
    if (dur > dur_max) dur_max = dur;
    double notional = fabs(tr->qty) * tr->entry_price;
    if (notional > 0) { /* a trade with no notional has no return */
      double x = p / notional;
      n_ret++;
      wf_add(&rw, x);
      if (x > 0) rp += x;
      else rl -= x;
      if (x > rbest) rbest = x;
      if (x < rworst) rworst = x;
      if (x <= -1) ruined = 1;
      else log_sum += log1p(x);
    }
  }
  m->profit_factor = gl > 0 ? fmin(gp / gl, QT__PF_CAP) : gp > 0 ? QT__PF_CAP : NAN;
  m->win_rate = (double)wins / (double)n;
  m->avg_trade = sum / (double)n;
  double avg_win = wins ? gp / (double)wins : 0, avg_loss = losses ? gl / (double)losses : 0;
  m->expectancy = m->win_rate * avg_win - (1 - m->win_rate) * avg_loss;
  m->best_trade = best;
  m->worst_trade = worst;
  m->avg_trade_duration_ms = dur_sum / (double)n;
  m->max_trade_duration_ms = dur_max;
  if (n >= 2) {
    double sd = sqrt(pw.m2 / (double)(n - 1));
    m->sqn = ratio(sqrt((double)n) * pw.mean, sd);
  }
  if (wins && losses) m->kelly = m->win_rate - (1 - m->win_rate) / (avg_win / avg_loss);
  if (n_ret) {
    m->profit_factor_return = rl > 0 ? fmin(rp / rl, QT__PF_CAP) : rp > 0 ? QT__PF_CAP : NAN;
    m->avg_trade_return = ruined ? -1.0 : expm1(log_sum / (double)n_ret);
    m->expectancy_return = rw.mean;
    m->best_trade_return = rbest;
    m->worst_trade_return = rworst;
  }
  return median_pnl(r->trades, n, &m->median_trade, err);
}

struct qt_metrics_stream {
  curve_acc acc;
  int started;
};

int qt_metrics_stream_new(qt_metrics_stream **out, qt_err *err) {
  *out = qt_calloc(1, sizeof **out);
  return *out ? QT_OK : qt_err_set(err, QT_ENOMEM, "metrics: out of memory");
}

void qt_metrics_stream_free(qt_metrics_stream *s) { qt_free(s); }

void qt_metrics_stream_reset(qt_metrics_stream *s) {
  if (s) s->started = 0;
}

static int compute(qt_metrics_stream *sm, const qt_result *r, const double *close0,
                   const qt_metrics_opts *o, qt_metrics *out, qt_err *err);

int qt_metrics_compute(const qt_result *r, const double *close0, const qt_metrics_opts *o,
                       qt_metrics *out, qt_err *err) {
  return compute(NULL, r, close0, o, out, err);
}

int qt_metrics_stream_compute(qt_metrics_stream *s, const qt_result *r, const double *close0,
                              const qt_metrics_opts *o, qt_metrics *out, qt_err *err) {
  if (!s) return qt_err_set(err, QT_EINVAL, "metrics: stream is NULL");
  return compute(s, r, close0, o, out, err);
}

static int compute(qt_metrics_stream *sm, const qt_result *r, const double *close0,
                   const qt_metrics_opts *o, qt_metrics *out, qt_err *err) {
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
  if (sm) {
    if (!sm->started || sm->acc.t > r->n_bars) { /* a new run, or a shorter one: restart */
      curve_init(&sm->acc, r->start_cash, o->calendar_247);
      sm->started = 1;
    }
    curve_feed(&sm->acc, r, close0, r->n_bars);
    curve_finish(sm->acc, r, bpy, o->calendar_247, &m);
  } else {
    curve_stats(r, close0, bpy, o->calendar_247, &m);
  }
  if ((rc = trade_stats(r, &m, err))) goto fail;
  m.fees_paid = r->fees_paid;
  m.funding_paid = r->funding_paid;
  m.expiry_rate = r->n_signals ? (double)r->n_expired / (double)r->n_signals : 0.0;
  size_t bh = o->buy_hold_from;
  if (close0 && bh < r->n_bars && close0[bh] > 0)
    m.buy_hold_return = finite_or_nan(close0[r->n_bars - 1] / close0[bh] - 1);
  if (close0) m.alpha = m.total_return - m.beta * m.buy_hold_return; /* NaN if either is */
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

static int ends_with(const char *s, const char *tail) {
  size_t a = strlen(s), b = strlen(tail);
  return a >= b && strcmp(s + a - b, tail) == 0;
}

int qt_metrics_unit(int k) {
  if (k < 0 || k >= QT_METRICS_N) return QT_UNIT_RATIO;
  const char *n = names[k], *d = docs[k];
  if (ends_with(n, "_ms")) return QT_UNIT_DURATION;
  if (ends_with(n, "_bars") || strcmp(n, "trades") == 0) return QT_UNIT_COUNT;
  if (strstr(d, "fraction")) return QT_UNIT_PERCENT;
  if ((ends_with(d, ", money") || strstr(d, "quote currency")) && !strstr(d, " / "))
    return QT_UNIT_MONEY;
  return QT_UNIT_RATIO;
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
