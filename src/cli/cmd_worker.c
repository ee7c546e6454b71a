/* `qtune worker`: joins an existing study by name.  Everything a trial runs
 * on (strategy, market, costs, objective, constraints) comes from the pin the
 * study stored when it was created, so a worker on another machine needs only
 * the storage URL and the name.  The worker turns the pin back into
 * `qtune optimize` options and runs that: the resume check then compares the
 * pin with what this machine loads, so a catalog whose bars differ (another
 * fingerprint) is refused with the difference instead of mixing trials. */
#include "cli/cmd_study.h"
#include "cli/commands.h"
#include "cli/util.h"
#include "qtune/storage.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char k_usage[] =
    "usage: qtune worker --study-name S [--storage URL] [--jobs N] [--trials N]\n"
    "                    [--timeout SEC] [--lease SEC] [--retries N] [--catalog DIR]\n"
    "                    [--objective-cmd CMD] [--quiet]\n"
    "Joins an existing study and runs trials for it: strategy, market, costs,\n"
    "objective and constraints come from the study's stored record, the sampler\n"
    "and its seed too.  Workers on several machines may share one PostgreSQL study;\n"
    "they start and stop at any time, and trial numbers never repeat.\n"
    "Example:\n"
    "  qtune worker --storage postgresql://qtune@db.lan/qtune --study-name hg1 --jobs 8\n"
    "  --study-name S         the study to join (required)\n"
    "  --storage URL          default $QTUNE_STORAGE, else sqlite:///qtune.db\n"
    "  --jobs N               worker threads (default: all cores)\n"
    "  --trials N             trials this worker starts (default 100)\n"
    "  --timeout SEC          stop starting trials after SEC\n"
    "  --lease SEC            another worker's trial with no heartbeat for SEC is failed\n"
    "                         and its params run again once (default 60)\n"
    "  --retries N            re-runs of a failed trial's params (default 0)\n"
    "  --catalog DIR          this machine's copy of the study's catalog (default: the\n"
    "                         path the study was created with); its bars must match\n"
    "  --objective-cmd CMD    the command of a study tuned through an external command\n"
    "                         (not stored: it names a program on this machine)\n"
    "  --quiet                no progress display\n"
    "Exit status: 0 ok, 2 error, 128 + the signal after SIGINT, SIGTERM or SIGHUP (as\n"
    "qtune optimize: the running trials finish and the study resumes).\n";

/* The pin's keys that become options, in order: key, option, kind
 * ('s' string, 'n' number, 'b' flag when true, 'B' flag when false). */
static const struct {
  const char *key, *opt;
  char kind;
} k_map[] = {
    {"strategy", "--strategy", 's'},   {"catalog", "--catalog", 's'},
    {"data_file", "--data", 's'},      {"symbol", "--symbol", 's'},
    {"from", "--from", 's'},           {"to", "--to", 's'},
    {"maker_bps", "--maker-bps", 'n'}, {"taker_bps", "--taker-bps", 'n'},
    {"lot_size", "--lot-size", 'n'},   {"tick_size", "--tick-size", 'n'},
    {"cash", "--cash", 'n'},           {"slippage_bps", "--slippage-bps", 'n'},
    {"leverage", "--leverage", 'n'},   {"hedge_mode", "--hedge-mode", 'b'},
    {"trade_on_close", "--trade-on-close", 'b'}, {"close_at_end", "--no-close-at-end", 'B'},
    {"objective", "--objective", 's'}, {"direction", "--direction", 's'},
    {"weights", "--weights", 's'},     {"constraints", "--constraints", 's'},
    {"lenient", "--lenient", 'b'},
};

typedef struct argv_buf {
  char *v[96];
  int n;
  char store[8192];
  size_t used;
} argv_buf;

static int push(argv_buf *a, const char *s) {
  size_t len = strlen(s) + 1;
  if (a->n == (int)(sizeof a->v / sizeof a->v[0]) - 1 || a->used + len > sizeof a->store)
    return cli_failf("worker: the study's record has too many settings");
  a->v[a->n++] = memcpy(a->store + a->used, s, len);
  a->used += len;
  a->v[a->n] = NULL;
  return CLI_OK;
}

