/* `qtune data download`: flags into qt_download_opts, events into a
 * progress bar (a terminal) or plain lines (a pipe).  The work is
 * qt_download_run (src/data/download.c). */
#include "cli/cmd_data.h"
#include "cli/util.h"
#include "qtune/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: qtune data download --symbol S --from DAY --to DAY --catalog DIR [options]\n"
          "\n"
          "Fetches the exchange's public dump files (monthly where a whole month is in\n"
          "[--from, --to) and over, daily for the other days), checks each against its\n"
          "published .CHECKSUM (sha256), and imports the verified files into the catalog.\n"
          "Files already fetched and verified (CATALOG/.download/) are not fetched again.\n"
          "Says which files or months the exchange does not have.\n"
          "\n"
          "  --symbol S        exchange symbol, e.g. BTCUSDT\n"
          "  --market M        um (USD-M futures, default) or spot\n"
          "  --kinds LIST      klines,aggTrades,fundingRate,bookTicker (default klines;\n"
          "                    spot: klines, aggTrades)\n"
          "  --interval I      kline interval (default 1m)\n"
          "  --from DAY        first day, YYYY-MM-DD (UTC)\n"
          "  --to DAY          end day, exclusive: --from 2024-04-01 --to 2024-10-01 is 6 months\n"
          "  --catalog DIR     catalog directory (created if new or empty)\n"
          "  --store-as S      catalog symbol (default: --symbol)\n"
          "  --base-url URL    default $QTUNE_DOWNLOAD_BASE_URL, else %s\n"
          "  --rate R          requests per second (default 5; 0: no limit)\n"
          "  --retries N       tries after the first on 429, 5xx, a dropped or truncated\n"
          "                    transfer (default 5)\n"
          "  --backoff-ms MS   first back-off, doubled per retry (default 500, at most\n"
          "                    --backoff-max-ms, default 30000); a 429's Retry-After wins\n"
          "                    when longer\n"
          "  --no-daily-fallback  a monthly file the server lacks is not tried day by day\n"
          "  --skip-bad        skip malformed rows of a verified file (counted) instead of\n"
          "                    failing (as data import --skip-bad)\n"
          "  --progress MODE   auto (default: a bar on a terminal), bar, lines or none\n"
          "\n"
          "Example:\n"
          "  qtune data download --symbol BTCUSDT --market um --kinds klines,fundingRate \\\n"
          "    --interval 1m --from 2024-04-01 --to 2024-10-01 --catalog cat\n"
          "\n"
          "Exit status: 0 everything fetched and imported, 1 some files missing or refused\n"
          "(the others imported), 2 error.\n",
          QT_DL_DEFAULT_BASE_URL);
}

typedef struct view {
  int bar; /* 1: a redrawn line on a terminal */
  int quiet;
  int drawn;
} view;

static void clear_bar(view *v) {
  if (v->drawn) fprintf(stderr, "\r\033[K");
  v->drawn = 0;
}

static void on_event(void *ud, const qt_dl_event *ev) {
  view *v = ud;
  if (v->quiet && ev->type != QT_DL_EV_DONE && ev->type != QT_DL_EV_IMPORT) return;
  switch (ev->type) {
  case QT_DL_EV_BEGIN:
  case QT_DL_EV_BYTES:
    if (!v->bar) return;
    {
      int w = 30, fill = ev->n_files ? (int)(w * (ev->index - 1) / ev->n_files) : 0;
      char bar[40];
      for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
      bar[w] = 0;
      char got[48] = "";
      if (ev->type == QT_DL_EV_BYTES) {
        if (ev->total > 0)
          snprintf(got, sizeof got, " %.1f/%.1f MB", ev->bytes / 1e6, ev->total / 1e6);
        else snprintf(got, sizeof got, " %.1f MB", ev->bytes / 1e6);
      }
      fprintf(stderr, "\r\033[K[%s] %zu/%zu %s%s", bar, ev->index, ev->n_files, ev->name, got);
      v->drawn = 1;
    }
    return;
  case QT_DL_EV_RETRY:
    clear_bar(v);
    fprintf(stderr, "retry %s: %s\n", ev->name, ev->msg);
    return;
  case QT_DL_EV_DONE: {
    static const char *const tag[] = {"fetched", "cached", "missing", "refused"};
    clear_bar(v);
    if (v->quiet && (ev->state == QT_DL_FETCHED || ev->state == QT_DL_CACHED)) return;
    printf("%-7s %s %s\n", tag[ev->state & 3], qt_dl_kind_name(ev->kind), ev->msg);
    fflush(stdout);
    return;
  }
  case QT_DL_EV_IMPORT:
    clear_bar(v);
    printf("import  %s\n", ev->msg);
    fflush(stdout);
    return;
  default: return;
  }
}

