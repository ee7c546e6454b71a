/* Resampling bars to a coarser interval and building bars from trades.
 * Each is one pass over the input into an output sized by a bound (rows,
 * and buckets the span can hold); no allocation per row. */
#include "qtune/data.h"

#include <math.h>
#include <string.h>

qt_resample_opts qt_resample_opts_default(void) {
  qt_resample_opts o = {.to_ms = 3600000, .partial = QT_PARTIAL_DROP_EDGES};
  return o;
}

qt_trade_bars_opts qt_trade_bars_opts_default(void) {
  qt_trade_bars_opts o = {.interval_ms = 60000, .fill_empty = 0};
  return o;
}

/* Epoch-aligned bucket of t (floor division, also before 1970). */
static int64_t bucket_of(int64_t t, int64_t w) {
  int64_t q = t / w;
  if (t % w < 0) q--;
  return q * w;
}

/* Most buckets rows at ts[0..n) can touch: one per row, and no more than
 * the span holds.  Sizing the output by it keeps each function one pass. */
static size_t rows_bound(const int64_t *ts, size_t n, int64_t w) {
  if (n == 0) return 0;
  int64_t span = ts[n - 1] - ts[0];
  if (span < 0) return n; /* unsorted: the pass reports it */
  uint64_t b = (uint64_t)(span / w) + 2;
  return b < n ? (size_t)b : n;
}

/* Whether a bucket with `have` of `need` source bars is emitted. */
static int keep_bucket(int partial, size_t have, size_t need, int is_edge) {
  if (have >= need) return 1;
  if (partial == QT_PARTIAL_KEEP) return 1;
  if (partial == QT_PARTIAL_DROP) return 0;
  return !is_edge;
}

static void bar_start(qt_bars *o, size_t k, const qt_bars *in, size_t i, int64_t ts) {
  o->ts_ms[k] = ts;
  o->open[k] = in->open[i];
  o->high[k] = in->high[i];
  o->low[k] = in->low[i];
  o->close[k] = in->close[i];
  o->volume[k] = in->volume[i];
  o->quote_volume[k] = in->quote_volume[i];
  o->trade_count[k] = in->trade_count[i];
  o->taker_buy_base[k] = in->taker_buy_base[i];
  o->taker_buy_quote[k] = in->taker_buy_quote[i];
}

static void bar_add(qt_bars *o, size_t k, const qt_bars *in, size_t i) {
  if (in->high[i] > o->high[k]) o->high[k] = in->high[i];
  if (in->low[i] < o->low[k]) o->low[k] = in->low[i];
  o->close[k] = in->close[i];
  o->volume[k] += in->volume[i];
  o->quote_volume[k] += in->quote_volume[i];
  o->trade_count[k] += in->trade_count[i];
  o->taker_buy_base[k] += in->taker_buy_base[i];
  o->taker_buy_quote[k] += in->taker_buy_quote[i];
}

int qt_resample_bars(const qt_bars *in, const qt_resample_opts *o, qt_bars *out,
                     qt_resample_info *info, qt_err *err) {
  qt_resample_info inf = {0};
  memset(out, 0, sizeof *out);
  int rc;
  int64_t iv = in->interval_ms, w = o->to_ms;
  if (iv <= 0) {
    rc = qt_err_set(err, QT_EINVAL, "resample: the bars' interval is unknown");
    goto fail;
  }
  if (w <= 0 || w % iv != 0) {
    char a[32], b[32];
    rc = qt_err_set(err, QT_EINVAL, "resample: target %s is not a whole multiple of the bars' %s",
                    qt_duration_format(w, a, sizeof a), qt_duration_format(iv, b, sizeof b));
    goto fail;
  }
  if (o->partial < QT_PARTIAL_DROP_EDGES || o->partial > QT_PARTIAL_DROP) {
    rc = qt_err_set(err, QT_EINVAL, "resample: unknown partial policy %d", o->partial);
    goto fail;
  }
  size_t need = (size_t)(w / iv);
  rc = qt_bars_alloc(out, rows_bound(in->ts_ms, in->n, w), err);
  if (rc) goto fail;
  out->interval_ms = w;
  /* One pass: aggregate each bucket into slot k; advance k only when the
   * bucket is kept (the last bucket is known when the input ends). */
  size_t k = 0;
  for (size_t i = 0; i < in->n;) {
    int64_t bk = bucket_of(in->ts_ms[i], w);
    bar_start(out, k, in, i, bk);
    size_t j = i + 1;
    for (; j < in->n && in->ts_ms[j] < bk + w; j++) {
      if (in->ts_ms[j] <= in->ts_ms[j - 1]) break;
      bar_add(out, k, in, j);
    }
    if (j < in->n && in->ts_ms[j] <= in->ts_ms[j - 1]) {
      rc = qt_err_set(err, QT_EINVAL, "resample: bars not strictly increasing at row %zu", j);
      goto fail;
    }
    int edge = i == 0 || j == in->n;
    inf.n_buckets++;
    if (keep_bucket(o->partial, j - i, need, edge)) {
      if (j - i < need) {
        if (!inf.n_incomplete) inf.first_incomplete_ms = bk;
        inf.n_incomplete++;
      }
      k++;
    } else {
      inf.n_dropped++;
    }
    i = j;
  }
  out->n = k; /* the block stays sized for the bound; fini frees it whole */
  if (info) *info = inf;
  return QT_OK;
fail:
  qt_bars_fini(out);
  if (info) memset(info, 0, sizeof *info);
  return rc;
}

