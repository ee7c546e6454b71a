/* Matching and fills: which eligible orders a bar's intrabar path (or a
 * step's trades) touches and in what order, the execution of one order
 * against the legs, and the engine-made closes (signal expiry, end of data,
 * liquidation).  Conventions: docs/engine.md, "Fills on bars", "Fills on
 * trades", "Signals and expiry". */
#include "engine/engine_int.h"

/* Executes order j (already known to trade at px) and removes it from the
 * book.  Reduce-only and the leverage cap may shrink it; nothing left means
 * it is dropped as rejected.  Calls on_fill. */
void qt__fill_exec(qt_ctx *cx, size_t j, double px, int maker, int64_t ts) {
  /* the fields used, not a copy of the order: removal may move the book */
  const qt__order *op = &cx->ord[j];
  const int64_t id = op->id, lot_of = op->lot_of;
  const int inst = op->inst, side = op->side, leg = op->leg, reason = op->reason, tag = op->tag;
  const unsigned flags = op->flags;
  const double oqty = op->qty;
  qt__book_remove(cx, j);
  qt__feed *fd = &cx->r.fd[inst];
  /* Which legs the fill reduces and which it grows. */
  int red_l = -1, inc_l = -1;
  if (!cx->o.hedge_mode) {
    red_l = 0;
    inc_l = 0;
  } else if (leg == QT_LEG_LONG) {
    if (side == QT_BUY) inc_l = 1; else red_l = 1;
  } else if (leg == QT_LEG_SHORT) {
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
  double qty = oqty;
  if (flags & QT__ORDER_CLOSE_ALL) qty = reducible;
  else if (flags & QT__ORDER_EQUITY) qty = qt__account_fraction_qty(cx, fd, oqty, px, maker);
  double red = qty < reducible ? qty : reducible;
  double inc = qty - red;
  if (flags & (QT_ORDER_REDUCE_ONLY | QT__ORDER_CLOSE_ALL)) inc = 0;
  if (inc_l < 0) inc = 0;
  if (inc > 0 && cx->o.leverage_cap > 0) inc = qt__account_cap_qty(cx, fd, red, inc, px, maker);
  double q_total = red + inc;
  if (!(q_total > 0)) {
    cx->r.n_rejected++;
    return;
  }
  double fee = qt__fee_of(fd, q_total, px, maker);
  double fee_red = red > 0 ? fee * (red / q_total) : 0;
  double fee_inc = fee - fee_red;
  cx->r.cash -= fee;
  cx->r.fees_paid += fee;
  cx->r.n_fills++;
  if (red > 0) qt__account_reduce(cx, fd, inst, red_l, red, px, fee_red, reason, ts, lot_of);
  if (inc > 0) qt__account_increase(cx, fd, inc_l, side, inc, px, fee_inc, ts, id);
  if (cx->r.s->on_fill && !cx->r.stopped) {
    qt_fill fl;
    fl.order_id = id;
    fl.inst = inst;
    fl.side = side;
    fl.leg = leg;
    fl.tag = tag;
    fl.reason = reason;
    fl.maker = maker;
    fl.qty = q_total;
    fl.price = px;
    fl.fee = fee;
    fl.ts_ms = ts;
    cx->r.s->on_fill(cx->st, &fl, cx);
  }
}

/* A direct taker fill at px of a whole leg, outside the order book (signal
 * expiry, liquidation, end of data). */
void qt__fill_close_leg(qt_ctx *cx, int k, int l, double px, int reason, int64_t ts) {
  qt__feed *fd = &cx->r.fd[k];
  double q = fd->leg[l].qty;
  if (q == 0) return;
  double fee = qt__fee_of(fd, fabs(q), px, 0);
  cx->r.cash -= fee;
  cx->r.fees_paid += fee;
  cx->r.n_fills++;
  qt__account_reduce(cx, fd, k, l, fabs(q), px, fee, reason, ts, 0);
  if (cx->r.s->on_fill && !cx->r.stopped) { /* order_id 0: an engine-made close */
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
    cx->r.s->on_fill(cx->st, &fl, cx);
  }
}

/* Closes every leg at its feed's current price and cancels the book (end of
 * data; liquidation, with the prices set to where it happened). */
void qt__fill_close_all(qt_ctx *cx, int reason) {
  for (int k = 0; k < cx->r.n_feeds; k++) {
    qt__feed *fd = &cx->r.fd[k];
    if (fd->ci < 0) continue;
    for (int l = 0; l < 3; l++)
      if (fd->leg[l].qty != 0) qt__fill_close_leg(cx, k, l, fd->px, reason, cx->r.now);
  }
  cx->r.n_cancelled += cx->r.n_ord;
  cx->r.n_ord = 0;
  cx->r.book_dirty = 1;
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

/* By path time, then feed, then book order. */
static int touch_after(const qt__touch *a, const qt__touch *b) {
  if (a->t != b->t) return a->t > b->t;
  if (a->k != b->k) return a->k > b->k;
  return a->seq > b->seq;
}

static void sort_touches(qt__touch *t, size_t n) {
  for (size_t a = 1; a < n; a++) {
    /* in order already moves nothing; compared in place, since a copy read
     * back right after collect_touches wrote its fields one by one stalls */
    if (!touch_after(&t[a - 1], &t[a])) continue;
    qt__touch x = t[a];
    size_t b = a;
    while (b > 0 && touch_after(&t[b - 1], &x)) {
      t[b] = t[b - 1];
      b--;
    }
    t[b] = x;
  }
}

/* Collects the eligible orders of feed k that the path pt touches into
 * cx->touch from index nt on, in book order; returns the new count. */
static size_t collect_touches(qt_ctx *cx, int k, const double pt[4], double l, double h,
                              size_t nt) {
  for (size_t j = 0; j < cx->r.n_ord; j++) {
    const qt__order *od = &cx->ord[j];
    if (od->inst != k || od->submit_i >= cx->r.i) continue;
    if (od->type != QT_ORDER_MARKET) { /* out of the bar's range: touch_time would say -1 */
      int down = (od->type == QT_ORDER_LIMIT) == (od->side == QT_BUY);
      if (down ? od->price < l : od->price > h) continue;
    }
    double t = -1, px = 0;
    int maker = 0;
    if (od->type == QT_ORDER_MARKET) {
      t = 0;
      px = qt__slip(cx, od->side, pt[0]);
    } else if (od->type == QT_ORDER_LIMIT) {
      t = touch_time(pt, od->side == QT_BUY ? -1 : 1, od->price);
      px = t == 0 ? pt[0] : od->price;
      maker = 1;
    } else {
      t = touch_time(pt, od->side == QT_BUY ? 1 : -1, od->price);
      px = qt__slip(cx, od->side, t == 0 ? pt[0] : od->price);
    }
    if (t < 0) continue;
    qt__touch *tt = &cx->touch[nt++];
    tt->id = od->id;
    tt->gen = od->gen;
    tt->t = t;
    tt->px = px;
    tt->maker = maker;
    tt->k = k;
    tt->seq = j;
  }
  return nt;
}

/* One bar's fills for feed k: every eligible order touched on the bar's
 * path, executed in path order.  The loop calls it only when the feed's
 * band says the bar can touch something. */
void qt__fill_bar(qt_ctx *cx, int k) {
  qt__feed *fd = &cx->r.fd[k];
  const qt_bars *b = fd->f->bars;
  size_t bi = (size_t)fd->ci;
  int64_t ts = b->ts_ms[bi];
  double pt[4];
  qt__bar_path(b, bi, pt);
  int one = cx->r.n_feeds == 1;
  if (one && (size_t)fd->n_mkt == cx->r.n_ord && !cx->r.s->on_fill) {
    /* market orders only and no on_fill to change the book meanwhile: the
     * touches would be the eligible orders at the open in book order, so
     * they fill straight from the book (each fill removes its order) */
    for (size_t j = 0; j < cx->r.n_ord && !cx->r.stopped;) {
      const qt__order *od = &cx->ord[j];
      if (od->submit_i >= cx->r.i) {
        j++;
        continue;
      }
      if (qt__liq_path(cx, fd, pt, fd->t_held, 0, &cx->r.liq_px)) {
        cx->r.liq_now = 1;
        return;
      }
      qt__fill_exec(cx, j, qt__slip(cx, od->side, pt[0]), 0, ts);
      fd->t_held = 0;
    }
    return;
  }
  size_t nt = collect_touches(cx, k, pt, b->low[bi], b->high[bi], 0);
  if (nt == 0) return;
  sort_touches(cx->touch, nt);
  /* one feed: the legs held between fills meet the path before the next
   * fill, so a liquidation on the way stops the fills after it */
  for (size_t a = 0; a < nt && !cx->r.stopped; a++) {
    ptrdiff_t j = qt__book_find(cx, cx->touch[a].id);
    if (j < 0 || cx->ord[j].gen != cx->touch[a].gen) continue;
    if (one && qt__liq_path(cx, fd, pt, fd->t_held, cx->touch[a].t, &cx->r.liq_px)) {
      cx->r.liq_now = 1;
      return;
    }
    qt__fill_exec(cx, (size_t)j, cx->touch[a].px, cx->touch[a].maker, ts);
    fd->t_held = cx->touch[a].t;
  }
}

/* Several feeds on bars: the touches of every fresh feed whose band the bar
 * can reach, executed in path time across the feeds (the bars' paths run in
 * step: ties by feed, then book order), with the liquidation check along
 * the paths between fills (qt__liq_path_multi) as for one feed. */
void qt__fill_bars_multi(qt_ctx *cx) {
  size_t nt = 0;
  for (int k = 0; k < cx->r.n_feeds; k++) {
    qt__feed *fd = &cx->r.fd[k];
    if (!fd->fresh) continue;
    const qt_bars *b = fd->f->bars;
    size_t bi = (size_t)fd->ci;
    if (!fd->n_mkt && fd->dn_max < b->low[bi] && fd->up_min > b->high[bi]) continue;
    double pt[4];
    qt__bar_path(b, bi, pt);
    nt = collect_touches(cx, k, pt, b->low[bi], b->high[bi], nt);
  }
  if (nt == 0) return;
  sort_touches(cx->touch, nt);
  qt__feed *f0 = &cx->r.fd[0];
  for (size_t a = 0; a < nt && !cx->r.stopped; a++) {
    ptrdiff_t j = qt__book_find(cx, cx->touch[a].id);
    if (j < 0 || cx->ord[j].gen != cx->touch[a].gen) continue;
    if (qt__liq_range(cx, cx->r.liq_pxs) &&
        qt__liq_path_multi(cx, f0->t_held, cx->touch[a].t, cx->r.liq_pxs)) {
      cx->r.liq_now = 1;
      return;
    }
    const qt__feed *fd = &cx->r.fd[cx->touch[a].k];
    qt__fill_exec(cx, (size_t)j, cx->touch[a].px, cx->touch[a].maker,
                  fd->f->bars->ts_ms[fd->ci]);
    f0->t_held = cx->touch[a].t; /* several feeds: one path time for all */
  }
}

/* fill_on_trades: the trades of this clock step, [now, end_ms), in order. */
void qt__fill_trades(qt_ctx *cx, int k, int64_t end_ms) {
  qt__feed *fd = &cx->r.fd[k];
  const qt_trades *tr = fd->f->trades;
  while (fd->trade_i < tr->n && tr->ts_ms[fd->trade_i] < end_ms) {
    size_t ti = fd->trade_i++;
    if (tr->ts_ms[ti] < cx->r.now) continue;
    double p = tr->price[ti];
    int64_t ts = tr->ts_ms[ti];
    for (size_t j = 0; j < cx->r.n_ord && !cx->r.stopped;) {
      qt__order *od = &cx->ord[j];
      if (od->inst != k || od->submit_i >= cx->r.i) {
        j++;
        continue;
      }
      if (od->expire_ms > 0 && ts >= od->expire_ms) {
        qt__book_remove(cx, j);
        cx->r.n_cancelled++;
        continue;
      }
      int hit = 0, maker = 0;
      double px = p;
      if (od->type == QT_ORDER_MARKET) {
        hit = 1;
        px = qt__slip(cx, od->side, p);
      } else if (od->type == QT_ORDER_LIMIT) {
        hit = od->side == QT_BUY ? p < od->price : p > od->price;
        px = od->price;
        maker = 1;
      } else {
        hit = od->side == QT_BUY ? p >= od->price : p <= od->price;
        px = qt__slip(cx, od->side, p);
      }
      if (!hit) {
        j++;
        continue;
      }
      qt__fill_exec(cx, j, px, maker, ts);
      /* exec removed order j and on_fill may have changed the book: rescan;
       * orders submitted now are not eligible, filled ones are gone */
      j = 0;
    }
  }
}

/* With an empty book the trades of the step are not walked, only passed. */
void qt__fill_skip_trades(qt_ctx *cx, int k, int64_t end_ms) {
  qt__feed *fd = &cx->r.fd[k];
  const qt_trades *tr = fd->f->trades;
  while (fd->trade_i < tr->n && tr->ts_ms[fd->trade_i] < end_ms) fd->trade_i++;
}

/* trade_on_close: market orders submitted during this step fill at the close. */
void qt__fill_on_close(qt_ctx *cx) {
  for (size_t j = 0; j < cx->r.n_ord && !cx->r.stopped;) {
    qt__order *od = &cx->ord[j];
    qt__feed *fd = &cx->r.fd[od->inst];
    if (od->type != QT_ORDER_MARKET || od->submit_i != cx->r.i || fd->ci < 0) {
      j++;
      continue;
    }
    qt__fill_exec(cx, j, qt__slip(cx, od->side, fd->px), 0, cx->r.now);
    j = 0; /* the book changed; already-filled orders are gone */
  }
}

/* ------------------------------------------------------------- signals */

int64_t qt_ctx_signal(qt_ctx *cx, int inst, int leg, int dir, int64_t expire_ms) {
  cx->r.n_signals++;
  if (expire_ms > 0 && inst >= 0 && inst < cx->r.n_feeds) {
    int l = 0;
    if (cx->o.hedge_mode) {
      l = leg == QT_LEG_LONG || leg == QT_LEG_SHORT ? leg : (dir >= 0 ? QT_LEG_LONG : QT_LEG_SHORT);
    }
    qt__leg *L = &cx->r.fd[inst].leg[l];
    if (L->sig_expire_ms == 0) cx->r.n_armed++;
    L->sig_expire_ms = expire_ms;
  }
  return (int64_t)cx->r.n_signals;
}

/* Signal expiry: open legs past their signal's expiry close at this bar's
 * open (a market order at `now`). */
void qt__fill_expire_signals(qt_ctx *cx) {
  for (int k = 0; k < cx->r.n_feeds; k++) {
    qt__feed *fd = &cx->r.fd[k];
    if (!fd->fresh) continue;
    for (int l = 0; l < 3; l++) {
      qt__leg *L = &fd->leg[l];
      if (L->sig_expire_ms == 0 || cx->r.now < L->sig_expire_ms) continue;
      L->sig_expire_ms = 0;
      cx->r.n_armed--;
      if (L->qty == 0) continue;
      cx->r.n_expired++;
      int side = L->qty > 0 ? QT_SELL : QT_BUY;
      double px = qt__slip(cx, side, fd->f->bars->open[fd->ci]);
      qt__fill_close_leg(cx, k, l, px, QT_EXIT_EXPIRY, fd->f->bars->ts_ms[fd->ci]);
    }
  }
}
