/* qtune indicators: technical indicators in batch form (caller-allocated
 * output over a whole column) and streaming form (O(1) update per bar), with
 * TTR's seeding and warm-up conventions, and a per-worker cache of batch
 * columns keyed by (series, kind, lengths).  No orders, no engine here. */
#ifndef QTUNE_QTUNE_INDICATORS_H
#define QTUNE_QTUNE_INDICATORS_H

#include "qtune/core.h"
#include "qtune/data.h"

/* Kinds known to the cache (qt_ctx_indicator): one row per kind generates
 * the enum, the names, the output counts, the columns checked, the lookback
 * and the dispatch of qt_ind_compute (src/indicators/compute.c), so a new
 * kind is one row here plus its two functions there.
 * X(ENUM, name, n_outputs, columns read: C close, HL high+low, HLC, HLCV +volume)
 * Outputs by `out` are in the comment of each row. */
#define QT_IND_KIND_LIST(X)                                                         \
  X(SMA,       sma,       1, C)    /* 0 = value (on close) */                        \
  X(EMA,       ema,       1, C)    /* 0 = value */                                   \
  X(WILDER,    wilder,    1, C)    /* 0 = value */                                   \
  X(RSI,       rsi,       1, C)    /* 0 = value */                                   \
  X(ATR,       atr,       2, HLC)  /* 0 = atr, 1 = tr */                             \
  X(ADX,       adx,       4, HLC)  /* 0 = adx, 1 = +DI, 2 = -DI, 3 = DX */           \
  X(BBANDS,    bbands,    4, C)    /* (n, sd*1000 in n2) 0 lower 1 mid 2 upper 3 pctB */ \
  X(DONCHIAN,  donchian,  3, HL)   /* 0 = high, 1 = mid, 2 = low */                  \
  X(RUNSD,     runsd,     1, C)    /* 0 = sample SD */                               \
  X(RUNSD_POP, runsd_pop, 1, C)    /* 0 = population SD */                           \
  X(MACD,      macd,      3, C)    /* (n1 fast, n2 slow, n3 signal) 0 macd 1 signal 2 hist */ \
  X(VWAP,      vwap,      1, HLCV) /* (rolling over n bars of typical price * volume) 0 = vwap */

typedef enum qt_ind_kind {
#define QT_IND_KIND_ENUM_ROW(K, name, n_out, cols) QT_IND_##K,
  QT_IND_KIND_LIST(QT_IND_KIND_ENUM_ROW)
#undef QT_IND_KIND_ENUM_ROW
  QT_IND_KIND_COUNT
} qt_ind_kind;

/* Number of output columns of a kind (see the table above); 0 if unknown. */
QT_API int qt_ind_n_outputs(int kind);
/* Computes every output column of (kind, n1, n2, n3) over all b->n bars into
 * outs[k][0..b->n) (caller-allocated, one per output).  Warm-up rows are NaN.
 * QT_EINVAL for an unknown kind or a length < 1 (message names both); also
 * for RUNSD with n1 < 2, BBANDS with n2 < 1, MACD with n2 or n3 < 1, NULL
 * b/outs, or a column the kind reads (close; high/low for ATR, ADX,
 * DONCHIAN; volume for VWAP) missing.  No allocation. */
QT_API int qt_ind_compute(const qt_bars *b, int kind, int n1, int n2, int n3, double *const *outs,
                          qt_err *err);

/* Lookback of a kind: the number of leading NaN rows after which every
 * output column is valid (ADX: 2n-1, MACD: slow+signal-2); -1 on bad args. */
QT_API int qt_ind_lookback(int kind, int n1, int n2, int n3);

/* ======================================================================
 * Batch form (Tulip-style).  Every function reads len input values and writes
 * len outputs into caller-allocated arrays aligned with the input (out[t]
 * uses inputs <= t); the first lookback rows are NaN.  Inputs are expected
 * finite (a NaN in the input poisons what depends on it).  Output pointers
 * documented as optional may be NULL.  Returns QT_OK, or QT_EINVAL (message
 * names the indicator and the argument) for a length < 1 or a NULL array.
 * No allocation.  Numbers follow R's TTR package (docs/indicators.md); the
 * only departures are where TTR would give NaN/Inf by 0/0 in the middle of a
 * series (flat prices): see the per-indicator notes.
 * ====================================================================== */

