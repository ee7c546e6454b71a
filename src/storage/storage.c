/* Storage front: URL dispatch to a backend and the record helpers. */
#include "qtune/storage.h"
#include "storage/storage_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const k_state_names[QT_TRIAL_N_STATES] = {
#define NAME_(name, value, text) [value] = text,
    QT_TRIAL_STATE_LIST(NAME_)
#undef NAME_
};

const char *qt_trial_state_name(int state) {
  return state >= 0 && state < QT_TRIAL_N_STATES ? k_state_names[state] : "unknown";
}

int qt_trial_state_from_name(const char *text, int *out_state, qt_err *err) {
  *out_state = QT_TRIAL_FAIL;
  for (int k = 0; text && k < QT_TRIAL_N_STATES; k++)
    if (strcmp(text, k_state_names[k]) == 0) {
      *out_state = k;
      return QT_OK;
    }
  char names[160];
  size_t n = 0;
  for (int k = 0; k < QT_TRIAL_N_STATES && n < sizeof names; k++)
    n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", k ? ", " : "", k_state_names[k]);
  return qt_err_set(err, QT_EPARSE, "trial state '%s': not one of %s", text ? text : "(null)",
                    names);
}

const char *qt_storage_default_url(void) {
  const char *env = getenv("QTUNE_STORAGE");
  return env && *env ? env : QT_STORAGE_DEFAULT_URL;
}

int qt_storage_sqlite_path(const char *url, char *buf, size_t cap, qt_err *err) {
  if (cap) buf[0] = '\0';
  if (!url) return qt_err_set(err, QT_EINVAL, "empty storage URL");
  const char *p = url;
  /* SQLAlchemy: "sqlite:///" + path, so a fourth '/' starts an absolute one. */
  if (strncmp(p, "sqlite:///", 10) == 0) p += 10;
  else if (strncmp(p, "sqlite://", 9) == 0) p += 9; /* older qtune form, relative */
  else if (strncmp(p, "sqlite:", 7) == 0) p += 7;
  else if (strstr(p, "://")) {
    char shown[256];
    return qt_err_set(err, QT_EINVAL, "storage URL '%s' is not a SQLite URL",
                      qt_storage_url_redact(url, shown, sizeof shown));
  }
  size_t n = strlen(p);
  if (n == 0) return qt_err_set(err, QT_EINVAL, "storage URL '%s' names no file", url);
  if (n >= cap)
    return qt_err_set(err, QT_EINVAL, "storage URL '%.64s...': path of %zu bytes is longer than %zu",
                      url, n, cap ? cap - 1 : 0);
  memcpy(buf, p, n + 1);
  return QT_OK;
}

static int is_password_key(const char *k, size_t n) {
  return n == 8 && strncasecmp(k, "password", 8) == 0;
}

static void add_span(qt__span *v, size_t *n, size_t max, const char *p, size_t len) {
  if (*n < max && len) v[(*n)++] = (qt__span){p, len};
}

/* A URI: user info is what precedes the last '@' before the first '/'
 * (libpq's rule, and a stray '@' in a password stays masked); the password
 * follows its first ':'.  Then the value of each password=... of the query. */
static size_t uri_spans(const char *auth, qt__span *v, size_t max) {
  size_t n = 0;
  const char *end = auth + strcspn(auth, "/");
  const char *at = NULL;
  for (const char *q = auth; q < end; q++)
    if (*q == '@') at = q;
  const char *rest = auth;
  const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
  if (colon) {
    add_span(v, &n, max, colon + 1, (size_t)(at - colon - 1));
    rest = at;
  }
  /* Without a password in the user info the query may start before an '@'
   * ("h?password=a@b", which libpq would read as a user name). */
  const char *qm = strchr(rest, '?');
  for (const char *q = qm ? qm + 1 : ""; *q && *q != '#';) {
    size_t len = strcspn(q, "&#");
    const char *eq = memchr(q, '=', len);
    if (eq && is_password_key(q, (size_t)(eq - q)))
      add_span(v, &n, max, eq + 1, (size_t)(q + len - eq - 1));
    q += len;
    if (*q == '&') q++;
  }
  return n;
}

/* A libpq keyword/value conninfo: "key = value" pairs split by blanks, a
 * value either 'single quoted' (backslash escapes) or up to the next blank. */
