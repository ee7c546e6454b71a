/* libFuzzer target for the text parsers of a user's settings: the YAML
 * space overlay and `--search listed`, the stored space, goal and params
 * JSON read back from the database, strategy parameter lists and files
 * (YAML, through qt_yaml_load, and JSON), weights, constraints, durations
 * and times.  The first byte picks the parser (and the strategy where one is needed), the rest is
 * the text.  Each parser must either accept or fail with a message; a space
 * it accepts must survive its own JSON round trip; the flat fast path for
 * stored params and metrics must agree with jansson on every text it takes;
 * params it accepts lie within their spec.
 * Build and run: scripts/fuzz (FUZZ_SECONDS). */
#include "optimize/flat_json.h"
#include "optimize/study_int.h"
#include "qtune/optimize.h"
#include "qtune/strategies.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static void must_say_why(int r, const qt_err *e) {
  if (r != QT_OK && r != QT_DONE && e->msg[0] == '\0') abort();
}

static const qt_strategy_vtbl *pick_strategy(uint8_t b) {
  size_t n = 0;
  const qt_strategy_vtbl *const *v = qt_strategies_builtin(&n);
  return n ? v[b % n] : NULL;
}

static void space_yaml(const qt_strategy_vtbl *s, const char *text, int listed) {
  qt_space *sp = NULL;
  qt_err e = {0};
  if (qt_space_from_spec(s->params, s->n_params, &sp, &e)) return;
  int r = qt_space_apply_yaml(sp, text, "fuzz.yaml", s->params, s->n_params, &e);
  must_say_why(r, &e);
  if (r == QT_OK && listed) {
    size_t fixed = 0;
    e.msg[0] = '\0';
    must_say_why(qt_space_fix_unlisted(sp, text, "fuzz.yaml", &fixed, &e), &e);
  }
  if (r == QT_OK) {
    /* What is stored must load back as the same space. */
    static char a[1 << 16], b[1 << 16];
    qt_space *back = NULL;
    if (qt_space_to_json(sp, a, sizeof a, &e) == QT_OK) {
      if (qt_space_from_json(a, &back, &e) != QT_OK) abort();
      if (qt_space_to_json(back, b, sizeof b, &e) != QT_OK || strcmp(a, b) != 0) abort();
      qt_space_free(back);
    }
  }
  qt_space_free(sp);
}

/* The flat walk's members rebuilt as a jansson object (a repeated name
 * replaced, as jansson's parser does). */
static int flat_put(void *ctx, const qt__flat_pair *p) {
  json_t *v = p->kind == QT__FLAT_NUM ? json_real(qt__flat_num(p)) : p->kind == QT__FLAT_NULL ? json_null()
              : p->kind == QT__FLAT_TRUE ? json_true() : p->kind == QT__FLAT_FALSE ? json_false()
              : json_stringn(p->str, p->str_len);
  if (!v || json_object_setn_new(ctx, p->key, p->key_len, v)) abort();
  return QT_OK;
}

/* Wherever the flat path takes a text, jansson reads the same members:
 * same names and kinds, numbers bit for bit, strings byte for byte. */
static void flat_agrees(const char *text) {
  json_t *mine = json_object();
  if (!mine) return;
  int r = qt__flat_json_each(text, flat_put, mine);
  if (r != QT_OK && r != QT_DONE) abort();
  if (r == QT_OK) {
    json_t *ref = json_loads(text, 0, NULL);
    if (!json_is_object(ref) || json_object_size(ref) != json_object_size(mine)) abort();
    const char *k;
    json_t *v;
    json_object_foreach(ref, k, v) {
      json_t *w = json_object_get(mine, k);
      if (!w) abort();
      if (json_is_number(v)) {
        double a = json_number_value(v), b = json_real_value(w);
        if (!json_is_real(w) || memcmp(&a, &b, sizeof a) != 0) abort();
      } else if (json_is_string(v)) {
        if (!json_is_string(w) || json_string_length(v) != json_string_length(w) ||
            memcmp(json_string_value(v), json_string_value(w), json_string_length(v)) != 0)
          abort();
      } else if (json_typeof(v) != json_typeof(w)) {
        abort();
      }
    }
    json_decref(ref);
  }
  json_decref(mine);
}

static void stored_json(const qt_strategy_vtbl *s, const char *text) {
  flat_agrees(text);
  qt_err e = {0};
  qt_space *sp = NULL;
  int r = qt_space_from_json(text, &sp, &e);
  must_say_why(r, &e);
  qt_space_free(sp);
  qt_goal g;
  qt_goal_default(&g, 1);
  e.msg[0] = '\0';
  must_say_why(qt_goal_from_json(&g, text, &e), &e);
  if (qt_space_from_spec(s->params, s->n_params, &sp, &e)) return;
  double x[64];
  if (qt_space_n(sp) <= 64) {
    e.msg[0] = '\0';
    must_say_why(qt_space_params_from_json(sp, text, x, &e), &e);
  }
  qt_space_free(sp);
}

