/* The built-in strategies: one row each, sorted by name.  The CLI help, the
 * conformance tests and the reports all read this table. */
#include "qtune/strategies.h"
#include "strategies/strategies_int.h"

#include <string.h>

#define QT_BUILTIN_STRATEGIES(X) \
  /* X(name) for each qt_strategy_<name> vtable, sorted by name */ \
  X(auction_market) \
  X(directional_momentum) \
  X(funding_arbitrage) \
  X(grid_trading) \
  X(hedge_grid) \
  X(market_maker) \
  X(sma_cross) \
  X(spread_arbitrage)

#define QT__DECL(n) extern const qt_strategy_vtbl qt_strategy_##n;
QT_BUILTIN_STRATEGIES(QT__DECL)
#undef QT__DECL

#define QT__ROW(n) &qt_strategy_##n,
static const qt_strategy_vtbl *const k_builtin[] = {QT_BUILTIN_STRATEGIES(QT__ROW) NULL};
#undef QT__ROW

/* X(name) for each built-in whose file defines qt__aliases_<name>. */
#define QT_BUILTIN_ALIASES(X) X(auction_market)

#define QT__DECL(n) extern const qt__alias_table qt__aliases_##n;
QT_BUILTIN_ALIASES(QT__DECL)
#undef QT__DECL
#define QT__ROW(n) &qt__aliases_##n,
static const qt__alias_table *const k_aliases[] = {QT_BUILTIN_ALIASES(QT__ROW) NULL};
#undef QT__ROW

const qt_param_alias *qt_strategy_aliases(const qt_strategy_vtbl *s, size_t *out_n) {
  for (size_t i = 0; k_aliases[i]; i++)
    if (k_aliases[i]->s == s) {
      *out_n = k_aliases[i]->n;
      return k_aliases[i]->rows;
    }
  *out_n = 0;
  return NULL;
}

const qt_strategy_vtbl *const *qt_strategies_builtin(size_t *out_n) {
  *out_n = sizeof k_builtin / sizeof k_builtin[0] - 1;
  return k_builtin;
}

const qt_strategy_vtbl *qt_strategy_find(const char *name) {
  for (size_t i = 0; k_builtin[i]; i++)
    if (strcmp(k_builtin[i]->name, name) == 0) return k_builtin[i];
  return NULL;
}
