#include "qt_test.h"
#include "qtune/core.h"

#include <stdint.h>

static void version_matches(void) { EXPECT_STREQ(qt_version(), QT_VERSION); }

static void status_texts(void) {
  EXPECT_STREQ(qt_status_str(QT_EPARSE), "malformed input");
  EXPECT_STREQ(qt_status_name(QT_ENOMEM), "ENOMEM");
  EXPECT_STREQ(qt_status_str(-999), "unknown status");
  qt_err e;
  EXPECT_EQ(qt_err_set(&e, QT_EPARSE, "field '%s'", "close"), QT_EPARSE);
  EXPECT_STREQ(e.msg, "field 'close'");
  qt_err_prefix(&e, "%s:%d", "bars.csv", 118);
  EXPECT_STREQ(e.msg, "bars.csv:118: field 'close'");
  EXPECT_EQ(qt_err_set(NULL, QT_EIO, "x"), QT_EIO);
}

static void rng_reproducible_and_streams_differ(void) {
  qt_rng a, b, c;
  qt_rng_seed(&a, 42);
  qt_rng_seed(&b, 42);
  for (int i = 0; i < 100; i++) EXPECT_U64_EQ(qt_rng_u64(&a), qt_rng_u64(&b));
  qt_rng_stream(&a, 7, 1);
  qt_rng_stream(&b, 7, 2);
  qt_rng_stream(&c, 7, 1);
  int same = 0;
  for (int i = 0; i < 100; i++) {
    uint64_t x = qt_rng_u64(&a);
    same += x == qt_rng_u64(&b);
    EXPECT_U64_EQ(x, qt_rng_u64(&c));
  }
  EXPECT_EQ(same, 0);
  /* Reference value of xoshiro256** for state {1,2,3,4}: 11520 then 0. */
  qt_rng r = {{1, 2, 3, 4}};
  EXPECT_U64_EQ(qt_rng_u64(&r), 11520);
  EXPECT_U64_EQ(qt_rng_u64(&r), 0);
  qt_rng j = {{1, 2, 3, 4}}, k = {{1, 2, 3, 4}};
  qt_rng_jump(&j);
  EXPECT_TRUE(j.s[0] != k.s[0]);
}

static void rng_distributions(void) {
  qt_rng r;
  qt_rng_seed(&r, 1);
  double sum = 0, sq = 0;
  int counts[10] = {0};
  for (int i = 0; i < 100000; i++) {
    double u = qt_rng_uniform(&r);
    EXPECT_TRUE(u >= 0 && u < 1);
    counts[qt_rng_below(&r, 10)]++;
    double z = qt_rng_normal(&r);
    sum += z;
    sq += z * z;
  }
  for (int k = 0; k < 10; k++) EXPECT_TRUE(counts[k] > 9500 && counts[k] < 10500);
  EXPECT_NEAR(sum / 100000, 0.0, 0.02);
  EXPECT_NEAR(sq / 100000, 1.0, 0.02);
}

