/* Parameter values from text: the one parser behind --params k=v,..., params
 * files (YAML or JSON), the alias flags and a space's fixed values, so every
 * command accepts the same values and refuses them with the same message.
 * YAML goes through the one loader, qt_yaml_load (its limits, no key twice).
 * It knows the strategy's qt_param_spec; it prints nothing. */
#include "qtune/strategies.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define VAL_MAX 256 /* a value's text in messages and the copies below */

/* Trims spaces and one pair of matching quotes. */
static void trim(const char **s, size_t *len) {
  const char *p = *s;
  size_t n = *len;
  while (n && isspace((unsigned char)*p)) p++, n--;
  while (n && isspace((unsigned char)p[n - 1])) n--;
  if (n >= 2 && (p[0] == '"' || p[0] == '\'') && p[n - 1] == p[0]) p++, n -= 2;
  *s = p;
  *len = n;
}

static int eq_ci(const char *s, size_t n, const char *word) {
  return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

int qt_param_parse(const qt_param_spec *ps, const char *text, size_t len, double *out,
                   qt_err *err) {
  *out = 0;
  trim(&text, &len);
  int shown = len > VAL_MAX ? VAL_MAX : (int)len;
  double v;
  switch (ps->type) {
  case QT_PARAM_BOOL:
    if (eq_ci(text, len, "true") || eq_ci(text, len, "yes") || eq_ci(text, len, "on") ||
        eq_ci(text, len, "1"))
      return *out = 1, QT_OK;
    if (eq_ci(text, len, "false") || eq_ci(text, len, "no") || eq_ci(text, len, "off") ||
        eq_ci(text, len, "0"))
      return *out = 0, QT_OK;
    return qt_err_set(err, QT_EINVAL, "param '%s': not a bool (true/false/yes/no/1/0) (\"%.*s\")",
                      ps->name, shown, text);
  case QT_PARAM_CAT: {
    for (size_t c = 0; c < ps->n_choices; c++)
      if (strlen(ps->choices[c]) == len && strncmp(ps->choices[c], text, len) == 0)
        return *out = (double)c, QT_OK;
    /* an index is accepted too (the optimizer stores categoricals by label,
     * older files and scripts by index), unless the labels are numbers:
     * then "1" would be ambiguous */
    int numeric = 0;
    for (size_t c = 0; c < ps->n_choices && !numeric; c++)
      numeric = qt_parse_double(ps->choices[c], strlen(ps->choices[c]), &v) == 0;
    if (!numeric && qt_parse_double(text, len, &v) == 0 && v == floor(v) && v >= 0 &&
        v < (double)ps->n_choices)
      return *out = v, QT_OK;
    char list[512];
    size_t n = 0;
    list[0] = 0;
    for (size_t c = 0; c < ps->n_choices && n + 2 < sizeof list; c++)
      n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", c ? ", " : "", ps->choices[c]);
    return qt_err_set(err, QT_EINVAL, "param '%s': not one of %s (\"%.*s\")", ps->name, list,
                      shown, text);
  }
  case QT_PARAM_INT:
    if (qt_parse_double(text, len, &v) != 0 || !isfinite(v) || v != floor(v))
      return qt_err_set(err, QT_EINVAL, "param '%s': not an integer (\"%.*s\")", ps->name, shown,
                        text);
    break;
  case QT_PARAM_FLOAT:
    if (qt_parse_double(text, len, &v) != 0 || !isfinite(v))
      return qt_err_set(err, QT_EINVAL, "param '%s': not a number (\"%.*s\")", ps->name, shown,
                        text);
    break;
  default:
    return qt_err_set(err, QT_EINVAL, "param '%s': unknown type %d", ps->name, ps->type);
  }
  if (v < ps->lo || v > ps->hi)
    return qt_err_set(err, QT_EINVAL, "param '%s' = %.*s is outside its range [%g, %g]", ps->name, shown,
                      text, ps->lo, ps->hi);
  *out = v;
  return QT_OK;
}

static int unknown(const qt_strategy_vtbl *s, const char *name, size_t len, qt_err *err) {
  char list[1024];
  size_t n = 0;
  list[0] = 0;
  for (size_t k = 0; k < s->n_params && n + 2 < sizeof list; k++)
    n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", k ? ", " : "", s->params[k].name);
  if (s->n_params == 0) snprintf(list, sizeof list, "(none)");
  return qt_err_set(err, QT_EINVAL, "strategy '%s' has no parameter '%.*s'; valid: %s", s->name,
                    len > VAL_MAX ? VAL_MAX : (int)len, name, list);
}

/* Sets the parameter named name[0..nlen) from its value text. */
static int set_one(const qt_strategy_vtbl *s, const char *name, size_t nlen, const char *val,
                   size_t vlen, double *p, unsigned char *set, qt_err *err) {
  trim(&name, &nlen);
  int k = -1;
  for (size_t i = 0; i < s->n_params && k < 0; i++)
    if (strlen(s->params[i].name) == nlen && strncmp(s->params[i].name, name, nlen) == 0)
      k = (int)i;
  if (k < 0) return unknown(s, name, nlen, err);
  int rc = qt_param_parse(&s->params[k], val, vlen, &p[k], err);
  if (rc) {
    p[k] = s->params[k].def; /* not half-set on failure */
    return rc;
  }
  if (set) set[k] = 1;
  return QT_OK;
}

int qt_params_set(const qt_strategy_vtbl *s, const char *name, const char *value, double *p,
                  unsigned char *set, qt_err *err) {
  return set_one(s, name, strlen(name), value, strlen(value), p, set, err);
}

int qt_params_parse_list(const qt_strategy_vtbl *s, const char *list, double *p,
                         unsigned char *set, qt_err *err) {
  const char *t = list;
  while (*t) {
    const char *end = strchr(t, ',');
    size_t n = end ? (size_t)(end - t) : strlen(t);
    const char *eq = memchr(t, '=', n);
    size_t blank = 0;
    while (blank < n && isspace((unsigned char)t[blank])) blank++;
    if (blank < n) { /* empty items ("a=1,,b=2", a trailing comma) are skipped */
      if (!eq || eq == t + blank)
        return qt_err_set(err, QT_EINVAL, "--params: '%.*s' is not name=value",
                          n > VAL_MAX ? VAL_MAX : (int)n, t);
      int rc = set_one(s, t, (size_t)(eq - t), eq + 1, n - (size_t)(eq - t) - 1, p, set, err);
      if (rc) return rc;
    }
    t += n;
    if (*t == ',') t++;
  }
  return QT_OK;
}

/* ---- files ---- */

/* The line (1-based) of the first occurrence of "key" in a JSON text, for
 * messages: jansson keeps no positions of the values it parsed. */
static int json_key_line(const char *text, size_t len, const char *key) {
  size_t kl = strlen(key);
  int line = 1;
  for (size_t i = 0; i < len; i++) {
    if (text[i] == '\n') line++;
    if (text[i] == '"' && i + kl + 1 < len && strncmp(text + i + 1, key, kl) == 0 &&
        text[i + kl + 1] == '"')
      return line;
  }
  return 0;
}

static int parse_json(const qt_strategy_vtbl *s, const char *text, size_t len, const char *file,
                      double *p, unsigned char *set, qt_err *err) {
  json_error_t je;
  json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!o) return qt_err_set(err, QT_EPARSE, "%s:%d: JSON: %s", file, je.line, je.text);
  int rc = QT_OK;
  if (!json_is_object(o)) {
    rc = qt_err_set(err, QT_EPARSE, "%s:1: expected an object of name: value", file);
    goto fail;
  }
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    char buf[64];
    const char *val = buf;
    if (json_is_integer(v)) snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
    else if (json_is_boolean(v)) val = json_is_true(v) ? "true" : "false";
    else if (json_is_string(v)) val = json_string_value(v);
    else {
      rc = qt_err_set(err, QT_EPARSE, "%s:%d: param '%s': expected a single value, not a %s", file,
                      json_key_line(text, len, k), k, json_is_null(v) ? "null" : "list or map");
      goto fail;
    }
    rc = set_one(s, k, strlen(k), val, strlen(val), p, set, err);
    if (rc) {
      qt_err_prefix(err, "%s:%d", file, json_key_line(text, len, k));
      goto fail;
    }
  }
