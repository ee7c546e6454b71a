/* qtune auto-tuner: reads a strategy's recent signal outcomes (storage's
 * signal_outcomes), applies the five tuning rules, proposes bounded
 * parameter adjustments with backtest evidence, and runs their review
 * lifecycle (paper_strategy_adjustments), notifications and the daily
 * schedule.  It is not an optimizer (optimize/ is) and it never trades; the
 * rules are heuristics, so nothing changes until a reviewer approves
 * (unless auto_apply is set).  docs/tuner.md is the user's side of this. */
#ifndef QTUNE_QTUNE_TUNE_H
#define QTUNE_QTUNE_TUNE_H

#include "qtune/core.h"
#include "qtune/engine.h"
#include "qtune/storage.h"

#include <stdio.h>

/* ---- the rules: one list makes the enum, the trigger names and the
 * direction each moves its parameters (+1 up, -1 down) ---- */
#define QT_TUNE_RULE_LIST(X)                        \
  X(WIN_RATE_LOW, 0, "win_rate_low", +1)            \
  X(WIN_RATE_HIGH, 1, "win_rate_high", -1)          \
  X(AVG_PNL_LOW, 2, "avg_pnl_low", +1)              \
  X(EXPIRY_RATE_HIGH, 3, "expiry_rate_high", +1)    \
  X(FEW_SIGNALS, 4, "few_signals", -1)
typedef enum qt_tune_rule {
#define QT_TUNE_RULE_ENUM_(name, value, text, dir) QT_TUNE_##name = value,
  QT_TUNE_RULE_LIST(QT_TUNE_RULE_ENUM_)
#undef QT_TUNE_RULE_ENUM_
  QT_TUNE_N_RULES
} qt_tune_rule;
QT_API const char *qt_tune_rule_name(int rule); /* static; "unknown" otherwise */
QT_API int qt_tune_rule_direction(int rule);    /* +1, -1; 0 for an unknown rule */
QT_API int qt_tune_rule_from_name(const char *name); /* -1 when unknown */

#define QT_TUNE_MAX_STRATEGIES 16
#define QT_TUNE_MAX_PARAMS 16

/* A tunable parameter of a strategy: its bounds (every proposal stays in
 * [lo, hi]), its default and how the report shows it. */
typedef struct qt_tune_param {
  char name[64];
  double lo, hi, def;
  int is_int;           /* proposals are whole numbers */
  double display_scale; /* the report shows value * scale (100: a fraction as a percent) */
} qt_tune_param;

/* A strategy's rule mapping: which parameters each rule moves. */
typedef struct qt_tune_strategy {
  char name[64];
  qt_tune_param params[QT_TUNE_MAX_PARAMS];
  size_t n_params;
  unsigned moves[QT_TUNE_N_RULES]; /* bit k: the rule moves params[k] */
  char symbol[32]; /* market data symbol of the evidence ("": the outcomes' most frequent) */
  char study[128]; /* a study whose holdout-validated best is the target ("" none) */
} qt_tune_strategy;

/* The tuner's settings: qt_tune_config_default, then a YAML file over it
 * (qt_tune_config_load).  Percentages are in percent. */
typedef struct qt_tune_config {
  int64_t window_ms;        /* the evaluation window (7d) */
  int64_t long_window_ms;   /* the longer evidence window (30d) */
  int64_t cooldown_ms;      /* a reverted change is not re-proposed for this long (7d) */
  double max_step_pct;      /* the cap of one adjustment step (25) */
  double win_rate_low_pct, win_rate_high_pct; /* rules 1, 2 (30, 70) */
  double avg_pnl_low_pct;   /* rule 3 (-1) */
  double expiry_rate_high_pct; /* rule 4 (50) */
  int64_t few_signals;      /* rule 5: fewer signals than this are "few" (5); below it
                               rules 1-4 do not judge */
  double decent_win_rate_pct; /* rule 5: a win rate at least this is "decent" (50) */
  double step_pct[QT_TUNE_N_RULES]; /* how far each rule moves (10, 5, 20, 25, 10) */
  int auto_apply;           /* proposals are approved by "auto" and applied at once (0) */
  char catalog[512];        /* market data catalog for the evidence ("" none) */
  qt_tune_strategy strategies[QT_TUNE_MAX_STRATEGIES];
  size_t n_strategies;
  /* notifications */
  char telegram_base_url[256]; /* "https://api.telegram.org" */
  char telegram_token[256];    /* secret: never printed nor logged */
  char telegram_chat_id[64];
  char webhook_url[512];
  int notify_attempts;         /* tries per notification (3) */
  int64_t notify_timeout_ms;   /* per try (10 s) */
  int64_t notify_backoff_ms;   /* wait before try k+1: k * backoff (1 s) */
} qt_tune_config;

