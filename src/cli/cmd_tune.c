/* `qtune tune run|review|approve|revert|apply|effective|history|daemon` and
 * `qtune outcomes import|list`: argument parsing and wiring of the tune
 * layer (include/qtune/tune.h); the rules, the lifecycle, the report and the
 * notifications are the library's.  docs/tuner.md is the manual. */
#include "cli/tune_cli.h"
#include "cli/util.h"
#include "qtune/tune.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* Exit statuses: 0 ok; 1 refused (a review or apply of an adjustment in the
 * wrong state) or, for run, a notification that failed (the adjustments are
 * stored); 2 error. */

typedef struct targs {
  const char *storage, *config, *strategy, *window, *reviewer, *out, *now, *at, *catalog, *id;
  int json, dry_run, auto_apply, no_notify;
  long limit;
} targs;

static void tune_usage(void) {
  printf(
      "usage: qtune tune <command> [options]\n\n"
      "The auto-tuner: evaluates each strategy's recent signal outcomes, proposes bounded\n"
      "parameter adjustments and runs their review lifecycle (docs/tuner.md).\n\n"
      "commands:\n"
      "  run [--strategy S] [--window 7d] [--auto-apply] [--dry-run] [--no-notify]\n"
      "                         apply approved adjustments, evaluate, log proposals as PENDING,\n"
      "                         print the report and notify\n"
      "  review [--strategy S]  pending adjustments, newest first, with context and evidence\n"
      "  approve ID --reviewer NAME   pending -> approved\n"
      "  revert ID --reviewer NAME    pending -> reverted\n"
      "  apply                  approved -> applied (all of them)\n"
      "  effective STRATEGY [-o FILE] the params a bot runs with (defaults + applied), as a\n"
      "                         params file (flat YAML; JSON with --json)\n"
      "  history [--strategy S] [--limit N]  every adjustment, newest first\n"
      "  daemon --at HH:MM      run daily at HH:MM UTC (missed run once at start-up),\n"
      "                         printing each report (as JSON with --json);\n"
      "                         stops on SIGTERM or SIGINT\n\n"
      "options:\n"
      "  --storage URL          default $QTUNE_STORAGE, else " QT_STORAGE_DEFAULT_URL "\n"
      "  --config FILE          the tuner's YAML (thresholds, steps, mappings, notify)\n"
      "  --catalog DIR          market data for the backtest evidence\n"
      "  --json                 JSON output\n"
      "  --now TIME             the clock of run (for tests and replays of history)\n"
      "\nExample:\n"
      "  qtune tune run --config tuner.yaml && qtune tune review\n"
      "\nExit status: 0 ok; 1 refused (approve/revert/apply of an adjustment in another state)\n"
      "or, for run and daemon, a notification that failed (the adjustments are stored);\n"
      "2 error.\n");
}

static int parse(int argc, char **argv, int from, targs *a) {
  memset(a, 0, sizeof *a);
  for (int i = from; i < argc; i++) {
    const char *o = argv[i];
    struct {
      const char *name, **dst;
    } const vals[] = {{"--storage", &a->storage}, {"--config", &a->config},
                      {"--strategy", &a->strategy}, {"--window", &a->window},
                      {"--reviewer", &a->reviewer}, {"-o", &a->out},
                      {"--out", &a->out},          {"--now", &a->now},
                      {"--at", &a->at},            {"--catalog", &a->catalog}};
    size_t hit = 0;
    while (hit < sizeof vals / sizeof vals[0] && strcmp(o, vals[hit].name)) hit++;
    if (hit < sizeof vals / sizeof vals[0]) {
      if (i + 1 >= argc) return cli_failf("tune: %s needs a value", o);
      *vals[hit].dst = argv[++i];
    } else if (!strcmp(o, "--json")) a->json = 1;
    else if (!strcmp(o, "--dry-run")) a->dry_run = 1;
    else if (!strcmp(o, "--auto-apply")) a->auto_apply = 1;
    else if (!strcmp(o, "--no-notify")) a->no_notify = 1;
    else if (!strcmp(o, "--limit")) {
      if (i + 1 >= argc) return cli_failf("tune: --limit needs a value");
      if (cli_parse_long("--limit", argv[++i], &a->limit)) return CLI_ERROR;
    } else if (o[0] != '-' && !a->id) a->id = o;
    else return cli_failf("tune: unknown argument '%s' (see qtune tune --help)", o);
  }
  return CLI_OK;
}

static qt_tune_config g_cfg; /* large: static, one per process */