/* Typical price (h + l + c) / 3, no warm-up. */
QT_API int qt_ind_typprice(const double *h, const double *l, const double *c, size_t len,
                           double *out, qt_err *err);

/* SMA: mean of the last n values.  lookback n-1. */
QT_API int qt_ind_sma_lookback(int n);
QT_API int qt_ind_sma(const double *x, size_t len, int n, double *out, qt_err *err);
/* EMA, a = 2/(n+1); seeded with the SMA of the first n values at index
 * n-1.  Leading NaNs of x are skipped (the seed starts at the first value).
 * lookback n-1 (plus leading NaNs). */
QT_API int qt_ind_ema_lookback(int n);
QT_API int qt_ind_ema(const double *x, size_t len, int n, double *out, qt_err *err);
/* Wilder smoothing: the EMA with a = 1/n (TTR's EMA(wilder=TRUE)). */
QT_API int qt_ind_wilder_lookback(int n);
QT_API int qt_ind_wilder(const double *x, size_t len, int n, double *out, qt_err *err);
/* WMA with weights 1..n (newest n).  lookback n-1. */
QT_API int qt_ind_wma_lookback(int n);
QT_API int qt_ind_wma(const double *x, size_t len, int n, double *out, qt_err *err);
/* Wilder's RSI in [0, 100]: averages of ups and downs seeded with their mean
 * over changes 1..n at index n.  lookback n.  When both averages are 0
 * (no movement) RSI is 50 (TTR: NaN). */
QT_API int qt_ind_rsi_lookback(int n);
QT_API int qt_ind_rsi(const double *x, size_t len, int n, double *out, qt_err *err);
/* ATR: tr = max(h, prev c) - min(l, prev c) (NaN at 0), atr = Wilder
 * smoothing of tr seeded with mean(tr[1..n]) at index n.  lookback n (atr),
 * 1 (tr, true_high, true_low).  out_tr, out_th, out_tl are optional. */
QT_API int qt_ind_atr_lookback(int n);
QT_API int qt_ind_atr(const double *h, const double *l, const double *c, size_t len, int n,
                      double *out_atr, double *out_tr, double *out_th, double *out_tl,
                      qt_err *err);
/* ADX with +DI, -DI and DX using TTR's wilderSum (see docs/indicators.md).
 * lookback 2n-1 (adx), n (dip, din, dx).  DIs are 0 when the summed true
 * range is 0 and DX is 0 when both DIs are 0 (TTR: NaN).  All but out_adx
 * are optional. */
QT_API int qt_ind_adx_lookback(int n);
QT_API int qt_ind_adx(const double *h, const double *l, const double *c, size_t len, int n,
                      double *out_adx, double *out_dip, double *out_din, double *out_dx,
                      qt_err *err);
/* Bollinger bands of price x (close, or qt_ind_typprice) with k population
 * SDs: mid = SMA, up/dn = mid +- k*sd, pctb = (x - dn)/(up - dn), 0.5 when
 * up == dn (TTR: NaN).  lookback n-1.  pctb is optional. */
QT_API int qt_ind_bbands_lookback(int n);
QT_API int qt_ind_bbands(const double *x, size_t len, int n, double k, double *out_dn,
                         double *out_mid, double *out_up, double *out_pctb, qt_err *err);
/* Donchian channel over the last n bars including the current one:
 * high = max h, low = min l, mid = (high + low)/2.  lookback n-1.  mid is
 * optional. */
QT_API int qt_ind_donchian_lookback(int n);
QT_API int qt_ind_donchian(const double *h, const double *l, size_t len, int n,
                           double *out_high, double *out_mid, double *out_low, qt_err *err);
/* Rolling SD of the last n values; sample = 1 divides by n-1 (needs n >= 2),
 * 0 by n.  lookback n-1. */
QT_API int qt_ind_runsd_lookback(int n);
QT_API int qt_ind_runsd(const double *x, size_t len, int n, int sample, double *out,
                        qt_err *err);
/* MACD: macd = EMA(fast) - EMA(slow), signal = EMA(macd, sig) seeded over
 * the first sig macd values, hist = macd - signal.  lookback max(fast,slow)-1
 * (macd), max(fast,slow)+sig-2 (signal, hist).  signal and hist optional. */
