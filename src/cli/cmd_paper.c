/* `qtune paper`: a paper-trading run of a strategy on a feed (a replay of
 * the catalog, or the exchange's websocket messages on stdin, a FIFO or a
 * growing file), its state in the storage (a kill and a restart with the
 * same --name resumes), and the backtest's CSV files.  Parsing and wiring
 * only: the runner is qt_paper_* (src/live/paper.c). */
#include "cli/market.h"
#include "cli/paper.h"
#include "cli/util.h"
#include "qtune/live.h"
#include "qtune/report.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PP_MAX_PARAMS 64

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { g_stop = sig; }

static void usage(void) {
  printf("usage: qtune paper --strategy NAME --feed replay|-|PATH --name RUN [options]\n\n"
         "Paper-trades a strategy with the backtest's engine and fill model.  The run's\n"
         "state is committed to the storage as it goes: started again with the same\n"
         "--name (after a crash, kill -9 or SIGTERM) it resumes where it was.\n\n"
         "feed:\n"
         "  --feed replay          the catalog's bars (market options below) at --speed\n"
         "  --feed -               Binance websocket messages (one JSON per line) on stdin\n"
         "  --feed PATH            the same from a FIFO or a file that grows\n"
         "  --feed wss://...       a websocket client of the exchange's streams (reconnects,\n"
         "                         with a gap check after each reconnect)\n"
         "  --speed 1x|60x|max     replay pace (default max)\n"
         "  --idle-exit SECS       a followed file: end after SECS without new data\n"
         "  --perp                 stream symbols are perpetuals (funding from markPrice)\n"
         "  --symbol A[,B...]      the symbols (replay: from the catalog)\n\n"
         "%s\n"
         "strategy:\n"
         "  --strategy NAME        a built-in or a plugin .so path\n"
         "  --params k=v,...|FILE  parameter values; --params-file FILE a params file\n"
         "  --live-params FILE     a flat JSON file of param values, watched and hot-reloaded\n"
         "                         (replay and stream feeds; docs/live.md); --max-step PCT refuses a\n"
         "                         reload moving a param by more than PCT%%\n"
         "  --hjb-every SECS       market_maker: background HJB optimization every SECS (e.g.\n"
         "                         60 or 60s; default off); --hjb-trials N its search (64);\n"
         "                         --propose files a lasting gap's suggestion as pending\n"
         "                         adjustments (reason hjb_gap) for qtune tune review\n\n"
         "simulation:\n%s\n"
         "risk limits (breaches are logged and stored):\n"
         "  --risk-per-trade F     max notional of an entry, fraction of equity (cut to it)\n"
         "  --max-positions N      max symbols with an open position\n"
         "  --max-daily-loss F     refuse entries for the UTC day after losing F of equity\n\n"
         "storage and output:\n"
         "  --storage URL          sqlite:///file.db or postgresql://... (default $QTUNE_STORAGE\n"
         "                         or sqlite:///qtune.db); --no-storage keeps nothing\n"
         "  --name RUN             the run's name (required with a storage)\n"
         "  --commit-every N       commit after N bars (default: every 200 ms)\n"
         "  --trades/--equity/--orders FILE.csv  the backtest's CSV files (several symbols:\n"
         "                         FILE.<SYMBOL>.csv)\n"
         "  --quiet                no status line\n"
         "\nExample:\n"
         "  qtune paper --strategy sma_cross --feed replay --catalog cat --symbol BTCUSDT \\\n"
         "      --speed 60x --storage sqlite:///paper.db --name btc-week\n"
         "  websocat wss://stream.binance.com/ws/btcusdt@kline_1m | \\\n"
         "      qtune paper --strategy sma_cross --feed - --symbol BTCUSDT --name live1\n"
         "\nExit status: 0 done or stopped (SIGTERM/SIGINT: committed, resumable), 2 error.\n",
         cli_market_help(), cli_settings_help());
}

/* The status: one updated line on a terminal, plain lines when piped. */
typedef struct status_ud {
  int tty, quiet;
} status_ud;

