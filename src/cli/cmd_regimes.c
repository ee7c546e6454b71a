/* qtune regimes: the market's bars labeled by regime (the library's rules or
 * a ranges file), and a backtest's (or a study's best's) metrics per regime. */
#include "cli/cmd_study.h"
#include "cli/commands.h"
#include "cli/market.h"
#include "cli/util.h"
#include "qtune/strategies.h"
#include "qtune/validate.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char k_help[] =
    "usage: qtune regimes MARKET [--strategy S [--params k=v,..|--params-file F]]\n"
    "       qtune regimes --study-name S [--storage URL]\n"
    "       [--window 360] [--ranges FILE.csv] [--json]\n"
    "Labels every bar trend-up, trend-down, range or high-volatility by causal\n"
    "rules over the last --window bars (docs/validate.md), or from a file of\n"
    "`from,to,regime` lines, and shows each regime's share; with a strategy (or a\n"
    "study's best, on the study's own market) the backtest's return, Sharpe and\n"
    "trades per regime.\n"
    "Example:\n"
    "  qtune regimes --catalog cat --symbol AVAXUSDT --strategy hedge_grid --params-file hg.yaml\n"
    "Exit status: 0 ok, 2 error.\n"
    "market:";

static void print_table(const char *json) {
  json_t *j = json_loads(json, 0, NULL), *r;
  size_t i;
  int run = json_object_get(json_array_get(json_object_get(j, "regimes"), 0), "sharpe") != NULL;
  printf("%lld bars, %lld labeled\n", (long long)json_integer_value(json_object_get(j, "bars")),
         (long long)json_integer_value(json_object_get(j, "labeled")));
  printf("%-16s %8s %7s %7s", "regime", "bars", "share", "spells");
  if (run) printf(" %10s %8s %7s %12s", "return", "sharpe", "trades", "P&L");
  printf("\n");
  json_array_foreach(json_object_get(j, "regimes"), i, r) {
    printf("%-16s %8lld %6.1f%% %7lld", json_string_value(json_object_get(r, "regime")),
           (long long)json_integer_value(json_object_get(r, "bars")),
           100 * json_number_value(json_object_get(r, "share")),
           (long long)json_integer_value(json_object_get(r, "spells")));
    if (run) {
      json_t *tr = json_object_get(r, "total_return"), *sh = json_object_get(r, "sharpe");
      char a[32] = "-", b[32] = "-";
      if (json_is_number(tr)) snprintf(a, sizeof a, "%.2f%%", 100 * json_number_value(tr));
      if (json_is_number(sh)) snprintf(b, sizeof b, "%.2f", json_number_value(sh));
      printf(" %10s %8s %7lld %12.2f", a, b, (long long)json_integer_value(json_object_get(r, "trades")),
             json_number_value(json_object_get(r, "pnl")));
    }
    printf("\n");
  }
  json_decref(j);
}

