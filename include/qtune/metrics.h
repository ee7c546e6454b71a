/* qtune metrics: performance statistics of one backtest from its equity
 * curve and trade list.  Every formula and the annualization convention are
 * documented in docs/metrics.md.  Pure functions: no engine, no storage. */
#ifndef QTUNE_QTUNE_METRICS_H
#define QTUNE_QTUNE_METRICS_H

#include "qtune/core.h"
#include "qtune/engine.h"

/* One list makes the struct fields, the names (the keys users type for
 * --objective, the JSON/CSV columns) and the iteration order. */
#define QT_METRICS_LIST(X)                                                     \
  X(total_return, "total return, fraction (0.1 = +10%)")                      \
  X(total_profit, "final equity - start cash, quote currency")                \
  X(equity_final, "equity at the last bar's close, quote currency")           \
  X(equity_peak, "highest equity (start cash included), quote currency")      \
  X(cagr, "annualized return, fraction")                                      \
  X(volatility, "annualized volatility of per-bar returns, fraction")         \
  X(sharpe, "annualized Sharpe ratio of per-bar returns, rf = 0")             \
  X(sortino, "annualized Sortino ratio, downside deviation over all bars")    \
  X(sharpe_daily, "Sharpe of UTC-day-end equity returns, x sqrt(365|252)")    \
  X(sortino_daily, "Sortino of UTC-day-end equity returns, x sqrt(365|252)")  \
  X(calmar, "CAGR / max drawdown")                                            \
  X(max_drawdown, "max drawdown, fraction of the peak (0.2 = 20%)")           \
  X(max_drawdown_bars, "longest drawdown, bars from peak to recovery")        \
  X(max_drawdown_duration_ms, "longest drawdown, ms from peak to recovery")   \
  X(avg_drawdown, "mean drawdown over bars in drawdown, fraction")            \
  X(avg_drawdown_duration_ms, "mean drawdown spell, ms from peak to recovery") \
  X(profit_factor, "gross profit / gross loss, money")                        \
  X(profit_factor_return, "sum of winning / losing trade returns")            \
  X(win_rate, "winning trades / trades, fraction")                            \
  X(trades, "closed trades")                                                  \
  X(avg_trade, "mean trade P&L, money")                                       \
  X(avg_trade_return, "geometric mean trade return, fraction")                \
  X(median_trade, "median trade P&L, money")                                  \
  X(expectancy, "win_rate*avg_win - (1-win_rate)*avg_loss, money")            \
  X(expectancy_return, "mean trade return, fraction")                         \
  X(best_trade, "best trade P&L, money")                                      \
  X(best_trade_return, "best trade return, fraction")                         \
  X(worst_trade, "worst trade P&L, money")                                    \
  X(worst_trade_return, "worst trade return, fraction")                       \
  X(avg_trade_duration_ms, "mean trade duration, ms from entry to exit")      \
  X(max_trade_duration_ms, "longest trade, ms from entry to exit")            \
  X(sqn, "system quality number: sqrt(trades) * mean P&L / SD of P&L")        \
  X(kelly, "Kelly fraction: win_rate - (1-win_rate)/(avg_win/avg_loss)")      \
  X(exposure, "fraction of bars with an open position")                       \
  X(max_flat_ms, "longest time without an open position, ms")                 \
  X(fees_paid, "fees paid, money")                                            \
  X(funding_paid, "funding paid (negative: received), money")                 \
  X(expiry_rate, "signals closed by expiry / signals, fraction")              \
  X(buy_hold_return, "buy-and-hold return of instrument 0, fraction")         \
  X(alpha, "total_return - beta * buy_hold_return, fraction")                 \
  X(beta, "cov/var of per-bar returns against instrument 0's closes")

typedef struct qt_metrics {
#define QT__METRIC_FIELD(name, doc) double name;
  QT_METRICS_LIST(QT__METRIC_FIELD)
#undef QT__METRIC_FIELD
} qt_metrics;

#define QT__METRIC_COUNT(name, doc) +1
enum { QT_METRICS_N = 0 QT_METRICS_LIST(QT__METRIC_COUNT) };
#undef QT__METRIC_COUNT

typedef struct qt_metrics_opts {
  double bars_per_year; /* 0: from the bar interval on a 24/7 calendar */
  int calendar_247;     /* 1 (default): 365 days of 24 h; 0: 252 trading days */
  size_t buy_hold_from; /* curve index whose close buy-and-hold buys at (default 0, the
                         * first bar; backtesting.py: the last warm-up bar, see
                         * qt_metrics_buy_hold_from) */
} qt_metrics_opts;

QT_API qt_metrics_opts qt_metrics_opts_default(void);
/* backtesting.py's start of buy-and-hold ("first_trading_bar"): the close of
 * the bar where every indicator first has a value, bar lookback - 1 of the
 * series for a strategy whose first signal can come at bar `lookback`, as a
 * curve index when the curve starts at bar `from` (0 when from is past it). */