static int setup(const targs *a, qt_storage *s, qt_err *err) {
  qt_tune_config_default(&g_cfg);
  const char *cfg = a->config ? a->config : getenv("QTUNE_TUNE_CONFIG");
  if (cfg && cfg[0] && qt_tune_config_load(&g_cfg, cfg, err)) return cli_fail(err);
  if (a->catalog) snprintf(g_cfg.catalog, sizeof g_cfg.catalog, "%s", a->catalog);
  if (a->window && qt_duration_parse(a->window, &g_cfg.window_ms, err)) return cli_fail(err);
  if (qt_storage_open(a->storage ? a->storage : qt_storage_default_url(), s, err))
    return cli_fail(err);
  return CLI_OK;
}

static double scale_of(const char *strategy, const char *param) {
  const qt_tune_strategy *ts = qt_tune_config_find(&g_cfg, strategy);
  for (size_t k = 0; ts && k < ts->n_params; k++)
    if (!strcmp(ts->params[k].name, param)) return ts->params[k].display_scale;
  return 1;
}

static int64_t parse_now(const targs *a, int *bad) {
  int64_t t = 0;
  qt_err e = {0};
  *bad = 0;
  if (a->now && qt_time_parse(a->now, strlen(a->now), &t, &e)) {
    cli_failf("tune: --now: %s", e.msg);
    *bad = 1;
  }
  return t;
}

static int do_run(const targs *a, qt_storage *s) {
  int bad;
  qt_tune_run_opts o = qt_tune_run_opts_default();
  o.strategy = a->strategy;
  o.now_ms = parse_now(a, &bad);
  if (bad) return CLI_ERROR;
  o.dry_run = a->dry_run;
  o.auto_apply = a->auto_apply;
  qt_tune_report *r = malloc(sizeof *r);
  if (!r) return cli_failf("tune: out of memory");
  qt_err e = {0};
  int rc = CLI_OK;
  if (qt_tune_execute(s, &g_cfg, &o, r, &e)) {
    free(r);
    return cli_fail(&e);
  }
  if (!a->dry_run) {
    qt_tune_run run;
    memset(&run, 0, sizeof run);
    run.run_ms = r->run_ms;
    run.n_proposed = (int64_t)r->n_logged;
    run.n_applied = (int64_t)r->n_applied_first;
    qt_tune_report_summary(r, run.summary, sizeof run.summary);
    if (qt_tune_run_record(s, &run, NULL, &e)) rc = cli_fail(&e);
  }
  if (a->json) qt_tune_report_write_json(r, stdout, NULL);
  else qt_tune_report_write_text(r, stdout);
  fflush(stdout);
  if (rc == CLI_OK && !a->dry_run && !a->no_notify && qt_tune_notify(&g_cfg, r, NULL, &e)) {
    fprintf(stderr, "qtune: warning: %s (the adjustments are stored)\n", e.msg);
    rc = CLI_FINDINGS;
  }
  free(r);
  return rc;
}

static json_t *adj_json(const qt_adjustment *x) {
  char c[40], rv[40], ap[40];
  json_t *ev = json_loads(x->evidence_json, 0, NULL);
  return json_pack(
      "{s:I,s:s,s:s,s:f,s:f,s:s,s:s,s:f,s:f,s:f,s:f,s:I,s:b,s:s,s:s?,s:s?,s:s,s:s?,s:o}", "id",
      (json_int_t)x->id, "strategy_name", x->strategy, "parameter_name", x->parameter, "old_value",
      x->old_value, "new_value", x->new_value, "reason", x->reason, "metric_trigger",
      x->metric_trigger, "metric_value", isfinite(x->metric_value) ? x->metric_value : 0.0,
      "win_rate_7d", x->win_rate_7d, "total_pnl_7d", x->total_pnl_7d, "avg_pnl_7d", x->avg_pnl_7d,
      "total_signals_7d", (json_int_t)x->total_signals_7d, "clamped", x->clamped, "status",
      qt_adj_status_name(x->status), "reviewed_by", x->reviewed_by[0] ? x->reviewed_by : NULL,
      "reviewed_at", x->reviewed_ms ? qt_time_format(x->reviewed_ms, rv, sizeof rv) : NULL,
      "created_at", qt_time_format(x->created_ms, c, sizeof c), "applied_at",
      x->applied_ms ? qt_time_format(x->applied_ms, ap, sizeof ap) : NULL, "evidence",
      ev ? ev : json_object());
}

