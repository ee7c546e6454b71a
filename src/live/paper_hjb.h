/* The paper runner's background HJB optimization (src/live/paper_hjb.c): a
 * thread that every interval runs qt_hjb_optimize on the recent window of a
 * replay's bars with the params in effect, so quoting never waits on it.
 * It files nothing itself: a suggestion is handed back to the runner's
 * thread, which owns the storage. */
#ifndef QTUNE_LIVE_PAPER_HJB_H
#define QTUNE_LIVE_PAPER_HJB_H

#include "qtune/live.h"

typedef struct qt__hjb_bg qt__hjb_bg;

/* Starts the thread over bars (borrowed, immutable, outliving it), with
 * params p[n] as the first set.  QT_ENOMEM, or QT_EIO when the thread could
 * not start. */
int qt__hjb_bg_start(const qt_bars *b, const double *p, size_t n, int64_t every_ms, int trials,
                     qt__hjb_bg **out, qt_err *err);
/* From the runner's thread after each bar: the bars up to index `to`
 * (exclusive) are the window's end, p[n] the set in effect (copied when
 * changed != 0).  Never blocks on a running optimization. */
void qt__hjb_bg_note(qt__hjb_bg *h, size_t to, const double *p, int changed);
/* 1 and the suggestion (params, value, gap) when the gap has stayed above
 * the threshold for the watch's intervals since the last take, else 0. */
int qt__hjb_bg_take(qt__hjb_bg *h, double *out_p, double *out_gap_pct);
/* Stops and joins; NULL is a no-op. */
void qt__hjb_bg_stop(qt__hjb_bg *h);

#endif
