/* qtune gate: the promotion gate of a study.  Gathers the best's metrics,
 * its out-of-sample ones (a stored holdout) and the baseline's, runs the
 * library's checks and records the verdict and stage with the study. */
#include "cli/cmd_study.h"
#include "cli/commands.h"
#include "cli/util.h"
#include "qtune/strategies.h"
#include "qtune/validate.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char k_help[] =
    "usage: qtune gate --study-name S [--baseline defaults|PARAMS_FILE|STUDY]\n"
    "                  [--thresholds FILE.yaml] [--storage URL] [--json] [--dry-run]\n"
    "The promotion gate: the study's best against a baseline on the study's own\n"
    "market (the strategy's defaults, a params file, or another study's best):\n"
    "  profit factor improves without collapsing the trade count; Sharpe improves\n"
    "  without doubling the drawdown; out of sample (a stored --holdout) does not\n"
    "  degrade dramatically; stable across symbols; no single-symbol dependency;\n"
    "  drawdown acceptable at the target risk.\n"
    "Each line PASS or FAIL with its numbers; thresholds and their defaults in\n"
    "docs/validate.md (override them in a flat YAML file).  The verdict and the\n"
    "stage it leaves the study at (a pass promotes backtest -> paper) are stored\n"
    "with the study unless --dry-run.\n"
    "Example:\n"
    "  qtune gate --study-name hg --baseline defaults --thresholds gate.yaml\n"
    "Exit status: 0 every check passes, 1 a check fails, 2 error.\n";

/* The best trial's out-of-sample metrics from the stored holdout, or NULL. */
static char *oos_metrics(qt_study *st, int64_t number) {
  char *hb = malloc((size_t)1 << 20), *out = NULL;
  if (!hb || qt_holdout_load(st, hb, (size_t)1 << 20, NULL)) {
    free(hb);
    return NULL;
  }
  json_t *h = json_loads(hb, 0, NULL), *t;
  size_t i;
  json_array_foreach(json_object_get(h, "trials"), i, t) {
    if (json_integer_value(json_object_get(t, "number")) != number) continue;
    json_t *o = json_object_get(t, "oos");
    if (json_is_object(o)) out = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
  }
  json_decref(h);
  free(hb);
  return out;
}

/* The metrics of params x (internal form) through the study's objective. */
static char *eval_metrics(const qt_study_rerun *x, const qt_space *sp, const double *xv,
                          qt_err *e) {
  size_t nd = qt_space_n(sp);
  double *u = calloc(nd + 1, sizeof *u);
  void *w = NULL;
  char *out = NULL;
  qt_metric_set ms;
  qt_metric_set_init(&ms);
  if (!u) goto done;
  for (size_t k = 0; k < nd; k++) u[k] = qt_space_to_user(sp, k, xv[k]);
  if (x->obj.vt->worker_new(x->obj.shared, &w, e)) goto done;
  if (x->obj.vt->eval(w, sp, xv, u, 0, &ms, e)) goto done;
  json_t *o = json_object();
  for (size_t i = 0; i < ms.n; i++) json_object_set_new(o, ms.v[i].name, json_real(ms.v[i].value));
  out = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
  json_decref(o);
done:
  if (w) x->obj.vt->worker_free(w);
  qt_metric_set_fini(&ms);
  free(u);
  return out;
}

/* The baseline's metrics: "defaults", a params file, or another study's best. */
static char *baseline_metrics(qt_study *st, const char *base, const char *url, char *desc,
                              size_t dcap, qt_err *e) {
  struct stat sb;
  int is_file = strcmp(base, "defaults") && stat(base, &sb) == 0 && S_ISREG(sb.st_mode);
  if (strcmp(base, "defaults") && !is_file) {
    qt_study *b = NULL;
    if (cli_study_open_ro(base, url, &b, e)) return NULL;
    long bi = qt_study_best(b);
    char *out = NULL;
    const char *pa = qt_study_pinned(st), *pb = qt_study_pinned(b);
    json_t *ja = json_loads(pa ? pa : "{}", 0, NULL), *jb = json_loads(pb ? pb : "{}", 0, NULL);
    const char *da = json_string_value(json_object_get(ja, "data"));
    const char *db = json_string_value(json_object_get(jb, "data"));
    if (bi < 0) {
      qt_err_set(e, QT_ESTATE, "baseline study '%s' has no feasible complete trial", base);
    } else if (!da || !db || strcmp(da, db)) {
      qt_err_set(e, QT_EINVAL, "baseline study '%s' ran on other data (%s) than '%s' (%s)", base,
                 db ? db : "none pinned", qt_study_name(st), da ? da : "none pinned");
    } else {
      qt_trial_info ti;
      qt_study_trial_info(b, (size_t)bi, &ti);
      out = strdup(ti.metrics_json ? ti.metrics_json : "{}");
      snprintf(desc, dcap, "study %s (trial %lld)", base, (long long)ti.number);
    }
    json_decref(ja);
    json_decref(jb);
    qt_study_free(b);
    return out;
  }
  qt_study_rerun x;
  if (qt_study_rerun_open(st, &x, e)) {
    qt_err_prefix(e, "gate: the baseline runs on the study's market, which cannot be rebuilt");
    return NULL;
  }
  const qt_space *sp = qt_study_space(st);
  size_t nd = qt_space_n(sp);
  double *xv = calloc(nd + 1, sizeof *xv), *p = calloc(x.strategy->n_params + 1, sizeof *p);
  char *out = NULL;
  if (!xv || !p) goto done;
  for (size_t k = 0; k < nd; k++) xv[k] = qt_space_to_internal(sp, k, qt_space_dim(sp, k)->def);
  if (is_file) {
    qt_strategy_defaults(x.strategy, p);
    if (qt_params_parse_file(x.strategy, base, p, NULL, e)) goto done;
    for (size_t k = 0; k < nd; k++)
      for (size_t i = 0; i < x.strategy->n_params; i++)
        if (!strcmp(x.strategy->params[i].name, qt_space_dim(sp, k)->name))
          xv[k] = x.strategy->params[i].type == QT_PARAM_CAT ? p[i]
                                                             : qt_space_to_internal(sp, k, p[i]);
    snprintf(desc, dcap, "params file %s", base);
  } else {
    snprintf(desc, dcap, "defaults (the strategy's default params)");
  }
  out = eval_metrics(&x, sp, xv, e);
done:
  free(xv);
  free(p);
  qt_study_rerun_close(&x);
  return out;
}

