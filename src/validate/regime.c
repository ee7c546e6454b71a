/* Market regimes of bars by documented causal rules (rolling volatility
 * against its own longer average, and trend strength: the window's log
 * return in units of its own noise), or from a file of date ranges; and a
 * run's metrics per regime.  Rules and their check against the synthetic
 * market's own regimes: docs/validate.md. */
#include "qtune/validate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const k_names[QT_MREGIME_COUNT] = {"trend-up", "trend-down", "range",
                                                      "high-volatility"};

const char *qt_mregime_name(int r) {
  return r >= 0 && r < QT_MREGIME_COUNT ? k_names[r] : "unlabeled";
}

int qt_mregime_parse(const char *s, int *out) {
  for (int r = 0; r < QT_MREGIME_COUNT; r++)
    if (!strcmp(s, k_names[r])) return *out = r, QT_OK;
  return QT_EINVAL;
}

qt_regime_opts qt_regime_opts_default(void) {
  qt_regime_opts o;
  o.window = 360;
  o.ref_windows = 10;
  o.hi_vol = 1.6;
  o.lo_vol = 0.8;
  o.trend_t = 0.3;
  return o;
}

int qt_regime_label(const qt_bars *b, const qt_regime_opts *opts, uint8_t *out, qt_err *err) {
  qt_regime_opts o = opts ? *opts : qt_regime_opts_default();
  if (o.window < 2 || o.ref_windows < 1 || !(o.hi_vol > 1) || !(o.lo_vol >= 0 && o.lo_vol < 1) ||
      !(o.trend_t >= 0))
    return qt_err_set(err, QT_EINVAL, "regimes: window >= 2, ref_windows >= 1, hi_vol > 1, "
                      "lo_vol in [0, 1), trend_t >= 0 (got %zu, %zu, %g, %g, %g)", o.window,
                      o.ref_windows, o.hi_vol, o.lo_vol, o.trend_t);
  size_t n = b->n, W = o.window, L = o.window * o.ref_windows;
  double *vol = qt_malloc((n ? n : 1) * sizeof *vol), *lr = qt_malloc((n ? n : 1) * sizeof *lr);
  if (!vol || !lr) {
    qt_free(vol);
    qt_free(lr);
    return qt_err_set(err, QT_ENOMEM, "regimes: out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    lr[i] = i ? log(b->close[i] / b->close[i - 1]) : 0;
    if (!isfinite(lr[i])) lr[i] = 0;
  }
  /* vol[i]: SD of the last W one-bar log returns lr[i-W+1 .. i] (lr[0] is
   * no return); ref: the mean of vol over the last L bars */
  double s1 = 0, s2 = 0, vsum = 0;
  size_t vcount = 0;
  for (size_t i = 0; i < n; i++) {
    if (i >= 1) s1 += lr[i], s2 += lr[i] * lr[i];
    if (i >= W + 1) s1 -= lr[i - W], s2 -= lr[i - W] * lr[i - W];
    size_t k = i < W ? i : W;
    double var = k > 1 ? (s2 - s1 * s1 / (double)k) / (double)(k - 1) : 0;
    vol[i] = var > 0 ? sqrt(var) : 0;
    vsum += vol[i], vcount++;
    if (i >= L) vsum -= vol[i - L], vcount--;
    if (i < W) {
      out[i] = QT_MREGIME_NONE; /* not enough history yet */
      continue;
    }
    double ref = vsum / (double)vcount;
    double ret = log(b->close[i] / b->close[i - W]);
    double t = vol[i] > 0 && isfinite(ret) ? fabs(ret) / (vol[i] * sqrt((double)W)) : 0;
    if (ref > 0 && vol[i] >= o.hi_vol * ref) out[i] = QT_MREGIME_HIGH_VOL;
    else if ((ref > 0 && vol[i] <= o.lo_vol * ref) || t < o.trend_t) out[i] = QT_MREGIME_RANGE;
    else out[i] = ret > 0 ? QT_MREGIME_UP : QT_MREGIME_DOWN;
  }
  qt_free(lr);
  qt_free(vol);
  return QT_OK;
}

int qt_regime_from_ranges(const qt_bars *b, const char *text, size_t len, const char *file,
                          uint8_t *out, qt_err *err) {
  if (len > QT_REGIME_FILE_MAX)
    return qt_err_set(err, QT_EINVAL, "%s: %zu bytes (a ranges file is at most %d)", file, len,
                      QT_REGIME_FILE_MAX);
  for (size_t i = 0; i < b->n; i++) out[i] = QT_MREGIME_NONE;
  size_t line = 0;
  const char *p = text, *end = text + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
    line++;
    char buf[256];
    if (l >= sizeof buf)
      return qt_err_set(err, QT_EPARSE, "%s:%zu: line longer than %zu bytes", file, line,
                        sizeof buf - 1);
    memcpy(buf, p, l);
    buf[l] = '\0';
    p += l + (nl ? 1 : 0);
    if (l && buf[l - 1] == '\r') buf[--l] = '\0';
    char *s = buf;
    while (*s == ' ' || *s == '\t') s++;
    if (!*s || *s == '#' || (line == 1 && !strncmp(s, "from", 4))) continue; /* header, comments */
    char *f[3] = {s, NULL, NULL};
    for (int k = 1; k < 3; k++) {
      char *c = strchr(f[k - 1], ',');
      if (!c) return qt_err_set(err, QT_EPARSE, "%s:%zu: expected from,to,regime", file, line);
      *c = '\0';
      f[k] = c + 1;
    }
    int64_t t0, t1;
    int reg;
    static const char *const fields[] = {"from", "to"};
    for (int k = 0; k < 2; k++) {
      qt_err e2;
      if (qt_time_parse(f[k], strlen(f[k]), k ? &t1 : &t0, &e2))
        return qt_err_set(err, QT_EPARSE, "%s:%zu: field '%s': %s", file, line, fields[k], e2.msg);
    }
    if (qt_mregime_parse(f[2], &reg))
      return qt_err_set(err, QT_EPARSE,
                        "%s:%zu: field 'regime': '%.40s' is none of trend-up, trend-down, "
                        "range, high-volatility", file, line, f[2]);
    if (t1 <= t0)
      return qt_err_set(err, QT_EPARSE, "%s:%zu: field 'to': not after 'from'", file, line);
    for (size_t i = qt_bars_lower_bound(b, t0); i < b->n && b->ts_ms[i] < t1; i++)
      out[i] = (uint8_t)reg;
  }
  return QT_OK;
}

