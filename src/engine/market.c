/* Market loading for every command and layer that runs the engine: the
 * catalog (by mmap) or one data file through the importers, the second
 * venue, perpetual-or-spot from the funding series, the fee/lot/tick
 * overrides and the from/to window with its warm-up.  Also the backtest
 * settings shared by those callers (cash, slippage, leverage), so each is
 * parsed and range-checked once.  Nothing here prints. */
#include "qtune/engine.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- shared backtest settings ---- */

int qt_engine_opts_set(qt_engine_opts *o, const char *name, const char *value, qt_err *err) {
  static const struct {
    const char *key;
    size_t off;
    int positive; /* 1: > 0, 0: >= 0 */
  } k_nums[] = {
      {"cash", offsetof(qt_engine_opts, cash), 1},
      {"slippage-bps", offsetof(qt_engine_opts, slippage_bps), 0},
      {"leverage", offsetof(qt_engine_opts, leverage_cap), 0},
  };
  const char *key = name;
  while (*key == '-') key++;
  /* the settings that are words, each value's index its enum value */
  static const struct {
    const char *key, *want, *words[3];
    size_t off;
  } k_words[] = {
      {"close-at-end", "close, open or none", {"none", "close", "open"},
       offsetof(qt_engine_opts, close_at_end)},
      {"trade-accounting", "lots, average or auto", {"auto", "average", "lots"},
       offsetof(qt_engine_opts, trade_accounting)},
  };
  for (size_t k = 0; k < sizeof k_words / sizeof k_words[0]; k++) {
    if (strcmp(key, k_words[k].key) != 0) continue;
    for (int m = 0; value && m < 3; m++)
      if (!strcmp(value, k_words[k].words[m])) return *(int *)((char *)o + k_words[k].off) = m, QT_OK;
    return qt_err_set(err, QT_EINVAL, "%s: want %s (\"%s\")", name, k_words[k].want,
                      value ? value : "");
  }
  for (size_t k = 0; k < sizeof k_nums / sizeof k_nums[0]; k++) {
    if (strcmp(key, k_nums[k].key) != 0) continue;
    double v;
    if (!value || qt_parse_double(value, strlen(value), &v) != 0 || !isfinite(v))
      return qt_err_set(err, QT_EINVAL, "%s: not a number (\"%s\")", name, value ? value : "");
    if (k_nums[k].positive ? !(v > 0) : !(v >= 0))
      return qt_err_set(err, QT_EINVAL, "%s: must be %s 0 (\"%s\")", name,
                        k_nums[k].positive ? ">" : ">=", value);
    *(double *)((char *)o + k_nums[k].off) = v;
    return QT_OK;
  }
  return QT_ENOTFOUND;
}

/* ---- options ---- */

qt_market_opts qt_market_opts_default(void) {
  qt_market_opts o;
  memset(&o, 0, sizeof o);
  o.fee_bps = o.maker_bps = o.taker_bps = NAN;
  o.lot_size = o.tick_size = NAN;
  o.series = QT_SERIES_ALL;
  return o;
}

unsigned qt_market_series_for(const qt_strategy_vtbl *s, const qt_engine_opts *eo) {
  if (!s) return QT_SERIES_ALL;
  unsigned m = QT_SERIES_FUNDING;
  if (s->needs & (QT_NEEDS_QUOTES | QT_WANTS_QUOTES)) m |= QT_SERIES_QUOTES;
  if (eo && eo->fill_on_trades) m |= QT_SERIES_TRADES;
  return m;
}

int qt_market_opts_set_symbols(qt_market_opts *o, const char *list, qt_err *err) {
  if (o->n_symbols)
    return qt_err_set(err, QT_EINVAL, "--symbol given twice (list several as --symbol A,B)");
  size_t n = 0;
  for (const char *t = list;; t++) {
    const char *end = strchr(t, ',');
    size_t len = end ? (size_t)(end - t) : strlen(t);
    while (len && isspace((unsigned char)*t)) t++, len--;
    while (len && isspace((unsigned char)t[len - 1])) len--;
    if (len == 0) return qt_err_set(err, QT_EINVAL, "--symbol '%s': empty symbol name", list);
    if (len > QT_MARKET_SYMBOL_MAX)
      return qt_err_set(err, QT_EINVAL, "--symbol '%.*s': longer than %d characters", (int)len, t,
                        QT_MARKET_SYMBOL_MAX);
    if (n == QT_MARKET_MAX_SYMBOLS)
      return qt_err_set(err, QT_EINVAL, "--symbol: more than %d symbols", QT_MARKET_MAX_SYMBOLS);
    for (size_t k = 0; k < n; k++)
      if (strlen(o->symbols[k]) == len && strncmp(o->symbols[k], t, len) == 0)
        return qt_err_set(err, QT_EINVAL, "--symbol: '%.*s' is listed twice", (int)len, t);
    memcpy(o->symbols[n], t, len);
    o->symbols[n][len] = 0;
    n++;
    if (!end) break;
    t = end;
  }
  o->n_symbols = n; /* only now: a refused list leaves no symbols */
  return QT_OK;
}

