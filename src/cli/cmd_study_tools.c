/* qtune studies | analyze | best | cleanup: reading studies back from a
 * storage.  Scores are recomputed from the stored raw metrics under the
 * normalization over all completed trials, so every tool agrees.  Ranking,
 * the CSV, the params file, the JSON of a trial and the cleanup policy are
 * the library's (src/optimize/study_export.c); this file parses and prints. */
#include "cli/cmd_study.h"
#include "cli/commands.h"
#include "cli/util.h"
#include "qtune/validate.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The --storage line of every tool's --help: the default in force, redacted. */
void cli_print_storage_default(void) {
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

int cli_study_parse_arg(const char **url, const char **name, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  const char **dst = !strcmp(a, "--storage")                               ? url
                     : !strcmp(a, "--study-name") || !strcmp(a, "--study") ? name
                                                                           : NULL;
  if (!dst) return 0;
  return (*dst = cli_opt_val(argc, argv, i)) ? 1 : CLI_ERROR;
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
  qt_symbols_write_table(ti.metrics_json, f, NULL); /* --symbol A,B: each symbol's numbers */
  /* readable values, one per line (the params file holds the exact ones) */
  const qt_space *sp = qt_study_space(st);
  fprintf(f, "  params\n");
  for (size_t d = 0; d < qt_space_n(sp); d++) {
    char v[64];
    qt_study_param_text(st, (size_t)best, d, v, sizeof v);
    fprintf(f, "    %-24s %s\n", qt_space_dim(sp, d)->name, v);
  }
}

int cli_study_write_best(const qt_study *st, long best, const char *path, qt_err *err) {
  char tmp[4096];
  FILE *f = cli_open_tmp(path, tmp, sizeof tmp, err);
  if (!f) return QT_EIO;
  int rc = qt_study_write_best_yaml(st, (size_t)best, f, err);
  int rc2 = cli_commit(f, tmp, path, rc == QT_OK, err);
  return rc ? rc : rc2;
}

/* Value of option argv[*i] (consumed); NULL after printing an error. */
/* ---- qtune studies ---- */
int cmd_studies(int argc, char **argv) {
  const char *url = qt_storage_default_url();
  int as_json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: qtune studies [--storage URL] [--json]\n"
             "Lists the studies of a storage: trials by state and the best objective\n"
             "(default storage below).\n");
      cli_print_storage_default();
      printf("\n"
             "Example:\n"
             "  qtune studies --storage sqlite:///qtune.db --json\n"
             "\n"
             "Exit status: 0 ok, 2 error (no such storage, bad option).\n");
      return CLI_OK;
    } else if (!strcmp(argv[i], "--storage")) {
      if (!(url = cli_opt_val(argc, argv, &i))) return CLI_ERROR;
    } else if (!strcmp(argv[i], "--json")) {
      as_json = 1;
    } else {
      return cli_failf("studies: unknown option '%s' (see qtune studies --help)", argv[i]);
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
    printf("%-28s %8s %6s %8s %8s %7s  %-12s %s\n", "study", "complete", "fail", "running",
           "rejected", "pruned", "best", "objective");
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
      json_object_set_new(o, "rejected", json_integer((json_int_t)c[QT_TRIAL_REJECTED]));
      json_object_set_new(o, "waiting", json_integer((json_int_t)c[QT_TRIAL_WAITING]));
      json_object_set_new(o, "best", b >= 0 ? json_real(ti.objective) : json_null());
      json_object_set_new(o, "best_trial", b >= 0 ? json_integer(ti.number) : json_null());
      json_array_append_new(arr, o);
    } else {
      char bb[32];
      if (b >= 0) snprintf(bb, sizeof bb, "%.6g", ti.objective);
      else snprintf(bb, sizeof bb, "-");
      printf("%-28s %8zu %6zu %8zu %8zu %7zu  %-12s %s (%s)\n", recs[i].name, c[QT_TRIAL_COMPLETE], c[QT_TRIAL_FAIL], c[QT_TRIAL_RUNNING], c[QT_TRIAL_REJECTED], c[QT_TRIAL_PRUNED],
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
static int export_csv(const qt_study *st, const char *path, qt_err *err) {
  char tmp[4096];
  FILE *f = cli_open_tmp(path, tmp, sizeof tmp, err);
  if (!f) return QT_EIO;
  int rc = qt_study_write_csv(st, f, err);
  int rc2 = cli_commit(f, tmp, path, rc == QT_OK, err);
  return rc ? rc : rc2;
}

/* The stored holdout of a study as a JSON value (NULL: none). */
static json_t *holdout_of(const qt_study *st) {
  const char *cfg = qt_study_config_json(st);
  json_t *c = cfg ? json_loads(cfg, 0, NULL) : NULL, *h = json_object_get(c, "holdout");
  if (h) json_incref(h);
  json_decref(c);
  return h;
}

/* `analyze --compare-with B`: both studies' best under one normalization of
 * the score (the library's), side by side with their params and metrics in
 * and (when a holdout is stored) out of sample. */
static int compare_studies(qt_study *a, const char *name_b, const char *url) {
  qt_err e;
  qt_study *b = NULL;
  if (cli_study_open_ro(name_b, url, &b, &e)) return cli_fail(&e);
  qt_compare_side sa, sb;
  int rc = CLI_OK;
  if (qt_holdout_compare(a, b, &sa, &sb, &e)) {
    rc = cli_fail(&e);
    goto done;
  }
  qt_study *sts[2] = {a, b};
  qt_compare_side *sd[2] = {&sa, &sb};
  json_t *is[2] = {NULL, NULL}, *oos[2] = {NULL, NULL}, *hold[2] = {holdout_of(a), holdout_of(b)};
  char num[2][32], par[2][512];
  const char *obj = cli_study_objective_name(a);
  for (int k = 0; k < 2; k++) {
    snprintf(num[k], sizeof num[k], "-");
    snprintf(par[k], sizeof par[k], "-");
    if (sd[k]->best < 0) continue;
    qt_trial_info ti;
    qt_study_trial_info(sts[k], (size_t)sd[k]->best, &ti);
    snprintf(num[k], sizeof num[k], "%lld", (long long)ti.number);
    snprintf(par[k], sizeof par[k], "%s", ti.params_json ? ti.params_json : "{}");
    is[k] = load_obj(ti.metrics_json);
    json_t *tr = json_object_get(hold[k], "trials"), *t;
    size_t i;
    json_array_foreach(tr, i, t) {
      if (json_integer_value(json_object_get(t, "number")) == ti.number)
        oos[k] = json_object_get(t, "oos");
    }
  }
  printf("comparing %s and %s: %s (%s) under one normalization over both studies' %zu + %zu "
         "complete trials\n",
         qt_study_name(a), qt_study_name(b), obj, qt_study_goal(a)->maximize ? "maximize" : "minimize",
         sa.n_complete, sb.n_complete);
  printf("  %-22s %24s %24s\n", "", qt_study_name(a), qt_study_name(b));
  printf("  %-22s %24s %24s\n", "best trial", num[0], num[1]);
  char v0[32], v1[32];
  fmt_num(v0, sizeof v0, sa.best_score, 0);
  fmt_num(v1, sizeof v1, sb.best_score, 0);
  printf("  %-22s %24s %24s\n", !strcmp(qt_study_goal(a)->metric, "score") ? "joint score" : obj,
         v0, v1);
  static const char *const ms[] = {"sharpe", "total_profit", "calmar", "max_drawdown",
                                   "win_rate", "profit_factor", "trades"};
  for (int side = 0; side < 2; side++)
    for (size_t m = 0; m < sizeof ms / sizeof ms[0]; m++) {
      char row[64];
      int pct = !strcmp(ms[m], "max_drawdown") || !strcmp(ms[m], "win_rate");
      fmt_num(v0, sizeof v0, jnum(side ? oos[0] : is[0], ms[m]), pct);
      fmt_num(v1, sizeof v1, jnum(side ? oos[1] : is[1], ms[m]), pct);
      snprintf(row, sizeof row, "%s %s", ms[m], side ? "(out)" : "(in)");
      printf("  %-22s %24s %24s\n", row, v0, v1);
    }
  for (int k = 0; k < 2; k++) {
    printf("  params of %s: %s\n", qt_study_name(sts[k]), par[k]);
    if (!hold[k]) printf("  (%s has no holdout: out-of-sample rows are '-')\n", qt_study_name(sts[k]));
    else if (!oos[k] && sd[k]->best >= 0)
      printf("  (trial %s of %s was not among the trials its holdout tested)\n", num[k],
             qt_study_name(sts[k]));
  }
  for (int k = 0; k < 2; k++) {
    json_decref(is[k]);
    json_decref(hold[k]);
  }
done:
  qt_study_free(b);
  return rc;
}

int cmd_analyze(int argc, char **argv) {
  const char *url = qt_storage_default_url(), *name = NULL, *csv = NULL, *other = NULL;
  const char *ref_point = NULL; /* several objectives: the hypervolume's reference */
  long top_n = 10;
  int as_json = 0, binned = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int sel;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      printf("usage: qtune analyze --study-name S [--storage URL] [--top-n 10] [--json]\n"
             "                     [--ref-point V1,V2[,V3]]   (several objectives)\n"
             "                     [--importance fanova|binned]\n"
             "       qtune analyze --study-name S [--storage URL] --export-csv FILE\n"
             "       qtune analyze --study-name A --compare-with B [--storage URL]\n"
             "Prints the top trials (feasible first, by objective; one column per\n"
             "parameter) and each parameter's importance, sorted, normalized to sum 1:\n"
             "by default fANOVA over a random forest (Optuna's default evaluator: 64\n"
             "trees, depth 64) with the strongest pair interactions; --importance\n"
             "binned: the fast estimate, the variance of the mean objective across\n"
             "quantile bins of the parameter (docs/pruning.md, docs/studies.md).\n"
             "--export-csv only writes FILE, one row per trial: number, state,\n"
             "objective, feasible, violations, error, every metric, every parameter.\n"
             "A study run with --holdout also shows its out-of-sample table.\n"
             "--compare-with B: the best of both studies under one normalization of\n"
             "the score over the union of their trials, with params and metrics in\n"
             "and out of sample.\n"
             "A study with several objectives also prints its Pareto front and the\n"
             "front's hypervolume (--ref-point V1,V2[,V3] sets the reference point;\n"
             "docs/multiobjective.md).\n"
             "\n"
             "Example:\n"
             "  qtune analyze --study-name sma1 --storage sqlite:///qtune.db --top-n 5\n"
             "\n"
             "Exit status: 0 ok, 2 error (no such study or storage, bad option).\n");
      cli_print_storage_default();
      return CLI_OK;
    } else if ((sel = cli_study_parse_arg(&url, &name, argc, argv, &i)) != 0) {
      if (sel != 1) return CLI_ERROR;
    } else if (!strcmp(a, "--compare-with")) {
      if (!(other = cli_opt_val(argc, argv, &i))) return CLI_ERROR;
    } else if (!strcmp(a, "--ref-point")) {
      if (!(ref_point = cli_opt_val(argc, argv, &i))) return CLI_ERROR;
    } else if (!strcmp(a, "--export-csv")) {
      if (!(csv = cli_opt_val(argc, argv, &i))) return CLI_ERROR;
    } else if (!strcmp(a, "--top-n")) {
      const char *v = cli_opt_val(argc, argv, &i);
      if (!v || cli_parse_long("--top-n", v, &top_n)) return CLI_ERROR;
      if (top_n < 0) return cli_failf("--top-n: must be >= 0");
    } else if (!strcmp(a, "--json")) {
      as_json = 1;
    } else if (!strcmp(a, "--importance")) {
      const char *v = cli_opt_val(argc, argv, &i);
      if (!v) return CLI_ERROR;
      if (strcmp(v, "fanova") && strcmp(v, "binned"))
        return cli_failf("--importance '%s': use fanova or binned", v);
      binned = !strcmp(v, "binned");
    } else {
      return cli_failf("analyze: unknown option '%s' (see qtune analyze --help)", a);
    }
  }
  if (!name) return cli_failf("analyze: --study-name is required");
  if (csv && as_json)
    return cli_failf("analyze: --export-csv writes a file, --json prints: give one");
  qt_err e;
  qt_study *st = NULL;
  if (cli_study_open_ro(name, url, &st, &e)) return cli_fail(&e);
  int rc = CLI_OK;
  size_t n = qt_study_n_trials(st), c[QT_TRIAL_N_STATES];
  if (other) {
    rc = compare_studies(st, other, url);
    qt_study_free(st);
    return rc;
  }
  if (csv) {
    if (export_csv(st, csv, &e)) rc = cli_fail(&e);
    else printf("wrote %s (%zu trials of study %s)\n", csv, n, name);
    qt_study_free(st);
    return rc;
  }
  const qt_space *sp = qt_study_space(st);
  size_t nd = qt_space_n(sp), show = 0;
  size_t *rk = calloc(n ? n : 1, sizeof *rk);
  double *imp = calloc(nd ? nd : 1, sizeof *imp);
  int *pw = calloc(nd ? nd : 1, sizeof *pw); /* param column widths */
  if (!rk || !imp || !pw) {
    rc = cli_failf("analyze: out of memory");
    goto done;
  }
  qt_fanova_pair pairs[5];
  size_t n_pairs = 0;
  size_t *order = calloc(nd ? nd : 1, sizeof *order);
  if (!order) {
    rc = cli_failf("analyze: out of memory");
    goto done;
  }
  qt_fanova_opts fo = qt_fanova_opts_default();
  if ((binned ? qt_study_importance(st, imp, &e)
              : qt_study_importance_fanova(st, &fo, imp, pairs, 5, &n_pairs, &e)) ||
      qt_study_rank(st, rk, (size_t)top_n < n ? (size_t)top_n : n, &show, &e)) {
    free(order);
    rc = cli_fail(&e);
    goto done;
  }
  qt_importance_order(imp, nd, order);
  qt_study_counts(st, c);
  const char *obj = cli_study_objective_name(st);
  if (as_json) {
    json_t *o = json_object(), *top = json_array(), *im = json_object();
    json_object_set_new(o, "study", json_string(name));
    json_object_set_new(o, "objective", json_string(obj));
    json_object_set_new(o, "direction",
                        json_string(qt_study_goal(st)->maximize ? "maximize" : "minimize"));
    json_object_set_new(o, "trials", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "complete", (json_int_t)c[QT_TRIAL_COMPLETE],
                                               "fail", (json_int_t)c[QT_TRIAL_FAIL], "running",
                                               (json_int_t)c[QT_TRIAL_RUNNING], "rejected", (json_int_t)c[QT_TRIAL_REJECTED],
                                               "pruned", (json_int_t)c[QT_TRIAL_PRUNED], "waiting", (json_int_t)c[QT_TRIAL_WAITING]));
    for (size_t r = 0; r < show; r++) {
      qt_trial_info ti;
      qt_study_trial_info(st, rk[r], &ti);
      /* JSON has no inf: a rejected trial's -inf is the string "-inf", with its reason */
      json_t *row = json_pack("{s:I,s:o,s:b}", "number", (json_int_t)ti.number, "objective",
                              isinf(ti.objective) ? json_string(ti.objective < 0 ? "-inf" : "inf")
                                                  : json_real(ti.objective),
                              "feasible", ti.feasible);
      if (!ti.feasible && ti.error) json_object_set_new(row, "reason", json_string(ti.error));
      json_t *m = load_obj(ti.metrics_json), *p = load_obj(ti.params_json);
      json_object_set_new(row, "metrics", m ? m : json_object());
      json_object_set_new(row, "params", p ? p : json_object());
      json_array_append_new(top, row);
    }
    for (size_t r = 0; r < nd; r++)
      json_object_set_new(im, qt_space_dim(sp, order[r])->name, json_real(imp[order[r]]));
    json_object_set_new(o, "top", top);
    json_object_set_new(o, "importance_method", json_string(binned ? "binned" : "fanova"));
    json_t *cfg = json_loads(qt_study_config_json(st) ? qt_study_config_json(st) : "{}", 0, NULL);
    json_t *tg = json_object_get(cfg, "tags");
    json_object_set_new(o, "tags", json_is_object(tg) ? json_incref(tg) : json_object());
    json_decref(cfg);
    json_object_set_new(o, "importance", im);
    json_t *ia = json_array();
    for (size_t k = 0; k < n_pairs; k++)
      json_array_append_new(ia, json_pack("{s:s,s:s,s:f}", "a", qt_space_dim(sp, pairs[k].a)->name,
                                          "b", qt_space_dim(sp, pairs[k].b)->name, "importance",
                                          pairs[k].importance));
    json_object_set_new(o, "interactions", ia);
    json_t *h = holdout_of(st);
    if (h) json_object_set_new(o, "holdout", h);
    if (qt_study_n_objectives(st) > 1) {
      json_t *pf = cli_pareto_json(st, ref_point, &e);
      if (!pf) {
        json_decref(o);
        rc = cli_fail(&e);
        goto done;
      }
      json_object_set_new(o, "pareto", pf);
    }
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    if (s) printf("%s\n", s);
    free(s);
    json_decref(o);
  } else {
    printf("study %s: %zu trials (%zu complete, %zu rejected, %zu pruned, %zu failed, %zu running, %zu waiting), objective %s (%s)\n",
           name, n, c[QT_TRIAL_COMPLETE], c[QT_TRIAL_REJECTED], c[QT_TRIAL_PRUNED], c[QT_TRIAL_FAIL], c[QT_TRIAL_RUNNING], c[QT_TRIAL_WAITING], obj, qt_study_goal(st)->maximize ? "maximize" : "minimize");
    json_t *cfg = json_loads(qt_study_config_json(st) ? qt_study_config_json(st) : "{}", 0, NULL);
    const char *tk;
    json_t *tv;
    int first_tag = 1;
    json_object_foreach(json_object_get(cfg, "tags"), tk, tv) {
      printf("%s%s=%s", first_tag ? "tags: " : ", ", tk, json_string_value(tv) ? json_string_value(tv) : "?");
      first_tag = 0;
    }
    if (!first_tag) putchar('\n');
    json_decref(cfg);
    if (qt_study_n_objectives(st) > 1) /* several: the table ranks by the first */
      printf("several objectives: the top trials by %s, the first; the Pareto front below\n", obj);
    printf("\ntop %zu trials (feasible first):\n", show);
    printf("%4s %6s %12s %3s %8s %12s %8s %8s %8s %7s", "rank", "trial", obj, "ok", "sharpe",
           "total_profit", "calmar", "max_dd", "win_rate", "trades");
    /* one column per parameter, as wide as its name or widest value shown */
    for (size_t d = 0; d < nd; d++) {
      const char *pn = qt_space_dim(sp, d)->name;
      int w = strlen(pn) > 8 ? (int)strlen(pn) : 8;
      for (size_t r = 0; r < show; r++) {
        char v[64];
        qt_study_param_text(st, rk[r], d, v, sizeof v);
        if ((int)strlen(v) > w) w = (int)strlen(v);
      }
      pw[d] = w;
      printf(" %*s", w, pn);
    }
    putchar('\n');
    for (size_t r = 0; r < show; r++) {
      qt_trial_info ti;
      qt_study_trial_info(st, rk[r], &ti);
      json_t *m = load_obj(ti.metrics_json);
      char b[6][32];
      fmt_num(b[0], 32, jnum(m, "sharpe"), 0);
      fmt_num(b[1], 32, jnum(m, "total_profit"), 0);
      fmt_num(b[2], 32, jnum(m, "calmar"), 0);
      fmt_num(b[3], 32, jnum(m, "max_drawdown"), 1);
      fmt_num(b[4], 32, jnum(m, "win_rate"), 1);
      fmt_num(b[5], 32, jnum(m, "trades"), 0);
      printf("%4zu %6lld %12.6g %3s %8s %12s %8s %8s %8s %7s", r + 1, (long long)ti.number,
             ti.objective, ti.feasible ? "yes" : "no", b[0], b[1], b[2], b[3], b[4], b[5]);
      for (size_t d = 0; d < nd; d++) {
        char v[64];
        qt_study_param_text(st, rk[r], d, v, sizeof v);
        printf(" %*s", pw[d], v);
      }
      putchar('\n');
      if (!ti.feasible && ti.error) printf("%4s %6s %s\n", "", "", ti.error); /* why rejected */
      json_decref(m);
    }
    if (qt_study_n_objectives(st) > 1 &&
        cli_pareto_print(stdout, st, ref_point, (size_t)top_n, &e)) {
      rc = cli_fail(&e);
      goto done;
    }
    if (show) { /* --symbol A,B: the best's numbers on each symbol */
      qt_trial_info ti;
      qt_study_trial_info(st, rk[0], &ti);
      qt_symbols_write_table(ti.metrics_json, stdout, NULL);
    }
    if (binned)
      printf("\nparameter importance (variance of the mean %s across quantile bins):\n", obj);
    else
      printf("\nparameter importance (fANOVA of %s over a random forest of %zu trees):\n", obj,
             fo.n_trees);
    for (size_t r = 0; r < nd; r++) {
      size_t d = order[r];
      char bar[41];
      int w = (int)lround(imp[d] * 40);
      memset(bar, '#', (size_t)w);
      bar[w] = 0;
      printf("  %-24s %6.3f %s\n", qt_space_dim(sp, d)->name, imp[d], bar);
    }
    if (n_pairs) printf("strongest interactions:\n");
    for (size_t k = 0; k < n_pairs; k++) {
      char both[160];
      snprintf(both, sizeof both, "%s x %s", qt_space_dim(sp, pairs[k].a)->name,
               qt_space_dim(sp, pairs[k].b)->name);
      printf("  %-40s %6.3f\n", both, pairs[k].importance);
    }
    char *hb = malloc((size_t)1 << 20);
    int hr = hb ? qt_holdout_load(st, hb, (size_t)1 << 20, &e) : QT_ENOMEM;
    if (hr == QT_OK && qt_holdout_write_table(hb, stdout, &e)) rc = cli_fail(&e);
    else if (hr != QT_OK && hr != QT_ENOTFOUND) rc = cli_fail(&e);
    free(hb);
  }
  free(order);
