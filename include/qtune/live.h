/* qtune live: paper trading and the parameters of a running strategy.
 * Each section below is one module of src/live/; it does not place orders
 * itself (the paper runner's engine does) and never prints (logs go to the
 * qt_log sink). */
#ifndef QTUNE_QTUNE_LIVE_H
#define QTUNE_QTUNE_LIVE_H

#include "qtune/core.h"
#include "qtune/strategy.h"
#include "qtune/engine.h"
#include "qtune/storage.h"

#include <stdint.h>
#include <signal.h>

/* ==== feeds and the paper runner (src/live/feed*.c, src/live/paper*.c) ==== */

/* The longest message (one line) a stream feed accepts, in bytes.  A longer
 * line is a bad message ("too long"), skipped up to its newline; Binance's
 * market messages are a few hundred bytes. */
#define QT_LIVE_MSG_MAX 65536

typedef enum qt_live_kind {
  QT_LIVE_BAR = 1,   /* kline */
  QT_LIVE_TRADE = 2, /* aggTrade */
  QT_LIVE_QUOTE = 3, /* bookTicker */
  QT_LIVE_MARK = 4   /* markPriceUpdate: mark price and funding rate */
} qt_live_kind;

/* One market event, a plain record.  Times are ms UTC. */
typedef struct qt_live_event {
  int kind;                 /* qt_live_kind */
  char symbol[32];
  int64_t ts_ms;            /* bar: open time (k.t); trade: T; quote: T or E (0: none); mark: E */
  int64_t recv_ns;          /* CLOCK_MONOTONIC when the feed read it */
  /* bar */
  int closed;               /* k.x: the kline is final */
  int64_t close_ms;         /* k.T */
  double open, high, low, close, volume;
  double quote_volume, trade_count, taker_buy_base, taker_buy_quote;
  /* trade (aggTrade: a id, p price, q qty, m buyer is maker) */
  int64_t id;               /* trade: a; quote: u (update id) */
  double price, qty;
  int buyer_is_maker;
  /* quote (b/B bid and qty, a/A ask and qty) */
  double bid, bid_qty, ask, ask_qty;
  /* mark (p mark price, r funding rate, T next funding time) */
  double mark, funding_rate;
  int64_t next_funding_ms;
  /* replay: the bar's index in its series */
  size_t replay_i;
} qt_live_event;

/* Parses one Binance websocket message, raw or in a combined stream's
 * {"stream": ..., "data": {...}}: kline, aggTrade, bookTicker (spot's has no
 * "e") and markPriceUpdate, with the exchange's field names (numbers may be
 * strings, as Binance sends them).  QT_OK with *out; QT_DONE for a message
 * with no market data (a subscription reply {"result": null, "id": 1});
 * QT_EPARSE with the reason: not JSON (with jansson's line and column),
 * an unknown event, a missing or bad field named by its path (`kline: field
 * "k.o": not a number ("abc")`), a non-finite or negative price.  No
 * allocation that outlives the call; len may exceed QT_LIVE_MSG_MAX (the
 * stream feed refuses such lines before parsing). */
QT_API int qt_live_parse_binance(const char *msg, size_t len, qt_live_event *out, qt_err *err);

/* What a feed has seen.  bad = not parsed (each logged with the reason);
 * partial = klines not final yet (x false), skipped. */
typedef struct qt_live_counts {
  size_t messages, events, ignored, bad, too_long, partial;
} qt_live_counts;

typedef struct qt_livefeed_vtbl {
  const char *name;
  /* The next event into *out: QT_OK; QT_DONE at the end of the feed;
   * QT_ETIMEOUT when nothing came within timeout_ms (the caller checks its
   * stop flag and calls again); QT_EIO on a read error.  Bad messages are
   * counted and logged, never returned. */
  int (*next)(void *self, qt_live_event *out, int timeout_ms, qt_err *err);
  void (*counts)(const void *self, qt_live_counts *out);
  void (*close)(void *self);
} qt_livefeed_vtbl;

typedef struct qt_livefeed {
  const qt_livefeed_vtbl *vt;
  void *self;
} qt_livefeed;

/* Replay speeds: the wall time between two bars is the bar interval divided
 * by speed; speed 0 is "max" (no waiting). */
/* Parses "1x", "60x", "max" (any positive "<N>x"); QT_EINVAL naming the text. */
QT_API int qt_live_speed_parse(const char *text, double *out_speed, qt_err *err);

