/* Indicators against R's TTR (tests/fixtures/oracles/ttrc_indicators.csv):
 * every oracle column, batch form, to 1e-9 relative with the same NaN rows;
 * streaming against batch at chunk sizes 1, 2, 3, 7, 13 and all; the
 * generic qt_ind_compute for every kind; degenerate inputs; errors. */
#include "qt_test.h"
#include "qtune/indicators.h"

#define MAXCOL 40
static struct {
  size_t n;
  int ncol;
  char name[MAXCOL][32];
  double *col[MAXCOL];
} orc;

static void load_oracle(void) {
  if (orc.n) return;
  char path[512];
  snprintf(path, sizeof path, "%s/oracles/ttrc_indicators.csv", qt_test_fixtures());
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    return;
  }
  static char line[8192];
  size_t cap = 8192;
  if (!fgets(line, sizeof line, f)) goto done;
  line[strcspn(line, "\r\n")] = 0;
  for (char *tok = strtok(line, ","); tok && orc.ncol < MAXCOL; tok = strtok(NULL, ","))
    snprintf(orc.name[orc.ncol++], 32, "%s", tok);
  for (int k = 0; k < orc.ncol; k++) orc.col[k] = malloc(cap * sizeof(double));
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0]) continue;
    if (orc.n == cap) {
      cap *= 2;
      for (int k = 0; k < orc.ncol; k++) orc.col[k] = realloc(orc.col[k], cap * sizeof(double));
    }
    char *p = line;
    for (int k = 0; k < orc.ncol; k++) {
      char *e = strchr(p, ',');
      if (e) *e = 0;
      /* date column and empty fields (NA) become NaN */
      orc.col[k][orc.n] = (k == 0 || !*p) ? NAN : strtod(p, NULL);
      p = e ? e + 1 : p + strlen(p);
    }
    orc.n++;
  }
done:
  fclose(f);
}

static const double *col(const char *name) {
  load_oracle();
  for (int k = 0; k < orc.ncol; k++)
    if (strcmp(orc.name[k], name) == 0) return orc.col[k];
  fprintf(stderr, "no oracle column %s\n", name);
  return NULL;
}

/* Same NaN rows, and |a-b| <= 1e-9*max(1,|b|) elsewhere.  Returns mismatches. */
static int cmp_col(const char *name, const double *got, const double *want, size_t n) {
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    int ok = isnan(want[i]) ? isnan(got[i])
                            : !isnan(got[i]) && fabs(got[i] - want[i]) <= 1e-9 * fmax(1, fabs(want[i]));
    if (!ok && bad++ < 3)
      fprintf(stderr, "  %s[%zu]: got %.17g want %.17g\n", name, i, got[i], want[i]);
  }
  return bad;
}

#define CHECK_COL(name, got)                                      \
  do {                                                            \
    const double *w_ = col(name);                                 \
    ASSERT_TRUE(w_ != NULL);                                      \
    EXPECT_EQ(cmp_col(name, got, w_, orc.n), 0);                  \
  } while (0)

static double *vec(size_t n) {
  double *v = malloc((n ? n : 1) * sizeof(double));
  for (size_t i = 0; i < n; i++) v[i] = -12345.0; /* poison: every row must be written */
  return v;
}

static void test_oracle_loaded(void) {
  load_oracle();
  EXPECT_EQ(orc.n, 1000); /* the fixture keeps TTR's first 1000 rows */
  EXPECT_EQ(orc.ncol, 37);
  EXPECT_NEAR(col("close")[0], 3.08, 0);
}

/* ---- batch against TTR ---- */
static void test_batch_ma(void) {
  load_oracle();
  size_t n = orc.n;
  const double *c = col("close");
  double *o = vec(n);
  qt_err e;
  EXPECT_EQ(qt_ind_sma(c, n, 20, o, &e), 0);
  CHECK_COL("sma20", o);
  EXPECT_EQ(qt_ind_ema(c, n, 20, o, &e), 0);
  CHECK_COL("ema20", o);
  EXPECT_EQ(qt_ind_wilder(c, n, 20, o, &e), 0);
  CHECK_COL("ema20_wilder", o);
  EXPECT_EQ(qt_ind_wma(c, n, 20, o, &e), 0);
  CHECK_COL("wma20", o);
  EXPECT_EQ(qt_ind_rsi(c, n, 14, o, &e), 0);
  CHECK_COL("rsi14", o);
  EXPECT_EQ(qt_ind_runsd(c, n, 20, 1, o, &e), 0);
  CHECK_COL("runsd20_sample", o);
  EXPECT_EQ(qt_ind_runsd(c, n, 20, 0, o, &e), 0);
  CHECK_COL("runsd20_pop", o);
  EXPECT_EQ(qt_ind_roc(c, n, 1, 0, o, &e), 0);
  CHECK_COL("roc1_discrete", o);
  EXPECT_EQ(qt_ind_roc(c, n, 1, 1, o, &e), 0);
  CHECK_COL("roc1_continuous", o);
  EXPECT_EQ(qt_ind_sma_lookback(20), 19);
  EXPECT_EQ(qt_ind_ema_lookback(20), 19);
  EXPECT_EQ(qt_ind_wilder_lookback(20), 19);
  EXPECT_EQ(qt_ind_wma_lookback(20), 19);
  EXPECT_EQ(qt_ind_rsi_lookback(14), 14);
  EXPECT_EQ(qt_ind_runsd_lookback(20), 19);
  EXPECT_EQ(qt_ind_roc_lookback(1), 1);
  free(o);
}

