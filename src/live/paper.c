/* The paper runner: one engine per symbol driven by a feed's events, the
 * risk gate, and the durable state.  Design (docs/paper.md):
 *   - a replay steps each symbol's engine over its loaded series with
 *     qt_engine_step, so it is the backtest bit for bit;
 *   - a stream appends each closed kline to the symbol's own series (room
 *     reserved, doubling) and extends its engine by that bar
 *     (qt_engine_extend: the indicator columns get the new row) and one
 *     step, so the state after a bar is the backtest of the bars so far at
 *     a cost independent of the history; when the columns move (the series
 *     outgrew its room), the interval becomes known or the funding series
 *     changes shape, the engine starts again over the whole series (the
 *     same state, the pointers refreshed; amortized O(1) per bar), with the
 *     live params sets at the bars they took effect;
 *   - the events past those already stored (order actions, closed trades,
 *     outcomes, risk breaches, and a stream's bars) are committed with the
 *     positions, open orders and cash in one transaction, every
 *     commit_every bars or commit_ms of wall time;
 *   - each live params set applied is stored (paper_params, with the bar of
 *     each symbol it took effect at) in the commit of the first bar it
 *     decided, so what is stored never has decisions without their set;
 *   - a restart rebuilds the engines by the same replay with nothing
 *     written (stream: from the stored bars) up to each symbol's last
 *     committed bar, with the stored sets applied at their bars, checks the
 *     rebuilt counts against the stored ones and goes on; what was not
 *     committed is simply done again. */
#include "qtune/live.h"
#include "live/paper_hjb.h"

#include <jansson.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LAT_RING 4096
#define MAX_OPEN 256

typedef struct sym {
  struct qt_paper *p;
  int k;
  char name[32];
  qt_engine *e;
  qt_engine_opts eo;
  /* replay: borrowed feeds; stream: own series */
  const qt_feed *feeds;
  int n_feeds;
  qt_feed own_feed;
  qt_bars bars;
  size_t cap_bars;
  qt_funding fund;
  size_t cap_fund;
  double last_rate;
  int64_t next_funding_ms;
  size_t done_olog, done_trades, n_bars;
  int64_t last_ms;      /* newest bar processed */
  int64_t committed_ms; /* newest bar committed */
  int64_t gate_ts, gate_nth;
  /* stream: what the engine's run was begun on (a change starts it again) */
  int begun, moved;
  int64_t begun_interval_ms;
  size_t begun_fund_n;
} sym;

/* A set of the live params file and the bar of each symbol it took effect
 * at (the index of that symbol's next bar when it was applied); p is its
 * own allocation, so the engines' pointers to it stay valid. */
typedef struct live_rec {
  size_t at[QT_MARKET_MAX_SYMBOLS];
  double *p;
} live_rec;

typedef struct vec {
  void *v;
  size_t n, cap, elem;
} vec;

struct qt_paper {
  qt_paper_opts o;
  int n;
  sym s[QT_MARKET_MAX_SYMBOLS];
  int stream;
  qt_paper_run_rec run;
  char params_version[32];
  int emit;          /* 1: this bar's gate decisions and events are new (not a rebuild) */
  int64_t edge_ms;   /* stream rerun: decisions at bars before it are replayed */
  /* pending writes */
  vec orders, trades, bars, risk, outcomes;
  int64_t bars_since_commit, last_commit_ns, last_status_ns;
  /* recorded refusals (stream reruns replay them) */
  qt_paper_risk_rec *refused;
  size_t n_refused, cap_refused;
  /* daily loss */
  int64_t day;
  double day_start_eq;
  int64_t blocked_day;
  /* status */
  size_t duplicates, conflicts, out_of_order, n_breaches, n_bars;
  double lat_us[LAT_RING];
  size_t n_lat;
  double last_lat_us;
  qt_live_counts feed_counts;
  int64_t now_event_recv_ns;
  /* the live params file: the set in effect and its version */
  double live_p[QT_LIVE_MAX_PARAMS];
  uint64_t live_seen;
  vec live_recs; /* live_rec: every set applied, in order (stream restarts replay them) */
  vec params_pend; /* qt_paper_params_rec: sets applied, not yet committed */
  int64_t params_seq; /* the next set's seq in paper_params */
  int resumed;        /* the next new version may be the stored set in effect again */
  qt__hjb_bg *hjb; /* the background HJB thread, or NULL */
  size_t n_proposed;
  uint64_t hjb_seen, hjb_filed; /* the set the thread has; the set last filed against */
};

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int vec_push(vec *v, const void *x) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 64;
    void *g = qt_realloc(v->v, cap * v->elem);
    if (!g) return QT_ENOMEM;
    v->v = g;
    v->cap = cap;
  }
  memcpy((char *)v->v + v->n * v->elem, x, v->elem);
  v->n++;
  return QT_OK;
}

qt_paper_opts qt_paper_opts_default(void) {
  qt_paper_opts o;
  memset(&o, 0, sizeof o);
  o.engine = qt_engine_opts_default();
  o.commit_ms = 200;
  o.status_ms = 500;
  return o;
}

char *qt_paper_params_json(const qt_strategy_vtbl *s, const double *p, char *buf, size_t cap) {
  size_t w = 0;
  if (!cap) return buf;
  buf[0] = '\0';
  w += (size_t)snprintf(buf, cap, "{");
  for (size_t k = 0; k < s->n_params && w < cap; k++) {
    const qt_param_spec *ps = &s->params[k];
    const char *sep = k ? ", " : "";
    if (ps->type == QT_PARAM_CAT && (size_t)p[k] < ps->n_choices)
      w += (size_t)snprintf(buf + w, cap - w, "%s\"%s\": \"%s\"", sep, ps->name,
                            ps->choices[(size_t)p[k]]);
    else if (ps->type == QT_PARAM_INT || ps->type == QT_PARAM_BOOL)
      w += (size_t)snprintf(buf + w, cap - w, "%s\"%s\": %lld", sep, ps->name, (long long)p[k]);
    else
      w += (size_t)snprintf(buf + w, cap - w, "%s\"%s\": %.17g", sep, ps->name, p[k]);
  }
  if (w < cap) snprintf(buf + w, cap - w, "}");
  return buf;
}

/* ------------------------------------------------------------ risk gate */

static double portfolio_equity(const qt_paper *p) {
  double eq = 0;
  for (int k = 0; k < p->n; k++) {
    const qt_ctx *cx = qt_engine_ctx(p->s[k].e);
    eq += p->s[k].last_ms ? qt_ctx_equity(cx) : p->s[k].eo.cash;
  }
  return eq;
}

static int open_positions(const qt_paper *p) {
  int n = 0;
  for (int k = 0; k < p->n; k++)
    if (p->s[k].last_ms && qt_ctx_position(qt_engine_ctx(p->s[k].e), 0, QT_LEG_NET) != 0) n++;
  return n;
}

/* Symbols other than `self` holding a position or a working order (an
 * entry in flight counts: it fills at the next bar). */
static int busy_others(const qt_paper *p, int self) {
  int n = 0;
  for (int k = 0; k < p->n; k++) {
    if (k == self || !p->s[k].last_ms) continue;
    const qt_engine *e = p->s[k].e;
    n += qt_ctx_position(qt_engine_ctx(e), 0, QT_LEG_NET) != 0 ||
         qt_engine_open_orders(e, NULL, 0) > 0;
  }
  return n;
}