/* Appends the options the pin (a flat JSON object) stands for. */
static int pin_args(const char *pin, const char *catalog, argv_buf *a) {
  json_error_t je;
  json_t *o = json_loads(pin, 0, &je);
  if (!json_is_object(o)) {
    json_decref(o);
    return cli_failf("worker: the study's stored pin is not a JSON object (%s)", je.text);
  }
  int rc = CLI_OK;
  for (size_t k = 0; k < sizeof k_map / sizeof k_map[0] && !rc; k++) {
    json_t *v = json_object_get(o, k_map[k].key);
    if (!v || json_is_null(v)) continue;
    char num[64];
    const char *val = NULL;
    switch (k_map[k].kind) {
    case 's':
      if (!json_is_string(v)) break;
      val = json_string_value(v);
      if (!strcmp(k_map[k].key, "catalog") && catalog) val = catalog;
      if (!strcmp(k_map[k].key, "from") || !strcmp(k_map[k].key, "to"))
        if (!strcmp(val, "-")) val = NULL; /* no bars: no range */
      if (!strcmp(k_map[k].key, "constraints") && !*val) val = "none";
      /* the pin records the last traded bar; --to is exclusive */
      if (val && !strcmp(k_map[k].key, "to")) {
        int64_t t;
        qt_err te = {0};
        if (qt_time_parse(val, strlen(val), &t, &te)) {
          rc = cli_failf("worker: the study's stored 'to' (%s): %s", val, te.msg);
          break;
        }
        val = qt_time_format(t + 1, num, sizeof num);
      }
      if (val) rc = push(a, k_map[k].opt) || push(a, val);
      break;
    case 'n':
      if (!json_is_number(v)) break;
      snprintf(num, sizeof num, "%.17g", json_number_value(v));
      rc = push(a, k_map[k].opt) || push(a, num);
      break;
    case 'b':
      if (json_is_true(v)) rc = push(a, k_map[k].opt);
      break;
    case 'B':
      if (json_is_false(v)) rc = push(a, k_map[k].opt);
      break;
    }
  }
  json_decref(o);
  return rc;
}

int cmd_worker(int argc, char **argv) {
  const char *study = NULL, *storage = NULL, *catalog = NULL, *cmd = NULL;
  const char *pass[8][2];
  int n_pass = 0, quiet = 0;
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
      fputs(k_usage, stdout);
      return CLI_OK;
    }
    if (!strcmp(o, "--quiet")) {
      quiet = 1;
      continue;
    }
    if (i + 1 >= argc) return cli_failf("worker: %s needs a value (qtune worker --help)", o);
    const char *v = argv[++i];
    if (!strcmp(o, "--study-name")) study = v;
    else if (!strcmp(o, "--storage")) storage = v;
    else if (!strcmp(o, "--catalog")) catalog = v;
    else if (!strcmp(o, "--objective-cmd")) cmd = v;
    else if (!strcmp(o, "--jobs") || !strcmp(o, "--trials") || !strcmp(o, "--timeout") ||
             !strcmp(o, "--lease") || !strcmp(o, "--retries")) {
      pass[n_pass][0] = o;
      pass[n_pass++][1] = v;
    } else {
      return cli_failf("worker: unknown option '%s' (qtune worker --help)", o);
    }
    if (n_pass == 8) return cli_failf("worker: too many options");
  }
  if (!study) return cli_failf("worker: --study-name is required (qtune worker --help)");
  if (!storage) storage = qt_storage_default_url();
  qt_study *st = NULL;
  qt_err e = {0};
  if (cli_study_open_ro(study, storage, &st, &e)) return cli_fail(&e);
  const char *pin = qt_study_pinned(st);
  argv_buf a = {.n = 0, .used = 0};
  int rc = push(&a, "optimize") || push(&a, "--study-name") || push(&a, study) ||
           push(&a, "--storage") || push(&a, storage);
  if (!rc && !pin) rc = cli_failf("worker: study '%s' stores no record of what it runs on (made"
                                  " before qtune pinned studies): resume it with qtune optimize",
                                  study);
  if (!rc) rc = pin_args(pin, catalog, &a);
  qt_study_free(st);
  int is_cmd = 0;
  for (int k = 0; k < a.n; k++) is_cmd |= !strcmp(a.v[k], "--strategy");
  is_cmd = !is_cmd;
  if (!rc && is_cmd && !cmd)
    rc = cli_failf("worker: study '%s' runs an external command; give it with --objective-cmd",
                   study);
  if (!rc && cmd) rc = push(&a, "--objective-cmd") || push(&a, cmd);
  for (int k = 0; k < n_pass && !rc; k++) rc = push(&a, pass[k][0]) || push(&a, pass[k][1]);
  if (!rc && quiet) rc = push(&a, "--quiet");
  if (rc) return rc;
  return cmd_optimize(a.n, a.v);
}
