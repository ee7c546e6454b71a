/* Reading a study back: the ranking of its trials, the per-trial CSV, the
 * best-params YAML, one trial as JSON, readable param values and the
 * cleanup below a score.  What `qtune analyze|best|cleanup` and `optimize`
 * print or write comes from here, so every tool agrees. */
#include "study_int.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *load_obj(const char *js) {
  json_t *o = js ? json_loads(js, 0, NULL) : NULL;
  if (o && !json_is_object(o)) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

/* ---- ranking ---- */
typedef struct ranked {
  size_t idx;
  double key; /* the objective, negated when maximizing: ascending is best first */
  int feasible;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->feasible != y->feasible) return y->feasible - x->feasible;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->idx < y->idx ? -1 : 1;
}

int qt_study_rank(const qt_study *st, size_t *out_idx, size_t cap, size_t *out_n, qt_err *err) {
  *out_n = 0;
  size_t n = qt_study_n_trials(st), nr = 0;
  int neg = qt_study_goal(st)->maximize;
  ranked *rk = qt_malloc((n ? n : 1) * sizeof *rk);
  if (!rk) return qt_err_set(err, QT_ENOMEM, "ranking %zu trials: out of memory", n);
  for (size_t i = 0; i < n; i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    if (ti.state != QT_TRIAL_COMPLETE || isnan(ti.objective)) continue;
    rk[nr++] = (ranked){i, neg ? -ti.objective : ti.objective, ti.feasible};
  }
  qsort(rk, nr, sizeof *rk, cmp_ranked);
  size_t k = nr < cap ? nr : cap;
  for (size_t r = 0; r < k; r++) out_idx[r] = rk[r].idx;
  *out_n = k;
  qt_free(rk);
  return QT_OK;
}

/* ---- CSV ---- */
static void csv_field(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static void csv_json_value(FILE *f, json_t *v) {
  if (!v || json_is_null(v)) return;
  if (json_is_integer(v)) fprintf(f, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v)) fprintf(f, "%.17g", json_real_value(v));
  else if (json_is_boolean(v)) fputs(json_is_true(v) ? "true" : "false", f);
  else if (json_is_string(v)) csv_field(f, json_string_value(v));
  else fputc('?', f);
}

/* The metric keys over all trials, in first-seen order (no "violations"). */
static json_t *metric_keys(const qt_study *st) {
  json_t *keys = json_array(), *seen = json_object();
  for (size_t i = 0; i < qt_study_n_trials(st); i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    json_t *m = load_obj(ti.metrics_json);
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
      if (!strcmp(k, "violations") || json_object_get(seen, k)) continue;
      json_object_set_new(seen, k, json_true());
      json_array_append_new(keys, json_string(k));
    }
    json_decref(m);
  }
  json_decref(seen);
  return keys;
}

int qt_study_write_csv(const qt_study *st, FILE *f, qt_err *err) {
  json_t *keys = metric_keys(st);
  if (!keys) return qt_err_set(err, QT_ENOMEM, "study %s: CSV: out of memory", qt_study_name(st));
  const qt_space *sp = qt_study_space(st);
  fprintf(f, "number,state,%s,feasible,violations,error", qt_study_goal(st)->metric);
  size_t i;
  json_t *k;
  json_array_foreach(keys, i, k) fprintf(f, ",%s", json_string_value(k));
  for (size_t d = 0; d < qt_space_n(sp); d++) fprintf(f, ",%s", qt_space_dim(sp, d)->name);
  fputc('\n', f);
  for (size_t t = 0; t < qt_study_n_trials(st); t++) {
    qt_trial_info ti;
    qt_study_trial_info(st, t, &ti);
    json_t *m = load_obj(ti.metrics_json), *p = load_obj(ti.params_json);
    fprintf(f, "%lld,%s,", (long long)ti.number, qt_trial_state_name(ti.state));
    if (!isnan(ti.objective)) fprintf(f, "%.17g", ti.objective);
    fprintf(f, ",%d,", ti.feasible);
    json_t *vi = json_object_get(m, "violations");
    if (json_is_object(vi)) {
      const char *vk;
      json_t *vv;
      int first = 1;
      json_object_foreach(vi, vk, vv) {
        fprintf(f, "%s%s:", first ? "" : ";", vk);
        if (json_is_number(vv)) fprintf(f, "%.6g", json_number_value(vv));
        else fputs("missing", f);
        first = 0;
      }
    }
    fputc(',', f);
    if (ti.error) csv_field(f, ti.error);
    json_array_foreach(keys, i, k) {
      fputc(',', f);
      csv_json_value(f, json_object_get(m, json_string_value(k)));
    }
    for (size_t d = 0; d < qt_space_n(sp); d++) {
      fputc(',', f);
      csv_json_value(f, json_object_get(p, qt_space_dim(sp, d)->name));
    }
    fputc('\n', f);
    json_decref(m);
    json_decref(p);
  }
  json_decref(keys);
  if (ferror(f)) return qt_err_set(err, QT_EIO, "study %s: CSV: write failed", qt_study_name(st));
  return QT_OK;
}

