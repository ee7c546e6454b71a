/* Range and volatility: ATR (with TR), ADX (+DI, -DI, DX), rolling SD,
 * Bollinger bands and the Donchian channel, with TTR's conventions: TR is
 * NaN at the first bar, ATR is seeded with mean(tr[1..n]) at index n, and
 * the DI sums use TTR's wilderSum (its first value adds the current bar to
 * (n-1)/n of the sum of the n-1 bars before it). */
#include "ind_int.h"

/* ---- ATR ---- */
int qt_ind_atr_lookback(int n) { return n; }

int qt_ind_atr_init(qt_ind_atr_state *s, int n, qt_err *err) {
  int rc = qt__ind_check_n("atr", "n", n, 1, err);
  if (rc) return rc;
  *s = (qt_ind_atr_state){.n = n, .out = {NAN, NAN, NAN, NAN}};
  return QT_OK;
}

double qt_ind_atr_update(qt_ind_atr_state *s, double h, double l, double c) {
  size_t k = s->count++;
  double pc = s->prev_c;
  s->prev_c = c;
  if (k == 0) return s->out[0] = NAN; /* no previous close: TR is undefined */
  double th = h > pc ? h : pc, tl = l < pc ? l : pc, tr = th - tl;
  s->out[1] = tr;
  s->out[2] = th;
  s->out[3] = tl;
  if (k <= (size_t)s->n) {
    s->sum += tr;
    if (k < (size_t)s->n) return s->out[0] = NAN;
    s->atr = s->sum / s->n;
  } else {
    double a = 1.0 / s->n;
    s->atr = tr * a + s->atr * (1 - a);
  }
  return s->out[0] = s->atr;
}

void qt_ind_atr_run(qt_ind_atr_state *s, const double *h, const double *l, const double *c,
                    size_t len, double *const *out) {
  for (size_t t = 0; t < len; t++) {
    qt_ind_atr_update(s, h[t], l[t], c[t]);
    for (int k = 0; k < 4; k++) qt__ind_put(out ? out[k] : NULL, t, s->out[k]);
  }
}

int qt_ind_atr(const double *h, const double *l, const double *c, size_t len, int n,
               double *out_atr, double *out_tr, double *out_th, double *out_tl, qt_err *err) {
  int rc;
  qt_ind_atr_state s;
  if ((rc = qt_ind_atr_init(&s, n, err)) || (rc = qt__ind_check_ptr("atr", "h", h, len, err)) ||
      (rc = qt__ind_check_ptr("atr", "l", l, len, err)) || (rc = qt__ind_check_ptr("atr", "c", c, len, err)) ||
      (rc = qt__ind_check_ptr("atr", "out_atr", out_atr, len, err)))
    return rc;
  double *outs[4] = {out_atr, out_tr, out_th, out_tl};
  qt_ind_atr_run(&s, h, l, c, len, outs);
  return QT_OK;
}

/* ---- ADX ---- */
int qt_ind_adx_lookback(int n) { return 2 * n - 1; }

int qt_ind_adx_init(qt_ind_adx_state *s, int n, qt_err *err) {
  int rc = qt__ind_check_n("adx", "n", n, 1, err);
  if (rc) return rc;
  *s = (qt_ind_adx_state){.n = n, .out = {NAN, NAN, NAN, NAN}};
  qt_ind_ema_init(&s->adx, n, 1, NULL);
  return QT_OK;
}

double qt_ind_adx_update(qt_ind_adx_state *s, double h, double l, double c) {
  size_t k = s->count++;
  double ph = s->prev_h, pl = s->prev_l, pc = s->prev_c;
  s->prev_h = h;
  s->prev_l = l;
  s->prev_c = c;
  if (k == 0) {
    qt_ind_ema_update(&s->adx, NAN); /* keeps the ADX's leading NaN count */
    return s->out[0] = NAN;
  }
  double dh = h - ph, dl = pl - l;
  double pdm = dh > dl && dh > 0 ? dh : 0, mdm = dl > dh && dl > 0 ? dl : 0;
  double th = h > pc ? h : pc, tl = l < pc ? l : pc, tr = th - tl;
  size_t n = (size_t)s->n;
  if (k < n) { /* raw sums of the n-1 values before the first output */
    s->ws_tr += tr;
    s->ws_p += pdm;
    s->ws_m += mdm;
    qt_ind_ema_update(&s->adx, NAN);
    return s->out[0] = NAN;
  }
  /* TTR evaluates ws*(n-1)/n left to right; keep that order */
  s->ws_tr = tr + s->ws_tr * (s->n - 1) / s->n;
  s->ws_p = pdm + s->ws_p * (s->n - 1) / s->n;
  s->ws_m = mdm + s->ws_m * (s->n - 1) / s->n;
  double dip = 0, din = 0, dx = 0;
  if (s->ws_tr > 0) { /* flat bars: no range, no direction */
    dip = 100 * s->ws_p / s->ws_tr;
    din = 100 * s->ws_m / s->ws_tr;
  }
  if (dip + din > 0) dx = 100 * (fabs(dip - din) / (dip + din));
  s->out[1] = dip;
  s->out[2] = din;
  s->out[3] = dx;
  return s->out[0] = qt_ind_ema_update(&s->adx, dx);
}

