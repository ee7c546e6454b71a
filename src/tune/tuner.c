/* One run of the auto-tuner and the lifecycle around it: apply what was
 * approved, evaluate each strategy's window of outcomes with the rules,
 * hold back what is still under review or cooling down after a revert,
 * attach backtest evidence, log the rest as pending; the design's report;
 * and the effective parameters (defaults plus every applied adjustment). */
#include "qtune/strategies.h"
#include "qtune/tune.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

qt_tune_run_opts qt_tune_run_opts_default(void) {
  qt_tune_run_opts o = {NULL, 0, 0, 0};
  return o;
}

static int by_created_asc(const void *a, const void *b) {
  const qt_adjustment *x = a, *y = b;
  if (x->created_ms != y->created_ms) return x->created_ms < y->created_ms ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

static int by_applied_asc(const void *a, const void *b) {
  const qt_adjustment *x = a, *y = b;
  if (x->applied_ms != y->applied_ms) return x->applied_ms < y->applied_ms ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

int qt_tune_apply_approved(qt_storage *s, int64_t now_ms, size_t *out_n, qt_err *err) {
  *out_n = 0;
  qt_adjustment *v = NULL;
  size_t n = 0;
  int r = qt_adjustments_list(s, NULL, 1u << QT_ADJ_APPROVED, &v, &n, err);
  if (r) return r;
  if (n) qsort(v, n, sizeof *v, by_created_asc);
  for (size_t k = 0; k < n && !r; k++) {
    qt_err e = {0};
    int a = qt_adjustment_mark_applied(s, v[k].id, now_ms ? now_ms : wall_ms(), &e);
    if (a == QT_OK) {
      (*out_n)++;
      qt_log(QT_LOG_INFO, "tune: applied adjustment %" PRId64 " (%s.%s %g -> %g)", v[k].id,
             v[k].strategy, v[k].parameter, v[k].old_value, v[k].new_value);
    } else if (a != QT_ESTATE) { /* ESTATE: another process applied it first */
      r = qt_err_set(err, a, "%s", e.msg);
    }
  }
  qt_free(v);
  return r;
}

/* Applied adjustments of a strategy in the order applied; *out qt_malloc'd. */
static int applied_of(qt_storage *s, const char *strategy, qt_adjustment **out, size_t *out_n,
                      qt_err *err) {
  int r = qt_adjustments_list(s, strategy, 1u << QT_ADJ_APPLIED, out, out_n, err);
  if (!r && *out_n) qsort(*out, *out_n, sizeof **out, by_applied_asc);
  return r;
}

int qt_tune_effective(qt_storage *s, const qt_tune_strategy *ts, double *out, qt_err *err) {
  for (size_t k = 0; k < ts->n_params; k++) out[k] = ts->params[k].def;
  qt_adjustment *v = NULL;
  size_t n = 0;
  int r = applied_of(s, ts->name, &v, &n, err);
  for (size_t j = 0; !r && j < n; j++)
    for (size_t k = 0; k < ts->n_params; k++)
      if (!strcmp(v[j].parameter, ts->params[k].name)) out[k] = v[j].new_value;
  qt_free(v);
  return r;
}

int qt_tune_effective_write(qt_storage *s, const qt_tune_strategy *ts, int json, FILE *f,
                            qt_err *err) {
  /* names, values and whether each is whole: a built-in's full spec (so
   * the file is all a bot needs), else the declared parameters */
  enum { MAXP = 64 };
  const char *names[MAXP];
  double vals[MAXP];
  int ints[MAXP];
  size_t n = 0;
  const qt_strategy_vtbl *sv = qt_strategy_find(ts->name);
  if (sv && sv->n_params <= MAXP) {
    qt_strategy_defaults(sv, vals);
    for (size_t k = 0; k < sv->n_params; k++) {
      names[k] = sv->params[k].name;
      ints[k] = sv->params[k].type != QT_PARAM_FLOAT;
    }
    n = sv->n_params;
  }
  for (size_t j = 0; j < ts->n_params; j++) {
    size_t k = 0;
    while (k < n && strcmp(names[k], ts->params[j].name)) k++;
    if (k == n) {
      if (n == MAXP) return qt_err_set(err, QT_EINVAL, "%s: too many parameters", ts->name);
      names[n] = ts->params[j].name;
      ints[n] = ts->params[j].is_int;
      n++;
    }
    vals[k] = ts->params[j].def;
  }
  qt_adjustment *v = NULL;
  size_t na = 0;
  int r = applied_of(s, ts->name, &v, &na, err);
  if (r) return r;
  for (size_t j = 0; j < na; j++)
    for (size_t k = 0; k < n; k++)
      if (!strcmp(v[j].parameter, names[k])) vals[k] = v[j].new_value;
  qt_free(v);
  if (json) fputs("{", f);
  for (size_t k = 0; k < n; k++) {
    char num[40];
    if (ints[k]) snprintf(num, sizeof num, "%lld", (long long)llround(vals[k]));
    else snprintf(num, sizeof num, "%.10g", vals[k]);
    if (json) fprintf(f, "%s\n  \"%s\": %s", k ? "," : "", names[k], num);
    else fprintf(f, "%s: %s\n", names[k], num);
  }
  if (json) fputs("\n}\n", f);
  return ferror(f) ? qt_err_set(err, QT_EIO, "writing the params failed") : QT_OK;
}

/* ---- a run ---- */
static int strategy_slot(qt_tune_report *out, const char *name) {
  for (size_t k = 0; k < out->n_items; k++)
    if (!strcmp(out->items[k].strategy, name)) return (int)k;
  if (out->n_items == sizeof out->items / sizeof out->items[0]) return -1;
  qt_tune_item *it = &out->items[out->n_items];
  memset(it, 0, sizeof *it);
  snprintf(it->strategy, sizeof it->strategy, "%s", name);
  return (int)out->n_items++;
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const qt_tune_item *)a)->strategy, ((const qt_tune_item *)b)->strategy);
}

