/* The command-line side of the options shared by backtest, optimize and
 * check-lookahead: market flags into qt_market_opts (the library loads the
 * market, see qt_market_load), the backtest settings into qt_engine_opts,
 * strategy parameters (--params, the strategy's alias flags) into a params
 * array through the library's one parser, and the help text of each. */
#ifndef QTUNE_CLI_MARKET_H
#define QTUNE_CLI_MARKET_H

#include "qtune/engine.h"
#include "qtune/strategies.h"

#include <stdio.h>

/* If argv[*i] is one of the market options, consumes it (and its value) and
 * returns 1; 0 if it is not; CLI_ERROR (2) after printing an error. */
int cli_market_parse_arg(qt_market_opts *o, int argc, char **argv, int *i);
/* The help lines of the market options, for each command's --help. */
const char *cli_market_help(void);
/* Prints the load's warnings to stderr ("qtune: warning: ..."). */
void cli_market_print_warnings(const qt_market *m);

/* If argv[*i] is a backtest setting (--cash, --slippage-bps, --leverage,
 * --trade-on-close, --hedge-mode, --no-close-at-end), applies it to eo and
 * returns 1; 0 if it is not; CLI_ERROR after printing an error. */
int cli_settings_parse_arg(qt_engine_opts *eo, int argc, char **argv, int *i);
/* 1 when opt ("--hedge-mode") is a setting that takes no value. */
int cli_settings_is_flag(const char *opt);
/* 1 when opt is a parameter flag of some built-in strategy ("--atr-stop"). */
int cli_params_is_flag(const char *opt);
/* The help lines of those settings. */
const char *cli_settings_help(void);

/* If argv[*i] is an alias flag of s (`--atr-stop 2`; a bool alone means 1),
 * sets that parameter in p (and set[k] = 1) and returns 1; 0 if it is not;
 * CLI_ERROR after printing an error.  s may be NULL (returns 0). */
int cli_params_parse_flag(const qt_strategy_vtbl *s, int argc, char **argv, int *i, double *p,
                          unsigned char *set);
/* --params: a list name=value,... when it has '=', else a params file. */
int cli_params_parse(const qt_strategy_vtbl *s, const char *arg, double *p, unsigned char *set);
/* The value of `--strategy` in argv, or NULL: the alias flags depend on it,
 * so the commands resolve the strategy before parsing the rest. */
const char *cli_find_strategy(int argc, char **argv);
/* The strategy of `--strategy` resolved (a built-in, or a plugin .so whose
 * handle goes to *plugin for qt_strategy_unload), or NULL after printing why
 * ("<cmd>: --strategy NAME is required ..." or the resolver's message). */
const qt_strategy_vtbl *cli_strategy_from_args(const char *cmd, int argc, char **argv,
                                               void **plugin);
/* Writes the alias flags of every built-in, for the commands' --help. */
void cli_params_help(FILE *f);

#endif
