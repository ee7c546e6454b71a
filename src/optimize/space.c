/* Typed parameter spaces: built from a strategy's spec, narrowed or extended
 * by a YAML overlay, converted between user values and the internal doubles
 * samplers work on, and serialized to JSON (params and the space itself). */
#include "qtune/optimize.h"
#include "qtune/strategies.h"
#include "optimize/flat_json.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct qt_space {
  qt_dim *dims;
  size_t n, cap;
};

static const char *type_name(int t) {
  switch (t) {
  case QT_PARAM_INT: return "int";
  case QT_PARAM_FLOAT: return "float";
  case QT_PARAM_CAT: return "categorical";
  case QT_PARAM_BOOL: return "bool";
  default: return "?";
  }
}

static int type_parse(const char *s) {
  if (!strcmp(s, "int")) return QT_PARAM_INT;
  if (!strcmp(s, "float")) return QT_PARAM_FLOAT;
  if (!strcmp(s, "categorical")) return QT_PARAM_CAT;
  if (!strcmp(s, "bool")) return QT_PARAM_BOOL;
  return -1;
}

static void dim_fini(qt_dim *d) {
  for (size_t i = 0; i < d->n_choices; i++) qt_free(d->choices[i]);
  qt_free(d->choices);
  qt_free(d->choice_vals);
  d->choices = NULL;
  d->choice_vals = NULL;
  d->n_choices = 0;
}

/* Deep copy of the choices of src into dst (dst's scalar fields already set). */
static int dim_copy_choices(qt_dim *dst, const qt_dim *src) {
  dst->choices = NULL;
  dst->choice_vals = NULL;
  size_t n = src->n_choices;
  dst->n_choices = 0;
  if (n == 0) return QT_OK;
  dst->choices = qt_calloc(n, sizeof *dst->choices);
  dst->choice_vals = qt_malloc(n * sizeof *dst->choice_vals);
  if (!dst->choices || !dst->choice_vals) goto fail;
  dst->n_choices = n;
  for (size_t i = 0; i < n; i++) {
    dst->choices[i] = qt_strdup(src->choices[i]);
    if (!dst->choices[i]) goto fail;
    dst->choice_vals[i] = src->choice_vals ? src->choice_vals[i] : NAN;
  }
  return QT_OK;
fail:
  dim_fini(dst);
  return QT_ENOMEM;
}

int qt_space_new(qt_space **out, qt_err *err) {
  *out = qt_calloc(1, sizeof **out);
  if (!*out) return qt_err_set(err, QT_ENOMEM, "space: out of memory");
  return QT_OK;
}

void qt_space_free(qt_space *sp) {
  if (!sp) return;
  for (size_t i = 0; i < sp->n; i++) dim_fini(&sp->dims[i]);
  qt_free(sp->dims);
  qt_free(sp);
}

size_t qt_space_n(const qt_space *sp) { return sp->n; }
const qt_dim *qt_space_dim(const qt_space *sp, size_t k) { return k < sp->n ? &sp->dims[k] : NULL; }

int qt_space_index(const qt_space *sp, const char *name) {
  for (size_t i = 0; i < sp->n; i++)
    if (!strcmp(sp->dims[i].name, name)) return (int)i;
  return -1;
}

static int dim_check(const qt_dim *d, qt_err *err) {
  if (!d->name[0]) return qt_err_set(err, QT_EINVAL, "space: a dimension has no name");
  switch (d->type) {
  case QT_PARAM_INT:
  case QT_PARAM_FLOAT:
    if (!isfinite(d->lo) || !isfinite(d->hi) || d->lo > d->hi)
      return qt_err_set(err, QT_EINVAL, "%s: bad range [%g, %g]", d->name, d->lo, d->hi);
    if (d->step < 0 || !isfinite(d->step))
      return qt_err_set(err, QT_EINVAL, "%s: bad step %g", d->name, d->step);
    if (d->type == QT_PARAM_INT && (d->lo != floor(d->lo) || d->hi != floor(d->hi) ||
                                    (d->step != 0 && d->step < 1) || d->step != floor(d->step)))
      return qt_err_set(err, QT_EINVAL, "%s: int range [%g, %g] step %g is not whole", d->name,
                        d->lo, d->hi, d->step);
    if (d->log && d->lo <= 0)
      return qt_err_set(err, QT_EINVAL, "%s: log scale needs low > 0 (got %g)", d->name, d->lo);
    break;
  case QT_PARAM_CAT:
    if (d->n_choices == 0) return qt_err_set(err, QT_EINVAL, "%s: no choices", d->name);
    break;
  case QT_PARAM_BOOL: break;
  default: return qt_err_set(err, QT_EINVAL, "%s: unknown type %d", d->name, d->type);
  }
  if (d->n_points && (d->n_points < 2 || d->type != QT_PARAM_FLOAT || d->step > 0))
    return qt_err_set(err, QT_EINVAL, "%s: n_points %d: only a float without step takes it (>= 2)",
                      d->name, d->n_points);
  return QT_OK;
}

