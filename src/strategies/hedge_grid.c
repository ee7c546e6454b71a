/* hedge_grid: a two-sided grid in hedge mode (a long and a short leg at once)
 * whose shape follows a trend regime (EMA pair + ADX + ATR).  The exact rules
 * are in docs/strategies/hedge_grid.md; this file implements them.
 *
 * Speed: on_bar only reads four precomputed indicator values and compares the
 * close with the two recentre triggers; orders are touched only when the
 * regime changes, the grid recentres, the funding pause changes, or a fill
 * (seen in on_fill, acted on in the next on_bar) re-arms a level. */
#include "qtune/indicators.h"
#include "qtune/strategy.h"

#include <math.h>
#include <stdint.h>

#define HG_MAX_LEVELS 20
#define HG_MAX_LOTS 64  /* open lots + resting entries; keeps the order book < 256 */
#define HG_ADX_ENTER 25.0
#define HG_ADX_LEAVE 20.0
#define HG_ATR_BAND 0.25 /* the hysteresis band is at least this many ATRs */
#define HG_FUNDING_RECHECK_MS 3600000LL

enum { HG_LONG = 0, HG_SHORT = 1 };
enum { HG_DOWN = -1, HG_SIDEWAYS = 0, HG_UP = 1 };
/* Order tags: kind * 1000 + index (level for entries, lot for exits). */
enum { HG_TAG_ENTRY_LONG = 1, HG_TAG_ENTRY_SHORT = 2, HG_TAG_TP = 3, HG_TAG_SL = 4 };

enum {
  P_STEP, P_LEVELS_LONG, P_LEVELS_SHORT, P_BASE_QTY, P_QTY_SCALE, P_TP, P_SL, P_ADX, P_EMA_FAST,
  P_EMA_SLOW, P_ATR, P_HYST, P_COUNTER_LEVELS, P_COUNTER_SCALE, P_RECENTER, P_FUNDING_MAX,
  P_MAX_POS, P_SIZING, P_BASE_FRAC, P_COUNT
};
enum { HG_SIZE_BASE_QTY, HG_SIZE_EQUITY };
static const char *const k_sizing[] = {"base_qty", "equity_fraction"};

static const qt_param_spec k_params[P_COUNT] = {
  {"grid_step_bps", QT_PARAM_INT, 10, 200, 1, 0, 50, NULL, 0,
   "distance between grid levels, bps of the grid centre"},
  {"grid_levels_long", QT_PARAM_INT, 3, 20, 1, 0, 10, NULL, 0, "buy levels below the centre"},
  {"grid_levels_short", QT_PARAM_INT, 3, 20, 1, 0, 10, NULL, 0, "sell levels above the centre"},
  {"base_qty", QT_PARAM_FLOAT, 0.001, 0.1, 0, 1, 0.01, NULL, 0,
   "level-0 order quantity, base asset units (the guide's 0.01 BTC on BTCUSDT)"},
  {"qty_scale", QT_PARAM_FLOAT, 1.0, 1.5, 0, 0, 1.1, NULL, 0,
   "size multiplier per level away from the centre"},
  {"tp_steps", QT_PARAM_INT, 1, 10, 1, 0, 2, NULL, 0, "take-profit distance in grid steps"},
  {"sl_steps", QT_PARAM_INT, 3, 20, 1, 0, 8, NULL, 0, "stop-loss distance in grid steps"},
  {"adx_len", QT_PARAM_INT, 7, 30, 1, 0, 14, NULL, 0, "ADX length, bars"},
  {"ema_fast", QT_PARAM_INT, 5, 25, 1, 0, 12, NULL, 0, "fast EMA length, bars"},
  {"ema_slow", QT_PARAM_INT, 20, 60, 1, 0, 26, NULL, 0, "slow EMA length, bars"},
  {"atr_len", QT_PARAM_INT, 7, 30, 1, 0, 14, NULL, 0, "ATR length, bars"},
  {"hysteresis_bps", QT_PARAM_FLOAT, 5, 50, 0, 0, 10, NULL, 0,
   "EMA spread (bps of close) needed to change regime"},
  {"counter_levels", QT_PARAM_INT, 2, 10, 1, 0, 5, NULL, 0,
   "levels kept on the counter-trend side in a trend"},
  {"counter_qty_scale", QT_PARAM_FLOAT, 0.3, 0.8, 0, 0, 0.5, NULL, 0,
   "size multiplier of the counter-trend side in a trend"},
  {"recenter_trigger_bps", QT_PARAM_FLOAT, 50, 500, 0, 0, 200, NULL, 0,
   "move of the close from the centre (bps) that recentres the grid"},
  {"funding_max_cost_bps", QT_PARAM_FLOAT, 5, 50, 0, 0, 20, NULL, 0,
   "pause a side whose funding cost would reach this many bps per day"},
  {"max_position_pct", QT_PARAM_FLOAT, 50, 95, 0, 0, 80, NULL, 0,
   "cap on gross position + resting entries, % of equity"},
  {"sizing", QT_PARAM_CAT, 0, 1, 1, 0, HG_SIZE_BASE_QTY, k_sizing, 2,
   "level-0 size: base_qty units, or base_equity_frac of equity (notional)"},
  {"base_equity_frac", QT_PARAM_FLOAT, 0.001, 0.1, 0, 1, 0.01, NULL, 0,
   "with sizing=equity_fraction: level-0 notional as a fraction of equity"},
};

