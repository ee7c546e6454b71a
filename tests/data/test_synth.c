/* synth.c: determinism, internal consistency (verify finds nothing, trades
 * rebuild the bars exactly), and the statistical shape the docs promise:
 * regimes visited with their drifts and volatilities, funding leaning with
 * the trend, taker flow leaning with the move, a mean-reverting venue B
 * with occasional dislocations. */
#include "qt_test.h"

#include "qtune/data.h"

#include <math.h>

static qt_verify_report rep;

static qt_synth_opts small_opts(uint64_t seed, int days) {
  qt_synth_opts o = qt_synth_opts_default();
  o.seed = seed;
  o.days = days;
  return o;
}

static int same_bytes(const qt_backing *a, const qt_backing *b) {
  return a->len == b->len && memcmp(a->base, b->base, a->len) == 0;
}

static void test_defaults_and_options(void) {
  qt_synth_opts o = qt_synth_opts_default();
  EXPECT_EQ(o.days, 30);
  EXPECT_EQ(o.start_ms, 1767225600000LL); /* 2026-01-01 */
  EXPECT_STREQ(qt_regime_name(QT_REGIME_VOLATILE), "volatile");
  EXPECT_STREQ(qt_regime_name(7), "unknown");
  qt_synth_market m;
  qt_err e;
  o.days = 0;
  EXPECT_EQ(qt_synth_generate(&o, &m, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "days");
  EXPECT_TRUE(m.bars.n == 0 && m.regime == NULL);
  o = qt_synth_opts_default();
  o.start_ms += 1;
  EXPECT_EQ(qt_synth_generate(&o, &m, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "start_ms");
  o = qt_synth_opts_default();
  o.duration_min[QT_REGIME_RANGE] = 0;
  EXPECT_EQ(qt_synth_generate(&o, &m, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "duration_min[range]");
  o = qt_synth_opts_default();
  EXPECT_NEAR(o.venue_b_disloc_per_day, 3, 0);
  o.venue_b_disloc_min_bps = 200; /* above max */
  EXPECT_EQ(qt_synth_generate(&o, &m, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "venue_b_disloc_min_bps");
  o = qt_synth_opts_default();
  o.venue_b_disloc_half_life_min = 0;
  EXPECT_EQ(qt_synth_generate(&o, &m, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "venue_b_disloc_half_life_min");
  qt_synth_market_fini(&m); /* zeroed: no-op */
}

static void test_determinism(void) {
  qt_synth_opts o = small_opts(7, 2);
  qt_synth_market a, b, c;
  ASSERT_TRUE(qt_synth_generate(&o, &a, NULL) == 0);
  ASSERT_TRUE(qt_synth_generate(&o, &b, NULL) == 0);
  o.seed = 8;
  ASSERT_TRUE(qt_synth_generate(&o, &c, NULL) == 0);
  EXPECT_EQ(a.bars.n, 2 * 1440);
  EXPECT_TRUE(same_bytes(&a.bars.mem, &b.bars.mem));
  EXPECT_TRUE(same_bytes(&a.trades.mem, &b.trades.mem));
  EXPECT_TRUE(same_bytes(&a.funding.mem, &b.funding.mem));
  EXPECT_TRUE(same_bytes(&a.quotes.mem, &b.quotes.mem));
  EXPECT_TRUE(same_bytes(&a.bars_b.mem, &b.bars_b.mem));
  EXPECT_TRUE(same_bytes(&a.quotes_b.mem, &b.quotes_b.mem));
  EXPECT_TRUE(memcmp(a.regime, b.regime, a.bars.n) == 0);
  /* another seed: another market */
  EXPECT_TRUE(!same_bytes(&a.bars.mem, &c.bars.mem));
  EXPECT_TRUE(a.bars.close[100] != c.bars.close[100] || a.bars.close[2000] != c.bars.close[2000]);
  EXPECT_TRUE(a.trades.n != c.trades.n || !same_bytes(&a.trades.mem, &c.trades.mem));
  qt_synth_market_fini(&a);
  qt_synth_market_fini(&b);
  qt_synth_market_fini(&c);
}

static void test_shapes_and_verify(void) {
  qt_synth_opts o = small_opts(3, 3);
  qt_synth_market m;
  ASSERT_TRUE(qt_synth_generate(&o, &m, NULL) == 0);
  EXPECT_EQ(m.bars.n, 4320);
  EXPECT_EQ(m.bars.interval_ms, 60000);
  EXPECT_EQ(m.bars.ts_ms[0], o.start_ms);
  EXPECT_EQ(m.bars.ts_ms[4319], o.start_ms + 4319 * 60000LL);
  /* funding at 08:00, 16:00, 00:00 ...: 3 days from midnight = 9 */
  EXPECT_EQ(m.funding.n, 9);
  EXPECT_EQ(m.funding.ts_ms[0], o.start_ms + 8 * 3600000LL);
  EXPECT_EQ(m.quotes.n, 3 * 86400 / 10);
  EXPECT_EQ(m.quotes_b.n, m.quotes.n);
  EXPECT_EQ(m.bars_b.n, m.bars.n);
  qt_verify_opts vo = qt_verify_opts_default();
  ASSERT_TRUE(qt_verify_bars(&m.bars, &vo, &rep, NULL) == 0);
  EXPECT_EQ(rep.n_findings, 0);
  ASSERT_TRUE(qt_verify_bars(&m.bars_b, &vo, &rep, NULL) == 0);
  EXPECT_EQ(rep.n_findings, 0);
  ASSERT_TRUE(qt_verify_trades(&m.trades, &vo, &rep, NULL) == 0);
  EXPECT_EQ(rep.n_findings, 0);
  ASSERT_TRUE(qt_verify_funding(&m.funding, &vo, &rep, NULL) == 0);
  EXPECT_EQ(rep.n_findings, 0);
  ASSERT_TRUE(qt_verify_quotes(&m.quotes, &vo, &rep, NULL) == 0);
  EXPECT_EQ(rep.n_findings, 0);
  ASSERT_TRUE(qt_verify_quotes(&m.quotes_b, &vo, &rep, NULL) == 0);
  EXPECT_EQ(rep.n_findings, 0);
  /* every column plausible */
  size_t bad = 0;
  double cnt = 0;
  for (size_t i = 0; i < m.bars.n; i++) {
    const qt_bars *b = &m.bars;
    bad += b->quote_volume[i] < b->low[i] * b->volume[i] * (1 - 1e-12) ||
           b->quote_volume[i] > b->high[i] * b->volume[i] * (1 + 1e-12) || b->trade_count[i] < 2 ||
           b->taker_buy_base[i] > b->volume[i] || b->volume[i] <= 0;
    if (i) bad += b->open[i] != b->close[i - 1]; /* opens at the last close */
    bad += fabs(b->close[i] / o.tick - nearbyint(b->close[i] / o.tick)) > 1e-6;
    cnt += b->trade_count[i];
  }
  EXPECT_EQ(bad, 0);
  EXPECT_EQ((size_t)cnt, m.trades.n);
  /* mean trades per bar near the configured rate (activity scaling ~1.1x) */
  EXPECT_TRUE(cnt / 4320 > 0.8 * o.trades_per_min && cnt / 4320 < 2.0 * o.trades_per_min);
  /* quotes bracket their mids with about the configured spread */
  double sp = 0;
  for (size_t i = 0; i < m.quotes.n; i++) sp += (m.quotes.ask[i] - m.quotes.bid[i]) /
                                                (0.5 * (m.quotes.ask[i] + m.quotes.bid[i])) * 1e4;
  sp /= (double)m.quotes.n;
  EXPECT_TRUE(sp > 1.0 && sp < 6.0);
  qt_synth_market_fini(&m);
}

static void test_trades_rebuild_bars(void) {
  qt_synth_opts o = small_opts(11, 2);
  qt_synth_market m;
  ASSERT_TRUE(qt_synth_generate(&o, &m, NULL) == 0);
  qt_trade_bars_opts to = qt_trade_bars_opts_default();
  qt_bars b;
  ASSERT_TRUE(qt_bars_from_trades(&m.trades, &to, &b, NULL) == 0);
  ASSERT_TRUE(b.n == m.bars.n);
  EXPECT_EQ(b.interval_ms, m.bars.interval_ms);
  /* bit for bit, every column */
  EXPECT_TRUE(memcmp(b.ts_ms, m.bars.ts_ms, b.n * 8) == 0);
  EXPECT_TRUE(memcmp(b.open, m.bars.open, b.n * 8) == 0);
  EXPECT_TRUE(memcmp(b.high, m.bars.high, b.n * 8) == 0);
  EXPECT_TRUE(memcmp(b.low, m.bars.low, b.n * 8) == 0);
  EXPECT_TRUE(memcmp(b.close, m.bars.close, b.n * 8) == 0);
  EXPECT_TRUE(memcmp(b.volume, m.bars.volume, b.n * 8) == 0);
  EXPECT_TRUE(memcmp(b.quote_volume, m.bars.quote_volume, b.n * 8) == 0);
  EXPECT_TRUE(memcmp(b.trade_count, m.bars.trade_count, b.n * 8) == 0);
  EXPECT_TRUE(memcmp(b.taker_buy_base, m.bars.taker_buy_base, b.n * 8) == 0);
  EXPECT_TRUE(memcmp(b.taker_buy_quote, m.bars.taker_buy_quote, b.n * 8) == 0);
  qt_bars_fini(&b);
  /* and 1h from trades equals 1h resampled from the bars (up to the order
   * of additions in the sums) */
  qt_bars h_t, h_b;
  to.interval_ms = 3600000;
  qt_resample_opts ro = {.to_ms = 3600000, .partial = QT_PARTIAL_DROP_EDGES};
  ASSERT_TRUE(qt_bars_from_trades(&m.trades, &to, &h_t, NULL) == 0);
  ASSERT_TRUE(qt_resample_bars(&m.bars, &ro, &h_b, NULL, NULL) == 0);
  ASSERT_TRUE(h_t.n == 48 && h_b.n == 48);
  size_t bad = 0;
  for (size_t i = 0; i < 48; i++)
    bad += h_t.open[i] != h_b.open[i] || h_t.high[i] != h_b.high[i] || h_t.low[i] != h_b.low[i] ||
           h_t.close[i] != h_b.close[i] || fabs(h_t.volume[i] - h_b.volume[i]) > 1e-9 * h_b.volume[i];
  EXPECT_EQ(bad, 0);
  qt_bars_fini(&h_t);
  qt_bars_fini(&h_b);
  qt_synth_market_fini(&m);
}

/* Regimes over 120 days (few trades per bar to keep it quick). */
static void test_regimes(void) {
  qt_synth_opts o = small_opts(5, 120);
  o.trades_per_min = 1;
  qt_synth_market m;
  ASSERT_TRUE(qt_synth_generate(&o, &m, NULL) == 0);
  size_t n = m.bars.n, runs[QT_REGIME_COUNT] = {0}, mins[QT_REGIME_COUNT] = {0};
  double ret[QT_REGIME_COUNT] = {0}, ret2[QT_REGIME_COUNT] = {0};
  for (size_t i = 0; i < n; i++) {
    int r = m.regime[i];
    ASSERT_TRUE(r >= 0 && r < QT_REGIME_COUNT);
    mins[r]++;
    if (i == 0 || m.regime[i - 1] != r) runs[r]++;
    double lr = log(m.bars.close[i] / m.bars.open[i]);
    ret[r] += lr;
    ret2[r] += lr * lr;
  }
  for (int r = 0; r < QT_REGIME_COUNT; r++) {
    EXPECT_TRUE(runs[r] >= 5); /* every regime visited, repeatedly */
    double mean_len = (double)mins[r] / (double)runs[r];
    /* geometric durations: the sample mean within a factor 2 of the setting */
    EXPECT_TRUE(mean_len > 0.5 * o.duration_min[r] && mean_len < 2.0 * o.duration_min[r]);
  }
  /* drift per day: up clearly positive, down clearly negative */
  double up = ret[QT_REGIME_UP] / (double)mins[QT_REGIME_UP] * 1440;
  double down = ret[QT_REGIME_DOWN] / (double)mins[QT_REGIME_DOWN] * 1440;
  EXPECT_TRUE(up > 0.01 && up < 0.06);
  EXPECT_TRUE(down < -0.01 && down > -0.06);
  /* volatility ordering: volatile > trend > range */
  double sd[QT_REGIME_COUNT];
  for (int r = 0; r < QT_REGIME_COUNT; r++) sd[r] = sqrt(ret2[r] / (double)mins[r]);
  EXPECT_TRUE(sd[QT_REGIME_VOLATILE] > 1.8 * sd[QT_REGIME_UP]);
  EXPECT_TRUE(sd[QT_REGIME_RANGE] < 0.8 * sd[QT_REGIME_UP]);
  /* trend-regime minute volatility near vol_daily / sqrt(1440) */
  EXPECT_NEAR(sd[QT_REGIME_UP], o.vol_daily / sqrt(1440.0), 0.0003);
  qt_synth_market_fini(&m);
}

static void test_funding_leans(void) {
  qt_synth_opts o = small_opts(9, 120);
  o.trades_per_min = 1;
  qt_synth_market m;
  ASSERT_TRUE(qt_synth_generate(&o, &m, NULL) == 0);
  EXPECT_EQ(m.funding.n, 360);
  double sum_up = 0, sum_down = 0, sum_range = 0;
  size_t n_up = 0, n_down = 0, n_range = 0;
  for (size_t i = 0; i < m.funding.n; i++) {
    /* the regime that held over the whole settled period */
    size_t hi = (size_t)((m.funding.ts_ms[i] - o.start_ms) / 60000), lo = hi - 480;
    int r = m.regime[lo], same = 1;
    for (size_t t = lo; t < hi; t++) same &= m.regime[t] == r;
    if (!same) continue;
    double f = m.funding.rate[i];
    if (r == QT_REGIME_UP) sum_up += f, n_up++;
    else if (r == QT_REGIME_DOWN) sum_down += f, n_down++;
    else sum_range += f, n_range++;
    EXPECT_NEAR(m.funding.interval_h[i], 8, 0);
  }
  ASSERT_TRUE(n_up >= 3 && n_down >= 3 && n_range >= 3);
  /* up-trend: positive and above the base; down-trend: negative */
  EXPECT_TRUE(sum_up / n_up > o.funding_base + 0.5 * o.funding_gain * o.trend_daily);
  EXPECT_TRUE(sum_down / n_down < 0);
  EXPECT_NEAR(sum_range / n_range, o.funding_base, 0.0001);
  qt_synth_market_fini(&m);
}

/* Taker buys lean with the bar's move. */
static void test_taker_lean(void) {
  qt_synth_opts o = small_opts(4, 3);
  qt_synth_market m;
  ASSERT_TRUE(qt_synth_generate(&o, &m, NULL) == 0);
  double up = 0, down = 0;
  size_t nu = 0, nd = 0;
  for (size_t i = 0; i < m.bars.n; i++) {
    double share = m.bars.taker_buy_base[i] / m.bars.volume[i];
    if (m.bars.close[i] > m.bars.open[i]) up += share, nu++;
    else if (m.bars.close[i] < m.bars.open[i]) down += share, nd++;
  }
  ASSERT_TRUE(nu > 100 && nd > 100);
  EXPECT_TRUE(up / nu > 0.53);
  EXPECT_TRUE(down / nd < 0.47);
  qt_synth_market_fini(&m);
}

/* Venue B: the difference is a slow OU core around 0 plus rare fast
 * dislocations.  The dislocations have their own stream, so the same seed
 * without them gives the core alone: core = that market's diff_bps, and the
 * dislocation part is the difference of the two. */
static void test_venue_b(void) {
  qt_synth_opts o = small_opts(12, 10);
  o.trades_per_min = 2;
  qt_synth_market m, m0;
  ASSERT_TRUE(qt_synth_generate(&o, &m, NULL) == 0);
  qt_synth_opts o0 = o;
  o0.venue_b_disloc_per_day = 0;
  ASSERT_TRUE(qt_synth_generate(&o0, &m0, NULL) == 0);
  /* venue A does not depend on venue B's dislocations */
  EXPECT_TRUE(same_bytes(&m.bars.mem, &m0.bars.mem));
  EXPECT_TRUE(same_bytes(&m.quotes.mem, &m0.quotes.mem));
  EXPECT_TRUE(!same_bytes(&m.bars_b.mem, &m0.bars_b.mem));
  size_t n = m.bars.n;
  double s = 0, s2 = 0, mx = 0, sxy = 0, sxx = 0;
  size_t far = 0, wide = 0;
  for (size_t i = 0; i < n; i++) {
    /* measured from the stored bars, so tick rounding is included */
    double d = (m0.bars_b.close[i] / m0.bars.close[i] - 1) * 1e4;
    double dd = (m.bars_b.close[i] / m.bars.close[i] - 1) * 1e4;
    s += d;
    s2 += d * d;
    mx = fmax(mx, fabs(d));
    /* B's close is A's times the difference, rounded to the tick */
    double half_tick = 0.5 * o.tick / m.bars.close[i] * 1e4 + 1e-6;
    far += fabs(d - m0.diff_bps[i]) > half_tick || fabs(dd - m.diff_bps[i]) > half_tick;
    /* B's bar stays a bar: the shift is the same for all four prices */
    far += m.bars_b.low[i] > fmin(m.bars_b.open[i], m.bars_b.close[i]) ||
           m.bars_b.high[i] < fmax(m.bars_b.open[i], m.bars_b.close[i]);
    wide += fabs(dd) > 55; /* beyond spread_arbitrage's default entry threshold */
    if (i) {
      double dp = m0.diff_bps[i - 1];
      sxy += dp * (m0.diff_bps[i] - dp);
      sxx += dp * dp;
    }
  }
  EXPECT_EQ(far, 0);
  /* the core: mean 0, stdev venue_b_sd_bps, no large values */
  double mean = s / (double)n, sd = sqrt(s2 / (double)n - mean * mean);
  EXPECT_TRUE(fabs(mean) < 2.0);
  EXPECT_TRUE(sd > 0.6 * o.venue_b_sd_bps && sd < 1.5 * o.venue_b_sd_bps);
  EXPECT_TRUE(mx < 6 * o.venue_b_sd_bps);
  /* AR(1) slope of the change on the level: -(1 - 0.5^(1/half_life)) */
  double slope = sxy / sxx, want = -(1 - pow(0.5, 1 / o.venue_b_half_life_min));
  EXPECT_TRUE(slope < 0.4 * want && slope > 2.5 * want);
  /* with dislocations the spread is wide now and then, but rarely: about
   * 3 a day lasting a few minutes each over 14400 minutes */
  EXPECT_TRUE(wide >= 10 && wide <= 300);
  /* B quotes sit around A's mid shifted by the whole difference */
  size_t bad = 0;
  for (size_t i = 0; i < m.quotes.n; i += 97) {
    size_t t = (size_t)((m.quotes.ts_ms[i] - o.start_ms) / 60000);
    double ma = 0.5 * (m.quotes.bid[i] + m.quotes.ask[i]);
    double mb = 0.5 * (m.quotes_b.bid[i] + m.quotes_b.ask[i]);
    bad += fabs((mb / ma - 1) * 1e4 - m.diff_bps[t]) > 5;
  }
  EXPECT_EQ(bad, 0);
  qt_synth_market_fini(&m);
  qt_synth_market_fini(&m0);
}

/* Dislocations over 60 days: rate (scaled by the regime's vol_mult), size,
 * sign, and fast decay with their half-life. */
static void test_venue_b_dislocations(void) {
  qt_synth_opts o = small_opts(13, 60);
  o.trades_per_min = 1;
  qt_synth_market m, m0;
  ASSERT_TRUE(qt_synth_generate(&o, &m, NULL) == 0);
  qt_synth_opts o0 = o;
  o0.venue_b_disloc_per_day = 0;
  ASSERT_TRUE(qt_synth_generate(&o0, &m0, NULL) == 0);
  size_t n = m.bars.n, events = 0, pos = 0, ev_r[QT_REGIME_COUNT] = {0}, min_r[QT_REGIME_COUNT] = {0};
  size_t bad_size = 0, n_decay = 0;
  double expect = 0, size_sum = 0, decay_sum = 0, prev = 0;
  /* a jump is a step that the decay alone does not explain */
  const double phi_k = pow(0.5, 1 / o.venue_b_disloc_half_life_min);
  for (size_t i = 0; i < n; i++) {
    int r = m.regime[i];
    min_r[r]++;
    expect += o.venue_b_disloc_per_day / 1440 * o.vol_mult[r];
    /* measured from the bars of both markets (A is identical in both) */
    double k = (m.bars_b.close[i] - m0.bars_b.close[i]) / m.bars.close[i] * 1e4;
    double tol = o.tick / m.bars.close[i] * 1e4 + 1e-6;
    double step = k - phi_k * prev;
    if (fabs(step) > 10 * tol) {
      events++;
      ev_r[r]++;
      pos += step > 0;
      size_sum += fabs(step);
      bad_size += fabs(step) < o.venue_b_disloc_min_bps - 2 * tol ||
                  fabs(step) > o.venue_b_disloc_max_bps + 2 * tol;
    } else if (fabs(prev) > 20) {
      /* between jumps: the ratio of consecutive values is the decay */
      decay_sum += k / prev;
      n_decay++;
    }
    prev = k;
  }
  /* Poisson count: within about 3 sd of its mean */
  EXPECT_TRUE(fabs((double)events - expect) < 3 * sqrt(expect) + 1);
  EXPECT_TRUE(events > 50);
  EXPECT_EQ(bad_size, 0);
  EXPECT_NEAR(size_sum / (double)events, 0.5 * (o.venue_b_disloc_min_bps + o.venue_b_disloc_max_bps),
              15);
  EXPECT_TRUE(pos > events / 4 && pos < 3 * events / 4); /* both signs */
  /* more dislocations per minute in the volatile regime than in the trends */
  double rate_vol = (double)ev_r[QT_REGIME_VOLATILE] / (double)min_r[QT_REGIME_VOLATILE];
  double rate_trend = (double)(ev_r[QT_REGIME_UP] + ev_r[QT_REGIME_DOWN]) /
                      (double)(min_r[QT_REGIME_UP] + min_r[QT_REGIME_DOWN]);
  EXPECT_TRUE(rate_vol > 1.3 * rate_trend);
  /* decay: half-life of minutes, not the core's hour */
  ASSERT_TRUE(n_decay > 100);
  EXPECT_NEAR(decay_sum / (double)n_decay, phi_k, 0.02);
  qt_synth_market_fini(&m);
  qt_synth_market_fini(&m0);
}

/* Jumps: the same seed with and without them differs only by rare large
 * moves (the jump draws have their own stream). */
static void test_jumps(void) {
  qt_synth_opts o = small_opts(21, 10);
  o.trades_per_min = 1;
  o.jumps_per_day = 0;
  qt_synth_market a, b;
  ASSERT_TRUE(qt_synth_generate(&o, &a, NULL) == 0);
  o.jumps_per_day = 5;
  o.jump_sigma = 0.03;
  ASSERT_TRUE(qt_synth_generate(&o, &b, NULL) == 0);
  size_t big_a = 0, big_b = 0;
  double sig = o.vol_daily / sqrt(1440.0);
  for (size_t i = 0; i < a.bars.n; i++) {
    double mult = o.vol_mult[a.regime[i]];
    EXPECT_EQ(a.regime[i], b.regime[i]);
    big_a += fabs(log(a.bars.close[i] / a.bars.open[i])) > 7 * sig * mult;
    big_b += fabs(log(b.bars.close[i] / b.bars.open[i])) > 7 * sig * mult;
  }
  EXPECT_EQ(big_a, 0);
  /* ~5/day (x4 in volatile) over 10 days, most of them far beyond 7 sigma */
  EXPECT_TRUE(big_b >= 25 && big_b <= 200);
  qt_synth_market_fini(&a);
  qt_synth_market_fini(&b);
}

static void test_enomem(void) {
  qt_synth_opts o = small_opts(2, 1);
  qt_synth_market m;
  int seen_ok = 0;
  for (long k = 1; k <= 12 && !seen_ok; k++) {
    qt_err e;
    qt_alloc_fail_at(k, 0);
    int rc = qt_synth_generate(&o, &m, &e);
    qt_alloc_fail_at(0, 0);
    if (rc == 0) {
      seen_ok = 1;
      EXPECT_EQ(k, 11); /* 4 scratch + 6 series blocks fail in turn */
      qt_synth_market_fini(&m);
    } else {
      EXPECT_EQ(rc, QT_ENOMEM);
      EXPECT_TRUE(m.bars.n == 0 && m.regime == NULL);
    }
  }
  EXPECT_TRUE(seen_ok);
}

QT_TESTS(T(test_defaults_and_options), T(test_determinism), T(test_shapes_and_verify),
         T(test_trades_rebuild_bars), T(test_regimes), T(test_funding_leans), T(test_taker_lean),
         T(test_venue_b), T(test_venue_b_dislocations), T(test_jumps), T(test_enomem))