/* A replay of loaded bars: for each symbol k, bars[k] rows [from[k], to[k])
 * in time order across symbols (ties: lower k first), as closed-kline
 * events with replay_i set.  The bars are borrowed and must outlive the
 * feed.  skip_through_ms[k]: symbol k's bars with an open time <= it are
 * not sent (a resumed run).  stop (may be NULL): a non-zero value ends a wait early. */
typedef struct qt_live_replay_opts {
  const qt_bars *bars[QT_MARKET_MAX_SYMBOLS];
  const char *symbols[QT_MARKET_MAX_SYMBOLS];
  size_t from[QT_MARKET_MAX_SYMBOLS], to[QT_MARKET_MAX_SYMBOLS];
  int n;
  double speed;
  int64_t skip_through_ms[QT_MARKET_MAX_SYMBOLS];
  volatile sig_atomic_t *stop;
} qt_live_replay_opts;
QT_API int qt_livefeed_replay(const qt_live_replay_opts *o, qt_livefeed *out, qt_err *err);

/* A stream of messages, one per line: path "-" is standard input; a FIFO
 * ends when its writers close it; a regular file is followed as it grows
 * (idle_exit_ms > 0: the feed ends after that long without a new byte at
 * its end; 0: it never ends by itself).  Other lines that fail to parse
 * are counted and logged (qt_log, warn: "feed.jsonl:12: bad message:
 * <reason>"). */
typedef struct qt_live_stream_opts {
  const char *path;
  int64_t idle_exit_ms;
} qt_live_stream_opts;
QT_API int qt_livefeed_stream(const qt_live_stream_opts *o, qt_livefeed *out, qt_err *err);
/* A websocket client of the exchange's streams (libwebsockets): url is
 * ws://host:port/path or wss://... (Binance: wss://stream.binance.com:9443/
 * ws/btcusdt@kline_1m, or a combined /stream?streams=...).  Each text
 * message is parsed as a stream feed's line (bad ones counted and logged);
 * a message longer than QT_LIVE_MSG_MAX is bad.  A dropped connection (or a
 * failed connect) is retried with a back-off from 100 ms doubling to 30 s,
 * and the first kline of each symbol after a reconnect is checked against
 * the last before it: a gap is logged ("gap after reconnect: N bars
 * missing ...") and counted (qt_livefeed_ws_gaps).  idle_exit_ms > 0: the
 * feed ends after that long without a message (tests; 0: never). */
typedef struct qt_live_ws_opts {
  const char *url;
  int64_t idle_exit_ms;
} qt_live_ws_opts;
QT_API int qt_livefeed_ws(const qt_live_ws_opts *o, qt_livefeed *out, qt_err *err);
/* Gaps found after reconnects and reconnects made (0 for another feed). */
QT_API size_t qt_livefeed_ws_gaps(const qt_livefeed *f);
QT_API int qt_livefeed_ws_reconnects(const qt_livefeed *f);
/* Closes a feed (any kind); NULL vt is a no-op. */
QT_API void qt_livefeed_close(qt_livefeed *f);

/* ---- the paper runner (src/live/paper.c) ----
 * One engine per symbol, each running the same strategy with the same
 * params and the backtest's fill model.  Bars of a replay are stepped with
 * qt_engine_step over the loaded series, so a replay is the backtest bit
 * for bit.  Bars of a stream are appended to the symbol's series and the
 * engine reruns that series from its first bar (the strategies' indicator
 * columns are computed over a whole series), which gives the same result
 * as a backtest of the bars so far; the events past those already stored
 * are the new ones.  See docs/paper.md for the durable-state design. */

typedef struct qt_paper_limits {
  double risk_per_trade;  /* max notional of one order that opens or adds, as a fraction of
                           * the symbol's equity (qty is cut to it); 0: none */
  int max_positions;      /* max symbols with a position or a working order at once (an
                           * entry in flight counts); 0: none */
  double max_daily_loss;  /* fraction of the portfolio's equity at the UTC day's first bar:
                           * below it, orders that open or add are refused until the next
                           * UTC day; 0: none */
} qt_paper_limits;