typedef struct hg_slot {
  int64_t id; /* resting entry order, 0 = none */
  double price, qty;
} hg_slot;

typedef struct hg_lot {
  int64_t tp_id, sl_id;
  double qty, tp_px, sl_px; /* tp_px/sl_px: kept for reports and tests */
  int used, side, level, gen;
} hg_lot;

typedef struct hg_state {
  /* params */
  double step, base_qty, base_frac, qty_scale, hyst, counter_scale, recenter, funding_max, max_pos;
  int by_equity; /* sizing = equity_fraction */
  int levels[2], tp_steps, sl_steps, counter_levels;
  /* indicator columns (borrowed from the engine's cache) */
  const double *ema_f, *ema_s, *adx, *atr;
  /* grid */
  int built, regime, gen;
  double centre, delta, up_trig, dn_trig;
  int n_active[2];
  double mult[2];
  double scale_pow[HG_MAX_LEVELS]; /* qty_scale^k, so placing a level costs no pow() */
  hg_slot slot[2][HG_MAX_LEVELS];
  int n_resting;
  double resting_notional;
  hg_lot lot[HG_MAX_LOTS];
  int n_lots;
  /* levels whose take-profit filled: re-armed in the next on_bar */
  int n_pending;
  int pending_side[HG_MAX_LOTS], pending_level[HG_MAX_LOTS], pending_gen[HG_MAX_LOTS];
  /* funding */
  int paused[2];
  int64_t next_funding_ms;
  int disabled; /* the engine refused leg orders (not hedge mode) */
} hg_state;

/* The first bar on which all four columns are defined. */
static int hg_lookback(const double *p) {
  int n = qt_ind_ema_lookback((int)p[P_EMA_SLOW]);
  int a = qt_ind_adx_lookback((int)p[P_ADX]);
  int t = qt_ind_atr_lookback((int)p[P_ATR]);
  if (a > n) n = a;
  if (t > n) n = t;
  return n;
}

static int hg_init(void *stv, const double *p, qt_ctx *cx, qt_err *err) {
  hg_state *st = stv;
  if (p[P_EMA_FAST] >= p[P_EMA_SLOW])
    return qt_err_set(err, QT_EPARAM, "hedge_grid: ema_fast (%g) must be below ema_slow (%g)",
                      p[P_EMA_FAST], p[P_EMA_SLOW]);
  st->step = p[P_STEP] / 1e4;
  st->levels[HG_LONG] = (int)p[P_LEVELS_LONG];
  st->levels[HG_SHORT] = (int)p[P_LEVELS_SHORT];
  st->base_qty = p[P_BASE_QTY];
  st->base_frac = p[P_BASE_FRAC];
  st->by_equity = (int)p[P_SIZING] == HG_SIZE_EQUITY;
  st->qty_scale = p[P_QTY_SCALE];
  st->tp_steps = (int)p[P_TP];
  st->sl_steps = (int)p[P_SL];
  st->hyst = p[P_HYST] / 1e4;
  st->counter_levels = (int)p[P_COUNTER_LEVELS];
  st->counter_scale = p[P_COUNTER_SCALE];
  st->recenter = p[P_RECENTER] / 1e4;
  st->funding_max = p[P_FUNDING_MAX];
  st->max_pos = p[P_MAX_POS] / 100.0;
  if (st->levels[0] > HG_MAX_LEVELS || st->levels[1] > HG_MAX_LEVELS || st->levels[0] < 1 ||
      st->levels[1] < 1)
    return qt_err_set(err, QT_EINVAL, "hedge_grid: grid levels must be in [1, %d]", HG_MAX_LEVELS);
  for (int k = 0; k < HG_MAX_LEVELS; k++) st->scale_pow[k] = pow(st->qty_scale, k);
  st->ema_f = qt_ctx_indicator(cx, 0, QT_IND_EMA, (int)p[P_EMA_FAST], 0, 0, 0, err);
  if (!st->ema_f) return err ? err->code : QT_EINVAL;
  st->ema_s = qt_ctx_indicator(cx, 0, QT_IND_EMA, (int)p[P_EMA_SLOW], 0, 0, 0, err);
  if (!st->ema_s) return err ? err->code : QT_EINVAL;
  st->adx = qt_ctx_indicator(cx, 0, QT_IND_ADX, (int)p[P_ADX], 0, 0, 0, err);
  if (!st->adx) return err ? err->code : QT_EINVAL;
  st->atr = qt_ctx_indicator(cx, 0, QT_IND_ATR, (int)p[P_ATR], 0, 0, 0, err);
  if (!st->atr) return err ? err->code : QT_EINVAL;
  return QT_OK;
}

