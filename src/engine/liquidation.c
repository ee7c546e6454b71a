/* Liquidation: where equity minus maintenance margin turns negative, along
 * the bar's path (one feed on bars), along the feeds' paths in step
 * (several feeds on bars), or over each feed's range (fills from trades:
 * qt__liq_range, inline in engine_int.h), and the close of everything
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

/* Feed k's price at path time t: along its bar's path when it has a new bar,
 * else its current bar's close. */
static double feed_price_at(const qt__feed *fd, double t) {
  const qt_bars *b = fd->f->bars;
  if (!fd->fresh) return b->close[fd->ci];
  double pt[4];
  qt__bar_path(b, (size_t)fd->ci, pt);
  return path_price(pt, t);
}

/* Equity minus maintenance margin at path time t, from the feeds' lines. */
static double slack_at(const qt_ctx *cx, const double *slope, const double *off, const int *has,
                       double t) {
  double e = cx->r.cash;
  for (int k = 0; k < cx->r.n_feeds; k++)
    if (has[k]) e += slope[k] * feed_price_at(&cx->r.fd[k], t) - off[k];
  return e;
}

int qt__liq_path_multi(const qt_ctx *cx, double t0, double t1, double *lpx) {
  double slope[QT__MAX_FEEDS], off[QT__MAX_FEEDS];
  int has[QT__MAX_FEEDS], any = 0;
  for (int k = 0; k < cx->r.n_feeds; k++) {
    const qt__feed *fd = &cx->r.fd[k];
    has[k] = fd->ci >= 0 && qt__liq_leg_line(cx, fd, &slope[k], &off[k]);
    any |= has[k];
  }
  if (!any) return 0;
  /* every price is linear in t between the breakpoints 0, 1, 2, 3, so the
   * sum is too: the first negative point is at a breakpoint or where a
   * piece crosses zero */
  double a = t0, ea = slack_at(cx, slope, off, has, a), ts = -1;
  if (ea < 0) {
    ts = a;
  } else {
    while (a < t1) {
      double b = floor(a) + 1 < t1 ? floor(a) + 1 : t1, eb = slack_at(cx, slope, off, has, b);
      if (eb < 0) {
        ts = a + (b - a) * ea / (ea - eb);
        break;
      }
      a = b, ea = eb;
    }
  }
  if (ts < 0) return 0;
  for (int k = 0; k < cx->r.n_feeds; k++)
    lpx[k] = cx->r.fd[k].ci >= 0 ? feed_price_at(&cx->r.fd[k], ts) : cx->r.fd[k].px;
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