fail:
  json_decref(o);
  return rc;
}

/* The message for a list or map where a flat map wants a single value; key
 * (NULL at the top or for a key that is itself a list or map) names the param. */
static int not_flat(const yaml_node_t *n, const char *key, size_t klen, const char *file,
                    qt_err *err) {
  int shown = klen > VAL_MAX ? VAL_MAX : (int)klen;
  return qt_err_set(err, QT_EPARSE, "%s:%d: %s%.*s%s%s are not allowed (a flat name: value map)",
                    file, (int)n->start_mark.line + 1, key ? "param '" : "", key ? shown : 0,
                    key ? key : "", key ? "': " : "",
                    n->type == YAML_SEQUENCE_NODE ? "lists" : "nested maps");
}

/* A flat YAML map name: value, loaded by the one YAML loader (its limits,
 * one document, no key twice); an alias is the node it names. */
static int parse_yaml(const qt_strategy_vtbl *s, const char *text, size_t len, const char *file,
                      double *p, unsigned char *set, qt_err *err) {
  yaml_document_t doc;
  int rc = qt_yaml_load(text, len, file, &doc, err);
  if (rc) return rc;
  const yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (!root) goto fail; /* empty, or comments only */
  if (root->type == YAML_SEQUENCE_NODE) {
    rc = not_flat(root, NULL, 0, file, err);
    goto fail;
  }
  if (root->type != YAML_MAPPING_NODE) {
    rc = qt_err_set(err, QT_EPARSE, "%s:%d: expected a map of name: value", file,
                    (int)root->start_mark.line + 1);
    goto fail;
  }
  for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
       pr < root->data.mapping.pairs.top && !rc; pr++) {
    const yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
    const yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
    if (k->type != YAML_SCALAR_NODE) {
      rc = not_flat(k, NULL, 0, file, err);
      break;
    }
    const char *key = (const char *)k->data.scalar.value;
    size_t klen = k->data.scalar.length;
    if (v->type != YAML_SCALAR_NODE) {
      rc = not_flat(v, key, klen, file, err);
      break;
    }
    rc = set_one(s, key, klen, (const char *)v->data.scalar.value, v->data.scalar.length, p, set,
                 err);
    if (rc) qt_err_prefix(err, "%s:%d", file, (int)v->start_mark.line + 1);
  }
