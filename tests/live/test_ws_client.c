/* The websocket client against a websocket server on loopback, written
 * here on plain sockets (RFC 6455 by hand: the handshake's SHA-1 accept
 * key, unmasked server frames, masked client frames), that replays the
 * recording tests/fixtures/ws/binance_um_avaxusdt.jsonl (8 minutes, 5
 * messages each: kline, aggTrade, bookTicker, markPrice, closed kline).
 *
 * The replay: connection 1 pings the client (expects its pong), sends
 * minutes 0-2 and drops the connection without a close frame; the client
 * reconnects; connection 2 sends minutes 5-7 (3 and 4 were "lost in the
 * outage": a gap the client reports), with malformed frames among them
 * (not UTF-8, not JSON, binary, over the size limit) and one message in
 * three fragments, and waits for a ping of the client's own.  Also: a
 * refused port (back-off, then giving up), a server that never answers
 * pings (the client drops it and reconnects), and bad options. */
#include "qt_test.h"
#include "qtune/live.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void setup(void);

/* the client's log lines (it logs on the thread running qt_ws_run) */
static char g_log[16384];
static void log_sink(void *ud, qt_log_level lvl, const char *msg) {
  (void)ud;
  if (lvl >= QT_LOG_WARN && strlen(g_log) + strlen(msg) + 2 < sizeof g_log) {
    strcat(g_log, msg);
    strcat(g_log, "\n");
  }
}

#define MAX_LINES 64
static char *g_lines[MAX_LINES];
static size_t g_n_lines;

static void load_recording(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/ws/binance_um_avaxusdt.jsonl", qt_test_fixtures());
  FILE *f = fopen(path, "r");
  ASSERT_TRUE(f != NULL);
  char buf[4096];
  while (g_n_lines < MAX_LINES && fgets(buf, sizeof buf, f)) {
    buf[strcspn(buf, "\n")] = 0;
    g_lines[g_n_lines++] = strdup(buf);
  }
  fclose(f);
}

/* ---- the server side of RFC 6455 ---- */

static int write_all(int fd, const void *p, size_t n) {
  const char *s = p;
  while (n) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    if (w <= 0) return -1;
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, void *p, size_t n) {
  char *s = p;
  while (n) {
    ssize_t r = recv(fd, s, n, 0);
    if (r <= 0) return -1;
    s += r;
    n -= (size_t)r;
  }
  return 0;
}

/* One frame: FIN bit, opcode, payload (unmasked, as a server sends). */
static int send_frame(int fd, int fin, int opcode, const void *data, size_t n) {
  unsigned char h[10];
  size_t hl = 2;
  h[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
  if (n < 126) h[1] = (unsigned char)n;
  else if (n < 65536) {
    h[1] = 126;
    h[2] = (unsigned char)(n >> 8);
    h[3] = (unsigned char)n;
    hl = 4;
  } else {
    h[1] = 127;
    for (int i = 0; i < 8; i++) h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
    hl = 10;
  }
  return write_all(fd, h, hl) || write_all(fd, data, n) ? -1 : 0;
}

static int send_text(int fd, const char *s) { return send_frame(fd, 1, 1, s, strlen(s)); }

/* Reads one client frame (masked); the payload into buf (cap), its length
 * into *n.  Returns the opcode, or -1 at EOF or on a bad frame. */
static int read_frame(int fd, unsigned char *buf, size_t cap, size_t *n) {
  unsigned char h[2], mask[4];
  if (read_all(fd, h, 2)) return -1;
  uint64_t len = h[1] & 0x7f;
  if (len == 126) {
    unsigned char e[2];
    if (read_all(fd, e, 2)) return -1;
    len = (uint64_t)e[0] << 8 | e[1];
  } else if (len == 127) {
    unsigned char e[8];
    if (read_all(fd, e, 8)) return -1;
    len = 0;
    for (int i = 0; i < 8; i++) len = len << 8 | e[i];
  }
  if (!(h[1] & 0x80) || len > cap || read_all(fd, mask, 4) || read_all(fd, buf, (size_t)len)) return -1;
  for (uint64_t i = 0; i < len; i++) buf[i] ^= mask[i % 4];
  *n = (size_t)len;
  return h[0] & 0x0f;
}

/* Reads client frames until one of opcode `want` (answering pings when
 * `pong` is set); returns 0 when it came, -1 at EOF. */
static int await_frame(int fd, int want, int pong, int *pings_seen) {
  unsigned char buf[1024];
  size_t n;
  for (;;) {
    int op = read_frame(fd, buf, sizeof buf, &n);
    if (op < 0) return -1;
    if (op == 9) {
      if (pings_seen) (*pings_seen)++;
      if (pong) send_frame(fd, 1, 10, buf, n);
    }
    if (op == want) return 0;
  }
}

/* Accepts one connection and answers its upgrade request.  Returns the fd. */
static int accept_ws(int lfd) {
  int fd = accept(lfd, NULL, NULL);
  if (fd < 0) return -1;
  char req[4096];
  size_t got = 0;
  while (got < sizeof req - 1) {
    ssize_t r = recv(fd, req + got, sizeof req - 1 - got, 0);
    if (r <= 0) break;
    got += (size_t)r;
    req[got] = 0;
    if (strstr(req, "\r\n\r\n")) break;
  }
  req[got] = 0;
  const char *k = strcasestr(req, "Sec-WebSocket-Key:");
  if (!k) {
    close(fd);
    return -1;
  }
  k += 18;
  while (*k == ' ') k++;
  char key[128];
  size_t kl = strcspn(k, "\r\n");
  snprintf(key, sizeof key, "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", (int)kl, k);
  unsigned char sha[SHA_DIGEST_LENGTH];
  SHA1((const unsigned char *)key, strlen(key), sha);
  unsigned char acc[64];
  EVP_EncodeBlock(acc, sha, SHA_DIGEST_LENGTH);
  char resp[256];
  snprintf(resp, sizeof resp,
           "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Accept: %s\r\n\r\n",
           acc);
  if (write_all(fd, resp, strlen(resp))) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Ends a connection without a close frame: FIN, then drain what the client
 * still sends until it closes (so no reset loses data in flight). */
static void drop(int fd) {
  unsigned char buf[1024];
  shutdown(fd, SHUT_WR);
  while (recv(fd, buf, sizeof buf, 0) > 0) {
  }
  close(fd);
}

static int listen_loopback(int *out_port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4) ||
      getsockname(fd, (struct sockaddr *)&a, &al))
    return -1;
  *out_port = ntohs(a.sin_port);
  return fd;
}

