/* The websocket feed: a client of the exchange's streams (libwebsockets),
 * each text message parsed like a stream feed's line (bad ones counted and
 * logged, never returned); a dropped connection is reconnected with a
 * doubling back-off, and the first kline of each symbol after a reconnect
 * is checked against the last one before it (a gap is logged and counted:
 * those bars were not received). */
#include "qtune/live.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define QUEUE 1024
#define MAX_SYMS 64

typedef struct ws {
  struct lws_context *ctx;
  struct lws *wsi;
  char url[512], host[256], path[256];
  int port, ssl;
  int connected, want_connect;
  int64_t reconnect_at_ms, backoff_ms, idle_exit_ms, last_data_ms;
  int reconnects, ever_connected;
  /* the message being received (fragments) */
  char *msg;
  size_t msg_len;
  int too_long;
  /* complete messages, a ring */
  char *q[QUEUE];
  size_t qlen[QUEUE];
  size_t qhead, qn;
  lws_sorted_usec_list_t wake;
  /* the gap check */
  char sym[MAX_SYMS][32];
  int64_t last_ts[MAX_SYMS], interval[MAX_SYMS];
  int check_gap[MAX_SYMS];
  int n_sym;
  qt_live_counts counts;
  size_t gaps;
} ws;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_wake(lws_sorted_usec_list_t *sul) { (void)sul; }

/* p NULL: a reconnect boundary in the queue (the gap check arms there, not
 * before the messages of the old connection still queued). */
static void push(ws *w, const char *p, size_t n) {
  if (w->qn == QUEUE) { /* the reader is behind by a whole queue: drop the oldest */
    if (w->q[w->qhead]) w->counts.bad++;
    qt_free(w->q[w->qhead]);
    w->qhead = (w->qhead + 1) % QUEUE;
    w->qn--;
    qt_log(QT_LOG_WARN, "%s: message queue full, the oldest dropped", w->url);
  }
  char *c = NULL;
  if (p) {
    c = qt_malloc(n + 1);
    if (!c) return;
    memcpy(c, p, n);
    c[n] = '\0';
  }
  size_t at = (w->qhead + w->qn) % QUEUE;
  w->q[at] = c;
  w->qlen[at] = n;
  w->qn++;
}