int qt_space_add(qt_space *sp, const qt_dim *d, qt_err *err) {
  int rc = dim_check(d, err);
  if (rc) return rc;
  if (qt_space_index(sp, d->name) >= 0)
    return qt_err_set(err, QT_EINVAL, "space: parameter '%s' is already there", d->name);
  if (sp->n == sp->cap) {
    size_t cap = sp->cap ? sp->cap * 2 : 8;
    qt_dim *nd = qt_realloc(sp->dims, cap * sizeof *nd);
    if (!nd) return qt_err_set(err, QT_ENOMEM, "space: out of memory");
    sp->dims = nd;
    sp->cap = cap;
  }
  qt_dim *dst = &sp->dims[sp->n];
  *dst = *d;
  dst->name[sizeof dst->name - 1] = 0;
  if (d->type == QT_PARAM_BOOL) {
    dst->lo = 0;
    dst->hi = 1;
    dst->step = 1;
  } else if (d->type == QT_PARAM_CAT) {
    dst->lo = 0;
    dst->hi = (double)d->n_choices - 1;
    dst->step = 1;
  } else if (d->type == QT_PARAM_INT && dst->step < 1) {
    dst->step = 1;
  }
  if (dim_copy_choices(dst, d)) return qt_err_set(err, QT_ENOMEM, "space: out of memory");
  sp->n++;
  return QT_OK;
}

int qt_space_from_spec(const qt_param_spec *spec, size_t n, qt_space **out, qt_err *err) {
  qt_space *sp = NULL;
  int rc = qt_space_new(&sp, err);
  if (rc) goto fail;
  for (size_t i = 0; i < n; i++) {
    const qt_param_spec *p = &spec[i];
    qt_dim d;
    memset(&d, 0, sizeof d);
    snprintf(d.name, sizeof d.name, "%s", p->name);
    d.type = p->type;
    d.lo = p->lo;
    d.hi = p->hi;
    d.step = p->type == QT_PARAM_INT && p->step < 1 ? 1 : p->step;
    d.log = p->log;
    d.def = p->def;
    if (p->type == QT_PARAM_CAT) {
      d.choices = (char **)p->choices; /* copied by qt_space_add */
      d.n_choices = p->n_choices;
    }
    rc = qt_space_add(sp, &d, err);
    if (rc) goto fail;
  }
  *out = sp;
  return QT_OK;
fail:
  qt_space_free(sp);
  *out = NULL;
  return rc;
}

/* ---- conversions ---- */

static int dim_has_log(const qt_dim *d) {
  return d->log && (d->type == QT_PARAM_INT || d->type == QT_PARAM_FLOAT);
}

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* Index of the numeric choice nearest to v (numeric categoricals). */
static size_t nearest_choice(const qt_dim *d, double v) {
  size_t best = 0;
  double bd = INFINITY;
  for (size_t i = 0; i < d->n_choices; i++) {
    double c = d->choice_vals[i];
    if (isnan(c)) continue;
    double dd = fabs(c - v);
    if (dd < bd) {
      bd = dd;
      best = i;
    }
  }
  return best;
}

static int cat_numeric(const qt_dim *d) {
  for (size_t i = 0; i < d->n_choices; i++)
    if (isnan(d->choice_vals[i])) return 0;
  return d->n_choices > 0;
}

/* Snap in user units: step grid from lo, integers, clamped. */
static double snap_user(const qt_dim *d, double u) {
  if (d->type == QT_PARAM_INT || d->step > 0) {
    double st = d->step > 0 ? d->step : 1;
    double k = round((u - d->lo) / st);
    u = d->lo + k * st;
    if (u > d->hi) u -= st * ceil((u - d->hi) / st - 1e-9);
    if (d->type == QT_PARAM_INT) u = round(u);
  }
  return clampd(u, d->lo, d->hi);
}

double qt_space_to_user(const qt_space *sp, size_t k, double x) {
  const qt_dim *d = &sp->dims[k];
  if (d->type == QT_PARAM_CAT) {
    size_t i = (size_t)clampd(round(x), 0, (double)d->n_choices - 1);
    return isnan(d->choice_vals[i]) ? (double)i : d->choice_vals[i];
  }
  if (d->type == QT_PARAM_BOOL) return x >= 0.5 ? 1.0 : 0.0;
  return dim_has_log(d) ? exp(x) : x;
}

double qt_space_to_internal(const qt_space *sp, size_t k, double u) {
  const qt_dim *d = &sp->dims[k];
  if (d->type == QT_PARAM_CAT) {
    for (size_t i = 0; i < d->n_choices; i++)
      if (d->choice_vals[i] == u) return (double)i;
    return cat_numeric(d) ? (double)nearest_choice(d, u) : u;
  }
  return dim_has_log(d) ? log(u) : u;
}

static double def_internal(const qt_dim *d) {
  if (d->type == QT_PARAM_CAT || d->type == QT_PARAM_BOOL) return d->def;
  return dim_has_log(d) ? log(d->def) : d->def;
}

void qt_space_bounds(const qt_space *sp, size_t k, double *lo, double *hi) {
  const qt_dim *d = &sp->dims[k];
  if (d->fixed) {
    *lo = *hi = def_internal(d);
  } else if (d->type == QT_PARAM_CAT) {
    *lo = 0;
    *hi = (double)d->n_choices - 1;
  } else if (d->type == QT_PARAM_BOOL) {
    *lo = 0;
    *hi = 1;
  } else if (dim_has_log(d)) {
    *lo = log(d->lo);
    *hi = log(d->hi);
  } else {
    *lo = d->lo;
    *hi = d->hi;
  }
}

