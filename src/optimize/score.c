/* Scores and constraints: the metric set, the goal (metric or weighted
 * score, weights, hard constraints), its parsing and JSON form, the
 * constraint check with its lenient penalty, and min-max normalization.
 * Pure functions; the study decides when to refresh. */
#include "qtune/optimize.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- metric set ---- */
void qt_metric_set_init(qt_metric_set *m) { memset(m, 0, sizeof *m); }

void qt_metric_set_fini(qt_metric_set *m) {
  if (!m) return;
  qt_free(m->v);
  qt_free(m->ret);
  qt_metric_set_init(m);
}

void qt_metric_set_clear(qt_metric_set *m) {
  m->n = 0;
  m->n_ret = 0;
  m->bench_ret = NULL;
}

int qt_metric_set_reserve_returns(qt_metric_set *m, size_t n, qt_err *err) {
  if (n > m->cap_ret) {
    double *g = qt_realloc(m->ret, n * sizeof *g);
    if (!g) return qt_err_set(err, QT_ENOMEM, "metric set: out of memory for %zu returns", n);
    m->ret = g;
    m->cap_ret = n;
  }
  m->n_ret = n;
  return QT_OK;
}

const double *qt_metric_set_find(const qt_metric_set *m, const char *name) {
  for (size_t i = 0; m && i < m->n; i++)
    if (strcmp(m->v[i].name, name) == 0) return &m->v[i].value;
  return NULL;
}

int qt_metric_set_put(qt_metric_set *m, const char *name, double value, qt_err *err) {
  size_t len = strlen(name);
  if (len == 0 || len >= sizeof m->v[0].name)
    return qt_err_set(err, QT_EINVAL, "metric name '%.60s': must be 1..47 bytes", name);
  for (size_t i = 0; i < m->n; i++)
    if (strcmp(m->v[i].name, name) == 0) {
      m->v[i].value = value;
      return QT_OK;
    }
  if (m->n == QT_METRIC_SET_MAX)
    return qt_err_set(err, QT_EINVAL, "more than %d metrics (QT_METRIC_SET_MAX): report fewer keys",
                      QT_METRIC_SET_MAX);
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 32;
    qt_metric_kv *nv = qt_realloc(m->v, cap * sizeof *nv);
    if (!nv) return qt_err_set(err, QT_ENOMEM, "metric set: out of memory");
    m->v = nv;
    m->cap = cap;
  }
  memcpy(m->v[m->n].name, name, len + 1);
  m->v[m->n].value = value;
  m->n++;
  return QT_OK;
}

/* ---- goal ---- */
static void set_name(char *dst, size_t cap, const char *s, size_t len) {
  if (len >= cap) len = cap - 1;
  memcpy(dst, s, len);
  dst[len] = 0;
}

static void add_term(qt_goal *g, const char *m, double w) {
  set_name(g->terms[g->n_terms].metric, sizeof g->terms[0].metric, m, strlen(m));
  g->terms[g->n_terms++].weight = w;
}

static void add_con(qt_goal *g, const char *m, int op, double b) {
  set_name(g->cons[g->n_cons].metric, sizeof g->cons[0].metric, m, strlen(m));
  g->cons[g->n_cons].op = op;
  g->cons[g->n_cons++].bound = b;
}

void qt_goal_default(qt_goal *g, int with_constraints) {
  memset(g, 0, sizeof *g);
  strcpy(g->metric, "score");
  g->maximize = 1;
  g->refresh_every = 20;
  add_term(g, "sharpe", 0.30);
  add_term(g, "total_profit", 0.25);
  add_term(g, "calmar", 0.25);
  add_term(g, "max_drawdown", -0.20);
  if (!with_constraints) return;
  add_con(g, "sharpe", QT_CMP_GE, 1.0);
  add_con(g, "max_drawdown", QT_CMP_LE, 0.20);
  add_con(g, "trades", QT_CMP_GE, 50);
  add_con(g, "win_rate", QT_CMP_GE, 0.45);
  add_con(g, "profit_factor", QT_CMP_GE, 1.1);
  add_con(g, "calmar", QT_CMP_GE, 0.5);
}

static int is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