/* ---- the replay ---- */

typedef struct replay {
  int lfd;
  int pong_for_server_ping; /* the client answered the server's ping */
  int client_pings;         /* pings the client sent */
  int ok;                   /* the script ran to its end */
} replay;

static void send_minutes(int fd, int from, int to) {
  for (int i = 5 * from; i < 5 * to; i++) send_text(fd, g_lines[i]);
}

static void *replay_server(void *arg) {
  replay *r = arg;
  /* connection 1: a ping, minutes 0-2, a drop */
  int fd = accept_ws(r->lfd);
  if (fd < 0) return NULL;
  send_frame(fd, 1, 9, "srv", 3);
  unsigned char buf[64];
  size_t n;
  for (;;) {
    int op = read_frame(fd, buf, sizeof buf, &n);
    if (op < 0) break;
    if (op == 9) send_frame(fd, 1, 10, buf, n), r->client_pings++;
    if (op == 10 && n == 3 && memcmp(buf, "srv", 3) == 0) {
      r->pong_for_server_ping = 1;
      break;
    }
  }
  send_minutes(fd, 0, 3);
  drop(fd);
  /* connection 2: minutes 5-7 with bad frames among them */
  if ((fd = accept_ws(r->lfd)) < 0) return NULL;
  send_minutes(fd, 5, 6);
  static const char bad_utf8[] = "{\"e\":\"aggTrade\",\"s\":\"\xc3\x28\"}";
  send_text(fd, bad_utf8);
  send_text(fd, "{\"e\":\"kline\",\"k\":{\"t\":");
  send_frame(fd, 1, 2, "\x01\x02\x03", 3);
  char *big = malloc(5000);
  memset(big, 'a', 4999);
  memcpy(big, "[\"", 2);
  memcpy(big + 4996, "\"]", 2);
  big[4998] = 0;
  send_text(fd, big);
  free(big);
  /* minute 6: its first message in three fragments */
  const char *m = g_lines[30];
  size_t ml = strlen(m), a = ml / 3, b = 2 * ml / 3;
  send_frame(fd, 0, 1, m, a);
  send_frame(fd, 0, 0, m + a, b - a);
  send_frame(fd, 1, 0, m + b, ml - b);
  for (int i = 31; i < 35; i++) send_text(fd, g_lines[i]);
  /* idle: the client pings; then the last minute */
  if (await_frame(fd, 9, 1, &r->client_pings) == 0) {
    send_minutes(fd, 7, 8);
    r->ok = 1;
  }
  drop(fd);
  return NULL;
}

