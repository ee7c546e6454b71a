/* `qtune backtest`: one backtest of a strategy with given params on market
 * data (catalog or file, see cli/market.h); prints the metrics as a table
 * or JSON and optionally writes the trade list and the equity curve. */
#include "cli/config_args.h"
#include "cli/market.h"
#include "cli/symbols.h"
#include "cli/tune_cli.h"
#include "cli/util.h"
#include "qtune/report.h"
#include "qtune/metrics.h"
#include "qtune/strategies.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BT_MAX_PARAMS 64

static void usage(void) {
  printf("usage: qtune backtest --strategy NAME [market options] [options]\n\n"
         "Runs one backtest and prints its metrics.\n\n"
         "%s\n"
         "strategy:\n"
         "  --strategy NAME        a built-in (see qtune strategies) or a plugin .so path\n"
         "  --params k=v,...|FILE  parameter values (others keep their defaults), or a\n"
         "                         params file: a flat YAML map or a JSON object\n"
         "  --params-file FILE     a params file (--params wins over it, and a\n"
         "                         strategy's parameter flags win over both)\n"
         "  --config FILE.yaml     the options as a YAML map, the keys of optimize's\n"
         "                         config (without --, `_` or `-`); keys only a study\n"
         "                         uses (trials, sampler, space, ...) are skipped; the\n"
         "                         command line wins\n\n"
         "simulation:\n%s\n"
         "  --buy-hold-from first|warmup  buy-and-hold buys at the first traded bar's\n"
         "                         close (default) or at the last warm-up bar's\n"
         "                         (backtesting.py's Buy & Hold Return)\n\n"
         "output:\n"
         "  --json                 print JSON instead of a table (warnings under\n"
         "                         \"warnings\", the metrics' units under \"metric_units\")\n"
         "  --breakdown K[,K..]    trades and P&L by exit (reason), side, day, week or\n"
         "                         month (of the exit), as tables or under \"breakdown\"\n"
         "  --trades FILE.csv      write the closed trades\n"
         "  --equity FILE.csv      write the equity curve\n"
         "  --orders FILE.csv      write every order the strategy submitted, replaced or\n"
         "                         cancelled\n"
         "  --record-outcomes      store the closed trades as signal outcomes (for qtune tune)\n"
         "  --storage URL          where --record-outcomes stores them (default $QTUNE_STORAGE,\n"
         "                         else " QT_STORAGE_DEFAULT_URL ")\n"
         "  --report FILE.html     write the HTML report: price with the trades, equity,\n"
         "                         drawdown, metrics, breakdowns, trades (docs/report.md)\n"
         "  --report-max-bars N    candles and points per chart before down-sampling\n"
         "                         (default 1000 candles, 2000 equity points; 0: every bar)\n"
         "\nExample:\n"
         "  qtune backtest --strategy sma_cross --catalog cat --symbol BTCUSDT --from 20260601\n"
         "\nExit status: 0 ok, 2 error.\n",
         cli_market_help(), cli_settings_help());
  cli_params_help(stdout);
}

static json_t *num_json(double v) { return isfinite(v) ? json_real(v) : json_null(); }


/* One of the report layer's CSV writers to path, through a temp file. */
static int write_csv(const char *path, int kind, const qt_result *r, const qt_market *m) {
  char tmp[4096];
  qt_err err;
  FILE *f = cli_open_tmp(path, tmp, sizeof tmp, &err);
  if (!f) return cli_fail(&err);
  int rc = kind == 0   ? qt_report_trades_csv(f, r, m->feeds, m->n_feeds, &err)
           : kind == 1 ? qt_report_orders_csv(f, r, m->feeds, m->n_feeds, &err)
                       : qt_report_equity_csv(f, r, &err);
  if (cli_commit(f, tmp, path, rc == QT_OK, &err) || rc) return cli_fail(&err);
  return 0;
}

/* The HTML report through a temp file; with `say`, a summary of what it
 * shows (the tuning guide's figures) and where it is. */
