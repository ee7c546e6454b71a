/* Portable statements for the concept tables: dispatch to the backend's
 * qt__sql_ops, the per-thread transaction, and the typed DDL script. */
#include "storage/storage_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The storage instance this thread holds in qt__sql_tx: statements inside
 * the body must not take the backend lock again. */
static _Thread_local void *t_in_tx;

static const qt__sql_ops *ops_of(const qt_storage *s) {
  if (s && s->vt == &qt_storage_sqlite) return &qt__sql_sqlite_ops;
  if (s && s->vt == &qt_storage_postgres) return &qt__sql_pg_ops;
  return NULL;
}

int qt__sql_dialect(const qt_storage *s) {
  const qt__sql_ops *o = ops_of(s);
  return o ? o->dialect : 0;
}

static int no_backend(qt_err *err) {
  return qt_err_set(err, QT_EINVAL, "this storage backend has no SQL tables for it");
}

int qt__sql_exec(qt_storage *s, const char *sql, const qt__sql_arg *args, int nargs,
                 qt__sql_row_fn fn, void *ctx, int64_t *out_changes, qt_err *err) {
  return qt__sql_exec_flags(s, sql, args, nargs, 0, fn, ctx, out_changes, err);
}

int qt__sql_exec_flags(qt_storage *s, const char *sql, const qt__sql_arg *args, int nargs,
                       unsigned flags, qt__sql_row_fn fn, void *ctx, int64_t *out_changes,
                       qt_err *err) {
  const qt__sql_ops *o = ops_of(s);
  if (!o) return no_backend(err);
  int held = t_in_tx == s->self;
  if (held) return o->exec(s->self, sql, args, nargs, flags, fn, ctx, out_changes, err);
  /* its own transaction: after a lost connection it runs again on a new one
   * (PostgreSQL's rows reach fn only once the whole result is in, so a call
   * that failed showed none) */
  double waited = 0, window = o->retry_window_s ? o->retry_window_s() : 0;
  for (;;) {
    o->lock(s->self);
    int r = o->exec(s->self, sql, args, nargs, flags, fn, ctx, out_changes, err);
    o->unlock(s->self);
    if (r != QT_ESTORE || !o->lost || !o->lost(s->self) || waited >= window) return r;
    o->reconnect(s->self, &waited);
  }
}