static int was_refused(const qt_paper *p, const sym *s, int64_t ts, int64_t nth) {
  for (size_t j = p->n_refused; j-- > 0;) {
    const qt_paper_risk_rec *x = &p->refused[j];
    if (x->ts_ms == ts && x->nth == nth && !strcmp(x->symbol, s->name)) return 1;
    if (x->ts_ms < ts) break; /* kept in time order */
  }
  return 0;
}

static void breach(qt_paper *p, sym *s, int64_t ts, int64_t nth, const char *kind, int refused,
                   const char *fmt, double a, double b) {
  qt_paper_risk_rec x;
  memset(&x, 0, sizeof x);
  snprintf(x.symbol, sizeof x.symbol, "%s", s->name);
  x.ts_ms = ts;
  x.nth = nth;
  snprintf(x.kind, sizeof x.kind, "%s", kind);
  snprintf(x.detail, sizeof x.detail, fmt, a, b);
  char t[40];
  qt_time_format(ts, t, sizeof t);
  qt_log(QT_LOG_WARN, "risk: %s %s %s: %s", s->name, t, kind, x.detail);
  p->n_breaches++;
  if (vec_push(&p->risk, &x)) return; /* the log line stays; the row is lost with the memory */
  if (refused && p->n_refused < p->cap_refused) p->refused[p->n_refused++] = x;
}

/* The limits, on each submission of symbol s's strategy.  Closes always
 * pass.  risk_per_trade depends only on this symbol's state, so it is
 * computed again on every rebuild; the portfolio limits (max_positions,
 * max_daily_loss) read the other symbols, so a stream's rerun replays
 * the refusals recorded when its bars were new. */
static int gate(void *u, const qt_ctx *cx, const qt_order_req *r, int closing, double *qty,
                double price) {
  sym *s = u;
  qt_paper *p = s->p;
  int64_t now = qt_ctx_now(cx);
  if (now != s->gate_ts) s->gate_ts = now, s->gate_nth = 0;
  int64_t nth = s->gate_nth++;
  if (closing) return 0;
  const qt_paper_limits *L = &p->o.limits;
  if (L->risk_per_trade > 0) {
    size_t nb = 0;
    const qt_bars *b = qt_ctx_bars(cx, r->inst, &nb);
    double px = price > 0 ? price : (nb ? b->close[nb - 1] : 0);
    double cap = L->risk_per_trade * qt_ctx_equity(cx);
    if (px > 0 && *qty * px > cap) {
      if (p->emit && (!p->stream || now >= p->edge_ms))
        breach(p, s, now, nth, "risk_per_trade", 0, "order of %.6g notional cut to %.6g",
               *qty * px, cap);
      *qty = cap / px;
    }
  }
  if (!L->max_positions && !(L->max_daily_loss > 0)) return 0;
  if (p->stream && now < p->edge_ms) return was_refused(p, s, now, nth);
  int refuse = 0;
  if (L->max_positions && qt_ctx_position(cx, r->inst, QT_LEG_NET) == 0) {
    int open = busy_others(p, s->k);
    if (open >= L->max_positions) {
      refuse = 1;
      if (p->emit)
        breach(p, s, now, nth, "max_positions", 1, "%.0f open, limit %.0f", (double)open,
               (double)L->max_positions);
    }
  }
  if (!refuse && L->max_daily_loss > 0) {
    int64_t day = now / 86400000;
    double eq = portfolio_equity(p);
    if (p->blocked_day == day || eq < p->day_start_eq * (1 - L->max_daily_loss)) {
      refuse = 1;
      if (p->emit && p->blocked_day != day)
        breach(p, s, now, nth, "max_daily_loss", 1, "equity %.6g below the day's limit %.6g", eq,
               p->day_start_eq * (1 - L->max_daily_loss));
      else if (p->emit && p->n_refused < p->cap_refused) {
        /* later refusals of the day: recorded for reruns, not logged again */
        qt_paper_risk_rec x;
        memset(&x, 0, sizeof x);
        snprintf(x.symbol, sizeof x.symbol, "%s", s->name);
        x.ts_ms = now, x.nth = nth;
        snprintf(x.kind, sizeof x.kind, "max_daily_loss");
        snprintf(x.detail, sizeof x.detail, "blocked for the day");
        if (!vec_push(&p->risk, &x)) p->refused[p->n_refused++] = x;
      }
      p->blocked_day = day;
    }
  }
  return refuse;
}

/* ------------------------------------------------------------ open */

static int new_engine(sym *s, qt_err *err) {
  qt_engine_free(s->e);
  s->e = NULL;
  return qt_engine_new(&s->eo, &s->e, err);
}

static int begin_replay(qt_paper *p, sym *s, qt_err *err) {
  int rc = new_engine(s, err);
  if (!rc) rc = qt_engine_begin(s->e, s->feeds, s->n_feeds, p->o.strategy, p->o.params, err);
  return rc;
}

/* Appends one bar to a stream symbol's own series. */
static int append_bar(sym *s, const qt_live_event *ev, qt_err *err) {
  qt_bars *b = &s->bars;
  if (b->n == s->cap_bars) {
    size_t cap = s->cap_bars ? s->cap_bars * 2 : 1024;
    int64_t *ts = qt_realloc(b->ts_ms, cap * sizeof *ts);
    if (ts) b->ts_ms = ts;
    double **cols[5] = {&b->open, &b->high, &b->low, &b->close, &b->volume};
    int ok = ts != NULL;
    for (int c = 0; c < 5 && ok; c++) {
      double *g = qt_realloc(*cols[c], cap * sizeof(double));
      if (g) *cols[c] = g;
      else ok = 0;
    }
    s->moved = 1; /* the engine's views and columns point at the old ones */
    if (!ok) return qt_err_set(err, QT_ENOMEM, "paper: out of memory for %zu bars", cap);
    s->cap_bars = cap;
  }
  size_t i = b->n++;
  b->ts_ms[i] = ev->ts_ms;
  b->open[i] = ev->open, b->high[i] = ev->high, b->low[i] = ev->low, b->close[i] = ev->close;
  b->volume[i] = ev->volume;
  if (!b->interval_ms && i > 0) b->interval_ms = b->ts_ms[i] - b->ts_ms[i - 1];
  return QT_OK;
}

static int append_funding(sym *s, int64_t ts, double rate, double interval_h, qt_err *err) {
  qt_funding *f = &s->fund;
  if (f->n == s->cap_fund) {
    size_t cap = s->cap_fund ? s->cap_fund * 2 : 64;
    int64_t *t = qt_realloc(f->ts_ms, cap * sizeof *t);
    if (t) f->ts_ms = t;
    double *r = t ? qt_realloc(f->rate, cap * sizeof *r) : NULL;
    if (r) f->rate = r;
    double *h = r ? qt_realloc(f->interval_h, cap * sizeof *h) : NULL;
    if (!h) return qt_err_set(err, QT_ENOMEM, "paper: out of memory for funding");
    f->interval_h = h;
    s->cap_fund = cap;
    s->moved = 1;
  }
  f->ts_ms[f->n] = ts, f->rate[f->n] = rate, f->interval_h[f->n] = interval_h;
  f->n++;
  return QT_OK;
}

