/* What a user adds to a study besides its search: enqueued parameter sets
 * (waiting trials, claimed before any sampled one), tags on the study, notes
 * on trials, and one trial shown in full. */
#include "study_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#define ENQ_TEXT_MAX ((size_t)1 << 20)
#define ENQ_SETS_MAX 10000
#define NOTE_MAX 4096

/* ---- parsing one parameter set ---- */

/* The internal value of `text` for dimension k, or an error naming where. */
static int value_of(const qt_space *sp, size_t k, const char *text, const char *where,
                    double *out, qt_err *err) {
  const qt_dim *d = qt_space_dim(sp, k);
  if (d->type == QT_PARAM_CAT) {
    for (size_t c = 0; c < d->n_choices; c++)
      if (!strcmp(text, d->choices[c])) {
        *out = (double)c;
        return QT_OK;
      }
    char *end;
    double v = strtod(text, &end);
    for (size_t c = 0; *text && !*end && c < d->n_choices; c++)
      if (d->choice_vals && d->choice_vals[c] == v) {
        *out = (double)c;
        return QT_OK;
      }
    char list[256];
    size_t n = 0;
    list[0] = 0;
    for (size_t c = 0; c < d->n_choices && n < sizeof list; c++)
      n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", c ? ", " : "", d->choices[c]);
    return qt_err_set(err, QT_EINVAL, "%s: field '%s': '%s' is not one of its choices (%s)",
                      where, d->name, text, list);
  }
  double v;
  if (d->type == QT_PARAM_BOOL &&
      (!strcmp(text, "true") || !strcmp(text, "false") || !strcmp(text, "yes") ||
       !strcmp(text, "no"))) {
    v = text[0] == 't' || text[0] == 'y';
  } else {
    char *end;
    v = strtod(text, &end);
    if (!*text || *end || !isfinite(v))
      return qt_err_set(err, QT_EINVAL, "%s: field '%s': '%s' is not a number", where, d->name,
                        text);
  }
  if (d->type == QT_PARAM_BOOL && v != 0 && v != 1)
    return qt_err_set(err, QT_EINVAL, "%s: field '%s': '%s' is not a boolean", where, d->name,
                      text);
  if (d->type == QT_PARAM_INT && v != floor(v))
    return qt_err_set(err, QT_EINVAL, "%s: field '%s': '%s' is not an integer", where, d->name,
                      text);
  if (d->fixed) {
    if (v != d->def)
      return qt_err_set(err, QT_EINVAL, "%s: field '%s': %s, but the study fixes it at %g",
                        where, d->name, text, d->def);
  } else if (d->type != QT_PARAM_BOOL && (v < d->lo || v > d->hi)) {
    return qt_err_set(err, QT_EINVAL, "%s: field '%s': %s is outside its range [%g, %g]", where,
                      d->name, text, d->lo, d->hi);
  }
  *out = qt_space_snap(sp, k, qt_space_to_internal(sp, k, v));
  return QT_OK;
}

/* Starts a set at every dimension's default. */
static void set_defaults(const qt_space *sp, double *x) {
  for (size_t k = 0; k < qt_space_n(sp); k++) {
    const qt_dim *d = qt_space_dim(sp, k);
    x[k] = d->type == QT_PARAM_CAT ? d->def : qt_space_to_internal(sp, k, d->def);
  }
}

static int assign(const qt_space *sp, const char *key, const char *val, const char *where,
                  double *x, qt_err *err) {
  int k = qt_space_index(sp, key);
  if (k < 0) {
    char list[512];
    size_t n = 0;
    list[0] = 0;
    for (size_t i = 0; i < qt_space_n(sp) && n < sizeof list; i++)
      n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "",
                            qt_space_dim(sp, i)->name);
    return qt_err_set(err, QT_EINVAL, "%s: unknown parameter '%s' (parameters: %s)", where, key,
                      list);
  }
  return value_of(sp, (size_t)k, val, where, &x[k], err);
}

/* ---- storing ---- */