static void test_batch_range(void) {
  load_oracle();
  size_t n = orc.n;
  const double *h = col("high"), *l = col("low"), *c = col("close");
  double *o[4] = {vec(n), vec(n), vec(n), vec(n)};
  qt_err e;
  EXPECT_EQ(qt_ind_atr(h, l, c, n, 14, o[0], o[1], o[2], o[3], &e), 0);
  CHECK_COL("atr14_atr", o[0]);
  CHECK_COL("atr14_tr", o[1]);
  CHECK_COL("atr14_trueHigh", o[2]);
  CHECK_COL("atr14_trueLow", o[3]);
  EXPECT_EQ(qt_ind_adx(h, l, c, n, 14, o[0], o[1], o[2], o[3], &e), 0);
  CHECK_COL("adx14_ADX", o[0]);
  CHECK_COL("adx14_DIp", o[1]);
  CHECK_COL("adx14_DIn", o[2]);
  CHECK_COL("adx14_DX", o[3]);
  EXPECT_EQ(qt_ind_bbands(c, n, 20, 2.0, o[0], o[1], o[2], o[3], &e), 0);
  CHECK_COL("bb20close_dn", o[0]);
  CHECK_COL("bb20close_mavg", o[1]);
  CHECK_COL("bb20close_up", o[2]);
  CHECK_COL("bb20close_pctB", o[3]);
  double *tp = vec(n);
  EXPECT_EQ(qt_ind_typprice(h, l, c, n, tp, &e), 0);
  EXPECT_EQ(qt_ind_bbands(tp, n, 20, 2.0, o[0], o[1], o[2], o[3], &e), 0);
  CHECK_COL("bb20hlc_dn", o[0]);
  CHECK_COL("bb20hlc_mavg", o[1]);
  CHECK_COL("bb20hlc_up", o[2]);
  CHECK_COL("bb20hlc_pctB", o[3]);
  EXPECT_EQ(qt_ind_donchian(h, l, n, 20, o[0], o[1], o[2], &e), 0);
  CHECK_COL("dc20_high", o[0]);
  CHECK_COL("dc20_mid", o[1]);
  CHECK_COL("dc20_low", o[2]);
  EXPECT_EQ(qt_ind_macd(c, n, 12, 26, 9, o[0], o[1], o[2], &e), 0);
  CHECK_COL("macd12_26_9_macd", o[0]);
  CHECK_COL("macd12_26_9_signal", o[1]);
  const double *wm = col("macd12_26_9_macd"), *ws = col("macd12_26_9_signal");
  for (size_t i = 0; i < n; i++) tp[i] = wm[i] - ws[i];
  EXPECT_EQ(cmp_col("macd hist", o[2], tp, n), 0);
  free(tp);
  for (int k = 0; k < 4; k++) free(o[k]);
}

static void test_batch_cci(void) {
  load_oracle();
  size_t n = orc.n;
  double *o = vec(n);
  EXPECT_EQ(qt_ind_cci(col("high"), col("low"), col("close"), n, 20, o, NULL), 0);
  CHECK_COL("cci20", o);
  EXPECT_EQ(qt_ind_cci_lookback(20), 19);
  free(o);
}

/* Lookbacks agree with the NaN rows of the oracle. */
static void test_lookbacks(void) {
  EXPECT_EQ(qt_ind_atr_lookback(14), 14);
  EXPECT_EQ(qt_ind_adx_lookback(14), 27);
  EXPECT_EQ(qt_ind_bbands_lookback(20), 19);
  EXPECT_EQ(qt_ind_donchian_lookback(20), 19);
  EXPECT_EQ(qt_ind_macd_lookback(12, 26, 9), 25);
  EXPECT_EQ(qt_ind_vwap_lookback(5), 4);
  const double *adx = col("adx14_ADX"), *sig = col("macd12_26_9_signal");
  ASSERT_TRUE(adx && sig);
  EXPECT_TRUE(isnan(adx[26]) && !isnan(adx[27]));
  EXPECT_TRUE(isnan(sig[32]) && !isnan(sig[33]));
  EXPECT_EQ(qt_ind_lookback(QT_IND_ADX, 14, 0, 0), 27);
  EXPECT_EQ(qt_ind_lookback(QT_IND_MACD, 12, 26, 9), 33);
  EXPECT_EQ(qt_ind_lookback(QT_IND_RSI, 14, 0, 0), 14);
  EXPECT_EQ(qt_ind_lookback(QT_IND_ATR, 14, 0, 0), 14);
  EXPECT_EQ(qt_ind_lookback(QT_IND_SMA, 20, 0, 0), 19);
  EXPECT_EQ(qt_ind_lookback(QT_IND_SMA, 0, 0, 0), -1);
  EXPECT_EQ(qt_ind_lookback(99, 5, 0, 0), -1);
}

/* ---- streaming against batch, in chunks ---- */
static const size_t chunks[] = {1, 2, 3, 7, 13, 0 /* 0 = everything */};

/* Identical, or within 1e-12 relative; NaN rows the same. */
static int same(const char *what, size_t chunk, const double *a, const double *b, size_t n) {
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    int ok = isnan(b[i]) ? isnan(a[i]) : fabs(a[i] - b[i]) <= 1e-12 * fmax(1, fabs(b[i]));
    if (!ok && bad++ < 3)
      fprintf(stderr, "  %s chunk %zu [%zu]: stream %.17g batch %.17g\n", what, chunk, i, a[i], b[i]);
  }
  return bad;
}

/* Runs `body` over [off, off+m) chunks of the series; body uses off, m. */
#define FOR_CHUNKS(n, chunk, ...)                                   \
  for (size_t off = 0; off < (n);) {                                \
    size_t m = (chunk) ? (chunk) : (n);                             \
    if (m > (n) - off) m = (n) - off;                               \
    __VA_ARGS__;                                                    \
    off += m;                                                       \
  }

