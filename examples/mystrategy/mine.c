/* An example user strategy: an EMA crossover, long when the fast EMA is
 * above the slow one, flat otherwise.  Build it as a shared object
 * (`make` here) and run `qtune backtest --strategy ./libmine.so ...`.
 * docs/writing-a-strategy.md walks through it. */
#include "qtune/strategy.h"

#include <math.h>

enum { P_FAST, P_SLOW, P_FRACTION, P_COUNT };

static const qt_param_spec params[P_COUNT] = {
    /* name, type, lo, hi, step, log, default, choices, n_choices, help */
    {"fast", QT_PARAM_INT, 2, 50, 1, 0, 5, NULL, 0, "fast EMA length (bars)"},
    {"slow", QT_PARAM_INT, 5, 200, 1, 0, 20, NULL, 0, "slow EMA length (bars)"},
    {"fraction", QT_PARAM_FLOAT, 0.1, 1.0, 0, 0, 0.5, NULL, 0, "share of equity per entry"},
};

/* The engine hands init() state_size zeroed bytes: no malloc anywhere. */
typedef struct state {
  double a_fast, a_slow, fast, slow, fraction;
  int slow_n;
} state;

static int lookback(const double *p) { return (int)p[P_SLOW]; }

static int init(void *st_, const double *p, qt_ctx *cx, qt_err *err) {
  (void)cx;
  state *st = st_;
  if (p[P_FAST] >= p[P_SLOW])
    return qt_err_set(err, QT_EPARAM, "mine: fast (%g) must be below slow (%g)", p[P_FAST],
                      p[P_SLOW]);
  st->a_fast = 2.0 / (p[P_FAST] + 1);
  st->a_slow = 2.0 / (p[P_SLOW] + 1);
  st->fraction = p[P_FRACTION];
  st->slow_n = (int)p[P_SLOW];
  return QT_OK;
}

static void on_bar(void *st_, const qt_bar *b, qt_ctx *cx) {
  state *st = st_;
  if (b->i == 0) st->fast = st->slow = b->close;
  st->fast += st->a_fast * (b->close - st->fast);
  st->slow += st->a_slow * (b->close - st->slow);
  if (b->i < (size_t)st->slow_n) return; /* honour lookback() */
  double pos = qt_ctx_position(cx, 0, QT_LEG_NET);
  if (st->fast > st->slow && pos == 0) {
    double qty = qt_ctx_qty_for_equity(cx, 0, st->fraction, b->close);
    if (qty > 0) {
      qt_ctx_market(cx, 0, QT_BUY, QT_LEG_NET, qty, QT_EXIT_SIGNAL);
      qt_ctx_signal(cx, 0, QT_LEG_NET, 1, 0);
    }
  } else if (st->fast < st->slow && pos > 0) {
    qt_ctx_close(cx, 0, QT_LEG_NET, QT_EXIT_SIGNAL);
  }
}

QT_API const qt_strategy_vtbl qt_strategy_entry = {
    .abi = QT_STRATEGY_ABI,
    .name = "mine",
    .summary = "example plugin: EMA crossover, long or flat",
    .params = params,
    .n_params = P_COUNT,
    .state_size = sizeof(state),
    .n_instruments = 1,
    .lookback = lookback,
    .init = init,
    .on_bar = on_bar,
};
