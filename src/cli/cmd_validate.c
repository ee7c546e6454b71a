/* qtune validate: the overfitting statistics of a stored study (the library's
 * qt_validate_study over the trials' stored returns), as tables or JSON. */
#include "cli/cmd_study.h"
#include "cli/commands.h"
#include "cli/util.h"
#include "qtune/strategies.h"
#include "qtune/validate.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The study's own market and strategy, rebuilt from its pin and checked
 * against it (a fresh pin must equal the stored one), and its objective;
 * with a stored holdout also the objective over the held-out bars.  On
 * failure *why says why the re-runs are skipped (not an error). */
typedef struct rerun {
  qt_study_market sm;
  qt_market mk, mk_full;
  int have_mk, have_full;
  void *plugin;
  qt_objective obj, oos;
} rerun;

static void rerun_free(rerun *x) {
  qt_objective_free(&x->obj);
  qt_objective_free(&x->oos);
  if (x->have_mk) qt_market_free(&x->mk);
  if (x->have_full) qt_market_free(&x->mk_full);
  qt_strategy_unload(x->plugin);
}

static int rerun_setup(qt_study *st, rerun *x, char *why, size_t cap) {
  qt_err e;
  const char *pin = qt_study_pinned(st);
  if (!pin) return snprintf(why, cap, "the study has no pin (made before pins existed)"), -1;
  if (qt_study_market_from_pin(pin, &x->sm, &e)) return snprintf(why, cap, "%s", e.msg), -1;
  const qt_strategy_vtbl *s = qt_strategy_resolve(x->sm.strategy, &x->plugin, &e);
  if (!s) return snprintf(why, cap, "%s", e.msg), -1;
  x->have_mk = 1;
  if (qt_market_load(&x->sm.mo, &x->mk, &e)) return snprintf(why, cap, "%s", e.msg), -1;
  qt_engine_opts eo = x->sm.eo;
  eo.from = x->mk.from_i;
  qt_study_pin p = {x->sm.strategy, x->sm.mo.catalog, x->sm.mo.data, x->mk.feeds, x->mk.n_feeds,
                    x->mk.from_i, &eo, qt_study_goal(st)};
  char now[16384], diff[1024];
  size_t nd = 0;
  if (qt_study_pin_json(&p, now, sizeof now, &e) ||
      qt_study_pin_diff(pin, now, diff, sizeof diff, &nd, &e))
    return snprintf(why, cap, "%s", e.msg), -1;
  if (nd) return snprintf(why, cap, "the data or settings changed since the study: %s", diff), -1;
  if (qt_objective_strategy(s, x->mk.feeds, x->mk.n_feeds, &eo, NULL, &x->obj, &e))
    return snprintf(why, cap, "%s", e.msg), -1;
  char hb[1 << 16];
  if (qt_holdout_load(st, hb, sizeof hb, NULL) == QT_OK) {
    json_t *h = json_loads(hb, 0, NULL);
    const char *split = json_string_value(json_object_get(json_object_get(h, "split"), "split"));
    int64_t t = 0;
    qt_market_opts mo = x->sm.mo;
    mo.to = NULL;
    int ok = split && !qt_time_parse(split, strlen(split), &t, NULL);
    json_decref(h);
    if (ok) {
      x->have_full = 1;
      if (qt_market_load(&mo, &x->mk_full, &e)) return snprintf(why, cap, "%s", e.msg), -1;
      qt_engine_opts eo2 = eo;
      eo2.from = qt_bars_lower_bound(x->mk_full.feeds[0].bars, t);
      eo2.to = 0;
      if (qt_objective_strategy(s, x->mk_full.feeds, x->mk_full.n_feeds, &eo2, NULL, &x->oos, &e))
        return snprintf(why, cap, "%s", e.msg), -1;
    }
  }
  return 0;
}

static const char k_help[] =
    "usage: qtune validate --study-name S [--storage URL] [--json] [--blocks 16]\n"
    "                      [--top-n 10] [--boot 1000] [--block-len 10] [--seed 1]\n"
    "Is the study's best skill or selection luck?  From every complete trial's\n"
    "stored per-period returns (docs/validate.md):\n"
    "  - PSR, deflated Sharpe ratio (DSR), minimum track record and backtest length\n"
    "    of the best trial, deflated by the number of trials and their variance;\n"
    "  - PBO by combinatorially symmetric cross-validation over S blocks, with the\n"
    "    logit distribution and the in- vs out-of-sample degradation;\n"
    "  - White's Reality Check and Hansen's SPA (stationary bootstrap, seeded)\n"
    "    against a flat and a buy-and-hold benchmark;\n"
    "  - the spread of the top N trials' parameters, and (a strategy study whose\n"
    "    data is still there) the best's neighbourhood: each parameter one step or\n"
    "    5%% either way, re-run;\n"
    "  --stability-runs K repeat the study with K other seeds (stored as S/seed1..;\n"
    "                     resumed) and compare their best params, and out of sample\n"
    "                     when the study has a holdout\n"
    "  --jobs N           threads of the stability runs (default: all cores)\n"
    "  --no-rerun         no neighbourhood and no stability runs\n"
    "  --dsr-reject X     DSR below X rejects the best (default 0.95)\n"
    "  --pbo-reject X     PBO at or above X rejects the study (default 0.5)\n"
    "Exit status: 0 ok (whatever the verdicts), 2 error (no such study, no stored\n"
    "returns, bad option).\n";

