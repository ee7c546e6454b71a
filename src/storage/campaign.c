/* The tuning_results table: one row per paper campaign, typed records over
 * the portable statement layer (sql.c), the same SQL on SQLite and
 * PostgreSQL. */
#include "storage/storage_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const k_ddl =
    "CREATE TABLE IF NOT EXISTS tuning_results("
    " id @ID@, run_id TEXT NOT NULL UNIQUE, session_id TEXT NOT NULL,"
    " created_at @INT@ NOT NULL, param_set @JSON@ NOT NULL, total_pnl @REAL@,"
    " total_trades @INT@ NOT NULL, total_entries @INT@ NOT NULL, total_exits @INT@ NOT NULL,"
    " winning_trades @INT@ NOT NULL, losing_trades @INT@ NOT NULL, winrate @REAL@,"
    " avg_pnl_per_trade @REAL@, campaign_id @INT@ NOT NULL, duration_seconds @REAL@,"
    " test_mode @INT@ NOT NULL, symbols TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS tuning_results_session ON tuning_results(session_id, campaign_id);";

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct ins_ctx {
  const qt_tuning_result_rec *v;
  size_t n;
} ins_ctx;

static int insert_body(qt_storage *s, void *ctx, qt_err *err) {
  const ins_ctx *c = ctx;
  int64_t now = now_ms();
  for (size_t k = 0; k < c->n; k++) {
    const qt_tuning_result_rec *r = &c->v[k];
    qt__sql_arg a[] = {QT__SQL_T(r->run_id),        QT__SQL_T(r->session_id),
                       QT__SQL_I(r->created_ms ? r->created_ms : now),
                       QT__SQL_T(r->param_set),     QT__SQL_D(r->total_pnl),
                       QT__SQL_I(r->total_trades),  QT__SQL_I(r->total_entries),
                       QT__SQL_I(r->total_exits),   QT__SQL_I(r->winning_trades),
                       QT__SQL_I(r->losing_trades), QT__SQL_D(r->winrate),
                       QT__SQL_D(r->avg_pnl_per_trade), QT__SQL_I(r->campaign_id),
                       QT__SQL_D(r->duration_seconds), QT__SQL_I(r->test_mode),
                       QT__SQL_T(r->symbols)};
    int64_t ch = 0;
    int rc = qt__sql_exec(s,
                          "INSERT INTO tuning_results(run_id, session_id, created_at, param_set,"
                          " total_pnl, total_trades, total_entries, total_exits, winning_trades,"
                          " losing_trades, winrate, avg_pnl_per_trade, campaign_id,"
                          " duration_seconds, test_mode, symbols) VALUES($1, $2, $3, $4, $5, $6,"
                          " $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
                          " ON CONFLICT(run_id) DO NOTHING",
                          a, 16, NULL, NULL, &ch, err);
    if (rc) return rc;
    if (ch != 1)
      return qt_err_set(err, QT_ESTATE, "tuning_results: run_id '%s' is already stored", r->run_id);
  }
  return QT_OK;
}

int qt_tuning_results_insert(qt_storage *s, const qt_tuning_result_rec *v, size_t n,
                             qt_err *err) {
  for (size_t k = 0; k < n; k++)
    if (!v[k].run_id[0] || !v[k].session_id[0] || !v[k].param_set[0])
      return qt_err_set(err, QT_EINVAL, "tuning result %zu: no run_id, session_id or param_set", k);
  int rc = qt__sql_schema(s, k_ddl, err);
  if (rc) return rc;
  ins_ctx c = {v, n};
  return qt__sql_tx(s, insert_body, &c, err);
}

typedef struct list_ctx {
  qt_tuning_result_rec *v;
  size_t n, cap;
} list_ctx;

static void copy_text(char *dst, size_t cap, const qt__sql_val *c) {
  snprintf(dst, cap, "%s", c->t ? c->t : "");
}

static int list_row(void *ctx, const qt__sql_val *c, int nc, qt_err *err) {
  list_ctx *l = ctx;
  if (nc != 17) return qt_err_set(err, QT_ESTORE, "tuning_results: %d columns, expected 17", nc);
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 32;
    qt_tuning_result_rec *g = qt_realloc(l->v, cap * sizeof *g);
    if (!g) return qt_err_set(err, QT_ENOMEM, "out of memory listing tuning results");
    l->v = g;
    l->cap = cap;
  }
  qt_tuning_result_rec *r = &l->v[l->n++];
  memset(r, 0, sizeof *r);
  r->id = c[0].i;
  copy_text(r->run_id, sizeof r->run_id, &c[1]);
  copy_text(r->session_id, sizeof r->session_id, &c[2]);
  r->created_ms = c[3].i;
  copy_text(r->param_set, sizeof r->param_set, &c[4]);
  r->total_pnl = c[5].d;
  r->total_trades = c[6].i, r->total_entries = c[7].i, r->total_exits = c[8].i;
  r->winning_trades = c[9].i, r->losing_trades = c[10].i;
  r->winrate = c[11].d, r->avg_pnl_per_trade = c[12].d;
  r->campaign_id = c[13].i;
  r->duration_seconds = c[14].d;
  r->test_mode = (int)c[15].i;
  copy_text(r->symbols, sizeof r->symbols, &c[16]);
  return QT_OK;
}

int qt_tuning_results_list(qt_storage *s, const char *session_id, qt_tuning_result_rec **out,
                           size_t *out_n, qt_err *err) {
  *out = NULL;
  *out_n = 0;
  int rc = qt__sql_schema(s, k_ddl, err);
  if (rc) return rc;
  qt__sql_arg a[] = {QT__SQL_T(session_id ? session_id : "")};
  list_ctx l = {0};
  rc = qt__sql_exec(s,
                    "SELECT id, run_id, session_id, created_at, param_set, total_pnl, total_trades,"
                    " total_entries, total_exits, winning_trades, losing_trades, winrate,"
                    " avg_pnl_per_trade, campaign_id, duration_seconds, test_mode, symbols"
                    " FROM tuning_results WHERE ($1 = '' OR session_id = $1)"
                    " ORDER BY session_id, campaign_id",
                    a, 1, list_row, &l, NULL, err);
  if (rc) {
    qt_free(l.v);
    return rc;
  }
  *out = l.v;
  *out_n = l.n;
  return QT_OK;
}
