/* `qtune hjb`: the background HJB optimization of the live tuning guide on a
 * historical window: the fitted model, the values of market_maker's params
 * and of the optimum, the gap, and the params a short search suggests.
 * The work is qt_hjb_optimize (src/validate/hjb.c); this parses and prints. */
#include "cli/market.h"
#include "cli/util.h"
#include "qtune/live.h"
#include "qtune/strategies.h"
#include "qtune/validate.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void) {
  printf("usage: qtune hjb --catalog C --symbol S [--params-file F] [options]\n\n"
         "Fits the market-making model (mid volatility sigma, fill intensity A e^-k delta)\n"
         "to the window's bars, solves the HJB equation for the optimal quotes, evaluates\n"
         "market_maker with the given params by the same recursion, and searches its seven\n"
         "tuning parameters for the heuristic closest to the optimum (docs/hjb.md).\n\n"
         "%s\n"
         "params:\n"
         "  --params-file F      market_maker params (a live params file, JSON or YAML)\n"
         "  --params k=v,...     params on the command line (win over the file)\n\n"
         "model:\n"
         "  --fit bars|trades    fit A and k to the bars' ranges (default) or to the trades\n"
         "                       stored beside them (against the quotes' mid when stored too)\n"
         "  --gamma G            risk aversion per unit of quote currency\n"
         "                       (default 1 / (1%% of equity))\n"
         "  --horizon SECONDS    the HJB horizon (default 300)\n"
         "  --equity CASH        sizes the lot and the limit (default 10000)\n"
         "  --maker-bps B        maker fee (default 2)   --taker-bps B  taker fee (default 5)\n\n"
         "search:\n"
         "  --trials N           heuristics tried (default 64; 0: none)\n"
         "  --sampler NAME       qtune sampler (default tpe)   --seed N (default 1)\n"
         "  --suggest-out FILE   write the suggested params as a live params file\n\n"
         "  --json               print JSON\n"
         "\nExample:\n"
         "  qtune hjb --catalog cat --symbol BTCUSDT --from 20240601 --params-file tuning_params.json\n"
         "\nExit status: 0 ok, 2 error.\n",
         cli_market_help());
}

/* The guide's seven; the adverse-selection ones are not searched (the
 * model's flow is symmetric, see qt_hjb_optimize). */
static void print_params(const qt_strategy_vtbl *s, const double *from, const double *to) {
  for (size_t k = 0; k < 7 && k < s->n_params; k++) {
    const char *nm = s->params[k].name;
    if (!strncmp(nm, "adverse_selection_", 18))
      printf("  %-36s %10.6g    (kept: the model has no adverse selection)\n", nm, from[k]);
    else
      printf("  %-36s %10.6g -> %.6g\n", nm, from[k], to[k]);
  }
}

static int print_json(const qt_strategy_vtbl *s, const qt_market *m, const double *p,
                      const qt_hjb_result *r) {
  char desc[512];
  json_t *o = json_object(), *mo = json_object(), *go = json_object(), *cur = json_object(),
         *sug = json_object();
  json_object_set_new(o, "market", json_string(qt_market_describe(m, desc, sizeof desc)));
  json_object_set_new(mo, "sigma", json_real(r->model.sigma));
  json_object_set_new(mo, "A", json_real(r->model.A));
  json_object_set_new(mo, "k", json_real(r->model.k));
  json_object_set_new(mo, "mid", json_real(r->model.mid));
  json_object_set_new(mo, "bars", json_integer((json_int_t)r->model.n_bars));
  json_object_set_new(mo, "interval_s", json_real(r->model.interval_s));
  json_object_set_new(mo, "fit_r2", json_real(r->model.fit_r2));
  json_object_set_new(o, "model", mo);
  json_object_set_new(go, "gamma", json_real(r->grid.gamma));
  json_object_set_new(go, "horizon_s", json_real(r->grid.horizon_s));
  json_object_set_new(go, "q_max", json_integer(r->grid.q_max));
  json_object_set_new(go, "lot", json_real(r->grid.lot));
  json_object_set_new(o, "grid", go);
  json_object_set_new(o, "heuristic_value", json_real(r->heuristic_value));
  json_object_set_new(o, "optimal_value", json_real(r->optimal_value));
  json_object_set_new(o, "gap_pct", json_real(r->gap_pct));
  json_object_set_new(o, "suggested_value", json_real(r->suggested_value));
  json_object_set_new(o, "suggested_gap_pct", json_real(r->suggested_gap_pct));
  json_object_set_new(o, "trials", json_integer((json_int_t)r->n_trials));
  for (size_t k = 0; k < s->n_params; k++) {
    json_object_set_new(cur, s->params[k].name, json_real(p[k]));
    json_object_set_new(sug, s->params[k].name, json_real(r->suggested[k]));
  }
  json_object_set_new(o, "params", cur);
  json_object_set_new(o, "suggested", sug);
  char *txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  json_decref(o);
  if (!txt) return cli_failf("hjb: out of memory");
  puts(txt);
  free(txt);
  return CLI_OK;
}