typedef struct qt_paper_status {
  int64_t last_bar_ms;     /* the newest bar of any symbol */
  int64_t lag_ms;          /* wall clock minus that bar's close time (stream feeds) */
  double equity, pnl, start_cash;
  int open_positions;
  size_t n_bars, n_trades, n_orders, n_rejected, n_breaches;
  qt_live_counts feed;
  size_t duplicates, conflicts, out_of_order; /* klines handled as the importer does */
  double last_latency_us;  /* message read to the strategy's order (the last order) */
  double median_latency_us; /* the same, median over the last 4096 bars that ordered */
} qt_paper_status;

typedef struct qt_paper_symbol_sum {
  char symbol[32];
  double pnl, equity, win_rate;
  size_t n_trades, n_wins, n_bars;
  double position;
} qt_paper_symbol_sum;

typedef struct qt_paper_opts {
  const qt_strategy_vtbl *strategy;
  const double *params;              /* spec order; borrowed */
  qt_engine_opts engine;             /* cash is the portfolio's: split evenly over the symbols */
  qt_paper_limits limits;
  qt_storage *storage;               /* NULL: nothing is stored (benchmarks) */
  const char *name;                  /* the run's name in the storage */
  const char *feed_name;             /* "replay" or the stream's path, stored with the run */
  const char *params_json;           /* stored with the run; a resume must match it */
  int n_symbols;
  const char *symbols[QT_MARKET_MAX_SYMBOLS];
  /* replay: the loaded feeds of each symbol (engine feeds, with their
   * instruments) and the simulated range; NULL for a stream */
  const qt_feed *replay_feeds[QT_MARKET_MAX_SYMBOLS];
  int replay_n_feeds[QT_MARKET_MAX_SYMBOLS];
  size_t replay_from[QT_MARKET_MAX_SYMBOLS], replay_to[QT_MARKET_MAX_SYMBOLS];
  qt_instrument inst[QT_MARKET_MAX_SYMBOLS]; /* stream: each symbol's instrument */
  int64_t interval_ms;               /* stream: the bar interval (0: from the klines) */
  int64_t commit_every;              /* commit after this many bars (0: by time only) */
  int64_t commit_ms;                 /* or when this long passed since the last (default 200) */
  volatile sig_atomic_t *stop;       /* non-zero: stop at the next event (SIGTERM) */
  int64_t max_wall_ms;               /* qt_paper_run stops after this long (0: no limit) */
  void (*on_status)(void *ud, const qt_paper_status *st, int final);
  void *ud;
  int64_t status_ms;                 /* on_status at most this often (default 500) */
  /* A live params file's handle (borrowed, replay feeds only; NULL: none):
   * when its version moves, the new set goes to every symbol's strategy
   * before the next bar (future decisions only: resting orders stay until
   * the strategy's next order update), and the equity after each bar goes to
   * it for the history's P&L.  A stream reruns its series from the first
   * bar, so it cannot take one (QT_EINVAL). */
  struct qt_live_params *live_params;
  /* The background HJB optimization (market_maker on a replay; see
   * docs/live.md): every hjb_every_ms (0: off) a thread fits the model to
   * the last 240 bars and runs qt_hjb_optimize with the params in effect
   * (hjb_trials: its search, default 64); when the gap stays above 10% for
   * 3 runs the suggestion is logged and, with hjb_propose and a storage,
   * filed as pending adjustments (reason hjb_gap), never applied. */
  int64_t hjb_every_ms;
  int hjb_trials;
  int hjb_propose;
} qt_paper_opts;

QT_API qt_paper_opts qt_paper_opts_default(void);
/* params (spec order) as a JSON object in buf, names sorted as in the spec,
 * ints as integers, categoricals by label: what a run stores and a resume
 * compares.  Returns buf (truncated, still NUL-terminated, when cap is short). */
QT_API char *qt_paper_params_json(const qt_strategy_vtbl *s, const double *p, char *buf,
                                  size_t cap);

typedef struct qt_paper qt_paper;

/* Opens (or resumes, by name, when the storage has the run) a paper run: a
 * resume replays the stored bars (stream) or the feed's bars up to the last
 * committed one (replay) with nothing written, then checks that what it
 * rebuilt matches what is stored (the counts of orders and trades per
 * symbol) before going on.  QT_ESTATE when the stored run differs in
 * strategy, params, feed or symbols, or is done. */
QT_API int qt_paper_open(const qt_paper_opts *o, qt_paper **out, qt_err *err);
/* Symbol k's newest bar time already committed (0 for a new run): a replay
 * feed skips through it. */
