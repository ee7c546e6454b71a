/* sma_cross: the reference strategy.  On a strict cross of the fast SMA of
 * closes above the slow one (fast[i-1] < slow[i-1] and fast[i] > slow[i]) it
 * closes any position and goes long with all equity; on a strict cross below
 * it closes and goes short likewise.  Orders are market orders, so they fill
 * at the next open (or at this close with trade_on_close).  `sizing` says
 * at which price "all equity" becomes a quantity: the signal bar's close
 * (signal_close, the default) or the fill price (fill: backtesting.py's
 * buy() with its default size, docs/migrating.md).  The SMA columns
 * come precomputed from the engine's indicator cache, so on_bar is four
 * loads and two compares on most bars. */
#include "qtune/indicators.h"
#include "qtune/strategy.h"

#include <math.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum { P_FAST, P_SLOW, P_SIZING, P_COUNT };
enum { SIZE_SIGNAL_CLOSE, SIZE_FILL };

static const char *const k_sizing[] = {"signal_close", "fill"};

static const qt_param_spec k_params[P_COUNT] = {
    {"fast", QT_PARAM_INT, 2, 200, 1, 0, 10, NULL, 0, "fast SMA length, bars"},
    {"slow", QT_PARAM_INT, 5, 400, 1, 0, 30, NULL, 0, "slow SMA length, bars (> fast)"},
    {"sizing", QT_PARAM_CAT, 0, 1, 1, 0, SIZE_SIGNAL_CLOSE, k_sizing, 2,
     "all-in quantity from the signal bar's close, or from the fill price (backtesting.py)"},
};

typedef struct sc_state {
  const double *fast, *slow;
  int at_fill;
} sc_state;

static int sc_lookback(const double *p) { return (int)p[P_SLOW]; }

static int sc_init(void *st, const double *p, qt_ctx *cx, qt_err *err) {
  sc_state *s = st;
  int fast = (int)p[P_FAST], slow = (int)p[P_SLOW];
  if (fast >= slow)
    return qt_err_set(err, QT_EPARAM, "sma_cross: fast (%d) must be less than slow (%d)", fast,
                      slow);
  s->at_fill = (int)p[P_SIZING] == SIZE_FILL;
  s->fast = qt_ctx_indicator(cx, 0, QT_IND_SMA, fast, 0, 0, 0, err);
  if (!s->fast) return err ? err->code : QT_EINVAL;
  s->slow = qt_ctx_indicator(cx, 0, QT_IND_SMA, slow, 0, 0, 0, err);
  if (!s->slow) return err ? err->code : QT_EINVAL;
  return QT_OK;
}

/* A cross: close what is held and go all in the other way (out of line, so
 * the bars without a cross cost on_bar no register saves). */
static __attribute__((noinline)) void sc_cross(const sc_state *s, const qt_bar *b, qt_ctx *cx,
                                               int side) {
  double pos = qt_ctx_position(cx, 0, QT_LEG_NET);
  if (pos != 0) qt_ctx_close(cx, 0, QT_LEG_NET, QT_EXIT_SIGNAL);
  qt_ctx_signal(cx, 0, QT_LEG_NET, side, 0);
  if (s->at_fill) { /* sized at the fill, after the close above has filled */
    qt_ctx_market_fraction(cx, 0, side, QT_LEG_NET, 1.0, QT_EXIT_SIGNAL);
    return;
  }
  double qty = qt_ctx_qty_for_equity(cx, 0, 1.0, b->close);
  if (qty > 0) qt_ctx_market(cx, 0, side, QT_LEG_NET, qty, QT_EXIT_SIGNAL);
}

static void sc_on_bar(void *st, const qt_bar *b, qt_ctx *cx) {
  const sc_state *s = st;
  size_t i = b->i;
  if (i == 0) return;
  double f1 = s->fast[i], s1 = s->slow[i], f0 = s->fast[i - 1], s0 = s->slow[i - 1];
  /* NaN (warm-up) compares false, so no cross fires before both exist */
  int up = f0 < s0 && f1 > s1;
  int down = f0 > s0 && f1 < s1;
  if (up | down) sc_cross(s, b, cx, up ? QT_BUY : QT_SELL);
}

