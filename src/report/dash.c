/* The dashboard's HTTP server (libmicrohttpd): access token and sessions,
 * CSRF, request limits, security headers and the route table.  Pages live in
 * dash_*.c; this file knows none of their content. */
#include "report/dash_int.h"

#include "qtune/storage.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

/* The route table: method and exact path to a page.  A new page is a file
 * and a line here. */
static const qt__dash_page *const k_routes[] = {
    &qt__dash_studies,    &qt__dash_studies_api, &qt__dash_study,     &qt__dash_study_api,
    &qt__dash_trial,      &qt__dash_compare,     &qt__dash_logout,    &qt__dash_echarts_js,
    &qt__dash_report_js,  &qt__dash_dash_js,
    &qt__dash_tune,       &qt__dash_tune_review, /* dash_tune.c */
    &qt__dash_paper,      &qt__dash_paper_api,   &qt__dash_paper_run, &qt__dash_paper_run_api,
};

typedef struct session {
  char sid[QT__DASH_HEX + 1], csrf[QT__DASH_HEX + 1];
  uint64_t used; /* a counter: the least recently used is replaced when full */
} session;

/* A recent API answer: many open pages polling cost one storage read per
 * cache period (qt_dash_opts.cache_ms). */
typedef struct cache_ent {
  char key[512];
  char *body;
  size_t len;
  int64_t at_ms;
} cache_ent;
#define N_CACHE 32

struct qt_dash {
  struct MHD_Daemon *mhd;
  cache_ent cache[N_CACHE];
  unsigned cache_ms;
  char url[1024], addr[64], token[QT__DASH_HEX + 1];
  int v6;
  unsigned port, poll_ms;
  size_t max_points;
  pthread_mutex_t mu;
  session sess[QT__DASH_MAX_SESSIONS];
  uint64_t clock;
};

/* What one connection's request carries between libmicrohttpd's calls. */
typedef struct conn_state {
  char *body;
  size_t len;
  int too_big;
  int replied; /* answered before the body came (Content-Length over the limit) */
} conn_state;

static const char k_csp[] = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                            "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                            "frame-ancestors 'none'; base-uri 'none'";

