/* Private state of the engine: the run context a strategy's qt_ctx points
 * at, per-feed cursors and position legs, the open-order book and the
 * indicator cache, with the hot helpers several engine files inline and
 * the functions they call across files.  Only the engine sources include
 * this; docs/engine.md has the file map and the conventions. */
#ifndef QTUNE_ENGINE_ENGINE_INT_H
#define QTUNE_ENGINE_ENGINE_INT_H

#include "qtune/engine.h"
#include "qtune/indicators.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* The per-bar loop's inlining (engine.c): the hot steps are inlined into the
 * loop whatever the compiler's size heuristics say, their rare work kept out
 * of line so it does not crowd the loop. */
#define QT__ALWAYS_INLINE __attribute__((always_inline))
#define QT__NOINLINE __attribute__((noinline))

#define QT__MAX_FEEDS 8
#define QT__MAX_IND_OUT 8
/* Indicator cache budget per engine: over it, entries unused by the current
 * run are evicted before a new one is computed. */
#define QT__IND_BUDGET ((size_t)768 << 20)

/* Internal order flag (above the public QT_ORDER_* bits): the quantity is the
 * whole leg at fill time (qt_ctx_close). */
#define QT__ORDER_CLOSE_ALL 0x100u
/* Internal order flag: qty holds a fraction of equity, turned into a
 * quantity when the order fills, at the fill price (qt_ctx_market_fraction). */
#define QT__ORDER_EQUITY 0x200u

typedef struct qt__order {
  int64_t id;
  int inst, side, type, leg;
  double qty, price;
  unsigned flags;
  int64_t expire_ms;
  int reason, tag;
  int64_t submit_i; /* clock index at submission plus fill_delay_bars; eligible from
                     * submit_i + 1 (trade_on_close: at the close of step submit_i) */
  unsigned gen;     /* bumped by replace, so a stale touch is not executed */
  int64_t lot_of;   /* lot accounting: the entry order whose lot this one closes first */
} qt__order;

/* An order touched in one bar's fill pass, sorted by path time. */
typedef struct qt__touch {
  int64_t id;
  unsigned gen;
  double t, px;
  int maker;
  int k;      /* the feed */
  size_t seq;
} qt__touch;

/* One entry fill of a leg still (partly) open, for lot accounting. */
typedef struct qt__lot {
  double qty, px, fee; /* open quantity, entry price, entry fee of that quantity */
  int64_t entry_ms, entry_i;
  int64_t order_id;    /* the entry order (0: none) */
} qt__lot;

typedef struct qt__leg {
  double qty;     /* signed */
  double avg;     /* average entry price */
  double fees;    /* entry fees of the open quantity not yet in a trade record */
  double funding; /* funding of the open quantity (received +) */
  int64_t entry_ms;
  int64_t entry_i;
  int64_t sig_expire_ms; /* armed signal expiry, 0 = none */
  size_t lot_head, lot_n; /* lot accounting: the open lots, FIFO, in qt_ctx.lots[k][l] */
} qt__leg;

typedef struct qt__feed {
  const qt_feed *f;
  qt_instrument inst;
  qt_bars view;        /* f->bars with n = current index + 1 */
  qt_funding fund_view;
  qt_quotes quote_view;
  int64_t ci;          /* current bar index (-1: no bar <= now yet) */
  int fresh;           /* ci advanced this step: fills may happen */
  size_t fund_i;       /* next funding settlement */
  size_t trade_i;      /* next trade (fill_on_trades) */
  double px;           /* the price "now": open during the fill pass, close after */
  /* Where this feed's orders can be touched (see qt__book_band): a bar with
   * low > dn_max and high < up_min and no market order fills nothing. */
  double dn_max, up_min;
  int n_mkt;
  int perp;
  double t_held;       /* path time since which the legs are as they are (0: the open) */
  qt__leg leg[3];
} qt__feed;

