/* auction_market: value-area breakouts confirmed by taker aggression
 * (docs/strategies/auction_market.md is the spec).  The volume profile is a
 * fixed hash of log-price buckets plus a ring of the window's bars, so the
 * per-bar path neither allocates nor depends on the data length. */
#include "qtune/indicators.h"
#include "qtune/strategies.h"
#include "strategies/strategies_int.h"

#include <math.h>
#include <string.h>

enum {
  P_MIN_AGGR, P_BALANCE, P_STOP_M, P_TGT_M, P_RISK, P_MAXPOS, P_MAXLOSS, P_ATR_LEN, P_PROFILE,
  P_FLOW, P_BUCKET, P_COUNT
};

#define AM_SLOTS 512    /* profile buckets held at once */
#define AM_WIN_MAX 2880 /* profile_bars upper bound */
#define AM_FLOW_MAX 60
#define AM_POS_MAX 10
#define AM_VA_SHARE 0.70

static const qt_param_spec k_params[P_COUNT] = {
    {"min_aggression_score", QT_PARAM_FLOAT, 50, 90, 0, 0, 70, NULL, 0,
     "aggression score (0-100) needed in the breakout direction"},
    {"allow_balance_trades", QT_PARAM_BOOL, 0, 1, 0, 0, 0, NULL, 0,
     "fade the value-area edges while in balance"},
    {"atr_stop_multiplier", QT_PARAM_FLOAT, 0.5, 3.0, 0, 0, 1.5, NULL, 0, "stop distance in ATRs"},
    {"atr_target_multiplier", QT_PARAM_FLOAT, 1.0, 5.0, 0, 0, 3.0, NULL, 0,
     "target distance in ATRs"},
    {"risk_per_trade_pct", QT_PARAM_FLOAT, 0.1, 2.0, 0, 0, 0.5, NULL, 0,
     "equity lost (%) when a stop is hit"},
    {"max_positions", QT_PARAM_INT, 1, 10, 1, 0, 3, NULL, 0, "entries open at once"},
    {"max_daily_loss_pct", QT_PARAM_FLOAT, 0.5, 10, 0, 0, 3, NULL, 0,
     "daily equity loss (%) that halts entries until the next UTC day"},
    {"atr_length", QT_PARAM_INT, 5, 50, 1, 0, 14, NULL, 0, "ATR length (bars)"},
    {"profile_bars", QT_PARAM_INT, 60, AM_WIN_MAX, 1, 0, 1440, NULL, 0,
     "rolling volume-profile window (bars)"},
    {"flow_bars", QT_PARAM_INT, 1, AM_FLOW_MAX, 1, 0, 5, NULL, 0,
     "bars summed by the aggression score"},
    {"bucket_bps", QT_PARAM_FLOAT, 1, 100, 0, 0, 5, NULL, 0, "profile bucket width (bps)"},
};

/* One entry and its exit pair; tags are slot * 4 + role. */
enum { ROLE_ENTRY = 0, ROLE_STOP = 1, ROLE_TARGET = 2 };
typedef struct am_pos {
  int active, side, filled; /* filled: the entry has filled, exits are placed */
  double qty, exited, stop_dist, tgt_dist;
  int64_t stop_id, tgt_id;
  size_t entry_i; /* bar of the entry order: an entry still unfilled 2 bars later is dropped */
} am_pos;

typedef struct am_state {
  double p[P_COUNT];
  const double *atr;
  int lookback, win, flow_n, max_pos;
  double ln_w; /* ln(1 + bucket_bps/1e4) */
  /* profile: hash slot key + volume; ring of the window's (key, volume) */
  int64_t slot_key[AM_SLOTS];
  double slot_vol[AM_SLOTS];
  int32_t slot_cnt[AM_SLOTS]; /* bars in the slot: 0 resets the volume exactly */
  int64_t kmin, kmax;         /* keys that may hold volume lie in [kmin, kmax] */
  int have_range;
  int64_t ring_key[AM_WIN_MAX];
  double ring_vol[AM_WIN_MAX];
  size_t ring_n, ring_head;
  double flow_buy[AM_FLOW_MAX], flow_vol[AM_FLOW_MAX];
  size_t flow_cnt, flow_head;
  /* daily loss guard */
  int64_t day;
  double day_equity;
  int halted;
  int armed_up, armed_dn;
  am_pos pos[AM_POS_MAX];
  /* Kept up to date by slot_add so value_area need not walk the keys:
   * q_total = sum over slots of (int64)(slot_vol * q_scale) (q_scale a power
   * of 2; q_bad: a term reached 2^52, rescale), and the POC (the first key
   * of the largest volume) while poc_ok. */
  int64_t q_total;
  double q_scale;
  int q_bad, poc_ok;
  int64_t poc;
  double best;
  /* the last value area (keys) and its prices: exp() only when it moves */
  int have_va;
  int64_t va_lo, va_hi;
  double va_val, va_vah;
} am_state;