QT_API int qt_ind_macd_lookback(int fast, int slow, int sig);
QT_API int qt_ind_macd(const double *x, size_t len, int fast, int slow, int sig,
                       double *out_macd, double *out_signal, double *out_hist, qt_err *err);
/* Rolling VWAP over the last n bars: sum(tp*v)/sum(v), tp the typical price.
 * NaN while the window's volume is 0.  lookback n-1. */
QT_API int qt_ind_vwap_lookback(int n);
QT_API int qt_ind_vwap(const double *h, const double *l, const double *c, const double *v,
                       size_t len, int n, double *out, qt_err *err);
/* Session-anchored VWAP: cumulative tp*v / v since the start of the bar's
 * session, sessions being [k*session_ms + offset_ms, (k+1)*session_ms +
 * offset_ms) in UTC ms (e.g. 86400000, 0 for UTC days).  NaN while the
 * session has no volume yet.  No warm-up.  QT_EINVAL for session_ms < 1. */
QT_API int qt_ind_vwap_session(const int64_t *ts_ms, const double *h, const double *l,
                               const double *c, const double *v, size_t len, int64_t session_ms,
                               int64_t offset_ms, double *out, qt_err *err);
/* CCI = (tp - SMA(tp)) / (0.015 * mean |tp_i - SMA(tp)| over the window);
 * 0 when that mean deviation is 0 (TTR: NaN).  lookback n-1. */
QT_API int qt_ind_cci_lookback(int n);
QT_API int qt_ind_cci(const double *h, const double *l, const double *c, size_t len, int n,
                      double *out, qt_err *err);
/* ROC over n bars: x[t]/x[t-n] - 1, or log(x[t]/x[t-n]) when continuous;
 * NaN when x[t-n] == 0 or the ratio is not positive for log.  lookback n. */
QT_API int qt_ind_roc_lookback(int n);
QT_API int qt_ind_roc(const double *x, size_t len, int n, int continuous, double *out,
                      qt_err *err);

/* ======================================================================
 * Streaming form: a plain state struct in caller storage, an init that
 * validates, and an update that takes one bar in O(1) (CCI: O(n), its mean
 * deviation needs the window) and never allocates.  Indicators with a window
 * take a caller-provided ring of qt_ind_<x>_ring_len(n) doubles that must
 * outlive the state (embed a fixed array, or allocate once).  After each
 * update s->out[k] holds output k in the column order of the kind table at
 * the top (NaN during warm-up), and update returns out[0].  _run feeds a
 * chunk of len bars and writes the outputs (out[k] may be NULL to skip);
 * feeding a series in any chunking gives exactly the batch values.
 * ====================================================================== */

typedef struct qt_ind_sma_state {
  int n;
  size_t count, pos;
  double sum, *ring;
  double out[1];
} qt_ind_sma_state;
QT_API size_t qt_ind_sma_ring_len(int n);
QT_API int qt_ind_sma_init(qt_ind_sma_state *s, int n, double *ring, qt_err *err);
QT_API double qt_ind_sma_update(qt_ind_sma_state *s, double x);
QT_API void qt_ind_sma_run(qt_ind_sma_state *s, const double *x, size_t len, double *out);

/* EMA and Wilder smoothing share one state (wilder = 1: a = 1/n). */
typedef struct qt_ind_ema_state {
  int n;
  double a;
  size_t count; /* non-NaN values seen */
  double sum, ema;
  double out[1];
} qt_ind_ema_state;
QT_API int qt_ind_ema_init(qt_ind_ema_state *s, int n, int wilder, qt_err *err);
QT_API double qt_ind_ema_update(qt_ind_ema_state *s, double x);
QT_API void qt_ind_ema_run(qt_ind_ema_state *s, const double *x, size_t len, double *out);

typedef struct qt_ind_wma_state {
  int n;
  size_t count, pos;
  double sum, wsum, *ring;
  double out[1];
} qt_ind_wma_state;
QT_API size_t qt_ind_wma_ring_len(int n);
QT_API int qt_ind_wma_init(qt_ind_wma_state *s, int n, double *ring, qt_err *err);
QT_API double qt_ind_wma_update(qt_ind_wma_state *s, double x);
QT_API void qt_ind_wma_run(qt_ind_wma_state *s, const double *x, size_t len, double *out);

