/* Private to src/strategies: how a built-in's file hands its alias table to
 * the registry (registry.c lists the built-ins that have one). */
#ifndef QTUNE_STRATEGIES_STRATEGIES_INT_H
#define QTUNE_STRATEGIES_STRATEGIES_INT_H

#include "qtune/strategies.h"

typedef struct qt__alias_table {
  const qt_strategy_vtbl *s;
  const qt_param_alias *rows;
  size_t n;
} qt__alias_table;

/* market_maker with its vector log lines at info (market_maker.c). */
extern const qt_strategy_vtbl qt__strategy_market_maker_live;

#endif
