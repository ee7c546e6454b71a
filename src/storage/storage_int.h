/* Private to src/storage: where the passwords of a storage URL are, so the
 * front redacts URLs and the PostgreSQL backend scrubs libpq's messages
 * (they can quote the conninfo: "invalid percent-encoded token: ..."). */
#ifndef QTUNE_STORAGE_STORAGE_INT_H
#define QTUNE_STORAGE_STORAGE_INT_H

#include <stddef.h>

typedef struct qt__span {
  const char *p; /* into the URL */
  size_t len;
} qt__span;

/* The password values of url (URI user info, ?password=, password= of a
 * keyword/value conninfo), in order, at most max; returns how many. */
size_t qt__storage_password_spans(const char *url, qt__span *v, size_t max);
/* Replaces in msg (NUL-terminated, cap bytes) every occurrence of a password
 * of url and of secret (may be NULL) by "***". */
void qt__storage_scrub(char *msg, size_t cap, const char *url, const char *secret);

#endif
