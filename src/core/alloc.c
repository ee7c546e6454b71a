/* The allocator funnel with a fail-the-Nth-allocation hook for tests. */
#include "qtune/core.h"

#include <stdlib.h>
#include <string.h>

/* Test-only state; the hook is documented as not thread-safe. */
static long g_fail_at;
static int g_sticky;

void qt_alloc_fail_at(long n, int sticky) {
  g_fail_at = n;
  g_sticky = sticky;
}

static int should_fail(void) {
  if (g_fail_at <= 0) return 0;
  if (--g_fail_at == 0) {
    g_fail_at = g_sticky ? 1 : 0; /* sticky: every later one fails too */
    return 1;
  }
  return 0;
}

void *qt_malloc(size_t n) { return should_fail() ? NULL : malloc(n ? n : 1); }
void *qt_calloc(size_t n, size_t size) { return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1); }
void *qt_realloc(void *p, size_t n) { return should_fail() ? NULL : realloc(p, n ? n : 1); }
void qt_free(void *p) { free(p); }

char *qt_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = qt_malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}
