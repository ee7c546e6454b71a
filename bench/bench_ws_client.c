/* Arrival-to-callback latency of the websocket client: a loopback server
 * thread sends one kline message (a line of tests/fixtures/ws/) at a time,
 * stamping the clock just before send(); the client's on_message stamps it
 * again and lets the server send the next.  The baseline, measured in the
 * same run, is the same bytes through a plain TCP socket read by a thread
 * that parses the frame header itself (no libwebsockets, no UTF-8/JSON
 * checks, no gap check).  JSON lines: median and p99 of each, and the ratio
 * of the medians.  BENCH_WS_N (default 5000) messages each. */
#include "bench.h"
#include "qtune/live.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char k_msg[] =
    "{\"stream\":\"avaxusdt@kline_1m\",\"data\":{\"e\":\"kline\",\"E\":1782864030000,\"s\":\"AVAXUSDT\","
    "\"k\":{\"t\":1782864000000,\"T\":1782864059999,\"s\":\"AVAXUSDT\",\"i\":\"1m\",\"f\":100000,"
    "\"L\":100364,\"o\":\"6.5340\",\"c\":\"6.5400\",\"h\":\"6.5430\",\"l\":\"6.5340\",\"v\":\"33013\","
    "\"n\":365,\"x\":false,\"q\":\"215829.8910\",\"V\":\"30518\",\"Q\":\"199515.0150\",\"B\":\"0\"}}}";

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static long g_got; /* messages delivered so far */
static double *g_sent, *g_recv;
static long g_n;
static qt_ws_client *g_client;

static void delivered(void) {
  double t = bench_now();
  pthread_mutex_lock(&g_mu);
  if (g_got < g_n) g_recv[g_got] = t;
  g_got++;
  pthread_cond_signal(&g_cv);
  pthread_mutex_unlock(&g_mu);
}

static void on_message(void *ctx, const char *msg, size_t len) {
  delivered();
  if (g_got >= g_n) qt_ws_stop(g_client);
}

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

static int handshake(int fd) {
  char req[4096];
  size_t got = 0;
  while (got < sizeof req - 1) {
    ssize_t r = recv(fd, req + got, sizeof req - 1 - got, 0);
    if (r <= 0) return -1;
    got += (size_t)r;
    req[got] = 0;
    if (strstr(req, "\r\n\r\n")) break;
  }
  const char *k = strcasestr(req, "Sec-WebSocket-Key:");
  if (!k) return -1;
  k += 18;
  while (*k == ' ') k++;
  char key[128];
  snprintf(key, sizeof key, "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", (int)strcspn(k, "\r\n"), k);
  unsigned char sha[SHA_DIGEST_LENGTH], acc[64];
  SHA1((const unsigned char *)key, strlen(key), sha);
  EVP_EncodeBlock(acc, sha, SHA_DIGEST_LENGTH);
  char resp[256];
  snprintf(resp, sizeof resp,
           "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Accept: %s\r\n\r\n", acc);
  return write_all(fd, resp, strlen(resp));
}

typedef struct server {
  int lfd, ws;
} server;

/* Sends the message g_n times, each after the previous one was delivered. */
static void *serve(void *arg) {
  server *sv = arg;
  int fd = accept(sv->lfd, NULL, NULL), one = 1;
  if (fd < 0) return NULL;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (sv->ws && handshake(fd)) {
    close(fd);
    return NULL;
  }
  size_t n = strlen(k_msg);
  unsigned char frame[8 + sizeof k_msg];
  frame[0] = 0x81;
  frame[1] = 126;
  frame[2] = (unsigned char)(n >> 8);
  frame[3] = (unsigned char)n;
  memcpy(frame + 4, k_msg, n);
  for (long i = 0; i < g_n; i++) {
    g_sent[i] = bench_now();
    if (write_all(fd, frame, n + 4)) break;
    pthread_mutex_lock(&g_mu);
    while (g_got <= i) pthread_cond_wait(&g_cv, &g_mu);
    pthread_mutex_unlock(&g_mu);
  }
  char buf[256];
  shutdown(fd, SHUT_WR);
  while (recv(fd, buf, sizeof buf, 0) > 0) {
  }
  close(fd);
  return NULL;
}

static int listen_loopback(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 1) ||
      getsockname(fd, (struct sockaddr *)&a, &al))
    return -1;
  *port = ntohs(a.sin_port);
  return fd;
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

/* The baseline reader: frame header, payload, callback. */
static int raw_client(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a)) return -1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char buf[65536];
  for (long i = 0; i < g_n; i++) {
    unsigned char h[4];
    if (read_all(fd, h, 4)) break;
    size_t n = (size_t)h[2] << 8 | h[3];
    if (read_all(fd, buf, n)) break;
    on_message(NULL, buf, n);
  }
  close(fd);
  return 0;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* One run; median and p99 in microseconds.  -1 when it did not finish. */
static int run(int ws, double *med, double *p99) {
  server sv = {-1, ws};
  int port = 0;
  g_got = 0;
  if ((sv.lfd = listen_loopback(&port)) < 0) return -1;
  pthread_t th;
  if (pthread_create(&th, NULL, serve, &sv)) return -1;
  if (ws) {
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", port);
    qt_ws_opts o = qt_ws_opts_default();
    o.url = url;
    o.on_message = on_message;
    o.ping_ms = 0;
    qt_err e = {0};
    if (qt_ws_new(&o, &g_client, &e) == QT_OK) {
      qt_ws_run(g_client, &e);
      qt_ws_free(g_client);
      g_client = NULL;
    }
  } else {
    raw_client(port);
  }
  pthread_mutex_lock(&g_mu);
  if (g_got < g_n) g_got = g_n; /* let the server finish */
  pthread_cond_signal(&g_cv);
  pthread_mutex_unlock(&g_mu);
  pthread_join(th, NULL);
  close(sv.lfd);
  double *lat = malloc((size_t)g_n * sizeof *lat);
  if (!lat) return -1;
  for (long i = 0; i < g_n; i++) lat[i] = (g_recv[i] - g_sent[i]) * 1e6;
  qsort(lat, (size_t)g_n, sizeof *lat, cmp);
  *med = lat[g_n / 2];
  *p99 = lat[(long)(g_n * 0.99)];
  free(lat);
  return 0;
}

int main(void) {
  const char *env = getenv("BENCH_WS_N");
  g_n = env ? atol(env) : 5000;
  if (g_n < 10) g_n = 10;
  g_sent = calloc((size_t)g_n, sizeof *g_sent);
  g_recv = calloc((size_t)g_n, sizeof *g_recv);
  if (!g_sent || !g_recv) return 1;
  double wm = 0, wp = 0, rm = 0, rp = 0;
  if (run(1, &wm, &wp) || run(0, &rm, &rp)) {
    fprintf(stderr, "bench_ws_client: a run failed\n");
    return 1;
  }
  printf("{\"bench\":\"ws_client_latency\",\"messages\":%ld,\"bytes\":%zu,\"median_us\":%.2f,"
         "\"p99_us\":%.2f}\n", g_n, strlen(k_msg), wm, wp);
  printf("{\"bench\":\"ws_raw_socket_latency\",\"messages\":%ld,\"median_us\":%.2f,\"p99_us\":%.2f}\n",
         g_n, rm, rp);
  printf("{\"bench\":\"ws_client_over_raw_socket\",\"median_ratio\":%.2f}\n", rm > 0 ? wm / rm : 0);
  free(g_sent);
  free(g_recv);
  return 0;
}
