/* A backtest's result for a person (docs/results.md): the table with money
 * in its currency, percentages with %, durations as time and the
 * annualization named; the header echoing costs and simulation settings; the
 * warnings on figures that should not be trusted as they stand; and the
 * breakdowns of the trades by exit reason, side or period.  JSON stays the
 * caller's (plain numbers, units in the key names). */
#include "qtune/metrics.h"
#include "qtune/report.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL

/* ------------------------------------------------------------ formatting */

char *qt_report_quote_ccy(const char *symbol, char *buf, size_t cap) {
  static const char *const k_quotes[] = {"FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USD", "EUR",
                                         "GBP",   "JPY",  "BTC",  "ETH",  "BNB"};
  if (cap) buf[0] = 0;
  if (!symbol || !cap) return buf;
  size_t n = 0; /* the leading run of capitals and digits: AVAXUSDT of AVAXUSDT-1m-2026-06.csv */
  while (symbol[n] && (isupper((unsigned char)symbol[n]) || isdigit((unsigned char)symbol[n]))) n++;
  for (size_t k = 0; k < sizeof k_quotes / sizeof k_quotes[0]; k++) {
    size_t q = strlen(k_quotes[k]);
    if (n > q && strncmp(symbol + n - q, k_quotes[k], q) == 0) {
      snprintf(buf, cap, "%s", k_quotes[k]);
      break;
    }
  }
  return buf;
}

char *qt_report_duration(double ms, char *buf, size_t cap) {
  if (!isfinite(ms)) {
    snprintf(buf, cap, "-");
    return buf;
  }
  long long s = (long long)llround(fabs(ms) / 1000.0);
  long long d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60, sec = s % 60;
  const char *sign = ms < 0 ? "-" : "";
  if (d) snprintf(buf, cap, "%s%lldd %lldh", sign, d, h);
  else if (h) snprintf(buf, cap, "%s%lldh %lldm", sign, h, m);
  else if (m) snprintf(buf, cap, "%s%lldm %llds", sign, m, sec);
  else snprintf(buf, cap, "%s%llds", sign, sec);
  return buf;
}

char *qt_report_money(double v, const char *ccy, char *buf, size_t cap) {
  if (!isfinite(v)) {
    snprintf(buf, cap, "-");
    return buf;
  }
  if (v != 0 && fabs(v) < 1) { /* cents would hide it: 4 significant digits */
    snprintf(buf, cap, "%.4g%s%s", v, ccy && *ccy ? " " : "", ccy ? ccy : "");
    return buf;
  }
  char digits[64];
  snprintf(digits, sizeof digits, "%.2f", fabs(v));
  char *dot = strchr(digits, '.');
  size_t ni = dot ? (size_t)(dot - digits) : strlen(digits), o = 0;
  char out[96];
  if (v < 0 && strcmp(digits, "0.00") != 0) out[o++] = '-';
  for (size_t i = 0; i < ni; i++) { /* thousands separated by ',' */
    if (i && (ni - i) % 3 == 0) out[o++] = ',';
    out[o++] = digits[i];
  }
  out[o] = 0;
  snprintf(buf, cap, "%s%s%s%s", out, dot ? dot : "", ccy && *ccy ? " " : "", ccy ? ccy : "");
  return buf;
}

/* The interval as people write it: 1m, 5m, 1h, 4h, 1d, 1w, else in ms. */
static char *interval_text(int64_t ms, char *buf, size_t cap) {
  if (ms > 0 && ms % (7 * DAY_MS) == 0) snprintf(buf, cap, "%lldw", (long long)(ms / (7 * DAY_MS)));
  else if (ms > 0 && ms % DAY_MS == 0) snprintf(buf, cap, "%lldd", (long long)(ms / DAY_MS));
  else if (ms > 0 && ms % 3600000 == 0) snprintf(buf, cap, "%lldh", (long long)(ms / 3600000));
  else if (ms > 0 && ms % 60000 == 0) snprintf(buf, cap, "%lldm", (long long)(ms / 60000));
  else snprintf(buf, cap, "%lld ms", (long long)ms);
  return buf;
}

