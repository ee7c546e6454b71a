/* qtune stress: parses the strategy, its params, the market and the
 * scenario options; the library's qt_stress_run does the work. */
#include "cli/commands.h"
#include "cli/market.h"
#include "cli/util.h"
#include "qtune/strategies.h"
#include "qtune/validate.h"

#include <stdlib.h>
#include <string.h>

static const char k_help[] =
    "usage: qtune stress --strategy S (--params-file F | --params k=v,..) MARKET [options]\n"
    "The same backtest under stress, beside the base run: a flash crash, fees and\n"
    "slippage multiplied, spreads widened, gaps in the data, fills late; the risk limits\n"
    "(liquidation, the strategy's max_position_pct and max_daily_loss_pct) shown\n"
    "to hold or named where they fail (docs/validate.md).\n"
    "  --crash-pct P        the crash's drop in %% (default 20)\n"
    "  --crash-minutes M    minutes down (default 5); --recover-minutes R back (60)\n"
    "  --crash-at T         when (default: a seeded random bar of the traded span)\n"
    "  --seed N             the crash time and the gaps (default 1)\n"
    "  --fee-mult K         maker and taker fees x K (default 3)\n"
    "  --slippage-mult K    slippage x K, at least 5 bps (default 3)\n"
    "  --spread-bps S       market and stop fills pay S/2 bps more (default 20)\n"
    "  --gaps N             gaps cut from the data (default 3) of --gap-minutes (60)\n"
    "  --late-bars N        fills late: orders reach the book N bars late (default 1)\n"
    "  --json               the result as one JSON object\n"
    "Example:\n"
    "  qtune stress --strategy hedge_grid --params-file hg_best.yaml --catalog cat \\\n"
    "      --symbol AVAXUSDT --crash-pct 30\n"
    "Exit status: 0 every risk limit holds, 1 one fails, 2 error.\n"
    "market:";

int cmd_stress(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    fputs(k_help, stdout);
    fputs(cli_market_help(), stdout);
    fputs(cli_settings_help(), stdout);
    return CLI_OK;
  }
  const char *params = NULL, *params_file = NULL;
  void *plugin = NULL;
  const qt_strategy_vtbl *s = cli_strategy_from_args("stress", argc, argv, &plugin);
  if (!s) return CLI_ERROR;
  qt_err e;
  qt_market_opts mo = qt_market_opts_default();
  qt_engine_opts eo = qt_engine_opts_default();
  qt_stress_opts so = qt_stress_opts_default();
  qt_market m;
  memset(&m, 0, sizeof m);
  int rc = CLI_ERROR, as_json = 0, have_m = 0;
  double *p = calloc(s->n_params + 1, sizeof *p), *fp = calloc(s->n_params + 1, sizeof *fp);
  unsigned char *fs = calloc(s->n_params + 1, 1);
  char *buf = NULL;
  if (!p || !fp || !fs) {
    rc = cli_failf("stress: out of memory");
    goto done;
  }
  qt_strategy_defaults(s, fp);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int mr = cli_market_parse_arg(&mo, argc, argv, &i);
    if (mr == 0) mr = cli_settings_parse_arg(&eo, argc, argv, &i);
    if (mr == 0) mr = cli_params_parse_flag(s, argc, argv, &i, fp, fs);
    if (mr == 1) continue;
    if (mr != 0) goto done;
    if (!strcmp(a, "--json")) {
      as_json = 1;
      continue;
    }
    static const char *const vals[] = {"--strategy", "--params", "--params-file", "--crash-pct",
                                       "--crash-minutes", "--recover-minutes", "--crash-at",
                                       "--seed", "--fee-mult", "--slippage-mult", "--spread-bps",
                                       "--gaps", "--gap-minutes", "--late-bars"};
    size_t k = 0;
    while (k < sizeof vals / sizeof vals[0] && strcmp(a, vals[k])) k++;
    if (k == sizeof vals / sizeof vals[0]) {
      cli_failf("stress: unknown option '%s' (see qtune stress --help)", a);
      goto done;
    }
    if (i + 1 >= argc) {
      cli_failf("stress: %s needs a value", a);
      goto done;
    }
    const char *v = argv[++i];
    double d = 0;
    if (k == 1) params = v;
    else if (k == 2) params_file = v;
    else if (k == 6) {
      if (qt_time_parse(v, strlen(v), &so.crash_at_ms, &e)) {
        cli_failf("--crash-at: %s", e.msg);
        goto done;
      }
    } else if (k >= 3) {
      if (cli_parse_double(a, v, &d)) goto done;
      int bad = !(d >= 0);
      if (k == 3) bad |= !(d > 0 && d < 100), so.crash_pct = d / 100;
      if (k == 4) bad |= !(d > 0), so.crash_min = d;
      if (k == 5) so.recover_min = d;
      if (k == 7) so.seed = (uint64_t)d;
      if (k == 8) so.fee_mult = d;
      if (k == 9) so.slip_mult = d;
      if (k == 10) so.spread_bps = d;
      if (k == 11) bad |= d > 64 || d != (double)(size_t)d, so.n_gaps = (size_t)d;
      if (k == 12) bad |= !(d > 0), so.gap_min = d;
      if (k == 13) bad |= d > 1e6 || d != (double)(size_t)d, so.late_bars = (size_t)d;
      if (bad) {
        cli_failf("%s: out of range (\"%s\")", a, v);
        goto done;
      }
    }
  }
  if (s->needs & QT_NEEDS_HEDGE) eo.hedge_mode = 1;
  qt_strategy_defaults(s, p);
  if (params_file && cli_params_parse(s, params_file, p, NULL)) goto done;
  if (params && cli_params_parse(s, params, p, NULL)) goto done;
  for (size_t k = 0; k < s->n_params; k++)
    if (fs[k]) p[k] = fp[k];
  if (qt_strategy_check_params(s, p, &e)) goto fail_e;
  mo.want_second = (s->needs & QT_NEEDS_SECOND) != 0 || s->n_instruments > 1;
  have_m = 1;
  if (qt_market_load(&mo, &m, &e)) goto fail_e;
  cli_market_print_warnings(&m);
  if (m.n_feeds < s->n_instruments) {
    cli_failf("stress: strategy '%s' trades %d instruments; the data has %d", s->name,
              s->n_instruments, m.n_feeds);
    goto done;
  }
  eo.to = 0;
  size_t cap = (size_t)1 << 20;
  if (!(buf = malloc(cap))) {
    cli_failf("stress: out of memory");
    goto done;
  }
  if (qt_stress_run(s, p, m.feeds, m.n_feeds, m.from_i, &eo, &so, buf, cap, &e)) goto fail_e;
  if (as_json) printf("%s\n", buf);
  else if (qt_stress_write_table(buf, stdout, &e)) goto fail_e;
  rc = strstr(buf, "\"holds\":false") ? 1 : CLI_OK;
  goto done;
fail_e:
  rc = cli_fail(&e);
done:
  free(buf);
  free(p);
  free(fp);
  free(fs);
  if (have_m) qt_market_free(&m);
  qt_strategy_unload(plugin);
  return rc;
}
