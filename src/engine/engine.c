/* The engine object and its event loop: options, buffers kept across runs,
 * the start of a run (one reset of the per-run state, cursors, the
 * strategy's init) and one function per step of a bar, in the order
 * docs/engine.md lists them ("Clock and order of events").  The steps call
 * into the files of their concerns (book.c, fill.c, fees.c, account.c,
 * funding.c, liquidation.c, indcache.c); the per-bar guards that skip a step
 * stay here, inlined into the loop, so a bar that needs nothing costs no
 * call.  The loop allocates nothing except when the trade list outgrows its
 * (reused) capacity. */
#include "engine/engine_int.h"

#include <stdlib.h>
#include <string.h>

qt_engine_opts qt_engine_opts_default(void) {
  qt_engine_opts o;
  memset(&o, 0, sizeof o);
  o.cash = 10000.0;
  o.close_at_end = 1;
  o.leverage_cap = 1.0;
  o.max_orders = 256;
  o.max_trades = 1024;
  return o;
}

int qt__engine_grow(void **p, size_t *cap, size_t want, size_t elem) {
  if (*cap >= want) return QT_OK;
  void *np = qt_realloc(*p, want * elem);
  if (!np) return QT_ENOMEM;
  *p = np;
  *cap = want;
  return QT_OK;
}

int qt_engine_new(const qt_engine_opts *opts, qt_engine **out, qt_err *err) {
  *out = NULL;
  qt_engine *e = qt_calloc(1, sizeof *e);
  if (!e) return qt_err_set(err, QT_ENOMEM, "qt_engine_new: out of memory");
  e->cx.o = opts ? *opts : qt_engine_opts_default();
  *out = e;
  return QT_OK;
}

void qt_engine_free(qt_engine *e) {
  if (!e) return;
  qt_ctx *cx = &e->cx;
  qt_free(cx->st);
  qt_free(cx->ord);
  qt_free(cx->touch);
  qt_free(cx->trades);
  qt_free(cx->olog);
  qt_free(cx->equity);
  qt_free(cx->exposure);
  for (int k = 0; k < QT__MAX_FEEDS; k++)
    for (int l = 0; l < 3; l++) qt_free(cx->lots[k][l]);
  qt__ind_free_all(cx);
  qt_free(e);
}

void qt_engine_set_opts(qt_engine *e, const qt_engine_opts *opts) {
  if (e && opts) e->cx.o = *opts;
}

void qt_engine_set_checkpoint(qt_engine *e, size_t every_bars, qt_engine_checkpoint_fn fn,
                              void *ud) {
  if (!e) return;
  e->ck_every = fn ? every_bars : 0;
  e->ck_fn = fn;
  e->ck_ud = ud;
}

/* ------------------------------------------------------- start of a run */

static int check_feeds(const qt_feed *feeds, int n_feeds, const qt_engine_opts *o, qt_err *err) {
  if (!feeds || n_feeds < 1 || n_feeds > QT__MAX_FEEDS)
    return qt_err_set(err, QT_EINVAL, "qt_engine_run: %d feeds (1..%d allowed)", n_feeds,
                      QT__MAX_FEEDS);
  for (int k = 0; k < n_feeds; k++) {
    const qt_feed *f = &feeds[k];
    const qt_bars *b = f->bars;
    if (!b || b->n == 0 || !b->ts_ms || !b->open || !b->high || !b->low || !b->close)
      return qt_err_set(err, QT_EINVAL, "qt_engine_run: feed %d (%s): no bars", k, f->inst.symbol);
    int rc = qt__fees_check(f, k, err);
    if (rc) return rc;
    const qt_instrument *in = &f->inst;
    if (!(in->tick_size >= 0) || !(in->lot_size >= 0) || !(in->multiplier > 0) ||
        !(in->maint_margin >= 0))
      return qt_err_set(err, QT_EINVAL,
                        "qt_engine_run: feed %d (%s): tick/lot/maint_margin must be >= 0 and "
                        "multiplier > 0",
                        k, in->symbol);
    if (o->fill_on_trades && f->trades && (!f->trades->ts_ms || !f->trades->price))
      return qt_err_set(err, QT_EINVAL, "qt_engine_run: feed %d: trades without columns", k);
  }
  if (!(o->slippage_bps >= 0) || !(o->leverage_cap >= 0) || !isfinite(o->cash))
    return qt_err_set(err, QT_EINVAL,
                      "qt_engine_run: slippage_bps and leverage_cap must be >= 0, cash finite");
  if (o->max_orders == 0) return qt_err_set(err, QT_EINVAL, "qt_engine_run: max_orders is 0");
  if (o->trade_accounting < QT_ACCOUNTING_AUTO || o->trade_accounting > QT_ACCOUNTING_LOTS)
    return qt_err_set(err, QT_EINVAL, "qt_engine_run: trade_accounting %d (0 auto, 1 average, 2 lots)",
                      o->trade_accounting);
  if (o->close_at_end < QT_CLOSE_AT_END_NONE || o->close_at_end > QT_CLOSE_AT_END_OPEN)
    return qt_err_set(err, QT_EINVAL, "qt_engine_run: close_at_end %d (0 none, 1 close, 2 open)",
                      o->close_at_end);
  return QT_OK;
}

/* The simulated range [from, to) of feed 0 under opts (to = 0: all bars). */
static size_t range_to(const qt_ctx *cx, const qt_bars *b0) {
  return cx->o.to ? cx->o.to : b0->n;
}

/* The arguments, the strategy's vtable and params, the feeds and the range. */
static int check_run(const qt_engine *e, const qt_feed *feeds, int n_feeds,
                     const qt_strategy_vtbl *s, const double *p, const qt_result *out,
                     qt_err *err) {
  if (!e || !s || !out || (!p && s->n_params > 0))
    return qt_err_set(err, QT_EINVAL, "qt_engine_run: NULL argument");
  const qt_ctx *cx = &e->cx;
  if (s->abi != QT_STRATEGY_ABI || !s->on_bar || !s->init)
    return qt_err_set(err, QT_EINVAL, "qt_engine_run: strategy '%s': bad vtable (abi %d, want %d)",
                      s->name ? s->name : "?", s->abi, QT_STRATEGY_ABI);
  int rc = check_feeds(feeds, n_feeds, &cx->o, err);
  if (rc) return rc;
  if (s->n_instruments > n_feeds)
    return qt_err_set(err, QT_EINVAL, "qt_engine_run: strategy '%s' trades %d instruments, %d given",
                      s->name, s->n_instruments, n_feeds);
  rc = qt_strategy_check_params(s, p, err);
  if (rc) return rc;
  const qt_bars *b0 = feeds[0].bars;
  size_t from = cx->o.from, to = range_to(cx, b0);
  if (from >= to || to > b0->n)
    return qt_err_set(err, QT_EINVAL, "qt_engine_run: bar range [%zu, %zu) outside 0..%zu", from,
                      to, b0->n);
  return QT_OK;
}

