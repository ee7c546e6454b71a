/* Oscillators: RSI (Wilder), MACD, CCI, ROC.  TTR conventions: RSI's
 * averages are seeded at index n with the mean of changes 1..n; MACD's
 * signal EMA is seeded over the first `sig` MACD values. */
#include "ind_int.h"

/* ---- RSI ---- */
int qt_ind_rsi_lookback(int n) { return n; }

int qt_ind_rsi_init(qt_ind_rsi_state *s, int n, qt_err *err) {
  int rc = qt__ind_check_n("rsi", "n", n, 1, err);
  if (rc) return rc;
  *s = (qt_ind_rsi_state){.n = n, .out = {NAN}};
  return QT_OK;
}

double qt_ind_rsi_update(qt_ind_rsi_state *s, double x) {
  size_t k = s->count++;
  double chg = x - s->prev;
  s->prev = x;
  if (k == 0) return s->out[0] = NAN; /* no change at the first value */
  double up = chg > 0 ? chg : 0, dn = chg < 0 ? -chg : 0;
  if (k <= (size_t)s->n) {
    s->sum_up += up;
    s->sum_dn += dn;
    if (k < (size_t)s->n) return s->out[0] = NAN;
    s->up = s->sum_up / s->n;
    s->dn = s->sum_dn / s->n;
  } else {
    double a = 1.0 / s->n;
    s->up = up * a + s->up * (1 - a);
    s->dn = dn * a + s->dn * (1 - a);
  }
  double den = s->up + s->dn;
  /* no movement over the averaging horizon: neutral, not 0/0 */
  return s->out[0] = den > 0 ? 100 * s->up / den : 50.0;
}

void qt_ind_rsi_run(qt_ind_rsi_state *s, const double *x, size_t len, double *out) {
  for (size_t t = 0; t < len; t++) qt__ind_put(out, t, qt_ind_rsi_update(s, x[t]));
}

int qt_ind_rsi(const double *x, size_t len, int n, double *out, qt_err *err) {
  int rc;
  qt_ind_rsi_state s;
  if ((rc = qt_ind_rsi_init(&s, n, err)) || (rc = qt__ind_check_ptr("rsi", "x", x, len, err)) ||
      (rc = qt__ind_check_ptr("rsi", "out", out, len, err)))
    return rc;
  qt_ind_rsi_run(&s, x, len, out);
  return QT_OK;
}

/* ---- MACD ---- */
int qt_ind_macd_lookback(int fast, int slow, int sig) {
  int m = fast > slow ? fast : slow;
  (void)sig;
  return m - 1;
}

int qt_ind_macd_init(qt_ind_macd_state *s, int fast, int slow, int sig, qt_err *err) {
  int rc;
  if ((rc = qt__ind_check_n("macd", "fast", fast, 1, err)) || (rc = qt__ind_check_n("macd", "slow", slow, 1, err)) ||
      (rc = qt__ind_check_n("macd", "signal", sig, 1, err)))
    return rc;
  qt_ind_ema_init(&s->fast, fast, 0, NULL);
  qt_ind_ema_init(&s->slow, slow, 0, NULL);
  qt_ind_ema_init(&s->sig, sig, 0, NULL);
  s->out[0] = s->out[1] = s->out[2] = NAN;
  return QT_OK;
}

double qt_ind_macd_update(qt_ind_macd_state *s, double x) {
  double f = qt_ind_ema_update(&s->fast, x), sl = qt_ind_ema_update(&s->slow, x);
  double m = f - sl; /* NaN until both EMAs are seeded */
  double g = qt_ind_ema_update(&s->sig, m);
  s->out[0] = m;
  s->out[1] = g;
  s->out[2] = m - g;
  return m;
}

void qt_ind_macd_run(qt_ind_macd_state *s, const double *x, size_t len, double *const *out) {
  for (size_t t = 0; t < len; t++) {
    qt_ind_macd_update(s, x[t]);
    for (int k = 0; k < 3; k++) qt__ind_put(out ? out[k] : NULL, t, s->out[k]);
  }
}

int qt_ind_macd(const double *x, size_t len, int fast, int slow, int sig, double *out_macd,
                double *out_signal, double *out_hist, qt_err *err) {
  int rc;
  qt_ind_macd_state s;
  if ((rc = qt_ind_macd_init(&s, fast, slow, sig, err)) || (rc = qt__ind_check_ptr("macd", "x", x, len, err)) ||
      (rc = qt__ind_check_ptr("macd", "out_macd", out_macd, len, err)))
    return rc;
  double *outs[3] = {out_macd, out_signal, out_hist};
  qt_ind_macd_run(&s, x, len, outs);
  return QT_OK;
}

/* ---- CCI: mean deviation around the current SMA, so O(n) per bar ---- */
int qt_ind_cci_lookback(int n) { return n - 1; }
size_t qt_ind_cci_ring_len(int n) { return n > 0 ? (size_t)n : 0; }

/* The CCI of a full ring window win[0..n) whose oldest value is at start
 * and whose sum is `sum`; tp is the newest value.  Summed oldest first, as
 * the batch form does. */