/* Splits s on ',' and calls item() on each trimmed, non-empty piece. */
typedef int (*item_fn)(qt_goal *g, const char *p, size_t len, qt_err *err);
static int for_items(qt_goal *g, const char *s, item_fn fn, qt_err *err) {
  while (*s) {
    const char *e = strchr(s, ',');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    const char *p = s;
    while (len && (*p == ' ' || *p == '\t')) p++, len--;
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
    if (len) {
      int r = fn(g, p, len, err);
      if (r) return r;
    }
    s += e ? (size_t)(e - s) + 1 : strlen(s);
  }
  return QT_OK;
}

static int weight_item(qt_goal *g, const char *p, size_t len, qt_err *err) {
  size_t k = 0;
  while (k < len && is_name_char(p[k])) k++;
  size_t nl = k;
  while (k < len && p[k] == ' ') k++;
  double w;
  if (nl == 0 || nl >= sizeof g->terms[0].metric || k >= len || p[k] != '=')
    return qt_err_set(err, QT_EPARSE, "weights: '%.*s': expected metric=weight", (int)len, p);
  k++;
  while (k < len && p[k] == ' ') k++;
  if (qt_parse_double(p + k, len - k, &w) != 0 || !isfinite(w))
    return qt_err_set(err, QT_EPARSE, "weights: '%.*s': weight is not a number", (int)len, p);
  if (g->n_terms == QT_SCORE_MAX_TERMS)
    return qt_err_set(err, QT_EINVAL, "weights: more than %d terms", QT_SCORE_MAX_TERMS);
  for (size_t i = 0; i < g->n_terms; i++)
    if (strncmp(g->terms[i].metric, p, nl) == 0 && g->terms[i].metric[nl] == 0)
      return qt_err_set(err, QT_EINVAL, "weights: '%.*s' given twice", (int)nl, p);
  set_name(g->terms[g->n_terms].metric, sizeof g->terms[0].metric, p, nl);
  g->terms[g->n_terms++].weight = w;
  return QT_OK;
}

int qt_goal_parse_weights(qt_goal *g, const char *s, qt_err *err) {
  qt_goal tmp = *g;
  tmp.n_terms = 0;
  int r = for_items(&tmp, s, weight_item, err);
  if (r) return r;
  if (tmp.n_terms == 0) return qt_err_set(err, QT_EPARSE, "weights: '%s': no terms", s);
  memcpy(g->terms, tmp.terms, sizeof g->terms);
  g->n_terms = tmp.n_terms;
  return QT_OK;
}

static const char *const k_ops[] = {">=", "<=", ">", "<"};

/* ---- the tuning guide's spellings ---- */
static const struct {
  const char *alias, *metric;
} k_aliases[] = {
    {"sharpe_ratio", "sharpe"},       {"sortino_ratio", "sortino"},
    {"calmar_ratio", "calmar"},       {"total_trades", "trades"},
    {"num_trades", "trades"},         {"n_trades", "trades"},
    {"profit", "total_profit"},       {"drawdown", "max_drawdown"},
    {"max_dd", "max_drawdown"},       {"winrate", "win_rate"},
};

const char *qt_metric_alias(const char *name) {
  for (size_t i = 0; i < sizeof k_aliases / sizeof k_aliases[0]; i++)
    if (!strcmp(k_aliases[i].alias, name)) return k_aliases[i].metric;
  return name;
}

int qt_metric_is_fraction(const char *name) {
  /* the metrics list documents units; "fraction" there is the convention
   * (0.2 = 20%) that a _pct spelling converts to */
  int k = qt_metrics_index(qt_metric_alias(name));
  return k >= 0 && strstr(qt_metrics_doc(k), "fraction") != NULL;
}

/* key is "min_X" or "max_X" (the tuning guide's constraint keys).  max_X is
 * tried whole first: max_drawdown_pct is a bound on max_drawdown, not on
 * "drawdown".  A trailing _pct on a fraction metric divides the bound by 100. */
