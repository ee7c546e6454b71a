/* The websocket client for the exchange's streams, on libwebsockets: one
 * connection, reassembled messages, UTF-8 and JSON checks, the kline gap
 * check, client pings, and reconnects with exponential back-off.  The
 * contract is in include/qtune/live.h. */
#include "qtune/live.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct stream {
  char symbol[32];
  char interval[8];
  int64_t interval_ms;
  int64_t last_t;
  uint64_t conn; /* the connection that brought the last kline */
} stream;

struct qt_ws_client {
  qt_ws_opts o;
  char url[1024];
  char parse_buf[1024];
  char path[1024];
  const char *host;
  int port, tls;
  struct lws_context *ctx;
  struct lws *wsi;
  lws_sorted_usec_list_t sul_connect, sul_ping;
  atomic_int stop;
  int attempting;         /* a try or a connection is live */
  int connected;
  int done;               /* max_failures spent */
  int failures_in_row;
  int64_t backoff_cur_ms;
  uint64_t conn_no;       /* connections opened so far */
  char last_reason[200];
  /* the message being assembled */
  char *buf;
  size_t len;
  int overflow, binary, in_msg;
  /* pings */
  int ping_due, awaiting_pong;
  int64_t ping_sent_ms, last_rx_ms;
  qt_ws_stats st;
  stream streams[QT_WS_MAX_STREAMS];
  size_t n_streams;
};

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

qt_ws_opts qt_ws_opts_default(void) {
  qt_ws_opts o;
  memset(&o, 0, sizeof o);
  o.max_message = QT_WS_MAX_MESSAGE;
  o.backoff_ms = 250;
  o.backoff_max_ms = 30000;
  o.max_failures = -1;
  o.ping_ms = 30000;
  o.pong_timeout_ms = 10000;
  return o;
}

/* ---- checks on a message ---- */

/* Whether s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, at
 * most U+10FFFF); *bad gets the offset of the first bad byte. */
static int utf8_ok(const unsigned char *s, size_t n, size_t *bad) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t k;
    unsigned cp, min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xe0) == 0xc0) k = 1, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0) k = 2, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0) k = 3, cp = c & 0x07, min = 0x10000;
    else goto fail;
    for (size_t j = 1; j <= k; j++) {
      if (i + j >= n || (s[i + j] & 0xc0) != 0x80) goto fail;
      cp = cp << 6 | (s[i + j] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) goto fail;
    i += k + 1;
  }
  return 1;
fail:
  *bad = i;
  return 0;
}

/* The kline gap check on a parsed message. */
static void check_kline(qt_ws_client *c, json_t *root) {
  json_t *m = json_object_get(root, "data");
  if (!json_is_object(m)) m = root;
  const char *e = json_string_value(json_object_get(m, "e"));
  if (!e || strcmp(e, "kline") != 0) return;
  json_t *k = json_object_get(m, "k");
  json_t *t = json_object_get(k, "t");
  const char *iv = json_string_value(json_object_get(k, "i"));
  const char *sym = json_string_value(json_object_get(m, "s"));
  if (!sym) sym = json_string_value(json_object_get(k, "s"));
  if (!json_is_integer(t) || !iv || !sym) return;
  int64_t open_ms = (int64_t)json_integer_value(t);
  stream *s = NULL;
  for (size_t i = 0; i < c->n_streams; i++)
    if (strcmp(c->streams[i].symbol, sym) == 0 && strcmp(c->streams[i].interval, iv) == 0) {
      s = &c->streams[i];
      break;
    }
  if (!s) {
    int64_t ms = 0;
    /* "1M" (a month) has no fixed length: not gap-checked */
    if (c->n_streams == QT_WS_MAX_STREAMS || strlen(sym) >= sizeof s->symbol ||
        strlen(iv) >= sizeof s->interval || strcmp(iv, "1M") == 0 || qt_duration_parse(iv, &ms, NULL) ||
        ms <= 0)
      return;
    s = &c->streams[c->n_streams++];
    snprintf(s->symbol, sizeof s->symbol, "%s", sym);
    snprintf(s->interval, sizeof s->interval, "%s", iv);
    s->interval_ms = ms;
    s->last_t = open_ms;
    s->conn = c->conn_no;
    return;
  }
  if (open_ms > s->last_t + s->interval_ms) {
    qt_ws_gap g = {s->symbol, s->interval, s->interval_ms, s->last_t + s->interval_ms, open_ms,
                   s->conn != c->conn_no};
    char a[40], b[40];
    qt_time_format(g.from_ms, a, sizeof a);
    qt_time_format(g.to_ms, b, sizeof b);
    c->st.gaps++;
    qt_log(QT_LOG_WARN, "ws %s: kline gap %s %s: open times %s to %s missing (%lld bars)%s", c->url,
           s->symbol, s->interval, a, b, (long long)((g.to_ms - g.from_ms) / s->interval_ms),
           g.after_reconnect ? ", after a reconnect" : "");
    if (c->o.on_gap) c->o.on_gap(c->o.ctx, &g);
  }
  if (open_ms > s->last_t) s->last_t = open_ms; /* an older kline is the runner's to judge */
  s->conn = c->conn_no;
}

