/* Live parameter files: the guide's messages, the three outcomes of a
 * reload, update and get, the step limit, the history and revert, the
 * watcher (inotify on the folder, in-place writes and rename-over, a
 * deleted file; the poll fallback) and the example files of market_maker. */
#include "qt_test.h"
#include "qtune/live.h"
#include "qtune/strategies.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const qt_strategy_vtbl *mm(void) { return qt_strategy_find("market_maker"); }
static int ix(const char *name) { return qt_strategy_param_index(mm(), name); }

/* ---- a log sink the watcher thread writes to ---- */
static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_ok_lines, g_auto_lines, g_fail_lines, g_warn_lines;
static char g_last_fail[512];

static void sink(void *ud, qt_log_level lvl, const char *msg) {
  (void)ud;
  pthread_mutex_lock(&g_log_mu);
  if (strcmp(msg, "Tuning parameters reloaded successfully") == 0) g_ok_lines++;
  else if (strcmp(msg, "Auto-reloaded tuning parameters") == 0) g_auto_lines++;
  else if (strncmp(msg, "Failed to reload config: ", 25) == 0) {
    g_fail_lines++;
    snprintf(g_last_fail, sizeof g_last_fail, "%s", msg);
  } else if (lvl == QT_LOG_WARN) g_warn_lines++;
  pthread_mutex_unlock(&g_log_mu);
}

static int counter(int *c) {
  pthread_mutex_lock(&g_log_mu);
  int v = *c;
  pthread_mutex_unlock(&g_log_mu);
  return v;
}

/* Waits for *c to exceed was: a bound against a hang, not a speed check
 * (the speed is bench/bench_live_params.c's). */
static int wait_for(int *c, int was) {
  for (int i = 0; i < 3000; i++) {
    if (counter(c) > was) return 1;
    struct timespec ts = {0, 10 * 1000000};
    nanosleep(&ts, NULL);
  }
  return 0;
}

static char g_dir[PATH_MAX];
static void tmpdir(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/qt_live_XXXXXX");
  if (!mkdtemp(g_dir)) abort();
}
static void path_in(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", g_dir, name);
}
static void put(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) abort();
  fputs(text, f);
  fclose(f);
}
/* A whole new file renamed over path: what a poll must see (a poll may
 * read an in-place write half done; inotify waits for its close). */
static void put_renamed(const char *path, const char *text) {
  char tmp[PATH_MAX + 8];
  snprintf(tmp, sizeof tmp, "%s.new", path);
  put(tmp, text);
  if (rename(tmp, path) != 0) abort();
}
static void cleanup(void) {
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  if (system(cmd) != 0) fprintf(stderr, "  cleanup of %s failed\n", g_dir);
}

