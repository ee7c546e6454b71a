/* qtune data: market series in memory (columnar), the on-disk catalog,
 * importers for the exchanges' CSV dumps, verification, resampling and
 * synthetic markets.  No trading logic lives here. */
#ifndef QTUNE_QTUNE_DATA_H
#define QTUNE_QTUNE_DATA_H

#include "qtune/core.h"

#include <stdio.h>

/* The kinds of series a catalog holds. */
typedef enum qt_kind {
  QT_KIND_BARS = 0,
  QT_KIND_TRADES = 1,
  QT_KIND_FUNDING = 2,
  QT_KIND_QUOTES = 3
} qt_kind;
#define QT_KIND_COUNT 4
/* "bars", "trades", "funding", "quotes"; static. */
QT_API const char *qt_kind_name(qt_kind k);
QT_API int qt_kind_parse(const char *s, qt_kind *out);

/* Memory behind a series: owned heap columns or a read-only file map. */
typedef struct qt_backing {
  void *base;      /* one block holding every column */
  size_t len;      /* bytes of that block (or of the map) */
  int mapped;      /* 1: munmap on fini, 0: qt_free */
} qt_backing;

/* OHLCV bars, one column per field, all n long.  interval_ms is the bar
 * length (0 when unknown/irregular).  Plain data: the hot loop reads it. */
typedef struct qt_bars {
  size_t n;
  int64_t interval_ms;
  int64_t *ts_ms; /* bar open time */
  double *open, *high, *low, *close, *volume;
  double *quote_volume, *trade_count, *taker_buy_base, *taker_buy_quote;
  qt_backing mem;
} qt_bars;

typedef struct qt_trades {
  size_t n;
  int64_t *ts_ms;
  int64_t *id;
  double *price, *qty;
  uint8_t *buyer_is_maker; /* 1: the taker sold */
  qt_backing mem;
} qt_trades;

typedef struct qt_funding {
  size_t n;
  int64_t *ts_ms;       /* settlement time */
  double *rate;         /* per interval, 0.0001 = 0.01% */
  double *interval_h;
  qt_backing mem;
} qt_funding;

typedef struct qt_quotes {
  size_t n;
  int64_t *ts_ms;
  double *bid, *bid_qty, *ask, *ask_qty;
  qt_backing mem;
} qt_quotes;

/* Allocate n rows of zeroed columns (one block); fini releases heap or map.
 * fini on a zeroed struct is a no-op.  *_alloc fails with QT_ENOMEM. */
QT_API int qt_bars_alloc(qt_bars *b, size_t n, qt_err *err);
QT_API void qt_bars_fini(qt_bars *b);
QT_API int qt_trades_alloc(qt_trades *t, size_t n, qt_err *err);
QT_API void qt_trades_fini(qt_trades *t);
QT_API int qt_funding_alloc(qt_funding *f, size_t n, qt_err *err);
QT_API void qt_funding_fini(qt_funding *f);
QT_API int qt_quotes_alloc(qt_quotes *q, size_t n, qt_err *err);
QT_API void qt_quotes_fini(qt_quotes *q);

/* A view of rows [from, to) of b that shares b's memory (mem.base = NULL, so
 * fini of the view is a no-op).  Used for date ranges and look-ahead checks. */
QT_API qt_bars qt_bars_slice(const qt_bars *b, size_t from, size_t to);
/* Index of the first bar with ts_ms >= t (n if none); binary search. */
QT_API size_t qt_bars_lower_bound(const qt_bars *b, int64_t t);

/* What a study pins of its data (src/optimize) so a resume on other data is
 * refused: the row count, the first and last open time (0 when empty) and a
 * checksum of the bars (64-bit FNV-1a style, one 8-byte word at a time over
 * the columns ts_ms, open, high, low, close, volume, in that order; the bit
 * patterns, so -0.0 and 0.0 differ).  Linear in n, no allocation. */
typedef struct qt_bars_fp {
  size_t n;
  int64_t first_ms, last_ms;
  uint64_t checksum;
} qt_bars_fp;
QT_API void qt_bars_fingerprint(const qt_bars *b, qt_bars_fp *out);

/* ---- catalog: CATALOG/<SYMBOL>/<kind>/data.qtc, columnar binary files
 * with a header (magic, version, row count, checksum), loaded with mmap.
 * Writes go to a temp file and are renamed into place.  A second venue of a
 * symbol is stored as the symbol "<SYMBOL>.B". ---- */