typedef struct qt__ind {
  const double *key_close;
  const int64_t *key_ts;
  size_t n;
  int kind, n1, n2, n3, nout;
  double *block; /* nout columns of stride (n, or the stream capacity) */
  uint64_t run;
  size_t stride;
  qt_ind_kind_state *xs; /* a stream's column (qt_engine_reserve): the state after row n-1
                          * and its ring, so qt_engine_extend adds rows; NULL: fixed */
} qt__ind;

/* Everything a run changes.  run_start (engine.c) resets it with one
 * assignment, so a field added here starts every run at zero (or its stated
 * start value) and cannot leak from one trial into the next.  What outlives
 * a run (buffers, their capacities, the indicator cache) is in qt_ctx. */
typedef struct qt__run {
  const qt_strategy_vtbl *s;
  int n_feeds;
  qt__feed fd[QT__MAX_FEEDS];
  int64_t i;        /* clock index (feed 0) */
  size_t from, to;
  int64_t now;
  size_t n_ord;     /* open orders in qt_ctx.ord */
  size_t max_ord;   /* this run's book capacity (opts.max_orders) */
  int book_dirty;   /* orders changed since the feeds' bands were computed */
  int64_t next_id;
  int64_t next_expire_ms; /* <= the earliest expire_ms of the open orders */
  double cash, fees_paid, funding_paid;
  size_t n_trades, n_olog;
  size_t n_signals, n_expired, n_fills, n_orders, n_rejected, n_cancelled;
  int npos;         /* legs with a nonzero quantity */
  int n_armed;      /* legs with an armed signal expiry */
  int liquidated, stopped, in_init, oom;
  int multi, on_trades, toc, any_funding, extra_cols; /* the run's shape, fixed at start */
  int lots;         /* trade records by lot (FIFO) instead of at the average price */
  /* the bar being processed */
  int liq_now;      /* the fill pass met the maintenance margin at liq_px (one feed) or
                     * liq_pxs (several) */
  double liq_px;
  double liq_pxs[QT__MAX_FEEDS];
  double eq, gross; /* the bar's equity point and gross notional */
  /* one feed on bars: a bar with low > lq_lo and high < lq_hi cannot reach
   * the maintenance margin (engine.c, liq_clear_one), for the legs and cash
   * of n_fills = lq_key - 1 and cash = lq_cash */
  size_t lq_key;
  double lq_cash, lq_lo, lq_hi;
  size_t fills0;    /* n_fills when the bar was marked at its close */
} qt__run;

struct qt_ctx {
  qt_engine_opts o;
  void *st;
  size_t st_cap;
  qt__order *ord;   /* open orders in submission order (r.n_ord of them) */
  size_t cap_ord;
  qt__touch *touch;
  size_t cap_touch;
  qt_trade_rec *trades;
  size_t cap_trades;
  qt_order_event *olog; /* opts.log_orders */
  size_t cap_olog;
  double *equity, *exposure;
  size_t cap_bars;
  qt__lot *lots[QT__MAX_FEEDS][3]; /* lot accounting: per leg, grown on the first runs */
  size_t cap_lots[QT__MAX_FEEDS][3];
  qt__ind *ind;
  size_t n_ind, cap_ind, ind_bytes;
  size_t stream_cap; /* qt_engine_reserve: feed 0's columns have room for this many bars */
  uint64_t run_id;
  qt__run r;
};

struct qt_engine {
  struct qt_ctx cx;
  size_t ck_every;             /* checkpoint period in simulated bars (0: none) */
  qt_engine_checkpoint_fn ck_fn;
  void *ck_ud;
  int stepping; /* qt_engine_begin: 1 while stepping, 2 after qt_engine_end */
  qt_bar bar;   /* the step API's bar record */
};

/* ------------------------------------------------------------------------
 * Hot helpers, static inline here because the fill and loop files all use
 * them on the per-bar path and calls across files would not be inlined. */

static inline double qt__round_lot(double q, double lot) {
  if (lot <= 0) return q;
  /* the epsilon keeps 0.3 / 0.1 from flooring to 2 lots */
  return floor(q / lot + 1e-9) * lot;
}

