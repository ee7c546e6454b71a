/* qtune live: paper trading and the parameters of a running strategy.
 * Each section below is one module of src/live/; it does not place orders
 * itself (the paper runner's engine does) and never prints (logs go to the
 * qt_log sink). */
#ifndef QTUNE_QTUNE_LIVE_H
#define QTUNE_QTUNE_LIVE_H

#include "qtune/core.h"
#include "qtune/strategy.h"

#include <stdint.h>

/* ==================================================================
 * Live parameter files (src/live/params_file.c)
 * ==================================================================
 * A flat JSON object of parameter values that a running strategy takes
 * while it runs: validated against the strategy's spec, hot-reloaded by a
 * watcher thread (inotify on the file's folder, so an editor's
 * rename-over is seen; a poll every 5 s where inotify is unavailable),
 * limited in its step per reload if asked, and kept in a history beside the
 * file (<file>.history.jsonl, one JSON object per applied set) for
 * `qtune live history` and `qtune live revert`.
 *
 * Limits of the outside input: a params file is at most QT_LIVE_FILE_MAX
 * bytes; a history line at most QT_LIVE_LINE_MAX bytes (longer lines are
 * refused when read, naming the line). */
#define QT_LIVE_FILE_MAX (1024 * 1024)
#define QT_LIVE_LINE_MAX 8192
#define QT_LIVE_MAX_PARAMS 256 /* parameters of a strategy this module handles */

/* The second of the three outcomes of a reload: no file at the path; the
 * current parameters are kept.  Positive: not an error. */
#define QT_LIVE_NOT_FOUND 1

typedef struct qt_live_params qt_live_params;

typedef struct qt_live_params_opts {
  double max_step_pct; /* > 0: a set that moves any parameter by more than this percent of
                        * its current value (of its range when the value is 0) is refused;
                        * 0 (default): no limit */
  const char *run;     /* run name recorded in the history (copied; default "default") */
  int keep_history;    /* 1 (default): append every applied set to <path>.history.jsonl */
  int poll_ms;         /* the watcher's poll interval without inotify (default 5000) */
  int force_poll;      /* 1: poll even where inotify works (the benchmark's baseline) */
  /* Called after every applied set (reload, update, watcher), from the
   * thread that applied it, outside the lock; may be NULL. */
  void (*on_apply)(void *ud, uint64_t version);
  void *on_apply_ud;
} qt_live_params_opts;
QT_API qt_live_params_opts qt_live_params_opts_default(void);

/* A handle for the live params file at path for strategy s (borrowed; it
 * must outlive the handle), starting from initial[s->n_params] (spec order,
 * user units), which are not checked against the file.  Nothing is read
 * yet.  QT_EINVAL for a strategy with more than QT_LIVE_MAX_PARAMS params. */
QT_API int qt_live_params_new(const qt_strategy_vtbl *s, const char *path, const double *initial,
                              const qt_live_params_opts *o, qt_live_params **out, qt_err *err);
/* Stops the watcher if it runs, then frees; NULL is a no-op. */
QT_API void qt_live_params_free(qt_live_params *lp);

/* Reads and applies the file.  The three outcomes: QT_OK (reloaded; logs
 * `Tuning parameters reloaded successfully`), QT_LIVE_NOT_FOUND (no file:
 * current parameters kept) and an error < 0 (invalid JSON with line and
 * column, an unknown name, a value out of range, a step over the limit; the
 * message names the file and line; logs `Failed to reload config: <msg>`;
 * current parameters kept).  Names the file leaves out keep their values. */
QT_API int qt_live_params_reload(qt_live_params *lp, qt_err *err);
/* Applies p[s->n_params] directly, validated as a file is.  QT_OK or an
 * error (current parameters kept). */
QT_API int qt_live_params_update(qt_live_params *lp, const double *p, qt_err *err);
/* Copies the current parameters into out_p[s->n_params]; returns their
 * version (1 for the initial set, +1 per applied set).  Takes a lock:
 * call it when qt_live_params_version() changed, not every bar. */
