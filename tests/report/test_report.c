/* The report layer: the Markdown of a study made by hand through the storage
 * API in a temp SQLite file (every cell worked out below), the <script>-safe
 * JSON escaping, a hostile study name in the HTML, and the out-of-memory
 * paths. */
#include "qt_test.h"
#include "qtune/report.h"
#include "report/report_int.h"

#include <jansson.h>
#include <unistd.h>

static char g_dir[64];

static void db_url(char *buf, size_t cap, const char *name) {
  if (!g_dir[0]) {
    strcpy(g_dir, "/tmp/qt_report_XXXXXX");
    if (!mkdtemp(g_dir)) abort();
  }
  snprintf(buf, cap, "sqlite:///%s/%s.db", g_dir, name);
}

/* Study `name`: minimize "value" under value <= 3, params x (float) and n
 * (int).  Trials, stored directly (no sampler, no objective):
 *   #0 complete value 3.5  x=2         n=5  violates value <= 3 by 0.5
 *   #1 complete value 1.25 x=0.1234567 n=3
 *   #2 complete value 2    x=-1        n=1
 *   #3 fail     ("boom")
 * So the top table is #1 (1.25), #2 (2), then the infeasible #0; x of #1
 * prints as %.6g = 0.123457. */
static int make_study(const char *url, const char *name) {
  qt_err e;
  qt_storage s;
  qt_space *sp = NULL;
  char space[2048], goal[2048], cfg[4096];
  if (qt_storage_open(url, &s, &e) || qt_space_new(&sp, &e)) return -1;
  qt_dim x = {.name = "x", .type = QT_PARAM_FLOAT, .lo = -2, .hi = 3};
  qt_dim n = {.name = "n", .type = QT_PARAM_INT, .lo = 1, .hi = 5, .step = 1, .def = 1};
  qt_goal g;
  qt_goal_default(&g, 0);
  strcpy(g.metric, "value");
  g.maximize = 0;
  int rc = qt_space_add(sp, &x, &e) || qt_space_add(sp, &n, &e) ||
           qt_space_to_json(sp, space, sizeof space, &e) ||
           qt_goal_parse_constraints(&g, "value<=3", &e) || qt_goal_to_json(&g, goal, sizeof goal, &e);
  qt_space_free(sp);
  if (rc) return -1;
  snprintf(cfg, sizeof cfg,
           "{\"seed\":42,\"sampler\":\"random\",\"goal\":%s,\"user\":{\"function\":\"by hand\"}}", goal);
  qt_study_rec rec;
  int created;
  if (s.vt->study_create(s.self, name, "[\"minimize\"]", space, cfg, &rec, &created, &e)) return -1;
  static const struct { const char *p, *m; int state, ok; double v; } t[] = {
      {"{\"x\":2,\"n\":5}", "{\"value\":3.5,\"violations\":{\"value\":0.5}}", QT_TRIAL_COMPLETE, 0, 3.5},
      {"{\"x\":0.1234567,\"n\":3}", "{\"value\":1.25}", QT_TRIAL_COMPLETE, 1, 1.25},
      {"{\"x\":-1,\"n\":1}", "{\"value\":2}", QT_TRIAL_COMPLETE, 1, 2},
      {"{\"x\":0,\"n\":2}", NULL, QT_TRIAL_FAIL, -1, NAN}};
  for (size_t i = 0; i < 4 && !rc; i++) {
    int64_t id, num;
    char vals[64];
    snprintf(vals, sizeof vals, "[%g]", t[i].v);
    rc = s.vt->trial_claim(s.self, rec.id, t[i].p, "test", 0, &id, &num, &e) ||
         s.vt->trial_finish(s.self, id, t[i].state, t[i].v, t[i].m ? vals : NULL, t[i].m,
                            t[i].ok, t[i].m ? NULL : "boom", &e);
  }
  qt_study_rec_fini(&rec);
  qt_storage_close(&s);
  if (rc) fprintf(stderr, "  make_study: %s\n", e.msg);
  return rc ? -1 : 0;
}

