/* qtune optimize: wiring of a study.  Options come from the command line
 * and/or a YAML config holding the same keys (the command line wins); the
 * objective is a built-in strategy backtest over market data loaded once, an
 * external command, or (for tests) a benchmark function. */
#include "cli/cmd_study.h"
#include "cli/cmd_trial.h"
#include "cli/commands.h"
#include "cli/market.h"
#include "cli/util.h"
#include "qtune/strategies.h"
#include "qtune/validate.h"

#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

static volatile int g_stop;
static volatile sig_atomic_t g_sig; /* the signal that stopped the run, 0 */
static struct timespec g_sig_at;    /* when it came (CLOCK_MONOTONIC) */

/* SIGINT, SIGTERM (timeout, systemd, containers) and SIGHUP all stop the run
 * the same way: no new trial starts, the running ones finish and are stored,
 * and the command exits 128 + the signal number with the study resumable.
 * A second signal aborts, but only a second later: `timeout` sends its
 * signal to the process and then to its process group, so one stop often
 * arrives twice within microseconds. */
static void on_stop_signal(int sig) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (g_stop) {
    double dt = (double)(now.tv_sec - g_sig_at.tv_sec) + (now.tv_nsec - g_sig_at.tv_nsec) / 1e9;
    if (dt < 1.0) return; /* the same stop, delivered twice */
    signal(sig, SIG_DFL); /* abort: stale trials are recovered later */
    raise(sig);
    return;
  }
  g_stop = 1;
  g_sig = sig;
  g_sig_at = now;
  static const char m_int[] =
      "\nqtune: interrupted: finishing the running trials (Ctrl-C again to abort)\n";
  static const char m_term[] =
      "\nqtune: SIGTERM: finishing the running trials (a second signal aborts)\n";
  static const char m_hup[] =
      "\nqtune: SIGHUP: finishing the running trials (a second signal aborts)\n";
  const char *m = sig == SIGTERM ? m_term : sig == SIGHUP ? m_hup : m_int;
  size_t n = sig == SIGTERM ? sizeof m_term : sig == SIGHUP ? sizeof m_hup : sizeof m_int;
  ssize_t w = write(2, m, n - 1);
  (void)w;
}

typedef struct opt_args {
  const char *strategy, *trials, *jobs, *sampler, *study, *storage, *seed, *space;
  const char *objective, *direction, *weights, *constraints, *cmd, *trial_timeout;
  const char *retries, *best_out, *timeout, *function, *params, *lease;
  const char *sampler_opts, *search;
  const char *holdout, *test_from, *holdout_top; /* out of sample after the search */
  const char *pruner, *pruner_opts, *report_every; /* pruning over the data */
  char tags[1024];             /* --tag K=V, repeated: joined with ',' */
  const char *regime; /* --regime R: trials scored on that regime's bars only */
  const char *aggregate; /* --aggregate mean|median|min over --symbol A,B,.. */
  int lenient, deterministic, quiet;
  qt_market_opts mo;
  qt_engine_opts eo;           /* the backtest settings, range-checked as parsed */
  const qt_strategy_vtbl *strat; /* resolved before parsing: its parameter flags */
  double *fix_p;               /* params fixed by --params and parameter flags */
  unsigned char *fix_set;
} opt_args;

static const char k_help[] =
    "usage: qtune optimize (--strategy NAME MARKET | --objective-cmd CMD --space FILE)\n"
    "                      [options] | --config FILE.yaml [options]\n"
    "Runs (or resumes) a study: asks the sampler for params, runs the objective,\n"
    "stores every trial (params, raw metrics, score, constraint violations).\n"
    "Example:\n"
    "  qtune optimize --strategy sma_cross --catalog cat --symbol BTCUSDT --trials 100 \\\n"
    "      --study-name sma1 --best-out sma1.yaml\n"
    "Exit status: 0 ok, 2 error; after SIGINT (Ctrl-C), SIGTERM or SIGHUP the\n"
    "running trials finish, the best so far is written and the exit status is\n"
    "128 + the signal (130, 143, 129); the study resumes with the same command.\n"
    "\n"
    "objective:\n"
    "  --strategy NAME        strategy backtest: a built-in (qtune strategies) or a\n"
    "                         plugin .so path\n"
    "  --objective-cmd CMD    run `sh -c CMD` per trial: params JSON on stdin, a JSON\n"
    "                         object of metrics on stdout (needs --space, --objective)\n"
    "  --trial-timeout SEC    kill the command's process group after SEC (default none)\n"
    "  --objective NAME       a metric to optimize, or `score` (default for strategies);\n"
    "                         2 or 3 metrics a,b[,c]: several objectives, a Pareto\n"
    "                         front (sampler nsgaii or motpe; docs/multiobjective.md)\n"
    "  --direction D          maximize (default) | minimize; one per objective, e.g.\n"
    "                         maximize,minimize\n"
    "  --weights W            score weights, default\n"
    "                         sharpe=0.3,total_profit=0.25,calmar=0.25,max_drawdown=-0.2\n"
    "  --constraints C        hard constraints, default for strategies: sharpe>=1.0,\n"
    "                         max_drawdown<=0.20,trades>=50,win_rate>=0.45,\n"
    "                         profit_factor>=1.1,calmar>=0.5 (`none`: no constraints)\n"
    "  --lenient              constraints become penalties (docs/studies.md)\n"
    "study:\n"
    "  --study-name S         default: the strategy name (or `study`); same name resumes\n"
    "  --storage URL          default $QTUNE_STORAGE, else " QT_STORAGE_DEFAULT_URL "\n"
    "                         (./qtune.db); now %s\n"
    "  --sampler S            one of the samplers below (default tpe, or the study's)\n"
    "  --sampler-opts K=V,..  sampler options (docs/optimizer.md), e.g.\n"
    "                         multivariate=1 or n_ei_candidates=24 (Optuna's)\n"
    "  --space FILE           YAML search space overlay (narrow, fix, add dimensions)\n"
    "  --search listed|all    with --space: search only the params it lists (the others\n"
    "                         stay at their defaults) or all; default listed for grid,\n"
    "                         all for the other samplers\n"
    "  --seed N               study seed (default 0)\n"
    "  --pruner P             stop unpromising trials early on intermediate values:\n"
    "                         median, percentile, sha, hyperband (docs/pruning.md)\n"
    "  --pruner-opts K=V,..   e.g. n_startup_trials=5, min_resource=1,\n"
    "                         reduction_factor=3 (Optuna's names)\n"
    "  --report-every F       backtest checkpoints every F of the bars (default 0.1\n"
    "                         with a pruner)\n"
    "  --tag KEY=VALUE        a tag on the study (repeatable; kept in its config)\n"
    "  --trials N             trials this run starts (default 100; retries not counted)\n"
    "  --timeout SEC          stop starting trials after SEC\n"
    "  --jobs N               worker threads (default: all cores)\n"
    "  --retries N            re-runs of a failed trial's params (default 0)\n"
    "  --lease SEC            a running trial whose worker stops heartbeating for SEC\n"
    "                         (killed, paused, cut off) is failed by another worker and\n"
    "                         its params run again once (default 60; >= 3)\n"
    "  --deterministic        batches of --jobs: same seed, same trials\n"
    "  --best-out FILE        best params as YAML (default <study>_best.yaml)\n"
    "  --quiet                no progress display\n"
    "  --holdout P            search the first part, then test the best and the top N on\n"
    "                         the last P of the bars (25%% or 0.25; earlier bars warm up)\n"
    "  --test-from T          the same, out of sample from time T\n"
    "  --holdout-top N        trials tested out of sample (default 10)\n"
    "  --symbol A,B,C         every trial runs on each symbol (docs/symbols.md)\n"
    "  --aggregate A          mean (default), median or min of the symbols' metrics\n"
    "  --regime R             score trials on the bars of one regime: trend-up,\n"
    "                         trend-down, range, high-volatility (qtune regimes)\n"
    "  --config FILE.yaml     any of the keys above (without --, `_` or `-`), also\n"
    "                         n_trials, n_jobs, sampler: {name, seed, options},\n"
    "                         objective: {metric: weight}, constraints: {min_X: v}\n"
    "parameters:\n"
    "  --params k=v,...|FILE  fix these parameters (not searched); a list or a params\n"
    "                         file (flat YAML map or JSON object); a strategy's\n"
    "                         parameter flags (below) fix one parameter each\n"
    "backtest:\n";