typedef struct qt_catalog qt_catalog;

/* Opens (create = 1: creates if missing) a catalog directory.  A directory
 * that exists but is not a catalog is QT_EINVAL with a message naming it. */
QT_API int qt_catalog_open(const char *dir, int create, qt_catalog **out, qt_err *err);
QT_API void qt_catalog_close(qt_catalog *c);
QT_API const char *qt_catalog_dir(const qt_catalog *c);
/* Replaces the series of (symbol, kind) with the given rows (sorted by ts_ms).
 * Returns 1 (QT_DONE) when the stored file already held exactly these rows
 * and nothing was written. */
QT_API int qt_catalog_put_bars(qt_catalog *c, const char *symbol, const qt_bars *b, qt_err *err);
QT_API int qt_catalog_put_trades(qt_catalog *c, const char *symbol, const qt_trades *t, qt_err *err);
QT_API int qt_catalog_put_funding(qt_catalog *c, const char *symbol, const qt_funding *f, qt_err *err);
QT_API int qt_catalog_put_quotes(qt_catalog *c, const char *symbol, const qt_quotes *q, qt_err *err);
/* Loads a series read-only by mmap (checksum verified); release with the
 * kind's fini.  QT_ENOTFOUND when the catalog has no such series. */
QT_API int qt_catalog_get_bars(qt_catalog *c, const char *symbol, qt_bars *out, qt_err *err);
QT_API int qt_catalog_get_trades(qt_catalog *c, const char *symbol, qt_trades *out, qt_err *err);
QT_API int qt_catalog_get_funding(qt_catalog *c, const char *symbol, qt_funding *out, qt_err *err);
QT_API int qt_catalog_get_quotes(qt_catalog *c, const char *symbol, qt_quotes *out, qt_err *err);

/* One stored series, for `qtune data info`. */
typedef struct qt_catalog_entry {
  char symbol[64];
  int kind;
  size_t n;
  int64_t first_ms, last_ms;
  int64_t interval_ms; /* bars only */
} qt_catalog_entry;
/* Lists the stored series into out[0..cap), sorted by symbol then kind;
 * *out_n is the total (may exceed cap). */
QT_API int qt_catalog_list(qt_catalog *c, qt_catalog_entry *out, size_t cap, size_t *out_n,
                           qt_err *err);

/* ---- verify, resample, synth ---- */

/* The checks of qt_verify_*: one list makes the enum and the names.  Which
 * kinds run which check is in docs/verify.md. */
#define QT_VERIFY_CHECKS(X)                                                    \
  X(GAP, "gap", "step longer than gap_factor x interval")                     \
  X(DUPLICATE, "duplicate", "timestamp equal to the previous row's")          \
  X(OUT_OF_ORDER, "out_of_order", "timestamp earlier than the previous row's") \
  X(MISALIGNED, "misaligned", "step not a whole number of intervals")         \
  X(OHLC, "ohlc", "low/high do not enclose open and close, or low > high")    \
  X(BAD_PRICE, "bad_price", "price not finite, not positive or above 1e12")   \
  X(BAD_VOLUME, "bad_volume", "volume/qty negative, not finite, or taker > total") \
  X(DUPLICATE_ID, "duplicate_id", "trade id seen before")                     \
  X(BAD_RATE, "bad_rate", "funding rate or interval not finite")              \
  X(IRREGULAR, "irregular", "funding step differs from its interval")         \
  X(CROSSED, "crossed", "bid above ask")                                      \
  X(SPIKE, "spike", "bar range > spike_factor x the median range of its neighbours")

typedef enum qt_check {
#define QT__CHECK_ENUM(id, name, text) QT_CHECK_##id,
  QT_VERIFY_CHECKS(QT__CHECK_ENUM)
#undef QT__CHECK_ENUM
  QT_CHECK_COUNT
} qt_check;
/* "gap", "ohlc", ...; static, never NULL. */
QT_API const char *qt_check_name(int check);

/* Most findings a report lists (the counts are always complete). */
#define QT_VERIFY_MAX_LISTED 256

