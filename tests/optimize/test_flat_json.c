/* The flat-object fast path (src/optimize/flat_json.c): the texts it takes
 * and the members it gives, and every shape it leaves to jansson (QT_DONE
 * before any member is handed out).  That it agrees with jansson wherever
 * it takes a text is fuzz/fuzz_text.c's check (stored JSON), replayed by
 * tests/fuzz/test_fuzz_replay. */
#include "qt_test.h"
#include "optimize/flat_json.h"

#include <math.h>
#include <string.h>

typedef struct seen {
  int n;
  char key[8][16];
  int kind[8];
  double num[8];
  char str[8][16];
} seen;

static int keep(void *ctx, const qt__flat_pair *p) {
  seen *s = ctx;
  if (s->n == 8) return QT_EINVAL;
  snprintf(s->key[s->n], sizeof s->key[0], "%.*s", (int)p->key_len, p->key);
  s->kind[s->n] = p->kind;
  s->num[s->n] = p->kind == QT__FLAT_NUM ? qt__flat_num(p) : NAN;
  if (p->kind == QT__FLAT_STR) snprintf(s->str[s->n], sizeof s->str[0], "%.*s", (int)p->str_len, p->str);
  s->n++;
  return QT_OK;
}

static void members_in_order(void) {
  seen s = {0};
  EXPECT_EQ(qt__flat_json_each(" {\"sharpe\" : 1.25,\n\t\"trades\":50 ,\"dd\":null,\"ok\":true,"
                               "\"bad\":false,\"cat\":\"fast\"}\r\n",
                               keep, &s),
            QT_OK);
  EXPECT_EQ(s.n, 6);
  EXPECT_STREQ(s.key[0], "sharpe");
  EXPECT_DBL_EQ(s.num[0], 1.25);
  EXPECT_STREQ(s.key[1], "trades");
  EXPECT_DBL_EQ(s.num[1], 50.0);
  EXPECT_EQ(s.kind[2], QT__FLAT_NULL);
  EXPECT_EQ(s.kind[3], QT__FLAT_TRUE);
  EXPECT_EQ(s.kind[4], QT__FLAT_FALSE);
  EXPECT_EQ(s.kind[5], QT__FLAT_STR);
  EXPECT_STREQ(s.str[5], "fast");
  seen e = {0};
  EXPECT_EQ(qt__flat_json_each(" { } ", keep, &e), QT_OK);
  EXPECT_EQ(e.n, 0);
  /* a repeated name is handed out twice, in order (the caller keeps the last) */
  seen d = {0};
  EXPECT_EQ(qt__flat_json_each("{\"a\":1,\"a\":2}", keep, &d), QT_OK);
  EXPECT_EQ(d.n, 2);
  EXPECT_DBL_EQ(d.num[1], 2.0);
}

/* Numbers as jansson reads them: an integer token through int64 (so "-0" is
 * +0), a real through strtod (so "-0.0" keeps its sign, 1e-400 underflows
 * to 0), up to 18 integer digits. */
static void numbers_as_jansson(void) {
  seen s = {0};
  EXPECT_EQ(qt__flat_json_each("{\"a\":-0,\"b\":-0.0,\"c\":1e-400,\"d\":123456789012345678,"
                               "\"e\":-2.5E+3,\"f\":0.1}",
                               keep, &s),
            QT_OK);
  EXPECT_EQ(s.n, 6);
  EXPECT_DBL_EQ(s.num[0], 0.0);
  EXPECT_EQ(signbit(s.num[0]) != 0, 0);
  EXPECT_EQ(signbit(s.num[1]) != 0, 1);
  EXPECT_DBL_EQ(s.num[2], 0.0);
  EXPECT_DBL_EQ(s.num[3], 123456789012345678.0);
  EXPECT_DBL_EQ(s.num[4], -2500.0);
  EXPECT_DBL_EQ(s.num[5], 0.1);
}

/* Everything else goes to jansson, and nothing was handed out first (the
 * shape is checked before the members are). */
static void other_shapes_are_left_to_jansson(void) {
  static const char *const texts[] = {
      "", "   ", "[1]", "1", "null", "{", "{\"a\":1", "{\"a\":1,}", "{,}", "{\"a\" 1}",
      "{\"a\":1}x", "{\"a\":1}{}", "{\"a\":{\"b\":1}}", "{\"a\":[1]}", "{\"a\":\"\\u00e9\"}",
      "{\"a\\n\":1}", "{\"\xc3\xa9\":1}", "{\"a\":\"\xc3\xa9\"}", "{\"a\":\"tab\there\"}",
      "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":+1}", "{\"a\":1e}", "{\"a\":-}",
      "{\"a\":1234567890123456789}", "{\"a\":1e400}", "{\"a\":1e299}", "{\"a\":NaN}",
      "{\"a\":Infinity}", "{\"a\":nul}", "{\"a\":tru}", "{\"a\":truex}", "{\"a\":1,\"b\":}",
      "{'a':1}", "{a:1}", "{\"a\":0x10}", "\xef\xbb\xbf{}",
  };
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    seen s = {0};
    int r = qt__flat_json_each(texts[i], keep, &s);
    if (r != QT_DONE || s.n != 0)
      QT_TEST_FAIL_("text %zu (%s): status %d, %d members; expected QT_DONE, none", i, texts[i], r,
                    s.n);
  }
  seen s = {0};
  EXPECT_EQ(qt__flat_json_each(NULL, keep, &s), QT_DONE);
}

static int stop_at_second(void *ctx, const qt__flat_pair *p) {
  int *n = ctx;
  return ++*n == 2 ? QT_EPARSE : QT_OK;
}

/* The callback's status stops the walk and comes back. */
static void callback_status_comes_back(void) {
  int n = 0;
  EXPECT_EQ(qt__flat_json_each("{\"a\":1,\"b\":2,\"c\":3}", stop_at_second, &n), QT_EPARSE);
  EXPECT_EQ(n, 2);
}

QT_TESTS(T(members_in_order), T(numbers_as_jansson), T(other_shapes_are_left_to_jansson),
         T(callback_status_comes_back))