int qt_bars_from_trades(const qt_trades *t, const qt_trade_bars_opts *o, qt_bars *out,
                        qt_err *err) {
  memset(out, 0, sizeof *out);
  int rc;
  int64_t w = o->interval_ms;
  if (w <= 0) {
    rc = qt_err_set(err, QT_EINVAL, "bars from trades: interval must be > 0 (got %lld)",
                    (long long)w);
    goto fail;
  }
  size_t bound = rows_bound(t->ts_ms, t->n, w);
  if (o->fill_empty && t->n && t->ts_ms[t->n - 1] >= t->ts_ms[0])
    bound = (size_t)((t->ts_ms[t->n - 1] - t->ts_ms[0]) / w) + 2;
  rc = qt_bars_alloc(out, bound, err);
  if (rc) goto fail;
  out->interval_ms = w;
  /* One pass.  k is the current bar; a new bucket starts a bar (after flat
   * bars for the empty ones when filling). */
  size_t k = 0;
  for (size_t i = 0; i < t->n; i++) {
    if (i && t->ts_ms[i] < t->ts_ms[i - 1]) {
      rc = qt_err_set(err, QT_EINVAL, "bars from trades: trades out of order at row %zu", i);
      goto fail;
    }
    int64_t bk = bucket_of(t->ts_ms[i], w);
    double p = t->price[i], q = t->qty[i];
    if (i == 0 || bk != out->ts_ms[k]) {
      if (i) {
        double last = out->close[k];
        k++;
        if (o->fill_empty)
          for (int64_t e = out->ts_ms[k - 1] + w; e < bk; e += w, k++) {
            out->ts_ms[k] = e;
            out->open[k] = out->high[k] = out->low[k] = out->close[k] = last;
          }
      }
      out->ts_ms[k] = bk;
      out->open[k] = out->high[k] = out->low[k] = p;
    }
    if (p > out->high[k]) out->high[k] = p;
    if (p < out->low[k]) out->low[k] = p;
    out->close[k] = p;
    out->volume[k] += q;
    out->quote_volume[k] += p * q;
    out->trade_count[k] += 1.0;
    if (!t->buyer_is_maker[i]) {
      out->taker_buy_base[k] += q;
      out->taker_buy_quote[k] += p * q;
    }
  }
  out->n = t->n ? k + 1 : 0; /* the block stays sized for the bound */
  return QT_OK;
fail:
  qt_bars_fini(out);
  return rc;
}

int qt_resample_carry_series(qt_catalog *c, const char *symbol, const char *out_symbol,
                             size_t out_n[QT_KIND_COUNT], qt_err *err) {
  qt_trades tr = {0};
  qt_funding fu = {0};
  qt_quotes qu = {0};
  size_t n[QT_KIND_COUNT] = {0};
  int rc = QT_OK;
  if (out_n) memset(out_n, 0, sizeof n);
  if (strcmp(symbol, out_symbol) == 0) {
    rc = qt_err_set(err, QT_EINVAL, "resample: output symbol '%s' is the input symbol", symbol);
    goto fail;
  }
  /* Each kind: load (absent is fine), store under out_symbol. */
  rc = qt_catalog_get_trades(c, symbol, &tr, err);
  if (rc == QT_OK && (rc = qt_catalog_put_trades(c, out_symbol, &tr, err)) >= 0)
    n[QT_KIND_TRADES] = tr.n, rc = QT_OK;
  if (rc != QT_OK && rc != QT_ENOTFOUND) goto fail;
  rc = qt_catalog_get_funding(c, symbol, &fu, err);
  if (rc == QT_OK && (rc = qt_catalog_put_funding(c, out_symbol, &fu, err)) >= 0)
    n[QT_KIND_FUNDING] = fu.n, rc = QT_OK;
  if (rc != QT_OK && rc != QT_ENOTFOUND) goto fail;
  rc = qt_catalog_get_quotes(c, symbol, &qu, err);
  if (rc == QT_OK && (rc = qt_catalog_put_quotes(c, out_symbol, &qu, err)) >= 0)
    n[QT_KIND_QUOTES] = qu.n, rc = QT_OK;
  if (rc != QT_OK && rc != QT_ENOTFOUND) goto fail;
  rc = QT_OK;
  if (out_n) memcpy(out_n, n, sizeof n);
fail:
  qt_trades_fini(&tr);
  qt_funding_fini(&fu);
  qt_quotes_fini(&qu);
  return rc;
}
