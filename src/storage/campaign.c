/* The tuning_results table: one row per paper campaign, typed records over
 * the portable statement layer (sql.c), the same SQL on SQLite and
 * PostgreSQL. */
#include "storage/storage_int.h"

#include <string.h>

static const char *const k_ddl =
    "CREATE TABLE IF NOT EXISTS tuning_results("
    " id @ID@, run_id TEXT NOT NULL UNIQUE, session_id TEXT NOT NULL,"
    " created_at @INT@ NOT NULL, param_set @JSON@ NOT NULL, total_pnl @REAL@,"
    " total_trades @INT@ NOT NULL, total_entries @INT@ NOT NULL, total_exits @INT@ NOT NULL,"
    " winning_trades @INT@ NOT NULL, losing_trades @INT@ NOT NULL, winrate @REAL@,"
    " avg_pnl_per_trade @REAL@, campaign_id @INT@ NOT NULL, duration_seconds @REAL@,"
    " test_mode @INT@ NOT NULL, symbols TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS tuning_results_session ON tuning_results(session_id, campaign_id);";

typedef struct ins_ctx {
  const qt_tuning_result_rec *v;
  size_t n;
} ins_ctx;

static int insert_body(qt_storage *s, void *ctx, qt_err *err) {
  const ins_ctx *c = ctx;
  int64_t now = qt__sql_now_ms();
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

static int fill_result(void *dst, const qt__sql_val *c, qt_err *err) {
  qt_tuning_result_rec *r = dst;
  r->id = c[0].i;
  qt__sql_copy_text(r->run_id, sizeof r->run_id, &c[1]);
  qt__sql_copy_text(r->session_id, sizeof r->session_id, &c[2]);
  r->created_ms = c[3].i;
  qt__sql_copy_text(r->param_set, sizeof r->param_set, &c[4]);
  r->total_pnl = c[5].d;
  r->total_trades = c[6].i, r->total_entries = c[7].i, r->total_exits = c[8].i;
  r->winning_trades = c[9].i, r->losing_trades = c[10].i;
  r->winrate = c[11].d, r->avg_pnl_per_trade = c[12].d;
  r->campaign_id = c[13].i;
  r->duration_seconds = c[14].d;
  r->test_mode = (int)c[15].i;
  qt__sql_copy_text(r->symbols, sizeof r->symbols, &c[16]);
  return QT_OK;
}

int qt_tuning_results_list(qt_storage *s, const char *session_id, qt_tuning_result_rec **out,
                           size_t *out_n, qt_err *err) {
  static const qt__sql_list l = {sizeof **out, 17, 32, "tuning_results", fill_result, NULL};
  qt__sql_arg a[] = {QT__SQL_T(session_id ? session_id : "")};
  return qt__sql_list_read(s, k_ddl,
                           "SELECT id, run_id, session_id, created_at, param_set, total_pnl,"
                           " total_trades, total_entries, total_exits, winning_trades,"
                           " losing_trades, winrate, avg_pnl_per_trade, campaign_id,"
                           " duration_seconds, test_mode, symbols FROM tuning_results"
                           " WHERE ($1 = '' OR session_id = $1) ORDER BY session_id, campaign_id",
                           a, 1, &l, (void **)out, out_n, err);
}