/* Per-bar update at chunk 1 (the strategies' path), _run otherwise. */
static void test_stream_single(void) {
  load_oracle();
  size_t n = orc.n;
  const double *c = col("close");
  double *b = vec(n), *s = vec(n), ring[64];
  for (size_t ci = 0; ci < sizeof chunks / sizeof *chunks; ci++) {
    size_t ch = chunks[ci];
    /* SMA */
    qt_ind_sma(c, n, 20, b, NULL);
    qt_ind_sma_state sm;
    ASSERT_TRUE(qt_ind_sma_init(&sm, 20, ring, NULL) == 0);
    FOR_CHUNKS(n, ch, if (ch == 1) s[off] = qt_ind_sma_update(&sm, c[off]);
               else qt_ind_sma_run(&sm, c + off, m, s + off));
    EXPECT_EQ(same("sma", ch, s, b, n), 0);
    EXPECT_TRUE(sm.out[0] == b[n - 1]);
    /* EMA and Wilder */
    for (int w = 0; w < 2; w++) {
      (w ? qt_ind_wilder : qt_ind_ema)(c, n, 20, b, NULL);
      qt_ind_ema_state em;
      ASSERT_TRUE(qt_ind_ema_init(&em, 20, w, NULL) == 0);
      FOR_CHUNKS(n, ch, if (ch == 1) s[off] = qt_ind_ema_update(&em, c[off]);
                 else qt_ind_ema_run(&em, c + off, m, s + off));
      EXPECT_EQ(same(w ? "wilder" : "ema", ch, s, b, n), 0);
    }
    /* WMA */
    qt_ind_wma(c, n, 20, b, NULL);
    qt_ind_wma_state wm;
    ASSERT_TRUE(qt_ind_wma_init(&wm, 20, ring, NULL) == 0);
    FOR_CHUNKS(n, ch, if (ch == 1) s[off] = qt_ind_wma_update(&wm, c[off]);
               else qt_ind_wma_run(&wm, c + off, m, s + off));
    EXPECT_EQ(same("wma", ch, s, b, n), 0);
    /* RSI */
    qt_ind_rsi(c, n, 14, b, NULL);
    qt_ind_rsi_state rs;
    ASSERT_TRUE(qt_ind_rsi_init(&rs, 14, NULL) == 0);
    FOR_CHUNKS(n, ch, if (ch == 1) s[off] = qt_ind_rsi_update(&rs, c[off]);
               else qt_ind_rsi_run(&rs, c + off, m, s + off));
    EXPECT_EQ(same("rsi", ch, s, b, n), 0);
    /* runSD, both kinds */
    for (int smp = 0; smp < 2; smp++) {
      qt_ind_runsd(c, n, 20, smp, b, NULL);
      qt_ind_runsd_state sd;
      ASSERT_TRUE(qt_ind_runsd_init(&sd, 20, smp, ring, NULL) == 0);
      FOR_CHUNKS(n, ch, if (ch == 1) s[off] = qt_ind_runsd_update(&sd, c[off]);
                 else qt_ind_runsd_run(&sd, c + off, m, s + off));
      EXPECT_EQ(same("runsd", ch, s, b, n), 0);
    }
    /* ROC, both kinds, n = 1 and 5 */
    for (int k = 0; k < 4; k++) {
      int rn = k < 2 ? 1 : 5, cont = k & 1;
      qt_ind_roc(c, n, rn, cont, b, NULL);
      qt_ind_roc_state ro;
      ASSERT_TRUE(qt_ind_roc_init(&ro, rn, cont, ring, NULL) == 0);
      FOR_CHUNKS(n, ch, if (ch == 1) s[off] = qt_ind_roc_update(&ro, c[off]);
                 else qt_ind_roc_run(&ro, c + off, m, s + off));
      EXPECT_EQ(same("roc", ch, s, b, n), 0);
    }
  }
  free(b);
  free(s);
}

