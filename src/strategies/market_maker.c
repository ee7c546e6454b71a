/* market_maker: post-only two-sided quotes with inventory skew, an
 * adverse-selection EMA of book imbalance and taker liquidation above an
 * urgency threshold (docs/strategies/market_maker.md is the spec). */
#include "qtune/strategies.h"

#include <math.h>
#include <string.h>

enum {
  P_SKEW, P_AS_ADJ, P_AS_LAMBDA, P_URGENCY, P_LIQ_RATE, P_MIN_RATIO, P_AS_SCALE, P_BASE_BPS,
  P_ORDER_QTY, P_MAX_INV, P_COUNT
};

static const qt_param_spec k_params[P_COUNT] = {
    {"skew_adjustment_factor", QT_PARAM_FLOAT, 0, 2, 0, 0, 0.5, NULL, 0,
     "inventory skew in half-spreads per unit of inventory ratio"},
    {"adverse_selection_adjustment_factor", QT_PARAM_FLOAT, 0, 2, 0, 0, 0.5, NULL, 0,
     "weight of the adverse-selection widening"},
    {"adverse_selection_lambda", QT_PARAM_FLOAT, 0, 1, 0, 0, 0.1, NULL, 0,
     "EMA weight of the newest book imbalance"},
    {"inventory_urgency_threshold", QT_PARAM_FLOAT, 0, 1, 0, 0, 0.7, NULL, 0,
     "inventory ratio above which it is reduced at market"},
    {"liquidation_rate_multiplier", QT_PARAM_FLOAT, 0, 100, 0, 0, 10, NULL, 0,
     "% of max inventory per second per unit of excess urgency"},
    {"min_spread_base_ratio", QT_PARAM_FLOAT, 0, 1, 0, 0, 0.2, NULL, 0,
     "floor of each side's distance as a fraction of the base half-spread"},
    {"adverse_selection_spread_scale", QT_PARAM_FLOAT, 1, 1000, 0, 0, 100, NULL, 0,
     "bps of widening per unit of adverse-selection estimate"},
    {"base_spread_bps", QT_PARAM_FLOAT, 1, 200, 0, 0, 20, NULL, 0, "quoted spread (bps)"},
    {"order_qty", QT_PARAM_FLOAT, 0.001, 0.5, 0, 0, 0.02, NULL, 0,
     "quote size as a fraction of equity (notional at mid)"},
    {"max_inventory", QT_PARAM_FLOAT, 0.01, 1, 0, 0, 0.25, NULL, 0,
     "inventory limit as a fraction of equity (notional at mid)"},
};

typedef struct mm_state {
  double p[P_COUNT];
  double as;          /* adverse-selection estimate, EMA of imbalance in [-1, 1] */
  int64_t bid_id, ask_id;
  int64_t prev_ts;
} mm_state;

static int mm_lookback(const double *p) {
  (void)p;
  return 1;
}

static int mm_init(void *vst, const double *p, qt_ctx *cx, qt_err *err) {
  (void)cx;
  mm_state *st = vst;
  if (!(p[P_AS_SCALE] > 0))
    return qt_err_set(err, QT_EINVAL, "market_maker: adverse_selection_spread_scale must be > 0");
  memcpy(st->p, p, sizeof st->p);
  return QT_OK;
}

