/* Synthetic markets for tests, demos and strategy sanity checks: a
 * regime-switching log-price path with jumps, traded as ticks inside
 * one-minute bars, with funding, top-of-book quotes and a second venue.
 * The model and its parameters are documented in docs/synthetic.md.
 * Each random ingredient has its own RNG stream of opts.seed, so changing
 * one part (say the trade count) leaves the others' numbers alone. */
#include "qtune/data.h"

#include <math.h>
#include <string.h>

enum {
  S_REGIME = 1,
  S_RETURN = 2,
  S_JUMP = 3,
  S_COUNT = 4,
  S_TRADE = 5,
  S_FUNDING = 6,
  S_QUOTE = 7,
  S_DIFF = 8,
  S_VENUE_B = 9,
  S_GAP = 10,
  S_BRIDGE = 11,
  S_DISLOC = 12
};

#define MIN_MS 60000
#define FUNDING_MS (8 * 3600000LL)

static const char *const k_regime_names[QT_REGIME_COUNT] = {"up", "down", "range", "volatile"};

const char *qt_regime_name(int regime) {
  return regime >= 0 && regime < QT_REGIME_COUNT ? k_regime_names[regime] : "unknown";
}

qt_synth_opts qt_synth_opts_default(void) {
  qt_synth_opts o = {
      .seed = 1,
      .days = 30,
      .start_ms = qt_time_days_from_civil(2026, 1, 1) * 86400000LL,
      .start_price = 100.0,
      .tick = 0.01,
      .lot = 0.001,
      .vol_daily = 0.03,
      .trend_daily = 0.03,
      .range_revert_min = 240.0,
      .vol_mult = {1.0, 1.0, 0.6, 2.5},
      .duration_min = {720.0, 720.0, 1440.0, 240.0},
      .jumps_per_day = 1.0,
      .jump_sigma = 0.01,
      .trades_per_min = 20.0,
      .qty_mean = 0.5,
      .taker_lean = 0.2,
      .funding_base = 0.0001,
      .funding_gain = 0.01,
      .funding_noise = 0.00005,
      .quote_interval_ms = 10000,
      .spread_bps = 2.0,
      .venue_b_sd_bps = 5.0,
      .venue_b_half_life_min = 60.0,
      .venue_b_volume_share = 0.6,
      .venue_b_disloc_per_day = 3.0,
      .venue_b_disloc_min_bps = 50.0,
      .venue_b_disloc_max_bps = 150.0,
      .venue_b_disloc_half_life_min = 5.0,
  };
  return o;
}

static int check_opts(const qt_synth_opts *o, qt_err *err) {
#define REQ(cond, ...)                                  \
  do {                                                  \
    if (!(cond)) return qt_err_set(err, QT_EINVAL, __VA_ARGS__); \
  } while (0)
  REQ(o->days >= 1 && o->days <= 3660, "synth: days must be 1..3660 (got %d)", o->days);
  REQ(o->start_ms % MIN_MS == 0, "synth: start_ms must be a whole minute (got %lld)",
      (long long)o->start_ms);
  REQ(o->start_price > 0 && isfinite(o->start_price), "synth: start_price must be > 0");
  REQ(o->tick > 0 && isfinite(o->tick) && o->tick < o->start_price, "synth: tick must be in (0, start_price)");
  REQ(o->lot > 0 && isfinite(o->lot), "synth: lot must be > 0");
  REQ(o->vol_daily >= 0 && o->vol_daily < 1, "synth: vol_daily must be in [0, 1)");
  REQ(fabs(o->trend_daily) < 1, "synth: |trend_daily| must be < 1");
  REQ(o->range_revert_min >= 1, "synth: range_revert_min must be >= 1");
  for (int r = 0; r < QT_REGIME_COUNT; r++) {
    REQ(o->vol_mult[r] >= 0 && o->vol_mult[r] <= 20, "synth: vol_mult[%s] must be in [0, 20]",
        k_regime_names[r]);
    REQ(o->duration_min[r] >= 1, "synth: duration_min[%s] must be >= 1", k_regime_names[r]);
  }
  REQ(o->jumps_per_day >= 0 && o->jumps_per_day <= 1440, "synth: jumps_per_day must be in [0, 1440]");
  REQ(o->jump_sigma >= 0 && o->jump_sigma < 1, "synth: jump_sigma must be in [0, 1)");
  REQ(o->trades_per_min >= 1 && o->trades_per_min <= 10000, "synth: trades_per_min must be in [1, 10000]");
  REQ(o->qty_mean > 0 && isfinite(o->qty_mean), "synth: qty_mean must be > 0");
  REQ(o->taker_lean >= 0 && o->taker_lean <= 0.5, "synth: taker_lean must be in [0, 0.5]");
  REQ(isfinite(o->funding_base) && isfinite(o->funding_gain) && o->funding_noise >= 0,
      "synth: funding parameters must be finite (noise >= 0)");
  REQ(o->quote_interval_ms >= 1, "synth: quote_interval_ms must be >= 1");
  REQ(o->spread_bps >= 0 && o->spread_bps < 1000, "synth: spread_bps must be in [0, 1000)");
  REQ(o->venue_b_sd_bps >= 0 && o->venue_b_sd_bps < 1000, "synth: venue_b_sd_bps must be in [0, 1000)");
  REQ(o->venue_b_half_life_min > 0, "synth: venue_b_half_life_min must be > 0");
  REQ(o->venue_b_volume_share > 0 && isfinite(o->venue_b_volume_share),
      "synth: venue_b_volume_share must be > 0");
  REQ(o->venue_b_disloc_per_day >= 0 && o->venue_b_disloc_per_day <= 1440,
      "synth: venue_b_disloc_per_day must be in [0, 1440]");
  REQ(o->venue_b_disloc_min_bps >= 0 && o->venue_b_disloc_min_bps <= o->venue_b_disloc_max_bps &&
          o->venue_b_disloc_max_bps < 2000,
      "synth: venue_b_disloc_min_bps/max_bps must satisfy 0 <= min <= max < 2000");
  REQ(o->venue_b_disloc_half_life_min > 0, "synth: venue_b_disloc_half_life_min must be > 0");
#undef REQ
  return QT_OK;
}

