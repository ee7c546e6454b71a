/* Moving averages: SMA, EMA / Wilder smoothing, WMA, and the typical price.
 * Batch and streaming share one step per indicator, so any chunking of a
 * stream reproduces the batch numbers bit for bit.  Arithmetic order follows
 * TTR (running sum for SMA; a*x + (1-a)*prev for EMA). */
#include "ind_int.h"

int qt_ind_typprice(const double *h, const double *l, const double *c, size_t len, double *out,
                    qt_err *err) {
  int rc;
  if ((rc = qt__ind_check_ptr("typprice", "h", h, len, err)) || (rc = qt__ind_check_ptr("typprice", "l", l, len, err)) ||
      (rc = qt__ind_check_ptr("typprice", "c", c, len, err)) ||
      (rc = qt__ind_check_ptr("typprice", "out", out, len, err)))
    return rc;
  for (size_t t = 0; t < len; t++) out[t] = (h[t] + l[t] + c[t]) / 3.0;
  return QT_OK;
}

/* ---- SMA ---- */
int qt_ind_sma_lookback(int n) { return n - 1; }
size_t qt_ind_sma_ring_len(int n) { return n > 0 ? (size_t)n : 0; }

/* One SMA step: old is the value leaving the window (read only once full). */
static inline double sma_step(size_t *count, double *sum, int n, double x, double old) {
  if (*count < (size_t)n) {
    *sum += x;
    ++*count;
    return *count == (size_t)n ? *sum / n : NAN;
  }
  *sum = *sum + x - old;
  ++*count;
  return *sum / n;
}

int qt_ind_sma_init(qt_ind_sma_state *s, int n, double *ring, qt_err *err) {
  int rc = qt__ind_check_n("sma", "n", n, 1, err);
  if (!rc) rc = qt__ind_check_ptr("sma", "ring", ring, 1, err);
  if (rc) return rc;
  *s = (qt_ind_sma_state){.n = n, .ring = ring, .out = {NAN}};
  return QT_OK;
}

double qt_ind_sma_update(qt_ind_sma_state *s, double x) {
  double old = s->count >= (size_t)s->n ? s->ring[s->pos] : 0.0;
  double v = sma_step(&s->count, &s->sum, s->n, x, old);
  s->ring[s->pos] = x;
  if (++s->pos == (size_t)s->n) s->pos = 0;
  return s->out[0] = v;
}

void qt_ind_sma_run(qt_ind_sma_state *s, const double *x, size_t len, double *out) {
  for (size_t t = 0; t < len; t++) qt__ind_put(out, t, qt_ind_sma_update(s, x[t]));
}

int qt_ind_sma(const double *x, size_t len, int n, double *out, qt_err *err) {
  int rc;
  if ((rc = qt__ind_check_n("sma", "n", n, 1, err)) || (rc = qt__ind_check_ptr("sma", "x", x, len, err)) ||
      (rc = qt__ind_check_ptr("sma", "out", out, len, err)))
    return rc;
  size_t count = 0;
  double sum = 0;
  for (size_t t = 0; t < len; t++)
    out[t] = sma_step(&count, &sum, n, x[t], t >= (size_t)n ? x[t - n] : 0.0);
  return QT_OK;
}

/* ---- EMA / Wilder ---- */
int qt_ind_ema_lookback(int n) { return n - 1; }
int qt_ind_wilder_lookback(int n) { return n - 1; }

int qt_ind_ema_init(qt_ind_ema_state *s, int n, int wilder, qt_err *err) {
  int rc = qt__ind_check_n(wilder ? "wilder" : "ema", "n", n, 1, err);
  if (rc) return rc;
  *s = (qt_ind_ema_state){.n = n, .a = wilder ? 1.0 / n : 2.0 / (n + 1), .out = {NAN}};
  return QT_OK;
}