typedef struct seen {
  qt_ws_client *c;
  char *msgs[MAX_LINES];
  size_t n;
  size_t want;
  qt_ws_gap gaps[4];
  char gap_sym[4][32], gap_iv[4][8];
  size_t n_gaps;
} seen;

static void on_message(void *ctx, const char *msg, size_t len) {
  seen *s = ctx;
  if (s->n < MAX_LINES) s->msgs[s->n++] = strndup(msg, len);
  if (s->n == s->want) qt_ws_stop(s->c);
}

static void on_gap(void *ctx, const qt_ws_gap *g) {
  seen *s = ctx;
  if (s->n_gaps < 4) {
    s->gaps[s->n_gaps] = *g;
    snprintf(s->gap_sym[s->n_gaps], 32, "%s", g->symbol);
    snprintf(s->gap_iv[s->n_gaps], 8, "%s", g->interval);
    s->n_gaps++;
  }
}

static void seen_fini(seen *s) {
  for (size_t i = 0; i < s->n; i++) free(s->msgs[i]);
}

static void test_replay_drop_gap_malformed(void) {
  setup();
  replay r;
  memset(&r, 0, sizeof r);
  int port = 0;
  ASSERT_TRUE((r.lfd = listen_loopback(&port)) >= 0);
  ASSERT_TRUE(g_n_lines == 40);
  pthread_t th;
  ASSERT_TRUE(pthread_create(&th, NULL, replay_server, &r) == 0);

  seen s;
  memset(&s, 0, sizeof s);
  s.want = 15 + 15; /* minutes 0-2, then 5-7 */
  char url[128];
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/stream?streams=avaxusdt@kline_1m/avaxusdt@aggTrade", port);
  qt_ws_opts o = qt_ws_opts_default();
  o.url = url;
  o.on_message = on_message;
  o.on_gap = on_gap;
  o.ctx = &s;
  o.max_message = 4096;
  o.backoff_ms = 10;
  o.backoff_max_ms = 100;
  o.ping_ms = 100;
  o.pong_timeout_ms = 5000;
  qt_err e = {0};
  g_log[0] = 0;
  ASSERT_TRUE(qt_ws_new(&o, &s.c, &e) == QT_OK);
  EXPECT_EQ(qt_ws_run(s.c, &e), QT_OK);
  qt_ws_stats st;
  qt_ws_stats_get(s.c, &st);
  qt_ws_free(s.c);
  pthread_join(th, NULL);
  close(r.lfd);
  /* each drop, bad frame and the gap is logged with its reason */
  EXPECT_CONTAINS(g_log, "connection closed; reconnecting in 10 ms");
  EXPECT_CONTAINS(g_log, "malformed message dropped: not UTF-8 at byte 21 of 25");
  EXPECT_CONTAINS(g_log, "malformed message dropped: not JSON");
  EXPECT_CONTAINS(g_log, "binary message of 3 bytes dropped");
  EXPECT_CONTAINS(g_log, "message longer than the limit of 4096 bytes dropped");
  EXPECT_CONTAINS(g_log, "kline gap AVAXUSDT 1m: open times 2026-07-01T00:03:00Z to 2026-07-01T00:05:00Z missing "
                         "(2 bars), after a reconnect");

  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(r.pong_for_server_ping);
  EXPECT_TRUE(r.client_pings >= 1);
  /* every good message, in order, byte for byte (the fragmented one too) */
  EXPECT_EQ(s.n, (size_t)30);
  for (size_t i = 0; i < s.n && i < 30; i++) {
    size_t line = i < 15 ? i : i + 10;
    EXPECT_STREQ(s.msgs[i], g_lines[line]);
  }
  /* bad frames counted, none delivered, the client went on */
  EXPECT_EQ(st.malformed, (uint64_t)2);
  EXPECT_EQ(st.binary, (uint64_t)1);
  EXPECT_EQ(st.oversized, (uint64_t)1);
  EXPECT_EQ(st.messages, (uint64_t)30);
  /* the drop: one reconnect */
  EXPECT_EQ(st.connects, (uint64_t)2);
  EXPECT_EQ(st.reconnects, (uint64_t)1);
  EXPECT_TRUE(st.pings_sent >= 1);
  EXPECT_TRUE(st.pongs_received >= 1);
  /* the gap: minutes 3 and 4 (open times from line 15's kline to line 25's) */
  EXPECT_EQ(st.gaps, (uint64_t)1);
  EXPECT_EQ(s.n_gaps, (size_t)1);
  if (s.n_gaps == 1) {
    EXPECT_STREQ(s.gap_sym[0], "AVAXUSDT");
    EXPECT_STREQ(s.gap_iv[0], "1m");
    EXPECT_EQ(s.gaps[0].interval_ms, (int64_t)60000);
    EXPECT_EQ(s.gaps[0].from_ms, (int64_t)1782864000000 + 3 * 60000);
    EXPECT_EQ(s.gaps[0].to_ms, (int64_t)1782864000000 + 5 * 60000);
    EXPECT_EQ(s.gaps[0].after_reconnect, 1);
  }
  seen_fini(&s);
}