static void params_text(const qt_strategy_vtbl *s, const char *text, size_t len, int list) {
  double p[64];
  unsigned char set[64];
  if (s->n_params > 64) return;
  qt_strategy_defaults(s, p);
  memset(set, 0, sizeof set);
  qt_err e = {0};
  int r = list ? qt_params_parse_list(s, text, p, set, &e)
               : qt_params_parse_text(s, text, len, "fuzz.params", p, set, &e);
  must_say_why(r, &e);
  /* YAML goes through qt_yaml_load: what the loader refuses, a params file
   * may not accept; and every value accepted is one the spec allows */
  if (r != QT_OK) return;
  size_t i = 0;
  while (i < len && isspace((unsigned char)text[i])) i++;
  if (!list && (i == len || text[i] != '{')) {
    yaml_document_t d;
    if (qt_yaml_load(text, len, "fuzz.params", &d, &e) != QT_OK) abort();
    yaml_document_delete(&d);
  }
  for (size_t k = 0; k < s->n_params; k++) {
    const qt_param_spec *ps = &s->params[k];
    if (!set[k]) continue;
    if (ps->type == QT_PARAM_CAT ? !(p[k] >= 0 && p[k] < (double)ps->n_choices && p[k] == floor(p[k]))
        : ps->type == QT_PARAM_BOOL ? !(p[k] == 0 || p[k] == 1)
        : !(p[k] >= ps->lo && p[k] <= ps->hi) || (ps->type == QT_PARAM_INT && p[k] != floor(p[k])))
      abort();
  }
}

static void goal_text(const char *text, int which) {
  qt_goal g;
  qt_goal_default(&g, 1);
  qt_err e = {0};
  int r = which ? qt_goal_parse_constraints(&g, text, &e) : qt_goal_parse_weights(&g, text, &e);
  must_say_why(r, &e);
  if (r == QT_OK) {
    /* The parsed goal must survive the study's JSON round trip. */
    static char a[1 << 14], b[1 << 14];
    qt_goal back;
    qt_goal_default(&back, 0);
    if (qt_goal_to_json(&g, a, sizeof a, &e) == QT_OK) {
      if (qt_goal_from_json(&back, a, &e) != QT_OK) abort();
      if (qt_goal_to_json(&back, b, sizeof b, &e) != QT_OK || strcmp(a, b) != 0) abort();
    }
  }
}

static void time_text(const char *text, size_t len) {
  qt_err e = {0};
  int64_t a, b;
  must_say_why(qt_time_parse(text, len, &a, &e), &e);
  e.msg[0] = '\0';
  must_say_why(qt_time_parse_range(text, len, &a, &b, &e), &e);
  e.msg[0] = '\0';
  must_say_why(qt_duration_parse(text, &a, &e), &e);
}

/* "k=v,k=v" as --sampler-opts gives them, to every sampler: create must
 * succeed or say why, and a created sampler proposes in bounds. */
static void sampler_opts(const qt_strategy_vtbl *s, char *text) {
  qt_kv kv[17];
  size_t n = 0;
  char *save = NULL;
  for (char *t = strtok_r(text, ",", &save); t && n < 16; t = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(t, '=');
    if (!eq) continue;
    *eq = 0;
    kv[n].key = t;
    kv[n++].val = eq + 1;
  }
  kv[n].key = NULL;
  kv[n].val = NULL;
  qt_space *sp = NULL;
  qt_err e = {0};
  if (qt_space_from_spec(s->params, s->n_params, &sp, &e)) return;
  for (size_t i = 0; qt_sampler_at(i); i++) {
    const qt_sampler_vtbl *vt = qt_sampler_at(i);
    void *self = NULL;
    e.msg[0] = '\0';
    int r = vt->create(sp, 1, kv, &self, &e);
    must_say_why(r, &e);
    if (r == QT_OK) {
      double x[64];
      if (qt_space_n(sp) <= 64) {
        e.msg[0] = '\0';
        must_say_why(vt->propose(self, NULL, 0, x, &e), &e);
      }
      vt->destroy(self);
    }
  }
  qt_space_free(sp);
}

static void objective_output(const char *text, size_t len) {
  qt_metric_set m;
  qt_metric_set_init(&m);
  qt_err e = {0};
  must_say_why(qt__cmd_parse_metrics(text, len, &m, &e), &e);
  qt_metric_set_fini(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2 || size > (1 << 21)) return 0;
  uint8_t op = data[0];
  const qt_strategy_vtbl *s = pick_strategy(data[1]);
  size_t len = size - 2;
  char *text = malloc(len + 1);
  if (!text || !s) {
    free(text);
    return 0;
  }
  memcpy(text, data + 2, len);
  text[len] = '\0'; /* the parsers take NUL-terminated text; an inner NUL ends it */
  switch (op % 10) {
    case 0: space_yaml(s, text, 0); break;
    case 1: space_yaml(s, text, 1); break;
    case 2: stored_json(s, text); break;
    case 3: params_text(s, text, strlen(text), 1); break;
    case 4: params_text(s, text, strlen(text), 0); break;
    case 5: goal_text(text, 0); break;
    case 6: goal_text(text, 1); break;
    case 7: time_text(text, strlen(text)); break;
    case 8: sampler_opts(s, text); break;
    case 9: objective_output((const char *)data + 2, len); break;
  }
  free(text);
  return 0;
}