void qt_ind_adx_run(qt_ind_adx_state *s, const double *h, const double *l, const double *c,
                    size_t len, double *const *out) {
  for (size_t t = 0; t < len; t++) {
    qt_ind_adx_update(s, h[t], l[t], c[t]);
    for (int k = 0; k < 4; k++) qt__ind_put(out ? out[k] : NULL, t, s->out[k]);
  }
}

int qt_ind_adx(const double *h, const double *l, const double *c, size_t len, int n,
               double *out_adx, double *out_dip, double *out_din, double *out_dx, qt_err *err) {
  int rc;
  qt_ind_adx_state s;
  if ((rc = qt_ind_adx_init(&s, n, err)) || (rc = qt__ind_check_ptr("adx", "h", h, len, err)) ||
      (rc = qt__ind_check_ptr("adx", "l", l, len, err)) || (rc = qt__ind_check_ptr("adx", "c", c, len, err)) ||
      (rc = qt__ind_check_ptr("adx", "out_adx", out_adx, len, err)))
    return rc;
  double *outs[4] = {out_adx, out_dip, out_din, out_dx};
  qt_ind_adx_run(&s, h, l, c, len, outs);
  return QT_OK;
}

/* ---- rolling SD.  Sums of deviations from a shift k (the window mean at
 * the last exact recomputation) instead of raw sums: the rounding error is
 * then eps * (window range)^2, not eps * price^2, so a 1e4 price with 0.01
 * steps keeps its SD.  Every n bars (every bar when n <= 16) k moves to the window mean and both sums
 * are recomputed in two passes, so errors cannot accumulate. ---- */
int qt_ind_runsd_lookback(int n) { return n - 1; }
size_t qt_ind_runsd_ring_len(int n) { return n > 0 ? (size_t)n : 0; }

/* Adds x (and drops old once full).  win/start address the window that
 * already holds x: n values from win[start], wrapping at n. */
static inline void sd_step(qt_ind_runsd_state *s, double x, double old, const double *win,
                           size_t start) {
  size_t n = (size_t)s->n;
  if (s->count == 0) s->k = x;
  if (s->count < n) {
    s->sum += x;
    s->s1 += x - s->k;
    s->s2 += (x - s->k) * (x - s->k);
  } else {
    s->sum = s->sum + x - old;
    double a = x - s->k, b = old - s->k;
    s->s1 += a - b;
    s->s2 += a * a - b * b;
  }
  s->count++;
  /* short windows are cheap to recompute every bar, and exact */
  if (s->count >= n && (n <= 16 || (s->count - n) % n == 0)) {
    double sum = 0, m2 = 0;
    size_t j = start;
    for (size_t i = 0; i < n; i++) {
      sum += win[j];
      if (++j == n) j = 0;
    }
    double mean = sum / s->n;
    for (size_t i = 0; i < n; i++) {
      double d = win[j] - mean;
      m2 += d * d;
      if (++j == n) j = 0;
    }
    s->k = mean;
    s->s1 = 0; /* sum of x - mean, zero up to rounding */
    s->s2 = m2;
  }
}

/* Sum of squared deviations from the window mean, >= 0. */
static inline double sd_m2(const qt_ind_runsd_state *s) {
  double m2 = s->s2 - s->s1 * s->s1 / s->n;
  return m2 > 0 ? m2 : 0;
}

static inline double sd_value(const qt_ind_runsd_state *s) {
  if (s->count < (size_t)s->n) return NAN;
  return sqrt(sd_m2(s) / (s->sample ? s->n - 1 : s->n));
}

int qt_ind_runsd_init(qt_ind_runsd_state *s, int n, int sample, double *ring, qt_err *err) {
  int rc = qt__ind_check_n(sample ? "runsd (sample)" : "runsd", "n", n, sample ? 2 : 1, err);
  if (!rc) rc = qt__ind_check_ptr("runsd", "ring", ring, 1, err);
  if (rc) return rc;
  *s = (qt_ind_runsd_state){.n = n, .sample = sample != 0, .ring = ring, .out = {NAN}};
  return QT_OK;
}