static int am_lookback(const double *p) {
  int lb = (int)p[P_PROFILE];
  if ((int)p[P_ATR_LEN] + 1 > lb) lb = (int)p[P_ATR_LEN] + 1;
  if ((int)p[P_FLOW] > lb) lb = (int)p[P_FLOW];
  return lb;
}

static int am_init(void *vst, const double *p, qt_ctx *cx, qt_err *err) {
  am_state *st = vst;
  memcpy(st->p, p, sizeof st->p);
  st->lookback = am_lookback(p);
  st->win = (int)p[P_PROFILE];
  st->flow_n = (int)p[P_FLOW];
  st->max_pos = (int)p[P_MAXPOS];
  st->ln_w = log1p(p[P_BUCKET] / 1e4);
  st->day = INT64_MIN;
  st->armed_up = st->armed_dn = 1;
  st->atr = qt_ctx_indicator(cx, 0, QT_IND_ATR, (int)p[P_ATR_LEN], 0, 0, 0, err);
  return st->atr ? QT_OK : (err && err->code ? err->code : QT_EINVAL);
}

/* A slot volume in units of q_scale; q_bad when it would pass 2^52. */
static int64_t q_of(am_state *st, double v) {
  double x = v * st->q_scale;
  if (x < 0x1p52) return (int64_t)x;
  st->q_bad = 1;
  return 0;
}

static void slot_add(am_state *st, int64_t key, double vol, int bars) {
  size_t s = (size_t)(((key % AM_SLOTS) + AM_SLOTS) % AM_SLOTS);
  int64_t old_key = st->slot_key[s];
  int64_t old_q = q_of(st, st->slot_vol[s]);
  if (st->slot_key[s] != key) { /* empty or a bucket 512 keys away: replace */
    if (bars < 0) return;       /* its bars were evicted with it */
    st->slot_key[s] = key;
    st->slot_vol[s] = 0;
    st->slot_cnt[s] = 0;
  }
  st->slot_cnt[s] += bars;
  st->slot_vol[s] += vol;
  if (st->slot_cnt[s] <= 0 || st->slot_vol[s] < 0) st->slot_vol[s] = 0, st->slot_cnt[s] = 0;
  double v = st->slot_vol[s];
  st->q_total += q_of(st, v) - old_q;
  if (st->poc_ok) {
    if (old_key != key && old_key == st->poc) st->poc_ok = 0; /* the POC's slot was taken */
    else if (key == st->poc) {
      if (v < st->best) st->poc_ok = 0; /* it shrank: another key may lead now */
      else st->best = v;
    } else if (v > st->best || (v == st->best && key < st->poc)) {
      st->poc = key, st->best = v;
    }
  }
  if (bars > 0) {
    if (!st->have_range) st->kmin = st->kmax = key, st->have_range = 1;
    if (key < st->kmin) st->kmin = key;
    if (key > st->kmax) st->kmax = key;
  }
}

/* Why value_area may read slot_vol[k mod 512] for k in [kmin, kmax] when
 * kmax - kmin < 512: a slot holding volume holds a key in [kmin, kmax] (a
 * key enters the range when it gets volume, and the range shrinks only past
 * keys with none), so a slot whose key is another one holds 0. */
static double slot_get(const am_state *st, int64_t key) {
  size_t s = (size_t)(((key % AM_SLOTS) + AM_SLOTS) % AM_SLOTS);
  return st->slot_key[s] == key ? st->slot_vol[s] : 0.0;
}

