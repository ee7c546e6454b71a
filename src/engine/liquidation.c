/* Liquidation: where equity minus maintenance margin turns negative, along
 * the bar's path (one feed on bars) or over each feed's range (several
 * feeds, fills from trades: qt__liq_range, inline in engine_int.h because
 * the loop runs it on every bar of such runs), and the close of everything
 * at those prices.  Conventions: docs/engine.md, "Account, margin, leverage cap"
 * (Liquidation). */
#include "engine/engine_int.h"

static double path_price(const double pt[4], double t) {
  int s = t >= 3 ? 2 : (int)t;
  return pt[s] + (t - s) * (pt[s + 1] - pt[s]);
}

/* One feed: the first point of the path in [t0, t1] where equity minus
 * maintenance margin (a line in the price: cash + slope p - off, with the
 * legs as they are) is negative; its price in *px (the open after a gap,
 * else where the line crosses zero).  0 when it stays >= 0. */
int qt__liq_path(const qt_ctx *cx, const qt__feed *fd, const double pt[4], double t0, double t1,
                 double *px) {
  double slope, off;
  if (!qt__liq_leg_line(cx, fd, &slope, &off)) return 0;
  /* piecewise linear in time, so the first negative point is at a
   * breakpoint or where a piece crosses zero */
  double a = t0, pa = path_price(pt, a);
  if (cx->r.cash + slope * pa - off < 0) {
    *px = pa;
    return 1;
  }
  while (a < t1) {
    double b = floor(a) + 1 < t1 ? floor(a) + 1 : t1, pb = path_price(pt, b);
    if (cx->r.cash + slope * pb - off < 0) {
      *px = (off - cx->r.cash) / slope; /* between pa and pb: the line is >= 0 at pa */
      return 1;
    }
    a = b;
  }
  return 0;
}

/* Equity met the maintenance margin inside the bar: the strategy is stopped
 * first (a liquidated strategy hears nothing more), every leg closes at its
 * feed's price in lpx, the book is cancelled; marks return to the close. */
void qt__liq_close(qt_ctx *cx, const double *lpx) {
  cx->r.liquidated = 1;
  cx->r.stopped = 1;
  double close_px[QT__MAX_FEEDS];
  for (int k = 0; k < cx->r.n_feeds; k++) close_px[k] = cx->r.fd[k].px, cx->r.fd[k].px = lpx[k];
  qt__fill_close_all(cx, QT_EXIT_LIQUIDATION);
  for (int k = 0; k < cx->r.n_feeds; k++) cx->r.fd[k].px = close_px[k];
}