/* Grows the buffers kept across runs to this run's needs (nb bars, the
 * book, the trade list hint, the strategy's state) and zeroes the state. */
static int prepare_buffers(qt_ctx *cx, const qt_strategy_vtbl *s, size_t nb, qt_err *err) {
  size_t cap_e = cx->cap_bars, cap_x = cx->cap_bars;
  if (qt__engine_grow((void **)&cx->equity, &cap_e, nb, sizeof(double)) ||
      qt__engine_grow((void **)&cx->exposure, &cap_x, nb, sizeof(double)))
    return qt_err_set(err, QT_ENOMEM, "qt_engine_run: out of memory for %zu bars", nb);
  cx->cap_bars = nb > cx->cap_bars ? nb : cx->cap_bars;
  if (qt__engine_grow((void **)&cx->touch, &cx->cap_touch, cx->o.max_orders, sizeof(qt__touch)) ||
      qt__engine_grow((void **)&cx->ord, &cx->cap_ord, cx->o.max_orders, sizeof(qt__order)))
    return qt_err_set(err, QT_ENOMEM, "qt_engine_run: out of memory for %zu orders",
                      cx->o.max_orders);
  if (cx->cap_trades < cx->o.max_trades &&
      qt__engine_grow((void **)&cx->trades, &cx->cap_trades, cx->o.max_trades,
                      sizeof(qt_trade_rec)))
    return qt_err_set(err, QT_ENOMEM, "qt_engine_run: out of memory for the trade list");
  if (s->state_size > cx->st_cap) {
    void *ns = qt_realloc(cx->st, s->state_size);
    if (!ns) return qt_err_set(err, QT_ENOMEM, "qt_engine_run: out of memory for strategy state");
    cx->st = ns;
    cx->st_cap = s->state_size;
  }
  if (cx->st_cap) memset(cx->st, 0, cx->st_cap);
  return QT_OK;
}

/* Feed k at the start of a run: its views show no bars yet (a view never
 * owns its columns). */
static void feed_start(qt__feed *fd, const qt_feed *f) {
  fd->f = f;
  fd->inst = f->inst;
  fd->perp = fd->inst.kind == QT_INST_PERP;
  fd->view = *f->bars;
  memset(&fd->view.mem, 0, sizeof fd->view.mem);
  fd->ci = -1;
  fd->view.n = 0;
  if (f->funding) {
    fd->fund_view = *f->funding;
    memset(&fd->fund_view.mem, 0, sizeof fd->fund_view.mem);
    fd->fund_view.n = 0;
  }
  if (f->quotes) {
    fd->quote_view = *f->quotes;
    memset(&fd->quote_view.mem, 0, sizeof fd->quote_view.mem);
    fd->quote_view.n = 0;
  }
}

/* Positions the other feeds and the funding/trade cursors just before the
 * first simulated bar, so earlier history is visible but not traded. */
static void position_cursors(qt_ctx *cx) {
  qt__run *r = &cx->r;
  int64_t t0 = r->fd[0].f->bars->ts_ms[r->from];
  int64_t before = r->from > 0 ? r->fd[0].f->bars->ts_ms[r->from - 1] : INT64_MIN;
  for (int k = 0; k < r->n_feeds; k++) {
    qt__feed *fd = &r->fd[k];
    const qt_bars *b = fd->f->bars;
    size_t lo = 0, hi = b->n; /* last bar with ts < t0 */
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (b->ts_ms[mid] < t0) lo = mid + 1; else hi = mid;
    }
    fd->ci = (int64_t)lo - 1;
    fd->view.n = lo;
    fd->px = fd->ci >= 0 ? b->close[fd->ci] : b->open[0];
    if (fd->f->funding) { /* settlements after the previous bar's open */
      const qt_funding *fu = fd->f->funding;
      size_t a = 0;
      int64_t prev = k == 0 ? before : (fd->ci >= 0 ? b->ts_ms[fd->ci] : INT64_MIN);
      while (a < fu->n && fu->ts_ms[a] <= prev) a++;
      fd->fund_i = a;
    }
    if (fd->f->trades) {
      const qt_trades *tr = fd->f->trades;
      size_t a = 0, z = tr->n;
      while (a < z) {
        size_t mid = a + (z - a) / 2;
        if (tr->ts_ms[mid] < t0) a = mid + 1; else z = mid;
      }
      fd->trade_i = a;
    }
  }
}

/* Resets the per-run state with one assignment (every field not named here
 * starts at zero), then the feeds and cursors as of just before `from`. */
static void run_start(qt_ctx *cx, const qt_feed *feeds, int n_feeds, const qt_strategy_vtbl *s) {
  const qt_bars *b0 = feeds[0].bars;
  size_t from = cx->o.from, to = range_to(cx, b0);
  int any_funding = 0;
  for (int k = 0; k < n_feeds; k++)
    any_funding |= feeds[k].funding != NULL && feeds[k].inst.kind == QT_INST_PERP;
  cx->r = (qt__run){
      .s = s,
      .n_feeds = n_feeds,
      .i = (int64_t)from - 1,
      .from = from,
      .to = to,
      .now = from > 0 ? b0->ts_ms[from - 1] : b0->ts_ms[0],
      .max_ord = cx->o.max_orders,
      .book_dirty = 1,
      .next_id = 1,
      .next_expire_ms = INT64_MAX,
      .cash = cx->o.cash,
      .multi = n_feeds > 1,
      .on_trades = cx->o.fill_on_trades,
      .toc = cx->o.trade_on_close,
      .lots = cx->o.trade_accounting == QT_ACCOUNTING_LOTS ||
              (cx->o.trade_accounting == QT_ACCOUNTING_AUTO && (s->needs & QT_NEEDS_LOTS)),
      .any_funding = any_funding,
      .extra_cols = (s->needs & QT_WANTS_FLOW) && b0->volume && b0->quote_volume &&
                    b0->trade_count && b0->taker_buy_base && b0->taker_buy_quote,
  };
  cx->run_id++; /* the indicator cache's clock: entries used by this run are kept */
  for (int k = 0; k < n_feeds; k++) feed_start(&cx->r.fd[k], &feeds[k]);
  position_cursors(cx);
}