static void deliver(qt_ws_client *c) {
  if (c->binary) {
    c->st.binary++;
    qt_log(QT_LOG_WARN, "ws %s: binary message of %zu bytes dropped (text expected)", c->url, c->len);
    return;
  }
  if (c->overflow) {
    c->st.oversized++;
    qt_log(QT_LOG_WARN, "ws %s: message longer than the limit of %zu bytes dropped", c->url,
           c->o.max_message);
    return;
  }
  c->buf[c->len] = 0;
  size_t bad = 0;
  if (!utf8_ok((const unsigned char *)c->buf, c->len, &bad)) {
    c->st.malformed++;
    qt_log(QT_LOG_WARN, "ws %s: malformed message dropped: not UTF-8 at byte %zu of %zu", c->url, bad,
           c->len);
    return;
  }
  json_error_t je;
  json_t *root = json_loadb(c->buf, c->len, JSON_DECODE_ANY, &je);
  if (!root) {
    c->st.malformed++;
    qt_log(QT_LOG_WARN, "ws %s: malformed message dropped: not JSON at byte %d: %s", c->url,
           je.position, je.text);
    return;
  }
  check_kline(c, root);
  json_decref(root);
  c->st.messages++;
  c->st.bytes += c->len;
  c->o.on_message(c->o.ctx, c->buf, c->len);
}

/* ---- connecting ---- */

static void on_connect_timer(lws_sorted_usec_list_t *sul);
static void on_ping_timer(lws_sorted_usec_list_t *sul);

static void schedule_retry(qt_ws_client *c, const char *why) {
  if (!c->attempting) return; /* CONNECTION_ERROR and CLOSED may both come */
  c->attempting = 0;
  c->connected = 0;
  c->wsi = NULL;
  c->in_msg = 0;
  c->len = 0;
  lws_sul_cancel(&c->sul_ping);
  c->st.failures++;
  c->failures_in_row++;
  snprintf(c->last_reason, sizeof c->last_reason, "%s", why);
  if (atomic_load(&c->stop)) return;
  if (c->o.max_failures >= 0 && c->failures_in_row > c->o.max_failures) {
    c->done = 1;
    lws_cancel_service(c->ctx);
    return;
  }
  int64_t wait = c->backoff_cur_ms;
  c->backoff_cur_ms = wait * 2 > c->o.backoff_max_ms ? c->o.backoff_max_ms : wait * 2;
  qt_log(QT_LOG_WARN, "ws %s: %s; reconnecting in %lld ms", c->url, why, (long long)wait);
  lws_sul_schedule(c->ctx, 0, &c->sul_connect, on_connect_timer, (lws_usec_t)wait * 1000);
}

static void connect_now(qt_ws_client *c) {
  struct lws_client_connect_info ci;
  memset(&ci, 0, sizeof ci);
  ci.context = c->ctx;
  ci.address = c->host;
  ci.port = c->port;
  ci.path = c->path;
  ci.host = c->host;
  ci.origin = c->host;
  ci.ssl_connection = c->tls ? LCCSCF_USE_SSL : 0;
  ci.protocol = NULL;
  ci.local_protocol_name = "qtune-ws";
  ci.userdata = c;
  ci.pwsi = &c->wsi;
  c->attempting = 1;
  if (!lws_client_connect_via_info(&ci)) schedule_retry(c, "cannot start a connection");
}