qt_dash_opts qt_dash_opts_default(void) {
  qt_dash_opts o = {.storage_url = NULL, .bind_addr = "127.0.0.1", .port = 8080, .poll_ms = 2000,
                    .max_points = 2000, .cache_ms = 1000};
  return o;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int qt__dash_cache_get(const qt__dash_req *rq, const char *key, qt__dash_reply *rp) {
  qt_dash *d = rq->d;
  int hit = 0;
  if (!d->cache_ms) return 0;
  pthread_mutex_lock(&d->mu);
  int64_t now = now_ms();
  for (int i = 0; i < N_CACHE && !hit; i++)
    if (d->cache[i].body && !strcmp(d->cache[i].key, key) && now - d->cache[i].at_ms < d->cache_ms) {
      hit = fwrite(d->cache[i].body, 1, d->cache[i].len, rp->f) == d->cache[i].len;
      rp->type = "application/json";
    }
  pthread_mutex_unlock(&d->mu);
  return hit;
}

json_t *qt__dash_cache_json(const qt__dash_req *rq, const char *key) {
  qt_dash *d = rq->d;
  json_t *j = NULL;
  if (!d->cache_ms) return NULL;
  pthread_mutex_lock(&d->mu);
  int64_t now = now_ms();
  for (int i = 0; i < N_CACHE && !j; i++)
    if (d->cache[i].body && !strcmp(d->cache[i].key, key) && now - d->cache[i].at_ms < d->cache_ms)
      j = json_loadb(d->cache[i].body, d->cache[i].len, 0, NULL);
  pthread_mutex_unlock(&d->mu);
  return j;
}

void qt__dash_cache_put(const qt__dash_req *rq, const char *key, const char *body, size_t len) {
  qt_dash *d = rq->d;
  if (!d->cache_ms || strlen(key) >= sizeof d->cache[0].key) return;
  char *copy = qt_malloc(len ? len : 1);
  if (!copy) return; /* not cached: the next request reads the storage again */
  memcpy(copy, body, len);
  pthread_mutex_lock(&d->mu);
  int at = 0;
  for (int i = 0; i < N_CACHE; i++) {
    if (d->cache[i].body && !strcmp(d->cache[i].key, key)) {
      at = i;
      break;
    }
    if (d->cache[i].at_ms < d->cache[at].at_ms) at = i; /* else the oldest */
  }
  qt_free(d->cache[at].body);
  snprintf(d->cache[at].key, sizeof d->cache[at].key, "%s", key);
  d->cache[at].body = copy;
  d->cache[at].len = len;
  d->cache[at].at_ms = now_ms();
  pthread_mutex_unlock(&d->mu);
}

const char *qt__dash_storage_url(const qt_dash *d) { return d->url; }
unsigned qt__dash_poll_ms(const qt_dash *d) { return d->poll_ms; }
size_t qt__dash_max_points(const qt_dash *d) { return d->max_points; }
unsigned qt_dash_port(const qt_dash *d) { return d->port; }

/* 32 random bytes as 64 hex digits; 0, or -1 when the kernel gives none. */
static int random_hex(char out[QT__DASH_HEX + 1]) {
  unsigned char b[QT__DASH_HEX / 2];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = getrandom(b + got, sizeof b - got, 0);
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  for (size_t i = 0; i < sizeof b; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
  return 0;
}

/* Compares a presented secret with ours in time independent of where they
 * differ (its length is public: always 64). */
static int secret_eq(const char *given, const char *ours) {
  if (!given || strlen(given) != QT__DASH_HEX) return 0;
  unsigned char diff = 0;
  for (size_t i = 0; i < QT__DASH_HEX; i++) diff |= (unsigned char)(given[i] ^ ours[i]);
  return diff == 0;
}

/* The session whose id is sid (copying its CSRF token to csrf), or -1. */
static int session_find(qt_dash *d, const char *sid, char *csrf) {
  int at = -1;
  pthread_mutex_lock(&d->mu);
  for (int i = 0; i < QT__DASH_MAX_SESSIONS; i++)
    if (d->sess[i].sid[0] && secret_eq(sid, d->sess[i].sid)) {
      d->sess[i].used = ++d->clock;
      memcpy(csrf, d->sess[i].csrf, QT__DASH_HEX + 1);
      at = i;
    }
  pthread_mutex_unlock(&d->mu);
  return at;
}

/* A new session (the least recently used one replaced when all are taken):
 * its id and CSRF token into sid and csrf.  -1 without random bytes. */
static int session_new(qt_dash *d, char *sid, char *csrf) {
  if (random_hex(sid) || random_hex(csrf)) return -1;
  pthread_mutex_lock(&d->mu);
  int at = 0;
  for (int i = 1; i < QT__DASH_MAX_SESSIONS; i++)
    if (d->sess[i].used < d->sess[at].used) at = i;
  memcpy(d->sess[at].sid, sid, QT__DASH_HEX + 1);
  memcpy(d->sess[at].csrf, csrf, QT__DASH_HEX + 1);
  d->sess[at].used = ++d->clock;
  pthread_mutex_unlock(&d->mu);
  return 0;
}

static void session_drop(qt_dash *d, int at) {
  pthread_mutex_lock(&d->mu);
  memset(&d->sess[at], 0, sizeof d->sess[at]);
  pthread_mutex_unlock(&d->mu);
}

const char *qt__dash_arg(const qt__dash_req *rq, const char *key) {
  return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

void qt__dash_urlenc(const char *s, char *buf, size_t cap) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = 0;
  if (!cap) return;
  for (; *s && n + 4 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      buf[n++] = (char)c;
    } else {
      buf[n++] = '%';
      buf[n++] = hex[c >> 4];
      buf[n++] = hex[c & 15];
    }
  }
  buf[n] = 0;
}

int qt__dash_open_study(const qt__dash_req *rq, const char *name, qt_study **out, qt_err *err) {
  qt_study_opts o = qt_study_opts_default();
  o.name = name;
  o.storage_url = rq->d->url;
  return qt_study_open(&o, NULL, out, err);
}

void qt__dash_cached_api(const qt__dash_req *rq, qt__dash_reply *rp, const char *key,
                         int (*build)(const qt__dash_req *rq, json_t **out, qt_err *err)) {
  if (qt__dash_cache_get(rq, key, rp)) return;
  qt_err e;
  qt_err_clear(&e);
  json_t *j = NULL;
  if (build(rq, &j, &e)) {
    qt__dash_fail(rp, 500, "%s", e.msg);
    return;
  }
  qt__dash_json(rq, rp, j, key);
  json_decref(j);
}

void qt__dash_fail(qt__dash_reply *rp, int status, const char *fmt, ...) {
  rp->status = status;
  rp->type = "text/plain; charset=utf-8";
  rewind(rp->f);
  va_list ap;
  va_start(ap, fmt);
  fprintf(rp->f, "%d: ", status);
  vfprintf(rp->f, fmt, ap);
  va_end(ap);
  fputc('\n', rp->f);
}

void qt__dash_json(const qt__dash_req *rq, qt__dash_reply *rp, const json_t *j, const char *cache_key) {
  rp->type = "application/json";
  char *txt = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
  if (!txt) {
    qt__dash_fail(rp, 500, "out of memory");
    return;
  }
  size_t len = strlen(txt);
  fwrite(txt, 1, len, rp->f);
  if (cache_key) qt__dash_cache_put(rq, cache_key, txt, len);
  free(txt);
}

/* ---- one request ---- */

/* Appends "k=v" of each query argument except the token to the buffer. */
typedef struct qbuf {
  char *s;
  size_t cap, n;
} qbuf;
static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *k, const char *v) {
  qbuf *q = cls;
  if (!strcmp(k, "token")) return MHD_YES;
  char ek[256], ev[1024];
  qt__dash_urlenc(k, ek, sizeof ek);
  qt__dash_urlenc(v ? v : "", ev, sizeof ev);
  int w = snprintf(q->s + q->n, q->cap - q->n, "%c%s=%s", q->n ? '&' : '?', ek, ev);
  if (w > 0 && (size_t)w < q->cap - q->n) q->n += (size_t)w;
  return MHD_YES;
}