QT_API int64_t qt_paper_resume_ms(const qt_paper *p, int k);
/* Runs until the feed ends (QT_DONE: a replay is marked done, a stream
 * stopped), the stop flag is set or max_wall_ms passed (QT_OK: marked
 * stopped, resumable), or an error. */
QT_API int qt_paper_run(qt_paper *p, qt_livefeed *feed, qt_err *err);
/* The same loop in pieces, for a caller that feeds several runners from one
 * feed (a campaign): one event (events of other symbols are ignored); a
 * pause of the feed (pending writes are committed); the end (as
 * qt_paper_run's: the final commit and status). */
QT_API int qt_paper_event(qt_paper *p, const qt_live_event *ev, qt_err *err);
QT_API int qt_paper_idle(qt_paper *p, qt_err *err);
QT_API int qt_paper_end(qt_paper *p, int feed_ended, qt_err *err);
/* Symbol k's result so far (qt_engine_peek of its engine; k < n_symbols):
 * what `qtune backtest` writes as --trades, --equity and --orders. */
QT_API void qt_paper_result(const qt_paper *p, int k, qt_result *out);
/* Symbol k's engine feeds (for the report writers). */
QT_API const qt_feed *qt_paper_feeds(const qt_paper *p, int k, int *out_n);
/* Per-symbol and portfolio (sum, last row) P&L, equity, trades and win
 * rate into out[0..n_symbols]; returns n_symbols. */
QT_API int qt_paper_summary(const qt_paper *p, qt_paper_symbol_sum *out, size_t cap);
QT_API void qt_paper_status_get(const qt_paper *p, qt_paper_status *out);
QT_API void qt_paper_free(qt_paper *p);
/* ---- paper campaigns (src/live/campaign.c) ----
 * One paper run per parameter combination (a grid, or random samples of
 * it), the other parameters at their given values; each campaign's result
 * is a tuning_results row. */
#define QT_CAMPAIGN_MAX_AXES 16
#define QT_CAMPAIGN_MAX_VALUES 64

typedef struct qt_campaign_axis {
  char name[64];
  int param;                          /* index in the strategy's spec */
  double values[QT_CAMPAIGN_MAX_VALUES];
  size_t n;
} qt_campaign_axis;

/* Parses "name=v1,v2,..." for strategy s (values in user units, checked
 * against the spec: "--grid min_spread_bps: 500 is above the maximum 200").
 * QT_EINVAL naming the part at fault. */
QT_API int qt_campaign_parse_axis(const qt_strategy_vtbl *s, const char *text,
                                  qt_campaign_axis *out, qt_err *err);

enum { QT_CAMPAIGN_GRID = 0, QT_CAMPAIGN_RANDOM = 1 };

/* The combinations: every one of the grid in order (the last axis fastest),
 * or `samples` distinct ones drawn with the seed (all of them when the grid
 * has fewer).  out_params is n x s->n_params (base params with the axes
 * set), the caller's to qt_free. */
QT_API int qt_campaign_combos(const qt_strategy_vtbl *s, const double *base,
                              const qt_campaign_axis *axes, size_t n_axes, int mode,
                              size_t samples, uint64_t seed, double **out_params, size_t *out_n,
                              qt_err *err);

typedef struct qt_campaign_opts {
  qt_paper_opts paper;     /* the template: strategy, engine, limits, symbols, replay feeds
                            * (the combination's params replace params; no storage) */
  const double *combos;    /* n_combos x n_params */
  size_t n_combos;
  int jobs;                /* campaigns at once (threads, replay only; default 1) */
  double speed;            /* replay speed (0: max) */
  const char *stream_path; /* a stream feed (a path, "-", or a ws:// or wss:// URL) instead
                            * of a replay: every campaign reads the same messages (one
                            * reader, all campaigns at once) */
  int64_t idle_exit_ms;
  const char *session_id;
  volatile sig_atomic_t *stop;
} qt_campaign_opts;

/* Runs every combination (duration: paper.max_wall_ms each) and fills
 * out[0..n_combos) (caller storage): one tuning result per campaign, with
 * param_set as JSON, the P&L and trade counts summed over the symbols
 * (total_trades = closed trades; entries = closed trades + positions open
 * at the end; exits = closed trades), winrate = winning / closed, test_mode
 * 1 for a replay.  ok[k] is 0 for a campaign that failed (its message in
 * the log).  Returns QT_OK when every campaign ran, else the first error. */
