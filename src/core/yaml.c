/* The one YAML loader: limits first (size, nesting depth on the raw text,
 * so a hostile file costs linear time), then libyaml's document loader, and
 * a single document.  Errors name the file and line. */
#include "qtune/core.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Whether text nests deeper than max: flow brackets outside quotes and
 * comments, plus the compact block markers ("- - - x", "? ? x") a line opens
 * with.  Deep block nesting by indentation alone costs characters with the
 * square of the depth, so the size limit bounds it.  An over-estimate is
 * fine: it has to be linear and miss no depth. */
static int too_deep(const char *t, size_t n, int max, int *out_line) {
  int depth = 0, line = 1;
  size_t i = 0;
  while (i < n) {
    int opened = 0;
    for (;;) {
      while (i < n && (t[i] == ' ' || t[i] == '\t')) i++;
      if (i < n && (t[i] == '-' || t[i] == '?') &&
          (i + 1 == n || t[i + 1] == ' ' || t[i + 1] == '\n')) {
        opened++;
        i++;
        continue;
      }
      break;
    }
    if (depth + opened > max) {
      *out_line = line;
      return 1;
    }
    char q = 0;
    for (; i < n && t[i] != '\n'; i++) {
      char c = t[i];
      if (q) {
        if (c == q) q = 0;
      } else if (c == '\'' || c == '"') {
        q = c;
      } else if (c == '#') {
        while (i + 1 < n && t[i + 1] != '\n') i++;
      } else if (c == '[' || c == '{') {
        if (++depth + opened > max) {
          *out_line = line;
          return 1;
        }
      } else if ((c == ']' || c == '}') && depth > 0) {
        depth--;
      }
    }
    if (i < n) i++, line++;
  }
  return 0;
}

static int cmp_key(const void *a, const void *b) {
  const yaml_node_t *x = *(yaml_node_t *const *)a, *y = *(yaml_node_t *const *)b;
  int c = strcmp((const char *)x->data.scalar.value, (const char *)y->data.scalar.value);
  return c ? c : (x->start_mark.index < y->start_mark.index ? -1 : 1);
}

/* A key given twice in one map: readers would silently take one of them. */
static int dup_keys(yaml_document_t *doc, const char *file, qt_err *err) {
  for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++) {
    if (n->type != YAML_MAPPING_NODE) continue;
    size_t k = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start), m = 0;
    if (k < 2) continue;
    yaml_node_t **keys = qt_malloc(k * sizeof *keys);
    if (!keys) return qt_err_set(err, QT_ENOMEM, "%s: out of memory", file);
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
      yaml_node_t *kn = yaml_document_get_node(doc, pr->key);
      if (kn && kn->type == YAML_SCALAR_NODE) keys[m++] = kn;
    }
    qsort(keys, m, sizeof *keys, cmp_key);
    int rc = QT_OK;
    for (size_t i = 1; i < m && !rc; i++)
      if (!strcmp((const char *)keys[i - 1]->data.scalar.value, (const char *)keys[i]->data.scalar.value))
        rc = qt_err_set(err, QT_EPARSE, "%s:%d: key '%s' appears twice in one map (first at line %d)",
                        file, (int)keys[i]->start_mark.line + 1, keys[i]->data.scalar.value,
                        (int)keys[i - 1]->start_mark.line + 1);
    qt_free(keys);
    if (rc) return rc;
  }
  return QT_OK;
}

int qt_yaml_load(const char *text, size_t len, const char *file, struct yaml_document_s *doc,
                 qt_err *err) {
  if (!file) file = "yaml";
  if (len > QT_YAML_MAX_BYTES)
    return qt_err_set(err, QT_EINVAL, "%s: %zu bytes is more than the %zu bytes a YAML file may"
                      " hold (QT_YAML_MAX_BYTES)", file, len, QT_YAML_MAX_BYTES);
  int line = 0;
  if (too_deep(text, len, QT_YAML_MAX_DEPTH, &line))
    return qt_err_set(err, QT_EINVAL, "%s:%d: nested deeper than %d levels (QT_YAML_MAX_DEPTH)",
                      file, line, QT_YAML_MAX_DEPTH);
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) return qt_err_set(err, QT_ENOMEM, "%s: out of memory", file);
  yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
  int rc = QT_OK;
  if (!yaml_parser_load(&p, doc)) {
    rc = qt_err_set(err, QT_EPARSE, "%s:%d: %s", file, (int)p.problem_mark.line + 1,
                    p.problem ? p.problem : "malformed YAML");
  } else {
    /* A second document would be silently ignored by readers of the first. */
    yaml_document_t extra;
    if (!yaml_parser_load(&p, &extra)) {
      rc = qt_err_set(err, QT_EPARSE, "%s:%d: %s", file, (int)p.problem_mark.line + 1,
                      p.problem ? p.problem : "malformed YAML");
    } else {
      yaml_node_t *root = yaml_document_get_root_node(&extra);
      if (root)
        rc = qt_err_set(err, QT_EPARSE, "%s:%d: a second YAML document (one document per file)",
                        file, (int)root->start_mark.line + 1);
      yaml_document_delete(&extra);
    }
    if (!rc) rc = dup_keys(doc, file, err);
    if (rc) yaml_document_delete(doc);
  }
  yaml_parser_delete(&p);
  return rc;
}