static double bars_per_year(const qt_report_bt *b) {
  return b->mo.bars_per_year > 0 ? b->mo.bars_per_year
                                 : qt_metrics_bars_per_year(b->r->interval_ms, b->mo.calendar_247);
}

/* "sharpe (per 1m bar, x sqrt(525600))": the metric's name with the
 * annualization it carries, for the ones that have one. */
static void metric_label(const qt_report_bt *b, int k, char *buf, size_t cap) {
  const char *n = qt_metrics_name(k);
  char iv[32];
  interval_text(b->r->interval_ms, iv, sizeof iv);
  double bpy = bars_per_year(b);
  int days = b->mo.calendar_247 ? 365 : 252;
  if (!strcmp(n, "sharpe") || !strcmp(n, "sortino") || !strcmp(n, "volatility"))
    snprintf(buf, cap, "%s (per %s bar, x sqrt(%.6g))", n, iv, bpy);
  else if (!strcmp(n, "sharpe_daily") || !strcmp(n, "sortino_daily"))
    snprintf(buf, cap, "%s (UTC days, x sqrt(%d))", n, days);
  else if (!strcmp(n, "cagr") || !strcmp(n, "calmar"))
    snprintf(buf, cap, "%s (%.6g %s bars a year)", n, bpy, iv);
  else if (!strcmp(n, "buy_hold_return"))
    snprintf(buf, cap, "%s (from bar %zu)", n, b->mo.buy_hold_from);
  else
    snprintf(buf, cap, "%s", n);
}

static void metric_value(const qt_report_bt *b, int k, const char *ccy, char *buf, size_t cap) {
  double v = qt_metrics_get(b->m, k);
  if (!isfinite(v)) {
    snprintf(buf, cap, "-");
    return;
  }
  switch (qt_metrics_unit(k)) {
  case QT_UNIT_PERCENT: /* 2 decimals, or 3 significant digits below 0.01 % */
    snprintf(buf, cap, v != 0 && fabs(v) < 1e-4 ? "%.3g %%" : "%.2f %%", v * 100);
    break;
  case QT_UNIT_MONEY: qt_report_money(v, ccy, buf, cap); break;
  case QT_UNIT_DURATION: qt_report_duration(v, buf, cap); break;
  case QT_UNIT_COUNT: snprintf(buf, cap, "%.0f", v); break;
  default: snprintf(buf, cap, "%.4g", v); break;
  }
}

/* ------------------------------------------------------------- warnings */

static void warn(qt_report_warnings *w, const char *fmt, ...) QT_PRINTF(2, 3);
static void warn(qt_report_warnings *w, const char *fmt, ...) {
  if (w->n == QT_REPORT_MAX_WARNINGS) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->text[w->n++], sizeof w->text[0], fmt, ap);
  va_end(ap);
}

/* Whether the name reads as a perpetual future's (ccxt's BTC/USDT:USDT,
 * freqtrade's XRP_USDT_USDT-5m-futures, exchanges' -PERP / -SWAP). */
static int looks_perpetual(const char *name) {
  static const char *const k_marks[] = {"perp", "swap", "futures", "_usdt_usdt", ":usdt"};
  char low[64];
  size_t n = 0;
  for (; name[n] && n + 1 < sizeof low; n++) low[n] = (char)tolower((unsigned char)name[n]);
  low[n] = 0;
  for (size_t k = 0; k < sizeof k_marks / sizeof k_marks[0]; k++)
    if (strstr(low, k_marks[k])) return 1;
  return 0;
}

