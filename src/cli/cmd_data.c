/* `qtune data import|info|verify|synth|resample`: dispatch, and the import
 * and info subcommands (verify/synth/resample live in cmd_data_quality.c). */
#include "cli/cmd_data.h"
#include "cli/util.h"
#include "qtune/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_help(const char *a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

/* The value of option argv[*i] (advancing *i), or NULL after an error. */
static const char *value(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) {
    cli_failf("%s needs a value", argv[*i]);
    return NULL;
  }
  return argv[++*i];
}

static void import_usage(FILE *f) {
  fprintf(f,
          "usage: qtune data import --catalog DIR --symbol S [options] FILE...\n"
          "\n"
          "Imports exchange dumps and CSV/JSON files into the catalog, merged with what\n"
          "it already holds for (S, kind): time order, exact duplicate rows dropped, and\n"
          "for bars/funding a newer row replaces a stored one at the same time.\n"
          "FILEs may be .csv, .csv.gz or .zip (every CSV inside).\n"
          "\n"
          "  --catalog DIR     catalog directory (created if new or empty)\n"
          "  --symbol S        symbol to store under (\"S.B\" for a second venue)\n"
          "  --format F        auto (default), kline, aggtrades, fundingrate, bookticker,\n"
          "                    csv (header + --columns), json (freqtrade candles/trades)\n"
          "  --kind K          bars, trades, funding or quotes (default: from the format)\n"
          "  --columns MAP     csv mapping target=source,... e.g.\n"
          "                    time=Date,open=Open,high=High,low=Low,close=Close,volume=Volume\n"
          "                    (funding: time=date_ms,rate=open; source: header name or 1-based number)\n"
          "  --date-format FMT the csv time column's format, in UTC unless %%z, e.g.\n"
          "                    \"%%d/%%m/%%Y %%H:%%M\", \"%%m/%%d/%%y\", \"%%d %%b %%Y\" (directives: %%Y %%y\n"
          "                    %%m %%d %%H %%I %%M %%S %%f %%b %%p %%z %%s; default: epoch or ISO-8601)\n"
          "  --time-unit U     unit of epoch stamps: s, ms, us, ns or auto (default: decided\n"
          "                    once per file from its first stamp)\n"
          "  --skip-bad        skip malformed or impossible rows (zero, negative, non-finite\n"
          "                    or above-1e12 prices, high/low not enclosing open/close,\n"
          "                    negative volume), counted, instead of failing\n"
          "\n"
          "Example:\n"
          "  qtune data import --catalog cat --symbol BTCUSDT BTCUSDT-1m-2026-06.zip\n"
          "\n"
          "Exit status: 0 ok, 2 error (a malformed row names FILE:LINE and the field).\n");
}

