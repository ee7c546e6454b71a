/* qtune strategies: the table of built-in strategies and the loader of
 * users' plugin strategies (shared objects exporting qt_strategy_entry). */
#ifndef QTUNE_QTUNE_STRATEGIES_H
#define QTUNE_QTUNE_STRATEGIES_H

#include "qtune/strategy.h"

/* The built-ins, sorted by name; static. */
QT_API const qt_strategy_vtbl *const *qt_strategies_builtin(size_t *out_n);
/* A built-in by name, or NULL. */
QT_API const qt_strategy_vtbl *qt_strategy_find(const char *name);

#endif