double qt_space_snap(const qt_space *sp, size_t k, double x) {
  const qt_dim *d = &sp->dims[k];
  if (d->fixed) return def_internal(d);
  if (d->type == QT_PARAM_CAT) return clampd(round(x), 0, (double)d->n_choices - 1);
  if (d->type == QT_PARAM_BOOL) return x >= 0.5 ? 1.0 : 0.0;
  if (dim_has_log(d)) {
    if (d->type != QT_PARAM_INT && d->step <= 0) {
      return clampd(x, log(d->lo), log(d->hi));
    }
    return log(snap_user(d, exp(x)));
  }
  return snap_user(d, x);
}

/* ---- params JSON ---- */

/* 1 when a choice label is a number (its value in *v). */
static int label_num(const char *s, double *v) {
  return qt_parse_double(s, strlen(s), v) == 0 && isfinite(*v);
}

static json_t *value_json(const qt_dim *d, double x) {
  if (d->type == QT_PARAM_CAT) {
    size_t i = (size_t)clampd(round(x), 0, (double)d->n_choices - 1);
    double v;
    if (label_num(d->choices[i], &v)) { /* numeric choices are written as numbers */
      if (v == floor(v) && fabs(v) < 9e15) return json_integer((json_int_t)v);
      return json_real(v);
    }
    return json_string(d->choices[i]);
  }
  if (d->type == QT_PARAM_BOOL) return json_boolean(x >= 0.5);
  double u = dim_has_log(d) ? exp(x) : x;
  if (d->type == QT_PARAM_INT) return json_integer((json_int_t)llround(u));
  return json_real(u);
}

static int dump_to_buf(json_t *j, char *buf, size_t cap, const char *what, qt_err *err) {
  size_t need = json_dumpb(j, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (need == 0) return qt_err_set(err, QT_ENOMEM, "%s: cannot serialize", what);
  if (need + 1 > cap)
    return qt_err_set(err, QT_EINVAL, "%s: buffer of %zu bytes too small (need %zu)", what, cap,
                      need + 1);
  json_dumpb(j, buf, cap, JSON_COMPACT | JSON_PRESERVE_ORDER);
  buf[need] = 0;
  return QT_OK;
}

int qt_space_params_json(const qt_space *sp, const double *x, char *buf, size_t cap,
                         qt_err *err) {
  int rc = QT_OK;
  json_t *o = json_object();
  if (!o) {
    rc = qt_err_set(err, QT_ENOMEM, "params json: out of memory");
    goto fail;
  }
  for (size_t k = 0; k < sp->n; k++) {
    json_t *v = value_json(&sp->dims[k], x[k]);
    if (!v || json_object_set_new(o, sp->dims[k].name, v)) {
      rc = qt_err_set(err, QT_ENOMEM, "params json: out of memory");
      goto fail;
    }
  }
  rc = dump_to_buf(o, buf, cap, "params json", err);
fail:
  json_decref(o);
  if (rc && cap) buf[0] = 0;
  return rc;
}

/* Internal value of JSON value v for dimension d; message names the key. */
/* The internal value of one stored user value v (a member of the params
 * object, from the flat walk or from jansson). */
static int value_from_flat(const qt_dim *d, const qt__flat_pair *v, double *out, qt_err *err) {
  if (d->type == QT_PARAM_CAT) {
    if (v->kind == QT__FLAT_STR) {
      for (size_t i = 0; i < d->n_choices; i++)
        if (strlen(d->choices[i]) == v->str_len && !memcmp(d->choices[i], v->str, v->str_len)) {
          *out = (double)i;
          return QT_OK;
        }
      return qt_err_set(err, QT_EPARSE, "params json: '%s': \"%.*s\" is not one of its choices",
                        d->name, (int)v->str_len, v->str);
    }
    if (v->kind == QT__FLAT_NUM) {
      double u = qt__flat_num(v), l;
      for (size_t i = 0; i < d->n_choices; i++)
        if (label_num(d->choices[i], &l) && l == u) {
          *out = (double)i;
          return QT_OK;
        }
      return qt_err_set(err, QT_EPARSE, "params json: '%s': %g is not one of its choices",
                        d->name, u);
    }
    return qt_err_set(err, QT_EPARSE, "params json: '%s': expected a choice", d->name);
  }
  if (d->type == QT_PARAM_BOOL) {
    if (v->kind == QT__FLAT_TRUE || v->kind == QT__FLAT_FALSE) *out = v->kind == QT__FLAT_TRUE;
    else if (v->kind == QT__FLAT_NUM && (qt__flat_num(v) == 0 || qt__flat_num(v) == 1))
      *out = qt__flat_num(v);
    else return qt_err_set(err, QT_EPARSE, "params json: '%s': expected true or false", d->name);
    return QT_OK;
  }
  if (v->kind != QT__FLAT_NUM)
    return qt_err_set(err, QT_EPARSE, "params json: '%s': not a number", d->name);
  double u = qt__flat_num(v);
  if (dim_has_log(d) && u <= 0)
    return qt_err_set(err, QT_EPARSE, "params json: '%s': %g is not > 0 (log scale)", d->name, u);
  *out = dim_has_log(d) ? log(u) : u;
  return QT_OK;
}

/* jansson's value v as a flat member (a string's text up to its first NUL,
 * as strcmp saw it before). */
static qt__flat_pair flat_of(json_t *v) {
  qt__flat_pair p;
  memset(&p, 0, sizeof p);
  p.kind = json_is_number(v) ? QT__FLAT_NUM : json_is_null(v) ? QT__FLAT_NULL
           : json_is_true(v) ? QT__FLAT_TRUE : json_is_false(v) ? QT__FLAT_FALSE
           : json_is_string(v) ? QT__FLAT_STR : QT__FLAT_OTHER;
  if (p.kind == QT__FLAT_NUM) p.num = json_number_value(v);
  if (p.kind == QT__FLAT_STR) {
    p.str = json_string_value(v);
    p.str_len = strlen(p.str);
  }
  return p;
}

typedef struct params_ctx {
  const qt_space *sp;
  double *x;
} params_ctx;

/* One member of the flat walk; any trouble (an unknown or too long name, a
 * bad value) is QT_DONE, so jansson's reading says what is wrong. */
static int param_member(void *ctx, const qt__flat_pair *p) {
  params_ctx *c = ctx;
  char key[sizeof c->sp->dims[0].name];
  if (p->key_len >= sizeof key) return QT_DONE;
  memcpy(key, p->key, p->key_len);
  key[p->key_len] = '\0';
  int k = qt_space_index(c->sp, key);
  if (k < 0 || value_from_flat(&c->sp->dims[k], p, &c->x[k], NULL)) return QT_DONE;
  return QT_OK;
}

int qt_space_params_from_json(const qt_space *sp, const char *json, double *x, qt_err *err) {
  int rc = QT_OK;
  for (size_t k = 0; k < sp->n; k++) x[k] = def_internal(&sp->dims[k]);
  /* the params qtune stores are flat: read them without building a tree
   * (a study of 100,000 trials reads 100,000 of them when it opens) */
  params_ctx pc = {sp, x};
  if (json && qt__flat_json_each(json, param_member, &pc) == QT_OK) return QT_OK;
  for (size_t k = 0; k < sp->n; k++) x[k] = def_internal(&sp->dims[k]);
  json_error_t je;
  json_t *o = json_loads(json, 0, &je);
  if (!o) {
    rc = qt_err_set(err, QT_EPARSE, "params json:%d:%d: %s", je.line, je.column, je.text);
    goto fail;
  }
  if (!json_is_object(o)) {
    rc = qt_err_set(err, QT_EPARSE, "params json: expected an object");
    goto fail;
  }
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    int k = qt_space_index(sp, key);
    if (k < 0) {
      rc = qt_err_set(err, QT_EPARSE, "params json: unknown parameter '%s'", key);
      goto fail;
    }
    qt__flat_pair p = flat_of(v);
    rc = value_from_flat(&sp->dims[k], &p, &x[k], err);
    if (rc) goto fail;
  }
fail:
  json_decref(o);
  if (rc)
    for (size_t k = 0; k < sp->n; k++) x[k] = 0;
  return rc;
}

