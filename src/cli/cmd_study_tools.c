/* qtune studies | analyze | best | cleanup: reading studies back from a
 * storage.  Scores are recomputed from the stored raw metrics under the
 * normalization over all completed trials, so every tool agrees. */
#include "cli/cmd_study.h"
#include "cli/commands.h"
#include "cli/util.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The --storage line of every tool's --help: the default in force, redacted. */
static void print_storage_default(void) {
  char shown[512];
  printf("--storage defaults to $QTUNE_STORAGE, else %s (./qtune.db); now %s\n",
         QT_STORAGE_DEFAULT_URL, qt_storage_url_redact(qt_storage_default_url(), shown, sizeof shown));
}

const char *cli_study_objective_name(const qt_study *st) { return qt_study_goal(st)->metric; }

/* Read-only tools must not create an empty SQLite file for a mistyped path. */
static int db_missing(const char *url, qt_err *err) {
  char path[1024];
  if (strstr(url, "://") && strncmp(url, "sqlite:", 7)) return 0; /* another backend answers */
  if (qt_storage_sqlite_path(url, path, sizeof path, err)) return err ? err->code : QT_EINVAL;
  if (access(path, F_OK) == 0) return 0;
  return qt_err_set(err, QT_ENOTFOUND, "%s: no such database", path);
}

int cli_study_open_ro(const char *name, const char *url, qt_study **out, qt_err *err) {
  *out = NULL;
  if (!url) url = qt_storage_default_url();
  int r = db_missing(url, err);
  if (r) return r;
  qt_study_opts o = qt_study_opts_default();
  o.name = name;
  o.storage_url = url;
  return qt_study_open(&o, NULL, out, err);
}

static json_t *load_obj(const char *js) {
  json_t *o = js ? json_loads(js, 0, NULL) : NULL;
  if (o && !json_is_object(o)) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

static double jnum(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static void fmt_num(char *buf, size_t cap, double v, int pct) {
  if (isnan(v)) snprintf(buf, cap, "-");
  else if (pct) snprintf(buf, cap, "%.2f%%", v * 100);
  else snprintf(buf, cap, "%.4g", v);
}

void cli_study_print_best(FILE *f, const qt_study *st, long best) {
  qt_trial_info ti;
  qt_study_trial_info(st, (size_t)best, &ti);
  json_t *m = load_obj(ti.metrics_json);
  static const struct { const char *k, *label; int pct; } rows[] = {
      {"sharpe", "Sharpe", 0},           {"total_profit", "total profit", 0},
      {"calmar", "Calmar", 0},           {"max_drawdown", "max drawdown", 1},
      {"win_rate", "win rate", 1},       {"trades", "trades", 0}};
  fprintf(f, "best trial: #%lld\n", (long long)ti.number);
  fprintf(f, "  %-14s %.6g\n", cli_study_objective_name(st), ti.objective);
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    double v = jnum(m, rows[i].k);
    if (isnan(v) && !json_object_get(m, rows[i].k)) continue; /* an external command's */
    char b[64];
    fmt_num(b, sizeof b, v, rows[i].pct);
    fprintf(f, "  %-14s %s\n", rows[i].label, b);
  }
  json_decref(m);
  fprintf(f, "  %-14s %s\n", "params", ti.params_json ? ti.params_json : "{}");
}

/* One YAML scalar of a JSON param value. */
static void yaml_value(FILE *f, json_t *v) {
  if (json_is_integer(v)) fprintf(f, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v)) fprintf(f, "%.17g", json_real_value(v));
  else if (json_is_true(v)) fputs("true", f);
  else if (json_is_false(v)) fputs("false", f);
  else if (json_is_string(v)) {
    /* double-quoted, escaping what YAML needs escaped */
    fputc('"', f);
    for (const char *s = json_string_value(v); *s; s++) {
      if (*s == '"' || *s == '\\') fputc('\\', f);
      fputc(*s, f);
    }
    fputc('"', f);
  } else fputs("null", f);
}

