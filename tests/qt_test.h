/* qtune's test harness: a table of test functions per file, typed EXPECT_*
 * macros that report file:line and keep going, and a main() that runs the
 * table (or the tests named on the command line) and ends with
 * "N passed, N failed".  Each test file is its own program.
 *
 * Pick the assert by type: a floating or pointer operand to an integer
 * assert is a compile error, not a silent cast.
 *   EXPECT_EQ/EXPECT_NE(a, b)  integers and enums (EXPECT_U64_EQ: the same)
 *   EXPECT_DBL_EQ(a, b)        doubles, exactly (==, and NaN equals NaN)
 *   EXPECT_NEAR(a, b, tol)     doubles within a stated relative tolerance
 *   EXPECT_STREQ, EXPECT_CONTAINS  strings; EXPECT_PTR_EQ/NE  pointers
 * tests/e2e/test_asserts.sh checks the refusals and the verdicts. */
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
/* Integer asserts.  EXPECT_EQ and EXPECT_NE take integer (and enum) operands
 * only: a float or double operand is a compile error (a double used to be
 * truncated to long long, so 0.5 == 0 passed); use EXPECT_DBL_EQ or
 * EXPECT_NEAR.  A pointer has no integer arm either: use EXPECT_PTR_EQ.
 * Signed and unsigned operands compare by value (-1 != UINT64_MAX). */
typedef struct qt_test_int_ { int neg; uintmax_t mag; } qt_test_int_;
static inline qt_test_int_ qt_test_int_s_(intmax_t v) {
  qt_test_int_ r = {v < 0, v < 0 ? -(uintmax_t)v : (uintmax_t)v};
  return r;
}
static inline qt_test_int_ qt_test_int_u_(uintmax_t v) {
  qt_test_int_ r = {0, v};
  return r;
}
static inline int qt_test_int_eq_(qt_test_int_ a, qt_test_int_ b) {
  return a.neg == b.neg && a.mag == b.mag;
}
/* 1 for a floating type; an integer constant expression, nothing evaluated. */
#define QT_TEST_IS_FLOAT_(x) _Generic((x), float: 1, double: 1, long double: 1, default: 0)
/* The value of an integer operand, evaluated once.  Types narrower than
 * intmax_t (char of either sign, _Bool) go through the signed arm by value.
 * The floating arms only keep the compiler to the _Static_assert's message. */
#define QT_TEST_INT_(x)                                                               \
  _Generic((x), _Bool: qt_test_int_s_, char: qt_test_int_s_,                          \
           signed char: qt_test_int_s_, unsigned char: qt_test_int_s_,                \
           short: qt_test_int_s_, unsigned short: qt_test_int_s_,                     \
           int: qt_test_int_s_, unsigned: qt_test_int_u_, long: qt_test_int_s_,       \
           unsigned long: qt_test_int_u_, long long: qt_test_int_s_,                  \
           unsigned long long: qt_test_int_u_, float: qt_test_int_s_,                 \
           double: qt_test_int_s_, long double: qt_test_int_s_)(x)
#define QT_TEST_INT_ONLY_(m, a, b)                                                    \
  _Static_assert(!QT_TEST_IS_FLOAT_(a) && !QT_TEST_IS_FLOAT_(b),                     \
                 m "(" #a ", " #b "): floating operand; use EXPECT_DBL_EQ (exact) "  \
                 "or EXPECT_NEAR (tolerance)")
#define EXPECT_EQ(a, b)                                                              \
  do {                                                                               \
    QT_TEST_INT_ONLY_("EXPECT_EQ", a, b);                                            \
    qt_test_int_ qa_ = QT_TEST_INT_(a), qb_ = QT_TEST_INT_(b);                       \
    if (!qt_test_int_eq_(qa_, qb_))                                                  \
      QT_TEST_FAIL_("%s == %s: %s%ju != %s%ju", #a, #b, qa_.neg ? "-" : "", qa_.mag, \
                    qb_.neg ? "-" : "", qb_.mag);                                    \
  } while (0)
#define EXPECT_NE(a, b)                                                              \
  do {                                                                               \
    QT_TEST_INT_ONLY_("EXPECT_NE", a, b);                                            \
    qt_test_int_ qa_ = QT_TEST_INT_(a), qb_ = QT_TEST_INT_(b);                       \
    if (qt_test_int_eq_(qa_, qb_))                                                   \
      QT_TEST_FAIL_("%s != %s: both %s%ju", #a, #b, qa_.neg ? "-" : "", qa_.mag);     \
  } while (0)
/* Kept for the call sites that hash or count in uint64_t: the same typed
 * comparison as EXPECT_EQ. */
#define EXPECT_U64_EQ(a, b) EXPECT_EQ(a, b)
/* Pointer identity (NULL included); an integer operand is a compile warning. */
#define EXPECT_PTR_EQ(a, b)                                                          \
  do {                                                                               \
    const void *qa_ = (a), *qb_ = (b);                                               \
    if (qa_ != qb_) QT_TEST_FAIL_("%s == %s: %p != %p", #a, #b, qa_, qb_);           \
  } while (0)
#define EXPECT_PTR_NE(a, b)                                                          \
  do {                                                                               \
    const void *qa_ = (a), *qb_ = (b);                                               \
    if (qa_ == qb_) QT_TEST_FAIL_("%s != %s: both %p", #a, #b, qa_);                 \
  } while (0)
/* Exact double equality by ==, so 0.0 equals -0.0; NaN equals NaN here (a
 * test that expects NaN says so with NAN), unlike ==.  Integer operands are
 * converted to double. */
#define EXPECT_DBL_EQ(a, b)                                                          \
  do {                                                                               \
    double qa_ = (double)(a), qb_ = (double)(b);                                     \
    if (!(qa_ == qb_ || (isnan(qa_) && isnan(qb_))))                                 \
      QT_TEST_FAIL_("%s == %s: %.17g != %.17g", #a, #b, qa_, qb_);                   \
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