/* The strategy's init, the only place qt_ctx_indicator may be called. */
static int strategy_init(qt_ctx *cx, const double *p, qt_err *err) {
  cx->r.in_init = 1;
  qt_err ie;
  qt_err_clear(&ie);
  int rc = cx->r.s->init(cx->st, p, cx, &ie);
  cx->r.in_init = 0;
  if (rc != QT_OK && err) {
    *err = ie;
    if (!err->msg[0]) qt_err_set(err, rc, "strategy '%s': init failed", cx->r.s->name);
    err->code = rc;
  }
  return rc;
}

/* --------------------------------------------------- the steps of a bar */

/* What a run's bars can meet beyond one feed on bars (its shape, fixed at
 * run start: qt__run's multi, on_trades, any_funding, toc, extra_cols, and
 * whether this is the last bar).  The steps take it as a constant: the loop
 * runs a copy of them compiled for its run's shape, so the checks of what
 * the run cannot meet fold away, and SHAPE_ALL (the step API, the last bar)
 * checks everything.  Each test stays `(sh & bit) && flag`, so a copy with
 * the bit set behaves exactly as the plain code. */
enum {
  SHAPE_MULTI = 1,   /* several feeds */
  SHAPE_TRADES = 2,  /* fills from trades */
  SHAPE_FUNDING = 4, /* a perpetual with funding */
  SHAPE_TOC = 8,     /* trade_on_close */
  SHAPE_EXTRA = 16,  /* the bars' flow columns for qt_bar */
  SHAPE_END = 32,    /* the last bar may come (close at end) */
  SHAPE_ALL = 63
};

/* The shape of the bars before the last one of the run just started. */
static unsigned run_shape(const qt__run *r) {
  return (r->multi ? SHAPE_MULTI : 0u) | (r->on_trades ? SHAPE_TRADES : 0u) |
         (r->any_funding ? SHAPE_FUNDING : 0u) | (r->toc ? SHAPE_TOC : 0u) |
         (r->extra_cols ? SHAPE_EXTRA : 0u);
}

/* Moves feed k's cursor to the latest bar with ts <= now. */
static void advance_feed(qt__feed *fd, int64_t now) {
  const qt_bars *b = fd->f->bars;
  int64_t ci = fd->ci;
  while ((size_t)(ci + 1) < b->n && b->ts_ms[ci + 1] <= now) ci++;
  fd->fresh = ci != fd->ci;
  fd->ci = ci;
  if (ci >= 0) fd->view.n = (size_t)ci + 1;
}

/* The other feeds catch up to now; a fresh bar's price is its open during
 * the fill pass.  Out of line: only runs with several feeds call it. */
static QT__NOINLINE void advance_others(qt__run *r) {
  for (int k = 1; k < r->n_feeds; k++) {
    qt__feed *fd = &r->fd[k];
    advance_feed(fd, r->now);
    if (fd->fresh) fd->px = fd->f->bars->open[fd->ci];
  }
}

/* The clock: feed 0 advances by exactly one bar, the others catch up to
 * now; a fresh bar's price is its open during the fill pass. */
static inline QT__ALWAYS_INLINE void clock_step(qt_ctx *cx, const qt_bars *b0, size_t i,
                                                unsigned sh) {
  qt__run *r = &cx->r;
  qt__feed *f0 = &r->fd[0];
  r->i = (int64_t)i;
  r->now = b0->ts_ms[i];
  f0->ci = (int64_t)i;
  f0->fresh = 1;
  f0->view.n = i + 1;
  f0->px = b0->open[i];
  f0->t_held = 0;
  r->liq_now = 0;
  if ((sh & SHAPE_MULTI) && r->multi) advance_others(r);
}

/* Settles what is due on each fresh perpetual feed (out of line: only runs
 * with funding call it). */
static QT__NOINLINE void settle_due(qt_ctx *cx) {
  for (int k = 0; k < cx->r.n_feeds; k++) {
    const qt__feed *fd = &cx->r.fd[k];
    const qt_funding *fu = fd->f->funding;
    if (!fd->perp || !fu || !fd->fresh) continue;
    /* nothing due at this bar: no call */
    if (fd->fund_i < fu->n && fu->ts_ms[fd->fund_i] <= fd->f->bars->ts_ms[fd->ci])
      qt__funding_settle(cx, k);
  }
}

/* 1. Funding settlements of fresh perpetual feeds. */
static inline QT__ALWAYS_INLINE void settle_funding(qt_ctx *cx, unsigned sh) {
  if ((sh & SHAPE_FUNDING) && cx->r.any_funding) settle_due(cx);
}

/* 2. Order expiry (next_expire_ms is a lower bound of the book's expiries). */
static inline QT__ALWAYS_INLINE void expire_orders(qt_ctx *cx) {
  if (cx->r.n_ord && cx->r.now >= cx->r.next_expire_ms) qt__book_expire(cx);
}

/* 3. Signal expiry: armed legs past their expiry close at the open. */
static inline QT__ALWAYS_INLINE void expire_signals(qt_ctx *cx) {
  if (cx->r.n_armed) qt__fill_expire_signals(cx);
}

/* Step 4 for several feeds or fills from trades (out of line: the common
 * run, one feed on bars, is handled in fill_pass itself). */
