/* The paper runner's background HJB thread (paper_hjb.h).  The runner's
 * thread only stores the window's end and, on a change, the params under a
 * mutex it holds for a copy; the optimization itself runs unlocked on local
 * copies, so a bar never waits for it. */
#include "live/paper_hjb.h"
#include "qtune/validate.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define HJB_WINDOW 240 /* bars of the recent window the model is fitted to */
#define HJB_MIN 60     /* fewer bars than this: the interval is skipped */

struct qt__hjb_bg {
  const qt_bars *b;
  size_t n;
  int64_t every_ms;
  int trials;
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop;
  _Atomic size_t to;
  double p[QT_HJB_MAX_PARAMS];
  qt_hjb_gap_watch watch;
  int have;                 /* a suggestion waits for qt__hjb_bg_take */
  double sug[QT_HJB_MAX_PARAMS], sug_gap;
};

static void *run(void *u) {
  qt__hjb_bg *h = u;
  pthread_mutex_lock(&h->mu);
  while (!h->stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += h->every_ms / 1000;
    ts.tv_nsec += (h->every_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    while (!h->stop && pthread_cond_timedwait(&h->cv, &h->mu, &ts) == 0) {
    }
    if (h->stop) break;
    double p[QT_HJB_MAX_PARAMS];
    memcpy(p, h->p, sizeof p);
    pthread_mutex_unlock(&h->mu);
    size_t to = atomic_load(&h->to), from = to > HJB_WINDOW ? to - HJB_WINDOW : 0;
    qt_hjb_opts o = qt_hjb_opts_default();
    o.search_trials = h->trials;
    qt_hjb_result r;
    qt_err err;
    qt_err_clear(&err);
    int rc = to - from >= HJB_MIN ? qt_hjb_optimize(h->b, from, to, p, &o, &r, &err) : 1;
    if (rc < 0) qt_log(QT_LOG_WARN, "paper: background HJB: %s", err.msg);
    pthread_mutex_lock(&h->mu);
    if (rc == 1) continue; /* too few bars yet */
    if (qt_hjb_gap_note(&h->watch, rc ? NAN : r.gap_pct) && !rc) {
      memcpy(h->sug, r.suggested, sizeof h->sug);
      h->sug_gap = r.gap_pct;
      h->have = 1;
    }
  }
  pthread_mutex_unlock(&h->mu);
  return NULL;
}

int qt__hjb_bg_start(const qt_bars *b, const double *p, size_t n, int64_t every_ms, int trials,
                     qt__hjb_bg **out, qt_err *err) {
  *out = NULL;
  if (n > QT_HJB_MAX_PARAMS) return qt_err_set(err, QT_EINVAL, "paper: HJB: too many params");
  qt__hjb_bg *h = qt_calloc(1, sizeof *h);
  if (!h) return qt_err_set(err, QT_ENOMEM, "paper: out of memory");
  h->b = b, h->n = n, h->every_ms = every_ms > 0 ? every_ms : 60000, h->trials = trials;
  memcpy(h->p, p, n * sizeof *p);
  h->watch = (qt_hjb_gap_watch)QT_HJB_GAP_WATCH_INIT;
  pthread_mutex_init(&h->mu, NULL);
  pthread_cond_init(&h->cv, NULL);
  if (pthread_create(&h->th, NULL, run, h)) {
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    qt_free(h);
    return qt_err_set(err, QT_EIO, "paper: could not start the background HJB thread");
  }
  *out = h;
  return QT_OK;
}

void qt__hjb_bg_note(qt__hjb_bg *h, size_t to, const double *p, int changed) {
  atomic_store(&h->to, to);
  if (!changed) return;
  pthread_mutex_lock(&h->mu); /* held by the thread only between its runs */
  memcpy(h->p, p, h->n * sizeof *p);
  pthread_mutex_unlock(&h->mu);
}

int qt__hjb_bg_take(qt__hjb_bg *h, double *out_p, double *out_gap_pct) {
  int got = 0;
  if (pthread_mutex_trylock(&h->mu)) return 0; /* busy: next bar */
  if (h->have) {
    memcpy(out_p, h->sug, h->n * sizeof *out_p);
    *out_gap_pct = h->sug_gap;
    h->have = 0;
    got = 1;
  }
  pthread_mutex_unlock(&h->mu);
  return got;
}

void qt__hjb_bg_stop(qt__hjb_bg *h) {
  if (!h) return;
  pthread_mutex_lock(&h->mu);
  h->stop = 1;
  pthread_cond_signal(&h->cv);
  pthread_mutex_unlock(&h->mu);
  pthread_join(h->th, NULL);
  pthread_mutex_destroy(&h->mu);
  pthread_cond_destroy(&h->cv);
  qt_free(h);
}