static void note(qt_tune_item *it, const char *fmt, const char *a, int64_t id, const char *when) {
  if (it->n_notes == QT_TUNE_MAX_NOTES) return;
  char *d = it->notes[it->n_notes++];
  if (when) snprintf(d, sizeof it->notes[0], fmt, a, when);
  else snprintf(d, sizeof it->notes[0], fmt, a, (long long)id);
}

/* Whether a proposal on param must wait: still under review, or a reverted
 * change of the same rule cooling down. */
static int held_back(const qt_tune_config *c, const qt_adjustment *hist, size_t nh,
                     const char *param, int rule, int64_t now, qt_tune_item *it) {
  for (size_t k = 0; k < nh; k++) {
    const qt_adjustment *a = &hist[k];
    if (strcmp(a->parameter, param)) continue;
    if (a->status == QT_ADJ_PENDING || a->status == QT_ADJ_APPROVED) {
      note(it, a->status == QT_ADJ_PENDING ? "%s: adjustment %lld is still pending"
                                           : "%s: adjustment %lld is approved, not yet applied",
           param, a->id, NULL);
      return 1;
    }
    if (a->status == QT_ADJ_REVERTED && !strcmp(a->metric_trigger, qt_tune_rule_name(rule)) &&
        a->reviewed_ms + c->cooldown_ms > now) {
      char until[40], fmt[120];
      qt_time_format(a->reviewed_ms + c->cooldown_ms, until, sizeof until);
      snprintf(fmt, sizeof fmt, "%%s: a reverted %s change cools down until %%s",
               qt_tune_rule_name(rule));
      note(it, fmt, param, 0, until);
      qt_log(QT_LOG_INFO, "tune: %s.%s: %s not re-proposed (reverted, cooldown until %s)",
             it->strategy, param, qt_tune_rule_name(rule), until);
      return 1;
    }
  }
  return 0;
}

