/* Golden results: every registry strategy with its default params on one
 * fixed synthetic market (qt_synth, seed GOLDEN_SEED, GOLDEN_DAYS days of
 * one-minute bars: venue A with funding and quotes, venue B's bars and
 * quotes as instrument 1 for the strategies that trade two), hedge mode for
 * those that declare QT_NEEDS_HEDGE.  The run is hashed with FNV-1a over
 * every fill the strategy is told of (time, instrument, side, leg, price,
 * qty, fee, as bench/bench_strategies.c hashes its trades), then the fill
 * count and the final equity, and compared with a table.  "Trades hash
 * unchanged" used to live only in the benchmark; this makes it a test.
 *
 * A deliberate behaviour change updates the table in the commit that
 * changes behaviour (the failure message prints the row to paste); an
 * accidental one fails here.  A registry entry with no row fails too. */
#include "strat_util.h"

#define GOLDEN_SEED 20261201
#define GOLDEN_DAYS 10
#define GOLDEN_SD_B_BPS 40 /* venue B differs enough for the arbitrage to trade */

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 1099511628211ULL;
  return h;
}

/* The strategy being run and the hash of its fills so far; the wrapper's
 * on_fill sees the engine's state pointer only, so these live here. */
static const qt_strategy_vtbl *g_inner;
static uint64_t g_hash;
static size_t g_n_fills;

/* Hashes fields one by one: struct padding is not part of the result. */
static void golden_on_fill(void *st, const qt_fill *f, qt_ctx *cx) {
  uint64_t h = g_hash;
  h = fnv(h, &f->ts_ms, sizeof f->ts_ms);
  h = fnv(h, &f->inst, sizeof f->inst);
  h = fnv(h, &f->side, sizeof f->side);
  h = fnv(h, &f->leg, sizeof f->leg);
  h = fnv(h, &f->price, sizeof f->price);
  h = fnv(h, &f->qty, sizeof f->qty);
  h = fnv(h, &f->fee, sizeof f->fee);
  g_hash = h;
  g_n_fills++;
  if (g_inner->on_fill) g_inner->on_fill(st, f, cx);
}

static qt_synth_market g_m;

/* Runs s with its defaults; *out_hash covers every fill, then the count of
 * fills and the final equity. */
static int golden_run(const qt_strategy_vtbl *s, uint64_t *out_hash, size_t *out_fills) {
  qt_feed f[2];
  int nf = su_feeds(s, &g_m, f);
  double p[256];
  if (s->n_params > 256) return -1;
  qt_strategy_defaults(s, p);
  qt_strategy_vtbl w = *s;
  w.on_fill = golden_on_fill;
  g_inner = s;
  g_hash = 1469598103934665603ULL;
  g_n_fills = 0;
  qt_engine *e = NULL;
  qt_result r;
  int rc = su_run(f, nf, &w, p, (s->needs & QT_NEEDS_HEDGE) != 0, &e, &r);
  if (rc == QT_OK) {
    uint64_t n = r.n_fills;
    g_hash = fnv(g_hash, &n, sizeof n);
    g_hash = fnv(g_hash, &r.final_equity, sizeof r.final_equity);
  }
  qt_engine_free(e);
  *out_hash = g_hash;
  *out_fills = g_n_fills;
  return rc;
}

/* Expected hash and fill count per strategy: what the code gave when the
 * test was written (see the top of the file for when to change them). */
static const struct {
  const char *name;
  uint64_t hash;
  size_t n_fills;
} golden[] = {
    {"auction_market", 0x4e9850571eab93e3ULL, 20},
    {"directional_momentum", 0xedc814a5f278c44fULL, 16},
    {"funding_arbitrage", 0x8f3dca3d3cbbd13bULL, 36},
    {"grid_trading", 0x9f9082fd967b616dULL, 32},
    {"hedge_grid", 0x04da582071ad75e0ULL, 558},
    {"market_maker", 0x8c621f00e1096a8aULL, 5171},
    {"sma_cross", 0x6be584c66db9d753ULL, 1034},
    {"spread_arbitrage", 0xef2ac9364c752447ULL, 264},
};

static void every_strategy_fills_as_recorded(void) {
  ASSERT_TRUE(su_synth(&g_m, GOLDEN_SEED, GOLDEN_DAYS, GOLDEN_SD_B_BPS) == 0);
  size_t n = 0;
  const qt_strategy_vtbl *const *all = qt_strategies_builtin(&n);
  for (size_t k = 0; k < n; k++) {
    const qt_strategy_vtbl *s = all[k];
    uint64_t h = 0;
    size_t fills = 0;
    if (golden_run(s, &h, &fills) != QT_OK) {
      QT_TEST_FAIL_("%s: the run failed", s->name);
      continue;
    }
    /* a golden hash of no fills would not notice a change of fills */
    if (fills == 0) QT_TEST_FAIL_("%s: no fills on the golden market; make it longer", s->name);
    size_t j = 0;
    while (j < sizeof golden / sizeof golden[0] && strcmp(golden[j].name, s->name) != 0) j++;
    if (j == sizeof golden / sizeof golden[0]) {
      QT_TEST_FAIL_("%s: no golden row; the code gives {\"%s\", 0x%016" PRIx64 "ULL, %zu},", s->name,
                    s->name, h, fills);
      continue;
    }
    if (h != golden[j].hash || fills != golden[j].n_fills)
      QT_TEST_FAIL_("%s: %zu fills hash to 0x%016" PRIx64 ", the table says %zu fills, 0x%016" PRIx64
                    "; if the change is deliberate, the row is {\"%s\", 0x%016" PRIx64 "ULL, %zu},",
                    s->name, fills, h, golden[j].n_fills, golden[j].hash, s->name, h, fills);
  }
  /* every row names a registry entry (a renamed strategy leaves no stale row) */
  for (size_t j = 0; j < sizeof golden / sizeof golden[0]; j++)
    if (!qt_strategy_find(golden[j].name))
      QT_TEST_FAIL_("golden row '%s' is not in the registry", golden[j].name);
  qt_synth_market_fini(&g_m);
}

QT_TESTS(T(every_strategy_fills_as_recorded))
