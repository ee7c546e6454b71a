/* The daily schedule: which slot is due, given the last run (from the
 * storage's tune_runs, so a restart knows it), and the loop that sleeps to
 * the next slot on an injectable clock (tests pass a fake one). */
#include "qtune/tune.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS 86400000LL

int qt_tune_parse_at(const char *text, int *out_min, qt_err *err) {
  *out_min = 0;
  int h = -1, m = -1, used = 0;
  if (!text || sscanf(text, "%2d:%2d%n", &h, &m, &used) != 2 || text[used] || h < 0 || h > 23 ||
      m < 0 || m > 59)
    return qt_err_set(err, QT_EINVAL, "--at '%s': expected HH:MM (UTC), e.g. 01:00",
                      text ? text : "");
  *out_min = h * 60 + m;
  return QT_OK;
}

int64_t qt_tune_slot_before(int64_t now_ms, int at_min) {
  int64_t day = now_ms >= 0 ? now_ms / DAY_MS : (now_ms - DAY_MS + 1) / DAY_MS;
  int64_t slot = day * DAY_MS + (int64_t)at_min * 60000;
  return slot <= now_ms ? slot : slot - DAY_MS;
}

int qt_tune_due(int64_t last_run_ms, int64_t now_ms, int at_min) {
  return last_run_ms < qt_tune_slot_before(now_ms, at_min);
}

typedef struct real_clock {
  volatile int *stop;
} real_clock;

static int64_t real_now(void *ud) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int real_sleep(void *ud, int64_t t_ms) {
  volatile int *stop = ud;
  while (!*stop) {
    int64_t left = t_ms - real_now(NULL);
    if (left <= 0) return 0;
    if (left > 200) left = 200;
    struct timespec ts = {0, (long)left * 1000000L};
    nanosleep(&ts, NULL); /* EINTR (a signal) wakes it early: *stop is checked */
  }
  return 1;
}

qt_tune_clock qt_tune_clock_real(volatile int *stop) {
  qt_tune_clock c = {real_now, real_sleep, (void *)stop};
  return c;
}

/* One scheduled run: evaluate (applying the approved first), record, notify. */
static int one_run(qt_storage *s, const qt_tune_config *c, int64_t now,
                   void (*on_run)(void *ud, const qt_tune_report *r), void *ud, qt_err *err) {
  qt_tune_report *rep = qt_malloc(sizeof *rep);
  if (!rep) return qt_err_set(err, QT_ENOMEM, "out of memory");
  qt_tune_run_opts o = qt_tune_run_opts_default();
  o.now_ms = now;
  int r = qt_tune_execute(s, c, &o, rep, err);
  if (!r) {
    qt_tune_run run;
    memset(&run, 0, sizeof run);
    run.run_ms = now;
    run.n_proposed = (int64_t)rep->n_logged;
    run.n_applied = (int64_t)rep->n_applied_first;
    qt_tune_report_summary(rep, run.summary, sizeof run.summary);
    r = qt_tune_run_record(s, &run, NULL, err);
  }
  if (!r) {
    qt_err ne = {0};
    if (qt_tune_notify(c, rep, NULL, &ne))
      qt_log(QT_LOG_WARN, "tune: %s (the adjustments are stored)", ne.msg);
    if (on_run) on_run(ud, rep);
  }
  qt_free(rep);
  return r;
}

int qt_tune_daemon(qt_storage *s, const qt_tune_config *c, int at_min, const qt_tune_clock *clk,
                   void (*on_run)(void *ud, const qt_tune_report *r), void *ud, qt_err *err) {
  for (;;) {
    int64_t now = clk->now(clk->ud);
    qt_tune_run last;
    int r = qt_tune_run_last(s, &last, err);
    if (r == QT_ENOTFOUND) last.run_ms = 0;
    else if (r) return r;
    if (qt_tune_due(last.run_ms, now, at_min)) {
      char t[40];
      qt_log(QT_LOG_INFO, "tune: daemon run at %s", qt_time_format(now, t, sizeof t));
      if ((r = one_run(s, c, now, on_run, ud, err))) return r;
      last.run_ms = now;
    }
    int64_t next = qt_tune_slot_before(last.run_ms > now ? last.run_ms : now, at_min) + DAY_MS;
    char t[40];
    qt_log(QT_LOG_INFO, "tune: daemon: next run at %s", qt_time_format(next, t, sizeof t));
    if (clk->sleep_until(clk->ud, next)) return QT_OK;
  }
}
