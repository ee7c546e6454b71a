/* The five tuning rules (the design's table), the statistics they read and
 * the bounded step that turns a rule into a proposal.  Pure functions: no
 * storage, no I/O, no clock; so every threshold is tested at and around its
 * value (tests/tune/test_rules.c).
 *
 * Comparisons are made on counts where they can be (wins * 100 < pct * n
 * instead of 100 * wins / n < pct), so 7 wins of 10 is exactly 70%, not
 * 70.00000000000001% "above 70%". */
#include "qtune/tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char *name;
  int dir;
} k_rules[] = {
#define QT_TUNE_RULE_ROW_(name, value, text, dir) [value] = {text, dir},
    QT_TUNE_RULE_LIST(QT_TUNE_RULE_ROW_)
#undef QT_TUNE_RULE_ROW_
};

const char *qt_tune_rule_name(int rule) {
  return rule >= 0 && rule < QT_TUNE_N_RULES ? k_rules[rule].name : "unknown";
}

int qt_tune_rule_direction(int rule) {
  return rule >= 0 && rule < QT_TUNE_N_RULES ? k_rules[rule].dir : 0;
}

int qt_tune_rule_from_name(const char *name) {
  for (int k = 0; name && k < QT_TUNE_N_RULES; k++)
    if (strcmp(name, k_rules[k].name) == 0) return k;
  return -1;
}

void qt_tune_stats_compute(const qt_outcome *v, size_t n, qt_tune_stats *out) {
  memset(out, 0, sizeof *out);
  double sum_pct = 0;
  size_t best = 0, best_n = 0;
  for (size_t k = 0; k < n; k++) {
    out->n_signals++;
    if (v[k].pnl > 0) out->n_wins++;
    if (v[k].status == QT_OUTCOME_EXPIRED) out->n_expired++;
    if (isfinite(v[k].pnl)) out->total_pnl += v[k].pnl;
    if (isfinite(v[k].pnl_pct)) sum_pct += v[k].pnl_pct;
    /* the most frequent symbol; ties go to the first seen (n is small) */
    size_t c = 0;
    for (size_t j = 0; j < n; j++) c += strcmp(v[j].symbol, v[k].symbol) == 0;
    if (c > best_n) {
      best_n = c;
      best = k;
    }
  }
  if (n) {
    out->win_rate_pct = 100.0 * (double)out->n_wins / (double)n;
    out->avg_pnl_pct = sum_pct / (double)n;
    out->expiry_rate_pct = 100.0 * (double)out->n_expired / (double)n;
    snprintf(out->top_symbol, sizeof out->top_symbol, "%s", v[best].symbol);
  }
}

/* v rounded to 6 significant digits: a proposal reads 0.009, not 0.009000000000000001. */
static double tidy(double v) {
  char b[64];
  snprintf(b, sizeof b, "%.6g", v);
  return strtod(b, NULL);
}

int qt_tune_step(const qt_tune_param *p, double old, int dir, double step_pct,
                 double max_step_pct, double target, double *out_new, int *out_clamped) {
  int clamped = 0;
  double cap = fabs(old) * max_step_pct / 100.0, want;
  if (!isnan(target)) {
    want = target;
  } else {
    double step = step_pct;
    if (step > max_step_pct) {
      step = max_step_pct;
      clamped = 1;
    }
    want = old + dir * fabs(old) * step / 100.0;
  }
  if (want > old + cap) want = old + cap, clamped = 1;
  if (want < old - cap) want = old - cap, clamped = 1;
  if (p->is_int) {
    /* away from old, so a small step still moves; back inside the cap */
    double r = want > old ? ceil(want - 1e-9) : floor(want + 1e-9);
    if (fabs(r - old) > cap + 1e-9) r = want > old ? floor(want) : ceil(want);
    want = r;
  } else {
    want = tidy(want);
    if (want > old + cap) want = old + cap;
    if (want < old - cap) want = old - cap;
  }
  if (want > p->hi) want = p->hi, clamped = 1;
  if (want < p->lo) want = p->lo, clamped = 1;
  *out_new = want;
  *out_clamped = clamped;
  return want != old;
}