/* Nobody listens: back-off between tries, then QT_EIO after max_failures. */
static void test_refused_gives_up(void) {
  setup();
  int port = 0, fd = listen_loopback(&port);
  ASSERT_TRUE(fd >= 0);
  close(fd); /* the port is now closed */
  seen s;
  memset(&s, 0, sizeof s);
  char url[64];
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", port);
  qt_ws_opts o = qt_ws_opts_default();
  o.url = url;
  o.on_message = on_message;
  o.ctx = &s;
  o.backoff_ms = 5;
  o.backoff_max_ms = 20;
  o.max_failures = 3;
  qt_err e = {0};
  ASSERT_TRUE(qt_ws_new(&o, &s.c, &e) == QT_OK);
  EXPECT_EQ(qt_ws_run(s.c, &e), QT_EIO);
  EXPECT_CONTAINS(e.msg, "4 tries in a row failed");
  qt_ws_stats st;
  qt_ws_stats_get(s.c, &st);
  EXPECT_EQ(st.failures, (uint64_t)4);
  EXPECT_EQ(st.connects, (uint64_t)0);
  qt_ws_free(s.c);
}

/* A server that never answers pings: the client drops it and reconnects. */
typedef struct silent {
  int lfd;
  int ok;
} silent;

static void *silent_server(void *arg) {
  silent *sv = arg;
  int fd = accept_ws(sv->lfd);
  if (fd < 0) return NULL;
  int pings = 0;
  /* read (and never answer) until the client gives up on us */
  while (await_frame(fd, 9, 0, &pings) == 0) {
  }
  close(fd);
  if (pings < 1 || (fd = accept_ws(sv->lfd)) < 0) return NULL;
  send_text(fd, g_lines[0]);
  sv->ok = 1;
  drop(fd);
  return NULL;
}

static void test_pong_timeout_reconnects(void) {
  setup();
  silent sv = {0, 0};
  int port = 0;
  ASSERT_TRUE((sv.lfd = listen_loopback(&port)) >= 0);
  pthread_t th;
  ASSERT_TRUE(pthread_create(&th, NULL, silent_server, &sv) == 0);
  seen s;
  memset(&s, 0, sizeof s);
  s.want = 1;
  char url[64];
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws/avaxusdt@kline_1m", port);
  qt_ws_opts o = qt_ws_opts_default();
  o.url = url;
  o.on_message = on_message;
  o.ctx = &s;
  o.backoff_ms = 5;
  o.ping_ms = 50;
  o.pong_timeout_ms = 100;
  qt_err e = {0};
  g_log[0] = 0;
  ASSERT_TRUE(qt_ws_new(&o, &s.c, &e) == QT_OK);
  EXPECT_EQ(qt_ws_run(s.c, &e), QT_OK);
  qt_ws_stats st;
  qt_ws_stats_get(s.c, &st);
  qt_ws_free(s.c);
  pthread_join(th, NULL);
  close(sv.lfd);
  EXPECT_TRUE(sv.ok);
  EXPECT_EQ(st.connects, (uint64_t)2);
  EXPECT_CONTAINS(g_log, "no pong within 100 ms: dropping the connection");
  EXPECT_EQ(st.pongs_received, (uint64_t)0);
  EXPECT_TRUE(st.pings_sent >= 1);
  EXPECT_EQ(s.n, (size_t)1);
  if (s.n == 1) EXPECT_STREQ(s.msgs[0], g_lines[0]);
  seen_fini(&s);
}

/* A frame RFC 6455 forbids (opcode 3 is reserved): libwebsockets fails the
 * connection; the client counts the failure, reconnects and goes on (and
 * reassembles a message larger than libwebsockets' receive buffer). */