static void print_json_list(const qt_adjustment *v, size_t n) {
  json_t *arr = json_array();
  for (size_t k = 0; k < n; k++) json_array_append_new(arr, adj_json(&v[k]));
  char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
  json_decref(arr);
  if (s) puts(s);
  free(s);
}

static void print_adj(const qt_adjustment *x, int detail) {
  double sc = scale_of(x->strategy, x->parameter);
  char c[40];
  printf("#%" PRId64 " %s %s: %g -> %g%s  [%s]  %s\n", x->id, x->strategy, x->parameter,
         x->old_value * sc, x->new_value * sc, x->clamped ? " (clamped)" : "",
         qt_adj_status_name(x->status), qt_time_format(x->created_ms, c, sizeof c));
  if (x->reviewed_by[0]) {
    char rv[40];
    printf("    Reviewed: %s by %s at %s\n",
           x->status == QT_ADJ_REVERTED ? "reverted" : "approved", x->reviewed_by,
           qt_time_format(x->reviewed_ms, rv, sizeof rv));
  }
  if (x->applied_ms) {
    char ap[40];
    printf("    Applied: %s\n", qt_time_format(x->applied_ms, ap, sizeof ap));
  }
  if (!detail) return;
  printf("    Reason: %s\n", x->reason);
  printf("    Context: %" PRId64 " signals, %.1f%% WR, %s$%.2f total PnL, %.2f%% average PnL\n",
         x->total_signals_7d, x->win_rate_7d, x->total_pnl_7d < 0 ? "-" : "+",
         fabs(x->total_pnl_7d), x->avg_pnl_7d);
  char ev[600];
  qt_tune_evidence_text(x->evidence_json, ev, sizeof ev);
  printf("    Evidence: %s\n", ev[0] ? ev : "none");
}

static int do_list(const targs *a, qt_storage *s, unsigned mask, int detail) {
  qt_adjustment *v = NULL;
  size_t n = 0;
  qt_err e = {0};
  if (qt_adjustments_list(s, a->strategy, mask, &v, &n, &e)) return cli_fail(&e);
  if (a->limit > 0 && n > (size_t)a->limit) n = (size_t)a->limit;
  if (a->json) print_json_list(v, n);
  else if (!n) printf("%s\n", mask ? "no pending adjustments" : "no adjustments");
  else
    for (size_t k = 0; k < n; k++) print_adj(&v[k], detail);
  qt_free(v);
  return CLI_OK;
}

static int do_review(const targs *a, qt_storage *s, int approve) {
  const char *verb = approve ? "approve" : "revert";
  int64_t id = 0;
  if (!a->id || qt_parse_i64(a->id, strlen(a->id), &id) || id <= 0)
    return cli_failf("tune %s: give the adjustment's ID (see qtune tune review)", verb);
  if (!a->reviewer || !a->reviewer[0]) return cli_failf("tune %s: --reviewer NAME is required", verb);
  qt_err e = {0};
  int64_t now = 0;
  int bad;
  now = parse_now(a, &bad);
  if (bad) return CLI_ERROR;
  int r = qt_adjustment_review(s, id, approve, a->reviewer, now, &e);
  if (r) {
    cli_fail(&e);
    return r == QT_ESTATE ? CLI_FINDINGS : CLI_ERROR;
  }
  qt_adjustment x;
  if (qt_adjustment_get(s, id, &x, &e)) return cli_fail(&e);
  if (a->json) print_json_list(&x, 1);
  else printf("adjustment %" PRId64 " %s by %s\n", id, approve ? "approved" : "reverted", a->reviewer);
  return CLI_OK;
}

static int do_apply(const targs *a, qt_storage *s) {
  int bad;
  int64_t now = parse_now(a, &bad);
  if (bad) return CLI_ERROR;
  size_t n = 0;
  qt_err e = {0};
  if (qt_tune_apply_approved(s, now, &n, &e)) return cli_fail(&e);
  if (a->json) printf("{\"applied\": %zu}\n", n);
  else printf("%zu approved adjustment%s applied\n", n, n == 1 ? "" : "s");
  return CLI_OK;
}

static int do_effective(const targs *a, qt_storage *s) {
  if (!a->id) return cli_failf("tune effective: give the STRATEGY");
  const qt_tune_strategy *ts = qt_tune_config_find(&g_cfg, a->id);
  if (!ts)
    return cli_failf("tune effective: no rule mapping for strategy '%s' (declare it in --config)",
                     a->id);
  qt_err e = {0};
  if (!a->out) return qt_tune_effective_write(s, ts, a->json, stdout, &e) ? cli_fail(&e) : CLI_OK;
  char tmp[4096];
  FILE *f = cli_open_tmp(a->out, tmp, sizeof tmp, &e);
  if (!f) return cli_fail(&e);
  int r = qt_tune_effective_write(s, ts, a->json, f, &e);
  if (cli_commit(f, tmp, a->out, r == QT_OK, &e) || r) return cli_fail(&e);
  return CLI_OK;
}

