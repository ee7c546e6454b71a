/* The one parser of parameter values (qt_param_parse, qt_params_*): single
 * values of every type, name=value lists, params files in YAML and JSON with
 * file:line messages, and the built-ins' alias flags. */
#include "qt_test.h"
#include "qtune/strategies.h"

#include <ctype.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const k_modes[] = {"off", "fast", "slow"};
static const qt_param_spec k_spec[] = {
    {"fast", QT_PARAM_INT, 2, 200, 1, 0, 10, NULL, 0, "fast length"},
    {"ratio", QT_PARAM_FLOAT, 0.5, 3, 0, 0, 1.5, NULL, 0, "a ratio"},
    {"hedge", QT_PARAM_BOOL, 0, 1, 0, 0, 0, NULL, 0, "a switch"},
    {"mode", QT_PARAM_CAT, 0, 2, 0, 0, 0, k_modes, 3, "a choice"},
};
static const qt_strategy_vtbl k_strat = {
    .abi = QT_STRATEGY_ABI, .name = "probe", .params = k_spec, .n_params = 4, .n_instruments = 1};

static void single_values(void) {
  qt_err e = {0};
  double v = -1;
  EXPECT_EQ(qt_param_parse(&k_spec[0], "42", 2, &v, &e), QT_OK);
  EXPECT_NEAR(v, 42, 0);
  EXPECT_EQ(qt_param_parse(&k_spec[0], " \"7\" ", 5, &v, &e), QT_OK); /* trimmed, unquoted */
  EXPECT_NEAR(v, 7, 0);
  EXPECT_EQ(qt_param_parse(&k_spec[0], "20.0", 4, &v, &e), QT_OK); /* JSON writes 20.0 */
  EXPECT_NEAR(v, 20, 0);
  EXPECT_EQ(qt_param_parse(&k_spec[0], "true", 4, &v, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "param 'fast': not an integer (\"true\")");
  EXPECT_NEAR(v, 0, 0);
  EXPECT_EQ(qt_param_parse(&k_spec[0], "5.5", 3, &v, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "param 'fast': not an integer (\"5.5\")");
  EXPECT_EQ(qt_param_parse(&k_spec[0], "500", 3, &v, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "param 'fast' = 500 is outside its range [2, 200]");
  EXPECT_EQ(qt_param_parse(&k_spec[1], "2.25", 4, &v, &e), QT_OK);
  EXPECT_NEAR(v, 2.25, 0);
  EXPECT_EQ(qt_param_parse(&k_spec[1], "abc", 3, &v, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "param 'ratio': not a number (\"abc\")");
  EXPECT_EQ(qt_param_parse(&k_spec[1], "nan", 3, &v, &e), QT_EINVAL);
  const char *yes[] = {"true", "True", "yes", "on", "1"}, *no[] = {"false", "NO", "off", "0"};
  for (size_t i = 0; i < 5; i++) {
    EXPECT_EQ(qt_param_parse(&k_spec[2], yes[i], strlen(yes[i]), &v, &e), QT_OK);
    EXPECT_NEAR(v, 1, 0);
  }
  for (size_t i = 0; i < 4; i++) {
    EXPECT_EQ(qt_param_parse(&k_spec[2], no[i], strlen(no[i]), &v, &e), QT_OK);
    EXPECT_NEAR(v, 0, 0);
  }
  EXPECT_EQ(qt_param_parse(&k_spec[2], "maybe", 5, &v, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "param 'hedge': not a bool (true/false/yes/no/1/0) (\"maybe\")");
  EXPECT_EQ(qt_param_parse(&k_spec[3], "slow", 4, &v, &e), QT_OK);
  EXPECT_NEAR(v, 2, 0);
  EXPECT_EQ(qt_param_parse(&k_spec[3], "1", 1, &v, &e), QT_OK); /* an index */
  EXPECT_NEAR(v, 1, 0);
  EXPECT_EQ(qt_param_parse(&k_spec[3], "3", 1, &v, &e), QT_EINVAL);
  EXPECT_EQ(qt_param_parse(&k_spec[3], "turbo", 5, &v, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "param 'mode': not one of off, fast, slow (\"turbo\")");
  /* numeric labels: "1" is no index then (ambiguous), "20" is the label */
  static const char *const nums[] = {"10", "20"};
  const qt_param_spec pn = {"n", QT_PARAM_CAT, 0, 1, 0, 0, 0, nums, 2, "numbers"};
  EXPECT_EQ(qt_param_parse(&pn, "20", 2, &v, &e), QT_OK);
  EXPECT_NEAR(v, 1, 0);
  EXPECT_EQ(qt_param_parse(&pn, "1", 1, &v, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "param 'n': not one of 10, 20 (\"1\")");
}

static void lists(void) {
  qt_err e = {0};
  double p[4];
  unsigned char set[4] = {0};
  qt_strategy_defaults(&k_strat, p);
  EXPECT_EQ(qt_params_parse_list(&k_strat, " fast = 12, mode=fast,,", p, set, &e), QT_OK);
  EXPECT_NEAR(p[0], 12, 0);
  EXPECT_NEAR(p[3], 1, 0);
  EXPECT_NEAR(p[1], 1.5, 0); /* untouched: the default */
  EXPECT_TRUE(set[0] && !set[1] && !set[2] && set[3]);
  EXPECT_EQ(qt_params_parse_list(&k_strat, "fast=true", p, set, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "param 'fast': not an integer (\"true\")");
  EXPECT_NEAR(p[0], 10, 0); /* a refused value leaves the default, not half a value */
  EXPECT_EQ(qt_params_parse_list(&k_strat, "fast=3,bogus=1", p, set, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "strategy 'probe' has no parameter 'bogus'; valid: fast, ratio, hedge, mode");
  EXPECT_EQ(qt_params_parse_list(&k_strat, "fast", p, set, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "--params: 'fast' is not name=value");
  EXPECT_EQ(qt_params_set(&k_strat, "hedge", "yes", p, NULL, &e), QT_OK);
  EXPECT_NEAR(p[2], 1, 0);
}

static void yaml_and_json_text(void) {
  qt_err e = {0};
  double p[4];
  unsigned char set[4] = {0};
  /* what `qtune best` writes: a comment, numbers, a quoted label, a bool */
  const char *best = "# qtune best parameters: study s, trial #3, score 1.5\n"
                     "fast: 20\nratio: 0.70000000000000007\nhedge: true\nmode: \"slow\"\n";
  qt_strategy_defaults(&k_strat, p);
  EXPECT_EQ(qt_params_parse_text(&k_strat, best, strlen(best), "b.yaml", p, set, &e), QT_OK);
  EXPECT_NEAR(p[0], 20, 0);
  EXPECT_NEAR(p[1], 0.7, 1e-15);
  EXPECT_NEAR(p[2], 1, 0);
  EXPECT_NEAR(p[3], 2, 0);
  EXPECT_TRUE(set[0] && set[1] && set[2] && set[3]);
  const char *js = "{\"fast\": 20.0, \"ratio\": 2, \"hedge\": false, \"mode\": \"fast\"}";
  qt_strategy_defaults(&k_strat, p);
  EXPECT_EQ(qt_params_parse_text(&k_strat, js, strlen(js), "p.json", p, NULL, &e), QT_OK);
  EXPECT_NEAR(p[0], 20, 0);
  EXPECT_NEAR(p[1], 2, 0);
  EXPECT_NEAR(p[2], 0, 0);
  EXPECT_NEAR(p[3], 1, 0);
  /* errors name the file and the line */
  const char *y3 = "ratio: 2\n# note\nfast: true\n";
  EXPECT_EQ(qt_params_parse_text(&k_strat, y3, strlen(y3), "p.yaml", p, NULL, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "p.yaml:3: param 'fast': not an integer (\"true\")");
  const char *nested = "fast:\n  - 1\n";
  EXPECT_EQ(qt_params_parse_text(&k_strat, nested, strlen(nested), "n.yaml", p, NULL, &e),
            QT_EPARSE);
  EXPECT_STREQ(e.msg, "n.yaml:2: param 'fast': lists are not allowed (a flat name: value map)");
  const char *bad = "fast: [1\n";
  EXPECT_EQ(qt_params_parse_text(&k_strat, bad, strlen(bad), "s.yaml", p, NULL, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "s.yaml:");
  const char *j2 = "{\"fast\": 5,\n \"ratio\": 9}";
  EXPECT_EQ(qt_params_parse_text(&k_strat, j2, strlen(j2), "p.json", p, NULL, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "p.json:2: param 'ratio' = 9 is outside its range [0.5, 3]");
  const char *j3 = "{\"fast\": 5,\n \"mode\": [1]}";
  EXPECT_EQ(qt_params_parse_text(&k_strat, j3, strlen(j3), "p.json", p, NULL, &e), QT_EPARSE);
  EXPECT_STREQ(e.msg, "p.json:2: param 'mode': expected a single value, not a list or map");
  const char *j4 = "{\"fast\": 5,\n\n \"mode\": }";
  EXPECT_EQ(qt_params_parse_text(&k_strat, j4, strlen(j4), "p.json", p, NULL, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "p.json:3: JSON: ");
  EXPECT_EQ(qt_params_parse_text(&k_strat, "", 0, "e.yaml", p, NULL, &e), QT_OK); /* empty */
}

/* Params files are read by the one YAML loader (qt_yaml_load, docs/limits.md):
 * what it refuses is refused here with the file and line, and an alias is the
 * value it names.  The old event parser took the last of two keys, merged a
 * second document, skipped an alias (reading the next key as its value) and
 * had no size or depth limit. */
static int yaml_text(const char *text, const char *file, double *p, qt_err *e) {
  qt_strategy_defaults(&k_strat, p);
  return qt_params_parse_text(&k_strat, text, strlen(text), file, p, NULL, e);
}

static void yaml_one_loader(void) {
  qt_err e = {0};
  double p[4];
  EXPECT_EQ(yaml_text("fast: 20\nratio: 2\nfast: 30\n", "d.yaml", p, &e), QT_EPARSE);
  EXPECT_STREQ(e.msg, "d.yaml:3: key 'fast' appears twice in one map (first at line 1)");
  EXPECT_NEAR(p[0], 10, 0); /* refused before any value is set */
  EXPECT_EQ(yaml_text("fast: 20\n---\nratio: 2\n", "two.yaml", p, &e), QT_EPARSE);
  EXPECT_STREQ(e.msg, "two.yaml:3: a second YAML document (one document per file)");
  EXPECT_NEAR(p[1], 1.5, 0);
  /* an alias is its anchor's value; True and on are bools as everywhere */
  EXPECT_EQ(yaml_text("ratio: &r 2\nfast: *r\nhedge: on\n", "a.yaml", p, &e), QT_OK);
  EXPECT_NEAR(p[0], 2, 0);
  EXPECT_NEAR(p[1], 2, 0);
  EXPECT_NEAR(p[2], 1, 0);
  EXPECT_EQ(yaml_text("hedge: True\n", "t.yaml", p, &e), QT_OK);
  EXPECT_NEAR(p[2], 1, 0);
  EXPECT_EQ(yaml_text("m: &m {a: 1}\nfast: *m\n", "am.yaml", p, &e), QT_EPARSE);
  EXPECT_STREQ(e.msg, "am.yaml:1: param 'm': nested maps are not allowed (a flat name: value map)");
  EXPECT_EQ(yaml_text("- fast\n", "l.yaml", p, &e), QT_EPARSE);
  EXPECT_STREQ(e.msg, "l.yaml:1: lists are not allowed (a flat name: value map)");
  EXPECT_EQ(yaml_text("? [fast]\n: 1\n", "k.yaml", p, &e), QT_EPARSE);
  EXPECT_STREQ(e.msg, "k.yaml:1: lists are not allowed (a flat name: value map)");
  EXPECT_EQ(yaml_text("fast\n", "s.yaml", p, &e), QT_EPARSE);
  EXPECT_STREQ(e.msg, "s.yaml:1: expected a map of name: value");
  /* the loader's limits: depth on the text, then the size */
  char deep[256] = "ratio: 2\nfast: ";
  size_t n = strlen(deep);
  for (int k = 0; k < QT_YAML_MAX_DEPTH + 1; k++) deep[n++] = '[';
  deep[n] = 0;
  EXPECT_EQ(yaml_text(deep, "deep.yaml", p, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "deep.yaml:2: nested deeper than 64 levels (QT_YAML_MAX_DEPTH)");
  size_t big = QT_YAML_MAX_BYTES + 1;
  char *text = malloc(big + 1);
  ASSERT_TRUE(text != NULL);
  memset(text, ' ', big);
  memcpy(text, "fast: 20\n#", 10);
  text[big] = 0;
  EXPECT_EQ(yaml_text(text, "big.yaml", p, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "big.yaml: 4194305 bytes is more than the 4194304 bytes a YAML file may hold"
                      " (QT_YAML_MAX_BYTES)");
  EXPECT_NEAR(p[0], 10, 0);
  /* a file is read no further than the limit (JSON too: a params file is small) */
  char dir[] = "/tmp/qt_test_params_XXXXXX", path[128];
  ASSERT_TRUE(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/big.yaml", dir);
  FILE *f = fopen(path, "w");
  ASSERT_TRUE(f != NULL);
  fwrite(text, 1, big, f);
  fclose(f);
  qt_strategy_defaults(&k_strat, p);
  EXPECT_EQ(qt_params_parse_file(&k_strat, path, p, NULL, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, path);
  EXPECT_CONTAINS(e.msg, ": more than the 4194304 bytes a params file may hold (QT_YAML_MAX_BYTES)");
  remove(path);
  rmdir(dir);
  free(text);
}

static void files(void) {
  qt_err e = {0};
  char dir[] = "/tmp/qt_test_params_XXXXXX", path[128];
  ASSERT_TRUE(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/p.json", dir);
  FILE *f = fopen(path, "w");
  ASSERT_TRUE(f != NULL);
  fputs("  {\"fast\": 33}\n", f); /* JSON by content, after blanks */
  fclose(f);
  double p[4];
  qt_strategy_defaults(&k_strat, p);
  EXPECT_EQ(qt_params_parse_file(&k_strat, path, p, NULL, &e), QT_OK);
  EXPECT_NEAR(p[0], 33, 0);
  remove(path);
  EXPECT_EQ(qt_params_parse_file(&k_strat, path, p, NULL, &e), QT_EIO);
  EXPECT_CONTAINS(e.msg, path);
  EXPECT_CONTAINS(e.msg, "cannot open the params file");
  rmdir(dir);
}

/* Every built-in's aliases name its own parameters, once each, as
 * lower-case-with-dashes flags that no command uses for itself. */
static void alias_tables(void) {
  static const char *const k_taken[] = {"strategy", "params", "params-file", "cash",
                                        "slippage-bps", "leverage", "symbol", "catalog", "data",
                                        "from", "to", "json", "trials", "seed", "space", "help"};
  size_t n = 0;
  const qt_strategy_vtbl *const *all = qt_strategies_builtin(&n);
  for (size_t s = 0; s < n; s++) {
    size_t na = 0;
    const qt_param_alias *al = qt_strategy_aliases(all[s], &na);
    for (size_t k = 0; k < na; k++) {
      EXPECT_TRUE(qt_strategy_param_index(all[s], al[k].param) >= 0);
      for (const char *c = al[k].flag; *c; c++)
        EXPECT_TRUE(islower((unsigned char)*c) || *c == '-');
      for (size_t j = 0; j < k; j++) {
        EXPECT_TRUE(strcmp(al[j].flag, al[k].flag) != 0);
        EXPECT_TRUE(strcmp(al[j].param, al[k].param) != 0);
      }
      for (size_t t = 0; t < sizeof k_taken / sizeof k_taken[0]; t++)
        EXPECT_TRUE(strcmp(al[k].flag, k_taken[t]) != 0);
    }
  }
  EXPECT_TRUE(qt_strategy_aliases(&k_strat, &n) == NULL && n == 0); /* a plugin has none */
}

static void auction_market_flags(void) {
  const qt_strategy_vtbl *s = qt_strategy_find("auction_market");
  ASSERT_TRUE(s != NULL);
  static const char *const want[][2] = {
      {"min-aggression", "min_aggression_score"}, {"atr-stop", "atr_stop_multiplier"},
      {"atr-target", "atr_target_multiplier"},    {"risk-per-trade", "risk_per_trade_pct"},
      {"max-positions", "max_positions"},         {"max-daily-loss", "max_daily_loss_pct"},
      {"allow-balance-trades", "allow_balance_trades"}};
  size_t n = 0;
  const qt_param_alias *al = qt_strategy_aliases(s, &n);
  ASSERT_TRUE(n == 7);
  for (size_t k = 0; k < n; k++) {
    EXPECT_STREQ(al[k].flag, want[k][0]);
    EXPECT_STREQ(al[k].param, want[k][1]);
  }
  double p[32];
  unsigned char set[32] = {0};
  qt_err e = {0};
  ASSERT_TRUE(s->n_params <= 32);
  qt_strategy_defaults(s, p);
  int stop = qt_strategy_param_index(s, "atr_stop_multiplier");
  int bal = qt_strategy_param_index(s, "allow_balance_trades");
  EXPECT_EQ(qt_params_set_flag(s, "--atr-stop", "2", p, set, &e), QT_OK);
  EXPECT_NEAR(p[stop], 2, 0);
  EXPECT_TRUE(set[stop]);
  EXPECT_EQ(qt_params_set_flag(s, "--allow-balance-trades", NULL, p, set, &e), QT_OK);
  EXPECT_NEAR(p[bal], 1, 0); /* alone: 1 */
  EXPECT_EQ(qt_params_set_flag(s, "allow-balance-trades", "false", p, set, &e), QT_OK);
  EXPECT_NEAR(p[bal], 0, 0);
  EXPECT_EQ(qt_params_set_flag(s, "--atr-stop", "9", p, set, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "--atr-stop: param 'atr_stop_multiplier' = 9 is outside its range [0.5, 3]");
  EXPECT_EQ(qt_params_set_flag(s, "--max-positions", "true", p, set, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "--max-positions: param 'max_positions': not an integer (\"true\")");
  e.msg[0] = 0;
  EXPECT_EQ(qt_params_set_flag(s, "--atr_length", "3", p, set, &e), QT_ENOTFOUND);
  EXPECT_STREQ(e.msg, "");
}

QT_TESTS(T(single_values), T(lists), T(yaml_and_json_text), T(yaml_one_loader), T(files), T(alias_tables),
         T(auction_market_flags))