static enum MHD_Result queue(struct MHD_Connection *c, qt__dash_reply *rp, const char *cookie,
                             char *buf, size_t len) {
  struct MHD_Response *r =
      rp->fixed ? MHD_create_response_from_buffer(rp->fixed_len, (void *)rp->fixed, MHD_RESPMEM_PERSISTENT)
                : MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    if (!rp->fixed) free(buf);
    return MHD_NO;
  }
  if (rp->fixed) free(buf);
  MHD_add_response_header(r, "Content-Type", rp->type ? rp->type : "text/html; charset=utf-8");
  MHD_add_response_header(r, "Content-Security-Policy", k_csp);
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(r, "X-Frame-Options", "DENY");
  /* same-origin, not no-referrer: with no-referrer Chromium sends "Origin:
   * null" on a form POST, which origin_ok refuses */
  MHD_add_response_header(r, "Referrer-Policy", "same-origin");
  char cc[64];
  if (rp->cache_s > 0) snprintf(cc, sizeof cc, "private, max-age=%d", rp->cache_s);
  else snprintf(cc, sizeof cc, "no-store");
  MHD_add_response_header(r, "Cache-Control", cc);
  if (rp->location) MHD_add_response_header(r, "Location", rp->location);
  if (cookie) MHD_add_response_header(r, "Set-Cookie", cookie);
  if (rp->status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"qtune\"");
  enum MHD_Result ok = MHD_queue_response(c, (unsigned)rp->status, r);
  MHD_destroy_response(r);
  return ok;
}

/* The CSRF token a POST presents: the X-QT-CSRF header, else a "csrf" field
 * of an application/x-www-form-urlencoded body (into field). */
static const char *posted_csrf(struct MHD_Connection *c, const char *body, char *field, size_t cap) {
  const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-QT-CSRF");
  if (h) return h;
  for (const char *p = body; p && *p;) {
    const char *amp = strchr(p, '&');
    size_t n = amp ? (size_t)(amp - p) : strlen(p);
    if (n > 5 && n - 5 < cap && !strncmp(p, "csrf=", 5)) {
      memcpy(field, p + 5, n - 5);
      field[n - 5] = 0;
      return field;
    }
    p = amp ? amp + 1 : p + n;
  }
  return NULL;
}

/* The POST came from a page of ours: an Origin header, when the browser
 * sends one, names this host. */
static int origin_ok(struct MHD_Connection *c) {
  const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
  const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
  if (!origin) return 1;
  if (!host || strncmp(origin, "http://", 7)) return 0;
  return !strcmp(origin + 7, host);
}