/* Starts a stream symbol's engine again over all its bars (close_at_end
 * off): a new engine (a fresh indicator cache), its columns reserved to the
 * series' room, the params in effect at the first bar, then each bar
 * stepped with the live params sets applied before the bars they took
 * effect at, as they were live. */
static int restart(qt_paper *p, sym *s, qt_err *err) {
  s->own_feed.bars = &s->bars;
  s->own_feed.funding = s->fund.n ? &s->fund : NULL;
  s->gate_ts = INT64_MIN;
  s->begun = s->moved = 0;
  int rc = new_engine(s, err);
  if (rc) return rc;
  qt_engine_reserve(s->e, s->cap_bars);
  const live_rec *lr = p->live_recs.v;
  size_t j = 0, nr = p->live_recs.n;
  const double *p0 = p->o.params;
  for (; j < nr && lr[j].at[s->k] == 0; j++) p0 = lr[j].p;
  rc = qt_engine_begin(s->e, &s->own_feed, 1, p->o.strategy, p0, err);
  for (size_t i = 0; !rc && i < s->bars.n; i++) {
    for (; !rc && j < nr && lr[j].at[s->k] == i; j++) rc = qt_engine_set_params(s->e, lr[j].p, err);
    if (!rc) rc = qt_engine_step(s->e, err);
  }
  if (rc) return rc;
  s->begun = 1;
  s->begun_interval_ms = s->bars.interval_ms;
  s->begun_fund_n = s->fund.n;
  return QT_OK;
}

/* A stream symbol's new last bar: one extend and one step, or a restart
 * when what the run began on changed (see the top of the file).  A funding
 * settlement added at or before the last bar stepped is in the past of the
 * run (a backtest of these bars settles it there), so it restarts too. */
static int advance(qt_paper *p, sym *s, qt_err *err) {
  int late_funding = s->fund.n != s->begun_fund_n && s->bars.n > 1 &&
                     s->fund.ts_ms[s->begun_fund_n] <= s->bars.ts_ms[s->bars.n - 2];
  if (!s->begun || s->moved || s->bars.interval_ms != s->begun_interval_ms || late_funding ||
      (s->begun_fund_n == 0) != (s->fund.n == 0))
    return restart(p, s, err);
  s->begun_fund_n = s->fund.n;
  int rc = qt_engine_extend(s->e, err);
  if (!rc) rc = qt_engine_step(s->e, err);
  return rc;
}

static int init_symbols(qt_paper *p, qt_err *err) {
  const qt_paper_opts *o = &p->o;
  for (int k = 0; k < p->n; k++) {
    sym *s = &p->s[k];
    s->p = p;
    s->k = k;
    snprintf(s->name, sizeof s->name, "%s", o->symbols[k]);
    s->eo = o->engine;
    s->eo.cash = o->engine.cash / p->n;
    s->eo.log_orders = 1;
    s->eo.order_gate = gate;
    s->eo.order_gate_ctx = s;
    s->gate_ts = INT64_MIN;
    if (!p->stream) {
      s->feeds = o->replay_feeds[k];
      s->n_feeds = o->replay_n_feeds[k];
      s->eo.from = o->replay_from[k];
      s->eo.to = o->replay_to[k];
      int rc = begin_replay(p, s, err);
      if (rc) return rc;
    } else {
      s->own_feed.inst = o->inst[k];
      s->eo.from = 0;
      s->eo.to = 0;
      s->eo.close_at_end = 0; /* a stream has no last bar */
      s->bars.interval_ms = o->interval_ms;
      int rc = new_engine(s, err);
      if (rc) return rc;
    }
  }
  return QT_OK;
}

/* Symbol s's new events since the last collection into the pending writes
 * (emit) or only counted (a rebuild). */
static int collect(qt_paper *p, sym *s, int emit, qt_err *err) {
  qt_result r;
  qt_engine_peek(s->e, &r);
  if (emit) {
    if (r.n_order_log > s->done_olog && p->now_event_recv_ns) {
      double us = (double)(mono_ns() - p->now_event_recv_ns) / 1e3;
      p->last_lat_us = us;
      p->lat_us[p->n_lat++ % LAT_RING] = us;
    }
    for (size_t j = s->done_olog; j < r.n_order_log; j++) {
      const qt_order_event *e = &r.order_log[j];
      qt_paper_order_rec o = {.seq = (int64_t)j, .ts_ms = e->ts_ms, .order_id = e->id,
                              .action = e->action, .side = e->side, .type = e->type,
                              .leg = e->leg, .flags = e->flags, .qty = e->qty, .price = e->price,
                              .expire_ms = e->expire_ms};
      snprintf(o.symbol, sizeof o.symbol, "%s", s->name);
      if (vec_push(&p->orders, &o)) return qt_err_set(err, QT_ENOMEM, "paper: out of memory");
    }
    for (size_t j = s->done_trades; j < r.n_trades; j++) {
      const qt_trade_rec *t = &r.trades[j];
      qt_paper_trade_rec tr = {.seq = (int64_t)j, .side = t->side, .leg = t->leg,
                               .exit_reason = t->exit_reason, .entry_ms = t->entry_ms,
                               .exit_ms = t->exit_ms, .bars_held = t->bars_held, .qty = t->qty,
                               .entry_price = t->entry_price, .exit_price = t->exit_price,
                               .pnl = t->pnl, .fees = t->fees, .funding = t->funding};
      snprintf(tr.symbol, sizeof tr.symbol, "%s", s->name);
      qt_paper_outcome_rec oc = {.side = t->side, .signal_ms = t->entry_ms,
                                 .entry_ms = t->entry_ms, .exit_ms = t->exit_ms,
                                 .entry_price = t->entry_price, .exit_price = t->exit_price,
                                 .pnl = t->pnl};
      double notional = t->qty * t->entry_price;
      oc.pnl_pct = notional > 0 ? 100.0 * t->pnl / notional : 0;
      snprintf(oc.symbol, sizeof oc.symbol, "%s", s->name);
      if (vec_push(&p->trades, &tr) || vec_push(&p->outcomes, &oc))
        return qt_err_set(err, QT_ENOMEM, "paper: out of memory");
    }
  }
  s->done_olog = r.n_order_log;
  s->done_trades = r.n_trades;
  return QT_OK;
}

/* ------------------------------------------------------------ commit */