static int evaluate(qt_storage *s, const qt_tune_config *c, const qt_tune_strategy *ts,
                    const qt_tune_run_opts *o, int auto_apply, int64_t now, qt_tune_item *it,
                    size_t *n_logged, qt_err *err) {
  double cur[QT_TUNE_MAX_PARAMS], target[QT_TUNE_MAX_PARAMS];
  int r = qt_tune_effective(s, ts, cur, err);
  if (r) return r;
  const double *tgt = NULL;
  if (ts->study[0]) {
    qt_err se = {0};
    int sr = qt_tune_study_best(s, ts->study, ts, target, &se);
    if (sr == QT_OK) tgt = target;
    else qt_log(QT_LOG_WARN, "tune: %s: no study target: %s", ts->name, se.msg);
  }
  qt_tune_proposal props[QT_TUNE_MAX_PARAMS];
  size_t np = 0;
  qt_tune_rules_eval(c, ts, &it->stats, cur, tgt, props, QT_TUNE_MAX_PARAMS, &np);
  qt_adjustment *hist = NULL;
  size_t nh = 0;
  if (np && (r = qt_adjustments_list(s, ts->name, 0, &hist, &nh, err))) return r;
  for (size_t k = 0; k < np && !r; k++) {
    const qt_tune_proposal *p = &props[k];
    const qt_tune_param *tp = &ts->params[p->param];
    if (held_back(c, hist, nh, tp->name, p->rule, now, it)) continue;
    size_t j = it->n_props++;
    it->props[j] = *p;
    snprintf(it->param_names[j], sizeof it->param_names[j], "%s", tp->name);
    it->display_scale[j] = tp->display_scale;
    double prop[QT_TUNE_MAX_PARAMS];
    memcpy(prop, cur, sizeof prop);
    prop[p->param] = p->new_value;
    const char *sym = ts->symbol[0] ? ts->symbol : it->stats.top_symbol;
    qt_err ee = {0};
    if (qt_tune_evidence(c, ts, sym, cur, prop, now, it->evidence[j], sizeof it->evidence[j], &ee))
      snprintf(it->evidence[j], sizeof it->evidence[j], "{}");
    if (o->dry_run) continue;
    qt_adjustment a;
    memset(&a, 0, sizeof a);
    snprintf(a.strategy, sizeof a.strategy, "%s", ts->name);
    snprintf(a.parameter, sizeof a.parameter, "%s", tp->name);
    a.old_value = p->old_value;
    a.new_value = p->new_value;
    snprintf(a.reason, sizeof a.reason, "%s", p->reason);
    snprintf(a.metric_trigger, sizeof a.metric_trigger, "%s", qt_tune_rule_name(p->rule));
    a.metric_value = p->metric_value;
    a.win_rate_7d = it->stats.win_rate_pct;
    a.total_pnl_7d = it->stats.total_pnl;
    a.avg_pnl_7d = it->stats.avg_pnl_pct;
    a.total_signals_7d = it->stats.n_signals;
    a.clamped = p->clamped;
    a.status = QT_ADJ_PENDING;
    a.created_ms = now;
    snprintf(a.evidence_json, sizeof a.evidence_json, "%s", it->evidence[j]);
    if ((r = qt_adjustment_insert(s, &a, &it->ids[j], err))) break;
    (*n_logged)++;
    qt_log(QT_LOG_INFO, "tune: %s.%s %g -> %g logged as adjustment %" PRId64 " (%s)", a.strategy,
           a.parameter, a.old_value, a.new_value, it->ids[j], a.reason);
    if (auto_apply) {
      r = qt_adjustment_review(s, it->ids[j], 1, "auto", now, err);
      if (!r) r = qt_adjustment_mark_applied(s, it->ids[j], now, err);
      if (!r) cur[p->param] = p->new_value;
    }
  }
  qt_free(hist);
  return r;
}