/* ---- space JSON ---- */

int qt_space_to_json(const qt_space *sp, char *buf, size_t cap, qt_err *err) {
  int rc = QT_OK;
  json_t *arr = json_array(), *o = json_object();
  if (!arr || !o || json_object_set(o, "dims", arr)) goto oom;
  for (size_t k = 0; k < sp->n; k++) {
    const qt_dim *d = &sp->dims[k];
    json_t *jd = json_pack("{s:s, s:s, s:f, s:f, s:f, s:b, s:b, s:f}", "name", d->name, "type",
                           type_name(d->type), "low", d->lo, "high", d->hi, "step", d->step, "log",
                           d->log, "fixed", d->fixed, "default", d->def);
    if (!jd || json_array_append_new(arr, jd)) goto oom;
    if (d->n_points && json_object_set_new(jd, "n_points", json_integer(d->n_points))) goto oom;
    if (d->n_choices) {
      json_t *ch = json_array();
      if (!ch || json_object_set_new(jd, "choices", ch)) goto oom;
      for (size_t i = 0; i < d->n_choices; i++) {
        json_t *c = isnan(d->choice_vals[i]) ? json_string(d->choices[i])
                                             : json_pack("[s,f]", d->choices[i], d->choice_vals[i]);
        if (!c || json_array_append_new(ch, c)) goto oom;
      }
    }
  }
  rc = dump_to_buf(o, buf, cap, "space json", err);
  goto done;
oom:
  rc = qt_err_set(err, QT_ENOMEM, "space json: out of memory");
done:
  json_decref(arr);
  json_decref(o);
  if (rc && cap) buf[0] = 0;
  return rc;
}