/* The built-in settings: the defaults above and the mappings of
 * funding_arbitrage, grid_trading and directional_momentum (bounds and
 * defaults from their parameter specs); token, chat id and webhook from
 * QTUNE_TELEGRAM_TOKEN, QTUNE_TELEGRAM_CHAT_ID and QTUNE_WEBHOOK_URL when set. */
QT_API void qt_tune_config_default(qt_tune_config *c);
/* Reads the YAML text over c (see docs/tuner.md for the keys); a strategy
 * named there replaces or extends its mapping.  QT_EPARSE naming file, line
 * and key for anything malformed or unknown. */
QT_API int qt_tune_config_parse(qt_tune_config *c, const char *text, size_t len,
                                const char *file, qt_err *err);
/* qt_tune_config_parse of a file (at most 1 MiB). */
QT_API int qt_tune_config_load(qt_tune_config *c, const char *path, qt_err *err);
/* The mapping of strategy name, or NULL. */
QT_API const qt_tune_strategy *qt_tune_config_find(const qt_tune_config *c, const char *name);

/* ---- statistics of a window's outcomes ---- */
typedef struct qt_tune_stats {
  int64_t n_signals, n_wins, n_expired; /* a win: pnl > 0 */
  double total_pnl;      /* quote currency */
  double win_rate_pct, avg_pnl_pct, expiry_rate_pct; /* 0 when no signals */
  char top_symbol[32];   /* the most frequent symbol ("" when none) */
} qt_tune_stats;
QT_API void qt_tune_stats_compute(const qt_outcome *v, size_t n, qt_tune_stats *out);

/* ---- proposals (pure: no I/O) ---- */
typedef struct qt_tune_proposal {
  int rule;              /* qt_tune_rule */
  size_t param;          /* index into the strategy's params */
  double old_value, new_value;
  double metric_value;   /* the statistic that fired, in percent (a count for few_signals) */
  int clamped;           /* 1: clamped to a bound or to the step cap */
  char reason[256];      /* "Win rate 28.0% below threshold 30.0%" (+ clamping, study) */
} qt_tune_proposal;

/* One step of parameter p from old in direction dir (+1/-1) by step_pct
 * (capped at max_step_pct), or toward target when target is not NaN (a
 * study's best; capped the same way).  Whole-number parameters round away
 * from old but never past the cap.  The result is kept in [lo, hi]:
 * *out_clamped is 1 when the cap or a bound cut the move.  Returns 1 when
 * the value changes, 0 when it cannot (already at the bound). */
QT_API int qt_tune_step(const qt_tune_param *p, double old, int dir, double step_pct,
                        double max_step_pct, double target, double *out_new, int *out_clamped);

/* The rules on st for strategy ts with its current values (ts->n_params,
 * spec order of ts) and per-parameter targets (NULL, or NaN for none): at
 * most one proposal per parameter, the first rule (in list order) wins.
 * Fills out (cap entries), *out_n. */
QT_API void qt_tune_rules_eval(const qt_tune_config *c, const qt_tune_strategy *ts,
                               const qt_tune_stats *st, const double *current,
                               const double *target, qt_tune_proposal *out, size_t cap,
                               size_t *out_n);

/* ---- outcomes in and out ---- */
/* Reads outcomes from a CSV (header strategy,symbol,signal_time,side,
 * entry_time,entry_price,exit_time,exit_price,pnl,pnl_pct,status; extra
 * columns params_version and key are optional) or a JSON array of objects
 * with the same keys (chosen by the first non-blank byte, '['); times in
 * any qt_time_parse form (JSON also takes epoch numbers).  At most 64 MiB
 * and 1,000,000 outcomes.  QT_EPARSE naming file, line and field.  *out is
 * qt_malloc'd (qt_free). */
