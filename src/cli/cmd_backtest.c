/* `qtune backtest`: one backtest of a strategy with given params on market
 * data (catalog or file, see cli/market.h); prints the metrics as a table
 * or JSON and optionally writes the trade list and the equity curve. */
#include "cli/market.h"
#include "cli/util.h"
#include "qtune/metrics.h"
#include "qtune/strategies.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define BT_MAX_PARAMS 64

static void usage(void) {
  printf("usage: qtune backtest --strategy NAME [market options] [options]\n\n"
         "Runs one backtest and prints its metrics.\n\n"
         "%s\n"
         "strategy:\n"
         "  --strategy NAME        a built-in (see qtune strategies) or a plugin .so path\n"
         "  --params k=v,...       parameter values (others keep their defaults)\n"
         "  --params-file F.yaml   a flat YAML map of parameter values (--params wins)\n\n"
         "simulation:\n"
         "  --cash X               starting cash, quote currency (default 10000)\n"
         "  --slippage-bps X       adverse slippage on market and stop fills (default 0)\n"
         "  --leverage X           leverage cap, gross notional / equity (default 1; 0 = none)\n"
         "  --trade-on-close       market orders fill at the signal bar's close\n"
         "  --hedge-mode           long and short legs at once\n"
         "  --no-close-at-end      leave positions open at the end of the data\n\n"
         "output:\n"
         "  --json                 print JSON instead of a table\n"
         "  --trades FILE.csv      write the closed trades\n"
         "  --equity FILE.csv      write the equity curve\n"
         "  --orders FILE.csv      write every order the strategy submitted, replaced or\n"
         "                         cancelled\n"
         "\nExample:\n"
         "  qtune backtest --strategy sma_cross --catalog cat --symbol BTCUSDT --from 20260601\n"
         "\nExit status: 0 ok, 2 error.\n",
         cli_market_help());
}

/* Parses one value for spec ps: numbers; bool true/false/yes/no/1/0;
 * categorical by label or index. */
static int parse_value(const qt_strategy_vtbl *s, const qt_param_spec *ps, const char *v,
                       double *out) {
  if (ps->type == QT_PARAM_BOOL) {
    if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1")) {
      *out = 1;
      return 0;
    }
    if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0")) {
      *out = 0;
      return 0;
    }
    return cli_failf("strategy '%s': parameter '%s' is a bool (true/false), got '%s'", s->name,
                     ps->name, v);
  }
  if (ps->type == QT_PARAM_CAT) {
    for (size_t c = 0; c < ps->n_choices; c++)
      if (strcmp(ps->choices[c], v) == 0) {
        *out = (double)c;
        return 0;
      }
  }
  if (qt_parse_double(v, strlen(v), out) != 0) {
    if (ps->type == QT_PARAM_CAT) {
      char list[512];
      size_t n = 0;
      list[0] = 0;
      for (size_t c = 0; c < ps->n_choices && n + 2 < sizeof list; c++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", c ? ", " : "", ps->choices[c]);
      return cli_failf("strategy '%s': parameter '%s': '%s' is not one of: %s", s->name, ps->name,
                       v, list);
    }
    return cli_failf("strategy '%s': parameter '%s': '%s' is not a number", s->name, ps->name, v);
  }
  return 0;
}

static int unknown_param(const qt_strategy_vtbl *s, const char *name) {
  char list[1024];
  size_t n = 0;
  list[0] = 0;
  for (size_t k = 0; k < s->n_params && n + 2 < sizeof list; k++)
    n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", k ? ", " : "", s->params[k].name);
  if (s->n_params == 0) snprintf(list, sizeof list, "(none)");
  return cli_failf("strategy '%s' has no parameter '%s'; valid: %s", s->name, name, list);
}

static int set_param(const qt_strategy_vtbl *s, double *p, const char *k, const char *v) {
  int idx = qt_strategy_param_index(s, k);
  if (idx < 0) return unknown_param(s, k);
  return parse_value(s, &s->params[idx], v, &p[idx]) ? CLI_ERROR : 0;
}