int qt_space_from_json(const char *json, qt_space **out, qt_err *err) {
  int rc = QT_OK;
  qt_space *sp = NULL;
  json_error_t je;
  json_t *o = json_loads(json, 0, &je);
  qt_dim d;
  memset(&d, 0, sizeof d);
  *out = NULL;
  if (!o) {
    rc = qt_err_set(err, QT_EPARSE, "space json:%d:%d: %s", je.line, je.column, je.text);
    goto fail;
  }
  json_t *dims = json_object_get(o, "dims");
  if (!json_is_array(dims)) {
    rc = qt_err_set(err, QT_EPARSE, "space json: no \"dims\" array");
    goto fail;
  }
  rc = qt_space_new(&sp, err);
  if (rc) goto fail;
  size_t i;
  json_t *jd;
  json_array_foreach(dims, i, jd) {
    const char *name = NULL, *type = NULL;
    int lg = 0, fx = 0;
    json_t *ch = NULL;
    memset(&d, 0, sizeof d);
    if (json_unpack_ex(jd, &je, 0, "{s:s, s:s, s:F, s:F, s:F, s:b, s:b, s:F, s?o, s?i}", "name",
                       &name, "type", &type, "low", &d.lo, "high", &d.hi, "step", &d.step, "log",
                       &lg, "fixed", &fx, "default", &d.def, "choices", &ch, "n_points",
                       &d.n_points)) {
      rc = qt_err_set(err, QT_EPARSE, "space json: dims[%zu]: %s", i, je.text);
      goto fail;
    }
    snprintf(d.name, sizeof d.name, "%s", name);
    d.type = type_parse(type);
    d.log = lg;
    d.fixed = fx;
    if (d.type < 0) {
      rc = qt_err_set(err, QT_EPARSE, "space json: dims[%zu]: unknown type \"%s\"", i, type);
      goto fail;
    }
    if (ch) {
      size_t n = json_array_size(ch);
      d.choices = qt_calloc(n ? n : 1, sizeof *d.choices);
      d.choice_vals = qt_malloc((n ? n : 1) * sizeof *d.choice_vals);
      if (!d.choices || !d.choice_vals) {
        rc = qt_err_set(err, QT_ENOMEM, "space json: out of memory");
        goto fail;
      }
      for (size_t c = 0; c < n; c++) {
        json_t *e = json_array_get(ch, c);
        const char *label = NULL;
        double val = NAN;
        if (json_is_string(e)) label = json_string_value(e);
        else if (json_unpack(e, "[s,F]", &label, &val)) {
          rc = qt_err_set(err, QT_EPARSE, "space json: %s: bad choice %zu", d.name, c);
          goto fail;
        }
        d.choices[c] = qt_strdup(label);
        d.choice_vals[c] = val;
        d.n_choices = c + 1;
        if (!d.choices[c]) {
          rc = qt_err_set(err, QT_ENOMEM, "space json: out of memory");
          goto fail;
        }
      }
    }
    rc = qt_space_add(sp, &d, err);
    if (rc) goto fail;
    dim_fini(&d);
  }
  json_decref(o);
  *out = sp;
  return QT_OK;
fail:
  dim_fini(&d);
  json_decref(o);
  qt_space_free(sp);
  return rc;
}

/* ---- YAML overlay ---- */

typedef struct ov_ctx {
  yaml_document_t *doc;
  const char *file;
  qt_err *err;
} ov_ctx;

static int node_line(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }

static int ov_fail(ov_ctx *c, const yaml_node_t *n, int code, const char *name, const char *fmt,
                   ...) QT_PRINTF(5, 6);
static int ov_fail(ov_ctx *c, const yaml_node_t *n, int code, const char *name, const char *fmt,
                   ...) {
  char m[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m, sizeof m, fmt, ap);
  va_end(ap);
  return qt_err_set(c->err, code, "%s:%d: %s: %s", c->file, node_line(n), name, m);
}

static const char *scalar(const yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int scalar_num(const yaml_node_t *n, double *out) {
  const char *s = scalar(n);
  return s && qt_parse_double(s, strlen(s), out) == 0 && isfinite(*out) ? 0 : -1;
}

static int scalar_bool(const yaml_node_t *n, int *out) {
  const char *s = scalar(n);
  if (!s) return -1;
  if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "yes") || !strcmp(s, "on")) *out = 1;
  else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "no") || !strcmp(s, "off"))
    *out = 0;
  else return -1;
  return 0;
}

static const qt_param_spec *spec_find(const qt_param_spec *spec, size_t n, const char *name) {
  for (size_t i = 0; spec && i < n; i++)
    if (!strcmp(spec[i].name, name)) return &spec[i];
  return NULL;
}

/* Fixes d to the scalar node v through the one parser of parameter values
 * (qt_param_parse), so a fixed value is read as --params reads it. */
static int ov_fix(ov_ctx *c, qt_dim *d, const yaml_node_t *v) {
  const char *s = scalar(v);
  double u;
  if (!s) return ov_fail(c, v, QT_EPARSE, d->name, "expected a single value");
  /* numeric choices also match by number: `20.0` picks the choice 20 */
  for (size_t i = 0; d->type == QT_PARAM_CAT && i < d->n_choices; i++)
    if (scalar_num(v, &u) == 0 && d->choice_vals && d->choice_vals[i] == u) {
      d->def = (double)i;
      d->fixed = 1;
      return QT_OK;
    }
  qt_param_spec ps = {d->name, d->type, d->lo, d->hi, d->step, d->log, d->def,
                      (const char *const *)d->choices, d->n_choices, NULL};
  int rc = qt_param_parse(&ps, s, strlen(s), &u, c->err);
  if (rc) {
    qt_err_prefix(c->err, "%s:%d", c->file, node_line(v));
    return rc;
  }
  d->def = u;
  d->fixed = 1;
  return QT_OK;
}