static int guide_con(qt_goal *g, const char *key, double b, qt_err *err) {
  int op = key[1] == 'i' ? QT_CMP_GE : QT_CMP_LE;
  char name[48];
  const char *cand[2] = {key[1] == 'a' ? key : NULL, key + 4};
  for (int c = 0; c < 2; c++) {
    if (!cand[c]) continue;
    size_t n = strlen(cand[c]);
    int pct = n > 4 && !strcmp(cand[c] + n - 4, "_pct");
    set_name(name, sizeof name, cand[c], pct ? n - 4 : n);
    if (qt_metrics_index(qt_metric_alias(name)) < 0) continue;
    if (pct && !qt_metric_is_fraction(name))
      return qt_err_set(err, QT_EINVAL,
                        "constraints: '%s': metric '%s' is not a fraction, so _pct does not apply",
                        key, qt_metric_alias(name));
    /* without _pct the spelling stays: qt_goal_check_names resolves aliases
     * against the names the objective reports */
    add_con(g, pct ? qt_metric_alias(name) : name, op, pct ? b / 100.0 : b);
    return QT_OK;
  }
  /* not one of qtune's metrics: a key of an external command, kept as written */
  add_con(g, key + 4, op, b);
  return QT_OK;
}

static int con_item(qt_goal *g, const char *p, size_t len, qt_err *err) {
  size_t k = 0;
  while (k < len && is_name_char(p[k])) k++;
  size_t nl = k;
  while (k < len && p[k] == ' ') k++;
  int op = -1;
  if (k + 1 < len && p[k + 1] == '=' && (p[k] == '>' || p[k] == '<')) {
    op = p[k] == '>' ? QT_CMP_GE : QT_CMP_LE;
    k += 2;
  } else if (k < len && (p[k] == '>' || p[k] == '<')) {
    op = p[k] == '>' ? QT_CMP_GT : QT_CMP_LT;
    k += 1;
  }
  char kname[48];
  if (op < 0 && nl < sizeof kname && k < len && p[k] == '=' &&
      (!strncmp(p, "min_", 4) || !strncmp(p, "max_", 4))) {
    /* the tuning guide's form: min_X=v is X >= v, max_X=v is X <= v */
    if (nl == 4)
      return qt_err_set(err, QT_EPARSE, "constraints: '%.*s': no metric after '%.4s'", (int)len,
                        p, p);
    set_name(kname, sizeof kname, p, nl);
    double b;
    size_t vk = k + 1;
    while (vk < len && p[vk] == ' ') vk++;
    if (qt_parse_double(p + vk, len - vk, &b) != 0 || !isfinite(b))
      return qt_err_set(err, QT_EPARSE, "constraints: '%.*s': bound is not a number", (int)len,
                        p);
    if (g->n_cons == QT_CONSTRAINTS_MAX)
      return qt_err_set(err, QT_EINVAL, "constraints: more than %d", QT_CONSTRAINTS_MAX);
    return guide_con(g, kname, b, err);
  }
  if (nl == 0 || nl >= sizeof g->cons[0].metric || op < 0)
    return qt_err_set(err, QT_EPARSE,
                      "constraints: '%.*s': expected metric>=bound (ops >=, <=, >, <)", (int)len,
                      p);
  while (k < len && p[k] == ' ') k++;
  double b;
  size_t vl = len - k;
  /* "20%" reads as 0.20: metrics are fractions */
  int pct = vl > 0 && p[k + vl - 1] == '%';
  if (qt_parse_double(p + k, vl - (size_t)pct, &b) != 0 || !isfinite(b))
    return qt_err_set(err, QT_EPARSE, "constraints: '%.*s': bound is not a number", (int)len, p);
  if (pct) b /= 100.0;
  if (g->n_cons == QT_CONSTRAINTS_MAX)
    return qt_err_set(err, QT_EINVAL, "constraints: more than %d", QT_CONSTRAINTS_MAX);
  set_name(g->cons[g->n_cons].metric, sizeof g->cons[0].metric, p, nl);
  g->cons[g->n_cons].op = op;
  g->cons[g->n_cons++].bound = b;
  return QT_OK;
}

int qt_goal_parse_constraints(qt_goal *g, const char *s, qt_err *err) {
  qt_goal tmp = *g;
  tmp.n_cons = 0;
  if (strcmp(s, "none") != 0) {
    int r = for_items(&tmp, s, con_item, err);
    if (r) return r;
  }
  memcpy(g->cons, tmp.cons, sizeof g->cons);
  g->n_cons = tmp.n_cons;
  return QT_OK;
}

