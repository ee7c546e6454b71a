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

typedef enum qt_close_at_end {
  QT_CLOSE_AT_END_NONE = 0,  /* open positions stay open (their P&L is unrealized) */
  QT_CLOSE_AT_END_CLOSE = 1, /* at the last bar's close, after its on_bar */
  QT_CLOSE_AT_END_OPEN = 2   /* at the last bar's open, after its fills and before on_bar */
} qt_close_at_end;

/* How reducing fills become trade records (docs/engine.md, "Trade
 * accounting"); the position, cash, margin and equity are the same in both. */
typedef enum qt_trade_accounting {
  QT_ACCOUNTING_AUTO = 0,    /* lots for strategies with QT_NEEDS_LOTS (grids), else average */
  QT_ACCOUNTING_AVERAGE = 1, /* one record per reducing fill, at the leg's average entry price */
  QT_ACCOUNTING_LOTS = 2     /* each entry fill is a lot; exits close lots FIFO, one record each */
} qt_trade_accounting;

typedef struct qt_engine_opts {
  double cash;            /* starting cash in quote currency (default 10000) */
  double slippage_bps;    /* on market and stop fills (default 0) */
  int trade_on_close;     /* market orders fill at this bar's close (default 0: next open) */
  int hedge_mode;         /* long and short legs at once (default 0: one-way) */
  int close_at_end;       /* qt_close_at_end: close everything on the last bar, at its
                           * close (default) or at its open (backtesting.py's
                           * finalize_trades), or not at all (0) */
  int fill_on_trades;     /* use the trades series for fills (default 0) */
  double leverage_cap;    /* max gross notional / equity (default 1 spot-like; 0 = none) */
  size_t max_orders;      /* open-order capacity (default 256) */
  size_t max_trades;      /* initial trade-list capacity (default 1024); it doubles when a
                           * run needs more and is kept for later runs */
  size_t from, to;        /* bars [from, to) of feed 0 are simulated (to = 0: all);
                           * indicators and qt_ctx_bars still see the earlier bars */
  int trade_accounting;   /* qt_trade_accounting (default auto) */
  int log_orders;         /* keep every submit/replace/cancel of the strategy in
                           * qt_result.order_log (default 0: the optimizer has no use
                           * for it; the look-ahead check and --orders do) */
  /* Risk gate (the paper runner's limits): called for each submission that
   * passed the order checks, with its rounded qty (in *qty) and price,
   * before it enters the book.  closing is 1 for a close (qt_ctx_close) or a
   * reduce-only order.  A non-zero return rejects it (counted in
   * n_rejected, the submit returns QT_ESTATE, nothing is logged); a smaller
   * *qty cuts the order (rounded down to the lot again).  It must allocate
   * nothing and only read cx.  NULL: none. */
  int (*order_gate)(void *gate_ctx, const qt_ctx *cx, const qt_order_req *r, int closing,
                    double *qty, double price);
  void *order_gate_ctx;
  size_t fill_delay_bars; /* order latency: an order (or a replace) reaches the book this
                           * many bars late, so it fills from the open of bar i + 1 +
                           * delay (trade_on_close: the close of bar i + delay), never
                           * earlier (default 0: the next bar, as without latency) */
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

/* A checkpoint of a run: after every `every_bars` simulated bars (before
 * the last bar) fn gets the result so far (equity, exposure and closed
 * trades up to that bar; open positions stay open and are marked in the
 * equity), borrowed for the call.  fn returning non-zero stops the run at
 * once: qt_engine_run then returns QT_PRUNED with *out zeroed.  It costs one
 * compare per bar; fn is called on the run's thread and may allocate (it is
 * not the per-bar path).  Holds for the next runs until set again; every_bars
 * 0 or fn NULL: none. */
typedef int (*qt_engine_checkpoint_fn)(void *ud, const qt_result *so_far);
QT_API void qt_engine_set_checkpoint(qt_engine *e, size_t every_bars, qt_engine_checkpoint_fn fn,
                                     void *ud);
/* An indicator column block the last run's strategy asked for through
 * qt_ctx_indicator (for reports: the strategy's own lines on its chart).
 * cols[k] (k < n_out) are borrowed from the engine's cache until its next
 * run or free; each has n values aligned with close's bars. */
typedef struct qt_ind_used {
  const double *close;    /* the series it was computed on (a feed's bars->close) */
  size_t n;
  int kind, n1, n2, n3;   /* a qt_ind_kind of qtune/indicators.h and its lengths */
  int n_out;
  const double *cols[4];
} qt_ind_used;
/* Writes up to cap of the blocks the last run asked for (in the cache's
 * order) to out; returns how many there are (may exceed cap). */
QT_API size_t qt_engine_indicators_used(const qt_engine *e, qt_ind_used *out, size_t cap);

/* ---- the step API (the paper runner) ----
 * A run one bar at a time: the same checks, start and per-bar steps as
 * qt_engine_run (which is begin + every step + end, without the calls), so
 * stepping through [from, to) gives the same result bit for bit.
 * qt_engine_begin starts a run (feeds, s and p must outlive it);
 * qt_engine_step runs the next bar of feed 0: QT_OK, QT_DONE when [from, to)
 * is done, QT_ENOMEM when the trade list could not grow, QT_ESTATE with no
 * run begun.  qt_engine_peek fills *out with the run so far (the bars
 * stepped; borrowed until the next step, run or free; all zero with no run).
 * qt_engine_end calls the strategy's fini and fills *out like peek; a step
 * after it is QT_ESTATE.  qt_engine_run or begin starts over. */
QT_API int qt_engine_begin(qt_engine *e, const qt_feed *feeds, int n_feeds,
                           const qt_strategy_vtbl *s, const double *p, qt_err *err);
QT_API int qt_engine_step(qt_engine *e, qt_err *err);
QT_API void qt_engine_peek(const qt_engine *e, qt_result *out);
QT_API int qt_engine_end(qt_engine *e, qt_result *out, qt_err *err);
/* Hands the running strategy new params p (spec order; p must outlive the
 * run) for the bars after this call: its init runs again on its state as it
 * is (not zeroed), so a strategy whose init only checks and copies params
 * keeps its other state.  The engine's orders, positions and cash stay.
 * QT_ESTATE with no run begun; init's error (the strategy keeps whatever its
 * init left, so check p first: qt_strategy_check_params). */
QT_API int qt_engine_set_params(qt_engine *e, const double *p, qt_err *err);
/* ---- a growing series (the paper runner's stream) ----
 * Feed 0's series may get bars appended in place between steps: the caller
 * owns columns with room for cap_bars rows and raises bars->n.
 * qt_engine_reserve(e, cap_bars), before qt_engine_begin, makes the next
 * runs' indicator columns of feed 0 (qt_ctx_indicator) that long, with the
 * kind's streaming state kept (0: none, the default).  qt_engine_extend,
 * after appending, takes the run to feed 0's new bars->n: the indicator
 * columns the run uses get the new rows (their streaming form, so they equal
 * the batch columns of the longer series bit for bit) and the equity buffer
 * room; the next qt_engine_step calls then run the new bars, so stepping
 * a growing series equals qt_engine_run over its final bars (without the
 * close at the end, with close_at_end off).  QT_ESTATE with no run begun,
 * with opts.to set, past cap_bars, or when the columns moved (a realloc:
 * begin again); QT_ENOMEM.  Costs the new rows only, whatever the history;
 * it allocates only the first time the equity buffer outgrows the run's
 * start (once per reserve). */
QT_API void qt_engine_reserve(qt_engine *e, size_t cap_bars);
QT_API int qt_engine_extend(qt_engine *e, qt_err *err);
/* The run's context for the read-only qt_ctx_* queries (position, entry
 * price, cash, equity, now) between steps; borrowed from e. */
QT_API const qt_ctx *qt_engine_ctx(const qt_engine *e);
/* Copies up to cap open orders (action QT_OA_SUBMIT, ts_ms = now) into out;
 * returns how many are open (may exceed cap).  0 with no run. */
QT_API size_t qt_engine_open_orders(const qt_engine *e, qt_order_event *out, size_t cap);

/* ---- settings shared by every command that runs a backtest (src/engine/market.c) ----
 * Sets one engine option from its text, range-checked in this one place:
 * name is "cash" (> 0), "slippage-bps" (>= 0), "leverage" (>= 0; 0 = no cap),
 * "close-at-end" (close, open or none), "trade-accounting" (lots, average or auto),
 * "fill-delay-bars" (a whole number 0..1000000),
 * with or without the leading "--" (the message echoes name as given:
 * `--cash: must be > 0 ("-5")`).  QT_ENOTFOUND (no message) for another
 * name; QT_EINVAL for a bad or NULL value, *o unchanged. */
QT_API int qt_engine_opts_set(qt_engine_opts *o, const char *name, const char *value, qt_err *err);

/* ---- market loading (src/engine/market.c) ----
 * The data a backtest, a study or a check runs on: one symbol from a catalog
 * (with its second venue "<S>.B" when the strategy needs one, and the funding,
 * quotes and trades stored beside the bars) or one data file through the
 * importers, described as engine feeds.  A symbol with a funding series is a
 * perpetual, one without is spot.  It prints nothing: warnings come back as
 * text in qt_market.warnings. */
#define QT_MARKET_MAX_SYMBOLS 16
#define QT_MARKET_SYMBOL_MAX 30 /* so that "<S>.B" fits qt_instrument.symbol */
#define QT_MARKET_MAX_WARNINGS 4

typedef struct qt_market_opts {
  const char *catalog;   /* catalog directory; or */
  const char *data;      /* a CSV/zip/gz/JSON file through the importers */
  char symbols[QT_MARKET_MAX_SYMBOLS][QT_MARKET_SYMBOL_MAX + 1]; /* qt_market_opts_set_symbols */
  size_t n_symbols;
  const char *from, *to; /* any qt_time_parse form; bars before FROM are history */
  const char *columns;   /* generic CSV column mapping of data */
  const char *date_format; /* its time column's format (qt_time_parse_fmt) */
  const char *format;    /* importer format name of data (NULL: detected) */
  double fee_bps, maker_bps, taker_bps; /* NaN: not given (instrument defaults) */
  double lot_size, tick_size;           /* NaN: not given */
  int want_second;       /* load "<S>.B" as instrument 1 (QT_NEEDS_SECOND) */
  int allow_dirty;       /* 1: a series failing the load checks is used (with a warning) */
  unsigned series;       /* QT_SERIES_* of a catalog loaded beside the bars (always
                          * loaded); default QT_SERIES_ALL, qt_market_series_for
                          * gives what a run needs */
} qt_market_opts;

/* The series of a catalog symbol besides its bars, as a mask. */
#define QT_SERIES_FUNDING 1u
#define QT_SERIES_QUOTES 2u
#define QT_SERIES_TRADES 4u
#define QT_SERIES_ALL (QT_SERIES_FUNDING | QT_SERIES_QUOTES | QT_SERIES_TRADES)

/* Nothing set: no source, no symbols, the fee/lot/tick overrides NaN, every
 * series (QT_SERIES_ALL). */
QT_API qt_market_opts qt_market_opts_default(void);
/* The series a run of strategy s with engine options eo reads, for
 * qt_market_opts.series: funding always (small, and a cost of every perp
 * whatever the strategy), quotes when s has QT_NEEDS_QUOTES or
 * QT_WANTS_QUOTES, trades when eo->fill_on_trades.  A series left out is
 * neither mapped nor checksummed, and the run sees none (a bars-only run's
 * results are the same either way).  s NULL: QT_SERIES_ALL; eo NULL: no
 * fills on trades. */
QT_API unsigned qt_market_series_for(const qt_strategy_vtbl *s, const qt_engine_opts *eo);
/* Sets the symbols from a list "A" or "A,B" (spaces trimmed).  Refuses a
 * second call (the symbols are given once), an empty name, a duplicate, a
 * name longer than QT_MARKET_SYMBOL_MAX and more than QT_MARKET_MAX_SYMBOLS. */
QT_API int qt_market_opts_set_symbols(qt_market_opts *o, const char *list, qt_err *err);

typedef struct qt_market {
  qt_feed feeds[2];      /* feeds[k] points into the series below */
  int n_feeds;
  qt_bars bars[2];
  qt_funding funding[2];
  qt_quotes quotes[2];
  qt_trades trades[2];
  size_t from_i, to_i;   /* the bars of feed 0 selected by from/to: feed 0 holds
                          * [0, to_i) and a run simulates from from_i on */
  char warnings[QT_MARKET_MAX_WARNINGS][256]; /* for the caller to show */
  int n_warnings;
} qt_market;

/* Loads the market of o into *out (caller storage, released by
 * qt_market_free, also after a failure).  Fails with a message naming the
 * option: no source or two, a catalog without a symbol, more than one symbol
 * (qt_objective_symbols loads several, one market each), a missing symbol or second venue, a bad
 * --from/--to or one that selects no bars, and (unless allow_dirty) bars that
 * fail the load checks (one pass: finite positive OHLC, high >= max(open,
 * close), low <= min(open, close), strictly increasing times), naming the
 * symbol, bar and time ("AVAXUSDT bar 1234 (2026-06-01T20:34Z): close is
 * NaN").  Warns (out->warnings) when a
 * funding series starts after the traded bars or ends before them (with its
 * coverage), and when --to lies past the data (with the real end). */
QT_API int qt_market_load(const qt_market_opts *o, qt_market *out, qt_err *err);
QT_API void qt_market_free(qt_market *m);
/* One line for headers: "AVAXUSDT, perpetual, funding 91 settlements, 1440 bars
 * 2024-01-01T00:00:00Z .. 2024-01-01T23:59:00Z (120 warm-up bars before)" or
 * "AVAXUSDT, spot: no funding series, ...".  Returns buf. */
QT_API char *qt_market_describe(const qt_market *m, char *buf, size_t cap);

#endif
