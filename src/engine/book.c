/* Orders and the book: the strategy's order API (submit, market, limit,
 * stop, cancel, replace, close), the open-order book with its per-feed
 * bands, order expiry and the order log.  Fills are in fill.c.
 * Conventions: docs/engine.md, "Orders". */
#include "engine/engine_int.h"


const char *qt_order_action_name(int a) {
  return a == QT_OA_SUBMIT ? "submit" : a == QT_OA_REPLACE ? "replace"
                                      : a == QT_OA_CANCEL  ? "cancel" : "unknown";
}

/* Appends order action a on the open order o (opts.log_orders only). */
static void log_order(qt_ctx *cx, int a, const qt__order *o) {
  if (!cx->o.log_orders ||
      qt__room_for_one(cx, (void **)&cx->olog, cx->r.n_olog, &cx->cap_olog, sizeof *cx->olog))
    return;
  qt_order_event *ev = &cx->olog[cx->r.n_olog++];
  ev->ts_ms = cx->r.now;
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

/* Recomputes every feed's band: the highest price of its orders that fill
 * when the price comes down (buy limits, sell stops), the lowest of those
 * that fill when it goes up, and its market orders.  Most bars of a grid
 * touch none of its resting orders; the band lets them skip the scan. */
void qt__book_band(qt_ctx *cx) {
  for (int k = 0; k < cx->r.n_feeds; k++) {
    cx->r.fd[k].dn_max = -INFINITY;
    cx->r.fd[k].up_min = INFINITY;
    cx->r.fd[k].n_mkt = 0;
  }
  for (size_t j = 0; j < cx->r.n_ord; j++) {
    const qt__order *od = &cx->ord[j];
    qt__feed *fd = &cx->r.fd[od->inst];
    if (od->type == QT_ORDER_MARKET) fd->n_mkt++;
    else if ((od->type == QT_ORDER_LIMIT) == (od->side == QT_BUY)) {
      if (od->price > fd->dn_max) fd->dn_max = od->price;
    } else if (od->price < fd->up_min) fd->up_min = od->price;
  }
  cx->r.book_dirty = 0;
}

/* Cancels expired orders.  next_expire_ms is a lower bound kept on submit,
 * so most bars skip the scan (the loop checks it); the scan recomputes it
 * exactly. */
void qt__book_expire(qt_ctx *cx) {
  size_t w = 0;
  int64_t next = INT64_MAX;
  for (size_t j = 0; j < cx->r.n_ord; j++) {
    int64_t x = cx->ord[j].expire_ms;
    if (x > 0 && cx->r.now >= x) {
      cx->r.n_cancelled++;
      continue;
    }
    if (x > 0 && x < next) next = x;
    if (w != j) cx->ord[w] = cx->ord[j];
    w++;
  }
  cx->r.n_ord = w;
  cx->r.next_expire_ms = next;
  cx->r.book_dirty = 1;
}

/* ------------------------------------------------------------- order API */

/* qt_ctx_submit, inlined into the order API's helpers with the request by
 * value: it stays in registers then, not stored and read back (two int
 * fields copied as one 8-byte load stall on their two 4-byte stores); only
 * the order gate gets a copy in memory. */
static inline QT__ALWAYS_INLINE int64_t submit(qt_ctx *cx, qt_order_req rq) {
  if (cx->r.stopped) return QT_ESTATE;
  if (rq.inst < 0 || rq.inst >= cx->r.n_feeds || (rq.side != QT_BUY && rq.side != QT_SELL) ||
      rq.type < QT_ORDER_MARKET || rq.type > QT_ORDER_STOP || rq.leg < QT_LEG_NET ||
      rq.leg > QT_LEG_SHORT)
    return QT_EINVAL;
  qt__feed *fd = &cx->r.fd[rq.inst];
  double qty = rq.qty;
  if (rq.flags & QT__ORDER_EQUITY) { /* a fraction, sized at the fill */
    if (rq.type != QT_ORDER_MARKET || !(qty > 0) || !(qty <= 1)) return QT_EINVAL;
  } else if (!(rq.flags & QT__ORDER_CLOSE_ALL)) {
    if (!(qty > 0) || !isfinite(qty)) return QT_EINVAL;
    qty = qt__round_lot(qty, fd->inst.lot_size);
    if (!(qty > 0)) return QT_EINVAL;
  }
  double price = 0;
  if (rq.type != QT_ORDER_MARKET) {
    if (!(rq.price > 0) || !isfinite(rq.price)) return QT_EINVAL;
    price = qt__round_tick(rq.price, fd->inst.tick_size);
    if (!(price > 0)) return QT_EINVAL;
    if (rq.type == QT_ORDER_LIMIT && (rq.flags & QT_ORDER_POST_ONLY) && fd->ci >= 0) {
      double ref = fd->px;
      if ((rq.side == QT_BUY && price >= ref) || (rq.side == QT_SELL && price <= ref)) {
        cx->r.n_rejected++;
        return QT_EINVAL;
      }
    }
  }
  if (cx->o.order_gate) {
    double gq = qty;
    int closing = (rq.flags & (QT__ORDER_CLOSE_ALL | QT_ORDER_REDUCE_ONLY)) != 0;
    qt_order_req g = rq;
    if (cx->o.order_gate(cx->o.order_gate_ctx, cx, &g, closing, &gq, price)) {
      cx->r.n_rejected++;
      return QT_ESTATE;
    }
    if (gq < qty) { /* cut by the gate */
      qty = qt__round_lot(gq, fd->inst.lot_size);
      if (!(qty > 0)) {
        cx->r.n_rejected++;
        return QT_ESTATE;
      }
    }
  }
  if (cx->r.n_ord >= cx->r.max_ord) return QT_ESTATE;
  cx->r.book_dirty = 1;
  qt__order *o = &cx->ord[cx->r.n_ord++];
  o->id = cx->r.next_id++;
  o->inst = rq.inst;
  o->side = rq.side;
  o->type = rq.type;
  o->leg = cx->o.hedge_mode ? rq.leg : QT_LEG_NET;
  o->qty = qty;
  o->price = price;
  o->flags = rq.flags;
  o->expire_ms = rq.expire_ms;
  o->reason = rq.reason;
  o->tag = rq.tag;
  o->submit_i = cx->r.i + (int64_t)cx->o.fill_delay_bars; /* latency: reaches the book late */
  o->gen = 0;
  o->lot_of = 0;
  if (o->expire_ms > 0 && o->expire_ms < cx->r.next_expire_ms) cx->r.next_expire_ms = o->expire_ms;
  cx->r.n_orders++;
  log_order(cx, QT_OA_SUBMIT, o);
  return o->id;
}

int64_t qt_ctx_submit(qt_ctx *cx, const qt_order_req *r) {
  if (!r) return QT_EINVAL;
  return submit(cx, *r);
}

int64_t qt_ctx_market(qt_ctx *cx, int inst, int side, int leg, double qty, int reason) {
  qt_order_req r = {0};
  r.inst = inst;
  r.side = side;
  r.type = QT_ORDER_MARKET;
  r.leg = leg;
  r.qty = qty;
  r.reason = reason;
  return submit(cx, r);
}

int64_t qt_ctx_market_fraction(qt_ctx *cx, int inst, int side, int leg, double fraction,
                               int reason) {
  qt_order_req r = {0};
  r.inst = inst;
  r.side = side;
  r.type = QT_ORDER_MARKET;
  r.leg = leg;
  r.qty = fraction;
  r.flags = QT__ORDER_EQUITY;
  r.reason = reason;
  return submit(cx, r);
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
  return submit(cx, r);
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
  return submit(cx, r);
}

int qt_ctx_cancel(qt_ctx *cx, int64_t order_id) {
  ptrdiff_t j = qt__book_find(cx, order_id);
  if (j < 0) return QT_ENOTFOUND;
  log_order(cx, QT_OA_CANCEL, &cx->ord[j]);
  qt__book_remove(cx, (size_t)j);
  cx->r.n_cancelled++;
  return QT_OK;
}

void qt_ctx_cancel_all(qt_ctx *cx, int inst) {
  size_t w = 0;
  for (size_t j = 0; j < cx->r.n_ord; j++) {
    if (inst < 0 || cx->ord[j].inst == inst) {
      log_order(cx, QT_OA_CANCEL, &cx->ord[j]);
      cx->r.n_cancelled++;
      continue;
    }
    cx->ord[w++] = cx->ord[j];
  }
  cx->r.n_ord = w;
  cx->r.book_dirty = 1;
}

int qt_ctx_replace(qt_ctx *cx, int64_t order_id, double price, double qty) {
  ptrdiff_t j = qt__book_find(cx, order_id);
  if (j < 0) return QT_ENOTFOUND;
  qt__order *o = &cx->ord[j];
  qt__feed *fd = &cx->r.fd[o->inst];
  double q = o->qty;
  cx->r.book_dirty = 1;
  if (o->flags & QT__ORDER_EQUITY) { /* still a fraction of equity */
    if (!(qty > 0) || !(qty <= 1)) return QT_EINVAL;
    q = qty;
  } else if (!(o->flags & QT__ORDER_CLOSE_ALL)) {
    if (!(qty > 0) || !isfinite(qty)) return QT_EINVAL;
    q = qt__round_lot(qty, fd->inst.lot_size);
    if (!(q > 0)) return QT_EINVAL;
  }
  double p = 0;
  if (o->type != QT_ORDER_MARKET) {
    if (!(price > 0) || !isfinite(price)) return QT_EINVAL;
    p = qt__round_tick(price, fd->inst.tick_size);
    if (o->type == QT_ORDER_LIMIT && (o->flags & QT_ORDER_POST_ONLY) && fd->ci >= 0 &&
        ((o->side == QT_BUY && p >= fd->px) || (o->side == QT_SELL && p <= fd->px))) {
      /* a post-only replace that would take cancels the order */
      log_order(cx, QT_OA_CANCEL, o);
      qt__book_remove(cx, (size_t)j);
      cx->r.n_rejected++;
      return QT_EINVAL;
    }
  }
  o->qty = q;
  o->price = p;
  /* a replaced order rests anew from the next bar (after the latency) */
  o->submit_i = cx->r.i + (int64_t)cx->o.fill_delay_bars;
  o->gen++;
  log_order(cx, QT_OA_REPLACE, o);
  return QT_OK;
}

int qt_ctx_exit_of(qt_ctx *cx, int64_t exit_id, int64_t entry_id) {
  ptrdiff_t j = qt__book_find(cx, exit_id);
  if (j < 0) return QT_ENOTFOUND;
  cx->ord[j].lot_of = entry_id;
  return QT_OK;
}

int64_t qt_ctx_close(qt_ctx *cx, int inst, int leg, int reason) {
  if (inst < 0 || inst >= cx->r.n_feeds || leg < QT_LEG_NET || leg > QT_LEG_SHORT)
    return QT_EINVAL;
  if (cx->o.hedge_mode && leg == QT_LEG_NET) {
    int64_t a = qt_ctx_close(cx, inst, QT_LEG_LONG, reason);
    int64_t b = qt_ctx_close(cx, inst, QT_LEG_SHORT, reason);
    if (a < 0) return a;
    return b != 0 ? b : a;
  }
  /* one-way runs hold leg 0 only; hedge runs 1 long, 2 short */
  double q = cx->r.fd[inst].leg[cx->o.hedge_mode ? leg : 0].qty;
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
  return submit(cx, r);
}