int qt_goal_to_json(const qt_goal *g, char *buf, size_t cap, qt_err *err) {
  int r = QT_ENOMEM;
  json_t *o = json_object(), *w = json_object(), *c = json_array();
  if (!o || !w || !c) goto fail;
  for (size_t i = 0; i < g->n_terms; i++)
    if (json_object_set_new(w, g->terms[i].metric, json_real(g->terms[i].weight))) goto fail;
  for (size_t i = 0; i < g->n_cons; i++) {
    char item[128];
    snprintf(item, sizeof item, "%s%s%.17g", g->cons[i].metric, k_ops[g->cons[i].op],
             g->cons[i].bound);
    if (json_array_append_new(c, json_string(item))) goto fail;
  }
  if (json_object_set_new(o, "metric", json_string(g->metric)) ||
      json_object_set_new(o, "direction", json_string(g->maximize ? "maximize" : "minimize")) ||
      json_object_set(o, "weights", w) || json_object_set(o, "constraints", c) ||
      json_object_set_new(o, "lenient", json_boolean(g->lenient)) ||
      json_object_set_new(o, "refresh_every", json_integer((json_int_t)g->refresh_every)))
    goto fail;
  if (g->n_obj >= 2) { /* several objectives: [{metric, direction}, ...] */
    json_t *ob = json_array();
    if (!ob || json_object_set_new(o, "objectives", ob)) goto fail;
    for (size_t k = 0; k < g->n_obj; k++)
      if (json_array_append_new(ob, json_pack("{s:s,s:s}", "metric", g->obj[k].metric,
                                              "direction",
                                              g->obj[k].maximize ? "maximize" : "minimize")))
        goto fail;
  }
  size_t need = json_dumpb(o, buf, cap ? cap - 1 : 0, JSON_COMPACT | JSON_REAL_PRECISION(17));
  if (need == 0 || need >= cap) {
    r = qt_err_set(err, QT_EINVAL, "goal JSON needs %zu bytes, buffer has %zu", need, cap);
    goto fail;
  }
  buf[need] = 0;
  r = QT_OK;
fail:
  if (r == QT_ENOMEM) qt_err_set(err, QT_ENOMEM, "goal JSON: out of memory");
  json_decref(o);
  json_decref(w);
  json_decref(c);
  return r;
}

int qt_goal_from_json(qt_goal *g, const char *js, qt_err *err) {
  json_error_t je;
  json_t *o = json_loads(js, 0, &je);
  if (!o || !json_is_object(o)) {
    json_decref(o);
    return qt_err_set(err, QT_EPARSE, "goal JSON: %s", o ? "not an object" : je.text);
  }
  qt_goal t;
  memset(&t, 0, sizeof t);
  int r = QT_EPARSE;
  json_t *m = json_object_get(o, "metric"), *d = json_object_get(o, "direction");
  json_t *w = json_object_get(o, "weights"), *c = json_object_get(o, "constraints");
  json_t *re = json_object_get(o, "refresh_every");
  if (!json_is_string(m) || !json_is_string(d) || !json_is_object(w) || !json_is_array(c)) {
    qt_err_set(err, QT_EPARSE, "goal JSON: needs metric, direction, weights, constraints");
    goto fail;
  }
  set_name(t.metric, sizeof t.metric, json_string_value(m), strlen(json_string_value(m)));
  t.maximize = strcmp(json_string_value(d), "minimize") != 0;
  t.lenient = json_is_true(json_object_get(o, "lenient"));
  t.refresh_every = json_is_integer(re) && json_integer_value(re) > 0
                        ? (size_t)json_integer_value(re) : 20;
  const char *key;
  json_t *val;
  json_object_foreach(w, key, val) {
    if (t.n_terms == QT_SCORE_MAX_TERMS || !json_is_number(val)) {
      qt_err_set(err, QT_EPARSE, "goal JSON: bad weight '%s'", key);
      goto fail;
    }
    add_term(&t, key, json_number_value(val));
  }
  size_t i;
  json_array_foreach(c, i, val) {
    if (!json_is_string(val)) {
      qt_err_set(err, QT_EPARSE, "goal JSON: constraint %zu is not a string", i);
      goto fail;
    }
    const char *s = json_string_value(val);
    if ((r = con_item(&t, s, strlen(s), err)) != 0) goto fail;
  }
  json_t *ob = json_object_get(o, "objectives");
  r = QT_EPARSE;
  if (json_is_array(ob) && json_array_size(ob) >= 2) {
    if (json_array_size(ob) > QT_GOAL_MAX_OBJ) {
      qt_err_set(err, QT_EPARSE, "goal JSON: more than %d objectives", QT_GOAL_MAX_OBJ);
      goto fail;
    }
    json_array_foreach(ob, i, val) {
      const char *om = json_string_value(json_object_get(val, "metric"));
      const char *od = json_string_value(json_object_get(val, "direction"));
      if (!om || !od) {
        qt_err_set(err, QT_EPARSE, "goal JSON: objective %zu needs metric and direction", i);
        goto fail;
      }
      set_name(t.obj[i].metric, sizeof t.obj[i].metric, om, strlen(om));
      t.obj[i].maximize = strcmp(od, "minimize") != 0;
    }
    t.n_obj = json_array_size(ob);
  }
  *g = t;
  r = QT_OK;
fail:
  json_decref(o);
  return r;
}

