/* qtune enqueue and qtune trial: parameter sets queued into a study, and
 * one trial shown in full (or given a note).  Wiring only: the library
 * parses, checks and stores (study_attrs.c). */
#include "cli/cmd_study.h"
#include "cli/cmd_trial.h"
#include "cli/commands.h"
#include "cli/util.h"

#include <stdlib.h>
#include <string.h>

#define KV_MAX 32

/* "k=v,k=v" split in place into kv (KV_MAX entries + the NULL end). */
static int split_kv(const char *opt, char *buf, qt_kv *kv) {
  size_t n = 0;
  char *save = NULL;
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(t, '=');
    if (!eq || eq == t) return cli_failf("%s: '%s': expected KEY=VALUE", opt, t);
    if (n == KV_MAX) return cli_failf("%s: more than %d entries", opt, KV_MAX);
    *eq = 0;
    kv[n].key = t;
    kv[n++].val = eq + 1;
  }
  kv[n].key = kv[n].val = NULL;
  return CLI_OK;
}

int cli_pruner_new(const char *name, const char *opts, qt_pruner **out) {
  *out = NULL;
  qt_kv kv[KV_MAX + 1] = {{NULL, NULL}};
  char *buf = opts ? strdup(opts) : NULL;
  if (opts && !buf) return cli_failf("--pruner-opts: out of memory");
  int rc = buf ? split_kv("--pruner-opts", buf, kv) : CLI_OK;
  qt_err e;
  if (rc == CLI_OK && qt_pruner_new(name, kv, out, &e)) rc = cli_fail(&e);
  free(buf);
  return rc;
}

int cli_tags_apply(qt_study *st, const char *tags) {
  if (!tags) return CLI_OK;
  qt_kv kv[KV_MAX + 1] = {{NULL, NULL}};
  char *buf = strdup(tags);
  if (!buf) return cli_failf("--tag: out of memory");
  int rc = split_kv("--tag", buf, kv);
  qt_err e;
  if (rc == CLI_OK && qt_study_set_tags(st, kv, &e)) rc = cli_fail(&e);
  free(buf);
  return rc;
}

int cmd_enqueue(int argc, char **argv) {
  const char *url = NULL, *name = NULL, *params = NULL, *file = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int sel;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      printf("usage: qtune enqueue --study-name S (--params k=v,... | --params-file F)\n"
             "                     [--storage URL]\n"
             "Queues parameter sets into an existing study: each becomes a waiting\n"
             "trial with the next trial number, and workers run waiting trials first,\n"
             "in number order, before asking the sampler (also when the study is\n"
             "resumed).  Parameters not given take their default.  A params file is a\n"
             "YAML map of name: value (or a JSON object), or a YAML list of such maps\n"
             "(several sets, in order); all are checked before any is stored.  Limits:\n"
             "1 MiB of text, 10,000 sets.  See docs/pruning.md.\n"
             "\nExample:\n"
             "  qtune enqueue --study-name sma1 --params fast=10,slow=50\n"
             "\nExit status: 0 ok, 2 error (no such study, unknown parameter, value out\n"
             "of range: the message names the file, line and field).\n");
      cli_print_storage_default();
      return CLI_OK;
    } else if ((sel = cli_study_parse_arg(&url, &name, argc, argv, &i)) != 0) {
      if (sel != 1) return CLI_ERROR;
    } else if (!strcmp(a, "--params")) {
      if (!(params = cli_opt_val(argc, argv, &i))) return CLI_ERROR;
    } else if (!strcmp(a, "--params-file")) {
      if (!(file = cli_opt_val(argc, argv, &i))) return CLI_ERROR;
    } else {
      return cli_failf("enqueue: unknown option '%s' (see qtune enqueue --help)", a);
    }
  }
  if (!name) return cli_failf("enqueue: --study-name is required");
  if (!!params + !!file != 1) return cli_failf("enqueue: give one of --params or --params-file");
  qt_err e;
  qt_study *st = NULL;
  char *text = NULL;
  int rc = CLI_OK;
  if (file) {
    size_t len;
    if (!(text = cli_read_file(file, &len, &e))) return cli_fail(&e);
  }
  if (cli_study_open_ro(name, url, &st, &e)) {
    free(text);
    return cli_fail(&e);
  }
  int64_t first;
  size_t n;
  if (qt_study_enqueue_text(st, file ? text : params, file, &first, &n, &e)) rc = cli_fail(&e);
  else if (n == 1) printf("enqueued trial %lld into study %s\n", (long long)first, name);
  else printf("enqueued %zu trials (%lld..%lld) into study %s\n", n, (long long)first,
              (long long)first + (long long)n - 1, name);
  qt_study_free(st);
  free(text);
  return rc;
}

int cmd_trial(int argc, char **argv) {
  const char *url = NULL, *name = NULL, *num = NULL, *note = NULL;
  int as_json = 0, have_note = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      printf("usage: qtune trial STUDY NUMBER [--json] [--note TEXT] [--storage URL]\n"
             "Shows one trial in full: state, params, objective values, score,\n"
             "feasibility, every metric, the intermediate values and last step,\n"
             "start and finish times, worker, seed, error and note (as freqtrade's\n"
             "hyperopt-show -n).  --note TEXT stores a note on the trial first (\"\"\n"
             "clears it; up to 4096 bytes); notes are the user's and may be set on\n"
             "finished trials.\n"
             "\nExample:\n"
             "  qtune trial sma1 12 --note \"good in the 2024 range\"\n"
             "\nExit status: 0 ok, 2 error (no such study or trial).\n");
      cli_print_storage_default();
      return CLI_OK;
    } else if (!strcmp(a, "--storage")) {
      if (!(url = cli_opt_val(argc, argv, &i))) return CLI_ERROR;
    } else if (!strcmp(a, "--note")) {
      if (!(note = cli_opt_val(argc, argv, &i))) return CLI_ERROR;
      have_note = 1;
    } else if (!strcmp(a, "--json")) {
      as_json = 1;
    } else if (a[0] == '-' && a[1]) {
      return cli_failf("trial: unknown option '%s' (see qtune trial --help)", a);
    } else if (!name) {
      name = a;
    } else if (!num) {
      num = a;
    } else {
      return cli_failf("trial: unexpected argument '%s' (qtune trial STUDY NUMBER)", a);
    }
  }
  if (!name || !num) return cli_failf("trial: give the study name and the trial number");
  long number;
  if (cli_parse_long("trial NUMBER", num, &number)) return CLI_ERROR;
  if (number < 0) return cli_failf("trial NUMBER: must be >= 0");
  qt_err e;
  qt_study *st = NULL;
  if (cli_study_open_ro(name, url, &st, &e)) return cli_fail(&e);
  int rc = CLI_OK;
  if (have_note && qt_study_set_note(st, number, note, &e)) rc = cli_fail(&e);
  else if (qt_study_write_trial_full(st, number, as_json, stdout, &e)) rc = cli_fail(&e);
  qt_study_free(st);
  return rc;
}
