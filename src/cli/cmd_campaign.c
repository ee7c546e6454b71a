/* `qtune campaign`: one paper campaign per parameter combination (a grid
 * or random samples of it), several at once; each result is a
 * tuning_results row (and, as the fallback, a JSON file); the top N by a
 * metric, a Markdown report, and the report's acceptance checks in the exit
 * status.  Parsing and wiring only (src/live/campaign.c runs them). */
#include "cli/market.h"
#include "cli/paper.h"
#include "cli/util.h"
#include "qtune/live.h"
#include "qtune/report.h"

#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CP_MAX_PARAMS 64

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { g_stop = sig; }

static void usage(void) {
  printf("usage: qtune campaign --strategy NAME --grid P=v1,v2,... [--grid ...] --feed F [options]\n\n"
         "Runs one paper campaign per combination of the --grid values (parameters not\n"
         "listed keep --params or their defaults), several at once, and stores one\n"
         "tuning_results row per campaign.\n\n"
         "combinations:\n"
         "  --grid NAME=V1,V2,...  a parameter's values (repeat for more parameters)\n"
         "  --mode grid|random     every combination (default) or --samples N of them\n"
         "  --samples N            random mode: how many (default 10); --seed N (default 1)\n"
         "  --params k=v,...|FILE  the other parameters\n\n"
         "feed (as qtune paper):\n"
         "  --feed replay|-|PATH   the catalog's bars (market options), stdin or a FIFO/file\n"
         "  --speed 1x|60x|max     replay pace (default max); --idle-exit SECS; --perp\n"
         "  --duration D           each campaign runs at most D of wall time (120s, 5m)\n"
         "  --jobs N               replay campaigns at once (default 2); a stream feeds all\n\n"
         "%s\n"
         "simulation:\n%s\n"
         "results:\n"
         "  --storage URL          where tuning_results go (default $QTUNE_STORAGE or\n"
         "                         sqlite:///qtune.db)\n"
         "  --require-db           a storage that cannot be reached fails the run\n"
         "  --json-out FILE        also write the results as JSON (always written when the\n"
         "                         storage failed without --require-db: default\n"
         "                         tuning_results-<session>.json)\n"
         "  --session ID           the session id (default: UTC time and pid)\n"
         "  --top N                rows of the top table (default 10); --rank-by pnl|winrate|\n"
         "                         trades|avg_pnl (default pnl)\n"
         "  --report FILE.md       the Markdown report\n"
         "\nExample:\n"
         "  qtune campaign --strategy spread_arbitrage --grid min_spread_bps=20,30,40 \\\n"
         "      --grid slippage_bps=3,5,10 --grid max_position_usd=800,1000,1200 --duration 120s \\\n"
         "      --feed replay --catalog cat --symbol BTCUSDT --storage postgresql://... \\\n"
         "      --require-db --report tuning.md\n"
         "\nExit status: 0 every acceptance check passed (at least 3 campaigns ran, none\n"
         "crashed, the ranking is sortable, the report exists), 1 a check failed, 2 error.\n",
         cli_market_help(), cli_settings_help());
}

typedef struct cargs {
  const char *feed, *speed, *storage, *json_out, *report, *session, *params, *mode, *rank_by;
  const char *duration;
  const char *grids[QT_CAMPAIGN_MAX_AXES];
  size_t n_grids;
  long samples, seed, jobs, top;
  double idle_exit_s;
  int require_db, perp;
} cargs;

