/* The qtune commands: one line each, name, function, summary.  A command
 * lives in src/cli/cmd_<name>.c and returns the process exit status. */
#ifndef QTUNE_CLI_COMMANDS_H
#define QTUNE_CLI_COMMANDS_H

#define QT_CLI_COMMANDS(X)                                                        \
  X("data", cmd_data, "import or download, inspect (info), verify, resample or synthesize market data") \
  X("backtest", cmd_backtest, "run one backtest and print its metrics")          \
  X("strategies", cmd_strategies, "list the built-in strategies and their params") \
  X("optimize", cmd_optimize, "run or resume a study (tune a strategy's params)")  \
  X("worker", cmd_worker, "join an existing study by name and run trials for it") \
  X("studies", cmd_studies, "list the studies of a storage")                     \
  X("analyze", cmd_analyze, "top trials and parameter importance of a study")    \
  X("best", cmd_best, "print a study's best trial, write its params file")       \
  X("report", cmd_report, "write a study's report: Markdown or self-contained HTML") \
  X("dashboard", cmd_dashboard, "serve the studies as live web pages (loopback, token)") \
  X("cleanup", cmd_cleanup, "delete a study's trials below a score")             \
  X("enqueue", cmd_enqueue, "queue parameter sets into a study (run before sampled ones)") \
  X("trial", cmd_trial, "show one trial in full, or set its note")              \
  X("walk-forward", cmd_walkforward, "walk-forward: a study per train window, its best tested on the next") \
  X("validate", cmd_validate, "overfitting statistics of a study: DSR, PBO, SPA, stability") \
  X("regimes", cmd_regimes, "label bars by market regime; a backtest's or a study best's metrics per regime") \
  X("stress", cmd_stress, "a backtest under a flash crash, higher costs, wider spreads and data gaps") \
  X("gate", cmd_gate, "promotion gate of a study's best against a baseline (exit 0 pass, 1 fail)") \
  X("check-lookahead", cmd_check_lookahead, "check a strategy for look-ahead (use of future data)") \
  X("live", cmd_live, "a run's live parameter history; revert to the previous set") \
  X("hjb", cmd_hjb, "HJB-optimal market making vs the market_maker's params (gap, suggestion)") \
  X("outcomes", cmd_outcomes, "import or list signal outcomes (what the auto-tuner reads)") \
  X("tune", cmd_tune, "the auto-tuner: run, review, approve, revert, apply, effective, daemon") \
  X("campaign", cmd_campaign, "paper campaigns over a parameter grid, ranked, with a report") \
  X("paper", cmd_paper, "paper-trade a strategy on a replay or a live feed (resumable)") \
  X("version", cmd_version, "print the version")

#define QT__CLI_DECL(name, fn, summary) int fn(int argc, char **argv);
QT_CLI_COMMANDS(QT__CLI_DECL)
#undef QT__CLI_DECL

#endif
