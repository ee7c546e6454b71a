/* The paper/live variants of built-ins: same rules, per-decision log lines
 * at info.  A table, so a second built-in with such lines adds a row. */
#include "strategies_int.h"

extern const qt_strategy_vtbl qt_strategy_market_maker;

static const struct {
  const qt_strategy_vtbl *backtest, *live;
} k_variants[] = {
    {&qt_strategy_market_maker, &qt__strategy_market_maker_live},
};

const qt_strategy_vtbl *qt_strategy_live_variant(const qt_strategy_vtbl *s) {
  for (size_t k = 0; k < sizeof k_variants / sizeof k_variants[0]; k++)
    if (s == k_variants[k].backtest) return k_variants[k].live;
  return s;
}