static double to_grid(double v, double g) { return nearbyint(v / g) * g; }
static double px_round(double p, double tick) {
  double r = to_grid(p, tick);
  return r < tick ? tick : r;
}
static double qty_round(double q, double lot) {
  double r = to_grid(q, lot);
  return r < lot ? lot : r;
}

/* Poisson by multiplication for small means, normal approximation above. */
static uint32_t poisson(qt_rng *r, double lambda) {
  if (lambda < 300) {
    double l = exp(-lambda), p = 1.0;
    uint32_t k = 0;
    for (;;) {
      p *= qt_rng_uniform(r);
      if (p <= l) return k;
      k++;
    }
  }
  double v = nearbyint(lambda + sqrt(lambda) * qt_rng_normal(r));
  return v < 0 ? 0 : (uint32_t)v;
}

static double exp1(qt_rng *r) { return -log1p(-qt_rng_uniform(r)); }

/* Daily drift of the regime (used by the path and by funding). */
static double regime_drift(const qt_synth_opts *o, int r) {
  return r == QT_REGIME_UP ? o->trend_daily : r == QT_REGIME_DOWN ? -o->trend_daily : 0.0;
}

void qt_synth_market_fini(qt_synth_market *m) {
  if (!m) return;
  qt_bars_fini(&m->bars);
  qt_trades_fini(&m->trades);
  qt_funding_fini(&m->funding);
  qt_quotes_fini(&m->quotes);
  qt_bars_fini(&m->bars_b);
  qt_quotes_fini(&m->quotes_b);
  qt_free(m->regime);
  qt_free(m->diff_bps);
  memset(m, 0, sizeof *m);
}

/* Pass 1, per minute: regime, log price (x[0..n], bar t runs from x[t] to
 * x[t+1]), trade count, venue B difference: a slow OU core plus a fast
 * decaying dislocation part (own stream, so the core is the same with or
 * without dislocations). */