/* ---- loading ---- */

static void warn(qt_market *m, const char *fmt, ...) QT_PRINTF(2, 3);
static void warn(qt_market *m, const char *fmt, ...) {
  if (m->n_warnings == QT_MARKET_MAX_WARNINGS) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m->warnings[m->n_warnings++], sizeof m->warnings[0], fmt, ap);
  va_end(ap);
}

static qt_instrument instrument(const qt_market_opts *o, const char *symbol, int venue, int perp) {
  qt_instrument in = qt_instrument_default(symbol);
  in.venue = venue;
  if (perp) in.kind = QT_INST_PERP; /* funding settlements only make sense on a perp */
  if (!isnan(o->fee_bps)) in.maker_bps = in.taker_bps = o->fee_bps;
  if (!isnan(o->maker_bps)) in.maker_bps = o->maker_bps;
  if (!isnan(o->taker_bps)) in.taker_bps = o->taker_bps;
  if (!isnan(o->lot_size)) in.lot_size = o->lot_size;
  if (!isnan(o->tick_size)) in.tick_size = o->tick_size;
  return in;
}

/* Loads one symbol's series from the catalog into slot k: bars required,
 * the others of the mask `series` when stored (the rest are never opened). */
static int load_symbol(qt_catalog *c, const char *sym, unsigned series, qt_market *m, int k,
                       qt_err *err) {
  int rc = qt_catalog_get_bars(c, sym, &m->bars[k], err);
  if (rc == QT_ENOTFOUND)
    return qt_err_set(err, QT_ENOTFOUND, "catalog %s has no bars for '%s' (see qtune data info)",
                      qt_catalog_dir(c), sym);
  if (rc) return rc;
  if (series & QT_SERIES_FUNDING) rc = qt_catalog_get_funding(c, sym, &m->funding[k], err);
  if ((rc == QT_OK || rc == QT_ENOTFOUND) && (series & QT_SERIES_QUOTES))
    rc = qt_catalog_get_quotes(c, sym, &m->quotes[k], err);
  if ((rc == QT_OK || rc == QT_ENOTFOUND) && (series & QT_SERIES_TRADES))
    rc = qt_catalog_get_trades(c, sym, &m->trades[k], err);
  return rc == QT_ENOTFOUND ? QT_OK : rc;
}

static int load_file(const qt_market_opts *o, qt_market *m, qt_err *err) {
  qt_import_opts io = qt_import_opts_default();
  io.kind = QT_KIND_BARS;
  io.columns = o->columns;
  io.date_format = o->date_format;
  if (o->format && qt_import_format_parse(o->format, &io.format))
    return qt_err_set(err, QT_EINVAL, "--format: unknown format '%s'", o->format);
  if ((io.columns || io.date_format) && io.format == QT_FMT_AUTO) io.format = QT_FMT_CSV;
  qt_import im;
  const char *paths[1] = {o->data};
  int rc = qt_import_files(paths, 1, &io, &im, err);
  if (rc) return rc;
  m->bars[0] = im.bars; /* takes the block; the import's other series are empty */
  return QT_OK;
}

static int64_t bar_step(const qt_bars *b) {
  if (b->interval_ms > 0) return b->interval_ms;
  return b->n >= 2 ? b->ts_ms[1] - b->ts_ms[0] : 0;
}

/* --from/--to: feed 0 ends before TO (a view that still owns the block); the
 * bars before FROM stay as history (indicator warm-up). */
static int apply_window(const qt_market_opts *o, qt_market *m, qt_err *err) {
  qt_bars *b = &m->bars[0];
  m->from_i = 0;
  m->to_i = b->n;
  int64_t t;
  char end_txt[40];
  if (o->from) {
    int rc = qt_time_parse(o->from, strlen(o->from), &t, err);
    if (rc) {
      qt_err_prefix(err, "--from");
      return rc;
    }
    m->from_i = qt_bars_lower_bound(b, t);
  }
  if (o->to) {
    int rc = qt_time_parse(o->to, strlen(o->to), &t, err);
    if (rc) {
      qt_err_prefix(err, "--to");
      return rc;
    }
    m->to_i = qt_bars_lower_bound(b, t);
    if (b->n && t > b->ts_ms[b->n - 1] + bar_step(b))
      warn(m, "--to %s is past the data: its last bar opens at %s", o->to,
           qt_time_format(b->ts_ms[b->n - 1], end_txt, sizeof end_txt));
  }
  if (m->from_i >= m->to_i)
    return qt_err_set(err, QT_EINVAL, "--from/--to select no bars (the data has %zu bars)", b->n);
  if (m->to_i < b->n) {
    qt_backing keep = b->mem;
    *b = qt_bars_slice(b, 0, m->to_i);
    b->mem = keep;
  }
  return QT_OK;
}