static QT__NOINLINE void fill_pass_general(qt_ctx *cx, const qt_bars *b0, size_t i) {
  qt__run *r = &cx->r;
  int64_t end_ms = i + 1 < b0->n ? b0->ts_ms[i + 1] : INT64_MAX;
  if (!r->n_ord) {
    if (r->on_trades) /* keep the trade cursors in step */
      for (int k = 0; k < r->n_feeds; k++)
        if (r->fd[k].f->trades) qt__fill_skip_trades(cx, k, end_ms);
    return;
  }
  if (r->multi && !r->on_trades) { /* several feeds on bars: one pass in path time */
    if (r->book_dirty) qt__book_band(cx);
    qt__fill_bars_multi(cx);
    return;
  }
  for (int k = 0; k < r->n_feeds && r->n_ord; k++) {
    qt__feed *fd = &r->fd[k];
    if (r->on_trades && fd->f->trades) {
      qt__fill_trades(cx, k, end_ms);
    } else if (fd->fresh) {
      if (r->book_dirty) qt__book_band(cx);
      const qt_bars *b = fd->f->bars;
      size_t bi = (size_t)fd->ci;
      if (fd->n_mkt || !(fd->dn_max < b->low[bi]) || !(fd->up_min > b->high[bi]))
        qt__fill_bar(cx, k);
    }
  }
}

/* 4. Fills of eligible orders on fresh bars, or on the step's trades.  A
 * feed whose band the bar misses (and with no market order) is skipped. */
static inline QT__ALWAYS_INLINE void fill_pass(qt_ctx *cx, const qt_bars *b0, size_t i,
                                               unsigned sh) {
  qt__run *r = &cx->r;
  if (((sh & SHAPE_MULTI) && r->multi) || ((sh & SHAPE_TRADES) && r->on_trades)) {
    fill_pass_general(cx, b0, i);
    return;
  }
  if (!r->n_ord) return;
  qt__feed *f0 = &r->fd[0]; /* one feed on bars: always fresh */
  if (r->book_dirty) qt__book_band(cx);
  if (f0->n_mkt || !(f0->dn_max < b0->low[i]) || !(f0->up_min > b0->high[i])) qt__fill_bar(cx, 0);
}

/* One feed on bars, nothing filled on this bar: equity minus maintenance
 * margin is a line in the price, E(p) = cash + slope p - off
 * (qt__liq_leg_line), lowest at the bar's low (slope > 0) or its high
 * (slope < 0).  The legs and cash change only with a fill or a funding
 * payment, so the price beyond which E stays positive is worked out once per
 * (n_fills, cash) and a bar is cleared by one compare of its extreme with it.
 * The price keeps a margin (1e-6 of the magnitudes) far above the rounding
 * of E at the path's points (qt__liq_path), so a cleared bar is one the exact
 * check would clear; any other bar gets the exact check. */
static QT__NOINLINE void liq_line_one(qt__run *r, const qt_ctx *cx) {
  double slope, off;
  r->lq_key = r->n_fills + 1;
  r->lq_cash = r->cash;
  r->lq_lo = -INFINITY; /* nothing held: every bar clears */
  r->lq_hi = INFINITY;
  if (!qt__liq_leg_line(cx, &r->fd[0], &slope, &off)) return;
  double mag = fabs(r->cash) + fabs(off);
  if (slope == 0) { /* the same E at every price */
    if (!(r->cash - off > 1e-6 * mag)) r->lq_lo = INFINITY;
    return;
  }
  double root = (off - r->cash) / slope, pad = 1e-6 * (fabs(root) + mag / fabs(slope));
  if (slope > 0) r->lq_lo = root + pad;
  else r->lq_hi = root - pad;
  if (isnan(root + pad)) r->lq_lo = INFINITY; /* no bar clears */
}

/* The clearance prices for the legs and cash as they are now (above). */
static inline QT__ALWAYS_INLINE void liq_line_now(qt_ctx *cx) {
  qt__run *r = &cx->r;
  if (r->lq_key != r->n_fills + 1 || r->lq_cash != r->cash) liq_line_one(r, cx);
}

/* 1 when bar i of feed 0 cannot reach the maintenance margin (above). */
static inline QT__ALWAYS_INLINE int liq_clear_one(qt_ctx *cx, const qt_bars *b0, size_t i) {
  liq_line_now(cx);
  return (b0->low[i] > cx->r.lq_lo) & (b0->high[i] < cx->r.lq_hi);
}

/* The liquidation check of step 5 with the marks at the close (m: the
 * maintenance margin there), and the close of everything where it is met. */
static QT__NOINLINE void liq_check(qt_ctx *cx, const qt_bars *b0, size_t i, double m) {
  qt__run *r = &cx->r;
  qt__feed *f0 = &r->fd[0];
  double lpx[QT__MAX_FEEDS];
  /* one feed: the bar's range can cost at most gross x (1 + maint) x
   * range / close of the slack at the close, so most bars skip the check */
  int maybe = 1;
  if (!r->multi && b0->close[i] > 0)
    maybe = !(r->eq - m > r->gross * (1 + f0->inst.maint_margin) * (b0->high[i] - b0->low[i]) /
                              b0->close[i]);
  /* one feed on bars: the path after the last fill with the legs as they
   * are (or a liquidation the fill pass already met); else the range */
  int liq = r->liq_now;
  if (liq && !r->multi) {
    lpx[0] = r->liq_px;
  } else if (liq) {
    for (int k = 0; k < r->n_feeds; k++) lpx[k] = r->liq_pxs[k];
  } else if (maybe && !r->multi && !r->on_trades) {
    double pt[4];
    qt__bar_path(b0, i, pt);
    liq = qt__liq_path(cx, f0, pt, f0->t_held, 3, &lpx[0]);
  } else if (maybe && !r->on_trades) {
    /* several feeds on bars: their paths in step, after the range check
     * (every feed at its worst extreme at once: a lower bound of the path,
     * so a bar it clears cannot liquidate) */
    liq = qt__liq_range(cx, lpx) && qt__liq_path_multi(cx, f0->t_held, 3, lpx);
  } else if (maybe) {
    liq = qt__liq_range(cx, lpx);
  }
  if (liq) {
    qt__liq_close(cx, lpx);
    r->eq = r->cash;
    r->gross = 0;
  }
}

/* Marks the other feeds at their latest close (several feeds only). */
static QT__NOINLINE void mark_others(qt__run *r) {
  for (int k = 1; k < r->n_feeds; k++)
    if (r->fd[k].ci >= 0) r->fd[k].px = r->fd[k].f->bars->close[r->fd[k].ci];
}

/* 5. Marks move to the close; the liquidation check.  The bar's equity
 * point and gross notional are kept unless something fills after this. */
