/* qtune strategy ABI: what a built-in or a user's plugin strategy sees.
 * A strategy is a vtable (qt_strategy_vtbl) with a parameter spec; it talks to
 * the simulated exchange only through the qt_ctx_* order API below.  A plugin
 * .so exports `const qt_strategy_vtbl qt_strategy_entry`.  This header is the
 * plugin contract: changes to it bump QT_STRATEGY_ABI. */
#ifndef QTUNE_QTUNE_STRATEGY_H
#define QTUNE_QTUNE_STRATEGY_H

#include "qtune/core.h"
#include "qtune/data.h"

#define QT_STRATEGY_ABI 3 /* 3: qt_bar's order-flow fields need QT_WANTS_FLOW */

/* ---- parameter spec ---- */
typedef enum qt_param_type {
  QT_PARAM_INT = 0,   /* whole numbers in [lo, hi], step (>= 1) */
  QT_PARAM_FLOAT = 1, /* real numbers in [lo, hi], step 0 = continuous */
  QT_PARAM_CAT = 2,   /* value is an index into choices */
  QT_PARAM_BOOL = 3   /* 0 or 1 */
} qt_param_type;

typedef struct qt_param_spec {
  const char *name;  /* lower_snake_case, unique in its strategy */
  int type;          /* qt_param_type */
  double lo, hi;     /* inclusive bounds, in user units */
  double step;       /* 0: none */
  int log;           /* 1: sample on a log scale (lo > 0) */
  double def;        /* default, in user units (categorical: index) */
  const char *const *choices; /* QT_PARAM_CAT: n_choices labels */
  size_t n_choices;
  const char *help;  /* one line: unit and meaning */
} qt_param_spec;

/* ---- what the strategy receives ---- */
typedef struct qt_bar {
  int64_t ts_ms; /* open time */
  double open, high, low, close, volume;
  /* order flow: filled for a strategy with QT_WANTS_FLOW, else 0 */
  double quote_volume, trade_count, taker_buy_base, taker_buy_quote;
  size_t i;      /* index of this bar in its series */
  int inst;      /* instrument index */
} qt_bar;

typedef enum qt_side { QT_BUY = 1, QT_SELL = -1 } qt_side;

typedef enum qt_order_type {
  QT_ORDER_MARKET = 0,
  QT_ORDER_LIMIT = 1,
  QT_ORDER_STOP = 2 /* stop-market: triggers when price trades through `price` */
} qt_order_type;

/* Position legs: one-way mode uses QT_LEG_NET only; hedge mode holds a long
 * and a short leg on one instrument at once. */
typedef enum qt_leg { QT_LEG_NET = 0, QT_LEG_LONG = 1, QT_LEG_SHORT = 2 } qt_leg;

/* Why a position (or part of it) closed; the trade list reports it. */
typedef enum qt_exit_reason {
  QT_EXIT_SIGNAL = 0,
  QT_EXIT_TAKE_PROFIT = 1,
  QT_EXIT_STOP_LOSS = 2,
  QT_EXIT_EXPIRY = 3,
  QT_EXIT_LIQUIDATION = 4,
  QT_EXIT_END_OF_DATA = 5
} qt_exit_reason;
#define QT_EXIT_COUNT 6
QT_API const char *qt_exit_reason_name(int reason); /* static, never NULL */
/* "market", "limit", "stop"; "net", "long", "short" (static, never NULL). */
QT_API const char *qt_order_type_name(int type);
QT_API const char *qt_leg_name(int leg);

#define QT_ORDER_POST_ONLY 1u   /* a limit that would take is rejected */
#define QT_ORDER_REDUCE_ONLY 2u /* may only shrink the position of its leg */

typedef struct qt_order_req {
  int inst;          /* instrument index (0 for single-instrument runs) */
  int side;          /* QT_BUY / QT_SELL */
  int type;          /* qt_order_type */
  int leg;           /* qt_leg */
  double qty;        /* > 0, rounded down to the lot size by the engine */
  double price;      /* limit price or stop trigger; rounded to the tick */
  unsigned flags;    /* QT_ORDER_* */
  int64_t expire_ms; /* absolute; 0 = good till cancelled */
  int reason;        /* qt_exit_reason recorded if this order closes a position */
  int tag;           /* the strategy's own label, echoed in the fill */
} qt_order_req;

typedef struct qt_fill {
  int64_t order_id;
  int inst, side, leg, tag, reason;
  int maker;       /* 1: filled as maker (limit resting), 0: taker */
  double qty, price, fee;
  int64_t ts_ms;
} qt_fill;

typedef struct qt_funding_event {
  int inst;
  int64_t ts_ms;
  double rate;     /* this settlement's rate */
  double mark;     /* price used */
  double payment;  /* cash change, summed over legs (negative: paid) */
} qt_funding_event;

