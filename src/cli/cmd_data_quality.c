/* `qtune data verify|synth|resample`: argument parsing and wiring to
 * verify.c, synth.c and resample.c.  Exit 0 ok/clean, 1 findings, 2 error. */
#include "cli/cmd_data.h"
#include "cli/util.h"
#include "qtune/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Value of option argv[*i] (advancing *i), or NULL after printing an error. */
static int is_help(const char *a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

/* ---------------------------------------------------------------- verify */

static const char k_verify_help[] =
    "usage: qtune data verify --catalog DIR --symbol S [--kind K] [--gap-factor k]\n"
    "                         [--max-listed N] [--json]\n"
    "\n"
    "Checks the stored series of S: gaps, duplicate and out-of-order times,\n"
    "misaligned steps, OHLC consistency, bad prices and volumes (bars); order,\n"
    "duplicate ids, bad price/qty (trades); bad rates and irregular spacing\n"
    "(funding); crossed or bad quotes (quotes).  See docs/verify.md.\n"
    "\n"
    "  --kind K         bars|trades|funding|quotes (default: every kind stored)\n"
    "  --gap-factor k   a gap is a step longer than k bar intervals (default 1:\n"
    "                   any missing bar)\n"
    "  --max-listed N   findings listed per series (default 20, at most 256)\n"
    "  --json           a JSON array with one report object per series\n"
    "\n"
    "Example:\n"
    "  qtune data verify --catalog cat --symbol BTCUSDT --kind bars\n"
    "\n"
    "Exit status: 0 clean, 1 findings, 2 unusable input (no catalog, no series).\n";

static int verify_one(qt_catalog *cat, const char *sym, qt_kind k, const qt_verify_opts *vo,
                      qt_verify_report *rep, qt_err *err) {
  int rc;
  switch (k) {
  case QT_KIND_BARS: {
    qt_bars s;
    rc = qt_catalog_get_bars(cat, sym, &s, err);
    if (!rc) rc = qt_verify_bars(&s, vo, rep, err), qt_bars_fini(&s);
    break;
  }
  case QT_KIND_TRADES: {
    qt_trades s;
    rc = qt_catalog_get_trades(cat, sym, &s, err);
    if (!rc) rc = qt_verify_trades(&s, vo, rep, err), qt_trades_fini(&s);
    break;
  }
  case QT_KIND_FUNDING: {
    qt_funding s;
    rc = qt_catalog_get_funding(cat, sym, &s, err);
    if (!rc) rc = qt_verify_funding(&s, vo, rep, err), qt_funding_fini(&s);
    break;
  }
  default: {
    qt_quotes s;
    rc = qt_catalog_get_quotes(cat, sym, &s, err);
    if (!rc) rc = qt_verify_quotes(&s, vo, rep, err), qt_quotes_fini(&s);
    break;
  }
  }
  return rc;
}

int cmd_data_verify(int argc, char **argv) {
  const char *dir = NULL, *sym = NULL;
  int kind = -1, json = 0;
  qt_verify_opts vo = qt_verify_opts_default();
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    if (is_help(a)) {
      fputs(k_verify_help, stdout);
      return CLI_OK;
    } else if (strcmp(a, "--json") == 0) {
      json = 1;
    } else if (strcmp(a, "--catalog") == 0 || strcmp(a, "--symbol") == 0 ||
               strcmp(a, "--kind") == 0 || strcmp(a, "--gap-factor") == 0 ||
               strcmp(a, "--max-listed") == 0) {
      if (!(v = cli_opt_val(argc, argv, &i))) return CLI_ERROR;
      if (a[2] == 'c') dir = v;
      else if (a[2] == 's') sym = v;
      else if (a[2] == 'k') {
        qt_kind k;
        if (qt_kind_parse(v, &k) != 0)
          return cli_failf("--kind: '%s' is not bars, trades, funding or quotes", v);
        kind = (int)k;
      } else if (a[2] == 'g') {
        if (cli_parse_double("--gap-factor", v, &vo.gap_factor) != 0) return CLI_ERROR;
        if (!(vo.gap_factor >= 1)) return cli_failf("--gap-factor: must be >= 1 (got %s)", v);
      } else {
        long n;
        if (cli_parse_long("--max-listed", v, &n) != 0) return CLI_ERROR;
        if (n < 0 || n > QT_VERIFY_MAX_LISTED)
          return cli_failf("--max-listed: must be 0..%d (got %s)", QT_VERIFY_MAX_LISTED, v);
        vo.max_listed = (size_t)n;
      }
    } else {
      return cli_failf("data verify: unknown option '%s' (see --help)", a);
    }
  }
  if (!dir || !sym) return cli_failf("data verify: --catalog and --symbol are required");

  qt_err err = {0};
  qt_catalog *cat = NULL;
  qt_verify_report *rep = NULL;
  int status = CLI_ERROR, n_done = 0, findings = 0;
  if (qt_catalog_open(dir, 0, &cat, &err) != 0) {
    status = cli_fail(&err);
    goto done;
  }
  rep = malloc(sizeof *rep);
  if (!rep) {
    status = cli_failf("out of memory");
    goto done;
  }
  if (json) fputs("[", stdout);
  for (int k = 0; k < QT_KIND_COUNT; k++) {
    if (kind >= 0 && k != kind) continue;
    int rc = verify_one(cat, sym, (qt_kind)k, &vo, rep, &err);
    if (rc == QT_ENOTFOUND && kind < 0) continue;
    if (rc) {
      if (json) fputs("]\n", stdout);
      status = cli_fail(&err);
      goto done;
    }
    char label[128];
    snprintf(label, sizeof label, "%s %s", sym, qt_kind_name((qt_kind)k));
    if (json && n_done) fputs(",", stdout);
    rc = json ? qt_verify_report_write_json(rep, label, stdout, &err)
              : qt_verify_report_write_text(rep, label, stdout, &err);
    if (rc) {
      status = cli_fail(&err);
      goto done;
    }
    n_done++;
    findings += rep->n_findings > 0;
  }
  if (json) fputs("]\n", stdout);
  if (!n_done) {
    status = cli_failf("%s: no series stored for symbol '%s'", dir, sym);
    goto done;
  }
  status = findings ? CLI_FINDINGS : CLI_OK;
done:
  free(rep);
  qt_catalog_close(cat);
  return status;
}