static inline QT__ALWAYS_INLINE void mark_and_check_liquidation(qt_ctx *cx, const qt_bars *b0,
                                                                size_t i, unsigned sh) {
  qt__run *r = &cx->r;
  qt__feed *f0 = &r->fd[0];
  f0->px = b0->close[i];
  if ((sh & SHAPE_MULTI) && r->multi) mark_others(r);
  r->eq = r->cash;
  r->gross = 0;
  if (r->npos) {
    double u, m;
    if (!(sh & SHAPE_MULTI) && !cx->o.hedge_mode) qt__mark_one(cx, &u, &r->gross, &m);
    else qt__mark_all(cx, &u, &r->gross, &m);
    r->eq = r->cash + u;
    /* a bar of one feed on bars without a fill is usually cleared here */
    if (r->liq_now || ((sh & SHAPE_MULTI) && r->multi) || ((sh & SHAPE_TRADES) && r->on_trades) ||
        f0->t_held != 0 || !liq_clear_one(cx, b0, i))
      liq_check(cx, b0, i, m);
  }
  r->fills0 = r->n_fills;
}

/* 6. on_bar with feed 0's bar. */
static inline QT__ALWAYS_INLINE void strategy_bar(qt_ctx *cx, const qt_bars *b0, size_t i,
                                                  qt_bar *bar, unsigned sh) {
  bar->ts_ms = cx->r.now;
  bar->open = b0->open[i];
  bar->high = b0->high[i];
  bar->low = b0->low[i];
  bar->close = b0->close[i];
  if ((sh & SHAPE_EXTRA) && cx->r.extra_cols) {
    bar->volume = b0->volume[i];
    bar->quote_volume = b0->quote_volume[i];
    bar->trade_count = b0->trade_count[i];
    bar->taker_buy_base = b0->taker_buy_base[i];
    bar->taker_buy_quote = b0->taker_buy_quote[i];
  } else if (b0->volume) {
    bar->volume = b0->volume[i];
  }
  bar->i = i;
  cx->r.s->on_bar(cx->st, bar, cx);
}

/* 7. With trade_on_close: market orders of this step fill at the close. */
static inline QT__ALWAYS_INLINE void trade_on_close(qt_ctx *cx, unsigned sh) {
  if ((sh & SHAPE_TOC) && cx->r.toc && cx->r.n_ord) qt__fill_on_close(cx);
}

/* 4b. On the last bar with close_at_end = open: everything closes at the
 * open once the bar's fills are done (fd->px is still the open). */
static inline QT__ALWAYS_INLINE void close_at_open_end(qt_ctx *cx, size_t i, unsigned sh) {
  if ((sh & SHAPE_END) && i + 1 == cx->r.to && cx->o.close_at_end == QT_CLOSE_AT_END_OPEN &&
      !cx->r.stopped)
    qt__fill_close_all(cx, QT_EXIT_END_OF_DATA);
}

/* 8. On the last bar with close_at_end: everything (still or again) open
 * closes at the last close. */
static inline QT__ALWAYS_INLINE void close_at_end(qt_ctx *cx, size_t i, unsigned sh) {
  if ((sh & SHAPE_END) && i + 1 == cx->r.to && cx->o.close_at_end)
    qt__fill_close_all(cx, QT_EXIT_END_OF_DATA);
}

/* 9. The equity point and exposure of the bar (marked again if something
 * filled after step 5). */
static inline QT__ALWAYS_INLINE void record_point(qt_ctx *cx, size_t i) {
  qt__run *r = &cx->r;
  if (r->n_fills != r->fills0) {
    r->eq = r->cash;
    r->gross = 0;
    if (r->npos) {
      double u;
      qt__mark_all(cx, &u, &r->gross, NULL);
      r->eq += u;
    }
  }
  size_t j = i - r->from;
  cx->equity[j] = r->eq;
  cx->exposure[j] = r->eq > 0 ? r->gross / r->eq : 0;
}

/* One step of the clock: the steps of a bar in their order (docs/engine.md),
 * for a run of shape sh (a constant: see SHAPE_ALL).  Inlined, with the
 * steps' rare work out of line, so a quiet bar is a few loads, compares and
 * stores around the strategy's on_bar. */
static inline QT__ALWAYS_INLINE void run_bar_as(qt_ctx *cx, const qt_bars *b0, size_t i,
                                                qt_bar *bar, unsigned sh) {
  clock_step(cx, b0, i, sh);
  settle_funding(cx, sh);                     /* 1 */
  expire_orders(cx);                          /* 2 */
  expire_signals(cx);                         /* 3 */
  fill_pass(cx, b0, i, sh);                   /* 4 */
  close_at_open_end(cx, i, sh);               /* 4b */
  mark_and_check_liquidation(cx, b0, i, sh);  /* 5 */
  if (!cx->r.stopped) {                       /* a liquidated strategy hears nothing */
    strategy_bar(cx, b0, i, bar, sh);         /* 6 */
    trade_on_close(cx, sh);                   /* 7 */
    close_at_end(cx, i, sh);                  /* 8 */
  }
  record_point(cx, i);                        /* 9 */
}

/* One step of the clock with every check (qt_engine_step). */
static inline QT__ALWAYS_INLINE void run_bar(qt_ctx *cx, const qt_bars *b0, size_t i,
                                             qt_bar *bar) {
  run_bar_as(cx, b0, i, bar, SHAPE_ALL);
}

/* The result of the first nb simulated bars; it borrows the engine's
 * buffers until its next run or free. */
static void fill_result_n(const qt_ctx *cx, const qt_bars *b0, size_t nb, qt_result *out) {
  const qt__run *r = &cx->r;
  out->n_bars = nb;
  out->ts_ms = b0->ts_ms + r->from;
  out->equity = cx->equity;
  out->exposure = cx->exposure;
  out->trades = cx->trades;
  out->n_trades = r->n_trades;
  out->n_signals = r->n_signals;
  out->n_expired = r->n_expired;
  out->n_fills = r->n_fills;
  out->n_orders = r->n_orders;
  out->n_rejected = r->n_rejected;
  out->n_cancelled = r->n_cancelled;
  out->order_log = cx->olog;
  out->n_order_log = r->n_olog;
  out->fees_paid = r->fees_paid;
  out->funding_paid = r->funding_paid;
  out->start_cash = cx->o.cash;
  out->final_equity = nb ? cx->equity[nb - 1] : cx->o.cash;
  out->liquidated = r->liquidated;
  out->interval_ms = b0->interval_ms ? b0->interval_ms
                                     : (b0->n > 1 ? b0->ts_ms[1] - b0->ts_ms[0] : 0);
}

