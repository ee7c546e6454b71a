/* Logging: the library formats into a stack buffer and hands the line to the
 * sink the program installed; it never writes anywhere by itself. */
#include "qtune/core.h"

#include <stdio.h>
#include <string.h>

/* Process-wide sink, set once before threads start (like sqlite3_config). */
static qt_log_fn g_fn;
static void *g_ud;
static qt_log_level g_min = QT_LOG_WARN;

void qt_log_set(qt_log_fn fn, void *ud, qt_log_level min_level) {
  g_fn = fn;
  g_ud = ud;
  g_min = min_level;
}

int qt_log_level_parse(const char *s, qt_log_level *out) {
  static const char *names[] = {"debug", "info", "warn", "error", "off"};
  for (int i = 0; i < 5; i++)
    if (s && strcmp(s, names[i]) == 0) {
      *out = (qt_log_level)i;
      return QT_OK;
    }
  return QT_EINVAL;
}

int qt_log_enabled(qt_log_level lvl) { return g_fn && lvl >= g_min && lvl < QT_LOG_OFF; }

void qt_log(qt_log_level lvl, const char *fmt, ...) {
  if (!qt_log_enabled(lvl)) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  g_fn(g_ud, lvl, buf);
}

void qt_log_stderr(void *ud, qt_log_level lvl, const char *msg) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  (void)ud;
  fprintf(stderr, "qtune: %s: %s\n", names[lvl < 4 ? lvl : 3], msg);
}
