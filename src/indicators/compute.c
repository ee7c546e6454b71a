/* The generic entry point behind the engine's indicator cache: every output
 * column of (kind, n1, n2, n3) over a qt_bars, by the batch functions.
 * Everything per kind comes from QT_IND_KIND_LIST (qtune/indicators.h):
 * each row names a lookback_<name> and a compute_<name> below, so a row
 * without them does not compile. */
#include "ind_int.h"

#include <string.h>

/* Bars columns a kind reads (the list's last field): 1 close, 2 high,
 * 4 low, 8 volume. */
enum { COLS_C = 1, COLS_HL = 6, COLS_HLC = 7, COLS_HLCV = 15 };

/* lookback_<name>: validates the lengths beyond n1 >= 1 (checked for every
 * kind first; the message names the kind and the argument) and returns the
 * lookback, or a negative status. */
static int lookback_sma(int n1, int n2, int n3, qt_err *err) { return n1 - 1; }
static int lookback_ema(int n1, int n2, int n3, qt_err *err) { return n1 - 1; }
static int lookback_wilder(int n1, int n2, int n3, qt_err *err) { return n1 - 1; }
static int lookback_rsi(int n1, int n2, int n3, qt_err *err) { return n1; }
static int lookback_atr(int n1, int n2, int n3, qt_err *err) { return n1; }
static int lookback_adx(int n1, int n2, int n3, qt_err *err) { return 2 * n1 - 1; }
static int lookback_bbands(int n1, int n2, int n3, qt_err *err) {
  if (n2 < 1) return qt_err_set(err, QT_EINVAL, "indicator bbands: n2 (sd*1000) must be >= 1 (got %d)", n2);
  return n1 - 1;
}
static int lookback_donchian(int n1, int n2, int n3, qt_err *err) { return n1 - 1; }
static int lookback_runsd(int n1, int n2, int n3, qt_err *err) {
  if (n1 < 2) return qt_err_set(err, QT_EINVAL, "indicator runsd: sample SD needs n1 >= 2 (got %d)", n1);
  return n1 - 1;
}
static int lookback_runsd_pop(int n1, int n2, int n3, qt_err *err) { return n1 - 1; }
static int lookback_macd(int n1, int n2, int n3, qt_err *err) {
  if (n2 < 1 || n3 < 1)
    return qt_err_set(err, QT_EINVAL, "indicator macd: lengths must be >= 1 (got slow %d, signal %d)", n2, n3);
  return (n1 > n2 ? n1 : n2) + n3 - 2;
}
static int lookback_vwap(int n1, int n2, int n3, qt_err *err) { return n1 - 1; }

/* compute_<name>: the batch call, arguments already checked. */
#define COMPUTE(name) \
  static int compute_##name(const qt_bars *b, size_t n, int n1, int n2, int n3, double *const *o, qt_err *err)
COMPUTE(sma) { return qt_ind_sma(b->close, n, n1, o[0], err); }
COMPUTE(ema) { return qt_ind_ema(b->close, n, n1, o[0], err); }
COMPUTE(wilder) { return qt_ind_wilder(b->close, n, n1, o[0], err); }
COMPUTE(rsi) { return qt_ind_rsi(b->close, n, n1, o[0], err); }
COMPUTE(atr) { return qt_ind_atr(b->high, b->low, b->close, n, n1, o[0], o[1], NULL, NULL, err); }
COMPUTE(adx) { return qt_ind_adx(b->high, b->low, b->close, n, n1, o[0], o[1], o[2], o[3], err); }
COMPUTE(bbands) { return qt_ind_bbands(b->close, n, n1, n2 / 1000.0, o[0], o[1], o[2], o[3], err); }
COMPUTE(donchian) { return qt_ind_donchian(b->high, b->low, n, n1, o[0], o[1], o[2], err); }
COMPUTE(runsd) { return qt_ind_runsd(b->close, n, n1, 1, o[0], err); }
COMPUTE(runsd_pop) { return qt_ind_runsd(b->close, n, n1, 0, o[0], err); }
COMPUTE(macd) { return qt_ind_macd(b->close, n, n1, n2, n3, o[0], o[1], o[2], err); }
COMPUTE(vwap) { return qt_ind_vwap(b->high, b->low, b->close, b->volume, n, n1, o[0], err); }
#undef COMPUTE

