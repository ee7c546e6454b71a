/* The replay feed: loaded bars of one or more symbols as closed-kline
 * events in time order, paced by the speed (bar interval / speed of wall
 * time between bars; speed 0 sends as fast as the reader takes them). */
#include "qtune/live.h"

#include <errno.h>
#include <string.h>
#include <time.h>

typedef struct replay {
  qt_live_replay_opts o;
  size_t next[QT_MARKET_MAX_SYMBOLS];
  int64_t start_ns;      /* wall clock of the first bar sent */
  int64_t first_ms;      /* its open time */
  int started;
  qt_live_counts counts;
  char sym[QT_MARKET_MAX_SYMBOLS][32];
} replay;

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The symbol whose next bar is earliest (ties: lower k); -1 when done. */
static int pick(const replay *r) {
  int best = -1;
  int64_t best_ts = 0;
  for (int k = 0; k < r->o.n; k++) {
    if (r->next[k] >= r->o.to[k]) continue;
    int64_t t = r->o.bars[k]->ts_ms[r->next[k]];
    if (best < 0 || t < best_ts) best = k, best_ts = t;
  }
  return best;
}

static int replay_next(void *self, qt_live_event *out, int timeout_ms, qt_err *err) {
  replay *r = self;
  int k = pick(r);
  if (k < 0) return QT_DONE;
  const qt_bars *b = r->o.bars[k];
  size_t i = r->next[k];
  if (r->o.speed > 0) {
    if (!r->started) {
      r->start_ns = mono_ns();
      r->first_ms = b->ts_ms[i];
      r->started = 1;
    }
    /* the bar is due when its close would have passed at this speed */
    int64_t iv = b->interval_ms > 0 ? b->interval_ms : 60000;
    double due_ns = (double)(b->ts_ms[i] - r->first_ms + iv) * 1e6 / r->o.speed;
    int64_t wait_ns = r->start_ns + (int64_t)due_ns - mono_ns();
    if (wait_ns > 0) {
      int64_t cap_ns = (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;
      int64_t sl = wait_ns < cap_ns ? wait_ns : cap_ns;
      if (sl > 0) {
        struct timespec ts = {sl / 1000000000, sl % 1000000000};
        while (nanosleep(&ts, &ts) && errno == EINTR && !(r->o.stop && *r->o.stop)) {
        }
      }
      if (sl < wait_ns) return QT_ETIMEOUT;
    }
  }
  memset(out, 0, sizeof *out);
  out->kind = QT_LIVE_BAR;
  memcpy(out->symbol, r->sym[k], sizeof out->symbol); /* per bar: no formatting */
  out->ts_ms = b->ts_ms[i];
  out->close_ms = out->ts_ms + (b->interval_ms > 0 ? b->interval_ms : 60000) - 1;
  out->closed = 1;
  out->open = b->open[i], out->high = b->high[i], out->low = b->low[i], out->close = b->close[i];
  out->volume = b->volume ? b->volume[i] : 0;
  out->replay_i = i;
  out->recv_ns = mono_ns();
  r->next[k]++;
  r->counts.messages++;
  r->counts.events++;
  return QT_OK;
}

static void replay_counts(const void *self, qt_live_counts *out) { *out = ((const replay *)self)->counts; }

static void replay_close(void *self) { qt_free(self); }

static const qt_livefeed_vtbl k_replay = {"replay", replay_next, replay_counts, replay_close};

int qt_livefeed_replay(const qt_live_replay_opts *o, qt_livefeed *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  if (!o || o->n < 1 || o->n > QT_MARKET_MAX_SYMBOLS || !(o->speed >= 0))
    return qt_err_set(err, QT_EINVAL, "replay feed: 1..%d symbols and a speed >= 0",
                      QT_MARKET_MAX_SYMBOLS);
  for (int k = 0; k < o->n; k++)
    if (!o->bars[k] || !o->symbols[k] || o->to[k] > o->bars[k]->n || o->from[k] > o->to[k])
      return qt_err_set(err, QT_EINVAL, "replay feed: symbol %d: no bars or a bad range", k);
  replay *r = qt_calloc(1, sizeof *r);
  if (!r) return qt_err_set(err, QT_ENOMEM, "replay feed: out of memory");
  r->o = *o;
  for (int k = 0; k < o->n; k++) {
    snprintf(r->sym[k], sizeof r->sym[k], "%s", o->symbols[k]);
    size_t i = o->from[k];
    while (i < o->to[k] && o->bars[k]->ts_ms[i] <= o->skip_through_ms[k]) i++;
    r->next[k] = i;
  }
  out->vt = &k_replay;
  out->self = r;
  return QT_OK;
}
