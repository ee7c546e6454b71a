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

/* ---- parameter aliases: command-line flags for a built-in's params ----
 * A built-in may name some of its parameters as flags (`--atr-stop 2` for
 * atr_stop_multiplier).  The table sits in the strategy's file, outside the
 * plugin ABI; a plugin has none. */
typedef struct qt_param_alias {
  const char *flag;  /* without the leading "--", lower-case-with-dashes */
  const char *param; /* the qt_param_spec name it sets */
} qt_param_alias;
/* The aliases of s (static; *out_n = 0 and NULL for none). */
QT_API const qt_param_alias *qt_strategy_aliases(const qt_strategy_vtbl *s, size_t *out_n);

/* ---- parameter values from text (src/strategies/params.c) ----
 * The one parser of parameter values used by every command and by the
 * optimizer.  p holds n_params values in spec order (user units, categorical
 * as index) and is updated in place; set (NULL or n_params bytes) gets a 1 for
 * each parameter given.  Messages name the parameter, the value and what was
 * expected, e.g. `param 'fast': not an integer ("true")`, and for files the
 * file and line: `p.yaml:3: param 'fast': ...`. */
/* One value for ps: int, float (within [lo, hi]); bool true/false/yes/no/on/
 * off/1/0; categorical by label or index.  Spaces and one pair of quotes are
 * trimmed.  *out is 0 on failure (QT_EINVAL). */
QT_API int qt_param_parse(const qt_param_spec *ps, const char *text, size_t len, double *out,
                          qt_err *err);
/* Parameter `name` (a spec name) from its value text. */
QT_API int qt_params_set(const qt_strategy_vtbl *s, const char *name, const char *value, double *p,
                         unsigned char *set, qt_err *err);
/* "name=value,name=value" (empty items skipped). */
QT_API int qt_params_parse_list(const qt_strategy_vtbl *s, const char *list, double *p,
                                unsigned char *set, qt_err *err);
/* A params file's text: a JSON object when it starts with '{', else a flat
 * YAML map `name: value` (as `qtune best` writes), read by qt_yaml_load: at
 * most QT_YAML_MAX_BYTES, one document, no key twice, an alias is the value
 * it names.  file names it in messages. */
QT_API int qt_params_parse_text(const qt_strategy_vtbl *s, const char *text, size_t len,
                                const char *file, double *p, unsigned char *set, qt_err *err);
/* The file at path, read no further than QT_YAML_MAX_BYTES (more: QT_EINVAL). */
QT_API int qt_params_parse_file(const qt_strategy_vtbl *s, const char *path, double *p,
                                unsigned char *set, qt_err *err);
/* An alias flag (with or without "--") and its value (NULL: "1", for a bool
 * flag given alone).  QT_ENOTFOUND (no message) when flag is not an alias of
 * s; other errors are prefixed with the flag. */
QT_API int qt_params_set_flag(const qt_strategy_vtbl *s, const char *flag, const char *value,
                              double *p, unsigned char *set, qt_err *err);

/* ---- market_maker's quoting rule (src/strategies/market_maker.c) ----
 * The one computation of its quotes, shared by on_bar and by whoever
 * evaluates the policy outside a backtest (the HJB gap in validate).  p is
 * market_maker's parameter array in spec order. */
typedef struct qt_mm_quote {
  double bid_bps, ask_bps;  /* offsets of bid and ask from mid, bps (>= the floor) */
  double liq_units_per_s;   /* taker reduction rate, base units per second (0 below
                             * the urgency threshold) */
} qt_mm_quote;
/* The quotes at inventory ratio q_ratio (position / limit, signed) and
 * adverse-selection estimate mu.  Pure; never fails. */
QT_API void qt_market_maker_quote(const double *p, double q_ratio, double mu, qt_mm_quote *out);
/* One observation of the adverse-selection estimate: (2 * imbalance - 1) *
 * spread_bps / adverse_selection_spread_scale, imbalance in [0, 1]. */
QT_API double qt_market_maker_as_observation(const double *p, double imbalance,
                                             double spread_bps);

/* The variant of a built-in for a paper or live runner: the same rules with
 * its per-decision log lines (market_maker's StateVector/ControlVector) at
 * info instead of debug.  s itself when it has none (other built-ins,
 * plugins).  Static, never NULL for a non-NULL s. */
QT_API const qt_strategy_vtbl *qt_strategy_live_variant(const qt_strategy_vtbl *s);

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