/* The bars stepped so far: all of [from, to) after a whole run. */
static void fill_result(const qt_ctx *cx, const qt_bars *b0, qt_result *out) {
  fill_result_n(cx, b0, (size_t)(cx->r.i + 1) - cx->r.from, out);
}

/* 10. A checkpoint (qt_engine_set_checkpoint) after bar i; 1: stop the run. */
static int checkpoint(qt_engine *e, const qt_bars *b0, size_t i, size_t *next) {
  size_t done = i + 1 - e->cx.r.from;
  if (done != *next || i + 1 == e->cx.r.to) return 0;
  *next += e->ck_every;
  qt_result so_far;
  fill_result_n(&e->cx, b0, done, &so_far);
  return e->ck_fn(e->ck_ud, &so_far) != 0;
}

/* Two lanes of doubles (GCC's vector extensions: an SSE2 register), for
 * quiet_marks: half the instructions, one divpd for two exposures.  Lanes
 * do the scalar operations in the same order (ISO C mode keeps contraction
 * off), so the bits agree. */
typedef double qt__v2d __attribute__((vector_size(16)));
typedef int64_t qt__v2i __attribute__((vector_size(16)));

/* The marks and equity points of quiet bars [i, j) of feed 0 (run_quiet),
 * stopping at the first bar whose low is not above lo or whose high is not
 * below hi; returns that bar (or j).  LO and HI say which bound is finite,
 * so a long position reads no highs and a short one no lows.  Held, two
 * bars at a time; a pair with a bar that does not clear, and the last odd
 * bar, go one by one. */
static inline QT__ALWAYS_INLINE size_t quiet_marks(qt_ctx *cx, const qt_bars *b0, size_t i,
                                                  size_t j, double lo, double hi, int LO,
                                                  int HI, double *eq, double *gross) {
  const qt__run *r = &cx->r;
  const qt__feed *f0 = &r->fd[0];
  const double q = f0->leg[0].qty, avg = f0->leg[0].avg, mult = f0->inst.multiplier;
  const double cash = r->cash, aq = fabs(q);
  const int held = r->npos != 0;
  double *eq_out = cx->equity - r->from, *ex_out = cx->exposure - r->from;
  const double *low = b0->low, *high = b0->high, *close = b0->close;
  size_t k = i;
  if (held && k + 1 < j) {
    const qt__v2d vq = {q, q}, vavg = {avg, avg}, vmult = {mult, mult}, vcash = {cash, cash},
                  vaq = {aq, aq}, zero = {0, 0};
    qt__v2d e = zero, g = zero;
    for (; k + 1 < j; k += 2) {
      if ((LO && !(low[k] > lo && low[k + 1] > lo)) ||
          (HI && !(high[k] < hi && high[k + 1] < hi)))
        break;
      qt__v2d px;
      memcpy(&px, close + k, sizeof px);
      g = vaq * px * vmult; /* qt__mark_one's marks, to the bit */
      e = vcash + vq * (px - vavg) * vmult;
      qt__v2i ge = (qt__v2i)(g / e) & (e > zero); /* e > 0 ? g / e : 0 */
      memcpy(eq_out + k, &e, sizeof e);
      memcpy(ex_out + k, &ge, sizeof ge);
    }
    if (k > i) {
      *eq = e[1];
      *gross = g[1];
    }
  }
  for (; k < j; k++) {
    if ((LO && !(low[k] > lo)) || (HI && !(high[k] < hi))) break;
    double px = close[k], e = cash, g = 0;
    if (held) {
      g = aq * px * mult;
      e = cash + q * (px - avg) * mult;
    }
    eq_out[k] = e;
    ex_out[k] = e > 0 ? g / e : 0;
    *eq = e;
    *gross = g;
  }
  return k;
}

/* Quiet bars (docs/engine.md): from bar i, while the strategy says its
 * on_bar does nothing (quiet_until) and no order is open, a bar's steps 1-9
 * reduce to the mark at the close and the equity point, as long as no
 * funding settles and the bar clears the liquidation line (liq_clear_one);
 * the first bar that does not is left to the full steps.  Stops before end;
 * returns the first bar not stepped, the clock as the full steps leave it
 * after the bar before; *named: the bar quiet_until named (before end). */
static QT__NOINLINE size_t run_quiet(qt_ctx *cx, const qt_bars *b0, size_t i, size_t end,
                                     size_t *named) {
  qt__run *r = &cx->r;
  qt__feed *f0 = &r->fd[0];
  size_t j = r->s->quiet_until(cx->st, cx, i, end);
  if (j <= i || j > end) return i;
  if (j < end) *named = j;
  /* the stretch streams closes and one extreme; the columns the end of it
   * and the next bar's full steps read would each miss the cache at the
   * end, so their lines are fetched while the marks run */
  __builtin_prefetch(&b0->ts_ms[j - 1]);
  __builtin_prefetch(&b0->ts_ms[j]);
  __builtin_prefetch(&b0->open[j]);
  __builtin_prefetch(&b0->high[j]);
  __builtin_prefetch(&b0->low[j]);
  if (b0->volume) __builtin_prefetch(&b0->volume[j]);
  if (r->extra_cols) {
    __builtin_prefetch(&b0->quote_volume[j]);
    __builtin_prefetch(&b0->trade_count[j]);
    __builtin_prefetch(&b0->taker_buy_base[j]);
    __builtin_prefetch(&b0->taker_buy_quote[j]);
  }
  const qt_funding *fu = f0->f->funding;
  if (r->any_funding && f0->perp && fu && f0->fund_i < fu->n) {
    /* the first bar at or after the next settlement takes the full steps */
    int64_t due = fu->ts_ms[f0->fund_i];
    size_t a = i, z = j;
    while (a < z) {
      size_t mid = a + (z - a) / 2;
      if (b0->ts_ms[mid] < due) a = mid + 1; else z = mid;
    }
    j = a;
  }
  double lo = -INFINITY, hi = INFINITY;
  if (r->npos) {
    liq_line_now(cx);
    lo = r->lq_lo;
    hi = r->lq_hi;
  }
  double eq = r->eq, gross = r->gross;
  size_t k;
  if (hi == INFINITY && lo == -INFINITY) k = quiet_marks(cx, b0, i, j, lo, hi, 0, 0, &eq, &gross);
  else if (hi == INFINITY) k = quiet_marks(cx, b0, i, j, lo, hi, 1, 0, &eq, &gross);
  else if (lo == -INFINITY) k = quiet_marks(cx, b0, i, j, lo, hi, 0, 1, &eq, &gross);
  else k = quiet_marks(cx, b0, i, j, lo, hi, 1, 1, &eq, &gross);
  if (k == i) return i;
  /* the clock as bar k - 1's steps leave it: step 0, then step 5's mark */
  clock_step(cx, b0, k - 1, 0);
  f0->px = b0->close[k - 1];
  r->eq = eq;
  r->gross = gross;
  r->fills0 = r->n_fills;
  return k;
}

