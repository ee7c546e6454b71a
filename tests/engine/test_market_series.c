/* Which series a run loads (qt_market_opts.series, qt_market_series_for):
 * a catalog symbol with 3,000 hourly bars, 8h funding and large quotes and
 * trades series (QUOTE_ROWS and TRADE_ROWS rows, ~40 and ~33 bytes a row).
 * A bars-only strategy loads neither of the big two, so its load's peak RSS
 * grows by a fraction of what a load of everything grows by (a ratio between
 * two loads, each in its own forked child so the peaks do not mix), and its
 * backtest and study pin are the same as with everything loaded.  The pin
 * check uses the optimize layer's qt_study_pin_json: it is what a resumed
 * study is compared with. */
#include "qt_test.h"
#include "qtune/engine.h"
#include "qtune/optimize.h"
#include "qtune/strategies.h"

#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#define H 3600000LL
#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define N_BARS 3000
#define QUOTE_ROWS 1000000
#define TRADE_ROWS 1000000

static char g_dir[64];

/* Bars on a slow sine (so sma_cross trades), funding every 8h, and quotes
 * and trades spread evenly over the bars' hours. */
static void make_catalog(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/qt_test_mseries_XXXXXX");
  if (!mkdtemp(g_dir)) abort();
  qt_catalog *c = NULL;
  qt_bars b;
  qt_funding f;
  qt_quotes q;
  qt_trades t;
  memset(&b, 0, sizeof b), memset(&f, 0, sizeof f), memset(&q, 0, sizeof q), memset(&t, 0, sizeof t);
  if (qt_catalog_open(g_dir, 1, &c, NULL) || qt_bars_alloc(&b, N_BARS, NULL) ||
      qt_funding_alloc(&f, N_BARS / 8, NULL) || qt_quotes_alloc(&q, QUOTE_ROWS, NULL) ||
      qt_trades_alloc(&t, TRADE_ROWS, NULL))
    abort();
  b.interval_ms = H;
  for (size_t i = 0; i < N_BARS; i++) {
    double px = 100.0 + 10.0 * sin((double)i / 40.0);
    b.ts_ms[i] = T0 + (int64_t)i * H;
    b.open[i] = b.close[i] = px;
    b.high[i] = px + 0.5, b.low[i] = px - 0.5;
    b.volume[i] = 10, b.taker_buy_base[i] = 6;
  }
  for (size_t i = 0; i < f.n; i++) {
    f.ts_ms[i] = T0 + 8 * (int64_t)i * H;
    f.rate[i] = 0.0001, f.interval_h[i] = 8;
  }
  const int64_t span = (int64_t)N_BARS * H;
  for (size_t i = 0; i < QUOTE_ROWS; i++) {
    q.ts_ms[i] = T0 + (int64_t)((double)i / QUOTE_ROWS * (double)span);
    size_t k = (size_t)((q.ts_ms[i] - T0) / H);
    q.bid[i] = b.close[k] - 0.01, q.ask[i] = b.close[k] + 0.01;
    q.bid_qty[i] = 1 + (double)(i % 7), q.ask_qty[i] = 1 + (double)(i % 5);
  }
  for (size_t i = 0; i < TRADE_ROWS; i++) {
    t.ts_ms[i] = T0 + (int64_t)((double)i / TRADE_ROWS * (double)span);
    t.id[i] = (int64_t)i + 1;
    t.price[i] = b.close[(size_t)((t.ts_ms[i] - T0) / H)];
    t.qty[i] = 0.1;
    t.buyer_is_maker[i] = (uint8_t)(i & 1);
  }
  if (qt_catalog_put_bars(c, "SYN", &b, NULL) < 0 || qt_catalog_put_funding(c, "SYN", &f, NULL) < 0 ||
      qt_catalog_put_quotes(c, "SYN", &q, NULL) < 0 || qt_catalog_put_trades(c, "SYN", &t, NULL) < 0)
    abort();
  qt_bars_fini(&b), qt_funding_fini(&f), qt_quotes_fini(&q), qt_trades_fini(&t);
  qt_catalog_close(c);
}

static const char *dir(void) {
  if (!g_dir[0]) make_catalog();
  return g_dir;
}

static qt_market_opts opts(unsigned series) {
  qt_market_opts o = qt_market_opts_default();
  o.catalog = dir();
  if (qt_market_opts_set_symbols(&o, "SYN", NULL)) abort();
  o.series = series;
  return o;
}