static size_t pin_symbols(const qt_study *st) {
  json_t *p = json_loads(qt_study_pinned(st) ? qt_study_pinned(st) : "{}", 0, NULL);
  const char *s = json_string_value(json_object_get(p, "symbol"));
  size_t n = 0;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s ? s : "");
  char *save = NULL;
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    size_t l = strlen(t);
    if (l < 2 || strcmp(t + l - 2, ".B")) n++; /* "<S>.B" is S's second venue */
  }
  json_decref(p);
  return n ? n : 1;
}

int cmd_gate(int argc, char **argv) {
  const char *name = NULL, *url = NULL, *base = "defaults", *thr_file = NULL;
  int as_json = 0, dry = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int sel;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(k_help, stdout);
      cli_print_storage_default();
      return CLI_OK;
    } else if (!strcmp(a, "--json")) {
      as_json = 1;
    } else if (!strcmp(a, "--dry-run")) {
      dry = 1;
    } else if ((sel = cli_study_parse_arg(&url, &name, argc, argv, &i)) != 0) {
      if (sel != 1) return CLI_ERROR;
    } else if (!strcmp(a, "--baseline") || !strcmp(a, "--thresholds")) {
      const char *v = cli_opt_val(argc, argv, &i);
      if (!v) return CLI_ERROR;
      if (!strcmp(a, "--baseline")) base = v;
      else thr_file = v;
    } else {
      return cli_failf("gate: unknown option '%s' (see qtune gate --help)", a);
    }
  }
  if (!name) return cli_failf("gate: --study-name is required");
  qt_gate_thresholds t = qt_gate_thresholds_default();
  qt_err e;
  if (thr_file) {
    size_t len;
    char *text = cli_read_file(thr_file, &len, &e);
    if (!text) return cli_fail(&e);
    int r = qt_gate_thresholds_load(text, len, thr_file, &t, &e);
    free(text);
    if (r) return cli_fail(&e);
  }
  qt_study *st = NULL;
  if (cli_study_open_ro(name, url, &st, &e)) return cli_fail(&e);
  int rc = CLI_ERROR;
  char *cand = NULL, *oos = NULL, *basem = NULL, *buf = NULL, desc[1200] = "";
  long best = qt_study_best(st);
  if (best < 0) {
    rc = cli_failf("gate: study '%s' has no feasible complete trial to promote", name);
    goto done;
  }
  qt_trial_info ti;
  qt_study_trial_info(st, (size_t)best, &ti);
  cand = strdup(ti.metrics_json ? ti.metrics_json : "{}");
  oos = oos_metrics(st, ti.number);
  if (!(basem = baseline_metrics(st, base, url, desc, sizeof desc, &e))) goto fail_e;
  qt_gate_input in = {cand, basem, oos, desc, pin_symbols(st)};
  size_t cap = (size_t)1 << 20;
  int pass = 0;
  if (!(buf = malloc(cap))) {
    rc = cli_failf("gate: out of memory");
    goto done;
  }
  if (qt_gate_evaluate(&in, &t, buf, cap, &pass, &e)) goto fail_e;
  qt_storage *s = qt_study_storage(st);
  qt_study_rec rec;
  memset(&rec, 0, sizeof rec);
  char stage[16];
  qt_gate_rec g;
  memset(&g, 0, sizeof g);
  if (s->vt->study_load(s->self, name, &rec, &e)) goto fail_e;
  int64_t sid = rec.id;
  qt_study_rec_fini(&rec);
  if (qt_gate_stage(s, sid, stage, sizeof stage, &e)) goto fail_e;
  if (!dry) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (qt_gate_record(s, sid, pass, stage, buf, now, &g, &e)) goto fail_e;
  } else {
    snprintf(g.stage_from, sizeof g.stage_from, "%s", stage);
    snprintf(g.stage_to, sizeof g.stage_to, "%s", stage);
  }
  if (as_json) {
    printf("{\"study\": \"%s\", \"best_trial\": %lld, \"stage_from\": \"%s\", \"stage_to\": \"%s\", "
           "\"recorded\": %s, \"gate\": %s}\n",
           qt_study_name(st)[strcspn(qt_study_name(st), "\"\\")] ? "?" : qt_study_name(st),
           (long long)ti.number, g.stage_from, g.stage_to, dry ? "false" : "true", buf);
  } else {
    printf("study %s, best trial %lld\n", name, (long long)ti.number);
    if (qt_gate_write_table(buf, stdout, &e)) goto fail_e;
    printf("stage: %s -> %s%s\n", g.stage_from, g.stage_to, dry ? " (dry run: not recorded)" : "");
  }
  rc = pass ? CLI_OK : 1;
  goto done;
fail_e:
  rc = cli_fail(&e);
done:
  free(cand);
  free(oos);
  free(basem);
  free(buf);
  qt_study_free(st);
  return rc;
}
