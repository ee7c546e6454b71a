/* Helpers shared by the strategy tests: hand-made bar paths, synthetic
 * markets as feeds, and the invariants every run must keep. */
#ifndef QTUNE_TESTS_STRATEGIES_STRAT_UTIL_H
#define QTUNE_TESTS_STRATEGIES_STRAT_UTIL_H

#include "qt_test.h"
#include "qtune/engine.h"
#include "qtune/strategies.h"

#define SU_T0 (qt_time_days_from_civil(2026, 1, 1) * 86400000LL)

/* n one-minute bars from columns; vol/tb may be NULL (vol 10, taker buy 5). */
static inline int su_bars(qt_bars *b, size_t n, const double *o, const double *h, const double *l,
                          const double *c, const double *vol, const double *tb) {
  qt_err err;
  if (qt_bars_alloc(b, n, &err) != QT_OK) return -1;
  b->interval_ms = 60000;
  for (size_t i = 0; i < n; i++) {
    b->ts_ms[i] = SU_T0 + (int64_t)i * 60000;
    b->open[i] = o[i];
    b->high[i] = h[i];
    b->low[i] = l[i];
    b->close[i] = c[i];
    b->volume[i] = vol ? vol[i] : 10;
    b->taker_buy_base[i] = tb ? tb[i] : 5;
    b->quote_volume[i] = b->volume[i] * c[i];
    b->taker_buy_quote[i] = b->taker_buy_base[i] * c[i];
    b->trade_count[i] = 10;
  }
  return 0;
}

/* A synthetic market of `days` days (venue B sd widened by sd_b_bps when > 0). */
static inline int su_synth(qt_synth_market *m, uint64_t seed, int days, double sd_b_bps) {
  qt_synth_opts o = qt_synth_opts_default();
  o.seed = seed;
  o.days = days;
  if (sd_b_bps > 0) o.venue_b_sd_bps = sd_b_bps;
  qt_err err;
  int rc = qt_synth_generate(&o, m, &err);
  if (rc) fprintf(stderr, "  synth: %s\n", err.msg);
  return rc;
}

/* Feeds for strategy s on the synthetic market: venue B as instrument 1 when
 * it trades two, funding and quotes attached; both perps (shortable). */
static inline int su_feeds(const qt_strategy_vtbl *s, const qt_synth_market *m, qt_feed *f) {
  memset(f, 0, 2 * sizeof *f);
  f[0].inst = qt_instrument_default("SYN");
  f[0].inst.kind = QT_INST_PERP;
  f[0].inst.lot_size = 0.001;
  f[0].inst.tick_size = 0.01;
  f[0].bars = &m->bars;
  f[0].funding = &m->funding;
  f[0].quotes = &m->quotes;
  if (s->n_instruments < 2) return 1;
  f[1].inst = qt_instrument_default("SYN.B");
  f[1].inst.venue = 1;
  f[1].inst.kind = QT_INST_PERP;
  f[1].inst.lot_size = 0.001;
  f[1].inst.tick_size = 0.01;
  f[1].bars = &m->bars_b;
  f[1].quotes = &m->quotes_b;
  return 2;
}

/* A one-instrument feed over hand-made bars. */
static inline qt_feed su_feed(const qt_bars *b, const char *sym) {
  qt_feed f;
  memset(&f, 0, sizeof f);
  f.inst = qt_instrument_default(sym);
  f.inst.kind = QT_INST_PERP;
  f.bars = b;
  return f;
}

/* Sets bar i at SU_T0 + i intervals: OHLC, volume vol, quote volume vol * c. */
static inline void su_setb(qt_bars *b, size_t i, double o, double h, double l, double c, double vol) {
  b->ts_ms[i] = SU_T0 + (int64_t)i * b->interval_ms;
  b->open[i] = o;
  b->high[i] = h;
  b->low[i] = l;
  b->close[i] = c;
  b->volume[i] = vol;
  b->quote_volume[i] = vol * c;
}