done:
  free(rk);
  free(imp);
  free(pw);
  qt_study_free(st);
  return rc;
}

/* ---- qtune best ---- */
int cmd_best(int argc, char **argv) {
  const char *url = qt_storage_default_url(), *name = NULL, *out = NULL, *ref_point = NULL;
  long pick = 0; /* several objectives: which front member (1-based) */
  int as_json = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int sel;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      printf("usage: qtune best --study-name S [--storage URL] [--best-out FILE] [--json]\n"
             "                  [--pick N] [--ref-point V1,V2[,V3]]   (several objectives)\n"
             "Prints the best feasible trial and writes its parameters as a flat YAML\n"
             "map (default <study>_best.yaml) for `qtune backtest --params-file`.\n"
             "  --best-out FILE  the params file, as in qtune optimize (alias: -o)\n"
             "  --json           print the trial as one JSON object (study, trial,\n"
             "                   objective, direction, score, feasible, params, metrics)\n"
             "A study with several objectives prints its Pareto front (the non-dominated\n"
             "feasible trials) and hypervolume, and writes the params of one member:\n"
             "  --pick N         front member N (1-based, as printed; default 1, the\n"
             "                   best in the first objective)\n"
             "  --ref-point V,.. the hypervolume's reference point, one value per\n"
             "                   objective (default: see docs/multiobjective.md)\n"
             "\n"
             "Example:\n"
             "  qtune best --study-name sma1 --best-out sma1.yaml\n"
             "\n"
             "Exit status: 0 ok, 1 no trial meets the constraints, 2 error.\n");
      cli_print_storage_default();
      return CLI_OK;
    } else if ((sel = cli_study_parse_arg(&url, &name, argc, argv, &i)) != 0) {
      if (sel != 1) return CLI_ERROR;
    } else if (!strcmp(a, "--best-out") || !strcmp(a, "-o") || !strcmp(a, "--output")) {
      if (!(out = cli_opt_val(argc, argv, &i))) return CLI_ERROR;
    } else if (!strcmp(a, "--json")) {
      as_json = 1;
    } else if (!strcmp(a, "--pick")) {
      const char *v = cli_opt_val(argc, argv, &i);
      if (!v || cli_parse_long("--pick", v, &pick)) return CLI_ERROR;
      if (pick < 1) return cli_failf("--pick %ld: front members are numbered from 1", pick);
    } else if (!strcmp(a, "--ref-point")) {
      if (!(ref_point = cli_opt_val(argc, argv, &i))) return CLI_ERROR;
    } else {
      return cli_failf("best: unknown option '%s' (see qtune best --help)", a);
    }
  }
  if (!name) return cli_failf("best: --study-name is required");
  qt_err e;
  qt_study *st = NULL;
  if (cli_study_open_ro(name, url, &st, &e)) return cli_fail(&e);
  long b = qt_study_best(st);
  int rc = CLI_OK;
  char path[1024];
  int multi = qt_study_n_objectives(st) > 1;
  if ((pick || ref_point) && !multi) {
    qt_study_free(st);
    return cli_failf("best: --pick and --ref-point need a study with several objectives "
                     "(study '%s' has one)", name);
  }
  if (multi && b >= 0) {
    /* the front first (not with --json: stdout is one JSON object) */
    if (!as_json && cli_pareto_print(stdout, st, ref_point, 0, &e)) {
      qt_study_free(st);
      return cli_fail(&e);
    }
    b = cli_pareto_pick(st, pick ? pick : 1, &e);
    if (b < 0) {
      qt_study_free(st);
      return cli_fail(&e);
    }
    if (!as_json) printf("\npicked front member %ld:\n", pick ? pick : 1);
  }
  if (b < 0) {
    size_t c[QT_TRIAL_N_STATES];
    qt_study_counts(st, c);
    fprintf(stderr, "qtune: study '%s': no feasible complete trial (%zu complete, %zu failed)\n",
            name, c[QT_TRIAL_COMPLETE], c[QT_TRIAL_FAIL]);
    rc = CLI_FINDINGS;
  } else {
    if (!out) qt_study_best_path(st, path, sizeof path);
    if (cli_study_write_best(st, b, out ? out : path, &e)) rc = cli_fail(&e);
    else if (as_json && qt_study_write_trial_json(st, (size_t)b, stdout, &e)) rc = cli_fail(&e);
    else if (!as_json) {
      cli_study_print_best(stdout, st, b);
      printf("best parameters: %s\n", out ? out : path);
    }
  }
  qt_study_free(st);
  return rc;
}

