/* The paper_strategy_adjustments table: typed records over the portable
 * statement layer (sql.c).  Each status change is a single conditional
 * UPDATE ("... WHERE id = $1 AND status = 'pending'"), atomic on both
 * backends, so two reviewers at once cannot both win; when it changes no
 * row, a read tells QT_ENOTFOUND from QT_ESTATE for the message. */
#include "storage/storage_int.h"

#include <inttypes.h>
#include <string.h>

static const char *const k_ddl =
    "CREATE TABLE IF NOT EXISTS paper_strategy_adjustments("
    " id @ID@,"
    " strategy_name TEXT NOT NULL,"
    " parameter_name TEXT NOT NULL,"
    " old_value @REAL@ NOT NULL,"
    " new_value @REAL@ NOT NULL,"
    " reason TEXT NOT NULL,"
    " metric_trigger TEXT NOT NULL,"
    " metric_value @REAL@,"
    " win_rate_7d @REAL@,"
    " total_pnl_7d @REAL@,"
    " avg_pnl_7d @REAL@,"
    " total_signals_7d @INT@,"
    " clamped @INT@ NOT NULL,"
    " status TEXT NOT NULL,"
    " reviewed_by TEXT,"
    " reviewed_at @INT@,"
    " created_at @INT@ NOT NULL,"
    " applied_at @INT@,"
    " evidence @JSON@);"
    "CREATE INDEX IF NOT EXISTS paper_strategy_adjustments_strategy"
    " ON paper_strategy_adjustments(strategy_name, status);";

static const char *const k_names[] = {
#define QT_ADJ_STATUS_NAME_(name, value, text) [value] = text,
    QT_ADJ_STATUS_LIST(QT_ADJ_STATUS_NAME_)
#undef QT_ADJ_STATUS_NAME_
};

const char *qt_adj_status_name(int status) {
  return status >= 0 && status < QT_ADJ_N_STATUS ? k_names[status] : "unknown";
}

int qt_adj_status_from_name(const char *text, int *out_status, qt_err *err) {
  *out_status = QT_ADJ_PENDING;
  for (int k = 0; text && k < QT_ADJ_N_STATUS; k++)
    if (strcmp(text, k_names[k]) == 0) {
      *out_status = k;
      return QT_OK;
    }
  return qt_err_set(err, QT_EPARSE, "unknown adjustment status \"%s\"", text ? text : "(null)");
}

static int get_i64(void *ctx, const qt__sql_val *c, int nc, qt_err *err) {
  *(int64_t *)ctx = c[0].i;
  return QT_OK;
}

int qt_adjustment_insert(qt_storage *s, const qt_adjustment *a, int64_t *out_id, qt_err *err) {
  if (out_id) *out_id = 0;
  if (!a->strategy[0] || !a->parameter[0])
    return qt_err_set(err, QT_EINVAL, "adjustment: no strategy or parameter");
  if (a->status < 0 || a->status >= QT_ADJ_N_STATUS)
    return qt_err_set(err, QT_EINVAL, "adjustment: unknown status %d", a->status);
  int r = qt__sql_schema(s, k_ddl, err);
  if (r) return r;
  static const char *const sql =
      "INSERT INTO paper_strategy_adjustments(strategy_name, parameter_name, old_value,"
      " new_value, reason, metric_trigger, metric_value, win_rate_7d, total_pnl_7d, avg_pnl_7d,"
      " total_signals_7d, clamped, status, reviewed_by, reviewed_at, created_at, applied_at,"
      " evidence) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
      " $17, $18) RETURNING id";
  qt__sql_arg v[] = {QT__SQL_T(a->strategy),
                     QT__SQL_T(a->parameter),
                     QT__SQL_D(a->old_value),
                     QT__SQL_D(a->new_value),
                     QT__SQL_T(a->reason),
                     QT__SQL_T(a->metric_trigger),
                     QT__SQL_D(a->metric_value),
                     QT__SQL_D(a->win_rate_7d),
                     QT__SQL_D(a->total_pnl_7d),
                     QT__SQL_D(a->avg_pnl_7d),
                     QT__SQL_I(a->total_signals_7d),
                     QT__SQL_I(a->clamped ? 1 : 0),
                     QT__SQL_T(qt_adj_status_name(a->status)),
                     a->reviewed_by[0] ? QT__SQL_T(a->reviewed_by) : QT__SQL_NULL,
                     a->reviewed_ms ? QT__SQL_I(a->reviewed_ms) : QT__SQL_NULL,
                     QT__SQL_I(a->created_ms ? a->created_ms : qt__sql_now_ms()),
                     a->applied_ms ? QT__SQL_I(a->applied_ms) : QT__SQL_NULL,
                     QT__SQL_T(a->evidence_json[0] ? a->evidence_json : "{}")};
  int64_t id = 0;
  r = qt__sql_exec(s, sql, v, (int)(sizeof v / sizeof v[0]), get_i64, &id, NULL, err);
  if (!r && out_id) *out_id = id;
  return r;
}

