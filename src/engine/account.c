/* Account and margin: position legs (average entry price), the trade
 * records written as they are reduced, cash, equity, the leverage cap and
 * the account queries of the strategy API.  Conventions: docs/engine.md,
 * "Positions", "Trade accounting", "Account, margin, leverage cap". */
#include "engine/engine_int.h"

#include <string.h>

static int push_trade(qt_ctx *cx, const qt_trade_rec *t) {
  if (qt__room_for_one(cx, (void **)&cx->trades, cx->r.n_trades, &cx->cap_trades,
                       sizeof *cx->trades))
    return QT_ENOMEM;
  cx->trades[cx->r.n_trades++] = *t;
  return QT_OK;
}

void qt__account_lot_push(qt_ctx *cx, qt__feed *fd, int l, double qty, double px, double fee,
                          int64_t ts, int64_t order_id) {
  int k = (int)(fd - cx->r.fd);
  qt__leg *L = &fd->leg[l];
  qt__lot **a = &cx->lots[k][l];
  size_t *cap = &cx->cap_lots[k][l];
  if (L->lot_head + L->lot_n == *cap) {
    if (L->lot_head > 0) { /* closed lots at the front: slide the open ones down */
      memmove(*a, *a + L->lot_head, L->lot_n * sizeof **a);
      L->lot_head = 0;
    } else if (qt__room_for_one(cx, (void **)a, L->lot_n, cap, sizeof **a)) {
      return;
    }
  }
  qt__lot *t = &(*a)[L->lot_head + L->lot_n++];
  t->qty = qty;
  t->px = px;
  t->fee = fee;
  t->entry_ms = ts;
  t->entry_i = cx->r.i;
  t->order_id = order_id;
}

/* Lot accounting: the records of closing `closed` of leg l at px, FIFO over
 * its lots; exit fee and funding are shared by quantity.  The lots' entry
 * fees replace the average share.  All of the leg (full): every lot, the
 * last one taking what float rounding left. */
static void reduce_lots(qt_ctx *cx, qt__feed *fd, int k, int l, double closed, double px,
                        double exit_fee, double fund, int full, const qt_trade_rec *proto,
                        int64_t lot_of) {
  qt__leg *L = &fd->leg[l];
  qt__lot *a = cx->lots[k][l];
  double dir = proto->side == QT_BUY ? 1.0 : -1.0, left = closed;
  /* the linked entry's lot goes first: moved to the front of the queue */
  for (size_t j = 1; lot_of && j < L->lot_n; j++) {
    qt__lot *h = &a[L->lot_head];
    if (h[j].order_id != lot_of) continue;
    qt__lot t = h[j];
    memmove(h + 1, h, j * sizeof *h);
    h[0] = t;
    break;
  }
  while (L->lot_n > 0 && (full || left > closed * 1e-12)) {
    qt__lot *t = &a[L->lot_head];
    double q = t->qty < left ? t->qty : left;
    if (full && L->lot_n == 1) q = left;
    double share = t->qty > 0 ? q / t->qty : 1.0;
    if (share > 1) share = 1;
    qt_trade_rec r = *proto;
    r.entry_ms = t->entry_ms;
    r.entry_price = t->px;
    r.qty = q;
    r.bars_held = cx->r.i - t->entry_i;
    r.fees = t->fee * share + exit_fee * (q / closed);
    r.funding = fund * (q / closed);
    r.pnl = (px - t->px) * q * dir * fd->inst.multiplier - r.fees + r.funding;
    push_trade(cx, &r);
    left -= q;
    t->fee -= t->fee * share;
    t->qty -= q;
    if (full || t->qty <= q * 1e-12) {
      L->lot_head++;
      L->lot_n--;
    }
  }
  if (L->lot_n == 0) L->lot_head = 0;
}

/* Closes `closed` (> 0, <= |qty|) of leg l at px; exit_fee is this part's fee. */
void qt__account_reduce(qt_ctx *cx, qt__feed *fd, int k, int l, double closed, double px,
                        double exit_fee, int reason, int64_t ts, int64_t lot_of) {
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
  t.bars_held = cx->r.i - L->entry_i;
  cx->r.cash += price_pnl;
  int full = closed >= aq * (1 - 1e-12);
  if (cx->r.lots && L->lot_n) reduce_lots(cx, fd, k, l, closed, px, exit_fee, fund, full, &t, lot_of);
  else push_trade(cx, &t);
  if (full) {
    int armed = L->sig_expire_ms != 0;
    memset(L, 0, sizeof *L);
    cx->r.npos--;
    if (armed) cx->r.n_armed--;
  } else {
    L->qty -= dir * closed;
    L->fees -= fee_entry;
    L->funding -= fund;
  }
}