/* The streaming form of each kind: ring_<name> (doubles of ring),
 * start_<name> (the state's init) and step_<name> (one bar in, the state's
 * outputs in s->u.<x>.out), each the streaming function of the batch call
 * above, so the values are the batch's bit for bit. */
#define RING(name) static size_t ring_##name(int n1, int n2, int n3)
#define START(name) \
  static int start_##name(qt_ind_kind_state *s, int n1, int n2, int n3, double *ring, qt_err *err)
#define STEP(name) static const double *step_##name(qt_ind_kind_state *s, const qt_bars *b, size_t i)
RING(sma) { return qt_ind_sma_ring_len(n1); }
START(sma) { return qt_ind_sma_init(&s->u.sma, n1, ring, err); }
STEP(sma) { qt_ind_sma_update(&s->u.sma, b->close[i]); return s->u.sma.out; }
RING(ema) { return 0; }
START(ema) { return qt_ind_ema_init(&s->u.ema, n1, 0, err); }
STEP(ema) { qt_ind_ema_update(&s->u.ema, b->close[i]); return s->u.ema.out; }
RING(wilder) { return 0; }
START(wilder) { return qt_ind_ema_init(&s->u.ema, n1, 1, err); }
STEP(wilder) { qt_ind_ema_update(&s->u.ema, b->close[i]); return s->u.ema.out; }
RING(rsi) { return 0; }
START(rsi) { return qt_ind_rsi_init(&s->u.rsi, n1, err); }
STEP(rsi) { qt_ind_rsi_update(&s->u.rsi, b->close[i]); return s->u.rsi.out; }
RING(atr) { return 0; }
START(atr) { return qt_ind_atr_init(&s->u.atr, n1, err); }
STEP(atr) { qt_ind_atr_update(&s->u.atr, b->high[i], b->low[i], b->close[i]); return s->u.atr.out; }
RING(adx) { return 0; }
START(adx) { return qt_ind_adx_init(&s->u.adx, n1, err); }
STEP(adx) { qt_ind_adx_update(&s->u.adx, b->high[i], b->low[i], b->close[i]); return s->u.adx.out; }
RING(bbands) { return qt_ind_bbands_ring_len(n1); }
START(bbands) { return qt_ind_bbands_init(&s->u.bbands, n1, n2 / 1000.0, ring, err); }
STEP(bbands) { qt_ind_bbands_update(&s->u.bbands, b->close[i]); return s->u.bbands.out; }
RING(donchian) { return qt_ind_donchian_ring_len(n1); }
START(donchian) { return qt_ind_donchian_init(&s->u.donchian, n1, ring, err); }
STEP(donchian) { qt_ind_donchian_update(&s->u.donchian, b->high[i], b->low[i]); return s->u.donchian.out; }
RING(runsd) { return qt_ind_runsd_ring_len(n1); }
START(runsd) { return qt_ind_runsd_init(&s->u.runsd, n1, 1, ring, err); }
STEP(runsd) { qt_ind_runsd_update(&s->u.runsd, b->close[i]); return s->u.runsd.out; }
RING(runsd_pop) { return qt_ind_runsd_ring_len(n1); }
START(runsd_pop) { return qt_ind_runsd_init(&s->u.runsd, n1, 0, ring, err); }
STEP(runsd_pop) { qt_ind_runsd_update(&s->u.runsd, b->close[i]); return s->u.runsd.out; }
RING(macd) { return 0; }
START(macd) { return qt_ind_macd_init(&s->u.macd, n1, n2, n3, err); }
STEP(macd) { qt_ind_macd_update(&s->u.macd, b->close[i]); return s->u.macd.out; }
RING(vwap) { return qt_ind_vwap_ring_len(n1); }
START(vwap) { return qt_ind_vwap_init(&s->u.vwap, n1, ring, err); }
STEP(vwap) {
  qt_ind_vwap_update(&s->u.vwap, b->high[i], b->low[i], b->close[i], b->volume[i]);
  return s->u.vwap.out;
}
#undef RING
#undef START
#undef STEP

