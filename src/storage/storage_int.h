/* Private to src/storage: where the passwords of a storage URL are, so the
 * front redacts URLs and the PostgreSQL backend scrubs libpq's messages
 * (they can quote the conninfo: "invalid percent-encoded token: ..."). */
#ifndef QTUNE_STORAGE_STORAGE_INT_H
#define QTUNE_STORAGE_STORAGE_INT_H

#include <stddef.h>

typedef struct qt__span {
  const char *p; /* into the URL */
  size_t len;
} qt__span;

/* The password values of url (URI user info, ?password=, password= of a
 * keyword/value conninfo), in order, at most max; returns how many. */
size_t qt__storage_password_spans(const char *url, qt__span *v, size_t max);
/* Replaces in msg (NUL-terminated, cap bytes) every occurrence of a password
 * of url and of secret (may be NULL) by "***". */
void qt__storage_scrub(char *msg, size_t cap, const char *url, const char *secret);

/* ---- Portable statements for the concept tables (sql.c) ----
 * The studies and trials records have hand-prepared statements in each
 * backend; the later concepts (outcomes, adjustments, paper state, ...)
 * write one SQL text that both backends run, in a file of their own under
 * src/storage/.  Placeholders are $1..$n in both dialects (SQLite takes
 * them as named parameters, bound by name).  Statements are prepared once
 * per connection, cached by their text. */
#include "qtune/storage.h"

typedef struct qt__sql_val {
  int isnull;
  int64_t i;     /* the value as an integer (0 when NULL) */
  double d;      /* as a double (NaN when NULL) */
  const char *t; /* as text (NULL when NULL); valid during the callback */
} qt__sql_val;

/* An argument: integer, double (NaN binds NULL), text (NULL binds NULL). */
typedef struct qt__sql_arg {
  char kind; /* 'i', 'd', 't', 'n' */
  int64_t i;
  double d;
  const char *t;
} qt__sql_arg;
#define QT__SQL_I(v) ((qt__sql_arg){'i', (int64_t)(v), 0.0, NULL})
#define QT__SQL_D(v) ((qt__sql_arg){'d', 0, (double)(v), NULL})
#define QT__SQL_T(v) ((qt__sql_arg){'t', 0, 0.0, (v)})
#define QT__SQL_NULL ((qt__sql_arg){'n', 0, 0.0, NULL})

/* Called per result row; a non-zero return stops and is returned. */
typedef int (*qt__sql_row_fn)(void *ctx, const qt__sql_val *cols, int ncols, qt_err *err);

enum { QT__SQL_SQLITE = 1, QT__SQL_PG = 2 };
int qt__sql_dialect(const qt_storage *s);

/* Runs one statement; fn (may be NULL) sees each row; *out_changes (may be
 * NULL) gets the rows inserted, updated or deleted.  Outside qt__sql_tx it is
 * its own transaction. */
int qt__sql_exec(qt_storage *s, const char *sql, const qt__sql_arg *args, int nargs,
                 qt__sql_row_fn fn, void *ctx, int64_t *out_changes, qt_err *err);
/* qt__sql_exec's flags: QT__SQL_NUMBERS_BARE leaves .t NULL for a column
 * whose value is a number (read .i/.d): SQLite then does not format every
 * number of a big read as text (PostgreSQL's come as text anyway). */
#define QT__SQL_NUMBERS_BARE 1u
/* qt__sql_exec with flags. */
int qt__sql_exec_flags(qt_storage *s, const char *sql, const qt__sql_arg *args, int nargs,
                       unsigned flags, qt__sql_row_fn fn, void *ctx, int64_t *out_changes,
                       qt_err *err);

/* Runs body in one transaction that holds the storage for this thread:
 * committed when body returns QT_OK, rolled back otherwise (and its code
 * returned).  SQLite takes the write lock at the start (BEGIN IMMEDIATE), so
 * a read-check-write inside cannot race another process. */
int qt__sql_tx(qt_storage *s, int (*body)(qt_storage *s, void *ctx, qt_err *err), void *ctx,
               qt_err *err);

/* Creates a concept's tables and indexes (CREATE ... IF NOT EXISTS) once
 * per open storage.  ddl is one script for both dialects with the words
 * @ID@ (an auto-numbered int64 primary key), @INT@ (int64), @REAL@ (double)
 * and @JSON@ (JSON text on SQLite, JSONB on PostgreSQL) in place of types.
 * The script's address marks it done on that storage. */
int qt__sql_schema(qt_storage *s, const char *ddl, qt_err *err);

/* The wall clock, ms UTC: the created/updated stamps of the records. */
int64_t qt__sql_now_ms(void);

/* Copies a text column into a fixed record field (NULL as ""), truncating. */
void qt__sql_copy_text(char *dst, size_t cap, const qt__sql_val *c);

/* A SELECT read into a growing array of fixed-size records, one a row: the
 * shape every concept's list has.  fill sees a zeroed record and may fail
 * (the row then is not counted); fini (may be NULL) releases what a filled
 * record owns when the read fails. */
typedef struct qt__sql_list {
  size_t elem;     /* sizeof one record */
  int ncols;       /* a row of another width is QT_ESTORE (0: not checked) */
  size_t first;    /* records allocated at the first row */
  const char *what; /* the table or records, for messages */
  int (*fill)(void *dst, const qt__sql_val *c, qt_err *err);
  void (*fini)(void *rec);
} qt__sql_list;
/* Creates the concept's tables (ddl, see qt__sql_schema), runs sql and hands
 * the records to *out (caller frees with qt_free, after fini of each when
 * set; NULL when none) and their count to *out_n.  Both are reset on entry
 * and stay reset on failure. */
int qt__sql_list_read(qt_storage *s, const char *ddl, const char *sql, const qt__sql_arg *args,
                      int nargs, const qt__sql_list *l, void **out, size_t *out_n, qt_err *err);

/* The backend side of the above, one per backend (sqlite.c, postgres.c). */
typedef struct qt__sql_ops {
  int dialect;
  void (*lock)(void *self);
  void (*unlock)(void *self);
  int (*exec)(void *self, const char *sql, const qt__sql_arg *args, int nargs, unsigned flags,
              qt__sql_row_fn fn, void *ctx, int64_t *out_changes, qt_err *err);
  int (*script)(void *self, const char *sql, qt_err *err); /* no params, several statements */
  /* Whether key (a schema script) was run on this connection; set_mark
   * records that it was (QT_ENOMEM when the connection's list is full). */
  int (*marked)(void *self, const void *key);
  int (*set_mark)(void *self, const void *key);
  /* A lost connection (PostgreSQL): lost() says so, reconnect() makes one
   * attempt after *waited seconds of trying (back-off inside), both taking
   * the lock themselves; retry_window_s() how long to keep trying.  SQLite:
   * never lost. */
  int (*lost)(void *self);
  void (*reconnect)(void *self, double *waited);
  double (*retry_window_s)(void);
} qt__sql_ops;
extern const qt__sql_ops qt__sql_sqlite_ops, qt__sql_pg_ops;

#endif
