/* Incremental trial reads: the trials of a study stamped (schema v4's
 * per-study sequence, bumped by triggers in each writer's transaction) after
 * a watermark.  The study's stamp is read before the trials: every write
 * stamped up to it has committed by then (the stamps of one study are taken
 * under its row lock, so they commit in order), so the next read from that
 * watermark can never miss one. */
#include "storage/storage_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const k_seq_sql = "SELECT trial_seq, del_seq FROM studies WHERE id = $1";
#define QT__TRIAL_COLS                                                                    \
  "SELECT id, study_id, number, state, params_json, score, values_json, metrics_json,"    \
  " constraint_ok, worker, seed, started_at, heartbeat_at, finished_at, error,"           \
  " intermediate_json, last_step, note FROM trials"
static const char *const k_since_sql =
    QT__TRIAL_COLS " WHERE study_id = $1 AND updated_seq > $2 ORDER BY number";
/* A whole read has no stamp condition, so both backends walk the
 * UNIQUE(study_id, number) index in order: with the stamp's index instead,
 * 100,000 rows went through a sort (SQLite spilled it to a temp file). */
static const char *const k_all_sql = QT__TRIAL_COLS " WHERE study_id = $1 ORDER BY number";

typedef struct seq_ctx {
  int found;
  int64_t seq, del_seq;
} seq_ctx;

static int seq_row(void *ctx, const qt__sql_val *c, int nc, qt_err *err) {
  (void)nc;
  (void)err;
  seq_ctx *x = ctx;
  x->found = 1;
  x->seq = c[0].i;
  x->del_seq = c[1].i;
  return QT_OK;
}

typedef struct list_ctx {
  qt_trial_rec *v;
  size_t n, cap;
} list_ctx;

static char *dup_col(const qt__sql_val *c, int *oom) {
  if (c->isnull || !c->t) return NULL;
  char *d = qt_strdup(c->t);
  if (!d) *oom = 1;
  return d;
}

static int trial_row(void *ctx, const qt__sql_val *c, int nc, qt_err *err) {
  list_ctx *x = ctx;
  if (nc < 18) return qt_err_set(err, QT_ESTORE, "trials since: %d columns, expected 18", nc);
  if (x->n == x->cap) {
    size_t cap = x->cap ? x->cap * 2 : 64;
    qt_trial_rec *nv = qt_realloc(x->v, cap * sizeof *nv);
    if (!nv) return qt_err_set(err, QT_ENOMEM, "trials since: out of memory");
    x->v = nv;
    x->cap = cap;
  }
  qt_trial_rec *t = &x->v[x->n];
  memset(t, 0, sizeof *t);
  int oom = 0;
  t->id = c[0].i;
  t->study_id = c[1].i;
  t->number = c[2].i;
  int state = QT_TRIAL_FAIL; /* an unknown stored state reads as failed */
  if (c[3].t) qt_trial_state_from_name(c[3].t, &state, NULL);
  t->state = state;
  t->params_json = dup_col(&c[4], &oom);
  t->score = c[5].isnull ? NAN : c[5].d;
  t->values_json = dup_col(&c[6], &oom);
  t->metrics_json = dup_col(&c[7], &oom);
  t->constraint_ok = c[8].isnull ? -1 : (int)c[8].i;
  snprintf(t->worker, sizeof t->worker, "%s", c[9].t ? c[9].t : "");
  t->seed = c[10].i;
  t->started_ms = c[11].i;
  t->heartbeat_ms = c[12].i;
  t->finished_ms = c[13].i;
  t->error = dup_col(&c[14], &oom);
  t->intermediate_json = dup_col(&c[15], &oom);
  t->last_step = c[16].isnull ? -1 : c[16].i;
  t->note = dup_col(&c[17], &oom);
  if (oom) {
    qt_trial_rec_fini(t);
    return qt_err_set(err, QT_ENOMEM, "trials since: out of memory");
  }
  x->n++;
  return QT_OK;
}

int qt_trials_since(qt_storage *s, int64_t study_id, int64_t after_seq, qt_trial_rec **out,
                    size_t *out_n, int64_t *out_seq, int *out_full, qt_err *err) {
  *out = NULL;
  *out_n = 0;
  *out_seq = -1;
  *out_full = 0;
  seq_ctx sc = {0, 0, 0};
  list_ctx lc = {NULL, 0, 0};
  qt__sql_arg a[2] = {QT__SQL_I(study_id), QT__SQL_I(after_seq)};
  int r = qt__sql_exec(s, k_seq_sql, a, 1, seq_row, &sc, NULL, err);
  if (r) goto fail;
  if (!sc.found) {
    r = qt_err_set(err, QT_ENOTFOUND, "trials since: no study with id %lld", (long long)study_id);
    goto fail;
  }
  if (after_seq < 0 || sc.del_seq > after_seq) {
    /* first read, or trials were deleted since: only a whole read says which */
    after_seq = -1;
    *out_full = 1;
  }
  a[1] = QT__SQL_I(after_seq);
  /* trial_row reads numbers as .i/.d and text only from TEXT columns */
  r = qt__sql_exec_flags(s, *out_full ? k_all_sql : k_since_sql, a, *out_full ? 1 : 2,
                         QT__SQL_NUMBERS_BARE, trial_row, &lc, NULL, err);
  if (r) goto fail;
  *out = lc.v;
  *out_n = lc.n;
  *out_seq = sc.seq;
  return QT_OK;
fail:
  qt_trial_recs_free(lc.v, lc.n);
  *out_full = 0;
  return r;
}
