/* The market options shared by backtest/optimize/check-lookahead: parse
 * them, load the series once (catalog by mmap, or one --data file through
 * the importers) and describe them as engine feeds. */
#include "cli/market.h"
#include "cli/util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void cli_market_opts_init(cli_market_opts *o) {
  memset(o, 0, sizeof *o);
  o->fee_bps = o->maker_bps = o->taker_bps = NAN;
  o->lot_size = o->tick_size = NAN;
}

const char *cli_market_help(void) {
  return "\nmarket data:\n"
         "  --catalog DIR       catalog to load from (see qtune data import)\n"
         "  --symbol S          symbol (instrument 0; \"S.B\" is loaded as instrument 1\n"
         "                      for strategies that need a second venue)\n"
         "  --from T, --to T    trade bars with FROM <= open time < TO (any date/epoch\n"
         "                      form, e.g. 2026-07-01 or 20260701); earlier bars are\n"
         "                      history (indicator warm-up)\n"
         "  --timerange R       freqtrade's START-END, START- or -END (20260601-20260701)\n"
         "  --data FILE         a CSV/zip/gz/JSON file instead of a catalog\n"
         "  --format F          importer format of --data (default: detected)\n"
         "  --columns MAP       column mapping of a generic CSV --data file\n"
         "  --date-format FMT   its time column's format, e.g. \"%d/%m/%Y %H:%M\" (UTC)\n"
         "  --fee-bps X         maker and taker fee in basis points\n"
         "  --maker-bps X       maker fee (default 2), --taker-bps X taker fee (default 5)\n"
         "  --lot-size X        quantity step (default 0: none)\n"
         "  --tick-size X       price step (default 0: none)\n";
}

int cli_market_parse_arg(cli_market_opts *o, int argc, char **argv, int *i) {
  static const char *const str_opts[] = {"--catalog", "--symbol", "--from", "--to",
                                         "--data",    "--columns", "--format", "--date-format"};
  static const char *const num_opts[] = {"--fee-bps", "--maker-bps", "--taker-bps", "--lot-size",
                                         "--tick-size"};
  const char *a = argv[*i];
  const char **str_dst[] = {&o->catalog, &o->symbol, &o->from, &o->to,
                            &o->data,    &o->columns, &o->format, &o->date_format};
  double *num_dst[] = {&o->fee_bps, &o->maker_bps, &o->taker_bps, &o->lot_size, &o->tick_size};
  for (size_t k = 0; k < sizeof str_opts / sizeof str_opts[0]; k++) {
    if (strcmp(a, str_opts[k]) != 0) continue;
    if (*i + 1 >= argc) return cli_failf("%s needs a value", a);
    *str_dst[k] = argv[++*i];
    return 1;
  }
  if (strcmp(a, "--timerange") == 0) { /* START-END split in place: from/to point into argv */
    int64_t f, t;
    qt_err e = {0};
    if (*i + 1 >= argc) return cli_failf("%s needs a value", a);
    char *v = argv[++*i], *dash = strchr(v, '-');
    if (qt_time_parse_range(v, strlen(v), &f, &t, &e)) return cli_failf("--timerange: %s", e.msg);
    *dash = '\0';
    o->from = *v ? v : NULL, o->to = dash[1] ? dash + 1 : NULL;
    return 1;
  }
  for (size_t k = 0; k < sizeof num_opts / sizeof num_opts[0]; k++) {
    if (strcmp(a, num_opts[k]) != 0) continue;
    if (*i + 1 >= argc) return cli_failf("%s needs a value", a);
    double v;
    if (cli_parse_double(a, argv[++*i], &v)) return CLI_ERROR;
    if (!isfinite(v) || (k >= 3 && v < 0)) return cli_failf("%s: out of range (\"%s\")", a, argv[*i]);
    *num_dst[k] = v;
    return 1;
  }
  return 0;
}

