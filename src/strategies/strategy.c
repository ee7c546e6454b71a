/* Helpers over a strategy's parameter spec, shared by the engine, the CLI
 * and the optimizer: defaults, lookup by name, validation. */
#include "qtune/strategy.h"

#include <math.h>
#include <string.h>

static const char *const k_exit_names[QT_EXIT_COUNT] = {
    "signal", "take_profit", "stop_loss", "expiry", "liquidation", "end_of_data"};

const char *qt_exit_reason_name(int reason) {
  if (reason < 0 || reason >= QT_EXIT_COUNT) return "unknown";
  return k_exit_names[reason];
}

const char *qt_order_type_name(int type) {
  return type == QT_ORDER_MARKET ? "market" : type == QT_ORDER_LIMIT ? "limit"
                                            : type == QT_ORDER_STOP  ? "stop" : "unknown";
}

const char *qt_leg_name(int leg) {
  return leg == QT_LEG_LONG ? "long" : leg == QT_LEG_SHORT ? "short" : "net";
}

void qt_strategy_defaults(const qt_strategy_vtbl *s, double *p) {
  for (size_t k = 0; k < s->n_params; k++) p[k] = s->params[k].def;
}

int qt_strategy_param_index(const qt_strategy_vtbl *s, const char *name) {
  if (!s || !name) return -1;
  for (size_t k = 0; k < s->n_params; k++)
    if (strcmp(s->params[k].name, name) == 0) return (int)k;
  return -1;
}

int qt_strategy_check_params(const qt_strategy_vtbl *s, const double *p, qt_err *err) {
  for (size_t k = 0; k < s->n_params; k++) {
    const qt_param_spec *ps = &s->params[k];
    double v = p[k];
    if (!isfinite(v))
      return qt_err_set(err, QT_EINVAL, "strategy '%s': parameter '%s' is not a number", s->name,
                        ps->name);
    switch (ps->type) {
    case QT_PARAM_INT:
      if (v != floor(v))
        return qt_err_set(err, QT_EINVAL, "strategy '%s': parameter '%s' must be a whole number, got %g",
                          s->name, ps->name, v);
      /* fall through */
    case QT_PARAM_FLOAT:
      if (v < ps->lo || v > ps->hi)
        return qt_err_set(err, QT_EINVAL, "strategy '%s': parameter '%s' = %g is outside its range [%g, %g]",
                          s->name, ps->name, v, ps->lo, ps->hi);
      break;
    case QT_PARAM_CAT:
      if (v != floor(v) || v < 0 || v >= (double)ps->n_choices)
        return qt_err_set(err, QT_EINVAL,
                          "strategy '%s': parameter '%s' = %g is not a choice index (0..%zu)",
                          s->name, ps->name, v, ps->n_choices ? ps->n_choices - 1 : 0);
      break;
    case QT_PARAM_BOOL:
      if (v != 0 && v != 1)
        return qt_err_set(err, QT_EINVAL, "strategy '%s': parameter '%s' must be 0 or 1, got %g",
                          s->name, ps->name, v);
      break;
    default:
      return qt_err_set(err, QT_EINVAL, "strategy '%s': parameter '%s' has unknown type %d",
                        s->name, ps->name, ps->type);
    }
  }
  return QT_OK;
}