/* ---- names ---- */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 47) la = 47;
  if (lb > 47) lb = 47;
  size_t row[48];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      diag = up;
      row[j] = best;
    }
  }
  return row[lb];
}

int qt_names_nearest(const char *name, const char *const *names, size_t n, char *buf,
                     size_t cap) {
  if (cap) buf[0] = 0;
  size_t best = (size_t)-1;
  for (size_t i = 0; i < n; i++) {
    size_t d = edit_distance(name, names[i]);
    if (d < best) best = d;
  }
  /* a suggestion only when it is plausibly a typo: at most a third of the
   * name (and at least 2 edits allowed for short names) */
  size_t limit = strlen(name) / 3 > 2 ? strlen(name) / 3 : 2;
  if (best == (size_t)-1 || best > limit) return 0;
  int k = 0;
  size_t used = 0;
  for (size_t i = 0; i < n && k < 3; i++) {
    if (edit_distance(name, names[i]) != best) continue;
    int w = snprintf(buf + used, cap > used ? cap - used : 0, "%s'%s'", k ? " or " : "", names[i]);
    if (w < 0 || used + (size_t)w >= cap) break;
    used += (size_t)w;
    k++;
  }
  return k;
}

/* Resolves name (in place) against names: as written, else its alias.
 * QT_EINVAL naming where it was used and the nearest valid names. */
static int resolve_name(char *name, size_t cap, const char *where, const char *const *names,
                        size_t n, const char *printed_by, qt_err *err) {
  const char *al = qt_metric_alias(name);
  for (int pass = 0; pass < 2; pass++) {
    const char *want = pass ? al : name;
    for (size_t i = 0; i < n; i++)
      if (!strcmp(names[i], want)) {
        if (pass) set_name(name, cap, al, strlen(al));
        return QT_OK;
      }
  }
  char near[160];
  int k = qt_names_nearest(name, names, n, near, sizeof near);
  if (!k && al != name) k = qt_names_nearest(al, names, n, near, sizeof near);
  char keys[200] = "";
  if (printed_by) {
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof keys; i++)
      used += (size_t)snprintf(keys + used, sizeof keys - used, "%s%s", i ? ", " : "", names[i]);
  }
  return qt_err_set(err, QT_EINVAL, "%s: unknown metric '%s'%s%s%s%s%s%s", where, name,
                    k ? " (did you mean " : "", k ? near : "", k ? "?)" : "",
                    printed_by ? "; " : "", printed_by ? printed_by : "",
                    printed_by ? (n ? keys : "nothing") : "");
}

int qt_goal_check_names(qt_goal *g, const char *const *names, size_t n, const char *printed_by,
                        qt_err *err) {
  qt_goal t = *g;
  int r;
  char pb[64] = "";
  if (printed_by) snprintf(pb, sizeof pb, "%s printed: ", printed_by);
  const char *by = printed_by ? pb : NULL;
  if (t.n_obj >= 2) {
    for (size_t k = 0; k < t.n_obj; k++)
      if ((r = resolve_name(t.obj[k].metric, sizeof t.obj[k].metric, "objective", names, n, by,
                            err)))
        return r;
    strcpy(t.metric, t.obj[0].metric);
  } else if (strcmp(t.metric, "score") != 0) {
    if ((r = resolve_name(t.metric, sizeof t.metric, "objective", names, n, by, err))) return r;
  } else {
    for (size_t k = 0; k < t.n_terms; k++)
      if ((r = resolve_name(t.terms[k].metric, sizeof t.terms[k].metric, "weights", names, n, by,
                            err)))
        return r;
  }
  for (size_t k = 0; k < t.n_cons; k++)
    if ((r = resolve_name(t.cons[k].metric, sizeof t.cons[k].metric, "constraints", names, n, by,
                          err)))
      return r;
  *g = t;
  return QT_OK;
}