int cli_study_write_best(const qt_study *st, long best, const char *path, qt_err *err) {
  qt_trial_info ti;
  qt_study_trial_info(st, (size_t)best, &ti);
  json_t *p = load_obj(ti.params_json);
  if (!p) return qt_err_set(err, QT_EPARSE, "trial #%lld: no params", (long long)ti.number);
  char tmp[4096];
  FILE *f = cli_open_tmp(path, tmp, sizeof tmp, err);
  if (!f) {
    json_decref(p);
    return QT_EIO;
  }
  fprintf(f, "# qtune best parameters: study %s, trial #%lld, %s %.17g\n", qt_study_name(st),
          (long long)ti.number, cli_study_objective_name(st), ti.objective);
  const char *k;
  json_t *v;
  json_object_foreach(p, k, v) {
    fprintf(f, "%s: ", k);
    yaml_value(f, v);
    fputc('\n', f);
  }
  json_decref(p);
  return cli_commit(f, tmp, path, 1, err);
}

/* Value of option argv[*i] (consumed); NULL after printing an error. */
static const char *opt_val(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) {
    cli_failf("%s needs a value", argv[*i]);
    return NULL;
  }
  return argv[++*i];
}

/* ---- qtune studies ---- */
int cmd_studies(int argc, char **argv) {
  const char *url = qt_storage_default_url();
  int as_json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: qtune studies [--storage URL] [--json]\n"
             "Lists the studies of a storage: trials by state and the best objective\n"
             "(default storage below).\n");
      print_storage_default();
      return CLI_OK;
    } else if (!strcmp(argv[i], "--storage")) {
      if (!(url = opt_val(argc, argv, &i))) return CLI_ERROR;
    } else if (!strcmp(argv[i], "--json")) {
      as_json = 1;
    } else {
      return cli_failf("studies: unknown option '%s'", argv[i]);
    }
  }
  qt_err e;
  qt_storage s;
  if (db_missing(url, &e) || qt_storage_open(url, &s, &e)) return cli_fail(&e);
  qt_study_rec *recs = NULL;
  size_t n = 0;
  int rc = CLI_OK;
  if (s.vt->study_list(s.self, &recs, &n, &e)) {
    rc = cli_fail(&e);
    goto done;
  }
  json_t *arr = as_json ? json_array() : NULL;
  if (!as_json)
    printf("%-28s %8s %6s %8s %7s  %-12s %s\n", "study", "complete", "fail", "running", "pruned",
           "best", "objective");
  for (size_t i = 0; i < n; i++) {
    qt_study *st = NULL;
    if (cli_study_open_ro(recs[i].name, url, &st, &e)) {
      rc = cli_fail(&e);
      break;
    }
    size_t c[QT_TRIAL_N_STATES];
    qt_study_counts(st, c);
    long b = qt_study_best(st);
    qt_trial_info ti = {0};
    if (b >= 0) qt_study_trial_info(st, (size_t)b, &ti);
    const qt_goal *g = qt_study_goal(st);
    if (as_json) {
      json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:s}", "name", recs[i].name,
                            "complete", (json_int_t)c[QT_TRIAL_COMPLETE], "fail", (json_int_t)c[QT_TRIAL_FAIL], "running",
                            (json_int_t)c[QT_TRIAL_RUNNING], "pruned", (json_int_t)c[QT_TRIAL_PRUNED], "objective", g->metric,
                            "direction", g->maximize ? "maximize" : "minimize");
      json_object_set_new(o, "best", b >= 0 ? json_real(ti.objective) : json_null());
      json_object_set_new(o, "best_trial", b >= 0 ? json_integer(ti.number) : json_null());
      json_array_append_new(arr, o);
    } else {
      char bb[32];
      if (b >= 0) snprintf(bb, sizeof bb, "%.6g", ti.objective);
      else snprintf(bb, sizeof bb, "-");
      printf("%-28s %8zu %6zu %8zu %7zu  %-12s %s (%s)\n", recs[i].name, c[QT_TRIAL_COMPLETE], c[QT_TRIAL_FAIL], c[QT_TRIAL_RUNNING], c[QT_TRIAL_PRUNED],
             bb, g->metric, g->maximize ? "maximize" : "minimize");
    }
    qt_study_free(st);
  }
  if (as_json) {
    char *s2 = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s2 && rc == CLI_OK) printf("%s\n", s2);
    free(s2);
    json_decref(arr);
  }
done:
  for (size_t i = 0; i < n; i++) qt_study_rec_fini(&recs[i]);
  qt_free(recs);
  qt_storage_close(&s);
  return rc;
}