static void mm_on_bar(void *vst, const qt_bar *b, qt_ctx *cx) {
  mm_state *st = vst;
  const double *p = st->p;
  double mid = b->close, imb = 0;
  size_t nq = 0;
  const qt_quotes *q = qt_ctx_quotes(cx, 0, &nq);
  /* The quotes visible now are those up to the bar's open; the close is
   * fresher, so it is the mid, and the book only gives the imbalance. */
  if (q && nq > 0 && q->bid[nq - 1] > 0 && q->ask[nq - 1] > 0) {
    size_t k = nq - 1;
    double depth = q->bid_qty[k] + q->ask_qty[k];
    imb = depth > 0 ? (q->bid_qty[k] - q->ask_qty[k]) / depth : 0;
  } else if (b->volume > 0) {
    imb = 2.0 * b->taker_buy_base / b->volume - 1.0;
  }
  if (!isfinite(imb)) imb = 0;
  if (imb > 1) imb = 1;
  if (imb < -1) imb = -1;
  st->as += p[P_AS_LAMBDA] * (imb - st->as);

  size_t nb = 0;
  const qt_bars *bars = qt_ctx_bars(cx, 0, &nb);
  double bar_s = bars && bars->interval_ms > 0 ? (double)bars->interval_ms / 1000.0
                 : st->prev_ts ? (double)(b->ts_ms - st->prev_ts) / 1000.0 : 60.0;
  st->prev_ts = b->ts_ms;
  if (b->i < 1 || !(mid > 0)) return;

  double eq = qt_ctx_equity(cx);
  if (!(eq > 0)) return;
  double pos = qt_ctx_position(cx, 0, QT_LEG_NET);
  double max_qty = p[P_MAX_INV] * eq / mid; /* inventory limit in base units */
  double qr = pos / max_qty;                 /* inventory ratio, 1 = at the limit */

  double h = p[P_BASE_BPS] / 2.0;
  double hb = h, ha = h;
  double widen = p[P_AS_ADJ] * fabs(st->as) * p[P_AS_SCALE];
  if (st->as > 0) ha += widen;
  else hb += widen;
  double skew = p[P_SKEW] * qr * h;
  hb += skew;
  ha -= skew;
  double floor_bps = p[P_MIN_RATIO] * h;
  if (hb < floor_bps) hb = floor_bps;
  if (ha < floor_bps) ha = floor_bps;
  double bid = mid * (1.0 - hb / 1e4), ask = mid * (1.0 + ha / 1e4);

  double size = p[P_ORDER_QTY] * eq / mid;
  double bid_qty = fmin(size, max_qty - pos);  /* a fill may not pass +limit */
  double ask_qty = fmin(size, max_qty + pos);  /* nor -limit */

  if (st->bid_id > 0) qt_ctx_cancel(cx, st->bid_id);
  if (st->ask_id > 0) qt_ctx_cancel(cx, st->ask_id);
  st->bid_id = st->ask_id = 0;
  if (bid_qty > 0 && bid > 0)
    st->bid_id = qt_ctx_limit(cx, 0, QT_BUY, QT_LEG_NET, bid_qty, bid, QT_ORDER_POST_ONLY, 1);
  if (ask_qty > 0)
    st->ask_id = qt_ctx_limit(cx, 0, QT_SELL, QT_LEG_NET, ask_qty, ask, QT_ORDER_POST_ONLY, 2);

  double urg = fabs(qr), liq = 0;
  if (urg > p[P_URGENCY] && pos != 0) {
    liq = (urg - p[P_URGENCY]) * p[P_LIQ_RATE] / 100.0 * max_qty * bar_s;
    if (liq > fabs(pos)) liq = fabs(pos);
    qt_order_req o = {.inst = 0, .side = pos > 0 ? QT_SELL : QT_BUY, .type = QT_ORDER_MARKET,
                      .leg = QT_LEG_NET, .qty = liq, .flags = QT_ORDER_REDUCE_ONLY,
                      .reason = QT_EXIT_SIGNAL, .tag = 3};
    qt_ctx_submit(cx, &o);
  }
  if (qt_log_enabled(QT_LOG_DEBUG))
    qt_log(QT_LOG_DEBUG,
           "market_maker ts=%lld state mid=%.8g q=%.6f imb=%.6f as=%.6f control bid=%.8g "
           "ask=%.8g bid_qty=%.8g ask_qty=%.8g liq=%.8g",
           (long long)b->ts_ms, mid, qr, imb, st->as, bid, ask, bid_qty, ask_qty, liq);
}

const qt_strategy_vtbl qt_strategy_market_maker = {
    .abi = QT_STRATEGY_ABI,
    .name = "market_maker",
    .summary = "post-only two-sided quotes with inventory skew and adverse-selection widening",
    .params = k_params,
    .n_params = P_COUNT,
    .state_size = sizeof(mm_state),
    .needs = 0,
    .n_instruments = 1,
    .lookback = mm_lookback,
    .init = mm_init,
    .on_bar = mm_on_bar,
};