typedef struct qt_finding {
  int check;       /* qt_check */
  size_t row;      /* the offending row (a gap: the first row after it) */
  int64_t ts_ms;   /* that row's timestamp */
  int64_t prev_ms; /* the previous row's timestamp (gap start), 0 for row 0 */
  int64_t missing; /* gaps: whole intervals missing in between; else 0 */
} qt_finding;

typedef struct qt_verify_opts {
  double gap_factor;   /* a gap is a step > gap_factor * interval; 1 = any missing bar */
  int64_t interval_ms; /* 0: the series' own (bars) or inferred; see docs/verify.md */
  size_t max_listed;   /* findings kept in the report, <= QT_VERIFY_MAX_LISTED */
  double spike_factor; /* bars: a range (high - low) above spike_factor times the median
                        * range of the QT_VERIFY_SPIKE_WINDOW bars on each side (at least
                        * QT_VERIFY_SPIKE_FLOOR x close) is a spike; 0 turns it off */
} qt_verify_opts;
#define QT_VERIFY_SPIKE_WINDOW 10
#define QT_VERIFY_SPIKE_FLOOR 0.001
/* gap_factor 1, interval from the data, 20 listed, spike_factor 50. */
QT_API qt_verify_opts qt_verify_opts_default(void);

/* Plain data, no heap: lives on the caller's stack. */
typedef struct qt_verify_report {
  int kind;                        /* qt_kind verified */
  size_t n_rows;
  int64_t interval_ms;             /* the interval the gap checks used (0: none) */
  int64_t first_ms, last_ms;
  size_t counts[QT_CHECK_COUNT];   /* findings per check */
  size_t n_findings;               /* sum of counts */
  int64_t missing_total;           /* intervals missing over all gaps */
  size_t n_listed;
  qt_finding listed[QT_VERIFY_MAX_LISTED]; /* the first n_listed findings, in row order */
} qt_verify_report;

/* Each runs every check of its kind over the series in one pass and fills
 * *out (reset first).  Findings are not errors: the return is QT_OK with
 * out->n_findings counting them.  Errors: QT_EINVAL for bad options,
 * QT_ENOMEM (trades only: non-increasing ids need one sorted copy). */
QT_API int qt_verify_bars(const qt_bars *b, const qt_verify_opts *o, qt_verify_report *out,
                          qt_err *err);
QT_API int qt_verify_trades(const qt_trades *t, const qt_verify_opts *o, qt_verify_report *out,
                            qt_err *err);
QT_API int qt_verify_funding(const qt_funding *f, const qt_verify_opts *o,
                             qt_verify_report *out, qt_err *err);
QT_API int qt_verify_quotes(const qt_quotes *q, const qt_verify_opts *o, qt_verify_report *out,
                            qt_err *err);
/* Writes the report as text lines, or as one JSON object (see docs/verify.md
 * for its fields); `label` names the series ("BTCUSDT bars").  QT_EIO when
 * the write fails, QT_ENOMEM. */
QT_API int qt_verify_report_write_text(const qt_verify_report *r, const char *label, FILE *f,
                                       qt_err *err);
QT_API int qt_verify_report_write_json(const qt_verify_report *r, const char *label, FILE *f,
                                       qt_err *err);

/* What resampling does with a bucket missing some of its source bars.
 * Buckets no source bar falls in are never emitted. */
typedef enum qt_partial {
  QT_PARTIAL_DROP_EDGES = 0, /* default: drop an incomplete first/last bucket, keep inner ones */
  QT_PARTIAL_KEEP = 1,       /* keep every bucket */
  QT_PARTIAL_DROP = 2        /* drop every incomplete bucket */
} qt_partial;

typedef struct qt_resample_opts {
  int64_t to_ms;      /* target interval: a whole multiple of the source's */
  int partial;        /* qt_partial */
} qt_resample_opts;
QT_API qt_resample_opts qt_resample_opts_default(void); /* 1h, QT_PARTIAL_DROP_EDGES */

/* What a resample did: buckets seen, kept incomplete ones and drops. */
typedef struct qt_resample_info {
  size_t n_buckets;        /* non-empty buckets of the input */
  size_t n_incomplete;     /* incomplete buckets among those kept */
  size_t n_dropped;        /* incomplete buckets dropped */
  int64_t first_incomplete_ms; /* open time of the first kept incomplete bucket, or 0 */
} qt_resample_info;