static void on_status(void *ud, const qt_paper_status *st, int final) {
  const status_ud *u = ud;
  if (u->quiet && !final) return;
  char t[40] = "-";
  if (st->last_bar_ms) qt_time_format(st->last_bar_ms, t, sizeof t);
  char line[400];
  snprintf(line, sizeof line,
           "equity %.2f  pnl %+.2f  open %d  bars %zu  trades %zu  last bar %s  lag %.1fs  "
           "bad msgs %zu  breaches %zu",
           st->equity, st->pnl, st->open_positions, st->n_bars, st->n_trades, t,
           (double)st->lag_ms / 1000.0, st->feed.bad, st->n_breaches);
  if (u->tty && !final) fprintf(stderr, "\r%s\033[K", line);
  else fprintf(stderr, "%s%s\n", u->tty ? "\r" : "", line);
}

static int write_csv(const char *path, const char *sym, int n_syms, int kind, const qt_result *r,
                     const qt_feed *feeds, int n_feeds) {
  char name[4096];
  if (n_syms > 1) {
    const char *dot = strrchr(path, '.');
    size_t base = dot ? (size_t)(dot - path) : strlen(path);
    snprintf(name, sizeof name, "%.*s.%s%s", (int)base, path, sym, dot ? dot : "");
  } else {
    snprintf(name, sizeof name, "%s", path);
  }
  char tmp[4200];
  qt_err err;
  qt_err_clear(&err);
  FILE *f = cli_open_tmp(name, tmp, sizeof tmp, &err);
  if (!f) return cli_fail(&err);
  int rc = kind == 0   ? qt_report_trades_csv(f, r, feeds, n_feeds, &err)
           : kind == 1 ? qt_report_orders_csv(f, r, feeds, n_feeds, &err)
                       : qt_report_equity_csv(f, r, &err);
  if (cli_commit(f, tmp, name, rc == QT_OK, &err) || rc) return cli_fail(&err);
  return 0;
}

typedef struct pargs {
  const char *feed, *speed, *storage, *name, *params, *params_file, *live_params;
  double max_step, hjb_every_s;
  long hjb_trials;
  int propose;
  const char *trades, *equity, *orders;
  double risk_per_trade, max_daily_loss, idle_exit_s;
  long max_positions, commit_every;
  int no_storage, quiet, perp;
} pargs;

static int parse_args(int argc, char **argv, const qt_strategy_vtbl *s, qt_market_opts *mo,
                      qt_engine_opts *eo, double *flag_p, unsigned char *flag_set, pargs *a) {
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    int mr = cli_market_parse_arg(mo, argc, argv, &i);
    if (mr == 0) mr = cli_settings_parse_arg(eo, argc, argv, &i);
    if (mr == 0) mr = cli_params_parse_flag(s, argc, argv, &i, flag_p, flag_set);
    if (mr == 1) continue;
    if (mr != 0) return CLI_ERROR;
    const char *ignored;
    struct {
      const char *name, **dst;
    } const vals[] = {{"--strategy", &ignored},  {"--params", &a->params},
                      {"--params-file", &a->params_file}, {"--trades", &a->trades},
                      {"--equity", &a->equity},  {"--orders", &a->orders},
                      {"--feed", &a->feed},      {"--speed", &a->speed},
                      {"--storage", &a->storage}, {"--name", &a->name},
                      {"--live-params", &a->live_params}};
    size_t hit = 0;
    while (hit < sizeof vals / sizeof vals[0] && strcmp(o, vals[hit].name)) hit++;
    int need = hit < sizeof vals / sizeof vals[0] || !strcmp(o, "--risk-per-trade") ||
               !strcmp(o, "--max-daily-loss") || !strcmp(o, "--max-positions") ||
               !strcmp(o, "--commit-every") || !strcmp(o, "--idle-exit") ||
               !strcmp(o, "--max-step") || !strcmp(o, "--hjb-every") || !strcmp(o, "--hjb-trials");
    if (need && i + 1 >= argc) return cli_failf("paper: %s needs a value", o);
    if (hit < sizeof vals / sizeof vals[0]) *vals[hit].dst = argv[++i];
    else if (!strcmp(o, "--risk-per-trade")) { if (cli_parse_double(o, argv[++i], &a->risk_per_trade)) return CLI_ERROR; }
    else if (!strcmp(o, "--max-daily-loss")) { if (cli_parse_double(o, argv[++i], &a->max_daily_loss)) return CLI_ERROR; }
    else if (!strcmp(o, "--hjb-every")) {
      char buf[64];
      snprintf(buf, sizeof buf, "%s", argv[++i]);
      size_t n = strlen(buf);
      if (n > 1 && buf[n - 1] == 's') buf[n - 1] = '\0';
      if (cli_parse_double(o, buf, &a->hjb_every_s)) return CLI_ERROR;
      if (!(a->hjb_every_s >= 0.1)) return cli_failf("paper: --hjb-every: at least 0.1 s, not '%s'", argv[i]);
    }
    else if (!strcmp(o, "--hjb-trials")) { if (cli_parse_long(o, argv[++i], &a->hjb_trials)) return CLI_ERROR; }
    else if (!strcmp(o, "--propose")) a->propose = 1;
    else if (!strcmp(o, "--max-step")) { if (cli_parse_double(o, argv[++i], &a->max_step)) return CLI_ERROR; }
    else if (!strcmp(o, "--idle-exit")) { if (cli_parse_double(o, argv[++i], &a->idle_exit_s)) return CLI_ERROR; }
    else if (!strcmp(o, "--max-positions")) { if (cli_parse_long(o, argv[++i], &a->max_positions)) return CLI_ERROR; }
    else if (!strcmp(o, "--commit-every")) { if (cli_parse_long(o, argv[++i], &a->commit_every)) return CLI_ERROR; }
    else if (!strcmp(o, "--no-storage")) a->no_storage = 1;
    else if (!strcmp(o, "--quiet")) a->quiet = 1;
    else if (!strcmp(o, "--perp")) a->perp = 1;
    else return cli_failf("paper: unknown option '%s' (see qtune paper --help)", o);
  }
  return CLI_OK;
}

