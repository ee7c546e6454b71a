/* Status codes, error messages and the version string. */
#include "qtune/core.h"

#include <stdio.h>
#include <string.h>

const char *qt_version(void) { return QT_VERSION; }

const char *qt_status_str(int code) {
  switch (code) {
#define QT__STATUS_TEXT(name, val, text) case val: return text;
    QT_STATUS_LIST(QT__STATUS_TEXT)
#undef QT__STATUS_TEXT
  case QT_DONE: return "done";
  case QT_PRUNED: return "pruned";
  default: return "unknown status";
  }
}

const char *qt_status_name(int code) {
  switch (code) {
#define QT__STATUS_NAME(name, val, text) case val: return #name;
    QT_STATUS_LIST(QT__STATUS_NAME)
#undef QT__STATUS_NAME
  case QT_DONE: return "DONE";
  case QT_PRUNED: return "PRUNED";
  default: return "UNKNOWN";
  }
}

int qt_err_set(qt_err *e, int code, const char *fmt, ...) {
  if (!e) return code;
  e->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return code;
}

void qt_err_clear(qt_err *e) {
  if (!e) return;
  e->code = QT_OK;
  e->msg[0] = '\0';
}

void qt_err_prefix(qt_err *e, const char *fmt, ...) {
  if (!e) return;
  char pre[256], both[520];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(pre, sizeof pre, fmt, ap);
  va_end(ap);
  snprintf(both, sizeof both, "%s: %s", pre, e->msg);
  memcpy(e->msg, both, sizeof e->msg - 1);
  e->msg[sizeof e->msg - 1] = '\0';
}

const char *qt_kv_get(const qt_kv *kv, const char *key) {
  for (; kv && kv->key; kv++)
    if (strcmp(kv->key, key) == 0) return kv->val;
  return NULL;
}