static qt_study *open_ro(const char *url, const char *name) {
  qt_study_opts o = qt_study_opts_default();
  o.name = name;
  o.storage_url = url;
  qt_study *st = NULL;
  qt_err e;
  if (qt_study_open(&o, NULL, &st, &e)) fprintf(stderr, "  open: %s\n", e.msg);
  return st;
}

/* The report of st in a heap string (free), or NULL with *rc set. */
static char *render(const qt_study *st, int html, const qt_report_opts *o, int *rc, qt_err *e) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) abort();
  *rc = html ? qt_report_study_html(st, o, f, e) : qt_report_study_md(st, o, f, e);
  fclose(f);
  if (*rc) {
    free(buf);
    return NULL;
  }
  return buf;
}

static void test_md_cells(void) {
  char url[256];
  db_url(url, sizeof url, "md");
  ASSERT_TRUE(make_study(url, "hand") == 0);
  qt_study *st = open_ro(url, "hand");
  ASSERT_TRUE(st);
  int rc;
  qt_err e;
  char *md = render(st, 0, NULL, &rc, &e);
  EXPECT_EQ(rc, QT_OK);
  ASSERT_TRUE(md);
  EXPECT_CONTAINS(md, "# Study report: hand\n");
  EXPECT_CONTAINS(md, "| function | by hand |\n");
  EXPECT_CONTAINS(md, "| sampler | random |\n");
  EXPECT_CONTAINS(md, "| seed | 42 |\n");
  EXPECT_CONTAINS(md, "| objective | value (minimize) |\n");
  EXPECT_CONTAINS(md, "| constraints | value <= 3 |\n");
  EXPECT_CONTAINS(md, "| param x | float [-2, 3] |\n");
  EXPECT_CONTAINS(md, "| param n | int [1, 5] |\n");
  EXPECT_CONTAINS(md, "| complete | 3 |\n| rejected | 0 |\n| pruned | 0 |\n| fail | 1 |\n"
                     "| running | 0 |\n| waiting | 0 |\n| total | 4 |\n");
  /* one column per parameter, values %.6g, not JSON */
  EXPECT_CONTAINS(md, "| rank | trial | value | feasible | x | n |\n|---|---|---|---|---|---|\n");
  EXPECT_CONTAINS(md, "| 1 | 1 | 1.25 | yes | 0.123457 | 3 |\n| 2 | 2 | 2 | yes | -1 | 1 |\n");
  EXPECT_CONTAINS(md, "| 3 | 0 |");
  EXPECT_CONTAINS(md, "| no | 2 | 5 |\n");
  EXPECT_TRUE(!strstr(md, "{\"x\""));
  EXPECT_CONTAINS(md, "1 of 3 complete trials violated at least one constraint.");
  EXPECT_CONTAINS(md, "| value <= 3 | 1 |\n");
  EXPECT_CONTAINS(md, "## Parameter importance");
  free(md);
  /* top_n bounds the table */
  qt_report_opts o = qt_report_opts_default();
  o.top_n = 1;
  md = render(st, 0, &o, &rc, &e);
  ASSERT_TRUE(md);
  EXPECT_CONTAINS(md, "## Top 1 trials");
  EXPECT_TRUE(!strstr(md, "| 2 | 2 |"));
  free(md);
  qt_study_free(st);
}

