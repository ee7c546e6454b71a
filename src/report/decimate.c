/* Down-sampling long series for display: Largest-Triangle-Three-Buckets
 * (Steinarsson 2013, "Downsampling Time Series for Visual Representation",
 * ch. 4.2) for lines, and OHLC merging for candles.  Pure functions. */
#include "report/report_int.h"

#include <math.h>

size_t qt__report_lttb(const double *x, const double *y, size_t n, size_t m, size_t *out) {
  if (m == 0 || m >= n || n < 3) {
    for (size_t i = 0; i < n; i++) out[i] = i;
    return n;
  }
  if (m < 3) m = 3; /* the first, one chosen, the last */
  size_t k = 0, a = 0;
  out[k++] = 0;
  /* the n - 2 inner points in m - 2 buckets of `every` points each */
  double every = (double)(n - 2) / (double)(m - 2);
  for (size_t b = 0; b < m - 2; b++) {
    size_t lo = (size_t)floor((double)b * every) + 1, hi = (size_t)floor((double)(b + 1) * every) + 1;
    size_t nlo = hi, nhi = (size_t)floor((double)(b + 2) * every) + 1;
    if (hi > n - 1) hi = n - 1;
    if (nhi > n) nhi = n;
    if (nlo >= nhi) { /* the last bucket: the next "bucket" is the final point */
      nlo = n - 1;
      nhi = n;
    }
    double ax = 0, ay = 0;
    for (size_t j = nlo; j < nhi; j++) {
      ax += x[j];
      ay += y[j];
    }
    ax /= (double)(nhi - nlo);
    ay /= (double)(nhi - nlo);
    double best = -1;
    size_t pick = lo;
    for (size_t j = lo; j < hi; j++) {
      /* twice the triangle's area: point a, candidate j, next bucket's mean */
      double area = fabs((x[a] - ax) * (y[j] - y[a]) - (x[a] - x[j]) * (ay - y[a]));
      if (area > best) {
        best = area;
        pick = j;
      }
    }
    out[k++] = pick;
    a = pick;
  }
  out[k++] = n - 1;
  return k;
}

size_t qt__report_ohlc_merge(const int64_t *ts, const double *o, const double *h, const double *l,
                             const double *c, size_t n, size_t per, qt__report_candle *out) {
  if (per < 1) per = 1;
  size_t k = 0;
  for (size_t i = 0; i < n; i += per, k++) {
    size_t end = i + per < n ? i + per : n;
    qt__report_candle cd = {ts[i], o[i], h[i], l[i], c[end - 1]};
    for (size_t j = i + 1; j < end; j++) {
      if (h[j] > cd.high) cd.high = h[j];
      if (l[j] < cd.low) cd.low = l[j];
    }
    out[k] = cd;
  }
  return k;
}