static inline double cci_value(const double *win, size_t start, int n, double sum, double tp) {
  double mean = sum / n, mad = 0;
  size_t j = start;
  for (int i = 0; i < n; i++) {
    mad += fabs(win[j] - mean);
    if (++j == (size_t)n) j = 0;
  }
  mad /= n;
  return mad > 0 ? (tp - mean) / (0.015 * mad) : 0.0;
}

int qt_ind_cci_init(qt_ind_cci_state *s, int n, double *ring, qt_err *err) {
  int rc = qt__ind_check_n("cci", "n", n, 1, err);
  if (!rc) rc = qt__ind_check_ptr("cci", "ring", ring, 1, err);
  if (rc) return rc;
  *s = (qt_ind_cci_state){.n = n, .ring = ring, .out = {NAN}};
  return QT_OK;
}

double qt_ind_cci_update(qt_ind_cci_state *s, double h, double l, double c) {
  double tp = (h + l + c) / 3.0;
  if (s->count < (size_t)s->n) s->sum += tp;
  else s->sum = s->sum + tp - s->ring[s->pos];
  s->ring[s->pos] = tp;
  if (++s->pos == (size_t)s->n) s->pos = 0;
  if (++s->count < (size_t)s->n) return s->out[0] = NAN;
  return s->out[0] = cci_value(s->ring, s->pos, s->n, s->sum, tp);
}

void qt_ind_cci_run(qt_ind_cci_state *s, const double *h, const double *l, const double *c,
                    size_t len, double *out) {
  for (size_t t = 0; t < len; t++) qt__ind_put(out, t, qt_ind_cci_update(s, h[t], l[t], c[t]));
}

int qt_ind_cci(const double *h, const double *l, const double *c, size_t len, int n, double *out,
               qt_err *err) {
  int rc;
  if ((rc = qt__ind_check_n("cci", "n", n, 1, err)) || (rc = qt__ind_check_ptr("cci", "h", h, len, err)) ||
      (rc = qt__ind_check_ptr("cci", "l", l, len, err)) || (rc = qt__ind_check_ptr("cci", "c", c, len, err)) ||
      (rc = qt__ind_check_ptr("cci", "out", out, len, err)))
    return rc;
  double sum = 0;
  for (size_t t = 0; t < len; t++) {
    double tp = (h[t] + l[t] + c[t]) / 3.0;
    if (t < (size_t)n) sum += tp;
    else sum = sum + tp - (h[t - n] + l[t - n] + c[t - n]) / 3.0;
    if (t + 1 < (size_t)n) {
      out[t] = NAN;
      continue;
    }
    double mean = sum / n, mad = 0;
    for (size_t i = t + 1 - (size_t)n; i <= t; i++) mad += fabs((h[i] + l[i] + c[i]) / 3.0 - mean);
    mad /= n;
    out[t] = mad > 0 ? (tp - mean) / (0.015 * mad) : 0.0;
  }
  return QT_OK;
}

/* ---- ROC ---- */
int qt_ind_roc_lookback(int n) { return n; }
size_t qt_ind_roc_ring_len(int n) { return n > 0 ? (size_t)n : 0; }

static inline double roc_value(double x, double old, int continuous) {
  if (continuous) return x > 0 && old > 0 ? log(x) - log(old) : NAN;
  return old != 0 ? x / old - 1 : NAN;
}

int qt_ind_roc_init(qt_ind_roc_state *s, int n, int continuous, double *ring, qt_err *err) {
  int rc = qt__ind_check_n("roc", "n", n, 1, err);
  if (!rc) rc = qt__ind_check_ptr("roc", "ring", ring, 1, err);
  if (rc) return rc;
  *s = (qt_ind_roc_state){.n = n, .continuous = continuous != 0, .ring = ring, .out = {NAN}};
  return QT_OK;
}

double qt_ind_roc_update(qt_ind_roc_state *s, double x) {
  double v = s->count >= (size_t)s->n ? roc_value(x, s->ring[s->pos], s->continuous) : NAN;
  s->ring[s->pos] = x;
  if (++s->pos == (size_t)s->n) s->pos = 0;
  s->count++;
  return s->out[0] = v;
}

void qt_ind_roc_run(qt_ind_roc_state *s, const double *x, size_t len, double *out) {
  for (size_t t = 0; t < len; t++) qt__ind_put(out, t, qt_ind_roc_update(s, x[t]));
}

int qt_ind_roc(const double *x, size_t len, int n, int continuous, double *out, qt_err *err) {
  int rc;
  if ((rc = qt__ind_check_n("roc", "n", n, 1, err)) || (rc = qt__ind_check_ptr("roc", "x", x, len, err)) ||
      (rc = qt__ind_check_ptr("roc", "out", out, len, err)))
    return rc;
  for (size_t t = 0; t < len; t++)
    out[t] = t >= (size_t)n ? roc_value(x[t], x[t - n], continuous != 0) : NAN;
  return QT_OK;
}