void qt_report_bt_warnings(const qt_report_bt *b, qt_report_warnings *w) {
  memset(w, 0, sizeof *w);
  const qt_result *r = b->r;
  const qt_metrics *m = b->m;
  if (m->trades < QT_REPORT_MIN_TRADES)
    warn(w, "only %.0f trades (< %d): win rate, profit factor, SQN and Kelly are noise at this count",
         m->trades, QT_REPORT_MIN_TRADES);
  if (r->n_bars > 0 && r->ts_ms) {
    double days = (double)(r->ts_ms[r->n_bars - 1] + r->interval_ms - r->ts_ms[0]) / DAY_MS;
    if (days < QT_REPORT_MIN_DAYS)
      warn(w, "the window is %.1f days (< %d): cagr, sharpe, sortino, volatility and calmar "
              "extrapolate it to a year", days, QT_REPORT_MIN_DAYS);
  }
  if (m->sharpe > QT_REPORT_MAX_SHARPE)
    warn(w, "sharpe %.2f > %g: rarely real; check the costs, look-ahead (qtune check-lookahead) "
            "and the data", m->sharpe, QT_REPORT_MAX_SHARPE);
  if (m->calmar > QT_REPORT_MAX_CALMAR)
    warn(w, "calmar %.1f > %g: rarely real; a short window or a tiny drawdown inflates it",
         m->calmar, QT_REPORT_MAX_CALMAR);
  const qt_market *mk = b->market;
  if (mk && mk->n_feeds > 0 && r->n_bars > 1 && r->interval_ms > 0) {
    const qt_bars *bars = mk->feeds[0].bars;
    /* daily and longer bars of an exchange calendar skip weekends and
     * holidays: only steps over 4 intervals count there */
    int64_t iv = r->interval_ms, limit = iv >= DAY_MS ? 4 * iv : iv;
    size_t gaps = 0, missing = 0, i0 = mk->from_i;
    int64_t longest = 0;
    for (size_t i = i0 + 1; i < i0 + r->n_bars && i < bars->n; i++) {
      int64_t step = bars->ts_ms[i] - bars->ts_ms[i - 1];
      if (step <= limit) continue;
      gaps++;
      missing += (size_t)(step / iv - 1);
      if (step > longest) longest = step;
    }
    if (gaps) {
      char d[40];
      warn(w, "%zu gaps in the window (%zu missing bars, the longest %s): the strategy saw no "
              "prices there", gaps, missing, qt_report_duration((double)longest, d, sizeof d));
    }
    const qt_feed *f0 = &mk->feeds[0];
    if (f0->inst.kind != QT_INST_PERP && looks_perpetual(f0->inst.symbol))
      warn(w, "'%s' looks like a perpetual future but has no funding series: funding is not "
              "simulated (import its funding rates beside the bars)", f0->inst.symbol);
  }
}

/* ---------------------------------------------------------------- table */