/* ---- qtune cleanup ---- */
int cmd_cleanup(int argc, char **argv) {
  const char *url = qt_storage_default_url(), *name = NULL;
  const char *flag = NULL; /* which of --worse-than/--min-score/--max-score */
  double x = NAN;
  int dry = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int sel;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      printf("usage: qtune cleanup --study-name S --worse-than X [--storage URL] [--dry-run]\n"
             "Deletes the finished trials whose score (the objective under the current\n"
             "normalization) is worse than X in the study's direction: below X when the\n"
             "study maximizes, above X when it minimizes.  It prints which end and how\n"
             "many first.  Failed trials have no score and are kept.  Deleted trial\n"
             "numbers are never reused.\n"
             "  --min-score X   the same as --worse-than X, for maximize studies only\n"
             "  --max-score X   the same as --worse-than X, for minimize studies only\n"
             "\n"
             "Example:\n"
             "  qtune cleanup --study-name sma1 --worse-than 0.2 --dry-run\n"
             "\n"
             "Exit status: 0 ok, 2 error.\n");
      cli_print_storage_default();
      return CLI_OK;
    } else if ((sel = cli_study_parse_arg(&url, &name, argc, argv, &i)) != 0) {
      if (sel != 1) return CLI_ERROR;
    } else if (!strcmp(a, "--worse-than") || !strcmp(a, "--min-score") ||
               !strcmp(a, "--max-score")) {
      const char *v = cli_opt_val(argc, argv, &i);
      if (!v || cli_parse_double(a, v, &x)) return CLI_ERROR;
      if (flag && strcmp(flag, a))
        return cli_failf("cleanup: %s and %s cannot be combined", flag, a);
      flag = a;
    } else if (!strcmp(a, "--dry-run")) {
      dry = 1;
    } else {
      return cli_failf("cleanup: unknown option '%s' (see qtune cleanup --help)", a);
    }
  }
  if (!name) return cli_failf("cleanup: --study-name is required");
  if (!flag) return cli_failf("cleanup: --worse-than is required");
  qt_err e;
  qt_study *st = NULL;
  if (cli_study_open_ro(name, url, &st, &e)) return cli_fail(&e);
  int maximize = qt_study_goal(st)->maximize;
  /* the old flags name an end; on the other direction they would delete the
   * best trials, so they are refused */
  if ((!strcmp(flag, "--min-score") && !maximize) || (!strcmp(flag, "--max-score") && maximize)) {
    qt_study_free(st);
    return cli_failf("cleanup: study %s %s, so %s would delete its best trials; use "
                     "--worse-than %g (deletes scores %s %g)",
                     name, maximize ? "maximizes" : "minimizes", flag, x,
                     maximize ? "below" : "above", x);
  }
  int rc = CLI_OK;
  size_t worse = qt_study_count_worse(st, x), deleted = 0;
  printf("study %s (%s): %zu of %zu trials have a score %s %g (the worse end)%s\n", name,
         maximize ? "maximize" : "minimize", worse, qt_study_n_trials(st),
         maximize ? "below" : "above", x, dry ? " (dry run: nothing deleted)" : "");
  if (!dry && worse) {
    if (qt_study_delete_worse(st, x, &deleted, &e)) rc = cli_fail(&e);
    else printf("deleted %zu trials\n", deleted);
  }
  qt_study_free(st);
  return rc;
}

int cli_storage_exists(const char *url, qt_err *err) { return db_missing(url, err); }
