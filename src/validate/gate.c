/* The promotion gate: the tuning playbook's acceptance checks of a study's
 * best against a baseline on the same market, each PASS or FAIL with its
 * numbers, under thresholds that a YAML file may override.  Pure: the CLI
 * gathers the metrics and stores the verdict (storage gate_verdicts). */
#include "qtune/validate.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

qt_gate_thresholds qt_gate_thresholds_default(void) {
  qt_gate_thresholds t;
#define QT__GATE_DEFAULT(name, def, doc) t.name = def;
  QT_GATE_THRESHOLDS(QT__GATE_DEFAULT)
#undef QT__GATE_DEFAULT
  return t;
}

static double *field(qt_gate_thresholds *t, const char *key) {
#define QT__GATE_FIELD(name, def, doc) \
  if (!strcmp(key, #name)) return &t->name;
  QT_GATE_THRESHOLDS(QT__GATE_FIELD)
#undef QT__GATE_FIELD
  return NULL;
}

static void key_list(char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = '\0';
#define QT__GATE_NAME(name, def, doc) \
  if (n < cap) n += (size_t)snprintf(buf + n, cap - n, "%s" #name, n ? ", " : "");
  QT_GATE_THRESHOLDS(QT__GATE_NAME)
#undef QT__GATE_NAME
}

int qt_gate_thresholds_load(const char *text, size_t len, const char *file,
                            qt_gate_thresholds *t, qt_err *err) {
  if (len > QT_GATE_YAML_MAX)
    return qt_err_set(err, QT_EINVAL, "%s: %zu bytes (a thresholds file is at most %d)", file,
                      len, QT_GATE_YAML_MAX);
  qt_gate_thresholds w = *t;
  yaml_document_t doc;
  int r = qt_yaml_load(text, len, file, &doc, err); /* the one loader */
  if (r) return r;
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (root && root->type != YAML_MAPPING_NODE) {
    r = qt_err_set(err, QT_EPARSE, "%s:%zu: expected a map of threshold: value", file,
                   root->start_mark.line + 1);
    goto done;
  }
  for (yaml_node_pair_t *pr = root ? root->data.mapping.pairs.start : NULL;
       pr && pr < root->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
    yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
    size_t line = k->start_mark.line + 1;
    if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE) {
      r = qt_err_set(err, QT_EPARSE, "%s:%zu: expected threshold: number", file, line);
      goto done;
    }
    const char *key = (const char *)k->data.scalar.value, *val = (const char *)v->data.scalar.value;
    double *f = field(&w, key);
    if (!f) {
      char names[512];
      key_list(names, sizeof names);
      r = qt_err_set(err, QT_EPARSE, "%s:%zu: field '%.60s': unknown threshold (known: %s)", file,
                     line, key, names);
      goto done;
    }
    char *end = NULL;
    double d = strtod(val, &end);
    if (!*val || *end || !isfinite(d) || d < 0) {
      r = qt_err_set(err, QT_EPARSE, "%s:%zu: field '%s': not a number >= 0 (\"%.40s\")", file,
                     line, key, val);
      goto done;
    }
    *f = d;
  }
  *t = w;
done:
  yaml_document_delete(&doc);
  return r;
}

static double metric(json_t *m, const char *k) {
  json_t *v = json_object_get(m, k);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static void add(json_t *checks, const char *name, int pass, const char *detail, int *all) {
  json_t *c = json_object();
  json_object_set_new(c, "name", json_string(name));
  json_object_set_new(c, "pass", json_boolean(pass));
  json_object_set_new(c, "detail", json_string(detail));
  json_array_append_new(checks, c);
  *all &= pass;
}

/* "1.23", or "-" for NaN, into one of a few rotating buffers. */
static const char *f2(double x) {
  static _Thread_local char b[8][32];
  static _Thread_local int k;
  char *o = b[k++ & 7];
  if (isfinite(x)) snprintf(o, 32, "%.3g", x);
  else snprintf(o, 32, "-");
  return o;
}

/* 4. stable across symbols: enough symbols, each one's Sharpe above
 * min_symbol_sharpe; 5. no single-symbol dependency: the best symbol's share
 * of the summed profit at most max_symbol_share and the aggregate Sharpe
 * with any one symbol left out above min_symbol_sharpe.  The per-symbol
 * numbers are the candidate's "by_symbol" (objective_symbols.c). */
static void symbol_checks(json_t *c, size_t ns, const qt_gate_thresholds *t, json_t *checks,
                          int *all) {
  char d[512], d2[512];
  json_t *bs = json_object_get(c, "by_symbol");
  if (ns == 1 && (double)ns >= t->min_symbols) {
    snprintf(d, sizeof d, "1 symbol (min_symbols %s): not applicable", f2(t->min_symbols));
    add(checks, "stable across symbols", 1, d, all);
    add(checks, "no single-symbol dependency", 1, d, all);
    return;
  }
  if ((double)ns < t->min_symbols || !json_is_object(bs)) {
    snprintf(d, sizeof d, "the study ran on %zu symbol(s)%s, min_symbols %s: run it with "
             "qtune optimize --symbol A,B,..", ns, json_is_object(bs) ? "" : " without per-symbol "
             "results", f2(t->min_symbols));
    add(checks, "stable across symbols", 0, d, all);
    add(checks, "no single-symbol dependency", 0, d, all);
    return;
  }
  int stable = 1, loo_ok = 1;
  size_t n = 0, n2 = 0;
  n += (size_t)snprintf(d, sizeof d, "%zu symbols, Sharpe", ns);
  n2 += (size_t)snprintf(d2, sizeof d2, "Sharpe without");
  const char *sym;
  json_t *o;
  json_object_foreach(bs, sym, o) {
    double s = metric(o, "sharpe"), l = metric(o, "loo_sharpe");
    stable &= isfinite(s) && s > t->min_symbol_sharpe;
    loo_ok &= isfinite(l) && l > t->min_symbol_sharpe;
    if (n < sizeof d) n += (size_t)snprintf(d + n, sizeof d - n, " %s %s", sym, f2(s));
    if (n2 < sizeof d2) n2 += (size_t)snprintf(d2 + n2, sizeof d2 - n2, " %s %s", sym, f2(l));
  }
  if (n < sizeof d) snprintf(d + n, sizeof d - n, ", need each > %s", f2(t->min_symbol_sharpe));
  add(checks, "stable across symbols", stable, d, all);
  double share = metric(c, "symbol_best_profit_share");
  int share_ok = isfinite(share) && share <= t->max_symbol_share;
  char d3[700];
  snprintf(d3, sizeof d3, "the best symbol carries %s of the summed profit (need <= %s%s); %s, "
           "need each > %s", f2(share), f2(t->max_symbol_share),
           isfinite(share) ? "" : ": the symbols lose in sum", d2, f2(t->min_symbol_sharpe));
  add(checks, "no single-symbol dependency", share_ok && loo_ok, d3, all);
}

int qt_gate_evaluate(const qt_gate_input *in, const qt_gate_thresholds *thr, char *buf,
                     size_t cap, int *out_pass, qt_err *err) {
  *out_pass = 0;
  if (cap) buf[0] = '\0';
  qt_gate_thresholds t = thr ? *thr : qt_gate_thresholds_default();
  json_t *c = json_loads(in->candidate_metrics ? in->candidate_metrics : "", 0, NULL);
  json_t *b = json_loads(in->baseline_metrics ? in->baseline_metrics : "", 0, NULL);
  json_t *o = in->oos_metrics ? json_loads(in->oos_metrics, 0, NULL) : NULL;
  json_t *root = json_object(), *checks = json_array();
  int r = QT_OK, all = 1;
  if (!json_is_object(c) || !json_is_object(b) || (in->oos_metrics && !json_is_object(o))) {
    r = qt_err_set(err, QT_EPARSE, "gate: the %s metrics are not a JSON object",
                   !json_is_object(c) ? "candidate's" : !json_is_object(b) ? "baseline's"
                                                                           : "out-of-sample");
    goto done;
  }
  char d[512];
  /* 1. profit factor improves without collapsing the trade count */
  double pfc = metric(c, "profit_factor"), pfb = metric(b, "profit_factor");
  double trc = metric(c, "trades"), trb = metric(b, "trades");
  double tratio = trb > 0 ? trc / trb : (trc > 0 ? INFINITY : NAN);
  int pf_ok = isfinite(pfc) && (!isfinite(pfb) ? 1 : pfc - pfb > t.min_pf_gain);
  int tr_ok = trb > 0 ? tratio >= t.min_trade_ratio : trc > 0;
  snprintf(d, sizeof d, "profit factor %s vs %s (%s%s > %s), trades %s vs %s (%sx, need >= %sx)",
           f2(pfc), f2(pfb), pfc - pfb >= 0 ? "+" : "", f2(pfc - pfb), f2(t.min_pf_gain),
           f2(trc), f2(trb), f2(tratio), f2(t.min_trade_ratio));
  add(checks, "profit factor improves without collapsing the trade count", pf_ok && tr_ok, d, &all);
  /* 2. Sharpe improves without doubling the drawdown */
  double shc = metric(c, "sharpe"), shb = metric(b, "sharpe");
  double ddc = metric(c, "max_drawdown"), ddb = metric(b, "max_drawdown");
  int sh_ok = isfinite(shc) && (!isfinite(shb) || shc - shb > t.min_sharpe_gain);
  int dd_ok = isfinite(ddc) && (ddb > 0 ? ddc <= t.max_dd_ratio * ddb : ddc <= t.max_drawdown);
  snprintf(d, sizeof d, "Sharpe %s vs %s (%s%s > %s), max drawdown %s vs %s (%sx, need <= %sx)",
           f2(shc), f2(shb), shc - shb >= 0 ? "+" : "", f2(shc - shb), f2(t.min_sharpe_gain),
           f2(ddc), f2(ddb), f2(ddb > 0 ? ddc / ddb : NAN), f2(t.max_dd_ratio));
  add(checks, "Sharpe improves without doubling the drawdown", sh_ok && dd_ok, d, &all);
  /* 3. out of sample does not degrade dramatically */
  if (o) {
    double sho = metric(o, "sharpe");
    int ok = isfinite(sho) && sho > 0 && isfinite(shc) && sho >= t.min_oos_ratio * shc;
    snprintf(d, sizeof d, "out-of-sample Sharpe %s vs in-sample %s (%sx, need > 0 and >= %sx)",
             f2(sho), f2(shc), f2(shc != 0 ? sho / shc : NAN), f2(t.min_oos_ratio));
    add(checks, "out of sample does not degrade dramatically", ok, d, &all);
  } else {
    add(checks, "out of sample does not degrade dramatically", 0,
        "no out-of-sample result: run the study with qtune optimize --holdout 25%", &all);
  }
  /* 4, 5. several symbols */
  symbol_checks(c, in->n_symbols ? in->n_symbols : 1, &t, checks, &all);
  /* 6. drawdown at the target risk, in and out of sample */
  double ddo = o ? metric(o, "max_drawdown") : NAN;
  int risk_ok = isfinite(ddc) && ddc <= t.max_drawdown && (!o || (isfinite(ddo) && ddo <= t.max_drawdown));
  snprintf(d, sizeof d, "max drawdown %s in sample%s%s%s, need <= %s", f2(ddc), o ? ", " : "",
           o ? f2(ddo) : "", o ? " out of sample" : "", f2(t.max_drawdown));
  add(checks, "drawdown acceptable at the target risk", risk_ok, d, &all);

  json_object_set_new(root, "pass", json_boolean(all));
  json_object_set_new(root, "baseline", json_string(in->baseline_desc ? in->baseline_desc : "?"));
  json_object_set_new(root, "checks", checks);
  checks = NULL;
  json_t *tj = json_object();
#define QT__GATE_JSON(name, def, doc) json_object_set_new(tj, #name, json_real(t.name));
  QT_GATE_THRESHOLDS(QT__GATE_JSON)
#undef QT__GATE_JSON
  json_object_set_new(root, "thresholds", tj);
  json_object_set(root, "candidate", c);
  json_object_set(root, "baseline_metrics", b);
  if (o) json_object_set(root, "oos", o);
  char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  if (!s) r = qt_err_set(err, QT_ENOMEM, "gate: out of memory");
  else if (strlen(s) >= cap) r = qt_err_set(err, QT_EINVAL, "gate: result larger than %zu bytes", cap);
  else memcpy(buf, s, strlen(s) + 1);
  free(s);
  if (!r) *out_pass = all;
done:
  json_decref(checks);
  json_decref(root);
  json_decref(c);
  json_decref(b);
  json_decref(o);
  return r;
}

int qt_gate_write_table(const char *json, FILE *f, qt_err *err) {
  json_t *j = json_loads(json ? json : "", 0, NULL), *checks = json_object_get(j, "checks");
  if (!json_is_array(checks)) {
    json_decref(j);
    return qt_err_set(err, QT_EPARSE, "gate: not a gate result");
  }
  fprintf(f, "promotion gate against the baseline %s\n",
          json_string_value(json_object_get(j, "baseline")));
  size_t i, npass = 0;
  json_t *c;
  json_array_foreach(checks, i, c) {
    int ok = json_is_true(json_object_get(c, "pass"));
    npass += ok;
    fprintf(f, "  %s  %-58s %s\n", ok ? "PASS" : "FAIL", json_string_value(json_object_get(c, "name")),
            json_string_value(json_object_get(c, "detail")));
  }
  fprintf(f, "verdict: %s (%zu of %zu checks pass)\n",
          json_is_true(json_object_get(j, "pass")) ? "PASS" : "FAIL", npass, json_array_size(checks));
  json_decref(j);
  return ferror(f) ? qt_err_set(err, QT_EIO, "gate: write failed") : QT_OK;
}