static void test_stream_multi(void) {
  load_oracle();
  size_t n = orc.n;
  const double *h = col("high"), *l = col("low"), *c = col("close"), *v = col("volume");
  double *b[4], *s[4], ring[128];
  for (int k = 0; k < 4; k++) b[k] = vec(n), s[k] = vec(n);
  for (size_t ci = 0; ci < sizeof chunks / sizeof *chunks; ci++) {
    size_t ch = chunks[ci];
    /* ATR: all four outputs */
    qt_ind_atr(h, l, c, n, 14, b[0], b[1], b[2], b[3], NULL);
    qt_ind_atr_state at;
    ASSERT_TRUE(qt_ind_atr_init(&at, 14, NULL) == 0);
    FOR_CHUNKS(n, ch, if (ch == 1) {
      qt_ind_atr_update(&at, h[off], l[off], c[off]);
      for (int k = 0; k < 4; k++) s[k][off] = at.out[k];
    } else {
      double *o[4] = {s[0] + off, s[1] + off, s[2] + off, s[3] + off};
      qt_ind_atr_run(&at, h + off, l + off, c + off, m, o);
    });
    for (int k = 0; k < 4; k++) EXPECT_EQ(same("atr", ch, s[k], b[k], n), 0);
    /* ADX */
    qt_ind_adx(h, l, c, n, 14, b[0], b[1], b[2], b[3], NULL);
    qt_ind_adx_state ad;
    ASSERT_TRUE(qt_ind_adx_init(&ad, 14, NULL) == 0);
    FOR_CHUNKS(n, ch, if (ch == 1) {
      qt_ind_adx_update(&ad, h[off], l[off], c[off]);
      for (int k = 0; k < 4; k++) s[k][off] = ad.out[k];
    } else {
      double *o[4] = {s[0] + off, s[1] + off, s[2] + off, s[3] + off};
      qt_ind_adx_run(&ad, h + off, l + off, c + off, m, o);
    });
    for (int k = 0; k < 4; k++) EXPECT_EQ(same("adx", ch, s[k], b[k], n), 0);
    /* Bollinger on close */
    qt_ind_bbands(c, n, 20, 2.0, b[0], b[1], b[2], b[3], NULL);
    qt_ind_bbands_state bb;
    ASSERT_TRUE(qt_ind_bbands_init(&bb, 20, 2.0, ring, NULL) == 0);
    FOR_CHUNKS(n, ch, if (ch == 1) {
      qt_ind_bbands_update(&bb, c[off]);
      for (int k = 0; k < 4; k++) s[k][off] = bb.out[k];
    } else {
      double *o[4] = {s[0] + off, s[1] + off, s[2] + off, s[3] + off};
      qt_ind_bbands_run(&bb, c + off, m, o);
    });
    for (int k = 0; k < 4; k++) EXPECT_EQ(same("bbands", ch, s[k], b[k], n), 0);
    /* Donchian */
    qt_ind_donchian(h, l, n, 20, b[0], b[1], b[2], NULL);
    qt_ind_donchian_state dc;
    ASSERT_TRUE(qt_ind_donchian_ring_len(20) <= 128);
    ASSERT_TRUE(qt_ind_donchian_init(&dc, 20, ring, NULL) == 0);
    FOR_CHUNKS(n, ch, if (ch == 1) {
      qt_ind_donchian_update(&dc, h[off], l[off]);
      for (int k = 0; k < 3; k++) s[k][off] = dc.out[k];
    } else {
      double *o[3] = {s[0] + off, s[1] + off, s[2] + off};
      qt_ind_donchian_run(&dc, h + off, l + off, m, o);
    });
    for (int k = 0; k < 3; k++) EXPECT_EQ(same("donchian", ch, s[k], b[k], n), 0);
    /* MACD */
    qt_ind_macd(c, n, 12, 26, 9, b[0], b[1], b[2], NULL);
    qt_ind_macd_state mc;
    ASSERT_TRUE(qt_ind_macd_init(&mc, 12, 26, 9, NULL) == 0);
    FOR_CHUNKS(n, ch, if (ch == 1) {
      qt_ind_macd_update(&mc, c[off]);
      for (int k = 0; k < 3; k++) s[k][off] = mc.out[k];
    } else {
      double *o[3] = {s[0] + off, s[1] + off, s[2] + off};
      qt_ind_macd_run(&mc, c + off, m, o);
    });
    for (int k = 0; k < 3; k++) EXPECT_EQ(same("macd", ch, s[k], b[k], n), 0);
    /* CCI */
    qt_ind_cci(h, l, c, n, 20, b[0], NULL);
    qt_ind_cci_state cc;
    ASSERT_TRUE(qt_ind_cci_init(&cc, 20, ring, NULL) == 0);
    FOR_CHUNKS(n, ch, if (ch == 1) s[0][off] = qt_ind_cci_update(&cc, h[off], l[off], c[off]);
               else qt_ind_cci_run(&cc, h + off, l + off, c + off, m, s[0] + off));
    EXPECT_EQ(same("cci", ch, s[0], b[0], n), 0);
    /* VWAP */
    qt_ind_vwap(h, l, c, v, n, 20, b[0], NULL);
    qt_ind_vwap_state vw;
    ASSERT_TRUE(qt_ind_vwap_init(&vw, 20, ring, NULL) == 0);
    FOR_CHUNKS(n, ch, if (ch == 1) s[0][off] = qt_ind_vwap_update(&vw, h[off], l[off], c[off], v[off]);
               else qt_ind_vwap_run(&vw, h + off, l + off, c + off, v + off, m, s[0] + off));
    EXPECT_EQ(same("vwap", ch, s[0], b[0], n), 0);
  }
  for (int k = 0; k < 4; k++) free(b[k]), free(s[k]);
}

/* VWAP has no TTR oracle: check it against a plain per-window sum, and by
 * hand on three bars. */
static void test_vwap(void) {
  load_oracle();
  size_t n = orc.n;
  const double *h = col("high"), *l = col("low"), *c = col("close"), *v = col("volume");
  double *o = vec(n);
  EXPECT_EQ(qt_ind_vwap(h, l, c, v, n, 20, o, NULL), 0);
  int bad = 0;
  for (size_t t = 0; t < n; t++) {
    if (t < 19) {
      bad += !isnan(o[t]);
      continue;
    }
    double a = 0, b = 0;
    for (size_t i = t - 19; i <= t; i++) a += (h[i] + l[i] + c[i]) / 3 * v[i], b += v[i];
    bad += !(fabs(o[t] - a / b) <= 1e-12 * fabs(a / b));
  }
  EXPECT_EQ(bad, 0);
  /* tp = 10, 20, 30 with volumes 1, 3, 0 (then 0): n = 2 ->
   * [NaN, (10*1+20*3)/4 = 17.5, (20*3+30*0)/3 = 20, NaN (no volume)] */
  double hh[] = {10, 20, 30, 40}, ll[] = {10, 20, 30, 40}, cc[] = {10, 20, 30, 40}, vv[] = {1, 3, 0, 0};
  double r[4];
  EXPECT_EQ(qt_ind_vwap(hh, ll, cc, vv, 4, 2, r, NULL), 0);
  EXPECT_TRUE(isnan(r[0]));
  EXPECT_NEAR(r[1], 17.5, 1e-15);
  EXPECT_NEAR(r[2], 20.0, 1e-15);
  EXPECT_TRUE(isnan(r[3]));
  free(o);
}