static int parse_args(int argc, char **argv, const qt_strategy_vtbl *s, qt_market_opts *mo,
                      qt_engine_opts *eo, cargs *a) {
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    int mr = cli_market_parse_arg(mo, argc, argv, &i);
    if (mr == 0) mr = cli_settings_parse_arg(eo, argc, argv, &i);
    if (mr == 1) continue;
    if (mr != 0) return CLI_ERROR;
    const char *ignored;
    struct {
      const char *name, **dst;
    } const vals[] = {{"--strategy", &ignored}, {"--params", &a->params}, {"--feed", &a->feed},
                      {"--speed", &a->speed}, {"--storage", &a->storage},
                      {"--json-out", &a->json_out}, {"--report", &a->report},
                      {"--session", &a->session}, {"--mode", &a->mode},
                      {"--rank-by", &a->rank_by}, {"--duration", &a->duration}};
    struct {
      const char *name;
      long *dst;
    } const nums[] = {{"--samples", &a->samples}, {"--seed", &a->seed}, {"--jobs", &a->jobs},
                      {"--top", &a->top}};
    size_t hv = 0, hn = 0;
    while (hv < sizeof vals / sizeof vals[0] && strcmp(o, vals[hv].name)) hv++;
    while (hn < sizeof nums / sizeof nums[0] && strcmp(o, nums[hn].name)) hn++;
    int need = hv < sizeof vals / sizeof vals[0] || hn < sizeof nums / sizeof nums[0] ||
               !strcmp(o, "--grid") || !strcmp(o, "--idle-exit");
    if (need && i + 1 >= argc) return cli_failf("campaign: %s needs a value", o);
    if (hv < sizeof vals / sizeof vals[0]) *vals[hv].dst = argv[++i];
    else if (hn < sizeof nums / sizeof nums[0]) {
      if (cli_parse_long(o, argv[++i], nums[hn].dst)) return CLI_ERROR;
    } else if (!strcmp(o, "--grid")) {
      if (a->n_grids == QT_CAMPAIGN_MAX_AXES)
        return cli_failf("campaign: more than %d --grid", QT_CAMPAIGN_MAX_AXES);
      a->grids[a->n_grids++] = argv[++i];
    } else if (!strcmp(o, "--idle-exit")) {
      if (cli_parse_double(o, argv[++i], &a->idle_exit_s)) return CLI_ERROR;
    } else if (!strcmp(o, "--require-db")) a->require_db = 1;
    else if (!strcmp(o, "--perp")) a->perp = 1;
    else return cli_failf("campaign: unknown option '%s' (see qtune campaign --help)", o);
  }
  (void)s;
  return CLI_OK;
}

static int write_json(const char *path, const qt_tuning_result_rec *v, const int *ok, size_t n) {
  json_t *arr = json_array();
  for (size_t k = 0; k < n; k++) {
    const qt_tuning_result_rec *r = &v[k];
    json_t *o = json_object();
    json_object_set_new(o, "run_id", json_string(r->run_id));
    json_object_set_new(o, "session_id", json_string(r->session_id));
    json_object_set_new(o, "created_at", json_integer(r->created_ms));
    json_t *ps = json_loads(r->param_set, 0, NULL);
    json_object_set_new(o, "param_set", ps ? ps : json_string(r->param_set));
    json_object_set_new(o, "total_pnl", json_real(r->total_pnl));
    json_object_set_new(o, "total_trades", json_integer(r->total_trades));
    json_object_set_new(o, "total_entries", json_integer(r->total_entries));
    json_object_set_new(o, "total_exits", json_integer(r->total_exits));
    json_object_set_new(o, "winning_trades", json_integer(r->winning_trades));
    json_object_set_new(o, "losing_trades", json_integer(r->losing_trades));
    json_object_set_new(o, "winrate", json_real(r->winrate));
    json_object_set_new(o, "avg_pnl_per_trade", json_real(r->avg_pnl_per_trade));
    json_object_set_new(o, "campaign_id", json_integer(r->campaign_id));
    json_object_set_new(o, "duration_seconds", json_real(r->duration_seconds));
    json_object_set_new(o, "test_mode", json_boolean(r->test_mode));
    json_object_set_new(o, "symbols", json_string(r->symbols));
    json_object_set_new(o, "ok", json_boolean(ok[k]));
    json_array_append_new(arr, o);
  }
  char *txt = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(arr);
  if (!txt) return cli_failf("campaign: out of memory");
  qt_err err;
  qt_err_clear(&err);
  int rc = cli_write_file(path, txt, strlen(txt), &err);
  free(txt);
  return rc ? cli_fail(&err) : 0;
}