/* Aggregates bars (strictly increasing ts_ms, interval_ms > 0) into buckets
 * [k*to_ms, (k+1)*to_ms) from the epoch: open first, high max, low min,
 * close last, volume/quote_volume/trade_count/taker columns summed.  *out is
 * allocated (qt_bars_alloc for a bound, out->n = the bars kept; interval_ms
 * = to_ms); release with qt_bars_fini.  info may be NULL.
 * QT_EINVAL: to_ms not a multiple of the interval, unknown interval,
 * unsorted input.  QT_ENOMEM. */
QT_API int qt_resample_bars(const qt_bars *in, const qt_resample_opts *o, qt_bars *out,
                            qt_resample_info *info, qt_err *err);

typedef struct qt_trade_bars_opts {
  int64_t interval_ms; /* bar length; buckets are epoch multiples of it */
  int fill_empty;      /* 1: an interval without trades between two that have
                          them becomes a flat bar at the last price, volume 0 */
} qt_trade_bars_opts;
QT_API qt_trade_bars_opts qt_trade_bars_opts_default(void); /* 1m, no filling */

/* Bars from trades (non-decreasing ts_ms): OHLC of trade prices, volume =
 * sum qty, quote_volume = sum price*qty, trade_count, taker buy columns from
 * trades with buyer_is_maker == 0.  *out allocated.  QT_EINVAL on unsorted
 * trades or a bad interval, QT_ENOMEM. */
QT_API int qt_bars_from_trades(const qt_trades *t, const qt_trade_bars_opts *o, qt_bars *out,
                               qt_err *err);
/* Copies the trades, funding and quotes stored for `symbol` to `out_symbol`
 * unchanged, so a resampled symbol keeps what a backtest reads beside its
 * bars.  Kinds the catalog does not hold for symbol are skipped.  out_n
 * (may be NULL) gets the rows copied per qt_kind (bars stay 0).  QT_EINVAL
 * when the symbols are equal; otherwise the errors of qt_catalog_get_* and put_*. */
QT_API int qt_resample_carry_series(qt_catalog *c, const char *symbol, const char *out_symbol,
                                    size_t out_n[QT_KIND_COUNT], qt_err *err);

/* Synthetic markets (docs/synthetic.md has the model and every parameter).
 * Everything flows from opts.seed: the same options give the same bytes. */
typedef enum qt_regime {
  QT_REGIME_UP = 0,
  QT_REGIME_DOWN = 1,
  QT_REGIME_RANGE = 2,
  QT_REGIME_VOLATILE = 3
} qt_regime;
#define QT_REGIME_COUNT 4
/* "up", "down", "range", "volatile"; static, never NULL. */
QT_API const char *qt_regime_name(int regime);

typedef struct qt_synth_opts {
  uint64_t seed;
  int days;                    /* length: days * 1440 one-minute bars */
  int64_t start_ms;            /* first bar open; a whole minute */
  double start_price;
  double tick;                 /* price grid */
  double lot;                  /* quantity grid */
  double vol_daily;            /* stdev of log returns per day, trend regimes */
  double trend_daily;          /* drift of log price per day, up (+) and down (-) */
  double range_revert_min;     /* range regime: mean-reversion time (minutes) to its anchor */
  double vol_mult[QT_REGIME_COUNT];       /* volatility multiplier per regime */
  double duration_min[QT_REGIME_COUNT];   /* mean regime length (minutes, geometric) */
  double jumps_per_day;        /* Poisson rate of jumps (x4 in the volatile regime) */
  double jump_sigma;           /* stdev of a jump's log size */
  double trades_per_min;       /* mean trades per bar (before activity scaling) */
  double qty_mean;             /* mean trade quantity (base units) */
  double taker_lean;           /* P(taker buy) = 0.5 +- lean with the tick direction */
  double funding_base;         /* funding rate with no trend (per 8h) */
  double funding_gain;         /* rate added per unit of daily drift */
  double funding_noise;        /* stdev of the rate's noise */
  int64_t quote_interval_ms;   /* top-of-book sampling step */
  double spread_bps;           /* mean quoted spread */
  double venue_b_sd_bps;       /* stationary stdev of the venue B price difference */
  double venue_b_half_life_min;/* its mean-reversion half-life */
  double venue_b_volume_share; /* venue B volume relative to A */
  double venue_b_disloc_per_day;      /* Poisson rate of B dislocations (x vol_mult of the regime) */
  double venue_b_disloc_min_bps;      /* a dislocation's size: uniform in [min, max], random sign */
  double venue_b_disloc_max_bps;
  double venue_b_disloc_half_life_min;/* dislocations decay with this (fast) half-life */
} qt_synth_opts;
QT_API qt_synth_opts qt_synth_opts_default(void);