/* Small hand-computed cases. */
static void test_hand(void) {
  double x[] = {1, 2, 3, 4, 5, 6}, o[8];
  /* SMA3: 2, 3, 4, 5; EMA3 (a=.5): seed 2, then 3, 4, 5;
   * WMA3 at t=2: (1+4+9)/6 = 14/6; Wilder3 (a=1/3): 2, 2+2/3, ... */
  qt_ind_sma(x, 6, 3, o, NULL);
  EXPECT_TRUE(isnan(o[1]));
  EXPECT_NEAR(o[2], 2, 1e-15);
  EXPECT_NEAR(o[5], 5, 1e-15);
  qt_ind_ema(x, 6, 3, o, NULL);
  EXPECT_NEAR(o[2], 2, 1e-15);
  EXPECT_NEAR(o[3], 3, 1e-15);
  EXPECT_NEAR(o[5], 5, 1e-15);
  qt_ind_wilder(x, 6, 3, o, NULL);
  EXPECT_NEAR(o[3], 4.0 / 3 + 2 * 2.0 / 3, 1e-15);
  qt_ind_wma(x, 6, 3, o, NULL);
  EXPECT_NEAR(o[2], 14.0 / 6, 1e-15);
  EXPECT_NEAR(o[5], (4 + 10 + 18) / 6.0, 1e-15);
  /* runSD of 2,4,4,4,5,5,7,9 (n = 8): population 2, sample sqrt(32/7) */
  double y[] = {2, 4, 4, 4, 5, 5, 7, 9};
  qt_ind_runsd(y, 8, 8, 0, o, NULL);
  EXPECT_NEAR(o[7], 2.0, 1e-15);
  qt_ind_runsd(y, 8, 8, 1, o, NULL);
  EXPECT_NEAR(o[7], sqrt(32.0 / 7), 1e-15);
  /* RSI2 on 1, 2, 1, 3: changes +1, -1, +2; seed up .5 dn .5 -> 50;
   * then up = 2*.5 + .5*.5 = 1.25, dn = .25 -> 100*1.25/1.5 */
  double z[] = {1, 2, 1, 3};
  qt_ind_rsi(z, 4, 2, o, NULL);
  EXPECT_TRUE(isnan(o[1]));
  EXPECT_NEAR(o[2], 50, 1e-13);
  EXPECT_NEAR(o[3], 100 * 1.25 / 1.5, 1e-13);
  /* ROC2: 3/1-1 = 2 */
  qt_ind_roc(x, 6, 2, 0, o, NULL);
  EXPECT_TRUE(isnan(o[1]));
  EXPECT_NEAR(o[2], 2, 1e-15);
  qt_ind_roc(x, 6, 2, 1, o, NULL);
  EXPECT_NEAR(o[2], log(3.0), 1e-15);
  /* Donchian n = 2 on h = 3,1,2 l = 1,0,1: high 3,2 low 0,0 */
  double dh[] = {3, 1, 2}, dl[] = {1, 0, 1}, a[3], m[3], b[3];
  qt_ind_donchian(dh, dl, 3, 2, a, m, b, NULL);
  EXPECT_TRUE(isnan(a[0]));
  EXPECT_NEAR(a[1], 3, 0);
  EXPECT_NEAR(a[2], 2, 0);
  EXPECT_NEAR(b[2], 0, 0);
  EXPECT_NEAR(m[2], 1, 0);
  /* EMA skips leading NaNs: seed at first value + n - 1 */
  double w[] = {NAN, NAN, 1, 3, 5};
  qt_ind_ema(w, 5, 2, o, NULL);
  EXPECT_TRUE(isnan(o[2]));
  EXPECT_NEAR(o[3], 2, 1e-15);
  EXPECT_NEAR(o[4], 5 * 2.0 / 3 + 2 / 3.0, 1e-15);
}

/* Flat prices: no 0/0 anywhere; the documented neutral values. */
static void test_flat(void) {
  enum { N = 60 };
  double p[N], vol[N], o[4][N];
  for (int i = 0; i < N; i++) p[i] = 7.25, vol[i] = 0;
  qt_ind_rsi(p, N, 14, o[0], NULL);
  EXPECT_NEAR(o[0][N - 1], 50, 0);
  qt_ind_adx(p, p, p, N, 14, o[0], o[1], o[2], o[3], NULL);
  EXPECT_NEAR(o[0][N - 1], 0, 0);
  EXPECT_NEAR(o[1][N - 1], 0, 0);
  EXPECT_NEAR(o[3][N - 1], 0, 0);
  qt_ind_bbands(p, N, 20, 2, o[0], o[1], o[2], o[3], NULL);
  EXPECT_NEAR(o[0][N - 1], 7.25, 0);
  EXPECT_NEAR(o[2][N - 1], 7.25, 0);
  EXPECT_NEAR(o[3][N - 1], 0.5, 0);
  qt_ind_cci(p, p, p, N, 20, o[0], NULL);
  EXPECT_NEAR(o[0][N - 1], 0, 0);
  qt_ind_runsd(p, N, 20, 1, o[0], NULL);
  EXPECT_NEAR(o[0][N - 1], 0, 0);
  qt_ind_vwap(p, p, p, vol, N, 5, o[0], NULL);
  EXPECT_TRUE(isnan(o[0][N - 1]));
  double zero[3] = {0, 1, 0};
  qt_ind_roc(zero, 3, 1, 0, o[0], NULL);
  EXPECT_TRUE(isnan(o[0][1])); /* 1/0 */
  qt_ind_roc(zero, 3, 1, 1, o[0], NULL);
  EXPECT_TRUE(isnan(o[0][2])); /* log 0 */
}

/* A long random walk far from zero (level 1e4, tiny steps) with a flat
 * stretch: runSD/Bollinger stay close to a two-pass SD, Donchian equals a
 * plain scan, and stream equals batch for long windows too. */