/* Loads one market per symbol for a replay (cli/paper.h). */
int cli_paper_load_markets(const qt_market_opts *mo, int want_second, qt_market *m, qt_paper_opts *po,
                        qt_err *err) {
  for (size_t k = 0; k < mo->n_symbols; k++) {
    qt_market_opts one = *mo;
    one.n_symbols = 1;
    memcpy(one.symbols[0], mo->symbols[k], sizeof one.symbols[0]);
    one.want_second = want_second;
    if (qt_market_load(&one, &m[k], err)) return CLI_ERROR;
    cli_market_print_warnings(&m[k]);
    po->replay_feeds[k] = m[k].feeds;
    po->replay_n_feeds[k] = m[k].n_feeds;
    po->replay_from[k] = m[k].from_i;
    po->replay_to[k] = m[k].to_i;
    po->symbols[k] = mo->symbols[k];
  }
  po->n_symbols = (int)mo->n_symbols;
  return CLI_OK;
}

int cmd_paper(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    usage();
    return CLI_OK;
  }
  void *plugin = NULL;
  const qt_strategy_vtbl *s = cli_strategy_from_args("paper", argc, argv, &plugin);
  if (!s) return CLI_ERROR;
  qt_err err;
  qt_err_clear(&err);
  int rc = CLI_ERROR, n_markets = 0;
  qt_market m[QT_MARKET_MAX_SYMBOLS];
  memset(m, 0, sizeof m);
  qt_storage st = {0};
  int st_open = 0;
  qt_paper *pp = NULL;
  qt_live_params *lp = NULL;
  qt_livefeed feed = {0};
  qt_market_opts mo = qt_market_opts_default();
  qt_engine_opts eo = qt_engine_opts_default();
  double p[PP_MAX_PARAMS], flag_p[PP_MAX_PARAMS];
  unsigned char flag_set[PP_MAX_PARAMS] = {0};
  pargs a;
  memset(&a, 0, sizeof a);
  if (s->n_params > PP_MAX_PARAMS) {
    cli_failf("paper: strategy '%s' has too many parameters", s->name);
    goto done;
  }
  qt_strategy_defaults(s, flag_p);
  if (parse_args(argc, argv, s, &mo, &eo, flag_p, flag_set, &a)) goto done;
  if (!a.feed) {
    cli_failf("paper: --feed replay|-|PATH is required");
    goto done;
  }
  if (s->needs & QT_NEEDS_HEDGE) eo.hedge_mode = 1;
  qt_strategy_defaults(s, p);
  if (a.params_file && cli_params_parse(s, a.params_file, p, NULL)) goto done;
  if (a.params && cli_params_parse(s, a.params, p, NULL)) goto done;
  for (size_t k = 0; k < s->n_params; k++)
    if (flag_set[k]) p[k] = flag_p[k];
  if (qt_strategy_check_params(s, p, &err)) {
    cli_fail(&err);
    goto done;
  }
  qt_paper_opts po = qt_paper_opts_default();
  po.strategy = qt_strategy_live_variant(s); /* per-decision lines at info */
  po.params = p;
  po.engine = eo;
  po.limits.risk_per_trade = a.risk_per_trade;
  po.limits.max_daily_loss = a.max_daily_loss;
  po.limits.max_positions = (int)a.max_positions;
  po.commit_every = a.commit_every;
  po.stop = &g_stop;
  char pjson[4096];
  po.params_json = qt_paper_params_json(s, p, pjson, sizeof pjson);
  po.feed_name = !strcmp(a.feed, "replay") ? "replay" : a.feed;
  double speed = 0;
  if (a.speed && qt_live_speed_parse(a.speed, &speed, &err)) {
    cli_fail(&err);
    goto done;
  }
  if (!strcmp(a.feed, "replay")) {
    if (!mo.catalog && !mo.data) {
      cli_failf("paper: --feed replay needs --catalog DIR --symbol S (or --data FILE)");
      goto done;
    }
    if (mo.n_symbols == 0 && mo.data) mo.n_symbols = 1, snprintf(mo.symbols[0], sizeof mo.symbols[0], "DATA");
    if (cli_paper_load_markets(&mo, (s->needs & QT_NEEDS_SECOND) != 0 || s->n_instruments > 1, m, &po, &err)) {
      if (err.msg[0]) cli_fail(&err);
      n_markets = (int)mo.n_symbols;
      goto done;
    }
    n_markets = po.n_symbols;
  } else {
    if (mo.n_symbols == 0) {
      cli_failf("paper: a stream feed needs --symbol S[,S2...] (the symbols to trade)");
      goto done;
    }
    if (s->n_instruments > 1 || (s->needs & QT_NEEDS_SECOND)) {
      cli_failf("paper: strategy '%s' needs two instruments; a stream feed gives one per symbol",
                s->name);
      goto done;
    }
    po.n_symbols = (int)mo.n_symbols;
    for (size_t k = 0; k < mo.n_symbols; k++) {
      po.symbols[k] = mo.symbols[k];
      po.inst[k] = qt_instrument_default(mo.symbols[k]);
      if (a.perp) po.inst[k].kind = QT_INST_PERP;
    }
  }
  if (!a.no_storage) {
    const char *url = a.storage ? a.storage : qt_storage_default_url();
    if (!a.name) {
      cli_failf("paper: --name RUN is required (the run's name in the storage; --no-storage "
                "for none)");
      goto done;
    }
    if (qt_storage_open(url, &st, &err)) {
      cli_fail(&err);
      goto done;
    }
    st_open = 1;
    po.storage = &st;
    po.name = a.name;
  }
  status_ud su = {isatty(2), a.quiet};
  po.status_ms = su.tty ? 500 : 10000; /* piped: a plain line every 10 s */
  po.on_status = on_status;
  po.ud = &su;
  if (a.live_params && cli_paper_live_open(s, a.live_params, a.name, a.max_step, p,
                                           eo.cash, &lp)) goto done;
  po.live_params = lp;
  po.hjb_every_ms = (int64_t)(a.hjb_every_s * 1000);
  po.hjb_trials = (int)a.hjb_trials;
  po.hjb_propose = a.propose;
  if (a.propose && !po.hjb_every_ms) {
    cli_failf("paper: --propose files the background HJB's suggestions: it needs --hjb-every");
    goto done;
  }
  if (qt_paper_open(&po, &pp, &err)) {
    cli_fail(&err);
    goto done;
  }
  if (!strcmp(a.feed, "replay")) {
    qt_live_replay_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.n = po.n_symbols;
    ro.speed = speed;
    ro.stop = &g_stop;
    for (int k = 0; k < ro.n; k++) {
      ro.bars[k] = m[k].feeds[0].bars;
      ro.symbols[k] = po.symbols[k];
      ro.from[k] = m[k].from_i;
      ro.to[k] = m[k].to_i;
      ro.skip_through_ms[k] = qt_paper_resume_ms(pp, k);
    }
    if (qt_livefeed_replay(&ro, &feed, &err)) {
      cli_fail(&err);
      goto done;
    }
  } else if (!strncmp(a.feed, "ws://", 5) || !strncmp(a.feed, "wss://", 6)) {
    qt_live_ws_opts wo = {a.feed, (int64_t)(a.idle_exit_s * 1000)};
    if (qt_livefeed_ws(&wo, &feed, &err)) {
      cli_fail(&err);
      goto done;
    }
  } else {
    qt_live_stream_opts so = {a.feed, (int64_t)(a.idle_exit_s * 1000)};
    if (qt_livefeed_stream(&so, &feed, &err)) {
      cli_fail(&err);
      goto done;
    }
  }
  struct sigaction sa, old_term, old_int;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGINT, &sa, &old_int);
  int run_rc = qt_paper_run(pp, &feed, &err);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGINT, &old_int, NULL);
  if (run_rc < 0) {
    cli_fail(&err);
    goto done;
  }
  if (g_stop) fprintf(stderr, "qtune: paper: stopped by signal %d; committed, resume with the same --name\n", (int)g_stop);
  for (int k = 0; k < po.n_symbols; k++) {
    qt_result r;
    qt_paper_result(pp, k, &r);
    int nf = 0;
    const qt_feed *fs = qt_paper_feeds(pp, k, &nf);
    if (!r.n_bars) continue;
    if (a.trades && write_csv(a.trades, po.symbols[k], po.n_symbols, 0, &r, fs, nf)) goto done;
    if (a.orders && write_csv(a.orders, po.symbols[k], po.n_symbols, 1, &r, fs, nf)) goto done;
    if (a.equity && write_csv(a.equity, po.symbols[k], po.n_symbols, 2, &r, fs, nf)) goto done;
  }
  qt_paper_symbol_sum sum[QT_MARKET_MAX_SYMBOLS + 1];
  int n = qt_paper_summary(pp, sum, QT_MARKET_MAX_SYMBOLS + 1);
  printf("%-12s %14s %12s %8s %8s %10s\n", "symbol", "equity", "pnl", "trades", "winrate", "position");
  for (int k = 0; k <= n; k++)
    printf("%-12s %14.2f %12.2f %8zu %7.1f%% %10.6g\n", sum[k].symbol, sum[k].equity, sum[k].pnl,
           sum[k].n_trades, 100 * sum[k].win_rate, k < n ? sum[k].position : NAN);
  qt_paper_status pst;
  qt_paper_status_get(pp, &pst);
  printf("feed: %zu messages, %zu events, %zu bad, %zu partial klines, %zu duplicates, %zu "
         "conflicts, %zu out of order; %zu risk breaches\n",
         pst.feed.messages, pst.feed.events, pst.feed.bad, pst.feed.partial, pst.duplicates,
         pst.conflicts, pst.out_of_order, pst.n_breaches);
  if (qt_livefeed_ws_reconnects(&feed) || qt_livefeed_ws_gaps(&feed))
    printf("websocket: %d reconnects, %zu gaps after a reconnect\n", qt_livefeed_ws_reconnects(&feed),
           qt_livefeed_ws_gaps(&feed));
  rc = CLI_OK;
done:
  qt_livefeed_close(&feed);
  qt_paper_free(pp);
  qt_live_params_free(lp); /* stops the watcher */
  if (st_open) qt_storage_close(&st);
  for (int k = 0; k < n_markets; k++) qt_market_free(&m[k]);
  qt_strategy_unload(plugin);
  return rc;
}