static enum MHD_Result handle(qt_dash *d, struct MHD_Connection *c, const char *path,
                              const char *method, conn_state *cs) {
  qt__dash_reply rp = {.status = 200};
  char *buf = NULL, cookie[160], *set_cookie = NULL, csrf[QT__DASH_HEX + 1] = "",
       field[QT__DASH_HEX + 8];
  size_t len = 0;
  if (!(rp.f = open_memstream(&buf, &len))) return MHD_NO;
  int is_post = !strcmp(method, "POST");
  const char *token = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
  const char *sid = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "qt_session");
  const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
  int sess = sid ? session_find(d, sid, csrf) : -1;
  int bearer = authz && !strncmp(authz, "Bearer ", 7) && secret_eq(authz + 7, d->token);
  qt__dash_req rq = {.d = d, .conn = c, .method = is_post ? "POST" : "GET", .path = path,
                     .csrf = csrf, .body = cs->body ? cs->body : "", .body_len = cs->len};
  if (strcmp(method, "GET") && strcmp(method, "HEAD") && !is_post) {
    qt__dash_fail(&rp, 405, "method %s not allowed", method);
  } else if (token && !is_post) {
    /* the printed URL: a valid token opens a session and redirects to the
     * same page without it (so it stays out of history and logs) */
    if (!secret_eq(token, d->token)) {
      qt__dash_fail(&rp, 401, "wrong access token (use the URL qtune dashboard printed)");
    } else if (session_new(d, cookie + 11, csrf)) {
      qt__dash_fail(&rp, 500, "no random bytes for a session");
    } else {
      memcpy(cookie, "qt_session=", 11);
      strcat(cookie, "; Path=/; HttpOnly; SameSite=Strict");
      set_cookie = cookie;
      qbuf q = {rp.location_buf, sizeof rp.location_buf, 0};
      int w = snprintf(q.s, q.cap, "%s", path);
      q.s += w;
      q.cap -= (size_t)w;
      MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
      rp.location = rp.location_buf;
      rp.status = 303;
      rp.type = "text/plain; charset=utf-8";
      fprintf(rp.f, "303: signed in; see %s\n", rp.location_buf);
    }
  } else if (sess < 0 && !bearer) {
    qt__dash_fail(&rp, 401, "this dashboard needs its access token: open the URL qtune "
                            "dashboard printed (http://ADDR:PORT/?token=...)");
  } else if (is_post && cs->too_big) {
    qt__dash_fail(&rp, 413, "request body over %d bytes", QT__DASH_MAX_BODY);
  } else if (is_post && (sess < 0 || !origin_ok(c) ||
                         !secret_eq(posted_csrf(c, rq.body, field, sizeof field), csrf))) {
    qt__dash_fail(&rp, 403, "CSRF check failed: a POST needs the session's token in the "
                            "X-QT-CSRF header or a csrf form field");
  } else {
    const qt__dash_page *pg = NULL;
    int path_known = 0;
    for (size_t i = 0; i < sizeof k_routes / sizeof k_routes[0]; i++) {
      if (strcmp(k_routes[i]->path, path)) continue;
      path_known = 1;
      if (!strcmp(k_routes[i]->method, rq.method)) pg = k_routes[i];
    }
    if (pg) pg->serve(&rq, &rp);
    else if (path_known) qt__dash_fail(&rp, 405, "%s not allowed on %s", rq.method, path);
    else qt__dash_fail(&rp, 404, "no page %s", path);
    if (rp.end_session && sess >= 0) {
      session_drop(d, sess);
      set_cookie = "qt_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0";
    }
  }
  if (fclose(rp.f)) {
    free(buf);
    return MHD_NO;
  }
  return queue(c, &rp, set_cookie, buf, len);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls) {
  qt_dash *d = cls;
  conn_state *cs = *con_cls;
  if (!cs) {
    if (!(cs = qt_calloc(1, sizeof *cs))) return MHD_NO;
    *con_cls = cs;
    if (!strcmp(method, "POST")) {
      const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
      if (cl && strtoull(cl, NULL, 10) > QT__DASH_MAX_BODY) {
        /* answered now (413, or 401 without a session): the body is not read */
        cs->too_big = cs->replied = 1;
        return handle(d, c, url, method, cs);
      }
      return MHD_YES; /* the body comes in the next calls */
    }
  }
  if (cs->replied) { /* a body after an early answer: dropped */
    *data_size = 0;
    return MHD_YES;
  }
  if (*data_size) {
    if (!cs->too_big && cs->len + *data_size <= QT__DASH_MAX_BODY) {
      char *nb = qt_realloc(cs->body, cs->len + *data_size + 1);
      if (!nb) return MHD_NO;
      memcpy(nb + cs->len, data, *data_size);
      cs->body = nb;
      cs->len += *data_size;
      cs->body[cs->len] = 0;
    } else {
      cs->too_big = 1; /* read and dropped; answered 413 at the end */
    }
    *data_size = 0;
    return MHD_YES;
  }
  return handle(d, c, url, method, cs);
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode code) {
  conn_state *cs = *con_cls;
  if (cs) qt_free(cs->body);
  qt_free(cs);
  *con_cls = NULL;
}

