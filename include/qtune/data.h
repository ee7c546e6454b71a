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

#endif