static int commit(qt_paper *p, qt_err *err) {
  p->bars_since_commit = 0;
  p->last_commit_ns = mono_ns();
  if (!p->o.storage) {
    p->orders.n = p->trades.n = p->bars.n = p->risk.n = p->outcomes.n = 0;
    p->params_pend.n = 0;
    return QT_OK;
  }
  qt_paper_pos_rec pos[QT_MARKET_MAX_SYMBOLS];
  static _Thread_local qt_paper_open_rec open[QT_MARKET_MAX_SYMBOLS * MAX_OPEN];
  qt_order_event oe[MAX_OPEN];
  size_t n_open = 0;
  int64_t last = 0;
  for (int k = 0; k < p->n; k++) {
    sym *s = &p->s[k];
    const qt_ctx *cx = qt_engine_ctx(s->e);
    int live = s->last_ms != 0;
    qt_paper_pos_rec *q = &pos[k];
    memset(q, 0, sizeof *q);
    snprintf(q->symbol, sizeof q->symbol, "%s", s->name);
    q->qty = live ? qt_ctx_position(cx, 0, QT_LEG_NET) : 0;
    q->avg_price = live ? qt_ctx_entry_price(cx, 0, QT_LEG_NET) : 0;
    q->cash = live ? qt_ctx_cash(cx) : s->eo.cash;
    q->equity = live ? qt_ctx_equity(cx) : s->eo.cash;
    q->last_bar_ms = s->last_ms;
    q->n_bars = (int64_t)s->n_bars;
    q->n_orders = (int64_t)s->done_olog;
    q->n_trades = (int64_t)s->done_trades;
    size_t no = live ? qt_engine_open_orders(s->e, oe, MAX_OPEN) : 0;
    for (size_t j = 0; j < no && j < MAX_OPEN; j++) {
      qt_paper_open_rec *x = &open[n_open++];
      memset(x, 0, sizeof *x);
      snprintf(x->symbol, sizeof x->symbol, "%s", s->name);
      x->order_id = oe[j].id, x->side = oe[j].side, x->type = oe[j].type;
      x->qty = oe[j].qty, x->price = oe[j].price;
    }
    if (s->last_ms > last) last = s->last_ms;
  }
  double eq = 0, cash = 0;
  for (int k = 0; k < p->n; k++) eq += pos[k].equity, cash += pos[k].cash;
  qt_paper_commit c = {.run_id = p->run.id, .last_bar_ms = last, .n_bars = (int64_t)p->n_bars,
                       .cash = cash, .equity = eq,
                       .orders = p->orders.v, .n_orders = p->orders.n,
                       .trades = p->trades.v, .n_trades = p->trades.n,
                       .pos = pos, .n_pos = (size_t)p->n, .open = open, .n_open = n_open,
                       .bars = p->bars.v, .n_bars_new = p->bars.n,
                       .risk = p->risk.v, .n_risk = p->risk.n,
                       .outcomes = p->outcomes.v, .n_outcomes = p->outcomes.n,
                       .strategy = p->o.strategy->name, .params_version = p->params_version,
                       .params = p->params_pend.v, .n_params = p->params_pend.n};
  int rc = qt_paper_commit_step(p->o.storage, &c, err);
  if (rc) return rc;
  for (int k = 0; k < p->n; k++) p->s[k].committed_ms = p->s[k].last_ms;
  p->orders.n = p->trades.n = p->bars.n = p->risk.n = p->outcomes.n = 0;
  p->params_pend.n = 0;
  return QT_OK;
}

/* ------------------------------------------------------------ resume */

static int stored_counts_match(qt_paper *p, qt_err *err) {
  qt_paper_pos_rec *pos = NULL;
  size_t n = 0;
  int rc = qt_paper_pos_list(p->o.storage, p->run.id, &pos, &n, err);
  if (rc) return rc;
  for (size_t j = 0; j < n && !rc; j++)
    for (int k = 0; k < p->n; k++) {
      sym *s = &p->s[k];
      if (strcmp(pos[j].symbol, s->name)) continue;
      if ((int64_t)s->done_olog != pos[j].n_orders || (int64_t)s->done_trades != pos[j].n_trades)
        rc = qt_err_set(err, QT_ESTATE,
                        "resume of '%s': %s rebuilt %zu orders and %zu trades, the storage has "
                        "%" PRId64 " and %" PRId64 " (different data or code?)",
                        p->run.name, s->name, s->done_olog, s->done_trades, pos[j].n_orders,
                        pos[j].n_trades);
    }
  qt_free(pos);
  return rc;
}

/* Per-symbol last committed bars from the storage. */
static int load_positions(qt_paper *p, qt_err *err) {
  qt_paper_pos_rec *pos = NULL;
  size_t n = 0;
  int rc = qt_paper_pos_list(p->o.storage, p->run.id, &pos, &n, err);
  if (rc) return rc;
  for (size_t j = 0; j < n; j++)
    for (int k = 0; k < p->n; k++)
      if (!strcmp(pos[j].symbol, p->s[k].name)) p->s[k].committed_ms = pos[j].last_bar_ms;
  qt_free(pos);
  return QT_OK;
}

static int load_refusals(qt_paper *p, qt_err *err) {
  qt_paper_risk_rec *x = NULL;
  size_t n = 0;
  int rc = qt_paper_risk_list(p->o.storage, p->run.id, &x, &n, err);
  if (rc) return rc;
  for (size_t j = 0; j < n; j++)
    if (strcmp(x[j].kind, "risk_per_trade") && p->n_refused < p->cap_refused)
      p->refused[p->n_refused++] = x[j];
  qt_free(x);
  return QT_OK;
}

static int params_pend(qt_paper *p, int64_t bar_ms, const size_t *at, const char *source,
                       const double *params, qt_err *err);

/* One stored set into a live_rec (its values over the start params, each
 * symbol's bar from at_json).  A row that does not parse names the run, the
 * seq and the field. */
static int stored_set(qt_paper *p, const qt_paper_params_rec *x, live_rec *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  const qt_strategy_vtbl *st = p->o.strategy;
  size_t np = st->n_params;
  char where[200];
  snprintf(where, sizeof where, "paper_params of run '%s', seq %" PRId64, p->run.name, x->seq);
  out->p = qt_malloc((np ? np : 1) * sizeof *out->p);
  if (!out->p) return qt_err_set(err, QT_ENOMEM, "paper: out of memory for a stored set");
  int rc = qt_live_params_parse(st, x->params_json, strlen(x->params_json), where, p->o.params,
                                out->p, err);
  if (rc) goto fail;
  json_error_t je;
  json_t *at = json_loads(x->at_json, 0, &je);
  if (!json_is_object(at)) {
    json_decref(at);
    rc = qt_err_set(err, QT_EPARSE, "%s: field 'at_json': not a JSON object (\"%.60s\")", where,
                    x->at_json);
    goto fail;
  }
  for (int k = 0; k < p->n && !rc; k++) {
    json_t *v = json_object_get(at, p->s[k].name);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
      rc = qt_err_set(err, QT_EPARSE, "%s: field 'at_json': no bar index for %s", where,
                      p->s[k].name);
    else out->at[k] = (size_t)json_integer_value(v);
  }
  json_decref(at);
  if (!rc) return QT_OK;
fail:
  qt_free(out->p);
  out->p = NULL;
  return rc;
}

/* The run's stored sets: the live ones become live_recs, which the rebuild
 * applies at their bars; the last is the set in effect.  A run stored
 * before paper_params existed has none: its start set is stored now. */
static int load_params(qt_paper *p, qt_err *err) {
  qt_paper_params_rec *x = NULL;
  size_t n = 0;
  int rc = qt_paper_params_list(p->o.storage, p->run.id, &x, &n, err);
  for (size_t j = 0; j < n && !rc; j++) {
    p->params_seq = x[j].seq + 1;
    if (!strcmp(x[j].source, "start")) continue;
    live_rec r;
    rc = stored_set(p, &x[j], &r, err);
    if (!rc && vec_push(&p->live_recs, &r)) {
      qt_free(r.p);
      rc = qt_err_set(err, QT_ENOMEM, "paper: out of memory for a stored set");
    }
    if (!rc && p->o.strategy->n_params)
      memcpy(p->live_p, r.p, p->o.strategy->n_params * sizeof *r.p);
  }
  qt_free(x);
  p->resumed = 1;
  if (!rc && n == 0) rc = params_pend(p, 0, NULL, "start", p->o.params, err);
  return rc;
}

