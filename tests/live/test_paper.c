/* The paper runner (src/live/paper.c) through its API: a replay gives what
 * qt_engine_run gives on the same bars, bit for bit; a stream of the same
 * bars gives the backtest without the close at the end; a stale kline is
 * counted, not traded; a run stopped part-way and opened again from the
 * storage resumes to the uninterrupted result with the same stored rows;
 * max_positions over two symbols refuses entries and records the breach;
 * the stop flag ends a run as stopped; live params on a stream apply from
 * the bar they were handed over at, across the engine's restarts. */
#include "qt_test.h"
#include "qtune/live.h"
#include "qtune/strategies.h"

#include <time.h>
#include <unistd.h>

#define NB 3000

static int64_t g_ts[NB];
static double g_o[NB], g_h[NB], g_l[NB], g_c[NB], g_v[NB];
static qt_bars g_bars;

static void set_params(void);
static void mk_bars(uint64_t seed) {
  set_params();
  qt_rng r;
  qt_rng_seed(&r, seed);
  double p = 100;
  for (size_t i = 0; i < NB; i++) {
    double o = p, c = o * (1 + 0.004 * qt_rng_normal(&r));
    g_ts[i] = 1700000000000 + (int64_t)i * 60000;
    g_o[i] = o, g_c[i] = c;
    g_h[i] = fmax(o, c) * (1 + 0.002 * qt_rng_uniform(&r));
    g_l[i] = fmin(o, c) * (1 - 0.002 * qt_rng_uniform(&r));
    g_v[i] = 5;
    p = c;
  }
  g_bars = (qt_bars){.n = NB, .interval_ms = 60000, .ts_ms = g_ts, .open = g_o, .high = g_h,
                     .low = g_l, .close = g_c, .volume = g_v};
}

/* sma_cross at fast 10, slow 30, its other params at their defaults */
static double k_p[16];
static void set_params(void) {
  qt_strategy_defaults(qt_strategy_find("sma_cross"), k_p);
  k_p[0] = 10, k_p[1] = 30;
}

static qt_paper_opts replay_opts(const qt_feed *f) {
  qt_paper_opts o = qt_paper_opts_default();
  o.strategy = qt_strategy_find("sma_cross");
  o.params = k_p;
  o.n_symbols = 1;
  o.symbols[0] = "TEST";
  o.replay_feeds[0] = f;
  o.replay_n_feeds[0] = 1;
  o.replay_to[0] = NB;
  o.feed_name = "replay";
  o.params_json = "{\"fast\": 10, \"slow\": 30}";
  return o;
}

static int open_replay_feed(qt_livefeed *feed, int64_t skip) {
  qt_live_replay_opts ro;
  memset(&ro, 0, sizeof ro);
  ro.n = 1;
  ro.bars[0] = &g_bars;
  ro.symbols[0] = "TEST";
  ro.to[0] = NB;
  ro.skip_through_ms[0] = skip;
  qt_err err;
  return qt_livefeed_replay(&ro, feed, &err);
}

static int same(const qt_result *a, const qt_result *b) {
  return a->n_bars == b->n_bars && a->n_trades == b->n_trades &&
         a->n_order_log == b->n_order_log && a->n_fills == b->n_fills &&
         !memcmp(a->equity, b->equity, a->n_bars * sizeof(double)) &&
         (!a->n_trades || !memcmp(a->trades, b->trades, a->n_trades * sizeof *a->trades)) &&
         (!a->n_order_log ||
          !memcmp(a->order_log, b->order_log, a->n_order_log * sizeof *a->order_log));
}