QT_API int qt_campaign_run(const qt_campaign_opts *o, qt_tuning_result_rec *out, int *ok,
                           qt_err *err);
/* The metrics a campaign ranks by: "pnl" (total_pnl), "winrate", "trades"
 * (total_trades), "avg_pnl" (avg_pnl_per_trade), all larger-is-better.
 * QT_EINVAL for another name (the message lists these). */
QT_API int qt_campaign_metric(const char *name, int *out_metric, qt_err *err);
QT_API double qt_campaign_metric_value(const qt_tuning_result_rec *r, int metric);
/* order[0..*out_n): the campaigns with ok[k] set, best first by metric
 * (ties: lower campaign_id first).  QT_EINVAL when a value is not finite
 * (the ranking would not be sortable), naming the campaign. */
QT_API int qt_campaign_rank(const qt_tuning_result_rec *rows, const int *ok, size_t n,
                            int metric, size_t *order, size_t *out_n, qt_err *err);
/* ==== end feeds and the paper runner ==== */

/* ==================================================================
 * Live parameter files (src/live/params_file.c)
 * ==================================================================
 * A flat JSON object of parameter values that a running strategy takes
 * while it runs: validated against the strategy's spec, hot-reloaded by a
 * watcher thread (inotify on the file's folder, so an editor's
 * rename-over is seen; a poll every 5 s where inotify is unavailable),
 * limited in its step per reload if asked, and kept in a history beside the
 * file (<file>.history.jsonl, one JSON object per applied set) for
 * `qtune live history` and `qtune live revert`.
 *
 * Limits of the outside input: a params file is at most QT_LIVE_FILE_MAX
 * bytes; a history line at most QT_LIVE_LINE_MAX bytes (longer lines are
 * refused when read, naming the line). */
#define QT_LIVE_FILE_MAX (1024 * 1024)
#define QT_LIVE_LINE_MAX 8192
#define QT_LIVE_MAX_PARAMS 256 /* parameters of a strategy this module handles */

/* The second of the three outcomes of a reload: no file at the path; the
 * current parameters are kept.  Positive: not an error. */
#define QT_LIVE_NOT_FOUND 1

typedef struct qt_live_params qt_live_params;

typedef struct qt_live_params_opts {
  double max_step_pct; /* > 0: a set that moves any parameter by more than this percent of
                        * its current value (of its range when the value is 0) is refused;
                        * 0 (default): no limit */
  const char *run;     /* run name recorded in the history (copied; default "default") */
  int keep_history;    /* 1 (default): append every applied set to <path>.history.jsonl */
  int poll_ms;         /* the watcher's poll interval without inotify (default 5000) */
  int force_poll;      /* 1: poll even where inotify works (the benchmark's baseline) */
  /* Called after every applied set (reload, update, watcher), from the
   * thread that applied it, outside the lock; may be NULL. */
  void (*on_apply)(void *ud, uint64_t version);
  void *on_apply_ud;
} qt_live_params_opts;
QT_API qt_live_params_opts qt_live_params_opts_default(void);

/* A handle for the live params file at path for strategy s (borrowed; it
 * must outlive the handle), starting from initial[s->n_params] (spec order,
 * user units), which are not checked against the file.  Nothing is read
 * yet.  QT_EINVAL for a strategy with more than QT_LIVE_MAX_PARAMS params. */
QT_API int qt_live_params_new(const qt_strategy_vtbl *s, const char *path, const double *initial,
                              const qt_live_params_opts *o, qt_live_params **out, qt_err *err);
/* Stops the watcher if it runs, then frees; NULL is a no-op. */
QT_API void qt_live_params_free(qt_live_params *lp);

/* Reads and applies the file.  The three outcomes: QT_OK (reloaded; logs
 * `Tuning parameters reloaded successfully`), QT_LIVE_NOT_FOUND (no file:
 * current parameters kept) and an error < 0 (invalid JSON with line and
 * column, an unknown name, a value out of range, a step over the limit; the
 * message names the file and line; logs `Failed to reload config: <msg>`;
 * current parameters kept).  Names the file leaves out keep their values. */
QT_API int qt_live_params_reload(qt_live_params *lp, qt_err *err);
/* Applies p[s->n_params] directly, validated as a file is.  QT_OK or an
 * error (current parameters kept). */