static void latent_path(const qt_synth_opts *o, size_t n, uint8_t *reg, double *x, uint32_t *cnt,
                        double *diff, size_t *n_trades) {
  qt_rng rr, rx, rj, rc, rd, rk;
  qt_rng_stream(&rr, o->seed, S_REGIME);
  qt_rng_stream(&rx, o->seed, S_RETURN);
  qt_rng_stream(&rj, o->seed, S_JUMP);
  qt_rng_stream(&rc, o->seed, S_COUNT);
  qt_rng_stream(&rd, o->seed, S_DIFF);
  qt_rng_stream(&rk, o->seed, S_DISLOC);
  /* The first regime is drawn from the chain's stationary law, which for a
   * jump to a uniformly chosen other regime is proportional to duration. */
  double tot = 0;
  for (int r = 0; r < QT_REGIME_COUNT; r++) tot += o->duration_min[r];
  double u = qt_rng_uniform(&rr) * tot;
  int reg_now = QT_REGIME_COUNT - 1;
  for (int r = 0; r < QT_REGIME_COUNT; r++) {
    if (u < o->duration_min[r]) {
      reg_now = r;
      break;
    }
    u -= o->duration_min[r];
  }
  const double sig_min = o->vol_daily / sqrt(1440.0);
  const double phi = pow(0.5, 1.0 / o->venue_b_half_life_min);
  const double d_innov = o->venue_b_sd_bps * sqrt(1.0 - phi * phi);
  x[0] = log(o->start_price);
  const double phi_k = pow(0.5, 1.0 / o->venue_b_disloc_half_life_min);
  const double k_span = o->venue_b_disloc_max_bps - o->venue_b_disloc_min_bps;
  double anchor = x[0], d = o->venue_b_sd_bps * qt_rng_normal(&rd), dk = 0;
  size_t total = 0;
  for (size_t t = 0; t < n; t++) {
    if (t && qt_rng_uniform(&rr) < 1.0 / o->duration_min[reg_now]) {
      int next = (int)qt_rng_below(&rr, QT_REGIME_COUNT - 1);
      reg_now = next >= reg_now ? next + 1 : next;
      anchor = x[t];
    }
    reg[t] = (uint8_t)reg_now;
    double sig = sig_min * o->vol_mult[reg_now];
    double mu = regime_drift(o, reg_now) / 1440.0;
    if (reg_now == QT_REGIME_RANGE) mu = -(x[t] - anchor) / o->range_revert_min;
    double z = qt_rng_normal(&rx);
    double jump_p = o->jumps_per_day / 1440.0 * (reg_now == QT_REGIME_VOLATILE ? 4.0 : 1.0);
    double jump = 0;
    if (qt_rng_uniform(&rj) < jump_p) jump = o->jump_sigma * qt_rng_normal(&rj);
    x[t + 1] = x[t] + mu + sig * z + jump;
    /* Activity rises with volatility and with the size of the move. */
    double move = sig > 0 ? fabs(x[t + 1] - x[t]) / sig : 0;
    if (move > 5) move = 5;
    double lambda = o->trades_per_min * sqrt(o->vol_mult[reg_now] > 0.04 ? o->vol_mult[reg_now] : 0.04) *
                    (0.6 + 0.4 * move);
    uint32_t k = poisson(&rc, lambda);
    cnt[t] = k < 2 ? 2 : k; /* two at least: one at the open, one at the close */
    total += cnt[t];
    /* Dislocations (a venue lagging, a liquidation) come more often when
     * the market is volatile; each jumps the spread, then decays fast. */
    uint32_t nk = poisson(&rk, o->venue_b_disloc_per_day / 1440.0 * o->vol_mult[reg_now]);
    for (uint32_t j = 0; j < nk; j++) {
      double size = o->venue_b_disloc_min_bps + k_span * qt_rng_uniform(&rk);
      dk += qt_rng_uniform(&rk) < 0.5 ? -size : size;
    }
    diff[t] = d + dk;
    dk *= phi_k;
    d = phi * d + d_innov * qt_rng_normal(&rd);
  }
  *n_trades = total;
}

/* The streams of pass 2. */
typedef struct bar_rngs {
  qt_rng gap, bridge, trade;
} bar_rngs;

/* Pass 2 for one bar: its trades (open at x0, close at x1, a Brownian bridge
 * between) and the bar they make. */