static void replay_equals_backtest(void) {
  mk_bars(5);
  qt_feed f = {.inst = qt_instrument_default("TEST"), .bars = &g_bars};
  qt_engine_opts eo = qt_engine_opts_default();
  eo.log_orders = 1;
  qt_engine *e = NULL;
  qt_err err;
  ASSERT_TRUE(qt_engine_new(&eo, &e, &err) == 0);
  qt_result rb, rp;
  ASSERT_TRUE(qt_engine_run(e, &f, 1, qt_strategy_find("sma_cross"), k_p, &rb, &err) == 0);
  qt_paper_opts o = replay_opts(&f);
  qt_paper *p = NULL;
  ASSERT_TRUE(qt_paper_open(&o, &p, &err) == 0);
  qt_livefeed feed;
  ASSERT_TRUE(open_replay_feed(&feed, 0) == 0);
  EXPECT_EQ(qt_paper_run(p, &feed, &err), QT_DONE);
  qt_paper_result(p, 0, &rp);
  EXPECT_TRUE(rb.n_trades > 20);
  EXPECT_TRUE(same(&rb, &rp));
  qt_paper_symbol_sum sum[2];
  EXPECT_EQ(qt_paper_summary(p, sum, 2), 1);
  EXPECT_DBL_EQ(sum[0].equity, rb.final_equity);
  EXPECT_DBL_EQ(sum[1].pnl, rb.final_equity - eo.cash); /* the portfolio row */
  EXPECT_STREQ(sum[1].symbol, "portfolio");
  qt_livefeed_close(&feed);
  qt_paper_free(p);
  qt_engine_free(e);
}

/* An in-memory stream of g_bars' klines, with one repeat of bar 100. */
typedef struct mem {
  size_t i, n, repeat_at;
  int repeated;
} mem;

static int mem_next(void *self, qt_live_event *e, int t, qt_err *err) {
  mem *m = self;
  if (m->i >= m->n) return QT_DONE;
  size_t i = m->i;
  if (i == m->repeat_at + 1 && !m->repeated) {
    m->repeated = 1;
    i = m->repeat_at;
  } else {
    m->i++;
  }
  memset(e, 0, sizeof *e);
  e->kind = QT_LIVE_BAR;
  snprintf(e->symbol, sizeof e->symbol, "TEST");
  e->ts_ms = g_ts[i], e->close_ms = g_ts[i] + 59999, e->closed = 1;
  e->open = g_o[i], e->high = g_h[i], e->low = g_l[i], e->close = g_c[i], e->volume = g_v[i];
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  e->recv_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
  return QT_OK;
}
static void mem_counts(const void *self, qt_live_counts *c) { memset(c, 0, sizeof *c); }
static void mem_close(void *self) {}
static const qt_livefeed_vtbl k_mem = {"mem", mem_next, mem_counts, mem_close};

static void stream_equals_backtest_without_close(void) {
  mk_bars(6);
  size_t n = 400;
  qt_bars part = g_bars;
  part.n = n;
  qt_feed f = {.inst = qt_instrument_default("TEST"), .bars = &part};
  qt_engine_opts eo = qt_engine_opts_default();
  eo.log_orders = 1;
  eo.close_at_end = 0;
  qt_engine *e = NULL;
  qt_err err;
  ASSERT_TRUE(qt_engine_new(&eo, &e, &err) == 0);
  qt_result rb, rp;
  ASSERT_TRUE(qt_engine_run(e, &f, 1, qt_strategy_find("sma_cross"), k_p, &rb, &err) == 0);
  qt_paper_opts o = qt_paper_opts_default();
  o.strategy = qt_strategy_find("sma_cross");
  o.params = k_p;
  o.n_symbols = 1;
  o.symbols[0] = "TEST";
  o.inst[0] = qt_instrument_default("TEST");
  qt_paper *p = NULL;
  ASSERT_TRUE(qt_paper_open(&o, &p, &err) == 0);
  mem m = {0, n, 100, 0};
  qt_livefeed feed = {&k_mem, &m};
  EXPECT_EQ(qt_paper_run(p, &feed, &err), QT_DONE);
  qt_paper_result(p, 0, &rp);
  EXPECT_TRUE(rb.n_trades > 5);
  EXPECT_TRUE(same(&rb, &rp));
  qt_paper_status st;
  qt_paper_status_get(p, &st);
  EXPECT_EQ(st.duplicates, 1);
  EXPECT_EQ(st.n_bars, n);
  EXPECT_TRUE(st.median_latency_us > 0);
  qt_paper_free(p);
  qt_engine_free(e);
}