/* The guide's refusal, word for word, and the file and line around it. */
static void test_messages(void) {
  double p[16], out[16];
  qt_err err;
  qt_strategy_defaults(mm(), p);
  p[ix("skew_adjustment_factor")] = 3.5;
  EXPECT_EQ(qt_live_params_check(mm(), p, &err), QT_EINVAL);
  EXPECT_STREQ(err.msg, "Invalid parameter: skew_adjustment_factor must be in [0.0, 2.0], got 3.5");
  qt_strategy_defaults(mm(), p);
  p[ix("liquidation_rate_multiplier")] = -1;
  EXPECT_EQ(qt_live_params_check(mm(), p, &err), QT_EINVAL);
  EXPECT_STREQ(err.msg,
               "Invalid parameter: liquidation_rate_multiplier must be in [0.0, 100.0], got -1.0");
  qt_strategy_defaults(mm(), p);
  EXPECT_EQ(qt_live_params_check(mm(), p, &err), QT_OK);

  const char *bad = "{\n  \"adverse_selection_lambda\": 0.2,\n  \"skew_adjustment_factor\": 3.5\n}";
  EXPECT_EQ(qt_live_params_parse(mm(), bad, strlen(bad), "t.json", p, out, &err), QT_EINVAL);
  EXPECT_STREQ(err.msg,
               "t.json:3: Invalid parameter: skew_adjustment_factor must be in [0.0, 2.0], got 3.5");
  const char *unk = "{\n  \"skew_adjustment_factr\": 0.5\n}";
  EXPECT_EQ(qt_live_params_parse(mm(), unk, strlen(unk), "t.json", p, out, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "t.json:2: Unknown parameter: skew_adjustment_factr");
  EXPECT_CONTAINS(err.msg, "did you mean 'skew_adjustment_factor'");
  const char *far = "{\"zzz\": 1}";
  EXPECT_EQ(qt_live_params_parse(mm(), far, strlen(far), "t.json", p, out, &err), QT_EINVAL);
  EXPECT_STREQ(err.msg, "t.json:1: Unknown parameter: zzz (strategy 'market_maker')");
  const char *js = "{\n  \"skew_adjustment_factor\": 0.5,\n  \"adverse_selection_lambda\" 0.2\n}";
  EXPECT_EQ(qt_live_params_parse(mm(), js, strlen(js), "t.json", p, out, &err), QT_EPARSE);
  EXPECT_CONTAINS(err.msg, "t.json:3:");
  EXPECT_CONTAINS(err.msg, "invalid JSON");
  const char *str = "{\"skew_adjustment_factor\": \"0.5\"}";
  EXPECT_EQ(qt_live_params_parse(mm(), str, strlen(str), "t.json", p, out, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "skew_adjustment_factor must be a number");
  const char *arr = "[1, 2]";
  EXPECT_EQ(qt_live_params_parse(mm(), arr, strlen(arr), "t.json", p, out, &err), QT_EPARSE);
  /* a good file sets what it names and leaves the rest */
  const char *good = "{\"skew_adjustment_factor\": 1.25, \"inventory_urgency_threshold\": 0.9}";
  qt_strategy_defaults(mm(), p);
  EXPECT_EQ(qt_live_params_parse(mm(), good, strlen(good), "t.json", p, out, &err), QT_OK);
  EXPECT_NEAR(out[ix("skew_adjustment_factor")], 1.25, 0);
  EXPECT_NEAR(out[ix("inventory_urgency_threshold")], 0.9, 0);
  EXPECT_NEAR(out[ix("adverse_selection_lambda")], 0.1, 0);
}

/* reloaded / not found (kept) / error (kept), update and get. */
static void test_outcomes(void) {
  tmpdir();
  char path[PATH_MAX];
  path_in(path, sizeof path, "tuning_params.json");
  double p0[16], p[16];
  qt_strategy_defaults(mm(), p0);
  qt_live_params *lp = NULL;
  qt_err err;
  qt_live_params_opts o = qt_live_params_opts_default();
  o.run = "t1";
  ASSERT_TRUE(qt_live_params_new(mm(), path, p0, &o, &lp, &err) == QT_OK);
  qt_log_set(sink, NULL, QT_LOG_INFO);
  int ok0 = counter(&g_ok_lines), fail0 = counter(&g_fail_lines);
  EXPECT_EQ(qt_live_params_version(lp), 1);
  EXPECT_EQ(qt_live_params_reload(lp, &err), QT_LIVE_NOT_FOUND);
  EXPECT_EQ(qt_live_params_version(lp), 1);

  put(path, "{\"skew_adjustment_factor\": 0.6}\n");
  EXPECT_EQ(qt_live_params_reload(lp, &err), QT_OK);
  EXPECT_EQ(qt_live_params_get(lp, p), 2);
  EXPECT_NEAR(p[ix("skew_adjustment_factor")], 0.6, 0);
  EXPECT_EQ(counter(&g_ok_lines), ok0 + 1);

  put(path, "{\"skew_adjustment_factor\": 3.5}\n");
  EXPECT_EQ(qt_live_params_reload(lp, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg,
                  "Invalid parameter: skew_adjustment_factor must be in [0.0, 2.0], got 3.5");
  EXPECT_CONTAINS(err.msg, "tuning_params.json:1:");
  EXPECT_EQ(counter(&g_fail_lines), fail0 + 1);
  EXPECT_CONTAINS(g_last_fail, "Failed to reload config: ");
  EXPECT_EQ(qt_live_params_get(lp, p), 2); /* kept */
  EXPECT_NEAR(p[ix("skew_adjustment_factor")], 0.6, 0);

  put(path, "{\"skew_adjustment_factor\": 0.7,\n");
  EXPECT_EQ(qt_live_params_reload(lp, &err), QT_EPARSE);
  EXPECT_CONTAINS(err.msg, "invalid JSON");
  unlink(path);
  EXPECT_EQ(qt_live_params_reload(lp, &err), QT_LIVE_NOT_FOUND);
  EXPECT_EQ(qt_live_params_get(lp, p), 2);
  EXPECT_NEAR(p[ix("skew_adjustment_factor")], 0.6, 0);

  /* update takes a set directly, checked the same way */
  p[ix("min_spread_base_ratio")] = 0.3;
  EXPECT_EQ(qt_live_params_update(lp, p, &err), QT_OK);
  EXPECT_EQ(qt_live_params_version(lp), 3);
  p[ix("adverse_selection_lambda")] = 1.5;
  EXPECT_EQ(qt_live_params_update(lp, p, &err), QT_EINVAL);
  EXPECT_STREQ(err.msg, "Invalid parameter: adverse_selection_lambda must be in [0.0, 1.0], got 1.5");
  EXPECT_EQ(qt_live_params_get(lp, p), 3);
  EXPECT_NEAR(p[ix("min_spread_base_ratio")], 0.3, 0);
  EXPECT_NEAR(p[ix("adverse_selection_lambda")], 0.1, 0);
  qt_log_set(NULL, NULL, QT_LOG_OFF);
  qt_live_params_free(lp);
  cleanup();
}

/* At most 20% per reload: 0.5 -> 0.6 passes, 0.6 -> 0.9 (50%) is refused
 * and the set kept; from 0, the step is a share of the range. */
static void test_step_limit(void) {
  tmpdir();
  char path[PATH_MAX];
  path_in(path, sizeof path, "p.json");
  double p0[16], p[16];
  qt_strategy_defaults(mm(), p0);
  qt_live_params_opts o = qt_live_params_opts_default();
  o.max_step_pct = 20;
  o.keep_history = 0;
  qt_live_params *lp = NULL;
  qt_err err;
  ASSERT_TRUE(qt_live_params_new(mm(), path, p0, &o, &lp, &err) == QT_OK);
  put(path, "{\"skew_adjustment_factor\": 0.6}");
  EXPECT_EQ(qt_live_params_reload(lp, &err), QT_OK);
  put(path, "{\"skew_adjustment_factor\": 0.9}");
  EXPECT_EQ(qt_live_params_reload(lp, &err), QT_EINVAL);
  EXPECT_CONTAINS(err.msg, "skew_adjustment_factor would change by 50.0% (0.6 -> 0.9)");
  qt_live_params_get(lp, p);
  EXPECT_NEAR(p[ix("skew_adjustment_factor")], 0.6, 0);
  /* 0 -> 0.3 of a [0, 2] range is 15%: allowed; 0 -> 0.5 is 25% */
  double a[16], b[16];
  qt_strategy_defaults(mm(), a);
  memcpy(b, a, sizeof a);
  a[ix("skew_adjustment_factor")] = 0;
  b[ix("skew_adjustment_factor")] = 0.3;
  EXPECT_EQ(qt_live_params_step_check(mm(), a, b, 20, &err), QT_OK);
  b[ix("skew_adjustment_factor")] = 0.5;
  EXPECT_EQ(qt_live_params_step_check(mm(), a, b, 20, &err), QT_EINVAL);
  EXPECT_EQ(qt_live_params_step_check(mm(), a, b, 0, &err), QT_OK); /* no limit */
  qt_live_params_free(lp);
  cleanup();
}

/* Every applied set is in the history with its time, source and equity;
 * the same set twice is one entry; revert writes the previous set through
 * the file and records it. */
static void test_history_revert(void) {
  tmpdir();
  char path[PATH_MAX];
  path_in(path, sizeof path, "tuning_params.json");
  double p0[16], p[16];
  qt_strategy_defaults(mm(), p0);
  qt_live_params_opts o = qt_live_params_opts_default();
  o.run = "paper1";
  qt_live_params *lp = NULL;
  qt_err err;
  ASSERT_TRUE(qt_live_params_new(mm(), path, p0, &o, &lp, &err) == QT_OK);
  EXPECT_TRUE(isnan(qt_live_params_pnl(lp))); /* no equity given yet */
  qt_live_history_entry *h = NULL;
  size_t n = 9;
  EXPECT_EQ(qt_live_history_load(path, "paper1", &h, &n, &err), QT_OK);
  EXPECT_EQ(n, 0);
  qt_live_params_set_equity(lp, 10000);
  put(path, "{\"skew_adjustment_factor\": 0.6}");
  EXPECT_EQ(qt_live_params_reload(lp, &err), QT_OK);
  EXPECT_EQ(qt_live_params_reload(lp, &err), QT_OK); /* the same set: no new entry */
  qt_live_params_set_equity(lp, 10025.5);
  put(path, "{\"skew_adjustment_factor\": 0.8}");
  EXPECT_EQ(qt_live_params_reload(lp, &err), QT_OK);
  /* the set in effect earned 30 - 25.5 since it took effect */
  EXPECT_NEAR(qt_live_params_pnl(lp), 0, 0);
  qt_live_params_set_equity(lp, 10030);
  EXPECT_NEAR(qt_live_params_pnl(lp), 4.5, 1e-12);
  EXPECT_EQ(qt_live_history_load(path, "paper1", &h, &n, &err), QT_OK);
  ASSERT_TRUE(n == 2);
  EXPECT_STREQ(h[0].source, "reload");
  EXPECT_STREQ(h[0].strategy, "market_maker");
  EXPECT_NEAR(h[0].equity, 10000, 0);
  EXPECT_NEAR(h[1].equity, 10025.5, 0);
  EXPECT_CONTAINS(h[0].params, "\"skew_adjustment_factor\":0.59999999999999998");
  EXPECT_CONTAINS(h[1].params, "\"skew_adjustment_factor\":0.80000000000000004");
  EXPECT_TRUE(h[0].ts_ms > 1700000000000LL && h[1].ts_ms >= h[0].ts_ms);
  qt_free(h);
  /* another run's history in the same file is apart */
  EXPECT_EQ(qt_live_history_load(path, "other", &h, &n, &err), QT_OK);
  EXPECT_EQ(n, 0);

  qt_live_history_entry e;
  EXPECT_EQ(qt_live_revert(path, "paper1", &e, &err), QT_OK);
  EXPECT_CONTAINS(e.params, "\"skew_adjustment_factor\":0.59999999999999998");
  /* the file now holds the previous set, complete */
  EXPECT_EQ(qt_live_params_reload(lp, &err), QT_OK);
  qt_live_params_get(lp, p);
  EXPECT_NEAR(p[ix("skew_adjustment_factor")], 0.6, 0);
  EXPECT_NEAR(p[ix("base_spread_bps")], 20, 0);
  EXPECT_EQ(qt_live_history_load(path, "paper1", &h, &n, &err), QT_OK);
  ASSERT_TRUE(n == 3); /* the revert's record; the runner's reload of it adds none */
  EXPECT_STREQ(h[2].source, "revert");
  qt_free(h);
  EXPECT_EQ(qt_live_revert(path, "nobody", NULL, &err), QT_ESTATE);
  EXPECT_CONTAINS(err.msg, "nothing to revert to");
  /* a damaged history names its line */
  char hp[PATH_MAX + 32];
  qt_live_history_path(path, hp, sizeof hp);
  FILE *f = fopen(hp, "a");
  ASSERT_TRUE(f != NULL);
  fputs("{not json\n", f);
  fclose(f);
  EXPECT_EQ(qt_live_history_load(path, "paper1", &h, &n, &err), QT_EPARSE);
  EXPECT_CONTAINS(err.msg, "history.jsonl:4:");
  qt_live_params_free(lp);
  cleanup();
}

static void wait_version(qt_live_params *lp, uint64_t was) {
  for (int i = 0; i < 3000 && qt_live_params_version(lp) == was; i++) {
    struct timespec ts = {0, 10 * 1000000};
    nanosleep(&ts, NULL);
  }
}

/* The watcher: a write in place, a rename over the file (what editors and
 * qt_file_write_atomic do), invalid JSON, out of range, deleted: applied
 * or logged, the set kept on every failure. */
static void run_watch(int force_poll) {
  tmpdir();
  char path[PATH_MAX];
  path_in(path, sizeof path, "tuning_params.json");
  double p0[16], p[16];
  qt_strategy_defaults(mm(), p0);
  qt_live_params_opts o = qt_live_params_opts_default();
  o.force_poll = force_poll;
  o.poll_ms = 20;
  qt_live_params *lp = NULL;
  qt_err err;
  ASSERT_TRUE(qt_live_params_new(mm(), path, p0, &o, &lp, &err) == QT_OK);
  qt_log_set(sink, NULL, QT_LOG_INFO);
  EXPECT_STREQ(qt_live_params_watch_mode(lp), "off");
  ASSERT_TRUE(qt_live_params_watch(lp, &err) == QT_OK);
  EXPECT_STREQ(qt_live_params_watch_mode(lp), force_poll ? "poll" : "inotify");
  EXPECT_EQ(qt_live_params_watch(lp, &err), QT_ESTATE);

  void (*write_file)(const char *, const char *) = force_poll ? put_renamed : put;
  int a0 = counter(&g_auto_lines);
  write_file(path, "{\"skew_adjustment_factor\": 0.9}");
  wait_version(lp, 1);
  EXPECT_EQ(qt_live_params_get(lp, p), 2);
  EXPECT_NEAR(p[ix("skew_adjustment_factor")], 0.9, 0);
  EXPECT_TRUE(wait_for(&g_auto_lines, a0));

  double q[16];
  memcpy(q, p, sizeof q);
  q[ix("inventory_urgency_threshold")] = 0.55;
  ASSERT_TRUE(qt_live_params_write(mm(), path, q, &err) == QT_OK); /* rename over */
  wait_version(lp, 2);
  EXPECT_EQ(qt_live_params_get(lp, p), 3);
  EXPECT_NEAR(p[ix("inventory_urgency_threshold")], 0.55, 0);

  int f0 = counter(&g_fail_lines);
  if (force_poll) usleep(30000); /* a new mtime for the poll's comparison */
  write_file(path, "{\"skew_adjustment_factor\": 3.5}");
  EXPECT_TRUE(wait_for(&g_fail_lines, f0));
  EXPECT_CONTAINS(g_last_fail,
                  "Invalid parameter: skew_adjustment_factor must be in [0.0, 2.0], got 3.5");
  f0 = counter(&g_fail_lines);
  if (force_poll) usleep(30000);
  write_file(path, "{\"skew_adjustment_factor\": 0.4,,}");
  EXPECT_TRUE(wait_for(&g_fail_lines, f0));
  EXPECT_CONTAINS(g_last_fail, "invalid JSON");
  int w0 = counter(&g_warn_lines);
  unlink(path);
  EXPECT_TRUE(wait_for(&g_warn_lines, w0));
  EXPECT_EQ(qt_live_params_get(lp, p), 3); /* every failure kept the set */
  EXPECT_NEAR(p[ix("skew_adjustment_factor")], 0.9, 0);
  qt_live_params_unwatch(lp);
  EXPECT_STREQ(qt_live_params_watch_mode(lp), "off");
  qt_log_set(NULL, NULL, QT_LOG_OFF);
  qt_live_params_free(lp);
  cleanup();
}

static void test_watch_inotify(void) { run_watch(0); }
static void test_watch_poll(void) { run_watch(1); }

/* The guide's three profiles load as live params files and as a backtest's
 * --params-file, name all seven tuning parameters, and differ. */
static void test_examples(void) {
  static const char *files[] = {"examples/market_maker/conservative.json",
                                "examples/market_maker/aggressive.json",
                                "examples/market_maker/high_frequency.json"};
  static const char *seven[] = {"skew_adjustment_factor", "adverse_selection_adjustment_factor",
                                "adverse_selection_lambda", "inventory_urgency_threshold",
                                "liquidation_rate_multiplier", "min_spread_base_ratio",
                                "adverse_selection_spread_scale"};
  double got[3][16];
  for (int k = 0; k < 3; k++) {
    double def[16], p[16];
    qt_strategy_defaults(mm(), def);
    qt_live_params *lp = NULL;
    qt_err err;
    qt_live_params_opts o = qt_live_params_opts_default();
    o.keep_history = 0;
    ASSERT_TRUE(qt_live_params_new(mm(), files[k], def, &o, &lp, &err) == QT_OK);
    int rc = qt_live_params_reload(lp, &err);
    if (rc) fprintf(stderr, "  %s: %s\n", files[k], err.msg);
    EXPECT_EQ(rc, QT_OK);
    qt_live_params_get(lp, got[k]);
    qt_live_params_free(lp);
    unsigned char set[16] = {0};
    qt_strategy_defaults(mm(), p);
    EXPECT_EQ(qt_params_parse_file(mm(), files[k], p, set, &err), QT_OK);
    for (size_t j = 0; j < 7; j++) {
      int i = ix(seven[j]);
      EXPECT_TRUE(set[i]);
      EXPECT_NEAR(p[i], got[k][i], 0);
    }
  }
  /* conservative reduces inventory earlier than aggressive, and quotes a wider floor */
  int thr = ix("inventory_urgency_threshold"), fl = ix("min_spread_base_ratio");
  EXPECT_TRUE(got[0][thr] < got[1][thr]);
  EXPECT_TRUE(got[0][fl] > got[1][fl]);
  /* high frequency reacts fastest */
  int lam = ix("adverse_selection_lambda");
  EXPECT_TRUE(got[2][lam] > got[0][lam] && got[2][lam] > got[1][lam]);
}

/* Out of memory at each allocation of new + reload: an error or success,
 * never a crash or a half-applied set. */
static void test_oom(void) {
  tmpdir();
  char path[PATH_MAX];
  path_in(path, sizeof path, "p.json");
  put(path, "{\"skew_adjustment_factor\": 0.6}");
  double p0[16], p[16];
  qt_strategy_defaults(mm(), p0);
  qt_live_params_opts o = qt_live_params_opts_default();
  int saw_ok = 0;
  for (long n = 1; n < 20; n++) {
    qt_live_params *lp = NULL;
    qt_err err;
    qt_alloc_fail_at(n, 0);
    int rc = qt_live_params_new(mm(), path, p0, &o, &lp, &err);
    if (rc == QT_OK) {
      rc = qt_live_params_reload(lp, &err);
      uint64_t v = qt_live_params_get(lp, p);
      if (rc == QT_OK) {
        EXPECT_EQ(v, 2);
        EXPECT_NEAR(p[ix("skew_adjustment_factor")], 0.6, 0);
      } else {
        EXPECT_EQ(rc, QT_ENOMEM);
        EXPECT_EQ(v, 1);
      }
      saw_ok |= rc == QT_OK;
    } else {
      EXPECT_EQ(rc, QT_ENOMEM);
    }
    qt_alloc_fail_at(0, 0);
    qt_live_params_free(lp);
  }
  EXPECT_TRUE(saw_ok);
  cleanup();
}

QT_TESTS(T(test_messages), T(test_outcomes), T(test_step_limit), T(test_history_revert),
         T(test_watch_inotify), T(test_watch_poll), T(test_examples), T(test_oom))