static void on_connect_timer(lws_sorted_usec_list_t *sul) {
  qt_ws_client *c = lws_container_of(sul, qt_ws_client, sul_connect);
  if (!atomic_load(&c->stop)) connect_now(c);
}

static void on_ping_timer(lws_sorted_usec_list_t *sul) {
  qt_ws_client *c = lws_container_of(sul, qt_ws_client, sul_ping);
  if (!c->connected || !c->wsi) return;
  int64_t now = mono_ms();
  if (c->awaiting_pong && now - c->ping_sent_ms > c->o.pong_timeout_ms) {
    qt_log(QT_LOG_WARN, "ws %s: no pong within %lld ms: dropping the connection", c->url,
           (long long)c->o.pong_timeout_ms);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    return;
  }
  if (!c->awaiting_pong && now - c->last_rx_ms >= c->o.ping_ms) {
    c->ping_due = 1;
    lws_callback_on_writable(c->wsi);
  }
  int64_t tick = c->o.ping_ms / 4 > 0 ? c->o.ping_ms / 4 : 1;
  if (c->o.pong_timeout_ms / 4 > 0 && c->o.pong_timeout_ms / 4 < tick) tick = c->o.pong_timeout_ms / 4;
  lws_sul_schedule(c->ctx, 0, &c->sul_ping, on_ping_timer, (lws_usec_t)tick * 1000);
}

static void receive(qt_ws_client *c, struct lws *wsi, const void *in, size_t len) {
  c->last_rx_ms = mono_ms();
  if (!c->in_msg) {
    c->in_msg = 1;
    c->len = 0;
    c->overflow = 0;
    c->binary = lws_frame_is_binary(wsi);
  }
  if (!c->overflow) {
    if (c->len + len > c->o.max_message) c->overflow = 1;
    else {
      memcpy(c->buf + c->len, in, len);
      c->len += len;
    }
  }
  if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
    c->in_msg = 0;
    deliver(c);
    c->len = 0;
  }
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
  qt_ws_client *c = user;
  if (!c && wsi) c = lws_context_user(lws_get_context(wsi));
  if (!c) return 0;
  switch (reason) {
  case LWS_CALLBACK_CLIENT_ESTABLISHED:
    c->connected = 1;
    c->wsi = wsi;
    c->conn_no++;
    c->st.connects++;
    if (c->conn_no > 1) c->st.reconnects++;
    c->failures_in_row = 0;
    c->backoff_cur_ms = c->o.backoff_ms;
    c->awaiting_pong = c->ping_due = 0;
    c->last_rx_ms = mono_ms();
    qt_log(QT_LOG_INFO, "ws %s: connected%s", c->url, c->conn_no > 1 ? " again" : "");
    if (c->o.ping_ms > 0) on_ping_timer(&c->sul_ping);
    break;
  case LWS_CALLBACK_CLIENT_RECEIVE: receive(c, wsi, in, len); break;
  case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
    c->last_rx_ms = mono_ms();
    if (c->awaiting_pong) c->st.pongs_received++;
    c->awaiting_pong = 0;
    break;
  case LWS_CALLBACK_CLIENT_WRITEABLE:
    if (c->ping_due) {
      unsigned char b[LWS_PRE + 8];
      memcpy(b + LWS_PRE, "qtune", 5);
      c->ping_due = 0;
      if (lws_write(wsi, b + LWS_PRE, 5, LWS_WRITE_PING) < 5) return -1;
      c->st.pings_sent++;
      c->awaiting_pong = 1;
      c->ping_sent_ms = mono_ms();
    }
    break;
  case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
    if (len >= 2) {
      const unsigned char *p = in;
      qt_log(QT_LOG_INFO, "ws %s: the server closes (code %d)", c->url, p[0] << 8 | p[1]);
    }
    break;
  case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
    char why[200];
    snprintf(why, sizeof why, "connection failed: %s", in ? (const char *)in : "unknown reason");
    schedule_retry(c, why);
    break;
  }
  case LWS_CALLBACK_CLIENT_CLOSED: schedule_retry(c, "connection closed"); break;
  default: break;
  }
  return 0;
}