static int write_report(const char *path, const char *max_bars, const qt_strategy_vtbl *s,
                        const double *p, const qt_result *r, const qt_metrics *mt,
                        const qt_market *m, const qt_engine *e, int say) {
  qt_report_opts ro = qt_report_opts_default();
  long n;
  if (max_bars) {
    if (cli_parse_long("--report-max-bars", max_bars, &n)) return CLI_ERROR;
    if (n < 0) return cli_failf("--report-max-bars: must be >= 0 (got %ld)", n);
    ro.max_bars = ro.max_candles = (size_t)n;
  }
  char params[1024], desc[512];
  size_t len = 0;
  params[0] = 0;
  for (size_t k = 0; k < s->n_params && len < sizeof params; k++) {
    const qt_param_spec *ps = &s->params[k];
    int w = ps->type == QT_PARAM_CAT && (size_t)p[k] < ps->n_choices
                ? snprintf(params + len, sizeof params - len, "%s%s=%s", k ? " " : "", ps->name, ps->choices[(size_t)p[k]])
                : snprintf(params + len, sizeof params - len, "%s%s=%g", k ? " " : "", ps->name, p[k]);
    if (w > 0) len += (size_t)w;
  }
  qt_ind_used inds[16];
  size_t n_inds = qt_engine_indicators_used(e, inds, 16);
  qt_report_backtest bt = {.r = r, .bars = m->feeds[0].bars, .from_i = m->from_i, .m = mt,
                           .strategy = s->name, .params_text = params,
                           .market_text = qt_market_describe(m, desc, sizeof desc),
                           .inds = inds, .n_inds = n_inds < 16 ? n_inds : 16};
  char tmp[4096];
  qt_err err;
  FILE *f = cli_open_tmp(path, tmp, sizeof tmp, &err);
  if (!f) return cli_fail(&err);
  int rc = qt_report_backtest_html(&bt, &ro, f, &err);
  if (cli_commit(f, tmp, path, rc == QT_OK, &err) || rc) return cli_fail(&err);
  if (say) {
    int K[6] = {qt_metrics_index("sharpe"), qt_metrics_index("total_profit"), qt_metrics_index("calmar"),
                qt_metrics_index("max_drawdown"), qt_metrics_index("win_rate"), qt_metrics_index("trades")};
    double v[6];
    for (int k = 0; k < 6; k++) v[k] = K[k] >= 0 ? qt_metrics_get(mt, K[k]) : NAN;
    printf("\nsummary: Sharpe %.4g, total profit %.4g, Calmar %.4g, max drawdown %.2f%%, "
           "win rate %.2f%%, trades %.0f\n", v[0], v[1], v[2], v[3] * 100, v[4] * 100, v[5]);
    size_t per = qt_report_bars_per_candle(r->n_bars, &ro);
    if (per > 1)
      printf("report: %s (%zu bars down-sampled for display: %zu per candle)\n", path, r->n_bars, per);
    else
      printf("report: %s (all %zu bars drawn)\n", path, r->n_bars);
  }
  return 0;
}

/* --breakdown exit,month (or the flag repeated): the kinds as bits. */
static int cli_parse_breakdown(const char *v, unsigned *by) {
  char one[16];
  for (const char *t = v;;) {
    size_t n = strcspn(t, ",");
    int k;
    snprintf(one, sizeof one, "%.*s", (int)(n < sizeof one ? n : sizeof one - 1), t);
    if (qt_report_breakdown_parse(one, &k))
      return cli_failf("backtest: --breakdown: want exit, side, day, week or month (\"%s\")", v);
    *by |= 1u << k;
    if (!t[n]) return CLI_OK;
    t += n + 1;
  }
}

#define BT_MAX_GROUPS 4096

/* The --breakdown groups of r by each kind in `by` (a bit per QT_BREAKDOWN_*),
 * as tables on f or (jb non-NULL) as JSON arrays under jb. */
static int breakdowns(unsigned by, const qt_result *r, const char *ccy, FILE *f, json_t *jb) {
  static qt_breakdown_row rows[BT_MAX_GROUPS]; /* 400 KB: not on the stack */
  for (int k = QT_BREAKDOWN_EXIT; k <= QT_BREAKDOWN_MONTH; k++) {
    if (!(by & (1u << k))) continue;
    size_t n = 0;
    qt_err err;
    if (qt_report_breakdown(r, k, rows, BT_MAX_GROUPS, &n, &err)) return cli_fail(&err);
    if (!jb) {
      if (qt_report_breakdown_table(f, rows, n, k, ccy, &err)) return cli_fail(&err);
      continue;
    }
    json_t *a = json_array();
    for (size_t j = 0; j < n; j++) {
      json_t *o = json_object();
      json_object_set_new(o, qt_report_breakdown_name(k), json_string(rows[j].key));
      json_object_set_new(o, "trades", json_integer((json_int_t)rows[j].trades));
      json_object_set_new(o, "wins", json_integer((json_int_t)rows[j].wins));
      json_object_set_new(o, "pnl", json_real(rows[j].pnl));
      json_object_set_new(o, "fees", json_real(rows[j].fees));
      json_object_set_new(o, "avg_return", json_real(rows[j].return_sum / (double)rows[j].trades));
      json_object_set_new(o, "avg_duration_ms",
                          json_real(rows[j].duration_ms_sum / (double)rows[j].trades));
      json_array_append_new(a, o);
    }
    json_object_set_new(jb, qt_report_breakdown_name(k), a);
  }
  return CLI_OK;
}