/* "YYYY-MM-DD" into whole-day ms; the option's name in the error. */
static int parse_day(const char *opt, const char *s, int64_t *out) {
  qt_err e = {0};
  if (qt_time_parse(s, strlen(s), out, &e)) return cli_failf("%s: '%s': %s", opt, s, e.msg);
  if (*out % 86400000LL) return cli_failf("%s: '%s': a whole UTC day (YYYY-MM-DD)", opt, s);
  return CLI_OK;
}

int cmd_data_download(int argc, char **argv) {
  qt_download_opts o = qt_download_opts_default();
  const char *catalog = NULL, *progress = "auto", *env = getenv("QTUNE_DOWNLOAD_BASE_URL");
  int have_from = 0, have_to = 0;
  qt_err e = {0};
  if (env && *env) o.base_url = env;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return CLI_OK;
    }
    if (strcmp(a, "--no-daily-fallback") == 0) {
      o.daily_fallback = 0;
      continue;
    }
    if (strcmp(a, "--skip-bad") == 0) {
      o.skip_bad = 1;
      continue;
    }
    if (strncmp(a, "--", 2) != 0) return cli_failf("data download: unexpected argument '%s' (see --help)", a);
    if (!v) return cli_failf("%s needs a value", a);
    i++;
    long n;
    double r;
    if (strcmp(a, "--symbol") == 0) o.symbol = v;
    else if (strcmp(a, "--store-as") == 0) o.store_as = v;
    else if (strcmp(a, "--catalog") == 0) catalog = v;
    else if (strcmp(a, "--interval") == 0) o.interval = v;
    else if (strcmp(a, "--base-url") == 0) o.base_url = v;
    else if (strcmp(a, "--progress") == 0) progress = v;
    else if (strcmp(a, "--market") == 0) {
      if (qt_dl_market_parse(v, &o.market)) return cli_failf("--market: '%s': um or spot", v);
    } else if (strcmp(a, "--kinds") == 0) {
      if (qt_dl_kinds_parse(v, &o.kinds, &e)) return cli_fail(&e);
    } else if (strcmp(a, "--from") == 0) {
      if (parse_day(a, v, &o.from_ms)) return CLI_ERROR;
      have_from = 1;
    } else if (strcmp(a, "--to") == 0) {
      if (parse_day(a, v, &o.to_ms)) return CLI_ERROR;
      have_to = 1;
    } else if (strcmp(a, "--rate") == 0) {
      if (cli_parse_double(a, v, &r)) return CLI_ERROR;
      if (r < 0) return cli_failf("--rate: must be >= 0");
      o.rate_per_s = r;
    } else if (strcmp(a, "--retries") == 0) {
      if (cli_parse_long(a, v, &n)) return CLI_ERROR;
      if (n < 0 || n > 100) return cli_failf("--retries: 0 to 100");
      o.retries = (int)n;
    } else if (strcmp(a, "--backoff-ms") == 0) {
      if (cli_parse_long(a, v, &n)) return CLI_ERROR;
      if (n < 0) return cli_failf("--backoff-ms: must be >= 0");
      o.backoff_ms = n;
      if (o.backoff_max_ms < n) o.backoff_max_ms = n;
    } else if (strcmp(a, "--backoff-max-ms") == 0) {
      if (cli_parse_long(a, v, &n)) return CLI_ERROR;
      if (n < 0) return cli_failf("--backoff-max-ms: must be >= 0");
      o.backoff_max_ms = n;
    } else return cli_failf("data download: unknown option '%s' (see --help)", a);
  }
  if (!o.symbol || !catalog || !have_from || !have_to)
    return cli_failf("data download: needs --symbol, --from, --to and --catalog (see --help)");
  view vw = {0, 0, 0};
  if (strcmp(progress, "auto") == 0) vw.bar = isatty(STDERR_FILENO);
  else if (strcmp(progress, "bar") == 0) vw.bar = 1;
  else if (strcmp(progress, "none") == 0) vw.quiet = 1;
  else if (strcmp(progress, "lines") != 0)
    return cli_failf("--progress: '%s': auto, bar, lines or none", progress);
  o.on_event = on_event;
  o.ud = &vw;
  qt_download_report rep;
  int rc = qt_download_run(&o, catalog, &rep, &e);
  clear_bar(&vw);
  if (rc < 0) return cli_fail(&e);
  printf("download %s: %zu files: %zu fetched, %zu cached, %zu missing, %zu refused; "
         "%zu missing months, %zu not yet published; %zu requests (%zu retries), %lld bytes\n",
         o.symbol, rep.planned, rep.n_state[QT_DL_FETCHED], rep.n_state[QT_DL_CACHED],
         rep.n_state[QT_DL_MISSING], rep.n_state[QT_DL_REFUSED], rep.missing_months, rep.not_yet,
         rep.requests, rep.retries, (long long)rep.bytes);
  return rc == QT_DONE ? CLI_FINDINGS : CLI_OK;
}
