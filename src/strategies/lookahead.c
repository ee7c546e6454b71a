/* The look-ahead check: a strategy may only decide on data up to the current
 * bar.  We run it on the full data and on copies cut at several points and
 * compare what happened before each cut.  The cut copies keep the full
 * length of memory, all with n = the cut: one with the real rows left past
 * the cut, one with them poisoned (NaN, and INT64_MAX stamps) and one with
 * prices and quantities doubled (plausible numbers, so a strategy that
 * skips NaN still sees a different future).  A strategy that reads past the
 * current bar through a pointer (qt_ctx_bars, quotes, funding) sees
 * different memory in them: any decision that depends on the next value
 * differs from the real-tail run in at least one of the two.  One
 * that uses the future any other way (the data length, a non-causal
 * precomputation) differs from the full run before the cut. */
#include "qtune/strategies.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

qt_lookahead_opts qt_lookahead_opts_default(void) {
  qt_lookahead_opts o;
  memset(&o, 0, sizeof o);
  o.n_cuts = 8;
  o.seed = 1;
  o.engine = qt_engine_opts_default();
  return o;
}

/* What one run leaves behind, copied out of the engine's borrowed buffers. */
typedef struct la_run {
  size_t n_bars, n_trades, cap_bars, cap_trades, n_olog, cap_olog;
  double *equity;
  qt_trade_rec *trades;
  qt_order_event *olog; /* every submit/replace/cancel, so an order that never
                         * fills still counts */
  size_t n_signals, n_fills, n_orders, n_rejected, n_cancelled;
  double fees_paid, funding_paid;
} la_run;

static void la_run_fini(la_run *r) {
  qt_free(r->equity);
  qt_free(r->trades);
  qt_free(r->olog);
  memset(r, 0, sizeof *r);
}

/* Copies n elements of src into *dst, growing it (and *cap) as needed. */
static int keep_copy(void **dst, size_t *cap, const void *src, size_t n, size_t elem,
                     const char *what, qt_err *err) {
  if (n > *cap) {
    void *p = qt_realloc(*dst, n * elem);
    if (!p) return qt_err_set(err, QT_ENOMEM, "look-ahead check: out of memory for %zu %s", n, what);
    *dst = p;
    *cap = n;
  }
  if (n) memcpy(*dst, src, n * elem);
  return QT_OK;
}

static int la_keep(la_run *r, const qt_result *res, qt_err *err) {
  int rc = keep_copy((void **)&r->equity, &r->cap_bars, res->equity, res->n_bars,
                     sizeof *r->equity, "bars", err);
  if (!rc) rc = keep_copy((void **)&r->trades, &r->cap_trades, res->trades, res->n_trades,
                          sizeof *r->trades, "trades", err);
  if (!rc) rc = keep_copy((void **)&r->olog, &r->cap_olog, res->order_log, res->n_order_log,
                          sizeof *r->olog, "orders", err);
  if (rc) return rc;
  r->n_olog = res->n_order_log;
  r->n_bars = res->n_bars;
  r->n_trades = res->n_trades;
  r->n_signals = res->n_signals;
  r->n_fills = res->n_fills;
  r->n_orders = res->n_orders;
  r->n_rejected = res->n_rejected;
  r->n_cancelled = res->n_cancelled;
  r->fees_paid = res->fees_paid;
  r->funding_paid = res->funding_paid;
  return QT_OK;
}