static int print_json(const qt_strategy_vtbl *s, const double *p, const qt_result *r,
                      const qt_metrics *mt, const qt_market *m, const qt_report_warnings *w,
                      unsigned by) {
  json_t *o = json_object();
  json_object_set_new(o, "strategy", json_string(s->name));
  json_t *jp = json_object();
  for (size_t k = 0; k < s->n_params; k++) {
    const qt_param_spec *ps = &s->params[k];
    if (ps->type == QT_PARAM_CAT && (size_t)p[k] < ps->n_choices)
      json_object_set_new(jp, ps->name, json_string(ps->choices[(size_t)p[k]]));
    else if (ps->type == QT_PARAM_INT)
      json_object_set_new(jp, ps->name, json_integer((json_int_t)p[k]));
    else if (ps->type == QT_PARAM_BOOL)
      json_object_set_new(jp, ps->name, json_boolean(p[k] != 0));
    else
      json_object_set_new(jp, ps->name, json_real(p[k]));
  }
  json_object_set_new(o, "params", jp);
  char desc[512];
  json_object_set_new(o, "symbol", json_string(m->feeds[0].inst.symbol));
  json_object_set_new(o, "market", json_string(qt_market_describe(m, desc, sizeof desc)));
  json_object_set_new(o, "bars", json_integer((json_int_t)r->n_bars));
  json_object_set_new(o, "first_ms", json_integer(r->ts_ms[0]));
  json_object_set_new(o, "last_ms", json_integer(r->ts_ms[r->n_bars - 1]));
  json_t *jm = json_object();
  for (int k = 0; k < QT_METRICS_N; k++)
    json_object_set_new(jm, qt_metrics_name(k), num_json(qt_metrics_get(mt, k)));
  json_object_set_new(o, "metrics", jm);
  static const char *const k_units[] = {"ratio", "fraction", "money", "ms", "count"};
  json_t *ju = json_object(); /* what the plain numbers above are in */
  for (int k = 0; k < QT_METRICS_N; k++)
    json_object_set_new(ju, qt_metrics_name(k), json_string(k_units[qt_metrics_unit(k)]));
  json_object_set_new(o, "metric_units", ju);
  json_t *jw = json_array();
  for (int k = 0; k < w->n; k++) json_array_append_new(jw, json_string(w->text[k]));
  json_object_set_new(o, "warnings", jw);
  if (by) {
    json_t *jb = json_object();
    json_object_set_new(o, "breakdown", jb);
    if (breakdowns(by, r, NULL, NULL, jb)) {
      json_decref(o);
      return CLI_ERROR;
    }
  }
  json_object_set_new(o, "final_equity", num_json(r->final_equity));
  json_object_set_new(o, "start_cash", num_json(r->start_cash));
  json_object_set_new(o, "orders", json_integer((json_int_t)r->n_orders));
  json_object_set_new(o, "fills", json_integer((json_int_t)r->n_fills));
  json_object_set_new(o, "rejected", json_integer((json_int_t)r->n_rejected));
  json_object_set_new(o, "cancelled", json_integer((json_int_t)r->n_cancelled));
  json_object_set_new(o, "signals", json_integer((json_int_t)r->n_signals));
  json_object_set_new(o, "expired", json_integer((json_int_t)r->n_expired));
  json_object_set_new(o, "liquidated", json_boolean(r->liquidated));
  char *txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(o);
  if (!txt) return cli_failf("backtest: out of memory");
  puts(txt);
  free(txt);
  return 0;
}

/* ---- --config FILE.yaml: optimize's config keys ---- */

static const char *const k_bt_vals[] = {"--strategy", "--params", "--params-file", "--trades",
                                        "--equity", "--orders", "--breakdown", "--buy-hold-from",
                                        "--storage", "--report", "--report-max-bars"};
/* what only a study reads (qtune optimize --help) */
static const char *const k_study_only[] = {
    "--trials", "--jobs", "--sampler", "--study-name", "--seed", "--space",
    "--objective", "--direction", "--weights", "--constraints", "--objective-cmd",
    "--trial-timeout", "--retries", "--best-out", "--timeout", "--function", "--sampler-opts",
    "--search", "--holdout", "--test-from", "--holdout-top", "--lenient", "--deterministic",
    "--quiet"};

