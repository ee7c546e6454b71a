/* The command-line side of the shared options: flags into the library's
 * option structs and the help text.  Loading, parsing of parameter values
 * and range checks are the library's (qt_market_load, qt_params_*,
 * qt_engine_opts_set). */
#include "cli/market.h"
#include "cli/util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *cli_market_help(void) {
  return "\nmarket data:\n"
         "  --catalog DIR       catalog to load from (see qtune data import)\n"
         "  --symbol S          symbol (instrument 0; \"S.B\" is loaded as instrument 1\n"
         "                      for strategies that need a second venue); a perpetual\n"
         "                      when the catalog has its funding series, else spot.\n"
         "                      A list A,B is read but one symbol at a time runs for now\n"
         "  --from T, --to T    trade bars with FROM <= open time < TO (any date/epoch\n"
         "                      form, e.g. 2026-07-01 or 20260701); earlier bars are\n"
         "                      history (indicator warm-up)\n"
         "  --timerange R       freqtrade's START-END, START- or -END (20260601-20260701)\n"
         "  --data FILE         a CSV/zip/gz/JSON file instead of a catalog\n"
         "  --format F          importer format of --data (default: detected)\n"
         "  --columns MAP       column mapping of a generic CSV --data file\n"
         "  --date-format FMT   its time column's format, e.g. \"%d/%m/%Y %H:%M\" (UTC)\n"
         "  --allow-dirty       run on bars that fail the load checks (NaN, zero or\n"
         "                      negative prices, high/low not enclosing open/close,\n"
         "                      unsorted or repeated times) instead of refusing them\n"
         "  --fee-bps X         maker and taker fee in basis points\n"
         "  --maker-bps X       maker fee (default 2), --taker-bps X taker fee (default 5)\n"
         "  --lot-size X        quantity step (default 0: none)\n"
         "  --tick-size X       price step (default 0: none)\n";
}

int cli_market_parse_arg(qt_market_opts *o, int argc, char **argv, int *i) {
  static const char *const str_opts[] = {"--catalog", "--from",    "--to",     "--data",
                                         "--columns", "--format", "--date-format"};
  static const char *const num_opts[] = {"--fee-bps", "--maker-bps", "--taker-bps", "--lot-size",
                                         "--tick-size"};
  const char *a = argv[*i];
  const char **str_dst[] = {&o->catalog, &o->from,   &o->to,         &o->data,
                            &o->columns, &o->format, &o->date_format};
  double *num_dst[] = {&o->fee_bps, &o->maker_bps, &o->taker_bps, &o->lot_size, &o->tick_size};
  if (strcmp(a, "--allow-dirty") == 0) return o->allow_dirty = 1, 1;
  if (strcmp(a, "--symbol") == 0) {
    if (*i + 1 >= argc) return cli_failf("%s needs a value", a);
    qt_err e;
    if (qt_market_opts_set_symbols(o, argv[++*i], &e)) return cli_fail(&e);
    return 1;
  }
  for (size_t k = 0; k < sizeof str_opts / sizeof str_opts[0]; k++) {
    if (strcmp(a, str_opts[k]) != 0) continue;
    if (*i + 1 >= argc) return cli_failf("%s needs a value", a);
    *str_dst[k] = argv[++*i];
    return 1;
  }
  if (strcmp(a, "--timerange") == 0) { /* START-END split in place: from/to point into argv */
    int64_t f, t;
    qt_err e = {0};
    if (*i + 1 >= argc) return cli_failf("%s needs a value", a);
    char *v = argv[++*i], *dash = strchr(v, '-');
    if (qt_time_parse_range(v, strlen(v), &f, &t, &e)) return cli_failf("--timerange: %s", e.msg);
    *dash = '\0';
    o->from = *v ? v : NULL, o->to = dash[1] ? dash + 1 : NULL;
    return 1;
  }
  for (size_t k = 0; k < sizeof num_opts / sizeof num_opts[0]; k++) {
    if (strcmp(a, num_opts[k]) != 0) continue;
    if (*i + 1 >= argc) return cli_failf("%s needs a value", a);
    double v;
    if (cli_parse_double(a, argv[++*i], &v)) return CLI_ERROR;
    if (!isfinite(v) || (k >= 3 && v < 0)) return cli_failf("%s: out of range (\"%s\")", a, argv[*i]);
    *num_dst[k] = v;
    return 1;
  }
  return 0;
}

void cli_market_print_warnings(const qt_market *m) {
  for (int k = 0; k < m->n_warnings; k++) fprintf(stderr, "qtune: warning: %s\n", m->warnings[k]);
}

const char *cli_settings_help(void) {
  return "  --cash X               starting cash, quote currency (default 10000)\n"
         "  --slippage-bps X       adverse slippage on market and stop fills (default 0)\n"
         "  --leverage X           leverage cap, gross notional / equity (default 1; 0 = none)\n"
         "  --trade-on-close       market orders fill at the signal bar's close\n"
         "  --hedge-mode           long and short legs at once (always on for\n"
         "                         strategies that need it, e.g. hedge_grid)\n"
         "  --close-at-end close|open  close what is open at the end of the data at\n"
         "                         the last bar's close (default) or its open\n"
         "                         (backtesting.py's finalize_trades)\n"
         "  --no-close-at-end      leave positions open at the end of the data\n"
         "  --trade-accounting lots|average  trades as lots (each entry fill matched FIFO\n"
         "                         to the exits that close it: grid bots' count, the\n"
         "                         default of grid strategies) or one per exit at the\n"
         "                         position's average price (the default of the others)\n"
         "  --fill-delay-bars N    order latency: orders reach the book N bars late\n"
         "                         (default 0: they can fill from the next bar)\n";
}

