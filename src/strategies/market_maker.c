/* market_maker: post-only two-sided quotes as the live tuning guide defines
 * them: inventory skew, an adverse-selection estimate (an EMA of the book
 * imbalance around 0.5 times the market spread over a scale), a minimum
 * offset of a fraction of the base spread and taker liquidation above an
 * urgency threshold at (urgency - threshold) * multiplier units per second.
 * docs/strategies/market_maker.md is the spec. */
#include "qtune/strategies.h"

#include <math.h>
#include <string.h>

enum {
  P_SKEW, P_AS_ADJ, P_AS_LAMBDA, P_URGENCY, P_LIQ_RATE, P_MIN_RATIO, P_AS_SCALE, P_BASE_BPS,
  P_ORDER_QTY, P_MAX_INV, P_COUNT
};

/* The first seven are the guide's tuning parameters with its ranges and
 * defaults; the guide's (0, inf) of the spread scale is [0.001, 1e6] here
 * (an optimizer needs finite bounds; a log scale covers the decades). */
static const qt_param_spec k_params[P_COUNT] = {
    {"skew_adjustment_factor", QT_PARAM_FLOAT, 0, 2, 0, 0, 0.5, NULL, 0,
     "inventory skew in base half-spreads per unit of inventory ratio"},
    {"adverse_selection_adjustment_factor", QT_PARAM_FLOAT, 0, 2, 0, 0, 0.5, NULL, 0,
     "widening of the threatened side in base spreads per unit of the estimate"},
    {"adverse_selection_lambda", QT_PARAM_FLOAT, 0, 1, 0, 0, 0.1, NULL, 0,
     "EMA weight of the newest adverse-selection observation"},
    {"inventory_urgency_threshold", QT_PARAM_FLOAT, 0, 1, 0, 0, 0.7, NULL, 0,
     "inventory ratio above which taker orders reduce the position"},
    {"liquidation_rate_multiplier", QT_PARAM_FLOAT, 0, 100, 0, 0, 10, NULL, 0,
     "taker reduction in base units per second per unit of excess urgency"},
    {"min_spread_base_ratio", QT_PARAM_FLOAT, 0, 1, 0, 0, 0.2, NULL, 0,
     "minimum offset of each quote from mid, as a fraction of the base spread"},
    {"adverse_selection_spread_scale", QT_PARAM_FLOAT, 0.001, 1e6, 0, 1, 100, NULL, 0,
     "bps that divide the market spread in the adverse-selection observation"},
    {"base_spread_bps", QT_PARAM_FLOAT, 1, 200, 0, 0, 20, NULL, 0, "quoted spread (bps)"},
    {"order_qty", QT_PARAM_FLOAT, 0.001, 0.5, 0, 0, 0.02, NULL, 0,
     "quote size as a fraction of equity (notional at mid)"},
    {"max_inventory", QT_PARAM_FLOAT, 0.01, 1, 0, 0, 0.25, NULL, 0,
     "inventory limit as a fraction of equity (notional at mid)"},
};

typedef struct mm_state {
  double p[P_COUNT];
  double mu;          /* adverse-selection estimate: EMA of (2I - 1) * D / scale */
  int64_t bid_id, ask_id;
  int64_t prev_ts;
  int vec_level;      /* level of the StateVector/ControlVector lines */
} mm_state;

double qt_market_maker_as_observation(const double *p, double imbalance, double spread_bps) {
  return (2.0 * imbalance - 1.0) * spread_bps / p[P_AS_SCALE];
}

void qt_market_maker_quote(const double *p, double q_ratio, double mu, qt_mm_quote *out) {
  double base = p[P_BASE_BPS], h = base / 2.0;
  double hb = h, ha = h;
  double widen = p[P_AS_ADJ] * fabs(mu) * base;
  if (mu > 0) ha += widen; /* buy pressure: the ask is the side picked off */
  else hb += widen;
  double skew = p[P_SKEW] * q_ratio * h; /* long: tighten the ask, widen the bid */
  hb += skew;
  ha -= skew;
  double floor_bps = p[P_MIN_RATIO] * base;
  out->bid_bps = hb < floor_bps ? floor_bps : hb;
  out->ask_bps = ha < floor_bps ? floor_bps : ha;
  double u = fabs(q_ratio);
  out->liq_units_per_s = u > p[P_URGENCY] ? (u - p[P_URGENCY]) * p[P_LIQ_RATE] : 0;
}

static int mm_lookback(const double *p) {
  (void)p;
  return 1;
}

static int mm_init_at(void *vst, const double *p, qt_err *err, int level) {
  mm_state *st = vst;
  if (!(p[P_AS_SCALE] > 0))
    return qt_err_set(err, QT_EINVAL, "market_maker: adverse_selection_spread_scale must be > 0");
  memcpy(st->p, p, sizeof st->p);
  st->vec_level = level;
  return QT_OK;
}

static int mm_init(void *vst, const double *p, qt_ctx *cx, qt_err *err) {
  (void)cx;
  return mm_init_at(vst, p, err, QT_LOG_DEBUG);
}