int qt_regime_metrics(const qt_result *res, const uint8_t *label, double bars_per_year,
                      qt_regime_stats out[QT_MREGIME_COUNT], qt_err *err) {
  memset(out, 0, QT_MREGIME_COUNT * sizeof *out);
  if (!res || !label || !res->n_bars)
    return qt_err_set(err, QT_EINVAL, "regime metrics: no run or no labels");
  double s1[QT_MREGIME_COUNT] = {0}, s2[QT_MREGIME_COUNT] = {0}, g[QT_MREGIME_COUNT];
  for (int r = 0; r < QT_MREGIME_COUNT; r++) g[r] = 1;
  size_t labeled = 0;
  for (size_t i = 0; i < res->n_bars; i++) {
    int r = label[i];
    if (r >= QT_MREGIME_COUNT) continue;
    double prev = i ? res->equity[i - 1] : res->start_cash;
    double x = prev > 0 ? res->equity[i] / prev - 1 : 0;
    out[r].bars++;
    labeled++;
    s1[r] += x, s2[r] += x * x;
    g[r] *= 1 + x;
  }
  for (size_t k = 0; k < res->n_trades; k++) {
    /* the regime of the bar the trade was entered on */
    size_t lo = 0, hi = res->n_bars;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (res->ts_ms[mid] <= res->trades[k].entry_ms) lo = mid + 1;
      else hi = mid;
    }
    size_t i = lo ? lo - 1 : 0;
    int r = label[i];
    if (r >= QT_MREGIME_COUNT) continue;
    out[r].trades++;
    out[r].pnl += res->trades[k].pnl;
  }
  for (int r = 0; r < QT_MREGIME_COUNT; r++) {
    size_t n = out[r].bars;
    out[r].share = labeled ? (double)n / (double)labeled : 0;
    out[r].total_return = n ? g[r] - 1 : NAN;
    double mean = n ? s1[r] / (double)n : 0;
    double var = n > 1 ? (s2[r] - s1[r] * mean) / (double)(n - 1) : 0;
    out[r].sharpe = var > 0 ? mean / sqrt(var) * sqrt(bars_per_year) : NAN;
  }
  return QT_OK;
}

