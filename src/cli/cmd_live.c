/* `qtune live history RUN` and `qtune live revert RUN`: the parameter sets a
 * run applied from its live params file (with the P&L each earned), and the
 * way back to the previous set through the same file; `qtune live check
 * FILE` validates a file as a runner would; `qtune live watch FILE` runs the
 * watcher alone and prints each set it applies.  The work is in
 * src/live/params_file.c; this parses flags and prints. */
#include "cli/util.h"
#include "qtune/live.h"
#include "qtune/storage.h"

#include "qtune/strategies.h"

#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int is_help(const char *a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

static void usage(FILE *f) {
  fprintf(f,
          "usage: qtune live history RUN [--live-params FILE | --storage URL] [--json]\n"
          "       qtune live revert RUN [--live-params FILE]\n"
          "       qtune live check FILE [--strategy S]\n"
          "       qtune live watch FILE [--strategy S] [--run RUN] [--max-step PCT] [--poll]\n\n"
          "  history  the parameter sets RUN applied from FILE, oldest first: when each took\n"
          "           effect, how (reload, watch, update, revert), and the P&L from it to the\n"
          "           next set (the runner's equity then minus now; '-' when unknown);\n"
          "           with --storage, the sets the stored paper run RUN applied (the start\n"
          "           set, then each set of its file with the bar it took effect from)\n"
          "  revert   writes the set before RUN's last one to FILE (atomically, so a runner\n"
          "           watching FILE reloads it) and records it in the history\n"
          "  check    validates FILE against the strategy's parameters as a runner does\n"
          "  watch    watches FILE (inotify; --poll: every 5 s) and prints each set it applies,\n"
          "           the runner's log lines on stderr; stops on Ctrl-C or SIGTERM\n\n"
          "  --live-params FILE  the live params file (default tuning_params.json); its\n"
          "                      history is FILE.history.jsonl beside it\n"
          "  --storage URL       read the paper run's stored sets (paper_params) instead\n"
          "  --strategy S        default market_maker\n"
          "  --run RUN           the run name watch records in the history (default watch)\n"
          "  --max-step PCT      refuse a change of more than PCT%% per parameter per reload\n"
          "  --json              history as a JSON array\n"
          "\nExample:\n  qtune live history paper1 --live-params tuning_params.json\n"
          "\nExit status: 0 ok, 2 error (no history, nothing to revert to, a bad file).\n");
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { g_stop = sig; }

static void print_set(const qt_strategy_vtbl *s, uint64_t v, const double *p) {
  printf("version %llu:", (unsigned long long)v);
  for (size_t k = 0; k < s->n_params; k++) printf(" %s=%.10g", s->params[k].name, p[k]);
  printf("\n");
  fflush(stdout);
}

static int check_or_watch(int watch, const char *file, const char *strategy, const char *run,
                          double max_step, int poll) {
  qt_err err;
  void *plugin = NULL;
  const qt_strategy_vtbl *s = qt_strategy_resolve(strategy, &plugin, &err);
  if (!s) return err.msg[0] ? cli_fail(&err) : cli_failf("live: unknown strategy '%s'", strategy);
  int rc = CLI_ERROR;
  qt_live_params *lp = NULL;
  double p[QT_LIVE_MAX_PARAMS];
  qt_strategy_defaults(s, p);
  qt_live_params_opts o = qt_live_params_opts_default();
  o.run = run;
  o.keep_history = watch;
  o.max_step_pct = max_step;
  o.force_poll = poll;
  if (s->n_params > QT_LIVE_MAX_PARAMS || qt_live_params_new(s, file, p, &o, &lp, &err)) {
    cli_fail(&err);
    goto done;
  }
  if (watch) qt_log_set(qt_log_stderr, NULL, qt_log_enabled(QT_LOG_DEBUG) ? QT_LOG_DEBUG : QT_LOG_INFO);
  int r = qt_live_params_reload(lp, &err);
  if (!watch) {
    if (r == QT_LIVE_NOT_FOUND) cli_failf("%s: not found", file);
    else if (r < 0) cli_fail(&err);
    else {
      qt_live_params_get(lp, p);
      printf("%s: valid for %s\n", file, s->name);
      rc = CLI_OK;
    }
    goto done;
  }
  uint64_t v = qt_live_params_get(lp, p);
  print_set(s, v, p);
  if (qt_live_params_watch(lp, &err)) {
    cli_fail(&err);
    goto done;
  }
  fprintf(stderr, "qtune: watching %s (%s); Ctrl-C stops\n", file, qt_live_params_watch_mode(lp));
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  while (!g_stop) {
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
    if (qt_live_params_version(lp) != v) {
      v = qt_live_params_get(lp, p);
      print_set(s, v, p);
    }
  }
  rc = CLI_OK;
done:
  qt_live_params_free(lp);
  qt_strategy_unload(plugin);
  return rc;
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

/* The sets a stored paper run applied (qt_paper_params_list). */
static int stored_history(const char *url, const char *run, int as_json) {
  qt_err err;
  qt_storage st = {0};
  if (qt_storage_open(url, &st, &err)) return cli_fail(&err);
  int rc = CLI_ERROR;
  qt_paper_params_rec *v = NULL;
  size_t n = 0;
  qt_paper_run_rec r;
  if (qt_paper_run_get(&st, run, &r, &err) || qt_paper_params_list(&st, r.id, &v, &n, &err)) {
    cli_fail(&err);
    goto done;
  }
  if (n == 0) {
    cli_failf("paper run '%s' has no stored parameter sets (stored before paper_params?)", run);
    goto done;
  }
  json_t *arr = as_json ? json_array() : NULL;
  if (!as_json) printf("%-3s %-24s %-6s %-24s  %s\n", "#", "time", "source", "from bar", "params");
  for (size_t k = 0; k < n; k++) {
    char iso[40], bar[40];
    qt_time_format(v[k].wall_ms, iso, sizeof iso);
    if (v[k].bar_ms) qt_time_format(v[k].bar_ms, bar, sizeof bar);
    else snprintf(bar, sizeof bar, "(start)");
    if (as_json) {
      json_error_t je;
      json_t *o = json_object();
      json_object_set_new(o, "seq", json_integer((json_int_t)v[k].seq));
      json_object_set_new(o, "ts_ms", json_integer(v[k].wall_ms));
      json_object_set_new(o, "time", json_string(iso));
      json_object_set_new(o, "bar_ms", json_integer(v[k].bar_ms));
      json_object_set_new(o, "source", json_string(v[k].source));
      json_object_set_new(o, "at", json_loads(v[k].at_json, 0, &je));
      json_object_set_new(o, "current", json_boolean(k + 1 == n));
      json_object_set_new(o, "params", json_loads(v[k].params_json, 0, &je));
      json_array_append_new(arr, o);
    } else {
      printf("%-3zu %-24s %-6s %-24s  %s\n", k + 1, iso, v[k].source, bar, v[k].params_json);
    }
  }
  if (as_json) {
    char *txt = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    if (txt) printf("%s\n", txt);
    free(txt);
    json_decref(arr);
  }
  rc = CLI_OK;
done:
  qt_free(v);
  qt_storage_close(&st);
  return rc;
}

int cmd_live(int argc, char **argv) {
  if (argc < 2 || is_help(argv[1])) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? CLI_ERROR : CLI_OK;
  }
  const char *sub = argv[1], *run = NULL, *file = "tuning_params.json",
             *strategy = "market_maker", *watch_run = "watch", *storage = NULL;
  int as_json = 0, poll = 0;
  double max_step = 0;
  for (int i = 2; i < argc; i++) {
    if (is_help(argv[i])) {
      usage(stdout);
      return CLI_OK;
    } else if (strcmp(argv[i], "--live-params") == 0 && i + 1 < argc) {
      file = argv[++i];
    } else if (strcmp(argv[i], "--storage") == 0 && i + 1 < argc) {
      storage = argv[++i];
    } else if (strcmp(argv[i], "--strategy") == 0 && i + 1 < argc) {
      strategy = argv[++i];
    } else if (strcmp(argv[i], "--run") == 0 && i + 1 < argc) {
      watch_run = argv[++i];
    } else if (strcmp(argv[i], "--max-step") == 0 && i + 1 < argc) {
      if (cli_parse_double("--max-step", argv[++i], &max_step)) return CLI_ERROR;
    } else if (strcmp(argv[i], "--json") == 0) {
      as_json = 1;
    } else if (strcmp(argv[i], "--poll") == 0) {
      poll = 1;
    } else if (argv[i][0] == '-') {
      return cli_failf("live %s: unknown option '%s' (see qtune live --help)", sub, argv[i]);
    } else if (!run) {
      run = argv[i];
    } else {
      return cli_failf("live %s: one %s only ('%s' is extra)", sub,
                       strcmp(sub, "check") && strcmp(sub, "watch") ? "RUN" : "FILE", argv[i]);
    }
  }
  if (strcmp(sub, "check") == 0 || strcmp(sub, "watch") == 0) {
    if (!run) return cli_failf("live %s: the FILE is missing", sub);
    return check_or_watch(sub[0] == 'w', run, strategy, watch_run, max_step, poll);
  }
  if (strcmp(sub, "history") != 0 && strcmp(sub, "revert") != 0)
    return cli_failf("live: unknown subcommand '%s' (history, revert, check, watch)", sub);
  if (!run) return cli_failf("live %s: the RUN name is missing", sub);
  if (storage && strcmp(sub, "history"))
    return cli_failf("live %s: --storage is for history only", sub);
  if (strcmp(sub, "history") == 0)
    return storage ? stored_history(storage, run, as_json) : history(file, run, as_json);
  qt_live_history_entry e;
  qt_err err;
  if (qt_live_revert(file, run, &e, &err)) return cli_fail(&err);
  char iso[40];
  qt_time_format(e.ts_ms, iso, sizeof iso);
  printf("reverted %s to the set of %s: %s\n", file, iso, e.params);
  return CLI_OK;
}