/* Bars from the clock's next one up to `to` (exclusive) in shape sh, with
 * the checkpoints (10); 1 when a checkpoint stopped the run.  A run out of
 * memory stops at its bar (r.oom).  Shapes of one feed on bars without
 * trade_on_close step quiet bars in run_quiet. */
static inline QT__ALWAYS_INLINE int run_bars(qt_engine *e, const qt_bars *b0, qt_bar *bar,
                                             size_t to, size_t *ck_next, unsigned sh) {
  qt_ctx *cx = &e->cx;
  qt__run *r = &cx->r;
  const int quiet = !(sh & (SHAPE_MULTI | SHAPE_TRADES | SHAPE_TOC | SHAPE_END)) &&
                    r->s->quiet_until && !cx->o.hedge_mode;
  size_t named = SIZE_MAX; /* the bar quiet_until said on_bar acts on: not asked again */
  for (size_t i = (size_t)(r->i + 1); i < to; i++) {
    if (quiet && i != named && !r->n_ord && !r->n_armed && !r->stopped) {
      size_t end = to; /* a checkpoint's bar ends a quiet stretch */
      if (*ck_next < to - r->from) end = r->from + *ck_next;
      size_t k = run_quiet(cx, b0, i, end, &named);
      if (k > i) {
        i = k - 1;
        if (k - r->from == *ck_next && checkpoint(e, b0, i, ck_next)) return 1; /* 10 */
        continue;
      }
    }
    run_bar_as(cx, b0, i, bar, sh);           /* 1 .. 9 */
    if (r->oom) return 0;
    if (i + 1 - r->from == *ck_next && checkpoint(e, b0, i, ck_next)) return 1; /* 10 */
  }
  return 0;
}

/* The bars before the last one in the copy of the steps for the run's shape
 * (the usual shapes: one feed on bars, with or without the flow columns and
 * funding), the last one with every check. */
static int run_all_bars(qt_engine *e, const qt_bars *b0, qt_bar *bar, size_t *ck_next) {
  qt__run *r = &e->cx.r;
  unsigned sh = run_shape(r);
  size_t last = r->to - 1;
  int stopped;
  switch (sh) {
  case 0: stopped = run_bars(e, b0, bar, last, ck_next, 0); break;
  case SHAPE_EXTRA: stopped = run_bars(e, b0, bar, last, ck_next, SHAPE_EXTRA); break;
  case SHAPE_FUNDING: stopped = run_bars(e, b0, bar, last, ck_next, SHAPE_FUNDING); break;
  case SHAPE_FUNDING | SHAPE_EXTRA:
    stopped = run_bars(e, b0, bar, last, ck_next, SHAPE_FUNDING | SHAPE_EXTRA);
    break;
  default: stopped = run_bars(e, b0, bar, last, ck_next, SHAPE_ALL & ~SHAPE_END); break;
  }
  if (stopped || r->oom) return stopped;
  return run_bars(e, b0, bar, r->to, ck_next, SHAPE_ALL);
}

int qt_engine_run(qt_engine *e, const qt_feed *feeds, int n_feeds, const qt_strategy_vtbl *s,
                  const double *p, qt_result *out, qt_err *err) {
  if (out) memset(out, 0, sizeof *out);
  int rc = check_run(e, feeds, n_feeds, s, p, out, err);
  if (rc) return rc;
  qt_ctx *cx = &e->cx;
  e->stepping = 0;
  const qt_bars *b0 = feeds[0].bars;
  rc = prepare_buffers(cx, s, range_to(cx, b0) - cx->o.from, err);
  if (rc) return rc;
  run_start(cx, feeds, n_feeds, s);
  rc = strategy_init(cx, p, err);
  if (rc) return rc;
  qt_bar bar;
  memset(&bar, 0, sizeof bar);
  size_t ck_next = e->ck_every ? e->ck_every : SIZE_MAX;
  int stopped = run_all_bars(e, b0, &bar, &ck_next); /* 1 .. 10 */
  if (s->fini) s->fini(cx->st);
  if (cx->r.oom)
    return qt_err_set(err, QT_ENOMEM, "qt_engine_run: out of memory for the trade list or order log");
  if (stopped) return QT_PRUNED;
  fill_result(cx, b0, out);
  return QT_OK;
}

/* ------------------------------------------------- the step API
 * The same start and the same run_bar as qt_engine_run, one bar per call,
 * for a caller that does something between bars (the paper runner). */

int qt_engine_begin(qt_engine *e, const qt_feed *feeds, int n_feeds, const qt_strategy_vtbl *s,
                    const double *p, qt_err *err) {
  qt_result dummy;
  int rc = check_run(e, feeds, n_feeds, s, p, &dummy, err);
  if (rc) return rc;
  qt_ctx *cx = &e->cx;
  e->stepping = 0;
  rc = prepare_buffers(cx, s, range_to(cx, feeds[0].bars) - cx->o.from, err);
  if (rc) return rc;
  run_start(cx, feeds, n_feeds, s);
  rc = strategy_init(cx, p, err);
  if (rc) return rc;
  memset(&e->bar, 0, sizeof e->bar);
  e->stepping = 1;
  return QT_OK;
}

int qt_engine_step(qt_engine *e, qt_err *err) {
  if (!e || e->stepping != 1)
    return qt_err_set(err, QT_ESTATE, "qt_engine_step: no run begun (qt_engine_begin)");
  qt_ctx *cx = &e->cx;
  size_t i = (size_t)(cx->r.i + 1);
  if (i >= cx->r.to) return QT_DONE;
  run_bar(cx, cx->r.fd[0].f->bars, i, &e->bar);
  if (cx->r.oom)
    return qt_err_set(err, QT_ENOMEM, "qt_engine_step: out of memory for the trade list or order log");
  return QT_OK;
}