static qt_instrument instrument(const cli_market_opts *o, const char *symbol, int venue,
                                int perp) {
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

/* Loads one symbol's series from the catalog into slot k; bars required. */
static int load_symbol(qt_catalog *c, const char *sym, cli_market *m, int k, qt_err *err) {
  int rc = qt_catalog_get_bars(c, sym, &m->bars[k], err);
  if (rc == QT_ENOTFOUND)
    return qt_err_set(err, QT_ENOTFOUND, "catalog %s has no bars for '%s' (see qtune data info)",
                      qt_catalog_dir(c), sym);
  if (rc) return rc;
  rc = qt_catalog_get_funding(c, sym, &m->funding[k], err);
  if (rc == QT_OK || rc == QT_ENOTFOUND) rc = qt_catalog_get_quotes(c, sym, &m->quotes[k], err);
  if (rc == QT_OK || rc == QT_ENOTFOUND) rc = qt_catalog_get_trades(c, sym, &m->trades[k], err);
  return rc == QT_ENOTFOUND ? QT_OK : rc;
}

int cli_market_load(const cli_market_opts *o, cli_market *m, qt_err *err) {
  int rc = QT_OK;
  qt_catalog *cat = NULL;
  memset(m, 0, sizeof *m);
  char second[80];
  if (!o->catalog == !o->data) {
    rc = qt_err_set(err, QT_EINVAL, "market data: give either --catalog DIR --symbol S or --data FILE");
    goto fail;
  }
  if (o->catalog) {
    if (!o->symbol) {
      rc = qt_err_set(err, QT_EINVAL, "--catalog needs --symbol S");
      goto fail;
    }
    rc = qt_catalog_open(o->catalog, 0, &cat, err);
    if (rc) goto fail;
    rc = load_symbol(cat, o->symbol, m, 0, err);
    if (rc) goto fail;
    m->n_feeds = 1;
    if (o->want_second) {
      snprintf(second, sizeof second, "%s.B", o->symbol);
      rc = load_symbol(cat, second, m, 1, err);
      if (rc) goto fail;
      m->n_feeds = 2;
    }
  } else {
    if (o->want_second) {
      rc = qt_err_set(err, QT_EINVAL, "this strategy needs a second instrument: use --catalog with "
                                      "%s and %s.B", o->symbol ? o->symbol : "S", o->symbol ? o->symbol : "S");
      goto fail;
    }
    qt_import_opts io = qt_import_opts_default();
    io.kind = QT_KIND_BARS;
    io.columns = o->columns;
    io.date_format = o->date_format;
    if (o->format && qt_import_format_parse(o->format, &io.format)) {
      rc = qt_err_set(err, QT_EINVAL, "--format: unknown format '%s'", o->format);
      goto fail;
    }
    if ((io.columns || io.date_format) && io.format == QT_FMT_AUTO) io.format = QT_FMT_CSV;
    qt_import im;
    const char *paths[1] = {o->data};
    rc = qt_import_files(paths, 1, &io, &im, err);
    if (rc) goto fail;
    m->bars[0] = im.bars; /* takes the block; the import's other series are empty */
    m->n_feeds = 1;
  }
  /* --from/--to: feed 0 ends before TO (a view that still owns the block);
   * the bars before FROM stay as history (indicator warm-up), and the
   * commands simulate from from_i on */
  qt_bars *b = &m->bars[0];
  m->from_i = 0;
  m->to_i = b->n;
  if (o->from || o->to) {
    int64_t t;
    if (o->from) {
      rc = qt_time_parse(o->from, strlen(o->from), &t, err);
      if (rc) {
        qt_err_prefix(err, "--from");
        goto fail;
      }
      m->from_i = qt_bars_lower_bound(b, t);
    }
    if (o->to) {
      rc = qt_time_parse(o->to, strlen(o->to), &t, err);
      if (rc) {
        qt_err_prefix(err, "--to");
        goto fail;
      }
      m->to_i = qt_bars_lower_bound(b, t);
    }
    if (m->from_i >= m->to_i) {
      rc = qt_err_set(err, QT_EINVAL, "--from/--to select no bars (the data has %zu bars)", b->n);
      goto fail;
    }
    qt_backing keep = b->mem;
    *b = qt_bars_slice(b, 0, m->to_i);
    b->mem = keep;
  }
  for (int k = 0; k < m->n_feeds; k++) {
    const char *sym = o->symbol ? o->symbol : strrchr(o->data, '/') ? strrchr(o->data, '/') + 1 : o->data;
    if (k == 1) sym = second;
    qt_feed *f = &m->feeds[k];
    f->inst = instrument(o, sym, k, m->funding[k].n > 0);
    f->bars = &m->bars[k];
    f->funding = m->funding[k].n ? &m->funding[k] : NULL;
    f->quotes = m->quotes[k].n ? &m->quotes[k] : NULL;
    f->trades = m->trades[k].n ? &m->trades[k] : NULL;
  }
fail:
  qt_catalog_close(cat);
  if (rc) cli_market_free(m);
  return rc;
}

void cli_market_free(cli_market *m) {
  for (int k = 0; k < 2; k++) {
    qt_bars_fini(&m->bars[k]);
    qt_funding_fini(&m->funding[k]);
    qt_quotes_fini(&m->quotes[k]);
    qt_trades_fini(&m->trades[k]);
  }
  memset(m, 0, sizeof *m);
}
