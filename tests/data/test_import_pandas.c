/* pandas' to_csv layout (backtesting.py's own data): the first column is the
 * date index with an empty header.  With no other time column it is read as
 * the time; a named time column still wins; a bad date names file, line and
 * field. */
#include "qt_test.h"
#include "qtune/data.h"

#include <stdlib.h>

static char g_dir[64];

static const char *write_tmp(const char *name, const char *text, char *buf, size_t cap) {
  if (!g_dir[0]) {
    snprintf(g_dir, sizeof g_dir, "/tmp/qt_test_pandas_XXXXXX");
    if (!mkdtemp(g_dir)) abort();
  }
  snprintf(buf, cap, "%s/%s", g_dir, name);
  FILE *f = fopen(buf, "wb");
  if (!f) abort();
  fputs(text, f);
  fclose(f);
  return buf;
}

static int import1(const char *path, qt_import *im, qt_err *e) {
  const char *p[1] = {path};
  return qt_import_files(p, 1, NULL, im, e);
}

static void fixture_reads(void) {
  char p[512];
  snprintf(p, sizeof p, "%s/oracles/ttrc_pandas.csv", qt_test_fixtures());
  qt_import im;
  qt_err e = {0};
  ASSERT_TRUE(import1(p, &im, &e) == QT_OK);
  /* rows 1001-2000 of ttrc.csv: 1988-12-15,5.45,5.48,5.41,5.46,2460104 first */
  EXPECT_EQ(im.bars.n, 1000);
  EXPECT_EQ(im.bars.ts_ms[0], 598147200000LL); /* 1988-12-15 00:00 UTC */
  EXPECT_TRUE(im.bars.open[0] == 5.45 && im.bars.high[0] == 5.48 && im.bars.low[0] == 5.41);
  EXPECT_TRUE(im.bars.close[0] == 5.46 && im.bars.volume[0] == 2460104);
  EXPECT_EQ(im.bars.interval_ms, 86400000);
  EXPECT_EQ(im.bars.ts_ms[999], 722822400000LL); /* 1992-11-27 */
  qt_import_fini(&im);
}

static void small_cases(void) {
  char p[512];
  qt_import im;
  qt_err e = {0};
  /* blanks or a quoted "" count as empty too */
  write_tmp("q.csv", "\"\",Open,High,Low,Close\n2020-01-01,1,2,0.5,1.5\n2020-01-02,1.5,2,1,2\n", p,
            sizeof p);
  ASSERT_TRUE(import1(p, &im, &e) == QT_OK);
  EXPECT_EQ(im.bars.n, 2);
  EXPECT_EQ(im.bars.ts_ms[1], 1577923200000LL); /* 2020-01-02 */
  qt_import_fini(&im);
  /* a named time column wins: the unnamed first column (a row number) is not read */
  write_tmp("named.csv", ",date,open,high,low,close\n0,2020-01-01,1,2,0.5,1.5\n1,2020-01-02,1.5,2,1,2\n",
            p, sizeof p);
  ASSERT_TRUE(import1(p, &im, &e) == QT_OK);
  EXPECT_EQ(im.bars.ts_ms[0], 1577836800000LL);
  qt_import_fini(&im);
  /* a first column that is not dates: the row, the column and the text */
  write_tmp("bad.csv", ",Open,High,Low,Close\n2020-01-01,1,1,1,1\nnotadate,1,1,1,1\n", p, sizeof p);
  EXPECT_EQ(import1(p, &im, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "bad.csv:3: field 'time (unnamed first column)': not a timestamp (\"notadate\")");
  /* an empty header elsewhere than first is not a time column */
  write_tmp("mid.csv", "open,,high,low,close\n1,2020-01-01,2,0.5,1.5\n", p, sizeof p);
  EXPECT_EQ(import1(p, &im, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "no 'time' column");
}

QT_TESTS(T(fixture_reads), T(small_cases))
