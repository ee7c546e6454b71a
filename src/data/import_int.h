/* Private to the importers and the catalog: a row-major staging table of
 * 8-byte cells that every format parses into, and the merge step (sort by
 * time, drop duplicates, build the columnar series) shared by imports and
 * catalog merges. */
#ifndef QTUNE_DATA_IMPORT_INT_H
#define QTUNE_DATA_IMPORT_INT_H

#include "data/csv.h"
#include "qtune/data.h"

/* Column order of each kind in the staging table (cells are int64 or
 * double bits): bars ts,open,high,low,close,volume,quote_volume,count,
 * taker_buy_base,taker_buy_quote; trades ts,id,price,qty,buyer_is_maker;
 * funding ts,rate,interval_h; quotes ts,bid,bid_qty,ask,ask_qty. */
#define QT__MAX_COLS 10
int qt__kind_ncols(qt_kind k);

typedef struct qt__table {
  qt_kind kind;
  int ncol;
  size_t n, cap;
  uint64_t *v; /* n * ncol cells */
} qt__table;

void qt__table_init(qt__table *t, qt_kind kind);
void qt__table_fini(qt__table *t);
int qt__table_reserve(qt__table *t, size_t rows);
/* Appends the rows of the series of t->kind held in im. */
int qt__table_add_series(qt__table *t, const qt_import *im, qt_err *err);
/* Sorts, drops duplicates (counted into st) and builds the series of
 * t->kind into out (out->kind set; out->stats untouched).  Empties t. */
int qt__table_finish(qt__table *t, qt_import *out, qt_import_stats *st, qt_err *err);

/* The state of one import across its files. */
typedef struct qt__imp qt__imp;
struct qt__imp {
  const qt_import_opts *o;
  int kind; /* -1 until the first document decides */
  qt__table t;
  qt_import_stats st;
  int unit; /* qt_time_unit of the current document's epochs; AUTO until its first stamp */
  /* streaming (qt_import_into_catalog): documents are read in blocks of
   * `block` bytes (0: QT_IMPORT_BLOCK), and when spill is set it is called
   * before a row would grow the table past run_rows (it empties the table) */
  size_t block, run_rows;
  int (*spill)(qt__imp *s, qt_err *err);
  void *spill_ud;
};

/* Parses one document of a stream into s (CSV in blocks; JSON whole). */
int qt__imp_stream_doc(qt__imp *s, qt__stream *st, qt_err *err);
/* The checks of qt_import_files on its options (format, kind, unit, date format). */
int qt__import_opts_check(const qt_import_opts *o, qt_err *err);

/* Parses an epoch stamp (or, unless epoch_only, any qt_time_parse form) in
 * the document's unit (s->unit, decided by the first integer stamp).
 * QT_EPARSE with the reason in *err. */
int qt__imp_stamp(qt__imp *s, const char *p, size_t len, int epoch_only, int64_t *out_ms,
                  qt_err *err);
/* Checks the values of the row just parsed (column stride cs) against the
 * bounds of docs/data.md; on a bad one returns QT_EPARSE with *field the
 * column's name and why[cap] the reason ("not positive (0)"). */
int qt__imp_check_row(const qt__imp *s, const uint64_t *r, size_t cs, const char **field,
                      char *why, size_t cap);

/* Appends a row of the current kind (zeroed, defaults set); NULL on OOM. */
uint64_t *qt__imp_push(qt__imp *s);
/* Sets s->kind (and the table) or checks that k matches it. */
int qt__imp_set_kind(qt__imp *s, qt_kind k, const char *name, qt_err *err);
/* Records a bad row: fails (returns the code) unless skip_bad, then counts
 * it, removes the last pushed row and returns QT_OK. */
int qt__imp_bad(qt__imp *s, qt_err *row_err);

/* A document that starts with '[': freqtrade candles or trades. */
int qt__import_json(qt__imp *s, const qt__input *in, qt_err *err);

/* Imports one in-memory document (CSV or JSON) as if it were a file named
 * name: the fuzzing and test entry point. */
int qt__import_buffer(const char *name, const char *buf, size_t len, const qt_import_opts *o,
                      qt_import *out, qt_err *err);

/* The catalog's pieces the streaming import (import_stream.c) writes with:
 * the series' write lock, a stored series (mapped, not populated, checksum
 * verified window by window with the pages dropped behind: the reader may
 * drop what it has read with madvise(MADV_DONTNEED)), and
 * the writer of a series from one file per column (rows * 8 bytes, 1 for the
 * trades' buyer_is_maker), each read from offset 0: the header, the columns
 * padded to 64 bytes, the checksum, fsync, rename.  QT_DONE when the
 * catalog already holds exactly these bytes (nothing written). */
int qt__catalog_lock(qt_catalog *c, const char *symbol, qt_kind kind, int *out_fd, qt_err *err);
void qt__catalog_unlock(int fd);
int qt__catalog_get(qt_catalog *c, const char *symbol, qt_kind kind, qt_import *out, qt_err *err);
int qt__catalog_write_cols(qt_catalog *c, const char *symbol, qt_kind kind, size_t n_rows,
                           int64_t interval_ms, int64_t first_ms, int64_t last_ms,
                           const int *col_fd, qt_err *err);

static inline uint64_t qt__dbits(double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  return u;
}
static inline double qt__bitsd(uint64_t u) {
  double d;
  memcpy(&d, &u, 8);
  return d;
}

/* Writes all n bytes of p to fd, again after EINTR and short writes
 * (catalog.c); -1 with errno set on failure, else 0. */
int qt__data_write_all(int fd, const void *p, size_t n);

#endif