static int bt_key_kind(const char *opt) {
  for (size_t k = 0; k < sizeof k_bt_vals / sizeof k_bt_vals[0]; k++)
    if (!strcmp(opt, k_bt_vals[k])) return 1;
  if (!strcmp(opt, "--json") || !strcmp(opt, "--record-outcomes") || cli_settings_is_flag(opt))
    return 2;
  for (size_t k = 0; k < sizeof k_study_only / sizeof k_study_only[0]; k++)
    if (!strcmp(opt, k_study_only[k])) return 3;
  qt_engine_opts eo = qt_engine_opts_default();
  if (qt_engine_opts_set(&eo, opt, NULL, NULL) != QT_ENOTFOUND || cli_params_is_flag(opt)) return 1;
  qt_market_opts mo = qt_market_opts_default();
  char zero[] = "0", name[140];
  snprintf(name, sizeof name, "%s", opt);
  char *av[] = {name, zero, NULL};
  int i = 0;
  return cli_market_parse_arg(&mo, 2, av, &i) == 1 ? 1 : 0;
}

static const char *const k_bt_names[] = {
    "strategy", "params", "params_file", "trades", "equity", "orders", "breakdown",
    "buy_hold_from", "json", "catalog", "symbol", "from", "to", "timerange", "data", "format",
    "columns", "date_format", "allow_dirty", "fee_bps", "maker_bps", "taker_bps", "lot_size",
    "tick_size", "cash", "slippage_bps", "leverage", "trade_on_close", "hedge_mode",
    "no_close_at_end", "close_at_end", "trade_accounting", "storage", "record_outcomes", "report", "report_max_bars"};

static int run_backtest(int argc, char **argv);

int cmd_backtest(int argc, char **argv) {
  cli_argv av;
  if (cli_config_argv(argc, argv, bt_key_kind, k_bt_names, sizeof k_bt_names / sizeof k_bt_names[0],
                      &av) != CLI_OK)
    return CLI_ERROR;
  int rc = run_backtest(av.n, av.v);
  cli_argv_free(&av);
  return rc;
}

