/* The simulated exchange and its event loop.  Conventions (fill rules, the
 * intrabar path, funding, margin, liquidation, trade accounting) are in
 * docs/engine.md; the comments here say why the code is shaped as it is.
 * The per-bar loop allocates nothing except when the trade list outgrows
 * its (reused) capacity. */
#include "engine/engine_int.h"
#include "qtune/indicators.h"

#include <math.h>
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

qt_instrument qt_instrument_default(const char *symbol) {
  qt_instrument in;
  memset(&in, 0, sizeof in);
  if (symbol) {
    strncpy(in.symbol, symbol, sizeof in.symbol - 1);
  }
  in.kind = QT_INST_SPOT;
  in.multiplier = 1.0;
  in.maker_bps = 2.0;
  in.taker_bps = 5.0;
  in.maint_margin = 0.005;
  return in;
}

/* ---------------------------------------------------------------- helpers */

static double round_lot(double q, double lot) {
  if (lot <= 0) return q;
  /* the epsilon keeps 0.3 / 0.1 from flooring to 2 lots */
  return floor(q / lot + 1e-9) * lot;
}

static double round_tick(double p, double tick) {
  if (tick <= 0) return p;
  return round(p / tick) * tick;
}

static int leg_index(const qt_ctx *cx, int leg) {
  if (!cx->o.hedge_mode) return 0;
  return leg; /* 1 long, 2 short; NET is routed at fill time */
}

static double fee_of(const qt__feed *fd, double qty, double px, int maker) {
  double bps = maker ? fd->inst.maker_bps : fd->inst.taker_bps;
  return qty * px * fd->inst.multiplier * bps * 1e-4;
}