QT_API int qt_tune_outcomes_read(const char *path, qt_outcome **out, size_t *out_n, qt_err *err);
/* The closed trades of a backtest as outcomes of strategy (source
 * "backtest", symbol of each trade's feed, params_version as given,
 * status expired for trades that closed by expiry, pnl_pct of the entry
 * notional).  *out is qt_malloc'd (NULL when there are no trades). */
QT_API int qt_tune_outcomes_from_result(const qt_result *r, const qt_feed *feeds, int n_feeds,
                                        const char *strategy, const char *params_version,
                                        qt_outcome **out, size_t *out_n, qt_err *err);
/* A short stable name of a parameter vector: "p" + 16 hex digits of a hash
 * of the values.  Returns buf. */
QT_API char *qt_tune_params_version(const double *p, size_t n, char *buf, size_t cap);

/* ---- a run ---- */
typedef struct qt_tune_run_opts {
  const char *strategy; /* NULL: every strategy with outcomes */
  int64_t now_ms;       /* the clock (injected by tests; 0 = now) */
  int dry_run;          /* evaluate and report only: nothing is stored or applied */
  int auto_apply;       /* also when c->auto_apply */
} qt_tune_run_opts;
QT_API qt_tune_run_opts qt_tune_run_opts_default(void);

/* What happened to one strategy. */
#define QT_TUNE_MAX_NOTES 8
typedef struct qt_tune_item {
  char strategy[64];
  int mapped;            /* 0: no rule mapping declared */
  qt_tune_stats stats;
  qt_tune_proposal props[QT_TUNE_MAX_PARAMS];
  int64_t ids[QT_TUNE_MAX_PARAMS]; /* stored ids (0 in a dry run) */
  char evidence[QT_TUNE_MAX_PARAMS][2048]; /* JSON; "{}" when none */
  char param_names[QT_TUNE_MAX_PARAMS][64];
  double display_scale[QT_TUNE_MAX_PARAMS];
  size_t n_props;
  char notes[QT_TUNE_MAX_NOTES][200]; /* proposals held back (cooldown, still pending) */
  size_t n_notes;
} qt_tune_item;

typedef struct qt_tune_report {
  int64_t run_ms;
  int dry_run, auto_apply;
  size_t n_applied_first; /* approved adjustments applied before evaluating */
  size_t n_logged;        /* proposals stored */
  qt_tune_item items[QT_TUNE_MAX_STRATEGIES * 2];
  size_t n_items;
} qt_tune_report;

/* Applies every approved adjustment (approved -> applied at now_ms), oldest
 * first; *out_n how many. */
QT_API int qt_tune_apply_approved(qt_storage *s, int64_t now_ms, size_t *out_n, qt_err *err);

/* One run: applies the approved adjustments (unless dry_run), evaluates
 * each strategy's last window of outcomes, holds back proposals that are
 * still pending/approved or cooling down after a revert, attaches backtest
 * evidence (when c->catalog has the data), and logs the rest as pending
 * (or applies them with auto_apply).  out is caller storage (large: heap
 * or static).  The run is not recorded in tune_runs (the caller does). */
QT_API int qt_tune_execute(qt_storage *s, const qt_tune_config *c, const qt_tune_run_opts *o,
                           qt_tune_report *out, qt_err *err);

/* The report as the design prints it ("=== Strategy Auto-Tuner Report ==="). */
QT_API void qt_tune_report_write_text(const qt_tune_report *r, FILE *f);
/* The report as one JSON object. */
QT_API int qt_tune_report_write_json(const qt_tune_report *r, FILE *f, qt_err *err);
/* The notification text of a report (a short summary) into buf. */
QT_API char *qt_tune_report_summary(const qt_tune_report *r, char *buf, size_t cap);
/* The evidence JSON as one line: "backtest, last 7 days: win rate 28% ->
 * 41%, P&L -$145 -> +$12; last 30 days: ..." or "" when there is none. */
QT_API char *qt_tune_evidence_text(const char *evidence_json, char *buf, size_t cap);

