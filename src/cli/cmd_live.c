/* `qtune live history RUN` and `qtune live revert RUN`: the parameter sets a
 * run applied from its live params file (with the P&L each earned), and the
 * way back to the previous set through the same file.  The work is in
 * src/live/params_file.c; this parses flags and prints. */
#include "cli/util.h"
#include "qtune/live.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_help(const char *a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

static void usage(FILE *f) {
  fprintf(f,
          "usage: qtune live history RUN [--live-params FILE] [--json]\n"
          "       qtune live revert RUN [--live-params FILE]\n\n"
          "  history  the parameter sets RUN applied from FILE, oldest first: when each took\n"
          "           effect, how (reload, watch, update, revert), and the P&L from it to the\n"
          "           next set (the runner's equity then minus now; '-' when unknown)\n"
          "  revert   writes the set before RUN's last one to FILE (atomically, so a runner\n"
          "           watching FILE reloads it) and records it in the history\n\n"
          "  --live-params FILE  the live params file (default tuning_params.json); its\n"
          "                      history is FILE.history.jsonl beside it\n"
          "  --json              history as a JSON array\n"
          "\nExample:\n  qtune live history paper1 --live-params tuning_params.json\n"
          "\nExit status: 0 ok, 2 error (no history, nothing to revert to, a bad file).\n");
}

static int history(const char *file, const char *run, int as_json) {
  qt_live_history_entry *v = NULL;
  size_t n = 0;
  qt_err err;
  if (qt_live_history_load(file, run, &v, &n, &err)) return cli_fail(&err);
  if (n == 0) {
    char hp[4200];
    return cli_failf("run '%s' has no parameter history in %s", run,
                     qt_live_history_path(file, hp, sizeof hp));
  }
  json_t *arr = as_json ? json_array() : NULL;
  if (!as_json) printf("%-3s %-24s %-7s %12s  %s\n", "#", "time", "source", "pnl", "params");
  for (size_t k = 0; k < n; k++) {
    double pnl = k + 1 < n ? v[k + 1].equity - v[k].equity : NAN;
    char iso[40];
    qt_time_format(v[k].ts_ms, iso, sizeof iso);
    if (as_json) {
      json_error_t je;
      json_t *o = json_object();
      json_object_set_new(o, "n", json_integer((json_int_t)k + 1));
      json_object_set_new(o, "ts_ms", json_integer(v[k].ts_ms));
      json_object_set_new(o, "time", json_string(iso));
      json_object_set_new(o, "source", json_string(v[k].source));
      json_object_set_new(o, "strategy", json_string(v[k].strategy));
      json_object_set_new(o, "equity", isfinite(v[k].equity) ? json_real(v[k].equity) : json_null());
      json_object_set_new(o, "pnl", isfinite(pnl) ? json_real(pnl) : json_null());
      json_object_set_new(o, "current", json_boolean(k + 1 == n));
      json_object_set_new(o, "params", json_loads(v[k].params, 0, &je));
      json_array_append_new(arr, o);
    } else {
      char pn[32];
      if (isfinite(pnl)) snprintf(pn, sizeof pn, "%+.2f", pnl);
      else snprintf(pn, sizeof pn, "%s", k + 1 == n ? "(current)" : "-");
      printf("%-3zu %-24s %-7s %12s  %s\n", k + 1, iso, v[k].source, pn, v[k].params);
    }
  }
  if (as_json) {
    char *txt = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    if (txt) printf("%s\n", txt);
    free(txt);
    json_decref(arr);
  }
  qt_free(v);
  return CLI_OK;
}

int cmd_live(int argc, char **argv) {
  if (argc < 2 || is_help(argv[1])) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? CLI_ERROR : CLI_OK;
  }
  const char *sub = argv[1], *run = NULL, *file = "tuning_params.json";
  int as_json = 0;
  for (int i = 2; i < argc; i++) {
    if (is_help(argv[i])) {
      usage(stdout);
      return CLI_OK;
    } else if (strcmp(argv[i], "--live-params") == 0 && i + 1 < argc) {
      file = argv[++i];
    } else if (strcmp(argv[i], "--json") == 0) {
      as_json = 1;
    } else if (argv[i][0] == '-') {
      return cli_failf("live %s: unknown option '%s' (see qtune live --help)", sub, argv[i]);
    } else if (!run) {
      run = argv[i];
    } else {
      return cli_failf("live %s: one RUN only ('%s' is extra)", sub, argv[i]);
    }
  }
  if (strcmp(sub, "history") != 0 && strcmp(sub, "revert") != 0)
    return cli_failf("live: unknown subcommand '%s' (history, revert)", sub);
  if (!run) return cli_failf("live %s: the RUN name is missing", sub);
  if (strcmp(sub, "history") == 0) return history(file, run, as_json);
  qt_live_history_entry e;
  qt_err err;
  if (qt_live_revert(file, run, &e, &err)) return cli_fail(&err);
  char iso[40];
  qt_time_format(e.ts_ms, iso, sizeof iso);
  printf("reverted %s to the set of %s: %s\n", file, iso, e.params);
  return CLI_OK;
}
