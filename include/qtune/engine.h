/* qtune engine: the simulated exchange.  Instruments, orders and fills on
 * bars (or trades), fees, slippage, funding, one-way and hedge positions, the
 * account with margin and liquidation, and the event loop that drives a
 * strategy.  It knows nothing about metrics, storage or optimization. */
#ifndef QTUNE_QTUNE_ENGINE_H
#define QTUNE_QTUNE_ENGINE_H

#include "qtune/core.h"
#include "qtune/data.h"
#include "qtune/strategy.h"

typedef enum qt_inst_kind { QT_INST_SPOT = 0, QT_INST_PERP = 1 } qt_inst_kind;

typedef struct qt_instrument {
  char symbol[32];
  int venue;          /* 0, 1, ...: the same symbol on two venues differs here */
  int kind;           /* qt_inst_kind */
  double tick_size;   /* 0: prices are not rounded */
  double lot_size;    /* 0: quantities are not rounded */
  double multiplier;  /* contract size in base units (1 for spot and linear perps) */
  double maker_bps, taker_bps;
  double maint_margin; /* maintenance margin fraction of notional, e.g. 0.005 */
} qt_instrument;

/* One instrument's data for a run: bars are required, the rest optional. */
typedef struct qt_feed {
  qt_instrument inst;
  const qt_bars *bars;
  const qt_trades *trades;   /* when set and fill_on_trades: fills come from trades */
  const qt_funding *funding; /* perps: settlements */
  const qt_quotes *quotes;
} qt_feed;

typedef struct qt_engine_opts {
  double cash;            /* starting cash in quote currency (default 10000) */
  double slippage_bps;    /* on market and stop fills (default 0) */
  int trade_on_close;     /* market orders fill at this bar's close (default 0: next open) */
  int hedge_mode;         /* long and short legs at once (default 0: one-way) */
  int close_at_end;       /* close everything at the last bar (default 1) */
  int fill_on_trades;     /* use the trades series for fills (default 0) */
  double leverage_cap;    /* max gross notional / equity (default 1 spot-like; 0 = none) */
  size_t max_orders;      /* open-order capacity (default 256) */
  size_t max_trades;      /* initial trade-list capacity (default 1024); it doubles when a
                           * run needs more and is kept for later runs */
  size_t from, to;        /* bars [from, to) of feed 0 are simulated (to = 0: all);
                           * indicators and qt_ctx_bars still see the earlier bars */
  int log_orders;         /* keep every submit/replace/cancel of the strategy in
                           * qt_result.order_log (default 0: the optimizer has no use
                           * for it; the look-ahead check and --orders do) */
} qt_engine_opts;

QT_API qt_engine_opts qt_engine_opts_default(void);
QT_API qt_instrument qt_instrument_default(const char *symbol);

/* A closed trade (a position, or the part of it, from entry to exit). */
typedef struct qt_trade_rec {
  int inst, side, leg, exit_reason;
  int64_t entry_ms, exit_ms;
  double qty, entry_price, exit_price;
  double pnl;      /* net: price P&L - fees + funding */
  double fees;     /* entry share + exit */
  double funding;  /* received (+) or paid (-) while open */
  int64_t bars_held;
} qt_trade_rec;

/* One order action of the strategy (opts.log_orders): a submission as
 * accepted (qty and price rounded to lot and tick), a replace with its new
 * qty and price, or a cancel.  Rejected calls are not logged. */
typedef enum qt_order_action { QT_OA_SUBMIT = 0, QT_OA_REPLACE = 1, QT_OA_CANCEL = 2 } qt_order_action;
/* "submit", "replace", "cancel" (static, never NULL). */
QT_API const char *qt_order_action_name(int action);
typedef struct qt_order_event {
  int64_t ts_ms;     /* clock time (bar open) of the step that acted */
  int64_t id;
  int action, inst, side, type, leg;
  unsigned flags;
  double qty, price;
  int64_t expire_ms;
} qt_order_event;

/* The outcome of one run.  Arrays are borrowed from the engine until its
 * next run or free. */
typedef struct qt_result {
  size_t n_bars;
  const int64_t *ts_ms;     /* n_bars: bar open times of instrument 0 */
  const double *equity;     /* n_bars: equity marked at each bar's close */
  const double *exposure;   /* n_bars: gross notional / equity at the close */
  const qt_trade_rec *trades;
  size_t n_trades;
  size_t n_signals, n_expired;
  size_t n_fills, n_orders;
  double fees_paid;     /* >= 0 */
  double funding_paid;  /* net paid (> 0 paid, < 0 received) */
  double start_cash, final_equity;
  int liquidated;
  int64_t interval_ms;  /* bar interval of instrument 0 */
  size_t n_rejected;    /* orders rejected at submission or dropped at fill time
                         * (post-only cross, reduce-only with nothing to reduce,
                         * leverage cap) */
  size_t n_cancelled;   /* orders cancelled by the strategy or by expiry */
  const qt_order_event *order_log; /* opts.log_orders: n_order_log actions in order */
  size_t n_order_log;
} qt_result;

typedef struct qt_engine qt_engine;

/* A reusable engine: buffers grow on the first runs and are kept, so later
 * runs of the same length do not allocate.  One engine per worker thread. */
QT_API int qt_engine_new(const qt_engine_opts *opts, qt_engine **out, qt_err *err);
QT_API void qt_engine_free(qt_engine *e);
/* Replaces the options for the next run. */
QT_API void qt_engine_set_opts(qt_engine *e, const qt_engine_opts *opts);
/* Runs strategy s with params p (spec order, user units) over feeds[0..n_feeds)
 * (feed 0 drives the clock).  `from`/`to` limit the bars of feed 0 used
 * ([from, to), to = 0 means all).  On success *out borrows the engine's
 * buffers. */
QT_API int qt_engine_run(qt_engine *e, const qt_feed *feeds, int n_feeds,
                         const qt_strategy_vtbl *s, const double *p, qt_result *out,
                         qt_err *err);

#endif