/* ---- evidence ---- */
/* Backtests current and proposed values (the tune params of ts, over the
 * strategy's spec defaults) of a built-in strategy on symbol's bars of the
 * catalog, in [now - window, now) and [now - long_window, now); writes
 * {"symbol":..., "7d": {"current": {...}, "proposed": {...}}, "30d": ...}
 * (each side: trades, win_rate_pct, pnl) or {"unavailable": "why"} into
 * buf.  Missing data is not an error (it says so in the JSON). */
QT_API int qt_tune_evidence(const qt_tune_config *c, const qt_tune_strategy *ts,
                            const char *symbol, const double *current, const double *proposed,
                            int64_t now_ms, char *buf, size_t cap, qt_err *err);

/* The holdout-validated best of a study for ts's params: from the study's
 * config_json "holdout" result, the feasible trial with the best
 * out-of-sample objective.  out_target (ts->n_params) gets its values, NaN
 * for params the study did not vary.  QT_ENOTFOUND when the study has no
 * holdout or no feasible trial. */
QT_API int qt_tune_study_best(qt_storage *s, const char *study, const qt_tune_strategy *ts,
                              double *out_target, qt_err *err);

/* ---- effective parameters ---- */
/* The values ts runs with: defaults, then every applied adjustment in the
 * order applied.  out (ts->n_params). */
QT_API int qt_tune_effective(qt_storage *s, const qt_tune_strategy *ts, double *out, qt_err *err);
/* The effective values as a params file (every spec parameter of a
 * built-in, else ts's): flat YAML "name: value" lines, or a flat JSON
 * object (json 1).  Loadable by qt_params_parse_file. */
QT_API int qt_tune_effective_write(qt_storage *s, const qt_tune_strategy *ts, int json, FILE *f,
                                   qt_err *err);

/* ---- notifications (libcurl) ---- */
/* Sends text through Telegram's sendMessage ({base}/bot{token}/sendMessage,
 * JSON {"chat_id","text"}) when a token and chat id are set, and the report
 * as JSON {"event":"tune_run","summary":text,"report":{...}} to the webhook
 * when set; each tried up to notify_attempts times.  Failures are logged
 * (never with the token) and returned as QT_EIO; *out_sent (may be NULL)
 * counts the channels that got through. */
QT_API int qt_tune_notify(const qt_tune_config *c, const qt_tune_report *r, int *out_sent,
                          qt_err *err);

/* ---- the daily schedule ---- */
/* "HH:MM" (UTC) into minutes after midnight. */
QT_API int qt_tune_parse_at(const char *text, int *out_min, qt_err *err);
/* The latest scheduled time at or before now_ms (today's HH:MM or yesterday's). */
QT_API int64_t qt_tune_slot_before(int64_t now_ms, int at_min);
/* 1 when a run is due: the last run (0 = never) is before the latest slot. */
QT_API int qt_tune_due(int64_t last_run_ms, int64_t now_ms, int at_min);

/* The daemon's clock: now, and a sleep until t (or until stop) that returns
 * non-zero to stop the daemon.  Tests inject a fake one. */
typedef struct qt_tune_clock {
  int64_t (*now)(void *ud);
  int (*sleep_until)(void *ud, int64_t t_ms);
  void *ud;
} qt_tune_clock;
/* A clock on CLOCK_REALTIME whose sleep wakes every 200 ms to check *stop. */
QT_API qt_tune_clock qt_tune_clock_real(volatile int *stop);

/* Runs the tuner daily at at_min: at start-up when a run is due (the last
 * run, from tune_runs, is before the latest slot: a missed run happens once,
 * not twice), then at each slot.  Each run applies approved adjustments,
 * evaluates, records itself in tune_runs, and notifies (a failed notification
 * is logged; nothing is rolled back).  on_run (may be NULL) sees each
 * report.  Returns QT_OK when the clock says stop; the error of a failed
 * run otherwise. */
QT_API int qt_tune_daemon(qt_storage *s, const qt_tune_config *c, int at_min,
                          const qt_tune_clock *clk,
                          void (*on_run)(void *ud, const qt_tune_report *r), void *ud,
                          qt_err *err);

#endif
