/* Rolling VWAP over the last n bars of typical price x volume.  Running
 * sums, recomputed exactly every n bars (so a huge bar leaving the window
 * cannot leave rounding residue behind), and a count of bars with volume so
 * an empty window gives exactly NaN. */
#include "ind_int.h"

int qt_ind_vwap_lookback(int n) { return n - 1; }
size_t qt_ind_vwap_ring_len(int n) { return n > 0 ? 2 * (size_t)n : 0; }

/* Adds (pv, v), drops (opv, ov) once full; returns 1 when the sums are due
 * for an exact recomputation. */
static inline int vw_step(size_t *count, size_t *nz, double *spv, double *sv, size_t n, double pv,
                          double v, double opv, double ov) {
  if (*count < n) {
    *spv += pv;
    *sv += v;
  } else {
    *spv = *spv + pv - opv;
    *sv = *sv + v - ov;
    *nz -= ov != 0;
  }
  *nz += v != 0;
  ++*count;
  return *count >= n && (*count - n) % n == 0;
}

static inline double vw_value(size_t count, size_t nz, double spv, double sv, size_t n) {
  if (count < n || nz == 0) return NAN;
  return spv / sv;
}

int qt_ind_vwap_init(qt_ind_vwap_state *s, int n, double *ring, qt_err *err) {
  int rc = qt__ind_check_n("vwap", "n", n, 1, err);
  if (!rc) rc = qt__ind_check_ptr("vwap", "ring", ring, 1, err);
  if (rc) return rc;
  *s = (qt_ind_vwap_state){.n = n, .ring = ring, .out = {NAN}};
  return QT_OK;
}

double qt_ind_vwap_update(qt_ind_vwap_state *s, double h, double l, double c, double v) {
  size_t n = (size_t)s->n;
  double pv = (h + l + c) / 3.0 * v;
  double *slot = s->ring + 2 * s->pos;
  double opv = s->count >= n ? slot[0] : 0, ov = s->count >= n ? slot[1] : 0;
  slot[0] = pv;
  slot[1] = v;
  if (++s->pos == n) s->pos = 0;
  if (vw_step(&s->count, &s->nz, &s->pv, &s->v, n, pv, v, opv, ov)) {
    double a = 0, b = 0;
    for (size_t i = 0, j = s->pos; i < n; i++) { /* oldest first, like the batch */
      a += s->ring[2 * j];
      b += s->ring[2 * j + 1];
      if (++j == n) j = 0;
    }
    s->pv = a;
    s->v = b;
  }
  return s->out[0] = vw_value(s->count, s->nz, s->pv, s->v, n);
}

void qt_ind_vwap_run(qt_ind_vwap_state *s, const double *h, const double *l, const double *c,
                     const double *v, size_t len, double *out) {
  for (size_t t = 0; t < len; t++) qt__ind_put(out, t, qt_ind_vwap_update(s, h[t], l[t], c[t], v[t]));
}

int qt_ind_vwap(const double *h, const double *l, const double *c, const double *v, size_t len,
                int n, double *out, qt_err *err) {
  int rc;
  if ((rc = qt__ind_check_n("vwap", "n", n, 1, err)) || (rc = qt__ind_check_ptr("vwap", "h", h, len, err)) ||
      (rc = qt__ind_check_ptr("vwap", "l", l, len, err)) || (rc = qt__ind_check_ptr("vwap", "c", c, len, err)) ||
      (rc = qt__ind_check_ptr("vwap", "volume", v, len, err)) ||
      (rc = qt__ind_check_ptr("vwap", "out", out, len, err)))
    return rc;
  size_t nn = (size_t)n, count = 0, nz = 0;
  double spv = 0, sv = 0;
#define QT__PV(i) ((h[i] + l[i] + c[i]) / 3.0 * v[i])
  for (size_t t = 0; t < len; t++) {
    double opv = t >= nn ? QT__PV(t - nn) : 0, ov = t >= nn ? v[t - nn] : 0;
    if (vw_step(&count, &nz, &spv, &sv, nn, QT__PV(t), v[t], opv, ov)) {
      double a = 0, b = 0;
      for (size_t i = t + 1 - nn; i <= t; i++) {
        a += QT__PV(i);
        b += v[i];
      }
      spv = a;
      sv = b;
    }
    out[t] = vw_value(count, nz, spv, sv, nn);
  }
#undef QT__PV
  return QT_OK;
}

/* ---- session-anchored VWAP ---- */
static inline int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int qt_ind_vwap_session_init(qt_ind_vwap_session_state *s, int64_t session_ms, int64_t offset_ms,
                             qt_err *err) {
  if (session_ms < 1)
    return qt_err_set(err, QT_EINVAL, "indicator vwap_session: session_ms must be >= 1 (got %lld)",
                      (long long)session_ms);
  *s = (qt_ind_vwap_session_state){.session_ms = session_ms, .offset_ms = offset_ms, .out = {NAN}};
  return QT_OK;
}

double qt_ind_vwap_session_update(qt_ind_vwap_session_state *s, int64_t ts_ms, double h, double l,
                                  double c, double v) {
  int64_t k = floor_div(ts_ms - s->offset_ms, s->session_ms);
  if (!s->started || k != s->session) { /* a new session starts from nothing */
    s->started = 1;
    s->session = k;
    s->pv = s->v = 0;
  }
  s->pv += (h + l + c) / 3.0 * v;
  s->v += v;
  return s->out[0] = s->v != 0 ? s->pv / s->v : NAN;
}

int qt_ind_vwap_session(const int64_t *ts_ms, const double *h, const double *l, const double *c,
                        const double *v, size_t len, int64_t session_ms, int64_t offset_ms,
                        double *out, qt_err *err) {
  int rc;
  qt_ind_vwap_session_state s;
  if ((rc = qt_ind_vwap_session_init(&s, session_ms, offset_ms, err)) ||
      (rc = qt__ind_check_ptr("vwap_session", "ts_ms", ts_ms, len, err)) ||
      (rc = qt__ind_check_ptr("vwap_session", "h", h, len, err)) ||
      (rc = qt__ind_check_ptr("vwap_session", "l", l, len, err)) ||
      (rc = qt__ind_check_ptr("vwap_session", "c", c, len, err)) ||
      (rc = qt__ind_check_ptr("vwap_session", "volume", v, len, err)) ||
      (rc = qt__ind_check_ptr("vwap_session", "out", out, len, err)))
    return rc;
  for (size_t t = 0; t < len; t++) out[t] = qt_ind_vwap_session_update(&s, ts_ms[t], h[t], l[t], c[t], v[t]);
  return QT_OK;
}