static int write_report(const char *path, const qt_campaign_report *cr) {
  char tmp[4200];
  qt_err err;
  qt_err_clear(&err);
  FILE *f = cli_open_tmp(path, tmp, sizeof tmp, &err);
  if (!f) return cli_fail(&err);
  int rc = qt_report_campaign_md(f, cr, &err);
  if (cli_commit(f, tmp, path, rc == QT_OK, &err) || rc) return cli_fail(&err);
  return 0;
}

/* The combinations' results: stored, JSON, ranked, reported, checked. */
static int finish(const cargs *a, const qt_strategy_vtbl *s, const qt_campaign_axis *axes,
                  const qt_campaign_opts *co, qt_tuning_result_rec *res, const int *ok,
                  int crashed, qt_storage *st, const char *url) {
  qt_err err;
  qt_err_clear(&err);
  int stored = 0;
  int64_t now = (int64_t)time(NULL) * 1000;
  for (size_t k = 0; k < co->n_combos; k++) res[k].created_ms = now;
  if (st) {
    if (qt_tuning_results_insert(st, res, co->n_combos, &err)) {
      if (a->require_db) return cli_fail(&err);
      fprintf(stderr, "qtune: warning: campaign: results not stored: %s\n", err.msg);
    } else {
      stored = 1;
    }
  }
  char def_json[128];
  const char *json_out = a->json_out;
  if (!stored && !json_out) {
    snprintf(def_json, sizeof def_json, "tuning_results-%s.json", co->session_id);
    json_out = def_json;
  }
  if (json_out && write_json(json_out, res, ok, co->n_combos)) return CLI_ERROR;
  int metric = 0;
  if (qt_campaign_metric(a->rank_by ? a->rank_by : "pnl", &metric, &err)) return cli_fail(&err);
  size_t *order = qt_malloc((co->n_combos ? co->n_combos : 1) * sizeof *order), n_order = 0;
  if (!order) return cli_failf("campaign: out of memory");
  int sortable = qt_campaign_rank(res, ok, co->n_combos, metric, order, &n_order, &err) == QT_OK;
  if (!sortable) fprintf(stderr, "qtune: campaign: %s\n", err.msg);
  size_t top = a->top > 0 ? (size_t)a->top : 10, n_ok = 0;
  for (size_t k = 0; k < co->n_combos; k++) n_ok += ok[k] != 0;
  printf("session %s: %zu campaigns, %zu ran%s%s\n", co->session_id, co->n_combos, n_ok,
         stored ? ", stored in tuning_results" : "", json_out ? ", JSON written" : "");
  printf("%4s %8s %12s %8s %8s  %s\n", "rank", "campaign", "pnl", "winrate", "trades", "params");
  for (size_t j = 0; sortable && j < n_order && j < top; j++) {
    const qt_tuning_result_rec *r = &res[order[j]];
    printf("%4zu %8lld %12.2f %7.1f%% %8lld  %s\n", j + 1, (long long)r->campaign_id, r->total_pnl,
           100 * r->winrate, (long long)r->total_trades, r->param_set);
  }
  int report_ok = 1;
  if (a->report) {
    const char *names[QT_CAMPAIGN_MAX_AXES];
    for (size_t k = 0; k < a->n_grids; k++) names[k] = axes[k].name;
    char syms[256];
    snprintf(syms, sizeof syms, "%s", res[0].symbols);
    char red[512];
    qt_campaign_report cr = {.strategy = s->name, .session_id = co->session_id,
                             .feed = a->feed, .symbols = syms,
                             .mode = a->mode ? a->mode : "grid",
                             .rank_by = a->rank_by ? a->rank_by : "pnl",
                             .storage = stored ? qt_storage_url_redact(url, red, sizeof red) : NULL,
                             .duration_s = (double)co->paper.max_wall_ms / 1000.0,
                             .top_n = top, .axis_names = names, .n_axes = a->n_grids,
                             .rows = res, .ok = ok, .n = co->n_combos, .order = order,
                             .n_order = sortable ? n_order : 0};
    report_ok = write_report(a->report, &cr) == 0 && access(a->report, F_OK) == 0;
  }
  qt_free(order);
  int c1 = n_ok >= 3, c2 = !crashed, c3 = sortable, c4 = report_ok;
  printf("acceptance: at least 3 campaigns ran: %s (%zu)\n", c1 ? "yes" : "NO", n_ok);
  printf("acceptance: no crash: %s\n", c2 ? "yes" : "NO (interrupted by a signal)");
  printf("acceptance: ranking sortable: %s\n", c3 ? "yes" : "NO");
  if (a->report) printf("acceptance: report written: %s (%s)\n", c4 ? "yes" : "NO", a->report);
  return c1 && c2 && c3 && c4 ? CLI_OK : CLI_FINDINGS;
}

