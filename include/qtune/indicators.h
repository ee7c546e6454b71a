/* qtune indicators: technical indicators in batch form (caller-allocated
 * output over a whole column) and streaming form (O(1) update per bar), with
 * TTR's seeding and warm-up conventions, and a per-worker cache of batch
 * columns keyed by (series, kind, lengths).  No orders, no engine here. */
#ifndef QTUNE_QTUNE_INDICATORS_H
#define QTUNE_QTUNE_INDICATORS_H

#include "qtune/core.h"
#include "qtune/data.h"

/* Kinds known to the cache (qt_ctx_indicator).  Outputs per kind, by `out`:
 *  SMA, EMA, WILDER, RSI, RUNSD(sample), RUNSD_POP: 0 = value (on close)
 *  ATR: 0 = atr, 1 = tr;  ADX: 0 = adx, 1 = +DI, 2 = -DI, 3 = DX
 *  BBANDS(n, sd*1000 in n2): 0 = lower, 1 = mid, 2 = upper, 3 = pctB (close)
 *  DONCHIAN: 0 = high, 1 = mid, 2 = low
 *  MACD(n1 fast, n2 slow, n3 signal): 0 = macd, 1 = signal, 2 = histogram
 *  VWAP(n, rolling over n bars of typical price * volume): 0 = vwap */
typedef enum qt_ind_kind {
  QT_IND_SMA = 0,
  QT_IND_EMA,
  QT_IND_WILDER,
  QT_IND_RSI,
  QT_IND_ATR,
  QT_IND_ADX,
  QT_IND_BBANDS,
  QT_IND_DONCHIAN,
  QT_IND_RUNSD,
  QT_IND_RUNSD_POP,
  QT_IND_MACD,
  QT_IND_VWAP,
  QT_IND_KIND_COUNT
} qt_ind_kind;

/* Number of output columns of a kind (see the table above); 0 if unknown. */
QT_API int qt_ind_n_outputs(int kind);
/* Computes every output column of (kind, n1, n2, n3) over all b->n bars into
 * outs[k][0..b->n) (caller-allocated, one per output).  Warm-up rows are NaN.
 * QT_EINVAL for an unknown kind or a length < 1 (message names both). */
QT_API int qt_ind_compute(const qt_bars *b, int kind, int n1, int n2, int n3, double *const *outs,
                          qt_err *err);

#endif
