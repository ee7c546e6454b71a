/* The paper runner's durable state: typed records over the portable
 * statement layer (sql.c), the same SQL on SQLite and PostgreSQL.  A run is
 * one paper_runs row; its order actions and closed trades are numbered per
 * symbol from 0 and unique on (run, symbol, seq), so a commit that would
 * store one twice fails as a whole.  Each commit is one transaction that
 * first checks the run is still "running". */
#include "storage/storage_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const k_ddl =
    "CREATE TABLE IF NOT EXISTS paper_runs("
    " id @ID@, name TEXT NOT NULL UNIQUE, strategy TEXT NOT NULL, params_json @JSON@ NOT NULL,"
    " feed TEXT NOT NULL, symbols TEXT NOT NULL, status TEXT NOT NULL,"
    " created_at @INT@ NOT NULL, updated_at @INT@ NOT NULL, last_bar_ms @INT@ NOT NULL,"
    " n_bars @INT@ NOT NULL, cash @REAL@, equity @REAL@);"
    "CREATE TABLE IF NOT EXISTS paper_orders("
    " run_id @INT@ NOT NULL, symbol TEXT NOT NULL, seq @INT@ NOT NULL, ts_ms @INT@ NOT NULL,"
    " order_id @INT@ NOT NULL, action TEXT NOT NULL, side @INT@ NOT NULL, type @INT@ NOT NULL,"
    " leg @INT@ NOT NULL, flags @INT@ NOT NULL, qty @REAL@, price @REAL@, expire_ms @INT@,"
    " PRIMARY KEY(run_id, symbol, seq));"
    "CREATE TABLE IF NOT EXISTS paper_trades("
    " run_id @INT@ NOT NULL, symbol TEXT NOT NULL, seq @INT@ NOT NULL, side @INT@ NOT NULL,"
    " leg @INT@ NOT NULL, exit_reason @INT@ NOT NULL, entry_ms @INT@ NOT NULL,"
    " exit_ms @INT@ NOT NULL, bars_held @INT@ NOT NULL, qty @REAL@, entry_price @REAL@,"
    " exit_price @REAL@, pnl @REAL@, fees @REAL@, funding @REAL@,"
    " PRIMARY KEY(run_id, symbol, seq));"
    "CREATE TABLE IF NOT EXISTS paper_positions("
    " run_id @INT@ NOT NULL, symbol TEXT NOT NULL, qty @REAL@, avg_price @REAL@, cash @REAL@,"
    " equity @REAL@, last_bar_ms @INT@ NOT NULL, n_bars @INT@ NOT NULL, n_orders @INT@ NOT NULL,"
    " n_trades @INT@ NOT NULL, PRIMARY KEY(run_id, symbol));"
    "CREATE TABLE IF NOT EXISTS paper_open_orders("
    " run_id @INT@ NOT NULL, symbol TEXT NOT NULL, order_id @INT@ NOT NULL, side @INT@ NOT NULL,"
    " type @INT@ NOT NULL, qty @REAL@, price @REAL@, PRIMARY KEY(run_id, symbol, order_id));"
    "CREATE TABLE IF NOT EXISTS paper_bars("
    " run_id @INT@ NOT NULL, symbol TEXT NOT NULL, ts_ms @INT@ NOT NULL, open @REAL@,"
    " high @REAL@, low @REAL@, close @REAL@, volume @REAL@, PRIMARY KEY(run_id, symbol, ts_ms));"
    "CREATE TABLE IF NOT EXISTS paper_risk("
    " run_id @INT@ NOT NULL, symbol TEXT NOT NULL, ts_ms @INT@ NOT NULL, nth @INT@ NOT NULL,"
    " kind TEXT NOT NULL, detail TEXT, PRIMARY KEY(run_id, symbol, ts_ms, nth, kind));"
    "CREATE TABLE IF NOT EXISTS paper_equity("
    " run_id @INT@ NOT NULL, bar_ms @INT@ NOT NULL, cash @REAL@, equity @REAL@,"
    " PRIMARY KEY(run_id, bar_ms));"
    "CREATE TABLE IF NOT EXISTS paper_params("
    " run_id @INT@ NOT NULL, seq @INT@ NOT NULL, wall_ms @INT@ NOT NULL, bar_ms @INT@ NOT NULL,"
    " at_json @JSON@ NOT NULL, params_json @JSON@ NOT NULL, source TEXT NOT NULL,"
    " PRIMARY KEY(run_id, seq));";