int qt_tune_execute(qt_storage *s, const qt_tune_config *c, const qt_tune_run_opts *o,
                    qt_tune_report *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  int64_t now = o->now_ms ? o->now_ms : wall_ms();
  int auto_apply = o->auto_apply || c->auto_apply;
  out->run_ms = now;
  out->dry_run = o->dry_run;
  out->auto_apply = auto_apply && !o->dry_run;
  int r = QT_OK;
  if (!o->dry_run && (r = qt_tune_apply_approved(s, now, &out->n_applied_first, err))) return r;
  qt_outcome *v = NULL;
  size_t n = 0;
  if ((r = qt_outcomes_list(s, o->strategy, now - c->window_ms, now, &v, &n, err))) return r;
  /* the report's order: the config's strategies, then others by name */
  if (o->strategy && o->strategy[0]) strategy_slot(out, o->strategy);
  for (size_t k = 0; k < c->n_strategies && !(o->strategy && o->strategy[0]); k++)
    for (size_t j = 0; j < n; j++)
      if (!strcmp(v[j].strategy, c->strategies[k].name)) {
        strategy_slot(out, v[j].strategy);
        break;
      }
  size_t mapped_end = out->n_items;
  for (size_t j = 0; j < n; j++)
    if (strategy_slot(out, v[j].strategy) < 0) {
      r = qt_err_set(err, QT_EINVAL, "more than %zu strategies with outcomes",
                     sizeof out->items / sizeof out->items[0]);
      break;
    }
  if (out->n_items > mapped_end)
    qsort(out->items + mapped_end, out->n_items - mapped_end, sizeof out->items[0], by_name);
  for (size_t k = 0; k < out->n_items && !r; k++) {
    qt_tune_item *it = &out->items[k];
    /* its outcomes are a subsequence of v: gather them in place order */
    qt_outcome *mine = qt_malloc((n ? n : 1) * sizeof *mine);
    if (!mine) {
      r = qt_err_set(err, QT_ENOMEM, "out of memory");
      break;
    }
    size_t m = 0;
    for (size_t j = 0; j < n; j++)
      if (!strcmp(v[j].strategy, it->strategy)) mine[m++] = v[j];
    qt_tune_stats_compute(mine, m, &it->stats);
    qt_free(mine);
    const qt_tune_strategy *ts = qt_tune_config_find(c, it->strategy);
    it->mapped = ts != NULL;
    if (ts) r = evaluate(s, c, ts, o, out->auto_apply, now, it, &out->n_logged, err);
  }
  qt_free(v);
  return r;
}

/* ---- the report ---- */
static void money(double v, char *b, size_t cap) {
  snprintf(b, cap, "%s$%.2f", v < 0 ? "-" : "+", fabs(v));
}

static const char *plural(size_t n) { return n == 1 ? "" : "s"; }

void qt_tune_report_write_text(const qt_tune_report *r, FILE *f) {
  fprintf(f, "=== Strategy Auto-Tuner Report ===\n");
  size_t n_props = 0;
  for (size_t k = 0; k < r->n_items; k++) {
    const qt_tune_item *it = &r->items[k];
    fprintf(f, "\n%s:\n", it->strategy);
    if (!it->mapped) fprintf(f, "  [SKIP] No rule mapping declared (see docs/tuner.md)\n");
    for (size_t j = 0; j < it->n_props; j++) {
      const qt_tune_proposal *p = &it->props[j];
      double sc = it->display_scale[j];
      fprintf(f, "  [ADJUST] %s: %g -> %g%s\n", it->param_names[j], p->old_value * sc,
              p->new_value * sc, p->clamped ? " (clamped)" : "");
      fprintf(f, "    Reason: %s\n", p->reason);
      char ev[512];
      qt_tune_evidence_text(it->evidence[j], ev, sizeof ev);
      if (!strncmp(ev, "backtest", 8)) fprintf(f, "    Evidence: %s\n", ev);
    }
    for (size_t j = 0; j < it->n_notes; j++) fprintf(f, "  [HOLD] %s\n", it->notes[j]);
    if (it->mapped && !it->n_props && !it->n_notes) fprintf(f, "  [OK] No adjustments needed\n");
    char m[40];
    money(it->stats.total_pnl, m, sizeof m);
    fprintf(f, "    Context: %lld signals, %.1f%% WR, %s total PnL\n",
            (long long)it->stats.n_signals, it->stats.win_rate_pct, m);
    n_props += it->n_props;
  }
  fputc('\n', f);
  if (r->dry_run)
    fprintf(f, "%zu adjustment%s proposed (dry run: nothing logged)\n", n_props, plural(n_props));
  else if (r->auto_apply)
    fprintf(f, "%zu adjustment%s applied (auto_apply)\n", r->n_logged, plural(r->n_logged));
  else
    fprintf(f, "%zu adjustment%s logged as PENDING\n", r->n_logged, plural(r->n_logged));
  if (r->n_applied_first)
    fprintf(f, "%zu approved adjustment%s applied first\n", r->n_applied_first,
            plural(r->n_applied_first));
}