QT_API int qt_live_params_update(qt_live_params *lp, const double *p, qt_err *err);
/* Copies the current parameters into out_p[s->n_params]; returns their
 * version (1 for the initial set, +1 per applied set).  Takes a lock:
 * call it when qt_live_params_version() changed, not every bar. */
QT_API uint64_t qt_live_params_get(qt_live_params *lp, double *out_p);
/* The current version, lock-free (an atomic load): cheap enough per bar. */
QT_API uint64_t qt_live_params_version(const qt_live_params *lp);
/* The runner's equity now, recorded with the next applied set so the
 * history shows the P&L of each set (NaN: unknown). */
QT_API void qt_live_params_set_equity(qt_live_params *lp, double equity);
/* The P&L of the set in effect so far: the last equity given minus the
 * equity when the set took effect (NaN when either is unknown). */
QT_API double qt_live_params_pnl(qt_live_params *lp);

/* Starts the watcher thread: on a change of the file it reloads and logs
 * `Auto-reloaded tuning parameters` or `Failed to reload config: <msg>`
 * (a deleted file: a warning, parameters kept).  QT_ESTATE when it runs. */
QT_API int qt_live_params_watch(qt_live_params *lp, qt_err *err);
/* Stops and joins the watcher; a no-op when it does not run. */
QT_API void qt_live_params_unwatch(qt_live_params *lp);
/* "inotify", "poll" or "off" (static). */
QT_API const char *qt_live_params_watch_mode(const qt_live_params *lp);

/* ---- the checks on their own ---- */
/* p[s->n_params] within the spec: the first value out of range gives
 * QT_EINVAL with exactly `Invalid parameter: NAME must be in [LO, HI], got V`
 * (bounds with one decimal at least: [0.0, 2.0]). */
QT_API int qt_live_params_check(const qt_strategy_vtbl *s, const double *p, qt_err *err);
/* from -> to moves no parameter by more than max_pct percent (see
 * max_step_pct); QT_EINVAL naming the parameter, both values and the limit. */
QT_API int qt_live_params_step_check(const qt_strategy_vtbl *s, const double *from,
                                     const double *to, double max_pct, qt_err *err);
/* Parses a file's text (file names it in messages) over current into
 * out_p (both s->n_params; out_p may be current), then checks it. */
QT_API int qt_live_params_parse(const qt_strategy_vtbl *s, const char *text, size_t len,
                                const char *file, const double *current, double *out_p,
                                qt_err *err);
/* Writes p as a flat JSON object (all of s's parameters, spec order) to
 * path atomically (core's writer: temp file, fsync, rename). */
QT_API int qt_live_params_write(const qt_strategy_vtbl *s, const char *path, const double *p,
                                qt_err *err);

/* ---- the history beside the file ---- */
typedef struct qt_live_history_entry {
  int64_t ts_ms;       /* when the set took effect */
  char run[128];
  char strategy[128];
  char source[16];     /* "reload", "update", "watch", "revert" */
  double equity;       /* the runner's equity when it took effect (NaN: unknown) */
  char params[QT_LIVE_LINE_MAX]; /* the set, a compact JSON object */
} qt_live_history_entry;
/* The history path of a params file: "<path>.history.jsonl" into buf. */
QT_API char *qt_live_history_path(const char *params_path, char *buf, size_t cap);
/* The entries of run (NULL: all) in the history of params_path, oldest
 * first.  *out (free with qt_free) is NULL and *out_n 0 when there is no
 * history.  QT_EPARSE naming the file and line of a bad line. */
QT_API int qt_live_history_load(const char *params_path, const char *run,
                                qt_live_history_entry **out, size_t *out_n, qt_err *err);
/* Writes the set before run's last one to params_path (atomically, so a
 * watching runner reloads it) and records it with source "revert";
 * *out_entry (may be NULL) gets the set written.  The set is checked
 * against the built-in named in the entry when there is one.  QT_ESTATE
 * when run has fewer than two sets. */
QT_API int qt_live_revert(const char *params_path, const char *run,
                          qt_live_history_entry *out_entry, qt_err *err);