/* ------------------------------------------------------------- runs */

/* The start cash is the equity row at bar 0 (written when the run is
 * created; NULL for a run created before paper_equity existed) and the
 * trades are counted, so one row says what a list of runs shows. */
#define RUN_COLS                                                                        \
  "id, name, strategy, params_json, feed, symbols, status, created_at, updated_at,"    \
  " last_bar_ms, n_bars, cash, equity,"                                                \
  " (SELECT e.equity FROM paper_equity e WHERE e.run_id = paper_runs.id AND e.bar_ms = 0),"   \
  " (SELECT COUNT(*) FROM paper_trades t WHERE t.run_id = paper_runs.id)"

static int fill_run(void *dst, const qt__sql_val *c, qt_err *err) {
  qt_paper_run_rec *r = dst;
  r->id = c[0].i;
  qt__sql_copy_text(r->name, sizeof r->name, &c[1]);
  qt__sql_copy_text(r->strategy, sizeof r->strategy, &c[2]);
  qt__sql_copy_text(r->params_json, sizeof r->params_json, &c[3]);
  qt__sql_copy_text(r->feed, sizeof r->feed, &c[4]);
  qt__sql_copy_text(r->symbols, sizeof r->symbols, &c[5]);
  qt__sql_copy_text(r->status, sizeof r->status, &c[6]);
  r->created_ms = c[7].i;
  r->updated_ms = c[8].i;
  r->last_bar_ms = c[9].i;
  r->n_bars = c[10].i;
  r->cash = c[11].d;
  r->equity = c[12].d;
  r->start_cash = c[13].isnull ? NAN : c[13].d;
  r->n_trades = c[14].i;
  return QT_OK;
}

static int run_row(void *ctx, const qt__sql_val *c, int nc, qt_err *err) {
  qt_paper_run_rec *r = ctx;
  if (nc != 15) return qt_err_set(err, QT_ESTORE, "paper_runs: %d columns, expected 15", nc);
  memset(r, 0, sizeof *r);
  return fill_run(r, c, err);
}

int qt_paper_run_get(qt_storage *s, const char *name, qt_paper_run_rec *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  int r = qt__sql_schema(s, k_ddl, err);
  if (r) return r;
  qt__sql_arg a[] = {QT__SQL_T(name)};
  r = qt__sql_exec(s, "SELECT " RUN_COLS " FROM paper_runs WHERE name = $1", a, 1, run_row, out,
                   NULL, err);
  if (r) return r;
  if (!out->id) return qt_err_set(err, QT_ENOTFOUND, "no paper run named '%s'", name);
  return QT_OK;
}

typedef struct open_ctx {
  const qt_paper_run_rec *want;
  qt_paper_run_rec *out;
  int created;
} open_ctx;

/* The stored params are JSON, which PostgreSQL's JSONB re-spaces: compare
 * them without white space. */
static int same_json(const char *a, const char *b) {
  for (;;) {
    while (*a == ' ' || *a == '\n' || *a == '\t') a++;
    while (*b == ' ' || *b == '\n' || *b == '\t') b++;
    if (*a != *b) return 0;
    if (!*a) return 1;
    a++, b++;
  }
}