static void test_script_json(void) {
  const char *in = "{\"s\":\"</script><b>&\xe2\x80\xa8\"}";
  char buf[256];
  size_t len = 0;
  qt_err e;
  EXPECT_EQ(qt_report_script_json(in, buf, sizeof buf, &len, &e), QT_OK);
  EXPECT_STREQ(buf, "{\"s\":\"\\u003c/script\\u003e\\u003cb\\u003e\\u0026\\u2028\"}");
  EXPECT_EQ(len, strlen(buf));
  /* the same JSON value */
  json_t *a = json_loads(in, 0, NULL), *b = json_loads(buf, 0, NULL);
  EXPECT_TRUE(a && b && json_equal(a, b));
  json_decref(a);
  json_decref(b);
  /* too small: EINVAL naming the size needed */
  EXPECT_EQ(qt_report_script_json(in, buf, 10, &len, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "needs 53 bytes, buffer has 10");
  EXPECT_EQ(len, 0);
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

/* A study named to break out of the data <script>: the page keeps exactly its
 * three script elements and the name appears only escaped. */
static void test_html_escapes_name(void) {
  char url[256];
  const char *evil = "</script><script>alert(1)</script>";
  db_url(url, sizeof url, "html");
  ASSERT_TRUE(make_study(url, evil) == 0);
  qt_study *st = open_ro(url, evil);
  ASSERT_TRUE(st);
  int rc;
  qt_err e;
  char *h = render(st, 1, NULL, &rc, &e);
  EXPECT_EQ(rc, QT_OK);
  ASSERT_TRUE(h);
  EXPECT_EQ(count(h, "</script>"), 3); /* data, ECharts, the page script */
  EXPECT_EQ(count(h, "<script"), 3);
  EXPECT_TRUE(!strstr(h, "alert(1)</"));
  EXPECT_CONTAINS(h, "<span id=\"qt-study-name\">&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</span>");
  EXPECT_CONTAINS(h, "\"study\":\"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\"");
  EXPECT_CONTAINS(h, "<span id=\"qt-best-number\">1</span>");
  EXPECT_CONTAINS(h, "echarts"); /* the embedded library */
  free(h);
  qt_study_free(st);
}

/* Down-sampling: 3 complete trials with max_points 1 keep every 3rd plus the
 * best (#1) and the last (#2): all three here, but with stride 3 stated. */
static void test_html_downsample(void) {
  char url[256];
  db_url(url, sizeof url, "down");
  ASSERT_TRUE(make_study(url, "down") == 0);
  qt_study *st = open_ro(url, "down");
  ASSERT_TRUE(st);
  qt_report_opts o = qt_report_opts_default();
  o.max_points = 2;
  int rc;
  qt_err e;
  char *h = render(st, 1, &o, &rc, &e);
  ASSERT_TRUE(h);
  /* stride ceil(3/2) = 2: #0 (first), #1 (best), #2 (last, also 2nd stride) */
  EXPECT_CONTAINS(h, "\"n_complete\":3,\"n_shown\":3,\"stride\":2");
  free(h);
  o.max_points = 0; /* 0: never down-sample */
  h = render(st, 1, &o, &rc, &e);
  ASSERT_TRUE(h);
  EXPECT_CONTAINS(h, "\"stride\":1");
  free(h);
  qt_study_free(st);
}

/* The best-so-far line of a down-sampled history is exact: 1,000 trials
 * minimizing value, new bests at #0, #7, #13, #101, #333 and #777 (the
 * others worse than all of them), max_points 10 so stride 100: the rows are
 * #0, #100, ..., #900, the last (#999) and every new best, each with the
 * best so far at that trial. */
static void test_html_best_so_far_exact(void) {
  char url[256];
  db_url(url, sizeof url, "records");
  static const int rec[] = {0, 7, 13, 101, 333, 777};
  qt_err e;
  qt_storage s;
  qt_space *sp = NULL;
  char space[2048], goal[2048], cfg[4096];
  ASSERT_TRUE(qt_storage_open(url, &s, &e) == 0 && qt_space_new(&sp, &e) == 0);
  qt_dim x = {.name = "x", .type = QT_PARAM_FLOAT, .lo = 0, .hi = 1000};
  qt_goal g;
  qt_goal_default(&g, 0);
  strcpy(g.metric, "value");
  g.maximize = 0;
  ASSERT_TRUE(qt_space_add(sp, &x, &e) == 0 && qt_space_to_json(sp, space, sizeof space, &e) == 0 &&
              qt_goal_to_json(&g, goal, sizeof goal, &e) == 0);
  qt_space_free(sp);
  snprintf(cfg, sizeof cfg, "{\"seed\":1,\"sampler\":\"random\",\"goal\":%s}", goal);
  qt_study_rec sr;
  int created, rc = 0;
  ASSERT_TRUE(s.vt->study_create(s.self, "records", "[\"minimize\"]", space, cfg, &sr, &created, &e) == 0);
  for (int i = 0; i < 1000 && !rc; i++) {
    double v = 5000 + i % 7; /* worse than every new best */
    for (size_t k = 0; k < sizeof rec / sizeof rec[0]; k++)
      if (rec[k] == i) v = 1000 - i;
    char p[64], m[64], vals[64];
    snprintf(p, sizeof p, "{\"x\":%d}", i);
    snprintf(m, sizeof m, "{\"value\":%g}", v);
    snprintf(vals, sizeof vals, "[%g]", v);
    int64_t id, num;
    rc = s.vt->trial_claim(s.self, sr.id, p, "test", 0, &id, &num, &e) ||
         s.vt->trial_finish(s.self, id, QT_TRIAL_COMPLETE, v, vals, m, 1, NULL, &e);
  }
  qt_study_rec_fini(&sr);
  qt_storage_close(&s);
  ASSERT_TRUE(rc == 0);
  qt_study *st = open_ro(url, "records");
  ASSERT_TRUE(st);
  qt_report_opts o = qt_report_opts_default();
  o.max_points = 10;
  json_t *d = NULL;
  ASSERT_TRUE(qt__report_study_json(st, &o, &d, &e) == 0);
  json_t *rows = json_object_get(d, "trials");
  EXPECT_EQ(json_integer_value(json_object_get(d, "stride")), 100);
  EXPECT_EQ(json_array_size(rows), 16); /* 10 strided + #7, #13, #101, #333, #777, #999 */
  EXPECT_EQ(json_integer_value(json_object_get(d, "n_shown")), 16);
  /* every step of the line, at the trial that made it */
  size_t steps = 0;
  double last = NAN;
  for (size_t i = 0; i < json_array_size(rows); i++) {
    json_t *r = json_array_get(rows, i);
    int num = (int)json_integer_value(json_array_get(r, 0));
    double b = json_number_value(json_array_get(r, 3));
    if (b != last) {
      ASSERT_TRUE(steps < sizeof rec / sizeof rec[0]);
      EXPECT_EQ(num, rec[steps]);
      EXPECT_DBL_EQ(b, 1000.0 - rec[steps]);
      steps++;
      last = b;
    }
  }
  EXPECT_EQ(steps, sizeof rec / sizeof rec[0]);
  json_decref(d);
  qt_study_free(st);
}

/* Every allocation of the writers may fail: QT_ENOMEM with a message, no
 * leak (ASan), until the sweep passes the last one. */
static void test_oom_sweep(void) {
  char url[256];
  db_url(url, sizeof url, "oom");
  ASSERT_TRUE(make_study(url, "oom") == 0);
  qt_study *st = open_ro(url, "oom");
  ASSERT_TRUE(st);
  for (int html = 0; html < 2; html++) {
    int done = 0, failed = 0;
    for (long n = 1; n < 200 && !done; n++) {
      char *buf = NULL;
      size_t len = 0;
      FILE *f = open_memstream(&buf, &len);
      qt_err e = {0};
      qt_alloc_fail_at(n, 0);
      int rc = html ? qt_report_study_html(st, NULL, f, &e) : qt_report_study_md(st, NULL, f, &e);
      qt_alloc_fail_at(0, 0);
      fclose(f);
      free(buf);
      if (rc == QT_OK) done = 1;
      else {
        failed++;
        EXPECT_EQ(rc, QT_ENOMEM);
        EXPECT_CONTAINS(e.msg, "out of memory");
      }
    }
    EXPECT_TRUE(done);
    EXPECT_TRUE(failed > 0); /* the sweep reached the writers' own allocations */
  }
  qt_study_free(st);
}

static void test_opts_default(void) {
  qt_report_opts o = qt_report_opts_default();
  EXPECT_EQ(o.top_n, 10);
  EXPECT_EQ(o.max_points, 2000);
}

QT_TESTS(T(test_md_cells), T(test_script_json), T(test_html_escapes_name),
         T(test_html_downsample), T(test_html_best_so_far_exact), T(test_oom_sweep),
         T(test_opts_default))
