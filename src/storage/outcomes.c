/* The signal_outcomes table: typed records over the portable statement
 * layer (sql.c), the same SQL on SQLite and PostgreSQL.  Times are int64 ms
 * UTC; side and status are stored as their words ("long"/"short",
 * "closed"/"expired") so the table reads well in either database. */
#include "storage/storage_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const k_ddl =
    "CREATE TABLE IF NOT EXISTS signal_outcomes("
    " id @ID@,"
    " outcome_key TEXT NOT NULL UNIQUE,"
    " strategy TEXT NOT NULL,"
    " symbol TEXT NOT NULL,"
    " params_version TEXT NOT NULL,"
    " source TEXT NOT NULL,"
    " signal_time @INT@ NOT NULL,"
    " side TEXT NOT NULL,"
    " entry_time @INT@,"
    " entry_price @REAL@,"
    " exit_time @INT@,"
    " exit_price @REAL@,"
    " pnl @REAL@,"
    " pnl_pct @REAL@,"
    " status TEXT NOT NULL,"
    " closed_at @INT@,"
    " created_at @INT@ NOT NULL);"
    "CREATE INDEX IF NOT EXISTS signal_outcomes_strategy_time"
    " ON signal_outcomes(strategy, signal_time);"
    "CREATE INDEX IF NOT EXISTS signal_outcomes_time ON signal_outcomes(signal_time);";

static const char *const k_status_names[] = {
#define QT_OUTCOME_STATUS_NAME_(name, value, text) [value] = text,
    QT_OUTCOME_STATUS_LIST(QT_OUTCOME_STATUS_NAME_)
#undef QT_OUTCOME_STATUS_NAME_
};

const char *qt_outcome_status_name(int status) {
  return status >= 0 && status < QT_OUTCOME_N_STATUS ? k_status_names[status] : "unknown";
}

int qt_outcome_status_from_name(const char *text, int *out_status, qt_err *err) {
  *out_status = QT_OUTCOME_CLOSED;
  for (int k = 0; text && k < QT_OUTCOME_N_STATUS; k++)
    if (strcmp(text, k_status_names[k]) == 0) {
      *out_status = k;
      return QT_OK;
    }
  return qt_err_set(err, QT_EPARSE, "unknown outcome status \"%s\" (closed or expired)",
                    text ? text : "(null)");
}

char *qt_outcome_key(const qt_outcome *o, char *buf, size_t cap) {
  snprintf(buf, cap, "%s|%s|%s|%" PRId64 "|%s|%" PRId64, o->strategy, o->symbol,
           o->params_version, o->signal_ms, o->side < 0 ? "short" : "long", o->entry_ms);
  return buf;
}

static int check(const qt_outcome *o, size_t k, qt_err *err) {
  if (!o->strategy[0] || !o->symbol[0])
    return qt_err_set(err, QT_EINVAL, "outcome %zu: no strategy or symbol", k);
  if (o->side != 1 && o->side != -1)
    return qt_err_set(err, QT_EINVAL, "outcome %zu: side %d (1 long, -1 short)", k, o->side);
  if (o->status < 0 || o->status >= QT_OUTCOME_N_STATUS)
    return qt_err_set(err, QT_EINVAL, "outcome %zu: unknown status %d", k, o->status);
  return QT_OK;
}

typedef struct ins_ctx {
  const qt_outcome *v;
  size_t n, added;
} ins_ctx;

static qt__sql_arg time_arg(int64_t ms) { return ms ? QT__SQL_I(ms) : QT__SQL_NULL; }