static double hg_gross_notional(const qt_ctx *cx, double px) {
  return (fabs(qt_ctx_position(cx, 0, QT_LEG_LONG)) + fabs(qt_ctx_position(cx, 0, QT_LEG_SHORT))) *
         px;
}

static double hg_level_price(const hg_state *st, int side, int k) {
  return side == HG_LONG ? st->centre - (k + 1) * st->delta : st->centre + (k + 1) * st->delta;
}

/* Places the entry of (side, level k) if the cap and the lot table allow it.
 * `room` is the notional still allowed under the cap; it is reduced. */
static void hg_place(hg_state *st, qt_ctx *cx, int side, int k, double equity, double *room) {
  hg_slot *s = &st->slot[side][k];
  double px = hg_level_price(st, side, k);
  if (px <= 0) return;
  double m = st->mult[side] * st->scale_pow[k];
  double qty = st->by_equity ? st->base_frac * m * equity / px : st->base_qty * m;
  double notional = qty * px;
  if (notional <= 0 || notional > *room) return;
  if (st->n_lots + st->n_resting >= HG_MAX_LOTS) return;
  int64_t id = side == HG_LONG
                   ? qt_ctx_limit(cx, 0, QT_BUY, QT_LEG_LONG, qty, px, 0,
                                  HG_TAG_ENTRY_LONG * 1000 + k)
                   : qt_ctx_limit(cx, 0, QT_SELL, QT_LEG_SHORT, qty, px, 0,
                                  HG_TAG_ENTRY_SHORT * 1000 + k);
  if (id <= 0) return;
  s->id = id;
  s->price = px;
  s->qty = qty;
  st->n_resting++;
  st->resting_notional += notional;
  *room -= notional;
}

/* Cancels the resting entries and lays out a new grid centred on `close`. */
static void hg_rebuild(hg_state *st, qt_ctx *cx, double close) {
  for (int side = 0; side < 2; side++)
    for (int k = 0; k < HG_MAX_LEVELS; k++) {
      hg_slot *s = &st->slot[side][k];
      if (s->id > 0) qt_ctx_cancel(cx, s->id);
      s->id = 0;
    }
  st->n_resting = 0;
  st->resting_notional = 0;
  st->n_pending = 0;
  st->gen++;
  st->built = 1;
  st->centre = close;
  st->delta = close * st->step;
  st->up_trig = close * (1 + st->recenter);
  st->dn_trig = close * (1 - st->recenter);
  for (int side = 0; side < 2; side++) {
    int counter = (side == HG_LONG && st->regime == HG_DOWN) ||
                  (side == HG_SHORT && st->regime == HG_UP);
    int n = st->levels[side];
    if (counter && st->counter_levels < n) n = st->counter_levels;
    st->n_active[side] = st->paused[side] ? 0 : n;
    st->mult[side] = counter ? st->counter_scale : 1.0;
  }
  double equity = qt_ctx_equity(cx);
  double room = st->max_pos * equity - hg_gross_notional(cx, close);
  /* Nearest levels first, alternating sides, so the cap trims the far ones. */
  for (int k = 0; k < HG_MAX_LEVELS; k++)
    for (int side = 0; side < 2; side++)
      if (k < st->n_active[side]) hg_place(st, cx, side, k, equity, &room);
}