static int data_import(int argc, char **argv) {
  const char *catalog = NULL, *symbol = NULL;
  qt_import_opts o = qt_import_opts_default();
  const char **files = calloc((size_t)argc, sizeof *files);
  size_t n_files = 0;
  int rc = CLI_ERROR;
  qt_err e = {0};
  if (!files) return cli_failf("out of memory");
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    if (is_help(a)) {
      import_usage(stdout);
      rc = CLI_OK;
      goto done;
    } else if (strcmp(a, "--catalog") == 0) {
      if (!(catalog = value(argc, argv, &i))) goto done;
    } else if (strcmp(a, "--symbol") == 0) {
      if (!(symbol = value(argc, argv, &i))) goto done;
    } else if (strcmp(a, "--columns") == 0) {
      if (!(o.columns = value(argc, argv, &i))) goto done;
    } else if (strcmp(a, "--date-format") == 0) {
      if (!(o.date_format = value(argc, argv, &i))) goto done;
    } else if (strcmp(a, "--format") == 0) {
      if (!(v = value(argc, argv, &i))) goto done;
      if (qt_import_format_parse(v, &o.format)) {
        cli_failf("--format: unknown format '%s' (auto, kline, aggtrades, fundingrate, bookticker, csv, json)", v);
        goto done;
      }
    } else if (strcmp(a, "--kind") == 0) {
      qt_kind k;
      if (!(v = value(argc, argv, &i))) goto done;
      if (qt_kind_parse(v, &k)) {
        cli_failf("--kind: unknown kind '%s' (bars, trades, funding, quotes)", v);
        goto done;
      }
      o.kind = (int)k;
    } else if (strcmp(a, "--time-unit") == 0) {
      if (!(v = value(argc, argv, &i))) goto done;
      if (qt_time_unit_parse(v, &o.time_unit)) {
        cli_failf("--time-unit: unknown unit '%s' (s, ms, us, ns, auto)", v);
        goto done;
      }
    } else if (strcmp(a, "--skip-bad") == 0) {
      o.skip_bad = 1;
    } else if (a[0] == '-' && a[1]) {
      cli_failf("data import: unknown option '%s' (see --help)", a);
      goto done;
    } else {
      files[n_files++] = a;
    }
  }
  if (!catalog || !symbol || n_files == 0) {
    cli_failf("data import: needs --catalog DIR, --symbol S and at least one FILE (see --help)");
    goto done;
  }
  if ((o.columns || o.date_format) && o.format == QT_FMT_AUTO) o.format = QT_FMT_CSV;
  /* Streamed; the files are parsed before the catalog is opened, so a bad
   * file leaves no trace, not even a new catalog. */
  qt_import_summary sum;
  int mr = qt_import_into_catalog(catalog, symbol, files, n_files, &o, &sum, &e);
  if (mr < 0) {
    cli_fail(&e);
    goto done;
  }
  const qt_import_stats *st = &sum.stats;
  printf("%s %s: files %zu, read %zu, kept %zu, duplicates %zu, replaced %zu, skipped %zu\n",
         symbol, qt_kind_name(sum.kind), st->files, st->rows_read, sum.imported, st->duplicates,
         st->replaced, st->skipped);
  if (st->skipped) printf("first skipped row: %s\n", st->first_bad);
  printf("catalog %s: %s %s now %zu rows (was %zu): %s\n", catalog, symbol, qt_kind_name(sum.kind),
         st->rows_kept, st->stored_before, mr == QT_DONE ? "unchanged" : "written");
  rc = CLI_OK;
done:
  free(files);
  return rc;
}

/* A JSON string literal of s (paths may hold quotes or backslashes). */
static void json_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') printf("\\%c", ch);
    else if (ch < 0x20) printf("\\u%04x", ch);
    else putchar(ch);
  }
  putchar('"');
}

static void info_usage(FILE *f) {
  fprintf(f,
          "usage: qtune data info --catalog DIR [--symbol S] [--json]\n"
          "\n"
          "Lists the series in a catalog: symbol, kind, rows, first and last time (UTC)\n"
          "and, for bars, the bar interval.\n"
          "\n"
          "Example:\n"
          "  qtune data info --catalog cat --symbol BTCUSDT\n"
          "\n"
          "Exit status: 0 ok, 2 error (no catalog, bad option).\n");
}