static int enqueue_one(qt_study *st, const double *x, int64_t *out_number, qt_err *err) {
  const qt_space *sp = qt_study_space(st);
  char *pj = NULL;
  int r;
  for (size_t cap = 1024;; cap *= 4) {
    pj = qt_malloc(cap);
    if (!pj) return qt_err_set(err, QT_ENOMEM, "enqueue: out of memory");
    r = qt_space_params_json(sp, x, pj, cap, err);
    if (r != QT_EINVAL || cap > (16u << 20)) break;
    qt_free(pj);
    pj = NULL;
  }
  if (!r) {
    qt_storage *s = qt_study_storage(st);
    int64_t id;
    r = s->vt->trial_enqueue(s->self, qt__study_id(st), pj, (int64_t)qt_study_seed(st), &id,
                             out_number, err);
  }
  qt_free(pj);
  return r;
}

/* A YAML document: a map (one set) or a sequence of maps. */
static int enqueue_yaml(qt_study *st, const char *text, const char *src, int64_t *first,
                        size_t *n_sets, qt_err *err) {
  const qt_space *sp = qt_study_space(st);
  size_t nd = qt_space_n(sp);
  double *x = qt_calloc(nd ? nd : 1, sizeof *x);
  if (!x) return qt_err_set(err, QT_ENOMEM, "enqueue: out of memory");
  yaml_document_t d;
  int r = QT_OK, have_doc = 0;
  if ((r = qt_yaml_load(text, strlen(text), src, &d, err)) != QT_OK) goto done; /* the one loader */
  have_doc = 1;
  yaml_node_t *root = yaml_document_get_root_node(&d);
  if (!root) {
    r = qt_err_set(err, QT_EPARSE, "%s: empty (a map of name: value, or a list of maps)", src);
    goto done;
  }
  yaml_node_item_t one = 0, *items = &one, *end = &one + 1;
  if (root->type == YAML_SEQUENCE_NODE) {
    items = root->data.sequence.items.start;
    end = root->data.sequence.items.top;
    if ((size_t)(end - items) > ENQ_SETS_MAX) {
      r = qt_err_set(err, QT_EINVAL, "%s: more than %d parameter sets", src, ENQ_SETS_MAX);
      goto done;
    }
  }
  /* every set is checked before the first is stored: all or nothing */
  for (int pass = 0; pass < 2 && !r; pass++) {
    for (yaml_node_item_t *it = items; it < end && !r; it++) {
      yaml_node_t *m = root->type == YAML_SEQUENCE_NODE ? yaml_document_get_node(&d, *it) : root;
      char where[1100];
      snprintf(where, sizeof where, "%s:%d", src, (int)m->start_mark.line + 1);
      if (m->type != YAML_MAPPING_NODE) {
        r = qt_err_set(err, QT_EPARSE, "%s: expected a map of name: value", where);
        break;
      }
      set_defaults(sp, x);
      for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top && !r;
           pr++) {
        yaml_node_t *k = yaml_document_get_node(&d, pr->key);
        yaml_node_t *v = yaml_document_get_node(&d, pr->value);
        snprintf(where, sizeof where, "%s:%d", src, (int)k->start_mark.line + 1);
        if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE) {
          r = qt_err_set(err, QT_EPARSE, "%s: expected name: value", where);
          break;
        }
        r = assign(sp, (const char *)k->data.scalar.value, (const char *)v->data.scalar.value,
                   where, x, err);
      }
      if (r || pass == 0) continue;
      int64_t num;
      r = enqueue_one(st, x, &num, err);
      if (!r && (*n_sets)++ == 0) *first = num;
    }
  }
done:
  if (have_doc) yaml_document_delete(&d);
  qt_free(x);
  return r;
}

/* "k=v,k=v": one set. */
static int enqueue_list(qt_study *st, const char *text, int64_t *first, size_t *n_sets,
                        qt_err *err) {
  const qt_space *sp = qt_study_space(st);
  size_t nd = qt_space_n(sp);
  double *x = qt_calloc(nd ? nd : 1, sizeof *x);
  char *buf = qt_strdup(text);
  int r = QT_OK;
  if (!x || !buf) {
    r = qt_err_set(err, QT_ENOMEM, "enqueue: out of memory");
    goto done;
  }
  set_defaults(sp, x);
  char *save = NULL;
  for (char *t = strtok_r(buf, ",", &save); t && !r; t = strtok_r(NULL, ",", &save)) {
    while (isspace((unsigned char)*t)) t++;
    char *eq = strchr(t, '=');
    if (!eq || eq == t) {
      r = qt_err_set(err, QT_EPARSE, "--params: '%s': expected NAME=VALUE", t);
      break;
    }
    *eq = 0;
    r = assign(sp, t, eq + 1, "--params", x, err);
  }
  if (!r) {
    int64_t num;
    r = enqueue_one(st, x, &num, err);
    if (!r) {
      *first = num;
      *n_sets = 1;
    }
  }
done:
  qt_free(x);
  qt_free(buf);
  return r;
}