/* ---- qtune analyze ---- */
typedef struct ranked {
  size_t idx;
  double obj;
  int feasible;
} ranked;

static int g_max; /* sort direction for cmp_ranked (single-threaded CLI) */
static int cmp_ranked(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->feasible != y->feasible) return y->feasible - x->feasible;
  if (x->obj != y->obj) return (g_max ? x->obj < y->obj : x->obj > y->obj) ? 1 : -1;
  return x->idx < y->idx ? -1 : 1;
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
  char b[64];
  if (!v || json_is_null(v)) return;
  if (json_is_integer(v)) fprintf(f, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v)) fprintf(f, "%.17g", json_real_value(v));
  else if (json_is_boolean(v)) fputs(json_is_true(v) ? "true" : "false", f);
  else if (json_is_string(v)) csv_field(f, json_string_value(v));
  else {
    snprintf(b, sizeof b, "?");
    fputs(b, f);
  }
}

static int export_csv(const qt_study *st, const char *path, qt_err *err) {
  char tmp[4096];
  FILE *f = cli_open_tmp(path, tmp, sizeof tmp, err);
  if (!f) return QT_EIO;
  json_t *keys = metric_keys(st);
  const qt_space *sp = qt_study_space(st);
  fprintf(f, "number,state,%s,feasible,violations,error", cli_study_objective_name(st));
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
  return cli_commit(f, tmp, path, 1, err);
}