static int fill(void *dst, const qt__sql_val *c, qt_err *err) {
  qt_adjustment *a = dst;
  a->id = c[0].i;
  qt__sql_copy_text(a->strategy, sizeof a->strategy, &c[1]);
  qt__sql_copy_text(a->parameter, sizeof a->parameter, &c[2]);
  a->old_value = c[3].d;
  a->new_value = c[4].d;
  qt__sql_copy_text(a->reason, sizeof a->reason, &c[5]);
  qt__sql_copy_text(a->metric_trigger, sizeof a->metric_trigger, &c[6]);
  a->metric_value = c[7].d;
  a->win_rate_7d = c[8].d;
  a->total_pnl_7d = c[9].d;
  a->avg_pnl_7d = c[10].d;
  a->total_signals_7d = c[11].i;
  a->clamped = (int)c[12].i;
  int r = qt_adj_status_from_name(c[13].t, &a->status, err);
  if (r) return r;
  qt__sql_copy_text(a->reviewed_by, sizeof a->reviewed_by, &c[14]);
  a->reviewed_ms = c[15].i;
  a->created_ms = c[16].i;
  a->applied_ms = c[17].i;
  qt__sql_copy_text(a->evidence_json, sizeof a->evidence_json, &c[18]);
  return QT_OK;
}

static const qt__sql_list k_list = {sizeof(qt_adjustment), 19, 16, "paper_strategy_adjustments",
                                    fill, NULL};

#define COLS                                                                                  \
  "SELECT id, strategy_name, parameter_name, old_value, new_value, reason, metric_trigger,"  \
  " metric_value, win_rate_7d, total_pnl_7d, avg_pnl_7d, total_signals_7d, clamped, status," \
  " reviewed_by, reviewed_at, created_at, applied_at, evidence"                               \
  " FROM paper_strategy_adjustments"

int qt_adjustment_get(qt_storage *s, int64_t id, qt_adjustment *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  qt__sql_arg a[] = {QT__SQL_I(id)};
  qt_adjustment *v = NULL;
  size_t n = 0;
  int r = qt__sql_list_read(s, k_ddl, COLS " WHERE id = $1", a, 1, &k_list, (void **)&v, &n, err);
  if (!r && n == 0) r = qt_err_set(err, QT_ENOTFOUND, "no adjustment with id %" PRId64, id);
  if (!r) *out = v[0];
  qt_free(v);
  return r;
}

int qt_adjustments_list(qt_storage *s, const char *strategy, unsigned status_mask,
                        qt_adjustment **out, size_t *out_n, qt_err *err) {
  /* The mask is matched in C: a handful of statuses, and no SQL text built. */
  qt__sql_arg a[] = {QT__SQL_T(strategy ? strategy : "")};
  qt_adjustment *v = NULL;
  size_t n = 0;
  int r = qt__sql_list_read(s, k_ddl,
                            COLS " WHERE ($1 = '' OR strategy_name = $1)"
                                 " ORDER BY created_at DESC, id DESC",
                            a, 1, &k_list, (void **)&v, &n, err);
  *out = NULL;
  *out_n = 0;
  if (r) return r;
  size_t m = 0;
  for (size_t k = 0; k < n; k++)
    if (!status_mask || (status_mask & (1u << v[k].status))) v[m++] = v[k];
  if (!m) {
    qt_free(v);
    v = NULL;
  }
  *out = v;
  *out_n = m;
  return QT_OK;
}

/* After a conditional UPDATE changed nothing: why. */
static int refused(qt_storage *s, int64_t id, const char *want, const char *verb, qt_err *err) {
  qt_adjustment cur;
  qt_err ge = {0};
  int r = qt_adjustment_get(s, id, &cur, &ge);
  if (r == QT_ENOTFOUND) return qt_err_set(err, QT_ENOTFOUND, "no adjustment with id %" PRId64, id);
  if (r) return qt_err_set(err, r, "%s", ge.msg);
  return qt_err_set(err, QT_ESTATE, "adjustment %" PRId64 " is %s, not %s: cannot %s it", id,
                    qt_adj_status_name(cur.status), want, verb);
}

int qt_adjustment_review(qt_storage *s, int64_t id, int approve, const char *reviewer,
                         int64_t at_ms, qt_err *err) {
  if (!reviewer || !reviewer[0])
    return qt_err_set(err, QT_EINVAL, "a review needs the reviewer's name");
  int r = qt__sql_schema(s, k_ddl, err);
  if (r) return r;
  qt__sql_arg a[] = {QT__SQL_I(id), QT__SQL_T(approve ? "approved" : "reverted"),
                     QT__SQL_T(reviewer), QT__SQL_I(at_ms ? at_ms : qt__sql_now_ms())};
  int64_t ch = 0;
  r = qt__sql_exec(s,
                   "UPDATE paper_strategy_adjustments SET status = $2, reviewed_by = $3,"
                   " reviewed_at = $4 WHERE id = $1 AND status = 'pending'",
                   a, 4, NULL, NULL, &ch, err);
  if (r) return r;
  return ch == 1 ? QT_OK : refused(s, id, "pending", approve ? "approve" : "revert", err);
}

int qt_adjustment_mark_applied(qt_storage *s, int64_t id, int64_t at_ms, qt_err *err) {
  int r = qt__sql_schema(s, k_ddl, err);
  if (r) return r;
  qt__sql_arg a[] = {QT__SQL_I(id), QT__SQL_I(at_ms ? at_ms : qt__sql_now_ms())};
  int64_t ch = 0;
  r = qt__sql_exec(s,
                   "UPDATE paper_strategy_adjustments SET status = 'applied', applied_at = $2"
                   " WHERE id = $1 AND status = 'approved'",
                   a, 2, NULL, NULL, &ch, err);
  if (r) return r;
  return ch == 1 ? QT_OK : refused(s, id, "approved", "apply", err);
}