/* A generated market: venue A's series, venue B's bars and quotes, and the
 * regime of every bar (regime[i] for bars.ts_ms[i]).  Owns everything. */
typedef struct qt_synth_market {
  qt_bars bars;
  qt_trades trades;
  qt_funding funding;
  qt_quotes quotes;
  qt_bars bars_b;
  qt_quotes quotes_b;
  uint8_t *regime;
  double *diff_bps;            /* venue B - A price difference per bar (bps) */
} qt_synth_market;

/* Fills *out (zeroed first).  QT_EINVAL names a bad option; QT_ENOMEM. */
QT_API int qt_synth_generate(const qt_synth_opts *o, qt_synth_market *out, qt_err *err);
/* Releases everything; a zeroed market is a no-op. */
QT_API void qt_synth_market_fini(qt_synth_market *m);

/* ---- importers: exchange dumps and common CSV/JSON layouts into series.
 * Inputs may be plain, gzip or zip (every CSV inside); several files merge
 * in time order.  Bars and funding keep one row per timestamp (a later file
 * wins a conflict); trades and quotes keep every distinct row; exact
 * duplicate rows are dropped.  See docs/data.md. ---- */
typedef enum qt_import_format {
  QT_FMT_AUTO = 0,     /* "auto": by header, column count or JSON shape */
  QT_FMT_KLINE,        /* "kline": open_time,open,high,low,close,volume,close_time,... (12) */
  QT_FMT_AGGTRADES,    /* "aggtrades": agg_trade_id,price,quantity,first,last,time,is_buyer_maker */
  QT_FMT_FUNDINGRATE,  /* "fundingrate": calc_time,funding_interval_hours,last_funding_rate */
  QT_FMT_BOOKTICKER,   /* "bookticker": update_id,bid,bid_qty,ask,ask_qty,transaction_time,event_time */
  QT_FMT_CSV,          /* "csv": a header row and a column mapping (opts.columns or by name) */
  QT_FMT_JSON          /* "json": freqtrade candles [[ts,o,h,l,c,v],...] or trades
                        * [[ts,"id",type,"buy"|"sell",price,amount,cost],...] */
} qt_import_format;
#define QT_FMT_COUNT 7
/* "auto", "kline", ...; static. */
QT_API const char *qt_import_format_name(int fmt);
QT_API int qt_import_format_parse(const char *s, int *out);

/* The unit of integer epoch stamps in an input.  One unit holds for a whole
 * document: guessing per value would read a 15-digit millisecond stamp as
 * microseconds.  AUTO takes the unit from the document's first stamp:
 * below 1e11 seconds, below 1e14 ms, below 1e17 us, else ns. */
typedef enum qt_time_unit {
  QT_TIME_UNIT_AUTO = 0,
  QT_TIME_UNIT_S,
  QT_TIME_UNIT_MS,
  QT_TIME_UNIT_US,
  QT_TIME_UNIT_NS
} qt_time_unit;
/* "auto", "s", "ms", "us", "ns" into *out; QT_EINVAL for anything else. */
QT_API int qt_time_unit_parse(const char *s, int *out);

/* Import refuses a row whose values cannot be market data (docs/data.md):
 * a price (open/high/low/close, trade price, bid, ask) not finite, not
 * positive or above this bound, high below max(open, close) or low above
 * min(open, close), and a negative or non-finite volume or quantity. */
#define QT_IMPORT_MAX_PRICE 1e12

/* A gzip or zip document may decompress to at most QT_IMPORT_MAX_RATIO times
 * its compressed size or QT_IMPORT_MAX_INFLATED bytes, whichever is more
 * (the exchanges' CSVs compress 5-10x; a "zip bomb" 1000x), else QT_EINVAL
 * naming the limit.  $QTUNE_MAX_DECOMPRESSED (bytes, or with K, M or G)
 * replaces the limit.  Returns the limit for a file of compressed bytes. */