/* The engine's handle for one running backtest; opaque to strategies. */
typedef struct qt_ctx qt_ctx;

/* ---- order API (implemented by the engine) ----
 * All calls are O(1) or O(open orders) and never allocate. */
/* Submits an order; returns its id (> 0) or a negative status (QT_EINVAL for a
 * bad side/qty, QT_ESTATE when the order book is full). */
QT_API int64_t qt_ctx_submit(qt_ctx *cx, const qt_order_req *o);
/* Shorthands for qt_ctx_submit. */
QT_API int64_t qt_ctx_market(qt_ctx *cx, int inst, int side, int leg, double qty, int reason);
/* A market order for `fraction` (0 < fraction <= 1) of the equity, sized when
 * it fills at the fill price (backtesting.py's buy(size=0.5), TradingView's
 * percent of equity): qty = fraction x available x cap / (px x multiplier x
 * (1 + taker)), available = equity - gross notional / cap (equity with no
 * cap), both marked at the fill price, rounded down to the lot (lot 1: whole
 * units).  Nothing left: dropped as rejected.  QT_EINVAL for a fraction
 * outside (0, 1]. */
QT_API int64_t qt_ctx_market_fraction(qt_ctx *cx, int inst, int side, int leg, double fraction,
                                      int reason);
QT_API int64_t qt_ctx_limit(qt_ctx *cx, int inst, int side, int leg, double qty, double price,
                            unsigned flags, int tag);
QT_API int64_t qt_ctx_stop(qt_ctx *cx, int inst, int side, int leg, double qty, double trigger,
                           int reason);
/* Cancels an open order; QT_ENOTFOUND if it is no longer open. */
QT_API int qt_ctx_cancel(qt_ctx *cx, int64_t order_id);
/* Cancels every open order of an instrument (inst < 0: all instruments). */
QT_API void qt_ctx_cancel_all(qt_ctx *cx, int inst);
/* Changes price and quantity of an open order, keeping its id. */
QT_API int qt_ctx_replace(qt_ctx *cx, int64_t order_id, double price, double qty);
/* Lot accounting (docs/engine.md, "Trade accounting"): the open exit order
 * exit_id closes the lot of entry order entry_id first (a grid's take-profit
 * and stop of one level), then the oldest lots.  Changes no fill.
 * QT_ENOTFOUND when exit_id is not open. */
QT_API int qt_ctx_exit_of(qt_ctx *cx, int64_t exit_id, int64_t entry_id);
/* Closes a leg at market (next fill opportunity) with the given reason. */
QT_API int64_t qt_ctx_close(qt_ctx *cx, int inst, int leg, int reason);
/* Signed quantity of a leg (long legs >= 0, short legs <= 0, net either). */
QT_API double qt_ctx_position(const qt_ctx *cx, int inst, int leg);
/* Average entry price of a leg, 0 when flat. */
QT_API double qt_ctx_entry_price(const qt_ctx *cx, int inst, int leg);
QT_API double qt_ctx_cash(const qt_ctx *cx);
/* Sum of |qty| x mark x multiplier over every open leg (the current marks). */
QT_API double qt_ctx_gross_notional(const qt_ctx *cx);
/* Margin in use: gross notional / the run's leverage cap (no cap: notional). */
QT_API double qt_ctx_margin_used(const qt_ctx *cx);
/* Cash plus open positions marked to the last close. */
QT_API double qt_ctx_equity(const qt_ctx *cx);
QT_API int64_t qt_ctx_now(const qt_ctx *cx);
QT_API int qt_ctx_n_instruments(const qt_ctx *cx);
/* Largest quantity of inst buyable with `fraction` of equity at `price`,
 * rounded down to the lot size (fraction 1.0 = all in). */
QT_API double qt_ctx_qty_for_equity(const qt_ctx *cx, int inst, double fraction, double price);
QT_API double qt_ctx_lot_size(const qt_ctx *cx, int inst);
QT_API double qt_ctx_tick_size(const qt_ctx *cx, int inst);
QT_API double qt_ctx_taker_bps(const qt_ctx *cx, int inst);
QT_API double qt_ctx_maker_bps(const qt_ctx *cx, int inst);

/* History up to and including the current bar: the columns of instrument
 * inst with n = current index + 1.  Borrowed until the run ends. */
QT_API const qt_bars *qt_ctx_bars(const qt_ctx *cx, int inst, size_t *out_n);
/* The series other than bars, up to now (out_n = rows with ts_ms <= now);
 * NULL when the run has no such series for inst. */
QT_API const qt_funding *qt_ctx_funding(const qt_ctx *cx, int inst, size_t *out_n);
QT_API const qt_quotes *qt_ctx_quotes(const qt_ctx *cx, int inst, size_t *out_n);