static inline double qt__round_tick(double p, double tick) {
  if (tick <= 0) return p;
  return round(p / tick) * tick;
}

/* fees and slippage (fees.c has their checks): the fee of a fill, and an
 * adverse move of px by opts.slippage_bps */
static inline double qt__fee_of(const qt__feed *fd, double qty, double px, int maker) {
  double bps = maker ? fd->inst.maker_bps : fd->inst.taker_bps;
  return qty * px * fd->inst.multiplier * bps * 1e-4;
}

static inline double qt__slip(const qt_ctx *cx, int side, double px) {
  return px * (1.0 + side * cx->o.slippage_bps * 1e-4);
}

/* qt__mark_all of a one-way run with one feed (the caller knows it is one). */
static inline void qt__mark_one(const qt_ctx *cx, double *out_upnl, double *out_gross,
                                double *out_maint) {
  const qt__feed *fd = &cx->r.fd[0];
  double q = fd->leg[0].qty, mult = fd->inst.multiplier;
  double notional = fabs(q) * fd->px * mult;
  *out_upnl = q * (fd->px - fd->leg[0].avg) * mult;
  *out_gross = notional;
  if (out_maint) *out_maint = notional * fd->inst.maint_margin;
}

/* Unrealized P&L of all legs at each feed's current price, and gross notional. */
static inline void qt__mark_all(const qt_ctx *cx, double *out_upnl, double *out_gross,
                                double *out_maint) {
  if (cx->r.n_feeds == 1 && !cx->o.hedge_mode) { /* the common case, kept short */
    qt__mark_one(cx, out_upnl, out_gross, out_maint);
    return;
  }
  double u = 0, g = 0, m = 0;
  /* one-way runs use leg 0 only, hedge runs legs 1 and 2 */
  int l0 = cx->o.hedge_mode ? 1 : 0, l1 = cx->o.hedge_mode ? 3 : 1;
  for (int k = 0; k < cx->r.n_feeds; k++) {
    const qt__feed *fd = &cx->r.fd[k];
    for (int l = l0; l < l1; l++) {
      double q = fd->leg[l].qty;
      if (q == 0) continue;
      double mult = fd->inst.multiplier;
      u += q * (fd->px - fd->leg[l].avg) * mult;
      double notional = fabs(q) * fd->px * mult;
      g += notional;
      m += notional * fd->inst.maint_margin;
    }
  }
  *out_upnl = u;
  *out_gross = g;
  if (out_maint) *out_maint = m;
}

static inline double qt__equity_now(const qt_ctx *cx) {
  if (cx->r.npos == 0) return cx->r.cash;
  double u, g;
  qt__mark_all(cx, &u, &g, NULL);
  return cx->r.cash + u;
}

/* The bar's intrabar path: open, nearer extreme, farther extreme, close
 * (high first on a tie). */
static inline void qt__bar_path(const qt_bars *b, size_t bi, double pt[4]) {
  double o = b->open[bi], h = b->high[bi], l = b->low[bi];
  pt[0] = o;
  pt[1] = h - o <= o - l ? h : l;
  pt[2] = h - o <= o - l ? l : h;
  pt[3] = b->close[bi];
}

/* ------------------------------------------------------------------------
 * Across the engine's files, by concern (docs/engine.md, "Source files"). */

/* engine.c: grows *p to want elements (never shrinks); QT_ENOMEM leaves it. */
int qt__engine_grow(void **p, size_t *cap, size_t want, size_t elem);

/* Room for one more element in a list that grows in the loop (the trades, the
 * order log): doubles *p when full.  Rare: capacity persists across runs, so
 * only the first long runs grow.  Out of memory stops the run. */
static inline int qt__room_for_one(qt_ctx *cx, void **p, size_t n, size_t *cap, size_t elem) {
  if (n < *cap || qt__engine_grow(p, cap, *cap ? *cap * 2 : 1024, elem) == QT_OK) return QT_OK;
  cx->r.oom = 1;
  cx->r.stopped = 1;
  return QT_ENOMEM;
}

