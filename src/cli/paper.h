/* What `qtune paper` and `qtune campaign` share: loading the replay's
 * markets, one per symbol, into a runner's options. */
#ifndef QTUNE_CLI_PAPER_H
#define QTUNE_CLI_PAPER_H

#include "qtune/live.h"

/* Loads each of mo's symbols as its own market into m[k] (caller storage,
 * QT_MARKET_MAX_SYMBOLS; qt_market_free each, also after a failure) and
 * points po's replay feeds, ranges and symbols at them.  CLI_ERROR with err
 * set on a failed load. */
int cli_paper_load_markets(const qt_market_opts *mo, int want_second, qt_market *m,
                           qt_paper_opts *po, qt_err *err);

/* `qtune paper --live-params FILE` (src/cli/paper_live.c): a handle for
 * FILE over strategy s starting from p, recording run's name, with the step
 * limit max_step_pct (0: none); the first reload (its three outcomes: a
 * missing file keeps p) and the watcher.  *out is the caller's to free
 * (qt_live_params_free, also after a failure).  CLI_ERROR after printing
 * the error: a refused first set is only logged, the run goes on with p. */
int cli_paper_live_open(const qt_strategy_vtbl *s, const char *path, const char *run,
                        double max_step_pct, const double *p, double cash, qt_live_params **out);

#endif
