/* The tuner's settings: the built-in defaults (docs/tuner.md lists them)
 * and a YAML file over them, read with libyaml's document loader so every
 * message names the file, the line and the key. */
#include "qtune/strategies.h"
#include "qtune/tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define CONFIG_MAX_BYTES (1u << 20)

/* The parameter named name of ts, added from the strategy's spec (or
 * declared later in YAML) when missing; -1 when there is no room or no spec
 * knows it. */
static int param_index(qt_tune_strategy *ts, const char *name, int from_spec) {
  for (size_t k = 0; k < ts->n_params; k++)
    if (strcmp(ts->params[k].name, name) == 0) return (int)k;
  if (ts->n_params == QT_TUNE_MAX_PARAMS) return -1;
  const qt_strategy_vtbl *s = qt_strategy_find(ts->name);
  const qt_param_spec *ps = NULL;
  for (size_t k = 0; s && k < s->n_params; k++)
    if (strcmp(s->params[k].name, name) == 0) ps = &s->params[k];
  if (!ps && from_spec) return -1;
  qt_tune_param *p = &ts->params[ts->n_params];
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", name);
  p->display_scale = 1;
  p->lo = -INFINITY;
  p->hi = INFINITY;
  p->def = NAN;
  if (ps) {
    p->lo = ps->lo;
    p->hi = ps->hi;
    p->def = ps->def;
    p->is_int = ps->type == QT_PARAM_INT;
  }
  return (int)ts->n_params++;
}

static void map(qt_tune_strategy *ts, int rule, const char *param) {
  int k = param_index(ts, param, 1);
  if (k >= 0) ts->moves[rule] |= 1u << k;
}

/* The built-in mappings: the design's rules on the parameters of the three
 * strategies its tables name (docs/tuner.md has the same table). */
static void builtin(qt_tune_config *c, const char *name, const char *filter, const char *volume,
                    double filter_scale) {
  qt_tune_strategy *ts = &c->strategies[c->n_strategies++];
  memset(ts, 0, sizeof *ts);
  snprintf(ts->name, sizeof ts->name, "%s", name);
  map(ts, QT_TUNE_WIN_RATE_LOW, filter);
  map(ts, QT_TUNE_WIN_RATE_HIGH, filter);
  if (volume) map(ts, QT_TUNE_AVG_PNL_LOW, volume);
  map(ts, QT_TUNE_EXPIRY_RATE_HIGH, "expiry_hours");
  map(ts, QT_TUNE_FEW_SIGNALS, filter);
  ts->params[0].display_scale = filter_scale;
}

static void env_copy(char *dst, size_t cap, const char *var) {
  const char *v = getenv(var);
  if (v && *v) snprintf(dst, cap, "%s", v);
}

void qt_tune_config_default(qt_tune_config *c) {
  memset(c, 0, sizeof *c);
  c->window_ms = 7 * 86400000LL;
  c->long_window_ms = 30 * 86400000LL;
  c->cooldown_ms = 7 * 86400000LL;
  c->max_step_pct = 25;
  c->win_rate_low_pct = 30;
  c->win_rate_high_pct = 70;
  c->avg_pnl_low_pct = -1;
  c->expiry_rate_high_pct = 50;
  c->few_signals = 5;
  c->decent_win_rate_pct = 50;
  c->step_pct[QT_TUNE_WIN_RATE_LOW] = 10;
  c->step_pct[QT_TUNE_WIN_RATE_HIGH] = 5;
  c->step_pct[QT_TUNE_AVG_PNL_LOW] = 20;
  c->step_pct[QT_TUNE_EXPIRY_RATE_HIGH] = 25;
  c->step_pct[QT_TUNE_FEW_SIGNALS] = 10;
  /* the design's report order */
  builtin(c, "directional_momentum", "min_score", NULL, 1);
  builtin(c, "grid_trading", "min_range_pct", NULL, 1);
  builtin(c, "funding_arbitrage", "min_funding_rate", "min_volume", 100);
  snprintf(c->telegram_base_url, sizeof c->telegram_base_url, "https://api.telegram.org");
  env_copy(c->telegram_token, sizeof c->telegram_token, "QTUNE_TELEGRAM_TOKEN");
  env_copy(c->telegram_chat_id, sizeof c->telegram_chat_id, "QTUNE_TELEGRAM_CHAT_ID");
  env_copy(c->webhook_url, sizeof c->webhook_url, "QTUNE_WEBHOOK_URL");
  c->notify_attempts = 3;
  c->notify_timeout_ms = 10000;
  c->notify_backoff_ms = 1000;
}

