/* The allocator funnel with a fail-the-Nth-allocation hook for tests. */
#include "qtune/core.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

/* Blocks of 4 MB and more (a long series' columns, the equity curve, the
 * indicator cache) ask for transparent huge pages on the 2 MB pages inside
 * them, before they are touched: a bar's columns are read at the same row
 * far apart, and with 4 KB pages each such read can cost a page walk (two
 * levels of them in a virtual machine).  A hint: where THP is off or
 * unavailable nothing changes. */
#define HUGE_PAGE ((uintptr_t)2 << 20)
static void *huge_hint(void *p, size_t n) {
#ifdef MADV_HUGEPAGE
  if (p && n >= 2 * HUGE_PAGE) {
    uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t z = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);
    if (z > a) (void)madvise((void *)a, z - a, MADV_HUGEPAGE);
  }
#endif
  return p;
}

void *qt_malloc(size_t n) { return should_fail() ? NULL : huge_hint(malloc(n ? n : 1), n); }
void *qt_calloc(size_t n, size_t size) {
  if (should_fail()) return NULL;
  if (!n) n = 1;
  if (!size) size = 1;
  return huge_hint(calloc(n, size), n <= SIZE_MAX / size ? n * size : 0);
}
void *qt_realloc(void *p, size_t n) { return should_fail() ? NULL : huge_hint(realloc(p, n ? n : 1), n); }
void qt_free(void *p) { free(p); }

char *qt_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = qt_malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}