/* "k=v,k=v" */
static int parse_params(const qt_strategy_vtbl *s, const char *arg, double *p) {
  char buf[4096];
  if (strlen(arg) >= sizeof buf) return cli_failf("--params: too long");
  strcpy(buf, arg);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ') tok++;
    if (!*tok) continue;
    char *eq = strchr(tok, '=');
    if (!eq || eq == tok) return cli_failf("--params: '%s' is not name=value", tok);
    *eq = 0;
    char *end = eq - 1;
    while (end > tok && *end == ' ') *end-- = 0;
    if (set_param(s, p, tok, eq + 1)) return CLI_ERROR;
  }
  return 0;
}

/* A flat YAML map name: value. */
static int parse_params_file(const qt_strategy_vtbl *s, const char *path, double *p) {
  FILE *f = fopen(path, "rb");
  if (!f) return cli_failf("%s: cannot open", path);
  yaml_parser_t yp;
  if (!yaml_parser_initialize(&yp)) {
    fclose(f);
    return cli_failf("%s: cannot start the YAML parser", path);
  }
  yaml_parser_set_input_file(&yp, f);
  int rc = 0, depth = 0, done = 0;
  char key[256] = {0};
  int have_key = 0;
  while (!done && rc == 0) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&yp, &ev)) {
      rc = cli_failf("%s:%zu: %s", path, yp.problem_mark.line + 1,
                     yp.problem ? yp.problem : "YAML syntax error");
      break;
    }
    switch (ev.type) {
    case YAML_MAPPING_START_EVENT:
      if (++depth > 1) rc = cli_failf("%s:%zu: nested maps are not allowed (a flat name: value map)",
                                      path, ev.start_mark.line + 1);
      break;
    case YAML_SEQUENCE_START_EVENT:
      rc = cli_failf("%s:%zu: lists are not allowed (a flat name: value map)", path,
                     ev.start_mark.line + 1);
      break;
    case YAML_MAPPING_END_EVENT: depth--; break;
    case YAML_SCALAR_EVENT: {
      const char *v = (const char *)ev.data.scalar.value;
      if (depth != 1) {
        rc = cli_failf("%s:%zu: expected a map of name: value", path, ev.start_mark.line + 1);
      } else if (!have_key) {
        snprintf(key, sizeof key, "%s", v);
        have_key = 1;
      } else {
        have_key = 0;
        if (set_param(s, p, key, v)) {
          fprintf(stderr, "qtune: (in %s, line %zu)\n", path, ev.start_mark.line + 1);
          rc = CLI_ERROR;
        }
      }
      break;
    }
    case YAML_STREAM_END_EVENT: done = 1; break;
    default: break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&yp);
  fclose(f);
  return rc;
}