/* book.c: the open orders.  Removing and finding one are inline: the fill
 * pass does both for every touched order. */
static inline void qt__book_remove(qt_ctx *cx, size_t j) {
  size_t after = cx->r.n_ord - j - 1; /* the last one (often the only one) moves nothing */
  if (after == 1) cx->ord[j] = cx->ord[j + 1]; /* a close before an entry: no call */
  else if (after) memmove(&cx->ord[j], &cx->ord[j + 1], after * sizeof cx->ord[0]);
  cx->r.n_ord--;
  cx->r.book_dirty = 1;
}

static inline ptrdiff_t qt__book_find(const qt_ctx *cx, int64_t id) {
  for (size_t j = 0; j < cx->r.n_ord; j++)
    if (cx->ord[j].id == id) return (ptrdiff_t)j;
  return -1;
}

void qt__book_band(qt_ctx *cx);
void qt__book_expire(qt_ctx *cx);

/* fill.c: matching and fills */
void qt__fill_exec(qt_ctx *cx, size_t j, double px, int maker, int64_t ts);
void qt__fill_bar(qt_ctx *cx, int k);
void qt__fill_bars_multi(qt_ctx *cx);
void qt__fill_trades(qt_ctx *cx, int k, int64_t end_ms);
void qt__fill_skip_trades(qt_ctx *cx, int k, int64_t end_ms);
void qt__fill_on_close(qt_ctx *cx);
void qt__fill_close_leg(qt_ctx *cx, int k, int l, double px, int reason, int64_t ts);
void qt__fill_expire_signals(qt_ctx *cx);
void qt__fill_close_all(qt_ctx *cx, int reason);

/* fees.c: fees and slippage */
int qt__fees_check(const qt_feed *f, int k, qt_err *err);

/* account.c: positions, cash, the trade list and the leverage cap */
/* Closes `closed` of leg l at px (a trade record; with lot accounting, one
 * per lot closed: first the lot of entry order lot_of when it is open, then
 * FIFO). */
void qt__account_reduce(qt_ctx *cx, qt__feed *fd, int k, int l, double closed, double px,
                        double exit_fee, int reason, int64_t ts, int64_t lot_of);
/* Lot accounting: appends an entry fill to leg l's lots (out of memory stops
 * the run, as for the trade list). */
void qt__account_lot_push(qt_ctx *cx, qt__feed *fd, int l, double qty, double px, double fee,
                          int64_t ts, int64_t order_id);
/* Grows leg l by qty at px (the average entry price moves); inline, as
 * every fill that opens or adds calls it. */
static inline void qt__account_increase(qt_ctx *cx, qt__feed *fd, int l, int dir, double qty,
                                        double px, double fee, int64_t ts, int64_t order_id) {
  qt__leg *L = &fd->leg[l];
  double aq = fabs(L->qty);
  if (aq == 0) {
    L->entry_ms = ts;
    L->entry_i = cx->r.i;
    L->avg = px;
    L->fees = 0;
    L->funding = 0;
    cx->r.npos++;
  } else {
    L->avg = (L->avg * aq + px * qty) / (aq + qty);
  }
  L->qty += dir * qty;
  L->fees += fee;
  if (cx->r.lots) qt__account_lot_push(cx, fd, l, qty, px, fee, ts, order_id);
}

/* The quantity of a fraction-of-equity order (QT__ORDER_EQUITY) filling at
 * px on fd: fraction x the available margin x the cap, over px x m x (1 +
 * fee rate), rounded down to the lot (docs/engine.md, "Sizing"). */
double qt__account_fraction_qty(const qt_ctx *cx, qt__feed *fd, double fraction, double px,
                                int maker);
double qt__account_cap_qty(const qt_ctx *cx, qt__feed *fd, double red, double inc, double px,
                           int maker);

/* funding.c */
void qt__funding_settle(qt_ctx *cx, int k);

/* liquidation.c: equity minus maintenance margin against the bar */
int qt__liq_path(const qt_ctx *cx, const qt__feed *fd, const double pt[4], double t0, double t1,
                 double *px);