/* The settings that are switches (no value). */
static const char *const k_setting_flags[] = {"--trade-on-close", "--hedge-mode", "--no-close-at-end",
                                               /* a market switch (cli_market_parse_arg), listed so a
                                                * config's allow_dirty: true is read as a switch */
                                               "--allow-dirty"};

int cli_settings_is_flag(const char *opt) {
  for (size_t k = 0; k < sizeof k_setting_flags / sizeof k_setting_flags[0]; k++)
    if (!strcmp(opt, k_setting_flags[k])) return 1;
  return 0;
}

int cli_settings_parse_arg(qt_engine_opts *eo, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  if (!strcmp(a, k_setting_flags[0])) return eo->trade_on_close = 1, 1;
  if (!strcmp(a, k_setting_flags[1])) return eo->hedge_mode = 1, 1;
  if (!strcmp(a, k_setting_flags[2])) return eo->close_at_end = 0, 1;
  /* a NULL value only asks whether the name is a setting (*eo unchanged) */
  if (strncmp(a, "--", 2) != 0 || qt_engine_opts_set(eo, a, NULL, NULL) == QT_ENOTFOUND) return 0;
  if (*i + 1 >= argc) return cli_failf("%s needs a value", a);
  qt_err e;
  if (qt_engine_opts_set(eo, a, argv[++*i], &e)) return cli_fail(&e);
  return 1;
}

int cli_params_parse_flag(const qt_strategy_vtbl *s, int argc, char **argv, int *i, double *p,
                          unsigned char *set) {
  const char *a = argv[*i];
  if (!s || strncmp(a, "--", 2) != 0) return 0;
  size_t n = 0;
  const qt_param_alias *al = qt_strategy_aliases(s, &n);
  for (size_t k = 0; k < n; k++) {
    if (strcmp(al[k].flag, a + 2) != 0) continue;
    int idx = qt_strategy_param_index(s, al[k].param);
    const char *v = NULL;
    /* a bool flag alone means 1; it takes a value only when one follows */
    int takes = idx < 0 || s->params[idx].type != QT_PARAM_BOOL ||
                (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0);
    if (takes) {
      if (*i + 1 >= argc) return cli_failf("%s needs a value", a);
      v = argv[++*i];
    }
    qt_err e;
    if (qt_params_set_flag(s, a, v, p, set, &e)) return cli_fail(&e);
    return 1;
  }
  return 0;
}

int cli_params_is_flag(const char *opt) {
  size_t n = 0;
  const qt_strategy_vtbl *const *all = qt_strategies_builtin(&n);
  if (strncmp(opt, "--", 2) != 0) return 0;
  for (size_t k = 0; k < n; k++) {
    size_t na = 0;
    const qt_param_alias *al = qt_strategy_aliases(all[k], &na);
    for (size_t j = 0; j < na; j++)
      if (!strcmp(al[j].flag, opt + 2)) return 1;
  }
  return 0;
}

int cli_params_parse(const qt_strategy_vtbl *s, const char *arg, double *p, unsigned char *set) {
  qt_err e;
  int rc = strchr(arg, '=') ? qt_params_parse_list(s, arg, p, set, &e)
                            : qt_params_parse_file(s, arg, p, set, &e);
  return rc ? cli_fail(&e) : CLI_OK;
}

const char *cli_find_strategy(int argc, char **argv) {
  const char *found = NULL;
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--strategy")) found = argv[i + 1]; /* the last one wins, as in parsing */
  return found;
}

const qt_strategy_vtbl *cli_strategy_from_args(const char *cmd, int argc, char **argv,
                                               void **plugin) {
  *plugin = NULL;
  const char *name = cli_find_strategy(argc, argv);
  if (!name) {
    cli_failf("%s: --strategy NAME is required (see qtune strategies)", cmd);
    return NULL;
  }
  qt_err e;
  qt_err_clear(&e);
  const qt_strategy_vtbl *s = qt_strategy_resolve(name, plugin, &e);
  if (!s && e.msg[0]) cli_fail(&e);
  else if (!s) cli_failf("%s: unknown strategy '%s'", cmd, name);
  return s;
}

void cli_params_help(FILE *f) {
  size_t n = 0;
  const qt_strategy_vtbl *const *all = qt_strategies_builtin(&n);
  for (size_t k = 0; k < n; k++) {
    size_t na = 0;
    const qt_param_alias *al = qt_strategy_aliases(all[k], &na);
    if (!na) continue;
    fprintf(f, "\nparameter flags of %s (set one parameter, beside --params):\n", all[k]->name);
    for (size_t j = 0; j < na; j++) {
      int idx = qt_strategy_param_index(all[k], al[j].param);
      const qt_param_spec *ps = idx >= 0 ? &all[k]->params[idx] : NULL;
      char flag[64];
      snprintf(flag, sizeof flag, "--%s%s", al[j].flag,
               ps && ps->type == QT_PARAM_BOOL ? "" : " X");
      fprintf(f, "  %-24s %s: %s\n", flag, al[j].param, ps && ps->help ? ps->help : "");
    }
  }
}