static int hg_next_regime(const hg_state *st, double spread, double band, double adx) {
  switch (st->regime) {
  case HG_UP:
    if (spread <= -band) return adx >= HG_ADX_ENTER ? HG_DOWN : HG_SIDEWAYS;
    return adx < HG_ADX_LEAVE ? HG_SIDEWAYS : HG_UP;
  case HG_DOWN:
    if (spread >= band) return adx >= HG_ADX_ENTER ? HG_UP : HG_SIDEWAYS;
    return adx < HG_ADX_LEAVE ? HG_SIDEWAYS : HG_DOWN;
  default:
    if (adx >= HG_ADX_ENTER && spread >= band) return HG_UP;
    if (adx >= HG_ADX_ENTER && spread <= -band) return HG_DOWN;
    return HG_SIDEWAYS;
  }
}

/* Reads the latest settled funding rate; returns 1 if the pause state changed. */
static int hg_check_funding(hg_state *st, qt_ctx *cx, int64_t now) {
  size_t n = 0;
  const qt_funding *f = qt_ctx_funding(cx, 0, &n);
  if (!f) {
    st->next_funding_ms = INT64_MAX; /* no funding series: never paused */
    return 0;
  }
  if (n == 0) {
    st->next_funding_ms = now + HG_FUNDING_RECHECK_MS;
    return 0;
  }
  double r = f->rate[n - 1];
  double ih = f->interval_h ? f->interval_h[n - 1] : 8.0;
  if (!(ih > 0)) ih = 8.0;
  double daily_bps = r * (24.0 / ih) * 1e4; /* > 0: longs pay */
  int pl = daily_bps >= st->funding_max, ps = -daily_bps >= st->funding_max;
  int64_t next = f->ts_ms[n - 1] + (int64_t)(ih * 3600000.0);
  st->next_funding_ms = next > now ? next : now + HG_FUNDING_RECHECK_MS;
  int changed = pl != st->paused[HG_LONG] || ps != st->paused[HG_SHORT];
  st->paused[HG_LONG] = pl;
  st->paused[HG_SHORT] = ps;
  return changed;
}

static void hg_rearm(hg_state *st, qt_ctx *cx, double close) {
  double equity = 0, room = 0;
  int have_room = 0;
  for (int j = 0; j < st->n_pending; j++) {
    int side = st->pending_side[j], k = st->pending_level[j];
    if (st->pending_gen[j] != st->gen || k >= st->n_active[side] || st->slot[side][k].id) continue;
    double px = hg_level_price(st, side, k);
    if (side == HG_LONG ? px >= close : px <= close) continue; /* would take: stays idle */
    if (!have_room) {
      equity = qt_ctx_equity(cx);
      room = st->max_pos * equity - hg_gross_notional(cx, close) - st->resting_notional;
      have_room = 1;
    }
    hg_place(st, cx, side, k, equity, &room);
  }
  st->n_pending = 0;
}

static void hg_on_bar(void *stv, const qt_bar *b, qt_ctx *cx) {
  hg_state *st = stv;
  if (st->disabled) return;
  size_t i = b->i;
  double ef = st->ema_f[i], es = st->ema_s[i], adx = st->adx[i], atr = st->atr[i];
  if (isnan(ef) || isnan(es) || isnan(adx) || isnan(atr)) return;
  double close = b->close;
  double band = st->hyst * close;
  if (band < HG_ATR_BAND * atr) band = HG_ATR_BAND * atr;
  int reg = hg_next_regime(st, ef - es, band, adx);
  int rebuild = !st->built || reg != st->regime;
  st->regime = reg;
  if (b->ts_ms >= st->next_funding_ms) rebuild |= hg_check_funding(st, cx, b->ts_ms);
  if (close >= st->up_trig || close <= st->dn_trig) rebuild = 1;
  if (rebuild)
    hg_rebuild(st, cx, close);
  else if (st->n_pending)
    hg_rearm(st, cx, close);
}

static int hg_lot_new(hg_state *st) {
  for (int j = 0; j < HG_MAX_LOTS; j++)
    if (!st->lot[j].used) return j;
  return -1;
}

static void hg_lot_free(hg_state *st, hg_lot *l) {
  l->used = 0;
  l->tp_id = l->sl_id = 0;
  st->n_lots--;
}

/* The engine fills an order whole (or cuts it under the leverage cap) and
 * removes it from the book, so every fill ends its order. */