QT_API size_t qt_metrics_buy_hold_from(int lookback, size_t from);
/* Bars per year for a bar interval under the calendar (525600 for 1m 24/7;
 * 252 for 1d on an exchange calendar, 252*6.5h worth of intraday bars). */
QT_API double qt_metrics_bars_per_year(int64_t interval_ms, int calendar_247);
/* Computes all metrics of a run.  Degenerate input gives the documented NaN
 * or 0, never inf.  close0: r->n_bars closes of instrument 0 aligned with the
 * equity curve (NULL: buy_hold_return, alpha and beta are NaN); the metrics
 * in time (_ms, _daily) need r->ts_ms (NULL: NaN); o NULL means the
 * defaults.  No allocation except the median's scratch below.
 * QT_EINVAL for a NULL r or out (or arrays missing for non-zero counts);
 * QT_ENOMEM only when more than 256 trades need the median's scratch.  On
 * failure *out is all zeros. */
QT_API int qt_metrics_compute(const qt_result *r, const double *close0, const qt_metrics_opts *o,
                              qt_metrics *out, qt_err *err);
/* Metrics of a run while it runs (checkpoints, docs/pruning.md): a stream
 * keeps the curve accumulators, so each call reads only the bars added since
 * the previous one and the bars of a run are read once in all; the values
 * are exactly qt_metrics_compute's on the same result.  Successive calls must
 * pass results of one run growing from its first bar (the engine's
 * checkpoints, then the final result); qt_metrics_stream_reset (or a result
 * shorter than the bars already fed) starts over.  Trade statistics are
 * recomputed each call (trades are few).  new: QT_ENOMEM; free(NULL): no-op. */
typedef struct qt_metrics_stream qt_metrics_stream;
QT_API int qt_metrics_stream_new(qt_metrics_stream **out, qt_err *err);
QT_API void qt_metrics_stream_free(qt_metrics_stream *s);
QT_API void qt_metrics_stream_reset(qt_metrics_stream *s);
QT_API int qt_metrics_stream_compute(qt_metrics_stream *s, const qt_result *r, const double *close0,
                                     const qt_metrics_opts *o, qt_metrics *out, qt_err *err);
/* Name of metric k (0 <= k < QT_METRICS_N), or NULL. */
QT_API const char *qt_metrics_name(int k);
/* One-line description of metric k (units included), or NULL. */
QT_API const char *qt_metrics_doc(int k);
/* Index of a metric by name, or -1. */
QT_API int qt_metrics_index(const char *name);
/* How a person reads metric k: the unit its one-line description states.
 * Derived from the list above (no second list): a name ending in _ms is a
 * duration, in _bars or "trades" a count; a description saying "fraction"
 * a percentage, one ending in ", money" or naming the quote currency (and
 * not a quotient "x / y") money; the rest plain ratios. */
typedef enum qt_metric_unit {
  QT_UNIT_RATIO = 0,
  QT_UNIT_PERCENT = 1,  /* stored as a fraction: 0.1 is shown as 10 % */
  QT_UNIT_MONEY = 2,    /* quote currency */
  QT_UNIT_DURATION = 3, /* ms */
  QT_UNIT_COUNT = 4
} qt_metric_unit;
QT_API int qt_metrics_unit(int k);
/* Value of metric k of m (as a flat array in list order). */
QT_API double qt_metrics_get(const qt_metrics *m, int k);

/* ==== per-period returns (src/metrics/period.c) ====
 * The return series that the overfitting statistics read: equity (or
 * price) compounded into calendar periods of a fixed length, aligned to
 * the Unix epoch (days start at 00:00 UTC).  Bar i belongs to the period
 * holding its open ts_ms[i]; a period's value is the last one of its bars
 * (carried forward through a period with no bars). */
/* The period for a traded span: the longest of 1 day, 4 h, 1 h, 15 min,
 * 5 min and 1 min that gives at least 64 periods over span_ms and is not
 * shorter than the bar interval (else the interval itself). */
QT_API int64_t qt_metrics_returns_period(int64_t span_ms, int64_t interval_ms);
/* Number of periods between the opens ts_ms[0] and ts_ms[n-1] (n > 0). */
QT_API size_t qt_metrics_period_count(const int64_t *ts_ms, size_t n, int64_t period_ms);
/* out[k] = value at the end of period k / value at the end of period k-1 - 1,
 * the value before the first period being v0 (start cash, or the close
 * before the first traded bar); a non-positive earlier value gives 0 (a
 * blown account earns nothing more).  cap must hold
 * qt_metrics_period_count values; *out_n (may be NULL) gets that count and
 * *out_start_ms (may be NULL) the start of period 0.  QT_EINVAL when n == 0,
 * period_ms <= 0 or cap is too small.  No allocation. */
QT_API int qt_metrics_period_returns(const int64_t *ts_ms, const double *v, size_t n, double v0,
                                     int64_t period_ms, double *out, size_t cap, size_t *out_n,
                                     int64_t *out_start_ms, qt_err *err);
/* ==== end of per-period returns ==== */

#endif