static int need(int argc, char **argv, int i) {
  if (i + 1 >= argc) return cli_failf("%s needs a value", argv[i]);
  return 0;
}

int cmd_validate(int argc, char **argv) {
  const char *name = NULL, *url = NULL;
  int as_json = 0, no_rerun = 0;
  qt_validate_opts o = qt_validate_opts_default();
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    long v = 0;
    double d = 0;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(k_help, stdout);
      cli_print_storage_default();
      return CLI_OK;
    } else if (!strcmp(a, "--json")) {
      as_json = 1;
    } else if (!strcmp(a, "--no-rerun")) {
      no_rerun = 1;
    } else if (!strcmp(a, "--stability-runs") || !strcmp(a, "--jobs")) {
      if (need(argc, argv, i) || cli_parse_long(a, argv[++i], &v)) return CLI_ERROR;
      if (v < 1 || v > 100) return cli_failf("%s: 1..100", a);
      if (a[2] == 's') o.stability_runs = (size_t)v;
      else o.jobs = (size_t)v;
    } else if (!strcmp(a, "--study-name") || !strcmp(a, "--study")) {
      if (need(argc, argv, i)) return CLI_ERROR;
      name = argv[++i];
    } else if (!strcmp(a, "--storage")) {
      if (need(argc, argv, i)) return CLI_ERROR;
      url = argv[++i];
    } else if (!strcmp(a, "--blocks")) {
      if (need(argc, argv, i) || cli_parse_long(a, argv[++i], &v)) return CLI_ERROR;
      if (v < 2 || v > 24 || v % 2) return cli_failf("--blocks: an even number 2..24 (\"%s\")", argv[i]);
      o.pbo_blocks = (size_t)v;
    } else if (!strcmp(a, "--top-n")) {
      if (need(argc, argv, i) || cli_parse_long(a, argv[++i], &v)) return CLI_ERROR;
      if (v < 1) return cli_failf("--top-n: must be >= 1");
      o.top_n = (size_t)v;
    } else if (!strcmp(a, "--boot")) {
      if (need(argc, argv, i) || cli_parse_long(a, argv[++i], &v)) return CLI_ERROR;
      if (v < 1 || v > 100000) return cli_failf("--boot: 1..100000 resamples");
      o.spa.n_boot = (size_t)v;
    } else if (!strcmp(a, "--block-len")) {
      if (need(argc, argv, i) || cli_parse_double(a, argv[++i], &d)) return CLI_ERROR;
      if (!(d >= 1)) return cli_failf("--block-len: must be >= 1");
      o.spa.mean_block = d;
    } else if (!strcmp(a, "--seed")) {
      if (need(argc, argv, i) || cli_parse_long(a, argv[++i], &v)) return CLI_ERROR;
      if (v < 0) return cli_failf("--seed: must be >= 0");
      o.spa.seed = (uint64_t)v;
    } else if (!strcmp(a, "--dsr-reject") || !strcmp(a, "--pbo-reject")) {
      if (need(argc, argv, i) || cli_parse_double(a, argv[++i], &d)) return CLI_ERROR;
      if (!(d > 0 && d <= 1)) return cli_failf("%s: a probability in (0, 1]", a);
      if (a[2] == 'd') o.dsr_reject = d;
      else o.pbo_reject = d;
    } else {
      return cli_failf("validate: unknown option '%s' (see qtune validate --help)", a);
    }
  }
  if (!name) return cli_failf("validate: --study-name is required");
  qt_err e;
  qt_study *st = NULL;
  if (cli_study_open_ro(name, url, &st, &e)) return cli_fail(&e);
  rerun x;
  memset(&x, 0, sizeof x);
  char why[1400] = "";
  if (!no_rerun && rerun_setup(st, &x, why, sizeof why) == 0) {
    o.objective = &x.obj;
    o.oos_objective = x.oos.vt ? &x.oos : NULL;
    o.storage_url = url ? url : qt_storage_default_url();
  } else if (o.stability_runs) {
    rerun_free(&x);
    qt_study_free(st);
    return cli_failf("validate: --stability-runs needs the study's market: %s",
                     no_rerun ? "--no-rerun given" : why);
  }
  size_t cap = (size_t)4 << 20;
  char *buf = malloc(cap);
  int rc = CLI_OK;
  if (!buf) {
    rc = cli_failf("validate: out of memory");
  } else if (qt_validate_study(st, &o, buf, cap, &e)) {
    rc = cli_fail(&e);
  } else if (as_json) {
    printf("%s\n", buf);
  } else if (qt_validate_write_table(buf, stdout, &e)) {
    rc = cli_fail(&e);
  } else if (!o.objective && !no_rerun) {
    printf("\nneighbourhood: not re-run (%s)\n", why);
  }
  free(buf);
  rerun_free(&x);
  qt_study_free(st);
  return rc;
}