static json_t *report_json(const qt_tune_report *r) {
  char at[40];
  json_t *o = json_pack("{s:I,s:s,s:b,s:b,s:I,s:I}", "run_ms", (json_int_t)r->run_ms, "run_at",
                        qt_time_format(r->run_ms, at, sizeof at), "dry_run", r->dry_run,
                        "auto_apply", r->auto_apply, "applied_first", (json_int_t)r->n_applied_first,
                        "logged", (json_int_t)r->n_logged);
  json_t *arr = json_array();
  if (!o || !arr) {
    json_decref(o);
    json_decref(arr);
    return NULL;
  }
  for (size_t k = 0; k < r->n_items; k++) {
    const qt_tune_item *it = &r->items[k];
    json_t *adj = json_array(), *held = json_array();
    for (size_t j = 0; j < it->n_props; j++) {
      const qt_tune_proposal *p = &it->props[j];
      json_t *ev = json_loads(it->evidence[j], 0, NULL);
      json_array_append_new(
          adj, json_pack("{s:I,s:s,s:f,s:f,s:s,s:f,s:b,s:s,s:o}", "id", (json_int_t)it->ids[j],
                         "parameter", it->param_names[j], "old_value", p->old_value, "new_value",
                         p->new_value, "metric_trigger", qt_tune_rule_name(p->rule),
                         "metric_value", p->metric_value, "clamped", p->clamped, "reason",
                         p->reason, "evidence", ev ? ev : json_object()));
    }
    for (size_t j = 0; j < it->n_notes; j++) json_array_append_new(held, json_string(it->notes[j]));
    json_array_append_new(
        arr, json_pack("{s:s,s:b,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:o,s:o}", "strategy", it->strategy,
                       "mapped", it->mapped, "signals", (json_int_t)it->stats.n_signals, "wins",
                       (json_int_t)it->stats.n_wins, "expired", (json_int_t)it->stats.n_expired,
                       "win_rate_pct", it->stats.win_rate_pct, "total_pnl", it->stats.total_pnl,
                       "avg_pnl_pct", it->stats.avg_pnl_pct, "expiry_rate_pct",
                       it->stats.expiry_rate_pct, "adjustments", adj, "held", held));
  }
  json_object_set_new(o, "strategies", arr);
  return o;
}

int qt_tune_report_write_json(const qt_tune_report *r, FILE *f, qt_err *err) {
  json_t *o = report_json(r);
  char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) : NULL;
  json_decref(o);
  if (!s) return qt_err_set(err, QT_ENOMEM, "report: out of memory");
  fprintf(f, "%s\n", s);
  free(s);
  return QT_OK;
}

char *qt_tune_report_summary(const qt_tune_report *r, char *buf, size_t cap) {
  size_t n = 0, total = 0;
  for (size_t k = 0; k < r->n_items; k++) total += r->items[k].n_props;
  int w = snprintf(buf, cap, "qtune auto-tuner: %zu adjustment%s %s", total, plural(total),
                   r->dry_run ? "proposed (dry run)" : r->auto_apply ? "applied" : "pending review");
  n = w > 0 ? (size_t)w : 0;
  for (size_t k = 0; k < r->n_items && n < cap; k++) {
    const qt_tune_item *it = &r->items[k];
    for (size_t j = 0; j < it->n_props && n < cap; j++) {
      const qt_tune_proposal *p = &it->props[j];
      double sc = it->display_scale[j];
      w = snprintf(buf + n, cap - n, "\n#%lld %s %s: %g -> %g (%s)", (long long)it->ids[j],
                   it->strategy, it->param_names[j], p->old_value * sc, p->new_value * sc,
                   p->reason);
      if (w < 0) break;
      n += (size_t)w;
    }
  }
  return buf;
}