/* After a rebuild: the stored sets past a symbol's rebuilt bars (applied
 * before a bar that was not committed) go to its engine now, as they had
 * when the run stopped.  A stream symbol with no engine yet begins with
 * them (restart). */
static int apply_pending_sets(qt_paper *p, qt_err *err) {
  const live_rec *lr = p->live_recs.v;
  for (int k = 0; k < p->n; k++) {
    sym *s = &p->s[k];
    size_t done = p->stream ? s->bars.n : s->n_bars;
    if (p->stream && !s->begun) continue;
    for (size_t j = 0; j < p->live_recs.n; j++) {
      if (lr[j].at[k] < done || (p->stream && lr[j].at[k] == 0)) continue;
      int rc = qt_engine_set_params(s->e, lr[j].p, err);
      if (rc) return rc;
    }
  }
  return QT_OK;
}

static int process_bar(qt_paper *p, sym *s, const qt_live_event *ev, qt_err *err);

/* Replay: steps every symbol, in the feed's merged order, through its last
 * committed bar with nothing written. */
static int rebuild_replay(qt_paper *p, qt_err *err) {
  size_t next[QT_MARKET_MAX_SYMBOLS] = {0}; /* per symbol, its next stored set */
  const live_rec *lr = p->live_recs.v;
  for (;;) {
    int best = -1;
    int64_t best_ts = 0;
    for (int k = 0; k < p->n; k++) {
      sym *s = &p->s[k];
      const qt_bars *b = s->feeds[0].bars;
      size_t i = s->eo.from + s->n_bars;
      if (i >= s->eo.to || b->ts_ms[i] > s->committed_ms) continue;
      if (best < 0 || b->ts_ms[i] < best_ts) best = k, best_ts = b->ts_ms[i];
    }
    if (best < 0) return QT_OK;
    sym *s = &p->s[best];
    size_t i = s->eo.from + s->n_bars;
    qt_live_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = QT_LIVE_BAR;
    ev.ts_ms = s->feeds[0].bars->ts_ms[i];
    ev.replay_i = i;
    int rc = QT_OK;
    for (size_t *j = &next[best]; !rc && *j < p->live_recs.n && lr[*j].at[best] <= s->n_bars; ++*j)
      rc = qt_engine_set_params(s->e, lr[*j].p, err);
    if (!rc) rc = process_bar(p, s, &ev, err);
    if (rc) return rc;
  }
}

/* Stream: the stored bars become the series; one restart per symbol. */
static int rebuild_stream(qt_paper *p, qt_err *err) {
  for (int k = 0; k < p->n; k++) {
    sym *s = &p->s[k];
    qt_paper_bar_rec *b = NULL;
    size_t n = 0;
    int rc = qt_paper_bars_list(p->o.storage, p->run.id, s->name, &b, &n, err);
    for (size_t j = 0; j < n && !rc; j++) {
      qt_live_event ev;
      memset(&ev, 0, sizeof ev);
      ev.ts_ms = b[j].ts_ms;
      ev.open = b[j].open, ev.high = b[j].high, ev.low = b[j].low, ev.close = b[j].close;
      ev.volume = b[j].volume;
      rc = append_bar(s, &ev, err);
    }
    qt_free(b);
    if (rc) return rc;
    if (!n) continue;
    p->edge_ms = INT64_MAX; /* every decision of these bars is a recorded one */
    rc = restart(p, s, err);
    if (!rc) rc = collect(p, s, 0, err);
    if (rc) return rc;
    s->n_bars = n;
    s->last_ms = s->bars.ts_ms[n - 1];
    p->n_bars += n;
  }
  return QT_OK;
}

static int params_version(const char *json, char *buf, size_t cap) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a of the params text without spaces */
  for (const char *c = json; *c; c++) {
    if (*c == ' ' || *c == '\n' || *c == '\t') continue;
    h ^= (unsigned char)*c;
    h *= 1099511628211ull;
  }
  snprintf(buf, cap, "%016" PRIx64, h);
  return QT_OK;
}

static int check_opts(const qt_paper_opts *o, qt_err *err) {
  if (!o || !o->strategy || (!o->params && o->strategy->n_params))
    return qt_err_set(err, QT_EINVAL, "paper: no strategy or params");
  if (o->n_symbols < 1 || o->n_symbols > QT_MARKET_MAX_SYMBOLS)
    return qt_err_set(err, QT_EINVAL, "paper: 1..%d symbols, not %d", QT_MARKET_MAX_SYMBOLS,
                      o->n_symbols);
  if (o->storage && (!o->name || !o->name[0]))
    return qt_err_set(err, QT_EINVAL, "paper: a run stored needs a --name");
  if (o->hjb_every_ms < 0 || (o->hjb_every_ms > 0 && (!o->replay_feeds[0] ||
                                                       strcmp(o->strategy->name, "market_maker"))))
    return qt_err_set(err, QT_EINVAL,
                      "paper: --hjb-every needs market_maker on a replay feed (the model is the "
                      "market maker's)");
  if (o->live_params && o->strategy->n_params > QT_LIVE_MAX_PARAMS)
    return qt_err_set(err, QT_EINVAL, "paper: strategy '%s' has too many params for --live-params",
                      o->strategy->name);
  const qt_paper_limits *L = &o->limits;
  if (!(L->risk_per_trade >= 0) || !(L->max_daily_loss >= 0 && L->max_daily_loss < 1) ||
      L->max_positions < 0)
    return qt_err_set(err, QT_EINVAL,
                      "paper: risk limits: risk per trade >= 0, max daily loss in [0, 1), max "
                      "positions >= 0");
  return QT_OK;
}

