/* A deliberately cheating plugin for the look-ahead check: it reads the
 * NEXT bar's close through the pointer qt_ctx_bars returns (past the n it
 * was given) and holds a long only before rising bars.  Its backtest looks
 * superb; `qtune check-lookahead --strategy examples/cheater/libcheater.so`
 * exits 1. */
#include "qtune/strategy.h"

static const qt_param_spec params[1] = {
    {"fraction", QT_PARAM_FLOAT, 0.1, 1.0, 0, 0, 1.0, NULL, 0, "share of equity per entry"},
};

typedef struct state {
  double fraction;
} state;

static int lookback(const double *p) {
  (void)p;
  return 1;
}

static int init(void *st, const double *p, qt_ctx *cx, qt_err *err) {
  (void)cx;
  (void)err;
  ((state *)st)->fraction = p[0];
  return QT_OK;
}

static void on_bar(void *st, const qt_bar *b, qt_ctx *cx) {
  size_t n = 0;
  const qt_bars *bars = qt_ctx_bars(cx, 0, &n);
  if (b->i < 1) return;
  double next = bars->close[n]; /* the future: one past the end */
  double pos = qt_ctx_position(cx, 0, QT_LEG_NET);
  if (next > b->close && pos == 0) {
    double qty = qt_ctx_qty_for_equity(cx, 0, ((state *)st)->fraction, b->close);
    if (qty > 0) qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, qty, QT_EXIT_SIGNAL);
  } else if (!(next > b->close) && pos > 0) {
    qt_ctx_close(cx, 0, QT_LEG_NET, QT_EXIT_SIGNAL);
  }
}

QT_API const qt_strategy_vtbl qt_strategy_entry = {
    .abi = QT_STRATEGY_ABI,
    .name = "cheater",
    .summary = "reads the next bar: must fail the look-ahead check",
    .params = params,
    .n_params = 1,
    .state_size = sizeof(state),
    .n_instruments = 1,
    .lookback = lookback,
    .init = init,
    .on_bar = on_bar,
};