static int run_backtest(int argc, char **argv) {
  qt_market_opts mo = qt_market_opts_default();
  const char *params = NULL, *params_file = NULL,
             *trades_out = NULL, *equity_out = NULL, *orders_out = NULL, *storage_url = NULL,
             *report_out = NULL, *report_bars = NULL, *aggregate = NULL;
  int json = 0, rc = CLI_ERROR, record = 0, bh_warmup = 0;
  unsigned by = 0;
  qt_engine_opts eo = qt_engine_opts_default();
  qt_err err;
  qt_err_clear(&err);
  void *plugin = NULL;
  qt_market m;
  memset(&m, 0, sizeof m);
  qt_engine *e = NULL;
  double p[BT_MAX_PARAMS], flag_p[BT_MAX_PARAMS];
  unsigned char flag_set[BT_MAX_PARAMS] = {0};
  if (cli_wants_help(argc, argv)) {
    usage();
    return CLI_OK;
  }
  /* first: its parameter flags are options of this command line */
  const qt_strategy_vtbl *s = cli_strategy_from_args("backtest", argc, argv, &plugin);
  if (!s) return CLI_ERROR;
  if (s->n_params > BT_MAX_PARAMS) {
    cli_failf("backtest: strategy '%s' has more than %d parameters", s->name, BT_MAX_PARAMS);
    goto done;
  }
  qt_strategy_defaults(s, flag_p);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int mr = cli_market_parse_arg(&mo, argc, argv, &i);
    if (mr == 0) mr = cli_settings_parse_arg(&eo, argc, argv, &i);
    if (mr == 0) mr = cli_params_parse_flag(s, argc, argv, &i, flag_p, flag_set);
    if (mr == 1) continue;
    if (mr != 0) goto done;
    const char *seen_strategy;
    struct {
      const char *name, **dst;
    } const vals[] = {{"--strategy", &seen_strategy}, {"--params", &params},
                      {"--params-file", &params_file}, {"--trades", &trades_out},
                      {"--equity", &equity_out},      {"--orders", &orders_out},
                      {"--storage", &storage_url},    {"--report", &report_out},
                      {"--report-max-bars", &report_bars}, {"--aggregate", &aggregate}};
    size_t hit = 0;
    while (hit < sizeof vals / sizeof vals[0] && strcmp(a, vals[hit].name)) hit++;
    if (hit < sizeof vals / sizeof vals[0]) {
      if (i + 1 >= argc) {
        cli_failf("backtest: %s needs a value", a);
        goto done;
      }
      *vals[hit].dst = argv[++i];
    } else if (!strcmp(a, "--buy-hold-from")) {
      const char *v = i + 1 < argc ? argv[++i] : "";
      if (strcmp(v, "first") && strcmp(v, "warmup")) {
        cli_failf("backtest: --buy-hold-from: want first or warmup (\"%s\")", v);
        goto done;
      }
      bh_warmup = !strcmp(v, "warmup");
    } else if (!strcmp(a, "--breakdown")) {
      if (cli_parse_breakdown(i + 1 < argc ? argv[++i] : "", &by)) goto done;
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--record-outcomes")) {
      record = 1;
    } else {
      cli_failf("backtest: unknown option '%s' (see qtune backtest --help)", a);
      goto done;
    }
  }
  if (s->needs & QT_NEEDS_HEDGE) eo.hedge_mode = 1;
  qt_strategy_defaults(s, p);
  if (params_file && cli_params_parse(s, params_file, p, NULL)) goto done;
  if (params && cli_params_parse(s, params, p, NULL)) goto done;
  for (size_t k = 0; k < s->n_params; k++)
    if (flag_set[k]) p[k] = flag_p[k];
  if (qt_strategy_check_params(s, p, &err)) {
    cli_fail(&err);
    goto done;
  }
  if (mo.n_symbols > 1 || aggregate) { /* --symbol A,B: cmd_backtest_symbols.c */
    rc = cli_backtest_symbols(s, p, &mo, &eo, aggregate, json);
    goto done;
  }
  mo.want_second = (s->needs & QT_NEEDS_SECOND) != 0 || s->n_instruments > 1;
  mo.series = qt_market_series_for(s, &eo); /* only the series the run reads */
  if (qt_market_load(&mo, &m, &err)) {
    cli_fail(&err);
    goto done;
  }
  cli_market_print_warnings(&m);
  if (m.n_feeds < s->n_instruments) {
    cli_failf("backtest: strategy '%s' trades %d instruments; the data has %d", s->name,
              s->n_instruments, m.n_feeds);
    goto done;
  }
  if ((s->needs & QT_NEEDS_FUNDING) && !m.feeds[0].funding)
    fprintf(stderr, "qtune: warning: strategy '%s' uses funding, but the data has none\n", s->name);
  /* --from: earlier bars are history, not traded */
  eo.from = m.from_i;
  eo.log_orders = orders_out != NULL;
  eo.to = 0;
  if (qt_engine_new(&eo, &e, &err)) {
    cli_fail(&err);
    goto done;
  }
  qt_result r;
  if (qt_engine_run(e, m.feeds, m.n_feeds, s, p, &r, &err)) {
    cli_fail(&err);
    goto done;
  }
  qt_metrics mt;
  qt_metrics_opts mopt = qt_metrics_opts_default();
  if (bh_warmup) mopt.buy_hold_from = qt_metrics_buy_hold_from(s->lookback(p), m.from_i);
  if (qt_metrics_compute(&r, m.feeds[0].bars->close + m.from_i, &mopt, &mt, &err)) {
    cli_fail(&err);
    goto done;
  }
  if (trades_out && write_csv(trades_out, 0, &r, &m)) goto done;
  if (orders_out && write_csv(orders_out, 1, &r, &m)) goto done;
  if (equity_out && write_csv(equity_out, 2, &r, &m)) goto done;
  if (record && cli_record_outcomes(storage_url, s, p, &r, &m)) goto done;
  qt_report_bt rb = {.s = s, .params = p, .market = &m, .eo = &eo, .mo = mopt, .r = &r, .m = &mt};
  qt_report_warnings w;
  qt_report_bt_warnings(&rb, &w);
  if (json) {
    if (print_json(s, p, &r, &mt, &m, &w, by)) goto done;
  } else {
    char ccy[16];
    qt_report_quote_ccy(m.feeds[0].inst.symbol, ccy, sizeof ccy);
    if (qt_report_bt_table(stdout, &rb, &err)) {
      cli_fail(&err);
      goto done;
    }
    if (breakdowns(by, &r, ccy, stdout, NULL)) goto done;
  }
  fflush(stdout); /* the warnings after the table they are about */
  for (int k = 0; k < w.n; k++) fprintf(stderr, "qtune: warning: %s\n", w.text[k]);
  if (report_out && write_report(report_out, report_bars, s, p, &r, &mt, &m, e, !json)) goto done;
  rc = CLI_OK;
done:
  qt_engine_free(e);
  qt_market_free(&m);
  qt_strategy_unload(plugin);
  return rc;
}