QT_API uint64_t qt_live_params_get(qt_live_params *lp, double *out_p);
/* The current version, lock-free (an atomic load): cheap enough per bar. */
QT_API uint64_t qt_live_params_version(const qt_live_params *lp);
/* The runner's equity now, recorded with the next applied set so the
 * history shows the P&L of each set (NaN: unknown). */
QT_API void qt_live_params_set_equity(qt_live_params *lp, double equity);
/* The P&L of the set in effect so far: the last equity given minus the
 * equity when the set took effect (NaN when either is unknown). */
QT_API double qt_live_params_pnl(qt_live_params *lp);

/* Starts the watcher thread: on a change of the file it reloads and logs
 * `Auto-reloaded tuning parameters` or `Failed to reload config: <msg>`
 * (a deleted file: a warning, parameters kept).  QT_ESTATE when it runs. */
QT_API int qt_live_params_watch(qt_live_params *lp, qt_err *err);
/* Stops and joins the watcher; a no-op when it does not run. */
QT_API void qt_live_params_unwatch(qt_live_params *lp);
/* "inotify", "poll" or "off" (static). */
QT_API const char *qt_live_params_watch_mode(const qt_live_params *lp);

/* ---- the checks on their own ---- */
/* p[s->n_params] within the spec: the first value out of range gives
 * QT_EINVAL with exactly `Invalid parameter: NAME must be in [LO, HI], got V`
 * (bounds with one decimal at least: [0.0, 2.0]). */
QT_API int qt_live_params_check(const qt_strategy_vtbl *s, const double *p, qt_err *err);
/* from -> to moves no parameter by more than max_pct percent (see
 * max_step_pct); QT_EINVAL naming the parameter, both values and the limit. */
QT_API int qt_live_params_step_check(const qt_strategy_vtbl *s, const double *from,
                                     const double *to, double max_pct, qt_err *err);
/* Parses a file's text (file names it in messages) over current into
 * out_p (both s->n_params; out_p may be current), then checks it. */
QT_API int qt_live_params_parse(const qt_strategy_vtbl *s, const char *text, size_t len,
                                const char *file, const double *current, double *out_p,
                                qt_err *err);
/* Writes p as a flat JSON object (all of s's parameters, spec order) to
 * path atomically (core's writer: temp file, fsync, rename). */
QT_API int qt_live_params_write(const qt_strategy_vtbl *s, const char *path, const double *p,
                                qt_err *err);

/* ---- the history beside the file ---- */
typedef struct qt_live_history_entry {
  int64_t ts_ms;       /* when the set took effect */
  char run[128];
  char strategy[128];
  char source[16];     /* "reload", "update", "watch", "revert" */
  double equity;       /* the runner's equity when it took effect (NaN: unknown) */
  char params[QT_LIVE_LINE_MAX]; /* the set, a compact JSON object */
} qt_live_history_entry;
/* The history path of a params file: "<path>.history.jsonl" into buf. */
QT_API char *qt_live_history_path(const char *params_path, char *buf, size_t cap);
/* The entries of run (NULL: all) in the history of params_path, oldest
 * first.  *out (free with qt_free) is NULL and *out_n 0 when there is no
 * history.  QT_EPARSE naming the file and line of a bad line. */
QT_API int qt_live_history_load(const char *params_path, const char *run,
                                qt_live_history_entry **out, size_t *out_n, qt_err *err);
/* Writes the set before run's last one to params_path (atomically, so a
 * watching runner reloads it) and records it with source "revert";
 * *out_entry (may be NULL) gets the set written.  The set is checked
 * against the built-in named in the entry when there is one.  QT_ESTATE
 * when run has fewer than two sets. */
QT_API int qt_live_revert(const char *params_path, const char *run,
                          qt_live_history_entry *out_entry, qt_err *err);

#endif
