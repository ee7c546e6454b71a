/* The command-line side of several symbols (--symbol A,B,C): a backtest of
 * fixed params on each symbol, printed as the per-symbol table and the
 * aggregate (the library runs it: qt_symbols_backtest_json). */
#ifndef QTUNE_CLI_SYMBOLS_H
#define QTUNE_CLI_SYMBOLS_H

#include "qtune/engine.h"
#include "qtune/strategy.h"

/* Runs params p of s on each symbol of mo; aggregate NULL is the mean.
 * Prints a table (or the JSON with json); returns a CLI exit status. */
int cli_backtest_symbols(const qt_strategy_vtbl *s, const double *p, const qt_market_opts *mo,
                         const qt_engine_opts *eo, const char *aggregate, int json);

#endif