static const struct lws_protocols k_protocols[] = {
    {"qtune-ws", callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_log_to_qt(int level, const char *line) {
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
  qt_log(QT_LOG_DEBUG, "libwebsockets: %.*s", (int)n, line);
}

int qt_ws_new(const qt_ws_opts *o, qt_ws_client **out, qt_err *err) {
  qt_ws_client *c = NULL;
  int rc = QT_OK;
  *out = NULL;
  if (!o || !o->url || !o->on_message) return qt_err_set(err, QT_EINVAL, "ws: needs a url and on_message");
  if (strlen(o->url) >= sizeof c->url) return qt_err_set(err, QT_EINVAL, "ws: url too long");
  if (o->max_message == 0 || o->backoff_ms <= 0 || o->backoff_max_ms < o->backoff_ms ||
      o->ping_ms < 0 || (o->ping_ms > 0 && o->pong_timeout_ms <= 0))
    return qt_err_set(err, QT_EINVAL, "ws: max_message, backoff_ms and pong_timeout_ms must be > 0, "
                      "backoff_max_ms >= backoff_ms, ping_ms >= 0");
  c = qt_calloc(1, sizeof *c);
  if (!c) return qt_err_set(err, QT_ENOMEM, "out of memory");
  c->o = *o;
  snprintf(c->url, sizeof c->url, "%s", o->url);
  snprintf(c->parse_buf, sizeof c->parse_buf, "%s", o->url);
  c->o.url = c->url;
  c->backoff_cur_ms = o->backoff_ms;
  const char *prot = NULL, *ads = NULL, *path = NULL;
  if (lws_parse_uri(c->parse_buf, &prot, &ads, &c->port, &path) || !ads || !*ads ||
      (strcmp(prot, "ws") && strcmp(prot, "wss"))) {
    rc = qt_err_set(err, QT_EINVAL, "ws: '%s' is not a ws:// or wss:// URL", o->url);
    goto fail;
  }
  c->tls = strcmp(prot, "wss") == 0;
  {
    const char *a = o->url + strlen(prot) + 3, *slash = strpbrk(a, "/?");
    if (!memchr(a, ':', slash ? (size_t)(slash - a) : strlen(a))) c->port = c->tls ? 443 : 80;
  }
  c->host = ads;
  snprintf(c->path, sizeof c->path, "/%s", path ? path : "");
  if (!(c->buf = qt_malloc(o->max_message + 1))) {
    rc = qt_err_set(err, QT_ENOMEM, "out of memory");
    goto fail;
  }
  lws_set_log_level(qt_log_enabled(QT_LOG_DEBUG) ? LLL_ERR | LLL_WARN : 0, lws_log_to_qt);
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = k_protocols;
  info.gid = -1;
  info.uid = -1;
  info.user = c;
  info.options = c->tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;
  info.client_ssl_ca_filepath = o->ca_file;
  if (!(c->ctx = lws_create_context(&info))) {
    rc = qt_err_set(err, QT_EIO, "ws: libwebsockets cannot start");
    goto fail;
  }
  *out = c;
  c = NULL;
fail:
  if (c) {
    qt_free(c->buf);
    qt_free(c);
  }
  return rc;
}

int qt_ws_run(qt_ws_client *c, qt_err *err) {
  if (!c) return qt_err_set(err, QT_EINVAL, "ws: no client");
  connect_now(c);
  while (!atomic_load(&c->stop) && !c->done)
    if (lws_service(c->ctx, 0) < 0) break;
  if (c->done)
    return qt_err_set(err, QT_EIO, "ws %s: %d tries in a row failed, the last: %s", c->url,
                      c->failures_in_row, c->last_reason);
  return QT_OK;
}

void qt_ws_stop(qt_ws_client *c) {
  if (!c) return;
  atomic_store(&c->stop, 1);
  if (c->ctx) lws_cancel_service(c->ctx);
}

void qt_ws_stats_get(const qt_ws_client *c, qt_ws_stats *out) {
  if (c) *out = c->st;
  else memset(out, 0, sizeof *out);
}

void qt_ws_free(qt_ws_client *c) {
  if (!c) return;
  atomic_store(&c->stop, 1);
  if (c->ctx) lws_context_destroy(c->ctx);
  qt_free(c->buf);
  qt_free(c);
}