static void *bad_frame_server(void *arg) {
  silent *sv = arg;
  int fd = accept_ws(sv->lfd);
  if (fd < 0) return NULL;
  send_text(fd, g_lines[0]);
  send_frame(fd, 1, 3, "??", 2);
  unsigned char buf[256];
  while (recv(fd, buf, sizeof buf, 0) > 0) {
  }
  close(fd);
  if ((fd = accept_ws(sv->lfd)) < 0) return NULL;
  /* a message larger than libwebsockets' receive buffer (64 KiB) */
  char *big = malloc(200001);
  memset(big, 'b', 200000);
  memcpy(big, "[\"", 2);
  memcpy(big + 199998, "\"]", 2);
  big[200000] = 0;
  send_text(fd, big);
  free(big);
  send_text(fd, g_lines[1]);
  sv->ok = 1;
  drop(fd);
  return NULL;
}

static void test_protocol_error_reconnects(void) {
  setup();
  silent sv = {0, 0};
  int port = 0;
  ASSERT_TRUE((sv.lfd = listen_loopback(&port)) >= 0);
  pthread_t th;
  ASSERT_TRUE(pthread_create(&th, NULL, bad_frame_server, &sv) == 0);
  seen s;
  memset(&s, 0, sizeof s);
  s.want = 3;
  char url[64];
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", port);
  qt_ws_opts o = qt_ws_opts_default();
  o.url = url;
  o.on_message = on_message;
  o.ctx = &s;
  o.backoff_ms = 5;
  qt_err e = {0};
  ASSERT_TRUE(qt_ws_new(&o, &s.c, &e) == QT_OK);
  EXPECT_EQ(qt_ws_run(s.c, &e), QT_OK);
  qt_ws_stats st;
  qt_ws_stats_get(s.c, &st);
  qt_ws_free(s.c);
  pthread_join(th, NULL);
  close(sv.lfd);
  EXPECT_TRUE(sv.ok);
  EXPECT_EQ(st.connects, (uint64_t)2);
  EXPECT_EQ(st.failures, (uint64_t)1);
  EXPECT_EQ(s.n, (size_t)3);
  if (s.n == 3) {
    EXPECT_STREQ(s.msgs[0], g_lines[0]);
    EXPECT_EQ(strlen(s.msgs[1]), (size_t)200000); /* reassembled whole */
    EXPECT_TRUE(s.msgs[1][0] == '[' && s.msgs[1][199999] == ']');
    EXPECT_STREQ(s.msgs[2], g_lines[1]);
  }
  seen_fini(&s);
}

static void noop(void *ctx, const char *m, size_t n) {}

/* Every allocation of qt_ws_new failing in turn gives QT_ENOMEM, no leak. */
static void test_oom_sweep(void) {
  setup();
  qt_ws_opts o = qt_ws_opts_default();
  o.on_message = noop;
  o.url = "ws://127.0.0.1:1/x";
  int failed = 0;
  for (long n = 1; n < 20; n++) {
    qt_ws_client *c = NULL;
    qt_err e = {0};
    qt_alloc_fail_at(n, 0);
    int rc = qt_ws_new(&o, &c, &e);
    qt_alloc_fail_at(0, 0);
    if (rc == QT_OK) {
      qt_ws_free(c);
      break;
    }
    EXPECT_EQ(rc, QT_ENOMEM);
    EXPECT_TRUE(c == NULL);
    failed++;
  }
  EXPECT_EQ(failed, 2); /* the client, its message buffer */
}

static void test_bad_options(void) {
  setup();
  qt_ws_client *c = NULL;
  qt_err e = {0};
  qt_ws_opts o = qt_ws_opts_default();
  o.on_message = noop;
  o.url = "http://127.0.0.1:1/x";
  EXPECT_EQ(qt_ws_new(&o, &c, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "not a ws:// or wss:// URL");
  EXPECT_TRUE(c == NULL);
  o.url = "ws://127.0.0.1:1/x";
  o.on_message = NULL;
  EXPECT_EQ(qt_ws_new(&o, &c, &e), QT_EINVAL);
  o.on_message = noop;
  o.max_message = 0;
  EXPECT_EQ(qt_ws_new(&o, &c, &e), QT_EINVAL);
  qt_ws_free(NULL);
}

static void setup(void) {
  static int done;
  if (done++) return;
  signal(SIGPIPE, SIG_IGN);
  qt_log_set(log_sink, NULL, QT_LOG_WARN);
  alarm(120); /* a hang guard only: a stuck replay fails instead of blocking the suite */
  load_recording();
}

static void test_recording(void) {
  setup();
  EXPECT_EQ(g_n_lines, (size_t)40);
}

QT_TESTS(T(test_recording), T(test_replay_drop_gap_malformed), T(test_refused_gives_up),
         T(test_pong_timeout_reconnects), T(test_protocol_error_reconnects), T(test_bad_options),
         T(test_oom_sweep))