/* Whether rule fires on st; *out_metric the statistic, reason the text. */
static int fires(const qt_tune_config *c, int rule, const qt_tune_stats *st, double *out_metric,
                 char *reason, size_t cap) {
  double n = (double)st->n_signals, wins = (double)st->n_wins;
  int judged = st->n_signals >= c->few_signals && st->n_signals > 0;
  switch (rule) {
  case QT_TUNE_WIN_RATE_LOW:
    *out_metric = st->win_rate_pct;
    if (!judged || !(wins * 100.0 < c->win_rate_low_pct * n)) return 0;
    snprintf(reason, cap, "Win rate %.1f%% below threshold %.1f%%", st->win_rate_pct,
             c->win_rate_low_pct);
    return 1;
  case QT_TUNE_WIN_RATE_HIGH:
    *out_metric = st->win_rate_pct;
    if (!judged || !(wins * 100.0 > c->win_rate_high_pct * n)) return 0;
    snprintf(reason, cap, "Win rate %.1f%% above threshold %.1f%% - loosening slightly",
             st->win_rate_pct, c->win_rate_high_pct);
    return 1;
  case QT_TUNE_AVG_PNL_LOW:
    *out_metric = st->avg_pnl_pct;
    if (!judged || !(st->avg_pnl_pct < c->avg_pnl_low_pct)) return 0;
    snprintf(reason, cap, "Average P&L %.2f%% below threshold %.2f%% - focusing on liquid assets",
             st->avg_pnl_pct, c->avg_pnl_low_pct);
    return 1;
  case QT_TUNE_EXPIRY_RATE_HIGH:
    *out_metric = st->expiry_rate_pct;
    if (!judged || !((double)st->n_expired * 100.0 > c->expiry_rate_high_pct * n)) return 0;
    snprintf(reason, cap, "Expiry rate %.1f%% above threshold %.1f%% - extending duration",
             st->expiry_rate_pct, c->expiry_rate_high_pct);
    return 1;
  case QT_TUNE_FEW_SIGNALS:
    *out_metric = (double)st->n_signals;
    if (st->n_signals < 1 || st->n_signals >= c->few_signals ||
        !(wins * 100.0 >= c->decent_win_rate_pct * n))
      return 0;
    snprintf(reason, cap, "Only %lld signals with %.1f%% win rate - loosening filters",
             (long long)st->n_signals, st->win_rate_pct);
    return 1;
  default: return 0;
  }
}

void qt_tune_rules_eval(const qt_tune_config *c, const qt_tune_strategy *ts,
                        const qt_tune_stats *st, const double *current, const double *target,
                        qt_tune_proposal *out, size_t cap, size_t *out_n) {
  size_t n = 0;
  unsigned taken = 0;
  for (int rule = 0; rule < QT_TUNE_N_RULES; rule++) {
    double metric = 0;
    char reason[256];
    if (!fires(c, rule, st, &metric, reason, sizeof reason)) continue;
    for (size_t k = 0; k < ts->n_params && n < cap; k++) {
      if (!(ts->moves[rule] & (1u << k)) || (taken & (1u << k))) continue;
      const qt_tune_param *p = &ts->params[k];
      double tgt = target ? target[k] : NAN, nv = 0;
      int clamped = 0;
      if (!qt_tune_step(p, current[k], qt_tune_rule_direction(rule), c->step_pct[rule],
                        c->max_step_pct, tgt, &nv, &clamped)) {
        qt_log(QT_LOG_INFO, "tune: %s.%s: %s fires but %g is at its bound", ts->name, p->name,
               qt_tune_rule_name(rule), current[k]);
        continue;
      }
      qt_tune_proposal *pr = &out[n++];
      memset(pr, 0, sizeof *pr);
      pr->rule = rule;
      pr->param = k;
      pr->old_value = current[k];
      pr->new_value = nv;
      pr->metric_value = metric;
      pr->clamped = clamped;
      size_t len = (size_t)snprintf(pr->reason, sizeof pr->reason, "%s", reason);
      if (!isnan(tgt) && len < sizeof pr->reason)
        len += (size_t)snprintf(pr->reason + len, sizeof pr->reason - len,
                                "; toward the study's validated best %g", tgt);
      if (clamped && len < sizeof pr->reason) {
        const char *why = nv == p->hi   ? "the upper bound"
                          : nv == p->lo ? "the lower bound"
                                        : "the step cap";
        snprintf(pr->reason + len, sizeof pr->reason - len, " (clamped to %s)", why);
        qt_log(QT_LOG_INFO, "tune: %s.%s: %g -> %g clamped to %s", ts->name, p->name,
               current[k], nv, why);
      }
      taken |= 1u << k;
    }
  }
  *out_n = n;
}
