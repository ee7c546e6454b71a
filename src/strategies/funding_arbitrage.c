/* funding_arbitrage: a signal strategy of the auto-tuner design.  When the
 * perpetual's latest funding rate is large enough and the market liquid
 * enough, take the perp side that receives funding and hedge it delta-neutral
 * with the other instrument (spot, or the second venue); hold until the rate
 * flips sign or the signal expires.  Rules: docs/strategies/funding_arbitrage.md. */
#include "qtune/strategy.h"

#include <math.h>

#define FA_DAY_MS 86400000LL
#define FA_DEFAULT_INTERVAL_MS 60000LL
#define FA_LEG_FRACTION 0.45 /* each leg's notional, of equity */
enum { P_MIN_RATE, P_MIN_VOLUME, P_EXPIRY_H, P_COUNT };

static const qt_param_spec k_params[P_COUNT] = {
  {"min_funding_rate", QT_PARAM_FLOAT, 0.00002, 0.0005, 0, 1, 0.0001, NULL, 0,
   "|funding rate| per settlement needed, a fraction (0.0001 = 0.01%)"},
  {"min_volume", QT_PARAM_FLOAT, 50000, 500000, 0, 1, 100000, NULL, 0,
   "24-hour quote volume of the perp needed, quote currency"},
  {"expiry_hours", QT_PARAM_INT, 4, 48, 1, 0, 24, NULL, 0, "signal lifetime, hours"},
};

typedef struct fa_state {
  double min_rate, min_volume;
  int64_t expiry_ms;
  size_t n_day;
  const qt_bars *perp;  /* instrument 0's columns */
  size_t next;          /* rolling 24 h quote volume over bars [next - n_day, next) */
  double qv_sum;
  int dir;              /* perp side held: +1 long, -1 short, 0 none */
  size_t entry_i;       /* bar of the entry orders */
  size_t block_rows;    /* no entry until the funding series has more rows than this */
} fa_state;

static int fa_lookback(const double *p) { return (int)(FA_DAY_MS / FA_DEFAULT_INTERVAL_MS) - 1; }

static int fa_init(void *stv, const double *p, qt_ctx *cx, qt_err *err) {
  fa_state *st = stv;
  st->min_rate = p[P_MIN_RATE];
  st->min_volume = p[P_MIN_VOLUME];
  st->expiry_ms = (int64_t)p[P_EXPIRY_H] * 3600000LL;
  size_t n = 0;
  const qt_bars *b = qt_ctx_bars(cx, 0, &n);
  int64_t iv = b && b->interval_ms > 0 ? b->interval_ms : FA_DEFAULT_INTERVAL_MS;
  int64_t nd = FA_DAY_MS / iv;
  st->n_day = nd < 1 ? 1 : (size_t)nd;
  return QT_OK;
}

/* Quote volume of bar i; volume x close when the data has no quote volume. */
static double fa_qv(const qt_bars *b, size_t i) {
  double q = b->quote_volume ? b->quote_volume[i] : 0.0;
  if (q > 0 || !b->volume) return q;
  return b->volume[i] * b->close[i];
}

static void fa_close_all(fa_state *st, qt_ctx *cx, int n_inst, size_t rows) {
  for (int k = 0; k < n_inst && k < 2; k++)
    if (qt_ctx_position(cx, k, QT_LEG_NET) != 0) qt_ctx_close(cx, k, QT_LEG_NET, QT_EXIT_SIGNAL);
  st->dir = 0;
  st->block_rows = rows;
}

static void fa_on_bar(void *stv, const qt_bar *b, qt_ctx *cx) {
  fa_state *st = stv;
  if (!st->perp) {
    size_t n = 0;
    st->perp = qt_ctx_bars(cx, 0, &n);
    if (!st->perp) return;
  }
  size_t i = b->i;
  for (; st->next <= i; st->next++) {
    st->qv_sum += fa_qv(st->perp, st->next);
    if (st->next >= st->n_day) st->qv_sum -= fa_qv(st->perp, st->next - st->n_day);
  }
  size_t rows = 0;
  const qt_funding *f = qt_ctx_funding(cx, 0, &rows);
  if (!f || rows == 0) return;
  double r = f->rate[rows - 1];
  int n_inst = qt_ctx_n_instruments(cx);
  if (st->dir) {
    if (i == st->entry_i) return; /* entry orders fill at the next bar */
    if (qt_ctx_position(cx, 0, QT_LEG_NET) == 0) { /* expired (or never filled) */
      fa_close_all(st, cx, n_inst, rows);
      return;
    }
    if (-st->dir * r <= 0) fa_close_all(st, cx, n_inst, rows); /* no longer received */
    return;
  }
  if (rows <= st->block_rows || i + 1 < st->n_day) return;
  if (fabs(r) < st->min_rate || st->qv_sum < st->min_volume) return;
  int dir = r > 0 ? -1 : 1; /* positive funding: shorts receive */
  double c0 = b->close;
  double qty = qt_ctx_qty_for_equity(cx, 0, FA_LEG_FRACTION, c0);
  int hedged = n_inst >= 2;
  if (hedged) { /* the same base quantity on both legs, on the coarser lot */
    size_t m = 0;
    const qt_bars *s = qt_ctx_bars(cx, 1, &m);
    if (!s || m == 0 || !(s->close[m - 1] > 0)) return;
    double q1 = qt_ctx_qty_for_equity(cx, 1, FA_LEG_FRACTION, s->close[m - 1]);
    if (q1 < qty) qty = q1;
    double lot = qt_ctx_lot_size(cx, 0), lot1 = qt_ctx_lot_size(cx, 1);
    if (lot1 > lot) lot = lot1;
    if (lot > 0) qty = floor(qty / lot + 1e-9) * lot;
  }
  if (!(qty > 0)) return;
  int64_t exp = qt_ctx_now(cx) + st->expiry_ms;
  qt_ctx_signal(cx, 0, QT_LEG_NET, dir, exp);
  qt_ctx_market(cx, 0, dir > 0 ? QT_BUY : QT_SELL, QT_LEG_NET, qty, QT_EXIT_SIGNAL);
  if (hedged) {
    qt_ctx_signal(cx, 1, QT_LEG_NET, -dir, exp);
    qt_ctx_market(cx, 1, dir > 0 ? QT_SELL : QT_BUY, QT_LEG_NET, qty, QT_EXIT_SIGNAL);
  }
  st->dir = dir;
  st->entry_i = i;
  st->block_rows = rows; /* one entry per settlement */
}

const qt_strategy_vtbl qt_strategy_funding_arbitrage = {
  QT_STRATEGY_ABI,
  "funding_arbitrage",
  "receive perp funding, hedged delta-neutral with instrument 1; hold until the rate flips or expiry",
  k_params,
  P_COUNT,
  sizeof(fa_state),
  QT_NEEDS_FUNDING | QT_NEEDS_SECOND,
  2,
  fa_lookback,
  fa_init,
  fa_on_bar,
  NULL,
  NULL,
  NULL,
  NULL, /* quiet_until */
};