int cmd_analyze(int argc, char **argv) {
  const char *url = qt_storage_default_url(), *name = NULL, *csv = NULL;
  long top_n = 10;
  int as_json = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      printf("usage: qtune analyze --study-name S [--storage URL] [--top-n 10]\n"
             "                     [--export-csv FILE] [--json]\n"
             "Prints the top trials (feasible first, by objective) and each parameter's\n"
             "importance: the variance of the mean objective across quantile bins of the\n"
             "parameter, normalized to sum 1 (see docs/studies.md).\n"
             "--export-csv writes one row per trial: number, state, objective, feasible,\n"
             "violations, error, every metric, every parameter.\n");
      print_storage_default();
      return CLI_OK;
    } else if (!strcmp(a, "--storage")) {
      if (!(url = opt_val(argc, argv, &i))) return CLI_ERROR;
    } else if (!strcmp(a, "--study-name") || !strcmp(a, "--study")) {
      if (!(name = opt_val(argc, argv, &i))) return CLI_ERROR;
    } else if (!strcmp(a, "--export-csv")) {
      if (!(csv = opt_val(argc, argv, &i))) return CLI_ERROR;
    } else if (!strcmp(a, "--top-n")) {
      const char *v = opt_val(argc, argv, &i);
      if (!v || cli_parse_long("--top-n", v, &top_n)) return CLI_ERROR;
      if (top_n < 0) return cli_failf("--top-n: must be >= 0");
    } else if (!strcmp(a, "--json")) {
      as_json = 1;
    } else {
      return cli_failf("analyze: unknown option '%s'", a);
    }
  }
  if (!name) return cli_failf("analyze: --study-name is required");
  qt_err e;
  qt_study *st = NULL;
  if (cli_study_open_ro(name, url, &st, &e)) return cli_fail(&e);
  int rc = CLI_OK;
  size_t n = qt_study_n_trials(st), nr = 0, c[QT_TRIAL_N_STATES];
  const qt_space *sp = qt_study_space(st);
  size_t nd = qt_space_n(sp);
  ranked *rk = calloc(n ? n : 1, sizeof *rk);
  double *imp = calloc(nd ? nd : 1, sizeof *imp);
  if (!rk || !imp) {
    rc = cli_failf("analyze: out of memory");
    goto done;
  }
  if (qt_study_importance(st, imp, &e)) {
    rc = cli_fail(&e);
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    if (ti.state != QT_TRIAL_COMPLETE || isnan(ti.objective)) continue;
    rk[nr++] = (ranked){i, ti.objective, ti.feasible};
  }
  g_max = qt_study_goal(st)->maximize;
  qsort(rk, nr, sizeof *rk, cmp_ranked);
  size_t show = (size_t)top_n < nr ? (size_t)top_n : nr;
  qt_study_counts(st, c);
  const char *obj = cli_study_objective_name(st);
  if (as_json) {
    json_t *o = json_object(), *top = json_array(), *im = json_object();
    json_object_set_new(o, "study", json_string(name));
    json_object_set_new(o, "objective", json_string(obj));
    json_object_set_new(o, "direction",
                        json_string(qt_study_goal(st)->maximize ? "maximize" : "minimize"));
    json_object_set_new(o, "trials", json_pack("{s:I,s:I,s:I,s:I}", "complete", (json_int_t)c[QT_TRIAL_COMPLETE],
                                               "fail", (json_int_t)c[QT_TRIAL_FAIL], "running",
                                               (json_int_t)c[QT_TRIAL_RUNNING], "pruned", (json_int_t)c[QT_TRIAL_PRUNED]));
    for (size_t r = 0; r < show; r++) {
      qt_trial_info ti;
      qt_study_trial_info(st, rk[r].idx, &ti);
      json_t *row = json_pack("{s:I,s:f,s:b}", "number", (json_int_t)ti.number, "objective",
                              ti.objective, "feasible", ti.feasible);
      json_t *m = load_obj(ti.metrics_json), *p = load_obj(ti.params_json);
      json_object_set_new(row, "metrics", m ? m : json_object());
      json_object_set_new(row, "params", p ? p : json_object());
      json_array_append_new(top, row);
    }
    for (size_t d = 0; d < nd; d++) json_object_set_new(im, qt_space_dim(sp, d)->name, json_real(imp[d]));
    json_object_set_new(o, "top", top);
    json_object_set_new(o, "importance", im);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    if (s) printf("%s\n", s);
    free(s);
    json_decref(o);
  } else {
    printf("study %s: %zu trials (%zu complete, %zu pruned, %zu failed, %zu running), objective %s (%s)\n",
           name, n, c[QT_TRIAL_COMPLETE], c[QT_TRIAL_PRUNED], c[QT_TRIAL_FAIL], c[QT_TRIAL_RUNNING], obj, qt_study_goal(st)->maximize ? "maximize" : "minimize");
    printf("\ntop %zu trials (feasible first):\n", show);
    printf("%4s %6s %12s %3s %8s %12s %8s %8s %8s %7s  %s\n", "rank", "trial", obj, "ok", "sharpe",
           "total_profit", "calmar", "max_dd", "win_rate", "trades", "params");
    for (size_t r = 0; r < show; r++) {
      qt_trial_info ti;
      qt_study_trial_info(st, rk[r].idx, &ti);
      json_t *m = load_obj(ti.metrics_json);
      char b[6][32];
      fmt_num(b[0], 32, jnum(m, "sharpe"), 0);
      fmt_num(b[1], 32, jnum(m, "total_profit"), 0);
      fmt_num(b[2], 32, jnum(m, "calmar"), 0);
      fmt_num(b[3], 32, jnum(m, "max_drawdown"), 1);
      fmt_num(b[4], 32, jnum(m, "win_rate"), 1);
      fmt_num(b[5], 32, jnum(m, "trades"), 0);
      printf("%4zu %6lld %12.6g %3s %8s %12s %8s %8s %8s %7s  %s\n", r + 1, (long long)ti.number,
             ti.objective, ti.feasible ? "yes" : "no", b[0], b[1], b[2], b[3], b[4], b[5],
             ti.params_json ? ti.params_json : "");
      json_decref(m);
    }
    printf("\nparameter importance (variance of the mean %s across quantile bins):\n", obj);
    for (size_t d = 0; d < nd; d++) {
      char bar[41];
      int w = (int)lround(imp[d] * 40);
      memset(bar, '#', (size_t)w);
      bar[w] = 0;
      printf("  %-24s %6.3f %s\n", qt_space_dim(sp, d)->name, imp[d], bar);
    }
  }
  if (csv) {
    if (export_csv(st, csv, &e)) rc = cli_fail(&e);
    else if (!as_json) printf("\nwrote %s (%zu trials)\n", csv, n);
  }
done:
  free(rk);
  free(imp);
  qt_study_free(st);
  return rc;
}