int qt_paper_open(const qt_paper_opts *o, qt_paper **out, qt_err *err) {
  *out = NULL;
  int rc = check_opts(o, err);
  if (rc) return rc;
  qt_paper *p = qt_calloc(1, sizeof *p);
  if (!p) return qt_err_set(err, QT_ENOMEM, "paper: out of memory");
  p->o = *o;
  p->n = o->n_symbols;
  p->stream = o->replay_feeds[0] == NULL;
  p->orders.elem = sizeof(qt_paper_order_rec);
  p->trades.elem = sizeof(qt_paper_trade_rec);
  p->bars.elem = sizeof(qt_paper_bar_rec);
  p->risk.elem = sizeof(qt_paper_risk_rec);
  p->outcomes.elem = sizeof(qt_paper_outcome_rec);
  p->live_recs.elem = sizeof(live_rec);
  p->params_pend.elem = sizeof(qt_paper_params_rec);
  p->cap_refused = 1 << 16;
  p->refused = qt_malloc(p->cap_refused * sizeof *p->refused);
  p->blocked_day = INT64_MIN;
  p->day = INT64_MIN;
  if (!p->refused) {
    rc = qt_err_set(err, QT_ENOMEM, "paper: out of memory");
    goto fail;
  }
  params_version(o->params_json ? o->params_json : "{}", p->params_version,
                 sizeof p->params_version);
  if (o->strategy->n_params && o->strategy->n_params <= QT_LIVE_MAX_PARAMS)
    memcpy(p->live_p, o->params, o->strategy->n_params * sizeof *o->params);
  rc = init_symbols(p, err);
  if (rc) goto fail;
  if (o->storage) {
    qt_paper_run_rec want;
    memset(&want, 0, sizeof want);
    snprintf(want.name, sizeof want.name, "%s", o->name);
    snprintf(want.strategy, sizeof want.strategy, "%s", o->strategy->name);
    snprintf(want.params_json, sizeof want.params_json, "%s", o->params_json ? o->params_json : "{}");
    snprintf(want.feed, sizeof want.feed, "%s", o->feed_name ? o->feed_name : "");
    size_t w = 0;
    for (int k = 0; k < p->n && w < sizeof want.symbols; k++)
      w += (size_t)snprintf(want.symbols + w, sizeof want.symbols - w, "%s%s", k ? "," : "",
                            o->symbols[k]);
    want.cash = o->engine.cash;
    int created = 0;
    rc = qt_paper_run_open(o->storage, &want, &p->run, &created, err);
    if (rc) goto fail;
    if (created) {
      rc = params_pend(p, 0, NULL, "start", o->params, err);
      if (rc) goto fail;
    } else {
      rc = load_positions(p, err);
      if (!rc) rc = load_refusals(p, err);
      if (!rc) rc = load_params(p, err);
      if (!rc) rc = p->stream ? rebuild_stream(p, err) : rebuild_replay(p, err);
      if (!rc) rc = apply_pending_sets(p, err);
      if (!rc) rc = stored_counts_match(p, err);
      if (rc) goto fail;
      p->orders.n = p->trades.n = p->bars.n = p->risk.n = p->outcomes.n = 0;
    }
  }
  p->live_seen = p->hjb_seen = 1; /* the initial set, o->params: the engines begin with it */
  if (o->hjb_every_ms > 0) {
    rc = qt__hjb_bg_start(p->s[0].feeds[0].bars, o->params, o->strategy->n_params,
                          o->hjb_every_ms, o->hjb_trials > 0 ? o->hjb_trials : 64, &p->hjb, err);
    if (rc) goto fail;
  }
  p->last_commit_ns = p->last_status_ns = mono_ns();
  *out = p;
  return QT_OK;
fail:
  qt_paper_free(p);
  return rc;
}

int64_t qt_paper_resume_ms(const qt_paper *p, int k) {
  return p && k >= 0 && k < p->n ? p->s[k].committed_ms : 0;
}

/* ------------------------------------------------------------ events */

static sym *find_sym(qt_paper *p, const char *name) {
  for (int k = 0; k < p->n; k++)
    if (!strcmp(p->s[k].name, name)) return &p->s[k];
  return NULL;
}

static void new_day(qt_paper *p, int64_t ts) {
  int64_t day = ts / 86400000;
  if (day == p->day) return;
  p->day = day;
  p->day_start_eq = portfolio_equity(p);
}

/* A kline that is not newer than the symbol's last bar, as the importer
 * treats a repeated time: identical is a duplicate, different a conflict
 * (the first copy was traded on, so it stays); an older, unseen time is
 * out of order.  Each is counted and dropped. */
static int stale_kline(qt_paper *p, sym *s, const qt_live_event *ev) {
  const qt_bars *b = &s->bars;
  size_t lo = 0, hi = b->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (b->ts_ms[mid] < ev->ts_ms) lo = mid + 1; else hi = mid;
  }
  char t[40];
  qt_time_format(ev->ts_ms, t, sizeof t);
  if (lo < b->n && b->ts_ms[lo] == ev->ts_ms) {
    if (b->open[lo] == ev->open && b->high[lo] == ev->high && b->low[lo] == ev->low &&
        b->close[lo] == ev->close && b->volume[lo] == ev->volume) {
      p->duplicates++;
      qt_log(QT_LOG_DEBUG, "feed: %s kline %s again (duplicate), dropped", s->name, t);
    } else {
      p->conflicts++;
      qt_log(QT_LOG_WARN, "feed: %s kline %s again with other values, dropped (traded on the first)",
             s->name, t);
    }
  } else {
    p->out_of_order++;
    qt_log(QT_LOG_WARN, "feed: %s kline %s out of order (after %s), dropped", s->name, t,
           "a later bar");
  }
  return QT_OK;
}

static int process_bar(qt_paper *p, sym *s, const qt_live_event *ev, qt_err *err) {
  int emit = p->emit;
  int rc = QT_OK;
  new_day(p, ev->ts_ms);
  if (!p->stream) {
    /* the engine's next bar is this one (the feed sends them in order) */
    const qt_bars *b = s->feeds[0].bars;
    size_t want = s->eo.from + s->n_bars;
    if (want >= s->eo.to || ev->replay_i != want || b->ts_ms[want] != ev->ts_ms)
      return qt_err_set(err, QT_ESTATE, "paper: %s: replay bar %zu, expected %zu", s->name,
                        ev->replay_i, want);
    rc = qt_engine_step(s->e, err);
    if (rc == QT_DONE) rc = qt_err_set(err, QT_ESTATE, "paper: %s: past the replay range", s->name);
  } else {
    if (s->bars.n && ev->ts_ms <= s->bars.ts_ms[s->bars.n - 1]) return stale_kline(p, s, ev);
    rc = append_bar(s, ev, err);
    if (!rc && emit) {
      qt_paper_bar_rec br = {.ts_ms = ev->ts_ms, .open = ev->open, .high = ev->high,
                             .low = ev->low, .close = ev->close, .volume = ev->volume};
      snprintf(br.symbol, sizeof br.symbol, "%s", s->name);
      if (vec_push(&p->bars, &br)) rc = qt_err_set(err, QT_ENOMEM, "paper: out of memory");
    }
    p->edge_ms = ev->ts_ms;
    if (!rc) rc = advance(p, s, err);
  }
  if (rc) return rc;
  s->n_bars++;
  p->n_bars++;
  s->last_ms = ev->ts_ms;
  return collect(p, s, emit, err);
}

static int process_mark(qt_paper *p, sym *s, const qt_live_event *ev, qt_err *err) {
  if (!p->stream || isnan(ev->funding_rate)) return QT_OK;
  /* a new next-funding time: the previous one was settled at the last rate */
  if (s->next_funding_ms && ev->next_funding_ms > s->next_funding_ms &&
      (!s->fund.n || s->fund.ts_ms[s->fund.n - 1] < s->next_funding_ms)) {
    double h = (double)(ev->next_funding_ms - s->next_funding_ms) / 3600000.0;
    int rc = append_funding(s, s->next_funding_ms, s->last_rate, h, err);
    if (rc) return rc;
  }
  s->next_funding_ms = ev->next_funding_ms;
  s->last_rate = ev->funding_rate;
  return QT_OK;
}