static int open_body(qt_storage *s, void *ctx, qt_err *err) {
  open_ctx *o = ctx;
  const qt_paper_run_rec *w = o->want;
  qt__sql_arg a[] = {QT__SQL_T(w->name)};
  int r = qt__sql_exec(s, "SELECT " RUN_COLS " FROM paper_runs WHERE name = $1", a, 1, run_row,
                       o->out, NULL, err);
  if (r) return r;
  if (!o->out->id) {
    int64_t now = qt__sql_now_ms();
    qt__sql_arg ins[] = {QT__SQL_T(w->name),     QT__SQL_T(w->strategy), QT__SQL_T(w->params_json),
                         QT__SQL_T(w->feed),     QT__SQL_T(w->symbols),  QT__SQL_I(now),
                         QT__SQL_D(w->cash)};
    r = qt__sql_exec(s,
                     "INSERT INTO paper_runs(name, strategy, params_json, feed, symbols, status,"
                     " created_at, updated_at, last_bar_ms, n_bars, cash, equity)"
                     " VALUES($1, $2, $3, $4, $5, 'running', $6, $6, 0, 0, $7, $7)",
                     ins, 7, NULL, NULL, NULL, err);
    /* the start: the equity "before bar 0" (a row left by a dropped run
     * with the same id is replaced) */
    int64_t id = 0;
    if (!r) r = qt__sql_exec(s, "SELECT " RUN_COLS " FROM paper_runs WHERE name = $1", a, 1,
                             run_row, o->out, NULL, err);
    id = o->out->id;
    qt__sql_arg eq[] = {QT__SQL_I(id), QT__SQL_D(w->cash)};
    if (!r) r = qt__sql_exec(s, "DELETE FROM paper_equity WHERE run_id = $1", eq, 1, NULL, NULL,
                             NULL, err);
    /* and its parameter sets: the new run stores its own from seq 0 */
    if (!r) r = qt__sql_exec(s, "DELETE FROM paper_params WHERE run_id = $1", eq, 1, NULL, NULL,
                             NULL, err);
    if (!r) r = qt__sql_exec(s, "INSERT INTO paper_equity(run_id, bar_ms, cash, equity)"
                                " VALUES($1, 0, $2, $2)", eq, 2, NULL, NULL, NULL, err);
    if (!r) o->out->start_cash = w->cash;
    o->created = 1;
    return r;
  }
  const qt_paper_run_rec *h = o->out;
  const char *field = strcmp(h->strategy, w->strategy) ? "strategy"
                      : !same_json(h->params_json, w->params_json) ? "params"
                      : strcmp(h->feed, w->feed)                   ? "feed"
                      : strcmp(h->symbols, w->symbols)             ? "symbols"
                                                                   : NULL;
  if (field) {
    const char *was = !strcmp(field, "strategy") ? h->strategy
                      : !strcmp(field, "params") ? h->params_json
                      : !strcmp(field, "feed")   ? h->feed
                                                 : h->symbols;
    const char *now = !strcmp(field, "strategy") ? w->strategy
                      : !strcmp(field, "params") ? w->params_json
                      : !strcmp(field, "feed")   ? w->feed
                                                 : w->symbols;
    return qt_err_set(err, QT_ESTATE,
                      "paper run '%s' was started with %s %.80s, not %.80s (use another --name)",
                      w->name, field, was, now);
  }
  if (!strcmp(h->status, "done"))
    return qt_err_set(err, QT_ESTATE, "paper run '%s' is done (its feed ended); use another --name",
                      w->name);
  qt__sql_arg up[] = {QT__SQL_I(h->id), QT__SQL_I(qt__sql_now_ms())};
  r = qt__sql_exec(s, "UPDATE paper_runs SET status = 'running', updated_at = $2 WHERE id = $1",
                   up, 2, NULL, NULL, NULL, err);
  snprintf(o->out->status, sizeof o->out->status, "running");
  return r;
}

int qt_paper_run_open(qt_storage *s, const qt_paper_run_rec *want, qt_paper_run_rec *out,
                      int *out_created, qt_err *err) {
  memset(out, 0, sizeof *out);
  if (out_created) *out_created = 0;
  if (!want->name[0]) return qt_err_set(err, QT_EINVAL, "paper run: empty name");
  int r = qt__sql_schema(s, k_ddl, err);
  if (r) return r;
  open_ctx o = {want, out, 0};
  r = qt__sql_tx(s, open_body, &o, err);
  if (r) return r;
  if (out_created) *out_created = o.created;
  return QT_OK;
}

int qt_paper_run_set_status(qt_storage *s, int64_t run_id, const char *from, const char *to,
                            qt_err *err) {
  int r = qt__sql_schema(s, k_ddl, err);
  if (r) return r;
  int64_t ch = 0;
  qt__sql_arg a[] = {QT__SQL_I(run_id), QT__SQL_T(from), QT__SQL_T(to), QT__SQL_I(qt__sql_now_ms())};
  r = qt__sql_exec(s,
                   "UPDATE paper_runs SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2",
                   a, 4, NULL, NULL, &ch, err);
  if (r) return r;
  if (ch != 1)
    return qt_err_set(err, QT_ESTATE, "paper run %" PRId64 " is not %s", run_id, from);
  return QT_OK;
}