/* ---- qtune best ---- */
int cmd_best(int argc, char **argv) {
  const char *url = qt_storage_default_url(), *name = NULL, *out = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      printf("usage: qtune best --study-name S [--storage URL] [-o FILE]\n"
             "Prints the best feasible trial and writes its parameters as a flat YAML\n"
             "map (default <study>_best.yaml) for `qtune backtest --params-file`.\n"
             "Exit status 1 when no trial meets the constraints.\n");
      print_storage_default();
      return CLI_OK;
    } else if (!strcmp(a, "--storage")) {
      if (!(url = opt_val(argc, argv, &i))) return CLI_ERROR;
    } else if (!strcmp(a, "--study-name") || !strcmp(a, "--study")) {
      if (!(name = opt_val(argc, argv, &i))) return CLI_ERROR;
    } else if (!strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--best-out")) {
      if (!(out = opt_val(argc, argv, &i))) return CLI_ERROR;
    } else {
      return cli_failf("best: unknown option '%s'", a);
    }
  }
  if (!name) return cli_failf("best: --study-name is required");
  qt_err e;
  qt_study *st = NULL;
  if (cli_study_open_ro(name, url, &st, &e)) return cli_fail(&e);
  long b = qt_study_best(st);
  int rc = CLI_OK;
  char path[1024];
  if (b < 0) {
    size_t c[QT_TRIAL_N_STATES];
    qt_study_counts(st, c);
    fprintf(stderr, "qtune: study '%s': no feasible complete trial (%zu complete, %zu failed)\n",
            name, c[QT_TRIAL_COMPLETE], c[QT_TRIAL_FAIL]);
    rc = CLI_FINDINGS;
  } else {
    cli_study_print_best(stdout, st, b);
    if (!out) snprintf(path, sizeof path, "%s_best.yaml", name);
    if (cli_study_write_best(st, b, out ? out : path, &e)) rc = cli_fail(&e);
    else printf("best parameters: %s\n", out ? out : path);
  }
  qt_study_free(st);
  return rc;
}

/* ---- qtune cleanup ---- */
int cmd_cleanup(int argc, char **argv) {
  const char *url = qt_storage_default_url(), *name = NULL;
  double min_score = NAN;
  int dry = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      printf("usage: qtune cleanup --study-name S --min-score X [--storage URL] [--dry-run]\n"
             "Deletes the finished trials whose score (the objective under the current\n"
             "normalization) is below X, after printing how many.  Failed trials have\n"
             "no score and are kept.\n");
      print_storage_default();
      return CLI_OK;
    } else if (!strcmp(a, "--storage")) {
      if (!(url = opt_val(argc, argv, &i))) return CLI_ERROR;
    } else if (!strcmp(a, "--study-name") || !strcmp(a, "--study")) {
      if (!(name = opt_val(argc, argv, &i))) return CLI_ERROR;
    } else if (!strcmp(a, "--min-score")) {
      const char *v = opt_val(argc, argv, &i);
      if (!v || cli_parse_double("--min-score", v, &min_score)) return CLI_ERROR;
    } else if (!strcmp(a, "--dry-run")) {
      dry = 1;
    } else {
      return cli_failf("cleanup: unknown option '%s'", a);
    }
  }
  if (!name) return cli_failf("cleanup: --study-name is required");
  if (isnan(min_score)) return cli_failf("cleanup: --min-score is required");
  qt_err e;
  qt_study *st = NULL;
  if (cli_study_open_ro(name, url, &st, &e)) return cli_fail(&e);
  int rc = CLI_OK;
  size_t below = 0, deleted = 0;
  for (size_t i = 0; i < qt_study_n_trials(st); i++) {
    qt_trial_info ti;
    qt_study_trial_info(st, i, &ti);
    below += !isnan(ti.objective) && ti.objective < min_score;
  }
  printf("study %s: %zu of %zu trials have a score below %g%s\n", name, below,
         qt_study_n_trials(st), min_score, dry ? " (dry run: nothing deleted)" : "");
  if (!dry && below) {
    /* stored scores first follow the current normalization, so the
     * storage deletes exactly the trials counted above */
    qt_storage *s = qt_study_storage(st);
    qt_study_rec sr;
    if (qt_study_store_scores(st, &e) || s->vt->study_load(s->self, name, &sr, &e)) {
      rc = cli_fail(&e);
    } else {
      if (s->vt->trials_delete_below(s->self, sr.id, min_score, &deleted, &e)) rc = cli_fail(&e);
      else printf("deleted %zu trials\n", deleted);
      qt_study_rec_fini(&sr);
    }
  }
  qt_study_free(st);
  return rc;
}