/* Stream step shared by runsd and bbands. */
static inline void sd_update(qt_ind_runsd_state *s, double x) {
  double old = s->count >= (size_t)s->n ? s->ring[s->pos] : 0.0;
  s->ring[s->pos] = x;
  if (++s->pos == (size_t)s->n) s->pos = 0;
  sd_step(s, x, old, s->ring, s->pos);
}

double qt_ind_runsd_update(qt_ind_runsd_state *s, double x) {
  sd_update(s, x);
  return s->out[0] = sd_value(s);
}

void qt_ind_runsd_run(qt_ind_runsd_state *s, const double *x, size_t len, double *out) {
  for (size_t t = 0; t < len; t++) qt__ind_put(out, t, qt_ind_runsd_update(s, x[t]));
}

/* Batch step: the window is x[t-n+1..t] in place. */
static inline void sd_batch_step(qt_ind_runsd_state *s, const double *x, size_t t) {
  size_t n = (size_t)s->n;
  sd_step(s, x[t], t >= n ? x[t - n] : 0.0, t + 1 >= n ? x + (t + 1 - n) : x, 0);
}

int qt_ind_runsd(const double *x, size_t len, int n, int sample, double *out, qt_err *err) {
  int rc;
  double dummy = 0;
  qt_ind_runsd_state s;
  if ((rc = qt_ind_runsd_init(&s, n, sample, &dummy, err)) || (rc = qt__ind_check_ptr("runsd", "x", x, len, err)) ||
      (rc = qt__ind_check_ptr("runsd", "out", out, len, err)))
    return rc;
  for (size_t t = 0; t < len; t++) {
    sd_batch_step(&s, x, t);
    out[t] = sd_value(&s);
  }
  return QT_OK;
}

/* ---- Bollinger bands (population SD, like TTR) ---- */
int qt_ind_bbands_lookback(int n) { return n - 1; }
size_t qt_ind_bbands_ring_len(int n) { return qt_ind_runsd_ring_len(n); }

static inline void bb_outputs(const qt_ind_runsd_state *sd, double k, double x, double *o) {
  if (sd->count < (size_t)sd->n) {
    o[0] = o[1] = o[2] = o[3] = NAN;
    return;
  }
  double mid = sd->sum / sd->n, dev = sqrt(sd_m2(sd) / sd->n);
  o[0] = mid - k * dev;
  o[1] = mid;
  o[2] = mid + k * dev;
  /* a flat window has no width: x sits on the mid line */
  o[3] = o[2] - o[0] > 0 ? (x - o[0]) / (o[2] - o[0]) : 0.5;
}

int qt_ind_bbands_init(qt_ind_bbands_state *s, int n, double k, double *ring, qt_err *err) {
  int rc = qt_ind_runsd_init(&s->sd, n, 0, ring, err);
  if (rc) return rc;
  if (!(k >= 0) || isinf(k)) return qt_err_set(err, QT_EINVAL, "indicator bbands: k must be finite and >= 0 (got %g)", k);
  s->k = k;
  s->out[0] = s->out[1] = s->out[2] = s->out[3] = NAN;
  return QT_OK;
}

double qt_ind_bbands_update(qt_ind_bbands_state *s, double x) {
  sd_update(&s->sd, x);
  bb_outputs(&s->sd, s->k, x, s->out);
  return s->out[0];
}

void qt_ind_bbands_run(qt_ind_bbands_state *s, const double *x, size_t len, double *const *out) {
  for (size_t t = 0; t < len; t++) {
    qt_ind_bbands_update(s, x[t]);
    for (int k = 0; k < 4; k++) qt__ind_put(out ? out[k] : NULL, t, s->out[k]);
  }
}

int qt_ind_bbands(const double *x, size_t len, int n, double k, double *out_dn, double *out_mid,
                  double *out_up, double *out_pctb, qt_err *err) {
  int rc;
  double dummy = 0;
  qt_ind_bbands_state s;
  if ((rc = qt_ind_bbands_init(&s, n, k, &dummy, err)) || (rc = qt__ind_check_ptr("bbands", "x", x, len, err)) ||
      (rc = qt__ind_check_ptr("bbands", "out_dn", out_dn, len, err)) ||
      (rc = qt__ind_check_ptr("bbands", "out_mid", out_mid, len, err)) ||
      (rc = qt__ind_check_ptr("bbands", "out_up", out_up, len, err)))
    return rc;
  double o[4];
  for (size_t t = 0; t < len; t++) {
    sd_batch_step(&s.sd, x, t);
    bb_outputs(&s.sd, k, x[t], o);
    out_dn[t] = o[0];
    out_mid[t] = o[1];
    out_up[t] = o[2];
    qt__ind_put(out_pctb, t, o[3]);
  }
  return QT_OK;
}