/* A precomputed indicator column over the whole series of inst (causal: value
 * [i] uses bars <= i only; NaN during warm-up), computed once per worker and
 * shared between trials with the same arguments.  Call it from init() only.
 * kind is a qt_ind_kind of qtune/indicators.h; out selects the output column.
 * Returns NULL and sets err on a bad request or OOM. */
QT_API const double *qt_ctx_indicator(qt_ctx *cx, int inst, int kind, int n1, int n2, int n3,
                                      int out, qt_err *err);

/* Signals (for the expiry rate): a strategy records each signal it acts on;
 * the engine counts those whose position is closed by expiry.  Returns the
 * signal id.  A position opened by a signal with expire_ms > 0 is closed at
 * market with QT_EXIT_EXPIRY when now >= expire_ms and it is still open. */
QT_API int64_t qt_ctx_signal(qt_ctx *cx, int inst, int leg, int dir, int64_t expire_ms);

/* ---- the strategy vtable ---- */
typedef struct qt_strategy_vtbl {
  int abi;                     /* QT_STRATEGY_ABI */
  const char *name;            /* unique, lower-case */
  const char *summary;         /* one line for `qtune strategies` */
  const qt_param_spec *params; /* in the order of the p[] array */
  size_t n_params;
  size_t state_size;           /* init() gets this many zeroed bytes */
  unsigned needs;              /* QT_NEEDS_* series the strategy requires */
  int n_instruments;           /* instruments it trades: 1, or 2 (spot+perp, two venues) */
  /* Bars before the first signal, given the params. */
  int (*lookback)(const double *p);
  /* Checks p (cross-parameter rules too) and sets up st; may call
   * qt_ctx_indicator.  No I/O.  A combination of in-range values that
   * cannot run (fast >= slow) returns QT_EPARAM: the optimizer then prunes
   * the trial (stored with the message, never retried, ranked with the
   * worst) instead of failing it. */
  int (*init)(void *st, const double *p, qt_ctx *cx, qt_err *err);
  /* Called once per bar of instrument 0, after fills of that bar. */
  void (*on_bar)(void *st, const qt_bar *b, qt_ctx *cx);
  void (*on_fill)(void *st, const qt_fill *f, qt_ctx *cx);             /* may be NULL */
  void (*on_funding)(void *st, const qt_funding_event *f, qt_ctx *cx); /* may be NULL */
  void (*fini)(void *st);                                              /* may be NULL */
  /* May be NULL.  The first bar index j in [i, end) whose on_bar may do
   * anything (place or cancel an order, close, signal, change st), or end
   * when none does, provided that over those bars no order is open, no
   * signal is armed and the positions, cash and st stay as they are.  The engine then steps bars
   * i..j-1 without calling on_bar (docs/engine.md, "Quiet bars"), so this
   * must read only st, cx and the columns init took, and be exact: a bar
   * it skips whose on_bar would have acted changes the result. */
  size_t (*quiet_until)(const void *st, const qt_ctx *cx, size_t i, size_t end);
} qt_strategy_vtbl;

#define QT_NEEDS_FUNDING 1u
#define QT_NEEDS_QUOTES 2u
#define QT_NEEDS_SECOND 4u /* a second instrument (spot leg or second venue) */
#define QT_NEEDS_HEDGE 8u  /* hedge mode: long and short legs at once; callers turn it on */
#define QT_NEEDS_LOTS 16u  /* a grid: its trades read as lots (each entry matched FIFO to the
                            * exit that closes it); the engine's default accounting for it */
/* Not a requirement: the strategy reads quotes (qt_ctx_quotes) when the data
 * has them and runs without.  A run loads the quotes of a catalog only for a
 * strategy with QT_NEEDS_QUOTES or QT_WANTS_QUOTES (qt_market_series_for), so
 * a strategy that calls qt_ctx_quotes sets one of the two. */
#define QT_WANTS_QUOTES 32u
/* Not a requirement either: the strategy reads qt_bar's order-flow fields
 * (quote_volume, trade_count, taker_buy_base, taker_buy_quote) when the data
 * has them.  The engine fills them only for a strategy with QT_WANTS_FLOW
 * (else they are 0, as for data without them): a strategy that does not
 * read them does not pay four cache misses for every bar it is called on. */
#define QT_WANTS_FLOW 64u

/* The default value of every parameter, in spec order, into p[n_params]. */
QT_API void qt_strategy_defaults(const qt_strategy_vtbl *s, double *p);
/* Index of a parameter by name, or -1. */
QT_API int qt_strategy_param_index(const qt_strategy_vtbl *s, const char *name);
/* Checks p against the spec (bounds, integer-ness, choices); the message names
 * the parameter and its range. */
QT_API int qt_strategy_check_params(const qt_strategy_vtbl *s, const double *p, qt_err *err);

#endif