static void profile_push(am_state *st, const qt_bar *b) {
  double tp = (b->high + b->low + b->close) / 3.0;
  double vol = b->volume;
  if (!(tp > 0) || !isfinite(tp)) /* a bad bar adds nothing; keep the key finite */
    vol = 0, tp = b->close > 0 && isfinite(b->close) ? b->close : 1.0;
  if (!(vol >= 0) || !isfinite(vol)) vol = 0;
  int64_t key = (int64_t)floor(log(tp) / st->ln_w);
  if (st->ring_n == (size_t)st->win) { /* drop the bar leaving the window */
    slot_add(st, st->ring_key[st->ring_head], -st->ring_vol[st->ring_head], -1);
  } else {
    st->ring_n++;
  }
  st->ring_key[st->ring_head] = key;
  st->ring_vol[st->ring_head] = vol;
  st->ring_head = (st->ring_head + 1) % (size_t)st->win;
  slot_add(st, key, vol, 1);
  /* Shrink the key range past buckets the window has left. */
  while (st->kmin < st->kmax && slot_get(st, st->kmin) <= 0) st->kmin++;
  while (st->kmax > st->kmin && slot_get(st, st->kmax) <= 0) st->kmax--;
}

/* POC and value area of the current window; 0 when the window holds no volume.
 * The reference computation; value_area gives its results faster. */
static int value_area_full(const am_state *st, double *val, double *vah) {
  double total = 0, best = -1;
  int64_t poc = 0;
  if (st->kmax - st->kmin < AM_SLOTS) { /* the usual case: walk the occupied keys */
    for (int64_t k = st->kmin; k <= st->kmax; k++) {
      double v = slot_get(st, k);
      total += v;
      if (v > best) best = v, poc = k;
    }
  } else { /* a range wider than the table (a huge move): every slot */
    for (size_t s = 0; s < AM_SLOTS; s++) {
      double v = st->slot_vol[s];
      total += v;
      if (v > best || (v == best && st->slot_key[s] < poc)) best = v, poc = st->slot_key[s];
    }
  }
  if (!(total > 0)) return 0;
  double acc = best, goal = AM_VA_SHARE * total;
  int64_t lo = poc, hi = poc;
  for (int step = 0; acc < goal && step < AM_SLOTS; step++) {
    double up = slot_get(st, hi + 1), dn = slot_get(st, lo - 1);
    if (up >= dn) acc += up, hi++;
    else acc += dn, lo--;
  }
  *val = exp((double)lo * st->ln_w);
  *vah = exp((double)(hi + 1) * st->ln_w);
  return 1;
}

/* value_area_full's result without its walk over the keys, whose running
 * float total (a sequential sum, so exact only by redoing it) costs as much
 * as the rest of the bar.  The POC is kept by slot_add (a walk only when the
 * POC's volume shrank); the total only decides "acc < goal", and q_total
 * bounds it: with S = scale * (the exact sum of the slot volumes),
 * q_total <= S < q_total + 512, the float total within 1e-13 of S (<= 512
 * nonnegative terms) and the goal one rounding more, so an acc below
 * 0.7 q_total (1 - 1e-9) / scale is below the goal and one at or above
 * 0.7 (q_total + 512) (1 + 1e-9) / scale is not.  The expansion itself is
 * the same float sum as value_area_full's; an acc between the two bounds
 * (never seen on real volumes) falls back to value_area_full. */
static int value_area(am_state *st, double *val, double *vah) {
  const int64_t kmin = st->kmin, kmax = st->kmax;
  if (kmax - kmin >= AM_SLOTS) { /* rare: keys alias in the table */
    st->poc_ok = 0;
    return value_area_full(st, val, vah);
  }
  if (!st->poc_ok) { /* slots outside [kmin, kmax] hold 0 (see slot_get) */
    double best = -1;
    int64_t poc = 0;
    for (int64_t k = kmin; k <= kmax; k++) {
      double v = st->slot_vol[(size_t)k & (AM_SLOTS - 1)];
      if (v > best) best = v, poc = k;
    }
    st->best = best, st->poc = poc, st->poc_ok = 1;
  }
  const double best = st->best;
  const int64_t poc = st->poc;
  if (!(best > 0)) return 0; /* a sum of volumes >= 0 is > 0 iff one is */
  if (st->q_bad || !(best * st->q_scale >= 0x1p30 && best * st->q_scale < 0x1p50)) {
    int e;
    frexp(best, &e);
    if (e < -900 || e > 900) return value_area_full(st, val, vah);
    st->q_scale = ldexp(1.0, 46 - e); /* best at 2^45..2^46: 64x growth before a rescale */
    st->q_bad = 0;
    st->q_total = 0;
    for (size_t s = 0; s < AM_SLOTS; s++) st->q_total += q_of(st, st->slot_vol[s]);
    if (st->q_bad) return value_area_full(st, val, vah);
  }
  const double inv = 1.0 / st->q_scale; /* a power of 2: exact */
  const double below = AM_VA_SHARE * (double)st->q_total * (1 - 1e-9) * inv;
  const double above = AM_VA_SHARE * ((double)st->q_total + AM_SLOTS) * (1 + 1e-9) * inv;
  double acc = best;
  int64_t lo = poc, hi = poc;
  for (int step = 0; step < AM_SLOTS; step++) {
    if (!(acc < below)) {
      if (acc >= above) break;                  /* acc >= goal */
      return value_area_full(st, val, vah);     /* too close to tell */
    }
    /* slot_get(hi + 1), slot_get(lo - 1): keys outside [kmin, kmax] hold 0 */
    double up = hi < kmax ? st->slot_vol[(size_t)(hi + 1) & (AM_SLOTS - 1)] : 0.0;
    double dn = lo > kmin ? st->slot_vol[(size_t)(lo - 1) & (AM_SLOTS - 1)] : 0.0;
    if (up >= dn) acc += up, hi++;
    else acc += dn, lo--;
  }
  if (!st->have_va || lo != st->va_lo || hi != st->va_hi) {
    st->have_va = 1, st->va_lo = lo, st->va_hi = hi;
    st->va_val = exp((double)lo * st->ln_w);
    st->va_vah = exp((double)(hi + 1) * st->ln_w);
  }
  *val = st->va_val;
  *vah = st->va_vah;
  return 1;
}