static size_t kv_spans(const char *s, qt__span *v, size_t max) {
  size_t n = 0;
  const char *q = s;
  while (*q) {
    while (*q && isspace((unsigned char)*q)) q++;
    const char *key = q;
    while (*q && *q != '=' && !isspace((unsigned char)*q)) q++;
    size_t klen = (size_t)(q - key);
    while (*q && isspace((unsigned char)*q)) q++;
    if (*q != '=') continue; /* not a pair (a path, a stray word): skip it */
    q++;
    while (*q && isspace((unsigned char)*q)) q++;
    const char *val = q;
    if (*q == '\'') {
      for (q++; *q && *q != '\''; q++)
        if (*q == '\\' && q[1]) q++;
      if (*q) q++;
    } else {
      for (; *q && !isspace((unsigned char)*q); q++)
        if (*q == '\\' && q[1]) q++;
    }
    if (is_password_key(key, klen)) add_span(v, &n, max, val, (size_t)(q - val));
  }
  return n;
}

size_t qt__storage_password_spans(const char *url, qt__span *v, size_t max) {
  if (!url) return 0;
  const char *sep = strstr(url, "://");
  return sep ? uri_spans(sep + 3, v, max) : kv_spans(url, v, max);
}

/* Appends src[0, n) to buf, truncating; always NUL-terminated when cap > 0. */
static void put(char *buf, size_t cap, size_t *len, const char *src, size_t n) {
  if (!cap) return;
  size_t room = cap - 1 - *len;
  if (n > room) n = room;
  memcpy(buf + *len, src, n);
  *len += n;
  buf[*len] = '\0';
}

char *qt_storage_url_redact(const char *url, char *buf, size_t cap) {
  if (cap) buf[0] = '\0';
  if (!url) return buf;
  qt__span v[16];
  size_t n = qt__storage_password_spans(url, v, 16), len = 0;
  const char *q = url;
  for (size_t i = 0; i < n; i++) {
    put(buf, cap, &len, q, (size_t)(v[i].p - q));
    put(buf, cap, &len, "***", 3);
    q = v[i].p + v[i].len;
  }
  put(buf, cap, &len, q, strlen(q));
  return buf;
}

/* Replaces every occurrence of the n bytes at secret in msg by "***". */
static void mask_in(char *msg, size_t cap, const char *secret, size_t n) {
  if (!n || !cap) return;
  char out[1024];
  size_t len = 0;
  const char *q = msg, *hit;
  while ((hit = memmem(q, strlen(q), secret, n))) {
    put(out, sizeof out, &len, q, (size_t)(hit - q));
    put(out, sizeof out, &len, "***", 3);
    q = hit + n;
  }
  put(out, sizeof out, &len, q, strlen(q));
  snprintf(msg, cap, "%s", out);
}

void qt__storage_scrub(char *msg, size_t cap, const char *url, const char *secret) {
  qt__span v[16];
  size_t n = qt__storage_password_spans(url, v, 16);
  for (size_t i = 0; i < n; i++) mask_in(msg, cap, v[i].p, v[i].len);
  if (secret) mask_in(msg, cap, secret, strlen(secret));
}

void qt_study_rec_fini(qt_study_rec *s) {
  if (!s) return;
  qt_free(s->directions);
  qt_free(s->space_json);
  qt_free(s->config_json);
  s->directions = s->space_json = s->config_json = NULL;
}

void qt_trial_rec_fini(qt_trial_rec *t) {
  if (!t) return;
  qt_free(t->params_json);
  qt_free(t->values_json);
  qt_free(t->metrics_json);
  qt_free(t->error);
  qt_free(t->intermediate_json);
  qt_free(t->note);
  t->params_json = t->values_json = t->metrics_json = t->error = NULL;
  t->intermediate_json = t->note = NULL;
}

void qt_trial_recs_free(qt_trial_rec *v, size_t n) {
  for (size_t i = 0; v && i < n; i++) qt_trial_rec_fini(&v[i]);
  qt_free(v);
}

int qt_storage_open(const char *url, qt_storage *out, qt_err *err) {
  out->vt = NULL;
  out->self = NULL;
  if (!url || !*url) return qt_err_set(err, QT_EINVAL, "empty storage URL");
  const qt_storage_vtbl *vt = NULL;
  const char *colon = strstr(url, "://");
  if (!colon || strncmp(url, "sqlite:", 7) == 0) vt = &qt_storage_sqlite;
  else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
    vt = &qt_storage_postgres;
  if (!vt) {
    char shown[256];
    return qt_err_set(err, QT_EINVAL,
                      "storage URL '%s': unknown scheme (use sqlite:///rel/path.db, "
                      "sqlite:////abs/path.db or postgresql://user@host:port/db)",
                      qt_storage_url_redact(url, shown, sizeof shown));
  }
  int r = vt->open(url, &out->self, err);
  if (r == QT_OK) out->vt = vt;
  return r;
}

void qt_storage_close(qt_storage *s) {
  if (!s || !s->vt) return;
  s->vt->close(s->self);
  s->vt = NULL;
  s->self = NULL;
}