/* Unrealized P&L of all legs at each feed's current price, and gross notional. */
static inline void mark_all(const qt_ctx *cx, double *out_upnl, double *out_gross, double *out_maint) {
  if (cx->n_feeds == 1 && !cx->o.hedge_mode) { /* the common case, kept short */
    const qt__feed *fd = &cx->fd[0];
    double q = fd->leg[0].qty, mult = fd->inst.multiplier;
    double notional = fabs(q) * fd->px * mult;
    *out_upnl = q * (fd->px - fd->leg[0].avg) * mult;
    *out_gross = notional;
    if (out_maint) *out_maint = notional * fd->inst.maint_margin;
    return;
  }
  double u = 0, g = 0, m = 0;
  /* one-way runs use leg 0 only, hedge runs legs 1 and 2 */
  int l0 = cx->o.hedge_mode ? 1 : 0, l1 = cx->o.hedge_mode ? 3 : 1;
  for (int k = 0; k < cx->n_feeds; k++) {
    const qt__feed *fd = &cx->fd[k];
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

static double equity_now(const qt_ctx *cx) {
  if (cx->npos == 0) return cx->cash;
  double u, g;
  mark_all(cx, &u, &g, NULL);
  return cx->cash + u;
}

static int grow(void **p, size_t *cap, size_t want, size_t elem) {
  if (*cap >= want) return QT_OK;
  void *np = qt_realloc(*p, want * elem);
  if (!np) return QT_ENOMEM;
  *p = np;
  *cap = want;
  return QT_OK;
}

/* Room for one more element in a list that grows in the loop (the trades, the
 * order log): doubles *p when full.  Rare: capacity persists across runs, so
 * only the first long runs grow.  Out of memory stops the run. */
static int room_for_one(qt_ctx *cx, void **p, size_t n, size_t *cap, size_t elem) {
  if (n < *cap || grow(p, cap, *cap ? *cap * 2 : 1024, elem) == QT_OK) return QT_OK;
  cx->oom = 1;
  cx->stopped = 1;
  return QT_ENOMEM;
}

const char *qt_order_action_name(int a) {
  return a == QT_OA_SUBMIT ? "submit" : a == QT_OA_REPLACE ? "replace"
                                      : a == QT_OA_CANCEL  ? "cancel" : "unknown";
}

/* Appends order action a on the open order o (opts.log_orders only). */
static void log_order(qt_ctx *cx, int a, const qt__order *o) {
  if (!cx->o.log_orders ||
      room_for_one(cx, (void **)&cx->olog, cx->n_olog, &cx->cap_olog, sizeof *cx->olog))
    return;
  qt_order_event *ev = &cx->olog[cx->n_olog++];
  ev->ts_ms = cx->now;
  ev->id = o->id;
  ev->action = a;
  ev->inst = o->inst;
  ev->side = o->side;
  ev->type = o->type;
  ev->leg = o->leg;
  ev->flags = o->flags;
  ev->qty = o->qty;
  ev->price = o->price;
  ev->expire_ms = o->expire_ms;
}

static int push_trade(qt_ctx *cx, const qt_trade_rec *t) {
  if (room_for_one(cx, (void **)&cx->trades, cx->n_trades, &cx->cap_trades, sizeof *cx->trades))
    return QT_ENOMEM;
  cx->trades[cx->n_trades++] = *t;
  return QT_OK;
}

/* Closes `closed` (> 0, <= |qty|) of leg l at px; exit_fee is this part's fee. */
static void reduce_leg(qt_ctx *cx, qt__feed *fd, int k, int l, double closed, double px,
                       double exit_fee, int reason, int64_t ts) {
  qt__leg *L = &fd->leg[l];
  double aq = fabs(L->qty);
  double dir = L->qty > 0 ? 1.0 : -1.0;
  double share = closed / aq;
  double price_pnl = (px - L->avg) * closed * dir * fd->inst.multiplier;
  double fee_entry = L->fees * share, fund = L->funding * share;
  if (closed >= aq * (1 - 1e-12)) {
    fee_entry = L->fees;
    fund = L->funding;
  }
  qt_trade_rec t;
  t.inst = k;
  t.side = dir > 0 ? QT_BUY : QT_SELL;
  t.leg = l;
  t.exit_reason = reason;
  t.entry_ms = L->entry_ms;
  t.exit_ms = ts;
  t.qty = closed;
  t.entry_price = L->avg;
  t.exit_price = px;
  t.fees = fee_entry + exit_fee;
  t.funding = fund;
  t.pnl = price_pnl - t.fees + fund;
  t.bars_held = cx->i - L->entry_i;
  cx->cash += price_pnl;
  push_trade(cx, &t);
  if (closed >= aq * (1 - 1e-12)) {
    int armed = L->sig_expire_ms != 0;
    memset(L, 0, sizeof *L);
    cx->npos--;
    if (armed) cx->n_armed--;
  } else {
    L->qty -= dir * closed;
    L->fees -= fee_entry;
    L->funding -= fund;
  }
}

static void increase_leg(qt_ctx *cx, qt__feed *fd, int l, int dir, double qty, double px,
                         double fee, int64_t ts) {
  qt__leg *L = &fd->leg[l];
  double aq = fabs(L->qty);
  if (aq == 0) {
    L->entry_ms = ts;
    L->entry_i = cx->i;
    L->avg = px;
    L->fees = 0;
    L->funding = 0;
    cx->npos++;
  } else {
    L->avg = (L->avg * aq + px * qty) / (aq + qty);
  }
  L->qty += dir * qty;
  L->fees += fee;
}

static void remove_order_at(qt_ctx *cx, size_t j) {
  memmove(&cx->ord[j], &cx->ord[j + 1], (cx->n_ord - j - 1) * sizeof cx->ord[0]);
  cx->n_ord--;
  cx->book_dirty = 1;
}

/* Recomputes every feed's band: the highest price of its orders that fill
 * when the price comes down (buy limits, sell stops), the lowest of those
 * that fill when it goes up, and its market orders.  Most bars of a grid
 * touch none of its resting orders; the band lets them skip the scan. */
static void book_band(qt_ctx *cx) {
  for (int k = 0; k < cx->n_feeds; k++) {
    cx->fd[k].dn_max = -INFINITY;
    cx->fd[k].up_min = INFINITY;
    cx->fd[k].n_mkt = 0;
  }
  for (size_t j = 0; j < cx->n_ord; j++) {
    const qt__order *od = &cx->ord[j];
    qt__feed *fd = &cx->fd[od->inst];
    if (od->type == QT_ORDER_MARKET) fd->n_mkt++;
    else if ((od->type == QT_ORDER_LIMIT) == (od->side == QT_BUY)) {
      if (od->price > fd->dn_max) fd->dn_max = od->price;
    } else if (od->price < fd->up_min) fd->up_min = od->price;
  }
  cx->book_dirty = 0;
}

static ptrdiff_t find_order(const qt_ctx *cx, int64_t id) {
  for (size_t j = 0; j < cx->n_ord; j++)
    if (cx->ord[j].id == id) return (ptrdiff_t)j;
  return -1;
}

/* Executes order j (already known to trade at px) and removes it from the
 * book.  Reduce-only and the leverage cap may shrink it; nothing left means
 * it is dropped as rejected.  Calls on_fill. */
static void exec_order(qt_ctx *cx, size_t j, double px, int maker, int64_t ts) {
  qt__order o = cx->ord[j];
  remove_order_at(cx, j);
  qt__feed *fd = &cx->fd[o.inst];
  int side = o.side;
  /* Which legs the fill reduces and which it grows. */
  int red_l = -1, inc_l = -1;
  if (!cx->o.hedge_mode) {
    red_l = 0;
    inc_l = 0;
  } else if (o.leg == QT_LEG_LONG) {
    if (side == QT_BUY) inc_l = 1; else red_l = 1;
  } else if (o.leg == QT_LEG_SHORT) {
    if (side == QT_SELL) inc_l = 2; else red_l = 2;
  } else { /* NET in hedge mode: reduce the opposite leg first, then grow own */
    red_l = side == QT_BUY ? 2 : 1;
    inc_l = side == QT_BUY ? 1 : 2;
  }
  double reducible = 0;
  if (red_l >= 0) {
    double q = fd->leg[red_l].qty;
    if ((side == QT_BUY && q < 0) || (side == QT_SELL && q > 0)) reducible = fabs(q);
  }
  double qty = o.qty;
  if (o.flags & QT__ORDER_CLOSE_ALL) qty = reducible;
  double red = qty < reducible ? qty : reducible;
  double inc = qty - red;
  if (o.flags & (QT_ORDER_REDUCE_ONLY | QT__ORDER_CLOSE_ALL)) inc = 0;
  if (inc_l < 0) inc = 0;
  if (inc > 0 && cx->o.leverage_cap > 0) {
    /* Grow only as far as the cap allows after the reducing part:
     * (G + inc*px*m) <= cap * (E - fee(inc)). */
    double m = fd->inst.multiplier;
    double f = (maker ? fd->inst.maker_bps : fd->inst.taker_bps) * 1e-4;
    double exit_fee_red = fee_of(fd, red, px, maker);
    double saved = fd->px;
    fd->px = px;
    double u, g;
    mark_all(cx, &u, &g, NULL);
    fd->px = saved;
    double red_notional = red * px * m;
    double e = cx->cash + u - exit_fee_red;
    double g_after = g - red_notional;
    double room = (cx->o.leverage_cap * e - g_after) / (px * m * (1 + cx->o.leverage_cap * f));
    if (room < inc) {
      if (room < 0) room = 0;
      double cut = fd->inst.lot_size > 0 ? round_lot(room, fd->inst.lot_size) : room;
      inc = cut < inc ? cut : inc;
    }
  }
  double q_total = red + inc;
  if (!(q_total > 0)) {
    cx->n_rejected++;
    return;
  }
  double fee = fee_of(fd, q_total, px, maker);
  double fee_red = red > 0 ? fee * (red / q_total) : 0;
  double fee_inc = fee - fee_red;
  cx->cash -= fee;
  cx->fees_paid += fee;
  cx->n_fills++;
  if (red > 0) reduce_leg(cx, fd, o.inst, red_l, red, px, fee_red, o.reason, ts);
  if (inc > 0) increase_leg(cx, fd, inc_l, side, inc, px, fee_inc, ts);
  if (cx->s->on_fill && !cx->stopped) {
    qt_fill fl;
    fl.order_id = o.id;
    fl.inst = o.inst;
    fl.side = side;
    fl.leg = o.leg;
    fl.tag = o.tag;
    fl.reason = o.reason;
    fl.maker = maker;
    fl.qty = q_total;
    fl.price = px;
    fl.fee = fee;
    fl.ts_ms = ts;
    cx->s->on_fill(cx->st, &fl, cx);
  }
}

static double slip(const qt_ctx *cx, int side, double px) {
  return px * (1.0 + side * cx->o.slippage_bps * 1e-4);
}

/* A direct taker fill at px of a whole leg, outside the order book (signal
 * expiry, liquidation, end of data). */
static void close_leg_now(qt_ctx *cx, int k, int l, double px, int reason, int64_t ts) {
  qt__feed *fd = &cx->fd[k];
  double q = fd->leg[l].qty;
  if (q == 0) return;
  double fee = fee_of(fd, fabs(q), px, 0);
  cx->cash -= fee;
  cx->fees_paid += fee;
  cx->n_fills++;
  reduce_leg(cx, fd, k, l, fabs(q), px, fee, reason, ts);
  if (cx->s->on_fill && !cx->stopped) { /* order_id 0: an engine-made close */
    qt_fill fl;
    fl.order_id = 0;
    fl.inst = k;
    fl.side = q > 0 ? QT_SELL : QT_BUY;
    fl.leg = cx->o.hedge_mode ? l : QT_LEG_NET;
    fl.tag = 0;
    fl.reason = reason;
    fl.maker = 0;
    fl.qty = fabs(q);
    fl.price = px;
    fl.fee = fee;
    fl.ts_ms = ts;
    cx->s->on_fill(cx->st, &fl, cx);
  }
}

/* The bar's intrabar path: open, nearer extreme, farther extreme, close
 * (high first on a tie). */
static inline void bar_path(const qt_bars *b, size_t bi, double pt[4]) {
  double o = b->open[bi], h = b->high[bi], l = b->low[bi];
  pt[0] = o;
  pt[1] = h - o <= o - l ? h : l;
  pt[2] = h - o <= o - l ? l : h;
  pt[3] = b->close[bi];
}

static double path_price(const double pt[4], double t) {
  int s = t >= 3 ? 2 : (int)t;
  return pt[s] + (t - s) * (pt[s + 1] - pt[s]);
}

/* Feed fd's part of equity minus maintenance margin, a line in its price:
 * slope p - off (with the cash added, the whole of it for one feed).  0 when
 * the feed holds nothing. */
static int leg_line(const qt_ctx *cx, const qt__feed *fd, double *slope, double *off) {
  int l0 = cx->o.hedge_mode ? 1 : 0, l1 = cx->o.hedge_mode ? 3 : 1;
  double q = 0, g = 0, s = 0, mult = fd->inst.multiplier;
  for (int l = l0; l < l1; l++) {
    q += fd->leg[l].qty;
    g += fabs(fd->leg[l].qty);
    s += fd->leg[l].qty * fd->leg[l].avg;
  }
  *slope = (q - g * fd->inst.maint_margin) * mult;
  *off = s * mult;
  return g != 0;
}

/* One feed: the first point of the path in [t0, t1] where equity minus
 * maintenance margin (a line in the price: cash + slope p - off, with the
 * legs as they are) is negative; its price in *px (the open after a gap,
 * else where the line crosses zero).  0 when it stays >= 0. */
static int path_liq(const qt_ctx *cx, const qt__feed *fd, const double pt[4], double t0, double t1,
                    double *px) {
  double slope, off;
  if (!leg_line(cx, fd, &slope, &off)) return 0;
  /* piecewise linear in time, so the first negative point is at a
   * breakpoint or where a piece crosses zero */
  double a = t0, pa = path_price(pt, a);
  if (cx->cash + slope * pa - off < 0) {
    *px = pa;
    return 1;
  }
  while (a < t1) {
    double b = floor(a) + 1 < t1 ? floor(a) + 1 : t1, pb = path_price(pt, b);
    if (cx->cash + slope * pb - off < 0) {
      *px = (off - cx->cash) / slope; /* between pa and pb: the line is >= 0 at pa */
      return 1;
    }
    a = b;
  }
  return 0;
}

/* First path time at which the bar's price reaches p going down (dir < 0:
 * price <= p) or up (dir > 0: price >= p); -1 if never.  The path is open,
 * nearer extreme, farther extreme, close (high first on a tie). */
static double touch_time(const double pt[4], int dir, double p) {
  for (int s = 0; s < 3; s++) {
    double a = pt[s], b = pt[s + 1];
    if (dir < 0) {
      if (a <= p) return s;
      if (b <= p) return s + (a - p) / (a - b);
    } else {
      if (a >= p) return s;
      if (b >= p) return s + (p - a) / (b - a);
    }
  }
  return -1.0;
}

static void sort_touches(qt__touch *t, size_t n) {
  for (size_t a = 1; a < n; a++) {
    qt__touch x = t[a];
    size_t b = a;
    while (b > 0 && (t[b - 1].t > x.t || (t[b - 1].t == x.t && t[b - 1].seq > x.seq))) {
      t[b] = t[b - 1];
      b--;
    }
    t[b] = x;
  }
}

/* One bar's fills for feed k: every eligible order touched on the bar's
 * path, executed in path order. */
static void fill_on_bar(qt_ctx *cx, int k) {
  qt__feed *fd = &cx->fd[k];
  const qt_bars *b = fd->f->bars;
  size_t bi = (size_t)fd->ci;
  double o = b->open[bi], h = b->high[bi], l = b->low[bi];
  int64_t ts = b->ts_ms[bi];
  if (cx->book_dirty) book_band(cx);
  if (!fd->n_mkt && fd->dn_max < l && fd->up_min > h) return;
  double pt[4];
  bar_path(b, bi, pt);
  size_t nt = 0;
  for (size_t j = 0; j < cx->n_ord; j++) {
    const qt__order *od = &cx->ord[j];
    if (od->inst != k || od->submit_i >= cx->i) continue;
    if (od->type != QT_ORDER_MARKET) { /* out of the bar's range: touch_time would say -1 */
      int down = (od->type == QT_ORDER_LIMIT) == (od->side == QT_BUY);
      if (down ? od->price < l : od->price > h) continue;
    }
    double t = -1, px = 0;
    int maker = 0;
    if (od->type == QT_ORDER_MARKET) {
      t = 0;
      px = slip(cx, od->side, o);
    } else if (od->type == QT_ORDER_LIMIT) {
      t = touch_time(pt, od->side == QT_BUY ? -1 : 1, od->price);
      px = t == 0 ? o : od->price;
      maker = 1;
    } else {
      t = touch_time(pt, od->side == QT_BUY ? 1 : -1, od->price);
      px = slip(cx, od->side, t == 0 ? o : od->price);
    }
    if (t < 0) continue;
    qt__touch *tt = &cx->touch[nt++];
    tt->id = od->id;
    tt->gen = od->gen;
    tt->t = t;
    tt->px = px;
    tt->maker = maker;
    tt->seq = j;
  }
  if (nt == 0) return;
  sort_touches(cx->touch, nt);
  /* one feed: the legs held between fills meet the path before the next
   * fill, so a liquidation on the way stops the fills after it */
  int one = cx->n_feeds == 1;
  for (size_t a = 0; a < nt && !cx->stopped; a++) {
    ptrdiff_t j = find_order(cx, cx->touch[a].id);
    if (j < 0 || cx->ord[j].gen != cx->touch[a].gen) continue;
    if (one && path_liq(cx, fd, pt, fd->t_held, cx->touch[a].t, &cx->liq_px)) {
      cx->liq_now = 1;
      return;
    }
    exec_order(cx, (size_t)j, cx->touch[a].px, cx->touch[a].maker, ts);
    fd->t_held = cx->touch[a].t;
  }
}

/* fill_on_trades: the trades of this clock step, [now, next bar), in order. */
static void fill_on_trades(qt_ctx *cx, int k, int64_t end_ms) {
  qt__feed *fd = &cx->fd[k];
  const qt_trades *tr = fd->f->trades;
  while (fd->trade_i < tr->n && tr->ts_ms[fd->trade_i] < end_ms) {
    size_t ti = fd->trade_i++;
    if (tr->ts_ms[ti] < cx->now) continue;
    double p = tr->price[ti];
    int64_t ts = tr->ts_ms[ti];
    for (size_t j = 0; j < cx->n_ord && !cx->stopped;) {
      qt__order *od = &cx->ord[j];
      if (od->inst != k || od->submit_i >= cx->i) {
        j++;
        continue;
      }
      if (od->expire_ms > 0 && ts >= od->expire_ms) {
        remove_order_at(cx, j);
        cx->n_cancelled++;
        continue;
      }
      int hit = 0, maker = 0;
      double px = p;
      if (od->type == QT_ORDER_MARKET) {
        hit = 1;
        px = slip(cx, od->side, p);
      } else if (od->type == QT_ORDER_LIMIT) {
        hit = od->side == QT_BUY ? p < od->price : p > od->price;
        px = od->price;
        maker = 1;
      } else {
        hit = od->side == QT_BUY ? p >= od->price : p <= od->price;
        px = slip(cx, od->side, p);
      }
      if (!hit) {
        j++;
        continue;
      }
      exec_order(cx, j, px, maker, ts);
      /* exec removed order j and on_fill may have changed the book: rescan;
       * orders submitted now are not eligible, filled ones are gone */
      j = 0;
    }
  }
}

/* ------------------------------------------------------------- order API */

int64_t qt_ctx_submit(qt_ctx *cx, const qt_order_req *r) {
  if (cx->stopped) return QT_ESTATE;
  if (!r || r->inst < 0 || r->inst >= cx->n_feeds || (r->side != QT_BUY && r->side != QT_SELL) ||
      r->type < QT_ORDER_MARKET || r->type > QT_ORDER_STOP || r->leg < QT_LEG_NET ||
      r->leg > QT_LEG_SHORT)
    return QT_EINVAL;
  qt__feed *fd = &cx->fd[r->inst];
  double qty = r->qty;
  if (!(r->flags & QT__ORDER_CLOSE_ALL)) {
    if (!(qty > 0) || !isfinite(qty)) return QT_EINVAL;
    qty = round_lot(qty, fd->inst.lot_size);
    if (!(qty > 0)) return QT_EINVAL;
  }
  double price = 0;
  if (r->type != QT_ORDER_MARKET) {
    if (!(r->price > 0) || !isfinite(r->price)) return QT_EINVAL;
    price = round_tick(r->price, fd->inst.tick_size);
    if (!(price > 0)) return QT_EINVAL;
    if (r->type == QT_ORDER_LIMIT && (r->flags & QT_ORDER_POST_ONLY) && fd->ci >= 0) {
      double ref = fd->px;
      if ((r->side == QT_BUY && price >= ref) || (r->side == QT_SELL && price <= ref)) {
        cx->n_rejected++;
        return QT_EINVAL;
      }
    }
  }
  if (cx->n_ord >= cx->cap_ord) return QT_ESTATE;
  cx->book_dirty = 1;
  qt__order *o = &cx->ord[cx->n_ord++];
  o->id = cx->next_id++;
  o->inst = r->inst;
  o->side = r->side;
  o->type = r->type;
  o->leg = cx->o.hedge_mode ? r->leg : QT_LEG_NET;
  o->qty = qty;
  o->price = price;
  o->flags = r->flags;
  o->expire_ms = r->expire_ms;
  o->reason = r->reason;
  o->tag = r->tag;
  o->submit_i = cx->i;
  o->gen = 0;
  if (o->expire_ms > 0 && o->expire_ms < cx->next_expire_ms) cx->next_expire_ms = o->expire_ms;
  cx->n_orders++;
  log_order(cx, QT_OA_SUBMIT, o);
  return o->id;
}

int64_t qt_ctx_market(qt_ctx *cx, int inst, int side, int leg, double qty, int reason) {
  qt_order_req r = {0};
  r.inst = inst;
  r.side = side;
  r.type = QT_ORDER_MARKET;
  r.leg = leg;
  r.qty = qty;
  r.reason = reason;
  return qt_ctx_submit(cx, &r);
}

int64_t qt_ctx_limit(qt_ctx *cx, int inst, int side, int leg, double qty, double price,
                     unsigned flags, int tag) {
  qt_order_req r = {0};
  r.inst = inst;
  r.side = side;
  r.type = QT_ORDER_LIMIT;
  r.leg = leg;
  r.qty = qty;
  r.price = price;
  r.flags = flags & (QT_ORDER_POST_ONLY | QT_ORDER_REDUCE_ONLY);
  r.tag = tag;
  r.reason = QT_EXIT_TAKE_PROFIT;
  return qt_ctx_submit(cx, &r);
}

int64_t qt_ctx_stop(qt_ctx *cx, int inst, int side, int leg, double qty, double trigger,
                    int reason) {
  qt_order_req r = {0};
  r.inst = inst;
  r.side = side;
  r.type = QT_ORDER_STOP;
  r.leg = leg;
  r.qty = qty;
  r.price = trigger;
  r.reason = reason;
  return qt_ctx_submit(cx, &r);
}

int qt_ctx_cancel(qt_ctx *cx, int64_t order_id) {
  ptrdiff_t j = find_order(cx, order_id);
  if (j < 0) return QT_ENOTFOUND;
  log_order(cx, QT_OA_CANCEL, &cx->ord[j]);
  remove_order_at(cx, (size_t)j);
  cx->n_cancelled++;
  return QT_OK;
}

void qt_ctx_cancel_all(qt_ctx *cx, int inst) {
  size_t w = 0;
  for (size_t j = 0; j < cx->n_ord; j++) {
    if (inst < 0 || cx->ord[j].inst == inst) {
      log_order(cx, QT_OA_CANCEL, &cx->ord[j]);
      cx->n_cancelled++;
      continue;
    }
    cx->ord[w++] = cx->ord[j];
  }
  cx->n_ord = w;
  cx->book_dirty = 1;
}

int qt_ctx_replace(qt_ctx *cx, int64_t order_id, double price, double qty) {
  ptrdiff_t j = find_order(cx, order_id);
  if (j < 0) return QT_ENOTFOUND;
  qt__order *o = &cx->ord[j];
  qt__feed *fd = &cx->fd[o->inst];
  double q = o->qty;
  cx->book_dirty = 1;
  if (!(o->flags & QT__ORDER_CLOSE_ALL)) {
    if (!(qty > 0) || !isfinite(qty)) return QT_EINVAL;
    q = round_lot(qty, fd->inst.lot_size);
    if (!(q > 0)) return QT_EINVAL;
  }
  double p = 0;
  if (o->type != QT_ORDER_MARKET) {
    if (!(price > 0) || !isfinite(price)) return QT_EINVAL;
    p = round_tick(price, fd->inst.tick_size);
    if (o->type == QT_ORDER_LIMIT && (o->flags & QT_ORDER_POST_ONLY) && fd->ci >= 0 &&
        ((o->side == QT_BUY && p >= fd->px) || (o->side == QT_SELL && p <= fd->px))) {
      /* a post-only replace that would take cancels the order */
      log_order(cx, QT_OA_CANCEL, o);
      remove_order_at(cx, (size_t)j);
      cx->n_rejected++;
      return QT_EINVAL;
    }
  }
  o->qty = q;
  o->price = p;
  o->submit_i = cx->i; /* a replaced order rests anew from the next bar */
  o->gen++;
  log_order(cx, QT_OA_REPLACE, o);
  return QT_OK;
}

int64_t qt_ctx_close(qt_ctx *cx, int inst, int leg, int reason) {
  if (inst < 0 || inst >= cx->n_feeds || leg < QT_LEG_NET || leg > QT_LEG_SHORT) return QT_EINVAL;
  if (cx->o.hedge_mode && leg == QT_LEG_NET) {
    int64_t a = qt_ctx_close(cx, inst, QT_LEG_LONG, reason);
    int64_t b = qt_ctx_close(cx, inst, QT_LEG_SHORT, reason);
    if (a < 0) return a;
    return b != 0 ? b : a;
  }
  double q = cx->fd[inst].leg[leg_index(cx, leg)].qty;
  /* one-way: closing LONG (SHORT) only applies to a long (short) net */
  if (q == 0 || (leg == QT_LEG_LONG && q < 0) || (leg == QT_LEG_SHORT && q > 0)) return 0;
  qt_order_req r = {0};
  r.inst = inst;
  r.side = q > 0 ? QT_SELL : QT_BUY;
  r.type = QT_ORDER_MARKET;
  r.leg = leg;
  r.qty = fabs(q);
  r.flags = QT__ORDER_CLOSE_ALL | QT_ORDER_REDUCE_ONLY;
  r.reason = reason;
  return qt_ctx_submit(cx, &r);
}

double qt_ctx_position(const qt_ctx *cx, int inst, int leg) {
  if (inst < 0 || inst >= cx->n_feeds) return 0;
  const qt__feed *fd = &cx->fd[inst];
  if (!cx->o.hedge_mode) {
    double q = fd->leg[0].qty;
    if (leg == QT_LEG_LONG) return q > 0 ? q : 0;
    if (leg == QT_LEG_SHORT) return q < 0 ? q : 0;
    return q;
  }
  if (leg == QT_LEG_NET) return fd->leg[1].qty + fd->leg[2].qty;
  if (leg == QT_LEG_LONG || leg == QT_LEG_SHORT) return fd->leg[leg].qty;
  return 0;
}

double qt_ctx_entry_price(const qt_ctx *cx, int inst, int leg) {
  if (inst < 0 || inst >= cx->n_feeds) return 0;
  const qt__feed *fd = &cx->fd[inst];
  if (!cx->o.hedge_mode) {
    double q = fd->leg[0].qty;
    if ((leg == QT_LEG_LONG && q <= 0) || (leg == QT_LEG_SHORT && q >= 0)) return 0;
    return q != 0 ? fd->leg[0].avg : 0;
  }
  if (leg == QT_LEG_NET) {
    if (fd->leg[1].qty != 0) return fd->leg[1].avg;
    return fd->leg[2].qty != 0 ? fd->leg[2].avg : 0;
  }
  if (leg == QT_LEG_LONG || leg == QT_LEG_SHORT) return fd->leg[leg].qty != 0 ? fd->leg[leg].avg : 0;
  return 0;
}

double qt_ctx_cash(const qt_ctx *cx) { return cx->cash; }

double qt_ctx_gross_notional(const qt_ctx *cx) {
  if (cx->npos == 0) return 0;
  double u, g;
  mark_all(cx, &u, &g, NULL);
  return g;
}

double qt_ctx_margin_used(const qt_ctx *cx) {
  double g = qt_ctx_gross_notional(cx);
  return cx->o.leverage_cap > 0 ? g / cx->o.leverage_cap : g;
}
double qt_ctx_equity(const qt_ctx *cx) { return equity_now(cx); }
int64_t qt_ctx_now(const qt_ctx *cx) { return cx->now; }
int qt_ctx_n_instruments(const qt_ctx *cx) { return cx->n_feeds; }

double qt_ctx_qty_for_equity(const qt_ctx *cx, int inst, double fraction, double price) {
  if (inst < 0 || inst >= cx->n_feeds || !(price > 0) || !(fraction > 0)) return 0;
  const qt__feed *fd = &cx->fd[inst];
  double e = equity_now(cx);
  if (!(e > 0)) return 0;
  /* q*p*m*(1 + taker) <= fraction*E: all in, the entry fee included */
  double q = fraction * e / (price * fd->inst.multiplier * (1.0 + fd->inst.taker_bps * 1e-4));
  q = round_lot(q, fd->inst.lot_size);
  return q > 0 ? q : 0;
}

double qt_ctx_lot_size(const qt_ctx *cx, int inst) {
  return inst >= 0 && inst < cx->n_feeds ? cx->fd[inst].inst.lot_size : 0;
}
double qt_ctx_tick_size(const qt_ctx *cx, int inst) {
  return inst >= 0 && inst < cx->n_feeds ? cx->fd[inst].inst.tick_size : 0;
}
double qt_ctx_taker_bps(const qt_ctx *cx, int inst) {
  return inst >= 0 && inst < cx->n_feeds ? cx->fd[inst].inst.taker_bps : 0;
}
double qt_ctx_maker_bps(const qt_ctx *cx, int inst) {
  return inst >= 0 && inst < cx->n_feeds ? cx->fd[inst].inst.maker_bps : 0;
}

const qt_bars *qt_ctx_bars(const qt_ctx *cx, int inst, size_t *out_n) {
  if (inst < 0 || inst >= cx->n_feeds) {
    if (out_n) *out_n = 0;
    return NULL;
  }
  if (out_n) *out_n = cx->fd[inst].view.n;
  return &cx->fd[inst].view;
}

const qt_funding *qt_ctx_funding(const qt_ctx *cx, int inst, size_t *out_n) {
  if (out_n) *out_n = 0;
  if (inst < 0 || inst >= cx->n_feeds || !cx->fd[inst].f->funding) return NULL;
  qt_ctx *m = (qt_ctx *)cx; /* the view is a cache of the cursor */
  m->fd[inst].fund_view.n = cx->fd[inst].fund_i;
  if (out_n) *out_n = cx->fd[inst].fund_i;
  return &cx->fd[inst].fund_view;
}

const qt_quotes *qt_ctx_quotes(const qt_ctx *cx, int inst, size_t *out_n) {
  if (out_n) *out_n = 0;
  if (inst < 0 || inst >= cx->n_feeds || !cx->fd[inst].f->quotes) return NULL;
  const qt_quotes *q = cx->fd[inst].f->quotes;
  /* rows with ts <= now: time only moves forward in a run, so gallop from
   * the last answer (amortized O(1) per bar), then bisect the last step */
  size_t lo = cx->fd[inst].quote_view.n, hi, step = 1;
  if (lo > q->n || (lo > 0 && q->ts_ms[lo - 1] > cx->now)) lo = 0;
  hi = lo;
  while (hi < q->n && q->ts_ms[hi] <= cx->now) {
    lo = hi + 1;
    hi = lo + step;
    step *= 2;
  }
  if (hi > q->n) hi = q->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (q->ts_ms[mid] <= cx->now) lo = mid + 1; else hi = mid;
  }
  qt_ctx *m = (qt_ctx *)cx;
  m->fd[inst].quote_view.n = lo;
  if (out_n) *out_n = lo;
  return &cx->fd[inst].quote_view;
}

int64_t qt_ctx_signal(qt_ctx *cx, int inst, int leg, int dir, int64_t expire_ms) {
  cx->n_signals++;
  if (expire_ms > 0 && inst >= 0 && inst < cx->n_feeds) {
    int l = 0;
    if (cx->o.hedge_mode) {
      l = leg == QT_LEG_LONG || leg == QT_LEG_SHORT ? leg : (dir >= 0 ? QT_LEG_LONG : QT_LEG_SHORT);
    }
    qt__leg *L = &cx->fd[inst].leg[l];
    if (L->sig_expire_ms == 0) cx->n_armed++;
    L->sig_expire_ms = expire_ms;
  }
  return (int64_t)cx->n_signals;
}

/* --------------------------------------------------------- indicator cache */

const double *qt_ctx_indicator(qt_ctx *cx, int inst, int kind, int n1, int n2, int n3, int out,
                               qt_err *err) {
  if (!cx->in_init) {
    qt_err_set(err, QT_ESTATE, "qt_ctx_indicator: call it from the strategy's init() only");
    return NULL;
  }
  if (inst < 0 || inst >= cx->n_feeds) {
    qt_err_set(err, QT_EINVAL, "qt_ctx_indicator: instrument %d out of range (0..%d)", inst,
               cx->n_feeds - 1);
    return NULL;
  }
  int nout = qt_ind_n_outputs(kind);
  if (nout <= 0 || nout > QT__MAX_IND_OUT) {
    qt_err_set(err, QT_EINVAL, "qt_ctx_indicator: unknown indicator kind %d", kind);
    return NULL;
  }
  if (out < 0 || out >= nout) {
    qt_err_set(err, QT_EINVAL, "qt_ctx_indicator: kind %d has outputs 0..%d, not %d", kind,
               nout - 1, out);
    return NULL;
  }
  const qt_bars *b = cx->fd[inst].f->bars;
  for (size_t j = 0; j < cx->n_ind; j++) {
    qt__ind *e = &cx->ind[j];
    if (e->key_close == b->close && e->key_ts == b->ts_ms && e->n == b->n && e->kind == kind &&
        e->n1 == n1 && e->n2 == n2 && e->n3 == n3) {
      e->run = cx->run_id;
      return e->block + (size_t)out * b->n;
    }
  }
  size_t need = (size_t)nout * b->n * sizeof(double);
  if (cx->ind_bytes + need > QT__IND_BUDGET) { /* evict what this run does not use */
    size_t w = 0;
    for (size_t j = 0; j < cx->n_ind; j++) {
      qt__ind *e = &cx->ind[j];
      if (e->run == cx->run_id) {
        cx->ind[w++] = *e;
        continue;
      }
      cx->ind_bytes -= (size_t)e->nout * e->n * sizeof(double);
      qt_free(e->block);
    }
    cx->n_ind = w;
  }
  if (cx->n_ind == cx->cap_ind) {
    size_t nc = cx->cap_ind ? cx->cap_ind * 2 : 16;
    qt__ind *ni = qt_realloc(cx->ind, nc * sizeof *ni);
    if (!ni) {
      qt_err_set(err, QT_ENOMEM, "qt_ctx_indicator: out of memory for the cache index");
      return NULL;
    }
    cx->ind = ni;
    cx->cap_ind = nc;
  }
  double *block = qt_malloc(need ? need : sizeof(double));
  if (!block) {
    qt_err_set(err, QT_ENOMEM, "qt_ctx_indicator: out of memory for %zu bars x %d columns", b->n,
               nout);
    return NULL;
  }
  double *cols[QT__MAX_IND_OUT];
  for (int k = 0; k < nout; k++) cols[k] = block + (size_t)k * b->n;
  int rc = qt_ind_compute(b, kind, n1, n2, n3, cols, err);
  if (rc != QT_OK) {
    qt_free(block);
    return NULL;
  }
  qt__ind *e = &cx->ind[cx->n_ind++];
  e->key_close = b->close;
  e->key_ts = b->ts_ms;
  e->n = b->n;
  e->kind = kind;
  e->n1 = n1;
  e->n2 = n2;
  e->n3 = n3;
  e->nout = nout;
  e->block = block;
  e->run = cx->run_id;
  cx->ind_bytes += need;
  return block + (size_t)out * b->n;
}

/* ------------------------------------------------------------------ engine */

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
  for (size_t j = 0; j < cx->n_ind; j++) qt_free(cx->ind[j].block);
  qt_free(cx->ind);
  qt_free(e);
}

