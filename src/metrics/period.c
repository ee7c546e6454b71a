/* Per-period returns of an equity (or price) curve: see the contract in
 * include/qtune/metrics.h.  Used after a run, never in the per-bar loop. */
#include "qtune/metrics.h"

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t qt_metrics_returns_period(int64_t span_ms, int64_t interval_ms) {
  static const int64_t k_periods[] = {86400000, 14400000, 3600000, 900000, 300000, 60000};
  for (size_t k = 0; k < sizeof k_periods / sizeof k_periods[0]; k++)
    if (k_periods[k] >= interval_ms && span_ms / k_periods[k] >= 64) return k_periods[k];
  return interval_ms > 0 ? interval_ms : 60000;
}

size_t qt_metrics_period_count(const int64_t *ts_ms, size_t n, int64_t period_ms) {
  if (!n || period_ms <= 0) return 0;
  return (size_t)(floor_div(ts_ms[n - 1], period_ms) - floor_div(ts_ms[0], period_ms) + 1);
}

int qt_metrics_period_returns(const int64_t *ts_ms, const double *v, size_t n, double v0,
                              int64_t period_ms, double *out, size_t cap, size_t *out_n,
                              int64_t *out_start_ms, qt_err *err) {
  if (out_n) *out_n = 0;
  if (out_start_ms) *out_start_ms = 0;
  if (!n || period_ms <= 0 || !ts_ms || !v)
    return qt_err_set(err, QT_EINVAL, "period returns: no bars or a period <= 0");
  size_t np = qt_metrics_period_count(ts_ms, n, period_ms);
  if (cap < np)
    return qt_err_set(err, QT_EINVAL, "period returns: %zu periods, room for %zu", np, cap);
  int64_t p0 = floor_div(ts_ms[0], period_ms);
  double prev = v0, cur = v0;
  size_t k = 0, i = 0;
  for (; k < np; k++) {
    while (i < n && floor_div(ts_ms[i], period_ms) - p0 <= (int64_t)k) cur = v[i++];
    out[k] = prev > 0 ? cur / prev - 1.0 : 0.0;
    prev = cur;
  }
  if (out_n) *out_n = np;
  if (out_start_ms) *out_start_ms = p0 * period_ms;
  return QT_OK;
}
