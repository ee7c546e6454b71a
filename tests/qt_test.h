/* qtune's test harness: a table of test functions per file, typed EXPECT_*
 * macros that report file:line and keep going, and a main() that runs the
 * table (or the tests named on the command line) and ends with
 * "N passed, N failed".  Each test file is its own program. */
#ifndef QTUNE_TESTS_QT_TEST_H
#define QTUNE_TESTS_QT_TEST_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*qt_test_fn)(void);
typedef struct qt_test_case {
  const char *name;
  qt_test_fn fn;
} qt_test_case;

static int qt_test_failed_;

#define QT_TEST_FAIL_(...)                                     \
  do {                                                         \
    fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);          \
    fprintf(stderr, __VA_ARGS__);                              \
    fputc('\n', stderr);                                       \
    qt_test_failed_ = 1;                                       \
  } while (0)

#define EXPECT_TRUE(c) \
  do { if (!(c)) QT_TEST_FAIL_("expected true: %s", #c); } while (0)
#define EXPECT_EQ(a, b)                                                              \
  do {                                                                               \
    long long qa_ = (long long)(a), qb_ = (long long)(b);                            \
    if (qa_ != qb_) QT_TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, qa_, qb_);       \
  } while (0)
#define EXPECT_NE(a, b)                                                              \
  do {                                                                               \
    long long qa_ = (long long)(a), qb_ = (long long)(b);                            \
    if (qa_ == qb_) QT_TEST_FAIL_("%s != %s: both %lld", #a, #b, qa_);               \
  } while (0)
#define EXPECT_U64_EQ(a, b)                                                          \
  do {                                                                               \
    uint64_t qa_ = (uint64_t)(a), qb_ = (uint64_t)(b);                               \
    if (qa_ != qb_)                                                                  \
      QT_TEST_FAIL_("%s == %s: %" PRIu64 " != %" PRIu64, #a, #b, qa_, qb_);          \
  } while (0)
/* |a-b| <= tol * max(1, |b|): relative with an absolute floor near zero. */
#define EXPECT_NEAR(a, b, tol)                                                       \
  do {                                                                               \
    double qa_ = (double)(a), qb_ = (double)(b), qt_ = (double)(tol);                \
    double qs_ = fabs(qb_) > 1.0 ? fabs(qb_) : 1.0;                                  \
    if (!(fabs(qa_ - qb_) <= qt_ * qs_))                                             \
      QT_TEST_FAIL_("%s ~ %s: %.17g vs %.17g (tol %g)", #a, #b, qa_, qb_, qt_);      \
  } while (0)
#define EXPECT_STREQ(a, b)                                                           \
  do {                                                                               \
    const char *qa_ = (a), *qb_ = (b);                                               \
    if (!qa_ || !qb_ || strcmp(qa_, qb_) != 0)                                       \
      QT_TEST_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, qa_ ? qa_ : "(null)",      \
                    qb_ ? qb_ : "(null)");                                           \
  } while (0)
#define EXPECT_CONTAINS(hay, needle)                                                 \
  do {                                                                               \
    const char *qh_ = (hay), *qn_ = (needle);                                        \
    if (!qh_ || !strstr(qh_, qn_))                                                   \
      QT_TEST_FAIL_("%s contains \"%s\": got \"%s\"", #hay, qn_, qh_ ? qh_ : "(null)"); \
  } while (0)
/* Stops the current test (for preconditions whose failure makes the rest moot). */
#define ASSERT_TRUE(c)                                                               \
  do { if (!(c)) { QT_TEST_FAIL_("required: %s", #c); return; } } while (0)

#define QT_TESTS(...)                                                                \
  static const qt_test_case qt_tests_[] = {__VA_ARGS__};                             \
  int main(int argc, char **argv) {                                                  \
    int pass = 0, fail = 0;                                                          \
    size_t n = sizeof qt_tests_ / sizeof qt_tests_[0];                               \
    for (size_t i = 0; i < n; i++) {                                                 \
      int want = argc < 2;                                                           \
      for (int a = 1; a < argc; a++) want |= strcmp(argv[a], qt_tests_[i].name) == 0; \
      if (!want) continue;                                                           \
      qt_test_failed_ = 0;                                                           \
      qt_tests_[i].fn();                                                             \
      printf("%s %s\n", qt_test_failed_ ? "FAIL" : "ok  ", qt_tests_[i].name);       \
      fflush(stdout);                                                                \
      if (qt_test_failed_) fail++; else pass++;                                      \
    }                                                                                \
    printf("%d passed, %d failed\n", pass, fail);                                    \
    return fail ? 1 : 0;                                                             \
  }
#define T(fn) {#fn, fn}

/* Folder of the test data carried in the tree (trimmed copies of real files,
 * sources in tests/fixtures/README.md), relative to the repository root where
 * tests/run.sh runs every test.  No environment override: a test reads only
 * what is committed, so a bare clone passes. */
static inline const char *qt_test_fixtures(void) { return "tests/fixtures"; }

#endif
