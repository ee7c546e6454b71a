/* What other commands borrow from cmd_tune.c: backtest's --record-outcomes. */
#ifndef QTUNE_CLI_TUNE_CLI_H
#define QTUNE_CLI_TUNE_CLI_H

#include "qtune/engine.h"
#include "qtune/strategy.h"

/* Stores the trades of a backtest as signal outcomes of s (params p) in the
 * storage at url (NULL: the default); prints a line to stderr.  Returns
 * CLI_OK or CLI_ERROR after printing the error. */
int cli_record_outcomes(const char *url, const qt_strategy_vtbl *s, const double *p,
                        const qt_result *r, const qt_market *m);

#endif