#define QT_IMPORT_MAX_RATIO 100
#define QT_IMPORT_MAX_INFLATED ((size_t)256 << 20)
QT_API size_t qt_import_max_decompressed(size_t compressed);

typedef struct qt_import_opts {
  int format;          /* qt_import_format (default QT_FMT_AUTO) */
  int kind;            /* qt_kind, or -1 (default): the format's or header's kind */
  const char *columns; /* QT_FMT_CSV mapping "time=Date,open=Open,...": target=source,
                        * source a header name or a 1-based column number */
  int skip_bad;        /* skip malformed or impossible rows (counted) instead of failing */
  const char *date_format; /* time columns of QT_FMT_CSV in this qt_time_parse_fmt format
                            * ("%d/%m/%Y %H:%M"); NULL: epoch/ISO forms by qt_time_parse */
  int time_unit;       /* qt_time_unit of epoch stamps; QT_TIME_UNIT_AUTO (default):
                        * decided once per document from its first stamp's magnitude */
  size_t block_bytes;  /* documents are read in blocks of this size (0: QT_IMPORT_BLOCK) */
  size_t run_rows;     /* qt_import_into_catalog: rows sorted in memory per run before
                        * they go to a temp file (0: QT_IMPORT_RUN_ROWS) */
} qt_import_opts;

/* The streaming import's sizes: a CSV is read QT_IMPORT_BLOCK bytes at a
 * time (a line longer than that grows the block), and its rows are sorted in
 * runs of QT_IMPORT_RUN_ROWS (80 MB of bars) spilled to temp files, so peak
 * memory follows these, not the file.  JSON documents are read whole;
 * funding series (a few rows a day) are merged in memory. */
#define QT_IMPORT_BLOCK ((size_t)1 << 20)
#define QT_IMPORT_RUN_ROWS ((size_t)1 << 20)
QT_API qt_import_opts qt_import_opts_default(void);

typedef struct qt_import_stats {
  size_t files;        /* documents read (a zip entry counts as one) */
  size_t rows_read;    /* data rows seen, bad ones included */
  size_t skipped;      /* malformed or impossible rows skipped (skip_bad) */
  size_t duplicates;   /* exact duplicate rows dropped */
  size_t replaced;     /* bars/funding rows replaced by a later row at the same time */
  size_t rows_kept;    /* rows in the result (after a catalog merge: in the catalog) */
  size_t stored_before;/* rows the catalog held before a merge */
  char first_bad[200]; /* message of the first skipped row ("" when none) */
} qt_import_stats;

/* The result of an import: the series of `kind` (the others stay empty). */
typedef struct qt_import {
  qt_kind kind;
  qt_bars bars;
  qt_trades trades;
  qt_funding funding;
  qt_quotes quotes;
  qt_import_stats stats;
} qt_import;

/* Reads paths[0..n) into *out (owned by the caller: qt_import_fini).  Fails
 * with QT_EPARSE and "FILE:LINE: field 'close': not a number ("1.2.3")" on
 * the first malformed row unless skip_bad; on failure *out is empty. */
QT_API int qt_import_files(const char *const *paths, size_t n_paths, const qt_import_opts *o,
                           qt_import *out, qt_err *err);
QT_API void qt_import_fini(qt_import *im);
/* Merges im's series into the catalog's (symbol, im->kind): the union of the
 * stored and the new rows under the rules above (new rows win conflicts).
 * Returns QT_OK when written, QT_DONE when the catalog already held exactly
 * the result (nothing written).  Updates im->stats (rows_kept,
 * stored_before, duplicates, replaced). */
QT_API int qt_catalog_merge(qt_catalog *c, const char *symbol, qt_import *im, qt_err *err);
/* What qt_import_into_catalog did: the kind, the rows the files gave after
 * their own duplicates went (`imported`), and the stats after the merge
 * (rows_kept: in the catalog). */
typedef struct qt_import_summary {
  qt_kind kind;
  size_t imported;
  qt_import_stats stats;
} qt_import_summary;
/* Imports paths[0..n) into the catalog at dir (created when new, only once
 * every file parsed) under symbol: the result of qt_import_files followed by
 * qt_catalog_merge (the same rules, counts and messages), streamed: each
 * document is read in blocks, its rows sorted in runs spilled to temp files
 * in a folder beside the catalog (".qtune-import.<pid>.<n>"; inside it or in
 * $TMPDIR as fallbacks; removed at the end, and one a killed import left is
 * removed by the next import there), and
 * the runs and the stored series merged in one sorted pass into the new
 * catalog file, under the series' lock, written to a temp name and renamed.
 * Returns QT_OK when written, QT_DONE when the catalog already held exactly
 * the result. */