fail:
  yaml_document_delete(&doc);
  return rc;
}

int qt_params_parse_text(const qt_strategy_vtbl *s, const char *text, size_t len,
                         const char *file, double *p, unsigned char *set, qt_err *err) {
  size_t i = 0;
  while (i < len && isspace((unsigned char)text[i])) i++;
  /* by content: a JSON object starts with '{' (a flow map in YAML terms too,
   * but jansson gives the better messages for JSON) */
  if (i < len && text[i] == '{') return parse_json(s, text, len, file, p, set, err);
  return parse_yaml(s, text, len, file, p, set, err);
}

int qt_params_parse_file(const qt_strategy_vtbl *s, const char *path, double *p,
                         unsigned char *set, qt_err *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return qt_err_set(err, QT_EIO, "%s: cannot open the params file", path);
  int rc = QT_OK;
  /* one byte past the YAML loader's limit tells a file too large without
   * reading all of it (JSON too: a params file is a few lines) */
  const size_t most = QT_YAML_MAX_BYTES + 1;
  size_t cap = 4096, n = 0;
  char *buf = qt_malloc(cap);
  while (buf) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0 || n == most) break;
    if (n == cap) {
      size_t ncap = cap * 2 < most ? cap * 2 : most;
      char *nb = qt_realloc(buf, ncap);
      if (!nb) {
        qt_free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap = ncap;
    }
  }
  if (!buf) rc = qt_err_set(err, QT_ENOMEM, "%s: out of memory", path);
  else if (ferror(f)) rc = qt_err_set(err, QT_EIO, "%s: cannot read the params file", path);
  else if (n == most)
    rc = qt_err_set(err, QT_EINVAL, "%s: more than the %zu bytes a params file may hold"
                    " (QT_YAML_MAX_BYTES)", path, QT_YAML_MAX_BYTES);
  fclose(f);
  if (rc == QT_OK) rc = qt_params_parse_text(s, buf, n, path, p, set, err);
  qt_free(buf);
  return rc;
}

/* ---- aliases ---- */

int qt_params_set_flag(const qt_strategy_vtbl *s, const char *flag, const char *value, double *p,
                       unsigned char *set, qt_err *err) {
  size_t n = 0;
  const qt_param_alias *al = qt_strategy_aliases(s, &n);
  while (*flag == '-') flag++;
  for (size_t k = 0; k < n; k++)
    if (strcmp(al[k].flag, flag) == 0) {
      int rc = qt_params_set(s, al[k].param, value ? value : "1", p, set, err);
      if (rc) qt_err_prefix(err, "--%s", flag);
      return rc;
    }
  return QT_ENOTFOUND;
}