/* Several feeds on bars: the same along the bars' paths run in step (path
 * time t in [t0, t1], each fresh feed at its own path's price at t, the
 * others at their close), with the legs as they are.  1 when equity minus
 * maintenance margin turns negative, with every feed's price at that time
 * in lpx (the opens after a gap). */
int qt__liq_path_multi(const qt_ctx *cx, double t0, double t1, double *lpx);

/* Feed fd's part of equity minus maintenance margin, a line in its price:
 * slope p - off (with the cash added, the whole of it for one feed).  0 when
 * the feed holds nothing. */
static inline int qt__liq_leg_line(const qt_ctx *cx, const qt__feed *fd, double *slope,
                                   double *off) {
  double q, g, s, mult = fd->inst.multiplier;
  if (!cx->o.hedge_mode) { /* one-way runs use leg 0 only, hedge runs legs 1 and 2 */
    q = fd->leg[0].qty;
    g = fabs(q);
    s = q * fd->leg[0].avg;
  } else {
    q = fd->leg[1].qty + fd->leg[2].qty;
    g = fabs(fd->leg[1].qty) + fabs(fd->leg[2].qty);
    s = fd->leg[1].qty * fd->leg[1].avg + fd->leg[2].qty * fd->leg[2].avg;
  }
  *slope = (q - g * fd->inst.maint_margin) * mult;
  *off = s * mult;
  return g != 0;
}

/* The liquidation check over the bar's range, for several feeds or fills
 * from trades (one feed on bars follows the path: qt__liq_path); inline, as
 * the loop calls it on every bar with a position of such runs.  Per feed,
 * equity minus maintenance margin is linear in the price, with slope (net
 * qty - gross qty x maint_margin) x multiplier, so its minimum over the bar
 * is at the low or the high (a feed without a new bar stays at its close).
 * Positions are those after this bar's fills.  Returns 1 when that minimum
 * is negative, with the price each feed is liquidated at in lpx: for one
 * feed with a position, the price where equity meets the maintenance margin
 * (or the open when it gapped through); with several, their worst extremes. */
static inline int qt__liq_range(const qt_ctx *cx, double *lpx) {
  double slack = cx->r.cash, slope1 = 0, off1 = 0;
  int with_pos = 0, k1 = -1;
  for (int k = 0; k < cx->r.n_feeds; k++) {
    const qt__feed *fd = &cx->r.fd[k];
    double slope, off;
    lpx[k] = fd->px;
    if (!qt__liq_leg_line(cx, fd, &slope, &off)) continue;
    double lo = fd->px, hi = fd->px;
    if (fd->fresh && fd->ci >= 0) {
      lo = fd->f->bars->low[fd->ci];
      hi = fd->f->bars->high[fd->ci];
    }
    lpx[k] = slope > 0 ? lo : hi;
    slack += slope * lpx[k] - off;
    with_pos++, k1 = k, slope1 = slope, off1 = off;
  }
  if (!(slack < 0)) return 0;
  if (with_pos == 1 && slope1 != 0) {
    const qt__feed *fd = &cx->r.fd[k1];
    double p = (off1 - cx->r.cash) / slope1; /* cash + slope p - off = 0 */
    double open = fd->fresh && fd->ci >= 0 ? fd->f->bars->open[fd->ci] : fd->px;
    if (slope1 > 0) lpx[k1] = open <= p ? open : (p > lpx[k1] ? p : lpx[k1]);
    else lpx[k1] = open >= p ? open : (p < lpx[k1] ? p : lpx[k1]);
  }
  return 1;
}

void qt__liq_close(qt_ctx *cx, const double *lpx);

/* indcache.c */
void qt__ind_free_all(qt_ctx *cx);
/* The run's stream columns of series b (qt_engine_extend) get rows
 * [their n, b->n); QT_ESTATE when a column of b used by this run cannot grow
 * (not reserved, or b outgrew the reserve). */
int qt__ind_extend(qt_ctx *cx, const qt_bars *b, qt_err *err);

#endif