static double aggression(const am_state *st) {
  double buy = 0, vol = 0;
  for (size_t k = 0; k < st->flow_cnt; k++) buy += st->flow_buy[k], vol += st->flow_vol[k];
  return vol > 0 ? 100.0 * buy / vol : 50.0;
}

static int open_count(const am_state *st, int *side) {
  int n = 0;
  *side = 0;
  for (int k = 0; k < st->max_pos; k++)
    if (st->pos[k].active) n++, *side = st->pos[k].side;
  return n;
}

static void enter(am_state *st, qt_ctx *cx, const qt_bar *b, int side, double atr) {
  int slot = -1;
  for (int k = 0; k < st->max_pos && slot < 0; k++)
    if (!st->pos[k].active) slot = k;
  if (slot < 0) return;
  double eq = qt_ctx_equity(cx);
  double stop_dist = st->p[P_STOP_M] * atr;
  if (!(stop_dist > 0) || !(eq > 0)) return;
  double qty = eq * st->p[P_RISK] / 100.0 / stop_dist;
  double cap = qt_ctx_qty_for_equity(cx, 0, 1.0 / st->max_pos, b->close);
  if (qty > cap) qty = cap;
  if (!(qty > 0)) return;
  qt_order_req o = {.inst = 0, .side = side, .type = QT_ORDER_MARKET, .leg = QT_LEG_NET,
                    .qty = qty, .reason = QT_EXIT_SIGNAL, .tag = slot * 4 + ROLE_ENTRY};
  if (qt_ctx_submit(cx, &o) <= 0) return;
  qt_ctx_signal(cx, 0, QT_LEG_NET, side, 0);
  am_pos *ps = &st->pos[slot];
  memset(ps, 0, sizeof *ps);
  ps->active = 1;
  ps->side = side;
  ps->stop_dist = stop_dist;
  ps->tgt_dist = st->p[P_TGT_M] * atr;
  ps->entry_i = b->i;
}

static void am_on_bar(void *vst, const qt_bar *b, qt_ctx *cx) {
  am_state *st = vst;
  profile_push(st, b);
  st->flow_buy[st->flow_head] = b->volume > 0 ? b->taker_buy_base : 0;
  st->flow_vol[st->flow_head] = b->volume > 0 ? b->volume : 0;
  st->flow_head = (st->flow_head + 1) % (size_t)st->flow_n;
  if (st->flow_cnt < (size_t)st->flow_n) st->flow_cnt++;

  double eq = qt_ctx_equity(cx);
  int64_t day = b->ts_ms >= 0 ? b->ts_ms / 86400000 : (b->ts_ms - 86399999) / 86400000;
  if (day != st->day) st->day = day, st->day_equity = eq, st->halted = 0;
  if (eq <= st->day_equity * (1.0 - st->p[P_MAXLOSS] / 100.0)) st->halted = 1;

  for (int k = 0; k < st->max_pos; k++) /* an entry the engine never filled */
    if (st->pos[k].active && !st->pos[k].filled && b->i > st->pos[k].entry_i + 2)
      st->pos[k].active = 0;
  if (b->i < (size_t)st->lookback) return;
  double val, vah;
  if (!value_area(st, &val, &vah)) return;
  double c = b->close;
  if (c >= val && c <= vah) st->armed_up = st->armed_dn = 1;
  double atr = st->atr[b->i];
  if (st->halted || !(atr > 0)) return;
  int side_open, n_open = open_count(st, &side_open);
  if (n_open >= st->max_pos) return;
  double buy_aggr = aggression(st), sell_aggr = 100.0 - buy_aggr;
  int want = 0, breakout = 0;
  if (c > vah && st->armed_up && buy_aggr >= st->p[P_MIN_AGGR]) want = QT_BUY, breakout = 1;
  else if (c < val && st->armed_dn && sell_aggr >= st->p[P_MIN_AGGR]) want = QT_SELL, breakout = 1;
  else if (st->p[P_BALANCE] >= 0.5 && c >= val && c <= vah) {
    if (b->high > vah) want = QT_SELL;
    else if (b->low < val) want = QT_BUY;
  }
  if (!want || (n_open > 0 && side_open != want)) return;
  enter(st, cx, b, want, atr);
  if (breakout) {
    if (want == QT_BUY) st->armed_up = 0;
    else st->armed_dn = 0;
  }
}