/* The next bar with a cross: on_bar acts on crosses only, whatever is held.
 * On x86-64, eight bars a time: the compares of on_bar as bit masks (bar k
 * at bit k), each bar's "fast below" and "fast above" against the one
 * before it (the carry from the previous block); a block with a cross is
 * found by its lowest set bit.  The same compares, so the same bar. */
static size_t sc_quiet_until(const void *st, const qt_ctx *cx, size_t i, size_t end) {
  (void)cx;
  const sc_state *s = st;
  if (i == 0) i = 1; /* on_bar(0) returns at once */
  if (i >= end) return end;
  const double *fast = s->fast, *slow = s->slow;
  size_t k = i;
#ifdef __SSE2__
  unsigned lt_c = fast[k - 1] < slow[k - 1], gt_c = fast[k - 1] > slow[k - 1];
  for (; k + 8 <= end; k += 8) {
    __m128d f0 = _mm_loadu_pd(fast + k), w0 = _mm_loadu_pd(slow + k);
    __m128d f2 = _mm_loadu_pd(fast + k + 2), w2 = _mm_loadu_pd(slow + k + 2);
    __m128d f4 = _mm_loadu_pd(fast + k + 4), w4 = _mm_loadu_pd(slow + k + 4);
    __m128d f6 = _mm_loadu_pd(fast + k + 6), w6 = _mm_loadu_pd(slow + k + 6);
    unsigned lt = (unsigned)_mm_movemask_pd(_mm_cmplt_pd(f0, w0)) |
                  (unsigned)_mm_movemask_pd(_mm_cmplt_pd(f2, w2)) << 2 |
                  (unsigned)_mm_movemask_pd(_mm_cmplt_pd(f4, w4)) << 4 |
                  (unsigned)_mm_movemask_pd(_mm_cmplt_pd(f6, w6)) << 6;
    unsigned gt = (unsigned)_mm_movemask_pd(_mm_cmpgt_pd(f0, w0)) |
                  (unsigned)_mm_movemask_pd(_mm_cmpgt_pd(f2, w2)) << 2 |
                  (unsigned)_mm_movemask_pd(_mm_cmpgt_pd(f4, w4)) << 4 |
                  (unsigned)_mm_movemask_pd(_mm_cmpgt_pd(f6, w6)) << 6;
    unsigned lt_p = (lt << 1 | lt_c) & 0xffu, gt_p = (gt << 1 | gt_c) & 0xffu;
    unsigned cross = (lt_p & gt) | (gt_p & lt);
    if (cross) return k + (size_t)__builtin_ctz(cross);
    lt_c = lt >> 7;
    gt_c = gt >> 7;
  }
#endif
  double f0 = fast[k - 1], s0 = slow[k - 1];
  for (; k < end; k++) {
    double f1 = fast[k], s1 = slow[k];
    if ((f0 < s0 && f1 > s1) | (f0 > s0 && f1 < s1)) return k;
    f0 = f1;
    s0 = s1;
  }
  return end;
}

const qt_strategy_vtbl qt_strategy_sma_cross = {
    .abi = QT_STRATEGY_ABI,
    .name = "sma_cross",
    .summary = "long/short on strict crosses of a fast and a slow SMA of closes, all in",
    .params = k_params,
    .n_params = P_COUNT,
    .state_size = sizeof(sc_state),
    .needs = 0,
    .n_instruments = 1,
    .lookback = sc_lookback,
    .init = sc_init,
    .on_bar = sc_on_bar,
    .on_fill = NULL,
    .on_funding = NULL,
    .fini = NULL,
    .quiet_until = sc_quiet_until,
};
