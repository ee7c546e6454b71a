/* `qtune backtest`: one backtest of a strategy with given params on market
 * data (catalog or file, see cli/market.h); prints the metrics as a table
 * or JSON and optionally writes the trade list and the equity curve. */
#include "cli/market.h"
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
         "                         strategy's parameter flags win over both)\n\n"
         "simulation:\n%s\n"
         "output:\n"
         "  --json                 print JSON instead of a table\n"
         "  --trades FILE.csv      write the closed trades\n"
         "  --equity FILE.csv      write the equity curve\n"
         "  --orders FILE.csv      write every order the strategy submitted, replaced or\n"
         "                         cancelled\n"
         "  --record-outcomes      store the closed trades as signal outcomes (for qtune tune)\n"
         "  --storage URL          where --record-outcomes stores them (default $QTUNE_STORAGE,\n"
         "                         else " QT_STORAGE_DEFAULT_URL ")\n"
         "\nExample:\n"
         "  qtune backtest --strategy sma_cross --catalog cat --symbol BTCUSDT --from 20260601\n"
         "\nExit status: 0 ok, 2 error.\n",
         cli_market_help(), cli_settings_help());
  cli_params_help(stdout);
}

static json_t *num_json(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static void fmt_time(int64_t ms, char *buf, size_t cap) { qt_time_format(ms, buf, cap); }

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

static void print_table(const qt_strategy_vtbl *s, const double *p, const qt_result *r,
                        const qt_metrics *mt, const qt_market *m) {
  char a[40], b[40];
  fmt_time(r->ts_ms[0], a, sizeof a);
  fmt_time(r->ts_ms[r->n_bars - 1], b, sizeof b);
  printf("strategy   %s\n", s->name);
  printf("params    ");
  for (size_t k = 0; k < s->n_params; k++) {
    const qt_param_spec *ps = &s->params[k];
    if (ps->type == QT_PARAM_CAT && (size_t)p[k] < ps->n_choices)
      printf(" %s=%s", ps->name, ps->choices[(size_t)p[k]]);
    else
      printf(" %s=%g", ps->name, p[k]);
  }
  char desc[512];
  printf("\nmarket     %s\n", qt_market_describe(m, desc, sizeof desc));
  printf("traded     %zu bars, %s .. %s\n", r->n_bars, a, b);
  printf("orders     %zu (fills %zu, rejected %zu, cancelled %zu)%s\n\n", r->n_orders, r->n_fills,
         r->n_rejected, r->n_cancelled, r->liquidated ? "  LIQUIDATED" : "");
  /* the column fits the longest name, max_drawdown_duration_ms; the final
   * equity is the metric equity_final */
  for (int k = 0; k < QT_METRICS_N; k++) printf("%-24s %14.6g\n", qt_metrics_name(k), qt_metrics_get(mt, k));
}

static int print_json(const qt_strategy_vtbl *s, const double *p, const qt_result *r,
                      const qt_metrics *mt, const qt_market *m) {
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

int cmd_backtest(int argc, char **argv) {
  qt_market_opts mo = qt_market_opts_default();
  const char *strategy = cli_find_strategy(argc, argv), *params = NULL, *params_file = NULL,
             *trades_out = NULL, *equity_out = NULL, *orders_out = NULL, *storage_url = NULL;
  int json = 0, rc = CLI_ERROR, record = 0;
  qt_engine_opts eo = qt_engine_opts_default();
  qt_err err;
  qt_err_clear(&err);
  void *plugin = NULL;
  qt_market m;
  memset(&m, 0, sizeof m);
  qt_engine *e = NULL;
  double p[BT_MAX_PARAMS], flag_p[BT_MAX_PARAMS];
  unsigned char flag_set[BT_MAX_PARAMS] = {0};
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage();
      return CLI_OK;
    }
  if (!strategy) return cli_failf("backtest: --strategy NAME is required (see qtune strategies)");
  /* first: its parameter flags are options of this command line */
  const qt_strategy_vtbl *s = qt_strategy_resolve(strategy, &plugin, &err);
  if (!s) {
    if (!err.msg[0])
      return cli_failf("backtest: unknown strategy '%s' (see qtune strategies)", strategy);
    return cli_fail(&err);
  }
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
                      {"--storage", &storage_url}};
    size_t hit = 0;
    while (hit < sizeof vals / sizeof vals[0] && strcmp(a, vals[hit].name)) hit++;
    if (hit < sizeof vals / sizeof vals[0]) {
      if (i + 1 >= argc) {
        cli_failf("backtest: %s needs a value", a);
        goto done;
      }
      *vals[hit].dst = argv[++i];
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
  if (qt_metrics_compute(&r, m.feeds[0].bars->close + m.from_i, &mopt, &mt, &err)) {
    cli_fail(&err);
    goto done;
  }
  if (trades_out && write_csv(trades_out, 0, &r, &m)) goto done;
  if (orders_out && write_csv(orders_out, 1, &r, &m)) goto done;
  if (equity_out && write_csv(equity_out, 2, &r, &m)) goto done;
  if (record && cli_record_outcomes(storage_url, s, p, &r, &m)) goto done;
  if (json ? print_json(s, p, &r, &mt, &m) : (print_table(s, p, &r, &mt, &m), 0)) goto done;
  rc = CLI_OK;
done:
  qt_engine_free(e);
  qt_market_free(&m);
  qt_strategy_unload(plugin);
  return rc;
}