/* Warns when feed k's funding does not cover its traded bars: a series that
 * starts or ends more than one settlement interval away from them. */
static void check_funding(qt_market *m, int k) {
  const qt_funding *f = &m->funding[k];
  const qt_bars *b = &m->bars[k];
  if (!f->n || !b->n) return;
  size_t first = k == 0 ? m->from_i : 0;
  if (first >= b->n) return;
  int64_t step = f->n >= 2 ? f->ts_ms[1] - f->ts_ms[0] : 8 * 3600 * 1000LL;
  if (f->interval_h && f->interval_h[0] > 0) step = (int64_t)(f->interval_h[0] * 3600e3);
  int64_t bar0 = b->ts_ms[first], bar1 = b->ts_ms[b->n - 1];
  int late = f->ts_ms[0] > bar0 + step, early = f->ts_ms[f->n - 1] + step < bar1;
  if (!late && !early) return;
  char f0[40], f1[40], b0[40], b1[40];
  warn(m, "%s: the funding series %s the bars: it covers %s .. %s, the bars %s .. %s",
       m->feeds[k].inst.symbol,
       late && early ? "starts after and ends before" : late ? "starts after" : "ends before",
       qt_time_format(f->ts_ms[0], f0, sizeof f0), qt_time_format(f->ts_ms[f->n - 1], f1, sizeof f1),
       qt_time_format(bar0, b0, sizeof b0), qt_time_format(bar1, b1, sizeof b1));
}

/* The fast checks every run makes on its bars (one pass, no allocation): a
 * NaN close or a zero low turns a backtest's result into nonsense, and a
 * catalog can be written dirty without the importer.  Returns QT_EPARSE
 * naming the first bad bar, and counts the bad bars into *n_bad. */
static int check_bars(const qt_bars *b, const char *sym, size_t *n_bad, qt_err *err) {
  int rc = QT_OK;
  *n_bad = 0;
  for (size_t i = 0; i < b->n; i++) {
    const double px[4] = {b->open[i], b->high[i], b->low[i], b->close[i]};
    static const char *const names[4] = {"open", "high", "low", "close"};
    char why[96] = "";
    for (int k = 0; k < 4 && !why[0]; k++) {
      if (isnan(px[k])) snprintf(why, sizeof why, "%s is NaN", names[k]);
      else if (!isfinite(px[k]) || !(px[k] > 0))
        snprintf(why, sizeof why, "%s is %g (not a positive finite price)", names[k], px[k]);
    }
    if (!why[0] && px[1] < fmax(px[0], px[3]))
      snprintf(why, sizeof why, "high %g is below max(open %g, close %g)", px[1], px[0], px[3]);
    if (!why[0] && px[2] > fmin(px[0], px[3]))
      snprintf(why, sizeof why, "low %g is above min(open %g, close %g)", px[2], px[0], px[3]);
    if (!why[0] && i && b->ts_ms[i] <= b->ts_ms[i - 1]) {
      char prev[40];
      snprintf(why, sizeof why, "time not after the previous bar's (%s)",
               qt_time_format(b->ts_ms[i - 1], prev, sizeof prev));
    }
    if (!why[0]) continue;
    if (!(*n_bad)++) {
      char t[40];
      rc = qt_err_set(err, QT_EPARSE, "%s bar %zu (%s): %s", sym, i,
                      qt_time_format(b->ts_ms[i], t, sizeof t), why);
    }
  }
  return rc;
}

