/* qtune check-lookahead: runs a built-in or plugin strategy on the market
 * data and on copies cut at several points, and reports whether anything it
 * did before a cut depends on data after it (qt_lookahead_check).
 * Exit 0: none found; 1: look-ahead found (the first difference printed);
 * 2: error. */
#include "cli/commands.h"
#include "cli/market.h"
#include "cli/util.h"
#include "qtune/strategies.h"

#include <ctype.h>
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
          "  --params FILE|LIST     a params file (`name: value` lines, as `qtune best`\n"
          "                         writes) or a list name=value,name=value\n"
          "  --params-file FILE     the same, as in qtune backtest\n"
          "  --cuts N               cut points (default 8: 25%%, 50%%, 75%%, then random)\n"
          "  --seed N               seed of the random cuts (default 1)\n"
          "  --cash X               starting cash (default 10000)\n"
          "  --slippage-bps X       slippage of market and stop fills (default 0)\n"
          "  --leverage X           leverage cap, gross notional / equity (default 1; 0 = none)\n"
          "  --trade-on-close       market orders fill at the signal bar's close\n"
          "  --hedge-mode           long and short legs at once\n"
          "\nmarket options:\n%s",
          cli_market_help());
}

/* Sets parameter `name` of s in p from text (numbers, true/false, or a
 * categorical label); prints the error. */
static int set_param(const qt_strategy_vtbl *s, double *p, const char *name, size_t name_len,
                     const char *val) {
  char nm[128];
  if (name_len == 0 || name_len >= sizeof nm) return cli_failf("--param: bad parameter name");
  memcpy(nm, name, name_len);
  nm[name_len] = 0;
  int k = qt_strategy_param_index(s, nm);
  if (k < 0) return cli_failf("strategy '%s' has no parameter '%s'", s->name, nm);
  const qt_param_spec *ps = &s->params[k];
  while (isspace((unsigned char)*val)) val++;
  size_t vl = strlen(val);
  while (vl && isspace((unsigned char)val[vl - 1])) vl--;
  if (vl >= 2 && (val[0] == '"' || val[0] == '\'') && val[vl - 1] == val[0]) val++, vl -= 2;
  if (ps->type == QT_PARAM_CAT)
    for (size_t c = 0; c < ps->n_choices; c++)
      if (strlen(ps->choices[c]) == vl && strncmp(ps->choices[c], val, vl) == 0) {
        p[k] = (double)c;
        return 0;
      }
  if (vl == 4 && strncmp(val, "true", 4) == 0) return p[k] = 1, 0;
  if (vl == 5 && strncmp(val, "false", 5) == 0) return p[k] = 0, 0;
  double d;
  if (qt_parse_double(val, vl, &d) != 0)
    return cli_failf("parameter '%s': not a number (\"%.*s\")", nm, (int)vl, val);
  p[k] = d;
  return 0;
}

/* "name=value,name=value" */
static int set_list(const qt_strategy_vtbl *s, double *p, const char *list) {
  char buf[1024];
  if (strlen(list) >= sizeof buf) return cli_failf("--params: list too long");
  strcpy(buf, list);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '=');
    if (!eq) return cli_failf("--params: '%s' is not name=value", tok);
    while (isspace((unsigned char)*tok)) tok++;
    size_t nl = (size_t)(eq - tok);
    while (nl && isspace((unsigned char)tok[nl - 1])) nl--;
    if (set_param(s, p, tok, nl, eq + 1)) return CLI_ERROR;
  }
  return 0;
}

/* A flat YAML map: `name: value` per line, `#` comments, blank lines. */
static int set_file(const qt_strategy_vtbl *s, double *p, const char *path) {
  qt_err e;
  size_t len = 0;
  char *text = cli_read_file(path, &len, &e);
  if (!text) return cli_fail(&e);
  int rc = 0, line_no = 0;
  for (char *save = NULL, *ln = strtok_r(text, "\n", &save); ln && !rc;
       ln = strtok_r(NULL, "\n", &save)) {
    line_no++;
    char *hash = strchr(ln, '#');
    if (hash) *hash = 0;
    while (isspace((unsigned char)*ln)) ln++;
    if (!*ln || strncmp(ln, "---", 3) == 0) continue;
    char *colon = strchr(ln, ':');
    if (!colon) {
      rc = cli_failf("%s:%d: expected `name: value`", path, line_no);
      break;
    }
    size_t nl = (size_t)(colon - ln);
    while (nl && isspace((unsigned char)ln[nl - 1])) nl--;
    if (set_param(s, p, ln, nl, colon + 1)) {
      fprintf(stderr, "qtune: (in %s:%d)\n", path, line_no);
      rc = CLI_ERROR;
    }
  }
  free(text);
  return rc;
}

