/* qtune strategies: the table of built-in strategies and the loader of
 * users' plugin strategies (shared objects exporting qt_strategy_entry). */
#ifndef QTUNE_QTUNE_STRATEGIES_H
#define QTUNE_QTUNE_STRATEGIES_H

#include "qtune/engine.h"
#include "qtune/strategy.h"

/* The built-ins, sorted by name; static. */
QT_API const qt_strategy_vtbl *const *qt_strategies_builtin(size_t *out_n);
/* A built-in by name, or NULL. */
QT_API const qt_strategy_vtbl *qt_strategy_find(const char *name);

/* ---- users' strategies (src/strategies/plugin.c) ---- */
/* Checks a vtable's shape: ABI, a lower-case name, callbacks (lookback, init,
 * on_bar), n_instruments 1 or 2, and the spec (unique lower_snake_case names,
 * known types, lo <= hi, default inside, log scale only with lo > 0,
 * categorical choices).  The message names the strategy and the field. */
QT_API int qt_strategy_validate(const qt_strategy_vtbl *s, qt_err *err);
/* dlopens the shared object at path, finds `qt_strategy_entry` and validates
 * it.  *out borrows from the object until qt_strategy_unload(*out_handle).
 * Errors name the path: dlopen's text, a missing symbol, an ABI mismatch
 * (expected and found) or the spec problem.  Out-params are NULL on failure. */
QT_API int qt_strategy_load(const char *path, const qt_strategy_vtbl **out, void **out_handle,
                            qt_err *err);
/* dlcloses a handle of qt_strategy_load; NULL is a no-op. */
QT_API void qt_strategy_unload(void *handle);
/* A built-in by name, or a plugin when name_or_path contains '/' or ends in
 * ".so" ("libmine.so" alone is read as "./libmine.so").  *out_handle is the
 * plugin handle to unload (NULL for a built-in).  NULL and err on failure. */
QT_API const qt_strategy_vtbl *qt_strategy_resolve(const char *name_or_path, void **out_handle,
                                                   qt_err *err);

/* ---- look-ahead check (src/strategies/lookahead.c) ---- */
typedef struct qt_lookahead_opts {
  int n_cuts;             /* cut points: 25%, 50%, 75%, then seeded random ones (default 8) */
  uint64_t seed;          /* for the random cuts (default 1) */
  qt_engine_opts engine;  /* engine options of every run (close_at_end is forced to 0) */
} qt_lookahead_opts;
QT_API qt_lookahead_opts qt_lookahead_opts_default(void);

typedef struct qt_lookahead_report {
  int found;            /* 1: the strategy's decisions before a cut depend on data after it */
  size_t n_cuts, n_runs;
  size_t cut_bar;       /* the first failing cut (bar index of feed 0), when found */
  int64_t cut_ms;
  char what[512];       /* the first difference, in words */
} qt_lookahead_report;

/* Runs s with params p on the full feeds and on copies cut at each cut point,
 * three per cut: the real rows kept in memory past the end, the rows after
 * the cut replaced by NaN, and the same with prices and quantities doubled
 * (so a strategy reading beyond the current bar through a pointer sees
 * different memory), and compares everything that happened before the cut:
 * orders, fills, cancels, rejections, signals, trades closed, fees and
 * equity per bar (the real-tail copy also against the full run).
 * out->n_runs = 1 + 3 * n_cuts.
 * QT_OK with out->found 0/1; errors (bad feeds, a failing run, OOM) < 0. */
QT_API int qt_lookahead_check(const qt_strategy_vtbl *s, const double *p, const qt_feed *feeds,
                              int n_feeds, const qt_lookahead_opts *o, qt_lookahead_report *out,
                              qt_err *err);

#endif
