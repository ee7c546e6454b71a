/* The generic entry point behind the engine's indicator cache: every output
 * column of (kind, n1, n2, n3) over a qt_bars, by the batch functions. */
#include "ind_int.h"

static const signed char n_out[QT_IND_KIND_COUNT] = {
    [QT_IND_SMA] = 1,  [QT_IND_EMA] = 1,    [QT_IND_WILDER] = 1,   [QT_IND_RSI] = 1,
    [QT_IND_ATR] = 2,  [QT_IND_ADX] = 4,    [QT_IND_BBANDS] = 4,   [QT_IND_DONCHIAN] = 3,
    [QT_IND_RUNSD] = 1, [QT_IND_RUNSD_POP] = 1, [QT_IND_MACD] = 3, [QT_IND_VWAP] = 1,
};

static const char *const kind_name[QT_IND_KIND_COUNT] = {
    [QT_IND_SMA] = "sma",   [QT_IND_EMA] = "ema",         [QT_IND_WILDER] = "wilder",
    [QT_IND_RSI] = "rsi",   [QT_IND_ATR] = "atr",         [QT_IND_ADX] = "adx",
    [QT_IND_BBANDS] = "bbands", [QT_IND_DONCHIAN] = "donchian", [QT_IND_RUNSD] = "runsd",
    [QT_IND_RUNSD_POP] = "runsd_pop", [QT_IND_MACD] = "macd", [QT_IND_VWAP] = "vwap",
};

int qt_ind_n_outputs(int kind) {
  return kind >= 0 && kind < QT_IND_KIND_COUNT ? n_out[kind] : 0;
}

/* Validates the lengths a kind uses; the message names kind and argument. */
static int check_args(int kind, int n1, int n2, int n3, qt_err *err) {
  if (kind < 0 || kind >= QT_IND_KIND_COUNT)
    return qt_err_set(err, QT_EINVAL, "indicator kind %d: unknown (0..%d)", kind, QT_IND_KIND_COUNT - 1);
  const char *k = kind_name[kind];
  if (n1 < 1) return qt_err_set(err, QT_EINVAL, "indicator %s: length n1 must be >= 1 (got %d)", k, n1);
  if (kind == QT_IND_RUNSD && n1 < 2)
    return qt_err_set(err, QT_EINVAL, "indicator %s: sample SD needs n1 >= 2 (got %d)", k, n1);
  if (kind == QT_IND_BBANDS && n2 < 1)
    return qt_err_set(err, QT_EINVAL, "indicator %s: n2 (sd*1000) must be >= 1 (got %d)", k, n2);
  if (kind == QT_IND_MACD && (n2 < 1 || n3 < 1))
    return qt_err_set(err, QT_EINVAL, "indicator %s: lengths must be >= 1 (got slow %d, signal %d)", k, n2, n3);
  return QT_OK;
}

int qt_ind_lookback(int kind, int n1, int n2, int n3) {
  if (check_args(kind, n1, n2, n3, NULL)) return -1;
  switch (kind) {
  case QT_IND_RSI: case QT_IND_ATR: return n1;
  case QT_IND_ADX: return 2 * n1 - 1;
  case QT_IND_MACD: return (n1 > n2 ? n1 : n2) + n3 - 2;
  default: return n1 - 1;
  }
}

/* Bars columns a kind reads: 1 close, 2 high, 4 low, 8 volume. */
static int check_cols(const qt_bars *b, int kind, qt_err *err) {
  static const struct { int bit; const char *name; } cols[] = {{1, "close"}, {2, "high"}, {4, "low"}, {8, "volume"}};
  int need = 1;
  if (kind == QT_IND_ATR || kind == QT_IND_ADX) need = 7;
  else if (kind == QT_IND_DONCHIAN) need = 6;
  else if (kind == QT_IND_VWAP) need = 15;
  const double *p[4] = {b->close, b->high, b->low, b->volume};
  for (int i = 0; i < 4; i++)
    if ((need & cols[i].bit) && !p[i] && b->n > 0)
      return qt_err_set(err, QT_EINVAL, "indicator %s: bars have no '%s' column", kind_name[kind], cols[i].name);
  return QT_OK;
}

int qt_ind_compute(const qt_bars *b, int kind, int n1, int n2, int n3, double *const *outs,
                   qt_err *err) {
  int rc = check_args(kind, n1, n2, n3, err);
  if (rc) return rc;
  if (!b || !outs) return qt_err_set(err, QT_EINVAL, "indicator %s: bars or outputs are NULL", kind_name[kind]);
  for (int k = 0; k < n_out[kind]; k++)
    if (!outs[k] && b->n > 0)
      return qt_err_set(err, QT_EINVAL, "indicator %s: output %d is NULL", kind_name[kind], k);
  if ((rc = check_cols(b, kind, err))) return rc;
  size_t n = b->n;
  switch (kind) {
  case QT_IND_SMA: return qt_ind_sma(b->close, n, n1, outs[0], err);
  case QT_IND_EMA: return qt_ind_ema(b->close, n, n1, outs[0], err);
  case QT_IND_WILDER: return qt_ind_wilder(b->close, n, n1, outs[0], err);
  case QT_IND_RSI: return qt_ind_rsi(b->close, n, n1, outs[0], err);
  case QT_IND_ATR: return qt_ind_atr(b->high, b->low, b->close, n, n1, outs[0], outs[1], NULL, NULL, err);
  case QT_IND_ADX:
    return qt_ind_adx(b->high, b->low, b->close, n, n1, outs[0], outs[1], outs[2], outs[3], err);
  case QT_IND_BBANDS:
    return qt_ind_bbands(b->close, n, n1, n2 / 1000.0, outs[0], outs[1], outs[2], outs[3], err);
  case QT_IND_DONCHIAN: return qt_ind_donchian(b->high, b->low, n, n1, outs[0], outs[1], outs[2], err);
  case QT_IND_RUNSD: return qt_ind_runsd(b->close, n, n1, 1, outs[0], err);
  case QT_IND_RUNSD_POP: return qt_ind_runsd(b->close, n, n1, 0, outs[0], err);
  case QT_IND_MACD: return qt_ind_macd(b->close, n, n1, n2, n3, outs[0], outs[1], outs[2], err);
  case QT_IND_VWAP: return qt_ind_vwap(b->high, b->low, b->close, b->volume, n, n1, outs[0], err);
  }
  return qt_err_set(err, QT_EINVAL, "indicator kind %d: unknown", kind); /* not reached */
}