static int insert_body(qt_storage *s, void *ctx, qt_err *err) {
  ins_ctx *c = ctx;
  static const char *const sql =
      "INSERT INTO signal_outcomes(outcome_key, strategy, symbol, params_version, source,"
      " signal_time, side, entry_time, entry_price, exit_time, exit_price, pnl, pnl_pct,"
      " status, closed_at, created_at)"
      " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
      " ON CONFLICT(outcome_key) DO NOTHING";
  int64_t now = qt__sql_now_ms();
  for (size_t k = 0; k < c->n; k++) {
    const qt_outcome *o = &c->v[k];
    char key[sizeof o->key];
    if (o->key[0]) snprintf(key, sizeof key, "%s", o->key);
    else qt_outcome_key(o, key, sizeof key);
    qt__sql_arg a[] = {QT__SQL_T(key),
                       QT__SQL_T(o->strategy),
                       QT__SQL_T(o->symbol),
                       QT__SQL_T(o->params_version),
                       QT__SQL_T(o->source[0] ? o->source : "import"),
                       QT__SQL_I(o->signal_ms),
                       QT__SQL_T(o->side < 0 ? "short" : "long"),
                       time_arg(o->entry_ms),
                       QT__SQL_D(o->entry_price),
                       time_arg(o->exit_ms),
                       QT__SQL_D(o->exit_price),
                       QT__SQL_D(o->pnl),
                       QT__SQL_D(o->pnl_pct),
                       QT__SQL_T(qt_outcome_status_name(o->status)),
                       time_arg(o->closed_ms),
                       QT__SQL_I(now)};
    int64_t ch = 0;
    int r = qt__sql_exec(s, sql, a, (int)(sizeof a / sizeof a[0]), NULL, NULL, &ch, err);
    if (r) return r;
    c->added += (size_t)ch;
  }
  return QT_OK;
}

int qt_outcomes_insert(qt_storage *s, const qt_outcome *v, size_t n, size_t *out_added,
                       qt_err *err) {
  if (out_added) *out_added = 0;
  for (size_t k = 0; k < n; k++) {
    int r = check(&v[k], k, err);
    if (r) return r;
  }
  int r = qt__sql_schema(s, k_ddl, err);
  if (r) return r;
  ins_ctx c = {v, n, 0};
  r = qt__sql_tx(s, insert_body, &c, err);
  if (!r && out_added) *out_added = c.added;
  return r;
}

static int fill_outcome(void *dst, const qt__sql_val *c, qt_err *err) {
  qt_outcome *o = dst;
  o->id = c[0].i;
  qt__sql_copy_text(o->key, sizeof o->key, &c[1]);
  qt__sql_copy_text(o->strategy, sizeof o->strategy, &c[2]);
  qt__sql_copy_text(o->symbol, sizeof o->symbol, &c[3]);
  qt__sql_copy_text(o->params_version, sizeof o->params_version, &c[4]);
  qt__sql_copy_text(o->source, sizeof o->source, &c[5]);
  o->signal_ms = c[6].i;
  o->side = c[7].t && strcmp(c[7].t, "short") == 0 ? -1 : 1;
  o->entry_ms = c[8].i;
  o->entry_price = c[9].d;
  o->exit_ms = c[10].i;
  o->exit_price = c[11].d;
  o->pnl = c[12].d;
  o->pnl_pct = c[13].d;
  int r = qt_outcome_status_from_name(c[14].t, &o->status, err);
  if (r) return r;
  o->closed_ms = c[15].i;
  o->created_ms = c[16].i;
  return QT_OK;
}

int qt_outcomes_list(qt_storage *s, const char *strategy, int64_t from_ms, int64_t to_ms,
                     qt_outcome **out, size_t *out_n, qt_err *err) {
  static const qt__sql_list l = {sizeof **out, 17, 64, "signal_outcomes", fill_outcome, NULL};
  static const char *const sql =
      "SELECT id, outcome_key, strategy, symbol, params_version, source, signal_time, side,"
      " entry_time, entry_price, exit_time, exit_price, pnl, pnl_pct, status, closed_at,"
      " created_at FROM signal_outcomes"
      " WHERE ($1 = '' OR strategy = $1) AND signal_time >= $2 AND signal_time < $3"
      " ORDER BY signal_time, id";
  qt__sql_arg a[] = {QT__SQL_T(strategy ? strategy : ""), QT__SQL_I(from_ms), QT__SQL_I(to_ms)};
  return qt__sql_list_read(s, k_ddl, sql, a, 3, &l, (void **)out, out_n, err);
}