static const struct kind_row {
  const char *name;
  int n_out, cols;
  int (*lookback)(int n1, int n2, int n3, qt_err *err);
  int (*compute)(const qt_bars *b, size_t n, int n1, int n2, int n3, double *const *o, qt_err *err);
  size_t (*ring)(int n1, int n2, int n3);
  int (*start)(qt_ind_kind_state *s, int n1, int n2, int n3, double *ring, qt_err *err);
  const double *(*step)(qt_ind_kind_state *s, const qt_bars *b, size_t i);
} kinds[QT_IND_KIND_COUNT] = {
#define ROW(K, name, n_out, cols) \
  [QT_IND_##K] = {#name, n_out, COLS_##cols, lookback_##name, compute_##name, ring_##name, start_##name, step_##name},
    QT_IND_KIND_LIST(ROW)
#undef ROW
};

int qt_ind_n_outputs(int kind) {
  return kind >= 0 && kind < QT_IND_KIND_COUNT ? kinds[kind].n_out : 0;
}

/* Validates the lengths a kind uses and gives its lookback (negative status
 * on bad args); the message names kind and argument. */
static int check_args(int kind, int n1, int n2, int n3, qt_err *err) {
  if (kind < 0 || kind >= QT_IND_KIND_COUNT)
    return qt_err_set(err, QT_EINVAL, "indicator kind %d: unknown (0..%d)", kind, QT_IND_KIND_COUNT - 1);
  const char *k = kinds[kind].name;
  if (n1 < 1) return qt_err_set(err, QT_EINVAL, "indicator %s: length n1 must be >= 1 (got %d)", k, n1);
  return kinds[kind].lookback(n1, n2, n3, err);
}

int qt_ind_lookback(int kind, int n1, int n2, int n3) {
  int lb = check_args(kind, n1, n2, n3, NULL);
  return lb < 0 ? -1 : lb;
}

static int check_cols(const qt_bars *b, int kind, qt_err *err) {
  static const struct { int bit; const char *name; } cols[] = {{1, "close"}, {2, "high"}, {4, "low"}, {8, "volume"}};
  int need = kinds[kind].cols;
  const double *p[4] = {b->close, b->high, b->low, b->volume};
  for (int i = 0; i < 4; i++)
    if ((need & cols[i].bit) && !p[i] && b->n > 0)
      return qt_err_set(err, QT_EINVAL, "indicator %s: bars have no '%s' column", kinds[kind].name, cols[i].name);
  return QT_OK;
}

int qt_ind_compute(const qt_bars *b, int kind, int n1, int n2, int n3, double *const *outs,
                   qt_err *err) {
  int rc = check_args(kind, n1, n2, n3, err);
  if (rc < 0) return rc;
  const char *k = kinds[kind].name;
  if (!b || !outs) return qt_err_set(err, QT_EINVAL, "indicator %s: bars or outputs are NULL", k);
  for (int i = 0; i < kinds[kind].n_out; i++)
    if (!outs[i] && b->n > 0)
      return qt_err_set(err, QT_EINVAL, "indicator %s: output %d is NULL", k, i);
  if ((rc = check_cols(b, kind, err))) return rc;
  return kinds[kind].compute(b, b->n, n1, n2, n3, outs, err);
}

size_t qt_ind_kind_ring_len(int kind, int n1, int n2, int n3) {
  if (check_args(kind, n1, n2, n3, NULL) < 0) return 0;
  return kinds[kind].ring(n1, n2, n3);
}

int qt_ind_kind_init(qt_ind_kind_state *s, int kind, int n1, int n2, int n3, double *ring,
                     qt_err *err) {
  int rc = check_args(kind, n1, n2, n3, err);
  if (rc < 0) return rc;
  if (!s) return qt_err_set(err, QT_EINVAL, "indicator %s: state is NULL", kinds[kind].name);
  double one = 0; /* the recursive kinds' inits want no ring; the windowed ones check it */
  if (!ring && kinds[kind].ring(n1, n2, n3) == 0) ring = &one;
  memset(s, 0, sizeof *s);
  s->kind = kind;
  return kinds[kind].start(s, n1, n2, n3, ring, err);
}

void qt_ind_kind_update(qt_ind_kind_state *s, const qt_bars *b, size_t i, double *const *outs) {
  const struct kind_row *k = &kinds[s->kind];
  const double *o = k->step(s, b, i);
  for (int j = 0; j < k->n_out; j++) outs[j][i] = o[j];
}
