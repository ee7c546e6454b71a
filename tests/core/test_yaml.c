#include "qt_test.h"
#include "qtune/core.h"

#include <stdlib.h>
#include <yaml.h>

/* The one YAML loader: its limits and the misreadings it refuses. */
static int load(const char *text, qt_err *e) {
  yaml_document_t d;
  int r = qt_yaml_load(text, strlen(text), "f.yaml", &d, e);
  if (r == QT_OK) yaml_document_delete(&d);
  return r;
}

static char *nest(const char *open, const char *close, int n, const char *pre) {
  size_t lo = strlen(open), lc = strlen(close), lp = strlen(pre);
  char *s = malloc(lp + (lo + lc) * (size_t)n + 2), *p = s;
  memcpy(p, pre, lp), p += lp;
  for (int k = 0; k < n; k++) memcpy(p, open, lo), p += lo;
  for (int k = 0; k < n; k++) memcpy(p, close, lc), p += lc;
  *p++ = '\n';
  *p = '\0';
  return s;
}

static void depth_limit(void) {
  qt_err e = {0};
  char *ok = nest("[", "]", QT_YAML_MAX_DEPTH - 1, "a: "); /* + the top map = 64 */
  EXPECT_EQ(load(ok, &e), QT_OK);
  char *deep = nest("[", "]", QT_YAML_MAX_DEPTH + 1, "a: ");
  EXPECT_EQ(load(deep, &e), QT_EINVAL);
  EXPECT_STREQ(e.msg, "f.yaml:1: nested deeper than 64 levels (QT_YAML_MAX_DEPTH)");
  char *dashes = nest("- ", "", 100000, "");
  EXPECT_EQ(load(dashes, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "nested deeper than 64");
  free(ok), free(deep), free(dashes);
  /* brackets inside quotes and comments are text, not nesting */
  char text[4096];
  snprintf(text, sizeof text, "a: '%s' # %s\nb: \"%s\"\n", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
           "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{",
           "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
  EXPECT_EQ(load(text, &e), QT_OK);
}

static void size_limit(void) {
  size_t n = QT_YAML_MAX_BYTES + 1;
  char *big = malloc(n + 1);
  memset(big, ' ', n);
  big[0] = 'a', big[1] = ':';
  big[n] = '\0';
  qt_err e = {0};
  yaml_document_t d;
  EXPECT_EQ(qt_yaml_load(big, n, "big.yaml", &d, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "big.yaml: 4194305 bytes is more than the 4194304 bytes");
  free(big);
}

static void misreadings_refused(void) {
  qt_err e = {0};
  EXPECT_EQ(load("a: 1\nb:\n  c: 2\n  c: 3\n", &e), QT_EPARSE);
  EXPECT_STREQ(e.msg, "f.yaml:4: key 'c' appears twice in one map (first at line 3)");
  EXPECT_EQ(load("a: 1\n---\nb: 2\n", &e), QT_EPARSE);
  EXPECT_STREQ(e.msg, "f.yaml:3: a second YAML document (one document per file)");
  EXPECT_EQ(load("a: [1, 2\n", &e), QT_EPARSE);
  EXPECT_CONTAINS(e.msg, "f.yaml:");
  /* an alias is the anchored value, and the same key in two maps is fine */
  EXPECT_EQ(load("x: &v {low: 1}\ny: *v\nz: {low: 2}\n", &e), QT_OK);
  EXPECT_EQ(load("--- \na: 1\n...\n", &e), QT_OK); /* one document with markers */
  EXPECT_EQ(load("", &e), QT_OK);
}

QT_TESTS(T(depth_limit), T(size_limit), T(misreadings_refused))
