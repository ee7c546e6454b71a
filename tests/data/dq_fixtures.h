/* Test-only loaders for the real files in tests/fixtures, independent of the importers
 * (so the verify/resample tests check against a second reading of the data):
 * Binance kline CSV, freqtrade candle JSON, freqtrade 5m CSV, orderflow
 * trades CSV. */
#ifndef QTUNE_TESTS_DATA_DQ_FIXTURES_H
#define QTUNE_TESTS_DATA_DQ_FIXTURES_H

#include "qtune/data.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int dq_count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int n = 0, c;
  while ((c = fgetc(f)) != EOF) n += c == '\n';
  fclose(f);
  return n;
}

/* Binance USD-M 1m kline CSVs (with header), appended in order. */
static inline int dq_load_binance(const char **paths, int n_paths, qt_bars *b) {
  size_t total = 0;
  for (int p = 0; p < n_paths; p++) {
    int n = dq_count_lines(paths[p]);
    if (n < 1) return -1;
    total += (size_t)n - 1;
  }
  if (qt_bars_alloc(b, total, NULL)) return -1;
  b->interval_ms = 60000;
  size_t i = 0;
  char line[512];
  for (int p = 0; p < n_paths; p++) {
    FILE *f = fopen(paths[p], "r");
    if (!f) return -1;
    if (!fgets(line, sizeof line, f)) { fclose(f); return -1; }
    while (i < total && fgets(line, sizeof line, f)) {
      char *s = line;
      double v[11];
      for (int k = 0; k < 11; k++) {
        v[k] = strtod(s, &s);
        if (*s == ',') s++;
      }
      b->ts_ms[i] = (int64_t)v[0];
      b->open[i] = v[1]; b->high[i] = v[2]; b->low[i] = v[3]; b->close[i] = v[4];
      b->volume[i] = v[5]; b->quote_volume[i] = v[7]; b->trade_count[i] = v[8];
      b->taker_buy_base[i] = v[9]; b->taker_buy_quote[i] = v[10];
      i++;
    }
    fclose(f);
  }
  return i == total ? 0 : -1;
}

static inline int dq_load_avax(qt_bars *b) {
  char p1[512], p2[512];
  snprintf(p1, sizeof p1, "%s/binance/AVAXUSDT-1m-2026-06.csv", qt_test_fixtures());
  snprintf(p2, sizeof p2, "%s/binance/AVAXUSDT-1m-2026-07.csv", qt_test_fixtures());
  const char *ps[2] = {p1, p2};
  return dq_load_binance(ps, 2, b);
}

/* freqtrade candles [[ts, o, h, l, c, v], ...] (JSON). */
static inline int dq_load_ft_json(const char *name, int64_t interval_ms, qt_bars *b) {
  char p[512];
  snprintf(p, sizeof p, "%s/freqtrade/%s", qt_test_fixtures(), name);
  json_error_t je;
  json_t *root = json_load_file(p, 0, &je);
  if (!root || !json_is_array(root)) { json_decref(root); return -1; }
  size_t n = json_array_size(root);
  if (qt_bars_alloc(b, n, NULL)) { json_decref(root); return -1; }
  b->interval_ms = interval_ms;
  for (size_t i = 0; i < n; i++) {
    json_t *r = json_array_get(root, i);
    b->ts_ms[i] = (int64_t)json_number_value(json_array_get(r, 0));
    b->open[i] = json_number_value(json_array_get(r, 1));
    b->high[i] = json_number_value(json_array_get(r, 2));
    b->low[i] = json_number_value(json_array_get(r, 3));
    b->close[i] = json_number_value(json_array_get(r, 4));
    b->volume[i] = json_number_value(json_array_get(r, 5));
  }
  json_decref(root);
  return 0;
}

/* freqtrade 5m CSV: date_ms,date_utc,open,high,low,close,volume. */
static inline int dq_load_ft_csv(const char *name, int64_t interval_ms, qt_bars *b) {
  char p[512], line[512];
  snprintf(p, sizeof p, "%s/freqtrade/%s", qt_test_fixtures(), name);
  int n = dq_count_lines(p);
  if (n < 1 || qt_bars_alloc(b, (size_t)n - 1, NULL)) return -1;
  b->interval_ms = interval_ms;
  FILE *f = fopen(p, "r");
  if (!f || !fgets(line, sizeof line, f)) { if (f) fclose(f); return -1; }
  size_t i = 0;
  while (i < b->n && fgets(line, sizeof line, f)) {
    char *s = line;
    b->ts_ms[i] = strtoll(s, &s, 10);
    s = strchr(s + 1, ',');
    if (!s) break;
    s++;
    b->open[i] = strtod(s, &s); s++;
    b->high[i] = strtod(s, &s); s++;
    b->low[i] = strtod(s, &s); s++;
    b->close[i] = strtod(s, &s); s++;
    b->volume[i] = strtod(s, &s);
    i++;
  }
  fclose(f);
  return i == b->n ? 0 : -1;
}

/* orderflow_public_trades_list.csv: ,timestamp,id,type,side,price,amount,cost,date
 * (side = taker side). */
static inline int dq_load_orderflow(qt_trades *t) {
  char p[512], line[512];
  snprintf(p, sizeof p, "%s/freqtrade/orderflow_public_trades_list.csv", qt_test_fixtures());
  int n = dq_count_lines(p);
  if (n < 1 || qt_trades_alloc(t, (size_t)n - 1, NULL)) return -1;
  FILE *f = fopen(p, "r");
  if (!f || !fgets(line, sizeof line, f)) { if (f) fclose(f); return -1; }
  size_t i = 0;
  while (i < t->n && fgets(line, sizeof line, f)) {
    char *s = strchr(line, ',') + 1;
    t->ts_ms[i] = strtoll(s, &s, 10); s++;
    t->id[i] = strtoll(s, &s, 10); s++;
    s = strchr(s, ',') + 1; /* type (empty) */
    t->buyer_is_maker[i] = strncmp(s, "sell", 4) == 0;
    s = strchr(s, ',') + 1;
    t->price[i] = strtod(s, &s); s++;
    t->qty[i] = strtod(s, &s);
    i++;
  }
  fclose(f);
  return i == t->n ? 0 : -1;
}

#endif