int cmd_campaign(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    usage();
    return CLI_OK;
  }
  void *plugin = NULL;
  const qt_strategy_vtbl *s = cli_strategy_from_args("campaign", argc, argv, &plugin);
  if (!s) return CLI_ERROR;
  qt_err err;
  qt_err_clear(&err);
  int rc = CLI_ERROR, n_markets = 0, st_open = 0;
  qt_market m[QT_MARKET_MAX_SYMBOLS];
  memset(m, 0, sizeof m);
  qt_storage st = {0};
  double *combos = NULL;
  qt_tuning_result_rec *res = NULL;
  int *ok = NULL;
  qt_market_opts mo = qt_market_opts_default();
  qt_engine_opts eo = qt_engine_opts_default();
  cargs a;
  memset(&a, 0, sizeof a);
  a.samples = 10, a.seed = 1, a.jobs = 2;
  double base[CP_MAX_PARAMS];
  qt_campaign_axis axes[QT_CAMPAIGN_MAX_AXES];
  if (s->n_params > CP_MAX_PARAMS) {
    cli_failf("campaign: strategy '%s' has too many parameters", s->name);
    goto done;
  }
  if (parse_args(argc, argv, s, &mo, &eo, &a)) goto done;
  if (!a.feed || !a.n_grids) {
    cli_failf("campaign: --feed and at least one --grid NAME=V1,V2,... are required");
    goto done;
  }
  int metric0;
  if (qt_campaign_metric(a.rank_by ? a.rank_by : "pnl", &metric0, &err)) { /* before any run */
    cli_fail(&err);
    goto done;
  }
  int mode = QT_CAMPAIGN_GRID;
  if (a.mode && !strcmp(a.mode, "random")) mode = QT_CAMPAIGN_RANDOM;
  else if (a.mode && strcmp(a.mode, "grid")) {
    cli_failf("campaign: --mode \"%s\": grid or random", a.mode);
    goto done;
  }
  if (a.samples < 1 || a.jobs < 1 || a.top < 0) {
    cli_failf("campaign: --samples and --jobs must be >= 1, --top >= 0");
    goto done;
  }
  if (s->needs & QT_NEEDS_HEDGE) eo.hedge_mode = 1;
  qt_strategy_defaults(s, base);
  if (a.params && cli_params_parse(s, a.params, base, NULL)) goto done;
  for (size_t k = 0; k < a.n_grids; k++)
    if (qt_campaign_parse_axis(s, a.grids[k], &axes[k], &err)) {
      cli_fail(&err);
      goto done;
    }
  size_t n_combos = 0;
  if (qt_campaign_combos(s, base, axes, a.n_grids, mode, (size_t)a.samples, (uint64_t)a.seed,
                         &combos, &n_combos, &err)) {
    cli_fail(&err);
    goto done;
  }
  qt_campaign_opts co;
  memset(&co, 0, sizeof co);
  co.paper = qt_paper_opts_default();
  co.paper.strategy = s;
  co.paper.engine = eo;
  co.combos = combos;
  co.n_combos = n_combos;
  co.jobs = (int)a.jobs;
  co.stop = &g_stop;
  co.idle_exit_ms = (int64_t)(a.idle_exit_s * 1000);
  if (a.duration && qt_duration_parse(a.duration, &co.paper.max_wall_ms, &err)) {
    cli_fail(&err);
    goto done;
  }
  if (a.speed && qt_live_speed_parse(a.speed, &co.speed, &err)) {
    cli_fail(&err);
    goto done;
  }
  char session[64];
  if (a.session) {
    snprintf(session, sizeof session, "%s", a.session);
  } else {
    char t[40];
    qt_time_format((int64_t)time(NULL) * 1000, t, sizeof t);
    snprintf(session, sizeof session, "%.19s-%d", t, (int)getpid());
  }
  co.session_id = session;
  if (!strcmp(a.feed, "replay")) {
    if (!mo.catalog && !mo.data) {
      cli_failf("campaign: --feed replay needs --catalog DIR --symbol S (or --data FILE)");
      goto done;
    }
    if (mo.n_symbols == 0 && mo.data) mo.n_symbols = 1, snprintf(mo.symbols[0], sizeof mo.symbols[0], "DATA");
    n_markets = (int)mo.n_symbols;
    if (cli_paper_load_markets(&mo, (s->needs & QT_NEEDS_SECOND) != 0 || s->n_instruments > 1, m,
                               &co.paper, &err)) {
      if (err.msg[0]) cli_fail(&err);
      goto done;
    }
  } else {
    if (mo.n_symbols == 0) {
      cli_failf("campaign: a stream feed needs --symbol S[,S2...]");
      goto done;
    }
    co.stream_path = a.feed;
    co.paper.n_symbols = (int)mo.n_symbols;
    for (size_t k = 0; k < mo.n_symbols; k++) {
      co.paper.symbols[k] = mo.symbols[k];
      co.paper.inst[k] = qt_instrument_default(mo.symbols[k]);
      if (a.perp) co.paper.inst[k].kind = QT_INST_PERP;
    }
  }
  const char *url = a.storage ? a.storage : qt_storage_default_url();
  if (qt_storage_open(url, &st, &err)) {
    if (a.require_db) {
      cli_fail(&err);
      goto done;
    }
    fprintf(stderr, "qtune: warning: campaign: storage unavailable (%s); results go to JSON\n",
            err.msg);
  } else {
    st_open = 1;
  }
  res = qt_calloc(n_combos, sizeof *res);
  ok = qt_calloc(n_combos, sizeof *ok);
  if (!res || !ok) {
    cli_failf("campaign: out of memory");
    goto done;
  }
  struct sigaction sa, old_term, old_int;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGINT, &sa, &old_int);
  fprintf(stderr, "qtune: campaign %s: %zu combinations of %s\n", session, n_combos, s->name);
  int run_rc = qt_campaign_run(&co, res, ok, &err);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGINT, &old_int, NULL);
  if (run_rc) fprintf(stderr, "qtune: campaign: some campaigns failed: %s\n", err.msg);
  /* a campaign cut short by a signal did not finish: the "no crash" check */
  rc = finish(&a, s, axes, &co, res, ok, g_stop != 0, st_open ? &st : NULL, url);
done:
  qt_free(res);
  qt_free(ok);
  qt_free(combos);
  if (st_open) qt_storage_close(&st);
  for (int k = 0; k < n_markets; k++) qt_market_free(&m[k]);
  qt_strategy_unload(plugin);
  return rc;
}