/* su_feed("TEST") with the given fees. */
static inline qt_feed su_feed_bps(const qt_bars *b, double maker_bps, double taker_bps) {
  qt_feed f = su_feed(b, "TEST");
  f.inst.maker_bps = maker_bps;
  f.inst.taker_bps = taker_bps;
  return f;
}

/* Runs s over nf feeds on a new engine *e (the caller frees it); hedge
 * turns on hedge mode.  The error, if any, is printed. */
static inline int su_run(const qt_feed *f, int nf, const qt_strategy_vtbl *s, const double *p,
                         int hedge, qt_engine **e, qt_result *r) {
  qt_engine_opts o = qt_engine_opts_default();
  o.hedge_mode = hedge;
  qt_err err;
  if (qt_engine_new(&o, e, &err)) return -1;
  int rc = qt_engine_run(*e, f, nf, s, p, r, &err);
  if (rc) fprintf(stderr, "  run: %s\n", err.msg);
  return rc;
}

/* An on_bar wrapper that counts bars where equity != cash + every
 * instrument's net position marked at its last close.  The state is a
 * function-local static so tests that do not use it get no unused global. */
typedef struct su_eq {
  const qt_strategy_vtbl *inner;
  int bad;
} su_eq;
static inline su_eq *su_eq_state(void) {
  static su_eq st;
  return &st;
}
static inline void su_eq_on_bar(void *st, const qt_bar *b, qt_ctx *cx) {
  double m = qt_ctx_cash(cx);
  for (int k = 0; k < qt_ctx_n_instruments(cx); k++) {
    size_t n = 0;
    const qt_bars *bs = qt_ctx_bars(cx, k, &n);
    double q = qt_ctx_position(cx, k, QT_LEG_NET);
    if (q != 0 && n) m += q * (bs->close[n - 1] - qt_ctx_entry_price(cx, k, QT_LEG_NET));
  }
  double e = qt_ctx_equity(cx);
  if (fabs(e - m) > 1e-9 * fabs(e) + 1e-9) su_eq_state()->bad++;
  su_eq_state()->inner->on_bar(st, b, cx);
}
/* s with the equity check on every bar; resets the count. */
static inline qt_strategy_vtbl su_eq_wrap(const qt_strategy_vtbl *s) {
  qt_strategy_vtbl v = *s;
  v.on_bar = su_eq_on_bar;
  su_eq_state()->inner = s;
  su_eq_state()->bad = 0;
  return v;
}
static inline int su_eq_bad(void) { return su_eq_state()->bad; }

/* Checks on run r of v (from su_eq_wrap) with seed `seed`: printed; equity
 * held every bar; fees never negative; a fresh engine gives the same number
 * of trades and the same final equity. */
static inline void su_check_rerun(uint64_t seed, const qt_feed *f, int nf, const qt_strategy_vtbl *v,
                                  const double *p, const qt_result *r) {
  fprintf(stderr, "    seed %llu: %zu trades, %zu signals, %zu expired, equity %.2f\n",
          (unsigned long long)seed, r->n_trades, r->n_signals, r->n_expired, r->final_equity);
  EXPECT_EQ(su_eq_bad(), 0);
  EXPECT_TRUE(r->fees_paid >= 0);
  for (size_t j = 0; j < r->n_trades; j++) EXPECT_TRUE(r->trades[j].fees >= 0);
  qt_engine *e2 = NULL;
  qt_result r2;
  if (su_run(f, nf, v, p, 0, &e2, &r2) != 0) {
    EXPECT_TRUE(0);
  } else {
    EXPECT_EQ(r2.n_trades, r->n_trades);
    EXPECT_TRUE(r2.final_equity == r->final_equity);
  }
  qt_engine_free(e2);
}

/* Invariants of one finished run (close_at_end on, no liquidation):
 * equity = cash + marked positions, so with everything closed the final
 * equity is the start plus the trades' net P&L; fees never negative. */