/* ---- YAML config: a flat map of option names to values ---- */
typedef struct argvec {
  char **v;
  int n, cap;
} argvec;

static int av_push(argvec *a, const char *s) {
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

static void av_free(argvec *a) {
  for (int i = 0; i < a->n; i++) free(a->v[i]);
  free(a->v);
}

/* The options that take a value (parse_args and the config's key check). */
#define O(n, f) {n, offsetof(opt_args, f)}
static const struct { const char *name; size_t off; } k_vals[] = {
    O("--strategy", strategy),     O("--trials", trials),
    O("--jobs", jobs),             O("--sampler", sampler),
    O("--study-name", study),      O("--storage", storage),
    O("--seed", seed),             O("--space", space),
    O("--objective", objective),   O("--direction", direction),
    O("--weights", weights),       O("--constraints", constraints),
    O("--objective-cmd", cmd),     O("--trial-timeout", trial_timeout),
    O("--retries", retries),       O("--best-out", best_out),
    O("--timeout", timeout),       O("--function", function),     O("--lease", lease),
    O("--params", params),         O("--sampler-opts", sampler_opts),
    O("--search", search),         O("--holdout", holdout),
    O("--test-from", test_from),   O("--holdout-top", holdout_top),
    O("--pruner", pruner),         O("--pruner-opts", pruner_opts),
    O("--report-every", report_every),
    O("--regime", regime),         O("--aggregate", aggregate),
};
#undef O
#define F(n, f) {n, offsetof(opt_args, f)}
static const struct { const char *name; size_t off; } k_flags[] = {
    F("--lenient", lenient),       F("--deterministic", deterministic),
    F("--quiet", quiet),
};
#undef F
/* The tuning guide's (Optuna's) key spellings: alias -> option. */
static const struct { const char *alias, *opt; } k_key_alias[] = {
    {"n-trials", "trials"}, {"n-jobs", "jobs"}, {"study", "study-name"}, {"name", "study-name"},
};

static int is_flag_key(const char *k) {
  char opt[140];
  snprintf(opt, sizeof opt, "--%s", k);
  for (size_t i = 0; i < sizeof k_flags / sizeof k_flags[0]; i++)
    if (!strcmp(k_flags[i].name, opt)) return 1;
  return cli_settings_is_flag(opt);
}

/* 1 when "--key" is an option of optimize (its own or a market option). */
static int is_option_key(const char *k) {
  if (is_flag_key(k)) return 1;
  char opt[140];
  snprintf(opt, sizeof opt, "--%s", k);
  for (size_t i = 0; i < sizeof k_vals / sizeof k_vals[0]; i++)
    if (!strcmp(k_vals[i].name, opt)) return 1;
  qt_market_opts mo = qt_market_opts_default();
  qt_engine_opts eo = qt_engine_opts_default();
  char zero[] = "0", *av[] = {opt, zero, NULL};
  int i = 0;
  if (qt_engine_opts_set(&eo, opt, NULL, NULL) != QT_ENOTFOUND) return 1;
  if (cli_params_is_flag(opt)) return 1;
  return cli_market_parse_arg(&mo, 2, av, &i) == 1;
}

/* The config key suggestions: the options as a config spells them (with _). */
static void key_suggest(const char *key, char *buf, size_t cap) {
  const char *names[64];
  char store[64][40];
  size_t n = 0;
  for (size_t i = 0; i < sizeof k_vals / sizeof k_vals[0] && n < 64; i++)
    snprintf(store[n], sizeof store[n], "%s", k_vals[i].name + 2), n++;
  for (size_t i = 0; i < sizeof k_flags / sizeof k_flags[0] && n < 64; i++)
    snprintf(store[n], sizeof store[n], "%s", k_flags[i].name + 2), n++;
  /* the market options and backtest settings, as their help lists them */
  const char *helps[] = {cli_market_help(), cli_settings_help()};
  for (size_t hk = 0; hk < 2; hk++)
    for (const char *h = helps[hk]; (h = strstr(h, "--")) != NULL && n < 64;) {
      size_t l = strspn(h + 2, "abcdefghijklmnopqrstuvwxyz-");
      if (l && l < sizeof store[n]) snprintf(store[n], sizeof store[n], "%.*s", (int)l, h + 2), n++;
      h += 2 + l;
    }
  for (size_t i = 0; i < sizeof k_key_alias / sizeof k_key_alias[0] && n < 64; i++)
    snprintf(store[n], sizeof store[n], "%s", k_key_alias[i].alias), n++;
  for (size_t i = 0; i < n; i++) {
    for (char *c = store[i]; *c; c++)
      if (*c == '-') *c = '_';
    names[i] = store[i];
  }
  qt_names_nearest(key, names, n, buf, cap);
}

static int cfg_push(argvec *av, const char *key, const char *val) {
  char opt[140];
  snprintf(opt, sizeof opt, "--%s", key);
  return av_push(av, opt) || (val && av_push(av, val));
}

/* Joins a mapping node as "k=v,..." (or "k<op>v" when the value starts with
 * an operator) into buf; skip_a/skip_b are keys handled elsewhere. */
static int join_map(yaml_document_t *d, yaml_node_t *n, const char *skip_a, const char *skip_b,
                    char *buf, size_t cap) {
  size_t used = 0;
  buf[0] = 0;
  for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = yaml_document_get_node(d, pr->key), *v = yaml_document_get_node(d, pr->value);
    if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE) return (int)k->start_mark.line + 1;
    const char *ks = (const char *)k->data.scalar.value, *vs = (const char *)v->data.scalar.value;
    if ((skip_a && !strcmp(ks, skip_a)) || (skip_b && !strcmp(ks, skip_b))) continue;
    int op = vs[0] == '>' || vs[0] == '<';
    used += (size_t)snprintf(buf + used, used < cap ? cap - used : 0, "%s%s%s%s", used ? "," : "",
                             ks, op ? "" : "=", vs);
  }
  return 0;
}