static void bar_trades(const qt_synth_opts *o, bar_rngs *r, int64_t bar_ts, double x0, double x1,
                       double sig, uint32_t k, qt_trades *tr, size_t at, int64_t *next_id,
                       qt_bars *b, size_t t) {
  /* Sorted offsets in [0, 60000): normalized sums of k+1 exponential gaps.
   * A first run finds the total, the second (same draws) places trades. */
  qt_rng start = r->gap;
  double total = 0;
  for (uint32_t j = 0; j <= k; j++) total += exp1(&r->gap);
  qt_rng gap_end = r->gap;
  r->gap = start;
  /* Bridge: a random walk w pinned to 0 at both ends by subtracting its
   * end point linearly; the end point comes from a first run as well. */
  double s = sig / sqrt((double)(k - 1));
  start = r->bridge;
  double wend = 0;
  for (uint32_t j = 1; j < k; j++) wend += s * qt_rng_normal(&r->bridge);
  qt_rng bridge_end = r->bridge;
  r->bridge = start;
  double cum = 0, w = 0, prev_p = 0;
  double open = px_round(exp(x0), o->tick), close = px_round(exp(x1), o->tick);
  double vol = 0, qv = 0, tb = 0, tbq = 0, hi = open, lo = open;
  for (uint32_t j = 0; j < k; j++) {
    cum += exp1(&r->gap);
    int64_t off = (int64_t)floor((double)MIN_MS * cum / total);
    if (off >= MIN_MS) off = MIN_MS - 1;
    double p;
    if (j == 0) {
      p = open;
    } else if (j == k - 1) {
      p = close;
    } else {
      w += s * qt_rng_normal(&r->bridge);
      double f = (double)j / (double)(k - 1);
      p = px_round(exp(x0 + f * (x1 - x0) + w - f * wend), o->tick);
    }
    double q = qty_round(o->qty_mean * exp(qt_rng_normal(&r->trade) - 0.5), o->lot);
    /* The taker leans with the tick: upticks are mostly buys. */
    double dir = j == 0 ? (close > open) - (close < open) : (p > prev_p) - (p < prev_p);
    int buy = qt_rng_uniform(&r->trade) < 0.5 + o->taker_lean * dir;
    size_t i = at + j;
    tr->ts_ms[i] = bar_ts + off;
    tr->id[i] = (*next_id)++;
    tr->price[i] = p;
    tr->qty[i] = q;
    tr->buyer_is_maker[i] = (uint8_t)!buy;
    if (p > hi) hi = p;
    if (p < lo) lo = p;
    vol += q;
    qv += p * q;
    if (buy) {
      tb += q;
      tbq += p * q;
    }
    prev_p = p;
  }
  r->gap = gap_end;
  r->bridge = bridge_end;
  b->ts_ms[t] = bar_ts;
  b->open[t] = open;
  b->high[t] = hi;
  b->low[t] = lo;
  b->close[t] = close;
  b->volume[t] = vol;
  b->quote_volume[t] = qv;
  b->trade_count[t] = (double)k;
  b->taker_buy_base[t] = tb;
  b->taker_buy_quote[t] = tbq;
}

/* Top of book around mid with a spread of about spread_bps. */
static void quote_at(const qt_synth_opts *o, qt_rng *r, double mid, double spread_bps, qt_quotes *q,
                     size_t i, int64_t ts) {
  double half = mid * spread_bps * (0.5 + qt_rng_uniform(r)) / 2e4;
  double bid = floor((mid - half) / o->tick) * o->tick;
  double ask = ceil((mid + half) / o->tick) * o->tick;
  if (bid < o->tick) bid = o->tick;
  if (ask < bid + o->tick * 0.5) ask = bid + o->tick;
  q->ts_ms[i] = ts;
  q->bid[i] = bid;
  q->ask[i] = ask;
  q->bid_qty[i] = qty_round(5 * o->qty_mean * exp(qt_rng_normal(r) - 0.5), o->lot);
  q->ask_qty[i] = qty_round(5 * o->qty_mean * exp(qt_rng_normal(r) - 0.5), o->lot);
}