int cmd_check_lookahead(int argc, char **argv) {
  cli_market_opts mo;
  cli_market_opts_init(&mo);
  const char *strategy = NULL, *params_arg = NULL;
  const char *sets[64];
  int n_sets = 0;
  long cuts = 8, seed = 1;
  double cash = 10000, slip = 0, lev = NAN;
  int toc = 0, hedge = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return CLI_OK;
    }
    if (strcmp(a, "--trade-on-close") == 0 || strcmp(a, "--hedge-mode") == 0) {
      *(a[2] == 't' ? &toc : &hedge) = 1;
      continue;
    }
    int mr = cli_market_parse_arg(&mo, argc, argv, &i);
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
    } else if (strcmp(a, "--cash") == 0) {
      if (cli_parse_double(a, v, &cash)) return CLI_ERROR;
    } else if (strcmp(a, "--slippage-bps") == 0) {
      if (cli_parse_double(a, v, &slip)) return CLI_ERROR;
    } else if (strcmp(a, "--leverage") == 0) {
      if (cli_parse_double(a, v, &lev)) return CLI_ERROR;
    } else {
      return cli_failf("check-lookahead: unknown option %s (see --help)", a);
    }
  }
  if (!strategy) return cli_failf("check-lookahead: --strategy is required (see --help)");

  int rc = CLI_ERROR;
  qt_err e;
  qt_err_clear(&e);
  void *handle = NULL;
  cli_market mk;
  int have_market = 0;
  double *p = NULL;
  const qt_strategy_vtbl *s = qt_strategy_resolve(strategy, &handle, &e);
  if (!s) {
    rc = cli_fail(&e);
    goto done;
  }
  if (s->needs & QT_NEEDS_HEDGE) hedge = 1;
  p = calloc(s->n_params ? s->n_params : 1, sizeof *p);
  if (!p) {
    rc = cli_failf("out of memory");
    goto done;
  }
  qt_strategy_defaults(s, p);
  if (params_arg) {
    if (strchr(params_arg, '=') ? set_list(s, p, params_arg) : set_file(s, p, params_arg)) goto done;
  }
  for (int k = 0; k < n_sets; k++) {
    const char *eq = strchr(sets[k], '=');
    if (!eq) {
      rc = cli_failf("--param %s: expected NAME=VALUE", sets[k]);
      goto done;
    }
    if (set_param(s, p, sets[k], (size_t)(eq - sets[k]), eq + 1)) goto done;
  }
  if (qt_strategy_check_params(s, p, &e)) {
    rc = cli_fail(&e);
    goto done;
  }
  mo.want_second = (s->needs & QT_NEEDS_SECOND) || s->n_instruments > 1;
  if (cli_market_load(&mo, &mk, &e)) {
    rc = cli_fail(&e);
    goto done;
  }
  have_market = 1;
  qt_feed feeds[2];
  int nf = mk.n_feeds < 2 ? mk.n_feeds : 2;
  memcpy(feeds, mk.feeds, (size_t)nf * sizeof *feeds);
  /* --from/--to: the check runs on that range alone (a borrowed view) */
  qt_bars range = qt_bars_slice(mk.feeds[0].bars, mk.from_i, mk.feeds[0].bars->n);
  feeds[0].bars = &range;
  qt_lookahead_opts lo = qt_lookahead_opts_default();
  lo.n_cuts = (int)cuts;
  lo.seed = (uint64_t)seed;
  lo.engine.cash = cash;
  lo.engine.slippage_bps = slip;
  lo.engine.trade_on_close = toc;
  lo.engine.hedge_mode = hedge;
  if (!isnan(lev)) lo.engine.leverage_cap = lev;
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
  if (have_market) cli_market_free(&mk);
  qt_strategy_unload(handle);
  return rc;
}