double qt_ind_ema_update(qt_ind_ema_state *s, double x) {
  if (s->count < (size_t)s->n) {
    if (s->count == 0 && isnan(x)) return s->out[0] = NAN; /* leading NaNs are skipped */
    s->sum += x;
    if (++s->count < (size_t)s->n) return s->out[0] = NAN;
    s->ema = s->sum / s->n;
    return s->out[0] = s->ema;
  }
  s->count++;
  s->ema = x * s->a + s->ema * (1 - s->a);
  return s->out[0] = s->ema;
}

void qt_ind_ema_run(qt_ind_ema_state *s, const double *x, size_t len, double *out) {
  for (size_t t = 0; t < len; t++) qt__ind_put(out, t, qt_ind_ema_update(s, x[t]));
}

static int ema_batch(const char *name, const double *x, size_t len, int n, int wilder, double *out,
                     qt_err *err) {
  int rc;
  qt_ind_ema_state s;
  if ((rc = qt_ind_ema_init(&s, n, wilder, err)) || (rc = qt__ind_check_ptr(name, "x", x, len, err)) ||
      (rc = qt__ind_check_ptr(name, "out", out, len, err)))
    return rc;
  qt_ind_ema_run(&s, x, len, out);
  return QT_OK;
}

int qt_ind_ema(const double *x, size_t len, int n, double *out, qt_err *err) {
  return ema_batch("ema", x, len, n, 0, out, err);
}

int qt_ind_wilder(const double *x, size_t len, int n, double *out, qt_err *err) {
  return ema_batch("wilder", x, len, n, 1, out, err);
}

/* ---- WMA: weighted sum updated in O(1): W' = W + n*x - S, S' = S + x - old ---- */
int qt_ind_wma_lookback(int n) { return n - 1; }
size_t qt_ind_wma_ring_len(int n) { return n > 0 ? (size_t)n : 0; }

static inline double wma_step(size_t *count, double *sum, double *wsum, int n, double x,
                              double old) {
  double den = (double)n * (n + 1) / 2.0;
  if (*count < (size_t)n) {
    ++*count;
    *wsum += (double)*count * x;
    *sum += x;
    return *count == (size_t)n ? *wsum / den : NAN;
  }
  ++*count;
  *wsum = *wsum + n * x - *sum;
  *sum = *sum + x - old;
  return *wsum / den;
}

int qt_ind_wma_init(qt_ind_wma_state *s, int n, double *ring, qt_err *err) {
  int rc = qt__ind_check_n("wma", "n", n, 1, err);
  if (!rc) rc = qt__ind_check_ptr("wma", "ring", ring, 1, err);
  if (rc) return rc;
  *s = (qt_ind_wma_state){.n = n, .ring = ring, .out = {NAN}};
  return QT_OK;
}

double qt_ind_wma_update(qt_ind_wma_state *s, double x) {
  double old = s->count >= (size_t)s->n ? s->ring[s->pos] : 0.0;
  double v = wma_step(&s->count, &s->sum, &s->wsum, s->n, x, old);
  s->ring[s->pos] = x;
  if (++s->pos == (size_t)s->n) s->pos = 0;
  return s->out[0] = v;
}

void qt_ind_wma_run(qt_ind_wma_state *s, const double *x, size_t len, double *out) {
  for (size_t t = 0; t < len; t++) qt__ind_put(out, t, qt_ind_wma_update(s, x[t]));
}

int qt_ind_wma(const double *x, size_t len, int n, double *out, qt_err *err) {
  int rc;
  if ((rc = qt__ind_check_n("wma", "n", n, 1, err)) || (rc = qt__ind_check_ptr("wma", "x", x, len, err)) ||
      (rc = qt__ind_check_ptr("wma", "out", out, len, err)))
    return rc;
  size_t count = 0;
  double sum = 0, wsum = 0;
  for (size_t t = 0; t < len; t++)
    out[t] = wma_step(&count, &sum, &wsum, n, x[t], t >= (size_t)n ? x[t - n] : 0.0);
  return QT_OK;
}