void qt_report_bt_header(FILE *f, const qt_report_bt *b) {
  const qt_result *r = b->r;
  const qt_market *mk = b->market;
  const qt_engine_opts *eo = b->eo;
  char a[40], z[40], d[40], iv[32], ccy[16], cash[64], desc[512];
  const qt_feed *f0 = mk && mk->n_feeds ? &mk->feeds[0] : NULL;
  qt_report_quote_ccy(f0 ? f0->inst.symbol : NULL, ccy, sizeof ccy);
  qt_time_format(r->ts_ms[0], a, sizeof a);
  qt_time_format(r->ts_ms[r->n_bars - 1], z, sizeof z);
  fprintf(f, "strategy    %s\nparams     ", b->s->name);
  for (size_t k = 0; k < b->s->n_params; k++) {
    const qt_param_spec *ps = &b->s->params[k];
    if (ps->type == QT_PARAM_CAT && (size_t)b->params[k] < ps->n_choices)
      fprintf(f, " %s=%s", ps->name, ps->choices[(size_t)b->params[k]]);
    else
      fprintf(f, " %s=%g", ps->name, b->params[k]);
  }
  if (mk) fprintf(f, "\nmarket      %s", qt_market_describe(mk, desc, sizeof desc));
  fprintf(f, "\ntraded      %zu bars, %s .. %s (%s of %s bars)\n", r->n_bars, a, z,
          qt_report_duration((double)(r->ts_ms[r->n_bars - 1] + r->interval_ms - r->ts_ms[0]), d,
                             sizeof d),
          interval_text(r->interval_ms, iv, sizeof iv));
  if (f0)
    fprintf(f, "costs       fees maker %g bps, taker %g bps; slippage %g bps on market and stop fills\n",
            f0->inst.maker_bps, f0->inst.taker_bps, eo->slippage_bps);
  static const char *const k_end[] = {"no (positions stay open)", "at the last close",
                                      "at the last bar's open"};
  int acc = eo->trade_accounting;
  if (acc == QT_ACCOUNTING_AUTO) acc = (b->s->needs & QT_NEEDS_LOTS) ? QT_ACCOUNTING_LOTS : QT_ACCOUNTING_AVERAGE;
  char lev[32];
  if (eo->leverage_cap > 0) snprintf(lev, sizeof lev, "%gx", eo->leverage_cap);
  else snprintf(lev, sizeof lev, "none");
  char fund[64];
  if (f0 && f0->inst.kind == QT_INST_PERP && f0->funding)
    snprintf(fund, sizeof fund, "on (%zu settlements)", f0->funding->n);
  else
    snprintf(fund, sizeof fund, "off (spot: no funding series)");
  fprintf(f,
          "simulation  cash %s; leverage cap %s; funding %s; close at end %s; market orders fill "
          "at %s; %s mode; trades %s%s\n",
          qt_report_money(eo->cash, ccy, cash, sizeof cash), lev, fund,
          k_end[eo->close_at_end >= 0 && eo->close_at_end <= 2 ? eo->close_at_end : 1],
          eo->trade_on_close ? "the signal bar's close" : "the next open",
          eo->hedge_mode ? "hedge" : "one-way",
          acc == QT_ACCOUNTING_LOTS ? "as lots (entries FIFO or linked)" : "at the average price",
          ccy[0] ? "" : "; money in the quote currency");
  fprintf(f, "orders      %zu (fills %zu, rejected %zu, cancelled %zu)%s\n", r->n_orders,
          r->n_fills, r->n_rejected, r->n_cancelled, r->liquidated ? "  LIQUIDATED" : "");
}

int qt_report_bt_table(FILE *f, const qt_report_bt *b, qt_err *err) {
  if (!f || !b || !b->r || !b->m || !b->s || !b->eo || !b->r->n_bars)
    return qt_err_set(err, QT_EINVAL, "backtest table: missing input");
  qt_report_bt_header(f, b);
  fputc('\n', f);
  char ccy[16], label[96], val[64];
  qt_report_quote_ccy(b->market && b->market->n_feeds ? b->market->feeds[0].inst.symbol : NULL,
                      ccy, sizeof ccy);
  for (int k = 0; k < QT_METRICS_N; k++) {
    metric_label(b, k, label, sizeof label);
    metric_value(b, k, ccy, val, sizeof val);
    fprintf(f, "%-42s %18s\n", label, val);
  }
  return ferror(f) ? qt_err_set(err, QT_EIO, "backtest table: write failed") : QT_OK;
}

/* ------------------------------------------------------------ breakdown */

int qt_report_breakdown_parse(const char *s, int *out) {
  static const char *const k_by[] = {"exit", "side", "day", "week", "month"};
  for (int k = 0; k < 5; k++)
    if (s && !strcmp(s, k_by[k])) return *out = k, QT_OK;
  return QT_EINVAL;
}

const char *qt_report_breakdown_name(int by) {
  static const char *const k_by[] = {"exit", "side", "day", "week", "month"};
  return by >= 0 && by < 5 ? k_by[by] : "unknown";
}

/* The group key of trade t: its exit reason, its side, or its exit's UTC
 * day, ISO week (2026-W27) or month. */
