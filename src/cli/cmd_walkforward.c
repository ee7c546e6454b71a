/* qtune walk-forward: parses the windows, the study options and the market,
 * then the library's qt_wf_run does the work (one stored study per window,
 * the best of each tested on the next span, the stitched equity). */
#include "cli/commands.h"
#include "cli/market.h"
#include "cli/util.h"
#include "qtune/strategies.h"
#include "qtune/validate.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int g_wf_stop;
static void on_wf_signal(int sig) {
  g_wf_stop = 1;
  static const char m[] = "\nqtune: stopping after the running windows (resume with the same command)\n";
  ssize_t w = write(2, m, sizeof m - 1);
  (void)w;
}

static const char k_help[] =
    "usage: qtune walk-forward --strategy S MARKET --train 14d --test 7d [--step 7d]\n"
    "                          [--anchored] [--trials 200] [--jobs N] [--json] [--warm-start]\n"
    "                          [--symbol A,B,C [--aggregate mean|median|min]]\n"
    "Splits the data into windows: a study searches each train span (stored as\n"
    "NAME/w01, NAME/w02, ...; a second run resumes), its best runs on the next\n"
    "test span (earlier bars warm up), and the test spans' equity curves are\n"
    "chained into one out-of-sample curve: the number to believe.\n"
    "  --train D / --test D   span lengths (30m, 12h, 14d, ...)\n"
    "  --step D               start of one window to the next (default --test;\n"
    "                         shorter than --test is refused: tests would overlap)\n"
    "  --anchored             every train span starts at the first bar\n"
    "  --trials N             trials per window (default 200)\n"
    "  --jobs N               worker threads (default: all cores); without\n"
    "                         --warm-start up to N windows run at once\n"
    "  --warm-start           a window first runs the previous window's top params\n"
    "  --warm-top N           how many (default 5)\n"
    "  --symbol A,B,C         every trial runs on each symbol, each window's best is\n"
    "                         tested on each; the stitched portfolio holds equal\n"
    "                         cash shares (docs/symbols.md)\n"
    "  --aggregate A          mean (default), median or min of the symbols' metrics\n"
    "  --study-name NAME      default <strategy>-wf; window studies NAME/wNN\n"
    "  --storage URL          default $QTUNE_STORAGE, else sqlite:///qtune.db\n"
    "  --seed N               window k's study seed is N + k (default 0)\n"
    "  --sampler S            default tpe\n"
    "  --objective M          a metric or score (default score); --direction,\n"
    "  --weights W, --constraints C, --lenient as in qtune optimize\n"
    "  --space FILE           YAML search space overlay\n"
    "  --deterministic        the runner's deterministic batches\n"
    "  --json                 the result as one JSON object\n"
    "Example:\n"
    "  qtune walk-forward --strategy hedge_grid --catalog cat --symbol AVAXUSDT \\\n"
    "      --train 14d --test 7d --trials 200 --warm-start\n"
    "Exit status: 0 ok, 2 error, 130 when interrupted (resumable).\n"
    "market:";

typedef struct wf_args {
  const char *strategy, *train, *test, *step, *trials, *jobs, *name, *storage, *seed, *sampler;
  const char *objective, *direction, *weights, *constraints, *space, *warm_top, *aggregate;
  int anchored, as_json, warm, lenient, deterministic;
} wf_args;

static int parse_wf(wf_args *a, qt_market_opts *mo, qt_engine_opts *eo, int argc, char **argv) {
  static const struct {
    const char *name;
    size_t off;
  } vals[] = {
#define V(n, f) {n, offsetof(wf_args, f)}
      V("--strategy", strategy), V("--train", train),       V("--test", test),
      V("--step", step),         V("--trials", trials),     V("--jobs", jobs),
      V("--study-name", name),   V("--storage", storage),   V("--seed", seed),
      V("--sampler", sampler),   V("--objective", objective), V("--direction", direction),
      V("--weights", weights),   V("--constraints", constraints), V("--space", space),
      V("--warm-top", warm_top), V("--aggregate", aggregate),
#undef V
  };
  static const struct {
    const char *name;
    size_t off;
  } flags[] = {
#define F(n, f) {n, offsetof(wf_args, f)}
      F("--anchored", anchored), F("--json", as_json), F("--warm-start", warm),
      F("--lenient", lenient), F("--deterministic", deterministic),
#undef F
  };
  for (int i = 1; i < argc; i++) {
    int mr = cli_market_parse_arg(mo, argc, argv, &i);
    if (mr == 0) mr = cli_settings_parse_arg(eo, argc, argv, &i);
    if (mr == 1) continue;
    if (mr == CLI_ERROR) return CLI_ERROR;
    int hit = 0;
    for (size_t k = 0; k < sizeof vals / sizeof vals[0] && !hit; k++) {
      if (strcmp(argv[i], vals[k].name)) continue;
      if (i + 1 >= argc) return cli_failf("%s needs a value", argv[i]);
      *(const char **)((char *)a + vals[k].off) = argv[++i];
      hit = 1;
    }
    for (size_t k = 0; k < sizeof flags / sizeof flags[0] && !hit; k++)
      if (!strcmp(argv[i], flags[k].name)) *(int *)((char *)a + flags[k].off) = hit = 1;
    if (!hit)
      return cli_failf("walk-forward: unknown option '%s' (qtune walk-forward --help)", argv[i]);
  }
  return CLI_OK;
}