static void stop_and_resume_from_storage(void) {
  mk_bars(7);
  qt_feed f = {.inst = qt_instrument_default("TEST"), .bars = &g_bars};
  char path[256], url[300];
  snprintf(path, sizeof path, "/tmp/qtune_test_live_paper_%d.db", (int)getpid());
  unlink(path);
  snprintf(url, sizeof url, "sqlite:///%s", path);
  qt_storage st;
  qt_err err;
  ASSERT_TRUE(qt_storage_open(url, &st, &err) == 0);
  /* first part: stopped after about half the bars (max_wall_ms is not a
   * bar count, so the stop comes from a feed that ends early instead) */
  qt_paper_opts o = replay_opts(&f);
  o.storage = &st;
  o.name = "resume";
  o.commit_every = 7;
  qt_paper *p = NULL;
  ASSERT_TRUE(qt_paper_open(&o, &p, &err) == 0);
  qt_live_replay_opts ro;
  memset(&ro, 0, sizeof ro);
  ro.n = 1, ro.bars[0] = &g_bars, ro.symbols[0] = "TEST", ro.to[0] = NB / 2;
  qt_livefeed feed;
  ASSERT_TRUE(qt_livefeed_replay(&ro, &feed, &err) == 0);
  for (;;) { /* the runner's loop by hand, stopping without the end */
    qt_live_event ev;
    if (feed.vt->next(feed.self, &ev, 0, &err) != QT_OK) break;
    ASSERT_TRUE(qt_paper_event(p, &ev, &err) == 0);
  }
  qt_livefeed_close(&feed);
  qt_paper_free(p); /* as if killed: only what was committed stays */
  qt_paper_run_rec run;
  ASSERT_TRUE(qt_paper_run_get(&st, "resume", &run, &err) == 0);
  EXPECT_TRUE(run.last_bar_ms > g_ts[NB / 4] && run.last_bar_ms <= g_ts[NB / 2 - 1]);
  /* another params set is refused */
  qt_paper_opts o2 = o;
  o2.params_json = "{\"fast\": 11, \"slow\": 30}";
  EXPECT_EQ(qt_paper_open(&o2, &p, &err), QT_ESTATE);
  /* resume to the end */
  ASSERT_TRUE(qt_paper_open(&o, &p, &err) == 0);
  EXPECT_EQ(qt_paper_resume_ms(p, 0), run.last_bar_ms);
  ASSERT_TRUE(open_replay_feed(&feed, qt_paper_resume_ms(p, 0)) == 0);
  EXPECT_EQ(qt_paper_run(p, &feed, &err), QT_DONE);
  qt_result rp;
  qt_paper_result(p, 0, &rp);
  qt_engine_opts eo = qt_engine_opts_default();
  eo.log_orders = 1;
  qt_engine *e = NULL;
  ASSERT_TRUE(qt_engine_new(&eo, &e, &err) == 0);
  qt_result rb;
  ASSERT_TRUE(qt_engine_run(e, &f, 1, qt_strategy_find("sma_cross"), k_p, &rb, &err) == 0);
  EXPECT_TRUE(same(&rb, &rp));
  qt_paper_order_rec *ov = NULL;
  qt_paper_trade_rec *tv = NULL;
  size_t no = 0, nt = 0;
  EXPECT_EQ(qt_paper_orders_list(&st, run.id, NULL, &ov, &no, &err), 0);
  EXPECT_EQ(qt_paper_trades_list(&st, run.id, NULL, &tv, &nt, &err), 0);
  EXPECT_EQ(no, rb.n_order_log); /* nothing lost, nothing doubled */
  EXPECT_EQ(nt, rb.n_trades);
  for (size_t k = 0; k < nt && k < rb.n_trades; k++) {
    EXPECT_EQ(tv[k].seq, (int64_t)k);
    EXPECT_DBL_EQ(tv[k].pnl, rb.trades[k].pnl);
  }
  qt_free(ov);
  qt_free(tv);
  EXPECT_EQ(qt_paper_run_get(&st, "resume", &run, &err), 0);
  EXPECT_STREQ(run.status, "done");
  qt_livefeed_close(&feed);
  qt_paper_free(p);
  qt_engine_free(e);
  qt_storage_close(&st);
  unlink(path);
}