static int cmp_str_ptr(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A choice listed twice, found on a sorted copy (n log n: a list of 100,000
 * choices took 73 s with the pairwise check). */
static int dup_choice(ov_ctx *c, const qt_dim *d, const yaml_node_t *v) {
  char **sorted = qt_malloc(d->n_choices * sizeof *sorted);
  if (!sorted) return qt_err_set(c->err, QT_ENOMEM, "space: out of memory");
  memcpy(sorted, d->choices, d->n_choices * sizeof *sorted);
  qsort(sorted, d->n_choices, sizeof *sorted, cmp_str_ptr);
  int rc = QT_OK;
  for (size_t i = 1; i < d->n_choices && !rc; i++)
    if (!strcmp(sorted[i - 1], sorted[i]))
      rc = ov_fail(c, v, QT_EINVAL, d->name, "choices: \"%s\" appears twice", sorted[i]);
  qt_free(sorted);
  return rc;
}

/* Reads the choices sequence node into d (owned). */
static int ov_choices(ov_ctx *c, qt_dim *d, const yaml_node_t *v) {
  if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top == v->data.sequence.items.start)
    return ov_fail(c, v, QT_EPARSE, d->name, "choices: expected a non-empty list");
  size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
  dim_fini(d);
  d->choices = qt_calloc(n, sizeof *d->choices);
  d->choice_vals = qt_malloc(n * sizeof *d->choice_vals);
  if (!d->choices || !d->choice_vals) {
    dim_fini(d);
    return qt_err_set(c->err, QT_ENOMEM, "space: out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    yaml_node_t *e = yaml_document_get_node(c->doc, v->data.sequence.items.start[i]);
    const char *s = scalar(e);
    if (!s) return ov_fail(c, v, QT_EPARSE, d->name, "choices: item %zu is not a scalar", i);
    d->choices[i] = qt_strdup(s);
    if (!d->choices[i]) return qt_err_set(c->err, QT_ENOMEM, "space: out of memory");
    d->n_choices = i + 1;
    double u;
    int quoted = e->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                 e->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    d->choice_vals[i] = !quoted && scalar_num(e, &u) == 0 ? u : NAN;
  }
  return dup_choice(c, d, v);
}

/* Checks d (after the overlay) against the strategy's own bounds. */
static int ov_check_spec(ov_ctx *c, const qt_dim *d, const qt_param_spec *p,
                         const yaml_node_t *at) {
  if (!p) return QT_OK;
  if (p->type == QT_PARAM_CAT) {
    for (size_t i = 0; i < d->n_choices; i++) {
      size_t j = 0;
      while (j < p->n_choices && strcmp(p->choices[j], d->choices[i])) j++;
      if (j == p->n_choices)
        return ov_fail(c, at, QT_EINVAL, d->name, "choice \"%s\" is not one of the strategy's",
                       d->choices[i]);
    }
    return QT_OK;
  }
  if (p->type == QT_PARAM_BOOL) return QT_OK;
  double lo = d->lo, hi = d->hi;
  if (d->fixed) lo = hi = d->def;
  if (d->type == QT_PARAM_CAT) { /* numeric choices over a numeric parameter */
    lo = INFINITY;
    hi = -INFINITY;
    for (size_t i = 0; i < d->n_choices; i++) {
      if (isnan(d->choice_vals[i]))
        return ov_fail(c, at, QT_EINVAL, d->name, "choice \"%s\" is not a number",
                       d->choices[i]);
      if (p->type == QT_PARAM_INT && d->choice_vals[i] != floor(d->choice_vals[i]))
        return ov_fail(c, at, QT_EINVAL, d->name, "choice %g is not a whole number",
                       d->choice_vals[i]);
      lo = fmin(lo, d->choice_vals[i]);
      hi = fmax(hi, d->choice_vals[i]);
    }
  }
  const char *wlo = d->fixed ? "value" : d->type == QT_PARAM_CAT ? "choice" : "low";
  const char *whi = d->fixed ? "value" : d->type == QT_PARAM_CAT ? "choice" : "high";
  if (lo < p->lo)
    return ov_fail(c, at, QT_EINVAL, d->name, "%s %g is below the strategy's bound %g", wlo, lo,
                   p->lo);
  if (hi > p->hi)
    return ov_fail(c, at, QT_EINVAL, d->name, "%s %g is above the strategy's bound %g", whi, hi,
                   p->hi);
  return QT_OK;
}

/* Applies one `name: value` entry. */
static int ov_entry(ov_ctx *c, qt_space *sp, const char *name, const yaml_node_t *v,
                    const qt_param_spec *spec, size_t n_spec) {
  int rc = QT_OK;
  int k = qt_space_index(sp, name);
  const qt_param_spec *p = spec_find(spec, n_spec, name);
  qt_dim d;
  memset(&d, 0, sizeof d);
  if (strlen(name) >= sizeof d.name)
    return ov_fail(c, v, QT_EINVAL, name, "name longer than %zu bytes", sizeof d.name - 1);
  if (k < 0 && spec)
    return ov_fail(c, v, QT_EINVAL, name, "the strategy has no such parameter");
  if (k >= 0) {
    d = sp->dims[k];
    if (dim_copy_choices(&d, &sp->dims[k])) return qt_err_set(c->err, QT_ENOMEM, "space: out of memory");
  } else {
    snprintf(d.name, sizeof d.name, "%s", name);
    d.type = -1;
  }
  if (v->type == YAML_SCALAR_NODE) {
    if (d.type < 0) { /* a new fixed parameter: number, bool or a one-choice label */
      double u;
      int b;
      if (scalar_num(v, &u) == 0) {
        d.type = u == floor(u) ? QT_PARAM_INT : QT_PARAM_FLOAT;
        d.lo = d.hi = u;
        d.step = d.type == QT_PARAM_INT ? 1 : 0;
      } else if (scalar_bool(v, &b) == 0) {
        d.type = QT_PARAM_BOOL;
        d.hi = 1;
      } else {
        d.type = QT_PARAM_CAT;
        d.choices = qt_calloc(1, sizeof *d.choices);
        d.choice_vals = qt_malloc(sizeof *d.choice_vals);
        if (!d.choices || !d.choice_vals || !(d.choices[0] = qt_strdup(scalar(v)))) {
          rc = qt_err_set(c->err, QT_ENOMEM, "space: out of memory");
          goto fail;
        }
        d.n_choices = 1;
        d.choice_vals[0] = NAN;
      }
    }
    rc = ov_fix(c, &d, v);
    if (rc) goto fail;
  } else if (v->type == YAML_MAPPING_NODE) {
    double lo = NAN, hi = NAN, step = NAN, fixv = NAN, npts = NAN;
    int lg = -1, ty = -1;
    const yaml_node_t *choices = NULL, *value = NULL;
    for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
      yaml_node_t *kn = yaml_document_get_node(c->doc, pr->key);
      yaml_node_t *vn = yaml_document_get_node(c->doc, pr->value);
      const char *key = scalar(kn);
      if (!key) {
        rc = ov_fail(c, kn, QT_EPARSE, name, "expected a field name");
        goto fail;
      }
      int bad = 0;
      if (!strcmp(key, "type")) bad = !scalar(vn) || (ty = type_parse(scalar(vn))) < 0;
      else if (!strcmp(key, "low")) bad = scalar_num(vn, &lo);
      else if (!strcmp(key, "high")) bad = scalar_num(vn, &hi);
      else if (!strcmp(key, "step")) bad = scalar_num(vn, &step) || step <= 0;
      else if (!strcmp(key, "log")) bad = scalar_bool(vn, &lg);
      else if (!strcmp(key, "choices")) choices = vn;
      else if (!strcmp(key, "value") || !strcmp(key, "fixed")) value = vn;
      else if (!strcmp(key, "default")) bad = scalar_num(vn, &fixv);
      else if (!strcmp(key, "n_points"))
        bad = scalar_num(vn, &npts) || npts != floor(npts) || npts < 2 || npts > 1000000;
      else {
        rc = ov_fail(c, kn, QT_EPARSE, name, "unknown field '%s'", key);
        goto fail;
      }
      if (bad) {
        rc = ov_fail(c, vn, QT_EPARSE, name, "field '%s': bad value \"%s\"", key,
                     scalar(vn) ? scalar(vn) : "(not a scalar)");
        goto fail;
      }
    }
    if (ty < 0) ty = d.type >= 0 ? d.type : choices ? QT_PARAM_CAT : -1;
    if (ty < 0) {
      if (isnan(lo) || isnan(hi)) {
        rc = ov_fail(c, v, QT_EPARSE, name, "a new parameter needs a type or low and high");
        goto fail;
      }
      ty = lo == floor(lo) && hi == floor(hi) && (isnan(step) || step == floor(step))
               ? QT_PARAM_INT
               : QT_PARAM_FLOAT;
    }
    if (d.type >= 0 && ty != d.type) {
      /* numeric categoricals may replace a numeric range; nothing else changes type */
      int ok = ty == QT_PARAM_CAT && (d.type == QT_PARAM_INT || d.type == QT_PARAM_FLOAT) && choices;
      ok |= ty == QT_PARAM_FLOAT && d.type == QT_PARAM_INT && !p;
      ok |= ty == QT_PARAM_INT && d.type == QT_PARAM_FLOAT;
      if (!ok) {
        rc = ov_fail(c, v, QT_EINVAL, name, "type %s cannot replace %s", type_name(ty),
                     type_name(d.type));
        goto fail;
      }
    }
    if (ty == QT_PARAM_CAT) {
      if (!choices && d.type != QT_PARAM_CAT) {
        rc = ov_fail(c, v, QT_EPARSE, name, "a categorical needs choices");
        goto fail;
      }
      if (choices) {
        rc = ov_choices(c, &d, choices);
        if (rc) goto fail;
        /* a subset of a strategy's choices: the user value stays the
         * strategy's own index of that label */
        for (size_t i = 0; p && p->type == QT_PARAM_CAT && i < d.n_choices; i++) {
          d.choice_vals[i] = NAN;
          for (size_t j = 0; j < p->n_choices; j++)
            if (!strcmp(p->choices[j], d.choices[i])) d.choice_vals[i] = (double)j;
        }
      }
      d.def = 0;
      d.log = 0;
    } else if (ty == QT_PARAM_BOOL) {
      d.lo = 0;
      d.hi = 1;
    } else {
      if (choices) {
        rc = ov_fail(c, choices, QT_EPARSE, name, "choices need type categorical");
        goto fail;
      }
      if (d.type < 0 && (isnan(lo) || isnan(hi))) {
        rc = ov_fail(c, v, QT_EPARSE, name, "a new parameter needs low and high");
        goto fail;
      }
      if (!isnan(lo)) d.lo = lo;
      if (!isnan(hi)) d.hi = hi;
      if (!isnan(step)) d.step = step;
      else if (d.type != ty) d.step = ty == QT_PARAM_INT ? 1 : 0;
      if (lg >= 0) d.log = lg;
      if (!isnan(npts)) {
        if (ty != QT_PARAM_FLOAT || d.step > 0) {
          rc = ov_fail(c, v, QT_EINVAL, name, "n_points is for a float without step (the grid "
                       "of ints and stepped floats is their step)");
          goto fail;
        }
        d.n_points = (int)npts;
      }
      if (p && (rc = ov_check_spec(c, &d, p, v))) goto fail; /* name the strategy's bound first */
      if (d.lo > d.hi) {
        rc = ov_fail(c, v, QT_EINVAL, name, "low %g is above high %g", d.lo, d.hi);
        goto fail;
      }
      if (d.log && d.lo <= 0) {
        rc = ov_fail(c, v, QT_EINVAL, name, "log scale needs low > 0 (got %g)", d.lo);
        goto fail;
      }
      if (ty == QT_PARAM_INT && (d.lo != floor(d.lo) || d.hi != floor(d.hi) ||
                                 d.step != floor(d.step) || d.step < 1)) {
        rc = ov_fail(c, v, QT_EINVAL, name, "int range [%g, %g] step %g is not whole", d.lo,
                     d.hi, d.step);
        goto fail;
      }
    }
    if (d.type < 0 || ty != d.type) d.def = ty == QT_PARAM_CAT || ty == QT_PARAM_BOOL ? 0 : d.lo;
    d.type = ty;
    if (ty != QT_PARAM_CAT && ty != QT_PARAM_BOOL) d.def = clampd(d.def, d.lo, d.hi);
    if (d.type == QT_PARAM_INT || d.type == QT_PARAM_FLOAT) d.def = snap_user(&d, d.def);
    d.fixed = 0;
    if (!isnan(fixv)) d.def = fixv;
    if (value) {
      rc = ov_fix(c, &d, value);
      if (rc) goto fail;
    }
  } else {
    rc = ov_fail(c, v, QT_EPARSE, name, "expected a value or a mapping");
    goto fail;
  }
  rc = ov_check_spec(c, &d, p, v);
  if (rc) goto fail;
  if (k >= 0) {
    dim_fini(&sp->dims[k]);
    sp->dims[k] = d;
    return QT_OK;
  }
  rc = qt_space_add(sp, &d, c->err);
  if (rc) {
    qt_err_prefix(c->err, "%s:%d", c->file, node_line(v));
    goto fail;
  }
fail:
  dim_fini(&d);
  return rc;
}