int qt_regime_report(const uint8_t *label, size_t n, const qt_result *res, double bars_per_year,
                     char *buf, size_t cap, qt_err *err) {
  if (cap) buf[0] = '\0';
  size_t cnt[QT_MREGIME_COUNT] = {0}, spells[QT_MREGIME_COUNT] = {0}, labeled = 0;
  for (size_t i = 0; i < n; i++) {
    if (label[i] >= QT_MREGIME_COUNT) continue;
    cnt[label[i]]++;
    labeled++;
    if (!i || label[i - 1] != label[i]) spells[label[i]]++;
  }
  qt_regime_stats st[QT_MREGIME_COUNT];
  int r = res ? qt_regime_metrics(res, label, bars_per_year, st, err) : QT_OK;
  if (r) return r;
  size_t used = 0;
#define OUT(...)                                                                  \
  do {                                                                            \
    int w_ = snprintf(buf + used, used < cap ? cap - used : 0, __VA_ARGS__);      \
    if (w_ > 0) used += (size_t)w_;                                               \
  } while (0)
  OUT("{\"bars\":%zu,\"labeled\":%zu,\"regimes\":[", n, labeled);
  for (int k = 0; k < QT_MREGIME_COUNT; k++) {
    OUT("%s{\"regime\":\"%s\",\"bars\":%zu,\"share\":%.6f,\"spells\":%zu", k ? "," : "",
        qt_mregime_name(k), cnt[k], labeled ? (double)cnt[k] / (double)labeled : 0.0, spells[k]);
    if (res) {
      OUT(",\"traded_bars\":%zu,\"total_return\":", st[k].bars);
      if (isfinite(st[k].total_return)) OUT("%.10g", st[k].total_return);
      else OUT("null");
      OUT(",\"sharpe\":");
      if (isfinite(st[k].sharpe)) OUT("%.10g", st[k].sharpe);
      else OUT("null");
      OUT(",\"trades\":%zu,\"pnl\":%.10g", st[k].trades, st[k].pnl);
    }
    OUT("}");
  }
  OUT("]}");
#undef OUT
  if (used >= cap) return qt_err_set(err, QT_EINVAL, "regimes: result larger than %zu bytes", cap);
  return QT_OK;
}

int qt_regime_restrict(qt_objective *obj, const qt_bars *b, const char *regime,
                       const qt_regime_opts *o, qt_err *err) {
  int want;
  if (!regime || qt_mregime_parse(regime, &want))
    return qt_err_set(err, QT_EINVAL,
                      "--regime '%s': use trend-up, trend-down, range or high-volatility",
                      regime ? regime : "");
  uint8_t *lab = qt_malloc(b->n ? b->n : 1);
  if (!lab) return qt_err_set(err, QT_ENOMEM, "regimes: out of memory");
  int r = qt_regime_label(b, o, lab, err);
  for (size_t i = 0; !r && i < b->n; i++) lab[i] = lab[i] == want;
  if (!r) r = qt_objective_strategy_restrict(obj, lab, b->n, err);
  if (r) qt_err_prefix(err, "--regime %s", regime);
  qt_free(lab);
  return r;
}