int qt_synth_generate(const qt_synth_opts *o, qt_synth_market *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  double *x = NULL;
  uint32_t *cnt = NULL;
  int rc = check_opts(o, err);
  if (rc) goto fail;
  size_t n = (size_t)o->days * 1440;
  int64_t end_ms = o->start_ms + (int64_t)n * MIN_MS;
  x = qt_malloc((n + 1) * sizeof *x);
  cnt = qt_malloc(n * sizeof *cnt);
  out->regime = qt_malloc(n);
  out->diff_bps = qt_malloc(n * sizeof *out->diff_bps);
  if (!x || !cnt || !out->regime || !out->diff_bps) {
    rc = qt_err_set(err, QT_ENOMEM, "synth: out of memory for %zu minutes", n);
    goto fail;
  }
  size_t n_trades = 0;
  latent_path(o, n, out->regime, x, cnt, out->diff_bps, &n_trades);

  /* Funding settles at 00:00, 08:00 and 16:00 UTC inside the span. */
  int64_t f0 = (o->start_ms / FUNDING_MS + 1) * FUNDING_MS;
  size_t n_fund = f0 <= end_ms ? (size_t)((end_ms - f0) / FUNDING_MS + 1) : 0;
  size_t n_q = (size_t)(((int64_t)n * MIN_MS + o->quote_interval_ms - 1) / o->quote_interval_ms);
  if ((rc = qt_bars_alloc(&out->bars, n, err)) || (rc = qt_trades_alloc(&out->trades, n_trades, err)) ||
      (rc = qt_funding_alloc(&out->funding, n_fund, err)) ||
      (rc = qt_quotes_alloc(&out->quotes, n_q, err)) || (rc = qt_bars_alloc(&out->bars_b, n, err)) ||
      (rc = qt_quotes_alloc(&out->quotes_b, n_q, err)))
    goto fail;
  out->bars.interval_ms = out->bars_b.interval_ms = MIN_MS;

  /* Venue A bars from their trades. */
  bar_rngs rt;
  qt_rng_stream(&rt.gap, o->seed, S_GAP);
  qt_rng_stream(&rt.bridge, o->seed, S_BRIDGE);
  qt_rng_stream(&rt.trade, o->seed, S_TRADE);
  const double sig_min = o->vol_daily / sqrt(1440.0);
  int64_t next_id = 1;
  size_t at = 0;
  for (size_t t = 0; t < n; t++) {
    double sig = sig_min * o->vol_mult[out->regime[t]];
    bar_trades(o, &rt, o->start_ms + (int64_t)t * MIN_MS, x[t], x[t + 1], sig, cnt[t],
               &out->trades, at, &next_id, &out->bars, t);
    at += cnt[t];
  }

  /* Funding leans with the drift of the period it settles. */
  qt_rng rf;
  qt_rng_stream(&rf, o->seed, S_FUNDING);
  for (size_t i = 0; i < n_fund; i++) {
    int64_t ts = f0 + (int64_t)i * FUNDING_MS;
    size_t hi = (size_t)((ts - o->start_ms) / MIN_MS);
    size_t lo = ts - FUNDING_MS > o->start_ms ? (size_t)((ts - FUNDING_MS - o->start_ms) / MIN_MS) : 0;
    double s = 0;
    for (size_t t = lo; t < hi; t++) s += regime_drift(o, out->regime[t]);
    double drift = hi > lo ? s / (double)(hi - lo) : 0;
    double rate = o->funding_base + o->funding_gain * drift + o->funding_noise * qt_rng_normal(&rf);
    if (rate > 0.0075) rate = 0.0075;
    if (rate < -0.0075) rate = -0.0075;
    out->funding.ts_ms[i] = ts;
    out->funding.rate[i] = rate;
    out->funding.interval_h[i] = 8.0;
  }

  /* Quotes: venue A around its last trade; venue B around that times B's
   * price ratio of the minute. */
  qt_rng rq, rb;
  qt_rng_stream(&rq, o->seed, S_QUOTE);
  qt_rng_stream(&rb, o->seed, S_VENUE_B);
  size_t ti = 0;
  for (size_t i = 0; i < n_q; i++) {
    int64_t ts = o->start_ms + (int64_t)i * o->quote_interval_ms;
    size_t t = (size_t)((ts - o->start_ms) / MIN_MS);
    while (ti < n_trades && out->trades.ts_ms[ti] <= ts) ti++;
    double mid = ti ? out->trades.price[ti - 1] : out->bars.open[0];
    double sp = o->spread_bps * sqrt(o->vol_mult[out->regime[t]]);
    quote_at(o, &rq, mid, sp, &out->quotes, i, ts);
    quote_at(o, &rb, mid * (1 + out->diff_bps[t] / 1e4), 1.5 * sp, &out->quotes_b, i, ts);
  }

  /* Venue B bars: A's prices scaled by the difference (monotone, so OHLC
   * stays consistent after rounding), a share of A's volume. */
  qt_bars *a = &out->bars, *b = &out->bars_b;
  for (size_t t = 0; t < n; t++) {
    double f = 1 + out->diff_bps[t] / 1e4;
    b->ts_ms[t] = a->ts_ms[t];
    b->open[t] = px_round(a->open[t] * f, o->tick);
    b->high[t] = px_round(a->high[t] * f, o->tick);
    b->low[t] = px_round(a->low[t] * f, o->tick);
    b->close[t] = px_round(a->close[t] * f, o->tick);
    double v = qty_round(a->volume[t] * o->venue_b_volume_share * exp(0.3 * qt_rng_normal(&rb) - 0.045),
                         o->lot);
    double vwap = a->quote_volume[t] / a->volume[t] * f;
    if (vwap > b->high[t]) vwap = b->high[t];
    if (vwap < b->low[t]) vwap = b->low[t];
    double share = a->taker_buy_base[t] / a->volume[t];
    double c = nearbyint(a->trade_count[t] * o->venue_b_volume_share);
    b->volume[t] = v;
    b->quote_volume[t] = v * vwap;
    b->trade_count[t] = c < 1 ? 1 : c;
    b->taker_buy_base[t] = v * share;
    b->taker_buy_quote[t] = v * share * vwap;
  }
  rc = QT_OK;
fail:
  qt_free(x);
  qt_free(cnt);
  if (rc) qt_synth_market_fini(out);
  return rc;
}