const qt_tune_strategy *qt_tune_config_find(const qt_tune_config *c, const char *name) {
  for (size_t k = 0; k < c->n_strategies; k++)
    if (strcmp(c->strategies[k].name, name) == 0) return &c->strategies[k];
  return NULL;
}

/* ---- YAML ---- */
typedef struct yctx {
  yaml_document_t *doc;
  const char *file;
  qt_err *err;
} yctx;

static int line_of(yaml_node_t *n) { return n ? (int)n->start_mark.line + 1 : 0; }

static int fail(yctx *y, yaml_node_t *n, const char *key, const char *what) {
  return qt_err_set(y->err, QT_EPARSE, "%s:%d: %s%s%s%s", y->file, line_of(n), key ? "key '" : "",
                    key ? key : "", key ? "': " : "", what);
}

static const char *scalar(yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_num(yctx *y, yaml_node_t *n, const char *key, double *out) {
  const char *s = scalar(n);
  double v;
  if (!s || qt_parse_double(s, strlen(s), &v) || !isfinite(v))
    return fail(y, n, key, "expected a number");
  *out = v;
  return QT_OK;
}

static int get_dur(yctx *y, yaml_node_t *n, const char *key, int64_t *out) {
  const char *s = scalar(n);
  int64_t v;
  if (!s || qt_duration_parse(s, &v, NULL) || v <= 0)
    return fail(y, n, key, "expected a duration such as 7d, 12h or 30m");
  *out = v;
  return QT_OK;
}

static int get_bool(yctx *y, yaml_node_t *n, const char *key, int *out) {
  const char *s = scalar(n);
  if (s && (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "1")))
    *out = 1;
  else if (s && (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off") || !strcmp(s, "0")))
    *out = 0;
  else
    return fail(y, n, key, "expected true or false");
  return QT_OK;
}

static int get_str(yctx *y, yaml_node_t *n, const char *key, char *dst, size_t cap) {
  const char *s = scalar(n);
  if (!s) return fail(y, n, key, "expected a text value");
  if (strlen(s) >= cap) return fail(y, n, key, "too long");
  snprintf(dst, cap, "%s", s);
  return QT_OK;
}

typedef int (*pair_fn)(yctx *y, void *ctx, const char *key, yaml_node_t *kn, yaml_node_t *vn);

static int each_pair(yctx *y, yaml_node_t *map_node, const char *what, void *ctx, pair_fn fn) {
  if (!map_node || map_node->type != YAML_MAPPING_NODE) return fail(y, map_node, what, "expected a map");
  for (yaml_node_pair_t *p = map_node->data.mapping.pairs.start;
       p < map_node->data.mapping.pairs.top; p++) {
    yaml_node_t *kn = yaml_document_get_node(y->doc, p->key),
                *vn = yaml_document_get_node(y->doc, p->value);
    const char *k = scalar(kn);
    if (!k) return fail(y, kn, NULL, "expected a text key");
    int r = fn(y, ctx, k, kn, vn);
    if (r) return r;
  }
  return QT_OK;
}

static int thresholds_pair(yctx *y, void *ctx, const char *k, yaml_node_t *kn, yaml_node_t *vn) {
  qt_tune_config *c = ctx;
  double v = 0;
  int r = get_num(y, vn, k, &v);
  if (r) return r;
  if (!strcmp(k, "win_rate_low")) c->win_rate_low_pct = v;
  else if (!strcmp(k, "win_rate_high")) c->win_rate_high_pct = v;
  else if (!strcmp(k, "avg_pnl_low")) c->avg_pnl_low_pct = v;
  else if (!strcmp(k, "expiry_rate_high")) c->expiry_rate_high_pct = v;
  else if (!strcmp(k, "few_signals")) {
    if (v < 1 || v != floor(v)) return fail(y, vn, k, "expected a whole number >= 1");
    c->few_signals = (int64_t)v;
  } else if (!strcmp(k, "decent_win_rate")) c->decent_win_rate_pct = v;
  else
    return fail(y, kn, k, "unknown threshold (win_rate_low, win_rate_high, avg_pnl_low, "
                          "expiry_rate_high, few_signals, decent_win_rate)");
  return QT_OK;
}

static int steps_pair(yctx *y, void *ctx, const char *k, yaml_node_t *kn, yaml_node_t *vn) {
  qt_tune_config *c = ctx;
  int rule = qt_tune_rule_from_name(k);
  if (rule < 0) return fail(y, kn, k, "unknown rule (see docs/tuner.md)");
  double v;
  int r = get_num(y, vn, k, &v);
  if (!r && v <= 0) r = fail(y, vn, k, "a step is a percentage > 0");
  if (!r) c->step_pct[rule] = v;
  return r;
}

typedef struct sctx {
  qt_tune_config *c;
  qt_tune_strategy *ts;
} sctx;

static int param_field(yctx *y, void *ctx, const char *k, yaml_node_t *kn, yaml_node_t *vn) {
  qt_tune_param *p = ctx;
  if (!strcmp(k, "int")) return get_bool(y, vn, k, &p->is_int);
  double v;
  int r = get_num(y, vn, k, &v);
  if (r) return r;
  if (!strcmp(k, "lo")) p->lo = v;
  else if (!strcmp(k, "hi")) p->hi = v;
  else if (!strcmp(k, "default")) p->def = v;
  else if (!strcmp(k, "display_scale")) p->display_scale = v;
  else return fail(y, kn, k, "unknown parameter field (lo, hi, default, int, display_scale)");
  return QT_OK;
}

static int params_pair(yctx *y, void *ctx, const char *k, yaml_node_t *kn, yaml_node_t *vn) {
  sctx *s = ctx;
  int idx = param_index(s->ts, k, 0);
  if (idx < 0) return fail(y, kn, k, "too many parameters");
  qt_tune_param *p = &s->ts->params[idx], before = *p;
  int r = each_pair(y, vn, k, p, param_field);
  if (r) return r;
  /* a built-in's spec bounds are the outer limits: YAML may narrow them */
  if (isfinite(before.lo) && p->lo < before.lo)
    return fail(y, vn, k, "lo is below the strategy's own bound");
  if (isfinite(before.hi) && p->hi > before.hi)
    return fail(y, vn, k, "hi is above the strategy's own bound");
  if (!isfinite(p->lo) || !isfinite(p->hi) || !(p->lo <= p->hi))
    return fail(y, vn, k, "needs lo <= hi");
  if (!isfinite(p->def) || p->def < p->lo || p->def > p->hi)
    return fail(y, vn, k, "needs a default inside [lo, hi]");
  return QT_OK;
}

static int rules_pair(yctx *y, void *ctx, const char *k, yaml_node_t *kn, yaml_node_t *vn) {
  sctx *s = ctx;
  int rule = qt_tune_rule_from_name(k);
  if (rule < 0) return fail(y, kn, k, "unknown rule (see docs/tuner.md)");
  if (!vn || vn->type != YAML_SEQUENCE_NODE)
    return fail(y, vn, k, "expected a list of parameter names ([] for none)");
  s->ts->moves[rule] = 0;
  for (yaml_node_item_t *it = vn->data.sequence.items.start; it < vn->data.sequence.items.top; it++) {
    yaml_node_t *pn = yaml_document_get_node(y->doc, *it);
    const char *name = scalar(pn);
    if (!name) return fail(y, pn, k, "expected a parameter name");
    int idx = param_index(s->ts, name, 1);
    if (idx < 0) {
      char msg[200];
      snprintf(msg, sizeof msg, "parameter '%s' is not declared (add it under params:)", name);
      return fail(y, pn, k, msg);
    }
    s->ts->moves[rule] |= 1u << idx;
  }
  return QT_OK;
}

static int strategy_field(yctx *y, void *ctx, const char *k, yaml_node_t *kn, yaml_node_t *vn) {
  sctx *s = ctx;
  if (!strcmp(k, "symbol")) return get_str(y, vn, k, s->ts->symbol, sizeof s->ts->symbol);
  if (!strcmp(k, "study")) return get_str(y, vn, k, s->ts->study, sizeof s->ts->study);
  if (!strcmp(k, "params")) return each_pair(y, vn, k, s, params_pair);
  if (!strcmp(k, "rules")) return each_pair(y, vn, k, s, rules_pair);
  return fail(y, kn, k, "unknown strategy key (symbol, study, params, rules)");
}

static int strategies_pair(yctx *y, void *ctx, const char *k, yaml_node_t *kn, yaml_node_t *vn) {
  qt_tune_config *c = ctx;
  qt_tune_strategy *ts = (qt_tune_strategy *)qt_tune_config_find(c, k);
  if (!ts) {
    if (c->n_strategies == QT_TUNE_MAX_STRATEGIES) return fail(y, kn, k, "too many strategies");
    if (strlen(k) >= sizeof ts->name) return fail(y, kn, k, "strategy name too long");
    ts = &c->strategies[c->n_strategies++];
    memset(ts, 0, sizeof *ts);
    snprintf(ts->name, sizeof ts->name, "%s", k);
  }
  /* params first, so rules may name parameters declared below them */
  sctx s = {c, ts};
  if (vn && vn->type == YAML_MAPPING_NODE)
    for (yaml_node_pair_t *p = vn->data.mapping.pairs.start; p < vn->data.mapping.pairs.top; p++) {
      yaml_node_t *pk = yaml_document_get_node(y->doc, p->key);
      if (scalar(pk) && !strcmp(scalar(pk), "params")) {
        int r = each_pair(y, yaml_document_get_node(y->doc, p->value), "params", &s, params_pair);
        if (r) return r;
      }
    }
  int r = each_pair(y, vn, k, &s, strategy_field);
  if (r) return r;
  for (size_t j = 0; j < ts->n_params; j++) {
    qt_tune_param *p = &ts->params[j];
    if (!isfinite(p->lo) || !isfinite(p->hi) || !isfinite(p->def))
      return fail(y, vn, k, "a parameter without bounds and default (declare lo, hi, default)");
  }
  return QT_OK;
}

static int telegram_pair(yctx *y, void *ctx, const char *k, yaml_node_t *kn, yaml_node_t *vn) {
  qt_tune_config *c = ctx;
  if (!strcmp(k, "base_url")) return get_str(y, vn, k, c->telegram_base_url, sizeof c->telegram_base_url);
  if (!strcmp(k, "token")) return get_str(y, vn, k, c->telegram_token, sizeof c->telegram_token);
  if (!strcmp(k, "chat_id")) return get_str(y, vn, k, c->telegram_chat_id, sizeof c->telegram_chat_id);
  return fail(y, kn, k, "unknown telegram key (base_url, token, chat_id)");
}

static int notify_pair(yctx *y, void *ctx, const char *k, yaml_node_t *kn, yaml_node_t *vn) {
  qt_tune_config *c = ctx;
  if (!strcmp(k, "telegram")) return each_pair(y, vn, k, c, telegram_pair);
  if (!strcmp(k, "webhook")) return get_str(y, vn, k, c->webhook_url, sizeof c->webhook_url);
  if (!strcmp(k, "timeout")) return get_dur(y, vn, k, &c->notify_timeout_ms);
  if (!strcmp(k, "backoff")) {
    const char *s = scalar(vn);
    if (s && !strcmp(s, "0")) return c->notify_backoff_ms = 0, QT_OK;
    return get_dur(y, vn, k, &c->notify_backoff_ms);
  }
  if (!strcmp(k, "attempts")) {
    double v;
    int r = get_num(y, vn, k, &v);
    if (!r && (v < 1 || v > 10 || v != floor(v))) r = fail(y, vn, k, "expected 1..10");
    if (!r) c->notify_attempts = (int)v;
    return r;
  }
  return fail(y, kn, k, "unknown notify key (telegram, webhook, attempts, timeout, backoff)");
}

static int top_pair(yctx *y, void *ctx, const char *k, yaml_node_t *kn, yaml_node_t *vn) {
  qt_tune_config *c = ctx;
  if (!strcmp(k, "window")) return get_dur(y, vn, k, &c->window_ms);
  if (!strcmp(k, "long_window")) return get_dur(y, vn, k, &c->long_window_ms);
  if (!strcmp(k, "cooldown")) return get_dur(y, vn, k, &c->cooldown_ms);
  if (!strcmp(k, "auto_apply")) return get_bool(y, vn, k, &c->auto_apply);
  if (!strcmp(k, "catalog")) return get_str(y, vn, k, c->catalog, sizeof c->catalog);
  if (!strcmp(k, "max_step_pct")) {
    int r = get_num(y, vn, k, &c->max_step_pct);
    /* the design's safety cap: a file may lower it, never raise it */
    if (!r && (c->max_step_pct <= 0 || c->max_step_pct > 25))
      r = fail(y, vn, k, "the step cap is in (0, 25] percent");
    return r;
  }
  if (!strcmp(k, "thresholds")) return each_pair(y, vn, k, c, thresholds_pair);
  if (!strcmp(k, "steps")) return each_pair(y, vn, k, c, steps_pair);
  if (!strcmp(k, "strategies")) return each_pair(y, vn, k, c, strategies_pair);
  if (!strcmp(k, "notify")) return each_pair(y, vn, k, c, notify_pair);
  return fail(y, kn, k, "unknown key (window, long_window, cooldown, max_step_pct, auto_apply, "
                        "catalog, thresholds, steps, strategies, notify)");
}

int qt_tune_config_parse(qt_tune_config *c, const char *text, size_t len, const char *file,
                         qt_err *err) {
  yaml_document_t doc;
  int r = qt_yaml_load(text, len, file, &doc, err); /* the one loader: limits, duplicate keys */
  if (r) return r;
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  yctx y = {&doc, file, err};
  if (root && !(root->type == YAML_SCALAR_NODE && !root->data.scalar.length))
    r = each_pair(&y, root, NULL, c, top_pair);
  yaml_document_delete(&doc);
  return r;
}

int qt_tune_config_load(qt_tune_config *c, const char *path, qt_err *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return qt_err_set(err, QT_EIO, "%s: cannot open the tuner config", path);
  char *buf = qt_malloc(CONFIG_MAX_BYTES + 1);
  int r = QT_OK;
  size_t n = 0;
  if (!buf) r = qt_err_set(err, QT_ENOMEM, "%s: out of memory", path);
  else {
    n = fread(buf, 1, CONFIG_MAX_BYTES + 1, f);
    if (ferror(f)) r = qt_err_set(err, QT_EIO, "%s: cannot read the tuner config", path);
    else if (n > CONFIG_MAX_BYTES) r = qt_err_set(err, QT_EINVAL, "%s: larger than 1 MiB", path);
  }
  fclose(f);
  if (!r) r = qt_tune_config_parse(c, buf, n, path, err);
  qt_free(buf);
  return r;
}