int qt__sql_tx(qt_storage *s, int (*body)(qt_storage *s, void *ctx, qt_err *err), void *ctx,
               qt_err *err) {
  const qt__sql_ops *o = ops_of(s);
  if (!o) return no_backend(err);
  if (t_in_tx == s->self) return body(s, ctx, err); /* nested: part of the outer one */
  double waited = 0, window = o->retry_window_s ? o->retry_window_s() : 0;
  for (;;) {
    o->lock(s->self);
    int r = o->script(s->self, o->dialect == QT__SQL_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN", err);
    if (!r) {
      t_in_tx = s->self;
      r = body(s, ctx, err);
      t_in_tx = NULL;
      if (!r) r = o->script(s->self, "COMMIT", err);
      if (r) o->script(s->self, "ROLLBACK", NULL);
    }
    o->unlock(s->self);
    /* rolled back with the connection: the whole body runs again on a new one */
    if (r != QT_ESTORE || !o->lost || !o->lost(s->self) || waited >= window) return r;
    o->reconnect(s->self, &waited);
  }
}

static const struct {
  const char *word, *sqlite, *pg;
} k_types[] = {
    {"@ID@", "INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY"},
    {"@INT@", "INTEGER", "BIGINT"},
    {"@REAL@", "REAL", "DOUBLE PRECISION"},
    {"@JSON@", "TEXT", "JSONB"},
};

/* ddl with the type words replaced for the dialect, into a new buffer. */
static char *expand(const char *ddl, int dialect) {
  size_t cap = strlen(ddl) * 2 + 64, n = 0;
  char *out = qt_malloc(cap);
  if (!out) return NULL;
  for (const char *p = ddl; *p;) {
    const char *rep = NULL;
    size_t wl = 0;
    for (size_t k = 0; *p == '@' && k < sizeof k_types / sizeof k_types[0]; k++)
      if (strncmp(p, k_types[k].word, strlen(k_types[k].word)) == 0) {
        wl = strlen(k_types[k].word);
        rep = dialect == QT__SQL_PG ? k_types[k].pg : k_types[k].sqlite;
        break;
      }
    size_t add = rep ? strlen(rep) : 1;
    if (n + add + 1 > cap) {
      char *g = qt_realloc(out, cap * 2 + add);
      if (!g) {
        qt_free(out);
        return NULL;
      }
      out = g;
      cap = cap * 2 + add;
    }
    if (rep) {
      memcpy(out + n, rep, add);
      p += wl;
    } else {
      out[n] = *p++;
    }
    n += add;
  }
  out[n] = '\0';
  return out;
}

int qt__sql_schema(qt_storage *s, const char *ddl, qt_err *err) {
  const qt__sql_ops *o = ops_of(s);
  if (!o) return no_backend(err);
  if (t_in_tx == s->self) {
    /* a record API called inside another's transaction: fine once created */
    if (o->marked(s->self, ddl)) return QT_OK;
    return qt_err_set(err, QT_EINVAL, "qt__sql_schema inside a transaction");
  }
  o->lock(s->self);
  int r = QT_OK;
  if (!o->marked(s->self, ddl)) {
    char *sql = expand(ddl, o->dialect);
    if (!sql) r = qt_err_set(err, QT_ENOMEM, "out of memory creating tables");
    /* PostgreSQL's CREATE ... IF NOT EXISTS races between sessions (a
     * duplicate pg_type row), so the script runs under an advisory lock. */
    const char *begin = o->dialect == QT__SQL_PG
                            ? "BEGIN; SELECT pg_advisory_xact_lock(7311042)"
                            : "BEGIN IMMEDIATE";
    if (!r) r = o->script(s->self, begin, err);
    if (!r) r = o->script(s->self, sql, err);
    if (!r) r = o->script(s->self, "COMMIT", err);
    if (r) o->script(s->self, "ROLLBACK", NULL);
    else o->set_mark(s->self, ddl);
    qt_free(sql);
  }
  o->unlock(s->self);
  return r;
}

int64_t qt__sql_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void qt__sql_copy_text(char *dst, size_t cap, const qt__sql_val *c) {
  snprintf(dst, cap, "%s", c->t ? c->t : "");
}

typedef struct list_ctx {
  const qt__sql_list *l;
  char *v;
  size_t n, cap;
} list_ctx;

static int list_row(void *ctx, const qt__sql_val *c, int nc, qt_err *err) {
  list_ctx *x = ctx;
  const qt__sql_list *l = x->l;
  if (l->ncols && nc != l->ncols)
    return qt_err_set(err, QT_ESTORE, "%s: %d columns, expected %d", l->what, nc, l->ncols);
  if (x->n == x->cap) {
    size_t cap = x->cap ? x->cap * 2 : l->first ? l->first : 16;
    char *g = qt_realloc(x->v, cap * l->elem);
    if (!g) return qt_err_set(err, QT_ENOMEM, "out of memory listing %s", l->what);
    x->v = g;
    x->cap = cap;
  }
  char *dst = x->v + x->n * l->elem;
  memset(dst, 0, l->elem);
  int r = l->fill(dst, c, err);
  if (!r) x->n++;
  return r;
}

int qt__sql_list_read(qt_storage *s, const char *ddl, const char *sql, const qt__sql_arg *args,
                      int nargs, const qt__sql_list *l, void **out, size_t *out_n, qt_err *err) {
  *out = NULL;
  *out_n = 0;
  int r = qt__sql_schema(s, ddl, err);
  if (r) return r;
  list_ctx x = {l, NULL, 0, 0};
  r = qt__sql_exec(s, sql, args, nargs, list_row, &x, NULL, err);
  if (r) {
    for (size_t k = 0; l->fini && k < x.n; k++) l->fini(x.v + k * l->elem);
    qt_free(x.v);
    return r;
  }
  *out = x.v;
  *out_n = x.n;
  return QT_OK;
}