/* ----------------------------------------------------------- commit */

static int commit_orders(qt_storage *s, const qt_paper_commit *c, qt_err *err) {
  for (size_t k = 0; k < c->n_orders; k++) {
    const qt_paper_order_rec *o = &c->orders[k];
    const char *act = o->action == 1 ? "replace" : o->action == 2 ? "cancel" : "submit";
    qt__sql_arg a[] = {QT__SQL_I(c->run_id), QT__SQL_T(o->symbol), QT__SQL_I(o->seq),
                       QT__SQL_I(o->ts_ms),  QT__SQL_I(o->order_id), QT__SQL_T(act),
                       QT__SQL_I(o->side),   QT__SQL_I(o->type),   QT__SQL_I(o->leg),
                       QT__SQL_I(o->flags),  QT__SQL_D(o->qty),    QT__SQL_D(o->price),
                       QT__SQL_I(o->expire_ms)};
    int r = qt__sql_exec(s,
                         "INSERT INTO paper_orders(run_id, symbol, seq, ts_ms, order_id, action,"
                         " side, type, leg, flags, qty, price, expire_ms)"
                         " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                         a, 13, NULL, NULL, NULL, err);
    if (r) return r;
  }
  return QT_OK;
}

static int commit_trades(qt_storage *s, const qt_paper_commit *c, qt_err *err) {
  for (size_t k = 0; k < c->n_trades; k++) {
    const qt_paper_trade_rec *t = &c->trades[k];
    qt__sql_arg a[] = {QT__SQL_I(c->run_id),      QT__SQL_T(t->symbol),    QT__SQL_I(t->seq),
                       QT__SQL_I(t->side),        QT__SQL_I(t->leg),       QT__SQL_I(t->exit_reason),
                       QT__SQL_I(t->entry_ms),    QT__SQL_I(t->exit_ms),   QT__SQL_I(t->bars_held),
                       QT__SQL_D(t->qty),         QT__SQL_D(t->entry_price), QT__SQL_D(t->exit_price),
                       QT__SQL_D(t->pnl),         QT__SQL_D(t->fees),      QT__SQL_D(t->funding)};
    int r = qt__sql_exec(s,
                         "INSERT INTO paper_trades(run_id, symbol, seq, side, leg, exit_reason,"
                         " entry_ms, exit_ms, bars_held, qty, entry_price, exit_price, pnl, fees,"
                         " funding) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
                         " $14, $15)",
                         a, 15, NULL, NULL, NULL, err);
    if (r) return r;
  }
  return QT_OK;
}

static int commit_state(qt_storage *s, const qt_paper_commit *c, qt_err *err) {
  int r = QT_OK;
  for (size_t k = 0; k < c->n_pos && !r; k++) {
    const qt_paper_pos_rec *p = &c->pos[k];
    qt__sql_arg d[] = {QT__SQL_I(c->run_id), QT__SQL_T(p->symbol)};
    r = qt__sql_exec(s, "DELETE FROM paper_positions WHERE run_id = $1 AND symbol = $2", d, 2,
                     NULL, NULL, NULL, err);
    if (!r)
      r = qt__sql_exec(s, "DELETE FROM paper_open_orders WHERE run_id = $1 AND symbol = $2", d, 2,
                       NULL, NULL, NULL, err);
    qt__sql_arg a[] = {QT__SQL_I(c->run_id),   QT__SQL_T(p->symbol),  QT__SQL_D(p->qty),
                       QT__SQL_D(p->avg_price), QT__SQL_D(p->cash),    QT__SQL_D(p->equity),
                       QT__SQL_I(p->last_bar_ms), QT__SQL_I(p->n_bars), QT__SQL_I(p->n_orders),
                       QT__SQL_I(p->n_trades)};
    if (!r)
      r = qt__sql_exec(s,
                       "INSERT INTO paper_positions(run_id, symbol, qty, avg_price, cash, equity,"
                       " last_bar_ms, n_bars, n_orders, n_trades)"
                       " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                       a, 10, NULL, NULL, NULL, err);
  }
  for (size_t k = 0; k < c->n_open && !r; k++) {
    const qt_paper_open_rec *o = &c->open[k];
    qt__sql_arg a[] = {QT__SQL_I(c->run_id), QT__SQL_T(o->symbol), QT__SQL_I(o->order_id),
                       QT__SQL_I(o->side),   QT__SQL_I(o->type),   QT__SQL_D(o->qty),
                       QT__SQL_D(o->price)};
    r = qt__sql_exec(s,
                     "INSERT INTO paper_open_orders(run_id, symbol, order_id, side, type, qty,"
                     " price) VALUES($1, $2, $3, $4, $5, $6, $7)",
                     a, 7, NULL, NULL, NULL, err);
  }
  return r;
}

static int commit_extras(qt_storage *s, const qt_paper_commit *c, qt_err *err) {
  int r = QT_OK;
  for (size_t k = 0; k < c->n_bars_new && !r; k++) {
    const qt_paper_bar_rec *b = &c->bars[k];
    qt__sql_arg a[] = {QT__SQL_I(c->run_id), QT__SQL_T(b->symbol), QT__SQL_I(b->ts_ms),
                       QT__SQL_D(b->open),   QT__SQL_D(b->high),   QT__SQL_D(b->low),
                       QT__SQL_D(b->close),  QT__SQL_D(b->volume)};
    r = qt__sql_exec(s,
                     "INSERT INTO paper_bars(run_id, symbol, ts_ms, open, high, low, close, volume)"
                     " VALUES($1, $2, $3, $4, $5, $6, $7, $8)",
                     a, 8, NULL, NULL, NULL, err);
  }
  for (size_t k = 0; k < c->n_risk && !r; k++) {
    const qt_paper_risk_rec *x = &c->risk[k];
    qt__sql_arg a[] = {QT__SQL_I(c->run_id), QT__SQL_T(x->symbol), QT__SQL_I(x->ts_ms),
                       QT__SQL_I(x->nth),    QT__SQL_T(x->kind),   QT__SQL_T(x->detail)};
    r = qt__sql_exec(s,
                     "INSERT INTO paper_risk(run_id, symbol, ts_ms, nth, kind, detail)"
                     " VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                     a, 6, NULL, NULL, NULL, err);
  }
  if (!r && c->n_outcomes) {
    /* the signal_outcomes API (src/storage/outcomes.c), inside this
     * transaction: its table was created before (qt_paper_commit_step) */
    qt_outcome *v = qt_calloc(c->n_outcomes, sizeof *v);
    if (!v) return qt_err_set(err, QT_ENOMEM, "paper: out of memory for outcomes");
    for (size_t k = 0; k < c->n_outcomes; k++) {
      const qt_paper_outcome_rec *o = &c->outcomes[k];
      qt_outcome *d = &v[k];
      snprintf(d->strategy, sizeof d->strategy, "%s", c->strategy);
      snprintf(d->symbol, sizeof d->symbol, "%s", o->symbol);
      snprintf(d->params_version, sizeof d->params_version, "%s", c->params_version);
      snprintf(d->source, sizeof d->source, "paper");
      d->signal_ms = o->signal_ms;
      d->side = o->side < 0 ? -1 : 1;
      d->entry_ms = o->entry_ms, d->entry_price = o->entry_price;
      d->exit_ms = o->exit_ms, d->exit_price = o->exit_price;
      d->pnl = o->pnl, d->pnl_pct = o->pnl_pct;
      d->status = QT_OUTCOME_CLOSED;
      d->closed_ms = o->exit_ms;
    }
    r = qt_outcomes_insert(s, v, c->n_outcomes, NULL, err);
    qt_free(v);
  }
  return r;
}

static int commit_params(qt_storage *s, const qt_paper_commit *c, qt_err *err) {
  for (size_t k = 0; k < c->n_params; k++) {
    const qt_paper_params_rec *x = &c->params[k];
    qt__sql_arg a[] = {QT__SQL_I(c->run_id),     QT__SQL_I(x->seq),         QT__SQL_I(x->wall_ms),
                       QT__SQL_I(x->bar_ms),     QT__SQL_T(x->at_json),     QT__SQL_T(x->params_json),
                       QT__SQL_T(x->source)};
    int r = qt__sql_exec(s,
                         "INSERT INTO paper_params(run_id, seq, wall_ms, bar_ms, at_json,"
                         " params_json, source) VALUES($1, $2, $3, $4, $5, $6, $7)",
                         a, 7, NULL, NULL, NULL, err);
    if (r) return r;
  }
  return QT_OK;
}

static int commit_body(qt_storage *s, void *ctx, qt_err *err) {
  const qt_paper_commit *c = ctx;
  int64_t ch = 0;
  qt__sql_arg a[] = {QT__SQL_I(c->run_id), QT__SQL_I(c->last_bar_ms), QT__SQL_I(c->n_bars),
                     QT__SQL_D(c->cash), QT__SQL_D(c->equity), QT__SQL_I(qt__sql_now_ms())};
  int r = qt__sql_exec(s,
                       "UPDATE paper_runs SET last_bar_ms = $2, n_bars = $3, cash = $4,"
                       " equity = $5, updated_at = $6 WHERE id = $1 AND status = 'running'",
                       a, 6, NULL, NULL, &ch, err);
  if (r) return r;
  if (ch != 1)
    return qt_err_set(err, QT_ESTATE, "paper run %" PRId64 " is not running (stopped elsewhere?)",
                      c->run_id);
  /* the equity curve: one point per committed last bar (a commit at the
   * same bar again, when the feed paused, replaces it) */
  if (c->last_bar_ms > 0) {
    qt__sql_arg e[] = {QT__SQL_I(c->run_id), QT__SQL_I(c->last_bar_ms), QT__SQL_D(c->cash),
                       QT__SQL_D(c->equity)};
    r = qt__sql_exec(s,
                     "INSERT INTO paper_equity(run_id, bar_ms, cash, equity) VALUES($1, $2, $3, $4)"
                     " ON CONFLICT(run_id, bar_ms) DO UPDATE SET cash = excluded.cash,"
                     " equity = excluded.equity",
                     e, 4, NULL, NULL, NULL, err);
    if (r) return r;
  }
  r = commit_orders(s, c, err);
  if (!r) r = commit_trades(s, c, err);
  if (!r) r = commit_state(s, c, err);
  if (!r) r = commit_extras(s, c, err);
  if (!r) r = commit_params(s, c, err);
  return r;
}

int qt_paper_commit_step(qt_storage *s, const qt_paper_commit *c, qt_err *err) {
  int r = qt__sql_schema(s, k_ddl, err);
  /* creates signal_outcomes (an empty insert) outside the transaction */
  if (!r && c->n_outcomes) r = qt_outcomes_insert(s, NULL, 0, NULL, err);
  if (r) return r;
  return qt__sql_tx(s, commit_body, (void *)c, err);
}

/* ------------------------------------------------------------ lists */

/* The per-run tables, read by run id and (where it applies) symbol. */
static int list(qt_storage *s, const char *sql, int64_t run_id, const char *symbol,
                const qt__sql_list *l, void **out, size_t *out_n, qt_err *err) {
  qt__sql_arg a[] = {QT__SQL_I(run_id), QT__SQL_T(symbol ? symbol : "")};
  return qt__sql_list_read(s, k_ddl, sql, a, 2, l, out, out_n, err);
}

static int fill_order(void *dst, const qt__sql_val *c, qt_err *err) {
  qt_paper_order_rec *o = dst;
  qt__sql_copy_text(o->symbol, sizeof o->symbol, &c[0]);
  o->seq = c[1].i, o->ts_ms = c[2].i, o->order_id = c[3].i;
  o->action = c[4].t && !strcmp(c[4].t, "replace") ? 1 : c[4].t && !strcmp(c[4].t, "cancel") ? 2 : 0;
  o->side = (int)c[5].i, o->type = (int)c[6].i, o->leg = (int)c[7].i;
  o->flags = (unsigned)c[8].i;
  o->qty = c[9].d, o->price = c[10].d, o->expire_ms = c[11].i;
  return QT_OK;
}

int qt_paper_orders_list(qt_storage *s, int64_t run_id, const char *symbol,
                         qt_paper_order_rec **out, size_t *out_n, qt_err *err) {
  static const qt__sql_list l = {sizeof **out, 12, 64, "paper rows", fill_order, NULL};
  return list(s,
              "SELECT symbol, seq, ts_ms, order_id, action, side, type, leg, flags, qty, price,"
              " expire_ms FROM paper_orders WHERE run_id = $1 AND ($2 = '' OR symbol = $2)"
              " ORDER BY symbol, seq",
              run_id, symbol, &l, (void **)out, out_n, err);
}

static int fill_trade(void *dst, const qt__sql_val *c, qt_err *err) {
  qt_paper_trade_rec *t = dst;
  qt__sql_copy_text(t->symbol, sizeof t->symbol, &c[0]);
  t->seq = c[1].i, t->side = (int)c[2].i, t->leg = (int)c[3].i, t->exit_reason = (int)c[4].i;
  t->entry_ms = c[5].i, t->exit_ms = c[6].i, t->bars_held = c[7].i;
  t->qty = c[8].d, t->entry_price = c[9].d, t->exit_price = c[10].d;
  t->pnl = c[11].d, t->fees = c[12].d, t->funding = c[13].d;
  return QT_OK;
}

int qt_paper_trades_list(qt_storage *s, int64_t run_id, const char *symbol,
                         qt_paper_trade_rec **out, size_t *out_n, qt_err *err) {
  static const qt__sql_list l = {sizeof **out, 14, 64, "paper rows", fill_trade, NULL};
  return list(s,
              "SELECT symbol, seq, side, leg, exit_reason, entry_ms, exit_ms, bars_held, qty,"
              " entry_price, exit_price, pnl, fees, funding FROM paper_trades"
              " WHERE run_id = $1 AND ($2 = '' OR symbol = $2) ORDER BY symbol, seq",
              run_id, symbol, &l, (void **)out, out_n, err);
}

static int fill_pos(void *dst, const qt__sql_val *c, qt_err *err) {
  qt_paper_pos_rec *p = dst;
  qt__sql_copy_text(p->symbol, sizeof p->symbol, &c[0]);
  p->qty = c[1].d, p->avg_price = c[2].d, p->cash = c[3].d, p->equity = c[4].d;
  p->last_bar_ms = c[5].i, p->n_bars = c[6].i, p->n_orders = c[7].i, p->n_trades = c[8].i;
  return QT_OK;
}

int qt_paper_pos_list(qt_storage *s, int64_t run_id, qt_paper_pos_rec **out, size_t *out_n,
                      qt_err *err) {
  static const qt__sql_list l = {sizeof **out, 9, 64, "paper rows", fill_pos, NULL};
  return list(s,
              "SELECT symbol, qty, avg_price, cash, equity, last_bar_ms, n_bars, n_orders,"
              " n_trades FROM paper_positions WHERE run_id = $1 AND ($2 = '' OR $2 = '')"
              " ORDER BY symbol",
              run_id, NULL, &l, (void **)out, out_n, err);
}

static int fill_open(void *dst, const qt__sql_val *c, qt_err *err) {
  qt_paper_open_rec *o = dst;
  qt__sql_copy_text(o->symbol, sizeof o->symbol, &c[0]);
  o->order_id = c[1].i, o->side = (int)c[2].i, o->type = (int)c[3].i;
  o->qty = c[4].d, o->price = c[5].d;
  return QT_OK;
}

int qt_paper_open_list(qt_storage *s, int64_t run_id, qt_paper_open_rec **out, size_t *out_n,
                       qt_err *err) {
  static const qt__sql_list l = {sizeof **out, 6, 64, "paper rows", fill_open, NULL};
  return list(s,
              "SELECT symbol, order_id, side, type, qty, price FROM paper_open_orders"
              " WHERE run_id = $1 AND ($2 = '' OR $2 = '') ORDER BY symbol, order_id",
              run_id, NULL, &l, (void **)out, out_n, err);
}

static int fill_bar(void *dst, const qt__sql_val *c, qt_err *err) {
  qt_paper_bar_rec *b = dst;
  qt__sql_copy_text(b->symbol, sizeof b->symbol, &c[0]);
  b->ts_ms = c[1].i;
  b->open = c[2].d, b->high = c[3].d, b->low = c[4].d, b->close = c[5].d, b->volume = c[6].d;
  return QT_OK;
}

int qt_paper_bars_list(qt_storage *s, int64_t run_id, const char *symbol, qt_paper_bar_rec **out,
                       size_t *out_n, qt_err *err) {
  static const qt__sql_list l = {sizeof **out, 7, 64, "paper rows", fill_bar, NULL};
  return list(s,
              "SELECT symbol, ts_ms, open, high, low, close, volume FROM paper_bars"
              " WHERE run_id = $1 AND ($2 = '' OR symbol = $2) ORDER BY symbol, ts_ms",
              run_id, symbol, &l, (void **)out, out_n, err);
}

static int fill_risk(void *dst, const qt__sql_val *c, qt_err *err) {
  qt_paper_risk_rec *x = dst;
  qt__sql_copy_text(x->symbol, sizeof x->symbol, &c[0]);
  x->ts_ms = c[1].i, x->nth = c[2].i;
  qt__sql_copy_text(x->kind, sizeof x->kind, &c[3]);
  qt__sql_copy_text(x->detail, sizeof x->detail, &c[4]);
  return QT_OK;
}

int qt_paper_risk_list(qt_storage *s, int64_t run_id, qt_paper_risk_rec **out, size_t *out_n,
                       qt_err *err) {
  static const qt__sql_list l = {sizeof **out, 5, 64, "paper rows", fill_risk, NULL};
  return list(s,
              "SELECT symbol, ts_ms, nth, kind, detail FROM paper_risk"
              " WHERE run_id = $1 AND ($2 = '' OR $2 = '') ORDER BY ts_ms, symbol, nth",
              run_id, NULL, &l, (void **)out, out_n, err);
}

static int fill_params(void *dst, const qt__sql_val *c, qt_err *err) {
  qt_paper_params_rec *x = dst;
  x->seq = c[0].i, x->wall_ms = c[1].i, x->bar_ms = c[2].i;
  qt__sql_copy_text(x->at_json, sizeof x->at_json, &c[3]);
  qt__sql_copy_text(x->params_json, sizeof x->params_json, &c[4]);
  qt__sql_copy_text(x->source, sizeof x->source, &c[5]);
  return QT_OK;
}

int qt_paper_params_list(qt_storage *s, int64_t run_id, qt_paper_params_rec **out, size_t *out_n,
                         qt_err *err) {
  static const qt__sql_list l = {sizeof **out, 6, 64, "paper rows", fill_params, NULL};
  return list(s,
              "SELECT seq, wall_ms, bar_ms, at_json, params_json, source FROM paper_params"
              " WHERE run_id = $1 AND ($2 = '' OR $2 = '') ORDER BY seq",
              run_id, NULL, &l, (void **)out, out_n, err);
}

int qt_paper_runs_list(qt_storage *s, qt_paper_run_rec **out, size_t *out_n, qt_err *err) {
  static const qt__sql_list l = {sizeof **out, 15, 16, "paper_runs", fill_run, NULL};
  return qt__sql_list_read(s, k_ddl,
                           "SELECT " RUN_COLS " FROM paper_runs ORDER BY created_at DESC, id DESC",
                           NULL, 0, &l, (void **)out, out_n, err);
}

static int fill_equity(void *dst, const qt__sql_val *c, qt_err *err) {
  qt_paper_equity_rec *q = dst;
  q->bar_ms = c[0].i, q->cash = c[1].d, q->equity = c[2].d;
  return QT_OK;
}

int qt_paper_equity_list(qt_storage *s, int64_t run_id, qt_paper_equity_rec **out, size_t *out_n,
                         qt_err *err) {
  static const qt__sql_list l = {sizeof **out, 3, 64, "paper rows", fill_equity, NULL};
  return list(s,
              "SELECT bar_ms, cash, equity FROM paper_equity"
              " WHERE run_id = $1 AND ($2 = '' OR $2 = '') ORDER BY bar_ms",
              run_id, NULL, &l, (void **)out, out_n, err);
}