static const char *map_get(yaml_document_t *d, yaml_node_t *n, const char *key) {
  for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = yaml_document_get_node(d, pr->key), *v = yaml_document_get_node(d, pr->value);
    if (k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
        !strcmp((const char *)k->data.scalar.value, key))
      return (const char *)v->data.scalar.value;
  }
  return NULL;
}

/* Appends "--key value" pairs of the YAML file to av.  Keys are option
 * names (`_` or `-`) or the tuning guide's spellings (n_trials, n_jobs);
 * sequences join with ','; maps as k=v (k<op>v when the value starts with an
 * operator), except `sampler: {name, seed, other options}` and `objective:
 * {metric: weight}` (the weighted score).  An unknown key fails naming the
 * file, its line and the nearest keys. */
static int config_args(const char *path, argvec *av) {
  qt_err e;
  size_t len;
  char *text = cli_read_file(path, &len, &e);
  if (!text) return cli_fail(&e);
  yaml_document_t d;
  int rc = CLI_ERROR, have_doc = 0;
  char joined[4096];
  if (qt_yaml_load(text, len, path, &d, &e)) {
    cli_fail(&e);
    goto done;
  }
  have_doc = 1;
  yaml_node_t *root = yaml_document_get_root_node(&d);
  if (!root) {
    rc = CLI_OK; /* empty file */
    goto done;
  }
  if (root->type != YAML_MAPPING_NODE) {
    cli_failf("%s: the config must be a map of option: value", path);
    goto done;
  }
  for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
       pr++) {
    yaml_node_t *kn = yaml_document_get_node(&d, pr->key), *vn = yaml_document_get_node(&d, pr->value);
    size_t line = kn->start_mark.line + 1;
    if (kn->type != YAML_SCALAR_NODE) {
      cli_failf("%s:%zu: a key must be a plain name", path, line);
      goto done;
    }
    const char *raw = (const char *)kn->data.scalar.value;
    char key[128];
    snprintf(key, sizeof key, "%s", raw);
    for (char *c = key; *c; c++)
      if (*c == '_') *c = '-';
    for (size_t i = 0; i < sizeof k_key_alias / sizeof k_key_alias[0]; i++)
      if (!strcmp(key, k_key_alias[i].alias)) snprintf(key, sizeof key, "%s", k_key_alias[i].opt);
    if (!is_option_key(key) || !strcmp(key, "config")) {
      char near[160];
      key_suggest(raw, near, sizeof near);
      cli_failf("%s:%zu: key '%s': unknown%s%s%s", path, line, raw, *near ? " (did you mean " : "",
                near, *near ? "?)" : " (qtune optimize --help lists the options)");
      goto done;
    }
    int bad = 0;
    if (vn->type == YAML_SCALAR_NODE) {
      const char *s = (const char *)vn->data.scalar.value;
      if (is_flag_key(key)) {
        if ((!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "1")) && cfg_push(av, key, NULL))
          goto oom;
      } else if (cfg_push(av, key, s)) {
        goto oom;
      }
    } else if (vn->type == YAML_SEQUENCE_NODE) {
      size_t used = 0;
      joined[0] = 0;
      for (yaml_node_item_t *it = vn->data.sequence.items.start; it < vn->data.sequence.items.top;
           it++) {
        yaml_node_t *v = yaml_document_get_node(&d, *it);
        if (v->type != YAML_SCALAR_NODE) {
          bad = (int)v->start_mark.line + 1;
          break;
        }
        used += (size_t)snprintf(joined + used, used < sizeof joined ? sizeof joined - used : 0,
                                 "%s%s", used ? "," : "", (const char *)v->data.scalar.value);
      }
      if (!bad && cfg_push(av, key, joined)) goto oom;
    } else if (!strcmp(key, "sampler")) {
      /* sampler: {name: tpe, seed: 42, n_startup_trials: 10} */
      const char *nm = map_get(&d, vn, "name"), *seed = map_get(&d, vn, "seed");
      if ((nm && cfg_push(av, "sampler", nm)) || (seed && cfg_push(av, "seed", seed))) goto oom;
      if (!(bad = join_map(&d, vn, "name", "seed", joined, sizeof joined)) && *joined &&
          cfg_push(av, "sampler-opts", joined))
        goto oom;
    } else if (!strcmp(key, "objective")) {
      /* objective: {sharpe_ratio: 0.3, ...}: the weights of the score */
      if (!(bad = join_map(&d, vn, NULL, NULL, joined, sizeof joined)) &&
          (cfg_push(av, "objective", "score") || cfg_push(av, "weights", joined)))
        goto oom;
    } else if (!(bad = join_map(&d, vn, NULL, NULL, joined, sizeof joined))) {
      if (cfg_push(av, key, joined)) goto oom;
    }
    if (bad) {
      cli_failf("%s:%d: '%s': nested too deep (values of a map or list are plain)", path, bad, raw);
      goto done;
    }
  }
  rc = CLI_OK;
  goto done;
oom:
  cli_failf("%s: out of memory", path);
done:
  if (have_doc) yaml_document_delete(&d);
  free(text);
  return rc;
}

/* ---- arguments ---- */
static int parse_args(opt_args *a, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    int mr = cli_market_parse_arg(&a->mo, argc, argv, &i);
    if (mr == 0) mr = cli_settings_parse_arg(&a->eo, argc, argv, &i);
    if (mr == 0) mr = cli_params_parse_flag(a->strat, argc, argv, &i, a->fix_p, a->fix_set);
    if (mr == 1) continue;
    if (mr == CLI_ERROR) return CLI_ERROR;
    int hit = 0;
    if (!strcmp(s, "--tag")) { /* repeatable: the tags join */
      if (i + 1 >= argc) return cli_failf("--tag needs a value");
      size_t n = strlen(a->tags);
      if (n + strlen(argv[i + 1]) + 2 > sizeof a->tags)
        return cli_failf("--tag: more than %zu bytes of tags", sizeof a->tags - 1);
      snprintf(a->tags + n, sizeof a->tags - n, "%s%s", n ? "," : "", argv[++i]);
      continue;
    }
    for (size_t k = 0; k < sizeof k_vals / sizeof k_vals[0] && !hit; k++) {
      if (strcmp(s, k_vals[k].name) != 0) continue;
      if (i + 1 >= argc) return cli_failf("%s needs a value", s);
      *(const char **)((char *)a + k_vals[k].off) = argv[++i];
      hit = 1;
    }
    for (size_t k = 0; k < sizeof k_flags / sizeof k_flags[0] && !hit; k++)
      if (!strcmp(s, k_flags[k].name)) *(int *)((char *)a + k_flags[k].off) = hit = 1;
    if (hit) continue;
    return cli_failf("optimize: unknown option '%s' (qtune optimize --help)", s);
  }
  return CLI_OK;
}