/* ---------------------------------------------------------------- synth */

static const char k_synth_help[] =
    "usage: qtune data synth --catalog DIR --symbol S [--days N] [--seed K]\n"
    "                        [--start T] [--price P] [--vol-daily V] [--trend-daily D]\n"
    "                        [--trades-per-min N] [--quote-interval D]\n"
    "\n"
    "Generates a seeded synthetic market (regime-switching 1m bars with jumps,\n"
    "the trades inside them, 8h funding, top-of-book quotes) into symbol S, and a\n"
    "second venue's bars and quotes into S.B.  The same options give the same\n"
    "bytes.  Model and defaults: docs/synthetic.md.\n"
    "\n"
    "  --days N            length in days of 1m bars (default 30)\n"
    "  --seed K            random seed (default 1)\n"
    "  --start T           first bar (a whole minute; default 2026-01-01)\n"
    "  --price P           start price (default 100)\n"
    "  --vol-daily V       daily log-return stdev in trend regimes (default 0.03)\n"
    "  --trend-daily D     daily drift of the up/down regimes (default 0.03)\n"
    "  --trades-per-min N  mean trades per bar (default 20)\n"
    "  --quote-interval D  top-of-book step, e.g. 10s (default 10s)\n"
    "\n"
    "Example:\n"
    "  qtune data synth --catalog cat --symbol SYN --days 30 --seed 7\n"
    "\n"
    "Exit status: 0 ok, 2 error.\n";