static void am_on_fill(void *vst, const qt_fill *f, qt_ctx *cx) {
  am_state *st = vst;
  if (f->tag < 0 || f->tag / 4 >= st->max_pos) return;
  am_pos *ps = &st->pos[f->tag / 4];
  if (!ps->active) return;
  int role = f->tag % 4;
  if (role == ROLE_ENTRY) {
    ps->qty += f->qty;
    /* Exits sized to what has filled so far: replace them on partial fills. */
    if (ps->filled) {
      qt_ctx_cancel(cx, ps->stop_id);
      qt_ctx_cancel(cx, ps->tgt_id);
    }
    ps->filled = 1;
    double stop_px = f->price - ps->side * ps->stop_dist;
    double tgt_px = f->price + ps->side * ps->tgt_dist;
    qt_order_req s = {.inst = 0, .side = -ps->side, .type = QT_ORDER_STOP, .leg = QT_LEG_NET,
                      .qty = ps->qty, .price = stop_px, .flags = QT_ORDER_REDUCE_ONLY,
                      .reason = QT_EXIT_STOP_LOSS, .tag = f->tag - role + ROLE_STOP};
    qt_order_req t = {.inst = 0, .side = -ps->side, .type = QT_ORDER_LIMIT, .leg = QT_LEG_NET,
                      .qty = ps->qty, .price = tgt_px, .flags = QT_ORDER_REDUCE_ONLY,
                      .reason = QT_EXIT_TAKE_PROFIT, .tag = f->tag - role + ROLE_TARGET};
    ps->stop_id = qt_ctx_submit(cx, &s);
    ps->tgt_id = qt_ctx_submit(cx, &t);
    if (ps->stop_id <= 0 && ps->tgt_id <= 0) ps->active = 0;
    return;
  }
  ps->exited += f->qty;
  if (ps->exited >= ps->qty * (1 - 1e-9)) {
    qt_ctx_cancel(cx, role == ROLE_STOP ? ps->tgt_id : ps->stop_id);
    ps->active = 0;
  }
}

const qt_strategy_vtbl qt_strategy_auction_market = {
    .abi = QT_STRATEGY_ABI,
    .name = "auction_market",
    .summary = "value-area breakouts confirmed by taker aggression, ATR stops and targets",
    .params = k_params,
    .n_params = P_COUNT,
    .state_size = sizeof(am_state),
    .needs = QT_WANTS_FLOW, /* the order-flow filter reads taker_buy_base */
    .n_instruments = 1,
    .lookback = am_lookback,
    .init = am_init,
    .on_bar = am_on_bar,
    .on_fill = am_on_fill,
};

/* The playbook's backtest knobs, as flags of backtest and optimize. */
static const qt_param_alias k_aliases[] = {
    {"min-aggression", "min_aggression_score"}, {"atr-stop", "atr_stop_multiplier"},
    {"atr-target", "atr_target_multiplier"},    {"risk-per-trade", "risk_per_trade_pct"},
    {"max-positions", "max_positions"},         {"max-daily-loss", "max_daily_loss_pct"},
    {"allow-balance-trades", "allow_balance_trades"},
};
const qt__alias_table qt__aliases_auction_market = {&qt_strategy_auction_market, k_aliases,
                                                    sizeof k_aliases / sizeof k_aliases[0]};