static void hg_on_fill(void *stv, const qt_fill *f, qt_ctx *cx) {
  hg_state *st = stv;
  if (st->disabled) return;
  if (f->leg == QT_LEG_NET) { /* one-way mode routes every order to NET: stop */
    st->disabled = 1;
    qt_ctx_cancel_all(cx, 0);
    qt_ctx_close(cx, 0, QT_LEG_NET, QT_EXIT_SIGNAL);
    return;
  }
  int kind = f->tag / 1000, idx = f->tag % 1000;
  if (kind == HG_TAG_ENTRY_LONG || kind == HG_TAG_ENTRY_SHORT) {
    int side = kind == HG_TAG_ENTRY_LONG ? HG_LONG : HG_SHORT;
    int gen = -1;
    if (idx >= 0 && idx < HG_MAX_LEVELS && st->slot[side][idx].id == f->order_id) {
      hg_slot *s = &st->slot[side][idx];
      st->resting_notional -= s->qty * s->price;
      if (st->resting_notional < 0) st->resting_notional = 0;
      s->id = 0;
      st->n_resting--;
      gen = st->gen;
    }
    int leg = side == HG_LONG ? QT_LEG_LONG : QT_LEG_SHORT;
    int exit_side = side == HG_LONG ? QT_SELL : QT_BUY;
    double sgn = side == HG_LONG ? 1.0 : -1.0;
    int j = hg_lot_new(st);
    if (j < 0) { /* cannot track it: give it back at once */
      qt_order_req o = {0, exit_side, QT_ORDER_MARKET, leg, f->qty, 0, QT_ORDER_REDUCE_ONLY, 0,
                        QT_EXIT_SIGNAL, 0};
      qt_ctx_submit(cx, &o);
      return;
    }
    hg_lot *l = &st->lot[j];
    l->used = 1;
    st->n_lots++;
    l->side = side;
    l->level = idx;
    l->gen = gen;
    l->qty = f->qty;
    l->tp_px = f->price + sgn * st->tp_steps * st->delta;
    l->sl_px = f->price - sgn * st->sl_steps * st->delta;
    qt_order_req tp = {0, exit_side, QT_ORDER_LIMIT, leg, f->qty, l->tp_px, QT_ORDER_REDUCE_ONLY,
                       0, QT_EXIT_TAKE_PROFIT, HG_TAG_TP * 1000 + j};
    qt_order_req sl = {0, exit_side, QT_ORDER_STOP, leg, f->qty, l->sl_px, QT_ORDER_REDUCE_ONLY,
                       0, QT_EXIT_STOP_LOSS, HG_TAG_SL * 1000 + j};
    int64_t tid = qt_ctx_submit(cx, &tp);
    int64_t sid = qt_ctx_submit(cx, &sl);
    l->tp_id = tid > 0 ? tid : 0;
    l->sl_id = sid > 0 ? sid : 0;
    /* both close this entry's lot in the trade list (lot accounting) */
    if (tid > 0) qt_ctx_exit_of(cx, tid, f->order_id);
    if (sid > 0) qt_ctx_exit_of(cx, sid, f->order_id);
    return;
  }
  if ((kind != HG_TAG_TP && kind != HG_TAG_SL) || idx < 0 || idx >= HG_MAX_LOTS) return;
  hg_lot *l = &st->lot[idx];
  int is_tp = kind == HG_TAG_TP;
  if (!l->used || f->order_id != (is_tp ? l->tp_id : l->sl_id)) return;
  int64_t other = is_tp ? l->sl_id : l->tp_id;
  if (other > 0) qt_ctx_cancel(cx, other); /* one-cancels-other */
  if (is_tp && l->gen == st->gen && st->n_pending < HG_MAX_LOTS) {
    st->pending_side[st->n_pending] = l->side;
    st->pending_level[st->n_pending] = l->level;
    st->pending_gen[st->n_pending] = l->gen;
    st->n_pending++;
  }
  hg_lot_free(st, l);
}

const qt_strategy_vtbl qt_strategy_hedge_grid = {
  QT_STRATEGY_ABI,
  "hedge_grid",
  "two-sided grid in hedge mode shaped by an EMA/ADX/ATR regime (needs hedge mode)",
  k_params,
  P_COUNT,
  sizeof(hg_state),
  QT_NEEDS_HEDGE | QT_NEEDS_LOTS,
  1,
  hg_lookback,
  hg_init,
  hg_on_bar,
  hg_on_fill,
  NULL,
  NULL,
  NULL, /* quiet_until */
};