/* A field of /proc/self/status in kB ("VmHWM", "VmRSS"); -1 when absent. */
static long status_kb(const char *field) {
  FILE *fp = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  size_t n = strlen(field);
  while (fp && fgets(line, sizeof line, fp))
    if (!strncmp(line, field, n) && line[n] == ':') v = strtol(line + n + 1, NULL, 10);
  if (fp) fclose(fp);
  return v;
}

/* How much a load of `series` raises the peak RSS (kB), measured in a forked
 * child so one load's pages never count in another's peak; -1 on failure. */
static long load_peak_growth(unsigned series) {
  int fds[2];
  if (pipe(fds)) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    close(fds[0]);
    long before = status_kb("VmHWM"), grow = -1;
    qt_market_opts o = opts(series);
    qt_market m;
    if (qt_market_load(&o, &m, NULL) == QT_OK) grow = status_kb("VmHWM") - before;
    qt_market_free(&m);
    ssize_t w = write(fds[1], &grow, sizeof grow);
    _exit(w == (ssize_t)sizeof grow ? 0 : 1);
  }
  close(fds[1]);
  long grow = -1;
  if (read(fds[0], &grow, sizeof grow) != (ssize_t)sizeof grow) grow = -1;
  close(fds[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? grow : -1;
}

static void mask_for_strategy(void) {
  qt_engine_opts eo = qt_engine_opts_default();
  const qt_strategy_vtbl *sma = qt_strategy_find("sma_cross"), *mm = qt_strategy_find("market_maker");
  ASSERT_TRUE(sma && mm);
  EXPECT_EQ(qt_market_opts_default().series, QT_SERIES_ALL); /* other callers unchanged */
  EXPECT_EQ(qt_market_series_for(sma, &eo), QT_SERIES_FUNDING);
  EXPECT_EQ(qt_market_series_for(sma, NULL), QT_SERIES_FUNDING);
  /* market_maker reads the last quote when there is one */
  EXPECT_TRUE((mm->needs & QT_WANTS_QUOTES) != 0);
  EXPECT_EQ(qt_market_series_for(mm, &eo), QT_SERIES_FUNDING | QT_SERIES_QUOTES);
  eo.fill_on_trades = 1;
  EXPECT_EQ(qt_market_series_for(sma, &eo), QT_SERIES_FUNDING | QT_SERIES_TRADES);
  EXPECT_EQ(qt_market_series_for(mm, &eo), QT_SERIES_ALL);
  EXPECT_EQ(qt_market_series_for(NULL, &eo), QT_SERIES_ALL);
  /* every built-in that declares quotes gets them */
  size_t n = 0;
  const qt_strategy_vtbl *const *all = qt_strategies_builtin(&n);
  for (size_t k = 0; k < n; k++)
    if (all[k]->needs & (QT_NEEDS_QUOTES | QT_WANTS_QUOTES))
      EXPECT_TRUE((qt_market_series_for(all[k], NULL) & QT_SERIES_QUOTES) != 0);
}

static void skipped_series_absent(void) {
  qt_err e = {0};
  qt_market m;
  qt_market_opts o = opts(QT_SERIES_FUNDING);
  ASSERT_TRUE(qt_market_load(&o, &m, &e) == QT_OK);
  EXPECT_TRUE(m.feeds[0].funding != NULL);
  EXPECT_EQ(m.feeds[0].funding->n, N_BARS / 8);
  EXPECT_PTR_EQ(m.feeds[0].quotes, NULL);
  EXPECT_PTR_EQ(m.feeds[0].trades, NULL);
  EXPECT_EQ(m.feeds[0].inst.kind, QT_INST_PERP);
  qt_market_free(&m);
  o = opts(QT_SERIES_ALL);
  ASSERT_TRUE(qt_market_load(&o, &m, &e) == QT_OK);
  ASSERT_TRUE(m.feeds[0].quotes && m.feeds[0].trades);
  EXPECT_EQ(m.feeds[0].quotes->n, QUOTE_ROWS);
  EXPECT_EQ(m.feeds[0].trades->n, TRADE_ROWS);
  qt_market_free(&m);
  /* funding left out too: the symbol then reads as spot */
  o = opts(0);
  ASSERT_TRUE(qt_market_load(&o, &m, &e) == QT_OK);
  EXPECT_PTR_EQ(m.feeds[0].funding, NULL);
  EXPECT_EQ(m.feeds[0].inst.kind, QT_INST_SPOT);
  qt_market_free(&m);
}

/* The big series are ~73 MB mapped and checksummed.  A bars-only load skips
 * them: its peak grows by under a quarter of a full load's growth, and the
 * full load's growth is at least half the bytes of the two series (so the
 * measure sees the mapped pages at all). */
static void bars_only_peak_rss(void) {
  long full = load_peak_growth(QT_SERIES_ALL);
  long bars = load_peak_growth(QT_SERIES_FUNDING);
  long quotes = load_peak_growth(QT_SERIES_FUNDING | QT_SERIES_QUOTES);
  fprintf(stderr, "  peak RSS growth of a load: all %ld kB, bars+funding %ld kB, +quotes %ld kB\n",
          full, bars, quotes);
  ASSERT_TRUE(full > 0 && bars >= 0 && quotes > 0);
  const long series_kb = (QUOTE_ROWS * 40L + TRADE_ROWS * 33L) / 1024;
  EXPECT_TRUE(full * 2 >= series_kb);
  EXPECT_TRUE(bars * 4 < full);
  /* quotes alone: more than bars-only, less than everything */
  EXPECT_TRUE(quotes > bars * 2 && quotes < full);
}

/* Runs s with its defaults on a market loaded with `series`; fills *pin. */
static void run_on(const qt_strategy_vtbl *s, unsigned series, double *out_equity,
                   size_t *out_trades, uint64_t *out_curve_hash, char *pin, size_t pin_cap) {
  qt_err e = {0};
  qt_market m;
  qt_market_opts o = opts(series);
  qt_engine *eng = NULL;
  qt_engine_opts eo = qt_engine_opts_default();
  double p[64];
  qt_result r;
  qt_goal g;
  *out_equity = NAN;
  *out_trades = 0;
  *out_curve_hash = 0;
  pin[0] = 0;
  if (qt_market_load(&o, &m, &e)) {
    QT_TEST_FAIL_("load: %s", e.msg);
    return;
  }
  qt_strategy_defaults(s, p);
  if (qt_engine_new(&eo, &eng, &e) || qt_engine_run(eng, m.feeds, m.n_feeds, s, p, &r, &e)) {
    QT_TEST_FAIL_("run: %s", e.msg);
  } else {
    *out_equity = r.final_equity;
    *out_trades = r.n_trades;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over the equity curve's bytes */
    const unsigned char *c = (const unsigned char *)r.equity;
    for (size_t i = 0; i < r.n_bars * sizeof *r.equity; i++) h = (h ^ c[i]) * 1099511628211ULL;
    *out_curve_hash = h;
    qt_goal_default(&g, 1);
    qt_study_pin sp = {s->name, dir(), NULL, m.feeds, m.n_feeds, m.from_i, &eo, &g};
    if (qt_study_pin_json(&sp, pin, pin_cap, &e)) QT_TEST_FAIL_("pin: %s", e.msg);
  }
  qt_engine_free(eng);
  qt_market_free(&m);
}

static void same_results_without_skipped(void) {
  const char *names[] = {"sma_cross", "market_maker"};
  for (size_t k = 0; k < 2; k++) {
    const qt_strategy_vtbl *s = qt_strategy_find(names[k]);
    ASSERT_TRUE(s);
    qt_engine_opts eo = qt_engine_opts_default();
    double eq_all, eq_need;
    size_t tr_all, tr_need;
    uint64_t h_all, h_need;
    char pin_all[4096], pin_need[4096];
    run_on(s, QT_SERIES_ALL, &eq_all, &tr_all, &h_all, pin_all, sizeof pin_all);
    run_on(s, qt_market_series_for(s, &eo), &eq_need, &tr_need, &h_need, pin_need, sizeof pin_need);
    EXPECT_DBL_EQ(eq_all, eq_need);
    EXPECT_EQ(tr_all, tr_need);
    EXPECT_U64_EQ(h_all, h_need);
    EXPECT_STREQ(pin_all, pin_need);
    EXPECT_TRUE(!isnan(eq_all));
    if (k == 0) EXPECT_TRUE(tr_all > 0); /* the sine makes sma_cross trade */
  }
}

static void cleanup(void) {
  char cmd[128];
  if (!g_dir[0]) return;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  if (system(cmd) != 0) fprintf(stderr, "  could not remove %s\n", g_dir);
}

static void remove_catalog(void) { cleanup(); }

QT_TESTS(T(mask_for_strategy), T(skipped_series_absent), T(bars_only_peak_rss),
         T(same_results_without_skipped), T(remove_catalog))