/* ---- Donchian channel ---- */
int qt_ind_donchian_lookback(int n) { return n - 1; }
size_t qt_ind_donchian_ring_len(int n) { return n > 0 ? 4 * (size_t)n : 0; }

/* A monotonic deque of (value, index) pairs in dq[0..2n): the front is the
 * window's extreme.  sign = 1 keeps the max, -1 the min. */
static inline double dq_push(double *dq, size_t n, size_t *head, size_t *len, double v, size_t t,
                             double sign) {
  if (*len && t >= n && dq[2 * *head + 1] <= (double)(t - n)) { /* front left the window */
    if (++*head == n) *head = 0;
    --*len;
  }
  while (*len) {
    size_t back = (*head + *len - 1) % n;
    if (sign * dq[2 * back] > sign * v) break;
    --*len;
  }
  size_t at = (*head + *len) % n;
  dq[2 * at] = v;
  dq[2 * at + 1] = (double)t;
  ++*len;
  return dq[2 * *head];
}

int qt_ind_donchian_init(qt_ind_donchian_state *s, int n, double *ring, qt_err *err) {
  int rc = qt__ind_check_n("donchian", "n", n, 1, err);
  if (!rc) rc = qt__ind_check_ptr("donchian", "ring", ring, 1, err);
  if (rc) return rc;
  *s = (qt_ind_donchian_state){.n = n, .ring = ring, .out = {NAN, NAN, NAN}};
  return QT_OK;
}

double qt_ind_donchian_update(qt_ind_donchian_state *s, double h, double l) {
  size_t n = (size_t)s->n, t = s->count++;
  double hi = dq_push(s->ring, n, &s->hi_head, &s->hi_len, h, t, 1);
  double lo = dq_push(s->ring + 2 * n, n, &s->lo_head, &s->lo_len, l, t, -1);
  if (s->count < n) return s->out[0] = NAN;
  s->out[1] = (hi + lo) / 2;
  s->out[2] = lo;
  return s->out[0] = hi;
}

void qt_ind_donchian_run(qt_ind_donchian_state *s, const double *h, const double *l, size_t len,
                         double *const *out) {
  for (size_t t = 0; t < len; t++) {
    qt_ind_donchian_update(s, h[t], l[t]);
    for (int k = 0; k < 3; k++) qt__ind_put(out ? out[k] : NULL, t, s->out[k]);
  }
}

int qt_ind_donchian(const double *h, const double *l, size_t len, int n, double *out_high,
                    double *out_mid, double *out_low, qt_err *err) {
  int rc;
  if ((rc = qt__ind_check_n("donchian", "n", n, 1, err)) || (rc = qt__ind_check_ptr("donchian", "h", h, len, err)) ||
      (rc = qt__ind_check_ptr("donchian", "l", l, len, err)) ||
      (rc = qt__ind_check_ptr("donchian", "out_high", out_high, len, err)) ||
      (rc = qt__ind_check_ptr("donchian", "out_low", out_low, len, err)))
    return rc;
  /* Track the extremes and their rows; rescan the window only when the
   * extreme leaves it (the values are exact, so this equals the deque). */
  size_t nn = (size_t)n, hi_at = 0, lo_at = 0;
  for (size_t t = 0; t < len; t++) {
    size_t w0 = t + 1 >= nn ? t + 1 - nn : 0;
    if (t == 0 || h[t] >= h[hi_at]) hi_at = t;
    else if (hi_at < w0) {
      hi_at = w0;
      for (size_t i = w0 + 1; i <= t; i++) if (h[i] >= h[hi_at]) hi_at = i;
    }
    if (t == 0 || l[t] <= l[lo_at]) lo_at = t;
    else if (lo_at < w0) {
      lo_at = w0;
      for (size_t i = w0 + 1; i <= t; i++) if (l[i] <= l[lo_at]) lo_at = i;
    }
    if (t + 1 < nn) {
      out_high[t] = out_low[t] = NAN;
      qt__ind_put(out_mid, t, NAN);
      continue;
    }
    out_high[t] = h[hi_at];
    out_low[t] = l[lo_at];
    qt__ind_put(out_mid, t, (h[hi_at] + l[lo_at]) / 2);
  }
  return QT_OK;
}