static void test_random_stability(void) {
  enum { N = 200000 };
  double *x = vec(N), *hi = vec(N), *lo = vec(N), *o = vec(N), *o2 = vec(N), *s = vec(N);
  qt_rng r;
  qt_rng_seed(&r, 42);
  double p = 1e4;
  for (size_t i = 0; i < N; i++) {
    if (i < 50000 || i > 50300) p += 0.01 * qt_rng_normal(&r);
    x[i] = p;
    hi[i] = p + fabs(qt_rng_normal(&r));
    lo[i] = p - fabs(qt_rng_normal(&r));
  }
  int ns[] = {2, 50, 1000};
  for (int k = 0; k < 3; k++) {
    int n = ns[k];
    qt_ind_runsd(x, N, n, 0, o, NULL);
    int bad = 0;
    double worst = 0, worst_rel = 0;
    for (size_t t = n - 1; t < N; t += 97) {
      double m = 0, q = 0;
      for (size_t i = t + 1 - n; i <= t; i++) m += x[i];
      m /= n;
      for (size_t i = t + 1 - n; i <= t; i++) q += (x[i] - m) * (x[i] - m);
      double want = sqrt(q / n);
      double err = fabs(o[t] - want);
      if (err > worst) worst = err, worst_rel = err / want;
      /* relative, with a floor of 1e-12 of the price level: raw sums of x
       * and x^2 miss this by orders of magnitude at n = 50 and 1000 */
      bad += !(err <= 1e-9 * want + 1e-12 * x[t]);
    }
    if (bad) fprintf(stderr, "  runsd n %d: worst abs %g rel %g\n", n, worst, worst_rel);
    EXPECT_EQ(bad, 0);
    /* through the flat stretch too: never negative or NaN */
    for (size_t t = n - 1; t < N; t++) bad += !(o[t] >= 0);
    EXPECT_EQ(bad, 0);
    qt_ind_donchian(hi, lo, N, n, o, NULL, o2, NULL);
    for (size_t t = n - 1; t < N; t += 101) {
      double mx = -INFINITY, mn = INFINITY;
      for (size_t i = t + 1 - n; i <= t; i++) mx = fmax(mx, hi[i]), mn = fmin(mn, lo[i]);
      bad += o[t] != mx || o2[t] != mn;
    }
    EXPECT_EQ(bad, 0);
    /* stream == batch on the long series */
    double *ring = malloc(qt_ind_donchian_ring_len(n) * sizeof(double));
    qt_ind_donchian_state dc;
    qt_ind_donchian_init(&dc, n, ring, NULL);
    for (size_t t = 0; t < N; t++) {
      qt_ind_donchian_update(&dc, hi[t], lo[t]);
      bad += t >= (size_t)n - 1 && (dc.out[0] != o[t] || dc.out[2] != o2[t]);
    }
    EXPECT_EQ(bad, 0);
    qt_ind_runsd(x, N, n, 1, o, NULL);
    qt_ind_runsd_state sd;
    qt_ind_runsd_init(&sd, n, 1, ring, NULL);
    qt_ind_runsd_run(&sd, x, 7, s);
    qt_ind_runsd_run(&sd, x + 7, N - 7, s + 7);
    EXPECT_EQ(same("runsd long", 7, s, o, N), 0);
    qt_ind_vwap(hi, lo, x, hi, N, n, o, NULL);
    qt_ind_vwap_state vw;
    qt_ind_vwap_init(&vw, n, ring, NULL);
    qt_ind_vwap_run(&vw, hi, lo, x, hi, 13, s);
    qt_ind_vwap_run(&vw, hi + 13, lo + 13, x + 13, hi + 13, N - 13, s + 13);
    EXPECT_EQ(same("vwap long", 13, s, o, N), 0);
    free(ring);
  }
  free(x), free(hi), free(lo), free(o), free(o2), free(s);
}

/* qt_ind_compute over a qt_bars pointing at the oracle columns: every kind,
 * every output column, against the oracle (or the batch function where TTR
 * has no column), and the NaN count equals qt_ind_lookback. */
static void test_compute_every_kind(void) {
  load_oracle();
  size_t n = orc.n;
  qt_bars b;
  memset(&b, 0, sizeof b);
  b.n = n;
  b.interval_ms = 86400000;
  b.open = (double *)col("open");
  b.high = (double *)col("high");
  b.low = (double *)col("low");
  b.close = (double *)col("close");
  b.volume = (double *)col("volume");
  struct {
    int kind, n1, n2, n3;
    const char *cols[4];
  } cases[] = {
      {QT_IND_SMA, 20, 0, 0, {"sma20"}},
      {QT_IND_EMA, 20, 0, 0, {"ema20"}},
      {QT_IND_WILDER, 20, 0, 0, {"ema20_wilder"}},
      {QT_IND_RSI, 14, 0, 0, {"rsi14"}},
      {QT_IND_ATR, 14, 0, 0, {"atr14_atr", "atr14_tr"}},
      {QT_IND_ADX, 14, 0, 0, {"adx14_ADX", "adx14_DIp", "adx14_DIn", "adx14_DX"}},
      {QT_IND_BBANDS, 20, 2000, 0, {"bb20close_dn", "bb20close_mavg", "bb20close_up", "bb20close_pctB"}},
      {QT_IND_DONCHIAN, 20, 0, 0, {"dc20_high", "dc20_mid", "dc20_low"}},
      {QT_IND_RUNSD, 20, 0, 0, {"runsd20_sample"}},
      {QT_IND_RUNSD_POP, 20, 0, 0, {"runsd20_pop"}},
      {QT_IND_MACD, 12, 26, 9, {"macd12_26_9_macd", "macd12_26_9_signal", NULL}},
      {QT_IND_VWAP, 10, 0, 0, {NULL}},
  };
  EXPECT_EQ(sizeof cases / sizeof *cases, QT_IND_KIND_COUNT);
  double *o[4] = {vec(n), vec(n), vec(n), vec(n)}, *ref = vec(n);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int kind = cases[i].kind, no = qt_ind_n_outputs(kind);
    qt_err e = {0};
    for (int k = 0; k < 4; k++)
      for (size_t t = 0; t < n; t++) o[k][t] = -12345.0;
    EXPECT_EQ(qt_ind_compute(&b, kind, cases[i].n1, cases[i].n2, cases[i].n3, o, &e), 0);
    int lb = qt_ind_lookback(kind, cases[i].n1, cases[i].n2, cases[i].n3);
    /* first row where every output is valid */
    size_t first = n;
    for (size_t t = 0; t < n && first == n; t++) {
      int all = 1;
      for (int k = 0; k < no; k++) all &= !isnan(o[k][t]);
      if (all) first = t;
    }
    EXPECT_EQ(first, lb);
    for (int k = 0; k < no; k++) {
      EXPECT_TRUE(o[k][n - 1] != -12345.0);
      if (cases[i].cols[k]) {
        CHECK_COL(cases[i].cols[k], o[k]);
      } else if (kind == QT_IND_MACD) { /* histogram */
        const double *m = col("macd12_26_9_macd"), *s = col("macd12_26_9_signal");
        for (size_t t = 0; t < n; t++) ref[t] = m[t] - s[t];
        EXPECT_EQ(cmp_col("macd hist", o[k], ref, n), 0);
      } else { /* VWAP */
        qt_ind_vwap(b.high, b.low, b.close, b.volume, n, 10, ref, NULL);
        EXPECT_EQ(cmp_col("vwap", o[k], ref, n), 0);
      }
    }
  }
  EXPECT_EQ(qt_ind_n_outputs(QT_IND_ADX), 4);
  EXPECT_EQ(qt_ind_n_outputs(-1), 0);
  EXPECT_EQ(qt_ind_n_outputs(QT_IND_KIND_COUNT), 0);
  /* an empty series is fine and touches nothing */
  qt_bars empty;
  memset(&empty, 0, sizeof empty);
  EXPECT_EQ(qt_ind_compute(&empty, QT_IND_ADX, 14, 0, 0, o, NULL), 0);
  for (int k = 0; k < 4; k++) free(o[k]);
  free(ref);
}