QT_API int qt_import_into_catalog(const char *dir, const char *symbol, const char *const *paths,
                                  size_t n_paths, const qt_import_opts *o,
                                  qt_import_summary *out, qt_err *err);
/* Whether qt_catalog_get_* verify the payload checksum (default 1).  Off,
 * a load maps the file and checks only the header: O(1) instead of O(n). */
QT_API void qt_catalog_set_verify(qt_catalog *c, int verify);

/* ==================================================================
 * Downloading the exchange's public dumps (src/data/download.c)
 * ==================================================================
 * Fetches Binance's public dump files (data.binance.vision layout:
 * <base>/data/{futures/um|spot}/{monthly|daily}/<kind>/<SYMBOL>/[<interval>/]
 * <SYMBOL>-{<interval>|<kind>}-{YYYY-MM|YYYY-MM-DD}.zip, each with a
 * ".CHECKSUM" file "<sha256 hex>  <name>"), checks every file's sha256, and
 * imports the verified ones with qt_import_files + qt_catalog_merge.  It is
 * not a REST client and fetches nothing but those files.
 *
 * Plan: a month wholly inside [from, to) and already over is one monthly
 * file; the other days are daily files (days not over yet are skipped, and
 * said so).  A monthly file the exchange lacks (HTTP 404) falls back to that
 * month's daily files; fundingRate is published monthly only, so its months
 * are the months [from, to) touches.  Spot has klines and aggTrades only.
 *
 * Cache: CATALOG/.download/<the path on the server> holds each fetched
 * file and its .CHECKSUM; a file there whose sha256 matches is not fetched
 * again (resumable, idempotent: a second run fetches nothing new, and the
 * catalog merge then says "unchanged").  A transfer goes to "<file>.part"
 * and is renamed only once verified; a transfer cut short keeps its part,
 * and the next try (or run) asks for the rest with an HTTP range.
 *
 * Network: at most rate_per_s requests per second; HTTP 429 waits
 * Retry-After (seconds) or the back-off, whichever is longer; 5xx,
 * connection failures and truncated transfers are retried with exponential
 * back-off (backoff_ms, doubled per try, at most backoff_max_ms) up to
 * `retries` times.  404 is "missing"; another 4xx refuses the file.
 *
 * Limits of the outside input: a .CHECKSUM file at most QT_DL_CHECKSUM_MAX
 * bytes, a dump file at most QT_DL_FILE_MAX bytes (a longer transfer is cut
 * and refused); the decompressed size is bounded by qt_import (above). */
#define QT_DL_CHECKSUM_MAX 4096
#define QT_DL_FILE_MAX ((int64_t)16 << 30)
#define QT_DL_DEFAULT_BASE_URL "https://data.binance.vision"

/* The kinds of dump: X(enum suffix, name on the server, qt_kind). */
#define QT_DL_KIND_LIST(X)             \
  X(KLINES, "klines", QT_KIND_BARS)    \
  X(AGGTRADES, "aggTrades", QT_KIND_TRADES) \
  X(FUNDINGRATE, "fundingRate", QT_KIND_FUNDING) \
  X(BOOKTICKER, "bookTicker", QT_KIND_QUOTES)
typedef enum qt_dl_kind {
#define QT__DL_KIND_ENUM(e, name, kind) QT_DL_##e,
  QT_DL_KIND_LIST(QT__DL_KIND_ENUM)
#undef QT__DL_KIND_ENUM
  QT_DL_KIND_COUNT
} qt_dl_kind;
/* "klines", ...; static, "unknown" when out of range. */
QT_API const char *qt_dl_kind_name(int kind);
/* Parses a comma list "klines,aggTrades" (any case) into a bit mask
 * (1u << qt_dl_kind); QT_EINVAL naming an unknown kind. */
QT_API int qt_dl_kinds_parse(const char *list, unsigned *out_mask, qt_err *err);

typedef enum qt_dl_market { QT_DL_MARKET_UM = 0, QT_DL_MARKET_SPOT = 1 } qt_dl_market;
/* "um" or "spot" into *out; QT_EINVAL otherwise. */
QT_API int qt_dl_market_parse(const char *s, int *out);