static void key_of(const qt_trade_rec *t, int by, char *buf, size_t cap) {
  if (by == QT_BREAKDOWN_EXIT) {
    snprintf(buf, cap, "%s", qt_exit_reason_name(t->exit_reason));
    return;
  }
  if (by == QT_BREAKDOWN_SIDE) {
    snprintf(buf, cap, "%s", t->side == QT_BUY ? "long" : "short");
    return;
  }
  int64_t day = t->exit_ms >= 0 ? t->exit_ms / DAY_MS : (t->exit_ms - DAY_MS + 1) / DAY_MS;
  char iso[40];
  if (by == QT_BREAKDOWN_WEEK) {
    /* ISO 8601: the week of the Thursday of this Monday-based week */
    int64_t wd = ((day % 7) + 7 + 3) % 7; /* 1970-01-01 was a Thursday: Monday = 0 */
    int64_t thu = day - wd + 3;
    qt_time_format(thu * DAY_MS, iso, sizeof iso);
    int y = atoi(iso);
    char jan1[16];
    snprintf(jan1, sizeof jan1, "%04d-01-01", y);
    int64_t j1 = 0;
    qt_time_parse(jan1, strlen(jan1), &j1, NULL);
    snprintf(buf, cap, "%04d-W%02lld", y, (long long)((thu - j1 / DAY_MS) / 7 + 1));
    return;
  }
  qt_time_format(day * DAY_MS, iso, sizeof iso);
  snprintf(buf, cap, "%.*s", by == QT_BREAKDOWN_DAY ? 10 : 7, iso);
}

int qt_report_breakdown(const qt_result *r, int by, qt_breakdown_row *rows, size_t cap,
                        size_t *out_n, qt_err *err) {
  *out_n = 0;
  if (by < QT_BREAKDOWN_EXIT || by > QT_BREAKDOWN_MONTH)
    return qt_err_set(err, QT_EINVAL, "--breakdown: want exit, side, day, week or month");
  size_t n = 0;
  for (size_t j = 0; j < r->n_trades; j++) {
    const qt_trade_rec *t = &r->trades[j];
    char key[sizeof rows[0].key];
    key_of(t, by, key, sizeof key);
    size_t g = n;
    /* trades come in exit order, so a period's group is nearly always the last one */
    for (size_t a = n; a-- > 0;)
      if (!strcmp(rows[a].key, key)) {
        g = a;
        break;
      }
    if (g == n) {
      if (n == cap)
        return qt_err_set(err, QT_EINVAL, "--breakdown %s: more than %zu groups",
                          qt_report_breakdown_name(by), cap);
      memset(&rows[n], 0, sizeof rows[n]);
      snprintf(rows[n].key, sizeof rows[n].key, "%s", key);
      n++;
    }
    qt_breakdown_row *w = &rows[g];
    w->trades++;
    w->wins += t->pnl > 0;
    w->pnl += t->pnl;
    w->fees += t->fees;
    double notional = fabs(t->qty) * t->entry_price;
    if (notional > 0) w->return_sum += t->pnl / notional;
    w->duration_ms_sum += (double)(t->exit_ms - t->entry_ms);
  }
  *out_n = n;
  return QT_OK;
}

int qt_report_breakdown_table(FILE *f, const qt_breakdown_row *rows, size_t n, int by,
                              const char *ccy, qt_err *err) {
  char pnl[64], avg[64], fees[64], dur[40];
  fprintf(f, "\nby %s\n%-14s %7s %8s %20s %18s %10s %16s %10s\n", qt_report_breakdown_name(by),
          qt_report_breakdown_name(by), "trades", "win %", "P&L", "avg P&L", "avg ret", "fees",
          "avg held");
  for (size_t k = 0; k < n; k++) {
    const qt_breakdown_row *w = &rows[k];
    double t = (double)w->trades;
    fprintf(f, "%-14s %7zu %7.1f%% %20s %18s %9.3f%% %16s %10s\n", w->key, w->trades,
            100.0 * (double)w->wins / t, qt_report_money(w->pnl, ccy, pnl, sizeof pnl),
            qt_report_money(w->pnl / t, ccy, avg, sizeof avg), 100.0 * w->return_sum / t,
            qt_report_money(w->fees, ccy, fees, sizeof fees),
            qt_report_duration(w->duration_ms_sum / t, dur, sizeof dur));
  }
  return ferror(f) ? qt_err_set(err, QT_EIO, "breakdown: write failed") : QT_OK;
}