static void max_positions_two_symbols(void) {
  mk_bars(8);
  qt_feed f = {.inst = qt_instrument_default("TEST"), .bars = &g_bars};
  qt_paper_opts o = replay_opts(&f);
  o.n_symbols = 2;
  o.symbols[1] = "TWIN";
  o.replay_feeds[1] = &f;
  o.replay_n_feeds[1] = 1;
  o.replay_to[1] = NB;
  o.limits.max_positions = 1;
  qt_paper *p = NULL;
  qt_err err;
  ASSERT_TRUE(qt_paper_open(&o, &p, &err) == 0);
  qt_live_replay_opts ro;
  memset(&ro, 0, sizeof ro);
  ro.n = 2;
  ro.bars[0] = ro.bars[1] = &g_bars;
  ro.symbols[0] = "TEST", ro.symbols[1] = "TWIN";
  ro.to[0] = ro.to[1] = NB;
  qt_livefeed feed;
  ASSERT_TRUE(qt_livefeed_replay(&ro, &feed, &err) == 0);
  EXPECT_EQ(qt_paper_run(p, &feed, &err), QT_DONE);
  qt_result r0, r1;
  qt_paper_result(p, 0, &r0);
  qt_paper_result(p, 1, &r1);
  /* the same bars: TEST enters first each time, TWIN is refused */
  EXPECT_TRUE(r0.n_trades > 10);
  EXPECT_EQ(r1.n_trades, 0);
  EXPECT_TRUE(r1.n_rejected > 10);
  qt_paper_status st;
  qt_paper_status_get(p, &st);
  EXPECT_TRUE(st.n_breaches >= r1.n_rejected);
  qt_livefeed_close(&feed);
  qt_paper_free(p);
}