void qt_engine_set_opts(qt_engine *e, const qt_engine_opts *opts) {
  if (e && opts) e->cx.o = *opts;
}

static int check_feeds(const qt_feed *feeds, int n_feeds, const qt_engine_opts *o, qt_err *err) {
  if (!feeds || n_feeds < 1 || n_feeds > QT__MAX_FEEDS)
    return qt_err_set(err, QT_EINVAL, "qt_engine_run: %d feeds (1..%d allowed)", n_feeds,
                      QT__MAX_FEEDS);
  for (int k = 0; k < n_feeds; k++) {
    const qt_feed *f = &feeds[k];
    const qt_bars *b = f->bars;
    if (!b || b->n == 0 || !b->ts_ms || !b->open || !b->high || !b->low || !b->close)
      return qt_err_set(err, QT_EINVAL, "qt_engine_run: feed %d (%s): no bars", k, f->inst.symbol);
    const qt_instrument *in = &f->inst;
    if (!(in->maker_bps >= 0) || !(in->taker_bps >= 0))
      return qt_err_set(err, QT_EINVAL,
                        "qt_engine_run: feed %d (%s): fees must be >= 0 bps (maker %g, taker %g)",
                        k, in->symbol, in->maker_bps, in->taker_bps);
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
  return QT_OK;
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

static void process_funding(qt_ctx *cx, int k) {
  qt__feed *fd = &cx->fd[k];
  const qt_funding *fu = fd->f->funding;
  int64_t bar_ts = fd->f->bars->ts_ms[fd->ci];
  double mark = fd->f->bars->open[fd->ci];
  while (fd->fund_i < fu->n && fu->ts_ms[fd->fund_i] <= bar_ts) {
    double rate = fu->rate[fd->fund_i];
    int64_t sts = fu->ts_ms[fd->fund_i];
    fd->fund_i++;
    double pay = 0;
    for (int l = 0; l < 3; l++) {
      qt__leg *L = &fd->leg[l];
      if (L->qty == 0) continue;
      double p = -L->qty * fd->inst.multiplier * mark * rate;
      L->funding += p;
      pay += p;
    }
    cx->cash += pay;
    cx->funding_paid -= pay;
    if (cx->s->on_funding && !cx->stopped) {
      qt_funding_event ev;
      ev.inst = k;
      ev.ts_ms = sts;
      ev.rate = rate;
      ev.mark = mark;
      ev.payment = pay;
      cx->s->on_funding(cx->st, &ev, cx);
    }
  }
}

/* Cancels expired orders.  next_expire_ms is a lower bound kept on submit,
 * so most bars skip the scan; the scan recomputes it exactly. */
static void expire_orders(qt_ctx *cx) {
  if (cx->now < cx->next_expire_ms) return;
  size_t w = 0;
  int64_t next = INT64_MAX;
  for (size_t j = 0; j < cx->n_ord; j++) {
    int64_t x = cx->ord[j].expire_ms;
    if (x > 0 && cx->now >= x) {
      cx->n_cancelled++;
      continue;
    }
    if (x > 0 && x < next) next = x;
    if (w != j) cx->ord[w] = cx->ord[j];
    w++;
  }
  cx->n_ord = w;
  cx->next_expire_ms = next;
  cx->book_dirty = 1;
}

/* Signal expiry: open legs past their signal's expiry close at this bar's
 * open (a market order at `now`). */
static void expire_signals(qt_ctx *cx) {
  for (int k = 0; k < cx->n_feeds; k++) {
    qt__feed *fd = &cx->fd[k];
    if (!fd->fresh) continue;
    for (int l = 0; l < 3; l++) {
      qt__leg *L = &fd->leg[l];
      if (L->sig_expire_ms == 0 || cx->now < L->sig_expire_ms) continue;
      L->sig_expire_ms = 0;
      cx->n_armed--;
      if (L->qty == 0) continue;
      cx->n_expired++;
      int side = L->qty > 0 ? QT_SELL : QT_BUY;
      double px = slip(cx, side, fd->f->bars->open[fd->ci]);
      close_leg_now(cx, k, l, px, QT_EXIT_EXPIRY, fd->f->bars->ts_ms[fd->ci]);
    }
  }
}

/* The liquidation check over the bar's range, for several feeds or fills
 * from trades (one feed on bars follows the path: path_liq).  Per feed, equity minus
 * maintenance margin is linear in the price, with slope (net qty - gross qty
 * x maint_margin) x multiplier, so its minimum over the bar is at the low or
 * the high (a feed without a new bar stays at its close).  Positions are
 * those after this bar's fills.  Returns 1 when that minimum is negative,
 * with the price each feed is liquidated at in lpx: for one feed with a
 * position, the price where equity meets the maintenance margin (or the open
 * when it gapped through); with several, their worst extremes. */
static int liq_check(const qt_ctx *cx, double *lpx) {
  double slack = cx->cash, slope1 = 0, off1 = 0;
  int with_pos = 0, k1 = -1;
  for (int k = 0; k < cx->n_feeds; k++) {
    const qt__feed *fd = &cx->fd[k];
    double slope, off;
    lpx[k] = fd->px;
    if (!leg_line(cx, fd, &slope, &off)) continue;
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
    const qt__feed *fd = &cx->fd[k1];
    double p = (off1 - cx->cash) / slope1; /* cash + slope p - off = 0 */
    double open = fd->fresh && fd->ci >= 0 ? fd->f->bars->open[fd->ci] : fd->px;
    if (slope1 > 0) lpx[k1] = open <= p ? open : (p > lpx[k1] ? p : lpx[k1]);
    else lpx[k1] = open >= p ? open : (p < lpx[k1] ? p : lpx[k1]);
  }
  return 1;
}

static void close_everything(qt_ctx *cx, int reason) {
  for (int k = 0; k < cx->n_feeds; k++) {
    qt__feed *fd = &cx->fd[k];
    if (fd->ci < 0) continue;
    for (int l = 0; l < 3; l++)
      if (fd->leg[l].qty != 0) close_leg_now(cx, k, l, fd->px, reason, cx->now);
  }
  cx->n_cancelled += cx->n_ord;
  cx->n_ord = 0;
  cx->book_dirty = 1;
}

static void trade_on_close_fills(qt_ctx *cx) {
  for (size_t j = 0; j < cx->n_ord && !cx->stopped;) {
    qt__order *od = &cx->ord[j];
    qt__feed *fd = &cx->fd[od->inst];
    if (od->type != QT_ORDER_MARKET || od->submit_i != cx->i || fd->ci < 0) {
      j++;
      continue;
    }
    exec_order(cx, j, slip(cx, od->side, fd->px), 0, cx->now);
    j = 0; /* the book changed; already-filled orders are gone */
  }
}

static void reset_run(qt_ctx *cx, const qt_feed *feeds, int n_feeds) {
  cx->n_feeds = n_feeds;
  for (int k = 0; k < n_feeds; k++) {
    qt__feed *fd = &cx->fd[k];
    memset(fd, 0, sizeof *fd);
    fd->f = &feeds[k];
    fd->inst = feeds[k].inst;
    fd->perp = fd->inst.kind == QT_INST_PERP;
    fd->view = *feeds[k].bars;
    memset(&fd->view.mem, 0, sizeof fd->view.mem); /* a view never owns */
    fd->ci = -1;
    fd->view.n = 0;
    if (feeds[k].funding) {
      fd->fund_view = *feeds[k].funding;
      memset(&fd->fund_view.mem, 0, sizeof fd->fund_view.mem);
      fd->fund_view.n = 0;
    }
    if (feeds[k].quotes) {
      fd->quote_view = *feeds[k].quotes;
      memset(&fd->quote_view.mem, 0, sizeof fd->quote_view.mem);
      fd->quote_view.n = 0;
    }
  }
  cx->n_ord = 0;
  cx->book_dirty = 1;
  cx->next_id = 1;
  cx->next_expire_ms = INT64_MAX;
  cx->cash = cx->o.cash;
  cx->fees_paid = cx->funding_paid = 0;
  cx->n_trades = 0;
  cx->n_olog = 0;
  cx->n_signals = cx->n_expired = cx->n_fills = cx->n_orders = cx->n_rejected = cx->n_cancelled = 0;
  cx->npos = cx->n_armed = 0;
  cx->liquidated = cx->stopped = cx->in_init = cx->oom = 0;
  cx->run_id++;
}

/* Positions the other feeds and the funding/trade cursors just before the
 * first simulated bar, so earlier history is visible but not traded. */
static void position_cursors(qt_ctx *cx) {
  int64_t t0 = cx->fd[0].f->bars->ts_ms[cx->from];
  int64_t before = cx->from > 0 ? cx->fd[0].f->bars->ts_ms[cx->from - 1] : INT64_MIN;
  for (int k = 0; k < cx->n_feeds; k++) {
    qt__feed *fd = &cx->fd[k];
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

int qt_engine_run(qt_engine *e, const qt_feed *feeds, int n_feeds, const qt_strategy_vtbl *s,
                  const double *p, qt_result *out, qt_err *err) {
  int rc = QT_OK;
  if (out) memset(out, 0, sizeof *out);
  if (!e || !s || !out || (!p && s->n_params > 0))
    return qt_err_set(err, QT_EINVAL, "qt_engine_run: NULL argument");
  qt_ctx *cx = &e->cx;
  if (s->abi != QT_STRATEGY_ABI || !s->on_bar || !s->init)
    return qt_err_set(err, QT_EINVAL, "qt_engine_run: strategy '%s': bad vtable (abi %d, want %d)",
                      s->name ? s->name : "?", s->abi, QT_STRATEGY_ABI);
  rc = check_feeds(feeds, n_feeds, &cx->o, err);
  if (rc) return rc;
  if (s->n_instruments > n_feeds)
    return qt_err_set(err, QT_EINVAL, "qt_engine_run: strategy '%s' trades %d instruments, %d given",
                      s->name, s->n_instruments, n_feeds);
  rc = qt_strategy_check_params(s, p, err);
  if (rc) return rc;
  const qt_bars *b0 = feeds[0].bars;
  size_t from = cx->o.from, to = cx->o.to ? cx->o.to : b0->n;
  if (from >= to || to > b0->n)
    return qt_err_set(err, QT_EINVAL, "qt_engine_run: bar range [%zu, %zu) outside 0..%zu", from,
                      to, b0->n);
  size_t nb = to - from;
  size_t cap_e = cx->cap_bars, cap_x = cx->cap_bars;
  if (grow((void **)&cx->equity, &cap_e, nb, sizeof(double)) ||
      grow((void **)&cx->exposure, &cap_x, nb, sizeof(double)))
    return qt_err_set(err, QT_ENOMEM, "qt_engine_run: out of memory for %zu bars", nb);
  cx->cap_bars = nb > cx->cap_bars ? nb : cx->cap_bars;
  size_t cap_t = cx->cap_ord;
  if (grow((void **)&cx->touch, &cap_t, cx->o.max_orders, sizeof(qt__touch)) ||
      grow((void **)&cx->ord, &cx->cap_ord, cx->o.max_orders, sizeof(qt__order)))
    return qt_err_set(err, QT_ENOMEM, "qt_engine_run: out of memory for %zu orders",
                      cx->o.max_orders);
  cx->cap_ord = cx->o.max_orders; /* the capacity of this run, not of the buffer */
  if (cx->cap_trades < cx->o.max_trades &&
      grow((void **)&cx->trades, &cx->cap_trades, cx->o.max_trades, sizeof(qt_trade_rec)))
    return qt_err_set(err, QT_ENOMEM, "qt_engine_run: out of memory for the trade list");
  if (s->state_size > cx->st_cap) {
    void *ns = qt_realloc(cx->st, s->state_size);
    if (!ns) return qt_err_set(err, QT_ENOMEM, "qt_engine_run: out of memory for strategy state");
    cx->st = ns;
    cx->st_cap = s->state_size;
  }
  if (cx->st_cap) memset(cx->st, 0, cx->st_cap);
  cx->s = s;
  cx->from = from;
  cx->to = to;
  reset_run(cx, feeds, n_feeds);
  cx->i = (int64_t)from - 1;
  position_cursors(cx);
  cx->now = from > 0 ? b0->ts_ms[from - 1] : b0->ts_ms[0];
  cx->in_init = 1;
  qt_err ie;
  qt_err_clear(&ie);
  rc = s->init(cx->st, p, cx, &ie);
  cx->in_init = 0;
  if (rc != QT_OK) {
    if (err) {
      *err = ie;
      if (!err->msg[0]) qt_err_set(err, rc, "strategy '%s': init failed", s->name);
      err->code = rc;
    }
    return rc;
  }

  const int multi = n_feeds > 1;
  const int on_trades = cx->o.fill_on_trades;
  const int toc = cx->o.trade_on_close;
  const int extra = b0->volume && b0->quote_volume && b0->trade_count && b0->taker_buy_base &&
                    b0->taker_buy_quote;
  int any_funding = 0;
  for (int k = 0; k < n_feeds; k++) any_funding |= feeds[k].funding != NULL && cx->fd[k].perp;
  qt__feed *f0 = &cx->fd[0];
  qt_bar bar;
  memset(&bar, 0, sizeof bar);
  for (size_t i = from; i < to; i++) {
    cx->i = (int64_t)i;
    int64_t now = b0->ts_ms[i];
    cx->now = now;
    /* feed 0 advances by exactly one bar; the others catch up to now */
    f0->ci = (int64_t)i;
    f0->fresh = 1;
    f0->view.n = i + 1;
    f0->px = b0->open[i];
    f0->t_held = 0;
    cx->liq_now = 0;
    if (multi)
      for (int k = 1; k < n_feeds; k++) {
        advance_feed(&cx->fd[k], now);
        if (cx->fd[k].fresh) cx->fd[k].px = cx->fd[k].f->bars->open[cx->fd[k].ci];
      }
    if (any_funding)
      for (int k = 0; k < n_feeds; k++)
        if (cx->fd[k].perp && cx->fd[k].f->funding && cx->fd[k].fresh) process_funding(cx, k);
    if (cx->n_ord) expire_orders(cx);
    if (cx->n_armed) expire_signals(cx);
    if (cx->n_ord) {
      for (int k = 0; k < n_feeds && cx->n_ord; k++) {
        if (on_trades && feeds[k].trades)
          fill_on_trades(cx, k, i + 1 < b0->n ? b0->ts_ms[i + 1] : INT64_MAX);
        else if (cx->fd[k].fresh)
          fill_on_bar(cx, k);
      }
    } else if (on_trades) {
      for (int k = 0; k < n_feeds; k++) /* keep the trade cursors in step */
        if (feeds[k].trades) {
          int64_t end = i + 1 < b0->n ? b0->ts_ms[i + 1] : INT64_MAX;
          while (cx->fd[k].trade_i < feeds[k].trades->n &&
                 feeds[k].trades->ts_ms[cx->fd[k].trade_i] < end)
            cx->fd[k].trade_i++;
        }
    }
    f0->px = b0->close[i];
    if (multi)
      for (int k = 1; k < n_feeds; k++)
        if (cx->fd[k].ci >= 0) cx->fd[k].px = cx->fd[k].f->bars->close[cx->fd[k].ci];
    /* mark at the close: the liquidation check, and the equity point unless
     * something fills after it (on_bar with trade_on_close, end of data) */
    double eq = cx->cash, gross = 0, lpx[QT__MAX_FEEDS];
    if (cx->npos) {
      double u, m;
      mark_all(cx, &u, &gross, &m);
      eq = cx->cash + u;
      /* one feed: the bar's range can cost at most gross x (1 + maint) x
       * range / close of the slack at the close, so most bars skip the check */
      int maybe = 1;
      if (!multi && b0->close[i] > 0)
        maybe = !(eq - m > gross * (1 + f0->inst.maint_margin) * (b0->high[i] - b0->low[i]) /
                                b0->close[i]);
      /* one feed on bars: the path after the last fill with the legs as they
       * are (or a liquidation the fill pass already met); else the range */
      int liq = cx->liq_now;
      if (liq) lpx[0] = cx->liq_px;
      else if (maybe && !multi && !on_trades) {
        double pt[4];
        bar_path(b0, i, pt);
        liq = path_liq(cx, f0, pt, f0->t_held, 3, &lpx[0]);
      } else if (maybe) {
        liq = liq_check(cx, lpx);
      }
      if (liq) { /* equity met the maintenance margin inside the bar */
        cx->liquidated = 1;
        cx->stopped = 1; /* first: a liquidated strategy hears nothing more */
        double close_px[QT__MAX_FEEDS];
        for (int k = 0; k < n_feeds; k++) close_px[k] = cx->fd[k].px, cx->fd[k].px = lpx[k];
        close_everything(cx, QT_EXIT_LIQUIDATION);
        for (int k = 0; k < n_feeds; k++) cx->fd[k].px = close_px[k];
        eq = cx->cash;
        gross = 0;
      }
    }
    size_t fills0 = cx->n_fills;
    if (!cx->stopped) {
      bar.ts_ms = now;
      bar.open = b0->open[i];
      bar.high = b0->high[i];
      bar.low = b0->low[i];
      bar.close = b0->close[i];
      if (extra) {
        bar.volume = b0->volume[i];
        bar.quote_volume = b0->quote_volume[i];
        bar.trade_count = b0->trade_count[i];
        bar.taker_buy_base = b0->taker_buy_base[i];
        bar.taker_buy_quote = b0->taker_buy_quote[i];
      } else if (b0->volume) {
        bar.volume = b0->volume[i];
      }
      bar.i = i;
      s->on_bar(cx->st, &bar, cx);
      if (toc && cx->n_ord) trade_on_close_fills(cx);
      if (i + 1 == to && cx->o.close_at_end) close_everything(cx, QT_EXIT_END_OF_DATA);
    }
    if (cx->n_fills != fills0) {
      eq = cx->cash;
      gross = 0;
      if (cx->npos) {
        double u;
        mark_all(cx, &u, &gross, NULL);
        eq += u;
      }
    }
    size_t r = i - from;
    cx->equity[r] = eq;
    cx->exposure[r] = eq > 0 ? gross / eq : 0;
    if (cx->oom) break;
  }
  if (s->fini) s->fini(cx->st);
  if (cx->oom) return qt_err_set(err, QT_ENOMEM, "qt_engine_run: out of memory for the trade list or order log");
  out->n_bars = nb;
  out->ts_ms = b0->ts_ms + from;
  out->equity = cx->equity;
  out->exposure = cx->exposure;
  out->trades = cx->trades;
  out->n_trades = cx->n_trades;
  out->n_signals = cx->n_signals;
  out->n_expired = cx->n_expired;
  out->n_fills = cx->n_fills;
  out->n_orders = cx->n_orders;
  out->n_rejected = cx->n_rejected;
  out->n_cancelled = cx->n_cancelled;
  out->order_log = cx->olog;
  out->n_order_log = cx->n_olog;
  out->fees_paid = cx->fees_paid;
  out->funding_paid = cx->funding_paid;
  out->start_cash = cx->o.cash;
  out->final_equity = cx->equity[nb - 1];
  out->liquidated = cx->liquidated;
  out->interval_ms = b0->interval_ms ? b0->interval_ms
                                     : (b0->n > 1 ? b0->ts_ms[1] - b0->ts_ms[0] : 0);
  return QT_OK;
}