/* What became of one planned file. */
typedef enum qt_dl_state {
  QT_DL_FETCHED = 0, /* transferred now and verified */
  QT_DL_CACHED,      /* already in the cache and verified: not fetched */
  QT_DL_MISSING,     /* the exchange does not have it (404) */
  QT_DL_REFUSED      /* bad checksum, truncated, too large, or retries spent */
} qt_dl_state;

/* One event for the caller's progress display. */
typedef enum qt_dl_event_type {
  QT_DL_EV_BEGIN = 0, /* a file's transfer starts (name, index, n_files) */
  QT_DL_EV_BYTES,     /* bytes so far (total 0 when unknown); at most ~10/s */
  QT_DL_EV_RETRY,     /* a retry is due after wait_ms (msg: why) */
  QT_DL_EV_DONE,      /* a file is settled: state, msg */
  QT_DL_EV_IMPORT     /* a kind was imported: msg has the counts */
} qt_dl_event_type;
typedef struct qt_dl_event {
  int type;             /* qt_dl_event_type */
  int kind;             /* qt_dl_kind */
  const char *name;     /* the file's name ("BTCUSDT-1m-2024-04.zip"), or a
                         * month ("2024-06") for a wholly missing month */
  size_t index, n_files;/* 1-based position in the plan, plan size */
  int state;            /* qt_dl_state (DONE) */
  int64_t bytes, total; /* BYTES */
  int64_t wait_ms;      /* RETRY */
  const char *msg;      /* DONE/RETRY/IMPORT: one line, no newline */
} qt_dl_event;          /* borrowed: valid during the callback only */

typedef struct qt_download_opts {
  const char *base_url;   /* default QT_DL_DEFAULT_BASE_URL (no trailing '/') */
  const char *symbol;     /* exchange symbol, "BTCUSDT" (required) */
  const char *store_as;   /* catalog symbol; NULL: symbol */
  int market;             /* qt_dl_market (default UM) */
  unsigned kinds;         /* bit mask of qt_dl_kind (default klines) */
  const char *interval;   /* klines interval on the server, default "1m" */
  int64_t from_ms, to_ms; /* [from, to): whole UTC days (required) */
  int64_t now_ms;         /* what has been published; 0: the clock */
  double rate_per_s;      /* default 5 requests per second; <= 0: no limit */
  int retries;            /* default 5 per file */
  int64_t backoff_ms;     /* default 500 */
  int64_t backoff_max_ms; /* default 30000 */
  int64_t timeout_ms;     /* per transfer, default 600000 (0: none) */
  int daily_fallback;     /* default 1: a missing month tries its days */
  int skip_bad;           /* import with qt_import_opts.skip_bad (default 0) */
  void (*on_event)(void *ud, const qt_dl_event *ev); /* may be NULL */
  void *ud;
} qt_download_opts;
QT_API qt_download_opts qt_download_opts_default(void);

typedef struct qt_download_report {
  size_t planned;              /* files in the plan (fallback days included) */
  size_t n_state[4];           /* files per qt_dl_state */
  size_t missing_months;       /* months with neither a monthly nor a daily file */
  size_t not_yet;              /* days skipped because they are not over */
  size_t requests, retries;    /* HTTP requests made, of which retries */
  int64_t bytes;               /* bytes transferred (dump files and checksums) */
  size_t rows[QT_DL_KIND_COUNT];   /* rows now in the catalog per kind imported */
  int written[QT_DL_KIND_COUNT];   /* 1 written, 0 unchanged, -1 nothing imported */
} qt_download_report;

/* Plans, fetches, verifies and imports into the catalog at catalog_dir
 * (created when new or empty).  Returns QT_OK when every planned file is
 * FETCHED or CACHED and imported, QT_DONE when some are MISSING or REFUSED
 * or days are not over yet (the verified ones are imported all the same;
 * each is told through on_event with its reason), and an error (QT_EINVAL bad options, QT_EIO
 * cache/catalog, QT_EPARSE a verified file that does not import) otherwise.
 * *out (may be NULL) is filled either way. */
QT_API int qt_download_run(const qt_download_opts *o, const char *catalog_dir,
                           qt_download_report *out, qt_err *err);

#endif