/* The leverage cap on the growing part inc of a fill at px on fd that first
 * reduces red: the largest quantity (<= inc, rounded down to the lot) with
 * (G + inc*px*m) <= cap * (E - fee(inc)) after the reducing part. */
double qt__account_cap_qty(const qt_ctx *cx, qt__feed *fd, double red, double inc, double px,
                           int maker) {
  double m = fd->inst.multiplier;
  double f = (maker ? fd->inst.maker_bps : fd->inst.taker_bps) * 1e-4;
  double exit_fee_red = qt__fee_of(fd, red, px, maker);
  double saved = fd->px; /* equity and notional as if marked at the fill price */
  fd->px = px;
  double u, g;
  qt__mark_all(cx, &u, &g, NULL);
  fd->px = saved;
  double red_notional = red * px * m;
  double e = cx->r.cash + u - exit_fee_red;
  double g_after = g - red_notional;
  double room = (cx->o.leverage_cap * e - g_after) / (px * m * (1 + cx->o.leverage_cap * f));
  if (room < inc) {
    if (room < 0) room = 0;
    double cut = fd->inst.lot_size > 0 ? qt__round_lot(room, fd->inst.lot_size) : room;
    inc = cut < inc ? cut : inc;
  }
  return inc;
}

double qt__account_fraction_qty(const qt_ctx *cx, qt__feed *fd, double fraction, double px,
                                int maker) {
  double m = fd->inst.multiplier;
  double rate = (maker ? fd->inst.maker_bps : fd->inst.taker_bps) * 1e-4;
  double saved = fd->px; /* equity and notional as if marked at the fill price */
  fd->px = px;
  double u = 0, g = 0;
  if (cx->r.npos) qt__mark_all(cx, &u, &g, NULL);
  fd->px = saved;
  double e = cx->r.cash + u, cap = cx->o.leverage_cap;
  /* backtesting.py: margin_available = max(0, equity - margin used), times
   * the leverage; no cap: the equity itself */
  double avail = cap > 0 ? (e - g / cap) * cap : e;
  if (!(avail > 0) || !(px > 0)) return 0;
  double q = qt__round_lot(fraction * avail / (px * m * (1.0 + rate)), fd->inst.lot_size);
  return q > 0 ? q : 0;
}

/* ------------------------------------------------------ account queries */

double qt_ctx_position(const qt_ctx *cx, int inst, int leg) {
  if (inst < 0 || inst >= cx->r.n_feeds) return 0;
  const qt__feed *fd = &cx->r.fd[inst];
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
  if (inst < 0 || inst >= cx->r.n_feeds) return 0;
  const qt__feed *fd = &cx->r.fd[inst];
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

double qt_ctx_cash(const qt_ctx *cx) { return cx->r.cash; }

double qt_ctx_gross_notional(const qt_ctx *cx) {
  if (cx->r.npos == 0) return 0;
  double u, g;
  qt__mark_all(cx, &u, &g, NULL);
  return g;
}

double qt_ctx_margin_used(const qt_ctx *cx) {
  double g = qt_ctx_gross_notional(cx);
  return cx->o.leverage_cap > 0 ? g / cx->o.leverage_cap : g;
}

double qt_ctx_equity(const qt_ctx *cx) { return qt__equity_now(cx); }

double qt_ctx_qty_for_equity(const qt_ctx *cx, int inst, double fraction, double price) {
  if (inst < 0 || inst >= cx->r.n_feeds || !(price > 0) || !(fraction > 0)) return 0;
  const qt__feed *fd = &cx->r.fd[inst];
  double e = qt__equity_now(cx);
  if (!(e > 0)) return 0;
  /* q*p*m*(1 + taker) <= fraction*E: all in, the entry fee included */
  double q = fraction * e / (price * fd->inst.multiplier * (1.0 + fd->inst.taker_bps * 1e-4));
  q = qt__round_lot(q, fd->inst.lot_size);
  return q > 0 ? q : 0;
}

double qt_ctx_lot_size(const qt_ctx *cx, int inst) {
  return inst >= 0 && inst < cx->r.n_feeds ? cx->r.fd[inst].inst.lot_size : 0;
}
double qt_ctx_tick_size(const qt_ctx *cx, int inst) {
  return inst >= 0 && inst < cx->r.n_feeds ? cx->r.fd[inst].inst.tick_size : 0;
}
