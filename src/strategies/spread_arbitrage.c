/* spread_arbitrage: buy the cheap venue and sell the dear one when the
 * cross-venue price difference beats costs plus a margin; unwind when it
 * closes (docs/strategies/spread_arbitrage.md is the spec). */
#include "qtune/strategies.h"

#include <math.h>
#include <string.h>

enum { P_MIN_SPREAD, P_FEE_A, P_FEE_B, P_SLIP, P_MAX_USD, P_EXIT, P_COUNT };

static const qt_param_spec k_params[P_COUNT] = {
    {"min_spread_bps", QT_PARAM_FLOAT, 5, 100, 0, 0, 30, NULL, 0,
     "net edge required above costs (bps)"},
    {"taker_fee_a_bps", QT_PARAM_FLOAT, 0, 30, 0, 0, 10, NULL, 0, "taker fee at venue A (bps)"},
    {"taker_fee_b_bps", QT_PARAM_FLOAT, 0, 30, 0, 0, 10, NULL, 0, "taker fee at venue B (bps)"},
    {"slippage_bps", QT_PARAM_FLOAT, 0, 30, 0, 0, 5, NULL, 0,
     "expected slippage over both legs (bps)"},
    {"max_position_usd", QT_PARAM_FLOAT, 100, 100000, 0, 0, 1000, NULL, 0,
     "notional per leg (quote currency)"},
    {"exit_spread_bps", QT_PARAM_FLOAT, 0, 50, 0, 0, 0, NULL, 0,
     "exit once the spread is back within this many bps of zero"},
};

typedef struct sa_state {
  double p[P_COUNT];
  int dir; /* 0 flat; +1 entered with B dear (long A, short B); -1 the reverse */
} sa_state;

static int sa_lookback(const double *p) {
  (void)p;
  return 0;
}

static int sa_init(void *vst, const double *p, qt_ctx *cx, qt_err *err) {
  sa_state *st = vst;
  if (qt_ctx_n_instruments(cx) < 2)
    return qt_err_set(err, QT_EINVAL,
                      "spread_arbitrage: needs two instruments (venue A and venue B \"<S>.B\")");
  memcpy(st->p, p, sizeof st->p);
  return QT_OK;
}

static void sa_on_bar(void *vst, const qt_bar *b, qt_ctx *cx) {
  sa_state *st = vst;
  const double *p = st->p;
  size_t nb = 0;
  const qt_bars *vb = qt_ctx_bars(cx, 1, &nb);
  if (!vb || nb == 0 || vb->ts_ms[nb - 1] != b->ts_ms) return; /* B has no bar now */
  double pa = b->close, pb = vb->close[nb - 1];
  if (!(pa > 0) || !(pb > 0)) return;
  double mid = 0.5 * (pa + pb);
  double spread = (pb - pa) / mid * 1e4;

  /* The position may have been closed by the engine (end of data, liquidation). */
  if (st->dir != 0 && qt_ctx_position(cx, 0, QT_LEG_NET) == 0 &&
      qt_ctx_position(cx, 1, QT_LEG_NET) == 0)
    st->dir = 0;

  if (st->dir == 0) {
    double need = p[P_MIN_SPREAD] + p[P_FEE_A] + p[P_FEE_B] + p[P_SLIP];
    if (!(fabs(spread) > need)) return;
    int dir = spread > 0 ? 1 : -1;
    double qty = p[P_MAX_USD] / mid;
    /* dir +1: B dear -> buy A, sell B. */
    if (qt_ctx_market(cx, 0, dir > 0 ? QT_BUY : QT_SELL, QT_LEG_NET, qty, QT_EXIT_SIGNAL) <= 0)
      return;
    qt_ctx_market(cx, 1, dir > 0 ? QT_SELL : QT_BUY, QT_LEG_NET, qty, QT_EXIT_SIGNAL);
    qt_ctx_signal(cx, 0, QT_LEG_NET, dir, 0);
    st->dir = dir;
    return;
  }
  int closed = st->dir > 0 ? spread <= p[P_EXIT] : spread >= -p[P_EXIT];
  if (closed) {
    qt_ctx_close(cx, 0, QT_LEG_NET, QT_EXIT_SIGNAL);
    qt_ctx_close(cx, 1, QT_LEG_NET, QT_EXIT_SIGNAL);
    st->dir = 0;
  }
}

const qt_strategy_vtbl qt_strategy_spread_arbitrage = {
    .abi = QT_STRATEGY_ABI,
    .name = "spread_arbitrage",
    .summary = "cross-venue arbitrage: buy the cheap venue, sell the dear one, unwind on convergence",
    .params = k_params,
    .n_params = P_COUNT,
    .state_size = sizeof(sa_state),
    .needs = QT_NEEDS_SECOND,
    .n_instruments = 2,
    .lookback = sa_lookback,
    .init = sa_init,
    .on_bar = sa_on_bar,
};
