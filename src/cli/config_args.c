/* A YAML config as command-line options (config_args.h). */
#include "cli/config_args.h"
#include "cli/util.h"
#include "qtune/optimize.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static int push(cli_argv *a, const char *s) {
  if (a->n + 1 >= a->cap) {
    int cap = a->cap ? a->cap * 2 : 32;
    char **nv = realloc(a->v, (size_t)cap * sizeof *nv);
    if (!nv) return -1;
    a->v = nv;
    a->cap = cap;
  }
  if (!(a->v[a->n] = strdup(s))) return -1;
  a->v[++a->n] = NULL;
  return 0;
}

void cli_argv_free(cli_argv *a) {
  for (int i = 0; i < a->n; i++) free(a->v[i]);
  free(a->v);
  memset(a, 0, sizeof *a);
}

/* The tuning guide's (Optuna's) key spellings, as optimize reads them. */
static const struct { const char *alias, *opt; } k_alias[] = {
    {"n-trials", "trials"}, {"n-jobs", "jobs"}, {"study", "study-name"}, {"name", "study-name"},
};

/* Joins a sequence (',') or a map ('k=v,...') of scalars into buf; returns
 * the line of a nested value, or 0. */
static int join(yaml_document_t *d, yaml_node_t *n, char *buf, size_t cap) {
  size_t used = 0;
  buf[0] = 0;
  if (n->type == YAML_SEQUENCE_NODE) {
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
      yaml_node_t *v = yaml_document_get_node(d, *it);
      if (v->type != YAML_SCALAR_NODE) return (int)v->start_mark.line + 1;
      used += (size_t)snprintf(buf + used, used < cap ? cap - used : 0, "%s%s", used ? "," : "",
                               (const char *)v->data.scalar.value);
    }
    return 0;
  }
  for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = yaml_document_get_node(d, pr->key), *v = yaml_document_get_node(d, pr->value);
    if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE) return (int)k->start_mark.line + 1;
    const char *vs = (const char *)v->data.scalar.value;
    int op = vs[0] == '>' || vs[0] == '<';
    used += (size_t)snprintf(buf + used, used < cap ? cap - used : 0, "%s%s%s%s", used ? "," : "",
                             (const char *)k->data.scalar.value, op ? "" : "=", vs);
  }
  return 0;
}

static int load(const char *path, cli_key_kind kind, const char *const *names, size_t n_names,
                cli_argv *out) {
  qt_err e;
  size_t len;
  char *text = cli_read_file(path, &len, &e);
  if (!text) return cli_fail(&e);
  yaml_document_t d;
  int rc = CLI_ERROR, have_doc = 0;
  char joined[4096], skipped[512] = "";
  if (qt_yaml_load(text, len, path, &d, &e)) { /* the one loader: limits, duplicate keys */
    cli_fail(&e);
    goto done;
  }
  have_doc = 1;
  yaml_node_t *root = yaml_document_get_root_node(&d);
  if (!root) {
    rc = CLI_OK;
    goto done;
  }
  if (root->type != YAML_MAPPING_NODE) {
    cli_failf("%s: the config must be a map of option: value", path);
    goto done;
  }
  for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
    yaml_node_t *kn = yaml_document_get_node(&d, pr->key), *vn = yaml_document_get_node(&d, pr->value);
    size_t line = kn->start_mark.line + 1;
    if (kn->type != YAML_SCALAR_NODE) {
      cli_failf("%s:%zu: a key must be a plain name", path, line);
      goto done;
    }
    const char *raw = (const char *)kn->data.scalar.value;
    char opt[140];
    snprintf(opt, sizeof opt, "--%s", raw);
    for (char *c = opt; *c; c++)
      if (*c == '_') *c = '-';
    for (size_t i = 0; i < sizeof k_alias / sizeof k_alias[0]; i++)
      if (!strcmp(opt + 2, k_alias[i].alias)) snprintf(opt, sizeof opt, "--%s", k_alias[i].opt);
    int kd = strcmp(opt, "--config") ? kind(opt) : 0;
    if (kd == 0) {
      char near[160] = "";
      qt_names_nearest(raw, names, n_names, near, sizeof near);
      cli_failf("%s:%zu: key '%s': unknown%s%s%s", path, line, raw, *near ? " (did you mean " : "",
                near, *near ? "?)" : "");
      goto done;
    }
    if (kd == 3) {
      size_t u = strlen(skipped);
      snprintf(skipped + u, sizeof skipped - u, "%s%s", u ? ", " : "", raw);
      continue;
    }
    const char *val = NULL;
    if (vn->type == YAML_SCALAR_NODE) {
      val = (const char *)vn->data.scalar.value;
    } else {
      int bad = join(&d, vn, joined, sizeof joined);
      if (bad) {
        cli_failf("%s:%d: '%s': nested too deep (values of a map or list are plain)", path, bad, raw);
        goto done;
      }
      val = joined;
    }
    if (kd == 2) {
      if ((!strcmp(val, "true") || !strcmp(val, "yes") || !strcmp(val, "1")) && push(out, opt)) goto oom;
    } else if (push(out, opt) || push(out, val)) {
      goto oom;
    }
  }
  if (*skipped) fprintf(stderr, "qtune: %s: not used by a backtest: %s\n", path, skipped);
  rc = CLI_OK;
  goto done;
oom:
  cli_failf("%s: out of memory", path);
done:
  if (have_doc) yaml_document_delete(&d);
  free(text);
  return rc;
}

int cli_config_argv(int argc, char **argv, cli_key_kind kind, const char *const *names,
                    size_t n_names, cli_argv *out) {
  memset(out, 0, sizeof *out);
  if (push(out, argc > 0 ? argv[0] : "qtune")) goto oom;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--config") != 0) continue;
    if (i + 1 >= argc) {
      cli_argv_free(out);
      return cli_failf("--config needs a value");
    }
    if (load(argv[i + 1], kind, names, n_names, out) != CLI_OK) {
      cli_argv_free(out);
      return CLI_ERROR;
    }
    i++;
  }
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--config")) {
      i++;
      continue;
    }
    if (push(out, argv[i])) goto oom;
  }
  return CLI_OK;
oom:
  cli_argv_free(out);
  return cli_failf("--config: out of memory");
}
