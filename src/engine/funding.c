/* Funding of perpetuals: settlements paid at the first bar whose open time
 * reaches them, marked at that bar's open, and the strategy's view of the
 * settlements so far.  Conventions: docs/engine.md, "Funding". */
#include "engine/engine_int.h"

/* Pays feed k's settlements up to its current bar's open time; on_funding
 * hears each (with the summed payment, possibly 0). */
void qt__funding_settle(qt_ctx *cx, int k) {
  qt__feed *fd = &cx->r.fd[k];
  const qt_funding *fu = fd->f->funding;
  int64_t bar_ts = fd->f->bars->ts_ms[fd->ci];
  double mark = fd->f->bars->open[fd->ci];
  while (fd->fund_i < fu->n && fu->ts_ms[fd->fund_i] <= bar_ts) {
    double rate = fu->rate[fd->fund_i];
    int64_t sts = fu->ts_ms[fd->fund_i];
    fd->fund_i++;
    double pay = 0;
    for (int l = 0; l < 3; l++) {
      qt__leg *L = &fd->leg[l];
      if (L->qty == 0) continue;
      double p = -L->qty * fd->inst.multiplier * mark * rate;
      L->funding += p;
      pay += p;
    }
    cx->r.cash += pay;
    cx->r.funding_paid -= pay;
    if (cx->r.s->on_funding && !cx->r.stopped) {
      qt_funding_event ev;
      ev.inst = k;
      ev.ts_ms = sts;
      ev.rate = rate;
      ev.mark = mark;
      ev.payment = pay;
      cx->r.s->on_funding(cx->st, &ev, cx);
    }
  }
}

const qt_funding *qt_ctx_funding(const qt_ctx *cx, int inst, size_t *out_n) {
  if (out_n) *out_n = 0;
  if (inst < 0 || inst >= cx->r.n_feeds || !cx->r.fd[inst].f->funding) return NULL;
  qt_ctx *m = (qt_ctx *)cx; /* the view is a cache of the cursor */
  m->r.fd[inst].fund_view.n = cx->r.fd[inst].fund_i;
  if (out_n) *out_n = cx->r.fd[inst].fund_i;
  return &cx->r.fd[inst].fund_view;
}