int qt_dash_start(const qt_dash_opts *o, qt_dash **out, qt_err *err) {
  *out = NULL;
  qt_dash_opts dflt = qt_dash_opts_default();
  if (!o) o = &dflt;
  const char *url = o->storage_url ? o->storage_url : qt_storage_default_url();
  const char *addr = o->bind_addr ? o->bind_addr : "127.0.0.1";
  int rc = QT_OK;
  qt_dash *d = qt_calloc(1, sizeof *d);
  if (!d) return qt_err_set(err, QT_ENOMEM, "dashboard: out of memory");
  pthread_mutex_init(&d->mu, NULL);
  struct sockaddr_in a4;
  struct sockaddr_in6 a6;
  memset(&a4, 0, sizeof a4);
  memset(&a6, 0, sizeof a6);
  if (strlen(url) >= sizeof d->url || strlen(addr) >= sizeof d->addr) {
    rc = qt_err_set(err, QT_EINVAL, "dashboard: storage URL or address too long");
    goto fail;
  }
  snprintf(d->url, sizeof d->url, "%s", url);
  snprintf(d->addr, sizeof d->addr, "%s", addr);
  if (inet_pton(AF_INET, addr, &a4.sin_addr) == 1) {
    a4.sin_family = AF_INET;
    a4.sin_port = htons((uint16_t)o->port);
  } else if (inet_pton(AF_INET6, addr, &a6.sin6_addr) == 1) {
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons((uint16_t)o->port);
    d->v6 = 1;
  } else {
    rc = qt_err_set(err, QT_EINVAL, "dashboard: --bind '%s': not a numeric IPv4 or IPv6 address",
                    addr);
    goto fail;
  }
  if (o->port > 65535) {
    rc = qt_err_set(err, QT_EINVAL, "dashboard: port %u: expected 0..65535", o->port);
    goto fail;
  }
  d->poll_ms = o->poll_ms < 200 ? 200 : o->poll_ms;
  d->max_points = o->max_points;
  d->cache_ms = o->cache_ms;
  if (random_hex(d->token)) {
    rc = qt_err_set(err, QT_EIO, "dashboard: no random bytes for the access token");
    goto fail;
  }
  /* the storage opens (and so exists and has our schema) before we listen */
  qt_storage s;
  if ((rc = qt_storage_open(d->url, &s, err))) goto fail;
  qt_storage_close(&s);
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | (d->v6 ? MHD_USE_IPv6 : 0);
  d->mhd = MHD_start_daemon(
      flags, (uint16_t)o->port, NULL, NULL, on_request, d, MHD_OPTION_SOCK_ADDR,
      d->v6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4, MHD_OPTION_NOTIFY_COMPLETED, on_done,
      (void *)NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)4, MHD_OPTION_CONNECTION_LIMIT,
      (unsigned)QT__DASH_MAX_CONNS, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)QT__DASH_TIMEOUT_S,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)QT__DASH_CONN_MEMORY, MHD_OPTION_END);
  if (!d->mhd) {
    rc = qt_err_set(err, QT_EIO, "dashboard: cannot listen on %s port %u (in use, or not an "
                                 "address of this machine)", addr, o->port);
    goto fail;
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_BIND_PORT);
  d->port = di ? di->port : o->port;
  *out = d;
  return QT_OK;
fail:
  qt_dash_stop(d);
  return rc;
}

int qt_dash_url(const qt_dash *d, char *buf, size_t cap, qt_err *err) {
  int n = snprintf(buf, cap, d->v6 ? "http://[%s]:%u/?token=%s" : "http://%s:%u/?token=%s", d->addr,
                   d->port, d->token);
  if (n < 0 || (size_t)n >= cap)
    return qt_err_set(err, QT_EINVAL, "dashboard: the URL needs %d bytes, got %zu", n + 1, cap);
  return QT_OK;
}

void qt_dash_stop(qt_dash *d) {
  if (!d) return;
  if (d->mhd) MHD_stop_daemon(d->mhd);
  for (int i = 0; i < N_CACHE; i++) qt_free(d->cache[i].body);
  pthread_mutex_destroy(&d->mu);
  memset(d->token, 0, sizeof d->token);
  qt_free(d);
}