/* Loads a space file's YAML into doc (the caller deletes it on success);
 * nothing to free on failure. */
static int load_doc(const char *yaml_text, const char *file, yaml_document_t *doc, qt_err *err) {
  return qt_yaml_load(yaml_text, strlen(yaml_text), file, doc, err);
}

int qt_space_apply_yaml(qt_space *sp, const char *yaml_text, const char *file,
                        const qt_param_spec *spec, size_t n_spec, qt_err *err) {
  int rc = QT_OK;
  yaml_document_t doc;
  int have_doc = 0;
  if (!file) file = "space";
  if ((rc = load_doc(yaml_text, file, &doc, err)) != QT_OK) goto fail;
  have_doc = 1;
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (!root || (root->type == YAML_SCALAR_NODE && !root->data.scalar.length)) goto fail; /* empty */
  if (root->type != YAML_MAPPING_NODE) {
    rc = qt_err_set(err, QT_EPARSE, "%s:%d: expected a mapping of parameter names", file,
                    node_line(root));
    goto fail;
  }
  ov_ctx c = {&doc, file, err};
  for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
       pr++) {
    yaml_node_t *kn = yaml_document_get_node(&doc, pr->key);
    yaml_node_t *vn = yaml_document_get_node(&doc, pr->value);
    const char *name = scalar(kn);
    if (!name) {
      rc = qt_err_set(err, QT_EPARSE, "%s:%d: expected a parameter name", file, node_line(kn));
      goto fail;
    }
    rc = ov_entry(&c, sp, name, vn, spec, n_spec);
    if (rc) goto fail;
  }