/* ---- best params (YAML) ---- */
/* s as a YAML double-quoted scalar (YAML 1.2, 7.3.1): quote and backslash
 * escaped, every control character as an escape, so no value can end the
 * line and start a key of its own. */
static void yaml_dq(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c == '\n') fputs("\\n", f);
    else if (c == '\t') fputs("\\t", f);
    else if (c == '\r') fputs("\\r", f);
    else if (c < 0x20 || c == 0x7f) fprintf(f, "\\x%02x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

/* A key as written: plain when it is a simple identifier (the usual param
 * name), else double-quoted. */
static void yaml_key(FILE *f, const char *k) {
  int plain = (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_';
  for (const char *c = k; plain && *c; c++)
    plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '_' || *c == '-' || *c == '.';
  if (plain && strcmp(k, "true") && strcmp(k, "false") && strcmp(k, "null")) fputs(k, f);
  else yaml_dq(f, k);
}

/* Text inside a comment line: control characters (a newline would end the
 * comment and start a key) are written as their escapes. */
static void yaml_comment_text(FILE *f, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < 0x20 || c == 0x7f) fprintf(f, "\\x%02x", c);
    else fputc(c, f);
  }
}

/* One YAML scalar of a JSON param value. */
static void yaml_value(FILE *f, json_t *v) {
  if (json_is_integer(v)) fprintf(f, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v)) fprintf(f, "%.17g", json_real_value(v));
  else if (json_is_true(v)) fputs("true", f);
  else if (json_is_false(v)) fputs("false", f);
  else if (json_is_string(v)) yaml_dq(f, json_string_value(v));
  else fputs("null", f);
}

int qt_study_write_best_yaml(const qt_study *st, size_t i, FILE *f, qt_err *err) {
  qt_trial_info ti;
  qt_study_trial_info(st, i, &ti);
  json_t *p = load_obj(ti.params_json);
  if (!p) return qt_err_set(err, QT_EPARSE, "trial #%lld: no params", (long long)ti.number);
  fputs("# qtune best parameters: study ", f);
  yaml_comment_text(f, qt_study_name(st));
  fprintf(f, ", trial #%lld, ", (long long)ti.number);
  yaml_comment_text(f, qt_study_goal(st)->metric);
  fprintf(f, " %.17g\n", ti.objective);
  const char *k;
  json_t *v;
  json_object_foreach(p, k, v) {
    yaml_key(f, k);
    fputs(": ", f);
    yaml_value(f, v);
    fputc('\n', f);
  }
  json_decref(p);
  if (ferror(f))
    return qt_err_set(err, QT_EIO, "study %s: best params: write failed", qt_study_name(st));
  return QT_OK;
}

