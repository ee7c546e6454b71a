/* Shared helpers of the indicator files: argument checks with messages that
 * name the indicator and the argument. */
#ifndef QTUNE_INDICATORS_IND_INT_H
#define QTUNE_INDICATORS_IND_INT_H

#include <math.h>

#include "qtune/indicators.h"

/* QT_EINVAL unless n >= lo. */
static inline int qt__ind_check_n(const char *ind, const char *arg, int n, int lo, qt_err *err) {
  if (n < lo)
    return qt_err_set(err, QT_EINVAL, "indicator %s: %s must be >= %d (got %d)", ind, arg, lo, n);
  return QT_OK;
}

/* QT_EINVAL when a required array is NULL (len 0 accepts anything). */
static inline int qt__ind_check_ptr(const char *ind, const char *arg, const void *p, size_t len,
                                    qt_err *err) {
  if (!p && len > 0) return qt_err_set(err, QT_EINVAL, "indicator %s: %s is NULL", ind, arg);
  return QT_OK;
}

/* Writes v to o[t] when the column is wanted. */
static inline void qt__ind_put(double *o, size_t t, double v) {
  if (o) o[t] = v;
}

#endif