static int same(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

static int same_trade(const qt_trade_rec *a, const qt_trade_rec *b) {
  return a->inst == b->inst && a->side == b->side && a->leg == b->leg &&
         a->exit_reason == b->exit_reason && a->entry_ms == b->entry_ms &&
         a->exit_ms == b->exit_ms && same(a->qty, b->qty) && same(a->entry_price, b->entry_price) &&
         same(a->exit_price, b->exit_price) && same(a->pnl, b->pnl) && same(a->fees, b->fees) &&
         same(a->funding, b->funding);
}

static int same_order(const qt_order_event *a, const qt_order_event *b) {
  return a->ts_ms == b->ts_ms && a->id == b->id && a->action == b->action && a->inst == b->inst &&
         a->side == b->side && a->type == b->type && a->leg == b->leg && a->flags == b->flags &&
         same(a->qty, b->qty) && same(a->price, b->price) && a->expire_ms == b->expire_ms;
}

/* Describes order action e for a message. */
static void order_text(const qt_order_event *e, char *buf, size_t cap) {
  char t[40];
  snprintf(buf, cap, "%s of order %lld at %s (%s %s, qty %.10g, price %.10g)",
           qt_order_action_name(e->action), (long long)e->id,
           qt_time_format(e->ts_ms, t, sizeof t), e->side == QT_BUY ? "buy" : "sell",
           qt_order_type_name(e->type), e->qty, e->price);
}

/* The first difference of two order logs (x's first nx actions against y's
 * first ny), told as "<x's> <lx>, <y's> <ly>"; 0 when they are the same. */
static int diff_orders(const qt_order_event *x, size_t nx, const char *lx,
                       const qt_order_event *y, size_t ny, const char *ly, char *what, size_t cap) {
  for (size_t i = 0; i < nx || i < ny; i++) {
    if (i < nx && i < ny && same_order(&x[i], &y[i])) continue;
    char tx[120] = "nothing", ty[120] = "nothing";
    if (i < nx) order_text(&x[i], tx, sizeof tx);
    if (i < ny) order_text(&y[i], ty, sizeof ty);
    snprintf(what, cap, "order action %zu differs: %s %s, %s %s", i, tx, lx, ty, ly);
    return 1;
  }
  return 0;
}

/* ---- copies of a feed's series with room past the cut ---- */
typedef struct la_copy {
  qt_bars bars;
  qt_quotes quotes;
  qt_funding funding;
} la_copy;

#define LA_POISON_TS INT64_MAX

/* What lies past the cut in a copy. */
enum { LA_REAL = 0, LA_NAN = 1, LA_DOUBLED = 2, LA_VARIANTS = 3 };
static const char *const k_variant[LA_VARIANTS] = {"present", "replaced by NaN", "doubled"};

static void copy_col_d(double *dst, const double *src, size_t keep, size_t n, int mode) {
  if (!dst || !src) return;
  memcpy(dst, src, keep * sizeof *dst);
  if (mode == LA_NAN) for (size_t i = keep; i < n; i++) dst[i] = NAN;
  else if (mode == LA_DOUBLED) for (size_t i = keep; i < n; i++) dst[i] = 2.0 * src[i];
  else memcpy(dst + keep, src + keep, (n - keep) * sizeof *dst);
}
static void copy_col_ts(int64_t *dst, const int64_t *src, size_t keep, size_t n, int mode) {
  memcpy(dst, src, keep * sizeof *dst);
  if (mode == LA_NAN) for (size_t i = keep; i < n; i++) dst[i] = LA_POISON_TS;
  else memcpy(dst + keep, src + keep, (n - keep) * sizeof *dst);
}

static size_t rows_before_ts(const int64_t *ts, size_t n, int64_t t) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ts[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* Fills the copies for a cut at time t and points the views (n = rows before
 * t, mem cleared so nothing frees them) at them. */
static void make_cut(const qt_feed *src, la_copy *c, int mode, int64_t t, qt_feed *out,
                     qt_bars *vb, qt_quotes *vq, qt_funding *vf, qt_trades *vt) {
  *out = *src;
  const qt_bars *b = src->bars;
  size_t k = rows_before_ts(b->ts_ms, b->n, t);
  copy_col_ts(c->bars.ts_ms, b->ts_ms, k, b->n, mode);
  double *const dst[] = {c->bars.open, c->bars.high, c->bars.low, c->bars.close, c->bars.volume,
                         c->bars.quote_volume, c->bars.trade_count, c->bars.taker_buy_base,
                         c->bars.taker_buy_quote};
  const double *const sc[] = {b->open, b->high, b->low, b->close, b->volume, b->quote_volume,
                              b->trade_count, b->taker_buy_base, b->taker_buy_quote};
  for (size_t j = 0; j < sizeof dst / sizeof dst[0]; j++) copy_col_d(dst[j], sc[j], k, b->n, mode);
  *vb = c->bars;
  memset(&vb->mem, 0, sizeof vb->mem);
  vb->n = k;
  vb->interval_ms = b->interval_ms;
  /* Columns the source lacks stay absent, so the engine sees the same shape. */
  if (!b->volume) vb->volume = NULL;
  if (!b->quote_volume) vb->quote_volume = NULL;
  if (!b->trade_count) vb->trade_count = NULL;
  if (!b->taker_buy_base) vb->taker_buy_base = NULL;
  if (!b->taker_buy_quote) vb->taker_buy_quote = NULL;
  out->bars = vb;
  if (src->quotes) {
    const qt_quotes *q = src->quotes;
    size_t kq = rows_before_ts(q->ts_ms, q->n, t);
    copy_col_ts(c->quotes.ts_ms, q->ts_ms, kq, q->n, mode);
    copy_col_d(c->quotes.bid, q->bid, kq, q->n, mode);
    copy_col_d(c->quotes.bid_qty, q->bid_qty, kq, q->n, mode);
    copy_col_d(c->quotes.ask, q->ask, kq, q->n, mode);
    copy_col_d(c->quotes.ask_qty, q->ask_qty, kq, q->n, mode);
    *vq = c->quotes;
    memset(&vq->mem, 0, sizeof vq->mem);
    vq->n = kq;
    out->quotes = vq;
  }
  if (src->funding) {
    const qt_funding *f = src->funding;
    size_t kf = rows_before_ts(f->ts_ms, f->n, t);
    copy_col_ts(c->funding.ts_ms, f->ts_ms, kf, f->n, mode);
    copy_col_d(c->funding.rate, f->rate, kf, f->n, mode);
    copy_col_d(c->funding.interval_h, f->interval_h, kf, f->n, mode);
    *vf = c->funding;
    memset(&vf->mem, 0, sizeof vf->mem);
    vf->n = kf;
    out->funding = vf;
  }
  if (src->trades) { /* fills from trades: a view is enough, strategies never see them */
    *vt = *src->trades;
    memset(&vt->mem, 0, sizeof vt->mem);
    vt->n = rows_before_ts(vt->ts_ms, vt->n, t);
    out->trades = vt;
  }
}

static int alloc_copy(const qt_feed *f, la_copy *c, qt_err *err) {
  int rc = qt_bars_alloc(&c->bars, f->bars->n, err);
  if (!rc && f->quotes) rc = qt_quotes_alloc(&c->quotes, f->quotes->n, err);
  if (!rc && f->funding) rc = qt_funding_alloc(&c->funding, f->funding->n, err);
  return rc;
}

static void free_copy(la_copy *c) {
  qt_bars_fini(&c->bars);
  qt_quotes_fini(&c->quotes);
  qt_funding_fini(&c->funding);
}

/* The first difference between a run whose rows past the cut were altered
 * (a, `how`) and the real-tail run b: identical inputs up to n, so
 * everything must match. */
static int diff_tails(const la_run *a, const la_run *b, const char *how, char *what, size_t cap) {
#define LA_CMP_N(field, label)                                                            \
  if (a->field != b->field) {                                                               \
    snprintf(what, cap, "%s differ: %zu with the rows past the cut present in memory, %zu "  \
             "with them %s", label, b->field, a->field, how);                               \
    return 1;                                                                               \
  }
  LA_CMP_N(n_orders, "orders submitted before the cut")
  LA_CMP_N(n_signals, "signals before the cut")
  LA_CMP_N(n_fills, "fills before the cut")
  LA_CMP_N(n_cancelled, "cancels before the cut")
  LA_CMP_N(n_rejected, "rejected orders before the cut")
  LA_CMP_N(n_trades, "trades closed before the cut")
#undef LA_CMP_N
  char with_them[96];
  snprintf(with_them, sizeof with_them, "with them %s", how);
  if (diff_orders(b->olog, b->n_olog, "with the rows past the cut present in memory", a->olog,
                  a->n_olog, with_them, what, cap))
    return 1;
  for (size_t i = 0; i < a->n_bars; i++)
    if (!same(a->equity[i], b->equity[i])) {
      snprintf(what, cap, "equity at bar %zu differs: %.10g with the rows past the cut present "
               "in memory, %.10g with them %s", i, b->equity[i], a->equity[i], how);
      return 1;
    }
  for (size_t i = 0; i < a->n_trades; i++)
    if (!same_trade(&a->trades[i], &b->trades[i])) {
      snprintf(what, cap, "trade %zu differs (pnl %.10g with the rows past the cut present in "
               "memory, %.10g with them %s)", i, b->trades[i].pnl, a->trades[i].pnl, how);
      return 1;
    }
  if (!same(a->fees_paid, b->fees_paid)) {
    snprintf(what, cap, "fees paid before the cut differ: %.10g with the rows past the cut "
             "present in memory, %.10g with them %s", b->fees_paid, a->fees_paid, how);
    return 1;
  }
  return 0;
}

/* The first difference between the full run and a prefix run of `cut` bars. */
static int diff_full(const la_run *full, const la_run *pre, size_t cut, int64_t cut_ms,
                     const int64_t *ts, char *what, size_t cap) {
  char t1[40];
  for (size_t i = 0; i < cut && i < pre->n_bars; i++)
    if (!same(full->equity[i], pre->equity[i])) {
      snprintf(what, cap, "equity at bar %zu (%s) differs: %.10g with the full data, %.10g with "
               "the data cut", i, qt_time_format(ts[i], t1, sizeof t1), full->equity[i],
               pre->equity[i]);
      return 1;
    }
  size_t nf = 0; /* the full run's actions before the cut (the log is in time order) */
  while (nf < full->n_olog && full->olog[nf].ts_ms < cut_ms) nf++;
  if (diff_orders(full->olog, nf, "with the full data", pre->olog, pre->n_olog,
                  "with the data cut", what, cap))
    return 1;
  size_t j = 0;
  for (size_t i = 0; i < full->n_trades; i++) {
    const qt_trade_rec *t = &full->trades[i];
    if (t->exit_ms >= cut_ms) continue;
    if (j >= pre->n_trades || !same_trade(t, &pre->trades[j])) {
      snprintf(what, cap, "trade closed at %s (entry %s, pnl %.10g) with the full data is %s "
               "with the data cut", qt_time_format(t->exit_ms, t1, sizeof t1),
               qt_time_format(t->entry_ms, (char[40]){0}, 40), t->pnl,
               j >= pre->n_trades ? "missing" : "different");
      return 1;
    }
    j++;
  }
  if (j != pre->n_trades) {
    snprintf(what, cap, "%zu trades closed before the cut with the data cut, %zu with the full "
             "data", pre->n_trades, j);
    return 1;
  }
  return 0;
}

int qt_lookahead_check(const qt_strategy_vtbl *s, const double *p, const qt_feed *feeds,
                       int n_feeds, const qt_lookahead_opts *o, qt_lookahead_report *out,
                       qt_err *err) {
  int rc = QT_OK;
  qt_engine *e = NULL;
  la_run full = {0}, rv[LA_VARIANTS];
  la_copy cp[LA_VARIANTS][2]; /* [variant][feed] */
  size_t cuts[64];
  memset(cp, 0, sizeof cp);
  memset(rv, 0, sizeof rv);
  if (out) memset(out, 0, sizeof *out);
  if (!s || !feeds || !out || n_feeds < 1 || n_feeds > 2 || !feeds[0].bars)
    return qt_err_set(err, QT_EINVAL, "look-ahead check: bad arguments (1 or 2 feeds)");
  qt_lookahead_opts def = qt_lookahead_opts_default();
  if (!o) o = &def;
  const qt_bars *b0 = feeds[0].bars;
  size_t n = b0->n;
  if (n < 4) return qt_err_set(err, QT_EINVAL, "look-ahead check: %zu bars (need 4 or more)", n);
  int n_cuts = o->n_cuts < 1 ? 1 : o->n_cuts > 64 ? 64 : o->n_cuts;

  qt_engine_opts eo = o->engine;
  eo.close_at_end = 0; /* a cut must not close positions the full run keeps */
  eo.log_orders = 1;
  eo.from = 0;
  eo.to = 0;
  rc = qt_engine_new(&eo, &e, err);
  if (rc) goto fail;
  qt_result res;
  rc = qt_engine_run(e, feeds, n_feeds, s, p, &res, err);
  if (rc) goto fail;
  rc = la_keep(&full, &res, err);
  if (rc) goto fail;
  for (int k = 0; k < n_feeds; k++)
    for (int v = 0; v < LA_VARIANTS; v++) {
      rc = alloc_copy(&feeds[k], &cp[v][k], err);
      if (rc) goto fail;
    }

  /* Cuts: quarters first, then seeded random points after the warm-up. */
  size_t lb = (size_t)(s->lookback(p) > 0 ? s->lookback(p) : 0);
  size_t lo = lb + 2 < n - 1 ? lb + 2 : 1;
  qt_rng rng;
  qt_rng_stream(&rng, o->seed, 0x6c6f6f6bu);
  for (int c = 0; c < n_cuts; c++) {
    size_t at = c < 3 ? n * (size_t)(c + 1) / 4 : lo + (size_t)qt_rng_below(&rng, n - lo);
    cuts[c] = at < 1 ? 1 : at >= n ? n - 1 : at;
  }
  out->n_runs = 1;
  for (int c = 0; c < n_cuts; c++) {
    size_t cut = cuts[c];
    int64_t t = b0->ts_ms[cut];
    qt_feed fc[LA_VARIANTS][2];
    qt_bars vb[LA_VARIANTS][2];
    qt_quotes vq[LA_VARIANTS][2];
    qt_funding vf[LA_VARIANTS][2];
    qt_trades vt[LA_VARIANTS][2];
    for (int v = 0; v < LA_VARIANTS; v++) {
      for (int k = 0; k < n_feeds; k++)
        make_cut(&feeds[k], &cp[v][k], v, t, &fc[v][k], &vb[v][k], &vq[v][k], &vf[v][k],
                 &vt[v][k]);
      rc = qt_engine_run(e, fc[v], n_feeds, s, p, &res, err);
      if (!rc) rc = la_keep(&rv[v], &res, err);
      if (rc) {
        qt_err_prefix(err, "look-ahead check, data cut at bar %zu", cut);
        goto fail;
      }
    }
    out->n_runs += LA_VARIANTS;
    out->n_cuts++;
    char what[400];
    int found = diff_tails(&rv[LA_NAN], &rv[LA_REAL], k_variant[LA_NAN], what, sizeof what) ||
                diff_tails(&rv[LA_DOUBLED], &rv[LA_REAL], k_variant[LA_DOUBLED], what,
                           sizeof what) ||
                diff_full(&full, &rv[LA_REAL], cut, t, b0->ts_ms, what, sizeof what);
    if (found) {
      char ts[40];
      out->found = 1;
      out->cut_bar = cut;
      out->cut_ms = t;
      snprintf(out->what, sizeof out->what, "strategy '%s', data cut at bar %zu (%s): %s",
               s->name, cut, qt_time_format(t, ts, sizeof ts), what);
      break;
    }
  }
fail:
  for (int k = 0; k < 2; k++)
    for (int v = 0; v < LA_VARIANTS; v++) free_copy(&cp[v][k]);
  la_run_fini(&full);
  for (int v = 0; v < LA_VARIANTS; v++) la_run_fini(&rv[v]);
  qt_engine_free(e);
  if (rc && out) memset(out, 0, sizeof *out);
  return rc;
}