int qt_study_enqueue_text(qt_study *st, const char *text, const char *source, int64_t *out_first,
                          size_t *out_n, qt_err *err) {
  int64_t first = -1;
  size_t n = 0;
  if (out_first) *out_first = -1;
  if (out_n) *out_n = 0;
  if (!qt_study_space(st)) return qt_err_set(err, QT_ESTATE, "enqueue: the study has no space");
  if (!text) return qt_err_set(err, QT_EINVAL, "enqueue: no params");
  if (strlen(text) > ENQ_TEXT_MAX)
    return qt_err_set(err, QT_EINVAL, "%s: longer than %zu bytes", source ? source : "--params",
                      ENQ_TEXT_MAX);
  int r = source ? enqueue_yaml(st, text, source, &first, &n, err)
                 : enqueue_list(st, text, &first, &n, err);
  if (n) {
    qt_err e2; /* the stored ones stand; the in-memory study sees them */
    int sr = qt_study_sync(st, &e2);
    if (!r && sr) {
      r = sr;
      if (err) *err = e2;
    }
  }
  if (out_first) *out_first = first;
  if (out_n) *out_n = n;
  return r;
}

/* ---- tags and notes ---- */

static int tag_key_ok(const char *k) {
  size_t n = strlen(k);
  if (n == 0 || n > 63) return 0;
  for (; *k; k++)
    if (!isalnum((unsigned char)*k) && *k != '_' && *k != '.' && *k != '-') return 0;
  return 1;
}

int qt_study_set_tags(qt_study *st, const qt_kv *tags, qt_err *err) {
  for (const qt_kv *kv = tags; kv && kv->key; kv++) {
    if (!tag_key_ok(kv->key))
      return qt_err_set(err, QT_EINVAL, "--tag '%s': a key is 1 to 63 of A-Z a-z 0-9 _ . -",
                        kv->key);
    if (!kv->val || strlen(kv->val) > 255)
      return qt_err_set(err, QT_EINVAL, "--tag %s: the value is 0 to 255 bytes", kv->key);
  }
  const char *cur = qt_study_config_json(st);
  json_t *c = cur ? json_loads(cur, 0, NULL) : json_object();
  if (!json_is_object(c)) {
    json_decref(c);
    return qt_err_set(err, QT_EPARSE, "study '%s': stored config is not a JSON object",
                      qt_study_name(st));
  }
  json_t *t = json_object_get(c, "tags");
  if (!json_is_object(t)) {
    t = json_object();
    json_object_set_new(c, "tags", t);
  }
  for (const qt_kv *kv = tags; kv && kv->key; kv++)
    json_object_set_new(t, kv->key, json_string(kv->val));
  char *s = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
  json_decref(c);
  if (!s) return qt_err_set(err, QT_ENOMEM, "study: out of memory");
  int r = qt__study_replace_config(st, s, err);
  free(s);
  return r;
}

int qt_study_set_note(qt_study *st, int64_t number, const char *note, qt_err *err) {
  if (note && strlen(note) > NOTE_MAX)
    return qt_err_set(err, QT_EINVAL, "--note: longer than %d bytes", NOTE_MAX);
  qt_storage *s = qt_study_storage(st);
  return s->vt->trial_set_note(s->self, qt__study_id(st), number, note && *note ? note : NULL,
                               err);
}

/* ---- one trial in full ---- */

static json_t *parsed_or_text(const char *js) {
  if (!js) return json_null();
  json_t *o = json_loads(js, JSON_DECODE_ANY, NULL);
  return o ? o : json_string(js);
}

static json_t *time_of(int64_t ms) {
  if (!ms) return json_null();
  char b[40];
  return json_string(qt_time_format(ms, b, sizeof b));
}