static int count_opt(const char *opt, const char *s, long lo, size_t *out) {
  long v;
  if (cli_parse_long(opt, s, &v)) return CLI_ERROR;
  if (v < lo) return cli_failf("%s: must be >= %ld", opt, lo);
  *out = (size_t)v;
  return CLI_OK;
}

static int duration_opt(const char *opt, const char *s, int64_t *out) {
  qt_err e;
  if (qt_duration_parse(s, out, &e)) return cli_failf("%s: %s", opt, e.msg);
  if (*out <= 0) return cli_failf("%s: must be > 0 (\"%s\")", opt, s);
  return CLI_OK;
}

static void on_window(void *ud, size_t done, size_t total) {
  if (!*(int *)ud) fprintf(stderr, "walk-forward: window %zu of %zu done\n", done, total);
}

int cmd_walkforward(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    fputs(k_help, stdout);
    fputs(cli_market_help(), stdout);
    fputs(cli_settings_help(), stdout);
    return CLI_OK;
  }
  wf_args a;
  memset(&a, 0, sizeof a);
  qt_market_opts mo = qt_market_opts_default();
  qt_engine_opts eo = qt_engine_opts_default();
  qt_market mk, *mks = NULL; /* mks: one market per symbol of --symbol A,B,.. */
  memset(&mk, 0, sizeof mk);
  size_t n_mks = 0;
  int have_market = 0, rc = CLI_ERROR;
  void *plugin = NULL;
  qt_space *sp = NULL;
  char *space_text = NULL, *buf = NULL;
  qt_err e;
  if (parse_wf(&a, &mo, &eo, argc, argv) != CLI_OK) return CLI_ERROR;
  if (!a.strategy) return cli_failf("walk-forward: --strategy is required");
  if (!a.train || !a.test) return cli_failf("walk-forward: --train and --test are required");
  qt_wf_ctx c;
  memset(&c, 0, sizeof c);
  c.opts = qt_wf_opts_default();
  qt_wf_opts *o = &c.opts;
  if (duration_opt("--train", a.train, &o->train_ms) || duration_opt("--test", a.test, &o->test_ms) ||
      (a.step && duration_opt("--step", a.step, &o->step_ms)))
    return CLI_ERROR;
  if (a.trials && count_opt("--trials", a.trials, 1, &o->n_trials)) return CLI_ERROR;
  if (a.jobs && count_opt("--jobs", a.jobs, 1, &o->jobs)) return CLI_ERROR;
  if (a.warm_top && count_opt("--warm-top", a.warm_top, 1, &o->warm_top)) return CLI_ERROR;
  size_t seed = 0;
  if (a.seed && count_opt("--seed", a.seed, 0, &seed)) return CLI_ERROR;
  o->seed = seed;
  o->anchored = a.anchored;
  o->warm_start = a.warm;
  o->deterministic = a.deterministic;
  if (a.sampler && !(o->sampler = qt_sampler_find(a.sampler))) {
    char names[256];
    qt_sampler_names(names, sizeof names, ", ");
    return cli_failf("--sampler '%s': unknown (samplers: %s)", a.sampler, names);
  }
  const qt_strategy_vtbl *s = qt_strategy_resolve(a.strategy, &plugin, &e);
  if (!s) return cli_fail(&e);
  c.strategy = s;
  /* the goal, as optimize builds it */
  if (a.objective) {
    if (strlen(a.objective) >= sizeof o->goal.metric) {
      rc = cli_failf("--objective '%s': name too long", a.objective);
      goto done;
    }
    strcpy(o->goal.metric, a.objective);
  }
  if (a.direction) {
    if (strcmp(a.direction, "maximize") && strcmp(a.direction, "minimize")) {
      rc = cli_failf("--direction '%s': use maximize or minimize", a.direction);
      goto done;
    }
    o->goal.maximize = !strcmp(a.direction, "maximize");
  }
  if (a.weights && qt_goal_parse_weights(&o->goal, a.weights, &e)) goto fail_e;
  if (a.constraints && qt_goal_parse_constraints(&o->goal, a.constraints, &e)) goto fail_e;
  o->goal.lenient = a.lenient;
  if (qt_goal_check_strategy_names(&o->goal, &e)) goto fail_e;
  if (qt_space_from_spec(s->params, s->n_params, &sp, &e)) goto fail_e;
  if (a.space) {
    size_t len;
    if (!(space_text = cli_read_file(a.space, &len, &e))) goto fail_e;
    if (qt_space_apply_yaml(sp, space_text, a.space, s->params, s->n_params, &e)) goto fail_e;
  }
  o->space = sp;
  /* the market, once for every window (several symbols: one each) */
  mo.want_second = (s->needs & QT_NEEDS_SECOND) != 0 || s->n_instruments > 1;
  if (mo.n_symbols > 1 || a.aggregate) {
    if (mo.n_symbols < 2) {
      rc = cli_failf("walk-forward: --aggregate needs --symbol A,B,...");
      goto done;
    }
    if (a.aggregate && qt_aggregate_parse(a.aggregate, &c.aggregate, &e)) goto fail_e;
    if (!(mks = calloc(mo.n_symbols, sizeof *mks))) {
      rc = cli_failf("walk-forward: out of memory");
      goto done;
    }
    for (; n_mks < mo.n_symbols; n_mks++) {
      qt_market_opts one = mo;
      one.n_symbols = 1;
      memcpy(one.symbols[0], mo.symbols[n_mks], sizeof one.symbols[0]);
      if (qt_market_load(&one, &mks[n_mks], &e)) {
        n_mks++; /* freed too */
        goto fail_e;
      }
      cli_market_print_warnings(&mks[n_mks]);
    }
    c.markets = mks;
    c.n_markets = n_mks;
  } else {
    have_market = 1;
    if (qt_market_load(&mo, &mk, &e)) goto fail_e;
    cli_market_print_warnings(&mk);
  }
  int n_feeds = mks ? mks[0].n_feeds : mk.n_feeds;
  if (n_feeds < s->n_instruments) {
    rc = cli_failf("walk-forward: strategy '%s' trades %d instruments; the data has %d", s->name,
                   s->n_instruments, n_feeds);
    goto done;
  }
  if (s->needs & QT_NEEDS_HEDGE) eo.hedge_mode = 1;
  c.feeds = mk.feeds;
  c.n_feeds = mk.n_feeds;
  c.from_i = mk.from_i;
  c.to_i = mk.to_i;
  c.eo = eo;
  c.catalog = mo.catalog;
  c.data_file = mo.data;
  char defname[160], cfg[512];
  snprintf(defname, sizeof defname, "%s-wf", s->name);
  o->name = a.name ? a.name : defname;
  o->storage_url = a.storage ? a.storage : qt_storage_default_url();
  snprintf(cfg, sizeof cfg, "{\"strategy\": \"%s\", \"walk_forward\": true}",
           s->name[strcspn(s->name, "\"\\")] ? "plugin" : s->name);
  o->config_json = cfg;
  int quiet = a.as_json;
  o->on_window = on_window;
  o->on_window_ud = &quiet;
  o->stop = &g_wf_stop;
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_wf_signal;
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &sa, &old);
  size_t cap = (size_t)4 << 20;
  if (!(buf = malloc(cap))) {
    rc = cli_failf("walk-forward: out of memory");
    goto done;
  }
  int r = qt_wf_run(&c, buf, cap, &e);
  sigaction(SIGINT, &old, NULL);
  if (r) goto fail_e;
  if (a.as_json) printf("%s\n", buf);
  else if (qt_wf_write_table(buf, stdout, &e)) goto fail_e;
  rc = g_wf_stop ? 130 : CLI_OK;
  goto done;
fail_e:
  rc = cli_fail(&e);
done:
  free(buf);
  free(space_text);
  qt_space_free(sp);
  if (have_market) qt_market_free(&mk);
  for (size_t k = 0; k < n_mks; k++) qt_market_free(&mks[k]);
  free(mks);
  qt_strategy_unload(plugin);
  return rc;
}
