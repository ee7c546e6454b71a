/* Holdout: the split (by share and by time), mid-ranks and Spearman with
 * ties, the joint normalization of two studies' scores, each on a case worked
 * out by hand in its comment; then the out-of-sample run of a study's top N,
 * stored in its config and read back. */
#include "qt_test.h"
#include "qtune/validate.h"

#include <math.h>
#include <unistd.h>

static int64_t g_ts[100]; /* bar opens: bar i at i minutes */

static void fill_ts(void) {
  for (int i = 0; i < 100; i++) g_ts[i] = (int64_t)i * 60000;
}

static void parse_fraction(void) {
  double f;
  qt_err e;
  EXPECT_EQ(qt_holdout_parse_fraction("25%", &f, &e), 0);
  EXPECT_NEAR(f, 0.25, 1e-15);
  EXPECT_EQ(qt_holdout_parse_fraction("0.3", &f, &e), 0);
  EXPECT_NEAR(f, 0.3, 1e-15);
  /* "25" is neither a share nor a percentage: refused, not read as 2500% */
  EXPECT_EQ(qt_holdout_parse_fraction("25", &f, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "'25'");
  EXPECT_EQ(qt_holdout_parse_fraction("0%", &f, &e), QT_EINVAL);
  EXPECT_EQ(qt_holdout_parse_fraction("1/4", &f, &e), QT_EINVAL);
  EXPECT_EQ(qt_holdout_parse_fraction("", &f, &e), QT_EINVAL);
}

/* Traded bars [20, 100): 80 bars; 25% holds out round(20) = 20, so the split
 * is bar 80 (opens at 80 min) and the last traded bar is 99. */
static void split_by_share(void) {
  fill_ts();
  qt_holdout_split s;
  qt_err e;
  EXPECT_EQ(qt_holdout_split_fraction(g_ts, 20, 100, 0.25, &s, &e), 0);
  EXPECT_EQ(s.from_i, 20);
  EXPECT_EQ(s.split_i, 80);
  EXPECT_EQ(s.to_i, 100);
  EXPECT_EQ(s.from_ms, 20 * 60000);
  EXPECT_EQ(s.split_ms, 80 * 60000);
  EXPECT_EQ(s.to_ms, 99 * 60000);
  /* 99% of 80 bars: round(79.2) = 79 out, 1 in: too few */
  EXPECT_EQ(qt_holdout_split_fraction(g_ts, 20, 100, 0.99, &s, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "1 bar(s) in sample and 79 out of sample");
  EXPECT_EQ(s.split_i, 0);
  /* 1% of 80: round(0.8) = 1 out: too few on that side */
  EXPECT_EQ(qt_holdout_split_fraction(g_ts, 20, 100, 0.01, &s, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "79 bar(s) in sample and 1 out of sample");
  EXPECT_EQ(qt_holdout_split_fraction(g_ts, 20, 100, 1.0, &s, &e), QT_EINVAL);
}

/* 50 min + 1 ms: the first bar opening at or after it is bar 51. */
static void split_by_time(void) {
  fill_ts();
  qt_holdout_split s;
  qt_err e;
  EXPECT_EQ(qt_holdout_split_time(g_ts, 0, 100, 50 * 60000 + 1, &s, &e), 0);
  EXPECT_EQ(s.split_i, 51);
  EXPECT_EQ(qt_holdout_split_time(g_ts, 0, 100, 50 * 60000, &s, &e), 0);
  EXPECT_EQ(s.split_i, 50);
  /* past the data: nothing out of sample */
  EXPECT_EQ(qt_holdout_split_time(g_ts, 0, 100, 200 * 60000, &s, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "--test-from");
  EXPECT_CONTAINS(e.msg, "0 out of sample");
  /* before the traded bars: nothing in sample */
  EXPECT_EQ(qt_holdout_split_time(g_ts, 30, 100, 0, &s, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "0 bar(s) in sample");
}

/* {3, 1, 3, 2}: 1 -> rank 1, 2 -> rank 2, the two 3s share ranks 3 and 4 -> 3.5. */
static void mid_ranks(void) {
  double v[] = {3, 1, 3, 2, NAN}, r[5];
  EXPECT_EQ(qt_holdout_ranks(v, 5, r, NULL), 0);
  EXPECT_NEAR(r[0], 3.5, 0);
  EXPECT_NEAR(r[1], 1, 0);
  EXPECT_NEAR(r[2], 3.5, 0);
  EXPECT_NEAR(r[3], 2, 0);
  EXPECT_TRUE(isnan(r[4]));
}

/* a = 1..5 ranks 1..5; b = {5, 6, 7, 8, 7} ranks {1, 2, 3.5, 5, 3.5}.
 * Both mean 3; deviations a {-2,-1,0,1,2}, b {-2,-1,0.5,2,0.5}:
 * sum ab = 4+1+0+2+1 = 8, sum aa = 10, sum bb = 4+1+0.25+4+0.25 = 9.5,
 * rho = 8 / sqrt(95) = 0.8207826816681233. */
static void spearman_with_ties(void) {
  double a[] = {1, 2, 3, 4, 5}, b[] = {5, 6, 7, 8, 7}, rho;
  EXPECT_EQ(qt_holdout_spearman(a, b, 5, &rho, NULL), 0);
  EXPECT_NEAR(rho, 0.8207826816681233, 1e-14);
  /* the classic 1 - 6 sum d^2 / (n (n^2 - 1)) holds without ties: reversed -> -1 */
  double c[] = {50, 40, 30, 20, 10};
  EXPECT_EQ(qt_holdout_spearman(a, c, 5, &rho, NULL), 0);
  EXPECT_NEAR(rho, -1, 1e-15);
  /* a NaN pair is left out: what remains is a perfect match */
  double d[] = {1, NAN, 3, 4, 5};
  EXPECT_EQ(qt_holdout_spearman(a, d, 5, &rho, NULL), 0);
  EXPECT_NEAR(rho, 1, 1e-15);
  /* one side constant: undefined */
  double k[] = {2, 2, 2, 2, 2};
  EXPECT_EQ(qt_holdout_spearman(a, k, 5, &rho, NULL), 0);
  EXPECT_TRUE(isnan(rho));
  EXPECT_EQ(qt_holdout_spearman(a, b, 1, &rho, NULL), 0);
  EXPECT_TRUE(isnan(rho));
}

/* Score 0.5 sharpe - 0.5 max_drawdown.  Study A rows (sharpe, dd): (1, 0.3),
 * (2, 0); study B: (3, 0.15), (0, 0).  Over the union sharpe spans [0, 3], dd
 * [0, 0.3]:  A0 = 0.5/3 - 0.5 = -1/3,  A1 = 0.5*2/3 - 0 = 1/3,
 * B0 = 0.5 - 0.5*0.5 = 0.25,  B1 = 0.  Within A alone A1 would score 0.5 and
 * within B alone B0 would score 0: not comparable; jointly A1 > B0. */
static void joint_normalization(void) {
  qt_goal g;
  qt_goal_default(&g, 0);
  ASSERT_TRUE(qt_goal_parse_weights(&g, "sharpe=0.5,max_drawdown=-0.5", NULL) == 0);
  double va[] = {1, 0.3, 2, 0}, vb[] = {3, 0.15, 0, 0}, sa[2], sb[2];
  EXPECT_EQ(qt_holdout_joint_scores(&g, va, 2, vb, 2, sa, sb, NULL), 0);
  EXPECT_NEAR(sa[0], -1.0 / 3, 1e-15);
  EXPECT_NEAR(sa[1], 1.0 / 3, 1e-15);
  EXPECT_NEAR(sb[0], 0.25, 1e-15);
  EXPECT_NEAR(sb[1], 0, 1e-15);
  /* a missing metric counts as its worst (0 for a positive weight) */
  double vc[] = {NAN, 0};
  EXPECT_EQ(qt_holdout_joint_scores(&g, va, 2, vc, 1, sa, sb, NULL), 0);
  EXPECT_NEAR(sb[0], 0, 1e-15);
}

/* A grid study of sphere (a^2 + b^2, minimized) over a in 1..3, b in 1..2;
 * its top 4 by value are 2 (1,1), 5, 5, 8.  The "out-of-sample" objective is
 * the same function, so every value repeats and the ranks correlate fully. */
static void run_store_load(void) {
  char dir[] = "/tmp/qt_holdout_XXXXXX", url[128];
  ASSERT_TRUE(mkdtemp(dir) != NULL);
  snprintf(url, sizeof url, "sqlite:///%s/h.db", dir);
  qt_space *sp = NULL;
  ASSERT_TRUE(qt_space_new(&sp, NULL) == 0);
  qt_dim a = {.name = "a", .type = QT_PARAM_INT, .lo = 1, .hi = 3, .step = 1, .def = 1};
  qt_dim b = {.name = "b", .type = QT_PARAM_INT, .lo = 1, .hi = 2, .step = 1, .def = 1};
  qt_space_add(sp, &a, NULL);
  qt_space_add(sp, &b, NULL);
  qt_study_opts o = qt_study_opts_default();
  o.name = "h";
  o.storage_url = url;
  o.sampler = qt_sampler_find("grid");
  strcpy(o.goal.metric, "value");
  o.goal.maximize = 0;
  qt_study *st = NULL;
  qt_err e;
  ASSERT_TRUE(qt_study_open(&o, sp, &st, &e) == 0);
  qt_objective obj;
  ASSERT_TRUE(qt_objective_function("sphere", &obj, NULL) == 0);
  qt_run_opts ro = qt_run_opts_default();
  ro.n_trials = 6;
  ro.jobs = 1;
  ASSERT_TRUE(qt_study_run(st, &obj, &ro, NULL, &e) == 0);
  fill_ts();
  qt_holdout_split s;
  ASSERT_TRUE(qt_holdout_split_fraction(g_ts, 0, 100, 0.25, &s, &e) == 0);
  qt_holdout_opts ho = qt_holdout_opts_default();
  EXPECT_EQ(ho.top_n, 10);
  ho.top_n = 4;
  char buf[16384], small[16];
  EXPECT_EQ(qt_holdout_run(st, &obj, &s, &ho, small, sizeof small, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "do not fit");
  EXPECT_EQ(qt_holdout_run(st, &obj, &s, &ho, buf, sizeof buf, &e), 0);
  EXPECT_CONTAINS(buf, "\"spearman\":1");
  EXPECT_CONTAINS(buf, "\"in_bars\":75,\"oos_bars\":25");
  EXPECT_CONTAINS(buf, "\"study_objective\":2");
  EXPECT_CONTAINS(buf, "\"is_objective\":2.0,\"oos_objective\":2.0");
  EXPECT_CONTAINS(buf, "\"oos\":{\"value\":2");
  EXPECT_EQ(qt_holdout_load(st, small, sizeof small, &e), QT_ENOTFOUND);
  EXPECT_CONTAINS(e.msg, "--holdout");
  EXPECT_EQ(qt_holdout_store(st, buf, &e), 0);
  qt_study_free(st);
  /* read back by a fresh open, as analyze does */
  qt_study_opts ro2 = qt_study_opts_default();
  ro2.name = "h";
  ro2.storage_url = url;
  ASSERT_TRUE(qt_study_open(&ro2, NULL, &st, &e) == 0);
  char back[16384];
  EXPECT_EQ(qt_holdout_load(st, back, sizeof back, &e), 0);
  EXPECT_STREQ(back, buf);
  FILE *f = tmpfile();
  ASSERT_TRUE(f != NULL);
  EXPECT_EQ(qt_holdout_write_table(back, f, &e), 0);
  rewind(f);
  char text[8192];
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = 0;
  fclose(f);
  EXPECT_CONTAINS(text, "in/out rank correlation (Spearman) of the top 4: 1");
  EXPECT_CONTAINS(text, "verdict:");
  EXPECT_EQ(qt_holdout_write_table("{}", stdout, &e), QT_EPARSE);
  qt_study_free(st);
  qt_objective_free(&obj);
  qt_space_free(sp);
}

/* Every allocation of the pure parts fails cleanly (ASan checks for leaks):
 * Spearman makes 4 buffers and ranks 2 more; ranks and joint scores one. */
static void alloc_failures(void) {
  double a[] = {1, 2, 3}, b[] = {3, 1, 2}, rho, rk[3];
  qt_err e;
  for (long n = 1; n <= 6; n++) {
    qt_alloc_fail_at(n, 0);
    int rc = qt_holdout_spearman(a, b, 3, &rho, &e);
    qt_alloc_fail_at(0, 0);
    EXPECT_EQ(rc, QT_ENOMEM);
    EXPECT_CONTAINS(e.msg, "out of memory");
    EXPECT_TRUE(isnan(rho));
  }
  qt_alloc_fail_at(1, 0);
  EXPECT_EQ(qt_holdout_ranks(a, 3, rk, &e), QT_ENOMEM);
  qt_alloc_fail_at(0, 0);
  qt_goal g;
  qt_goal_default(&g, 0);
  qt_alloc_fail_at(1, 0);
  EXPECT_EQ(qt_holdout_joint_scores(&g, a, 0, b, 0, rk, rk, &e), QT_ENOMEM);
  qt_alloc_fail_at(0, 0);
}

QT_TESTS(T(parse_fraction), T(split_by_share), T(split_by_time), T(mid_ranks),
         T(spearman_with_ties), T(joint_normalization), T(run_store_load),
         T(alloc_failures))
