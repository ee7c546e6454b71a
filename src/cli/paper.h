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

#endif
