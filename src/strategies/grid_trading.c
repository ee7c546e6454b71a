/* grid_trading: a signal strategy of the auto-tuner design.  When the last
 * 24 hours spanned a wide enough range, buy near its low (sell near its
 * high) and target the other side of the range; every signal expires.
 * Rules: docs/strategies/grid_trading.md. */
#include "qtune/indicators.h"
#include "qtune/strategy.h"

#include <math.h>

#define GT_DAY_MS 86400000LL
#define GT_DEFAULT_INTERVAL_MS 60000LL
#define GT_EQUITY_FRACTION 0.95
enum { GT_TAG_ENTRY = 1, GT_TAG_TP = 2 };
enum { P_MIN_RANGE, P_ENTRY_THR, P_EXPIRY_H, P_COUNT };

static const qt_param_spec k_params[P_COUNT] = {
  {"min_range_pct", QT_PARAM_FLOAT, 1.5, 8.0, 0, 0, 3.0, NULL, 0,
   "24-hour high-low range needed, % of the close"},
  {"entry_threshold_pct", QT_PARAM_FLOAT, 10, 40, 0, 0, 20, NULL, 0,
   "entry zone: within this % of the range from its low (buy) or high (sell)"},
  {"expiry_hours", QT_PARAM_INT, 4, 48, 1, 0, 12, NULL, 0, "signal lifetime, hours"},
};

typedef struct gt_state {
  double min_range, thr;
  int64_t expiry_ms;
  int n_day;
  const double *hi, *lo; /* Donchian(n_day) high and low, current bar included */
  double target;         /* take-profit price of the signal in flight */
  int dir;               /* +1 long, -1 short, 0 none */
  int has_orders;        /* a take-profit may rest: cancel it once flat */
} gt_state;

/* Bars per 24 h at the default 1-minute interval; init uses the real one. */
static int gt_lookback(const double *p) { return (int)(GT_DAY_MS / GT_DEFAULT_INTERVAL_MS) - 1; }

static int gt_init(void *stv, const double *p, qt_ctx *cx, qt_err *err) {
  gt_state *st = stv;
  st->min_range = p[P_MIN_RANGE] / 100.0;
  st->thr = p[P_ENTRY_THR] / 100.0;
  st->expiry_ms = (int64_t)p[P_EXPIRY_H] * 3600000LL;
  size_t n = 0;
  const qt_bars *b = qt_ctx_bars(cx, 0, &n);
  int64_t iv = b && b->interval_ms > 0 ? b->interval_ms : GT_DEFAULT_INTERVAL_MS;
  int64_t nd = GT_DAY_MS / iv;
  st->n_day = nd < 1 ? 1 : (int)nd;
  st->hi = qt_ctx_indicator(cx, 0, QT_IND_DONCHIAN, st->n_day, 0, 0, 0, err);
  if (!st->hi) return err ? err->code : QT_EINVAL;
  st->lo = qt_ctx_indicator(cx, 0, QT_IND_DONCHIAN, st->n_day, 0, 0, 2, err);
  if (!st->lo) return err ? err->code : QT_EINVAL;
  return QT_OK;
}

static void gt_on_bar(void *stv, const qt_bar *b, qt_ctx *cx) {
  gt_state *st = stv;
  if (qt_ctx_position(cx, 0, QT_LEG_NET) != 0) return; /* take-profit or expiry will close it */
  if (st->has_orders) { /* flat again: drop a take-profit left by an expiry */
    qt_ctx_cancel_all(cx, 0);
    st->has_orders = 0;
  }
  double h = st->hi[b->i], l = st->lo[b->i], c = b->close;
  if (isnan(h) || isnan(l) || !(c > 0)) return;
  double range = h - l;
  if (range < st->min_range * c) return;
  int dir = c <= l + st->thr * range ? 1 : c >= h - st->thr * range ? -1 : 0;
  if (!dir) return;
  double qty = qt_ctx_qty_for_equity(cx, 0, GT_EQUITY_FRACTION, c);
  if (!(qty > 0)) return;
  st->dir = dir;
  st->target = dir > 0 ? h : l;
  qt_ctx_signal(cx, 0, QT_LEG_NET, dir, qt_ctx_now(cx) + st->expiry_ms);
  qt_order_req o = {0, dir > 0 ? QT_BUY : QT_SELL, QT_ORDER_MARKET, QT_LEG_NET, qty, 0, 0, 0,
                    QT_EXIT_SIGNAL, GT_TAG_ENTRY};
  qt_ctx_submit(cx, &o);
}

static void gt_on_fill(void *stv, const qt_fill *f, qt_ctx *cx) {
  gt_state *st = stv;
  if (f->tag != GT_TAG_ENTRY || !st->dir) return;
  qt_order_req tp = {f->inst, st->dir > 0 ? QT_SELL : QT_BUY, QT_ORDER_LIMIT, QT_LEG_NET, f->qty,
                     st->target, QT_ORDER_REDUCE_ONLY, 0, QT_EXIT_TAKE_PROFIT, GT_TAG_TP};
  if (qt_ctx_submit(cx, &tp) > 0) st->has_orders = 1;
}

const qt_strategy_vtbl qt_strategy_grid_trading = {
  QT_STRATEGY_ABI,
  "grid_trading",
  "range signal: buy near the 24 h low, sell near the 24 h high, target the other side; expires",
  k_params,
  P_COUNT,
  sizeof(gt_state),
  0,
  1,
  gt_lookback,
  gt_init,
  gt_on_bar,
  gt_on_fill,
  NULL,
  NULL,
  NULL, /* quiet_until */
};
