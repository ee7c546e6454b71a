/* The tune_runs table: one row per auto-tuner run, over the portable
 * statement layer (sql.c).  The daemon reads the latest to know whether
 * today's run already happened. */
#include "storage/storage_int.h"

#include <stdio.h>
#include <string.h>

static const char *const k_ddl =
    "CREATE TABLE IF NOT EXISTS tune_runs("
    " id @ID@, run_at @INT@ NOT NULL, n_proposed @INT@ NOT NULL, n_applied @INT@ NOT NULL,"
    " summary TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS tune_runs_at ON tune_runs(run_at);";

static int get_id(void *ctx, const qt__sql_val *c, int nc, qt_err *err) {
  *(int64_t *)ctx = c[0].i;
  return QT_OK;
}

int qt_tune_run_record(qt_storage *s, const qt_tune_run *run, int64_t *out_id, qt_err *err) {
  if (out_id) *out_id = 0;
  int r = qt__sql_schema(s, k_ddl, err);
  if (r) return r;
  qt__sql_arg a[] = {QT__SQL_I(run->run_ms), QT__SQL_I(run->n_proposed),
                     QT__SQL_I(run->n_applied), QT__SQL_T(run->summary)};
  int64_t id = 0;
  r = qt__sql_exec(s,
                   "INSERT INTO tune_runs(run_at, n_proposed, n_applied, summary)"
                   " VALUES($1, $2, $3, $4) RETURNING id",
                   a, 4, get_id, &id, NULL, err);
  if (!r && out_id) *out_id = id;
  return r;
}

static int last_row(void *ctx, const qt__sql_val *c, int nc, qt_err *err) {
  qt_tune_run *o = ctx;
  o->id = c[0].i;
  o->run_ms = c[1].i;
  o->n_proposed = c[2].i;
  o->n_applied = c[3].i;
  snprintf(o->summary, sizeof o->summary, "%s", c[4].t ? c[4].t : "");
  return QT_OK;
}

int qt_tune_run_last(qt_storage *s, qt_tune_run *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  int r = qt__sql_schema(s, k_ddl, err);
  if (r) return r;
  r = qt__sql_exec(s,
                   "SELECT id, run_at, n_proposed, n_applied, summary FROM tune_runs"
                   " ORDER BY run_at DESC, id DESC LIMIT 1",
                   NULL, 0, last_row, out, NULL, err);
  if (!r && !out->id) r = qt_err_set(err, QT_ENOTFOUND, "no tuner run recorded yet");
  return r;
}