int qt_market_load(const qt_market_opts *o, qt_market *m, qt_err *err) {
  int rc = QT_OK;
  qt_catalog *cat = NULL;
  memset(m, 0, sizeof *m);
  char second[QT_MARKET_SYMBOL_MAX + 3] = "";
  if (!o->catalog == !o->data) {
    rc = qt_err_set(err, QT_EINVAL, "market data: give either --catalog DIR --symbol S or --data FILE");
    goto fail;
  }
  if (o->n_symbols > 1) {
    rc = qt_err_set(err, QT_EINVAL, "--symbol %s,%s%s: one symbol at a time for now (a study "
                    "over several symbols is not supported yet)", o->symbols[0], o->symbols[1],
                    o->n_symbols > 2 ? ",..." : "");
    goto fail;
  }
  const char *sym = o->n_symbols ? o->symbols[0] : NULL;
  if (o->catalog) {
    if (!sym) {
      rc = qt_err_set(err, QT_EINVAL, "--catalog needs --symbol S");
      goto fail;
    }
    if ((rc = qt_catalog_open(o->catalog, 0, &cat, err)) != 0) goto fail;
    if ((rc = load_symbol(cat, sym, o->series, m, 0, err)) != 0) goto fail;
    m->n_feeds = 1;
    if (o->want_second) {
      snprintf(second, sizeof second, "%s.B", sym);
      if ((rc = load_symbol(cat, second, o->series, m, 1, err)) != 0) goto fail;
      m->n_feeds = 2;
    }
  } else {
    if (o->want_second) {
      rc = qt_err_set(err, QT_EINVAL, "this strategy needs a second instrument: use --catalog with "
                      "%s and %s.B", sym ? sym : "S", sym ? sym : "S");
      goto fail;
    }
    if ((rc = load_file(o, m, err)) != 0) goto fail;
    m->n_feeds = 1;
    if (!sym) sym = strrchr(o->data, '/') ? strrchr(o->data, '/') + 1 : o->data;
  }
  for (int k = 0; k < m->n_feeds; k++) {
    size_t n_bad;
    qt_err bad = {0};
    const char *name = k == 1 ? second : sym;
    if (!check_bars(&m->bars[k], name, &n_bad, &bad)) continue;
    if (!o->allow_dirty) {
      rc = qt_err_set(err, QT_EPARSE, "%s; %zu bad bars in all: the series is dirty (clean the "
                      "data, or run with --allow-dirty)", bad.msg, n_bad);
      goto fail;
    }
    warn(m, "%s: %zu bad bars used (--allow-dirty), the first: %s", name, n_bad, bad.msg);
  }
  if ((rc = apply_window(o, m, err)) != 0) goto fail;
  for (int k = 0; k < m->n_feeds; k++) {
    qt_feed *f = &m->feeds[k];
    f->inst = instrument(o, k == 1 ? second : sym, k, m->funding[k].n > 0);
    f->bars = &m->bars[k];
    f->funding = m->funding[k].n ? &m->funding[k] : NULL;
    f->quotes = m->quotes[k].n ? &m->quotes[k] : NULL;
    f->trades = m->trades[k].n ? &m->trades[k] : NULL;
    check_funding(m, k);
  }
fail:
  qt_catalog_close(cat);
  if (rc) {
    qt_market_free(m);
    /* the message is the caller's, the warnings of a failed load are not */
  }
  return rc;
}

void qt_market_free(qt_market *m) {
  if (!m) return;
  for (int k = 0; k < 2; k++) {
    qt_bars_fini(&m->bars[k]);
    qt_funding_fini(&m->funding[k]);
    qt_quotes_fini(&m->quotes[k]);
    qt_trades_fini(&m->trades[k]);
  }
  memset(m, 0, sizeof *m);
}

char *qt_market_describe(const qt_market *m, char *buf, size_t cap) {
  if (!cap) return buf;
  buf[0] = 0;
  if (m->n_feeds < 1 || !m->feeds[0].bars || !m->feeds[0].bars->n) {
    snprintf(buf, cap, "(no market)");
    return buf;
  }
  const qt_feed *f = &m->feeds[0];
  const qt_bars *b = f->bars;
  char kind[80], t0[40], t1[40], second[64] = "", warm[64] = "";
  if (f->funding)
    snprintf(kind, sizeof kind, "perpetual, funding %zu settlements", f->funding->n);
  else
    snprintf(kind, sizeof kind, "spot: no funding series");
  if (m->n_feeds > 1)
    snprintf(second, sizeof second, " (+ %s, %s)", m->feeds[1].inst.symbol,
             m->feeds[1].funding ? "perpetual" : "spot");
  if (m->from_i)
    snprintf(warm, sizeof warm, " (%zu warm-up bars before)", m->from_i);
  snprintf(buf, cap, "%s, %s, %zu bars %s .. %s%s%s", f->inst.symbol, kind, b->n - m->from_i,
           qt_time_format(b->ts_ms[m->from_i], t0, sizeof t0),
           qt_time_format(b->ts_ms[b->n - 1], t1, sizeof t1), warm, second);
  return buf;
}
