/* The gate_verdicts table: the promotion gate's verdicts and the stage each
 * leaves the study at.  The stage change runs in one qt__sql_tx body that
 * reads the current stage first (SQLite takes the write lock at BEGIN; on
 * PostgreSQL the per-study advisory lock serializes two gates). */
#include "storage/storage_int.h"

#include <stdio.h>
#include <string.h>

static const char *const k_ddl =
    "CREATE TABLE IF NOT EXISTS gate_verdicts("
    " id @ID@, study_id @INT@ NOT NULL, at_ms @INT@ NOT NULL, pass @INT@ NOT NULL,"
    " stage_from TEXT NOT NULL, stage_to TEXT NOT NULL, report @JSON@);"
    "CREATE INDEX IF NOT EXISTS gate_verdicts_study ON gate_verdicts(study_id, id);";

static int get_text(void *ctx, const qt__sql_val *c, int nc, qt_err *err) {
  char *buf = ctx;
  snprintf(buf, 16, "%s", c[0].t ? c[0].t : "backtest");
  return QT_OK;
}

static int current_stage(qt_storage *s, int64_t study_id, char *buf, qt_err *err) {
  snprintf(buf, 16, "backtest");
  qt__sql_arg a[] = {QT__SQL_I(study_id)};
  return qt__sql_exec(s,
                      "SELECT stage_to FROM gate_verdicts WHERE study_id = $1"
                      " ORDER BY id DESC LIMIT 1",
                      a, 1, get_text, buf, NULL, err);
}

typedef struct rec_ctx {
  int64_t study_id, at_ms;
  int pass;
  const char *expect, *report;
  qt_gate_rec row;
} rec_ctx;

static int get_id(void *ctx, const qt__sql_val *c, int nc, qt_err *err) {
  *(int64_t *)ctx = c[0].i;
  return QT_OK;
}

static int record_body(qt_storage *s, void *ctx, qt_err *err) {
  rec_ctx *c = ctx;
  char cur[16];
  int r;
  if (qt__sql_dialect(s) == QT__SQL_PG) {
    qt__sql_arg l[] = {QT__SQL_I(c->study_id)};
    if ((r = qt__sql_exec(s, "SELECT pg_advisory_xact_lock(7311043, CAST($1 AS INTEGER))", l, 1,
                          NULL, NULL, NULL, err)) != 0)
      return r;
  }
  if ((r = current_stage(s, c->study_id, cur, err)) != 0) return r;
  if (c->expect && strcmp(c->expect, cur) != 0)
    return qt_err_set(err, QT_ESTATE,
                      "study %lld: its stage changed from %s to %s while the gate ran",
                      (long long)c->study_id, c->expect, cur);
  const char *to = !c->pass ? "backtest" : !strcmp(cur, "backtest") ? "paper" : cur;
  qt__sql_arg a[] = {QT__SQL_I(c->study_id), QT__SQL_I(c->at_ms), QT__SQL_I(c->pass),
                     QT__SQL_T(cur), QT__SQL_T(to), QT__SQL_T(c->report)};
  if ((r = qt__sql_exec(s,
                        "INSERT INTO gate_verdicts(study_id, at_ms, pass, stage_from, stage_to,"
                        " report) VALUES($1, $2, $3, $4, $5, $6) RETURNING id",
                        a, 6, get_id, &c->row.id, NULL, err)) != 0)
    return r;
  c->row.study_id = c->study_id;
  c->row.at_ms = c->at_ms;
  c->row.pass = c->pass;
  snprintf(c->row.stage_from, sizeof c->row.stage_from, "%s", cur);
  snprintf(c->row.stage_to, sizeof c->row.stage_to, "%s", to);
  return QT_OK;
}

int qt_gate_record(qt_storage *s, int64_t study_id, int pass, const char *expect_stage,
                   const char *report_json, int64_t at_ms, qt_gate_rec *out, qt_err *err) {
  if (out) memset(out, 0, sizeof *out);
  int r = qt__sql_schema(s, k_ddl, err);
  if (r) return r;
  rec_ctx c;
  memset(&c, 0, sizeof c);
  c.study_id = study_id;
  c.at_ms = at_ms;
  c.pass = pass ? 1 : 0;
  c.expect = expect_stage;
  c.report = report_json;
  if ((r = qt__sql_tx(s, record_body, &c, err)) != 0) return r;
  if (out) *out = c.row;
  return QT_OK;
}

int qt_gate_stage(qt_storage *s, int64_t study_id, char *buf, size_t cap, qt_err *err) {
  char cur[16];
  int r = qt__sql_schema(s, k_ddl, err);
  if (!r) r = current_stage(s, study_id, cur, err);
  if (cap) snprintf(buf, cap, "%s", r ? "" : cur);
  return r;
}

void qt_gate_recs_free(qt_gate_rec *v, size_t n) {
  for (size_t i = 0; v && i < n; i++) qt_free(v[i].report_json);
  qt_free(v);
}

static int fill_gate(void *dst, const qt__sql_val *c, qt_err *err) {
  qt_gate_rec *x = dst;
  x->id = c[0].i;
  x->study_id = c[1].i;
  x->at_ms = c[2].i;
  x->pass = (int)c[3].i;
  qt__sql_copy_text(x->stage_from, sizeof x->stage_from, &c[4]);
  qt__sql_copy_text(x->stage_to, sizeof x->stage_to, &c[5]);
  if (c[6].t && !(x->report_json = qt_strdup(c[6].t)))
    return qt_err_set(err, QT_ENOMEM, "gate verdicts: out of memory");
  return QT_OK;
}

static void fini_gate(void *rec) { qt_free(((qt_gate_rec *)rec)->report_json); }

int qt_gate_list(qt_storage *s, int64_t study_id, qt_gate_rec **out, size_t *out_n, qt_err *err) {
  static const qt__sql_list l = {sizeof **out, 0, 8, "gate verdicts", fill_gate, fini_gate};
  qt__sql_arg a[] = {QT__SQL_I(study_id)};
  return qt__sql_list_read(s, k_ddl,
                           "SELECT id, study_id, at_ms, pass, stage_from, stage_to, report FROM"
                           " gate_verdicts WHERE study_id = $1 ORDER BY id",
                           a, 1, &l, (void **)out, out_n, err);
}