static int parse_count(const char *opt, const char *s, long lo, long *out) {
  if (cli_parse_long(opt, s, out)) return CLI_ERROR;
  if (*out < lo) return cli_failf("%s: must be >= %ld", opt, lo);
  return CLI_OK;
}

/* "k=v,k=v" into kv (cap entries + the NULL end), splitting buf in place;
 * the sampler checks the keys and values. */
static int parse_kv_list(char *buf, qt_kv *kv, size_t cap) {
  size_t n = 0;
  char *save = NULL;
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(t, '=');
    if (!eq || eq == t || !eq[1]) return cli_failf("--sampler-opts: '%s': expected KEY=VALUE", t);
    if (n == cap) return cli_failf("--sampler-opts: more than %zu options", cap);
    *eq = 0;
    kv[n].key = t;
    kv[n++].val = eq + 1;
  }
  kv[n].key = kv[n].val = NULL;
  return CLI_OK;
}

/* The sampler options in effect as "k=v,...": the given ones, else a
 * resumed study's stored ones. */
static void stored_opts_text(const opt_args *a, const qt_study *st, char *buf, size_t cap) {
  snprintf(buf, cap, "%s", a->sampler_opts ? a->sampler_opts : "");
  if (a->sampler_opts || qt_study_created(st) || !qt_study_config_json(st)) return;
  json_t *c = json_loads(qt_study_config_json(st), 0, NULL);
  const char *k;
  json_t *v;
  size_t n = 0;
  json_object_foreach(json_object_get(c, "sampler_opts"), k, v) {
    if (n < cap)
      n += (size_t)snprintf(buf + n, cap - n, "%s%s=%s", n ? "," : "", k,
                            json_string_value(v) ? json_string_value(v) : "?");
  }
  json_decref(c);
}

/* ---- progress ---- */
typedef struct prog {
  int tty;
  double last_line;
  const char *objective;
} prog;