void qt_engine_peek(const qt_engine *e, qt_result *out) {
  memset(out, 0, sizeof *out);
  if (!e || !e->stepping) return;
  fill_result(&e->cx, e->cx.r.fd[0].f->bars, out);
}

int qt_engine_end(qt_engine *e, qt_result *out, qt_err *err) {
  if (out) memset(out, 0, sizeof *out);
  if (!e || e->stepping != 1)
    return qt_err_set(err, QT_ESTATE, "qt_engine_end: no run begun (qt_engine_begin)");
  qt_ctx *cx = &e->cx;
  if (cx->r.s->fini) cx->r.s->fini(cx->st);
  e->stepping = 2; /* the result stays readable (qt_engine_peek) until the next run */
  if (out) fill_result(cx, cx->r.fd[0].f->bars, out);
  return QT_OK;
}

/* New params mid-run: the strategy's init again on its running state (not
 * zeroed), so a strategy whose init only checks and copies its params (the
 * market maker) keeps the rest of its state; orders, positions and cash stay. */
int qt_engine_set_params(qt_engine *e, const double *p, qt_err *err) {
  if (!e || e->stepping != 1)
    return qt_err_set(err, QT_ESTATE, "qt_engine_set_params: no run begun (qt_engine_begin)");
  return strategy_init(&e->cx, p, err);
}

/* ------------------------------------------------- a growing series
 * The paper runner's stream: feed 0's series gets bars appended in place
 * (the same columns, room reserved), so a run is extended instead of run
 * again; the per-bar steps are qt_engine_step's. */

void qt_engine_reserve(qt_engine *e, size_t cap_bars) {
  if (e) e->cx.stream_cap = cap_bars;
}

int qt_engine_extend(qt_engine *e, qt_err *err) {
  if (!e || e->stepping != 1)
    return qt_err_set(err, QT_ESTATE, "qt_engine_extend: no run begun (qt_engine_begin)");
  qt_ctx *cx = &e->cx;
  qt__run *r = &cx->r;
  const qt__feed *f0 = &r->fd[0];
  const qt_bars *b = f0->f->bars;
  if (b->n == r->to) return QT_OK;
  if (cx->o.to || b->n < r->to || b->n > cx->stream_cap)
    return qt_err_set(err, QT_ESTATE,
                      "qt_engine_extend: feed 0 has %zu bars, the run %zu (opts.to %zu, %zu "
                      "reserved): only a reserved, growing series extends",
                      b->n, r->to, cx->o.to, cx->stream_cap);
  /* the run's views copied the column pointers at its start */
  if (b->ts_ms != f0->view.ts_ms || b->open != f0->view.open || b->high != f0->view.high ||
      b->low != f0->view.low || b->close != f0->view.close || b->volume != f0->view.volume)
    return qt_err_set(err, QT_ESTATE,
                      "qt_engine_extend: feed 0's columns moved since qt_engine_begin (begin "
                      "again)");
  size_t nb = b->n - r->from;
  if (nb > cx->cap_bars) {
    size_t want = cx->stream_cap - r->from, ce = cx->cap_bars, cxp = cx->cap_bars;
    if (qt__engine_grow((void **)&cx->equity, &ce, want, sizeof(double)) ||
        qt__engine_grow((void **)&cx->exposure, &cxp, want, sizeof(double)))
      return qt_err_set(err, QT_ENOMEM, "qt_engine_extend: out of memory for %zu bars", want);
    cx->cap_bars = want;
  }
  int rc = qt__ind_extend(cx, b, err);
  if (rc) return rc;
  r->to = b->n;
  return QT_OK;
}

const qt_ctx *qt_engine_ctx(const qt_engine *e) { return e ? &e->cx : NULL; }

size_t qt_engine_open_orders(const qt_engine *e, qt_order_event *out, size_t cap) {
  if (!e || !e->stepping) return 0;
  const qt_ctx *cx = &e->cx;
  for (size_t j = 0; j < cx->r.n_ord && j < cap; j++) {
    const qt__order *o = &cx->ord[j];
    out[j] = (qt_order_event){.ts_ms = cx->r.now, .id = o->id, .action = QT_OA_SUBMIT,
                              .inst = o->inst, .side = o->side, .type = o->type, .leg = o->leg,
                              .flags = o->flags, .qty = o->qty, .price = o->price,
                              .expire_ms = o->expire_ms};
  }
  return cx->r.n_ord;
}

/* ------------------------------------------------- the clock's views */

const qt_bars *qt_ctx_bars(const qt_ctx *cx, int inst, size_t *out_n) {
  if (inst < 0 || inst >= cx->r.n_feeds) {
    if (out_n) *out_n = 0;
    return NULL;
  }
  if (out_n) *out_n = cx->r.fd[inst].view.n;
  return &cx->r.fd[inst].view;
}

const qt_quotes *qt_ctx_quotes(const qt_ctx *cx, int inst, size_t *out_n) {
  if (out_n) *out_n = 0;
  if (inst < 0 || inst >= cx->r.n_feeds || !cx->r.fd[inst].f->quotes) return NULL;
  const qt_quotes *q = cx->r.fd[inst].f->quotes;
  /* rows with ts <= now: time only moves forward in a run, so gallop from
   * the last answer (amortized O(1) per bar), then bisect the last step */
  size_t lo = cx->r.fd[inst].quote_view.n, hi, step = 1;
  if (lo > q->n || (lo > 0 && q->ts_ms[lo - 1] > cx->r.now)) lo = 0;
  hi = lo;
  while (hi < q->n && q->ts_ms[hi] <= cx->r.now) {
    lo = hi + 1;
    hi = lo + step;
    step *= 2;
  }
  if (hi > q->n) hi = q->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (q->ts_ms[mid] <= cx->r.now) lo = mid + 1; else hi = mid;
  }
  qt_ctx *m = (qt_ctx *)cx;
  m->r.fd[inst].quote_view.n = lo;
  if (out_n) *out_n = lo;
  return &cx->r.fd[inst].quote_view;
}

int64_t qt_ctx_now(const qt_ctx *cx) { return cx->r.now; }
int qt_ctx_n_instruments(const qt_ctx *cx) { return cx->r.n_feeds; }