static volatile sig_atomic_t g_stop;
static volatile int g_stop_flag;
static void on_signal(int sig) {
  g_stop = 1;
  g_stop_flag = 1;
}

static void daemon_report(void *ud, const qt_tune_report *r) {
  if (*(const int *)ud) qt_tune_report_write_json(r, stdout, NULL);
  else qt_tune_report_write_text(r, stdout);
  fflush(stdout);
}

static int do_daemon(const targs *a, qt_storage *s) {
  int at = 0;
  qt_err e = {0};
  if (!a->at) return cli_failf("tune daemon: --at HH:MM is required (UTC, e.g. 01:00)");
  if (qt_tune_parse_at(a->at, &at, &e)) return cli_fail(&e);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: a sleep wakes to see the flag */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  qt_tune_clock clk = qt_tune_clock_real(&g_stop_flag);
  fprintf(stderr, "qtune: tune daemon: daily at %s UTC\n", a->at);
  int r = qt_tune_daemon(s, &g_cfg, at, &clk, daemon_report, (void *)&a->json, &e);
  if (r) return cli_fail(&e);
  fprintf(stderr, "qtune: tune daemon: stopped\n");
  return CLI_OK;
}

int cmd_tune(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    tune_usage();
    return argc < 2 ? CLI_ERROR : CLI_OK;
  }
  if (cli_wants_help(argc - 1, argv + 1)) {
    tune_usage();
    return CLI_OK;
  }
  const char *sub = argv[1];
  static const char *const subs[] = {"run", "review", "approve", "revert", "apply",
                                     "effective", "history", "daemon"};
  size_t k = 0;
  while (k < sizeof subs / sizeof subs[0] && strcmp(sub, subs[k])) k++;
  if (k == sizeof subs / sizeof subs[0])
    return cli_failf("tune: unknown command '%s' (see qtune tune --help)", sub);
  targs a;
  if (parse(argc, argv, 2, &a)) return CLI_ERROR;
  if (a.id && k != 2 && k != 3 && k != 5)
    return cli_failf("tune %s: unexpected argument '%s'", sub, a.id);
  qt_storage s;
  qt_err e = {0};
  if (setup(&a, &s, &e)) return CLI_ERROR;
  int rc;
  switch (k) {
  case 0: rc = do_run(&a, &s); break;
  case 1: rc = do_list(&a, &s, 1u << QT_ADJ_PENDING, 1); break;
  case 2: rc = do_review(&a, &s, 1); break;
  case 3: rc = do_review(&a, &s, 0); break;
  case 4: rc = do_apply(&a, &s); break;
  case 5: rc = do_effective(&a, &s); break;
  case 6: rc = do_list(&a, &s, 0, 0); break;
  default: rc = do_daemon(&a, &s); break;
  }
  qt_storage_close(&s);
  return rc;
}

/* ---- qtune outcomes ---- */
static void outcomes_usage(void) {
  printf("usage: qtune outcomes import FILE.csv|FILE.json [--storage URL] [--json]\n"
         "       qtune outcomes list [--strategy S] [--from T] [--to T] [--storage URL] [--json]\n\n"
         "Signal outcomes the auto-tuner evaluates (docs/tuner.md).  import reads a CSV with\n"
         "the header strategy,symbol,signal_time,side,entry_time,entry_price,exit_time,\n"
         "exit_price,pnl,pnl_pct,status (optional params_version, key) or a JSON array of\n"
         "objects with those keys; each outcome has a stable key, so importing a file twice\n"
         "adds nothing.  At most 64 MiB and 1,000,000 outcomes per file.\n"
         "\nExample:\n  qtune outcomes import bot-week.csv\n"
         "\nExit status: 0 ok, 2 error (a bad row is named by file, line and field; nothing\n"
         "is stored then).\n");
}