static void fmt_dur(char *b, size_t cap, double s) {
  if (isnan(s)) snprintf(b, cap, "--:--");
  else if (s >= 3600) snprintf(b, cap, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
  else snprintf(b, cap, "%d:%02d", (int)s / 60, (int)s % 60);
}

static void on_progress(void *ud, const qt_progress *p) {
  prog *g = ud;
  char eta[32], best[48], tot[32];
  fmt_dur(eta, sizeof eta, p->eta_s);
  if (isnan(p->best)) snprintf(best, sizeof best, "-");
  else snprintf(best, sizeof best, "%.5g (#%lld)", p->best, (long long)p->best_number);
  if (p->total) snprintf(tot, sizeof tot, "%zu", p->total);
  else snprintf(tot, sizeof tot, "?");
  if (g->tty) {
    char bar[31];
    int w = p->total ? (int)(30.0 * (double)p->done / (double)p->total) : 0;
    w = w > 30 ? 30 : w;
    memset(bar, '#', (size_t)w);
    memset(bar + w, '.', (size_t)(30 - w));
    bar[30] = 0;
    fprintf(stderr, "\r[%s] %zu/%s  %.1f trials/s  best %s %s  ETA %s \x1b[K", bar, p->done, tot,
            p->trials_per_s, g->objective, best, eta);
    fflush(stderr);
  } else if (p->elapsed_s - g->last_line >= 5 || (p->total && p->done == p->total)) {
    g->last_line = p->elapsed_s;
    fprintf(stderr, "optimize: %zu/%s trials, %zu failed, %zu rejected, %zu pruned, %zu infeasible, %.1f trials/s, best %s %s, eta %s\n",
            p->done, tot, p->failed, p->rejected, p->pruned, p->infeasible, p->trials_per_s, g->objective, best, eta);
  }
}

/* The extra config stored with a new study (what produced its trials). */
static char *user_config(const opt_args *a) {
  json_t *o = json_object();
  if (a->strategy) json_object_set_new(o, "strategy", json_string(a->strategy));
  if (a->cmd) json_object_set_new(o, "objective_cmd", json_string(a->cmd));
  if (a->function) json_object_set_new(o, "function", json_string(a->function));
  if (a->mo.catalog) json_object_set_new(o, "catalog", json_string(a->mo.catalog));
  if (a->mo.n_symbols) json_object_set_new(o, "symbol", json_string(a->mo.symbols[0]));
  if (a->mo.data) json_object_set_new(o, "data", json_string(a->mo.data));
  if (a->mo.from) json_object_set_new(o, "from", json_string(a->mo.from));
  if (a->mo.to) json_object_set_new(o, "to", json_string(a->mo.to));
  if (a->holdout) json_object_set_new(o, "holdout", json_string(a->holdout));
  if (a->test_from) json_object_set_new(o, "test_from", json_string(a->test_from));
  if (a->regime) json_object_set_new(o, "regime", json_string(a->regime));
  if (a->space && a->search) /* which params the space file made the study search */
    json_object_set_new(o, "search", json_string(a->search));
  char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  return s;
}

/* --regime is part of what a study runs on: a resume with another is refused. */
static int pin_add(char *pin, size_t cap, const char *key, const char *value) {
  json_t *o = json_loads(pin, 0, NULL);
  if (!o) return -1;
  json_object_set_new(o, key, json_string(value));
  char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
  json_decref(o);
  int bad = !s || strlen(s) >= cap;
  if (!bad) strcpy(pin, s);
  free(s);
  return bad ? -1 : 0;
}

/* Fixes each parameter given by --params or a parameter flag: an overlay
 * `name: value` through the space's own path, so the study stores it. */
static int fix_params(const opt_args *a, qt_space *sp, qt_err *e) {
  for (size_t k = 0; k < a->strat->n_params; k++) {
    if (!a->fix_set[k]) continue;
    const qt_param_spec *ps = &a->strat->params[k];
    char y[512];
    if (ps->type == QT_PARAM_CAT)
      snprintf(y, sizeof y, "%s: \"%s\"\n", ps->name, ps->choices[(size_t)a->fix_p[k]]);
    else if (ps->type == QT_PARAM_BOOL)
      snprintf(y, sizeof y, "%s: %s\n", ps->name, a->fix_p[k] ? "true" : "false");
    else
      snprintf(y, sizeof y, "%s: %.17g\n", ps->name, a->fix_p[k]);
    if (qt_space_apply_yaml(sp, y, "--params", a->strat->params, a->strat->n_params, e))
      return e->code;
  }
  return QT_OK;
}

/* A resumed study must run on what it was created on: one line per
 * difference, else trials of different markets or costs would be ranked
 * together.  A study from before pins existed resumes with a warning. */
static int check_pin(const qt_study *st, const char *pin) {
  const char *was = qt_study_pinned(st);
  if (!was) {
    fprintf(stderr, "qtune: warning: study '%s' has no record of its market, costs and goal "
                    "(created by an older qtune); resuming without checking them\n",
            qt_study_name(st));
    return CLI_OK;
  }
  char lines[4096];
  size_t n;
  qt_err e;
  if (qt_study_pin_diff(was, pin, lines, sizeof lines, &n, &e)) return cli_fail(&e);
  if (n == 0) return CLI_OK;
  size_t len = strlen(lines);
  if (len && lines[len - 1] == '\n') lines[len - 1] = 0;
  fprintf(stderr, "qtune: study '%s' was run on other settings (%zu difference%s, stored -> "
                  "given); give the same ones or another --study-name:\n",
          qt_study_name(st), n, n == 1 ? "" : "s");
  for (char *l = lines, *nl; *l; l = nl ? nl + 1 : l + strlen(l)) {
    nl = strchr(l, '\n');
    if (nl) *nl = 0;
    fprintf(stderr, "  %s\n", l);
  }
  return CLI_ERROR;
}

/* The holdout after the search: the library runs the top N on the held-out
 * bars, stores the result with the study and writes its table. */
static int run_holdout(qt_study *st, const qt_objective *oos, const qt_holdout_split *hs,
                       long top, qt_err *e) {
  size_t cap = (size_t)1 << 20;
  char *buf = malloc(cap);
  if (!buf) return qt_err_set(e, QT_ENOMEM, "holdout: out of memory");
  qt_holdout_opts ho = qt_holdout_opts_default();
  ho.top_n = (size_t)top;
  int r = qt_holdout_run(st, oos, hs, &ho, buf, cap, e);
  if (!r) r = qt_holdout_store(st, buf, e);
  if (!r) r = qt_holdout_write_table(buf, stdout, e);
  free(buf);
  return r;
}

int cmd_optimize(int argc, char **argv) {
  opt_args a;
  memset(&a, 0, sizeof a);
  a.mo = qt_market_opts_default();
  a.eo = qt_engine_opts_default();
  argvec av = {0};
  int rc = CLI_ERROR;
  qt_err e;
  qt_space *sp = NULL;
  qt_study *st = NULL;
  qt_objective obj = {0};
  qt_market mk, mk_oos; /* mk_oos: the whole market, held-out bars included */
  int have_market = 0, have_oos = 0;
  qt_objective oos = {0};
  qt_pruner *pruner = NULL;
  double report_every = 0;
  qt_holdout_split hs;
  long hold_top = 10;
  char split_to[40];
  char desc[512];
  /* several symbols (--symbol A,B): the objective owns their markets */
  const qt_feed *sym_feeds = NULL;
  size_t sym_n = 0, sym_from = 0;
  const char *sym_agg = NULL, *sym_desc = NULL;
  char *ucfg = NULL, *space_text = NULL;
  void *plugin = NULL; /* a user's strategy .so (qt_strategy_resolve) */
  char sopt_buf[512];
  qt_kv sopt[17] = {{NULL, NULL}};
  int hedge = 0;
  qt_engine_opts eo = qt_engine_opts_default();
  char pin_buf[16384]; /* the pin JSON of this run (qt_study_pin_json) */
  memset(&mk, 0, sizeof mk);
  memset(&mk_oos, 0, sizeof mk_oos);
  if (cli_wants_help(argc, argv)) {
    char names[256];
    qt_sampler_names(names, sizeof names, ", ");
    char shown[512];
    printf(k_help, qt_storage_url_redact(qt_storage_default_url(), shown, sizeof shown));
    fputs(cli_settings_help(), stdout);
    fputs("market:", stdout);
    fputs(cli_market_help(), stdout);
    printf("samplers: %s\n", names);
    cli_params_help(stdout);
    return CLI_OK;
  }
  /* argv = config pairs first, then the command line (later wins) */
  if (av_push(&av, argv[0])) goto oom;
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--config")) {
      if (i + 1 >= argc) return cli_failf("--config needs a value");
      if (config_args(argv[i + 1], &av) != CLI_OK) goto done;
      i++;
    }
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--config")) {
      i++;
      continue;
    }
    if (av_push(&av, argv[i])) goto oom;
  }
  /* the strategy first: its parameter flags are options of this command line */
  const char *sname = cli_find_strategy(av.n, av.v);
  if (sname) {
    if (!(a.strat = qt_strategy_resolve(sname, &plugin, &e))) goto fail_e;
    a.fix_p = calloc(a.strat->n_params + 1, sizeof *a.fix_p);
    a.fix_set = calloc(a.strat->n_params + 1, 1);
    if (!a.fix_p || !a.fix_set) goto oom;
    qt_strategy_defaults(a.strat, a.fix_p);
  }
  if (parse_args(&a, av.n, av.v) != CLI_OK) goto done;
  if (a.params && !a.strat) {
    rc = cli_failf("optimize: --params needs --strategy (an external objective's space is "
                   "--space FILE)");
    goto done;
  }
  if (a.params) {
    /* the flags win over --params, as in backtest */
    double *pp = calloc(a.strat->n_params + 1, sizeof *pp);
    unsigned char *ps = calloc(a.strat->n_params + 1, 1);
    int bad = !pp || !ps;
    if (!bad) {
      qt_strategy_defaults(a.strat, pp);
      bad = cli_params_parse(a.strat, a.params, pp, ps) ? 2 : 0;
      for (size_t k = 0; !bad && k < a.strat->n_params; k++)
        if (ps[k] && !a.fix_set[k]) a.fix_p[k] = pp[k], a.fix_set[k] = 1;
    }
    free(pp);
    free(ps);
    if (bad == 1) goto oom;
    if (bad) goto done;
  }

  int n_obj = !!a.strategy + !!a.cmd + !!a.function;
  if (n_obj != 1) {
    rc = cli_failf("optimize: give exactly one of --strategy, --objective-cmd (or --function)");
    goto done;
  }
  long trials = 100, jobs = 0, retries = 0, seed = 0;
  double timeout = 0, trial_timeout = 0;
  if (a.trials && parse_count("--trials", a.trials, 0, &trials)) goto done;
  if (!a.trials && a.timeout) trials = 0; /* --timeout alone: run until it */
  if (a.jobs && parse_count("--jobs", a.jobs, 1, &jobs)) goto done;
  if (jobs > QT_RUN_MAX_JOBS) {
    cli_failf("--jobs %ld: more than %d worker threads (QT_RUN_MAX_JOBS); more workers go on more"
              " machines", jobs, QT_RUN_MAX_JOBS);
    goto done;
  }
  if (a.retries && parse_count("--retries", a.retries, 0, &retries)) goto done;
  if (a.seed && parse_count("--seed", a.seed, 0, &seed)) goto done;
  if (a.timeout && (cli_parse_double("--timeout", a.timeout, &timeout) || timeout < 0)) {
    rc = cli_failf("--timeout: must be >= 0 seconds");
    goto done;
  }
  double lease = 0;
  if (a.lease && (cli_parse_double("--lease", a.lease, &lease) || !(lease >= 3))) {
    rc = cli_failf("--lease: must be >= 3 seconds (three heartbeats fit in a lease)");
    goto done;
  }
  if (a.trial_timeout &&
      (cli_parse_double("--trial-timeout", a.trial_timeout, &trial_timeout) || trial_timeout < 0)) {
    rc = cli_failf("--trial-timeout: must be >= 0 seconds");
    goto done;
  }
  int holdout = a.holdout || a.test_from;
  if (a.holdout && a.test_from) {
    rc = cli_failf("optimize: give --holdout or --test-from, not both");
    goto done;
  }
  if (holdout && !a.strategy) {
    rc = cli_failf("optimize: --%s needs --strategy (the held-out bars are a market's)",
                   a.holdout ? "holdout" : "test-from");
    goto done;
  }
  if (a.regime && !a.strategy) {
    rc = cli_failf("optimize: --regime needs --strategy (regimes are a market's)");
    goto done;
  }
  if (a.holdout_top && !holdout) {
    rc = cli_failf("optimize: --holdout-top needs --holdout or --test-from");
    goto done;
  }
  if (a.holdout_top && parse_count("--holdout-top", a.holdout_top, 1, &hold_top)) goto done;
  double hold_frac = 0;
  int64_t test_from_ms = 0;
  if (a.holdout && qt_holdout_parse_fraction(a.holdout, &hold_frac, &e)) goto fail_e;
  if (a.test_from && qt_time_parse(a.test_from, strlen(a.test_from), &test_from_ms, &e)) {
    rc = cli_failf("--test-from: %s", e.msg);
    goto done;
  }
  if (trials == 0 && timeout == 0) {
    rc = cli_failf("optimize: --trials 0 needs --timeout");
    goto done;
  }
  const qt_sampler_vtbl *sampler = qt_sampler_find(a.sampler ? a.sampler : "tpe");
  if (!sampler) {
    char names[256], near[160];
    qt_sampler_names(names, sizeof names, ", ");
    const char *all[32];
    size_t ns = 0;
    while (ns < 32 && qt_sampler_at(ns)) all[ns] = qt_sampler_at(ns)->name, ns++;
    qt_names_nearest(a.sampler, all, ns, near, sizeof near);
    rc = cli_failf("--sampler '%s': unknown%s%s%s (samplers: %s)", a.sampler,
                   *near ? " (did you mean " : "", near, *near ? "?)" : "", names);
    goto done;
  }
  if (a.search && strcmp(a.search, "listed") && strcmp(a.search, "all")) {
    rc = cli_failf("--search '%s': use listed or all", a.search);
    goto done;
  }
  if (a.sampler_opts) {
    if (strlen(a.sampler_opts) >= sizeof sopt_buf) {
      rc = cli_failf("--sampler-opts: longer than %zu characters", sizeof sopt_buf - 1);
      goto done;
    }
    snprintf(sopt_buf, sizeof sopt_buf, "%s", a.sampler_opts);
    if (parse_kv_list(sopt_buf, sopt, sizeof sopt / sizeof sopt[0] - 1)) goto done;
  }
  if (a.pruner && cli_pruner_new(a.pruner, a.pruner_opts, &pruner) != CLI_OK) goto done;
  if (a.pruner_opts && !a.pruner) {
    rc = cli_failf("optimize: --pruner-opts needs --pruner");
    goto done;
  }
  if (a.report_every && (cli_parse_double("--report-every", a.report_every, &report_every) ||
                         !(report_every > 0 && report_every <= 1))) {
    rc = cli_failf("--report-every: a fraction of the bars in (0, 1]");
    goto done;
  }
  if (jobs == 0) {
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    jobs = nc > 0 ? nc : 1;
  }

  /* the objective and its space */
  const qt_strategy_vtbl *strat = NULL;
  if (a.strategy) {
    strat = a.strat;
    if (qt_space_from_spec(strat->params, strat->n_params, &sp, &e)) goto fail_e;
  } else {
    /* an existing study has its space stored: a resume (a worker) needs no file */
    qt_study *known = NULL;
    qt_err ke;
    if (!a.space && !cli_study_open_ro(a.study ? a.study : "study", a.storage, &known, &ke)) {
      /* the stored space, copied: the study checks it against itself on open */
      size_t cap = (size_t)4 << 20;
      char *js = malloc(cap);
      int sr = js ? qt_space_to_json(qt_study_space(known), js, cap, &e) : QT_ENOMEM;
      if (!sr) sr = qt_space_from_json(js, &sp, &e);
      free(js);
      qt_study_free(known);
      if (sr) goto fail_e;
    } else if (!a.space) {
      rc = cli_failf("optimize: --%s needs --space FILE (the parameters to search)",
                     a.cmd ? "objective-cmd" : "function");
      goto done;
    }
    if (a.space && qt_space_new(&sp, &e)) goto fail_e;
  }
  if (a.space) {
    size_t len;
    if (!(space_text = cli_read_file(a.space, &len, &e))) goto fail_e;
    if (qt_space_apply_yaml(sp, space_text, a.space, strat ? strat->params : NULL,
                            strat ? strat->n_params : 0, &e))
      goto fail_e;
    if (qt_space_n(sp) == 0) {
      rc = cli_failf("%s: no parameters", a.space);
      goto done;
    }
    /* grid: the product of what the file lists, not of every param */
    if (!a.search) a.search = sampler == &qt_sampler_grid ? "listed" : "all";
    if (!strcmp(a.search, "listed") && qt_space_fix_unlisted(sp, space_text, a.space, NULL, &e))
      goto fail_e;
  } else if (a.search && !strcmp(a.search, "listed")) {
    rc = cli_failf("--search listed needs --space FILE (the params to search)");
    goto done;
  }
  if (strat && fix_params(&a, sp, &e)) goto fail_e;

  /* the goal */
  qt_study_opts so = qt_study_opts_default();
  qt_goal_default(&so.goal, a.strategy != NULL);
  if (a.cmd && !a.objective) {
    rc = cli_failf("optimize: --objective-cmd needs --objective (a key the command prints, or "
                   "score)");
    goto done;
  }
  if ((a.objective && strchr(a.objective, ',')) || (a.direction && strchr(a.direction, ','))) {
    /* several objectives: --objective a,b --direction maximize,minimize */
    if (!a.objective) {
      rc = cli_failf("--direction '%s': several directions need --objective with as many "
                     "metrics", a.direction);
      goto done;
    }
    if (qt_goal_parse_objectives(&so.goal, a.objective, a.direction, &e)) goto fail_e;
  } else if (a.objective) {
    if (strlen(a.objective) >= sizeof so.goal.metric) {
      rc = cli_failf("--objective '%s': name too long", a.objective);
      goto done;
    }
    strcpy(so.goal.metric, a.objective);
  }
  if (a.direction && so.goal.n_obj < 2) {
    if (strcmp(a.direction, "maximize") && strcmp(a.direction, "minimize")) {
      rc = cli_failf("--direction '%s': use maximize or minimize", a.direction);
      goto done;
    }
    so.goal.maximize = !strcmp(a.direction, "maximize");
  }
  if (a.weights && qt_goal_parse_weights(&so.goal, a.weights, &e)) goto fail_e;
  if (a.constraints && qt_goal_parse_constraints(&so.goal, a.constraints, &e)) goto fail_e;
  so.goal.lenient = a.lenient;
  /* a backtest's metric names are known now: a misspelt one fails before
   * any trial (an external command's are checked on its first trial) */
  if (strat && qt_goal_check_strategy_names(&so.goal, &e)) goto fail_e;

  /* the market and the objective: everything that can fail is checked before
   * the study exists, so a failed set-up leaves no empty study behind */
  if (strat && (a.mo.n_symbols > 1 || a.aggregate)) { /* several symbols: objective_symbols.c */
    int agg = QT_AGG_MEAN;
    if (a.mo.n_symbols < 2 || holdout || a.regime) {
      rc = cli_failf("optimize: %s", a.mo.n_symbols < 2 ? "--aggregate needs --symbol A,B,..."
                     : "--holdout, --test-from and --regime take one symbol (for now)");
      goto done;
    }
    if (a.aggregate && qt_aggregate_parse(a.aggregate, &agg, &e)) goto fail_e;
    if (qt_objective_symbols(strat, &a.mo, &a.eo, NULL, agg, &obj, &e)) goto fail_e;
    const qt_market *m0;
    sym_n = qt_objective_symbols_feeds(&obj, &sym_feeds, &m0);
    eo = a.eo;
    eo.from = sym_from = m0->from_i;
    if (strat->needs & QT_NEEDS_HEDGE) eo.hedge_mode = 1;
    hedge = eo.hedge_mode;
    sym_agg = qt_aggregate_name(agg);
    sym_desc = qt_market_describe(m0, desc, sizeof desc);
  } else if (strat) {
    a.mo.want_second = (strat->needs & QT_NEEDS_SECOND) != 0 || strat->n_instruments > 1;
    a.mo.series = qt_market_series_for(strat, &a.eo); /* only the series the run reads */
    if (holdout) {
      /* the whole market first, for the split; the study then loads (and pins)
       * only the bars before it, so nothing held out reaches a trial */
      have_oos = 1; /* freed also after a failed load */
      if (qt_market_load(&a.mo, &mk_oos, &e)) goto fail_e;
      const qt_bars *b0 = mk_oos.feeds[0].bars;
      if (a.holdout ? qt_holdout_split_fraction(b0->ts_ms, mk_oos.from_i, mk_oos.to_i, hold_frac,
                                                &hs, &e)
                    : qt_holdout_split_time(b0->ts_ms, mk_oos.from_i, mk_oos.to_i, test_from_ms,
                                            &hs, &e))
        goto fail_e;
      a.mo.to = qt_time_format(hs.split_ms, split_to, sizeof split_to);
    }
    if (qt_market_load(&a.mo, &mk, &e)) goto fail_e;
    have_market = 1;
    cli_market_print_warnings(&mk);
    if (mk.n_feeds < strat->n_instruments) {
      rc = cli_failf("optimize: strategy '%s' trades %d instruments; the data has %d",
                     strat->name, strat->n_instruments, mk.n_feeds);
      goto done;
    }
    if ((strat->needs & QT_NEEDS_FUNDING) && !mk.feeds[0].funding)
      fprintf(stderr, "qtune: warning: strategy '%s' uses funding, but the data has none\n",
              strat->name);
    eo = a.eo;
    eo.from = mk.from_i; /* --from: earlier bars are history, not traded */
    if (strat->needs & QT_NEEDS_HEDGE) eo.hedge_mode = 1;
    hedge = eo.hedge_mode;
    if (qt_objective_strategy(strat, mk.feeds, mk.n_feeds, &eo, NULL, &obj, &e)) goto fail_e;
    if (a.regime && qt_regime_restrict(&obj, mk.feeds[0].bars, a.regime, NULL, &e)) goto fail_e;
    if (holdout) {
      qt_engine_opts eo_oos = eo; /* the same settings, trading from the split on */
      eo_oos.from = hs.split_i;
      eo_oos.to = 0;
      if (qt_objective_strategy(strat, mk_oos.feeds, mk_oos.n_feeds, &eo_oos, NULL, &oos, &e))
        goto fail_e;
      if (a.regime && qt_regime_restrict(&oos, mk_oos.feeds[0].bars, a.regime, NULL, &e))
        goto fail_e;
    }
  } else if (a.cmd) {
    if (qt_objective_command(a.cmd, trial_timeout, &obj, &e)) goto fail_e;
  } else {
    if (qt_objective_function(a.function, &obj, &e)) goto fail_e;
  }

  /* the study */
  char defname[160];
  snprintf(defname, sizeof defname, "%s", strat ? strat->name : "study"); /* plugin: its name */
  so.name = a.study ? a.study : defname;
  so.storage_url = a.storage ? a.storage : qt_storage_default_url();
  char url_shown[512]; /* what the header and footer print: never the password */
  qt_storage_url_redact(so.storage_url, url_shown, sizeof url_shown);
  so.seed = (uint64_t)seed;
  so.sampler = a.sampler ? sampler : NULL;          /* NULL: a resumed study's own */
  so.sampler_opts = a.sampler_opts ? sopt : NULL;
  if (!(ucfg = user_config(&a))) goto oom;
  so.config_json = ucfg;
  qt_study_pin pin = {a.strategy, a.mo.catalog, a.mo.data, have_market ? mk.feeds : sym_feeds,
                      have_market ? mk.n_feeds : (int)sym_n, sym_n ? sym_from : mk.from_i,
                      strat ? &eo : NULL, &so.goal};
  if (qt_study_pin_json(&pin, pin_buf, sizeof pin_buf, &e)) goto fail_e;
  if (a.regime && pin_add(pin_buf, sizeof pin_buf, "regime", a.regime)) goto oom;
  if (sym_agg && pin_add(pin_buf, sizeof pin_buf, "aggregate", sym_agg)) goto oom;
  so.pin_json = pin_buf;
  if (qt_study_open(&so, sp, &st, &e)) goto fail_e;
  if (!qt_study_created(st)) {
    /* a resumed study keeps its space and goal: refuse a different strategy,
     * whose params would not match the stored space */
    json_t *c = json_loads(qt_study_config_json(st) ? qt_study_config_json(st) : "{}", 0, NULL);
    json_t *u = json_object_get(c, "user");
    const char *was = json_string_value(json_object_get(u, "strategy"));
    int clash = (a.strategy && was && strcmp(was, a.strategy) != 0) ||
                (a.strategy && !was) || (!a.strategy && was);
    if (clash) {
      rc = cli_failf("study '%s' was created for %s%s; give another --study-name",
                     qt_study_name(st), was ? "strategy " : "an external objective",
                     was ? was : "");
      json_decref(c);
      goto done;
    }
    json_decref(c);
    if (check_pin(st, pin_buf) != CLI_OK) goto done;
  }
  if (cli_tags_apply(st, a.tags[0] ? a.tags : NULL) != CLI_OK) goto done;
  qt_study_set_pruner(st, pruner);

  const qt_goal *g = qt_study_goal(st);
  size_t counts[QT_TRIAL_N_STATES];
  qt_study_counts(st, counts);
  printf("study:    %s (%s, %zu trials stored) in %s\n", qt_study_name(st),
         qt_study_created(st) ? "new" : "resumed", qt_study_n_trials(st), url_shown);
  char sopts[512];
  stored_opts_text(&a, st, sopts, sizeof sopts);
  printf("sampler:  %s, seed %llu%s%s%s\n", qt_study_sampler_name(st),
         (unsigned long long)qt_study_seed(st), a.deterministic ? ", deterministic" : "",
         *sopts ? ", " : "", sopts);
  printf("trials:   %ld%s%s, workers: %ld\n", trials, trials ? "" : " (until timeout)",
         timeout > 0 ? " (timeout set)" : "", jobs);
  char objs[256] = "";
  for (size_t k = 0, l = 0; k < qt_goal_n_objectives(g) && l < sizeof objs; k++) {
    int mx;
    const char *nm = qt_goal_objective(g, k, &mx);
    l += (size_t)snprintf(objs + l, sizeof objs - l, "%s%s (%s)", k ? ", " : "", nm,
                          mx ? "maximize" : "minimize");
  }
  printf("objective%s %s%s, %zu constraint(s)%s\n", qt_goal_n_objectives(g) > 1 ? "s:" : ":",
         objs,
         a.strategy ? "" : (a.cmd ? ", external command" : ", function"), g->n_cons,
         g->lenient ? " as penalties" : "");
  {
    /* the goal as it will score, after aliases and the guide's spellings */
    char gl[1024];
    size_t n = 0;
    for (size_t k = 0; !strcmp(g->metric, "score") && k < g->n_terms && n < sizeof gl; k++)
      n += (size_t)snprintf(gl + n, sizeof gl - n, "%s%s=%g", k ? "," : "", g->terms[k].metric,
                            g->terms[k].weight);
    if (n) printf("weights:  %s\n", gl);
    static const char *const ops[] = {">=", "<=", ">", "<"};
    n = 0;
    for (size_t k = 0; k < g->n_cons && n < sizeof gl; k++)
      n += (size_t)snprintf(gl + n, sizeof gl - n, "%s%s%s%g", k ? "," : "", g->cons[k].metric,
                            ops[g->cons[k].op], g->cons[k].bound);
    if (n) printf("constraints: %s\n", gl);
  }
  if (pruner)
    printf("pruner:   %s%s%s\n", qt_pruner_name(pruner), a.pruner_opts ? ", " : "",
           a.pruner_opts ? a.pruner_opts : "");
  if (have_market && mk.feeds[0].bars)
    printf("data:     %s, %d instrument(s)%s\n", qt_market_describe(&mk, desc, sizeof desc),
           mk.n_feeds, hedge ? ", hedge mode" : "");
  if (sym_n)
    printf("data:     %s, %zu symbols (%s of their metrics)%s\n", sym_desc, sym_n, sym_agg,
           hedge ? ", hedge mode" : "");
  fflush(stdout);

  prog pg = {isatty(2), 0, g->metric};
  qt_run_opts ro = qt_run_opts_default();
  ro.jobs = (size_t)jobs;
  ro.n_trials = (size_t)trials;
  ro.timeout_s = timeout;
  ro.stale_s = lease;
  ro.retries = (int)retries;
  ro.deterministic = a.deterministic;
  ro.report_every = report_every;
  ro.stop = &g_stop;
  ro.progress = a.quiet ? NULL : on_progress;
  ro.progress_ud = &pg;
  ro.progress_every_s = pg.tty ? 0.2 : 1.0;
  static const int stop_sigs[3] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction sa, old_sa[3];
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sa.sa_flags = 0;
  sigemptyset(&sa.sa_mask);
  for (int k = 0; k < 3; k++) sigaddset(&sa.sa_mask, stop_sigs[k]);
  for (int k = 0; k < 3; k++) sigaction(stop_sigs[k], &sa, &old_sa[k]);
  qt_progress p;
  int rr = qt_study_run(st, &obj, &ro, &p, &e);
  for (int k = 0; k < 3; k++) sigaction(stop_sigs[k], &old_sa[k], NULL);
  if (pg.tty && !a.quiet) fputc('\n', stderr);
  if (rr) goto fail_e;

  printf("\nran %zu trials in %.1fs (%.2f trials/s): %zu complete, %zu failed, %zu rejected, "
         "%zu pruned, %zu infeasible%s\n",
         p.done, p.elapsed_s, p.trials_per_s, p.done - p.failed - p.rejected - p.pruned, p.failed,
         p.rejected, p.pruned, p.infeasible,
         g_stop ? " (interrupted)" : "");
  long b = qt_study_best(st);
  if (b < 0) {
    qt_study_counts(st, counts);
    printf("no trial meets the constraints yet (%zu complete, %zu failed); see qtune analyze "
           "--study-name %s\n", counts[QT_TRIAL_COMPLETE], counts[QT_TRIAL_FAIL],
           qt_study_name(st));
    if (holdout && counts[QT_TRIAL_COMPLETE] && run_holdout(st, &oos, &hs, hold_top, &e))
      goto fail_e;
    printf("database: %s\n", url_shown);
    rc = g_sig ? 128 + g_sig : CLI_OK;
    goto done;
  }
  cli_study_print_best(stdout, st, b);
  char bpath[1024];
  qt_study_best_path(st, bpath, sizeof bpath);
  const char *bo = a.best_out ? a.best_out : bpath;
  if (cli_study_write_best(st, b, bo, &e)) goto fail_e;
  printf("best parameters: %s%s\n", bo,
         qt_study_n_objectives(st) > 1 ? " (the front member best in the first objective; "
                                          "qtune best --pick N writes another)" : "");
  if (qt_study_n_objectives(st) > 1 && cli_pareto_print(stdout, st, NULL, 10, &e)) goto fail_e;
  if (holdout && run_holdout(st, &oos, &hs, hold_top, &e)) goto fail_e;
  printf("database: %s (study %s)\n", url_shown, qt_study_name(st));
  rc = g_sig ? 128 + g_sig : CLI_OK;
  goto done;
oom:
  rc = cli_failf("optimize: out of memory");
  goto done;
fail_e:
  rc = cli_fail(&e);
done:
  qt_objective_free(&obj);
  qt_objective_free(&oos);
  qt_study_free(st);
  qt_pruner_free(pruner);
  if (have_market) qt_market_free(&mk);
  if (have_oos) qt_market_free(&mk_oos);
  free(a.fix_p);
  free(a.fix_set);
  qt_space_free(sp);
  free(space_text);
  free(ucfg);
  av_free(&av);
  qt_strategy_unload(plugin);
  return rc;
}