static inline void su_check_invariants(const qt_result *r) {
  EXPECT_TRUE(r->fees_paid >= 0);
  double sum_pnl = 0, sum_fees = 0;
  for (size_t k = 0; k < r->n_trades; k++) {
    EXPECT_TRUE(r->trades[k].fees >= 0);
    EXPECT_TRUE(r->trades[k].exit_ms >= r->trades[k].entry_ms);
    EXPECT_TRUE(r->trades[k].qty > 0);
    sum_pnl += r->trades[k].pnl;
    sum_fees += r->trades[k].fees;
  }
  EXPECT_NEAR(sum_fees, r->fees_paid, 1e-9);
  if (!r->liquidated) EXPECT_NEAR(r->final_equity, r->start_cash + sum_pnl, 1e-9);
  for (size_t i = 0; i < r->n_bars; i++)
    if (!isfinite(r->equity[i])) {
      EXPECT_TRUE(isfinite(r->equity[i]));
      break;
    }
}

/* Two results are the same run: every number equal. */
static inline int su_same_result(const qt_result *a, const qt_result *b) {
  if (a->n_bars != b->n_bars || a->n_trades != b->n_trades || a->n_orders != b->n_orders ||
      a->n_fills != b->n_fills || a->n_signals != b->n_signals || a->fees_paid != b->fees_paid ||
      a->final_equity != b->final_equity)
    return 0;
  if (memcmp(a->equity, b->equity, a->n_bars * sizeof *a->equity) != 0) return 0;
  for (size_t k = 0; k < a->n_trades; k++)
    if (a->trades[k].pnl != b->trades[k].pnl || a->trades[k].qty != b->trades[k].qty ||
        a->trades[k].entry_ms != b->trades[k].entry_ms || a->trades[k].exit_ms != b->trades[k].exit_ms)
      return 0;
  return 1;
}

/* A copy of what su_same_result compares (results borrow engine buffers). */
typedef struct su_snap {
  qt_result r;
  double *equity;
  qt_trade_rec *trades;
} su_snap;
static inline void su_snap_take(su_snap *s, const qt_result *r) {
  s->r = *r;
  s->equity = malloc((r->n_bars ? r->n_bars : 1) * sizeof *s->equity);
  s->trades = malloc((r->n_trades ? r->n_trades : 1) * sizeof *s->trades);
  memcpy(s->equity, r->equity, r->n_bars * sizeof *s->equity);
  if (r->n_trades) memcpy(s->trades, r->trades, r->n_trades * sizeof *s->trades);
  s->r.equity = s->equity;
  s->r.trades = s->trades;
}
static inline void su_snap_free(su_snap *s) {
  free(s->equity);
  free(s->trades);
}

/* Runs s (params p, defaults when NULL) on three synthetic markets: the
 * invariants hold, the same seed gives the same result on a fresh engine,
 * and the total number of trades is returned. */
static inline size_t su_random_markets(const qt_strategy_vtbl *s, const double *p, int days,
                                       double sd_b_bps) {
  double def[64];
  if (!p) {
    qt_strategy_defaults(s, def);
    p = def;
  }
  size_t trades = 0;
  for (uint64_t seed = 1; seed <= 3; seed++) {
    qt_synth_market m;
    memset(&m, 0, sizeof m);
    if (su_synth(&m, seed, days, sd_b_bps) != 0) {
      EXPECT_TRUE(0);
      return 0;
    }
    qt_feed f[2];
    int nf = su_feeds(s, &m, f);
    qt_engine_opts eo = qt_engine_opts_default();
    qt_engine *e1 = NULL, *e2 = NULL;
    qt_err err;
    qt_result r1, r2;
    if (qt_engine_new(&eo, &e1, &err) || qt_engine_new(&eo, &e2, &err)) {
      EXPECT_TRUE(0);
    } else if (qt_engine_run(e1, f, nf, s, p, &r1, &err) != QT_OK) {
      fprintf(stderr, "  run: %s\n", err.msg);
      EXPECT_TRUE(0);
    } else {
      su_check_invariants(&r1);
      trades += r1.n_trades;
      EXPECT_EQ(qt_engine_run(e2, f, nf, s, p, &r2, &err), QT_OK);
      EXPECT_TRUE(su_same_result(&r1, &r2));
    }
    qt_engine_free(e1);
    qt_engine_free(e2);
    qt_synth_market_fini(&m);
  }
  return trades;
}

#endif
