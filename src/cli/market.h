/* The market data options shared by backtest, optimize and check-lookahead:
 * `--catalog DIR --symbol S [--from T] [--to T]` or `--data FILE [importer
 * options]`, loaded once into feeds for the engine (instrument 0 = the
 * symbol; instrument 1 = its second venue "<S>.B" when the strategy needs
 * one).  Funding and quotes are attached when the catalog has them. */
#ifndef QTUNE_CLI_MARKET_H
#define QTUNE_CLI_MARKET_H

#include "qtune/data.h"
#include "qtune/engine.h"

typedef struct cli_market_opts {
  const char *catalog, *symbol, *from, *to; /* from/to: any qt_time_parse form */
  const char *data;      /* a CSV/zip/gz file instead of a catalog */
  const char *columns;   /* generic CSV column mapping for --data */
  const char *date_format; /* its time column's format (qt_time_parse_fmt) */
  const char *format;    /* importer format name for --data (auto-detected when NULL) */
  double fee_bps, maker_bps, taker_bps; /* NaN: not given (defaults apply) */
  double lot_size, tick_size;           /* NaN: not given */
  int want_second;       /* load "<S>.B" as instrument 1 (QT_NEEDS_SECOND) */
} cli_market_opts;

typedef struct cli_market {
  qt_feed feeds[2];
  int n_feeds;
  qt_bars bars[2];
  qt_funding funding[2];
  qt_quotes quotes[2];
  qt_trades trades[2];
  size_t from_i, to_i; /* the bar range of feed 0 selected by --from/--to; feed 0
                        * holds [0, to_i), the engine simulates from from_i */
} cli_market;

void cli_market_opts_init(cli_market_opts *o);
/* If argv[*i] is one of the market options, consumes it (and its value) and
 * returns 1; 0 if it is not; CLI_ERROR (2) after printing an error. */
int cli_market_parse_arg(cli_market_opts *o, int argc, char **argv, int *i);
/* The help lines of the market options, for each command's --help. */
const char *cli_market_help(void);
/* Loads the data; applies from/to as a slice of feed 0's bars.  Prints nothing. */
int cli_market_load(const cli_market_opts *o, cli_market *m, qt_err *err);
void cli_market_free(cli_market *m);

#endif