static void status_now(const qt_paper *p, qt_paper_status *st) {
  memset(st, 0, sizeof *st);
  for (int k = 0; k < p->n; k++) {
    const sym *s = &p->s[k];
    if (s->last_ms > st->last_bar_ms) st->last_bar_ms = s->last_ms;
    qt_result r;
    qt_engine_peek(s->e, &r);
    st->n_trades += r.n_trades;
    st->n_orders += r.n_orders;
    st->n_rejected += r.n_rejected;
  }
  st->start_cash = p->o.engine.cash;
  st->equity = portfolio_equity(p);
  st->pnl = st->equity - st->start_cash;
  st->open_positions = open_positions(p);
  st->n_bars = p->n_bars;
  st->n_breaches = p->n_breaches;
  st->feed = p->feed_counts;
  st->duplicates = p->duplicates, st->conflicts = p->conflicts, st->out_of_order = p->out_of_order;
  st->last_latency_us = p->last_lat_us;
  if (st->last_bar_ms) {
    int64_t iv = 60000;
    for (int k = 0; k < p->n; k++) {
      const qt_bars *b = p->stream ? &p->s[k].bars : p->s[k].feeds[0].bars;
      if (b->interval_ms > 0) iv = b->interval_ms;
    }
    st->lag_ms = wall_ms() - (st->last_bar_ms + iv);
  }
  size_t n = p->n_lat < LAT_RING ? p->n_lat : LAT_RING;
  if (n) {
    double tmp[LAT_RING];
    memcpy(tmp, p->lat_us, n * sizeof(double));
    /* insertion-free median: nth element by partial selection */
    size_t want = n / 2;
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
      double piv = tmp[(lo + hi) / 2];
      size_t i = lo, j = hi;
      while (i <= j) {
        while (tmp[i] < piv) i++;
        while (tmp[j] > piv) j--;
        if (i <= j) {
          double t = tmp[i];
          tmp[i] = tmp[j], tmp[j] = t;
          i++;
          if (j == 0) break;
          j--;
        }
      }
      if (want <= j) hi = j;
      else if (want >= i) lo = i;
      else break;
    }
    st->median_latency_us = tmp[want];
  }
}

void qt_paper_status_get(const qt_paper *p, qt_paper_status *out) { status_now(p, out); }

static void maybe_status(qt_paper *p, int final) {
  if (!p->o.on_status) return;
  int64_t now = mono_ns();
  if (!final && now - p->last_status_ns < p->o.status_ms * 1000000) return;
  p->last_status_ns = now;
  qt_paper_status st;
  status_now(p, &st);
  p->o.on_status(p->o.ud, &st, final);
}

/* A set to store with the next commit (the one that first holds decisions
 * made with it): at is each symbol's first bar index under it (NULL: the
 * start set). */
static int params_pend(qt_paper *p, int64_t bar_ms, const size_t *at, const char *source,
                       const double *params, qt_err *err) {
  qt_paper_params_rec x;
  memset(&x, 0, sizeof x);
  x.seq = p->params_seq;
  x.wall_ms = wall_ms();
  x.bar_ms = bar_ms;
  size_t w = (size_t)snprintf(x.at_json, sizeof x.at_json, "{");
  for (int k = 0; at && k < p->n && w < sizeof x.at_json; k++)
    w += (size_t)snprintf(x.at_json + w, sizeof x.at_json - w, "%s\"%s\": %zu", k ? ", " : "",
                          p->s[k].name, at[k]);
  if (w < sizeof x.at_json) snprintf(x.at_json + w, sizeof x.at_json - w, "}");
  qt_paper_params_json(p->o.strategy, params, x.params_json, sizeof x.params_json);
  snprintf(x.source, sizeof x.source, "%s", source);
  if (vec_push(&p->params_pend, &x))
    return qt_err_set(err, QT_ENOMEM, "paper: out of memory for a live params set");
  p->params_seq++;
  return QT_OK;
}

/* A new set of the live params file goes to every symbol's strategy, from
 * the next bar on (validated by the file's handle before it got a version). */
static int live_apply(qt_paper *p, int64_t ts_ms, qt_err *err) {
  qt_live_params *lp = p->o.live_params;
  uint64_t v = qt_live_params_version(lp);
  if (v == p->live_seen) return QT_OK;
  double np_p[QT_LIVE_MAX_PARAMS];
  size_t np = p->o.strategy->n_params;
  p->live_seen = qt_live_params_get(lp, np_p);
  /* a resumed run's first reload of its file gives the set in effect again:
   * the strategy goes on as it was, as if the runner had not stopped */
  int again = p->resumed && np && !memcmp(np_p, p->live_p, np * sizeof *np_p);
  p->resumed = 0;
  if (again) return QT_OK;
  if (np) memcpy(p->live_p, np_p, np * sizeof *np_p);
  live_rec r;
  memset(&r, 0, sizeof r);
  r.p = qt_malloc((np ? np : 1) * sizeof *r.p);
  if (!r.p || vec_push(&p->live_recs, &r)) {
    qt_free(r.p);
    return qt_err_set(err, QT_ENOMEM, "paper: out of memory for a live params set");
  }
  if (np) memcpy(r.p, p->live_p, np * sizeof *r.p);
  live_rec *nr = (live_rec *)p->live_recs.v + p->live_recs.n - 1;
  for (int k = 0; k < p->n; k++) {
    sym *s = &p->s[k];
    nr->at[k] = p->stream ? s->bars.n : s->n_bars;
    if (p->stream && !s->begun) continue; /* its engine begins with this set */
    int rc = qt_engine_set_params(s->e, nr->p, err);
    if (rc) return rc;
  }
  char t[40], js[4096];
  qt_time_format(ts_ms, t, sizeof t);
  qt_log(QT_LOG_INFO, "paper: live params v%" PRIu64 " in effect from the bar of %s: %s",
         p->live_seen, t, qt_paper_params_json(p->o.strategy, p->live_p, js, sizeof js));
  return p->o.storage ? params_pend(p, ts_ms, nr->at, "file", p->live_p, err) : QT_OK;
}

/* The background HJB's suggestion (paper_hjb.c): logged, and with
 * hjb_propose one pending adjustment per parameter it changes. */
static int hjb_suggest(qt_paper *p, qt_err *err) {
  const qt_strategy_vtbl *st = p->o.strategy;
  double sug[QT_LIVE_MAX_PARAMS], gap = 0;
  if (!qt__hjb_bg_take(p->hjb, sug, &gap)) return QT_OK;
  char js[4096];
  qt_log(QT_LOG_WARN, "paper: HJB gap %.2f%% above 10%% for 3 intervals: suggested params %s%s",
         gap, qt_paper_params_json(st, sug, js, sizeof js),
         p->o.hjb_propose && p->o.storage && p->hjb_filed != p->live_seen
             ? " (filed as pending adjustments)" : "");
  if (!p->o.hjb_propose || !p->o.storage || p->hjb_filed == p->live_seen) return QT_OK;
  p->hjb_filed = p->live_seen; /* once per set in effect: a review decides, not a repeat */
  for (size_t k = 0; k < st->n_params; k++) {
    if (sug[k] == p->live_p[k]) continue;
    qt_adjustment a;
    memset(&a, 0, sizeof a);
    snprintf(a.strategy, sizeof a.strategy, "%s", st->name);
    snprintf(a.parameter, sizeof a.parameter, "%s", st->params[k].name);
    a.old_value = p->live_p[k], a.new_value = sug[k];
    snprintf(a.reason, sizeof a.reason,
             "hjb_gap: run %s: background HJB gap %.2f%% above 10%% for 3 intervals", p->o.name,
             gap);
    snprintf(a.metric_trigger, sizeof a.metric_trigger, "hjb_gap");
    a.metric_value = gap;
    a.status = QT_ADJ_PENDING;
    snprintf(a.evidence_json, sizeof a.evidence_json, "{\"run\": \"%s\", \"gap_pct\": %.4f}",
             p->o.name, gap);
    int rc = qt_adjustment_insert(p->o.storage, &a, NULL, err);
    if (rc) return rc;
    p->n_proposed++;
  }
  return QT_OK;
}