static int mm_init_live(void *vst, const double *p, qt_ctx *cx, qt_err *err) {
  (void)cx;
  return mm_init_at(vst, p, err, QT_LOG_INFO);
}

/* Imbalance I in [0, 1] (0.5 balanced) and market spread D in bps: from the
 * last quote when there is one, else from the bar (taker buy share; the
 * bar's range as the spread a taker crosses). */
static void observe(const qt_bar *b, qt_ctx *cx, double *imb, double *d_bps) {
  size_t nq = 0;
  const qt_quotes *q = qt_ctx_quotes(cx, 0, &nq);
  *imb = 0.5;
  *d_bps = 0;
  if (q && nq > 0 && q->bid[nq - 1] > 0 && q->ask[nq - 1] >= q->bid[nq - 1]) {
    size_t k = nq - 1;
    double depth = q->bid_qty[k] + q->ask_qty[k];
    if (depth > 0) *imb = q->bid_qty[k] / depth;
    *d_bps = (q->ask[k] - q->bid[k]) / (0.5 * (q->ask[k] + q->bid[k])) * 1e4;
  } else {
    if (b->volume > 0) *imb = b->taker_buy_base / b->volume;
    if (b->close > 0 && b->high >= b->low) *d_bps = (b->high - b->low) / b->close * 1e4;
  }
  if (!isfinite(*imb)) *imb = 0.5;
  if (*imb > 1) *imb = 1;
  if (*imb < 0) *imb = 0;
  if (!isfinite(*d_bps) || *d_bps < 0) *d_bps = 0;
}

static void mm_on_bar(void *vst, const qt_bar *b, qt_ctx *cx) {
  mm_state *st = vst;
  const double *p = st->p;
  /* The quotes visible now are those up to the bar's open; the close is
   * fresher, so it is the mid, and the book gives imbalance and spread. */
  double mid = b->close, imb, d_bps;
  observe(b, cx, &imb, &d_bps);
  st->mu += p[P_AS_LAMBDA] * (qt_market_maker_as_observation(p, imb, d_bps) - st->mu);

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

  qt_mm_quote qq;
  qt_market_maker_quote(p, qr, st->mu, &qq);
  double bid = mid * (1.0 - qq.bid_bps / 1e4), ask = mid * (1.0 + qq.ask_bps / 1e4);

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

  if (qq.liq_units_per_s > 0 && pos != 0) {
    double liq = qq.liq_units_per_s * bar_s;
    if (liq > fabs(pos)) liq = fabs(pos);
    qt_order_req o = {.inst = 0, .side = pos > 0 ? QT_SELL : QT_BUY, .type = QT_ORDER_MARKET,
                      .leg = QT_LEG_NET, .qty = liq, .flags = QT_ORDER_REDUCE_ONLY,
                      .reason = QT_EXIT_SIGNAL, .tag = 3};
    qt_ctx_submit(cx, &o);
  }
  if (qt_log_enabled((qt_log_level)st->vec_level)) {
    /* the guide's two lines: mid, inventory (base units), estimate, market
     * spread and imbalance; then the offsets, their sum and difference */
    qt_log((qt_log_level)st->vec_level, "StateVector[S=%.*f, Q=%.4f, mu=%.4f, D=%.1fbps, I=%.3f]",
           mid >= 1 ? 2 : 8, mid, pos, st->mu, d_bps, imb);
    qt_log((qt_log_level)st->vec_level,
           "ControlVector[db=%.1fbps, da=%.1fbps, spread=%.1fbps, asymmetry=%.1fbps]", qq.bid_bps,
           qq.ask_bps, qq.bid_bps + qq.ask_bps, qq.ask_bps - qq.bid_bps);
  }
}

const qt_strategy_vtbl qt_strategy_market_maker = {
    .abi = QT_STRATEGY_ABI,
    .name = "market_maker",
    .summary = "post-only two-sided quotes with inventory skew and adverse-selection widening",
    .params = k_params,
    .n_params = P_COUNT,
    .state_size = sizeof(mm_state),
    .needs = QT_WANTS_QUOTES | QT_WANTS_FLOW, /* observe(): the last quote, the bar's flow */
    .n_instruments = 1,
    .lookback = mm_lookback,
    .init = mm_init,
    .on_bar = mm_on_bar,
};

/* The same strategy with its vector lines at info (qt_strategy_live_variant). */
const qt_strategy_vtbl qt__strategy_market_maker_live = {
    .abi = QT_STRATEGY_ABI,
    .name = "market_maker",
    .summary = "post-only two-sided quotes with inventory skew and adverse-selection widening",
    .params = k_params,
    .n_params = P_COUNT,
    .state_size = sizeof(mm_state),
    .needs = QT_WANTS_QUOTES | QT_WANTS_FLOW, /* observe(): the last quote, the bar's flow */
    .n_instruments = 1,
    .lookback = mm_lookback,
    .init = mm_init_live,
    .on_bar = mm_on_bar,
};