int cmd_hjb(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    usage();
    return CLI_OK;
  }
  const qt_strategy_vtbl *s = qt_strategy_find("market_maker");
  qt_market_opts mo = qt_market_opts_default();
  qt_hjb_opts ho = qt_hjb_opts_default();
  const char *params = NULL, *params_file = NULL, *suggest_out = NULL, *fit = "bars";
  int json = 0, rc = CLI_ERROR;
  qt_market m;
  memset(&m, 0, sizeof m);
  qt_err err;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int mr = cli_market_parse_arg(&mo, argc, argv, &i);
    if (mr == 1) continue;
    if (mr != 0) goto done;
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    double d;
    long l;
    if (!strcmp(a, "--json")) {
      json = 1;
      continue;
    }
    if (!v) {
      cli_failf("hjb: %s needs a value (see qtune hjb --help)", a);
      goto done;
    }
    i++;
    if (!strcmp(a, "--params")) params = v;
    else if (!strcmp(a, "--params-file")) params_file = v;
    else if (!strcmp(a, "--suggest-out")) suggest_out = v;
    else if (!strcmp(a, "--fit")) fit = v;
    else if (!strcmp(a, "--sampler")) ho.sampler = v;
    else if (!strcmp(a, "--gamma") || !strcmp(a, "--horizon") || !strcmp(a, "--equity") ||
             !strcmp(a, "--maker-bps") || !strcmp(a, "--taker-bps")) {
      if (cli_parse_double(a, v, &d)) goto done;
      if (!strcmp(a, "--gamma")) ho.gamma = d;
      else if (!strcmp(a, "--horizon")) ho.horizon_s = d;
      else if (!strcmp(a, "--equity")) ho.equity = d;
      else if (!strcmp(a, "--maker-bps")) ho.maker_bps = d;
      else ho.taker_bps = d;
    } else if (!strcmp(a, "--trials") || !strcmp(a, "--seed")) {
      if (cli_parse_long(a, v, &l)) goto done;
      if (l < 0) {
        cli_failf("hjb: %s must be >= 0", a);
        goto done;
      }
      if (!strcmp(a, "--trials")) ho.search_trials = (int)l;
      else ho.seed = (uint64_t)l;
    } else {
      cli_failf("hjb: unknown option '%s' (see qtune hjb --help)", a);
      goto done;
    }
  }
  double p[QT_HJB_MAX_PARAMS];
  qt_strategy_defaults(s, p);
  if (params_file) {
    /* a live params file (JSON) is checked as the runner checks it, with
     * the guide's messages; a YAML params file as backtest reads it */
    size_t len = 0;
    char *txt = cli_read_file(params_file, &len, &err);
    if (!txt) {
      cli_fail(&err);
      goto done;
    }
    size_t i = 0;
    while (i < len && (txt[i] == ' ' || txt[i] == '\n' || txt[i] == '\t' || txt[i] == '\r')) i++;
    int prc = i < len && txt[i] == '{'
                  ? qt_live_params_parse(s, txt, len, params_file, p, p, &err)
                  : qt_params_parse_text(s, txt, len, params_file, p, NULL, &err);
    free(txt);
    if (prc) {
      cli_fail(&err);
      goto done;
    }
  }
  if (params && cli_params_parse(s, params, p, NULL)) goto done;
  if (qt_live_params_check(s, p, &err)) {
    cli_fail(&err);
    goto done;
  }
  if (qt_market_load(&mo, &m, &err)) {
    cli_fail(&err);
    goto done;
  }
  cli_market_print_warnings(&m);
  if (strcmp(fit, "bars") && strcmp(fit, "trades")) {
    cli_failf("hjb: --fit must be bars or trades (got '%s')", fit);
    goto done;
  }
  qt_hjb_result r;
  const qt_bars *b = m.feeds[0].bars;
  int orc;
  if (!strcmp(fit, "trades")) {
    const qt_trades *tr = m.feeds[0].trades;
    if (!tr || tr->n == 0) {
      cli_failf("hjb: --fit trades: %s has no trades stored in the catalog",
                m.feeds[0].inst.symbol);
      goto done;
    }
    qt_hjb_model model;
    int64_t from_ms = b->ts_ms[m.from_i], to_ms = b->ts_ms[b->n - 1] + b->interval_ms;
    orc = qt_hjb_fit_trades(tr, m.feeds[0].quotes, from_ms, to_ms, &model, &err);
    if (orc == QT_OK) orc = qt_hjb_optimize_model(&model, p, &ho, &r, &err);
  } else {
    orc = qt_hjb_optimize(b, m.from_i, b->n, p, &ho, &r, &err);
  }
  if (orc) {
    cli_fail(&err);
    goto done;
  }
  if (suggest_out && qt_live_params_write(s, suggest_out, r.suggested, &err)) {
    cli_fail(&err);
    goto done;
  }
  if (json) {
    rc = print_json(s, &m, p, &r);
    goto done;
  }
  char desc[512];
  printf("market: %s\n", qt_market_describe(&m, desc, sizeof desc));
  char what[64];
  if (!strcmp(fit, "trades")) snprintf(what, sizeof what, "%zu trades", r.model.n_bars);
  else snprintf(what, sizeof what, "%zu bars of %g s", r.model.n_bars, r.model.interval_s);
  printf("fitted model (%s): sigma=%.6g per sqrt(s) (%.2f bps per sqrt(min)), "
         "A=%.6g fills/s, k=%.6g per price unit (1/k = %.2f bps), R^2=%.3f\n",
         what, r.model.sigma, r.model.sigma * sqrt(60.0) / r.model.mid * 1e4, r.model.A, r.model.k,
         1.0 / r.model.k / r.model.mid * 1e4, r.model.fit_r2);
  printf("grid: lot=%.6g units, inventory limit +-%d lots, gamma=%.6g, horizon=%g s\n", r.grid.lot,
         r.grid.q_max, r.grid.gamma, r.grid.horizon_s);
  printf("Background HJB Optimization Complete: Heuristic_Value=%.4f, Optimal_Value=%.4f, "
         "Gap=%.2f%%\n", r.heuristic_value, r.optimal_value, r.gap_pct);
  printf("suggested params (%zu trials, %s): Heuristic_Value=%.4f, Gap=%.2f%%%s\n", r.n_trials,
         ho.sampler, r.suggested_value, r.suggested_gap_pct,
         r.suggested_value > r.heuristic_value ? "" : " (none did better than the current set)");
  print_params(s, p, r.suggested);
  if (r.gap_pct > 10)
    printf("the gap is above 10%%: the guide's rule says retune from the optimal control\n");
  if (suggest_out) printf("wrote %s\n", suggest_out);
  rc = CLI_OK;
done:
  qt_market_free(&m);
  return rc;
}