static void dropped(ws *w, const char *why) {
  if (w->connected || w->wsi) qt_log(QT_LOG_WARN, "%s: connection lost (%s); reconnecting", w->url, why);
  w->connected = 0;
  w->wsi = NULL;
  w->want_connect = 1;
  w->reconnect_at_ms = now_ms() + w->backoff_ms;
  w->backoff_ms = w->backoff_ms * 2 > 30000 ? 30000 : w->backoff_ms * 2;
  push(w, NULL, 0);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
  ws *w = lws_context_user(lws_get_context(wsi));
  switch (reason) {
  case LWS_CALLBACK_CLIENT_ESTABLISHED:
    w->connected = 1;
    w->ever_connected = 1;
    qt_log(QT_LOG_INFO, "%s: connected", w->url);
    break;
  case LWS_CALLBACK_CLIENT_RECEIVE:
    w->last_data_ms = now_ms();
    w->backoff_ms = 100; /* a connection that delivers: the back-off starts over */
    if (lws_is_first_fragment(wsi)) w->msg_len = 0, w->too_long = 0;
    if (!w->too_long && w->msg_len + len > QT_LIVE_MSG_MAX) w->too_long = 1;
    if (!w->too_long) {
      memcpy(w->msg + w->msg_len, in, len);
      w->msg_len += len;
    }
    if (lws_is_final_fragment(wsi)) {
      if (w->too_long) {
        w->counts.messages++;
        w->counts.bad++;
        w->counts.too_long++;
        qt_log(QT_LOG_WARN, "%s: bad message: longer than %d bytes", w->url, QT_LIVE_MSG_MAX);
      } else {
        push(w, w->msg, w->msg_len);
      }
    }
    break;
  case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    dropped(w, in && len ? (const char *)in : "connection error");
    break;
  case LWS_CALLBACK_CLIENT_CLOSED:
    dropped(w, "closed");
    break;
  default:
    break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols k_protocols[] = {
    {"qtune-feed", callback, 0, QT_LIVE_MSG_MAX, 0, NULL, 0}, {NULL, NULL, 0, 0, 0, NULL, 0}};

static void connect_now(ws *w) {
  struct lws_client_connect_info i;
  memset(&i, 0, sizeof i);
  i.context = w->ctx;
  i.address = w->host;
  i.port = w->port;
  i.path = w->path;
  i.host = w->host;
  i.origin = w->host;
  i.ssl_connection = w->ssl ? LCCSCF_USE_SSL : 0;
  i.pwsi = &w->wsi;
  w->want_connect = 0;
  if (w->ever_connected) w->reconnects++;
  if (!lws_client_connect_via_info(&i)) dropped(w, "connect failed");
}

/* The gap check of a kline (after a reconnect). */
static void gap_check(ws *w, const qt_live_event *e) {
  int k = 0;
  while (k < w->n_sym && strcmp(w->sym[k], e->symbol)) k++;
  if (k == w->n_sym) {
    if (k == MAX_SYMS) return;
    snprintf(w->sym[k], sizeof w->sym[k], "%s", e->symbol);
    w->last_ts[k] = 0, w->interval[k] = 0, w->check_gap[k] = 0;
    w->n_sym++;
  }
  int64_t iv = e->close_ms - e->ts_ms + 1;
  if (iv > 0) w->interval[k] = iv;
  if (w->check_gap[k] && w->last_ts[k] && w->interval[k] &&
      e->ts_ms > w->last_ts[k] + w->interval[k]) {
    int64_t missing = (e->ts_ms - w->last_ts[k]) / w->interval[k] - 1;
    char a[40], b[40];
    qt_time_format(w->last_ts[k], a, sizeof a);
    qt_time_format(e->ts_ms, b, sizeof b);
    qt_log(QT_LOG_WARN, "%s: %s: gap after reconnect: %lld bars missing between %s and %s",
           w->url, e->symbol, (long long)missing, a, b);
    w->gaps++;
  }
  w->check_gap[k] = 0;
  if (e->ts_ms > w->last_ts[k]) w->last_ts[k] = e->ts_ms;
}

static int ws_next(void *self, qt_live_event *out, int timeout_ms, qt_err *err) {
  ws *w = self;
  int64_t end = now_ms() + timeout_ms;
  for (;;) {
    while (w->qn) {
      char *m = w->q[w->qhead];
      size_t n = w->qlen[w->qhead];
      w->qhead = (w->qhead + 1) % QUEUE;
      w->qn--;
      if (!m) { /* a reconnect: check each symbol's next kline for a gap */
        for (int k = 0; k < w->n_sym; k++) w->check_gap[k] = 1;
        continue;
      }
      w->counts.messages++;
      qt_err e;
      qt_err_clear(&e);
      int r = qt_live_parse_binance(m, n, out, &e);
      qt_free(m);
      if (r == QT_DONE) {
        w->counts.ignored++;
        continue;
      }
      if (r) {
        w->counts.bad++;
        qt_log(QT_LOG_WARN, "%s: bad message: %s", w->url, e.msg);
        continue;
      }
      if (out->kind == QT_LIVE_BAR && !out->closed) {
        w->counts.partial++;
        continue;
      }
      if (out->kind == QT_LIVE_BAR) gap_check(w, out);
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      out->recv_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
      w->counts.events++;
      return QT_OK;
    }
    int64_t t = now_ms();
    if (w->idle_exit_ms > 0 && t - w->last_data_ms >= w->idle_exit_ms) return QT_DONE;
    if (t >= end) return QT_ETIMEOUT;
    if (!w->wsi && w->want_connect && t >= w->reconnect_at_ms) connect_now(w);
    lws_sul_schedule(w->ctx, 0, &w->wake, on_wake, 50 * LWS_US_PER_MS);
    if (lws_service(w->ctx, 0) < 0)
      return qt_err_set(err, QT_EIO, "%s: websocket service failed", w->url);
  }
}

static void ws_counts(const void *self, qt_live_counts *out) { *out = ((const ws *)self)->counts; }

static void ws_close(void *self) {
  ws *w = self;
  if (!w) return;
  if (w->ctx) lws_context_destroy(w->ctx);
  while (w->qn) {
    qt_free(w->q[w->qhead]);
    w->qhead = (w->qhead + 1) % QUEUE;
    w->qn--;
  }
  qt_free(w->msg);
  qt_free(w);
}

static const qt_livefeed_vtbl k_ws = {"websocket", ws_next, ws_counts, ws_close};

int qt_livefeed_ws(const qt_live_ws_opts *o, qt_livefeed *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  if (!o || !o->url || (strncmp(o->url, "ws://", 5) && strncmp(o->url, "wss://", 6)))
    return qt_err_set(err, QT_EINVAL, "--feed: a websocket URL starts with ws:// or wss://");
  ws *w = qt_calloc(1, sizeof *w);
  if (!w) return qt_err_set(err, QT_ENOMEM, "websocket feed: out of memory");
  w->msg = qt_malloc(QT_LIVE_MSG_MAX + 1);
  if (!w->msg) {
    ws_close(w);
    return qt_err_set(err, QT_ENOMEM, "websocket feed: out of memory");
  }
  snprintf(w->url, sizeof w->url, "%s", o->url);
  char tmp[512];
  snprintf(tmp, sizeof tmp, "%s", o->url);
  const char *prot = NULL, *ads = NULL, *path = NULL;
  int port = 0;
  if (lws_parse_uri(tmp, &prot, &ads, &port, &path) || !ads || !ads[0]) {
    ws_close(w);
    return qt_err_set(err, QT_EINVAL, "--feed %s: not a websocket URL", o->url);
  }
  w->ssl = !strcmp(prot, "wss");
  w->port = port ? port : (w->ssl ? 443 : 80);
  snprintf(w->host, sizeof w->host, "%s", ads);
  snprintf(w->path, sizeof w->path, "/%s", path ? path : "");
  w->idle_exit_ms = o->idle_exit_ms;
  w->backoff_ms = 100;
  w->last_data_ms = now_ms();
  lws_set_log_level(LLL_ERR, NULL);
  lws_set_log_level(0, NULL);
  struct lws_context_creation_info ci;
  memset(&ci, 0, sizeof ci);
  ci.port = CONTEXT_PORT_NO_LISTEN;
  ci.protocols = k_protocols;
  ci.user = w;
  ci.options = w->ssl ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;
  ci.fd_limit_per_thread = 4;
  w->ctx = lws_create_context(&ci);
  if (!w->ctx) {
    ws_close(w);
    return qt_err_set(err, QT_EIO, "websocket feed: could not create the client");
  }
  w->want_connect = 1;
  w->reconnect_at_ms = 0;
  out->vt = &k_ws;
  out->self = w;
  return QT_OK;
}

size_t qt_livefeed_ws_gaps(const qt_livefeed *f) {
  return f && f->vt == &k_ws ? ((const ws *)f->self)->gaps : 0;
}

int qt_livefeed_ws_reconnects(const qt_livefeed *f) {
  return f && f->vt == &k_ws ? ((const ws *)f->self)->reconnects : 0;
}
