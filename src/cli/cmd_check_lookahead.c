/* qtune check-lookahead: runs a built-in or plugin strategy on the market
 * data and on copies cut at several points, and reports whether anything it
 * did before a cut depends on data after it (qt_lookahead_check).
 * Exit 0: none found; 1: look-ahead found (the first difference printed);
 * 2: error. */
#include "cli/commands.h"
#include "cli/market.h"
#include "cli/util.h"
#include "qtune/strategies.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: qtune check-lookahead --strategy NAME|PATH.so MARKET [options]\n"
          "\n"
          "Runs the strategy on the full data and on copies cut at several points (the\n"
          "rows past each cut poisoned in memory) and compares the orders, fills,\n"
          "signals, trades and equity before every cut.  Any difference means the\n"
          "strategy used data from after the bar it was deciding on.\n"
          "Example:\n"
          "  qtune check-lookahead --strategy sma_cross --catalog cat --symbol BTCUSDT\n"
          "Exit status: 0 no look-ahead found, 1 look-ahead found, 2 error.\n"
          "\n"
          "options:\n"
          "  --strategy S           a built-in name (qtune strategies) or a plugin .so path\n"
          "  --param NAME=VALUE     set one parameter (repeatable); the rest are defaults\n"
          "  --params FILE|LIST     a params file (a flat YAML map as `qtune best` writes,\n"
          "                         or a JSON object) or a list name=value,name=value\n"
          "  --params-file FILE     the same, as in qtune backtest\n"
          "  --cuts N               cut points (default 8: 25%%, 50%%, 75%%, then random)\n"
          "  --seed N               seed of the random cuts (default 1)\n"
          "%s"
          "\nmarket options:\n%s",
          cli_settings_help(), cli_market_help());
}

int cmd_check_lookahead(int argc, char **argv) {
  qt_market_opts mo = qt_market_opts_default();
  const char *strategy = NULL, *params_arg = NULL;
  const char *sets[64];
  int n_sets = 0;
  long cuts = 8, seed = 1;
  qt_lookahead_opts lo = qt_lookahead_opts_default();
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return CLI_OK;
    }
    int mr = cli_market_parse_arg(&mo, argc, argv, &i);
    if (mr == 0) mr = cli_settings_parse_arg(&lo.engine, argc, argv, &i);
    if (mr == 1) continue;
    if (mr != 0) return CLI_ERROR;
    if (i + 1 >= argc) return cli_failf("check-lookahead: %s: unknown option or missing value", a);
    const char *v = argv[++i];
    if (strcmp(a, "--strategy") == 0) strategy = v;
    else if (strcmp(a, "--params") == 0 || strcmp(a, "--params-file") == 0) params_arg = v;
    else if (strcmp(a, "--param") == 0) {
      if (n_sets == 64) return cli_failf("--param: at most 64");
      sets[n_sets++] = v;
    } else if (strcmp(a, "--cuts") == 0) {
      if (cli_parse_long(a, v, &cuts)) return CLI_ERROR;
      if (cuts < 1 || cuts > 64) return cli_failf("--cuts: %ld is outside 1..64", cuts);
    } else if (strcmp(a, "--seed") == 0) {
      if (cli_parse_long(a, v, &seed)) return CLI_ERROR;
    } else {
      return cli_failf("check-lookahead: unknown option %s (see --help)", a);
    }
  }
  if (!strategy) return cli_failf("check-lookahead: --strategy is required (see --help)");

  int rc = CLI_ERROR;
  qt_err e;
  qt_err_clear(&e);
  void *handle = NULL;
  qt_market mk;
  memset(&mk, 0, sizeof mk);
  double *p = NULL;
  const qt_strategy_vtbl *s = qt_strategy_resolve(strategy, &handle, &e);
  if (!s) {
    rc = cli_fail(&e);
    goto done;
  }
  if (s->needs & QT_NEEDS_HEDGE) lo.engine.hedge_mode = 1;
  p = calloc(s->n_params ? s->n_params : 1, sizeof *p);
  if (!p) {
    rc = cli_failf("out of memory");
    goto done;
  }
  qt_strategy_defaults(s, p);
  if (params_arg && cli_params_parse(s, params_arg, p, NULL)) goto done;
  for (int k = 0; k < n_sets; k++) {
    if (!strchr(sets[k], '=')) {
      rc = cli_failf("--param %s: expected NAME=VALUE", sets[k]);
      goto done;
    }
    if (cli_params_parse(s, sets[k], p, NULL)) goto done;
  }
  if (qt_strategy_check_params(s, p, &e)) {
    rc = cli_fail(&e);
    goto done;
  }
  mo.want_second = (s->needs & QT_NEEDS_SECOND) || s->n_instruments > 1;
  mo.series = qt_market_series_for(s, &lo.engine); /* only the series the run reads */
  if (qt_market_load(&mo, &mk, &e)) {
    rc = cli_fail(&e);
    goto done;
  }
  cli_market_print_warnings(&mk);
  qt_feed feeds[2];
  int nf = mk.n_feeds < 2 ? mk.n_feeds : 2;
  memcpy(feeds, mk.feeds, (size_t)nf * sizeof *feeds);
  /* --from/--to: the check runs on that range alone (a borrowed view) */
  qt_bars range = qt_bars_slice(mk.feeds[0].bars, mk.from_i, mk.feeds[0].bars->n);
  feeds[0].bars = &range;
  lo.n_cuts = (int)cuts;
  lo.seed = (uint64_t)seed;
  qt_lookahead_report rep;
  if (qt_lookahead_check(s, p, feeds, nf, &lo, &rep, &e)) {
    rc = cli_fail(&e);
    goto done;
  }
  if (rep.found) {
    printf("look-ahead found: %s\n", rep.what);
    rc = CLI_FINDINGS;
  } else {
    printf("no look-ahead found: strategy '%s', %zu cuts, %zu runs over %zu bars\n", s->name,
           rep.n_cuts, rep.n_runs, feeds[0].bars->n);
    rc = CLI_OK;
  }
done:
  free(p);
  qt_market_free(&mk);
  qt_strategy_unload(handle);
  return rc;
}
