/* Liquidation: where equity minus maintenance margin turns negative, along
 * the bar's path (one feed on bars) or over each feed's range (several
 * feeds, fills from trades), and the close of everything at those prices.
 * Conventions: docs/engine.md, "Account, margin, leverage cap"
 * (Liquidation). */
#include "engine/engine_int.h"

static double path_price(const double pt[4], double t) {
  int s = t >= 3 ? 2 : (int)t;
  return pt[s] + (t - s) * (pt[s + 1] - pt[s]);
}

/* Feed fd's part of equity minus maintenance margin, a line in its price:
 * slope p - off (with the cash added, the whole of it for one feed).  0 when
 * the feed holds nothing. */
static int leg_line(const qt_ctx *cx, const qt__feed *fd, double *slope, double *off) {
  int l0 = cx->o.hedge_mode ? 1 : 0, l1 = cx->o.hedge_mode ? 3 : 1;
  double q = 0, g = 0, s = 0, mult = fd->inst.multiplier;
  for (int l = l0; l < l1; l++) {
    q += fd->leg[l].qty;
    g += fabs(fd->leg[l].qty);
    s += fd->leg[l].qty * fd->leg[l].avg;
  }
  *slope = (q - g * fd->inst.maint_margin) * mult;
  *off = s * mult;
  return g != 0;
}

/* One feed: the first point of the path in [t0, t1] where equity minus
 * maintenance margin (a line in the price: cash + slope p - off, with the
 * legs as they are) is negative; its price in *px (the open after a gap,
 * else where the line crosses zero).  0 when it stays >= 0. */
int qt__liq_path(const qt_ctx *cx, const qt__feed *fd, const double pt[4], double t0, double t1,
                 double *px) {
  double slope, off;
  if (!leg_line(cx, fd, &slope, &off)) return 0;
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

/* The liquidation check over the bar's range, for several feeds or fills
 * from trades (one feed on bars follows the path: qt__liq_path).  Per feed,
 * equity minus maintenance margin is linear in the price, with slope (net
 * qty - gross qty x maint_margin) x multiplier, so its minimum over the bar
 * is at the low or the high (a feed without a new bar stays at its close).
 * Positions are those after this bar's fills.  Returns 1 when that minimum
 * is negative, with the price each feed is liquidated at in lpx: for one
 * feed with a position, the price where equity meets the maintenance margin
 * (or the open when it gapped through); with several, their worst extremes. */
int qt__liq_range(const qt_ctx *cx, double *lpx) {
  double slack = cx->r.cash, slope1 = 0, off1 = 0;
  int with_pos = 0, k1 = -1;
  for (int k = 0; k < cx->r.n_feeds; k++) {
    const qt__feed *fd = &cx->r.fd[k];
    double slope, off;
    lpx[k] = fd->px;
    if (!leg_line(cx, fd, &slope, &off)) continue;
    double lo = fd->px, hi = fd->px;
    if (fd->fresh && fd->ci >= 0) {
      lo = fd->f->bars->low[fd->ci];
      hi = fd->f->bars->high[fd->ci];
    }
    lpx[k] = slope > 0 ? lo : hi;
    slack += slope * lpx[k] - off;
    with_pos++, k1 = k, slope1 = slope, off1 = off;
  }
  if (!(slack < 0)) return 0;
  if (with_pos == 1 && slope1 != 0) {
    const qt__feed *fd = &cx->r.fd[k1];
    double p = (off1 - cx->r.cash) / slope1; /* cash + slope p - off = 0 */
    double open = fd->fresh && fd->ci >= 0 ? fd->f->bars->open[fd->ci] : fd->px;
    if (slope1 > 0) lpx[k1] = open <= p ? open : (p > lpx[k1] ? p : lpx[k1]);
    else lpx[k1] = open >= p ? open : (p < lpx[k1] ? p : lpx[k1]);
  }
  return 1;
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