char *qt_study_best_path(const qt_study *st, char *buf, size_t cap) {
  char safe[256];
  qt_file_name_sanitize(qt_study_name(st), safe, sizeof safe);
  snprintf(buf, cap, "%s_best.yaml", safe);
  return buf;
}

/* ---- one trial as JSON ---- */
int qt_study_write_trial_json(const qt_study *st, size_t i, FILE *f, qt_err *err) {
  qt_trial_info ti;
  qt_study_trial_info(st, i, &ti);
  const qt_goal *g = qt_study_goal(st);
  json_t *m = load_obj(ti.metrics_json), *p = load_obj(ti.params_json);
  json_t *o = json_pack("{s:s,s:I,s:s,s:s,s:o,s:b,s:o,s:o}", "study", qt_study_name(st), "trial",
                        (json_int_t)ti.number, "objective", g->metric, "direction",
                        g->maximize ? "maximize" : "minimize", "score",
                        /* JSON has no inf: a rejected trial's score is the string "-inf" */
                        isnan(ti.objective)   ? json_null()
                        : isinf(ti.objective) ? json_string(ti.objective < 0 ? "-inf" : "inf")
                                              : json_real(ti.objective),
                        "feasible",
                        ti.feasible, "params", p ? p : json_object(), "metrics",
                        m ? m : json_object());
  char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) : NULL;
  json_decref(o);
  long long num = (long long)ti.number;
  if (!s) return qt_err_set(err, QT_ENOMEM, "trial #%lld: JSON: out of memory", num);
  fprintf(f, "%s\n", s);
  free(s);
  if (ferror(f)) return qt_err_set(err, QT_EIO, "trial #%lld: JSON: write failed", num);
  return QT_OK;
}

/* ---- readable param values ---- */
/* Decimals that show a multiple of step exactly (0.05 -> 2), at most 9. */
static int step_decimals(double step) {
  for (int d = 0; d <= 9; d++) {
    double s = step * pow(10, d);
    if (fabs(s - round(s)) < 1e-9 * fmax(1, s)) return d;
  }
  return 9;
}

void qt_study_param_text(const qt_study *st, size_t i, size_t k, char *buf, size_t cap) {
  qt_trial_info ti;
  qt_study_trial_info(st, i, &ti);
  const qt_dim *d = qt_space_dim(qt_study_space(st), k);
  json_t *p = load_obj(ti.params_json), *v = json_object_get(p, d->name);
  if (json_is_integer(v)) snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v) && d->step > 0)
    snprintf(buf, cap, "%.*f", step_decimals(d->step), json_real_value(v));
  else if (json_is_real(v)) snprintf(buf, cap, "%.6g", json_real_value(v));
  else if (json_is_string(v)) snprintf(buf, cap, "%s", json_string_value(v));
  else if (json_is_boolean(v)) snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
  else snprintf(buf, cap, "-");
  json_decref(p);
}

/* ---- cleanup ---- */
/* The worse end follows the study's direction: below the threshold when
 * maximizing, above it when minimizing (deleting "below" on a minimize study
 * would delete its best trials). */
static int is_worse(const qt_study *st, double obj, double threshold) {
  if (isnan(obj)) return 0;
  return qt_study_goal(st)->maximize ? obj < threshold : obj > threshold;
}

size_t qt_study_count_worse(const qt_study *st, double threshold) {
  size_t n = 0;
  for (size_t i = 0; i < qt_study_n_trials(st); i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    n += is_worse(st, ti.objective, threshold);
  }
  return n;
}

int qt_study_delete_worse(qt_study *st, double threshold, size_t *out_deleted, qt_err *err) {
  *out_deleted = 0;
  /* stored scores first follow the current normalization, so the storage
   * deletes exactly the trials qt_study_count_worse counts */
  int rc = qt_study_store_scores(st, err);
  if (rc) return rc;
  qt_storage *s = qt_study_storage(st);
  return s->vt->trials_delete_worse(s->self, qt__study_id(st), threshold,
                                    !qt_study_goal(st)->maximize, out_deleted, err);
}