fail:
  if (have_doc) yaml_document_delete(&doc);
  return rc;
}

int qt_space_fix_unlisted(qt_space *sp, const char *yaml_text, const char *file,
                          size_t *out_n_fixed, qt_err *err) {
  int rc = QT_OK;
  yaml_document_t doc;
  int have_doc = 0;
  size_t n_fixed = 0;
  if (out_n_fixed) *out_n_fixed = 0;
  if (!file) file = "space";
  if ((rc = load_doc(yaml_text, file, &doc, err)) != QT_OK) goto fail;
  have_doc = 1;
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  int is_map = root && root->type == YAML_MAPPING_NODE;
  if (root && !is_map && !(root->type == YAML_SCALAR_NODE && !root->data.scalar.length)) {
    rc = qt_err_set(err, QT_EPARSE, "%s:%d: expected a mapping of parameter names", file,
                    node_line(root));
    goto fail;
  }
  for (size_t k = 0; k < sp->n; k++) {
    int listed = 0;
    for (yaml_node_pair_t *pr = is_map ? root->data.mapping.pairs.start : NULL;
         is_map && pr < root->data.mapping.pairs.top && !listed; pr++) {
      const char *name = scalar(yaml_document_get_node(&doc, pr->key));
      listed = name && !strcmp(name, sp->dims[k].name);
    }
    if (listed || sp->dims[k].fixed) continue;
    sp->dims[k].fixed = 1; /* at its default: what a backtest without the param runs */
    n_fixed++;
  }
  if (out_n_fixed) *out_n_fixed = n_fixed;
fail:
  if (have_doc) yaml_document_delete(&doc);
  return rc;
}