int cmd_regimes(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    fputs(k_help, stdout);
    fputs(cli_market_help(), stdout);
    return CLI_OK;
  }
  const char *sname = cli_find_strategy(argc, argv), *params = NULL, *pfile = NULL;
  const char *study = NULL, *url = NULL, *ranges = NULL;
  int as_json = 0, rc = CLI_ERROR, have_m = 0;
  long window = 0;
  qt_err e;
  void *plugin = NULL;
  const qt_strategy_vtbl *s = sname ? qt_strategy_resolve(sname, &plugin, &e) : NULL;
  if (sname && !s) return cli_fail(&e);
  qt_market_opts mo = qt_market_opts_default();
  qt_engine_opts eo = qt_engine_opts_default();
  qt_market mk;
  memset(&mk, 0, sizeof mk);
  qt_study_rerun x;
  memset(&x, 0, sizeof x);
  qt_study *st = NULL;
  qt_engine *eng = NULL;
  double *p = NULL;
  uint8_t *lab = NULL;
  char *buf = NULL, *text = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int mr = cli_market_parse_arg(&mo, argc, argv, &i);
    if (mr == 0) mr = cli_settings_parse_arg(&eo, argc, argv, &i);
    if (mr == 1) continue;
    if (mr != 0) goto done;
    if (!strcmp(a, "--json")) {
      as_json = 1;
      continue;
    }
    static const char *const vals[] = {"--strategy", "--params", "--params-file", "--study-name",
                                       "--storage", "--window", "--ranges"};
    size_t k = 0;
    while (k < sizeof vals / sizeof vals[0] && strcmp(a, vals[k])) k++;
    if (k == sizeof vals / sizeof vals[0]) {
      cli_failf("regimes: unknown option '%s' (see qtune regimes --help)", a);
      goto done;
    }
    if (i + 1 >= argc) {
      cli_failf("regimes: %s needs a value", a);
      goto done;
    }
    const char *v = argv[++i];
    if (k == 1) params = v;
    else if (k == 2) pfile = v;
    else if (k == 3) study = v;
    else if (k == 4) url = v;
    else if (k == 6) ranges = v;
    else if (k == 5 && (cli_parse_long(a, v, &window) || window < 2)) {
      cli_failf("--window: an integer >= 2 (\"%s\")", v);
      goto done;
    }
  }
  const qt_feed *feeds;
  int n_feeds;
  size_t from_i;
  if (study) {
    if (s || mo.catalog || mo.data) {
      cli_failf("regimes: --study-name runs on the study's own market and strategy");
      goto done;
    }
    if (cli_study_open_ro(study, url, &st, &e)) goto fail_e;
    if (qt_study_rerun_open(st, &x, &e)) goto fail_e;
    s = x.strategy;
    feeds = x.mk.feeds;
    n_feeds = x.mk.n_feeds;
    from_i = x.mk.from_i;
    eo = x.eo;
  } else {
    if (s) mo.want_second = (s->needs & QT_NEEDS_SECOND) != 0 || s->n_instruments > 1;
    have_m = 1;
    if (qt_market_load(&mo, &mk, &e)) goto fail_e;
    cli_market_print_warnings(&mk);
    feeds = mk.feeds;
    n_feeds = mk.n_feeds;
    from_i = mk.from_i;
    if (s && (s->needs & QT_NEEDS_HEDGE)) eo.hedge_mode = 1;
    eo.from = from_i;
    eo.to = 0;
  }
  const qt_bars *b = feeds[0].bars;
  if (!(lab = malloc(b->n + 1)) || !(buf = malloc((size_t)1 << 16))) {
    cli_failf("regimes: out of memory");
    goto done;
  }
  if (ranges) {
    size_t len;
    if (!(text = cli_read_file(ranges, &len, &e))) goto fail_e;
    if (qt_regime_from_ranges(b, text, len, ranges, lab, &e)) goto fail_e;
  } else {
    qt_regime_opts ro = qt_regime_opts_default();
    if (window) ro.window = (size_t)window;
    if (qt_regime_label(b, &ro, lab, &e)) goto fail_e;
  }
  qt_result res, *rp = NULL;
  if (s) {
    if (!(p = calloc(s->n_params + 1, sizeof *p))) goto done;
    qt_strategy_defaults(s, p);
    if (st) {
      long best = qt_study_best(st);
      if (best < 0) {
        cli_failf("regimes: study '%s' has no feasible complete trial", study);
        goto done;
      }
      qt_trial_info ti;
      qt_study_trial_info(st, (size_t)best, &ti);
      if (qt_params_parse_text(s, ti.params_json, strlen(ti.params_json), "the best trial", p,
                               NULL, &e))
        goto fail_e;
    }
    if (pfile && cli_params_parse(s, pfile, p, NULL)) goto done;
    if (params && cli_params_parse(s, params, p, NULL)) goto done;
    if (qt_engine_new(&eo, &eng, &e) || qt_engine_run(eng, feeds, n_feeds, s, p, &res, &e))
      goto fail_e;
    rp = &res;
  }
  double bpy = qt_metrics_bars_per_year(b->interval_ms, 1);
  if (qt_regime_report(lab + from_i, b->n - from_i, rp, bpy, buf, (size_t)1 << 16, &e)) goto fail_e;
  if (as_json) printf("%s\n", buf);
  else print_table(buf);
  rc = CLI_OK;
  goto done;
fail_e:
  rc = cli_fail(&e);
done:
  qt_engine_free(eng);
  free(p);
  free(lab);
  free(buf);
  free(text);
  if (have_m) qt_market_free(&mk);
  qt_study_rerun_close(&x);
  qt_study_free(st);
  qt_strategy_unload(plugin);
  return rc;
}