static void test_errors(void) {
  double x[4] = {1, 2, 3, 4}, o0[4], o1[4], o2[4], o3[4];
  double *o[4] = {o0, o1, o2, o3};
  qt_bars b;
  memset(&b, 0, sizeof b);
  b.n = 4;
  b.close = b.high = b.low = x;
  qt_err e;
  EXPECT_EQ(qt_ind_compute(&b, -1, 5, 0, 0, o, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "kind -1");
  EXPECT_EQ(qt_ind_compute(&b, QT_IND_KIND_COUNT, 5, 0, 0, o, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "unknown");
  EXPECT_EQ(qt_ind_compute(&b, QT_IND_EMA, 0, 0, 0, o, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "ema");
  EXPECT_CONTAINS(e.msg, "n1");
  EXPECT_EQ(qt_ind_compute(&b, QT_IND_ATR, -3, 0, 0, o, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "atr");
  EXPECT_EQ(qt_ind_compute(&b, QT_IND_RUNSD, 1, 0, 0, o, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "sample");
  EXPECT_EQ(qt_ind_compute(&b, QT_IND_RUNSD_POP, 1, 0, 0, o, &e), QT_OK);
  EXPECT_NEAR(o0[3], 0, 0);
  EXPECT_EQ(qt_ind_compute(&b, QT_IND_BBANDS, 20, 0, 0, o, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "sd*1000");
  EXPECT_EQ(qt_ind_compute(&b, QT_IND_MACD, 12, 26, 0, o, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "macd");
  EXPECT_EQ(qt_ind_compute(&b, QT_IND_VWAP, 5, 0, 0, o, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "'volume'");
  EXPECT_EQ(qt_ind_compute(NULL, QT_IND_SMA, 5, 0, 0, o, &e), QT_EINVAL);
  EXPECT_EQ(qt_ind_compute(&b, QT_IND_SMA, 5, 0, 0, NULL, &e), QT_EINVAL);
  double *part[4] = {o0, NULL, NULL, NULL};
  EXPECT_EQ(qt_ind_compute(&b, QT_IND_ATR, 5, 0, 0, part, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "output 1");
  EXPECT_EQ(qt_ind_compute(&b, QT_IND_SMA, 2, 0, 0, o, NULL), QT_OK); /* NULL err is fine */
  /* batch and stream entry points */
  EXPECT_EQ(qt_ind_sma(x, 4, 0, o0, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "sma: n must be >= 1 (got 0)");
  EXPECT_EQ(qt_ind_sma(NULL, 4, 3, o0, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "x is NULL");
  EXPECT_EQ(qt_ind_adx(x, x, x, 4, 0, o0, NULL, NULL, NULL, &e), QT_EINVAL);
  EXPECT_EQ(qt_ind_macd(x, 4, 1, 2, -1, o0, NULL, NULL, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "signal");
  EXPECT_EQ(qt_ind_bbands(x, 4, 2, -1.0, o0, o1, o2, NULL, &e), QT_EINVAL);
  qt_ind_sma_state ss;
  EXPECT_EQ(qt_ind_sma_init(&ss, 3, NULL, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "ring");
  qt_ind_runsd_state sd;
  EXPECT_EQ(qt_ind_runsd_init(&sd, 1, 1, x, &e), QT_EINVAL);
  qt_ind_ema_state em;
  EXPECT_EQ(qt_ind_ema_init(&em, 0, 1, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "wilder");
  /* an over-long window: all NaN, no error */
  EXPECT_EQ(qt_ind_sma(x, 4, 10, o0, &e), QT_OK);
  EXPECT_TRUE(isnan(o0[3]));
}

/* Session VWAP, sessions of 1000 ms offset by 500: bars at 600, 900 (one
 * session), 1400 (same), 1500 (new), -100 and -600 before (sessions -1
 * and -2).  tp = price (h = l = c). */
static void test_vwap_session(void) {
  int64_t ts[] = {-600, -100, 600, 900, 1400, 1500};
  double p[] = {1, 2, 10, 20, 30, 40}, v[] = {5, 1, 1, 3, 0, 2}, o[6];
  EXPECT_EQ(qt_ind_vwap_session(ts, p, p, p, v, 6, 1000, 500, o, NULL), 0);
  EXPECT_NEAR(o[0], 1, 1e-15);                    /* session -2 alone */
  EXPECT_NEAR(o[1], 2, 1e-15);                    /* session -1: new */
  EXPECT_NEAR(o[2], 10, 1e-15);                   /* session 0 */
  EXPECT_NEAR(o[3], (10 + 60) / 4.0, 1e-15);      /* (10*1 + 20*3)/4 */
  EXPECT_NEAR(o[4], (10 + 60) / 4.0, 1e-15);      /* no volume: unchanged */
  EXPECT_NEAR(o[5], 40, 1e-15);                   /* session 1 */
  double z[] = {0};
  EXPECT_EQ(qt_ind_vwap_session(ts, p, p, p, z, 1, 1000, 0, o, NULL), 0);
  EXPECT_TRUE(isnan(o[0]));
  qt_err e;
  EXPECT_EQ(qt_ind_vwap_session(ts, p, p, p, v, 6, 0, 0, o, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "session_ms");
  /* the stream gives the same */
  qt_ind_vwap_session_state s;
  ASSERT_TRUE(qt_ind_vwap_session_init(&s, 1000, 500, NULL) == 0);
  EXPECT_EQ(qt_ind_vwap_session(ts, p, p, p, v, 6, 1000, 500, o, NULL), 0);
  for (int i = 0; i < 6; i++) EXPECT_NEAR(qt_ind_vwap_session_update(&s, ts[i], p[i], p[i], p[i], v[i]), o[i], 0);
}

/* Batch and streaming never allocate: with every allocation failing, all
 * kinds still compute. */
static void test_no_alloc(void) {
  load_oracle();
  qt_bars b;
  memset(&b, 0, sizeof b);
  b.n = 500;
  b.high = (double *)col("high");
  b.low = (double *)col("low");
  b.close = (double *)col("close");
  b.volume = (double *)col("volume");
  double o[4][500], *outs[4] = {o[0], o[1], o[2], o[3]};
  qt_alloc_fail_at(1, 1);
  int bad = 0;
  for (int k = 0; k < QT_IND_KIND_COUNT; k++) bad += qt_ind_compute(&b, k, 14, 2000, 9, outs, NULL) != 0;
  qt_alloc_fail_at(0, 0);
  EXPECT_EQ(bad, 0);
  EXPECT_TRUE(!isnan(o[0][499]));
}


/* The cache kinds' streaming form (qt_ind_kind_*, what the engine extends a
 * growing series with) gives qt_ind_compute's values bit for bit, row by
 * row, for every kind at short and long lengths (a runsd window over 16
 * takes the periodic-recompute path). */
static void test_kind_stream_bitwise(void) {
  load_oracle();
  size_t n = orc.n;
  ASSERT_TRUE(n > 200);
  qt_bars b;
  memset(&b, 0, sizeof b);
  b.n = n;
  b.open = (double *)col("open");
  b.high = (double *)col("high");
  b.low = (double *)col("low");
  b.close = (double *)col("close");
  b.volume = (double *)col("volume");
  static const int lens[][3] = {{14, 2000, 9}, {3, 1500, 2}, {50, 2500, 20}, {12, 26, 9}};
  double *bo[4], *so[4];
  for (int k = 0; k < 4; k++) bo[k] = vec(n), so[k] = vec(n);
  int bad = 0, cases = 0;
  for (int kind = 0; kind < QT_IND_KIND_COUNT; kind++)
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
      int n1 = lens[li][0], n2 = lens[li][1], n3 = lens[li][2];
      if (qt_ind_compute(&b, kind, n1, n2, n3, bo, NULL) != 0) continue;
      size_t rl = qt_ind_kind_ring_len(kind, n1, n2, n3);
      double *ring = rl ? vec(rl) : NULL;
      qt_ind_kind_state st;
      ASSERT_TRUE(qt_ind_kind_init(&st, kind, n1, n2, n3, ring, NULL) == 0);
      for (size_t i = 0; i < n; i++) qt_ind_kind_update(&st, &b, i, so);
      for (int k = 0; k < qt_ind_n_outputs(kind); k++)
        for (size_t i = 0; i < n; i++) {
          double x = bo[k][i], y = so[k][i];
          int same_bits = isnan(x) ? isnan(y) : memcmp(&x, &y, sizeof x) == 0;
          if (!same_bits && bad++ < 5)
            fprintf(stderr, "  kind %d (%d,%d,%d) out %d row %zu: stream %.17g batch %.17g\n",
                    kind, n1, n2, n3, k, i, y, x);
        }
      cases++;
      free(ring);
    }
  EXPECT_EQ(bad, 0);
  EXPECT_TRUE(cases >= 3 * QT_IND_KIND_COUNT);
  qt_ind_kind_state st;
  qt_err e;
  EXPECT_EQ(qt_ind_kind_init(&st, QT_IND_SMA, 0, 0, 0, NULL, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "sma");
  EXPECT_EQ(qt_ind_kind_init(&st, 99, 5, 0, 0, NULL, &e), QT_EINVAL);
  EXPECT_EQ(qt_ind_kind_ring_len(QT_IND_DONCHIAN, 20, 0, 0), 80);
  for (int k = 0; k < 4; k++) free(bo[k]), free(so[k]);
}

QT_TESTS(T(test_oracle_loaded), T(test_batch_ma), T(test_batch_range), T(test_batch_cci),
         T(test_lookbacks), T(test_stream_single), T(test_stream_multi), T(test_vwap), T(test_hand),
         T(test_flat), T(test_random_stability), T(test_compute_every_kind), T(test_errors),
         T(test_vwap_session), T(test_no_alloc),
         T(test_kind_stream_bitwise))
