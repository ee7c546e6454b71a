/* `qtune strategies [--json]`: the built-in strategies with their parameter
 * specs (name, type, range, default, log scale, step, choices, help). */
#include "cli/util.h"
#include "qtune/strategies.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *type_name(int t) {
  switch (t) {
  case QT_PARAM_INT: return "int";
  case QT_PARAM_FLOAT: return "float";
  case QT_PARAM_CAT: return "categorical";
  case QT_PARAM_BOOL: return "bool";
  }
  return "?";
}

/* The alias flag of parameter name ("atr-stop"), or NULL. */
static const char *flag_of(const qt_strategy_vtbl *s, const char *name) {
  size_t n = 0;
  const qt_param_alias *al = qt_strategy_aliases(s, &n);
  for (size_t k = 0; k < n; k++)
    if (strcmp(al[k].param, name) == 0) return al[k].flag;
  return NULL;
}

static json_t *spec_json(const qt_strategy_vtbl *s) {
  json_t *o = json_object();
  json_object_set_new(o, "name", json_string(s->name));
  json_object_set_new(o, "summary", json_string(s->summary ? s->summary : ""));
  json_object_set_new(o, "n_instruments", json_integer(s->n_instruments));
  json_t *needs = json_array();
  if (s->needs & QT_NEEDS_FUNDING) json_array_append_new(needs, json_string("funding"));
  if (s->needs & QT_NEEDS_QUOTES) json_array_append_new(needs, json_string("quotes"));
  if (s->needs & QT_NEEDS_SECOND) json_array_append_new(needs, json_string("second_instrument"));
  if (s->needs & QT_NEEDS_HEDGE) json_array_append_new(needs, json_string("hedge_mode"));
  json_object_set_new(o, "needs", needs);
  json_t *ps = json_array();
  for (size_t k = 0; k < s->n_params; k++) {
    const qt_param_spec *p = &s->params[k];
    json_t *j = json_object();
    json_object_set_new(j, "name", json_string(p->name));
    json_object_set_new(j, "type", json_string(type_name(p->type)));
    if (p->type == QT_PARAM_INT || p->type == QT_PARAM_BOOL) {
      json_object_set_new(j, "lo", json_integer((json_int_t)p->lo));
      json_object_set_new(j, "hi", json_integer((json_int_t)p->hi));
      json_object_set_new(j, "default", json_integer((json_int_t)p->def));
    } else if (p->type == QT_PARAM_CAT) {
      json_t *ch = json_array();
      for (size_t c = 0; c < p->n_choices; c++) json_array_append_new(ch, json_string(p->choices[c]));
      json_object_set_new(j, "choices", ch);
      size_t d = (size_t)p->def;
      json_object_set_new(j, "default", d < p->n_choices ? json_string(p->choices[d]) : json_null());
    } else {
      json_object_set_new(j, "lo", json_real(p->lo));
      json_object_set_new(j, "hi", json_real(p->hi));
      json_object_set_new(j, "default", json_real(p->def));
    }
    json_object_set_new(j, "step", json_real(p->step));
    json_object_set_new(j, "log", json_boolean(p->log));
    json_object_set_new(j, "help", json_string(p->help ? p->help : ""));
    const char *fl = flag_of(s, p->name);
    if (fl) json_object_set_new(j, "flag", json_string(fl));
    json_array_append_new(ps, j);
  }
  json_object_set_new(o, "params", ps);
  return o;
}

static void print_text(const qt_strategy_vtbl *s) {
  printf("%s  (%d instrument%s)  %s\n", s->name, s->n_instruments, s->n_instruments == 1 ? "" : "s",
         s->summary ? s->summary : "");
  for (size_t k = 0; k < s->n_params; k++) {
    const qt_param_spec *p = &s->params[k];
    char range[128], def[64];
    if (p->type == QT_PARAM_CAT) {
      size_t n = 0;
      range[0] = 0;
      for (size_t c = 0; c < p->n_choices && n + 2 < sizeof range; c++)
        n += (size_t)snprintf(range + n, sizeof range - n, "%s%s", c ? "|" : "", p->choices[c]);
      size_t d = (size_t)p->def;
      snprintf(def, sizeof def, "%s", d < p->n_choices ? p->choices[d] : "?");
    } else {
      snprintf(range, sizeof range, "[%g, %g]", p->lo, p->hi);
      snprintf(def, sizeof def, "%g", p->def);
    }
    const char *fl = flag_of(s, p->name);
    printf("  %-22s %-6s %-18s default %-8s%s  %s%s%s%s\n", p->name,
           p->type == QT_PARAM_CAT ? "cat" : type_name(p->type), range, def, p->log ? " log" : "",
           p->help ? p->help : "", fl ? " (flag --" : "", fl ? fl : "", fl ? ")" : "");
  }
}

int cmd_strategies(int argc, char **argv) {
  int json = 0;
  const char *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] != '-' && !only) {
      only = argv[i];
    } else if (strcmp(argv[i], "--json") == 0) {
      json = 1;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("usage: qtune strategies [NAME] [--json]\n\n"
             "Lists the built-in strategies (or only NAME) and their parameters: name,\n"
             "type, range, default, log scale, a one-line help and the flag that sets it\n"
             "in backtest and optimize (e.g. --atr-stop).  --json prints one JSON array.\n"
             "\nExample:\n"
             "  qtune strategies auction_market --json\n"
             "\nExit status: 0 ok, 2 error.\n");
      return CLI_OK;
    } else {
      return cli_failf("strategies: unknown option '%s' (see qtune strategies --help)", argv[i]);
    }
  }
  size_t n = 0;
  const qt_strategy_vtbl *const *all = qt_strategies_builtin(&n);
  const qt_strategy_vtbl *one[1];
  if (only) {
    if (!(one[0] = qt_strategy_find(only)))
      return cli_failf("strategies: unknown strategy '%s' (see qtune strategies)", only);
    all = one;
    n = 1;
  }
  if (json) {
    json_t *arr = json_array();
    for (size_t k = 0; k < n; k++) json_array_append_new(arr, spec_json(all[k]));
    char *txt = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(arr);
    if (!txt) return cli_failf("strategies: out of memory");
    puts(txt);
    free(txt);
    return CLI_OK;
  }
  for (size_t k = 0; k < n; k++) {
    if (k) putchar('\n');
    print_text(all[k]);
  }
  return CLI_OK;
}