int cmd_outcomes(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    outcomes_usage();
    return argc < 2 ? CLI_ERROR : CLI_OK;
  }
  int imp = !strcmp(argv[1], "import");
  if (!imp && strcmp(argv[1], "list"))
    return cli_failf("outcomes: unknown command '%s' (import or list)", argv[1]);
  const char *storage = NULL, *file = NULL, *strategy = NULL, *from = NULL, *to = NULL;
  int json = 0;
  for (int i = 2; i < argc; i++) {
    const char *o = argv[i];
    const char **dst = !strcmp(o, "--storage")    ? &storage
                       : !strcmp(o, "--strategy") ? &strategy
                       : !strcmp(o, "--from")     ? &from
                       : !strcmp(o, "--to")       ? &to
                                                  : NULL;
    if (dst) {
      if (i + 1 >= argc) return cli_failf("outcomes: %s needs a value", o);
      *dst = argv[++i];
    } else if (!strcmp(o, "--json")) json = 1;
    else if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
      outcomes_usage();
      return CLI_OK;
    } else if (o[0] != '-' && imp && !file) file = o;
    else return cli_failf("outcomes: unknown argument '%s' (see qtune outcomes --help)", o);
  }
  if (imp && !file) return cli_failf("outcomes import: give the FILE.csv or FILE.json");
  qt_err e = {0};
  int64_t t0 = INT64_MIN, t1 = INT64_MAX;
  if (from && qt_time_parse(from, strlen(from), &t0, &e)) return cli_fail(&e);
  if (to && qt_time_parse(to, strlen(to), &t1, &e)) return cli_fail(&e);
  qt_outcome *v = NULL;
  size_t n = 0, added = 0;
  if (imp && qt_tune_outcomes_read(file, &v, &n, &e)) return cli_fail(&e);
  qt_storage s;
  if (qt_storage_open(storage ? storage : qt_storage_default_url(), &s, &e)) {
    qt_free(v);
    return cli_fail(&e);
  }
  int rc = CLI_OK;
  if (imp) {
    if (qt_outcomes_insert(&s, v, n, &added, &e)) rc = cli_fail(&e);
    else if (json)
      printf("{\"file\": \"%s\", \"read\": %zu, \"added\": %zu, \"already_stored\": %zu}\n", file,
             n, added, n - added);
    else
      printf("%s: %zu outcomes read, %zu added, %zu already stored\n", file, n, added, n - added);
  } else if (qt_outcomes_list(&s, strategy, t0, t1, &v, &n, &e)) {
    rc = cli_fail(&e);
  } else {
    json_t *arr = json ? json_array() : NULL;
    for (size_t k = 0; k < n; k++) {
      char st[40];
      qt_time_format(v[k].signal_ms, st, sizeof st);
      if (arr)
        json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:f,s:f,s:s,s:s}", "id",
                                             (json_int_t)v[k].id, "strategy", v[k].strategy,
                                             "symbol", v[k].symbol, "signal_time", st, "side",
                                             v[k].side < 0 ? "short" : "long", "pnl", v[k].pnl,
                                             "pnl_pct", v[k].pnl_pct, "status",
                                             qt_outcome_status_name(v[k].status), "source",
                                             v[k].source));
      else
        printf("%s %s %s %s %s %+.2f (%+.2f%%) %s\n", st, v[k].strategy, v[k].symbol,
               v[k].side < 0 ? "short" : "long", qt_outcome_status_name(v[k].status), v[k].pnl,
               v[k].pnl_pct, v[k].source);
    }
    if (arr) {
      char *txt = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
      json_decref(arr);
      if (txt) puts(txt);
      free(txt);
    }
  }
  qt_free(v);
  qt_storage_close(&s);
  return rc;
}

/* ---- backtest --record-outcomes ---- */

int cli_record_outcomes(const char *url, const qt_strategy_vtbl *s, const double *p,
                        const qt_result *r, const qt_market *m) {
  char ver[40];
  qt_tune_params_version(p, s->n_params, ver, sizeof ver);
  qt_outcome *v = NULL;
  size_t n = 0, added = 0;
  qt_err e = {0};
  if (qt_tune_outcomes_from_result(r, m->feeds, m->n_feeds, s->name, ver, &v, &n, &e))
    return cli_fail(&e);
  qt_storage st;
  if (qt_storage_open(url ? url : qt_storage_default_url(), &st, &e)) {
    qt_free(v);
    return cli_fail(&e);
  }
  int rc = qt_outcomes_insert(&st, v, n, &added, &e) ? cli_fail(&e) : CLI_OK;
  if (rc == CLI_OK)
    fprintf(stderr, "qtune: recorded %zu outcomes of %s (params %s): %zu new\n", n, s->name, ver,
            added);
  qt_storage_close(&st);
  qt_free(v);
  return rc;
}