int cmd_data_synth(int argc, char **argv) {
  const char *dir = NULL, *sym = NULL;
  qt_synth_opts so = qt_synth_opts_default();
  qt_err err = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    if (is_help(a)) {
      fputs(k_synth_help, stdout);
      return CLI_OK;
    }
    if (strncmp(a, "--", 2) != 0) return cli_failf("data synth: unexpected argument '%s'", a);
    if (!(v = cli_opt_val(argc, argv, &i))) return CLI_ERROR;
    long n;
    if (strcmp(a, "--catalog") == 0) dir = v;
    else if (strcmp(a, "--symbol") == 0) sym = v;
    else if (strcmp(a, "--days") == 0) {
      if (cli_parse_long(a, v, &n) != 0) return CLI_ERROR;
      if (n < 1 || n > 3660) return cli_failf("--days: must be 1..3660 (got %s)", v);
      so.days = (int)n;
    } else if (strcmp(a, "--seed") == 0) {
      char *end;
      unsigned long long s = strtoull(v, &end, 10);
      if (!*v || *end) return cli_failf("--seed: not a whole number ('%s')", v);
      so.seed = (uint64_t)s;
    } else if (strcmp(a, "--start") == 0) {
      if (qt_time_parse(v, strlen(v), &so.start_ms, &err) != 0) return cli_fail(&err);
    } else if (strcmp(a, "--price") == 0) {
      if (cli_parse_double(a, v, &so.start_price) != 0) return CLI_ERROR;
    } else if (strcmp(a, "--vol-daily") == 0) {
      if (cli_parse_double(a, v, &so.vol_daily) != 0) return CLI_ERROR;
    } else if (strcmp(a, "--trend-daily") == 0) {
      if (cli_parse_double(a, v, &so.trend_daily) != 0) return CLI_ERROR;
    } else if (strcmp(a, "--trades-per-min") == 0) {
      if (cli_parse_double(a, v, &so.trades_per_min) != 0) return CLI_ERROR;
    } else if (strcmp(a, "--quote-interval") == 0) {
      if (qt_duration_parse(v, &so.quote_interval_ms, &err) != 0) return cli_fail(&err);
    } else {
      return cli_failf("data synth: unknown option '%s' (see --help)", a);
    }
  }
  if (!dir || !sym) return cli_failf("data synth: --catalog and --symbol are required");
  char sym_b[80];
  if ((size_t)snprintf(sym_b, sizeof sym_b, "%s.B", sym) >= sizeof sym_b)
    return cli_failf("--symbol: too long");

  qt_catalog *cat = NULL;
  qt_synth_market m = {0};
  int status = CLI_ERROR;
  if (qt_synth_generate(&so, &m, &err) != 0 || qt_catalog_open(dir, 1, &cat, &err) != 0 ||
      qt_catalog_put_bars(cat, sym, &m.bars, &err) < 0 ||
      qt_catalog_put_trades(cat, sym, &m.trades, &err) < 0 ||
      (m.funding.n && qt_catalog_put_funding(cat, sym, &m.funding, &err) < 0) ||
      qt_catalog_put_quotes(cat, sym, &m.quotes, &err) < 0 ||
      qt_catalog_put_bars(cat, sym_b, &m.bars_b, &err) < 0 ||
      qt_catalog_put_quotes(cat, sym_b, &m.quotes_b, &err) < 0) {
    status = cli_fail(&err);
    goto done;
  }
  size_t visits[QT_REGIME_COUNT] = {0};
  for (size_t i = 0; i < m.bars.n; i++) visits[m.regime[i]]++;
  printf("synth: %s: %zu bars, %zu trades, %zu funding, %zu quotes; %s: %zu bars, %zu quotes\n",
         sym, m.bars.n, m.trades.n, m.funding.n, m.quotes.n, sym_b, m.bars_b.n, m.quotes_b.n);
  printf("synth: seed %llu, minutes per regime:", (unsigned long long)so.seed);
  for (int r = 0; r < QT_REGIME_COUNT; r++) printf(" %s %zu", qt_regime_name(r), visits[r]);
  printf("\n");
  status = CLI_OK;
done:
  qt_synth_market_fini(&m);
  qt_catalog_close(cat);
  return status;
}

/* ---------------------------------------------------------------- resample */

static const char k_resample_help[] =
    "usage: qtune data resample --catalog DIR --symbol S --to D [--out-symbol S2]\n"
    "                           [--partial drop-edges|keep|drop]\n"
    "       qtune data resample --catalog DIR --symbol S --from-trades D [--to D2]\n"
    "                           [--fill-empty] [--out-symbol S2]\n"
    "\n"
    "Aggregates the stored bars of S into D bars (a whole multiple of their\n"
    "interval; buckets aligned to the epoch), or builds D bars from the stored\n"
    "trades of S.  The result is stored as bars of S2, by default S_<D>\n"
    "(e.g. BTCUSDT_1h), beside a copy of the trades, funding and quotes of S\n"
    "(unchanged), so a backtest of S2 sees the same market.  Rules: docs/verify.md.\n"
    "\n"
    "  --to D          target interval: 5m, 15m, 1h, 4h, 1d, ...\n"
    "  --partial P     incomplete buckets: drop-edges (default: drop an\n"
    "                  incomplete first/last bucket, keep inner ones), keep, drop\n"
    "  --from-trades D build D bars from the trades first\n"
    "  --fill-empty    with --from-trades: a flat bar for intervals without trades\n"
    "  --out-symbol S2 where to store the bars (and the copied series)\n"
    "\n"
    "Example:\n"
    "  qtune data resample --catalog cat --symbol BTCUSDT --to 1h\n"
    "\n"
    "Exit status: 0 ok, 2 error (not a multiple, no complete bar, no series).\n";