static void time_epochs_by_magnitude(void) {
  int64_t t;
  EXPECT_EQ(qt_time_parse("1780272000", 10, &t, NULL), 0);
  EXPECT_EQ(t, 1780272000000LL);
  EXPECT_EQ(qt_time_parse("1780272000000", 13, &t, NULL), 0);
  EXPECT_EQ(t, 1780272000000LL);
  EXPECT_EQ(qt_time_parse("1780272000000123", 16, &t, NULL), 0);
  EXPECT_EQ(t, 1780272000000LL);
  EXPECT_EQ(qt_time_parse("1780272000000123456", 19, &t, NULL), 0);
  EXPECT_EQ(t, 1780272000000LL);
  qt_err e;
  EXPECT_EQ(qt_time_parse("17802x", 6, &t, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "17802x");
}

static int64_t fmt_ms(const char *s, const char *fmt, int *rc) {
  int64_t t = -1;
  *rc = qt_time_parse_fmt(s, strlen(s), fmt, &t, NULL);
  return t;
}

static void time_formats(void) {
  int rc;
  const int64_t d0 = 1709769600000LL; /* 2024-03-07T00:00:00Z */
  EXPECT_EQ(fmt_ms("07/03/2024 09:05", "%d/%m/%Y %H:%M", &rc), d0 + 9 * 3600000LL + 5 * 60000LL);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(fmt_ms("3/7/24", "%m/%d/%y", &rc), d0);
  EXPECT_EQ(fmt_ms("7 Mar 2024", "%d %b %Y", &rc), d0);
  EXPECT_EQ(fmt_ms("7  MARCH 2024", "%d %B %Y", &rc), d0); /* a space matches a run */
  EXPECT_EQ(fmt_ms("20240307", "%Y%m%d", &rc), d0);
  EXPECT_EQ(fmt_ms("03/07/2024 12:30 AM", "%m/%d/%Y %I:%M %p", &rc), d0 + 30 * 60000LL);
  EXPECT_EQ(fmt_ms("03/07/2024 12:30 pm", "%m/%d/%Y %I:%M %p", &rc), d0 + 12 * 3600000LL + 30 * 60000LL);
  EXPECT_EQ(fmt_ms("03/07/2024 1:00 PM", "%m/%d/%Y %I:%M %p", &rc), d0 + 13 * 3600000LL);
  EXPECT_EQ(fmt_ms("2024-03-07T09:05:01.5+02:00", "%Y-%m-%dT%H:%M:%S.%f%z", &rc),
            d0 + 7 * 3600000LL + 5 * 60000LL + 1500);
  EXPECT_EQ(fmt_ms("2024-03-07 00:00:00.123456Z", "%Y-%m-%d %H:%M:%S.%f%z", &rc), d0 + 123);
  EXPECT_EQ(fmt_ms("1709769600 ", "%s", &rc), d0);
  EXPECT_EQ(fmt_ms("99-12-31", "%y-%m-%d", &rc), 946598400000LL); /* 1999 */
  EXPECT_EQ(fmt_ms("10%", "%d%%", &rc), qt_time_days_from_civil(1970, 1, 10) * 86400000LL);
  EXPECT_EQ(rc, 0);
  fmt_ms("100%", "%d%%", &rc); /* %d reads two digits at most */
  EXPECT_EQ(rc, QT_EPARSE);
  EXPECT_EQ(fmt_ms("29/02/2024", "%d/%m/%Y", &rc), 1709164800000LL);
  EXPECT_EQ(rc, 0);
  fmt_ms("29/02/2023", "%d/%m/%Y", &rc);
  EXPECT_EQ(rc, QT_EPARSE);
  fmt_ms("31/04/2024", "%d/%m/%Y", &rc);
  EXPECT_EQ(rc, QT_EPARSE);
  fmt_ms("07/03/2024 09:05x", "%d/%m/%Y %H:%M", &rc); /* trailing text */
  EXPECT_EQ(rc, QT_EPARSE);
  fmt_ms("07/03/2024 24:00", "%d/%m/%Y %H:%M", &rc);
  EXPECT_EQ(rc, QT_EPARSE);
  fmt_ms("2024-03-07", "%d/%m/%Y", &rc);
  EXPECT_EQ(rc, QT_EPARSE);
  fmt_ms("13:00 PM", "%I:%M %p", &rc);
  EXPECT_EQ(rc, QT_EPARSE);
  qt_err e;
  int64_t t;
  EXPECT_EQ(qt_time_parse_fmt("x", 1, "%Y-%Q", &t, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "unknown directive %Q");
  EXPECT_EQ(qt_time_parse_fmt("2024/03/07", 10, "%Y-%m-%d", &t, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "not a date in the format \"%Y-%m-%d\" (\"2024/03/07\")");
}

static void time_iso(void) {
  int64_t t;
  const char *s = "2026-06-01T00:00:00Z";
  EXPECT_EQ(qt_time_parse(s, strlen(s), &t, NULL), 0);
  EXPECT_EQ(t, 1780272000000LL);
  s = "2026-06-01 00:00:00";
  EXPECT_EQ(qt_time_parse(s, strlen(s), &t, NULL), 0);
  EXPECT_EQ(t, 1780272000000LL);
  s = "2026-06-01";
  EXPECT_EQ(qt_time_parse(s, strlen(s), &t, NULL), 0);
  EXPECT_EQ(t, 1780272000000LL);
  s = "2021-11-18T00:00:00.017Z";
  EXPECT_EQ(qt_time_parse(s, strlen(s), &t, NULL), 0);
  EXPECT_EQ(t, 1637193600017LL);
  s = "2023-02-02 09:20:00.138000+00:00";
  EXPECT_EQ(qt_time_parse(s, strlen(s), &t, NULL), 0);
  EXPECT_EQ(t, 1675329600138LL);
  s = "2026-06-01T02:00:00+02:00";
  EXPECT_EQ(qt_time_parse(s, strlen(s), &t, NULL), 0);
  EXPECT_EQ(t, 1780272000000LL);
  s = "1969-12-31T23:59:59Z";
  EXPECT_EQ(qt_time_parse(s, strlen(s), &t, NULL), 0);
  EXPECT_EQ(t, -1000);
  s = "2026-13-01";
  EXPECT_EQ(qt_time_parse(s, strlen(s), &t, NULL), QT_EPARSE);
  s = "2026-06-01T25:00";
  EXPECT_EQ(qt_time_parse(s, strlen(s), &t, NULL), QT_EPARSE);
  char buf[40];
  EXPECT_STREQ(qt_time_format(1637193600017LL, buf, sizeof buf), "2021-11-18T00:00:00.017Z");
  EXPECT_STREQ(qt_time_format(-1000, buf, sizeof buf), "1969-12-31T23:59:59Z");
  for (int64_t d = -800000; d < 800000; d += 997) {
    int64_t y;
    int m, dd;
    qt_time_civil_from_days(d, &y, &m, &dd);
    EXPECT_EQ(qt_time_days_from_civil(y, m, dd), d);
  }
}

/* Compact dates: 8 digits are YYYYMMDD, never epoch seconds (which would
 * be 1970-1973); a 10-digit number stays an epoch. */
static void time_compact_dates(void) {
  int64_t t;
  qt_err e = {0};
  const char *s = "20260701";
  EXPECT_EQ(qt_time_parse(s, strlen(s), &t, NULL), 0);
  EXPECT_EQ(t, 1782864000000LL); /* 2026-06-01 + 30 days */
  s = "20260701T1230";
  EXPECT_EQ(qt_time_parse(s, strlen(s), &t, NULL), 0);
  EXPECT_EQ(t, 1782864000000LL + 45000000LL);
  s = "20260701 1230";
  EXPECT_EQ(qt_time_parse(s, strlen(s), &t, NULL), 0);
  EXPECT_EQ(t, 1782864000000LL + 45000000LL);
  s = "20260701 123045";
  EXPECT_EQ(qt_time_parse(s, strlen(s), &t, NULL), 0);
  EXPECT_EQ(t, 1782864000000LL + 45045000LL);
  s = "20260701T123045Z";
  EXPECT_EQ(qt_time_parse(s, strlen(s), &t, NULL), 0);
  EXPECT_EQ(t, 1782864000000LL + 45045000LL);
  s = "20240229";
  EXPECT_EQ(qt_time_parse(s, strlen(s), &t, NULL), 0);
  EXPECT_EQ(t, (int64_t)qt_time_days_from_civil(2024, 2, 29) * 86400000);
  s = "1782864000";
  EXPECT_EQ(qt_time_parse(s, strlen(s), &t, NULL), 0);
  EXPECT_EQ(t, 1782864000000LL);
  const char *bad[] = {"20261301", "20260632", "20230229", "20260701T2500", "20260701T12",
                       "20260701T1230x"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    EXPECT_EQ(qt_time_parse(bad[k], strlen(bad[k]), &t, &e), QT_EPARSE);
    EXPECT_EQ(t, 0);
  }
  EXPECT_CONTAINS(e.msg, "\"20260701T1230x\"");
  EXPECT_CONTAINS(e.msg, "YYYYMMDD");
}

/* freqtrade's --timerange: START-END, START-, -END; open ends are the
 * extremes of int64. */
static void time_ranges(void) {
  int64_t f, t;
  qt_err e = {0};
  const char *s = "20260601-20260701";
  EXPECT_EQ(qt_time_parse_range(s, strlen(s), &f, &t, NULL), 0);
  EXPECT_EQ(f, 1780272000000LL);
  EXPECT_EQ(t, 1782864000000LL);
  s = "20260601-";
  EXPECT_EQ(qt_time_parse_range(s, strlen(s), &f, &t, NULL), 0);
  EXPECT_EQ(f, 1780272000000LL);
  EXPECT_TRUE(t == INT64_MAX);
  s = "-20260701";
  EXPECT_EQ(qt_time_parse_range(s, strlen(s), &f, &t, NULL), 0);
  EXPECT_TRUE(f == INT64_MIN);
  EXPECT_EQ(t, 1782864000000LL);
  s = "1780272000-1782864000000"; /* epochs, unit by magnitude */
  EXPECT_EQ(qt_time_parse_range(s, strlen(s), &f, &t, NULL), 0);
  EXPECT_EQ(f, 1780272000000LL);
  EXPECT_EQ(t, 1782864000000LL);
  s = "20260601T1200-20260601T1300";
  EXPECT_EQ(qt_time_parse_range(s, strlen(s), &f, &t, NULL), 0);
  EXPECT_EQ(t - f, 3600000);
  s = "20260701-20260601";
  EXPECT_EQ(qt_time_parse_range(s, strlen(s), &f, &t, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "not before the end");
  EXPECT_TRUE(f == INT64_MIN && t == INT64_MAX);
  s = "20260601-2026x701";
  EXPECT_EQ(qt_time_parse_range(s, strlen(s), &f, &t, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "time range \"20260601-2026x701\": end: not a timestamp");
  const char *bad[] = {"", "-", "20260601", "2026-06-01-2026-07-01", "x-20260601"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
    EXPECT_EQ(qt_time_parse_range(bad[k], strlen(bad[k]), &f, &t, &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "start: not a timestamp (\"x\")");
}

static void durations(void) {
  int64_t ms;
  EXPECT_EQ(qt_duration_parse("15m", &ms, NULL), 0);
  EXPECT_EQ(ms, 900000);
  EXPECT_EQ(qt_duration_parse("4h", &ms, NULL), 0);
  EXPECT_EQ(ms, 14400000);
  EXPECT_EQ(qt_duration_parse("1d", &ms, NULL), 0);
  EXPECT_EQ(ms, 86400000);
  EXPECT_EQ(qt_duration_parse("0m", &ms, NULL), QT_EINVAL);
  EXPECT_EQ(qt_duration_parse("5x", &ms, NULL), QT_EINVAL);
  /* found by fuzz_text: v * unit overflowed int64 (UB) */
  EXPECT_EQ(qt_duration_parse("2620060100601601h", &ms, NULL), QT_EINVAL);
  EXPECT_EQ(qt_duration_parse("2562047788015h", &ms, NULL), 0); /* the largest whole hours */
  char b[16];
  EXPECT_STREQ(qt_duration_format(3600000, b, sizeof b), "1h");
  EXPECT_STREQ(qt_duration_format(300000, b, sizeof b), "5m");
}

static void alloc_hook_fails_nth(void) {
  qt_alloc_fail_at(2, 0);
  void *a = qt_malloc(8), *b = qt_malloc(8), *c = qt_malloc(8);
  EXPECT_TRUE(a != NULL);
  EXPECT_TRUE(b == NULL);
  EXPECT_TRUE(c != NULL);
  qt_free(a);
  qt_free(c);
  qt_alloc_fail_at(1, 1);
  EXPECT_TRUE(qt_malloc(1) == NULL);
  EXPECT_TRUE(qt_calloc(1, 1) == NULL);
  qt_alloc_fail_at(0, 0);
  a = qt_malloc(1);
  EXPECT_TRUE(a != NULL);
  qt_free(a);
}

/* The VmFlags of the mapping holding address a ("" when not found). */
static void vm_flags_of(uintptr_t a, char *out, size_t cap) {
  out[0] = 0;
  FILE *f = fopen("/proc/self/smaps", "r");
  if (!f) return;
  char line[512];
  int in = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
      in = a >= lo && a < hi;
    } else if (in && strncmp(line, "VmFlags:", 8) == 0) {
      snprintf(out, cap, "%s", line + 8);
      break;
    }
  }
  fclose(f);
}

/* Blocks of 4 MB and more ask for transparent huge pages (the madvise
 * flag "hg" on their mapping); small ones do not. */
static void alloc_big_blocks_ask_for_huge_pages(void) {
  FILE *t = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (!t) {
    fprintf(stderr, "  (no transparent huge pages in this kernel: nothing to check)\n");
    return;
  }
  fclose(t);
  const uintptr_t hp = (uintptr_t)2 << 20;
  char flags[256];
  char *big = qt_malloc(8u << 20);
  ASSERT_TRUE(big != NULL);
  vm_flags_of(((uintptr_t)big + hp - 1) & ~(hp - 1), flags, sizeof flags);
  EXPECT_CONTAINS(flags, " hg");
  double *col = qt_calloc(1u << 20, sizeof(double)); /* an 8 MB column */
  ASSERT_TRUE(col != NULL);
  vm_flags_of(((uintptr_t)col + hp - 1) & ~(hp - 1), flags, sizeof flags);
  EXPECT_CONTAINS(flags, " hg");
  char *grown = qt_realloc(qt_malloc(64), 16u << 20);
  ASSERT_TRUE(grown != NULL);
  vm_flags_of(((uintptr_t)grown + 9 * hp) & ~(hp - 1), flags, sizeof flags);
  EXPECT_CONTAINS(flags, " hg");
  qt_free(big);
  qt_free(col);
  qt_free(grown);
}

static int g_lines;
static void sink(void *ud, qt_log_level l, const char *m) {
  (void)ud;
  (void)l;
  if (strstr(m, "hello 3")) g_lines++;
}

static void logging_levels(void) {
  qt_log_level l;
  EXPECT_EQ(qt_log_level_parse("debug", &l), 0);
  EXPECT_EQ(l, QT_LOG_DEBUG);
  EXPECT_EQ(qt_log_level_parse("loud", &l), QT_EINVAL);
  qt_log_set(sink, NULL, QT_LOG_INFO);
  qt_log(QT_LOG_DEBUG, "hello %d", 3);
  EXPECT_EQ(g_lines, 0);
  qt_log(QT_LOG_WARN, "hello %d", 3);
  EXPECT_EQ(g_lines, 1);
  qt_log_set(NULL, NULL, QT_LOG_INFO);
  qt_log(QT_LOG_ERROR, "hello %d", 3);
  EXPECT_EQ(g_lines, 1);
}

static void numbers_strict(void) {
  double d;
  int64_t i;
  EXPECT_EQ(qt_parse_double("8.9810", 6, &d), 0);
  EXPECT_NEAR(d, 8.981, 1e-15);
  EXPECT_EQ(qt_parse_double("1.2.3", 5, &d), QT_EPARSE);
  EXPECT_EQ(qt_parse_double("", 0, &d), QT_EPARSE);
  EXPECT_EQ(qt_parse_i64("397", 3, &i), 0);
  EXPECT_EQ(i, 397);
  EXPECT_EQ(qt_parse_i64("39a", 3, &i), QT_EPARSE);
  qt_kv kv[] = {{"a", "1"}, {"b", "2"}, {NULL, NULL}};
  EXPECT_STREQ(qt_kv_get(kv, "b"), "2");
  EXPECT_TRUE(qt_kv_get(kv, "c") == NULL);
}

QT_TESTS(T(version_matches), T(status_texts), T(rng_reproducible_and_streams_differ),
         T(rng_distributions), T(time_epochs_by_magnitude), T(time_iso), T(time_compact_dates),
         T(time_ranges), T(time_formats), T(durations),
         T(alloc_hook_fails_nth), T(alloc_big_blocks_ask_for_huge_pages), T(logging_levels), T(numbers_strict))
