/* qtune validate: the overfitting statistics of a stored study (the library's
 * qt_validate_study over the trials' stored returns), as tables or JSON. */
#include "cli/cmd_study.h"
#include "cli/commands.h"
#include "cli/util.h"
#include "qtune/validate.h"

#include <stdlib.h>
#include <string.h>

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
    "Example:\n"
    "  qtune validate --study-name hg --stability-runs 3\n"
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
    int sel;
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
    } else if ((sel = cli_study_parse_arg(&url, &name, argc, argv, &i)) != 0) {
      if (sel != 1) return CLI_ERROR;
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
  qt_study_rerun x;
  memset(&x, 0, sizeof x);
  char why[1400] = "";
  qt_err we;
  int rr = no_rerun ? -1 : qt_study_rerun_open(st, &x, &we);
  if (rr > 0) snprintf(why, sizeof why, "%s", we.msg);
  if (rr == 0) {
    o.objective = &x.obj;
    o.oos_objective = x.oos.vt ? &x.oos : NULL;
    o.storage_url = url ? url : qt_storage_default_url();
  } else if (o.stability_runs) {
    qt_study_rerun_close(&x);
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
  qt_study_rerun_close(&x);
  qt_study_free(st);
  return rc;
}