int cmd_data_resample(int argc, char **argv) {
  const char *dir = NULL, *sym = NULL, *out_sym = NULL;
  int64_t to_ms = 0, trades_ms = 0;
  int fill = 0;
  qt_resample_opts ro = qt_resample_opts_default();
  qt_err err = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    if (is_help(a)) {
      fputs(k_resample_help, stdout);
      return CLI_OK;
    }
    if (strcmp(a, "--fill-empty") == 0) {
      fill = 1;
      continue;
    }
    if (strncmp(a, "--", 2) != 0) return cli_failf("data resample: unexpected argument '%s'", a);
    if (!(v = cli_opt_val(argc, argv, &i))) return CLI_ERROR;
    if (strcmp(a, "--catalog") == 0) dir = v;
    else if (strcmp(a, "--symbol") == 0) sym = v;
    else if (strcmp(a, "--out-symbol") == 0) out_sym = v;
    else if (strcmp(a, "--to") == 0) {
      if (qt_duration_parse(v, &to_ms, &err) != 0) return cli_fail(&err);
    } else if (strcmp(a, "--from-trades") == 0) {
      if (qt_duration_parse(v, &trades_ms, &err) != 0) return cli_fail(&err);
    } else if (strcmp(a, "--partial") == 0) {
      if (strcmp(v, "drop-edges") == 0) ro.partial = QT_PARTIAL_DROP_EDGES;
      else if (strcmp(v, "keep") == 0) ro.partial = QT_PARTIAL_KEEP;
      else if (strcmp(v, "drop") == 0) ro.partial = QT_PARTIAL_DROP;
      else return cli_failf("--partial: '%s' is not drop-edges, keep or drop", v);
    } else {
      return cli_failf("data resample: unknown option '%s' (see --help)", a);
    }
  }
  if (!dir || !sym) return cli_failf("data resample: --catalog and --symbol are required");
  if (!to_ms && !trades_ms) return cli_failf("data resample: give --to or --from-trades");
  if (fill && !trades_ms) return cli_failf("--fill-empty: only with --from-trades");
  int64_t final_ms = to_ms ? to_ms : trades_ms;
  char dur[32], def_sym[96];
  qt_duration_format(final_ms, dur, sizeof dur);
  if (!out_sym) {
    if ((size_t)snprintf(def_sym, sizeof def_sym, "%s_%s", sym, dur) >= sizeof def_sym)
      return cli_failf("--symbol: too long");
    out_sym = def_sym;
  }

  qt_catalog *cat = NULL;
  qt_bars mid = {0}, out = {0};
  qt_trades tr = {0};
  qt_resample_info info = {0};
  int status = CLI_ERROR, have_info = 0;
  if (qt_catalog_open(dir, 0, &cat, &err) != 0) goto fail;
  if (trades_ms) {
    qt_trade_bars_opts to = {.interval_ms = trades_ms, .fill_empty = fill};
    if (qt_catalog_get_trades(cat, sym, &tr, &err) != 0 || qt_bars_from_trades(&tr, &to, &mid, &err) != 0)
      goto fail;
  } else if (qt_catalog_get_bars(cat, sym, &mid, &err) != 0) {
    goto fail;
  }
  const qt_bars *res = &mid;
  if (to_ms && to_ms != mid.interval_ms) {
    ro.to_ms = to_ms;
    if (qt_resample_bars(&mid, &ro, &out, &info, &err) != 0) goto fail;
    have_info = 1;
    res = &out;
  }
  if (res->n == 0) {
    status = cli_failf("data resample: no complete %s bar in %s (try --partial keep)", dur, sym);
    goto done;
  }
  int rc = qt_catalog_put_bars(cat, out_sym, res, &err);
  size_t carried[QT_KIND_COUNT];
  if (rc < 0 || qt_resample_carry_series(cat, sym, out_sym, carried, &err) != 0) goto fail;
  printf("resample: %s %s -> %s: %zu %s bars", sym, trades_ms ? "trades" : "bars", out_sym,
         res->n, dur);
  if (have_info)
    printf(" (%zu incomplete kept, %zu dropped)", info.n_incomplete, info.n_dropped);
  printf("%s\n", rc == QT_DONE ? ", unchanged" : "");
  printf("resample: copied to %s: %zu trades, %zu funding, %zu quotes\n", out_sym,
         carried[QT_KIND_TRADES], carried[QT_KIND_FUNDING], carried[QT_KIND_QUOTES]);
  status = CLI_OK;
  goto done;
fail:
  status = cli_fail(&err);
done:
  qt_bars_fini(&out);
  qt_bars_fini(&mid);
  qt_trades_fini(&tr);
  qt_catalog_close(cat);
  return status;
}