typedef struct qt_ind_rsi_state {
  int n;
  size_t count; /* values seen */
  double prev, sum_up, sum_dn, up, dn;
  double out[1];
} qt_ind_rsi_state;
QT_API int qt_ind_rsi_init(qt_ind_rsi_state *s, int n, qt_err *err);
QT_API double qt_ind_rsi_update(qt_ind_rsi_state *s, double x);
QT_API void qt_ind_rsi_run(qt_ind_rsi_state *s, const double *x, size_t len, double *out);

/* out: 0 atr, 1 tr, 2 true high, 3 true low. */
typedef struct qt_ind_atr_state {
  int n;
  size_t count;
  double prev_c, sum, atr;
  double out[4];
} qt_ind_atr_state;
QT_API int qt_ind_atr_init(qt_ind_atr_state *s, int n, qt_err *err);
QT_API double qt_ind_atr_update(qt_ind_atr_state *s, double h, double l, double c);
QT_API void qt_ind_atr_run(qt_ind_atr_state *s, const double *h, const double *l, const double *c,
                           size_t len, double *const *out);

/* out: 0 adx, 1 +DI, 2 -DI, 3 DX. */
typedef struct qt_ind_adx_state {
  int n;
  size_t count;
  double prev_h, prev_l, prev_c;
  double ws_tr, ws_p, ws_m; /* wilderSum accumulators (raw sums while seeding) */
  qt_ind_ema_state adx;
  double out[4];
} qt_ind_adx_state;
QT_API int qt_ind_adx_init(qt_ind_adx_state *s, int n, qt_err *err);
QT_API double qt_ind_adx_update(qt_ind_adx_state *s, double h, double l, double c);
QT_API void qt_ind_adx_run(qt_ind_adx_state *s, const double *h, const double *l, const double *c,
                           size_t len, double *const *out);

/* Rolling mean and SD: sums of x - k and (x - k)^2 around a shift k that is
 * reset to the window mean every n bars (with an exact recomputation). */
typedef struct qt_ind_runsd_state {
  int n, sample;
  size_t count, pos;
  double sum, k, s1, s2, *ring;
  double out[1];
} qt_ind_runsd_state;
QT_API size_t qt_ind_runsd_ring_len(int n);
QT_API int qt_ind_runsd_init(qt_ind_runsd_state *s, int n, int sample, double *ring, qt_err *err);
QT_API double qt_ind_runsd_update(qt_ind_runsd_state *s, double x);
QT_API void qt_ind_runsd_run(qt_ind_runsd_state *s, const double *x, size_t len, double *out);

/* out: 0 dn, 1 mid, 2 up, 3 pctB.  Feed close or the typical price. */
typedef struct qt_ind_bbands_state {
  qt_ind_runsd_state sd;
  double k;
  double out[4];
} qt_ind_bbands_state;
QT_API size_t qt_ind_bbands_ring_len(int n);
QT_API int qt_ind_bbands_init(qt_ind_bbands_state *s, int n, double k, double *ring, qt_err *err);
QT_API double qt_ind_bbands_update(qt_ind_bbands_state *s, double x);
QT_API void qt_ind_bbands_run(qt_ind_bbands_state *s, const double *x, size_t len,
                              double *const *out);

/* out: 0 high, 1 mid, 2 low.  Monotonic deques: amortized O(1). */
typedef struct qt_ind_donchian_state {
  int n;
  size_t count;
  size_t hi_head, hi_len, lo_head, lo_len;
  double *ring; /* 4n: max deque (value, index) pairs, then min deque */
  double out[3];
} qt_ind_donchian_state;
QT_API size_t qt_ind_donchian_ring_len(int n);
QT_API int qt_ind_donchian_init(qt_ind_donchian_state *s, int n, double *ring, qt_err *err);
QT_API double qt_ind_donchian_update(qt_ind_donchian_state *s, double h, double l);
QT_API void qt_ind_donchian_run(qt_ind_donchian_state *s, const double *h, const double *l,
                                size_t len, double *const *out);

/* out: 0 macd, 1 signal, 2 histogram. */
typedef struct qt_ind_macd_state {
  qt_ind_ema_state fast, slow, sig;
  double out[3];
} qt_ind_macd_state;
QT_API int qt_ind_macd_init(qt_ind_macd_state *s, int fast, int slow, int sig, qt_err *err);
QT_API double qt_ind_macd_update(qt_ind_macd_state *s, double x);
QT_API void qt_ind_macd_run(qt_ind_macd_state *s, const double *x, size_t len,
                            double *const *out);