static int data_info(int argc, char **argv) {
  const char *catalog = NULL, *symbol = NULL;
  int json = 0, rc = CLI_ERROR;
  qt_catalog *cat = NULL;
  qt_catalog_entry *ent = NULL;
  qt_err e = {0};
  for (int i = 1; i < argc; i++) {
    if (is_help(argv[i])) {
      info_usage(stdout);
      return CLI_OK;
    } else if (strcmp(argv[i], "--catalog") == 0) {
      if (!(catalog = value(argc, argv, &i))) return CLI_ERROR;
    } else if (strcmp(argv[i], "--symbol") == 0) {
      if (!(symbol = value(argc, argv, &i))) return CLI_ERROR;
    } else if (strcmp(argv[i], "--json") == 0) {
      json = 1;
    } else {
      return cli_failf("data info: unknown argument '%s' (see --help)", argv[i]);
    }
  }
  if (!catalog) return cli_failf("data info: needs --catalog DIR (see --help)");
  size_t n = 0;
  if (qt_catalog_open(catalog, 0, &cat, &e) || qt_catalog_list(cat, NULL, 0, &n, &e)) {
    cli_fail(&e);
    goto done;
  }
  ent = calloc(n ? n : 1, sizeof *ent);
  if (!ent) {
    cli_failf("out of memory");
    goto done;
  }
  if (qt_catalog_list(cat, ent, n, &n, &e)) {
    cli_fail(&e);
    goto done;
  }
  if (json) {
    printf("{\"catalog\":");
    json_str(catalog);
    printf(",\"series\":[");
  }
  else printf("%-16s %-8s %10s  %-24s  %-24s  %s\n", "SYMBOL", "KIND", "ROWS", "FIRST", "LAST",
              "INTERVAL");
  int first = 1;
  for (size_t i = 0; i < n; i++) {
    const qt_catalog_entry *x = &ent[i];
    if (symbol && strcmp(symbol, x->symbol) != 0) continue;
    char a[40], b[40], iv[32];
    qt_time_format(x->first_ms, a, sizeof a);
    qt_time_format(x->last_ms, b, sizeof b);
    if (x->kind == QT_KIND_BARS && x->interval_ms > 0) qt_duration_format(x->interval_ms, iv, sizeof iv);
    else snprintf(iv, sizeof iv, "-");
    if (json)
      printf("%s{\"symbol\":\"%s\",\"kind\":\"%s\",\"rows\":%zu,\"first\":\"%s\",\"last\":\"%s\","
             "\"first_ms\":%lld,\"last_ms\":%lld,\"interval_ms\":%lld}",
             first ? "" : ",", x->symbol, qt_kind_name((qt_kind)x->kind), x->n, a, b,
             (long long)x->first_ms, (long long)x->last_ms, (long long)x->interval_ms);
    else
      printf("%-16s %-8s %10zu  %-24s  %-24s  %s\n", x->symbol, qt_kind_name((qt_kind)x->kind), x->n,
             a, b, iv);
    first = 0;
  }
  if (json) printf("]}\n");
  else if (first) printf("(no series%s)\n", symbol ? " for that symbol" : "");
  rc = CLI_OK;
done:
  free(ent);
  qt_catalog_close(cat);
  return rc;
}

typedef struct sub {
  const char *name;
  int (*fn)(int, char **);
  const char *summary;
} sub;

static const sub k_subs[] = {
    {"import", data_import, "import exchange dumps / CSV / JSON files into a catalog"},
    {"info", data_info, "list the series of a catalog"},
    {"verify", cmd_data_verify, "check a series for gaps, duplicates and bad values"},
    {"synth", cmd_data_synth, "write a synthetic market into a catalog"},
    {"resample", cmd_data_resample, "resample bars to a longer interval"},
    {"download", cmd_data_download, "fetch the exchange's public dump files, verify, import"},
};

int cmd_data(int argc, char **argv) {
  size_t n = sizeof k_subs / sizeof k_subs[0];
  if (argc < 2 || is_help(argv[1])) {
    FILE *f = argc < 2 ? stderr : stdout;
    fprintf(f, "usage: qtune data <subcommand> [options]   (qtune data <subcommand> --help)\n\n");
    for (size_t i = 0; i < n; i++) fprintf(f, "  %-10s %s\n", k_subs[i].name, k_subs[i].summary);
    fprintf(f, "\nExample:\n  qtune data info --catalog cat\n"
               "\nExit status: 0 ok, 1 findings (verify), 2 error.\n");
    return argc < 2 ? CLI_ERROR : CLI_OK;
  }
  for (size_t i = 0; i < n; i++)
    if (strcmp(argv[1], k_subs[i].name) == 0) return k_subs[i].fn(argc - 1, argv + 1);
  return cli_failf("data: unknown subcommand '%s' (import, info, verify, synth, resample, download)", argv[1]);
}