/* ==================================================================
 * Websocket client for the exchange's streams (src/live/ws_client.c)
 * ==================================================================
 * Connects to a ws:// or wss:// URL (Binance's "wss://fstream.binance.com/
 * stream?streams=btcusdt@kline_1m/btcusdt@aggTrade/..."), and hands every
 * complete text message to on_message, in arrival order.  It does not
 * interpret the messages beyond two checks: a message must be valid UTF-8
 * and valid JSON (else it is counted as malformed, logged and dropped), and
 * kline messages ({"e":"kline","s":..,"k":{"t":..,"i":..}}, bare or inside a
 * combined stream's {"stream":..,"data":..}) have their open times tracked
 * per (symbol, interval): when one skips ahead of the previous one by more
 * than the interval, the missing open times are logged and reported to
 * on_gap (after a reconnect, or at any time), so the runner can backfill.
 *
 * Built on libwebsockets.  A dropped or refused connection is retried with
 * exponential back-off (backoff_ms doubled per failed try, at most
 * backoff_max_ms, reset by a connection that opens); a normal close by the
 * server (the exchange closes every 24 h) is reconnected the same way.  The
 * server's pings are answered by the library; the client pings after
 * ping_ms without traffic and drops the connection (then reconnects) when
 * no pong comes within pong_timeout_ms.
 *
 * Limits of the outside input: a message (all its fragments) is at most
 * max_message bytes (default QT_WS_MAX_MESSAGE); a longer one is counted
 * as oversized and dropped, the connection kept.  Binary messages are
 * counted and dropped (the exchange sends text).  At most QT_WS_MAX_STREAMS
 * (symbol, interval) kline streams are gap-checked; more are not. */
#define QT_WS_MAX_MESSAGE (1024 * 1024)
#define QT_WS_MAX_STREAMS 64

typedef struct qt_ws_client qt_ws_client;

/* A hole in a kline stream: open times [from_ms, to_ms) never arrived. */
typedef struct qt_ws_gap {
  const char *symbol;   /* borrowed: valid during the callback */
  const char *interval; /* "1m" */
  int64_t interval_ms;
  int64_t from_ms, to_ms;
  int after_reconnect;  /* 1 when the first kline of a new connection skips */
} qt_ws_gap;

typedef struct qt_ws_stats {
  uint64_t messages;    /* delivered to on_message */
  uint64_t bytes;       /* of those */
  uint64_t malformed;   /* text that is not UTF-8 or not JSON: dropped */
  uint64_t oversized;   /* longer than max_message: dropped */
  uint64_t binary;      /* binary messages: dropped */
  uint64_t connects;    /* connections opened */
  uint64_t reconnects;  /* of those, after the first */
  uint64_t failures;    /* tries that failed or connections that dropped */
  uint64_t gaps;        /* reported to on_gap */
  uint64_t pings_sent, pongs_received;
} qt_ws_stats;

typedef struct qt_ws_opts {
  const char *url;              /* ws://host[:port]/path or wss://... (required) */
  void (*on_message)(void *ctx, const char *msg, size_t len); /* required; msg is
                                 * NUL-terminated at len, borrowed for the call */
  void (*on_gap)(void *ctx, const qt_ws_gap *gap);            /* may be NULL */
  void *ctx;
  size_t max_message;           /* default QT_WS_MAX_MESSAGE */
  int64_t backoff_ms;           /* default 250 */
  int64_t backoff_max_ms;       /* default 30000 */
  int max_failures;             /* failed tries in a row before qt_ws_run gives
                                 * up; default -1: never */
  int64_t ping_ms;              /* default 30000; 0: no client pings */
  int64_t pong_timeout_ms;      /* default 10000 */
  const char *ca_file;          /* wss: a CA bundle; NULL: the system's */
} qt_ws_opts;
QT_API qt_ws_opts qt_ws_opts_default(void);

/* Makes a client (no connection yet).  QT_EINVAL naming a bad URL or
 * option, QT_ENOMEM, QT_EIO when libwebsockets cannot start. */
QT_API int qt_ws_new(const qt_ws_opts *o, qt_ws_client **out, qt_err *err);
/* Connects and runs the callbacks on the calling thread until qt_ws_stop
 * (QT_OK) or max_failures tries in a row failed (QT_EIO, naming the last
 * reason).  Call once per client. */
QT_API int qt_ws_run(qt_ws_client *c, qt_err *err);
/* Asks qt_ws_run to return; safe from any thread and from the callbacks. */
QT_API void qt_ws_stop(qt_ws_client *c);
/* The counters so far; from the callbacks or after qt_ws_run returned. */
QT_API void qt_ws_stats_get(const qt_ws_client *c, qt_ws_stats *out);
/* Closes and releases; NULL is a no-op. */
QT_API void qt_ws_free(qt_ws_client *c);

#endif