int qt_paper_event(qt_paper *p, const qt_live_event *ev, qt_err *err) {
  p->emit = 1;
  if (p->o.live_params && ev->kind == QT_LIVE_BAR) {
    int lr = live_apply(p, ev->ts_ms, err);
    if (lr) return lr;
  }
  if (p->hjb && ev->kind == QT_LIVE_BAR) {
    int hr = hjb_suggest(p, err);
    if (hr) return hr;
  }
  sym *s = find_sym(p, ev->symbol);
  if (!s) {
    p->feed_counts.ignored++;
    return QT_OK;
  }
  p->now_event_recv_ns = ev->recv_ns;
  int rc = QT_OK;
  if (ev->kind == QT_LIVE_BAR) rc = process_bar(p, s, ev, err);
  else if (ev->kind == QT_LIVE_MARK) rc = process_mark(p, s, ev, err);
  if (rc || ev->kind != QT_LIVE_BAR) return rc;
  if (p->o.live_params) qt_live_params_set_equity(p->o.live_params, portfolio_equity(p));
  if (p->hjb && s->k == 0) {
    qt__hjb_bg_note(p->hjb, s->eo.from + s->n_bars, p->live_p, p->hjb_seen != p->live_seen);
    p->hjb_seen = p->live_seen;
  }
  p->bars_since_commit++;
  if ((p->bars_since_commit & 63) == 0 || p->stream || p->o.commit_every) {
    int64_t now = mono_ns();
    if ((p->o.commit_every && p->bars_since_commit >= p->o.commit_every) || p->stream ||
        now - p->last_commit_ns >= p->o.commit_ms * 1000000)
      rc = commit(p, err);
    maybe_status(p, 0);
  }
  return rc;
}

int qt_paper_idle(qt_paper *p, qt_err *err) {
  int rc = QT_OK;
  if (p->orders.n || p->bars.n || p->bars_since_commit) rc = commit(p, err);
  maybe_status(p, 0);
  return rc;
}

int qt_paper_end(qt_paper *p, int feed_ended, qt_err *err) {
  int rc = commit(p, err);
  if (!rc && p->o.storage)
    rc = qt_paper_run_set_status(p->o.storage, p->run.id, "running",
                                 feed_ended && !p->stream ? "done" : "stopped", err);
  maybe_status(p, 1);
  if (rc) return rc;
  return feed_ended ? QT_DONE : QT_OK;
}

int qt_paper_run(qt_paper *p, qt_livefeed *feed, qt_err *err) {
  int rc = QT_OK, end = 0;
  int64_t t0 = mono_ns();
  while (!rc) {
    if (p->o.stop && *p->o.stop) break;
    if (p->o.max_wall_ms > 0 && mono_ns() - t0 >= p->o.max_wall_ms * 1000000) break;
    qt_live_event ev;
    int fr = feed->vt->next(feed->self, &ev, 200, err);
    feed->vt->counts(feed->self, &p->feed_counts);
    if (fr == QT_DONE) {
      end = 1;
      break;
    }
    if (fr == QT_ETIMEOUT) {
      rc = qt_paper_idle(p, err); /* idle: what is pending goes out now */
      continue;
    }
    if (fr) {
      rc = fr;
      break;
    }
    rc = qt_paper_event(p, &ev, err);
  }
  if (rc) {
    maybe_status(p, 1);
    return rc;
  }
  return qt_paper_end(p, end, err);
}

/* ------------------------------------------------------------ results */

void qt_paper_result(const qt_paper *p, int k, qt_result *out) {
  memset(out, 0, sizeof *out);
  if (p && k >= 0 && k < p->n) qt_engine_peek(p->s[k].e, out);
}

const qt_feed *qt_paper_feeds(const qt_paper *p, int k, int *out_n) {
  *out_n = 0;
  if (!p || k < 0 || k >= p->n) return NULL;
  if (p->stream) {
    *out_n = 1;
    return &p->s[k].own_feed;
  }
  *out_n = p->s[k].n_feeds;
  return p->s[k].feeds;
}

int qt_paper_summary(const qt_paper *p, qt_paper_symbol_sum *out, size_t cap) {
  qt_paper_symbol_sum tot;
  memset(&tot, 0, sizeof tot);
  snprintf(tot.symbol, sizeof tot.symbol, "portfolio");
  for (int k = 0; k < p->n && (size_t)k < cap; k++) {
    const sym *s = &p->s[k];
    qt_paper_symbol_sum *o = &out[k];
    memset(o, 0, sizeof *o);
    snprintf(o->symbol, sizeof o->symbol, "%s", s->name);
    qt_result r;
    qt_engine_peek(s->e, &r);
    o->equity = r.n_bars ? r.final_equity : s->eo.cash;
    o->pnl = o->equity - s->eo.cash;
    o->n_trades = r.n_trades;
    for (size_t j = 0; j < r.n_trades; j++) o->n_wins += r.trades[j].pnl > 0;
    o->win_rate = r.n_trades ? (double)o->n_wins / (double)r.n_trades : 0;
    o->n_bars = s->n_bars;
    o->position = s->last_ms ? qt_ctx_position(qt_engine_ctx(s->e), 0, QT_LEG_NET) : 0;
    tot.pnl += o->pnl, tot.equity += o->equity, tot.n_trades += o->n_trades;
    tot.n_wins += o->n_wins, tot.n_bars += o->n_bars;
  }
  tot.win_rate = tot.n_trades ? (double)tot.n_wins / (double)tot.n_trades : 0;
  if ((size_t)p->n < cap) out[p->n] = tot;
  return p->n;
}

void qt_paper_free(qt_paper *p) {
  if (!p) return;
  qt__hjb_bg_stop(p->hjb);
  for (int k = 0; k < p->n; k++) {
    sym *s = &p->s[k];
    qt_engine_free(s->e);
    qt_free(s->bars.ts_ms), qt_free(s->bars.open), qt_free(s->bars.high);
    qt_free(s->bars.low), qt_free(s->bars.close), qt_free(s->bars.volume);
    qt_free(s->fund.ts_ms), qt_free(s->fund.rate), qt_free(s->fund.interval_h);
  }
  qt_free(p->orders.v), qt_free(p->trades.v), qt_free(p->bars.v);
  qt_free(p->risk.v), qt_free(p->outcomes.v);
  for (size_t j = 0; j < p->live_recs.n; j++) qt_free(((live_rec *)p->live_recs.v)[j].p);
  qt_free(p->live_recs.v);
  qt_free(p->params_pend.v);
  qt_free(p->refused);
  qt_free(p);
}