static void stop_flag(void) {
  mk_bars(9);
  qt_feed f = {.inst = qt_instrument_default("TEST"), .bars = &g_bars};
  volatile sig_atomic_t stop = 1;
  qt_paper_opts o = replay_opts(&f);
  o.stop = &stop;
  qt_paper *p = NULL;
  qt_err err;
  ASSERT_TRUE(qt_paper_open(&o, &p, &err) == 0);
  qt_livefeed feed;
  ASSERT_TRUE(open_replay_feed(&feed, 0) == 0);
  EXPECT_EQ(qt_paper_run(p, &feed, &err), QT_OK); /* stopped, not done */
  qt_paper_status st;
  qt_paper_status_get(p, &st);
  EXPECT_EQ(st.n_bars, 0);
  qt_livefeed_close(&feed);
  qt_paper_free(p);
  o.n_symbols = 0;
  EXPECT_EQ(qt_paper_open(&o, &p, &err), QT_EINVAL);
  o.n_symbols = 1;
  o.limits.max_daily_loss = 1.5;
  EXPECT_EQ(qt_paper_open(&o, &p, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "max daily loss");
}


/* Every allocation of opening and running a replay and a stream fails in
 * turn: each run ends with QT_ENOMEM (or, when the failed allocation was
 * not needed, succeeds), never crashes or leaks (the sanitizers watch). */
static void alloc_failures(void) {
  mk_bars(10);
  qt_bars part = g_bars;
  part.n = 200;
  qt_feed f = {.inst = qt_instrument_default("TEST"), .bars = &part};
  int failed = 0, passed = 0;
  for (int mode = 0; mode < 2; mode++)
    for (long n = 1; n < 400; n++) {
      qt_paper_opts o = replay_opts(&f);
      o.replay_to[0] = part.n;
      if (mode == 1) {
        o.replay_feeds[0] = NULL;
        o.inst[0] = qt_instrument_default("TEST");
      }
      qt_err err;
      qt_paper *p = NULL;
      qt_alloc_fail_at(n, 0);
      int rc = qt_paper_open(&o, &p, &err);
      qt_livefeed feed = {0};
      mem m = {0, 150, 1000, 0};
      if (!rc && mode == 0) {
        qt_live_replay_opts ro;
        memset(&ro, 0, sizeof ro);
        ro.n = 1, ro.bars[0] = &part, ro.symbols[0] = "TEST", ro.to[0] = part.n;
        rc = qt_livefeed_replay(&ro, &feed, &err);
      } else if (!rc) {
        feed.vt = &k_mem;
        feed.self = &m;
      }
      if (!rc) rc = qt_paper_run(p, &feed, &err);
      qt_alloc_fail_at(0, 0);
      if (mode == 0) qt_livefeed_close(&feed);
      qt_paper_free(p);
      if (rc == QT_ENOMEM) failed++;
      else if (rc == QT_DONE) passed++;
      else QT_TEST_FAIL_("mode %d, allocation %ld: rc %d (%s)", mode, n, rc, err.msg);
    }
  EXPECT_TRUE(failed > 10);
  EXPECT_TRUE(passed > 10);
}


/* Live params on a stream: new sets handed over at bars 300 and 1500 (new
 * SMA lengths: columns the strategy first asks for mid-stream) apply from
 * those bars on, and the series outgrows its room at 1,024 and 2,048 bars
 * (the engine starts again and applies both sets at their bars again): the
 * whole run equals one engine stepped over the bars with the same sets at
 * the same bars, bit for bit. */
static void stream_live_params_across_restarts(void) {
  mk_bars(9);
  const qt_strategy_vtbl *sc = qt_strategy_find("sma_cross");
  static double p1[16], p2[16];
  memcpy(p1, k_p, sizeof p1), memcpy(p2, k_p, sizeof p2);
  p1[0] = 14, p1[1] = 45;
  p2[0] = 7, p2[1] = 22;
  qt_feed f = {.inst = qt_instrument_default("TEST"), .bars = &g_bars};
  qt_engine_opts eo = qt_engine_opts_default();
  eo.log_orders = 1;
  eo.close_at_end = 0;
  qt_engine *e = NULL;
  qt_err err;
  ASSERT_TRUE(qt_engine_new(&eo, &e, &err) == 0);
  ASSERT_TRUE(qt_engine_begin(e, &f, 1, sc, k_p, &err) == 0);
  for (size_t i = 0; i < NB; i++) {
    if (i == 300) ASSERT_TRUE(qt_engine_set_params(e, p1, &err) == 0);
    if (i == 1500) ASSERT_TRUE(qt_engine_set_params(e, p2, &err) == 0);
    ASSERT_TRUE(qt_engine_step(e, &err) == 0);
  }
  qt_result rb, rp;
  qt_engine_peek(e, &rb);
  char path[256];
  snprintf(path, sizeof path, "/tmp/qtune_test_live_paper_lp_%d.json", (int)getpid());
  qt_live_params_opts lo = qt_live_params_opts_default();
  lo.keep_history = 0;
  qt_live_params *lp = NULL;
  ASSERT_TRUE(qt_live_params_new(sc, path, k_p, &lo, &lp, &err) == 0);
  qt_paper_opts o = qt_paper_opts_default();
  o.strategy = sc;
  o.params = k_p;
  o.n_symbols = 1;
  o.symbols[0] = "TEST";
  o.inst[0] = qt_instrument_default("TEST");
  o.live_params = lp;
  qt_paper *p = NULL;
  ASSERT_TRUE(qt_paper_open(&o, &p, &err) == 0);
  mem m = {0, NB, NB, 0};
  qt_live_event ev;
  int rc = 0;
  for (size_t i = 0; i < NB && !rc; i++) {
    if (i == 300) rc = qt_live_params_update(lp, p1, &err);
    if (i == 1500) rc = qt_live_params_update(lp, p2, &err);
    if (!rc) rc = mem_next(&m, &ev, 0, &err);
    if (!rc) rc = qt_paper_event(p, &ev, &err);
  }
  if (rc) fprintf(stderr, "  %s\n", err.msg);
  EXPECT_EQ(rc, 0);
  qt_paper_result(p, 0, &rp);
  EXPECT_TRUE(rb.n_trades > 20);
  EXPECT_TRUE(same(&rb, &rp));
  /* and the sets changed something: the run on the first set alone differs */
  qt_engine_opts eo2 = eo;
  qt_engine *e2 = NULL;
  ASSERT_TRUE(qt_engine_new(&eo2, &e2, &err) == 0);
  qt_result r0;
  ASSERT_TRUE(qt_engine_run(e2, &f, 1, sc, k_p, &r0, &err) == 0);
  EXPECT_TRUE(!same(&r0, &rp));
  qt_engine_free(e2);
  qt_paper_free(p);
  qt_live_params_free(lp);
  qt_engine_free(e);
}

/* The replay events of [skip.., to) into p, with lp's set changed to p1
 * before bar 300 and to p2 before bar 1500 (of those events it sees). */
static int feed_live(qt_paper *p, qt_live_params *lp, int64_t skip, size_t to, const double *p1,
                     const double *p2, qt_err *err) {
  qt_live_replay_opts ro;
  memset(&ro, 0, sizeof ro);
  ro.n = 1, ro.bars[0] = &g_bars, ro.symbols[0] = "TEST", ro.to[0] = to;
  ro.skip_through_ms[0] = skip;
  qt_livefeed feed;
  int rc = qt_livefeed_replay(&ro, &feed, err);
  while (!rc) {
    qt_live_event ev;
    if (feed.vt->next(feed.self, &ev, 0, err) != QT_OK) break;
    if (ev.replay_i == 300) rc = qt_live_params_update(lp, p1, err);
    if (!rc && ev.replay_i == 1500) rc = qt_live_params_update(lp, p2, err);
    if (!rc) rc = qt_paper_event(p, &ev, err);
  }
  qt_livefeed_close(&feed);
  return rc;
}

/* A stored replay whose live params change before bars 300 and 1500,
 * dropped after bar 1000 (as if killed) and opened again: the stored sets
 * (paper_params) are applied at their bars by the rebuild, so the resume
 * passes the count check and ends equal to the uninterrupted run, with the
 * same stored orders, trades and sets. */
static void replay_live_params_resume(void) {
  mk_bars(11);
  const qt_strategy_vtbl *sc = qt_strategy_find("sma_cross");
  static double p1[16], p2[16];
  memcpy(p1, k_p, sizeof p1), memcpy(p2, k_p, sizeof p2);
  p1[0] = 14, p1[1] = 45;
  p2[0] = 7, p2[1] = 22;
  qt_feed f = {.inst = qt_instrument_default("TEST"), .bars = &g_bars};
  char path[256], url[300], lpath[256];
  snprintf(path, sizeof path, "/tmp/qtune_test_live_paper_lr_%d.db", (int)getpid());
  snprintf(lpath, sizeof lpath, "/tmp/qtune_test_live_paper_lr_%d.json", (int)getpid());
  unlink(path);
  snprintf(url, sizeof url, "sqlite:///%s", path);
  qt_storage st;
  qt_err err = {0};
  ASSERT_TRUE(qt_storage_open(url, &st, &err) == 0);
  qt_live_params_opts lo = qt_live_params_opts_default();
  lo.keep_history = 0;
  qt_result ra, rb;
  qt_paper_run_rec run[2];
  const char *names[2] = {"whole", "killed"};
  qt_paper *keep[2] = {NULL, NULL}; /* the results are borrowed from the runners */
  qt_live_params *lps[2] = {NULL, NULL};
  for (int k = 0; k < 2; k++) {
    qt_live_params *lp = NULL;
    ASSERT_TRUE(qt_live_params_new(sc, lpath, k_p, &lo, &lp, &err) == 0);
    qt_paper_opts o = replay_opts(&f);
    o.storage = &st;
    o.name = names[k];
    o.commit_every = 7;
    o.live_params = lp;
    qt_paper *p = NULL;
    ASSERT_TRUE(qt_paper_open(&o, &p, &err) == 0);
    int rc = feed_live(p, lp, 0, k ? 1001 : NB, p1, p2, &err);
    if (k) {
      EXPECT_EQ(rc, 0);
      qt_paper_free(p); /* as if killed: only what was committed stays */
      p = NULL;
      rc = qt_paper_open(&o, &p, &err);
      if (rc) fprintf(stderr, "  resume: %s\n", err.msg);
      ASSERT_TRUE(rc == 0);
      rc = feed_live(p, lp, qt_paper_resume_ms(p, 0), NB, p1, p2, &err);
    }
    if (rc) fprintf(stderr, "  %s\n", err.msg);
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(qt_paper_end(p, 1, &err), QT_DONE);
    qt_paper_result(p, 0, k ? &rb : &ra);
    EXPECT_EQ(qt_paper_run_get(&st, names[k], &run[k], &err), 0);
    keep[k] = p, lps[k] = lp;
  }
  EXPECT_TRUE(same(&ra, &rb));
  EXPECT_TRUE(ra.n_trades > 20);
  qt_paper_trade_rec *tv[2] = {NULL, NULL};
  qt_paper_params_rec *pv[2] = {NULL, NULL};
  size_t nt[2] = {0, 0}, np[2] = {0, 0};
  for (int k = 0; k < 2; k++) {
    EXPECT_EQ(qt_paper_trades_list(&st, run[k].id, NULL, &tv[k], &nt[k], &err), 0);
    EXPECT_EQ(qt_paper_params_list(&st, run[k].id, &pv[k], &np[k], &err), 0);
  }
  EXPECT_EQ(nt[0], ra.n_trades);
  EXPECT_EQ(nt[1], nt[0]);
  for (size_t j = 0; j < nt[0] && j < nt[1]; j++) EXPECT_DBL_EQ(tv[1][j].pnl, tv[0][j].pnl);
  EXPECT_EQ(np[0], 3);
  EXPECT_EQ(np[1], 3);
  for (size_t j = 0; j < 3 && j < np[0] && j < np[1]; j++) {
    EXPECT_STREQ(pv[1][j].at_json, pv[0][j].at_json);
    EXPECT_STREQ(pv[1][j].params_json, pv[0][j].params_json);
    EXPECT_EQ(pv[1][j].bar_ms, pv[0][j].bar_ms);
  }
  if (np[0] == 3) {
    EXPECT_STREQ(pv[0][0].source, "start");
    EXPECT_STREQ(pv[0][1].at_json, "{\"TEST\": 300}");
    EXPECT_STREQ(pv[0][2].at_json, "{\"TEST\": 1500}");
    EXPECT_EQ(pv[0][2].bar_ms, g_ts[1500]);
  }
  for (int k = 0; k < 2; k++) {
    qt_free(tv[k]), qt_free(pv[k]);
    qt_paper_free(keep[k]);
    qt_live_params_free(lps[k]);
  }
  qt_storage_close(&st);
  unlink(path);
  unlink(lpath);
}

QT_TESTS(T(alloc_failures), T(replay_equals_backtest), T(stream_equals_backtest_without_close),
         T(stop_and_resume_from_storage), T(max_positions_two_symbols), T(stop_flag),
         T(stream_live_params_across_restarts), T(replay_live_params_resume))
