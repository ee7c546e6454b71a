/* directional_momentum: a signal strategy of the auto-tuner design.  A 0-100
 * momentum score (4-hour price change, ADX trend strength, 1-hour volume
 * surge against the 24-hour average) opens a position in the direction of
 * the move; the signal expires.  Rules: docs/strategies/directional_momentum.md. */
#include "qtune/indicators.h"
#include "qtune/strategy.h"

#include <math.h>

#define DM_DAY_MS 86400000LL
#define DM_HOUR_MS 3600000LL
#define DM_CHANGE_MS (4 * DM_HOUR_MS)
#define DM_DEFAULT_INTERVAL_MS 60000LL
#define DM_ADX_LEN 14
#define DM_EQUITY_FRACTION 0.95
/* Score parts: points and the value that earns all of them. */
#define DM_PTS_CHANGE 40.0
#define DM_FULL_CHANGE_PCT 5.0
#define DM_PTS_ADX 30.0
#define DM_FULL_ADX 50.0
#define DM_PTS_VOLUME 30.0
#define DM_FULL_SURGE 3.0

enum { P_MIN_SCORE, P_MIN_CHANGE, P_EXPIRY_H, P_COUNT };

static const qt_param_spec k_params[P_COUNT] = {
  {"min_score", QT_PARAM_FLOAT, 30, 80, 0, 0, 50, NULL, 0, "momentum score (0-100) needed"},
  {"min_change_pct", QT_PARAM_FLOAT, 1.0, 8.0, 0, 0, 3.0, NULL, 0,
   "4-hour price change needed in the trade's direction, %"},
  {"expiry_hours", QT_PARAM_INT, 4, 48, 1, 0, 8, NULL, 0, "signal lifetime, hours"},
};

/* A sum over the last n values of a column, advanced to any index (on_bar may
 * skip bars during warm-up). */
typedef struct dm_roll {
  size_t n, next;
  double sum;
} dm_roll;

static void dm_roll_to(dm_roll *r, const double *v, size_t i) {
  for (; r->next <= i; r->next++) {
    r->sum += v[r->next];
    if (r->next >= r->n) r->sum -= v[r->next - r->n];
  }
}

typedef struct dm_state {
  double min_score, min_change;
  int64_t expiry_ms;
  size_t n_change, n_hour, n_day;
  const double *adx;
  const double *close, *volume; /* columns of instrument 0 */
  dm_roll vol_hour, vol_day;
  double last_score; /* of the last bar with a full window (for tests) */
} dm_state;

static int dm_lookback(const double *p) { return (int)(DM_DAY_MS / DM_DEFAULT_INTERVAL_MS) - 1; }

static size_t dm_bars(int64_t span_ms, int64_t iv) {
  int64_t n = span_ms / iv;
  return n < 1 ? 1 : (size_t)n;
}

static int dm_init(void *stv, const double *p, qt_ctx *cx, qt_err *err) {
  dm_state *st = stv;
  st->min_score = p[P_MIN_SCORE];
  st->min_change = p[P_MIN_CHANGE];
  st->expiry_ms = (int64_t)p[P_EXPIRY_H] * DM_HOUR_MS;
  size_t n = 0;
  const qt_bars *b = qt_ctx_bars(cx, 0, &n);
  int64_t iv = b && b->interval_ms > 0 ? b->interval_ms : DM_DEFAULT_INTERVAL_MS;
  st->n_change = dm_bars(DM_CHANGE_MS, iv);
  st->n_hour = dm_bars(DM_HOUR_MS, iv);
  st->n_day = dm_bars(DM_DAY_MS, iv);
  st->vol_hour.n = st->n_hour;
  st->vol_day.n = st->n_day;
  st->adx = qt_ctx_indicator(cx, 0, QT_IND_ADX, DM_ADX_LEN, 0, 0, 0, err);
  if (!st->adx) return err ? err->code : QT_EINVAL;
  return QT_OK;
}

static double dm_clamp01(double x) { return x < 0 ? 0 : x > 1 ? 1 : x; }

static void dm_on_bar(void *stv, const qt_bar *b, qt_ctx *cx) {
  dm_state *st = stv;
  if (!st->close) {
    size_t n = 0;
    const qt_bars *bs = qt_ctx_bars(cx, 0, &n);
    if (!bs) return;
    st->close = bs->close;
    st->volume = bs->volume;
  }
  size_t i = b->i;
  if (st->volume) { /* no volume column: the volume part stays 0 */
    dm_roll_to(&st->vol_hour, st->volume, i);
    dm_roll_to(&st->vol_day, st->volume, i);
  }
  double adx = st->adx[i];
  if (i + 1 < st->n_day || i < st->n_change || isnan(adx)) return;
  double base = st->close[i - st->n_change];
  if (!(base > 0)) return;
  double chg = (b->close / base - 1.0) * 100.0;
  double day_avg = st->vol_day.sum / (double)st->n_day;
  double surge = day_avg > 0 ? (st->vol_hour.sum / (double)st->n_hour) / day_avg : 0.0;
  double score = DM_PTS_CHANGE * dm_clamp01(fabs(chg) / DM_FULL_CHANGE_PCT) +
                 DM_PTS_ADX * dm_clamp01(adx / DM_FULL_ADX) +
                 DM_PTS_VOLUME * dm_clamp01((surge - 1.0) / (DM_FULL_SURGE - 1.0));
  st->last_score = score;
  int dir = 0;
  if (score >= st->min_score && fabs(chg) >= st->min_change) dir = chg > 0 ? 1 : -1;
  double pos = qt_ctx_position(cx, 0, QT_LEG_NET);
  if (pos != 0) {
    if (dir && (pos > 0) != (dir > 0)) qt_ctx_close(cx, 0, QT_LEG_NET, QT_EXIT_SIGNAL);
    return;
  }
  if (!dir) return;
  double qty = qt_ctx_qty_for_equity(cx, 0, DM_EQUITY_FRACTION, b->close);
  if (!(qty > 0)) return;
  qt_ctx_signal(cx, 0, QT_LEG_NET, dir, qt_ctx_now(cx) + st->expiry_ms);
  qt_ctx_market(cx, 0, dir > 0 ? QT_BUY : QT_SELL, QT_LEG_NET, qty, QT_EXIT_SIGNAL);
}

const qt_strategy_vtbl qt_strategy_directional_momentum = {
  QT_STRATEGY_ABI,
  "directional_momentum",
  "momentum signal: 4 h change + ADX + volume surge score, trades the move's direction; expires",
  k_params,
  P_COUNT,
  sizeof(dm_state),
  0,
  1,
  dm_lookback,
  dm_init,
  dm_on_bar,
  NULL,
  NULL,
  NULL,
  NULL, /* quiet_until */
};