static json_t *num_json(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static void fmt_time(int64_t ms, char *buf, size_t cap) { qt_time_format(ms, buf, cap); }

static int write_trades(const char *path, const qt_result *r, const cli_market *m) {
  char tmp[4096];
  qt_err err;
  FILE *f = cli_open_tmp(path, tmp, sizeof tmp, &err);
  if (!f) return cli_fail(&err);
  fprintf(f, "inst,symbol,side,leg,entry_time,exit_time,entry_ms,exit_ms,qty,entry_price,"
             "exit_price,pnl,fees,funding,bars_held,exit_reason\n");
  for (size_t k = 0; k < r->n_trades; k++) {
    const qt_trade_rec *t = &r->trades[k];
    char a[40], b[40];
    fmt_time(t->entry_ms, a, sizeof a);
    fmt_time(t->exit_ms, b, sizeof b);
    const char *sym = t->inst >= 0 && t->inst < m->n_feeds ? m->feeds[t->inst].inst.symbol : "";
    fprintf(f, "%d,%s,%s,%s,%s,%s,%lld,%lld,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%lld,%s\n", t->inst,
            sym, t->side == QT_BUY ? "long" : "short", qt_leg_name(t->leg), a, b,
            (long long)t->entry_ms, (long long)t->exit_ms, t->qty, t->entry_price, t->exit_price,
            t->pnl, t->fees, t->funding, (long long)t->bars_held,
            qt_exit_reason_name(t->exit_reason));
  }
  if (cli_commit(f, tmp, path, 1, &err)) return cli_fail(&err);
  return 0;
}

static int write_orders(const char *path, const qt_result *r, const cli_market *m) {
  char tmp[4096];
  qt_err err;
  FILE *f = cli_open_tmp(path, tmp, sizeof tmp, &err);
  if (!f) return cli_fail(&err);
  fprintf(f, "time,ts_ms,action,id,inst,symbol,side,type,leg,qty,price,post_only,reduce_only,"
             "expire_ms\n");
  for (size_t k = 0; k < r->n_order_log; k++) {
    const qt_order_event *o = &r->order_log[k];
    char a[40];
    fmt_time(o->ts_ms, a, sizeof a);
    const char *sym = o->inst >= 0 && o->inst < m->n_feeds ? m->feeds[o->inst].inst.symbol : "";
    fprintf(f, "%s,%lld,%s,%lld,%d,%s,%s,%s,%s,%.10g,%.10g,%d,%d,%lld\n", a, (long long)o->ts_ms,
            qt_order_action_name(o->action), (long long)o->id, o->inst, sym,
            o->side == QT_BUY ? "buy" : "sell", qt_order_type_name(o->type), qt_leg_name(o->leg),
            o->qty, o->price, (o->flags & QT_ORDER_POST_ONLY) != 0,
            (o->flags & QT_ORDER_REDUCE_ONLY) != 0, (long long)o->expire_ms);
  }
  if (cli_commit(f, tmp, path, 1, &err)) return cli_fail(&err);
  return 0;
}

static int write_equity(const char *path, const qt_result *r) {
  char tmp[4096];
  qt_err err;
  FILE *f = cli_open_tmp(path, tmp, sizeof tmp, &err);
  if (!f) return cli_fail(&err);
  fprintf(f, "ts_ms,time,equity,exposure\n");
  for (size_t i = 0; i < r->n_bars; i++) {
    char a[40];
    fmt_time(r->ts_ms[i], a, sizeof a);
    fprintf(f, "%lld,%s,%.10g,%.6g\n", (long long)r->ts_ms[i], a, r->equity[i], r->exposure[i]);
  }
  if (cli_commit(f, tmp, path, 1, &err)) return cli_fail(&err);
  return 0;
}

static void print_table(const qt_strategy_vtbl *s, const double *p, const qt_result *r,
                        const qt_metrics *mt, const cli_market *m) {
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
  printf("\nmarket     %s, %zu bars, %s .. %s\n", m->feeds[0].inst.symbol, r->n_bars, a, b);
  printf("orders     %zu (fills %zu, rejected %zu, cancelled %zu)%s\n\n", r->n_orders, r->n_fills,
         r->n_rejected, r->n_cancelled, r->liquidated ? "  LIQUIDATED" : "");
  for (int k = 0; k < QT_METRICS_N; k++) printf("%-18s %14.6g\n", qt_metrics_name(k), qt_metrics_get(mt, k));
  printf("%-18s %14.6g\n", "final_equity", r->final_equity);
}

static int print_json(const qt_strategy_vtbl *s, const double *p, const qt_result *r,
                      const qt_metrics *mt, const cli_market *m) {
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
  json_object_set_new(o, "symbol", json_string(m->feeds[0].inst.symbol));
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
  cli_market_opts mo;
  cli_market_opts_init(&mo);
  const char *strategy = NULL, *params = NULL, *params_file = NULL, *trades_out = NULL,
             *equity_out = NULL, *orders_out = NULL;
  int json = 0, rc = CLI_ERROR;
  qt_engine_opts eo = qt_engine_opts_default();
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int mr = cli_market_parse_arg(&mo, argc, argv, &i);
    if (mr == 1) continue;
    if (mr != 0) return CLI_ERROR;
    int has_val = i + 1 < argc;
#define NEED_VAL()                                                          \
  do {                                                                      \
    if (!has_val) return cli_failf("backtest: %s needs a value", a);        \
  } while (0)
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage();
      return CLI_OK;
    } else if (!strcmp(a, "--strategy")) {
      NEED_VAL();
      strategy = argv[++i];
    } else if (!strcmp(a, "--params")) {
      NEED_VAL();
      params = argv[++i];
    } else if (!strcmp(a, "--params-file")) {
      NEED_VAL();
      params_file = argv[++i];
    } else if (!strcmp(a, "--cash")) {
      NEED_VAL();
      if (cli_parse_double(a, argv[++i], &eo.cash)) return CLI_ERROR;
      if (!(eo.cash > 0)) return cli_failf("backtest: --cash must be > 0");
    } else if (!strcmp(a, "--slippage-bps")) {
      NEED_VAL();
      if (cli_parse_double(a, argv[++i], &eo.slippage_bps)) return CLI_ERROR;
      if (!(eo.slippage_bps >= 0)) return cli_failf("backtest: --slippage-bps must be >= 0");
    } else if (!strcmp(a, "--leverage")) {
      NEED_VAL();
      if (cli_parse_double(a, argv[++i], &eo.leverage_cap)) return CLI_ERROR;
      if (!(eo.leverage_cap >= 0)) return cli_failf("backtest: --leverage must be >= 0");
    } else if (!strcmp(a, "--trade-on-close")) {
      eo.trade_on_close = 1;
    } else if (!strcmp(a, "--hedge-mode")) {
      eo.hedge_mode = 1;
    } else if (!strcmp(a, "--no-close-at-end")) {
      eo.close_at_end = 0;
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--trades")) {
      NEED_VAL();
      trades_out = argv[++i];
    } else if (!strcmp(a, "--equity")) {
      NEED_VAL();
      equity_out = argv[++i];
    } else if (!strcmp(a, "--orders")) {
      NEED_VAL();
      orders_out = argv[++i];
    } else {
      return cli_failf("backtest: unknown option '%s' (see qtune backtest --help)", a);
    }
#undef NEED_VAL
  }
  if (!strategy) return cli_failf("backtest: --strategy NAME is required (see qtune strategies)");

  qt_err err;
  qt_err_clear(&err);
  void *plugin = NULL;
  const qt_strategy_vtbl *s = qt_strategy_resolve(strategy, &plugin, &err);
  if (!s) {
    if (!err.msg[0])
      return cli_failf("backtest: unknown strategy '%s' (see qtune strategies)", strategy);
    return cli_fail(&err);
  }
  if (s->needs & QT_NEEDS_HEDGE) eo.hedge_mode = 1;
  cli_market m;
  memset(&m, 0, sizeof m);
  int market_loaded = 0;
  qt_engine *e = NULL;
  double p[BT_MAX_PARAMS];
  if (s->n_params > BT_MAX_PARAMS) {
    cli_failf("backtest: strategy '%s' has more than %d parameters", s->name, BT_MAX_PARAMS);
    goto done;
  }
  qt_strategy_defaults(s, p);
  if (params_file && parse_params_file(s, params_file, p)) goto done;
  if (params && parse_params(s, params, p)) goto done;
  if (qt_strategy_check_params(s, p, &err)) {
    cli_fail(&err);
    goto done;
  }
  mo.want_second = (s->needs & QT_NEEDS_SECOND) != 0 || s->n_instruments > 1;
  if (cli_market_load(&mo, &m, &err)) {
    cli_fail(&err);
    goto done;
  }
  market_loaded = 1;
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
  if (trades_out && write_trades(trades_out, &r, &m)) goto done;
  if (orders_out && write_orders(orders_out, &r, &m)) goto done;
  if (equity_out && write_equity(equity_out, &r)) goto done;
  if (json ? print_json(s, p, &r, &mt, &m) : (print_table(s, p, &r, &mt, &m), 0)) goto done;
  rc = CLI_OK;
done:
  qt_engine_free(e);
  if (market_loaded) cli_market_free(&m);
  qt_strategy_unload(plugin);
  return rc;
}