typedef struct qt_ind_vwap_state {
  int n;
  size_t count, pos, nz; /* nz: bars with volume in the window */
  double pv, v, *ring; /* 2n: tp*v, v */
  double out[1];
} qt_ind_vwap_state;
QT_API size_t qt_ind_vwap_ring_len(int n);
QT_API int qt_ind_vwap_init(qt_ind_vwap_state *s, int n, double *ring, qt_err *err);
QT_API double qt_ind_vwap_update(qt_ind_vwap_state *s, double h, double l, double c, double v);
QT_API void qt_ind_vwap_run(qt_ind_vwap_state *s, const double *h, const double *l,
                            const double *c, const double *v, size_t len, double *out);

typedef struct qt_ind_vwap_session_state {
  int64_t session_ms, offset_ms, session; /* session: index of the current one */
  int started;
  double pv, v;
  double out[1];
} qt_ind_vwap_session_state;
QT_API int qt_ind_vwap_session_init(qt_ind_vwap_session_state *s, int64_t session_ms,
                                    int64_t offset_ms, qt_err *err);
QT_API double qt_ind_vwap_session_update(qt_ind_vwap_session_state *s, int64_t ts_ms, double h,
                                         double l, double c, double v);

typedef struct qt_ind_cci_state {
  int n;
  size_t count, pos;
  double sum, *ring;
  double out[1];
} qt_ind_cci_state;
QT_API size_t qt_ind_cci_ring_len(int n);
QT_API int qt_ind_cci_init(qt_ind_cci_state *s, int n, double *ring, qt_err *err);
QT_API double qt_ind_cci_update(qt_ind_cci_state *s, double h, double l, double c);
QT_API void qt_ind_cci_run(qt_ind_cci_state *s, const double *h, const double *l, const double *c,
                           size_t len, double *out);

typedef struct qt_ind_roc_state {
  int n, continuous;
  size_t count, pos;
  double *ring;
  double out[1];
} qt_ind_roc_state;
QT_API size_t qt_ind_roc_ring_len(int n);
QT_API int qt_ind_roc_init(qt_ind_roc_state *s, int n, int continuous, double *ring, qt_err *err);
QT_API double qt_ind_roc_update(qt_ind_roc_state *s, double x);
QT_API void qt_ind_roc_run(qt_ind_roc_state *s, const double *x, size_t len, double *out);

/* ======================================================================
 * The kinds of the cache, streaming.
 * ====================================================================== */

/* The streaming form of a cache kind, for a series that grows (the paper
 * runner's stream): the state of any row of QT_IND_KIND_LIST, in caller
 * storage, with a ring of qt_ind_kind_ring_len() doubles that must outlive
 * it.  Fed the bars 0, 1, 2, ... of a series one at a time, it writes the
 * values qt_ind_compute gives for those rows, bit for bit (the batch
 * functions run the same steps in the same order). */
typedef struct qt_ind_kind_state {
  int kind;
  union {
    qt_ind_sma_state sma;
    qt_ind_ema_state ema;
    qt_ind_rsi_state rsi;
    qt_ind_atr_state atr;
    qt_ind_adx_state adx;
    qt_ind_bbands_state bbands;
    qt_ind_donchian_state donchian;
    qt_ind_runsd_state runsd;
    qt_ind_macd_state macd;
    qt_ind_vwap_state vwap;
  } u;
} qt_ind_kind_state;
/* Doubles of ring the kind needs (0 for the recursive ones); 0 on bad args. */
QT_API size_t qt_ind_kind_ring_len(int kind, int n1, int n2, int n3);
/* Starts *s for (kind, n1, n2, n3) with the checks of qt_ind_compute
 * (QT_EINVAL, the message names kind and argument); ring may be NULL when
 * the ring length is 0. */
QT_API int qt_ind_kind_init(qt_ind_kind_state *s, int kind, int n1, int n2, int n3, double *ring,
                            qt_err *err);
/* Feeds bar i of b (the next one after those fed before) and writes every
 * output k to outs[k][i].  The columns the kind reads must be present (as
 * for qt_ind_compute).  O(1) amortized, no allocation. */
QT_API void qt_ind_kind_update(qt_ind_kind_state *s, const qt_bars *b, size_t i,
                               double *const *outs);

#endif
