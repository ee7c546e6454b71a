/* Fees and slippage: the instrument's default rates, the checks of rates at
 * run start and the strategy's queries.  The per-fill arithmetic
 * (qt__fee_of, qt__slip) is static inline in engine_int.h because the fill
 * path calls it for every fill.  Conventions: docs/engine.md, "Fills on
 * bars" (Slippage, Fees). */
#include "engine/engine_int.h"

#include <string.h>

qt_instrument qt_instrument_default(const char *symbol) {
  qt_instrument in;
  memset(&in, 0, sizeof in);
  if (symbol) {
    strncpy(in.symbol, symbol, sizeof in.symbol - 1);
  }
  in.kind = QT_INST_SPOT;
  in.multiplier = 1.0;
  in.maker_bps = 2.0;
  in.taker_bps = 5.0;
  in.maint_margin = 0.005;
  return in;
}

/* Fee rates of feed k must be >= 0, so fees are never negative (NaN fails
 * too).  Names the feed and the rates.  (Slippage is checked with the other
 * run options in engine.c.) */
int qt__fees_check(const qt_feed *f, int k, qt_err *err) {
  const qt_instrument *in = &f->inst;
  if (!(in->maker_bps >= 0) || !(in->taker_bps >= 0))
    return qt_err_set(err, QT_EINVAL,
                      "qt_engine_run: feed %d (%s): fees must be >= 0 bps (maker %g, taker %g)",
                      k, in->symbol, in->maker_bps, in->taker_bps);
  return QT_OK;
}

double qt_ctx_taker_bps(const qt_ctx *cx, int inst) {
  return inst >= 0 && inst < cx->r.n_feeds ? cx->r.fd[inst].inst.taker_bps : 0;
}
double qt_ctx_maker_bps(const qt_ctx *cx, int inst) {
  return inst >= 0 && inst < cx->r.n_feeds ? cx->r.fd[inst].inst.maker_bps : 0;
}
