/* `qtune data download`: the exchange's public dump files for a symbol and
 * range, verified against their .CHECKSUM and imported into a catalog, with
 * a progress bar.  Parsing and wiring only (src/data/download.c). */
#include "cli/cmd_data.h"
#include "cli/util.h"
#include "qtune/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void) {
  printf("usage: qtune data download --symbol S --from DATE --to DATE --catalog DIR [options]\n\n"
         "Fetches the exchange's public monthly and daily dump files (monthly where a\n"
         "month is whole in the range and has ended, daily for the rest), checks each\n"
         "against its .CHECKSUM, imports them into the catalog, and says which files\n"
         "the exchange does not have.  Files already fetched and verified are skipped.\n\n"
         "  --symbol S             BTCUSDT\n"
         "  --market um|spot       USD-M futures (default) or spot\n"
         "  --kinds LIST           klines,aggTrades,fundingRate,bookTicker (default klines)\n"
         "  --interval I           klines interval (default 1m)\n"
         "  --from DATE --to DATE  the range [from, to) (whole UTC days)\n"
         "  --catalog DIR          where the series go\n"
         "  --dir DIR              where the files are kept (default DIR/downloads of the catalog)\n"
         "  --base-url URL         the dump server (default https://data.binance.vision)\n"
         "  --retries N            per file, on HTTP 429/5xx, errors, a bad checksum (default 5)\n"
         "  --min-interval-ms MS   between requests (default 100)\n"
         "  --backoff-ms MS        first back-off, doubling (default 500)\n"
         "\nExample:\n"
         "  qtune data download --symbol BTCUSDT --market um --kinds klines,fundingRate \\\n"
         "      --interval 1m --from 2024-04-01 --to 2024-10-01 --catalog cat\n"
         "\nExit status: 0 every file the exchange has was fetched and verified (missing\n"
         "ones are listed), 1 some failed after the retries, 2 error.\n");
}

static void progress(void *ud, size_t done, size_t total, const char *file, const char *state) {
  int tty = *(int *)ud;
  if (tty) {
    int w = 30, fill = total ? (int)(w * done / total) : w;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu %-40s %s\033[K", fill, "##############################",
            w - fill, "", done, total, file, state);
    if (done == total) fputc('\n', stderr);
  } else {
    fprintf(stderr, "download %zu/%zu %s %s\n", done, total, file, state);
  }
}

int cmd_data_download(int argc, char **argv) {
  qt_download_opts o = qt_download_opts_default();
  const char *catalog = NULL, *from = NULL, *to = NULL;
  char dir[4096] = "";
  long retries = o.max_retries, mi = o.min_interval_ms, bo = o.backoff_ms;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage();
      return CLI_OK;
    }
    const char **sv = !strcmp(a, "--symbol")     ? &o.symbol
                      : !strcmp(a, "--market")   ? &o.market
                      : !strcmp(a, "--kinds")    ? &o.kinds
                      : !strcmp(a, "--interval") ? &o.interval
                      : !strcmp(a, "--from")     ? &from
                      : !strcmp(a, "--to")       ? &to
                      : !strcmp(a, "--catalog")  ? &catalog
                      : !strcmp(a, "--base-url") ? &o.base_url
                                                 : NULL;
    long *lv = !strcmp(a, "--retries")           ? &retries
               : !strcmp(a, "--min-interval-ms") ? &mi
               : !strcmp(a, "--backoff-ms")      ? &bo
                                                 : NULL;
    if ((sv || lv || !strcmp(a, "--dir")) && i + 1 >= argc)
      return cli_failf("data download: %s needs a value", a);
    if (sv) *sv = argv[++i];
    else if (lv) { if (cli_parse_long(a, argv[++i], lv)) return CLI_ERROR; }
    else if (!strcmp(a, "--dir")) snprintf(dir, sizeof dir, "%s", argv[++i]);
    else return cli_failf("data download: unknown option '%s' (see --help)", a);
  }
  if (!catalog || !from || !to)
    return cli_failf("data download: needs --symbol, --from, --to and --catalog (see --help)");
  if (retries < 0 || mi < 0 || bo < 0)
    return cli_failf("data download: --retries, --min-interval-ms and --backoff-ms must be >= 0");
  o.max_retries = (int)retries, o.min_interval_ms = mi, o.backoff_ms = bo;
  qt_err err;
  qt_err_clear(&err);
  if (qt_time_parse(from, strlen(from), &o.from_ms, &err)) return cli_failf("--from: %s", err.msg);
  if (qt_time_parse(to, strlen(to), &o.to_ms, &err)) return cli_failf("--to: %s", err.msg);
  qt_catalog *c = NULL;
  if (qt_catalog_open(catalog, 1, &c, &err)) return cli_fail(&err);
  if (!dir[0]) snprintf(dir, sizeof dir, "%s/downloads", catalog);
  o.dir = dir;
  int tty = isatty(2);
  o.progress = progress;
  o.ud = &tty;
  qt_download_report rep;
  int rc = qt_download_run(&o, c, &rep, &err);
  qt_catalog_close(c);
  if (rc && rc != QT_EIO) return cli_fail(&err);
  printf("%s: %zu files: %zu fetched, %zu already here, %zu missing, %zu failed (%zu retries); "
         "%zu rows imported\n",
         o.symbol, rep.files, rep.fetched, rep.skipped, rep.missing, rep.failed, rep.retries,
         rep.rows_imported);
  if (rep.missing) printf("missing (the exchange does not have them): %s\n", rep.missing_list);
  if (rep.failed) printf("failed: %s\n", rep.failed_list);
  return rc ? CLI_FINDINGS : CLI_OK;
}
