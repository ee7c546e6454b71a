/* qtune backtest --symbol A,B,C: wiring only (the run is the library's). */
#include "cli/symbols.h"
#include "cli/util.h"
#include "qtune/optimize.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

int cli_backtest_symbols(const qt_strategy_vtbl *s, const double *p, const qt_market_opts *mo,
                         const qt_engine_opts *eo, const char *aggregate, int json) {
  qt_err e;
  int agg = QT_AGG_MEAN;
  if (mo->n_symbols < 2) return cli_failf("backtest: --aggregate needs --symbol A,B,...");
  if (aggregate && qt_aggregate_parse(aggregate, &agg, &e)) return cli_fail(&e);
  size_t cap = (size_t)1 << 20;
  char *buf = malloc(cap);
  if (!buf) return cli_failf("backtest: out of memory");
  int rc = CLI_OK;
  if (qt_symbols_backtest_json(s, p, mo, eo, agg, buf, cap, &e)) {
    rc = cli_fail(&e);
  } else if (json) {
    printf("%s\n", buf);
  } else {
    json_t *j = json_loads(buf, 0, NULL), *m = json_object_get(j, "metrics");
    char *mj = json_dumps(m, JSON_COMPACT);
    printf("backtest %s on %zu symbols, %s of their metrics\n", s->name, mo->n_symbols,
           qt_aggregate_name(agg));
    static const char *const keys[] = {"sharpe", "total_return", "max_drawdown", "trades",
                                       "profit_factor", "total_profit"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
      json_t *v = json_object_get(m, keys[k]);
      if (json_is_number(v)) printf("  %-14s %.6g\n", keys[k], json_number_value(v));
      else printf("  %-14s -\n", keys[k]);
    }
    if (mj) qt_symbols_write_table(mj, stdout, NULL);
    free(mj);
    json_decref(j);
  }
  free(buf);
  return rc;
}
