/* Private state of the engine: the run context a strategy's qt_ctx points
 * at, per-feed cursors and position legs, the open-order book and the
 * indicator cache.  Only the engine sources include this. */
#ifndef QTUNE_ENGINE_ENGINE_INT_H
#define QTUNE_ENGINE_ENGINE_INT_H

#include "qtune/engine.h"

#define QT__MAX_FEEDS 8
#define QT__MAX_IND_OUT 8
/* Indicator cache budget per engine: over it, entries unused by the current
 * run are evicted before a new one is computed. */
#define QT__IND_BUDGET ((size_t)768 << 20)

/* Internal order flag (above the public QT_ORDER_* bits): the quantity is the
 * whole leg at fill time (qt_ctx_close). */
#define QT__ORDER_CLOSE_ALL 0x100u

typedef struct qt__order {
  int64_t id;
  int inst, side, type, leg;
  double qty, price;
  unsigned flags;
  int64_t expire_ms;
  int reason, tag;
  int64_t submit_i; /* clock index at submission; eligible from submit_i + 1 */
  unsigned gen;     /* bumped by replace, so a stale touch is not executed */
} qt__order;

/* An order touched in one bar's fill pass, sorted by path time. */
typedef struct qt__touch {
  int64_t id;
  unsigned gen;
  double t, px;
  int maker;
  size_t seq;
} qt__touch;

typedef struct qt__leg {
  double qty;     /* signed */
  double avg;     /* average entry price */
  double fees;    /* entry fees of the open quantity not yet in a trade record */
  double funding; /* funding of the open quantity (received +) */
  int64_t entry_ms;
  int64_t entry_i;
  int64_t sig_expire_ms; /* armed signal expiry, 0 = none */
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
  /* Where this feed's orders can be touched (see book_band): a bar with
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
  double *block; /* nout columns of n */
  uint64_t run;
} qt__ind;

struct qt_ctx {
  qt_engine_opts o;
  const qt_strategy_vtbl *s;
  void *st;
  size_t st_cap;
  int n_feeds;
  qt__feed fd[QT__MAX_FEEDS];
  int64_t i;       /* clock index (feed 0) */
  size_t from, to;
  int64_t now;
  qt__order *ord;  /* open orders in submission order */
  size_t n_ord, cap_ord;
  int book_dirty;  /* orders changed since the feeds' bands were computed */
  qt__touch *touch;
  int64_t next_id;
  int64_t next_expire_ms; /* <= the earliest expire_ms of the open orders */
  double cash, fees_paid, funding_paid;
  qt_trade_rec *trades;
  size_t n_trades, cap_trades;
  qt_order_event *olog; /* opts.log_orders */
  size_t n_olog, cap_olog;
  double *equity, *exposure;
  size_t cap_bars;
  size_t n_signals, n_expired, n_fills, n_orders, n_rejected, n_cancelled;
  int npos;        /* legs with a nonzero quantity */
  int n_armed;     /* legs with an armed signal expiry */
  int liquidated, stopped, in_init, oom;
  int liq_now;     /* one feed: the fill pass met the maintenance margin at liq_px */
  double liq_px;
  qt__ind *ind;
  size_t n_ind, cap_ind, ind_bytes;
  uint64_t run_id;
};

struct qt_engine {
  struct qt_ctx cx;
};

#endif