static json_t *trial_json(const qt_study *st, const qt_trial_rec *t) {
  json_t *o = json_object();
  json_object_set_new(o, "study", json_string(qt_study_name(st)));
  json_object_set_new(o, "number", json_integer((json_int_t)t->number));
  json_object_set_new(o, "state", json_string(qt_trial_state_name(t->state)));
  json_object_set_new(o, "params", parsed_or_text(t->params_json));
  json_object_set_new(o, "values", parsed_or_text(t->values_json));
  json_object_set_new(o, "score", isnan(t->score) || isinf(t->score) ? json_null()
                                                                      : json_real(t->score));
  json_object_set_new(o, "feasible", t->constraint_ok < 0 ? json_null()
                                                          : json_boolean(t->constraint_ok));
  json_object_set_new(o, "metrics", parsed_or_text(t->metrics_json));
  json_object_set_new(o, "intermediate_values", parsed_or_text(t->intermediate_json));
  json_object_set_new(o, "last_step", t->last_step < 0 ? json_null()
                                                       : json_integer((json_int_t)t->last_step));
  json_object_set_new(o, "started", time_of(t->started_ms));
  json_object_set_new(o, "finished", time_of(t->finished_ms));
  json_object_set_new(o, "duration_s",
                      t->started_ms && t->finished_ms
                          ? json_real((double)(t->finished_ms - t->started_ms) / 1000.0)
                          : json_null());
  json_object_set_new(o, "worker", t->worker[0] ? json_string(t->worker) : json_null());
  json_object_set_new(o, "seed", json_integer((json_int_t)t->seed));
  json_object_set_new(o, "error", t->error ? json_string(t->error) : json_null());
  json_object_set_new(o, "note", t->note ? json_string(t->note) : json_null());
  return o;
}

static void print_flat(FILE *f, const char *title, const json_t *o) {
  fprintf(f, "%s:\n", title);
  if (!json_is_object(o) || json_object_size(o) == 0) {
    fprintf(f, "  -\n");
    return;
  }
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)o, k, v) {
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
    fprintf(f, "  %-28s %s\n", k, s ? s : "?");
    free(s);
  }
}

static void write_text(FILE *f, const json_t *o) {
  const json_t *iv = json_object_get(o, "intermediate_values");
  fprintf(f, "study %s, trial %" PRId64 ": %s\n", json_string_value(json_object_get(o, "study")),
          (int64_t)json_integer_value(json_object_get(o, "number")),
          json_string_value(json_object_get(o, "state")));
  static const char *const keys[] = {"values", "score", "feasible", "last_step", "started",
                                     "finished", "duration_s", "worker", "seed", "error", "note"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    char *s = json_dumps(json_object_get(o, keys[i]), JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
    fprintf(f, "%-12s %s\n", keys[i], s ? s : "null");
    free(s);
  }
  print_flat(f, "params", json_object_get(o, "params"));
  print_flat(f, "metrics", json_object_get(o, "metrics"));
  fprintf(f, "intermediate values (step: value):\n");
  if (!json_is_array(iv) || json_array_size(iv) == 0) fprintf(f, "  -\n");
  for (size_t i = 0; json_is_array(iv) && i < json_array_size(iv); i++) {
    json_t *e = json_array_get(iv, i);
    char *s = json_dumps(json_array_get(e, 1), JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
    fprintf(f, "  %-8" PRId64 " %s\n", (int64_t)json_integer_value(json_array_get(e, 0)),
            s ? s : "null");
    free(s);
  }
}

int qt_study_write_trial_full(qt_study *st, int64_t number, int as_json, FILE *f, qt_err *err) {
  qt_storage *s = qt_study_storage(st);
  qt_trial_rec *recs = NULL;
  size_t n = 0;
  int r = s->vt->trials_list(s->self, qt__study_id(st), 0, &recs, &n, err);
  if (r) return r;
  const qt_trial_rec *t = NULL;
  for (size_t i = 0; i < n && !t; i++)
    if (recs[i].number == number) t = &recs[i];
  if (!t) {
    r = qt_err_set(err, QT_ENOTFOUND, "study '%s' has no trial %" PRId64 " (%zu stored)",
                   qt_study_name(st), number, n);
    goto done;
  }
  json_t *o = trial_json(st, t);
  if (as_json) {
    char *js = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    if (js) fprintf(f, "%s\n", js);
    free(js);
  } else {
    write_text(f, o);
  }
  json_decref(o);
  if (ferror(f)) r = qt_err_set(err, QT_EIO, "writing trial %" PRId64 ": i/o error", number);
done:
  qt_trial_recs_free(recs, n);
  return r;
}