int qt_goal_check_strategy_names(qt_goal *g, qt_err *err) {
  const char *names[QT_METRICS_N];
  for (int k = 0; k < QT_METRICS_N; k++) names[k] = qt_metrics_name(k);
  return qt_goal_check_names(g, names, QT_METRICS_N, NULL, err);
}

/* ---- constraints ---- */
int qt_goal_reason(const qt_goal *g, const qt_metric_set *m, char *buf, size_t cap) {
  static const char *const k_neg[] = {"<", ">", "<=", ">="}; /* what a violation looks like */
  size_t used = 0;
  int bad = 0;
  if (cap) buf[0] = 0;
  double viol[QT_CONSTRAINTS_MAX];
  if (qt_goal_check(g, m, viol, NULL)) return 0;
  for (size_t k = 0; k < g->n_cons; k++) {
    if (viol[k] == 0) continue;
    const qt_constraint *c = &g->cons[k];
    const double *v = qt_metric_set_find(m, c->metric);
    int w;
    if (!v || isnan(*v))
      w = snprintf(buf + used, cap > used ? cap - used : 0, "%s%s %s", bad ? ", " : "infeasible: ",
                   c->metric, v ? "is NaN" : "is missing");
    else
      w = snprintf(buf + used, cap > used ? cap - used : 0, "%s%s %.4g %s %.4g",
                   bad ? ", " : "infeasible: ", c->metric, *v, k_neg[c->op], c->bound);
    bad++;
    if (w < 0 || used + (size_t)w >= cap) break;
    used += (size_t)w;
  }
  return bad;
}


int qt_goal_check(const qt_goal *g, const qt_metric_set *m, double *out_viol,
                  double *out_penalty) {
  int ok = 1;
  double pen = 0;
  for (size_t k = 0; k < g->n_cons; k++) {
    const qt_constraint *c = &g->cons[k];
    const double *v = qt_metric_set_find(m, c->metric);
    double miss;
    int holds;
    if (!v || isnan(*v)) {
      miss = NAN;
      holds = 0;
    } else {
      miss = (c->op == QT_CMP_GE || c->op == QT_CMP_GT) ? c->bound - *v : *v - c->bound;
      holds = (c->op == QT_CMP_GE || c->op == QT_CMP_LE) ? miss <= 0 : miss < 0;
    }
    if (out_viol) out_viol[k] = holds ? 0.0 : miss;
    if (holds) continue;
    ok = 0;
    if (isnan(miss)) {
      pen += 1.1;
    } else {
      double scale = fabs(c->bound) > 1e-9 ? fabs(c->bound) : 1e-9;
      double rel = miss / scale;
      pen += 0.1 + (rel < 1 ? rel : 1);
    }
  }
  if (out_penalty) *out_penalty = pen;
  return ok;
}

/* ---- normalization ---- */
void qt_norm_refresh(qt_norm *nm, const qt_goal *g, const double *vals, size_t n) {
  nm->n_terms = g->n_terms;
  nm->n_seen = n;
  for (size_t k = 0; k < g->n_terms; k++) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t r = 0; r < n; r++) {
      double v = vals[r * g->n_terms + k];
      if (!isfinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    nm->lo[k] = lo > hi ? NAN : lo;
    nm->hi[k] = lo > hi ? NAN : hi;
  }
}

double qt_norm_score(const qt_norm *nm, const qt_goal *g, const double *row) {
  double s = 0;
  for (size_t k = 0; k < g->n_terms; k++) {
    double w = g->terms[k].weight, v = row[k], z;
    if (!isfinite(v)) {
      z = w >= 0 ? 0.0 : 1.0; /* missing counts as the worst */
    } else if (k >= nm->n_terms || isnan(nm->lo[k]) || nm->hi[k] <= nm->lo[k]) {
      z = 0.5;
    } else {
      z = (v - nm->lo[k]) / (nm->hi[k] - nm->lo[k]);
      z = z < 0 ? 0 : z > 1 ? 1 : z;
    }
    s += w * z;
  }
  return s;
}
